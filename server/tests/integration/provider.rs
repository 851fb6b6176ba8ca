//! Teacher ID as an OpenID provider, the foundations (issue 12): discovery, the JWKS through a key rotation, ID
//! tokens checked by `openidconnect`'s verifier against what we publish, the client store, `server client add`,
//! and the checking half of `/oauth2/authorize`; over HTTP in-process and on both backends.

use crate::support::{read, test_config, TestResponse};
use crate::util::InProcess;
use app::domain::provider::{
    Client, ClientAuth, ClientKeys, Scope, Scopes, SignInPolicy, TrnPolicy,
};
use chrono::{Duration, Utc};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{
    Audience, ClientId, EmptyAdditionalClaims, IssuerUrl, Nonce, StandardClaims, SubjectIdentifier,
};
use server::db::provider::{ClientAdded, KeyState};
use server::db::Backend;
use server::provider::{self, RETIRING_KEY_PUBLISHED};
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
);

const BASE: &str = "http://localhost:3000";
const REDIRECT: &str = "https://npq.example/callback";

type Service = InProcess;

/// What the provider's tests read of the service.
trait ProviderService {
    async fn jwks(&self) -> serde_json::Value;
    async fn id_token_kids(&self) -> Vec<String>;
    fn rp_kid(&self) -> serde_json::Value;
}

impl ProviderService for InProcess {
    /// The published JWKS as JSON.
    async fn jwks(&self) -> serde_json::Value {
        let res = self.get("/.well-known/jwks.json").await;
        assert_eq!(res.status, 200);
        serde_json::from_str(&res.body).unwrap()
    }

    /// The `kid`s of the ID-token keys published (every key but our One Login client-assertion key, first).
    async fn id_token_kids(&self) -> Vec<String> {
        let jwks = self.jwks().await;
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(
            keys[0]["kid"],
            self.rp_kid(),
            "our One Login key stays first, where One Login and our tests look"
        );
        keys[1..]
            .iter()
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
        serde_json::json!(["RS256"])
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
    for not_yet in [
        "token_endpoint",
        "userinfo_endpoint",
        "end_session_endpoint",
    ] {
        assert!(raw.get(not_yet).is_none(), "{not_yet} is not built yet");
    }
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
    let second = provider::rotate_keys(store, Utc::now()).await.unwrap();
    let published = service.id_token_kids().await;
    assert_eq!(published.len(), 2, "{published:?}");
    assert!(published.contains(&first[0]) && published.contains(&second));
    let res = service.get("/.well-known/jwks.json").await;
    assert_eq!(res.header("cache-control"), "public, max-age=300");

    // Once ID tokens signed with the old key can no longer be valid, it drops out.
    let later = Utc::now() + RETIRING_KEY_PUBLISHED + Duration::seconds(1);
    let then: Vec<serde_json::Value> = provider::published_keys(store, later).await.unwrap();
    assert_eq!(then.len(), 1);
    assert_eq!(then[0]["kid"], second.as_str());
    // … and the next rotation after that forgets it.
    let third = provider::rotate_keys(store, later).await.unwrap();
    let kept: Vec<String> = store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(
        kept,
        vec![third, second],
        "the current key first, then the retiring one"
    );
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
    let current = provider::rotate_keys(&service.store, long_ago)
        .await
        .unwrap();
    assert_eq!(service.id_token_kids().await, vec![current]);
    let keys = service.store.signing_keys().await.unwrap();
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
    let before = provider::current_signing_key(store).await.unwrap();
    let old_token = provider::sign_id_token(claims(&nonce, Utc::now()), &before).unwrap();
    provider::rotate_keys(store, Utc::now()).await.unwrap();
    let after = provider::current_signing_key(store).await.unwrap();
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
    let unpublished = server::provider::generate_signing_key(Utc::now()).unwrap();
    let unpublished = openidconnect::core::CoreRsaPrivateSigningKey::from_pem(
        &unpublished.private_key_pem,
        Some(openidconnect::JsonWebKeyId::new(unpublished.kid)),
    )
    .unwrap();
    let forged = provider::sign_id_token(claims(&nonce, Utc::now()), &unpublished).unwrap();
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
    let a = provider::generate_signing_key(Utc::now()).unwrap();
    let b = provider::generate_signing_key(Utc::now()).unwrap();
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
    // A request that keeps every rule: signing in for a service is not built yet, and the client is told so.
    let valid = authorize(&service, &[]).await;
    assert_error_redirect(&valid, "temporarily_unavailable");
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
