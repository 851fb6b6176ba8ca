//! Signing in to and creating a DfE Identity account (DESIGN §7.3, seed 002, issue 13 §1–2), through the pages as
//! a browser would, on both backends: every branch of the journey, each duplicate scenario, wrong and expired codes,
//! resending, the send limits, the same answers for known and unknown emails, and bad input on every field. Codes are
//! read from the outbox, as the development mailbox shows them.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{assert_redirect, heading, seeded_with_sql, Sql};
use app::domain::account::{AccountEmail, AccountName, Mobile, NewAccount};
use app::domain::provider::{Client, ClientAuth, Scope, Scopes, SignInPolicy, TrnPolicy};
use app::domain::support::Role;
use chrono::{NaiveDate, Utc};
use server::db::Backend;

on_both_backends!(
    a_new_account_is_created_then_signed_in_to_again_in_a_new_browser_and_the_service_gets_a_code,
    scenario_1_creating_an_account_with_an_email_that_has_one_signs_in_to_it,
    scenario_2_a_mobile_that_has_an_account_signs_in_to_that_account,
    scenario_3_the_same_name_and_date_of_birth_offers_the_account_and_its_code_signs_in_to_it,
    scenario_3_answering_no_creates_a_second_account,
    signing_in_with_an_email_that_has_no_account_says_so_only_after_its_code,
    five_wrong_codes_kill_the_code_and_an_expired_code_is_refused,
    a_new_code_cancels_the_old_one,
    known_and_unknown_emails_get_the_same_pages_and_errors_until_the_code,
    sending_is_limited_per_email_and_per_client_address,
    bad_emails_get_a_govuk_error_and_keep_what_was_typed,
    mobiles_in_many_shapes_are_read_and_bad_ones_refused,
    bad_names_and_dates_of_birth_get_a_govuk_error_and_keep_what_was_typed,
    a_service_that_does_not_offer_accounts_never_shows_them,
);

const REDIRECT: &str = "https://npq.example/callback";
const ACCOUNT_SIGN_IN: &str = "/account-sign-in";

/// The service with `npq` registered (`sign_in` as given), and a second connection to its database.
async fn service(backend: Backend, sign_in: SignInPolicy) -> Option<(Rp, Sql)> {
    let (rp, sql) = seeded_with_sql(
        backend,
        "DfE Identity account sign-in tests",
        ("admin@example.com", "Ada Admin", Role::Administrator),
    )
    .await?;
    let client = Client {
        client_id: "npq".into(),
        display_name: "Register for an NPQ".into(),
        service_url: "https://npq.example".into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        auth: ClientAuth::ClientSecret {
            sha256: "ab".repeat(32),
        },
        allowed_scopes: Scopes::from(Scope::ALL),
        sign_in,
        trn: TrnPolicy::Optional,
        mobile: Default::default(),
        id_token_alg: Default::default(),
        enabled: true,
    };
    rp.state
        .store
        .add_client(&client, Utc::now())
        .await
        .unwrap();
    Some((rp, sql))
}

/// `npq`'s authorization request (`openid email`), as the teacher's browser makes it.
pub(super) async fn authorize(rp: &mut Rp) -> TestResponse {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", "npq"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email"),
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

/// The browser sent by `npq`, at the choice of One Login or an account.
pub(super) async fn at_the_choice(rp: &mut Rp) {
    assert_redirect(&authorize(rp).await, ACCOUNT_SIGN_IN);
    let landing = rp.get(ACCOUNT_SIGN_IN).await;
    assert_eq!(landing.status, 200);
    assert!(landing.body.contains("Continue with GOV.UK One Login"));
    assert!(landing.body.contains("Register for an NPQ"));
}

/// The newest passcode emailed to `address`.
pub(crate) async fn emailed_code(rp: &Rp, address: &str) -> String {
    rp.state
        .store
        .recent_emails(50)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.email.email_address == address)
        .and_then(|e| e.email.personalisation.get("code").cloned())
        .unwrap_or_else(|| panic!("no code emailed to {address}"))
}

/// How many passcode emails went to `address`.
async fn emails_to(rp: &Rp, address: &str) -> usize {
    rp.state
        .store
        .recent_emails(200)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.email.email_address == address)
        .count()
}

/// The newest passcode texted to `e164`.
pub(super) async fn texted_code(rp: &Rp, e164: &str) -> String {
    rp.state
        .store
        .recent_sms(50)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.sms.phone_number == e164)
        .and_then(|t| t.sms.personalisation.get("code").cloned())
        .unwrap_or_else(|| panic!("no code texted to {e164}"))
}

/// A code that is not `code`.
pub(super) fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// Types `email` (choosing `intent`) and enters its code; the code page's answer.
pub(crate) async fn prove_email(rp: &mut Rp, email: &str, intent: &str) -> TestResponse {
    assert_eq!(
        rp.get(&format!("/account-sign-in/email?intent={intent}"))
            .await
            .status,
        200
    );
    let sent = rp
        .post(
            "/account-sign-in/email",
            &[("email", email), ("intent", intent)],
        )
        .await;
    assert_redirect(&sent, "/account-sign-in/email/code");
    let page = rp.get("/account-sign-in/email/code").await;
    assert!(page.body.contains(email), "the page names the address");
    let code = emailed_code(rp, email).await;
    rp.post("/account-sign-in/email/code", &[("code", &code)])
        .await
}

/// Types and proves a mobile; the code page's answer.
pub(super) async fn prove_mobile(rp: &mut Rp, typed: &str, e164: &str) -> TestResponse {
    assert_redirect(
        &rp.post("/account-sign-in/mobile", &[("mobile", typed)])
            .await,
        "/account-sign-in/mobile/code",
    );
    assert!(rp
        .get("/account-sign-in/mobile/code")
        .await
        .body
        .contains(e164));
    let code = texted_code(rp, e164).await;
    rp.post("/account-sign-in/mobile/code", &[("code", &code)])
        .await
}

pub(super) async fn name_and_date_of_birth(
    rp: &mut Rp,
    first: &str,
    last: &str,
    dob: (&str, &str, &str),
) -> TestResponse {
    assert_redirect(
        &rp.post(
            "/account-sign-in/name",
            &[
                ("first_name", first),
                ("last_name", last),
                ("preferred_name", ""),
            ],
        )
        .await,
        "/account-sign-in/date-of-birth",
    );
    rp.post(
        "/account-sign-in/date-of-birth",
        &[
            ("dob-day", dob.0),
            ("dob-month", dob.1),
            ("dob-year", dob.2),
        ],
    )
    .await
}

/// Creates an account through the pages: email, mobile, name, date of birth; the date of birth's answer.
pub(super) async fn create_through_the_pages(
    rp: &mut Rp,
    email: &str,
    mobile: (&str, &str),
    name: (&str, &str),
) -> TestResponse {
    assert_redirect(
        &prove_email(rp, email, "create").await,
        "/account-sign-in/mobile",
    );
    assert_redirect(
        &prove_mobile(rp, mobile.0, mobile.1).await,
        "/account-sign-in/name",
    );
    name_and_date_of_birth(rp, name.0, name.1, ("14", "3", "1985")).await
}

/// An account stored directly, as another person made it earlier.
pub(super) async fn existing(
    rp: &Rp,
    email: &str,
    mobile: Option<&str>,
    first: &str,
    last: &str,
) -> i64 {
    rp.state
        .store
        .create_account(
            &NewAccount {
                email: AccountEmail::parse(email).unwrap(),
                mobile: mobile.map(|m| Mobile::parse(m).unwrap()),
                name: AccountName {
                    first: first.into(),
                    last: last.into(),
                    preferred: None,
                },
                date_of_birth: NaiveDate::from_ymd_opt(1985, 3, 14).unwrap(),
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap()
        .user_id
}

/// Who this browser is signed in as: `(user id, signed in with an account)`.
pub(super) async fn signed_in(rp: &mut Rp) -> Option<(i64, bool)> {
    rp.signed_in_user()
        .await
        .map(|u| (u.user_id, u.is_account()))
}

/// `Continue to <service>`: back at the service with a code and its state.
pub(crate) fn assert_back_at_the_service(res: &TestResponse) {
    let location = res.header("location");
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "back at the service: {location}"
    );
    assert!(location.ends_with("&state=st-1"), "{location}");
}

/// The error summary holds `message`, linked to `field`, and the title says there is an error.
pub(crate) fn assert_error(page: &TestResponse, field: &str, message: &str) {
    assert_eq!(page.status, 200);
    assert!(page.body.contains("There is a problem"), "{}", page.body);
    assert!(
        page.body.contains(&format!(r##"href="#{field}""##)),
        "linked to {field}"
    );
    assert!(page.body.contains(message), "{message}: {}", page.body);
    assert!(page.body.contains("<title>Error: "));
}

async fn a_new_account_is_created_then_signed_in_to_again_in_a_new_browser_and_the_service_gets_a_code(
    backend: Backend,
) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    at_the_choice(&mut rp).await;
    let created = create_through_the_pages(
        &mut rp,
        "Jo.Bloggs+npq@Example.com",
        ("07400 123456", "+447400123456"),
        ("Jo", "Bloggs"),
    )
    .await;
    assert_redirect(&created, "/account-sign-in/created");
    let page = rp.get("/account-sign-in/created").await;
    assert_eq!(heading(&page), "Your DfE Identity account has been created");
    assert!(page.body.contains("Continue to Register for an NPQ"));
    let (user_id, account) = signed_in(&mut rp).await.expect("signed in");
    assert!(account);
    let stored = rp.state.store.account(user_id).await.unwrap().unwrap();
    assert_eq!(stored.email.address(), "Jo.Bloggs+npq@Example.com");
    assert_eq!(stored.mobile.unwrap().as_str(), "+447400123456");
    assert_eq!(stored.name.first, "Jo");
    assert_eq!(
        stored.date_of_birth,
        NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
    );
    let back = rp.post("/oauth2/continue", &[]).await;
    assert_back_at_the_service(&back);

    // They sign out, and come back another day in a new browser: the email and its code sign them in, and the
    // service (which asks for nothing the account lacks) gets them back at once.
    let out = rp.post("/sign-out", &[]).await;
    assert_redirect(&out, "/signed-out");
    assert_eq!(signed_in(&mut rp).await, None);
    rp.cookies.clear();
    at_the_choice(&mut rp).await;
    let back = prove_email(&mut rp, "jo.bloggs+npq@example.com", "sign-in").await;
    assert_back_at_the_service(&back);
    assert_eq!(signed_in(&mut rp).await, Some((user_id, true)));
    // The session is found by the person's id, so their pages can be kept (page_version), though it has no One
    // Login subject for a back-channel logout to end it by.
    let key = server::http::session::session_key(&rp.cookies["tid_session"]);
    let session = rp
        .state
        .store
        .load_live_session(&key, Utc::now())
        .await
        .unwrap()
        .expect("a live session");
    assert!(session.page_version.is_some(), "read by user id");
    let user = rp.signed_in_user().await.unwrap();
    assert_eq!(user.one_login_subject(), None);
    assert_eq!(user.identity, app::ssr::IdentityStatus::Unverified);
    // Without a service's request, they land where finding their record starts.
    assert_redirect(&rp.get("/continue").await, "/account/find-your-record");
    let find = rp.get("/account/find-your-record").await;
    assert_eq!(heading(&find), "We need to find your teaching record");
    // Signed in, the journey's pages send them on.
    assert_redirect(&rp.get("/account-sign-in/email").await, "/continue");
}

async fn scenario_1_creating_an_account_with_an_email_that_has_one_signs_in_to_it(
    backend: Backend,
) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    let theirs = existing(&rp, "sam@example.com", None, "Sam", "Brown").await;
    at_the_choice(&mut rp).await;
    let proven = prove_email(&mut rp, "SAM@example.com", "create").await;
    assert_redirect(&proven, "/account-sign-in/you-have-an-account");
    let page = rp.get("/account-sign-in/you-have-an-account").await;
    assert_eq!(heading(&page), "You already have a DfE Identity account");
    assert_eq!(signed_in(&mut rp).await, Some((theirs, true)));
    let back = rp.post("/oauth2/continue", &[]).await;
    assert_back_at_the_service(&back);
}

async fn scenario_2_a_mobile_that_has_an_account_signs_in_to_that_account(backend: Backend) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    let theirs = existing(
        &rp,
        "old@example.com",
        Some("+447400123456"),
        "Sam",
        "Brown",
    )
    .await;
    at_the_choice(&mut rp).await;
    assert_redirect(
        &prove_email(&mut rp, "new@example.com", "create").await,
        "/account-sign-in/mobile",
    );
    let proven = prove_mobile(&mut rp, "0044 7400 123 456", "+447400123456").await;
    assert_redirect(&proven, "/account-sign-in/you-have-an-account");
    assert_eq!(signed_in(&mut rp).await, Some((theirs, true)));
    assert!(
        rp.state
            .store
            .account_by_email(&AccountEmail::parse("new@example.com").unwrap())
            .await
            .unwrap()
            .is_none(),
        "no second account"
    );
}

async fn scenario_3_the_same_name_and_date_of_birth_offers_the_account_and_its_code_signs_in_to_it(
    backend: Backend,
) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    let theirs = existing(
        &rp,
        "william.smith@digital.education.gov.uk",
        None,
        "William",
        "Smith",
    )
    .await;
    at_the_choice(&mut rp).await;
    let asked = create_through_the_pages(
        &mut rp,
        "bill@example.com",
        ("+44 7400 654321", "+447400654321"),
        ("Bill", "SMITH"),
    )
    .await;
    assert_redirect(&asked, "/account-sign-in/is-this-you");
    let page = rp.get("/account-sign-in/is-this-you").await;
    assert!(
        page.body.contains("w****@****.gov.uk"),
        "the email partly hidden"
    );
    assert!(!page.body.contains("william.smith"), "and never whole");
    assert_redirect(
        &rp.post("/account-sign-in/is-this-you", &[]).await,
        "/account-sign-in/is-this-you",
    );
    assert_error(
        &rp.get("/account-sign-in/is-this-you").await,
        "is_this_you",
        "Select yes if this is your account",
    );
    assert_redirect(
        &rp.post("/account-sign-in/is-this-you", &[("is_this_you", "yes")])
            .await,
        "/account-sign-in/is-this-you/code",
    );
    let code = emailed_code(&rp, "william.smith@digital.education.gov.uk").await;
    let wrong = rp
        .post(
            "/account-sign-in/is-this-you/code",
            &[("code", &other_than(&code))],
        )
        .await;
    assert_redirect(&wrong, "/account-sign-in/is-this-you/code");
    assert_eq!(signed_in(&mut rp).await, None);
    let right = rp
        .post("/account-sign-in/is-this-you/code", &[("code", &code)])
        .await;
    assert_back_at_the_service(&right);
    assert_eq!(signed_in(&mut rp).await, Some((theirs, true)));
    assert!(
        rp.state
            .store
            .account_by_email(&AccountEmail::parse("bill@example.com").unwrap())
            .await
            .unwrap()
            .is_none(),
        "the new email is dropped"
    );
}

async fn scenario_3_answering_no_creates_a_second_account(backend: Backend) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    let theirs = existing(&rp, "liz@example.com", None, "Elizabeth", "Jones").await;
    at_the_choice(&mut rp).await;
    assert_redirect(
        &create_through_the_pages(
            &mut rp,
            "beth@example.com",
            ("07400 111222", "+447400111222"),
            ("Beth", "Jones"),
        )
        .await,
        "/account-sign-in/is-this-you",
    );
    assert_redirect(
        &rp.post("/account-sign-in/is-this-you", &[("is_this_you", "no")])
            .await,
        "/account-sign-in/created",
    );
    let (mine, _) = signed_in(&mut rp).await.unwrap();
    assert_ne!(mine, theirs);
    assert_eq!(
        emails_to(&rp, "liz@example.com").await,
        0,
        "nothing sent to the other account"
    );
}

async fn signing_in_with_an_email_that_has_no_account_says_so_only_after_its_code(
    backend: Backend,
) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    at_the_choice(&mut rp).await;
    let proven = prove_email(&mut rp, "nobody@example.com", "sign-in").await;
    assert_redirect(&proven, "/account-sign-in/no-account");
    let page = rp.get("/account-sign-in/no-account").await;
    assert_eq!(heading(&page), "You do not have a DfE Identity account yet");
    assert_eq!(rp.get("/account-sign-in/mobile").await.status, 200);
    assert_eq!(signed_in(&mut rp).await, None);
}

async fn five_wrong_codes_kill_the_code_and_an_expired_code_is_refused(backend: Backend) {
    let Some((mut rp, sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    existing(&rp, "jo@example.com", None, "Jo", "Bloggs").await;
    at_the_choice(&mut rp).await;
    rp.post(
        "/account-sign-in/email",
        &[("email", "jo@example.com"), ("intent", "sign-in")],
    )
    .await;
    let code = emailed_code(&rp, "jo@example.com").await;
    for _ in 0..4 {
        let wrong = rp
            .post(
                "/account-sign-in/email/code",
                &[("code", &other_than(&code))],
            )
            .await;
        assert_redirect(&wrong, "/account-sign-in/email/code");
        assert_error(
            &rp.get("/account-sign-in/email/code").await,
            "code",
            "Enter a correct security code",
        );
    }
    rp.post(
        "/account-sign-in/email/code",
        &[("code", &other_than(&code))],
    )
    .await;
    assert_error(
        &rp.get("/account-sign-in/email/code").await,
        "code",
        "You have entered the wrong security code too many times",
    );
    // The right code no longer works either, and what was typed is shown back.
    rp.post("/account-sign-in/email/code", &[("code", &code)])
        .await;
    let page = rp.get("/account-sign-in/email/code").await;
    assert_error(&page, "code", "too many times");
    assert!(page.body.contains(&format!(r#"value="{code}""#)));
    assert_eq!(signed_in(&mut rp).await, None);

    // A new code, left past its 15 minutes.
    rp.post("/account-sign-in/email/resend", &[]).await;
    let fresh = emailed_code(&rp, "jo@example.com").await;
    sql.run("UPDATE passcodes SET expires_at = created_at WHERE used_at IS NULL AND cancelled_at IS NULL")
        .await;
    rp.post("/account-sign-in/email/code", &[("code", &fresh)])
        .await;
    assert_error(
        &rp.get("/account-sign-in/email/code").await,
        "code",
        "The security code has expired",
    );
    assert_eq!(signed_in(&mut rp).await, None);
    // Not digits, too short: the format is explained, and nothing is tried.
    for (typed, message) in [
        ("12a456", "must only include numbers"),
        ("123", "must be 6 numbers"),
        ("", "Enter the security code"),
    ] {
        rp.post("/account-sign-in/email/code", &[("code", typed)])
            .await;
        assert_error(
            &rp.get("/account-sign-in/email/code").await,
            "code",
            message,
        );
    }
}

async fn a_new_code_cancels_the_old_one(backend: Backend) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    let theirs = existing(&rp, "jo@example.com", None, "Jo", "Bloggs").await;
    at_the_choice(&mut rp).await;
    rp.post(
        "/account-sign-in/email",
        &[("email", "jo@example.com"), ("intent", "sign-in")],
    )
    .await;
    let old = emailed_code(&rp, "jo@example.com").await;
    assert_redirect(
        &rp.post("/account-sign-in/email/resend", &[]).await,
        "/account-sign-in/email/code",
    );
    let page = rp.get("/account-sign-in/email/code").await;
    assert!(page.body.contains("We’ve sent you a new security code"));
    assert_eq!(emails_to(&rp, "jo@example.com").await, 2);
    let new = emailed_code(&rp, "jo@example.com").await;
    if old != new {
        rp.post("/account-sign-in/email/code", &[("code", &old)])
            .await;
        assert_error(
            &rp.get("/account-sign-in/email/code").await,
            "code",
            "Enter a correct security code",
        );
    }
    let back = rp
        .post("/account-sign-in/email/code", &[("code", &new)])
        .await;
    assert_back_at_the_service(&back);
    assert_eq!(signed_in(&mut rp).await, Some((theirs, true)));
    // "Change your email address" goes back to the email form with the address in it.
    rp.cookies.clear();
    at_the_choice(&mut rp).await;
    rp.post(
        "/account-sign-in/email",
        &[("email", "jo@example.com"), ("intent", "sign-in")],
    )
    .await;
    let change = rp.get("/account-sign-in/email").await;
    assert!(change.body.contains(r#"value="jo@example.com""#));
}

async fn known_and_unknown_emails_get_the_same_pages_and_errors_until_the_code(backend: Backend) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    existing(&rp, "known@example.com", None, "Jo", "Bloggs").await;
    let mut seen = Vec::new();
    for email in ["known@example.com", "unknown@example.com"] {
        rp.cookies.clear();
        at_the_choice(&mut rp).await;
        let started = std::time::Instant::now();
        let sent = rp
            .post(
                "/account-sign-in/email",
                &[("email", email), ("intent", "sign-in")],
            )
            .await;
        let took = started.elapsed();
        let code_page = rp.get("/account-sign-in/email/code").await;
        let code = emailed_code(&rp, email).await;
        rp.post(
            "/account-sign-in/email/code",
            &[("code", &other_than(&code))],
        )
        .await;
        let wrong = rp.get("/account-sign-in/email/code").await;
        let typed = other_than(&code);
        // Without what differs by design: the address, the session's CSRF token, each page's CSP nonce and the
        // code typed.
        let same = |body: &str| {
            let body = body
                .replace(email, "EMAIL")
                .replace(&rp.cookies["tid_csrf"], "CSRF")
                .replace(&typed, "TYPED");
            let mut parts = body.split("nonce=\"");
            let mut out = parts.next().unwrap_or_default().to_string();
            for part in parts {
                out.push_str(part.split_once('"').map_or(part, |(_, rest)| rest));
            }
            out
        };
        seen.push((
            sent.status,
            sent.header("location").to_string(),
            same(&code_page.body),
            same(&wrong.body),
            took,
        ));
    }
    let (known, unknown) = (&seen[0], &seen[1]);
    assert_eq!(known.0, unknown.0);
    assert_eq!(known.1, unknown.1);
    assert_eq!(known.2, unknown.2, "the code pages are the same");
    assert_eq!(known.3, unknown.3, "a wrong code is the same");
    // The email form reads no account: neither answer waits on one. A generous bound, for a loaded machine.
    let (fast, slow) = if known.4 < unknown.4 {
        (known.4, unknown.4)
    } else {
        (unknown.4, known.4)
    };
    assert!(
        slow < fast * 5 + std::time::Duration::from_millis(250),
        "{fast:?} vs {slow:?}"
    );
}

async fn sending_is_limited_per_email_and_per_client_address(backend: Backend) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    at_the_choice(&mut rp).await;
    // Five sends to one email in the window (the default), then no more: the sixth is refused with when to try.
    for _ in 0..5 {
        assert_redirect(
            &rp.post(
                "/account-sign-in/email",
                &[("email", "limited@example.com"), ("intent", "sign-in")],
            )
            .await,
            "/account-sign-in/email/code",
        );
    }
    let refused = rp
        .post(
            "/account-sign-in/email",
            &[("email", "limited@example.com"), ("intent", "sign-in")],
        )
        .await;
    assert_redirect(&refused, "/account-sign-in/email");
    let page = rp.get("/account-sign-in/email").await;
    assert_error(
        &page,
        "email",
        "You have asked for too many security codes. Try again in 15 minutes",
    );
    assert!(page.body.contains(r#"value="limited@example.com""#));
    assert_eq!(emails_to(&rp, "limited@example.com").await, 5);
    assert_redirect(
        &rp.post("/account-sign-in/email/resend", &[]).await,
        "/account-sign-in/email/code",
    );
    assert_error(
        &rp.get("/account-sign-in/email/code").await,
        "code",
        "too many security codes",
    );
    assert_eq!(emails_to(&rp, "limited@example.com").await, 5);

    // Per client address: three sends from one address (configured low here), whatever the emails.
    let mut config = (*rp.state.config).clone();
    config.passcode_send_limits.per_address = 3;
    rp.state.config = std::sync::Arc::new(config);
    rp.new_instance();
    rp.client_addr = Some("203.0.113.9:5000".parse().unwrap());
    for n in 0..3 {
        let email = format!("school{n}@example.com");
        assert_redirect(
            &rp.post(
                "/account-sign-in/email",
                &[("email", &email), ("intent", "create")],
            )
            .await,
            "/account-sign-in/email/code",
        );
    }
    let from_the_school = rp
        .post(
            "/account-sign-in/email",
            &[("email", "school3@example.com"), ("intent", "create")],
        )
        .await;
    assert_redirect(&from_the_school, "/account-sign-in/email");
    assert_error(
        &rp.get("/account-sign-in/email").await,
        "email",
        "Try again in an hour",
    );
    assert_eq!(emails_to(&rp, "school3@example.com").await, 0);
    // Another address is not held back.
    rp.client_addr = Some("198.51.100.7:5000".parse().unwrap());
    assert_redirect(
        &rp.post(
            "/account-sign-in/email",
            &[("email", "school3@example.com"), ("intent", "create")],
        )
        .await,
        "/account-sign-in/email/code",
    );
}

async fn bad_emails_get_a_govuk_error_and_keep_what_was_typed(backend: Backend) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    at_the_choice(&mut rp).await;
    let long = format!("{}@example.com", "a".repeat(290));
    for (typed, message) in [
        ("", "Enter your email address"),
        (
            "not-an-email",
            "Enter an email address in the correct format",
        ),
        (
            "jø@example.com",
            "Enter an email address in the correct format",
        ),
        (
            "jo@@example.com",
            "Enter an email address in the correct format",
        ),
        ("jo@example", "Enter an email address in the correct format"),
        (
            "jo..bloggs@example.com",
            "Enter an email address in the correct format",
        ),
        (long.as_str(), "254 characters or fewer"),
    ] {
        let refused = rp
            .post(
                "/account-sign-in/email",
                &[("email", typed), ("intent", "create")],
            )
            .await;
        assert_redirect(&refused, "/account-sign-in/email");
        let page = rp.get("/account-sign-in/email").await;
        assert_error(&page, "email", message);
        if !typed.is_empty() {
            let shown = typed.chars().take(40).collect::<String>();
            assert!(page.body.contains(&shown), "{typed} kept");
        }
        // The choice made on the landing page is kept with it.
        assert!(page.body.contains(r#"name="intent" value="create""#));
    }
    // Accepted as typed: plus-addressing and an internationalised domain.
    for (typed, key) in [
        ("jo+npq@example.com", "jo+npq@example.com"),
        ("jo@bücher.example", "jo@xn--bcher-kva.example"),
        ("\u{200B} jo@example.com ", "jo@example.com"),
    ] {
        assert_redirect(
            &rp.post(
                "/account-sign-in/email",
                &[("email", typed), ("intent", "create")],
            )
            .await,
            "/account-sign-in/email/code",
        );
        assert_eq!(AccountEmail::parse(typed).unwrap().key(), key);
    }
    assert_eq!(rp.state.store.recent_emails(50).await.unwrap().len(), 3);
}

async fn mobiles_in_many_shapes_are_read_and_bad_ones_refused(backend: Backend) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    at_the_choice(&mut rp).await;
    assert_redirect(
        &prove_email(&mut rp, "jo@example.com", "create").await,
        "/account-sign-in/mobile",
    );
    for (typed, message) in [
        ("", "Enter your mobile number"),
        ("hello", "Enter a mobile number in the correct format"),
        (
            "07400 123456 ext 12",
            "Enter a mobile number in the correct format",
        ),
        (
            "++44 7400 123456",
            "Enter a mobile number in the correct format",
        ),
        ("0740", "Enter a mobile number in the correct format"),
        ("020 7946 0018", "not a landline"),
        ("0800 123 4567", "not a landline"),
    ] {
        assert_redirect(
            &rp.post("/account-sign-in/mobile", &[("mobile", typed)])
                .await,
            "/account-sign-in/mobile",
        );
        let page = rp.get("/account-sign-in/mobile").await;
        assert_error(&page, "mobile", message);
        assert!(
            page.body.contains(&format!(r#"value="{typed}""#)),
            "{typed} kept"
        );
    }
    for (typed, e164) in [
        ("07400 123456", "+447400123456"),
        ("+44 (0)7400 123456", "+447400123456"),
        ("(07400) 123-456", "+447400123456"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+1 (415) 555-2671", "+14155552671"),
    ] {
        assert_redirect(
            &rp.post("/account-sign-in/mobile", &[("mobile", typed)])
                .await,
            "/account-sign-in/mobile/code",
        );
        let page = rp.get("/account-sign-in/mobile/code").await;
        assert!(page.body.contains(e164), "{typed} is {e164}");
        // "Change your mobile number" shows the number kept.
        assert!(rp
            .get("/account-sign-in/mobile")
            .await
            .body
            .contains(&format!(r#"value="{e164}""#)));
    }
}

async fn bad_names_and_dates_of_birth_get_a_govuk_error_and_keep_what_was_typed(backend: Backend) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLoginOrAccount).await else {
        return;
    };
    at_the_choice(&mut rp).await;
    assert_redirect(
        &prove_email(&mut rp, "jo@example.com", "create").await,
        "/account-sign-in/mobile",
    );
    assert_redirect(
        &prove_mobile(&mut rp, "07400 123456", "+447400123456").await,
        "/account-sign-in/name",
    );
    assert_redirect(
        &rp.get("/account-sign-in/date-of-birth").await,
        "/account-sign-in/name",
    );
    let long = "N".repeat(201);
    assert_redirect(
        &rp.post(
            "/account-sign-in/name",
            &[
                ("first_name", ""),
                ("last_name", &long),
                ("preferred_name", "Siân"),
            ],
        )
        .await,
        "/account-sign-in/name",
    );
    let page = rp.get("/account-sign-in/name").await;
    assert_error(&page, "first_name", "Enter your first name");
    assert_error(&page, "last_name", "200 characters or fewer");
    assert!(page.body.contains(&long), "the long name kept");
    assert!(page.body.contains("Siân"));
    assert_redirect(
        &rp.post(
            "/account-sign-in/name",
            &[
                ("first_name", "Zoë"),
                ("last_name", "O’Brien-Jones"),
                ("preferred_name", ""),
            ],
        )
        .await,
        "/account-sign-in/date-of-birth",
    );
    let next_year = (Utc::now()
        .date_naive()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap()
        + 1)
    .to_string();
    for (day, month, year, message) in [
        ("", "", "", "Enter your date of birth"),
        ("31", "2", "1990", "must be a real date"),
        ("1", "1", next_year.as_str(), "must be in the past"),
        ("14", "", "1985", "must include a month"),
        ("aa", "bb", "cccc", "must be a real date"),
        ("1", "1", "1850", "Date of birth must be"),
    ] {
        assert_redirect(
            &rp.post(
                "/account-sign-in/date-of-birth",
                &[("dob-day", day), ("dob-month", month), ("dob-year", year)],
            )
            .await,
            "/account-sign-in/date-of-birth",
        );
        let page = rp.get("/account-sign-in/date-of-birth").await;
        assert_error(&page, "dob-day", message);
        assert!(page.body.contains(&format!(r#"value="{year}""#)));
    }
    assert_redirect(
        &rp.post(
            "/account-sign-in/date-of-birth",
            &[
                ("dob-day", " 14 "),
                ("dob-month", "03"),
                ("dob-year", "1985"),
            ],
        )
        .await,
        "/account-sign-in/created",
    );
    let (user_id, _) = signed_in(&mut rp).await.unwrap();
    let stored = rp.state.store.account(user_id).await.unwrap().unwrap();
    assert_eq!(
        (stored.name.first.as_str(), stored.name.last.as_str()),
        ("Zoë", "O’Brien-Jones")
    );
}

async fn a_service_that_does_not_offer_accounts_never_shows_them(backend: Backend) {
    let Some((mut rp, _sql)) = service(backend, SignInPolicy::OneLogin).await else {
        return;
    };
    assert_redirect(&authorize(&mut rp).await, "/sign-in");
    assert_redirect(&rp.get(ACCOUNT_SIGN_IN).await, "/sign-in");
    assert_redirect(&rp.get("/account-sign-in/email").await, "/sign-in");
    assert_redirect(
        &rp.post(
            "/account-sign-in/email",
            &[("email", "jo@example.com"), ("intent", "create")],
        )
        .await,
        "/sign-in",
    );
    assert_eq!(emails_to(&rp, "jo@example.com").await, 0);
    // Nor without any service's request.
    rp.cookies.clear();
    rp.get("/").await;
    assert_redirect(&rp.get(ACCOUNT_SIGN_IN).await, "/sign-in");
}
