//! A DfE Identity account holder's account page (issue 13 §4) and their claims (DESIGN §7.1, §7.3), through the
//! pages and the provider's real endpoints as a browser and a service would, on both backends: the email and mobile
//! change only with a passcode sent to the new one (wrong, expired and resent codes; another account's email or
//! mobile refused after its passcode), the name and date of birth change only while no TRN is held, each change is
//! audited, bad input keeps what was typed, and the ID token and userinfo carry the account's details marked not
//! verified.

use crate::account_sign_in::{
    assert_error, create_through_the_pages, emailed_code, existing, other_than, texted_code,
};
use crate::onelogin::Rp;
use crate::provider::{
    authorize_as, code_in, exchange, flow, json, secret_client, userinfo, verified_id_token,
};
use crate::support::TestResponse;
use crate::util::{assert_redirect, heading, Sql};
use app::domain::provider::TrnPolicy;
use server::db::audit::AuditEvent;
use server::db::Backend;

on_both_backends!(
    the_email_changes_only_with_the_passcode_sent_to_the_new_one,
    the_mobile_changes_only_with_the_passcode_sent_to_the_new_one_and_an_expired_code_is_refused,
    another_accounts_email_or_mobile_is_refused_after_its_passcode,
    name_and_date_of_birth_change_until_a_trn_is_held_then_are_refused_with_why,
    bad_input_on_the_account_page_gets_a_govuk_error_and_keeps_what_was_typed,
    only_an_account_holder_may_post_the_account_pages_forms,
    an_account_holders_id_token_and_userinfo_carry_the_accounts_details_marked_not_verified,
    an_account_holder_whom_one_login_verified_too_still_gets_the_account_page,
);

const EMAIL: &str = "jo.bloggs@example.com";

/// The service with `npq` (which offers accounts) and a browser signed in to a new account made through the pages
/// (`jo.bloggs@example.com`, `+447400123456`, Jo Bloggs born 14 March 1985); the client's secret.
async fn signed_in_holder(backend: Backend, scope: &str) -> Option<(Rp, Sql, String)> {
    let (client, secret) = secret_client(TrnPolicy::Optional);
    let (mut rp, sql) = flow(backend, client).await?;
    assert_redirect(
        &authorize_as(&mut rp, &[("scope", Some(scope))]).await,
        "/account-sign-in",
    );
    let created = create_through_the_pages(
        &mut rp,
        EMAIL,
        ("07400 123456", "+447400123456"),
        ("Jo", "Bloggs"),
    )
    .await;
    assert_redirect(&created, "/account-sign-in/created");
    Some((rp, sql, secret))
}

async fn user_id(rp: &mut Rp) -> i64 {
    rp.signed_in_user().await.expect("signed in").user_id
}

/// How many account changes of `what` were audited.
async fn audited(rp: &Rp, what: &str) -> usize {
    rp.state
        .store
        .audit_log(None, 200)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| matches!(&r.event, AuditEvent::AccountChanged { what: w, .. } if w == what))
        .count()
}

/// The account page, which must show `text`.
async fn account_page_shows(rp: &mut Rp, text: &str) -> TestResponse {
    let page = rp.get("/account").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(text), "{text}: {}", page.body);
    page
}

async fn the_email_changes_only_with_the_passcode_sent_to_the_new_one(backend: Backend) {
    let Some((mut rp, _sql, _)) = signed_in_holder(backend, "openid email").await else {
        return;
    };
    let me = user_id(&mut rp).await;
    let page = account_page_shows(&mut rp, EMAIL).await;
    assert_eq!(heading(&page), "Your DfE Identity account");
    assert!(
        !page.body.contains("GOV.UK One Login"),
        "no One Login links for an account holder"
    );
    assert!(
        page.body.contains("Your account"),
        "their account page in the navigation"
    );
    assert!(page.body.contains(r#"href="/sign-out""#));
    assert!(page.body.contains(r#"href="/account/email""#));
    assert_eq!(rp.get("/account/email").await.status, 200);
    // The code page needs a new email first.
    assert_redirect(&rp.get("/account/email/code").await, "/account/email");

    let new = "Jo.New@Example.org";
    assert_redirect(
        &rp.post("/account/email", &[("email", new)]).await,
        "/account/email/code",
    );
    assert!(rp.get("/account/email/code").await.body.contains(new));
    let code = emailed_code(&rp, new).await;
    // A wrong code changes nothing.
    let wrong = rp
        .post("/account/email/code", &[("code", &other_than(&code))])
        .await;
    assert_redirect(&wrong, "/account/email/code");
    assert_error(
        &rp.get("/account/email/code").await,
        "code",
        "security code",
    );
    assert_eq!(
        rp.state
            .store
            .account(me)
            .await
            .unwrap()
            .unwrap()
            .email
            .address(),
        EMAIL
    );
    // A new code cancels the old one.
    assert_redirect(
        &rp.post("/account/email/resend", &[]).await,
        "/account/email/code",
    );
    assert!(rp
        .get("/account/email/code")
        .await
        .body
        .contains("We’ve sent you a new security code"));
    let resent = emailed_code(&rp, new).await;
    if resent != code {
        let old = rp.post("/account/email/code", &[("code", &code)]).await;
        assert_redirect(&old, "/account/email/code");
    }
    assert_eq!(audited(&rp, "email").await, 0);
    let right = rp.post("/account/email/code", &[("code", &resent)]).await;
    assert_redirect(&right, "/account");
    account_page_shows(&mut rp, "Your email address has been changed").await;
    assert_eq!(
        rp.state
            .store
            .account(me)
            .await
            .unwrap()
            .unwrap()
            .email
            .address(),
        new
    );
    assert_eq!(audited(&rp, "email").await, 1);
    // The old address is told, with the new one partly hidden.
    let told = rp
        .state
        .store
        .recent_emails(50)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.email.email_address == EMAIL)
        .expect("an email to the old address");
    assert_eq!(told.email.template, "account_email_changed");
    assert_eq!(told.email.personalisation["name"], "Jo");
    assert!(!told.email.personalisation["new_email"].contains("Jo.New"));
    // The code is used up: entering it again changes nothing more.
    assert_redirect(
        &rp.post("/account/email/code", &[("code", &resent)]).await,
        "/account/email",
    );
}

async fn the_mobile_changes_only_with_the_passcode_sent_to_the_new_one_and_an_expired_code_is_refused(
    backend: Backend,
) {
    let Some((mut rp, sql, _)) = signed_in_holder(backend, "openid email").await else {
        return;
    };
    let me = user_id(&mut rp).await;
    account_page_shows(&mut rp, "+447400123456").await;
    // The same number in another shape is no change.
    let same = rp
        .post("/account/mobile", &[("mobile", "07400 123456")])
        .await;
    assert_redirect(&same, "/account/mobile");
    assert_error(
        &rp.get("/account/mobile").await,
        "mobile",
        "Enter a different mobile number",
    );

    assert_redirect(
        &rp.post("/account/mobile", &[("mobile", "+33 6 12 34 56 78")])
            .await,
        "/account/mobile/code",
    );
    let code = texted_code(&rp, "+33612345678").await;
    // Expired: refused, and the mobile stays.
    sql.run("UPDATE passcodes SET expires_at = created_at WHERE purpose = 'change_mobile'")
        .await;
    assert_redirect(
        &rp.post("/account/mobile/code", &[("code", &code)]).await,
        "/account/mobile/code",
    );
    assert_error(
        &rp.get("/account/mobile/code").await,
        "code",
        "security code",
    );
    assert_eq!(
        rp.state
            .store
            .account(me)
            .await
            .unwrap()
            .unwrap()
            .mobile
            .unwrap()
            .as_str(),
        "+447400123456"
    );
    assert_redirect(
        &rp.post("/account/mobile/resend", &[]).await,
        "/account/mobile/code",
    );
    let code = texted_code(&rp, "+33612345678").await;
    assert_redirect(
        &rp.post("/account/mobile/code", &[("code", &code)]).await,
        "/account",
    );
    account_page_shows(&mut rp, "Your mobile number has been changed").await;
    account_page_shows(&mut rp, "+33612345678").await;
    assert_eq!(audited(&rp, "mobile").await, 1);
}

async fn another_accounts_email_or_mobile_is_refused_after_its_passcode(backend: Backend) {
    let Some((mut rp, _sql, _)) = signed_in_holder(backend, "openid email").await else {
        return;
    };
    let me = user_id(&mut rp).await;
    existing(&rp, "sam@example.com", Some("07400 999999"), "Sam", "Brown").await;
    // The form says nothing about whose it is: a code is sent as for any address.
    assert_redirect(
        &rp.post("/account/email", &[("email", "SAM@example.com")])
            .await,
        "/account/email/code",
    );
    let code = emailed_code(&rp, "SAM@example.com").await;
    assert_redirect(
        &rp.post("/account/email/code", &[("code", &code)]).await,
        "/account/email",
    );
    let page = rp.get("/account/email").await;
    assert_error(&page, "email", "belongs to another DfE Identity account");
    assert!(
        page.body.contains("SAM@example.com"),
        "what was typed is kept"
    );
    assert_eq!(
        rp.state
            .store
            .account(me)
            .await
            .unwrap()
            .unwrap()
            .email
            .address(),
        EMAIL
    );

    assert_redirect(
        &rp.post("/account/mobile", &[("mobile", "07400999999")])
            .await,
        "/account/mobile/code",
    );
    let code = texted_code(&rp, "+447400999999").await;
    assert_redirect(
        &rp.post("/account/mobile/code", &[("code", &code)]).await,
        "/account/mobile",
    );
    assert_error(
        &rp.get("/account/mobile").await,
        "mobile",
        "belongs to another DfE Identity account",
    );
    assert_eq!(
        rp.state
            .store
            .account(me)
            .await
            .unwrap()
            .unwrap()
            .mobile
            .unwrap()
            .as_str(),
        "+447400123456"
    );
    assert_eq!(
        audited(&rp, "email").await + audited(&rp, "mobile").await,
        0
    );
}

async fn name_and_date_of_birth_change_until_a_trn_is_held_then_are_refused_with_why(
    backend: Backend,
) {
    let Some((mut rp, sql, _)) = signed_in_holder(backend, "openid email").await else {
        return;
    };
    let me = user_id(&mut rp).await;
    let name_page = rp.get("/account/name").await;
    assert!(
        name_page.body.contains(r#"value="Bloggs""#),
        "the name as it is"
    );
    assert_redirect(
        &rp.post(
            "/account/name",
            &[
                ("first_name", "Joanna"),
                ("last_name", "Smith"),
                ("preferred_name", "Jo"),
            ],
        )
        .await,
        "/account",
    );
    account_page_shows(&mut rp, "Joanna Smith").await;
    assert_redirect(
        &rp.post(
            "/account/date-of-birth",
            &[("dob-day", "2"), ("dob-month", "1"), ("dob-year", "1990")],
        )
        .await,
        "/account",
    );
    account_page_shows(&mut rp, "2 January 1990").await;
    let stored = rp.state.store.account(me).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.name.first.as_str(),
            stored.name.last.as_str(),
            stored.name.preferred.as_deref()
        ),
        ("Joanna", "Smith", Some("Jo"))
    );
    assert_eq!(
        (
            audited(&rp, "name").await,
            audited(&rp, "date_of_birth").await
        ),
        (1, 1)
    );

    // Connected to a record: shown, not changeable, with why; the forms are refused and change nothing.
    sql.run(&format!(
        "INSERT INTO connections (user_id, person_id, matched_via, connected_at) \
         SELECT {me}, id, 'support', '2026-01-01T00:00:00Z' FROM persons \
         WHERE id NOT IN (SELECT person_id FROM connections) ORDER BY id LIMIT 1"
    ))
    .await;
    let page = account_page_shows(&mut rp, "Joanna Smith").await;
    assert!(page.body.contains("details-locked"));
    assert!(page.body.contains("update your teaching record"));
    assert!(!page.body.contains(r#"href="/account/name""#));
    assert!(!page.body.contains(r#"href="/account/date-of-birth""#));
    assert!(
        page.body.contains(r#"href="/account/email""#),
        "the email still changes"
    );
    assert_redirect(&rp.get("/account/name").await, "/account");
    assert_redirect(&rp.get("/account/date-of-birth").await, "/account");
    assert_redirect(
        &rp.post(
            "/account/name",
            &[
                ("first_name", "Other"),
                ("last_name", "Person"),
                ("preferred_name", ""),
            ],
        )
        .await,
        "/account",
    );
    assert_redirect(
        &rp.post(
            "/account/date-of-birth",
            &[("dob-day", "3"), ("dob-month", "3"), ("dob-year", "1970")],
        )
        .await,
        "/account",
    );
    let after = rp.state.store.account(me).await.unwrap().unwrap();
    assert_eq!(after, stored, "nothing changed once a TRN is held");
    assert_eq!(
        (
            audited(&rp, "name").await,
            audited(&rp, "date_of_birth").await
        ),
        (1, 1)
    );
}

async fn bad_input_on_the_account_page_gets_a_govuk_error_and_keeps_what_was_typed(
    backend: Backend,
) {
    let Some((mut rp, _sql, _)) = signed_in_holder(backend, "openid email").await else {
        return;
    };
    let me = user_id(&mut rp).await;
    let before = rp.state.store.account(me).await.unwrap().unwrap();
    for (typed, message) in [
        (
            "not an email",
            "Enter an email address in the correct format",
        ),
        (EMAIL, "Enter a different email address"),
        ("JO.BLOGGS@example.com", "Enter a different email address"),
    ] {
        assert_redirect(
            &rp.post("/account/email", &[("email", typed)]).await,
            "/account/email",
        );
        let page = rp.get("/account/email").await;
        assert_error(&page, "email", message);
        assert!(
            page.body.contains(&format!(r#"value="{typed}""#)),
            "{typed} kept"
        );
    }
    let long = format!("{}@example.com", "a".repeat(300));
    assert_redirect(
        &rp.post("/account/email", &[("email", &long)]).await,
        "/account/email",
    );
    assert_eq!(rp.get("/account/email").await.status, 200);
    assert_redirect(
        &rp.post("/account/mobile", &[("mobile", "12")]).await,
        "/account/mobile",
    );
    let page = rp.get("/account/mobile").await;
    assert!(page.body.contains("There is a problem"));
    assert!(page.body.contains(r#"value="12""#));
    assert_redirect(
        &rp.post(
            "/account/name",
            &[
                ("first_name", ""),
                ("last_name", "Bloggs"),
                ("preferred_name", "Jo"),
            ],
        )
        .await,
        "/account/name",
    );
    let page = rp.get("/account/name").await;
    assert_error(&page, "first_name", "Enter your first name");
    assert!(
        page.body.contains(r#"value="Jo""#),
        "the preferred name typed is kept"
    );
    assert_redirect(
        &rp.post(
            "/account/date-of-birth",
            &[("dob-day", "31"), ("dob-month", "2"), ("dob-year", "1990")],
        )
        .await,
        "/account/date-of-birth",
    );
    let page = rp.get("/account/date-of-birth").await;
    assert!(page.body.contains("There is a problem"));
    assert!(page.body.contains(r#"value="31""#));
    // A code form with letters, or nothing at all.
    assert_redirect(
        &rp.post("/account/mobile/code", &[("code", "abc")]).await,
        "/account/mobile",
    );
    assert_eq!(rp.state.store.account(me).await.unwrap().unwrap(), before);
}

async fn only_an_account_holder_may_post_the_account_pages_forms(backend: Backend) {
    let (client, _) = secret_client(TrnPolicy::Optional);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    // Signed out: every form and page goes to the account page, which asks them to sign in.
    rp.get("/feedback").await;
    for (path, fields) in [
        ("/account/email", vec![("email", "x@example.com")]),
        ("/account/email/code", vec![("code", "123456")]),
        ("/account/email/resend", vec![]),
        ("/account/mobile", vec![("mobile", "07400123456")]),
        ("/account/mobile/code", vec![("code", "123456")]),
        ("/account/mobile/resend", vec![]),
        (
            "/account/name",
            vec![("first_name", "A"), ("last_name", "B")],
        ),
        (
            "/account/date-of-birth",
            vec![("dob-day", "1"), ("dob-month", "1"), ("dob-year", "1990")],
        ),
    ] {
        assert_redirect(&rp.post(path, &fields).await, "/account");
        if !path.ends_with("/resend") {
            assert_redirect(&rp.get(path).await, "/account");
        }
    }
    // A One Login teacher's account page stays as it was, and its forms are not theirs.
    let back = rp
        .verify(
            "exact-match",
            onelogin_standin::Outcome::IdentityVerified,
            vec![],
        )
        .await;
    assert_eq!(back.header("location"), "/continue");
    let page = rp.get("/account").await;
    assert!(page
        .body
        .contains("You’ve signed in and proved your identity"));
    assert!(
        page.body.contains("GOV.UK One Login"),
        "One Login's header for its teachers"
    );
    assert_redirect(
        &rp.post("/account/name", &[("first_name", "A"), ("last_name", "B")])
            .await,
        "/account",
    );
    assert_redirect(&rp.get("/account/email").await, "/account");
}

async fn an_account_holders_id_token_and_userinfo_carry_the_accounts_details_marked_not_verified(
    backend: Backend,
) {
    let Some((mut rp, _sql, secret)) = signed_in_holder(backend, "openid email profile").await
    else {
        return;
    };
    let me = user_id(&mut rp).await;
    let code = code_in(&rp.post("/oauth2/continue", &[]).await);
    let tokens = json(&exchange(&rp, &secret, &code).await);
    let claims = verified_id_token(&mut rp, tokens["id_token"].as_str().unwrap(), "npq", "n-1")
        .await
        .expect("a valid ID token");
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(
        claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Jo Bloggs")
    );
    assert_eq!(claims.birthdate().map(|b| b.as_str()), Some("1985-03-14"));
    assert_eq!(claims.additional_claims().verified, Some(false));
    let sub = claims.subject().as_str().to_string();
    assert!(!sub.is_empty());
    assert_ne!(
        sub,
        me.to_string(),
        "our own opaque subject, not the row id"
    );

    let info = json(&userinfo(&rp, tokens["access_token"].as_str().unwrap()).await);
    assert_eq!(info["sub"], sub.as_str());
    assert_eq!(info["email"], EMAIL);
    assert_eq!(info["name"], "Jo Bloggs");
    assert_eq!(info["birthdate"], "1985-03-14");
    assert_eq!(info["verified"], false);

    // Userinfo reads the account as it is now: a changed name shows.
    assert_redirect(
        &rp.post(
            "/account/name",
            &[
                ("first_name", "Joanna"),
                ("last_name", "Bloggs"),
                ("preferred_name", ""),
            ],
        )
        .await,
        "/account",
    );
    let info = json(&userinfo(&rp, tokens["access_token"].as_str().unwrap()).await);
    assert_eq!(info["name"], "Joanna Bloggs");
}

/// Merged with a teacher One Login verified (issue 13 §6), the person signed in with their account is verified too,
/// yet their account page is still the account's (email, mobile, changes), never One Login's summary with a
/// stand-in for the email.
async fn an_account_holder_whom_one_login_verified_too_still_gets_the_account_page(
    backend: Backend,
) {
    let Some((mut rp, _sql, _)) = signed_in_holder(backend, "openid email").await else {
        return;
    };
    let me = user_id(&mut rp).await;
    let identity = app::domain::identity::VerifiedIdentity {
        names: vec![app::domain::identity::VerifiedName {
            given_names: vec!["Joanna".into()],
            family_name: "Bloggs".into(),
            valid_from: None,
            valid_until: None,
        }],
        dates_of_birth: vec![chrono::NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()],
    };
    rp.state
        .store
        .record_verified_identity(me, &identity, chrono::Utc::now())
        .await
        .unwrap();
    // The first page after it upgrades this session to verified, as a merge's sign-in would be.
    rp.get("/continue").await;
    assert!(matches!(
        rp.signed_in_user().await.expect("signed in").identity,
        app::ssr::IdentityStatus::Verified(_)
    ));
    let page = account_page_shows(&mut rp, EMAIL).await;
    assert_eq!(heading(&page), "Your DfE Identity account");
    assert!(page.body.contains("+447400123456"));
    assert!(page.body.contains(r#"href="/account/email""#));
    assert!(!page.body.contains("proved your identity"));
}
