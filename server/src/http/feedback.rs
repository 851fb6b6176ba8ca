//! `POST /feedback`: validate, then store and confirm, or send the person back to the form with their answers
//! and the errors (post/redirect/get).

use crate::state::AppState;
use app::domain::feedback::{validate_feedback, FeedbackInput, MAX_FEEDBACK_CHARS};
use app::domain::validation::{echo_limit, truncate_chars};
use app::ssr::{Flash, RequestContext};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;

pub async fn submit_feedback(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(input): Form<FeedbackInput>,
) -> Response {
    match validate_feedback(&input) {
        Ok(feedback) => match state
            .store
            .insert_feedback(feedback.satisfaction, &feedback.details, Utc::now())
            .await
        {
            Ok(_) => Redirect::to("/feedback/sent").into_response(),
            Err(e) => {
                tracing::error!(error = %e, "could not store feedback");
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            }
        },
        Err(errors) => {
            ctx.session.set_flash(Flash {
                form: "feedback".into(),
                // Shown back cut to a field's worth (issue 10 §4): a megabyte typed never reaches the session.
                values: [
                    (
                        "satisfaction".to_string(),
                        truncate_chars(&input.satisfaction, 50),
                    ),
                    (
                        "details".to_string(),
                        truncate_chars(&input.details, echo_limit(MAX_FEEDBACK_CHARS)),
                    ),
                ]
                .into_iter()
                .collect(),
                errors,
            });
            Redirect::to("/feedback").into_response()
        }
    }
}
