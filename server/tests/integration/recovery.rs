//! The database goes away and comes back: `/ready` fails, pages that need the database show the error page,
//! pages that do not keep working, and when it returns the service recovers without a restart.
//!
//! This stops the test PostgreSQL server, so `./test` runs it on its own, after everything else, with
//! `TEST_PG_STOP` and `TEST_PG_START` set to the commands that stop and start that server.

use crate::support::*;
use std::time::{Duration, Instant};
use tower::ServiceExt;

fn run(command: &str) {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .status()
        .expect("run command");
    assert!(status.success(), "`{command}` failed");
}

async fn send(router: &axum::Router, req: axum::http::Request<axum::body::Body>) -> TestResponse {
    read(router.clone().oneshot(req).await.expect("infallible")).await
}

#[tokio::test]
async fn recovery_after_postgres_stops_and_starts() {
    let (Ok(stop), Ok(start)) = (
        std::env::var("TEST_PG_STOP"),
        std::env::var("TEST_PG_START"),
    ) else {
        eprintln!("TEST_PG_STOP/TEST_PG_START not set: recovery test not run (./test runs it)");
        return;
    };
    let (store, _url) = postgres_store()
        .await
        .expect("TEST_POSTGRES_URL is set with TEST_PG_STOP");
    let dir = tempfile::tempdir().unwrap();
    let state = state_with(store, test_config(&[]), dir.path());
    let router = server::http::app(state.clone());
    assert_eq!(send(&router, get("/ready")).await.status, 200);

    // Take a CSRF token while the database is up, to post a form while it is down.
    let first = send(&router, get("/feedback")).await;
    let token = first.cookie("tid_csrf").unwrap();
    let cookie = format!("tid_csrf={token}");

    run(&stop);
    let started = Instant::now();
    let ready = send(&router, get("/ready")).await;
    assert_eq!(ready.status, 503);
    assert!(ready.body.contains("unreachable"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "probe must not hang"
    );

    assert_eq!(
        send(&router, get("/")).await.status,
        200,
        "pages without data still work"
    );
    let post = send(
        &router,
        post_form(
            "/feedback",
            &cookie,
            &[
                ("satisfaction", "satisfied"),
                ("details", "x"),
                ("csrf_token", &token),
            ],
        ),
    )
    .await;
    assert_eq!(post.status, 503);
    assert!(post
        .body
        .contains("Sorry, there is a problem with the service"));
    assert!(
        !post.body.contains("sqlx") && !post.body.contains("connection"),
        "no internal error text"
    );

    run(&start);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if send(&router, get("/ready")).await.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "service did not recover within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let post = send(
        &router,
        post_form(
            "/feedback",
            &cookie,
            &[
                ("satisfaction", "satisfied"),
                ("details", "back"),
                ("csrf_token", &token),
            ],
        ),
    )
    .await;
    assert_eq!(post.status, 303);
    assert_eq!(
        state.store.recent_feedback(1).await.unwrap()[0].details,
        "back"
    );
}
