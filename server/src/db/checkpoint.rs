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
//! checkpointed), and for them at most [`RESTART_WAIT`]; the next write then starts the WAL from its beginning.
//! Writers wait for it a few milliseconds about once a second under the heaviest load instead of at every commit past
//! the backstop. The `RESTART` is handed to the database's main writer, the token endpoint's code redeemer, which runs
//! it between two of its batches on its own connection, so that it never sleeps in SQLite's busy handler for one
//! ([`Handoff`]); the task runs it itself when no writer takes it.

use std::time::Duration;

/// How often the WAL is checkpointed. A `PASSIVE` checkpoint takes no lock that writers wait for, yet under the
/// token endpoint's load its copying and `fsync`s beside the writer stall it all the same: with `BENCH_TIMELINE`,
/// bursts of every connection's request, 10–25 ms long, came 250 ms apart when this was 250 ms, and 1 s apart now.
/// Fewer turns copy a page written many times between two only once; the WAL grows further between `RESTART`s
/// (one turn late at most: about 300 MiB measured at 13,000 tokens a second, 220 MiB at 250 ms).
pub const INTERVAL: Duration = Duration::from_millis(1000);

/// The WAL size (pages) at which a commit checkpoints by itself all the same: a hundred times SQLite's default
/// (400 MiB of 4 KiB pages), a bound on the WAL should the task fall behind, well above [`RESTART_PAGES`] and what
/// one [`INTERVAL`] adds to it.
pub const BACKSTOP_PAGES: u32 = 100_000;

/// The WAL size (pages) from which the task starts the WAL again ([`Mode::Restart`]): 192 MiB of 4 KiB pages, three
/// to four seconds of the token endpoint's writes at 50 connections (12,000–17,000 pages a second measured). Each
/// restart holds the token endpoint's writer 20–40 ms on this machine (the copy and `fsync`s of what the `PASSIVE`
/// checkpoints left), every connection's request with it: at 12,000 pages, one restart every 0.75 s, that was
/// 1–1.5% of the requests, where the p99 fell; now it is a few tenths of a percent. The price is disk: a WAL file
/// of up to this size (more under a long read). A long WAL costs readers little: they look pages up only among the
/// frames not yet checkpointed.
pub const RESTART_PAGES: u32 = 48_000;

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

/// One `RESTART` checkpoint on `conn`, waiting at most `wait` (see [`RESTART_WAIT`]), and whether the connection's
/// own busy timeout was put back after it (if not, the caller closes the connection rather than keep it with the
/// short one).
async fn restart(
    conn: &mut sqlx::SqliteConnection,
    wait: Duration,
) -> (Result<(i64, i64, i64), sqlx::Error>, bool) {
    let own: i64 = match sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
    {
        Ok(own) => own,
        Err(e) => return (Err(e), true),
    };
    if let Err(e) = sqlx::query(&format!("PRAGMA busy_timeout = {}", wait.as_millis()))
        .execute(&mut *conn)
        .await
    {
        return (Err(e), true);
    }
    let result = checkpoint(conn, Mode::Restart).await;
    let restored = sqlx::query(&format!("PRAGMA busy_timeout = {own}"))
        .execute(&mut *conn)
        .await
        .is_ok();
    (result, restored)
}

/// What a `RESTART` checkpoint reports: `(busy, WAL pages, pages checkpointed)`.
type Reported = Result<(i64, i64, i64), sqlx::Error>;

/// Where the task hands its `RESTART` checkpoints to the database's main writer, the token endpoint's code
/// redeemer (`db/provider.rs`), which runs them on its own connection between two of its batches.
///
/// Why: a `RESTART` holds the write lock while it copies and syncs what the `PASSIVE` ones left, and a writer that
/// finds the lock taken sleeps in SQLite's busy handler, 1, 2, 5, 10, 15 … ms at a time, so it wakes well after the
/// lock is free again. Under the token endpoint's load that was a burst of every connection's request waiting
/// 20–50 ms about once every 0.75 s, 1.3% of the requests, where the p99 fell (docs/performance.md). Run by the
/// writer itself, the restart waits for no writer of that load and no writer of that load waits for it in a busy
/// handler: the requests queue for the next batch and it starts as soon as the restart ends. sqlx offers no busy
/// handler but SQLite's default (`busy_timeout`), so the back-off itself cannot be changed.
///
/// The task keeps everything else: when to restart, its bound ([`RESTART_WAIT`], on the writer's connection too),
/// [`Checkpointer::pause`] (the task holds its turn until the writer has run the restart), and the restarts when no
/// writer takes them (none registered, or none took the offer within [`RESTART_WAIT`]: busy with a batch that
/// waits for another writer, say).
#[derive(Clone, Default)]
pub struct Handoff(std::sync::Arc<HandoffInner>);

#[derive(Default)]
struct HandoffInner {
    offer: std::sync::Mutex<Option<Restart>>,
    offered: tokio::sync::Notify,
    /// A writer takes restarts ([`Handoff::taken_by_a_writer`]).
    taker: std::sync::atomic::AtomicBool,
}

/// A `RESTART` checkpoint handed to a writer: [`Restart::run`] runs it and reports to the task.
pub struct Restart {
    wait: Duration,
    reported: tokio::sync::oneshot::Sender<Reported>,
}

impl Restart {
    /// Runs the `RESTART` on `conn`, waiting at most [`RESTART_WAIT`] for the write lock and the readers of the
    /// moment; false when the connection's own busy timeout could not be put back (close it). Dropped unrun, the
    /// task runs it itself.
    pub async fn run(self, conn: &mut sqlx::SqliteConnection) -> bool {
        let (result, restored) = restart(conn, self.wait).await;
        let _ = self.reported.send(result);
        restored
    }
}

impl Handoff {
    /// Marks that a writer takes this database's restarts (the task offers them from now on).
    pub fn taken_by_a_writer(&self) {
        self.0
            .taker
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The restart the task offers now, if any.
    pub fn take(&self) -> Option<Restart> {
        self.0.offer.lock().expect("not poisoned").take()
    }

    /// Waits for the task's next offer; `None` when it was withdrawn before it could be taken.
    pub async fn offered(&self) -> Option<Restart> {
        self.0.offered.notified().await;
        self.take()
    }

    /// The task's side: offers a restart to the writer and waits up to `wait` for it to be taken, then for its
    /// report; `None` when there is no writer or none took it (withdrawn), or it was dropped unrun.
    async fn hand_over(&self, wait: Duration) -> Option<Reported> {
        if !self.0.taker.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let (reported, mut report) = tokio::sync::oneshot::channel();
        *self.0.offer.lock().expect("not poisoned") = Some(Restart { wait, reported });
        self.0.offered.notify_one();
        tokio::select! {
            report = &mut report => return report.ok(),
            _ = tokio::time::sleep(wait) => {}
        }
        if self.take().is_some() {
            return None;
        }
        report.await.ok()
    }
}

/// One turn of the task: a `PASSIVE` checkpoint, followed by what [`after_passive`] says when the WAL holds
/// `restart_pages` or more, the `RESTART` handed to the writer that takes them ([`Handoff`]) or else run here, waiting
/// at most `restart_wait` either way. The modes run.
pub async fn run_once(
    pool: &sqlx::SqlitePool,
    restart_pages: u32,
    restart_wait: Duration,
    handoff: &Handoff,
) -> Result<Vec<Mode>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let started = std::time::Instant::now();
    let (_, wal_pages, copied) = checkpoint(&mut conn, Mode::Passive).await?;
    let mut ran = vec![Mode::Passive];
    let mut busy = 0;
    let mut by_writer = false;
    for &mode in after_passive(wal_pages, restart_pages) {
        (busy, _, _) = match mode {
            Mode::Passive => checkpoint(&mut conn, mode).await?,
            Mode::Restart => match handoff.hand_over(restart_wait).await {
                Some(reported) => {
                    by_writer = true;
                    reported?
                }
                None => {
                    let (reported, restored) = restart(&mut conn, restart_wait).await;
                    if !restored {
                        conn.close_on_drop();
                    }
                    reported?
                }
            },
        };
        ran.push(mode);
    }
    if ran.len() > 1 {
        tracing::debug!(
            wal_pages,
            copied,
            busy,
            by_writer,
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
    handoff: Handoff,
}

impl Checkpointer {
    /// Where a writer takes this database's `RESTART` checkpoints from ([`Handoff`]).
    pub fn handoff(&self) -> Handoff {
        self.handoff.clone()
    }

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
    let handoff = Handoff::default();
    let task_handoff = handoff.clone();
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
            if let Err(e) = run_once(&pool, RESTART_PAGES, RESTART_WAIT, &task_handoff).await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
    Checkpointer {
        _stop: std::sync::Arc::new(stop),
        turn,
        handoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    use sqlx::ConnectOptions;
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
                run_once(
                    &pool,
                    restart_pages,
                    Duration::from_secs(5),
                    &Handoff::default(),
                )
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
            async move { run_once(&pool, 10, Duration::from_millis(50), &Handoff::default()).await }
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

    /// Commits row after row on `writer` while the task takes turns past the restart threshold, the writer taking
    /// the restarts between two commits when `takes`: the commits that found the write lock taken, and the
    /// restarts the writer ran.
    async fn write_through_turns(
        pool: &sqlx::SqlitePool,
        writer: &mut sqlx::SqliteConnection,
        takes: bool,
    ) -> (usize, usize) {
        let handoff = Handoff::default();
        if takes {
            handoff.taken_by_a_writer();
        }
        // Offered for long enough that a writer slowed by a busy machine (its commits' `fsync`s) still takes every
        // restart: with the service's 100 ms the task ran one itself now and then under load, and the test failed.
        let wait = if takes {
            Duration::from_secs(10)
        } else {
            RESTART_WAIT
        };
        let turns = tokio::spawn({
            let (pool, handoff) = (pool.clone(), handoff.clone());
            async move {
                let mut restarts = 0;
                while restarts < 8 {
                    // The writer's commits meanwhile take the WAL past the threshold again; on a busy machine
                    // they may not have yet, and that turn is a `PASSIVE` checkpoint alone.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let ran = run_once(&pool, 10, wait, &handoff).await.unwrap();
                    if ran != [Mode::Passive] {
                        assert_eq!(ran, vec![Mode::Passive, Mode::Passive, Mode::Restart]);
                        restarts += 1;
                    }
                }
            }
        });
        let (mut locked, mut taken) = (0, 0);
        while !turns.is_finished() {
            if let Some(restart) = handoff.take() {
                assert!(restart.run(&mut *writer).await);
                taken += 1;
            }
            match sqlx::query("INSERT INTO t VALUES (randomblob(2000))")
                .execute(&mut *writer)
                .await
            {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.message().contains("locked") => locked += 1,
                Err(e) => panic!("{e}"),
            }
        }
        turns.await.unwrap();
        (locked, taken)
    }

    /// A writer that never waits for the write lock (busy timeout 0: "database is locked" at once) and takes the
    /// task's restarts between two of its commits is never stopped by one, where a restart run beside it is.
    #[tokio::test]
    async fn a_writer_that_takes_the_restarts_never_waits_for_one() {
        let dir = tempfile::tempdir().unwrap();
        let (pool, _) = with_commits_in_the_wal(&dir).await;
        let mut writer = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            dir.path().join("db.sqlite").display()
        ))
        .unwrap()
        .busy_timeout(Duration::ZERO)
        .connect()
        .await
        .unwrap();
        let (locked, taken) = write_through_turns(&pool, &mut writer, false).await;
        assert_eq!(taken, 0);
        assert!(
            locked > 0,
            "the restarts run beside the writer never held it"
        );
        let (locked, taken) = write_through_turns(&pool, &mut writer, true).await;
        assert_eq!(taken, 8, "the writer did not run every restart");
        assert_eq!(locked, 0, "a commit found the write lock taken");
        let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut writer)
            .await
            .unwrap();
        assert_eq!(timeout, 0, "the writer's busy timeout was not put back");
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
