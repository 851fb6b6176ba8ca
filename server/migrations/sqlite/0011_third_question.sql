-- The third question before support (DESIGN §5, issue 15 §4): an initial teacher training line names its provider,
-- which matching compares with what the teacher typed, and a connection can be made through it ('itt').

ALTER TABLE qualifications ADD COLUMN provider TEXT;
-- Records seeded before this migration wrote the provider only into the name ("PGCE – University of Leeds").
UPDATE qualifications SET provider = substr(name, 8) WHERE kind = 'itt' AND name LIKE 'PGCE – %';
-- The provider field's suggestions read every distinct provider.
CREATE INDEX qualifications_itt_provider ON qualifications (provider) WHERE kind = 'itt';

-- SQLite cannot change a CHECK constraint in place: copy the table with the new one.
CREATE TABLE connections_new (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    person_id INTEGER NOT NULL UNIQUE REFERENCES persons (id),
    matched_via TEXT NOT NULL CHECK (matched_via IN ('automatic', 'nino', 'trn', 'itt', 'support')),
    connected_at TEXT NOT NULL
);
INSERT INTO connections_new (user_id, person_id, matched_via, connected_at)
    SELECT user_id, person_id, matched_via, connected_at FROM connections;
DROP TABLE connections;
ALTER TABLE connections_new RENAME TO connections;
