//! Teacher ID's OpenID provider endpoints (issue 12, DESIGN §7.1): discovery, the JWKS, `/oauth2/authorize`, the
//! "Continue to <service>" button's `/oauth2/continue`, `/oauth2/token` and `/oauth2/userinfo`. See
//! [`crate::provider`] for the keys, the claims and the discovery document, and [`app::domain::provider`] for the
//! rules.
//!
//! A valid authorization request is kept in the session ([`app::ssr::SessionData::client_request`]) while the
//! teacher signs in and goes through the journey; once [`may_return`] says they may go back, a code (60 s, single
//! use, kept as its SHA-256) takes them to the client's redirect URI. Every client request, token and refusal is
//! audited in `provider_events` (the client and the outcome, nothing personal).

use super::assets::sha256_hex;
use super::auth::SIGNED_IN_HOME;
use super::cookies::{is_token, new_secret};
use super::error::AppError;
use crate::db::provider::{
    AuthorizationCode, ClaimsSource, CodeRefusal, NewAuthorizationCode, ProviderEvent, Redeemed,
    Redemption,
};
use crate::db::StoreError;
use crate::provider::{
    client_secret_matches, current_signing_key, discovery, ensure_signing_key, published_keys,
    sign_id_token, signing_key_by_kid, Claims, ProviderError, ACCESS_TOKEN_LIFETIME, CODE_LIFETIME,
    JWKS_MAX_AGE_SECONDS, TOKEN_PATH,
};
use crate::state::AppState;
use app::domain::provider::{
    may_return, sign_in_needed, validate_authorization_request, AuthorizeError, Client, ClientAuth,
    ClientKeys, ClientRequest, ErrorCode, ErrorResponse, MayReturn, Prompt, SignInNeeded, SignedIn,
    TeacherState,
};
use app::ssr::{IdentityStatus, RequestContext, SessionData};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// `GET /.well-known/openid-configuration`.
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(discovery(&state.config.public_base_url)),
    )
        .into_response()
}

/// `GET /.well-known/jwks.json`: our One Login client-assertion key first (rules 1, 2 of the One Login RP notes;
/// One Login reads it here), then the ID-token keys published now: the current one, and during a rollover the one
/// it replaced.
pub async fn jwks(State(state): State<AppState>) -> Result<Response, AppError> {
    let mut keys: Vec<serde_json::Value> = state.one_login.public_jwks()["keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    keys.extend(
        published_keys(&state.store, Utc::now())
            .await
            .map_err(AppError::store("reading the ID-token signing keys"))?,
    );
    Ok((
        [(
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECONDS}"),
        )],
        Json(serde_json::json!({ "keys": keys })),
    )
        .into_response())
}

/// `GET /oauth2/authorize`: every rule of [`app::domain::provider`] is checked, and each refusal is answered as
/// the specification says: a GOV.UK error page when the client or redirect URI cannot be trusted, otherwise the
/// error at the client's redirect URI, `login_required` for `prompt=none` with nobody signed in.
///
/// A valid request is kept in the session (with its `trn_token`, for redemption after identity is verified).
/// Nobody signed in: to One Login. `prompt=login`, or a sign-in older than `max_age`: the signed-in person's part
/// of our session ends (the request is kept) and they sign in again. Signed in already (single sign-on): back to
/// the client with a code at once if they may go back now, otherwise on through the journey.
pub async fn authorize(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    req: Request,
) -> Result<Response, AppError> {
    let params: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut client_ids = params.iter().filter(|(k, _)| k == "client_id");
    let client = match (client_ids.next(), client_ids.next()) {
        (Some((_, id)), None) if could_be_client_id(id) => state
            .store
            .client(id)
            .await
            .map_err(AppError::store("reading a client"))?,
        _ => None,
    };
    let client_id = client.as_ref().map(|c| c.client_id.clone());
    let request = match validate_authorization_request(&params, client.as_ref()) {
        Ok(request) => request,
        Err(AuthorizeError::Untrusted(why)) => {
            tracing::warn!(
                reason = why.reason(),
                "authorization request refused: redirect URI not trusted"
            );
            audit(
                &state,
                client_id.as_deref(),
                "authorize",
                "untrusted_redirect_uri",
            )
            .await;
            return Ok(StatusCode::BAD_REQUEST.into_response());
        }
        Err(AuthorizeError::Redirect(e)) => {
            audit(&state, client_id.as_deref(), "authorize", e.error.as_str()).await;
            return Ok(refuse(&e));
        }
    };
    let Some(client) = client else {
        // The rules accept a request only from a registered client.
        return Err(AppError::BadRequest);
    };
    let now = Utc::now().timestamp();
    let signed_in = ctx.session.user().map(|_| SignedIn {
        // A session from before sign-in times were kept counts as an old sign-in.
        auth_time: ctx.session.lock().data.signed_in_at.unwrap_or(0),
    });
    let needed = match sign_in_needed(&request, signed_in, now) {
        Ok(needed) => needed,
        Err(e) => {
            audit(
                &state,
                Some(&client.client_id),
                "authorize",
                e.error.as_str(),
            )
            .await;
            return Ok(refuse(&e));
        }
    };
    let kept = ClientRequest::new(&request, &client, now);
    ctx.session.update(|data| {
        data.client_request = Some(kept);
        if let Some(token) = request.trn_token.clone() {
            data.trn_token = Some(token);
        }
    });
    match needed {
        SignInNeeded::Yes => {
            if signed_in.is_some() {
                // Signed out of Teacher ID, keeping only what this request brought, under a new session id.
                ctx.session.update(|data| {
                    *data = SessionData {
                        client_request: data.client_request.take(),
                        trn_token: data.trn_token.take(),
                        ..SessionData::default()
                    }
                });
                ctx.session.rotate_id();
            }
            audit(&state, Some(&client.client_id), "authorize", "sign_in").await;
            // A service that offers DfE Identity accounts: the choice of the two ways in first (DESIGN §7.3).
            let to = match client.sign_in {
                app::domain::provider::SignInPolicy::OneLoginOrAccount => {
                    app::routes::ACCOUNT_SIGN_IN
                }
                app::domain::provider::SignInPolicy::OneLogin => app::routes::SIGN_IN,
            };
            Ok(Redirect::to(to).into_response())
        }
        SignInNeeded::No => match return_if_ready(&state, &ctx, "authorize").await? {
            Some(back) => Ok(back),
            None if request.prompt == Prompt::None => {
                ctx.session.update(|data| data.client_request = None);
                audit(
                    &state,
                    Some(&client.client_id),
                    "authorize",
                    "interaction_required",
                )
                .await;
                Ok(refuse(&ErrorResponse {
                    redirect_uri: request.redirect_uri,
                    error: ErrorCode::InteractionRequired,
                    description: "The teacher has more to do at Teacher ID first",
                    state: Some(request.state),
                }))
            }
            None => {
                audit(&state, Some(&client.client_id), "authorize", "journey").await;
                Ok(Redirect::to(SIGNED_IN_HOME).into_response())
            }
        },
    }
}

/// Whether `id` is worth looking up as a client id: no longer than any we register, and without control
/// characters, which no client id has and PostgreSQL cannot even be asked about (a NUL in a text parameter is an
/// error there, which would answer a bad request with a 503).
fn could_be_client_id(id: &str) -> bool {
    id.len() <= 100 && !id.chars().any(char::is_control)
}

/// `POST /oauth2/authorize`: the same request sent as a form, which OpenID Connect Core (§3.1.2.1) lets a client
/// do. It is answered with a 303 to the same parameters as a GET, in the order sent (repeats kept, so the GET
/// refuses them as it would): the GET is then checked as any other, and, being a top-level GET, carries the
/// teacher's `SameSite=Lax` session cookie, which a post from another site does not. Nothing is stored or changed
/// here, so it needs neither our origin nor a CSRF token ([`super::session`]).
pub async fn authorize_post(axum::Form(params): axum::Form<Vec<(String, String)>>) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("{}?{query}", crate::provider::AUTHORIZE_PATH),
        )],
    )
        .into_response()
}

/// The error at the client's redirect URI (RFC 6749 §4.1.2.1: a 302 with the error in the query).
fn refuse(e: &ErrorResponse) -> Response {
    tracing::info!(
        error = e.error.as_str(),
        "authorization request answered with an error"
    );
    (StatusCode::FOUND, [(header::LOCATION, e.location())]).into_response()
}

/// Records what a client asked and what it was answered, without personal data. An audit that cannot be written is
/// logged and does not change the answer: the log line then stands in for it.
async fn audit(state: &AppState, client_id: Option<&str>, event: &str, outcome: &str) {
    let line = ProviderEvent {
        client_id: client_id.map(str::to_string),
        event: event.into(),
        outcome: outcome.into(),
    };
    if let Err(e) = state.store.record_provider_event(&line, Utc::now()).await {
        tracing::error!(error = %e, event, outcome, "could not audit a provider event");
    }
}

/// Issues a code for the client request kept in the session and sends the teacher back to the client with it,
/// if they may go back now ([`may_return`], with the client and the teacher's standing read afresh). `None` when
/// there is no client request or the journey has more to show them first.
pub(super) async fn return_if_ready(
    state: &AppState,
    ctx: &RequestContext,
    event: &'static str,
) -> Result<Option<Response>, AppError> {
    let Some(request) = ctx.session.lock().data.client_request.clone() else {
        return Ok(None);
    };
    if !request.is_live(Utc::now().timestamp()) {
        // Too old for the service to still be waiting for it: forgotten, and the teacher stays with us.
        ctx.session.update(|data| data.client_request = None);
        return Ok(None);
    }
    let (position, user) = super::connect::position(state, ctx).await?;
    let Some(user) = user else {
        return Ok(None);
    };
    let client = state
        .store
        .client(&request.client_id)
        .await
        .map_err(AppError::store("reading a client"))?;
    let Some(client) = client.filter(|c| c.enabled) else {
        // Disabled (or removed) since the request came: the service is told it may not ask.
        ctx.session.update(|data| data.client_request = None);
        audit(
            state,
            Some(&request.client_id),
            event,
            "unauthorized_client",
        )
        .await;
        return Ok(Some(refuse(&ErrorResponse {
            redirect_uri: request.redirect_uri,
            error: ErrorCode::UnauthorizedClient,
            description: "The client is disabled",
            state: Some(request.state),
        })));
    };
    let verified = matches!(user.identity, IdentityStatus::Verified(_));
    let teacher = TeacherState::at(&position, verified)
        .signed_in_with_account(user.is_account())
        .with_no_record_found(ctx.session.lock().data.account_has_no_record());
    if may_return(client.trn, &request.scopes, &teacher) != MayReturn::Now {
        return Ok(None);
    }
    let now = Utc::now();
    let (code, code_sha256) = new_secret();
    let auth_time = ctx
        .session
        .lock()
        .data
        .signed_in_at
        .unwrap_or(now.timestamp());
    state
        .store
        .add_authorization_code(&NewAuthorizationCode {
            code_sha256,
            code: AuthorizationCode {
                client_id: request.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                nonce: request.nonce.clone(),
                code_challenge: request.code_challenge.clone(),
                scopes: request.scopes.clone(),
                user_id: user.user_id,
                auth_time,
                expires_at: now + CODE_LIFETIME,
            },
            created_at: now,
        })
        .await
        .map_err(AppError::store("storing an authorization code"))?;
    ctx.session.update(|data| data.client_request = None);
    audit(state, Some(&request.client_id), event, "code").await;
    Ok(Some(
        (
            StatusCode::FOUND,
            [(header::LOCATION, request.code_location(&code))],
        )
            .into_response(),
    ))
}

/// `POST /oauth2/continue`: the "Continue to <service>" button (the session middleware has checked its CSRF
/// token). Back to the service with a code when the teacher may go back now; otherwise on through the journey.
pub async fn continue_to_client(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, AppError> {
    match return_if_ready(&state, &ctx, "continue").await? {
        Some(back) => Ok(back),
        None if ctx.session.user().is_none() => {
            Ok(Redirect::to(app::routes::SIGN_IN).into_response())
        }
        None => Ok(Redirect::to(SIGNED_IN_HOME).into_response()),
    }
}

/// The largest body the token endpoint reads: its parameters and a client assertion need a few kilobytes.
pub const TOKEN_BODY_LIMIT: usize = 16 * 1024;

/// An error answer of the token or userinfo endpoint (RFC 6749 §5.2, RFC 6750 §3), never cached.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    /// `WWW-Authenticate`, for a 401.
    challenge: Option<&'static str>,
}

impl OAuthError {
    fn bad(error: &'static str, description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description,
            challenge: None,
        }
    }

    fn invalid_request(description: &'static str) -> Self {
        Self::bad("invalid_request", description)
    }

    fn invalid_grant(description: &'static str) -> Self {
        Self::bad("invalid_grant", description)
    }

    /// RFC 6749 §5.2: 401 with a challenge for the scheme the client tried (Basic when it tried none).
    fn invalid_client(description: &'static str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description,
            challenge: Some("Basic realm=\"Teacher ID\""),
        }
    }

    /// RFC 6750 §3.1.
    fn invalid_token(description: &'static str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description,
            challenge: Some("Bearer error=\"invalid_token\""),
        }
    }

    /// The database could not answer: logged here, once.
    fn unavailable(doing: &'static str) -> impl FnOnce(StoreError) -> Self {
        move |e| {
            tracing::error!(error = %e, doing, "provider endpoint could not reach the database");
            Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "The service cannot answer now; try again later",
                challenge: None,
            }
        }
    }

    pub fn too_large() -> Response {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error: "invalid_request",
            description: "The request body is too large",
            challenge: None,
        }
        .into_response()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(serde_json::json!({
                "error": self.error,
                "error_description": self.description,
            })),
        )
            .into_response();
        no_store(&mut res);
        if let Some(challenge) = self.challenge {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        res
    }
}

fn no_store(res: &mut Response) {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    /// Serialised as its compact form, straight into the answer (its `to_string` goes through a JSON value).
    id_token: crate::provider::SignedIdToken,
    scope: String,
}

/// The token request's parameters, each at most once (RFC 6749 §3.2).
struct TokenParams(HashMap<String, String>);

impl TokenParams {
    fn read(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.split(';').next().is_some_and(|t| {
                    t.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        if !form {
            return Err(OAuthError::invalid_request(
                "The body must be application/x-www-form-urlencoded",
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body).into_owned() {
            if params.insert(name, value).is_some() {
                return Err(OAuthError::invalid_request(
                    "A parameter was sent more than once",
                ));
            }
        }
        Ok(Self(params))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// How the client authenticated (RFC 6749 §2.3, OIDC Core §9).
enum ClientCredentials {
    Secret {
        client_id: String,
        secret: String,
    },
    Assertion {
        client_id: String,
        assertion: String,
    },
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The client's credentials from the `Authorization: Basic` header or the body: exactly one way.
fn credentials(headers: &HeaderMap, params: &TokenParams) -> Result<ClientCredentials, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(basic_credentials(value).ok_or_else(|| {
            OAuthError::invalid_client(
                "The Authorization header is not HTTP Basic client credentials",
            )
        })?),
    };
    let post = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let body_client_id = params.get("client_id");
    match (basic, post, assertion) {
        (Some((client_id, secret)), None, None) => {
            if body_client_id.is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the Authorization header's",
                ));
            }
            Ok(ClientCredentials::Secret { client_id, secret })
        }
        (None, Some(secret), None) => Ok(ClientCredentials::Secret {
            client_id: body_client_id
                .ok_or_else(|| OAuthError::invalid_client("client_secret without client_id"))?
                .to_string(),
            secret: secret.to_string(),
        }),
        (None, None, Some(assertion)) => {
            if params.get("client_assertion_type") != Some(JWT_BEARER) {
                return Err(OAuthError::invalid_client(
                    "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
            }
            // Which client it claims to be, to find its keys; nothing is trusted until the signature is.
            let claimed: jsonwebtoken::TokenData<AssertionClaims> =
                jsonwebtoken::dangerous::insecure_decode(assertion)
                    .map_err(|_| OAuthError::invalid_client("client_assertion is not a JWT"))?;
            let client_id = claimed.claims.sub;
            if body_client_id.is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_client(
                    "client_id differs from the client assertion's subject",
                ));
            }
            Ok(ClientCredentials::Assertion {
                client_id,
                assertion: assertion.to_string(),
            })
        }
        (None, None, None) => Err(OAuthError::invalid_client("No client authentication")),
        _ => Err(OAuthError::invalid_request(
            "More than one client authentication method was used",
        )),
    }
}

/// `Basic base64(urlencode(client_id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(value: &HeaderValue) -> Option<(String, String)> {
    use base64::Engine;
    let encoded = value.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret))).filter(|(id, _)| !id.is_empty())
}

/// The claims of a client assertion (RFC 7523 §3) we read.
#[derive(Debug, Deserialize)]
struct AssertionClaims {
    sub: String,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
}

/// How long a client's JWKS fetched from its URL is used before it is fetched again: every token request of such
/// a client needs it, so it is not fetched each time.
const CLIENT_JWKS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(300);
/// A key id not in the kept JWKS fetches it again (the client rotated), but not more often than this.
const CLIENT_JWKS_MIN_REFETCH: std::time::Duration = std::time::Duration::from_secs(30);
/// The most of a client's JWKS read, declared or not.
const CLIENT_JWKS_MAX_BYTES: usize = 256 * 1024;

type JwksByUrl = HashMap<
    String,
    (
        std::time::Instant,
        std::sync::Arc<jsonwebtoken::jwk::JwkSet>,
    ),
>;

/// A client's JWKS from its registered URL: the copy fetched within [`CLIENT_JWKS_MAX_AGE`], unless it lacks
/// `kid` and is older than [`CLIENT_JWKS_MIN_REFETCH`]; otherwise fetched (and kept).
async fn client_jwks(
    url: &str,
    kid: Option<&str>,
) -> Option<std::sync::Arc<jsonwebtoken::jwk::JwkSet>> {
    static KEPT: std::sync::OnceLock<std::sync::Mutex<JwksByUrl>> = std::sync::OnceLock::new();
    let kept = KEPT.get_or_init(Default::default);
    let cached = kept.lock().ok()?.get(url).cloned();
    if let Some((fetched, jwks)) = cached {
        let age = fetched.elapsed();
        let has_kid = kid.is_none_or(|kid| jwks.find(kid).is_some());
        if age < CLIENT_JWKS_MAX_AGE && (has_kid || age < CLIENT_JWKS_MIN_REFETCH) {
            return Some(jwks);
        }
    }
    let jwks = std::sync::Arc::new(fetch_jwks(url).await?);
    kept.lock()
        .ok()?
        .insert(url.to_string(), (std::time::Instant::now(), jwks.clone()));
    Some(jwks)
}

/// Fetches a client's JWKS from its registered URL: short timeouts, no redirects, a bounded body.
async fn fetch_jwks(url: &str) -> Option<jsonwebtoken::jwk::JwkSet> {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let http = HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("a plain HTTP client builds")
    });
    let mut res = http.get(url).send().await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    // Read in chunks so a body without a declared length is bounded too.
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.ok()? {
        if body.len() + chunk.len() > CLIENT_JWKS_MAX_BYTES {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).ok()
}

/// Checks a `private_key_jwt` client assertion (RFC 7523 §3): signed by one of the client's keys (RS256 or
/// ES256), `iss` = `sub` = the client id, `aud` our token endpoint or issuer, unexpired, with a `jti` not seen
/// before.
async fn check_assertion(
    state: &AppState,
    client_id: &str,
    keys: &ClientKeys,
    assertion: &str,
) -> Result<(), OAuthError> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let bad = || OAuthError::invalid_client("The client assertion could not be verified");
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| bad())?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(OAuthError::invalid_client(
            "The client assertion must be signed RS256 or ES256",
        ));
    }
    let jwks = match keys {
        ClientKeys::Jwks(json) => serde_json::from_str(json).ok().map(std::sync::Arc::new),
        ClientKeys::JwksUri(url) => client_jwks(url, header.kid.as_deref()).await,
    }
    .ok_or_else(|| OAuthError::invalid_client("The client's keys could not be read"))?;
    let base = &state.config.public_base_url;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[format!("{base}{TOKEN_PATH}"), base.clone()]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_string());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let candidates: Vec<&jsonwebtoken::jwk::Jwk> = match &header.kid {
        Some(kid) => jwks.find(kid).into_iter().collect(),
        None => jwks.keys.iter().collect(),
    };
    let claims = candidates
        .into_iter()
        .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
        .find_map(|key| jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation).ok())
        .ok_or_else(bad)?
        .claims;
    let (Some(jti), Some(exp)) = (
        claims.jti.filter(|j| !j.is_empty() && j.len() <= 256),
        claims.exp,
    ) else {
        return Err(OAuthError::invalid_client(
            "The client assertion needs a jti",
        ));
    };
    let expires_at = chrono::DateTime::from_timestamp(exp, 0).ok_or_else(bad)?;
    let first = state
        .store
        .first_use_of_client_assertion(client_id, &jti, expires_at, Utc::now())
        .await
        .map_err(OAuthError::unavailable("recording a client assertion"))?;
    if !first {
        return Err(OAuthError::invalid_client(
            "The client assertion was used before",
        ));
    }
    Ok(())
}

/// The client the credentials authenticate, enabled.
async fn authenticate(
    state: &AppState,
    credentials: &ClientCredentials,
) -> Result<Client, OAuthError> {
    let client_id = match credentials {
        ClientCredentials::Secret { client_id, .. }
        | ClientCredentials::Assertion { client_id, .. } => client_id,
    };
    let client = if could_be_client_id(client_id) {
        state
            .store
            .client(client_id)
            .await
            .map_err(OAuthError::unavailable("reading a client"))?
    } else {
        None
    };
    let Some(client) = client.filter(|c| c.enabled) else {
        return Err(OAuthError::invalid_client("Unknown or disabled client"));
    };
    match (credentials, &client.auth) {
        (ClientCredentials::Secret { secret, .. }, ClientAuth::ClientSecret { .. })
            if client_secret_matches(&client.auth, secret) =>
        {
            Ok(client)
        }
        (ClientCredentials::Assertion { assertion, .. }, ClientAuth::PrivateKeyJwt(keys)) => {
            check_assertion(state, &client.client_id, keys, assertion).await?;
            Ok(client)
        }
        _ => Err(OAuthError::invalid_client("Client authentication failed")),
    }
}

/// `POST /oauth2/token` (RFC 6749 §3.2, §4.1.3, §5; OIDC Core §3.1.3): the authorization code grant only. The
/// client authenticates (secret, Basic or in the body, or a `private_key_jwt` assertion); the code must be one we
/// issued to it, unused, under a minute old, for the same redirect URI, and the PKCE verifier must answer its
/// challenge. A code presented a second time is refused and every token issued for it revoked.
pub async fn token(State(state): State<AppState>, req: Request) -> Response {
    let mut client_id = None;
    let answer = exchange(&state, req, &mut client_id).await;
    // Tokens issued were audited with the access token's write; a refusal is audited here.
    if let Err(e) = &answer {
        audit(&state, client_id.as_deref(), "token", e.error).await;
    }
    match answer {
        Ok(tokens) => {
            let mut res = Json(tokens).into_response();
            no_store(&mut res);
            res
        }
        Err(e) => {
            tracing::info!(
                error = e.error,
                reason = e.description,
                "token request refused"
            );
            e.into_response()
        }
    }
}

async fn exchange(
    state: &AppState,
    req: Request,
    authenticated: &mut Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, TOKEN_BODY_LIMIT)
        .await
        .map_err(|_| OAuthError::invalid_request("The request body is too large or unreadable"))?;
    let params = TokenParams::read(&parts.headers, &body)?;
    let client = authenticate(state, &credentials(&parts.headers, &params)?).await?;
    *authenticated = Some(client.client_id.clone());
    match params.get("grant_type") {
        None => return Err(OAuthError::invalid_request("grant_type is missing")),
        Some("authorization_code") => {}
        Some(_) => {
            return Err(OAuthError::bad(
                "unsupported_grant_type",
                "Only the authorization_code grant is supported",
            ))
        }
    }
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is missing"))?;
    let verifier = params
        .get("code_verifier")
        .ok_or_else(|| OAuthError::invalid_request("code_verifier is missing"))?;
    let now = Utc::now();
    let alg = client.id_token_alg;
    let (access_token, token_sha256) = new_secret();
    // One write shared with the other token requests of the moment: the code used (once), checked, the teacher's
    // claims and the current key's `kid` read, and the access token stored with the audit line of its issue. A
    // reuse of the code revokes this token whenever it comes (`authorization_codes.reused_at`).
    let redeemed = state
        .store
        .redeem_authorization_code(Redemption {
            code_sha256: sha256_hex(code),
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_string(),
            code_verifier: verifier.to_string(),
            now,
            token_sha256,
            token_expires_at: now + ACCESS_TOKEN_LIFETIME,
            alg,
        })
        .await
        .map_err(OAuthError::unavailable("exchanging a code"))?;
    let (issued, source, kid) = match redeemed {
        Redeemed::Issued { code, claims, kid } => (code, claims, kid),
        Redeemed::Refused(refusal) => return Err(code_refused(refusal)),
    };
    let claims = claims_for(state, issued.user_id, &issued.scopes, &source).await?;
    let auth_time = chrono::DateTime::from_timestamp(issued.auth_time, 0).unwrap_or(now);
    let id_token_claims = claims
        .id_token_claims(
            &state.config.public_base_url,
            &client.client_id,
            &issued.nonce,
            auth_time,
            now,
        )
        .map_err(signing_failed)?;
    // Signed after the write: an ID token that cannot be signed (no key could be made) leaves a stored access
    // token that was never handed out, so no one can use it.
    let key = match signing_key_by_kid(&state.store, alg, kid.as_deref()).await {
        Err(ProviderError::NoCurrentKey) => {
            ensure_signing_key(&state.store, now)
                .await
                .map_err(signing_failed)?;
            current_signing_key(&state.store, alg).await
        }
        other => other,
    }
    .map_err(signing_failed)?;
    let id_token = sign_id_token(id_token_claims, &key).map_err(signing_failed)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_LIFETIME.num_seconds(),
        id_token,
        scope: issued.scopes.to_param(),
    })
}

/// The token endpoint's answer to a code it refused.
fn code_refused(refusal: CodeRefusal) -> OAuthError {
    OAuthError::invalid_grant(match refusal {
        CodeRefusal::Unknown => "Unknown code",
        CodeRefusal::Reused => {
            tracing::warn!("an authorization code was presented twice; its tokens are revoked");
            "The code has been used already"
        }
        CodeRefusal::OtherClient => "The code was issued to another client",
        CodeRefusal::Expired => "The code has expired",
        CodeRefusal::RedirectUri => "redirect_uri differs from the authorization request's",
        CodeRefusal::Verifier => "code_verifier does not match the code_challenge",
        CodeRefusal::UserGone => "The teacher is no longer known",
    })
}

fn signing_failed(e: ProviderError) -> OAuthError {
    tracing::error!(error = %e, "could not sign an ID token");
    OAuthError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        error: "temporarily_unavailable",
        description: "The service cannot answer now; try again later",
        challenge: None,
    }
}

/// The claims of `source`'s teacher for `scopes`; their `sub` is made the first time a service asks.
async fn claims_for(
    state: &AppState,
    user_id: i64,
    scopes: &app::domain::provider::Scopes,
    source: &ClaimsSource,
) -> Result<Claims, OAuthError> {
    let sub = match &source.sub {
        Some(sub) => sub.clone(),
        None => state
            .store
            .provider_subject(user_id, Utc::now())
            .await
            .map_err(OAuthError::unavailable("reading the teacher's subject"))?,
    };
    Ok(Claims::of(sub, scopes, source))
}

/// `GET|POST /oauth2/userinfo` with `Authorization: Bearer <access token>` (OIDC Core §5.3): the claims of the
/// scopes the token was issued for, as they are now. A missing, unknown, expired or revoked token is 401 with
/// `WWW-Authenticate: Bearer` (and `error="invalid_token"` when a token was sent, RFC 6750 §3.1).
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut client_id = None;
    let answer = userinfo_claims(&state, &headers, &mut client_id).await;
    let outcome = match &answer {
        Ok(_) => "claims",
        Err(e) => e.error,
    };
    audit(&state, client_id.as_deref(), "userinfo", outcome).await;
    match answer {
        Ok(claims) => {
            let mut res = Json(claims).into_response();
            no_store(&mut res);
            res
        }
        Err(e) => e.into_response(),
    }
}

async fn userinfo_claims(
    state: &AppState,
    headers: &HeaderMap,
    client_id: &mut Option<String>,
) -> Result<Claims, OAuthError> {
    if !headers.contains_key(header::AUTHORIZATION) {
        return Err(OAuthError {
            challenge: Some("Bearer"),
            ..OAuthError::invalid_token("No access token")
        });
    }
    let token = crate::api::bearer_key(headers)
        .filter(|t| is_token(t))
        .ok_or_else(|| OAuthError::invalid_token("Not an access token"))?;
    // The token and what its teacher's claims are made of, in one statement.
    let (stored, source) = state
        .store
        .userinfo_source(&sha256_hex(token))
        .await
        .map_err(OAuthError::unavailable("reading an access token"))?
        .ok_or_else(|| OAuthError::invalid_token("Unknown access token"))?;
    *client_id = Some(stored.client_id.clone());
    if stored.revoked {
        return Err(OAuthError::invalid_token("The access token was revoked"));
    }
    if stored.expires_at <= Utc::now() {
        return Err(OAuthError::invalid_token("The access token has expired"));
    }
    let source =
        source.ok_or_else(|| OAuthError::invalid_token("The teacher is no longer known"))?;
    claims_for(state, stored.user_id, &stored.scopes, &source).await
}

/// `GET /oauth2/logout` (OpenID Connect RP-Initiated Logout 1.0): a service signs the teacher out of Teacher ID.
///
/// `id_token_hint` (an ID token we issued, expired or not) says whom and for which client; `client_id` may say the
/// client instead. `post_logout_redirect_uri`, when given, must be one the client registered, and gets `state`
/// back. A hint for the teacher signed in here ends our session and then One Login's (the sign-out of
/// [`super::auth`]), ending at the client's URI. Without such a hint a signed-in teacher is asked first ("Sign
/// out?"), since any site could send them here. Nobody signed in: straight to the client's URI. A hint we did not
/// sign, a client we do not know or a URI it did not register gets the GOV.UK error page and no redirect.
pub async fn logout(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    req: Request,
) -> Result<Response, AppError> {
    let mut params: HashMap<String, String> = HashMap::new();
    for (name, value) in form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        if value.len() > 8 * 1024
            || params
                .insert(name.into_owned(), value.into_owned())
                .is_some()
        {
            return Ok(logout_refused(&state, None, "invalid_request").await);
        }
    }
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(token) => match verify_hint(&state, token).await? {
            Some(hint) => Some(hint),
            None => return Ok(logout_refused(&state, None, "invalid_id_token_hint").await),
        },
    };
    let client_id = match (params.get("client_id"), &hint) {
        (Some(id), Some(hint)) if *id != hint.client_id => {
            return Ok(logout_refused(&state, None, "client_id_differs").await)
        }
        (Some(id), _) => Some(id.clone()),
        (None, Some(hint)) => Some(hint.client_id.clone()),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) if could_be_client_id(id) => state
            .store
            .client(id)
            .await
            .map_err(AppError::store("reading a client"))?,
        _ => None,
    };
    let back_to = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => match &client {
            Some(client) if client.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                Some(post_logout_location(uri, params.get("state")))
            }
            _ => return Ok(logout_refused(&state, client_id.as_deref(), "unregistered_uri").await),
        },
    };
    let Some(user) = ctx.session.user() else {
        audit(&state, client_id.as_deref(), "logout", "not_signed_in").await;
        return Ok(
            Redirect::to(back_to.as_deref().unwrap_or(app::routes::SIGNED_OUT_DONE))
                .into_response(),
        );
    };
    let ours = state
        .store
        .provider_subject(user.user_id, Utc::now())
        .await
        .map_err(AppError::store("reading the teacher's subject"))?;
    if hint.as_ref().is_none_or(|hint| hint.sub != ours) {
        audit(&state, client_id.as_deref(), "logout", "confirm").await;
        return Ok(Redirect::to(super::auth::SIGN_OUT_CONFIRM_PATH).into_response());
    }
    audit(&state, client_id.as_deref(), "logout", "signed_out").await;
    let response = super::auth::end_session(&state, &ctx).await;
    // Kept in the new session for the page One Login sends the browser back to.
    ctx.session
        .update(|data| data.post_logout_redirect = back_to);
    Ok(response)
}

/// `POST /oauth2/logout`: the same request as a form (RP-Initiated Logout 1.0 §2), answered with a 303 to the
/// same parameters as a GET, which carries the teacher's `SameSite=Lax` cookie.
pub async fn logout_post(axum::Form(params): axum::Form<Vec<(String, String)>>) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("{}?{query}", app::routes::OAUTH_LOGOUT),
        )],
    )
        .into_response()
}

async fn logout_refused(state: &AppState, client_id: Option<&str>, why: &str) -> Response {
    tracing::warn!(reason = why, "logout request refused");
    audit(state, client_id, "logout", why).await;
    StatusCode::BAD_REQUEST.into_response()
}

/// The registered post-logout URI with `state` added to its query, when one was sent.
fn post_logout_location(uri: &str, state: Option<&String>) -> String {
    match state {
        None => uri.to_string(),
        Some(state) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("state", state)
                .finish();
            let separator = if uri.contains('?') { '&' } else { '?' };
            format!("{uri}{separator}{query}")
        }
    }
}

/// Who an `id_token_hint` names.
struct Hint {
    client_id: String,
    sub: String,
}

#[derive(Deserialize)]
struct HintClaims {
    sub: String,
    aud: serde_json::Value,
}

/// The client and subject of an ID token we signed with a key still published, expired or not (a hint may be old);
/// `None` for anything else.
async fn verify_hint(state: &AppState, token: &str) -> Result<Option<Hint>, AppError> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let keys = published_keys(&state.store, Utc::now())
        .await
        .map_err(AppError::store("reading the ID-token signing keys"))?;
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Ok(None);
    };
    // Signed as its client asked: RS256 or ES256, and only with a key published for that algorithm.
    let alg = match header.alg {
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        _ => return Ok(None),
    };
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_issuer(&[&state.config.public_base_url]);
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    let claims = keys
        .iter()
        .filter(|jwk| jwk["alg"].as_str() == Some(alg))
        .filter(|jwk| header.kid.is_none() || jwk["kid"].as_str() == header.kid.as_deref())
        .filter_map(|jwk| serde_json::from_value::<jsonwebtoken::jwk::Jwk>(jwk.clone()).ok())
        .filter_map(|jwk| DecodingKey::from_jwk(&jwk).ok())
        .find_map(|key| jsonwebtoken::decode::<HintClaims>(token, &key, &validation).ok())
        .map(|data| data.claims);
    Ok(claims.and_then(|c| {
        let client_id = match c.aud {
            serde_json::Value::String(aud) => Some(aud),
            serde_json::Value::Array(auds) => match auds.as_slice() {
                [serde_json::Value::String(aud)] => Some(aud.clone()),
                _ => None,
            },
            _ => None,
        }?;
        Some(Hint {
            client_id,
            sub: c.sub,
        })
    }))
}
