//! Server-side sessions and CSRF protection.
//!
//! Sessions: the cookie holds a random token; the database holds the SHA-256 of it with the session's JSON. A
//! session is created only when a request has something to keep, gets a new id when privilege changes, and
//! expires two hours after it was last changed. A malformed cookie, an unknown or expired id, or unreadable data
//! all mean "no session": never an error page.
//!
//! CSRF: every state-changing request must send back the token from the `tid_csrf` cookie, as the form field
//! `csrf_token` or the `x-csrf-token` header (double-submit), and must not come from another site (checked with
//! `Sec-Fetch-Site` and `Origin`). Either failure gives the 403 page and changes nothing.

use super::cookies::{
    new_token, set_cookie, token_cookie, CSRF_COOKIE, SESSION_COOKIE, STAFF_SESSION_COOKIE,
};
use crate::state::AppState;
use app::ssr::{RequestContext, SessionData, SessionHandle, SessionState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a session lasts after it was last changed.
pub const SESSION_LIFETIME: Duration = Duration::hours(2);

/// Paths that never need a session: static files and probes. They skip the database entirely.
fn is_sessionless(path: &str) -> bool {
    path.starts_with("/assets/")
        || path.starts_with("/pkg/")
        || matches!(
            path,
            "/health" | "/ready" | "/favicon.ico" | "/.well-known/jwks.json"
        )
        || is_server_to_server(path)
}

/// Called by One Login, not a browser: authenticated by its signed token, so no session and no CSRF token.
fn is_server_to_server(path: &str) -> bool {
    path == "/auth/backchannel-logout"
}

/// The database key of a session token.
pub fn session_key(token: &str) -> String {
    super::assets::hex(&Sha256::digest(token.as_bytes()))
}

pub async fn session_and_csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_sessionless(req.uri().path()) {
        return next.run(req).await;
    }
    let secure = state.config.is_https();
    let existing_csrf = token_cookie(req.headers(), CSRF_COOKIE);
    let csrf_token = existing_csrf.clone().unwrap_or_else(new_token);

    let mut req = req;
    if is_state_changing(req.method()) {
        if !same_site(req.headers(), &state.config.public_base_url) {
            tracing::warn!(
                reason = "cross-site request",
                "refused a state-changing request"
            );
            return StatusCode::FORBIDDEN.into_response();
        }
        let max_body = super::body_limit_for(req.uri().path(), state.config.max_body_bytes);
        let (checked, ok) = match check_csrf_token(req, existing_csrf.as_deref(), max_body).await {
            Ok(pair) => pair,
            Err(response) => return response,
        };
        if !ok {
            tracing::warn!(
                reason = "missing or wrong CSRF token",
                "refused a state-changing request"
            );
            return StatusCode::FORBIDDEN.into_response();
        }
        req = checked;
    }

    let now = Utc::now();
    let teacher = LoadedSession::load(&state, req.headers(), SESSION_COOKIE, now).await;
    let staff = LoadedSession::load(&state, req.headers(), STAFF_SESSION_COOKIE, now).await;
    req.extensions_mut().insert(RequestContext {
        csrf_token: csrf_token.clone(),
        session: teacher.handle.clone(),
        staff: staff.handle.clone(),
    });

    let mut response = next.run(req).await;

    for session in [teacher, staff] {
        if let Err(failed) = session.save(&state, now, secure, &mut response).await {
            return failed;
        }
    }
    if existing_csrf.is_none() {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &csrf_token, secure, None),
        );
    }
    response
}

/// One of the two sessions a browser may have: the teacher's (`tid_session`) and, separately, a member of staff's
/// (`tid_staff`), so signing in to one never signs in to the other.
struct LoadedSession {
    cookie: &'static str,
    token: Option<String>,
    exists: bool,
    handle: SessionHandle,
}

impl LoadedSession {
    async fn load(
        state: &AppState,
        headers: &HeaderMap,
        cookie: &'static str,
        now: chrono::DateTime<Utc>,
    ) -> Self {
        let token = token_cookie(headers, cookie);
        let mut loaded = None;
        if let Some(token) = &token {
            match state.store.load_session(&session_key(token), now).await {
                Ok(Some(json)) => match serde_json::from_str::<SessionData>(&json) {
                    Ok(data) => loaded = Some(data),
                    Err(_) => tracing::warn!("session data unreadable; starting a new session"),
                },
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "could not load session; carrying on without it")
                }
            }
        }
        let exists = loaded.is_some();
        Self {
            cookie,
            token,
            exists,
            handle: SessionHandle::new(SessionState {
                data: loaded.unwrap_or_default(),
                exists,
                ..Default::default()
            }),
        }
    }

    /// Saves, replaces or ends the session as the request asked, setting or clearing its cookie.
    async fn save(
        self,
        state: &AppState,
        now: chrono::DateTime<Utc>,
        secure: bool,
        response: &mut Response,
    ) -> Result<(), Response> {
        let (end, dirty, rotate, data) = {
            let s = self.handle.lock();
            (s.end, s.dirty, s.rotate, s.data.clone())
        };
        let old_key = self
            .token
            .as_deref()
            .filter(|_| self.exists)
            .map(session_key);
        let replaced = end || rotate;
        if replaced {
            if let Some(key) = &old_key {
                if let Err(e) = state.store.delete_session(key).await {
                    tracing::error!(error = %e, "could not delete the session being ended or replaced");
                }
            }
        }
        if dirty {
            let keep_token = self.token.filter(|_| self.exists && !replaced);
            let new_token = keep_token.clone().unwrap_or_else(new_token);
            let json = serde_json::to_string(&data).expect("session data serialises");
            let subject = data.user.as_ref().map(|u| u.subject.as_str());
            if let Err(e) = state
                .store
                .save_session(
                    &session_key(&new_token),
                    &json,
                    subject,
                    now,
                    now + SESSION_LIFETIME,
                )
                .await
            {
                tracing::error!(error = %e, "could not save session");
                return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
            }
            if keep_token.is_none() {
                response.headers_mut().append(
                    header::SET_COOKIE,
                    set_cookie(self.cookie, &new_token, secure, None),
                );
            }
        } else if end {
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(self.cookie, "", secure, Some(0)),
            );
        }
        Ok(())
    }
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// False when the browser tells us the request came from another site.
fn same_site(headers: &HeaderMap, public_base_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            origin == public_base_url
                || origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                    == Some(host)
        }
    }
}

/// Compares the submitted token with the cookie's, reading the form body if the token is not in a header. The
/// body is buffered (within the size limit) and put back for the handler.
async fn check_csrf_token(
    req: Request,
    cookie_token: Option<&str>,
    max_body: usize,
) -> Result<(Request, bool), Response> {
    let Some(expected) = cookie_token else {
        return Ok((req, false));
    };
    let matches = |submitted: &str| bool::from(submitted.as_bytes().ct_eq(expected.as_bytes()));
    if let Some(header_token) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        let ok = matches(header_token);
        return Ok((req, ok));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let boundary = multer::parse_boundary(&content_type).ok();
    if !content_type.starts_with("application/x-www-form-urlencoded") && boundary.is_none() {
        return Ok((req, false));
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, max_body).await {
        Ok(bytes) => bytes,
        Err(_) => return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response()),
    };
    let ok = match boundary {
        // A file upload: the token is a field of its own, before the file in our forms.
        Some(boundary) => multipart_token(bytes.clone(), boundary)
            .await
            .is_some_and(|t| matches(&t)),
        None => form_urlencoded::parse(&bytes).any(|(k, v)| k == "csrf_token" && matches(&v)),
    };
    Ok((Request::from_parts(parts, Body::from(bytes)), ok))
}

/// The `csrf_token` field of a buffered multipart body, if it has one.
async fn multipart_token(body: bytes::Bytes, boundary: String) -> Option<String> {
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("csrf_token") {
            return field.text().await.ok();
        }
    }
    None
}
