//! The live dashboard's feed, `/support/tasks/events` (DESIGN §6): a task assigned, saved or decided reaches an
//! open dashboard as a `change` event, and a feed that stays open closes once its member of staff no longer has a
//! role that may see tasks.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{version_in, TestApp};
use app::domain::support::{Role, TaskChange, TaskChanged};
use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use server::db::Backend;
use std::time::Duration;
use tower::ServiceExt;

const ADMIN: &str = "ada.adeyemi@education.gov.uk";
const OFFICER: &str = "sam.okafor@education.gov.uk";

on_both_backends!(
    the_live_feed_sends_each_assignment_save_and_decision,
    the_live_feed_closes_when_the_role_is_removed,
);

/// An open `/support/tasks/events` response, read as a browser's `EventSource` would.
struct Feed {
    body: Body,
    buffer: String,
}

impl Feed {
    /// The next event (`event` name and `data`), skipping keep-alive comments; `Ok(None)` when the server ended the
    /// stream, `Err` when nothing came within `within`.
    async fn next(&mut self, within: Duration) -> Result<Option<(String, String)>, ()> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    frame
                        .lines()
                        .find_map(|l| l.strip_prefix(&format!("{name}:")))
                        .map(|v| v.trim_start().to_string())
                };
                if let Some(event) = field("event") {
                    return Ok(Some((event, field("data").unwrap_or_default())));
                }
                continue;
            }
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return Err(()),
                Ok(None) => return Ok(None),
                Ok(Some(frame)) => {
                    if let Ok(data) = frame.expect("the stream reads").into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&data));
                    }
                }
            }
        }
    }

    /// The next `change` event, within ten seconds.
    async fn next_change(&mut self) -> TaskChanged {
        loop {
            match self.next(Duration::from_secs(10)).await {
                Ok(Some((event, data))) if event == "change" => {
                    return serde_json::from_str(&data).expect("a change is JSON")
                }
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the feed ended"),
                Err(()) => panic!("no change event within ten seconds"),
            }
        }
    }
}

/// The service with an officer signed in and a task waiting; the task's reference. The feed checks the role every
/// 100 ms here (a minute's wait has no place in a test).
async fn officer_and_task(backend: Backend) -> Option<(Rp, String)> {
    // An administrator besides, so the officer's role may be removed (one administrator always remains).
    let mut rp = TestApp::new(backend, "live feed")
        .staff(ADMIN, "Ada Adeyemi", Role::Administrator)
        .staff(OFFICER, "Sam Okafor", Role::SupportOfficer)
        .build()
        .await?;
    // A teacher the journey cannot match asks for support.
    let reference = crate::util::unmatched_teacher_asks_for_support(&mut rp).await;
    rp.cookies.remove("tid_staff");
    let signed_in = rp.staff_sign_in(OFFICER).await;
    assert_eq!(signed_in.header("location"), "/support");
    rp.state.live_recheck = Duration::from_millis(100);
    Some((rp, reference))
}

/// Opens the feed as the signed-in officer, with the live watcher running, and waits until it is watching.
async fn open_feed(rp: &Rp) -> (Feed, tokio::task::JoinHandle<()>) {
    let watcher = tokio::spawn(server::outbox::watch_tasks(
        rp.state.store.clone(),
        rp.state.live.clone(),
    ));
    let cookies = rp.cookie_header();
    let request = Request::get("/support/tasks/events")
        .header(header::ACCEPT, "text/event-stream")
        .header(header::COOKIE, cookies)
        .body(Body::empty())
        .unwrap();
    let response = server::http::app(rp.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    // The watcher takes its starting point at its next look after someone starts listening.
    tokio::time::sleep(server::outbox::LIVE_POLL * 3).await;
    (
        Feed {
            body: response.into_body(),
            buffer: String::new(),
        },
        watcher,
    )
}

fn assert_redirect(res: &TestResponse, to: &str) {
    assert!(
        (300..400).contains(&res.status),
        "expected a redirect to {to}, got {}",
        res.status
    );
    assert!(
        res.header("location").starts_with(to),
        "redirected to {}, not {to}",
        res.header("location")
    );
}

async fn the_live_feed_sends_each_assignment_save_and_decision(backend: Backend) {
    let Some((mut rp, reference)) = officer_and_task(backend).await else {
        return;
    };
    let (mut feed, watcher) = open_feed(&rp).await;
    let task = format!("/support/tasks/{reference}");

    let version = version_in(&rp.get(&task).await.body);
    let assigned = rp
        .post(
            &format!("{task}/assign"),
            &[("version", &version), ("assignee", "me")],
        )
        .await;
    assert_redirect(&assigned, &task);
    assert_eq!(
        feed.next_change().await,
        TaskChanged {
            reference: reference.clone(),
            change: TaskChange::Assigned
        }
    );

    let version = version_in(&rp.get(&task).await.body);
    let saved = rp
        .post(
            &format!("{task}/decision"),
            &[
                ("version", &version),
                ("action", "save"),
                ("outcome", "do_not_connect"),
            ],
        )
        .await;
    assert_redirect(&saved, "/support");
    assert_eq!(
        feed.next_change().await,
        TaskChanged {
            reference: reference.clone(),
            change: TaskChange::DraftSaved
        }
    );

    let version = version_in(&rp.get(&task).await.body);
    let checked = rp
        .post(
            &format!("{task}/decision"),
            &[
                ("version", &version),
                ("action", "continue"),
                ("outcome", "do_not_connect"),
                ("reason", "no_matching_record"),
            ],
        )
        .await;
    assert_redirect(&checked, &format!("{task}/check"));
    assert_redirect(&rp.post(&format!("{task}/confirm"), &[]).await, "/support");
    assert_eq!(
        feed.next_change().await,
        TaskChanged {
            reference: reference.clone(),
            change: TaskChange::Decided
        }
    );
    watcher.abort();
}

async fn role_of(rp: &Rp, staff_id: i64) -> Option<Role> {
    let staff = rp.state.store.staff_by_id(staff_id).await.unwrap();
    staff.expect("the member of staff").role
}

async fn the_live_feed_closes_when_the_role_is_removed(backend: Backend) {
    let Some((rp, _)) = officer_and_task(backend).await else {
        return;
    };
    let officer = rp
        .state
        .store
        .list_staff()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.email == OFFICER)
        .unwrap()
        .id;
    let (mut feed, watcher) = open_feed(&rp).await;
    // Several checks pass while the role allows it: the feed stays open.
    assert_eq!(feed.next(Duration::from_millis(500)).await, Err(()));
    // A viewer may still see tasks.
    rp.state
        .store
        .set_role(officer, Some(Role::Viewer))
        .await
        .unwrap();
    assert_eq!(role_of(&rp, officer).await, Some(Role::Viewer));
    assert_eq!(feed.next(Duration::from_millis(500)).await, Err(()));
    // No role: the feed ends at the next check.
    rp.state.store.set_role(officer, None).await.unwrap();
    assert_eq!(role_of(&rp, officer).await, None);
    assert_eq!(
        feed.next(Duration::from_secs(5)).await,
        Ok(None),
        "the feed ends once the role is gone"
    );
    watcher.abort();
}
