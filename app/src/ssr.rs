//! Server-only types the pages read from the request: asset URLs, the CSRF token and the server-side session.
//! The server's middleware creates them for every request and saves the session afterwards.

use crate::domain::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Versioned URLs of the stylesheet and scripts, so they can be cached for a year.
#[derive(Clone, Debug)]
pub struct AssetUrls {
    pub css: String,
    /// What starts GOV.UK Frontend on pages without islands.
    pub script: String,
}

impl Default for AssetUrls {
    fn default() -> Self {
        Self {
            css: "/assets/main.css".into(),
            script: "/assets/app.js".into(),
        }
    }
}

/// Links to GOV.UK One Login shown in the header once signed in.
#[derive(Clone, Debug)]
pub struct OneLoginLinks {
    pub account_url: String,
}

/// What a form sent and what was wrong with it, kept in the session between the POST and the GET that follows
/// (post/redirect/get), so the page can show the errors and everything the person typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub form: crate::forms::FormId,
    pub values: BTreeMap<String, String>,
    pub errors: Vec<FieldError>,
}

/// The most a flash keeps of what was typed, in bytes: room for any of our forms, and a bound on what one request
/// can make us store, whatever the handlers' own length checks do.
pub const MAX_FLASH_BYTES: usize = 8 * 1024;
/// The most a flash keeps of one value, in characters: above every field's own limit, so an answer that is too
/// long comes back (cut short) beside its error.
pub const MAX_FLASH_VALUE_CHARS: usize = 2_000;

impl Flash {
    /// This flash with each value cut to [`MAX_FLASH_VALUE_CHARS`] and all of them together to
    /// [`MAX_FLASH_BYTES`], keys included (later values in key order give way first).
    pub fn capped(mut self) -> Self {
        let mut budget = MAX_FLASH_BYTES;
        self.values.retain(|key, value| {
            if key.len() > budget {
                return false;
            }
            budget -= key.len();
            let mut end = value
                .char_indices()
                .nth(MAX_FLASH_VALUE_CHARS)
                .map_or(value.len(), |(i, _)| i)
                .min(budget);
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
            budget -= value.len();
            true
        });
        self
    }
}

/// Everything we keep about a browser between requests. Stored as JSON in the database, never in the cookie.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionData {
    #[serde(default)]
    pub flash: Option<Flash>,
    /// A One Login round trip in progress: what the callback must match.
    #[serde(default)]
    pub pending_auth: Option<PendingAuth>,
    /// Who is signed in, if anyone.
    #[serde(default)]
    pub user: Option<SignedInUser>,
    /// The `state` sent with the One Login logout request, checked on the signed-out page.
    #[serde(default)]
    pub logout_state: Option<String>,
    /// The connect journey's answers so far, for the signed-in person.
    #[serde(default)]
    pub connect: Option<crate::domain::journey::ConnectAnswers>,
    /// Signing in to or creating a DfE Identity account (DESIGN §7.3): what has been typed and proven so far.
    #[serde(default)]
    pub account_journey: Option<crate::domain::account::journey::AccountJourney>,
    /// A DfE Identity account holder changing their email or mobile on the account page: the new one, until its
    /// passcode is entered.
    #[serde(default)]
    pub account_change: Option<crate::domain::account::change::PendingChange>,
    /// A DfE Identity account holder finding their record (issue 13 §3): the answers so far and the look-up's
    /// outcome.
    #[serde(default)]
    pub account_record: Option<crate::domain::account_record_journey::AccountRecordJourney>,
    /// A DfE Identity account holder whose record another person holds: the TRN-in-use and merge flow's state
    /// (issue 13 §3 and §6).
    #[serde(default)]
    pub trn_in_use: Option<crate::domain::account_record::TrnInUse>,
    /// How far the TRN-in-use flow has gone for `trn_in_use`: the holder, the code sent, the code proven.
    #[serde(default)]
    pub account_merge: Option<crate::domain::account_merge::MergeProgress>,
    /// A support request for someone One Login could not verify, being written.
    #[serde(default)]
    pub identity_support: Option<crate::domain::identity_support::IdentitySupportDraft>,
    /// In a staff session: who is signed in to the support console. Their role is read afresh on each request.
    #[serde(default)]
    pub staff: Option<SignedInStaff>,
    /// In a staff session: a decision checked and waiting for "Confirm".
    #[serde(default)]
    pub pending_decision: Option<PendingDecision>,
    /// In a staff session: the dashboard list last shown (filters, search, sort and page), so "Back to tasks" and
    /// the page after a decision return to it.
    #[serde(default)]
    pub last_task_list: Option<crate::domain::support::TaskQuery>,
    /// A TRN token to redeem after identity is verified (§7.2)
    #[serde(default)]
    pub trn_token: Option<String>,
    /// Another service's authorization request (DESIGN §7.1), kept while the teacher signs in and goes through the
    /// journey, until a code takes them back to it.
    #[serde(default)]
    pub client_request: Option<crate::domain::provider::ClientRequest>,
    /// When the signed-in person last authenticated with One Login (seconds since the epoch): a client's `max_age`
    /// and the ID token's `auth_time`. `None` in sessions begun before it was kept.
    #[serde(default)]
    pub signed_in_at: Option<i64>,
    /// Where a service's logout request (`/oauth2/logout`) ends once One Login has signed the teacher out: the
    /// service's registered post-logout URI, with its state.
    #[serde(default)]
    pub post_logout_redirect: Option<String>,
}

impl SessionData {
    /// Whether support has said there is no record for the signed-in account holder, as their last look-up found.
    pub fn account_has_no_record(&self) -> bool {
        self.account_record
            .as_ref()
            .is_some_and(crate::domain::account_record_journey::AccountRecordJourney::no_record)
    }

    /// Another service's request, while it may still take the teacher back ([`ClientRequest::is_live`]).
    ///
    /// [`ClientRequest::is_live`]: crate::domain::provider::ClientRequest::is_live
    pub fn live_client_request(&self, now: i64) -> Option<&crate::domain::provider::ClientRequest> {
        self.client_request.as_ref().filter(|r| r.is_live(now))
    }
}

/// A member of staff signed in to the support console.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInStaff {
    pub staff_id: i64,
    pub name: String,
}

/// A decision on the check page: what will be done if the officer confirms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDecision {
    pub reference: String,
    /// The task's version when the decision form was sent.
    pub version: i64,
    pub decision: crate::domain::support::Decision,
    /// The form as sent, to go back to it with "Change".
    pub input: crate::domain::support::DecisionInput,
}

/// Which One Login round trip: sign in (`Cl.Cm`) or prove identity (`Cl.Cm.P2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthKind {
    SignIn,
    Identity,
}

/// The secrets of an authorize request, kept until its callback (rules 8, 9, 16).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuth {
    pub kind: AuthKind,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Unix seconds; a callback for a request older than the session's life is refused with it.
    pub started_at: i64,
}

/// Whether the signed-in person has proved their identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentityStatus {
    NotChecked,
    Verified(crate::domain::identity::VerifiedIdentity),
    NotVerified,
    /// Signed in with a DfE Identity account: the name and date of birth are the account's own, typed and never
    /// verified. Never counts as One Login's verification, and One Login's identity check is not offered.
    Unverified,
}

/// The signed-in person: our own `user_id` is the key we use (rule 35), whichever way they came in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub user_id: i64,
    /// How they signed in this time. Flattened, so a One Login session saved before there was a choice (its
    /// `subject` and `id_token` beside `user_id`) still reads, and reads as One Login.
    #[serde(flatten)]
    pub way_in: WayIn,
    /// One Login's verified email address; `None` when One Login has not verified it (then we neither keep it nor
    /// use it as matching evidence, and have no address to write to), and for a DfE Identity account, whose email
    /// is the account's, proven by a passcode but not by One Login.
    #[serde(default)]
    pub email: Option<crate::domain::identity::VerifiedEmail>,
    /// One Login's verification, or support's. A DfE Identity account's name and date of birth are its own, typed
    /// and never verified: an account holder is [`IdentityStatus::Unverified`] unless support verified them.
    pub identity: IdentityStatus,
}

/// How the signed-in person signed in (DESIGN §7.3: a person may have both ways in).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WayIn {
    /// GOV.UK One Login. `subject` is One Login's `sub` (back-channel logout ends the sessions holding it); the ID
    /// token is kept for the logout request's `id_token_hint` (rule 32).
    OneLogin { subject: String, id_token: String },
    /// A DfE Identity account, with an email and passcode: the account's `accounts.user_id`.
    Account { account_id: i64 },
}

impl SignedInUser {
    /// One Login's `sub`, when they signed in with One Login.
    pub fn one_login_subject(&self) -> Option<&str> {
        match &self.way_in {
            WayIn::OneLogin { subject, .. } => Some(subject),
            WayIn::Account { .. } => None,
        }
    }

    /// The ID token One Login gave at sign-in, for its logout request.
    pub fn one_login_id_token(&self) -> Option<&str> {
        match &self.way_in {
            WayIn::OneLogin { id_token, .. } => Some(id_token),
            WayIn::Account { .. } => None,
        }
    }

    /// Whether they signed in with a DfE Identity account.
    pub fn is_account(&self) -> bool {
        matches!(self.way_in, WayIn::Account { .. })
    }
}

/// The session as one request sees it, and what the request wants done with it afterwards.
#[derive(Debug, Default)]
pub struct SessionState {
    pub data: SessionData,
    /// True when the request loaded an existing session from its cookie.
    pub exists: bool,
    /// Save the data when the response is sent.
    pub dirty: bool,
    /// Give the session a new id (privilege changed, e.g. sign-in).
    pub rotate: bool,
    /// Delete the session and its cookie.
    pub end: bool,
}

/// A shared handle to the request's session. Cheap to clone; changes are saved by the session middleware.
#[derive(Clone, Debug, Default)]
pub struct SessionHandle(Arc<Mutex<SessionState>>);

impl SessionHandle {
    pub fn new(state: SessionState) -> Self {
        Self(Arc::new(Mutex::new(state)))
    }

    /// The state, for the middleware. A poisoned lock only means another task panicked mid-update; the data is
    /// still the best we have, so we carry on with it.
    pub fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Removes and returns the flash for `form`, if the last submission of that form left one.
    pub fn take_flash(&self, form: &crate::forms::FormId) -> Option<Flash> {
        let mut state = self.lock();
        if state.data.flash.as_ref().is_some_and(|f| f.form == *form) {
            state.dirty = true;
            state.data.flash.take()
        } else {
            None
        }
    }

    /// Keeps `flash` for the next request, cut down to a few KB ([`Flash::capped`]).
    pub fn set_flash(&self, flash: Flash) {
        let mut state = self.lock();
        state.data.flash = Some(flash.capped());
        state.dirty = true;
    }

    /// Asks for a new session id once this request ends: call whenever privilege changes.
    pub fn rotate_id(&self) {
        let mut state = self.lock();
        state.rotate = true;
        state.dirty = true;
    }

    /// The signed-in person, if any.
    pub fn user(&self) -> Option<SignedInUser> {
        self.lock().data.user.clone()
    }

    /// Changes the session's data and saves it once this request ends.
    pub fn update(&self, change: impl FnOnce(&mut SessionData)) {
        let mut state = self.lock();
        change(&mut state.data);
        state.dirty = true;
    }

    /// Ends the session: its row and its cookie go once this request ends. Data set after this goes into a new
    /// session with a new id.
    pub fn end(&self) {
        let mut state = self.lock();
        state.end = true;
        state.dirty = false;
        state.data = SessionData::default();
    }
}

/// A support request the teacher is waiting on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenTask {
    pub reference: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
}

/// What the database says about a signed-in teacher.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeacherFacts {
    pub record: Option<crate::domain::records::TeachingRecord>,
    pub open_task: Option<OpenTask>,
    /// Their verified identity as stored: One Login's, or the one support accepted (perhaps since this session
    /// began).
    pub verified_identity: Option<crate::domain::identity::IdentityVerification>,
}

/// The database could not answer; the page shows "Sorry, there is a problem with the service".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataUnavailable;

impl DataUnavailable {
    /// What pages, server functions and form posts all answer while the database is away (docs/operations.md).
    pub const STATUS: http::StatusCode = http::StatusCode::SERVICE_UNAVAILABLE;

    /// The server function's error for it: the response (a page being rendered, or the server function's own
    /// reply) gets [`Self::STATUS`], as a form post would.
    pub fn server_fn_error(self) -> leptos::prelude::ServerFnError {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(Self::STATUS);
        }
        leptos::prelude::ServerFnError::new("database unavailable")
    }
}

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// How pages read the teacher's record and support task. The server implements it over its storage and provides
/// it as context, so the app crate needs no database code.
pub trait TeacherData: Send + Sync {
    fn facts(&self, user_id: i64) -> BoxFuture<'_, Result<TeacherFacts, DataUnavailable>>;
    /// Every initial teacher training provider the records name, sorted: the third question's suggestions.
    fn itt_providers(&self) -> BoxFuture<'_, Result<std::sync::Arc<Vec<String>>, DataUnavailable>>;
    /// The person's DfE Identity account, for their account page; `None` when they have none (the default, for
    /// implementations that never hold accounts).
    fn account(
        &self,
        _user_id: i64,
    ) -> BoxFuture<'_, Result<Option<crate::domain::account::Account>, DataUnavailable>> {
        Box::pin(async { Ok(None) })
    }
}

/// Where `session`'s person stands in the journey, with the facts it was worked out from.
pub async fn position(
    session: &SessionHandle,
    data: &dyn TeacherData,
) -> Result<
    (
        crate::domain::journey::Position,
        Option<SignedInUser>,
        TeacherFacts,
    ),
    DataUnavailable,
> {
    use crate::domain::journey::Position;
    let Some(mut user) = session.user() else {
        return Ok((Position::SignedOut, None, TeacherFacts::default()));
    };
    let facts = data.facts(user.user_id).await?;
    // Support may have verified them since this session was told otherwise: from now on they are verified.
    if !matches!(user.identity, IdentityStatus::Verified(_)) {
        if let Some(verification) = &facts.verified_identity {
            user.identity = IdentityStatus::Verified(verification.identity.clone());
            let identity = user.identity.clone();
            session.update(|data| {
                if let Some(signed_in) = data.user.as_mut() {
                    signed_in.identity = identity;
                }
            });
        }
    }
    // Only a verified person is ever connected, so a record counts whatever this session says; and anyone with a
    // support request open waits for it, whether it is about their identity or their record.
    let position = if facts.record.is_some() {
        Position::Connected
    } else if facts.open_task.is_some() {
        Position::AwaitingSupport
    } else {
        match &user.identity {
            IdentityStatus::Verified(_) => {
                Position::Answering(session.lock().data.connect.clone().unwrap_or_default())
            }
            IdentityStatus::NotChecked => Position::IdentityNotChecked,
            IdentityStatus::NotVerified => Position::IdentityNotVerified,
            IdentityStatus::Unverified => Position::AccountNotConnected,
        }
    };
    Ok((position, Some(user), facts))
}

/// Why the console did not make a change: the task is not there, or what to tell the member of staff on the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeRefused {
    NoSuchTask,
    Field(FieldError),
}

/// What a console write did: done (with what it returns), refused, or the database could not answer.
pub type Written<T> = Result<Result<T, ChangeRefused>, DataUnavailable>;

/// How the support console reads what its pages show and makes the changes its forms ask for. The server implements
/// it over its storage (writing the audit log for views of personal data and for every change) and provides it as
/// context to pages; its form handlers use the same implementation, so a handler is form → port → redirect.
pub trait SupportConsole: Send + Sync {
    /// The member of staff with this id, with their current role.
    fn staff(
        &self,
        staff_id: i64,
    ) -> BoxFuture<'_, Result<Option<crate::domain::support::StaffMember>, DataUnavailable>>;
    fn tasks(
        &self,
        query: crate::domain::support::TaskQuery,
        me: i64,
    ) -> BoxFuture<'_, Result<crate::domain::support::TaskPage, DataUnavailable>>;
    /// The services the task dashboard can be filtered by (every registered client, by name).
    fn task_services(
        &self,
    ) -> BoxFuture<'_, Result<Vec<crate::domain::support::ServiceOption>, DataUnavailable>>;
    /// The task page for `viewer`; the view is audited.
    fn task(
        &self,
        reference: String,
        viewer: crate::domain::support::StaffMember,
    ) -> BoxFuture<'_, Result<Option<crate::domain::support::TaskView>, DataUnavailable>>;
    fn staff_list(
        &self,
    ) -> BoxFuture<'_, Result<Vec<crate::domain::support::StaffMember>, DataUnavailable>>;
    fn audit_log(
        &self,
        before: Option<i64>,
    ) -> BoxFuture<'_, Result<Vec<crate::domain::support::AuditLine>, DataUnavailable>>;
    /// The development mailbox, or `None` when the service does not run one.
    fn mailbox(
        &self,
    ) -> BoxFuture<'_, Result<Option<Vec<crate::domain::support::MailboxMessage>>, DataUnavailable>>;
    /// Assigns the task, if it is still at `version`, to `assignee` (or no one), as `by`.
    fn assign(
        &self,
        reference: String,
        version: i64,
        assignee: Option<i64>,
        by: crate::domain::support::StaffMember,
    ) -> BoxFuture<'_, Written<()>>;
    /// Saves an unfinished decision to come back to, if the task is still at `version`.
    fn save_draft(
        &self,
        reference: String,
        version: i64,
        input: crate::domain::support::DecisionInput,
        by: crate::domain::support::StaffMember,
    ) -> BoxFuture<'_, Written<()>>;
    /// Makes the decision checked on the check page and queues the teacher's email; the decision in words.
    fn decide(
        &self,
        pending: PendingDecision,
        by: crate::domain::support::StaffMember,
    ) -> BoxFuture<'_, Written<String>>;
    /// Gives member `staff_id` `role` (or none), as `by`; their name. Refusals are for the field `role-{staff_id}`.
    fn set_role(
        &self,
        staff_id: i64,
        role: Option<crate::domain::support::Role>,
        by: crate::domain::support::StaffMember,
    ) -> BoxFuture<'_, Written<String>>;
    /// The services registered to sign teachers in (OpenID Connect clients), enabled or not, by name.
    fn services(
        &self,
    ) -> BoxFuture<'_, Result<Vec<crate::domain::services::ServiceView>, DataUnavailable>>;
    /// The API clients, enabled or not, oldest first.
    fn api_clients(
        &self,
    ) -> BoxFuture<'_, Result<Vec<crate::domain::services::ApiClientView>, DataUnavailable>>;
}

/// Why a member of staff may not do what they asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffRefused {
    /// No staff session: sign in first.
    SignedOut,
    /// Signed in, but their current role does not allow it (or they have none).
    NoAccess {
        staff_id: i64,
    },
    Unavailable(DataUnavailable),
}

/// The member of staff signed in to `staff_session`, if their *current* role (read afresh through `console`, never
/// from the session) allows `what`. The one check of the console's form handlers and server functions alike.
pub async fn signed_in_staff(
    staff_session: &SessionHandle,
    console: &dyn SupportConsole,
    what: crate::domain::support::Permission,
) -> Result<crate::domain::support::StaffMember, StaffRefused> {
    let Some(signed_in) = staff_session.lock().data.staff.clone() else {
        return Err(StaffRefused::SignedOut);
    };
    match console.staff(signed_in.staff_id).await {
        Ok(Some(staff)) if staff.may(what) => Ok(staff),
        Ok(_) => Err(StaffRefused::NoAccess {
            staff_id: signed_in.staff_id,
        }),
        Err(e) => Err(StaffRefused::Unavailable(e)),
    }
}

/// Per-request context the middleware puts in the request's extensions.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The token every form must send back as `csrf_token` (or the `x-csrf-token` header).
    pub csrf_token: String,
    pub session: SessionHandle,
    /// The support console's session (its own cookie): only `staff`, `pending_auth` and `flash` are used.
    pub staff: SessionHandle,
}

/// The request context of the request being rendered or served.
pub fn request_context() -> Option<RequestContext> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<RequestContext>().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::FormId;

    #[test]
    fn flash_is_taken_once_and_only_by_its_own_form() {
        let session = SessionHandle::default();
        session.set_flash(Flash {
            form: FormId::Feedback,
            ..Flash::default()
        });
        session.lock().dirty = false;
        assert!(session.take_flash(&FormId::StaffRole).is_none());
        assert!(!session.lock().dirty);
        assert!(session.take_flash(&FormId::Feedback).is_some());
        assert!(session.lock().dirty);
        assert!(session.take_flash(&FormId::Feedback).is_none());
    }

    #[test]
    fn a_flash_stored_before_forms_were_typed_still_reads() {
        // As a session row held it before FormId.
        let stored = r#"{"flash":{"form":"connect-nino","values":{"nino":"QQ"},"errors":[]}}"#;
        let data: SessionData = serde_json::from_str(stored).unwrap();
        let flash = data.flash.unwrap();
        assert_eq!(flash.form, FormId::ConnectNino);
        assert_eq!(flash.values["nino"], "QQ");
        let json = serde_json::to_string(&flash).unwrap();
        assert!(json.starts_with(r#"{"form":"connect-nino","#), "{json}");
    }

    #[test]
    fn a_one_login_session_saved_before_the_way_in_was_typed_still_reads_as_one_login() {
        let stored = r#"{"user":{"user_id":4,"subject":"urn:fdc:a","email":null,"id_token":"t","identity":"NotChecked"}}"#;
        let user = serde_json::from_str::<SessionData>(stored)
            .unwrap()
            .user
            .unwrap();
        assert_eq!(
            user.way_in,
            WayIn::OneLogin {
                subject: "urn:fdc:a".into(),
                id_token: "t".into()
            }
        );
        assert_eq!(user.one_login_subject(), Some("urn:fdc:a"));
        assert!(!user.is_account());
        // And is written the same way.
        let again: serde_json::Value = serde_json::to_value(&user).unwrap();
        assert_eq!(again["subject"], "urn:fdc:a");
        assert_eq!(again["id_token"], "t");
    }

    #[test]
    fn an_account_session_has_no_one_login_subject_and_reads_back_as_an_account() {
        let user = SignedInUser {
            user_id: 9,
            way_in: WayIn::Account { account_id: 9 },
            email: None,
            identity: IdentityStatus::Unverified,
        };
        let json = serde_json::to_string(&user).unwrap();
        assert!(!json.contains("subject"), "{json}");
        let read: SignedInUser = serde_json::from_str(&json).unwrap();
        assert_eq!(read, user);
        assert!(read.is_account());
        assert_eq!(read.one_login_subject(), None);
        assert_eq!(read.one_login_id_token(), None);
    }

    #[test]
    fn an_account_holder_without_a_record_or_task_is_sent_to_find_their_record() {
        struct NoFacts;
        impl TeacherData for NoFacts {
            fn facts(&self, _: i64) -> BoxFuture<'_, Result<TeacherFacts, DataUnavailable>> {
                Box::pin(async { Ok(TeacherFacts::default()) })
            }
            fn itt_providers(
                &self,
            ) -> BoxFuture<'_, Result<std::sync::Arc<Vec<String>>, DataUnavailable>> {
                Box::pin(async { Ok(Default::default()) })
            }
        }
        let session = SessionHandle::default();
        session.update(|data| {
            data.user = Some(SignedInUser {
                user_id: 9,
                way_in: WayIn::Account { account_id: 9 },
                email: None,
                identity: IdentityStatus::Unverified,
            })
        });
        use std::future::Future;
        // Nothing here waits, so one poll finishes it.
        let mut future = std::pin::pin!(position(&session, &NoFacts));
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let std::task::Poll::Ready(Ok((position, _, _))) = future.as_mut().poll(&mut context)
        else {
            panic!("the position is known at once");
        };
        assert_eq!(
            position,
            crate::domain::journey::Position::AccountNotConnected
        );
        assert_eq!(position.home(), Some(crate::routes::ACCOUNT_FIND_RECORD));
    }

    #[test]
    fn a_flash_holds_a_few_kilobytes_at_most() {
        let session = SessionHandle::default();
        let mut values: BTreeMap<String, String> = (0..10)
            .map(|i| (format!("field{i}"), "é".repeat(1_500)))
            .collect();
        values.insert("details".into(), "x".repeat(9_000_000));
        session.set_flash(Flash {
            form: FormId::Feedback,
            values,
            errors: vec![],
        });
        let flash = session.take_flash(&FormId::Feedback).unwrap();
        let kept: usize = flash.values.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(kept <= MAX_FLASH_BYTES, "kept {kept} bytes");
        // The first value is cut to the per-value limit, keeping what was typed first.
        assert_eq!(flash.values["details"], "x".repeat(MAX_FLASH_VALUE_CHARS));
        // Multi-byte characters are never split.
        assert!(flash
            .values
            .values()
            .all(|v| v.chars().all(|c| c == 'x' || c == 'é')));
        // A small flash is kept whole.
        let small = Flash {
            form: FormId::Feedback,
            values: [("details".to_string(), "Clear".to_string())].into(),
            errors: vec![],
        };
        assert_eq!(small.clone().capped(), small);
    }
}
