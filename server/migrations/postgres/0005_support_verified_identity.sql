-- Who verified a user's identity: One Login's identity check, or a support officer deciding an identity task
-- (which officer and which task). `verified_identity` then holds the names and date of birth support accepted, so
-- the teacher is never sent to One Login's identity check again.
ALTER TABLE users ADD COLUMN identity_verified_via TEXT CHECK (identity_verified_via IN ('one_login', 'support'));
ALTER TABLE users ADD COLUMN identity_verified_by BIGINT REFERENCES staff (id);
ALTER TABLE users ADD COLUMN identity_verified_task TEXT;
UPDATE users SET identity_verified_via = 'one_login' WHERE verified_identity IS NOT NULL;

-- At sign-in: the teacher's latest decided identity task (was their proof rejected?).
CREATE INDEX support_tasks_user_kind_decided ON support_tasks (user_id, kind, decided_at)
    WHERE user_id IS NOT NULL;
