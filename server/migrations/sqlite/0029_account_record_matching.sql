-- Finding the record for a DfE Identity account (issue 13 §3 and §5, DESIGN §7.3).

-- A third kind of support task: an account whose record was not found ("we could not find your record").
--
-- SQLite cannot change a CHECK constraint in place, so `support_tasks` is made again as migrations 0022 and 0024
-- made theirs: copied aside, dropped (with its indexes and triggers) and made again under its own name (nothing
-- references it), every column as migrations 0001-0027 left it, in the same order, then its indexes and triggers
-- again, made after the copy so the copy moved no counts and no page versions. The generated columns are not
-- copied: they are worked out again.
CREATE TABLE support_tasks_copy AS
    SELECT id, reference, kind, status, requester_name, requester_email, details, version, created_at,
           updated_at, user_id, flag, name_key, last_name_key, email_key, trn, assignee_id, draft, decision,
           decided_by, decided_at, client_id, page_version
    FROM support_tasks;
DROP TABLE support_tasks;
CREATE TABLE support_tasks (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL
        CHECK (kind IN ('identity_verification', 'record_matching', 'account_record_matching')),
    status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done')),
    requester_name TEXT NOT NULL,
    requester_email TEXT NOT NULL,
    details TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id),
    flag TEXT,
    name_key TEXT NOT NULL DEFAULT '',
    last_name_key TEXT NOT NULL DEFAULT '',
    email_key TEXT NOT NULL DEFAULT '',
    trn TEXT,
    assignee_id INTEGER REFERENCES staff (id),
    draft TEXT,
    decision TEXT,
    decided_by INTEGER REFERENCES staff (id),
    decided_at TEXT,
    email_domain TEXT GENERATED ALWAYS AS (substr(email_key, instr(email_key, '@') + 1)) VIRTUAL,
    proof_key TEXT GENERATED ALWAYS AS (json_extract(details, '$.proof.key')) VIRTUAL,
    client_id TEXT,
    page_version INTEGER NOT NULL DEFAULT 0
);
INSERT INTO support_tasks (id, reference, kind, status, requester_name, requester_email, details, version,
                           created_at, updated_at, user_id, flag, name_key, last_name_key, email_key, trn,
                           assignee_id, draft, decision, decided_by, decided_at, client_id, page_version)
    SELECT id, reference, kind, status, requester_name, requester_email, details, version, created_at,
           updated_at, user_id, flag, name_key, last_name_key, email_key, trn, assignee_id, draft, decision,
           decided_by, decided_at, client_id, page_version
    FROM support_tasks_copy;
DROP TABLE support_tasks_copy;

-- The indexes of migrations 0003-0023, as they stand.
CREATE UNIQUE INDEX support_tasks_one_open_per_user ON support_tasks (user_id)
    WHERE user_id IS NOT NULL AND status IN ('open', 'in_progress');
CREATE INDEX support_tasks_email_key ON support_tasks (email_key);
CREATE INDEX support_tasks_trn ON support_tasks (trn) WHERE trn IS NOT NULL;
CREATE INDEX support_tasks_user_kind_decided ON support_tasks (user_id, kind, decided_at)
    WHERE user_id IS NOT NULL;
CREATE INDEX support_tasks_email_domain ON support_tasks (email_domain);
CREATE INDEX support_tasks_proof_key ON support_tasks (proof_key) WHERE proof_key IS NOT NULL;
CREATE INDEX support_tasks_proof_decided ON support_tasks (decided_at) WHERE proof_key IS NOT NULL;
CREATE INDEX support_tasks_created ON support_tasks (created_at, id, status, kind, assignee_id);
CREATE INDEX support_tasks_name ON support_tasks (name_key, id, status, kind, assignee_id, created_at);
CREATE INDEX support_tasks_kind_created ON support_tasks (kind, created_at, id, status, assignee_id);
CREATE INDEX support_tasks_status_created ON support_tasks (status DESC, created_at, id, kind, assignee_id);
CREATE INDEX support_tasks_assignee ON support_tasks (assignee_id, created_at, id, status, kind);
CREATE INDEX support_tasks_assignee_status ON support_tasks (assignee_id, status DESC, created_at, id, kind);
CREATE INDEX support_tasks_assignee_name ON support_tasks (assignee_id, name_key, id, status, kind, created_at);
CREATE INDEX support_tasks_assignee_kind ON support_tasks (assignee_id, kind, created_at, id, status);
CREATE INDEX support_tasks_last_name_key
    ON support_tasks (last_name_key, status, created_at, id, kind, assignee_id, name_key);
CREATE INDEX support_tasks_client ON support_tasks (client_id, created_at, id, status, kind, assignee_id);
CREATE INDEX support_tasks_client_name
    ON support_tasks (client_id, name_key, id, status, kind, created_at, assignee_id);
CREATE INDEX support_tasks_client_kind ON support_tasks (client_id, kind, created_at, id, status, assignee_id);
CREATE INDEX support_tasks_client_status
    ON support_tasks (client_id, status DESC, created_at, id, kind, assignee_id);

-- The triggers of migrations 0004 (counts), 0018 (the teacher's page version) and 0027 (the task's).
CREATE TRIGGER support_tasks_count_insert AFTER INSERT ON support_tasks BEGIN
    UPDATE task_counts SET n = n + 1 WHERE status = NEW.status AND kind = NEW.kind;
END;
CREATE TRIGGER support_tasks_count_delete AFTER DELETE ON support_tasks BEGIN
    UPDATE task_counts SET n = n - 1 WHERE status = OLD.status AND kind = OLD.kind;
END;
CREATE TRIGGER support_tasks_count_update AFTER UPDATE OF status, kind ON support_tasks
WHEN OLD.status <> NEW.status OR OLD.kind <> NEW.kind BEGIN
    UPDATE task_counts SET n = n - 1 WHERE status = OLD.status AND kind = OLD.kind;
    UPDATE task_counts SET n = n + 1 WHERE status = NEW.status AND kind = NEW.kind;
END;
CREATE TRIGGER support_tasks_added_page_version AFTER INSERT ON support_tasks
WHEN NEW.user_id IS NOT NULL
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = NEW.user_id;
END;
CREATE TRIGGER support_tasks_changed_page_version AFTER UPDATE ON support_tasks
WHEN OLD.user_id IS NOT NULL OR NEW.user_id IS NOT NULL
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER support_tasks_removed_page_version AFTER DELETE ON support_tasks
WHEN OLD.user_id IS NOT NULL
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = OLD.user_id;
END;
CREATE TRIGGER support_tasks_task_page_version AFTER UPDATE ON support_tasks
WHEN NEW.page_version = OLD.page_version
BEGIN
    UPDATE support_tasks SET page_version = page_version + 1 WHERE id = NEW.id;
END;

-- Its counts, kept by the triggers above like the other two kinds'.
INSERT INTO task_counts (status, kind, n)
SELECT s.status, 'account_record_matching', 0
FROM (SELECT 'open' AS status UNION ALL SELECT 'in_progress' UNION ALL SELECT 'done') s
WHERE true
ON CONFLICT (status, kind) DO NOTHING;

-- Support said this account's person has no teaching record ("no TRN"): the account is not looked up again at
-- sign-in. `no_trn_task` is the task whose decision said so (its reference), for the audit trail.
ALTER TABLE accounts ADD COLUMN no_trn_at TEXT;
ALTER TABLE accounts ADD COLUMN no_trn_task TEXT;

-- Two people in Teacher ID found to be one (TRN in use, or support's merge): everything of the one that goes moves
-- to the one kept, and the row that went stays, pointing at the kept one, so whatever still names it (its
-- provider subject, an old audit entry) can be followed. A merged row has no One Login subject and no account.
ALTER TABLE users ADD COLUMN merged_into INTEGER REFERENCES users (id);
ALTER TABLE users ADD COLUMN merged_at TEXT;
