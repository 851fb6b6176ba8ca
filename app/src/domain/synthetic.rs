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
}
