-- A teacher's pages are kept rendered (issue 16 §1, `server/src/http/personal_pages.rs`) and served again only
-- while what they show is unchanged: the session's data, and this number, which the session's own query reads.
-- Every change to what a teacher's pages read of the database moves it, through these triggers rather than in
-- each write, so a writer added later cannot forget it: their user row, their connection, their support tasks and
-- the record they are connected to. Records are only ever loaded whole (a person and their names and
-- qualifications together, before anyone can be connected to them), so inserting parts needs no trigger, and
-- seeding (`COPY`) pays nothing for this.
ALTER TABLE users ADD COLUMN page_version BIGINT NOT NULL DEFAULT 0;

-- Any change to the user's row but the bump itself.
CREATE FUNCTION users_page_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.page_version := OLD.page_version + 1;
    RETURN NEW;
END $$;
CREATE TRIGGER users_page_version BEFORE UPDATE ON users
FOR EACH ROW WHEN (NEW.page_version = OLD.page_version) EXECUTE FUNCTION users_page_version();

-- A row of a table with a `user_id` column changed: both the old and the new user's pages.
CREATE FUNCTION user_row_page_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE users SET page_version = page_version + 1 WHERE id = OLD.user_id;
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        UPDATE users SET page_version = page_version + 1 WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER connections_page_version AFTER INSERT OR UPDATE OR DELETE ON connections
FOR EACH ROW EXECUTE FUNCTION user_row_page_version();
-- Most tasks made in bulk (`bench-console`) belong to no user: the conditions skip the function call for them.
CREATE TRIGGER support_tasks_added_page_version AFTER INSERT ON support_tasks
FOR EACH ROW WHEN (NEW.user_id IS NOT NULL) EXECUTE FUNCTION user_row_page_version();
CREATE TRIGGER support_tasks_changed_page_version AFTER UPDATE ON support_tasks
FOR EACH ROW WHEN (OLD.user_id IS NOT NULL OR NEW.user_id IS NOT NULL) EXECUTE FUNCTION user_row_page_version();
CREATE TRIGGER support_tasks_removed_page_version AFTER DELETE ON support_tasks
FOR EACH ROW WHEN (OLD.user_id IS NOT NULL) EXECUTE FUNCTION user_row_page_version();

-- A part of a record changed: the pages of whoever is connected to it. `persons` is keyed by `id`, its parts by
-- `person_id`.
CREATE FUNCTION record_page_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    person BIGINT;
BEGIN
    IF TG_TABLE_NAME = 'persons' THEN
        person := OLD.id;
    ELSE
        person := OLD.person_id;
    END IF;
    UPDATE users SET page_version = page_version + 1
    WHERE id IN (SELECT user_id FROM connections WHERE person_id = person);
    IF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME = 'persons' THEN
            person := NEW.id;
        ELSE
            person := NEW.person_id;
        END IF;
        UPDATE users SET page_version = page_version + 1
        WHERE id IN (SELECT user_id FROM connections WHERE person_id = person);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER persons_page_version AFTER UPDATE OR DELETE ON persons
FOR EACH ROW EXECUTE FUNCTION record_page_version();
CREATE TRIGGER previous_names_page_version AFTER UPDATE OR DELETE ON previous_names
FOR EACH ROW EXECUTE FUNCTION record_page_version();
CREATE TRIGGER qualifications_page_version AFTER UPDATE OR DELETE ON qualifications
FOR EACH ROW EXECUTE FUNCTION record_page_version();
