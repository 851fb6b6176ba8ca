//! Logout: the front-channel `GET /logout` (end session, rule 48 and pitfall 13) and back-channel logout tokens
//! (rule 50), which the stand-in signs like One Login and can deliver to the relying party on request.

use crate::authorize::{query_params, redirect};
use crate::control::LogoutTokenFault;
use crate::jose;
use crate::state::{now, Provider, LOGOUT_TOKEN_TTL_SECS};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Where One Login sends people when it has nowhere better.
const DEFAULT_LOGOUT_DESTINATION: &str = "https://gov.uk";

/// How long the relying party has to answer a back-channel logout.
const BACKCHANNEL_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn logout(State(p): State<Arc<Provider>>, RawQuery(raw): RawQuery) -> Response {
    let params = query_params(raw.as_deref());
    let location = logout_destination(
        &p,
        params.get("id_token_hint").map(String::as_str),
        params.get("post_logout_redirect_uri").map(String::as_str),
        params.get("state").map(String::as_str),
    );
    redirect(&location)
}

/// Where `/logout` sends the browser. The relying party's page only with a valid hint and a registered URI, as
/// the simulator does; every refusal goes to GOV.UK with `error_code` (its name for the parameter).
pub fn logout_destination(
    p: &Provider,
    hint: Option<&str>,
    post_logout_redirect_uri: Option<&str>,
    state: Option<&str>,
) -> String {
    let to = |base: &str, params: Vec<(&str, &str)>| {
        let state = state.map(|s| ("state", s));
        let params: Vec<(&str, &str)> = params.into_iter().chain(state).collect();
        if params.is_empty() {
            return base.to_string();
        }
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let joiner = if base.contains('?') { '&' } else { '?' };
        format!("{base}{joiner}{query}")
    };
    let Some(hint) = hint.filter(|h| !h.is_empty()) else {
        return to(DEFAULT_LOGOUT_DESTINATION, Vec::new());
    };
    let Some(aud) = verified_hint_audience(p, hint) else {
        return to(
            DEFAULT_LOGOUT_DESTINATION,
            vec![
                ("error_code", "invalid_request"),
                ("error_description", "unable to validate id_token_hint"),
            ],
        );
    };
    if aud != p.client_id {
        return to(
            DEFAULT_LOGOUT_DESTINATION,
            vec![
                ("error_code", "unauthorized_client"),
                ("error_description", "client not found"),
            ],
        );
    }
    match post_logout_redirect_uri.filter(|u| !u.is_empty()) {
        None => to(DEFAULT_LOGOUT_DESTINATION, Vec::new()),
        Some(uri) if p.post_logout_redirect_uris.iter().any(|r| r == uri) => to(uri, Vec::new()),
        Some(_) => to(
            DEFAULT_LOGOUT_DESTINATION,
            vec![
                ("error_code", "invalid_request"),
                (
                    "error_description",
                    "client registry does not contain post_logout_redirect_uri",
                ),
            ],
        ),
    }
}

/// The `aud` of an ID token we signed. Its expiry is not checked: people log out long after signing in.
fn verified_hint_audience(p: &Provider, hint: &str) -> Option<String> {
    let parsed = jose::parse(hint)?;
    let keys = p.keys();
    let key = keys.find(parsed.kid()?)?;
    if !parsed.verify_es256(key.verifying_key()) {
        return None;
    }
    match parsed.claims.get("aud")? {
        Value::String(aud) => Some(aud.clone()),
        Value::Array(auds) => auds.first().and_then(Value::as_str).map(String::from),
        _ => None,
    }
}

/// A logout token for `sub`, signed with the current ID-token key, as One Login sends to a back-channel logout URI.
pub fn logout_token(p: &Provider, sub: &str) -> String {
    let claims = logout_claims(p, sub);
    let keys = p.keys();
    let key = keys.active();
    key.sign(&json!({ "alg": "ES256", "kid": key.kid }), &claims)
}

/// A logout token for `sub` that is wrong in the way `fault` says, and otherwise valid.
pub fn faulty_logout_token(p: &Provider, sub: &str, fault: LogoutTokenFault) -> String {
    let mut claims = logout_claims(p, sub);
    match fault {
        LogoutTokenFault::Nonce => {
            claims["nonce"] = json!(jose::random_token(16));
            let keys = p.keys();
            let key = keys.active();
            key.sign(&json!({ "alg": "ES256", "kid": key.kid }), &claims)
        }
        LogoutTokenFault::Rs256 => p
            .rsa_key
            .sign(&json!({ "alg": "RS256", "kid": p.rsa_key.kid }), &claims),
    }
}

fn logout_claims(p: &Provider, sub: &str) -> Value {
    let iat = now();
    json!({
        "iss": p.issuer,
        "aud": p.client_id,
        "iat": iat,
        "exp": iat + LOGOUT_TOKEN_TTL_SECS,
        "jti": uuid::Uuid::new_v4().to_string(),
        "sub": sub,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    })
}

#[derive(Deserialize)]
pub struct BackchannelRequest {
    sub: String,
}

/// `POST /admin/backchannel-logout {"sub": …}`: signs a logout token and posts it to the relying party, answering
/// with the relying party's status code.
pub async fn send_backchannel_logout(
    State(p): State<Arc<Provider>>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(BackchannelRequest { sub }) = serde_json::from_slice(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "Send JSON like {\"sub\": \"urn:fdc:gov.uk:2022:…\"}" })),
        )
            .into_response();
    };
    let Some(uri) = p.backchannel_logout_uri.clone() else {
        return (
            StatusCode::CONFLICT,
            Json(json!({ "error": "No back-channel logout URI is configured (STANDIN_BACKCHANNEL_LOGOUT_URI)" })),
        )
            .into_response();
    };
    let token = logout_token(&p, &sub);
    let sent = p
        .http
        .post(&uri)
        .timeout(BACKCHANNEL_TIMEOUT)
        .form(&[("logout_token", token.as_str())])
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            tracing::info!(status = status.as_u16(), "back-channel logout delivered");
            (
                StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
                Json(json!({ "relying_party_status": status.as_u16() })),
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "back-channel logout could not be delivered");
            (
                StatusCode::BAD_GATEWAY,
                Json(
                    json!({ "error": format!("Could not reach the back-channel logout URI: {e}") }),
                ),
            )
                .into_response()
        }
    }
}
