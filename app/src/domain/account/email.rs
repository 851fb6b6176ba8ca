//! An account's email address (DESIGN §7.3): what a person types, cleaned and checked as GOV.UK Notify checks it
//! (Notify sends the passcodes, so an address it refuses is no use), with the key that makes an email belong to at
//! most one account, and the partly hidden form the disambiguation and TRN-in-use pages show.
//!
//! **Cleaning.** Invisible characters (Unicode format characters: zero-width spaces and joiners, the byte order
//! mark, Notify's list among them) and no-break spaces are removed wherever they are, then surrounding whitespace.
//!
//! **Checking** (Notify's `validate_email_address`): one `@`; a local part of ASCII letters, digits and
//! ``.!#$%&'*+/=?^_`{|}~-``; no `..`; a domain of at least two labels, each 1–63 characters of letters, digits and
//! single or double hyphens inside, the last either 2–63 letters or an `xn--` label. At most 254 characters
//! (RFC 5321's path limit; Notify allows 320), counted both as typed and in the domain's ASCII form.
//!
//! **Unicode.** A non-ASCII *local part* is refused: Notify refuses it and most mail systems cannot deliver to
//! it. A non-ASCII (internationalised) *domain* is accepted when IDNA (UTS #46, strict, as browsers and the
//! `url` crate apply it) maps it to an ASCII domain that passes the checks above; the key holds that ASCII
//! (`xn--`) form, so `jo@bücher.example` and `jo@xn--bcher-kva.example` are one address, and full-width or
//! upper-case letters in a domain fold to the same key too. The address itself is kept as typed (cleaned) for
//! sending and showing.
//!
//! **Uniqueness key.** The local part lower-cased (ASCII) and the domain's ASCII form (which IDNA lower-cases):
//! Notify and Get an Identity compare addresses case-insensitively (Get an Identity #318) and so do we. Nothing
//! else is folded: `jo+npq@example.com` and `jo@example.com` are different accounts (plus-addressing is the
//! person's choice, and some providers treat `+` as an ordinary character), as are dots in a local part.
//!
//! **Masking** follows Get an Identity's `Redactor.RedactEmail`: the first character of the local part and four
//! `*`, `@`, four `*` for the domain's first label and every later label longer than four characters, then the rest
//! (the public suffix, roughly): `jo.bloggs@digital.education.gov.uk` → `j****@****.gov.uk`,
//! `sam@gmail.com` → `s****@****.com`. The fixed width hides how long each part is.

use crate::domain::validation::{is_format_char, FieldError};
use serde::{Deserialize, Serialize};

/// The longest email address accepted, in characters as typed and in octets in its ASCII form (RFC 5321).
pub const MAX_EMAIL_CHARS: usize = 254;

/// The characters a local part may hold (Notify's `VALID_LOCAL_CHARS`).
fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c)
}

/// An email address that passed [`AccountEmail::parse`]. Stored and sent as its [`address`](Self::address);
/// compared by its [`key`](Self::key). Serialised as the address and checked again when read.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountEmail {
    address: String,
    key: String,
}

/// Why an email address was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailProblem {
    Missing,
    TooLong,
    Invalid,
}

impl EmailProblem {
    /// The GOV.UK Design System's wording for the email field `field_id`.
    pub fn field_error(self, field_id: &str) -> FieldError {
        FieldError::new(
            field_id,
            match self {
                Self::Missing => "Enter your email address",
                Self::TooLong => "Email address must be 254 characters or fewer",
                Self::Invalid => {
                    "Enter an email address in the correct format, like name@example.com"
                }
            },
        )
    }
}

impl AccountEmail {
    /// Cleans and checks what someone typed (see the module header).
    pub fn parse(input: &str) -> Result<Self, EmailProblem> {
        let cleaned: String = input
            .chars()
            .filter(|&c| !is_format_char(c) && !matches!(c, '\u{00A0}' | '\u{202F}'))
            .collect();
        let address = cleaned.trim();
        if address.is_empty() {
            return Err(EmailProblem::Missing);
        }
        if address.chars().count() > MAX_EMAIL_CHARS {
            return Err(EmailProblem::TooLong);
        }
        let (local, domain) = address.split_once('@').ok_or(EmailProblem::Invalid)?;
        if local.is_empty()
            || !local.chars().all(is_local_char)
            || domain.contains('@')
            || address.contains("..")
            || domain.starts_with('.')
            || domain.chars().any(char::is_whitespace)
        {
            return Err(EmailProblem::Invalid);
        }
        let ascii_domain = ascii_domain(domain).ok_or(EmailProblem::Invalid)?;
        let key = format!("{}@{ascii_domain}", local.to_ascii_lowercase());
        if key.len() > MAX_EMAIL_CHARS {
            return Err(EmailProblem::TooLong);
        }
        Ok(Self {
            address: address.to_string(),
            key,
        })
    }

    /// An address and key as stored, trusted to be ones [`AccountEmail::parse`] made (so that tightening the rules
    /// later cannot make a stored account unreadable).
    pub fn from_stored(address: String, key: String) -> Self {
        Self { address, key }
    }

    /// The address as typed (cleaned): where passcodes are sent, and what the person sees.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The comparison key: two addresses with the same key are the same account's.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The address partly hidden, as Get an Identity shows it: `j****@****.gov.uk`.
    pub fn masked(&self) -> String {
        let (local, domain) = self
            .address
            .split_once('@')
            .expect("a parsed address has an @");
        let first = local
            .chars()
            .next()
            .expect("a parsed local part is not empty");
        let labels: Vec<&str> = domain.split('.').collect();
        let last = labels.len() - 1;
        let shown: Vec<&str> = labels
            .iter()
            .enumerate()
            .skip(1)
            .skip_while(|&(i, label)| i != last && label.chars().count() > 4)
            .map(|(_, label)| *label)
            .collect();
        let mut masked = format!("{first}****@****");
        for label in shown {
            masked.push('.');
            masked.push_str(label);
        }
        masked
    }
}

impl TryFrom<String> for AccountEmail {
    type Error = String;
    fn try_from(address: String) -> Result<Self, String> {
        Self::parse(&address).map_err(|p| format!("not an account email address: {p:?}"))
    }
}

impl From<AccountEmail> for String {
    fn from(email: AccountEmail) -> String {
        email.address
    }
}

/// The domain's ASCII form if it is one Notify would accept (see the module header).
fn ascii_domain(domain: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii_strict(domain).ok()?;
    let labels: Vec<&str> = ascii.split('.').collect();
    if ascii.len() > 253 || labels.len() < 2 {
        return None;
    }
    let tld = labels.last()?;
    (labels.iter().all(|l| is_hostname_label(l)) && is_tld(tld)).then_some(ascii)
}

/// Notify's `^(xn|[a-z0-9]+)(-?-[a-z0-9]+)*$`, at most 63 characters: letters and digits, with single or double
/// hyphens only between them.
fn is_hostname_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
        && !label.contains("---")
}

/// Notify's `^([a-z]{2,63}|xn--([a-z0-9]+-)*[a-z0-9]+)$`.
fn is_tld(tld: &str) -> bool {
    if let Some(rest) = tld.strip_prefix("xn--") {
        return !rest.is_empty()
            && rest
                .split('-')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    }
    (2..=63).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(input: &str) -> String {
        AccountEmail::parse(input).unwrap().key().to_string()
    }

    #[test]
    fn surrounding_space_and_invisible_characters_are_removed() {
        let email =
            AccountEmail::parse("  \u{200B}Jo.Bloggs@Example.com\u{FEFF}\u{00A0} \t").unwrap();
        assert_eq!(email.address(), "Jo.Bloggs@Example.com");
        assert_eq!(email.key(), "jo.bloggs@example.com");
        assert_eq!(key("jo\u{200D}@example.com"), "jo@example.com");
    }

    #[test]
    fn local_part_and_domain_compare_without_case() {
        assert_eq!(key("JO@EXAMPLE.COM"), key("jo@example.com"));
        assert_eq!(key("Jo@Example.Com"), "jo@example.com");
    }

    #[test]
    fn plus_addressing_and_dots_are_different_addresses() {
        assert_ne!(key("jo+npq@example.com"), key("jo@example.com"));
        assert_ne!(key("j.o@gmail.com"), key("jo@gmail.com"));
        assert_eq!(key("Jo+NPQ@example.com"), "jo+npq@example.com");
    }

    #[test]
    fn an_internationalised_domain_has_its_ascii_form_as_key() {
        let unicode = AccountEmail::parse("jo@Bücher.example").unwrap();
        assert_eq!(unicode.address(), "jo@Bücher.example");
        assert_eq!(unicode.key(), "jo@xn--bcher-kva.example");
        assert_eq!(key("jo@xn--bcher-kva.example"), unicode.key());
        // Full-width letters fold to ASCII under UTS #46.
        assert_eq!(key("jo@ｅｘａｍｐｌｅ.com"), "jo@example.com");
        // A whole internationalised top-level domain.
        assert_eq!(key("jo@例え.テスト"), "jo@xn--r8jz45g.xn--zckzah");
    }

    #[test]
    fn a_non_ascii_local_part_is_refused() {
        for input in ["jö@example.com", "ｊｏ@example.com", "用户@例子.广告"] {
            assert_eq!(
                AccountEmail::parse(input),
                Err(EmailProblem::Invalid),
                "{input}"
            );
        }
    }

    #[test]
    fn addresses_notify_refuses_are_refused() {
        for input in [
            "jo",
            "jo@",
            "@example.com",
            "jo@example",
            "jo@@example.com",
            "jo@ex@ample.com",
            "jo..bloggs@example.com",
            "jo@example..com",
            "jo@.example.com",
            "jo@example.com.",
            "jo bloggs@example.com",
            "jo@exa mple.com",
            "jo@-example.com",
            "jo@example-.com",
            "jo@ex---ample.com",
            // IDNA keeps hyphens in the third and fourth places for `xn--` labels (Notify's `idna.encode` too).
            "jo@ex--ample.com",
            "jo@example.c",
            "jo@example.c0m",
            "jo@example.123",
            "jo(comment)@example.com",
            "\"jo\"@example.com",
            "jo@[127.0.0.1]",
            "jo@exam_ple.com",
            "<script>@example.com",
        ] {
            assert_eq!(
                AccountEmail::parse(input),
                Err(EmailProblem::Invalid),
                "{input}"
            );
        }
    }

    #[test]
    fn addresses_notify_accepts_are_accepted() {
        for input in [
            "jo@example.com",
            "jo.bloggs@digital.education.gov.uk",
            "o'brien@example.co.uk",
            "jo+npq@example.com",
            "a!#$%&'*+/=?^_`{|}~-z@example.com",
            "jo@xn--bcher-kva.example",
            "jo@123.example.com",
            "jo@example.xn--p1ai",
        ] {
            assert!(AccountEmail::parse(input).is_ok(), "{input}");
        }
    }

    #[test]
    fn nothing_typed_is_missing() {
        for input in ["", "   ", "\u{200B}\u{00A0}"] {
            assert_eq!(AccountEmail::parse(input), Err(EmailProblem::Missing));
        }
    }

    #[test]
    fn at_most_254_characters_as_typed_and_in_ascii() {
        let domain = "@example.com";
        let fits = format!("{}{domain}", "a".repeat(MAX_EMAIL_CHARS - domain.len()));
        assert!(AccountEmail::parse(&fits).is_ok());
        let over = format!("a{fits}");
        assert_eq!(AccountEmail::parse(&over), Err(EmailProblem::TooLong));
        // Short as typed, too long once the domain is in its ASCII form.
        let label = "ü".repeat(50);
        let idn = format!("{}@{label}.{label}.{label}.example", "a".repeat(85));
        assert!(idn.chars().count() <= MAX_EMAIL_CHARS);
        assert_eq!(AccountEmail::parse(&idn), Err(EmailProblem::TooLong));
        // Padding never counts.
        let padded = format!("{}{fits}{}", " ".repeat(300), " ".repeat(300));
        assert!(AccountEmail::parse(&padded).is_ok());
    }

    #[test]
    fn problems_have_gov_uk_wording_on_the_field() {
        let e = EmailProblem::Invalid.field_error("email");
        assert_eq!(e.field_id, "email");
        assert_eq!(
            e.message,
            "Enter an email address in the correct format, like name@example.com"
        );
        assert_eq!(
            EmailProblem::Missing.field_error("email").message,
            "Enter your email address"
        );
    }

    #[test]
    fn masking_keeps_the_first_character_and_the_public_suffix_as_get_an_identity_does() {
        let masked = |s: &str| AccountEmail::parse(s).unwrap().masked();
        assert_eq!(
            masked("jo.bloggs@digital.education.gov.uk"),
            "j****@****.gov.uk"
        );
        assert_eq!(masked("jo@education.gov.uk"), "j****@****.gov.uk");
        assert_eq!(masked("sam@hotmail.co.uk"), "s****@****.co.uk");
        assert_eq!(masked("sam@gmail.com"), "s****@****.com");
        assert_eq!(masked("sam@foo.digital"), "s****@****.digital");
        assert_eq!(masked("unal@bücher.example"), "u****@****.example");
        assert_eq!(masked("x@a.co"), "x****@****.co");
    }

    #[test]
    fn serialised_as_the_address_and_checked_when_read() {
        let email = AccountEmail::parse("Jo@Example.com").unwrap();
        let json = serde_json::to_string(&email).unwrap();
        assert_eq!(json, "\"Jo@Example.com\"");
        assert_eq!(serde_json::from_str::<AccountEmail>(&json).unwrap(), email);
        assert!(serde_json::from_str::<AccountEmail>("\"not an email\"").is_err());
    }

    proptest! {
        #[test]
        fn the_key_ignores_case_and_is_stable(
            local in "[a-zA-Z0-9._%+-]{1,30}",
            domain in "[a-zA-Z]{1,20}\\.(com|co\\.uk|gov\\.uk|org)",
        ) {
            let input = format!("{local}@{domain}");
            prop_assume!(!input.contains(".."));
            let email = AccountEmail::parse(&input).unwrap();
            prop_assert_eq!(email.key(), input.to_ascii_lowercase());
            prop_assert_eq!(key(&input.to_ascii_uppercase()), email.key());
            // The key is itself an address with the same key.
            prop_assert_eq!(key(email.key()), email.key());
        }

        #[test]
        fn masking_never_shows_more_than_the_first_character_of_the_local_part(
            local in "[a-z0-9]{1,30}",
            domain in "[a-z]{5,20}\\.(com|co\\.uk|org)",
        ) {
            let masked = AccountEmail::parse(&format!("{local}@{domain}")).unwrap().masked();
            let (shown_local, shown_domain) = masked.split_once('@').unwrap();
            prop_assert_eq!(shown_local, format!("{}****", &local[..1]));
            prop_assert!(shown_domain.starts_with("****."));
            prop_assert!(!shown_domain.contains(&domain[..5]));
        }

        #[test]
        fn anything_typed_is_either_refused_or_an_address_within_the_limit(input in "\\PC{0,300}") {
            if let Ok(email) = AccountEmail::parse(&input) {
                prop_assert!(email.address().chars().count() <= MAX_EMAIL_CHARS);
                prop_assert!(email.key().len() <= MAX_EMAIL_CHARS);
                prop_assert!(email.key().is_ascii());
            }
        }
    }
}
