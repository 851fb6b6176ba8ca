//! Teacher ID as an OpenID provider, the foundations (issue 12): discovery, the JWKS through a key rotation, ID
//! tokens checked by `openidconnect`'s verifier against what we publish, the client store, `server client add`,
//! `/oauth2/authorize`, and signing a teacher in for a service through the journey, the token and userinfo
//! endpoints; over HTTP in-process and on both backends.

use crate::onelogin::Rp;
use crate::support::{get, read, test_config, TestResponse};
use crate::util::{assert_redirect, seeded_with_sql, InProcess, Sql};
use app::domain::provider::{
    Client, ClientAuth, ClientKeys, IdTokenAlg, Scope, Scopes, SignInPolicy, TrnPolicy,
};
use app::domain::support::Role;
use chrono::{Duration, Utc};
use onelogin_standin::{NextLogin, Outcome};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{
    Audience, ClientId, EmptyAdditionalClaims, IssuerUrl, Nonce, StandardClaims, SubjectIdentifier,
};
use server::db::provider::{ClientAdded, KeyState};
use server::db::Backend;
use server::provider::{self, RETIRING_KEY_PUBLISHED};
use std::collections::HashMap;
use std::process::ExitCode;
use tower::ServiceExt;

on_both_backends!(
    discovery_is_core_provider_metadata_and_lists_only_endpoints_that_exist,
    the_jwks_shows_one_id_token_key_then_two_during_a_rollover_then_one,
    a_retiring_key_drops_out_once_its_time_has_passed,
    an_id_token_signed_with_the_current_key_verifies_against_the_published_jwks,
    a_client_is_stored_once_and_read_back_whole,
    a_disabled_client_reads_back_disabled,
    two_first_signing_keys_never_make_two_current_keys,
    keys_rotate_on_the_command_line_publishes_a_second_key,
    client_add_stores_a_client_and_shows_its_secret_only_as_a_hash,
    client_add_refuses_bad_input_with_exit_code_2_and_stores_nothing,
    authorize_answers_an_untrusted_redirect_uri_with_an_error_page,
    authorize_answers_other_errors_at_the_redirect_uri,
    authorize_sent_as_a_form_from_another_site_is_the_same_request_as_a_get,
    an_es256_key_rotates_like_an_rsa_key_and_the_old_one_stays_published,
);

const BASE: &str = "http://localhost:3000";
const REDIRECT: &str = "https://npq.example/callback";

type Service = InProcess;

/// What the provider's tests read of the service.
trait ProviderService {
    async fn jwks(&self) -> serde_json::Value;
    async fn id_token_kids_of(&self, alg: IdTokenAlg) -> Vec<String>;
    async fn id_token_kids(&self) -> Vec<String> {
        self.id_token_kids_of(IdTokenAlg::Rs256).await
    }
    fn rp_kid(&self) -> serde_json::Value;
}

impl ProviderService for InProcess {
    /// The published JWKS as JSON.
    async fn jwks(&self) -> serde_json::Value {
        let res = self.get("/.well-known/jwks.json").await;
        assert_eq!(res.status, 200);
        serde_json::from_str(&res.body).unwrap()
    }

    /// The `kid`s of the `alg` ID-token keys published (every key but our One Login client-assertion key, first).
    async fn id_token_kids_of(&self, alg: IdTokenAlg) -> Vec<String> {
        let jwks = self.jwks().await;
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(
            keys[0]["kid"],
            self.rp_kid(),
            "our One Login key stays first, where One Login and our tests look"
        );
        keys[1..]
            .iter()
            .filter(|k| k["alg"] == alg.as_str())
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }

    fn rp_kid(&self) -> serde_json::Value {
        let config = test_config(&[]);
        let client = server::onelogin::OneLoginClient::new(&config.one_login, "t").unwrap();
        client.public_jwks()["keys"][0]["kid"].clone()
    }
}

async fn discovery_is_core_provider_metadata_and_lists_only_endpoints_that_exist(backend: Backend) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    let res = service.get("/.well-known/openid-configuration").await;
    assert_eq!(res.status, 200);
    assert!(res.header("content-type").starts_with("application/json"));
    // Read by programs: no session, no CSRF cookie.
    assert_eq!(res.set_cookies(), Vec::<String>::new());
    let metadata: CoreProviderMetadata =
        serde_json::from_str(&res.body).expect("valid OIDC discovery");
    assert_eq!(metadata.issuer().as_str(), BASE);
    assert_eq!(
        metadata.jwks_uri().as_str(),
        format!("{BASE}/.well-known/jwks.json")
    );
    assert_eq!(
        metadata.authorization_endpoint().as_str(),
        format!("{BASE}/oauth2/authorize")
    );
    let raw: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(
        raw["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(raw["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        raw["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256"])
    );
    assert_eq!(
        raw["scopes_supported"],
        serde_json::json!(["email", "openid", "profile", "teaching_record"])
    );
    for claim in [
        "sub",
        "email",
        "name",
        "birthdate",
        "trn",
        "trn_lookup_status",
        "verified",
    ] {
        assert!(
            raw["claims_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == claim),
            "{claim}"
        );
    }
    // Every endpoint it names answers (none is a 404), and none it cannot answer is named yet.
    for field in [
        "authorization_endpoint",
        "jwks_uri",
        "token_endpoint",
        "userinfo_endpoint",
        "end_session_endpoint",
        "registration_endpoint",
    ] {
        let Some(url) = raw.get(field).and_then(|u| u.as_str()) else {
            continue;
        };
        let path = url.strip_prefix(BASE).expect("below the issuer");
        let answer = service.get(path).await;
        assert_ne!(
            answer.status, 404,
            "{field} {url} is advertised but not there"
        );
    }
    assert_eq!(raw["token_endpoint"], format!("{BASE}/oauth2/token"));
    assert_eq!(raw["userinfo_endpoint"], format!("{BASE}/oauth2/userinfo"));
    assert_eq!(
        raw["grant_types_supported"],
        serde_json::json!(["authorization_code"])
    );
    assert_eq!(
        raw["token_endpoint_auth_methods_supported"],
        serde_json::json!([
            "private_key_jwt",
            "client_secret_post",
            "client_secret_basic"
        ])
    );
    assert_eq!(raw["end_session_endpoint"], format!("{BASE}/oauth2/logout"));
}

async fn the_jwks_shows_one_id_token_key_then_two_during_a_rollover_then_one(backend: Backend) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    let store = &service.store;
    assert_eq!(
        service.id_token_kids().await,
        Vec::<String>::new(),
        "no key before start-up"
    );
    let now = Utc::now();
    assert!(provider::ensure_signing_key(store, now).await.unwrap());
    let first = service.id_token_kids().await;
    assert_eq!(first.len(), 1);
    assert!(
        !provider::ensure_signing_key(store, now).await.unwrap(),
        "one is enough"
    );
    assert_eq!(service.id_token_kids().await, first);

    // `server keys rotate`: the new key signs, the old one stays published.
    let second = provider::rotate_key(store, IdTokenAlg::Rs256, Utc::now())
        .await
        .unwrap();
    let published = service.id_token_kids().await;
    assert_eq!(published.len(), 2, "{published:?}");
    assert!(published.contains(&first[0]) && published.contains(&second));
    let res = service.get("/.well-known/jwks.json").await;
    assert_eq!(res.header("cache-control"), "public, max-age=300");

    // Once ID tokens signed with the old key can no longer be valid, it drops out.
    let later = Utc::now() + RETIRING_KEY_PUBLISHED + Duration::seconds(1);
    let mut then: Vec<serde_json::Value> = provider::published_keys(store, later).await.unwrap();
    then.retain(|k| k["alg"] == "RS256");
    assert_eq!(then.len(), 1);
    assert_eq!(then[0]["kid"], second.as_str());
    // … and the next rotation after that forgets it.
    let third = provider::rotate_key(store, IdTokenAlg::Rs256, later)
        .await
        .unwrap();
    let kept: Vec<String> = store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.alg == IdTokenAlg::Rs256)
        .map(|k| k.kid)
        .collect();
    assert_eq!(
        kept,
        vec![third, second],
        "the current key first, then the retiring one"
    );
}

async fn an_es256_key_rotates_like_an_rsa_key_and_the_old_one_stays_published(backend: Backend) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    let store = &service.store;
    assert!(provider::ensure_signing_key(store, Utc::now())
        .await
        .unwrap());
    let rsa = service.id_token_kids().await;
    let first = service.id_token_kids_of(IdTokenAlg::Es256).await;
    assert_eq!((rsa.len(), first.len()), (1, 1), "one current key of each");
    let jwks = service.jwks().await;
    let ec = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == first[0].as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (&ec["kty"], &ec["crv"], &ec["alg"], &ec["use"]),
        (
            &serde_json::json!("EC"),
            &serde_json::json!("P-256"),
            &serde_json::json!("ES256"),
            &serde_json::json!("sig")
        )
    );
    assert_eq!(base64_decode(ec["x"].as_str().unwrap()).len(), 32);
    assert_eq!(base64_decode(ec["y"].as_str().unwrap()).len(), 32);
    assert!(ec.get("d").is_none(), "no private part");

    let second = provider::rotate_key(store, IdTokenAlg::Es256, Utc::now())
        .await
        .unwrap();
    let published = service.id_token_kids_of(IdTokenAlg::Es256).await;
    assert_eq!(published.len(), 2, "{published:?}");
    assert!(published.contains(&first[0]) && published.contains(&second));
    assert_eq!(
        service.id_token_kids().await,
        rsa,
        "the RSA key is not touched"
    );
    assert_eq!(
        provider::current_signing_key(store, IdTokenAlg::Es256)
            .await
            .unwrap()
            .alg(),
        IdTokenAlg::Es256
    );
    // Two first ES256 keys at once still make one current one.
    let a = provider::generate_signing_key(IdTokenAlg::Es256, Utc::now()).unwrap();
    assert!(!store.add_first_signing_key(&a).await.unwrap());
}

async fn a_retiring_key_drops_out_once_its_time_has_passed(backend: Backend) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    // The rollover happened long enough ago that the old key's tokens have all expired.
    let long_ago = Utc::now() - RETIRING_KEY_PUBLISHED - Duration::minutes(1);
    provider::ensure_signing_key(&service.store, long_ago - Duration::hours(1))
        .await
        .unwrap();
    let current = provider::rotate_key(&service.store, IdTokenAlg::Rs256, long_ago)
        .await
        .unwrap();
    assert_eq!(service.id_token_kids().await, vec![current]);
    let mut keys = service.store.signing_keys().await.unwrap();
    keys.retain(|k| k.alg == IdTokenAlg::Rs256);
    assert_eq!(keys.len(), 2, "still stored until the next rotation");
    assert!(matches!(keys[1].state, KeyState::Retiring { .. }));
}

fn claims(nonce: &Nonce, now: chrono::DateTime<Utc>) -> CoreIdTokenClaims {
    CoreIdTokenClaims::new(
        IssuerUrl::new(BASE.into()).unwrap(),
        vec![Audience::new("npq".into())],
        now + Duration::minutes(5),
        now,
        StandardClaims::new(SubjectIdentifier::new("teacher-1".into())),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(nonce.clone()))
}

async fn an_id_token_signed_with_the_current_key_verifies_against_the_published_jwks(
    backend: Backend,
) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    let store = &service.store;
    let nonce = Nonce::new("n-1".into());
    provider::ensure_signing_key(store, Utc::now())
        .await
        .unwrap();
    let before = provider::current_signing_key(store, IdTokenAlg::Rs256)
        .await
        .unwrap();
    let old_token = provider::sign_id_token(claims(&nonce, Utc::now()), &before).unwrap();
    provider::rotate_key(store, IdTokenAlg::Rs256, Utc::now())
        .await
        .unwrap();
    let after = provider::current_signing_key(store, IdTokenAlg::Rs256)
        .await
        .unwrap();
    let new_token = provider::sign_id_token(claims(&nonce, Utc::now()), &after).unwrap();

    let jwks: CoreJsonWebKeySet = serde_json::from_value(service.jwks().await).unwrap();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new("npq".into()),
        IssuerUrl::new(BASE.into()).unwrap(),
        jwks,
    );
    for (what, token) in [("new key", &new_token), ("retiring key", &old_token)] {
        // Through text, as a relying party receives it.
        let token: CoreIdToken = token.to_string().parse().unwrap();
        let verified = token
            .claims(&verifier, &nonce)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(verified.subject().as_str(), "teacher-1", "{what}");
    }
    let header = new_token.to_string();
    let header: serde_json::Value =
        serde_json::from_slice(&base64_decode(header.split('.').next().unwrap())).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_ne!(header["kid"], service.rp_kid(), "never our One Login key");

    // A token for another client, or one signed with a key we do not publish, is refused.
    let other_aud = provider::sign_id_token(
        CoreIdTokenClaims::new(
            IssuerUrl::new(BASE.into()).unwrap(),
            vec![Audience::new("another-service".into())],
            Utc::now() + Duration::minutes(5),
            Utc::now(),
            StandardClaims::new(SubjectIdentifier::new("teacher-1".into())),
            EmptyAdditionalClaims {},
        )
        .set_nonce(Some(nonce.clone())),
        &after,
    )
    .unwrap();
    let unpublished =
        server::provider::generate_signing_key(IdTokenAlg::Rs256, Utc::now()).unwrap();
    let unpublished = openidconnect::core::CoreRsaPrivateSigningKey::from_pem(
        &unpublished.private_key_pem,
        Some(openidconnect::JsonWebKeyId::new(unpublished.kid)),
    )
    .unwrap();
    let forged =
        provider::sign_id_token_as(claims(&nonce, Utc::now()), &unpublished, IdTokenAlg::Rs256)
            .unwrap();
    for token in [other_aud, forged] {
        let token: CoreIdToken = token.to_string().parse().unwrap();
        assert!(token.claims(&verifier, &nonce).is_err());
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

fn npq(auth: ClientAuth) -> Client {
    Client {
        client_id: "npq".into(),
        display_name: "Register for an NPQ (sample)".into(),
        service_url: "https://npq.example".into(),
        redirect_uris: vec![REDIRECT.into(), "http://localhost:4000/callback?x=1".into()],
        post_logout_redirect_uris: vec!["https://npq.example/signed-out".into()],
        auth,
        allowed_scopes: Scopes::from([Scope::Openid, Scope::Email, Scope::TeachingRecord]),
        sign_in: SignInPolicy::OneLoginOrAccount,
        trn: TrnPolicy::Optional,
        mobile: Default::default(),
        id_token_alg: app::domain::provider::IdTokenAlg::Rs256,
        enabled: true,
    }
}

async fn a_client_is_stored_once_and_read_back_whole(backend: Backend) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    let store = &service.store;
    let (secret, sha256) = server::http::cookies::new_secret();
    let client = npq(ClientAuth::ClientSecret { sha256 });
    assert_eq!(
        store.add_client(&client, Utc::now()).await.unwrap(),
        ClientAdded::Added
    );
    let read = store.client("npq").await.unwrap().expect("stored");
    assert_eq!(read, client);
    assert!(provider::client_secret_matches(&read.auth, &secret));
    assert!(!provider::client_secret_matches(
        &read.auth,
        "not-the-secret"
    ));

    // The same id again is refused and changes nothing.
    let impostor = Client {
        display_name: "Someone else".into(),
        redirect_uris: vec!["https://evil.example/".into()],
        ..npq(ClientAuth::PrivateKeyJwt(ClientKeys::JwksUri(
            "https://evil.example/jwks".into(),
        )))
    };
    assert_eq!(
        store.add_client(&impostor, Utc::now()).await.unwrap(),
        ClientAdded::DuplicateClientId
    );
    assert_eq!(store.client("npq").await.unwrap().unwrap(), client);

    let keys = r#"{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"}]}"#;
    let jwt = Client {
        client_id: "aytq".into(),
        sign_in: SignInPolicy::OneLogin,
        trn: TrnPolicy::Required,
        ..npq(ClientAuth::PrivateKeyJwt(ClientKeys::Jwks(keys.into())))
    };
    assert_eq!(
        store.add_client(&jwt, Utc::now()).await.unwrap(),
        ClientAdded::Added
    );
    assert_eq!(store.client("aytq").await.unwrap().unwrap(), jwt);
    assert!(!provider::client_secret_matches(&jwt.auth, &secret));
    assert_eq!(store.client("NPQ").await.unwrap(), None, "ids are exact");
}

async fn a_disabled_client_reads_back_disabled(backend: Backend) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    let store = &service.store;
    let client = npq(ClientAuth::ClientSecret {
        sha256: "ab".repeat(32),
    });
    store.add_client(&client, Utc::now()).await.unwrap();
    assert!(store
        .set_client_enabled("npq", false, Utc::now())
        .await
        .unwrap());
    let read = store.client("npq").await.unwrap().unwrap();
    assert!(!read.enabled);
    assert_eq!(
        read,
        Client {
            enabled: false,
            ..client.clone()
        }
    );
    assert!(!store
        .set_client_enabled("nobody", false, Utc::now())
        .await
        .unwrap());
    assert!(store
        .set_client_enabled("npq", true, Utc::now())
        .await
        .unwrap());
    assert!(store.client("npq").await.unwrap().unwrap().enabled);
}

async fn two_first_signing_keys_never_make_two_current_keys(backend: Backend) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    let store = &service.store;
    let a = provider::generate_signing_key(IdTokenAlg::Rs256, Utc::now()).unwrap();
    let b = provider::generate_signing_key(IdTokenAlg::Rs256, Utc::now()).unwrap();
    let (first, second) = tokio::join!(
        store.add_first_signing_key(&a),
        store.add_first_signing_key(&b)
    );
    assert_eq!(
        [first.unwrap(), second.unwrap()]
            .iter()
            .filter(|added| **added)
            .count(),
        1
    );
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].state, KeyState::Current);
}

async fn keys_rotate_on_the_command_line_publishes_a_second_key(backend: Backend) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    provider::ensure_signing_key(&service.store, Utc::now())
        .await
        .unwrap();
    let before = service.id_token_kids().await;
    assert_eq!(
        server::cli::run(&args(&["keys", "rotate"]), service.config()).await,
        ExitCode::SUCCESS
    );
    let after = service.id_token_kids().await;
    assert_eq!(after.len(), 2);
    assert!(after.contains(&before[0]));
    assert_eq!(
        service.id_token_kids_of(IdTokenAlg::Es256).await.len(),
        2,
        "every algorithm's key is rotated"
    );
    for bad in [&["keys"][..], &["keys", "rotate", "now"], &["keys", "turn"]] {
        assert_eq!(
            server::cli::run(&args(bad), service.config()).await,
            ExitCode::from(2),
            "{bad:?}"
        );
    }
    assert_eq!(service.id_token_kids().await, after, "nothing changed");
}

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

const CLIENT_ADD: &[&str] = &[
    "client",
    "add",
    "--client-id",
    "npq",
    "--name",
    "Register for an NPQ",
    "--service-url",
    "https://npq.example",
    "--redirect-uri",
    REDIRECT,
    "--auth",
    "client_secret",
    "--sign-in",
    "one_login_or_account",
    "--trn",
    "optional",
];

async fn client_add_stores_a_client_and_shows_its_secret_only_as_a_hash(backend: Backend) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    let code = server::cli::run(&args(CLIENT_ADD), service.config()).await;
    assert_eq!(code, ExitCode::SUCCESS);
    let stored = service
        .store
        .client("npq")
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(stored.redirect_uris, vec![REDIRECT]);
    let ClientAuth::ClientSecret { sha256 } = &stored.auth else {
        panic!("a client secret")
    };
    assert_eq!(sha256.len(), 64, "a SHA-256, not the secret");
    // The same id again: exit code 2, the first registration untouched.
    let mut again = args(CLIENT_ADD);
    again[5] = "Another name".into();
    assert_eq!(
        server::cli::run(&again, service.config()).await,
        ExitCode::from(2)
    );
    assert_eq!(service.store.client("npq").await.unwrap().unwrap(), stored);
}

async fn client_add_refuses_bad_input_with_exit_code_2_and_stores_nothing(backend: Backend) {
    let Some(service) = InProcess::new(backend, "provider tests", &[]).await else {
        return;
    };
    let replaced = |flag: &str, value: &str| {
        let mut a = args(CLIENT_ADD);
        let at = a.iter().position(|f| f == flag).unwrap();
        a[at + 1] = value.into();
        a
    };
    for bad in [
        replaced("--redirect-uri", "javascript:alert(1)"),
        replaced("--redirect-uri", "http://npq.example/callback"),
        replaced("--redirect-uri", "https://npq.example/cb#fragment"),
        replaced("--sign-in", "anyone"),
        replaced("--trn", "sometimes"),
        replaced("--auth", "none"),
        replaced("--client-id", "npq client"),
        args(&CLIENT_ADD[..CLIENT_ADD.len() - 2]),
        args(&["client", "add"]),
    ] {
        assert_eq!(
            server::cli::run(&bad, service.config()).await,
            ExitCode::from(2),
            "{bad:?}"
        );
    }
    assert_eq!(service.store.client("npq").await.unwrap(), None);
    assert_eq!(service.store.client("npq client").await.unwrap(), None);
}

/// `/oauth2/authorize` with these parameters (`npq`'s good request with `changes`: a value, or `None` to leave it
/// out), against a registered `npq`.
async fn authorize(service: &Service, changes: &[(&str, Option<&str>)]) -> TestResponse {
    service
        .get(&format!("/oauth2/authorize?{}", request_query(changes)))
        .await
}

/// The query of `npq`'s good request with `changes` (see [`authorize`]).
fn request_query(changes: &[(&str, Option<&str>)]) -> String {
    let mut params: Vec<(&str, &str)> = vec![
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
    ];
    for (name, value) in changes {
        params.retain(|(k, _)| k != name);
        if let Some(value) = value {
            params.push((name, value));
        }
    }
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

async fn with_npq(backend: Backend) -> Option<Service> {
    let service = InProcess::new(backend, "provider tests", &[]).await?;
    let client = npq(ClientAuth::ClientSecret {
        sha256: "ab".repeat(32),
    });
    service.store.add_client(&client, Utc::now()).await.unwrap();
    Some(service)
}

async fn authorize_answers_an_untrusted_redirect_uri_with_an_error_page(backend: Backend) {
    let Some(service) = with_npq(backend).await else {
        return;
    };
    for changes in [
        vec![("redirect_uri", Some("https://evil.example/callback"))],
        vec![("redirect_uri", Some("https://npq.example/callback/"))],
        vec![("redirect_uri", None)],
        vec![("client_id", Some("nobody"))],
        vec![("client_id", None)],
        vec![("client_id", Some(&"x".repeat(5000) as &str))],
    ] {
        let res = authorize(&service, &changes).await;
        assert_eq!(res.status, 400, "{changes:?}");
        assert_eq!(res.header("location"), "", "never a redirect: {changes:?}");
        assert!(
            res.body
                .contains("Sorry, there is a problem with the service you came from"),
            "a GOV.UK page about the service that sent them: {changes:?}"
        );
        assert!(
            !res.body.contains("govuk-back-link"),
            "nothing of ours to go back to"
        );
    }
    // The same parameter twice: which redirect URI would we trust?
    let twice = service
        .get(&format!(
            "/oauth2/authorize?client_id=npq&redirect_uri={0}&redirect_uri={0}&response_type=code",
            urlencode(REDIRECT)
        ))
        .await;
    assert_eq!((twice.status, twice.header("location")), (400, ""));
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[track_caller]
fn assert_error_redirect(res: &TestResponse, error: &str) {
    assert_eq!(res.status, 302, "{}", &res.body[..res.body.len().min(300)]);
    let location = res.header("location");
    let (to, query) = location.split_once('?').expect("a query");
    assert_eq!(to, REDIRECT);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert!(
        pairs.contains(&("error".into(), error.into())),
        "{location}"
    );
    assert!(
        pairs.iter().any(|(k, _)| k == "error_description"),
        "{location}"
    );
}

async fn authorize_answers_other_errors_at_the_redirect_uri(backend: Backend) {
    let Some(service) = with_npq(backend).await else {
        return;
    };
    for (changes, error) in [
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (vec![("scope", Some("openid profile"))], "invalid_scope"),
        (vec![("scope", Some("email"))], "invalid_request"),
        (vec![("nonce", None)], "invalid_request"),
        (vec![("state", None)], "invalid_request"),
        (vec![("code_challenge", None)], "invalid_request"),
        (
            vec![("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (vec![("prompt", Some("none login"))], "invalid_request"),
        (vec![("max_age", Some("-1"))], "invalid_request"),
        (vec![("request", Some("e30.e30."))], "request_not_supported"),
    ] {
        assert_error_redirect(&authorize(&service, &changes).await, error);
    }
    let none = authorize(&service, &[("prompt", Some("none"))]).await;
    assert_error_redirect(&none, "login_required");
    assert!(none.header("location").ends_with("&state=st-1"));
    // A request that keeps every rule, with nobody signed in: to sign in (npq offers DfE Identity accounts, so to
    // the choice of One Login or an account first).
    let valid = authorize(&service, &[]).await;
    assert_eq!(
        (valid.status, valid.header("location")),
        (303, "/account-sign-in")
    );
    // A disabled client is told it may not ask.
    service
        .store
        .set_client_enabled("npq", false, Utc::now())
        .await
        .unwrap();
    assert_error_redirect(&authorize(&service, &[]).await, "unauthorized_client");
}

/// OpenID Connect Core §3.1.2.1: a client may send its authorization request as a form post, from its own site,
/// with none of our cookies or CSRF token. It is answered with a 303 to the very same request as a GET (repeated
/// parameters kept, for the GET to refuse), which is then answered as a GET sent directly is.
async fn authorize_sent_as_a_form_from_another_site_is_the_same_request_as_a_get(backend: Backend) {
    let Some(service) = with_npq(backend).await else {
        return;
    };
    let post = |body: String| {
        let req = axum::http::Request::post("/oauth2/authorize")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://npq.example")
            .body(axum::body::Body::from(body))
            .unwrap();
        let router = service.router.clone();
        async move { read(router.oneshot(req).await.unwrap()).await }
    };
    let direct = authorize(&service, &[]).await;
    let query = request_query(&[]);
    let posted = post(query.clone()).await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    assert_eq!(
        posted.header("location"),
        format!("/oauth2/authorize?{query}")
    );
    assert_eq!(posted.cookie("tid_session"), None, "no session made");
    let followed = service.get(posted.header("location")).await;
    assert_eq!(followed.status, direct.status);
    assert_eq!(followed.header("location"), direct.header("location"));

    // A parameter sent twice stays twice, and the GET refuses it at the redirect URI.
    let twice = post(format!("{query}&state=st-2")).await;
    assert_eq!(twice.status, 303);
    assert_eq!(
        twice.header("location"),
        format!("/oauth2/authorize?{query}&state=st-2")
    );
    assert_error_redirect(
        &service.get(twice.header("location")).await,
        "invalid_request",
    );
}

// --- Signing a teacher in for a service: the journey, codes, tokens and userinfo (DESIGN §7.1) ---

on_both_backends!(
    the_full_code_flow_for_a_signed_in_connected_teacher_returns_verified_tokens_and_claims,
    an_es256_clients_id_token_verifies_with_the_published_ec_key,
    a_teacher_not_signed_in_is_sent_to_sign_in_and_comes_back_with_a_code,
    a_wrong_pkce_verifier_is_refused,
    a_redirect_uri_differing_from_the_codes_is_refused,
    a_code_used_twice_is_refused_and_its_access_token_no_longer_works,
    two_redemptions_of_one_code_at_once_give_one_set_of_tokens_and_revoke_it,
    a_token_written_after_its_code_came_back_is_revoked_all_the_same,
    codes_redeemed_together_each_get_their_own_answer_and_a_code_twice_is_used_once,
    a_code_older_than_60_seconds_is_refused,
    client_secret_basic_and_post_both_authenticate_and_a_wrong_secret_is_invalid_client,
    a_private_key_jwt_client_authenticates_with_a_signed_assertion_once,
    the_id_token_is_for_the_client_that_asked_and_no_other,
    prompt_login_signs_the_teacher_in_again,
    max_age_signs_the_teacher_in_again_once_exceeded,
    trn_required_teacher_not_connected_gets_no_code_and_waits_for_support,
    trn_optional_teacher_with_a_support_task_returns_with_trn_lookup_status_pending,
    userinfo_gives_the_claims_of_the_scopes_granted_and_refuses_bad_tokens,
    bad_input_at_the_token_endpoint_gets_a_clear_error_never_a_5xx,
    every_client_request_token_and_refusal_is_audited_without_personal_data,
    logout_with_the_teachers_id_token_ends_both_sessions_and_returns_to_the_service,
    logout_to_an_unregistered_uri_or_with_a_forged_hint_is_refused_and_changes_nothing,
    a_private_key_jwt_client_with_a_jwks_url_is_checked_against_the_keys_it_serves,
);

/// RFC 7636 Appendix B: this verifier's S256 challenge is the one `request_query` sends.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

type IdTokenOf = openidconnect::IdToken<
    server::provider::TeacherClaims,
    openidconnect::core::CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJwsSigningAlgorithm,
>;

/// The seeded service (the stand-in's personas' records) with `client` registered, and a second connection to its
/// database.
pub(super) async fn flow(backend: Backend, client: Client) -> Option<(Rp, Sql)> {
    let (rp, sql) = seeded_with_sql(
        backend,
        "provider flow tests",
        ("admin@example.com", "Ada Admin", Role::Administrator),
    )
    .await?;
    rp.state
        .store
        .add_client(&client, Utc::now())
        .await
        .unwrap();
    Some((rp, sql))
}

/// `npq` with a client secret, allowed every scope, with `trn` policy `trn`; and its secret.
pub(super) fn secret_client(trn: TrnPolicy) -> (Client, String) {
    let (secret, sha256) = server::http::cookies::new_secret();
    let client = Client {
        allowed_scopes: Scopes::from(Scope::ALL),
        trn,
        ..npq(ClientAuth::ClientSecret { sha256 })
    };
    (client, secret)
}

fn basic(client_id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"))
    )
}

/// A token request: a form body with `fields`, and `Authorization` when given.
async fn token_request(
    rp: &Rp,
    authorization: Option<&str>,
    fields: &[(&str, &str)],
) -> TestResponse {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = axum::http::Request::post("/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(authorization) = authorization {
        req = req.header("authorization", authorization);
    }
    read(
        rp.router
            .clone()
            .oneshot(req.body(axum::body::Body::from(body)).unwrap())
            .await
            .unwrap(),
    )
    .await
}

/// The authorization code grant for `code` with the right redirect URI and verifier, by client secret Basic.
pub(super) async fn exchange(rp: &Rp, secret: &str, code: &str) -> TestResponse {
    token_request(
        rp,
        Some(&basic("npq", secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

pub(super) async fn userinfo(rp: &Rp, access_token: &str) -> TestResponse {
    let req = axum::http::Request::get("/oauth2/userinfo")
        .header("authorization", format!("Bearer {access_token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    read(rp.router.clone().oneshot(req).await.unwrap()).await
}

/// The `code` a redirect to the client carries, checking it goes to the client with our `state`.
#[track_caller]
pub(super) fn code_in(res: &TestResponse) -> String {
    assert_eq!(res.status, 302, "{}", &res.body[..res.body.len().min(300)]);
    let location = res.header("location");
    let (to, query) = location.split_once('?').expect("a query");
    assert_eq!(to, REDIRECT);
    let pairs: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(pairs.get("state").map(String::as_str), Some("st-1"));
    assert!(!pairs.contains_key("error"), "{location}");
    pairs["code"].clone()
}

/// `/oauth2/authorize` for `npq` with `changes` (see [`request_query`]), as the teacher's browser.
pub(super) async fn authorize_as(rp: &mut Rp, changes: &[(&str, Option<&str>)]) -> TestResponse {
    rp.get(&format!("/oauth2/authorize?{}", request_query(changes)))
        .await
}

/// The exact-match persona signed in, verified and connected to their record, as the journey does it.
async fn connected_teacher(rp: &mut Rp) {
    let back = rp
        .verify("exact-match", Outcome::IdentityVerified, vec![])
        .await;
    assert_eq!(back.header("location"), "/continue");
    assert_redirect(&rp.get("/continue").await, "/connected");
}

pub(super) const RECORD_SCOPES: &str = "openid email profile teaching_record";

pub(super) fn json(res: &TestResponse) -> serde_json::Value {
    serde_json::from_str(&res.body).unwrap_or_else(|_| panic!("JSON: {}", res.body))
}

/// The ID token's claims, its signature checked against the published JWKS for `client_id` with `nonce`.
pub(super) async fn verified_id_token(
    rp: &mut Rp,
    id_token: &str,
    client_id: &str,
    nonce: &str,
) -> Result<
    openidconnect::IdTokenClaims<
        server::provider::TeacherClaims,
        openidconnect::core::CoreGenderClaim,
    >,
    String,
> {
    let jwks: CoreJsonWebKeySet =
        serde_json::from_str(&rp.get("/.well-known/jwks.json").await.body).unwrap();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client_id.into()),
        IssuerUrl::new(BASE.into()).unwrap(),
        jwks,
    );
    let token: IdTokenOf = id_token.parse().map_err(|e| format!("{e:?}"))?;
    token
        .claims(&verifier, &Nonce::new(nonce.into()))
        .cloned()
        .map_err(|e| e.to_string())
}

async fn the_full_code_flow_for_a_signed_in_connected_teacher_returns_verified_tokens_and_claims(
    backend: Backend,
) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let persona = rp.standin.persona("exact-match").unwrap();
    // Single sign-on: already signed in and connected, so straight back with a code, no page shown.
    let back = authorize_as(&mut rp, &[("scope", Some(RECORD_SCOPES))]).await;
    let code = code_in(&back);
    let tokens = exchange(&rp, &secret, &code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(tokens.header("cache-control"), "no-store");
    assert_eq!(tokens.set_cookies(), Vec::<String>::new(), "no session");
    let body = json(&tokens);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], RECORD_SCOPES);
    let claims = verified_id_token(&mut rp, body["id_token"].as_str().unwrap(), "npq", "n-1")
        .await
        .expect("signed with a published key, for npq, with our nonce");
    assert_eq!(claims.nonce().unwrap().secret(), "n-1");
    assert!(claims.auth_time().is_some());
    assert_eq!(
        jose_header(body["id_token"].as_str().unwrap())["alg"],
        "RS256",
        "OpenID Connect's default for a client that did not ask"
    );
    let one_login_sub = rp
        .signed_in_user()
        .await
        .unwrap()
        .one_login_subject()
        .unwrap()
        .to_string();
    let sub = claims.subject().as_str().to_string();
    assert_ne!(sub, one_login_sub, "our own sub, never One Login's");
    assert_eq!(claims.email().unwrap().as_str(), persona.email);
    assert!(claims
        .name()
        .unwrap()
        .get(None)
        .unwrap()
        .as_str()
        .contains(&persona.last_name));
    assert_eq!(
        claims.birthdate().unwrap().as_str(),
        persona.date_of_birth.format("%Y-%m-%d").to_string()
    );
    let extra = claims.additional_claims();
    assert_eq!(extra.verified, Some(true));
    assert_eq!(extra.trn, persona.trn_hint);
    assert_eq!(
        extra.trn_lookup_status,
        Some(app::domain::provider::TrnLookupStatus::Found)
    );

    let info = userinfo(&rp, body["access_token"].as_str().unwrap()).await;
    assert_eq!(info.status, 200, "{}", info.body);
    let info = json(&info);
    assert_eq!(info["sub"], sub.as_str());
    assert_eq!(info["trn"], persona.trn_hint.clone().unwrap().as_str());
    assert_eq!(info["trn_lookup_status"], "found");
    assert_eq!(info["verified"], true);

    // The same person gets the same sub the next time.
    let again = code_in(&authorize_as(&mut rp, &[("scope", Some(RECORD_SCOPES))]).await);
    let again = json(&exchange(&rp, &secret, &again).await);
    let again = verified_id_token(&mut rp, again["id_token"].as_str().unwrap(), "npq", "n-1")
        .await
        .unwrap();
    assert_eq!(again.subject().as_str(), sub);
}

async fn a_teacher_not_signed_in_is_sent_to_sign_in_and_comes_back_with_a_code(backend: Backend) {
    let (client, secret) = secret_client(TrnPolicy::Optional);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    // Only `openid email`: no verified identity needed, so back as soon as they have signed in.
    let start = authorize_as(&mut rp, &[("trn_token", Some("tok-123"))]).await;
    assert_redirect(&start, "/account-sign-in");
    let back = rp
        .round_trip(
            "/sign-in",
            NextLogin::new("no-match", Outcome::Authenticated),
        )
        .await;
    let code = code_in(&back);
    let tokens = exchange(&rp, &secret, &code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let info = json(&userinfo(&rp, json(&tokens)["access_token"].as_str().unwrap()).await);
    assert!(info["email"].is_string());
    for absent in ["name", "birthdate", "trn", "trn_lookup_status", "verified"] {
        assert!(info.get(absent).is_none(), "{absent} without its scope");
    }
}

async fn a_wrong_pkce_verifier_is_refused(backend: Backend) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    let wrong = token_request(
        &rp,
        Some(&basic("npq", &secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &"a".repeat(43)),
        ],
    )
    .await;
    assert_eq!(
        (wrong.status, json(&wrong)["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

async fn a_redirect_uri_differing_from_the_codes_is_refused(backend: Backend) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    let other = token_request(
        &rp,
        Some(&basic("npq", &secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:4000/callback?x=1"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        (other.status, json(&other)["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

async fn a_code_used_twice_is_refused_and_its_access_token_no_longer_works(backend: Backend) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    let first = json(&exchange(&rp, &secret, &code).await);
    let access_token = first["access_token"].as_str().unwrap().to_string();
    assert_eq!(userinfo(&rp, &access_token).await.status, 200);
    let second = exchange(&rp, &secret, &code).await;
    assert_eq!(
        (second.status, json(&second)["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let revoked = userinfo(&rp, &access_token).await;
    assert_eq!(revoked.status, 401);
    assert_eq!(
        revoked.header("www-authenticate"),
        "Bearer error=\"invalid_token\""
    );
}

async fn a_code_older_than_60_seconds_is_refused(backend: Backend) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    // Issued 61 seconds ago.
    let issued = Utc::now() - Duration::seconds(61);
    sql.run(&format!(
        "UPDATE authorization_codes SET created_at = '{}', expires_at = '{}'",
        issued.to_rfc3339(),
        (issued + server::provider::CODE_LIFETIME).to_rfc3339()
    ))
    .await;
    let old = exchange(&rp, &secret, &code).await;
    assert_eq!(
        (old.status, json(&old)["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // A fresh one, within its minute, is good.
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    assert_eq!(exchange(&rp, &secret, &code).await.status, 200);
}

async fn client_secret_basic_and_post_both_authenticate_and_a_wrong_secret_is_invalid_client(
    backend: Backend,
) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let grant = |code: &str| {
        vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.to_string()),
            ("redirect_uri".to_string(), REDIRECT.to_string()),
            ("code_verifier".to_string(), VERIFIER.to_string()),
        ]
    };
    let as_pairs = |v: &Vec<(String, String)>| {
        v.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    // client_secret_basic
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    assert_eq!(exchange(&rp, &secret, &code).await.status, 200);
    // client_secret_post
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    let mut fields = as_pairs(&grant(&code));
    fields.push(("client_id".into(), "npq".into()));
    fields.push(("client_secret".into(), secret.clone()));
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let posted = token_request(&rp, None, &refs).await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    // A wrong secret, either way, and none at all.
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    let fields = grant(&code);
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let wrong_basic = token_request(&rp, Some(&basic("npq", "not-the-secret")), &refs).await;
    let mut with_post = refs.clone();
    with_post.extend([("client_id", "npq"), ("client_secret", "not-the-secret")]);
    let wrong_post = token_request(&rp, None, &with_post).await;
    let none = token_request(&rp, None, &refs).await;
    let unknown = token_request(&rp, Some(&basic("nobody", &secret)), &refs).await;
    for refused in [wrong_basic, wrong_post, none, unknown] {
        assert_eq!(refused.status, 401, "{}", refused.body);
        assert_eq!(json(&refused)["error"], "invalid_client");
        assert!(refused.header("www-authenticate").starts_with("Basic"));
        assert_eq!(refused.header("cache-control"), "no-store");
    }
    // The code was not spent by the refusals.
    assert_eq!(exchange(&rp, &secret, &code).await.status, 200);
}

/// A client assertion (RFC 7523) for `npq`, signed with `pem` under `kid`, for `aud`, with `jti`.
fn assertion(pem: &str, kid: &str, aud: &str, jti: &str, exp_in: i64) -> String {
    let now = Utc::now().timestamp();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        &serde_json::json!({
            "iss": "npq", "sub": "npq", "aud": aud, "jti": jti, "iat": now, "exp": now + exp_in,
        }),
        &jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// The authorization code grant for `code`, the client authenticated by `assertion`.
async fn with_assertion(rp: &Rp, code: &str, assertion: &str) -> TestResponse {
    token_request(
        rp,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ],
    )
    .await
}

async fn a_private_key_jwt_client_authenticates_with_a_signed_assertion_once(backend: Backend) {
    // The client's own key pair: we hold only its public JWK.
    let key = server::provider::generate_signing_key(IdTokenAlg::Rs256, Utc::now()).unwrap();
    let jwks = serde_json::json!({ "keys": [key.public_jwk] }).to_string();
    let client = Client {
        allowed_scopes: Scopes::from(Scope::ALL),
        trn: TrnPolicy::Required,
        ..npq(ClientAuth::PrivateKeyJwt(ClientKeys::Jwks(jwks)))
    };
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let token_url = format!("{BASE}/oauth2/token");
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    let good = assertion(&key.private_key_pem, &key.kid, &token_url, "jti-1", 60);
    let ok = with_assertion(&rp, &code, &good).await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    let another = server::provider::generate_signing_key(IdTokenAlg::Rs256, Utc::now()).unwrap();
    for (what, refused) in [
        ("replayed", good),
        (
            "for another audience",
            assertion(
                &key.private_key_pem,
                &key.kid,
                "https://elsewhere.example/token",
                "jti-2",
                60,
            ),
        ),
        (
            "expired",
            assertion(&key.private_key_pem, &key.kid, &token_url, "jti-3", -120),
        ),
        (
            "signed with a key not registered",
            assertion(&another.private_key_pem, &key.kid, &token_url, "jti-4", 60),
        ),
    ] {
        let code = code_in(&authorize_as(&mut rp, &[]).await);
        let res = with_assertion(&rp, &code, &refused).await;
        assert_eq!(res.status, 401, "{what}: {}", res.body);
        assert_eq!(json(&res)["error"], "invalid_client", "{what}");
    }
    // The issuer as audience is accepted too.
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    let by_issuer = assertion(&key.private_key_pem, &key.kid, BASE, "jti-5", 60);
    assert_eq!(with_assertion(&rp, &code, &by_issuer).await.status, 200);
}

async fn the_id_token_is_for_the_client_that_asked_and_no_other(backend: Backend) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    let id_token = json(&exchange(&rp, &secret, &code).await)["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let claims = verified_id_token(&mut rp, &id_token, "npq", "n-1")
        .await
        .unwrap();
    assert_eq!(
        claims
            .audiences()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        vec!["npq"]
    );
    assert_eq!(claims.issuer().as_str(), BASE);
    assert!(
        verified_id_token(&mut rp, &id_token, "another-service", "n-1")
            .await
            .is_err()
    );
    assert!(
        verified_id_token(&mut rp, &id_token, "npq", "another-nonce")
            .await
            .is_err(),
        "the nonce is the request's"
    );
}

async fn prompt_login_signs_the_teacher_in_again(backend: Backend) {
    let (client, _secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let again = authorize_as(&mut rp, &[("prompt", Some("login"))]).await;
    assert_redirect(&again, "/account-sign-in");
    assert!(
        rp.signed_in_user().await.is_none(),
        "signed out of Teacher ID, the request kept"
    );
    let back = rp.sign_in("exact-match").await;
    code_in(&back);
}

async fn max_age_signs_the_teacher_in_again_once_exceeded(backend: Backend) {
    let (client, _secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    code_in(&authorize_as(&mut rp, &[("max_age", Some("3600"))]).await);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let stale = authorize_as(&mut rp, &[("max_age", Some("0"))]).await;
    assert_redirect(&stale, "/account-sign-in");
    assert!(rp.signed_in_user().await.is_none());
    code_in(&rp.sign_in("exact-match").await);
}

/// A verified teacher the journey cannot match asks for support, having come from `npq`.
async fn unmatched_teacher_from_npq_asks_for_support(rp: &mut Rp) {
    assert_redirect(
        &authorize_as(rp, &[("scope", Some(RECORD_SCOPES))]).await,
        "/account-sign-in",
    );
    crate::util::unmatched_teacher_asks_for_support(rp).await;
}

async fn trn_required_teacher_not_connected_gets_no_code_and_waits_for_support(backend: Backend) {
    let (client, _secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    unmatched_teacher_from_npq_asks_for_support(&mut rp).await;
    let waiting = "You’ll be able to use Register for an NPQ (sample) once our support team has found your teaching record.";
    let confirmation = rp.get("/connect/support-requested").await;
    assert!(confirmation.body.contains(waiting), "{}", confirmation.body);
    assert!(!confirmation.body.contains("Continue to"));
    let pending = rp.get("/request-pending").await;
    assert!(pending.body.contains(waiting));
    // Neither the button's route nor a new request gives a code.
    assert_redirect(&rp.post("/oauth2/continue", &[]).await, "/continue");
    let again = authorize_as(&mut rp, &[("scope", Some(RECORD_SCOPES))]).await;
    assert_redirect(&again, "/continue");
    assert!(rp
        .state
        .store
        .provider_events()
        .await
        .unwrap()
        .iter()
        .all(|e| e.outcome != "code"));
}

async fn trn_optional_teacher_with_a_support_task_returns_with_trn_lookup_status_pending(
    backend: Backend,
) {
    let (client, secret) = secret_client(TrnPolicy::Optional);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    unmatched_teacher_from_npq_asks_for_support(&mut rp).await;
    let confirmation = rp.get("/connect/support-requested").await;
    assert!(
        confirmation
            .body
            .contains("Continue to Register for an NPQ (sample)"),
        "{}",
        confirmation.body
    );
    assert!(confirmation.body.contains(r#"action="/oauth2/continue""#));
    let code = code_in(&rp.post("/oauth2/continue", &[]).await);
    let tokens = json(&exchange(&rp, &secret, &code).await);
    let claims = verified_id_token(&mut rp, tokens["id_token"].as_str().unwrap(), "npq", "n-1")
        .await
        .unwrap();
    let extra = claims.additional_claims();
    assert_eq!(
        extra.trn_lookup_status,
        Some(app::domain::provider::TrnLookupStatus::Pending)
    );
    assert_eq!(extra.trn, None);
    assert_eq!(extra.verified, Some(true));
    // The request is used up: the button no longer shows.
    assert!(!rp
        .get("/request-pending")
        .await
        .body
        .contains("Continue to"));
}

async fn userinfo_gives_the_claims_of_the_scopes_granted_and_refuses_bad_tokens(backend: Backend) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let code = code_in(&authorize_as(&mut rp, &[("scope", Some("openid profile"))]).await);
    let access = json(&exchange(&rp, &secret, &code).await)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let info = userinfo(&rp, &access).await;
    assert_eq!(info.status, 200);
    assert_eq!(info.header("cache-control"), "no-store");
    let info = json(&info);
    assert!(info["sub"].is_string() && info["name"].is_string() && info["birthdate"].is_string());
    assert_eq!(info["verified"], true);
    for absent in ["email", "trn", "trn_lookup_status"] {
        assert!(info.get(absent).is_none(), "{absent}: {info}");
    }
    // POST works as GET.
    let post = axum::http::Request::post("/oauth2/userinfo")
        .header("authorization", format!("Bearer {access}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(
        read(rp.router.clone().oneshot(post).await.unwrap())
            .await
            .status,
        200
    );

    let missing = read(
        rp.router
            .clone()
            .oneshot(
                axum::http::Request::get("/oauth2/userinfo")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (missing.status, missing.header("www-authenticate")),
        (401, "Bearer")
    );
    for bad in ["nonsense", &"A".repeat(43)] {
        let res = userinfo(&rp, bad).await;
        assert_eq!(res.status, 401);
        assert_eq!(
            res.header("www-authenticate"),
            "Bearer error=\"invalid_token\""
        );
    }
    // An hour later the token has expired.
    sql.run(&format!(
        "UPDATE access_tokens SET expires_at = '{}'",
        (Utc::now() - Duration::seconds(1)).to_rfc3339()
    ))
    .await;
    let expired = userinfo(&rp, &access).await;
    assert_eq!(
        (expired.status, expired.header("www-authenticate")),
        (401, "Bearer error=\"invalid_token\"")
    );
}

async fn bad_input_at_the_token_endpoint_gets_a_clear_error_never_a_5xx(backend: Backend) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((rp, _sql)) = flow(backend, client).await else {
        return;
    };
    let auth = basic("npq", &secret);
    let send = |content_type: &str, body: Vec<u8>| {
        let req = axum::http::Request::post("/oauth2/token")
            .header("content-type", content_type)
            .header("authorization", auth.clone())
            .body(axum::body::Body::from(body))
            .unwrap();
        let router = rp.router.clone();
        async move { read(router.oneshot(req).await.unwrap()).await }
    };
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "JSON, not a form",
            "application/json",
            br#"{"grant_type":"authorization_code"}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "a form without a grant",
            "application/x-www-form-urlencoded",
            b"code=x".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "an unknown grant",
            "application/x-www-form-urlencoded",
            b"grant_type=password&username=a&password=b".to_vec(),
            400,
            "unsupported_grant_type",
        ),
        (
            "client credentials grant",
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials".to_vec(),
            400,
            "unsupported_grant_type",
        ),
        (
            "a parameter twice",
            "application/x-www-form-urlencoded",
            b"grant_type=authorization_code&grant_type=authorization_code".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "an unknown code",
            "application/x-www-form-urlencoded",
            format!(
                "grant_type=authorization_code&code=nope&redirect_uri={}&code_verifier={VERIFIER}",
                urlencode(REDIRECT)
            )
            .into_bytes(),
            400,
            "invalid_grant",
        ),
        (
            "bytes that are not UTF-8",
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, b'=', 0x80],
            400,
            "invalid_request",
        ),
    ];
    for (what, content_type, body, status, error) in cases {
        let res = send(content_type, body).await;
        assert_eq!(res.status, status, "{what}: {}", res.body);
        assert_eq!(json(&res)["error"], error, "{what}");
        assert!(json(&res)["error_description"].is_string(), "{what}");
        assert_eq!(res.header("cache-control"), "no-store", "{what}");
        assert_eq!(res.set_cookies(), Vec::<String>::new(), "{what}");
        // The client endpoints skip the layers meant for people's pages, not these (`http::with_middleware`).
        assert_eq!(res.header("x-content-type-options"), "nosniff", "{what}");
        assert!(!res.header("x-request-id").is_empty(), "{what}");
    }
    // A huge body, declared or streamed: refused before it is read, in OAuth's JSON.
    let huge = send(
        "application/x-www-form-urlencoded",
        format!(
            "grant_type=authorization_code&code={}",
            "a".repeat(2 * 1024 * 1024)
        )
        .into_bytes(),
    )
    .await;
    assert!(huge.status == 413 || huge.status == 400, "{}", huge.status);
    assert_eq!(json(&huge)["error"], "invalid_request");
    // Only POST.
    assert_eq!(
        rp.router
            .clone()
            .oneshot(get("/oauth2/token"))
            .await
            .unwrap()
            .status(),
        405
    );
}

async fn every_client_request_token_and_refusal_is_audited_without_personal_data(backend: Backend) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    assert_error_redirect(
        &authorize_as(&mut rp, &[("nonce", None)]).await,
        "invalid_request",
    );
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    exchange(&rp, &secret, &code).await;
    exchange(&rp, &secret, &code).await;
    token_request(
        &rp,
        Some(&basic("npq", "wrong")),
        &[("grant_type", "authorization_code")],
    )
    .await;
    let events: Vec<(Option<String>, String, String)> = rp
        .state
        .store
        .provider_events()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.client_id, e.event, e.outcome))
        .collect();
    let npq = || Some("npq".to_string());
    assert_eq!(
        events,
        vec![
            (npq(), "authorize".into(), "invalid_request".into()),
            (npq(), "authorize".into(), "code".into()),
            (npq(), "token".into(), "tokens".into()),
            (npq(), "token".into(), "invalid_grant".into()),
            (None, "token".into(), "invalid_client".into()),
        ]
    );
}

/// A connected teacher signed in to `npq`: their ID token.
async fn id_token_of_connected_teacher(rp: &mut Rp, secret: &str) -> String {
    connected_teacher(rp).await;
    let code = code_in(&authorize_as(rp, &[]).await);
    json(&exchange(rp, secret, &code).await)["id_token"]
        .as_str()
        .unwrap()
        .to_string()
}

const SIGNED_OUT_AT_NPQ: &str = "https://npq.example/signed-out";

fn logout_query(id_token: &str, post_logout: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", post_logout)
        .append_pair("state", "bye-1")
        .finish();
    format!("/oauth2/logout?{query}")
}

async fn logout_with_the_teachers_id_token_ends_both_sessions_and_returns_to_the_service(
    backend: Backend,
) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    let id_token = id_token_of_connected_teacher(&mut rp, &secret).await;
    let out = rp.get(&logout_query(&id_token, SIGNED_OUT_AT_NPQ)).await;
    let url = out.header("location").to_string();
    assert!(
        url.starts_with(&format!("{}logout?", rp.standin.issuer())),
        "to One Login's logout: {url}"
    );
    assert!(
        rp.signed_in_user().await.is_none(),
        "our session ended first"
    );
    let back = rp.at_one_login(&url).await;
    let landing = rp.get(back.strip_prefix(BASE).unwrap()).await;
    assert_eq!(landing.status, 302);
    assert_eq!(
        landing.header("location"),
        format!("{SIGNED_OUT_AT_NPQ}?state=bye-1")
    );
    // Nobody is signed in now: a second logout goes straight back.
    let again = rp.get(&logout_query(&id_token, SIGNED_OUT_AT_NPQ)).await;
    assert_redirect(&again, &format!("{SIGNED_OUT_AT_NPQ}?state=bye-1"));
    // POST is the same request as a GET.
    let body = logout_query(&id_token, SIGNED_OUT_AT_NPQ);
    let posted = axum::http::Request::post("/oauth2/logout")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(axum::body::Body::from(
            body.trim_start_matches("/oauth2/logout?").to_string(),
        ))
        .unwrap();
    let posted = read(rp.router.clone().oneshot(posted).await.unwrap()).await;
    assert_eq!(
        (posted.status, posted.header("location")),
        (303, body.as_str())
    );
}

async fn logout_to_an_unregistered_uri_or_with_a_forged_hint_is_refused_and_changes_nothing(
    backend: Backend,
) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    let id_token = id_token_of_connected_teacher(&mut rp, &secret).await;
    let forged = {
        let key = server::provider::generate_signing_key(IdTokenAlg::Rs256, Utc::now()).unwrap();
        let key = openidconnect::core::CoreRsaPrivateSigningKey::from_pem(
            &key.private_key_pem,
            Some(openidconnect::JsonWebKeyId::new(key.kid)),
        )
        .unwrap();
        provider::sign_id_token_as(
            claims(&Nonce::new("n".into()), Utc::now()),
            &key,
            IdTokenAlg::Rs256,
        )
        .unwrap()
        .to_string()
    };
    for (what, path) in [
        (
            "unregistered URI",
            logout_query(&id_token, "https://evil.example/"),
        ),
        ("forged hint", logout_query(&forged, SIGNED_OUT_AT_NPQ)),
        ("not a JWT", logout_query("nonsense", SIGNED_OUT_AT_NPQ)),
    ] {
        let res = rp.get(&path).await;
        assert_eq!(res.status, 400, "{what}");
        assert_eq!(res.header("location"), "", "{what}: never redirected");
        assert!(
            rp.signed_in_user().await.is_some(),
            "{what}: still signed in"
        );
    }
    // Without a hint for them, a signed-in teacher is asked first.
    let unhinted = rp
        .get(&format!(
            "/oauth2/logout?client_id=npq&post_logout_redirect_uri={}",
            urlencode(SIGNED_OUT_AT_NPQ)
        ))
        .await;
    assert_redirect(&unhinted, "/sign-out/confirm");
    assert!(rp.signed_in_user().await.is_some());
}

/// The client's JWKS served over HTTP on a port of this test's own (one per backend, so both may run at once).
async fn serve_jwks(backend: Backend, jwks: serde_json::Value) -> String {
    let port = match backend {
        Backend::Sqlite => 57150,
        Backend::Postgres => 57151,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{port}/jwks.json")
}

async fn a_private_key_jwt_client_with_a_jwks_url_is_checked_against_the_keys_it_serves(
    backend: Backend,
) {
    if crate::support::postgres_url().is_none() && backend == Backend::Postgres {
        return;
    }
    let key = server::provider::generate_signing_key(IdTokenAlg::Rs256, Utc::now()).unwrap();
    let url = serve_jwks(backend, serde_json::json!({ "keys": [key.public_jwk] })).await;
    let client = Client {
        allowed_scopes: Scopes::from(Scope::ALL),
        trn: TrnPolicy::Required,
        ..npq(ClientAuth::PrivateKeyJwt(ClientKeys::JwksUri(url)))
    };
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let token_url = format!("{BASE}/oauth2/token");
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    let good = assertion(&key.private_key_pem, &key.kid, &token_url, "jti-url-1", 60);
    let ok = with_assertion(&rp, &code, &good).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let other = server::provider::generate_signing_key(IdTokenAlg::Rs256, Utc::now()).unwrap();
    let code = code_in(&authorize_as(&mut rp, &[]).await);
    let not_served = assertion(
        &other.private_key_pem,
        &key.kid,
        &token_url,
        "jti-url-2",
        60,
    );
    let refused = with_assertion(&rp, &code, &not_served).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(json(&refused)["error"], "invalid_client");
}

/// An ID token's JOSE header.
fn jose_header(token: &str) -> serde_json::Value {
    serde_json::from_slice(&base64_decode(token.split('.').next().unwrap())).unwrap()
}

async fn an_es256_clients_id_token_verifies_with_the_published_ec_key(backend: Backend) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let client = Client {
        id_token_alg: IdTokenAlg::Es256,
        ..client
    };
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let code = code_in(&authorize_as(&mut rp, &[("scope", Some(RECORD_SCOPES))]).await);
    let tokens = exchange(&rp, &secret, &code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let id_token = json(&tokens)["id_token"].as_str().unwrap().to_string();
    let header = jose_header(&id_token);
    assert_eq!(header["alg"], "ES256");
    let jwks_text = rp.get("/.well-known/jwks.json").await.body;
    let jwks: serde_json::Value = serde_json::from_str(&jwks_text).unwrap();
    let signer = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("signed with a published key");
    assert_eq!(
        (&signer["kty"], &signer["alg"]),
        (&"EC".into(), &"ES256".into())
    );

    // Through `openidconnect`'s verifier, as a relying party registered for ES256 checks it.
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new("npq".into()),
        IssuerUrl::new(BASE.into()).unwrap(),
        serde_json::from_str::<CoreJsonWebKeySet>(&jwks_text).unwrap(),
    )
    .set_allowed_algs([openidconnect::core::CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let token: IdTokenOf = id_token.parse().unwrap();
    let claims = token
        .claims(&verifier, &Nonce::new("n-1".into()))
        .expect("verifies with the published EC key");
    let persona = rp.standin.persona("exact-match").unwrap();
    assert_eq!(claims.additional_claims().trn, persona.trn_hint);
    // A verifier that accepts only RS256 refuses it: the algorithm really is ES256.
    assert!(verified_id_token(&mut rp, &id_token, "npq", "n-1")
        .await
        .is_err());
    // Tampered with, it no longer verifies.
    let mut parts: Vec<String> = id_token.split('.').map(String::from).collect();
    parts[1] = parts[1].chars().rev().collect();
    let tampered: Result<IdTokenOf, _> = parts.join(".").parse();
    if let Ok(tampered) = tampered {
        assert!(tampered
            .claims(&verifier, &Nonce::new("n-1".into()))
            .is_err());
    }

    // It is a good `id_token_hint` at logout, as an RS256 one is.
    let out = rp.get(&logout_query(&id_token, SIGNED_OUT_AT_NPQ)).await;
    assert!(
        out.header("location")
            .starts_with(&format!("{}logout?", rp.standin.issuer())),
        "to One Login's logout: {}",
        out.header("location")
    );
    assert!(rp.signed_in_user().await.is_none());
}

async fn two_redemptions_of_one_code_at_once_give_one_set_of_tokens_and_revoke_it(
    backend: Backend,
) {
    let (client, secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    for _ in 0..4 {
        let code = code_in(&authorize_as(&mut rp, &[]).await);
        let (a, b) = tokio::join!(exchange(&rp, &secret, &code), exchange(&rp, &secret, &code));
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "one wins: {} / {}", a.body, b.body);
        let (won, lost) = if a.status == 200 { (a, b) } else { (b, a) };
        assert_eq!(json(&lost)["error"], "invalid_grant");
        // The code was presented twice, so what it issued is revoked, whichever came first.
        let access_token = json(&won)["access_token"].as_str().unwrap().to_string();
        assert_eq!(userinfo(&rp, &access_token).await.status, 401);
    }
}

/// The race the group-committed token write opens, played in order: the code is used, presented again, and only
/// then is the token of the first use written. It is revoked all the same.
async fn a_token_written_after_its_code_came_back_is_revoked_all_the_same(backend: Backend) {
    use server::db::provider::{
        AuthorizationCode, CodeExchange, NewAccessToken, NewAuthorizationCode,
    };
    let (client, _secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let user_id = rp.signed_in_user().await.unwrap().user_id;
    let store = &rp.state.store;
    let now = Utc::now();
    for (n, presented_again) in [(1, true), (2, false)] {
        let code_sha256 = format!("{n:064}");
        store
            .add_authorization_code(&NewAuthorizationCode {
                code_sha256: code_sha256.clone(),
                code: AuthorizationCode {
                    client_id: "npq".into(),
                    redirect_uri: REDIRECT.into(),
                    nonce: "n".into(),
                    code_challenge: "c".into(),
                    scopes: Scopes::from(Scope::ALL),
                    user_id,
                    auth_time: now.timestamp(),
                    expires_at: now + Duration::seconds(60),
                },
                created_at: now,
            })
            .await
            .unwrap();
        if presented_again {
            let (first, second) = tokio::join!(
                store.exchange_authorization_code(&code_sha256, now),
                store.exchange_authorization_code(&code_sha256, now)
            );
            let outcomes = [first.unwrap(), second.unwrap()];
            assert_eq!(
                outcomes
                    .iter()
                    .filter(|o| matches!(o, CodeExchange::Redeemed(_)))
                    .count(),
                1,
                "single use: {outcomes:?}"
            );
            assert!(outcomes.contains(&CodeExchange::Reused));
        } else {
            let once = store.exchange_authorization_code(&code_sha256, now);
            assert!(matches!(once.await.unwrap(), CodeExchange::Redeemed(_)));
        }
        let token_sha256 = format!("{:064}", n + 100);
        let event = server::db::provider::ProviderEvent {
            client_id: Some("npq".into()),
            event: "token".into(),
            outcome: "tokens".into(),
        };
        store
            .issue_access_token(
                &NewAccessToken {
                    token_sha256: token_sha256.clone(),
                    code_sha256: code_sha256.clone(),
                    client_id: "npq".into(),
                    user_id,
                    scopes: Scopes::from(Scope::ALL),
                    created_at: now,
                    expires_at: now + Duration::hours(1),
                },
                &event,
                now,
            )
            .await
            .unwrap();
        let stored = store.access_token(&token_sha256).await.unwrap().unwrap();
        assert_eq!(stored.revoked, presented_again, "code {n}");
    }
    assert!(
        store
            .provider_events()
            .await
            .unwrap()
            .iter()
            .any(|e| e.event == "token" && e.outcome == "tokens"),
        "audited in the same write"
    );
}

/// The token endpoint's shared write: requests redeemed at the same moment (one transaction when they meet in
/// one batch) each get their own answer, a code presented twice among them is used once and what it issued is
/// revoked, a refused code stores no token, and each token issued is audited.
async fn codes_redeemed_together_each_get_their_own_answer_and_a_code_twice_is_used_once(
    backend: Backend,
) {
    use server::db::provider::{
        AuthorizationCode, CodeRefusal, NewAuthorizationCode, Redeemed, Redemption,
    };
    let (client, _secret) = secret_client(TrnPolicy::Required);
    let Some((mut rp, _sql)) = flow(backend, client).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let user_id = rp.signed_in_user().await.unwrap().user_id;
    let store = &rp.state.store;
    let now = Utc::now();
    // The current keys, as the token endpoint makes them when there are none.
    provider::ensure_signing_key(store, now).await.unwrap();
    let verifier = "v".repeat(43);
    let challenge = app::domain::provider::s256_challenge(&verifier);
    // Codes 1-5 stored, 6 never issued; code 3 for another client, code 4 expired.
    for n in 1..=5 {
        store
            .add_authorization_code(&NewAuthorizationCode {
                code_sha256: format!("{n:064}"),
                code: AuthorizationCode {
                    client_id: if n == 3 { "other" } else { "npq" }.into(),
                    redirect_uri: REDIRECT.into(),
                    nonce: "n".into(),
                    code_challenge: challenge.clone(),
                    scopes: Scopes::from(Scope::ALL),
                    user_id,
                    auth_time: now.timestamp(),
                    expires_at: now + Duration::seconds(if n == 4 { -1 } else { 60 }),
                },
                created_at: now,
            })
            .await
            .unwrap();
    }
    // (code, verifier right): code 1 twice, code 2 with a wrong verifier, then 3, 4, 5 and the unknown 6.
    let requests = [
        (1, true),
        (1, true),
        (2, false),
        (3, true),
        (4, true),
        (5, true),
        (6, true),
    ];
    let redemptions: Vec<Redemption> = requests
        .iter()
        .enumerate()
        .map(|(i, &(n, right))| Redemption {
            code_sha256: format!("{n:064}"),
            client_id: "npq".into(),
            redirect_uri: REDIRECT.into(),
            code_verifier: if right {
                verifier.clone()
            } else {
                "w".repeat(43)
            },
            now,
            token_sha256: format!("{:064}", 100 + i),
            token_expires_at: now + Duration::hours(1),
            alg: IdTokenAlg::Es256,
        })
        .collect();
    let outcomes = futures::future::join_all(
        redemptions
            .iter()
            .map(|r| store.redeem_authorization_code(r.clone())),
    )
    .await;
    let outcomes: Vec<Redeemed> = outcomes.into_iter().map(Result::unwrap).collect();
    let refused = |i: usize| match &outcomes[i] {
        Redeemed::Refused(r) => Some(*r),
        Redeemed::Issued { .. } => None,
    };
    // Code 1: one of the two wins, the other finds it used.
    let firsts = [refused(0), refused(1)];
    assert!(
        firsts.contains(&None) && firsts.contains(&Some(CodeRefusal::Reused)),
        "{outcomes:?}"
    );
    assert_eq!(refused(2), Some(CodeRefusal::Verifier));
    assert_eq!(refused(3), Some(CodeRefusal::OtherClient));
    assert_eq!(refused(4), Some(CodeRefusal::Expired));
    assert_eq!(refused(5), None, "{outcomes:?}");
    assert_eq!(refused(6), Some(CodeRefusal::Unknown));
    let Redeemed::Issued { code, claims, kid } = &outcomes[5] else {
        unreachable!()
    };
    assert_eq!((code.user_id, claims.user.id), (user_id, user_id));
    let current_es256 = store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.alg == IdTokenAlg::Es256 && k.state == KeyState::Current)
        .map(|k| k.kid);
    assert!(current_es256.is_some());
    assert_eq!(
        *kid, current_es256,
        "the current key of the client's algorithm"
    );
    // Code 1's token is revoked (its code came twice); code 5's works; refused codes stored none.
    let token = |i: usize| store.access_token(&redemptions[i].token_sha256);
    let winner = if refused(0).is_none() { 0 } else { 1 };
    assert!(token(winner).await.unwrap().unwrap().revoked);
    assert!(!token(5).await.unwrap().unwrap().revoked);
    for i in [2, 3, 4, 6, 1 - winner] {
        assert_eq!(token(i).await.unwrap(), None, "request {i}");
    }
    // Every code stored is used now: presented again, each is refused as reused.
    for n in 2..=5 {
        let again = Redemption {
            code_sha256: format!("{n:064}"),
            token_sha256: format!("{:064}", 200 + n),
            ..redemptions[5].clone()
        };
        assert_eq!(
            store.redeem_authorization_code(again).await.unwrap(),
            Redeemed::Refused(CodeRefusal::Reused),
            "code {n}"
        );
    }
    assert!(token(5).await.unwrap().unwrap().revoked, "code 5 came back");
    let issued = store
        .provider_events()
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event == "token" && e.outcome == "tokens")
        .count();
    assert_eq!(issued, 2, "one audit line for each token issued");
}
