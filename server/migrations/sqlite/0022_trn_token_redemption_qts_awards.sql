-- The second half of TRN tokens (issue 12, DESIGN §7.2): a teacher connected by redeeming a TRN token
-- (matched_via 'trn_token'), and the QTS awards the API recorded.

-- SQLite cannot change a CHECK constraint in place. The table is copied aside, dropped (with its page-version
-- triggers, migration 0018) and made again under its own name, so nothing is renamed: a rename would make SQLite
-- re-check the triggers of other tables that name `connections`, which fail while it is gone.
CREATE TABLE connections_copy AS SELECT user_id, person_id, matched_via, connected_at FROM connections;
DROP TABLE connections;
CREATE TABLE connections (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    person_id INTEGER NOT NULL UNIQUE REFERENCES persons (id),
    matched_via TEXT NOT NULL
        CHECK (matched_via IN ('automatic', 'nino', 'trn', 'itt', 'trn_token', 'support')),
    connected_at TEXT NOT NULL
);
INSERT INTO connections (user_id, person_id, matched_via, connected_at)
    SELECT user_id, person_id, matched_via, connected_at FROM connections_copy;
DROP TABLE connections_copy;
-- The triggers of migration 0018 again, made after the copy so it moved no page versions.
CREATE TRIGGER connections_added_page_version AFTER INSERT ON connections
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = NEW.user_id;
END;
CREATE TRIGGER connections_changed_page_version AFTER UPDATE ON connections
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER connections_removed_page_version AFTER DELETE ON connections
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = OLD.user_id;
END;

-- A QTS award announced through `PUT /api/v1/teachers/{trn}/qts`, one per record: the row is what makes the call
-- idempotent (the same award again finds it, and gets the same answer), so there is one qualification, one token
-- and one email however often it is sent. `email_sent` is false when the record had no email address.
CREATE TABLE qts_awards (
    person_id INTEGER PRIMARY KEY REFERENCES persons (id),
    awarded_on TEXT NOT NULL,
    api_client_id INTEGER NOT NULL REFERENCES api_clients (id),
    email_sent BOOLEAN NOT NULL,
    created_at TEXT NOT NULL
);
