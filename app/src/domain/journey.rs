//! The connect journey (DESIGN §4): what the teacher has answered so far, how the National Insurance number and
//! TRN questions are validated, and which step a person may be on, so that deep links, the back button and
//! refresh always land somewhere sensible.
//!
//! Pure: the server works out the [`Position`] from the session and the database, and these functions decide.

use super::matching::IttIdentifier;
use super::validation::{parse_nino, parse_trn, FieldError, Nino, NinoError, Trn, TrnError};
use crate::routes;
use serde::{Deserialize, Serialize};

/// The longest NINO or TRN we look at once spaces and dashes are removed (DESIGN §4); anything longer is refused
/// as the wrong format without parsing. Padding is removed first, so a pasted answer with spaces around it counts.
pub const MAX_IDENTIFIER_INPUT: usize = super::validation::MAX_IDENTIFIER_CHARS;

/// National Insurance number and TRN attempts one signed-in person may make in [`USER_WINDOW_SECONDS`].
pub const USER_ATTEMPTS: i64 = 10;
pub const USER_WINDOW_SECONDS: i64 = 24 * 3600;
/// Attempts from one client address (many people may share one, e.g. a school) in [`ADDRESS_WINDOW_SECONDS`].
pub const ADDRESS_ATTEMPTS: i64 = 50;
pub const ADDRESS_WINDOW_SECONDS: i64 = 3600;

/// The limits on National Insurance number and TRN attempts (DESIGN §5): per signed-in person and per client
/// address, each a number of attempts in a window. The constants above are the defaults; operators and load tests
/// set others with the `RATE_LIMIT_*` variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub user_attempts: i64,
    pub user_window_seconds: i64,
    pub address_attempts: i64,
    pub address_window_seconds: i64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            user_attempts: USER_ATTEMPTS,
            user_window_seconds: USER_WINDOW_SECONDS,
            address_attempts: ADDRESS_ATTEMPTS,
            address_window_seconds: ADDRESS_WINDOW_SECONDS,
        }
    }
}

impl RateLimits {
    /// The longest window: attempt counters older than this count for nothing and may be forgotten.
    pub fn longest_window_seconds(&self) -> i64 {
        self.user_window_seconds.max(self.address_window_seconds)
    }
}

/// When someone stopped by a limit whose window is `window_seconds` long may try again, as the page says it:
/// "in an hour", "in 24 hours", "in 15 minutes".
pub fn try_again_in(window_seconds: i64) -> String {
    let minutes = (window_seconds.max(1) + 59) / 60;
    match (minutes / 60, minutes % 60) {
        (1, 0) => "in an hour".into(),
        (hours, 0) => format!("in {hours} hours"),
        _ if minutes == 1 => "in a minute".into(),
        _ => format!("in {minutes} minutes"),
    }
}

/// An answer to "Do you know your National Insurance number?" or "Do you know your TRN?".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer<T> {
    No,
    Yes(T),
}

impl<T> Answer<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::No => None,
            Self::Yes(v) => Some(v),
        }
    }
}

/// What the teacher has told us in the journey, kept in the server-side session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectAnswers {
    pub nino: Option<Answer<Nino>>,
    pub trn: Option<Answer<Trn>>,
    /// Every support flag matching raised so far (e.g. a possible duplicate), for the support task only.
    #[serde(default)]
    pub flags: std::collections::BTreeSet<super::matching::SupportFlag>,
    /// Set when a rate limit stopped the last attempt: when they may try again ("in an hour").
    #[serde(default)]
    pub try_again: Option<String>,
    /// The third question's answer: "No" when they have no QTS, else the ITT provider and QTS year typed.
    #[serde(default)]
    pub itt: Option<Answer<IttIdentifier>>,
    /// Whether the latest match found exactly one active record agreeing with the verified names and date of
    /// birth ([`crate::domain::matching::third_question_applies`]); set by the server after every failed match.
    #[serde(default)]
    pub third_question: bool,
}

/// The two identifier questions, which share their shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Question {
    Nino,
    Trn,
}

impl Question {
    /// The radios' name and the id of the first radio (what the error summary links to).
    pub fn choice_field(self) -> &'static str {
        match self {
            Self::Nino => "has_nino",
            Self::Trn => "has_trn",
        }
    }
    /// The text input's name and id.
    pub fn value_field(self) -> &'static str {
        match self {
            Self::Nino => "nino",
            Self::Trn => "trn",
        }
    }
    fn choice_message(self) -> &'static str {
        match self {
            Self::Nino => "Select yes if you know your National Insurance number",
            Self::Trn => "Select yes if you know your teacher reference number (TRN)",
        }
    }
    fn empty_message(self) -> &'static str {
        match self {
            Self::Nino => "Enter your National Insurance number",
            Self::Trn => "Enter your teacher reference number (TRN)",
        }
    }
    fn format_message(self) -> &'static str {
        match self {
            Self::Nino => {
                "Enter a National Insurance number in the correct format, like QQ 12 34 56 C"
            }
            Self::Trn => "Enter a TRN in the correct format, like 1234567",
        }
    }
}

/// The form as posted: `choice` is "yes", "no" or anything else; `value` is only read when the answer is yes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifierInput {
    #[serde(default)]
    pub choice: String,
    #[serde(default)]
    pub value: String,
}

fn parse_answer<T, E>(
    question: Question,
    input: &IdentifierInput,
    parse: impl Fn(&str) -> Result<T, E>,
    is_empty: impl Fn(&E) -> bool,
) -> Result<Answer<T>, FieldError> {
    match input.choice.as_str() {
        "no" => Ok(Answer::No),
        "yes" => {
            let value_error = |message: &str| FieldError::new(question.value_field(), message);
            let cleaned = super::validation::clean_identifier(&input.value);
            if cleaned.chars().count() > MAX_IDENTIFIER_INPUT {
                return Err(value_error(question.format_message()));
            }
            parse(&cleaned).map(Answer::Yes).map_err(|e| {
                value_error(if is_empty(&e) {
                    question.empty_message()
                } else {
                    question.format_message()
                })
            })
        }
        _ => Err(FieldError::new(
            question.choice_field(),
            question.choice_message(),
        )),
    }
}

/// "Do you know your National Insurance number?" with GOV.UK wording for each error.
pub fn parse_nino_answer(input: &IdentifierInput) -> Result<Answer<Nino>, FieldError> {
    parse_answer(Question::Nino, input, parse_nino, |e| {
        *e == NinoError::Empty
    })
}

/// "Do you know your TRN?" with GOV.UK wording for each error.
pub fn parse_trn_answer(input: &IdentifierInput) -> Result<Answer<Trn>, FieldError> {
    parse_answer(Question::Trn, input, parse_trn, |e| *e == TrnError::Empty)
}

/// The third question's fields: the QTS radios (which the error summary links to), the provider and the year.
pub const QTS_CHOICE_FIELD: &str = "has_qts";
pub const ITT_PROVIDER_FIELD: &str = "itt_provider";
pub const QTS_YEAR_FIELD: &str = "qts_year";
/// The longest provider name accepted: a name's limit (DESIGN §4), far above any provider's.
pub const MAX_PROVIDER_CHARS: usize = super::validation::MAX_NAME_CHARS;
/// The earliest QTS year accepted: nobody teaching now was awarded QTS before it.
pub const EARLIEST_QTS_YEAR: i32 = 1900;

/// The third question as posted: `qts` is "yes", "no" or anything else; `provider` and `year` are only read when
/// the answer is yes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IttInput {
    #[serde(default)]
    pub qts: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub year: String,
}

/// "Have you been awarded QTS?" and, when yes, "Where did you do your initial teacher training?" and the year of
/// QTS. `this_year` is the current year (UK time), the latest accepted. Every field in error is reported, so the
/// error summary lists the provider and the year together.
pub fn parse_itt_answer(
    input: &IttInput,
    this_year: i32,
) -> Result<Answer<IttIdentifier>, Vec<FieldError>> {
    match input.qts.as_str() {
        "no" => Ok(Answer::No),
        "yes" => {
            let provider = parse_provider(&input.provider);
            let year = parse_qts_year(&input.year, this_year);
            match (provider, year) {
                (Ok(provider), Ok(qts_year)) => {
                    Ok(Answer::Yes(IttIdentifier { provider, qts_year }))
                }
                (provider, year) => Err(provider.err().into_iter().chain(year.err()).collect()),
            }
        }
        _ => Err(vec![FieldError::new(
            QTS_CHOICE_FIELD,
            "Select yes if you have been awarded qualified teacher status (QTS)",
        )]),
    }
}

/// A provider's name: format characters removed, any run of spaces (of any kind) made one space, trimmed;
/// letters and digits of any script with the punctuation providers' names use; at least one letter.
fn parse_provider(input: &str) -> Result<String, FieldError> {
    let error = |message: &str| FieldError::new(ITT_PROVIDER_FIELD, message);
    let cleaned = super::validation::strip_format_chars(input)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if cleaned.is_empty() {
        return Err(error("Enter where you did your initial teacher training"));
    }
    if cleaned.chars().count() > MAX_PROVIDER_CHARS {
        return Err(error(&format!(
            "Initial teacher training provider must be {MAX_PROVIDER_CHARS} characters or fewer"
        )));
    }
    let allowed = |c: char| {
        c.is_alphanumeric()
            || unicode_normalization::char::is_combining_mark(c)
            || c == ' '
            || super::validation::is_dash(c)
            || matches!(
                c,
                '\'' | '\u{2019}' | '.' | ',' | '&' | '(' | ')' | '/' | ':'
            )
    };
    if !cleaned.chars().all(allowed) {
        return Err(error(
            "Initial teacher training provider must only include letters, numbers, spaces and the characters ' - . , & ( ) / :",
        ));
    }
    if !cleaned.chars().any(char::is_alphabetic) {
        return Err(error(
            "Initial teacher training provider must include at least one letter",
        ));
    }
    Ok(cleaned)
}

/// The year QTS was awarded: four digits (spaces around them ignored), from [`EARLIEST_QTS_YEAR`] to `this_year`.
fn parse_qts_year(input: &str, this_year: i32) -> Result<i32, FieldError> {
    let error = |message: String| FieldError::new(QTS_YEAR_FIELD, message);
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && !super::validation::is_format_char(*c))
        .collect();
    if cleaned.is_empty() {
        return Err(error("Enter the year you were awarded QTS".into()));
    }
    if !cleaned.chars().all(|c| c.is_ascii_digit()) {
        return Err(error(
            "Year you were awarded QTS must be a number, like 2015".into(),
        ));
    }
    if cleaned.len() != 4 {
        return Err(error(
            "Year you were awarded QTS must include 4 numbers".into(),
        ));
    }
    let year: i32 = cleaned
        .parse()
        .map_err(|_| error("Year you were awarded QTS must be a number, like 2015".into()))?;
    if year > this_year {
        return Err(error(
            "Year you were awarded QTS must be this year or in the past".into(),
        ));
    }
    if year < EARLIEST_QTS_YEAR {
        return Err(error(format!(
            "Year you were awarded QTS must be {EARLIEST_QTS_YEAR} or later"
        )));
    }
    Ok(year)
}

/// Where a person stands, as the server sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    SignedOut,
    /// Signed in; identity not yet checked.
    IdentityNotChecked,
    /// One Login could not prove their identity.
    IdentityNotVerified,
    /// Connected to a teaching record: done.
    Connected,
    /// A support request is open: they wait for support.
    AwaitingSupport,
    /// Verified and not connected: answering questions.
    Answering(ConnectAnswers),
    /// Signed in with a DfE Identity account, not connected and with no support request open: finding their record
    /// (DESIGN §7.3, issue 13 §3) starts at [`routes::ACCOUNT_FIND_RECORD`].
    AccountNotConnected,
}

/// The journey's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// "We need more information" interruption.
    NeedMoreInformation,
    Nino,
    Trn,
    /// "We cannot find your teaching record" interruption.
    NotFound,
    CheckAnswers,
    /// The confirmation panel after asking for support.
    SupportRequested,
    /// "Your GOV.UK One Login is connected" interruption.
    Connected,
    Record,
    /// "We're still looking at your request".
    AwaitingSupport,
    /// Too many NINO or TRN attempts.
    TooManyAttempts,
    /// The third question: QTS, ITT provider and QTS year.
    Itt,
}

impl ConnectAnswers {
    /// Where someone answering the questions carries on: the first question not yet answered, or check answers.
    pub fn resume_at(&self) -> &'static str {
        if self.nino.is_none() {
            routes::CONNECT
        } else if self.trn.is_none() {
            routes::CONNECT_TRN
        } else if self.needs_third_question() {
            routes::CONNECT_ITT
        } else {
            routes::CONNECT_CHECK_ANSWERS
        }
    }

    /// The rule for the third question (DESIGN §5): the NINO and TRN questions are answered and have not
    /// connected them, exactly one active record agrees with their verified names and date of birth, and they
    /// have not answered it yet.
    pub fn needs_third_question(&self) -> bool {
        self.may_answer_third_question() && self.itt.is_none()
    }

    /// Whether the third question is theirs to answer (or to change): as [`Self::needs_third_question`], answered
    /// or not.
    pub fn may_answer_third_question(&self) -> bool {
        self.nino.is_some() && self.trn.is_some() && self.third_question
    }
}

impl Position {
    /// Where someone in this position belongs; `None` while they are answering the questions.
    pub fn home(&self) -> Option<&'static str> {
        match self {
            Self::SignedOut => Some(routes::SIGN_IN),
            Self::IdentityNotChecked => Some(routes::AUTH_IDENTITY),
            Self::IdentityNotVerified => Some(routes::IDENTITY_NOT_VERIFIED),
            Self::Connected => Some(routes::RECORD),
            Self::AwaitingSupport => Some(routes::REQUEST_PENDING),
            Self::AccountNotConnected => Some(routes::ACCOUNT_FIND_RECORD),
            Self::Answering(_) => None,
        }
    }
}

/// Where to send someone who asked for `step`, or `None` if they may see it.
pub fn redirect_for(step: Step, position: &Position) -> Option<&'static str> {
    use Step::*;
    match position {
        Position::Answering(answers) => {
            let allowed = match step {
                NeedMoreInformation | Nino => true,
                TooManyAttempts => answers.try_again.is_some(),
                Trn => answers.nino.is_some(),
                Itt => answers.may_answer_third_question(),
                NotFound | CheckAnswers => {
                    answers.nino.is_some()
                        && answers.trn.is_some()
                        && !answers.needs_third_question()
                }
                SupportRequested | Connected | Record | AwaitingSupport => false,
            };
            (!allowed).then(|| answers.resume_at())
        }
        Position::Connected if matches!(step, Connected | Record) => None,
        Position::AwaitingSupport if matches!(step, SupportRequested | AwaitingSupport) => None,
        other => other.home(),
    }
}

/// The support request reference for number `n` of the reference counter (issue 10 §6). The store takes numbers
/// from a counter that never hands one out twice, so references never run out or repeat, whatever the number of
/// tasks. The first million numbers go through a fixed permutation of 0..1,000,000, so references keep the look
/// they always had (`TRS-` and six digits that do not tell how many requests there have been, nor the next one by
/// adding one); from a million on the number is used as it is and grows past six digits. References drawn at
/// random before the counter existed may equal a permuted one: the store skips such a number and takes the next,
/// which is why a permutation is safe here where "start above the largest" would have jumped to seven digits.
pub fn support_reference(n: u64) -> String {
    const MILLION: u64 = 1_000_000;
    if n >= MILLION {
        return format!("TRS-{n}");
    }
    format!("TRS-{:06}", permute_million(n))
}

/// A bijection on 0..1,000,000: a four-round Feistel network on the two three-digit halves. Each round maps
/// `(l, r)` to `(r, (l + f(r)) mod 1000)`, which can be undone whatever `f` is, so no two numbers meet.
fn permute_million(n: u64) -> u64 {
    const KEYS: [u64; 4] = [0x5bd1_e995, 0x27d4_eb2f, 0x1656_67b1, 0x85eb_ca6b];
    let (mut left, mut right) = (n / 1000, n % 1000);
    for key in KEYS {
        let mixed = (right ^ key).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let f = (mixed >> 40) % 1000;
        (left, right) = (right, (left + f) % 1000);
    }
    left * 1000 + right
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(choice: &str, value: &str) -> IdentifierInput {
        IdentifierInput {
            choice: choice.into(),
            value: value.into(),
        }
    }

    #[test]
    fn no_needs_no_value_and_ignores_whatever_was_typed() {
        assert_eq!(parse_nino_answer(&input("no", "<script>")), Ok(Answer::No));
        assert_eq!(parse_trn_answer(&input("no", "")), Ok(Answer::No));
    }

    #[test]
    fn yes_with_a_valid_value_is_cleaned() {
        let nino = parse_nino_answer(&input("yes", " ab-12 34 56c ")).unwrap();
        assert_eq!(nino.value().map(Nino::as_str), Some("AB123456C"));
        let trn = parse_trn_answer(&input("yes", "123 4567")).unwrap();
        assert_eq!(trn.value().map(Trn::as_str), Some("1234567"));
    }

    #[test]
    fn the_try_again_time_is_said_from_the_window() {
        assert_eq!(try_again_in(USER_WINDOW_SECONDS), "in 24 hours");
        assert_eq!(try_again_in(ADDRESS_WINDOW_SECONDS), "in an hour");
        assert_eq!(try_again_in(900), "in 15 minutes");
        assert_eq!(try_again_in(30), "in a minute");
        assert_eq!(try_again_in(5400), "in 90 minutes");
        assert_eq!(
            RateLimits::default().longest_window_seconds(),
            USER_WINDOW_SECONDS
        );
    }

    #[test]
    fn answers_padded_with_spaces_are_accepted_however_long_the_padding() {
        let padding = " ".repeat(MAX_IDENTIFIER_INPUT * 3);
        let nino =
            parse_nino_answer(&input("yes", &format!("{padding}AB 12 34 56 C{padding}"))).unwrap();
        assert_eq!(nino.value().map(Nino::as_str), Some("AB123456C"));
        let trn = parse_trn_answer(&input("yes", &format!("{padding}1234567{padding}"))).unwrap();
        assert_eq!(trn.value().map(Trn::as_str), Some("1234567"));
        // Dashes of every kind are removed too.
        let trn = parse_trn_answer(&input("yes", "123–4567")).unwrap();
        assert_eq!(trn.value().map(Trn::as_str), Some("1234567"));
    }

    #[test]
    fn no_choice_or_a_forged_choice_asks_to_select() {
        for choice in ["", "maybe", "YES", "<b>yes</b>", "yes' OR 1=1 --"] {
            let e = parse_nino_answer(&input(choice, "AB123456C")).unwrap_err();
            assert_eq!(e.field_id, "has_nino");
            assert_eq!(
                e.message,
                "Select yes if you know your National Insurance number"
            );
            let e = parse_trn_answer(&input(choice, "1234567")).unwrap_err();
            assert_eq!(e.field_id, "has_trn");
        }
    }

    #[test]
    fn yes_with_nothing_typed_asks_for_the_value() {
        for blank in ["", "   ", "\t"] {
            let e = parse_nino_answer(&input("yes", blank)).unwrap_err();
            assert_eq!(
                (e.field_id.as_str(), e.message.as_str()),
                ("nino", "Enter your National Insurance number")
            );
            let e = parse_trn_answer(&input("yes", blank)).unwrap_err();
            assert_eq!(
                (e.field_id.as_str(), e.message.as_str()),
                ("trn", "Enter your teacher reference number (TRN)")
            );
        }
    }

    #[test]
    fn malformed_too_long_and_hostile_values_are_the_wrong_format() {
        let long = "1".repeat(MAX_IDENTIFIER_INPUT + 1);
        for bad in [
            "QQ12345",
            "DA123456A",
            "GB123456A",
            "QQ123456E",
            "<script>alert(1)</script>",
            "'; DROP TABLE persons; --",
            "QQ\u{0}123456C",
            "ＱＱ１２３４５６Ｃ",
            long.as_str(),
        ] {
            let e = parse_nino_answer(&input("yes", bad)).unwrap_err();
            assert_eq!(e.field_id, "nino", "{bad:?}");
            assert!(e
                .message
                .starts_with("Enter a National Insurance number in the correct format"));
        }
        for bad in [
            "123456",
            "12345678",
            "0000000",
            "123456a",
            "1234567'--",
            "١٢٣٤٥٦٧",
            long.as_str(),
        ] {
            let e = parse_trn_answer(&input("yes", bad)).unwrap_err();
            assert_eq!(
                (e.field_id.as_str(), e.message.as_str()),
                ("trn", "Enter a TRN in the correct format, like 1234567"),
                "{bad:?}"
            );
        }
    }

    fn answering(nino: bool, trn: bool) -> Position {
        Position::Answering(ConnectAnswers {
            nino: nino.then_some(Answer::No),
            trn: trn.then_some(Answer::No),
            ..ConnectAnswers::default()
        })
    }

    fn itt_input(qts: &str, provider: &str, year: &str) -> IttInput {
        IttInput {
            qts: qts.into(),
            provider: provider.into(),
            year: year.into(),
        }
    }

    fn messages(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors
            .iter()
            .map(|e| (e.field_id.as_str(), e.message.as_str()))
            .collect()
    }

    #[test]
    fn the_third_question_is_asked_only_after_nino_and_trn_with_exactly_one_lookalike() {
        let mut answers = ConnectAnswers {
            third_question: true,
            ..ConnectAnswers::default()
        };
        assert!(!answers.needs_third_question(), "NINO not answered yet");
        answers.nino = Some(Answer::No);
        assert!(!answers.needs_third_question(), "TRN not answered yet");
        answers.trn = Some(Answer::No);
        assert!(answers.needs_third_question());
        assert_eq!(answers.resume_at(), "/connect/itt");
        let position = Position::Answering(answers.clone());
        assert_eq!(redirect_for(Step::Itt, &position), None);
        for step in [Step::NotFound, Step::CheckAnswers] {
            assert_eq!(redirect_for(step, &position), Some("/connect/itt"));
        }
        // Answered: on to "cannot find", and they may still change the answer.
        answers.itt = Some(Answer::No);
        assert!(!answers.needs_third_question());
        assert_eq!(answers.resume_at(), "/connect/check-answers");
        let position = Position::Answering(answers.clone());
        assert_eq!(redirect_for(Step::Itt, &position), None);
        assert_eq!(redirect_for(Step::NotFound, &position), None);
        // Without exactly one lookalike it is never asked, and its page sends them on.
        answers.third_question = false;
        answers.itt = None;
        assert!(!answers.needs_third_question());
        let position = Position::Answering(answers);
        assert_eq!(
            redirect_for(Step::Itt, &position),
            Some("/connect/check-answers")
        );
        assert_eq!(redirect_for(Step::NotFound, &position), None);
        assert_eq!(
            redirect_for(Step::Itt, &answering(true, false)),
            Some("/connect/trn")
        );
    }

    #[test]
    fn the_third_question_accepts_no_or_a_provider_and_year() {
        assert_eq!(
            parse_itt_answer(&itt_input("no", "<script>", "abc"), 2026),
            Ok(Answer::No)
        );
        let yes = parse_itt_answer(
            &itt_input("yes", "  University\u{200B} of\u{00A0}\tLeeds ", " 2015 "),
            2026,
        );
        assert_eq!(
            yes,
            Ok(Answer::Yes(IttIdentifier {
                provider: "University of Leeds".into(),
                qts_year: 2015
            }))
        );
        let edges = parse_itt_answer(
            &itt_input("yes", "St Mary’s (Twickenham) & Co-op, 2/3", "1900"),
            1900,
        );
        assert!(edges.is_ok(), "{edges:?}");
        assert!(parse_itt_answer(&itt_input("yes", "Université de Lyon", "2026"), 2026).is_ok());
    }

    #[test]
    fn the_third_question_without_a_choice_or_with_a_forged_one_asks_to_select() {
        for choice in ["", "maybe", "YES", "yes' OR 1=1 --"] {
            let errors = parse_itt_answer(&itt_input(choice, "Leeds", "2015"), 2026).unwrap_err();
            assert_eq!(
                messages(&errors),
                [(
                    "has_qts",
                    "Select yes if you have been awarded qualified teacher status (QTS)"
                )]
            );
        }
    }

    #[test]
    fn bad_providers_and_years_are_both_reported() {
        let errors = parse_itt_answer(&itt_input("yes", " \u{200B} ", ""), 2026).unwrap_err();
        assert_eq!(
            messages(&errors),
            [
                (
                    "itt_provider",
                    "Enter where you did your initial teacher training"
                ),
                ("qts_year", "Enter the year you were awarded QTS")
            ]
        );
        let long = "a".repeat(MAX_PROVIDER_CHARS + 1);
        for (provider, message) in [
            (
                long.as_str(),
                "Initial teacher training provider must be 200 characters or fewer",
            ),
            (
                "<script>alert(1)</script>",
                "Initial teacher training provider must only include letters, numbers, spaces and the characters ' - . , & ( ) / :",
            ),
            (
                "Leeds 🎓",
                "Initial teacher training provider must only include letters, numbers, spaces and the characters ' - . , & ( ) / :",
            ),
            (
                "Leeds\u{0}",
                "Initial teacher training provider must only include letters, numbers, spaces and the characters ' - . , & ( ) / :",
            ),
            (
                "12345",
                "Initial teacher training provider must include at least one letter",
            ),
        ] {
            let errors = parse_itt_answer(&itt_input("yes", provider, "2015"), 2026).unwrap_err();
            assert_eq!(messages(&errors), [("itt_provider", message)], "{provider:?}");
        }
        // Exactly the limit is fine.
        let limit = "a".repeat(MAX_PROVIDER_CHARS);
        assert!(parse_itt_answer(&itt_input("yes", &limit, "2015"), 2026).is_ok());
        for (year, message) in [
            (
                "twenty",
                "Year you were awarded QTS must be a number, like 2015",
            ),
            (
                "2015.0",
                "Year you were awarded QTS must be a number, like 2015",
            ),
            (
                "-2015",
                "Year you were awarded QTS must be a number, like 2015",
            ),
            (
                "２０１５",
                "Year you were awarded QTS must be a number, like 2015",
            ),
            ("15", "Year you were awarded QTS must include 4 numbers"),
            ("020150", "Year you were awarded QTS must include 4 numbers"),
            (
                "99999999999999999999",
                "Year you were awarded QTS must include 4 numbers",
            ),
            (
                "2027",
                "Year you were awarded QTS must be this year or in the past",
            ),
            ("1899", "Year you were awarded QTS must be 1900 or later"),
            ("0000", "Year you were awarded QTS must be 1900 or later"),
        ] {
            let errors = parse_itt_answer(&itt_input("yes", "Leeds", year), 2026).unwrap_err();
            assert_eq!(messages(&errors), [("qts_year", message)], "{year:?}");
        }
    }

    #[test]
    fn people_who_are_not_ready_for_the_journey_go_back_to_the_step_they_need() {
        for step in [Step::Nino, Step::Record, Step::CheckAnswers] {
            assert_eq!(redirect_for(step, &Position::SignedOut), Some("/sign-in"));
            assert_eq!(
                redirect_for(step, &Position::IdentityNotChecked),
                Some("/auth/identity")
            );
            assert_eq!(
                redirect_for(step, &Position::IdentityNotVerified),
                Some("/identity-not-verified")
            );
        }
    }

    #[test]
    fn a_connected_teacher_only_sees_their_record() {
        assert_eq!(redirect_for(Step::Record, &Position::Connected), None);
        assert_eq!(redirect_for(Step::Connected, &Position::Connected), None);
        for step in [
            Step::NeedMoreInformation,
            Step::Nino,
            Step::Trn,
            Step::CheckAnswers,
            Step::AwaitingSupport,
        ] {
            assert_eq!(redirect_for(step, &Position::Connected), Some("/record"));
        }
    }

    #[test]
    fn a_teacher_waiting_for_support_sees_the_waiting_page() {
        assert_eq!(
            redirect_for(Step::AwaitingSupport, &Position::AwaitingSupport),
            None
        );
        assert_eq!(
            redirect_for(Step::SupportRequested, &Position::AwaitingSupport),
            None
        );
        for step in [
            Step::Nino,
            Step::Trn,
            Step::CheckAnswers,
            Step::Record,
            Step::Connected,
        ] {
            assert_eq!(
                redirect_for(step, &Position::AwaitingSupport),
                Some("/request-pending")
            );
        }
    }

    #[test]
    fn deep_links_into_the_questions_go_to_the_first_unanswered_question() {
        assert_eq!(redirect_for(Step::Nino, &answering(false, false)), None);
        assert_eq!(
            redirect_for(Step::Trn, &answering(false, false)),
            Some("/connect")
        );
        assert_eq!(
            redirect_for(Step::CheckAnswers, &answering(false, false)),
            Some("/connect")
        );
        assert_eq!(redirect_for(Step::Trn, &answering(true, false)), None);
        assert_eq!(
            redirect_for(Step::NotFound, &answering(true, false)),
            Some("/connect/trn")
        );
        assert_eq!(
            redirect_for(Step::CheckAnswers, &answering(true, true)),
            None
        );
        // Going back to an earlier question is always allowed.
        assert_eq!(redirect_for(Step::Nino, &answering(true, true)), None);
        for step in [
            Step::Record,
            Step::Connected,
            Step::SupportRequested,
            Step::AwaitingSupport,
        ] {
            assert_eq!(
                redirect_for(step, &answering(true, true)),
                Some("/connect/check-answers")
            );
        }
    }

    #[test]
    fn the_too_many_attempts_page_is_only_for_people_who_were_stopped() {
        assert_eq!(
            redirect_for(Step::TooManyAttempts, &answering(false, false)),
            Some("/connect")
        );
        let stopped = Position::Answering(ConnectAnswers {
            try_again: Some("in an hour".into()),
            ..ConnectAnswers::default()
        });
        assert_eq!(redirect_for(Step::TooManyAttempts, &stopped), None);
    }

    #[test]
    fn references_are_trs_and_six_digits_each_once_then_grow() {
        let mut seen = vec![false; 1_000_000];
        for n in 0..1_000_000u64 {
            let reference = support_reference(n);
            let digits = reference.strip_prefix("TRS-").expect("TRS-");
            assert_eq!(digits.len(), 6, "{reference}");
            let value: usize = digits.parse().expect("digits");
            assert!(!seen[value], "{reference} given twice");
            seen[value] = true;
        }
        // Consecutive numbers do not give consecutive references.
        let first: Vec<String> = (0..3).map(support_reference).collect();
        assert!(first.windows(2).all(|w| {
            let a: i64 = w[0][4..].parse().unwrap();
            let b: i64 = w[1][4..].parse().unwrap();
            (a - b).abs() > 1
        }));
        assert_eq!(support_reference(1_000_000), "TRS-1000000");
        assert_eq!(support_reference(123_456_789), "TRS-123456789");
    }
}
