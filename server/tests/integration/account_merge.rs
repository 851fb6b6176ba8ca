//! "TRN in use" (DESIGN §7.3, issue 13 §3 and §6) through the pages, on both backends: the record found for a DfE
//! Identity account is held by another person; a passcode to that person's email (their account's, or the One
//! Login email on file), the choice of email, the merge keeping every connection, task and history event, support
//! when they cannot reach the email, both ways in afterwards, the merged person's other sessions, and requests
//! without (or with tampered) flow state. The person is put into the TRN-in-use state as the record questions leave
//! them: signed in with their account, `SessionData::trn_in_use` set.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{assert_redirect, heading, seeded_with_sql, stored_task, Sql};
use app::domain::account::{AccountEmail, AccountName, NewAccount};
use app::domain::account_record::{AccountAnswers, TrnInUse};
use app::domain::journey::Answer;
use app::domain::matching::{MatchedVia, SupportFlag};
use app::domain::provider::{Client, ClientAuth, Scope, Scopes, SignInPolicy, TrnPolicy};
use app::domain::records::{RecordStatus, TeachingRecord};
use app::domain::support::{Role, TaskKind, PEOPLE_MERGED};
use app::domain::task_details::TaskDetails;
use app::domain::validation::parse_nino;
use app::ssr::{IdentityStatus, SessionData, SignedInUser, WayIn};
use chrono::{NaiveDate, Utc};
use onelogin_standin::{CustomPerson, NextLogin, Outcome, CUSTOM};
use server::db::Backend;
use server::http::session::session_key;

on_both_backends!(
    both_accounts_prove_the_holders_email_choose_one_and_merge_keeping_everything,
    the_holders_code_dies_after_five_wrong_tries_expires_and_a_new_one_cancels_the_old,
    cannot_access_the_email_raises_a_trn_in_use_task_with_the_answers_then_the_waiting_page,
    a_one_login_holder_gets_the_code_at_the_one_login_email_and_ends_with_both_ways_in,
    the_merged_persons_other_browser_is_signed_out_even_after_a_racing_sign_in,
    pages_and_forms_without_or_with_tampered_flow_state_redirect_and_never_fail,
    the_record_questions_lead_into_the_flow_and_the_merge_returns_to_the_service,
);

const REDIRECT: &str = "https://npq.example/callback";
const TRN: &str = "9990001";

/// The service with `npq` registered (accounts offered, TRN optional) and a record nobody holds yet.
async fn service(backend: Backend) -> Option<(Rp, Sql)> {
    let (rp, sql) = seeded_with_sql(
        backend,
        "TRN-in-use tests",
        ("admin@example.com", "Ada Admin", Role::Administrator),
    )
    .await?;
    let now = Utc::now();
    rp.state
        .store
        .add_client(
            &Client {
                client_id: "npq".into(),
                display_name: "Register for an NPQ".into(),
                service_url: "https://npq.example".into(),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![],
                auth: ClientAuth::ClientSecret {
                    sha256: "ab".repeat(32),
                },
                allowed_scopes: Scopes::from(Scope::ALL),
                sign_in: SignInPolicy::OneLoginOrAccount,
                trn: TrnPolicy::Optional,
                mobile: Default::default(),
                id_token_alg: Default::default(),
                enabled: true,
            },
            now,
        )
        .await
        .unwrap();
    rp.state
        .store
        .insert_records(
            &[TeachingRecord {
                trn: TRN.into(),
                first_name: "Ann".into(),
                middle_name: None,
                last_name: "Lee".into(),
                date_of_birth: dob(),
                nino: Some("AB123456C".into()),
                email: None,
                status: RecordStatus::Active,
                previous_names: vec![],
                qualifications: vec![],
            }],
            now,
        )
        .await
        .unwrap();
    Some((rp, sql))
}

fn dob() -> NaiveDate {
    NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
}

/// An account stored directly, as its person made it earlier.
async fn account(rp: &Rp, email: &str, first: &str) -> i64 {
    rp.state
        .store
        .create_account(
            &NewAccount {
                email: AccountEmail::parse(email).unwrap(),
                mobile: None,
                name: AccountName {
                    first: first.into(),
                    last: "Lee".into(),
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

/// The holder (an account connected to [`TRN`], at `ann.lee@school.example`) and the asker (an account at
/// `ann@home.example` whose record questions found it): their ids.
async fn two_accounts(rp: &Rp) -> (i64, i64) {
    let holder = account(rp, "ann.lee@school.example", "Ann").await;
    rp.state
        .store
        .connect_account(holder, TRN, MatchedVia::Nino, Utc::now())
        .await
        .unwrap();
    (holder, account(rp, "ann@home.example", "Ann").await)
}

/// The "sign-ins combined" email: its address and how it says they can sign in.
async fn merged_email(rp: &Rp) -> (String, String) {
    let told = rp
        .state
        .store
        .recent_emails(20)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.email.template == "accounts_merged")
        .expect("the merged email");
    (
        told.email.email_address,
        told.email.personalisation["ways_in"].clone(),
    )
}

/// `npq`'s authorization request, which keeps it in the browser's session.
async fn sent_by_npq(rp: &mut Rp) {
    let res = authorize(rp, "openid email").await;
    assert!(res.status == 302 || res.status == 303, "{}", res.status);
}

/// `npq`'s authorization request for `scope`, as the teacher's browser makes it.
async fn authorize(rp: &mut Rp, scope: &str) -> TestResponse {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", "npq"),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", "n-1"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    rp.get(&format!("/oauth2/authorize?{query}")).await
}

/// Changes this browser's session as the server keeps it.
async fn change_session(rp: &mut Rp, change: impl FnOnce(&mut SessionData)) {
    let key = session_key(&rp.cookies["tid_session"]);
    let row = rp
        .state
        .store
        .load_live_session(&key, Utc::now())
        .await
        .unwrap()
        .expect("a live session");
    let mut data: SessionData = serde_json::from_str(&row.data).unwrap();
    change(&mut data);
    let user_id = data.user.as_ref().map(|u| u.user_id);
    let subject = data
        .user
        .as_ref()
        .and_then(|u| u.one_login_subject())
        .map(str::to_string);
    assert!(rp
        .state
        .store
        .update_session(
            &key,
            &serde_json::to_string(&data).unwrap(),
            subject.as_deref(),
            user_id,
            row.expires_at,
        )
        .await
        .unwrap());
}

fn answers() -> AccountAnswers {
    AccountAnswers {
        nino: Some(Answer::Yes(parse_nino("AB123456C").unwrap())),
        trn: Some(Answer::No),
        itt: Some(Answer::No),
    }
}

/// This browser (sent by `npq`) signed in with account `user_id`, just told by the record questions that
/// another person holds [`TRN`].
async fn at_trn_in_use(rp: &mut Rp, user_id: i64) {
    sent_by_npq(rp).await;
    change_session(rp, |data| {
        data.user = Some(SignedInUser {
            user_id,
            way_in: WayIn::Account {
                account_id: user_id,
            },
            email: None,
            identity: IdentityStatus::Unverified,
        });
        data.trn_in_use = Some(TrnInUse {
            trn: TRN.into(),
            answers: answers(),
        });
        data.account_merge = None;
    })
    .await;
}

/// `/account/trn-in-use` the first time: through the start route, which reads the holder, back to the page.
async fn trn_in_use_page(rp: &mut Rp) -> TestResponse {
    assert_redirect(
        &rp.get("/account/trn-in-use").await,
        "/account/trn-in-use/start",
    );
    assert_redirect(
        &rp.get("/account/trn-in-use/start").await,
        "/account/trn-in-use",
    );
    let page = rp.get("/account/trn-in-use").await;
    assert_eq!(page.status, 200);
    page
}

/// The newest passcode emailed to `address`.
async fn emailed_code(rp: &Rp, address: &str) -> String {
    rp.state
        .store
        .recent_emails(50)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.email.email_address == address && e.email.template == "passcode")
        .and_then(|e| e.email.personalisation.get("code").cloned())
        .unwrap_or_else(|| panic!("no code emailed to {address}"))
}

fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

fn assert_error(page: &TestResponse, field: &str, message: &str) {
    assert_eq!(page.status, 200);
    assert!(page.body.contains("There is a problem"), "{}", page.body);
    assert!(page.body.contains(&format!(r##"href="#{field}""##)));
    assert!(page.body.contains(message), "{message}: {}", page.body);
}

fn assert_back_at_the_service(res: &TestResponse) {
    let location = res.header("location");
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "back at the service: {location}"
    );
}

async fn signed_in(rp: &mut Rp) -> Option<i64> {
    rp.signed_in_user().await.map(|u| u.user_id)
}

async fn both_accounts_prove_the_holders_email_choose_one_and_merge_keeping_everything(
    backend: Backend,
) {
    let Some((mut rp, _sql)) = service(backend).await else {
        return;
    };
    let now = Utc::now();
    let store = rp.state.store.clone();
    // The holder: an account connected to the record. The asker: a newer account with a task support has open.
    let (holder, asker) = two_accounts(&rp).await;
    let asker_account = store.account(asker).await.unwrap().unwrap();
    let task = store
        .raise_support_task(
            &server::db::connect::NewSupportTask {
                user_id: asker,
                details: TaskDetails::AccountRecordMatching(
                    app::domain::task_details::AccountRecordMatchingDetails::of(
                        &asker_account,
                        answers(),
                        Default::default(),
                    ),
                ),
                client_id: None,
            },
            now,
        )
        .await
        .unwrap();
    let audit_before = store.latest_audit_id().await.unwrap();

    at_trn_in_use(&mut rp, asker).await;
    let page = trn_in_use_page(&mut rp).await;
    assert_eq!(
        heading(&page),
        "Your teaching record is already linked to another account"
    );
    assert!(page.body.contains("a****@****.example"), "partly hidden");
    assert!(!page.body.contains("ann.lee@school"), "never whole");
    // No answer: a GOV.UK error.
    assert_redirect(
        &rp.post("/account/trn-in-use", &[("access", "perhaps")])
            .await,
        "/account/trn-in-use",
    );
    assert_error(
        &rp.get("/account/trn-in-use").await,
        "access",
        "Select yes if you can access this email address",
    );
    // Not before a code is sent.
    assert_redirect(
        &rp.get("/account/trn-in-use/code").await,
        "/account/trn-in-use",
    );
    assert_redirect(
        &rp.post("/account/trn-in-use", &[("access", "yes")]).await,
        "/account/trn-in-use/code",
    );
    let code_page = rp.get("/account/trn-in-use/code").await;
    assert_eq!(heading(&code_page), "Check your email");
    assert!(code_page.body.contains("a****@****.example"));
    // Not before the code is right.
    assert_redirect(
        &rp.get("/account/trn-in-use/choose-email").await,
        "/account/trn-in-use",
    );
    assert_redirect(
        &rp.post(
            "/account/trn-in-use/choose-email",
            &[("keep_email", "mine")],
        )
        .await,
        "/account/trn-in-use",
    );
    // Following a link to the start again keeps the code sent.
    assert_redirect(
        &rp.get("/account/trn-in-use/start").await,
        "/account/trn-in-use",
    );
    assert_eq!(rp.get("/account/trn-in-use/code").await.status, 200);
    let code = emailed_code(&rp, "ann.lee@school.example").await;
    assert_redirect(
        &rp.post("/account/trn-in-use/code", &[("code", &other_than(&code))])
            .await,
        "/account/trn-in-use/code",
    );
    assert_error(
        &rp.get("/account/trn-in-use/code").await,
        "code",
        "Enter a correct security code",
    );
    assert_redirect(
        &rp.post("/account/trn-in-use/code", &[("code", &code)])
            .await,
        "/account/trn-in-use/choose-email",
    );
    let choose = rp.get("/account/trn-in-use/choose-email").await;
    assert_eq!(choose.status, 200);
    assert!(choose
        .body
        .contains("Which email address do you want to keep?"));
    assert!(choose.body.contains("ann.lee@school.example"));
    assert!(choose.body.contains("ann@home.example"));
    assert_eq!(signed_in(&mut rp).await, Some(asker), "nothing merged yet");
    assert_redirect(
        &rp.post("/account/trn-in-use/choose-email", &[("keep_email", "")])
            .await,
        "/account/trn-in-use/choose-email",
    );
    assert_error(
        &rp.get("/account/trn-in-use/choose-email").await,
        "keep_email",
        "Select which email address you want to keep",
    );
    let old_cookie = rp.cookies["tid_session"].clone();
    let merged = rp
        .post(
            "/account/trn-in-use/choose-email",
            &[("keep_email", "mine")],
        )
        .await;
    assert_back_at_the_service(&merged);

    // This browser is the kept person's now, in a new session, with the account whose email they chose.
    assert_ne!(rp.cookies["tid_session"], old_cookie, "a new session id");
    let user = rp.signed_in_user().await.unwrap();
    assert_eq!(user.user_id, holder);
    assert!(user.is_account());
    let kept = store.account(holder).await.unwrap().unwrap();
    assert_eq!(kept.email.address(), "ann@home.example");
    assert_eq!(store.account(asker).await.unwrap(), None);
    let school = AccountEmail::parse("ann.lee@school.example").unwrap();
    assert_eq!(store.account_by_email(&school).await.unwrap(), None);
    // The connection, the task and the record's history are all the kept person's.
    assert_eq!(
        store.account_lookup(holder).await.unwrap(),
        server::db::account_records::AccountLookup::Found { trn: TRN.into() }
    );
    assert_eq!(
        store
            .open_task_for_user(holder)
            .await
            .unwrap()
            .unwrap()
            .reference,
        task.reference
    );
    let history = store.record_history(TRN).await.unwrap();
    assert_eq!(history.last().unwrap().kind, PEOPLE_MERGED);
    assert_eq!(history.len(), 2, "the connection's event is kept");
    let audited = store.audit_log(None, 20).await.unwrap();
    assert_eq!(
        audited
            .iter()
            .filter(|e| e.id > audit_before && e.action == "people_merged")
            .count(),
        1
    );
    // The kept email is told.
    let (to, ways_in) = merged_email(&rp).await;
    assert_eq!(to, "ann@home.example");
    assert!(ways_in.contains("ann@home.example"));
    assert!(!ways_in.contains("One Login"));
    // The flow is over: its pages send them on.
    assert_redirect(&rp.get("/account/trn-in-use").await, "/continue");
    assert_redirect(&rp.get("/continue").await, "/record");
}

async fn the_holders_code_dies_after_five_wrong_tries_expires_and_a_new_one_cancels_the_old(
    backend: Backend,
) {
    let Some((mut rp, sql)) = service(backend).await else {
        return;
    };
    let (_, asker) = two_accounts(&rp).await;
    at_trn_in_use(&mut rp, asker).await;
    trn_in_use_page(&mut rp).await;
    rp.post("/account/trn-in-use", &[("access", "yes")]).await;
    let first = emailed_code(&rp, "ann.lee@school.example").await;
    // A new code: the page says so, and the old one no longer works.
    assert_redirect(
        &rp.post("/account/trn-in-use/resend", &[]).await,
        "/account/trn-in-use/code",
    );
    assert!(rp
        .get("/account/trn-in-use/code")
        .await
        .body
        .contains("We’ve sent you a new security code"));
    let second = emailed_code(&rp, "ann.lee@school.example").await;
    if first != second {
        rp.post("/account/trn-in-use/code", &[("code", &first)])
            .await;
        assert_error(
            &rp.get("/account/trn-in-use/code").await,
            "code",
            "Enter a correct security code",
        );
    }
    for _ in 0..5 {
        rp.post(
            "/account/trn-in-use/code",
            &[("code", &other_than(&second))],
        )
        .await;
    }
    rp.post("/account/trn-in-use/code", &[("code", &second)])
        .await;
    assert_error(
        &rp.get("/account/trn-in-use/code").await,
        "code",
        "too many times",
    );
    // Past its 15 minutes, a fresh code is refused too.
    rp.post("/account/trn-in-use/resend", &[]).await;
    let third = emailed_code(&rp, "ann.lee@school.example").await;
    sql.run("UPDATE passcodes SET expires_at = created_at WHERE used_at IS NULL AND cancelled_at IS NULL")
        .await;
    rp.post("/account/trn-in-use/code", &[("code", &third)])
        .await;
    assert_error(
        &rp.get("/account/trn-in-use/code").await,
        "code",
        "The security code has expired",
    );
    // Not a code at all: the format is explained.
    rp.post("/account/trn-in-use/code", &[("code", "12a456")])
        .await;
    assert_error(
        &rp.get("/account/trn-in-use/code").await,
        "code",
        "must only include numbers",
    );
    // Nothing was merged, and they are still who they were.
    assert_eq!(signed_in(&mut rp).await, Some(asker));
    assert!(rp.state.store.account(asker).await.unwrap().is_some());
    // A working code still goes through.
    rp.post("/account/trn-in-use/resend", &[]).await;
    let fourth = emailed_code(&rp, "ann.lee@school.example").await;
    assert_redirect(
        &rp.post("/account/trn-in-use/code", &[("code", &fourth)])
            .await,
        "/account/trn-in-use/choose-email",
    );
}

async fn cannot_access_the_email_raises_a_trn_in_use_task_with_the_answers_then_the_waiting_page(
    backend: Backend,
) {
    let Some((mut rp, _sql)) = service(backend).await else {
        return;
    };
    let (_, asker) = two_accounts(&rp).await;
    at_trn_in_use(&mut rp, asker).await;
    trn_in_use_page(&mut rp).await;
    let asked = rp.post("/account/trn-in-use", &[("access", "no")]).await;
    let task = rp
        .state
        .store
        .open_task_for_user(asker)
        .await
        .unwrap()
        .expect("a support task");
    let stored = stored_task(&rp.state.store, &task.reference).await;
    assert_eq!(stored.kind, TaskKind::AccountRecordMatching);
    match &stored.details {
        TaskDetails::AccountRecordMatching(d) => {
            assert_eq!(d.answers, answers());
            assert!(d.flags.contains(&SupportFlag::TrnInUse));
            assert_eq!(d.email, "ann@home.example");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        stored.flag.as_deref(),
        Some("TRN in use by another account")
    );
    assert_eq!(stored.service.as_deref(), Some("Register for an NPQ"));
    // Nothing sent to the holder, nothing merged.
    assert!(rp
        .state
        .store
        .recent_emails(20)
        .await
        .unwrap()
        .iter()
        .all(|e| e.email.email_address != "ann.lee@school.example"));
    assert!(rp.state.store.account(asker).await.unwrap().is_some());
    // The waiting page (or, with TRN optional, back at the service meanwhile).
    let location = asked.header("location").to_string();
    assert!(
        location == "/request-pending" || location.starts_with(REDIRECT),
        "{location}"
    );
    if location == "/request-pending" {
        assert_eq!(rp.get("/request-pending").await.status, 200);
    }
    // The flow is over.
    assert_redirect(&rp.get("/account/trn-in-use").await, "/continue");
}

async fn a_one_login_holder_gets_the_code_at_the_one_login_email_and_ends_with_both_ways_in(
    backend: Backend,
) {
    let Some((mut rp, _sql)) = service(backend).await else {
        return;
    };
    // A teacher signed in with One Login and connected to the record.
    let person = CustomPerson {
        first_name: "Ann".into(),
        last_name: "Lee".into(),
        previous_first_name: None,
        previous_last_name: None,
        previous_name_valid_until: None,
        date_of_birth: dob(),
        email: "ann.onelogin@example.com".into(),
    };
    let one_login = |person: &CustomPerson| NextLogin {
        custom: Some(person.clone()),
        ..NextLogin::new(CUSTOM, Outcome::Authenticated)
    };
    rp.round_trip("/sign-in", one_login(&person)).await;
    let teacher = rp.signed_in_user().await.expect("signed in").user_id;
    rp.state
        .store
        .connect_user(
            teacher,
            TRN,
            MatchedVia::Nino,
            "ann.onelogin@example.com",
            Utc::now(),
        )
        .await
        .unwrap();

    // Later, in another browser, an account matched to the same record.
    rp.cookies.clear();
    let asker = account(&rp, "ann@home.example", "Ann").await;
    at_trn_in_use(&mut rp, asker).await;
    let page = trn_in_use_page(&mut rp).await;
    assert_eq!(
        heading(&page),
        "Your teaching record is already linked to another sign-in"
    );
    assert!(page.body.contains("GOV.UK One Login"));
    assert!(page.body.contains("a****@****.com"));
    rp.post("/account/trn-in-use", &[("access", "yes")]).await;
    let code = emailed_code(&rp, "ann.onelogin@example.com").await;
    // One Login stays a way in anyway: no choice of email, merged at once.
    let merged = rp
        .post("/account/trn-in-use/code", &[("code", &code)])
        .await;
    assert_back_at_the_service(&merged);
    assert_eq!(signed_in(&mut rp).await, Some(teacher));
    let (to, ways_in) = merged_email(&rp).await;
    assert_eq!(to, "ann@home.example");
    assert!(ways_in.starts_with("GOV.UK One Login"));
    assert_eq!(rp.get("/record").await.status, 200);

    // Both ways in reach the same person and record: One Login …
    rp.cookies.clear();
    rp.round_trip("/sign-in", one_login(&person)).await;
    assert_eq!(signed_in(&mut rp).await, Some(teacher));
    assert_redirect(&rp.get("/continue").await, "/record");
    // … and the account's email and its code.
    rp.cookies.clear();
    sent_by_npq(&mut rp).await;
    rp.get("/account-sign-in/email?intent=sign-in").await;
    assert_redirect(
        &rp.post(
            "/account-sign-in/email",
            &[("email", "ann@home.example"), ("intent", "sign-in")],
        )
        .await,
        "/account-sign-in/email/code",
    );
    let code = emailed_code(&rp, "ann@home.example").await;
    rp.post("/account-sign-in/email/code", &[("code", &code)])
        .await;
    assert_eq!(signed_in(&mut rp).await, Some(teacher));
    assert_eq!(rp.get("/record").await.status, 200);
}

async fn the_merged_persons_other_browser_is_signed_out_even_after_a_racing_sign_in(
    backend: Backend,
) {
    let Some((mut rp, _sql)) = service(backend).await else {
        return;
    };
    let (holder, asker) = two_accounts(&rp).await;
    // Another browser, signed in as the asker (the same service, its own cookies).
    at_trn_in_use(&mut rp, asker).await;
    assert_eq!(signed_in(&mut rp).await, Some(asker));
    let other = std::mem::take(&mut rp.cookies);

    at_trn_in_use(&mut rp, asker).await;
    trn_in_use_page(&mut rp).await;
    rp.post("/account/trn-in-use", &[("access", "yes")]).await;
    let code = emailed_code(&rp, "ann.lee@school.example").await;
    rp.post("/account/trn-in-use/code", &[("code", &code)])
        .await;
    assert_back_at_the_service(
        &rp.post(
            "/account/trn-in-use/choose-email",
            &[("keep_email", "holders")],
        )
        .await,
    );
    assert_eq!(signed_in(&mut rp).await, Some(holder));
    assert_eq!(
        rp.state
            .store
            .account(holder)
            .await
            .unwrap()
            .unwrap()
            .email
            .address(),
        "ann.lee@school.example"
    );

    // The other browser is signed out, not the person who went.
    rp.cookies = other;
    assert_eq!(rp.signed_in_user().await, None);
    assert_redirect(&rp.get("/account/trn-in-use").await, "/sign-in");
    // A sign-in that read the asker's account before the merge and wrote its session after: no session either.
    let now = Utc::now();
    let data = SessionData {
        user: Some(SignedInUser {
            user_id: asker,
            way_in: WayIn::Account { account_id: asker },
            email: None,
            identity: IdentityStatus::Unverified,
        }),
        ..Default::default()
    };
    rp.state
        .store
        .insert_session(
            &session_key("racing-token"),
            &serde_json::to_string(&data).unwrap(),
            None,
            Some(asker),
            now,
            now + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    rp.cookies
        .insert("tid_session".into(), "racing-token".into());
    assert_eq!(rp.signed_in_user().await, None);
    assert_redirect(&rp.get("/account/trn-in-use").await, "/sign-in");
}

async fn pages_and_forms_without_or_with_tampered_flow_state_redirect_and_never_fail(
    backend: Backend,
) {
    let Some((mut rp, sql)) = service(backend).await else {
        return;
    };
    let (holder, asker) = two_accounts(&rp).await;
    let pages = [
        "/account/trn-in-use",
        "/account/trn-in-use/code",
        "/account/trn-in-use/choose-email",
        "/account/trn-in-use/start",
    ];
    let forms = [
        ("/account/trn-in-use", ("access", "yes")),
        ("/account/trn-in-use/code", ("code", "123456")),
        ("/account/trn-in-use/resend", ("x", "")),
        ("/account/trn-in-use/choose-email", ("keep_email", "mine")),
    ];
    // Signed out: to sign in.
    sent_by_npq(&mut rp).await;
    for page in pages {
        assert_redirect(&rp.get(page).await, "/sign-in");
    }
    for (form, field) in forms {
        assert_redirect(&rp.post(form, &[field]).await, "/sign-in");
    }
    // Signed in, but no TRN in use: on through /continue.
    change_session(&mut rp, |data| {
        data.user = Some(SignedInUser {
            user_id: asker,
            way_in: WayIn::Account { account_id: asker },
            email: None,
            identity: IdentityStatus::Unverified,
        })
    })
    .await;
    for page in pages {
        assert_redirect(&rp.get(page).await, "/continue");
    }
    for (form, field) in forms {
        assert_redirect(&rp.post(form, &[field]).await, "/continue");
    }
    // Progress made for another person or another TRN counts for nothing: the flow begins again.
    at_trn_in_use(&mut rp, asker).await;
    trn_in_use_page(&mut rp).await;
    rp.post("/account/trn-in-use", &[("access", "yes")]).await;
    change_session(&mut rp, |data| {
        let progress = data.account_merge.as_mut().unwrap();
        progress.user_id = holder;
        progress.proven = true;
    })
    .await;
    assert_redirect(
        &rp.get("/account/trn-in-use/choose-email").await,
        "/account/trn-in-use/start",
    );
    assert_redirect(
        &rp.post(
            "/account/trn-in-use/choose-email",
            &[("keep_email", "mine")],
        )
        .await,
        "/account/trn-in-use/start",
    );
    assert!(rp.state.store.account(asker).await.unwrap().is_some());
    // Bad answers never fail: a GOV.UK error, or the page they belong on.
    trn_in_use_page(&mut rp).await;
    for access in ["", "YES", &"x".repeat(10_000)] {
        assert_redirect(
            &rp.post("/account/trn-in-use", &[("access", access)]).await,
            "/account/trn-in-use",
        );
    }
    // A One Login person (no account) has no TRN-in-use flow of their own.
    change_session(&mut rp, |data| {
        data.user.as_mut().unwrap().way_in = WayIn::OneLogin {
            subject: "urn:fdc:x".into(),
            id_token: "t".into(),
        }
    })
    .await;
    assert_redirect(&rp.get("/account/trn-in-use").await, "/continue");
    // Nobody else holds the record any more: the flow ends and they go on through /continue.
    at_trn_in_use(&mut rp, asker).await;
    sql.run(&format!("DELETE FROM connections WHERE user_id = {holder}"))
        .await;
    assert_redirect(
        &rp.get("/account/trn-in-use").await,
        "/account/trn-in-use/start",
    );
    assert_redirect(&rp.get("/account/trn-in-use/start").await, "/continue");
    assert_redirect(&rp.get("/account/trn-in-use").await, "/continue");
    // Unreadable session data is no session: signed out, never an error.
    let key = session_key(&rp.cookies["tid_session"]);
    sql.run(&format!(
        "UPDATE sessions SET data = '{{\"account_merge\":{{\"user_id\":\"nope\"}}}}' WHERE id_hash = '{key}'"
    ))
    .await;
    assert_redirect(&rp.get("/account/trn-in-use").await, "/sign-in");
}

async fn the_record_questions_lead_into_the_flow_and_the_merge_returns_to_the_service(
    backend: Backend,
) {
    let Some((mut rp, _sql)) = service(backend).await else {
        return;
    };
    let (holder, asker) = two_accounts(&rp).await;
    // Sent by `npq` asking for the teaching record, they sign in to their account with its email and code.
    assert_redirect(
        &authorize(&mut rp, "openid email teaching_record").await,
        "/account-sign-in",
    );
    rp.get("/account-sign-in/email?intent=sign-in").await;
    rp.post(
        "/account-sign-in/email",
        &[("email", "ann@home.example"), ("intent", "sign-in")],
    )
    .await;
    let code = emailed_code(&rp, "ann@home.example").await;
    assert_redirect(
        &rp.post("/account-sign-in/email/code", &[("code", &code)])
            .await,
        "/continue",
    );
    assert_eq!(signed_in(&mut rp).await, Some(asker));
    assert_redirect(&rp.get("/continue").await, "/account/find-your-record");
    // The record questions: their National Insurance number finds the record the other account holds.
    for (form, fields, next) in [
        (
            "/account/find-your-record/nino",
            [("has_nino", "yes"), ("nino", "AB 12 34 56 C")],
            "/account/find-your-record/trn",
        ),
        (
            "/account/find-your-record/trn",
            [("has_trn", "no"), ("trn", "")],
            "/account/find-your-record/qts",
        ),
        (
            "/account/find-your-record/qts",
            [("has_qts", "no"), ("itt_provider", "")],
            "/account/find-your-record/check-answers",
        ),
    ] {
        assert_redirect(&rp.post(form, &fields).await, next);
    }
    assert_redirect(
        &rp.post("/account/find-your-record/check-answers", &[])
            .await,
        "/account/trn-in-use",
    );
    let page = trn_in_use_page(&mut rp).await;
    assert_eq!(
        heading(&page),
        "Your teaching record is already linked to another account"
    );
    rp.post("/account/trn-in-use", &[("access", "yes")]).await;
    let code = emailed_code(&rp, "ann.lee@school.example").await;
    assert_redirect(
        &rp.post("/account/trn-in-use/code", &[("code", &code)])
            .await,
        "/account/trn-in-use/choose-email",
    );
    let back = rp
        .post(
            "/account/trn-in-use/choose-email",
            &[("keep_email", "mine")],
        )
        .await;
    assert_back_at_the_service(&back);
    assert_eq!(signed_in(&mut rp).await, Some(holder));
    assert_eq!(
        rp.state
            .store
            .connected_record(holder)
            .await
            .unwrap()
            .map(|r| r.trn),
        Some(TRN.into())
    );
}
