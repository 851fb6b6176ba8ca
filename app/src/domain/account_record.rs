//! Finding the teaching record for a DfE Identity account (DESIGN §7.3, issue 13 §3): the account route into
//! [`crate::domain::matching`]'s policy, never weaker than the One Login route.
//!
//! An account's evidence is the name and date of birth the person gave (**unverified**), the email they proved with
//! a passcode, and their answers to the record questions: a National Insurance number (have/haven't), a TRN
//! (have/haven't), QTS and the initial teacher training provider. It goes to [`match_records`] exactly as One
//! Login's evidence would, with the same guards; on top of that the account route refuses a connection made by the
//! name, date of birth and email alone ([`MatchedVia::Automatic`]). One Login vouches for the name and date of
//! birth; an account's were only typed, and an email proven by passcode shows no more than access to an inbox (a
//! record's email may be a shared or an old school address). So an account connects only through an identifier the
//! person typed — a NINO, a TRN, or the ITT provider and QTS year — beside the name and date of birth: the "three
//! identifiers at least" of §7.3. Whatever the account route connects, the One Login route with the same facts
//! connects to the same record (a property test below holds it).
//!
//! **A TRN typed that is not theirs** (issue 13 §3, "tell them if the TRN they typed differs"). Under §5 a typed TRN
//! must be the record's TRN for that record to match at all, so someone who mistyped theirs, or typed an old or a
//! colleague's, would find nothing though their other answers identify them. So, on this route only, when the
//! answers hold a TRN and the policy finds no record at all ([`AccountMatch::NotFound`] without a flag: no definite
//! match), the same policy runs once more on the same evidence **without the typed TRN** ([`second_look`]) — exactly
//! what §5 is given when someone answers "I don't have a TRN", so never weaker: the record still needs the name,
//! date of birth and a NINO or the ITT answer, and every guard (a NINO that differs, namesakes needing NINO *and* TRN,
//! deactivated and held-elsewhere records, the ITT answer's lookalikes) applies as it would. Only a connection is
//! taken from the second look ([`after_second_look`]); the person is then told the TRN they gave is not the one on
//! their record, and shown the right one ([`typed_trn_differs`]). The typed TRN never helps the second look, so a
//! TRN belonging to someone else's record never connects that record. A record held by another person is not
//! offered on the strength of the second look (the merge flow shows their email partly hidden): such a person, like
//! any other not found, goes to support with their answers, and the second look's flag, if stronger, goes with them.
//!
//! The guard "already connected to another One Login" becomes **TRN in use** here: the record is held by another
//! person in Teacher ID (by One Login or by an account), which starts the passcode-to-their-email and merge flow
//! rather than a connection.
//!
//! Pure: no database, no HTTP, no clock.

use super::account::Account;
use super::identity::VerifiedName;
use super::journey::Answer;
use super::matching::{
    match_records, Candidate, Evidence, IttIdentifier, MatchOutcome, MatchedVia, SupportFlag,
};
use super::validation::{Nino, Trn};
use serde::{Deserialize, Serialize};

/// What the person answered to the record questions; `None` for a question not asked (yet).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAnswers {
    /// "Do you have a National Insurance number?"
    #[serde(default)]
    pub nino: Option<Answer<Nino>>,
    /// "Do you have a TRN?"
    #[serde(default)]
    pub trn: Option<Answer<Trn>>,
    /// "Have you been awarded QTS?" and, if so, where they trained and the year: `No` when they have no QTS.
    #[serde(default)]
    pub itt: Option<Answer<IttIdentifier>>,
}

impl AccountAnswers {
    pub fn nino(&self) -> Option<&Nino> {
        self.nino.as_ref().and_then(Answer::value)
    }

    pub fn trn(&self) -> Option<&Trn> {
        self.trn.as_ref().and_then(Answer::value)
    }

    pub fn itt(&self) -> Option<&IttIdentifier> {
        self.itt.as_ref().and_then(Answer::value)
    }
}

/// The facts of an account the matcher reads: the name and date of birth as typed, and the proven email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountFacts {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: chrono::NaiveDate,
    pub email: String,
}

impl AccountFacts {
    /// An account's facts. The preferred name is what the person likes to be called, not a name a record holds,
    /// so it is not evidence.
    pub fn of(account: &Account) -> Self {
        Self {
            first_name: account.name.first.clone(),
            last_name: account.name.last.clone(),
            date_of_birth: account.date_of_birth,
            email: account.email.address().to_string(),
        }
    }
}

/// The evidence for [`find_account_record`]: the same shape as One Login's, so the policy cannot tell the routes
/// apart. The name is split as a record holds it: every word of the first name is a given name.
pub fn account_evidence(facts: &AccountFacts, answers: &AccountAnswers) -> Evidence {
    Evidence {
        names: vec![VerifiedName {
            given_names: facts
                .first_name
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            family_name: facts.last_name.trim().to_string(),
            valid_from: None,
            valid_until: None,
        }],
        dates_of_birth: vec![facts.date_of_birth],
        email: Some(facts.email.clone()),
        nino: answers.nino().cloned(),
        trn: answers.trn().cloned(),
        itt: answers.itt().cloned(),
    }
}

/// What finding an account's record came to. Like [`MatchOutcome`], deliberately not `Serialize`: only
/// [`AccountMatch::Found`] may be shown to the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountMatch {
    /// Store this TRN on the account (a connection of its person).
    Found { trn: String, via: MatchedVia },
    /// The one record that matches is held by another person in Teacher ID: passcode to their email, then merge
    /// (or a support task when they cannot reach it). Never connected as it stands.
    TrnInUse { trn: String },
    /// No record to connect: a support task of the account-record-matching kind, with this flag if any.
    NotFound { flag: Option<SupportFlag> },
}

/// Applies DESIGN §5 to an account's evidence ([`account_evidence`]) and the candidates the storage found for it:
/// [`match_records`], less the connection by name, date of birth and email alone (module docs).
pub fn find_account_record(evidence: &Evidence, candidates: &[Candidate]) -> AccountMatch {
    match match_records(evidence, candidates) {
        MatchOutcome::Connect {
            via: MatchedVia::Automatic,
            ..
        } => AccountMatch::NotFound { flag: None },
        MatchOutcome::Connect { trn, via } => AccountMatch::Found { trn, via },
        MatchOutcome::AlreadyConnected { trn } => AccountMatch::TrnInUse { trn },
        other => AccountMatch::NotFound {
            flag: other.support_flag(),
        },
    }
}

/// The evidence of the account route's second look (module docs): `evidence` without the TRN typed, when a TRN was
/// typed and the first look (`first`) found no record at all; otherwise `None`, no second look.
pub fn second_look(evidence: &Evidence, first: &AccountMatch) -> Option<Evidence> {
    match first {
        AccountMatch::NotFound { flag: None } if evidence.trn.is_some() => Some(Evidence {
            trn: None,
            ..evidence.clone()
        }),
        _ => None,
    }
}

/// What the account route comes to after a second look: the record it connects, if it connects one; otherwise the
/// first look's outcome, with the stronger of the two support flags (a namesake the second look saw is worth
/// support's knowing).
pub fn after_second_look(first: AccountMatch, second: AccountMatch) -> AccountMatch {
    match (first, second) {
        (_, found @ AccountMatch::Found { .. }) => found,
        (AccountMatch::NotFound { flag }, AccountMatch::NotFound { flag: second }) => {
            AccountMatch::NotFound {
                flag: flag.max(second),
            }
        }
        (first, _) => first,
    }
}

/// An account holder whose record is held by another person (issue 13 §3 and §6), kept in their session from the
/// record questions' last answer until they prove the holder's email and merge, or ask support: the TRN, and the
/// answers that found it (a support task raised from here carries them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrnInUse {
    pub trn: String,
    #[serde(default)]
    pub answers: AccountAnswers,
}

/// Whether the person should be told that their TRN is not the one they typed: they typed one and the record
/// found (or assigned by support) has another. Under §5 a typed TRN must be the record's for the policy to
/// connect, so this is true only for a record found without it: by the second look (module docs), support's
/// decision, a TRN token, or a merge with a person already connected.
pub fn typed_trn_differs(typed: Option<&Trn>, found: &str) -> bool {
    typed.is_some_and(|t| t.as_str() != found.trim())
}

/// A mobile number as support staff see it on a task: only its last three digits, which is enough to tell two
/// accounts apart on the telephone and no more (support never needs to text the person).
pub fn masked_mobile(e164: &str) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    let shown = digits.len().saturating_sub(3);
    let mut masked = String::from("+");
    masked.extend(digits.iter().take(shown).map(|_| '*'));
    masked.extend(&digits[shown..]);
    masked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::{Qualification, QualificationKind, RecordStatus, TeachingRecord};
    use crate::domain::validation::{parse_nino, parse_trn};
    use chrono::NaiveDate;

    fn dob() -> NaiveDate {
        NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
    }

    fn facts(first: &str, last: &str) -> AccountFacts {
        AccountFacts {
            first_name: first.into(),
            last_name: last.into(),
            date_of_birth: dob(),
            email: "ann@example.com".into(),
        }
    }

    fn record(trn: &str, first: &str, last: &str) -> TeachingRecord {
        TeachingRecord {
            trn: trn.into(),
            first_name: first.into(),
            middle_name: None,
            last_name: last.into(),
            date_of_birth: dob(),
            nino: None,
            email: None,
            status: RecordStatus::Active,
            previous_names: Vec::new(),
            qualifications: Vec::new(),
        }
    }

    fn free(records: impl IntoIterator<Item = TeachingRecord>) -> Vec<Candidate> {
        records.into_iter().map(Candidate::unconnected).collect()
    }

    fn answers(nino: Option<&str>, trn: Option<&str>) -> AccountAnswers {
        AccountAnswers {
            nino: Some(nino.map_or(Answer::No, |n| Answer::Yes(parse_nino(n).unwrap()))),
            trn: Some(trn.map_or(Answer::No, |t| Answer::Yes(parse_trn(t).unwrap()))),
            itt: None,
        }
    }

    #[test]
    fn the_evidence_is_the_typed_name_date_of_birth_email_and_answers() {
        let e = account_evidence(
            &facts("Ann Marie", " Lee "),
            &answers(Some("AB123456C"), None),
        );
        assert_eq!(e.names.len(), 1);
        assert_eq!(e.names[0].given_names, ["Ann", "Marie"]);
        assert_eq!(e.names[0].family_name, "Lee");
        assert_eq!(e.dates_of_birth, [dob()]);
        assert_eq!(e.email.as_deref(), Some("ann@example.com"));
        assert_eq!(e.nino.as_ref().map(Nino::as_str), Some("AB123456C"));
        assert_eq!(e.trn, None, "\"I have no TRN\" is no TRN");
    }

    #[test]
    fn a_nino_that_agrees_finds_the_record() {
        let mut r = record("1234567", "Ann", "Lee");
        r.nino = Some("AB 12 34 56 C".into());
        let e = account_evidence(&facts("ann", "LEE"), &answers(Some("AB123456C"), None));
        assert_eq!(
            find_account_record(&e, &free([r])),
            AccountMatch::Found {
                trn: "1234567".into(),
                via: MatchedVia::Nino
            }
        );
    }

    #[test]
    fn name_date_of_birth_and_email_alone_do_not_find_an_accounts_record() {
        let mut r = record("1234567", "Ann", "Lee");
        r.email = Some("ann@example.com".into());
        let e = account_evidence(&facts("Ann", "Lee"), &answers(None, None));
        // One Login's verified name and date of birth would connect here; typed ones do not.
        assert_eq!(
            match_records(&e, &free([r.clone()])).connected_trn(),
            Some("1234567")
        );
        assert_eq!(
            find_account_record(&e, &free([r])),
            AccountMatch::NotFound { flag: None }
        );
    }

    #[test]
    fn the_itt_answer_counts_as_an_identifier_on_the_account_route_too() {
        let on = NaiveDate::from_ymd_opt(2010, 7, 1).unwrap();
        let mut r = record("1234567", "Ann", "Lee");
        r.qualifications = vec![
            Qualification {
                kind: QualificationKind::Itt,
                name: "PGCE".into(),
                status: "Passed".into(),
                awarded_on: Some(on),
                provider: Some("University of Leeds".into()),
            },
            Qualification {
                kind: QualificationKind::Qts,
                name: "Qualified teacher status".into(),
                status: "Awarded".into(),
                awarded_on: Some(on),
                provider: None,
            },
        ];
        let mut a = answers(None, None);
        a.itt = Some(Answer::Yes(IttIdentifier {
            provider: "the university of leeds".into(),
            qts_year: 2010,
        }));
        let e = account_evidence(&facts("Ann", "Lee"), &a);
        assert_eq!(
            find_account_record(&e, &free([r])),
            AccountMatch::Found {
                trn: "1234567".into(),
                via: MatchedVia::Itt
            }
        );
    }

    #[test]
    fn a_record_another_person_holds_is_trn_in_use_not_a_connection() {
        let mut r = record("1234567", "Ann", "Lee");
        r.nino = Some("AB123456C".into());
        let e = account_evidence(&facts("Ann", "Lee"), &answers(Some("AB123456C"), None));
        let held = vec![Candidate {
            record: r,
            connected_to_another_login: true,
        }];
        assert_eq!(
            find_account_record(&e, &held),
            AccountMatch::TrnInUse {
                trn: "1234567".into()
            }
        );
    }

    #[test]
    fn twins_keep_the_namesake_flag_for_support() {
        let mut own = record("1234567", "Ann", "Lee");
        own.nino = Some("AB123456C".into());
        let twin = record("7654321", "Ann", "Lee");
        let e = account_evidence(&facts("Ann", "Lee"), &answers(Some("AB123456C"), None));
        assert_eq!(
            find_account_record(&e, &free([own, twin])),
            AccountMatch::NotFound {
                flag: Some(SupportFlag::PossibleDuplicateOrNamesake)
            }
        );
    }

    /// Both looks, as the server makes them, over one world of candidates.
    fn look(e: &Evidence, candidates: &[Candidate]) -> AccountMatch {
        let first = find_account_record(e, candidates);
        match second_look(e, &first) {
            Some(without_trn) => {
                after_second_look(first, find_account_record(&without_trn, candidates))
            }
            None => first,
        }
    }

    fn ann_with_nino() -> TeachingRecord {
        let mut r = record("1234567", "Ann", "Lee");
        r.nino = Some("AB123456C".into());
        r
    }

    #[test]
    fn a_mistyped_trn_still_finds_the_record_by_the_other_answers_and_says_so() {
        let e = account_evidence(
            &facts("Ann", "Lee"),
            &answers(Some("AB123456C"), Some("1234568")),
        );
        let world = free([ann_with_nino()]);
        assert_eq!(
            find_account_record(&e, &world),
            AccountMatch::NotFound { flag: None },
            "§5 alone: a typed TRN that differs rules the record out"
        );
        let found = look(&e, &world);
        assert_eq!(
            found,
            AccountMatch::Found {
                trn: "1234567".into(),
                via: MatchedVia::Nino
            }
        );
        assert!(typed_trn_differs(e.trn.as_ref(), "1234567"));
    }

    #[test]
    fn a_trn_of_someone_elses_record_never_connects_that_record() {
        // Another teacher born the same day; and a namesake by first name with another surname.
        let mut bob = record("7654321", "Bob", "Jones");
        bob.nino = Some("CD654321A".into());
        let mut ann_smith = record("7654322", "Ann", "Smith");
        ann_smith.nino = Some("CD654322A".into());
        for theirs in [bob, ann_smith] {
            let world = free([ann_with_nino(), theirs.clone()]);
            // With their own NINO: their own record, never the one whose TRN they typed.
            let e = account_evidence(
                &facts("Ann", "Lee"),
                &answers(Some("AB123456C"), Some(&theirs.trn)),
            );
            assert_eq!(
                look(&e, &world),
                AccountMatch::Found {
                    trn: "1234567".into(),
                    via: MatchedVia::Nino
                }
            );
            // Without another identifier: nothing, as for "I don't have a TRN".
            let e = account_evidence(&facts("Ann", "Lee"), &answers(None, Some(&theirs.trn)));
            assert_eq!(look(&e, &world), AccountMatch::NotFound { flag: None });
        }
    }

    #[test]
    fn namesakes_still_need_both_nino_and_trn_after_a_mistyped_trn() {
        let twin = record("7654321", "Ann", "Lee");
        let e = account_evidence(
            &facts("Ann", "Lee"),
            &answers(Some("AB123456C"), Some("1234568")),
        );
        assert_eq!(
            look(&e, &free([ann_with_nino(), twin])),
            AccountMatch::NotFound {
                flag: Some(SupportFlag::PossibleDuplicateOrNamesake)
            },
            "not connected, and support is told of the namesake"
        );
    }

    #[test]
    fn deactivated_or_held_records_are_still_refused_after_a_mistyped_trn() {
        let e = account_evidence(
            &facts("Ann", "Lee"),
            &answers(Some("AB123456C"), Some("1234568")),
        );
        let mut deactivated = ann_with_nino();
        deactivated.status = RecordStatus::Deactivated;
        assert_eq!(
            look(&e, &free([deactivated])),
            AccountMatch::NotFound { flag: None }
        );
        let held = vec![Candidate {
            record: ann_with_nino(),
            connected_to_another_login: true,
        }];
        assert_eq!(
            look(&e, &held),
            AccountMatch::NotFound { flag: None },
            "neither connected nor offered as in use on the second look"
        );
    }

    #[test]
    fn there_is_a_second_look_only_when_a_typed_trn_found_nothing() {
        let with_trn = account_evidence(
            &facts("Ann", "Lee"),
            &answers(Some("AB123456C"), Some("1234568")),
        );
        let without = account_evidence(&facts("Ann", "Lee"), &answers(Some("AB123456C"), None));
        let nothing = AccountMatch::NotFound { flag: None };
        assert_eq!(second_look(&with_trn, &nothing), Some(without.clone()));
        assert_eq!(second_look(&without, &nothing), None, "no TRN typed");
        for first in [
            AccountMatch::Found {
                trn: "1234567".into(),
                via: MatchedVia::Trn,
            },
            AccountMatch::TrnInUse {
                trn: "1234567".into(),
            },
            AccountMatch::NotFound {
                flag: Some(SupportFlag::PossibleDuplicate),
            },
        ] {
            assert_eq!(second_look(&with_trn, &first), None, "{first:?}");
        }
    }

    #[test]
    fn a_mobile_shows_only_its_last_three_digits() {
        assert_eq!(masked_mobile("+447700900123"), "+*********123");
        assert_eq!(masked_mobile("+12"), "+12");
        assert_eq!(masked_mobile(""), "+");
    }

    #[test]
    fn the_typed_trn_differs_only_when_one_was_typed_and_it_is_another() {
        let typed = parse_trn("1234567").unwrap();
        assert!(!typed_trn_differs(None, "1234567"));
        assert!(!typed_trn_differs(Some(&typed), "1234567"));
        assert!(!typed_trn_differs(Some(&typed), " 1234567 "));
        assert!(typed_trn_differs(Some(&typed), "7654321"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const FIRST: [&str; 4] = ["Ann", "Anne", "William", "Bill"];
        const LAST: [&str; 3] = ["Lee", "Smith", "O'Neil"];
        const PROVIDERS: [&str; 2] = ["University of Leeds", "Bath Spa University"];

        /// One record of a small world where namesakes, twins, shared emails and shared ITT providers are common.
        /// NINOs and TRNs are unique per record (index-derived), as they are in the real register.
        #[derive(Clone, Debug)]
        struct Seed {
            first: usize,
            last: usize,
            day: u32,
            has_nino: bool,
            has_email: bool,
            email: usize,
            itt: Option<(usize, i32)>,
            active: bool,
            held_elsewhere: bool,
        }

        fn seed() -> impl Strategy<Value = Seed> {
            (
                (0..FIRST.len(), 0..LAST.len(), 1..3u32),
                (any::<bool>(), any::<bool>(), 0..3usize),
                prop::option::of((0..PROVIDERS.len(), 2010..2012i32)),
                (prop::bool::weighted(0.85), prop::bool::weighted(0.15)),
            )
                .prop_map(
                    |((first, last, day), (has_nino, has_email, email), itt, (active, held))| {
                        Seed {
                            first,
                            last,
                            day,
                            has_nino,
                            has_email,
                            email,
                            itt,
                            active,
                            held_elsewhere: held,
                        }
                    },
                )
        }

        fn nino_of(i: usize) -> String {
            format!("AB{:06}C", 100_000 + i)
        }

        fn trn_of(i: usize) -> String {
            format!("{}", 2_000_000 + i)
        }

        fn email_of(i: usize) -> String {
            format!("person{i}@example.com")
        }

        fn build(i: usize, s: &Seed) -> Candidate {
            let on = NaiveDate::from_ymd_opt(s.itt.map_or(2010, |(_, y)| y), 7, 1).unwrap();
            let record = TeachingRecord {
                trn: trn_of(i),
                first_name: FIRST[s.first].into(),
                middle_name: None,
                last_name: LAST[s.last].into(),
                date_of_birth: NaiveDate::from_ymd_opt(1985, 3, s.day).unwrap(),
                nino: s.has_nino.then(|| nino_of(i)),
                email: s.has_email.then(|| email_of(s.email)),
                status: if s.active {
                    RecordStatus::Active
                } else {
                    RecordStatus::Deactivated
                },
                previous_names: Vec::new(),
                qualifications: s
                    .itt
                    .map(|(p, _)| {
                        vec![
                            Qualification {
                                kind: QualificationKind::Itt,
                                name: "PGCE".into(),
                                status: "Passed".into(),
                                awarded_on: Some(on),
                                provider: Some(PROVIDERS[p].into()),
                            },
                            Qualification {
                                kind: QualificationKind::Qts,
                                name: "Qualified teacher status".into(),
                                status: "Awarded".into(),
                                awarded_on: Some(on),
                                provider: None,
                            },
                        ]
                    })
                    .unwrap_or_default(),
            };
            Candidate {
                record,
                connected_to_another_login: s.held_elsewhere,
            }
        }

        /// The candidates of a world: every seed's record.
        fn world(seeds: &[Seed]) -> Vec<Candidate> {
            seeds.iter().enumerate().map(|(i, s)| build(i, s)).collect()
        }

        /// Which answers the person gives, each either their own true value, "haven't", or (for the property
        /// that compares routes) someone else's.
        #[derive(Clone, Debug)]
        struct Asking {
            nino: u8,
            trn: u8,
            itt: u8,
            email: u8,
            first_is_synonym: bool,
        }

        fn asking() -> impl Strategy<Value = Asking> {
            (0..3u8, 0..3u8, 0..3u8, 0..3u8, any::<bool>()).prop_map(
                |(nino, trn, itt, email, first_is_synonym)| Asking {
                    nino,
                    trn,
                    itt,
                    email,
                    first_is_synonym,
                },
            )
        }

        /// The account of the person who owns record `me` (or, with `honest` false, of anyone typing anything).
        fn person(
            me: usize,
            seeds: &[Seed],
            a: &Asking,
            honest: bool,
        ) -> (AccountFacts, AccountAnswers) {
            let s = &seeds[me];
            let other = (me + 1) % seeds.len();
            let first = if a.first_is_synonym {
                match FIRST[s.first] {
                    "William" => "Bill",
                    "Bill" => "William",
                    f => f,
                }
            } else {
                FIRST[s.first]
            };
            let pick = |how: u8, own: Option<String>, theirs: Option<String>| match how {
                0 => own,
                1 => None,
                _ if honest => own,
                _ => theirs,
            };
            let facts = AccountFacts {
                first_name: first.into(),
                last_name: LAST[s.last].into(),
                date_of_birth: NaiveDate::from_ymd_opt(1985, 3, s.day).unwrap(),
                email: pick(
                    a.email,
                    Some(email_of(s.email)),
                    Some(email_of(seeds[other].email)),
                )
                .unwrap_or_else(|| "nobody@example.com".into()),
            };
            let nino = pick(
                a.nino,
                s.has_nino.then(|| nino_of(me)),
                Some(nino_of(other)),
            );
            let trn = pick(a.trn, Some(trn_of(me)), Some(trn_of(other)));
            let itt = pick(
                a.itt,
                s.itt.map(|(p, y)| format!("{p}:{y}")),
                seeds[other].itt.map(|(p, y)| format!("{p}:{y}")),
            );
            let answers = AccountAnswers {
                nino: Some(nino.map_or(Answer::No, |n| Answer::Yes(parse_nino(&n).unwrap()))),
                trn: Some(trn.map_or(Answer::No, |t| Answer::Yes(parse_trn(&t).unwrap()))),
                itt: Some(itt.map_or(Answer::No, |pi| {
                    let (p, y) = pi.split_once(':').unwrap();
                    Answer::Yes(IttIdentifier {
                        provider: PROVIDERS[p.parse::<usize>().unwrap()].into(),
                        qts_year: y.parse().unwrap(),
                    })
                })),
            };
            (facts, answers)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2048))]

            /// Never weaker than §5: whatever the account route connects (or calls in use), the One Login route
            /// with the same facts as verified ones connects to (or calls connected) the same record.
            #[test]
            fn the_account_route_never_connects_where_the_one_login_route_would_not(
                seeds in prop::collection::vec(seed(), 1..7),
                me in 0..7usize,
                a in asking(),
                honest in any::<bool>(),
            ) {
                let me = me % seeds.len();
                let candidates = world(&seeds);
                let (facts, answers) = person(me, &seeds, &a, honest);
                let evidence = account_evidence(&facts, &answers);
                let one_login = match_records(&evidence, &candidates);
                match find_account_record(&evidence, &candidates) {
                    AccountMatch::Found { trn, via } => {
                        prop_assert_eq!(one_login, MatchOutcome::Connect { trn, via });
                        prop_assert_ne!(via, MatchedVia::Automatic);
                    }
                    AccountMatch::TrnInUse { trn } => {
                        prop_assert_eq!(one_login, MatchOutcome::AlreadyConnected { trn });
                    }
                    AccountMatch::NotFound { flag } => {
                        let one_login_connects_by_an_identifier = matches!(
                            one_login,
                            MatchOutcome::Connect { via, .. } if via != MatchedVia::Automatic
                        );
                        prop_assert!(!one_login_connects_by_an_identifier);
                        prop_assert_eq!(flag, one_login.support_flag());
                    }
                }
            }

            /// The second look is never weaker than §5: whatever the account route connects, §5 connects to the same
            /// record with the same facts as verified ones, with the typed TRN or (as for "I don't have a TRN")
            /// without it, by more than name, date of birth and email.
            #[test]
            fn both_looks_connect_only_where_the_one_login_route_would(
                seeds in prop::collection::vec(seed(), 1..7),
                me in 0..7usize,
                a in asking(),
                honest in any::<bool>(),
            ) {
                let me = me % seeds.len();
                let candidates = world(&seeds);
                let (facts, answers) = person(me, &seeds, &a, honest);
                let evidence = account_evidence(&facts, &answers);
                if let AccountMatch::Found { trn, via } = look(&evidence, &candidates) {
                    prop_assert_ne!(via, MatchedVia::Automatic);
                    let without_trn = Evidence { trn: None, ..evidence.clone() };
                    let connects = MatchOutcome::Connect { trn, via };
                    prop_assert!(
                        match_records(&evidence, &candidates) == connects
                            || match_records(&without_trn, &candidates) == connects
                    );
                }
            }

            /// A TRN that is someone else's never connects their record: a person honest in everything but the TRN
            /// (another record's) is found only ever to their own record.
            #[test]
            fn someone_elses_trn_never_connects_their_record(
                seeds in prop::collection::vec(seed(), 2..7),
                me in 0..7usize,
                a in asking(),
            ) {
                let me = me % seeds.len();
                let candidates = world(&seeds);
                let (facts, mut answers) = person(me, &seeds, &a, true);
                let other = (me + 1) % seeds.len();
                answers.trn = Some(Answer::Yes(parse_trn(&trn_of(other)).unwrap()));
                let evidence = account_evidence(&facts, &answers);
                match look(&evidence, &candidates) {
                    AccountMatch::Found { trn, .. } | AccountMatch::TrnInUse { trn } => {
                        prop_assert_eq!(trn, trn_of(me));
                    }
                    AccountMatch::NotFound { .. } => {}
                }
            }

            /// No false connections: a person who answers truthfully (or says "haven't") is found only ever to
            /// their own record, however many namesakes, twins, shared emails and shared providers surround it.
            #[test]
            fn an_honest_account_is_never_connected_to_someone_elses_record(
                seeds in prop::collection::vec(seed(), 1..7),
                me in 0..7usize,
                a in asking(),
            ) {
                let me = me % seeds.len();
                let candidates = world(&seeds);
                let (facts, answers) = person(me, &seeds, &a, true);
                let evidence = account_evidence(&facts, &answers);
                match find_account_record(&evidence, &candidates) {
                    AccountMatch::Found { trn, .. } | AccountMatch::TrnInUse { trn } => {
                        prop_assert_eq!(trn, trn_of(me));
                    }
                    AccountMatch::NotFound { .. } => {}
                }
            }
        }
    }
}
