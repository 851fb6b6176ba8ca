-- The connect journey: which user is connected to which teaching record (one each way), support tasks that belong
-- to a user (at most one open at a time), and attempt counters for rate limits.

CREATE TABLE connections (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    person_id INTEGER NOT NULL UNIQUE REFERENCES persons (id),
    matched_via TEXT NOT NULL CHECK (matched_via IN ('automatic', 'nino', 'trn', 'support')),
    connected_at TEXT NOT NULL
);

ALTER TABLE support_tasks ADD COLUMN user_id INTEGER REFERENCES users (id);
ALTER TABLE support_tasks ADD COLUMN flag TEXT;
CREATE UNIQUE INDEX support_tasks_one_open_per_user ON support_tasks (user_id)
    WHERE user_id IS NOT NULL AND status IN ('open', 'in_progress');


-- Fixed windows: `window_start` is Unix seconds rounded down to the window. `key_hash` is a SHA-256, so no
-- client address is stored.
CREATE TABLE rate_limits (
    key_hash TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key_hash, window_start)
);

-- The candidate search asks "has this person had this last name?" for each person born on the day.
CREATE INDEX previous_names_person_last_name ON previous_names (person_id, last_name_key);
