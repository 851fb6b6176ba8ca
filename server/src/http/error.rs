//! The one error type of the plain axum handlers: each returns `Result<_, AppError>` and uses `?`, and
//! [`AppError::into_response`] decides the status and writes the one log line. Bare statuses become GOV.UK pages in
//! [`super::error_pages`]. The server functions answer the same statuses for the same causes
//! ([`app::ssr::DataUnavailable::STATUS`] on both sides for a database that is away).

use crate::db::StoreError;
use app::ssr::{DataUnavailable, Flash, SessionHandle, StaffRefused};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

/// Why a request was not done.
#[derive(Debug)]
pub enum AppError {
    /// Not signed in: to the sign-in page at this path.
    SignInNeeded(&'static str),
    /// Not at this step: the person belongs at this path (their place in the journey, e.g. their record once
    /// connected).
    Elsewhere(&'static str),
    /// Signed in, but not allowed to do this.
    Forbidden,
    NotFound,
    /// Storage could not answer: 503 with "Sorry, there is a problem with the service". `doing` says what failed,
    /// for the log; `cause` is the store's error (its text never holds form values), `None` when it has been
    /// logged already (by a port, [`app::ssr::TeacherData`] or [`app::ssr::SupportConsole`], or by the caller).
    Unavailable {
        doing: &'static str,
        cause: Option<StoreError>,
    },
    /// The form has errors to show: keep them and what was typed in `session`, and send the person back to `to`
    /// (post/redirect/get).
    FormErrors {
        session: SessionHandle,
        flash: Flash,
        to: String,
    },
    /// A request no page of ours sends.
    BadRequest,
    /// A body over its limit, found while reading it.
    TooLarge,
}

impl AppError {
    /// [`AppError::Unavailable`] for a store error met while `doing` something: `.map_err(AppError::store("…"))`.
    pub fn store(doing: &'static str) -> impl FnOnce(StoreError) -> AppError {
        move |cause| AppError::Unavailable {
            doing,
            cause: Some(cause),
        }
    }

    /// [`AppError::Unavailable`] without a store error of its own: the caller (or the port) has logged why.
    pub fn unavailable(doing: &'static str) -> AppError {
        AppError::Unavailable { doing, cause: None }
    }

    /// Back to the form at `to` with `flash` kept in `session`.
    pub fn form(session: &SessionHandle, flash: Flash, to: impl Into<String>) -> AppError {
        AppError::FormErrors {
            session: session.clone(),
            flash,
            to: to.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(cause: StoreError) -> Self {
        AppError::store("using the database")(cause)
    }
}

impl From<DataUnavailable> for AppError {
    fn from(_: DataUnavailable) -> Self {
        AppError::unavailable("reading through a port")
    }
}

/// How the ports ([`app::ssr::TeacherData`], [`app::ssr::SupportConsole`]) turn a store error into theirs: logged
/// here, once, since their callers learn only that the database could not answer.
impl From<StoreError> for DataUnavailable {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = %error, "the database could not answer");
        DataUnavailable
    }
}

impl From<StaffRefused> for AppError {
    fn from(refused: StaffRefused) -> Self {
        match refused {
            StaffRefused::SignedOut => AppError::SignInNeeded(super::support::SIGN_IN_PATH),
            StaffRefused::NoAccess { staff_id } => {
                tracing::warn!(staff_id, "staff action refused: role does not allow it");
                AppError::Forbidden
            }
            StaffRefused::Unavailable(e) => e.into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::SignInNeeded(path) | AppError::Elsewhere(path) => {
                Redirect::to(path).into_response()
            }
            AppError::Forbidden => StatusCode::FORBIDDEN.into_response(),
            AppError::NotFound => StatusCode::NOT_FOUND.into_response(),
            AppError::Unavailable { doing, cause } => {
                // Without a cause, the port that met the error has logged it.
                if let Some(error) = cause {
                    tracing::error!(error = %error, doing, "service unavailable");
                }
                DataUnavailable::STATUS.into_response()
            }
            AppError::FormErrors { session, flash, to } => {
                session.set_flash(flash);
                Redirect::to(&to).into_response()
            }
            AppError::BadRequest => StatusCode::BAD_REQUEST.into_response(),
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        }
    }
}

/// What a handler answers: a redirect or a page on success, an [`AppError`] otherwise.
pub type HandlerResult = Result<Response, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status() {
        let status = |e: AppError| e.into_response().status();
        assert_eq!(
            status(AppError::SignInNeeded("/sign-in")),
            StatusCode::SEE_OTHER
        );
        assert_eq!(status(AppError::Forbidden), StatusCode::FORBIDDEN);
        assert_eq!(status(AppError::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(status(AppError::BadRequest), StatusCode::BAD_REQUEST);
        assert_eq!(status(AppError::TooLarge), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            status(AppError::Elsewhere("/record")),
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            status(AppError::from(DataUnavailable)),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(AppError::from(StoreError::Corrupt("x".into()))),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn form_errors_keep_the_flash_and_go_back() {
        let session = SessionHandle::default();
        let flash = Flash::default();
        let response = AppError::form(&session, flash.clone(), "/feedback").into_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/feedback");
        assert_eq!(session.lock().data.flash, Some(flash));
    }
}
