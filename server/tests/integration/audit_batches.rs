//! Issue 16 §1: the audit log's group-commit writer on a connection it holds (`group_commit::insert_writer`, in a
//! pool large enough to spare one): on PostgreSQL each batch is one `INSERT … SELECT FROM UNNEST` of one array per
//! column, on SQLite multi-row `INSERT`s. Entries written at once, more than one batch holds, are each stored once
//! with their own columns (no staff and no task stay empty); a batch that cannot be written fails each of its
//! callers, and the writer goes on once the database can be written again.

use crate::util::Sql;
use app::domain::support::Role;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use server::db::audit::AuditEvent;
use server::db::{Backend, DynStore};

on_both_backends!(
    entries_written_at_once_by_the_held_writer_are_each_stored_once_with_their_columns,
    when_the_held_writer_cannot_write_each_caller_fails_and_the_next_write_succeeds,
);

/// More than one batch (`group_commit::MAX_BATCH`), and no power of two, so that SQLite cuts batches.
const ENTRIES: usize = 300;

/// A pool with room for held connections beside the lookups' (the tests' usual stores have five, too few).
const POOL: u32 = 20;

/// A migrated store on `backend` whose pool has [`POOL`] connections, a second connection to its database, and
/// what keeps a SQLite file alive; `None` without PostgreSQL.
async fn store(backend: Backend) -> Option<(DynStore, Sql, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let (store, sql) = match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("audit.sqlite").display());
            let store = server::db::connect(&url, POOL).await.unwrap();
            let sql = Sql::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap());
            (store, sql)
        }
        Backend::Postgres => {
            let Some((_, url)) = crate::support::postgres_store().await else {
                eprintln!("TEST_POSTGRES_URL is not set: audit batches on PostgreSQL not run");
                return None;
            };
            let store = server::db::connect(&url, POOL).await.unwrap();
            let sql = Sql::Postgres(sqlx::PgPool::connect(&url).await.unwrap());
            (store, sql)
        }
    };
    Some((store, sql, dir))
}

/// Entry `i`: every third by a member of staff, every other about a task, each at its own time.
fn entry(
    i: usize,
    staff: i64,
    start: DateTime<Utc>,
) -> (Option<i64>, Option<String>, DateTime<Utc>) {
    (
        i.is_multiple_of(3).then_some(staff),
        i.is_multiple_of(2).then(|| format!("TASK-{i:04}")),
        start + Duration::milliseconds(i as i64),
    )
}

async fn entries_written_at_once_by_the_held_writer_are_each_stored_once_with_their_columns(
    backend: Backend,
) {
    let Some((store, _sql, _dir)) = store(backend).await else {
        return;
    };
    // Whole milliseconds, which both backends store exactly.
    let start = Utc::now().trunc_subsecs(3);
    let staff = store
        .add_staff(
            "bea.batches@education.gov.uk",
            "Bea Batches",
            Role::Administrator,
            start,
        )
        .await
        .unwrap();
    let written = futures::future::join_all((0..ENTRIES).map(|i| {
        let store = store.clone();
        async move {
            let (staff_id, task, at) = entry(i, staff.id, start);
            store
                .audit_event(staff_id, task.as_deref(), &AuditEvent::ViewedTask, at)
                .await
        }
    }))
    .await;
    assert!(written.iter().all(Result::is_ok), "{written:?}");

    let mut stored: Vec<_> = store
        .audit_log(None, ENTRIES as i64 + 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            assert_eq!(r.event, AuditEvent::ViewedTask);
            (r.staff, r.task_reference, r.occurred_at)
        })
        .collect();
    stored.sort_by_key(|(_, _, at)| *at);
    let expected: Vec<_> = (0..ENTRIES)
        .map(|i| {
            let (staff_id, task, at) = entry(i, staff.id, start);
            (staff_id.map(|_| "Bea Batches".to_string()), task, at)
        })
        .collect();
    assert_eq!(stored, expected, "each entry once, with its own columns");
}

async fn when_the_held_writer_cannot_write_each_caller_fails_and_the_next_write_succeeds(
    backend: Backend,
) {
    let Some((store, sql, _dir)) = store(backend).await else {
        return;
    };
    let now = Utc::now();
    // The held connection is taken, and on PostgreSQL the statement prepared on it, before the table goes away.
    store
        .audit_event(None, None, &AuditEvent::SignedIn, now)
        .await
        .unwrap();
    sql.run("ALTER TABLE audit_log RENAME TO audit_log_away")
        .await;
    let failed = futures::future::join_all((0..40).map(|_| {
        let store = store.clone();
        async move {
            store
                .audit_event(None, Some("TASK-GONE"), &AuditEvent::ViewedTask, now)
                .await
        }
    }))
    .await;
    assert!(failed.iter().all(Result::is_err), "{failed:?}");

    sql.run("ALTER TABLE audit_log_away RENAME TO audit_log")
        .await;
    store
        .audit_event(None, Some("TASK-BACK"), &AuditEvent::ViewedTask, now)
        .await
        .expect("written once the table is back");
    let tasks: Vec<_> = store
        .audit_log(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.task_reference)
        .collect();
    assert_eq!(
        tasks,
        [Some("TASK-BACK".to_string()), None],
        "nothing of the failed batch"
    );
}
