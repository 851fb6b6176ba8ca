-- Finding the record for a DfE Identity account (issue 13 §3 and §5, DESIGN §7.3).

-- A third kind of support task: an account whose record was not found ("we could not find your record").
ALTER TABLE support_tasks DROP CONSTRAINT support_tasks_kind_check;
ALTER TABLE support_tasks ADD CONSTRAINT support_tasks_kind_check
    CHECK (kind IN ('identity_verification', 'record_matching', 'account_record_matching'));
-- Its counts, kept by migration 0004's triggers like the other two kinds'.
INSERT INTO task_counts (status, kind, n)
SELECT s.status, 'account_record_matching', 0
FROM (VALUES ('open'), ('in_progress'), ('done')) AS s (status)
ON CONFLICT (status, kind) DO NOTHING;

-- Support said this account's person has no teaching record ("no TRN"): the account is not looked up again at
-- sign-in. `no_trn_task` is the task whose decision said so (its reference), for the audit trail.
ALTER TABLE accounts ADD COLUMN no_trn_at TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN no_trn_task TEXT;

-- Two people in Teacher ID found to be one (TRN in use, or support's merge): everything of the one that goes moves
-- to the one kept, and the row that went stays, pointing at the kept one, so whatever still names it (its
-- provider subject, an old audit entry) can be followed. A merged row has no One Login subject and no account.
ALTER TABLE users ADD COLUMN merged_into BIGINT REFERENCES users (id);
ALTER TABLE users ADD COLUMN merged_at TIMESTAMPTZ;
