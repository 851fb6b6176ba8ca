//! The stand-in from the outside, as a relying party sees it: each test spawns one on a free port and talks to it
//! over HTTP with reqwest, signing real RS256 client assertions and verifying every token it gets back with the
//! keys the stand-in publishes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use onelogin_standin::{
    spawn, CustomPerson, Misbehaviour, NextLogin, Outcome, Standin, StandinConfig,
};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey as _;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
use rsa::RsaPrivateKey;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

const CLIENT_ID: &str = "teacher-id-test";
const CALLBACK: &str = "http://127.0.0.1:3000/auth/callback";
const SIGNED_OUT: &str = "http://127.0.0.1:3000/signed-out";
const CORE_IDENTITY: &str = "https://vocab.account.gov.uk/v1/coreIdentityJWT";
const RETURN_CODE: &str = "https://vocab.account.gov.uk/v1/returnCode";
/// Parameters to replace (`Some`) or drop (`None`) in an otherwise valid authorise request.
type Changes = Vec<(&'static str, Option<&'static str>)>;

const IDENTITY_CLAIMS: &str = r#"{"userinfo":{"https://vocab.account.gov.uk/v1/coreIdentityJWT":null,"https://vocab.account.gov.uk/v1/returnCode":null}}"#;

/// The relying party's RSA key: generated once per test run, since generating is slow in debug builds.
fn client_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key"))
}

fn config() -> StandinConfig {
    StandinConfig {
        client_id: CLIENT_ID.into(),
        redirect_uris: vec![CALLBACK.into()],
        post_logout_redirect_uris: vec![SIGNED_OUT.into()],
        client_public_key_pem: client_key()
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .expect("PEM"),
        backchannel_logout_uri: None,
        seed: 1,
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("onelogin-standin-tests/1.0")
        .build()
        .expect("client")
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A compact JWS's header and claims, decoded without verifying.
fn decode(jwt: &str) -> (Map<String, Value>, Map<String, Value>) {
    let part = |i: usize| -> Map<String, Value> {
        let text = jwt.split('.').nth(i).expect("part");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).expect("base64url"))
            .expect("JSON object")
    };
    (part(0), part(1))
}

/// Whether `jwt` is ES256 and verifies with the EC JWK `jwk`.
fn verifies_with(jwt: &str, jwk: &Value) -> bool {
    let coord = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().expect("coordinate"))
            .expect("base64url")
    };
    let mut sec1 = vec![4u8];
    sec1.extend(coord("x"));
    sec1.extend(coord("y"));
    let key = VerifyingKey::from_sec1_bytes(&sec1).expect("P-256 key");
    let (input, signature) = jwt.rsplit_once('.').expect("signature");
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(&signature) else {
        return false;
    };
    decode(jwt).0["alg"] == "ES256" && key.verify(input.as_bytes(), &signature).is_ok()
}

/// A signed RS256 client assertion with the given claims.
fn sign_rs256(claims: &Value) -> String {
    let header = json!({ "alg": "RS256", "typ": "JWT" });
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signer = SigningKey::<Sha256>::new(client_key().clone());
    let signature = signer.sign_with_rng(&mut rand::rngs::OsRng, input.as_bytes());
    format!("{input}.{}", b64(signature.to_bytes()))
}

fn assertion_claims(standin: &Standin) -> Value {
    json!({
        "iss": CLIENT_ID, "sub": CLIENT_ID, "aud": format!("{}token", standin.issuer()),
        "exp": now() + 300, "iat": now(), "jti": uuid::Uuid::new_v4().to_string()
    })
}

fn assertion(standin: &Standin) -> String {
    sign_rs256(&assertion_claims(standin))
}

/// Query parameters of a redirect's `Location`.
fn location_params(response: &reqwest::Response) -> (String, HashMap<String, String>) {
    let location = response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("ASCII")
        .to_string();
    let url = reqwest::Url::parse(&location).expect("absolute URL");
    let params = url.query_pairs().into_owned().collect();
    let base = format!("{}{}", url.origin().ascii_serialization(), url.path());
    (base, params)
}

fn authorize_params(vtr: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("scope", "openid email phone".into()),
        ("client_id", CLIENT_ID.into()),
        ("redirect_uri", CALLBACK.into()),
        ("state", "st-123".into()),
        ("nonce", "n-456".into()),
        ("vtr", vtr.into()),
    ]
}

async fn get_authorize(standin: &Standin, params: &[(&str, String)]) -> reqwest::Response {
    http()
        .get(format!("{}authorize", standin.issuer()))
        .query(params)
        .send()
        .await
        .expect("authorize")
}

/// Queues `next`, runs `/authorize` with `params` and returns the callback's parameters.
async fn sign_in(
    standin: &Standin,
    next: NextLogin,
    params: &[(&str, String)],
) -> HashMap<String, String> {
    standin.set_next_login(next);
    let response = get_authorize(standin, params).await;
    assert_eq!(response.status(), 302);
    let (base, params) = location_params(&response);
    assert_eq!(base, CALLBACK);
    params
}

/// An identity sign-in as `next`, returning the code.
async fn identity_code(standin: &Standin, next: NextLogin) -> String {
    let mut params = authorize_params(r#"["Cl.Cm.P2"]"#);
    params.push(("claims", IDENTITY_CLAIMS.into()));
    let callback = sign_in(standin, next, &params).await;
    assert_eq!(callback["state"], "st-123");
    callback
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code: {callback:?}"))
}

async fn post_token(standin: &Standin, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(format!("{}token", standin.issuer()))
        .form(form)
        .send()
        .await
        .expect("token")
}

async fn exchange(standin: &Standin, code: &str, client_assertion: &str) -> reqwest::Response {
    post_token(
        standin,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", client_assertion),
        ],
    )
    .await
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

/// The token response of a sign-in as `next` that must succeed.
async fn tokens(standin: &Standin, next: NextLogin) -> Value {
    let code = identity_code(standin, next).await;
    let response = exchange(standin, &code, &assertion(standin)).await;
    assert_eq!(response.status(), 200);
    json_of(response).await
}

async fn get_json(url: String) -> (reqwest::header::HeaderMap, Value) {
    let response = http().get(url).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, json_of(response).await)
}

async fn jwks(standin: &Standin) -> Vec<Value> {
    let (_, body) = get_json(format!("{}.well-known/jwks.json", standin.issuer())).await;
    body["keys"].as_array().expect("keys").clone()
}

async fn did_key(standin: &Standin) -> (String, Value) {
    let (_, did) = get_json(standin.did_url()).await;
    let method = &did["assertionMethod"][0];
    (
        method["id"].as_str().expect("id").to_string(),
        method["publicKeyJwk"].clone(),
    )
}

async fn userinfo(standin: &Standin, access_token: &str) -> reqwest::Response {
    http()
        .get(format!("{}userinfo", standin.issuer()))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo")
}

#[tokio::test]
async fn discovery_is_shaped_like_one_logins() {
    let standin = spawn(config()).await;
    let issuer = standin.issuer();
    assert!(issuer.starts_with("http://127.0.0.1:") && issuer.ends_with('/'));
    let (headers, d) = get_json(format!("{issuer}.well-known/openid-configuration")).await;
    assert_eq!(headers["cache-control"], "max-age=86400");
    assert_eq!(d["issuer"], issuer);
    for (key, path) in [
        ("authorization_endpoint", "authorize"),
        ("token_endpoint", "token"),
        ("userinfo_endpoint", "userinfo"),
        ("end_session_endpoint", "logout"),
        ("jwks_uri", ".well-known/jwks.json"),
        ("trustmarks", "trustmark"),
    ] {
        assert_eq!(d[key], format!("{issuer}{path}"), "{key}");
    }
    assert_eq!(d["scopes_supported"], json!(["openid", "email", "phone"]));
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["grant_types_supported"], json!(["authorization_code"]));
    assert_eq!(
        d["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
    );
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
    assert_eq!(d["request_parameter_supported"], true);
    assert_eq!(d["request_uri_parameter_supported"], false);
    assert_eq!(d["backchannel_logout_supported"], true);
    assert!(d["claims_supported"]
        .as_array()
        .expect("list")
        .contains(&json!(CORE_IDENTITY)));

    let (_, trustmark) = get_json(format!("{issuer}trustmark")).await;
    assert_eq!(
        trustmark,
        json!({"idp": issuer, "trustmark_provider": issuer, "C": ["Cl", "Cl.Cm"], "P": ["P0", "P1", "P2", "P3"]})
    );
}

#[tokio::test]
async fn jwks_and_did_document_publish_p256_keys_with_their_cache_lifetimes() {
    let standin = spawn(config()).await;
    let (headers, body) = get_json(format!("{}.well-known/jwks.json", standin.issuer())).await;
    assert_eq!(headers["cache-control"], "max-age=86400");
    let keys = body["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    for (name, value) in [
        ("kty", "EC"),
        ("crv", "P-256"),
        ("alg", "ES256"),
        ("use", "sig"),
    ] {
        assert_eq!(key[name], value, "{name}");
    }
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert!(key.get("d").is_none(), "never the private part");

    let (headers, did) = get_json(standin.did_url()).await;
    assert_eq!(headers["cache-control"], "max-age=3600, private");
    let port = standin.addr().port();
    let id = format!("did:web:127.0.0.1%3A{port}");
    assert_eq!(standin.did(), id);
    assert_eq!(did["id"], id);
    assert_eq!(
        did["@context"],
        json!([
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/jwk/v1"
        ])
    );
    let methods = did["assertionMethod"].as_array().expect("assertionMethod");
    assert_eq!(methods.len(), 1);
    let method = &methods[0];
    assert_eq!(method["type"], "JsonWebKey");
    assert_eq!(method["controller"], id);
    let kid = method["id"].as_str().expect("id");
    let (controller, key_id) = kid.split_once('#').expect("did#key");
    assert_eq!(controller, id);
    assert!(uuid::Uuid::parse_str(key_id).is_ok());
    let jwk = &method["publicKeyJwk"];
    for (name, value) in [("kty", "EC"), ("crv", "P-256"), ("alg", "ES256")] {
        assert_eq!(jwk[name], value, "{name}");
    }
    assert_ne!(jwk["x"], key["x"], "identity and ID-token keys differ");
}

#[tokio::test]
async fn authorize_refuses_bad_requests_as_one_login_does() {
    let standin = spawn(config()).await;
    let with = |changes: &[(&'static str, Option<&str>)]| {
        let mut params = authorize_params(r#"["Cl.Cm"]"#);
        for (name, value) in changes {
            params.retain(|(n, _)| n != name);
            if let Some(value) = value {
                params.push((name, value.to_string()));
            }
        }
        params
    };

    for changes in [
        vec![("client_id", Some("someone-else"))],
        vec![("client_id", None)],
        vec![("redirect_uri", Some("http://127.0.0.1:3000/elsewhere"))],
        vec![("redirect_uri", None)],
    ] {
        let response = get_authorize(&standin, &with(&changes)).await;
        assert_eq!(response.status(), 400, "{changes:?}");
        assert!(response.headers().get("location").is_none());
        assert_eq!(response.text().await.expect("text"), "Invalid Request");
    }

    let cases: Vec<(Changes, &str, &str)> = vec![
        (
            vec![("vtr", Some(r#"["Cl.P2"]"#))],
            "invalid_request",
            "Request vtr not valid",
        ),
        (
            vec![("vtr", Some(r#"["Cl.Cm.P1"]"#))],
            "invalid_request",
            "Request vtr not valid",
        ),
        (
            vec![("vtr", Some(r#"["Cl.Cm.P2","Cl.Cm"]"#))],
            "invalid_request",
            "Request vtr not valid",
        ),
        (
            vec![("vtr", Some("Cl.Cm"))],
            "invalid_request",
            "Request vtr not valid",
        ),
        (
            vec![("nonce", None)],
            "invalid_request",
            "Request is missing nonce parameter",
        ),
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
            "Unsupported response type",
        ),
        (
            vec![("scope", Some("email phone"))],
            "invalid_request",
            "Request is missing openid scope",
        ),
        (
            vec![("scope", Some("openid profile"))],
            "invalid_scope",
            "Invalid, unknown or malformed scope",
        ),
        (
            vec![(
                "claims",
                Some(
                    r#"{"userinfo":{"https://vocab.account.gov.uk/v1/socialSecurityRecord":null}}"#,
                ),
            )],
            "invalid_request",
            "Request contains invalid claims",
        ),
        (
            vec![("claims", Some("not JSON"))],
            "invalid_request",
            "Request contains invalid claims",
        ),
        (
            vec![("prompt", Some("select_account"))],
            "unmet_authentication_requirements",
            "Unmet authentication requirements",
        ),
        (
            vec![("ui_locales", Some("fr"))],
            "invalid_request",
            "Request ui_locales not valid",
        ),
        (
            vec![
                (
                    "code_challenge",
                    Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                ),
                ("code_challenge_method", Some("plain")),
            ],
            "invalid_request",
            "Invalid value for code_challenge_method parameter.",
        ),
        (
            vec![(
                "code_challenge",
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            )],
            "invalid_request",
            "Invalid value for code_challenge_method parameter.",
        ),
    ];
    for (changes, error, description) in cases {
        let response = get_authorize(&standin, &with(&changes)).await;
        assert_eq!(response.status(), 302, "{changes:?}");
        let (base, params) = location_params(&response);
        assert_eq!(base, CALLBACK);
        assert_eq!(params["error"], error, "{changes:?}");
        assert_eq!(params["error_description"], description, "{changes:?}");
        assert_eq!(params["state"], "st-123", "{changes:?}");
    }

    // Without state there is none to send back; the sim's exact encoding (%20) is kept.
    let response = get_authorize(&standin, &with(&[("state", None)])).await;
    let location = response.headers()["location"]
        .to_str()
        .expect("ASCII")
        .to_string();
    assert_eq!(
        location,
        format!("{CALLBACK}?error=invalid_request&error_description=Request%20is%20missing%20state%20parameter")
    );

    // Accepted variants: no vtr, Welsh, prompt=login, PKCE with S256.
    standin.set_next_login(NextLogin::new("exact-match", Outcome::Authenticated));
    let response = get_authorize(
        &standin,
        &with(&[
            ("vtr", None),
            ("ui_locales", Some("cy en")),
            ("prompt", Some("login")),
            (
                "code_challenge",
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ),
            ("code_challenge_method", Some("S256")),
        ]),
    )
    .await;
    assert!(location_params(&response).1.contains_key("code"));
}

#[tokio::test]
async fn a_full_identity_flow_gives_tokens_verifiable_with_the_published_keys() {
    let standin = spawn(config()).await;
    let persona = standin.persona("exact-match").expect("persona");
    let body = tokens(
        &standin,
        NextLogin::new("exact-match", Outcome::IdentityVerified),
    )
    .await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 180);
    assert!(body.get("refresh_token").is_none());
    let access_token = body["access_token"].as_str().expect("access token");
    let id_token = body["id_token"].as_str().expect("ID token");

    let (header, claims) = decode(id_token);
    let keys = jwks(&standin).await;
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], keys[0]["kid"]);
    assert!(verifies_with(id_token, &keys[0]));
    assert_eq!(claims["iss"], standin.issuer());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["sub"], persona.sub);
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["vot"], "Cl.Cm");
    assert_eq!(claims["vtm"], format!("{}trustmark", standin.issuer()));
    let iat = claims["iat"].as_i64().expect("iat");
    assert!((iat - now()).abs() < 5);
    assert_eq!(claims["exp"].as_i64(), Some(iat + 120));
    assert!(claims["auth_time"].as_i64().is_some_and(|t| t <= iat));
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        claims["at_hash"],
        b64(&Sha256::digest(access_token.as_bytes())[..16])
    );

    let response = userinfo(&standin, access_token).await;
    assert_eq!(response.status(), 200);
    let info = json_of(response).await;
    assert_eq!(info["sub"], persona.sub);
    assert_eq!(info["email"], persona.email);
    assert_eq!(info["email_verified"], true);
    assert!(info["phone_number"]
        .as_str()
        .is_some_and(|p| p.starts_with("+44")));
    assert_eq!(info["phone_number_verified"], true);
    assert_eq!(info[RETURN_CODE], json!([]));

    let jwt = info[CORE_IDENTITY].as_str().expect("coreIdentityJWT");
    let (kid, did_jwk) = did_key(&standin).await;
    let (header, vc) = decode(jwt);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], kid);
    assert!(verifies_with(jwt, &did_jwk));
    assert_eq!(vc["iss"], standin.issuer());
    assert_eq!(vc["sub"], persona.sub);
    assert_eq!(vc["aud"], CLIENT_ID);
    assert_eq!(vc["vot"], "P2");
    let iat = vc["iat"].as_i64().expect("iat");
    assert_eq!(vc["nbf"].as_i64(), Some(iat));
    assert_eq!(vc["exp"].as_i64(), Some(iat + 1800));
    assert_eq!(
        vc["vc"]["type"],
        json!(["VerifiableCredential", "IdentityCheckCredential"])
    );
    let subject = &vc["vc"]["credentialSubject"];
    assert_eq!(
        subject["birthDate"],
        json!([{ "value": persona.date_of_birth.to_string() }])
    );
    let names = subject["name"].as_array().expect("names");
    assert_eq!(names.len(), 1);
    assert!(names[0].get("validUntil").is_none());
    let parts = names[0]["nameParts"].as_array().expect("parts");
    assert_eq!(
        parts[0],
        json!({ "value": persona.first_name, "type": "GivenName" })
    );
    assert_eq!(
        parts.last(),
        Some(&json!({ "value": persona.last_name, "type": "FamilyName" }))
    );
}

#[tokio::test]
async fn the_token_endpoint_authenticates_the_client_for_real() {
    let standin = spawn(config()).await;
    let next = || NextLogin::new("exact-match", Outcome::Authenticated);
    let error_of = |body: &Value| {
        (
            body["error"].as_str().unwrap_or("").to_string(),
            body["error_description"].as_str().unwrap_or("").to_string(),
        )
    };
    let refused =
        |code: &'static str, description: &'static str| (code.to_string(), description.to_string());

    // A code works once.
    let code = identity_code(&standin, next()).await;
    assert_eq!(
        exchange(&standin, &code, &assertion(&standin))
            .await
            .status(),
        200
    );
    let again = exchange(&standin, &code, &assertion(&standin)).await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        error_of(&json_of(again).await),
        refused("invalid_grant", "Invalid grant")
    );

    // A client assertion works once.
    let reused = assertion(&standin);
    let code = identity_code(&standin, next()).await;
    assert_eq!(exchange(&standin, &code, &reused).await.status(), 200);
    let code = identity_code(&standin, next()).await;
    let response = exchange(&standin, &code, &reused).await;
    assert_eq!(error_of(&json_of(response).await).0, "invalid_grant");

    let mut expired = assertion_claims(&standin);
    expired["exp"] = json!(now() - 10);
    let mut wrong_aud = assertion_claims(&standin);
    wrong_aud["aud"] = json!("https://oidc.integration.account.gov.uk/token");
    let mut two_auds = assertion_claims(&standin);
    two_auds["aud"] = json!([format!("{}token", standin.issuer())]);
    let mut wrong_iss = assertion_claims(&standin);
    wrong_iss["iss"] = json!("someone-else");
    let es256 = {
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let input = format!(
            "{}.{}",
            b64(json!({"alg": "ES256"}).to_string()),
            b64(assertion_claims(&standin).to_string())
        );
        let sig: Signature = p256::ecdsa::signature::Signer::sign(&key, input.as_bytes());
        format!("{input}.{}", b64(sig.to_bytes()))
    };
    let other_key = {
        let claims = assertion_claims(&standin);
        let good = sign_rs256(&claims);
        let (input, _) = good.rsplit_once('.').expect("sig");
        format!("{input}.{}", b64([7u8; 256]))
    };
    for (client_assertion, expected) in [
        (
            sign_rs256(&expired),
            refused("invalid_grant", "private_key_jwt has expired"),
        ),
        (
            sign_rs256(&wrong_aud),
            refused("invalid_client", "Invalid signature in private_key_jwt"),
        ),
        (
            sign_rs256(&two_auds),
            refused("invalid_client", "Invalid signature in private_key_jwt"),
        ),
        (
            other_key,
            refused("invalid_client", "Invalid signature in private_key_jwt"),
        ),
        (
            sign_rs256(&wrong_iss),
            refused("invalid_client", "Invalid private_key_jwt"),
        ),
        (es256, refused("invalid_request", "Invalid private_key_jwt")),
        (
            "not-a-jwt".to_string(),
            refused("invalid_request", "Invalid private_key_jwt"),
        ),
    ] {
        let code = identity_code(&standin, next()).await;
        let response = exchange(&standin, &code, &client_assertion).await;
        assert_eq!(response.status(), 400);
        assert_eq!(error_of(&json_of(response).await), expected);
    }

    // The issuer is an accepted audience too.
    let mut issuer_aud = assertion_claims(&standin);
    issuer_aud["aud"] = json!(standin.issuer());
    let code = identity_code(&standin, next()).await;
    assert_eq!(
        exchange(&standin, &code, &sign_rs256(&issuer_aud))
            .await
            .status(),
        200
    );

    // The code is bound to its redirect URI.
    let code = identity_code(&standin, next()).await;
    let client_assertion = assertion(&standin);
    let response = post_token(
        &standin,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:3000/elsewhere"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &client_assertion),
        ],
    )
    .await;
    assert_eq!(
        error_of(&json_of(response).await),
        refused("invalid_grant", "Invalid grant")
    );

    // Missing fields and the wrong grant type.
    let client_assertion = assertion(&standin);
    let response = post_token(
        &standin,
        &[
            ("grant_type", "authorization_code"),
            ("client_assertion", &client_assertion),
        ],
    )
    .await;
    assert_eq!(error_of(&json_of(response).await).0, "invalid_request");
    let response = post_token(
        &standin,
        &[
            ("grant_type", "client_credentials"),
            ("code", "x"),
            ("redirect_uri", CALLBACK),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &client_assertion),
        ],
    )
    .await;
    assert_eq!(
        error_of(&json_of(response).await).0,
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn pkce_verifiers_are_checked_when_a_challenge_was_sent() {
    let standin = spawn(config()).await;
    let verifier = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    let challenge = b64(Sha256::digest(verifier.as_bytes()));
    for (sent, status) in [
        (Some(verifier), 200),
        (Some("another-verifier-0123456789-abcdefghijklmnop"), 400),
        (None, 400),
    ] {
        let mut params = authorize_params(r#"["Cl.Cm"]"#);
        params.push(("code_challenge", challenge.clone()));
        params.push(("code_challenge_method", "S256".into()));
        let callback = sign_in(
            &standin,
            NextLogin::new("exact-match", Outcome::Authenticated),
            &params,
        )
        .await;
        let client_assertion = assertion(&standin);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", callback["code"].as_str()),
            ("redirect_uri", CALLBACK),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &client_assertion),
        ];
        if let Some(sent) = sent {
            form.push(("code_verifier", sent));
        }
        assert_eq!(
            post_token(&standin, &form).await.status(),
            status,
            "{sent:?}"
        );
    }
}

#[tokio::test]
async fn userinfo_refuses_missing_and_bad_tokens_with_one_logins_challenges() {
    let standin = spawn(config()).await;
    let response = http()
        .get(format!("{}userinfo", standin.issuer()))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let response = userinfo(&standin, "not-a-token").await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer error="invalid_token", error_description="Invalid access token""#
    );
}

#[tokio::test]
async fn outcomes_end_the_sign_in_as_one_login_would() {
    let standin = spawn(config()).await;
    let mut identity = authorize_params(r#"["Cl.Cm.P2"]"#);
    identity.push(("claims", IDENTITY_CLAIMS.into()));
    for (outcome, error, description) in [
        (Outcome::AccessDenied, "access_denied", None),
        (
            Outcome::TemporarilyUnavailable,
            "temporarily_unavailable",
            None,
        ),
        (Outcome::LoginRequired, "login_required", None),
        (
            Outcome::ClientDeactivated,
            "unauthorized_client",
            Some("client deactivated"),
        ),
    ] {
        let callback = sign_in(&standin, NextLogin::new("exact-match", outcome), &identity).await;
        assert_eq!(callback["error"], error);
        assert_eq!(callback["state"], "st-123");
        assert!(!callback.contains_key("code"));
        if let Some(description) = description {
            assert_eq!(callback["error_description"], description);
        }
    }

    // Not verified, with returnCode asked for: a code, and userinfo says why.
    let body = tokens(
        &standin,
        NextLogin::new("cannot-verify", Outcome::IdentityNotVerified),
    )
    .await;
    let info =
        json_of(userinfo(&standin, body["access_token"].as_str().expect("token")).await).await;
    assert_eq!(info[RETURN_CODE], json!([{ "code": "C" }]));
    assert!(info.get(CORE_IDENTITY).is_none());

    // Not verified, without returnCode: access_denied.
    let mut without = authorize_params(r#"["Cl.Cm.P2"]"#);
    without.push((
        "claims",
        r#"{"userinfo":{"https://vocab.account.gov.uk/v1/coreIdentityJWT":null}}"#.into(),
    ));
    let callback = sign_in(
        &standin,
        NextLogin::new("cannot-verify", Outcome::IdentityNotVerified),
        &without,
    )
    .await;
    assert_eq!(callback["error"], "access_denied");

    // Authentication only: identity outcomes sign in without identity, whatever claims were sent.
    let mut auth_only = authorize_params(r#"["Cl.Cm"]"#);
    auth_only.push(("claims", IDENTITY_CLAIMS.into()));
    for outcome in [
        Outcome::IdentityVerified,
        Outcome::IdentityNotVerified,
        Outcome::Authenticated,
    ] {
        let callback = sign_in(&standin, NextLogin::new("exact-match", outcome), &auth_only).await;
        let response = exchange(&standin, &callback["code"], &assertion(&standin)).await;
        let token = json_of(response).await["access_token"]
            .as_str()
            .expect("token")
            .to_string();
        let info = json_of(userinfo(&standin, &token).await).await;
        let mut keys: Vec<&str> = info
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "email",
                "email_verified",
                "phone_number",
                "phone_number_verified",
                "sub"
            ],
            "{outcome:?}"
        );
    }
}

#[tokio::test]
async fn custom_people_carry_their_previous_name_into_the_identity() {
    let standin = spawn(config()).await;
    let mut next = NextLogin::new("custom", Outcome::IdentityVerified);
    next.custom = Some(CustomPerson {
        first_name: "Carol Ann".into(),
        last_name: "Smith".into(),
        previous_first_name: None,
        previous_last_name: Some("Jones".into()),
        previous_name_valid_until: chrono::NaiveDate::from_ymd_opt(2019, 8, 31),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1988, 12, 25).expect("date"),
        email: "carol@example.com".into(),
    });
    let body = tokens(&standin, next).await;
    let info =
        json_of(userinfo(&standin, body["access_token"].as_str().expect("token")).await).await;
    assert_eq!(info["email"], "carol@example.com");
    let (_, vc) = decode(info[CORE_IDENTITY].as_str().expect("jwt"));
    let subject = &vc["vc"]["credentialSubject"];
    assert_eq!(subject["birthDate"], json!([{ "value": "1988-12-25" }]));
    assert_eq!(
        subject["name"],
        json!([
            { "nameParts": [
                { "value": "Carol", "type": "GivenName" }, { "value": "Ann", "type": "GivenName" },
                { "value": "Smith", "type": "FamilyName" }], "validFrom": "2019-09-01" },
            { "nameParts": [
                { "value": "Carol", "type": "GivenName" }, { "value": "Ann", "type": "GivenName" },
                { "value": "Jones", "type": "FamilyName" }], "validUntil": "2019-08-31" }
        ])
    );
}

#[tokio::test]
async fn id_token_misbehaviours_each_break_what_they_say() {
    let standin = spawn(config()).await;
    let published = jwks(&standin).await;
    let key = &published[0];
    let id_token_for = |m: Misbehaviour| {
        let standin = &standin;
        async move {
            let body = tokens(
                standin,
                NextLogin::new("exact-match", Outcome::Authenticated).misbehaving([m]),
            )
            .await;
            body["id_token"].as_str().expect("ID token").to_string()
        }
    };

    let normal = id_token_for(Misbehaviour::WrongIss).await;
    let (_, claims) = decode(&normal);
    assert!(verifies_with(&normal, key));
    assert_ne!(claims["iss"], standin.issuer());

    let token = id_token_for(Misbehaviour::WrongAud).await;
    assert_ne!(decode(&token).1["aud"], CLIENT_ID);

    let token = id_token_for(Misbehaviour::BadSignature).await;
    assert_eq!(decode(&token).0["kid"], key["kid"]);
    assert!(!verifies_with(&token, key));

    let token = id_token_for(Misbehaviour::Expired).await;
    assert!(decode(&token).1["exp"].as_i64().expect("exp") < now());
    assert!(verifies_with(&token, key));

    let token = id_token_for(Misbehaviour::NotYetValid).await;
    assert!(decode(&token).1["iat"].as_i64().expect("iat") > now() + 60);

    let token = id_token_for(Misbehaviour::WrongNonce).await;
    assert_ne!(decode(&token).1["nonce"], "n-456");

    let token = id_token_for(Misbehaviour::LowerVot).await;
    assert_eq!(decode(&token).1["vot"], "Cl");

    let token = id_token_for(Misbehaviour::AlgNone).await;
    let (header, _) = decode(&token);
    assert_eq!(header["alg"], "HS256");
    assert!(published.iter().all(|k| k["kid"] != header["kid"]));

    let token = id_token_for(Misbehaviour::UnknownKid).await;
    let (header, _) = decode(&token);
    assert_eq!(header["alg"], "ES256");
    assert!(jwks(&standin)
        .await
        .iter()
        .all(|k| k["kid"] != header["kid"]));

    // Rotation: signed with a key the relying party has not seen, which the JWKS publishes from now on.
    let token = id_token_for(Misbehaviour::RotateKeys).await;
    let kid = decode(&token).0["kid"].clone();
    assert!(published.iter().all(|k| k["kid"] != kid));
    let now_published = jwks(&standin).await;
    assert_eq!(now_published.len(), 2);
    let new_key = now_published
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("new key published");
    assert!(verifies_with(&token, new_key));
    // Later sign-ins keep the new key.
    let body = tokens(
        &standin,
        NextLogin::new("exact-match", Outcome::Authenticated),
    )
    .await;
    assert_eq!(
        decode(body["id_token"].as_str().expect("token")).0["kid"],
        kid
    );

    // Userinfo about someone else.
    let body = tokens(
        &standin,
        NextLogin::new("exact-match", Outcome::Authenticated)
            .misbehaving([Misbehaviour::UserinfoSubMismatch]),
    )
    .await;
    let sub = decode(body["id_token"].as_str().expect("token")).1["sub"].clone();
    let info =
        json_of(userinfo(&standin, body["access_token"].as_str().expect("token")).await).await;
    assert_ne!(info["sub"], sub);
}

#[tokio::test]
async fn core_identity_misbehaviours_each_break_what_they_say() {
    let standin = spawn(config()).await;
    let (kid, did_jwk) = did_key(&standin).await;
    let persona = standin.persona("exact-match").expect("persona");
    let core_identity_for = |m: Misbehaviour| {
        let standin = &standin;
        async move {
            let body = tokens(
                standin,
                NextLogin::new("exact-match", Outcome::IdentityVerified).misbehaving([m]),
            )
            .await;
            let info =
                json_of(userinfo(standin, body["access_token"].as_str().expect("token")).await)
                    .await;
            info[CORE_IDENTITY]
                .as_str()
                .expect("coreIdentityJWT")
                .to_string()
        }
    };

    let jwt = core_identity_for(Misbehaviour::CoreIdentityWrongSub).await;
    assert!(verifies_with(&jwt, &did_jwk));
    assert_ne!(decode(&jwt).1["sub"], persona.sub);

    let jwt = core_identity_for(Misbehaviour::CoreIdentityBadSignature).await;
    assert_eq!(decode(&jwt).0["kid"], kid);
    assert!(!verifies_with(&jwt, &did_jwk));

    let jwt = core_identity_for(Misbehaviour::CoreIdentityWrongIss).await;
    assert_ne!(decode(&jwt).1["iss"], standin.issuer());

    let jwt = core_identity_for(Misbehaviour::CoreIdentityWrongAud).await;
    assert_ne!(decode(&jwt).1["aud"], CLIENT_ID);

    let jwt = core_identity_for(Misbehaviour::CoreIdentityExpired).await;
    assert!(decode(&jwt).1["exp"].as_i64().expect("exp") < now());
    assert!(verifies_with(&jwt, &did_jwk));

    let jwt = core_identity_for(Misbehaviour::CoreIdentityVotP1).await;
    assert_eq!(decode(&jwt).1["vot"], "P1");

    let jwt = core_identity_for(Misbehaviour::CoreIdentityAlgHs256).await;
    assert_eq!(decode(&jwt).0["alg"], "HS256");

    let jwt = core_identity_for(Misbehaviour::CoreIdentityUnknownKid).await;
    let header_kid = decode(&jwt).0["kid"].as_str().expect("kid").to_string();
    assert!(header_kid.starts_with(&format!("{}#", standin.did())));
    assert_ne!(header_kid, kid);
    assert!(!verifies_with(&jwt, &did_jwk));
}

#[tokio::test]
async fn the_token_endpoint_can_fail_or_stall_for_one_sign_in() {
    let standin = spawn(config()).await;
    let code = identity_code(
        &standin,
        NextLogin::new("exact-match", Outcome::Authenticated)
            .misbehaving([Misbehaviour::TokenServerError]),
    )
    .await;
    let response = exchange(&standin, &code, &assertion(&standin)).await;
    assert_eq!(response.status(), 500);
    assert_eq!(json_of(response).await["error"], "server_error");

    let code = identity_code(
        &standin,
        NextLogin::new("exact-match", Outcome::Authenticated)
            .misbehaving([Misbehaviour::SlowToken]),
    )
    .await;
    let client_assertion = assertion(&standin);
    let started = std::time::Instant::now();
    let result = http()
        .post(format!("{}token", standin.issuer()))
        .timeout(std::time::Duration::from_secs(1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &client_assertion),
        ])
        .send()
        .await;
    assert!(result.is_err_and(|e| e.is_timeout()));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // The next sign-in is back to normal.
    let code = identity_code(
        &standin,
        NextLogin::new("exact-match", Outcome::Authenticated),
    )
    .await;
    assert_eq!(
        exchange(&standin, &code, &assertion(&standin))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn logout_follows_one_logins_redirect_rules() {
    let standin = spawn(config()).await;
    let body = tokens(
        &standin,
        NextLogin::new("exact-match", Outcome::Authenticated).misbehaving([Misbehaviour::Expired]),
    )
    .await;
    let expired_hint = body["id_token"].as_str().expect("token").to_string();
    let forged_hint = tokens(
        &standin,
        NextLogin::new("exact-match", Outcome::Authenticated)
            .misbehaving([Misbehaviour::UnknownKid]),
    )
    .await["id_token"]
        .as_str()
        .expect("token")
        .to_string();
    let logout = |params: Vec<(&'static str, String)>| {
        let standin = &standin;
        async move {
            let response = http()
                .get(format!("{}logout", standin.issuer()))
                .query(&params)
                .send()
                .await
                .expect("logout");
            assert_eq!(response.status(), 302);
            location_params(&response)
        }
    };
    let hint = || ("id_token_hint", expired_hint.clone());
    let state = || ("state", "logout-1".to_string());

    let (base, params) = logout(vec![
        hint(),
        ("post_logout_redirect_uri", SIGNED_OUT.into()),
        state(),
    ])
    .await;
    assert_eq!(base, SIGNED_OUT);
    assert_eq!(
        params,
        HashMap::from([("state".to_string(), "logout-1".to_string())])
    );

    let (base, params) = logout(vec![
        hint(),
        (
            "post_logout_redirect_uri",
            "http://127.0.0.1:3000/elsewhere".into(),
        ),
        state(),
    ])
    .await;
    assert_eq!(base, "https://gov.uk/");
    assert_eq!(params["error_code"], "invalid_request");
    assert_eq!(
        params["error_description"],
        "client registry does not contain post_logout_redirect_uri"
    );
    assert_eq!(params["state"], "logout-1");

    let (base, params) = logout(vec![
        ("post_logout_redirect_uri", SIGNED_OUT.into()),
        state(),
    ])
    .await;
    assert_eq!(base, "https://gov.uk/");
    assert_eq!(
        params,
        HashMap::from([("state".to_string(), "logout-1".to_string())])
    );

    let (base, params) = logout(vec![
        ("id_token_hint", forged_hint),
        ("post_logout_redirect_uri", SIGNED_OUT.into()),
    ])
    .await;
    assert_eq!(base, "https://gov.uk/");
    assert_eq!(params["error_code"], "invalid_request");

    let (base, params) = logout(vec![hint()]).await;
    assert_eq!(base, "https://gov.uk/");
    assert!(params.is_empty());
}

#[tokio::test]
async fn logout_tokens_are_signed_like_id_tokens_and_delivered_on_request() {
    // A relying party that records what it receives.
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = received.clone();
    let rp = axum::Router::new().route(
        "/backchannel-logout",
        axum::routing::post(
            move |axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>| {
                let record = record.clone();
                async move {
                    record
                        .lock()
                        .expect("lock")
                        .push(form.get("logout_token").cloned().unwrap_or_default());
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let rp_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, rp).await });

    let standin = spawn(StandinConfig {
        backchannel_logout_uri: Some(format!("http://{rp_addr}/backchannel-logout")),
        ..config()
    })
    .await;
    let sub = standin.persona("exact-match").expect("persona").sub;

    let token = standin.logout_token(&sub);
    let (header, claims) = decode(&token);
    let keys = jwks(&standin).await;
    assert_eq!(header["kid"], keys[0]["kid"]);
    assert!(verifies_with(&token, &keys[0]));
    assert_eq!(claims["iss"], standin.issuer());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["sub"], sub);
    assert_eq!(
        claims["events"],
        json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
    );
    let iat = claims["iat"].as_i64().expect("iat");
    assert_eq!(claims["exp"].as_i64(), Some(iat + 120));
    assert_ne!(standin.logout_token(&sub), token, "a fresh jti every time");

    let response = http()
        .post(format!("{}admin/backchannel-logout", standin.issuer()))
        .json(&json!({ "sub": sub }))
        .send()
        .await
        .expect("admin");
    assert_eq!(response.status(), 200);
    let delivered = received.lock().expect("lock").clone();
    assert_eq!(delivered.len(), 1);
    assert!(verifies_with(&delivered[0], &keys[0]));
    assert_eq!(decode(&delivered[0]).1["sub"], sub);
}

#[tokio::test]
async fn the_picker_shows_personas_and_validates_what_is_chosen() {
    let standin = spawn(config()).await;
    let response = get_authorize(&standin, &authorize_params(r#"["Cl.Cm.P2"]"#)).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("HTML");
    for needle in [
        "<title>Choose who signs in",
        "govuk-radios",
        "govuk-fieldset",
        "govuk-button",
        "name=\"request_id\"",
        "exact-match",
        "possible-duplicate",
        "value=\"custom\"",
    ] {
        assert!(page.contains(needle), "{needle}");
    }
    let request_id = page
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("request id")
        .to_string();
    let submit = |form: Vec<(&'static str, &'static str)>| {
        let standin = &standin;
        let request_id = request_id.clone();
        async move {
            let mut form: Vec<(&str, String)> =
                form.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            form.push(("request_id", request_id));
            http()
                .post(format!("{}authorize/submit", standin.issuer()))
                .form(&form)
                .send()
                .await
                .expect("submit")
        }
    };

    let response = submit(vec![]).await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.expect("HTML");
    assert!(page.contains("<title>Error: Choose who signs in"));
    assert!(
        page.contains("govuk-error-summary")
            && page.contains("href=\"#persona\">Select who signs in")
    );

    let response = submit(vec![
        ("persona", "custom"),
        ("first_name", "Ann"),
        ("email", "nope"),
    ])
    .await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.expect("HTML");
    assert!(page.contains("Enter their last name") && page.contains("Enter their date of birth"));
    assert!(page.contains("value=\"Ann\""), "typed values are kept");

    let response = submit(vec![
        ("persona", "exact-match"),
        ("outcome", "identity-verified"),
    ])
    .await;
    assert_eq!(response.status(), 302);
    let (base, params) = location_params(&response);
    assert_eq!(base, CALLBACK);
    assert_eq!(params["state"], "st-123");
    assert!(params.contains_key("code"));

    // The request is used up.
    let response = submit(vec![("persona", "exact-match")]).await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .expect("HTML")
        .contains("This sign-in has expired"));
}

#[tokio::test]
async fn the_admin_api_queues_sign_ins_as_json() {
    let standin = spawn(config()).await;
    let admin = format!("{}admin/next-login", standin.issuer());
    let response = http()
        .post(&admin)
        .json(&json!({ "persona": "trn-only", "outcome": "access-denied", "misbehave": ["wrong-nonce"] }))
        .send()
        .await
        .expect("admin");
    assert_eq!(response.status(), 204);
    let response = get_authorize(&standin, &authorize_params(r#"["Cl.Cm"]"#)).await;
    assert_eq!(location_params(&response).1["error"], "access_denied");

    for bad in [
        json!({ "persona": "nobody" }),
        json!({ "persona": "custom" }),
        json!({ "outcome": "x" }),
    ] {
        let response = http().post(&admin).json(&bad).send().await.expect("admin");
        assert_eq!(response.status(), 400, "{bad}");
    }

    let (_, personas) = get_json(format!("{}admin/personas", standin.issuer())).await;
    assert_eq!(
        personas.as_array().map(Vec::len),
        Some(standin.personas().len())
    );
}

#[tokio::test]
async fn signed_request_objects_are_verified_and_unpacked() {
    let standin = spawn(config()).await;
    let object = |changes: Value| {
        let mut claims = json!({
            "aud": format!("{}authorize", standin.issuer()), "iss": CLIENT_ID, "client_id": CLIENT_ID,
            "response_type": "code", "redirect_uri": CALLBACK, "scope": "openid email",
            "state": "st-jar", "nonce": "n-jar", "vtr": ["Cl.Cm.P2"],
            "claims": { "userinfo": { CORE_IDENTITY: null } }, "exp": now() + 300
        });
        for (k, v) in changes.as_object().expect("object") {
            claims[k] = v.clone();
        }
        sign_rs256(&claims)
    };
    let query = |request: String| {
        vec![
            ("response_type", "code".to_string()),
            ("scope", "openid email".to_string()),
            ("client_id", CLIENT_ID.to_string()),
            ("request", request),
        ]
    };

    let callback = sign_in(
        &standin,
        NextLogin::new("exact-match", Outcome::IdentityVerified),
        &query(object(json!({}))),
    )
    .await;
    assert_eq!(callback["state"], "st-jar");
    let response = exchange(&standin, &callback["code"], &assertion(&standin)).await;
    let body = json_of(response).await;
    assert_eq!(
        decode(body["id_token"].as_str().expect("token")).1["nonce"],
        "n-jar"
    );
    let info =
        json_of(userinfo(&standin, body["access_token"].as_str().expect("token")).await).await;
    assert!(
        info.get(CORE_IDENTITY).is_some(),
        "claims and vtr came from the object"
    );

    for (changes, error) in [
        (
            json!({ "aud": format!("{}token", standin.issuer()) }),
            "access_denied",
        ),
        (json!({ "iss": "someone-else" }), "unauthorized_client"),
        (json!({ "scope": "openid" }), "invalid_request"),
        (json!({ "exp": now() - 10 }), "invalid_request"),
    ] {
        let response = get_authorize(&standin, &query(object(changes.clone()))).await;
        assert_eq!(response.status(), 302, "{changes}");
        assert_eq!(location_params(&response).1["error"], error, "{changes}");
    }

    let good = object(json!({}));
    let (input, _) = good.rsplit_once('.').expect("signature");
    let response = get_authorize(&standin, &query(format!("{input}.{}", b64([1u8; 256])))).await;
    assert_eq!(response.status(), 400);
}
