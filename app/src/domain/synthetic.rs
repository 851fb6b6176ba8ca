//! A deterministic generator of realistic synthetic teaching records, for demos, tests, benchmarks and the One
//! Login stand-in's personas. Behind the `synthetic` feature, so the browser bundle never carries it.
//!
//! The same `(index, seed)` always gives the same record, so a test can ask for "record 17 of seed 1" and know
//! what it holds. The mix follows DESIGN §3: hyphenated, apostrophe, accented and Welsh names; name changes with
//! previous names; about 30% without a National Insurance number; shared names and dates of birth (namesakes,
//! twins); some possible duplicate records; about 1% deactivated.

use crate::domain::records::{
    PreviousName, Qualification, QualificationKind, RecordStatus, TeachingRecord,
};
use chrono::{Datelike, Duration, NaiveDate};
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FIRST_NAMES: &[&str] = &[
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Sophie",
    "Emily",
    "Grace",
    "Chloé",
    "Zoë",
    "Siân",
    "Ffion",
    "Gwenllian",
    "Angharad",
    "Niamh",
    "Aoife",
    "Mary-Jane",
    "Anne-Marie",
    "Renée",
    "Priya",
    "Aisha",
    "Fatima",
    "Mei",
    "Agnieszka",
    "Elizabeth",
    "Margaret",
    "Catherine",
    "Jennifer",
    "Rebecca",
    "Hannah",
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Noah",
    "Leo",
    "Arthur",
    "Rhys",
    "Dafydd",
    "Aled",
    "Iolo",
    "Gethin",
    "Seán",
    "Oisín",
    "Jean-Paul",
    "José",
    "Mohammed",
    "Arjun",
    "Chidi",
    "Tomasz",
    "William",
    "Robert",
    "Richard",
    "James",
    "Michael",
    "Thomas",
    "Edward",
    "Daniel",
    "Samuel",
    "Joseph",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Roberts",
    "Johnson",
    "Lewis",
    "Walker",
    "Robinson",
    "Wood",
    "Thompson",
    "White",
    "Watson",
    "Jackson",
    "Wright",
    "Green",
    "Harris",
    "Cooper",
    "King",
    "Lee",
    "Martin",
    "Clarke",
    "James",
    "Morgan",
    "Hughes",
    "Edwards",
    "Hill",
    "Moore",
    "Clark",
    "O'Brien",
    "O’Connor",
    "D'Souza",
    "McDonald",
    "MacLeod",
    "Smith-Jones",
    "Lloyd-Williams",
    "Bowes-Lyon",
    "ap Dafydd",
    "Llewelyn",
    "Pritchard",
    "Rhys",
    "Gruffudd",
    "Núñez",
    "Müller",
    "Kowalski",
    "Nowak",
    "Patel",
    "Khan",
    "Begum",
    "Ahmed",
    "Okafor",
    "Adeyemi",
    "Nguyen",
    "Chen",
    "Ferreira",
];

const MIDDLE_NAMES: &[&str] = &[
    "Anne",
    "Louise",
    "Marie",
    "Elizabeth",
    "Rose",
    "James",
    "John",
    "David",
    "Owen",
    "Alexander",
];

const ITT_PROVIDERS: &[&str] = &[
    "University of Leeds",
    "University College London",
    "Manchester Metropolitan University",
    "University of Exeter",
    "Bath Spa University",
    "Teach First",
    "University of Birmingham",
    "Sheffield Hallam University",
    "Ambition Institute SCITT",
    "University of Cambridge",
];

const NPQS: &[&str] = &[
    "NPQ for Headship",
    "NPQ for Senior Leadership",
    "NPQ for Leading Teaching",
    "NPQ for Leading Behaviour and Culture",
    "NPQ for Leading Teacher Development",
    "NPQ for Early Years Leadership",
];

const MANDATORY: &[&str] = &[
    "Visual impairment",
    "Hearing impairment",
    "Multi-sensory impairment",
];

/// Every generated date is before this day, so a data set is the same whenever it is generated.
fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid date")
}

/// The `index`th record of the data set `seed`. Records `index` and `index - 1` may share details on purpose
/// (twins, namesakes and duplicates).
pub fn record(index: u64, seed: u64) -> TeachingRecord {
    let (roll, mut rng) = roll_for(index, seed);
    // About 1 in 100 records is a namesake or twin of the one before, and 1 in 200 a possible duplicate of it.
    if index > 0 && roll < 0.015 {
        let (_, mut previous_rng) = roll_for(index - 1, seed);
        let mut twin = base_record(index - 1, &mut previous_rng);
        twin.trn = trn_for(index);
        if roll < 0.005 {
            // A possible duplicate: same person entered twice, usually without the NINO the first time.
            twin.nino = None;
            twin.qualifications.truncate(1);
        } else {
            // A namesake or twin: same name and birthday, a different person.
            twin.nino = rng.gen_bool(0.7).then(|| nino(&mut rng));
            twin.email = None;
        }
        return twin;
    }
    base_record(index, &mut rng)
}

/// The TRN of the `index`th record: unique for every index below 9,000,000.
pub fn trn_for(index: u64) -> String {
    // 7919 is prime and does not divide 9,000,000, so this walks every 7-digit number from 1000000 once.
    (1_000_000 + (index * 7919 + 1234) % 9_000_000).to_string()
}

/// The record's generator, after its first draw: the roll that decides whether it copies the record before it.
fn roll_for(index: u64, seed: u64) -> (f64, ChaCha8Rng) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
    (rng.gen(), rng)
}

fn base_record(index: u64, rng: &mut ChaCha8Rng) -> TeachingRecord {
    let first_name = pick(rng, FIRST_NAMES);
    let last_name = pick(rng, LAST_NAMES);
    let middle_name = rng.gen_bool(0.4).then(|| pick(rng, MIDDLE_NAMES));
    let date_of_birth = date_between(
        rng,
        NaiveDate::from_ymd_opt(1958, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2003, 12, 31).unwrap(),
    );
    let mut previous_names = Vec::new();
    if rng.gen_bool(0.2) {
        let changed_on = date_of_birth + Duration::days(rng.gen_range(20 * 365..40 * 365));
        previous_names.push(PreviousName {
            first_name: first_name.clone(),
            middle_name: middle_name.clone(),
            last_name: pick(rng, LAST_NAMES),
            valid_until: Some(changed_on.min(last_day() - Duration::days(30))),
        });
    }
    let nino = rng.gen_bool(0.7).then(|| nino(rng));
    let email = rng.gen_bool(0.6).then(|| {
        let local: String = format!("{}.{}{}", first_name, last_name, index % 1000)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect::<String>()
            .to_lowercase();
        format!(
            "{local}@{}",
            ["example.com", "example.org", "example.net"][rng.gen_range(0..3)]
        )
    });
    let status = if rng.gen_bool(0.01) {
        RecordStatus::Deactivated
    } else {
        RecordStatus::Active
    };
    TeachingRecord {
        trn: trn_for(index),
        first_name,
        middle_name,
        last_name,
        date_of_birth,
        nino,
        email,
        status,
        previous_names,
        qualifications: qualifications(rng, date_of_birth),
    }
}

fn qualifications(rng: &mut ChaCha8Rng, date_of_birth: NaiveDate) -> Vec<Qualification> {
    let today = last_day();
    let trained = (date_of_birth + Duration::days(rng.gen_range(22 * 365..35 * 365)))
        .min(today - Duration::days(60));
    let mut quals = vec![Qualification {
        kind: QualificationKind::Itt,
        name: format!("PGCE – {}", pick(rng, ITT_PROVIDERS)),
        status: if rng.gen_bool(0.95) {
            "Passed".into()
        } else {
            "In training".into()
        },
        awarded_on: Some(trained),
    }];
    if rng.gen_bool(0.85) {
        quals.push(Qualification {
            kind: QualificationKind::Qts,
            name: "Qualified teacher status".into(),
            status: "Awarded".into(),
            awarded_on: Some(trained),
        });
        let (status, date) = match rng.gen_range(0..10) {
            0 => ("In progress", None),
            1 => ("Exempt", None),
            2 if rng.gen_bool(0.1) => (
                "Failed",
                Some((trained + Duration::days(400)).min(today - Duration::days(1))),
            ),
            _ => (
                "Passed",
                Some(
                    (trained + Duration::days(rng.gen_range(300..800)))
                        .min(today - Duration::days(1)),
                ),
            ),
        };
        quals.push(Qualification {
            kind: QualificationKind::Induction,
            name: "Statutory induction".into(),
            status: status.into(),
            awarded_on: date,
        });
    }
    if rng.gen_bool(0.05) {
        quals.push(Qualification {
            kind: QualificationKind::Eyts,
            name: "Early years teacher status".into(),
            status: "Awarded".into(),
            awarded_on: Some(trained),
        });
    }
    if rng.gen_bool(0.15) {
        let on =
            (trained + Duration::days(rng.gen_range(1000..5000))).min(today - Duration::days(1));
        quals.push(Qualification {
            kind: QualificationKind::Npq,
            name: pick(rng, NPQS),
            status: "Passed".into(),
            awarded_on: Some(on),
        });
    }
    if rng.gen_bool(0.02) {
        let on =
            (trained + Duration::days(rng.gen_range(700..3000))).min(today - Duration::days(1));
        quals.push(Qualification {
            kind: QualificationKind::Mandatory,
            name: pick(rng, MANDATORY),
            status: "Passed".into(),
            awarded_on: Some(on),
        });
    }
    quals
}

/// A National Insurance number that passes our validation rules (DESIGN §4).
fn nino(rng: &mut ChaCha8Rng) -> String {
    const FIRST: &[u8] = b"ABCEGHJKLMNOPRSTWXYZ";
    const SECOND: &[u8] = b"ABCEGHJKLMNPRSTWXYZ";
    loop {
        let prefix = [
            FIRST[rng.gen_range(0..FIRST.len())],
            SECOND[rng.gen_range(0..SECOND.len())],
        ];
        let prefix = std::str::from_utf8(&prefix).expect("ascii").to_string();
        if ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&prefix.as_str()) {
            continue;
        }
        return format!(
            "{prefix}{:06}{}",
            rng.gen_range(0..1_000_000),
            ['A', 'B', 'C', 'D'][rng.gen_range(0..4)]
        );
    }
}

fn pick(rng: &mut ChaCha8Rng, list: &[&str]) -> String {
    list.choose(rng).expect("non-empty list").to_string()
}

fn date_between(rng: &mut ChaCha8Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let days = (to - from).num_days();
    let date = from + Duration::days(rng.gen_range(0..=days));
    debug_assert!(date.year() >= 1900);
    date
}

/// A simulated sign-in for the matching-quality benchmark: who One Login verified, and what they type, with the
/// noise real people bring (name changes, nicknames, dropped accents, missing or mistyped identifiers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatedSignIn {
    /// The TRN of the person's own record, and whether that record is active; `None` when they have no record.
    pub truth: Option<(String, bool)>,
    pub identity: crate::domain::identity::VerifiedIdentity,
    pub email: String,
    /// What they would type at the National Insurance number question, if anything (possibly with a typo).
    pub stated_nino: Option<String>,
    /// What they would type at the TRN question, if anything (possibly with a typo).
    pub stated_trn: Option<String>,
}

/// Informal first names people go by, for the simulation; every pair is in the shipped synonym list.
pub const NICKNAMES: &[(&str, &str)] = &[
    ("Elizabeth", "Liz"),
    ("Margaret", "Maggie"),
    ("Catherine", "Kate"),
    ("Jennifer", "Jenny"),
    ("Rebecca", "Becky"),
    ("Oliver", "Ollie"),
    ("Dafydd", "David"),
];

/// The `n`th simulated sign-in against the first `records` records of data set `seed`.
pub fn sign_in(n: u64, seed: u64, records: u64) -> SimulatedSignIn {
    use crate::domain::identity::{VerifiedIdentity, VerifiedName};
    use unicode_normalization::UnicodeNormalization;
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ n ^ (1 << 62));
    let strip_accents = |s: &str| -> String {
        s.nfd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
            .collect()
    };
    if rng.gen_bool(0.05) || records == 0 {
        // Someone with no teaching record (they may still share a name and birthday with someone who has one).
        let first = pick(&mut rng, FIRST_NAMES);
        let last = pick(&mut rng, LAST_NAMES);
        let dob = date_between(
            &mut rng,
            NaiveDate::from_ymd_opt(1958, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2003, 12, 31).unwrap(),
        );
        return SimulatedSignIn {
            truth: None,
            identity: VerifiedIdentity {
                names: vec![VerifiedName {
                    given_names: vec![first],
                    family_name: last,
                    valid_from: None,
                    valid_until: None,
                }],
                dates_of_birth: vec![dob],
            },
            email: format!("person{n}@example.net"),
            stated_nino: rng.gen_bool(0.5).then(|| nino(&mut rng)),
            stated_trn: None,
        };
    }
    let record = record(rng.gen_range(0..records), seed);
    let mut first = record.first_name.clone();
    if let Some((_, nick)) = NICKNAMES.iter().find(|(formal, _)| *formal == first) {
        if rng.gen_bool(0.3) {
            first = nick.to_string();
        }
    }
    if rng.gen_bool(0.3) {
        // Passports often drop accents.
        first = strip_accents(&first);
    }
    let mut given_names = vec![first];
    given_names.extend(record.middle_name.clone());
    let mut names = vec![VerifiedName {
        given_names,
        family_name: record.last_name.clone(),
        valid_from: None,
        valid_until: None,
    }];
    if rng.gen_bool(0.12) {
        // Changed their name since the record was last updated; One Login only sometimes knows the old one.
        let old = std::mem::replace(&mut names[0].family_name, pick(&mut rng, LAST_NAMES));
        if rng.gen_bool(0.5) {
            names.push(VerifiedName {
                given_names: names[0].given_names.clone(),
                family_name: old,
                valid_from: None,
                valid_until: Some(last_day() - Duration::days(400)),
            });
        }
    }
    let mut dob = record.date_of_birth;
    if rng.gen_bool(0.01) {
        // The record's date of birth was entered wrongly: only support can connect this person.
        dob += Duration::days(1);
    }
    let email = match &record.email {
        Some(email) if rng.gen_bool(0.6) => email.to_uppercase(),
        _ => format!("person{n}@example.net"),
    };
    let typo = |rng: &mut ChaCha8Rng, s: &str| -> String {
        // One digit changed: the kind of slip people make.
        let digits: Vec<usize> = s
            .char_indices()
            .filter(|(_, c)| c.is_ascii_digit())
            .map(|(i, _)| i)
            .collect();
        let at = digits[rng.gen_range(0..digits.len())];
        let old = s.as_bytes()[at] - b'0';
        let new = (old + rng.gen_range(1..10)) % 10;
        format!("{}{}{}", &s[..at], new, &s[at + 1..])
    };
    let stated_nino = match &record.nino {
        Some(nino) if rng.gen_bool(0.85) => Some(if rng.gen_bool(0.04) {
            typo(&mut rng, nino)
        } else {
            nino.clone()
        }),
        Some(_) => None,
        // Their NINO is not on the record, but they know it.
        None => rng.gen_bool(0.5).then(|| nino(&mut rng)),
    };
    let stated_trn = rng.gen_bool(0.6).then(|| {
        if rng.gen_bool(0.05) {
            typo(&mut rng, &record.trn)
        } else {
            record.trn.clone()
        }
    });
    SimulatedSignIn {
        truth: Some((record.trn.clone(), record.status == RecordStatus::Active)),
        identity: VerifiedIdentity {
            names,
            dates_of_birth: vec![dob],
        },
        email,
        stated_nino,
        stated_trn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validation::{parse_nino, parse_trn};
    use std::collections::HashSet;

    #[test]
    fn the_same_index_and_seed_give_the_same_record() {
        for i in [0, 1, 17, 9_999] {
            assert_eq!(record(i, 1), record(i, 1));
        }
        let differing = (0..100).filter(|&i| record(i, 1) != record(i, 2)).count();
        assert!(
            differing > 90,
            "seeds should give different data sets, {differing} of 100 differed"
        );
    }

    #[test]
    fn trns_are_unique_and_valid() {
        let trns: HashSet<String> = (0..200_000).map(trn_for).collect();
        assert_eq!(trns.len(), 200_000);
        assert!(trns.iter().all(|t| parse_trn(t).is_ok()));
    }

    #[test]
    fn records_have_the_mix_the_design_asks_for() {
        let records: Vec<TeachingRecord> = (0..10_000).map(|i| record(i, 42)).collect();
        let share = |f: &dyn Fn(&TeachingRecord) -> bool| {
            records.iter().filter(|r| f(r)).count() as f64 / records.len() as f64
        };
        let without_nino = share(&|r| r.nino.is_none());
        assert!(
            (0.25..0.36).contains(&without_nino),
            "without NINO: {without_nino}"
        );
        assert!(records
            .iter()
            .filter_map(|r| r.nino.as_deref())
            .all(|n| parse_nino(n).is_ok()));
        assert!(share(&|r| !r.previous_names.is_empty()) > 0.1);
        assert!(share(&|r| r.status == RecordStatus::Deactivated) > 0.002);
        assert!(records.iter().any(|r| r.last_name.contains('-')));
        assert!(records
            .iter()
            .any(|r| r.last_name.contains('\'') || r.last_name.contains('’')));
        assert!(records.iter().any(|r| !r.first_name.is_ascii()));
        assert!(records.iter().any(
            |r| ["Siân", "Ffion", "Dafydd", "Rhys", "Gethin"].contains(&r.first_name.as_str())
        ));
        // Namesakes and possible duplicates: two records with the same name and date of birth.
        let mut seen = HashSet::new();
        let shared = records
            .iter()
            .filter(|r| !seen.insert((r.first_name.clone(), r.last_name.clone(), r.date_of_birth)))
            .count();
        assert!(
            shared >= 50,
            "only {shared} records share a name and date of birth"
        );
        let today = chrono::Utc::now().date_naive();
        for r in &records {
            assert!(r.date_of_birth < today && r.date_of_birth.year() >= 1900);
            assert!(
                r.qualifications
                    .iter()
                    .filter_map(|q| q.awarded_on)
                    .all(|d| d < today),
                "{r:?}"
            );
            assert!(r
                .email
                .as_deref()
                .is_none_or(|e| e.ends_with(".com") || e.ends_with(".org") || e.ends_with(".net")));
        }
    }

    #[test]
    fn every_simulated_nickname_is_a_synonym_the_matcher_knows() {
        for (formal, nick) in NICKNAMES {
            assert!(
                crate::domain::matching::first_names_match(formal, nick),
                "{formal}/{nick}"
            );
        }
    }

    #[test]
    fn simulated_sign_ins_are_deterministic_and_mostly_have_a_record() {
        assert_eq!(sign_in(5, 1, 1000), sign_in(5, 1, 1000));
        let all: Vec<SimulatedSignIn> = (0..2000).map(|n| sign_in(n, 1, 1000)).collect();
        let without = all.iter().filter(|s| s.truth.is_none()).count();
        assert!((40..=160).contains(&without), "{without} without a record");
        assert!(
            all.iter().any(|s| s.identity.names.len() == 2),
            "some name changes"
        );
        assert!(all.iter().any(|s| s.stated_trn.is_none()));
        for s in &all {
            if let Some(trn) = &s.stated_trn {
                assert!(
                    trn.len() == 7 && trn.bytes().all(|b| b.is_ascii_digit()),
                    "{trn}"
                );
            }
        }
    }
}
