//! Server-side sessions. The cookie holds a random token; we store only its SHA-256, with the session's JSON.
//!
//! A session is inserted once, when it is new, and after that only updated by its id: a request that loaded a
//! session which sign-out or back-channel logout has since deleted finds no row to update, so it cannot bring the
//! session back.

use super::{Dialect, RowsAffected, SqlStore, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// A live session row: its JSON data, when it began (for the absolute lifetime) and when it expires.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredSession {
    pub data: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// For a teacher's session, their user's `page_version` (migration 0018), read in the same query: what a page
    /// kept rendered for this session must still match ([`crate::http::personal_pages`]).
    pub page_version: Option<i64>,
}

#[async_trait]
pub trait SessionStore {
    /// The session with this id hash, if it exists and has not expired at `now`.
    async fn load_live_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredSession>>;
    /// Just the data of [`SessionStore::load_live_session`].
    async fn load_session(&self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<String>> {
        Ok(self.load_live_session(id_hash, now).await?.map(|s| s.data))
    }
    /// Creates a new session. `subject` is the signed-in person's One Login `sub`, when they signed in with One
    /// Login (back-channel logout ends sessions by it); `user_id` is the signed-in person's, however they signed in
    /// (the lookup reads their `page_version` by it). An id that is already taken is an error: ids are random, so
    /// that never happens by chance.
    async fn insert_session(
        &self,
        id_hash: &str,
        data: &str,
        subject: Option<&str>,
        user_id: Option<i64>,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Replaces an existing session's data and expiry; false when there is no such session any more (it was
    /// ended), in which case nothing is written.
    async fn update_session(
        &self,
        id_hash: &str,
        data: &str,
        subject: Option<&str>,
        user_id: Option<i64>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Moves an existing session's expiry (renewal on use); false when it has been ended.
    async fn touch_session(&self, id_hash: &str, expires_at: DateTime<Utc>) -> StoreResult<bool>;
    /// Deletes a session; false when it was already gone.
    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Ends every session of a One Login subject (back-channel logout); returns how many.
    async fn delete_sessions_for_subject(&self, subject: &str) -> StoreResult<u64>;
    /// Records a logout token's `jti`; false if it was already seen since `forget_before` (replay).
    async fn remember_logout_token(
        &self,
        jti: &str,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Deletes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}

/// A session row with its key, as the coalesced lookup reads it.
#[derive(sqlx::FromRow)]
pub struct KeyedSession {
    id_hash: String,
    #[sqlx(flatten)]
    session: StoredSession,
}

impl<DB: Dialect> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'r> KeyedSession: sqlx::FromRow<'r, DB::Row>,
{
    /// The sessions' lookup, by many requests at once ([`super::coalesce`]), on the lookups' connections.
    pub(super) fn session_lookups(
        lookups: &super::held::Held<DB>,
    ) -> super::coalesce::Coalesced<String, StoredSession> {
        let lookups = lookups.clone();
        // One statement however many keys (they are bound as one JSON array), so it is prepared once. A session
        // of a person merged into another (TRN in use, issue 13 §6) is no session: the merge deletes them, and this
        // also ends one a sign-in racing the merge wrote after it, so nobody acts as a person who is gone.
        let sql: std::sync::Arc<str> = format!(
            "SELECT s.id_hash, s.data, s.created_at, s.expires_at, u.page_version FROM sessions s \
             LEFT JOIN users u ON u.id = s.user_id WHERE s.id_hash {} AND u.merged_into IS NULL",
            DB::IN_JSON_ARRAY
        )
        .into();
        super::coalesce::Coalesced::spawn(Box::new(move |keys: Vec<String>| {
            let lookups = lookups.clone();
            let sql = sql.clone();
            Box::pin(async move {
                let keys =
                    serde_json::to_string(&keys).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let mut conn = lookups.get().await?;
                let found = sqlx::query_as::<DB, KeyedSession>(&sql)
                    .bind(keys)
                    .fetch_all(&mut *conn)
                    .await;
                Ok(conn
                    .check(found)?
                    .into_iter()
                    .map(|row| (row.id_hash, row.session))
                    .collect())
            })
        }))
    }
}

#[async_trait]
impl<DB: Dialect> SessionStore for SqlStore<DB>
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
    async fn load_live_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredSession>> {
        let row = self.sessions.get(id_hash.to_string()).await?;
        Ok(row.filter(|s| s.expires_at > now))
    }

    async fn insert_session(
        &self,
        id_hash: &str,
        data: &str,
        subject: Option<&str>,
        user_id: Option<i64>,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, data, subject, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id_hash)
        .bind(data)
        .bind(subject)
        .bind(user_id)
        .bind(created_at)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_session(
        &self,
        id_hash: &str,
        data: &str,
        subject: Option<&str>,
        user_id: Option<i64>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET data = $2, subject = $3, user_id = $4, expires_at = $5 WHERE id_hash = $1",
        )
        .bind(id_hash)
        .bind(data)
        .bind(subject)
        .bind(user_id)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_session(&self, id_hash: &str, expires_at: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE sessions SET expires_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_sessions_for_subject(&self, subject: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE subject = $1")
            .bind(subject)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn remember_logout_token(
        &self,
        jti: &str,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM seen_logout_tokens WHERE seen_at < $1")
            .bind(forget_before)
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO seen_logout_tokens (jti, seen_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
