//! Matching without false connections (issue 15 §1): guard 2 counts deactivated lookalikes, through the real
//! candidate search on both backends and the connect journey over HTTP.

use crate::util::{
    answer_nino, answer_trn, assert_redirect, reference_on_confirmation, verified_as_the_person_of,
    TestApp,
};
use app::domain::records::{RecordStatus, TeachingRecord};
use server::db::Backend;

on_both_backends!(
    a_namesake_typing_the_namesakes_trn_is_sent_to_support_when_the_other_lookalike_is_deactivated
);

fn record(trn: &str, nino: Option<&str>, status: RecordStatus) -> TeachingRecord {
    crate::util::record(
        trn,
        ("Eluned", "Prydderch"),
        chrono::NaiveDate::from_ymd_opt(1981, 3, 17).unwrap(),
        nino,
        status,
    )
}

/// The false connection issue 15 found: Eluned's own record is deactivated; her namesake (same name, same date of
/// birth) has an active record without a NINO. A lost-TRN look-up by name and date of birth gave Eluned her
/// namesake's TRN, and she types it. Only one *active* record looks like her, but the deactivated one shows she is
/// ambiguous: no connection, and a support task flagged "possible duplicate or namesake".
async fn a_namesake_typing_the_namesakes_trn_is_sent_to_support_when_the_other_lookalike_is_deactivated(
    backend: Backend,
) {
    let Some(mut rp) = TestApp::new(backend, "matching fixes").build().await else {
        return;
    };
    let own = record("9200001", Some("JK123456A"), RecordStatus::Deactivated);
    let namesakes = record("9200002", None, RecordStatus::Active);
    rp.state
        .store
        .insert_records(&[own.clone(), namesakes.clone()], chrono::Utc::now())
        .await
        .unwrap();

    assert_redirect(
        &verified_as_the_person_of(&mut rp, &own, "eluned.p@example.com").await,
        "/connect",
    );
    let user_id = rp.signed_in_user().await.unwrap().user_id;

    // Her own NINO (on her deactivated record; the namesake's record has none, so it rules nothing out)…
    rp.get("/connect/nino").await;
    assert_redirect(&answer_nino(&mut rp, "JK123456A").await, "/connect/trn");
    // …then the namesake's TRN: before the fix this connected her to the namesake's record.
    let after_trn = answer_trn(&mut rp, &namesakes.trn).await;
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
    let reference = reference_on_confirmation(&mut rp).await;
    let task = rp
        .state
        .store
        .task_by_reference(&reference)
        .await
        .unwrap()
        .expect("the task");
    assert_eq!(task.user_id, Some(user_id));
    assert_eq!(task.flag.as_deref(), Some("possible duplicate or namesake"));
}
