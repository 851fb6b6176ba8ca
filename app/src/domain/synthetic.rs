//! A deterministic generator of realistic synthetic teaching records, for demos, tests, benchmarks and the One
//! Login stand-in's personas. Behind the `synthetic` feature, so the browser bundle never carries it.
//!
//! The same `(index, seed)` always gives the same record, so a test can ask for "record 17 of seed 1" and know
//! what it holds. The mix follows DESIGN §3: hyphenated, apostrophe, accented and Welsh names; name changes with
//! previous names; about 30% without a National Insurance number; shared names and dates of birth (namesakes,
//! twins); some duplicate records, most of them deactivated since; about 1% deactivated; diminutives on some
//! records ("Liz" where the documents say "Elizabeth") and, rarely, a misspelt last name.
//!
//! [`sign_in`] simulates people signing in against such a data set, with the ground truth and what makes each
//! sign-in hard ([`SignInKind`]), for `server bench-matching`.

use crate::domain::names::name_key;
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

/// What the `index`th record of a data set is to the record before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A person's own record, unrelated to the one before.
    Own,
    /// The person of record `index - 1` entered a second time, usually without the NINO; support has since
    /// deactivated most of these.
    Duplicate,
    /// Someone else with the name and date of birth of record `index - 1`: a twin or a namesake.
    Namesake,
}

/// The kind of the `index`th record of data set `seed`: about 1 in 100 is a namesake or twin of the record before,
/// and 1 in 200 a duplicate of it. Only an own record is copied, so a pair never reaches a third record.
pub fn record_kind(index: u64, seed: u64) -> RecordKind {
    let copies = |i: u64| i > 0 && roll_for(i, seed).0 < 0.015;
    if !copies(index) || copies(index - 1) {
        RecordKind::Own
    } else if roll_for(index, seed).0 < 0.005 {
        RecordKind::Duplicate
    } else {
        RecordKind::Namesake
    }
}

/// Diminutives some records carry instead of the name on the person's documents (a "known as" name given to the
/// training provider). Most are in the shipped synonym list; the rest (other languages' pet forms, rarer English
/// ones) are there so the simulation also shows what a list cannot cover.
pub const RECORD_NICKNAMES: &[(&str, &[&str])] = &[
    ("Olivia", &["Liv", "Livvy"]),
    ("Amelia", &["Millie"]),
    ("Emily", &["Em"]),
    ("Elizabeth", &["Liz", "Beth", "Lizzie", "Lisa"]),
    ("Margaret", &["Maggie", "Meg", "Peggy", "Greta"]),
    ("Catherine", &["Kate", "Cath", "Katie"]),
    ("Jennifer", &["Jenny", "Jen"]),
    ("Rebecca", &["Becky", "Bex"]),
    ("Agnieszka", &["Aga"]),
    ("Oliver", &["Ollie"]),
    ("George", &["Georgie"]),
    ("Dafydd", &["Dai", "Dave"]),
    ("Mohammed", &["Mo"]),
    ("Tomasz", &["Tomek"]),
    ("José", &["Pepe"]),
    ("William", &["Will", "Bill", "Billy"]),
    ("Robert", &["Rob", "Bob", "Robbie"]),
    ("Richard", &["Rich", "Rick"]),
    ("James", &["Jim", "Jamie", "Jimmy"]),
    ("Michael", &["Mike", "Mick"]),
    ("Thomas", &["Tom", "Tommy"]),
    ("Edward", &["Ed", "Ted", "Eddie"]),
    ("Daniel", &["Dan", "Danny", "Dani"]),
    ("Samuel", &["Sam"]),
    ("Joseph", &["Joe"]),
];

/// The `index`th record of the data set `seed`. Records `index` and `index - 1` may share details on purpose
/// (twins, namesakes and duplicates: see [`record_kind`]).
pub fn record(index: u64, seed: u64) -> TeachingRecord {
    drawn(index, seed).record
}

/// A record and the name on its person's identity documents, which the record may hold differently.
struct Drawn {
    record: TeachingRecord,
    first_name: String,
    last_name: String,
}

fn drawn(index: u64, seed: u64) -> Drawn {
    let (_, mut rng) = roll_for(index, seed);
    let kind = record_kind(index, seed);
    let mut record = if kind == RecordKind::Own {
        base_record(index, &mut rng)
    } else {
        let (_, mut previous_rng) = roll_for(index - 1, seed);
        let mut twin = base_record(index - 1, &mut previous_rng);
        twin.trn = trn_for(index);
        if kind == RecordKind::Duplicate {
            twin.nino = None;
            twin.qualifications.truncate(1);
            if rng.gen_bool(0.6) {
                twin.status = RecordStatus::Deactivated;
            }
        } else {
            twin.nino = rng.gen_bool(0.7).then(|| nino(&mut rng));
            twin.email = None;
            // A different person, so the record's status is their own, and so is their training, except for a
            // few twins who trained together (same provider, same year).
            twin.status = if rng.gen_bool(0.01) {
                RecordStatus::Deactivated
            } else {
                RecordStatus::Active
            };
            if rng.gen_bool(0.8) {
                twin.qualifications = qualifications(&mut rng, twin.date_of_birth);
            }
        }
        twin
    };
    let (first_name, last_name) = (record.first_name.clone(), record.last_name.clone());
    // What was typed onto the record differently, from a generator of its own so the rest stays as it was.
    let mut clerk =
        ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0xA076_1D64_78BD_642F) ^ index ^ (1 << 61));
    if let Some((_, nicknames)) = RECORD_NICKNAMES.iter().find(|(f, _)| *f == first_name) {
        if clerk.gen_bool(0.12) {
            record.first_name = pick(&mut clerk, nicknames);
        }
    }
    if clerk.gen_bool(0.005) {
        record.last_name = misspelt(&mut clerk, &record.last_name);
    }
    Drawn {
        record,
        first_name,
        last_name,
    }
}

/// A name with one letter doubled, dropped or swapped with the next: the slips data entry makes.
fn misspelt(rng: &mut ChaCha8Rng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let letters: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_alphabetic())
        .collect();
    if letters.len() < 3 {
        return format!("{name}e");
    }
    let at = letters[rng.gen_range(1..letters.len() - 1)];
    match rng.gen_range(0..3) {
        0 => chars.insert(at, chars[at]),
        1 => {
            chars.remove(at);
        }
        _ => chars.swap(at, at + 1),
    }
    let typed: String = chars.into_iter().collect();
    if name_key(&typed) == name_key(name) {
        format!("{name}e")
    } else {
        typed
    }
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
    let provider = pick(rng, ITT_PROVIDERS);
    let mut quals = vec![Qualification {
        kind: QualificationKind::Itt,
        name: format!("PGCE – {provider}"),
        provider: Some(provider),
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
            provider: None,
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
            provider: None,
        });
    }
    if rng.gen_bool(0.05) {
        quals.push(Qualification {
            kind: QualificationKind::Eyts,
            name: "Early years teacher status".into(),
            status: "Awarded".into(),
            awarded_on: Some(trained),
            provider: None,
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
            provider: None,
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
            provider: None,
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

/// What makes a simulated sign-in hard, for the per-kind report of `server bench-matching`. A sign-in can be of
/// several kinds, or of none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SignInKind {
    /// They have no teaching record (they may still share a name and birthday with someone who has).
    NoRecord,
    /// Their only record (or both of their duplicates) is deactivated.
    OwnRecordDeactivated,
    /// Someone else with their name and date of birth has a record: a twin or a namesake.
    TwinOrNamesake,
    /// They did not know their TRN, looked it up by name and date of birth, and were given their namesake's.
    TypedNamesakesTrn,
    /// They changed their last name; the record keeps the old one and One Login knows only the new one.
    RecordKeepsOldSurname,
    /// They changed their last name; the record keeps the old one and One Login knows both.
    OneLoginKnowsOldSurname,
    /// The record holds a diminutive ("Liz"); One Login holds the name on their documents ("Elizabeth").
    NicknameOnRecord,
    /// The record has no National Insurance number.
    RecordWithoutNino,
    /// They have two records, one of them deactivated.
    DuplicateOneDeactivated,
    /// They have two active records.
    DuplicateBothActive,
    /// The record has an email address, but not the one they use with One Login now.
    StaleEmail,
    /// They mistyped their NINO or TRN.
    MistypedIdentifier,
    /// The record's last name was misspelt when it was typed in.
    NameTypoOnRecord,
    /// The record's date of birth was entered a day out.
    DateOfBirthOut,
}

impl SignInKind {
    pub const ALL: [Self; 14] = [
        Self::NoRecord,
        Self::OwnRecordDeactivated,
        Self::TwinOrNamesake,
        Self::TypedNamesakesTrn,
        Self::RecordKeepsOldSurname,
        Self::OneLoginKnowsOldSurname,
        Self::NicknameOnRecord,
        Self::RecordWithoutNino,
        Self::DuplicateOneDeactivated,
        Self::DuplicateBothActive,
        Self::StaleEmail,
        Self::MistypedIdentifier,
        Self::NameTypoOnRecord,
        Self::DateOfBirthOut,
    ];

    /// A short description for reports.
    pub fn label(self) -> &'static str {
        match self {
            Self::NoRecord => "no record",
            Self::OwnRecordDeactivated => "own record deactivated",
            Self::TwinOrNamesake => "twin or namesake has a record",
            Self::TypedNamesakesTrn => "typed the namesake's TRN (lost-TRN look-up)",
            Self::RecordKeepsOldSurname => "record keeps old surname, One Login only new",
            Self::OneLoginKnowsOldSurname => "record keeps old surname, One Login knows both",
            Self::NicknameOnRecord => "nickname on the record",
            Self::RecordWithoutNino => "record without NINO",
            Self::DuplicateOneDeactivated => "duplicate records, one deactivated",
            Self::DuplicateBothActive => "duplicate records, both active",
            Self::StaleEmail => "stale email on the record",
            Self::MistypedIdentifier => "mistyped NINO or TRN",
            Self::NameTypoOnRecord => "typo in the record's last name",
            Self::DateOfBirthOut => "record's date of birth a day out",
        }
    }
}

/// A simulated sign-in for the matching-quality benchmark: who One Login verified, and what they type, with the
/// noise real people bring (name changes, nicknames on records, dropped accents, missing or mistyped identifiers,
/// namesakes and duplicates), and the ground truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatedSignIn {
    /// The TRNs of the person's own records (two for a duplicate), each with whether it is active; empty when they
    /// have none. Connecting them to any other record is a false connection.
    pub own_records: Vec<(String, bool)>,
    /// What makes this sign-in hard, sorted.
    pub kinds: Vec<SignInKind>,
    pub identity: crate::domain::identity::VerifiedIdentity,
    pub email: String,
    /// What they would type at the National Insurance number question, if anything (possibly with a typo).
    pub stated_nino: Option<String>,
    /// What they would type at the TRN question, if anything (possibly with a typo, or someone else's).
    pub stated_trn: Option<String>,
    /// What they would answer at the third question (DESIGN §5): their initial teacher training provider and the
    /// year they were awarded QTS, as typed (the year sometimes a year out); `None` when they would answer that
    /// they have not been awarded QTS.
    pub stated_itt: Option<(String, String)>,
}

impl SimulatedSignIn {
    /// Whether they have an active record we should find.
    pub fn has_active_record(&self) -> bool {
        self.own_records.iter().any(|(_, active)| *active)
    }

    /// Whether connecting them to `trn` is right: it is one of their own active records.
    pub fn is_theirs(&self, trn: &str) -> bool {
        self.own_records
            .iter()
            .any(|(t, active)| *active && t == trn)
    }
}

/// The `n`th simulated sign-in against the first `records` records of data set `seed`.
///
/// Shares: 5% have no record; 12% changed their last name since the record was updated (One Login knows the old
/// one for half of them); 30% have their accents dropped by their documents; 1% have a record whose date of birth
/// is a day out; 40% use a One Login email that is not the record's; 15% do not know their NINO and 4% mistype it;
/// 40% do not know their TRN (a quarter of those look it up by name and date of birth, which cannot tell namesakes
/// apart) and 5% mistype it. The records bring the rest (see [`record_kind`] and [`RECORD_NICKNAMES`]).
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
        let first = pick(&mut rng, FIRST_NAMES);
        let last = pick(&mut rng, LAST_NAMES);
        let dob = date_between(
            &mut rng,
            NaiveDate::from_ymd_opt(1958, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2003, 12, 31).unwrap(),
        );
        return SimulatedSignIn {
            own_records: Vec::new(),
            kinds: vec![SignInKind::NoRecord],
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
            stated_itt: None,
        };
    }
    let index = rng.gen_range(0..records);
    let Drawn {
        record,
        first_name,
        last_name,
    } = drawn(index, seed);
    let mut kinds = Vec::new();

    // Their other record, if the record before or after this one is a duplicate of theirs, and the record of a
    // namesake or twin, if one of those is. Only records in the data set's first `records` exist.
    let mut own = vec![record.clone()];
    let mut namesake = None;
    let neighbour = match record_kind(index, seed) {
        RecordKind::Own if index + 1 < records => Some((record_kind(index + 1, seed), index + 1)),
        RecordKind::Own => None,
        kind => Some((kind, index - 1)),
    };
    match neighbour {
        Some((RecordKind::Duplicate, i)) => own.push(self::record(i, seed)),
        Some((RecordKind::Namesake, i)) => namesake = Some(self::record(i, seed)),
        _ => {}
    }
    let active = |r: &TeachingRecord| r.status == RecordStatus::Active;
    if own.len() == 2 {
        kinds.push(if own.iter().all(active) {
            SignInKind::DuplicateBothActive
        } else {
            SignInKind::DuplicateOneDeactivated
        });
    }
    if !own.iter().any(active) {
        kinds.push(SignInKind::OwnRecordDeactivated);
    }
    if namesake.is_some() {
        kinds.push(SignInKind::TwinOrNamesake);
    }
    if record.first_name != first_name {
        kinds.push(SignInKind::NicknameOnRecord);
    }
    if record.last_name != last_name {
        kinds.push(SignInKind::NameTypoOnRecord);
    }
    if record.nino.is_none() {
        kinds.push(SignInKind::RecordWithoutNino);
    }

    let mut first = first_name;
    if rng.gen_bool(0.3) {
        // Passports often drop accents.
        first = strip_accents(&first);
    }
    let mut given_names = vec![first];
    given_names.extend(record.middle_name.clone());
    let mut names = vec![VerifiedName {
        given_names,
        family_name: last_name,
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
            kinds.push(SignInKind::OneLoginKnowsOldSurname);
        } else {
            kinds.push(SignInKind::RecordKeepsOldSurname);
        }
    }
    let mut dob = record.date_of_birth;
    if rng.gen_bool(0.01) {
        // The record's date of birth was entered wrongly: only support can connect this person.
        dob += Duration::days(1);
        kinds.push(SignInKind::DateOfBirthOut);
    }
    let email = match &record.email {
        Some(email) if rng.gen_bool(0.6) => email.to_uppercase(),
        Some(_) => {
            kinds.push(SignInKind::StaleEmail);
            format!("person{n}@example.net")
        }
        None => format!("person{n}@example.net"),
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
    // Their NINO is on one of their records, or on none (then most know it anyway).
    let their_nino = own.iter().find_map(|r| r.nino.clone());
    let stated_nino = match &their_nino {
        Some(nino) if rng.gen_bool(0.85) => Some(if rng.gen_bool(0.04) {
            kinds.push(SignInKind::MistypedIdentifier);
            typo(&mut rng, nino)
        } else {
            nino.clone()
        }),
        Some(_) => None,
        None => rng.gen_bool(0.5).then(|| nino(&mut rng)),
    };
    let stated_trn = if rng.gen_bool(0.6) {
        Some(if rng.gen_bool(0.05) {
            kinds.push(SignInKind::MistypedIdentifier);
            typo(&mut rng, &record.trn)
        } else {
            record.trn.clone()
        })
    } else if rng.gen_bool(0.25) {
        // A lost-TRN look-up by name and date of birth: it finds active records only, and cannot tell a namesake
        // from them.
        let found: Vec<&TeachingRecord> = own
            .iter()
            .chain(namesake.as_ref())
            .filter(|r| r.status == RecordStatus::Active)
            .collect();
        found.choose(&mut rng).map(|r| {
            if namesake.as_ref().is_some_and(|n| n.trn == r.trn) {
                kinds.push(SignInKind::TypedNamesakesTrn);
            }
            r.trn.clone()
        })
    } else {
        None
    };
    // Most pick their provider from the list the autocomplete offers; some remember the year they finished
    // training or started teaching instead of the year of QTS.
    let stated_itt = match (record.itt_providers().next(), record.qts_year()) {
        (Some(provider), Some(year)) if rng.gen_bool(0.9) => {
            let year = if rng.gen_bool(0.15) { year + 1 } else { year };
            Some((provider.to_string(), year.to_string()))
        }
        _ => None,
    };
    kinds.sort();
    kinds.dedup();
    SimulatedSignIn {
        own_records: own.iter().map(|r| (r.trn.clone(), active(r))).collect(),
        kinds,
        identity: VerifiedIdentity {
            names,
            dates_of_birth: vec![dob],
        },
        email,
        stated_nino,
        stated_trn,
        stated_itt,
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
    fn most_nicknames_on_records_are_synonyms_the_matcher_knows_but_not_all() {
        let pairs: Vec<(&str, &str)> = RECORD_NICKNAMES
            .iter()
            .flat_map(|(formal, nicks)| nicks.iter().map(move |n| (*formal, *n)))
            .collect();
        let known = pairs
            .iter()
            .filter(|(formal, nick)| crate::domain::matching::first_names_match(formal, nick))
            .count();
        assert!(known * 10 >= pairs.len() * 8, "{known} of {}", pairs.len());
        assert!(
            known < pairs.len(),
            "the simulation should also hold nicknames no list has"
        );
    }

    #[test]
    fn the_population_has_every_hard_kind_with_its_ground_truth() {
        let records = 100_000;
        let all: Vec<SimulatedSignIn> = (0..20_000).map(|n| sign_in(n, 1, records)).collect();
        let count = |kind: SignInKind| all.iter().filter(|s| s.kinds.contains(&kind)).count();
        for kind in SignInKind::ALL {
            assert!(count(kind) > 0, "no {kind:?}");
        }
        // Realistic shares, roughly.
        let share = |kind| count(kind) as f64 / all.len() as f64;
        assert!((0.25..0.36).contains(&share(SignInKind::RecordWithoutNino)));
        assert!((0.03..0.09).contains(&share(SignInKind::RecordKeepsOldSurname)));
        assert!((0.02..0.08).contains(&share(SignInKind::NicknameOnRecord)));
        assert!((0.01..0.05).contains(&share(SignInKind::TwinOrNamesake)));
        let index_of: std::collections::HashMap<String, u64> =
            (0..records).map(|i| (trn_for(i), i)).collect();
        for s in &all {
            // Ground truth: their records are in the data set, with the status it says.
            for (trn, active) in &s.own_records {
                let r = record(index_of[trn], 1);
                assert_eq!(r.status == RecordStatus::Active, *active);
            }
            assert_eq!(
                s.own_records.is_empty(),
                s.kinds.contains(&SignInKind::NoRecord)
            );
            if s.kinds.contains(&SignInKind::TypedNamesakesTrn) {
                let typed = s.stated_trn.as_deref().expect("a TRN");
                assert!(!s.own_records.iter().any(|(t, _)| t == typed));
            }
        }
    }

    #[test]
    fn simulated_sign_ins_are_deterministic_and_mostly_have_a_record() {
        assert_eq!(sign_in(5, 1, 1000), sign_in(5, 1, 1000));
        let all: Vec<SimulatedSignIn> = (0..2000).map(|n| sign_in(n, 1, 1000)).collect();
        let without = all.iter().filter(|s| s.own_records.is_empty()).count();
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
