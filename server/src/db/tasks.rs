//! Support tasks: the dashboard's query, task changes guarded by the task's version (optimistic concurrency),
//! decisions (task, connection, change history, email and audit in one transaction), and undoing a connection.

use super::audit::AuditEvent;
use super::outbox::NewEmail;
use super::records::{PersonRow, PERSON_COLUMNS};
use super::{json, Dialect, RowsAffected, SqlStore, StoreError, StoreResult};
use app::domain::support::{
    prefix_upper_bound, AssigneeFilter, Cursor, Decision, DecisionInput, Search, ServiceFilter,
    ServiceOption, SortDirection, SortField, StaffMember, StatusCounts, StatusFilter, TaskKind,
    TaskPage, TaskQuery, TaskStatus, TaskSummary, COUNT_CAP, PAGE_SIZE,
};
use app::domain::support::{
    ConnectedHow, ConnectionEvent, SupportAction, WayIn, ONE_LOGIN_CONNECTED,
    ONE_LOGIN_DISCONNECTED,
};
use app::domain::task_details::TaskDetails;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::QueryBuilder;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

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
    /// The name of the service the teacher came from (its client id if no longer registered); `None` when they
    /// came directly.
    pub service: Option<String>,
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
    /// Merge: no account has that email, or it is this task's own account.
    NoSuchAccount,
    /// Merge: the two cannot be one person as they stand (both One Login, different records, merged already).
    NotMergeable(super::account_records::MergeRefused),
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

#[async_trait]
pub trait TaskStore {
    /// One page of the dashboard for `query`, with counts per status. `me` is the member asking.
    async fn list_tasks(&self, query: &TaskQuery, me: i64) -> StoreResult<TaskPage>;
    /// How the database runs the dashboard query (for the benchmark).
    async fn task_query_plan(&self, query: &TaskQuery, me: i64) -> StoreResult<Vec<String>>;
    /// The services the dashboard can be filtered by: every registered client, enabled or not, by name.
    async fn task_services(&self) -> StoreResult<Vec<ServiceOption>>;
    /// The id of the newest task: the live dashboard watches it.
    async fn latest_task_id(&self) -> StoreResult<i64>;
    async fn task_by_reference(&self, reference: &str) -> StoreResult<Option<StoredTask>>;
    /// The versions of what the task's page shows, read after this call began (migration 0027); `None` when
    /// there is no such task.
    async fn task_page_version(
        &self,
        reference: &str,
    ) -> StoreResult<Option<super::task_pages::TaskPageVersion>>;
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
}

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
    service: Option<String>,
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
            service: r.service,
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
    service: Option<String>,
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
            service: r.service,
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

const TASK_SELECT: &str = "SELECT t.id, t.reference, t.kind, t.status, t.user_id, t.requester_name, \
     t.requester_email, COALESCE(c.display_name, t.client_id) AS service, t.details, t.flag, t.version, \
     t.assignee_id, a.name AS assignee_name, t.draft, t.decision, \
     d.name AS decided_by_name, t.decided_at, t.created_at FROM support_tasks t \
     LEFT JOIN staff a ON a.id = t.assignee_id LEFT JOIN staff d ON d.id = t.decided_by \
     LEFT JOIN oidc_clients c ON c.client_id = t.client_id \
     WHERE t.reference = $1";

/// Whether the counts per status can come from `task_counts`: no filter but status and type.
fn only_kind_filtered(query: &TaskQuery) -> bool {
    query.assignee == AssigneeFilter::Anyone
        && query.service == ServiceFilter::Any
        && query.from.is_none()
        && query.to.is_none()
        && query.search() == Search::None
}

/// Which of a name search's two keys a query reads. A name search matches either key; it is run as the UNION ALL
/// of one read of each key's index (each reads only its index): an OR of the two ranges made PostgreSQL read
/// every match from the table (160-210 ms for a common surname at 1,000,000 tasks; 7-11 ms now).
#[derive(Clone, Copy, PartialEq, Eq)]
enum NameKey {
    Full,
    Last,
}

/// Filter columns whose index SQLite must not choose for a page: a `+` before a column (SQLite only) leaves the
/// planner the sort's own index, walked in order, instead of the filter's index and a sort of every match
/// (300-800 ms for one status sorted by name at 1,000,000 tasks).
#[derive(Clone, Copy, Default)]
struct Unindexed {
    status: &'static str,
    kind: &'static str,
    assignee: &'static str,
    service: &'static str,
}

impl Unindexed {
    /// The hints for a page in `sort`'s order: each filter column not leading one of that order's indexes
    /// (migrations 0009 and 0010: `kind, created_at`; `status DESC, created_at`; `assignee_id` then each order;
    /// 0023: `client_id` then each order).
    /// A name search keeps every filter off its index, so the two name ranges are read.
    fn for_page<DB: Dialect>(sort: SortField, name_search: bool) -> Self {
        if DB::BACKEND != super::Backend::Sqlite {
            return Self::default();
        }
        let plus = |unindexed: bool| if unindexed { "+" } else { "" };
        Self {
            status: plus(name_search || matches!(sort, SortField::Name | SortField::Kind)),
            kind: plus(name_search || matches!(sort, SortField::Name | SortField::Status)),
            assignee: plus(name_search),
            service: plus(name_search),
        }
    }
}

/// The WHERE clause of the dashboard, without the status filter (counts group by status). A name search reads
/// `key` only.
fn push_filters<'a, DB>(
    q: &mut QueryBuilder<'a, DB>,
    query: &'a TaskQuery,
    me: i64,
    key: Option<NameKey>,
    hints: Unindexed,
) where
    DB: sqlx::Database,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push(" WHERE 1 = 1");
    if let Some(kind) = query.kind {
        q.push(format!(" AND {}t.kind = ", hints.kind))
            .push_bind(kind.as_str());
    }
    match query.assignee {
        AssigneeFilter::Anyone => {}
        AssigneeFilter::Me => {
            q.push(format!(" AND {}t.assignee_id = ", hints.assignee))
                .push_bind(me);
        }
        AssigneeFilter::Unassigned => {
            q.push(format!(" AND {}t.assignee_id IS NULL", hints.assignee));
        }
    }
    match &query.service {
        ServiceFilter::Any => {}
        ServiceFilter::Direct => {
            q.push(format!(" AND {}t.client_id IS NULL", hints.service));
        }
        ServiceFilter::Service(client_id) => {
            q.push(format!(" AND {}t.client_id = ", hints.service))
                .push_bind(client_id.as_str());
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
        Search::Name(prefix) => {
            let upper = prefix_upper_bound(&prefix);
            if key == Some(NameKey::Last) {
                // Those the full name's read finds are not read twice (so the UNION ALL needs no deduplication).
                q.push(" AND t.last_name_key >= ")
                    .push_bind(prefix.clone())
                    .push(" AND t.last_name_key < ")
                    .push_bind(upper.clone())
                    .push(" AND NOT (t.name_key >= ")
                    .push_bind(prefix)
                    .push(" AND t.name_key < ")
                    .push_bind(upper)
                    .push(")");
            } else {
                q.push(" AND t.name_key >= ")
                    .push_bind(prefix)
                    .push(" AND t.name_key < ")
                    .push_bind(upper);
            }
        }
    }
}

/// The status filter, written so no status index is used for a set of statuses: "active" is "not done" and
/// "all" is no condition, and each order's own index is walked instead, with no sort.
/// Sorted by status, "active" is the range `status > 'done'` (the statuses are done, in_progress and open), so
/// the status index is read from the first active task rather than past every done one (38 ms on SQLite).
fn push_status<'a, DB>(q: &mut QueryBuilder<'a, DB>, query: &TaskQuery, hints: Unindexed)
where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    match query.status {
        StatusFilter::All => {}
        StatusFilter::Active if query.sort == SortField::Status => {
            q.push(" AND t.status > 'done'");
        }
        StatusFilter::Active => {
            q.push(" AND t.status <> 'done'");
        }
        StatusFilter::Only(status) => {
            q.push(format!(" AND {}t.status = ", hints.status))
                .push_bind(status.as_str());
        }
    }
}

/// The tasks a page or a count reads, as `t`: the table, or for a name search the UNION of the two keys' matches
/// (`columns` of each, with the filters; with the status filter too if `status`).
fn push_source<'a, DB>(
    q: &mut QueryBuilder<'a, DB>,
    query: &'a TaskQuery,
    me: i64,
    columns: &str,
    status: bool,
    hints: Unindexed,
) where
    DB: sqlx::Database,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if !matches!(query.search(), Search::Name(_)) {
        q.push(" FROM support_tasks t");
        push_filters(q, query, me, None, hints);
        if status {
            push_status(q, query, hints);
        }
        return;
    }
    q.push(" FROM (");
    for (i, key) in [NameKey::Full, NameKey::Last].into_iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push(format!("SELECT {columns} FROM support_tasks t"));
        push_filters(q, query, me, Some(key), hints);
        if status {
            push_status(q, query, hints);
        }
    }
    q.push(") t");
}

/// Where a page starts when its link carried a cursor ([`Cursor`]): the task named (its id, type and status; its
/// date and name key are read by id in the page query itself, so they compare exactly as stored) and whether the
/// page is the tasks after it (a "next" link) or before it (a "previous" link).
struct Start {
    id: i64,
    kind: String,
    status: String,
    after: bool,
}

fn reversed(direction: SortDirection) -> SortDirection {
    match direction {
        SortDirection::Ascending => SortDirection::Descending,
        SortDirection::Descending => SortDirection::Ascending,
    }
}

/// The ORDER BY of `sort` read in `direction`. Each order is an index walked forwards or backwards. Status sorts
/// in the work order (open, in progress, done), which is its names' order reversed.
fn order_by(sort: SortField, direction: SortDirection) -> String {
    let dir = match direction {
        SortDirection::Ascending => "ASC",
        SortDirection::Descending => "DESC",
    };
    let reverse = match direction {
        SortDirection::Ascending => "DESC",
        SortDirection::Descending => "ASC",
    };
    match sort {
        SortField::Requested => format!("t.created_at {dir}, t.id {dir}"),
        SortField::Name => format!("t.name_key {dir}, t.id {dir}"),
        SortField::Kind => format!("t.kind {dir}, t.created_at {dir}, t.id {dir}"),
        SortField::Status => format!("t.status {reverse}, t.created_at {dir}, t.id {dir}"),
    }
}

/// "Comes after the cursor's task" when reading in `direction`, for a row value compared with the task's.
fn later(direction: SortDirection) -> &'static str {
    match direction {
        SortDirection::Ascending => " > ",
        SortDirection::Descending => " < ",
    }
}

/// `(t.created_at, t.id) > (the start task's)` (or `<`): a range of each order's index, so reading starts at the
/// cursor's task instead of counting past every task before it.
fn push_after_date<'a, DB>(q: &mut QueryBuilder<'a, DB>, start: &'a Start, direction: SortDirection)
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push(" AND (t.created_at, t.id)")
        .push(later(direction))
        .push("((SELECT c.created_at FROM support_tasks c WHERE c.id = ")
        .push_bind(start.id)
        .push("), ")
        .push_bind(start.id)
        .push(")");
}

/// The position of a type or status in `sort`'s ascending order (status: the work order).
fn rank(sort: SortField, value: &str) -> usize {
    if sort == SortField::Status {
        TaskStatus::ALL
            .iter()
            .position(|s| s.as_str() == value)
            .unwrap_or(0)
    } else {
        TaskKind::ALL.iter().filter(|k| k.as_str() < value).count()
    }
}

/// Whether a page is read one status (or type) at a time, merged (see [`page_query`]).
fn per_value_reads(query: &TaskQuery, cursor: bool) -> bool {
    let dated = query.from.is_some() || query.to.is_some();
    !matches!(query.search(), Search::Name(_))
        && ((query.sort == SortField::Kind && dated)
            || (query.sort == SortField::Status
                && (dated
                    || cursor
                    || query.assignee != AssigneeFilter::Anyone
                    || query.service != ServiceFilter::Any)))
}

/// The page query of the dashboard, after `prefix` (e.g. `EXPLAIN`); from `start` when the page's link carried a
/// cursor (keyset pagination: no task before the page is read), otherwise by its number (an offset). `counts`, the
/// counts per status when known first, let a page found by its number sorted by status read only the statuses
/// its rows are in.
fn page_query<'a, DB>(
    prefix: &str,
    query: &'a TaskQuery,
    me: i64,
    start: Option<&'a Start>,
    counts: Option<&StatusCounts>,
) -> QueryBuilder<'a, DB>
where
    DB: Dialect,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    // The page's ids first, from the sort's index alone (migration 0009 put every column a filter reads in each
    // sort index), then the 25 rows: reading the rows skipped on the way to page 400 cost PostgreSQL 200 ms.
    let mut q = QueryBuilder::new(format!(
        "{prefix}SELECT t.reference, t.kind, t.status, t.requester_name, t.requester_email, t.created_at, \
         a.name AS assignee, t.flag, COALESCE(c.display_name, t.client_id) AS service FROM (SELECT t.id"
    ));
    let name_search = matches!(query.search(), Search::Name(_));
    // A "previous" link reads backwards from its task; the rows are put back in order at the end.
    let direction = match start {
        Some(Start { after: false, .. }) => reversed(query.direction),
        _ => query.direction,
    };
    let offset = match start {
        Some(_) => 0,
        None => i64::from(query.page.saturating_sub(1)) * i64::from(PAGE_SIZE),
    };
    let mut outer_offset = offset;
    let hints = Unindexed::for_page::<DB>(query.sort, name_search);
    if name_search {
        // A name search's two reads carry every column an order sorts by (both name indexes hold them); their
        // matches are sorted, so the cursor is a condition on them, after the reads. On PostgreSQL `OFFSET 0`
        // keeps it there: pushed into the reads, the cursor's row comparison looked selective enough to read the
        // surname's matches through the type index and the table instead (35-80 ms, sorted by type).
        let fenced = start.is_some() && DB::BACKEND == super::Backend::Postgres;
        if fenced {
            q.push(" FROM (SELECT *");
        }
        push_source(
            &mut q,
            query,
            me,
            "t.id, t.created_at, t.name_key, t.kind, t.status",
            true,
            hints,
        );
        if fenced {
            q.push(" OFFSET 0) t");
        }
        if let Some(start) = start {
            q.push(" WHERE 1 = 1");
            push_after(&mut q, query.sort, start, direction);
        }
    } else if per_value_reads(query, start.is_some()) {
        // One read per status (or type) in the order's sequence, each a range of its index in date order, merged:
        // a date range is then a range of each read rather than a filter on every task of the first status or
        // type before it (a month sorted by type: 80-120 ms on PostgreSQL), a filter on the assignee reads its
        // own index for each status, and a cursor is a plain range (the status order mixes directions, which no
        // row comparison can express). Without these the one index walk is cheaper: a page found by its number
        // reads up to a page's offset from each read, then sorts them (40 ms for page 400 of every status).
        let column = if query.sort == SortField::Status {
            "status"
        } else {
            "kind"
        };
        let mut values: Vec<&'static str> = if query.sort == SortField::Status {
            query.status.statuses().iter().map(|s| s.as_str()).collect()
        } else {
            match query.kind {
                Some(kind) => vec![kind.as_str()],
                None => TaskKind::ALL.iter().map(|k| k.as_str()).collect(),
            }
        };
        values.sort_by_key(|v| rank(query.sort, v));
        if direction == SortDirection::Descending {
            values.reverse();
        }
        let from = start.map(|s| {
            rank(
                query.sort,
                if query.sort == SortField::Status {
                    &s.status
                } else {
                    &s.kind
                },
            )
        });
        let mut reads = 0;
        // Found by its number and sorted by status, with the counts per status known: the statuses before the
        // page are skipped by their counts and each read takes only its share (a month's page 400: 31-56 ms when
        // each of three reads took 10,000 tasks to be merged). Counts are capped at 10,001, past any page served.
        let counted = counts.filter(|_| start.is_none() && query.sort == SortField::Status);
        let (mut skip, mut wanted) = (offset, i64::from(PAGE_SIZE));
        if counted.is_some() {
            outer_offset = 0;
        }
        q.push(" FROM (");
        for value in values {
            let (at_start, before_start) = match from {
                None => (false, false),
                Some(from) => {
                    let r = rank(query.sort, value);
                    (
                        r == from,
                        match direction {
                            SortDirection::Ascending => r < from,
                            SortDirection::Descending => r > from,
                        },
                    )
                }
            };
            if before_start {
                continue;
            }
            let mut range = format!("LIMIT {}", offset + i64::from(PAGE_SIZE));
            if let Some(counts) = counted {
                let n =
                    TaskStatus::parse(value).map_or(0, |s| counts.of(StatusFilter::Only(s)) as i64);
                if wanted <= 0 || skip >= n {
                    skip -= n.min(skip);
                    continue;
                }
                range = format!("LIMIT {wanted} OFFSET {skip}");
                wanted -= n - skip;
                skip = 0;
            }
            if reads > 0 {
                q.push(" UNION ALL ");
            }
            q.push(
                "SELECT * FROM (SELECT t.id, t.created_at, t.kind, t.status FROM support_tasks t",
            );
            push_filters(&mut q, query, me, None, hints);
            if query.sort == SortField::Kind {
                push_status(&mut q, query, hints);
            }
            q.push(format!(" AND t.{column} = ")).push_bind(value);
            if let (true, Some(start)) = (at_start, start) {
                push_after_date(&mut q, start, direction);
            }
            q.push(format!(
                " ORDER BY {} {range}) read{reads}",
                order_by(SortField::Requested, direction),
            ));
            reads += 1;
        }
        if reads == 0 {
            q.push("SELECT t.id, t.created_at, t.kind, t.status FROM support_tasks t WHERE 1 = 0");
        }
        q.push(") t");
    } else {
        push_source(&mut q, query, me, "", true, hints);
        if let Some(start) = start {
            push_after(&mut q, query.sort, start, direction);
        }
    }
    q.push(format!(
        " ORDER BY {} LIMIT {PAGE_SIZE} OFFSET ",
        order_by(query.sort, direction)
    ));
    q.push_bind(outer_offset);
    q.push(format!(
        ") page JOIN support_tasks t ON t.id = page.id LEFT JOIN staff a ON a.id = t.assignee_id \
         LEFT JOIN oidc_clients c ON c.client_id = t.client_id ORDER BY {}",
        order_by(query.sort, query.direction)
    ));
    q
}

/// The rows after `start` in `sort` read in `direction`, as one row comparison with the start task's key.
fn push_after<'a, DB>(
    q: &mut QueryBuilder<'a, DB>,
    sort: SortField,
    start: &'a Start,
    direction: SortDirection,
) where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    match sort {
        SortField::Requested => push_after_date(q, start, direction),
        SortField::Name => {
            q.push(" AND (t.name_key, t.id)")
                .push(later(direction))
                .push("((SELECT c.name_key FROM support_tasks c WHERE c.id = ")
                .push_bind(start.id)
                .push("), ")
                .push_bind(start.id)
                .push(")");
        }
        SortField::Kind => {
            q.push(" AND (t.kind, t.created_at, t.id)")
                .push(later(direction))
                .push("(")
                .push_bind(start.kind.as_str())
                .push(", (SELECT c.created_at FROM support_tasks c WHERE c.id = ")
                .push_bind(start.id)
                .push("), ")
                .push_bind(start.id)
                .push(")");
        }
        SortField::Status => {
            // Status runs against the date (its names' order is reversed): a later status, or the same one
            // with a later date.
            let later_status = match direction {
                SortDirection::Ascending => " < ",
                SortDirection::Descending => " > ",
            };
            q.push(" AND (t.status")
                .push(later_status)
                .push_bind(start.status.as_str())
                .push(" OR (t.status = ")
                .push_bind(start.status.as_str());
            push_after_date(q, start, direction);
            q.push("))");
        }
    }
}

#[async_trait]
impl<DB: Dialect> TaskStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    async fn list_tasks(&self, query: &TaskQuery, me: i64) -> StoreResult<TaskPage> {
        let page = |counts: Option<StatusCounts>| async move {
            // A cursor names the task its page starts after (or ends before); a task that is gone leaves the
            // page found by its number.
            let start = match &query.cursor {
                None => None,
                Some(cursor) => {
                    let found: Option<(i64, String, String)> = sqlx::query_as(
                        "SELECT id, kind, status FROM support_tasks WHERE reference = $1",
                    )
                    .bind(cursor.reference())
                    .fetch_optional(&self.pool)
                    .await?;
                    found.map(|(id, kind, status)| Start {
                        id,
                        kind,
                        status,
                        after: matches!(cursor, Cursor::After(_)),
                    })
                }
            };
            let built = page_query::<DB>("", query, me, start.as_ref(), counts.as_ref());
            let mut rows: Vec<SummaryRow> = DB::fetch_all_built(built, &self.pool).await?;
            // Nothing after the cursor any more (tasks decided since the link was made): the page by its number.
            if start.is_some() && rows.is_empty() {
                let built = page_query::<DB>("", query, me, None, None);
                rows = DB::fetch_all_built(built, &self.pool).await?;
            }
            rows.into_iter()
                .map(TryInto::try_into)
                .collect::<StoreResult<Vec<TaskSummary>>>()
        };
        // Without filters other than type, the counts kept by triggers; otherwise counted.
        let counts = async {
            let counted: Vec<(String, i64)> = if only_kind_filtered(query) {
                let mut q = QueryBuilder::<DB>::new(
                    "SELECT status, CAST(SUM(n) AS BIGINT) AS n FROM task_counts WHERE 1 = 1",
                );
                if let Some(kind) = query.kind {
                    q.push(" AND kind = ").push_bind(kind.as_str());
                }
                q.push(" GROUP BY status");
                DB::fetch_all_built(q, &self.pool).await?
            } else if query.search() != Search::None {
                // A search finds few tasks through its own index: count them all.
                let mut q =
                    QueryBuilder::<DB>::new("SELECT t.status, CAST(COUNT(*) AS BIGINT) AS n");
                let hints = Unindexed::for_page::<DB>(SortField::Requested, true);
                push_source(&mut q, query, me, "t.id, t.status", false, hints);
                q.push(" GROUP BY t.status");
                DB::fetch_all_built(q, &self.pool).await?
            } else {
                // Assignee and date filters can match most tasks: each status is counted only as far as one
                // past the cap, and the page says "more than" beyond it.
                let mut q = QueryBuilder::<DB>::new("");
                for (i, status) in TaskStatus::ALL.into_iter().enumerate() {
                    if i > 0 {
                        q.push(" UNION ALL ");
                    }
                    q.push("SELECT ").push_bind(status.as_str()).push(
                    " AS status, CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT 1 AS one FROM support_tasks t",
                );
                    push_filters(&mut q, query, me, None, Unindexed::default());
                    q.push(" AND t.status = ").push_bind(status.as_str());
                    q.push(format!(" LIMIT {}) counted", COUNT_CAP + 1));
                }
                DB::fetch_all_built(q, &self.pool).await?
            };
            Ok::<_, StoreError>(counted)
        };
        let tally = |counted: Vec<(String, i64)>| {
            let mut counts = StatusCounts::default();
            for (status, n) in counted {
                let n = n as u64;
                match status_of(&status)? {
                    TaskStatus::Open => counts.open = n,
                    TaskStatus::InProgress => counts.in_progress = n,
                    TaskStatus::Done => counts.done = n,
                }
            }
            Ok::<_, StoreError>(counts)
        };
        // The page and the counts are read at once, on two connections: a common surname's search is two
        // reads of ~20,000 index entries each (about 13 ms each on PostgreSQL at 1,000,000 tasks). A deep page
        // read one status at a time waits for the counts, which say which statuses it is in.
        let (tasks, counts) = if query.cursor.is_none()
            && query.page > 1
            && query.sort == SortField::Status
            && per_value_reads(query, false)
        {
            let counts = tally(counts.await?)?;
            (page(Some(counts)).await?, counts)
        } else {
            let (tasks, counted) = futures::try_join!(page(None), counts)?;
            (tasks, tally(counted)?)
        };
        Ok(TaskPage {
            tasks,
            total: counts.of(query.status),
            counts,
        })
    }

    async fn task_query_plan(&self, query: &TaskQuery, me: i64) -> StoreResult<Vec<String>> {
        let q = page_query::<DB>(DB::EXPLAIN, query, me, None, None);
        Ok(DB::plan_of_built(q, &self.pool).await?)
    }

    async fn task_services(&self) -> StoreResult<Vec<ServiceOption>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT client_id, display_name FROM oidc_clients ORDER BY display_name, client_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(client_id, name)| ServiceOption { client_id, name })
            .collect())
    }

    async fn latest_task_id(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM support_tasks")
                .fetch_one(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    async fn task_page_version(
        &self,
        reference: &str,
    ) -> StoreResult<Option<super::task_pages::TaskPageVersion>> {
        self.task_page_versions.get(reference.to_string()).await
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
            Some(id) => {
                sqlx::query_scalar("SELECT name FROM staff WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let event = AuditEvent::Assigned {
            assignee_id: assignee,
            assignee_name,
        };
        Self::audit_in(&mut *tx, Some(actor), Some(reference), &event, now).await?;
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
        Self::audit_in(
            &mut *tx,
            Some(actor),
            Some(reference),
            &AuditEvent::SavedDraft,
            now,
        )
        .await?;
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
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM persons WHERE trn = $1")
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
                way_in: WayIn::of_task(kind_of(&kind)?),
                one_login_email: one_login_email.clone(),
                support: Some(support_action(reference, actor)),
                reason: None,
            };
            Self::insert_record_event(
                &mut *tx,
                person_id,
                ONE_LOGIN_CONNECTED,
                &support_actor(actor),
                &details,
                now,
            )
            .await?;
        }
        // Two accounts are one person: this task's account goes into the one with that email, in this
        // transaction, and the email goes to the kept account, saying whether it now holds a record.
        let mut email = email.clone();
        if let Decision::Merge { email: other } = decision {
            let key = app::domain::account::AccountEmail::parse(other)
                .map(|e| e.key().to_string())
                .unwrap_or_default();
            let kept: Option<(i64, String)> =
                sqlx::query_as("SELECT user_id, email FROM accounts WHERE email_key = $1")
                    .bind(&key)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (Some(gone), Some((keep, kept_email))) = (user_id, kept) else {
                tx.rollback().await?;
                return Ok(Err(TaskChangeRefused::NoSuchAccount));
            };
            if keep == gone {
                tx.rollback().await?;
                return Ok(Err(TaskChangeRefused::NoSuchAccount));
            }
            let by = super::account_records::MergedBy::Support {
                actor,
                task_reference: reference,
            };
            let merged = Self::merge_in(
                &mut tx,
                keep,
                gone,
                super::account_records::KeepAccount::Kept,
                by,
                now,
            )
            .await?;
            if let Err(why) = merged {
                tx.rollback().await?;
                return Ok(Err(TaskChangeRefused::NotMergeable(why)));
            }
            let has_record: Option<i64> =
                sqlx::query_scalar("SELECT person_id FROM connections WHERE user_id = $1")
                    .bind(keep)
                    .fetch_optional(&mut *tx)
                    .await?;
            email.email_address = kept_email;
            if has_record.is_none() {
                email.template = app::domain::support::EmailTemplate::AccountRecordNotFound
                    .as_str()
                    .to_string();
                email.personalisation.insert(
                    "reason".into(),
                    "Your two accounts are now one. We have not found your teaching record yet"
                        .into(),
                );
            }
        }
        // Support found no record for an account's person: it is not looked up again at sign-in (DESIGN §7.3).
        if let (Some(user_id), Decision::DoNotConnect { .. }, TaskKind::AccountRecordMatching) =
            (user_id, decision, kind_of(&kind)?)
        {
            Self::mark_no_trn_in(&mut *tx, user_id, reference, now).await?;
        }
        // Support checked the proof: the teacher's identity is verified from now on, by this officer.
        if let (Some(user_id), true) = (user_id, decision.verifies_identity(kind_of(&kind)?)) {
            Self::verify_identity_by_support_in(&mut *tx, user_id, reference, actor.id, now)
                .await?;
        }
        Self::insert_email(&mut *tx, &email, now).await?;
        Self::audit_in(
            &mut *tx,
            Some(actor.id),
            Some(reference),
            &AuditEvent::decided(decision, kind_of(&kind)?),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
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
        // The way in by the task's kind ([`WayIn::of_task`]), and that way in's email.
        let (one_login_email, account_email, kind): (String, Option<String>, Option<String>) =
            sqlx::query_as(
                "SELECT u.email, (SELECT a.email FROM accounts a WHERE a.user_id = u.id), \
                 (SELECT t.kind FROM support_tasks t WHERE t.reference = $2) FROM users u WHERE u.id = $1",
            )
            .bind(user_id)
            .bind(task_reference)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or_default();
        let way_in = kind
            .as_deref()
            .map(kind_of)
            .transpose()?
            .map_or(WayIn::OneLogin, WayIn::of_task);
        let way_in_email = match way_in {
            WayIn::Account => account_email.unwrap_or(one_login_email),
            WayIn::OneLogin => one_login_email,
        };
        let details = ConnectionEvent {
            how: ConnectedHow::Support,
            user_id,
            way_in,
            one_login_email: way_in_email,
            support: Some(support_action(task_reference, actor)),
            reason: Some(reason.to_string()),
        };
        Self::insert_record_event(
            &mut *tx,
            person_id,
            ONE_LOGIN_DISCONNECTED,
            &support_actor(actor),
            &details,
            now,
        )
        .await?;
        Self::insert_email(&mut *tx, email, now).await?;
        let event = AuditEvent::Disconnected {
            trn: trn.to_string(),
            reason: reason.to_string(),
        };
        Self::audit_in(&mut *tx, Some(actor.id), Some(task_reference), &event, now).await?;
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
}

impl<DB: Dialect> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    /// Adds an event to a record's change history (a connection made or undone): one writer for all.
    pub(super) async fn insert_record_event<'e, E: Executor<'e, Database = DB>>(
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
            TaskChangeRefused::AlreadyDecided {
                by: task.decided_by,
                at: task.decided_at,
            }
        } else if task.version != version {
            TaskChangeRefused::Stale
        } else if assignee.is_some() {
            TaskChangeRefused::NotAssignable
        } else {
            TaskChangeRefused::Stale
        })
    }

    /// The next number of the support reference counter: never handed out twice.
    pub(super) async fn next_reference_number(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(DB::NEXT_REFERENCE)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}
