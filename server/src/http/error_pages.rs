//! GOV.UK error pages in place of bare error text. Any response of 400 or above that is not already a page (a
//! rejected form body, a 405, a 413 from the size limit, a 403 from the CSRF check, a 500 from a handler) is
//! replaced by the `/problem/{status}` page, rendered by the Leptos router with this request's CSP nonce. Server
//! function and probe responses keep their own bodies: their callers are programs.

use super::security::CspNonce;
use app::pages::problem::PAGE_STATUSES;
use app::routes;
use app::ssr::{RequestContext, SessionHandle};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::any::Any;
use tower::ServiceExt;

/// A handle on the page router, for rendering error pages from middleware.
#[derive(Clone)]
pub struct ErrorPages {
    pages: Router,
}

impl ErrorPages {
    pub fn new(pages: Router) -> Self {
        Self { pages }
    }

    /// The page for `status`, with `nonce` for its scripts. Falls back to plain text only if rendering fails.
    pub async fn render(&self, status: StatusCode, nonce: Option<CspNonce>) -> Response {
        self.render_from(status, nonce, None).await
    }

    /// [`Self::render`] for a request sent from the form at `from`: the page links back to it.
    pub async fn render_from(
        &self,
        status: StatusCode,
        nonce: Option<CspNonce>,
        from: Option<&str>,
    ) -> Response {
        let page_status = if PAGE_STATUSES.contains(&status.as_u16()) {
            status.as_u16()
        } else {
            500
        };
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(
                match from.filter(|f| app::pages::problem::is_form_path(f)) {
                    Some(from) => format!("/problem/{page_status}?from={from}"),
                    None => format!("/problem/{page_status}"),
                },
            )
            .body(Body::empty())
            .expect("static request is valid");
        if let Some(nonce) = nonce {
            req.extensions_mut().insert(nonce);
        }
        req.extensions_mut().insert(RequestContext {
            csrf_token: String::new(),
            session: SessionHandle::default(),
            staff: SessionHandle::default(),
        });
        match self.pages.clone().oneshot(req).await {
            Ok(mut response) => {
                *response.status_mut() = status;
                response
            }
            Err(never) => match never {},
        }
    }
}

fn is_page(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

/// Paths whose callers are programs, not people: they keep their own error bodies.
pub(super) fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/")
        || matches!(
            path,
            "/health" | "/ready" | "/auth/backchannel-logout" | "/.well-known/jwks.json"
        )
        || path == crate::provider::DISCOVERY_PATH
        || crate::provider::is_client_endpoint(path)
}

pub async fn replace_error_text(
    State(pages): State<ErrorPages>,
    req: Request,
    next: Next,
) -> Response {
    let nonce = req.extensions().get::<CspNonce>().cloned();
    let machine = is_machine_path(req.uri().path());
    let method = req.method().clone();
    let from = match method {
        Method::POST => form_page(req.uri().path()),
        // Someone another service sent here with a request we cannot trust: the page speaks of that service.
        _ if req.uri().path() == routes::OAUTH_AUTHORIZE => {
            Some(routes::OAUTH_AUTHORIZE.to_string())
        }
        _ => None,
    };
    let response = next.run(req).await;
    let status = response.status();
    if status.as_u16() < 400 || machine || is_page(&response) {
        return response;
    }
    // Each server error was logged where it happened (`AppError`, the ports, the session store, the panic
    // handler), once, with its cause: here only the status, for tracing.
    if status.is_server_error() {
        tracing::debug!(status = status.as_u16(), "request failed");
    }
    let mut page = pages.render_from(status, nonce, from.as_deref()).await;
    if method == Method::HEAD {
        *page.body_mut() = Body::empty();
    }
    page.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    page
}

/// The page whose form posts to `path`, for the error page's "Back" link: the teacher's forms post to their own
/// page, a console decision to its task's page.
fn form_page(path: &str) -> Option<String> {
    match path {
        super::UPLOAD_PATH | routes::FEEDBACK | routes::CONNECT_NINO | routes::CONNECT_TRN => {
            Some(path.to_string())
        }
        _ => path
            .strip_prefix("/support/tasks/")
            .and_then(|rest| rest.strip_suffix("/decision"))
            .map(|reference| format!("/support/tasks/{reference}")),
    }
}

/// A panic becomes a plain 500, which [`replace_error_text`] turns into the error page. The panic message may hold
/// personal data, so it is not logged; the location is, by the panic hook.
pub fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}
