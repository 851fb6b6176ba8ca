//! What a support task holds about the teacher, typed by the task's kind: a record-matching task keeps what GOV.UK
//! One Login verified, the identifiers the teacher typed and every flag matching raised on the way; an
//! identity-verification task keeps what the teacher entered and their proof of identity file.
//!
//! Stored as JSON in `support_tasks.details`, in the shape the service has always written (tests below hold a
//! literal of it), and read back by the task's kind: JSON that does not fit its kind is an error, never a default.
//! The console's facts (for comparing records) and evidence (for finding them) come from here, so the console
//! searches with the same names the journey matched with.

use super::account_record::{account_evidence, AccountAnswers, AccountFacts};
use super::identity::{VerifiedEmail, VerifiedIdentity, VerifiedName};
use super::identity_support::{IdentitySupportDetails, UploadedProof};
use super::journey::Answer;
use super::matching::{Evidence, IttIdentifier, SupportFlag};
use super::support::{TaskFacts, TaskKind};
use super::validation::{parse_nino, parse_trn, Nino, Trn};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A support task's details, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskDetails {
    RecordMatching(RecordMatchingDetails),
    IdentityVerification(IdentityVerificationDetails),
    AccountRecordMatching(AccountRecordMatchingDetails),
}

/// An account-record-matching task (DESIGN §7.3): a DfE Identity account's record was not found. Its name and date
/// of birth are the person's own typing, never verified; its email (and mobile) were proven by passcode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecordMatchingDetails {
    pub first_name: String,
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<String>,
    pub date_of_birth: chrono::NaiveDate,
    /// The account's email, proven by passcode.
    pub email: String,
    /// The account's mobile (E.164), proven by passcode; shown to support only partly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// The answers to the record questions.
    #[serde(default)]
    pub answers: AccountAnswers,
    /// Every flag matching raised on the way.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub flags: BTreeSet<SupportFlag>,
}

impl AccountRecordMatchingDetails {
    /// A task's details for `account`'s person, with their answers and the flags matching raised.
    pub fn of(
        account: &super::account::Account,
        answers: AccountAnswers,
        flags: BTreeSet<SupportFlag>,
    ) -> Self {
        Self {
            first_name: account.name.first.clone(),
            last_name: account.name.last.clone(),
            preferred_name: account.name.preferred.clone(),
            date_of_birth: account.date_of_birth,
            email: account.email.address().to_string(),
            mobile: account.mobile.as_ref().map(|m| m.as_str().to_string()),
            answers,
            flags,
        }
    }

    /// The facts the account route matched with, for the console's search.
    pub fn facts(&self) -> AccountFacts {
        AccountFacts {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            date_of_birth: self.date_of_birth,
            email: self.email.clone(),
        }
    }
}

/// A record-matching task: the teacher proved who they are, but matching found no record to connect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMatchingDetails {
    pub verified: VerifiedIdentity,
    /// The One Login email, when One Login verified it.
    #[serde(default)]
    pub one_login_email: Option<VerifiedEmail>,
    /// What the teacher typed, if anything.
    #[serde(default)]
    pub nino: Option<Nino>,
    #[serde(default)]
    pub trn: Option<Trn>,
    /// Every flag matching raised on the way (each question matches again), not only the last one's.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub flags: BTreeSet<SupportFlag>,
    /// The third question's answer (DESIGN §5), when it was asked: no QTS, or the ITT provider and QTS year typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itt: Option<Answer<IttIdentifier>>,
}

/// An identity-verification task: One Login could not prove who they are, so they sent us a proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityVerificationDetails {
    pub entered: IdentitySupportDetails,
    pub proof: StoredProof,
    /// The One Login email, when One Login verified it.
    #[serde(default)]
    pub one_login_email: Option<VerifiedEmail>,
}

/// The proof of identity file a task holds. After the retention period the file is deleted: `key` goes, what the
/// teacher said about the file stays, and when and why it went is added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredProof {
    /// Where it is in the uploads store; `None` once deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The type its content showed (only the accepted ones are ever served).
    pub content_type: String,
    pub file_name: String,
    pub size: u64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_offset"
    )]
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_after_days: Option<u32>,
}

impl StoredProof {
    /// The file as the teacher sent it.
    pub fn new(proof: &UploadedProof) -> Self {
        Self {
            key: Some(proof.key.clone()),
            content_type: proof.kind.content_type().to_string(),
            file_name: proof.file_name.clone(),
            size: proof.size,
            deleted_at: None,
            deleted_after_days: None,
        }
    }
}

/// `deleted_at` as it has always been written: RFC 3339 with a `+00:00` offset.
mod rfc3339_offset {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&at.to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(d)
    }
}

impl TaskDetails {
    /// Reads stored details as the task's `kind` says they are.
    pub fn parse(kind: TaskKind, json: &str) -> Result<Self, serde_json::Error> {
        Ok(match kind {
            TaskKind::RecordMatching => Self::RecordMatching(serde_json::from_str(json)?),
            TaskKind::IdentityVerification => {
                Self::IdentityVerification(serde_json::from_str(json)?)
            }
            TaskKind::AccountRecordMatching => {
                Self::AccountRecordMatching(serde_json::from_str(json)?)
            }
        })
    }

    /// The details as stored.
    pub fn to_json(&self) -> String {
        match self {
            Self::RecordMatching(d) => serde_json::to_string(d),
            Self::IdentityVerification(d) => serde_json::to_string(d),
            Self::AccountRecordMatching(d) => serde_json::to_string(d),
        }
        .expect("task details serialise")
    }

    pub fn kind(&self) -> TaskKind {
        match self {
            Self::RecordMatching(_) => TaskKind::RecordMatching,
            Self::IdentityVerification(_) => TaskKind::IdentityVerification,
            Self::AccountRecordMatching(_) => TaskKind::AccountRecordMatching,
        }
    }

    /// Who asked, as one line: One Login's current name, or the name they entered.
    pub fn requester_name(&self) -> String {
        match self {
            Self::RecordMatching(d) => d
                .verified
                .current_name()
                .map(VerifiedName::full_name)
                .unwrap_or_default(),
            Self::IdentityVerification(d) => d.entered.name.clone(),
            Self::AccountRecordMatching(d) => format!("{} {}", d.first_name, d.last_name),
        }
    }

    /// The verified One Login email, blank when One Login has not verified one (we keep no other); for an
    /// account, its email proven by passcode.
    pub fn requester_email(&self) -> &str {
        match self {
            Self::AccountRecordMatching(d) => &d.email,
            _ => self.one_login_email().map_or("", VerifiedEmail::as_str),
        }
    }

    fn one_login_email(&self) -> Option<&VerifiedEmail> {
        match self {
            Self::RecordMatching(d) => d.one_login_email.as_ref(),
            Self::IdentityVerification(d) => d.one_login_email.as_ref(),
            Self::AccountRecordMatching(_) => None,
        }
    }

    /// The TRN the teacher gave, if any: support staff search by it.
    pub fn trn(&self) -> Option<&str> {
        match self {
            Self::RecordMatching(d) => d.trn.as_ref().map(Trn::as_str),
            Self::IdentityVerification(d) => d.entered.trn.as_deref(),
            Self::AccountRecordMatching(d) => d.answers.trn().map(Trn::as_str),
        }
    }

    /// Every flag matching raised, weakest first.
    pub fn flags(&self) -> impl Iterator<Item = SupportFlag> + '_ {
        match self {
            Self::RecordMatching(d) => Some(d.flags.iter().copied()),
            Self::AccountRecordMatching(d) => Some(d.flags.iter().copied()),
            Self::IdentityVerification(_) => None,
        }
        .into_iter()
        .flatten()
    }

    /// The strongest flag, for the dashboard's one column (see [`SupportFlag`]'s order).
    pub fn strongest_flag(&self) -> Option<SupportFlag> {
        self.flags().max()
    }

    pub fn proof(&self) -> Option<&StoredProof> {
        match self {
            Self::RecordMatching(_) | Self::AccountRecordMatching(_) => None,
            Self::IdentityVerification(d) => Some(&d.proof),
        }
    }

    /// What the teacher asked with, for comparing records field by field.
    pub fn facts(&self) -> TaskFacts {
        let email = self.requester_email().to_string();
        match self {
            Self::RecordMatching(d) => TaskFacts {
                names: d
                    .verified
                    .names
                    .iter()
                    .map(VerifiedName::full_name)
                    .collect(),
                dates_of_birth: d.verified.dates_of_birth.clone(),
                email,
                nino: d.nino.as_ref().map(|n| n.as_str().to_string()),
                trn: d.trn.as_ref().map(|t| t.as_str().to_string()),
            },
            Self::IdentityVerification(d) => TaskFacts {
                names: std::iter::once(d.entered.name.clone())
                    .chain(d.entered.previous_names.iter().cloned())
                    .collect(),
                dates_of_birth: vec![d.entered.date_of_birth],
                email,
                nino: d.entered.nino.clone(),
                trn: d.entered.trn.clone(),
            },
            Self::AccountRecordMatching(d) => TaskFacts {
                names: vec![format!("{} {}", d.first_name, d.last_name)],
                dates_of_birth: vec![d.date_of_birth],
                email,
                nino: d.answers.nino().map(|n| n.as_str().to_string()),
                trn: d.answers.trn().map(|t| t.as_str().to_string()),
            },
        }
    }

    /// The evidence to find records with: for a record-matching task, One Login's names as One Login split them
    /// (a family name "Lloyd Jones" stays whole, as the journey searched it); a name typed on one line has its
    /// last word as the family name. Identifiers that do not parse are left out.
    pub fn evidence(&self) -> Evidence {
        match self {
            Self::RecordMatching(d) => Evidence {
                names: d.verified.names.clone(),
                dates_of_birth: d.verified.dates_of_birth.clone(),
                email: d.one_login_email.as_ref().map(|e| e.as_str().to_string()),
                nino: d.nino.clone(),
                trn: d.trn.clone(),
                itt: d.itt.as_ref().and_then(|a| a.value().cloned()),
            },
            Self::IdentityVerification(d) => Evidence {
                names: std::iter::once(&d.entered.name)
                    .chain(&d.entered.previous_names)
                    .map(|n| split_name(n))
                    .collect(),
                dates_of_birth: vec![d.entered.date_of_birth],
                email: d.one_login_email.as_ref().map(|e| e.as_str().to_string()),
                nino: d.entered.nino.as_deref().and_then(|n| parse_nino(n).ok()),
                trn: d.entered.trn.as_deref().and_then(|t| parse_trn(t).ok()),
                itt: None,
            },
            // The account route's own evidence, so the console searches as the account's look-up did.
            Self::AccountRecordMatching(d) => account_evidence(&d.facts(), &d.answers),
        }
    }
}

/// A name typed as one line, split the way records hold names: the last word is the family name.
pub fn split_name(full: &str) -> VerifiedName {
    let mut words: Vec<String> = full.split_whitespace().map(str::to_string).collect();
    let family_name = words.pop().unwrap_or_default();
    VerifiedName {
        given_names: words,
        family_name,
        valid_from: None,
        valid_until: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// A record-matching task's details exactly as `POST /connect/support` has written them.
    const STORED_RECORD_MATCHING: &str = r#"{"verified":{"names":[{"given_names":["Ann"],"family_name":"Lloyd Jones","valid_from":null,"valid_until":null},{"given_names":["Ann"],"family_name":"Lee","valid_from":null,"valid_until":"2015-06-01"}],"dates_of_birth":["1985-03-14"]},"one_login_email":"ann@example.com","nino":"AB123456C","trn":null}"#;
    /// An identity-verification task's details as `POST /identity-support/send` has written them.
    const STORED_IDENTITY: &str = r#"{"entered":{"name":"Ann Lee","previous_names":["Ann Smith"],"date_of_birth":"1985-03-14","nino":"JK 12 34 56 C","trn":"1234567"},"proof":{"key":"proofs/a.png","content_type":"image/png","file_name":"passport.png","size":20},"one_login_email":null}"#;
    /// The same after the retention period deleted the file.
    const STORED_IDENTITY_PROOF_DELETED: &str = r#"{"entered":{"name":"Ann Lee","previous_names":[],"date_of_birth":"1985-03-14","nino":null,"trn":null},"proof":{"content_type":"image/png","deleted_after_days":90,"deleted_at":"2027-03-01T02:00:00+00:00","file_name":"passport.png","size":20},"one_login_email":"ann@example.com"}"#;

    fn dob() -> NaiveDate {
        NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
    }

    #[test]
    fn record_matching_details_as_stored_today_still_read() {
        let details = TaskDetails::parse(TaskKind::RecordMatching, STORED_RECORD_MATCHING).unwrap();
        assert_eq!(details.kind(), TaskKind::RecordMatching);
        assert_eq!(details.requester_name(), "Ann Lloyd Jones");
        assert_eq!(details.requester_email(), "ann@example.com");
        assert_eq!(details.trn(), None);
        assert_eq!(
            details.flags().count(),
            0,
            "tasks raised before flags were kept"
        );
        let facts = details.facts();
        assert_eq!(facts.names, ["Ann Lloyd Jones", "Ann Lee"]);
        assert_eq!(facts.dates_of_birth, [dob()]);
        assert_eq!(facts.nino.as_deref(), Some("AB123456C"));
        // Written back, it reads the same.
        assert_eq!(
            TaskDetails::parse(TaskKind::RecordMatching, &details.to_json()).unwrap(),
            details
        );
    }

    #[test]
    fn the_console_searches_with_the_family_name_one_login_gave() {
        let details = TaskDetails::parse(TaskKind::RecordMatching, STORED_RECORD_MATCHING).unwrap();
        let evidence = details.evidence();
        assert_eq!(evidence.names[0].family_name, "Lloyd Jones");
        assert_eq!(evidence.names[0].given_names, ["Ann"]);
        assert_eq!(evidence.nino.as_ref().map(Nino::as_str), Some("AB123456C"));
        assert_eq!(evidence.email.as_deref(), Some("ann@example.com"));
    }

    #[test]
    fn identity_details_as_stored_today_still_read() {
        let details = TaskDetails::parse(TaskKind::IdentityVerification, STORED_IDENTITY).unwrap();
        assert_eq!(details.requester_name(), "Ann Lee");
        assert_eq!(details.requester_email(), "");
        assert_eq!(details.trn(), Some("1234567"));
        let proof = details.proof().unwrap();
        assert_eq!(proof.key.as_deref(), Some("proofs/a.png"));
        assert_eq!(proof.file_name, "passport.png");
        let evidence = details.evidence();
        assert_eq!(evidence.names[1].family_name, "Smith");
        assert_eq!(evidence.nino.as_ref().map(Nino::as_str), Some("JK123456C"));
        assert_eq!(evidence.trn.as_ref().map(Trn::as_str), Some("1234567"));
        assert_eq!(details.facts().names, ["Ann Lee", "Ann Smith"]);

        let deleted = TaskDetails::parse(
            TaskKind::IdentityVerification,
            STORED_IDENTITY_PROOF_DELETED,
        )
        .unwrap();
        let proof = deleted.proof().unwrap();
        assert_eq!(proof.key, None);
        assert_eq!(proof.deleted_after_days, Some(90));
        // Written back exactly as it was (the proof's generated column reads `$.proof.key`).
        let again: serde_json::Value = serde_json::from_str(&deleted.to_json()).unwrap();
        let before: serde_json::Value =
            serde_json::from_str(STORED_IDENTITY_PROOF_DELETED).unwrap();
        assert_eq!(again, before);
    }

    #[test]
    fn details_that_do_not_fit_their_kind_are_an_error_not_a_default() {
        assert!(TaskDetails::parse(TaskKind::RecordMatching, STORED_IDENTITY).is_err());
        assert!(
            TaskDetails::parse(TaskKind::IdentityVerification, STORED_RECORD_MATCHING).is_err()
        );
        assert!(TaskDetails::parse(TaskKind::RecordMatching, "{}").is_err());
        assert!(TaskDetails::parse(TaskKind::RecordMatching, "not json").is_err());
    }

    #[test]
    fn an_account_task_reads_back_and_searches_as_the_account_route_did() {
        use crate::domain::journey::Answer;
        let details = TaskDetails::AccountRecordMatching(AccountRecordMatchingDetails {
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            preferred_name: None,
            date_of_birth: dob(),
            email: "ann+npq@example.com".into(),
            mobile: Some("+447700900123".into()),
            answers: AccountAnswers {
                nino: Some(Answer::Yes(parse_nino("AB123456C").unwrap())),
                trn: Some(Answer::No),
                itt: None,
            },
            flags: [SupportFlag::PossibleDuplicateOrNamesake].into(),
        });
        let json = details.to_json();
        assert_eq!(
            TaskDetails::parse(TaskKind::AccountRecordMatching, &json).unwrap(),
            details
        );
        assert!(TaskDetails::parse(TaskKind::RecordMatching, &json).is_err());
        assert_eq!(details.kind(), TaskKind::AccountRecordMatching);
        assert_eq!(details.requester_name(), "Ann Lee");
        assert_eq!(details.requester_email(), "ann+npq@example.com");
        assert_eq!(details.trn(), None);
        assert_eq!(
            details.strongest_flag(),
            Some(SupportFlag::PossibleDuplicateOrNamesake)
        );
        let evidence = details.evidence();
        assert_eq!(evidence.names[0].family_name, "Lee");
        assert_eq!(evidence.dates_of_birth, [dob()]);
        assert_eq!(evidence.nino.as_ref().map(Nino::as_str), Some("AB123456C"));
        assert_eq!(details.facts().nino.as_deref(), Some("AB123456C"));
    }

    #[test]
    fn every_flag_is_kept_and_the_strongest_leads() {
        let mut details =
            match TaskDetails::parse(TaskKind::RecordMatching, STORED_RECORD_MATCHING).unwrap() {
                TaskDetails::RecordMatching(d) => d,
                other => panic!("{other:?}"),
            };
        details
            .flags
            .insert(SupportFlag::PossibleDuplicateOrNamesake);
        details.flags.insert(SupportFlag::PossibleDuplicate);
        let details = TaskDetails::RecordMatching(details);
        assert_eq!(
            details.flags().collect::<Vec<_>>(),
            [
                SupportFlag::PossibleDuplicate,
                SupportFlag::PossibleDuplicateOrNamesake
            ]
        );
        assert_eq!(
            details.strongest_flag(),
            Some(SupportFlag::PossibleDuplicateOrNamesake)
        );
        let read = TaskDetails::parse(TaskKind::RecordMatching, &details.to_json()).unwrap();
        assert_eq!(read, details);
    }
}
