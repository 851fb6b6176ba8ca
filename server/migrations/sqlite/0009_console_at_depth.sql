-- Issue 16 §5: the dashboard at depth. Each sort's index now also holds every column the filters read (status,
-- type, assignee, date), so the ids of any page, however deep, are found in the index alone; only the 25 rows
-- shown are read from the table. Same indexes on both backends.
DROP INDEX support_tasks_created;
CREATE INDEX support_tasks_created ON support_tasks (created_at, id, status, kind, assignee_id);
DROP INDEX support_tasks_name;
CREATE INDEX support_tasks_name ON support_tasks (name_key, id, status, kind, assignee_id, created_at);
DROP INDEX support_tasks_kind_created;
CREATE INDEX support_tasks_kind_created ON support_tasks (kind, created_at, id, status, assignee_id);
DROP INDEX support_tasks_status_created;
CREATE INDEX support_tasks_status_created ON support_tasks (status DESC, created_at, id, kind, assignee_id);
DROP INDEX support_tasks_assignee;
CREATE INDEX support_tasks_assignee ON support_tasks (assignee_id, created_at, id, status, kind);
-- A surname search finds its tasks here with their date, so it sorts them without reading the table.
DROP INDEX support_tasks_last_name_key;
CREATE INDEX support_tasks_last_name_key ON support_tasks (last_name_key, status, created_at, id, kind, assignee_id);
