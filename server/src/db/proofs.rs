//! What the uploads housekeeping needs to know about proof of identity files (issue 10 §4): which files a support
//! task or a live session still refers to, and which decided tasks' proofs are past the retention period.

use super::audit::AuditEvent;
use super::{Dialect, RowsAffected, SqlStore, StoreResult};
use app::domain::support::TaskKind;
use app::domain::task_details::TaskDetails;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use std::collections::HashSet;

/// A decided task whose proof is still kept.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct KeptProof {
    pub reference: String,
    pub proof_key: String,
    pub decided_at: DateTime<Utc>,
}

#[async_trait]
pub trait ProofStore {
    /// Whether a support task refers to the file under `key`.
    async fn task_refers_to_proof(&self, key: &str) -> StoreResult<bool>;
    /// The proof files that live sessions (at `now`) hold in an unsent request for identity support.
    async fn proofs_in_live_sessions(&self, now: DateTime<Utc>) -> StoreResult<HashSet<String>>;
    /// Up to `limit` decided tasks, decided before `before`, whose proof is still kept; oldest first.
    async fn proofs_decided_before(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<KeptProof>>;
    /// Records that the task's proof under `key` was deleted at `now`, after `retention_days`: the key leaves the
    /// task's details (what the teacher said about the file stays), and the audit log says so, in one
    /// transaction. False when the task no longer holds that key.
    async fn record_proof_deleted(
        &self,
        reference: &str,
        key: &str,
        retention_days: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// The proof key a session's JSON holds in its identity-support draft, if any.
fn draft_proof_key(session_json: &str) -> Option<String> {
    let data: serde_json::Value = serde_json::from_str(session_json).ok()?;
    data.get("identity_support")?
        .get("proof")?
        .get("key")?
        .as_str()
        .map(str::to_string)
}

/// The task's details once its proof is deleted; `None` unless they are an identity task's.
fn without_proof_key(details: &str, retention_days: u32, now: DateTime<Utc>) -> Option<String> {
    let TaskDetails::IdentityVerification(mut details) =
        TaskDetails::parse(TaskKind::IdentityVerification, details).ok()?
    else {
        return None;
    };
    details.proof.key = None;
    details.proof.deleted_at = Some(now);
    details.proof.deleted_after_days = Some(retention_days);
    Some(TaskDetails::IdentityVerification(details).to_json())
}

#[async_trait]
impl<DB: Dialect> ProofStore for SqlStore<DB>
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
    async fn task_refers_to_proof(&self, key: &str) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM support_tasks WHERE proof_key = $1 LIMIT 1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn proofs_in_live_sessions(&self, now: DateTime<Utc>) -> StoreResult<HashSet<String>> {
        // Only sessions mid-request hold a proof; the LIKE spares parsing all the others.
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT data FROM sessions WHERE expires_at > $1 AND data LIKE '%\"identity_support\":{%'",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|json| draft_proof_key(json))
            .collect())
    }

    async fn proofs_decided_before(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<KeptProof>> {
        Ok(sqlx::query_as(
            "SELECT reference, proof_key, decided_at FROM support_tasks \
             WHERE proof_key IS NOT NULL AND decided_at IS NOT NULL AND decided_at < $1 \
             ORDER BY decided_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_proof_deleted(
        &self,
        reference: &str,
        key: &str,
        retention_days: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let details: Option<String> = sqlx::query_scalar(
            "SELECT details FROM support_tasks WHERE reference = $1 AND proof_key = $2",
        )
        .bind(reference)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(details) = details.and_then(|d| without_proof_key(&d, retention_days, now)) else {
            return Ok(false);
        };
        let done = sqlx::query(
            "UPDATE support_tasks SET details = $2 WHERE reference = $1 AND proof_key = $3",
        )
        .bind(reference)
        .bind(&details)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        // No member of staff did this: the service did, by its retention rule.
        let event = AuditEvent::DeletedProof { retention_days };
        Self::audit_in(&mut *tx, None, Some(reference), &event, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_draft_names_its_proof() {
        let json = r#"{"identity_support":{"details":null,"proof":{"key":"proofs/a.png","kind":"Png","file_name":"a.png","size":3}}}"#;
        assert_eq!(draft_proof_key(json).as_deref(), Some("proofs/a.png"));
        assert_eq!(
            draft_proof_key(r#"{"identity_support":{"proof":null}}"#),
            None
        );
        assert_eq!(draft_proof_key("not json"), None);
    }

    #[test]
    fn a_deleted_proof_keeps_what_the_teacher_said_about_it() {
        let now = DateTime::parse_from_rfc3339("2027-03-01T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let details = r#"{"entered":{"name":"Ann Lee","previous_names":[],"date_of_birth":"1985-03-14","nino":null,"trn":null},"proof":{"key":"proofs/a.png","content_type":"image/png","file_name":"a.png","size":3},"one_login_email":null}"#;
        let after: serde_json::Value =
            serde_json::from_str(&without_proof_key(details, 90, now).unwrap()).unwrap();
        assert!(after["proof"].get("key").is_none());
        assert_eq!(after["proof"]["file_name"], "a.png");
        assert_eq!(after["proof"]["deleted_after_days"], 90);
        assert_eq!(after["proof"]["deleted_at"], "2027-03-01T02:00:00+00:00");
        assert_eq!(after["entered"]["name"], "Ann Lee");
        assert_eq!(without_proof_key(r#"{"entered":{}}"#, 90, now), None);
    }
}
