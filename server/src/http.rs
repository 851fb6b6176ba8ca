//! The HTTP surface: routes, and the middleware every request passes through.
//!
//! Outermost first: request counts and latency by route (only when `METRICS_ADDR` is set: [`crate::metrics`]),
//! request id and tracing, panics caught, security headers (with the CSP nonce), the cache of
//! pages that are the same for every signed-out visitor, error pages in place of bare error text, paths with a
//! control character refused ([`paths`]), the body size limit, then sessions and CSRF checks, then the routes.
//! Other services' servers' busiest fixed paths (token, userinfo, creating a TRN token: [`client_routes`]) join below
//! the security headers and pass only their own body limit after that: every layer in between lets them through
//! untouched, but cost each request its polling.

pub mod account_merge;
pub mod account_page;
pub mod account_record;
pub mod account_sign_in;
pub mod assets;
pub mod auth;
pub mod client_addr;
pub mod connect;
pub mod cookies;
pub mod error;
pub mod error_pages;
pub mod feedback;
pub mod form_limit;
pub mod health;
pub mod identity_support;
pub mod page_cache;
pub mod paths;
pub mod personal_pages;
pub mod provider;
pub mod record;
pub mod security;
pub mod server_fns;
pub mod services;
pub mod session;
pub mod staff_pages;
pub mod support;

use crate::state::AppState;
use app::routes;
use app::{shell, App};
use axum::extract::{Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The routes without middleware: the Leptos pages and server functions, and the plain axum handlers.
pub fn routes(state: &AppState) -> Router<AppState> {
    // Both behind an `Arc`: axum clones each route's handler, and the closures below with it, for every request,
    // and cloning the options and the context themselves was about 3% of the CPU of a kept task page (issue 16 §1).
    let leptos_options = std::sync::Arc::new(state.leptos_options.clone());
    let route_list = generate_route_list(App);
    let context = std::sync::Arc::new(PageContext::new(state));
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route(routes::FEEDBACK, post(feedback::submit_feedback))
        .route(routes::CONTINUE, get(connect::continue_journey))
        .route(routes::CONNECT_NINO, post(connect::answer_nino))
        .route(routes::CONNECT_TRN, post(connect::answer_trn))
        .route(routes::CONNECT_ITT, post(connect::answer_itt))
        .route(routes::CONNECT_SUPPORT, post(connect::request_support))
        .route(routes::RECORD_QTS_CERTIFICATE, get(record::qts_certificate))
        .route(
            UPLOAD_PATH,
            post(identity_support::submit_form)
                .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_BODY_BYTES)),
        )
        .route(routes::IDENTITY_SUPPORT_SEND, post(identity_support::send))
        .route(routes::SIGN_IN, get(auth::sign_in))
        .route(routes::ACCOUNT_EMAIL, post(account_page::submit_email))
        .route(
            routes::ACCOUNT_EMAIL_CODE,
            post(account_page::submit_email_code),
        )
        .route(
            routes::ACCOUNT_EMAIL_RESEND,
            post(account_page::resend_email_code),
        )
        .route(routes::ACCOUNT_MOBILE, post(account_page::submit_mobile))
        .route(
            routes::ACCOUNT_MOBILE_CODE,
            post(account_page::submit_mobile_code),
        )
        .route(
            routes::ACCOUNT_MOBILE_RESEND,
            post(account_page::resend_mobile_code),
        )
        .route(routes::ACCOUNT_NAME, post(account_page::submit_name))
        .route(
            routes::ACCOUNT_DATE_OF_BIRTH,
            post(account_page::submit_date_of_birth),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_EMAIL,
            post(account_sign_in::submit_email),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_EMAIL_CODE,
            post(account_sign_in::submit_email_code),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_EMAIL_RESEND,
            post(account_sign_in::resend_email_code),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_MOBILE,
            post(account_sign_in::submit_mobile),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_MOBILE_CODE,
            post(account_sign_in::submit_mobile_code),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_MOBILE_RESEND,
            post(account_sign_in::resend_mobile_code),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_NAME,
            post(account_sign_in::submit_name),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_DATE_OF_BIRTH,
            post(account_sign_in::submit_date_of_birth),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_IS_THIS_YOU,
            post(account_sign_in::submit_is_this_you),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_EXISTING_CODE,
            post(account_sign_in::submit_existing_code),
        )
        .route(
            routes::ACCOUNT_SIGN_IN_EXISTING_RESEND,
            post(account_sign_in::resend_existing_code),
        )
        .route(
            routes::ACCOUNT_FIND_RECORD_NINO,
            post(account_record::answer_nino),
        )
        .route(
            routes::ACCOUNT_FIND_RECORD_TRN,
            post(account_record::answer_trn),
        )
        .route(
            routes::ACCOUNT_FIND_RECORD_QTS,
            post(account_record::answer_qts),
        )
        .route(
            routes::ACCOUNT_FIND_RECORD_CHECK,
            post(account_record::look_up),
        )
        .merge(account_merge::routes())
        .route(routes::AUTH_IDENTITY, get(auth::verify_identity))
        .route("/auth/callback", get(auth::callback))
        .route(
            "/sign-out",
            get(auth::sign_out).post(auth::sign_out_confirmed),
        )
        .route(routes::SIGNED_OUT, get(auth::signed_out_check))
        .route("/auth/backchannel-logout", post(auth::backchannel_logout))
        .route(crate::provider::JWKS_PATH, get(provider::jwks))
        .route(
            crate::provider::DISCOVERY_PATH,
            get(provider::openid_configuration),
        )
        .route(
            crate::provider::AUTHORIZE_PATH,
            get(provider::authorize).post(provider::authorize_post),
        )
        .route(routes::OAUTH_CONTINUE, post(provider::continue_to_client))
        .route(
            routes::OAUTH_LOGOUT,
            get(provider::logout).post(provider::logout_post),
        )
        .route(
            crate::api::QTS_PATH,
            axum::routing::put(crate::api::award_qts),
        )
        .route(crate::api::OPENAPI_PATH, get(crate::api::openapi))
        .route(support::SIGN_IN_PATH, get(support::sign_in))
        .route("/support/auth/callback", get(support::callback))
        .route(routes::SUPPORT_SIGN_OUT, post(support::sign_out))
        .route(routes::SUPPORT_STAFF, post(support::set_role))
        .route(routes::SUPPORT_SERVICES_NEW, post(services::add_service))
        .route(
            "/support/services/{client_id}/uris",
            post(services::set_uris),
        )
        .route(
            "/support/services/{client_id}/mobile",
            post(services::set_mobile),
        )
        .route(
            "/support/services/{client_id}/rotate-secret",
            post(services::rotate_secret),
        )
        .route(
            "/support/services/{client_id}/enabled",
            post(services::set_service_enabled),
        )
        .route(
            routes::SUPPORT_API_CLIENTS_NEW,
            post(services::add_api_client),
        )
        .route(
            "/support/api-clients/{id}/enabled",
            post(services::set_api_client_enabled),
        )
        .route("/support/tasks/events", get(support::events))
        .route("/support/tasks/{reference}/assign", post(support::assign))
        .route(
            "/support/tasks/{reference}/decision",
            post(support::decision),
        )
        .route("/support/tasks/{reference}/confirm", post(support::confirm))
        .route(
            "/support/tasks/{reference}/disconnect",
            post(support::disconnect),
        )
        .route("/support/tasks/{reference}/proof", get(support::proof))
        .leptos_routes_with_context(
            state,
            route_list,
            {
                let context = context.clone();
                move || context.provide()
            },
            {
                let options = leptos_options.clone();
                move || shell(LeptosOptions::clone(&options))
            },
        )
        .fallback(move |state: State<AppState>, req: Request| fallback(state, context, req))
}

/// The fixed paths other services' servers call under load: the provider's client endpoints
/// ([`crate::provider::is_client_endpoint`]) and the TRN token API's create. [`with_middleware`] adds them below only
/// the layers that do anything for them.
fn client_routes() -> Router<AppState> {
    Router::new()
        .route(crate::provider::TOKEN_PATH, post(provider::token))
        .route(
            crate::provider::USERINFO_PATH,
            get(provider::userinfo).post(provider::userinfo),
        )
        .route(
            crate::api::TRN_TOKENS_PATH,
            post(crate::api::create_trn_token),
        )
}

/// Adds the middleware stack to `routes`, and the provider's client endpoints ([`client_routes`]).
pub fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let pages = routes.clone().with_state(state.clone());
    let routes = routes
        .layer(axum::middleware::from_fn(
            server_fns::argument_errors_are_bad_requests,
        ))
        .layer(from_fn_with_state(
            std::sync::Arc::new(session::SessionLayer {
                state: state.clone(),
                pages: pages.clone(),
                personal_pages: personal_pages::PersonalPages::new(
                    state.config.personal_pages_kept,
                ),
                staff_pages: staff_pages::StaffPages::new(
                    state.config.personal_pages_kept,
                    state.store.clone(),
                ),
            }),
            session::session_and_csrf,
        ))
        .layer(from_fn_with_state(max_body, limit_body))
        .layer(axum::middleware::from_fn(paths::refuse_control_characters))
        .layer(from_fn_with_state(
            error_pages::ErrorPages::new(pages),
            error_pages::replace_error_text,
        ))
        .layer(from_fn_with_state(
            page_cache::PageCache::default(),
            page_cache::serve_cached_pages,
        ))
        // The client endpoints join here, past the layers above, each of which lets them through untouched (no
        // session, no server function, no page to cache or to show for an error, one fixed path) but would still
        // cost every token request its boxing and polling (issue 12, "Measure"); their body limit is kept.
        .merge(client_routes().layer(from_fn_with_state(max_body, limit_body)))
        .layer(from_fn_with_state(
            security::SecurityHeaders::new(&state),
            security::security_headers,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(crate::telemetry::make_span))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(error_pages::panic_response))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_secs(30),
                )),
        );
    // Outermost, so it counts every answer as sent (a timeout's 503, a panic's 500, a cached page) and times all
    // of the work; it still runs after routing, so the route template is known. Left out when metrics are off.
    let routes = if state.config.metrics_addr.is_some() {
        routes.layer(axum::middleware::from_fn(crate::metrics::record_requests))
    } else {
        routes
    };
    routes.with_state(state)
}

/// The proof-of-identity form: the one route whose body may hold a file.
pub const UPLOAD_PATH: &str = routes::IDENTITY_SUPPORT;
/// Its body limit: the largest file we accept and room for the other fields, so a file a little too big gets the
/// form's own error message rather than a refusal.
const UPLOAD_BODY_BYTES: usize = app::domain::identity_support::MAX_UPLOAD_BYTES + 1024 * 1024;

/// The body limit for a request to `path`.
pub fn body_limit_for(path: &str, max_body: usize) -> usize {
    if path == UPLOAD_PATH {
        UPLOAD_BODY_BYTES.max(max_body)
    } else if crate::provider::is_client_endpoint(path) {
        provider::TOKEN_BODY_LIMIT.min(max_body)
    } else {
        max_body
    }
}

/// The 413 for `path`: the provider's endpoints answer in OAuth's JSON, the API in problem JSON.
fn too_large(path: &str) -> Response {
    if crate::provider::is_client_endpoint(path) {
        provider::OAuthError::too_large()
    } else {
        crate::api::too_large(path)
    }
}

/// Refuses bodies over the limit for their path: 413 at once for a declared length over it, or when reading the
/// body goes past it. A urlencoded form that may be over the limit is read with each field cut short instead
/// ([`form_limit`]), so the person gets their form back with an error rather than a 413 page.
async fn limit_body(State(max_body): State<usize>, req: Request, next: Next) -> Response {
    let limit = body_limit_for(req.uri().path(), max_body);
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // The token endpoint's form is a program's, not a person's: over the limit is refused, not cut short.
    let urlencoded = !crate::provider::is_client_endpoint(req.uri().path())
        && form_limit::is_urlencoded(
            req.headers()
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
    if urlencoded && declared.is_none_or(|len| len > limit) {
        if declared.is_some_and(|len| len > form_limit::FORM_READ_LIMIT) {
            return too_large(req.uri().path());
        }
        // Boxed: every request passes through here, and the rare path should not widen its stack frame.
        return Box::pin(shorten_form_then_run(req, limit, next)).await;
    }
    if declared.is_some_and(|len| len > limit) {
        return too_large(req.uri().path());
    }
    let req = req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    next.run(req).await
}

/// [`limit_body`] for a urlencoded form that may be over `limit`: read it with each field cut short, then go on.
async fn shorten_form_then_run(req: Request, limit: usize, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    match form_limit::shorten_form(body, limit).await {
        Ok(shortened) => {
            parts
                .headers
                .insert(axum::http::header::CONTENT_LENGTH, shortened.len().into());
            next.run(Request::from_parts(
                parts,
                axum::body::Body::from(shortened),
            ))
            .await
        }
        Err(form_limit::FormTooBig::TooBig) => {
            axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response()
        }
        Err(form_limit::FormTooBig::Unreadable) => {
            axum::http::StatusCode::BAD_REQUEST.into_response()
        }
    }
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let routes = routes(&state);
    with_middleware(routes, state)
}

/// Context every page and server function can read: the asset URLs, the ports to the data and One Login's links,
/// made once (this runs for every page), and the CSP nonce of this request.
#[derive(Clone)]
struct PageContext {
    assets: app::ssr::AssetUrls,
    teacher_data: std::sync::Arc<dyn app::ssr::TeacherData>,
    console: std::sync::Arc<dyn app::ssr::SupportConsole>,
    one_login: app::ssr::OneLoginLinks,
}

impl PageContext {
    fn new(state: &AppState) -> Self {
        Self {
            assets: app::ssr::AssetUrls {
                css: state.assets.versioned_url("/assets/main.css"),
                script: state.assets.versioned_url("/assets/app.js"),
            },
            teacher_data: std::sync::Arc::new(connect::StoreTeacherData(
                state.store.clone(),
                state.itt_providers.clone(),
            )),
            console: std::sync::Arc::new(crate::console::StoreConsole::new(state)),
            one_login: app::ssr::OneLoginLinks {
                account_url: state.config.one_login.account_url.clone(),
            },
        }
    }

    fn provide(&self) {
        provide_context(self.assets.clone());
        provide_context(self.teacher_data.clone());
        provide_context(self.console.clone());
        provide_context(self.one_login.clone());
        if let Some(parts) = use_context::<axum::http::request::Parts>() {
            if let Some(nonce) = parts.extensions.get::<security::CspNonce>() {
                provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
            }
        }
    }
}

/// Static files first; anything else is rendered by the Leptos router, which shows "Page not found".
async fn fallback(
    State(state): State<AppState>,
    context: std::sync::Arc<PageContext>,
    req: Request,
) -> Response {
    if let Some(response) = state.assets.respond(req.uri(), req.headers()) {
        return response;
    }
    let handler = leptos_axum::render_app_to_stream_with_context(move || context.provide(), {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    });
    handler(req).await.into_response()
}
