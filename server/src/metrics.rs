//! Prometheus metrics, served as `GET /metrics` on their own listener (`METRICS_ADDR`), never on the public one.
//! Every metric, its labels and an example alert are in `docs/operations.md`.
//!
//! Counters and the latency histogram are recorded where things happen, through the `metrics` facade; until
//! [`install`] runs (only when `METRICS_ADDR` is set) the facade has no recorder and records nothing. The gauges
//! that describe the database (pool use, outbox backlog, open tasks) are read from it when Prometheus scrapes, so
//! every instance reports the same shared backlog and none runs a timer for it.
//!
//! Label values come from fixed sets only (route templates, status codes, enum names, rule numbers): never a raw
//! path, an address or anything a person typed, so no personal data reaches the metrics and no label grows without
//! bound.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const HTTP_REQUESTS: &str = "teacher_id_http_requests_total";
pub const HTTP_REQUEST_DURATION: &str = "teacher_id_http_request_duration_seconds";
pub const DB_POOL_CONNECTIONS: &str = "teacher_id_db_pool_connections";
pub const DB_POOL_MAX_CONNECTIONS: &str = "teacher_id_db_pool_max_connections";
pub const OUTBOX_EMAILS: &str = "teacher_id_outbox_emails";
pub const OUTBOX_OLDEST_UNSENT_AGE: &str = "teacher_id_outbox_oldest_unsent_age_seconds";
pub const SIGN_INS: &str = "teacher_id_sign_ins_total";
pub const MATCHING_OUTCOMES: &str = "teacher_id_matching_outcomes_total";
pub const SUPPORT_TASKS_OPEN: &str = "teacher_id_support_tasks_open";
pub const SUPPORT_TASKS_OLDEST_AGE: &str = "teacher_id_support_tasks_oldest_age_seconds";
pub const SCRAPE_ERRORS: &str = "teacher_id_metrics_scrape_errors_total";
pub const PERSONAL_PAGES: &str = "teacher_id_personal_pages_total";
pub const STAFF_PAGES: &str = "teacher_id_staff_pages_total";

/// The latency histogram's buckets, in seconds: the pages' targets are tens of milliseconds, and the request
/// timeout is 30 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The route label of a request no route matched: static files and pages not found (their status tells which).
pub const UNMATCHED_ROUTE: &str = "unmatched";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder, once: later calls (tests start several services in one process) get the same
/// handle. Also starts the upkeep that folds the latency samples into the histogram, so that they do not pile up
/// between scrapes.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(HTTP_REQUEST_DURATION.into()),
                    LATENCY_BUCKETS,
                )
                // Only an empty bucket list is refused; a summary is still worth having.
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "another metrics recorder was installed first");
            }
            describe();
            let upkeep = handle.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(5));
                loop {
                    every.tick().await;
                    upkeep.run_upkeep();
                }
            });
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS,
        "Requests answered, by method, route template and status."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Time to answer a request (to the response head), by method, route template and status."
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Database connections open in this instance's pool, by state (in_use, idle)."
    );
    describe_gauge!(
        DB_POOL_MAX_CONNECTIONS,
        "The most connections this instance's pool opens (DATABASE_MAX_CONNECTIONS)."
    );
    describe_gauge!(
        OUTBOX_EMAILS,
        "Emails in the outbox not sent, by status (pending, sending, failed)."
    );
    describe_gauge!(
        OUTBOX_OLDEST_UNSENT_AGE,
        Unit::Seconds,
        "Age of the oldest pending or sending email; 0 when none waits."
    );
    describe_counter!(
        SIGN_INS,
        "One Login round trips ended, by journey (sign_in, identity), outcome and the rule of one-login-rp.md that decided it."
    );
    describe_counter!(
        MATCHING_OUTCOMES,
        "Matching decisions for a verified teacher, by outcome."
    );
    describe_gauge!(
        SUPPORT_TASKS_OPEN,
        "Support tasks not done, by kind and status (open, in_progress)."
    );
    describe_gauge!(
        SUPPORT_TASKS_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest support task not done, by kind and status; 0 when there is none."
    );
    describe_counter!(
        PERSONAL_PAGES,
        "Requests for a signed-in teacher's page that may be kept, by outcome: served (as kept), kept (rendered, then kept) or rendered (not kept: it changed the session, or was not a plain page)."
    );
    describe_counter!(
        STAFF_PAGES,
        "Requests for a support task page that may be kept, by outcome: served (as kept), kept (rendered, then kept) or rendered (not kept: it changed the session, or was not a plain page)."
    );
    describe_counter!(
        SCRAPE_ERRORS,
        "Scrapes whose database gauges could not be read (they keep their last values)."
    );
}

/// The method as a label: the standard ones by name, anything else (a client may send any token) as `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts each request and times it, labelled by the route template that matched (`MatchedPath`, e.g.
/// `/support/tasks/{reference}/assign`), never the path asked for.
pub async fn record_requests(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// The journey a One Login round trip was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Journey {
    SignIn,
    Identity,
    /// A callback that matched no round trip of this browser's, so which it was is not known.
    Unknown,
}

impl Journey {
    pub fn as_str(self) -> &'static str {
        match self {
            Journey::SignIn => "sign_in",
            Journey::Identity => "identity",
            Journey::Unknown => "unknown",
        }
    }
}

impl From<app::ssr::AuthKind> for Journey {
    fn from(kind: app::ssr::AuthKind) -> Self {
        match kind {
            app::ssr::AuthKind::SignIn => Journey::SignIn,
            app::ssr::AuthKind::Identity => Journey::Identity,
        }
    }
}

/// How a One Login round trip ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInOutcome {
    /// Signed in (sign-in journey) or identity proved (identity journey).
    Success,
    /// One Login could not prove their identity (rule 47).
    IdentityNotVerified,
    /// They cancelled at One Login (`access_denied` on the sign-in journey, rule 19).
    Cancelled,
    /// One Login sent back another error (rule 19).
    OneLoginError,
    /// Something One Login sent failed one of our checks; the rule says which.
    Refused,
    /// One Login could not be reached (rule 23) or said it was unavailable.
    Unavailable,
    /// The callback did not belong to a round trip this browser started, or it started too long ago (rule 18).
    Expired,
}

impl SignInOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInOutcome::Success => "success",
            SignInOutcome::IdentityNotVerified => "identity_not_verified",
            SignInOutcome::Cancelled => "cancelled",
            SignInOutcome::OneLoginError => "one_login_error",
            SignInOutcome::Refused => "refused",
            SignInOutcome::Unavailable => "unavailable",
            SignInOutcome::Expired => "expired",
        }
    }
}

/// Counts one One Login round trip's end. `rule` is the rule of one-login-rp.md §a that decided it, if one did.
pub fn sign_in(journey: Journey, outcome: SignInOutcome, rule: Option<u8>) {
    let rule = rule.map_or_else(|| "none".to_string(), |r| r.to_string());
    metrics::counter!(
        SIGN_INS,
        "journey" => journey.as_str(),
        "outcome" => outcome.as_str(),
        "rule" => rule,
    )
    .increment(1);
}

/// What matching a verified teacher came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchingOutcome {
    Connected,
    /// The record matched, but someone else connected to it between the search and the write.
    RecordTaken,
    NoMatch,
    PossibleDuplicate,
    PossibleDuplicateOrNamesake,
    AlreadyConnected,
}

impl MatchingOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchingOutcome::Connected => "connected",
            MatchingOutcome::RecordTaken => "record_taken",
            MatchingOutcome::NoMatch => "no_match",
            MatchingOutcome::PossibleDuplicate => "possible_duplicate",
            MatchingOutcome::PossibleDuplicateOrNamesake => "possible_duplicate_or_namesake",
            MatchingOutcome::AlreadyConnected => "already_connected",
        }
    }
}

impl From<&app::domain::matching::MatchOutcome> for MatchingOutcome {
    fn from(outcome: &app::domain::matching::MatchOutcome) -> Self {
        use app::domain::matching::MatchOutcome;
        match outcome {
            MatchOutcome::Connect { .. } => MatchingOutcome::Connected,
            MatchOutcome::NoMatch => MatchingOutcome::NoMatch,
            MatchOutcome::PossibleDuplicate { .. } => MatchingOutcome::PossibleDuplicate,
            MatchOutcome::PossibleDuplicateOrNamesake { .. } => {
                MatchingOutcome::PossibleDuplicateOrNamesake
            }
            MatchOutcome::AlreadyConnected { .. } => MatchingOutcome::AlreadyConnected,
        }
    }
}

/// Counts one matching decision.
pub fn matching(outcome: MatchingOutcome) {
    metrics::counter!(MATCHING_OUTCOMES, "outcome" => outcome.as_str()).increment(1);
}

/// The metrics listener's router: `/metrics` and nothing else.
pub fn router(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state((state, handle))
}

/// `GET /metrics`: reads the database gauges, then renders everything in Prometheus's text format.
async fn scrape(State((state, handle)): State<(AppState, PrometheusHandle)>) -> Response {
    read_database_gauges(&state).await;
    handle.run_upkeep();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Seconds from `then` to `now`, 0 for none (a gauge has no "absent" that alerts can compare with).
fn age_seconds(
    then: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> f64 {
    then.map_or(0.0, |t| {
        ((now - t).num_milliseconds() as f64 / 1000.0).max(0.0)
    })
}

async fn read_database_gauges(state: &AppState) {
    let pool = state.store.pool_usage();
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use")
        .set(f64::from(pool.open.saturating_sub(pool.idle)));
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!(DB_POOL_MAX_CONNECTIONS).set(f64::from(pool.max));
    let now = chrono::Utc::now();
    match state.store.outbox_backlog().await {
        Ok(backlog) => {
            for (status, n) in [
                ("pending", backlog.pending),
                ("sending", backlog.sending),
                ("failed", backlog.failed),
            ] {
                metrics::gauge!(OUTBOX_EMAILS, "status" => status).set(n as f64);
            }
            metrics::gauge!(OUTBOX_OLDEST_UNSENT_AGE).set(age_seconds(backlog.oldest_unsent, now));
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read the outbox backlog");
            metrics::counter!(SCRAPE_ERRORS).increment(1);
        }
    }
    match state.store.open_tasks().await {
        Ok(tasks) => {
            for t in tasks {
                // Kinds and statuses are checked by the database (CHECK constraints): a fixed set.
                let labels = [("kind", t.kind), ("status", t.status)];
                metrics::gauge!(SUPPORT_TASKS_OPEN, &labels).set(t.count as f64);
                metrics::gauge!(SUPPORT_TASKS_OLDEST_AGE, &labels).set(age_seconds(t.oldest, now));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read the open tasks");
            metrics::counter!(SCRAPE_ERRORS).increment(1);
        }
    }
}

/// Binds `METRICS_ADDR` when it is set and serves the metrics there for as long as the process runs (through a
/// graceful shutdown too, so the drain can be watched); returns the address bound (its port may have been 0). The
/// public router never has `/metrics`: only this listener serves it.
pub async fn start(state: &AppState) -> Result<Option<std::net::SocketAddr>, crate::ServerError> {
    let Some(addr) = state.config.metrics_addr else {
        return Ok(None);
    };
    let handle = install();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| crate::ServerError::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| crate::ServerError::Listen { addr, source })?;
    let app = router(state.clone(), handle);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    tracing::info!(addr = %bound, "serving metrics");
    Ok(Some(bound))
}
