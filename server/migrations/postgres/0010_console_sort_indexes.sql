-- Issue 16 §5: every filter × sort at depth. A filter on the assignee gets an index for each order, led by the
-- assignee, so "assigned to me" or "unassigned" in any order is one index walked in order (it sorted up to
-- 250,000 matches); the name search's surname index also holds the name key, so a surname search sorted by name
-- reads only its index. Same indexes on both backends.
DROP INDEX support_tasks_assignee_status;
CREATE INDEX support_tasks_assignee_status ON support_tasks (assignee_id, status DESC, created_at, id, kind);
CREATE INDEX support_tasks_assignee_name ON support_tasks (assignee_id, name_key, id, status, kind, created_at);
CREATE INDEX support_tasks_assignee_kind ON support_tasks (assignee_id, kind, created_at, id, status);
DROP INDEX support_tasks_last_name_key;
CREATE INDEX support_tasks_last_name_key ON support_tasks (last_name_key, status, created_at, id, kind, assignee_id, name_key);
