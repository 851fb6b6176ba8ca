//! Signing in to or creating a DfE Identity account (DESIGN §7.3, seed 002): what the person has told and proven
//! so far, kept in the server-side session as an [`AccountJourney`], and which page of the journey they may see, so
//! that deep links, the back button and a second tab always land somewhere sensible.
//!
//! The order is Get an Identity's: email → its passcode → (no account: mobile → its passcode → name → date of
//! birth) → "account created". Nothing says whether an email has an account before its passcode is entered: the
//! email page and the code page read and behave the same for every address. Once the email is proven, an account
//! with it is signed in to at once (seed 002 scenario 1); once the mobile is proven, an account with it likewise
//! (scenario 2); once the name and date of birth are typed, an account with the same ones is offered ("Is this
//! you?", scenario 3) with its email partly hidden, and a passcode to *that* email signs in to it.
//!
//! **The mobile may be skipped only where the service allows it** (issue 13 §2): a client whose
//! [`MobilePolicy`] is `Optional` has the mobile page offer "Continue without a mobile number", which goes on to
//! the name with no mobile kept ([`AccountJourney::skip_mobile`]); for any other client the skip is refused with
//! the mobile page's error, whoever sent it, so a forged form gets no further than the page that hides the button.
//!
//! Pure: the server works out what the database says and these functions decide.

use super::{AccountEmail, AccountName, Mobile};
use crate::domain::provider::MobilePolicy;
use crate::domain::validation::{validate_text, FieldError, MAX_NAME_CHARS};
use crate::routes;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The email form's field.
pub const EMAIL_FIELD: &str = "email";
/// Every passcode form's field.
pub const CODE_FIELD: &str = "code";
pub const MOBILE_FIELD: &str = "mobile";
/// The mobile form's second button, "Continue without a mobile number": `skip_mobile=yes`.
pub const SKIP_MOBILE_FIELD: &str = "skip_mobile";
/// A skip refused: the service they came from needs a mobile number.
pub const MOBILE_NEEDED: &str =
    "Enter your mobile number: the service you came from needs one to create an account";
pub const FIRST_NAME_FIELD: &str = "first_name";
pub const LAST_NAME_FIELD: &str = "last_name";
pub const PREFERRED_NAME_FIELD: &str = "preferred_name";
/// The date of birth's three inputs; the error links to the day.
pub const DOB_DAY_FIELD: &str = "dob-day";
pub const DOB_MONTH_FIELD: &str = "dob-month";
pub const DOB_YEAR_FIELD: &str = "dob-year";
/// "Is this you?": `yes` or `no`.
pub const IS_THIS_YOU_FIELD: &str = "is_this_you";

/// What the person chose on the landing page. Only the wording after the email's passcode differs: an email with an
/// account signs in to it either way (with "you already have an account" for someone who chose to create one), and
/// one without an account goes on to create one (after "you do not have an account" for someone who chose to sign
/// in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Intent {
    #[default]
    SignIn,
    Create,
}

impl Intent {
    /// The landing page's links and the email form's hidden field: `create`, or anything else for signing in.
    pub fn parse(s: &str) -> Self {
        if s == "create" {
            Self::Create
        } else {
            Self::SignIn
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::Create => "create",
        }
    }
}

/// Scenario 3's account: who it is, its email partly hidden as the page shows it, and whether a passcode has been
/// sent to its email (after "Yes, this is me").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingAccount {
    pub user_id: i64,
    pub masked_email: String,
    #[serde(default)]
    pub code_sent: bool,
}

/// Where someone signing in or creating an account has got to (DESIGN §7.3), kept in the server-side session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountJourney {
    pub intent: Intent,
    /// The email a passcode was sent to.
    pub email: Option<AccountEmail>,
    /// Its passcode was entered (and no account has it, or they would be signed in by now).
    pub email_proven: bool,
    /// The mobile a passcode was sent to.
    pub mobile: Option<Mobile>,
    pub mobile_proven: bool,
    /// They chose "Continue without a mobile number", which their service allows: no mobile is kept.
    #[serde(default)]
    pub mobile_skipped: bool,
    pub name: Option<AccountName>,
    pub date_of_birth: Option<NaiveDate>,
    /// Scenario 3: an account with the same name and date of birth, while "Is this you?" is answered.
    pub existing: Option<ExistingAccount>,
    /// They answered "No, this is not me" for this account: it is not offered again.
    #[serde(default)]
    pub declined: Option<i64>,
}

/// The journey's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountStep {
    /// "Sign in with GOV.UK One Login or a DfE Identity account".
    Landing,
    Email,
    EmailCode,
    NoAccount,
    Mobile,
    MobileCode,
    Name,
    DateOfBirth,
    IsThisYou,
    ExistingCode,
}

impl AccountJourney {
    /// The page to carry on at.
    pub fn resume_at(&self) -> &'static str {
        if self.existing.as_ref().is_some_and(|e| e.code_sent) {
            routes::ACCOUNT_SIGN_IN_EXISTING_CODE
        } else if self.existing.is_some() {
            routes::ACCOUNT_SIGN_IN_IS_THIS_YOU
        } else if self.email.is_none() {
            routes::ACCOUNT_SIGN_IN_EMAIL
        } else if !self.email_proven {
            routes::ACCOUNT_SIGN_IN_EMAIL_CODE
        } else if self.mobile.is_none() && !self.mobile_skipped {
            match self.intent {
                Intent::SignIn => routes::ACCOUNT_SIGN_IN_NO_ACCOUNT,
                Intent::Create => routes::ACCOUNT_SIGN_IN_MOBILE,
            }
        } else if !self.mobile_done() {
            routes::ACCOUNT_SIGN_IN_MOBILE_CODE
        } else if self.name.is_none() {
            routes::ACCOUNT_SIGN_IN_NAME
        } else {
            routes::ACCOUNT_SIGN_IN_DATE_OF_BIRTH
        }
    }

    /// Whether they may see `step` now.
    pub fn may_see(&self, step: AccountStep) -> bool {
        use AccountStep::*;
        match step {
            Landing | Email => true,
            EmailCode => self.email.is_some() && !self.email_proven,
            NoAccount | Mobile => self.email_proven,
            MobileCode => self.email_proven && self.mobile.is_some() && !self.mobile_proven,
            Name => self.mobile_done(),
            DateOfBirth => self.mobile_done() && self.name.is_some(),
            IsThisYou => self.existing.is_some(),
            ExistingCode => self.existing.as_ref().is_some_and(|e| e.code_sent),
        }
    }

    /// Where to send someone who asked for `step`, or `None` if they may see it.
    pub fn redirect_for(&self, step: AccountStep) -> Option<&'static str> {
        (!self.may_see(step)).then(|| self.resume_at())
    }

    /// A passcode was sent to `email`: everything proven or typed after it belongs to another email and starts
    /// again.
    pub fn email_sent(&mut self, email: AccountEmail) {
        if self.email.as_ref().map(AccountEmail::key) != Some(email.key()) {
            *self = Self {
                intent: self.intent,
                ..Self::default()
            };
        }
        self.email = Some(email);
        self.email_proven = false;
    }

    /// A passcode was sent to `mobile`: it must be proven again, and what came after it is kept.
    pub fn mobile_sent(&mut self, mobile: Mobile) {
        self.mobile = Some(mobile);
        self.mobile_proven = false;
        self.mobile_skipped = false;
    }

    /// The mobile step is over: a number proven, or skipped where the service allows it.
    pub fn mobile_done(&self) -> bool {
        self.mobile_proven || self.mobile_skipped
    }

    /// "Continue without a mobile number" under the service's `policy`: allowed, any number typed or sent before
    /// is dropped and they go on to their name; refused, the mobile page's error and nothing changes.
    pub fn skip_mobile(&mut self, policy: MobilePolicy) -> Result<(), FieldError> {
        match policy {
            MobilePolicy::Optional => {
                self.intent = Intent::Create;
                self.mobile = None;
                self.mobile_proven = false;
                self.mobile_skipped = true;
                Ok(())
            }
            MobilePolicy::Required => Err(FieldError::new(MOBILE_FIELD, MOBILE_NEEDED)),
        }
    }
}

/// The name form as posted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameInput {
    pub first: String,
    pub last: String,
    pub preferred: String,
}

/// The name form's answers checked: first and last required, a preferred name if given (each at most
/// [`MAX_NAME_CHARS`], invisible characters removed, at least one letter or number).
pub fn parse_name(input: &NameInput) -> Result<AccountName, Vec<FieldError>> {
    let first = validate_text(
        FIRST_NAME_FIELD,
        "your first name",
        &input.first,
        true,
        MAX_NAME_CHARS,
    );
    let last = validate_text(
        LAST_NAME_FIELD,
        "your last name",
        &input.last,
        true,
        MAX_NAME_CHARS,
    );
    let preferred = validate_text(
        PREFERRED_NAME_FIELD,
        "your preferred name",
        &input.preferred,
        false,
        MAX_NAME_CHARS,
    );
    match (first, last, preferred) {
        (Ok(first), Ok(last), Ok(preferred)) => Ok(AccountName {
            first,
            last,
            preferred: Some(preferred).filter(|p| !p.is_empty()),
        }),
        (first, last, preferred) => Err([first.err(), last.err(), preferred.err()]
            .into_iter()
            .flatten()
            .collect()),
    }
}

/// The error for a passcode that could not be sent because of the sending limits: when they may ask again.
pub fn too_many_codes(field_id: &str, window_seconds: i64) -> FieldError {
    FieldError::new(
        field_id,
        format!(
            "You have asked for too many security codes. Try again {}",
            crate::domain::journey::try_again_in(window_seconds)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> AccountEmail {
        AccountEmail::parse(s).unwrap()
    }

    fn creating() -> AccountJourney {
        AccountJourney {
            intent: Intent::Create,
            ..AccountJourney::default()
        }
    }

    #[test]
    fn each_page_is_open_only_once_what_it_needs_is_proven() {
        let mut j = creating();
        assert_eq!(j.resume_at(), routes::ACCOUNT_SIGN_IN_EMAIL);
        for step in [
            AccountStep::EmailCode,
            AccountStep::Mobile,
            AccountStep::MobileCode,
            AccountStep::Name,
            AccountStep::DateOfBirth,
            AccountStep::IsThisYou,
            AccountStep::ExistingCode,
        ] {
            assert_eq!(
                j.redirect_for(step),
                Some(routes::ACCOUNT_SIGN_IN_EMAIL),
                "{step:?}"
            );
        }
        j.email_sent(email("jo@example.com"));
        assert_eq!(j.redirect_for(AccountStep::EmailCode), None);
        assert_eq!(
            j.redirect_for(AccountStep::Mobile),
            Some(routes::ACCOUNT_SIGN_IN_EMAIL_CODE)
        );
        j.email_proven = true;
        assert_eq!(j.resume_at(), routes::ACCOUNT_SIGN_IN_MOBILE);
        assert_eq!(
            j.redirect_for(AccountStep::EmailCode),
            Some(routes::ACCOUNT_SIGN_IN_MOBILE),
            "a proven email's code page is over"
        );
        j.mobile_sent(Mobile::parse("07400 123456").unwrap());
        assert_eq!(j.resume_at(), routes::ACCOUNT_SIGN_IN_MOBILE_CODE);
        assert_eq!(
            j.redirect_for(AccountStep::Name),
            Some(routes::ACCOUNT_SIGN_IN_MOBILE_CODE)
        );
        j.mobile_proven = true;
        assert_eq!(j.resume_at(), routes::ACCOUNT_SIGN_IN_NAME);
        assert_eq!(
            j.redirect_for(AccountStep::DateOfBirth),
            Some(routes::ACCOUNT_SIGN_IN_NAME)
        );
        j.name = Some(AccountName {
            first: "Jo".into(),
            last: "Bloggs".into(),
            preferred: None,
        });
        assert_eq!(j.resume_at(), routes::ACCOUNT_SIGN_IN_DATE_OF_BIRTH);
        j.existing = Some(ExistingAccount {
            user_id: 7,
            masked_email: "j****@****.com".into(),
            code_sent: false,
        });
        assert_eq!(j.resume_at(), routes::ACCOUNT_SIGN_IN_IS_THIS_YOU);
        assert_eq!(
            j.redirect_for(AccountStep::ExistingCode),
            Some(routes::ACCOUNT_SIGN_IN_IS_THIS_YOU)
        );
    }

    #[test]
    fn the_mobile_is_skipped_only_where_the_service_allows_it() {
        let mut j = creating();
        j.email_sent(email("jo@example.com"));
        j.email_proven = true;
        j.mobile_sent(Mobile::parse("07400 123456").unwrap());
        let before = j.clone();
        assert_eq!(
            j.skip_mobile(MobilePolicy::Required),
            Err(FieldError::new(MOBILE_FIELD, MOBILE_NEEDED))
        );
        assert_eq!(j, before, "a refused skip changes nothing");
        assert_eq!(
            j.redirect_for(AccountStep::Name),
            Some(routes::ACCOUNT_SIGN_IN_MOBILE_CODE)
        );

        assert_eq!(j.skip_mobile(MobilePolicy::Optional), Ok(()));
        assert_eq!(j.mobile, None, "no number is kept");
        assert_eq!(j.resume_at(), routes::ACCOUNT_SIGN_IN_NAME);
        assert_eq!(j.redirect_for(AccountStep::Name), None);
        assert_eq!(
            j.redirect_for(AccountStep::MobileCode),
            Some(routes::ACCOUNT_SIGN_IN_NAME),
            "no code to enter"
        );
        assert_eq!(
            j.redirect_for(AccountStep::Mobile),
            None,
            "they may go back and give one"
        );
        j.mobile_sent(Mobile::parse("07400 123456").unwrap());
        assert!(!j.mobile_skipped);
        assert_eq!(j.resume_at(), routes::ACCOUNT_SIGN_IN_MOBILE_CODE);
    }

    #[test]
    fn someone_signing_in_whose_email_has_no_account_is_told_before_creating_one() {
        let mut j = AccountJourney::default();
        j.email_sent(email("jo@example.com"));
        j.email_proven = true;
        assert_eq!(j.resume_at(), routes::ACCOUNT_SIGN_IN_NO_ACCOUNT);
        assert_eq!(j.redirect_for(AccountStep::Mobile), None, "they may go on");
    }

    #[test]
    fn a_new_email_starts_again_and_the_same_one_keeps_what_came_after() {
        let mut j = creating();
        j.email_sent(email("jo@example.com"));
        j.email_proven = true;
        j.mobile_sent(Mobile::parse("+447400123456").unwrap());
        j.email_sent(email("JO@example.com"));
        assert!(j.mobile.is_some(), "the same address in another case");
        assert!(!j.email_proven, "a new code must be entered");
        j.email_sent(email("someone.else@example.com"));
        assert_eq!(j.mobile, None);
        assert_eq!(j.intent, Intent::Create, "the choice is kept");
    }

    #[test]
    fn names_need_a_first_and_last_name_and_take_a_preferred_one() {
        let ok = parse_name(&NameInput {
            first: " Jo ".into(),
            last: "Bloggs".into(),
            preferred: "".into(),
        })
        .unwrap();
        assert_eq!((ok.first.as_str(), ok.last.as_str()), ("Jo", "Bloggs"));
        assert_eq!(ok.preferred, None);
        let errors = parse_name(&NameInput {
            first: "".into(),
            last: "x".repeat(201),
            preferred: "\u{200B}".into(),
        })
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field_id.as_str()).collect();
        assert_eq!(fields, [FIRST_NAME_FIELD, LAST_NAME_FIELD]);
        assert_eq!(
            parse_name(&NameInput {
                first: "Jo".into(),
                last: "Bloggs".into(),
                preferred: "JB".into(),
            })
            .unwrap()
            .preferred
            .as_deref(),
            Some("JB")
        );
    }

    #[test]
    fn too_many_codes_says_when_to_try_again() {
        assert_eq!(
            too_many_codes(EMAIL_FIELD, 900).message,
            "You have asked for too many security codes. Try again in 15 minutes"
        );
    }

    #[test]
    fn intent_reads_only_create_as_create() {
        assert_eq!(Intent::parse("create"), Intent::Create);
        for other in ["", "sign-in", "CREATE", "x"] {
            assert_eq!(Intent::parse(other), Intent::SignIn);
        }
    }
}
