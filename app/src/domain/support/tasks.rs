//! Support tasks: their kinds and statuses, and a dashboard row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

named_enum! {
    /// The three kinds of support task: a One Login teacher's identity or record, and a DfE Identity account's
    /// record (DESIGN §7.3: "we could not find your record").
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum TaskKind {
        IdentityVerification = "identity_verification" => "Identity verification",
        RecordMatching = "record_matching" => "Record matching",
        AccountRecordMatching = "account_record_matching" => "Account record matching",
    }
}

named_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum TaskStatus {
        Open = "open" => "Open",
        InProgress = "in_progress" => "In progress",
        Done = "done" => "Done",
    }
}

/// One row of the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub reference: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub name: String,
    pub email: String,
    pub requested_at: DateTime<Utc>,
    pub assignee: Option<String>,
    /// Why matching could not connect, if it said.
    pub flag: Option<String>,
    /// The name of the service the teacher came from (its client id if it is no longer registered); `None` when
    /// they came to Teacher ID directly.
    #[serde(default)]
    pub service: Option<String>,
}

/// What the console shows for a task's service: its name, or Teacher ID's own when the teacher came directly.
pub fn service_text(service: Option<&str>) -> &str {
    service.unwrap_or(DIRECT_SERVICE_NAME)
}

/// The service a task came from when the teacher came to Teacher ID directly.
pub const DIRECT_SERVICE_NAME: &str = "Teacher ID";
