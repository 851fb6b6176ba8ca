//! Finding a DfE Identity account holder's teaching record through the pages (issue 13 §3, DESIGN §7.3), on both
//! backends: found by National Insurance number, by TRN and by ITT provider and QTS year; not found → one support
//! task, the same one at the next sign-in, a `trn = optional` service going on meanwhile and a `trn = required`
//! one waiting; TRN in use → the TRN-in-use flow with the session set; looked up again at sign-in (support's TRN,
//! a record found since, support's "no TRN"); bad input on every question; the rate limit.

use crate::account_sign_in::{assert_back_at_the_service, assert_error, prove_email};
use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{assert_redirect, heading, staff_member, TestApp};
use app::domain::account::{AccountEmail, AccountName, NewAccount};
use app::domain::account_record::{AccountAnswers, TrnInUse};
use app::domain::journey::{Answer, USER_ATTEMPTS};
use app::domain::provider::{Client, ClientAuth, Scope, Scopes, SignInPolicy, TrnPolicy};
use app::domain::records::{Qualification, QualificationKind, RecordStatus, TeachingRecord};
use app::domain::support::{Decision, NotConnectedReason, Role};
use app::domain::validation::parse_nino;
use chrono::{NaiveDate, Utc};
use server::db::support::NewEmail;
use server::db::Backend;

on_both_backends!(
    found_by_national_insurance_number_shows_the_trn_and_goes_on_to_the_service,
    found_by_trn_goes_on_to_the_record_page_without_a_service_waiting,
    found_by_itt_provider_and_qts_year,
    not_found_raises_one_task_and_an_optional_service_goes_on_with_it_pending,
    not_found_with_a_required_service_waits_and_support_assigning_shows_at_the_next_sign_in,
    a_record_found_since_is_found_at_the_next_sign_in,
    support_saying_no_trn_is_shown_at_the_next_sign_in,
    an_optional_service_takes_back_an_account_holder_support_found_no_record_for,
    a_record_another_person_holds_goes_to_trn_in_use_with_the_session_set,
    bad_answers_get_a_govuk_error_and_keep_what_was_typed,
    pages_out_of_order_and_people_who_do_not_belong_are_sent_where_they_belong,
    typed_answers_are_rate_limited_as_in_the_connect_journey,
    a_typed_trn_that_is_not_theirs_still_finds_their_record_and_says_which_trn_is_theirs,
);

const REDIRECT: &str = "https://npq.example/callback";
const SERVICE: &str = "Register for an NPQ";
const NINO: &str = "AB123456C";
const TRN: &str = "2987651";
const ITT_TRN: &str = "2987652";

fn dob() -> NaiveDate {
    NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
}

fn record(trn: &str, (first, last): (&str, &str), nino: Option<&str>) -> TeachingRecord {
    crate::util::record(trn, (first, last), dob(), nino, RecordStatus::Active)
}

/// A record whose holder trained at `provider` and was awarded QTS in `year`.
fn with_itt(mut r: TeachingRecord, provider: &str, year: i32) -> TeachingRecord {
    let on = NaiveDate::from_ymd_opt(year, 7, 1);
    r.qualifications = vec![
        Qualification {
            kind: QualificationKind::Itt,
            name: format!("PGCE – {provider}"),
            status: "Passed".into(),
            awarded_on: on,
            provider: Some(provider.into()),
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
}

/// The service with `npq` registered (accounts offered, `trn` as given) and two records nobody in the seed
/// shares a name with; `None` when PostgreSQL is not there.
async fn service(backend: Backend, trn: TrnPolicy) -> Option<Rp> {
    let rp = TestApp::new(backend, "account record tests")
        .staff("olive@example.com", "Olive Officer", Role::SupportOfficer)
        .build()
        .await?;
    let client = Client {
        client_id: "npq".into(),
        display_name: SERVICE.into(),
        service_url: "https://npq.example".into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        auth: ClientAuth::ClientSecret {
            sha256: "ab".repeat(32),
        },
        allowed_scopes: Scopes::from(Scope::ALL),
        sign_in: SignInPolicy::OneLoginOrAccount,
        trn,
        mobile: Default::default(),
        id_token_alg: Default::default(),
        enabled: true,
    };
    let now = Utc::now();
    rp.state.store.add_client(&client, now).await.unwrap();
    rp.state
        .store
        .insert_records(
            &[
                record(TRN, ("Zephyrine", "Quartermaine"), Some(NINO)),
                with_itt(
                    record(ITT_TRN, ("Ottoline", "Fairweather-Vosk"), None),
                    "University of Leeds",
                    2015,
                ),
            ],
            now,
        )
        .await
        .unwrap();
    Some(rp)
}

/// An account made earlier, with this name and the records' date of birth.
async fn account(rp: &Rp, email: &str, (first, last): (&str, &str)) -> i64 {
    rp.state
        .store
        .create_account(
            &NewAccount {
                email: AccountEmail::parse(email).unwrap(),
                mobile: None,
                name: AccountName {
                    first: first.into(),
                    last: last.into(),
                    preferred: None,
                },
                date_of_birth: dob(),
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap()
        .user_id
}

/// Sent by `npq` (asking for `teaching_record`), the browser signs in to `email`'s account: where that lands.
async fn sign_in(rp: &mut Rp, email: &str) -> TestResponse {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", "npq"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email teaching_record"),
            ("state", "st-1"),
            ("nonce", "n-1"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    assert_redirect(
        &rp.get(&format!("/oauth2/authorize?{query}")).await,
        "/account-sign-in",
    );
    prove_email(rp, email, "sign-in").await
}

/// Signs in to an account without a record and follows `/continue` to the first question.
async fn at_the_questions(rp: &mut Rp, email: &str) {
    assert_redirect(&sign_in(rp, email).await, "/continue");
    assert_redirect(&rp.get("/continue").await, "/account/find-your-record");
    let page = rp.get("/account/find-your-record").await;
    assert_eq!(heading(&page), "We need to find your teaching record");
    assert!(page
        .body
        .contains(r#"href="/account/find-your-record/nino""#));
    let page = rp.get("/account/find-your-record/nino").await;
    assert_eq!(
        heading(&page),
        "Do you know your National Insurance number?"
    );
}

fn yes_or_no(value: Option<&str>) -> &'static str {
    if value.is_some() {
        "yes"
    } else {
        "no"
    }
}

/// Answers the three questions (`None`: "No") and checks the answers page; the look-up's answer.
async fn answer_and_look_up(
    rp: &mut Rp,
    nino: Option<&str>,
    trn: Option<&str>,
    itt: Option<(&str, &str)>,
) -> TestResponse {
    let res = rp
        .post(
            "/account/find-your-record/nino",
            &[("has_nino", yes_or_no(nino)), ("nino", nino.unwrap_or(""))],
        )
        .await;
    assert_redirect(&res, "/account/find-your-record/trn");
    let res = rp
        .post(
            "/account/find-your-record/trn",
            &[("has_trn", yes_or_no(trn)), ("trn", trn.unwrap_or(""))],
        )
        .await;
    assert_redirect(&res, "/account/find-your-record/qts");
    let (provider, year) = itt.unwrap_or_default();
    let qts = if itt.is_some() { "yes" } else { "no" };
    let res = rp
        .post(
            "/account/find-your-record/qts",
            &[
                ("has_qts", qts),
                ("itt_provider", provider),
                ("qts_year", year),
            ],
        )
        .await;
    assert_redirect(&res, "/account/find-your-record/check-answers");
    let identifiers = [nino, trn].into_iter().flatten();
    // As they were read: without spaces, in capitals.
    let shown = identifiers.map(|typed| typed.replace(' ', "").to_uppercase());
    check_and_look_up(rp, shown.chain(itt.map(|i| i.0.to_string())).collect()).await
}

/// Check answers shows `shown`; "Find my teaching record"'s answer.
async fn check_and_look_up(rp: &mut Rp, shown: Vec<String>) -> TestResponse {
    let check = rp.get("/account/find-your-record/check-answers").await;
    assert_eq!(heading(&check), "Check your answers");
    for answer in shown {
        assert!(check.body.contains(&answer), "check answers shows {answer}");
    }
    rp.post("/account/find-your-record/check-answers", &[])
        .await
}

/// The "found" page shows `trn`.
async fn assert_found(rp: &mut Rp, trn: &str) -> TestResponse {
    let page = rp.get("/account/record-found").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("We found your teaching record"));
    assert!(page.body.contains(trn), "the TRN is shown");
    page
}

async fn session_data(rp: &Rp) -> app::ssr::SessionData {
    let key = server::http::session::session_key(&rp.cookies["tid_session"]);
    let json = rp
        .state
        .store
        .load_session(&key, Utc::now())
        .await
        .unwrap()
        .expect("a session");
    serde_json::from_str(&json).unwrap()
}

/// Support's decision on `user_id`'s open task, as an officer makes it.
async fn support_decides(rp: &Rp, user_id: i64, decision: Decision) {
    let store = &rp.state.store;
    let open = store.open_task_for_user(user_id).await.unwrap().unwrap();
    let task = store
        .task_by_reference(&open.reference)
        .await
        .unwrap()
        .unwrap();
    let olive = staff_member(store, "olive@example.com").await;
    store
        .decide_task(
            &open.reference,
            task.version,
            &decision,
            &olive,
            &NewEmail {
                reference: format!("{}-decided", open.reference),
                template: "decided".into(),
                email_address: "someone@example.com".into(),
                personalisation: Default::default(),
                task_reference: Some(open.reference.clone()),
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
}

async fn found_by_national_insurance_number_shows_the_trn_and_goes_on_to_the_service(
    backend: Backend,
) {
    let Some(mut rp) = service(backend, TrnPolicy::Required).await else {
        return;
    };
    let id = account(&rp, "zeph@example.com", ("Zephyrine", "Quartermaine")).await;
    at_the_questions(&mut rp, "zeph@example.com").await;
    let res = answer_and_look_up(&mut rp, Some("ab 12 34 56 c"), None, None).await;
    assert_redirect(&res, "/account/record-found");
    let page = assert_found(&mut rp, TRN).await;
    assert!(!page.body.contains("is not the TRN on your teaching record"));
    assert!(page.body.contains(&format!("Continue to {SERVICE}")));
    assert_eq!(
        rp.state
            .store
            .connected_record(id)
            .await
            .unwrap()
            .map(|r| r.trn),
        Some(TRN.to_string())
    );
    assert_back_at_the_service(&rp.post("/oauth2/continue", &[]).await);
    // Found: the questions are behind them.
    assert_redirect(&rp.get("/account/find-your-record").await, "/record");
    assert_redirect(&rp.get("/continue").await, "/record");
}

async fn found_by_trn_goes_on_to_the_record_page_without_a_service_waiting(backend: Backend) {
    let Some(mut rp) = service(backend, TrnPolicy::Required).await else {
        return;
    };
    account(&rp, "zeph@example.com", ("Zephyrine", "Quartermaine")).await;
    at_the_questions(&mut rp, "zeph@example.com").await;
    let res = answer_and_look_up(&mut rp, None, Some("298 7651"), None).await;
    assert_redirect(&res, "/account/record-found");
    let page = assert_found(&mut rp, TRN).await;
    assert!(page.body.contains(&format!("Continue to {SERVICE}")));
    assert_back_at_the_service(&rp.post("/oauth2/continue", &[]).await);
    // The service's request is spent: "Continue" is their record.
    let page = assert_found(&mut rp, TRN).await;
    assert!(page.body.contains(r#"href="/record""#));
    assert!(!page.body.contains("Continue to"));
    assert_eq!(rp.get("/record").await.status, 200);
}

async fn found_by_itt_provider_and_qts_year(backend: Backend) {
    let Some(mut rp) = service(backend, TrnPolicy::Optional).await else {
        return;
    };
    account(&rp, "otto@example.com", ("Ottoline", "Fairweather-Vosk")).await;
    at_the_questions(&mut rp, "otto@example.com").await;
    // The provider's page suggests the records' providers (a datalist: no JavaScript needed).
    assert_redirect(
        &rp.post("/account/find-your-record/nino", &[("has_nino", "no")])
            .await,
        "/account/find-your-record/trn",
    );
    assert_redirect(
        &rp.post("/account/find-your-record/trn", &[("has_trn", "no")])
            .await,
        "/account/find-your-record/qts",
    );
    let qts = rp.get("/account/find-your-record/qts").await;
    assert!(qts.body.contains(r#"<datalist id="itt-providers">"#));
    assert!(qts
        .body
        .contains(r#"<option value="University of Leeds"></option>"#));
    assert_redirect(
        &rp.post(
            "/account/find-your-record/qts",
            &[
                ("has_qts", "yes"),
                ("itt_provider", " university  of leeds "),
                ("qts_year", "2015"),
            ],
        )
        .await,
        "/account/find-your-record/check-answers",
    );
    let res = check_and_look_up(&mut rp, vec!["university of leeds".into(), "2015".into()]).await;
    assert_redirect(&res, "/account/record-found");
    assert_found(&mut rp, ITT_TRN).await;
}

async fn not_found_raises_one_task_and_an_optional_service_goes_on_with_it_pending(
    backend: Backend,
) {
    let Some(mut rp) = service(backend, TrnPolicy::Optional).await else {
        return;
    };
    let id = account(&rp, "nemo@example.com", ("Nemo", "Nowhere-Known")).await;
    at_the_questions(&mut rp, "nemo@example.com").await;
    let res = answer_and_look_up(&mut rp, Some(NINO), None, None).await;
    assert_redirect(&res, "/request-pending");
    let task = rp
        .state
        .store
        .open_task_for_user(id)
        .await
        .unwrap()
        .unwrap();
    let stored = rp
        .state
        .store
        .task_by_reference(&task.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.kind,
        app::domain::support::TaskKind::AccountRecordMatching
    );
    assert_eq!(stored.service.as_deref(), Some(SERVICE));
    let page = rp.get("/request-pending").await;
    assert_eq!(heading(&page), "We’re still looking at your request");
    assert!(page.body.contains(&task.reference));
    assert!(
        page.body.contains("<strong>nemo@example.com</strong>"),
        "support's answer goes to the account's email"
    );
    assert!(page.body.contains(&format!("Continue to {SERVICE}")));
    // `trn = optional`: back to the service meanwhile (its claims say `trn_lookup_status = pending`).
    assert_back_at_the_service(&rp.post("/oauth2/continue", &[]).await);
    // Another day, another browser: looked up again with the same answers, and the same task.
    rp.cookies.clear();
    let back = sign_in(&mut rp, "nemo@example.com").await;
    assert_back_at_the_service(&back);
    let again = rp
        .state
        .store
        .open_task_for_user(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.reference, task.reference);
    assert_redirect(&rp.get("/continue").await, "/request-pending");
    // Its answers are the ones support sees.
    let details = match stored.details {
        app::domain::task_details::TaskDetails::AccountRecordMatching(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        details.answers,
        AccountAnswers {
            nino: Some(Answer::Yes(parse_nino(NINO).unwrap())),
            trn: Some(Answer::No),
            itt: Some(Answer::No),
        }
    );
}

async fn not_found_with_a_required_service_waits_and_support_assigning_shows_at_the_next_sign_in(
    backend: Backend,
) {
    let Some(mut rp) = service(backend, TrnPolicy::Required).await else {
        return;
    };
    // She typed a TRN that is not hers: nothing is found.
    let id = account(&rp, "zq@example.com", ("Zephyrine", "Quartermayne")).await;
    at_the_questions(&mut rp, "zq@example.com").await;
    let res = answer_and_look_up(&mut rp, None, Some("1111111"), None).await;
    assert_redirect(&res, "/request-pending");
    let page = rp.get("/request-pending").await;
    assert!(page.body.contains(&format!(
        "You’ll be able to use {SERVICE} once our support team has found your teaching record."
    )));
    assert!(!page.body.contains("Continue to"));
    // `trn = required`: no way back to the service while support looks.
    assert_redirect(&rp.post("/oauth2/continue", &[]).await, "/continue");
    rp.cookies.clear();
    assert_redirect(&sign_in(&mut rp, "zq@example.com").await, "/continue");
    assert_redirect(&rp.get("/continue").await, "/request-pending");
    // Support assigns her record: at her next sign-in the service gets her back, with her TRN.
    support_decides(&rp, id, Decision::Connect { trn: TRN.into() }).await;
    rp.cookies.clear();
    assert_back_at_the_service(&sign_in(&mut rp, "zq@example.com").await);
    assert_eq!(
        rp.state
            .store
            .connected_record(id)
            .await
            .unwrap()
            .map(|r| r.trn),
        Some(TRN.to_string())
    );
    assert_redirect(&rp.get("/continue").await, "/record");
}

async fn a_record_found_since_is_found_at_the_next_sign_in(backend: Backend) {
    let Some(mut rp) = service(backend, TrnPolicy::Required).await else {
        return;
    };
    let id = account(&rp, "wren@example.com", ("Wren", "Abernathy-Lusk")).await;
    at_the_questions(&mut rp, "wren@example.com").await;
    assert_redirect(
        &answer_and_look_up(&mut rp, Some("CE 12 34 56 A"), None, None).await,
        "/request-pending",
    );
    let task = rp
        .state
        .store
        .open_task_for_user(id)
        .await
        .unwrap()
        .unwrap();
    // Her record is loaded later; at her next sign-in her answers find it.
    rp.state
        .store
        .insert_records(
            &[record(
                "2987653",
                ("Wren", "Abernathy-Lusk"),
                Some("CE123456A"),
            )],
            Utc::now(),
        )
        .await
        .unwrap();
    rp.cookies.clear();
    assert_redirect(
        &sign_in(&mut rp, "wren@example.com").await,
        "/account/record-found",
    );
    let page = assert_found(&mut rp, "2987653").await;
    assert!(page.body.contains(&format!("Continue to {SERVICE}")));
    assert_eq!(
        rp.state
            .store
            .connected_record(id)
            .await
            .unwrap()
            .map(|r| r.trn),
        Some("2987653".to_string())
    );
    // Her task is closed with the record found, so no officer goes on looking.
    assert_eq!(rp.state.store.open_task_for_user(id).await.unwrap(), None);
    let closed = rp
        .state
        .store
        .task_by_reference(&task.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        closed.decision,
        Some(Decision::Connect {
            trn: "2987653".into()
        })
    );
    assert_back_at_the_service(&rp.post("/oauth2/continue", &[]).await);
}

async fn support_saying_no_trn_is_shown_at_the_next_sign_in(backend: Backend) {
    let Some(mut rp) = support_says_no_trn(backend, TrnPolicy::Required).await else {
        return;
    };
    let page = rp.get("/account/no-record").await;
    assert_eq!(heading(&page), "We could not find your teaching record");
    // A service that needs the record does not take them back without it.
    assert!(!page.body.contains(&format!("Continue to {SERVICE}")));
}

/// DESIGN §7.3: with `trn = optional` an account holder goes on to the service while there is no record; once
/// support has said there is none, the no-record page takes them back to it (`trn_lookup_status = none`).
async fn an_optional_service_takes_back_an_account_holder_support_found_no_record_for(
    backend: Backend,
) {
    let Some(mut rp) = support_says_no_trn(backend, TrnPolicy::Optional).await else {
        return;
    };
    let page = rp.get("/account/no-record").await;
    assert!(page.body.contains(&format!("Continue to {SERVICE}")));
    assert_back_at_the_service(&rp.post("/oauth2/continue", &[]).await);
}

/// An account holder not found, support's "no TRN", and their next sign-in, which shows it.
async fn support_says_no_trn(backend: Backend, trn: TrnPolicy) -> Option<Rp> {
    let mut rp = service(backend, trn).await?;
    let id = account(&rp, "nemo@example.com", ("Nemo", "Nowhere-Known")).await;
    at_the_questions(&mut rp, "nemo@example.com").await;
    assert_redirect(
        &answer_and_look_up(&mut rp, None, None, None).await,
        "/request-pending",
    );
    support_decides(
        &rp,
        id,
        Decision::DoNotConnect {
            reason: NotConnectedReason::NoMatchingRecord,
            detail: None,
        },
    )
    .await;
    rp.cookies.clear();
    assert_redirect(
        &sign_in(&mut rp, "nemo@example.com").await,
        "/account/no-record",
    );
    // Not looked up again, and no new task.
    assert_eq!(rp.state.store.open_task_for_user(id).await.unwrap(), None);
    Some(rp)
}

async fn a_record_another_person_holds_goes_to_trn_in_use_with_the_session_set(backend: Backend) {
    let Some(mut rp) = service(backend, TrnPolicy::Required).await else {
        return;
    };
    let first = account(&rp, "zeph@example.com", ("Zephyrine", "Quartermaine")).await;
    rp.state
        .store
        .connect_account(
            first,
            TRN,
            app::domain::matching::MatchedVia::Nino,
            Utc::now(),
        )
        .await
        .unwrap();
    let second = account(&rp, "zeph.work@example.com", ("Zephyrine", "Quartermaine")).await;
    at_the_questions(&mut rp, "zeph.work@example.com").await;
    let res = answer_and_look_up(&mut rp, Some(NINO), None, None).await;
    assert_redirect(&res, "/account/trn-in-use");
    assert_eq!(
        session_data(&rp).await.trn_in_use,
        Some(TrnInUse {
            trn: TRN.into(),
            answers: AccountAnswers {
                nino: Some(Answer::Yes(parse_nino(NINO).unwrap())),
                trn: Some(Answer::No),
                itt: Some(Answer::No),
            },
        })
    );
    // Not connected, and no task: the TRN-in-use flow decides.
    let store = &rp.state.store;
    assert_eq!(store.connected_record(second).await.unwrap(), None);
    assert_eq!(store.open_task_for_user(second).await.unwrap(), None);
}

async fn bad_answers_get_a_govuk_error_and_keep_what_was_typed(backend: Backend) {
    let Some(mut rp) = service(backend, TrnPolicy::Required).await else {
        return;
    };
    account(&rp, "zeph@example.com", ("Zephyrine", "Quartermaine")).await;
    at_the_questions(&mut rp, "zeph@example.com").await;
    let back = rp
        .post("/account/find-your-record/nino", &[("nino", "QQ 12")])
        .await;
    assert_redirect(&back, "/account/find-your-record/nino");
    let page = rp.get("/account/find-your-record/nino").await;
    assert_error(
        &page,
        "has_nino",
        "Select yes if you know your National Insurance number",
    );
    assert!(page.body.contains(r#"value="QQ 12""#), "kept");
    rp.post(
        "/account/find-your-record/nino",
        &[("has_nino", "yes"), ("nino", "QQ 12")],
    )
    .await;
    let page = rp.get("/account/find-your-record/nino").await;
    assert_error(
        &page,
        "nino",
        "Enter a National Insurance number in the correct format",
    );
    assert!(page.body.contains(r#"value="QQ 12""#), "kept");
    // A forged choice and a megabyte: a GOV.UK error, never a 5xx.
    let huge = "1".repeat(1_000_000);
    let res = rp
        .post(
            "/account/find-your-record/nino",
            &[("has_nino", "maybe"), ("nino", &huge)],
        )
        .await;
    assert!(res.status < 500, "{}", res.status);
    assert_redirect(
        &rp.post("/account/find-your-record/nino", &[("has_nino", "no")])
            .await,
        "/account/find-your-record/trn",
    );
    rp.post(
        "/account/find-your-record/trn",
        &[("has_trn", "yes"), ("trn", "12345")],
    )
    .await;
    let page = rp.get("/account/find-your-record/trn").await;
    assert_error(
        &page,
        "trn",
        "Enter a TRN in the correct format, like 1234567",
    );
    assert!(page.body.contains(r#"value="12345""#), "kept");
    assert_redirect(
        &rp.post("/account/find-your-record/trn", &[("has_trn", "no")])
            .await,
        "/account/find-your-record/qts",
    );
    let back = rp
        .post(
            "/account/find-your-record/qts",
            &[
                ("has_qts", "yes"),
                ("itt_provider", "<script>"),
                ("qts_year", "20x5"),
            ],
        )
        .await;
    assert_redirect(&back, "/account/find-your-record/qts");
    let page = rp.get("/account/find-your-record/qts").await;
    assert_error(
        &page,
        "itt_provider",
        "Initial teacher training provider must only include letters",
    );
    assert_error(
        &page,
        "qts_year",
        "Year you were awarded QTS must be a number, like 2015",
    );
    assert!(page.body.contains(r#"value="20x5""#), "kept");
    // An error while changing an answer from check answers goes back to the change page.
    assert_redirect(
        &rp.post("/account/find-your-record/qts", &[("has_qts", "no")])
            .await,
        "/account/find-your-record/check-answers",
    );
    let back = rp
        .post(
            "/account/find-your-record/trn",
            &[("has_trn", "yes"), ("trn", "abc"), ("change", "1")],
        )
        .await;
    assert_redirect(&back, "/account/find-your-record/trn?change=1");
    // The answers given before the error are still there.
    let check = rp.get("/account/find-your-record/check-answers").await;
    assert_eq!(heading(&check), "Check your answers");
}

async fn pages_out_of_order_and_people_who_do_not_belong_are_sent_where_they_belong(
    backend: Backend,
) {
    let Some(mut rp) = service(backend, TrnPolicy::Required).await else {
        return;
    };
    // Signed out: to sign in, pages and forms alike.
    assert_redirect(&rp.get("/account/find-your-record").await, "/sign-in");
    assert_redirect(
        &rp.post("/account/find-your-record/nino", &[("has_nino", "no")])
            .await,
        "/sign-in",
    );
    assert_redirect(
        &rp.post("/account/find-your-record/check-answers", &[])
            .await,
        "/sign-in",
    );
    account(&rp, "zeph@example.com", ("Zephyrine", "Quartermaine")).await;
    at_the_questions(&mut rp, "zeph@example.com").await;
    // Deep links and forms ahead of the answers go to the first question not answered.
    for page in [
        "/account/find-your-record/trn",
        "/account/find-your-record/qts",
        "/account/find-your-record/check-answers",
        "/account/find-your-record/too-many-attempts",
        "/account/record-found",
        "/account/no-record",
    ] {
        let res = rp.get(page).await;
        assert!((300..400).contains(&res.status), "{page}");
    }
    assert_redirect(
        &rp.get("/account/find-your-record/check-answers").await,
        "/account/find-your-record",
    );
    assert_redirect(
        &rp.post("/account/find-your-record/qts", &[("has_qts", "no")])
            .await,
        "/account/find-your-record",
    );
    assert_redirect(
        &rp.post("/account/find-your-record/check-answers", &[])
            .await,
        "/account/find-your-record",
    );
}

async fn typed_answers_are_rate_limited_as_in_the_connect_journey(backend: Backend) {
    let Some(mut rp) = service(backend, TrnPolicy::Required).await else {
        return;
    };
    account(&rp, "zeph@example.com", ("Zephyrine", "Quartermaine")).await;
    at_the_questions(&mut rp, "zeph@example.com").await;
    for i in 0..USER_ATTEMPTS {
        let nino = format!("AB{:06}C", 200_000 + i);
        let res = rp
            .post(
                "/account/find-your-record/nino",
                &[("has_nino", "yes"), ("nino", &nino)],
            )
            .await;
        assert_redirect(&res, "/account/find-your-record/trn");
    }
    let limited = rp
        .post(
            "/account/find-your-record/nino",
            &[("has_nino", "yes"), ("nino", NINO)],
        )
        .await;
    assert_redirect(&limited, "/account/find-your-record/too-many-attempts");
    let page = rp.get("/account/find-your-record/too-many-attempts").await;
    assert_eq!(heading(&page), "You’ve tried too many times");
    assert!(page.body.contains("in 24 hours"));
    // A TRN typed is an attempt too; "No" is not.
    let again = rp
        .post(
            "/account/find-your-record/trn",
            &[("has_trn", "yes"), ("trn", TRN)],
        )
        .await;
    assert_redirect(&again, "/account/find-your-record/too-many-attempts");
    assert_redirect(
        &rp.post("/account/find-your-record/trn", &[("has_trn", "no")])
            .await,
        "/account/find-your-record/qts",
    );
}

async fn a_typed_trn_that_is_not_theirs_still_finds_their_record_and_says_which_trn_is_theirs(
    backend: Backend,
) {
    let Some(mut rp) = service(backend, TrnPolicy::Required).await else {
        return;
    };
    // Someone else's TRN (Ottoline's) beside their own NINO: their own record, and they are told.
    let id = account(&rp, "zeph@example.com", ("Zephyrine", "Quartermaine")).await;
    at_the_questions(&mut rp, "zeph@example.com").await;
    let res = answer_and_look_up(&mut rp, Some(NINO), Some(ITT_TRN), None).await;
    assert_redirect(&res, "/account/record-found");
    let page = assert_found(&mut rp, TRN).await;
    assert!(page.body.contains(&format!(
        "The TRN you gave us, {ITT_TRN}, is not the TRN on your teaching record. Your TRN is {TRN}."
    )));
    let store = rp.state.store.clone();
    let connected = |id| {
        let store = store.clone();
        async move { store.connected_record(id).await.unwrap().map(|r| r.trn) }
    };
    assert_eq!(connected(id).await, Some(TRN.to_string()));

    // The same TRN with nothing else that is theirs connects no one: a support task, as for "I don't have a TRN".
    // Another person, in another browser.
    rp.cookies.clear();
    let other_id = account(&rp, "ottilie@example.com", ("Zephyrine", "Quartermain")).await;
    at_the_questions(&mut rp, "ottilie@example.com").await;
    let res = answer_and_look_up(&mut rp, None, Some(ITT_TRN), None).await;
    assert_ne!(res.header("location"), "/account/record-found");
    assert_eq!(connected(other_id).await, None);
    assert!(rp
        .state
        .store
        .open_task_for_user(other_id)
        .await
        .unwrap()
        .is_some());
}
