//! Server-side sessions and CSRF protection.
//!
//! Sessions: the cookie holds a random token; the database holds the SHA-256 of it with the session's JSON. A
//! session is created only when a request has something to keep, gets a new id when privilege changes, and ends
//! when it has not been used for the idle lifetime or, however busy, at its absolute lifetime from sign-in
//! ([`crate::config::SessionLifetimes`]). Use renews the idle lifetime, but only once less than half of it is
//! left, so reading pages does not write to the database on every request. A malformed cookie, an unknown or
//! expired id, or unreadable data all mean "no session": never an error page.
//!
//! A session that sign-out or back-channel logout ended stays ended: a request that loaded it earlier only ever
//! updates it by id, which finds no row, and never inserts it again.
//!
//! An anonymous visitor's form errors (post/redirect/get with only a flash to keep) are shown in the response to
//! the POST itself, so an invalid anonymous post never creates a session row.
//!
//! CSRF: every state-changing request must send back the token from the `tid_csrf` cookie, as the form field
//! `csrf_token` or the `x-csrf-token` header (double-submit), and must not come from another site (checked with
//! `Sec-Fetch-Site` and `Origin`). Either failure gives the 403 page and changes nothing.

use super::cookies::{
    new_token, set_cookie, token_cookie, CSRF_COOKIE, SESSION_COOKIE, STAFF_SESSION_COOKIE,
};
use crate::db::sessions::StoredSession;
use crate::state::AppState;
use app::ssr::{RequestContext, SessionData, SessionHandle, SessionState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use subtle::ConstantTimeEq;
use tower::ServiceExt;

/// What the session middleware needs: the application state, and the page router (without middleware) to show an
/// anonymous visitor's form errors in place of a redirect.
#[derive(Clone)]
pub struct SessionLayer {
    pub state: AppState,
    pub pages: Router,
    /// Signed-in teachers' pages kept rendered, checked against the sessions loaded here.
    pub personal_pages: super::personal_pages::PersonalPages,
    /// The console's task pages kept rendered, likewise.
    pub staff_pages: super::staff_pages::StaffPages,
}

/// Paths that never need a session: static files and probes. They skip the database entirely.
fn is_sessionless(path: &str) -> bool {
    path.starts_with("/assets/")
        || path.starts_with("/pkg/")
        || matches!(
            path,
            "/health" | "/ready" | "/favicon.ico" | "/.well-known/jwks.json"
        )
        || path == crate::provider::DISCOVERY_PATH
        || is_server_to_server(path)
}

/// Called by One Login or by other services' servers, not a browser: authenticated by a signed token, an API
/// key, client credentials or an access token (the provider's token and userinfo endpoints), so no session and
/// no CSRF token.
fn is_server_to_server(path: &str) -> bool {
    path == "/auth/backchannel-logout"
        || path.starts_with(crate::api::API_PREFIX)
        || crate::provider::is_client_endpoint(path)
}

/// The database key of a session token.
pub fn session_key(token: &str) -> String {
    super::assets::sha256_hex(token)
}

pub async fn session_and_csrf(
    // Shared, not cloned: every request passes through here.
    State(layer): State<std::sync::Arc<SessionLayer>>,
    req: Request,
    next: Next,
) -> Response {
    if is_sessionless(req.uri().path()) {
        return next.run(req).await;
    }
    // The work before and after the handler is boxed (built in functions of their own, so not even a temporary
    // copy lands in this frame): this future's frame stays on the stack while the rest of the request is served,
    // and a page render can be deep, so it is kept small.
    let (req, pending) = match before_handler_boxed(&layer, req).await {
        Ok(pair) => pair,
        Err(refused) => return refused,
    };
    let response = run_or_serve_kept_boxed(&layer, &pending, req, next).await;
    after_handler_boxed(&layer.state, &layer.pages, pending, response).await
}

/// The handler's response, or the teacher's page or the console's task page as kept from an earlier render of
/// exactly the same state ([`super::personal_pages`], [`super::staff_pages`]); a page the handler renders is kept
/// if it may be served again.
async fn run_or_serve_kept(
    layer: &SessionLayer,
    pending: &Pending,
    req: Request,
    next: Next,
) -> Response {
    let Some(nonce) = req.extensions().get::<super::security::CspNonce>().cloned() else {
        return next.run(req).await;
    };
    if let Some(visit) = pending.visit(&req) {
        let kept = &layer.personal_pages;
        if let Some(page) = kept.serve(&visit, &nonce.0) {
            return page;
        }
        let response = next.run(req).await;
        return kept
            .keep(visit, &nonce.0, pending.changed_nothing(), response)
            .await;
    }
    let Some(task) = pending.task_visit(&layer.staff_pages, req.uri()) else {
        return next.run(req).await;
    };
    if let Some(page) = layer.staff_pages.serve(&task, &nonce.0).await {
        return page;
    }
    let response = next.run(req).await;
    layer
        .staff_pages
        .keep(task, &nonce.0, pending.changed_nothing(), response)
        .await
}

fn run_or_serve_kept_boxed<'a>(
    layer: &'a SessionLayer,
    pending: &'a Pending,
    req: Request,
    next: Next,
) -> BoxedFuture<'a, Response> {
    Box::pin(run_or_serve_kept(layer, pending, req, next))
}

type BoxedFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

fn before_handler_boxed(
    layer: &SessionLayer,
    req: Request,
) -> BoxedFuture<'_, Result<(Request, Pending), Response>> {
    Box::pin(before_handler(layer, req))
}

fn after_handler_boxed<'a>(
    state: &'a AppState,
    pages: &'a Router,
    pending: Pending,
    response: Response,
) -> BoxedFuture<'a, Response> {
    Box::pin(after_handler(state, pages, pending, response))
}

/// What [`after_handler`] needs from [`before_handler`].
struct Pending {
    teacher: LoadedSession,
    staff: LoadedSession,
    context: RequestContext,
    /// For a GET of a task page by a member of staff: its versions, read beside the sessions.
    task_versions: Option<super::staff_pages::TaskVersions>,
    /// For a state-changing request: what a page rendered in place of a redirect needs from it.
    page_request: Option<(HeaderMap, Option<super::security::CspNonce>)>,
    csrf_token: String,
    set_csrf_cookie: bool,
    now: DateTime<Utc>,
    secure: bool,
}

impl Pending {
    /// The visit to a teacher's page this request makes, if its page may be kept: a teacher's session (with its
    /// version) and no member of staff's.
    fn visit(&self, req: &Request) -> Option<super::personal_pages::Visit> {
        let (Some(key), Some(loaded)) = (&self.teacher.key, &self.teacher.loaded) else {
            return None;
        };
        if self.staff.key.is_some() {
            return None;
        }
        super::personal_pages::Visit::of(
            req.method(),
            req.uri(),
            key,
            &loaded.data,
            loaded.page_version,
            &self.csrf_token,
        )
    }

    /// The visit to a task page of the console this request makes, if its page may be kept: a signed-in member of
    /// staff's session and no teacher's (whose session the page would then depend on too).
    fn task_visit(
        &self,
        staff_pages: &super::staff_pages::StaffPages,
        uri: &axum::http::Uri,
    ) -> Option<super::staff_pages::TaskVisit> {
        let (Some(key), Some(loaded)) = (&self.staff.key, &self.staff.loaded) else {
            return None;
        };
        if self.teacher.key.is_some() {
            return None;
        }
        let versions = self.task_versions.clone()?;
        let staff_id = self.staff.handle.lock().data.staff.as_ref()?.staff_id;
        Some(staff_pages.visit(versions, uri, key, &loaded.data, staff_id, &self.csrf_token))
    }

    /// True when the request asked for neither session to be saved.
    fn changed_nothing(&self) -> bool {
        self.teacher.is_untouched() && self.staff.is_untouched()
    }
}

/// Checks a state-changing request's origin and CSRF token, and loads both sessions into the request.
async fn before_handler(
    layer: &SessionLayer,
    req: Request,
) -> Result<(Request, Pending), Response> {
    let state = &layer.state;
    let secure = state.config.is_https();
    let existing_csrf = token_cookie(req.headers(), CSRF_COOKIE);
    let csrf_token = existing_csrf.clone().unwrap_or_else(new_token);

    let mut req = req;
    if is_state_changing(req.method()) && !is_entry_from_elsewhere(req.method(), req.uri().path()) {
        if !same_site(req.headers(), &state.config.public_base_url) {
            tracing::warn!(
                reason = "cross-site request",
                "refused a state-changing request"
            );
            return Err(StatusCode::FORBIDDEN.into_response());
        }
        if let Some(deferred) =
            super::identity_support::deferred_csrf(&req, existing_csrf.as_deref())
        {
            // A file upload: its handler checks the token (the form's first field) after checking who is asking,
            // so a large body from someone who may not upload is never read (issue 10 §3).
            req.extensions_mut().insert(deferred);
        } else {
            let max_body = super::body_limit_for(req.uri().path(), state.config.max_body_bytes);
            let (checked, ok) =
                match check_csrf_token(req, existing_csrf.as_deref(), max_body).await {
                    Ok(pair) => pair,
                    Err(response) => return Err(response),
                };
            if !ok {
                tracing::warn!(
                    reason = "missing or wrong CSRF token",
                    "refused a state-changing request"
                );
                return Err(StatusCode::FORBIDDEN.into_response());
            }
            req = checked;
        }
    }

    let now = Utc::now();
    let lifetimes = state.config.sessions;
    // A member of staff's GET of a task page reads the page's versions beside the sessions: a kept page is then
    // one database step from being served, not two (see `staff_pages`). Both come before the page's facts.
    let task_page = (token_cookie(req.headers(), SESSION_COOKIE).is_none()
        && token_cookie(req.headers(), STAFF_SESSION_COOKIE).is_some()
        && super::staff_pages::is_task_page(req.method(), req.uri()))
    .then(|| (req.method().clone(), req.uri().clone()));
    let (teacher, staff, task_versions) = tokio::join!(
        LoadedSession::load(
            state,
            req.headers(),
            SESSION_COOKIE,
            lifetimes.teacher_max,
            now,
        ),
        LoadedSession::load(
            state,
            req.headers(),
            STAFF_SESSION_COOKIE,
            lifetimes.staff_max,
            now,
        ),
        async {
            match &task_page {
                Some((method, uri)) => layer.staff_pages.versions(method, uri).await,
                None => None,
            }
        }
    );
    let context = RequestContext {
        csrf_token: csrf_token.clone(),
        session: teacher.handle.clone(),
        staff: staff.handle.clone(),
    };
    req.extensions_mut().insert(context.clone());
    // What a page rendered in place of a redirect needs from this request (see `render_instead_of_redirect`).
    let page_request = is_state_changing(req.method()).then(|| {
        (
            req.headers().clone(),
            req.extensions().get::<super::security::CspNonce>().cloned(),
        )
    });

    Ok((
        req,
        Pending {
            teacher,
            staff,
            context,
            task_versions,
            page_request,
            csrf_token,
            set_csrf_cookie: existing_csrf.is_none(),
            now,
            secure,
        },
    ))
}

/// Shows an anonymous visitor's form errors in place of a redirect, then saves both sessions and sets the cookies.
async fn after_handler(
    state: &AppState,
    pages: &Router,
    pending: Pending,
    mut response: Response,
) -> Response {
    let Pending {
        teacher,
        staff,
        context,
        task_versions: _,
        page_request,
        csrf_token,
        set_csrf_cookie,
        now,
        secure,
    } = pending;
    if let Some((headers, nonce)) = page_request {
        if let Some(target) = anonymous_flash_redirect(&response, &teacher, &staff) {
            response = render_instead_of_redirect(pages, &target, headers, nonce, context).await;
        }
    }

    // "Continue to <service>" posts to us and is redirected to the service: browsers check `form-action` on each
    // redirect of a form's submission, so while a service's request is kept its origin may be a form's end.
    let client_origin = teacher
        .handle
        .lock()
        .data
        .live_client_request(now.timestamp())
        .and_then(|request| super::security::FormActionOrigin::of(&request.redirect_uri));
    if let Some(origin) = client_origin {
        response.extensions_mut().insert(origin);
    }
    for session in [teacher, staff] {
        if let Err(failed) = session.save(state, now, secure, &mut response).await {
            return failed;
        }
    }
    if set_csrf_cookie {
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
    /// The database key of the cookie's token, if there was one: worked out once per request.
    key: Option<String>,
    /// The row this request loaded, if the cookie named a live session.
    loaded: Option<StoredSession>,
    /// The absolute lifetime of this kind of session.
    max: Duration,
    handle: SessionHandle,
}

impl LoadedSession {
    async fn load(
        state: &AppState,
        headers: &HeaderMap,
        cookie: &'static str,
        max: Duration,
        now: DateTime<Utc>,
    ) -> Self {
        let key = token_cookie(headers, cookie).map(|token| session_key(&token));
        let mut loaded = None;
        let mut data = None;
        if let Some(key) = &key {
            match state.store.load_live_session(key, now).await {
                // Past its absolute lifetime (perhaps shortened since): ended, whatever its idle expiry says.
                Ok(Some(row)) if row.created_at + max <= now => {}
                Ok(Some(row)) => match serde_json::from_str::<SessionData>(&row.data) {
                    Ok(parsed) => {
                        data = Some(parsed);
                        loaded = Some(row);
                    }
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
            key,
            loaded,
            max,
            handle: SessionHandle::new(SessionState {
                data: data.unwrap_or_default(),
                exists,
                ..Default::default()
            }),
        }
    }

    /// When a session used now should expire: the idle lifetime from now, but never past its absolute lifetime.
    fn expiry(
        &self,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> DateTime<Utc> {
        (now + idle).min(created_at + self.max)
    }

    /// True when this request only left a flash in a session that did not exist before: post/redirect/get for an
    /// anonymous visitor's form errors.
    fn is_new_with_only_a_flash(&self) -> bool {
        let state = self.handle.lock();
        self.loaded.is_none()
            && state.dirty
            && !state.end
            && state.data.flash.is_some()
            && SessionData {
                flash: None,
                ..state.data.clone()
            } == SessionData::default()
    }

    /// True when this request asked for nothing to be saved.
    fn is_untouched(&self) -> bool {
        let state = self.handle.lock();
        !state.dirty && !state.end && !state.rotate
    }

    /// Saves, replaces, renews or ends the session as the request asked, setting or clearing its cookie.
    async fn save(
        self,
        state: &AppState,
        now: DateTime<Utc>,
        secure: bool,
        response: &mut Response,
    ) -> Result<(), Response> {
        let idle = state.config.sessions.idle;
        let (end, dirty, rotate, data) = {
            let s = self.handle.lock();
            // The data is read below only when something is to be written: most requests leave it alone.
            let data = if s.dirty {
                s.data.clone()
            } else {
                SessionData::default()
            };
            (s.end, s.dirty, s.rotate, data)
        };
        let old_key = self.key.clone().filter(|_| self.loaded.is_some());
        let replaced = end || rotate;
        // Whether the session this request loaded was ended by another request meanwhile (sign-out elsewhere,
        // back-channel logout): then it stays ended.
        let mut ended_elsewhere = false;
        if replaced {
            if let Some(key) = &old_key {
                match state.store.delete_session(key).await {
                    Ok(deleted) => ended_elsewhere = !deleted,
                    Err(e) => {
                        tracing::error!(error = %e, "could not delete the session being ended or replaced")
                    }
                }
            }
        }
        let mut clear_cookie = end;
        match (&old_key, &self.loaded) {
            (Some(key), Some(loaded)) if dirty && !replaced => {
                let json = serde_json::to_string(&data).expect("session data serialises");
                let subject = data.user.as_ref().and_then(|u| u.one_login_subject());
                let user_id = data.user.as_ref().map(|u| u.user_id);
                let expires_at = self.expiry(loaded.created_at, now, idle);
                match state
                    .store
                    .update_session(key, &json, subject, user_id, expires_at)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::info!("session ended by another request; not saved");
                        clear_cookie = true;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not save session");
                        return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
                    }
                }
            }
            (Some(key), Some(loaded)) if !dirty && !replaced => {
                // Renewal on use, written only once less than half of the idle lifetime is left.
                let renewed = self.expiry(loaded.created_at, now, idle);
                if loaded.expires_at - now < idle / 2 && renewed > loaded.expires_at {
                    match state.store.touch_session(key, renewed).await {
                        Ok(true) => {}
                        Ok(false) => clear_cookie = true,
                        Err(e) => tracing::error!(error = %e, "could not renew session"),
                    }
                }
            }
            _ if !dirty => {}
            // A session someone else ended is not replaced by a new id: privilege must not outlive a sign-out.
            _ if rotate && !end && ended_elsewhere => {
                tracing::info!("session ended by another request; not replaced");
                clear_cookie = true;
            }
            // Nothing to keep for someone without a session (e.g. a flash already shown): no row.
            (None, _) if data == SessionData::default() => {}
            _ => {
                let new_token = new_token();
                let json = serde_json::to_string(&data).expect("session data serialises");
                let subject = data.user.as_ref().and_then(|u| u.one_login_subject());
                let user_id = data.user.as_ref().map(|u| u.user_id);
                if let Err(e) = state
                    .store
                    .insert_session(
                        &session_key(&new_token),
                        &json,
                        subject,
                        user_id,
                        now,
                        self.expiry(now, now, idle),
                    )
                    .await
                {
                    tracing::error!(error = %e, "could not save session");
                    return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
                }
                response.headers_mut().append(
                    header::SET_COOKIE,
                    set_cookie(self.cookie, &new_token, secure, None),
                );
                clear_cookie = false;
            }
        }
        if clear_cookie {
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(self.cookie, "", secure, Some(0)),
            );
        }
        Ok(())
    }
}

/// The local page an anonymous form post redirects to with only a flash to keep, if that is what happened.
fn anonymous_flash_redirect(
    response: &Response,
    teacher: &LoadedSession,
    staff: &LoadedSession,
) -> Option<axum::http::Uri> {
    if !response.status().is_redirection() {
        return None;
    }
    let flash_only = |s: &LoadedSession| s.is_new_with_only_a_flash();
    let ok = (flash_only(teacher) && (staff.is_untouched() || flash_only(staff)))
        || (flash_only(staff) && teacher.is_untouched());
    if !ok {
        return None;
    }
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    let path = location.split('#').next().unwrap_or_default();
    if !path.starts_with('/') || path.starts_with("//") || path.starts_with("/\\") {
        return None;
    }
    path.parse().ok()
}

/// Renders `target` as its GET would, with this request's session handles (holding the flash), and returns that
/// page as the POST's response. The body is read in full here, so the page has taken its flash before the session
/// is saved, leaving nothing to keep.
async fn render_instead_of_redirect(
    pages: &Router,
    target: &axum::http::Uri,
    mut headers: HeaderMap,
    nonce: Option<super::security::CspNonce>,
    context: RequestContext,
) -> Response {
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    let mut req = Request::builder()
        .method(Method::GET)
        .uri(target.clone())
        .body(Body::empty())
        .expect("a parsed URI makes a valid request");
    *req.headers_mut() = headers;
    if let Some(nonce) = nonce {
        req.extensions_mut().insert(nonce);
    }
    req.extensions_mut().insert(context);
    let response = match pages.clone().oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Posts other sites make on purpose, which change nothing here, so need neither our origin nor our CSRF token: an
/// OpenID client's authorization or logout request sent as a form (OpenID Connect Core §3.1.2.1, RP-Initiated
/// Logout §2), answered with a redirect to the same request as a GET ([`super::provider::authorize_post`],
/// [`super::provider::logout_post`]).
fn is_entry_from_elsewhere(method: &Method, path: &str) -> bool {
    method == Method::POST
        && (path == crate::provider::AUTHORIZE_PATH || path == crate::provider::END_SESSION_PATH)
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
