//! Our users: one row per GOV.UK One Login account. Our own `id` is the key everything else uses; One Login's `sub`
//! only maps to it (rule 35), so an account recreated in One Login can be re-mapped.

use super::{PgStore, SqliteStore, StoreError, StoreResult};
use app::domain::identity::{VerifiedEmail, VerifiedIdentity};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    /// The email One Login last verified for the account; `None` if it had not verified the latest one.
    pub email: Option<VerifiedEmail>,
    pub verified_identity: Option<VerifiedIdentity>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    verified_identity: Option<String>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> StoreResult<Self> {
        let verified_identity = match row.verified_identity {
            Some(json) => Some(
                serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("identity: {e}")))?,
            ),
            None => None,
        };
        Ok(Self {
            id: row.id,
            // Blank is how a sign-in without a verified email is stored (the column is NOT NULL).
            email: VerifiedEmail::verified_before(&row.email),
            verified_identity,
        })
    }
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
}

macro_rules! user_store {
    ($store:ty) => {
        #[async_trait]
        impl UserStore for $store {
            async fn sign_in_user(
                &self,
                subject: &str,
                email: Option<&VerifiedEmail>,
                now: DateTime<Utc>,
            ) -> StoreResult<User> {
                let row: UserRow = sqlx::query_as(
                    "INSERT INTO users (one_login_sub, email, created_at, last_signed_in_at) VALUES ($1, $2, $3, $3) \
                     ON CONFLICT (one_login_sub) DO UPDATE SET email = excluded.email, \
                     last_signed_in_at = excluded.last_signed_in_at \
                     RETURNING id, email, verified_identity",
                )
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
                sqlx::query("UPDATE users SET verified_identity = $1, identity_verified_at = $2 WHERE id = $3")
                    .bind(json)
                    .bind(now)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn user_by_id(&self, user_id: i64) -> StoreResult<Option<User>> {
                let row: Option<UserRow> =
                    sqlx::query_as("SELECT id, email, verified_identity FROM users WHERE id = $1")
                        .bind(user_id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(User::try_from).transpose()
            }
        }
    };
}

user_store!(SqliteStore);
user_store!(PgStore);
