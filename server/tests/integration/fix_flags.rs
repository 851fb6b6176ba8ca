//! Keep every support flag (issue 15 item 5): a flag matching raised at one question stays on the support task
//! when a later question finds nothing, and the console shows it.

use crate::console::{as_staff, console, OFFICER};
use crate::util::{answer_nino, answer_trn, assert_redirect, record, verified_as_the_person_of};
use app::domain::matching::SupportFlag;
use app::domain::records::{RecordStatus, TeachingRecord};
use app::domain::support::task_href;
use server::db::Backend;

on_both_backends!(a_flag_raised_at_the_nino_question_stays_when_the_trn_question_finds_nothing);

fn namesake(trn: &str, nino: Option<&str>) -> TeachingRecord {
    record(
        trn,
        ("Gwenllian", "Tudur"),
        chrono::NaiveDate::from_ymd_opt(1979, 11, 2).unwrap(),
        nino,
        RecordStatus::Active,
    )
}

/// Two active records share Gwenllian's name and date of birth. Her NINO makes one a definite match, but the other
/// lookalike makes it a possible duplicate or namesake; she then types a TRN no record has, which finds nothing.
/// Before the fix the TRN question's "nothing" replaced the flag and the task reached support without it.
async fn a_flag_raised_at_the_nino_question_stays_when_the_trn_question_finds_nothing(
    backend: Backend,
) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let hers = namesake("9300001", Some("JK123456A"));
    rp.state
        .store
        .insert_records(
            &[hers.clone(), namesake("9300002", None)],
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_redirect(
        &verified_as_the_person_of(&mut rp, &hers, "gwenllian.t@example.com").await,
        "/connect",
    );
    assert_redirect(&answer_nino(&mut rp, "JK123456A").await, "/connect/trn");
    let after_trn = answer_trn(&mut rp, "9399999").await;
    assert!(
        (300..400).contains(&after_trn.status),
        "{}",
        after_trn.status
    );
    assert_ne!(after_trn.header("location"), "/connected");
    assert_redirect(
        &rp.post("/connect/support", &[]).await,
        "/connect/support-requested",
    );
    let reference = crate::util::reference_on_confirmation(&mut rp).await;

    let task = crate::util::stored_task(&rp.state.store, &reference).await;
    assert_eq!(
        task.details.flags().collect::<Vec<_>>(),
        [SupportFlag::PossibleDuplicateOrNamesake],
        "the NINO question's flag is kept"
    );
    assert_eq!(task.flag.as_deref(), Some("possible duplicate or namesake"));

    as_staff(&mut rp, OFFICER).await;
    let task_page = rp.get(&task_href(&reference)).await;
    assert_eq!(task_page.status, 200);
    assert!(
        task_page
            .body
            .contains("Matching said: possible duplicate or namesake"),
        "the console shows the flag"
    );
}
