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
    /// Held by each checkpoint while it runs, and by [`Checkpointer::pause`] while checkpoints must not run.
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Checkpointer {
    /// No checkpoint runs until the guard is dropped (one running now is waited for). For a bulk load, which
    /// switches the database's journal mode: a checkpoint opens a pool connection, whose own `journal_mode = WAL`
    /// and locks met the load's in the middle of it (a seeding that failed with "database is locked" in CI).
    pub async fn pause(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.turn.clone().lock_owned().await
    }
}

/// Starts checkpointing `pool`'s database every [`INTERVAL`] on the current Tokio runtime.
pub fn spawn(pool: sqlx::SqlitePool) -> Checkpointer {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let turn = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    let task_turn = turn.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tick.tick() => {}
            }
            // Paused (a bulk load): skipped, the next tick tries again.
            let Ok(_turn) = task_turn.try_lock() else {
                continue;
            };
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
        turn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    use std::str::FromStr;

    /// A WAL database file in `dir` with 20 small commits still in its WAL, and a way to read the file's length.
    async fn with_commits_in_the_wal(
        dir: &tempfile::TempDir,
    ) -> (sqlx::SqlitePool, impl Fn() -> u64) {
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
        (pool, move || std::fs::metadata(&path).unwrap().len())
    }

    /// Commits far below SQLite's own threshold stay in the WAL until the task copies them into the database file,
    /// which then grows.
    #[tokio::test]
    async fn the_task_checkpoints_commits_that_stay_below_sqlites_own_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let (pool, file_len) = with_commits_in_the_wal(&dir).await;
        let before = file_len();
        let _checkpoints = spawn(pool.clone());
        tokio::time::sleep(INTERVAL * 3).await;
        assert!(
            file_len() > before,
            "the database file did not grow: the WAL was not checkpointed"
        );
    }

    /// While paused (a bulk load) no checkpoint runs; once the pause ends they run again.
    #[tokio::test]
    async fn no_checkpoint_runs_while_paused() {
        let dir = tempfile::tempdir().unwrap();
        let (pool, file_len) = with_commits_in_the_wal(&dir).await;
        let before = file_len();
        let checkpoints = spawn(pool.clone());
        let paused = checkpoints.pause().await;
        tokio::time::sleep(INTERVAL * 3).await;
        assert_eq!(file_len(), before, "a checkpoint ran while paused");
        drop(paused);
        tokio::time::sleep(INTERVAL * 3).await;
        assert!(file_len() > before, "no checkpoint after the pause");
    }
}
