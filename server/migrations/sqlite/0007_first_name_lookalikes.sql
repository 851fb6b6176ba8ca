-- Guard 4's first-name lookalikes (issue 15): the candidate search's second query takes everyone born on a date of
-- birth whose current or a previous first name is one of the evidence's first-name keys. These indexes answer it
-- from the index alone for the ~120 people born each day, instead of reading each of their rows.
CREATE INDEX persons_dob_first_name ON persons (date_of_birth, first_name_key);
CREATE INDEX previous_names_person_first_name ON previous_names (person_id, first_name_key);
