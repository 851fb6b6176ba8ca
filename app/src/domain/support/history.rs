//! A record's change history: the connection events this service writes, and every event in words.

use super::TaskKind;
use crate::domain::matching::MatchedVia;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One event in a record's change history, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLine {
    pub at: DateTime<Utc>,
    pub text: String,
}

/// The change-history event kinds this service writes; other kinds (from the records' source) are only shown.
pub const ONE_LOGIN_CONNECTED: &str = "one_login_connected";
pub const ONE_LOGIN_DISCONNECTED: &str = "one_login_disconnected";
/// Two people in Teacher ID were found to be one and merged; the record stays connected to the one kept
/// (`user_id`), and `reason` says which went.
pub const PEOPLE_MERGED: &str = "people_merged";

/// How a One Login account came to be connected to a record (or, for a disconnection, who undid it: support).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectedHow {
    Automatic,
    Nino,
    Trn,
    Itt,
    /// With a TRN token an API client asked for (DESIGN §7.2).
    TrnToken,
    Support,
}

impl From<MatchedVia> for ConnectedHow {
    fn from(via: MatchedVia) -> Self {
        match via {
            MatchedVia::Automatic => Self::Automatic,
            MatchedVia::Nino => Self::Nino,
            MatchedVia::Trn => Self::Trn,
            MatchedVia::Itt => Self::Itt,
            MatchedVia::TrnToken => Self::TrnToken,
        }
    }
}

/// Which way in a connection was for: the teacher's GOV.UK One Login, or a DfE Identity account whose holder may
/// never have used One Login (issue 13 §5), so the history names the right one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WayIn {
    /// Every event stored before this field was: only One Login connected then.
    #[default]
    OneLogin,
    Account,
}

impl WayIn {
    /// The way in a support task's connection or disconnection is for, from the task's kind: an account record
    /// matching task is only ever opened for a DfE Identity account holder, every other kind for a One Login
    /// teacher. The kind, not whether the person also has a One Login now, so the history agrees with the
    /// console's task page, which names the way in by the same rule.
    pub fn of_task(kind: TaskKind) -> Self {
        match kind {
            TaskKind::AccountRecordMatching => Self::Account,
            TaskKind::IdentityVerification | TaskKind::RecordMatching => Self::OneLogin,
        }
    }

    /// The way in as staff read it in the history.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneLogin => "GOV.UK One Login",
            Self::Account => "DfE Identity account",
        }
    }
}

/// The details of a connection or disconnection event in a record's change history, as stored in
/// `record_events.details`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionEvent {
    pub how: ConnectedHow,
    pub user_id: i64,
    /// The way in the connection was for; absent (One Login) in events stored before it was written.
    #[serde(default)]
    pub way_in: WayIn,
    /// The email of that way in then (for [`WayIn::Account`], the account's); blank when One Login had not
    /// verified one.
    #[serde(default)]
    pub one_login_email: String,
    /// Set when support staff made or undid the connection.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub support: Option<SupportAction>,
    /// Why a connection was undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Who in support acted, on which task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportAction {
    pub task_reference: String,
    pub decided_by: String,
    pub decided_by_email: String,
}

/// A change-history event in words: what happened, how, by whom, and which way in (One Login or a DfE Identity
/// account) and email.
/// `details` are there for the two kinds this service writes.
pub fn describe_event(kind: &str, actor: &str, details: Option<&ConnectionEvent>) -> String {
    let account = |d: &ConnectionEvent| {
        Some(d.one_login_email.clone())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "account".into())
    };
    fn by_task(d: &ConnectionEvent) -> (&str, &str) {
        d.support.as_ref().map_or(("", ""), |s| {
            (s.decided_by.as_str(), s.task_reference.as_str())
        })
    }
    match (kind, details) {
        (ONE_LOGIN_CONNECTED, Some(d)) => {
            let how = match d.how {
                ConnectedHow::Automatic => "automatically".to_string(),
                ConnectedHow::Nino => "by National Insurance number".to_string(),
                ConnectedHow::Trn => "by TRN".to_string(),
                ConnectedHow::Itt => "by teacher training details".to_string(),
                ConnectedHow::TrnToken => "with a TRN token".to_string(),
                ConnectedHow::Support => {
                    let (by, task) = by_task(d);
                    format!("by {by} (support task {task})")
                }
            };
            format!("{} {} connected {how}", d.way_in.as_str(), account(d))
        }
        (ONE_LOGIN_DISCONNECTED, Some(d)) => {
            let (by, task) = by_task(d);
            format!(
                "{} {} disconnected by {by} (support task {task}): {}",
                d.way_in.as_str(),
                account(d),
                d.reason.as_deref().unwrap_or("")
            )
        }
        (PEOPLE_MERGED, Some(d)) => {
            let by = match &d.support {
                Some(s) => format!("by {} (support task {})", s.decided_by, s.task_reference),
                None => "by the teacher".to_string(),
            };
            format!(
                "Two ways in merged into one person ({}) {by}: {}",
                account(d),
                d.reason.as_deref().unwrap_or("")
            )
        }
        (other, _) => format!("{} by {actor}", other.replace('_', " ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_events_say_how_and_by_whom() {
        // Details as the service has stored them.
        let support: ConnectionEvent = serde_json::from_str(
            r#"{"how":"support","task_reference":"TRS-123456","decided_by":"Sam Okafor","decided_by_email":"sam@x","user_id":7,"one_login_email":"ann@example.com"}"#,
        )
        .unwrap();
        assert_eq!(
            describe_event("one_login_connected", "support:sam@x", Some(&support)),
            "GOV.UK One Login ann@example.com connected by Sam Okafor (support task TRS-123456)"
        );
        let nino: ConnectionEvent = serde_json::from_str(
            r#"{"how":"nino","user_id":7,"one_login_email":"ann@example.com"}"#,
        )
        .unwrap();
        assert_eq!(nino.support, None);
        assert_eq!(
            describe_event("one_login_connected", "teacher", Some(&nino)),
            "GOV.UK One Login ann@example.com connected by National Insurance number"
        );
        let undone: ConnectionEvent = serde_json::from_str(
            r#"{"how":"support","task_reference":"TRS-123456","decided_by":"Sam Okafor","decided_by_email":"sam@x","user_id":7,"one_login_email":"","reason":"Wrong person"}"#,
        )
        .unwrap();
        assert_eq!(
            describe_event("one_login_disconnected", "support:sam@x", Some(&undone)),
            "GOV.UK One Login account disconnected by Sam Okafor (support task TRS-123456): Wrong person"
        );
        // Written back, each reads the same.
        for event in [support, nino, undone] {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(
                serde_json::from_str::<ConnectionEvent>(&json).unwrap(),
                event
            );
        }
        let token: ConnectionEvent = serde_json::from_str(
            r#"{"how":"trn_token","user_id":7,"one_login_email":"ann@example.com"}"#,
        )
        .unwrap();
        assert_eq!(token.how, ConnectedHow::from(MatchedVia::TrnToken));
        assert_eq!(
            describe_event("one_login_connected", "teacher", Some(&token)),
            "GOV.UK One Login ann@example.com connected with a TRN token"
        );
        let merged: ConnectionEvent = serde_json::from_str(
            r#"{"how":"support","task_reference":"TRS-123456","decided_by":"Sam Okafor","decided_by_email":"sam@x","user_id":7,"one_login_email":"ann@example.com","reason":"person 9 merged into person 7"}"#,
        )
        .unwrap();
        assert_eq!(
            describe_event(PEOPLE_MERGED, "support:sam@x", Some(&merged)),
            "Two ways in merged into one person (ann@example.com) by Sam Okafor (support task TRS-123456): person 9 merged into person 7"
        );
        assert_eq!(
            describe_event("name_changed", "dqt", None),
            "name changed by dqt"
        );
    }

    #[test]
    fn events_stored_without_a_way_in_read_as_one_login() {
        let old: ConnectionEvent = serde_json::from_str(
            r#"{"how":"trn","user_id":7,"one_login_email":"ann@example.com"}"#,
        )
        .unwrap();
        assert_eq!(old.way_in, WayIn::OneLogin);
        let account: ConnectionEvent = serde_json::from_str(
            r#"{"how":"trn","user_id":7,"way_in":"account","one_login_email":"ann@example.com"}"#,
        )
        .unwrap();
        assert_eq!(account.way_in, WayIn::Account);
        let json = serde_json::to_string(&account).unwrap();
        assert_eq!(
            serde_json::from_str::<ConnectionEvent>(&json).unwrap(),
            account
        );
    }

    #[test]
    fn an_account_holders_connection_and_disconnection_name_their_dfe_identity_account() {
        let found: ConnectionEvent = serde_json::from_str(
            r#"{"how":"trn","user_id":7,"way_in":"account","one_login_email":"ann@example.com"}"#,
        )
        .unwrap();
        assert_eq!(
            describe_event(ONE_LOGIN_CONNECTED, "teacher", Some(&found)),
            "DfE Identity account ann@example.com connected by TRN"
        );
        let undone: ConnectionEvent = serde_json::from_str(
            r#"{"how":"support","task_reference":"TRS-123456","decided_by":"Sam Okafor","decided_by_email":"sam@x","user_id":7,"way_in":"account","one_login_email":"ann@example.com","reason":"Wrong person"}"#,
        )
        .unwrap();
        assert_eq!(
            describe_event(ONE_LOGIN_DISCONNECTED, "support:sam@x", Some(&undone)),
            "DfE Identity account ann@example.com disconnected by Sam Okafor (support task TRS-123456): Wrong person"
        );
    }

    #[test]
    fn only_an_account_record_matching_task_is_for_a_dfe_identity_account() {
        assert_eq!(
            WayIn::of_task(TaskKind::AccountRecordMatching),
            WayIn::Account
        );
        assert_eq!(WayIn::of_task(TaskKind::RecordMatching), WayIn::OneLogin);
        assert_eq!(
            WayIn::of_task(TaskKind::IdentityVerification),
            WayIn::OneLogin
        );
    }
}
