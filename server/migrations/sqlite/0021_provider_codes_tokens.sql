-- Teacher ID signs teachers in for other services (issue 12, DESIGN §7.1): our own subject for each person,
-- authorization codes, access tokens, client assertions already used, and an audit of the provider's answers.

-- `sub` is a random id of our own, made the first time a person signs in to a service through us and never
-- changed: never One Login's `sub`, never our user id.
CREATE TABLE provider_subjects (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    sub TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- A code is kept only as its SHA-256, with everything the token request must match. `used_at` is set when it is
-- exchanged, once; `auth_time` is seconds since the epoch.
CREATE TABLE authorization_codes (
    code_sha256 TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    nonce TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scopes TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    auth_time INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

-- An access token, kept as its SHA-256, bound to the code it was issued for: a code presented twice revokes them.
CREATE TABLE access_tokens (
    token_sha256 TEXT PRIMARY KEY,
    code_sha256 TEXT NOT NULL REFERENCES authorization_codes (code_sha256),
    client_id TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX access_tokens_code ON access_tokens (code_sha256);

-- The `jti` of each private_key_jwt client assertion accepted, until it expires: an assertion is used once.
CREATE TABLE client_assertions_seen (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (client_id, jti)
);

-- Every client request, token issued and refusal, without personal data: the client (none when it could not be
-- told), what was asked (`authorize`, `token`, `userinfo`, `continue`) and the outcome (`code`, `sign_in`,
-- `tokens`, or an OAuth error code).
CREATE TABLE provider_events (
    id INTEGER PRIMARY KEY,
    client_id TEXT,
    event TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL
);
