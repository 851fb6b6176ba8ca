-- A session's signed-in person by our own id (DESIGN §7.3): a DfE Identity account's session has no One Login
-- subject, so the session lookup reads the person's page_version (kept pages, migration 0018) by this instead of
-- by subject. `subject` stays, for back-channel logout, which One Login sends by its own subject. No foreign key:
-- a session outlives nothing it names, and is deleted when it expires.
ALTER TABLE sessions ADD COLUMN user_id BIGINT;
UPDATE sessions SET user_id = (SELECT u.id FROM users u WHERE u.one_login_sub = sessions.subject)
WHERE subject IS NOT NULL;
