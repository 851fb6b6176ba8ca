-- DfE Identity accounts (issue 13, DESIGN §7.3): a person in Teacher ID (a `users` row) may now be reached by an
-- account (email and passcode, optionally a mobile) instead of, or as well as, GOV.UK One Login. So
-- `users.one_login_sub` becomes nullable (an account-only person has none; UNIQUE still allows one person per
-- One Login subject, and any number without), and two tables are added: `accounts` and `passcodes`.
--
-- SQLite cannot drop NOT NULL in place, so `users` is made again. SQLite's documented procedure
-- (https://www.sqlite.org/lang_altertable.html#otheralter) turns foreign keys off first, which can only be done
-- outside a transaction; sqlx runs every SQLite migration inside one (it ignores `-- no-transaction` on SQLite), so
-- this does the same with foreign keys *deferred* instead: their checks wait for the commit, where every
-- reference must hold again. The rows are copied aside, the table dropped (its implicit delete counts the rows
-- that reference it as deferred violations) and made again under its own name, and the rows copied back (each
-- settles the violations of the rows that reference it). Nothing is renamed: a rename would make SQLite re-check
-- the triggers of other tables that name `users` while it is gone (as migration 0022 found for `connections`).
-- Every table that references `users` (connections, support_tasks, disconnections, provider_subjects,
-- authorization_codes, access_tokens) names it by name, so they reference the new table. Its one trigger
-- (migration 0018) is made again; it had no index but its key and the UNIQUE column.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE users_copy AS SELECT * FROM users;
DROP TABLE users;
-- Every column as migrations 0002, 0005 and 0018 made it, in the same order, but `one_login_sub` nullable.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    one_login_sub TEXT UNIQUE,
    email TEXT NOT NULL,
    -- The verified names and dates of birth only (JSON); never the raw core identity credential.
    verified_identity TEXT,
    identity_verified_at TEXT,
    created_at TEXT NOT NULL,
    last_signed_in_at TEXT NOT NULL,
    identity_verified_via TEXT CHECK (identity_verified_via IN ('one_login', 'support')),
    identity_verified_by INTEGER REFERENCES staff (id),
    identity_verified_task TEXT,
    page_version INTEGER NOT NULL DEFAULT 0
);
INSERT INTO users (id, one_login_sub, email, verified_identity, identity_verified_at, created_at,
                   last_signed_in_at, identity_verified_via, identity_verified_by, identity_verified_task,
                   page_version)
    SELECT id, one_login_sub, email, verified_identity, identity_verified_at, created_at,
           last_signed_in_at, identity_verified_via, identity_verified_by, identity_verified_task,
           page_version
    FROM users_copy;
DROP TABLE users_copy;

-- Migration 0018's trigger, made after the copy so the copy moved no page versions.
CREATE TRIGGER users_page_version AFTER UPDATE ON users
WHEN NEW.page_version = OLD.page_version
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = NEW.id;
END;

-- An account: one per person, its email (as typed, for sending and showing) and that email's key (unique: one
-- account per address, compared as `app::domain::account::AccountEmail::key` says), an optional mobile in E.164
-- (unique), and the name and date of birth the person gave (not verified). `last_name_key` is the last name's
-- `name_key`, so the duplicate check finds namesakes born the same day through the index below. No TRN column:
-- the record found for an account is a `connections` row, as for One Login.
CREATE TABLE accounts (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    mobile TEXT UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    preferred_name TEXT,
    date_of_birth TEXT NOT NULL,
    last_name_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX accounts_last_name_key_date_of_birth ON accounts (last_name_key, date_of_birth);

-- An account's details are on the person's pages (migration 0018's rule).
CREATE TRIGGER accounts_added_page_version AFTER INSERT ON accounts
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = NEW.user_id;
END;
CREATE TRIGGER accounts_changed_page_version AFTER UPDATE ON accounts
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER accounts_removed_page_version AFTER DELETE ON accounts
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = OLD.user_id;
END;

-- One-time passcodes (`app::domain::account::passcode`): what they prove (`target_kind`) under a keyed hash of the
-- email or mobile (`target_hash`: no personal data here, even for addresses without an account), why, the code's
-- keyed hash, its expiry and the tries spent. A code is live until used or cancelled (a newer code for the same
-- email or mobile and purpose cancels it), and at most one is live per target and purpose.
CREATE TABLE passcodes (
    id INTEGER PRIMARY KEY,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('email', 'mobile')),
    target_hash TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('sign_in', 'new_account', 'change_email', 'change_mobile')),
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    used_at TEXT,
    cancelled_at TEXT
);
CREATE UNIQUE INDEX passcodes_one_live ON passcodes (target_hash, purpose)
    WHERE used_at IS NULL AND cancelled_at IS NULL;
-- Old codes are forgotten by age.
CREATE INDEX passcodes_expires_at ON passcodes (expires_at);

-- The commit checks the references the copy touched; this checks every one (SQLite's `foreign_key_check`), and
-- fails the migration (a CHECK on a temporary table) if any reference is dangling.
CREATE TEMP TABLE foreign_key_violations (n INTEGER CHECK (n = 0));
INSERT INTO foreign_key_violations SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE foreign_key_violations;
