//! The HTTP client.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{KeyError, Redactor, SendError};
use crate::jwt;
use crate::key::ApiKey;

/// Notify's production API. Live, team and test keys all use it; the key decides what is really sent.
pub const NOTIFY_BASE_URL: &str = "https://api.notifications.service.gov.uk";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole request, body included: a send that hangs must not hold up the outbox for long.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);

/// A GOV.UK Notify client for one API key. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct NotifyClient {
    http: reqwest::Client,
    base_url: String,
    key: ApiKey,
}

/// One email to send with a Notify template.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct EmailRequest {
    pub template_id: String,
    pub email_address: String,
    /// Values for the template's `((placeholders))`; Notify refuses the email if one is missing.
    pub personalisation: BTreeMap<String, String>,
    /// Our own identifier for the email, which Notify keeps and can search by ([`NotifyClient::find_by_reference`]).
    pub reference: Option<String>,
}

/// Notify's answer to an accepted email.
#[derive(Clone, PartialEq, Eq)]
pub struct SentEmail {
    /// Notify's notification id.
    pub id: String,
    pub reference: Option<String>,
    /// The subject and body as rendered with the personalisation.
    pub subject: String,
    pub body: String,
}

/// An email notification as Notify lists it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct SentNotification {
    pub id: String,
    pub reference: Option<String>,
    #[serde(default)]
    pub email_address: String,
    /// `created`, `sending`, `delivered`, `permanent-failure`, `temporary-failure` or `technical-failure`.
    pub status: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
}

impl NotifyClient {
    /// A client for `api_key` (`{key_name}-{service_id}-{secret_key}`) against `base_url` (normally
    /// [`NOTIFY_BASE_URL`]; a trailing slash is fine).
    pub fn new(api_key: &str, base_url: &str) -> Result<NotifyClient, KeyError> {
        let key = ApiKey::parse(api_key)?;
        let base_url = parse_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            // Notify doesn't redirect its API; following one would send the token somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("teacher-id-notify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| KeyError::BaseUrl(format!("could not build the HTTP client: {e}")))?;
        Ok(NotifyClient {
            http,
            base_url,
            key,
        })
    }

    /// The service id from the API key (not secret: it is in every token).
    pub fn service_id(&self) -> &str {
        &self.key.service_id
    }

    /// Sends one email (`POST /v2/notifications/email`). Notify answers 201 once it has accepted the email, before
    /// delivery.
    pub async fn send_email(&self, email: &EmailRequest) -> Result<SentEmail, SendError> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            email_address: &'a str,
            template_id: &'a str,
            personalisation: &'a BTreeMap<String, String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            reference: Option<&'a str>,
        }
        #[derive(Deserialize)]
        struct Response {
            id: String,
            reference: Option<String>,
            content: Content,
        }
        #[derive(Deserialize)]
        struct Content {
            subject: String,
            body: String,
        }

        let redactor = Redactor::new(
            std::iter::once(email.email_address.as_str())
                .chain(email.personalisation.values().map(String::as_str)),
        );
        let request = self
            .http
            .post(format!("{}/v2/notifications/email", self.base_url))
            .json(&Body {
                email_address: &email.email_address,
                template_id: &email.template_id,
                personalisation: &email.personalisation,
                reference: email.reference.as_deref(),
            });
        let (status, bytes) = self.call(request, &redactor).await?;
        // The email has been accepted even if this answer can't be read, so say so: a retry must check the reference.
        let response: Response = serde_json::from_slice(&bytes).map_err(|e| SendError::Retryable {
            status: Some(status),
            message: format!(
                "Notify accepted the email but its answer could not be read ({}); check the reference before sending again",
                describe_json_error(&e)
            ),
        })?;
        Ok(SentEmail {
            id: response.id,
            reference: response.reference,
            subject: response.content.subject,
            body: response.content.body,
        })
    }

    /// The email notifications that were sent with this reference, newest first
    /// (`GET /v2/notifications?reference=..&template_type=email`). Only Notify's first page (250) is read: a
    /// reference names one email, sent at most a few times.
    pub async fn find_by_reference(
        &self,
        reference: &str,
    ) -> Result<Vec<SentNotification>, SendError> {
        #[derive(Deserialize)]
        struct Response {
            notifications: Vec<SentNotification>,
        }
        let request = self
            .http
            .get(format!("{}/v2/notifications", self.base_url))
            .query(&[("reference", reference), ("template_type", "email")]);
        let (status, bytes) = self.call(request, &Redactor::default()).await?;
        let response: Response =
            serde_json::from_slice(&bytes).map_err(|e| SendError::Retryable {
                status: Some(status),
                message: format!(
                    "Notify's list of notifications could not be read ({})",
                    describe_json_error(&e)
                ),
            })?;
        Ok(response.notifications)
    }

    /// Sends an authorised request and returns a success's status and body, or the classified error.
    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        redactor: &Redactor<'_>,
    ) -> Result<(u16, Vec<u8>), SendError> {
        let token = jwt::token(&self.key.service_id, &self.key.secret, jwt::now_unix());
        let response = request
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| SendError::from_transport(&e, None))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SendError::from_transport(&e, Some(status)))?;
        if (200..300).contains(&status) {
            Ok((status, bytes.to_vec()))
        } else {
            Err(SendError::from_response(status, &bytes, redactor))
        }
    }
}

/// The category and position of a JSON error, without serde's text, which may quote the values (personal data).
fn describe_json_error(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

fn parse_base_url(base_url: &str) -> Result<String, KeyError> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed)
        .map_err(|e| KeyError::BaseUrl(format!("{base_url:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(KeyError::BaseUrl(format!(
            "{base_url:?} is not an http or https URL"
        )));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(KeyError::BaseUrl(format!(
            "{base_url:?} has a query, fragment or credentials"
        )));
    }
    Ok(trimmed.to_string())
}

impl fmt::Debug for NotifyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyClient")
            .field("base_url", &self.base_url)
            .field("key_name", &self.key.name)
            .field("service_id", &self.key.service_id)
            .field("secret_key", &"[redacted]")
            .finish()
    }
}

// The types below hold personal data (addresses, and personalisation in the rendered text), so their Debug output,
// which ends up in logs and panic messages, leaves it out.

impl fmt::Debug for EmailRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailRequest")
            .field("template_id", &self.template_id)
            .field("email_address", &"[redacted]")
            .field(
                "personalisation_keys",
                &self.personalisation.keys().collect::<Vec<_>>(),
            )
            .field("reference", &self.reference)
            .finish()
    }
}

impl fmt::Debug for SentEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentEmail")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("subject", &"[redacted]")
            .field("body", &"[redacted]")
            .finish()
    }
}

impl fmt::Debug for SentNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentNotification")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("email_address", &"[redacted]")
            .field("status", &self.status)
            .field("subject", &"[redacted]")
            .field("body", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_must_be_http_and_may_end_in_a_slash() {
        assert_eq!(
            parse_base_url("https://api.notifications.service.gov.uk/").unwrap(),
            NOTIFY_BASE_URL
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:8080/prefix").unwrap(),
            "http://127.0.0.1:8080/prefix"
        );
        for bad in [
            "ftp://example.com",
            "api.notifications.service.gov.uk",
            "",
            "https://x.test/?a=b",
            "https://u:p@x.test",
        ] {
            assert!(
                matches!(parse_base_url(bad), Err(KeyError::BaseUrl(_))),
                "{bad}"
            );
        }
    }
}
