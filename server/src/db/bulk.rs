//! Loading millions of synthetic records (`server seed`, `bench-matching`): [`RecordStore::bulk_load_records`].
//!
//! Both backends load in one transaction, so a failure leaves the tables as they were, indexes included. Into empty
//! tables the secondary indexes of the record tables are dropped first and built again at the end: building an
//! index from sorted rows once is far cheaper than keeping it up to date through millions of random inserts. The
//! indexes are read from the catalogue, so one added by a later migration is kept too. With rows already there,
//! the indexes stay and the rows go in around them.
//!
//! SQLite takes the same multi-row statements as [`RecordStore::insert_records`], on a connection of its own with
//! a large page cache (closed afterwards, so the setting never serves a request). PostgreSQL takes `COPY`, with
//! the same derived columns (name keys, the NINO's key, the lower-case email) worked out by the same functions.
//!
//! [`RecordStore::bulk_load_records`]: super::RecordStore::bulk_load_records
//! [`RecordStore::insert_records`]: super::RecordStore::insert_records

use super::records::insert_rows;
use super::{Dialect, StoreError, StoreResult};
use app::domain::names::name_key;
use app::domain::records::TeachingRecord;
use app::domain::validation::Nino;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Sqlite, SqlitePool};
use std::fmt::Write;
use std::time::Instant;
use tokio::sync::mpsc::Receiver;

/// SQLite's page cache while loading, in KiB (the default is 2 MB): the tables and the index builds' sorts stay
/// in memory.
const SQLITE_LOAD_CACHE_KIB: i64 = 256 * 1024;

/// The secondary indexes of the record tables, as (name, definition): dropped before a load into empty tables.
const SQLITE_INDEXES: &str =
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
     AND tbl_name IN ('persons', 'previous_names', 'qualifications') ORDER BY name";
/// PostgreSQL's, leaving out those of primary keys and unique constraints (the constraint owns them).
const POSTGRES_INDEXES: &str = "SELECT indexname, indexdef FROM pg_indexes \
     WHERE schemaname = current_schema() AND tablename IN ('persons', 'previous_names', 'qualifications') \
     AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname";

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
    let mut tx = conn.begin().await?;
    let indexes = drop_indexes_if_empty::<Sqlite>(&mut tx, SQLITE_INDEXES).await?;
    let first_id = next_person_id::<Sqlite>(&mut tx).await?;
    let started = Instant::now();
    let mut loaded = 0u64;
    while let Some(records) = batches.recv().await {
        let with_ids: Vec<(i64, &TeachingRecord)> =
            (first_id + loaded as i64..).zip(records.iter()).collect();
        insert_rows::<Sqlite>(&mut tx, &with_ids, now).await?;
        loaded += records.len() as u64;
    }
    finish::<Sqlite>(&mut tx, loaded, expected, started, &indexes).await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(())
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
             last_name_key, valid_until) FROM STDIN",
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
