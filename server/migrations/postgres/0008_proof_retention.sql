-- Proof of identity files (issue 10 §4): which file each identity task holds, taken from its details, so the
-- sweeper can ask "does a task refer to this file?" and the retention job can find decided tasks whose proof is
-- past its time, each from an index. A task's proof key is removed from its details when the file is deleted.
ALTER TABLE support_tasks ADD COLUMN proof_key TEXT GENERATED ALWAYS AS ((details::jsonb) -> 'proof' ->> 'key') STORED;
CREATE INDEX support_tasks_proof_key ON support_tasks (proof_key) WHERE proof_key IS NOT NULL;
CREATE INDEX support_tasks_proof_decided ON support_tasks (decided_at) WHERE proof_key IS NOT NULL;
