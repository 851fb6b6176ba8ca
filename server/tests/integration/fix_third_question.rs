//! The third question before support (DESIGN §5, issue 15 §4) over HTTP: asked only when the NINO and TRN
//! questions have not connected someone and exactly one active record agrees with their verified names and date of
//! birth; a right ITT provider and QTS year connect (forgivingly typed); a wrong one goes to support with the
//! answers on the task; bad input keeps what was typed; attempts count against the NINO/TRN limits.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{answer_nino, assert_redirect, TestApp};
use app::domain::support::ConnectedHow;
use onelogin_standin::{Outcome, Persona};
use server::db::Backend;

on_both_backends!(
    the_third_question_is_asked_only_with_exactly_one_active_lookalike,
    a_right_provider_and_year_connect_however_the_provider_is_typed,
    a_wrong_provider_or_year_goes_to_support_with_the_answers_on_the_task,
    bad_input_on_both_fields_gets_errors_and_keeps_what_was_typed,
    third_question_attempts_count_against_the_nino_and_trn_limit,
    a_namesake_sharing_her_provider_and_year_is_not_connected_when_her_record_keeps_her_old_surname,
);

async fn service(backend: Backend) -> Option<Rp> {
    TestApp::new(backend, "third question").build().await
}

/// Signs in and verifies as `persona`, then answers "No" to the NINO and TRN questions; returns where the TRN
/// answer sent them.
async fn no_nino_no_trn(rp: &mut Rp, persona: &str) -> TestResponse {
    rp.verify(persona, Outcome::IdentityVerified, vec![]).await;
    assert_redirect(&rp.get("/continue").await, "/connect");
    rp.get("/connect/nino").await;
    assert_redirect(
        &rp.post("/connect/nino", &[("has_nino", "no")]).await,
        "/connect/trn",
    );
    rp.post("/connect/trn", &[("has_trn", "no")]).await
}

fn itt_persona(rp: &Rp) -> (Persona, String, String) {
    let p = rp
        .standin
        .persona("itt-only")
        .expect("the itt-only persona");
    let provider = p.itt_provider_hint.clone().expect("a provider");
    let year = p.qts_year_hint.expect("a QTS year").to_string();
    (p, provider, year)
}

async fn the_third_question_is_asked_only_with_exactly_one_active_lookalike(backend: Backend) {
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let (_, provider, _) = itt_persona(&rp);

    // Before the NINO and TRN questions, the page and the form send them back to where they are.
    rp.verify("itt-only", Outcome::IdentityVerified, vec![])
        .await;
    assert_redirect(&rp.get("/continue").await, "/connect");
    assert_redirect(&rp.get("/connect/itt").await, "/connect");
    assert_redirect(
        &rp.post(
            "/connect/itt",
            &[
                ("has_qts", "yes"),
                ("itt_provider", &provider),
                ("qts_year", "2010"),
            ],
        )
        .await,
        "/connect",
    );
    rp.post("/connect/nino", &[("has_nino", "no")]).await;
    assert_redirect(&rp.get("/connect/itt").await, "/connect/trn");

    // One active record agrees with their names and date of birth: asked before support, and support waits.
    let after_trn = rp.post("/connect/trn", &[("has_trn", "no")]).await;
    assert_redirect(&after_trn, "/connect/itt");
    for page in ["/connect/not-found", "/connect/check-answers"] {
        assert_redirect(&rp.get(page).await, "/connect/itt");
    }
    let page = rp.get("/connect/itt").await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("Have you been awarded qualified teacher status (QTS)?"));
    assert!(page
        .body
        .contains("Where did you do your initial teacher training?"));
    // The provider field suggests the records' providers, without JavaScript too.
    assert!(page.body.contains(r#"list="itt-providers""#));
    assert!(page
        .body
        .contains(&format!(r#"<option value="{provider}">"#)));
    // Going back to the TRN question and answering it again comes back here.
    assert_redirect(
        &rp.post("/connect/trn", &[("has_trn", "no")]).await,
        "/connect/itt",
    );

    // Nobody agrees (no-match), or two active records do (possible-duplicate), or the only one is deactivated:
    // straight to "cannot find", and the question's page and form are out of reach.
    for persona in ["no-match", "possible-duplicate", "deactivated-record"] {
        rp.cookies.clear();
        let after_trn = no_nino_no_trn(&mut rp, persona).await;
        assert_redirect(&after_trn, "/connect/not-found");
        assert_redirect(&rp.get("/connect/itt").await, "/connect/check-answers");
        assert_redirect(
            &rp.post(
                "/connect/itt",
                &[
                    ("has_qts", "yes"),
                    ("itt_provider", &provider),
                    ("qts_year", "2010"),
                ],
            )
            .await,
            "/connect/check-answers",
        );
        let check = rp.get("/connect/check-answers").await;
        assert_eq!(check.status, 200, "{persona}");
        assert!(!check.body.contains("Qualified teacher status (QTS)"));
    }
}

async fn a_right_provider_and_year_connect_however_the_provider_is_typed(backend: Backend) {
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let (p, provider, year) = itt_persona(&rp);
    let trn = p.trn_hint.clone().unwrap();
    assert_redirect(&no_nino_no_trn(&mut rp, "itt-only").await, "/connect/itt");
    rp.get("/connect/itt").await;
    // Lower case, "The" in front, doubled spaces, a full stop: still the record's provider.
    let typed = format!("  the {}. ", provider.to_lowercase().replace(' ', "  "));
    let res = rp
        .post(
            "/connect/itt",
            &[
                ("has_qts", "yes"),
                ("itt_provider", &typed),
                ("qts_year", &format!(" {year} ")),
            ],
        )
        .await;
    assert_redirect(&res, "/connected");
    let history = rp.state.store.record_history(&trn).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].details.as_ref().expect("details").how,
        ConnectedHow::Itt
    );
    let user = rp.signed_in_user().await.unwrap();
    assert_eq!(
        rp.state
            .store
            .connected_record(user.user_id)
            .await
            .unwrap()
            .map(|r| r.trn),
        Some(trn)
    );
    assert_redirect(&rp.get("/connect/itt").await, "/record");
}

async fn a_wrong_provider_or_year_goes_to_support_with_the_answers_on_the_task(backend: Backend) {
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let (p, provider, year) = itt_persona(&rp);
    let trn = p.trn_hint.clone().unwrap();
    let wrong_year = (year.parse::<i32>().unwrap() - 1).to_string();
    assert_redirect(&no_nino_no_trn(&mut rp, "itt-only").await, "/connect/itt");
    rp.get("/connect/itt").await;
    // The right provider a year out is not the record's.
    assert_redirect(
        &rp.post(
            "/connect/itt",
            &[
                ("has_qts", "yes"),
                ("itt_provider", &provider),
                ("qts_year", &wrong_year),
            ],
        )
        .await,
        "/connect/not-found",
    );
    let check = rp.get("/connect/check-answers").await;
    assert_eq!(check.status, 200);
    assert!(check.body.contains("Qualified teacher status (QTS)"));
    assert!(check.body.contains(&provider));
    assert!(check.body.contains(&wrong_year));
    assert!(check.body.contains("/connect/itt?change=1"));

    // Changed from check answers to another provider with the right year: still not theirs, back to check answers.
    let change = rp.get("/connect/itt?change=1").await;
    assert!(change.body.contains(r#"name="change" value="1""#));
    assert!(
        change.body.contains(&format!(r#"value="{wrong_year}""#)),
        "the answer given is shown"
    );
    let other = "Open University";
    assert_redirect(
        &rp.post(
            "/connect/itt",
            &[
                ("has_qts", "yes"),
                ("itt_provider", other),
                ("qts_year", &year),
                ("change", "1"),
            ],
        )
        .await,
        "/connect/check-answers",
    );
    let check = rp.get("/connect/check-answers").await;
    assert!(check.body.contains(other));

    assert_redirect(
        &rp.post("/connect/support", &[]).await,
        "/connect/support-requested",
    );
    let user = rp.signed_in_user().await.unwrap();
    assert_eq!(
        rp.state.store.connected_record(user.user_id).await.unwrap(),
        None
    );
    assert!(rp
        .state
        .store
        .record_history(&trn)
        .await
        .unwrap()
        .is_empty());
    let confirmation = rp.get("/connect/support-requested").await;
    let at = confirmation.body.find("TRS-").expect("a reference");
    let reference = confirmation.body[at..at + 10].to_string();
    let task = crate::util::stored_task(&rp.state.store, &reference).await;
    assert_eq!(task.user_id, Some(user.user_id));
    assert_task_holds_the_answers(&task, other, year.parse().unwrap());
}

/// The record-matching task holds the third question's answers, typed, and the console shows them.
fn assert_task_holds_the_answers(
    task: &server::db::support::StoredTask,
    provider: &str,
    year: i32,
) {
    use app::domain::journey::Answer;
    use app::domain::matching::IttIdentifier;
    use app::domain::task_details::TaskDetails;
    let TaskDetails::RecordMatching(details) = &task.details else {
        panic!("a record-matching task: {:?}", task.details);
    };
    assert_eq!(
        details.itt,
        Some(Answer::Yes(IttIdentifier {
            provider: provider.into(),
            qts_year: year,
        }))
    );
    let (_, _, additional) = server::console::task_facts(task);
    let shown: Vec<(&str, &str)> = additional
        .iter()
        .map(|r| (r.label.as_str(), r.value.as_str()))
        .collect();
    let year = year.to_string();
    for row in [
        ("Qualified teacher status (QTS)", "Yes"),
        ("Initial teacher training provider", provider),
        ("Year QTS awarded", year.as_str()),
    ] {
        assert!(shown.contains(&row), "{row:?} in {shown:?}");
    }
}

/// The fields posted, each error as (field, message), and what is shown back.
type BadItt<'a> = (
    Vec<(&'a str, &'a str)>,
    Vec<(&'a str, &'a str)>,
    Vec<&'a str>,
);

async fn bad_input_on_both_fields_gets_errors_and_keeps_what_was_typed(backend: Backend) {
    let Some(mut rp) = service(backend).await else {
        return;
    };
    assert_redirect(&no_nino_no_trn(&mut rp, "itt-only").await, "/connect/itt");
    rp.get("/connect/itt").await;
    let long = "a".repeat(201);
    let cases: Vec<BadItt> =
        vec![
            (
                vec![],
                vec![(
                    "has_qts",
                    "Select yes if you have been awarded qualified teacher status (QTS)",
                )],
                vec![],
            ),
            (
                vec![("has_qts", "perhaps"), ("itt_provider", "Leeds")],
                vec![(
                    "has_qts",
                    "Select yes if you have been awarded qualified teacher status (QTS)",
                )],
                vec![],
            ),
            (
                vec![
                    ("has_qts", "yes"),
                    ("itt_provider", " \u{200B} "),
                    ("qts_year", ""),
                ],
                vec![
                    (
                        "itt_provider",
                        "Enter where you did your initial teacher training",
                    ),
                    ("qts_year", "Enter the year you were awarded QTS"),
                ],
                vec![],
            ),
            (
                vec![
                    ("has_qts", "yes"),
                    ("itt_provider", &long),
                    ("qts_year", "twenty ten"),
                ],
                vec![
                    (
                        "itt_provider",
                        "Initial teacher training provider must be 200 characters or fewer",
                    ),
                    (
                        "qts_year",
                        "Year you were awarded QTS must be a number, like 2015",
                    ),
                ],
                vec![&long, "twenty ten"],
            ),
            (
                vec![
                    ("has_qts", "yes"),
                    ("itt_provider", "Leeds \u{1F393}"),
                    ("qts_year", "3010"),
                ],
                vec![
                (
                    "itt_provider",
                    "Initial teacher training provider must only include letters, numbers, spaces",
                ),
                ("qts_year", "Year you were awarded QTS must be this year or in the past"),
            ],
                vec!["Leeds \u{1F393}", "3010"],
            ),
            (
                vec![
                    ("has_qts", "yes"),
                    ("itt_provider", "<script>alert(1)</script>"),
                    ("qts_year", "1899"),
                ],
                vec![
                (
                    "itt_provider",
                    "Initial teacher training provider must only include letters, numbers, spaces",
                ),
                ("qts_year", "Year you were awarded QTS must be 1900 or later"),
            ],
                vec!["1899"],
            ),
            (
                vec![
                    ("has_qts", "yes"),
                    ("itt_provider", "1234"),
                    ("qts_year", "15"),
                ],
                vec![
                    (
                        "itt_provider",
                        "Initial teacher training provider must include at least one letter",
                    ),
                    (
                        "qts_year",
                        "Year you were awarded QTS must include 4 numbers",
                    ),
                ],
                vec!["1234", "15"],
            ),
        ];
    for (fields, errors, kept) in &cases {
        assert_redirect(&rp.post("/connect/itt", fields).await, "/connect/itt");
        let page = rp.get("/connect/itt").await;
        assert_eq!(page.status, 200, "{fields:?}");
        assert!(page.body.contains("<title>Error: "), "{fields:?}");
        for (field, message) in errors {
            assert!(
                page.body.contains(&format!(r##"href="#{field}""##)),
                "{fields:?}: link to {field}"
            );
            assert!(page.body.contains(message), "{fields:?}: {message}");
        }
        for typed in kept {
            assert!(
                page.body.contains(&format!(r#"value="{typed}""#)),
                "{fields:?}: keeps {typed:?}"
            );
        }
        assert!(
            !page.body.contains("<script>alert"),
            "typed text is escaped"
        );
    }
    // Nothing was counted as an attempt, connected or raised.
    let user = rp.signed_in_user().await.unwrap();
    assert_eq!(
        rp.state.store.connected_record(user.user_id).await.unwrap(),
        None
    );
    assert_eq!(
        rp.state
            .store
            .open_task_for_user(user.user_id)
            .await
            .unwrap(),
        None
    );
    assert_redirect(&rp.get("/connect/not-found").await, "/connect/itt");
}

async fn third_question_attempts_count_against_the_nino_and_trn_limit(backend: Backend) {
    use app::domain::journey::USER_ATTEMPTS;
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let (_, provider, year) = itt_persona(&rp);
    assert_redirect(&no_nino_no_trn(&mut rp, "itt-only").await, "/connect/itt");
    // "No" is not an attempt, however often.
    for _ in 0..USER_ATTEMPTS + 2 {
        assert_redirect(
            &rp.post("/connect/itt", &[("has_qts", "no")]).await,
            "/connect/not-found",
        );
    }
    // A NINO attempt (going back to that question; all three are answered, so on to "cannot find") and the ITT
    // attempts share the person's limit.
    assert_redirect(
        &answer_nino(&mut rp, "AB123456C").await,
        "/connect/not-found",
    );
    for i in 1..USER_ATTEMPTS {
        let wrong = format!("Not a provider {i}");
        assert_redirect(
            &rp.post(
                "/connect/itt",
                &[
                    ("has_qts", "yes"),
                    ("itt_provider", &wrong),
                    ("qts_year", &year),
                ],
            )
            .await,
            "/connect/not-found",
        );
    }
    // Over the limit: even the right answer is stopped (the limit is not a hint).
    let limited = rp
        .post(
            "/connect/itt",
            &[
                ("has_qts", "yes"),
                ("itt_provider", &provider),
                ("qts_year", &year),
            ],
        )
        .await;
    assert_redirect(&limited, "/connect/too-many-attempts");
    let page = rp.get("/connect/too-many-attempts").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("in 24 hours"));
    let user = rp.signed_in_user().await.unwrap();
    assert_eq!(
        rp.state.store.connected_record(user.user_id).await.unwrap(),
        None
    );
}

/// The false connection issue 15's benchmark found with the third question: Gwenllian's record keeps her old
/// surname (Morgan) and One Login knows only her new one (Price). A chance namesake, Gwenllian Price born the same
/// day, has a record without a NINO, so it is the only record agreeing with her verified names and date of birth;
/// the third question was asked, and her ITT provider and QTS year happened to equal the namesake's, which
/// connected her to the namesake's record. Her own record shares her first name and date of birth, so she is
/// ambiguous: the question is not asked, and an ITT answer sent anyway connects nobody.
async fn a_namesake_sharing_her_provider_and_year_is_not_connected_when_her_record_keeps_her_old_surname(
    backend: Backend,
) {
    use app::domain::records::{Qualification, QualificationKind, RecordStatus, TeachingRecord};
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let born = chrono::NaiveDate::from_ymd_opt(1979, 11, 23).unwrap();
    let trained = |mut r: TeachingRecord| {
        let on = chrono::NaiveDate::from_ymd_opt(2004, 7, 1);
        r.qualifications = vec![
            Qualification {
                kind: QualificationKind::Itt,
                name: "PGCE".into(),
                status: "Passed".into(),
                awarded_on: on,
                provider: Some("University of Leeds".into()),
            },
            Qualification {
                kind: QualificationKind::Qts,
                name: "Qualified teacher status".into(),
                status: "Awarded".into(),
                awarded_on: on,
                provider: None,
            },
        ];
        r
    };
    let hers = trained(crate::util::record(
        "9300001",
        ("Gwenllian", "Morgan"),
        born,
        Some("JK654321B"),
        RecordStatus::Active,
    ));
    let namesakes = trained(crate::util::record(
        "9300002",
        ("Gwenllian", "Price"),
        born,
        None,
        RecordStatus::Active,
    ));
    rp.state
        .store
        .insert_records(&[hers, namesakes.clone()], chrono::Utc::now())
        .await
        .unwrap();

    // One Login knows her as Gwenllian Price; she knows neither her NINO nor her TRN.
    assert_redirect(
        &crate::util::verified_as_the_person_of(&mut rp, &namesakes, "gwen.price@example.com")
            .await,
        "/connect",
    );
    let user_id = rp.signed_in_user().await.unwrap().user_id;
    rp.get("/connect/nino").await;
    rp.post("/connect/nino", &[("has_nino", "no")]).await;
    let after_trn = rp.post("/connect/trn", &[("has_trn", "no")]).await;
    // Her own provider and year, which are also the namesake's, sent to the question (asked or not).
    let res = rp
        .post(
            "/connect/itt",
            &[
                ("has_qts", "yes"),
                ("itt_provider", "University of Leeds"),
                ("qts_year", "2004"),
            ],
        )
        .await;
    assert_ne!(
        res.header("location"),
        "/connected",
        "connected to the namesake's record"
    );
    assert_eq!(
        rp.state.store.connected_record(user_id).await.unwrap(),
        None
    );
    assert!(rp
        .state
        .store
        .record_history(&namesakes.trn)
        .await
        .unwrap()
        .is_empty());
    // The question was never asked: straight to "cannot find".
    assert_redirect(&after_trn, "/connect/not-found");
}
