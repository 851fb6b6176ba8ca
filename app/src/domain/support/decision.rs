//! A support officer's decision on a task, the decision form and its checks.

use super::{EmailTemplate, TaskKind};
use crate::domain::validation::{parse_trn, validate_text, FieldError, TrnError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

named_enum! {
    /// Why an identity-verification request is rejected.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum RejectReason {
        ProofDoesNotMatch = "proof_does_not_match" => "The proof of identity does not match the details given",
        ProofUnclear = "proof_unclear" => "The proof of identity is unclear",
        WrongDocumentType = "wrong_document_type" => "The wrong type of document was sent",
        Other = "other" => "Another reason",
    }
}

named_enum! {
    /// Why a teacher is not connected to a record.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum NotConnectedReason {
        NoMatchingRecord = "no_matching_record" => "There is no matching teaching record",
        Other = "other" => "Another reason",
    }
}

/// A support officer's decision on a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// Connect to the record with this TRN (for an identity task: verify the identity, then connect).
    Connect { trn: String },
    /// Do not connect (for an identity task: the identity is verified, but there is no record to connect).
    DoNotConnect {
        reason: NotConnectedReason,
        detail: Option<String>,
    },
    /// Identity tasks only: the proof is not good enough.
    Reject {
        reason: RejectReason,
        detail: Option<String>,
    },
    /// Account tasks only (DESIGN §7.3): this account and the account with this email are one person. The other
    /// account is kept, with its email; this one's record, tasks and history move to it.
    Merge { email: String },
}

impl Decision {
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Connect { .. } => "connect",
            Self::DoNotConnect { .. } => "do_not_connect",
            Self::Reject { .. } => "reject",
            Self::Merge { .. } => "merge",
        }
    }

    /// Whether this decision on a task of `kind` verifies the teacher's identity: support checked their proof
    /// and accepted it, whether or not they also connected a record.
    pub fn verifies_identity(&self, kind: TaskKind) -> bool {
        kind == TaskKind::IdentityVerification && !matches!(self, Self::Reject { .. })
    }

    /// In words, for the check page, the task page and the audit log.
    pub fn summary(&self, kind: TaskKind) -> String {
        match (self, kind) {
            (Self::Connect { trn }, TaskKind::IdentityVerification) => {
                format!("Identity verified and connected to the record with TRN {trn}")
            }
            (Self::Connect { trn }, TaskKind::RecordMatching) => {
                format!("Connected to the record with TRN {trn}")
            }
            (Self::DoNotConnect { reason, .. }, TaskKind::IdentityVerification) => {
                format!("Identity verified, not connected: {}", reason.label())
            }
            (Self::DoNotConnect { reason, .. }, TaskKind::RecordMatching) => {
                format!("Not connected: {}", reason.label())
            }
            (Self::Connect { trn }, TaskKind::AccountRecordMatching) => {
                format!("TRN {trn} assigned to the account")
            }
            (Self::DoNotConnect { reason, .. }, TaskKind::AccountRecordMatching) => {
                format!("No TRN: {}", reason.label())
            }
            (Self::Reject { reason, .. }, _) => format!("Rejected: {}", reason.label()),
            (Self::Merge { email }, _) => format!("Merged into the account {email}"),
        }
    }

    /// The reason in words for the teacher: the chosen reason, or what the officer wrote for "another reason".
    pub fn reason_for_teacher(&self) -> Option<String> {
        let (label, detail) = match self {
            Self::Connect { .. } | Self::Merge { .. } => return None,
            Self::DoNotConnect { reason, detail } => (reason.label(), detail),
            Self::Reject { reason, detail } => (reason.label(), detail),
        };
        Some(detail.clone().unwrap_or_else(|| label.to_string()))
    }

    pub fn email(&self, kind: TaskKind) -> EmailTemplate {
        match (self, kind) {
            (Self::Connect { .. }, TaskKind::RecordMatching) => EmailTemplate::Connected,
            // An account holder may never have used GOV.UK One Login: their emails say "DfE Identity account".
            (Self::Connect { .. } | Self::Merge { .. }, TaskKind::AccountRecordMatching) => {
                EmailTemplate::AccountRecordFound
            }
            (Self::DoNotConnect { .. }, TaskKind::AccountRecordMatching) => {
                EmailTemplate::AccountRecordNotFound
            }
            (Self::Connect { .. }, TaskKind::IdentityVerification) => {
                EmailTemplate::IdentityVerifiedAndConnected
            }
            (Self::DoNotConnect { .. }, _) => EmailTemplate::NotConnected,
            (Self::Reject { .. }, _) => EmailTemplate::Rejected,
            // Found when the merged person holds a record; the storage sends "not found" otherwise
            // (`db::tasks::decide_task`), as only it knows. Merges are of accounts, so only on their tasks.
            (Self::Merge { .. }, _) => EmailTemplate::Connected,
        }
    }
}

/// The decision form as sent. Field names are the form's. "Do not connect" and "reject" each reveal their own
/// reasons (`reason`, `reason_detail`; `reject_reason`, `reject_reason_detail`), so every field has its own id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionInput {
    pub outcome: String,
    /// A suggested record's TRN, or `other` to use `other_trn`.
    pub trn: String,
    pub other_trn: String,
    pub reason: String,
    pub reason_detail: String,
    #[serde(default)]
    pub reject_reason: String,
    #[serde(default)]
    pub reject_reason_detail: String,
    /// Account tasks: the email of the account to merge this one into.
    #[serde(default)]
    pub merge_email: String,
}

impl DecisionInput {
    pub fn from_values(values: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| values.get(k).cloned().unwrap_or_default();
        Self {
            outcome: get("outcome"),
            trn: get("trn"),
            other_trn: get("other_trn"),
            reason: get("reason"),
            reason_detail: get("reason_detail"),
            reject_reason: get("reject_reason"),
            reject_reason_detail: get("reject_reason_detail"),
            merge_email: get("merge_email"),
        }
    }

    pub fn values(&self) -> BTreeMap<String, String> {
        [
            ("outcome", &self.outcome),
            ("trn", &self.trn),
            ("other_trn", &self.other_trn),
            ("reason", &self.reason),
            ("reason_detail", &self.reason_detail),
            ("reject_reason", &self.reject_reason),
            ("reject_reason_detail", &self.reject_reason_detail),
            ("merge_email", &self.merge_email),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
    }
}

/// The longest "another reason" we accept.
pub const MAX_REASON_CHARS: usize = 1_000;
/// The value of the TRN radio that reveals a field for a TRN not in the suggestions.
pub const OTHER_TRN: &str = "other";

/// Checks a decision for a task of `kind`, with GOV.UK wording. Whether a TRN is a record we hold is for the
/// server to check.
pub fn validate_decision(
    kind: TaskKind,
    input: &DecisionInput,
) -> Result<Decision, Vec<FieldError>> {
    let reason_detail =
        |field: &str, text: &str, required: bool| -> Result<Option<String>, FieldError> {
            let text = validate_text(field, "the reason", text, required, MAX_REASON_CHARS)?;
            Ok(Some(text).filter(|t| !t.is_empty() && required))
        };
    let one = |e: FieldError| vec![e];
    match input.outcome.as_str() {
        "connect" => {
            let raw = if input.trn == OTHER_TRN || input.trn.is_empty() {
                if input.trn.is_empty() {
                    return Err(one(FieldError::new("trn", "Select a record to connect")));
                }
                &input.other_trn
            } else {
                &input.trn
            };
            let field = if input.trn == OTHER_TRN {
                "other_trn"
            } else {
                "trn"
            };
            match parse_trn(raw) {
                Ok(trn) => Ok(Decision::Connect {
                    trn: trn.as_str().to_string(),
                }),
                Err(TrnError::Empty) => Err(one(FieldError::new(field, "Enter a TRN"))),
                Err(_) => Err(one(FieldError::new(
                    field,
                    "Enter a TRN in the correct format, like 1234567",
                ))),
            }
        }
        "do_not_connect" => {
            let Some(reason) = NotConnectedReason::parse(&input.reason) else {
                return Err(one(FieldError::new(
                    "reason",
                    "Select why the record is not being connected",
                )));
            };
            let detail = reason_detail(
                "reason_detail",
                &input.reason_detail,
                reason == NotConnectedReason::Other,
            )
            .map_err(one)?;
            Ok(Decision::DoNotConnect { reason, detail })
        }
        "reject" if kind == TaskKind::IdentityVerification => {
            let Some(reason) = RejectReason::parse(&input.reject_reason) else {
                return Err(one(FieldError::new(
                    "reject_reason",
                    "Select why the request is being rejected",
                )));
            };
            let detail = reason_detail(
                "reject_reason_detail",
                &input.reject_reason_detail,
                reason == RejectReason::Other,
            )
            .map_err(one)?;
            Ok(Decision::Reject { reason, detail })
        }
        "merge" if kind == TaskKind::AccountRecordMatching => {
            match crate::domain::account::AccountEmail::parse(&input.merge_email) {
                Ok(email) => Ok(Decision::Merge {
                    email: email.address().to_string(),
                }),
                Err(crate::domain::account::EmailProblem::Missing) => Err(one(FieldError::new(
                    "merge_email",
                    "Enter the email address of the other account",
                ))),
                Err(problem) => Err(one(problem.field_error("merge_email"))),
            }
        }
        _ => Err(one(FieldError::new("outcome", "Select a decision"))),
    }
}

/// Checks why an administrator is undoing a connection: required, as the teacher is told it.
pub fn validate_disconnect_reason(raw: &str) -> Result<String, FieldError> {
    validate_text(
        "disconnect_reason",
        "the reason",
        raw,
        true,
        MAX_REASON_CHARS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_account_task_merges_and_only_with_an_email() {
        let merge = |email: &str| DecisionInput {
            outcome: "merge".into(),
            merge_email: email.into(),
            ..Default::default()
        };
        assert_eq!(
            validate_decision(TaskKind::AccountRecordMatching, &merge(" ann@example.com ")),
            Ok(Decision::Merge {
                email: "ann@example.com".into()
            })
        );
        let field = |r: Result<Decision, Vec<FieldError>>| r.unwrap_err()[0].field_id.clone();
        assert_eq!(
            field(validate_decision(
                TaskKind::AccountRecordMatching,
                &merge("not an email")
            )),
            "merge_email"
        );
        assert_eq!(
            field(validate_decision(
                TaskKind::AccountRecordMatching,
                &merge("")
            )),
            "merge_email"
        );
        for kind in [TaskKind::RecordMatching, TaskKind::IdentityVerification] {
            assert_eq!(
                field(validate_decision(kind, &merge("ann@example.com"))),
                "outcome"
            );
        }
        let merged = Decision::Merge {
            email: "ann@example.com".into(),
        };
        assert_eq!(merged.outcome(), "merge");
        assert_eq!(
            merged.summary(TaskKind::AccountRecordMatching),
            "Merged into the account ann@example.com"
        );
        assert_eq!(merged.reason_for_teacher(), None);
        // Kept in the task's draft and on the check page like every other field.
        let input = merge("ann@example.com");
        assert_eq!(DecisionInput::from_values(&input.values()), input);
    }

    #[test]
    fn decisions_are_checked_with_govuk_messages() {
        let input = |pairs: &[(&str, &str)]| {
            DecisionInput::from_values(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        use TaskKind::*;
        assert_eq!(
            validate_decision(
                RecordMatching,
                &input(&[("outcome", "connect"), ("trn", "1234567")])
            ),
            Ok(Decision::Connect {
                trn: "1234567".into()
            })
        );
        assert_eq!(
            validate_decision(
                RecordMatching,
                &input(&[
                    ("outcome", "connect"),
                    ("trn", "other"),
                    ("other_trn", " 765 4321 ")
                ])
            ),
            Ok(Decision::Connect {
                trn: "7654321".into()
            })
        );
        let err = |r: Result<Decision, Vec<FieldError>>| r.unwrap_err().remove(0);
        assert_eq!(
            err(validate_decision(RecordMatching, &input(&[]))).message,
            "Select a decision"
        );
        assert_eq!(
            err(validate_decision(
                RecordMatching,
                &input(&[("outcome", "connect")])
            ))
            .message,
            "Select a record to connect"
        );
        assert_eq!(
            err(validate_decision(
                RecordMatching,
                &input(&[
                    ("outcome", "connect"),
                    ("trn", "other"),
                    ("other_trn", "12<b>")
                ])
            )),
            FieldError::new(
                "other_trn",
                "Enter a TRN in the correct format, like 1234567"
            )
        );
        assert_eq!(
            err(validate_decision(
                RecordMatching,
                &input(&[("outcome", "reject"), ("reject_reason", "proof_unclear")])
            ))
            .message,
            "Select a decision",
            "record-matching tasks cannot be rejected"
        );
        assert_eq!(
            err(validate_decision(
                IdentityVerification,
                &input(&[("outcome", "reject")])
            ))
            .message,
            "Select why the request is being rejected"
        );
        assert_eq!(
            err(validate_decision(
                IdentityVerification,
                &input(&[("outcome", "reject"), ("reject_reason", "other")])
            ))
            .message,
            "Enter the reason"
        );
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(
            err(validate_decision(
                IdentityVerification,
                &input(&[
                    ("outcome", "reject"),
                    ("reject_reason", "other"),
                    ("reject_reason_detail", &long)
                ])
            ))
            .message,
            "The reason must be 1000 characters or fewer"
        );
        assert_eq!(
            validate_decision(
                IdentityVerification,
                &input(&[
                    ("outcome", "reject"),
                    ("reject_reason", "other"),
                    ("reject_reason_detail", "<b>blurred</b>")
                ])
            ),
            Ok(Decision::Reject {
                reason: RejectReason::Other,
                detail: Some("<b>blurred</b>".into())
            })
        );
        // Text sent with a reason that needs none is dropped, so the teacher is told the chosen reason.
        assert_eq!(
            validate_decision(
                RecordMatching,
                &input(&[
                    ("outcome", "do_not_connect"),
                    ("reason", "no_matching_record"),
                    ("reason_detail", "ignored")
                ])
            ),
            Ok(Decision::DoNotConnect {
                reason: NotConnectedReason::NoMatchingRecord,
                detail: None
            })
        );
    }
}
