//! Paths with a control character in them (`%00`, `%1B`, `%C2%85`, …, percent-encoded: a raw one never gets
//! this far) are refused as "page not found" before any handler sees them. No page of ours has one, the person
//! sees the GOV.UK page rather than whatever a handler would make of it, and a lookup never asks PostgreSQL about
//! a text holding a NUL, which it cannot store or compare and answers with an error (a 503 before this).
//! Machine paths (the API, the provider's client endpoints) are left to their handlers, which answer in JSON.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether the decoded `path` holds a control character (C0, DEL or C1), or bytes that are not UTF-8.
pub fn has_control_character(path: &str) -> bool {
    // A raw control character never gets past the `http` crate's URI parser: only an escape can carry one, and
    // most paths have none, so they are not decoded at all.
    if !path.contains('%') {
        return false;
    }
    match percent_encoding::percent_decode_str(path).decode_utf8() {
        Ok(decoded) => decoded.chars().any(char::is_control),
        Err(_) => true,
    }
}

pub async fn refuse_control_characters(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !super::error_pages::is_machine_path(path) && has_control_character(path) {
        tracing::info!("refused a path with a control character");
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::has_control_character;

    #[test]
    fn a_path_with_an_encoded_control_character_or_bad_utf8_is_refused_and_others_are_not() {
        for bad in [
            "/support/tasks/TRS-%00",
            "/record%07",
            "/a%1b",
            "/a%1B",
            "/a%7F",
            "/a%C2%85",
            "/a%0A",
            "/a%FF",
        ] {
            assert!(has_control_character(bad), "{bad}");
        }
        for good in [
            "/support/tasks/TRS-000123",
            "/record",
            "/a%20b",
            "/caf%C3%A9",
            "/%E2%80%AE",
            "/100%25",
        ] {
            assert!(!has_control_character(good), "{good}");
        }
    }
}
