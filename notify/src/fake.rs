//! An in-memory GOV.UK Notify for tests and benchmarks: the real routes, request and response shapes, JWT
//! authentication, validation messages and template rendering, over real HTTP, so the client under test is the
//! production one. It sends nothing; the emails it accepted are in [`FakeNotify::sent`] and the text messages in
//! [`FakeNotify::sent_sms`].
//!
//! ```no_run
//! # async fn example() {
//! use notify::fake::FakeNotify;
//! use notify::{EmailRequest, NotifyClient};
//! const TEMPLATE: &str = "f33517ff-2a88-4f6e-b855-c550268ce08a";
//! let fake = FakeNotify::new("26785a09-ab16-4eb0-8407-a37497a57506", "3d844edf-8d35-48ac-975b-e847b4f122b0");
//! fake.add_template(TEMPLATE, "Hello ((name))", "Your code is ((code)).");
//! let api_key = fake.api_key("test");
//! let (base_url, handle) = fake.spawn().await;
//! let client = NotifyClient::new(&api_key, &base_url).unwrap();
//! // ... exercise the code that sends email ...
//! assert_eq!(handle.sent().len(), 1);
//! handle.fail_next(1, 500); // the next send answers 500 Internal server error
//! # }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Mac as _;
use serde_json::{json, Value};

use crate::jwt;
use crate::key::is_uuid;

/// Notify's answer to a token it cannot parse.
const GENERAL_TOKEN_ERROR: &str = "Invalid token: make sure your API token matches the example at \
                                   https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header";
/// How far `iat` may be from Notify's clock, either way.
const CLOCK_SKEW_SECONDS: i64 = 30;
const FROM_EMAIL: &str = "teacher.id@notifications.service.gov.uk";
/// The text message sender the recipient sees (a service's default sender is its name, at most 11 characters).
const FROM_NUMBER: &str = "DfE";

/// The fake server's configuration and state. Clones share the state, so a test can keep one while the server runs.
#[derive(Clone)]
pub struct FakeNotify {
    service_id: String,
    secret: String,
    state: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    templates: HashMap<String, Template>,
    sent: Vec<FakeSent>,
    sent_sms: Vec<FakeSms>,
    /// Every notification in the order accepted, for listing emails and text messages together.
    accepted: Vec<Accepted>,
    failures: Option<(usize, u16)>,
}

#[derive(Clone, Copy)]
enum Accepted {
    /// An index into `sent`.
    Email(usize),
    /// An index into `sent_sms`.
    Sms(usize),
}

#[derive(Clone)]
struct Template {
    kind: TemplateKind,
    subject: String,
    body: String,
    version: u32,
}

/// A template is for one kind of notification; Notify refuses to send it as another.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TemplateKind {
    Email,
    Sms,
}

impl TemplateKind {
    fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Email => "email",
            TemplateKind::Sms => "sms",
        }
    }
}

/// An email the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSent {
    /// The notification id the fake gave it.
    pub id: String,
    pub reference: Option<String>,
    pub email_address: String,
    pub template_id: String,
    /// Rendered with the personalisation, as Notify would.
    pub subject: String,
    pub body: String,
    /// As sent; values that were not strings are turned into text the way they are rendered.
    pub personalisation: BTreeMap<String, String>,
    /// RFC 3339, as in Notify's `created_at`.
    pub created_at: String,
}

/// A text message the fake accepted.
#[derive(Clone, PartialEq, Eq)]
pub struct FakeSms {
    /// The notification id the fake gave it.
    pub id: String,
    pub reference: Option<String>,
    /// As sent (trimmed).
    pub phone_number: String,
    /// As Notify keeps it: digits only with the country code and no `+` (`447700900123`).
    pub normalised_number: String,
    pub template_id: String,
    /// Rendered with the personalisation, as Notify would.
    pub body: String,
    pub personalisation: BTreeMap<String, String>,
    pub sms_sender_id: Option<String>,
    /// RFC 3339, as in Notify's `created_at`.
    pub created_at: String,
}

/// The message holds a passcode in the tests that use it: kept out of assertion failures' output.
impl std::fmt::Debug for FakeSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSms")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("template_id", &self.template_id)
            .finish_non_exhaustive()
    }
}

impl FakeNotify {
    /// A fake for the service `service_id` whose (only) API key has the secret `secret`; both are UUIDs in Notify.
    pub fn new(service_id: &str, secret: &str) -> FakeNotify {
        FakeNotify {
            service_id: service_id.to_string(),
            secret: secret.to_string(),
            state: Arc::default(),
        }
    }

    /// A fake that accepts `api_key` (`{key_name}-{service_id}-{secret_key}`, read as the client reads it).
    pub fn for_key(api_key: &str) -> Result<FakeNotify, crate::KeyError> {
        let key = crate::key::ApiKey::parse(api_key)?;
        Ok(FakeNotify::new(&key.service_id, &key.secret))
    }

    /// A valid API key for this fake, named `name`.
    pub fn api_key(&self, name: &str) -> String {
        format!("{name}-{}-{}", self.service_id, self.secret)
    }

    /// Adds (or, as a new version, replaces) an email template. `subject` and `body` may contain `((placeholder))`
    /// fields.
    pub fn add_template(&self, id: &str, subject: &str, body: &str) {
        self.insert_template(id, TemplateKind::Email, subject, body);
    }

    /// Adds (or, as a new version, replaces) a text message template, whose `body` may contain `((placeholder))`
    /// fields.
    pub fn add_sms_template(&self, id: &str, body: &str) {
        self.insert_template(id, TemplateKind::Sms, "", body);
    }

    fn insert_template(&self, id: &str, kind: TemplateKind, subject: &str, body: &str) {
        let mut state = self.lock();
        let version = state
            .templates
            .get(&id.to_ascii_lowercase())
            .map_or(1, |t| t.version + 1);
        state.templates.insert(
            id.to_ascii_lowercase(),
            Template {
                kind,
                subject: subject.to_string(),
                body: body.to_string(),
                version,
            },
        );
    }

    /// Makes the next `count` sends fail with `status` and Notify's error body for it (500 `Exception`, 429
    /// `RateLimitError`, 400 `BadRequestError`, 403 `AuthError`...), before they are authenticated or validated.
    /// `count` 0 clears it.
    pub fn fail_next(&self, count: usize, status: u16) {
        self.lock().failures = (count > 0).then_some((count, status));
    }

    /// The emails accepted so far, oldest first.
    pub fn sent(&self) -> Vec<FakeSent> {
        self.lock().sent.clone()
    }

    /// The text messages accepted so far, oldest first.
    pub fn sent_sms(&self) -> Vec<FakeSms> {
        self.lock().sent_sms.clone()
    }

    /// Notify's routes: `POST /v2/notifications/email`, `POST /v2/notifications/sms`, `GET /v2/notifications` and
    /// `GET /v2/notifications/{id}`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v2/notifications/email", post(send_email))
            .route("/v2/notifications/sms", post(send_sms))
            .route("/v2/notifications", get(list_notifications))
            .route("/v2/notifications/{id}", get(get_notification))
            .with_state(self.clone())
    }

    /// Serves the fake on a free port of 127.0.0.1 in a background task, until [`FakeNotifyHandle::shutdown`] or
    /// the end of the Tokio runtime (dropping the handle does not stop it). Returns the base URL for
    /// [`crate::NotifyClient::new`].
    ///
    /// # Panics
    /// If no port can be bound: a test can't go on without it.
    pub async fn spawn(self) -> (String, FakeNotifyHandle) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the fake Notify");
        let address = listener
            .local_addr()
            .expect("the fake Notify's bound address");
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let serve = axum::serve(listener, self.router()).with_graceful_shutdown(async move {
            if stopped.wait_for(|stop| *stop).await.is_err() {
                // Every handle was dropped: keep serving.
                std::future::pending::<()>().await;
            }
        });
        let task = tokio::spawn(async move {
            // Serving only ends with the task; an accept error has nowhere better to go in a test.
            let _ = serve.await;
        });
        let base_url = format!("http://{address}");
        let handle = FakeNotifyHandle {
            notify: self,
            base_url: base_url.clone(),
            stop: Arc::new(stop),
            task: Arc::new(Mutex::new(Some(task))),
        };
        (base_url, handle)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A test that panicked while holding the lock has already failed; its state is still worth reading.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running fake: read what it accepted and steer it while the code under test talks to it. Dropping the handle
/// leaves the server running until the runtime ends.
#[derive(Clone)]
pub struct FakeNotifyHandle {
    notify: FakeNotify,
    base_url: String,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl FakeNotifyHandle {
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// See [`FakeNotify::sent`].
    pub fn sent(&self) -> Vec<FakeSent> {
        self.notify.sent()
    }

    /// See [`FakeNotify::sent_sms`].
    pub fn sent_sms(&self) -> Vec<FakeSms> {
        self.notify.sent_sms()
    }

    /// See [`FakeNotify::add_sms_template`].
    pub fn add_sms_template(&self, id: &str, body: &str) {
        self.notify.add_sms_template(id, body);
    }

    /// See [`FakeNotify::fail_next`].
    pub fn fail_next(&self, count: usize, status: u16) {
        self.notify.fail_next(count, status);
    }

    /// See [`FakeNotify::add_template`].
    pub fn add_template(&self, id: &str, subject: &str, body: &str) {
        self.notify.add_template(id, subject, body);
    }

    /// See [`FakeNotify::api_key`].
    pub fn api_key(&self, name: &str) -> String {
        self.notify.api_key(name)
    }

    /// Stops serving: closes the listener and idle connections, lets requests in flight finish, and returns once
    /// they have. Later requests fail to connect.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let task = self
            .task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

/// Notify's error response: `{"status_code": N, "errors": [{"error": kind, "message": message}]}`.
fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({ "status_code": status.as_u16(), "errors": [{ "error": kind, "message": message }] });
    (status, Json(body)).into_response()
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BadRequestError", message)
}

fn validation(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "ValidationError", message)
}

fn auth_error(status: StatusCode, message: &str) -> Response {
    error(status, "AuthError", message)
}

/// The error body Notify gives with `status`, for [`FakeNotify::fail_next`].
fn injected_failure(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status.as_u16() {
        400 => bad_request("Can't send to this recipient using a team-only API key"),
        403 => auth_error(status, "Invalid token: API key not found"),
        429 => error(
            status,
            "RateLimitError",
            "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
        ),
        s if s >= 500 => error(status, "Exception", "Internal server error"),
        _ => error(status, "BadRequestError", "Simulated failure"),
    }
}

/// Checks the `Authorization` header as Notify does, in Notify's order, and says why it failed in Notify's words.
fn authenticate(fake: &FakeNotify, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty());
    let Some(authorization) = authorization else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "Unauthorized: authentication token must be provided",
        ));
    };
    let token = match authorization.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => &authorization[7..],
        _ => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "Unauthorized: authentication bearer scheme must be used",
            ))
        }
    };
    let forbidden = |message: &'static str| (StatusCode::FORBIDDEN, message);

    let parts: Vec<&str> = token.trim().split('.').collect();
    let decode = |part: &str| -> Option<Value> {
        let value: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()?;
        value.is_object().then_some(value)
    };
    let (Some(jwt_header), Some(claims), Some(signature)) = (
        parts.first().and_then(|p| decode(p)),
        parts.get(1).and_then(|p| decode(p)),
        parts.get(2).and_then(|p| URL_SAFE_NO_PAD.decode(p).ok()),
    ) else {
        return Err(forbidden(GENERAL_TOKEN_ERROR));
    };
    if parts.len() != 3 {
        return Err(forbidden(GENERAL_TOKEN_ERROR));
    }

    let Some(issuer) = claims.get("iss").and_then(Value::as_str) else {
        return Err(forbidden("Invalid token: iss field not provided"));
    };
    if !is_uuid(issuer) {
        return Err(forbidden(
            "Invalid token: service id is not the right data type",
        ));
    }
    if !issuer.eq_ignore_ascii_case(&fake.service_id) {
        return Err(forbidden("Invalid token: service not found"));
    }
    if jwt_header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(forbidden("Invalid token: algorithm used is not HS256"));
    }
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    if jwt::mac(&fake.secret)
        .chain_update(signing_input.as_bytes())
        .verify_slice(&signature)
        .is_err()
    {
        return Err(forbidden("Invalid token: API key not found"));
    }
    let Some(issued_at) = claims.get("iat").and_then(Value::as_f64) else {
        return Err(forbidden(GENERAL_TOKEN_ERROR));
    };
    let now = i64::try_from(jwt::now_unix()).unwrap_or(i64::MAX);
    if (issued_at - now as f64).abs() > CLOCK_SKEW_SECONDS as f64 {
        return Err(forbidden(
            "Error: Your system clock must be accurate to within 30 seconds",
        ));
    }
    Ok(())
}

/// What every send does first, in Notify's order: an injected failure, authentication, then the JSON body.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the response itself, made at most once per request to a test server"
)]
fn accept_send(
    fake: &FakeNotify,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Map<String, Value>, Response> {
    {
        let mut state = fake.lock();
        if let Some((remaining, status)) = state.failures {
            state.failures = (remaining > 1).then_some((remaining - 1, status));
            return Err(injected_failure(status));
        }
    }
    if let Err((status, message)) = authenticate(fake, headers) {
        return Err(auth_error(status, message));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(request)) => Ok(request),
        _ => Err(bad_request("Invalid JSON supplied in POST data")),
    }
}

/// The optional `reference` and `personalisation`, checked as Notify's schema checks them.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the response itself, made at most once per request to a test server"
)]
fn reference_and_personalisation(
    request: &serde_json::Map<String, Value>,
) -> Result<(Option<String>, BTreeMap<String, String>), Response> {
    let reference = match request.get("reference") {
        None | Some(Value::Null) => None,
        Some(Value::String(reference)) => Some(reference.clone()),
        Some(_) => return Err(validation("reference is not of type string")),
    };
    let personalisation = match request.get("personalisation") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(values)) => values
            .iter()
            .map(|(k, v)| (k.clone(), personalisation_text(v)))
            .collect(),
        Some(_) => return Err(validation("personalisation is not of type object")),
    };
    Ok((reference, personalisation))
}

/// The template for a send of `kind`, checked as Notify does: it exists, it is of that kind, and the
/// personalisation fills every field.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the response itself, made at most once per request to a test server"
)]
fn template_for(
    fake: &FakeNotify,
    template_id: &str,
    kind: TemplateKind,
    values: &HashMap<String, &str>,
) -> Result<Template, Response> {
    let Some(template) = fake
        .lock()
        .templates
        .get(&template_id.to_ascii_lowercase())
        .cloned()
    else {
        return Err(bad_request("Template not found"));
    };
    if template.kind != kind {
        return Err(bad_request(&format!(
            "{} template is not suitable for {} notification",
            template.kind.as_str(),
            kind.as_str()
        )));
    }
    let missing = missing_personalisation(&[&template.subject, &template.body], values);
    if !missing.is_empty() {
        return Err(bad_request(&format!(
            "Missing personalisation: {}",
            missing.join(", ")
        )));
    }
    Ok(template)
}

async fn send_email(State(fake): State<FakeNotify>, headers: HeaderMap, body: Bytes) -> Response {
    let request = match accept_send(&fake, &headers, &body) {
        Ok(request) => request,
        Err(refused) => return refused,
    };

    let Some(email_address) = request.get("email_address") else {
        return validation("email_address is a required property");
    };
    let Some(template_id) = request.get("template_id") else {
        return validation("template_id is a required property");
    };
    let Some(template_id) = template_id.as_str().filter(|id| is_uuid(id)) else {
        return validation("template_id is not a valid UUID");
    };
    let Some(email_address) = email_address
        .as_str()
        .filter(|address| is_valid_email(address))
    else {
        return validation("email_address Not a valid email address");
    };
    let (reference, personalisation) = match reference_and_personalisation(&request) {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let values: HashMap<String, &str> = personalisation
        .iter()
        .map(|(k, v)| (placeholder_key(k), v.as_str()))
        .collect();
    let template = match template_for(&fake, template_id, TemplateKind::Email, &values) {
        Ok(template) => template,
        Err(refused) => return refused,
    };

    let sent = FakeSent {
        id: uuid::Uuid::new_v4().to_string(),
        reference,
        email_address: email_address.trim().to_string(),
        template_id: template_id.to_ascii_lowercase(),
        subject: render(&template.subject, &values),
        body: render(&template.body, &values),
        personalisation,
        created_at: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
    };
    let origin = origin(&headers);
    let response = json!({
        "id": sent.id,
        "reference": sent.reference,
        "content": {
            "subject": sent.subject,
            "body": sent.body,
            "from_email": FROM_EMAIL,
            "one_click_unsubscribe_url": null,
        },
        "uri": format!("{origin}/v2/notifications/{}", sent.id),
        "template": template_json(&origin, &sent.template_id, template.version),
        "scheduled_for": null,
    });
    let mut state = fake.lock();
    let at = state.sent.len();
    state.accepted.push(Accepted::Email(at));
    state.sent.push(sent);
    (StatusCode::CREATED, Json(response)).into_response()
}

async fn send_sms(State(fake): State<FakeNotify>, headers: HeaderMap, body: Bytes) -> Response {
    let request = match accept_send(&fake, &headers, &body) {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let Some(phone_number) = request.get("phone_number") else {
        return validation("phone_number is a required property");
    };
    let Some(template_id) = request.get("template_id") else {
        return validation("template_id is a required property");
    };
    let Some(template_id) = template_id.as_str().filter(|id| is_uuid(id)) else {
        return validation("template_id is not a valid UUID");
    };
    let Some(phone_number) = phone_number.as_str() else {
        return validation("phone_number is not of type string");
    };
    let normalised_number = match validate_phone_number(phone_number) {
        Ok(number) => number,
        Err(reason) => return validation(&format!("phone_number {reason}")),
    };
    let sms_sender_id = match request.get("sms_sender_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if is_uuid(id) => Some(id.to_ascii_lowercase()),
        Some(_) => return validation("sms_sender_id is not a valid UUID"),
    };
    let (reference, personalisation) = match reference_and_personalisation(&request) {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let values: HashMap<String, &str> = personalisation
        .iter()
        .map(|(k, v)| (placeholder_key(k), v.as_str()))
        .collect();
    let template = match template_for(&fake, template_id, TemplateKind::Sms, &values) {
        Ok(template) => template,
        Err(refused) => return refused,
    };

    let sent = FakeSms {
        id: uuid::Uuid::new_v4().to_string(),
        reference,
        phone_number: phone_number.trim().to_string(),
        normalised_number,
        template_id: template_id.to_ascii_lowercase(),
        body: render(&template.body, &values),
        personalisation,
        sms_sender_id,
        created_at: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
    };
    let origin = origin(&headers);
    let response = json!({
        "id": sent.id,
        "reference": sent.reference,
        "content": { "body": sent.body, "from_number": FROM_NUMBER },
        "uri": format!("{origin}/v2/notifications/{}", sent.id),
        "template": template_json(&origin, &sent.template_id, template.version),
        "scheduled_for": null,
    });
    let mut state = fake.lock();
    let at = state.sent_sms.len();
    state.accepted.push(Accepted::Sms(at));
    state.sent_sms.push(sent);
    (StatusCode::CREATED, Json(response)).into_response()
}

async fn list_notifications(
    State(fake): State<FakeNotify>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err((status, message)) = authenticate(&fake, &headers) {
        return auth_error(status, message);
    }
    if let Some(kind) = query.get("template_type") {
        if !matches!(kind.as_str(), "sms" | "email" | "letter") {
            return validation(&format!(
                "template_type {kind} is not one of [sms, email, letter]"
            ));
        }
    }
    let origin = origin(&headers);
    let state = fake.lock();
    // Notify lists newest first, and `older_than` pages back from a notification id.
    let mut newest_first: Vec<Listed> = state
        .accepted
        .iter()
        .rev()
        .map(|accepted| match *accepted {
            Accepted::Email(at) => Listed::Email(&state.sent[at]),
            Accepted::Sms(at) => Listed::Sms(&state.sent_sms[at]),
        })
        .collect();
    if let Some(older_than) = query.get("older_than") {
        let after = newest_first
            .iter()
            .position(|s| s.id() == older_than)
            .map_or(newest_first.len(), |at| at + 1);
        newest_first.drain(..after);
    }
    let notifications: Vec<Value> = newest_first
        .into_iter()
        .filter(|s| {
            query
                .get("template_type")
                .is_none_or(|t| t == s.kind().as_str())
        })
        .filter(|s| {
            query
                .get("reference")
                .is_none_or(|r| s.reference() == Some(r))
        })
        .filter(|_| query.get("status").is_none_or(|s| s == "delivered"))
        .take(250)
        .map(|s| s.json(&origin, &state.templates))
        .collect();
    let current = format!("{origin}/v2/notifications");
    Json(json!({ "notifications": notifications, "links": { "current": current } })).into_response()
}

async fn get_notification(
    State(fake): State<FakeNotify>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err((status, message)) = authenticate(&fake, &headers) {
        return auth_error(status, message);
    }
    if !is_uuid(&id) {
        return validation("notification_id is not a valid UUID");
    }
    let state = fake.lock();
    let email = state
        .sent
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(&id))
        .map(Listed::Email);
    let sms = || {
        state
            .sent_sms
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(&id))
            .map(Listed::Sms)
    };
    match email.or_else(sms) {
        Some(sent) => Json(sent.json(&origin(&headers), &state.templates)).into_response(),
        None => error(StatusCode::NOT_FOUND, "NoResultFound", "No result found"),
    }
}

/// A notification of either kind, as the listing routes show it.
#[derive(Clone, Copy)]
enum Listed<'a> {
    Email(&'a FakeSent),
    Sms(&'a FakeSms),
}

impl Listed<'_> {
    fn id(&self) -> &str {
        match self {
            Listed::Email(sent) => &sent.id,
            Listed::Sms(sent) => &sent.id,
        }
    }

    fn reference(&self) -> Option<&String> {
        match self {
            Listed::Email(sent) => sent.reference.as_ref(),
            Listed::Sms(sent) => sent.reference.as_ref(),
        }
    }

    fn kind(&self) -> TemplateKind {
        match self {
            Listed::Email(_) => TemplateKind::Email,
            Listed::Sms(_) => TemplateKind::Sms,
        }
    }

    fn json(&self, origin: &str, templates: &HashMap<String, Template>) -> Value {
        match self {
            Listed::Email(sent) => notification_json(origin, sent, templates),
            Listed::Sms(sent) => sms_notification_json(origin, sent, templates),
        }
    }
}

fn notification_json(
    origin: &str,
    sent: &FakeSent,
    templates: &HashMap<String, Template>,
) -> Value {
    let version = templates.get(&sent.template_id).map_or(1, |t| t.version);
    json!({
        "id": sent.id,
        "reference": sent.reference,
        "email_address": sent.email_address,
        "phone_number": null,
        "line_1": null, "line_2": null, "line_3": null, "line_4": null, "line_5": null, "line_6": null,
        "postcode": null,
        "postage": null,
        "type": "email",
        // The fake delivers at once.
        "status": "delivered",
        "template": template_json(origin, &sent.template_id, version),
        "body": sent.body,
        "subject": sent.subject,
        "created_at": sent.created_at,
        "created_by_name": null,
        "sent_at": sent.created_at,
        "completed_at": sent.created_at,
        "scheduled_for": null,
        "one_click_unsubscribe_url": null,
    })
}

fn sms_notification_json(
    origin: &str,
    sent: &FakeSms,
    templates: &HashMap<String, Template>,
) -> Value {
    let version = templates.get(&sent.template_id).map_or(1, |t| t.version);
    json!({
        "id": sent.id,
        "reference": sent.reference,
        "email_address": null,
        // Notify lists the number as it was sent.
        "phone_number": sent.phone_number,
        "line_1": null, "line_2": null, "line_3": null, "line_4": null, "line_5": null, "line_6": null,
        "postcode": null,
        "postage": null,
        "type": "sms",
        "status": "delivered",
        "template": template_json(origin, &sent.template_id, version),
        "body": sent.body,
        "subject": null,
        "created_at": sent.created_at,
        "created_by_name": null,
        "sent_at": sent.created_at,
        "completed_at": sent.created_at,
        "scheduled_for": null,
        "one_click_unsubscribe_url": null,
    })
}

fn template_json(origin: &str, id: &str, version: u32) -> Value {
    json!({ "id": id, "version": version, "uri": format!("{origin}/v2/template/{id}") })
}

/// `http://host:port`, for the `uri` fields, from the request (the router doesn't know where it is served).
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Notify accepts any JSON value; lists become bullet points.
fn personalisation_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items
            .iter()
            .map(|item| format!("* {}", personalisation_text(item)))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// Notify matches placeholders to personalisation ignoring case, spaces, hyphens and underscores.
fn placeholder_key(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A `((name))` or conditional `((name??text))` field.
struct Placeholder<'a> {
    start: usize,
    end: usize,
    name: &'a str,
    conditional: Option<&'a str>,
}

/// The fields in `text`, as Notify's `\(\(([^()]+)\)\)` finds them.
fn placeholders(text: &str) -> Vec<Placeholder<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("((").map(|i| from + i) {
        let inner_start = at + 2;
        let inner_len = text[inner_start..]
            .find(['(', ')'])
            .unwrap_or(text.len() - inner_start);
        let inner_end = inner_start + inner_len;
        if inner_len > 0 && text[inner_end..].starts_with("))") {
            let inner = &text[inner_start..inner_end];
            let (name, conditional) = match inner.split_once("??") {
                Some((name, shown)) => (name, Some(shown)),
                None => (inner, None),
            };
            found.push(Placeholder {
                start: at,
                end: inner_end + 2,
                name: name.trim(),
                conditional,
            });
            from = inner_end + 2;
        } else {
            from = at + 1;
        }
    }
    found
}

fn missing_personalisation(texts: &[&str], values: &HashMap<String, &str>) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for text in texts {
        for placeholder in placeholders(text) {
            let key = placeholder_key(placeholder.name);
            if !values.contains_key(&key) && !missing.iter().any(|m| placeholder_key(m) == key) {
                missing.push(placeholder.name.to_string());
            }
        }
    }
    missing
}

/// Substitutes the personalisation; a conditional field shows its text when the value is "yes" or "true".
fn render(text: &str, values: &HashMap<String, &str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for placeholder in placeholders(text) {
        out.push_str(&text[last..placeholder.start]);
        let value = values
            .get(&placeholder_key(placeholder.name))
            .copied()
            .unwrap_or_default();
        match placeholder.conditional {
            Some(shown) if matches!(value.trim().to_ascii_lowercase().as_str(), "yes" | "true") => {
                out.push_str(shown)
            }
            Some(_) => {}
            None => out.push_str(value),
        }
        last = placeholder.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Notify's address check, in ASCII: a plain local part, no `..`, and a domain of at least two valid labels whose
/// last is alphabetic.
fn is_valid_email(address: &str) -> bool {
    let address = address.trim();
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let tld_ok = labels.last().is_some_and(|tld| {
        (2..=63).contains(&tld.len())
            && (tld.chars().all(|c| c.is_ascii_alphabetic()) || tld.starts_with("xn--"))
    });
    address.len() <= 320
        && !address.contains("..")
        && local_ok
        && domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && tld_ok
}

/// Characters Notify ignores in a phone number: whitespace (including the invisible kinds pasted from elsewhere),
/// brackets, hyphens and plus signs.
fn is_ignored_in_phone_number(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '(' | ')'
                | '-'
                | '+'
                | '\u{180E}'
                | '\u{200B}'
                | '\u{200C}'
                | '\u{200D}'
                | '\u{2060}'
                | '\u{FEFF}'
        )
}

/// Notify's check of a phone number (notifications-utils' `validate_phone_number` with international sending
/// allowed), in its words: a UK mobile (`07…`, `447…`, `+44 7…`, `0044 7…`, or `7…` under 11 digits) must have ten
/// digits after the country code and start with 7; anything else is international and needs 8 to 15 digits after a
/// country calling code that exists. Returns the number as Notify keeps it: digits with the country code.
fn validate_phone_number(number: &str) -> Result<String, &'static str> {
    let cleaned: String = number
        .chars()
        .filter(|c| !is_ignored_in_phone_number(*c))
        .collect();
    if !cleaned.chars().all(|c| c.is_ascii_digit()) {
        return Err("Must not contain letters or symbols");
    }
    let trimmed = number.trim_matches(is_ignored_in_phone_number);
    let digits = cleaned.trim_start_matches('0');
    let uk = (trimmed.starts_with('0') && !trimmed.starts_with("00"))
        || digits.starts_with("44")
        || (digits.starts_with('7') && digits.len() < 11);
    if uk {
        let national = digits.strip_prefix("44").unwrap_or(digits);
        let national = national.trim_start_matches('0');
        if !national.starts_with('7') {
            return Err("Not a UK mobile number");
        }
        return match national.len() {
            11.. => Err("Too many digits"),
            10 => Ok(format!("44{national}")),
            _ => Err("Not enough digits"),
        };
    }
    if digits.len() < 8 {
        return Err("Not enough digits");
    }
    if digits.len() > 15 {
        return Err("Too many digits");
    }
    if !has_country_code(digits) {
        return Err("Not a valid country prefix");
    }
    Ok(digits.to_string())
}

/// Whether `digits` starts with an assigned ITU-T E.164 country calling code.
fn has_country_code(digits: &str) -> bool {
    const TWO_DIGIT: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    const THREE_DIGIT: &[&str] = &[
        "211", "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226", "227",
        "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239", "240",
        "241", "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252", "253",
        "254", "255", "256", "257", "258", "260", "261", "262", "263", "264", "265", "266", "267",
        "268", "269", "290", "291", "297", "298", "299", "350", "351", "352", "353", "354", "355",
        "356", "357", "358", "359", "370", "371", "372", "373", "374", "375", "376", "377", "378",
        "380", "381", "382", "383", "385", "386", "387", "389", "420", "421", "423", "500", "501",
        "502", "503", "504", "505", "506", "507", "508", "509", "590", "591", "592", "593", "594",
        "595", "596", "597", "598", "599", "670", "672", "673", "674", "675", "676", "677", "678",
        "679", "680", "681", "682", "683", "685", "686", "687", "688", "689", "690", "691", "692",
        "850", "852", "853", "855", "856", "880", "886", "960", "961", "962", "963", "964", "965",
        "966", "967", "968", "970", "971", "972", "973", "974", "975", "976", "977", "992", "993",
        "994", "995", "996", "998",
    ];
    digits.starts_with('1')
        || digits.starts_with('7')
        || TWO_DIGIT.iter().any(|code| digits.starts_with(code))
        || THREE_DIGIT.iter().any(|code| digits.starts_with(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_phone_numbers_like_notify() {
        for (good, kept) in [
            ("07700900123", "447700900123"),
            ("07700 900 123", "447700900123"),
            ("(0)7700-900-123", "447700900123"),
            ("7700900123", "447700900123"),
            ("447700900123", "447700900123"),
            ("+447700900123", "447700900123"),
            ("+44 (0)7700 900 123", "447700900123"),
            ("0044 7700 900123", "447700900123"),
            ("\u{200B}\t+44 7700 900123\u{FEFF} \r\n", "447700900123"),
            ("+33 6 12 34 56 78", "33612345678"),
            ("+1 202-555-0123", "12025550123"),
            ("00353 87 123 4567", "353871234567"),
            ("+7 (8) (495) 123-45-67", "784951234567"),
        ] {
            assert_eq!(
                validate_phone_number(good),
                Ok(kept.to_string()),
                "{good:?}"
            );
        }
        for (bad, reason) in [
            ("", "Not enough digits"),
            ("07700 9001", "Not enough digits"),
            ("07700 90012345", "Too many digits"),
            ("020 7946 0000", "Not a UK mobile number"),
            ("+44 20 7946 0000", "Not a UK mobile number"),
            ("07700 900l23", "Must not contain letters or symbols"),
            ("07700.900.123", "Must not contain letters or symbols"),
            ("+123", "Not enough digits"),
            ("+33 6 12 34 56 78 90 12 34", "Too many digits"),
            ("+28 1234 5678", "Not a valid country prefix"),
            ("+999 1234 5678", "Not a valid country prefix"),
        ] {
            assert_eq!(validate_phone_number(bad), Err(reason), "{bad:?}");
        }
    }

    fn values<'a>(pairs: &[(&str, &'a str)]) -> HashMap<String, &'a str> {
        pairs
            .iter()
            .map(|(k, v)| (placeholder_key(k), *v))
            .collect()
    }

    #[test]
    fn renders_like_notify() {
        let values = values(&[("First_Name", "Ada"), ("show", "yes"), ("hide", "no")]);
        assert_eq!(
            render(
                "Dear ((first name)), (((first-name))) ((show??shown))((hide??hidden)) ((",
                &values
            ),
            "Dear Ada, (Ada) shown (("
        );
    }

    #[test]
    fn a_fake_for_a_key_accepts_that_key_as_the_client_reads_it() {
        let service = "26785a09-ab16-4eb0-8407-a37497a57506";
        let secret = "3d844edf-8d35-48ac-975b-e847b4f122b0";
        // A hyphenated key name and a trailing newline (a secrets file), as the client allows.
        let fake = FakeNotify::for_key(&format!("my-service-{service}-{secret}\n")).unwrap();
        assert_eq!(fake.api_key("k"), format!("k-{service}-{secret}"));
        assert_eq!(
            FakeNotify::for_key("too-short").err(),
            Some(crate::KeyError::TooShort)
        );
    }

    #[test]
    fn lists_each_missing_field_once_in_order() {
        let missing =
            missing_personalisation(&["((b)) ((a))", "((A)) ((c??x)) (())"], &values(&[]));
        assert_eq!(missing, ["b", "a", "c"]);
    }

    #[test]
    fn checks_addresses_like_notify() {
        for good in [
            "a@b.co",
            "first.last+tag@example.gov.uk",
            "x@xn--bcher-kva.xn--p1ai",
        ] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@@b.com",
            "a..b@c.com",
            "a b@c.com",
            "a@-b.com",
            "a@b.c0m",
            "a@b..com",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }
}
