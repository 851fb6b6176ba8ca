-- A teacher's pages are kept rendered (issue 16 §1, `server/src/http/personal_pages.rs`) and served again only
-- while what they show is unchanged: the session's data, and this number, which the session's own query reads.
-- Every change to what a teacher's pages read of the database moves it, through these triggers rather than in
-- each write, so a writer added later cannot forget it: their user row, their connection, their support tasks and
-- the record they are connected to. Records are only ever loaded whole (a person and their names and
-- qualifications together, before anyone can be connected to them), so inserting parts needs no trigger, and
-- seeding pays nothing for this.
ALTER TABLE users ADD COLUMN page_version INTEGER NOT NULL DEFAULT 0;

-- Any change to the user's row but the bump itself (which leaves the WHEN false, so it does not fire again).
CREATE TRIGGER users_page_version AFTER UPDATE ON users
WHEN NEW.page_version = OLD.page_version
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER connections_added_page_version AFTER INSERT ON connections
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = NEW.user_id;
END;
CREATE TRIGGER connections_changed_page_version AFTER UPDATE ON connections
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER connections_removed_page_version AFTER DELETE ON connections
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = OLD.user_id;
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

CREATE TRIGGER persons_changed_page_version AFTER UPDATE ON persons
BEGIN
    UPDATE users SET page_version = page_version + 1
    WHERE id IN (SELECT user_id FROM connections WHERE person_id IN (OLD.id, NEW.id));
END;
CREATE TRIGGER previous_names_changed_page_version AFTER UPDATE ON previous_names
BEGIN
    UPDATE users SET page_version = page_version + 1
    WHERE id IN (SELECT user_id FROM connections WHERE person_id IN (OLD.person_id, NEW.person_id));
END;
CREATE TRIGGER previous_names_removed_page_version AFTER DELETE ON previous_names
BEGIN
    UPDATE users SET page_version = page_version + 1
    WHERE id IN (SELECT user_id FROM connections WHERE person_id = OLD.person_id);
END;
CREATE TRIGGER qualifications_changed_page_version AFTER UPDATE ON qualifications
BEGIN
    UPDATE users SET page_version = page_version + 1
    WHERE id IN (SELECT user_id FROM connections WHERE person_id IN (OLD.person_id, NEW.person_id));
END;
CREATE TRIGGER qualifications_removed_page_version AFTER DELETE ON qualifications
BEGIN
    UPDATE users SET page_version = page_version + 1
    WHERE id IN (SELECT user_id FROM connections WHERE person_id = OLD.person_id);
END;
