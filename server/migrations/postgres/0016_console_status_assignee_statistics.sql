-- Issue 16 §5: the planner learns that a task's status and assignee go together (open tasks are unassigned, tasks
-- in progress or done have someone). Without it PostgreSQL takes them as independent, expects a quarter of the
-- 250,000 tasks in progress to be unassigned, and for "unassigned" sorted by status walks every task in progress
-- in the status index to find the few there are (25-45 ms at 1,000,000 tasks) instead of reading the assignee's
-- index (0.3 ms). ANALYZE (the service's maintenance, autovacuum) fills it in.
CREATE STATISTICS support_tasks_status_assignee (mcv) ON status, assignee_id FROM support_tasks;
