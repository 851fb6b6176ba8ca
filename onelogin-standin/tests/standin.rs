//! The stand-in from the outside, as a relying party sees it: each test spawns one on a free port and talks to it
//! over HTTP with reqwest, signing real RS256 client assertions and verifying every token it gets back with the
//! keys the stand-in publishes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use onelogin_standin::{
    spawn, spawn_with_identity_host, staff_sub, CustomPerson, LogoutTokenFault, Misbehaviour,
    NextLogin, Outcome, StaffClient, Standin, StandinConfig,
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

const STAFF_CLIENT_ID: &str = "teacher-id-staff-test";
/// With characters that HTTP Basic credentials must URL-encode (RFC 6749 §2.3.1).
const STAFF_SECRET: &str = "s3cret: with/odd+chars%";
const STAFF_CALLBACK: &str = "http://127.0.0.1:3000/support/auth/callback";
const STAFF_VERIFIER: &str = "staff-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

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
        staff: Some(StaffClient {
            client_id: STAFF_CLIENT_ID.into(),
            client_secret: STAFF_SECRET.into(),
            redirect_uris: vec![STAFF_CALLBACK.into()],
        }),
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

/// The ES256 keys the JWKS publishes (the ID-token keys), without the RSA key beside them.
async fn jwks(standin: &Standin) -> Vec<Value> {
    all_jwks(standin)
        .await
        .into_iter()
        .filter(|k| k["kty"] == "EC")
        .collect()
}

/// Every key the JWKS publishes.
async fn all_jwks(standin: &Standin) -> Vec<Value> {
    let (_, body) = get_json(format!("{}.well-known/jwks.json", standin.issuer())).await;
    body["keys"].as_array().expect("keys").clone()
}

/// Whether `jwt` is RS256 and verifies with the RSA JWK `jwk`.
fn verifies_with_rsa(jwt: &str, jwk: &Value) -> bool {
    use rsa::signature::Verifier as _;
    let number = |name: &str| {
        rsa::BigUint::from_bytes_be(
            &URL_SAFE_NO_PAD
                .decode(jwk[name].as_str().expect("n and e"))
                .expect("base64url"),
        )
    };
    let key = rsa::RsaPublicKey::new(number("n"), number("e")).expect("RSA key");
    let (input, signature) = jwt.rsplit_once('.').expect("signature");
    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature.as_slice()) else {
        return false;
    };
    decode(jwt).0["alg"] == "RS256"
        && rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
            .verify(input.as_bytes(), &signature)
            .is_ok()
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
    assert_eq!(
        d["scopes_supported"],
        json!(["openid", "email", "phone", "profile"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!([
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post"
        ])
    );
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
    let all = body["keys"].as_array().expect("keys");
    assert_eq!(
        all.len(),
        2,
        "one EC key and, as One Login has, one RSA key"
    );
    let rsa = all.iter().find(|k| k["kty"] == "RSA").expect("an RSA key");
    assert_eq!((&rsa["alg"], &rsa["use"]), (&json!("RS256"), &json!("sig")));
    assert!(rsa.get("d").is_none(), "never the private part");
    let keys: Vec<&Value> = all.iter().filter(|k| k["kty"] == "EC").collect();
    assert_eq!(keys.len(), 1);
    let key = keys[0];
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

// The staff client: the support console's sign-in, standing in for Microsoft Entra ID.

fn pkce_challenge(verifier: &str) -> String {
    b64(Sha256::digest(verifier.as_bytes()))
}

fn staff_authorize_params() -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("scope", "openid profile email".into()),
        ("client_id", STAFF_CLIENT_ID.into()),
        ("redirect_uri", STAFF_CALLBACK.into()),
        ("state", "staff-st".into()),
        ("nonce", "staff-n".into()),
        ("code_challenge", pkce_challenge(STAFF_VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ]
}

/// `params` with each named parameter replaced (`Some`) or dropped (`None`).
fn changed(
    mut params: Vec<(&'static str, String)>,
    changes: &[(&'static str, Option<&str>)],
) -> Vec<(&'static str, String)> {
    for (name, value) in changes {
        params.retain(|(n, _)| n != name);
        if let Some(value) = value {
            params.push((name, value.to_string()));
        }
    }
    params
}

/// The hidden `request_id` of a picker page.
fn request_id_in(page: &str) -> String {
    page.split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("request id")
        .to_string()
}

/// The staff picker for a fresh staff sign-in, and its request id.
async fn staff_picker(standin: &Standin) -> (String, String) {
    let response = get_authorize(standin, &staff_authorize_params()).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("HTML");
    let id = request_id_in(&page);
    (page, id)
}

async fn submit_staff(standin: &Standin, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(format!("{}authorize/staff/submit", standin.issuer()))
        .form(form)
        .send()
        .await
        .expect("staff submit")
}

/// The callback's parameters after a redirect to the staff callback.
fn staff_callback(response: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(response.status(), 302);
    let (base, params) = location_params(response);
    assert_eq!(base, STAFF_CALLBACK);
    params
}

/// A staff code for `persona`, chosen in the staff picker.
async fn staff_code(standin: &Standin, persona: &str) -> String {
    let (_, id) = staff_picker(standin).await;
    let response = submit_staff(standin, &[("request_id", &id), ("persona", persona)]).await;
    let callback = staff_callback(&response);
    assert_eq!(callback["state"], "staff-st");
    callback["code"].clone()
}

/// An HTTP Basic header value, with id and secret URL-encoded first as RFC 6749 §2.3.1 requires.
fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(id), encode(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

/// A staff token request with `client_secret_basic`.
async fn staff_token_basic(
    standin: &Standin,
    secret: &str,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", STAFF_CALLBACK),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    http()
        .post(format!("{}token", standin.issuer()))
        .header("authorization", basic(STAFF_CLIENT_ID, secret))
        .form(&form)
        .send()
        .await
        .expect("token")
}

/// A staff token request with `client_secret_post`.
async fn staff_token_post(standin: &Standin, secret: &str, code: &str) -> reqwest::Response {
    post_token(
        standin,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", STAFF_CALLBACK),
            ("code_verifier", STAFF_VERIFIER),
            ("client_id", STAFF_CLIENT_ID),
            ("client_secret", secret),
        ],
    )
    .await
}

/// Verifies a staff ID token against the JWKS and returns its claims.
async fn verified_staff_claims(standin: &Standin, id_token: &str) -> Map<String, Value> {
    let (header, claims) = decode(id_token);
    assert_eq!(header["alg"], "ES256");
    let keys = jwks(standin).await;
    let key = keys
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("signed with a published key");
    assert!(verifies_with(id_token, key));
    claims
}

#[tokio::test]
async fn a_staff_member_signs_in_through_the_staff_picker_over_http() {
    let standin = spawn(config()).await;
    let issuer = standin.issuer();
    let (page, request_id) = staff_picker(&standin).await;
    for needle in [
        "<title>Sign in as a member of staff – Microsoft Entra ID stand-in</title>",
        "Microsoft Entra ID stand-in</span>",
        ">Sign in as a member of staff</h1>",
        r#"<form method="post" action="/authorize/staff/submit" novalidate>"#,
        r#"name="persona" type="radio" value="admin""#,
        r#"name="persona" type="radio" value="norole""#,
        r#"name="persona" type="radio" value="custom""#,
        "Someone else",
        "Ada Adeyemi",
        "ada.adeyemi@education.gov.uk. Usually an administrator in development.",
        "priya.shah@education.gov.uk",
        r#"name="email" type="email""#,
        r#"id="name" name="name" type="text""#,
        "govuk-button",
        ">Continue</button>",
    ] {
        assert!(page.contains(needle), "{needle}");
    }
    assert!(
        !page.contains("Choose who signs in"),
        "not the teacher picker"
    );

    let response = submit_staff(
        &standin,
        &[("request_id", &request_id), ("persona", "officer")],
    )
    .await;
    let callback = staff_callback(&response);
    assert_eq!(callback["state"], "staff-st");
    let code = callback["code"].clone();

    let response = staff_token_basic(&standin, STAFF_SECRET, &code, Some(STAFF_VERIFIER)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json_of(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let access_token = body["access_token"].as_str().expect("access token");
    assert!(!access_token.is_empty());

    let officer = standin.staff_persona("officer").expect("persona");
    assert_eq!(officer.name, "Sam Okafor");
    assert!(uuid::Uuid::parse_str(&officer.sub).is_ok());
    let claims =
        verified_staff_claims(&standin, body["id_token"].as_str().expect("ID token")).await;
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["aud"], STAFF_CLIENT_ID);
    assert_eq!(claims["sub"], officer.sub);
    assert_eq!(claims["nonce"], "staff-n");
    assert_eq!(claims["email"], "sam.okafor@education.gov.uk");
    assert_eq!(claims["name"], "Sam Okafor");
    assert_eq!(claims["preferred_username"], "sam.okafor@education.gov.uk");
    let iat = claims["iat"].as_i64().expect("iat");
    assert!((iat - now()).abs() < 5);
    assert_eq!(claims["exp"].as_i64(), Some(iat + 3600));
    for absent in ["vot", "vtm", "sid", "roles"] {
        assert!(claims.get(absent).is_none(), "{absent}");
    }

    // The access token works at userinfo, and says the same.
    let info = json_of(userinfo(&standin, access_token).await).await;
    assert_eq!(info["sub"], officer.sub);
    assert_eq!(info["email"], "sam.okafor@education.gov.uk");
    assert_eq!(info["name"], "Sam Okafor");
}

#[tokio::test]
async fn the_staff_client_authenticates_with_its_secret_either_way() {
    let standin = spawn(config()).await;
    let error_of = |body: Value| body["error"].as_str().unwrap_or("").to_string();

    // client_secret_post.
    let code = staff_code(&standin, "admin").await;
    let response = staff_token_post(&standin, STAFF_SECRET, &code).await;
    assert_eq!(response.status(), 200);
    let claims = verified_staff_claims(
        &standin,
        json_of(response).await["id_token"]
            .as_str()
            .expect("ID token"),
    )
    .await;
    assert_eq!(claims["email"], "ada.adeyemi@education.gov.uk");

    // Wrong secrets, either way, and none at all: 401 invalid_client, and the code is not spent.
    let code = staff_code(&standin, "admin").await;
    let response = staff_token_basic(&standin, "wrong", &code, Some(STAFF_VERIFIER)).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(error_of(json_of(response).await), "invalid_client");
    let response = staff_token_post(&standin, "wrong", &code).await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_of(json_of(response).await), "invalid_client");
    let response = post_token(
        &standin,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", STAFF_CALLBACK),
            ("code_verifier", STAFF_VERIFIER),
            ("client_id", STAFF_CLIENT_ID),
        ],
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_of(json_of(response).await), "invalid_client");
    // Basic credentials must be URL-encoded: the raw secret, unencoded, is not the secret.
    let raw = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{STAFF_CLIENT_ID}:{STAFF_SECRET}"))
    );
    let response = http()
        .post(format!("{}token", standin.issuer()))
        .header("authorization", raw)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", STAFF_CALLBACK),
            ("code_verifier", STAFF_VERIFIER),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), 401);
    // Both methods at once is not allowed.
    let response = http()
        .post(format!("{}token", standin.issuer()))
        .header("authorization", basic(STAFF_CLIENT_ID, STAFF_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", STAFF_CALLBACK),
            ("code_verifier", STAFF_VERIFIER),
            ("client_secret", STAFF_SECRET),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(json_of(response).await), "invalid_request");

    let response = staff_token_basic(&standin, STAFF_SECRET, &code, Some(STAFF_VERIFIER)).await;
    assert_eq!(response.status(), 200, "refused attempts did not spend it");
}

#[tokio::test]
async fn the_staff_client_must_use_pkce_and_is_validated_like_entra() {
    let standin = spawn(config()).await;
    let cases: Vec<(Changes, &str)> = vec![
        (vec![("code_challenge", None)], "invalid_request"),
        (
            vec![("code_challenge", None), ("code_challenge_method", None)],
            "invalid_request",
        ),
        (vec![("code_challenge_method", None)], "invalid_request"),
        (
            vec![("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (
            vec![("code_challenge", Some("too-short"))],
            "invalid_request",
        ),
        (vec![("nonce", None)], "invalid_request"),
        (vec![("scope", Some("profile email"))], "invalid_request"),
        (vec![("response_type", None)], "invalid_request"),
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (
            vec![("response_mode", Some("form_post"))],
            "invalid_request",
        ),
    ];
    for (changes, error) in cases {
        let response = get_authorize(&standin, &changed(staff_authorize_params(), &changes)).await;
        let callback = staff_callback(&response);
        assert_eq!(callback["error"], error, "{changes:?}");
        assert_eq!(callback["state"], "staff-st", "{changes:?}");
        assert!(!callback.contains_key("code"), "{changes:?}");
    }
    let response = get_authorize(
        &standin,
        &changed(staff_authorize_params(), &[("code_challenge", None)]),
    )
    .await;
    assert!(staff_callback(&response)["error_description"].contains("PKCE"));
    // Without state there is none to send back.
    let response = get_authorize(
        &standin,
        &changed(staff_authorize_params(), &[("state", None)]),
    )
    .await;
    let callback = staff_callback(&response);
    assert_eq!(callback["error"], "invalid_request");
    assert!(!callback.contains_key("state"));

    // Extra scopes and response_mode=query are fine; no vtr is needed.
    let response = get_authorize(
        &standin,
        &changed(
            staff_authorize_params(),
            &[
                ("scope", Some("openid profile email offline_access")),
                ("response_mode", Some("query")),
            ],
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_staff_code_needs_its_verifier_and_works_once() {
    let standin = spawn(config()).await;
    let error_of = |body: Value| body["error"].as_str().unwrap_or("").to_string();

    // A wrong verifier spends the code.
    let code = staff_code(&standin, "viewer").await;
    let response = staff_token_basic(
        &standin,
        STAFF_SECRET,
        &code,
        Some("another-verifier-0123456789-abcdefghijklmnop"),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(json_of(response).await), "invalid_grant");
    let response = staff_token_basic(&standin, STAFF_SECRET, &code, Some(STAFF_VERIFIER)).await;
    assert_eq!(error_of(json_of(response).await), "invalid_grant");

    // No verifier at all.
    let code = staff_code(&standin, "viewer").await;
    let response = staff_token_basic(&standin, STAFF_SECRET, &code, None).await;
    assert_eq!(error_of(json_of(response).await), "invalid_grant");

    // A code works once.
    let code = staff_code(&standin, "viewer").await;
    let response = staff_token_basic(&standin, STAFF_SECRET, &code, Some(STAFF_VERIFIER)).await;
    assert_eq!(response.status(), 200);
    let again = staff_token_basic(&standin, STAFF_SECRET, &code, Some(STAFF_VERIFIER)).await;
    assert_eq!(again.status(), 400);
    assert_eq!(error_of(json_of(again).await), "invalid_grant");

    // It is bound to its redirect URI.
    let code = staff_code(&standin, "viewer").await;
    let response = http()
        .post(format!("{}token", standin.issuer()))
        .header("authorization", basic(STAFF_CLIENT_ID, STAFF_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:3000/elsewhere"),
            ("code_verifier", STAFF_VERIFIER),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(error_of(json_of(response).await), "invalid_grant");
}

#[tokio::test]
async fn teacher_and_staff_clients_cannot_use_each_others_sign_ins() {
    let standin = spawn(config()).await;
    let error_of = |body: Value| body["error"].as_str().unwrap_or("").to_string();

    // A teacher code at the staff token exchange, and a staff code at the teacher's.
    let teacher_code = identity_code(
        &standin,
        NextLogin::new("exact-match", Outcome::Authenticated),
    )
    .await;
    let response =
        staff_token_basic(&standin, STAFF_SECRET, &teacher_code, Some(STAFF_VERIFIER)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(json_of(response).await), "invalid_grant");
    let staff = staff_code(&standin, "admin").await;
    let response = exchange(&standin, &staff, &assertion(&standin)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(json_of(response).await), "invalid_grant");
    // Each still works where it belongs: the wrong client's attempt did not spend it.
    assert_eq!(
        exchange(&standin, &teacher_code, &assertion(&standin))
            .await
            .status(),
        200
    );
    assert_eq!(
        staff_token_basic(&standin, STAFF_SECRET, &staff, Some(STAFF_VERIFIER))
            .await
            .status(),
        200
    );

    // A queued teacher sign-in is not used by the staff client, and a queued staff one not by the teacher client.
    standin.set_next_login(NextLogin::new("exact-match", Outcome::Authenticated));
    standin.set_next_staff_login("ada.adeyemi@education.gov.uk");
    let teacher = get_authorize(&standin, &authorize_params(r#"["Cl.Cm"]"#)).await;
    let (base, params) = location_params(&teacher);
    assert_eq!(base, CALLBACK);
    let teacher_code = params["code"].clone();
    let response = get_authorize(&standin, &staff_authorize_params()).await;
    let staff_code_queued = staff_callback(&response)["code"].clone();
    let response = exchange(&standin, &teacher_code, &assertion(&standin)).await;
    let claims = decode(json_of(response).await["id_token"].as_str().expect("token")).1;
    assert_eq!(
        claims["sub"],
        standin.persona("exact-match").expect("persona").sub
    );
    let response = staff_token_basic(
        &standin,
        STAFF_SECRET,
        &staff_code_queued,
        Some(STAFF_VERIFIER),
    )
    .await;
    let claims = decode(json_of(response).await["id_token"].as_str().expect("token")).1;
    assert_eq!(
        claims["sub"],
        standin.staff_persona("admin").expect("persona").sub
    );

    // Neither picker takes the other's requests.
    let teacher_page = get_authorize(&standin, &authorize_params(r#"["Cl.Cm"]"#))
        .await
        .text()
        .await
        .expect("HTML");
    assert!(teacher_page.contains("Choose who signs in"));
    assert!(!teacher_page.contains("member of staff"));
    let teacher_request = request_id_in(&teacher_page);
    let response = submit_staff(
        &standin,
        &[("request_id", &teacher_request), ("persona", "admin")],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .expect("HTML")
        .contains("This sign-in has expired"));
    let (_, staff_request) = staff_picker(&standin).await;
    let response = http()
        .post(format!("{}authorize/submit", standin.issuer()))
        .form(&[
            ("request_id", staff_request.as_str()),
            ("persona", "exact-match"),
        ])
        .send()
        .await
        .expect("submit");
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .expect("HTML")
        .contains("This sign-in has expired"));
    // The staff request is still waiting at its own picker.
    let response = submit_staff(
        &standin,
        &[("request_id", &staff_request), ("persona", "norole")],
    )
    .await;
    assert!(staff_callback(&response).contains_key("code"));

    // The teacher client cannot authenticate as the staff client with a secret.
    let code = staff_code(&standin, "admin").await;
    let response = post_token(
        &standin,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", STAFF_CALLBACK),
            ("code_verifier", STAFF_VERIFIER),
            ("client_id", CLIENT_ID),
            ("client_secret", STAFF_SECRET),
        ],
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_of(json_of(response).await), "invalid_client");
}

#[tokio::test]
async fn a_staff_request_with_an_unregistered_redirect_uri_gets_an_error_page() {
    let standin = spawn(config()).await;
    for redirect_uri in [
        Some("http://127.0.0.1:3000/elsewhere"),
        Some(CALLBACK),
        None,
    ] {
        let response = get_authorize(
            &standin,
            &changed(staff_authorize_params(), &[("redirect_uri", redirect_uri)]),
        )
        .await;
        assert_eq!(response.status(), 400, "{redirect_uri:?}");
        assert!(
            response.headers().get("location").is_none(),
            "{redirect_uri:?}"
        );
        assert!(response.headers()["content-type"]
            .to_str()
            .expect("ASCII")
            .starts_with("text/html"));
        let page = response.text().await.expect("HTML");
        assert!(page.contains("Sorry, there is a problem signing you in"));
        assert!(page.contains("AADSTS50011"));
        if let Some(uri) = redirect_uri {
            assert!(page.contains(uri), "names the URI sent");
        }
    }
    // Even a queued staff sign-in is not used up by it.
    standin.set_next_staff_login("vic.evans@education.gov.uk");
    let response = get_authorize(
        &standin,
        &changed(
            staff_authorize_params(),
            &[("redirect_uri", Some("http://evil.example/cb"))],
        ),
    )
    .await;
    assert_eq!(response.status(), 400);
    let response = get_authorize(&standin, &staff_authorize_params()).await;
    assert!(staff_callback(&response).contains_key("code"));
}

#[tokio::test]
async fn someone_else_needs_a_valid_email_and_name() {
    let standin = spawn(config()).await;
    let (_, id) = staff_picker(&standin).await;

    let response = submit_staff(&standin, &[("request_id", &id)]).await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.expect("HTML");
    assert!(page.contains("<title>Error: Sign in as a member of staff"));
    assert!(page.contains(r##"<a href="#persona">Select who signs in</a>"##));

    let response = submit_staff(
        &standin,
        &[
            ("request_id", &id),
            ("persona", "custom"),
            ("email", "not-an-email"),
            ("name", "Jo Bloggs"),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.expect("HTML");
    assert!(page.contains("govuk-error-summary"));
    assert!(page.contains(
        r##"<a href="#email">Enter an email address in the correct format, like name@education.gov.uk</a>"##
    ));
    assert!(page.contains(r#"class="govuk-error-message""#));
    assert!(
        page.contains(r#"value="not-an-email""#),
        "typed values are kept"
    );
    assert!(page.contains(r#"value="Jo Bloggs""#));

    let long_name = "x".repeat(101);
    let response = submit_staff(
        &standin,
        &[
            ("request_id", &id),
            ("persona", "custom"),
            ("email", "jo.bloggs@example.com"),
            ("name", &long_name),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .expect("HTML")
        .contains(r##"<a href="#name">Full name must be 100 characters or fewer</a>"##));

    let response = submit_staff(
        &standin,
        &[
            ("request_id", &id),
            ("persona", "custom"),
            ("email", " Jo.Bloggs@Example.com "),
            ("name", "Jo Bloggs"),
        ],
    )
    .await;
    let code = staff_callback(&response)["code"].clone();
    let response = staff_token_basic(&standin, STAFF_SECRET, &code, Some(STAFF_VERIFIER)).await;
    assert_eq!(response.status(), 200);
    let claims = verified_staff_claims(
        &standin,
        json_of(response).await["id_token"]
            .as_str()
            .expect("ID token"),
    )
    .await;
    assert_eq!(claims["email"], "Jo.Bloggs@Example.com");
    assert_eq!(claims["preferred_username"], "Jo.Bloggs@Example.com");
    assert_eq!(claims["name"], "Jo Bloggs");
    let sub = claims["sub"].as_str().expect("sub");
    assert!(uuid::Uuid::parse_str(sub).is_ok());
    assert_eq!(
        sub,
        staff_sub("jo.bloggs@example.com"),
        "same email, same sub"
    );
    assert!(standin.staff_personas().iter().all(|p| p.sub != sub));
}

#[tokio::test]
async fn a_queued_staff_sign_in_skips_the_picker() {
    let standin = spawn(config()).await;
    let noor = standin.staff_persona("norole").expect("persona");
    let member = standin.set_next_staff_login("NOOR.KHAN@education.gov.uk");
    assert_eq!(member.sub, noor.sub);
    let response = get_authorize(&standin, &staff_authorize_params()).await;
    let callback = staff_callback(&response);
    assert_eq!(callback["state"], "staff-st");
    let response = staff_token_basic(
        &standin,
        STAFF_SECRET,
        &callback["code"],
        Some(STAFF_VERIFIER),
    )
    .await;
    let claims = verified_staff_claims(
        &standin,
        json_of(response).await["id_token"]
            .as_str()
            .expect("ID token"),
    )
    .await;
    assert_eq!(claims["sub"], noor.sub);
    assert_eq!(claims["name"], "Noor Khan");
    assert_eq!(claims["email"], "noor.khan@education.gov.uk");

    // Only once: the next staff sign-in shows the picker.
    let response = get_authorize(&standin, &staff_authorize_params()).await;
    assert_eq!(response.status(), 200);

    // Someone who is not a persona, named from the email or by the test.
    let member = standin.set_next_staff_login("jo.bloggs@example.com");
    assert_eq!(member.name, "Jo Bloggs");
    assert_eq!(member.sub, staff_sub("jo.bloggs@example.com"));
    let member = standin
        .try_set_next_staff_login("jo.bloggs@example.com", Some("Joanna Bloggs"))
        .expect("valid");
    assert_eq!(member.name, "Joanna Bloggs");
    assert!(standin.try_set_next_staff_login("nope", None).is_err());

    // The same over HTTP, for tests in other languages.
    let admin = format!("{}admin/next-staff-login", standin.issuer());
    let response = http()
        .post(&admin)
        .json(&json!({ "email": "priya.shah@education.gov.uk" }))
        .send()
        .await
        .expect("admin");
    assert_eq!(response.status(), 200);
    let priya = standin.staff_persona("officer2").expect("persona");
    assert_eq!(json_of(response).await["sub"], priya.sub);
    let response = get_authorize(&standin, &staff_authorize_params()).await;
    let code = staff_callback(&response)["code"].clone();
    let response = staff_token_post(&standin, STAFF_SECRET, &code).await;
    let claims = decode(json_of(response).await["id_token"].as_str().expect("token")).1;
    assert_eq!(claims["sub"], priya.sub);

    let response = http()
        .post(&admin)
        .json(&json!({ "email": "x@example.com" }))
        .send()
        .await
        .expect("admin");
    assert_eq!(response.status(), 200);
    let response = http().delete(&admin).send().await.expect("admin");
    assert_eq!(response.status(), 204);
    let response = get_authorize(&standin, &staff_authorize_params()).await;
    assert_eq!(response.status(), 200, "cleared: the picker shows");
    let response = http()
        .post(&admin)
        .json(&json!({ "email": "not an email" }))
        .send()
        .await
        .expect("admin");
    assert_eq!(response.status(), 400);

    let (_, personas) = get_json(format!("{}admin/staff-personas", standin.issuer())).await;
    let ids: Vec<&str> = personas
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["admin", "officer", "officer2", "viewer", "norole"]);
}

#[tokio::test]
async fn the_staff_picker_can_cancel_the_sign_in() {
    let standin = spawn(config()).await;
    let (_, id) = staff_picker(&standin).await;
    let response = submit_staff(&standin, &[("request_id", &id), ("action", "cancel")]).await;
    let callback = staff_callback(&response);
    assert_eq!(callback["error"], "access_denied");
    assert_eq!(callback["state"], "staff-st");
    assert!(!callback.contains_key("code"));
    let response = submit_staff(&standin, &[("request_id", &id), ("persona", "admin")]).await;
    assert_eq!(response.status(), 400, "the request is used up");
}

#[tokio::test]
async fn without_a_staff_client_only_teachers_are_served() {
    let standin = spawn(StandinConfig {
        staff: None,
        ..config()
    })
    .await;
    let (_, d) = get_json(format!(
        "{}.well-known/openid-configuration",
        standin.issuer()
    ))
    .await;
    assert_eq!(d["scopes_supported"], json!(["openid", "email", "phone"]));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt", "client_secret_post"])
    );
    let response = get_authorize(&standin, &staff_authorize_params()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.text().await.expect("text"), "Invalid Request");
    assert_eq!(
        standin.try_set_next_staff_login("ada.adeyemi@education.gov.uk", None),
        Err(onelogin_standin::StaffLoginError::NoStaffClient)
    );

    // A staff client must not reuse the teacher client's id.
    let clash = onelogin_standin::try_spawn(StandinConfig {
        staff: Some(StaffClient {
            client_id: CLIENT_ID.into(),
            client_secret: STAFF_SECRET.into(),
            redirect_uris: vec![STAFF_CALLBACK.into()],
        }),
        ..config()
    })
    .await;
    assert!(matches!(
        clash,
        Err(onelogin_standin::StandinError::StaffClient(_))
    ));
}

#[tokio::test]
async fn an_rsa_key_is_published_beside_the_ec_ones_and_can_sign_an_id_token() {
    let standin = spawn(config()).await;
    let rsa = all_jwks(&standin)
        .await
        .into_iter()
        .find(|k| k["kty"] == "RSA")
        .expect("an RSA key in the JWKS");
    let body = tokens(
        &standin,
        NextLogin::new("exact-match", Outcome::Authenticated).misbehaving([Misbehaviour::Rs256]),
    )
    .await;
    let id_token = body["id_token"].as_str().expect("ID token");
    let (header, claims) = decode(id_token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], rsa["kid"]);
    assert!(verifies_with_rsa(id_token, &rsa));
    assert_eq!(claims["aud"], CLIENT_ID, "otherwise a valid ID token");
}

#[tokio::test]
async fn the_unverified_email_persona_has_email_verified_false() {
    let standin = spawn(config()).await;
    let persona = standin.persona("unverified-email").expect("persona");
    assert!(!persona.email_verified);
    let body = tokens(
        &standin,
        NextLogin::new("unverified-email", Outcome::Authenticated),
    )
    .await;
    let info =
        json_of(userinfo(&standin, body["access_token"].as_str().expect("token")).await).await;
    assert_eq!(info["email"], persona.email);
    assert_eq!(info["email_verified"], false);
}

#[tokio::test]
async fn name_dates_not_plain_gives_date_times_with_previous_names_first() {
    let standin = spawn(config()).await;
    let mut next = NextLogin::new("custom", Outcome::IdentityVerified)
        .misbehaving([Misbehaviour::NameDatesNotPlain]);
    next.custom = Some(CustomPerson {
        first_name: "Carol".into(),
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
    let (_, vc) = decode(info[CORE_IDENTITY].as_str().expect("jwt"));
    let names = &vc["vc"]["credentialSubject"]["name"];
    assert_eq!(names[0]["validUntil"], "2019-08-31T00:00:00Z");
    assert_eq!(names[0]["nameParts"][1]["value"], "Jones");
    assert_eq!(names[1]["validFrom"], "2019-09-01T00:00:00Z");
    assert!(names[1].get("validUntil").is_none());
    assert_eq!(
        vc["vc"]["credentialSubject"]["birthDate"],
        json!([{ "value": "1988-12-25" }]),
        "only the names' dates change"
    );
}

#[tokio::test]
async fn a_separate_identity_host_serves_the_did_document_and_issues_the_credential() {
    let standin = spawn_with_identity_host(config()).await;
    assert_ne!(standin.identity_issuer(), standin.issuer());
    assert!(standin.did_url().starts_with(&standin.identity_issuer()));
    let identity_port = reqwest::Url::parse(&standin.identity_issuer())
        .expect("URL")
        .port()
        .expect("port");
    assert_eq!(
        standin.did(),
        format!("did:web:127.0.0.1%3A{identity_port}")
    );
    let on_oidc_host = http()
        .get(format!("{}.well-known/did.json", standin.issuer()))
        .send()
        .await
        .expect("GET");
    assert_eq!(on_oidc_host.status(), 404, "not on the OIDC host");

    let (kid, did_jwk) = did_key(&standin).await;
    assert!(kid.starts_with(&format!("{}#", standin.did())));
    let body = tokens(
        &standin,
        NextLogin::new("exact-match", Outcome::IdentityVerified),
    )
    .await;
    let info =
        json_of(userinfo(&standin, body["access_token"].as_str().expect("token")).await).await;
    let jwt = info[CORE_IDENTITY].as_str().expect("jwt");
    assert!(verifies_with(jwt, &did_jwk));
    assert_eq!(decode(jwt).1["iss"], standin.identity_issuer());
    assert_eq!(
        decode(body["id_token"].as_str().expect("ID token")).1["iss"],
        standin.issuer(),
        "ID tokens still come from the OIDC issuer"
    );
}

#[tokio::test]
async fn identity_key_rotation_publishes_the_new_key_beside_the_old() {
    let standin = spawn(config()).await;
    let (old_kid, old_jwk) = did_key(&standin).await;
    let body = tokens(
        &standin,
        NextLogin::new("exact-match", Outcome::IdentityVerified)
            .misbehaving([Misbehaviour::RotateIdentityKey]),
    )
    .await;
    let info =
        json_of(userinfo(&standin, body["access_token"].as_str().expect("token")).await).await;
    let jwt = info[CORE_IDENTITY].as_str().expect("jwt");
    let kid = decode(jwt).0["kid"].as_str().expect("kid").to_string();
    assert_ne!(kid, old_kid, "signed with a new key");
    assert!(kid.starts_with(&format!("{}#", standin.did())));
    assert!(!verifies_with(jwt, &old_jwk));
    let (_, did) = get_json(standin.did_url()).await;
    let methods = did["assertionMethod"].as_array().expect("methods");
    assert_eq!(methods.len(), 2);
    assert_eq!(methods[0]["id"], kid, "newest first");
    assert_eq!(methods[1]["id"], old_kid, "the old key stays published");
    assert!(verifies_with(jwt, &methods[0]["publicKeyJwk"]));

    standin.rotate_identity_key();
    let (newest, _) = did_key(&standin).await;
    assert_ne!(newest, kid);
}

#[tokio::test]
async fn faulty_logout_tokens_are_otherwise_valid() {
    let standin = spawn(config()).await;
    let sub = standin.persona("exact-match").expect("persona").sub;
    let good = decode(&standin.logout_token(&sub)).1;

    let token = standin.faulty_logout_token(&sub, LogoutTokenFault::Nonce);
    let (header, claims) = decode(&token);
    assert!(claims["nonce"].as_str().is_some_and(|n| !n.is_empty()));
    let key = jwks(&standin)
        .await
        .into_iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("signed with a published EC key");
    assert!(verifies_with(&token, &key));

    let token = standin.faulty_logout_token(&sub, LogoutTokenFault::Rs256);
    let (header, claims) = decode(&token);
    let rsa = all_jwks(&standin)
        .await
        .into_iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("signed with the published RSA key");
    assert!(verifies_with_rsa(&token, &rsa));
    for name in ["iss", "aud", "sub", "events"] {
        assert_eq!(claims[name], good[name], "{name}");
    }
}

#[tokio::test]
async fn a_client_registered_by_jwks_must_name_its_key_in_the_assertion() {
    use rsa::traits::PublicKeyParts as _;
    let standin = spawn(config()).await;
    let public = client_key().to_public_key();
    let jwks = json!({"keys": [{
        "kty": "RSA", "kid": "rp-key-1", "alg": "RS256", "use": "sig",
        "n": b64(public.n().to_bytes_be()), "e": b64(public.e().to_bytes_be()),
    }]});
    assert_eq!(standin.register_client_jwks(&jwks), Some(1));
    assert_eq!(standin.register_client_jwks(&json!({"keys": []})), None);

    let signed = |kid: Option<&str>| {
        let mut header = json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        let input = format!(
            "{}.{}",
            b64(header.to_string()),
            b64(assertion_claims(&standin).to_string())
        );
        let signer = SigningKey::<Sha256>::new(client_key().clone());
        let signature = signer.sign_with_rng(&mut rand::rngs::OsRng, input.as_bytes());
        format!("{input}.{}", b64(signature.to_bytes()))
    };
    for kid in [None, Some("another-key")] {
        let code = identity_code(
            &standin,
            NextLogin::new("exact-match", Outcome::Authenticated),
        )
        .await;
        let response = exchange(&standin, &code, &signed(kid)).await;
        assert_eq!(response.status(), 400, "{kid:?}");
        assert_eq!(json_of(response).await["error"], "invalid_client");
    }
    let code = identity_code(
        &standin,
        NextLogin::new("exact-match", Outcome::Authenticated),
    )
    .await;
    let response = exchange(&standin, &code, &signed(Some("rp-key-1"))).await;
    assert_eq!(response.status(), 200);
}
