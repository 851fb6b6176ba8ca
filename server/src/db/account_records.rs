//! The record of a DfE Identity account (issue 13 §3, DESIGN §7.3): connecting an account's person to the record
//! found for it, who else holds a record ("TRN in use"), support's "no TRN", whether an account is still looked
//! up at sign-in, and merging two people found to be one. The rules are `app::domain::account_record`'s.
//!
//! **Merging** ([`AccountRecordStore::merge_users`]) is one transaction on both backends. Its first statement
//! writes both `users` rows (a no-op update), so it holds SQLite's write lock, or PostgreSQL's row locks, from the
//! start: a second merge of either person at once waits, then finds one of them merged and is refused. Everything
//! of the person who goes moves to the person kept:
//! - the account row (or, when both have one, the one whose email the person chose; the other is deleted);
//! - the One Login subject, with One Login's email and verified identity (refused when both have a subject:
//!   one person has one One Login);
//! - the connection to a record (refused when both are connected, to different records), with a change-history
//!   event on the record (`people_merged`);
//! - every support task (an open task of the one who goes is closed when the kept one has an open task too, as
//!   one person has one open task), the connections an administrator undid, authorization codes and access
//!   tokens, and the provider subject when the kept person has none;
//! - the audit log entry `people_merged` says who, what moved, and which task.
//!
//! The person who goes keeps their `users` row, marked `merged_into` the kept one, so their provider subject (when
//! the kept person had one already) and old audit entries still lead somewhere. Their sessions are ended: a
//! session's data names the person it signed in, and the next sign-in, by the moved account or One Login, lands on
//! the kept person.

use super::audit::AuditEvent;
use super::connect::{ConnectResult, InList};
use super::{ConnectStore, Dialect, RowsAffected, SqlStore, StoreError, StoreResult};
use app::domain::matching::MatchedVia;
use app::domain::support::{
    ConnectedHow, ConnectionEvent, StaffMember, SupportAction, WayIn, PEOPLE_MERGED,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// Whether an account's person is still looked up at sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountLookup {
    /// Connected to this record: nothing to look up.
    Found { trn: String },
    /// Support said there is no record for them: not looked up again.
    NoTrn,
    /// Neither yet: look up again (DESIGN §7.3, "checked again at each sign-in").
    LookUp,
}

/// Who holds a record another person's account matched ("TRN in use"), for the passcode to their email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrnHolder {
    pub user_id: i64,
    /// Where the passcode goes: the holder's account email, else the One Login email on file (issue 13 §6).
    pub email: String,
    /// Whether the holder signs in with One Login.
    pub one_login: bool,
    /// Whether the holder has a DfE Identity account (then `email` is its email).
    pub account: bool,
}

/// No person's id (ids start at 1): [`AccountRecordStore::trn_holder`] with it finds whoever holds the record.
pub const NOBODY_ASKING: i64 = 0;

/// When both people have an account, whose row (email and mobile) the merged person keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAccount {
    Kept,
    Gone,
}

/// Who merged: the person themselves (TRN in use, after a passcode to the other email), or support on a task.
#[derive(Clone, Copy, Debug)]
pub enum MergedBy<'a> {
    Person,
    Support {
        actor: &'a StaffMember,
        task_reference: &'a str,
    },
}

/// Why a merge was refused. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeRefused {
    /// The two are the same person.
    SamePerson,
    /// One of them does not exist, or was merged already.
    NotMergeable,
    /// Both sign in with One Login: one person has one One Login.
    BothOneLogin,
    /// They are connected to different records: two records, not one person (support looks at that).
    DifferentRecords,
}

/// What a merge moved to the kept person.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MergeReport {
    pub account_moved: bool,
    pub account_deleted: bool,
    pub one_login_moved: bool,
    pub connection_moved: bool,
    pub tasks_moved: u64,
    /// An open task of the person who went, closed because the kept person had one open too.
    pub task_closed: Option<String>,
    pub disconnections_moved: u64,
    pub codes_and_tokens_moved: u64,
    pub provider_subject_moved: bool,
    pub sessions_ended: u64,
}

#[async_trait]
pub trait AccountRecordStore {
    /// Connects an account's person to the record with this TRN (found by the account route), with the account's
    /// email in the change-history event; as [`ConnectStore::connect_user`] otherwise.
    async fn connect_account(
        &self,
        user_id: i64,
        trn: &str,
        via: MatchedVia,
        now: DateTime<Utc>,
    ) -> StoreResult<ConnectResult>;
    /// Another person (not `asking`) connected to the record with this TRN, and where a passcode to them goes.
    /// [`NOBODY_ASKING`] finds whoever holds it.
    async fn trn_holder(&self, trn: &str, asking: i64) -> StoreResult<Option<TrnHolder>>;
    /// Whether the account's person is looked up again at sign-in.
    async fn account_lookup(&self, user_id: i64) -> StoreResult<AccountLookup>;
    /// Merges `gone` into `keep`, in one transaction (module docs).
    async fn merge_users(
        &self,
        keep: i64,
        gone: i64,
        account: KeepAccount,
        by: MergedBy<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<MergeReport, MergeRefused>>;
}

#[derive(sqlx::FromRow)]
struct PersonState {
    id: i64,
    one_login_sub: Option<String>,
    email: String,
    /// 1 or 0 (an integer on both backends).
    has_account: i64,
    person_id: Option<i64>,
    has_provider_subject: i64,
}

#[async_trait]
// `InList`, not only `Dialect`: connecting an account goes through `SqlStore::connect_by`, which needs it.
impl<DB: InList> AccountRecordStore for SqlStore<DB>
where
    Self: ConnectStore,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    async fn connect_account(
        &self,
        user_id: i64,
        trn: &str,
        via: MatchedVia,
        now: DateTime<Utc>,
    ) -> StoreResult<ConnectResult> {
        let email: Option<String> =
            sqlx::query_scalar("SELECT email FROM accounts WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(email) = email else {
            return Err(StoreError::Corrupt(format!(
                "user {user_id} has no account"
            )));
        };
        self.connect_by(user_id, trn, via, WayIn::Account, &email, now)
            .await
    }

    async fn trn_holder(&self, trn: &str, asking: i64) -> StoreResult<Option<TrnHolder>> {
        let row: Option<(i64, Option<String>, String, Option<String>)> = sqlx::query_as(
            "SELECT u.id, u.one_login_sub, u.email, a.email FROM connections c \
             JOIN persons p ON p.id = c.person_id JOIN users u ON u.id = c.user_id \
             LEFT JOIN accounts a ON a.user_id = u.id \
             WHERE p.trn = $1 AND c.user_id <> $2",
        )
        .bind(trn)
        .bind(asking)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(user_id, sub, one_login_email, account_email)| TrnHolder {
                user_id,
                account: account_email.is_some(),
                email: account_email.unwrap_or(one_login_email),
                one_login: sub.is_some(),
            }),
        )
    }

    async fn account_lookup(&self, user_id: i64) -> StoreResult<AccountLookup> {
        let row: Option<(Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT (SELECT p.trn FROM connections c JOIN persons p ON p.id = c.person_id \
                     WHERE c.user_id = a.user_id), a.no_trn_at \
             FROM accounts a WHERE a.user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some((Some(trn), _)) => AccountLookup::Found { trn },
            Some((None, Some(_))) => AccountLookup::NoTrn,
            Some((None, None)) | None => AccountLookup::LookUp,
        })
    }

    async fn merge_users(
        &self,
        keep: i64,
        gone: i64,
        account: KeepAccount,
        by: MergedBy<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<MergeReport, MergeRefused>> {
        let mut tx = self.pool.begin().await?;
        let merged = Self::merge_in(&mut tx, keep, gone, account, by, now).await?;
        // A refusal rolls back explicitly: only dropped, SQLite's write lock would wait for the connection's
        // next use.
        if merged.is_ok() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(merged)
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
    /// [`AccountRecordStore::merge_users`] in `conn`, a transaction the caller commits (or rolls back on a
    /// refusal): support's merge decision runs it in the decision's own transaction.
    pub(super) async fn merge_in(
        conn: &mut DB::Connection,
        keep: i64,
        gone: i64,
        account: KeepAccount,
        by: MergedBy<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<MergeReport, MergeRefused>> {
        if keep == gone {
            return Ok(Err(MergeRefused::SamePerson));
        }
        // The write comes first (module docs): both rows, or neither is mergeable.
        let locked = sqlx::query(
            "UPDATE users SET merged_at = merged_at WHERE id IN ($1, $2) AND merged_into IS NULL",
        )
        .bind(keep)
        .bind(gone)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if locked != 2 {
            return Ok(Err(MergeRefused::NotMergeable));
        }
        let states: Vec<PersonState> = sqlx::query_as(
            "SELECT u.id, u.one_login_sub, u.email, \
             (SELECT COUNT(*) FROM accounts a WHERE a.user_id = u.id) AS has_account, \
             (SELECT c.person_id FROM connections c WHERE c.user_id = u.id) AS person_id, \
             (SELECT COUNT(*) FROM provider_subjects s WHERE s.user_id = u.id) AS has_provider_subject \
             FROM users u WHERE u.id IN ($1, $2)",
        )
        .bind(keep)
        .bind(gone)
        .fetch_all(&mut *conn)
        .await?;
        let (Some(k), Some(g)) = (
            states.iter().find(|s| s.id == keep),
            states.iter().find(|s| s.id == gone),
        ) else {
            return Ok(Err(MergeRefused::NotMergeable));
        };
        if k.one_login_sub.is_some() && g.one_login_sub.is_some() {
            return Ok(Err(MergeRefused::BothOneLogin));
        }
        if k.person_id.is_some() && g.person_id.is_some() && k.person_id != g.person_id {
            return Ok(Err(MergeRefused::DifferentRecords));
        }
        let mut report = MergeReport::default();

        // The account: the chosen one stays, on the kept person.
        if g.has_account > 0 {
            if k.has_account > 0 && account == KeepAccount::Kept {
                sqlx::query("DELETE FROM accounts WHERE user_id = $1")
                    .bind(gone)
                    .execute(&mut *conn)
                    .await?;
                report.account_deleted = true;
            } else {
                if k.has_account > 0 {
                    sqlx::query("DELETE FROM accounts WHERE user_id = $1")
                        .bind(keep)
                        .execute(&mut *conn)
                        .await?;
                    report.account_deleted = true;
                }
                sqlx::query("UPDATE accounts SET user_id = $1, updated_at = $3 WHERE user_id = $2")
                    .bind(keep)
                    .bind(gone)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                report.account_moved = true;
            }
        }

        // One Login: the subject, with what One Login verified, moves when only the one who goes has it. The
        // subject leaves the row that goes first (it is unique).
        if let Some(sub) = &g.one_login_sub {
            sqlx::query("UPDATE users SET one_login_sub = NULL WHERE id = $1")
                .bind(gone)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "UPDATE users SET one_login_sub = $2, \
                 email = g.email, verified_identity = g.verified_identity, \
                 identity_verified_at = g.identity_verified_at, identity_verified_via = g.identity_verified_via, \
                 identity_verified_by = g.identity_verified_by, identity_verified_task = g.identity_verified_task \
                 FROM (SELECT * FROM users WHERE id = $3) AS g WHERE users.id = $1",
            )
            .bind(keep)
            .bind(sub)
            .bind(gone)
            .execute(&mut *conn)
            .await?;
            report.one_login_moved = true;
        }

        // The record: the connection moves when only the one who goes has it.
        if let (None, Some(_)) = (k.person_id, g.person_id) {
            sqlx::query("UPDATE connections SET user_id = $1 WHERE user_id = $2")
                .bind(keep)
                .bind(gone)
                .execute(&mut *conn)
                .await?;
            report.connection_moved = true;
        }

        // Tasks: one person has one open task, so the going one's is closed when the kept one has one too.
        let kept_open: Option<String> = sqlx::query_scalar(
            "SELECT reference FROM support_tasks WHERE user_id = $1 AND status IN ('open', 'in_progress')",
        )
        .bind(keep)
        .fetch_optional(&mut *conn)
        .await?;
        if kept_open.is_some() {
            report.task_closed = sqlx::query_scalar(
                "UPDATE support_tasks SET status = 'done', decided_at = $2, updated_at = $2, \
                 version = version + 1, draft = NULL \
                 WHERE user_id = $1 AND status IN ('open', 'in_progress') RETURNING reference",
            )
            .bind(gone)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
        }
        report.tasks_moved =
            sqlx::query("UPDATE support_tasks SET user_id = $1 WHERE user_id = $2")
                .bind(keep)
                .bind(gone)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        report.disconnections_moved =
            sqlx::query("UPDATE disconnections SET user_id = $1 WHERE user_id = $2")
                .bind(keep)
                .bind(gone)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        for table in ["authorization_codes", "access_tokens"] {
            report.codes_and_tokens_moved += sqlx::query(&format!(
                "UPDATE {table} SET user_id = $1 WHERE user_id = $2"
            ))
            .bind(keep)
            .bind(gone)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        }
        if g.has_provider_subject > 0 && k.has_provider_subject == 0 {
            sqlx::query("UPDATE provider_subjects SET user_id = $1 WHERE user_id = $2")
                .bind(keep)
                .bind(gone)
                .execute(&mut *conn)
                .await?;
            report.provider_subject_moved = true;
        }
        report.sessions_ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(gone)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        sqlx::query("UPDATE users SET merged_into = $1, merged_at = $3 WHERE id = $2")
            .bind(keep)
            .bind(gone)
            .bind(now)
            .execute(&mut *conn)
            .await?;

        // The record's change history says the two ways in are one person now.
        if let Some(person_id) = k.person_id.or(g.person_id) {
            let kept_email = if g.one_login_sub.is_some() {
                g.email.clone()
            } else {
                k.email.clone()
            };
            let (support, actor) = match by {
                MergedBy::Person => (None, "teacher".to_string()),
                MergedBy::Support {
                    actor,
                    task_reference,
                } => (
                    Some(SupportAction {
                        task_reference: task_reference.to_string(),
                        decided_by: actor.name.clone(),
                        decided_by_email: actor.email.clone(),
                    }),
                    format!("support:{}", actor.email),
                ),
            };
            let details = ConnectionEvent {
                how: ConnectedHow::Support,
                user_id: keep,
                // Unread: a merge's words name no way in (`kept_email` is either).
                way_in: WayIn::default(),
                one_login_email: kept_email,
                support,
                reason: Some(format!("person {gone} merged into person {keep}")),
            };
            Self::insert_record_event(&mut *conn, person_id, PEOPLE_MERGED, &actor, &details, now)
                .await?;
        }
        let (staff_id, task_reference) = match by {
            MergedBy::Person => (None, None),
            MergedBy::Support {
                actor,
                task_reference,
            } => (Some(actor.id), Some(task_reference)),
        };
        let event = AuditEvent::PeopleMerged {
            kept_user_id: keep,
            gone_user_id: gone,
            moved: report.clone(),
        };
        Self::audit_in(&mut *conn, staff_id, task_reference, &event, now).await?;
        Ok(Ok(report))
    }
}

impl<DB: Dialect> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    /// Support said the account's person has no record (a decision on their account task): the account is not
    /// looked up again at sign-in. In the decision's transaction.
    pub(super) async fn mark_no_trn_in<'e, E: Executor<'e, Database = DB>>(
        exec: E,
        user_id: i64,
        task_reference: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET no_trn_at = $2, no_trn_task = $3 WHERE user_id = $1")
            .bind(user_id)
            .bind(now)
            .bind(task_reference)
            .execute(exec)
            .await?;
        Ok(())
    }
}
