//! The audit log: who did what to which task, and when, for support staff's actions and the service's own.

use super::group_commit::{GroupCommit, InsertBatch, PgQuery, Unnest};
use super::{json, Dialect, SqlStore, StoreError, StoreResult};
use app::domain::provider::MobilePolicy;
use app::domain::support::{Decision, Role, TaskKind};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::QueryBuilder;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// What an audit entry says was done, with its details. Stored as the `action` column (the variant's name in
/// snake case, which the live feed reads too) and the `details` column (the variant's fields as a JSON object,
/// `{}` when it has none); written and read only through this type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AuditEvent {
    SignedIn,
    SignedOut,
    ViewedTask,
    ViewedProof,
    /// The service deleted a decided task's proof of identity, this many days after the decision.
    DeletedProof {
        retention_days: u32,
    },
    /// Assigned to someone, or to nobody (`None`).
    Assigned {
        assignee_id: Option<i64>,
        assignee_name: Option<String>,
    },
    SavedDraft,
    /// An administrator undid the connection to the record with this TRN.
    Disconnected {
        trn: String,
        reason: String,
    },
    /// Decided; the outcome and summary are kept as they were said at the time (see [`AuditEvent::decided`]).
    Decided {
        outcome: String,
        summary: String,
        decision: Decision,
    },
    /// A member of staff's role given (`Some`) or removed.
    RoleChanged {
        staff_id: i64,
        staff_name: String,
        #[serde(with = "role_name")]
        role: Option<Role>,
    },
    /// An administrator registered a service that signs teachers in (an OpenID Connect client).
    ServiceAdded {
        client_id: String,
    },
    /// An administrator changed a service's redirect and post-logout URIs.
    ServiceUrisChanged {
        client_id: String,
    },
    /// An administrator set whether a service's new DfE Identity account holders must give a mobile number. Stored
    /// as `"required"` or `"optional"`, the same text the field held when it was a string.
    ServiceMobileChanged {
        client_id: String,
        mobile: MobilePolicy,
    },
    /// An administrator replaced a service's client secret (never stored here, nor its hash).
    ServiceSecretRotated {
        client_id: String,
    },
    /// An administrator enabled or disabled a service.
    ServiceEnabled {
        client_id: String,
        enabled: bool,
    },
    /// An administrator registered an API client (its key is never stored here, nor its hash).
    ApiClientAdded {
        api_client_id: i64,
        name: String,
    },
    /// An administrator enabled or disabled an API client.
    ApiClientEnabled {
        api_client_id: i64,
        name: String,
        enabled: bool,
    },
    /// A TRN token connected the teacher to the record with this TRN while their task was open, so the service
    /// closed the task: there was nothing left for support to find.
    ClosedByTrnToken {
        trn: String,
    },
    /// The teacher's own answers found the record with this TRN (a DfE Identity account looked up again at sign-in)
    /// while their task was open, so the service closed the task.
    ClosedRecordFound {
        trn: String,
    },
    /// Two people in Teacher ID were merged into one (DESIGN §7.3): ids only, and what moved.
    PeopleMerged {
        kept_user_id: i64,
        gone_user_id: i64,
        moved: super::account_records::MergeReport,
    },
    /// A DfE Identity account holder changed their account's `what` (`email`, `mobile`, `name` or
    /// `date_of_birth`) on their account page: which account and which detail, never the values.
    AccountChanged {
        user_id: i64,
        what: String,
    },
    /// An action this version does not know (none is written today): shown by its stored name.
    #[serde(other)]
    Unknown,
}

impl AuditEvent {
    /// The entry for a decision on a task of `kind`.
    pub fn decided(decision: &Decision, kind: TaskKind) -> Self {
        Self::Decided {
            outcome: decision.outcome().to_string(),
            summary: decision.summary(kind),
            decision: decision.clone(),
        }
    }

    /// The stored columns: the action and the details' JSON.
    fn to_columns(&self) -> (String, String) {
        let serde_json::Value::Object(mut details) =
            serde_json::to_value(self).expect("audit events serialise")
        else {
            unreachable!("an internally tagged enum serialises to an object")
        };
        let action = match details.remove("action") {
            Some(serde_json::Value::String(action)) => action,
            _ => unreachable!("the tag is a string"),
        };
        (action, serde_json::Value::Object(details).to_string())
    }

    /// Reads the stored columns. Details that are not JSON, or do not fit a known action, are corrupt.
    fn from_columns(action: &str, details: &str) -> StoreResult<Self> {
        let mut object: serde_json::Map<String, serde_json::Value> =
            json("audit details", details)?;
        object.insert("action".into(), action.into());
        serde_json::from_value(serde_json::Value::Object(object))
            .map_err(|e| StoreError::Corrupt(format!("audit details of {action}: {e}")))
    }
}

/// A role as the audit log has always stored it: its [`Role::as_str`] name, or null.
mod role_name {
    use app::domain::support::Role;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(role: &Option<Role>, s: S) -> Result<S::Ok, S::Error> {
        match role {
            Some(role) => s.serialize_some(role.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Role>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(name) => Role::parse(&name)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown role {name:?}"))),
        }
    }
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    pub staff: Option<String>,
    /// The stored action's name (what [`AuditEvent::Unknown`] is shown by).
    pub action: String,
    pub task_reference: Option<String>,
    pub event: AuditEvent,
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

#[async_trait]
pub trait AuditStore {
    /// Adds an entry: `staff_id` did `event` (to the task `task_reference`) at `now`; no member of staff means
    /// the service did.
    async fn audit_event(
        &self,
        staff_id: Option<i64>,
        task_reference: Option<&str>,
        event: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The newest audit entries, before the entry with id `before` if given.
    async fn audit_log(&self, before: Option<i64>, limit: i64) -> StoreResult<Vec<AuditRecord>>;
    /// The id of the newest audit log entry: where the live dashboard starts watching for task changes.
    async fn latest_audit_id(&self) -> StoreResult<i64>;
    /// Task changes (assigned, draft saved, decided) recorded after audit entry `after`, oldest first, at most
    /// `limit`: the live dashboard pushes them to open dashboards.
    async fn task_changes_since(
        &self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<TaskChangeRecord>>;
}

/// An audit entry to be written, in its stored columns: what a request hands to the audit log's group-commit
/// writer.
#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    staff_id: Option<i64>,
    action: String,
    task_reference: Option<String>,
    details: String,
    occurred_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    staff: Option<String>,
    action: String,
    task_reference: Option<String>,
    details: String,
    occurred_at: DateTime<Utc>,
}

#[async_trait]
impl<DB: Dialect> AuditStore for SqlStore<DB>
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
    async fn audit_event(
        &self,
        staff_id: Option<i64>,
        task_reference: Option<&str>,
        event: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // Written with whatever other requests are writing at the same moment (see [`super::group_commit`]).
        let (action, details) = event.to_columns();
        self.audits
            .write(NewAuditEntry {
                staff_id,
                action,
                task_reference: task_reference.map(str::to_string),
                details,
                occurred_at: now,
            })
            .await
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
                    event: AuditEvent::from_columns(&r.action, &r.details)?,
                    action: r.action,
                    task_reference: r.task_reference,
                    occurred_at: r.occurred_at,
                })
            })
            .collect()
    }

    async fn latest_audit_id(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM audit_log")
                .fetch_one(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    async fn task_changes_since(
        &self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<TaskChangeRecord>> {
        use app::domain::support::TaskChange;
        // A range of the primary key, so this stays cheap however long the log grows.
        let mut q =
            QueryBuilder::<DB>::new("SELECT id, action, task_reference FROM audit_log WHERE id > ");
        q.push_bind(after)
            .push(" AND task_reference IS NOT NULL AND action IN (");
        let mut actions = q.separated(", ");
        for change in TaskChange::ALL {
            actions.push_bind(change.audit_action());
        }
        q.push(") ORDER BY id LIMIT ").push_bind(limit);
        let rows: Vec<(i64, String, Option<String>)> = DB::fetch_all_built(q, &self.pool).await?;
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
    /// The audit log's group-commit writer on a connection of `writer`, started on the current runtime.
    pub(super) fn audit_writer(writer: super::held::Held<DB>) -> GroupCommit<NewAuditEntry>
    where
        DB: InsertBatch,
    {
        super::group_commit::insert_writer(writer, insert_statement)
    }

    /// Adds an audit entry with `exec`: the pool, or the transaction of the change it records.
    pub(super) async fn audit_in<'e, E: Executor<'e, Database = DB>>(
        exec: E,
        staff_id: Option<i64>,
        task_reference: Option<&str>,
        event: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (action, details) = event.to_columns();
        sqlx::query(
            "INSERT INTO audit_log (staff_id, action, task_reference, details, occurred_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(staff_id)
        .bind(action)
        .bind(task_reference)
        .bind(details)
        .bind(now)
        .execute(exec)
        .await?;
        Ok(())
    }
}

impl Unnest for NewAuditEntry {
    const INSERT: &'static str =
        "INSERT INTO audit_log (staff_id, action, task_reference, details, occurred_at) \
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])";

    fn bind_columns<'q>(entries: &'q [Self], q: PgQuery<'q>) -> PgQuery<'q> {
        q.bind(entries.iter().map(|e| e.staff_id).collect::<Vec<_>>())
            .bind(
                entries
                    .iter()
                    .map(|e| e.action.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                entries
                    .iter()
                    .map(|e| e.task_reference.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind(
                entries
                    .iter()
                    .map(|e| e.details.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(entries.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
    }
}

/// One multi-row `INSERT` of `entries`.
fn insert_statement<'q, DB: Dialect>(entries: &'q [NewAuditEntry]) -> QueryBuilder<'q, DB>
where
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB>,
    for<'a> Option<i64>: Encode<'a, DB>,
    for<'a> i64: Type<DB>,
    for<'a> DateTime<Utc>: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(
        "INSERT INTO audit_log (staff_id, action, task_reference, details, occurred_at) ",
    );
    q.push_values(entries, |mut row, e| {
        row.push_bind(e.staff_id)
            .push_bind(e.action.as_str())
            .push_bind(e.task_reference.as_deref())
            .push_bind(e.details.as_str())
            .push_bind(e.occurred_at);
    });
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::support::{NotConnectedReason, TaskChange};

    /// Each event with its columns exactly as this service has stored them (written with `json!` before the
    /// details were typed).
    fn as_stored() -> Vec<(AuditEvent, &'static str, &'static str)> {
        vec![
            (AuditEvent::SignedIn, "signed_in", "{}"),
            (AuditEvent::SignedOut, "signed_out", "{}"),
            (AuditEvent::ViewedTask, "viewed_task", "{}"),
            (AuditEvent::ViewedProof, "viewed_proof", "{}"),
            (AuditEvent::SavedDraft, "saved_draft", "{}"),
            (
                AuditEvent::ClosedByTrnToken {
                    trn: "1234567".into(),
                },
                "closed_by_trn_token",
                r#"{"trn":"1234567"}"#,
            ),
            (
                AuditEvent::DeletedProof { retention_days: 90 },
                "deleted_proof",
                r#"{"retention_days":90}"#,
            ),
            (
                AuditEvent::Assigned {
                    assignee_id: Some(7),
                    assignee_name: Some("Sam Okafor".into()),
                },
                "assigned",
                r#"{"assignee_id":7,"assignee_name":"Sam Okafor"}"#,
            ),
            (
                AuditEvent::Assigned {
                    assignee_id: None,
                    assignee_name: None,
                },
                "assigned",
                r#"{"assignee_id":null,"assignee_name":null}"#,
            ),
            (
                AuditEvent::Disconnected {
                    trn: "1234567".into(),
                    reason: "Wrong person".into(),
                },
                "disconnected",
                r#"{"reason":"Wrong person","trn":"1234567"}"#,
            ),
            (
                AuditEvent::decided(
                    &Decision::Connect {
                        trn: "1234567".into(),
                    },
                    TaskKind::RecordMatching,
                ),
                "decided",
                r#"{"decision":{"Connect":{"trn":"1234567"}},"outcome":"connect","summary":"Connected to the record with TRN 1234567"}"#,
            ),
            (
                AuditEvent::decided(
                    &Decision::DoNotConnect {
                        reason: NotConnectedReason::NoMatchingRecord,
                        detail: None,
                    },
                    TaskKind::RecordMatching,
                ),
                "decided",
                r#"{"decision":{"DoNotConnect":{"detail":null,"reason":"NoMatchingRecord"}},"outcome":"do_not_connect","summary":"Not connected: There is no matching teaching record"}"#,
            ),
            (
                AuditEvent::RoleChanged {
                    staff_id: 3,
                    staff_name: "Ada Adeyemi".into(),
                    role: Some(Role::SupportOfficer),
                },
                "role_changed",
                r#"{"role":"support_officer","staff_id":3,"staff_name":"Ada Adeyemi"}"#,
            ),
            (
                AuditEvent::RoleChanged {
                    staff_id: 3,
                    staff_name: "Ada Adeyemi".into(),
                    role: None,
                },
                "role_changed",
                r#"{"role":null,"staff_id":3,"staff_name":"Ada Adeyemi"}"#,
            ),
            (
                AuditEvent::ServiceMobileChanged {
                    client_id: "npq-sample".into(),
                    mobile: MobilePolicy::Optional,
                },
                "service_mobile_changed",
                r#"{"client_id":"npq-sample","mobile":"optional"}"#,
            ),
        ]
    }

    #[test]
    fn stored_entries_read_as_their_events_and_are_written_the_same_way() {
        for (event, action, details) in as_stored() {
            assert_eq!(
                AuditEvent::from_columns(action, details).unwrap(),
                event,
                "{action} {details}"
            );
            assert_eq!(
                event.to_columns(),
                (action.to_string(), details.to_string())
            );
        }
    }

    #[test]
    fn the_live_feed_finds_task_changes_under_the_actions_written() {
        let written = |event: AuditEvent| event.to_columns().0;
        assert_eq!(
            TaskChange::from_audit_action(&written(AuditEvent::SavedDraft)),
            Some(TaskChange::DraftSaved)
        );
        assert_eq!(
            TaskChange::from_audit_action(&written(AuditEvent::Assigned {
                assignee_id: None,
                assignee_name: None
            })),
            Some(TaskChange::Assigned)
        );
        let decided = AuditEvent::decided(
            &Decision::Connect { trn: "1".into() },
            TaskKind::RecordMatching,
        );
        assert_eq!(
            TaskChange::from_audit_action(&written(decided)),
            Some(TaskChange::Decided)
        );
        assert_eq!(
            TaskChange::from_audit_action(&written(AuditEvent::ClosedByTrnToken {
                trn: "1".into()
            })),
            Some(TaskChange::ClosedByTrnToken)
        );
        assert_eq!(
            TaskChange::from_audit_action(&written(AuditEvent::ClosedRecordFound {
                trn: "1".into()
            })),
            Some(TaskChange::ClosedRecordFound)
        );
    }

    #[test]
    fn an_unknown_action_reads_as_unknown_and_bad_details_are_corrupt() {
        assert_eq!(
            AuditEvent::from_columns("exported_report", r#"{"rows":3}"#).unwrap(),
            AuditEvent::Unknown
        );
        for (action, details) in [
            ("assigned", "not json"),
            ("deleted_proof", "{}"),
            (
                "role_changed",
                r#"{"role":"emperor","staff_id":1,"staff_name":"X"}"#,
            ),
        ] {
            assert!(
                matches!(
                    AuditEvent::from_columns(action, details),
                    Err(StoreError::Corrupt(_))
                ),
                "{action} {details}"
            );
        }
    }
}
