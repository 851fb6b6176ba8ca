//! "TRN in use" (DESIGN §7.3, issue 13 §3 and §6): a DfE Identity account holder's record is held by another person
//! in Teacher ID. If the two are one person, they prove it with a passcode sent to the holder's email (the holder's
//! account email, or the One Login email on file when the holder signs in with One Login), choose which email to
//! keep when both have an account, and the two merge into one person with every way in. If they cannot reach that
//! email, support takes it from there.
//!
//! The flow's progress is a [`MergeProgress`] in the server-side session beside
//! [`crate::domain::account_record::TrnInUse`] (which the record questions set): it belongs to one asking person
//! and one TRN, so progress made for anyone or anything else counts for nothing. Which page someone may see follows
//! from it, so deep links, the back button and a second tab land somewhere sensible.
//!
//! Pure: the server reads the holder and checks the passcode; these functions decide.

use super::validation::FieldError;
use crate::routes;
use serde::{Deserialize, Serialize};

/// "Can you access this email address?": `yes` or `no`.
pub const ACCESS_FIELD: &str = "access";
/// "Which email address do you want to keep?": [`KeepEmail`].
pub const KEEP_EMAIL_FIELD: &str = "keep_email";

/// How far the flow has gone, for `user_id` (the account holder asking) and `trn` (the record another person
/// holds). The holder's full email is never kept here: it is read afresh whenever a code is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeProgress {
    pub user_id: i64,
    pub trn: String,
    /// The person who holds the record when the flow began. A different holder later means starting again.
    pub holder_user_id: i64,
    /// Where the code goes, partly hidden; `None` when the email on file cannot take a passcode (support only).
    pub masked_email: Option<String>,
    /// The holder signs in with GOV.UK One Login (the code goes to One Login's email on file).
    pub holder_one_login: bool,
    /// The holder has a DfE Identity account too: then the person chooses which email the merged account keeps.
    pub holder_has_account: bool,
    #[serde(default)]
    pub code_sent: bool,
    /// The code sent to the holder's email was entered: the two are one person.
    #[serde(default)]
    pub proven: bool,
    /// Once proven, when both have an account: the two emails to choose from, in full (both are theirs now).
    #[serde(default)]
    pub choices: Option<EmailChoices>,
}

/// "Which email address do you want to keep?": the holder's account email and the asking account's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChoices {
    pub holders: String,
    pub mine: String,
}

/// The flow's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MergeStep {
    /// "Your teaching record is already linked to another account": send a code, or "I cannot access it".
    TrnInUse,
    Code,
    ChooseEmail,
}

impl MergeProgress {
    /// Whether this progress is the flow of `user_id` for `trn`.
    pub fn is_for(&self, user_id: i64, trn: &str) -> bool {
        self.user_id == user_id && self.trn == trn
    }

    /// Whether the person may see `step` now.
    pub fn may_see(&self, step: MergeStep) -> bool {
        match step {
            MergeStep::TrnInUse => true,
            MergeStep::Code => self.code_sent && self.masked_email.is_some(),
            MergeStep::ChooseEmail => {
                self.proven && self.holder_has_account && self.choices.is_some()
            }
        }
    }

    /// Where someone who asked for `step` goes instead, or `None` if they may see it.
    pub fn redirect_for(&self, step: MergeStep) -> Option<&'static str> {
        if self.may_see(step) {
            return None;
        }
        Some(if self.may_see(MergeStep::ChooseEmail) {
            routes::ACCOUNT_TRN_IN_USE_CHOOSE_EMAIL
        } else {
            routes::ACCOUNT_TRN_IN_USE
        })
    }
}

/// The person's answer to "Can you access this email address?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailAccess {
    /// Send a code to it.
    Yes,
    /// Ask support instead.
    No,
}

/// Reads the access question's answer, or its error.
pub fn parse_access(input: &str) -> Result<EmailAccess, FieldError> {
    match input {
        "yes" => Ok(EmailAccess::Yes),
        "no" => Ok(EmailAccess::No),
        _ => Err(FieldError::new(
            ACCESS_FIELD,
            "Select yes if you can access this email address",
        )),
    }
}

/// Which account email the merged person keeps, when both had an account: the other one is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepEmail {
    /// The email of the account that already held the record.
    Holders,
    /// The email of the account the person is signed in with now.
    Mine,
}

impl KeepEmail {
    /// The radio's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Holders => "holders",
            Self::Mine => "mine",
        }
    }
}

/// Reads the choice of email, or its error.
pub fn parse_keep_email(input: &str) -> Result<KeepEmail, FieldError> {
    [KeepEmail::Holders, KeepEmail::Mine]
        .into_iter()
        .find(|k| k.as_str() == input)
        .ok_or_else(|| {
            FieldError::new(
                KEEP_EMAIL_FIELD,
                "Select which email address you want to keep",
            )
        })
}

/// The page's heading: the record is linked to another DfE Identity account, or to a GOV.UK One Login.
pub fn trn_in_use_heading(holder_one_login: bool) -> &'static str {
    if holder_one_login {
        "Your teaching record is already linked to another sign-in"
    } else {
        "Your teaching record is already linked to another account"
    }
}

/// How the merged person can sign in, for the email that tells them ("GOV.UK One Login or …").
pub fn ways_in(one_login: bool, account_email: &str) -> String {
    if one_login {
        format!(
            "GOV.UK One Login, or your DfE Identity account with the email address {account_email}"
        )
    } else {
        format!("your DfE Identity account with the email address {account_email}")
    }
}

/// What fills the "sign-ins combined" email's placeholders (`EmailTemplate::AccountsMerged`): the name to greet
/// and how they can sign in now.
pub fn merged_personalisation(
    name: &str,
    one_login: bool,
    account_email: &str,
) -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([
        ("name".to_string(), name.to_string()),
        ("ways_in".to_string(), ways_in(one_login, account_email)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress() -> MergeProgress {
        MergeProgress {
            user_id: 7,
            trn: "1234567".into(),
            holder_user_id: 3,
            masked_email: Some("a****@****.com".into()),
            holder_one_login: false,
            holder_has_account: true,
            code_sent: false,
            proven: false,
            choices: None,
        }
    }

    #[test]
    fn progress_counts_only_for_its_own_person_and_trn() {
        let p = progress();
        assert!(p.is_for(7, "1234567"));
        assert!(!p.is_for(8, "1234567"));
        assert!(!p.is_for(7, "7654321"));
    }

    #[test]
    fn the_code_page_needs_a_code_sent_and_the_choice_a_code_proven() {
        let mut p = progress();
        assert_eq!(p.redirect_for(MergeStep::TrnInUse), None);
        assert_eq!(
            p.redirect_for(MergeStep::Code),
            Some(routes::ACCOUNT_TRN_IN_USE)
        );
        assert_eq!(
            p.redirect_for(MergeStep::ChooseEmail),
            Some(routes::ACCOUNT_TRN_IN_USE)
        );
        p.code_sent = true;
        assert_eq!(p.redirect_for(MergeStep::Code), None);
        assert_eq!(
            p.redirect_for(MergeStep::ChooseEmail),
            Some(routes::ACCOUNT_TRN_IN_USE)
        );
        p.proven = true;
        p.choices = Some(EmailChoices {
            holders: "ann@example.com".into(),
            mine: "ann.lee@example.com".into(),
        });
        assert_eq!(p.redirect_for(MergeStep::ChooseEmail), None);
        assert_eq!(
            p.redirect_for(MergeStep::Code),
            None,
            "the back button from the choice"
        );
    }

    #[test]
    fn no_choice_of_email_when_the_holder_has_no_account() {
        let mut p = progress();
        p.holder_has_account = false;
        p.holder_one_login = true;
        p.code_sent = true;
        p.proven = true;
        assert_eq!(
            p.redirect_for(MergeStep::ChooseEmail),
            Some(routes::ACCOUNT_TRN_IN_USE)
        );
    }

    #[test]
    fn an_email_that_cannot_take_a_code_has_no_code_page() {
        let mut p = progress();
        p.masked_email = None;
        p.code_sent = true;
        assert_eq!(
            p.redirect_for(MergeStep::Code),
            Some(routes::ACCOUNT_TRN_IN_USE)
        );
    }

    #[test]
    fn answers_are_read_strictly_with_a_govuk_error_otherwise() {
        assert_eq!(parse_access("yes"), Ok(EmailAccess::Yes));
        assert_eq!(parse_access("no"), Ok(EmailAccess::No));
        for bad in ["", "Yes", "maybe", "yes "] {
            assert_eq!(parse_access(bad).unwrap_err().field_id, ACCESS_FIELD);
        }
        assert_eq!(parse_keep_email("holders"), Ok(KeepEmail::Holders));
        assert_eq!(parse_keep_email("mine"), Ok(KeepEmail::Mine));
        for bad in ["", "theirs", "MINE"] {
            assert_eq!(
                parse_keep_email(bad).unwrap_err().field_id,
                KEEP_EMAIL_FIELD
            );
        }
    }

    #[test]
    fn the_heading_and_the_email_name_one_login_only_when_the_person_has_it() {
        assert!(trn_in_use_heading(true).ends_with("another sign-in"));
        assert!(trn_in_use_heading(false).ends_with("another account"));
        assert!(ways_in(true, "a@example.com").starts_with("GOV.UK One Login"));
        assert!(!ways_in(false, "a@example.com").contains("One Login"));
        assert!(ways_in(false, "a@example.com").ends_with("a@example.com"));
        let (_, body) = crate::domain::support::EmailTemplate::AccountsMerged.text();
        let filled = crate::domain::support::render_template(
            body,
            &merged_personalisation("Ann", true, "a@example.com"),
        );
        assert!(!filled.contains("(("), "every placeholder filled: {filled}");
        assert!(filled.contains("Dear Ann"));
    }
}
