//! `POST /feedback`: validate, then store and confirm, or send the person back to the form with their answers
//! and the errors (post/redirect/get).

use crate::state::AppState;
use app::domain::feedback::{validate_feedback, FeedbackInput};
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
                values: [
                    ("satisfaction".to_string(), input.satisfaction),
                    ("details".to_string(), input.details),
                ]
                .into_iter()
                .collect(),
                errors,
            });
            Redirect::to("/feedback").into_response()
        }
    }
}
