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
//! Starting the WAL again: SQLite writes from the WAL's beginning again only at a write that finds every frame
//! already checkpointed, which writes that never pause do not give a `PASSIVE` checkpoint (frames are added while it
//! copies). Under such load the WAL grew past [`BACKSTOP_PAGES`] within seconds, and from then on every commit
//! checkpointed by itself again, with two `fsync`s, the shared writer's included (measured in docs/performance.md).
//! So once the WAL holds [`RESTART_PAGES`] the task follows its `PASSIVE` checkpoint with a second one and then a
//! `RESTART` one ([`after_passive`]): that takes the write lock, copies what was added since (little: the `PASSIVE`
//! ones have just run), and waits only for the readers of the moment (new readers read the database file, all of it
//! checkpointed), and for them at most [`RESTART_WAIT`]; the next write then starts the WAL from its beginning. Writers wait for it a few milliseconds about
//! once a second under the heaviest load instead of at every commit past the backstop.

use std::time::Duration;

/// How often the WAL is checkpointed.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// The WAL size (pages) at which a commit checkpoints by itself all the same: thirty times SQLite's default, a bound
/// on the WAL should the task fall behind, well above [`RESTART_PAGES`] and what one [`INTERVAL`] adds to it.
pub const BACKSTOP_PAGES: u32 = 30_000;

/// The WAL size (pages) from which the task starts the WAL again ([`Mode::Restart`]): 48 MiB of 4 KiB pages, about a
/// second of the token endpoint's writes at 50 connections (12,000 pages a second measured), so that writers wait
/// for a restart about once a second at most. A long WAL costs readers little: they look pages up only among the
/// frames not yet checkpointed.
pub const RESTART_PAGES: u32 = 12_000;

// A restart must come before commits checkpoint by themselves.
const _: () = assert!(RESTART_PAGES < BACKSTOP_PAGES);

/// A checkpoint the task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Copies what it can beside readers and writers.
    Passive,
    /// Copies the rest holding the write lock and waits for the readers of the moment, so that the next write
    /// starts the WAL from its beginning.
    Restart,
}

impl Mode {
    fn pragma(self) -> &'static str {
        match self {
            Mode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
            Mode::Restart => "PRAGMA wal_checkpoint(RESTART)",
        }
    }
}

/// What follows a `PASSIVE` checkpoint that found `wal_pages` in the WAL: nothing below `restart_pages`; from there
/// on a second `PASSIVE` one, which copies (and syncs) what was written while the first copied, outside the write
/// lock, and then the `RESTART`, which holds the write lock while it copies and syncs the little left (measured: a
/// `RESTART` straight after one `PASSIVE` held writers 10–25 ms, the syncs of some 30 ms of writes).
pub fn after_passive(wal_pages: i64, restart_pages: u32) -> &'static [Mode] {
    if wal_pages >= i64::from(restart_pages) {
        &[Mode::Passive, Mode::Restart]
    } else {
        &[]
    }
}

/// One checkpoint: its `(busy, WAL pages, pages checkpointed)`, as SQLite reports them.
async fn checkpoint(
    conn: &mut sqlx::SqliteConnection,
    mode: Mode,
) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as(mode.pragma()).fetch_one(conn).await
}

/// How long a `RESTART` checkpoint waits for the write lock and for the readers of the moment before it gives up
/// (SQLite reports it busy, and the next turn tries again). It holds the write lock while it waits for readers, so
/// with the pool's own busy timeout (seconds) one long read — a large export, say — would stop every writer for as
/// long, and their own busy timeouts could run out: "database is locked" for requests that only wanted to write.
pub const RESTART_WAIT: Duration = Duration::from_millis(100);

/// One `RESTART` checkpoint on `conn`, waiting at most `wait` (see [`RESTART_WAIT`]); the connection's own busy
/// timeout is put back after it, or the connection is closed rather than go back to the pool with the short one.
async fn restart(
    conn: &mut sqlx::pool::PoolConnection<sqlx::Sqlite>,
    wait: Duration,
) -> Result<(i64, i64, i64), sqlx::Error> {
    let own: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut **conn)
        .await?;
    sqlx::query(&format!("PRAGMA busy_timeout = {}", wait.as_millis()))
        .execute(&mut **conn)
        .await?;
    let result = checkpoint(conn, Mode::Restart).await;
    if sqlx::query(&format!("PRAGMA busy_timeout = {own}"))
        .execute(&mut **conn)
        .await
        .is_err()
    {
        conn.close_on_drop();
    }
    result
}

/// One turn of the task: a `PASSIVE` checkpoint, followed by what [`after_passive`] says when the WAL holds
/// `restart_pages` or more, the `RESTART` waiting at most `restart_wait`. The modes run.
pub async fn run_once(
    pool: &sqlx::SqlitePool,
    restart_pages: u32,
    restart_wait: Duration,
) -> Result<Vec<Mode>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let started = std::time::Instant::now();
    let (_, wal_pages, copied) = checkpoint(&mut conn, Mode::Passive).await?;
    let mut ran = vec![Mode::Passive];
    let mut busy = 0;
    for &mode in after_passive(wal_pages, restart_pages) {
        (busy, _, _) = match mode {
            Mode::Passive => checkpoint(&mut conn, mode).await?,
            Mode::Restart => restart(&mut conn, restart_wait).await?,
        };
        ran.push(mode);
    }
    if ran.len() > 1 {
        tracing::debug!(
            wal_pages,
            copied,
            busy,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "WAL restarted"
        );
    }
    Ok(ran)
}

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
            if let Err(e) = run_once(&pool, RESTART_PAGES, RESTART_WAIT).await {
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

    /// `n` commits of a row each.
    async fn commit_rows(pool: &sqlx::SqlitePool, n: usize) {
        for _ in 0..n {
            sqlx::query("INSERT INTO t VALUES (randomblob(2000))")
                .execute(pool)
                .await
                .unwrap();
        }
    }

    /// A WAL database file in `dir` with 20 small commits still in its WAL, and a way to read the file's length.
    async fn with_commits_in_the_wal(
        dir: &tempfile::TempDir,
    ) -> (sqlx::SqlitePool, impl Fn() -> u64) {
        let path = dir.path().join("db.sqlite");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", BACKSTOP_PAGES.to_string())
            // Far longer than any test waits: a checkpoint held by a reader would wait this long.
            .busy_timeout(Duration::from_secs(60));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        commit_rows(&pool, 20).await;
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

    /// The pages in the WAL now (a `PASSIVE` checkpoint reports them).
    async fn wal_pages(pool: &sqlx::SqlitePool) -> i64 {
        let (_, pages, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await
            .unwrap();
        pages
    }

    /// A connection reading in a transaction begun before 20 more commits: no checkpoint can copy those while it
    /// reads, and the WAL cannot start again.
    async fn a_reader_behind_20_commits(
        pool: &sqlx::SqlitePool,
    ) -> sqlx::pool::PoolConnection<sqlx::Sqlite> {
        let mut reader = pool.acquire().await.unwrap();
        sqlx::query("BEGIN").execute(&mut *reader).await.unwrap();
        sqlx::query("SELECT count(*) FROM t")
            .execute(&mut *reader)
            .await
            .unwrap();
        commit_rows(pool, 20).await;
        reader
    }

    /// The WAL after a turn of the task with `restart_pages`, under writes it cannot catch up with: a reader holds
    /// an older snapshot while the turn starts (so its `PASSIVE` checkpoint cannot copy the newer frames, as when
    /// writes go on while it copies) and ends during it; then one more commit. The pages in the WAL after that
    /// commit, and the modes the turn ran.
    async fn wal_after_a_turn_under_load(restart_pages: u32) -> (i64, Vec<Mode>) {
        let dir = tempfile::tempdir().unwrap();
        let (pool, _) = with_commits_in_the_wal(&dir).await;
        let mut reader = a_reader_behind_20_commits(&pool).await;
        let turn = tokio::spawn({
            let pool = pool.clone();
            async move {
                run_once(&pool, restart_pages, Duration::from_secs(5))
                    .await
                    .unwrap()
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        sqlx::query("COMMIT").execute(&mut *reader).await.unwrap();
        let ran = turn.await.unwrap();
        commit_rows(&pool, 1).await;
        (wal_pages(&pool).await, ran)
    }

    /// Past the restart threshold the next write starts the WAL from its beginning; with `PASSIVE` checkpoints
    /// alone it goes on growing.
    #[tokio::test]
    async fn past_the_restart_threshold_the_next_write_starts_the_wal_again() {
        let (pages, ran) = wal_after_a_turn_under_load(10).await;
        assert_eq!(ran, vec![Mode::Passive, Mode::Passive, Mode::Restart]);
        assert!(pages <= 5, "the WAL was not started again: {pages} pages");
        let (pages, ran) = wal_after_a_turn_under_load(u32::MAX).await;
        assert_eq!(ran, vec![Mode::Passive]);
        assert!(
            pages > 40,
            "without a restart the WAL keeps its frames: {pages} pages"
        );
    }

    /// A reader that goes on reading does not stop the writers: the restart gives up after its wait (the WAL is not
    /// started again), the turn ends while the reader still reads, and a write made meanwhile commits.
    #[tokio::test]
    async fn a_restart_gives_up_on_a_long_read_instead_of_holding_the_writers() {
        let dir = tempfile::tempdir().unwrap();
        let (pool, _) = with_commits_in_the_wal(&dir).await;
        let mut reader = a_reader_behind_20_commits(&pool).await;
        let turn = tokio::spawn({
            let pool = pool.clone();
            async move { run_once(&pool, 10, Duration::from_millis(50)).await }
        });
        let ran = tokio::time::timeout(Duration::from_secs(10), turn)
            .await
            .expect("the turn waited for the reader (the pool's busy timeout is 60 s)")
            .unwrap()
            .unwrap();
        assert_eq!(ran, vec![Mode::Passive, Mode::Passive, Mode::Restart]);
        commit_rows(&pool, 1).await;
        let pages = wal_pages(&pool).await;
        assert!(
            pages > 40,
            "the WAL started again under a reader: {pages} pages"
        );
        // The reader was there all along; the connection the turn used has the pool's busy timeout back.
        sqlx::query("COMMIT").execute(&mut *reader).await.unwrap();
        let other = pool.acquire().await.unwrap();
        for mut conn in [reader, other] {
            let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(timeout, 60_000);
        }
    }

    #[test]
    fn a_passive_checkpoint_is_followed_by_a_restart_from_the_threshold_on() {
        assert_eq!(after_passive(0, RESTART_PAGES), &[]);
        assert_eq!(
            after_passive(i64::from(RESTART_PAGES) - 1, RESTART_PAGES),
            &[]
        );
        assert_eq!(
            after_passive(i64::from(RESTART_PAGES), RESTART_PAGES),
            &[Mode::Passive, Mode::Restart]
        );
    }
}
