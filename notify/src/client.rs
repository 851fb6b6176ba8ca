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

/// One text message to send with a Notify SMS template.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SmsRequest {
    pub template_id: String,
    /// A UK mobile number in any shape Notify accepts (`07700 900123`, `+44 7700 900123`) or an international one
    /// in E.164 (`+33 6 12 34 56 78`).
    pub phone_number: String,
    /// Values for the template's `((placeholders))`; Notify refuses the message if one is missing.
    pub personalisation: BTreeMap<String, String>,
    /// Our own identifier for the message, which Notify keeps and can search by
    /// ([`NotifyClient::find_sms_by_reference`]).
    pub reference: Option<String>,
    /// One of the service's text message senders (Notify's Settings page); without it, the service's default.
    pub sms_sender_id: Option<String>,
}

/// Notify's answer to an accepted text message.
#[derive(Clone, PartialEq, Eq)]
pub struct SentSms {
    /// Notify's notification id.
    pub id: String,
    pub reference: Option<String>,
    /// The message as rendered with the personalisation.
    pub body: String,
    /// The sender the recipient sees.
    pub from_number: String,
}

/// A notification as Notify lists it: an email or a text message.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct SentNotification {
    pub id: String,
    pub reference: Option<String>,
    /// Empty for a text message (Notify answers `null`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub email_address: String,
    /// Empty for an email (Notify answers `null`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub phone_number: String,
    /// `created`, `sending`, `delivered`, `permanent-failure`, `temporary-failure` or `technical-failure`.
    pub status: String,
    /// Empty for a text message, which has none.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub subject: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub body: String,
}

/// Notify answers `null` for the fields that do not apply to a notification's type.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

/// Which kind of notification to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TemplateType {
    Email,
    Sms,
}

impl TemplateType {
    fn as_str(self) -> &'static str {
        match self {
            TemplateType::Email => "email",
            TemplateType::Sms => "sms",
        }
    }
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

    /// Sends one text message (`POST /v2/notifications/sms`). Notify answers 201 once it has accepted the message,
    /// before delivery. Its errors are classified as [`NotifyClient::send_email`]'s are.
    pub async fn send_sms(&self, sms: &SmsRequest) -> Result<SentSms, SendError> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            phone_number: &'a str,
            template_id: &'a str,
            personalisation: &'a BTreeMap<String, String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            reference: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            sms_sender_id: Option<&'a str>,
        }
        #[derive(Deserialize)]
        struct Response {
            id: String,
            reference: Option<String>,
            content: Content,
        }
        #[derive(Deserialize)]
        struct Content {
            body: String,
            #[serde(default, deserialize_with = "null_as_empty")]
            from_number: String,
        }

        // The number may come back in another shape (Notify normalises it), so its digits alone are redacted too.
        let digits: String = sms
            .phone_number
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let redactor = Redactor::new(
            [sms.phone_number.as_str(), digits.as_str()]
                .into_iter()
                .chain(sms.personalisation.values().map(String::as_str)),
        );
        let request = self
            .http
            .post(format!("{}/v2/notifications/sms", self.base_url))
            .json(&Body {
                phone_number: &sms.phone_number,
                template_id: &sms.template_id,
                personalisation: &sms.personalisation,
                reference: sms.reference.as_deref(),
                sms_sender_id: sms.sms_sender_id.as_deref(),
            });
        let (status, bytes) = self.call(request, &redactor).await?;
        // Accepted even if this answer can't be read: a retry must check the reference.
        let response: Response = serde_json::from_slice(&bytes).map_err(|e| SendError::Retryable {
            status: Some(status),
            message: format!(
                "Notify accepted the text message but its answer could not be read ({}); check the reference before sending again",
                describe_json_error(&e)
            ),
        })?;
        Ok(SentSms {
            id: response.id,
            reference: response.reference,
            body: response.content.body,
            from_number: response.content.from_number,
        })
    }

    /// The email notifications that were sent with this reference, newest first
    /// (`GET /v2/notifications?reference=..&template_type=email`). Only Notify's first page (250) is read: a
    /// reference names one email, sent at most a few times.
    pub async fn find_by_reference(
        &self,
        reference: &str,
    ) -> Result<Vec<SentNotification>, SendError> {
        self.find(reference, TemplateType::Email).await
    }

    /// The text messages that were sent with this reference, newest first
    /// (`GET /v2/notifications?reference=..&template_type=sms`), as [`NotifyClient::find_by_reference`] finds emails.
    pub async fn find_sms_by_reference(
        &self,
        reference: &str,
    ) -> Result<Vec<SentNotification>, SendError> {
        self.find(reference, TemplateType::Sms).await
    }

    async fn find(
        &self,
        reference: &str,
        template_type: TemplateType,
    ) -> Result<Vec<SentNotification>, SendError> {
        #[derive(Deserialize)]
        struct Response {
            notifications: Vec<SentNotification>,
        }
        let request = self
            .http
            .get(format!("{}/v2/notifications", self.base_url))
            .query(&[
                ("reference", reference),
                ("template_type", template_type.as_str()),
            ]);
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

impl fmt::Debug for SmsRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsRequest")
            .field("template_id", &self.template_id)
            .field("phone_number", &"[redacted]")
            .field(
                "personalisation_keys",
                &self.personalisation.keys().collect::<Vec<_>>(),
            )
            .field("reference", &self.reference)
            .field("sms_sender_id", &self.sms_sender_id)
            .finish()
    }
}

impl fmt::Debug for SentSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentSms")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("body", &"[redacted]")
            .field("from_number", &self.from_number)
            .finish()
    }
}

impl fmt::Debug for SentNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentNotification")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("email_address", &"[redacted]")
            .field("phone_number", &"[redacted]")
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
