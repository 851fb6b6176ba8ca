//! `POST /token`: authenticates the client by its `private_key_jwt` assertion (rules 21–22), exchanges the code
//! exactly once, and issues the access token and the ES256 ID token, with any misbehaviour queued for the sign-in.
//! Requests from the staff client (a client secret, no assertion) are handed to [`crate::staff::token`].

use crate::control::Misbehaviour;
use crate::jose;
use crate::state::{now, Grant, Provider, CODE_TTL_SECS, ID_TOKEN_TTL_SECS};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long a `SlowToken` sign-in makes the relying party wait: longer than any sensible client timeout.
const SLOW_TOKEN: Duration = Duration::from_secs(15);

/// An OAuth error from the token endpoint.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: &'static str,
}

impl TokenError {
    fn bad(error: &'static str, description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description,
        }
    }

    fn invalid_grant() -> Self {
        Self::bad("invalid_grant", "Invalid grant")
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response()
    }
}

pub async fn token(State(p): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if let Some(staff) = &p.staff {
        if crate::staff::is_token_request(&p, &headers, &form) {
            return crate::staff::token(&p, staff, &headers, &form);
        }
    }
    let grant = match exchange(&p, &form) {
        Ok(grant) => grant,
        Err(e) => {
            tracing::info!(error = e.error, "token request refused");
            return e.into_response();
        }
    };
    if grant.has(Misbehaviour::TokenServerError) {
        return TokenError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "Internal server error",
        }
        .into_response();
    }
    if grant.has(Misbehaviour::SlowToken) {
        tokio::time::sleep(SLOW_TOKEN).await;
    }
    let access_token = jose::random_token(32);
    let id_token = id_token(&p, &grant, &access_token);
    let issued_at = now();
    p.store()
        .access_tokens
        .insert(access_token.clone(), Grant { issued_at, ..grant });
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": crate::state::ACCESS_TOKEN_TTL_SECS,
            "id_token": id_token,
        })),
    )
        .into_response()
}

/// Checks the request and the client, and takes the code: the sign-in it stands for.
pub fn exchange(p: &Provider, form: &HashMap<String, String>) -> Result<Grant, TokenError> {
    let field = |name: &str| form.get(name).filter(|v| !v.is_empty());
    let (Some(grant_type), Some(code), Some(redirect_uri), Some(assertion_type), Some(assertion)) = (
        field("grant_type"),
        field("code"),
        field("redirect_uri"),
        field("client_assertion_type"),
        field("client_assertion"),
    ) else {
        return Err(TokenError::bad(
            "invalid_request",
            "Request is missing parameters",
        ));
    };
    if grant_type != "authorization_code" {
        return Err(TokenError::bad(
            "unsupported_grant_type",
            "Unsupported grant type",
        ));
    }
    if assertion_type != JWT_BEARER {
        return Err(TokenError::bad(
            "invalid_request",
            "Invalid private_key_jwt",
        ));
    }
    authenticate_client(p, assertion, form.get("client_id"))?;

    // The code is spent by this attempt whatever follows: One Login's codes are single use.
    let grant = p
        .store()
        .codes
        .remove(code.as_str())
        .ok_or_else(TokenError::invalid_grant)?;
    if grant.request.client_id != p.client_id
        || &grant.request.redirect_uri != redirect_uri
        || now() - grant.issued_at >= CODE_TTL_SECS
    {
        return Err(TokenError::invalid_grant());
    }
    match (&grant.request.code_challenge, field("code_verifier")) {
        (None, None) => {}
        (Some(challenge), Some(verifier)) if &jose::pkce_s256(verifier) == challenge => {}
        _ => {
            return Err(TokenError::bad(
                "invalid_grant",
                "PKCE code verification failed",
            ))
        }
    }
    Ok(grant)
}

/// Verifies the `private_key_jwt` client assertion for real, with One Login's answers for each fault.
fn authenticate_client(
    p: &Provider,
    assertion: &str,
    client_id: Option<&String>,
) -> Result<(), TokenError> {
    let invalid = || TokenError::bad("invalid_request", "Invalid private_key_jwt");
    let parsed = jose::parse(assertion).ok_or_else(invalid)?;
    if !matches!(
        parsed.alg(),
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512"
    ) {
        return Err(invalid());
    }
    let claim = |name: &str| parsed.claims.get(name).and_then(Value::as_str);
    if claim("iss") != Some(p.client_id.as_str()) || claim("sub") != Some(p.client_id.as_str()) {
        return Err(TokenError::bad("invalid_client", "Invalid private_key_jwt"));
    }
    if client_id.is_some_and(|id| id != &p.client_id) {
        return Err(TokenError::bad("invalid_client", "Invalid private_key_jwt"));
    }
    // One Login reports a wrong audience as a bad signature; so does the stand-in, so clients see the same.
    let audience_ok = match parsed.claims.get("aud") {
        Some(Value::String(aud)) => *aud == p.url("token") || *aud == p.issuer,
        _ => false,
    };
    // A client registered by JWKS is checked with the key its assertion's `kid` names; without one (or with one
    // not in the JWKS) there is no key to check with.
    let key = match p.client_jwks().as_ref() {
        None => Some(p.client_key.clone()),
        Some(keys) => parsed.kid().and_then(|kid| keys.get(kid)).cloned(),
    };
    if !audience_ok || !key.is_some_and(|key| parsed.verify_rsa(&key)) {
        return Err(TokenError::bad(
            "invalid_client",
            "Invalid signature in private_key_jwt",
        ));
    }
    let Some(exp) = parsed.claims.get("exp").and_then(Value::as_i64) else {
        return Err(invalid());
    };
    let now = now();
    if exp <= now {
        return Err(TokenError::bad(
            "invalid_grant",
            "private_key_jwt has expired",
        ));
    }
    let Some(jti) = claim("jti").filter(|j| !j.is_empty()) else {
        return Err(invalid());
    };
    let mut store = p.store();
    store.sweep(now);
    if store.used_jtis.contains_key(jti) {
        return Err(TokenError::bad(
            "invalid_grant",
            "private_key_jwt jti has already been used",
        ));
    }
    store.used_jtis.insert(jti.to_string(), exp);
    Ok(())
}

/// The ID token for a sign-in, shaped as §(c), with the sign-in's ID-token misbehaviours applied.
pub fn id_token(p: &Provider, grant: &Grant, access_token: &str) -> String {
    let has = |m| grant.has(m);
    let mut iat = now();
    if has(Misbehaviour::Expired) {
        iat -= 600;
    }
    if has(Misbehaviour::NotYetValid) {
        iat += 600;
    }
    let claims = json!({
        "iat": iat,
        "exp": iat + ID_TOKEN_TTL_SECS,
        "at_hash": jose::at_hash(access_token),
        "sub": grant.person.sub,
        "aud": if has(Misbehaviour::WrongAud) { "another-client".to_string() } else { grant.request.client_id.clone() },
        "iss": if has(Misbehaviour::WrongIss) { p.url("not-the-issuer/") } else { p.issuer.clone() },
        "sid": grant.sid,
        "vot": if has(Misbehaviour::LowerVot) { "Cl" } else { "Cl.Cm" },
        "nonce": if has(Misbehaviour::WrongNonce) { jose::random_token(16) } else { grant.request.nonce.clone() },
        "vtm": p.url("trustmark"),
        "auth_time": if has(Misbehaviour::NotYetValid) { grant.auth_time } else { grant.auth_time.min(iat) },
    });
    if has(Misbehaviour::AlgNone) {
        let header = json!({ "alg": "HS256", "kid": uuid::Uuid::new_v4().to_string() });
        return jose::sign_hs256(&header, &claims, p.client_id.as_bytes());
    }
    if has(Misbehaviour::Rs256) {
        let header = json!({ "alg": "RS256", "kid": p.rsa_key.kid });
        return p.rsa_key.sign(&header, &claims);
    }
    if has(Misbehaviour::UnknownKid) {
        let header = json!({ "alg": "ES256", "kid": p.rogue_key.kid });
        return p.rogue_key.sign(&header, &claims);
    }
    let mut keys = p.keys();
    if has(Misbehaviour::RotateKeys) {
        keys.rotate();
    }
    let key = keys.active();
    let token = key.sign(&json!({ "alg": "ES256", "kid": key.kid }), &claims);
    if has(Misbehaviour::BadSignature) {
        jose::corrupt_signature(&token)
    } else {
        token
    }
}
