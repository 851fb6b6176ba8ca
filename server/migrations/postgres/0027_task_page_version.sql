-- The support console's task page is kept rendered (issue 16 §1, `server/src/http/staff_pages.rs`) and served
-- again only while nothing it shows has changed. Besides the staff session (read on every request) it reads:
-- - the task: `support_tasks.page_version`, moved by the trigger below on every change to the task's row, whatever
--   its kind and whichever writer made it;
-- - the teacher's connection and connected record: `users.page_version` (migration 0018);
-- - everything shared between tasks: the candidate records (`persons`, `previous_names`, `qualifications`), who is
--   connected to which record (`connections`), records' histories (`record_events`), the staff list (assignees,
--   the viewer's own role) and services' names (`oidc_clients`): the sum of `console_versions.version`, moved by
--   the statement-level triggers below (one update per statement, so `COPY` of millions of rows pays once).
-- All are read in one statement before the page's facts, so a page kept from facts newer than its versions is only
-- ever thrown away early, never served stale.
--
-- Why many rows and not one: a row is locked from its update until the transaction ends, so one counter would make
-- every transaction writing any of those tables wait for every other (a bulk load for all of it). Each backend
-- moves the row of its own process id, so a transaction only ever locks one of them and two transactions wait on
-- each other only when their ids share a remainder. Why not a sequence: `nextval` is seen before the transaction
-- that took it commits, so a page could be rendered from the old facts under the new number and kept stale. Every
-- row only grows, so the sum moves whenever any row does.
ALTER TABLE support_tasks ADD COLUMN page_version BIGINT NOT NULL DEFAULT 0;

-- Any change to the task's row but the bump itself.
CREATE FUNCTION task_page_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.page_version := OLD.page_version + 1;
    RETURN NEW;
END $$;
CREATE TRIGGER support_tasks_task_page_version BEFORE UPDATE ON support_tasks
FOR EACH ROW WHEN (NEW.page_version = OLD.page_version) EXECUTE FUNCTION task_page_version();

CREATE TABLE console_versions (
    shard INTEGER PRIMARY KEY,
    version BIGINT NOT NULL DEFAULT 0
);
INSERT INTO console_versions (shard, version) SELECT shard, 0 FROM generate_series(0, 63) AS shard;

CREATE FUNCTION console_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE console_versions SET version = version + 1 WHERE shard = pg_backend_pid() % 64;
    RETURN NULL;
END $$;
CREATE TRIGGER persons_console_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON persons
FOR EACH STATEMENT EXECUTE FUNCTION console_version();
CREATE TRIGGER previous_names_console_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON previous_names
FOR EACH STATEMENT EXECUTE FUNCTION console_version();
CREATE TRIGGER qualifications_console_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON qualifications
FOR EACH STATEMENT EXECUTE FUNCTION console_version();
CREATE TRIGGER record_events_console_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON record_events
FOR EACH STATEMENT EXECUTE FUNCTION console_version();
CREATE TRIGGER connections_console_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON connections
FOR EACH STATEMENT EXECUTE FUNCTION console_version();
CREATE TRIGGER staff_console_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON staff
FOR EACH STATEMENT EXECUTE FUNCTION console_version();
CREATE TRIGGER oidc_clients_console_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oidc_clients
FOR EACH STATEMENT EXECUTE FUNCTION console_version();
