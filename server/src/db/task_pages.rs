//! What a support task page kept rendered must still match (issue 16 §1, [`crate::http::staff_pages`]): the
//! versions of everything the page reads, in one statement, for many requests at once ([`super::coalesce`]).
//!
//! The page reads the task, the teacher's connection and connected record, the candidate records, the record's
//! history, the staff list and the service's name. Migrations 0018 and 0027 move a version on every change to
//! them, in triggers, so a writer added later cannot forget it:
//! - the task's own `page_version`;
//! - the teacher's `users.page_version` (their connection and connected record);
//! - the sum of `console_versions` (records changed or removed, connections, records' histories, staff,
//!   services), which only grows;
//! - the highest id of each record table, which moves when a record is added (SQLite's bulk load fires no
//!   trigger; see migration 0027).

use super::{Dialect, SqlStore, StoreError};
use sqlx::{Executor, IntoArguments};

/// The versions of what a task page shows, as read at one moment. Two reads are equal only if nothing the page
/// shows changed between them.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TaskPageVersion {
    pub task: i64,
    /// The teacher's, for a task raised by one.
    pub teacher: Option<i64>,
    pub shared: i64,
    pub persons: Option<i64>,
    pub previous_names: Option<i64>,
    pub qualifications: Option<i64>,
}

impl TaskPageVersion {
    /// As numbers to compare: a missing one (no teacher, an empty table) as -1, which no version or id is.
    pub fn numbers(&self) -> Vec<i64> {
        let or_none = |n: Option<i64>| n.unwrap_or(-1);
        vec![
            self.task,
            or_none(self.teacher),
            self.shared,
            or_none(self.persons),
            or_none(self.previous_names),
            or_none(self.qualifications),
        ]
    }
}

/// A version row with its task's reference, as the coalesced lookup reads it.
#[derive(sqlx::FromRow)]
pub struct KeyedTaskPageVersion {
    reference: String,
    #[sqlx(flatten)]
    version: TaskPageVersion,
}

impl<DB: Dialect> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> KeyedTaskPageVersion: sqlx::FromRow<'r, DB::Row>,
{
    /// Task pages' versions by reference, for many requests in one query, on the lookups' connections.
    pub(super) fn task_page_lookups(
        lookups: &super::held::Held<DB>,
    ) -> super::coalesce::Coalesced<String, TaskPageVersion> {
        let lookups = lookups.clone();
        // The shared parts are uncorrelated subqueries: both backends work them out once per statement. Every
        // value is cast, as PostgreSQL's SUM is NUMERIC and its ids may be INTEGER.
        let sql: std::sync::Arc<str> = format!(
            "SELECT t.reference, CAST(t.page_version AS BIGINT) AS task, \
             CAST(u.page_version AS BIGINT) AS teacher, \
             CAST((SELECT SUM(version) FROM console_versions) AS BIGINT) AS shared, \
             CAST((SELECT MAX(id) FROM persons) AS BIGINT) AS persons, \
             CAST((SELECT MAX(id) FROM previous_names) AS BIGINT) AS previous_names, \
             CAST((SELECT MAX(id) FROM qualifications) AS BIGINT) AS qualifications \
             FROM support_tasks t LEFT JOIN users u ON u.id = t.user_id WHERE t.reference {}",
            DB::IN_JSON_ARRAY
        )
        .into();
        super::coalesce::Coalesced::spawn(Box::new(move |references: Vec<String>| {
            let lookups = lookups.clone();
            let sql = sql.clone();
            Box::pin(async move {
                let references = serde_json::to_string(&references)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let mut conn = lookups.get().await?;
                let found = sqlx::query_as::<DB, KeyedTaskPageVersion>(&sql)
                    .bind(references)
                    .fetch_all(&mut *conn)
                    .await;
                Ok(conn
                    .check(found)?
                    .into_iter()
                    .map(|row| (row.reference, row.version))
                    .collect())
            })
        }))
    }
}
