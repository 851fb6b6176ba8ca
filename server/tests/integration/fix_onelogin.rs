//! One Login edge cases found against the official simulator (issue 10 §7): each test is named for what it
//! protects. `docs/one-login.md` maps them to the rules.

use crate::onelogin::{standin_config, Rp};
use crate::support::*;
use crate::util::TestApp;
use axum::body::Body;
use axum::http::{header, Request};
use base64::Engine as _;
use onelogin_standin::{CustomPerson, LogoutTokenFault, Misbehaviour, NextLogin, Outcome};
use server::db::Backend;
use tower::ServiceExt;

on_both_backends!(email_one_login_has_not_verified_is_neither_kept_nor_matching_evidence);

/// POSTs a logout token to our back-channel logout endpoint, as One Login would (no cookies), and returns the status.
async fn post_logout_token(rp: &Rp, token: &str) -> u16 {
    let request = Request::post("/auth/backchannel-logout")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("logout_token", token)
                .finish(),
        ))
        .unwrap();
    read(rp.router.clone().oneshot(request).await.unwrap())
        .await
        .status
}

/// A made-up ES256 logout token naming a key nobody published: what anyone on the internet can post.
fn forged_logout_token(kid: &str) -> String {
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.{}",
        b64(serde_json::json!({"alg": "ES256", "kid": kid})),
        b64(serde_json::json!({"sub": "urn:fdc:gov.uk:2022:anyone"})),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 64])
    )
}

#[tokio::test]
async fn logout_token_with_unknown_kid_does_not_starve_id_token_refetch() {
    let mut rp = Rp::new().await;
    // Our cache now holds One Login's current keys.
    assert_eq!(
        rp.sign_in("exact-match").await.header("location"),
        "/auth/identity"
    );
    rp.cookies.clear();
    // Someone posts a logout token with a made-up kid: it is refused, after one look at the JWKS.
    assert_eq!(
        post_logout_token(&rp, &forged_logout_token("made-up")).await,
        400
    );
    // One Login now rotates its keys: the next sign-in's ID token is signed with a key we have not seen, and must
    // be accepted at once, not a minute later.
    let res = rp
        .round_trip(
            "/sign-in",
            NextLogin::new("nino-only", Outcome::Authenticated)
                .misbehaving([Misbehaviour::RotateKeys]),
        )
        .await;
    assert_eq!(res.header("location"), "/auth/identity");
    assert!(rp.signed_in_user().await.is_some());
}

async fn email_one_login_has_not_verified_is_neither_kept_nor_matching_evidence(backend: Backend) {
    let Some(mut rp) = TestApp::new(backend, "One Login fixes").build().await else {
        return;
    };
    let persona = rp.standin.persona("unverified-email").unwrap();
    assert!(!persona.email_verified);
    let back = rp
        .verify("unverified-email", Outcome::IdentityVerified, vec![])
        .await;
    assert_eq!(back.header("location"), "/continue");
    let user = rp.signed_in_user().await.expect("signed in");
    assert_eq!(user.email, None, "not in the session");
    let stored = rp
        .state
        .store
        .user_by_id(user.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.email, None, "not stored as the teacher's email");
    // Their name, date of birth and (unverified) email are the record's: with a verified email that would connect
    // them at once. Without it they are asked for their National Insurance number.
    let next = rp.get("/continue").await;
    assert_eq!(next.header("location"), "/connect");
    assert_eq!(rp.get("/record").await.header("location"), "/connect");

    // The same account once One Login has verified the address: now it is kept.
    let again = rp
        .state
        .store
        .sign_in_user(
            &persona.sub,
            app::domain::identity::VerifiedEmail::verified_before(&persona.email).as_ref(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(again.id, user.user_id);
    assert_eq!(
        again.email.as_ref().map(|e| e.as_str()),
        Some(persona.email.as_str())
    );
    // And an unverified one later clears it rather than keeping an address One Login no longer vouches for.
    let later = rp
        .state
        .store
        .sign_in_user(&persona.sub, None, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(later.email, None);
}

fn carol(misbehave: Vec<Misbehaviour>, outcome: Outcome) -> NextLogin {
    let mut next = NextLogin::new("custom", outcome).misbehaving(misbehave);
    next.custom = Some(CustomPerson {
        first_name: "Carol".into(),
        last_name: "Smith".into(),
        previous_first_name: None,
        previous_last_name: Some("Jones".into()),
        previous_name_valid_until: chrono::NaiveDate::from_ymd_opt(2019, 8, 31),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1988, 12, 25).unwrap(),
        email: "carol@example.com".into(),
    });
    next
}

#[tokio::test]
async fn a_previous_name_whose_valid_until_is_not_a_plain_date_is_refused() {
    let mut rp = Rp::new().await;
    let (_guard, rules) = record_rules();
    assert_eq!(
        rp.round_trip("/sign-in", carol(vec![], Outcome::Authenticated))
            .await
            .header("location"),
        "/auth/identity"
    );
    let res = rp
        .round_trip(
            "/auth/identity",
            carol(
                vec![Misbehaviour::NameDatesNotPlain],
                Outcome::IdentityVerified,
            ),
        )
        .await;
    assert_eq!(res.header("location"), "/sign-in/problem/failed");
    let user = rp.signed_in_user().await.expect("the sign-in stands");
    assert_eq!(user.identity, app::ssr::IdentityStatus::NotChecked);
    assert!(rules.lock().unwrap().contains(&46), "refused by rule 46");
    // Nothing was kept: signing in again in a fresh browser still leads to the identity check.
    rp.cookies.clear();
    assert_eq!(
        rp.round_trip("/sign-in", carol(vec![], Outcome::Authenticated))
            .await
            .header("location"),
        "/auth/identity",
        "nothing kept"
    );

    // The same person with plain dates is verified, with Jones as a previous name and Smith as the current one.
    let res = rp
        .round_trip("/auth/identity", carol(vec![], Outcome::IdentityVerified))
        .await;
    assert_eq!(res.header("location"), "/continue");
    let user = rp.signed_in_user().await.unwrap();
    let app::ssr::IdentityStatus::Verified(identity) = user.identity else {
        panic!("verified: {:?}", user.identity)
    };
    assert_eq!(identity.current_name().unwrap().family_name, "Smith");
    assert_eq!(
        identity.previous_names().next().unwrap().family_name,
        "Jones"
    );
}

#[tokio::test]
async fn a_logout_token_with_a_nonce_or_signed_rs256_is_refused() {
    let mut rp = Rp::new().await;
    rp.verify("exact-match", Outcome::IdentityVerified, vec![])
        .await;
    let sub = rp
        .signed_in_user()
        .await
        .unwrap()
        .one_login_subject()
        .unwrap()
        .to_string();
    for fault in [LogoutTokenFault::Nonce, LogoutTokenFault::Rs256] {
        let token = rp.standin.faulty_logout_token(&sub, fault);
        assert_eq!(post_logout_token(&rp, &token).await, 400, "{fault:?}");
        assert!(
            rp.signed_in_user().await.is_some(),
            "{fault:?}: no session ended"
        );
    }
    // A proper one still works.
    let token = rp.standin.logout_token(&sub);
    assert_eq!(post_logout_token(&rp, &token).await, 200);
    assert!(rp.signed_in_user().await.is_none());
}

#[tokio::test]
async fn an_rs256_id_token_is_refused_though_one_login_publishes_its_key() {
    let mut rp = Rp::new().await;
    let (_guard, rules) = record_rules();
    let res = rp
        .round_trip(
            "/sign-in",
            NextLogin::new("exact-match", Outcome::Authenticated)
                .misbehaving([Misbehaviour::Rs256]),
        )
        .await;
    assert_eq!(res.header("location"), "/sign-in/problem/failed");
    assert!(rp.signed_in_user().await.is_none());
    assert!(rules.lock().unwrap().contains(&25), "refused by rule 25");
}

#[tokio::test]
async fn registering_our_key_by_jwks_url_works_without_a_configured_key_id() {
    let mut rp = Rp::new().await;
    let published = rp.get("/.well-known/jwks.json").await;
    let jwks: serde_json::Value = serde_json::from_str(&published.body).unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().expect("a kid").to_string();
    assert!(!kid.is_empty());
    // One Login reads our JWKS from its URL and picks our key by the assertion's kid.
    assert_eq!(rp.standin.register_client_jwks(&jwks), Some(1));
    assert_eq!(
        rp.sign_in("exact-match").await.header("location"),
        "/auth/identity"
    );
    assert!(rp.signed_in_user().await.is_some());
}

#[tokio::test]
async fn the_identity_issuer_and_did_document_may_live_on_their_own_host() {
    let standin = onelogin_standin::spawn_with_identity_host(standin_config(|_| {})).await;
    assert_ne!(standin.identity_issuer(), standin.issuer());
    let mut rp = Rp::against(standin, None).await;
    let res = rp
        .verify("exact-match", Outcome::IdentityVerified, vec![])
        .await;
    assert_eq!(res.header("location"), "/continue");
    let user = rp.signed_in_user().await.unwrap();
    assert!(matches!(
        user.identity,
        app::ssr::IdentityStatus::Verified(_)
    ));
}

#[tokio::test]
async fn a_rotated_identity_key_is_fetched_and_accepted_at_once() {
    let mut rp = Rp::new().await;
    // Our cache now holds the DID document with the current identity key.
    rp.verify("exact-match", Outcome::IdentityVerified, vec![])
        .await;
    rp.cookies.clear();
    let res = rp
        .verify(
            "nino-only",
            Outcome::IdentityVerified,
            vec![Misbehaviour::RotateIdentityKey],
        )
        .await;
    assert_eq!(res.header("location"), "/continue");
    assert!(matches!(
        rp.signed_in_user().await.unwrap().identity,
        app::ssr::IdentityStatus::Verified(_)
    ));
}
