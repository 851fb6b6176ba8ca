//! Feedback from the phase banner's form.

use super::{PgStore, SqliteStore, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

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

macro_rules! feedback_store {
    ($store:ty) => {
        #[async_trait]
        impl FeedbackStore for $store {
            async fn insert_feedback(&self, satisfaction: &str, details: &str, at: DateTime<Utc>) -> StoreResult<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO feedback (satisfaction, details, created_at) VALUES ($1, $2, $3) RETURNING id",
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
    };
}

feedback_store!(SqliteStore);
feedback_store!(PgStore);
