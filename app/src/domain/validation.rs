//! Validation of what people type: National Insurance numbers, TRNs, names, dates and free text.
//!
//! Each function returns the cleaned value or a [`FieldError`] whose message uses GOV.UK Design System wording, so
//! the same message appears in the error summary and beside the field.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The longest name we accept, in characters (DESIGN §4).
pub const MAX_NAME_CHARS: usize = 200;
/// The most characters of a NINO or TRN we look at once spaces and dashes are removed (DESIGN §4: "at most 100
/// characters typed").
pub const MAX_IDENTIFIER_CHARS: usize = 100;

/// Unicode's format characters (general category Cf): invisible characters that change how text around them is
/// shown (zero-width space and joiners, bidirectional marks, embeddings, overrides and isolates, the byte order
/// mark, soft hyphen, invisible operators, tag characters). DESIGN §4 removes them from names and free text: they
/// carry nothing a person meant to type, and can make a name look like another one.
pub fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}' | '\u{0890}'..='\u{0891}'
        | '\u{08E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}')
}

/// `input` without format characters (see [`is_format_char`]).
pub fn strip_format_chars(input: &str) -> String {
    input.chars().filter(|c| !is_format_char(*c)).collect()
}

/// Whether `c` is one of the hyphens or dashes people type inside identifiers: `-`, `‐`, `‑`, `‒`, `–`, `—`, `―`
/// and the minus sign `−` (word processors and phones turn one into another).
pub fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
    )
}

/// An identifier (NINO or TRN) as typed, with every Unicode space, tab, no-break space, hyphen and dash removed,
/// and format characters too (DESIGN §4: they are removed before anything is checked, so padding never matters).
pub fn clean_identifier(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && !is_dash(*c) && !is_format_char(*c))
        .collect()
}

/// At most `max_chars` characters of `s`: what a form shows back when the input was too long to keep whole
/// (DESIGN §4 "what was typed (truncated) kept"), and the most of any field that is ever stored.
pub fn truncate_chars(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => s[..end].to_string(),
        None => s.to_string(),
    }
}

/// How much of a field with a limit of `max_chars` a form shows back: twice the limit, so someone a little over
/// sees all they typed and can shorten it, while a pasted megabyte is cut short before it reaches the session.
pub fn echo_limit(max_chars: usize) -> usize {
    max_chars.saturating_mul(2)
}

/// A problem with one form field: the id the error summary links to and the message shown in both places.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field_id: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field_id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field_id: field_id.into(),
            message: message.into(),
        }
    }
}

/// A National Insurance number in its canonical form: upper case, no spaces, `AB123456C`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Nino(String);

impl Nino {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Any National Insurance number as written (a record's may hold spaces, hyphens or lower case) in the form
    /// this type holds, so that it compares equal to a typed one: upper case, no spaces or hyphens. `None` when
    /// blank. Not validated: a record's NINO is compared as it is. The matcher, the console's record comparison
    /// and storage all compare through this.
    pub fn key(raw: &str) -> Option<String> {
        let key: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (!key.is_empty()).then_some(key)
    }
}

/// Why a National Insurance number was refused. The wording is chosen at the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NinoError {
    Empty,
    Format,
}

const NINO_BAD_FIRST: &[u8] = b"DFIQUV";
const NINO_BAD_SECOND: &[u8] = b"DFIOQUV";
const NINO_BAD_PREFIXES: &[&str] = &["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"];

/// Parses a National Insurance number by the rules in DESIGN §4: spaces, hyphens and dashes removed (see
/// [`clean_identifier`]), upper-cased, two letters + six digits + a suffix A–D, with HMRC's disallowed letters and
/// prefixes refused.
pub fn parse_nino(input: &str) -> Result<Nino, NinoError> {
    let cleaned: String = clean_identifier(input)
        .chars()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if cleaned.is_empty() {
        return Err(NinoError::Empty);
    }
    let b = cleaned.as_bytes();
    let shape = b.len() == 9
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2..8].iter().all(u8::is_ascii_digit)
        && (b'A'..=b'D').contains(&b[8]);
    if !shape
        || NINO_BAD_FIRST.contains(&b[0])
        || NINO_BAD_SECOND.contains(&b[1])
        || NINO_BAD_PREFIXES.contains(&&cleaned[..2])
    {
        return Err(NinoError::Format);
    }
    Ok(Nino(cleaned))
}

/// A teacher reference number: exactly seven digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Trn(String);

impl Trn {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrnError {
    Empty,
    Format,
}

/// Parses a TRN: exactly 7 digits once spaces, hyphens and dashes are removed, and not all zeros (DESIGN §4).
pub fn parse_trn(input: &str) -> Result<Trn, TrnError> {
    let cleaned = clean_identifier(input);
    if cleaned.is_empty() {
        return Err(TrnError::Empty);
    }
    if cleaned.len() != 7 || !cleaned.bytes().all(|b| b.is_ascii_digit()) || cleaned == "0000000" {
        return Err(TrnError::Format);
    }
    Ok(Trn(cleaned))
}

/// Whether `email` (already trimmed) looks like an email address: the service's one check, used for staff and
/// for the TRN-token API. Deliberately loose (a local part, `@`, a domain with a dot, no spaces, at most 254
/// characters): only sending to it proves an address.
pub fn is_email_address(email: &str) -> bool {
    email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

/// Checks free text typed by a person (DESIGN §4 "Free text"): format characters and control characters other
/// than line breaks and tabs are removed (they are invisible or unprintable, so nothing the person meant is lost,
/// and NUL is never stored); then it is trimmed, required when `required`, at most `max_chars` characters, and,
/// when required, with at least one letter or digit (text made only of emoji or punctuation says nothing).
/// `label` is the lower-case field name used in messages.
pub fn validate_text(
    field_id: &str,
    label: &str,
    input: &str,
    required: bool,
    max_chars: usize,
) -> Result<String, FieldError> {
    let text = clean_text(field_id, label, input, required, max_chars)?;
    if required && !text.chars().any(char::is_alphanumeric) {
        return Err(FieldError::new(
            field_id,
            format!(
                "{} must include at least one letter or number",
                capitalise(label)
            ),
        ));
    }
    Ok(text)
}

/// What names and free text share: format and control characters removed, trimmed, required, length.
fn clean_text(
    field_id: &str,
    label: &str,
    input: &str,
    required: bool,
    max_chars: usize,
) -> Result<String, FieldError> {
    let stripped: String = input
        .chars()
        .filter(|&c| !is_format_char(c) && (!c.is_control() || matches!(c, '\n' | '\r' | '\t')))
        .collect();
    let trimmed = stripped.trim();
    if trimmed.is_empty() {
        return if required {
            Err(FieldError::new(field_id, format!("Enter {label}")))
        } else {
            Ok(String::new())
        };
    }
    if trimmed.chars().count() > max_chars {
        return Err(FieldError::new(
            field_id,
            format!(
                "{} must be {max_chars} characters or fewer",
                capitalise(label)
            ),
        ));
    }
    Ok(trimmed.to_string())
}

/// Whether `c` may be in a name besides letters (DESIGN §4 "Names"): spaces, hyphens, apostrophes (' and ’) and
/// full stops.
fn is_name_punctuation(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '\u{2010}' | '\u{2011}' | '\'' | '\u{2019}' | '.'
    )
}

/// A name (DESIGN §4 "Names"): letters of any script (with the accents and marks that combine with them), with
/// spaces, hyphens, apostrophes (' and ’) and full stops between them, and at least one letter. Format characters
/// (zero-width spaces and joiners, bidirectional overrides, the byte order mark) and control characters are
/// removed, not stored, but a line break or tab counts as a space; digits, symbols and emoji are refused.
/// Required, trimmed, at most [`MAX_NAME_CHARS`] characters.
pub fn validate_name(field_id: &str, label: &str, input: &str) -> Result<String, FieldError> {
    let name = clean_text(field_id, label, input, true, MAX_NAME_CHARS)?;
    let error = |what: &str| {
        Err(FieldError::new(
            field_id,
            format!("{} {what}", capitalise(label)),
        ))
    };
    // Any space a person could type (a no-break space, a line break pasted in, say) counts as a space.
    let name: String = name
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let allowed = |c: char| {
        c.is_alphabetic()
            || unicode_normalization::char::is_combining_mark(c)
            || is_name_punctuation(c)
    };
    if !name.chars().all(allowed) {
        return error("must only include letters, spaces, hyphens, apostrophes and full stops");
    }
    if !name.chars().any(char::is_alphabetic) {
        return error("must include at least one letter");
    }
    Ok(name)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateError {
    Empty,
    /// Some of day, month, year are missing; the names of the missing parts.
    Incomplete(&'static [&'static str]),
    NotReal,
    InFuture,
    /// Less than [`MIN_AGE_YEARS`] ago: the latest date of birth allowed.
    TooRecent(NaiveDate),
    /// More than [`MAX_AGE_YEARS`] ago: the earliest date of birth allowed.
    TooLongAgo(NaiveDate),
}

/// A date of birth is at least this many years ago (DESIGN §4 "Dates": nobody younger holds a teaching record)…
pub const MIN_AGE_YEARS: u32 = 16;
/// …and at most this many.
pub const MAX_AGE_YEARS: u32 = 120;

/// The month a person typed: a number from 1 to 12, or a month's name in full or its first three letters, in any
/// case ("4", "04", "April", "apr"; GOV.UK's date input pattern accepts these). "Sept" is accepted too.
fn parse_month(typed: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if typed.len() <= 2 && typed.bytes().all(|b| b.is_ascii_digit()) {
        return typed.parse().ok().filter(|m| (1..=12).contains(m));
    }
    let typed = typed.trim_end_matches('.').to_lowercase();
    let position = NAMES.iter().position(|name| {
        *name == typed
            || (typed.len() == 3 && name.starts_with(&typed))
            || (typed == "sept" && *name == "september")
    })?;
    Some(position as u32 + 1)
}

/// The date `years` years before `day` (29 February falls back to 28 February in a year without one).
fn years_before(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_sub_months(chrono::Months::new(12 * years))
        .unwrap_or(NaiveDate::MIN)
}

/// Parses the three boxes of a GOV.UK date-of-birth input into a real date in the past, at least
/// [`MIN_AGE_YEARS`] and at most [`MAX_AGE_YEARS`] years before `today` (UK time).
pub fn parse_past_date(
    day: &str,
    month: &str,
    year: &str,
    today: NaiveDate,
) -> Result<NaiveDate, DateError> {
    let (d, m, y) = (day.trim(), month.trim(), year.trim());
    match (d.is_empty(), m.is_empty(), y.is_empty()) {
        (true, true, true) => return Err(DateError::Empty),
        (true, false, false) => return Err(DateError::Incomplete(&["day"])),
        (false, true, false) => return Err(DateError::Incomplete(&["month"])),
        (false, false, true) => return Err(DateError::Incomplete(&["year"])),
        (true, true, false) => return Err(DateError::Incomplete(&["day", "month"])),
        (true, false, true) => return Err(DateError::Incomplete(&["day", "year"])),
        (false, true, true) => return Err(DateError::Incomplete(&["month", "year"])),
        (false, false, false) => {}
    }
    let parse = |s: &str, max_len: usize| -> Option<u32> {
        (s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (Some(d), Some(m), Some(y)) = (parse(d, 2), parse_month(m), parse(y, 4)) else {
        return Err(DateError::NotReal);
    };
    if y < 1000 {
        return Err(DateError::NotReal);
    }
    let date = NaiveDate::from_ymd_opt(y as i32, m, d).ok_or(DateError::NotReal)?;
    if date >= today {
        return Err(DateError::InFuture);
    }
    let latest = years_before(today, MIN_AGE_YEARS);
    if date > latest {
        return Err(DateError::TooRecent(latest));
    }
    let earliest = years_before(today, MAX_AGE_YEARS);
    if date < earliest {
        return Err(DateError::TooLongAgo(earliest));
    }
    Ok(date)
}

/// The GOV.UK wording for a date-of-birth error.
pub fn date_of_birth_message(error: DateError) -> String {
    match error {
        DateError::Empty => "Enter your date of birth".into(),
        DateError::Incomplete(parts) => {
            format!("Date of birth must include a {}", parts.join(" and "))
        }
        DateError::NotReal => "Date of birth must be a real date".into(),
        DateError::InFuture => "Date of birth must be in the past".into(),
        DateError::TooRecent(latest) => format!(
            "Date of birth must be the same as or before {}",
            crate::domain::uk_time::long_date(latest)
        ),
        DateError::TooLongAgo(earliest) => format!(
            "Date of birth must be the same as or after {}",
            crate::domain::uk_time::long_date(earliest)
        ),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nino_is_cleaned_and_upper_cased() {
        assert_eq!(parse_nino(" ab 12-34-56 c ").unwrap().as_str(), "AB123456C");
    }

    #[test]
    fn a_nino_written_with_spaces_or_lower_case_has_the_typed_ninos_key() {
        let typed = parse_nino("AB123456C").unwrap();
        for written in ["AB123456C", "ab 12 34 56 c", " AB-12-34-56-C "] {
            assert_eq!(
                Nino::key(written).as_deref(),
                Some(typed.as_str()),
                "{written}"
            );
        }
        assert_eq!(Nino::key(" - "), None);
        assert_eq!(Nino::key(""), None);
    }

    #[test]
    fn nino_refuses_disallowed_letters_prefixes_and_suffixes() {
        for bad in [
            "DA123456A",
            "FA123456A",
            "IA123456A",
            "QA123456A",
            "UA123456A",
            "VA123456A",
        ] {
            assert_eq!(parse_nino(bad), Err(NinoError::Format), "{bad}");
        }
        for bad in [
            "AD123456A",
            "AF123456A",
            "AI123456A",
            "AO123456A",
            "AQ123456A",
            "AU123456A",
            "AV123456A",
        ] {
            assert_eq!(parse_nino(bad), Err(NinoError::Format), "{bad}");
        }
        for bad in [
            "BG123456A",
            "GB123456A",
            "KN123456A",
            "NK123456A",
            "NT123456A",
            "TN123456A",
            "ZZ123456A",
        ] {
            assert_eq!(parse_nino(bad), Err(NinoError::Format), "{bad}");
        }
        assert_eq!(parse_nino("AB123456E"), Err(NinoError::Format));
        assert_eq!(parse_nino("AB12345C"), Err(NinoError::Format));
        assert_eq!(parse_nino("AB1234567C"), Err(NinoError::Format));
        assert!(parse_nino("AB123456D").is_ok());
    }

    #[test]
    fn nino_empty_malformed_and_hostile_input_is_refused_without_panicking() {
        assert_eq!(parse_nino("   "), Err(NinoError::Empty));
        for hostile in [
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "ÅB123456C",
            "AB12345６C",
            "\u{0}AB123456C",
            &"A".repeat(10_000),
        ] {
            assert_eq!(parse_nino(hostile), Err(NinoError::Format), "{hostile:?}");
        }
    }

    #[test]
    fn trn_is_seven_digits_not_all_zero() {
        assert_eq!(parse_trn(" 123 4567 ").unwrap().as_str(), "1234567");
        assert_eq!(parse_trn(""), Err(TrnError::Empty));
        assert_eq!(parse_trn("0000000"), Err(TrnError::Format));
        assert_eq!(parse_trn("123456"), Err(TrnError::Format));
        assert_eq!(parse_trn("12345678"), Err(TrnError::Format));
        assert_eq!(parse_trn("12345a7"), Err(TrnError::Format));
        assert_eq!(parse_trn("１２３４５６７"), Err(TrnError::Format));
        assert_eq!(
            parse_trn("1234567; DROP TABLE persons"),
            Err(TrnError::Format)
        );
    }

    #[test]
    fn text_is_trimmed_and_limited_by_characters_not_bytes() {
        assert_eq!(
            validate_text("f", "your name", "  Siân  ", true, 200).unwrap(),
            "Siân"
        );
        assert!(validate_text("f", "your name", &"é".repeat(200), true, 200).is_ok());
        let too_long = validate_text("f", "your name", &"é".repeat(201), true, 200).unwrap_err();
        assert_eq!(
            too_long.message,
            "Your name must be 200 characters or fewer"
        );
        assert_eq!(
            validate_text("f", "your name", " \t ", true, 200)
                .unwrap_err()
                .message,
            "Enter your name"
        );
        assert_eq!(validate_text("f", "your name", "", false, 200).unwrap(), "");
    }

    #[test]
    fn text_removes_control_characters_but_keeps_markup_as_plain_text() {
        assert_eq!(
            validate_text("f", "details", "a\u{0}b", true, 200).unwrap(),
            "ab"
        );
        assert_eq!(
            validate_text("f", "details", "a\u{1b}[31mb\u{7f}\u{85}", true, 200).unwrap(),
            "a[31mb"
        );
        assert_eq!(
            validate_text("f", "details", "<b>hi</b>", true, 200).unwrap(),
            "<b>hi</b>"
        );
        assert_eq!(
            validate_text("f", "details", "line one\r\n\tline two", true, 200).unwrap(),
            "line one\r\n\tline two"
        );
        assert_eq!(
            validate_text("f", "details", "\u{0}\u{7}", true, 200)
                .unwrap_err()
                .message,
            "Enter details"
        );
        assert_eq!(
            validate_name("f", "first name", "Mary\nJane\u{0}\u{1b}").unwrap(),
            "Mary Jane"
        );
    }

    proptest::proptest! {
        /// Whatever is typed, what is kept holds no control character but line breaks and tabs, and no NUL.
        #[test]
        fn kept_text_never_holds_a_control_character(typed in "\\PC*[\\x00-\\x1f\\x7f-\\x{9f}]\\PC*") {
            if let Ok(kept) = validate_text("f", "details", &typed, false, 10_000) {
                proptest::prop_assert!(kept.chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')));
            }
            if let Ok(kept) = validate_name("f", "name", &typed) {
                proptest::prop_assert!(!kept.chars().any(char::is_control));
            }
        }
    }

    #[test]
    fn months_may_be_typed_as_names_or_their_first_three_letters() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let april = Ok(NaiveDate::from_ymd_opt(1985, 4, 19).unwrap());
        for month in ["4", "04", "April", "april", "APR", "Apr.", " apr "] {
            assert_eq!(
                parse_past_date("19", month, "1985", today),
                april,
                "{month}"
            );
        }
        assert_eq!(
            parse_past_date("19", "Sept", "1985", today),
            Ok(NaiveDate::from_ymd_opt(1985, 9, 19).unwrap())
        );
        for month in ["13", "0", "Ap", "Aprilx", "Avril", "4.5", "٤"] {
            assert_eq!(
                parse_past_date("19", month, "1985", today),
                Err(DateError::NotReal),
                "{month}"
            );
        }
    }

    #[test]
    fn a_date_of_birth_is_sixteen_to_a_hundred_and_twenty_years_ago() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let sixteen = NaiveDate::from_ymd_opt(2010, 11, 30).unwrap();
        let oldest = NaiveDate::from_ymd_opt(1906, 11, 30).unwrap();
        assert_eq!(parse_past_date("30", "11", "2010", today), Ok(sixteen));
        assert_eq!(
            parse_past_date("1", "12", "2010", today),
            Err(DateError::TooRecent(sixteen))
        );
        assert_eq!(parse_past_date("30", "11", "1906", today), Ok(oldest));
        assert_eq!(
            parse_past_date("29", "11", "1906", today),
            Err(DateError::TooLongAgo(oldest))
        );
        assert_eq!(
            date_of_birth_message(DateError::TooRecent(sixteen)),
            "Date of birth must be the same as or before 30 November 2010"
        );
        // Born on 29 February: sixteen years later there may be no 29 February.
        let leap_today = NaiveDate::from_ymd_opt(2028, 2, 28).unwrap();
        assert_eq!(
            parse_past_date("29", "2", "2012", leap_today),
            Err(DateError::TooRecent(
                NaiveDate::from_ymd_opt(2012, 2, 28).unwrap()
            ))
        );
    }

    #[test]
    fn identifiers_padded_with_spaces_and_dashes_of_any_kind_are_cleaned_first() {
        let padded = format!("{}AB 12 34 56 C{}", " ".repeat(200), "\u{a0}".repeat(200));
        assert_eq!(parse_nino(&padded).unwrap().as_str(), "AB123456C");
        assert_eq!(parse_nino("AB‐12–34—56−C").unwrap().as_str(), "AB123456C");
        assert_eq!(
            parse_nino("\u{feff}AB123456C\u{200b}").unwrap().as_str(),
            "AB123456C"
        );
        assert_eq!(
            parse_trn(&format!("\t{}123-4567 ", " ".repeat(500)))
                .unwrap()
                .as_str(),
            "1234567"
        );
        assert_eq!(parse_trn("123–4567").unwrap().as_str(), "1234567");
        assert_eq!(clean_identifier(" a\u{3000}b\u{2009}-c "), "abc");
    }

    #[test]
    fn format_characters_are_removed_from_names_and_free_text() {
        // Zero-width space, right-to-left override, byte order mark, zero-width joiner, left-to-right isolate.
        assert_eq!(
            validate_name(
                "f",
                "your full name",
                "\u{feff}Ann\u{200b} Le\u{202e}e\u{200d}\u{2066}"
            )
            .unwrap(),
            "Ann Lee"
        );
        assert_eq!(
            validate_text("f", "details", "fine\u{200b} thanks\u{feff}", true, 200).unwrap(),
            "fine thanks"
        );
        // They do not count towards the limit either.
        assert!(validate_text(
            "f",
            "details",
            &format!("{}\u{200b}", "a".repeat(200)),
            true,
            200
        )
        .is_ok());
    }

    #[test]
    fn names_and_free_text_made_only_of_invisible_characters_or_emoji_are_refused() {
        for invisible in [
            "\u{200b}",
            "\u{202e}\u{200b}\u{feff}",
            "\u{2066}\u{2069}",
            " \u{200d} ",
        ] {
            assert_eq!(
                validate_name("f", "your full name", invisible)
                    .unwrap_err()
                    .message,
                "Enter your full name",
                "{invisible:?}"
            );
            assert_eq!(
                validate_text("f", "details", invisible, true, 200)
                    .unwrap_err()
                    .message,
                "Enter details"
            );
        }
        assert_eq!(
            validate_name("f", "your full name", "😀😀")
                .unwrap_err()
                .message,
            "Your full name must only include letters, spaces, hyphens, apostrophes and full stops"
        );
        assert_eq!(
            validate_name("f", "your full name", "- . ’")
                .unwrap_err()
                .message,
            "Your full name must include at least one letter"
        );
        assert_eq!(
            validate_text("f", "details", "😀 👍 !!", true, 200)
                .unwrap_err()
                .message,
            "Details must include at least one letter or number"
        );
        assert!(validate_text("f", "details", "5 stars 👍", true, 200).is_ok());
        assert_eq!(
            validate_text("f", "details", "👍", false, 200).unwrap(),
            "👍"
        );
    }

    #[test]
    fn names_are_letters_of_any_script_with_spaces_hyphens_apostrophes_and_full_stops() {
        for good in [
            "Siân O’Brien-Llewelyn",
            "Zoë d'Arcy",
            "J. R. Smith",
            "Łucja Wójcik",
            "Νίκος Παπαδόπουλος",
            "Иван Петров",
            "محمد علي",
            "李小龙",
            "Nguyễn Văn An",
            // An accent typed as a combining mark.
            "Jose\u{301} Garci\u{301}a",
        ] {
            assert!(validate_name("f", "your full name", good).is_ok(), "{good}");
        }
        assert_eq!(
            validate_name("f", "your full name", "Ann\u{a0}Lee").unwrap(),
            "Ann Lee"
        );
        for bad in [
            "Ann 2",
            "Ann_Lee",
            "Ann@Lee",
            "<b>Ann</b>",
            "Ann 😀",
            "Ann; Lee",
        ] {
            assert_eq!(
                validate_name("f", "your full name", bad).unwrap_err().message,
                "Your full name must only include letters, spaces, hyphens, apostrophes and full stops",
                "{bad}"
            );
        }
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("Siân", 3), "Siâ");
        assert_eq!(truncate_chars("ab", 5), "ab");
        assert_eq!(truncate_chars(&"é".repeat(10), 4), "éééé");
        assert_eq!(echo_limit(200), 400);
    }

    #[test]
    fn dates_must_be_real_past_and_after_1900() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(
            parse_past_date("19", "4", "1955", today),
            Ok(NaiveDate::from_ymd_opt(1955, 4, 19).unwrap())
        );
        assert_eq!(parse_past_date("", "", "", today), Err(DateError::Empty));
        assert_eq!(
            parse_past_date("", "4", "1955", today),
            Err(DateError::Incomplete(&["day"]))
        );
        assert_eq!(
            parse_past_date("31", "2", "1990", today),
            Err(DateError::NotReal)
        );
        assert_eq!(
            parse_past_date("29", "2", "1991", today),
            Err(DateError::NotReal)
        );
        assert!(parse_past_date("29", "2", "1992", today).is_ok());
        assert_eq!(
            parse_past_date("1", "1", "2030", today),
            Err(DateError::InFuture)
        );
        assert_eq!(
            parse_past_date("23", "11", "2026", today),
            Err(DateError::InFuture)
        );
        assert!(matches!(
            parse_past_date("31", "12", "1899", today),
            Err(DateError::TooLongAgo(_))
        ));
        assert_eq!(
            parse_past_date("1", "1", "99", today),
            Err(DateError::NotReal)
        );
        assert_eq!(
            parse_past_date("1", "1", "-1990", today),
            Err(DateError::NotReal)
        );
        assert_eq!(
            parse_past_date("<b>", "1", "1990", today),
            Err(DateError::NotReal)
        );
        assert_eq!(
            parse_past_date("99999999999999999999", "1", "1990", today),
            Err(DateError::NotReal)
        );
        assert_eq!(
            date_of_birth_message(DateError::Incomplete(&["day", "month"])),
            "Date of birth must include a day and month"
        );
    }
}
