//! "Continue without a mobile number" only where the service allows it (issue 13 §2, DESIGN §7.3), through the pages
//! as a browser without JavaScript would, on both backends: a service whose mobile policy is optional offers the
//! skip, and the account is made with no mobile and the service's claims hold no phone; any other service shows no
//! skip, and a forged one gets the mobile page back with a GOV.UK error and what was typed.

use crate::account_sign_in::{
    assert_error, at_the_choice, name_and_date_of_birth, prove_email, prove_mobile, signed_in,
};
use crate::onelogin::Rp;
use crate::provider::{code_in, exchange, flow, json, secret_client, userinfo};
use crate::util::{assert_redirect, Sql};
use app::domain::account::journey::MOBILE_NEEDED;
use app::domain::provider::{Client, MobilePolicy, TrnPolicy};
use server::db::Backend;

on_both_backends!(
    a_service_that_allows_it_offers_the_skip_and_the_account_has_no_mobile_nor_its_claims_a_phone,
    a_service_that_needs_a_mobile_offers_no_skip_and_refuses_a_forged_one_keeping_what_was_typed,
);

const SKIP: &str = "Continue without a mobile number";

/// The service with `npq` (accounts offered, `trn` optional) registered with `mobile`, and its secret.
async fn service(backend: Backend, mobile: MobilePolicy) -> Option<(Rp, Sql, String)> {
    let (client, secret) = secret_client(TrnPolicy::Optional);
    let (rp, sql) = flow(backend, Client { mobile, ..client }).await?;
    Some((rp, sql, secret))
}

/// Sent by `npq` to create an account, with the email proven: at the mobile page.
async fn at_the_mobile_page(rp: &mut Rp) -> crate::support::TestResponse {
    at_the_choice(rp).await;
    assert_redirect(
        &prove_email(rp, "no.mobile@example.com", "create").await,
        "/account-sign-in/mobile",
    );
    let page = rp.get("/account-sign-in/mobile").await;
    assert_eq!(page.status, 200);
    page
}

/// The JSON of a JWT's payload.
fn payload(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn assert_no_phone(claims: &serde_json::Value) {
    let object = claims.as_object().expect("claims are an object");
    assert!(
        !object.keys().any(|k| k.starts_with("phone")),
        "no phone claim: {claims}"
    );
    assert!(!claims.to_string().contains("+44"), "{claims}");
}

async fn a_service_that_allows_it_offers_the_skip_and_the_account_has_no_mobile_nor_its_claims_a_phone(
    backend: Backend,
) {
    let Some((mut rp, _sql, secret)) = service(backend, MobilePolicy::Optional).await else {
        return;
    };
    let page = at_the_mobile_page(&mut rp).await;
    assert!(page.body.contains(SKIP), "the skip is offered");
    assert!(
        page.body.contains(r#"name="skip_mobile""#),
        "a button of the form itself, which needs no JavaScript"
    );

    // What was typed in the field does not matter: the skip keeps no number and texts nothing.
    let skipped = rp
        .post(
            "/account-sign-in/mobile",
            &[("mobile", "07400 123456"), ("skip_mobile", "yes")],
        )
        .await;
    assert_redirect(&skipped, "/account-sign-in/name");
    assert_redirect(
        &rp.get("/account-sign-in/mobile/code").await,
        "/account-sign-in/name",
    );
    assert!(rp.state.store.recent_sms(10).await.unwrap().is_empty());
    let created = name_and_date_of_birth(&mut rp, "Noa", "Mobile", ("14", "3", "1985")).await;
    assert_redirect(&created, "/account-sign-in/created");
    let (user_id, account) = signed_in(&mut rp).await.expect("signed in");
    assert!(account);
    let stored = rp.state.store.account(user_id).await.unwrap().unwrap();
    assert_eq!(stored.mobile, None);
    assert_eq!(stored.name.first, "Noa");

    // Back at the service: neither the ID token nor userinfo has a phone.
    let code = code_in(&rp.post("/oauth2/continue", &[]).await);
    let tokens = exchange(&rp, &secret, &code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let tokens = json(&tokens);
    let id_token = payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["email"], "no.mobile@example.com");
    assert_no_phone(&id_token);
    let info = userinfo(&rp, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info.status, 200);
    assert_no_phone(&json(&info));
}

async fn a_service_that_needs_a_mobile_offers_no_skip_and_refuses_a_forged_one_keeping_what_was_typed(
    backend: Backend,
) {
    let Some((mut rp, _sql, _secret)) = service(backend, MobilePolicy::Required).await else {
        return;
    };
    let page = at_the_mobile_page(&mut rp).await;
    assert!(!page.body.contains(SKIP), "no skip offered");
    assert!(!page.body.contains("skip_mobile"));

    // A forged skip: the mobile page again with a GOV.UK error and what was typed, never a 5xx, and no further.
    let forged = rp
        .post(
            "/account-sign-in/mobile",
            &[("mobile", "07400 12345"), ("skip_mobile", "yes")],
        )
        .await;
    assert_redirect(&forged, "/account-sign-in/mobile");
    let page = rp.get("/account-sign-in/mobile").await;
    assert_error(&page, "mobile", MOBILE_NEEDED);
    assert!(page.body.contains(r#"value="07400 12345""#), "kept");
    assert_redirect(
        &rp.get("/account-sign-in/name").await,
        "/account-sign-in/mobile",
    );
    assert!(rp.state.store.recent_sms(10).await.unwrap().is_empty());

    // The number itself still takes them on.
    assert_redirect(
        &prove_mobile(&mut rp, "07400 123456", "+447400123456").await,
        "/account-sign-in/name",
    );
}
