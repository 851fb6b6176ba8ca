//! The test-control HTTP API (`/admin/…`): the same controls the Rust API gives, for tests in other languages and
//! for testers. Unauthenticated on purpose: the stand-in only ever runs on a developer's machine or in CI.

use crate::authorize::resolve;
use crate::control::NextLogin;
use crate::state::Provider;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;

/// Why a next login cannot be queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NextLoginError {
    #[error("no persona has the id {0:?}")]
    UnknownPersona(String),
    #[error("persona \"custom\" needs \"custom\" details")]
    MissingCustom,
}

/// Queues `next` for the next valid `/authorize`, replacing any queued before.
pub fn queue(p: &Provider, next: NextLogin) -> Result<(), NextLoginError> {
    if resolve(p, &next).is_none() {
        return Err(if next.persona == crate::personas::CUSTOM {
            NextLoginError::MissingCustom
        } else {
            NextLoginError::UnknownPersona(next.persona)
        });
    }
    p.store().next_login = Some(next);
    Ok(())
}

/// `POST /admin/next-login` with a [`NextLogin`] as JSON.
pub async fn next_login(State(p): State<Arc<Provider>>, body: Bytes) -> Response {
    let next: NextLogin = match serde_json::from_slice(&body) {
        Ok(next) => next,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("Not a valid next login: {e}") })),
            )
                .into_response()
        }
    };
    match queue(&p, next) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// `DELETE /admin/next-login`: forget a queued sign-in, so the picker shows again.
pub async fn clear_next_login(State(p): State<Arc<Provider>>) -> StatusCode {
    p.store().next_login = None;
    StatusCode::NO_CONTENT
}

/// `GET /admin/personas`: every persona as JSON.
pub async fn personas(State(p): State<Arc<Provider>>) -> Response {
    Json(&p.personas).into_response()
}
