//! The people who can sign in: personas drawn from the synthetic teaching records the service seeds, each set up
//! for one matching journey, plus custom people typed into the picker.
//!
//! Personas are found by scanning records `0..3000` of the seed (the service seeds 3,000 by default), so they exist
//! in a freshly seeded development database. A persona whose kind of record the seed lacks is left out.

use crate::control::{CustomPerson, Outcome};
use crate::jose::b64;
use app::domain::records::{RecordStatus, TeachingRecord};
use app::domain::synthetic::record;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// How many seeded records the personas are drawn from: the service's default `SEED_RECORDS`.
pub const SCANNED_RECORDS: u64 = 3000;

/// The id that selects a [`CustomPerson`] instead of a persona.
pub const CUSTOM: &str = "custom";

/// A name someone used before, as One Login returns it (an entry with `validUntil`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousName {
    pub first_name: String,
    pub last_name: String,
    pub valid_until: NaiveDate,
}

/// Someone who can sign in, with what One Login knows about them and hints for the tester.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persona {
    /// Stable id used by tests and the picker, e.g. `exact-match`.
    pub id: String,
    /// The One Login subject identifier: stable for the id.
    pub sub: String,
    /// What the persona is for, shown in the picker.
    pub description: String,
    /// Given names as One Login verified them (first name).
    pub first_name: String,
    /// Further given names, if any.
    pub middle_name: Option<String>,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    /// The One Login account's email address (not necessarily the record's).
    pub email: String,
    /// What userinfo's `email_verified` says. One Login verifies every address, but its simulator can say `false`,
    /// and then the address proves nothing.
    pub email_verified: bool,
    pub previous_names: Vec<PreviousName>,
    /// The TRN of the record this persona should be connected to, for the tester to type.
    pub trn_hint: Option<String>,
    /// The National Insurance number to type when asked.
    pub nino_hint: Option<String>,
    /// Where the record says they did their initial teacher training, and the year of QTS: the third question's
    /// answers (DESIGN §5).
    #[serde(default)]
    pub itt_provider_hint: Option<String>,
    #[serde(default)]
    pub qts_year_hint: Option<i32>,
    /// The seeded record this persona was drawn from.
    pub record_index: Option<u64>,
    /// The outcome the picker preselects for this persona.
    pub default_outcome: Outcome,
}

/// `urn:fdc:gov.uk:2022:` and 43 base64url characters, as One Login's pairwise subject identifiers look.
pub fn sub_for(key: &str) -> String {
    format!(
        "urn:fdc:gov.uk:2022:{}",
        b64(Sha256::digest(key.as_bytes()))
    )
}

impl Persona {
    /// The person behind a custom sign-in; their `sub` follows from the email, so signing in again as the same
    /// email is the same One Login account.
    pub fn from_custom(custom: &CustomPerson) -> Self {
        let email = custom.email.trim().to_string();
        let previous_names = match (&custom.previous_last_name, custom.previous_name_valid_until) {
            (Some(last), Some(valid_until)) if !last.trim().is_empty() => vec![PreviousName {
                first_name: custom
                    .previous_first_name
                    .as_deref()
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .unwrap_or(custom.first_name.trim())
                    .to_string(),
                last_name: last.trim().to_string(),
                valid_until,
            }],
            _ => Vec::new(),
        };
        Self {
            id: CUSTOM.into(),
            sub: sub_for(&format!("custom:{}", email.to_lowercase())),
            description: "Someone typed into the picker".into(),
            first_name: custom.first_name.trim().to_string(),
            middle_name: None,
            last_name: custom.last_name.trim().to_string(),
            date_of_birth: custom.date_of_birth,
            email,
            email_verified: true,
            previous_names,
            trn_hint: None,
            nino_hint: None,
            itt_provider_hint: None,
            qts_year_hint: None,
            record_index: None,
            default_outcome: Outcome::IdentityVerified,
        }
    }

    fn from_record(id: &str, description: String, index: u64, r: &TeachingRecord) -> Self {
        Self {
            id: id.into(),
            sub: sub_for(id),
            description,
            first_name: r.first_name.clone(),
            middle_name: r.middle_name.clone(),
            last_name: r.last_name.clone(),
            date_of_birth: r.date_of_birth,
            email: r.email.clone().unwrap_or_else(|| made_up_email(id)),
            email_verified: true,
            previous_names: Vec::new(),
            trn_hint: Some(r.trn.clone()),
            nino_hint: r.nino.clone(),
            itt_provider_hint: r.itt_providers().next().map(str::to_string),
            qts_year_hint: r.qts_year(),
            record_index: Some(index),
            default_outcome: Outcome::IdentityVerified,
        }
    }

    /// The given names in order, as separate `GivenName` parts.
    pub fn given_names(&self) -> Vec<&str> {
        std::iter::once(self.first_name.as_str())
            .chain(self.middle_name.as_deref())
            .flat_map(str::split_whitespace)
            .collect()
    }
}

/// An address that no seeded record has: the generator only writes `first.lastNNN@example.*`.
fn made_up_email(id: &str) -> String {
    format!("{id}@standin.example.com")
}

/// The personas for data set `seed`.
pub fn personas(seed: u64) -> Vec<Persona> {
    let records: Vec<TeachingRecord> = (0..SCANNED_RECORDS).map(|i| record(i, seed)).collect();
    let key = |r: &TeachingRecord| (r.first_name.clone(), r.last_name.clone(), r.date_of_birth);
    let mut sharing: HashMap<_, usize> = HashMap::new();
    for r in &records {
        *sharing.entry(key(r)).or_default() += 1;
    }
    // A record nobody else shares a name and date of birth with: matching it is unambiguous.
    let unique = |r: &TeachingRecord| sharing.get(&key(r)) == Some(&1);
    let active = |r: &TeachingRecord| r.status == RecordStatus::Active;
    let mut taken: Vec<u64> = Vec::new();
    let find = |taken: &mut Vec<u64>, test: &dyn Fn(&TeachingRecord) -> bool| {
        let found = (0..SCANNED_RECORDS)
            .zip(&records)
            .find(|(i, r)| !taken.contains(i) && test(r))
            .map(|(i, r)| (i, r.clone()));
        if let Some((i, _)) = &found {
            taken.push(*i);
        }
        found
    };

    let mut out = Vec::new();
    // Verified name, date of birth and email all match one active record.
    let exact = |r: &TeachingRecord| {
        active(r)
            && unique(r)
            && r.email.is_some()
            && r.nino.is_some()
            && r.previous_names.is_empty()
    };

    if let Some((i, r)) = find(&mut taken, &exact) {
        out.push(Persona::from_record(
            "exact-match",
            "Verified name, date of birth and email all match one active record.".into(),
            i,
            &r,
        ));
    }

    if let Some((i, r)) = find(&mut taken, &|r| {
        active(r) && unique(r) && r.nino.is_some() && !r.previous_names.is_empty()
    }) {
        let mut p = Persona::from_record(
            "name-changed",
            "Their identity documents are still in the name the record holds as a previous name, and their \
             One Login email is not on the record: matching must look at previous names."
                .into(),
            i,
            &r,
        );
        if let Some(previous) = r.previous_names.first() {
            p.first_name = previous.first_name.clone();
            p.middle_name = previous.middle_name.clone();
            p.last_name = previous.last_name.clone();
        }
        p.email = made_up_email("name-changed");
        out.push(p);
    }

    if let Some((i, r)) = find(&mut taken, &|r| {
        active(r)
            && unique(r)
            && r.nino.is_some()
            && r.email.is_none()
            && r.previous_names.is_empty()
    }) {
        let mut p = Persona::from_record(
            "nino-only",
            "The record has no email address: matching needs the National Insurance number.".into(),
            i,
            &r,
        );
        p.email = made_up_email("nino-only");
        out.push(p);
    }

    if let Some((i, r)) = find(&mut taken, &|r| {
        active(r) && unique(r) && r.nino.is_none() && r.previous_names.is_empty()
    }) {
        let mut p = Persona::from_record(
            "trn-only",
            "The record has no National Insurance number and a different email: matching needs the TRN.".into(),
            i,
            &r,
        );
        p.email = made_up_email("trn-only");
        out.push(p);
    }

    out.push(Persona {
        id: "no-match".into(),
        sub: sub_for("no-match"),
        description: "Nobody in the records has this name and date of birth.".into(),
        // Neither name is in the generator's lists, so no seed can produce this person.
        first_name: "Imogen".into(),
        middle_name: None,
        last_name: "Ashdown-Vale".into(),
        date_of_birth: NaiveDate::from_ymd_opt(1991, 3, 7).unwrap_or_default(),
        email: made_up_email("no-match"),
        email_verified: true,
        previous_names: Vec::new(),
        trn_hint: None,
        nino_hint: None,
        itt_provider_hint: None,
        qts_year_hint: None,
        record_index: None,
        default_outcome: Outcome::IdentityVerified,
    });

    // Two active records in a row with the same name and date of birth: the generator's namesakes, twins and
    // duplicates. Matching must not pick one of them by itself.
    let pair = (1..SCANNED_RECORDS).find(|&i| {
        let (a, b) = (&records[i as usize - 1], &records[i as usize]);
        active(a)
            && active(b)
            && key(a) == key(b)
            && sharing.get(&key(a)) == Some(&2)
            && !taken.contains(&(i - 1))
            && !taken.contains(&i)
    });
    if let Some(i) = pair {
        let (first, second) = (&records[i as usize - 1], &records[i as usize]);
        taken.extend([i - 1, i]);
        let mut p = Persona::from_record(
            "possible-duplicate",
            format!(
                "Two active records (TRNs {} and {}) share this name and date of birth.",
                first.trn, second.trn
            ),
            i - 1,
            first,
        );
        p.email = made_up_email("possible-duplicate");
        out.push(p);
    }

    if let Some((i, r)) = find(&mut taken, &|r| {
        active(r) && unique(r) && r.email.is_some() && r.previous_names.is_empty()
    }) {
        let mut p = Persona::from_record(
            "cannot-verify",
            "Signs in, but One Login cannot prove their identity.".into(),
            i,
            &r,
        );
        p.default_outcome = Outcome::IdentityNotVerified;
        out.push(p);
    }

    if let Some((i, r)) = find(&mut taken, &|r| !active(r) && unique(r)) {
        out.push(Persona::from_record(
            "deactivated-record",
            "Their only record is deactivated, so it must never be connected.".into(),
            i,
            &r,
        ));
    }

    // Like exact-match, but One Login says it has not verified the email: without that, name and date of birth
    // are not enough, so they must be asked for their NINO or TRN.
    if let Some((i, r)) = find(&mut taken, &|r| {
        active(r)
            && unique(r)
            && r.email.is_some()
            && r.nino.is_some()
            && r.previous_names.is_empty()
    }) {
        let mut p = Persona::from_record(
            "unverified-email",
            "Their One Login email is the record's, but One Login says it is not verified (email_verified: false)."
                .into(),
            i,
            &r,
        );
        p.email_verified = false;
        out.push(p);
    }

    // The third question (DESIGN §5): their One Login email is not the record's and the record has no NINO, so
    // without their TRN only the ITT provider and QTS year can connect them.
    if let Some((i, r)) = find(&mut taken, &|r| {
        active(r)
            && unique(r)
            && r.nino.is_none()
            && r.previous_names.is_empty()
            && r.qts_year().is_some()
            && r.itt_providers().next().is_some()
    }) {
        let mut p = Persona::from_record(
            "itt-only",
            "Does not know their TRN and the record has no National Insurance number: the ITT provider and QTS year \
             connect them."
                .into(),
            i,
            &r,
        );
        p.email = made_up_email("itt-only");
        out.push(p);
    }

    // Last, so adding it changed no other persona's record.
    if let Some((i, r)) = find(&mut taken, &|r| exact(r) && r.qts_year().is_some()) {
        out.push(Persona::from_record(
            "other-service",
            "An exact match like exact-match, on a record with QTS, for signing in to another service through \
             Teacher ID."
                .into(),
            i,
            &r,
        ));
    }

    // Also last. The record has an email and no QTS, for an awarding service to award it; no National Insurance
    // number, and the One Login email is not on it, so only a TRN token (or the questions) connects them.
    if let Some((i, r)) = find(&mut taken, &|r| {
        active(r)
            && unique(r)
            && r.email.is_some()
            && r.nino.is_none()
            && r.previous_names.is_empty()
            && r.qts_year().is_none()
    }) {
        let mut p = Persona::from_record(
            "qts-award",
            "Awarded QTS while this persona is in use: the QTS email's TRN token connects them without questions."
                .into(),
            i,
            &r,
        );
        p.email = made_up_email("qts-award");
        out.push(p);
    }

    // Also last, for the DfE Identity account's "TRN in use" (DESIGN §7.3): records no other persona's test
    // connects, so the browser tests of that flow decide who holds them. `account-merge`'s record has a National
    // Insurance number, so accounts typing its name, date of birth and NINO find it; `two-ways-in` is exact-match's
    // rule, so One Login connects it without questions before an account finds it.
    if let Some((i, r)) = find(&mut taken, &|r| {
        active(r) && unique(r) && r.nino.is_some() && r.previous_names.is_empty()
    }) {
        out.push(Persona::from_record(
            "account-merge",
            "Two DfE Identity accounts find this record: the second is asked to prove the first's email and merge."
                .into(),
            i,
            &r,
        ));
    }
    if let Some((i, r)) = find(&mut taken, &exact) {
        out.push(Persona::from_record(
            "two-ways-in",
            "Connected through One Login, then found by a DfE Identity account: one person with both ways in."
                .into(),
            i,
            &r,
        ));
    }
    // Last again: a DfE Identity account that types a TRN that is not its record's, and is found by its name, date of
    // birth and NINO all the same (DESIGN §7.3, "if they typed a different TRN, tell them the one found").
    if let Some((i, r)) = find(&mut taken, &|r| {
        active(r) && unique(r) && r.nino.is_some() && r.previous_names.is_empty()
    }) {
        out.push(Persona::from_record(
            "typed-trn-differs",
            "A DfE Identity account types a TRN that is not this record's; its NINO finds the record all the same."
                .into(),
            i,
            &r,
        ));
    }

    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_1_has_every_persona_each_on_a_suitable_record() {
        let all = personas(1);
        let ids: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "exact-match",
                "name-changed",
                "nino-only",
                "trn-only",
                "no-match",
                "possible-duplicate",
                "cannot-verify",
                "deactivated-record",
                "unverified-email",
                "itt-only",
                "other-service",
                "qts-award",
                "account-merge",
                "two-ways-in",
                "typed-trn-differs"
            ]
        );
        let get = |id: &str| all.iter().find(|p| p.id == id).expect("persona");
        let rec = |p: &Persona| record(p.record_index.expect("has a record"), 1);

        let exact = get("exact-match");
        let r = rec(exact);
        assert_eq!(
            (
                exact.first_name.as_str(),
                exact.last_name.as_str(),
                exact.date_of_birth
            ),
            (r.first_name.as_str(), r.last_name.as_str(), r.date_of_birth)
        );
        assert_eq!(Some(&exact.email), r.email.as_ref());
        assert!(r.nino.is_some());

        let changed = get("name-changed");
        let r = rec(changed);
        assert_eq!(changed.last_name, r.previous_names[0].last_name);
        assert_ne!(Some(&changed.email), r.email.as_ref());

        assert!(rec(get("nino-only")).email.is_none());
        // Matching alone cannot connect qts-award: no NINO on the record, and their email is not the record's.
        let award = get("qts-award");
        let awarded = rec(award);
        assert!(awarded.nino.is_none() && awarded.qts_year().is_none());
        assert!(awarded.email.is_some() && awarded.email.as_deref() != Some(award.email.as_str()));
        assert!(rec(get("trn-only")).nino.is_none());

        let dup = get("possible-duplicate");
        let i = dup.record_index.expect("index");
        let (a, b) = (record(i, 1), record(i + 1, 1));
        assert_eq!(
            (&a.first_name, &a.last_name, a.date_of_birth),
            (&b.first_name, &b.last_name, b.date_of_birth)
        );
        assert_eq!(
            get("cannot-verify").default_outcome,
            Outcome::IdentityNotVerified
        );
        assert_eq!(
            rec(get("deactivated-record")).status,
            RecordStatus::Deactivated
        );
        let unverified = get("unverified-email");
        assert!(!unverified.email_verified);
        assert_eq!(Some(&unverified.email), rec(unverified).email.as_ref());
        assert!(all
            .iter()
            .filter(|p| p.id != "unverified-email")
            .all(|p| p.email_verified));

        let itt = get("itt-only");
        let r = rec(itt);
        assert!(r.nino.is_none());
        assert_ne!(Some(&itt.email), r.email.as_ref());
        assert_eq!(itt.qts_year_hint, r.qts_year());
        assert!(itt.qts_year_hint.is_some());
        assert_eq!(itt.itt_provider_hint.as_deref(), r.itt_providers().next());

        assert!(rec(get("account-merge")).nino.is_some());
        let both = get("two-ways-in");
        assert_eq!(Some(&both.email), rec(both).email.as_ref());
        assert!(rec(both).nino.is_some());
        let differs = get("typed-trn-differs");
        assert!(rec(differs).nino.is_some());
        assert_ne!(differs.record_index, get("account-merge").record_index);
    }

    #[test]
    fn subs_are_stable_and_look_like_one_logins() {
        let a = personas(1);
        let b = personas(1);
        assert_eq!(a, b);
        for p in &a {
            assert_eq!(p.sub, sub_for(&p.id));
            assert!(p.sub.starts_with("urn:fdc:gov.uk:2022:"));
            assert_eq!(p.sub.len(), "urn:fdc:gov.uk:2022:".len() + 43);
        }
    }

    #[test]
    fn custom_people_get_a_sub_from_their_email_and_an_optional_previous_name() {
        let custom = CustomPerson {
            first_name: " Ann ".into(),
            last_name: "Lee".into(),
            previous_first_name: None,
            previous_last_name: Some("Smith".into()),
            previous_name_valid_until: NaiveDate::from_ymd_opt(2020, 1, 1),
            date_of_birth: NaiveDate::from_ymd_opt(1980, 2, 29).unwrap_or_default(),
            email: "Ann@Example.com".into(),
        };
        let p = Persona::from_custom(&custom);
        assert_eq!(p.first_name, "Ann");
        assert_eq!(
            p.sub,
            Persona::from_custom(&CustomPerson {
                email: "ann@example.com".into(),
                ..custom
            })
            .sub
        );
        assert_eq!(p.previous_names[0].first_name, "Ann");
        assert_eq!(p.previous_names[0].last_name, "Smith");
    }
}
