//! `POST /feedback`: validate, then store and confirm, or send the person back to the form with their answers
//! and the errors (post/redirect/get).

use super::error::{AppError, HandlerResult};
use crate::state::AppState;
use app::domain::feedback::{validate_feedback, FeedbackInput, MAX_FEEDBACK_CHARS};
use app::domain::validation::{echo_limit, truncate_chars};
use app::forms::FormId;
use app::ssr::{Flash, RequestContext};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use chrono::Utc;

pub async fn submit_feedback(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(input): Form<FeedbackInput>,
) -> HandlerResult {
    let feedback = validate_feedback(&input).map_err(|errors| {
        AppError::form(
            &ctx.session,
            Flash {
                form: FormId::Feedback,
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
            },
            "/feedback",
        )
    })?;
    state
        .store
        .insert_feedback(feedback.satisfaction, &feedback.details, Utc::now())
        .await
        .map_err(AppError::store("storing feedback"))?;
    Ok(Redirect::to("/feedback/sent").into_response())
}
