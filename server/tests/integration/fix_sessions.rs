//! Sessions that stay ended, expire on time and are not made for nothing; sign-out that another site cannot
//! trigger (issue 10, §2 and §8).

use crate::support::*;
use crate::util::TestApp;
use app::ssr::{IdentityStatus, RequestContext, SessionData, SignedInStaff, SignedInUser};
use axum::body::Body;
use axum::extract::Query;
use axum::http::{header, Request};
use axum::routing::get as route_get;
use axum::{Extension, Router};
use chrono::{DateTime, Duration, Utc};
use server::db::{Backend, DynStore};
use server::http::cookies::new_token;
use server::http::session::session_key;
use server::state::AppState;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;
use tower::ServiceExt;

/// A request held in flight: it signals when its handler has loaded the session, and finishes when released.
#[derive(Clone, Default)]
struct Hold {
    started: Arc<Notify>,
    release: Arc<Notify>,
}

/// Our service over `state`, with two routes for these tests: `/test/hold`, which changes the session only after
/// being released (with `?rotate` it also asks for a new session id, as signing in does), and `/test/whoami`, which
/// says who the session belongs to and changes nothing.
fn test_router(state: &AppState, hold: Hold) -> Router {
    let routes = server::http::routes(state)
        .route(
            "/test/hold",
            route_get(
                |Extension(ctx): Extension<RequestContext>,
                 Extension(hold): Extension<Hold>,
                 Query(query): Query<HashMap<String, String>>| async move {
                    hold.started.notify_one();
                    hold.release.notified().await;
                    ctx.session
                        .update(|d| d.logout_state = Some("written by a slow request".into()));
                    if query.contains_key("rotate") {
                        ctx.session.rotate_id();
                    }
                    "done"
                },
            ),
        )
        .route(
            "/test/whoami",
            route_get(|Extension(ctx): Extension<RequestContext>| async move {
                format!(
                    "teacher={:?} staff={:?}",
                    ctx.session
                        .user()
                        .and_then(|u| u.one_login_subject().map(str::to_string)),
                    ctx.staff.lock().data.staff.as_ref().map(|s| s.staff_id)
                )
            }),
        )
        .layer(Extension(hold));
    server::http::with_middleware(routes, state.clone())
}

async fn send(router: &Router, req: Request<Body>) -> TestResponse {
    read(router.clone().oneshot(req).await.expect("infallible")).await
}

fn cookie_header(cookies: &HashMap<String, String>) -> String {
    cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn get_with(path: &str, cookies: &str, fetch_site: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path)
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, cookies);
    if let Some(site) = fetch_site {
        req = req.header("sec-fetch-site", site);
    }
    req.body(Body::empty()).unwrap()
}

/// True when `res` tells the browser to delete cookie `name`.
fn clears(res: &TestResponse, name: &str) -> bool {
    res.set_cookies()
        .iter()
        .any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"))
}

/// How we end the session while the slow request is in flight.
#[derive(Clone, Copy, Debug)]
enum Ending {
    SignOut,
    BackChannelLogout,
}

/// Request A loads the signed-in session and is held; B ends the session; A then finishes and writes. The session
/// must stay ended: no row for the person, the old id dead, and A's response deletes the cookie.
async fn an_ended_session_stays_ended(backend: Backend, ending: Ending, rotate: bool) {
    let Some(mut rp) = TestApp::new(backend, "sessions").build().await else {
        return;
    };
    rp.sign_in("exact-match").await;
    let sub = rp
        .signed_in_user()
        .await
        .expect("signed in")
        .one_login_subject()
        .unwrap()
        .to_string();
    let old_token = rp.cookies["tid_session"].clone();
    let hold = Hold::default();
    let router = test_router(&rp.state, hold.clone());
    let cookies = cookie_header(&rp.cookies);

    let path = if rotate {
        "/test/hold?rotate"
    } else {
        "/test/hold"
    };
    let in_flight = tokio::spawn(router.clone().oneshot(get_with(
        path,
        &cookies,
        Some("same-origin"),
    )));
    hold.started.notified().await;

    match ending {
        Ending::SignOut => {
            let out = send(
                &router,
                get_with("/sign-out", &cookies, Some("same-origin")),
            )
            .await;
            assert!(
                out.header("location")
                    .starts_with(&format!("{}logout?", rp.standin.issuer())),
                "{}",
                out.header("location")
            );
        }
        Ending::BackChannelLogout => {
            let token = rp.standin.logout_token(&sub);
            let req = Request::post("/auth/backchannel-logout")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("logout_token={token}")))
                .unwrap();
            assert_eq!(send(&router, req).await.status, 200);
        }
    }

    hold.release.notify_one();
    let late = read(in_flight.await.unwrap().unwrap()).await;
    assert_eq!(late.status, 200);
    assert!(
        clears(&late, "tid_session"),
        "{ending:?}: the late request deletes the dead cookie: {:?}",
        late.set_cookies()
    );
    assert!(
        !late
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("tid_session=") && !c.starts_with("tid_session=;")),
        "{ending:?}: no new session id is handed out"
    );
    assert_eq!(
        rp.state
            .store
            .load_session(&session_key(&old_token), Utc::now())
            .await
            .unwrap(),
        None,
        "{ending:?}: the old session is not written back"
    );
    assert_eq!(
        rp.state
            .store
            .delete_sessions_for_subject(&sub)
            .await
            .unwrap(),
        0,
        "{ending:?}: no session of that person exists"
    );
    // And the browser is signed out.
    let who = send(&router, get_with("/test/whoami", &cookies, None)).await;
    assert!(who.body.contains("teacher=None"), "{}", who.body);
}

async fn a_request_in_flight_cannot_undo_sign_out(backend: Backend) {
    an_ended_session_stays_ended(backend, Ending::SignOut, false).await;
}

async fn a_request_in_flight_cannot_undo_back_channel_logout(backend: Backend) {
    an_ended_session_stays_ended(backend, Ending::BackChannelLogout, false).await;
}

async fn a_request_in_flight_cannot_rotate_an_ended_session_back_to_life(backend: Backend) {
    an_ended_session_stays_ended(backend, Ending::SignOut, true).await;
    an_ended_session_stays_ended(backend, Ending::BackChannelLogout, true).await;
}

/// A service on `backend` (no stand-in) with the test routes; `None` when PostgreSQL is not configured.
async fn app_on(backend: Backend) -> Option<(Router, AppState, tempfile::TempDir)> {
    let (store, dir): (DynStore, tempfile::TempDir) = match backend {
        Backend::Sqlite => sqlite_store().await,
        Backend::Postgres => (postgres_store().await?.0, tempfile::tempdir().unwrap()),
    };
    let state = state_with(store, test_config(&[]), &dir.path().join("site"));
    let router = test_router(&state, Hold::default());
    Some((router, state, dir))
}

fn teacher_data() -> SessionData {
    SessionData {
        user: Some(SignedInUser {
            user_id: 1,
            way_in: app::ssr::WayIn::OneLogin {
                subject: "urn:fdc:gov.uk:2022:test".into(),
                id_token: "id-token".into(),
            },
            email: app::domain::identity::VerifiedEmail::verified_before("teacher@example.com"),
            identity: IdentityStatus::NotChecked,
        }),
        ..Default::default()
    }
}

fn staff_data() -> SessionData {
    SessionData {
        staff: Some(SignedInStaff {
            staff_id: 7,
            name: "Sam Okafor".into(),
        }),
        ..Default::default()
    }
}

/// Stores a session that began at `created_at` and expires at `expires_at`; returns its cookie token.
async fn stored_session(
    state: &AppState,
    data: &SessionData,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> String {
    let token = new_token();
    let subject = data.user.as_ref().and_then(|u| u.one_login_subject());
    state
        .store
        .insert_session(
            &session_key(&token),
            &serde_json::to_string(data).unwrap(),
            subject,
            data.user.as_ref().map(|u| u.user_id),
            created_at,
            expires_at,
        )
        .await
        .unwrap();
    token
}

async fn expiry_of(state: &AppState, token: &str) -> Option<DateTime<Utc>> {
    state
        .store
        .load_live_session(&session_key(token), Utc::now())
        .await
        .unwrap()
        .map(|s| s.expires_at)
}

async fn sessions_end_at_their_absolute_lifetime_however_busy(backend: Backend) {
    let Some((router, state, _dir)) = app_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let idle_left = now + Duration::minutes(100);
    // Teachers: 12 hours from sign-in, even with idle time left.
    let old = stored_session(
        &state,
        &teacher_data(),
        now - Duration::minutes(12 * 60 + 1),
        idle_left,
    )
    .await;
    let res = send(
        &router,
        get_with("/test/whoami", &format!("tid_session={old}"), None),
    )
    .await;
    assert!(res.body.contains("teacher=None"), "{}", res.body);
    let young = stored_session(
        &state,
        &teacher_data(),
        now - Duration::minutes(11 * 60 + 50),
        now + Duration::minutes(5),
    )
    .await;
    let res = send(
        &router,
        get_with("/test/whoami", &format!("tid_session={young}"), None),
    )
    .await;
    assert!(res.body.contains("teacher=Some"), "{}", res.body);
    // Renewal on use stops at the absolute lifetime, not two hours on.
    let renewed = expiry_of(&state, &young).await.unwrap();
    assert!(
        renewed <= now - Duration::minutes(11 * 60 + 50) + Duration::hours(12),
        "renewed to {renewed}, past the absolute lifetime"
    );
    assert!(
        renewed > now + Duration::minutes(5),
        "but renewed as far as it may"
    );

    // Staff: 8 hours.
    let old_staff = stored_session(
        &state,
        &staff_data(),
        now - Duration::minutes(8 * 60 + 1),
        idle_left,
    )
    .await;
    let res = send(
        &router,
        get_with("/test/whoami", &format!("tid_staff={old_staff}"), None),
    )
    .await;
    assert!(res.body.contains("staff=None"), "{}", res.body);
    let staff = stored_session(
        &state,
        &staff_data(),
        now - Duration::minutes(7 * 60 + 59),
        idle_left,
    )
    .await;
    let res = send(
        &router,
        get_with("/test/whoami", &format!("tid_staff={staff}"), None),
    )
    .await;
    assert!(res.body.contains("staff=Some(7)"), "{}", res.body);
    // A teacher session of that age is fine: the lifetimes are separate.
    let teacher = stored_session(
        &state,
        &teacher_data(),
        now - Duration::minutes(8 * 60 + 1),
        idle_left,
    )
    .await;
    let res = send(
        &router,
        get_with("/test/whoami", &format!("tid_session={teacher}"), None),
    )
    .await;
    assert!(res.body.contains("teacher=Some"), "{}", res.body);
}

async fn using_a_session_renews_its_idle_time_without_writing_on_every_request(backend: Backend) {
    let Some((router, state, _dir)) = app_on(backend).await else {
        return;
    };
    let now = Utc::now();
    // A member of staff has read for almost two hours without saving anything: reading keeps them signed in.
    let nearly_idle = now + Duration::minutes(5);
    let reader = stored_session(
        &state,
        &staff_data(),
        now - Duration::minutes(115),
        nearly_idle,
    )
    .await;
    let res = send(
        &router,
        get_with("/test/whoami", &format!("tid_staff={reader}"), None),
    )
    .await;
    assert!(res.body.contains("staff=Some(7)"), "{}", res.body);
    let renewed = expiry_of(&state, &reader).await.expect("still live");
    assert!(
        renewed >= now + Duration::minutes(119),
        "idle time renewed on use: expires {renewed}"
    );
    // The same for a teacher.
    let teacher = stored_session(
        &state,
        &teacher_data(),
        now - Duration::minutes(115),
        nearly_idle,
    )
    .await;
    send(
        &router,
        get_with("/test/whoami", &format!("tid_session={teacher}"), None),
    )
    .await;
    assert!(expiry_of(&state, &teacher).await.unwrap() >= now + Duration::minutes(119));
    // With more than half the idle time left, reading writes nothing.
    let fresh_expiry = now + Duration::minutes(100);
    let fresh = stored_session(
        &state,
        &staff_data(),
        now - Duration::minutes(20),
        fresh_expiry,
    )
    .await;
    send(
        &router,
        get_with("/test/whoami", &format!("tid_staff={fresh}"), None),
    )
    .await;
    assert_eq!(
        expiry_of(&state, &fresh).await.unwrap().timestamp_micros(),
        fresh_expiry.timestamp_micros(),
        "not renewed yet"
    );
}

/// Every session row there is, counted by deleting them as if a day had passed.
async fn session_rows(state: &AppState) -> u64 {
    state
        .store
        .delete_expired_sessions(Utc::now() + Duration::days(1))
        .await
        .unwrap()
}

async fn anonymous_invalid_feedback_creates_no_session_row(backend: Backend) {
    let Some((router, state, _dir)) = app_on(backend).await else {
        return;
    };
    let form = send(&router, get("/feedback")).await;
    let token = form.cookie("tid_csrf").unwrap();
    let cookie = format!("tid_csrf={token}");
    for _ in 0..3 {
        let res = send(
            &router,
            post_form(
                "/feedback",
                &cookie,
                &[("details", "Typed before choosing"), ("csrf_token", &token)],
            ),
        )
        .await;
        // The form comes straight back with its errors and what was typed.
        assert_eq!(res.status, 200);
        assert!(res.body.contains("There is a problem"));
        assert!(res.body.contains("Select how you feel about this service"));
        assert!(res.body.contains("Typed before choosing"));
        assert!(res.cookie("tid_session").is_none(), "no session cookie");
    }
    assert_eq!(session_rows(&state).await, 0, "no session rows");
    // A later visit to the form starts clean.
    let again = send(&router, get_with("/feedback", &cookie, None)).await;
    assert!(!again.body.contains("There is a problem"));
}

async fn a_flash_keeps_a_few_kilobytes_at_most(backend: Backend) {
    let Some((router, state, _dir)) = app_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let session = stored_session(&state, &teacher_data(), now, now + Duration::hours(2)).await;
    let form = send(&router, get("/feedback")).await;
    let token = form.cookie("tid_csrf").unwrap();
    let cookie = format!("tid_csrf={token}; tid_session={session}");
    let huge = "x".repeat(60_000);
    let res = send(
        &router,
        post_form(
            "/feedback",
            &cookie,
            &[
                ("satisfaction", "satisfied"),
                ("details", &huge),
                ("csrf_token", &token),
            ],
        ),
    )
    .await;
    assert_eq!((res.status, res.header("location")), (303, "/feedback"));
    let stored = state
        .store
        .load_session(&session_key(&session), Utc::now())
        .await
        .unwrap()
        .expect("the signed-in session keeps the flash");
    assert!(stored.contains("xxxx"), "what was typed is kept, cut short");
    assert!(
        stored.len() <= app::ssr::MAX_FLASH_BYTES + 2_048,
        "the session holds {} bytes",
        stored.len()
    );
}

async fn sign_out_links_from_elsewhere_ask_first_and_the_button_signs_out(backend: Backend) {
    let Some(mut rp) = TestApp::new(backend, "sessions").build().await else {
        return;
    };
    rp.sign_in("exact-match").await;
    let router = test_router(&rp.state, Hold::default());
    let cookies = cookie_header(&rp.cookies);
    // Another site, a sibling subdomain, a typed address, an old browser: a "Sign out?" page, still signed in.
    for site in [Some("cross-site"), Some("same-site"), Some("none"), None] {
        let res = send(&router, get_with("/sign-out", &cookies, site)).await;
        assert_eq!(
            (res.status, res.header("location")),
            (303, "/sign-out/confirm"),
            "{site:?}"
        );
        assert!(
            rp.signed_in_user().await.is_some(),
            "{site:?}: still signed in"
        );
    }
    let page = send(
        &router,
        get_with("/sign-out/confirm", &cookies, Some("cross-site")),
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<h1 class=\"govuk-heading-l\">Sign out?</h1>"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains(r#"<form method="post" action="/sign-out""#));
    let csrf = rp.cookies["tid_csrf"].clone();
    assert!(page
        .body
        .contains(&format!(r#"name="csrf_token" value="{csrf}""#)));
    // The button's POST needs the CSRF token.
    let forged = send(&router, post_form("/sign-out", &cookies, &[])).await;
    assert_eq!(forged.status, 403);
    assert!(rp.signed_in_user().await.is_some());
    let out = send(
        &router,
        post_form("/sign-out", &cookies, &[("csrf_token", &csrf)]),
    )
    .await;
    assert!(
        out.header("location")
            .starts_with(&format!("{}logout?", rp.standin.issuer())),
        "{}",
        out.header("location")
    );
    assert!(rp.signed_in_user().await.is_none(), "signed out");
}

async fn the_header_link_still_signs_out_at_once(backend: Backend) {
    let Some(mut rp) = TestApp::new(backend, "sessions").build().await else {
        return;
    };
    rp.sign_in("exact-match").await;
    let router = test_router(&rp.state, Hold::default());
    let page = send(
        &router,
        get_with("/test/whoami", &cookie_header(&rp.cookies), None),
    )
    .await;
    assert!(page.body.contains("teacher=Some"));
    let res = send(
        &router,
        get_with(
            "/sign-out",
            &cookie_header(&rp.cookies),
            Some("same-origin"),
        ),
    )
    .await;
    assert!(res
        .header("location")
        .starts_with(&format!("{}logout?", rp.standin.issuer())));
    assert!(rp.signed_in_user().await.is_none());
}

on_both_backends!(
    a_request_in_flight_cannot_undo_sign_out,
    a_request_in_flight_cannot_undo_back_channel_logout,
    a_request_in_flight_cannot_rotate_an_ended_session_back_to_life,
    sessions_end_at_their_absolute_lifetime_however_busy,
    using_a_session_renews_its_idle_time_without_writing_on_every_request,
    anonymous_invalid_feedback_creates_no_session_row,
    a_flash_keeps_a_few_kilobytes_at_most,
    sign_out_links_from_elsewhere_ask_first_and_the_button_signs_out,
    the_header_link_still_signs_out_at_once,
);
