//! What the console's pages show: the task page, the audit log and the development mailbox, and the console's
//! paths.

use super::query::encode_component;
use super::{DecisionInput, HistoryLine, SuggestedRecord, TaskKind, TaskStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A row of a summary list: a label and what we hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    pub value: String,
}

impl Row {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// The proof of identity a teacher sent, as the task page links to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofView {
    pub file_name: String,
    pub content_type: String,
    pub size: String,
    pub href: String,
}

/// A decision already made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedView {
    pub summary: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Everything the task page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    pub reference: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub requested_at: DateTime<Utc>,
    /// The service the teacher came from (see [`super::TaskSummary::service`]).
    #[serde(default)]
    pub service: Option<String>,
    pub version: i64,
    pub assignee: Option<(i64, String)>,
    /// Every flag matching raised on the way (e.g. "possible duplicate or namesake"), weakest first.
    pub flags: Vec<String>,
    /// What One Login gave us.
    pub one_login: Vec<Row>,
    /// What the teacher entered.
    pub additional: Vec<Row>,
    pub proof: Option<ProofView>,
    pub suggestions: Vec<SuggestedRecord>,
    pub decided: Option<DecidedView>,
    /// A saved decision, to carry on with.
    pub draft: Option<DecisionInput>,
    /// Who the task can be assigned to: support officers and administrators.
    pub assignable: Vec<(i64, String)>,
    /// The change history of the record the task connected, newest first.
    #[serde(default)]
    pub history: Vec<HistoryLine>,
    /// The record the teacher's One Login is connected to now, if any: administrators can undo the connection.
    #[serde(default)]
    pub connection: Option<ConnectionView>,
}

/// A teacher's current connection, as the task page shows it to administrators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub trn: String,
    pub record_name: String,
    pub one_login_email: String,
}

/// Where the disconnect form posts for the task `reference`; its check step posts to `…/disconnect/confirm`.
pub fn disconnect_href(reference: &str) -> String {
    format!("{}/disconnect", task_href(reference))
}

/// The flash form of the disconnect form and its check step on the task page.
pub fn disconnect_form(reference: &str) -> crate::forms::FormId {
    crate::forms::FormId::Disconnect(reference.to_string())
}
/// Rows on one page of the audit log.
pub const AUDIT_PAGE: usize = 50;

/// One line of the audit log page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub staff: String,
    pub action: String,
    pub task_reference: Option<String>,
}

/// An email in the development mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub task_reference: Option<String>,
    pub queued_at: DateTime<Utc>,
}

/// A text message in the development mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxText {
    /// The mobile number, as queued.
    pub to: String,
    pub body: String,
    pub status: String,
    pub queued_at: DateTime<Utc>,
}

/// What the development mailbox shows: emails and text messages, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxMessage {
    Email(MailboxEmail),
    Text(MailboxText),
}

impl MailboxMessage {
    pub fn queued_at(&self) -> DateTime<Utc> {
        match self {
            MailboxMessage::Email(email) => email.queued_at,
            MailboxMessage::Text(text) => text.queued_at,
        }
    }
}

/// Paths of the console.
pub fn task_href(reference: &str) -> String {
    format!("/support/tasks/{}", encode_component(reference))
}
