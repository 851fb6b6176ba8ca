//! The API other DfE services call (DESIGN §7.2), authenticated with API keys: today `POST /api/v1/trn-tokens`.
//!
//! Every answer but a success is an RFC 9457 problem-details JSON (`application/problem+json`), naming the field
//! when one is wrong. Every call is audited (`api_calls`: the client, the operation and the status, nothing
//! personal) and counted against the client's per-minute limit in the service's rate-limit windows.

use crate::db::api::{ApiCall, ApiClient, NewTrnToken};
use crate::db::{DynStore, StoreError};
use crate::http::assets::sha256_hex;
use crate::http::cookies::new_secret;
use crate::state::AppState;
use app::domain::records::RecordStatus;
use app::domain::trn_tokens::{self, ApiScope, TrnTokenRequest};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::BTreeSet;

/// Where the API for other services' servers lives. Not all of `/api/`: the site's own server functions are
/// there too (`server/src/http/server_fns.rs`), and they need the visitor's session and CSRF token.
pub const API_PREFIX: &str = "/api/v1/";
pub const TRN_TOKENS_PATH: &str = "/api/v1/trn-tokens";

/// The largest body the API reads: a TRN and an email need a few hundred bytes.
pub const API_BODY_LIMIT: usize = 16 * 1024;

/// The rate-limit window: the configured limit is per minute.
const RATE_WINDOW_SECONDS: i64 = 60;

/// An RFC 9457 problem: `about:blank` with the status's own title, a `detail` for the caller's developer and,
/// for a bad field, `field` (an extension member) naming it.
pub fn problem(status: StatusCode, detail: &str, field: Option<&str>) -> Response {
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(field) = field {
        body["field"] = field.into();
    }
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body.to_string(),
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
fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// The API client the request's key belongs to, if it may use `scope`; otherwise the refusal (401 or 403). The
/// client is returned with a 403 so the call is audited against it.
async fn authenticate(
    store: &DynStore,
    headers: &HeaderMap,
    scope: ApiScope,
) -> Result<ApiClient, (Option<i64>, Response)> {
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

/// Counts the call against the client's window; a 429 with `Retry-After` when it is over the limit.
async fn rate_limit(state: &AppState, client_id: i64, now: DateTime<Utc>) -> Result<(), Response> {
    let hits = state
        .store
        .count_attempt(
            &sha256_hex(&format!("api-client:{client_id}")),
            RATE_WINDOW_SECONDS,
            now,
        )
        .await
        .map_err(store_failed)?;
    if hits <= state.config.api_rate_limit_per_minute {
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

/// Reads `{trn, email}`, naming the field that is wrong: unknown fields, a missing one or one that is not a
/// string are each refused before the values are checked.
fn read_request(body: &[u8]) -> Result<TrnTokenRequest, BadBody> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| BadBody::new("The request body is not valid JSON", None))?;
    let serde_json::Value::Object(fields) = value else {
        return Err(BadBody::new(
            "The request body must be a JSON object {\"trn\", \"email\"}",
            None,
        ));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !matches!(k.as_str(), "trn" | "email"))
    {
        return Err(BadBody::new(
            format!("Unknown field {unknown:?}: only trn and email are allowed"),
            Some(unknown),
        ));
    }
    let text = |name: &'static str| match fields.get(name) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(BadBody::new(format!("{name} must be a string"), Some(name))),
        None => Err(BadBody::new(format!("{name} is required"), Some(name))),
    };
    Ok(TrnTokenRequest {
        trn: text("trn")?,
        email: text("email")?,
    })
}

/// `POST /api/v1/trn-tokens` `{trn, email}` → 201 `{trn, email, trnToken, expiresUtc}` (DESIGN §7.2).
pub async fn create_trn_token(State(state): State<AppState>, req: Request) -> Response {
    let now = Utc::now();
    let (client_id, response) = match create(&state, req, now).await {
        Ok((client_id, res)) | Err((client_id, res)) => (client_id, res),
    };
    let call = ApiCall {
        api_client_id: client_id,
        operation: "create_trn_token".into(),
        status: i64::from(response.status().as_u16()),
        at: now,
    };
    if let Err(e) = state.store.record_api_call(&call).await {
        // The answer stands (a token made is already stored); the failure is for operations to see.
        tracing::error!(error = %e, status = call.status, "API call not audited");
    }
    response
}

type Answer = Result<(Option<i64>, Response), (Option<i64>, Response)>;

async fn create(state: &AppState, req: Request, now: DateTime<Utc>) -> Answer {
    let client = authenticate(&state.store, req.headers(), ApiScope::TrnTokensWrite).await?;
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
    let request =
        read_request(&body).map_err(|b| (id, bad_request(&b.detail, b.field.as_deref())))?;
    let valid = request
        .validate()
        .map_err(|p| (id, bad_request(p.detail, Some(p.field))))?;
    let record = state
        .store
        .record_by_trn(valid.trn.as_str())
        .await
        .map_err(|e| (id, store_failed(e)))?;
    if !record.is_some_and(|r| r.status == RecordStatus::Active) {
        return Err((
            id,
            problem(
                StatusCode::NOT_FOUND,
                "There is no active teaching record with this TRN",
                Some("trn"),
            ),
        ));
    }
    let (token, token_sha256) = new_secret();
    let expires = trn_tokens::expires_at(now);
    state
        .store
        .add_trn_token(&NewTrnToken {
            token_sha256,
            trn: valid.trn.as_str().to_string(),
            email: valid.email.clone(),
            api_client_id: client.id,
            created_at: now,
            expires_at: expires,
        })
        .await
        .map_err(|e| (id, store_failed(e)))?;
    let body = serde_json::json!({
        "trn": valid.trn.as_str(),
        "email": valid.email,
        "trnToken": token,
        "expiresUtc": expires.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    Ok((
        id,
        (
            StatusCode::CREATED,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body.to_string(),
        )
            .into_response(),
    ))
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
    /// Reads and checks the arguments; every problem is a message for the person typing them.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let (mut name, mut scopes) = (None, BTreeSet::new());
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{API_CLIENT_ADD_USAGE}"))?;
            match flag.as_str() {
                "--name" if name.is_none() => name = Some(value.trim().to_string()),
                "--name" => return Err("--name given twice".into()),
                "--scope" => {
                    scopes.insert(ApiScope::parse(value).ok_or_else(|| {
                        format!("unknown scope `{value}`: expected trn_tokens:write or qts:write")
                    })?);
                }
                _ => return Err(format!("unknown option `{flag}`\n{API_CLIENT_ADD_USAGE}")),
            }
        }
        let name = name
            .filter(|n| !n.is_empty() && n.chars().count() <= 200)
            .ok_or(format!(
            "--name is needed: the service's name (at most 200 characters)\n{API_CLIENT_ADD_USAGE}"
        ))?;
        if scopes.is_empty() {
            return Err(format!(
                "at least one --scope is needed\n{API_CLIENT_ADD_USAGE}"
            ));
        }
        Ok(Self { name, scopes })
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
