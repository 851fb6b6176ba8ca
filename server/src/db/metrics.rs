//! What the metrics endpoint reads from storage when it is scraped ([`crate::metrics`]): the connection pool's use,
//! the email outbox's backlog and the support tasks still open. Each is a handful of rows read through an index
//! (the task counts come from `task_counts`, kept by triggers), so a scrape every few seconds costs little.

use super::{Dialect, SqlStore, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// The connection pool at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open, in use or idle.
    pub open: u32,
    /// Of those, the ones not lent to a query.
    pub idle: u32,
    /// The most the pool opens (`DATABASE_MAX_CONNECTIONS`).
    pub max: u32,
}

/// Emails not yet sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// Waiting for their first or next attempt.
    pub pending: i64,
    /// Claimed by a worker and not yet marked sent (or whose lease ran out after a crash).
    pub sending: i64,
    /// Given up on: after the last attempt, or refused by Notify for good.
    pub failed: i64,
    /// When the oldest pending or sending email was queued.
    pub oldest_unsent: Option<DateTime<Utc>>,
}

/// Support tasks of one kind and status that are not done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenTasks {
    /// `identity_verification` or `record_matching`.
    pub kind: String,
    /// `open` (nobody has it) or `in_progress` (assigned).
    pub status: String,
    pub count: i64,
    /// When the oldest of them was raised.
    pub oldest: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait MetricsStore {
    fn pool_usage(&self) -> PoolUsage;
    async fn outbox_backlog(&self) -> StoreResult<OutboxBacklog>;
    /// Every kind and status of task that is not done, counted (kinds without such tasks included, at 0).
    async fn open_tasks(&self) -> StoreResult<Vec<OpenTasks>>;
}

#[async_trait]
impl<DB: Dialect> MetricsStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    fn pool_usage(&self) -> PoolUsage {
        PoolUsage {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn outbox_backlog(&self) -> StoreResult<OutboxBacklog> {
        // Sent emails are most of the table and are never counted: `email_outbox_due` starts with the status.
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, CAST(COUNT(*) AS BIGINT) FROM email_outbox \
             WHERE status IN ('pending', 'sending', 'failed') GROUP BY status",
        )
        .fetch_all(&self.pool)
        .await?;
        let oldest_unsent: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT created_at FROM email_outbox WHERE status IN ('pending', 'sending') \
             ORDER BY created_at LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let mut backlog = OutboxBacklog {
            oldest_unsent,
            ..OutboxBacklog::default()
        };
        for (status, n) in counts {
            match status.as_str() {
                "pending" => backlog.pending = n,
                "sending" => backlog.sending = n,
                _ => backlog.failed = n,
            }
        }
        Ok(backlog)
    }

    async fn open_tasks(&self) -> StoreResult<Vec<OpenTasks>> {
        let counts: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT kind, status, CAST(n AS BIGINT) FROM task_counts \
             WHERE status IN ('open', 'in_progress') ORDER BY kind, status",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut open = Vec::with_capacity(counts.len());
        for (kind, status, count) in counts {
            // Through `support_tasks_status_created` (status, created_at, …, kind): the first row of the
            // status whose kind is right, without reading the done tasks.
            let oldest: Option<DateTime<Utc>> = if count > 0 {
                sqlx::query_scalar(
                    "SELECT created_at FROM support_tasks WHERE status = $1 AND kind = $2 \
                     ORDER BY created_at LIMIT 1",
                )
                .bind(status.as_str())
                .bind(kind.as_str())
                .fetch_optional(&self.pool)
                .await?
            } else {
                None
            };
            open.push(OpenTasks {
                kind,
                status,
                count,
                oldest,
            });
        }
        Ok(open)
    }
}
