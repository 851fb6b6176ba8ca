-- One Login sign-in: our users (keyed by our own id, mapped from One Login's `sub`), the subject of each session
-- (so a back-channel logout can end them all), and logout tokens already seen (replay protection).

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    one_login_sub TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    -- The verified names and dates of birth only (JSON); never the raw core identity credential.
    verified_identity TEXT,
    identity_verified_at TEXT,
    created_at TEXT NOT NULL,
    last_signed_in_at TEXT NOT NULL
);

ALTER TABLE sessions ADD COLUMN subject TEXT;
CREATE INDEX sessions_subject ON sessions (subject) WHERE subject IS NOT NULL;

CREATE TABLE seen_logout_tokens (
    jti TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
);
