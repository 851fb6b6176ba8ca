-- TRN tokens (issue 12, DESIGN §7.2): the services allowed to call our API, the tokens they ask for, and an audit
-- of every call.

-- `scopes` is a JSON array of the server's `ApiScope` names, read back only through that type. The API key is
-- kept only as its SHA-256 (lowercase hex): keys are 256 random bits, so a slow password hash would add nothing.
CREATE TABLE api_clients (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    key_sha256 TEXT NOT NULL UNIQUE,
    enabled BOOLEAN NOT NULL,
    created_at TEXT NOT NULL
);

-- A token is kept as its SHA-256 too (at least 128 random bits); `used_at` is set when it is redeemed, once.
CREATE TABLE trn_tokens (
    token_sha256 TEXT PRIMARY KEY,
    trn TEXT NOT NULL,
    email TEXT NOT NULL,
    api_client_id INTEGER NOT NULL REFERENCES api_clients (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

-- Every call to the API, without personal data: which client (none when the key was missing or wrong), which
-- operation, and the HTTP status it was answered with.
CREATE TABLE api_calls (
    id INTEGER PRIMARY KEY,
    api_client_id INTEGER REFERENCES api_clients (id),
    operation TEXT NOT NULL,
    status INTEGER NOT NULL,
    at TEXT NOT NULL
);
