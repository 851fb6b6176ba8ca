-- ES256 ID tokens (issue 12, "Measure"; DESIGN §7.1 allows RS256 or ES256): each client says how its ID tokens are
-- signed (`id_token_signed_response_alg`, OpenID Connect Dynamic Client Registration §2; RS256 by default, as OpenID
-- Connect says), and there is one current signing key per algorithm. An RSA key's `private_key_pem` stays PKCS#1;
-- an EC P-256 key's is PKCS#8 ("BEGIN PRIVATE KEY").
ALTER TABLE oidc_clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (id_token_signed_response_alg IN ('RS256', 'ES256'));

ALTER TABLE provider_signing_keys ADD COLUMN alg TEXT NOT NULL DEFAULT 'RS256' CHECK (alg IN ('RS256', 'ES256'));

-- At most one current key for each algorithm, however many instances start at once with none.
DROP INDEX provider_signing_keys_one_current;
CREATE UNIQUE INDEX provider_signing_keys_one_current ON provider_signing_keys (alg) WHERE state = 'current';

-- When a used code was presented again (issue 12 "Measure", step 2): every access token issued for it is revoked,
-- including one still being written when the code came back (access tokens are written with the provider audit's
-- group commit, after the code is used), so userinfo reads a token as revoked when its code has `reused_at`.
ALTER TABLE authorization_codes ADD COLUMN reused_at TEXT;
