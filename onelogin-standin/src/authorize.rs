//! `GET /authorize`: validates the request as One Login does (one-login-rp.md rules 4–17 and the §(c) error table),
//! then either completes a sign-in queued by a test or shows the persona picker. Also the completion both paths
//! share: turning a person and an outcome into a code, or into the outcome's error, on the callback.

use crate::control::{Misbehaviour, NextLogin, Outcome};
use crate::jose;
use crate::personas::{Persona, CUSTOM};
use crate::picker;
use crate::state::{
    now, AuthRequest, Grant, Identity, Provider, ADDRESS_CLAIM, CORE_IDENTITY_CLAIM,
    DRIVING_PERMIT_CLAIM, PASSPORT_CLAIM, RETURN_CODE_CLAIM,
};
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

const SCOPES: [&str; 3] = ["openid", "email", "phone"];
const CLAIMS: [&str; 5] = [
    CORE_IDENTITY_CLAIM,
    ADDRESS_CLAIM,
    PASSPORT_CLAIM,
    DRIVING_PERMIT_CLAIM,
    RETURN_CODE_CLAIM,
];

/// Why an authorise request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown client or unregistered redirect URI: there is nowhere safe to send the user, so `400 Invalid Request`.
    NoRedirect,
    /// An OAuth error sent back to the (registered) redirect URI.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: &'static str,
        state: Option<String>,
    },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::NoRedirect => (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Invalid Request",
            )
                .into_response(),
            Self::Redirect {
                redirect_uri,
                error,
                description,
                state,
            } => {
                let mut params = vec![("error", error), ("error_description", description)];
                if let Some(state) = &state {
                    params.push(("state", state));
                }
                redirect(&callback_url(&redirect_uri, &params))
            }
        }
    }
}

/// A `302 Found` to `location`.
pub fn redirect(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store"),
        ],
    )
        .into_response()
}

/// `uri` with query parameters added, each value percent-encoded as JavaScript's `encodeURIComponent` would (the
/// simulator's form), so the relying party gets back exactly the `state` it sent.
pub fn callback_url(uri: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect();
    let joiner = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{joiner}{}", query.join("&"))
}

/// What `encodeURIComponent` leaves as it is: letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

fn encode_component(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, URI_COMPONENT).to_string()
}

/// Parses a query string into its parameters; the last of a repeated name wins.
pub fn query_params(raw: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub async fn authorize(State(p): State<Arc<Provider>>, RawQuery(raw): RawQuery) -> Response {
    let params = query_params(raw.as_deref());
    if let Some(staff) = &p.staff {
        if params.get("client_id") == Some(&staff.client_id) {
            return crate::staff::authorize(&p, staff, &params);
        }
    }
    let request = match validate(&p, params) {
        Ok(request) => request,
        Err(refusal) => {
            tracing::info!(error = refusal.kind(), "authorise request refused");
            return refusal.into_response();
        }
    };
    let queued = {
        let mut store = p.store();
        store.sweep(now());
        store.next_login.take()
    };
    match queued {
        Some(next) => match resolve(&p, &next) {
            Some(person) => complete(&p, request, person, next.outcome, next.misbehave),
            // Checked when queued; only a persona list that changed could get here.
            None => (
                StatusCode::BAD_REQUEST,
                "The queued sign-in names an unknown persona",
            )
                .into_response(),
        },
        None => {
            let id = jose::random_token(16);
            p.store().pending.insert(id.clone(), (request, now()));
            picker::page(&p, &id, None)
        }
    }
}

impl Refusal {
    fn kind(&self) -> &'static str {
        match self {
            Self::NoRedirect => "invalid_request_no_redirect",
            Self::Redirect { error, .. } => error,
        }
    }
}

/// The person a queued sign-in names, if it is a persona or a complete custom person.
pub fn resolve(p: &Provider, next: &NextLogin) -> Option<Persona> {
    if next.persona == CUSTOM {
        next.custom.as_ref().map(Persona::from_custom)
    } else {
        p.persona(&next.persona).cloned()
    }
}

/// Checks an authorise request. Parameters inside a signed request object (JAR) take the place of the query's.
/// The `state` (required) and `response_type=code` checks both clients' authorize requests share; the state.
pub fn state_and_code_flow<R>(
    params: &HashMap<String, String>,
    refuse: impl Fn(&'static str, &'static str) -> R,
) -> Result<String, R> {
    let Some(state) = params.get("state").filter(|s| !s.is_empty()).cloned() else {
        return Err(refuse(
            "invalid_request",
            "Request is missing state parameter",
        ));
    };
    match params.get("response_type").map(String::as_str) {
        None | Some("") => Err(refuse(
            "invalid_request",
            "Request is missing response_type parameter",
        )),
        Some("code") => Ok(state),
        Some(_) => Err(refuse(
            "unsupported_response_type",
            "Unsupported response type",
        )),
    }
}

/// A PKCE challenge as both clients accept it: method S256 and 43 base64url characters (RFC 7636).
pub fn s256_challenge<R>(
    params: &HashMap<String, String>,
    challenge: &str,
    refuse: impl Fn(&'static str, &'static str) -> R,
) -> Result<(), R> {
    if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return Err(refuse(
            "invalid_request",
            "Invalid value for code_challenge_method parameter.",
        ));
    }
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(refuse(
            "invalid_request",
            "Invalid value for code_challenge parameter.",
        ));
    }
    Ok(())
}

pub fn validate(p: &Provider, mut params: HashMap<String, String>) -> Result<AuthRequest, Refusal> {
    if params.get("client_id") != Some(&p.client_id) {
        return Err(Refusal::NoRedirect);
    }
    if let Some(object) = params.get("request").cloned() {
        params = request_object(p, &params, &object)?;
    }
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if p.redirect_uris.contains(uri) => uri.clone(),
        _ => return Err(Refusal::NoRedirect),
    };
    let state = params.get("state").filter(|s| !s.is_empty()).cloned();
    let refuse = |error: &'static str, description: &'static str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description,
        state: state.clone(),
    };
    let state_value = state_and_code_flow(&params, refuse)?;
    let Some(nonce) = params.get("nonce").filter(|n| !n.is_empty()).cloned() else {
        return Err(refuse(
            "invalid_request",
            "Request is missing nonce parameter",
        ));
    };
    let scopes: BTreeSet<String> = params
        .get("scope")
        .map(|s| {
            s.split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if !scopes.contains("openid") {
        return Err(refuse("invalid_request", "Request is missing openid scope"));
    }
    if scopes.iter().any(|s| !SCOPES.contains(&s.as_str())) {
        return Err(refuse(
            "invalid_scope",
            "Invalid, unknown or malformed scope",
        ));
    }
    let identity = match params.get("vtr") {
        None => false,
        Some(vtr) => match serde_json::from_str::<Vec<String>>(vtr).as_deref() {
            Ok([only]) if only == "Cl.Cm" => false,
            Ok([only]) if only == "Cl.Cm.P2" => true,
            _ => return Err(refuse("invalid_request", "Request vtr not valid")),
        },
    };
    let claims = match params.get("claims") {
        None => BTreeSet::new(),
        Some(claims) => requested_claims(claims)
            .ok_or_else(|| refuse("invalid_request", "Request contains invalid claims"))?,
    };
    if let Some(prompt) = params.get("prompt") {
        if prompt.split(' ').any(|p| p == "select_account") {
            return Err(refuse(
                "unmet_authentication_requirements",
                "Unmet authentication requirements",
            ));
        }
    }
    if let Some(locales) = params.get("ui_locales") {
        let known = |tag: &str| matches!(tag, "en" | "cy");
        if !locales.split(' ').filter(|t| !t.is_empty()).all(known) {
            return Err(refuse("invalid_request", "Request ui_locales not valid"));
        }
    }
    if let Some(max_age) = params.get("max_age") {
        if max_age.parse::<u64>().is_err() {
            return Err(refuse("invalid_request", "Request max_age not valid"));
        }
    }
    let code_challenge = match params.get("code_challenge") {
        None => None,
        Some(challenge) => {
            s256_challenge(&params, challenge, refuse)?;
            Some(challenge.clone())
        }
    };
    Ok(AuthRequest {
        client_id: p.client_id.clone(),
        redirect_uri,
        state: state_value,
        nonce,
        scopes,
        identity,
        claims,
        code_challenge,
    })
}

/// The userinfo claims asked for in `claims`, or `None` if it holds anything One Login would refuse.
fn requested_claims(claims: &str) -> Option<BTreeSet<String>> {
    let Ok(Value::Object(top)) = serde_json::from_str::<Value>(claims) else {
        return None;
    };
    let mut out = BTreeSet::new();
    for (target, requested) in top {
        let Value::Object(requested) = requested else {
            return None;
        };
        if target != "userinfo" {
            return None;
        }
        for (name, detail) in requested {
            if !CLAIMS.contains(&name.as_str()) || !(detail.is_null() || detail.is_object()) {
                return None;
            }
            out.insert(name);
        }
    }
    Some(out)
}

/// Unpacks a signed request object (JAR, rule 17) into the parameters it carries.
fn request_object(
    p: &Provider,
    query: &HashMap<String, String>,
    object: &str,
) -> Result<HashMap<String, String>, Refusal> {
    let parsed = jose::parse(object).ok_or(Refusal::NoRedirect)?;
    if !parsed.verify_rsa(&p.client_key) {
        return Err(Refusal::NoRedirect);
    }
    let mut params: HashMap<String, String> = parsed
        .claims
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                // `vtr` arrives as an array and `claims` as an object (or a string): keep the query's JSON form.
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    params.insert("client_id".into(), p.client_id.clone());
    // Only a registered redirect URI may receive errors about the object itself.
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if p.redirect_uris.contains(uri) => uri.clone(),
        _ => return Err(Refusal::NoRedirect),
    };
    let refuse = |error: &'static str, description: &'static str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description,
        state: params.get("state").cloned(),
    };
    if parsed.claims.get("iss").and_then(Value::as_str) != Some(p.client_id.as_str()) {
        return Err(refuse(
            "unauthorized_client",
            "Invalid request object issuer",
        ));
    }
    if parsed.claims.get("aud").and_then(Value::as_str) != Some(p.url("authorize").as_str()) {
        return Err(refuse("access_denied", "Invalid request object audience"));
    }
    let forbidden = ["request", "request_uri"]
        .iter()
        .any(|k| parsed.claims.contains_key(*k))
        || parsed.claims.get("sub").and_then(Value::as_str) == Some(p.client_id.as_str());
    let query_differs = ["response_type", "scope"]
        .iter()
        .any(|k| query.get(*k) != params.get(*k));
    if forbidden || query_differs {
        return Err(refuse("invalid_request", "Request object not valid"));
    }
    if let Some(exp) = parsed.claims.get("exp") {
        if exp.as_i64().is_none_or(|exp| exp <= now()) {
            return Err(refuse("invalid_request", "Request object has expired"));
        }
    }
    Ok(params)
}

/// Ends a sign-in: a code on the callback, or the outcome's error.
pub fn complete(
    p: &Provider,
    request: AuthRequest,
    person: Persona,
    outcome: Outcome,
    misbehave: Vec<Misbehaviour>,
) -> Response {
    let error = |error: &'static str, description: &'static str| Refusal::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        error,
        description,
        state: Some(request.state.clone()),
    };
    let identity = match outcome {
        Outcome::AccessDenied => {
            return error(
                "access_denied",
                "Access denied by resource owner or authorization server",
            )
            .into_response()
        }
        Outcome::TemporarilyUnavailable => {
            return error(
                "temporarily_unavailable",
                "Authorization server is temporarily unavailable",
            )
            .into_response()
        }
        Outcome::LoginRequired => return error("login_required", "Login required").into_response(),
        Outcome::ClientDeactivated => {
            return error("unauthorized_client", "client deactivated").into_response()
        }
        Outcome::Authenticated => Identity::NotRequested,
        _ if !request.identity => Identity::NotRequested,
        Outcome::IdentityVerified => Identity::Verified,
        // Without returnCode, One Login reports an unproven identity only as access_denied.
        Outcome::IdentityNotVerified if !request.wants(RETURN_CODE_CLAIM) => {
            return error(
                "access_denied",
                "Access denied by resource owner or authorization server",
            )
            .into_response()
        }
        Outcome::IdentityNotVerified => Identity::NotVerified,
    };
    let code = jose::random_token(32);
    let location = callback_url(
        &request.redirect_uri,
        &[("code", &code), ("state", &request.state)],
    );
    tracing::info!(outcome = outcome.as_str(), identity = ?identity, "sign-in completed");
    let issued_at = now();
    p.store().codes.insert(
        code,
        Grant {
            request,
            person,
            identity,
            misbehave,
            sid: jose::random_token(16),
            auth_time: issued_at,
            issued_at,
        },
    );
    redirect(&location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_values_are_encoded_like_encode_uri_component() {
        assert_eq!(
            callback_url(
                "http://rp/cb",
                &[
                    ("error_description", "Request vtr not valid"),
                    ("state", "a&b=c d")
                ]
            ),
            "http://rp/cb?error_description=Request%20vtr%20not%20valid&state=a%26b%3Dc%20d"
        );
        assert_eq!(
            callback_url("http://rp/cb?x=1", &[("code", "abc")]),
            "http://rp/cb?x=1&code=abc"
        );
    }

    #[test]
    fn claims_may_name_only_registered_userinfo_claims() {
        let ok = requested_claims(
            r#"{"userinfo":{"https://vocab.account.gov.uk/v1/coreIdentityJWT":null,
                            "https://vocab.account.gov.uk/v1/returnCode":{"essential":true}}}"#,
        )
        .expect("valid");
        assert!(ok.contains(CORE_IDENTITY_CLAIM) && ok.contains(RETURN_CODE_CLAIM));
        for bad in [
            r#"{"userinfo":{"https://vocab.account.gov.uk/v1/socialSecurityRecord":null}}"#,
            r#"{"id_token":{"https://vocab.account.gov.uk/v1/coreIdentityJWT":null}}"#,
            r#"{"userinfo":["https://vocab.account.gov.uk/v1/coreIdentityJWT"]}"#,
            r#"{"userinfo":{"https://vocab.account.gov.uk/v1/coreIdentityJWT":1}}"#,
            "not json",
            "[]",
        ] {
            assert_eq!(requested_claims(bad), None, "{bad}");
        }
    }
}
