//! Loading millions of synthetic records (`server seed`, `bench-matching`): [`RecordStore::bulk_load_records`].
//!
//! Both backends load in one transaction, so a failure leaves the tables as they were, indexes included. Into empty
//! tables the secondary indexes of the record tables are dropped first and built again at the end: building an
//! index from sorted rows once is far cheaper than keeping it up to date through millions of random inserts. The
//! indexes are read from the catalogue, so one added by a later migration is kept too. With rows already there,
//! the indexes stay and the rows go in around them.
//!
//! SQLite takes each table's batch as one JSON array unpacked by `json_each`, on a connection of its own with a
//! large page cache and, into an empty file, a rollback journal instead of WAL (closed afterwards, so neither
//! setting ever serves a request). PostgreSQL takes `COPY`, with the foreign keys and the unique TRN dropped for
//! a load into empty tables and added back after. Both work out the derived columns (name keys, the NINO's key,
//! the lower-case email) with the same functions as [`RecordStore::insert_records`], so the rows are the same.
//!
//! [`RecordStore::bulk_load_records`]: super::RecordStore::bulk_load_records
//! [`RecordStore::insert_records`]: super::RecordStore::insert_records

use super::{Dialect, StoreError, StoreResult};
use app::domain::names::name_key;
use app::domain::records::TeachingRecord;
use app::domain::validation::Nino;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Sqlite, SqlitePool};
use std::fmt::Write;
use std::time::Instant;
use tokio::sync::mpsc::Receiver;

/// SQLite's page cache while loading, in KiB (the default is 2 MB), a ceiling rather than an allocation: the whole
/// database stays in memory (1.2 GB at 2,000,000 records). With 256 MB the rows took 70 s at 2,000,000 records
/// (63 s with this) against 6 s at 300,000, which fit in the cache.
const SQLITE_LOAD_CACHE_KIB: i64 = 2 * 1024 * 1024;

/// The secondary indexes of the record tables, as (name, definition): dropped before a load into empty tables.
const SQLITE_INDEXES: &str =
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
     AND tbl_name IN ('persons', 'previous_names', 'qualifications') ORDER BY name";
/// PostgreSQL's, leaving out those of primary keys and unique constraints (the constraint owns them).
const POSTGRES_INDEXES: &str = "SELECT indexname, indexdef FROM pg_indexes \
     WHERE schemaname = current_schema() AND tablename IN ('persons', 'previous_names', 'qualifications') \
     AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname";
/// The record tables' foreign keys and unique constraints, as (table, name, definition), unique ones first so
/// they are added back first. Checked row by row during a `COPY`, each foreign key costs a look-up and a row lock
/// on `persons` per child row, and the unique TRN a random insert into its index: dropped for a load into empty
/// tables and added back after, which checks every row once, in one pass (a rollback keeps them as they were).
const POSTGRES_CONSTRAINTS: &str = "SELECT CAST(conrelid::regclass AS TEXT), CAST(conname AS TEXT), \
     pg_get_constraintdef(oid) FROM pg_constraint \
     WHERE conrelid IN ('persons'::regclass, 'previous_names'::regclass, 'qualifications'::regclass) \
     AND contype IN ('u', 'f') ORDER BY contype DESC, conname";

pub(super) async fn sqlite(
    pool: &SqlitePool,
    mut batches: Receiver<Vec<TeachingRecord>>,
    expected: u64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut conn = pool.acquire().await?.detach();
    sqlx::query(&format!("PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}"))
        .execute(&mut conn)
        .await?;
    let rollback_journal =
        sqlx::query_scalar::<_, bool>("SELECT NOT EXISTS (SELECT 1 FROM persons)")
            .fetch_one(&mut conn)
            .await?
            && leave_wal(&mut conn).await;
    let mut tx = conn.begin().await?;
    let indexes = drop_indexes_if_empty::<Sqlite>(&mut tx, SQLITE_INDEXES).await?;
    let first_id = next_person_id::<Sqlite>(&mut tx).await?;
    let started = Instant::now();
    let mut loaded = 0u64;
    let mut rows = SqliteRows::default();
    while let Some(records) = batches.recv().await {
        rows.clear();
        for (id, r) in (first_id + loaded as i64..).zip(records.iter()) {
            rows.push(id, r)?;
        }
        rows.insert(&mut tx, now).await?;
        loaded += records.len() as u64;
    }
    finish::<Sqlite>(&mut tx, loaded, expected, started, &indexes).await?;
    tx.commit().await?;
    if rollback_journal {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
            .fetch_one(&mut conn)
            .await?;
        if mode != "wal" {
            tracing::warn!(mode, "bulk load: the database could not go back to WAL");
        }
    }
    conn.close().await?;
    Ok(())
}

/// SQLite's rows of one batch, one JSON array per table, each row an array of its columns. Each table takes its
/// batch in one statement with one bound value (`json_each` unpacks it inside SQLite) instead of binding 14 values
/// a row through sqlx (measured: about the same time at 2,000,000 records; the load is bound by SQLite's own
/// inserts on one core, 102% CPU). The values are the text and integers sqlx would bind (dates as
/// `YYYY-MM-DD`, the time bound as sqlx binds it), so the rows are the same as `insert_rows` stores.
#[derive(Default)]
struct SqliteRows {
    persons: Vec<u8>,
    names: Vec<u8>,
    quals: Vec<u8>,
}

impl SqliteRows {
    fn clear(&mut self) {
        self.persons.clear();
        self.names.clear();
        self.quals.clear();
    }

    fn push(&mut self, id: i64, r: &TeachingRecord) -> StoreResult<()> {
        json_row(
            &mut self.persons,
            &(
                id,
                &r.trn,
                &r.first_name,
                &r.middle_name,
                &r.last_name,
                name_key(&r.first_name),
                name_key(&r.last_name),
                date(r.date_of_birth),
                r.nino.as_deref().and_then(Nino::key),
                &r.email,
                r.email.as_deref().map(str::to_lowercase),
                r.status.as_str(),
            ),
        )?;
        for n in &r.previous_names {
            json_row(
                &mut self.names,
                &(
                    id,
                    &n.first_name,
                    &n.middle_name,
                    &n.last_name,
                    name_key(&n.first_name),
                    name_key(&n.last_name),
                    n.valid_until.map(date),
                    date(r.date_of_birth),
                ),
            )?;
        }
        for q in &r.qualifications {
            json_row(
                &mut self.quals,
                &(
                    id,
                    q.kind.as_str(),
                    &q.name,
                    &q.status,
                    q.awarded_on.map(date),
                    &q.provider,
                ),
            )?;
        }
        Ok(())
    }

    async fn insert(
        &mut self,
        conn: &mut sqlx::SqliteConnection,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        for (rows, statement) in [
            (
                &mut self.persons,
                "INSERT INTO persons (id, trn, first_name, middle_name, last_name, first_name_key, \
                 last_name_key, date_of_birth, nino, email, email_key, status, created_at, updated_at) \
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
                 value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, ?2, ?2 \
                 FROM json_each(?1)",
            ),
            (
                &mut self.names,
                "INSERT INTO previous_names (person_id, first_name, middle_name, last_name, first_name_key, \
                 last_name_key, valid_until, date_of_birth) \
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
                 value ->> 6, value ->> 7 FROM json_each(?1)",
            ),
            (
                &mut self.quals,
                "INSERT INTO qualifications (person_id, kind, name, status, awarded_on, provider) \
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 \
                 FROM json_each(?1)",
            ),
        ] {
            if rows.is_empty() {
                continue;
            }
            rows[0] = b'[';
            rows.push(b']');
            let json = std::str::from_utf8(rows).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut query = sqlx::query(statement).bind(json);
            if statement.contains("?2") {
                query = query.bind(now);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Appends `,` and the row as a JSON array (the leading comma of the first row becomes the array's `[`).
fn json_row(out: &mut Vec<u8>, row: &impl serde::Serialize) -> StoreResult<()> {
    out.push(b',');
    serde_json::to_writer(&mut *out, row).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Switches a file database from WAL to a rollback journal for a load into empty tables, if no other
/// connection has it open; says whether it did. In WAL mode every page of the load is written twice (to the log,
/// then checkpointed into the file); a rollback journal keeps only the pages that were there before the load
/// (new pages past the file's old end need no copy), so the pages are written once and a failed or interrupted
/// load still rolls back to the empty tables. A database that cannot switch (in memory, or open elsewhere) loads
/// in WAL mode as before.
async fn leave_wal(conn: &mut sqlx::SqliteConnection) -> bool {
    let current: Result<String, _> = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await;
    if !current.is_ok_and(|mode| mode == "wal") {
        return false;
    }
    // Waiting for a lock held elsewhere would only delay the load: try once.
    let _ = sqlx::query("PRAGMA busy_timeout = 0")
        .execute(&mut *conn)
        .await;
    let switched: Result<String, _> = sqlx::query_scalar("PRAGMA journal_mode = TRUNCATE")
        .fetch_one(&mut *conn)
        .await;
    // As `db::connect` sets it.
    let _ = sqlx::query("PRAGMA busy_timeout = 5000")
        .execute(&mut *conn)
        .await;
    switched.is_ok_and(|mode| mode == "truncate")
}

pub(super) async fn postgres(
    pool: &PgPool,
    mut batches: Receiver<Vec<TeachingRecord>>,
    expected: u64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    // The index builds sort in memory (this transaction only).
    sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut *tx)
        .await?;
    let indexes = drop_indexes_if_empty::<Postgres>(&mut tx, POSTGRES_INDEXES).await?;
    let constraints: Vec<(String, String, String)> = if indexes.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(POSTGRES_CONSTRAINTS)
            .fetch_all(&mut *tx)
            .await?
    };
    // Foreign keys first: the unique constraints may not go while a foreign key relies on their index.
    for (table, name, _) in constraints.iter().rev() {
        sqlx::query(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}"))
            .execute(&mut *tx)
            .await?;
    }
    let first_id = next_person_id::<Postgres>(&mut tx).await?;
    // As sqlx binds a timestamp: to the microsecond, truncated.
    let now = now.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
    let started = Instant::now();
    let (mut persons, mut names, mut quals) = (String::new(), String::new(), String::new());
    let mut loaded = 0u64;
    while let Some(records) = batches.recv().await {
        persons.clear();
        names.clear();
        quals.clear();
        for (id, r) in (first_id + loaded as i64..).zip(records.iter()) {
            copy_row(
                &mut persons,
                &[
                    Some(&id.to_string()),
                    Some(&r.trn),
                    Some(&r.first_name),
                    r.middle_name.as_deref(),
                    Some(&r.last_name),
                    Some(&name_key(&r.first_name)),
                    Some(&name_key(&r.last_name)),
                    Some(&date(r.date_of_birth)),
                    r.nino.as_deref().and_then(Nino::key).as_deref(),
                    r.email.as_deref(),
                    r.email.as_deref().map(str::to_lowercase).as_deref(),
                    Some(r.status.as_str()),
                    Some(&now),
                    Some(&now),
                ],
            );
            for n in &r.previous_names {
                copy_row(
                    &mut names,
                    &[
                        Some(&id.to_string()),
                        Some(&n.first_name),
                        n.middle_name.as_deref(),
                        Some(&n.last_name),
                        Some(&name_key(&n.first_name)),
                        Some(&name_key(&n.last_name)),
                        n.valid_until.map(date).as_deref(),
                        Some(&date(r.date_of_birth)),
                    ],
                );
            }
            for q in &r.qualifications {
                copy_row(
                    &mut quals,
                    &[
                        Some(&id.to_string()),
                        Some(q.kind.as_str()),
                        Some(&q.name),
                        Some(&q.status),
                        q.awarded_on.map(date).as_deref(),
                        q.provider.as_deref(),
                    ],
                );
            }
        }
        copy(
            &mut tx,
            "COPY persons (id, trn, first_name, middle_name, last_name, first_name_key, last_name_key, \
             date_of_birth, nino, email, email_key, status, created_at, updated_at) FROM STDIN",
            &persons,
        )
        .await?;
        copy(
            &mut tx,
            "COPY previous_names (person_id, first_name, middle_name, last_name, first_name_key, \
             last_name_key, valid_until, date_of_birth) FROM STDIN",
            &names,
        )
        .await?;
        copy(
            &mut tx,
            "COPY qualifications (person_id, kind, name, status, awarded_on, provider) FROM STDIN",
            &quals,
        )
        .await?;
        loaded += records.len() as u64;
    }
    finish::<Postgres>(&mut tx, loaded, expected, started, &indexes).await?;
    let checking = Instant::now();
    for (table, name, definition) in &constraints {
        sqlx::query(&format!(
            "ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
        ))
        .execute(&mut *tx)
        .await?;
    }
    tracing::info!(
        constraints_seconds = checking.elapsed().as_secs_f64(),
        constraints = constraints.len(),
        "bulk load: constraints added back"
    );
    tx.commit().await?;
    Ok(())
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// One row of `COPY … FROM STDIN` in text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_row(out: &mut String, fields: &[Option<&str>]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match field {
            None => out.push_str("\\N"),
            Some(text) => {
                for c in text.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

async fn copy(conn: &mut PgConnection, statement: &str, rows: &str) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut copy = conn.copy_in_raw(statement).await?;
    copy.send(rows.as_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// Drops the record tables' secondary indexes if there are no records yet, returning their definitions.
async fn drop_indexes_if_empty<DB: Dialect>(
    conn: &mut DB::Connection,
    list: &str,
) -> StoreResult<Vec<(String, String)>>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Decode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Decode<'q, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let empty: bool = sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM persons)")
        .fetch_one(&mut *conn)
        .await?;
    if !empty {
        return Ok(Vec::new());
    }
    let indexes: Vec<(String, String)> = sqlx::query_as(list).fetch_all(&mut *conn).await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(indexes)
}

async fn next_person_id<DB: Dialect>(conn: &mut DB::Connection) -> StoreResult<i64>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Decode<'q, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM persons")
        .fetch_one(&mut *conn)
        .await?;
    Ok(max.unwrap_or(0) + 1)
}

/// Checks every record came, builds the dropped indexes again and moves the id sequence on.
async fn finish<DB: Dialect>(
    conn: &mut DB::Connection,
    loaded: u64,
    expected: u64,
    started: Instant,
    indexes: &[(String, String)],
) -> StoreResult<()>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    if loaded != expected {
        return Err(StoreError::Corrupt(format!(
            "bulk load: {loaded} records came of {expected}; nothing was kept"
        )));
    }
    let rows_seconds = started.elapsed().as_secs_f64();
    let indexing = Instant::now();
    for (_, definition) in indexes {
        sqlx::query(definition).execute(&mut *conn).await?;
    }
    for statement in DB::AFTER_BULK_INSERT {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    let mut built = String::new();
    for (name, _) in indexes {
        let _ = write!(built, "{name} ");
    }
    tracing::info!(
        records = loaded,
        rows_seconds,
        index_seconds = indexing.elapsed().as_secs_f64(),
        indexes_built = built.trim_end(),
        "bulk load"
    );
    Ok(())
}
