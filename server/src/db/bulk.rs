//! Loading millions of synthetic records (`server seed`, `bench-matching`): [`RecordStore::bulk_load_records`].
//!
//! Both backends load in one transaction, so a failure leaves the tables as they were, indexes included. Into empty
//! tables the secondary indexes of the record tables are dropped first and built again at the end: building an
//! index from sorted rows once is far cheaper than keeping it up to date through millions of random inserts. The
//! indexes are read from the catalogue, so one added by a later migration is kept too. With rows already there,
//! the indexes stay and the rows go in around them.
//!
//! SQLite takes multi-row `INSERT … VALUES` statements, prepared once, whose values are bound on a thread of
//! their own while SQLite's inserts the batch before, on a connection of its own with a large page cache and,
//! into an empty file, a rollback journal instead of WAL (closed afterwards, so neither setting ever serves a
//! request). PostgreSQL takes `COPY`, with the foreign keys and the unique TRN dropped for
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
use sqlx::sqlite::SqliteArguments;
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
            && leave_wal(pool, &mut conn).await;
    let mut tx = conn.begin().await?;
    let indexes = drop_indexes_if_empty::<Sqlite>(&mut tx, SQLITE_INDEXES).await?;
    let first_id = next_person_id::<Sqlite>(&mut tx).await?;
    let statements = SqliteStatements::new();
    let started = Instant::now();
    let mut loaded = 0u64;
    // The values are bound on a thread of their own (the second core), so SQLite's thread only inserts.
    let (send, mut built) = tokio::sync::mpsc::channel::<StoreResult<SqliteBatch>>(2);
    let building = tokio::task::spawn_blocking(move || {
        let mut next_id = first_id;
        while let Some(records) = batches.blocking_recv() {
            let count = records.len() as i64;
            let batch = SqliteBatch::new(next_id, records, now);
            next_id += count;
            if send.blocking_send(batch).is_err() {
                return; // the load stopped on an error
            }
        }
    });
    while let Some(batch) = built.recv().await {
        let batch = batch?;
        loaded += batch.records;
        batch.insert(&mut tx, &statements).await?;
    }
    let _ = building.await;
    finish::<Sqlite>(&mut tx, loaded, expected, started, &indexes).await?;
    let committing = Instant::now();
    tx.commit().await?;
    let commit_seconds = committing.elapsed().as_secs_f64();
    if rollback_journal {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
            .fetch_one(&mut conn)
            .await?;
        if mode != "wal" {
            tracing::warn!(mode, "bulk load: the database could not go back to WAL");
        }
    }
    conn.close().await?;
    tracing::info!(commit_seconds, rollback_journal, "bulk load: committed");
    Ok(())
}

/// Rows per `INSERT` statement at most (a power of two): 7,168 bound values for `persons` (14 a row), under
/// SQLite's limit of 32,766. A batch's last rows go in statements of 256, 128, … 1 rows, so ten statements a
/// table, prepared once and kept by sqlx, cover every count. Binding values this way replaced one JSON array per
/// table unpacked by `json_each`: SQLite spent a quarter of its time turning each row's array back into JSON
/// text and parsing it again (rows 43.4 → 30 s at 2,000,000 records).
const SQLITE_ROWS_PER_STATEMENT: usize = 512;

/// The three tables' columns, in the order [`SqliteBatch::new`] binds them.
const SQLITE_TABLES: [(&str, &str, usize); 3] = [
    (
        "persons",
        "id, trn, first_name, middle_name, last_name, first_name_key, last_name_key, date_of_birth, nino, email, \
         email_key, status, created_at, updated_at",
        14,
    ),
    (
        "previous_names",
        "person_id, first_name, middle_name, last_name, first_name_key, last_name_key, valid_until, date_of_birth",
        8,
    ),
    (
        "qualifications",
        "person_id, kind, name, status, awarded_on, provider",
        6,
    ),
];

/// `INSERT … VALUES (?, …), …` for each table and each statement size (512, 256, … 1 rows: index `log2(rows)`).
struct SqliteStatements([Vec<String>; 3]);

impl SqliteStatements {
    fn new() -> Self {
        Self(SQLITE_TABLES.map(|(table, columns, values)| {
            let row = format!("({})", vec!["?"; values].join(", "));
            (0..=SQLITE_ROWS_PER_STATEMENT.trailing_zeros())
                .map(|bit| {
                    let rows = vec![row.as_str(); 1 << bit].join(", ");
                    format!("INSERT INTO {table} ({columns}) VALUES {rows}")
                })
                .collect()
        }))
    }

    fn get(&self, table: usize, rows: usize) -> &str {
        &self.0[table][rows.trailing_zeros() as usize]
    }
}

/// One batch of records as SQLite's bound values: for each table, its statements as (rows, values). The values
/// are what [`super::records::insert_rows`] binds (the same types, so sqlx encodes them the same way: dates as
/// `YYYY-MM-DD`, the time as sqlx writes it), so the rows are the same. Binding takes the records' strings
/// instead of copying them.
struct SqliteBatch {
    records: u64,
    tables: [Vec<(usize, SqliteArguments<'static>)>; 3],
}

impl SqliteBatch {
    fn new(first_id: i64, records: Vec<TeachingRecord>, now: DateTime<Utc>) -> StoreResult<Self> {
        let names = records.iter().map(|r| r.previous_names.len()).sum();
        let quals = records.iter().map(|r| r.qualifications.len()).sum();
        let mut tables = [
            Statements::new(records.len()),
            Statements::new(names),
            Statements::new(quals),
        ];
        let count = records.len() as u64;
        for (id, r) in (first_id..).zip(records) {
            let born = r.date_of_birth;
            let persons = &mut tables[0];
            let (first_key, last_key) = (name_key(&r.first_name), name_key(&r.last_name));
            let email_key = r.email.as_deref().map(str::to_lowercase);
            persons.bind(id)?;
            persons.bind(r.trn)?;
            persons.bind(r.first_name)?;
            persons.bind(r.middle_name)?;
            persons.bind(r.last_name)?;
            persons.bind(first_key)?;
            persons.bind(last_key)?;
            persons.bind(born)?;
            persons.bind(r.nino.as_deref().and_then(Nino::key))?;
            persons.bind(r.email)?;
            persons.bind(email_key)?;
            persons.bind(r.status.as_str())?;
            persons.bind(now)?;
            persons.bind(now)?;
            persons.row_done();
            for n in r.previous_names {
                let names = &mut tables[1];
                let (first_key, last_key) = (name_key(&n.first_name), name_key(&n.last_name));
                names.bind(id)?;
                names.bind(n.first_name)?;
                names.bind(n.middle_name)?;
                names.bind(n.last_name)?;
                names.bind(first_key)?;
                names.bind(last_key)?;
                names.bind(n.valid_until)?;
                names.bind(born)?;
                names.row_done();
            }
            for q in r.qualifications {
                let quals = &mut tables[2];
                quals.bind(id)?;
                quals.bind(q.kind.as_str())?;
                quals.bind(q.name)?;
                quals.bind(q.status)?;
                quals.bind(q.awarded_on)?;
                quals.bind(q.provider)?;
                quals.row_done();
            }
        }
        Ok(Self {
            records: count,
            tables: tables.map(|t| t.done),
        })
    }

    async fn insert(
        self,
        conn: &mut sqlx::SqliteConnection,
        statements: &SqliteStatements,
    ) -> StoreResult<()> {
        for (table, chunks) in self.tables.into_iter().enumerate() {
            for (rows, values) in chunks {
                sqlx::query_with(statements.get(table, rows), values)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(())
    }
}

/// One table's values of a batch, cut into statements of [`SqliteStatements`]' sizes.
struct Statements {
    /// The sizes of the statements still to fill, in order.
    sizes: std::vec::IntoIter<usize>,
    size: usize,
    rows: usize,
    values: SqliteArguments<'static>,
    done: Vec<(usize, SqliteArguments<'static>)>,
}

impl Statements {
    fn new(rows: usize) -> Self {
        let full = rows / SQLITE_ROWS_PER_STATEMENT;
        let rest = rows % SQLITE_ROWS_PER_STATEMENT;
        let mut sizes: Vec<usize> = vec![SQLITE_ROWS_PER_STATEMENT; full];
        sizes.extend(
            (0..SQLITE_ROWS_PER_STATEMENT.trailing_zeros())
                .rev()
                .map(|bit| 1 << bit)
                .filter(|size| rest & size != 0),
        );
        let mut sizes = sizes.into_iter();
        Self {
            size: sizes.next().unwrap_or(0),
            sizes,
            rows: 0,
            values: SqliteArguments::default(),
            done: Vec::new(),
        }
    }

    fn bind<T: sqlx::Encode<'static, Sqlite> + sqlx::Type<Sqlite> + 'static>(
        &mut self,
        value: T,
    ) -> StoreResult<()> {
        sqlx::Arguments::add(&mut self.values, value)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    fn row_done(&mut self) {
        self.rows += 1;
        if self.rows == self.size {
            self.done
                .push((self.size, std::mem::take(&mut self.values)));
            self.rows = 0;
            self.size = self.sizes.next().unwrap_or(0);
        }
    }
}

/// Switches a file database from WAL to a rollback journal for a load into empty tables, if no other
/// connection has it open; says whether it did. In WAL mode every page of the load is written twice (to the log,
/// then checkpointed into the file); a rollback journal keeps only the pages that were there before the load
/// (new pages past the file's old end need no copy), so the pages are written once and a failed or interrupted
/// load still rolls back to the empty tables. A database that cannot switch (in memory, or open elsewhere) loads
/// in WAL mode as before.
async fn leave_wal(pool: &SqlitePool, conn: &mut sqlx::SqliteConnection) -> bool {
    let current: Result<String, _> = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await;
    if !current.is_ok_and(|mode| mode == "wal") {
        return false;
    }
    // A file leaves WAL only when no other connection has it open, and the pool may hold one: the connection
    // `server seed` counted the records on is returned to the pool after a moment, so the load's `acquire`
    // often opened a second one, and half the loads (measured) ran in WAL. Close the pool's own (the load's
    // is detached); one in use elsewhere is waited for at most a second, then the load goes ahead in WAL.
    let waiting = Instant::now();
    while pool.size() > 0 && waiting.elapsed() < std::time::Duration::from_secs(1) {
        match pool.try_acquire() {
            Some(idle) => {
                let _ = idle.close().await;
            }
            None => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
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
