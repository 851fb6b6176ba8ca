//! Feedback from the phase banner's form.

use super::{Dialect, SqlStore, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// Feedback as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredFeedback {
    pub id: i64,
    pub satisfaction: String,
    pub details: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait FeedbackStore {
    async fn insert_feedback(
        &self,
        satisfaction: &str,
        details: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// The newest feedback first.
    async fn recent_feedback(&self, limit: i64) -> StoreResult<Vec<StoredFeedback>>;
}

#[async_trait]
impl<DB: Dialect> FeedbackStore for SqlStore<DB>
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
    async fn insert_feedback(
        &self,
        satisfaction: &str,
        details: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO feedback (satisfaction, details, created_at) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(satisfaction)
        .bind(details)
        .bind(at)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    async fn recent_feedback(&self, limit: i64) -> StoreResult<Vec<StoredFeedback>> {
        Ok(sqlx::query_as(
            "SELECT id, satisfaction, details, created_at FROM feedback ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
