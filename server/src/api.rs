//! The API other DfE services call (DESIGN §7.2), authenticated with API keys: `POST /api/v1/trn-tokens` and
//! `PUT /api/v1/teachers/{trn}/qts`.
//!
//! Every call goes through the same checks first ([`accept`]: the key and its scope, the client's rate limit, the
//! content type and the body's size), and every call is audited ([`audit`]: `api_calls`, the client, the operation
//! and the status, nothing personal). Every answer but a success is an RFC 9457 problem-details JSON
//! (`application/problem+json`), naming the field when one is wrong.

use crate::db::account_records::NOBODY_ASKING;
use crate::db::api::{ApiCall, ApiClient, NewQtsAward, NewTrnToken, QtsAwardOutcome};
use crate::db::support::NewEmail;
use crate::db::{DynStore, StoreError};
use crate::http::assets::sha256_hex;
use crate::http::cookies::new_secret;
use crate::state::AppState;
use app::domain::records::{RecordStatus, TeachingRecord};
use app::domain::support::{
    qts_awarded_email, qts_awarded_personalisation, EmailTemplate, SignInKind,
};
use app::domain::trn_tokens::{self, ApiScope, QtsAwardRequest, TrnTokenRequest};
use app::domain::validation::is_email_address;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{OpenApi, ToSchema};

/// Where the API for other services' servers lives. Not all of `/api/`: the site's own server functions are
/// there too (`server/src/http/server_fns.rs`), and they need the visitor's session and CSRF token.
pub const API_PREFIX: &str = "/api/v1/";
pub const TRN_TOKENS_PATH: &str = "/api/v1/trn-tokens";
/// `PUT`: a QTS award (axum's path syntax; the OpenAPI description writes it the same way).
pub const QTS_PATH: &str = "/api/v1/teachers/{trn}/qts";

/// The largest body the API reads: a TRN and an email need a few hundred bytes.
pub const API_BODY_LIMIT: usize = 16 * 1024;

/// The rate-limit window: the configured limit is per minute.
const RATE_WINDOW_SECONDS: i64 = 60;

/// `POST /api/v1/trn-tokens`'s body.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTrnToken {
    /// The teacher's TRN: exactly 7 digits.
    #[schema(pattern = "^[0-9]{7}$", example = "1234567")]
    pub trn: String,
    /// The email address the token is for (at most 254 characters).
    #[schema(example = "teacher@school.example", max_length = 254)]
    pub email: String,
}

impl CreateTrnToken {
    const FIELDS: &'static [&'static str] = &["trn", "email"];
}

/// `POST /api/v1/trn-tokens`'s answer (201).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrnTokenCreated {
    pub trn: String,
    pub email: String,
    /// The token: 256 random bits, base64url. Shown once; we keep only its SHA-256.
    pub trn_token: String,
    /// When it stops working (RFC 3339, UTC, to the second).
    pub expires_utc: String,
}

/// `PUT /api/v1/teachers/{trn}/qts`'s body.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwardQts {
    /// The day QTS was awarded, `YYYY-MM-DD`: not in the future, not before 1900.
    #[schema(format = Date, example = "2026-07-15")]
    pub awarded: String,
}

impl AwardQts {
    const FIELDS: &'static [&'static str] = &["awarded"];
}

/// `PUT /api/v1/teachers/{trn}/qts`'s answer: 201 when QTS was recorded by this call, 200 when it already was
/// (on that day), with the same fields.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QtsAwarded {
    pub trn: String,
    pub awarded: NaiveDate,
    /// Whether the teacher was emailed a sign-in link for this award: false when the record has no email address,
    /// or when the record already held this award from its source.
    pub email_sent: bool,
}

/// An RFC 9457 problem: `about:blank` with the status's own title, a `detail` for the caller's developer and,
/// for a bad field, `field` (an extension member) naming it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The field (or header) that is wrong, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An RFC 9457 problem answer (see [`Problem`]).
pub fn problem(status: StatusCode, detail: &str, field: Option<&str>) -> Response {
    let body = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail: detail.into(),
        field: field.map(String::from),
    };
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        serde_json::to_string(&body).expect("a problem serialises"),
    )
        .into_response()
}

/// A JSON answer.
fn json_answer(status: StatusCode, body: &impl Serialize) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        serde_json::to_string(body).expect("an answer serialises"),
    )
        .into_response()
}

/// The 413 for a body over the limit: problem JSON on the API, the bare status elsewhere (the error pages
/// middleware puts a GOV.UK page there).
pub fn too_large(path: &str) -> Response {
    if path.starts_with(API_PREFIX) {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is too large",
            None,
        )
    } else {
        StatusCode::PAYLOAD_TOO_LARGE.into_response()
    }
}

fn unauthorized(detail: &str, key_given: bool) -> Response {
    let mut res = problem(StatusCode::UNAUTHORIZED, detail, None);
    // RFC 6750 §3: a request without credentials gets the bare challenge; a wrong key `invalid_token`.
    let challenge = if key_given {
        "Bearer error=\"invalid_token\""
    } else {
        "Bearer"
    };
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    res
}

/// The key from `Authorization: Bearer <key>` (the scheme case-insensitively, RFC 9110 §11.1).
pub(crate) fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// A refusal, with the client it is audited against (none when the key was missing or wrong).
type Refused = (Option<i64>, Response);

/// The API client the request's key belongs to, if it may use `scope`; otherwise the refusal (401 or 403). The
/// client is returned with a 403 so the call is audited against it.
async fn authenticate(
    store: &DynStore,
    headers: &HeaderMap,
    scope: ApiScope,
) -> Result<ApiClient, Refused> {
    let Some(key) = bearer_key(headers) else {
        return Err((
            None,
            unauthorized("An API key is needed: Authorization: Bearer <key>", false),
        ));
    };
    match store.api_client_by_key(&sha256_hex(key)).await {
        Ok(Some(client)) if client.enabled => {
            if client.scopes.contains(&scope) {
                Ok(client)
            } else {
                Err((
                    Some(client.id),
                    problem(
                        StatusCode::FORBIDDEN,
                        &format!("This API key does not have the scope {}", scope.as_str()),
                        None,
                    ),
                ))
            }
        }
        Ok(_) => Err((
            None,
            unauthorized("The API key is not valid or has been disabled", true),
        )),
        Err(e) => Err((None, store_failed(e))),
    }
}

fn store_failed(e: StoreError) -> Response {
    tracing::error!(error = %e, "API call failed in storage");
    let status = if e.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    problem(status, "Something went wrong; try again later", None)
}

/// Counts the call against the client's window, across every instance; a 429 with `Retry-After` when it is over
/// the limit. The count is written a share of calls at a time ([`crate::db::api::rate_share`]), not per call.
async fn rate_limit(state: &AppState, client_id: i64, now: DateTime<Utc>) -> Result<(), Response> {
    let within = state
        .store
        .take_api_call(
            client_id,
            state.config.api_rate_limit_per_minute,
            RATE_WINDOW_SECONDS,
            now,
        )
        .await
        .map_err(store_failed)?;
    if within {
        return Ok(());
    }
    let retry_after = RATE_WINDOW_SECONDS - now.timestamp().rem_euclid(RATE_WINDOW_SECONDS);
    let mut res = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests for this API key; try again after Retry-After seconds",
        None,
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    Err(res)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn bad_request(detail: &str, field: Option<&str>) -> Response {
    problem(StatusCode::BAD_REQUEST, detail, field)
}

/// A call that passed the checks every call makes: who called, and the body it sent.
struct Accepted {
    client: ApiClient,
    body: Bytes,
}

impl Accepted {
    /// A refusal of this call, audited against its client.
    fn refuse(&self, response: Response) -> Refused {
        (Some(self.client.id), response)
    }
}

/// The checks every API call makes first, in this order: the key (401) and its `scope` (403), the client's rate
/// limit (429), the content type (400, only `application/json`) and the body's size (413).
async fn accept(
    state: &AppState,
    req: Request,
    scope: ApiScope,
    now: DateTime<Utc>,
) -> Result<Accepted, Refused> {
    let client = authenticate(&state.store, req.headers(), scope).await?;
    let id = Some(client.id);
    rate_limit(state, client.id, now)
        .await
        .map_err(|r| (id, r))?;
    if !is_json(req.headers()) {
        return Err((
            id,
            bad_request(
                "The Content-Type must be application/json",
                Some("Content-Type"),
            ),
        ));
    }
    let body = axum::body::to_bytes(req.into_body(), API_BODY_LIMIT)
        .await
        .map_err(|_| (id, too_large(API_PREFIX)))?;
    Ok(Accepted { client, body })
}

/// Writes the audit row of a call answered with `status`. Its failure does not change the answer (what the call
/// did is already stored); it is for operations to see.
async fn audit(
    state: &AppState,
    operation: &str,
    client_id: Option<i64>,
    status: StatusCode,
    now: DateTime<Utc>,
) {
    let call = ApiCall {
        api_client_id: client_id,
        operation: operation.into(),
        status: i64::from(status.as_u16()),
        at: now,
    };
    if let Err(e) = state.store.record_api_call(&call).await {
        tracing::error!(error = %e, status = call.status, "API call not audited");
    }
}

/// What is wrong with a request body, and the field when one is to blame.
struct BadBody {
    detail: String,
    field: Option<String>,
}

impl BadBody {
    fn new(detail: impl Into<String>, field: Option<&str>) -> Self {
        Self {
            detail: detail.into(),
            field: field.map(String::from),
        }
    }
}

/// Reads a JSON object of string `fields` into `T`, naming the field that is wrong: a body that is not a JSON
/// object, then an unknown field, then a missing one or one that is not a string, each before the values are
/// checked (serde's own messages name fields only in prose).
fn read_body<T: DeserializeOwned>(body: &[u8], fields: &[&str]) -> Result<T, BadBody> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| BadBody::new("The request body is not valid JSON", None))?;
    let serde_json::Value::Object(object) = value else {
        return Err(BadBody::new(
            format!(
                "The request body must be a JSON object with {}",
                fields.join(", ")
            ),
            None,
        ));
    };
    // serde_json's map keeps the last of a repeated name, so `{"trn":"a","trn":"b"}` would mean whichever value
    // a reader happened to take: a name sent twice is refused instead.
    let Members(members) = serde_json::from_slice(body)
        .map_err(|_| BadBody::new("The request body is not valid JSON", None))?;
    let mut seen = BTreeSet::new();
    if let Some((twice, _)) = members.iter().find(|(name, _)| !seen.insert(name.as_str())) {
        return Err(BadBody::new(
            format!("Field {twice:?} is sent more than once"),
            Some(twice),
        ));
    }
    if let Some(unknown) = object.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(BadBody::new(
            format!(
                "Unknown field {unknown:?}: only {} allowed",
                fields.join(", ")
            ),
            Some(unknown),
        ));
    }
    for name in fields {
        match object.get(*name) {
            Some(serde_json::Value::String(_)) => {}
            Some(_) => return Err(BadBody::new(format!("{name} must be a string"), Some(name))),
            None => return Err(BadBody::new(format!("{name} is required"), Some(name))),
        }
    }
    serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|_| BadBody::new("The request body does not have the fields expected", None))
}

/// A JSON object's top-level members in the order sent, a repeated name kept each time it is sent.
struct Members(Vec<(String, serde::de::IgnoredAny)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The active record with this TRN, or the 404.
async fn active_record(
    state: &AppState,
    call: &Accepted,
    trn: &str,
) -> Result<TeachingRecord, Refused> {
    let record = state
        .store
        .record_by_trn(trn)
        .await
        .map_err(|e| call.refuse(store_failed(e)))?;
    record
        .filter(|r| r.status == RecordStatus::Active)
        .ok_or_else(|| call.refuse(no_active_record()))
}

fn no_active_record() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "There is no active teaching record with this TRN",
        Some("trn"),
    )
}

/// `POST /api/v1/trn-tokens` `{trn, email}` → 201 `{trn, email, trnToken, expiresUtc}` (DESIGN §7.2).
#[utoipa::path(
    post,
    path = "/api/v1/trn-tokens",
    tag = "TRN tokens",
    summary = "Create a TRN token for a teacher's email",
    description = "A token that connects the teacher's GOV.UK One Login to their record without questions, once, \
        within 180 days, when the identity One Login verifies agrees with the record. Needs the scope \
        trn_tokens:write.",
    request_body(content = CreateTrnToken, content_type = "application/json"),
    responses(
        (status = 201, description = "The token, shown once", body = TrnTokenCreated),
        (status = 400, description = "Wrong content type, not a JSON object, an unknown or missing field, \
            or a TRN or email not accepted; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope trn_tokens:write", body = Problem,
            content_type = "application/problem+json"),
        SharedRefusals,
    ),
    security(("bearer" = [])),
)]
pub async fn create_trn_token(State(state): State<AppState>, req: Request) -> Response {
    let now = Utc::now();
    let (client_id, response) = match accept(&state, req, ApiScope::TrnTokensWrite, now).await {
        Ok(call) => match create(&state, &call, now).await {
            // Audited with the token's write.
            Ok(created) => return created,
            Err((_, refused)) => (Some(call.client.id), refused),
        },
        Err(refused) => refused,
    };
    audit(&state, CREATE_TRN_TOKEN, client_id, response.status(), now).await;
    response
}

/// The operation `POST /api/v1/trn-tokens` is audited as.
const CREATE_TRN_TOKEN: &str = "create_trn_token";

async fn create(
    state: &AppState,
    call: &Accepted,
    now: DateTime<Utc>,
) -> Result<Response, Refused> {
    let body: CreateTrnToken = read_body(&call.body, CreateTrnToken::FIELDS)
        .map_err(|b| call.refuse(bad_request(&b.detail, b.field.as_deref())))?;
    let valid = TrnTokenRequest {
        trn: body.trn,
        email: body.email,
    }
    .validate()
    .map_err(|p| call.refuse(bad_request(p.detail, Some(p.field))))?;
    // Only whether the record is active is needed: one indexed read, not the record.
    let active = state
        .store
        .active_trn(valid.trn.as_str())
        .await
        .map_err(|e| call.refuse(store_failed(e)))?;
    if !active {
        return Err(call.refuse(no_active_record()));
    }
    let (token, token_sha256) = new_secret();
    let expires = trn_tokens::expires_at(now);
    // The token and the audit line of the call that made it in one write, shared with other calls' writes.
    state
        .store
        .add_trn_token_audited(
            &NewTrnToken {
                token_sha256,
                trn: valid.trn.as_str().to_string(),
                email: valid.email.clone(),
                api_client_id: call.client.id,
                created_at: now,
                expires_at: expires,
            },
            &ApiCall {
                api_client_id: Some(call.client.id),
                operation: CREATE_TRN_TOKEN.into(),
                status: i64::from(StatusCode::CREATED.as_u16()),
                at: now,
            },
        )
        .await
        .map_err(|e| call.refuse(store_failed(e)))?;
    Ok(json_answer(
        StatusCode::CREATED,
        &TrnTokenCreated {
            trn: valid.trn.as_str().to_string(),
            email: valid.email,
            trn_token: token,
            expires_utc: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
        },
    ))
}

/// `PUT /api/v1/teachers/{trn}/qts` `{awarded}` → 201 (recorded now) or 200 (already recorded on that day)
/// `{trn, awarded, emailSent}` (DESIGN §7.2). After the checks every call makes: the path's TRN (400), the body
/// (400), the date (400), the record (404 unknown or deactivated), then 409 when the record holds QTS awarded on
/// another day.
#[utoipa::path(
    put,
    path = "/api/v1/teachers/{trn}/qts",
    tag = "QTS",
    summary = "Record that a teacher was awarded QTS",
    description = "Records qualified teacher status on the record with a change-history event and, when the \
        record has an email address, emails the teacher a link that signs them in with a new TRN token. \
        Idempotent: the same award again answers 200 with the same body and records, makes and sends nothing \
        more. Needs the scope qts:write.",
    params(("trn" = String, Path, description = "The teacher's TRN: exactly 7 digits", example = "1234567")),
    request_body(content = AwardQts, content_type = "application/json"),
    responses(
        (status = 201, description = "QTS recorded by this call", body = QtsAwarded),
        (status = 200, description = "QTS was already recorded on that day (by an earlier call, or from the \
            record's source); nothing changed", body = QtsAwarded),
        (status = 400, description = "Wrong content type, not a JSON object, an unknown or missing field, a \
            TRN that is not 7 digits, or a date not accepted; `field` names it", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope qts:write", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "The record holds QTS awarded on another day", body = Problem,
            content_type = "application/problem+json"),
        SharedRefusals,
    ),
    security(("bearer" = [])),
)]
pub async fn award_qts(
    State(state): State<AppState>,
    Path(trn): Path<String>,
    req: Request,
) -> Response {
    let now = Utc::now();
    let (client_id, response) = match accept(&state, req, ApiScope::QtsWrite, now).await {
        Ok(call) => (
            Some(call.client.id),
            award(&state, &call, &trn, now)
                .await
                .unwrap_or_else(|(_, r)| r),
        ),
        Err(refused) => refused,
    };
    audit(&state, "award_qts", client_id, response.status(), now).await;
    response
}

async fn award(
    state: &AppState,
    call: &Accepted,
    trn: &str,
    now: DateTime<Utc>,
) -> Result<Response, Refused> {
    let trn = trn_tokens::exact_trn(trn)
        .map_err(|p| call.refuse(bad_request(p.detail, Some(p.field))))?;
    let body: AwardQts = read_body(&call.body, AwardQts::FIELDS)
        .map_err(|b| call.refuse(bad_request(&b.detail, b.field.as_deref())))?;
    let today = app::domain::uk_time::uk_time(now).date_naive();
    let awarded = QtsAwardRequest {
        awarded: body.awarded,
    }
    .validate(today)
    .map_err(|p| call.refuse(bad_request(p.detail, Some(p.field))))?;
    let record = active_record(state, call, trn.as_str()).await?;
    // The teacher is written to only at an address the service would accept; the link signs them in with a
    // token for that address.
    let address = record
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| is_email_address(e));
    // Its words (and whether it carries a token) depend on how the record's holder, if any, signs in.
    let holder = match address {
        Some(_) => state
            .store
            .trn_holder(&record.trn, NOBODY_ASKING)
            .await
            .map_err(|e| call.refuse(store_failed(e)))?
            .map(|h| SignInKind::of(h.one_login, h.account)),
        None => None,
    };
    let (token, email) = match address {
        Some(address) => {
            let template = qts_awarded_email(holder);
            let name = format!("{} {}", record.first_name, record.last_name);
            let (token, link) = match template {
                EmailTemplate::QtsAwarded => {
                    let (token, token_sha256) = new_secret();
                    let link = format!("{}?trn_token={token}", state.config.qts_email_link);
                    let token = NewTrnToken {
                        token_sha256,
                        trn: record.trn.clone(),
                        email: address.to_string(),
                        api_client_id: call.client.id,
                        created_at: now,
                        expires_at: trn_tokens::expires_at(now),
                    };
                    (Some(token), Some(link))
                }
                // An account holder's email has no link, so no token is made for it.
                _ => (None, None),
            };
            (
                token,
                Some(NewEmail {
                    reference: uuid::Uuid::new_v4().to_string(),
                    template: template.as_str().to_string(),
                    email_address: address.to_string(),
                    personalisation: qts_awarded_personalisation(&name, awarded, link.as_deref()),
                    task_reference: None,
                }),
            )
        }
        None => (None, None),
    };
    let outcome = state
        .store
        .award_qts(
            &NewQtsAward {
                trn: record.trn.clone(),
                awarded,
                api_client_id: call.client.id,
                actor: format!("api:{}", call.client.name),
                token,
                email,
            },
            now,
        )
        .await
        .map_err(|e| call.refuse(store_failed(e)))?;
    let answer = |status, email_sent| {
        if status == StatusCode::CREATED {
            tracing::info!(email_sent, "QTS award recorded");
            if email_sent {
                state.outbox_wake.notify_one();
            }
        }
        json_answer(
            status,
            &QtsAwarded {
                trn: record.trn.clone(),
                awarded,
                email_sent,
            },
        )
    };
    match outcome {
        QtsAwardOutcome::Recorded { email_sent } => Ok(answer(StatusCode::CREATED, email_sent)),
        QtsAwardOutcome::AlreadyRecorded { email_sent } => Ok(answer(StatusCode::OK, email_sent)),
        QtsAwardOutcome::AwardedOnAnotherDay { awarded } => Err(call.refuse(problem(
            StatusCode::CONFLICT,
            &format!("The record already holds QTS awarded on {awarded}"),
            Some("awarded"),
        ))),
        // Deactivated between the look-up and the write.
        QtsAwardOutcome::NoActiveRecord => Err(call.refuse(problem(
            StatusCode::NOT_FOUND,
            "There is no active teaching record with this TRN",
            Some("trn"),
        ))),
    }
}

/// The API's OpenAPI description, public at `GET /api/v1/openapi.json`.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The OpenAPI 3 description of the API, generated from the handlers' annotations and the body and answer types
/// above, so it cannot drift from what they read and write.
/// The refusals every operation can answer, described once for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Never built: it only describes answers.
enum SharedRefusals {
    #[response(
        status = 401,
        description = "No API key, or one that is wrong or disabled",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    #[response(
        status = 404,
        description = "No active record has this TRN",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(
        status = 413,
        description = "The body is over 16 KiB",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 429,
        description = "Over the key's limit per minute; see Retry-After",
        content_type = "application/problem+json"
    )]
    TooMany(Problem),
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Teacher ID API for DfE services",
        version = "1",
        description = "For other DfE services' servers (DESIGN §7.2). Every call needs an API key with the scope \
            its operation names, sent as `Authorization: Bearer <key>`; keys are issued by an administrator. Every \
            refusal is an RFC 9457 problem (`application/problem+json`)."
    ),
    paths(create_trn_token, award_qts),
    components(schemas(CreateTrnToken, TrnTokenCreated, AwardQts, QtsAwarded, Problem)),
    modifiers(&BearerKey)
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme the operations name.
struct BearerKey;

impl utoipa::Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key issued by a Teacher ID administrator"))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`: the description, with this service's address as its server. Public: it says only
/// what the API is.
pub async fn openapi(State(state): State<AppState>) -> Response {
    let mut doc = ApiDoc::openapi();
    doc.servers = Some(vec![utoipa::openapi::Server::new(
        state.config.public_base_url.clone(),
    )]);
    json_answer(StatusCode::OK, &doc)
}

/// Arguments of `server api-client add`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiClientAddArgs {
    pub name: String,
    pub scopes: BTreeSet<ApiScope>,
}

pub const API_CLIENT_ADD_USAGE: &str =
    "usage: server api-client add --name NAME --scope trn_tokens:write|qts:write [--scope ...]";

impl ApiClientAddArgs {
    /// Reads and checks the arguments; every problem is a message for the person typing them. The checks are
    /// the console's too ([`crate::client_registration::check_api_client`]); only the flags are read here.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        use crate::client_registration::{check_api_client, ApiClientInput};
        let mut input = ApiClientInput::default();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{API_CLIENT_ADD_USAGE}"))?;
            match flag.as_str() {
                "--name" if input.name.is_none() => input.name = Some(value.clone()),
                "--name" => return Err("--name given twice".into()),
                "--scope" => input.scopes.push(value.clone()),
                _ => return Err(format!("unknown option `{flag}`\n{API_CLIENT_ADD_USAGE}")),
            }
        }
        check_api_client(&input).map_err(|problems| {
            problems
                .first()
                .map_or_else(|| API_CLIENT_ADD_USAGE.to_string(), |p| p.cli())
        })
    }
}

/// Registers an API client; its id and its key, which is shown once and kept only as a hash.
pub async fn api_client_add(
    store: &DynStore,
    args: &ApiClientAddArgs,
    now: DateTime<Utc>,
) -> Result<(i64, String), StoreError> {
    let (key, key_sha256) = new_secret();
    let id = store
        .add_api_client(&args.name, &args.scopes, &key_sha256, now)
        .await?;
    Ok((id, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn api_client_add_reads_a_name_and_one_or_more_scopes() {
        let parsed = ApiClientAddArgs::parse(&args(&[
            "--name",
            " Find a lost TRN ",
            "--scope",
            "trn_tokens:write",
            "--scope",
            "qts:write",
        ]))
        .unwrap();
        assert_eq!(parsed.name, "Find a lost TRN");
        assert_eq!(
            parsed.scopes,
            BTreeSet::from([ApiScope::TrnTokensWrite, ApiScope::QtsWrite])
        );
    }

    #[test]
    fn api_client_add_refuses_bad_arguments() {
        for bad in [
            &["--name", "X"][..],
            &["--scope", "trn_tokens:write"],
            &["--name", "", "--scope", "trn_tokens:write"],
            &["--name", "X", "--scope", "admin"],
            &["--name", "X", "--scope"],
            &["--name", "X", "--name", "Y", "--scope", "qts:write"],
            &["--name", "X", "--scope", "qts:write", "--extra", "1"],
        ] {
            assert!(ApiClientAddArgs::parse(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_and_tokens_are_256_random_bits_kept_as_their_sha256() {
        let (a, hash) = new_secret();
        let (b, _) = new_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes, base64url without padding");
        assert_eq!(hash, sha256_hex(&a));
        assert_ne!(hash, a);
        assert_eq!(hash.len(), 64);
    }

    #[test]
    fn a_bearer_key_is_read_with_the_scheme_in_any_case() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_key(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer_key(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer_key(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_key(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_key(&h), None);
    }
}
