//! Storage. The traits say what the service needs; [`SqlStore`] implements each of them once, generic over the
//! backend: [`SqliteStore`] and [`PgStore`] are the same code with the same SQL, a portable subset with `$N`
//! placeholders, so the two cannot drift. The backend is chosen from the URL scheme at start-up, and the same
//! contract tests run against both.
//!
//! What differs between the backends is named in one place, the [`Dialect`] trait: the prefix and column of a
//! query plan, `FOR UPDATE SKIP LOCKED`, the support reference counter, the lock a role change takes, moving the
//! id sequence after a bulk insert, refreshing statistics, and how a [`QueryBuilder`] is run.
//!
//! Why generic over `DB: sqlx::Database`, not `sqlx::Any` or macros: `Any` converts every value through its own
//! types at run time; macros (as this was) are never formatted by rustfmt and passed the differences as unnamed
//! arguments. The price is a `where` clause on each generic impl, the same one everywhere (records add dates that
//! may be missing): it lists the column types sqlx must be able to bind and read on the backend, and Rust does not
//! carry a trait's `where` clauses to its users, so it cannot be said once on [`Dialect`].

pub mod account_records;
pub mod accounts;
pub mod api;
pub mod audit;
mod batch;
mod bulk;
mod checkpoint;
pub mod client_admin;
mod coalesce;
pub mod connect;
pub mod feedback;
pub mod generated;
pub mod group_commit;
mod held;
pub mod metrics;
pub mod outbox;
pub mod proofs;
pub mod provider;
pub mod records;
pub mod sessions;
pub mod staff;
pub mod support;
pub mod task_pages;
pub mod tasks;
pub mod users;

pub use account_records::AccountRecordStore;
pub use accounts::AccountStore;
pub use api::ApiStore;
pub use audit::AuditStore;
pub use client_admin::ClientAdminStore;
pub use connect::ConnectStore;
pub use feedback::FeedbackStore;
pub use generated::BenchStore;
pub use metrics::MetricsStore;
pub use outbox::OutboxStore;
pub use proofs::ProofStore;
pub use provider::ProviderStore;
pub use records::RecordStore;
pub use sessions::SessionStore;
pub use staff::StaffStore;
pub use tasks::TaskStore;
pub use users::UserStore;

use async_trait::async_trait;
use futures::future::BoxFuture;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Postgres, QueryBuilder, Row, Sqlite};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Errors from storage. The service shows none of this text: it logs it and shows the GOV.UK error page.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached (down, restarting, pool exhausted). Worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value that our types refuse, e.g. an unknown status.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// One failure given to several callers: a batch they were in together failed ([`group_commit`],
    /// [`coalesce`]).
    #[error(transparent)]
    Shared(Arc<StoreError>),
}

impl StoreError {
    /// Whether the database could not be reached, however many callers share the failure.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Shared(inner) => inner.is_unavailable(),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => Self::Unavailable(e),
            _ => Self::Database(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Reads a JSON column; what our types refuse is [`StoreError::Corrupt`], naming `what`.
fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Everything the service stores.
#[async_trait]
pub trait Store:
    RecordStore
    + SessionStore
    + FeedbackStore
    + UserStore
    + ConnectStore
    + StaffStore
    + TaskStore
    + AuditStore
    + OutboxStore
    + BenchStore
    + ProofStore
    + ProviderStore
    + ApiStore
    + ClientAdminStore
    + MetricsStore
    + AccountStore
    + AccountRecordStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;
    /// A round trip to the database, for `/ready`.
    async fn ping(&self) -> StoreResult<()>;
    /// Keeps the query planner's statistics fresh. SQLite keeps none by itself, and without them it plans the
    /// dashboard's queries badly once tables are large (connections read them when they open, and the pool
    /// replaces its connections every 30 minutes).
    async fn refresh_statistics(&self) -> StoreResult<()>;
}

pub type DynStore = Arc<dyn Store>;

/// The service's storage on one SQL backend: every store trait is implemented once, generic over the backend's
/// [`Dialect`].
pub struct SqlStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    /// Where the lookups by key that a teacher's pages make on every request run: the session by its id, the
    /// teacher's standing by user id and their record's parts by person id. On PostgreSQL a pool of its own,
    /// whose connections let PostgreSQL keep a generic plan for these statements: the main pool plans every
    /// statement for its values (see [`connect`]), which made planning three quarters of the session lookup's
    /// cost (pgbench, prepared: 25,100 tps planned each time, 106,700 with a generic plan). On SQLite the same
    /// pool. A few of its connections are held out of it ([`held`]), so these lookups skip the pool's ping on
    /// every release.
    lookups: held::Held<DB>,
    /// Sessions by key, looked up for many requests in one query ([`coalesce`]), on `lookups`.
    sessions: coalesce::Coalesced<String, sessions::StoredSession>,
    /// Task pages' versions by reference, looked up the same way ([`task_pages`]).
    task_page_versions: coalesce::Coalesced<String, task_pages::TaskPageVersion>,
    /// Audit entries written on their own (views, sign-ins) go through one writer that commits everything
    /// waiting at once ([`group_commit`]).
    audits: group_commit::GroupCommit<audit::NewAuditEntry>,
    /// The provider's and the API's audit rows, one written per request, go the same way.
    provider_events: group_commit::GroupCommit<provider::ProviderRow>,
    api_calls: api::ApiWriter,
    /// The provider's clients by id, looked up for many requests in one query ([`coalesce`]), on `lookups`.
    clients: coalesce::Coalesced<String, app::domain::provider::Client>,
    /// userinfo's reads by access token, the same way.
    userinfo: coalesce::Coalesced<String, provider::UserinfoSource>,
    /// The token endpoint's one write, shared by the token requests waiting at the same moment.
    redeemer: batch::Batched<provider::Redemption, provider::Redeemed>,
    /// API clients by their key's hash, and records' status by TRN, for the API's calls ([`coalesce`]).
    api_keys: coalesce::Coalesced<String, api::ApiClient>,
    trn_statuses: coalesce::Coalesced<String, String>,
    /// SQLite's WAL checkpoints, off the commit path ([`checkpoint`]); none for PostgreSQL and in-memory SQLite.
    checkpoints: Option<checkpoint::Checkpointer>,
}

impl<DB: sqlx::Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            lookups: self.lookups.clone(),
            sessions: self.sessions.clone(),
            task_page_versions: self.task_page_versions.clone(),
            audits: self.audits.clone(),
            provider_events: self.provider_events.clone(),
            api_calls: self.api_calls.clone(),
            clients: self.clients.clone(),
            userinfo: self.userinfo.clone(),
            redeemer: self.redeemer.clone(),
            api_keys: self.api_keys.clone(),
            trn_statuses: self.trn_statuses.clone(),
            checkpoints: self.checkpoints.clone(),
        }
    }
}

/// SQLite, the default: one file, no server.
pub type SqliteStore = SqlStore<Sqlite>;

/// PostgreSQL, for running many instances.
pub type PgStore = SqlStore<Postgres>;

/// What differs between the two backends. The SQL is otherwise the same: a portable subset, with `$N`
/// placeholders (SQLite accepts them too), `ON CONFLICT … DO …` and `RETURNING` (both have them), timestamps bound
/// from Rust (never the database's `now()`), and searches on keys normalised in Rust (no `ILIKE`).
pub trait Dialect: sqlx::Database<QueryResult: RowsAffected> {
    /// Put before a query to have its plan back instead of its rows …
    const EXPLAIN: &'static str;
    /// … and the column of each row of the plan that describes a step.
    const PLAN_COLUMN: &'static str;
    /// Ends the outbox's claim of due emails, so that two senders never claim the same row (SQLite needs none:
    /// its writers take turns).
    const SKIP_LOCKED: &'static str;
    /// Run after a bulk insert of records in the same transaction: PostgreSQL's sequence must be moved past the
    /// ids given (SQLite's rowid follows by itself).
    const AFTER_BULK_INSERT: &'static [&'static str];
    /// Moves the support reference counter on and reads the number it was at.
    const NEXT_REFERENCE: &'static str;
    /// Run first in a role change's transaction, so that two administrators removing each other at once go one
    /// after the other and the second sees the first's change.
    const LOCK_ADMINISTRATORS: &'static str;
    /// Refreshes the query planner's statistics (see [`Store::refresh_statistics`]).
    const REFRESH_STATISTICS: &'static str;
    /// Compares a column with every element of the JSON array of texts bound as `$1`: one statement for any
    /// number of values.
    const IN_JSON_ARRAY: &'static str;
    /// Begins the read-only transaction of a candidate search ([`connect::ConnectStore::find_candidates`]).
    const BEGIN_CANDIDATE_SEARCH: &'static str;
    const BACKEND: Backend;

    /// Runs a [`QueryBuilder`]'s query for its rows. These four are written for each backend because generic
    /// code cannot borrow a `QueryBuilder<'args, DB>` to run it: its arguments' type is a projection, so the
    /// borrow would have to outlive the builder (with a concrete backend the compiler sees they may dangle).
    fn fetch_all_built<'q: 'e, 'e, T>(
        q: QueryBuilder<'q, Self>,
        pool: &'e Pool<Self>,
    ) -> BoxFuture<'e, sqlx::Result<Vec<T>>>
    where
        T: for<'r> sqlx::FromRow<'r, Self::Row> + Send + Unpin + 'e;
    /// [`Dialect::fetch_all_built`] on one connection (in a transaction).
    fn fetch_all_built_on<'q: 'e, 'e, T>(
        q: QueryBuilder<'q, Self>,
        conn: &'e mut Self::Connection,
    ) -> BoxFuture<'e, sqlx::Result<Vec<T>>>
    where
        T: for<'r> sqlx::FromRow<'r, Self::Row> + Send + Unpin + 'e;
    /// Runs a [`QueryBuilder`]'s query, which starts with [`Dialect::EXPLAIN`], for its plan: one line per step.
    fn plan_of_built<'q: 'e, 'e>(
        q: QueryBuilder<'q, Self>,
        pool: &'e Pool<Self>,
    ) -> BoxFuture<'e, sqlx::Result<Vec<String>>>;
    /// Runs a [`QueryBuilder`]'s statement on a connection (in a transaction).
    fn execute_built<'q: 'e, 'e>(
        q: QueryBuilder<'q, Self>,
        conn: &'e mut Self::Connection,
    ) -> BoxFuture<'e, sqlx::Result<()>>;
    /// [`RecordStore::bulk_load_records`]: multi-row inserts on SQLite, `COPY` on PostgreSQL ([`bulk`]).
    fn bulk_load_records(
        pool: &Pool<Self>,
        batches: tokio::sync::mpsc::Receiver<Vec<app::domain::records::TeachingRecord>>,
        expected: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'_, StoreResult<()>>;
}

/// How many rows a statement changed: each backend's result has it, but sqlx names it in no trait.
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

impl Dialect for Sqlite {
    const EXPLAIN: &'static str = "EXPLAIN QUERY PLAN ";
    const PLAN_COLUMN: &'static str = "detail";
    const SKIP_LOCKED: &'static str = "";
    const AFTER_BULK_INSERT: &'static [&'static str] = &[];
    /// One row, moved on and read in one statement.
    const NEXT_REFERENCE: &'static str =
        "UPDATE support_reference_counter SET next = next + 1 RETURNING next - 1";
    /// Any write takes SQLite's write lock at once, so the transactions run one at a time.
    const LOCK_ADMINISTRATORS: &'static str =
        "UPDATE staff SET role = role WHERE role = 'administrator'";
    /// 0x10002: analyse every table whose statistics are missing or stale, however many there are.
    const REFRESH_STATISTICS: &'static str = "PRAGMA optimize=0x10002";
    const IN_JSON_ARRAY: &'static str = "IN (SELECT value FROM json_each($1))";
    const BEGIN_CANDIDATE_SEARCH: &'static str = "BEGIN";
    const BACKEND: Backend = Backend::Sqlite;

    fn fetch_all_built<'q: 'e, 'e, T>(
        mut q: QueryBuilder<'q, Self>,
        pool: &'e Pool<Self>,
    ) -> BoxFuture<'e, sqlx::Result<Vec<T>>>
    where
        T: for<'r> sqlx::FromRow<'r, Self::Row> + Send + Unpin + 'e,
    {
        Box::pin(async move { q.build_query_as().fetch_all(pool).await })
    }
    fn fetch_all_built_on<'q: 'e, 'e, T>(
        mut q: QueryBuilder<'q, Self>,
        conn: &'e mut Self::Connection,
    ) -> BoxFuture<'e, sqlx::Result<Vec<T>>>
    where
        T: for<'r> sqlx::FromRow<'r, Self::Row> + Send + Unpin + 'e,
    {
        Box::pin(async move { q.build_query_as().fetch_all(conn).await })
    }
    fn plan_of_built<'q: 'e, 'e>(
        mut q: QueryBuilder<'q, Self>,
        pool: &'e Pool<Self>,
    ) -> BoxFuture<'e, sqlx::Result<Vec<String>>> {
        Box::pin(async move {
            let rows = q.build().fetch_all(pool).await?;
            rows.iter()
                .map(|row| row.try_get(Self::PLAN_COLUMN))
                .collect()
        })
    }
    fn execute_built<'q: 'e, 'e>(
        mut q: QueryBuilder<'q, Self>,
        conn: &'e mut Self::Connection,
    ) -> BoxFuture<'e, sqlx::Result<()>> {
        Box::pin(async move { q.build().execute(conn).await.map(|_| ()) })
    }
    fn bulk_load_records(
        pool: &Pool<Self>,
        batches: tokio::sync::mpsc::Receiver<Vec<app::domain::records::TeachingRecord>>,
        expected: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(bulk::sqlite(pool, batches, expected, now))
    }
}

impl Dialect for Postgres {
    const EXPLAIN: &'static str = "EXPLAIN ";
    const PLAN_COLUMN: &'static str = "QUERY PLAN";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const AFTER_BULK_INSERT: &'static [&'static str] = &[
        "SELECT setval(pg_get_serial_sequence('persons', 'id'), (SELECT COALESCE(MAX(id), 1) FROM persons))",
    ];
    /// A sequence: never handed out twice, even when rolled back.
    const NEXT_REFERENCE: &'static str = "SELECT nextval('support_reference_counter')";
    /// Every administrator's row, in id order so two transactions cannot deadlock. A transaction that waited sees
    /// the rows as the other left them: one no longer an administrator is not locked or counted.
    const LOCK_ADMINISTRATORS: &'static str =
        "SELECT id FROM staff WHERE role = 'administrator' ORDER BY id FOR UPDATE";
    /// Autovacuum would get there; this makes it now (it samples, so it is quick even on large tables).
    const REFRESH_STATISTICS: &'static str = "ANALYZE";
    /// An array scan of the primary key, whatever number of keys the plan was made for.
    const IN_JSON_ARRAY: &'static str = "= ANY(ARRAY(SELECT json_array_elements_text($1::json)))";
    /// The service plans each statement for its values (see [`connect`]); the candidate search is the exception.
    /// Its values are all alike to the planner (a date of birth picks ~120 rows whichever it is, and the names,
    /// NINO, TRN and email are filters on those), so planning it again on every run only costs time: about 0.6 ms
    /// of each of its queries, as long as running them (2M records). Sent as one message, so no round trip more.
    const BEGIN_CANDIDATE_SEARCH: &'static str =
        "BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan";
    const BACKEND: Backend = Backend::Postgres;

    fn fetch_all_built<'q: 'e, 'e, T>(
        mut q: QueryBuilder<'q, Self>,
        pool: &'e Pool<Self>,
    ) -> BoxFuture<'e, sqlx::Result<Vec<T>>>
    where
        T: for<'r> sqlx::FromRow<'r, Self::Row> + Send + Unpin + 'e,
    {
        Box::pin(async move { q.build_query_as().fetch_all(pool).await })
    }
    fn fetch_all_built_on<'q: 'e, 'e, T>(
        mut q: QueryBuilder<'q, Self>,
        conn: &'e mut Self::Connection,
    ) -> BoxFuture<'e, sqlx::Result<Vec<T>>>
    where
        T: for<'r> sqlx::FromRow<'r, Self::Row> + Send + Unpin + 'e,
    {
        Box::pin(async move { q.build_query_as().fetch_all(conn).await })
    }
    fn plan_of_built<'q: 'e, 'e>(
        mut q: QueryBuilder<'q, Self>,
        pool: &'e Pool<Self>,
    ) -> BoxFuture<'e, sqlx::Result<Vec<String>>> {
        Box::pin(async move {
            let rows = q.build().fetch_all(pool).await?;
            rows.iter()
                .map(|row| row.try_get(Self::PLAN_COLUMN))
                .collect()
        })
    }
    fn execute_built<'q: 'e, 'e>(
        mut q: QueryBuilder<'q, Self>,
        conn: &'e mut Self::Connection,
    ) -> BoxFuture<'e, sqlx::Result<()>> {
        Box::pin(async move { q.build().execute(conn).await.map(|_| ()) })
    }
    fn bulk_load_records(
        pool: &Pool<Self>,
        batches: tokio::sync::mpsc::Receiver<Vec<app::domain::records::TeachingRecord>>,
        expected: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(bulk::postgres(pool, batches, expected, now))
    }
}

/// How long a request waits for a database connection before the service says it is unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A connection idle for this long is checked (a ping) before it is handed out again.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// The pools' check before handing out a connection: only one that has been idle for [`IDLE_BEFORE_PING`] or
/// more is pinged. sqlx's own check (`test_before_acquire`) pings before every query, and sqlx also pings every
/// connection given back: three round trips (for SQLite three hops to its worker thread) where one does the work,
/// which was most of a teacher's page (issue 16 §1). A connection in steady use was checked on its last return
/// (a broken one is closed there), so a query can meet a broken connection only after the database went away in
/// the last second: that query fails as any query does while the database is away, and the connection is closed
/// when it is given back.
fn ping_if_idle<DB: sqlx::Database>(
    conn: &mut DB::Connection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if meta.idle_for >= IDLE_BEFORE_PING {
            sqlx::Connection::ping(conn).await?;
        }
        Ok(true)
    })
}

/// How many of a pool's connections are held out of it ([`held`]) by the lookups and by the token endpoint's writer
/// when both take from the same pool: `(lookups, writers)`. Together at most half the pool, so the rest is always
/// there for everything else: a held connection is kept for half an hour, and a pool of one or two
/// (`DATABASE_MAX_CONNECTIONS`) all held would leave every other query waiting until it timed out. The writer
/// comes first (one batch in flight is what a token request waits for); the lookups take up to four of what is
/// left, enough for the lookups two cores run at once. On PostgreSQL the two take from different pools: each
/// gets its own half ([`held_in_own_pools`]).
fn held_in_one_pool(max_connections: u32, writers: usize) -> (usize, usize) {
    let half = max_connections as usize / 2;
    let writers = writers.min(half);
    ((half - writers).min(4), writers)
}

/// [`held_in_one_pool`] when the lookups and the writer hold connections of two pools of `max_connections` each.
fn held_in_own_pools(max_connections: u32, writers: usize) -> (usize, usize) {
    (
        held_in_one_pool(max_connections, 0).0,
        held_in_one_pool(max_connections, writers).1,
    )
}

/// How many connections a group-commit writer ([`group_commit::insert_writer`]) holds from a pool of which `held`
/// are held already: one if half the pool is still free after it, none (it uses the pool's) otherwise.
fn held_group_writer(max_connections: u32, held: usize) -> usize {
    usize::from(held < max_connections as usize / 2)
}

/// Opens the database named by `url`, creating a SQLite file (and its folder) if needed, and runs migrations.
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<DynStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // Plan each statement for its own values: the dashboard's searches and filters are so uneven (a rare name,
        // a common one, everyone's tasks or one person's) that a generic plan, which PostgreSQL switches prepared
        // statements to after five runs, can be a thousand times slower.
        let plain = sqlx::postgres::PgConnectOptions::from_str(url)?;
        let options = plain
            .clone()
            .options([("plan_cache_mode", "force_custom_plan")]);
        let pool_options = || {
            PgPoolOptions::new()
                .max_connections(max_connections)
                .test_before_acquire(false)
                .before_acquire(ping_if_idle::<Postgres>)
                .acquire_timeout(ACQUIRE_TIMEOUT)
        };
        let pool = pool_options().connect_with(options).await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        // Opened as pages are read, so start-up still fails fast on the main pool alone.
        let generic = pool_options().connect_lazy_with(plain);
        let (held_lookups, held_writers) = held_in_own_pools(
            max_connections,
            <Postgres as provider::RedeemBatch>::BATCHES_IN_FLIGHT,
        );
        let lookups = held::Held::new(generic.clone(), held_lookups);
        Ok(Arc::new(PgStore {
            // The provider's and the API's writers insert rows with foreign keys, whose checks PostgreSQL plans
            // again for every row on a connection that plans each statement for its values (most of what such an
            // insert cost, `docs/performance.md`): they write on the pool that keeps plans.
            provider_events: PgStore::provider_event_writer(&generic),
            api_calls: PgStore::api_call_writer(&generic),
            // The audit log's writer likewise: its rows' foreign key to `staff` was planned again for every row, most
            // of what a view of a staff task page cost PostgreSQL (issue 16 §1).
            audits: PgStore::audit_writer(held::Held::new(
                generic.clone(),
                held_group_writer(max_connections, held_lookups),
            )),
            sessions: PgStore::session_lookups(&lookups),
            task_page_versions: PgStore::task_page_lookups(&lookups),
            clients: PgStore::client_lookups(&lookups),
            userinfo: PgStore::userinfo_lookups(&lookups),
            redeemer: PgStore::code_redeemer(held::Held::new(pool.clone(), held_writers), None),
            api_keys: PgStore::api_key_lookups(&lookups),
            trn_statuses: PgStore::trn_status_lookups(&lookups),
            checkpoints: None,
            pool,
            lookups,
        }))
    } else {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let options = if in_memory {
            options
        } else {
            if let Some(parent) = std::path::Path::new(options.get_filename()).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| StoreError::Unavailable(sqlx::Error::Io(e)))?;
                }
            }
            options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                // Checkpoints are the checkpointer's ([`checkpoint`]), not the commits'.
                .pragma("wal_autocheckpoint", checkpoint::BACKSTOP_PAGES.to_string())
        };
        // An in-memory database lives as long as its one connection, so that connection must never close.
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(max_connections)
        };
        let pool = pool_options
            .test_before_acquire(false)
            .before_acquire(ping_if_idle::<Sqlite>)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        // An in-memory database has one connection, which must stay free for everything else.
        let (held_lookups, held_writers) = if in_memory {
            (0, 0)
        } else {
            held_in_one_pool(
                max_connections,
                <Sqlite as provider::RedeemBatch>::BATCHES_IN_FLIGHT,
            )
        };
        let lookups = held::Held::new(pool.clone(), held_lookups);
        let checkpoints = (!in_memory).then(|| checkpoint::spawn(pool.clone()));
        Ok(Arc::new(SqliteStore {
            audits: SqliteStore::audit_writer(held::Held::new(
                pool.clone(),
                if in_memory {
                    0
                } else {
                    held_group_writer(max_connections, held_lookups + held_writers)
                },
            )),
            provider_events: SqliteStore::provider_event_writer(&pool),
            api_calls: SqliteStore::api_call_writer(&pool),
            sessions: SqliteStore::session_lookups(&lookups),
            task_page_versions: SqliteStore::task_page_lookups(&lookups),
            clients: SqliteStore::client_lookups(&lookups),
            userinfo: SqliteStore::userinfo_lookups(&lookups),
            // The WAL's restarts run between two of its batches ([`checkpoint::Handoff`]), on the connection it
            // holds. Not when it holds none (a pool of one): it would ask the pool for a connection while the
            // checkpoint task, waiting for the restart to be run, holds the pool's last.
            redeemer: SqliteStore::code_redeemer(
                held::Held::new(pool.clone(), held_writers),
                checkpoints
                    .as_ref()
                    .filter(|_| held_writers > 0)
                    .map(checkpoint::Checkpointer::handoff),
            ),
            api_keys: SqliteStore::api_key_lookups(&lookups),
            trn_statuses: SqliteStore::trn_status_lookups(&lookups),
            checkpoints,
            pool,
            lookups,
        }))
    }
}

#[async_trait]
impl<DB: Dialect> Store for SqlStore<DB>
where
    Self: RecordStore
        + SessionStore
        + FeedbackStore
        + UserStore
        + ConnectStore
        + StaffStore
        + TaskStore
        + AuditStore
        + OutboxStore
        + BenchStore
        + ProofStore
        + ProviderStore
        + ApiStore
        + ClientAdminStore
        + MetricsStore
        + AccountStore
        + AccountRecordStore,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    fn backend(&self) -> Backend {
        DB::BACKEND
    }
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
    async fn refresh_statistics(&self) -> StoreResult<()> {
        sqlx::query(DB::REFRESH_STATISTICS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_told_apart_even_when_the_failure_is_shared() {
        let away = || StoreError::Unavailable(sqlx::Error::PoolClosed);
        assert!(away().is_unavailable());
        assert!(StoreError::Shared(Arc::new(away())).is_unavailable());
        assert!(!StoreError::Corrupt("x".into()).is_unavailable());
        assert!(!StoreError::Shared(Arc::new(StoreError::Corrupt("x".into()))).is_unavailable());
    }

    #[test]
    fn held_connections_leave_at_least_half_of_every_pool_free() {
        for max in 1..=40 {
            for writers in 0..=3 {
                let (lookups, held_writers) = held_in_one_pool(max, writers);
                assert!(
                    lookups + held_writers <= max as usize / 2,
                    "{max} {writers}"
                );
                assert!(held_writers <= writers && lookups <= 4);
                let (lookups, held_writers) = held_in_own_pools(max, writers);
                assert!(lookups <= max as usize / 2 && held_writers <= max as usize / 2);
            }
        }
        // A pool of one holds nothing; the default of ten holds what it always did.
        assert_eq!(held_in_one_pool(1, 1), (0, 0));
        assert_eq!(held_in_one_pool(2, 1), (0, 1));
        assert_eq!(held_in_one_pool(10, 1), (4, 1));
        assert_eq!(held_in_own_pools(10, 2), (4, 2));
        assert_eq!(held_in_own_pools(3, 2), (1, 1));
    }
}
