//! What the two batching tasks share ([`super::group_commit`] for writes, [`super::coalesce`] for lookups): a
//! request hands an item to one task over a bounded channel (a full channel makes requests wait, never drops an
//! item) and waits for that task's answer to it; a batch that panics fails its callers, as the database's failing
//! would, and the task goes on.

use super::{StoreError, StoreResult};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Items (with their callers) waiting at most; more make their requests wait to hand theirs over.
const QUEUE: usize = 1024;

/// Where a task sends its answer to one item; one error may answer many.
pub type Answer<O> = oneshot::Sender<Result<O, Arc<StoreError>>>;

/// What a task receives: each item with where to answer it.
pub type Queue<I, O> = mpsc::Receiver<(I, Answer<O>)>;

/// A handle to a batching task; clones share it.
pub struct Batched<I, O> {
    items: mpsc::Sender<(I, Answer<O>)>,
}

impl<I, O> Clone for Batched<I, O> {
    fn clone(&self) -> Self {
        Self {
            items: self.items.clone(),
        }
    }
}

impl<I: Send + 'static, O: Send + 'static> Batched<I, O> {
    /// Starts `task` on the current Tokio runtime with the queue; the queue ends when the last handle is dropped.
    pub fn spawn<F>(task: impl FnOnce(Queue<I, O>) -> F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (items, queue) = mpsc::channel(QUEUE);
        tokio::spawn(task(queue));
        Self { items }
    }

    /// Hands `item` over and waits for the task's answer to it.
    pub async fn call(&self, item: I) -> StoreResult<O> {
        let (answer, answered) = oneshot::channel();
        // Only when the runtime is shutting down is the task gone.
        let gone = || StoreError::Unavailable(sqlx::Error::PoolClosed);
        self.items.send((item, answer)).await.map_err(|_| gone())?;
        match answered.await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(error)) => Err(StoreError::Shared(error)),
            Err(_) => Err(gone()),
        }
    }
}

/// The result of one batch's work, a panic in it turned into the error a crashed worker gives.
pub async fn unless_panicked<T>(work: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .unwrap_or(Err(StoreError::Unavailable(sqlx::Error::WorkerCrashed)))
}
