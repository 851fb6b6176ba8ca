//! Storage. The traits say what the service needs; [`SqliteStore`] and [`PgStore`] implement them with the same
//! SQL (a portable subset with `$N` placeholders), written once in macros so the two cannot drift. The backend is
//! chosen from the URL scheme at start-up, and the same contract tests run against both.

pub mod connect;
pub mod feedback;
pub mod proofs;
pub mod records;
pub mod sessions;
pub mod support;
pub mod users;

pub use connect::ConnectStore;
pub use feedback::FeedbackStore;
pub use proofs::ProofStore;
pub use records::RecordStore;
pub use sessions::SessionStore;
pub use support::SupportStore;
pub use users::UserStore;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
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
    + SupportStore
    + ProofStore
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

/// SQLite, the default: one file, no server.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// PostgreSQL, for running many instances.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// How long a request waits for a database connection before the service says it is unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens the database named by `url`, creating a SQLite file (and its folder) if needed, and runs migrations.
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<DynStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // Plan each statement for its own values: the dashboard's searches and filters are so uneven (a rare name,
        // a common one, everyone's tasks or one person's) that a generic plan, which PostgreSQL switches prepared
        // statements to after five runs, can be a thousand times slower.
        let options = sqlx::postgres::PgConnectOptions::from_str(url)?
            .options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Arc::new(PgStore { pool }))
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
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Arc::new(SqliteStore { pool }))
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
    async fn refresh_statistics(&self) -> StoreResult<()> {
        // 0x10002: analyse every table whose statistics are missing or stale, however many there are.
        sqlx::query("PRAGMA optimize=0x10002")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
    async fn refresh_statistics(&self) -> StoreResult<()> {
        // Autovacuum would get there; this makes it now (it samples, so it is quick even on large tables).
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }
}
