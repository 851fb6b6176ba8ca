//! What GOV.UK One Login tells us about a person's identity, in our own types (one-login-rp.md rule 46): the
//! verified names (current and previous, with their dates) and dates of birth, taken from the core identity
//! credential. We keep these and nothing else of the credential.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// An email address One Login has verified belongs to the account (`email_verified: true`). Only this kind of
/// address is kept as the teacher's email or used as matching evidence: an unverified one could be anyone's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VerifiedEmail(String);

impl VerifiedEmail {
    /// From userinfo's `email` and `email_verified`: `None` unless One Login says `true` (a missing claim is not a
    /// yes) and the address is not blank.
    pub fn from_one_login(email: &str, email_verified: Option<bool>) -> Option<Self> {
        if email_verified == Some(true) {
            Self::verified_before(email)
        } else {
            None
        }
    }

    /// An address that was verified when it was kept (the users table holds no other), or a test's. Blank is none.
    pub fn verified_before(email: &str) -> Option<Self> {
        let email = email.trim();
        (!email.is_empty()).then(|| Self(email.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One name a person has been verified as having, with when it applied. No `valid_until` means it is current;
/// no `valid_from` means it may date from birth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedName {
    pub given_names: Vec<String>,
    pub family_name: String,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

impl VerifiedName {
    pub fn is_current(&self) -> bool {
        self.valid_until.is_none()
    }

    /// Given names then family name, as one line.
    pub fn full_name(&self) -> String {
        let mut parts = self.given_names.clone();
        parts.push(self.family_name.clone());
        parts.join(" ")
    }
}

/// A proven identity: the names and dates of birth from the core identity credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedIdentity {
    /// Current names first, then previous names, newest first.
    pub names: Vec<VerifiedName>,
    /// The first is the one held with the most confidence.
    pub dates_of_birth: Vec<NaiveDate>,
}

impl VerifiedIdentity {
    pub fn current_name(&self) -> Option<&VerifiedName> {
        self.names.iter().find(|n| n.is_current())
    }

    pub fn previous_names(&self) -> impl Iterator<Item = &VerifiedName> {
        self.names.iter().filter(|n| !n.is_current())
    }
}

/// Who verified an identity. Kept with it, so that an identity support checked is never sent to One Login's
/// identity check again, and so that the two can be told apart afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VerifiedBy {
    /// GOV.UK One Login's identity check (the core identity credential).
    OneLogin,
    /// A support officer, from the proof of identity sent with a support task.
    Support {
        staff_id: i64,
        task_reference: String,
    },
}

/// A verified identity as we keep it: the names and dates of birth, who verified them, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityVerification {
    pub identity: VerifiedIdentity,
    pub by: VerifiedBy,
    pub at: DateTime<Utc>,
}

/// Where a teacher goes straight after signing in with One Login (`Cl.Cm`), from what we already know about them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterSignIn {
    /// Identity verified (by One Login or by support): on to where the journey says (their record, the
    /// questions, or the page saying support is still looking), with no identity check.
    Continue,
    /// Not verified here but connected to a teaching record (so verified before we kept identities): to it.
    Record,
    /// A support request is open: "we're still looking at your request", with no identity check meanwhile.
    AwaitingSupport,
    /// Support could not check their proof of identity: try One Login again, or send another proof.
    TryAgain,
    /// Nothing known yet: prove their identity with One Login (`Cl.Cm.P2`).
    CheckIdentity,
}

impl AfterSignIn {
    /// `identity_rejected`: support's latest decision on their identity was to reject the proof.
    pub fn decide(
        verified: bool,
        connected: bool,
        open_task: bool,
        identity_rejected: bool,
    ) -> Self {
        if verified {
            Self::Continue
        } else if connected {
            Self::Record
        } else if open_task {
            Self::AwaitingSupport
        } else if identity_rejected {
            Self::TryAgain
        } else {
            Self::CheckIdentity
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Self::Record => crate::routes::RECORD,
            Self::AwaitingSupport => crate::routes::REQUEST_PENDING,
            Self::Continue => crate::routes::CONTINUE,
            // The page words it as support's decision, not One Login's.
            Self::TryAgain => "/identity-not-verified?after=support",
            Self::CheckIdentity => "/auth/identity",
        }
    }
}

/// Why a credential subject could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("the credential has no current name")]
    NoCurrentName,
    #[error("a name has no family name")]
    NoFamilyName,
    #[error("the credential has no valid date of birth")]
    NoDateOfBirth,
    /// A name's `validFrom` or `validUntil` that is not a plain `YYYY-MM-DD` date. Guessing would be worse than
    /// refusing: a previous name whose end date is dropped would become a current name.
    #[error("a name's validity date is not a plain date")]
    NameDate,
    /// Deliberately without detail: parser messages can quote names, which must not reach the logs.
    #[error("the credential subject is not in the expected shape")]
    Shape,
}

#[derive(Deserialize)]
struct CredentialSubject {
    #[serde(default)]
    name: Vec<NameEntry>,
    #[serde(default, rename = "birthDate")]
    birth_date: Vec<BirthDate>,
}

#[derive(Deserialize)]
struct NameEntry {
    #[serde(default, rename = "nameParts")]
    name_parts: Vec<NamePart>,
    #[serde(default, rename = "validFrom")]
    valid_from: Option<String>,
    #[serde(default, rename = "validUntil")]
    valid_until: Option<String>,
}

#[derive(Deserialize)]
struct NamePart {
    value: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct BirthDate {
    value: String,
}

/// A plain calendar date, exactly `YYYY-MM-DD` (chrono alone would also take `2010-6-1`).
fn parse_date(s: &str) -> Option<NaiveDate> {
    let plain = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !plain {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A name's optional validity date: absent or `null` is none; anything else must be a plain date.
fn name_date(value: Option<&str>) -> Result<Option<NaiveDate>, CredentialError> {
    value
        .map(|s| parse_date(s).ok_or(CredentialError::NameDate))
        .transpose()
}

/// Reads `vc.credentialSubject` of a core identity JWT (as JSON). Name parts come in any order and there may be
/// several given names; an entry without `validUntil` (or with a null one) is a current name, and a `validFrom` or
/// `validUntil` that is there must be a plain date, or the credential is refused; `birthDate` is a list whose first
/// entry is the most confident. There is no length or character limit on names, so none is
/// applied here.
pub fn parse_credential_subject(
    subject: &serde_json::Value,
) -> Result<VerifiedIdentity, CredentialError> {
    let subject: CredentialSubject =
        serde_json::from_value(subject.clone()).map_err(|_| CredentialError::Shape)?;
    let mut names = Vec::new();
    for entry in subject.name {
        let given_names: Vec<String> = entry
            .name_parts
            .iter()
            .filter(|p| p.kind == "GivenName")
            .map(|p| p.value.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        let family: Vec<&str> = entry
            .name_parts
            .iter()
            .filter(|p| p.kind == "FamilyName")
            .map(|p| p.value.trim())
            .filter(|v| !v.is_empty())
            .collect();
        if family.is_empty() {
            return Err(CredentialError::NoFamilyName);
        }
        names.push(VerifiedName {
            given_names,
            family_name: family.join(" "),
            valid_from: name_date(entry.valid_from.as_deref())?,
            valid_until: name_date(entry.valid_until.as_deref())?,
        });
    }
    if !names.iter().any(VerifiedName::is_current) {
        return Err(CredentialError::NoCurrentName);
    }
    // Current names first, then previous names from the most recent.
    names.sort_by(|a, b| match (a.valid_until, b.valid_until) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => y.cmp(&x),
    });
    let dates_of_birth: Vec<NaiveDate> = subject
        .birth_date
        .iter()
        .filter_map(|d| parse_date(&d.value))
        .collect();
    if dates_of_birth.is_empty() {
        return Err(CredentialError::NoDateOfBirth);
    }
    Ok(VerifiedIdentity {
        names,
        dates_of_birth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn after_sign_in_the_verified_skip_the_identity_check_and_only_the_unknown_are_sent_to_it() {
        use AfterSignIn::*;
        // (verified, connected, open task, rejected) → where they go
        for (facts, expected) in [
            ((true, true, false, false), Continue),
            ((true, false, true, false), Continue),
            ((true, false, false, false), Continue),
            ((true, false, false, true), Continue),
            ((false, true, false, false), Record),
            ((false, false, true, false), AwaitingSupport),
            ((false, false, true, true), AwaitingSupport),
            ((false, false, false, true), TryAgain),
            ((false, false, false, false), CheckIdentity),
        ] {
            let (verified, connected, open, rejected) = facts;
            assert_eq!(
                AfterSignIn::decide(verified, connected, open, rejected),
                expected,
                "{facts:?}"
            );
        }
        assert_eq!(CheckIdentity.path(), "/auth/identity");
        assert_eq!(TryAgain.path(), "/identity-not-verified?after=support");
    }

    #[test]
    fn the_simulators_default_user_is_read() {
        let subject = json!({"name":[{"nameParts":[{"value":"GEOFFREY","type":"GivenName"},{"value":"HEARNSHAW","type":"FamilyName"}]}],
                             "birthDate":[{"value":"1955-04-19"}]});
        let identity = parse_credential_subject(&subject).unwrap();
        assert_eq!(
            identity.current_name().unwrap().full_name(),
            "GEOFFREY HEARNSHAW"
        );
        assert_eq!(
            identity.dates_of_birth,
            [NaiveDate::from_ymd_opt(1955, 4, 19).unwrap()]
        );
    }

    #[test]
    fn rule_46_name_parts_in_any_order_several_given_names_and_previous_names() {
        let subject = json!({
            "name": [
                {"nameParts":[{"value":"Jones","type":"FamilyName"},{"value":"Mary","type":"GivenName"}],
                 "validUntil":"2010-06-01"},
                {"nameParts":[{"value":"Ann","type":"GivenName"},{"value":"Smith","type":"FamilyName"},{"value":"Mary","type":"GivenName"}],
                 "validFrom":"2010-06-01","validUntil":null},
                {"nameParts":[{"value":"Mary","type":"GivenName"},{"value":"Brown","type":"FamilyName"}],
                 "validUntil":"2001-01-01"}
            ],
            "birthDate":[{"value":"1980-02-29"},{"value":"1980-03-01"}]
        });
        let identity = parse_credential_subject(&subject).unwrap();
        let current = identity.current_name().unwrap();
        assert_eq!(
            current.given_names,
            ["Ann", "Mary"],
            "given names in the order they came"
        );
        assert_eq!(current.family_name, "Smith");
        assert_eq!(current.valid_from, NaiveDate::from_ymd_opt(2010, 6, 1));
        let previous: Vec<_> = identity
            .previous_names()
            .map(|n| n.family_name.as_str())
            .collect();
        assert_eq!(previous, ["Jones", "Brown"], "newest previous name first");
        assert_eq!(identity.dates_of_birth.len(), 2);
        assert_eq!(
            identity.dates_of_birth[0],
            NaiveDate::from_ymd_opt(1980, 2, 29).unwrap()
        );
    }

    #[test]
    fn a_name_date_that_is_not_a_plain_date_is_refused() {
        let with_until = |until: serde_json::Value| {
            json!({"name": [
                {"nameParts":[{"value":"Jones","type":"FamilyName"}], "validUntil": until},
                {"nameParts":[{"value":"Smith","type":"FamilyName"}]}
            ], "birthDate":[{"value":"1980-02-29"}]})
        };
        for odd in [
            "2010-06-01T00:00:00Z",
            "2010-6-1",
            "01/06/2010",
            "2010-06-01 ",
            "+2010-06-01",
            "",
            "2010-02-30",
        ] {
            assert_eq!(
                parse_credential_subject(&with_until(json!(odd))),
                Err(CredentialError::NameDate),
                "{odd:?}"
            );
        }
        let odd_from = json!({"name": [{"nameParts":[{"value":"Smith","type":"FamilyName"}], "validFrom": "June 2010"}],
                              "birthDate":[{"value":"1980-02-29"}]});
        assert_eq!(
            parse_credential_subject(&odd_from),
            Err(CredentialError::NameDate)
        );
        let plain = parse_credential_subject(&with_until(json!("2010-06-01"))).unwrap();
        assert_eq!(plain.current_name().unwrap().family_name, "Smith");
        assert!(parse_credential_subject(&with_until(json!(null))).is_ok());
    }

    #[test]
    fn only_an_email_one_login_verified_is_a_verified_email() {
        assert_eq!(
            VerifiedEmail::from_one_login(" ann@example.com ", Some(true))
                .map(|e| e.as_str().to_string()),
            Some("ann@example.com".to_string())
        );
        assert_eq!(
            VerifiedEmail::from_one_login("ann@example.com", Some(false)),
            None
        );
        assert_eq!(VerifiedEmail::from_one_login("ann@example.com", None), None);
        assert_eq!(VerifiedEmail::from_one_login("  ", Some(true)), None);
    }

    #[test]
    fn long_and_unusual_names_are_kept_as_given() {
        let long = "Ñ".repeat(500);
        let subject = json!({"name":[{"nameParts":[{"value":long,"type":"GivenName"},{"value":"O’Brien-<b>","type":"FamilyName"}]}],
                             "birthDate":[{"value":"1990-01-01"}]});
        let identity = parse_credential_subject(&subject).unwrap();
        assert_eq!(identity.names[0].given_names[0].chars().count(), 500);
        assert_eq!(identity.names[0].family_name, "O’Brien-<b>");
    }

    #[test]
    fn credentials_without_a_current_name_family_name_or_birth_date_are_refused() {
        let only_previous = json!({"name":[{"nameParts":[{"value":"A","type":"GivenName"},{"value":"B","type":"FamilyName"}],"validUntil":"2000-01-01"}],
                                   "birthDate":[{"value":"1990-01-01"}]});
        assert_eq!(
            parse_credential_subject(&only_previous),
            Err(CredentialError::NoCurrentName)
        );
        let no_family = json!({"name":[{"nameParts":[{"value":"A","type":"GivenName"}]}],"birthDate":[{"value":"1990-01-01"}]});
        assert_eq!(
            parse_credential_subject(&no_family),
            Err(CredentialError::NoFamilyName)
        );
        let bad_date = json!({"name":[{"nameParts":[{"value":"B","type":"FamilyName"}]}],"birthDate":[{"value":"1990-13-45"}]});
        assert_eq!(
            parse_credential_subject(&bad_date),
            Err(CredentialError::NoDateOfBirth)
        );
        assert!(matches!(
            parse_credential_subject(&json!({"name": "x"})),
            Err(CredentialError::Shape)
        ));
    }
}
