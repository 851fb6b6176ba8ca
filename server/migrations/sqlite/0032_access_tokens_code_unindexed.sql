-- The token endpoint's write (issue 12 "Measure"): an access token's code is no longer indexed. The index served
-- one statement only, revoking the tokens of a code presented twice, and that revocation is the code's own
-- `reused_at`, which every read of a token joins (`AccessToken::revoked`; it covers a token written after the
-- reuse too). Each token cost a random page of this index in the write, and on SQLite in the WAL and checkpoints.
DROP INDEX access_tokens_code;
