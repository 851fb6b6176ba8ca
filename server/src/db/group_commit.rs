//! Group commit: rows written on their own by many requests at once (an audit entry for each view of a task) go to
//! the database together, one transaction for everything waiting, and each request is answered only once its row
//! is committed.
//!
//! Why: every view of personal data is audited durably before it is shown (DESIGN), so a task page waits for its
//! audit row. One transaction per row made that wait the page's cost under load: on PostgreSQL each row was a
//! commit (a WAL flush), on SQLite each writer took the database's one write lock in turn, and the others slept in
//! SQLite's busy handler (issue 16 §1). A commit costs about the same for one row as for a hundred, so concurrent
//! views now share one.
//!
//! A request's row is handed to one writer task over a bounded channel (a full channel makes requests wait, never
//! drops a row) with a oneshot for the answer. The writer takes everything waiting, up to [`MAX_BATCH`], and flushes
//! it; the answer comes back only after the flush. A row handed over is written even if its request is dropped
//! meanwhile (the client went away): the row belongs to the writer from then on. If a batch fails, every row of it
//! is tried again on its own, so that one bad row cannot fail the others' requests and each caller gets its own
//! row's result; while the database is unreachable every caller gets that error at once instead of waiting out a
//! retry each. The writer ends when the last handle to it is dropped.
//!
//! [`insert_writer`] is such a writer for rows of one table: on PostgreSQL a batch is one `INSERT … SELECT FROM
//! UNNEST` of one array per column ([`Unnest`]), on SQLite multi-row `INSERT`s, on a connection the writer holds.

use super::batch::{unless_panicked, Answer, Batched, Queue};
use super::held::Held;
use super::{Dialect, StoreError, StoreResult};
use futures::future::BoxFuture;
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::{QueryBuilder, Sqlite};
use std::sync::Arc;

/// Rows flushed together at most.
pub const MAX_BATCH: usize = 256;

/// Writes a batch of rows, all or none.
pub type Flush<T> = Box<dyn FnMut(Vec<T>) -> BoxFuture<'static, StoreResult<()>> + Send>;

/// A handle to a group-commit writer; clones share the writer.
pub struct GroupCommit<T> {
    rows: Batched<T, ()>,
}

impl<T> Clone for GroupCommit<T> {
    fn clone(&self) -> Self {
        Self {
            rows: self.rows.clone(),
        }
    }
}

impl<T: Clone + Send + 'static> GroupCommit<T> {
    /// Starts the writer on the current Tokio runtime, flushing with `flush`.
    pub fn spawn(flush: Flush<T>) -> Self {
        Self {
            rows: Batched::spawn(|queue| writer(queue, flush)),
        }
    }

    /// Writes `row`, returning once it is committed (with others waiting at the same time) or has failed.
    pub async fn write(&self, row: T) -> StoreResult<()> {
        self.rows.call(row).await
    }
}

/// Makes the multi-row `INSERT` of a slice of rows.
pub type Values<DB, T> = for<'q> fn(&'q [T]) -> QueryBuilder<'q, DB>;

/// Rows one multi-row `INSERT` of [`insert_rows`] holds at most. A batch is cut into statements of 128, 64, … 1
/// rows, so that each connection prepares at most eight statements for a table however the batches fall.
pub const ROWS_PER_STATEMENT: usize = 128;

/// Inserts `rows`, all or none, with the multi-row `INSERT`s `statement` makes of them: the flush of a writer of
/// plain audit rows (the provider's events, the API's calls).
pub async fn insert_rows<DB: Dialect, T>(
    pool: &sqlx::Pool<DB>,
    rows: &[T],
    statement: Values<DB, T>,
) -> StoreResult<()>
where
    T: Sync,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    insert_rows_on(&mut *pool.acquire().await?, rows, statement).await
}

/// [`insert_rows`] on `conn`.
async fn insert_rows_on<DB: Dialect, T>(
    conn: &mut DB::Connection,
    rows: &[T],
    statement: Values<DB, T>,
) -> StoreResult<()>
where
    T: Sync,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    if fits_one_statement(rows.len()) {
        // One statement: atomic by itself, no transaction's round trips.
        return Ok(DB::execute_built(statement(rows), conn).await?);
    }
    let mut tx = sqlx::Connection::begin(conn).await?;
    insert_rows_in(&mut tx, rows, statement).await?;
    tx.commit().await?;
    Ok(())
}

/// Inserts `rows` on `tx` with the multi-row `INSERT`s `statement` makes of them, cut as [`insert_rows`] cuts them:
/// for a flush that writes more than one table in one transaction.
pub async fn insert_rows_in<DB: Dialect, T>(
    tx: &mut sqlx::Transaction<'_, DB>,
    rows: &[T],
    statement: Values<DB, T>,
) -> StoreResult<()>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let mut rest = rows;
    while !rest.is_empty() {
        let n = 1 << rest.len().min(ROWS_PER_STATEMENT).ilog2();
        let (these, after) = rest.split_at(n);
        DB::execute_built(statement(these), &mut **tx).await?;
        rest = after;
    }
    Ok(())
}

/// A statement of PostgreSQL's with its arguments.
pub type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Rows of one table as PostgreSQL's `UNNEST` takes them, one array per column: a batch of any size is then one
/// statement, atomic without a transaction, prepared once per connection (so PostgreSQL keeps its plan), where
/// multi-row `INSERT`s cut by size were several inside `BEGIN`/`COMMIT`, a round trip each (issue 16 §1).
pub trait Unnest: Sized {
    /// `INSERT INTO t (a, b) SELECT * FROM UNNEST($1::bigint[], $2::text[])`.
    const INSERT: &'static str;
    /// Binds each column of `rows` as one array, in the order of [`Unnest::INSERT`]'s parameters.
    fn bind_columns<'q>(rows: &'q [Self], q: PgQuery<'q>) -> PgQuery<'q>;
}

/// How a backend writes a batch of rows of one table, all or none, on one connection.
pub trait InsertBatch: Dialect {
    /// `statement` makes the multi-row `INSERT`s SQLite runs; PostgreSQL runs [`Unnest::INSERT`] instead.
    fn insert_batch<'c, T: Unnest + Sync>(
        conn: &'c mut Self::Connection,
        rows: &'c [T],
        statement: Values<Self, T>,
    ) -> BoxFuture<'c, StoreResult<()>>;
}

/// SQLite: multi-row `INSERT`s, as [`insert_rows`] writes them.
impl InsertBatch for Sqlite {
    fn insert_batch<'c, T: Unnest + Sync>(
        conn: &'c mut Self::Connection,
        rows: &'c [T],
        statement: Values<Self, T>,
    ) -> BoxFuture<'c, StoreResult<()>> {
        Box::pin(insert_rows_on(conn, rows, statement))
    }
}

/// PostgreSQL: one statement whatever the batch.
impl InsertBatch for Postgres {
    fn insert_batch<'c, T: Unnest + Sync>(
        conn: &'c mut Self::Connection,
        rows: &'c [T],
        _statement: Values<Self, T>,
    ) -> BoxFuture<'c, StoreResult<()>> {
        Box::pin(async move {
            T::bind_columns(rows, sqlx::query(T::INSERT))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}

/// A group-commit writer of rows of one table ([`InsertBatch`]), on a connection of `writer` (one held, so no
/// pool ping after each batch, and on SQLite a page cache that survives between batches; the pool's when it
/// holds none). A connection whose batch failed goes back to the pool, which closes it if it is broken.
pub fn insert_writer<DB, T>(writer: Held<DB>, statement: Values<DB, T>) -> GroupCommit<T>
where
    DB: InsertBatch,
    T: Unnest + Clone + Send + Sync + 'static,
{
    GroupCommit::spawn(Box::new(move |rows: Vec<T>| {
        let writer = writer.clone();
        Box::pin(async move {
            let mut conn = writer.get().await?;
            let written = DB::insert_batch(&mut conn, &rows, statement).await;
            conn.check(written)
        })
    }))
}

/// A batch [`insert_rows`] writes as one multi-row `INSERT`.
fn fits_one_statement(rows: usize) -> bool {
    rows <= ROWS_PER_STATEMENT && rows.is_power_of_two()
}

async fn writer<T: Clone + Send + 'static>(mut queue: Queue<T, ()>, mut flush: Flush<T>) {
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut waiting, MAX_BATCH).await > 0 {
        let (rows, answers): (Vec<T>, Vec<Answer<()>>) = waiting.drain(..).unzip();
        let alone = (rows.len() > 1).then(|| rows.clone());
        match (unless_panicked(flush(rows)).await, alone) {
            (Ok(()), _) => answers.into_iter().for_each(|a| drop(a.send(Ok(())))),
            // Unreachable, or one row: the same answer for everyone.
            (Err(error), None) | (Err(error @ StoreError::Unavailable(_)), Some(_)) => {
                let error = Arc::new(error);
                for answer in answers {
                    let _ = answer.send(Err(error.clone()));
                }
            }
            (Err(_), Some(rows)) => {
                for (row, answer) in rows.into_iter().zip(answers) {
                    let _ = answer.send(unless_panicked(flush(vec![row])).await.map_err(Arc::new));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A flush that records each batch it was given and refuses any batch holding a negative number.
    fn recording(batches: Arc<Mutex<Vec<Vec<i32>>>>) -> Flush<i32> {
        Box::new(move |rows: Vec<i32>| {
            let batches = batches.clone();
            Box::pin(async move {
                // Lets the other callers queue up behind this batch, as a database round trip would.
                tokio::task::yield_now().await;
                let refused = rows.iter().any(|r| *r < 0);
                batches.lock().unwrap().push(rows);
                if refused {
                    Err(StoreError::Corrupt("refused".into()))
                } else {
                    Ok(())
                }
            })
        })
    }

    #[tokio::test]
    async fn concurrent_rows_share_batches_and_each_is_written_once() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let writer = GroupCommit::spawn(recording(batches.clone()));
        let results = futures::future::join_all((0..100).map(|i| {
            let writer = writer.clone();
            async move { writer.write(i).await }
        }))
        .await;
        assert!(results.iter().all(Result::is_ok));
        let batches = batches.lock().unwrap();
        let mut written: Vec<i32> = batches.iter().flatten().copied().collect();
        written.sort();
        assert_eq!(written, (0..100).collect::<Vec<_>>());
        assert!(
            batches.len() < 10,
            "{} batches for 100 concurrent rows",
            batches.len()
        );
    }

    #[tokio::test]
    async fn a_bad_row_fails_only_its_own_caller() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let writer = GroupCommit::spawn(recording(batches.clone()));
        let results = futures::future::join_all([1, -1, 2, 3].map(|i| {
            let writer = writer.clone();
            async move { writer.write(i).await }
        }))
        .await;
        let failed: Vec<bool> = results.iter().map(Result::is_err).collect();
        assert_eq!(failed, [false, true, false, false]);
        assert!(
            matches!(&results[1], Err(StoreError::Shared(e)) if matches!(**e, StoreError::Corrupt(_)))
        );
        // Tried together first, then each alone.
        assert_eq!(
            *batches.lock().unwrap(),
            [vec![1, -1, 2, 3], vec![1], vec![-1], vec![2], vec![3]]
        );
    }

    #[tokio::test]
    async fn an_unreachable_database_fails_every_caller_at_once() {
        let flushes = Arc::new(Mutex::new(0));
        let counted = flushes.clone();
        let writer = GroupCommit::<i32>::spawn(Box::new(move |_rows| {
            *counted.lock().unwrap() += 1;
            Box::pin(async {
                tokio::task::yield_now().await;
                Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut))
            })
        }));
        let results = futures::future::join_all((0..20).map(|i| {
            let writer = writer.clone();
            async move { writer.write(i).await }
        }))
        .await;
        for result in &results {
            assert!(
                matches!(result, Err(StoreError::Shared(e)) if matches!(**e, StoreError::Unavailable(_))),
                "{result:?}"
            );
        }
        assert!(*flushes.lock().unwrap() < 20, "no retry row by row");
    }

    #[tokio::test]
    async fn a_row_handed_over_is_written_even_if_its_caller_goes_away() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let writer = GroupCommit::spawn(recording(batches.clone()));
        // The caller's future is polled until the row is handed over, then dropped.
        let mut write = Box::pin(writer.write(7));
        assert!(futures::poll!(write.as_mut()).is_pending());
        drop(write);
        // Later rows are written after it, so once one returns the dropped one has been written.
        writer.write(8).await.unwrap();
        let written: Vec<i32> = batches.lock().unwrap().iter().flatten().copied().collect();
        assert_eq!(written, [7, 8]);
    }

    #[tokio::test]
    async fn a_panicking_flush_fails_its_callers_and_the_writer_goes_on() {
        let mut first = true;
        let writer = GroupCommit::<i32>::spawn(Box::new(move |_rows| {
            let panics = std::mem::take(&mut first);
            Box::pin(async move {
                assert!(!panics, "a flush that panics");
                Ok(())
            })
        }));
        let wait = |write| tokio::time::timeout(std::time::Duration::from_secs(5), write);
        let result = wait(writer.write(1)).await.expect("answered");
        assert!(
            matches!(&result, Err(StoreError::Shared(e)) if matches!(**e, StoreError::Unavailable(_))),
            "{result:?}"
        );
        assert!(wait(writer.write(2)).await.expect("answered").is_ok());
    }
}
