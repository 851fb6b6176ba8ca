//! Issue 16 §4: seeding loads in bulk (indexes built after the rows, `COPY` on PostgreSQL) and must store exactly
//! what the record-by-record insert stores, so `bench-matching`'s ground truth is unchanged.

use app::domain::records::TeachingRecord;
use app::domain::synthetic;
use server::db::{Backend, DynStore};
use server::seed;

/// A store and a way to read its tables as text.
enum Db {
    Sqlite {
        store: DynStore,
        pool: sqlx::SqlitePool,
        /// Kept so the database file lives as long as the test.
        _dir: tempfile::TempDir,
    },
    Postgres(DynStore, sqlx::PgPool),
}

async fn fresh(backend: Backend) -> Option<Db> {
    match backend {
        Backend::Sqlite => {
            let (store, dir) = crate::support::sqlite_store().await;
            let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            Some(Db::Sqlite {
                store,
                pool,
                _dir: dir,
            })
        }
        Backend::Postgres => {
            let Some((store, url)) = crate::support::postgres_store().await else {
                eprintln!("TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
                return None;
            };
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            Some(Db::Postgres(store, pool))
        }
    }
}

impl Db {
    fn store(&self) -> &DynStore {
        match self {
            Db::Sqlite { store, .. } | Db::Postgres(store, _) => store,
        }
    }

    /// Every row of `table` in id order, every column as text (`∅` for NULL), `|`-separated.
    async fn rows(&self, table: &str) -> Vec<String> {
        match self {
            Db::Sqlite { pool, .. } => {
                let columns: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                        .fetch_all(pool)
                        .await
                        .unwrap();
                sqlx::query_scalar(&Self::as_text(table, &columns))
                    .fetch_all(pool)
                    .await
                    .unwrap()
            }
            Db::Postgres(_, pool) => {
                let columns: Vec<String> = sqlx::query_scalar(
                    "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                )
                .bind(table)
                .fetch_all(pool)
                .await
                .unwrap();
                sqlx::query_scalar(&Self::as_text(table, &columns))
                    .fetch_all(pool)
                    .await
                    .unwrap()
            }
        }
    }

    fn as_text(table: &str, columns: &[String]) -> String {
        assert!(!columns.is_empty(), "{table} has columns");
        let each: Vec<String> = columns
            .iter()
            .map(|c| format!("COALESCE(CAST({c} AS TEXT), '∅')"))
            .collect();
        format!(
            "SELECT {} FROM {table} ORDER BY id",
            each.join(" || '|' || ")
        )
    }

    /// The record tables' indexes: name and definition.
    async fn indexes(&self) -> Vec<(String, String)> {
        let tables = "('persons', 'previous_names', 'qualifications')";
        match self {
            Db::Sqlite { pool, .. } => sqlx::query_as(&format!(
                "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' \
                 AND tbl_name IN {tables} ORDER BY name"
            ))
            .fetch_all(pool)
            .await
            .unwrap(),
            Db::Postgres(_, pool) => sqlx::query_as(&format!(
                "SELECT CAST(indexname AS TEXT), indexdef FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename IN {tables} ORDER BY indexname"
            ))
            .fetch_all(pool)
            .await
            .unwrap(),
        }
    }
}

const TABLES: [&str; 3] = ["persons", "previous_names", "qualifications"];

async fn seeding_stores_exactly_what_inserting_stores_and_keeps_the_indexes(backend: Backend) {
    let (Some(bulk), Some(one_by_one)) = (fresh(backend).await, fresh(backend).await) else {
        return;
    };
    let indexes = bulk.indexes().await;
    assert!(indexes.len() >= 5, "the migrations' indexes: {indexes:?}");
    let records: Vec<TeachingRecord> = (0..1_500).map(|i| synthetic::record(i, 7)).collect();
    let now = chrono::Utc::now();

    // Into empty tables (indexes dropped and built again), then on top of rows (indexes kept), in batches.
    for part in [&records[..1_000], &records[1_000..]] {
        let (send, receive) = tokio::sync::mpsc::channel(4);
        let batches: Vec<Vec<TeachingRecord>> = part.chunks(300).map(<[_]>::to_vec).collect();
        let feeding = tokio::spawn(async move {
            for batch in batches {
                send.send(batch).await.unwrap();
            }
        });
        bulk.store()
            .bulk_load_records(receive, part.len() as u64, now)
            .await
            .unwrap();
        feeding.await.unwrap();
        one_by_one.store().insert_records(part, now).await.unwrap();
    }

    for table in TABLES {
        let (loaded, inserted) = (bulk.rows(table).await, one_by_one.rows(table).await);
        assert!(!loaded.is_empty(), "{table} has rows");
        assert_eq!(loaded.len(), inserted.len(), "{table}: as many rows");
        for (l, i) in loaded.iter().zip(&inserted) {
            assert_eq!(l, i, "{table}: the same row");
        }
    }
    assert_eq!(bulk.indexes().await, indexes, "every index is back");
    for i in [0, 999, 1_000, 1_499] {
        let expected = &records[i];
        assert_eq!(
            bulk.store()
                .record_by_trn(&expected.trn)
                .await
                .unwrap()
                .as_ref(),
            Some(expected),
            "record {i}"
        );
    }
}

async fn a_load_that_gets_fewer_records_than_expected_keeps_nothing(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let indexes = db.indexes().await;
    let (send, receive) = tokio::sync::mpsc::channel(1);
    send.send((0..10).map(|i| synthetic::record(i, 1)).collect())
        .await
        .unwrap();
    drop(send);
    assert!(db
        .store()
        .bulk_load_records(receive, 20, chrono::Utc::now())
        .await
        .is_err());
    assert_eq!(db.store().count_records().await.unwrap(), 0);
    assert_eq!(db.indexes().await, indexes, "the indexes were not lost");
}

async fn the_seed_command_stores_the_generators_records_in_order(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    // More than one batch per generator thread, and a part batch at the end.
    seed::seed_store(db.store(), 0, 25_123, 2).await.unwrap();
    seed::seed_store(db.store(), 25_123, 77, 2).await.unwrap();
    assert_eq!(db.store().count_records().await.unwrap(), 25_200);
    let trns: Vec<String> = db
        .rows("persons")
        .await
        .iter()
        .map(|row| row.split('|').nth(1).unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..25_200).map(|i| synthetic::record(i, 2).trn).collect();
    assert!(trns == expected, "persons in the generator's order");
    for i in [0, 9_999, 10_000, 25_122, 25_199] {
        let expected = synthetic::record(i, 2);
        assert_eq!(
            db.store().record_by_trn(&expected.trn).await.unwrap(),
            Some(expected),
            "record {i}"
        );
    }
}

/// Bytes 18 and 19 of a SQLite file's header: 1 while it is in rollback-journal mode, 2 in WAL mode.
fn journal_bytes(path: &std::path::Path) -> [u8; 2] {
    let header = std::fs::read(path).unwrap();
    [header[18], header[19]]
}

/// Into a new file that nothing else has open, the load leaves WAL for a rollback journal (each page written
/// once). A load that fails there must still keep nothing: no rows, every index, a sound file that serves again,
/// and a load after it that goes back to WAL.
#[tokio::test]
async fn a_failed_load_into_a_new_sqlite_file_keeps_nothing_and_the_file_serves_again() {
    let (store, dir) = crate::support::sqlite_store().await;
    let path = dir.path().join("test.sqlite");
    let url = format!("sqlite://{}", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    // Closed, so the load can leave WAL.
    pool.close().await;
    assert_eq!(journal_bytes(&path), [2, 2], "a new file starts in WAL");

    let (send, receive) = tokio::sync::mpsc::channel(1);
    send.send((0..10).map(|i| synthetic::record(i, 1)).collect())
        .await
        .unwrap();
    drop(send);
    assert!(store
        .bulk_load_records(receive, 20, chrono::Utc::now())
        .await
        .is_err());
    assert_eq!(
        journal_bytes(&path),
        [1, 1],
        "the load ran with a rollback journal"
    );

    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for table in TABLES {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 0, "{table} is empty");
    }
    let after: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(after, indexes, "the indexes were not lost");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    pool.close().await;

    let (send, receive) = tokio::sync::mpsc::channel(1);
    let records: Vec<TeachingRecord> = (0..10).map(|i| synthetic::record(i, 1)).collect();
    send.send(records.clone()).await.unwrap();
    drop(send);
    store
        .bulk_load_records(receive, 10, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(journal_bytes(&path), [2, 2], "back in WAL after a load");
    assert_eq!(store.count_records().await.unwrap(), 10);
    assert_eq!(
        store.record_by_trn(&records[9].trn).await.unwrap().as_ref(),
        Some(&records[9])
    );
}

on_both_backends!(
    seeding_stores_exactly_what_inserting_stores_and_keeps_the_indexes,
    a_load_that_gets_fewer_records_than_expected_keeps_nothing,
    the_seed_command_stores_the_generators_records_in_order,
);
