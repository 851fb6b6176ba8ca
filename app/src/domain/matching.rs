//! The record-matching policy (DESIGN §5): which teaching record, if any, a verified teacher is connected to.
//!
//! The [`Evidence`] is what GOV.UK One Login verified (names, current and previous, and dates of birth), the One
//! Login email, and the National Insurance number and TRN the teacher typed. The [`Candidate`]s are whatever the
//! storage query fetched: it over-fetches (by date of birth, names, NINO, TRN and email), so most candidates do not
//! match at all, and some are deactivated.
//!
//! An active record is a **definite match** when
//! - its date of birth is one of the verified dates of birth,
//! - any TRN the teacher stated is the record's TRN, and
//! - either (first name ∧ last name ∧ at least one of {email, NINO, TRN, ITT}) or (first name ∧ NINO ∧ TRN).
//!
//! ITT is the third question's answer ([`IttIdentifier`]): an initial teacher training provider and QTS year that
//! both equal the record's count as one identifier, like a NINO or TRN. Providers compare by [`provider_key`].
//! The journey asks it only when [`third_question_applies`].
//!
//! Names compare by [`name_key`] (case, accents, hyphens, apostrophes and spaces ignored) against the record's
//! current and previous names; first names also match through the shipped synonym list
//! (`first_name_synonyms.txt`, e.g. Bill/William, Liz/Elizabeth, Dafydd/David).
//!
//! Exactly one definite match → connect; two or more → no connection, a possible duplicate. Because connecting
//! the wrong person is the worst failure the service can have, three guards sit on top:
//! 1. a NINO the teacher typed that differs from the record's NINO rules that record out;
//! 2. when two or more records, **active or deactivated**, agree with the verified first name, last name and date
//!    of birth (twins, namesakes, duplicate records), only a record whose NINO **and** TRN both equal what the
//!    teacher typed may be connected — otherwise a possible duplicate or namesake. A deactivated lookalike still
//!    counts: it shows the person is ambiguous even though it can never be connected itself;
//! 3. a record already connected to another One Login is never connected again;
//! 4. the third question's answer, which many people share (a provider and a year, unlike a NINO or TRN),
//!    connects only when no *other* record, active or deactivated, agrees with a verified first name (synonyms
//!    included) and date of birth, **whatever its last name**. Otherwise the person is ambiguous: a record that
//!    keeps an old surname One Login does not know (theirs) must not leave a namesake's record as the only
//!    lookalike. For the same reason [`third_question_applies`] does not ask the question then.
//!
//! The storage's search fetches these first-name lookalikes through [`first_name_search_keys`], in a second query
//! run only when [`first_name_lookalikes_matter`].
//!
//! Everything here is pure: no database, no HTTP, no clock.

use super::identity::{VerifiedEmail, VerifiedIdentity, VerifiedName};
use super::names::name_key;
use super::records::{RecordStatus, TeachingRecord};
use super::validation::{Nino, Trn};
use chrono::NaiveDate;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

/// What we know about the person trying to connect.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Evidence {
    /// Verified names from One Login, current and previous.
    pub names: Vec<VerifiedName>,
    /// Verified dates of birth from One Login.
    pub dates_of_birth: Vec<NaiveDate>,
    /// The One Login account's email address. Not verified as the record's: it only counts as corroboration.
    pub email: Option<String>,
    /// The National Insurance number the teacher typed, already validated.
    pub nino: Option<Nino>,
    /// The TRN the teacher typed, already validated.
    pub trn: Option<Trn>,
    /// The initial teacher training provider and QTS year the teacher typed (the third question), validated.
    pub itt: Option<IttIdentifier>,
}

/// The third question's answer (DESIGN §5): where the teacher did their initial teacher training and the year they
/// were awarded QTS. Built only by validation ([`crate::domain::journey::parse_itt_answer`]) and tests.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IttIdentifier {
    /// As typed, cleaned (spaces collapsed, format characters removed).
    pub provider: String,
    pub qts_year: i32,
}

/// The comparison key of an ITT provider: forgiving about what people change when they type a provider's name —
/// case, accents, punctuation, spacing, "&" for "and", and a leading or trailing "The" ("The University of Leeds",
/// "University of Leeds, The"). Anything else, such as word order, counts as a different provider.
pub fn provider_key(provider: &str) -> String {
    use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
    let spaced: String = provider
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_alphanumeric() || c == '&' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .replace('&', " and ");
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    if words.first() == Some(&"the") {
        words.remove(0);
    }
    if words.len() > 1 && words.last() == Some(&"the") {
        words.pop();
    }
    words.concat()
}

impl Evidence {
    /// The evidence One Login gives us, before the teacher has typed anything. Only an email One Login verified is
    /// evidence, so the type takes nothing else.
    pub fn from_identity(identity: &VerifiedIdentity, email: Option<&VerifiedEmail>) -> Self {
        Self {
            names: identity.names.clone(),
            dates_of_birth: identity.dates_of_birth.clone(),
            email: email.map(|e| e.as_str().to_string()),
            nino: None,
            trn: None,
            itt: None,
        }
    }

    /// The same evidence with the National Insurance number the teacher typed.
    pub fn with_nino(mut self, nino: Nino) -> Self {
        self.nino = Some(nino);
        self
    }

    /// The same evidence with the TRN the teacher typed.
    pub fn with_trn(mut self, trn: Trn) -> Self {
        self.trn = Some(trn);
        self
    }
}

/// A record the storage query found, with whether some other One Login account is already connected to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub record: TeachingRecord,
    /// True when a *different* One Login account is connected to this record.
    pub connected_to_another_login: bool,
}

impl Candidate {
    /// A record no other One Login account is connected to.
    pub fn unconnected(record: TeachingRecord) -> Self {
        Self {
            record,
            connected_to_another_login: false,
        }
    }
}

/// What made the match definite, for the audit trail and analytics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchedVia {
    /// Names, date of birth and the One Login email: the teacher typed nothing.
    Automatic,
    /// The National Insurance number the teacher typed (with names and date of birth).
    Nino,
    /// The TRN the teacher typed, with the names and date of birth or with the NINO; also every connection made
    /// under the namesake guard, which needs both NINO and TRN.
    Trn,
    /// The ITT provider and QTS year the teacher gave at the third question (with the names and date of birth).
    Itt,
    /// A TRN token the teacher redeemed (DESIGN §7.2, [`crate::domain::trn_tokens::may_redeem`]): never an outcome
    /// of [`match_records`].
    TrnToken,
}

/// The result of [`match_records`].
///
/// Only [`MatchOutcome::Connect`] concerns the teacher. The TRN lists in the other variants are for the support
/// task and for support staff: they are other people's records, or records the teacher has not been shown to
/// hold, so a page must never show them (or say which variant it was) to the teacher. For the same reason this
/// type is deliberately not `Serialize`, so it cannot be sent to the browser by accident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchOutcome {
    /// Exactly one active definite match that passes every guard: connect the teacher to this record.
    Connect { trn: String, via: MatchedVia },
    /// No active definite match. The journey asks for a NINO, then a TRN, and after that opens a record-matching
    /// support task without a flag.
    NoMatch,
    /// Two or more active definite matches (or one record listed twice): connect none, and flag the support task
    /// "possible duplicate". `trns` are the matching records, sorted.
    PossibleDuplicate { trns: Vec<String> },
    /// One definite match, but two or more records (active or deactivated) agree with the verified first name,
    /// last name and date of birth, and the teacher has not typed both the record's NINO and its TRN. Connect none; if the teacher has
    /// not yet typed both, the journey may ask for them and match again, and otherwise flags the support task
    /// "possible duplicate or namesake". `trns` are the definite match and the records that agree, sorted.
    PossibleDuplicateOrNamesake { trns: Vec<String> },
    /// The one definite match is already connected to another One Login account: never connect it again; open a
    /// support task with this record.
    AlreadyConnected { trn: String },
}

/// The flag a record-matching support task carries, from the outcome that opened it. Declared weakest first: a
/// task keeps every flag raised on the way, and the dashboard shows the strongest.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SupportFlag {
    PossibleDuplicate,
    PossibleDuplicateOrNamesake,
    AlreadyConnected,
    /// A DfE Identity account's record is held by another person in Teacher ID ("TRN in use"), and the person
    /// could not reach that person's email to prove the two are one: support decides whether to merge them.
    TrnInUse,
}

impl SupportFlag {
    /// The flag as support staff read it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PossibleDuplicate => "possible duplicate",
            Self::PossibleDuplicateOrNamesake => "possible duplicate or namesake",
            // Neutral: the one holding the record may be a DfE Identity account holder, not a One Login teacher.
            Self::AlreadyConnected => "already connected to someone else",
            Self::TrnInUse => "TRN in use by another account",
        }
    }
}

impl MatchOutcome {
    /// The record to connect to, if any.
    pub fn connected_trn(&self) -> Option<&str> {
        match self {
            Self::Connect { trn, .. } => Some(trn),
            _ => None,
        }
    }

    /// The flag for the support task this outcome leads to; `None` for a connection or a plain no-match.
    pub fn support_flag(&self) -> Option<SupportFlag> {
        match self {
            Self::Connect { .. } | Self::NoMatch => None,
            Self::PossibleDuplicate { .. } => Some(SupportFlag::PossibleDuplicate),
            Self::PossibleDuplicateOrNamesake { .. } => {
                Some(SupportFlag::PossibleDuplicateOrNamesake)
            }
            Self::AlreadyConnected { .. } => Some(SupportFlag::AlreadyConnected),
        }
    }
}

/// Applies the matching policy (module docs, DESIGN §5) to the candidates the storage query found.
///
/// Candidates are expected to have distinct TRNs; a TRN listed more than once is never connected (it is reported
/// as a possible duplicate), because the storage is then contradicting itself. The result does not depend on the
/// order of the candidates.
pub fn match_records(evidence: &Evidence, candidates: &[Candidate]) -> MatchOutcome {
    let keys = EvidenceKeys::new(evidence);
    let assessed: Vec<Assessment<'_>> = candidates
        .iter()
        .map(|c| Assessment::new(&keys, c))
        .collect();
    // Deactivated records are never connected and never counted as duplicates; they do count as namesakes below.
    let definite: Vec<&Assessment<'_>> = assessed
        .iter()
        .filter(|a| a.candidate.record.status == RecordStatus::Active && a.is_definite())
        .collect();
    let only = match definite.as_slice() {
        [] => return MatchOutcome::NoMatch,
        [only] => *only,
        several => {
            return MatchOutcome::PossibleDuplicate {
                trns: sorted_trns(several.iter().map(|a| a.trn)),
            }
        }
    };
    let trn = only.trn;

    // The same TRN twice (in any status) means two records claim to be one; do not guess which is right.
    if candidates
        .iter()
        .filter(|c| c.record.trn.trim() == trn)
        .count()
        > 1
    {
        return MatchOutcome::PossibleDuplicate {
            trns: vec![trn.to_string()],
        };
    }

    // Guard 2: twins, namesakes and duplicates look alike on name and date of birth, so when there are two or
    // more of them only the two identifiers a namesake cannot share can decide. Records ruled out by guard 1 still
    // count here: a twin with a different NINO is exactly the person we must not confuse with this one. So do
    // deactivated records: without them, a namesake who typed the TRN of a record with no NINO was connected
    // whenever the other lookalike (their own record, or a relative's) had been deactivated.
    let namesakes: Vec<&str> = assessed
        .iter()
        .filter(|a| a.agrees_on_names_and_date_of_birth())
        .map(|a| a.trn)
        .collect();
    let namesake_guard = namesakes.len() >= 2;
    if namesake_guard && !(only.nino_matches && only.trn_matches) {
        return MatchOutcome::PossibleDuplicateOrNamesake {
            trns: sorted_trns(namesakes.into_iter().chain([trn])),
        };
    }

    // Guard 4: an ITT provider and QTS year are shared by many people. A record that agrees only on the first name
    // and date of birth may be the person's own record under an old surname, which makes this one a namesake's.
    if only.needs_the_itt_answer() {
        let first_name_lookalikes: Vec<&str> = assessed
            .iter()
            .filter(|a| a.agrees_on_first_name_and_date_of_birth())
            .map(|a| a.trn)
            .collect();
        if first_name_lookalikes.len() >= 2 {
            return MatchOutcome::PossibleDuplicateOrNamesake {
                trns: sorted_trns(first_name_lookalikes.into_iter().chain([trn])),
            };
        }
    }

    // Guard 3: checked after guard 2, so that a record we are not even sure is theirs is reported as a namesake
    // question rather than as "your record is connected elsewhere".
    if only.candidate.connected_to_another_login {
        return MatchOutcome::AlreadyConnected {
            trn: trn.to_string(),
        };
    }

    // The least the teacher had to type, in the order the journey asks: nothing, then NINO, then TRN.
    let via = if namesake_guard {
        MatchedVia::Trn
    } else if only.first_name && only.last_name && only.email_matches {
        MatchedVia::Automatic
    } else if only.first_name && only.last_name && only.nino_matches {
        MatchedVia::Nino
    } else if only.trn_matches {
        MatchedVia::Trn
    } else {
        // Neither email, NINO nor TRN: the third question's answer made it definite.
        MatchedVia::Itt
    };
    MatchOutcome::Connect {
        trn: trn.to_string(),
        via,
    }
}

/// Whether the third question (ITT provider and QTS year, DESIGN §5) may be asked: exactly one active record agrees
/// with the verified first name, last name and date of birth, and no other record (of any status) agrees with the
/// first name and date of birth whatever its last name (guard 4: the answer could not connect anyone then). Whether
/// the NINO and TRN questions have already been answered is the journey's part
/// ([`crate::domain::journey::ConnectAnswers::needs_third_question`]).
pub fn third_question_applies(evidence: &Evidence, candidates: &[Candidate]) -> bool {
    let keys = EvidenceKeys::new(evidence);
    let assessed: Vec<Assessment<'_>> = candidates
        .iter()
        .map(|c| Assessment::new(&keys, c))
        .collect();
    let agreeing = assessed
        .iter()
        .filter(|a| a.candidate.record.status == RecordStatus::Active)
        .filter(|a| a.agrees_on_names_and_date_of_birth())
        .count();
    let first_name_lookalikes = assessed
        .iter()
        .filter(|a| a.agrees_on_first_name_and_date_of_birth())
        .count();
    agreeing == 1 && first_name_lookalikes == 1
}

/// Whether the search must also fetch guard 4's first-name lookalikes (records born on a verified date of birth that
/// share a verified first name whatever their last name, found by [`first_name_search_keys`]) to decide on
/// `candidates`, the records it found by last name, NINO, TRN and email. A record it did not find that way agrees on
/// no last name, NINO, TRN or email, so it is no definite match and no lookalike for guard 2; only guard 4 counts it.
/// That makes it matter only when
/// - the evidence carries the third question's answer ([`match_records`]' guard 4), or
/// - nothing connects and the third question applies to `candidates` ([`third_question_applies`]): another
///   lookalike stops the question.
///
/// In every other case (most searches) adding such records changes neither [`match_records`] nor, unless it
/// connects, [`third_question_applies`], so the storage skips the second query. When the candidates connect, the
/// third question is not worked out with them: a teacher who is connected is asked nothing more.
pub fn first_name_lookalikes_matter(evidence: &Evidence, candidates: &[Candidate]) -> bool {
    evidence.itt.is_some()
        || (!matches!(
            match_records(evidence, candidates),
            MatchOutcome::Connect { .. }
        ) && third_question_applies(evidence, candidates))
}

/// The first-name keys (as [`name_key`] makes them) a record must hold, as its current or a previous first name,
/// for the matcher to find its first name agreeing with the evidence: the storage's search fetches every record
/// born on a verified date of birth that holds one, so that guard 4 sees them whatever their last name. Over-fetches
/// by design: each verified first-name form and every name in its synonym groups, and every beginning of those,
/// since a record's first name followed by its middle name may make the form ("Mary" + "Jane" for "Mary-Jane"), down
/// to the empty key (a first name of punctuation only, followed by a middle name). Sorted, without repeats; empty
/// when the evidence has no first name.
pub fn first_name_search_keys(evidence: &Evidence) -> Vec<String> {
    let keys = EvidenceKeys::new(evidence);
    let mut forms: BTreeSet<&str> = keys.first_names.iter().map(String::as_str).collect();
    forms.extend(
        keys.first_name_groups
            .iter()
            .flat_map(|g| SYNONYMS.members(*g))
            .map(String::as_str),
    );
    let mut search: BTreeSet<String> = BTreeSet::new();
    for form in forms {
        search.insert(String::new());
        // Whole characters: a key is letters and digits, not always ASCII.
        for (end, c) in form.char_indices() {
            search.insert(form[..end + c.len_utf8()].to_string());
        }
    }
    search.into_iter().collect()
}

/// Whether two first names match: equal name keys, or in the same synonym group (either direction).
pub fn first_names_match(a: &str, b: &str) -> bool {
    let (a, b) = (name_key(a), name_key(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    a == b
        || SYNONYMS
            .groups_of(&a)
            .iter()
            .any(|g| SYNONYMS.groups_of(&b).contains(g))
}

/// The evidence reduced to comparison keys, computed once per call rather than once per candidate.
struct EvidenceKeys<'a> {
    first_names: HashSet<String>,
    /// Synonym groups of any verified first name.
    first_name_groups: HashSet<usize>,
    last_names: HashSet<String>,
    dates_of_birth: &'a [NaiveDate],
    email: Option<String>,
    nino: Option<&'a str>,
    trn: Option<&'a str>,
    /// The typed provider's [`provider_key`] and the QTS year.
    itt: Option<(String, i32)>,
}

impl<'a> EvidenceKeys<'a> {
    fn new(evidence: &'a Evidence) -> Self {
        let first_names: HashSet<String> = evidence
            .names
            .iter()
            .flat_map(verified_first_name_forms)
            .filter(|k| !k.is_empty())
            .collect();
        let first_name_groups = first_names
            .iter()
            .flat_map(|k| SYNONYMS.groups_of(k).iter().copied())
            .collect();
        let last_names = evidence
            .names
            .iter()
            .map(|n| name_key(&n.family_name))
            .filter(|k| !k.is_empty())
            .collect();
        Self {
            first_names,
            first_name_groups,
            last_names,
            dates_of_birth: &evidence.dates_of_birth,
            email: evidence.email.as_deref().and_then(email_key),
            nino: evidence.nino.as_ref().map(Nino::as_str),
            trn: evidence.trn.as_ref().map(Trn::as_str),
            itt: evidence
                .itt
                .as_ref()
                .map(|i| (provider_key(&i.provider), i.qts_year))
                .filter(|(key, _)| !key.is_empty()),
        }
    }

    fn first_name_matches(&self, key: &str) -> bool {
        !key.is_empty()
            && (self.first_names.contains(key)
                || SYNONYMS
                    .groups_of(key)
                    .iter()
                    .any(|g| self.first_name_groups.contains(g)))
    }
}

/// The forms a verified name's given names can take on a record's first name: any one given name, any word of
/// one (One Login may send "Mary Ann" as one part), and all of them together (a record's "Mary-Jane" when One
/// Login has "Mary" and "Jane").
fn verified_first_name_forms(name: &VerifiedName) -> Vec<String> {
    let mut forms: Vec<String> = Vec::new();
    for given in &name.given_names {
        forms.push(name_key(given));
        forms.extend(given.split_whitespace().map(name_key));
    }
    forms.push(name_key(&name.given_names.concat()));
    forms
}

/// The record's first-name forms: each current or previous first name, alone and followed by its middle name (so
/// a record's "Mary" + "Jane" matches a verified "Mary-Jane").
fn record_first_name_forms(record: &TeachingRecord) -> Vec<String> {
    let current = std::iter::once((&record.first_name, &record.middle_name));
    let previous = record
        .previous_names
        .iter()
        .map(|p| (&p.first_name, &p.middle_name));
    let mut forms = Vec::new();
    for (first, middle) in current.chain(previous) {
        forms.push(name_key(first));
        if let Some(middle) = middle {
            forms.push(name_key(&format!("{first}{middle}")));
        }
    }
    forms.retain(|k| !k.is_empty());
    forms
}

fn email_key(email: &str) -> Option<String> {
    let key = email.trim().to_lowercase();
    (!key.is_empty()).then_some(key)
}

/// One candidate (active or deactivated) held against the evidence.
struct Assessment<'a> {
    candidate: &'a Candidate,
    trn: &'a str,
    date_of_birth: bool,
    first_name: bool,
    last_name: bool,
    email_matches: bool,
    nino_matches: bool,
    trn_matches: bool,
    /// The third question's provider and QTS year both equal the record's.
    itt_matches: bool,
    /// Guard 1: the teacher typed a NINO and the record holds a different one.
    nino_contradicts: bool,
    /// The teacher typed a TRN and it is not this record's.
    trn_contradicts: bool,
}

impl<'a> Assessment<'a> {
    fn new(keys: &EvidenceKeys<'_>, candidate: &'a Candidate) -> Self {
        let record = &candidate.record;
        let trn = record.trn.trim();
        let record_nino = record.nino.as_deref().and_then(Nino::key);
        let record_email = record.email.as_deref().and_then(email_key);
        let last_name = std::iter::once(&record.last_name)
            .chain(record.previous_names.iter().map(|p| &p.last_name))
            .map(|n| name_key(n))
            .any(|k| !k.is_empty() && keys.last_names.contains(&k));
        Self {
            candidate,
            trn,
            date_of_birth: keys.dates_of_birth.contains(&record.date_of_birth),
            first_name: record_first_name_forms(record)
                .iter()
                .any(|k| keys.first_name_matches(k)),
            last_name,
            email_matches: keys.email.is_some() && keys.email == record_email,
            nino_matches: keys.nino.is_some() && keys.nino == record_nino.as_deref(),
            trn_matches: keys.trn.is_some_and(|t| t == trn),
            itt_matches: keys.itt.as_ref().is_some_and(|(provider, year)| {
                record.qts_year() == Some(*year)
                    && record.itt_providers().any(|p| provider_key(p) == *provider)
            }),
            // A record without a NINO is not ruled out: about 30% of records have none.
            nino_contradicts: matches!((keys.nino, record_nino.as_deref()), (Some(typed), Some(held)) if typed != held),
            trn_contradicts: keys.trn.is_some_and(|t| t != trn),
        }
    }

    fn is_definite(&self) -> bool {
        let names_and_one_identifier = self.first_name
            && self.last_name
            && (self.email_matches || self.nino_matches || self.trn_matches || self.itt_matches);
        let first_name_and_both_identifiers =
            self.first_name && self.nino_matches && self.trn_matches;
        self.date_of_birth
            && !self.trn_contradicts
            && !self.nino_contradicts
            && (names_and_one_identifier || first_name_and_both_identifiers)
    }

    fn agrees_on_names_and_date_of_birth(&self) -> bool {
        self.first_name && self.last_name && self.date_of_birth
    }

    /// Guard 4's lookalike: whatever the last name.
    fn agrees_on_first_name_and_date_of_birth(&self) -> bool {
        self.first_name && self.date_of_birth
    }

    /// Whether this definite match is definite only through the third question's answer.
    fn needs_the_itt_answer(&self) -> bool {
        let names_and_another_identifier = self.first_name
            && self.last_name
            && (self.email_matches || self.nino_matches || self.trn_matches);
        let first_name_and_both_identifiers =
            self.first_name && self.nino_matches && self.trn_matches;
        !(names_and_another_identifier || first_name_and_both_identifiers)
    }
}

fn sorted_trns<'a>(trns: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let unique: BTreeSet<&str> = trns.into_iter().collect();
    unique.into_iter().map(str::to_string).collect()
}

/// The shipped first-name synonym groups, by name key.
struct Synonyms {
    /// Each name key and the groups (line numbers among the groups) it belongs to. A key may be in several groups
    /// (Sam: Samuel and Samantha); groups are never merged.
    groups_by_key: HashMap<String, Vec<usize>>,
    /// Each group's name keys, by line number.
    groups: Vec<BTreeSet<String>>,
}

impl Synonyms {
    fn parse(text: &str) -> Self {
        let mut groups_by_key: HashMap<String, Vec<usize>> = HashMap::new();
        let groups = synonym_groups(text);
        for (group, keys) in groups.iter().enumerate() {
            for key in keys {
                groups_by_key.entry(key.clone()).or_default().push(group);
            }
        }
        Self {
            groups_by_key,
            groups,
        }
    }

    fn members(&self, group: usize) -> impl Iterator<Item = &String> {
        self.groups.get(group).into_iter().flatten()
    }

    fn groups_of(&self, key: &str) -> &[usize] {
        self.groups_by_key.get(key).map_or(&[], Vec::as_slice)
    }
}

/// The groups of a synonym file (format in `first_name_synonyms.txt`), each as its distinct non-empty name keys.
fn synonym_groups(text: &str) -> Vec<BTreeSet<String>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            line.split(',')
                .map(name_key)
                .filter(|k| !k.is_empty())
                .collect()
        })
        .collect()
}

const FIRST_NAME_SYNONYMS: &str = include_str!("first_name_synonyms.txt");

static SYNONYMS: LazyLock<Synonyms> = LazyLock::new(|| Synonyms::parse(FIRST_NAME_SYNONYMS));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::PreviousName;
    use crate::domain::validation::{parse_nino, parse_trn};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn dob() -> NaiveDate {
        date(1985, 6, 14)
    }

    fn nino(s: &str) -> Nino {
        parse_nino(s).expect("valid NINO")
    }

    fn trn(s: &str) -> Trn {
        parse_trn(s).expect("valid TRN")
    }

    /// An active record with no NINO, email or previous names.
    fn record(trn: &str, first: &str, last: &str, date_of_birth: NaiveDate) -> TeachingRecord {
        TeachingRecord {
            trn: trn.into(),
            first_name: first.into(),
            middle_name: None,
            last_name: last.into(),
            date_of_birth,
            nino: None,
            email: None,
            status: RecordStatus::Active,
            previous_names: Vec::new(),
            qualifications: Vec::new(),
        }
    }

    fn with_nino(mut r: TeachingRecord, nino: &str) -> TeachingRecord {
        r.nino = Some(nino.into());
        r
    }

    fn with_email(mut r: TeachingRecord, email: &str) -> TeachingRecord {
        r.email = Some(email.into());
        r
    }

    fn current(given: &[&str], family: &str) -> VerifiedName {
        VerifiedName {
            given_names: given.iter().map(|g| g.to_string()).collect(),
            family_name: family.into(),
            valid_from: None,
            valid_until: None,
        }
    }

    fn previous(given: &[&str], family: &str, until: NaiveDate) -> VerifiedName {
        VerifiedName {
            valid_until: Some(until),
            ..current(given, family)
        }
    }

    /// Evidence for one current name and one date of birth, with no email and nothing typed.
    fn evidence(first: &str, last: &str, date_of_birth: NaiveDate) -> Evidence {
        Evidence {
            names: vec![current(&[first], last)],
            dates_of_birth: vec![date_of_birth],
            ..Evidence::default()
        }
    }

    fn with_evidence_email(mut e: Evidence, email: &str) -> Evidence {
        e.email = Some(email.into());
        e
    }

    fn candidates(records: impl IntoIterator<Item = TeachingRecord>) -> Vec<Candidate> {
        records.into_iter().map(Candidate::unconnected).collect()
    }

    fn connect(trn: &str, via: MatchedVia) -> MatchOutcome {
        MatchOutcome::Connect {
            trn: trn.into(),
            via,
        }
    }

    fn trns(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    const EMAIL: &str = "ann.lee@example.com";

    fn ann_lee() -> TeachingRecord {
        with_nino(
            with_email(record("1234567", "Ann", "Lee", dob()), EMAIL),
            "AB123456C",
        )
    }

    // --- The definite-match clauses ---

    #[test]
    fn names_date_of_birth_and_email_connect_automatically() {
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            connect("1234567", MatchedVia::Automatic)
        );
    }

    #[test]
    fn names_date_of_birth_and_a_typed_nino_connect_via_the_nino() {
        let e = evidence("Ann", "Lee", dob()).with_nino(nino("ab 12 34 56 c"));
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            connect("1234567", MatchedVia::Nino)
        );
    }

    #[test]
    fn names_date_of_birth_and_a_typed_trn_connect_via_the_trn() {
        let e = evidence("Ann", "Lee", dob()).with_trn(trn("1234567"));
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            connect("1234567", MatchedVia::Trn)
        );
    }

    #[test]
    fn a_record_nino_stored_with_spaces_still_compares_equal() {
        let r = with_nino(record("1234567", "Ann", "Lee", dob()), " ab 12 34 56 c");
        let e = evidence("Ann", "Lee", dob()).with_nino(nino("AB123456C"));
        assert_eq!(
            match_records(&e, &candidates([r])),
            connect("1234567", MatchedVia::Nino)
        );
    }

    #[test]
    fn first_name_nino_and_trn_connect_even_when_the_last_name_differs() {
        // Married since the record was made, and One Login does not know the old name.
        let e = evidence("Ann", "Okafor", dob())
            .with_nino(nino("AB123456C"))
            .with_trn(trn("1234567"));
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            connect("1234567", MatchedVia::Trn)
        );
    }

    #[test]
    fn first_name_and_one_identifier_without_the_last_name_are_not_enough() {
        let base = evidence("Ann", "Okafor", dob());
        let cands = candidates([ann_lee()]);
        for e in [
            with_evidence_email(base.clone(), EMAIL),
            base.clone().with_nino(nino("AB123456C")),
            base.clone().with_trn(trn("1234567")),
        ] {
            assert_eq!(match_records(&e, &cands), MatchOutcome::NoMatch, "{e:?}");
        }
    }

    #[test]
    fn names_and_date_of_birth_alone_are_not_enough() {
        let e = evidence("Ann", "Lee", dob());
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            MatchOutcome::NoMatch
        );
    }

    #[test]
    fn a_date_of_birth_that_differs_never_matches_even_with_every_identifier() {
        let e = with_evidence_email(evidence("Ann", "Lee", date(1985, 6, 15)), EMAIL)
            .with_nino(nino("AB123456C"))
            .with_trn(trn("1234567"));
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            MatchOutcome::NoMatch
        );
    }

    #[test]
    fn any_of_the_verified_dates_of_birth_can_match() {
        let mut e = with_evidence_email(evidence("Ann", "Lee", date(1985, 6, 15)), EMAIL);
        e.dates_of_birth.push(dob());
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            connect("1234567", MatchedVia::Automatic)
        );
    }

    #[test]
    fn a_first_name_that_differs_never_matches_even_with_every_identifier() {
        let e = with_evidence_email(evidence("Grace", "Lee", dob()), EMAIL)
            .with_nino(nino("AB123456C"))
            .with_trn(trn("1234567"));
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            MatchOutcome::NoMatch
        );
    }

    #[test]
    fn a_stated_trn_that_contradicts_the_record_rules_it_out_even_when_everything_else_matches() {
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL)
            .with_nino(nino("AB123456C"))
            .with_trn(trn("7654321"));
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            MatchOutcome::NoMatch
        );
    }

    #[test]
    fn a_stated_trn_picks_its_record_out_of_several_that_match_on_email() {
        let other = with_email(record("2222222", "Ann", "Lee", dob()), EMAIL);
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        let cands = candidates([ann_lee(), other]);
        assert_eq!(
            match_records(&e, &cands).support_flag(),
            Some(SupportFlag::PossibleDuplicate)
        );
        // The TRN rules the other record out of the definite matches, but both still agree on name and date of
        // birth, so the namesake guard asks for the NINO too.
        let with_trn = e.clone().with_trn(trn("1234567"));
        assert_eq!(
            match_records(&with_trn, &cands),
            MatchOutcome::PossibleDuplicateOrNamesake {
                trns: trns(&["1234567", "2222222"])
            }
        );
        let with_both = with_trn.with_nino(nino("AB123456C"));
        assert_eq!(
            match_records(&with_both, &cands),
            connect("1234567", MatchedVia::Trn)
        );
    }

    #[test]
    fn email_compares_case_insensitively_after_trimming() {
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), "  Ann.LEE@Example.COM ");
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            connect("1234567", MatchedVia::Automatic)
        );
    }

    #[test]
    fn without_an_email_on_both_sides_there_is_no_email_match() {
        let no_email = record("1234567", "Ann", "Lee", dob());
        let blank_email = with_email(record("1234567", "Ann", "Lee", dob()), "  ");
        for r in [no_email, blank_email] {
            let cands = candidates([r]);
            assert_eq!(
                match_records(&evidence("Ann", "Lee", dob()), &cands),
                MatchOutcome::NoMatch
            );
            let blank = with_evidence_email(evidence("Ann", "Lee", dob()), " ");
            assert_eq!(match_records(&blank, &cands), MatchOutcome::NoMatch);
            let other = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
            assert_eq!(match_records(&other, &cands), MatchOutcome::NoMatch);
        }
    }

    #[test]
    fn a_different_email_is_no_match_until_an_identifier_is_typed() {
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), "ann@elsewhere.example");
        let cands = candidates([ann_lee()]);
        assert_eq!(match_records(&e, &cands), MatchOutcome::NoMatch);
        assert_eq!(
            match_records(&e.with_nino(nino("AB123456C")), &cands),
            connect("1234567", MatchedVia::Nino)
        );
    }

    // --- Names ---

    #[test]
    fn first_name_synonyms_match_in_both_directions() {
        for (on_record, verified) in [
            ("William", "Bill"),
            ("Bill", "William"),
            ("Elizabeth", "Liz"),
            ("Liz", "Elizabeth"),
            ("Betty", "Elizabeth"),
            ("David", "Dafydd"),
            ("Dafydd", "Dai"),
            ("Siân", "Jane"),
            ("Jane", "Sian"),
            ("MOHAMMED", "muhammad"),
        ] {
            let r = with_email(record("1234567", on_record, "Lee", dob()), EMAIL);
            let e = with_evidence_email(evidence(verified, "Lee", dob()), EMAIL);
            assert_eq!(
                match_records(&e, &candidates([r])),
                connect("1234567", MatchedVia::Automatic),
                "{on_record} on the record, {verified} verified"
            );
            assert!(first_names_match(on_record, verified));
            assert!(first_names_match(verified, on_record));
        }
    }

    #[test]
    fn synonym_groups_do_not_chain_into_each_other() {
        // Sam is in both groups, but Samuel and Samantha are different names.
        assert!(first_names_match("Sam", "Samuel"));
        assert!(first_names_match("Sam", "Samantha"));
        assert!(!first_names_match("Samuel", "Samantha"));
        // Bethan shares Beth with Elizabeth, and is not Elizabeth.
        assert!(first_names_match("Bethan", "Beth"));
        assert!(!first_names_match("Bethan", "Elizabeth"));
        let r = with_email(record("1234567", "Samuel", "Lee", dob()), EMAIL);
        let e = with_evidence_email(evidence("Samantha", "Lee", dob()), EMAIL);
        assert_eq!(match_records(&e, &candidates([r])), MatchOutcome::NoMatch);
    }

    #[test]
    fn a_diminutive_shared_by_two_names_does_not_join_them() {
        // Sandy is short for Alexander, Alexandra and Sandra; none of those three is the other.
        for name in ["Alexander", "Alexandra", "Sandra"] {
            assert!(first_names_match("Sandy", name), "Sandy / {name}");
        }
        assert!(!first_names_match("Alexander", "Sandra"));
        assert!(!first_names_match("Alexander", "Alexandra"));
        assert!(!first_names_match("Alexandra", "Sandra"));
        assert!(!first_names_match("Alex", "Sandra"));
        for (shared, a, b) in [
            ("Bert", "Robert", "Albert"),
            ("Nell", "Helen", "Eleanor"),
            ("Ted", "Edward", "Theodore"),
            ("Jon", "John", "Jonathan"),
            ("Jo", "Josephine", "Joanne"),
            ("Pat", "Patrick", "Patricia"),
            ("Mo", "Mohammed", "Maureen"),
        ] {
            assert!(first_names_match(shared, a) && first_names_match(shared, b));
            assert!(!first_names_match(a, b), "{a} / {b} through {shared}");
        }
        let r = with_email(record("1234567", "Sandra", "Lee", dob()), EMAIL);
        let e = with_evidence_email(evidence("Alexander", "Lee", dob()), EMAIL);
        assert_eq!(match_records(&e, &candidates([r])), MatchOutcome::NoMatch);
    }

    /// Every pair of names in the shipped list, both ways: they match exactly when one group holds both, so no
    /// name reaches another through a third (no transitive closure across groups).
    #[test]
    fn shipped_names_match_exactly_when_one_group_holds_both() {
        let groups = synonym_groups(FIRST_NAME_SYNONYMS);
        let names: BTreeSet<&String> = groups.iter().flatten().collect();
        for a in &names {
            for b in &names {
                let expected = a == b || groups.iter().any(|g| g.contains(*a) && g.contains(*b));
                assert_eq!(first_names_match(a, b), expected, "{a} / {b}");
            }
        }
    }

    #[test]
    fn common_diminutives_on_records_match_the_formal_name() {
        for (on_record, verified) in [
            ("Sue", "Susan"),
            ("Debbie", "Deborah"),
            ("Vicky", "Victoria"),
            ("Jackie", "Jacqueline"),
            ("Nikki", "Nicola"),
            ("Trish", "Patricia"),
            ("Mandy", "Amanda"),
            ("Steph", "Stephanie"),
            ("Pippa", "Philippa"),
            ("Ron", "Ronald"),
            ("Reg", "Reginald"),
            ("Wilf", "Wilfred"),
            ("Tudur", "Tudor"),
            ("Siarl", "Charles"),
            ("Mererid", "Margaret"),
        ] {
            assert!(
                first_names_match(on_record, verified),
                "{on_record} / {verified}"
            );
        }
    }

    #[test]
    fn similar_looking_first_names_are_not_synonyms() {
        for (a, b) in [
            ("Ann", "Anna"),
            ("Joan", "Jon"),
            ("William", "Wilma"),
            ("John", "Joanne"),
            ("Chris", "Christopher Robin"),
        ] {
            assert!(!first_names_match(a, b), "{a} / {b}");
        }
        assert!(!first_names_match("", ""));
    }

    #[test]
    fn a_previous_last_name_on_the_record_matches_after_a_name_change() {
        // The record was updated when she married; One Login only knows her maiden name.
        let mut r = with_nino(record("1234567", "Ann", "Okafor", dob()), "AB123456C");
        r.previous_names.push(PreviousName {
            first_name: "Ann".into(),
            middle_name: None,
            last_name: "Lee".into(),
            valid_until: Some(date(2015, 8, 1)),
        });
        let e = evidence("Ann", "Lee", dob()).with_nino(nino("AB123456C"));
        assert_eq!(
            match_records(&e, &candidates([r])),
            connect("1234567", MatchedVia::Nino)
        );
    }

    #[test]
    fn a_previous_first_name_on_the_record_matches() {
        let mut r = with_email(record("1234567", "Alex", "Lee", dob()), EMAIL);
        r.previous_names.push(PreviousName {
            first_name: "Grace".into(),
            middle_name: None,
            last_name: "Lee".into(),
            valid_until: Some(date(2019, 1, 1)),
        });
        let e = with_evidence_email(evidence("Grace", "Lee", dob()), EMAIL);
        assert_eq!(
            match_records(&e, &candidates([r])),
            connect("1234567", MatchedVia::Automatic)
        );
    }

    #[test]
    fn a_previous_verified_name_matches_a_record_not_updated_after_marriage() {
        // One Login knows both names; the record still has the maiden name.
        let r = with_email(record("1234567", "Ann", "Lee", dob()), EMAIL);
        let e = Evidence {
            names: vec![
                current(&["Ann"], "Okafor"),
                previous(&["Ann"], "Lee", date(2015, 8, 1)),
            ],
            dates_of_birth: vec![dob()],
            email: Some(EMAIL.into()),
            ..Evidence::default()
        };
        assert_eq!(
            match_records(&e, &candidates([r])),
            connect("1234567", MatchedVia::Automatic)
        );
    }

    #[test]
    fn accents_apostrophes_hyphens_spaces_and_case_are_ignored() {
        let r = with_email(
            record("1234567", "Siân", "O’Brien-Smith", dob()),
            "sian@example.com",
        );
        for (first, last) in [
            ("SIAN", "OBRIEN SMITH"),
            ("sian", "o'brien smith"),
            ("Sia\u{0302}n", "O Brien-Smith"),
            (" Siân ", "obrien-smith"),
        ] {
            let e = with_evidence_email(evidence(first, last, dob()), "sian@example.com");
            assert_eq!(
                match_records(&e, &candidates([r.clone()])),
                connect("1234567", MatchedVia::Automatic),
                "{first} {last}"
            );
        }
    }

    #[test]
    fn any_verified_given_name_can_be_the_records_first_name() {
        // Known by her middle name.
        let r = with_email(record("1234567", "Mary", "Lee", dob()), EMAIL);
        let e = Evidence {
            names: vec![current(&["Ann", "Mary"], "Lee")],
            dates_of_birth: vec![dob()],
            email: Some(EMAIL.into()),
            ..Evidence::default()
        };
        assert_eq!(
            match_records(&e, &candidates([r.clone()])),
            connect("1234567", MatchedVia::Automatic)
        );
        // The same when One Login sends both given names as one part.
        let e = Evidence {
            names: vec![current(&["Ann Mary"], "Lee")],
            ..e
        };
        assert_eq!(
            match_records(&e, &candidates([r])),
            connect("1234567", MatchedVia::Automatic)
        );
    }

    #[test]
    fn double_barrelled_first_names_match_however_they_are_split() {
        let e = Evidence {
            names: vec![current(&["Mary", "Jane"], "Lee")],
            dates_of_birth: vec![dob()],
            email: Some(EMAIL.into()),
            ..Evidence::default()
        };
        let hyphenated = with_email(record("1234567", "Mary-Jane", "Lee", dob()), EMAIL);
        let mut first_and_middle = with_email(record("1234567", "Mary", "Lee", dob()), EMAIL);
        first_and_middle.middle_name = Some("Jane".into());
        for r in [hyphenated, first_and_middle] {
            assert_eq!(
                match_records(&e, &candidates([r])),
                connect("1234567", MatchedVia::Automatic)
            );
        }
        let one_part = evidence("Mary-Jane", "Lee", dob());
        let mut r = with_email(record("1234567", "Mary", "Lee", dob()), EMAIL);
        r.middle_name = Some("Jane".into());
        assert_eq!(
            match_records(&with_evidence_email(one_part, EMAIL), &candidates([r])),
            connect("1234567", MatchedVia::Automatic)
        );
    }

    #[test]
    fn a_records_middle_name_alone_is_not_its_first_name() {
        let mut r = with_email(record("1234567", "Ann", "Lee", dob()), EMAIL);
        r.middle_name = Some("Mary".into());
        let e = with_evidence_email(evidence("Mary", "Lee", dob()), EMAIL);
        assert_eq!(match_records(&e, &candidates([r])), MatchOutcome::NoMatch);
    }

    #[test]
    fn names_that_are_only_punctuation_never_match() {
        let r = with_nino(
            with_email(record("1234567", "-", "'", dob()), EMAIL),
            "AB123456C",
        );
        let e = with_evidence_email(evidence("’", "-", dob()), EMAIL)
            .with_nino(nino("AB123456C"))
            .with_trn(trn("1234567"));
        assert_eq!(match_records(&e, &candidates([r])), MatchOutcome::NoMatch);
    }

    // --- Guard 1: a typed NINO that differs ---

    #[test]
    fn a_nino_that_differs_rules_the_record_out() {
        // Names, date of birth and email all match, but the NINO the teacher typed is someone else's.
        let e =
            with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL).with_nino(nino("CE654321A"));
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            MatchOutcome::NoMatch
        );
        // Not even the TRN brings it back.
        let e = e.with_trn(trn("1234567"));
        assert_eq!(
            match_records(&e, &candidates([ann_lee()])),
            MatchOutcome::NoMatch
        );
    }

    #[test]
    fn a_record_without_a_nino_is_not_ruled_out_by_a_typed_nino() {
        let r = with_email(record("1234567", "Ann", "Lee", dob()), EMAIL);
        let e =
            with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL).with_nino(nino("CE654321A"));
        assert_eq!(
            match_records(&e, &candidates([r.clone()])),
            connect("1234567", MatchedVia::Automatic)
        );
        // …but its missing NINO is not a NINO match either.
        let e = evidence("Ann", "Lee", dob()).with_nino(nino("CE654321A"));
        assert_eq!(match_records(&e, &candidates([r])), MatchOutcome::NoMatch);
    }

    // --- Guard 2: twins, namesakes and duplicates ---

    fn twins() -> Vec<Candidate> {
        // Same name and date of birth, different people: one NINO each, no email on either.
        candidates([
            with_nino(record("1111111", "Rhys", "Evans", dob()), "AB111111A"),
            with_nino(record("2222222", "Rhys", "Evans", dob()), "AB222222B"),
        ])
    }

    #[test]
    fn twins_need_both_nino_and_trn_before_either_is_connected() {
        let cands = twins();
        let e = evidence("Rhys", "Evans", dob());
        assert_eq!(match_records(&e, &cands), MatchOutcome::NoMatch);
        // The NINO rules the other twin out of the definite matches, but the twin still agrees on name and date
        // of birth, so a NINO alone is not enough.
        let e = e.with_nino(nino("AB222222B"));
        assert_eq!(
            match_records(&e, &cands),
            MatchOutcome::PossibleDuplicateOrNamesake {
                trns: trns(&["1111111", "2222222"])
            }
        );
        let e = e.with_trn(trn("2222222"));
        assert_eq!(
            match_records(&e, &cands),
            connect("2222222", MatchedVia::Trn)
        );
    }

    #[test]
    fn a_twins_trn_alone_is_not_enough() {
        let e = evidence("Rhys", "Evans", dob()).with_trn(trn("1111111"));
        assert_eq!(
            match_records(&e, &twins()).support_flag(),
            Some(SupportFlag::PossibleDuplicateOrNamesake)
        );
    }

    #[test]
    fn one_twins_nino_with_the_other_twins_trn_connects_neither() {
        let e = evidence("Rhys", "Evans", dob())
            .with_nino(nino("AB111111A"))
            .with_trn(trn("2222222"));
        assert_eq!(match_records(&e, &twins()), MatchOutcome::NoMatch);
    }

    #[test]
    fn namesakes_without_a_nino_are_never_connected_automatically() {
        let cands = candidates([
            with_email(record("1111111", "Ann", "Lee", dob()), EMAIL),
            record("2222222", "Ann", "Lee", dob()),
        ]);
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        assert_eq!(
            match_records(&e, &cands),
            MatchOutcome::PossibleDuplicateOrNamesake {
                trns: trns(&["1111111", "2222222"])
            }
        );
        // The record has no NINO, so NINO and TRN can never both equal what was typed.
        let e = e.with_nino(nino("AB123456C")).with_trn(trn("1111111"));
        assert_eq!(
            match_records(&e, &cands).support_flag(),
            Some(SupportFlag::PossibleDuplicateOrNamesake)
        );
    }

    #[test]
    fn namesakes_are_counted_through_synonyms_and_previous_names() {
        let mut married = record("2222222", "Liz", "Okafor", dob());
        married.previous_names.push(PreviousName {
            first_name: "Liz".into(),
            middle_name: None,
            last_name: "Lee".into(),
            valid_until: Some(date(2012, 1, 1)),
        });
        let cands = candidates([
            with_email(record("1111111", "Elizabeth", "Lee", dob()), EMAIL),
            married,
        ]);
        let e = with_evidence_email(evidence("Elizabeth", "Lee", dob()), EMAIL);
        assert_eq!(
            match_records(&e, &cands).support_flag(),
            Some(SupportFlag::PossibleDuplicateOrNamesake)
        );
    }

    #[test]
    fn a_namesake_with_another_date_of_birth_does_not_engage_the_guard() {
        let cands = candidates([ann_lee(), record("2222222", "Ann", "Lee", date(1990, 1, 1))]);
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        assert_eq!(
            match_records(&e, &cands),
            connect("1234567", MatchedVia::Automatic)
        );
    }

    #[test]
    fn the_namesake_guard_applies_even_to_a_match_on_first_name_nino_and_trn() {
        // She matches by first name, NINO and TRN after a name change; two other active records share the new
        // name and date of birth. NINO and TRN both equal, so she is connected.
        let cands = candidates([
            ann_lee(),
            record("2222222", "Ann", "Okafor", dob()),
            record("3333333", "Ann", "Okafor", dob()),
        ]);
        let e = evidence("Ann", "Okafor", dob())
            .with_nino(nino("AB123456C"))
            .with_trn(trn("1234567"));
        assert_eq!(
            match_records(&e, &cands),
            connect("1234567", MatchedVia::Trn)
        );
    }

    #[test]
    fn a_duplicate_record_is_a_possible_duplicate() {
        // The same person entered twice, both with her email.
        let duplicate = with_email(record("7654321", "Ann", "Lee", dob()), EMAIL);
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        let outcome = match_records(&e, &candidates([duplicate, ann_lee()]));
        assert_eq!(
            outcome,
            MatchOutcome::PossibleDuplicate {
                trns: trns(&["1234567", "7654321"])
            }
        );
        assert_eq!(
            outcome.support_flag().map(SupportFlag::as_str),
            Some("possible duplicate")
        );
        assert_eq!(outcome.connected_trn(), None);
    }

    #[test]
    fn the_same_trn_listed_twice_is_never_connected() {
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        let mut deactivated_copy = ann_lee();
        deactivated_copy.status = RecordStatus::Deactivated;
        assert_eq!(
            match_records(&e, &candidates([ann_lee(), deactivated_copy])),
            MatchOutcome::PossibleDuplicate {
                trns: trns(&["1234567"])
            }
        );
    }

    // --- Guard 3: connected to another One Login ---

    #[test]
    fn a_record_connected_to_another_login_is_never_connected_again() {
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL)
            .with_nino(nino("AB123456C"))
            .with_trn(trn("1234567"));
        let cands = [Candidate {
            record: ann_lee(),
            connected_to_another_login: true,
        }];
        let outcome = match_records(&e, &cands);
        assert_eq!(
            outcome,
            MatchOutcome::AlreadyConnected {
                trn: "1234567".into()
            }
        );
        assert_eq!(outcome.support_flag(), Some(SupportFlag::AlreadyConnected));
    }

    #[test]
    fn a_connected_record_among_namesakes_is_a_namesake_question_first() {
        let mut cands = twins();
        cands[0].connected_to_another_login = true;
        let e = evidence("Rhys", "Evans", dob()).with_nino(nino("AB111111A"));
        assert_eq!(
            match_records(&e, &cands).support_flag(),
            Some(SupportFlag::PossibleDuplicateOrNamesake)
        );
        let e = e.with_trn(trn("1111111"));
        assert_eq!(
            match_records(&e, &cands),
            MatchOutcome::AlreadyConnected {
                trn: "1111111".into()
            }
        );
    }

    #[test]
    fn a_connected_record_still_counts_as_a_duplicate() {
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        let cands = [
            Candidate {
                record: with_email(record("7654321", "Ann", "Lee", dob()), EMAIL),
                connected_to_another_login: true,
            },
            Candidate::unconnected(ann_lee()),
        ];
        assert_eq!(
            match_records(&e, &cands).support_flag(),
            Some(SupportFlag::PossibleDuplicate)
        );
    }

    // --- The third question: ITT provider and QTS year ---

    /// An active record with ITT at `provider` and QTS awarded in `year`.
    fn with_itt(mut r: TeachingRecord, provider: &str, year: i32) -> TeachingRecord {
        use crate::domain::records::{Qualification, QualificationKind};
        let on = date(year, 7, 1);
        r.qualifications = vec![
            Qualification {
                kind: QualificationKind::Itt,
                name: format!("PGCE – {provider}"),
                status: "Passed".into(),
                awarded_on: Some(on),
                provider: Some(provider.into()),
            },
            Qualification {
                kind: QualificationKind::Qts,
                name: "Qualified teacher status".into(),
                status: "Awarded".into(),
                awarded_on: Some(on),
                provider: None,
            },
        ];
        r
    }

    fn with_itt_answer(mut e: Evidence, provider: &str, qts_year: i32) -> Evidence {
        e.itt = Some(IttIdentifier {
            provider: provider.into(),
            qts_year,
        });
        e
    }

    fn ann_lee_trained() -> TeachingRecord {
        with_itt(
            record("1234567", "Ann", "Lee", dob()),
            "University of Leeds",
            2010,
        )
    }

    #[test]
    fn provider_keys_forgive_case_punctuation_the_and_spacing() {
        let key = provider_key("University of Leeds");
        for typed in [
            "university of leeds",
            "The University of Leeds",
            "the  university\tof leeds ",
            "University of Leeds, The",
            "University-of-Leeds.",
            "UNIVERSITY OF LEEDS",
            "Universitý of Leeds",
        ] {
            assert_eq!(provider_key(typed), key, "{typed:?}");
        }
        assert_eq!(
            provider_key("Bath & Wells SCITT"),
            provider_key("Bath and Wells S.C.I.T.T.")
        );
        assert_eq!(provider_key("St Mary’s"), provider_key("St Marys"));
    }

    #[test]
    fn provider_keys_keep_different_providers_apart() {
        let leeds = provider_key("University of Leeds");
        for other in [
            "Leeds Beckett University",
            "Leeds University",
            "University of Leeds Trinity",
            "Leeds",
        ] {
            assert_ne!(provider_key(other), leeds, "{other:?}");
        }
        // "The" inside a name is part of it.
        assert_ne!(
            provider_key("University of the Arts London"),
            provider_key("University of Arts London")
        );
        // Nothing but punctuation or "The" is no provider at all.
        assert_eq!(provider_key(" -- . "), "");
        assert_eq!(provider_key("The"), "");
    }

    #[test]
    fn a_right_provider_and_qts_year_connect_like_an_identifier() {
        let e = with_itt_answer(
            evidence("Ann", "Lee", dob()),
            "the university of leeds",
            2010,
        );
        assert_eq!(
            match_records(&e, &candidates([ann_lee_trained()])),
            connect("1234567", MatchedVia::Itt)
        );
    }

    #[test]
    fn a_wrong_provider_or_year_is_no_identifier() {
        for (provider, year) in [
            ("Leeds Beckett University", 2010),
            ("University of Leeds", 2011),
            ("University of Leeds", 2009),
        ] {
            let e = with_itt_answer(evidence("Ann", "Lee", dob()), provider, year);
            assert_eq!(
                match_records(&e, &candidates([ann_lee_trained()])),
                MatchOutcome::NoMatch,
                "{provider} {year}"
            );
        }
        // A record without QTS, or without a provider, cannot be matched this way.
        let mut no_qts = ann_lee_trained();
        no_qts.qualifications.truncate(1);
        let mut no_provider = ann_lee_trained();
        no_provider.qualifications[0].provider = None;
        let e = with_itt_answer(evidence("Ann", "Lee", dob()), "University of Leeds", 2010);
        for r in [no_qts, no_provider] {
            assert_eq!(match_records(&e, &candidates([r])), MatchOutcome::NoMatch);
        }
    }

    #[test]
    fn the_itt_identifier_needs_the_names_and_date_of_birth() {
        let right = |first: &str, last: &str, born: NaiveDate| {
            with_itt_answer(evidence(first, last, born), "University of Leeds", 2010)
        };
        for e in [
            right("Bea", "Lee", dob()),
            right("Ann", "Smith", dob()),
            right("Ann", "Lee", date(1985, 6, 15)),
        ] {
            assert_eq!(
                match_records(&e, &candidates([ann_lee_trained()])),
                MatchOutcome::NoMatch
            );
        }
    }

    #[test]
    fn the_guards_still_apply_to_the_itt_identifier() {
        let e = with_itt_answer(evidence("Ann", "Lee", dob()), "University of Leeds", 2010);
        // Guard 1: a NINO typed that differs from the record's.
        let with_other_nino = e.clone().with_nino(nino("AB999999D"));
        assert_eq!(
            match_records(
                &with_other_nino,
                &candidates([with_nino(ann_lee_trained(), "AB123456C")])
            ),
            MatchOutcome::NoMatch
        );
        // A TRN typed that is not the record's.
        let with_other_trn = e.clone().with_trn(trn("7654321"));
        assert_eq!(
            match_records(&with_other_trn, &candidates([ann_lee_trained()])),
            MatchOutcome::NoMatch
        );
        // Guard 2: a namesake (here with the same provider and year) makes it a namesake question.
        let namesake = with_itt(
            record("7654321", "Ann", "Lee", dob()),
            "University of Leeds",
            2012,
        );
        assert_eq!(
            match_records(&e, &candidates([ann_lee_trained(), namesake])),
            MatchOutcome::PossibleDuplicateOrNamesake {
                trns: trns(&["1234567", "7654321"])
            }
        );
        // Guard 3: connected to another One Login.
        let taken = Candidate {
            record: ann_lee_trained(),
            connected_to_another_login: true,
        };
        assert_eq!(
            match_records(&e, &[taken]),
            MatchOutcome::AlreadyConnected {
                trn: "1234567".into()
            }
        );
    }

    #[test]
    fn the_third_question_applies_with_exactly_one_active_lookalike() {
        let e = evidence("Ann", "Lee", dob());
        assert!(!third_question_applies(&e, &[]));
        assert!(third_question_applies(&e, &candidates([ann_lee_trained()])));
        // Through a previous name too.
        let mut renamed = record("1234567", "Ann", "Smith", dob());
        renamed.previous_names.push(PreviousName {
            first_name: "Ann".into(),
            middle_name: None,
            last_name: "Lee".into(),
            valid_until: Some(date(2015, 1, 1)),
        });
        assert!(third_question_applies(&e, &candidates([renamed])));
        // Two active lookalikes: a namesake question, never the third question.
        let two = candidates([ann_lee_trained(), record("7654321", "Ann", "Lee", dob())]);
        assert!(!third_question_applies(&e, &two));
        // A deactivated lookalike alone is no record to connect; beside an active one, it makes her ambiguous.
        let mut gone = record("7654321", "Ann", "Lee", dob());
        gone.status = RecordStatus::Deactivated;
        assert!(!third_question_applies(&e, &candidates([gone.clone()])));
        assert!(!third_question_applies(
            &e,
            &candidates([ann_lee_trained(), gone])
        ));
        // Records born another day or with another first name are not counted.
        let others = candidates([
            ann_lee_trained(),
            record("2222222", "Ann", "Lee", date(1985, 6, 15)),
            record("3333333", "Bea", "Lee", dob()),
            record("4444444", "Bea", "Leigh", dob()),
        ]);
        assert!(third_question_applies(&e, &others));
    }

    /// Issue 15's false connection with the third question: Ann's record keeps her old surname (Morgan), One Login
    /// knows only Lee; a namesake Ann Lee born the same day has a record without a NINO, trained where and when Ann
    /// did. Her own record shares her first name and date of birth, so the namesake's is not the only lookalike.
    fn ann_morgan_trained() -> TeachingRecord {
        with_itt(
            with_nino(record("2345678", "Ann", "Morgan", dob()), "AB123456C"),
            "University of Leeds",
            2010,
        )
    }

    #[test]
    fn a_record_under_another_surname_sharing_first_name_and_date_of_birth_stops_the_third_question(
    ) {
        let e = evidence("Ann", "Lee", dob());
        let namesake = ann_lee_trained();
        assert!(third_question_applies(&e, &candidates([namesake.clone()])));
        assert!(!third_question_applies(
            &e,
            &candidates([namesake.clone(), ann_morgan_trained()])
        ));
        // Deactivated, through a synonym, through a previous first name, or as first name and middle name: the
        // same.
        let mut gone = ann_morgan_trained();
        gone.status = RecordStatus::Deactivated;
        let annie = record("2345678", "Annie", "Morgan", dob());
        let mut renamed = record("2345678", "Bea", "Morgan", dob());
        renamed.previous_names.push(PreviousName {
            first_name: "Nan".into(),
            middle_name: None,
            last_name: "Morgan".into(),
            valid_until: None,
        });
        let mut split = record("2345678", "Mary", "Morgan", dob());
        split.middle_name = Some("Ann".into());
        let mary_ann = evidence("Mary-Ann", "Lee", dob());
        let mary_ann_lee = record("1234567", "Mary-Ann", "Lee", dob());
        assert!(third_question_applies(
            &mary_ann,
            &candidates([mary_ann_lee.clone()])
        ));
        assert!(!third_question_applies(
            &mary_ann,
            &candidates([mary_ann_lee, split])
        ));
        for other in [gone, annie, renamed] {
            assert!(
                !third_question_applies(&e, &candidates([namesake.clone(), other.clone()])),
                "{other:?}"
            );
        }
        // Another first name, or another day: still asked.
        for other in [
            record("2345678", "Bea", "Morgan", dob()),
            record("2345678", "Ann", "Morgan", date(1985, 6, 15)),
        ] {
            assert!(third_question_applies(
                &e,
                &candidates([namesake.clone(), other])
            ));
        }
    }

    #[test]
    fn an_itt_answer_never_connects_while_another_record_shares_first_name_and_date_of_birth() {
        let e = with_itt_answer(evidence("Ann", "Lee", dob()), "University of Leeds", 2010);
        let namesake = ann_lee_trained();
        assert_eq!(
            match_records(&e, &candidates([namesake.clone()])),
            connect("1234567", MatchedVia::Itt)
        );
        let refused = MatchOutcome::PossibleDuplicateOrNamesake {
            trns: trns(&["1234567", "2345678"]),
        };
        assert_eq!(
            match_records(&e, &candidates([namesake.clone(), ann_morgan_trained()])),
            refused
        );
        let mut gone = ann_morgan_trained();
        gone.status = RecordStatus::Deactivated;
        assert_eq!(
            match_records(&e, &candidates([gone, namesake.clone()])),
            refused
        );
        // An identifier a namesake cannot share still connects: the guard is the third question's only.
        let with_email = with_email(namesake.clone(), EMAIL);
        assert_eq!(
            match_records(
                &with_evidence_email(e.clone(), EMAIL),
                &candidates([with_email, ann_morgan_trained()])
            ),
            connect("1234567", MatchedVia::Automatic)
        );
        assert_eq!(
            match_records(
                &e.clone().with_trn(trn("1234567")),
                &candidates([namesake, ann_morgan_trained()])
            ),
            connect("1234567", MatchedVia::Trn)
        );
    }

    #[test]
    fn first_name_search_keys_hold_synonyms_and_their_beginnings() {
        let keys = first_name_search_keys(&evidence("Liz", "Lee", dob()));
        for key in [
            "",
            "l",
            "li",
            "liz",
            "elizabeth",
            "eliza",
            "beth",
            "b",
            "libby",
        ] {
            assert!(keys.contains(&key.to_string()), "{key:?} in {keys:?}");
        }
        assert!(!keys.contains(&"ann".to_string()));
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        let none = Evidence {
            names: vec![current(&["-"], "Lee")],
            ..evidence("x", "Lee", dob())
        };
        assert!(first_name_search_keys(&none).is_empty());
        assert!(first_name_search_keys(&Evidence::default()).is_empty());
    }

    #[test]
    fn the_first_name_search_runs_only_when_guard_4_can_decide() {
        // The common case: her record connects on her names and email, or by her NINO. No second query.
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        assert!(!first_name_lookalikes_matter(&e, &candidates([ann_lee()])));
        let e = evidence("Ann", "Lee", dob()).with_nino(nino("AB123456C"));
        assert!(!first_name_lookalikes_matter(&e, &candidates([ann_lee()])));
        // Nothing agrees on names and date of birth, or two records do: the third question is not asked either way.
        let e = evidence("Ann", "Lee", dob());
        assert!(!first_name_lookalikes_matter(&e, &[]));
        let twins = candidates([ann_lee(), record("7654321", "Ann", "Lee", dob())]);
        assert!(!first_name_lookalikes_matter(&e, &twins));
        // Her record alone agrees and nothing connects: one more lookalike under another surname stops the third
        // question, so the search must look.
        assert!(first_name_lookalikes_matter(&e, &candidates([ann_lee()])));
        // An ITT answer always needs them (guard 4 in match_records), whatever the candidates.
        let answered = with_itt_answer(evidence("Ann", "Lee", dob()), "University of Leeds", 2010);
        assert!(first_name_lookalikes_matter(&answered, &[]));
        assert!(first_name_lookalikes_matter(
            &answered,
            &candidates([ann_lee_trained()])
        ));
    }

    mod itt_properties {
        use super::*;
        use proptest::prelude::*;

        const PROVIDERS: [&str; 5] = [
            "University of Leeds",
            "Leeds Beckett University",
            "The Open University",
            "Open University in Wales",
            "Bath Spa University",
        ];

        proptest! {
            /// However the provider is typed (case, "The", punctuation), the answer connects exactly when it names
            /// the record's provider and its QTS year.
            #[test]
            fn the_itt_identifier_connects_exactly_when_provider_and_year_agree(
                held in prop::sample::select(PROVIDERS.to_vec()),
                typed in prop::sample::select(PROVIDERS.to_vec()),
                held_year in 2008..2012i32,
                typed_year in 2008..2012i32,
                upper in any::<bool>(),
                the in any::<bool>(),
                dashes in any::<bool>(),
            ) {
                let bare = |p: &str| p.trim_start_matches("The ").to_string();
                let mut shown = bare(typed);
                if the {
                    shown = format!("the {shown}");
                }
                if upper {
                    shown = shown.to_uppercase();
                }
                if dashes {
                    shown = shown.replace(' ', " - ");
                }
                let e = with_itt_answer(evidence("Ann", "Lee", dob()), &shown, typed_year);
                let r = with_itt(record("1234567", "Ann", "Lee", dob()), held, held_year);
                let connected = match_records(&e, &candidates([r])) == connect("1234567", MatchedVia::Itt);
                prop_assert_eq!(connected, bare(held) == bare(typed) && held_year == typed_year, "{:?}", shown);
            }
        }
    }

    // --- Deactivated and unrelated records ---

    #[test]
    fn a_deactivated_record_is_never_connected() {
        let mut r = ann_lee();
        r.status = RecordStatus::Deactivated;
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL)
            .with_nino(nino("AB123456C"))
            .with_trn(trn("1234567"));
        assert_eq!(match_records(&e, &candidates([r])), MatchOutcome::NoMatch);
    }

    #[test]
    fn deactivated_records_are_not_duplicates_but_count_as_namesakes() {
        let mut duplicate = with_email(record("7654321", "Ann", "Lee", dob()), EMAIL);
        duplicate.status = RecordStatus::Deactivated;
        let mut namesake = record("2222222", "Ann", "Lee", dob());
        namesake.status = RecordStatus::Deactivated;
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        // Not a possible duplicate (only one active definite match), but no longer an unambiguous person either.
        for cands in [
            candidates([duplicate.clone(), ann_lee()]),
            candidates([namesake.clone(), ann_lee()]),
            candidates([duplicate, namesake, ann_lee()]),
        ] {
            let outcome = match_records(&e, &cands);
            assert_eq!(
                outcome.support_flag(),
                Some(SupportFlag::PossibleDuplicateOrNamesake),
                "{cands:?}"
            );
            // Her own NINO and TRN together still connect her, and only to the active record.
            let both = e
                .clone()
                .with_nino(nino("AB123456C"))
                .with_trn(trn("1234567"));
            assert_eq!(
                match_records(&both, &cands),
                connect("1234567", MatchedVia::Trn)
            );
        }
    }

    #[test]
    fn a_deactivated_record_that_differs_on_name_or_date_of_birth_does_not_engage_the_guard() {
        let mut other_birthday = record("2222222", "Ann", "Lee", date(1990, 1, 1));
        other_birthday.status = RecordStatus::Deactivated;
        let mut other_name = record("3333333", "Grace", "Lee", dob());
        other_name.status = RecordStatus::Deactivated;
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        assert_eq!(
            match_records(&e, &candidates([other_birthday, other_name, ann_lee()])),
            connect("1234567", MatchedVia::Automatic)
        );
    }

    /// Issue 15: a namesake looked up their lost TRN by name and date of birth and was given their namesake's. The
    /// namesake's record has no NINO, and the only other lookalike, the person's own record, is deactivated.
    #[test]
    fn a_namesake_typing_the_namesakes_trn_is_not_connected_when_the_other_lookalike_is_deactivated(
    ) {
        let mut own = with_nino(record("1111111", "Rhys", "Evans", dob()), "AB111111A");
        own.status = RecordStatus::Deactivated;
        let namesakes = record("2222222", "Rhys", "Evans", dob());
        let cands = candidates([own, namesakes]);
        let typed_trn = evidence("Rhys", "Evans", dob()).with_trn(trn("2222222"));
        let typed_both = typed_trn.clone().with_nino(nino("AB111111A"));
        for e in [typed_trn, typed_both] {
            assert_eq!(
                match_records(&e, &cands),
                MatchOutcome::PossibleDuplicateOrNamesake {
                    trns: trns(&["1111111", "2222222"])
                },
                "{e:?}"
            );
        }
    }

    #[test]
    fn records_that_do_not_match_at_all_are_ignored() {
        // What the storage query over-fetches: same date of birth, same email, same NINO or same last name.
        let cands = candidates([
            record("3000001", "Grace", "Hughes", dob()),
            with_email(
                record("3000002", "Tomasz", "Nowak", date(1970, 1, 1)),
                EMAIL,
            ),
            with_nino(
                record("3000003", "Priya", "Patel", date(1999, 9, 9)),
                "AB123456C",
            ),
            record("3000004", "Oliver", "Lee", date(1960, 2, 2)),
            ann_lee(),
        ]);
        let e =
            with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL).with_nino(nino("AB123456C"));
        assert_eq!(
            match_records(&e, &cands),
            connect("1234567", MatchedVia::Automatic)
        );
    }

    #[test]
    fn nothing_matches_without_candidates_or_without_evidence() {
        let e = with_evidence_email(evidence("Ann", "Lee", dob()), EMAIL);
        assert_eq!(match_records(&e, &[]), MatchOutcome::NoMatch);
        assert_eq!(
            match_records(&Evidence::default(), &candidates([ann_lee()])),
            MatchOutcome::NoMatch
        );
    }

    // --- Evidence and the synonym list ---

    #[test]
    fn evidence_from_an_identity_keeps_every_name_and_date_and_a_trimmed_email() {
        let identity = VerifiedIdentity {
            names: vec![
                current(&["Ann"], "Okafor"),
                previous(&["Ann"], "Lee", date(2015, 8, 1)),
            ],
            dates_of_birth: vec![dob(), date(1985, 6, 15)],
        };
        let email = VerifiedEmail::verified_before("  ann@example.com ");
        let e = Evidence::from_identity(&identity, email.as_ref());
        assert_eq!(e.names, identity.names);
        assert_eq!(e.dates_of_birth, identity.dates_of_birth);
        assert_eq!(e.email.as_deref(), Some("ann@example.com"));
        assert_eq!((e.nino, e.trn), (None, None));
        assert_eq!(Evidence::from_identity(&identity, None).email, None);
    }

    #[test]
    fn the_shipped_synonym_list_is_well_formed() {
        let groups = synonym_groups(FIRST_NAME_SYNONYMS);
        assert!(groups.len() >= 60, "only {} groups", groups.len());
        for (i, line) in FIRST_NAME_SYNONYMS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .enumerate()
        {
            let names: Vec<&str> = line.split(',').map(str::trim).collect();
            assert!(
                names.iter().all(|n| !name_key(n).is_empty()),
                "empty name in {line:?}"
            );
            assert_eq!(
                groups[i].len(),
                names.len(),
                "a name is listed twice (same key) in {line:?}"
            );
            assert!(groups[i].len() >= 2, "a group of one: {line:?}");
        }
        let mut seen = HashSet::new();
        for group in &groups {
            assert!(seen.insert(group.clone()), "group listed twice: {group:?}");
        }
    }

    #[test]
    fn synonym_files_ignore_comments_blank_lines_and_spacing() {
        let groups = synonym_groups("# a comment\n\n  Bill ,William,, \n Siân, Jane\n");
        assert_eq!(groups.len(), 2);
        assert!(groups[0].contains("bill") && groups[0].contains("william"));
        assert_eq!(groups[0].len(), 2);
        assert!(groups[1].contains("sian"));
    }

    // --- Properties ---

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Names drawn mostly from a few spellings of a few people (so that cases match often), sometimes
        /// punctuation only, and now and then any text at all.
        fn name_from(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
            prop_oneof![
                12 => prop::sample::select(pool).prop_map(String::from),
                1 => prop::sample::select(vec!["", "-", "’"]).prop_map(String::from),
                1 => "\\PC{0,6}",
            ]
        }

        fn first_name() -> impl Strategy<Value = String> {
            name_from(&["Ann", "ANNE", "Siân", "Sian", "Bill", "William"])
        }

        fn last_name() -> impl Strategy<Value = String> {
            name_from(&["Lee", "LEE", "O’Brien", "OBrien"])
        }

        fn date_of_birth() -> impl Strategy<Value = NaiveDate> {
            prop::sample::select(vec![date(1980, 1, 1), date(2000, 2, 29)])
        }

        fn email() -> impl Strategy<Value = Option<String>> {
            prop::option::weighted(
                0.8,
                prop::sample::select(vec!["a@example.com", " A@Example.com", "b@example.com", ""])
                    .prop_map(String::from),
            )
        }

        const NINOS: [&str; 2] = ["AB123456C", "CE654321A"];
        const TRNS: [&str; 5] = ["1000001", "1000002", "1000003", "1000004", "1000005"];

        fn verified_name() -> impl Strategy<Value = VerifiedName> {
            (
                prop::collection::vec(first_name(), 0..3),
                last_name(),
                prop::option::of(date_of_birth()),
            )
                .prop_map(|(given_names, family_name, valid_until)| VerifiedName {
                    given_names,
                    family_name,
                    valid_from: None,
                    valid_until,
                })
        }

        fn any_evidence() -> impl Strategy<Value = Evidence> {
            (
                prop::collection::vec(verified_name(), 1..3),
                prop::collection::vec(date_of_birth(), 1..3),
                email(),
                prop::option::of(prop::sample::select(NINOS.to_vec())),
                prop::option::of(prop::sample::select(TRNS.to_vec())),
            )
                .prop_map(|(names, dates_of_birth, email, n, t)| Evidence {
                    names,
                    dates_of_birth,
                    email,
                    nino: n.map(nino),
                    trn: t.map(trn),
                    itt: None,
                })
        }

        fn candidate() -> impl Strategy<Value = Candidate> {
            (
                (first_name(), prop::option::of(first_name()), last_name()),
                date_of_birth(),
                prop::sample::select(TRNS.to_vec()),
                prop::option::of(prop::sample::select(NINOS.to_vec())),
                email(),
                prop::collection::vec((first_name(), last_name()), 0..2),
                prop::bool::weighted(0.15),
                prop::bool::weighted(0.15),
            )
                .prop_map(
                    |(
                        (first, middle, last),
                        dob,
                        t,
                        n,
                        email,
                        previous,
                        deactivated,
                        connected,
                    )| {
                        Candidate {
                            record: TeachingRecord {
                                trn: t.into(),
                                first_name: first,
                                middle_name: middle,
                                last_name: last,
                                date_of_birth: dob,
                                nino: n.map(String::from),
                                email,
                                status: if deactivated {
                                    RecordStatus::Deactivated
                                } else {
                                    RecordStatus::Active
                                },
                                previous_names: previous
                                    .into_iter()
                                    .map(|(first_name, last_name)| PreviousName {
                                        first_name,
                                        middle_name: None,
                                        last_name,
                                        valid_until: None,
                                    })
                                    .collect(),
                                qualifications: Vec::new(),
                            },
                            connected_to_another_login: connected,
                        }
                    },
                )
        }

        /// Evidence and candidates. Half the time the evidence is partly copied from the first candidate (each of
        /// its name, date of birth, email, NINO and TRN with probability 0.7), so near-misses and the guards are
        /// exercised often; otherwise the two are independent.
        fn case() -> impl Strategy<Value = (Evidence, Vec<Candidate>)> {
            (
                any_evidence(),
                prop::collection::vec(candidate(), 0..5),
                prop::bool::ANY,
                prop::array::uniform5(prop::bool::weighted(0.7)),
            )
                .prop_map(|(mut e, cands, derive, [name, dob, email, ni, tr])| {
                    if let (true, Some(c)) = (derive, cands.first()) {
                        let r = &c.record;
                        if name {
                            e.names[0].given_names = vec![r.first_name.clone()];
                            e.names[0].family_name = r.last_name.clone();
                        }
                        if dob {
                            e.dates_of_birth.push(r.date_of_birth);
                        }
                        if email {
                            e.email = r.email.clone();
                        }
                        if ni {
                            e.nino = r.nino.as_deref().and_then(|n| parse_nino(n).ok());
                        }
                        if tr {
                            e.trn = parse_trn(&r.trn).ok();
                        }
                    }
                    (e, cands)
                })
        }

        /// The properties below only mean something if the generated cases often reach each outcome.
        #[test]
        fn the_generated_cases_reach_every_outcome() {
            use proptest::strategy::ValueTree;
            use proptest::test_runner::TestRunner;

            let mut runner = TestRunner::deterministic();
            let strategy = case();
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for _ in 0..2000 {
                let (e, cands) = strategy.new_tree(&mut runner).expect("a case").current();
                let kind = match match_records(&e, &cands) {
                    MatchOutcome::Connect { .. } => "connect",
                    MatchOutcome::NoMatch => "no match",
                    MatchOutcome::PossibleDuplicate { .. } => "duplicate",
                    MatchOutcome::PossibleDuplicateOrNamesake { .. } => "namesake",
                    MatchOutcome::AlreadyConnected { .. } => "already connected",
                };
                *seen.entry(kind).or_default() += 1;
            }
            // Deterministic, so these counts are stable: about 11% connect, and every guard is reached.
            assert!(seen.get("connect").copied().unwrap_or(0) >= 100, "{seen:?}");
            for kind in ["no match", "duplicate", "namesake", "already connected"] {
                assert!(seen.get(kind).copied().unwrap_or(0) >= 10, "{seen:?}");
            }
        }

        /// The first query of the storage's search, as the matcher sees it: the records agreeing on a date of birth
        /// and a last name, the NINO, the TRN or the email.
        fn found_by_the_first_query(keys: &EvidenceKeys<'_>, c: &Candidate) -> bool {
            let a = Assessment::new(keys, c);
            a.date_of_birth && (a.last_name || a.nino_matches || a.trn_matches || a.email_matches)
        }

        /// `skipping_the_first_name_search_changes_no_decision` means something only if the generated cases often
        /// skip the second query while a first-name lookalike is left out, and often run it.
        #[test]
        fn the_first_name_search_is_often_skipped_with_a_lookalike_left_out() {
            use proptest::strategy::ValueTree;
            use proptest::test_runner::TestRunner;

            let mut runner = TestRunner::deterministic();
            let strategy = case();
            let (mut skipped, mut run) = (0, 0);
            for _ in 0..2000 {
                let (e, cands) = strategy.new_tree(&mut runner).expect("a case").current();
                let keys = EvidenceKeys::new(&e);
                let (first_query, left_out): (Vec<Candidate>, Vec<Candidate>) = cands
                    .into_iter()
                    .partition(|c| found_by_the_first_query(&keys, c));
                if first_name_lookalikes_matter(&e, &first_query) {
                    run += 1;
                } else if left_out
                    .iter()
                    .any(|c| Assessment::new(&keys, c).agrees_on_first_name_and_date_of_birth())
                {
                    skipped += 1;
                }
            }
            assert!(skipped >= 50 && run >= 50, "skipped {skipped}, run {run}");
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn no_evidence_ever_connects_a_record_whose_date_of_birth_differs_a_deactivated_record_or_one_connected_elsewhere(
                (e, cands) in case(),
            ) {
                let outcome = match_records(&e, &cands);
                if let MatchOutcome::Connect { trn, .. } = &outcome {
                    let holders: Vec<&Candidate> = cands.iter().filter(|c| &c.record.trn == trn).collect();
                    prop_assert_eq!(holders.len(), 1, "a TRN listed twice was connected");
                    let r = &holders[0].record;
                    prop_assert!(e.dates_of_birth.contains(&r.date_of_birth), "date of birth differs: {:?}", r);
                    prop_assert_eq!(r.status, RecordStatus::Active);
                    prop_assert!(!holders[0].connected_to_another_login);
                    if let Some(typed) = &e.trn {
                        prop_assert_eq!(typed.as_str(), trn.as_str());
                    }
                    if let (Some(typed), Some(held)) = (&e.nino, &r.nino) {
                        prop_assert_eq!(typed.as_str(), held.as_str());
                    }
                }
            }

            /// Guard 2 with deactivated records: whenever two candidates of any status plainly share a verified
            /// first name, last name and date of birth, a connection needs the record's NINO and TRN both typed.
            #[test]
            fn lookalikes_of_any_status_mean_a_connection_needs_both_nino_and_trn(
                (e, cands) in case(),
            ) {
                let plainly_agrees = |r: &TeachingRecord| {
                    e.dates_of_birth.contains(&r.date_of_birth)
                        && e.names.iter().any(|n| {
                            !name_key(&r.last_name).is_empty()
                                && name_key(&n.family_name) == name_key(&r.last_name)
                                && n.given_names.iter().any(|g| first_names_match(g, &r.first_name))
                        })
                };
                let lookalikes = cands.iter().filter(|c| plainly_agrees(&c.record)).count();
                if let (MatchOutcome::Connect { trn, .. }, true) = (match_records(&e, &cands), lookalikes >= 2) {
                    let r = &cands.iter().find(|c| c.record.trn == trn).expect("a candidate").record;
                    prop_assert_eq!(e.trn.as_ref().map(Trn::as_str), Some(r.trn.as_str()));
                    prop_assert!(e.nino.is_some() && r.nino.as_deref().and_then(Nino::key).as_deref() == e.nino.as_ref().map(Nino::as_str));
                }
            }

            /// Guard 4: whatever the candidates, when every record would take the third question's answer, it never
            /// connects while another record of any status shares a verified first name (synonyms included) and a
            /// date of birth, and the question is not asked then.
            #[test]
            fn the_third_question_never_connects_beside_another_record_sharing_first_name_and_date_of_birth(
                (e, cands) in case(),
                lookalike in prop::option::of((prop::bool::ANY, last_name())),
            ) {
                let mut e = e;
                e.itt = Some(IttIdentifier { provider: "University of Leeds".into(), qts_year: 2010 });
                let mut cands: Vec<Candidate> = cands
                    .into_iter()
                    .map(|mut c| {
                        c.record = with_itt(c.record, "University of Leeds", 2010);
                        c
                    })
                    .collect();
                // Often, a record sharing the first candidate's first name and date of birth, under any last name
                // (the person's own record keeping an old surname), active or deactivated.
                if let (Some((deactivated, last)), Some(first)) = (lookalike, cands.first()) {
                    let mut r = first.record.clone();
                    r.trn = "1000009".into();
                    r.last_name = last;
                    r.nino = None;
                    r.email = None;
                    r.previous_names.clear();
                    if deactivated {
                        r.status = RecordStatus::Deactivated;
                    }
                    cands.push(Candidate::unconnected(r));
                }
                let shares = |r: &TeachingRecord| {
                    e.dates_of_birth.contains(&r.date_of_birth)
                        && e.names.iter().flat_map(|n| &n.given_names).any(|g| {
                            std::iter::once(&r.first_name)
                                .chain(r.previous_names.iter().map(|p| &p.first_name))
                                .any(|f| first_names_match(g, f))
                        })
                };
                let outcome = match_records(&e, &cands);
                if let MatchOutcome::Connect { trn, via: MatchedVia::Itt } = &outcome {
                    let others = cands.iter().filter(|c| &c.record.trn != trn && shares(&c.record)).count();
                    prop_assert_eq!(others, 0, "{:?}", cands);
                }
                if third_question_applies(&e, &cands) {
                    // The one record agreeing may agree through a form `shares` does not try (a middle name).
                    prop_assert!(cands.iter().filter(|c| shares(&c.record)).count() <= 1);
                }
            }

            /// The storage fetches guard 4's lookalikes by these keys: every record whose first name the matcher
            /// finds agreeing holds one of them, as its current or a previous first name.
            #[test]
            fn first_name_search_keys_find_every_record_whose_first_name_agrees(
                (e, cands) in case(),
                joined in prop::bool::ANY,
            ) {
                let mut e = e;
                // Often, One Login's one given name is the first candidate's first and middle names joined.
                if let (true, Some(Candidate { record: TeachingRecord { first_name, middle_name: Some(middle), .. }, .. })) =
                    (joined, cands.first())
                {
                    e.names[0].given_names = vec![format!("{first_name}-{middle}")];
                }
                let keys = EvidenceKeys::new(&e);
                let search = first_name_search_keys(&e);
                for c in &cands {
                    if Assessment::new(&keys, c).first_name {
                        let r = &c.record;
                        let held = std::iter::once(&r.first_name)
                            .chain(r.previous_names.iter().map(|p| &p.first_name))
                            .any(|f| search.contains(&name_key(f)));
                        prop_assert!(held, "{:?} not found by {:?}", r, search);
                    }
                }
            }

            /// The storage fetches first-name lookalikes under another last name only when
            /// [`first_name_lookalikes_matter`] for what its first query found (the records agreeing on date of birth
            /// and a last name, the NINO, the TRN or the email). When it says no, the records left out change
            /// neither the decision nor, unless it connects, whether the third question applies.
            #[test]
            fn skipping_the_first_name_search_changes_no_decision(
                (e, cands) in case(),
                itt in prop::bool::weighted(0.1),
            ) {
                let mut e = e;
                let mut cands = cands;
                if itt {
                    e.itt = Some(IttIdentifier { provider: "University of Leeds".into(), qts_year: 2010 });
                    for c in &mut cands {
                        c.record = with_itt(c.record.clone(), "University of Leeds", 2010);
                    }
                }
                // The database holds each TRN once.
                let mut seen = HashSet::new();
                cands.retain(|c| seen.insert(c.record.trn.clone()));
                let keys = EvidenceKeys::new(&e);
                let first_query: Vec<Candidate> = cands
                    .iter()
                    .filter(|c| found_by_the_first_query(&keys, c))
                    .cloned()
                    .collect();
                if !first_name_lookalikes_matter(&e, &first_query) {
                    let outcome = match_records(&e, &cands);
                    prop_assert_eq!(&outcome, &match_records(&e, &first_query));
                    if outcome.connected_trn().is_none() {
                        prop_assert_eq!(
                            third_question_applies(&e, &cands),
                            third_question_applies(&e, &first_query)
                        );
                    }
                }
            }

            #[test]
            fn the_outcome_does_not_depend_on_the_order_of_the_candidates(
                (e, cands) in case(),
            ) {
                let mut reversed = cands.clone();
                reversed.reverse();
                prop_assert_eq!(match_records(&e, &cands), match_records(&e, &reversed));
            }
        }
    }

    // --- Against the synthetic data set ---

    #[cfg(feature = "synthetic")]
    #[test]
    fn synthetic_records_are_only_ever_connected_to_themselves() {
        use crate::domain::synthetic;

        let records: Vec<TeachingRecord> = (0..3000).map(|i| synthetic::record(i, 1)).collect();
        // As the storage query would: every record with the teacher's date of birth.
        let mut by_date: HashMap<NaiveDate, Vec<Candidate>> = HashMap::new();
        for r in &records {
            by_date
                .entry(r.date_of_birth)
                .or_default()
                .push(Candidate::unconnected(r.clone()));
        }
        let (mut connected, mut flagged) = (0, 0);
        for r in records.iter().filter(|r| r.email.is_some()) {
            let given: Vec<&str> = std::iter::once(r.first_name.as_str())
                .chain(r.middle_name.as_deref())
                .collect();
            let e = Evidence {
                names: vec![current(&given, &r.last_name)],
                dates_of_birth: vec![r.date_of_birth],
                email: r.email.clone(),
                ..Evidence::default()
            };
            match match_records(&e, &by_date[&r.date_of_birth]) {
                MatchOutcome::Connect { trn, via } => {
                    assert_eq!(trn, r.trn, "connected to someone else's record");
                    assert_eq!(via, MatchedVia::Automatic);
                    assert_eq!(r.status, RecordStatus::Active);
                    connected += 1;
                }
                MatchOutcome::NoMatch => assert_eq!(r.status, RecordStatus::Deactivated),
                MatchOutcome::PossibleDuplicate { trns }
                | MatchOutcome::PossibleDuplicateOrNamesake { trns } => {
                    assert!(trns.contains(&r.trn), "{trns:?} without {}", r.trn);
                    flagged += 1;
                }
                MatchOutcome::AlreadyConnected { .. } => unreachable!("nothing is connected"),
            }
        }
        assert!(connected > 1500, "only {connected} connected");
        assert!(flagged > 0, "the data set has duplicates and namesakes");
    }
}
