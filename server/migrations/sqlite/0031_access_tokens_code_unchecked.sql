-- The token endpoint's insert (issue 12 "Measure"): an access token's code is no longer checked by a foreign key,
-- as on PostgreSQL (see its migration 0031 for why). SQLite cannot drop a constraint, so the table is made again with
-- the same columns, in the same order, the same key and index, and the foreign key to `users` kept. Nothing
-- references `access_tokens` and no trigger names it.
CREATE TABLE access_tokens_copy AS SELECT * FROM access_tokens;
DROP TABLE access_tokens;
CREATE TABLE access_tokens (
    token_sha256 TEXT PRIMARY KEY,
    code_sha256 TEXT NOT NULL,
    client_id TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
INSERT INTO access_tokens SELECT * FROM access_tokens_copy;
DROP TABLE access_tokens_copy;
CREATE INDEX access_tokens_code ON access_tokens (code_sha256);
