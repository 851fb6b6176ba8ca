//! The API for other services (DESIGN §7.2): API clients, the TRN tokens they ask for, and the audit of every call.
//!
//! API keys and TRN tokens are kept as their SHA-256, never themselves, for the reason given for client secrets
//! in [`super::provider`]: they are long random values (256 and 256 bits), so a slow hash would add nothing, and
//! a plain one keeps each API call quick. A key is looked up by its hash, so no comparison of secrets happens in
//! our code at all.

use super::group_commit::{insert_rows, insert_rows_in, GroupCommit};
use super::outbox::NewEmail;
use super::{json, Dialect, RowsAffected, SqlStore, StoreResult};
use app::domain::trn_tokens::{ApiScope, QtsAwardedEvent, TrnToken, QTS_AWARDED};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures::future::BoxFuture;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, QueryBuilder, Type};
use std::collections::BTreeSet;

/// An API client as stored (without its key's hash, which only finds it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiClient {
    pub id: i64,
    pub name: String,
    pub scopes: BTreeSet<ApiScope>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

/// A TRN token to store: its hash, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTrnToken {
    pub token_sha256: String,
    pub trn: String,
    pub email: String,
    pub api_client_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A QTS award to record (`PUT /api/v1/teachers/{trn}/qts`, DESIGN §7.2), with the TRN token and the email it
/// brings when the record has an email address (both or neither).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewQtsAward {
    pub trn: String,
    pub awarded: NaiveDate,
    pub api_client_id: i64,
    /// Who the change history names (`api:<client name>`).
    pub actor: String,
    pub token: Option<NewTrnToken>,
    pub email: Option<NewEmail>,
}

/// What [`ApiStore::award_qts`] found and did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QtsAwardOutcome {
    /// QTS is recorded now, with its history event, and the token and email when there was an address.
    Recorded { email_sent: bool },
    /// The record already had QTS awarded on that day (an earlier call, or the record's source: then no email was
    /// sent by us); nothing changed.
    AlreadyRecorded { email_sent: bool },
    /// The record already has QTS awarded on another day; nothing changed.
    AwardedOnAnotherDay { awarded: NaiveDate },
    /// No active record has this TRN; nothing changed.
    NoActiveRecord,
}

/// One audited API call: no personal data, only who called, what and how it was answered.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiCall {
    /// `None` when the key was missing or unknown.
    pub api_client_id: Option<i64>,
    pub operation: String,
    pub status: i64,
    pub at: DateTime<Utc>,
}

/// What the API's group-commit writer takes: audited calls, and TRN tokens with the audit line of the call that
/// made them, so that such a call's writes are one shared commit.
#[derive(Clone, Debug)]
pub enum ApiRow {
    Call(ApiCall),
    Token(NewTrnToken, ApiCall),
}

/// The API's writes and this instance's shares of the clients' rate limits ([`ApiStore::take_api_call`]).
#[derive(Clone)]
pub struct ApiWriter {
    rows: GroupCommit<ApiRow>,
    shares: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, Share>>>,
    /// Held while a share is taken from the database: calls that find their client's share used up at the same
    /// moment wait for one new share instead of each taking one (which spent the limit on shares nobody used).
    taking: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Calls an instance may still let through for a client in a rate-limit window, already counted in the database.
#[derive(Clone, Copy, Debug)]
struct Share {
    window_start: i64,
    left: i64,
}

/// How many of a client's calls an instance counts in the database at once: a twentieth of the limit (at least
/// one). The database's count is what every instance shares, so the limit holds across instances; taking a share
/// at a time makes the count a write per twenty calls instead of per call. What an instance took and has not used
/// when the window ends is lost, so the others may meet the limit a little before that many calls were answered.
pub fn rate_share(limit: i64) -> i64 {
    (limit / 20).max(1)
}

#[async_trait]
pub trait ApiStore {
    /// Stores a client whose key has this hash; its id.
    async fn add_api_client(
        &self,
        name: &str,
        scopes: &BTreeSet<ApiScope>,
        key_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// How many clients are registered.
    async fn count_api_clients(&self) -> StoreResult<i64>;
    /// The client whose key has this hash, enabled or not.
    async fn api_client_by_key(&self, key_sha256: &str) -> StoreResult<Option<ApiClient>>;
    /// Enables or disables a client; false when there is no such client.
    async fn set_api_client_enabled(&self, id: i64, enabled: bool) -> StoreResult<bool>;
    async fn add_trn_token(&self, token: &NewTrnToken) -> StoreResult<()>;
    /// Stores `token` and audits `call` (the call that made it) in one write, shared with whatever other calls
    /// are writing at the same moment ([`super::group_commit`]); durable when this returns.
    async fn add_trn_token_audited(&self, token: &NewTrnToken, call: &ApiCall) -> StoreResult<()>;
    /// Counts a call of client `client_id` against its `limit` per window of `window_seconds` (windows start at
    /// multiples of it), shared by every instance on the database: false when it is over. See [`rate_share`].
    async fn take_api_call(
        &self,
        client_id: i64,
        limit: i64,
        window_seconds: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Whether an active record has this TRN (one indexed read, not the record).
    async fn active_trn(&self, trn: &str) -> StoreResult<bool>;
    /// The token with this hash.
    async fn trn_token(&self, token_sha256: &str) -> StoreResult<Option<TrnToken>>;
    /// How many tokens are stored (for tests that nothing was stored, and for operations).
    async fn count_trn_tokens(&self) -> StoreResult<i64>;
    /// Every token's stored hash (tests: that none is the token itself).
    async fn trn_token_hashes(&self) -> StoreResult<Vec<String>>;
    /// Records a QTS award (DESIGN §7.2) in one transaction, once per record: the qualification (a QTS line the
    /// record has without a date is completed, otherwise one is added), a change-history event, and the token and
    /// email when given. Whatever else it finds, nothing is written.
    async fn award_qts(
        &self,
        award: &NewQtsAward,
        now: DateTime<Utc>,
    ) -> StoreResult<QtsAwardOutcome>;
    async fn record_api_call(&self, call: &ApiCall) -> StoreResult<()>;
    /// The audited calls, oldest first.
    async fn api_calls(&self) -> StoreResult<Vec<ApiCall>>;
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: i64,
    name: String,
    scopes: String,
    enabled: bool,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    trn: String,
    email: String,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

#[async_trait]
impl<DB: Dialect> ApiStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Decode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<DateTime<Utc>>: Encode<'q, DB> + Decode<'q, DB>,
{
    async fn add_api_client(
        &self,
        name: &str,
        scopes: &BTreeSet<ApiScope>,
        key_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO api_clients (name, scopes, key_sha256, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(serde_json::to_string(scopes).expect("scopes serialise"))
        .bind(key_sha256)
        .bind(true)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn count_api_clients(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM api_clients")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn api_client_by_key(&self, key_sha256: &str) -> StoreResult<Option<ApiClient>> {
        // With every other call asking at this moment: one query sent after this call began.
        self.api_keys.get(key_sha256.to_string()).await
    }

    async fn set_api_client_enabled(&self, id: i64, enabled: bool) -> StoreResult<bool> {
        let changed: Option<i64> =
            sqlx::query_scalar("UPDATE api_clients SET enabled = $2 WHERE id = $1 RETURNING id")
                .bind(id)
                .bind(enabled)
                .fetch_optional(&self.pool)
                .await?;
        Ok(changed.is_some())
    }

    async fn add_trn_token(&self, token: &NewTrnToken) -> StoreResult<()> {
        Self::insert_trn_token(&self.pool, token).await
    }

    async fn award_qts(
        &self,
        award: &NewQtsAward,
        now: DateTime<Utc>,
    ) -> StoreResult<QtsAwardOutcome> {
        let email_sent = award.email.is_some();
        let mut tx = self.pool.begin().await?;
        // The award's row is written first: a second call at the same moment waits on it (PostgreSQL's key, or
        // SQLite's one writer) and then finds it, so the award is recorded once.
        let person_id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO qts_awards (person_id, awarded_on, api_client_id, email_sent, created_at) \
             SELECT id, $2, $3, $4, $5 FROM persons WHERE trn = $1 AND status = 'active' \
             ON CONFLICT DO NOTHING RETURNING person_id",
        )
        .bind(&award.trn)
        .bind(award.awarded)
        .bind(award.api_client_id)
        .bind(email_sent)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(person_id) = person_id else {
            let earlier: Option<(NaiveDate, bool)> = sqlx::query_as(
                "SELECT a.awarded_on, a.email_sent FROM qts_awards a JOIN persons p ON p.id = a.person_id \
                 WHERE p.trn = $1 AND p.status = 'active'",
            )
            .bind(&award.trn)
            .fetch_optional(&mut *tx)
            .await?;
            tx.rollback().await?;
            return Ok(match earlier {
                Some((day, email_sent)) if day == award.awarded => {
                    QtsAwardOutcome::AlreadyRecorded { email_sent }
                }
                Some((day, _)) => QtsAwardOutcome::AwardedOnAnotherDay { awarded: day },
                None => QtsAwardOutcome::NoActiveRecord,
            });
        };
        // QTS the record already holds from its source is not recorded again, nor announced.
        let held: Option<NaiveDate> = sqlx::query_scalar(
            "SELECT awarded_on FROM qualifications \
             WHERE person_id = $1 AND kind = 'qts' AND awarded_on IS NOT NULL ORDER BY id LIMIT 1",
        )
        .bind(person_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(day) = held {
            tx.rollback().await?;
            return Ok(if day == award.awarded {
                QtsAwardOutcome::AlreadyRecorded { email_sent: false }
            } else {
                QtsAwardOutcome::AwardedOnAnotherDay { awarded: day }
            });
        }
        let completed = sqlx::query(
            "UPDATE qualifications SET status = 'Awarded', awarded_on = $2 WHERE person_id = $1 AND kind = 'qts'",
        )
        .bind(person_id)
        .bind(award.awarded)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if completed == 0 {
            sqlx::query(
                "INSERT INTO qualifications (person_id, kind, name, status, awarded_on) \
                 VALUES ($1, 'qts', 'Qualified teacher status', 'Awarded', $2)",
            )
            .bind(person_id)
            .bind(award.awarded)
            .execute(&mut *tx)
            .await?;
        }
        let details = QtsAwardedEvent {
            awarded: award.awarded,
            api_client_id: award.api_client_id,
            email_sent,
        };
        sqlx::query(
            "INSERT INTO record_events (person_id, kind, actor, details, occurred_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(person_id)
        .bind(QTS_AWARDED)
        .bind(&award.actor)
        .bind(serde_json::to_string(&details).expect("event details serialise"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(token) = &award.token {
            Self::insert_trn_token(&mut *tx, token).await?;
        }
        if let Some(email) = &award.email {
            Self::insert_email(&mut *tx, email, now).await?;
        }
        // A qualification added is not seen by the page-version triggers (migration 0018: records are loaded
        // whole), so the pages of whoever is connected to the record are moved on here.
        sqlx::query(
            "UPDATE users SET page_version = page_version + 1 \
             WHERE id IN (SELECT user_id FROM connections WHERE person_id = $1)",
        )
        .bind(person_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(QtsAwardOutcome::Recorded { email_sent })
    }

    async fn trn_token(&self, token_sha256: &str) -> StoreResult<Option<TrnToken>> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT trn, email, expires_at, used_at FROM trn_tokens WHERE token_sha256 = $1",
        )
        .bind(token_sha256)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| TrnToken {
            trn: r.trn,
            email: r.email,
            expires_at: r.expires_at,
            used_at: r.used_at,
        }))
    }

    async fn count_trn_tokens(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM trn_tokens")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn trn_token_hashes(&self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT token_sha256 FROM trn_tokens ORDER BY created_at")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn record_api_call(&self, call: &ApiCall) -> StoreResult<()> {
        // Written with whatever other calls are being audited at the same moment (see [`super::group_commit`]).
        self.api_calls.rows.write(ApiRow::Call(call.clone())).await
    }

    async fn add_trn_token_audited(&self, token: &NewTrnToken, call: &ApiCall) -> StoreResult<()> {
        self.api_calls
            .rows
            .write(ApiRow::Token(token.clone(), call.clone()))
            .await
    }

    async fn take_api_call(
        &self,
        client_id: i64,
        limit: i64,
        window_seconds: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let window_start = now.timestamp() - now.timestamp().rem_euclid(window_seconds);
        let from_share =
            |shares: &mut std::collections::HashMap<i64, Share>| match shares.get_mut(&client_id) {
                Some(share) if share.window_start == window_start && share.left > 0 => {
                    share.left -= 1;
                    true
                }
                _ => false,
            };
        if from_share(&mut self.api_calls.lock_shares()) {
            return Ok(true);
        }
        let _taking = self.api_calls.taking.lock().await;
        // Another call may have taken a share meanwhile.
        if from_share(&mut self.api_calls.lock_shares()) {
            return Ok(true);
        }
        let want = rate_share(limit);
        // The same counter as before shares were taken (`rate_limits`, keyed by the client): the window's total
        // across instances, shares included.
        let total: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limits (key_hash, window_start, hits) VALUES ($1, $2, $3) \
             ON CONFLICT (key_hash, window_start) DO UPDATE SET hits = rate_limits.hits + $3 RETURNING hits",
        )
        .bind(crate::http::assets::sha256_hex(&format!("api-client:{client_id}")))
        .bind(window_start)
        .bind(want)
        .fetch_one(&self.pool)
        .await?;
        // Of the `want` just counted, those past the limit are not ours to use.
        let granted = (want - (total - limit).max(0)).clamp(0, want);
        if granted == 0 {
            return Ok(false);
        }
        // One of them is this call; the rest are kept for the window, unless a later window's share is kept already
        // (this call started before the window turned): then they are left unused rather than replace it.
        let mut shares = self.api_calls.lock_shares();
        match shares.get_mut(&client_id) {
            Some(share) if share.window_start > window_start => {}
            Some(share) if share.window_start == window_start => share.left += granted - 1,
            _ => {
                shares.insert(
                    client_id,
                    Share {
                        window_start,
                        left: granted - 1,
                    },
                );
            }
        }
        Ok(true)
    }

    async fn active_trn(&self, trn: &str) -> StoreResult<bool> {
        // With every other call asking at this moment: one query sent after this call began.
        let status = self.trn_statuses.get(trn.to_string()).await?;
        Ok(status.as_deref() == Some(app::domain::records::RecordStatus::Active.as_str()))
    }

    async fn api_calls(&self) -> StoreResult<Vec<ApiCall>> {
        Ok(
            sqlx::query_as(
                "SELECT api_client_id, operation, status, at FROM api_calls ORDER BY id",
            )
            .fetch_all(&self.pool)
            .await?,
        )
    }
}

impl<DB: Dialect> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    async fn insert_trn_token<'e, E: Executor<'e, Database = DB>>(
        exec: E,
        token: &NewTrnToken,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO trn_tokens (token_sha256, trn, email, api_client_id, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&token.token_sha256)
        .bind(&token.trn)
        .bind(&token.email)
        .bind(token.api_client_id)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(exec)
        .await?;
        Ok(())
    }
}

impl<DB: WriteApiRows> SqlStore<DB> {
    /// The API's group-commit writer over `pool`, started on the current runtime: each batch of audited calls, with
    /// the TRN tokens some of them made, written all or none ([`WriteApiRows`]).
    pub(super) fn api_call_writer(pool: &sqlx::Pool<DB>) -> ApiWriter {
        let pool = pool.clone();
        let rows = GroupCommit::spawn(Box::new(move |rows: Vec<ApiRow>| {
            let mut calls = Vec::with_capacity(rows.len());
            let mut tokens = Vec::new();
            for row in rows {
                match row {
                    ApiRow::Call(call) => calls.push(call),
                    ApiRow::Token(token, call) => {
                        tokens.push(token);
                        calls.push(call);
                    }
                }
            }
            DB::write_api_rows(pool.clone(), calls, tokens)
        }));
        ApiWriter {
            rows,
            shares: Default::default(),
            taking: Default::default(),
        }
    }
}

/// How a backend writes a batch of the API's rows, all or none: the audited calls and the TRN tokens some of them
/// made.
pub trait WriteApiRows: Dialect {
    fn write_api_rows(
        pool: sqlx::Pool<Self>,
        calls: Vec<ApiCall>,
        tokens: Vec<NewTrnToken>,
    ) -> BoxFuture<'static, StoreResult<()>>;
}

/// SQLite: calls alone are one multi-row `INSERT`; with TRN tokens, both tables in one transaction.
impl WriteApiRows for sqlx::Sqlite {
    fn write_api_rows(
        pool: sqlx::Pool<Self>,
        calls: Vec<ApiCall>,
        tokens: Vec<NewTrnToken>,
    ) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move {
            if tokens.is_empty() {
                return insert_rows(&pool, &calls, api_calls_statement).await;
            }
            let mut tx = pool.begin().await?;
            insert_rows_in(&mut tx, &tokens, trn_tokens_statement).await?;
            insert_rows_in(&mut tx, &calls, api_calls_statement).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

/// PostgreSQL: one statement whatever the batch (so atomic without a transaction's two round trips, and one
/// prepared statement however many rows), the rows bound as one array per column.
impl WriteApiRows for sqlx::Postgres {
    fn write_api_rows(
        pool: sqlx::Pool<Self>,
        calls: Vec<ApiCall>,
        tokens: Vec<NewTrnToken>,
    ) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query(
                "WITH tokens AS (INSERT INTO trn_tokens \
                 (token_sha256, trn, email, api_client_id, created_at, expires_at) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], \
                 $6::timestamptz[])) \
                 INSERT INTO api_calls (api_client_id, operation, status, at) \
                 SELECT * FROM UNNEST($7::bigint[], $8::text[], $9::bigint[], $10::timestamptz[])",
            )
            .bind(tokens.iter().map(|t| t.token_sha256.as_str()).collect::<Vec<_>>())
            .bind(tokens.iter().map(|t| t.trn.as_str()).collect::<Vec<_>>())
            .bind(tokens.iter().map(|t| t.email.as_str()).collect::<Vec<_>>())
            .bind(tokens.iter().map(|t| t.api_client_id).collect::<Vec<_>>())
            .bind(tokens.iter().map(|t| t.created_at).collect::<Vec<_>>())
            .bind(tokens.iter().map(|t| t.expires_at).collect::<Vec<_>>())
            .bind(calls.iter().map(|c| c.api_client_id).collect::<Vec<_>>())
            .bind(calls.iter().map(|c| c.operation.as_str()).collect::<Vec<_>>())
            .bind(calls.iter().map(|c| c.status).collect::<Vec<_>>())
            .bind(calls.iter().map(|c| c.at).collect::<Vec<_>>())
            .execute(&pool)
            .await?;
            Ok(())
        })
    }
}

impl ApiWriter {
    fn lock_shares(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, Share>> {
        self.shares
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One multi-row `INSERT` of TRN tokens.
fn trn_tokens_statement<'q, DB: Dialect>(tokens: &'q [NewTrnToken]) -> QueryBuilder<'q, DB>
where
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> DateTime<Utc>: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(
        "INSERT INTO trn_tokens (token_sha256, trn, email, api_client_id, created_at, expires_at) ",
    );
    q.push_values(tokens, |mut row, token| {
        row.push_bind(token.token_sha256.as_str())
            .push_bind(token.trn.as_str())
            .push_bind(token.email.as_str())
            .push_bind(token.api_client_id)
            .push_bind(token.created_at)
            .push_bind(token.expires_at);
    });
    q
}

/// One multi-row `INSERT` of audited API calls.
fn api_calls_statement<'q, DB: Dialect>(calls: &'q [ApiCall]) -> QueryBuilder<'q, DB>
where
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<i64>: Encode<'a, DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> DateTime<Utc>: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new("INSERT INTO api_calls (api_client_id, operation, status, at) ");
    q.push_values(calls, |mut row, call| {
        row.push_bind(call.api_client_id)
            .push_bind(call.operation.as_str())
            .push_bind(call.status)
            .push_bind(call.at);
    });
    q
}

/// An API client's row with its key's hash.
#[derive(sqlx::FromRow)]
struct KeyedClientRow {
    key_sha256: String,
    #[sqlx(flatten)]
    client: ClientRow,
}

impl<DB: Dialect> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Decode<'q, DB> + Type<DB>,
    for<'q> i64: Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Decode<'q, DB> + Type<DB>,
{
    /// API clients by their key's hash, for every call at the same moment in one query ([`super::coalesce`]), on
    /// the lookups' connections: a client's calls all carry its one key, so under load they read one row. A key
    /// disabled before a call arrived is always seen.
    pub(super) fn api_key_lookups(
        lookups: &super::held::Held<DB>,
    ) -> super::coalesce::Coalesced<String, ApiClient> {
        super::coalesce::by_text_key(
            lookups,
            format!(
                "SELECT key_sha256, id, name, scopes, enabled, created_at FROM api_clients WHERE key_sha256 {}",
                DB::IN_JSON_ARRAY
            ),
            |KeyedClientRow { key_sha256, client: r }| {
                Ok((
                    key_sha256,
                    ApiClient {
                        scopes: json("api client scopes", &r.scopes)?,
                        id: r.id,
                        name: r.name,
                        enabled: r.enabled,
                        created_at: r.created_at,
                    },
                ))
            },
        )
    }

    /// Records' status by TRN, the same way (the TRN token API's check that the record is active).
    pub(super) fn trn_status_lookups(
        lookups: &super::held::Held<DB>,
    ) -> super::coalesce::Coalesced<String, String> {
        super::coalesce::by_text_key(
            lookups,
            format!(
                "SELECT trn, status FROM persons WHERE trn {}",
                DB::IN_JSON_ARRAY
            ),
            |row: (String, String)| Ok(row),
        )
    }
}
