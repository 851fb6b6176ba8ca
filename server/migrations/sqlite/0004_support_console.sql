-- The support console (DESIGN §6): staff and their roles, what support tasks need to be searched, sorted, assigned
-- and decided, the audit log of staff actions, and the transactional outbox of emails to teachers.

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    -- The identity provider's `sub`; empty until the first sign-in of someone added by `server staff add`.
    subject TEXT UNIQUE,
    -- Lower case.
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT CHECK (role IN ('viewer', 'support_officer', 'administrator')),
    created_at TEXT NOT NULL,
    last_signed_in_at TEXT
);

-- Search keys (name keys as `app::domain::names::name_key` makes them; rows from before this migration get a
-- lower-cased approximation), the TRN the teacher entered, who is working on the task, a saved draft decision,
-- and the decision itself.
ALTER TABLE support_tasks ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE support_tasks ADD COLUMN last_name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE support_tasks ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
ALTER TABLE support_tasks ADD COLUMN trn TEXT;
ALTER TABLE support_tasks ADD COLUMN assignee_id INTEGER REFERENCES staff (id);
ALTER TABLE support_tasks ADD COLUMN draft TEXT;
ALTER TABLE support_tasks ADD COLUMN decision TEXT;
ALTER TABLE support_tasks ADD COLUMN decided_by INTEGER REFERENCES staff (id);
ALTER TABLE support_tasks ADD COLUMN decided_at TEXT;
UPDATE support_tasks SET name_key = lower(replace(requester_name, ' ', '')), email_key = lower(requester_email);

-- The dashboard: each sort order has an index to walk (then id, the tie-break), so pages come without sorting;
-- filters with few rows have their own. Each ends in status, so the status filter and the counts per status are
-- answered from the index without reading the rows. Status sorts open, in progress, done: the reverse of
-- their names' order, so that index is descending on status.
DROP INDEX support_tasks_status_created;
CREATE INDEX support_tasks_created ON support_tasks (created_at, id, status);
CREATE INDEX support_tasks_name ON support_tasks (name_key, id, status);
CREATE INDEX support_tasks_kind_created ON support_tasks (kind, created_at, id, status);
CREATE INDEX support_tasks_status_created ON support_tasks (status DESC, created_at, id);
CREATE INDEX support_tasks_assignee ON support_tasks (assignee_id, created_at, id, status);
CREATE INDEX support_tasks_assignee_status ON support_tasks (assignee_id, status);
CREATE INDEX support_tasks_last_name_key ON support_tasks (last_name_key, status);
CREATE INDEX support_tasks_email_key ON support_tasks (email_key);
CREATE INDEX support_tasks_trn ON support_tasks (trn) WHERE trn IS NOT NULL;

-- How many tasks there are of each status and kind, kept by triggers, so the dashboard's counts need no scan.
CREATE TABLE task_counts (
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (status, kind)
);
INSERT INTO task_counts (status, kind, n)
SELECT s.status, k.kind, (SELECT COUNT(*) FROM support_tasks t WHERE t.status = s.status AND t.kind = k.kind)
FROM (SELECT 'open' AS status UNION ALL SELECT 'in_progress' UNION ALL SELECT 'done') s,
     (SELECT 'identity_verification' AS kind UNION ALL SELECT 'record_matching') k;
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

-- Every staff action, for administrators. Details are JSON and hold no more personal data than the action needs.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    staff_id INTEGER REFERENCES staff (id),
    action TEXT NOT NULL,
    task_reference TEXT,
    details TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);
CREATE INDEX audit_log_occurred ON audit_log (occurred_at, id);

-- Emails to send, written in the same transaction as the change they announce. `reference` goes to Notify, so
-- after a crash the worker can ask whether a message went before sending it again.
CREATE TABLE email_outbox (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    template TEXT NOT NULL,
    email_address TEXT NOT NULL,
    personalisation TEXT NOT NULL,
    task_reference TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    notify_id TEXT,
    delivered_via TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
