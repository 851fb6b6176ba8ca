//! Server functions' own error responses. A request whose arguments cannot be read (a missing or malformed query
//! parameter, an edited URL) is the caller's mistake: 400, with a fixed message, never a 500 carrying serde's words
//! (which would also count as a server fault in monitoring).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

/// Where server functions are served.
const SERVER_FN_PREFIX: &str = "/api/";
/// An error body longer than this is not an argument error: passed on as it is.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// How server functions encode the errors of reading their arguments (`Kind|message`).
const ARGUMENT_ERRORS: [&str; 3] = ["Args|", "Deserialization|", "MissingArg|"];

/// Turns a server function's "could not read the arguments" 500 into a 400.
pub async fn argument_errors_are_bad_requests(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with(SERVER_FN_PREFIX) {
        return next.run(req).await;
    }
    let response = next.run(req).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match http_body_util::Limited::new(body, MAX_ERROR_BODY)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let text = String::from_utf8_lossy(&bytes);
    if ARGUMENT_ERRORS.iter().any(|kind| text.starts_with(kind)) {
        tracing::info!("server function called with arguments it cannot read");
        let mut bad = (
            StatusCode::BAD_REQUEST,
            "Args|The request’s arguments are not valid",
        )
            .into_response();
        bad.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return bad;
    }
    Response::from_parts(parts, Body::from(bytes))
}
