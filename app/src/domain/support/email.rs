//! The emails a decision sends: their text (GOV.UK Notify templates), what fills their placeholders, and the
//! renderer the development mailbox and the tests use.

use super::TaskKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

named_enum! {
    /// The emails the service sends (GOV.UK Notify templates; the text lives here too, for the development mailbox
    /// and for tests).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub enum EmailTemplate {
        Connected = "connected",
        IdentityVerifiedAndConnected = "identity_verified_connected",
        Rejected = "rejected",
        NotConnected = "not_connected",
        /// An administrator undid a connection.
        Disconnected = "disconnected",
        /// The awarding service told us (through the API, DESIGN §7.2) that QTS was awarded; the link signs the
        /// teacher in with a TRN token.
        QtsAwarded = "qts_awarded",
        /// A one-time passcode proving the person owns the address (DfE Identity account, DESIGN §7.3).
        Passcode = "passcode",
        /// A person proved that the record another sign-in held is theirs, and the two were combined into one
        /// person (DESIGN §7.3, "TRN in use").
        AccountsMerged = "accounts_merged",
        /// Sent to a DfE Identity account's old email address when its holder changed it on the account page
        /// (issue 13 §4), so someone who did not make the change hears of it.
        AccountEmailChanged = "account_email_changed",
        /// Support found (or merged into) the record of a DfE Identity account holder (an account-record-matching
        /// task): as [`Self::Connected`], in words for someone who never used GOV.UK One Login.
        AccountRecordFound = "account_record_found",
        /// Support did not find a record for a DfE Identity account holder: as [`Self::NotConnected`], for them.
        AccountRecordNotFound = "account_record_not_found",
        /// An administrator undid the connection of a DfE Identity account holder's record: as
        /// [`Self::Disconnected`], for them ([`disconnected_email`]).
        AccountDisconnected = "account_disconnected",
        /// QTS was awarded to a record a DfE Identity account holder holds: as [`Self::QtsAwarded`] without the
        /// TRN token's One Login link ([`qts_awarded_email`]).
        QtsAwardedAccount = "qts_awarded_account",
    }
}

/// How the person connected to a record signs in, for choosing the words of an email about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInKind {
    OneLogin,
    Account,
    /// Both ways in: a person who proved the record another sign-in held was theirs (TRN in use, DESIGN §7.3).
    Both,
}

impl SignInKind {
    /// From whether the person has a One Login subject and a DfE Identity account. A person has at least one; one
    /// with neither (never stored) is spoken to as One Login's, as every email was before accounts.
    pub fn of(one_login: bool, account: bool) -> Self {
        match (one_login, account) {
            (true, true) => Self::Both,
            (false, true) => Self::Account,
            (_, false) => Self::OneLogin,
        }
    }
}

/// The email an administrator's disconnection sends, by how the teacher signs in and the kind of the task it was
/// undone from.
pub fn disconnected_email(person: SignInKind, task: TaskKind) -> EmailTemplate {
    match person {
        SignInKind::OneLogin => EmailTemplate::Disconnected,
        SignInKind::Account => EmailTemplate::AccountDisconnected,
        // Both ways in lose the record (the connection is the person's), so either email is true. We speak of the
        // way in they asked support with: the task's kind says which, and it is the one they know this reference by.
        SignInKind::Both => match task {
            TaskKind::AccountRecordMatching => EmailTemplate::AccountDisconnected,
            TaskKind::RecordMatching | TaskKind::IdentityVerification => {
                EmailTemplate::Disconnected
            }
        },
    }
}

/// The email the QTS award sends to the record's address, by who holds the record (`None`: nobody yet).
pub fn qts_awarded_email(holder: Option<SignInKind>) -> EmailTemplate {
    match holder {
        // A DfE Identity account is signed in to only through a service, so there is no link to give them, and
        // the record is theirs already (a TRN token could connect nobody).
        Some(SignInKind::Account) => EmailTemplate::QtsAwardedAccount,
        // Nobody: the link's TRN token connects the One Login they sign in with. One Login (with an account too or
        // not): the link signs them in straight to their record page, which only One Login can do.
        None | Some(SignInKind::OneLogin | SignInKind::Both) => EmailTemplate::QtsAwarded,
    }
}

named_enum! {
    /// The text messages the service sends (GOV.UK Notify SMS templates; the text lives here too, for the
    /// development mailbox and for tests).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub enum SmsTemplate {
        /// A one-time passcode proving the person owns the mobile (DfE Identity account, DESIGN §7.3).
        Passcode = "passcode",
    }
}

impl SmsTemplate {
    /// The message, with Notify's `((placeholder))` fields. Short: a text message over 160 characters costs more.
    pub fn text(self) -> &'static str {
        match self {
            Self::Passcode => {
                "((code)) is your DfE Identity account passcode. It expires in 15 minutes. Do not share it with anyone."
            }
        }
    }
}

/// What fills a passcode's placeholder, by email or by text message: the code alone.
pub fn passcode_personalisation(code: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("code".to_string(), code.to_string())])
}

impl EmailTemplate {
    /// The subject and body, with Notify's `((placeholder))` fields.
    pub fn text(self) -> (&'static str, &'static str) {
        match self {
            Self::Connected => (
                "You can now access your teaching record",
                "Dear ((name))\n\nWe have connected your GOV.UK One Login to your teaching record.\n\nYou can now sign in to see your record: ((sign_in_url))\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::IdentityVerifiedAndConnected => (
                "We have checked your identity and you can now access your teaching record",
                "Dear ((name))\n\nWe have checked your proof of identity and connected your GOV.UK One Login to your teaching record.\n\nYou can now sign in to see your record: ((sign_in_url))\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::Rejected => (
                "We could not check your identity",
                "Dear ((name))\n\nWe could not check your identity from the proof you sent.\n\nThe reason: ((reason))\n\nYou can sign in and send another proof of identity: ((sign_in_url))\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::NotConnected => (
                "We could not connect your teaching record",
                "Dear ((name))\n\nWe could not connect your GOV.UK One Login to a teaching record.\n\nThe reason: ((reason))\n\nYou can sign in and try again with your National Insurance number or teacher reference number (TRN): ((sign_in_url))\n\nIf you think this is wrong, reply to this email with your reference.\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::Disconnected => (
                "We have disconnected your teaching record",
                "Dear ((name))\n\nWe have disconnected your GOV.UK One Login from the teaching record it was connected to.\n\nThe reason: ((reason))\n\nYou can sign in and answer our questions again to connect your teaching record: ((sign_in_url))\n\nIf you think this is wrong, reply to this email with your reference.\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::QtsAwarded => (
                "You have been awarded qualified teacher status",
                "Dear ((name))\n\nYou have been awarded qualified teacher status (QTS) on ((awarded)). It is now on your teaching record.\n\nSign in with GOV.UK One Login to see your teaching record: ((sign_in_url))\n\nThis link connects your GOV.UK One Login to your teaching record without further questions once you have proved your identity. It works once, for 180 days. Do not share it.\n\nTeaching Regulation Agency",
            ),
            Self::Passcode => (
                "Your DfE Identity account passcode",
                "Use this passcode to confirm your email address:\n\n((code))\n\nIt expires in 15 minutes. Do not share it with anyone.\n\nIf you did not ask for a passcode, you can ignore this email.\n\nDepartment for Education",
            ),
            Self::AccountEmailChanged => (
                "The email address of your DfE Identity account has changed",
                "Dear ((name))\n\nThe email address you sign in to your DfE Identity account with has been changed to ((new_email)). We will not send emails to this address any more.\n\nIf you did not change it, reply to this email straight away.\n\nDepartment for Education",
            ),
            Self::AccountRecordFound => (
                "We have found your teaching record",
                "Dear ((name))\n\nWe have found your teaching record and linked it to your DfE Identity account.\n\nThe next time you sign in with your DfE Identity account, services that use your teaching record will have it.\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::AccountRecordNotFound => (
                "We could not find your teaching record",
                "Dear ((name))\n\nWe could not find a teaching record for your DfE Identity account.\n\nThe reason: ((reason))\n\nIf you think this is wrong, reply to this email with your reference.\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::AccountDisconnected => (
                "We have removed your teaching record from your DfE Identity account",
                "Dear ((name))\n\nWe have removed the teaching record that was linked to your DfE Identity account.\n\nThe reason: ((reason))\n\nThe next time you sign in with your DfE Identity account to a service that uses your teaching record, we will ask you some questions to find it again.\n\nIf you think this is wrong, reply to this email with your reference.\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::QtsAwardedAccount => (
                "You have been awarded qualified teacher status",
                "Dear ((name))\n\nYou have been awarded qualified teacher status (QTS) on ((awarded)). It is now on your teaching record.\n\nYour teaching record is linked to your DfE Identity account. Services you sign in to with your DfE Identity account will see your QTS the next time you sign in.\n\nTeaching Regulation Agency",
            ),
            Self::AccountsMerged => (
                "Your DfE Identity sign-ins have been combined",
                "Dear ((name))\n\nYou told us that the teaching record linked to another sign-in is yours, and confirmed it with a security code sent to that sign-in’s email address. We have combined the two into one, with your teaching record.\n\nYou can now sign in with ((ways_in)).\n\nIf you did not do this, reply to this email.\n\nDepartment for Education",
            ),
        }
    }
}

/// Fills Notify-style `((field))` placeholders. A field missing from `values` is left as it is, so a gap is seen.
pub fn render_template(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("((") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("))") {
            Some(end) => {
                let key = &after[..end];
                match values.get(key) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push_str("((");
                        out.push_str(key);
                        out.push_str("))");
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// What fills an email's placeholders: the teacher's name, the task's reference, where to sign in and, for the
/// emails that give one (a refusal, a disconnection), the reason.
pub fn personalisation(
    name: &str,
    reference: &str,
    reason: Option<String>,
    sign_in_url: &str,
) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    p.insert("name".to_string(), name.to_string());
    p.insert("reference".to_string(), reference.to_string());
    p.insert("sign_in_url".to_string(), sign_in_url.to_string());
    if let Some(reason) = reason {
        p.insert("reason".to_string(), reason);
    }
    p
}

/// What fills the QTS email's placeholders: the teacher's name, the day QTS was awarded in words, and the link that
/// signs them in with a TRN token (none for [`EmailTemplate::QtsAwardedAccount`]).
pub fn qts_awarded_personalisation(
    name: &str,
    awarded: chrono::NaiveDate,
    sign_in_url: Option<&str>,
) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    p.insert("name".to_string(), name.to_string());
    p.insert(
        "awarded".to_string(),
        crate::domain::uk_time::long_date(awarded),
    );
    if let Some(url) = sign_in_url {
        p.insert("sign_in_url".to_string(), url.to_string());
    }
    p
}

#[cfg(test)]
mod tests {
    use super::super::{Decision, NotConnectedReason, RejectReason, TaskKind};
    use super::*;

    #[test]
    fn an_account_holders_decision_emails_speak_of_their_account_never_of_one_login() {
        let decisions = [
            Decision::Connect {
                trn: "1234567".into(),
            },
            Decision::DoNotConnect {
                reason: NotConnectedReason::NoMatchingRecord,
                detail: None,
            },
            Decision::Merge {
                email: "ann@example.com".into(),
            },
        ];
        for decision in &decisions {
            let (_, body) = decision.email(TaskKind::AccountRecordMatching).text();
            assert!(body.contains("DfE Identity account"), "{decision:?}");
            assert!(!body.contains("One Login"), "{decision:?}");
            // A One Login teacher's record-matching decision still says One Login.
            if !matches!(decision, Decision::Merge { .. }) {
                let (_, body) = decision.email(TaskKind::RecordMatching).text();
                assert!(body.contains("GOV.UK One Login"), "{decision:?}");
            }
        }
    }

    #[test]
    fn an_account_holders_disconnection_and_qts_emails_speak_of_their_account_never_of_one_login() {
        let account_only = [
            disconnected_email(SignInKind::Account, TaskKind::AccountRecordMatching),
            disconnected_email(SignInKind::Both, TaskKind::AccountRecordMatching),
            qts_awarded_email(Some(SignInKind::Account)),
        ];
        for template in account_only {
            let (subject, body) = template.text();
            assert!(body.contains("DfE Identity account"), "{template:?}");
            assert!(!subject.contains("One Login"), "{template:?}");
            assert!(!body.contains("One Login"), "{template:?}");
            // No link: an account is signed in to only through a service.
            assert!(!body.contains("((sign_in_url))"), "{template:?}");
        }
        // A One Login teacher's still say One Login, and give the link that signs them in with it; so do those
        // of a person with both ways in who asked support through One Login, and the QTS email of a record
        // nobody holds yet (its TRN token connects a One Login) or of someone who signs in with One Login too.
        let one_login = [
            disconnected_email(SignInKind::OneLogin, TaskKind::RecordMatching),
            disconnected_email(SignInKind::OneLogin, TaskKind::IdentityVerification),
            disconnected_email(SignInKind::Both, TaskKind::RecordMatching),
            qts_awarded_email(None),
            qts_awarded_email(Some(SignInKind::OneLogin)),
            qts_awarded_email(Some(SignInKind::Both)),
        ];
        for template in one_login {
            let (_, body) = template.text();
            assert!(body.contains("GOV.UK One Login"), "{template:?}");
            assert!(body.contains("((sign_in_url))"), "{template:?}");
        }
        assert_eq!(
            [
                SignInKind::of(true, false),
                SignInKind::of(false, true),
                SignInKind::of(true, true)
            ],
            [SignInKind::OneLogin, SignInKind::Account, SignInKind::Both]
        );
    }

    #[test]
    fn each_decision_sends_its_own_email() {
        let connect = Decision::Connect {
            trn: "1234567".into(),
        };
        assert_eq!(
            connect.email(TaskKind::RecordMatching),
            EmailTemplate::Connected
        );
        assert_eq!(
            connect.email(TaskKind::IdentityVerification),
            EmailTemplate::IdentityVerifiedAndConnected
        );
        let reject = Decision::Reject {
            reason: RejectReason::ProofUnclear,
            detail: None,
        };
        assert_eq!(
            reject.email(TaskKind::IdentityVerification),
            EmailTemplate::Rejected
        );
        assert_eq!(
            reject.reason_for_teacher().unwrap(),
            "The proof of identity is unclear"
        );
        let other = Decision::DoNotConnect {
            reason: NotConnectedReason::Other,
            detail: Some("Two records".into()),
        };
        assert_eq!(
            other.email(TaskKind::RecordMatching),
            EmailTemplate::NotConnected
        );
        assert_eq!(other.reason_for_teacher().unwrap(), "Two records");
        for t in EmailTemplate::ALL {
            assert_eq!(EmailTemplate::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn templates_fill_their_placeholders_and_show_gaps() {
        let values: BTreeMap<String, String> = [("name".to_string(), "Ada".to_string())]
            .into_iter()
            .collect();
        assert_eq!(
            render_template("Dear ((name)), ((missing)) ((", &values),
            "Dear Ada, ((missing)) (("
        );
        let (_, body) = EmailTemplate::Rejected.text();
        let rendered = render_template(body, &values);
        assert!(rendered.starts_with("Dear Ada"));
        assert!(rendered.contains("((reason))"));
    }

    #[test]
    fn a_passcode_text_message_fills_its_code_and_fits_one_message() {
        for template in SmsTemplate::ALL {
            let rendered = render_template(template.text(), &passcode_personalisation("483920"));
            assert!(!rendered.contains("(("), "{template:?}");
            assert!(rendered.contains("483920"), "{template:?}");
            assert!(rendered.chars().count() <= 160, "{rendered}");
            assert_eq!(SmsTemplate::parse(template.as_str()), Some(template));
        }
    }

    /// The `((placeholder))` names in a template's text.
    fn placeholders(text: &str) -> Vec<&str> {
        text.split("((")
            .skip(1)
            .filter_map(|rest| rest.split_once("))").map(|(name, _)| name))
            .collect()
    }

    #[test]
    fn every_placeholder_of_every_email_sent_is_supplied() {
        let other = |detail: &str| Some(detail.to_string());
        let decisions = [
            Decision::Connect {
                trn: "1234567".into(),
            },
            Decision::DoNotConnect {
                reason: NotConnectedReason::NoMatchingRecord,
                detail: None,
            },
            Decision::DoNotConnect {
                reason: NotConnectedReason::Other,
                detail: other("Two records"),
            },
            Decision::Reject {
                reason: RejectReason::ProofUnclear,
                detail: None,
            },
        ];
        // What the decision and disconnect handlers send: each decision's email with its reason, and the
        // disconnection with the administrator's reason.
        let mut sent: Vec<(EmailTemplate, Option<String>)> = decisions
            .iter()
            .flat_map(|d| TaskKind::ALL.map(|kind| (d.email(kind), d.reason_for_teacher())))
            .collect();
        for person in [SignInKind::OneLogin, SignInKind::Account, SignInKind::Both] {
            for kind in TaskKind::ALL {
                sent.push((disconnected_email(person, kind), other("Wrong person")));
            }
        }
        // The QTS award's emails, as the API queues them, and the passcode email, each with its own
        // personalisation.
        for holder in [None, Some(SignInKind::Account)] {
            sent.push((qts_awarded_email(holder), None));
        }
        sent.push((EmailTemplate::Passcode, None));
        sent.push((EmailTemplate::AccountsMerged, None));
        sent.push((EmailTemplate::AccountEmailChanged, None));
        for template in EmailTemplate::ALL {
            assert!(
                sent.iter().any(|(t, _)| *t == template),
                "{template:?} is sent by something this test knows"
            );
        }
        for (template, reason) in sent {
            let awarded = chrono::NaiveDate::from_ymd_opt(2026, 7, 15).unwrap();
            let values = if template == EmailTemplate::QtsAwarded {
                qts_awarded_personalisation(
                    "Ann Lee",
                    awarded,
                    Some("https://example.com/sign-in?trn_token=abc"),
                )
            } else if template == EmailTemplate::QtsAwardedAccount {
                qts_awarded_personalisation("Ann Lee", awarded, None)
            } else if template == EmailTemplate::Passcode {
                passcode_personalisation("483920")
            } else if template == EmailTemplate::AccountEmailChanged {
                crate::domain::account::change::email_changed_personalisation(
                    "Ann",
                    &crate::domain::account::AccountEmail::parse("ann.new@example.com").unwrap(),
                )
            } else if template == EmailTemplate::AccountsMerged {
                crate::domain::account_merge::merged_personalisation("Ann", true, "ann@example.com")
            } else {
                personalisation(
                    "Ann Lee",
                    "TRS-123456",
                    reason,
                    "https://example.com/sign-in",
                )
            };
            let (subject, body) = template.text();
            for name in placeholders(subject).into_iter().chain(placeholders(body)) {
                assert!(
                    values.contains_key(name),
                    "{template:?} needs (({name})), which its personalisation leaves out"
                );
            }
            assert!(
                !render_template(body, &values).contains("(("),
                "{template:?}"
            );
        }
        assert_eq!(
            placeholders("Dear ((name)), ((reason)) (("),
            vec!["name", "reason"]
        );
    }
}
