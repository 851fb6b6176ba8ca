//! Lookups by key that many requests make at once go to the database together: one query for every key waiting,
//! and each request gets its own row (issue 16 §1).
//!
//! Why: every request of a signed-in teacher reads their session, and for a page kept rendered
//! ([`crate::http::personal_pages`]) that read was nearly all the work: a round trip to PostgreSQL, or hops to
//! SQLite's worker thread, each. Under load many are waiting at the same moment, and one query for twenty keys
//! costs little more than one for one key.
//!
//! What a request reads stays exactly as fresh as its own query would be: a key joins only a query that has not
//! been sent yet (the fetcher takes the keys waiting, then sends), so the rows it gets were read after the request
//! asked. A session ended, or a decision committed, before the request arrived is always seen. One query runs at a
//! time; keys that arrive meanwhile wait for the next, which starts as soon as it ends. A failed query fails every
//! request that was waiting for it, with the same error, as each one's own query would have.

use super::batch::{unless_panicked, Batched, Queue};
use super::StoreResult;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// Keys looked up in one query at most.
pub const MAX_KEYS: usize = 64;

/// Times the fetcher lets other tasks run, to gather more keys, before it sends a query.
const GATHER_YIELDS: usize = 2;

/// Reads the rows of some keys (given without repeats): those found, with their keys.
pub type Fetch<K, V> =
    Box<dyn FnMut(Vec<K>) -> BoxFuture<'static, StoreResult<Vec<(K, V)>>> + Send>;

/// A handle to a fetcher; clones share it.
pub struct Coalesced<K, V> {
    keys: Batched<K, Option<V>>,
}

impl<K, V> Clone for Coalesced<K, V> {
    fn clone(&self) -> Self {
        Self {
            keys: self.keys.clone(),
        }
    }
}

impl<K, V> Coalesced<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    /// Starts the fetcher on the current Tokio runtime; it ends when the last handle is dropped.
    pub fn spawn(fetch: Fetch<K, V>) -> Self {
        Self {
            keys: Batched::spawn(|queue| fetcher(queue, fetch)),
        }
    }

    /// The row of `key`, read by a query sent after this call began.
    pub async fn get(&self, key: K) -> StoreResult<Option<V>> {
        self.keys.call(key).await
    }
}

async fn fetcher<K, V>(mut queue: Queue<K, Option<V>>, mut fetch: Fetch<K, V>)
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    let mut waiting = Vec::with_capacity(MAX_KEYS);
    while queue.recv_many(&mut waiting, MAX_KEYS).await > 0 {
        // Lets the requests already running on this runtime reach their lookups before the query goes: a yield
        // costs a microsecond, a query tens of them on the database's side.
        for _ in 0..GATHER_YIELDS {
            if waiting.len() >= MAX_KEYS {
                break;
            }
            tokio::task::yield_now().await;
            while waiting.len() < MAX_KEYS {
                match queue.try_recv() {
                    Ok(key) => waiting.push(key),
                    Err(_) => break,
                }
            }
        }
        let mut keys: Vec<K> = Vec::with_capacity(waiting.len());
        for (key, _) in &waiting {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        match unless_panicked(fetch(keys)).await {
            Ok(rows) => {
                let rows: HashMap<K, V> = rows.into_iter().collect();
                for (key, answer) in waiting.drain(..) {
                    let _ = answer.send(Ok(rows.get(&key).cloned()));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for (_, answer) in waiting.drain(..) {
                    let _ = answer.send(Err(error.clone()));
                }
            }
        }
    }
}

/// A fetcher of rows by text key on the lookups' connections: `sql` selects the rows whose key is in the JSON
/// array bound as `$1` ([`super::Dialect::IN_JSON_ARRAY`], so one statement however many keys), and `keyed` turns
/// each row into its key and value.
pub fn by_text_key<DB, R, V>(
    lookups: &super::held::Held<DB>,
    sql: String,
    keyed: fn(R) -> StoreResult<(String, V)>,
) -> Coalesced<String, V>
where
    DB: super::Dialect,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    R: for<'r> sqlx::FromRow<'r, DB::Row> + Send + Unpin + 'static,
    V: Clone + Send + 'static,
{
    let lookups = lookups.clone();
    let sql: Arc<str> = sql.into();
    Coalesced::spawn(Box::new(move |keys: Vec<String>| {
        let lookups = lookups.clone();
        let sql = sql.clone();
        Box::pin(async move {
            let keys = serde_json::to_string(&keys).expect("strings serialise");
            let mut conn = lookups.get().await?;
            let found = sqlx::query_as::<DB, R>(&sql)
                .bind(keys)
                .fetch_all(&mut *conn)
                .await;
            conn.check(found)?.into_iter().map(keyed).collect()
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::StoreError;
    use std::sync::Mutex;

    /// A fetch over `table` that records the keys of each query it was asked.
    fn over(
        table: &'static [(u32, &'static str)],
        queries: Arc<Mutex<Vec<Vec<u32>>>>,
    ) -> Fetch<u32, String> {
        Box::new(move |keys: Vec<u32>| {
            let queries = queries.clone();
            Box::pin(async move {
                // Lets the other callers queue up behind this query, as a database round trip would.
                tokio::task::yield_now().await;
                let rows = table
                    .iter()
                    .filter(|(k, _)| keys.contains(k))
                    .map(|(k, v)| (*k, v.to_string()))
                    .collect();
                queries.lock().unwrap().push(keys);
                Ok(rows)
            })
        })
    }

    const TABLE: &[(u32, &str)] = &[(1, "one"), (2, "two"), (3, "three")];

    #[tokio::test]
    async fn concurrent_lookups_share_queries_and_each_gets_its_own_row() {
        let queries = Arc::new(Mutex::new(Vec::new()));
        let lookups = Coalesced::spawn(over(TABLE, queries.clone()));
        let keys: Vec<u32> = (0..100).map(|i| i % 5).collect();
        let found = futures::future::join_all(keys.iter().map(|&k| {
            let lookups = lookups.clone();
            async move { lookups.get(k).await.unwrap() }
        }))
        .await;
        for (key, row) in keys.iter().zip(found) {
            let expected = TABLE
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.to_string());
            assert_eq!(row, expected, "key {key}");
        }
        let queries = queries.lock().unwrap();
        assert!(
            queries.len() < 10,
            "{} queries for 100 lookups",
            queries.len()
        );
        for keys in queries.iter() {
            let mut unique = keys.clone();
            unique.dedup();
            unique.sort();
            unique.dedup();
            assert_eq!(
                unique.len(),
                keys.len(),
                "a key asked twice in one query: {keys:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_lookup_never_joins_a_query_already_sent() {
        // The first query waits until a second lookup has been made; that lookup must get a query of its own.
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let released = Arc::new(Mutex::new(Some(released)));
        let queries = Arc::new(Mutex::new(Vec::new()));
        let seen = queries.clone();
        let lookups = Coalesced::<u32, u32>::spawn(Box::new(move |keys: Vec<u32>| {
            let released = released.lock().unwrap().take();
            seen.lock().unwrap().push(keys.clone());
            Box::pin(async move {
                if let Some(released) = released {
                    released.await.unwrap();
                }
                Ok(keys.into_iter().map(|k| (k, k)).collect())
            })
        }));
        let first = tokio::spawn({
            let lookups = lookups.clone();
            async move { lookups.get(1).await }
        });
        while queries.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let second = tokio::spawn({
            let lookups = lookups.clone();
            async move { lookups.get(2).await }
        });
        tokio::task::yield_now().await;
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), Some(1));
        assert_eq!(second.await.unwrap().unwrap(), Some(2));
        assert_eq!(*queries.lock().unwrap(), [vec![1], vec![2]]);
    }

    #[tokio::test]
    async fn a_failed_query_fails_each_of_its_callers() {
        let lookups = Coalesced::<u32, u32>::spawn(Box::new(|_keys| {
            Box::pin(async {
                tokio::task::yield_now().await;
                Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut))
            })
        }));
        let results = futures::future::join_all((0..20).map(|k| {
            let lookups = lookups.clone();
            async move { lookups.get(k).await }
        }))
        .await;
        for result in results {
            assert!(
                matches!(&result, Err(StoreError::Shared(e)) if matches!(**e, StoreError::Unavailable(_))),
                "{result:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_panicking_query_fails_its_callers_and_the_next_query_still_runs() {
        let calls = Arc::new(Mutex::new(0));
        let counted = calls.clone();
        let lookups = Coalesced::<u32, u32>::spawn(Box::new(move |keys: Vec<u32>| {
            let call = {
                let mut calls = counted.lock().unwrap();
                *calls += 1;
                *calls
            };
            Box::pin(async move {
                assert!(call > 1, "the first query panics");
                Ok(keys.into_iter().map(|k| (k, k)).collect())
            })
        }));
        assert!(lookups.get(7).await.is_err());
        assert_eq!(lookups.get(8).await.unwrap(), Some(8));
    }
}
