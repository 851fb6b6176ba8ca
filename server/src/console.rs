//! The support console's reads, for its pages: the server side of [`app::ssr::SupportConsole`]. Building the task
//! page means reading the task's details (what One Login gave, what the teacher typed), finding records support
//! staff might connect to with the same candidate search the journey uses, and comparing them field by field.

use crate::config::EmailConfig;
use crate::db::support::StoredTask;
use crate::db::support::{NewEmail, RoleChange, TaskChangeRefused};
use crate::db::DynStore;
use app::domain::identity::VerifiedName;
use app::domain::journey::Answer;
use app::domain::matching::IttIdentifier;
use app::domain::records::RecordStatus;
use app::domain::support::{
    compare_record, render_template, AuditLine, DecidedView, EmailTemplate, MailboxEmail,
    MailboxMessage, MailboxText, ProofView, Role, Row, StaffMember, SuggestedRecord, TaskFacts,
    TaskPage, TaskQuery, TaskView,
};
use app::domain::support::{Decision, DecisionInput};
use app::domain::task_details::TaskDetails;
use app::domain::validation::Nino;
use app::domain::FieldError;
use app::ssr::{
    BoxFuture, ChangeRefused, DataUnavailable, PendingDecision, SupportConsole, Written,
};
use chrono::{NaiveDate, Utc};

/// Suggested records shown on a task page, at most.
const MAX_SUGGESTIONS: usize = 10;

pub struct StoreConsole {
    pub store: DynStore,
    pub email: EmailConfig,
    /// Where the teacher signs in, for the emails decisions send.
    pub sign_in_url: String,
    /// Wakes the outbox once a decision has queued an email.
    pub outbox_wake: std::sync::Arc<tokio::sync::Notify>,
}

impl StoreConsole {
    /// The console over the service's storage.
    pub fn new(state: &crate::state::AppState) -> Self {
        Self {
            store: state.store.clone(),
            email: state.config.email.clone(),
            sign_in_url: format!("{}/sign-in", state.config.public_base_url),
            outbox_wake: state.outbox_wake.clone(),
        }
    }
}

/// What a refused change means, in words for the officer.
pub fn refusal_message(refused: &TaskChangeRefused, trn: Option<&str>) -> (&'static str, String) {
    match refused {
        TaskChangeRefused::NoSuchTask => ("outcome", "This task no longer exists".into()),
        TaskChangeRefused::Stale => (
            "outcome",
            "Someone else changed this task while you were working on it. Check the task and try again".into(),
        ),
        TaskChangeRefused::AlreadyDecided { by, .. } => (
            "outcome",
            match by {
                Some(by) => format!("This task has already been decided by {by}"),
                None => "This task has already been decided".into(),
            },
        ),
        TaskChangeRefused::UnknownRecord => (
            "trn",
            format!("There is no teaching record with TRN {}", trn.unwrap_or_default()),
        ),
        TaskChangeRefused::RecordTaken => (
            "trn",
            "This record is already connected to someone else, or the teacher is connected to another record".into(),
        ),
        TaskChangeRefused::NotAssignable => ("assignee", "Select someone who can work on tasks".into()),
        TaskChangeRefused::RecordDeactivated => ("trn", deactivated_message(trn.unwrap_or_default())),
        TaskChangeRefused::NoSuchAccount => (
            "merge_email",
            "There is no other account with this email address".into(),
        ),
        TaskChangeRefused::NotMergeable(why) => (
            "merge_email",
            match why {
                crate::db::account_records::MergeRefused::BothOneLogin => {
                    "These accounts both sign in with GOV.UK One Login, so they cannot be merged".into()
                }
                crate::db::account_records::MergeRefused::DifferentRecords => {
                    "These accounts are connected to different teaching records, so they cannot be merged".into()
                }
                crate::db::account_records::MergeRefused::SamePerson
                | crate::db::account_records::MergeRefused::NotMergeable => {
                    "This account cannot be merged: it may have been merged already".into()
                }
            },
        ),
    }
}

/// Why a deactivated record cannot be chosen.
pub fn deactivated_message(trn: &str) -> String {
    format!("The record with TRN {trn} is deactivated. You cannot connect a deactivated record")
}

/// The rows of the third question's answers (QTS, where they trained, the year): none when it was not asked.
fn itt_rows(itt: Option<&Answer<IttIdentifier>>) -> Vec<Row> {
    match itt {
        None => Vec::new(),
        Some(Answer::No) => vec![Row::new("Qualified teacher status (QTS)", "No")],
        Some(Answer::Yes(itt)) => vec![
            Row::new("Qualified teacher status (QTS)", "Yes"),
            Row::new("Initial teacher training provider", itt.provider.clone()),
            Row::new("Year QTS awarded", itt.qts_year.to_string()),
        ],
    }
}

fn date(d: NaiveDate) -> String {
    app::domain::uk_time::long_date(d)
}

/// What a task says about the teacher, whichever kind it is: the facts to compare records with, what One Login
/// gave us and what the teacher entered, as rows for the task page.
pub fn task_facts(task: &StoredTask) -> (TaskFacts, Vec<Row>, Vec<Row>) {
    let facts = task.details.facts();
    let given = |value: Option<&str>| value.unwrap_or("Not given").to_string();
    let names_or_none = |names: Vec<String>| {
        if names.is_empty() {
            "None".to_string()
        } else {
            names.join(", ")
        }
    };
    match &task.details {
        TaskDetails::RecordMatching(details) => {
            let verified = &details.verified;
            let one_login = vec![
                Row::new(
                    "Name",
                    verified
                        .current_name()
                        .map(VerifiedName::full_name)
                        .unwrap_or_else(|| task.requester_name.clone()),
                ),
                Row::new(
                    "Previous names",
                    names_or_none(
                        verified
                            .previous_names()
                            .map(VerifiedName::full_name)
                            .collect(),
                    ),
                ),
                Row::new(
                    "Date of birth",
                    verified
                        .dates_of_birth
                        .iter()
                        .map(|d| date(*d))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                Row::new("Email address", facts.email.clone()),
            ];
            let mut additional = vec![
                Row::new("National Insurance number", given(facts.nino.as_deref())),
                Row::new("TRN", given(facts.trn.as_deref())),
            ];
            // The third question's answers, when it was asked (DESIGN §5).
            additional.extend(itt_rows(details.itt.as_ref()));
            (facts, one_login, additional)
        }
        TaskDetails::AccountRecordMatching(details) => {
            // No One Login here: the account's email and mobile were proven by passcode; its name and date of
            // birth were typed, and are marked so that nobody takes them for verified ones.
            let one_login = vec![
                Row::new("Identity", "Not verified: DfE Identity account"),
                Row::new("Email address", details.email.clone()),
                Row::new(
                    "Mobile number",
                    details.mobile.as_deref().map_or_else(
                        || "Not given".to_string(),
                        app::domain::account_record::masked_mobile,
                    ),
                ),
            ];
            let mut additional = vec![
                Row::new(
                    "Name (not verified)",
                    format!("{} {}", details.first_name, details.last_name),
                ),
                Row::new("Preferred name", given(details.preferred_name.as_deref())),
                Row::new("Date of birth (not verified)", date(details.date_of_birth)),
                Row::new(
                    "National Insurance number",
                    match &details.answers.nino {
                        None => "Not asked".to_string(),
                        Some(Answer::No) => "Does not have one".to_string(),
                        Some(Answer::Yes(n)) => n.as_str().to_string(),
                    },
                ),
                Row::new(
                    "TRN",
                    match &details.answers.trn {
                        None => "Not asked".to_string(),
                        Some(Answer::No) => "Does not have one".to_string(),
                        Some(Answer::Yes(t)) => t.as_str().to_string(),
                    },
                ),
            ];
            additional.extend(itt_rows(details.answers.itt.as_ref()));
            (facts, one_login, additional)
        }
        TaskDetails::IdentityVerification(details) => {
            let entered = &details.entered;
            let one_login = vec![
                Row::new("Email address", facts.email.clone()),
                Row::new("Identity", "Not verified by GOV.UK One Login"),
            ];
            let additional = vec![
                Row::new("Name", entered.name.clone()),
                Row::new(
                    "Previous names",
                    names_or_none(entered.previous_names.clone()),
                ),
                Row::new("Date of birth", date(entered.date_of_birth)),
                Row::new("National Insurance number", given(entered.nino.as_deref())),
                Row::new("TRN", given(entered.trn.as_deref())),
            ];
            (facts, one_login, additional)
        }
    }
}

/// Records support staff might connect the teacher to, best first (most fields matching).
pub async fn suggestions(
    store: &DynStore,
    details: &TaskDetails,
    user_id: i64,
) -> Result<Vec<SuggestedRecord>, crate::db::StoreError> {
    let facts = &details.facts();
    let evidence = details.evidence();
    // Name and a verified date of birth (or an identifier with that date of birth): the journey's own search.
    let mut found: Vec<(app::domain::matching::Candidate, bool)> = store
        .find_candidates(&evidence, user_id)
        .await?
        .into_iter()
        .map(|c| (c, false))
        .collect();
    // A TRN, National Insurance number or email alone finds its record too, whatever the date of birth (or with
    // no verified date of birth at all): a typo in a record is what support is for. These are marked.
    let nino = evidence.nino.as_ref().map(|n| n.as_str().to_string());
    let trn = evidence.trn.as_ref().map(|t| t.as_str().to_string());
    for candidate in store
        .records_by_identifiers(
            nino.as_deref(),
            trn.as_deref(),
            evidence.email.as_deref(),
            user_id,
        )
        .await?
    {
        if !found
            .iter()
            .any(|(c, _)| c.record.trn == candidate.record.trn)
        {
            found.push((candidate, true));
        }
    }
    let mut suggested: Vec<SuggestedRecord> = found
        .into_iter()
        .map(|(c, by_identifier_alone)| {
            let fields = compare_record(facts, &c.record);
            SuggestedRecord {
                name: fields[0].value.clone(),
                trn: c.record.trn.clone(),
                fields,
                connected_elsewhere: c.connected_to_another_login,
                deactivated: c.record.status == RecordStatus::Deactivated,
                found_by: by_identifier_alone
                    .then(|| found_by(&c.record, nino.as_deref(), trn.as_deref(), &facts.email)),
            }
        })
        .collect();
    suggested.sort_by_key(|s| {
        std::cmp::Reverse(
            s.fields
                .iter()
                .filter(|f| f.outcome == app::domain::support::Comparison::Matches)
                .count(),
        )
    });
    suggested.truncate(MAX_SUGGESTIONS);
    Ok(suggested)
}

/// Which identifiers found a record on their own, in words for the page.
fn found_by(
    record: &app::domain::records::TeachingRecord,
    nino: Option<&str>,
    trn: Option<&str>,
    email: &str,
) -> String {
    let mut by = Vec::new();
    if trn == Some(record.trn.as_str()) {
        by.push("TRN");
    }
    if nino.is_some() && record.nino.as_deref().and_then(Nino::key).as_deref() == nino {
        by.push("National Insurance number");
    }
    if !email.is_empty()
        && record
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
    {
        by.push("email address");
    }
    format!(
        "Found by {} alone, not by name and a verified date of birth",
        by.join(" and ")
    )
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

// Beside the email templates now, where a test checks it fills every placeholder; the old path stays.
pub use app::domain::support::personalisation;

/// A refused change as the form shows it: on the field the refusal names, or on `field` when given.
fn refused(refused: &TaskChangeRefused, trn: Option<&str>, field: Option<&str>) -> ChangeRefused {
    let (named, message) = refusal_message(refused, trn);
    ChangeRefused::Field(FieldError::new(field.unwrap_or(named), message))
}

impl SupportConsole for StoreConsole {
    fn staff(&self, staff_id: i64) -> BoxFuture<'_, Result<Option<StaffMember>, DataUnavailable>> {
        Box::pin(async move {
            self.store
                .staff_by_id(staff_id)
                .await
                .map_err(DataUnavailable::from)
        })
    }

    fn tasks(&self, query: TaskQuery, me: i64) -> BoxFuture<'_, Result<TaskPage, DataUnavailable>> {
        Box::pin(async move {
            self.store
                .list_tasks(&query, me)
                .await
                .map_err(DataUnavailable::from)
        })
    }

    fn task_services(
        &self,
    ) -> BoxFuture<'_, Result<Vec<app::domain::support::ServiceOption>, DataUnavailable>> {
        Box::pin(async move {
            self.store
                .task_services()
                .await
                .map_err(DataUnavailable::from)
        })
    }

    fn task(
        &self,
        reference: String,
        viewer: StaffMember,
    ) -> BoxFuture<'_, Result<Option<TaskView>, DataUnavailable>> {
        Box::pin(async move {
            let Some(task) = self
                .store
                .task_by_reference(&reference)
                .await
                .map_err(DataUnavailable::from)?
            else {
                return Ok(None);
            };
            let (facts, one_login, additional) = task_facts(&task);
            let suggestions = if task.status == app::domain::support::TaskStatus::Done {
                Vec::new()
            } else {
                suggestions(&self.store, &task.details, task.user_id.unwrap_or(0))
                    .await
                    .map_err(DataUnavailable::from)?
            };
            // A proof deleted after the retention period has no key: nothing to show or link to.
            let proof = task
                .details
                .proof()
                .filter(|p| p.key.is_some())
                .map(|p| ProofView {
                    file_name: p.file_name.clone(),
                    content_type: p.content_type.clone(),
                    size: human_size(p.size),
                    href: format!("{}/proof", app::domain::support::task_href(&task.reference)),
                });
            let assignable = self
                .store
                .list_staff()
                .await
                .map_err(DataUnavailable::from)?
                .into_iter()
                .filter(|s| s.role.is_some_and(|r| r >= Role::SupportOfficer))
                .map(|s| (s.id, s.name))
                .collect();
            let mut history = Vec::new();
            if let Some(app::domain::support::Decision::Connect { trn }) = &task.decision {
                let events = self
                    .store
                    .record_history(trn)
                    .await
                    .map_err(DataUnavailable::from)?;
                history = events
                    .iter()
                    .rev()
                    .map(|e| app::domain::support::HistoryLine {
                        at: e.occurred_at,
                        text: app::domain::support::describe_event(
                            &e.kind,
                            &e.actor,
                            e.details.as_ref(),
                        ),
                    })
                    .collect();
            }
            // The teacher's connection as it is now (whoever made it): administrators can undo it.
            let connection = match task.user_id {
                Some(user_id) => self
                    .store
                    .connected_record(user_id)
                    .await
                    .map_err(DataUnavailable::from)?
                    .map(|record| app::domain::support::ConnectionView {
                        record_name: record.full_name(),
                        trn: record.trn,
                        one_login_email: facts.email.clone(),
                    }),
                None => None,
            };
            // Viewing a task shows personal data: who looked, and when, is audited.
            self.store
                .audit_event(
                    Some(viewer.id),
                    Some(&task.reference),
                    &crate::db::support::AuditEvent::ViewedTask,
                    Utc::now(),
                )
                .await
                .map_err(DataUnavailable::from)?;
            Ok(Some(TaskView {
                decided: task.decision.as_ref().map(|d| DecidedView {
                    summary: d.summary(task.kind),
                    // Decided by nobody on the staff: closed when a TRN token connected the teacher.
                    by: task
                        .decided_by
                        .clone()
                        .unwrap_or_else(|| "Teacher ID, when the teacher used a TRN token".into()),
                    at: task.decided_at.unwrap_or(task.created_at),
                }),
                reference: task.reference,
                kind: task.kind,
                status: task.status,
                requested_at: task.created_at,
                service: task.service,
                version: task.version,
                assignee: task.assignee,
                // Tasks raised before every flag was kept have only the one in the column.
                flags: match task
                    .details
                    .flags()
                    .map(|f| f.as_str().to_string())
                    .collect::<Vec<_>>()
                {
                    flags if flags.is_empty() => task.flag.into_iter().collect(),
                    flags => flags,
                },
                one_login,
                additional,
                proof,
                suggestions,
                draft: task.draft,
                assignable,
                history,
                connection,
            }))
        })
    }

    fn staff_list(&self) -> BoxFuture<'_, Result<Vec<StaffMember>, DataUnavailable>> {
        Box::pin(async move { self.store.list_staff().await.map_err(DataUnavailable::from) })
    }

    fn audit_log(
        &self,
        before: Option<i64>,
    ) -> BoxFuture<'_, Result<Vec<AuditLine>, DataUnavailable>> {
        Box::pin(async move {
            let records = self
                .store
                .audit_log(before, app::domain::support::AUDIT_PAGE as i64)
                .await
                .map_err(DataUnavailable::from)?;
            Ok(records
                .into_iter()
                .map(|r| AuditLine {
                    id: r.id,
                    at: r.occurred_at,
                    staff: r.staff.unwrap_or_else(|| "The service".into()),
                    action: describe_action(&r.action, &r.event),
                    task_reference: r.task_reference,
                })
                .collect())
        })
    }

    fn mailbox(&self) -> BoxFuture<'_, Result<Option<Vec<MailboxMessage>>, DataUnavailable>> {
        Box::pin(async move {
            if !matches!(self.email, EmailConfig::DevMailbox) {
                return Ok(None);
            }
            let emails = self
                .store
                .recent_emails(100)
                .await
                .map_err(DataUnavailable::from)?;
            let texts = self
                .store
                .recent_sms(100)
                .await
                .map_err(DataUnavailable::from)?;
            let emails = emails.into_iter().map(|e| {
                let (subject, body) = EmailTemplate::parse(&e.email.template)
                    .map(|t| t.text())
                    .unwrap_or(("(unknown template)", ""));
                MailboxMessage::Email(MailboxEmail {
                    to: e.email.email_address,
                    subject: render_template(subject, &e.email.personalisation),
                    body: render_template(body, &e.email.personalisation),
                    status: e.status,
                    task_reference: e.email.task_reference,
                    queued_at: e.created_at,
                })
            });
            let texts = texts.into_iter().map(|t| {
                MailboxMessage::Text(MailboxText {
                    to: t.sms.phone_number,
                    body: render_template(t.sms.template.text(), &t.sms.personalisation),
                    status: t.status,
                    queued_at: t.created_at,
                })
            });
            let mut messages: Vec<MailboxMessage> = emails.chain(texts).collect();
            // Newest first; a stable sort keeps each table's own order (newest id first) among equal times.
            messages.sort_by_key(|m| std::cmp::Reverse(m.queued_at()));
            messages.truncate(100);
            Ok(Some(messages))
        })
    }

    fn assign(
        &self,
        reference: String,
        version: i64,
        assignee: Option<i64>,
        by: StaffMember,
    ) -> BoxFuture<'_, Written<()>> {
        Box::pin(async move {
            Ok(
                match self
                    .store
                    .assign_task(&reference, version, assignee, by.id, Utc::now())
                    .await
                    .map_err(DataUnavailable::from)?
                {
                    Ok(()) => Ok(()),
                    Err(TaskChangeRefused::NoSuchTask) => Err(ChangeRefused::NoSuchTask),
                    Err(other) => Err(refused(&other, None, Some("assignee"))),
                },
            )
        })
    }

    fn save_draft(
        &self,
        reference: String,
        version: i64,
        input: DecisionInput,
        by: StaffMember,
    ) -> BoxFuture<'_, Written<()>> {
        Box::pin(async move {
            Ok(self
                .store
                .save_draft(&reference, version, &input, by.id, Utc::now())
                .await
                .map_err(DataUnavailable::from)?
                .map_err(|r| refused(&r, None, None)))
        })
    }

    fn decide(&self, pending: PendingDecision, by: StaffMember) -> BoxFuture<'_, Written<String>> {
        Box::pin(async move {
            let reference = &pending.reference;
            let Some(task) = self
                .store
                .task_by_reference(reference)
                .await
                .map_err(DataUnavailable::from)?
            else {
                return Ok(Err(ChangeRefused::NoSuchTask));
            };
            let email = NewEmail {
                reference: uuid::Uuid::new_v4().to_string(),
                template: pending.decision.email(task.kind).as_str().to_string(),
                email_address: task.requester_email.clone(),
                personalisation: personalisation(
                    &task.requester_name,
                    reference,
                    pending.decision.reason_for_teacher(),
                    &self.sign_in_url,
                ),
                task_reference: Some(reference.clone()),
            };
            let trn = match &pending.decision {
                Decision::Connect { trn } => Some(trn.as_str()),
                _ => None,
            };
            match self
                .store
                .decide_task(
                    reference,
                    pending.version,
                    &pending.decision,
                    &by,
                    &email,
                    Utc::now(),
                )
                .await
                .map_err(DataUnavailable::from)?
            {
                Ok(()) => {
                    tracing::info!(outcome = pending.decision.outcome(), "support task decided");
                    self.outbox_wake.notify_one();
                    Ok(Ok(pending.decision.summary(task.kind)))
                }
                Err(r) => Ok(Err(refused(&r, trn, None))),
            }
        })
    }

    fn set_role(
        &self,
        staff_id: i64,
        role: Option<Role>,
        by: StaffMember,
    ) -> BoxFuture<'_, Written<String>> {
        Box::pin(async move {
            let field = format!("role-{staff_id}");
            let refuse = |message: &str| {
                Ok(Err(ChangeRefused::Field(FieldError::new(
                    field.clone(),
                    message,
                ))))
            };
            let Some(target) = self
                .store
                .staff_by_id(staff_id)
                .await
                .map_err(DataUnavailable::from)?
            else {
                return refuse("Select a member of staff");
            };
            match self.store.set_role(staff_id, role).await.map_err(DataUnavailable::from)? {
                RoleChange::Changed => {}
                RoleChange::NoSuchMember => return refuse("Select a member of staff"),
                RoleChange::LastAdministrator => {
                    return refuse(
                        "There must always be an administrator. Make someone else an administrator first",
                    )
                }
            }
            let event = crate::db::support::AuditEvent::RoleChanged {
                staff_id,
                staff_name: target.name.clone(),
                role,
            };
            self.store
                .audit_event(Some(by.id), None, &event, Utc::now())
                .await
                .map_err(DataUnavailable::from)?;
            Ok(Ok(target.name))
        })
    }

    fn services(
        &self,
    ) -> BoxFuture<'_, Result<Vec<app::domain::services::ServiceView>, DataUnavailable>> {
        Box::pin(async move {
            let ids = self
                .store
                .client_ids()
                .await
                .map_err(DataUnavailable::from)?;
            // One read per client: a handful of services, read the way the provider reads one.
            let mut services = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(client) = self
                    .store
                    .client(&id)
                    .await
                    .map_err(DataUnavailable::from)?
                {
                    services.push(service_view(client));
                }
            }
            Ok(services)
        })
    }

    fn api_clients(
        &self,
    ) -> BoxFuture<'_, Result<Vec<app::domain::services::ApiClientView>, DataUnavailable>> {
        Box::pin(async move {
            Ok(self
                .store
                .api_clients()
                .await
                .map_err(DataUnavailable::from)?
                .into_iter()
                .map(|c| app::domain::services::ApiClientView {
                    id: c.id,
                    name: c.name,
                    scopes: c.scopes.into_iter().collect(),
                    enabled: c.enabled,
                    created_at: c.created_at,
                })
                .collect())
        })
    }
}

/// A client as the console shows it: nothing of its secret or keys.
fn service_view(client: app::domain::provider::Client) -> app::domain::services::ServiceView {
    app::domain::services::ServiceView {
        uses_secret: matches!(
            client.auth,
            app::domain::provider::ClientAuth::ClientSecret { .. }
        ),
        scopes: client.allowed_scopes.to_param(),
        client_id: client.client_id,
        display_name: client.display_name,
        service_url: client.service_url,
        redirect_uris: client.redirect_uris,
        post_logout_redirect_uris: client.post_logout_redirect_uris,
        sign_in: client.sign_in,
        trn: client.trn,
        mobile: client.mobile,
        id_token_alg: client.id_token_alg,
        enabled: client.enabled,
    }
}

/// An audit entry in words; an action this version does not know is shown by its stored name.
fn describe_action(action: &str, event: &crate::db::support::AuditEvent) -> String {
    use crate::db::support::AuditEvent;
    match event {
        AuditEvent::SignedIn => "Signed in".into(),
        AuditEvent::SignedOut => "Signed out".into(),
        AuditEvent::ViewedTask => "Viewed the task".into(),
        AuditEvent::ViewedProof => "Viewed the proof of identity".into(),
        AuditEvent::DeletedProof { retention_days } => {
            format!("Deleted the proof of identity, {retention_days} days after the decision")
        }
        AuditEvent::Assigned {
            assignee_name: Some(name),
            ..
        } => format!("Assigned the task to {name}"),
        AuditEvent::Assigned { .. } => "Unassigned the task".into(),
        AuditEvent::SavedDraft => "Saved a decision to come back to".into(),
        AuditEvent::Disconnected { trn, .. } => {
            format!("Disconnected the record with TRN {trn} from the teacher’s GOV.UK One Login")
        }
        AuditEvent::Decided { summary, .. } => format!("Decided: {summary}"),
        AuditEvent::RoleChanged {
            staff_name, role, ..
        } => match role {
            Some(role) => format!("Gave {staff_name} the role {}", role.label().to_lowercase()),
            None => format!("Removed {staff_name}’s role"),
        },
        AuditEvent::ServiceAdded { client_id } => format!("Added the service {client_id}"),
        AuditEvent::ServiceUrisChanged { client_id } => {
            format!("Changed the redirect URIs of the service {client_id}")
        }
        AuditEvent::ServiceMobileChanged { client_id, mobile } => format!(
            "Made a mobile number {} for new accounts of the service {client_id}",
            mobile.as_str()
        ),
        AuditEvent::ServiceSecretRotated { client_id } => {
            format!("Replaced the client secret of the service {client_id}")
        }
        AuditEvent::ServiceEnabled { client_id, enabled } => format!(
            "{} the service {client_id}",
            if *enabled { "Enabled" } else { "Disabled" }
        ),
        AuditEvent::ApiClientAdded {
            api_client_id,
            name,
        } => {
            format!("Added the API client {name} ({api_client_id})")
        }
        AuditEvent::ApiClientEnabled {
            api_client_id,
            name,
            enabled,
        } => format!(
            "{} the API client {name} ({api_client_id})",
            if *enabled { "Enabled" } else { "Disabled" }
        ),
        AuditEvent::ClosedByTrnToken { trn } => format!(
            "Closed the task: a TRN token connected the teacher to the record with TRN {trn}"
        ),
        AuditEvent::ClosedRecordFound { trn } => format!(
            "Closed the task: the teacher's answers found the record with TRN {trn} when they signed in again"
        ),
        AuditEvent::PeopleMerged {
            kept_user_id,
            gone_user_id,
            ..
        } => format!("Merged person {gone_user_id} into person {kept_user_id}"),
        AuditEvent::AccountChanged { user_id, what } => format!(
            "Person {user_id} changed their DfE Identity account's {}",
            what.replace('_', " ")
        ),
        AuditEvent::Unknown => action.replace('_', " "),
    }
}
