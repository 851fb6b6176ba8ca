-- The support console's task page is kept rendered (issue 16 §1, `server/src/http/staff_pages.rs`) and served
-- again only while nothing it shows has changed. Besides the staff session (read on every request) it reads:
-- - the task: `support_tasks.page_version`, moved by the trigger below on every change to the task's row, whatever
--   its kind and whichever writer made it;
-- - the teacher's connection and connected record: `users.page_version` (migration 0018);
-- - everything shared between tasks: the candidate records (`persons`, `previous_names`, `qualifications`), who is
--   connected to which record (`connections`), records' histories (`record_events`), the staff list (assignees,
--   the viewer's own role) and services' names (`oidc_clients`): `console_versions.version`, moved by the
--   triggers below.
-- All are read in one statement before the page's facts, so a page kept from facts newer than its versions is only
-- ever thrown away early, never served stale.
--
-- Rows added to the three record tables move no trigger here: seeding loads millions of them and must stay fast
-- (issue 16 §4). SQLite gives a new row an id above every id in its table (the loaders give `persons` ids from
-- MAX(id) + 1 too), and writers take turns, so MAX(id) of each of the three, read beside the versions, moves on
-- every row added. A row deleted moves `console_versions`, so an id used again after a delete is still seen.
-- (On PostgreSQL statement-level triggers see every insert, `COPY` too, at one update per statement.)
--
-- A migration that makes `support_tasks` again (SQLite cannot change a CHECK in place) must keep `page_version`
-- and make its trigger again.
ALTER TABLE support_tasks ADD COLUMN page_version INTEGER NOT NULL DEFAULT 0;

-- Any change to the task's row but the bump itself (which leaves the WHEN false, so it does not fire again).
CREATE TRIGGER support_tasks_task_page_version AFTER UPDATE ON support_tasks
WHEN NEW.page_version = OLD.page_version
BEGIN
    UPDATE support_tasks SET page_version = page_version + 1 WHERE id = NEW.id;
END;

-- One row here; PostgreSQL spreads the count over many (see its migration).
CREATE TABLE console_versions (
    shard INTEGER PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 0
);
INSERT INTO console_versions (shard, version) VALUES (0, 0);

CREATE TRIGGER persons_changed_console_version AFTER UPDATE ON persons
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER persons_removed_console_version AFTER DELETE ON persons
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER previous_names_changed_console_version AFTER UPDATE ON previous_names
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER previous_names_removed_console_version AFTER DELETE ON previous_names
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER qualifications_changed_console_version AFTER UPDATE ON qualifications
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER qualifications_removed_console_version AFTER DELETE ON qualifications
BEGIN UPDATE console_versions SET version = version + 1; END;

CREATE TRIGGER record_events_added_console_version AFTER INSERT ON record_events
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER record_events_changed_console_version AFTER UPDATE ON record_events
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER record_events_removed_console_version AFTER DELETE ON record_events
BEGIN UPDATE console_versions SET version = version + 1; END;

CREATE TRIGGER connections_added_console_version AFTER INSERT ON connections
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER connections_changed_console_version AFTER UPDATE ON connections
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER connections_removed_console_version AFTER DELETE ON connections
BEGIN UPDATE console_versions SET version = version + 1; END;

CREATE TRIGGER staff_added_console_version AFTER INSERT ON staff
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER staff_changed_console_version AFTER UPDATE ON staff
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER staff_removed_console_version AFTER DELETE ON staff
BEGIN UPDATE console_versions SET version = version + 1; END;

CREATE TRIGGER oidc_clients_added_console_version AFTER INSERT ON oidc_clients
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER oidc_clients_changed_console_version AFTER UPDATE ON oidc_clients
BEGIN UPDATE console_versions SET version = version + 1; END;
CREATE TRIGGER oidc_clients_removed_console_version AFTER DELETE ON oidc_clients
BEGIN UPDATE console_versions SET version = version + 1; END;
