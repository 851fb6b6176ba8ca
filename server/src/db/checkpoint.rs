//! SQLite's WAL checkpoints, run by a task of their own instead of inside whichever commit crosses SQLite's
//! threshold (issue 12 "Measure").
//!
//! Why: by default SQLite checkpoints (copies the WAL's pages into the database file and syncs it) in the commit that
//! takes the WAL past 1,000 pages. Under the token endpoint's load that is the shared writer's commit several times
//! a second, and the requests waiting for the next batch wait out the copy and the `fsync` too. Here every
//! connection's own threshold is raised to [`BACKSTOP_PAGES`] and a task runs a `PASSIVE` checkpoint every
//! [`INTERVAL`]: it never waits for readers or writers and they never wait for it (WAL mode lets a checkpoint run
//! beside them), and a page written many times between two checkpoints is copied once.
//!
//! The limit of it: SQLite starts the WAL again from its beginning only at a write that finds every frame already
//! checkpointed, which writes that never pause for a moment do not give it. Under such load the WAL grows, past
//! [`BACKSTOP_PAGES`], where commits checkpoint by themselves again as they did past 1,000 (measured in
//! docs/performance.md: a 100 MB WAL after 40,000 token requests in six seconds); as soon as the writes pause the
//! task's next checkpoint completes and the WAL starts again.

use std::time::Duration;

/// How often the WAL is checkpointed.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// The WAL size (pages) at which a commit checkpoints by itself all the same: ten times SQLite's default, a bound
/// on the WAL should the task fall behind.
pub const BACKSTOP_PAGES: u32 = 10_000;

/// The checkpoint task of one database; it stops when the last clone is dropped (with the store that holds it).
#[derive(Clone)]
pub struct Checkpointer {
    _stop: std::sync::Arc<tokio::sync::oneshot::Sender<()>>,
}

/// Starts checkpointing `pool`'s database every [`INTERVAL`] on the current Tokio runtime.
pub fn spawn(pool: sqlx::SqlitePool) -> Checkpointer {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tick.tick() => {}
            }
            // A failure (the database is away, say) is tried again at the next tick; the backstop bounds the WAL
            // meanwhile.
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
    Checkpointer {
        _stop: std::sync::Arc::new(stop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    use std::str::FromStr;

    /// Commits far below SQLite's own threshold stay in the WAL until the task copies them into the database file,
    /// which then grows.
    #[tokio::test]
    async fn the_task_checkpoints_commits_that_stay_below_sqlites_own_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", BACKSTOP_PAGES.to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        for _ in 0..20 {
            sqlx::query("INSERT INTO t VALUES (randomblob(2000))")
                .execute(&pool)
                .await
                .unwrap();
        }
        let file_len = || std::fs::metadata(&path).unwrap().len();
        let before = file_len();
        let _checkpoints = spawn(pool.clone());
        tokio::time::sleep(INTERVAL * 3).await;
        assert!(
            file_len() > before,
            "the database file did not grow: the WAL was not checkpointed"
        );
    }
}
