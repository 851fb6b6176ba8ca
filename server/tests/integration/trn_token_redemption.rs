//! Redeeming TRN tokens (issue 12, DESIGN §7.2) over HTTP, against the stand-in: `/sign-in?trn_token=` keeps the
//! token in the session, and once One Login has verified the teacher, `/continue` connects them to the token's
//! record without questions when the rule allows ([`app::domain::trn_tokens::may_redeem`]); otherwise the normal
//! journey runs and the token stays unused. A token is used once, even by two redemptions at the same moment. The
//! QTS email's link is such a sign-in link. On both backends.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{assert_redirect, record, seeded_with_sql, Sql};
use app::domain::records::{RecordStatus, TeachingRecord};
use app::domain::support::{ConnectedHow, Role};
use app::domain::trn_tokens::ApiScope;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use onelogin_standin::{CustomPerson, NextLogin, Outcome, CUSTOM};
use server::db::api::NewTrnToken;
use server::db::connect::Redemption;
use server::db::Backend;
use server::http::assets::sha256_hex;

on_both_backends!(
    a_valid_token_connects_a_verified_teacher_without_questions,
    a_token_the_rule_refuses_leaves_the_normal_journey_and_stays_unused,
    one_token_connects_one_person_only,
    a_teacher_already_signed_in_may_bring_a_token_mid_journey,
    the_qts_emails_link_signs_the_teacher_in_and_connects_them,
    a_connected_teacher_sees_qts_on_their_record_page_once_it_is_awarded,
    a_token_closes_the_teachers_open_record_matching_task_for_every_officer,
);

/// Our service with the personas' records, an API client, and a second connection to its database.
async fn service(backend: Backend) -> Option<(Rp, Sql, i64)> {
    let (rp, sql) = seeded_with_sql(
        backend,
        "TRN-token redemption",
        ("admin@education.gov.uk", "Ada Admin", Role::Administrator),
    )
    .await?;
    let args = server::api::ApiClientAddArgs {
        name: "Register trainee teachers".into(),
        scopes: [ApiScope::TrnTokensWrite, ApiScope::QtsWrite].into(),
    };
    let (client, _) = server::api::api_client_add(&rp.state.store, &args, Utc::now())
        .await
        .unwrap();
    Some((rp, sql, client))
}

fn dob() -> NaiveDate {
    NaiveDate::from_ymd_opt(1984, 6, 3).unwrap()
}

/// An active record without an email or NINO (so nothing else connects its teacher without questions), stored.
async fn stored_record(
    rp: &Rp,
    trn: &str,
    names: (&str, &str),
    status: RecordStatus,
) -> TeachingRecord {
    let r = record(trn, names, dob(), None, status);
    rp.state
        .store
        .insert_records(std::slice::from_ref(&r), Utc::now())
        .await
        .unwrap();
    r
}

/// A token for the record `trn` that expires at `expires_at`; the token itself.
async fn token_for(rp: &Rp, client: i64, trn: &str, expires_at: DateTime<Utc>) -> String {
    let (token, token_sha256) = server::http::cookies::new_secret();
    rp.state
        .store
        .add_trn_token(&NewTrnToken {
            token_sha256,
            trn: trn.into(),
            email: "teacher@school.example".into(),
            api_client_id: client,
            created_at: expires_at - Duration::days(180),
            expires_at,
        })
        .await
        .unwrap();
    token
}

fn in_180_days() -> DateTime<Utc> {
    Utc::now() + Duration::days(180)
}

/// Who One Login says the teacher is.
fn person(names: (&str, &str), date_of_birth: NaiveDate, email: &str) -> CustomPerson {
    CustomPerson {
        first_name: names.0.into(),
        last_name: names.1.into(),
        previous_first_name: None,
        previous_last_name: None,
        previous_name_valid_until: None,
        date_of_birth,
        email: email.into(),
    }
}

/// Starts at `sign_in` (with or without a token), signs in as `who`, proves their identity and follows our
/// redirect from `/continue`, which it returns.
async fn verified_from(rp: &mut Rp, sign_in: &str, who: &CustomPerson) -> TestResponse {
    let next = |outcome| NextLogin {
        custom: Some(who.clone()),
        ..NextLogin::new(CUSTOM, outcome)
    };
    let back = rp.round_trip(sign_in, next(Outcome::Authenticated)).await;
    assert_redirect(&back, "/auth/identity");
    let verified = rp
        .round_trip("/auth/identity", next(Outcome::IdentityVerified))
        .await;
    assert_redirect(&verified, "/continue");
    rp.get("/continue").await
}

/// The session our browser holds now.
async fn session(rp: &Rp) -> app::ssr::SessionData {
    let token = rp.cookies.get("tid_session").expect("a session").clone();
    let key = server::http::session::session_key(&token);
    let json = rp
        .state
        .store
        .load_session(&key, Utc::now())
        .await
        .unwrap()
        .expect("a live session");
    serde_json::from_str(&json).unwrap()
}

async fn used_at(rp: &Rp, token: &str) -> Option<DateTime<Utc>> {
    rp.state
        .store
        .trn_token(&sha256_hex(token))
        .await
        .unwrap()
        .expect("the token")
        .used_at
}

/// The TRN of the record the signed-in teacher is connected to.
async fn connected_trn(rp: &mut Rp) -> Option<String> {
    let user = rp.signed_in_user().await.expect("signed in");
    rp.state
        .store
        .connected_record(user.user_id)
        .await
        .unwrap()
        .map(|r| r.trn)
}

/// How each connection of the record was made, oldest first.
async fn connections_of(rp: &Rp, trn: &str) -> Vec<ConnectedHow> {
    rp.state
        .store
        .record_history(trn)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "one_login_connected")
        .map(|e| e.details.as_ref().expect("details").how)
        .collect()
}

async fn a_valid_token_connects_a_verified_teacher_without_questions(backend: Backend) {
    let Some((mut rp, _, client)) = service(backend).await else {
        return;
    };
    let r = stored_record(&rp, "3100001", ("Ann", "Lee"), RecordStatus::Active).await;
    let token = token_for(&rp, client, &r.trn, in_180_days()).await;
    let who = person(("Ann", "Lee"), dob(), "ann.lee@example.com");
    let next = verified_from(&mut rp, &format!("/sign-in?trn_token={token}"), &who).await;
    assert_redirect(&next, "/connected");
    assert_eq!(connected_trn(&mut rp).await.as_deref(), Some("3100001"));
    let history = rp.state.store.record_history(&r.trn).await.unwrap();
    assert_eq!(history.len(), 1);
    let details = history[0].details.as_ref().unwrap();
    assert_eq!(details.how, ConnectedHow::TrnToken);
    assert_eq!(details.one_login_email, "ann.lee@example.com");
    assert!(used_at(&rp, &token).await.is_some(), "the token is used");
    assert_eq!(
        session(&rp).await.trn_token,
        None,
        "and gone from the session"
    );
    assert_eq!(rp.get("/record").await.status, 200, "their record");
}

async fn a_token_the_rule_refuses_leaves_the_normal_journey_and_stays_unused(backend: Backend) {
    let Some((mut rp, sql, client)) = service(backend).await else {
        return;
    };
    let ann = ("Ann", "Lee");
    // Each case: a record, its token, and who One Login verified; none may connect by the token.
    let expired = stored_record(&rp, "3100011", ann, RecordStatus::Active).await;
    let expired_token =
        token_for(&rp, client, &expired.trn, Utc::now() - Duration::seconds(1)).await;
    let used = stored_record(&rp, "3100012", ann, RecordStatus::Active).await;
    let used_token = token_for(&rp, client, &used.trn, in_180_days()).await;
    sql.run(&format!(
        "UPDATE trn_tokens SET used_at = created_at WHERE token_sha256 = '{}'",
        sha256_hex(&used_token)
    ))
    .await;
    let other_name = stored_record(&rp, "3100013", ann, RecordStatus::Active).await;
    let other_name_token = token_for(&rp, client, &other_name.trn, in_180_days()).await;
    let other_dob = stored_record(&rp, "3100014", ann, RecordStatus::Active).await;
    let other_dob_token = token_for(&rp, client, &other_dob.trn, in_180_days()).await;
    let deactivated = stored_record(&rp, "3100015", ann, RecordStatus::Deactivated).await;
    let deactivated_token = token_for(&rp, client, &deactivated.trn, in_180_days()).await;
    let taken = stored_record(&rp, "3100016", ann, RecordStatus::Active).await;
    let taken_token = token_for(&rp, client, &taken.trn, in_180_days()).await;
    let someone = rp
        .state
        .store
        .sign_in_user("urn:fdc:gov.uk:2022:someone-else", None, Utc::now())
        .await
        .unwrap();
    rp.state
        .store
        .connect_user(
            someone.id,
            &taken.trn,
            app::domain::matching::MatchedVia::Nino,
            "",
            Utc::now(),
        )
        .await
        .unwrap();

    let cases = [
        (
            "expired",
            &expired,
            &expired_token,
            person(ann, dob(), "a1@example.com"),
        ),
        (
            "used",
            &used,
            &used_token,
            person(ann, dob(), "a2@example.com"),
        ),
        (
            "another last name",
            &other_name,
            &other_name_token,
            person(("Ann", "Leigh"), dob(), "a3@example.com"),
        ),
        (
            "another date of birth",
            &other_dob,
            &other_dob_token,
            person(ann, dob() + Duration::days(1), "a4@example.com"),
        ),
        (
            "deactivated record",
            &deactivated,
            &deactivated_token,
            person(ann, dob(), "a5@example.com"),
        ),
        (
            "record connected to someone else",
            &taken,
            &taken_token,
            person(ann, dob(), "a6@example.com"),
        ),
    ];
    for (case, r, token, who) in cases {
        rp.cookies.clear();
        let before = used_at(&rp, token).await;
        let history_before = connections_of(&rp, &r.trn).await;
        let next = verified_from(&mut rp, &format!("/sign-in?trn_token={token}"), &who).await;
        assert_redirect(&next, "/connect");
        assert_eq!(connected_trn(&mut rp).await, None, "{case}: not connected");
        assert_eq!(used_at(&rp, token).await, before, "{case}: token unchanged");
        assert_eq!(
            connections_of(&rp, &r.trn).await,
            history_before,
            "{case}: no history"
        );
        assert_eq!(
            session(&rp).await.trn_token,
            None,
            "{case}: token had its chance"
        );
    }
    assert_eq!(used_at(&rp, &expired_token).await, None);
    // The control: a token for the same kind of record, that the rule allows, connects.
    rp.cookies.clear();
    let fresh = token_for(&rp, client, &expired.trn, in_180_days()).await;
    let again = verified_from(
        &mut rp,
        &format!("/sign-in?trn_token={fresh}"),
        &person(ann, dob(), "a7@example.com"),
    )
    .await;
    assert_redirect(&again, "/connected");
}

async fn one_token_connects_one_person_only(backend: Backend) {
    let Some((mut rp, _, client)) = service(backend).await else {
        return;
    };
    let r = stored_record(&rp, "3100021", ("Ann", "Lee"), RecordStatus::Active).await;
    let token = token_for(&rp, client, &r.trn, in_180_days()).await;
    let sign_in = format!("/sign-in?trn_token={token}");
    let first = person(("Ann", "Lee"), dob(), "first@example.com");
    assert_redirect(
        &verified_from(&mut rp, &sign_in, &first).await,
        "/connected",
    );
    let used = used_at(&rp, &token).await;
    assert!(used.is_some());
    // Someone else with the same name and date of birth, and the same link.
    rp.cookies.clear();
    let second = person(("Ann", "Lee"), dob(), "second@example.com");
    assert_redirect(&verified_from(&mut rp, &sign_in, &second).await, "/connect");
    assert_eq!(connected_trn(&mut rp).await, None);
    assert_eq!(used_at(&rp, &token).await, used);
    assert_eq!(
        connections_of(&rp, &r.trn).await,
        vec![ConnectedHow::TrnToken]
    );

    // Two redemptions at the same moment: one connects, the other finds the token used.
    let r2 = stored_record(&rp, "3100022", ("Bo", "Kay"), RecordStatus::Active).await;
    let token2 = token_for(&rp, client, &r2.trn, in_180_days()).await;
    let store = &rp.state.store;
    let now = Utc::now();
    let u1 = store.sign_in_user("urn:race:1", None, now).await.unwrap();
    let u2 = store.sign_in_user("urn:race:2", None, now).await.unwrap();
    let hash = sha256_hex(&token2);
    let (a, b) = tokio::join!(
        store.redeem_trn_token(&hash, u1.id, "", now),
        store.redeem_trn_token(&hash, u2.id, "", now)
    );
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        [Redemption::Connected, Redemption::TokenUnusable],
        "one of two at once"
    );
    assert_eq!(
        connections_of(&rp, &r2.trn).await,
        vec![ConnectedHow::TrnToken]
    );
}

async fn a_teacher_already_signed_in_may_bring_a_token_mid_journey(backend: Backend) {
    let Some((mut rp, _, client)) = service(backend).await else {
        return;
    };
    let r = stored_record(&rp, "3100031", ("Ann", "Lee"), RecordStatus::Active).await;
    let who = person(("Ann", "Lee"), dob(), "ann@example.com");
    assert_redirect(&verified_from(&mut rp, "/sign-in", &who).await, "/connect");
    assert_redirect(
        &rp.post("/connect/nino", &[("has_nino", "no")]).await,
        "/connect/trn",
    );
    let token = token_for(&rp, client, &r.trn, in_180_days()).await;
    // Signed in already: no round trip to One Login, straight on.
    let back = rp.get(&format!("/sign-in?trn_token={token}")).await;
    assert_redirect(&back, "/continue");
    assert_redirect(&rp.get("/continue").await, "/connected");
    assert_eq!(connected_trn(&mut rp).await.as_deref(), Some("3100031"));
    assert_eq!(session(&rp).await.connect, None, "the questions are over");
    assert!(used_at(&rp, &token).await.is_some());
}

/// An API client with the `qts:write` scope tells us `trn` was awarded QTS on 15 July 2026; the answer.
pub(crate) async fn award_qts(rp: &Rp, trn: &str) -> TestResponse {
    let args = server::api::ApiClientAddArgs {
        name: "Award QTS".into(),
        scopes: [ApiScope::QtsWrite].into(),
    };
    let (_, key) = server::api::api_client_add(&rp.state.store, &args, Utc::now())
        .await
        .unwrap();
    let put = axum::http::Request::put(format!("/api/v1/teachers/{trn}/qts"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {key}"))
        .body(axum::body::Body::from(r#"{"awarded":"2026-07-15"}"#))
        .unwrap();
    use tower::ServiceExt;
    crate::support::read(rp.router.clone().oneshot(put).await.unwrap()).await
}

async fn the_qts_emails_link_signs_the_teacher_in_and_connects_them(backend: Backend) {
    let Some((mut rp, _, _)) = service(backend).await else {
        return;
    };
    let mut r = record("3100041", ("Cy", "Fox"), dob(), None, RecordStatus::Active);
    r.email = Some("cy.fox@school.example".into());
    rp.state
        .store
        .insert_records(std::slice::from_ref(&r), Utc::now())
        .await
        .unwrap();
    let awarded = award_qts(&rp, "3100041").await;
    assert_eq!(awarded.status, 201, "{}", awarded.body);
    let emails = rp.state.store.recent_emails(10).await.unwrap();
    let email = emails
        .iter()
        .find(|e| e.email.template == "qts_awarded")
        .expect("the QTS email");
    let link = &email.email.personalisation["sign_in_url"];
    let path = link
        .strip_prefix(&rp.state.config.public_base_url)
        .expect("a link to us");
    assert!(path.starts_with("/sign-in?trn_token="), "{path}");
    // One Login knows them by another email: only the token connects them without questions.
    let who = person(("Cy", "Fox"), dob(), "cy@home.example");
    assert_redirect(&verified_from(&mut rp, path, &who).await, "/connected");
    assert_eq!(connected_trn(&mut rp).await.as_deref(), Some("3100041"));
    let page = rp.get("/record").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Qualified teacher status"), "QTS shown");
    assert!(page.body.contains("15 July 2026"), "with its date");
}

async fn a_connected_teacher_sees_qts_on_their_record_page_once_it_is_awarded(backend: Backend) {
    let Some((mut rp, _, client)) = service(backend).await else {
        return;
    };
    let r = stored_record(&rp, "3100051", ("Di", "Ng"), RecordStatus::Active).await;
    let token = token_for(&rp, client, &r.trn, in_180_days()).await;
    let who = person(("Di", "Ng"), dob(), "di@example.com");
    let next = verified_from(&mut rp, &format!("/sign-in?trn_token={token}"), &who).await;
    assert_redirect(&next, "/connected");
    // Seen once, so the page is kept (issue 16 §1); the award must move it on.
    for _ in 0..2 {
        let page = rp.get("/record").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("15 July 2026"));
    }
    let awarded = award_qts(&rp, "3100051").await;
    assert_eq!(awarded.status, 201, "{}", awarded.body);
    assert!(
        awarded.body.contains(r#""emailSent":false"#),
        "no email on the record"
    );
    let page = rp.get("/record").await;
    assert!(
        page.body.contains("15 July 2026"),
        "the award on the page at once"
    );
}

async fn a_token_closes_the_teachers_open_record_matching_task_for_every_officer(backend: Backend) {
    let Some((mut rp, _, client)) = service(backend).await else {
        return;
    };
    // A teacher the journey could not match asks support to find their record.
    let r = stored_record(&rp, "3100061", ("Eve", "Hart"), RecordStatus::Active).await;
    let who = person(("Eve", "Hart"), dob(), "eve@example.com");
    assert_redirect(&verified_from(&mut rp, "/sign-in", &who).await, "/connect");
    rp.get("/connect/nino").await;
    let reference = crate::util::answer_no_and_ask_for_support(&mut rp).await;
    let task_path = app::domain::support::task_href(&reference);
    // An officer opens the task, and keeps it open.
    crate::console::as_staff(&mut rp, "admin@education.gov.uk").await;
    let opened = rp.get(&task_path).await;
    assert_eq!(opened.status, 200);
    let version_seen = crate::util::version_in(&opened.body);

    let feed_from = rp.state.store.latest_audit_id().await.unwrap();
    // Then QTS is awarded and the teacher follows the email's link.
    let token = token_for(&rp, client, &r.trn, in_180_days()).await;
    // Days later, in a new browser: One Login signs them in, and their identity is verified already.
    rp.cookies.clear();
    let back = rp
        .round_trip(
            &format!("/sign-in?trn_token={token}"),
            NextLogin {
                custom: Some(who.clone()),
                ..NextLogin::new(CUSTOM, Outcome::Authenticated)
            },
        )
        .await;
    assert_redirect(&back, "/continue");
    assert_redirect(&rp.get("/continue").await, "/connected");

    let task = crate::util::stored_task(&rp.state.store, &reference).await;
    assert_eq!(task.status, app::domain::support::TaskStatus::Done);
    assert_eq!(
        task.decision,
        Some(app::domain::support::Decision::Connect {
            trn: "3100061".into()
        })
    );
    assert_eq!(task.decided_by, None, "decided by nobody on the staff");
    // Open dashboards hear of it.
    let changes = rp
        .state
        .store
        .task_changes_since(feed_from, 10)
        .await
        .unwrap();
    assert!(
        changes.iter().any(|c| c.reference == reference
            && c.change == app::domain::support::TaskChange::ClosedByTrnToken),
        "{changes:?}"
    );
    // The officer comes back: the task says what happened, and their decision is refused, changing nothing.
    crate::console::as_staff(&mut rp, "admin@education.gov.uk").await;
    let page = rp.get(&task_path).await;
    assert!(
        page.body
            .contains("Teacher ID, when the teacher used a TRN token"),
        "{}",
        page.body
    );
    let decided = rp
        .post(
            &format!("{task_path}/decision"),
            &[
                ("version", version_seen.as_str()),
                ("outcome", "connect"),
                ("trn", "3100061"),
            ],
        )
        .await;
    assert_ne!(decided.status, 500);
    assert_eq!(
        connections_of(&rp, &r.trn).await,
        vec![ConnectedHow::TrnToken],
        "one connection, by the token"
    );
    let audit = rp.state.store.audit_log(None, 50).await.unwrap();
    assert!(
        audit.iter().any(
            |line| line.task_reference.as_deref() == Some(reference.as_str())
                && line.staff.is_none()
                && line.event
                    == server::db::support::AuditEvent::ClosedByTrnToken {
                        trn: "3100061".into()
                    }
        ),
        "the closing is audited, by the service"
    );
}
