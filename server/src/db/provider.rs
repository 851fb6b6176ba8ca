//! Teacher ID as an OpenID Connect provider (DESIGN §7.1): the registered clients and the ID-token signing keys.
//!
//! **Client secrets** are kept as the SHA-256 of the secret, never the secret. A slow password hash (argon2,
//! bcrypt) exists to make guessing a *human-chosen* password expensive; our secrets are 256 random bits made by
//! [`crate::http::cookies::new_secret`], so no guess can succeed however fast the hash, and a plain SHA-256 keeps
//! the token endpoint quick (issue 12 asks for its p99 under 10 ms). Comparison is constant-time.
//!
//! **Signing keys**: one `current` key signs new ID tokens; `server keys rotate` makes a new current key and turns
//! the old one `retiring`, published until `retire_after` (no ID token it signed is valid after that), then
//! dropped at the next rotation. The private keys are PKCS#1 PEM in the database, protected as the database is.

use super::{json, Dialect, SqlStore, StoreError, StoreResult};
use app::domain::provider::{Client, Scopes, SignInPolicy, TrnPolicy};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// A client's exact URIs, stored together as JSON and read back through this type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientUris {
    pub redirect: Vec<String>,
    pub post_logout_redirect: Vec<String>,
}

/// Whether a signing key signs new ID tokens or is only still published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    Current,
    /// Replaced; published until this time.
    Retiring {
        retire_after: DateTime<Utc>,
    },
}

/// An ID-token signing key as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    /// PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), the form `openidconnect` reads.
    pub private_key_pem: String,
    /// The public half as the JWKS publishes it.
    pub public_jwk: serde_json::Value,
    pub state: KeyState,
    pub created_at: DateTime<Utc>,
}

impl SigningKey {
    /// Whether it belongs in the published JWKS at `now`.
    pub fn published_at(&self, now: DateTime<Utc>) -> bool {
        match self.state {
            KeyState::Current => true,
            KeyState::Retiring { retire_after } => now < retire_after,
        }
    }
}

/// What came of registering a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAdded {
    Added,
    /// A client with this id exists; nothing was stored.
    DuplicateClientId,
}

#[async_trait]
pub trait ProviderStore {
    /// Registers `client`, unless its `client_id` is taken.
    async fn add_client(&self, client: &Client, now: DateTime<Utc>) -> StoreResult<ClientAdded>;
    /// The client registered with this id, enabled or not.
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    /// Enables or disables a client; false when there is no such client.
    async fn set_client_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Every stored signing key, the current one first, then the retiring ones newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// Stores `key` as the current key if there is none (start-up); false when there was one already, which is
    /// kept (two instances starting at once agree on one).
    async fn add_first_signing_key(&self, key: &SigningKey) -> StoreResult<bool>;
    /// In one transaction: drops retiring keys past their time at `now`, turns the current key (if any) into a
    /// retiring one published until `retire_after`, and stores `key` as the current key.
    async fn rotate_signing_key(
        &self,
        key: &SigningKey,
        now: DateTime<Utc>,
        retire_after: DateTime<Utc>,
    ) -> StoreResult<()>;
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    display_name: String,
    service_url: String,
    uris: String,
    token_auth: String,
    allowed_scopes: String,
    sign_in: String,
    trn: String,
    enabled: bool,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(r: ClientRow) -> StoreResult<Self> {
        let uris: ClientUris = json("client uris", &r.uris)?;
        let corrupt =
            |what: &str, value: &str| StoreError::Corrupt(format!("client {what} {value:?}"));
        Ok(Client {
            display_name: r.display_name,
            service_url: r.service_url,
            redirect_uris: uris.redirect,
            post_logout_redirect_uris: uris.post_logout_redirect,
            auth: json("client token_auth", &r.token_auth)?,
            allowed_scopes: Scopes::parse(&r.allowed_scopes)
                .map_err(|_| corrupt("scopes", &r.allowed_scopes))?,
            sign_in: SignInPolicy::parse(&r.sign_in)
                .ok_or_else(|| corrupt("sign_in", &r.sign_in))?,
            trn: TrnPolicy::parse(&r.trn).ok_or_else(|| corrupt("trn", &r.trn))?,
            enabled: r.enabled,
            client_id: r.client_id,
        })
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    private_key_pem: String,
    public_jwk: String,
    state: String,
    created_at: DateTime<Utc>,
    retire_after: Option<DateTime<Utc>>,
}

impl TryFrom<KeyRow> for SigningKey {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> StoreResult<Self> {
        let state = match (r.state.as_str(), r.retire_after) {
            ("current", None) => KeyState::Current,
            ("retiring", Some(retire_after)) => KeyState::Retiring { retire_after },
            (other, _) => return Err(StoreError::Corrupt(format!("signing key state {other:?}"))),
        };
        Ok(SigningKey {
            public_jwk: json("signing key public_jwk", &r.public_jwk)?,
            kid: r.kid,
            private_key_pem: r.private_key_pem,
            state,
            created_at: r.created_at,
        })
    }
}

const CLIENT_COLUMNS: &str =
    "client_id, display_name, service_url, uris, token_auth, allowed_scopes, sign_in, trn, enabled";

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

#[async_trait]
impl<DB: Dialect> ProviderStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<DateTime<Utc>>: Encode<'q, DB> + Decode<'q, DB>,
{
    async fn add_client(&self, client: &Client, now: DateTime<Utc>) -> StoreResult<ClientAdded> {
        let uris = ClientUris {
            redirect: client.redirect_uris.clone(),
            post_logout_redirect: client.post_logout_redirect_uris.clone(),
        };
        let added: Option<i64> = sqlx::query_scalar(
            "INSERT INTO oidc_clients (client_id, display_name, service_url, uris, token_auth, allowed_scopes, \
             sign_in, trn, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT (client_id) DO NOTHING RETURNING id",
        )
        .bind(&client.client_id)
        .bind(&client.display_name)
        .bind(&client.service_url)
        .bind(to_json(&uris))
        .bind(to_json(&client.auth))
        .bind(client.allowed_scopes.to_param())
        .bind(client.sign_in.as_str())
        .bind(client.trn.as_str())
        .bind(client.enabled)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match added {
            Some(_) => ClientAdded::Added,
            None => ClientAdded::DuplicateClientId,
        })
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let row: Option<ClientRow> = sqlx::query_as(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn set_client_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let changed: Option<i64> = sqlx::query_scalar(
            "UPDATE oidc_clients SET enabled = $2, updated_at = $3 WHERE client_id = $1 RETURNING id",
        )
        .bind(client_id)
        .bind(enabled)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(changed.is_some())
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT kid, private_key_pem, public_jwk, state, created_at, retire_after \
             FROM provider_signing_keys ORDER BY state, created_at DESC, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn add_first_signing_key(&self, key: &SigningKey) -> StoreResult<bool> {
        let added: Option<String> = sqlx::query_scalar(
            "INSERT INTO provider_signing_keys (kid, private_key_pem, public_jwk, state, created_at, retire_after) \
             VALUES ($1, $2, $3, 'current', $4, NULL) \
             ON CONFLICT (state) WHERE state = 'current' DO NOTHING RETURNING kid",
        )
        .bind(&key.kid)
        .bind(&key.private_key_pem)
        .bind(to_json(&key.public_jwk))
        .bind(key.created_at)
        .fetch_optional(&self.pool)
        .await?;
        Ok(added.is_some())
    }

    async fn rotate_signing_key(
        &self,
        key: &SigningKey,
        now: DateTime<Utc>,
        retire_after: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM provider_signing_keys WHERE state = 'retiring' AND retire_after <= $1",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE provider_signing_keys SET state = 'retiring', retire_after = $1 WHERE state = 'current'",
        )
        .bind(retire_after)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO provider_signing_keys (kid, private_key_pem, public_jwk, state, created_at, retire_after) \
             VALUES ($1, $2, $3, 'current', $4, NULL)",
        )
        .bind(&key.kid)
        .bind(&key.private_key_pem)
        .bind(to_json(&key.public_jwk))
        .bind(key.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
