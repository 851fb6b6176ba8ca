//! Teacher ID's OpenID provider endpoints as they exist so far (issue 12): discovery, the JWKS, and the checking
//! half of `/oauth2/authorize`. See [`crate::provider`] for the keys and the discovery document.

use super::error::AppError;
use crate::provider::{discovery, published_keys, JWKS_MAX_AGE_SECONDS};
use crate::state::AppState;
use app::domain::provider::{
    sign_in_needed, validate_authorization_request, AuthorizeError, ErrorCode, ErrorResponse,
};
use app::ssr::RequestContext;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;

/// `GET /.well-known/openid-configuration`.
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(discovery(&state.config.public_base_url)),
    )
        .into_response()
}

/// `GET /.well-known/jwks.json`: our One Login client-assertion key first (rules 1, 2 of the One Login RP notes;
/// One Login reads it here), then the ID-token keys published now: the current one, and during a rollover the one
/// it replaced.
pub async fn jwks(State(state): State<AppState>) -> Result<Response, AppError> {
    let mut keys: Vec<serde_json::Value> = state.one_login.public_jwks()["keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    keys.extend(
        published_keys(&state.store, Utc::now())
            .await
            .map_err(AppError::store("reading the ID-token signing keys"))?,
    );
    Ok((
        [(
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECONDS}"),
        )],
        Json(serde_json::json!({ "keys": keys })),
    )
        .into_response())
}

/// `GET /oauth2/authorize`: every rule of [`app::domain::provider`] is checked, and each refusal is answered as
/// the specification says: a GOV.UK error page when the client or redirect URI cannot be trusted, otherwise the
/// error at the client's redirect URI, `login_required` for `prompt=none` with nobody signed in.
///
/// Signing a teacher in for a client (the journey, codes, tokens) is not built yet, so a request that passes
/// every check is answered `temporarily_unavailable` at the client's redirect URI: the client learns it cannot
/// sign anyone in through us yet, and nobody is led into a journey that cannot return them.
pub async fn authorize(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    req: Request,
) -> Result<Response, AppError> {
    let params: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut client_ids = params.iter().filter(|(k, _)| k == "client_id");
    let client = match (client_ids.next(), client_ids.next()) {
        (Some((_, id)), None) if id.len() <= 100 => state
            .store
            .client(id)
            .await
            .map_err(AppError::store("reading a client"))?,
        _ => None,
    };
    let request = match validate_authorization_request(&params, client.as_ref()) {
        Ok(request) => request,
        Err(AuthorizeError::Untrusted(why)) => {
            tracing::warn!(
                reason = why.reason(),
                "authorization request refused: redirect URI not trusted"
            );
            return Ok(StatusCode::BAD_REQUEST.into_response());
        }
        Err(AuthorizeError::Redirect(e)) => return Ok(refuse(&e)),
    };
    if ctx.session.user().is_none() {
        if let Err(e) = sign_in_needed(&request, None, Utc::now().timestamp()) {
            return Ok(refuse(&e));
        }
    }
    Ok(refuse(&ErrorResponse {
        redirect_uri: request.redirect_uri,
        error: ErrorCode::TemporarilyUnavailable,
        description: "Signing in to other services through Teacher ID is not available yet",
        state: Some(request.state),
    }))
}

/// `POST /oauth2/authorize`: the same request sent as a form, which OpenID Connect Core (§3.1.2.1) lets a client
/// do. It is answered with a 303 to the same parameters as a GET, in the order sent (repeats kept, so the GET
/// refuses them as it would): the GET is then checked as any other, and, being a top-level GET, carries the
/// teacher's `SameSite=Lax` session cookie, which a post from another site does not. Nothing is stored or changed
/// here, so it needs neither our origin nor a CSRF token ([`super::session`]).
pub async fn authorize_post(axum::Form(params): axum::Form<Vec<(String, String)>>) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("{}?{query}", crate::provider::AUTHORIZE_PATH),
        )],
    )
        .into_response()
}

/// The error at the client's redirect URI (RFC 6749 §4.1.2.1: a 302 with the error in the query).
fn refuse(e: &ErrorResponse) -> Response {
    tracing::info!(
        error = e.error.as_str(),
        "authorization request answered with an error"
    );
    (StatusCode::FOUND, [(header::LOCATION, e.location())]).into_response()
}
