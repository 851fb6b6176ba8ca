//! One error at the edge (issue 11 §3): when the database cannot answer, a page, the server function behind it and
//! a form post all answer 503 with "Sorry, there is a problem with the service" (docs/operations.md). Before, the
//! same failure answered 500 on pages and 503 on posts.
//!
//! The failure is made by moving the support tasks' table away under the running service, so sessions still load
//! and each request reaches its page or handler, as when the database drops out in the middle of a request.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{seeded_with_sql, unmatched_teacher_asks_for_support, Sql};
use app::domain::support::Role;
use app::server_fns::console::LoadDashboard;
use leptos::server_fn::ServerFn;
use server::db::Backend;

on_both_backends!(a_database_failure_answers_the_same_on_a_page_and_a_post);

const OFFICER: &str = "officer.errors@education.gov.uk";

/// The seeded service on `backend`, with a way in to its database for the test (`None` without PostgreSQL).
async fn service(backend: Backend) -> Option<(Rp, Sql)> {
    seeded_with_sql(backend, "errors", (OFFICER, OFFICER, Role::SupportOfficer)).await
}

fn assert_service_problem(res: &TestResponse, what: &str) {
    assert_eq!(
        res.status,
        503,
        "{what}: {}",
        &res.body[..res.body.len().min(300)]
    );
    assert!(
        res.body
            .contains("Sorry, there is a problem with the service"),
        "{what}: the GOV.UK problem page"
    );
    assert!(
        !res.body.contains("support_tasks"),
        "{what}: no database text shown"
    );
}

async fn a_database_failure_answers_the_same_on_a_page_and_a_post(backend: Backend) {
    let Some((mut rp, sql)) = service(backend).await else {
        return;
    };
    // A task for the console, then another teacher at the NINO question.
    let reference = unmatched_teacher_asks_for_support(&mut rp).await;
    let task_path = format!("/support/tasks/{reference}");
    rp.cookies.remove("tid_session");
    rp.verify(
        "nino-only",
        onelogin_standin::Outcome::IdentityVerified,
        vec![],
    )
    .await;
    assert_eq!(rp.get("/continue").await.header("location"), "/connect");
    assert_eq!(rp.get("/connect/nino").await.status, 200);
    rp.staff_sign_in(OFFICER).await;
    assert_eq!(rp.get(&task_path).await.status, 200);

    sql.run("ALTER TABLE support_tasks RENAME TO support_tasks_away")
        .await;

    // The teacher: the question's page, and its form.
    assert_service_problem(&rp.get("/connect/nino").await, "NINO page");
    assert_service_problem(
        &rp.post("/connect/nino", &[("has_nino", "no")]).await,
        "NINO form",
    );
    // The console: the dashboard and a task's page, the dashboard's server function, and a task's form.
    assert_service_problem(&rp.get("/support").await, "dashboard");
    assert_service_problem(&rp.get(&task_path).await, "task page");
    let server_fn = rp.fetch(&format!("{}?query=", LoadDashboard::PATH)).await;
    assert_eq!(
        server_fn.status, 503,
        "the dashboard's server function: {}",
        server_fn.body
    );
    assert_service_problem(
        &rp.post(
            &format!("{task_path}/assign"),
            &[("version", "1"), ("assignee", "me")],
        )
        .await,
        "assign form",
    );

    // Back again: everything works as before.
    sql.run("ALTER TABLE support_tasks_away RENAME TO support_tasks")
        .await;
    assert_eq!(rp.get("/connect/nino").await.status, 200);
    assert_eq!(rp.get("/support").await.status, 200);
}
