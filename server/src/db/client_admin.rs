//! What the support console reads and changes of the services registered to use Teacher ID (issue 12 items 2
//! and 4), beside what [`super::ProviderStore`] and [`super::ApiStore`] already do (add, enable and disable):
//! listing them, changing a client's URIs and whether its new account holders need a mobile, and replacing a client's secret (kept, as ever, only as its SHA-256).

use super::provider::ClientUris;
use super::{json, Dialect, SqlStore, StoreResult};
use crate::db::api::ApiClient;
use app::domain::provider::{ClientAuth, MobilePolicy};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

#[async_trait]
pub trait ClientAdminStore {
    /// Every registered OpenID Connect client's id, enabled or not, by display name.
    async fn client_ids(&self) -> StoreResult<Vec<String>>;
    /// Replaces a client's redirect and post-logout URIs; false when there is no such client.
    async fn set_client_uris(
        &self,
        client_id: &str,
        uris: &ClientUris,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Sets whether someone creating a DfE Identity account from the client must give a mobile number; false when
    /// there is no such client.
    async fn set_client_mobile(
        &self,
        client_id: &str,
        mobile: MobilePolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Replaces the secret of a client that authenticates with one by the secret with this SHA-256; false when
    /// there is no such client or it authenticates with its own keys.
    async fn set_client_secret(
        &self,
        client_id: &str,
        sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Every API client, enabled or not, oldest first.
    async fn api_clients(&self) -> StoreResult<Vec<ApiClient>>;
}

#[derive(sqlx::FromRow)]
struct ApiClientRow {
    id: i64,
    name: String,
    scopes: String,
    enabled: bool,
    created_at: DateTime<Utc>,
}

#[async_trait]
impl<DB: Dialect> ClientAdminStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    async fn client_ids(&self) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT client_id FROM oidc_clients ORDER BY display_name, client_id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn set_client_uris(
        &self,
        client_id: &str,
        uris: &ClientUris,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let changed: Option<i64> = sqlx::query_scalar(
            "UPDATE oidc_clients SET uris = $2, updated_at = $3 WHERE client_id = $1 RETURNING id",
        )
        .bind(client_id)
        .bind(serde_json::to_string(uris).expect("plain data serialises"))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(changed.is_some())
    }

    async fn set_client_mobile(
        &self,
        client_id: &str,
        mobile: MobilePolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let changed: Option<i64> = sqlx::query_scalar(
            "UPDATE oidc_clients SET mobile = $2, updated_at = $3 WHERE client_id = $1 RETURNING id",
        )
        .bind(client_id)
        .bind(mobile.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(changed.is_some())
    }

    async fn set_client_secret(
        &self,
        client_id: &str,
        sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // Read and written in one transaction, so a client switched to its own keys meanwhile is not given a
        // secret.
        let auth: Option<String> =
            sqlx::query_scalar("SELECT token_auth FROM oidc_clients WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(auth) = auth else {
            return Ok(false);
        };
        if !matches!(
            json::<ClientAuth>("client token_auth", &auth)?,
            ClientAuth::ClientSecret { .. }
        ) {
            return Ok(false);
        }
        let new = ClientAuth::ClientSecret {
            sha256: sha256.to_string(),
        };
        sqlx::query(
            "UPDATE oidc_clients SET token_auth = $2, updated_at = $3 WHERE client_id = $1",
        )
        .bind(client_id)
        .bind(serde_json::to_string(&new).expect("plain data serialises"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn api_clients(&self) -> StoreResult<Vec<ApiClient>> {
        let rows: Vec<ApiClientRow> = sqlx::query_as(
            "SELECT id, name, scopes, enabled, created_at FROM api_clients ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ApiClient {
                    scopes: json("api client scopes", &r.scopes)?,
                    id: r.id,
                    name: r.name,
                    enabled: r.enabled,
                    created_at: r.created_at,
                })
            })
            .collect()
    }
}
