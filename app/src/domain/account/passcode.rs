//! One-time passcodes (DESIGN §7.3): proof that a person can read an email address or a mobile's text messages.
//!
//! - **The code**: 6 digits, every value equally likely, drawn from a cryptographically secure generator the
//!   caller passes in ([`Passcode::generate`]; the server gives its operating system's generator).
//! - **Lifetime**: 15 minutes ([`PASSCODE_LIFETIME`]). **Single use**: the storage marks it used in the statement
//!   that accepts it, so two people typing it at once cannot both succeed.
//! - **Tries**: every attempt is counted *before* the typed code is compared, in one statement that refuses once
//!   [`MAX_TRIES`] are spent, so concurrent guesses cannot get more than five comparisons between them. The fifth
//!   try may still be right; a fifth wrong one kills the code ([`PasscodeCheck::TooManyTries`]).
//! - **A new code cancels the old one** for the same email or mobile and purpose ([`PasscodeSlot`]).
//! - **Stored only as a keyed hash**: HMAC-SHA256 under a server secret ([`PasscodeKey`]), not SHA-256 with a
//!   per-code salt. A salt does not help a 6-digit code: whoever reads the table tries all 10⁶ codes against a row
//!   in well under a second. Under a key the database does not hold, the rows are useless without the server's
//!   secret too. The hash covers what the code proves (email or mobile, which one, and the purpose) as well as the
//!   code, so a row's hash cannot be moved to another row. The email or mobile is itself kept only as a keyed hash
//!   ([`PasscodeKey::slot`]): the passcodes table holds no personal data, even for addresses that have no account.
//!   A changed key makes the codes outstanding at that moment fail (each lives 15 minutes).
//! - **Compared in constant time** ([`PasscodeHash::matches`]).
//! - **Nothing about accounts**: a code is sent whether or not the email has an account, and the outcome of a check
//!   ([`PasscodeCheck`]) says nothing about accounts either, so the pages can turn it into a GOV.UK error without
//!   telling anyone whether an email is known before its code is entered.

use super::{AccountEmail, Mobile};
use crate::domain::validation::{is_dash, is_format_char, FieldError};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

/// How many digits a passcode has.
pub const PASSCODE_DIGITS: usize = 6;
/// How long a passcode may be used for.
pub const PASSCODE_LIFETIME: Duration = Duration::minutes(15);
/// How many times a passcode may be tried; the last try may still be right.
pub const MAX_TRIES: u32 = 5;

/// When a passcode issued at `now` stops working.
pub fn expires_at(now: DateTime<Utc>) -> DateTime<Utc> {
    now + PASSCODE_LIFETIME
}

/// A passcode: exactly six ASCII digits. Its `Debug` hides the digits, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Passcode(String);

impl fmt::Debug for Passcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passcode(******)")
    }
}

impl Passcode {
    /// A new passcode from `random`, which must be a cryptographically secure generator of uniform `u32`s. Values
    /// at or above the largest multiple of 10⁶ are drawn again, so every code is equally likely (no modulo bias).
    pub fn generate(mut random: impl FnMut() -> u32) -> Self {
        const CODES: u32 = 1_000_000;
        let fair_below = u32::MAX - u32::MAX % CODES;
        loop {
            let value = random();
            if value < fair_below {
                return Self(format!("{:06}", value % CODES));
            }
        }
    }

    /// The digits, for the email or text message that carries them and nothing else.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Reads a passcode as typed into the field `field_id`: spaces, dashes and invisible characters anywhere are
/// ignored (people copy `123 456` from a message). The messages say only what is wrong with the *format*; whether
/// the code is right is [`PasscodeCheck`]'s business.
pub fn parse_passcode(field_id: &str, input: &str) -> Result<Passcode, FieldError> {
    let digits: String = input
        .chars()
        .filter(|&c| !c.is_whitespace() && !is_dash(c) && !is_format_char(c))
        .collect();
    let error = |message: &str| Err(FieldError::new(field_id, message));
    if digits.is_empty() {
        return error("Enter the security code");
    }
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return error("The security code must only include numbers 0 to 9");
    }
    if digits.len() != PASSCODE_DIGITS {
        return error("The security code must be 6 numbers");
    }
    Ok(Passcode(digits))
}

/// What a passcode proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasscodeTarget {
    Email(AccountEmail),
    Mobile(Mobile),
}

impl PasscodeTarget {
    pub fn kind(&self) -> TargetKind {
        match self {
            Self::Email(_) => TargetKind::Email,
            Self::Mobile(_) => TargetKind::Mobile,
        }
    }

    /// The text the keyed hashes cover: the kind and the email's key or the mobile's E.164.
    fn canonical(&self) -> String {
        match self {
            Self::Email(email) => format!("email\0{}", email.key()),
            Self::Mobile(mobile) => format!("mobile\0{}", mobile.as_str()),
        }
    }
}

/// Whether a passcode proves an email address or a mobile number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TargetKind {
    Email,
    Mobile,
}

impl TargetKind {
    pub const ALL: [TargetKind; 2] = [TargetKind::Email, TargetKind::Mobile];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Mobile => "mobile",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Why a passcode was sent: a code for one purpose never passes for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PasscodePurpose {
    /// Signing in to an account, or starting to create one (the email step: the same code either way, so the
    /// page does not reveal which it will be).
    SignIn,
    /// Proving a new account's mobile number.
    NewAccount,
    /// Proving the new email of an account whose owner is changing it.
    ChangeEmail,
    /// Proving the new mobile of an account whose owner is changing it.
    ChangeMobile,
}

impl PasscodePurpose {
    pub const ALL: [PasscodePurpose; 4] = [
        PasscodePurpose::SignIn,
        PasscodePurpose::NewAccount,
        PasscodePurpose::ChangeEmail,
        PasscodePurpose::ChangeMobile,
    ];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::NewAccount => "new_account",
            Self::ChangeEmail => "change_email",
            Self::ChangeMobile => "change_mobile",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The server's secret for passcode hashes. Its `Debug` hides it.
#[derive(Clone)]
pub struct PasscodeKey(Vec<u8>);

impl fmt::Debug for PasscodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasscodeKey(…)")
    }
}

/// The shortest secret accepted: HMAC-SHA256's own output size.
pub const MIN_KEY_BYTES: usize = 32;

impl PasscodeKey {
    /// `None` if `secret` is shorter than [`MIN_KEY_BYTES`].
    pub fn new(secret: &[u8]) -> Option<Self> {
        (secret.len() >= MIN_KEY_BYTES).then(|| Self(secret.to_vec()))
    }

    fn mac(&self, message: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(message.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Where the passcodes for `target` and `purpose` are kept.
    pub fn slot(&self, target: &PasscodeTarget, purpose: PasscodePurpose) -> PasscodeSlot {
        PasscodeSlot {
            kind: target.kind(),
            purpose,
            target_hash: self.mac(&format!(
                "teacher-id passcode target v1\0{}",
                target.canonical()
            )),
        }
    }

    /// The stored form of `code` sent to `target` for `purpose`, and of a code typed to prove it.
    pub fn hash(
        &self,
        target: &PasscodeTarget,
        purpose: PasscodePurpose,
        code: &Passcode,
    ) -> PasscodeHash {
        PasscodeHash(self.mac(&format!(
            "teacher-id passcode v1\0{}\0{}\0{}",
            target.canonical(),
            purpose.as_str(),
            code.0
        )))
    }
}

/// Where passcodes are kept: what they prove, why, and a keyed hash of the email or mobile (never the address
/// itself). At most one passcode per slot is live.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PasscodeSlot {
    pub kind: TargetKind,
    pub purpose: PasscodePurpose,
    /// HMAC-SHA256 in lower-case hex.
    pub target_hash: String,
}

impl PasscodeSlot {
    /// The key its sending limit is counted under (see [`super::SendLimits`]): the email or mobile, whatever the
    /// purpose.
    pub fn send_limit_key(&self) -> String {
        format!("passcode-send:{}:{}", self.kind.as_str(), self.target_hash)
    }
}

/// A passcode's keyed hash (HMAC-SHA256 in lower-case hex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasscodeHash(String);

impl PasscodeHash {
    /// A hash as stored.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two hashes are equal, in time that depends only on their lengths.
    pub fn matches(&self, other: &PasscodeHash) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

/// The outcome of checking a typed passcode. None says whether the email or mobile has an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasscodeCheck {
    /// Right, and now used up.
    Ok,
    /// Wrong; it may be tried `tries_left` more times (at least once).
    Wrong { tries_left: u32 },
    /// Its 15 minutes are over.
    Expired,
    /// Tried [`MAX_TRIES`] times; it no longer works.
    TooManyTries,
    /// No live passcode: none was sent, or it was used, or a newer one replaced it.
    NoCode,
}

impl PasscodeCheck {
    /// The GOV.UK error for the passcode field `field_id`, or `None` for [`PasscodeCheck::Ok`]. The wording is the
    /// same whether or not the email or mobile has an account.
    pub fn field_error(self, field_id: &str) -> Option<FieldError> {
        let message = match self {
            Self::Ok => return None,
            Self::Wrong { .. } | Self::NoCode => "Enter a correct security code",
            Self::Expired => "The security code has expired. Request a new code",
            Self::TooManyTries => {
                "You have entered the wrong security code too many times. Request a new code"
            }
        };
        Some(FieldError::new(field_id, message))
    }
}

/// Whether a live passcode (not used or replaced) may be tried at `now`: not expired and tries left. The storage's
/// claim of an attempt has the same condition.
pub fn may_try(tries: u32, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    tries < MAX_TRIES && now < expires_at
}

/// The outcome once an attempt was claimed: the live code's hash, and its tries *counting this one*. An `Ok` still
/// has to be marked used by the storage, which turns it into [`PasscodeCheck::NoCode`] if another check used the
/// code first.
pub fn check_claimed(stored: &PasscodeHash, typed: &PasscodeHash, tries: u32) -> PasscodeCheck {
    if stored.matches(typed) {
        PasscodeCheck::Ok
    } else if tries >= MAX_TRIES {
        PasscodeCheck::TooManyTries
    } else {
        PasscodeCheck::Wrong {
            tries_left: MAX_TRIES - tries,
        }
    }
}

/// The outcome when no attempt could be claimed: why not, from the slot's live passcode (its tries and expiry), if
/// it has one.
pub fn check_unclaimed(live: Option<(u32, DateTime<Utc>)>, now: DateTime<Utc>) -> PasscodeCheck {
    match live {
        None => PasscodeCheck::NoCode,
        Some((tries, _)) if tries >= MAX_TRIES => PasscodeCheck::TooManyTries,
        Some((_, expires_at)) if now >= expires_at => PasscodeCheck::Expired,
        // Claimable after all (a new code arrived in between): the typed one was for the old code.
        Some(_) => PasscodeCheck::NoCode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> PasscodeKey {
        PasscodeKey::new(&[7; 32]).unwrap()
    }

    fn email(s: &str) -> PasscodeTarget {
        PasscodeTarget::Email(AccountEmail::parse(s).unwrap())
    }

    fn code(s: &str) -> Passcode {
        parse_passcode("code", s).unwrap()
    }

    #[test]
    fn generated_codes_are_six_digits_with_leading_zeros_kept() {
        let mut values = [5u32, 999_999, 1_000_000, 123_456_789].into_iter();
        assert_eq!(
            Passcode::generate(|| values.next().unwrap()).as_str(),
            "000005"
        );
        assert_eq!(
            Passcode::generate(|| values.next().unwrap()).as_str(),
            "999999"
        );
        assert_eq!(
            Passcode::generate(|| values.next().unwrap()).as_str(),
            "000000"
        );
        assert_eq!(
            Passcode::generate(|| values.next().unwrap()).as_str(),
            "456789"
        );
    }

    #[test]
    fn values_that_would_bias_the_code_are_drawn_again() {
        let mut values = [u32::MAX, u32::MAX - 1, 4_294_000_000, 42].into_iter();
        let mut draws = 0;
        let code = Passcode::generate(|| {
            draws += 1;
            values.next().unwrap()
        });
        assert_eq!((code.as_str(), draws), ("000042", 4));
    }

    #[test]
    fn a_passcode_never_shows_its_digits_in_debug() {
        assert_eq!(format!("{:?}", code("123456")), "Passcode(******)");
        assert_eq!(format!("{:?}", key()), "PasscodeKey(…)");
    }

    #[test]
    fn typed_codes_may_have_spaces_and_dashes() {
        for typed in [
            "123456",
            " 123 456 ",
            "123-456",
            "1 2 3 4 5 6",
            "123\u{00A0}456\u{200B}",
        ] {
            assert_eq!(code(typed).as_str(), "123456", "{typed:?}");
        }
    }

    #[test]
    fn badly_typed_codes_get_gov_uk_errors_about_their_format() {
        let message = |s: &str| parse_passcode("code", s).unwrap_err().message;
        assert_eq!(message(""), "Enter the security code");
        assert_eq!(message("  "), "Enter the security code");
        assert_eq!(
            message("12345a"),
            "The security code must only include numbers 0 to 9"
        );
        assert_eq!(
            message("１２３４５６"),
            "The security code must only include numbers 0 to 9"
        );
        assert_eq!(message("12345"), "The security code must be 6 numbers");
        assert_eq!(message("1234567"), "The security code must be 6 numbers");
        assert_eq!(parse_passcode("code", "1").unwrap_err().field_id, "code");
    }

    #[test]
    fn a_code_expires_after_15_minutes() {
        let now = Utc::now();
        assert_eq!(expires_at(now) - now, Duration::minutes(15));
        assert!(may_try(
            0,
            expires_at(now),
            now + Duration::minutes(15) - Duration::seconds(1)
        ));
        assert!(!may_try(0, expires_at(now), now + Duration::minutes(15)));
    }

    #[test]
    fn the_hash_depends_on_the_code_the_target_the_purpose_and_the_key() {
        let k = key();
        let base = k.hash(
            &email("jo@example.com"),
            PasscodePurpose::SignIn,
            &code("123456"),
        );
        assert_eq!(base.as_str().len(), 64);
        assert!(base.matches(&k.hash(
            &email("JO@Example.com"),
            PasscodePurpose::SignIn,
            &code("123456")
        )));
        for other in [
            k.hash(
                &email("jo@example.com"),
                PasscodePurpose::SignIn,
                &code("123457"),
            ),
            k.hash(
                &email("jo+1@example.com"),
                PasscodePurpose::SignIn,
                &code("123456"),
            ),
            k.hash(
                &email("jo@example.com"),
                PasscodePurpose::ChangeEmail,
                &code("123456"),
            ),
            PasscodeKey::new(&[8; 32]).unwrap().hash(
                &email("jo@example.com"),
                PasscodePurpose::SignIn,
                &code("123456"),
            ),
        ] {
            assert!(!base.matches(&other));
        }
    }

    #[test]
    fn the_slot_holds_no_email_and_separates_purposes() {
        let k = key();
        let target = email("jo.bloggs@example.com");
        let slot = k.slot(&target, PasscodePurpose::SignIn);
        assert!(!slot.target_hash.contains("bloggs"));
        assert_eq!(slot.kind, TargetKind::Email);
        assert_eq!(
            slot.target_hash,
            k.slot(&target, PasscodePurpose::NewAccount).target_hash
        );
        assert_ne!(slot, k.slot(&target, PasscodePurpose::NewAccount));
        assert_eq!(
            slot.send_limit_key(),
            k.slot(&target, PasscodePurpose::ChangeEmail)
                .send_limit_key(),
            "one sending limit per email, whatever the purpose"
        );
        let mobile = PasscodeTarget::Mobile(Mobile::parse("07400 123456").unwrap());
        assert_eq!(
            k.slot(&mobile, PasscodePurpose::NewAccount).kind,
            TargetKind::Mobile
        );
    }

    #[test]
    fn a_short_key_is_refused() {
        assert!(PasscodeKey::new(&[1; 31]).is_none());
        assert!(PasscodeKey::new(&[1; 32]).is_some());
    }

    #[test]
    fn five_wrong_tries_kill_the_code_and_the_fifth_may_still_be_right() {
        let k = key();
        let target = email("jo@example.com");
        let stored = k.hash(&target, PasscodePurpose::SignIn, &code("111111"));
        let wrong = k.hash(&target, PasscodePurpose::SignIn, &code("222222"));
        let outcomes: Vec<_> = (1..=MAX_TRIES)
            .map(|t| check_claimed(&stored, &wrong, t))
            .collect();
        assert_eq!(
            outcomes,
            [
                PasscodeCheck::Wrong { tries_left: 4 },
                PasscodeCheck::Wrong { tries_left: 3 },
                PasscodeCheck::Wrong { tries_left: 2 },
                PasscodeCheck::Wrong { tries_left: 1 },
                PasscodeCheck::TooManyTries,
            ]
        );
        assert_eq!(
            check_claimed(&stored, &stored, MAX_TRIES),
            PasscodeCheck::Ok
        );
        assert!(!may_try(MAX_TRIES, expires_at(Utc::now()), Utc::now()));
    }

    #[test]
    fn an_unclaimable_code_says_why() {
        let now = Utc::now();
        assert_eq!(check_unclaimed(None, now), PasscodeCheck::NoCode);
        assert_eq!(
            check_unclaimed(Some((5, now + Duration::minutes(1))), now),
            PasscodeCheck::TooManyTries
        );
        assert_eq!(check_unclaimed(Some((0, now)), now), PasscodeCheck::Expired);
        assert_eq!(
            check_unclaimed(Some((5, now)), now),
            PasscodeCheck::TooManyTries
        );
        assert_eq!(
            check_unclaimed(Some((1, now + Duration::minutes(1))), now),
            PasscodeCheck::NoCode
        );
    }

    #[test]
    fn outcomes_become_gov_uk_errors_that_say_nothing_about_accounts() {
        let message = |c: PasscodeCheck| c.field_error("code").unwrap().message;
        assert!(PasscodeCheck::Ok.field_error("code").is_none());
        assert_eq!(
            message(PasscodeCheck::Wrong { tries_left: 3 }),
            "Enter a correct security code"
        );
        assert_eq!(
            message(PasscodeCheck::NoCode),
            message(PasscodeCheck::Wrong { tries_left: 1 })
        );
        assert_eq!(
            message(PasscodeCheck::Expired),
            "The security code has expired. Request a new code"
        );
        assert!(message(PasscodeCheck::TooManyTries).contains("too many times"));
        for c in [
            PasscodeCheck::Wrong { tries_left: 1 },
            PasscodeCheck::Expired,
            PasscodeCheck::TooManyTries,
            PasscodeCheck::NoCode,
        ] {
            assert!(!message(c).to_lowercase().contains("account"));
        }
    }

    #[test]
    fn purposes_and_kinds_read_back_as_stored() {
        for p in PasscodePurpose::ALL {
            assert_eq!(PasscodePurpose::parse(p.as_str()), Some(p));
        }
        for k in TargetKind::ALL {
            assert_eq!(TargetKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(PasscodePurpose::parse("SIGN_IN"), None);
    }

    proptest! {
        #[test]
        fn every_generated_code_parses_back_as_itself(value in any::<u32>()) {
            let mut once = Some(value);
            let mut fallback = 0u32;
            let code = Passcode::generate(|| once.take().unwrap_or_else(|| { fallback += 1; fallback }));
            prop_assert_eq!(code.as_str().len(), PASSCODE_DIGITS);
            prop_assert_eq!(parse_passcode("code", code.as_str()).unwrap(), code);
        }

        #[test]
        fn only_the_right_code_matches(a in 0u32..1_000_000, b in 0u32..1_000_000) {
            let k = key();
            let target = email("jo@example.com");
            let hash = |n: u32| k.hash(&target, PasscodePurpose::SignIn, &code(&format!("{n:06}")));
            prop_assert_eq!(hash(a).matches(&hash(b)), a == b);
        }

        #[test]
        fn a_wrong_code_never_passes_whatever_the_tries(tries in 0u32..20) {
            let k = key();
            let target = email("jo@example.com");
            let stored = k.hash(&target, PasscodePurpose::SignIn, &code("000001"));
            let typed = k.hash(&target, PasscodePurpose::SignIn, &code("000002"));
            prop_assert_ne!(check_claimed(&stored, &typed, tries), PasscodeCheck::Ok);
        }
    }
}
