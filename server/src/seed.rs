//! Seeding the database with synthetic teaching records from [`app::domain::synthetic`].

use crate::db::{DynStore, StoreResult};
use app::domain::records::TeachingRecord;
use app::domain::synthetic::record;
use chrono::Utc;

/// Records per batch handed to the store.
const SEED_BATCH: u64 = 10_000;

/// Inserts records `start..start + count` of data set `seed`, in one transaction. Returns how many were inserted.
///
/// Each record depends only on its index, so batches are generated on one thread per core (batch `b` on thread
/// `b % threads`) and handed to the store in index order, while the store loads the batch before.
pub async fn seed_store(store: &DynStore, start: u64, count: u64, seed: u64) -> StoreResult<u64> {
    let now = Utc::now();
    let end = start + count;
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 8) as u64;
    let mut generated = Vec::new();
    for thread in 0..threads {
        // Two batches ahead per thread at most: memory stays bounded however many records are asked for.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<TeachingRecord>>(2);
        generated.push(receiver);
        std::thread::spawn(move || {
            let mut batch_start = start + thread * SEED_BATCH;
            while batch_start < end {
                let batch_end = (batch_start + SEED_BATCH).min(end);
                let batch = (batch_start..batch_end).map(|i| record(i, seed)).collect();
                if sender.send(batch).is_err() {
                    return; // the store stopped on an error
                }
                batch_start += threads * SEED_BATCH;
            }
        });
    }
    let (batches, ready) = tokio::sync::mpsc::channel::<Vec<TeachingRecord>>(2);
    // Puts the threads' batches back in index order. A thread that panicked closes its channel early: fewer
    // records arrive than expected, and the store keeps none of them.
    let in_order = tokio::task::spawn_blocking(move || {
        for b in 0.. {
            let Ok(batch) = generated[b % generated.len()].recv() else {
                return;
            };
            if batches.blocking_send(batch).is_err() {
                return;
            }
        }
    });
    let loaded = store.bulk_load_records(ready, count, now).await;
    let _ = in_order.await;
    loaded?;
    Ok(count)
}
