//! TRN tokens (DESIGN §7.2): what an API client may do, what a request for a token must hold, how long a token
//! lives, and when a teacher may redeem one. Pure rules; the API and storage are in the server crate.

use super::identity::VerifiedIdentity;
use super::names::name_key;
use super::records::{RecordStatus, TeachingRecord};
use super::validation::{is_email_address, parse_trn, Trn};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What an API key allows. Stored as a JSON array of these names and read back only through this type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ApiScope {
    /// `POST /api/v1/trn-tokens`.
    #[serde(rename = "trn_tokens:write")]
    TrnTokensWrite,
    /// `PUT /api/v1/teachers/{trn}/qts`.
    #[serde(rename = "qts:write")]
    QtsWrite,
}

impl ApiScope {
    pub const ALL: [ApiScope; 2] = [ApiScope::TrnTokensWrite, ApiScope::QtsWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::TrnTokensWrite => "trn_tokens:write",
            ApiScope::QtsWrite => "qts:write",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// How long a TRN token may be redeemed: 180 days (§7.2).
pub const TOKEN_LIFETIME: Duration = Duration::days(180);

/// When a token made at `now` expires.
pub fn expires_at(now: DateTime<Utc>) -> DateTime<Utc> {
    now + TOKEN_LIFETIME
}

/// The longest email address (RFC 5321's path limit), as elsewhere in the service.
pub const MAX_EMAIL_LEN: usize = 254;

/// The body of `POST /api/v1/trn-tokens` as sent. Unknown fields are refused, so a caller's typo is an error
/// rather than silently ignored.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrnTokenRequest {
    pub trn: String,
    pub email: String,
}

/// A request that passed [`TrnTokenRequest::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidTrnTokenRequest {
    pub trn: Trn,
    pub email: String,
}

/// A field of a request that is wrong, and why, for the problem-details answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub detail: &'static str,
}

impl TrnTokenRequest {
    /// The TRN must be exactly seven digits as sent (a program sends it; nothing is cleaned up), the email an
    /// address by the service's usual check ([`is_email_address`]), trimmed.
    pub fn validate(&self) -> Result<ValidTrnTokenRequest, FieldProblem> {
        let trn = exact_trn(&self.trn)?;
        let email = self.email.trim();
        if !is_email_address(email) {
            return Err(FieldProblem {
                field: "email",
                detail: "email must be an email address of at most 254 characters",
            });
        }
        Ok(ValidTrnTokenRequest {
            trn,
            email: email.to_string(),
        })
    }
}

/// A TRN sent by a program (in a body or a path): exactly seven digits as sent, nothing cleaned up.
pub fn exact_trn(trn: &str) -> Result<Trn, FieldProblem> {
    (trn.len() == 7)
        .then(|| parse_trn(trn).ok())
        .flatten()
        .filter(|t| t.as_str() == trn)
        .ok_or(FieldProblem {
            field: "trn",
            detail: "trn must be exactly 7 digits",
        })
}

/// The earliest QTS award the API accepts: anything before is a mistake in the caller's data, not a real award.
pub const EARLIEST_QTS_AWARD: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date");

/// The body of `PUT /api/v1/teachers/{trn}/qts` as sent: the day QTS was awarded. Unknown fields are refused.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QtsAwardRequest {
    pub awarded: String,
}

impl QtsAwardRequest {
    /// `awarded` must be a calendar date written `YYYY-MM-DD` (ISO 8601, as sent: nothing is cleaned up), not
    /// after `today` (the UK's date: an award is announced once made) and not before [`EARLIEST_QTS_AWARD`].
    pub fn validate(&self, today: NaiveDate) -> Result<NaiveDate, FieldProblem> {
        let well_formed = self.awarded.len() == 10
            && self.awarded.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        let date = well_formed
            .then(|| NaiveDate::parse_from_str(&self.awarded, "%Y-%m-%d").ok())
            .flatten()
            .ok_or(FieldProblem {
                field: "awarded",
                detail: "awarded must be a date written YYYY-MM-DD",
            })?;
        if date > today {
            return Err(FieldProblem {
                field: "awarded",
                detail: "awarded must not be in the future",
            });
        }
        if date < EARLIEST_QTS_AWARD {
            return Err(FieldProblem {
                field: "awarded",
                detail: "awarded must not be before 1900",
            });
        }
        Ok(date)
    }
}

/// The change-history event of a QTS award the API recorded (kind [`QTS_AWARDED`]), as stored in
/// `record_events.details`: the date, the API client that announced it, and whether the teacher was emailed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QtsAwardedEvent {
    pub awarded: NaiveDate,
    pub api_client_id: i64,
    pub email_sent: bool,
}

/// The change-history event kind of a QTS award announced through the API.
pub const QTS_AWARDED: &str = "qts_awarded";

/// A stored TRN token, as the redemption rule needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrnToken {
    pub trn: String,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Why a token does not connect the teacher by itself (the normal journey runs instead; the token stays unused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Expired,
    AlreadyUsed,
    /// The record is not the token's (a caller bug, or a changed TRN).
    WrongRecord,
    RecordDeactivated,
    ConnectedToSomeoneElse,
    LastNameDiffers,
    DateOfBirthDiffers,
}

/// §7.2's redemption rule: after One Login verified `identity`, the teacher is connected to the token's record
/// without questions only when the token is unexpired and unused, the record is active and not connected to
/// anyone else, one verified last name (current or previous) equals one of the record's last names (current or
/// previous, compared as names are everywhere: [`name_key`]) and a verified date of birth equals the record's.
pub fn may_redeem(
    token: &TrnToken,
    record: &TeachingRecord,
    connected_to_someone_else: bool,
    identity: &VerifiedIdentity,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if token.used_at.is_some() {
        return Err(Refusal::AlreadyUsed);
    }
    if now >= token.expires_at {
        return Err(Refusal::Expired);
    }
    if record.trn != token.trn {
        return Err(Refusal::WrongRecord);
    }
    if record.status != RecordStatus::Active {
        return Err(Refusal::RecordDeactivated);
    }
    if connected_to_someone_else {
        return Err(Refusal::ConnectedToSomeoneElse);
    }
    let record_last_names: Vec<String> = std::iter::once(record.last_name.as_str())
        .chain(record.previous_names.iter().map(|p| p.last_name.as_str()))
        .map(name_key)
        .filter(|k| !k.is_empty())
        .collect();
    let last_name_agrees = identity
        .names
        .iter()
        .map(|n| name_key(&n.family_name))
        .any(|k| record_last_names.contains(&k));
    if !last_name_agrees {
        return Err(Refusal::LastNameDiffers);
    }
    if !identity.dates_of_birth.contains(&record.date_of_birth) {
        return Err(Refusal::DateOfBirthDiffers);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::VerifiedName;
    use crate::domain::records::PreviousName;
    use chrono::{NaiveDate, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
    }

    fn dob() -> NaiveDate {
        NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
    }

    fn record() -> TeachingRecord {
        TeachingRecord {
            trn: "1234567".into(),
            first_name: "Sam".into(),
            middle_name: None,
            last_name: "O'Brien".into(),
            date_of_birth: dob(),
            nino: None,
            email: None,
            status: RecordStatus::Active,
            previous_names: vec![PreviousName {
                first_name: "Sam".into(),
                middle_name: None,
                last_name: "Jones".into(),
                valid_until: None,
            }],
            qualifications: vec![],
        }
    }

    fn token() -> TrnToken {
        TrnToken {
            trn: "1234567".into(),
            email: "sam@example.com".into(),
            expires_at: expires_at(now()),
            used_at: None,
        }
    }

    fn name(family: &str, current: bool) -> VerifiedName {
        VerifiedName {
            given_names: vec!["Sam".into()],
            family_name: family.into(),
            valid_from: None,
            valid_until: (!current).then(|| NaiveDate::from_ymd_opt(2010, 1, 1).unwrap()),
        }
    }

    fn identity(names: Vec<VerifiedName>) -> VerifiedIdentity {
        VerifiedIdentity {
            names,
            dates_of_birth: vec![dob()],
        }
    }

    #[test]
    fn an_unused_unexpired_token_with_agreeing_name_and_date_of_birth_is_redeemed() {
        let id = identity(vec![name("OBRIEN", true)]);
        assert_eq!(may_redeem(&token(), &record(), false, &id, now()), Ok(()));
    }

    #[test]
    fn a_previous_verified_last_name_may_equal_a_previous_record_last_name() {
        let id = identity(vec![name("Smith", true), name("jones", false)]);
        assert_eq!(may_redeem(&token(), &record(), false, &id, now()), Ok(()));
    }

    #[test]
    fn an_expired_token_is_refused_from_the_moment_it_expires() {
        let id = identity(vec![name("O'Brien", true)]);
        let t = token();
        let just_before = t.expires_at - Duration::seconds(1);
        assert_eq!(may_redeem(&t, &record(), false, &id, just_before), Ok(()));
        assert_eq!(
            may_redeem(&t, &record(), false, &id, t.expires_at),
            Err(Refusal::Expired)
        );
    }

    #[test]
    fn a_used_token_is_refused() {
        let id = identity(vec![name("O'Brien", true)]);
        let t = TrnToken {
            used_at: Some(now()),
            ..token()
        };
        assert_eq!(
            may_redeem(&t, &record(), false, &id, now()),
            Err(Refusal::AlreadyUsed)
        );
    }

    #[test]
    fn another_record_than_the_tokens_is_refused() {
        let id = identity(vec![name("O'Brien", true)]);
        let r = TeachingRecord {
            trn: "7654321".into(),
            ..record()
        };
        assert_eq!(
            may_redeem(&token(), &r, false, &id, now()),
            Err(Refusal::WrongRecord)
        );
    }

    #[test]
    fn a_deactivated_record_is_refused() {
        let id = identity(vec![name("O'Brien", true)]);
        let r = TeachingRecord {
            status: RecordStatus::Deactivated,
            ..record()
        };
        assert_eq!(
            may_redeem(&token(), &r, false, &id, now()),
            Err(Refusal::RecordDeactivated)
        );
    }

    #[test]
    fn a_record_connected_to_someone_else_is_refused() {
        let id = identity(vec![name("O'Brien", true)]);
        assert_eq!(
            may_redeem(&token(), &record(), true, &id, now()),
            Err(Refusal::ConnectedToSomeoneElse)
        );
    }

    #[test]
    fn no_verified_last_name_equal_to_a_record_last_name_is_refused() {
        let id = identity(vec![name("Brien", true), name("Jonas", false)]);
        assert_eq!(
            may_redeem(&token(), &record(), false, &id, now()),
            Err(Refusal::LastNameDiffers)
        );
    }

    #[test]
    fn a_different_date_of_birth_is_refused() {
        let id = VerifiedIdentity {
            names: vec![name("O'Brien", true)],
            dates_of_birth: vec![NaiveDate::from_ymd_opt(1985, 3, 15).unwrap()],
        };
        assert_eq!(
            may_redeem(&token(), &record(), false, &id, now()),
            Err(Refusal::DateOfBirthDiffers)
        );
    }

    #[test]
    fn a_token_lives_180_days() {
        assert_eq!(expires_at(now()) - now(), Duration::days(180));
    }

    #[test]
    fn scopes_round_trip_by_their_names_and_only_those() {
        for scope in ApiScope::ALL {
            assert_eq!(ApiScope::parse(scope.as_str()), Some(scope));
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{}\"", scope.as_str()));
            assert_eq!(serde_json::from_str::<ApiScope>(&json).unwrap(), scope);
        }
        assert_eq!(ApiScope::parse("trn_tokens:read"), None);
        assert!(serde_json::from_str::<ApiScope>("\"admin\"").is_err());
    }

    fn request(trn: &str, email: &str) -> TrnTokenRequest {
        TrnTokenRequest {
            trn: trn.into(),
            email: email.into(),
        }
    }

    #[test]
    fn a_request_needs_a_seven_digit_trn_as_sent() {
        assert!(request("1234567", "a@b.example").validate().is_ok());
        for bad in [
            "123456",
            "12345678",
            "123 4567",
            "123456a",
            "0000000",
            "",
            "１２３４５６７",
        ] {
            assert_eq!(
                request(bad, "a@b.example").validate().unwrap_err().field,
                "trn",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_request_needs_an_email_address() {
        let ok = request("1234567", "  sam@school.example ")
            .validate()
            .unwrap();
        assert_eq!(ok.email, "sam@school.example");
        assert_eq!(ok.trn.as_str(), "1234567");
        let long = format!("{}@b.example", "a".repeat(250));
        for bad in ["", "sam", "@school.example", "sam@school", long.as_str()] {
            assert_eq!(
                request("1234567", bad).validate().unwrap_err().field,
                "email",
                "{bad:?}"
            );
        }
    }

    fn award(awarded: &str) -> Result<NaiveDate, FieldProblem> {
        QtsAwardRequest {
            awarded: awarded.into(),
        }
        .validate(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
    }

    #[test]
    fn a_qts_award_is_a_date_written_yyyy_mm_dd_up_to_today() {
        assert_eq!(
            award("2026-07-15"),
            Ok(NaiveDate::from_ymd_opt(2026, 7, 15).unwrap())
        );
        assert_eq!(
            award("2026-12-01"),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
        );
        assert_eq!(award("1900-01-01"), Ok(EARLIEST_QTS_AWARD));
        for bad in [
            "",
            "2026-7-15",
            "15/07/2026",
            "2026-07-15T00:00:00Z",
            " 2026-07-15",
            "2026-02-30",
            "2026-13-01",
            "+2026-07-1",
            "２０２６-07-15",
        ] {
            let problem = award(bad).unwrap_err();
            assert_eq!(problem.field, "awarded", "{bad:?}");
            assert!(problem.detail.contains("YYYY-MM-DD"), "{bad:?}");
        }
        assert_eq!(
            award("2026-12-02").unwrap_err().detail,
            "awarded must not be in the future"
        );
        assert_eq!(
            award("1899-12-31").unwrap_err().detail,
            "awarded must not be before 1900"
        );
    }

    #[test]
    fn a_trn_in_a_path_is_seven_digits_as_sent() {
        assert_eq!(exact_trn("1234567").unwrap().as_str(), "1234567");
        for bad in ["123456", "123-4567", "0000000", "12345678", "abcdefg"] {
            assert_eq!(exact_trn(bad).unwrap_err().field, "trn", "{bad:?}");
        }
    }

    #[test]
    fn a_request_with_an_unknown_field_is_refused() {
        let err = serde_json::from_str::<TrnTokenRequest>(
            r#"{"trn":"1234567","email":"a@b.example","name":"x"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `name`"), "{err}");
    }
}
