//! Changing a DfE Identity account's details from its account page (DESIGN §7.3, issue 13 §4).
//!
//! - The **email** and the **mobile** change only once a passcode sent to the *new* one is entered (the sign-in
//!   journey's passcodes: 6 digits, 15 minutes, single use, 5 tries, resend, sending limits). Until then the new
//!   one waits in the session as a [`PendingChange`]; the account keeps the old one. A new email or mobile that
//!   another account has is refused after its passcode, so the page never says whose it is before it is proven.
//! - The **name** and the **date of birth** change only while no TRN is held: once the account is connected to a
//!   teaching record, that record's details are the ones that count, and they change through the record, not here
//!   ([`details_locked`]).
//!
//! Pure: the server reads the account and the record and these decide.

use super::{AccountEmail, Mobile};
use crate::domain::validation::FieldError;
use serde::{Deserialize, Serialize};

/// The email form's field on the account page.
pub const NEW_EMAIL_FIELD: &str = "email";
/// The mobile form's field on the account page.
pub const NEW_MOBILE_FIELD: &str = "mobile";

/// A new email or mobile that a passcode was sent to and not yet entered, kept in the server-side session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    pub email: Option<AccountEmail>,
    pub mobile: Option<Mobile>,
}

/// Why the name and date of birth cannot be changed, when they cannot: `Some` once a TRN is held.
pub fn details_locked(trn_held: bool) -> Option<&'static str> {
    trn_held.then_some(
        "Your account is linked to your teaching record, so your name and date of birth are the ones on that record. To change them, update your teaching record.",
    )
}

/// The error for a new email that is the account's own already.
pub fn same_email(current: &AccountEmail, new: &AccountEmail) -> Option<FieldError> {
    (current.key() == new.key()).then(|| {
        FieldError::new(
            NEW_EMAIL_FIELD,
            "Enter a different email address to the one on your account",
        )
    })
}

/// The error for a new mobile that is the account's own already.
pub fn same_mobile(current: Option<&Mobile>, new: &Mobile) -> Option<FieldError> {
    (current == Some(new)).then(|| {
        FieldError::new(
            NEW_MOBILE_FIELD,
            "Enter a different mobile number to the one on your account",
        )
    })
}

/// The error once a new email's passcode was entered but another account has that email.
pub fn email_taken() -> FieldError {
    FieldError::new(
        NEW_EMAIL_FIELD,
        "This email address belongs to another DfE Identity account. Enter a different email address, or sign in to that account instead",
    )
}

/// The error once a new mobile's passcode was entered but another account has that mobile.
pub fn mobile_taken() -> FieldError {
    FieldError::new(
        NEW_MOBILE_FIELD,
        "This mobile number belongs to another DfE Identity account. Enter a different mobile number, or sign in to that account instead",
    )
}

/// What fills the email to the old address after the email changed: the name they go by and the new address
/// partly hidden (it goes to an address that may no longer be theirs).
pub fn email_changed_personalisation(
    name: &str,
    new: &AccountEmail,
) -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([
        ("name".to_string(), name.to_string()),
        ("new_email".to_string(), new.masked()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_date_of_birth_lock_once_a_trn_is_held_and_say_why() {
        assert_eq!(details_locked(false), None);
        assert!(details_locked(true).unwrap().contains("teaching record"));
    }

    #[test]
    fn the_same_email_in_another_case_or_the_same_mobile_is_no_change() {
        let current = AccountEmail::parse("Jo@Example.com").unwrap();
        assert!(same_email(&current, &AccountEmail::parse("jo@example.COM").unwrap()).is_some());
        assert!(same_email(
            &current,
            &AccountEmail::parse("jo+npq@example.com").unwrap()
        )
        .is_none());
        let mobile = Mobile::parse("07400 123456").unwrap();
        assert!(same_mobile(Some(&mobile), &Mobile::parse("+447400123456").unwrap()).is_some());
        assert!(same_mobile(None, &mobile).is_none());
        assert!(same_mobile(Some(&mobile), &Mobile::parse("07400 123457").unwrap()).is_none());
    }

    #[test]
    fn taken_errors_name_their_field() {
        assert_eq!(email_taken().field_id, NEW_EMAIL_FIELD);
        assert_eq!(mobile_taken().field_id, NEW_MOBILE_FIELD);
    }
}
