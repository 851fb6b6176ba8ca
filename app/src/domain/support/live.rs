//! The dashboard's live feed: which changes to a task open dashboards are told about.

use serde::{Deserialize, Serialize};

/// A change to a task that open dashboards are told about as it happens. Each is recorded in the audit log under
/// its own action, which is where the live feed reads it from (any instance may have made it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskChange {
    Assigned,
    DraftSaved,
    Decided,
    /// Closed by the service: a TRN token connected the teacher while the task was open.
    ClosedByTrnToken,
    /// Closed by the service: the teacher's own answers found their record (looked up again at sign-in).
    ClosedRecordFound,
    /// Two people were merged (DESIGN §7.3): the task moved to the person kept, or was closed for them.
    PeopleMerged,
}

impl TaskChange {
    pub const ALL: [TaskChange; 6] = [
        TaskChange::Assigned,
        TaskChange::DraftSaved,
        TaskChange::Decided,
        TaskChange::ClosedByTrnToken,
        TaskChange::ClosedRecordFound,
        TaskChange::PeopleMerged,
    ];

    /// The audit log's action for this change.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::DraftSaved => "saved_draft",
            Self::Decided => "decided",
            Self::ClosedByTrnToken => "closed_by_trn_token",
            Self::ClosedRecordFound => "closed_record_found",
            Self::PeopleMerged => "people_merged",
        }
    }

    pub fn from_audit_action(action: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.audit_action() == action)
    }

    /// What a screen reader hears when the dashboard updates itself.
    pub fn announcement(self, reference: &str) -> String {
        let what = match self {
            Self::Assigned => "has been assigned",
            Self::DraftSaved => "has been updated",
            Self::Decided => "has been decided",
            Self::ClosedByTrnToken => "has been closed: the teacher was connected by a TRN token",
            Self::ClosedRecordFound => "has been closed: the teacher's record was found",
            Self::PeopleMerged => "has been updated: two accounts were merged",
        };
        format!("Task {reference} {what}. The list has been updated.")
    }
}

/// The live feed's message about a changed task (the `change` server-sent event's data, as JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskChanged {
    pub reference: String,
    pub change: TaskChange,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_changes_are_read_from_their_audit_actions_and_announced() {
        for change in TaskChange::ALL {
            assert_eq!(
                TaskChange::from_audit_action(change.audit_action()),
                Some(change)
            );
        }
        // Looking at a task changes nothing.
        assert_eq!(TaskChange::from_audit_action("viewed_task"), None);
        assert_eq!(
            TaskChange::Assigned.announcement("TRS-123456"),
            "Task TRS-123456 has been assigned. The list has been updated."
        );
        let changed = TaskChanged {
            reference: "TRS-123456".into(),
            change: TaskChange::DraftSaved,
        };
        let json = serde_json::to_string(&changed).unwrap();
        assert_eq!(json, r#"{"reference":"TRS-123456","change":"draft_saved"}"#);
        assert_eq!(serde_json::from_str::<TaskChanged>(&json).unwrap(), changed);
    }
}
