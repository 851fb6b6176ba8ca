//! A few connections held out of the pool for the lookups a teacher's page makes on every request (issue 16 §1).
//!
//! sqlx's pool pings every connection given back to it: dropping a `PoolConnection` spawns a task that pings
//! before the connection is idle again, and nothing turns that off (`after_release` runs as well as the ping, not
//! instead of it). So every query on the pool costs a second round trip to PostgreSQL, or a second hop to
//! SQLite's worker thread, and a spawned task: for the session lookup, which is most of what serving a kept page
//! costs, that was a large share of the request (measured in `docs/performance.md`, "Kept pages and the session
//! lookup"). Here a few connections are taken from the pool once and kept; a lookup uses whichever is free, and
//! the pool itself when all are busy, so a burst never waits here. No maintained pool offers sqlx connections
//! without that ping (deadpool and bb8 have no sqlx manager), hence this small holder in front of sqlx's own pool.
//!
//! A held connection unused for [`super::IDLE_BEFORE_PING`] is pinged before use, as the pool's own are
//! ([`super::ping_if_idle`]). One whose query fails is given back to the pool ([`Lookup::check`]), which pings
//! it and closes it if it is broken, and the next lookup takes a fresh one.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use sqlx::pool::PoolConnection;
use sqlx::Connection;

/// How long a connection is held before it goes back and another is taken: the pool's own maximum lifetime.
const MAX_HELD: Duration = Duration::from_secs(30 * 60);

pub struct Slot<DB: sqlx::Database> {
    conn: PoolConnection<DB>,
    taken: Instant,
    used: Instant,
    /// Its last query failed: given back to the pool before the next lookup.
    failed: bool,
}

/// Connections for lookups: up to `slots` held, the pool's beyond that.
pub struct Held<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    slots: Arc<[Mutex<Option<Slot<DB>>>]>,
    next: Arc<AtomicUsize>,
}

impl<DB: sqlx::Database> Clone for Held<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            slots: self.slots.clone(),
            next: self.next.clone(),
        }
    }
}

/// A connection for one lookup: held (back in its slot when dropped) or the pool's.
pub enum Lookup<'a, DB: sqlx::Database> {
    Held(MappedMutexGuard<'a, Slot<DB>>),
    Pooled(PoolConnection<DB>),
}

impl<DB: sqlx::Database> Held<DB> {
    /// Holds up to `slots` of `pool`'s connections (taken as they are first needed). 0 holds none: a pool of one
    /// connection (an in-memory SQLite database) must keep it free for everything else.
    pub fn new(pool: sqlx::Pool<DB>, slots: usize) -> Self {
        Self {
            pool,
            slots: (0..slots).map(|_| Mutex::new(None)).collect(),
            next: Arc::default(),
        }
    }

    /// A free held connection, or the pool's if every held one is in use.
    pub async fn get(&self) -> Result<Lookup<'_, DB>, sqlx::Error> {
        let count = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..count {
            let Ok(mut slot) = self.slots[(start + i) % count].try_lock() else {
                continue;
            };
            let usable = match slot.as_mut() {
                // Replaced as the pool replaces its own: SQLite reads the planner's statistics when it opens.
                Some(held) if held.failed || held.taken.elapsed() >= MAX_HELD => false,
                // Idle long enough that the database may have gone away since (it restarted, say).
                Some(held) if held.used.elapsed() >= super::IDLE_BEFORE_PING => {
                    held.conn.ping().await.is_ok()
                }
                Some(_) => true,
                None => false,
            };
            if !usable {
                // Given back first: the pool closes it if it is broken, and it frees the pool's place.
                slot.take();
                *slot = Some(Slot {
                    conn: self.pool.acquire().await?,
                    taken: Instant::now(),
                    used: Instant::now(),
                    failed: false,
                });
            }
            if let Ok(mut held) = MutexGuard::try_map(slot, Option::as_mut) {
                held.used = Instant::now();
                return Ok(Lookup::Held(held));
            }
        }
        Ok(Lookup::Pooled(self.pool.acquire().await?))
    }
}

impl<DB: sqlx::Database> Lookup<'_, DB> {
    /// Passes on the result of the query made on this connection. After a failure a held connection goes back
    /// to the pool before the next lookup, and the pool closes it if it is broken.
    pub fn check<T, E>(self, result: Result<T, E>) -> Result<T, E> {
        if let (Lookup::Held(mut held), Err(_)) = (self, &result) {
            held.failed = true;
        }
        result
    }

    /// Closes this connection instead of giving it back (one left in a state the pool must not hand out), and a
    /// held one is replaced at the next lookup.
    pub fn discard(self) {
        match self {
            Lookup::Held(mut held) => {
                held.failed = true;
                held.conn.close_on_drop();
            }
            Lookup::Pooled(mut conn) => conn.close_on_drop(),
        }
    }
}

impl<DB: sqlx::Database> Deref for Lookup<'_, DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        match self {
            Lookup::Held(held) => &held.conn,
            Lookup::Pooled(conn) => conn,
        }
    }
}

impl<DB: sqlx::Database> DerefMut for Lookup<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Lookup::Held(held) => &mut held.conn,
            Lookup::Pooled(conn) => conn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;
    use sqlx::Sqlite;

    /// Each in-memory SQLite connection is a database of its own, so a temporary table marks a connection.
    async fn marked(lookup: &mut Lookup<'_, Sqlite>) -> bool {
        sqlx::query("SELECT 1 FROM marker")
            .fetch_optional(&mut **lookup)
            .await
            .is_ok()
    }

    async fn holder(slots: usize) -> Held<Sqlite> {
        let pool = SqlitePoolOptions::new()
            .max_connections(3)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        Held::new(pool, slots)
    }

    #[tokio::test]
    async fn a_lookup_gets_the_held_connection_again() {
        let held = holder(1).await;
        let mut first = held.get().await.unwrap();
        assert!(matches!(first, Lookup::Held(_)));
        sqlx::query("CREATE TEMP TABLE marker (x)")
            .execute(&mut *first)
            .await
            .unwrap();
        drop(first);
        let mut again = held.get().await.unwrap();
        assert!(matches!(again, Lookup::Held(_)));
        assert!(marked(&mut again).await, "not the connection held before");
    }

    #[tokio::test]
    async fn lookups_beyond_the_held_ones_use_the_pool() {
        let held = holder(1).await;
        let mut busy = held.get().await.unwrap();
        sqlx::query("CREATE TEMP TABLE marker (x)")
            .execute(&mut *busy)
            .await
            .unwrap();
        let mut other = held.get().await.unwrap();
        assert!(matches!(other, Lookup::Pooled(_)));
        assert!(!marked(&mut other).await);
    }

    #[tokio::test]
    async fn a_failed_lookup_gives_its_connection_back_to_the_pool() {
        // A pool of one: the held connection must go back to it before the slot can be filled again.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let held = Held::new(pool.clone(), 1);
        let mut first = held.get().await.unwrap();
        let failed = sqlx::query("SELECT * FROM no_such_table")
            .fetch_all(&mut *first)
            .await;
        assert!(first.check(failed).is_err());
        assert_eq!(pool.num_idle(), 0, "still held after one failure");
        let mut next = held.get().await.unwrap();
        assert!(matches!(next, Lookup::Held(_)));
        let one: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut *next)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }

    #[tokio::test]
    async fn none_are_held_when_told_so() {
        let held = holder(0).await;
        assert!(matches!(held.get().await.unwrap(), Lookup::Pooled(_)));
    }
}
