//! Matching without false connections (issue 15 §1): guard 2 counts deactivated lookalikes, through the real
//! candidate search on both backends and the connect journey over HTTP.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use app::domain::records::{RecordStatus, TeachingRecord};
use onelogin_standin::{CustomPerson, NextLogin, Outcome, CUSTOM};
use server::db::Backend;

on_both_backends!(
    a_namesake_typing_the_namesakes_trn_is_sent_to_support_when_the_other_lookalike_is_deactivated
);

fn record(trn: &str, nino: Option<&str>, status: RecordStatus) -> TeachingRecord {
    TeachingRecord {
        trn: trn.into(),
        first_name: "Eluned".into(),
        middle_name: None,
        last_name: "Prydderch".into(),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1981, 3, 17).unwrap(),
        nino: nino.map(String::from),
        email: None,
        status,
        previous_names: vec![],
        qualifications: vec![],
    }
}

fn assert_redirect(res: &TestResponse, to: &str) {
    assert!(
        (300..400).contains(&res.status),
        "expected a redirect to {to}, got {} {}",
        res.status,
        res.body.chars().take(300).collect::<String>()
    );
    assert_eq!(res.header("location"), to);
}

/// The false connection issue 15 found: Eluned's own record is deactivated; her namesake (same name, same date of
/// birth) has an active record without a NINO. A lost-TRN look-up by name and date of birth gave Eluned her
/// namesake's TRN, and she types it. Only one *active* record looks like her, but the deactivated one shows she is
/// ambiguous: no connection, and a support task flagged "possible duplicate or namesake".
async fn a_namesake_typing_the_namesakes_trn_is_sent_to_support_when_the_other_lookalike_is_deactivated(
    backend: Backend,
) {
    let Some(mut rp) = Rp::seeded(backend).await else {
        eprintln!("TEST_POSTGRES_URL is not set: not run on PostgreSQL");
        return;
    };
    let own = record("9200001", Some("JK123456A"), RecordStatus::Deactivated);
    let namesakes = record("9200002", None, RecordStatus::Active);
    rp.state
        .store
        .insert_records(&[own.clone(), namesakes.clone()], chrono::Utc::now())
        .await
        .unwrap();

    let custom = CustomPerson {
        first_name: own.first_name.clone(),
        last_name: own.last_name.clone(),
        previous_first_name: None,
        previous_last_name: None,
        previous_name_valid_until: None,
        date_of_birth: own.date_of_birth,
        email: "eluned.p@example.com".into(),
    };
    let next = |outcome| NextLogin {
        custom: Some(custom.clone()),
        ..NextLogin::new(CUSTOM, outcome)
    };
    rp.round_trip("/sign-in", next(Outcome::Authenticated))
        .await;
    rp.round_trip("/auth/identity", next(Outcome::IdentityVerified))
        .await;
    assert_redirect(&rp.get("/continue").await, "/connect");
    let user_id = rp.signed_in_user().await.unwrap().user_id;

    // Her own NINO (on her deactivated record; the namesake's record has none, so it rules nothing out)…
    rp.get("/connect/nino").await;
    assert_redirect(
        &rp.post(
            "/connect/nino",
            &[("has_nino", "yes"), ("nino", "JK123456A")],
        )
        .await,
        "/connect/trn",
    );
    // …then the namesake's TRN: before the fix this connected her to the namesake's record.
    let after_trn = rp
        .post(
            "/connect/trn",
            &[("has_trn", "yes"), ("trn", &namesakes.trn)],
        )
        .await;
    assert!(
        (300..400).contains(&after_trn.status),
        "{}",
        after_trn.status
    );
    assert_ne!(
        after_trn.header("location"),
        "/connected",
        "connected to the namesake's record"
    );
    assert!(rp
        .state
        .store
        .connected_record(user_id)
        .await
        .unwrap()
        .is_none());
    assert!(rp
        .state
        .store
        .record_history(&namesakes.trn)
        .await
        .unwrap()
        .is_empty());

    assert_redirect(
        &rp.post("/connect/support", &[]).await,
        "/connect/support-requested",
    );
    let confirmation = rp.get("/connect/support-requested").await;
    let at = confirmation.body.find("TRS-").expect("a reference");
    let reference = &confirmation.body[at..at + 10];
    let task = rp
        .state
        .store
        .task_by_reference(reference)
        .await
        .unwrap()
        .expect("the task");
    assert_eq!(task.user_id, Some(user_id));
    assert_eq!(task.flag.as_deref(), Some("possible duplicate or namesake"));
}
