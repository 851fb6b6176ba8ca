//! Security headers on every response, and the per-request nonce that lets our own inline scripts run under a
//! Content-Security-Policy that forbids all others.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use rand::RngCore;
use std::sync::Arc;

/// The nonce of this response's CSP: inline scripts must carry it.
#[derive(Clone, Debug)]
pub struct CspNonce(pub Arc<str>);

impl CspNonce {
    fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(bytes)
                .into(),
        )
    }
}

/// The policy for a response whose inline scripts carry `nonce`. `wasm-unsafe-eval` lets the browser compile our
/// WASM bundle and nothing else; there is no `unsafe-inline` and no `unsafe-eval`.
/// `embeds` allows `<object>` from our own origin: only support task pages, which embed a PDF proof of identity.
/// `one_login` (an origin) is allowed as a form's destination besides our own: browsers check `form-action` on
/// every redirect of a form's submission, and the "Sign out?" page's button is sent on to One Login's logout.
/// `client`, when given, is a further such origin ([`FormActionOrigin`]).
pub fn content_security_policy(
    nonce: &str,
    embeds: bool,
    one_login: &str,
    client: Option<&FormActionOrigin>,
) -> String {
    let object_src = if embeds { "'self'" } else { "'none'" };
    let client = client.map(|c| format!(" {}", c.0)).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self' {one_login}{client}; \
         frame-ancestors 'none'; base-uri 'none'; object-src {object_src}"
    )
}

/// A further origin a form on this response may end at (a response extension): the service a teacher is signing in
/// to, while its request is kept ([`super::session`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormActionOrigin(String);

impl FormActionOrigin {
    /// The origin of `uri` (an already checked redirect URI); `None` if it has none.
    pub fn of(uri: &str) -> Option<Self> {
        match url::Url::parse(uri).map(|u| u.origin()) {
            Ok(origin @ url::Origin::Tuple(..)) => Some(Self(origin.ascii_serialization())),
            _ => None,
        }
    }
}

/// The origin of One Login's issuer (`scheme://host[:port]`), where its logout endpoint is; `'self'` if the
/// configured issuer is not a URL (configuration has already refused that).
fn one_login_origin(issuer: &str) -> String {
    match url::Url::parse(issuer).map(|u| u.origin()) {
        Ok(origin @ url::Origin::Tuple(..)) => origin.ascii_serialization(),
        _ => "'self'".into(),
    }
}

/// What [`security_headers`] needs, worked out once: it runs for every request, so it should not parse the
/// issuer's URL or clone the application state each time.
#[derive(Clone)]
pub struct SecurityHeaders(Arc<SecuritySettings>);

struct SecuritySettings {
    one_login_origin: String,
    https: bool,
}

impl SecurityHeaders {
    pub fn new(state: &AppState) -> Self {
        Self(Arc::new(SecuritySettings {
            one_login_origin: one_login_origin(&state.config.one_login.issuer),
            https: state.config.is_https(),
        }))
    }
}

pub async fn security_headers(
    State(settings): State<SecurityHeaders>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = CspNonce::generate();
    req.extensions_mut().insert(nonce.clone());
    let embeds = req.uri().path().starts_with("/support/tasks/");
    let mut response = next.run(req).await;
    let client = response.extensions_mut().remove::<FormActionOrigin>();
    let h = response.headers_mut();
    // A response with a policy of its own (a proof of identity file) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(csp) = HeaderValue::from_str(&content_security_policy(
            &nonce.0,
            embeds,
            &settings.0.one_login_origin,
            client.as_ref(),
        )) {
            h.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::X_FRAME_OPTIONS) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if settings.0.https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    // Pages can hold personal data: never let a shared cache or the back-forward cache of another user keep them.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_may_end_at_one_login_and_nowhere_else() {
        let origin = one_login_origin("https://oidc.account.gov.uk/");
        assert_eq!(origin, "https://oidc.account.gov.uk");
        assert_eq!(
            one_login_origin("http://127.0.0.1:3101/"),
            "http://127.0.0.1:3101"
        );
        assert_eq!(one_login_origin("not a url"), "'self'");
        let csp = content_security_policy("n", false, &origin, None);
        assert!(
            csp.contains("form-action 'self' https://oidc.account.gov.uk;"),
            "{csp}"
        );
    }

    #[test]
    fn while_a_service_waits_its_origin_may_end_a_form_too() {
        let client = FormActionOrigin::of("https://npq.example:8443/callback?x=1").expect("origin");
        let csp = content_security_policy("n", false, "https://oidc.account.gov.uk", Some(&client));
        assert!(
            csp.contains(
                "form-action 'self' https://oidc.account.gov.uk https://npq.example:8443;"
            ),
            "{csp}"
        );
        assert_eq!(FormActionOrigin::of("not a url"), None);
    }
}
