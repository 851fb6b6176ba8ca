//! Errors. None of them carries the API key, the recipient's address or the personalisation, so they can be logged.

use std::fmt::Write as _;

/// Why an API key or base URL was refused by [`crate::NotifyClient::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the Notify API key is too short: expected {{key_name}}-{{service_id}}-{{secret_key}}"
    )]
    TooShort,
    #[error(
        "the Notify API key is malformed: expected {{key_name}}-{{service_id}}-{{secret_key}}"
    )]
    Malformed,
    #[error("the service id in the Notify API key is not a UUID")]
    ServiceId,
    #[error("the secret key in the Notify API key is not a UUID")]
    SecretKey,
    #[error("the Notify base URL must be an http or https URL without a query or fragment: {0}")]
    BaseUrl(String),
}

/// A failed call to Notify, classified by whether trying again later can succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The network failed, the request timed out, Notify was rate-limiting (429) or failing (5xx). A later attempt
    /// may succeed. A timeout does not prove Notify did not accept the email, so check
    /// [`crate::NotifyClient::find_by_reference`] before sending again.
    #[error("Notify request failed and may be retried{}: {message}", status_suffix(*status))]
    Retryable {
        status: Option<u16>,
        message: String,
    },
    /// Notify refused the request (400, 403 or another 4xx): sending it again will fail the same way.
    #[error("Notify refused the request (HTTP {status}): {message}")]
    Permanent { status: u16, message: String },
}

fn status_suffix(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Retryable { .. })
    }

    /// The HTTP status Notify answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            SendError::Retryable { status, .. } => *status,
            SendError::Permanent { status, .. } => Some(*status),
        }
    }

    /// Notify's own error text (`"AuthError: Invalid token: API key not found"`) or a description of the failure.
    pub fn message(&self) -> &str {
        match self {
            SendError::Retryable { message, .. } | SendError::Permanent { message, .. } => message,
        }
    }

    /// Classifies an HTTP error response. `body` is parsed as Notify's error JSON where it is that.
    pub(crate) fn from_response(status: u16, body: &[u8], redact: &Redactor) -> SendError {
        let message = redact.apply(&error_body_message(status, body));
        if status == 429 || status == 408 || status >= 500 {
            SendError::Retryable {
                status: Some(status),
                message,
            }
        } else {
            SendError::Permanent { status, message }
        }
    }

    /// Classifies a failure to get a response at all. Every transport failure may be transient.
    pub(crate) fn from_transport(error: &reqwest::Error, status: Option<u16>) -> SendError {
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "could not connect"
        } else {
            "transport error"
        };
        let mut message = what.to_string();
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(e) = source {
            let text = e.to_string();
            // reqwest's own text only repeats the URL; its causes say what went wrong.
            if !text.contains("://") {
                let _ = write!(message, ": {text}");
            }
            source = e.source();
        }
        SendError::Retryable {
            status,
            message: Redactor::default().apply(&message),
        }
    }
}

/// Notify's error body is `{"status_code": 400, "errors": [{"error": "BadRequestError", "message": "..."}]}`.
fn error_body_message(status: u16, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        error: String,
        message: String,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(parsed) if !parsed.errors.is_empty() => parsed
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.error, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        // A proxy's HTML page, say: say so without quoting it.
        _ => format!(
            "HTTP {status} {} without Notify's error JSON",
            reason(status)
        ),
    }
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// Strips personal data from a message before it leaves this crate: the recipient's address or number, the
/// personalisation values, and anything that looks like an email address or a phone number. Messages are also capped
/// in length.
#[derive(Default)]
pub(crate) struct Redactor<'a> {
    secrets: Vec<&'a str>,
}

const REDACTED: &str = "[redacted]";
const MAX_MESSAGE_CHARS: usize = 500;
/// Shorter values (initials, "Mr") are not identifying, and replacing them would mangle the message.
const MIN_REDACTED_LEN: usize = 3;
/// A word with this many digits may be a phone number (the shortest international numbers Notify takes have 8).
const PHONE_LIKE_DIGITS: usize = 8;

impl<'a> Redactor<'a> {
    pub(crate) fn new(values: impl IntoIterator<Item = &'a str>) -> Redactor<'a> {
        let mut secrets: Vec<&str> = values
            .into_iter()
            .map(str::trim)
            .filter(|v| v.len() >= MIN_REDACTED_LEN)
            .collect();
        // Longest first, so a value containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    pub(crate) fn apply(&self, message: &str) -> String {
        let mut text = message.to_string();
        for secret in &self.secrets {
            text = replace_ignoring_case(&text, secret);
        }
        let mut words: Vec<&str> = text.split_whitespace().collect();
        for word in &mut words {
            if word.contains('@')
                || word.chars().filter(char::is_ascii_digit).count() >= PHONE_LIKE_DIGITS
            {
                *word = REDACTED;
            }
        }
        let text = words.join(" ");
        match text.char_indices().nth(MAX_MESSAGE_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    }
}

fn replace_ignoring_case(text: &str, needle: &str) -> String {
    // ASCII-only case folding keeps byte offsets identical between the folded and original text.
    let folded = text.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in folded.match_indices(&needle) {
        out.push_str(&text[last..at]);
        out.push_str(REDACTED);
        last = at + needle.len();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_notify_errors_and_classifies_them() {
        let body = br#"{"status_code":403,"errors":[{"error":"AuthError","message":"Invalid token: API key not found"}]}"#;
        let e = SendError::from_response(403, body, &Redactor::default());
        assert_eq!(
            e,
            SendError::Permanent {
                status: 403,
                message: "AuthError: Invalid token: API key not found".into()
            }
        );
        assert!(SendError::from_response(429, b"{}", &Redactor::default()).is_retryable());
        assert!(SendError::from_response(503, b"<html>", &Redactor::default()).is_retryable());
        assert!(!SendError::from_response(404, b"", &Redactor::default()).is_retryable());
        assert_eq!(
            SendError::from_response(502, b"<html>bad gateway</html>", &Redactor::default())
                .message(),
            "HTTP 502 Bad Gateway without Notify's error JSON"
        );
    }

    #[test]
    fn redacts_addresses_and_values() {
        let redactor = Redactor::new(["Person@Example.com", "Ada Lovelace", "x"]);
        let text = redactor
            .apply("person@example.com: ada lovelace is not valid, other@x.org either; x stays");
        assert_eq!(
            text,
            "[redacted]: [redacted] is not valid, [redacted] either; x stays"
        );
    }

    #[test]
    fn redacts_words_that_may_be_phone_numbers() {
        let text = Redactor::default().apply(
            "447700900123 and +33612345678 are numbers; 3000 requests per 60 seconds are not",
        );
        assert_eq!(
            text,
            "[redacted] and [redacted] are numbers; 3000 requests per 60 seconds are not"
        );
    }

    #[test]
    fn caps_the_length_on_a_char_boundary() {
        let text = Redactor::default().apply(&"é".repeat(2 * MAX_MESSAGE_CHARS));
        assert_eq!(text.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
