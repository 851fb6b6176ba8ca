//! Seeding the database with synthetic teaching records from [`app::domain::synthetic`].

use crate::db::{DynStore, StoreResult};
use app::domain::records::TeachingRecord;
use app::domain::synthetic::record;
use chrono::Utc;

/// Records per transaction when seeding.
const SEED_BATCH: u64 = 10_000;

/// Inserts records `start..start + count` of data set `seed`. Returns how many were inserted.
///
/// Generating records and inserting them each take a core, so the next batch is generated on a blocking thread
/// while the current one is inserted.
pub async fn seed_store(store: &DynStore, start: u64, count: u64, seed: u64) -> StoreResult<u64> {
    let now = Utc::now();
    let end = start + count;
    let (batches, mut ready) = tokio::sync::mpsc::channel::<Vec<TeachingRecord>>(2);
    let generator = tokio::task::spawn_blocking(move || {
        let mut next = start;
        while next < end {
            let batch_end = (next + SEED_BATCH).min(end);
            if batches
                .blocking_send((next..batch_end).map(|i| record(i, seed)).collect())
                .is_err()
            {
                return; // the inserting side stopped on an error
            }
            next = batch_end;
        }
    });
    while let Some(records) = ready.recv().await {
        store.insert_records(&records, now).await?;
    }
    // A panic while generating would otherwise look like a short, successful seed.
    generator
        .await
        .expect("the record generator does not panic");
    Ok(count)
}
