-- The candidate search (issue 15) keeps the people born on a verified date of birth who once had a last name (or,
-- for guard 4's lookalikes, a first name) of the evidence. Asked per person, that was an index probe for each of
-- the ~120 born that day. With the date of birth beside the previous name, it is one range of this index per
-- search (SQLite has no INCLUDE; the columns are keys). A record's date of birth is never changed in place; every
-- insert of a previous name writes it with the person's. SQLite cannot add a NOT NULL column without a default,
-- so here the inserts alone keep it filled.
ALTER TABLE previous_names ADD COLUMN date_of_birth TEXT;
UPDATE previous_names SET date_of_birth = (SELECT p.date_of_birth FROM persons p WHERE p.id = previous_names.person_id);
CREATE INDEX previous_names_born ON previous_names (date_of_birth, last_name_key, person_id, first_name_key);
-- Only those per-person probes used these.
DROP INDEX previous_names_person_last_name;
DROP INDEX previous_names_person_first_name;
