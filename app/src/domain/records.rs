//! Teaching records as the service sees them (DESIGN §3). Storage rows convert into these types.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Whether a record can be connected to. Deactivated records stay for history but are never matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordStatus {
    Active,
    Deactivated,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deactivated => "deactivated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "deactivated" => Some(Self::Deactivated),
            _ => None,
        }
    }
}

/// A name the person was known by before, with the dates it applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousName {
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    pub valid_until: Option<NaiveDate>,
}

/// The kinds of qualification a teaching record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QualificationKind {
    /// Qualified teacher status.
    Qts,
    /// Early years teacher status.
    Eyts,
    /// Statutory induction.
    Induction,
    /// A national professional qualification.
    Npq,
    /// A mandatory qualification (for teachers of pupils with sensory impairments).
    Mandatory,
    /// Initial teacher training.
    Itt,
}

impl QualificationKind {
    pub const ALL: [Self; 6] = [
        Self::Qts,
        Self::Eyts,
        Self::Induction,
        Self::Npq,
        Self::Mandatory,
        Self::Itt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qts => "qts",
            Self::Eyts => "eyts",
            Self::Induction => "induction",
            Self::Npq => "npq",
            Self::Mandatory => "mandatory",
            Self::Itt => "itt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One qualification on a record: its kind, the specific name (e.g. "NPQ for Headship"), its status and date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qualification {
    pub kind: QualificationKind,
    pub name: String,
    pub status: String,
    pub awarded_on: Option<NaiveDate>,
    /// Who provided it: the initial teacher training provider on an ITT line (the third question of DESIGN §5
    /// compares it), `None` where the record does not say.
    #[serde(default)]
    pub provider: Option<String>,
}

/// A teaching record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeachingRecord {
    pub trn: String,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub nino: Option<String>,
    pub email: Option<String>,
    pub status: RecordStatus,
    pub previous_names: Vec<PreviousName>,
    pub qualifications: Vec<Qualification>,
}

impl TeachingRecord {
    /// First, middle and last name, as one line.
    pub fn full_name(&self) -> String {
        [
            Some(self.first_name.as_str()),
            self.middle_name.as_deref(),
            Some(self.last_name.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// The initial teacher training providers the record names (usually one).
    pub fn itt_providers(&self) -> impl Iterator<Item = &str> {
        self.qualifications
            .iter()
            .filter(|q| q.kind == QualificationKind::Itt)
            .filter_map(|q| q.provider.as_deref())
    }

    /// The year qualified teacher status was awarded, if the record holds it with a date.
    pub fn qts_year(&self) -> Option<i32> {
        use chrono::Datelike;
        self.qualifications
            .iter()
            .find(|q| q.kind == QualificationKind::Qts)
            .and_then(|q| q.awarded_on)
            .map(|d| d.year())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_round_trip_through_their_stored_names() {
        for kind in QualificationKind::ALL {
            assert_eq!(QualificationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(QualificationKind::parse("QTS"), None);
        assert_eq!(RecordStatus::parse("active"), Some(RecordStatus::Active));
        assert_eq!(
            RecordStatus::parse("deactivated"),
            Some(RecordStatus::Deactivated)
        );
        assert_eq!(RecordStatus::parse(""), None);
    }
}
