//! The published documents: discovery, JWKS, DID document and trustmark, shaped as One Login's simulator serves
//! them (one-login-rp.md §(c)), with the cache lifetimes the relying party is expected to honour. Also the GOV.UK
//! stylesheet for the picker.

use crate::state::Provider;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

fn cached(max_age: &'static str, body: Value) -> Response {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static(max_age))],
        Json(body),
    )
        .into_response()
}

pub async fn discovery(State(p): State<Arc<Provider>>) -> Response {
    cached("max-age=86400", discovery_document(&p))
}

pub fn discovery_document(p: &Provider) -> Value {
    // With the staff client, what it uses too: `profile` and client secrets sent either way.
    let (scopes, auth_methods) = if p.staff.is_some() {
        (
            json!(["openid", "email", "phone", "profile"]),
            json!([
                "private_key_jwt",
                "client_secret_basic",
                "client_secret_post"
            ]),
        )
    } else {
        (
            json!(["openid", "email", "phone"]),
            json!(["private_key_jwt", "client_secret_post"]),
        )
    };
    json!({
        "authorization_endpoint": p.url("authorize"),
        "token_endpoint": p.url("token"),
        "issuer": p.issuer,
        "jwks_uri": p.url(".well-known/jwks.json"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
        "ui_locales_supported": ["en", "cy"],
        "service_documentation": "https://docs.sign-in.service.gov.uk/",
        "op_policy_uri": "https://signin.account.gov.uk/privacy-notice",
        "op_tos_uri": "https://signin.account.gov.uk/terms-and-conditions",
        "request_parameter_supported": true,
        "trustmarks": p.url("trustmark"),
        "subject_types_supported": ["public", "pairwise"],
        "userinfo_endpoint": p.url("userinfo"),
        "end_session_endpoint": p.url("logout"),
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "claim_types_supported": ["normal"],
        "claims_supported": [
            "sub", "email", "email_verified", "phone_number", "phone_number_verified",
            "https://vocab.account.gov.uk/v1/passport", "https://vocab.account.gov.uk/v1/drivingPermit",
            "https://vocab.account.gov.uk/v1/coreIdentityJWT", "https://vocab.account.gov.uk/v1/address",
            "https://vocab.account.gov.uk/v1/returnCode"
        ],
        "request_uri_parameter_supported": false,
        "backchannel_logout_supported": true
    })
}

/// The ID-token keys (ES256), and an RSA key beside them as One Login publishes one: a relying party must pick
/// keys by `kid` and algorithm, never by position.
pub async fn jwks(State(p): State<Arc<Provider>>) -> Response {
    let mut rsa = p.rsa_key.public_jwk();
    rsa.insert("kid".into(), json!(p.rsa_key.kid));
    rsa.insert("alg".into(), json!("RS256"));
    rsa.insert("use".into(), json!("sig"));
    let mut keys = vec![Value::Object(rsa)];
    keys.extend(p.keys().published.iter().map(|key| {
        let mut jwk = key.public_jwk();
        jwk.insert("kid".into(), json!(key.kid));
        jwk.insert("alg".into(), json!("ES256"));
        jwk.insert("use".into(), json!("sig"));
        Value::Object(jwk)
    }));
    cached("max-age=86400", json!({ "keys": keys }))
}

/// The identity signing keys, newest first: after a rotation the old key stays, so credentials it signed verify.
pub async fn did_document(State(p): State<Arc<Provider>>) -> Response {
    let methods: Vec<Value> = p
        .identity_keys()
        .published()
        .map(|key| {
            let mut jwk = key.public_jwk();
            jwk.insert("alg".into(), json!("ES256"));
            json!({
                "type": "JsonWebKey",
                "id": key.kid,
                "controller": p.did,
                "publicKeyJwk": jwk
            })
        })
        .collect();
    cached(
        "max-age=3600, private",
        json!({
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
            "id": p.did,
            "assertionMethod": methods
        }),
    )
}

pub async fn trustmark(State(p): State<Arc<Provider>>) -> Json<Value> {
    Json(json!({
        "idp": p.issuer,
        "trustmark_provider": p.issuer,
        "C": ["Cl", "Cl.Cm"],
        "P": ["P0", "P1", "P2", "P3"]
    }))
}

pub async fn govuk_css(State(p): State<Arc<Provider>>) -> Response {
    match &p.css {
        Some(css) => (
            [
                (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            css.clone(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "GOV.UK Frontend CSS was not found at start-up",
        )
            .into_response(),
    }
}
