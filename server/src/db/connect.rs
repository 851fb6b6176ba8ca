//! The connect journey's storage: the candidate search for the matching policy, connecting a user to a record (with
//! its change-history event, in one transaction), support tasks raised by teachers, and rate-limit counters.

use super::records::{to_record, PersonRow, PreviousNameRow, QualificationRow, PERSON_COLUMNS};
use super::{Dialect, RowsAffected, SqlStore, StoreError, StoreResult};
use app::domain::matching::{
    first_name_lookalikes_matter, first_name_search_keys, Candidate, Evidence, MatchedVia,
    SupportFlag,
};
use app::domain::names::name_key;
use app::domain::records::TeachingRecord;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use sqlx::{Postgres, QueryBuilder, Sqlite};
use std::collections::{HashMap, HashSet};

pub use app::domain::support::TaskKind;
use app::domain::support::{
    ConnectionEvent, WayIn, ONE_LOGIN_CONNECTED, ONE_LOGIN_DISCONNECTED, PEOPLE_MERGED,
};
pub use app::domain::task_details::TaskDetails;

/// A support task a teacher raised, as the teacher sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeacherTask {
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

/// What a teacher's support request holds. Its kind, the requester's name and email, the TRN support staff search
/// by and the dashboard's flag (the strongest) all come from the details.
#[derive(Clone, Debug)]
pub struct NewSupportTask {
    pub user_id: i64,
    pub details: TaskDetails,
    /// The OpenID Connect client whose request was kept in the teacher's session when they asked (its client id):
    /// the service they came from, which the console shows and filters by. `None` when they came directly.
    pub client_id: Option<String>,
}

/// One entry in a record's change history.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordEvent {
    pub kind: String,
    pub actor: String,
    /// For the kinds this service writes (a One Login connected or disconnected); other kinds' details are not
    /// read.
    pub details: Option<ConnectionEvent>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RecordEventRow {
    kind: String,
    actor: String,
    details: String,
    occurred_at: DateTime<Utc>,
}

/// The result of [`ConnectStore::connect_user`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectResult {
    /// The user is now connected to the record (or already was).
    Connected,
    /// The record is connected to another user, or this user to another record; nothing changed.
    RecordTaken,
    /// The TRN is not a record we hold; nothing changed.
    UnknownRecord,
}

/// The result of [`ConnectStore::redeem_trn_token`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// The token is used now, and the user connected to its record.
    Connected,
    /// No unused, unexpired token has this hash (any more); nothing changed.
    TokenUnusable,
    /// The record is connected to another user, this user to another record or already to this one, or an
    /// administrator undid this connection before; nothing changed (the token stays unused).
    RecordTaken,
    /// The token's TRN is not a record we hold; nothing changed.
    UnknownRecord,
}

/// What [`SqlStore::connect_in`] did.
enum Connecting {
    /// The connection and its event are written (the transaction's to commit).
    Made,
    /// Nothing was written: the user was already connected to this record.
    AlreadyMade,
    /// Nothing was written: the record or the user is connected elsewhere, or the connection was undone before.
    Refused,
}

fn via_str(via: MatchedVia) -> &'static str {
    match via {
        MatchedVia::Automatic => "automatic",
        MatchedVia::Nino => "nino",
        MatchedVia::Trn => "trn",
        MatchedVia::Itt => "itt",
        MatchedVia::TrnToken => "trn_token",
    }
}

#[async_trait]
pub trait ConnectStore {
    /// Every record that could be a definite match for `evidence` (DESIGN §5), with its names and previous names
    /// but without its qualifications, which matching reads only when the teacher answered the third question
    /// (then with their ITT and QTS lines): born on a verified date of birth and sharing a last name (current or
    /// previous), the NINO, the TRN or the email; and, when [`app::domain::matching::first_name_lookalikes_matter`]
    /// for those, a first name (current or previous, through [`app::domain::matching::first_name_search_keys`]).
    /// Deactivated records are included; the policy decides. `user_id` is the person asking, so records connected
    /// to *them* are not "another login".
    async fn find_candidates(
        &self,
        evidence: &Evidence,
        user_id: i64,
    ) -> StoreResult<Vec<Candidate>>;
    /// How the database runs the candidate search for `evidence` (its query plan, one line per row).
    async fn candidate_plan(&self, evidence: &Evidence) -> StoreResult<Vec<String>>;
    /// Connects the user to the record with this TRN and adds a change-history event, in one transaction.
    async fn connect_user(
        &self,
        user_id: i64,
        trn: &str,
        via: MatchedVia,
        one_login_email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ConnectResult>;
    /// Redeems the TRN token with this hash for `user_id` (DESIGN §7.2), in one transaction: marks it used, connects
    /// the user to its record with `matched_via = trn_token` and adds the change-history event. Only an unused,
    /// unexpired token is used, and only once: of two redemptions at once, one finds it used. Nothing is written
    /// unless all of it is. The rule of who may redeem ([`app::domain::trn_tokens::may_redeem`]) is the caller's.
    async fn redeem_trn_token(
        &self,
        token_sha256: &str,
        user_id: i64,
        one_login_email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Redemption>;
    /// The user connected to the record with this TRN, if anyone.
    async fn connected_user_of(&self, trn: &str) -> StoreResult<Option<i64>>;
    /// The change history of the record with this TRN, oldest first.
    async fn record_history(&self, trn: &str) -> StoreResult<Vec<RecordEvent>>;
    /// The record the user is connected to.
    async fn connected_record(&self, user_id: i64) -> StoreResult<Option<TeachingRecord>>;
    /// The user's open (or in-progress) support task.
    async fn open_task_for_user(&self, user_id: i64) -> StoreResult<Option<TeacherTask>>;
    /// Raises a support task, unless the user already has an open one, which is returned instead: a repeated
    /// submit or a double click gives one task and one reference. References come from a counter (see
    /// [`app::domain::journey::support_reference`]).
    async fn raise_support_task(
        &self,
        task: &NewSupportTask,
        now: DateTime<Utc>,
    ) -> StoreResult<TeacherTask>;
    /// Deletes the counters of windows that started before `cutoff`.
    async fn forget_attempts_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;
    /// Counts one attempt against `key_hash` in the fixed window containing `now`; returns the attempts so far.
    async fn count_attempt(
        &self,
        key_hash: &str,
        window_seconds: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    reference: String,
    created_at: DateTime<Utc>,
}

impl From<TaskRow> for TeacherTask {
    fn from(row: TaskRow) -> Self {
        Self {
            reference: row.reference,
            created_at: row.created_at,
        }
    }
}

/// How many counter numbers raising a task may use up on references already taken before the counter existed.
const MAX_REFERENCE_TRIES: usize = 100;

const OPEN_TASK: &str = "SELECT reference, created_at FROM support_tasks \
     WHERE user_id = $1 AND status IN ('open', 'in_progress')";

/// How the candidate search binds a list of values for `column IN (…)`, pushed after the column.
///
/// PostgreSQL takes the list as one array, ` = ANY($n)`: the statement's text is then the same however many
/// dates, names or people there are, so each connection prepares and plans it once. Bound value by value, every
/// new length was a new statement (the first-name keys alone run from a few to dozens): 740 of 24,311 runs in a
/// bench-matching run at 2M records were prepared first, each costing a round trip, 0.2 ms of parsing and 0.7 ms
/// of generic planning, which put them in the p99. SQLite has no arrays; its statements are cheap to prepare.
pub trait InList: Dialect {
    fn push_texts<'a>(q: &mut QueryBuilder<'a, Self>, values: Vec<String>);
    fn push_dates<'a>(q: &mut QueryBuilder<'a, Self>, values: Vec<NaiveDate>);
    fn push_ids<'a>(q: &mut QueryBuilder<'a, Self>, values: Vec<i64>);
}

/// ` IN (?, ?, …)`, a bind each (callers never pass an empty list).
fn push_each<'a, T>(q: &mut QueryBuilder<'a, Sqlite>, values: Vec<T>)
where
    T: 'a + sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite>,
{
    q.push(" IN (");
    let mut each = q.separated(", ");
    for value in values {
        each.push_bind(value);
    }
    q.push(")");
}

impl InList for Sqlite {
    fn push_texts<'a>(q: &mut QueryBuilder<'a, Self>, values: Vec<String>) {
        push_each(q, values);
    }
    fn push_dates<'a>(q: &mut QueryBuilder<'a, Self>, values: Vec<NaiveDate>) {
        push_each(q, values);
    }
    fn push_ids<'a>(q: &mut QueryBuilder<'a, Self>, values: Vec<i64>) {
        push_each(q, values);
    }
}

impl InList for Postgres {
    fn push_texts<'a>(q: &mut QueryBuilder<'a, Self>, values: Vec<String>) {
        q.push(" = ANY(").push_bind(values).push(")");
    }
    fn push_dates<'a>(q: &mut QueryBuilder<'a, Self>, values: Vec<NaiveDate>) {
        q.push(" = ANY(").push_bind(values).push(")");
    }
    fn push_ids<'a>(q: &mut QueryBuilder<'a, Self>, values: Vec<i64>) {
        q.push(" = ANY(").push_bind(values).push(")");
    }
}

/// The start both candidate searches share, after `prefix` (e.g. `EXPLAIN`): the records among those born on a
/// verified date of birth that meet the condition the caller pushes next, then ends with [`CANDIDATE_SEARCH_END`].
/// The condition is decided in a subquery that reads only the `persons_born` index (migration 0014), so only the
/// rows returned are read, not one for each of the ~120 people born that day.
fn born_on_query<'a, DB>(prefix: &str, evidence: &'a Evidence) -> QueryBuilder<'a, DB>
where
    DB: InList,
    DB::Arguments<'a>: Default,
{
    let columns = PERSON_COLUMNS
        .split(", ")
        .map(|c| format!("persons.{c} AS {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Each person's previous names come joined, a row each (a person without any has one row of NULLs), rather
    // than from a query of their own: a round trip less.
    let mut q = QueryBuilder::<DB>::new(format!(
        "{prefix}SELECT {columns}, \
         (SELECT c.user_id FROM connections c WHERE c.person_id = persons.id) AS connected_user_id, \
         previous.first_name AS previous_first_name, previous.middle_name AS previous_middle_name, \
         previous.last_name AS previous_last_name, previous.valid_until AS previous_valid_until \
         FROM persons LEFT JOIN previous_names previous ON previous.person_id = persons.id \
         WHERE persons.id IN (SELECT id FROM persons WHERE date_of_birth"
    ));
    DB::push_dates(&mut q, evidence.dates_of_birth.clone());
    q.push(" AND (");
    q
}

/// Closes [`born_on_query`]'s condition: at most 200 people, in TRN order, each with their previous names in the
/// order they were stored.
const CANDIDATE_SEARCH_END: &str = ") ORDER BY trn LIMIT 200) ORDER BY persons.trn, previous.id";

/// The candidate search of [`ConnectStore::find_candidates`], after `prefix` (e.g. `EXPLAIN`).
fn candidate_query<'a, DB>(prefix: &str, evidence: &'a Evidence) -> QueryBuilder<'a, DB>
where
    DB: InList,
    DB::Arguments<'a>: Default,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut last_names: Vec<String> = evidence
        .names
        .iter()
        .map(|n| name_key(&n.family_name))
        .filter(|k| !k.is_empty())
        .collect();
    last_names.sort();
    last_names.dedup();
    // A key no record has, so the list is never empty.
    if last_names.is_empty() {
        last_names.push(String::new());
    }
    let mut q = born_on_query::<DB>(prefix, evidence);
    q.push("last_name_key");
    DB::push_texts(&mut q, last_names.clone());
    q.push(" OR ");
    push_previous_name_in(&mut q, evidence, "last_name_key", last_names);
    if let Some(nino) = &evidence.nino {
        q.push(" OR nino = ").push_bind(nino.as_str().to_string());
    }
    if let Some(trn) = &evidence.trn {
        q.push(" OR trn = ").push_bind(trn.as_str().to_string());
    }
    if let Some(email) = &evidence.email {
        q.push(" OR email_key = ").push_bind(email.to_lowercase());
    }
    q.push(CANDIDATE_SEARCH_END);
    q
}

/// Pushes the condition "once had a name whose `column` is one of `keys`": the people among those born on a
/// verified date of birth with such a previous name, found in one range of the `previous_names_born` index
/// (migration 0015) for the whole search rather than a probe for each person born that day.
fn push_previous_name_in<'a, DB>(
    q: &mut QueryBuilder<'a, DB>,
    evidence: &'a Evidence,
    column: &str,
    keys: Vec<String>,
) where
    DB: InList,
{
    q.push("id IN (SELECT pn.person_id FROM previous_names pn WHERE pn.date_of_birth");
    DB::push_dates(q, evidence.dates_of_birth.clone());
    q.push(format!(" AND pn.{column}"));
    DB::push_texts(q, keys);
    q.push(")");
}

/// Guard 4's first-name lookalikes ([`app::domain::matching::first_name_lookalikes_matter`]): everyone born on a
/// verified date of birth whose current or a previous first name has one of the evidence's
/// [`first_name_search_keys`], whatever their last name. `None` when the evidence has no first name. The
/// `persons_born` (migration 0014) and `previous_names_born` (0015) indexes answer it without reading the rows of
/// the others born that day.
fn lookalike_query<'a, DB>(evidence: &'a Evidence) -> Option<QueryBuilder<'a, DB>>
where
    DB: InList,
    DB::Arguments<'a>: Default,
{
    let first_names = first_name_search_keys(evidence);
    if first_names.is_empty() {
        return None;
    }
    let mut q = born_on_query::<DB>("", evidence);
    q.push("first_name_key");
    DB::push_texts(&mut q, first_names.clone());
    q.push(" OR ");
    push_previous_name_in(&mut q, evidence, "first_name_key", first_names);
    q.push(CANDIDATE_SEARCH_END);
    Some(q)
}

#[async_trait]
impl<DB: InList> ConnectStore for SqlStore<DB>
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
    async fn find_candidates(
        &self,
        evidence: &Evidence,
        user_id: i64,
    ) -> StoreResult<Vec<Candidate>> {
        if evidence.dates_of_birth.is_empty() {
            return Ok(Vec::new());
        }
        // One transaction on one connection: one connection taken from the pool, not one per query, and
        // PostgreSQL's plans kept between runs (`Dialect::BEGIN_CANDIDATE_SEARCH`).
        let mut tx = self.pool.begin_with(DB::BEGIN_CANDIDATE_SEARCH).await?;
        let q = candidate_query::<DB>("", evidence);
        let mut rows = by_person(DB::fetch_all_built_on(q, &mut tx).await?);
        let mut found: HashSet<i64> = rows.iter().map(|(r, _)| r.person.id).collect();
        let candidates = if evidence.itt.is_some() {
            // With an ITT answer guard 4 always needs the lookalikes (`first_name_lookalikes_matter` is true
            // whatever was found), so both queries' people have their ITT and QTS lines read in one query.
            rows.extend(Self::lookalike_rows(&mut tx, evidence, &mut found).await?);
            Self::complete_candidates(&mut tx, rows, evidence, user_id).await?
        } else {
            let mut candidates =
                Self::complete_candidates(&mut tx, rows, evidence, user_id).await?;
            // A second query, only for the searches whose decision guard 4 can change (most connect, or cannot
            // be asked the third question): fetching these in every search made it four times slower.
            if first_name_lookalikes_matter(evidence, &candidates) {
                let rows = Self::lookalike_rows(&mut tx, evidence, &mut found).await?;
                candidates
                    .extend(Self::complete_candidates(&mut tx, rows, evidence, user_id).await?);
            }
            candidates
        };
        // Not committed: the transaction only read, so rolling it back is the same, and dropping it leaves the
        // rollback to be sent when the pool takes the connection back (it checks every connection returned to
        // it with a round trip of its own), instead of the search waiting for a COMMIT's round trip.
        drop(tx);
        Ok(candidates)
    }

    async fn candidate_plan(&self, evidence: &Evidence) -> StoreResult<Vec<String>> {
        let q = candidate_query::<DB>(DB::EXPLAIN, evidence);
        Ok(DB::plan_of_built(q, &self.pool).await?)
    }

    async fn connect_user(
        &self,
        user_id: i64,
        trn: &str,
        via: MatchedVia,
        one_login_email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ConnectResult> {
        self.connect_by(user_id, trn, via, WayIn::OneLogin, one_login_email, now)
            .await
    }

    async fn redeem_trn_token(
        &self,
        token_sha256: &str,
        user_id: i64,
        one_login_email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Redemption> {
        let mut tx = self.pool.begin().await?;
        // The write comes first, so the token's row is locked (PostgreSQL) or the database is (SQLite) before
        // anything is read: a second redemption waits, then finds the token used.
        let trn: Option<String> = sqlx::query_scalar(
            "UPDATE trn_tokens SET used_at = $2 WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING trn",
        )
        .bind(token_sha256)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(trn) = trn else {
            tx.rollback().await?;
            return Ok(Redemption::TokenUnusable);
        };
        let person_id: Option<i64> = sqlx::query_scalar("SELECT id FROM persons WHERE trn = $1")
            .bind(&trn)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(person_id) = person_id else {
            tx.rollback().await?;
            return Ok(Redemption::UnknownRecord);
        };
        let done = Self::connect_in(
            &mut *tx,
            user_id,
            person_id,
            MatchedVia::TrnToken,
            WayIn::OneLogin,
            one_login_email,
            now,
        )
        .await?;
        if matches!(done, Connecting::Made) {
            let event = super::support::AuditEvent::ClosedByTrnToken { trn: trn.clone() };
            Self::close_tasks_found(&mut *tx, user_id, &trn, &event, now).await?;
            tx.commit().await?;
            Ok(Redemption::Connected)
        } else {
            // Connected already (to it or elsewhere): the token is not what connected them, so it stays unused.
            tx.rollback().await?;
            Ok(Redemption::RecordTaken)
        }
    }

    async fn connected_user_of(&self, trn: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT c.user_id FROM connections c JOIN persons p ON p.id = c.person_id WHERE p.trn = $1",
        )
        .bind(trn)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn record_history(&self, trn: &str) -> StoreResult<Vec<RecordEvent>> {
        let rows: Vec<RecordEventRow> = sqlx::query_as(
            "SELECT e.kind, e.actor, e.details, e.occurred_at FROM record_events e \
             JOIN persons p ON p.id = e.person_id WHERE p.trn = $1 ORDER BY e.occurred_at, e.id",
        )
        .bind(trn)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let ours = [ONE_LOGIN_CONNECTED, ONE_LOGIN_DISCONNECTED, PEOPLE_MERGED]
                    .contains(&r.kind.as_str());
                Ok(RecordEvent {
                    details: ours
                        .then(|| serde_json::from_str(&r.details))
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(format!("event details: {e}")))?,
                    kind: r.kind,
                    actor: r.actor,
                    occurred_at: r.occurred_at,
                })
            })
            .collect()
    }

    async fn connected_record(&self, user_id: i64) -> StoreResult<Option<TeachingRecord>> {
        let person: Option<PersonRow> = sqlx::query_as(&format!(
            "SELECT {PERSON_COLUMNS} FROM persons \
             WHERE id = (SELECT person_id FROM connections WHERE user_id = $1)"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        match person {
            Some(p) => Ok(Some(self.load_full(p).await?)),
            None => Ok(None),
        }
    }

    async fn open_task_for_user(&self, user_id: i64) -> StoreResult<Option<TeacherTask>> {
        let row: Option<TaskRow> = sqlx::query_as(OPEN_TASK)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Into::into))
    }

    async fn raise_support_task(
        &self,
        task: &NewSupportTask,
        now: DateTime<Utc>,
    ) -> StoreResult<TeacherTask> {
        // The reference comes from the counter. A clash on it can only be with a reference drawn at random
        // before the counter existed: the next number is taken (each try uses a number up). A clash on
        // the open task returns it.
        let details = &task.details;
        let requester_name = details.requester_name();
        let requester_email = details.requester_email();
        for _ in 0..MAX_REFERENCE_TRIES {
            let reference =
                app::domain::journey::support_reference(self.next_reference_number().await?);
            let row: Option<TaskRow> = sqlx::query_as(
                "INSERT INTO support_tasks (reference, kind, status, requester_name, requester_email, details, \
                 user_id, flag, created_at, updated_at, name_key, last_name_key, email_key, trn, client_id) \
                 VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT DO NOTHING RETURNING reference, created_at",
            )
            .bind(reference)
            .bind(details.kind().as_str())
            .bind(&requester_name)
            .bind(requester_email)
            .bind(details.to_json())
            .bind(task.user_id)
            .bind(details.strongest_flag().map(SupportFlag::as_str))
            .bind(now)
            .bind(name_key(&requester_name))
            .bind(name_key(requester_name.rsplit(' ').next().unwrap_or("")))
            .bind(requester_email.trim().to_lowercase())
            .bind(details.trn())
            .bind(task.client_id.as_deref())
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                return Ok(row.into());
            }
            if let Some(open) = self.open_task_for_user(task.user_id).await? {
                return Ok(open);
            }
        }
        Err(StoreError::Corrupt(format!(
            "no free support task reference after {MAX_REFERENCE_TRIES} tries"
        )))
    }

    async fn forget_attempts_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
                .bind(cutoff.timestamp())
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn count_attempt(
        &self,
        key_hash: &str,
        window_seconds: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let window_start = now.timestamp() - now.timestamp().rem_euclid(window_seconds);
        Ok(sqlx::query_scalar(
            "INSERT INTO rate_limits (key_hash, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (key_hash, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
        )
        .bind(key_hash)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?)
    }
}

impl<DB: InList> SqlStore<DB>
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
    /// [`ConnectStore::connect_user`] for `way_in`: the caller knows which way in found the record (the account
    /// lookup at sign-in passes [`WayIn::Account`]), so the change history names it.
    pub(super) async fn connect_by(
        &self,
        user_id: i64,
        trn: &str,
        via: MatchedVia,
        way_in: WayIn,
        email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ConnectResult> {
        let mut tx = self.pool.begin().await?;
        let person_id: Option<i64> = sqlx::query_scalar("SELECT id FROM persons WHERE trn = $1")
            .bind(trn)
            .fetch_optional(&mut *tx)
            .await?;
        // Early returns roll back explicitly: a transaction only dropped is rolled back when its connection
        // is next used, and until then SQLite's write lock makes the next writer fail "database is locked".
        let Some(person_id) = person_id else {
            tx.rollback().await?;
            return Ok(ConnectResult::UnknownRecord);
        };
        let done = Self::connect_in(&mut *tx, user_id, person_id, via, way_in, email, now).await?;
        if matches!(done, Connecting::Made) {
            let event = super::support::AuditEvent::ClosedRecordFound {
                trn: trn.to_string(),
            };
            Self::close_tasks_found(&mut *tx, user_id, trn, &event, now).await?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(match done {
            Connecting::Made | Connecting::AlreadyMade => ConnectResult::Connected,
            Connecting::Refused => ConnectResult::RecordTaken,
        })
    }

    /// A teacher who asked support to find their record, then was connected some other way (a TRN token, or a
    /// DfE Identity account's answers looked up again at sign-in): their open record-finding task (record matching
    /// or account record matching) is closed as decided, by nobody on the staff, with the record connected and
    /// `event` saying how, so no officer goes on looking (a decision on it would be refused anyway) and open
    /// dashboards move it to "done". An identity task is left alone: neither proves who they are.
    async fn close_tasks_found(
        conn: &mut DB::Connection,
        user_id: i64,
        trn: &str,
        event: &super::support::AuditEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let decision = app::domain::support::Decision::Connect {
            trn: trn.to_string(),
        };
        let closed: Vec<String> = sqlx::query_scalar(
            "UPDATE support_tasks SET status = 'done', decision = $2, decided_by = NULL, decided_at = $3, \
             draft = NULL, version = version + 1, updated_at = $3 \
             WHERE user_id = $1 AND kind IN ($4, $5) AND status <> 'done' RETURNING reference",
        )
        .bind(user_id)
        .bind(serde_json::to_string(&decision).expect("decisions serialise"))
        .bind(now)
        .bind(app::domain::support::TaskKind::RecordMatching.as_str())
        .bind(app::domain::support::TaskKind::AccountRecordMatching.as_str())
        .fetch_all(&mut *conn)
        .await?;
        for reference in &closed {
            Self::audit_in(&mut *conn, None, Some(reference), event, now).await?;
        }
        Ok(())
    }

    /// Connects `user_id` to `person_id` in `conn` (a transaction) and adds the change-history event. A connection
    /// an administrator undid is never made again this way (only by support).
    async fn connect_in(
        conn: &mut DB::Connection,
        user_id: i64,
        person_id: i64,
        via: MatchedVia,
        way_in: WayIn,
        email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Connecting> {
        let inserted = sqlx::query(
            "INSERT INTO connections (user_id, person_id, matched_via, connected_at) SELECT $1, $2, $3, $4 \
             WHERE NOT EXISTS (SELECT 1 FROM disconnections d WHERE d.user_id = $1 AND d.person_id = $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(person_id)
        .bind(via_str(via))
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if inserted == 0 {
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT person_id FROM connections WHERE user_id = $1")
                    .bind(user_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            return Ok(if existing == Some(person_id) {
                Connecting::AlreadyMade
            } else {
                Connecting::Refused
            });
        }
        let details = ConnectionEvent {
            how: via.into(),
            user_id,
            way_in,
            one_login_email: email.to_string(),
            support: None,
            reason: None,
        };
        Self::insert_record_event(
            &mut *conn,
            person_id,
            ONE_LOGIN_CONNECTED,
            "teacher",
            &details,
            now,
        )
        .await?;
        Ok(Connecting::Made)
    }

    /// The people of [`lookalike_query`] not already `found` (who are added to it), with their previous names.
    async fn lookalike_rows(
        conn: &mut DB::Connection,
        evidence: &Evidence,
        found: &mut HashSet<i64>,
    ) -> StoreResult<Vec<(CandidateRow, Vec<PreviousNameRow>)>> {
        let Some(q) = lookalike_query::<DB>(evidence) else {
            return Ok(Vec::new());
        };
        Ok(by_person(DB::fetch_all_built_on(q, conn).await?)
            .into_iter()
            .filter(|(r, _)| found.insert(r.person.id))
            .collect())
    }

    /// The candidates of the search's `rows`, with every one's previous names (one query), and their ITT and QTS
    /// lines only when the teacher answered the third question: the only time matching reads them.
    async fn complete_candidates(
        conn: &mut DB::Connection,
        rows: Vec<(CandidateRow, Vec<PreviousNameRow>)>,
        evidence: &Evidence,
        user_id: i64,
    ) -> StoreResult<Vec<Candidate>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut quals_by_person: HashMap<i64, Vec<QualificationRow>> = HashMap::new();
        if evidence.itt.is_some() {
            let mut q = QueryBuilder::<DB>::new(
                "SELECT person_id, kind, name, status, awarded_on, provider FROM qualifications \
                 WHERE kind IN ('itt', 'qts') AND person_id",
            );
            DB::push_ids(&mut q, rows.iter().map(|(row, _)| row.person.id).collect());
            q.push(" ORDER BY id");
            let quals: Vec<CandidateQualificationRow> = DB::fetch_all_built_on(q, conn).await?;
            for qual in quals {
                quals_by_person
                    .entry(qual.person_id)
                    .or_default()
                    .push(qual.qualification);
            }
        }
        rows.into_iter()
            .map(|(row, previous)| {
                let quals = quals_by_person.remove(&row.person.id).unwrap_or_default();
                Ok(Candidate {
                    connected_to_another_login: row
                        .connected_user_id
                        .is_some_and(|id| id != user_id),
                    record: to_record(row.person, previous, quals)?,
                })
            })
            .collect()
    }
}

#[derive(sqlx::FromRow)]
struct CandidateQualificationRow {
    person_id: i64,
    #[sqlx(flatten)]
    qualification: QualificationRow,
}

#[derive(sqlx::FromRow)]
struct CandidateRow {
    #[sqlx(flatten)]
    person: PersonRow,
    connected_user_id: Option<i64>,
}

/// A row of [`born_on_query`]: a person and one of their previous names, if they have any.
#[derive(sqlx::FromRow)]
struct CandidateNameRow {
    #[sqlx(flatten)]
    candidate: CandidateRow,
    previous_first_name: Option<String>,
    previous_middle_name: Option<String>,
    previous_last_name: Option<String>,
    previous_valid_until: Option<NaiveDate>,
}

/// Each person once, with their previous names, from rows in person order (as [`CANDIDATE_SEARCH_END`] sorts
/// them).
fn by_person(rows: Vec<CandidateNameRow>) -> Vec<(CandidateRow, Vec<PreviousNameRow>)> {
    let mut people: Vec<(CandidateRow, Vec<PreviousNameRow>)> = Vec::new();
    for row in rows {
        let previous = match (row.previous_first_name, row.previous_last_name) {
            (Some(first_name), Some(last_name)) => Some(PreviousNameRow {
                first_name,
                middle_name: row.previous_middle_name,
                last_name,
                valid_until: row.previous_valid_until,
            }),
            _ => None,
        };
        match people.last_mut() {
            Some((last, names)) if last.person.id == row.candidate.person.id => {
                names.extend(previous)
            }
            _ => people.push((row.candidate, previous.into_iter().collect())),
        }
    }
    people
}
