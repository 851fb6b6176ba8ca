//! Issue 16 §1: views of a task page are audited by group commit (`server/src/db/group_commit.rs`): concurrent
//! views share one commit, and each page is still shown only once its own audit entry is written. Many views at
//! once each leave exactly one entry, shown in the audit log; when the entries cannot be written, every view
//! waiting answers with the problem page, none hangs and none is shown.

use crate::onelogin::Rp;
use crate::support::{read, TestResponse};
use crate::util::{seeded_with_sql, unmatched_teacher_asks_for_support, Sql};
use app::domain::support::Role;
use axum::body::Body;
use axum::http::{header, Request};
use server::db::Backend;
use std::time::Duration;
use tower::ServiceExt;

on_both_backends!(
    concurrent_views_of_a_task_each_leave_one_audit_entry,
    when_the_audit_log_cannot_be_written_every_waiting_view_fails_and_none_hangs,
);

const ADMIN: &str = "ada.views@education.gov.uk";

/// Views at once in each test: more than the pool's connections, fewer than a batch.
const VIEWS: usize = 40;

/// The seeded service with an administrator, and a second connection to its database (`None` without PostgreSQL).
async fn service(backend: Backend) -> Option<(Rp, Sql)> {
    seeded_with_sql(
        backend,
        "view audits",
        (ADMIN, "Ada Views", Role::Administrator),
    )
    .await
}

/// The audit entries of views of task `reference`: who, what was noted, when; in the order written.
async fn views_of(
    sql: &Sql,
    reference: &str,
) -> Vec<(Option<i64>, String, chrono::DateTime<chrono::Utc>)> {
    let query = "SELECT staff_id, details, occurred_at FROM audit_log \
                 WHERE action = 'viewed_task' AND task_reference = $1 ORDER BY id";
    match sql {
        Sql::Sqlite(pool) => sqlx::query_as(query).bind(reference).fetch_all(pool).await,
        Sql::Postgres(pool) => sqlx::query_as(query).bind(reference).fetch_all(pool).await,
    }
    .unwrap()
}

/// The task page `path` viewed `VIEWS` times at once with the browser's cookies, each within 30 seconds.
async fn views_at_once(rp: &Rp, path: &str) -> Vec<TestResponse> {
    let cookies = rp.cookie_header();
    let views = (0..VIEWS).map(|_| {
        let request = Request::get(path)
            .header(header::ACCEPT, "text/html")
            .header(header::COOKIE, &cookies)
            .body(Body::empty())
            .unwrap();
        let router = rp.router.clone();
        async move {
            let response = tokio::time::timeout(Duration::from_secs(30), router.oneshot(request))
                .await
                .expect("a view answers: none waits for ever on its audit entry")
                .unwrap();
            read(response).await
        }
    });
    futures::future::join_all(views).await
}

async fn concurrent_views_of_a_task_each_leave_one_audit_entry(backend: Backend) {
    let Some((mut rp, sql)) = service(backend).await else {
        return;
    };
    let reference = unmatched_teacher_asks_for_support(&mut rp).await;
    let path = format!("/support/tasks/{reference}");
    rp.staff_sign_in(ADMIN).await;
    let admin = crate::util::staff_member(&rp.state.store, ADMIN).await;
    let before = chrono::Utc::now();

    for view in views_at_once(&rp, &path).await {
        assert_eq!(
            view.status,
            200,
            "{}",
            &view.body[..view.body.len().min(300)]
        );
        assert!(view.body.contains(&reference));
    }

    let after = chrono::Utc::now();
    let entries = views_of(&sql, &reference).await;
    assert_eq!(entries.len(), VIEWS, "one entry for each view, no more");
    for (staff_id, details, at) in &entries {
        assert_eq!(*staff_id, Some(admin.id), "who looked");
        assert_eq!(details, "{}");
        assert!(before <= *at && *at <= after, "when: {at}");
    }

    // The audit log shows them, newest first, as it shows a single view.
    let log = rp.get("/support/audit").await;
    assert_eq!(log.status, 200);
    assert_eq!(
        log.body.matches("Viewed the task").count(),
        VIEWS,
        "each view on the audit log's first page"
    );
}

async fn when_the_audit_log_cannot_be_written_every_waiting_view_fails_and_none_hangs(
    backend: Backend,
) {
    let Some((mut rp, sql)) = service(backend).await else {
        return;
    };
    let reference = unmatched_teacher_asks_for_support(&mut rp).await;
    let path = format!("/support/tasks/{reference}");
    rp.staff_sign_in(ADMIN).await;
    assert_eq!(rp.get(&path).await.status, 200);

    // The audit log's table moved away under the running service: every write to it fails, reads elsewhere work.
    sql.run("ALTER TABLE audit_log RENAME TO audit_log_away")
        .await;
    for view in views_at_once(&rp, &path).await {
        assert_eq!(
            view.status,
            503,
            "{}",
            &view.body[..view.body.len().min(300)]
        );
        assert!(view
            .body
            .contains("Sorry, there is a problem with the service"));
        assert!(!view.body.contains(&reference), "nothing of the task shown");
        assert!(!view.body.contains("audit_log"), "no database text shown");
    }

    // Back again: a view is shown and audited as before, and the failed ones left nothing.
    sql.run("ALTER TABLE audit_log_away RENAME TO audit_log")
        .await;
    assert_eq!(rp.get(&path).await.status, 200);
    assert_eq!(views_of(&sql, &reference).await.len(), 2);
}
