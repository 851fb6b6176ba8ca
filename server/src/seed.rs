//! Seeding the database with synthetic teaching records from [`app::domain::synthetic`].

use crate::db::{DynStore, StoreResult};
use app::domain::records::TeachingRecord;
use app::domain::synthetic::record;
use chrono::Utc;

/// Records per transaction when seeding.
const SEED_BATCH: u64 = 10_000;

/// Inserts records `start..start + count` of data set `seed`. Returns how many were inserted.
pub async fn seed_store(store: &DynStore, start: u64, count: u64, seed: u64) -> StoreResult<u64> {
    let now = Utc::now();
    let end = start + count;
    let mut next = start;
    while next < end {
        let batch_end = (next + SEED_BATCH).min(end);
        let records: Vec<TeachingRecord> = (next..batch_end).map(|i| record(i, seed)).collect();
        store.insert_records(&records, now).await?;
        next = batch_end;
    }
    Ok(count)
}
