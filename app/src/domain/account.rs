//! DfE Identity accounts (DESIGN §7.3, seeds 002 and 004): the rules a person's email-and-passcode account lives
//! by, for the pages and the storage to share. Pure: no database, no HTTP; the clock and the random generator are
//! passed in.
//!
//! - [`email`]: an account's email address, its uniqueness key (case-insensitive; plus-addressing kept; IDN
//!   domains by their ASCII form) and its partly hidden form.
//! - [`mobile`]: UK and international mobile numbers to E.164 with libphonenumber's rules.
//! - [`passcode`]: 6-digit one-time passcodes: 15 minutes, single use, 5 tries, a new one cancels the old, kept
//!   only as HMAC-SHA256 under a server key, compared in constant time.
//!
//! **Duplicate accounts** ([`find_duplicate`]) are prevented as seed 002 describes, at three points of creating an
//! account, each after the person has proven what they typed:
//! 1. their **email** (after its passcode) is an account's → [`Duplicate::SameEmail`]: that person owns the
//!    account, so they are signed in to it and told so;
//! 2. their **mobile** (after its passcode) is an account's → [`Duplicate::SameMobile`]: the same, for that
//!    account, even though the email they proved is another;
//! 3. their **name and date of birth** agree with an account's → [`Duplicate::SameNameAndDateOfBirth`], with that
//!    account's email partly hidden for the "Is this you?" page: the last names are equal as [`name_key`]s (case,
//!    accents, hyphens, apostrophes and spaces ignored), the first names are equal or synonyms by the service's
//!    list ([`first_names_match`]: Bill/William, Liz/Elizabeth, …) and the dates of birth are the same. Nothing is
//!    proven here, so the page offers a passcode to *that* email, or carrying on with a new account.
//!
//! The earlier points win (an email match says more than a mobile, a mobile more than a name), and among several
//! accounts at one point the oldest (the lowest id), so the outcome does not depend on the order the storage
//! returned them in.
//!
//! **Sending limits** ([`SendLimits`]): passcodes sent to one email or mobile, and from one client address, are
//! counted in the service's rate-limit windows (`rate_limits`, as the connect journey's answers are); over either
//! limit nothing is sent.

pub mod change;
pub mod email;
pub mod journey;
pub mod mobile;
pub mod passcode;

pub use email::{AccountEmail, EmailProblem};
pub use mobile::{Mobile, MobileProblem};
pub use passcode::{
    Passcode, PasscodeCheck, PasscodeHash, PasscodeKey, PasscodePurpose, PasscodeSlot,
    PasscodeTarget, TargetKind,
};

use super::matching::first_names_match;
use super::names::name_key;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A person's name on their account: first and last required, a preferred name if they gave one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountName {
    pub first: String,
    pub last: String,
    pub preferred: Option<String>,
}

/// An account as stored: one way into a person (a `users` row) in Teacher ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The person's id (`users.id`).
    pub user_id: i64,
    pub email: AccountEmail,
    pub mobile: Option<Mobile>,
    pub name: AccountName,
    pub date_of_birth: NaiveDate,
}

/// What a new account is made of, once everything in it was checked (and the email and mobile proven).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccount {
    pub email: AccountEmail,
    /// `None` when the service let them continue without one.
    pub mobile: Option<Mobile>,
    pub name: AccountName,
    pub date_of_birth: NaiveDate,
}

/// What someone creating an account has told us so far: the email (proven), then the mobile (proven), then their
/// name and date of birth.
#[derive(Clone, Copy, Debug)]
pub struct Applicant<'a> {
    pub email: &'a AccountEmail,
    pub mobile: Option<&'a Mobile>,
    /// First name, last name, date of birth.
    pub name_and_date_of_birth: Option<(&'a str, &'a str, NaiveDate)>,
}

/// An existing account that the person creating one may be (seed 002's three scenarios).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Duplicate {
    /// Scenario 1: the email they proved is this account's.
    SameEmail { user_id: i64 },
    /// Scenario 2: the mobile they proved is this account's.
    SameMobile { user_id: i64 },
    /// Scenario 3: this account has the same name (first-name synonyms allowed) and date of birth; its email
    /// partly hidden ([`AccountEmail::masked`]) for the disambiguation page.
    SameNameAndDateOfBirth { user_id: i64, masked_email: String },
}

impl Duplicate {
    pub fn user_id(&self) -> i64 {
        match self {
            Self::SameEmail { user_id }
            | Self::SameMobile { user_id }
            | Self::SameNameAndDateOfBirth { user_id, .. } => *user_id,
        }
    }
}

/// Whether account `a` has this first name, last name and date of birth (see the module header).
pub fn same_name_and_date_of_birth(a: &Account, first: &str, last: &str, dob: NaiveDate) -> bool {
    let last = name_key(last);
    a.date_of_birth == dob
        && !last.is_empty()
        && name_key(&a.name.last) == last
        && first_names_match(&a.name.first, first)
}

/// The account the applicant may already have, among `accounts` (whatever the storage found by the applicant's
/// email key, mobile, and last-name key and date of birth), or `None` to carry on creating one.
pub fn find_duplicate(applicant: &Applicant, accounts: &[Account]) -> Option<Duplicate> {
    let oldest = |matches: &dyn Fn(&Account) -> bool| {
        accounts
            .iter()
            .filter(|a| matches(a))
            .min_by_key(|a| a.user_id)
    };
    if let Some(a) = oldest(&|a| a.email.key() == applicant.email.key()) {
        return Some(Duplicate::SameEmail { user_id: a.user_id });
    }
    if let Some(mobile) = applicant.mobile {
        if let Some(a) = oldest(&|a| a.mobile.as_ref() == Some(mobile)) {
            return Some(Duplicate::SameMobile { user_id: a.user_id });
        }
    }
    let (first, last, dob) = applicant.name_and_date_of_birth?;
    oldest(&|a| same_name_and_date_of_birth(a, first, last, dob)).map(|a| {
        Duplicate::SameNameAndDateOfBirth {
            user_id: a.user_id,
            masked_email: a.email.masked(),
        }
    })
}

/// How many passcodes may be sent, per email or mobile and per client address, in windows of the given lengths.
/// Configurable: the server passes the numbers in (`PASSCODE_SENDS_*`, `server/src/config.rs`). The
/// defaults allow a person several resends and a school behind one address a busy morning, and stop anyone using
/// the service to flood an inbox or a phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendLimits {
    pub per_target: i64,
    pub target_window_seconds: i64,
    pub per_address: i64,
    pub address_window_seconds: i64,
}

impl Default for SendLimits {
    fn default() -> Self {
        Self {
            per_target: 5,
            target_window_seconds: 15 * 60,
            per_address: 100,
            address_window_seconds: 60 * 60,
        }
    }
}

impl SendLimits {
    /// The key the sends from one client address (as `rate_limit_key` gives it) are counted under.
    pub fn address_key(client_address: &str) -> String {
        format!("passcode-send-address:{client_address}")
    }

    /// After counting this send: `Some(window in seconds)` of the limit it is over (the page says when to try
    /// again), or `None` to send. `address_sends` is `None` when the client address is unknown.
    pub fn refused(&self, target_sends: i64, address_sends: Option<i64>) -> Option<i64> {
        if target_sends > self.per_target {
            Some(self.target_window_seconds)
        } else if address_sends.is_some_and(|n| n > self.per_address) {
            Some(self.address_window_seconds)
        } else {
            None
        }
    }

    /// The longest window: counts older than this no longer matter.
    pub fn longest_window_seconds(&self) -> i64 {
        self.target_window_seconds.max(self.address_window_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dob() -> NaiveDate {
        NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
    }

    fn account(
        user_id: i64,
        email: &str,
        mobile: Option<&str>,
        first: &str,
        last: &str,
    ) -> Account {
        Account {
            user_id,
            email: AccountEmail::parse(email).unwrap(),
            mobile: mobile.map(|m| Mobile::parse(m).unwrap()),
            name: AccountName {
                first: first.into(),
                last: last.into(),
                preferred: None,
            },
            date_of_birth: dob(),
        }
    }

    fn applicant<'a>(
        email: &'a AccountEmail,
        mobile: Option<&'a Mobile>,
        name: Option<(&'a str, &'a str)>,
    ) -> Applicant<'a> {
        Applicant {
            email,
            mobile,
            name_and_date_of_birth: name.map(|(f, l)| (f, l, dob())),
        }
    }

    #[test]
    fn scenario_1_an_email_with_an_account_in_any_case_is_that_account() {
        let accounts = [account(7, "Jo.Bloggs@Example.com", None, "Jo", "Bloggs")];
        let email = AccountEmail::parse("jo.bloggs@example.COM").unwrap();
        assert_eq!(
            find_duplicate(&applicant(&email, None, None), &accounts),
            Some(Duplicate::SameEmail { user_id: 7 })
        );
        let plus = AccountEmail::parse("jo.bloggs+npq@example.com").unwrap();
        assert_eq!(
            find_duplicate(&applicant(&plus, None, None), &accounts),
            None
        );
    }

    #[test]
    fn scenario_2_a_mobile_with_an_account_is_that_account_whatever_the_email() {
        let accounts = [account(
            7,
            "jo@example.com",
            Some("07400 123456"),
            "Jo",
            "Bloggs",
        )];
        let email = AccountEmail::parse("new@example.com").unwrap();
        let mobile = Mobile::parse("+44 7400 123456").unwrap();
        assert_eq!(
            find_duplicate(&applicant(&email, Some(&mobile), None), &accounts),
            Some(Duplicate::SameMobile { user_id: 7 })
        );
        let other = Mobile::parse("07400 654321").unwrap();
        assert_eq!(
            find_duplicate(&applicant(&email, Some(&other), None), &accounts),
            None
        );
    }

    #[test]
    fn scenario_3_the_same_name_with_a_synonym_and_date_of_birth_shows_the_other_email_hidden() {
        let accounts = [account(
            7,
            "william.smith@education.gov.uk",
            None,
            "William",
            "Smith",
        )];
        let email = AccountEmail::parse("bill@example.com").unwrap();
        for (first, last) in [("Bill", "Smith"), ("william", "SMITH"), ("Will", "smith")] {
            assert_eq!(
                find_duplicate(&applicant(&email, None, Some((first, last))), &accounts),
                Some(Duplicate::SameNameAndDateOfBirth {
                    user_id: 7,
                    masked_email: "w****@****.gov.uk".into()
                }),
                "{first} {last}"
            );
        }
    }

    #[test]
    fn scenario_3_needs_the_last_name_the_first_name_and_the_date_of_birth() {
        let accounts = [account(7, "w@example.com", None, "William", "Smith")];
        let email = AccountEmail::parse("new@example.com").unwrap();
        for (first, last) in [
            ("William", "Smyth"),
            ("Robert", "Smith"),
            ("", "Smith"),
            ("William", ""),
        ] {
            assert_eq!(
                find_duplicate(&applicant(&email, None, Some((first, last))), &accounts),
                None,
                "{first} {last}"
            );
        }
        let other_day = Applicant {
            email: &email,
            mobile: None,
            name_and_date_of_birth: Some(("William", "Smith", dob().succ_opt().unwrap())),
        };
        assert_eq!(find_duplicate(&other_day, &accounts), None);
    }

    #[test]
    fn last_names_compare_without_case_accents_or_punctuation() {
        let a = account(7, "s@example.com", None, "Siân", "O'Brien-Jones");
        assert!(same_name_and_date_of_birth(
            &a,
            "Sian",
            "obrien jones",
            dob()
        ));
    }

    #[test]
    fn an_email_match_wins_over_a_mobile_and_a_mobile_over_a_name() {
        let accounts = [
            account(1, "other@example.com", None, "Jo", "Bloggs"),
            account(2, "x@example.com", Some("07400 123456"), "Sam", "Brown"),
            account(3, "jo@example.com", None, "Sam", "Brown"),
        ];
        let email = AccountEmail::parse("jo@example.com").unwrap();
        let mobile = Mobile::parse("07400 123456").unwrap();
        let all = applicant(&email, Some(&mobile), Some(("Jo", "Bloggs")));
        assert_eq!(
            find_duplicate(&all, &accounts),
            Some(Duplicate::SameEmail { user_id: 3 })
        );
        let new_email = AccountEmail::parse("new@example.com").unwrap();
        let no_email = applicant(&new_email, Some(&mobile), Some(("Jo", "Bloggs")));
        assert_eq!(
            find_duplicate(&no_email, &accounts),
            Some(Duplicate::SameMobile { user_id: 2 })
        );
        assert_eq!(
            find_duplicate(&no_email, &accounts).map(|d| d.user_id()),
            Some(2)
        );
    }

    #[test]
    fn the_oldest_of_several_namesakes_is_offered() {
        let accounts = [
            account(9, "b@example.com", None, "Liz", "Jones"),
            account(4, "a@example.com", None, "Elizabeth", "Jones"),
        ];
        let email = AccountEmail::parse("new@example.com").unwrap();
        assert_eq!(
            find_duplicate(&applicant(&email, None, Some(("Beth", "Jones"))), &accounts)
                .map(|d| d.user_id()),
            Some(4)
        );
    }

    #[test]
    fn sends_over_either_limit_are_refused_with_the_window_to_wait() {
        let limits = SendLimits::default();
        assert_eq!(limits.refused(5, Some(100)), None);
        assert_eq!(limits.refused(6, Some(1)), Some(15 * 60));
        assert_eq!(limits.refused(1, Some(101)), Some(60 * 60));
        assert_eq!(limits.refused(1, None), None);
        assert_eq!(limits.longest_window_seconds(), 60 * 60);
        assert_eq!(
            SendLimits::address_key("203.0.113.9"),
            "passcode-send-address:203.0.113.9"
        );
    }

    proptest! {
        #[test]
        fn the_outcome_does_not_depend_on_the_order_accounts_were_found(
            order in Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
        ) {
            let all = [
                account(1, "a@example.com", None, "William", "Smith"),
                account(2, "b@example.com", Some("07400 123456"), "Bill", "Smith"),
                account(3, "c@example.com", None, "Will", "Smith"),
                account(4, "d@example.com", Some("07400 123457"), "Jo", "Smith"),
                account(5, "e@example.com", None, "William", "Smyth"),
                account(6, "f@example.com", None, "William", "Smith"),
            ];
            let shuffled: Vec<Account> = order.iter().map(|&i| all[i].clone()).collect();
            let email = AccountEmail::parse("new@example.com").unwrap();
            let mobile = Mobile::parse("07400 123457").unwrap();
            for a in [
                applicant(&email, None, Some(("Billy", "Smith"))),
                applicant(&email, Some(&mobile), Some(("Billy", "Smith"))),
                applicant(&email, None, Some(("Nobody", "Smith"))),
            ] {
                prop_assert_eq!(find_duplicate(&a, &shuffled), find_duplicate(&a, &all));
            }
            prop_assert_eq!(
                find_duplicate(&applicant(&email, None, Some(("Billy", "Smith"))), &shuffled).map(|d| d.user_id()),
                Some(1)
            );
        }
    }
}
