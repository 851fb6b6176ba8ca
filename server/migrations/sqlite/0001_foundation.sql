-- Teaching records (DESIGN §3), server-side sessions, feedback and the start of support tasks.
-- Dates are ISO-8601 TEXT and times RFC 3339 TEXT, which is how sqlx stores chrono types in SQLite.

CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    trn TEXT NOT NULL UNIQUE CHECK (length(trn) = 7),
    first_name TEXT NOT NULL,
    middle_name TEXT,
    last_name TEXT NOT NULL,
    first_name_key TEXT NOT NULL,
    last_name_key TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    nino TEXT,
    email TEXT,
    email_key TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'deactivated')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX persons_dob_last_name ON persons (date_of_birth, last_name_key);
CREATE INDEX persons_nino ON persons (nino) WHERE nino IS NOT NULL;
CREATE INDEX persons_email ON persons (email_key) WHERE email_key IS NOT NULL;

CREATE TABLE previous_names (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    first_name TEXT NOT NULL,
    middle_name TEXT,
    last_name TEXT NOT NULL,
    first_name_key TEXT NOT NULL,
    last_name_key TEXT NOT NULL,
    valid_until TEXT
);
CREATE INDEX previous_names_person ON previous_names (person_id);
CREATE INDEX previous_names_last_name ON previous_names (last_name_key);

CREATE TABLE qualifications (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('qts', 'eyts', 'induction', 'npq', 'mandatory', 'itt')),
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    awarded_on TEXT
);
CREATE INDEX qualifications_person ON qualifications (person_id);

-- The change history of a record: who did what, when and why. Details are JSON.
CREATE TABLE record_events (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    details TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);
CREATE INDEX record_events_person ON record_events (person_id, occurred_at);

-- Sessions are keyed by the SHA-256 of the cookie's token, so a copy of this table cannot be used to sign in.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    satisfaction TEXT NOT NULL,
    details TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Support tasks: raised when a teacher cannot be connected automatically; resolved in the support console.
CREATE TABLE support_tasks (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('identity_verification', 'record_matching')),
    status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done')),
    requester_name TEXT NOT NULL,
    requester_email TEXT NOT NULL,
    details TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX support_tasks_status_created ON support_tasks (status, created_at);
