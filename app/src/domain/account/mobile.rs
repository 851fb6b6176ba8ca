//! An account's mobile number (DESIGN §7.3): UK or international, kept in E.164 (`+447400123456`), the form
//! Notify sends SMS to and the form two spellings of one number share, so a number belongs to at most one account.
//!
//! Parsing and validation are Google's libphonenumber rules through the `phonenumber` crate (its metadata is
//! updated with libphonenumber's releases), not hand-written patterns: a number without a country code is read as
//! a UK number; `+44 …`, `0044 …` (the UK's international prefix) and `+1 …`, `+33 …` and so on are read with their
//! country code, and a UK number written with its trunk zero after the code (`+44 (0)7400 …`) too.
//!
//! Before parsing, what a person types around the digits is allowed and dropped: spaces of every kind, dashes,
//! dots, slashes and brackets, and invisible format characters. Anything else (letters, an extension, a second
//! `+`) is refused: libphonenumber would read `1-800-FLOWERS` as digits, but nobody's mobile is typed that way.
//!
//! A number must be valid for its country (the right length and a range that is allocated), and a mobile: a UK
//! (+44) number must be a mobile (`07…`); elsewhere a mobile, or a number whose country does not tell mobile and
//! fixed lines apart (the US and Canada). Landlines, freephone, premium-rate and pager numbers cannot receive the
//! passcode, so they are refused with their own message. Ofcom's drama numbers (`07700 900xxx`) are not allocated
//! and so are refused too.

use crate::domain::validation::{is_dash, is_format_char, FieldError};
use phonenumber::{country, metadata::DATABASE, Mode, Type};
use serde::{Deserialize, Serialize};

/// The most characters looked at: longer input is not a phone number however it is spaced.
const MAX_INPUT_CHARS: usize = 100;

/// A mobile number in E.164 form, built only by [`Mobile::parse`]. Serialised as the E.164 text and checked again
/// when read.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mobile(String);

/// Why a mobile number was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MobileProblem {
    Missing,
    /// Not a phone number at all, or not one that exists.
    Invalid,
    /// A phone number, but not one that can receive a text message (a landline, freephone, …).
    NotMobile,
}

impl MobileProblem {
    /// The GOV.UK Design System's wording for the mobile field `field_id`.
    pub fn field_error(self, field_id: &str) -> FieldError {
        FieldError::new(
            field_id,
            match self {
                Self::Missing => "Enter your mobile number",
                Self::Invalid => {
                    "Enter a mobile number in the correct format, like 07700 900 982 or, \
                     for international numbers, +33 6 12 34 56 78"
                }
                Self::NotMobile => {
                    "Enter a mobile number that can receive text messages, not a landline"
                }
            },
        )
    }
}

impl Mobile {
    /// Reads what someone typed (see the module header).
    pub fn parse(input: &str) -> Result<Self, MobileProblem> {
        let mut digits = String::new();
        let mut plus = false;
        let mut seen = 0;
        for c in input.chars() {
            seen += 1;
            if seen > MAX_INPUT_CHARS {
                return Err(MobileProblem::Invalid);
            }
            match c {
                '0'..='9' => digits.push(c),
                // Only first: `44+7911…` and `++44` are typos we do not guess at.
                '+' if digits.is_empty() && !plus => plus = true,
                '(' | ')' | '.' | '/' => {}
                c if c.is_whitespace() || is_dash(c) || is_format_char(c) => {}
                _ => return Err(MobileProblem::Invalid),
            }
        }
        if digits.is_empty() {
            return Err(if plus {
                MobileProblem::Invalid
            } else {
                MobileProblem::Missing
            });
        }
        let written = if plus { format!("+{digits}") } else { digits };
        let number = parse_uk_default(&written).ok_or(MobileProblem::Invalid)?;
        if !phonenumber::is_valid(&number) {
            return Err(MobileProblem::Invalid);
        }
        let mobile = match number.number_type(&DATABASE) {
            Type::Mobile => true,
            Type::FixedLineOrMobile => number.code().value() != 44,
            _ => false,
        };
        if !mobile {
            return Err(MobileProblem::NotMobile);
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// A number as stored, trusted to be one [`Mobile::parse`] made: only its E.164 shape is checked (`+` and 8
    /// to 15 digits), so that a later change in libphonenumber's metadata cannot make a stored account unreadable.
    pub fn from_stored(e164: String) -> Option<Self> {
        let digits = e164.strip_prefix('+')?;
        ((8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some(Self(e164))
    }

    /// The number in E.164: `+447400123456`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is a UK (+44) number.
    pub fn is_uk(&self) -> bool {
        self.0.starts_with("+44")
    }
}

/// libphonenumber's parse with the UK as the country of a number written without its country code. A UK number
/// written `+44 (0)7…` keeps the trunk zero in its national number, which libphonenumber then finds invalid; it is
/// read again without the zero.
fn parse_uk_default(written: &str) -> Option<phonenumber::PhoneNumber> {
    let number = phonenumber::parse(Some(country::Id::GB), written).ok();
    if number.as_ref().is_some_and(phonenumber::is_valid) {
        return number;
    }
    ["+440", "00440"]
        .iter()
        .find_map(|prefix| written.strip_prefix(prefix))
        .and_then(|rest| phonenumber::parse(Some(country::Id::GB), format!("+44{rest}")).ok())
        .or(number)
}

impl TryFrom<String> for Mobile {
    type Error = String;
    fn try_from(e164: String) -> Result<Self, String> {
        let mobile = Self::parse(&e164).map_err(|p| format!("not a mobile number: {p:?}"))?;
        if mobile.0 == e164 {
            Ok(mobile)
        } else {
            Err("a mobile number not in E.164".into())
        }
    }
}

impl From<Mobile> for String {
    fn from(mobile: Mobile) -> String {
        mobile.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e164(input: &str) -> Result<String, MobileProblem> {
        Mobile::parse(input).map(|m| m.as_str().to_string())
    }

    #[test]
    fn a_uk_mobile_in_every_shape_people_type_it_is_one_number() {
        for input in [
            "07400123456",
            "07400 123456",
            "07400 123 456",
            "0740 012 3456",
            "07400-123-456",
            "07400–123–456",
            "(07400) 123456",
            "07400.123.456",
            "+447400123456",
            "+44 7400 123456",
            "+44 (0)7400 123456",
            "+44(0)7400123456",
            "+44 07400 123456",
            "0044 7400 123456",
            "0044 (0)7400 123456",
            "  07400 123456  ",
            "\u{00A0}07400\u{2009}123456\u{200B}",
            "+44\t7400\t123456",
        ] {
            assert_eq!(e164(input), Ok("+447400123456".into()), "{input:?}");
        }
    }

    #[test]
    fn international_mobiles_keep_their_country_code() {
        assert_eq!(e164("+33 6 12 34 56 78"), Ok("+33612345678".into()));
        assert_eq!(e164("0033 6 12 34 56 78"), Ok("+33612345678".into()));
        assert_eq!(e164("+353 85 123 4567"), Ok("+353851234567".into()));
        assert_eq!(e164("+91 98765 43210"), Ok("+919876543210".into()));
        assert_eq!(e164("+61 412 345 678"), Ok("+61412345678".into()));
    }

    #[test]
    fn north_american_numbers_cannot_be_told_from_landlines_so_are_accepted() {
        assert_eq!(e164("+1 (201) 555-0123"), Ok("+12015550123".into()));
        assert_eq!(e164("+1 415-555-2671"), Ok("+14155552671".into()));
    }

    #[test]
    fn uk_landlines_and_service_numbers_are_not_mobiles() {
        for input in [
            "020 7946 0018",
            "+44 20 7946 0018",
            "0161 496 0000",
            "0800 123 4567",
            "09098 790000",
        ] {
            assert_eq!(e164(input), Err(MobileProblem::NotMobile), "{input}");
        }
        // A French landline.
        assert_eq!(e164("+33 1 42 68 53 00"), Err(MobileProblem::NotMobile));
    }

    #[test]
    fn numbers_that_do_not_exist_are_invalid() {
        for input in [
            "07400 12345",
            "07400 1234567",
            "0740",
            "07700 900982",
            "+44 7400",
            "+999 123 456 789",
            "0",
            "123",
            "+",
            "+ 44",
        ] {
            assert_eq!(e164(input), Err(MobileProblem::Invalid), "{input}");
        }
    }

    #[test]
    fn letters_extensions_and_stray_symbols_are_refused() {
        for input in [
            "07400 12345a",
            "1-800-FLOWERS",
            "07400 123456 ext 12",
            "07400 123456 x12",
            "07400#123456",
            "++447400123456",
            "44+7911123456",
            "07400 123456;",
            "<script>07400123456",
            "０７９１１１２３４５６",
        ] {
            assert_eq!(e164(input), Err(MobileProblem::Invalid), "{input}");
        }
    }

    #[test]
    fn nothing_typed_is_missing() {
        for input in ["", "   ", "()", "- -"] {
            assert_eq!(e164(input), Err(MobileProblem::Missing), "{input:?}");
        }
    }

    #[test]
    fn very_long_input_is_refused_without_parsing() {
        let long = format!("07400123456{}", " ".repeat(200));
        assert_eq!(e164(&long), Err(MobileProblem::Invalid));
        assert_eq!(e164(&"7".repeat(5000)), Err(MobileProblem::Invalid));
    }

    #[test]
    fn stored_numbers_are_read_back_by_their_shape_alone() {
        assert_eq!(
            Mobile::from_stored("+447400123456".into()),
            Some(Mobile::parse("07400 123456").unwrap())
        );
        for bad in [
            "447911123456",
            "+44 7400 123456",
            "+4479",
            "+4474001234567890",
            "+44740012345x",
        ] {
            assert_eq!(Mobile::from_stored(bad.into()), None, "{bad}");
        }
    }

    #[test]
    fn uk_numbers_are_told_apart() {
        assert!(Mobile::parse("07400 123456").unwrap().is_uk());
        assert!(!Mobile::parse("+33 6 12 34 56 78").unwrap().is_uk());
    }

    #[test]
    fn problems_have_gov_uk_wording_on_the_field() {
        let e = MobileProblem::Missing.field_error("mobile");
        assert_eq!(
            (e.field_id.as_str(), e.message.as_str()),
            ("mobile", "Enter your mobile number")
        );
        assert!(MobileProblem::Invalid
            .field_error("mobile")
            .message
            .starts_with("Enter a mobile number in the correct format"));
    }

    #[test]
    fn serialised_as_e164_and_only_e164_is_read_back() {
        let mobile = Mobile::parse("07400 123456").unwrap();
        assert_eq!(serde_json::to_string(&mobile).unwrap(), "\"+447400123456\"");
        assert_eq!(
            serde_json::from_str::<Mobile>("\"+447400123456\"").unwrap(),
            mobile
        );
        assert!(serde_json::from_str::<Mobile>("\"07400 123456\"").is_err());
        assert!(serde_json::from_str::<Mobile>("\"+442079460018\"").is_err());
    }

    proptest! {
        #[test]
        fn any_uk_mobile_spacing_gives_the_same_number(
            rest in "[0-9]{6}",
            spaces in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-")], 11),
        ) {
            let national = format!("07400{rest}");
            let spaced: String = national
                .chars()
                .zip(spaces.iter())
                .map(|(c, s)| format!("{c}{s}"))
                .collect();
            let mobile = Mobile::parse(&spaced).unwrap();
            prop_assert_eq!(mobile.as_str(), format!("+447400{rest}"));
            prop_assert_eq!(Mobile::parse(mobile.as_str()).unwrap(), mobile);
        }

        #[test]
        fn whatever_is_typed_a_mobile_is_in_e164(input in "[0-9 +()-]{0,30}") {
            if let Ok(mobile) = Mobile::parse(&input) {
                let digits = &mobile.as_str()[1..];
                prop_assert!(mobile.as_str().starts_with('+'));
                prop_assert!(digits.chars().all(|c| c.is_ascii_digit()));
                prop_assert!((8..=15).contains(&digits.len()));
            }
        }
    }
}
