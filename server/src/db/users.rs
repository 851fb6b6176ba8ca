//! Our users: one row per person, reached through GOV.UK One Login or a DfE Identity account ([`super::accounts`]).
//! Our own `id` is the key everything else uses; One Login's `sub` only maps to it (rule 35), so an account
//! recreated in One Login can be re-mapped, and a person with only a DfE Identity account has none. A user's
//! verified identity is kept with who verified it: One Login's identity check, or a support officer deciding an
//! identity task.

use super::{Dialect, SqlStore, StoreError, StoreResult};
use app::domain::identity::{IdentityVerification, VerifiedBy, VerifiedEmail, VerifiedIdentity};
use app::domain::support::Decision;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    /// The email One Login last verified for the account; `None` if it had not verified the latest one.
    pub email: Option<VerifiedEmail>,
    /// Their verified identity, with who verified it and when.
    pub verification: Option<IdentityVerification>,
}

impl User {
    /// The names and dates of birth verified, by whoever verified them.
    pub fn verified_identity(&self) -> Option<&VerifiedIdentity> {
        self.verification.as_ref().map(|v| &v.identity)
    }
}

const USER_COLUMNS: &str =
    "id, email, verified_identity, identity_verified_at, identity_verified_via, \
     identity_verified_by, identity_verified_task";

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub(super) id: i64,
    pub(super) email: String,
    pub(super) verified_identity: Option<String>,
    pub(super) identity_verified_at: Option<DateTime<Utc>>,
    pub(super) identity_verified_via: Option<String>,
    pub(super) identity_verified_by: Option<i64>,
    pub(super) identity_verified_task: Option<String>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> StoreResult<Self> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("user {}: {what}", row.id));
        let verification = match row.verified_identity.as_deref() {
            None => None,
            Some(json) => {
                let identity: VerifiedIdentity = serde_json::from_str(json)
                    .map_err(|e| StoreError::Corrupt(format!("identity: {e}")))?;
                let by = match (
                    row.identity_verified_via.as_deref(),
                    row.identity_verified_by,
                    &row.identity_verified_task,
                ) {
                    (Some("one_login"), _, _) => VerifiedBy::OneLogin,
                    (Some("support"), Some(staff_id), Some(task_reference)) => {
                        VerifiedBy::Support {
                            staff_id,
                            task_reference: task_reference.clone(),
                        }
                    }
                    _ => return Err(corrupt("identity without who verified it")),
                };
                let at = row
                    .identity_verified_at
                    .ok_or_else(|| corrupt("identity without when it was verified"))?;
                Some(IdentityVerification { identity, by, at })
            }
        };
        Ok(Self {
            id: row.id,
            // Blank is how a sign-in without a verified email is stored (the column is NOT NULL).
            email: VerifiedEmail::verified_before(&row.email),
            verification,
        })
    }
}

/// A signed-in teacher as working out their place in the journey reads them on every page: the user, the record
/// they are connected to (in full), and their open support task when they have no record.
#[derive(Clone, Debug, PartialEq)]
pub struct TeacherStanding {
    pub user: User,
    pub record: Option<app::domain::records::TeachingRecord>,
    pub open_task: Option<super::connect::TeacherTask>,
}

/// The user, their connection's person and their open task in one row (at most one of each: `connections` is keyed
/// by user, and `support_tasks_one_open_per_user` allows one open task). The person's columns keep their own names
/// so the row also reads as a [`super::records::PersonRow`].
const STANDING: &str = "SELECT u.id AS user_id, u.email AS user_email, u.verified_identity, \
     u.identity_verified_at, u.identity_verified_via, u.identity_verified_by, u.identity_verified_task, \
     p.id AS person_id, p.id, p.trn, p.first_name, p.middle_name, p.last_name, p.date_of_birth, p.nino, p.email, \
     p.status, t.reference AS task_reference, t.created_at AS task_created_at \
     FROM users u \
     LEFT JOIN connections c ON c.user_id = u.id \
     LEFT JOIN persons p ON p.id = c.person_id \
     LEFT JOIN support_tasks t ON c.user_id IS NULL AND t.user_id = u.id \
     AND t.status IN ('open', 'in_progress') \
     WHERE u.id = $1";

#[derive(sqlx::FromRow)]
struct StandingRow {
    user_id: i64,
    user_email: String,
    verified_identity: Option<String>,
    identity_verified_at: Option<DateTime<Utc>>,
    identity_verified_via: Option<String>,
    identity_verified_by: Option<i64>,
    identity_verified_task: Option<String>,
    person_id: Option<i64>,
    task_reference: Option<String>,
    task_created_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait UserStore {
    /// The user for this One Login subject, created on first sign-in; the email is updated every time, and cleared
    /// when One Login has not verified the account's latest one (never kept as the teacher's).
    async fn sign_in_user(
        &self,
        subject: &str,
        email: Option<&VerifiedEmail>,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;
    /// Keeps the names and dates of birth One Login verified (never the credential itself, rule 46).
    async fn record_verified_identity(
        &self,
        user_id: i64,
        identity: &VerifiedIdentity,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn user_by_id(&self, user_id: i64) -> StoreResult<Option<User>>;
    /// The user with their connected record and open support task: one query, and the record's previous names and
    /// qualifications when they are connected (where `user_by_id`, `connected_record` and `open_task_for_user`
    /// took four or five).
    async fn teacher_standing(&self, user_id: i64) -> StoreResult<Option<TeacherStanding>>;
    /// Support's decision on the user's most recently decided identity-verification task, if any.
    async fn latest_identity_decision(&self, user_id: i64) -> StoreResult<Option<Decision>>;
}

/// The identity support accepts when it verifies an identity task, from the task's details: the names and date
/// of birth the teacher sent with their proof. `None` when the details hold no such request.
fn accepted_identity(
    details: &str,
    asked_at: DateTime<Utc>,
) -> StoreResult<Option<VerifiedIdentity>> {
    #[derive(serde::Deserialize)]
    struct IdentityTaskDetails {
        entered: app::domain::identity_support::IdentitySupportDetails,
    }
    let details: serde_json::Value = serde_json::from_str(details)
        .map_err(|e| StoreError::Corrupt(format!("task details: {e}")))?;
    let Ok(details) = serde_json::from_value::<IdentityTaskDetails>(details) else {
        return Ok(None);
    };
    Ok(Some(
        app::domain::identity_support::identity_accepted_by_support(
            &details.entered,
            asked_at.date_naive(),
        ),
    ))
}

#[async_trait]
impl<DB: Dialect> UserStore for SqlStore<DB>
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
    async fn sign_in_user(
        &self,
        subject: &str,
        email: Option<&VerifiedEmail>,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        let row: UserRow = sqlx::query_as(&format!(
            "INSERT INTO users (one_login_sub, email, created_at, last_signed_in_at) \
             VALUES ($1, $2, $3, $3) \
             ON CONFLICT (one_login_sub) DO UPDATE SET email = excluded.email, \
             last_signed_in_at = excluded.last_signed_in_at \
             RETURNING {USER_COLUMNS}"
        ))
        .bind(subject)
        .bind(email.map_or("", VerifiedEmail::as_str))
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    async fn record_verified_identity(
        &self,
        user_id: i64,
        identity: &VerifiedIdentity,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(identity).expect("identity serialises");
        sqlx::query(
            "UPDATE users SET verified_identity = $1, identity_verified_at = $2, \
             identity_verified_via = 'one_login', identity_verified_by = NULL, \
             identity_verified_task = NULL \
             WHERE id = $3",
        )
        .bind(json)
        .bind(now)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn user_by_id(&self, user_id: i64) -> StoreResult<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(User::try_from).transpose()
    }

    async fn teacher_standing(&self, user_id: i64) -> StoreResult<Option<TeacherStanding>> {
        use sqlx::FromRow;
        let mut conn = self.lookups.get().await?;
        let found = sqlx::query(STANDING)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await;
        let Some(row) = conn.check(found)? else {
            return Ok(None);
        };
        let standing = StandingRow::from_row(&row)?;
        let person = match standing.person_id {
            Some(_) => Some(super::records::PersonRow::from_row(&row)?),
            None => None,
        };
        let user = User::try_from(UserRow {
            id: standing.user_id,
            email: standing.user_email,
            verified_identity: standing.verified_identity,
            identity_verified_at: standing.identity_verified_at,
            identity_verified_via: standing.identity_verified_via,
            identity_verified_by: standing.identity_verified_by,
            identity_verified_task: standing.identity_verified_task,
        })?;
        let record = match person {
            Some(person) => Some(self.load_full(person).await?),
            None => None,
        };
        let open_task = match (standing.task_reference, standing.task_created_at) {
            (Some(reference), Some(created_at)) => Some(super::connect::TeacherTask {
                reference,
                created_at,
            }),
            _ => None,
        };
        Ok(Some(TeacherStanding {
            user,
            record,
            open_task,
        }))
    }

    async fn latest_identity_decision(&self, user_id: i64) -> StoreResult<Option<Decision>> {
        let decision: Option<Option<String>> = sqlx::query_scalar(
            "SELECT decision FROM support_tasks WHERE user_id = $1 \
             AND kind = 'identity_verification' AND status = 'done' AND decided_at IS NOT NULL \
             ORDER BY decided_at DESC, id DESC LIMIT 1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        decision
            .flatten()
            .map(|d| {
                serde_json::from_str(&d).map_err(|e| StoreError::Corrupt(format!("decision: {e}")))
            })
            .transpose()
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
    /// Inside a decision's transaction: support verified the identity in task `task_reference`, so the user's
    /// identity is what the teacher sent with their proof, verified by `staff_id` now. An identity One Login
    /// verified meanwhile is kept: it came from a stronger check. Refused (nothing is decided) if the task holds no
    /// identity request.
    pub(super) async fn verify_identity_by_support_in(
        conn: &mut DB::Connection,
        user_id: i64,
        task_reference: &str,
        staff_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (details, asked_at): (String, DateTime<Utc>) =
            sqlx::query_as("SELECT details, created_at FROM support_tasks WHERE reference = $1")
                .bind(task_reference)
                .fetch_one(&mut *conn)
                .await?;
        let Some(identity) = accepted_identity(&details, asked_at)? else {
            return Err(StoreError::Corrupt(format!(
                "identity task {task_reference} holds no identity request"
            )));
        };
        sqlx::query(
            "UPDATE users SET verified_identity = $1, identity_verified_at = $2, \
             identity_verified_via = 'support', identity_verified_by = $3, \
             identity_verified_task = $4 \
             WHERE id = $5 AND (verified_identity IS NULL OR identity_verified_via = 'support')",
        )
        .bind(serde_json::to_string(&identity).expect("identity serialises"))
        .bind(now)
        .bind(staff_id)
        .bind(task_reference)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
