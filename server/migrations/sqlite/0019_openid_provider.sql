-- Teacher ID as an OpenID Connect provider (issue 12, DESIGN §7.1): the services registered to sign teachers in
-- through us, and the keys our ID tokens are signed with.

-- `uris` is JSON of the server's `ClientUris` (exact redirect and post-logout redirect URIs) and `token_auth` JSON
-- of `ClientAuth` (a JWKS URL or keys, or a client secret's SHA-256, never the secret); both are read back whole
-- through their serde types. `allowed_scopes` is a space-separated scope list.
CREATE TABLE oidc_clients (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    service_url TEXT NOT NULL,
    uris TEXT NOT NULL,
    token_auth TEXT NOT NULL,
    allowed_scopes TEXT NOT NULL,
    sign_in TEXT NOT NULL CHECK (sign_in IN ('one_login', 'one_login_or_account')),
    trn TEXT NOT NULL CHECK (trn IN ('required', 'optional')),
    enabled BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One key is `current` (new ID tokens are signed with it); a key replaced by `server keys rotate` is `retiring`
-- and stays published at /.well-known/jwks.json until `retire_after`, when no ID token it signed is valid any
-- more. `public_jwk` is its public half as published, so the JWKS is served without reading private keys.
CREATE TABLE provider_signing_keys (
    kid TEXT PRIMARY KEY,
    private_key_pem TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('current', 'retiring')),
    created_at TEXT NOT NULL,
    retire_after TEXT,
    CHECK ((state = 'current' AND retire_after IS NULL) OR (state = 'retiring' AND retire_after IS NOT NULL))
);

-- At most one current key, however many instances start at once with none.
CREATE UNIQUE INDEX provider_signing_keys_one_current ON provider_signing_keys (state) WHERE state = 'current';
