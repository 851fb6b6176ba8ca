//! Issue 16 §1: a signed-in teacher's pages are kept rendered and served again only while nothing they show has
//! changed (`server/src/http/personal_pages.rs`). Acted out as the people involved, across two instances over one
//! database: the teacher on instance A, support's decision and the sign-out through instance B or the storage the
//! console writes with, then the teacher back on instance A, whose memory still holds the pages it kept.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{
    assert_redirect, heading, stored_task, unmatched_teacher_asks_for_support, TestApp,
};
use app::domain::support::{Decision, Role};
use server::db::support::NewEmail;
use server::db::Backend;

on_both_backends!(
    the_page_version_moves_with_every_change_a_teacher_s_pages_read,
    a_kept_page_is_served_again_only_until_support_decides_or_the_teacher_signs_out_elsewhere,
    a_form_s_errors_are_shown_once_and_the_page_kept_before_them_comes_back_unchanged,
);

const OFFICER: &str = "sam.okafor@education.gov.uk";

/// How many teacher pages this process has served from memory so far (the counter is the process's own, and the
/// integration tests run one at a time).
fn served_so_far() -> u64 {
    let text = server::metrics::install().render();
    text.lines()
        .find_map(|l| l.strip_prefix(r#"teacher_id_personal_pages_total{outcome="served"} "#))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// The page with every CSP nonce taken out: each response has its own.
fn without_nonces(res: &TestResponse) -> String {
    let mut out = String::new();
    let mut rest = res.body.as_str();
    while let Some(at) = rest.find("nonce=\"") {
        out.push_str(&rest[..at]);
        rest = &rest[at + 7..];
        rest = &rest[rest.find('"').expect("a closing quote") + 1..];
    }
    out.push_str(rest);
    out
}

/// GETs `path` twice and checks the second answer came from memory and is the first but for its nonces.
async fn twice_the_second_from_memory(rp: &mut Rp, path: &str) -> TestResponse {
    let first = rp.get(path).await;
    assert_eq!(first.status, 200, "{path}");
    let served = served_so_far();
    let again = rp.get(path).await;
    assert_eq!(again.status, 200, "{path}");
    assert_eq!(served_so_far(), served + 1, "{path} served as kept");
    assert_eq!(without_nonces(&first), without_nonces(&again));
    assert_ne!(first.body, again.body, "each response has its own nonce");
    again
}

async fn a_kept_page_is_served_again_only_until_support_decides_or_the_teacher_signs_out_elsewhere(
    backend: Backend,
) {
    let Some(mut rp) = TestApp::new(backend, "kept teacher pages")
        .staff(OFFICER, "Sam Okafor", Role::SupportOfficer)
        .build()
        .await
    else {
        return;
    };
    server::metrics::install();
    let store = rp.state.store.clone();
    let instance_a = rp.router.clone();

    // The teacher, on instance A: no record found, support asked; the waiting page is kept.
    let reference = unmatched_teacher_asks_for_support(&mut rp).await;
    let waiting = twice_the_second_from_memory(&mut rp, "/request-pending").await;
    assert!(waiting.body.contains(&reference));

    // Support, through the storage the console writes with: the teacher's record is found and connected.
    let officer = crate::util::staff_member(&store, OFFICER).await;
    let trn = rp.standin.persona("trn-only").unwrap().trn_hint.unwrap();
    let task = stored_task(&store, &reference).await;
    store
        .decide_task(
            &reference,
            task.version,
            &Decision::Connect { trn: trn.clone() },
            &officer,
            &NewEmail {
                reference: "kept-pages-connected".into(),
                template: "connected".into(),
                email_address: "teacher@example.com".into(),
                personalisation: Default::default(),
                task_reference: Some(reference.clone()),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();

    // The teacher again, on instance A, which still holds the waiting page: it is not served.
    let served = served_so_far();
    let after = rp.get("/request-pending").await;
    assert_ne!(after.status, 200, "the waiting page is not shown again");
    assert_eq!(served_so_far(), served);
    let record = twice_the_second_from_memory(&mut rp, "/record").await;
    assert!(record.body.contains(&trn), "their record");
    assert_eq!(heading(&record), "Your teaching record");

    // The teacher signs out through instance B, in another tab; then the first tab, still on instance A, reloads.
    let cookies = rp.cookies.clone();
    rp.new_instance();
    rp.post("/sign-out", &[]).await;
    rp.router = instance_a;
    rp.cookies = cookies;
    let served = served_so_far();
    assert_redirect(&rp.get("/record").await, "/sign-in");
    assert_eq!(
        served_so_far(),
        served,
        "nothing served as kept after sign-out"
    );
}

async fn a_form_s_errors_are_shown_once_and_the_page_kept_before_them_comes_back_unchanged(
    backend: Backend,
) {
    let Some(mut rp) = TestApp::new(backend, "kept teacher pages").build().await else {
        return;
    };
    server::metrics::install();
    rp.verify(
        "no-match",
        onelogin_standin::Outcome::IdentityVerified,
        vec![],
    )
    .await;
    rp.get("/continue").await;
    let question = twice_the_second_from_memory(&mut rp, "/connect/nino").await;
    assert!(!question.body.contains("govuk-error-summary"));

    let typed = "QQ 12 34 56 Z\u{202e}";
    assert_redirect(
        &rp.post("/connect/nino", &[("has_nino", "yes"), ("nino", typed)])
            .await,
        "/connect/nino",
    );
    let served = served_so_far();
    let with_errors = rp.get("/connect/nino").await;
    assert_eq!(served_so_far(), served, "the errors are rendered, not kept");
    assert!(with_errors.body.contains("govuk-error-summary"));
    assert!(
        with_errors.body.contains("QQ 12 34 56 Z"),
        "what was typed is kept"
    );

    // Shown once: after that the page is as it was before the errors, and kept again.
    let again = twice_the_second_from_memory(&mut rp, "/connect/nino").await;
    assert_eq!(without_nonces(&again), without_nonces(&question));

    // An answer moves them on: the question page is rendered for what they answered, not served as it was.
    assert_redirect(
        &rp.post("/connect/nino", &[("has_nino", "no")]).await,
        "/connect/trn",
    );
    let answered = rp.get("/connect/nino").await;
    assert!(
        answered.body.contains(r#"value="no" checked"#),
        "the answer shows"
    );
}

/// The number a kept page must still match, read with the session as every request reads it: each write to what a
/// teacher's pages show moves it (migration 0018's triggers), and a member of staff's session has none.
async fn the_page_version_moves_with_every_change_a_teacher_s_pages_read(backend: Backend) {
    use app::domain::matching::MatchedVia;
    use app::domain::task_details::{RecordMatchingDetails, TaskDetails};
    use server::db::connect::NewSupportTask;
    let Some(rp) = TestApp::new(backend, "kept teacher pages").build().await else {
        return;
    };
    let store = rp.state.store.clone();
    let now = chrono::Utc::now();
    let later = now + chrono::Duration::hours(1);
    let who = (0..)
        .map(|n| app::domain::synthetic::sign_in(n, 1, onelogin_standin::SCANNED_RECORDS))
        .find(|s| s.has_active_record() && s.own_records.len() == 1)
        .unwrap();
    let user = store.sign_in_user("kept-pages", None, now).await.unwrap();
    store
        .insert_session(
            "kept-pages-session",
            "{}",
            Some("kept-pages"),
            Some(user.id),
            now,
            later,
        )
        .await
        .unwrap();
    store
        .insert_session("kept-pages-staff", "{}", None, None, now, later)
        .await
        .unwrap();
    let version = || async {
        store
            .load_live_session("kept-pages-session", now)
            .await
            .unwrap()
            .unwrap()
            .page_version
            .expect("a teacher's session has a version")
    };
    let mut last = version().await;
    let mut moved = |what: &str, now: i64| {
        assert!(now > last, "{what}: {last} -> {now}");
        last = now;
    };

    store.sign_in_user("kept-pages", None, now).await.unwrap();
    moved("signed in again", version().await);
    store
        .record_verified_identity(user.id, &who.identity, now)
        .await
        .unwrap();
    moved("identity verified", version().await);
    let task = store
        .raise_support_task(
            &NewSupportTask {
                user_id: user.id,
                details: TaskDetails::RecordMatching(RecordMatchingDetails {
                    verified: who.identity.clone(),
                    one_login_email: None,
                    nino: None,
                    trn: None,
                    flags: Default::default(),
                    itt: None,
                }),
                client_id: None,
            },
            now,
        )
        .await
        .unwrap();
    moved("support asked", version().await);
    let stored = stored_task(&store, &task.reference).await;
    let officer = store
        .add_staff(
            "kept-pages@example.com",
            "Kept Pages",
            Role::SupportOfficer,
            now,
        )
        .await
        .unwrap();
    store
        .assign_task(
            &task.reference,
            stored.version,
            Some(officer.id),
            officer.id,
            now,
        )
        .await
        .unwrap()
        .unwrap();
    moved("task assigned", version().await);
    let connected = store
        .connect_user(user.id, &who.own_records[0].0, MatchedVia::Trn, "", now)
        .await
        .unwrap();
    assert_eq!(connected, server::db::connect::ConnectResult::Connected);
    moved("record connected", version().await);

    let staff = store
        .load_live_session("kept-pages-staff", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(staff.page_version, None);
}

/// Ends every connection to the database at `url` but the one asking: what a PostgreSQL restart or a failover does
/// to the service's connections.
async fn drop_every_connection(url: &str) {
    let admin = sqlx::PgPool::connect(url).await.expect("PostgreSQL is up");
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&admin)
    .await
    .expect("terminate");
    admin.close().await;
}

/// The session lookup runs on connections held out of the pool (`server/src/db/held.rs`). When PostgreSQL drops
/// them, a held connection fails at most the one lookup that meets it, as a pooled one would, and is replaced; after
/// a second's quiet each is checked before use, so no lookup fails at all.
#[tokio::test]
async fn held_lookup_connections_recover_when_postgres_drops_them() {
    let Some((store, url)) = crate::support::postgres_store().await else {
        eprintln!(
            "TEST_POSTGRES_URL is not set: held lookups on PostgreSQL not run (./test sets it)"
        );
        return;
    };
    let now = chrono::Utc::now();
    let later = now + chrono::Duration::hours(1);
    store
        .insert_session("held", "{}", None, None, now, later)
        .await
        .unwrap();
    let lookup = || async { store.load_live_session("held", now).await };
    for _ in 0..8 {
        assert!(
            lookup().await.unwrap().is_some(),
            "every held connection in use"
        );
    }

    drop_every_connection(&url).await;
    let failed = count_failures(&lookup, 8).await;
    // The test pool holds two (half of five, at most four).
    assert!(
        failed <= 2,
        "{failed} lookups failed, more than the held connections"
    );
    assert!(lookup().await.unwrap().is_some(), "lookups work again");

    drop_every_connection(&url).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(
        count_failures(&lookup, 8).await,
        0,
        "held connections idle for a second are checked before use"
    );
}

/// Makes `times` lookups one after another and counts those that failed; each that worked found the session.
async fn count_failures<F, Fut>(lookup: &F, times: usize) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<
        Output = server::db::StoreResult<Option<server::db::sessions::StoredSession>>,
    >,
{
    let mut failed = 0;
    for _ in 0..times {
        match lookup().await {
            Ok(found) => assert!(found.is_some()),
            Err(_) => failed += 1,
        }
    }
    failed
}
