//! A client for the GOV.UK Notify REST API (v2), and, behind the `fake` feature, a Notify-compatible server for tests
//! and benchmarks.
//!
//! The service sends its emails through Notify. This client is small and hand-written rather than generated because
//! the service needs only three calls: send an email, send a text message, and find notifications by reference, which
//! the outbox uses so that a message interrupted by a crash is not sent twice. Its errors say whether a retry can help
//! ([`SendError::is_retryable`]), and never carry the recipient's address or number or the personalisation, so that they can be
//! logged as they are.
//!
//! The fake (`fake::FakeNotify`, behind the `fake` feature) is a real HTTP server with Notify's routes, authentication,
//! validation messages and template rendering, so tests exercise this client over the wire rather than a mock of it.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use notify::{EmailRequest, NotifyClient, NOTIFY_BASE_URL};
//! let client = NotifyClient::new(&std::env::var("NOTIFY_API_KEY")?, NOTIFY_BASE_URL)?;
//! let email = EmailRequest {
//!     template_id: "f33517ff-2a88-4f6e-b855-c550268ce08a".into(),
//!     email_address: "person@example.com".into(),
//!     personalisation: [("name".to_string(), "Ada".to_string())].into(),
//!     reference: Some("outbox-42".into()),
//! };
//! match client.send_email(&email).await {
//!     Ok(sent) => println!("sent as {}", sent.id),
//!     Err(e) if e.is_retryable() => { /* keep it in the outbox and try later */ }
//!     Err(e) => return Err(e.into()),
//! }
//! # Ok(())
//! # }
//! ```

mod client;
mod error;
mod jwt;
mod key;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{
    EmailRequest, NotifyClient, SentEmail, SentNotification, SentSms, SmsRequest, NOTIFY_BASE_URL,
};
pub use error::{KeyError, SendError};
