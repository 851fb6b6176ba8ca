-- The support console made right (issue 10, §5 and §6).

-- Staff are bound to the identity provider's stable ids, Entra's tenant id (`tid`) and object id (`oid`), from
-- the sign-in that claims or creates their row. `subject` (`sub`) stays for members who signed in before this
-- migration: their next sign-in with that `sub` records the ids.
ALTER TABLE staff ADD COLUMN tenant_id TEXT;
ALTER TABLE staff ADD COLUMN object_id TEXT;
CREATE UNIQUE INDEX staff_identity ON staff (tenant_id, object_id) WHERE object_id IS NOT NULL;

-- Support references come from this counter, never reused (`app::domain::journey::support_reference` turns a
-- number into a reference). One row: the next number to hand out.
CREATE TABLE support_reference_counter (next INTEGER NOT NULL);
INSERT INTO support_reference_counter (next) VALUES (0);

-- The domain of the requester's email, so the dashboard can search by it through an index.
ALTER TABLE support_tasks ADD COLUMN email_domain TEXT
    GENERATED ALWAYS AS (substr(email_key, instr(email_key, '@') + 1)) VIRTUAL;
CREATE INDEX support_tasks_email_domain ON support_tasks (email_domain);

-- Connections an administrator undid, and why. The journey never makes the same connection again by itself (a
-- support decision can).
CREATE TABLE disconnections (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    staff_id INTEGER REFERENCES staff (id),
    reason TEXT NOT NULL,
    disconnected_at TEXT NOT NULL
);
CREATE INDEX disconnections_user_person ON disconnections (user_id, person_id);
