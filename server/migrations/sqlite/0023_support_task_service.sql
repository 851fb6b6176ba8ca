-- Issue 12 §7.1: which service a support task came from. `client_id` is the OpenID Connect client (as
-- `oidc_clients.client_id`) whose request was kept in the teacher's session when the task was raised; NULL when the
-- teacher came to Teacher ID directly. No foreign key: a task keeps the service it came from whatever becomes of the
-- client's registration, and the console shows an unknown one by its id.
ALTER TABLE support_tasks ADD COLUMN client_id TEXT;
-- The console's filter by service, at depth, in the style of 0009/0010: an index led by the service for each order,
-- holding every other column a filter reads, so one service's tasks (or those that came directly, the NULLs) in any
-- order are one index walked in order, and a deep page is found in the index alone. Same indexes on both backends.
CREATE INDEX support_tasks_client ON support_tasks (client_id, created_at, id, status, kind, assignee_id);
CREATE INDEX support_tasks_client_name ON support_tasks (client_id, name_key, id, status, kind, created_at, assignee_id);
CREATE INDEX support_tasks_client_kind ON support_tasks (client_id, kind, created_at, id, status, assignee_id);
CREATE INDEX support_tasks_client_status ON support_tasks (client_id, status DESC, created_at, id, kind, assignee_id);
