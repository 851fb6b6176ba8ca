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

use super::group_commit::{insert_rows, insert_rows_in, GroupCommit};
use super::users::User;
use super::users::UserRow;
use super::{json, Dialect, SqlStore, StoreError, StoreResult};
use app::domain::provider::{Client, IdTokenAlg, MobilePolicy, Scopes, SignInPolicy, TrnPolicy};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, QueryBuilder, Type};

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
    /// What it signs with: one current key for each algorithm.
    pub alg: IdTokenAlg,
    /// RS256: PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), the form `openidconnect` reads; ES256: PKCS#8 PEM ("BEGIN
    /// PRIVATE KEY"), the form `ring` reads.
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

/// An authorization code to store: everything the token request must match, kept under the code's SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuthorizationCode {
    pub code_sha256: String,
    pub code: AuthorizationCode,
    pub created_at: DateTime<Utc>,
}

/// What an authorization code was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub nonce: String,
    pub code_challenge: String,
    pub scopes: Scopes,
    pub user_id: i64,
    /// When the teacher last authenticated (seconds since the epoch), the ID token's `auth_time`.
    pub auth_time: i64,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a code did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeExchange {
    /// Unused until now, and now used.
    Redeemed(AuthorizationCode),
    /// Used before: every access token issued for it is now revoked (RFC 6749 §4.1.2).
    Reused,
    Unknown,
}

/// A token request's code with what the request must match, and the access token to store if it does
/// ([`ProviderStore::redeem_authorization_code`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redemption {
    pub code_sha256: String,
    /// The authenticated client.
    pub client_id: String,
    pub redirect_uri: String,
    pub code_verifier: String,
    /// When the request came: the code must not have expired by then.
    pub now: DateTime<Utc>,
    /// The access token to issue if the code is good: its SHA-256, never the token.
    pub token_sha256: String,
    pub token_expires_at: DateTime<Utc>,
    /// The client's ID-token algorithm, whose current key's `kid` is read.
    pub alg: IdTokenAlg,
}

/// What redeeming a code came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Redeemed {
    /// The code was good: it is used, and the access token is stored and audited. What the ID token is made of,
    /// with the `kid` of the current key of the client's algorithm.
    Issued {
        code: AuthorizationCode,
        claims: Box<ClaimsSource>,
        kid: Option<String>,
    },
    /// Refused; the code is used (or, presented again, its tokens revoked) all the same, and no token stored.
    Refused(CodeRefusal),
}

/// Why a code was refused, in the order the token endpoint checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    Unknown,
    /// Presented before: every access token issued for it is now revoked (RFC 6749 §4.1.2).
    Reused,
    OtherClient,
    Expired,
    RedirectUri,
    /// The PKCE verifier does not answer the challenge.
    Verifier,
    /// The teacher it was issued for is gone.
    UserGone,
}

/// Whether `code`, just used, may be exchanged by `r` (RFC 6749 §4.1.3, RFC 7636 §4.6).
fn check_code(code: &AuthorizationCode, r: &Redemption) -> Result<(), CodeRefusal> {
    if code.client_id != r.client_id {
        Err(CodeRefusal::OtherClient)
    } else if code.expires_at <= r.now {
        Err(CodeRefusal::Expired)
    } else if code.redirect_uri != r.redirect_uri {
        Err(CodeRefusal::RedirectUri)
    } else if !app::domain::provider::pkce_matches(&r.code_verifier, &code.code_challenge) {
        Err(CodeRefusal::Verifier)
    } else {
        Ok(())
    }
}

/// An access token as stored (found by its SHA-256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    pub client_id: String,
    pub user_id: i64,
    pub scopes: Scopes,
    pub expires_at: DateTime<Utc>,
    /// Its code was presented again (`authorization_codes.reused_at`, whenever the token was written). The token's
    /// own `revoked_at` column is not read: it was only ever set beside its code's `reused_at`, and since migration
    /// 0032 nothing sets it.
    pub revoked: bool,
}

/// An access token to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccessToken {
    pub token_sha256: String,
    /// The code it was issued for.
    pub code_sha256: String,
    pub client_id: String,
    pub user_id: i64,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What a teacher's claims are made of (see [`crate::provider::Claims::of`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimsSource {
    pub user: User,
    /// Their record's TRN, when connected to one.
    pub trn: Option<String>,
    /// Whether a support task of theirs is open (only asked when not connected).
    pub open_task: bool,
    /// The `sub` clients know them by, once made ([`ProviderStore::provider_subject`] makes it).
    pub sub: Option<String>,
    /// Their DfE Identity account, when they have one: its email, name and date of birth, which nobody verified.
    /// Boxed: most teachers have none, and this rides in every token redemption's answer.
    pub account: Option<Box<AccountClaims>>,
}

/// What a DfE Identity account gives a teacher's claims (DESIGN §7.1, §7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountClaims {
    pub email: String,
    /// First and last name, as the person typed them.
    pub name: String,
    pub date_of_birth: NaiveDate,
}

/// One line of the provider's audit: nothing personal.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ProviderEvent {
    /// The client, when it could be told.
    pub client_id: Option<String>,
    /// `authorize`, `continue`, `token` or `userinfo`.
    pub event: String,
    /// `code`, `sign_in`, `journey`, `tokens`, `claims`, or the OAuth error code answered.
    pub outcome: String,
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
    /// Stores `key` as the current key of its algorithm if there is none (start-up); false when there was one
    /// already, which is kept (two instances starting at once agree on one).
    async fn add_first_signing_key(&self, key: &SigningKey) -> StoreResult<bool>;
    /// In one transaction: drops retiring keys past their time at `now`, turns the current key of `key`'s
    /// algorithm (if any) into a retiring one published until `retire_after`, and stores `key` as the current key.
    async fn rotate_signing_key(
        &self,
        key: &SigningKey,
        now: DateTime<Utc>,
        retire_after: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The `sub` clients know `user_id` by: made (random) the first time, the same ever after.
    async fn provider_subject(&self, user_id: i64, now: DateTime<Utc>) -> StoreResult<String>;
    async fn add_authorization_code(&self, code: &NewAuthorizationCode) -> StoreResult<()>;
    /// Uses the code with this SHA-256 at `now`: once. A second time revokes the tokens issued for it.
    async fn exchange_authorization_code(
        &self,
        code_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<CodeExchange>;
    async fn add_access_token(&self, token: &NewAccessToken) -> StoreResult<()>;
    /// The token endpoint's one write, shared with every other token request waiting at the same moment (one
    /// transaction for all of them): uses the code (once; presented again, it revokes what it issued), checks it
    /// against the request, reads the teacher's claims and the current key's `kid`, and stores and audits the
    /// access token. Durable when this returns.
    async fn redeem_authorization_code(&self, redemption: Redemption) -> StoreResult<Redeemed>;
    /// Stores `token` and audits `event` (the token request's answer) in one write, shared with whatever other
    /// requests are writing at the same moment ([`super::group_commit`]); durable when this returns.
    async fn issue_access_token(
        &self,
        token: &NewAccessToken,
        event: &ProviderEvent,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The token with this SHA-256; revoked also when its code was presented again.
    async fn access_token(&self, token_sha256: &str) -> StoreResult<Option<AccessToken>>;
    /// What the claims of `user_id` are made of, in one statement, with the `kid` of the current `alg` signing key;
    /// `None` when there is no such user.
    async fn claims_source(
        &self,
        user_id: i64,
        alg: IdTokenAlg,
    ) -> StoreResult<Option<(ClaimsSource, Option<String>)>>;
    /// userinfo's one statement: the access token with this SHA-256 (revoked also when its code was presented
    /// again), and what its teacher's claims are made of (`None` when the user is gone).
    async fn userinfo_source(
        &self,
        token_sha256: &str,
    ) -> StoreResult<Option<(AccessToken, Option<ClaimsSource>)>>;
    /// Records a client assertion's `jti` until `expires_at`; false when it was seen before (a replay).
    async fn first_use_of_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn record_provider_event(
        &self,
        event: &ProviderEvent,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Every audited event, oldest first.
    async fn provider_events(&self) -> StoreResult<Vec<ProviderEvent>>;
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
    mobile: String,
    id_token_signed_response_alg: String,
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
            mobile: MobilePolicy::parse(&r.mobile).ok_or_else(|| corrupt("mobile", &r.mobile))?,
            id_token_alg: IdTokenAlg::parse(&r.id_token_signed_response_alg)
                .ok_or_else(|| corrupt("alg", &r.id_token_signed_response_alg))?,
            enabled: r.enabled,
            client_id: r.client_id,
        })
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
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
            alg: IdTokenAlg::parse(&r.alg)
                .ok_or_else(|| StoreError::Corrupt(format!("signing key alg {:?}", r.alg)))?,
            public_jwk: json("signing key public_jwk", &r.public_jwk)?,
            kid: r.kid,
            private_key_pem: r.private_key_pem,
            state,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    client_id: String,
    redirect_uri: String,
    nonce: String,
    code_challenge: String,
    scopes: String,
    user_id: i64,
    auth_time: i64,
    expires_at: DateTime<Utc>,
}

fn scopes(stored: &str) -> StoreResult<Scopes> {
    Scopes::parse(stored).map_err(|_| StoreError::Corrupt(format!("scopes {stored:?}")))
}

impl TryFrom<CodeRow> for AuthorizationCode {
    type Error = StoreError;
    fn try_from(r: CodeRow) -> StoreResult<Self> {
        Ok(AuthorizationCode {
            scopes: scopes(&r.scopes)?,
            client_id: r.client_id,
            redirect_uri: r.redirect_uri,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            user_id: r.user_id,
            auth_time: r.auth_time,
            expires_at: r.expires_at,
        })
    }
}

/// The columns of a [`ClaimsSource`], from `users u` joined as [`CLAIMS_JOINS`] joins them.
const CLAIMS_COLUMNS: &str = "u.id AS user_id, u.email AS user_email, u.verified_identity, \
     u.identity_verified_at, u.identity_verified_via, u.identity_verified_by, u.identity_verified_task, \
     p.trn, t.reference AS task_reference, s.sub, acc.email AS account_email, \
     acc.first_name AS account_first_name, acc.last_name AS account_last_name, \
     acc.date_of_birth AS account_date_of_birth";

/// The user's connection, its record, their open support task (only looked for when not connected: at most one,
/// `support_tasks_one_open_per_user`) and their provider subject, as the teacher's standing joins them.
const CLAIMS_JOINS: &str = "LEFT JOIN connections c ON c.user_id = u.id \
     LEFT JOIN persons p ON p.id = c.person_id \
     LEFT JOIN support_tasks t ON c.user_id IS NULL AND t.user_id = u.id AND t.status IN ('open', 'in_progress') \
     LEFT JOIN provider_subjects s ON s.user_id = u.id \
     LEFT JOIN accounts acc ON acc.user_id = u.id";

#[derive(sqlx::FromRow)]
struct ClaimsRow {
    user_id: Option<i64>,
    user_email: Option<String>,
    verified_identity: Option<String>,
    identity_verified_at: Option<DateTime<Utc>>,
    identity_verified_via: Option<String>,
    identity_verified_by: Option<i64>,
    identity_verified_task: Option<String>,
    trn: Option<String>,
    task_reference: Option<String>,
    sub: Option<String>,
    account_email: Option<String>,
    account_first_name: Option<String>,
    account_last_name: Option<String>,
    account_date_of_birth: Option<NaiveDate>,
}

impl ClaimsRow {
    /// `None` when the user's columns are NULL (a token whose user is gone).
    fn source(self) -> StoreResult<Option<ClaimsSource>> {
        let (Some(id), Some(email)) = (self.user_id, self.user_email) else {
            return Ok(None);
        };
        Ok(Some(ClaimsSource {
            user: User::try_from(UserRow {
                id,
                email,
                verified_identity: self.verified_identity,
                identity_verified_at: self.identity_verified_at,
                identity_verified_via: self.identity_verified_via,
                identity_verified_by: self.identity_verified_by,
                identity_verified_task: self.identity_verified_task,
            })?,
            trn: self.trn,
            open_task: self.task_reference.is_some(),
            sub: self.sub,
            account: match (
                self.account_email,
                self.account_first_name,
                self.account_last_name,
                self.account_date_of_birth,
            ) {
                (Some(email), Some(first), Some(last), Some(date_of_birth)) => {
                    Some(Box::new(AccountClaims {
                        email,
                        name: format!("{first} {last}"),
                        date_of_birth,
                    }))
                }
                _ => None,
            },
        }))
    }
}

#[derive(sqlx::FromRow)]
struct UserinfoRow {
    client_id: String,
    token_user_id: i64,
    scopes: String,
    expires_at: DateTime<Utc>,
    reused_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    claims: ClaimsRow,
}

const CLIENT_COLUMNS: &str =
    "client_id, display_name, service_url, uris, token_auth, allowed_scopes, sign_in, \
     trn, mobile, id_token_signed_response_alg, enabled";

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
             sign_in, trn, enabled, created_at, updated_at, id_token_signed_response_alg, mobile) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12) \
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
        .bind(client.id_token_alg.as_str())
        .bind(client.mobile.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(match added {
            Some(_) => ClientAdded::Added,
            None => ClientAdded::DuplicateClientId,
        })
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        // With every other request asking for a client at this moment: one query sent after this call began.
        self.clients.get(client_id.to_string()).await
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
            "SELECT kid, alg, private_key_pem, public_jwk, state, created_at, retire_after \
             FROM provider_signing_keys ORDER BY state, created_at DESC, alg, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn add_first_signing_key(&self, key: &SigningKey) -> StoreResult<bool> {
        let added: Option<String> = sqlx::query_scalar(
            "INSERT INTO provider_signing_keys (kid, private_key_pem, public_jwk, state, created_at, retire_after, \
             alg) VALUES ($1, $2, $3, 'current', $4, NULL, $5) \
             ON CONFLICT (alg) WHERE state = 'current' DO NOTHING RETURNING kid",
        )
        .bind(&key.kid)
        .bind(&key.private_key_pem)
        .bind(to_json(&key.public_jwk))
        .bind(key.created_at)
        .bind(key.alg.as_str())
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
            "UPDATE provider_signing_keys SET state = 'retiring', retire_after = $1 \
             WHERE state = 'current' AND alg = $2",
        )
        .bind(retire_after)
        .bind(key.alg.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO provider_signing_keys (kid, private_key_pem, public_jwk, state, created_at, retire_after, \
             alg) VALUES ($1, $2, $3, 'current', $4, NULL, $5)",
        )
        .bind(&key.kid)
        .bind(&key.private_key_pem)
        .bind(to_json(&key.public_jwk))
        .bind(key.created_at)
        .bind(key.alg.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
    async fn provider_subject(&self, user_id: i64, now: DateTime<Utc>) -> StoreResult<String> {
        // Read first: every token and userinfo request asks, and after the first the subject is there. Trying the
        // insert each time made each of them a write, which on SQLite waits its turn for the one write lock.
        let known: Option<String> =
            sqlx::query_scalar("SELECT sub FROM provider_subjects WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        if let Some(sub) = known {
            return Ok(sub);
        }
        // A random id of our own, made once: two requests at once agree on the first one stored.
        sqlx::query(
            "INSERT INTO provider_subjects (user_id, sub, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT sub FROM provider_subjects WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn add_authorization_code(&self, new: &NewAuthorizationCode) -> StoreResult<()> {
        let code = &new.code;
        sqlx::query(
            "INSERT INTO authorization_codes (code_sha256, client_id, redirect_uri, nonce, code_challenge, scopes, \
             user_id, auth_time, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)",
        )
        .bind(&new.code_sha256)
        .bind(&code.client_id)
        .bind(&code.redirect_uri)
        .bind(&code.nonce)
        .bind(&code.code_challenge)
        .bind(code.scopes.to_param())
        .bind(code.user_id)
        .bind(code.auth_time)
        .bind(new.created_at)
        .bind(code.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn exchange_authorization_code(
        &self,
        code_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<CodeExchange> {
        // One statement marks it used and reads it, so of two exchanges at once only one gets it; alone, it needs
        // no transaction's round trips.
        let used: Option<CodeRow> = sqlx::query_as(
            "UPDATE authorization_codes SET used_at = $2 WHERE code_sha256 = $1 AND used_at IS NULL \
             RETURNING client_id, redirect_uri, nonce, code_challenge, scopes, user_id, auth_time, expires_at",
        )
        .bind(code_sha256)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = used {
            return Ok(CodeExchange::Redeemed(row.try_into()?));
        }
        // Presented again (or never issued).
        let mut conn = self.pool.acquire().await?;
        Ok(
            match present_again::<DB>(&mut conn, code_sha256, now).await? {
                CodeRefusal::Reused => CodeExchange::Reused,
                _ => CodeExchange::Unknown,
            },
        )
    }

    async fn add_access_token(&self, token: &NewAccessToken) -> StoreResult<()> {
        self.provider_events
            .write(ProviderRow::Token(token.clone()))
            .await
    }

    async fn redeem_authorization_code(&self, redemption: Redemption) -> StoreResult<Redeemed> {
        self.redeemer.call(redemption).await
    }

    async fn issue_access_token(
        &self,
        token: &NewAccessToken,
        event: &ProviderEvent,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.provider_events
            .write(ProviderRow::Issued(token.clone(), event.clone(), at))
            .await
    }

    async fn access_token(&self, token_sha256: &str) -> StoreResult<Option<AccessToken>> {
        Ok(self
            .userinfo_source(token_sha256)
            .await?
            .map(|(token, _)| token))
    }

    async fn claims_source(
        &self,
        user_id: i64,
        alg: IdTokenAlg,
    ) -> StoreResult<Option<(ClaimsSource, Option<String>)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            claims: ClaimsRow,
            current_kid: Option<String>,
        }
        let mut conn = self.lookups.get().await?;
        let found = sqlx::query_as::<_, Row>(&format!(
            "SELECT {CLAIMS_COLUMNS}, \
             (SELECT kid FROM provider_signing_keys WHERE state = 'current' AND alg = $2) AS current_kid \
             FROM users u {CLAIMS_JOINS} WHERE u.id = $1"
        ))
        .bind(user_id)
        .bind(alg.as_str())
        .fetch_optional(&mut *conn)
        .await;
        let Some(row) = conn.check(found)? else {
            return Ok(None);
        };
        let kid = row.current_kid;
        Ok(row.claims.source()?.map(|source| (source, kid)))
    }

    async fn userinfo_source(
        &self,
        token_sha256: &str,
    ) -> StoreResult<Option<(AccessToken, Option<ClaimsSource>)>> {
        // With every other userinfo request at this moment: one query sent after this call began.
        self.userinfo.get(token_sha256.to_string()).await
    }

    async fn first_use_of_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // Assertions past their expiry are refused for that alone, so their ids need not be kept.
        sqlx::query("DELETE FROM client_assertions_seen WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let added: Option<String> = sqlx::query_scalar(
            "INSERT INTO client_assertions_seen (client_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, jti) DO NOTHING RETURNING jti",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .fetch_optional(&self.pool)
        .await?;
        Ok(added.is_some())
    }

    async fn record_provider_event(
        &self,
        event: &ProviderEvent,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        // Written with whatever other requests are auditing at the same moment (see [`super::group_commit`]):
        // one INSERT per token or userinfo request made SQLite's write lock their queue.
        self.provider_events
            .write(ProviderRow::Event(event.clone(), at))
            .await
    }

    async fn provider_events(&self) -> StoreResult<Vec<ProviderEvent>> {
        Ok(
            sqlx::query_as("SELECT client_id, event, outcome FROM provider_events ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

/// A provider event and when it happened.
pub type TimedProviderEvent = (ProviderEvent, DateTime<Utc>);

/// What the provider's group-commit writer takes: audit events, and access tokens (with the event of the token
/// request that issued them), so that a token request's writes after its code is used are one shared commit.
#[derive(Clone, Debug)]
pub enum ProviderRow {
    Event(ProviderEvent, DateTime<Utc>),
    Token(NewAccessToken),
    Issued(NewAccessToken, ProviderEvent, DateTime<Utc>),
}

impl<DB: Dialect> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    /// The provider's group-commit writer over `pool`, started on the current runtime: audit events alone are
    /// one multi-row `INSERT` as before; with access tokens, both tables in one transaction.
    pub(super) fn provider_event_writer(pool: &sqlx::Pool<DB>) -> GroupCommit<ProviderRow> {
        let pool = pool.clone();
        GroupCommit::spawn(Box::new(move |rows: Vec<ProviderRow>| {
            let pool = pool.clone();
            Box::pin(async move {
                let mut events = Vec::with_capacity(rows.len());
                let mut tokens = Vec::new();
                for row in rows {
                    match row {
                        ProviderRow::Event(event, at) => events.push((event, at)),
                        ProviderRow::Token(token) => tokens.push(token),
                        ProviderRow::Issued(token, event, at) => {
                            tokens.push(token);
                            events.push((event, at));
                        }
                    }
                }
                if tokens.is_empty() {
                    return insert_rows(&pool, &events, provider_events_statement).await;
                }
                let mut tx = pool.begin().await?;
                insert_rows_in(&mut tx, &tokens, access_tokens_statement).await?;
                insert_rows_in(&mut tx, &events, provider_events_statement).await?;
                tx.commit().await?;
                Ok(())
            })
        }))
    }
}

/// One multi-row `INSERT` of access tokens.
fn access_tokens_statement<'q, DB: Dialect>(tokens: &'q [NewAccessToken]) -> QueryBuilder<'q, DB>
where
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> DateTime<Utc>: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(
        "INSERT INTO access_tokens (token_sha256, code_sha256, client_id, user_id, scopes, created_at, \
         expires_at) ",
    );
    q.push_values(tokens, |mut row, token| {
        row.push_bind(token.token_sha256.as_str())
            .push_bind(token.code_sha256.as_str())
            .push_bind(token.client_id.as_str())
            .push_bind(token.user_id)
            .push_bind(token.scopes.to_param())
            .push_bind(token.created_at)
            .push_bind(token.expires_at);
    });
    q
}

/// One multi-row `INSERT` of provider events.
fn provider_events_statement<'q, DB: Dialect>(
    events: &'q [TimedProviderEvent],
) -> QueryBuilder<'q, DB>
where
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB>,
    for<'a> DateTime<Utc>: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new("INSERT INTO provider_events (client_id, event, outcome, at) ");
    q.push_values(events, |mut row, (event, at)| {
        row.push_bind(event.client_id.as_deref())
            .push_bind(event.event.as_str())
            .push_bind(event.outcome.as_str())
            .push_bind(*at);
    });
    q
}

/// What userinfo reads for an access token: the token, and what its teacher's claims are made of (`None` when
/// the user is gone).
pub type UserinfoSource = (AccessToken, Option<ClaimsSource>);

/// A code just used, with its SHA-256.
#[derive(sqlx::FromRow)]
struct UsedCodeRow {
    code_sha256: String,
    #[sqlx(flatten)]
    code: CodeRow,
}

/// A teacher's claims with the current keys' `kid`s, by user.
#[derive(sqlx::FromRow)]
struct BatchClaimsRow {
    #[sqlx(flatten)]
    claims: ClaimsRow,
    rs256_kid: Option<String>,
    es256_kid: Option<String>,
}

/// userinfo's row, with the token it was read for.
#[derive(sqlx::FromRow)]
struct KeyedUserinfoRow {
    token_sha256: String,
    #[sqlx(flatten)]
    row: UserinfoRow,
}

impl<DB: Dialect + super::connect::InList + RedeemBatch> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<DateTime<Utc>>: Encode<'q, DB> + Decode<'q, DB>,
{
    /// Clients by id, for every request asking at the same moment in one query ([`super::coalesce`]), on the
    /// lookups' connections: each token request authenticates its client, so under load they all read the same
    /// few rows.
    pub(super) fn client_lookups(
        lookups: &super::held::Held<DB>,
    ) -> super::coalesce::Coalesced<String, Client> {
        super::coalesce::by_text_key(
            lookups,
            format!(
                "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id {}",
                DB::IN_JSON_ARRAY
            ),
            |row: ClientRow| Ok((row.client_id.clone(), Client::try_from(row)?)),
        )
    }

    /// userinfo's one statement (the token, its code's reuse and its teacher's claims), for every userinfo
    /// request at the same moment in one query, on the lookups' connections.
    pub(super) fn userinfo_lookups(
        lookups: &super::held::Held<DB>,
    ) -> super::coalesce::Coalesced<String, UserinfoSource> {
        super::coalesce::by_text_key(
            lookups,
            format!(
                "SELECT a.token_sha256, a.client_id, a.user_id AS token_user_id, a.scopes, a.expires_at, \
                 ac.reused_at, {CLAIMS_COLUMNS} \
                 FROM access_tokens a JOIN authorization_codes ac ON ac.code_sha256 = a.code_sha256 \
                 LEFT JOIN users u ON u.id = a.user_id {CLAIMS_JOINS} \
                 WHERE a.token_sha256 {}",
                DB::IN_JSON_ARRAY
            ),
            |keyed: KeyedUserinfoRow| {
                let row = keyed.row;
                let token = AccessToken {
                    scopes: scopes(&row.scopes)?,
                    client_id: row.client_id,
                    user_id: row.token_user_id,
                    expires_at: row.expires_at,
                    revoked: row.reused_at.is_some(),
                };
                Ok((keyed.token_sha256, (token, row.claims.source()?)))
            },
        )
    }

    /// The token endpoint's writer ([`ProviderStore::redeem_authorization_code`]): everything waiting, up to
    /// [`super::group_commit::MAX_BATCH`], redeemed in one transaction, each request answered after the commit.
    /// A batch that fails fails each of its requests with its error (nothing of it is stored, so every code is
    /// still unused and the client may try again).
    ///
    /// It writes on a connection of its own (`writer`, one held connection): SQLite empties a connection's page
    /// cache whenever another connection has written since its last transaction, so a pool connection taken in
    /// turn read every page of the batch's indexes from the file again; the writer's own connection keeps them.
    /// On PostgreSQL it saves the pool's ping of each connection given back.
    ///
    /// On SQLite it also runs the checkpoint task's WAL restarts (`restarts`, [`super::checkpoint::Handoff`])
    /// between two batches, on that connection: a restart run beside it held the write lock while the batch's
    /// connection slept in SQLite's busy handler, longer than the restart, with every token request waiting.
    pub(super) fn code_redeemer(
        writer: super::held::Held<DB>,
        restarts: Option<super::checkpoint::Handoff>,
    ) -> super::batch::Batched<Redemption, Redeemed> {
        if let Some(restarts) = &restarts {
            restarts.taken_by_a_writer();
        }
        super::batch::Batched::spawn(
            move |queue: super::batch::Queue<Redemption, Redeemed>| async move {
                // Each writer takes everything waiting when it is free, so with two a batch starts while the
                // other is still on its way to the database.
                let queue = tokio::sync::Mutex::new(queue);
                let writers = (0..DB::BATCHES_IN_FLIGHT)
                    .map(|_| Self::redeem_batches(&queue, &writer, restarts.as_ref()));
                futures::future::join_all(writers).await;
            },
        )
    }

    /// One writer of [`Self::code_redeemer`]: batch after batch until the queue ends, and a WAL restart offered
    /// when it is between two (before the next batch when both are waiting).
    async fn redeem_batches(
        queue: &tokio::sync::Mutex<super::batch::Queue<Redemption, Redeemed>>,
        writer: &super::held::Held<DB>,
        restarts: Option<&super::checkpoint::Handoff>,
    ) {
        let mut waiting = Vec::with_capacity(super::group_commit::MAX_BATCH);
        loop {
            let offered = async {
                match restarts {
                    Some(restarts) => restarts.offered().await,
                    None => std::future::pending().await,
                }
            };
            // `recv_many` takes nothing when the restart comes first (it is cancel-safe).
            let taken = tokio::select! {
                biased;
                Some(restart) = offered => {
                    // Dropped unrun when no connection can be had: the task runs it then.
                    if let Ok(mut conn) = writer.get().await {
                        if !DB::restart_wal(&mut conn, restart).await {
                            conn.discard();
                        }
                    }
                    continue;
                }
                taken = async {
                    queue
                        .lock()
                        .await
                        .recv_many(&mut waiting, super::group_commit::MAX_BATCH)
                        .await
                } => taken,
            };
            if taken == 0 {
                return;
            }
            let (batch, answers): (Vec<Redemption>, Vec<_>) = waiting.drain(..).unzip();
            let redeemed = async {
                let mut conn = writer.get().await?;
                let redeemed = DB::redeem_batch(&mut conn, &batch).await;
                conn.check(redeemed)
            };
            match super::batch::unless_panicked(redeemed).await {
                Ok(outcomes) => {
                    for (answer, outcome) in answers.into_iter().zip(outcomes) {
                        let _ = answer.send(Ok(outcome));
                    }
                }
                Err(error) => {
                    let error = std::sync::Arc::new(error);
                    for answer in answers {
                        let _ = answer.send(Err(error.clone()));
                    }
                }
            }
        }
    }

    /// One batch of [`Self::code_redeemer`] on SQLite: each outcome in the order of `batch`.
    async fn redeem(conn: &mut DB::Connection, batch: &[Redemption]) -> StoreResult<Vec<Redeemed>> {
        let now = Utc::now();
        let mut tx = sqlx::Connection::begin(conn).await?;
        // Every code of the batch marked used in one statement: of two presentations of a code, here or in
        // another batch or instance, only one gets its row.
        let codes = to_json(&batch.iter().map(|r| &r.code_sha256).collect::<Vec<_>>());
        let used: Vec<UsedCodeRow> = sqlx::query_as(&format!(
            "UPDATE authorization_codes SET used_at = $2 WHERE code_sha256 {} AND used_at IS NULL \
             RETURNING code_sha256, client_id, redirect_uri, nonce, code_challenge, scopes, user_id, auth_time, \
             expires_at",
            DB::IN_JSON_ARRAY
        ))
        .bind(codes)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let used = used
            .into_iter()
            .map(|row| (row.code_sha256, row.code))
            .collect();
        let checked = check_codes::<DB>(&mut tx, batch, used, now).await?;
        // The teachers' claims and the current keys, in one statement.
        let mut users: Vec<i64> = checked
            .iter()
            .filter_map(|c| c.as_ref().ok().map(|code| code.user_id))
            .collect();
        users.sort_unstable();
        users.dedup();
        let mut claims = BatchClaims::default();
        if !users.is_empty() {
            let mut q = QueryBuilder::new(format!(
                "SELECT {CLAIMS_COLUMNS}, {CURRENT_KIDS} FROM users u {CLAIMS_JOINS} WHERE u.id"
            ));
            DB::push_ids(&mut q, users);
            let rows: Vec<BatchClaimsRow> = DB::fetch_all_built_on(q, &mut *tx).await?;
            for row in rows {
                claims.add(row.claims, row.rs256_kid, row.es256_kid)?;
            }
        }
        let (outcomes, tokens) = claims.outcomes(batch, checked);
        let events: Vec<TimedProviderEvent> = tokens
            .iter()
            .map(|t| (token_event(&t.client_id), t.created_at))
            .collect();
        insert_rows_in(&mut tx, &tokens, access_tokens_statement).await?;
        insert_rows_in(&mut tx, &events, provider_events_statement).await?;
        tx.commit().await?;
        Ok(outcomes)
    }
}

/// The current keys' `kid`s, one column each, beside a teacher's claims.
const CURRENT_KIDS: &str =
    "(SELECT kid FROM provider_signing_keys WHERE state = 'current' AND alg = 'RS256') AS rs256_kid, \
     (SELECT kid FROM provider_signing_keys WHERE state = 'current' AND alg = 'ES256') AS es256_kid";

/// The token request's audit line.
fn token_event(client_id: &str) -> ProviderEvent {
    ProviderEvent {
        client_id: Some(client_id.to_string()),
        event: "token".into(),
        outcome: "tokens".into(),
    }
}

/// Each code of `batch` checked against its request ([`check_code`]) once used: `used` holds the codes the batch's
/// `UPDATE` got; a code it did not get was used before (or by an earlier request of this batch) or never issued,
/// and is marked reused on `tx` ([`present_again`]).
async fn check_codes<DB: Dialect>(
    tx: &mut sqlx::Transaction<'_, DB>,
    batch: &[Redemption],
    mut used: std::collections::HashMap<String, CodeRow>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Result<AuthorizationCode, CodeRefusal>>>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let mut checked = Vec::with_capacity(batch.len());
    let mut again = Vec::new();
    for (i, r) in batch.iter().enumerate() {
        checked.push(match used.remove(&r.code_sha256) {
            Some(row) => {
                let code = AuthorizationCode::try_from(row)?;
                check_code(&code, r).map(|()| code)
            }
            None => {
                again.push(i);
                Err(CodeRefusal::Unknown)
            }
        });
    }
    // In the codes' order, as the `UPDATE` locked its rows: two batches at once (another instance's, say) that
    // both present the same used codes again then lock them in one order and cannot deadlock.
    again.sort_by(|a, b| batch[*a].code_sha256.cmp(&batch[*b].code_sha256));
    for i in again {
        checked[i] = Err(present_again::<DB>(&mut **tx, &batch[i].code_sha256, now).await?);
    }
    Ok(checked)
}

/// The claims of a batch's teachers by user, with the current keys' `kid`s.
#[derive(Default)]
struct BatchClaims {
    claims: std::collections::HashMap<i64, ClaimsSource>,
    rs256_kid: Option<String>,
    es256_kid: Option<String>,
}

impl BatchClaims {
    /// Adds a row of claims (a user gone adds none) and the current keys read beside it.
    fn add(
        &mut self,
        row: ClaimsRow,
        rs256_kid: Option<String>,
        es256_kid: Option<String>,
    ) -> StoreResult<()> {
        (self.rs256_kid, self.es256_kid) = (rs256_kid, es256_kid);
        if let Some(source) = row.source()? {
            self.claims.insert(source.user.id, source);
        }
        Ok(())
    }

    /// What each request of `batch` comes to, given its checked code, and the access tokens to store for those
    /// issued.
    fn outcomes(
        &self,
        batch: &[Redemption],
        checked: Vec<Result<AuthorizationCode, CodeRefusal>>,
    ) -> (Vec<Redeemed>, Vec<NewAccessToken>) {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut tokens = Vec::with_capacity(batch.len());
        for (r, checked) in batch.iter().zip(checked) {
            let code = match checked {
                Ok(code) => code,
                Err(refusal) => {
                    outcomes.push(Redeemed::Refused(refusal));
                    continue;
                }
            };
            let Some(source) = self.claims.get(&code.user_id) else {
                outcomes.push(Redeemed::Refused(CodeRefusal::UserGone));
                continue;
            };
            tokens.push(NewAccessToken {
                token_sha256: r.token_sha256.clone(),
                code_sha256: r.code_sha256.clone(),
                client_id: r.client_id.clone(),
                user_id: code.user_id,
                scopes: code.scopes.clone(),
                created_at: r.now,
                expires_at: r.token_expires_at,
            });
            let kid = match r.alg {
                IdTokenAlg::Rs256 => self.rs256_kid.clone(),
                IdTokenAlg::Es256 => self.es256_kid.clone(),
            };
            outcomes.push(Redeemed::Issued {
                code,
                claims: Box::new(source.clone()),
                kid,
            });
        }
        (outcomes, tokens)
    }
}

/// How a backend redeems a batch of codes ([`SqlStore::code_redeemer`]), in one transaction either way.
pub trait RedeemBatch: Dialect {
    /// Batches redeemed at once, each on its own connection. PostgreSQL: two, as two batches' codes are used by
    /// `UPDATE … WHERE used_at IS NULL`, whose row locks make the second wait for the first's commit on a code
    /// both hold, and then not get it. SQLite: one, as its writers take turns anyway.
    const BATCHES_IN_FLIGHT: usize;
    fn redeem_batch<'c>(
        conn: &'c mut Self::Connection,
        batch: &'c [Redemption],
    ) -> futures::future::BoxFuture<'c, StoreResult<Vec<Redeemed>>>;
    /// Runs a WAL restart the checkpoint task handed over ([`super::checkpoint::Handoff`]) on the writer's
    /// connection; false when the connection must be closed.
    fn restart_wal(
        conn: &mut Self::Connection,
        restart: super::checkpoint::Restart,
    ) -> futures::future::BoxFuture<'_, bool>;
}

impl RedeemBatch for sqlx::Sqlite {
    const BATCHES_IN_FLIGHT: usize = 1;
    fn redeem_batch<'c>(
        conn: &'c mut Self::Connection,
        batch: &'c [Redemption],
    ) -> futures::future::BoxFuture<'c, StoreResult<Vec<Redeemed>>> {
        Box::pin(SqlStore::<sqlx::Sqlite>::redeem(conn, batch))
    }
    fn restart_wal(
        conn: &mut Self::Connection,
        restart: super::checkpoint::Restart,
    ) -> futures::future::BoxFuture<'_, bool> {
        Box::pin(restart.run(conn))
    }
}

impl RedeemBatch for sqlx::Postgres {
    const BATCHES_IN_FLIGHT: usize = 2;
    fn redeem_batch<'c>(
        conn: &'c mut Self::Connection,
        batch: &'c [Redemption],
    ) -> futures::future::BoxFuture<'c, StoreResult<Vec<Redeemed>>> {
        Box::pin(redeem_on_postgres(conn, batch))
    }
    /// PostgreSQL has no checkpoint task: no restart is ever handed over (one dropped unrun is run by the task).
    fn restart_wal(
        _: &mut Self::Connection,
        _: super::checkpoint::Restart,
    ) -> futures::future::BoxFuture<'_, bool> {
        Box::pin(std::future::ready(true))
    }
}

/// A code just used with its teacher's claims and the current keys: PostgreSQL's first statement of a batch.
#[derive(sqlx::FromRow)]
struct UsedWithClaimsRow {
    code_sha256: String,
    code_client_id: String,
    redirect_uri: String,
    nonce: String,
    code_challenge: String,
    code_scopes: String,
    code_user_id: i64,
    auth_time: i64,
    code_expires_at: DateTime<Utc>,
    #[sqlx(flatten)]
    claims: ClaimsRow,
    rs256_kid: Option<String>,
    es256_kid: Option<String>,
}

/// Begins the token writer's transaction on PostgreSQL, in one message: the service's connections plan every
/// statement for its values (see [`super::connect`]), which for this batch's statements was pure cost, the same plan
/// each time: about 1 ms a batch to plan the claims' six-table join and 0.7 ms to plan the foreign-key checks of
/// the access tokens inserted (measured with `pg_stat_statements`, docs/performance.md). Their generic plans are
/// kept by the writer's held connection.
const BEGIN_REDEEM_POSTGRES: &str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan";

/// One batch of [`SqlStore::code_redeemer`] on PostgreSQL, in four round trips whatever its size: the transaction's
/// start, the codes used with their teachers' claims (one statement), the access tokens with their audit lines (one
/// statement, arrays bound), the commit. SQLite has neither data-modifying `WITH` nor arrays.
async fn redeem_on_postgres(
    conn: &mut sqlx::PgConnection,
    batch: &[Redemption],
) -> StoreResult<Vec<Redeemed>> {
    let now = Utc::now();
    let mut tx = sqlx::Connection::begin_with(conn, BEGIN_REDEEM_POSTGRES).await?;
    // Every code of the batch marked used in one statement, as on SQLite; the claims of each code's teacher come
    // with it (a code that then fails its checks had its claims read for nothing, which costs less than a round
    // trip).
    let codes: Vec<&str> = batch.iter().map(|r| r.code_sha256.as_str()).collect();
    let rows: Vec<UsedWithClaimsRow> = sqlx::query_as(&format!(
        "WITH used AS (UPDATE authorization_codes SET used_at = $2 \
         WHERE code_sha256 = ANY($1) AND used_at IS NULL \
         RETURNING code_sha256, client_id, redirect_uri, nonce, code_challenge, scopes, user_id, auth_time, \
         expires_at) \
         SELECT used.code_sha256, used.client_id AS code_client_id, used.redirect_uri, used.nonce, \
         used.code_challenge, used.scopes AS code_scopes, used.user_id AS code_user_id, used.auth_time, \
         used.expires_at AS code_expires_at, {CLAIMS_COLUMNS}, {CURRENT_KIDS} \
         FROM used LEFT JOIN users u ON u.id = used.user_id {CLAIMS_JOINS}"
    ))
    .bind(&codes)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let mut claims = BatchClaims::default();
    let mut used = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        claims.add(row.claims, row.rs256_kid, row.es256_kid)?;
        used.insert(
            row.code_sha256,
            CodeRow {
                client_id: row.code_client_id,
                redirect_uri: row.redirect_uri,
                nonce: row.nonce,
                code_challenge: row.code_challenge,
                scopes: row.code_scopes,
                user_id: row.code_user_id,
                auth_time: row.auth_time,
                expires_at: row.code_expires_at,
            },
        );
    }
    let checked = check_codes::<sqlx::Postgres>(&mut tx, batch, used, now).await?;
    let (outcomes, tokens) = claims.outcomes(batch, checked);
    if !tokens.is_empty() {
        sqlx::query(
            "WITH tokens AS (INSERT INTO access_tokens \
             (token_sha256, code_sha256, client_id, user_id, scopes, created_at, expires_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], \
             $6::timestamptz[], $7::timestamptz[])) \
             INSERT INTO provider_events (client_id, event, outcome, at) \
             SELECT client_id, 'token', 'tokens', at FROM UNNEST($3::text[], $6::timestamptz[]) AS e(client_id, at)",
        )
        .bind(tokens.iter().map(|t| t.token_sha256.as_str()).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.code_sha256.as_str()).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.client_id.as_str()).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.user_id).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.scopes.to_param()).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.created_at).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.expires_at).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// A code presented when it was not there to use: marks it reused, which revokes every token issued for it, stored
/// already or still on its way ([`AccessToken::revoked`] reads the code's `reused_at`); or it was never issued.
/// The tokens' own rows are not touched: finding them by their code took an index that cost every token's write a
/// random page (migration 0032).
async fn present_again<DB: Dialect>(
    conn: &mut DB::Connection,
    code_sha256: &str,
    now: DateTime<Utc>,
) -> StoreResult<CodeRefusal>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let reused: Option<String> = sqlx::query_scalar(
        "UPDATE authorization_codes SET reused_at = COALESCE(reused_at, $2) WHERE code_sha256 = $1 \
         RETURNING code_sha256",
    )
    .bind(code_sha256)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match reused {
        Some(_) => CodeRefusal::Reused,
        None => CodeRefusal::Unknown,
    })
}
