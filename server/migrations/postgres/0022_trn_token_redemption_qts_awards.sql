-- The second half of TRN tokens (issue 12, DESIGN §7.2): a teacher connected by redeeming a TRN token
-- (matched_via 'trn_token'), and the QTS awards the API recorded.

ALTER TABLE connections DROP CONSTRAINT connections_matched_via_check;
ALTER TABLE connections ADD CONSTRAINT connections_matched_via_check
    CHECK (matched_via IN ('automatic', 'nino', 'trn', 'itt', 'trn_token', 'support'));

-- A QTS award announced through `PUT /api/v1/teachers/{trn}/qts`, one per record: the row is what makes the call
-- idempotent (the same award again finds it, and gets the same answer), so there is one qualification, one token
-- and one email however often it is sent. `email_sent` is false when the record had no email address.
CREATE TABLE qts_awards (
    person_id BIGINT PRIMARY KEY REFERENCES persons (id),
    awarded_on DATE NOT NULL,
    api_client_id BIGINT NOT NULL REFERENCES api_clients (id),
    email_sent BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
