//! The feedback form's state: the CSRF token, and what the last failed submission typed and got wrong.

use crate::domain::{feedback::FeedbackInput, FieldError};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackFormState {
    pub csrf_token: String,
    pub values: FeedbackInput,
    pub errors: Vec<FieldError>,
}

#[server(input = GetUrl)]
pub async fn load_feedback_form() -> Result<FeedbackFormState, ServerFnError> {
    let ctx =
        crate::ssr::request_context().ok_or_else(|| ServerFnError::new("no request context"))?;
    let flash = ctx
        .session
        .take_flash(&crate::forms::FormId::Feedback)
        .unwrap_or_default();
    let value = |key: &str| flash.values.get(key).cloned().unwrap_or_default();
    Ok(FeedbackFormState {
        csrf_token: ctx.csrf_token,
        values: FeedbackInput {
            satisfaction: value("satisfaction"),
            details: value("details"),
        },
        errors: flash.errors,
    })
}
