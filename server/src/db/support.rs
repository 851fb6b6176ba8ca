//! The support console's storage: staff and roles, the task dashboard's query, task changes guarded by the task's
//! version (optimistic concurrency), decisions (task, connection, change history, email and audit in one
//! transaction), the audit log, and the email outbox.

use super::records::{PersonRow, PERSON_COLUMNS};
use super::{PgStore, SqliteStore, StoreError, StoreResult};
use app::domain::support::{
    prefix_upper_bound, AssigneeFilter, Decision, DecisionInput, Role, Search, SortDirection,
    SortField, StaffMember, StatusCounts, StatusFilter, TaskKind, TaskPage, TaskQuery, TaskStatus,
    TaskSummary, COUNT_CAP, PAGE_SIZE,
};
use app::domain::support::{
    ConnectedHow, ConnectionEvent, SupportAction, ONE_LOGIN_CONNECTED, ONE_LOGIN_DISCONNECTED,
};
use app::domain::task_details::TaskDetails;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::QueryBuilder;

/// What the identity provider told us at a staff sign-in.
#[derive(Clone, Debug)]
pub struct StaffSignIn<'a> {
    pub subject: &'a str,
    /// The provider's stable ids for the person: Entra's tenant id (`tid`) and object id (`oid`).
    pub tenant_id: &'a str,
    pub object_id: &'a str,
    pub email: &'a str,
    /// Whether the provider vouches for the email (see [`crate::staff_auth`]); only then may it claim a role set
    /// up in advance for that email, or become the member's email.
    pub email_verified: bool,
    pub name: &'a str,
}

/// What came of a role change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleChange {
    Changed,
    NoSuchMember,
    /// It would leave no administrator: refused, nothing changed.
    LastAdministrator,
}

/// Why a connection could not be undone. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisconnectRefused {
    /// The teacher is not connected to that record (any more).
    NotConnected,
}

/// A task as stored, for the task page and for decisions.
#[derive(Clone, Debug)]
pub struct StoredTask {
    pub id: i64,
    pub reference: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub user_id: Option<i64>,
    pub requester_name: String,
    pub requester_email: String,
    /// What the teacher told us and what One Login verified, read by the task's kind.
    pub details: TaskDetails,
    /// The strongest flag matching raised, as the dashboard shows it (the details hold every one).
    pub flag: Option<String>,
    pub version: i64,
    pub assignee: Option<(i64, String)>,
    pub draft: Option<DecisionInput>,
    pub decision: Option<Decision>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Why a change to a task was refused. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskChangeRefused {
    NoSuchTask,
    /// Someone changed the task since the form was shown.
    Stale,
    /// The task was decided already: by whom and when.
    AlreadyDecided {
        by: Option<String>,
        at: Option<DateTime<Utc>>,
    },
    /// Connect: no record has this TRN.
    UnknownRecord,
    /// Connect: the record is deactivated, and a deactivated record is never connected.
    RecordDeactivated,
    /// Connect: the record is connected to another One Login, or the teacher to another record.
    RecordTaken,
    /// The person to assign is not staff who can work on tasks.
    NotAssignable,
}

/// An email to queue with a change.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NewEmail {
    /// Unique; sent to Notify as the notification's reference.
    pub reference: String,
    pub template: String,
    pub email_address: String,
    pub personalisation: std::collections::BTreeMap<String, String>,
    pub task_reference: Option<String>,
}

/// An email in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEmail {
    pub id: i64,
    pub email: NewEmail,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered_via: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    pub staff: Option<String>,
    pub action: String,
    pub task_reference: Option<String>,
    pub details: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

/// A change to a task, from the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskChangeRecord {
    /// The audit entry's id: the feed's position.
    pub id: i64,
    pub reference: String,
    pub change: app::domain::support::TaskChange,
}

/// A task for the benchmark's generator.
#[derive(Clone, Debug)]
pub struct GeneratedTask {
    pub reference: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub name: String,
    pub email: String,
    pub trn: Option<String>,
    pub assignee_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A change-history event's actor when support staff act.
fn support_actor(actor: &StaffMember) -> String {
    format!("support:{}", actor.email)
}

fn support_action(task_reference: &str, actor: &StaffMember) -> SupportAction {
    SupportAction {
        task_reference: task_reference.to_string(),
        decided_by: actor.name.clone(),
        decided_by_email: actor.email.clone(),
    }
}

/// Details of a generated task's kind, made up from its name, email and TRN (no date of birth is known: 1 January
/// 1980 stands in; an identity task's proof reads as deleted), so the console can open it like any other.
fn generated_details(t: &GeneratedTask) -> TaskDetails {
    use app::domain::identity::{VerifiedEmail, VerifiedIdentity};
    use app::domain::task_details::{
        split_name, IdentityVerificationDetails, RecordMatchingDetails, StoredProof,
    };
    let one_login_email = VerifiedEmail::verified_before(&t.email);
    match t.kind {
        TaskKind::RecordMatching => TaskDetails::RecordMatching(RecordMatchingDetails {
            verified: VerifiedIdentity {
                names: vec![split_name(&t.name)],
                dates_of_birth: vec![],
            },
            one_login_email,
            nino: None,
            trn: t
                .trn
                .as_deref()
                .and_then(|trn| app::domain::validation::parse_trn(trn).ok()),
            flags: Default::default(),
            itt: None,
        }),
        TaskKind::IdentityVerification => {
            TaskDetails::IdentityVerification(IdentityVerificationDetails {
                entered: app::domain::identity_support::IdentitySupportDetails {
                    name: t.name.clone(),
                    previous_names: vec![],
                    date_of_birth: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).expect("a date"),
                    nino: None,
                    trn: t.trn.clone(),
                },
                proof: StoredProof {
                    key: None,
                    content_type: "image/png".into(),
                    file_name: "generated.png".into(),
                    size: 0,
                    deleted_at: None,
                    deleted_after_days: None,
                },
                one_login_email,
            })
        }
    }
}

#[async_trait]
pub trait SupportStore {
    /// Records a staff sign-in: the member bound to these provider ids (tenant and object id); else the member who
    /// signed in with this subject before the ids were kept (now bound to them); else, with a verified email, the
    /// member added by that email who has not signed in yet (now bound); else a new member with no role. A bound
    /// member's email follows a verified email claim that no one else has.
    async fn staff_signed_in(
        &self,
        who: &StaffSignIn<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<StaffMember>;
    async fn staff_by_id(&self, id: i64) -> StoreResult<Option<StaffMember>>;
    /// Adds a member of staff by email with a role, or sets the role of the one with that email.
    async fn add_staff(
        &self,
        email: &str,
        name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> StoreResult<StaffMember>;
    /// Sets (or removes) a role, in one transaction that refuses to leave no administrator.
    async fn set_role(&self, staff_id: i64, role: Option<Role>) -> StoreResult<RoleChange>;
    /// Undoes the connection of the teacher `user_id` to the record `trn`, in one transaction: deletes it, keeps
    /// why (so the journey never makes it again by itself), adds a change-history event, queues `email` and
    /// writes the audit log.
    #[allow(clippy::too_many_arguments)]
    async fn disconnect(
        &self,
        user_id: i64,
        trn: &str,
        reason: &str,
        task_reference: &str,
        actor: &StaffMember,
        email: &NewEmail,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<(), DisconnectRefused>>;
    /// Records with this NINO, TRN or email (any date of birth), for suggestions on a task page; at most 20.
    async fn records_by_identifiers(
        &self,
        nino: Option<&str>,
        trn: Option<&str>,
        email: Option<&str>,
        user_id: i64,
    ) -> StoreResult<Vec<app::domain::matching::Candidate>>;
    async fn list_staff(&self) -> StoreResult<Vec<StaffMember>>;

    /// One page of the dashboard for `query`, with counts per status. `me` is the member asking.
    async fn list_tasks(&self, query: &TaskQuery, me: i64) -> StoreResult<TaskPage>;
    /// How the database runs the dashboard query (for the benchmark).
    async fn task_query_plan(&self, query: &TaskQuery, me: i64) -> StoreResult<Vec<String>>;
    /// The id of the newest task: the live dashboard watches it.
    async fn latest_task_id(&self) -> StoreResult<i64>;
    /// The id of the newest audit log entry: where the live dashboard starts watching for task changes.
    async fn latest_audit_id(&self) -> StoreResult<i64>;
    /// Task changes (assigned, draft saved, decided) recorded after audit entry `after`, oldest first, at most
    /// `limit`: the live dashboard pushes them to open dashboards.
    async fn task_changes_since(
        &self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<TaskChangeRecord>>;
    async fn task_by_reference(&self, reference: &str) -> StoreResult<Option<StoredTask>>;
    /// Assigns the task (to nobody with `None`), if it is still at `version`.
    async fn assign_task(
        &self,
        reference: &str,
        version: i64,
        assignee: Option<i64>,
        actor: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<(), TaskChangeRefused>>;
    /// Saves a draft decision and marks the task in progress with the actor, if it is still at `version`.
    async fn save_draft(
        &self,
        reference: &str,
        version: i64,
        draft: &DecisionInput,
        actor: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<(), TaskChangeRefused>>;
    /// Decides the task if it is still at `version`, in one transaction: closes it with who and when; for a
    /// connect, links the teacher's One Login to the record and adds a change-history event; for an identity task
    /// it verifies, records the identity as verified by this officer; queues `email`; writes the audit log.
    async fn decide_task(
        &self,
        reference: &str,
        version: i64,
        decision: &Decision,
        actor: &StaffMember,
        email: &NewEmail,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<(), TaskChangeRefused>>;

    async fn audit(
        &self,
        staff_id: Option<i64>,
        action: &str,
        task_reference: Option<&str>,
        details: serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The newest audit entries, before the entry with id `before` if given.
    async fn audit_log(&self, before: Option<i64>, limit: i64) -> StoreResult<Vec<AuditRecord>>;

    /// Queues an email on its own (decisions queue theirs in their own transaction).
    async fn queue_email(&self, email: &NewEmail, now: DateTime<Utc>) -> StoreResult<()>;
    /// Takes up to `limit` emails that are due (pending, or "sending" whose lease ran out after a crash), marks
    /// them sending with a lease until `lease_until`, and counts the attempt.
    async fn claim_due_emails(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEmail>>;
    async fn mark_email_sent(
        &self,
        id: i64,
        notify_id: Option<&str>,
        via: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn mark_email_retry(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn mark_email_failed(&self, id: i64, error: &str) -> StoreResult<()>;
    /// The newest emails, for the development mailbox and tests.
    async fn recent_emails(&self, limit: i64) -> StoreResult<Vec<OutboxEmail>>;

    /// Inserts generated tasks (benchmark only).
    async fn insert_generated_tasks(&self, tasks: &[GeneratedTask]) -> StoreResult<()>;
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: i64,
    email: String,
    name: String,
    role: Option<String>,
    last_signed_in_at: Option<DateTime<Utc>>,
}

impl TryFrom<StaffRow> for StaffMember {
    type Error = StoreError;
    fn try_from(r: StaffRow) -> StoreResult<Self> {
        let role = match r.role.as_deref() {
            None => None,
            Some(s) => Some(
                Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("staff role {s:?}")))?,
            ),
        };
        Ok(StaffMember {
            id: r.id,
            email: r.email,
            name: r.name,
            role,
            last_signed_in_at: r.last_signed_in_at,
        })
    }
}

const STAFF_COLUMNS: &str = "id, email, name, role, last_signed_in_at";

#[derive(sqlx::FromRow)]
struct IdentifiedRow {
    #[sqlx(flatten)]
    person: PersonRow,
    connected_user_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    reference: String,
    kind: String,
    status: String,
    requester_name: String,
    requester_email: String,
    created_at: DateTime<Utc>,
    assignee: Option<String>,
    flag: Option<String>,
}

fn kind_of(s: &str) -> StoreResult<TaskKind> {
    TaskKind::parse(s).ok_or_else(|| StoreError::Corrupt(format!("task kind {s:?}")))
}

fn status_of(s: &str) -> StoreResult<TaskStatus> {
    TaskStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("task status {s:?}")))
}

impl TryFrom<SummaryRow> for TaskSummary {
    type Error = StoreError;
    fn try_from(r: SummaryRow) -> StoreResult<Self> {
        Ok(TaskSummary {
            kind: kind_of(&r.kind)?,
            status: status_of(&r.status)?,
            reference: r.reference,
            name: r.requester_name,
            email: r.requester_email,
            requested_at: r.created_at,
            assignee: r.assignee,
            flag: r.flag,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    reference: String,
    kind: String,
    status: String,
    user_id: Option<i64>,
    requester_name: String,
    requester_email: String,
    details: String,
    flag: Option<String>,
    version: i64,
    assignee_id: Option<i64>,
    assignee_name: Option<String>,
    draft: Option<String>,
    decision: Option<String>,
    decided_by_name: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

impl TryFrom<TaskRow> for StoredTask {
    type Error = StoreError;
    fn try_from(r: TaskRow) -> StoreResult<Self> {
        let kind = kind_of(&r.kind)?;
        Ok(StoredTask {
            id: r.id,
            kind,
            status: status_of(&r.status)?,
            reference: r.reference,
            user_id: r.user_id,
            requester_name: r.requester_name,
            requester_email: r.requester_email,
            details: TaskDetails::parse(kind, &r.details)
                .map_err(|e| StoreError::Corrupt(format!("task details: {e}")))?,
            flag: r.flag,
            version: r.version,
            assignee: r.assignee_id.zip(r.assignee_name),
            draft: r.draft.as_deref().map(|d| json("draft", d)).transpose()?,
            decision: r
                .decision
                .as_deref()
                .map(|d| json("decision", d))
                .transpose()?,
            decided_by: r.decided_by_name,
            decided_at: r.decided_at,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    reference: String,
    template: String,
    email_address: String,
    personalisation: String,
    task_reference: Option<String>,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    delivered_via: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<OutboxRow> for OutboxEmail {
    type Error = StoreError;
    fn try_from(r: OutboxRow) -> StoreResult<Self> {
        Ok(OutboxEmail {
            id: r.id,
            email: NewEmail {
                reference: r.reference,
                template: r.template,
                email_address: r.email_address,
                personalisation: json("personalisation", &r.personalisation)?,
                task_reference: r.task_reference,
            },
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            delivered_via: r.delivered_via,
            created_at: r.created_at,
            sent_at: r.sent_at,
        })
    }
}

const OUTBOX_COLUMNS: &str =
    "id, reference, template, email_address, personalisation, task_reference, status, \
     CAST(attempts AS BIGINT) AS attempts, last_error, delivered_via, created_at, sent_at";

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    staff: Option<String>,
    action: String,
    task_reference: Option<String>,
    details: String,
    occurred_at: DateTime<Utc>,
}

const TASK_SELECT: &str = "SELECT t.id, t.reference, t.kind, t.status, t.user_id, t.requester_name, \
     t.requester_email, t.details, t.flag, t.version, t.assignee_id, a.name AS assignee_name, t.draft, t.decision, \
     d.name AS decided_by_name, t.decided_at, t.created_at FROM support_tasks t \
     LEFT JOIN staff a ON a.id = t.assignee_id LEFT JOIN staff d ON d.id = t.decided_by \
     WHERE t.reference = $1";

/// Whether the counts per status can come from `task_counts`: no filter but status and type.
fn only_kind_filtered(query: &TaskQuery) -> bool {
    query.assignee == AssigneeFilter::Anyone
        && query.from.is_none()
        && query.to.is_none()
        && query.search() == Search::None
}

/// The WHERE clause of the dashboard, without the status filter (counts group by status).
fn push_filters<'a, DB>(q: &mut QueryBuilder<'a, DB>, query: &'a TaskQuery, me: i64)
where
    DB: sqlx::Database,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push(" WHERE 1 = 1");
    if let Some(kind) = query.kind {
        q.push(" AND t.kind = ").push_bind(kind.as_str());
    }
    match query.assignee {
        AssigneeFilter::Anyone => {}
        AssigneeFilter::Me => {
            q.push(" AND t.assignee_id = ").push_bind(me);
        }
        AssigneeFilter::Unassigned => {
            q.push(" AND t.assignee_id IS NULL");
        }
    }
    if let Some(from) = query.from {
        let start = from
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc();
        q.push(" AND t.created_at >= ").push_bind(start);
    }
    if let Some(to) = query.to {
        let end = (to + chrono::Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc();
        q.push(" AND t.created_at < ").push_bind(end);
    }
    match query.search() {
        Search::None => {}
        Search::Reference(r) => {
            q.push(" AND t.reference = ").push_bind(r);
        }
        Search::Trn(trn) => {
            // Seven digits are a TRN, or a reference from after the millionth.
            q.push(" AND (t.trn = ")
                .push_bind(trn.clone())
                .push(" OR t.reference = ")
                .push_bind(format!("TRS-{trn}"))
                .push(")");
        }
        Search::EmailDomain(domain) => {
            let upper = prefix_upper_bound(&domain);
            q.push(" AND t.email_domain >= ")
                .push_bind(domain)
                .push(" AND t.email_domain < ")
                .push_bind(upper);
        }
        Search::Email(e) => {
            let upper = prefix_upper_bound(&e);
            q.push(" AND t.email_key >= ")
                .push_bind(e)
                .push(" AND t.email_key < ")
                .push_bind(upper);
        }
        Search::Name(key) => {
            let upper = prefix_upper_bound(&key);
            q.push(" AND ((t.name_key >= ")
                .push_bind(key.clone())
                .push(" AND t.name_key < ")
                .push_bind(upper.clone())
                .push(") OR (t.last_name_key >= ")
                .push_bind(key)
                .push(" AND t.last_name_key < ")
                .push_bind(upper)
                .push("))");
        }
    }
}

/// The status filter, written so no status index is used for a set of statuses: "active" is "not done" and
/// "all" is no condition, and each order's own index is walked instead, with no sort.
fn push_status<'a, DB>(q: &mut QueryBuilder<'a, DB>, query: &TaskQuery)
where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    match query.status {
        StatusFilter::All => {}
        StatusFilter::Active => {
            q.push(" AND t.status <> 'done'");
        }
        StatusFilter::Only(status) => {
            q.push(" AND t.status = ").push_bind(status.as_str());
        }
    }
}

/// The page query of the dashboard, after `prefix` (e.g. `EXPLAIN`).
fn page_query<'a, DB>(prefix: &str, query: &'a TaskQuery, me: i64) -> QueryBuilder<'a, DB>
where
    DB: sqlx::Database,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new(format!(
        "{prefix}SELECT t.reference, t.kind, t.status, t.requester_name, t.requester_email, t.created_at, \
         a.name AS assignee, t.flag FROM support_tasks t LEFT JOIN staff a ON a.id = t.assignee_id"
    ));
    push_filters(&mut q, query, me);
    push_status(&mut q, query);
    let dir = match query.direction {
        SortDirection::Ascending => "ASC",
        SortDirection::Descending => "DESC",
    };
    // Each order is an index walked forwards or backwards. Status sorts in the work order (open, in progress,
    // done), which is its names' order reversed.
    let reverse = match query.direction {
        SortDirection::Ascending => "DESC",
        SortDirection::Descending => "ASC",
    };
    let order = match query.sort {
        SortField::Requested => format!("t.created_at {dir}, t.id {dir}"),
        SortField::Name => format!("t.name_key {dir}, t.id {dir}"),
        SortField::Kind => format!("t.kind {dir}, t.created_at {dir}, t.id {dir}"),
        SortField::Status => format!("t.status {reverse}, t.created_at {dir}, t.id {dir}"),
    };
    q.push(format!(" ORDER BY {order} LIMIT {PAGE_SIZE} OFFSET "));
    q.push_bind(i64::from(query.page.saturating_sub(1)) * i64::from(PAGE_SIZE));
    q
}

macro_rules! support_store {
    ($store:ty, $db:ty, $explain:expr, $plan_column:expr, $skip_locked:expr) => {
        #[async_trait]
        impl SupportStore for $store {
            async fn staff_signed_in(&self, who: &StaffSignIn<'_>, now: DateTime<Utc>) -> StoreResult<StaffMember> {
                let email = who.email.trim().to_lowercase();
                // A bound member: their email follows a verified claim, unless another member has that email.
                let bound: Option<StaffRow> = sqlx::query_as(&format!(
                    "UPDATE staff SET name = $3, last_signed_in_at = $4, \
                     email = CASE WHEN $6 AND NOT EXISTS (SELECT 1 FROM staff o WHERE o.email = $5 AND o.id <> staff.id) \
                     THEN $5 ELSE email END \
                     WHERE tenant_id = $1 AND object_id = $2 RETURNING {STAFF_COLUMNS}"
                ))
                .bind(who.tenant_id)
                .bind(who.object_id)
                .bind(who.name)
                .bind(now)
                .bind(&email)
                .bind(who.email_verified)
                .fetch_optional(&self.pool)
                .await?;
                if let Some(row) = bound {
                    return row.try_into();
                }
                // Signed in before the ids were kept: bound by `sub` then, bound by the ids from now on.
                let legacy: Option<StaffRow> = sqlx::query_as(&format!(
                    "UPDATE staff SET tenant_id = $1, object_id = $2, name = $3, last_signed_in_at = $4 \
                     WHERE subject = $5 AND object_id IS NULL RETURNING {STAFF_COLUMNS}"
                ))
                .bind(who.tenant_id)
                .bind(who.object_id)
                .bind(who.name)
                .bind(now)
                .bind(who.subject)
                .fetch_optional(&self.pool)
                .await?;
                if let Some(row) = legacy {
                    return row.try_into();
                }
                // A role set up in advance for an email is claimed only with an email the provider vouches for.
                if who.email_verified {
                    let claimed: Option<StaffRow> = sqlx::query_as(&format!(
                        "UPDATE staff SET tenant_id = $1, object_id = $2, name = $3, last_signed_in_at = $4 \
                         WHERE email = $5 AND subject IS NULL AND object_id IS NULL RETURNING {STAFF_COLUMNS}"
                    ))
                    .bind(who.tenant_id)
                    .bind(who.object_id)
                    .bind(who.name)
                    .bind(now)
                    .bind(&email)
                    .fetch_optional(&self.pool)
                    .await?;
                    if let Some(row) = claimed {
                        return row.try_into();
                    }
                }
                // Someone new: no role until an administrator gives one. An email that is taken, or that the
                // provider does not vouch for, is not theirs to use: they get a marked copy that cannot collide
                // (so `server staff add` with that email can never give them a role).
                let row: StaffRow = sqlx::query_as(&format!(
                    "INSERT INTO staff (tenant_id, object_id, email, name, role, created_at, last_signed_in_at) \
                     VALUES ($1, $2, CASE WHEN $6 AND NOT EXISTS (SELECT 1 FROM staff WHERE email = $3) THEN $3 \
                     ELSE $3 || '#' || $2 END, $4, NULL, $5, $5) RETURNING {STAFF_COLUMNS}"
                ))
                .bind(who.tenant_id)
                .bind(who.object_id)
                .bind(&email)
                .bind(who.name)
                .bind(now)
                .bind(who.email_verified)
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn staff_by_id(&self, id: i64) -> StoreResult<Option<StaffMember>> {
                let row: Option<StaffRow> =
                    sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn add_staff(&self, email: &str, name: &str, role: Role, now: DateTime<Utc>) -> StoreResult<StaffMember> {
                let row: StaffRow = sqlx::query_as(&format!(
                    "INSERT INTO staff (subject, email, name, role, created_at) VALUES (NULL, $1, $2, $3, $4) \
                     ON CONFLICT (email) DO UPDATE SET role = excluded.role RETURNING {STAFF_COLUMNS}"
                ))
                .bind(email.trim().to_lowercase())
                .bind(name)
                .bind(role.as_str())
                .bind(now)
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn set_role(&self, staff_id: i64, role: Option<Role>) -> StoreResult<RoleChange> {
                let mut tx = self.pool.begin().await?;
                // Every administrator row is locked first (on SQLite: the write lock), so two administrators
                // removing each other at once go one after the other, and the second sees the first's change.
                Self::lock_administrators(&mut tx).await?;
                let changed = sqlx::query("UPDATE staff SET role = $2 WHERE id = $1")
                    .bind(staff_id)
                    .bind(role.map(Role::as_str))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if changed == 0 {
                    return Ok(RoleChange::NoSuchMember);
                }
                let administrators: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM staff WHERE role = 'administrator'")
                        .fetch_one(&mut *tx)
                        .await?;
                if administrators == 0 {
                    // Dropping the transaction rolls the change back.
                    return Ok(RoleChange::LastAdministrator);
                }
                tx.commit().await?;
                Ok(RoleChange::Changed)
            }

            async fn disconnect(
                &self,
                user_id: i64,
                trn: &str,
                reason: &str,
                task_reference: &str,
                actor: &StaffMember,
                email: &NewEmail,
                now: DateTime<Utc>,
            ) -> StoreResult<Result<(), DisconnectRefused>> {
                let mut tx = self.pool.begin().await?;
                // The delete comes first: a second administrator undoing the same connection at once finds none.
                let removed: Option<i64> = sqlx::query_scalar(
                    "DELETE FROM connections WHERE user_id = $1 \
                     AND person_id = (SELECT id FROM persons WHERE trn = $2) RETURNING person_id",
                )
                .bind(user_id)
                .bind(trn)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(person_id) = removed else {
                    return Ok(Err(DisconnectRefused::NotConnected));
                };
                sqlx::query(
                    "INSERT INTO disconnections (user_id, person_id, staff_id, reason, disconnected_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(user_id)
                .bind(person_id)
                .bind(actor.id)
                .bind(reason)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let one_login_email: Option<String> =
                    sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
                        .bind(user_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let details = ConnectionEvent {
                    how: ConnectedHow::Support,
                    user_id,
                    one_login_email: one_login_email.unwrap_or_default(),
                    support: Some(support_action(task_reference, actor)),
                    reason: Some(reason.to_string()),
                };
                Self::insert_record_event(&mut *tx, person_id, ONE_LOGIN_DISCONNECTED, &support_actor(actor), &details, now)
                    .await?;
                Self::insert_email(&mut *tx, email, now).await?;
                Self::audit_in(
                    &mut *tx,
                    Some(actor.id),
                    "disconnected",
                    Some(task_reference),
                    serde_json::json!({ "trn": trn, "reason": reason }),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(Ok(()))
            }

            async fn records_by_identifiers(
                &self,
                nino: Option<&str>,
                trn: Option<&str>,
                email: Option<&str>,
                user_id: i64,
            ) -> StoreResult<Vec<app::domain::matching::Candidate>> {
                if nino.is_none() && trn.is_none() && email.is_none() {
                    return Ok(Vec::new());
                }
                // Each identifier has its own index; an empty value, which no record has, stands in for a missing one.
                let rows: Vec<IdentifiedRow> = sqlx::query_as(&format!(
                    "SELECT {PERSON_COLUMNS}, \
                     (SELECT c.user_id FROM connections c WHERE c.person_id = persons.id) AS connected_user_id \
                     FROM persons WHERE nino = $1 OR trn = $2 OR email_key = $3 ORDER BY trn LIMIT 20"
                ))
                .bind(nino.unwrap_or(""))
                .bind(trn.unwrap_or(""))
                .bind(email.map(str::to_lowercase).unwrap_or_default())
                .fetch_all(&self.pool)
                .await?;
                let mut found = Vec::with_capacity(rows.len());
                for row in rows {
                    let connected_to_another_login = row.connected_user_id.is_some_and(|id| id != user_id);
                    found.push(app::domain::matching::Candidate {
                        record: self.load_full(row.person).await?,
                        connected_to_another_login,
                    });
                }
                Ok(found)
            }

            async fn list_staff(&self) -> StoreResult<Vec<StaffMember>> {
                let rows: Vec<StaffRow> =
                    sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY name, id"))
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn list_tasks(&self, query: &TaskQuery, me: i64) -> StoreResult<TaskPage> {
                let rows: Vec<SummaryRow> = page_query::<$db>("", query, me)
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await?;
                let tasks = rows.into_iter().map(TryInto::try_into).collect::<StoreResult<Vec<_>>>()?;
                // Without filters other than type, the counts kept by triggers; otherwise counted.
                let counted: Vec<(String, i64)> = if only_kind_filtered(query) {
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT status, CAST(SUM(n) AS BIGINT) AS n FROM task_counts WHERE 1 = 1",
                    );
                    if let Some(kind) = query.kind {
                        q.push(" AND kind = ").push_bind(kind.as_str());
                    }
                    q.push(" GROUP BY status");
                    q.build_query_as().fetch_all(&self.pool).await?
                } else if query.search() != Search::None {
                    // A search finds few tasks through its own index: count them all.
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT t.status, CAST(COUNT(*) AS BIGINT) AS n FROM support_tasks t",
                    );
                    push_filters(&mut q, query, me);
                    q.push(" GROUP BY t.status");
                    q.build_query_as().fetch_all(&self.pool).await?
                } else {
                    // Assignee and date filters can match most tasks: each status is counted only as far as one
                    // past the cap, and the page says "more than" beyond it.
                    let mut q = QueryBuilder::<$db>::new("");
                    for (i, status) in TaskStatus::ALL.into_iter().enumerate() {
                        if i > 0 {
                            q.push(" UNION ALL ");
                        }
                        q.push("SELECT ").push_bind(status.as_str()).push(
                            " AS status, CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT 1 AS one FROM support_tasks t",
                        );
                        push_filters(&mut q, query, me);
                        q.push(" AND t.status = ").push_bind(status.as_str());
                        q.push(format!(" LIMIT {}) counted", COUNT_CAP + 1));
                    }
                    q.build_query_as().fetch_all(&self.pool).await?
                };
                let mut counts = StatusCounts::default();
                for (status, n) in counted {
                    let n = n as u64;
                    match status_of(&status)? {
                        TaskStatus::Open => counts.open = n,
                        TaskStatus::InProgress => counts.in_progress = n,
                        TaskStatus::Done => counts.done = n,
                    }
                }
                Ok(TaskPage { tasks, total: counts.of(query.status), counts })
            }

            async fn task_query_plan(&self, query: &TaskQuery, me: i64) -> StoreResult<Vec<String>> {
                use sqlx::Row;
                let rows = page_query::<$db>($explain, query, me).build().fetch_all(&self.pool).await?;
                rows.iter().map(|row| Ok(row.try_get::<String, _>($plan_column)?)).collect()
            }

            async fn latest_task_id(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM support_tasks")
                    .fetch_one(&self.pool)
                    .await?
                    .unwrap_or(0))
            }

            async fn latest_audit_id(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM audit_log")
                    .fetch_one(&self.pool)
                    .await?
                    .unwrap_or(0))
            }

            async fn task_changes_since(&self, after: i64, limit: i64) -> StoreResult<Vec<TaskChangeRecord>> {
                use app::domain::support::TaskChange;
                // A range of the primary key, so this stays cheap however long the log grows.
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT id, action, task_reference FROM audit_log WHERE id > ",
                );
                q.push_bind(after).push(" AND task_reference IS NOT NULL AND action IN (");
                let mut actions = q.separated(", ");
                for change in TaskChange::ALL {
                    actions.push_bind(change.audit_action());
                }
                q.push(") ORDER BY id LIMIT ").push_bind(limit);
                let rows: Vec<(i64, String, Option<String>)> =
                    q.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(id, action, reference)| {
                        Some(TaskChangeRecord {
                            id,
                            reference: reference?,
                            change: TaskChange::from_audit_action(&action)?,
                        })
                    })
                    .collect())
            }

            async fn task_by_reference(&self, reference: &str) -> StoreResult<Option<StoredTask>> {
                let row: Option<TaskRow> = sqlx::query_as(TASK_SELECT)
                    .bind(reference)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn assign_task(
                &self,
                reference: &str,
                version: i64,
                assignee: Option<i64>,
                actor: i64,
                now: DateTime<Utc>,
            ) -> StoreResult<Result<(), TaskChangeRefused>> {
                let mut tx = self.pool.begin().await?;
                // Assigning someone marks the task in progress; unassigning an undrafted task opens it again.
                let changed = sqlx::query(
                    "UPDATE support_tasks SET assignee_id = $3, version = version + 1, updated_at = $4, \
                     status = CASE WHEN $3 IS NOT NULL THEN 'in_progress' WHEN draft IS NULL THEN 'open' ELSE status END \
                     WHERE reference = $1 AND version = $2 AND status <> 'done' \
                     AND ($3 IS NULL OR EXISTS (SELECT 1 FROM staff s WHERE s.id = $3 \
                          AND s.role IN ('support_officer', 'administrator')))",
                )
                .bind(reference)
                .bind(version)
                .bind(assignee)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    drop(tx);
                    return Ok(Err(self.why_refused(reference, version, assignee).await?));
                }
                let assignee_name: Option<String> = match assignee {
                    Some(id) => sqlx::query_scalar("SELECT name FROM staff WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?,
                    None => None,
                };
                let details = serde_json::json!({ "assignee_id": assignee, "assignee_name": assignee_name });
                Self::audit_in(&mut *tx, Some(actor), "assigned", Some(reference), details, now).await?;
                tx.commit().await?;
                Ok(Ok(()))
            }

            async fn save_draft(
                &self,
                reference: &str,
                version: i64,
                draft: &DecisionInput,
                actor: i64,
                now: DateTime<Utc>,
            ) -> StoreResult<Result<(), TaskChangeRefused>> {
                let mut tx = self.pool.begin().await?;
                let changed = sqlx::query(
                    "UPDATE support_tasks SET draft = $3, assignee_id = COALESCE(assignee_id, $4), \
                     status = 'in_progress', version = version + 1, updated_at = $5 \
                     WHERE reference = $1 AND version = $2 AND status <> 'done'",
                )
                .bind(reference)
                .bind(version)
                .bind(serde_json::to_string(draft).expect("drafts serialise"))
                .bind(actor)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    drop(tx);
                    return Ok(Err(self.why_refused(reference, version, None).await?));
                }
                Self::audit_in(&mut *tx, Some(actor), "saved_draft", Some(reference), serde_json::json!({}), now).await?;
                tx.commit().await?;
                Ok(Ok(()))
            }

            async fn decide_task(
                &self,
                reference: &str,
                version: i64,
                decision: &Decision,
                actor: &StaffMember,
                email: &NewEmail,
                now: DateTime<Utc>,
            ) -> StoreResult<Result<(), TaskChangeRefused>> {
                let mut tx = self.pool.begin().await?;
                // The write comes first, so a concurrent decision waits for this one's lock rather than
                // failing on an upgrade, and the version check decides which of two goes through.
                let closed: Option<(i64, Option<i64>, String, String)> = sqlx::query_as(
                    "UPDATE support_tasks SET status = 'done', decision = $3, decided_by = $4, decided_at = $5, \
                     assignee_id = COALESCE(assignee_id, $4), draft = NULL, version = version + 1, updated_at = $5 \
                     WHERE reference = $1 AND version = $2 AND status <> 'done' \
                     RETURNING id, user_id, requester_email, kind",
                )
                .bind(reference)
                .bind(version)
                .bind(serde_json::to_string(decision).expect("decisions serialise"))
                .bind(actor.id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((_, user_id, one_login_email, kind)) = closed else {
                    drop(tx);
                    return Ok(Err(self.why_refused(reference, version, None).await?));
                };
                // A deactivated record is never connected, whatever the form said (the task stays undecided).
                if let Decision::Connect { trn } = decision {
                    let status: Option<String> = sqlx::query_scalar("SELECT status FROM persons WHERE trn = $1")
                        .bind(trn)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if status.as_deref() == Some("deactivated") {
                        return Ok(Err(TaskChangeRefused::RecordDeactivated));
                    }
                }
                if let Decision::Connect { trn } = decision {
                    let Some(user_id) = user_id else {
                        return Ok(Err(TaskChangeRefused::RecordTaken));
                    };
                    let person: Option<i64> = sqlx::query_scalar("SELECT id FROM persons WHERE trn = $1")
                        .bind(trn)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(person_id) = person else {
                        return Ok(Err(TaskChangeRefused::UnknownRecord));
                    };
                    let inserted = sqlx::query(
                        "INSERT INTO connections (user_id, person_id, matched_via, connected_at) \
                         VALUES ($1, $2, 'support', $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(user_id)
                    .bind(person_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if inserted == 0 {
                        return Ok(Err(TaskChangeRefused::RecordTaken));
                    }
                    let details = ConnectionEvent {
                        how: ConnectedHow::Support,
                        user_id,
                        one_login_email: one_login_email.clone(),
                        support: Some(support_action(reference, actor)),
                        reason: None,
                    };
                    Self::insert_record_event(&mut *tx, person_id, ONE_LOGIN_CONNECTED, &support_actor(actor), &details, now)
                        .await?;
                }
                // Support checked the proof: the teacher's identity is verified from now on, by this officer.
                if let (Some(user_id), true) = (user_id, decision.verifies_identity(kind_of(&kind)?)) {
                    Self::verify_identity_by_support_in(&mut *tx, user_id, reference, actor.id, now).await?;
                }
                Self::insert_email(&mut *tx, email, now).await?;
                Self::audit_in(
                    &mut *tx,
                    Some(actor.id),
                    "decided",
                    Some(reference),
                    serde_json::json!({
                        "outcome": decision.outcome(),
                        "summary": decision.summary(kind_of(&kind)?),
                        "decision": decision,
                    }),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(Ok(()))
            }

            async fn audit(
                &self,
                staff_id: Option<i64>,
                action: &str,
                task_reference: Option<&str>,
                details: serde_json::Value,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                Self::audit_in(&self.pool, staff_id, action, task_reference, details, now).await
            }

            async fn audit_log(&self, before: Option<i64>, limit: i64) -> StoreResult<Vec<AuditRecord>> {
                let rows: Vec<AuditRow> = sqlx::query_as(
                    "SELECT l.id, s.name AS staff, l.action, l.task_reference, l.details, l.occurred_at \
                     FROM audit_log l LEFT JOIN staff s ON s.id = l.staff_id \
                     WHERE l.id < $1 ORDER BY l.id DESC LIMIT $2",
                )
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|r| {
                        Ok(AuditRecord {
                            id: r.id,
                            staff: r.staff,
                            action: r.action,
                            task_reference: r.task_reference,
                            details: json("audit details", &r.details)?,
                            occurred_at: r.occurred_at,
                        })
                    })
                    .collect()
            }

            async fn queue_email(&self, email: &NewEmail, now: DateTime<Utc>) -> StoreResult<()> {
                Self::insert_email(&self.pool, email, now).await
            }

            async fn claim_due_emails(
                &self,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: i64,
            ) -> StoreResult<Vec<OutboxEmail>> {
                let rows: Vec<OutboxRow> = sqlx::query_as(&format!(
                    "UPDATE email_outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2 \
                     WHERE id IN (SELECT id FROM email_outbox WHERE status IN ('pending', 'sending') \
                     AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3{}) RETURNING {OUTBOX_COLUMNS}",
                    $skip_locked
                ))
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn mark_email_sent(&self, id: i64, notify_id: Option<&str>, via: &str, now: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE email_outbox SET status = 'sent', notify_id = $2, delivered_via = $3, sent_at = $4, \
                     last_error = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(notify_id)
                .bind(via)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn mark_email_retry(&self, id: i64, error: &str, next_attempt_at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE email_outbox SET status = 'pending', last_error = $2, next_attempt_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(error)
                .bind(next_attempt_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn mark_email_failed(&self, id: i64, error: &str) -> StoreResult<()> {
                sqlx::query("UPDATE email_outbox SET status = 'failed', last_error = $2 WHERE id = $1")
                    .bind(id)
                    .bind(error)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn recent_emails(&self, limit: i64) -> StoreResult<Vec<OutboxEmail>> {
                let rows: Vec<OutboxRow> = sqlx::query_as(&format!(
                    "SELECT {OUTBOX_COLUMNS} FROM email_outbox ORDER BY id DESC LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn insert_generated_tasks(&self, tasks: &[GeneratedTask]) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                for chunk in tasks.chunks(2000) {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO support_tasks (reference, kind, status, requester_name, requester_email, \
                         details, name_key, last_name_key, email_key, trn, assignee_id, created_at, updated_at) ",
                    );
                    q.push_values(chunk, |mut b, t| {
                        let name_key = app::domain::names::name_key(&t.name);
                        let last = app::domain::names::name_key(t.name.rsplit(' ').next().unwrap_or(""));
                        b.push_bind(t.reference.clone())
                            .push_bind(t.kind.as_str())
                            .push_bind(t.status.as_str())
                            .push_bind(t.name.clone())
                            .push_bind(t.email.clone())
                            .push_bind(generated_details(t).to_json())
                            .push_bind(name_key)
                            .push_bind(last)
                            .push_bind(t.email.to_lowercase())
                            .push_bind(t.trn.clone())
                            .push_bind(t.assignee_id)
                            .push_bind(t.created_at)
                            .push_bind(t.created_at);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }

        impl $store {
            /// Adds an event to a record's change history (a connection made or undone): one writer for all.
            pub(super) async fn insert_record_event<'e, E: sqlx::Executor<'e, Database = $db>>(
                exec: E,
                person_id: i64,
                kind: &str,
                actor: &str,
                details: &ConnectionEvent,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO record_events (person_id, kind, actor, details, occurred_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(person_id)
                .bind(kind)
                .bind(actor)
                .bind(serde_json::to_string(details).expect("event details serialise"))
                .bind(now)
                .execute(exec)
                .await?;
                Ok(())
            }

            async fn audit_in<'e, E: sqlx::Executor<'e, Database = $db>>(
                exec: E,
                staff_id: Option<i64>,
                action: &str,
                task_reference: Option<&str>,
                details: serde_json::Value,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_log (staff_id, action, task_reference, details, occurred_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(staff_id)
                .bind(action)
                .bind(task_reference)
                .bind(details.to_string())
                .bind(now)
                .execute(exec)
                .await?;
                Ok(())
            }

            async fn insert_email<'e, E: sqlx::Executor<'e, Database = $db>>(
                exec: E,
                email: &NewEmail,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                // A teacher whose email One Login did not verify has none with us: there is no one to write to.
                if email.email_address.trim().is_empty() {
                    return Ok(());
                }
                sqlx::query(
                    "INSERT INTO email_outbox (reference, template, email_address, personalisation, task_reference, \
                     status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
                )
                .bind(&email.reference)
                .bind(&email.template)
                .bind(&email.email_address)
                .bind(serde_json::to_string(&email.personalisation).expect("maps serialise"))
                .bind(&email.task_reference)
                .bind(now)
                .execute(exec)
                .await?;
                Ok(())
            }

            /// Why a guarded change to a task touched no row.
            async fn why_refused(
                &self,
                reference: &str,
                version: i64,
                assignee: Option<i64>,
            ) -> StoreResult<TaskChangeRefused> {
                let Some(task) = self.task_by_reference(reference).await? else {
                    return Ok(TaskChangeRefused::NoSuchTask);
                };
                Ok(if task.status == TaskStatus::Done {
                    TaskChangeRefused::AlreadyDecided { by: task.decided_by, at: task.decided_at }
                } else if task.version != version {
                    TaskChangeRefused::Stale
                } else if assignee.is_some() {
                    TaskChangeRefused::NotAssignable
                } else {
                    TaskChangeRefused::Stale
                })
            }
        }
    };
}

support_store!(
    SqliteStore,
    sqlx::Sqlite,
    "EXPLAIN QUERY PLAN ",
    "detail",
    ""
);
support_store!(
    PgStore,
    sqlx::Postgres,
    "EXPLAIN ",
    "QUERY PLAN",
    " FOR UPDATE SKIP LOCKED"
);

// What differs between the backends, outside the shared macro.
impl SqliteStore {
    /// Takes SQLite's write lock at once (any write does): set_role's transactions then run one at a time.
    async fn lock_administrators(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>) -> StoreResult<()> {
        sqlx::query("UPDATE staff SET role = role WHERE role = 'administrator'")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The next number of the reference counter: one row, moved on and read in one statement.
    pub(super) async fn next_reference_number(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "UPDATE support_reference_counter SET next = next + 1 RETURNING next - 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }
}

impl PgStore {
    /// Locks every administrator's row, in id order so two transactions cannot deadlock. A transaction that waited
    /// sees the rows as the other left them: one no longer an administrator is not locked or counted.
    async fn lock_administrators(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    ) -> StoreResult<()> {
        sqlx::query("SELECT id FROM staff WHERE role = 'administrator' ORDER BY id FOR UPDATE")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The next number of the reference counter (a sequence: never handed out twice, even when rolled back).
    pub(super) async fn next_reference_number(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT nextval('support_reference_counter')")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}
