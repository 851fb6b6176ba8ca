-- The token endpoint's insert (issue 12 "Measure"): an access token's code is no longer checked by a foreign key.
-- Every token is inserted in the transaction that has just marked its code used (`db/provider.rs`, the code
-- redeemer), and codes are never deleted, so the check found the row every time; it was most of the insert's cost
-- on PostgreSQL (a `SELECT … FOR KEY SHARE` of the code per token: 146–193 µs each under the token load, measured
-- with `pg_stat_statements`, against 11 µs for the check of `users`, kept). A token whose code were missing would
-- be unknown to userinfo, which joins the token to its code.
ALTER TABLE access_tokens DROP CONSTRAINT access_tokens_code_sha256_fkey;
