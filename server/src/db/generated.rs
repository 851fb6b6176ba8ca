//! The support console benchmark's bulk insert of generated tasks (`server bench-console`); nothing else uses it.

use super::{Dialect, SqlStore, StoreResult};
use app::domain::support::{TaskKind, TaskStatus};
use app::domain::task_details::TaskDetails;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::QueryBuilder;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

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
    /// The service the teacher came from (a client id), or `None` for directly.
    pub client_id: Option<String>,
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
        TaskKind::AccountRecordMatching => {
            let name = split_name(&t.name);
            TaskDetails::AccountRecordMatching(
                app::domain::task_details::AccountRecordMatchingDetails {
                    first_name: name.given_names.join(" "),
                    last_name: name.family_name,
                    preferred_name: None,
                    date_of_birth: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).expect("a date"),
                    email: t.email.clone(),
                    mobile: None,
                    answers: Default::default(),
                    flags: Default::default(),
                },
            )
        }
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
pub trait BenchStore {
    /// Inserts generated tasks (benchmark only).
    async fn insert_generated_tasks(&self, tasks: &[GeneratedTask]) -> StoreResult<()>;
    /// Brings the tasks table to where PostgreSQL's autovacuum would have it a minute after a bulk insert: the
    /// visibility map set (index-only scans need it) and statistics fresh. SQLite only refreshes statistics.
    async fn settle_generated_tasks(&self) -> StoreResult<()>;
}

#[async_trait]
impl<DB: Dialect> BenchStore for SqlStore<DB>
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
    async fn insert_generated_tasks(&self, tasks: &[GeneratedTask]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for chunk in tasks.chunks(2000) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO support_tasks (reference, kind, status, requester_name, requester_email, \
                 details, name_key, last_name_key, email_key, trn, assignee_id, created_at, updated_at, \
                 client_id) ",
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
                    .push_bind(t.created_at)
                    .push_bind(t.client_id.clone());
            });
            DB::execute_built(q, &mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn settle_generated_tasks(&self) -> StoreResult<()> {
        let statement = match DB::BACKEND {
            super::Backend::Postgres => "VACUUM (ANALYZE) support_tasks",
            super::Backend::Sqlite => DB::REFRESH_STATISTICS,
        };
        sqlx::query(statement).execute(&self.pool).await?;
        Ok(())
    }
}
