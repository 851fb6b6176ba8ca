//! A teacher One Login could not verify asks support to check their identity (issue 10 §1). Each test is the
//! same story: the teacher acts, an officer decides, the teacher comes back. Whatever support decided, coming back
//! never sends them round One Login's identity check again: verified and connected goes to their record, verified
//! and not connected goes to the record-matching questions, an open request goes to "we're still looking", and a
//! rejected proof goes to the page to try again or send another proof.

use crate::onelogin::Rp;
use crate::util::{assert_redirect, heading, TestApp};
use app::domain::identity::VerifiedBy;
use app::domain::support::Role;
use onelogin_standin::Outcome;
use server::db::Backend;

const OFFICER: &str = "sam.okafor@education.gov.uk";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRproof";
/// A name and date of birth no seeded record has, for a teacher whose record support does not find.
const NOBODY: (&str, (&str, &str, &str)) = ("Ottoline Quarrendon-Vane", ("9", "10", "1979"));

on_both_backends!(
    verified_and_connected_by_support_the_teacher_signs_in_to_their_record,
    verified_but_not_connected_by_support_the_teacher_signs_in_to_the_questions,
    with_a_request_open_the_teacher_signs_in_to_still_looking,
    rejected_by_support_the_teacher_signs_in_to_try_again_or_ask_again,
    a_refused_decision_verifies_nothing_and_one_login_s_verification_is_kept,
);

async fn service(backend: Backend) -> Option<Rp> {
    TestApp::new(backend, "support-verified identity")
        .staff(OFFICER, "Sam Okafor", Role::SupportOfficer)
        .build()
        .await
}

/// The teacher acts: signs in as the cannot-verify persona, fails One Login's identity check, and asks support
/// with `name`, date of birth `dob` (day, month, year) and a proof of identity. The task's reference.
async fn teacher_asks_for_support(rp: &mut Rp, name: &str, dob: (&str, &str, &str)) -> String {
    let back = rp
        .verify("cannot-verify", Outcome::IdentityNotVerified, vec![])
        .await;
    assert_redirect(&back, "/identity-not-verified");
    assert_eq!(rp.get("/identity-support").await.status, 200);
    let token = rp.cookies["tid_csrf"].clone();
    let fields = [
        ("csrf_token", token.as_str()),
        ("name", name),
        ("previous_name", "Ann Smith"),
        ("dob-day", dob.0),
        ("dob-month", dob.1),
        ("dob-year", dob.2),
        ("nino", ""),
        ("trn", ""),
    ];
    let res = rp
        .post_multipart("/identity-support", &fields, Some(("passport.png", PNG)))
        .await;
    assert_redirect(&res, "/identity-support/check");
    assert_redirect(
        &rp.post("/identity-support/send", &[]).await,
        "/connect/support-requested",
    );
    let page = rp.get("/connect/support-requested").await;
    let at = page.body.find("TRS-").expect("a reference");
    page.body[at..at + 10].to_string()
}

/// The officer opens the task and sends `fields` with `action` ("continue" then confirm, or "save").
async fn officer_decides(rp: &mut Rp, reference: &str, action: &str, fields: &[(&str, &str)]) {
    rp.cookies.remove("tid_staff");
    assert_redirect(&rp.staff_sign_in(OFFICER).await, "/support");
    let task_path = app::domain::support::task_href(reference);
    let page = rp.get(&task_path).await;
    assert_eq!(page.status, 200);
    let at = page
        .body
        .find(r#"name="version" value=""#)
        .expect("a version field")
        + 22;
    let version = page.body[at..at + page.body[at..].find('"').unwrap()].to_string();
    let mut form = vec![("version", version.as_str()), ("action", action)];
    form.extend_from_slice(fields);
    let res = rp.post(&format!("{task_path}/decision"), &form).await;
    if action == "save" {
        assert_redirect(&res, "/support");
        return;
    }
    assert_redirect(&res, &format!("{task_path}/check"));
    assert_redirect(
        &rp.post(&format!("{task_path}/confirm"), &[]).await,
        "/support",
    );
}

/// The teacher comes back in a new browser: signs in (authentication only) and is sent to `to`.
async fn teacher_signs_in_again(rp: &mut Rp, to: &str) {
    rp.cookies.remove("tid_session");
    let back = rp.sign_in("cannot-verify").await;
    assert_redirect(&back, to);
}

async fn verified_and_connected_by_support_the_teacher_signs_in_to_their_record(backend: Backend) {
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let persona = rp.standin.persona("cannot-verify").unwrap();
    let trn = persona.trn_hint.clone().unwrap();
    let dob = persona.date_of_birth;
    let (day, month, year) = (
        dob.format("%-d").to_string(),
        dob.format("%-m").to_string(),
        dob.format("%Y").to_string(),
    );
    let name = format!("{} {}", persona.first_name, persona.last_name);
    let reference = teacher_asks_for_support(&mut rp, &name, (&day, &month, &year)).await;
    // The tab they asked from, kept open.
    let old_session = rp.cookies["tid_session"].clone();

    officer_decides(
        &mut rp,
        &reference,
        "continue",
        &[
            ("outcome", "connect"),
            ("trn", "other"),
            ("other_trn", &trn),
        ],
    )
    .await;

    // Recorded as verified by support: who, which task, and the name and date of birth they accepted.
    let user_id = rp.signed_in_user().await.unwrap().user_id;
    let user = rp.state.store.user_by_id(user_id).await.unwrap().unwrap();
    let verification = user.verification.expect("identity verified by support");
    let officer = crate::util::staff_member(&rp.state.store, OFFICER).await;
    assert_eq!(
        verification.by,
        VerifiedBy::Support {
            staff_id: officer.id,
            task_reference: reference.clone()
        }
    );
    assert_eq!(
        verification.identity.current_name().unwrap().full_name(),
        name
    );
    assert_eq!(verification.identity.dates_of_birth, [dob]);

    // Coming back: no identity check, straight to the record.
    teacher_signs_in_again(&mut rp, "/continue").await;
    assert_redirect(&rp.get("/continue").await, "/record");
    let record = rp.get("/record").await;
    assert_eq!(record.status, 200);
    assert_eq!(heading(&record), "Your teaching record");
    assert!(record.body.contains(&trn));

    // The tab left open since asking for support shows the record too.
    rp.cookies.insert("tid_session".into(), old_session);
    assert_redirect(&rp.get("/identity-support").await, "/record");
}

async fn verified_but_not_connected_by_support_the_teacher_signs_in_to_the_questions(
    backend: Backend,
) {
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let reference = teacher_asks_for_support(&mut rp, NOBODY.0, NOBODY.1).await;

    officer_decides(
        &mut rp,
        &reference,
        "continue",
        &[
            ("outcome", "do_not_connect"),
            ("reason", "no_matching_record"),
        ],
    )
    .await;

    // Coming back: no identity check; matching finds nothing by itself, so the questions.
    teacher_signs_in_again(&mut rp, "/continue").await;
    assert_redirect(&rp.get("/continue").await, "/connect");
    let interruption = rp.get("/connect").await;
    assert_eq!(interruption.status, 200);
    let nino = rp.get("/connect/nino").await;
    assert_eq!(nino.status, 200);
    assert!(
        heading(&nino).contains("National Insurance number"),
        "{}",
        heading(&nino)
    );
    // And they can answer: the questions match with the identity support accepted.
    assert_redirect(
        &rp.post("/connect/nino", &[("has_nino", "no")]).await,
        "/connect/trn",
    );
    let user = rp.signed_in_user().await.unwrap();
    let app::ssr::IdentityStatus::Verified(identity) = user.identity else {
        panic!("the session holds the identity support verified");
    };
    assert_eq!(identity.current_name().unwrap().full_name(), NOBODY.0);
}

async fn with_a_request_open_the_teacher_signs_in_to_still_looking(backend: Backend) {
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let reference = teacher_asks_for_support(&mut rp, NOBODY.0, NOBODY.1).await;

    // The officer starts on it but has not decided: the request is still open.
    officer_decides(
        &mut rp,
        &reference,
        "save",
        &[
            ("outcome", "do_not_connect"),
            ("reason", "no_matching_record"),
        ],
    )
    .await;

    teacher_signs_in_again(&mut rp, "/request-pending").await;
    let page = rp.get("/request-pending").await;
    assert_eq!(page.status, 200);
    assert_eq!(heading(&page), "We’re still looking at your request");
    assert!(page.body.contains(&reference));
    // Not verified by anyone yet.
    let user = rp.signed_in_user().await.unwrap();
    assert_eq!(user.identity, app::ssr::IdentityStatus::NotVerified);
}

async fn rejected_by_support_the_teacher_signs_in_to_try_again_or_ask_again(backend: Backend) {
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let reference = teacher_asks_for_support(&mut rp, NOBODY.0, NOBODY.1).await;

    officer_decides(
        &mut rp,
        &reference,
        "continue",
        &[("outcome", "reject"), ("reject_reason", "proof_unclear")],
    )
    .await;
    let user = rp.signed_in_user().await.unwrap();
    assert!(
        rp.state
            .store
            .user_by_id(user.user_id)
            .await
            .unwrap()
            .unwrap()
            .verification
            .is_none(),
        "a rejected proof verifies nothing"
    );

    // Coming back: the page to try One Login again or send another proof, as the email says.
    teacher_signs_in_again(&mut rp, "/identity-not-verified?after=support").await;
    let page = rp.get("/identity-not-verified?after=support").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("Our support team could not confirm who you are")
            && !page.body.contains("GOV.UK One Login could not confirm"),
        "the page says support decided, not One Login"
    );
    assert!(page.body.contains(r#"href="/auth/identity""#), "try again");
    assert!(
        page.body.contains(r#"href="/identity-support""#),
        "ask again"
    );
    // Asking again is open to them: the form, then a second task.
    let form = rp.get("/identity-support").await;
    assert_eq!(form.status, 200);
    let again = teacher_asks_again(&mut rp).await;
    assert_ne!(again, reference);
}

/// The teacher, already signed in after a rejection, sends another proof; the new task's reference.
async fn teacher_asks_again(rp: &mut Rp) -> String {
    let token = rp.cookies["tid_csrf"].clone();
    let fields = [
        ("csrf_token", token.as_str()),
        ("name", NOBODY.0),
        ("dob-day", NOBODY.1 .0),
        ("dob-month", NOBODY.1 .1),
        ("dob-year", NOBODY.1 .2),
        ("nino", ""),
        ("trn", ""),
    ];
    let res = rp
        .post_multipart("/identity-support", &fields, Some(("passport.png", PNG)))
        .await;
    assert_redirect(&res, "/identity-support/check");
    assert_redirect(
        &rp.post("/identity-support/send", &[]).await,
        "/connect/support-requested",
    );
    let page = rp.get("/connect/support-requested").await;
    let at = page.body.find("TRS-").expect("a reference");
    page.body[at..at + 10].to_string()
}

/// The identity is written in the decision's transaction: a decision refused part-way (the record is connected to
/// someone else) leaves the teacher unverified; a later decision verifies them. An identity One Login verified
/// first is not replaced by support's.
async fn a_refused_decision_verifies_nothing_and_one_login_s_verification_is_kept(
    backend: Backend,
) {
    use app::domain::support::{Decision, NotConnectedReason};
    use server::db::support::{NewEmail, TaskChangeRefused};
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let store = rp.state.store.clone();
    let now = chrono::Utc::now();
    let officer = crate::util::staff_member(&store, OFFICER).await;
    let email = |n: &str| NewEmail {
        reference: format!("verify-{n}"),
        template: "not_connected".into(),
        email_address: "teacher@example.com".into(),
        personalisation: Default::default(),
        task_reference: None,
    };
    // The exact-match persona's record is connected to them already.
    assert_redirect(
        &rp.verify("exact-match", Outcome::IdentityVerified, vec![])
            .await,
        "/continue",
    );
    assert_redirect(&rp.get("/continue").await, "/connected");
    let taken = rp.standin.persona("exact-match").unwrap().trn_hint.unwrap();

    rp.cookies.remove("tid_session");
    let reference = teacher_asks_for_support(&mut rp, NOBODY.0, NOBODY.1).await;
    let user_id = rp.signed_in_user().await.unwrap().user_id;
    let task = crate::util::stored_task(&store, &reference).await;
    let refused = store
        .decide_task(
            &reference,
            task.version,
            &Decision::Connect { trn: taken },
            &officer,
            &email("1"),
            now,
        )
        .await
        .unwrap();
    assert_eq!(refused, Err(TaskChangeRefused::RecordTaken));
    let user = store.user_by_id(user_id).await.unwrap().unwrap();
    assert_eq!(
        user.verification, None,
        "nothing of a refused decision stays"
    );

    let decided = store
        .decide_task(
            &reference,
            task.version,
            &Decision::DoNotConnect {
                reason: NotConnectedReason::NoMatchingRecord,
                detail: None,
            },
            &officer,
            &email("2"),
            now,
        )
        .await
        .unwrap();
    assert_eq!(decided, Ok(()));
    let user = store.user_by_id(user_id).await.unwrap().unwrap();
    let verification = user.verification.expect("verified by support");
    assert_eq!(
        verification.by,
        VerifiedBy::Support {
            staff_id: officer.id,
            task_reference: reference.clone()
        }
    );
    let previous: Vec<_> = verification
        .identity
        .previous_names()
        .map(|n| n.full_name())
        .collect();
    assert_eq!(
        previous,
        ["Ann Smith"],
        "previous names are kept as previous"
    );

    // Someone One Login verified keeps One Login's verification, whatever support decides later.
    let one_login = store
        .sign_in_user(
            "urn:fdc:test:verified-first",
            app::domain::identity::VerifiedEmail::verified_before("first@example.com").as_ref(),
            now,
        )
        .await
        .unwrap();
    let identity = verification.identity.clone();
    store
        .record_verified_identity(one_login.id, &identity, now)
        .await
        .unwrap();
    let details = serde_json::json!({
        "entered": {"name": "Ann Lee", "previous_names": [], "date_of_birth": "1985-03-14", "nino": null, "trn": null},
        "proof": {"key": "x", "content_type": "image/png", "file_name": "p.png", "size": 1},
        "one_login_email": "first@example.com",
    });
    let task = server::db::connect::NewSupportTask {
        user_id: one_login.id,
        details: server::db::connect::TaskDetails::parse(
            server::db::connect::TaskKind::IdentityVerification,
            &details.to_string(),
        )
        .unwrap(),
        client_id: None,
    };
    let raised = store.raise_support_task(&task, now).await.unwrap();
    let version = store
        .task_by_reference(&raised.reference)
        .await
        .unwrap()
        .unwrap()
        .version;
    store
        .decide_task(
            &raised.reference,
            version,
            &Decision::DoNotConnect {
                reason: NotConnectedReason::NoMatchingRecord,
                detail: None,
            },
            &officer,
            &email("3"),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let kept = store.user_by_id(one_login.id).await.unwrap().unwrap();
    assert_eq!(kept.verification.map(|v| v.by), Some(VerifiedBy::OneLogin));
}
