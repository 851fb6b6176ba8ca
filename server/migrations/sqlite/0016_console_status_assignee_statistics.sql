-- Issue 16 §5: PostgreSQL's 0016 gives its planner statistics on status and assignee together. SQLite's planner
-- already takes the assignee's index for "unassigned" sorted by status; nothing to do here (the number is kept so
-- both backends' migrations stay in step).
SELECT 1;
