//! Which form a flash belongs to. The server's handlers write a [`crate::ssr::Flash`] for a form (what was typed
//! and what was wrong, kept between the POST and the GET that follows) and the page for that form takes it back:
//! both name the form with a [`FormId`], so they cannot drift apart.

use serde::{Deserialize, Serialize};

/// A form that can leave a flash. Stored in sessions as a string (`"connect-nino"`, `"decision-TRS-123456"`):
/// the same strings as before this type existed, so sessions saved then still read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum FormId {
    /// The phase banner's feedback form (also the default, only so a `Flash` can be built field by field).
    #[default]
    Feedback,
    /// The proof-of-identity form.
    IdentitySupport,
    ConnectNino,
    ConnectTrn,
    /// The third question: QTS, ITT provider and year.
    ConnectItt,
    /// The staff page's role forms.
    StaffRole,
    /// The console's success banner (not a form, but carried the same way).
    SupportBanner,
    /// The console's forms for a service (an OpenID Connect client): adding one, changing its URIs.
    ServiceForm,
    /// The console's form for adding an API client.
    ApiClientForm,
    /// A new client secret or API key, carried to the one page that shows it, once (not a form either).
    NewSecret,
    /// The DfE Identity account's forms (DESIGN §7.3): email, each passcode, mobile, name, date of birth and
    /// "Is this you?".
    AccountEmail,
    AccountEmailCode,
    AccountMobile,
    AccountMobileCode,
    AccountName,
    AccountDateOfBirth,
    AccountIsThisYou,
    AccountExistingCode,
    /// The TRN-in-use flow (issue 13 §3, §6): can you access the holder's email, its code, which email to keep.
    AccountTrnInUse,
    AccountTrnInUseCode,
    AccountKeepEmail,
    /// The account page's forms (issue 13 §4): a new email and its passcode, a new mobile and its passcode, the
    /// name, the date of birth; and its "changed" banner (not a form, carried the same way).
    AccountChangeEmail,
    AccountChangeEmailCode,
    AccountChangeMobile,
    AccountChangeMobileCode,
    AccountChangeName,
    AccountChangeDateOfBirth,
    AccountChanged,
    /// A task's decision, assignment and disconnect forms, by task reference.
    Decision(String),
    /// The disconnect form of a task, by task reference.
    Disconnect(String),
}

impl FormId {
    const FIXED: [(FormId, &'static str); 28] = [
        (FormId::Feedback, "feedback"),
        (FormId::IdentitySupport, "identity-support"),
        (FormId::ConnectNino, "connect-nino"),
        (FormId::ConnectTrn, "connect-trn"),
        (FormId::ConnectItt, "connect-itt"),
        (FormId::StaffRole, "staff-role"),
        (FormId::SupportBanner, "support-banner"),
        (FormId::ServiceForm, "service-form"),
        (FormId::ApiClientForm, "api-client-form"),
        (FormId::NewSecret, "new-secret"),
        (FormId::AccountEmail, "account-email"),
        (FormId::AccountEmailCode, "account-email-code"),
        (FormId::AccountMobile, "account-mobile"),
        (FormId::AccountMobileCode, "account-mobile-code"),
        (FormId::AccountName, "account-name"),
        (FormId::AccountDateOfBirth, "account-date-of-birth"),
        (FormId::AccountIsThisYou, "account-is-this-you"),
        (FormId::AccountExistingCode, "account-existing-code"),
        (FormId::AccountTrnInUse, "account-trn-in-use"),
        (FormId::AccountTrnInUseCode, "account-trn-in-use-code"),
        (FormId::AccountKeepEmail, "account-keep-email"),
        (FormId::AccountChangeEmail, "account-change-email"),
        (FormId::AccountChangeEmailCode, "account-change-email-code"),
        (FormId::AccountChangeMobile, "account-change-mobile"),
        (
            FormId::AccountChangeMobileCode,
            "account-change-mobile-code",
        ),
        (FormId::AccountChangeName, "account-change-name"),
        (
            FormId::AccountChangeDateOfBirth,
            "account-change-date-of-birth",
        ),
        (FormId::AccountChanged, "account-changed"),
    ];

    /// The form's name as stored.
    pub fn name(&self) -> String {
        match self {
            Self::Decision(reference) => format!("decision-{reference}"),
            Self::Disconnect(reference) => format!("disconnect-{reference}"),
            fixed => Self::FIXED
                .iter()
                .find(|(id, _)| id == fixed)
                .map(|(_, name)| name.to_string())
                .unwrap_or_default(),
        }
    }

    /// The form a stored name names, if any.
    pub fn parse(name: &str) -> Option<Self> {
        if let Some((id, _)) = Self::FIXED.iter().find(|(_, n)| *n == name) {
            return Some(id.clone());
        }
        if let Some(reference) = name.strip_prefix("decision-") {
            return Some(Self::Decision(reference.to_string()));
        }
        name.strip_prefix("disconnect-")
            .map(|reference| Self::Disconnect(reference.to_string()))
    }
}

impl From<FormId> for String {
    fn from(id: FormId) -> Self {
        id.name()
    }
}

impl TryFrom<String> for FormId {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(&name).ok_or_else(|| format!("unknown form `{name}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_reads_back_from_the_name_it_is_stored_under() {
        let all = FormId::FIXED.iter().map(|(id, _)| id.clone()).chain([
            FormId::Decision("TRS-123456".into()),
            FormId::Disconnect("TRS-123456".into()),
        ]);
        for id in all {
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<FormId>(&json).unwrap(), id, "{json}");
        }
    }

    #[test]
    fn the_names_are_the_strings_sessions_already_hold() {
        // Literals, as the server wrote them before FormId: a session saved then must still read.
        let read = |s: &str| serde_json::from_str::<FormId>(s).unwrap();
        assert_eq!(read(r#""feedback""#), FormId::Feedback);
        assert_eq!(read(r#""identity-support""#), FormId::IdentitySupport);
        assert_eq!(read(r#""connect-nino""#), FormId::ConnectNino);
        assert_eq!(read(r#""connect-trn""#), FormId::ConnectTrn);
        assert_eq!(read(r#""connect-itt""#), FormId::ConnectItt);
        assert_eq!(read(r#""staff-role""#), FormId::StaffRole);
        assert_eq!(read(r#""support-banner""#), FormId::SupportBanner);
        assert_eq!(
            read(r#""decision-TRS-123456""#),
            FormId::Decision("TRS-123456".into())
        );
        assert_eq!(
            serde_json::to_string(&FormId::Decision("TRS-1".into())).unwrap(),
            r#""decision-TRS-1""#
        );
        assert!(serde_json::from_str::<FormId>(r#""nonsense""#).is_err());
    }
}
