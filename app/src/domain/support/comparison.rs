//! A suggested record beside what the teacher and One Login said, field by field.

use crate::domain::names::name_key;
use crate::domain::records::TeachingRecord;
use crate::domain::validation::Nino;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One field of a suggested record beside what the teacher or One Login said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldComparison {
    pub label: String,
    pub value: String,
    pub outcome: Comparison,
}

/// How a record's field compares with what the task says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    Matches,
    DoesNotMatch,
    /// One side has no value (no NINO on the record, no TRN given, …): nothing to compare, so nothing is said.
    NotCompared,
}

impl Comparison {
    /// Compares two values only when both are there.
    fn of<T: PartialEq>(ours: Option<T>, theirs: Option<T>) -> Self {
        match (ours, theirs) {
            (Some(a), Some(b)) => Self::when(a == b),
            _ => Self::NotCompared,
        }
    }

    fn when(equal: bool) -> Self {
        if equal {
            Self::Matches
        } else {
            Self::DoesNotMatch
        }
    }
}

/// A record support staff might connect the teacher to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestedRecord {
    pub trn: String,
    pub name: String,
    pub fields: Vec<FieldComparison>,
    /// Already connected to another One Login.
    pub connected_elsewhere: bool,
    pub deactivated: bool,
    /// Found by an identifier alone (TRN, National Insurance number or email), not by a name with a verified date
    /// of birth: says which, for the page to mark it.
    #[serde(default)]
    pub found_by: Option<String>,
}

/// What the teacher asked with: the facts support staff compare records against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFacts {
    pub names: Vec<String>,
    pub dates_of_birth: Vec<NaiveDate>,
    pub email: String,
    pub nino: Option<String>,
    pub trn: Option<String>,
}

/// Compares a record with the task's facts, field by field (names and emails case- and accent-insensitively).
pub fn compare_record(facts: &TaskFacts, record: &TeachingRecord) -> Vec<FieldComparison> {
    let full_name = record.full_name();
    let record_names: Vec<String> = std::iter::once(name_key(&format!(
        "{} {}",
        record.first_name, record.last_name
    )))
    .chain(std::iter::once(name_key(&full_name)))
    .chain(
        record
            .previous_names
            .iter()
            .map(|p| name_key(&format!("{} {}", p.first_name, p.last_name))),
    )
    .collect();
    let name_matches = facts.names.iter().any(|n| {
        let key = name_key(n);
        record_names.contains(&key)
    });
    // "Does not match" only where both sides have a value: a NINO the teacher never gave is not a mismatch.
    let mut fields = vec![
        FieldComparison {
            label: "Name".into(),
            value: full_name,
            outcome: if facts.names.is_empty() {
                Comparison::NotCompared
            } else {
                Comparison::when(name_matches)
            },
        },
        FieldComparison {
            label: "Date of birth".into(),
            value: crate::domain::uk_time::long_date(record.date_of_birth),
            outcome: if facts.dates_of_birth.is_empty() {
                Comparison::NotCompared
            } else {
                Comparison::when(facts.dates_of_birth.contains(&record.date_of_birth))
            },
        },
    ];
    fields.push(FieldComparison {
        label: "National Insurance number".into(),
        value: record
            .nino
            .clone()
            .unwrap_or_else(|| "Not on record".into()),
        outcome: Comparison::of(
            record.nino.as_deref().and_then(Nino::key),
            facts.nino.as_deref().and_then(Nino::key),
        ),
    });
    fields.push(FieldComparison {
        label: "TRN".into(),
        value: record.trn.clone(),
        outcome: Comparison::of(Some(record.trn.as_str()), facts.trn.as_deref()),
    });
    fields.push(FieldComparison {
        label: "Email".into(),
        value: record
            .email
            .clone()
            .unwrap_or_else(|| "Not on record".into()),
        outcome: Comparison::of(
            record.email.as_deref().map(str::to_lowercase),
            Some(facts.email.as_str())
                .filter(|e| !e.is_empty())
                .map(str::to_lowercase),
        ),
    });
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_compared_field_by_field() {
        use crate::domain::records::RecordStatus;
        let record = TeachingRecord {
            trn: "1234567".into(),
            first_name: "Siân".into(),
            middle_name: None,
            last_name: "O'Brien".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1990, 1, 2).unwrap(),
            nino: Some("AB123456C".into()),
            email: None,
            status: RecordStatus::Active,
            previous_names: vec![],
            qualifications: vec![],
        };
        let facts = TaskFacts {
            names: vec!["Sian OBrien".into()],
            dates_of_birth: vec![NaiveDate::from_ymd_opt(1990, 2, 1).unwrap()],
            email: "s@example.com".into(),
            nino: Some("AB123456C".into()),
            trn: None,
        };
        let outcomes: Vec<(String, Comparison)> = compare_record(&facts, &record)
            .into_iter()
            .map(|f| (f.label, f.outcome))
            .collect();
        // No TRN given and no email on the record: nothing to compare, so neither "does not match".
        assert_eq!(
            outcomes,
            vec![
                ("Name".into(), Comparison::Matches),
                ("Date of birth".into(), Comparison::DoesNotMatch),
                ("National Insurance number".into(), Comparison::Matches),
                ("TRN".into(), Comparison::NotCompared),
                ("Email".into(), Comparison::NotCompared),
            ]
        );
    }

    #[test]
    fn a_record_nino_written_with_spaces_matches_the_typed_one() {
        use crate::domain::records::RecordStatus;
        let record = TeachingRecord {
            trn: "1234567".into(),
            first_name: "Ann".into(),
            middle_name: None,
            last_name: "Lee".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1985, 3, 14).unwrap(),
            nino: Some("ab 12 34 56 c".into()),
            email: None,
            status: RecordStatus::Active,
            previous_names: vec![],
            qualifications: vec![],
        };
        let nino = |typed: &str| {
            let facts = TaskFacts {
                nino: Some(typed.into()),
                ..TaskFacts::default()
            };
            compare_record(&facts, &record)
                .into_iter()
                .find(|f| f.label == "National Insurance number")
                .unwrap()
                .outcome
        };
        assert_eq!(nino("AB123456C"), Comparison::Matches);
        assert_eq!(nino("AB123456D"), Comparison::DoesNotMatch);
    }

    #[test]
    fn does_not_match_only_when_both_sides_have_a_value() {
        use crate::domain::records::RecordStatus;
        let record = TeachingRecord {
            trn: "7654321".into(),
            first_name: "Ann".into(),
            middle_name: None,
            last_name: "Lee".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1985, 3, 14).unwrap(),
            nino: None,
            email: Some("Ann.Lee@Example.com".into()),
            status: RecordStatus::Active,
            previous_names: vec![],
            qualifications: vec![],
        };
        let outcome = |facts: &TaskFacts, label: &str| {
            compare_record(facts, &record)
                .into_iter()
                .find(|f| f.label == label)
                .unwrap()
                .outcome
        };
        // The teacher gave nothing but an email.
        let bare = TaskFacts {
            email: "ann.lee@example.com".into(),
            ..TaskFacts::default()
        };
        assert_eq!(outcome(&bare, "Name"), Comparison::NotCompared);
        assert_eq!(outcome(&bare, "Date of birth"), Comparison::NotCompared);
        assert_eq!(
            outcome(&bare, "National Insurance number"),
            Comparison::NotCompared
        );
        assert_eq!(outcome(&bare, "TRN"), Comparison::NotCompared);
        assert_eq!(outcome(&bare, "Email"), Comparison::Matches);
        // Both sides have a value and differ: now it does not match.
        let given = TaskFacts {
            names: vec!["Bo Kim".into()],
            dates_of_birth: vec![NaiveDate::from_ymd_opt(1985, 3, 15).unwrap()],
            email: "bo@example.com".into(),
            nino: Some("AB123456C".into()),
            trn: Some("1111111".into()),
        };
        assert_eq!(outcome(&given, "Name"), Comparison::DoesNotMatch);
        assert_eq!(outcome(&given, "Date of birth"), Comparison::DoesNotMatch);
        // The record has no NINO: still nothing to compare.
        assert_eq!(
            outcome(&given, "National Insurance number"),
            Comparison::NotCompared
        );
        assert_eq!(outcome(&given, "TRN"), Comparison::DoesNotMatch);
        assert_eq!(outcome(&given, "Email"), Comparison::DoesNotMatch);
    }
}
