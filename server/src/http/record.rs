//! The record page's download: the QTS certificate as a PDF (DESIGN §7.2, last line), for the signed-in teacher
//! connected to a record that holds QTS. Anyone else is sent to sign in, or gets "Page not found": the link is
//! shown only to those who have one, so a request without one is a stale or guessed link, not a mistake to explain.

use super::connect::StoreTeacherData;
use super::error::{AppError, HandlerResult};
use crate::state::AppState;
use app::domain::certificate::QtsCertificate;
use app::ssr::RequestContext;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::Extension;

/// `GET /record/qts-certificate.pdf`.
pub async fn qts_certificate(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> HandlerResult {
    if ctx.session.user().is_none() {
        return Err(AppError::SignInNeeded(app::routes::SIGN_IN));
    }
    let data = StoreTeacherData(state.store.clone(), state.itt_providers.clone());
    let (_, _, facts) = app::ssr::position(&ctx.session, &data).await?;
    let certificate = facts
        .record
        .as_ref()
        .and_then(QtsCertificate::of)
        .ok_or(AppError::NotFound)?;
    let pdf = crate::certificate::qts_certificate_pdf(&certificate);
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        certificate.file_name()
    ))
    .map_err(|_| AppError::NotFound)?;
    let mut response = pdf.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
