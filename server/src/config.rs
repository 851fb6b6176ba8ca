//! Configuration from environment variables. Every variable, its default and its meaning is listed here and in
//! the README. A bad value stops start-up with one line naming the variable and what is wrong with it.

use std::net::SocketAddr;
use std::str::FromStr;

/// Where the service listens. Env `LISTEN_ADDR`, default `127.0.0.1:3000`.
pub const LISTEN_ADDR: &str = "LISTEN_ADDR";
/// Where the Prometheus metrics are served (`GET /metrics`), apart from the service: an address only the
/// monitoring network reaches, never the public one. Env `METRICS_ADDR`, default none (no metrics are kept or
/// served).
pub const METRICS_ADDR: &str = "METRICS_ADDR";
/// The address people use to reach the service, for links and cookie security. Env `PUBLIC_BASE_URL`, default
/// `http://localhost:3000`. Cookies are `Secure` and HSTS is sent when it starts with `https://`.
pub const PUBLIC_BASE_URL: &str = "PUBLIC_BASE_URL";
/// Where the "You have been awarded QTS" email's link goes, given `?trn_token=…`: our own sign-in by default
/// (`PUBLIC_BASE_URL/sign-in`), or a service's page that sends the teacher here with the token (`./run` uses the
/// sample AYTQ's). Env `QTS_EMAIL_LINK`.
pub const QTS_EMAIL_LINK: &str = "QTS_EMAIL_LINK";
/// The database. Env `DATABASE_URL`, default `sqlite://data/teacher-id.sqlite` (created on first run).
pub const DATABASE_URL: &str = "DATABASE_URL";
/// Most connections the pool opens. Env `DATABASE_MAX_CONNECTIONS`, default 10.
pub const DATABASE_MAX_CONNECTIONS: &str = "DATABASE_MAX_CONNECTIONS";
/// `development` or `production`. Env `APP_ENV`, default `development`.
pub const APP_ENV: &str = "APP_ENV";
/// `pretty` or `json`. Env `LOG_FORMAT`, default `pretty` in development and `json` in production.
pub const LOG_FORMAT: &str = "LOG_FORMAT";
/// A `tracing` filter such as `info` or `server=debug,info`. Env `LOG_LEVEL`, default `info`.
pub const LOG_LEVEL: &str = "LOG_LEVEL";
/// Synthetic records to seed into an empty database at start-up. Env `SEED_RECORDS`, default 3000 in
/// development and 0 in production.
pub const SEED_RECORDS: &str = "SEED_RECORDS";
/// Largest request body accepted, in bytes. Env `MAX_BODY_BYTES`, default 65536.
pub const MAX_BODY_BYTES: &str = "MAX_BODY_BYTES";
/// How many of signed-in teachers' pages each instance keeps rendered (`http::personal_pages`); 0 keeps none. Env
/// `PERSONAL_PAGES_KEPT`, default 2000 (about 30 MB at most).
pub const PERSONAL_PAGES_KEPT: &str = "PERSONAL_PAGES_KEPT";
/// The load balancers and proxies whose `X-Forwarded-For` entries say who the client is (for the per-address
/// limit): addresses and CIDR ranges, separated by commas. Env `TRUSTED_PROXIES`, default none (the TCP peer is
/// the client).
pub const TRUSTED_PROXIES: &str = "TRUSTED_PROXIES";
/// NINO and TRN attempts one signed-in person may make per window, and the window in seconds. Env
/// `RATE_LIMIT_USER_ATTEMPTS` (default 10) and `RATE_LIMIT_USER_WINDOW_SECONDS` (default 86400).
pub const RATE_LIMIT_USER_ATTEMPTS: &str = "RATE_LIMIT_USER_ATTEMPTS";
pub const RATE_LIMIT_USER_WINDOW_SECONDS: &str = "RATE_LIMIT_USER_WINDOW_SECONDS";
/// The same per client address. Env `RATE_LIMIT_ADDRESS_ATTEMPTS` (default 50) and
/// `RATE_LIMIT_ADDRESS_WINDOW_SECONDS` (default 3600).
pub const RATE_LIMIT_ADDRESS_ATTEMPTS: &str = "RATE_LIMIT_ADDRESS_ATTEMPTS";
pub const RATE_LIMIT_ADDRESS_WINDOW_SECONDS: &str = "RATE_LIMIT_ADDRESS_WINDOW_SECONDS";
/// Passcodes (DfE Identity account, DESIGN §7.3) sent to one email address or mobile per window, and the window in
/// seconds. Env `PASSCODE_SENDS_PER_TARGET` (default 5) and `PASSCODE_SENDS_TARGET_WINDOW_SECONDS` (default 900).
pub const PASSCODE_SENDS_PER_TARGET: &str = "PASSCODE_SENDS_PER_TARGET";
pub const PASSCODE_SENDS_TARGET_WINDOW_SECONDS: &str = "PASSCODE_SENDS_TARGET_WINDOW_SECONDS";
/// The same per client address. Env `PASSCODE_SENDS_PER_ADDRESS` (default 100) and
/// `PASSCODE_SENDS_ADDRESS_WINDOW_SECONDS` (default 3600).
pub const PASSCODE_SENDS_PER_ADDRESS: &str = "PASSCODE_SENDS_PER_ADDRESS";
pub const PASSCODE_SENDS_ADDRESS_WINDOW_SECONDS: &str = "PASSCODE_SENDS_ADDRESS_WINDOW_SECONDS";
/// The secret passcodes and the emails and mobiles they prove are kept under (HMAC-SHA256, DESIGN §7.3), at least
/// 32 bytes. Env `PASSCODE_KEY`; a published development value in development, required in production (and refused
/// there if it is the development value). Changing it makes the passcodes outstanding at that moment fail.
pub const PASSCODE_KEY: &str = "PASSCODE_KEY";
/// Calls one API client may make to the API per minute (DESIGN §7.2). Env `API_RATE_LIMIT_PER_MINUTE` (default 600).
pub const API_RATE_LIMIT_PER_MINUTE: &str = "API_RATE_LIMIT_PER_MINUTE";
/// Most connections served at once; more wait in the listen queue. Env `MAX_CONNECTIONS`, default 512 (keep it
/// below the open-files limit, `ulimit -n`).
pub const MAX_CONNECTIONS: &str = "MAX_CONNECTIONS";
/// How long a connection may take to send a request's headers (and how long it may sit idle between requests)
/// before it is closed, in seconds. Env `HEADER_READ_TIMEOUT_SECONDS`, default 10.
pub const HEADER_READ_TIMEOUT_SECONDS: &str = "HEADER_READ_TIMEOUT_SECONDS";
/// Days a decided identity task's proof of identity is kept before it is deleted (and the deletion audited). Env
/// `PROOF_RETENTION_DAYS`, default 90.
pub const PROOF_RETENTION_DAYS: &str = "PROOF_RETENTION_DAYS";
/// Where uploaded proof of identity is kept: a folder (`file:///…` or a plain path), `s3://bucket/prefix` or
/// `az://container/prefix` (credentials from the usual `AWS_*` / `AZURE_*` variables). Env `UPLOADS_URL`, default
/// the folder `data/uploads`. Files are never served publicly.
pub const UPLOADS_URL: &str = "UPLOADS_URL";
/// One Login's OIDC issuer, with its trailing `/`; discovery is fetched from it. Env `ONE_LOGIN_ISSUER`, default
/// `http://127.0.0.1:3900/` (the stand-in) in development; required in production.
pub const ONE_LOGIN_ISSUER: &str = "ONE_LOGIN_ISSUER";
/// Our client id at One Login. Env `ONE_LOGIN_CLIENT_ID`, default `teacher-id-dev` in development.
pub const ONE_LOGIN_CLIENT_ID: &str = "ONE_LOGIN_CLIENT_ID";
/// Our RSA private key (PEM) for `private_key_jwt`. Env `ONE_LOGIN_PRIVATE_KEY`, or a file named by
/// `ONE_LOGIN_PRIVATE_KEY_FILE` (default `data/keys/one-login-rp.pem` in development).
pub const ONE_LOGIN_PRIVATE_KEY: &str = "ONE_LOGIN_PRIVATE_KEY";
pub const ONE_LOGIN_PRIVATE_KEY_FILE: &str = "ONE_LOGIN_PRIVATE_KEY_FILE";
/// The `kid` of our key when One Login reads it from our JWKS (`/.well-known/jwks.json`); sent in every JWT we
/// sign (rule 2). Env `ONE_LOGIN_KEY_ID`, default none: the key's RFC 7638 thumbprint is used.
pub const ONE_LOGIN_KEY_ID: &str = "ONE_LOGIN_KEY_ID";
/// The core identity credential's issuer (rule 42). Env `ONE_LOGIN_IDENTITY_ISSUER`, default the OIDC issuer in
/// development; required in production (`https://identity.account.gov.uk/`).
pub const ONE_LOGIN_IDENTITY_ISSUER: &str = "ONE_LOGIN_IDENTITY_ISSUER";
/// The only place the DID document is fetched from (rule 39). Env `ONE_LOGIN_DID_URL`, default
/// `<issuer>.well-known/did.json` in development; required in production.
pub const ONE_LOGIN_DID_URL: &str = "ONE_LOGIN_DID_URL";
/// Leeway for token times, in seconds. Env `ONE_LOGIN_CLOCK_SKEW_SECONDS`, default 30 (0 to 300).
pub const ONE_LOGIN_CLOCK_SKEW_SECONDS: &str = "ONE_LOGIN_CLOCK_SKEW_SECONDS";
/// Where the header's "GOV.UK One Login" link goes. Env `ONE_LOGIN_ACCOUNT_URL`, default
/// `https://home.account.gov.uk`.
pub const ONE_LOGIN_ACCOUNT_URL: &str = "ONE_LOGIN_ACCOUNT_URL";

/// The staff identity provider's OIDC issuer (Microsoft Entra ID in production, e.g.
/// `https://login.microsoftonline.com/<tenant>/v2.0`). Env `STAFF_OIDC_ISSUER`, default the stand-in
/// `http://127.0.0.1:3900/` in development; required in production.
pub const STAFF_OIDC_ISSUER: &str = "STAFF_OIDC_ISSUER";
/// The support console's client id there. Env `STAFF_OIDC_CLIENT_ID`, default `teacher-id-staff-dev` in development.
pub const STAFF_OIDC_CLIENT_ID: &str = "STAFF_OIDC_CLIENT_ID";
/// Its client secret. Env `STAFF_OIDC_CLIENT_SECRET`, default `dev-staff-secret` in development.
pub const STAFF_OIDC_CLIENT_SECRET: &str = "STAFF_OIDC_CLIENT_SECRET";
/// A GOV.UK Notify API key. Env `NOTIFY_API_KEY`; required in production. Without it in development, emails go
/// to the development mailbox at `/dev/mailbox` instead.
pub const NOTIFY_API_KEY: &str = "NOTIFY_API_KEY";
/// Notify's API. Env `NOTIFY_BASE_URL`, default `https://api.notifications.service.gov.uk`.
pub const NOTIFY_BASE_URL: &str = "NOTIFY_BASE_URL";
/// Notify template ids, one per email; required with `NOTIFY_API_KEY`.
pub const NOTIFY_TEMPLATE_CONNECTED: &str = "NOTIFY_TEMPLATE_CONNECTED";
pub const NOTIFY_TEMPLATE_IDENTITY_VERIFIED_CONNECTED: &str =
    "NOTIFY_TEMPLATE_IDENTITY_VERIFIED_CONNECTED";
pub const NOTIFY_TEMPLATE_REJECTED: &str = "NOTIFY_TEMPLATE_REJECTED";
pub const NOTIFY_TEMPLATE_NOT_CONNECTED: &str = "NOTIFY_TEMPLATE_NOT_CONNECTED";
pub const NOTIFY_TEMPLATE_DISCONNECTED: &str = "NOTIFY_TEMPLATE_DISCONNECTED";
/// The "You have been awarded qualified teacher status" email (`PUT /api/v1/teachers/{trn}/qts`, DESIGN §7.2).
pub const NOTIFY_TEMPLATE_QTS_AWARDED: &str = "NOTIFY_TEMPLATE_QTS_AWARDED";
/// The DfE Identity account's passcode email (personalisation `code`; DESIGN §7.3).
pub const NOTIFY_TEMPLATE_EMAIL_PASSCODE: &str = "NOTIFY_TEMPLATE_EMAIL_PASSCODE";
/// The DfE Identity account's passcode text message, a Notify SMS template (personalisation `code`; DESIGN §7.3).
pub const NOTIFY_TEMPLATE_SMS_PASSCODE: &str = "NOTIFY_TEMPLATE_SMS_PASSCODE";
/// "Your DfE Identity sign-ins have been combined" (personalisation `name`, `ways_in`; DESIGN §7.3, TRN in use).
pub const NOTIFY_TEMPLATE_ACCOUNTS_MERGED: &str = "NOTIFY_TEMPLATE_ACCOUNTS_MERGED";
/// "The email address of your DfE Identity account has changed", to the old address (personalisation `name`,
/// `new_email` partly hidden; issue 13 §4).
pub const NOTIFY_TEMPLATE_ACCOUNT_EMAIL_CHANGED: &str = "NOTIFY_TEMPLATE_ACCOUNT_EMAIL_CHANGED";
pub const NOTIFY_TEMPLATE_ACCOUNT_RECORD_FOUND: &str = "NOTIFY_TEMPLATE_ACCOUNT_RECORD_FOUND";
pub const NOTIFY_TEMPLATE_ACCOUNT_RECORD_NOT_FOUND: &str =
    "NOTIFY_TEMPLATE_ACCOUNT_RECORD_NOT_FOUND";
/// "We have removed your teaching record from your DfE Identity account": an administrator's disconnection, to an
/// account holder (`app::domain::support::disconnected_email`).
pub const NOTIFY_TEMPLATE_ACCOUNT_DISCONNECTED: &str = "NOTIFY_TEMPLATE_ACCOUNT_DISCONNECTED";
/// "You have been awarded qualified teacher status" without a link, for a record an account holder holds
/// (`app::domain::support::qts_awarded_email`).
pub const NOTIFY_TEMPLATE_QTS_AWARDED_ACCOUNT: &str = "NOTIFY_TEMPLATE_QTS_AWARDED_ACCOUNT";
/// The staff identity provider's tenant (Entra's directory id, the `tid` claim). Env `STAFF_OIDC_TENANT_ID`;
/// required in production, optional in development. When set, a staff sign-in from any other tenant is refused.
pub const STAFF_OIDC_TENANT_ID: &str = "STAFF_OIDC_TENANT_ID";
/// How long a session lasts without being used, in minutes (teachers and staff). Each request renews it. Env
/// `SESSION_IDLE_MINUTES`, default 120 (5 to 1440).
pub const SESSION_IDLE_MINUTES: &str = "SESSION_IDLE_MINUTES";
/// How long a teacher's session lasts at most from sign-in, however busy, in hours. Env
/// `TEACHER_SESSION_MAX_HOURS`, default 12 (1 to 72).
pub const TEACHER_SESSION_MAX_HOURS: &str = "TEACHER_SESSION_MAX_HOURS";
/// The same for a member of staff's session in the support console. Env `STAFF_SESSION_MAX_HOURS`, default 8
/// (1 to 72).
pub const STAFF_SESSION_MAX_HOURS: &str = "STAFF_SESSION_MAX_HOURS";

/// The development defaults that must never reach production: start-up refuses them there.
const DEV_ONE_LOGIN_CLIENT_ID: &str = "teacher-id-dev";
const DEV_STAFF_CLIENT_ID: &str = "teacher-id-staff-dev";
const DEV_STAFF_CLIENT_SECRET: &str = "dev-staff-secret";
const DEV_PASSCODE_KEY: &str = "teacher-id development passcode key, never production";

/// How long sessions last: an idle limit renewed on use, and an absolute limit from sign-in that is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLifetimes {
    pub idle: chrono::Duration,
    pub teacher_max: chrono::Duration,
    pub staff_max: chrono::Duration,
}

/// How staff sign in to the support console.
#[derive(Clone)]
pub struct StaffOidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// The only tenant (`tid`) whose staff may sign in, when set.
    pub tenant_id: Option<String>,
}

impl std::fmt::Debug for StaffOidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffOidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("tenant_id", &self.tenant_id)
            .finish()
    }
}

/// Where emails and text messages go.
#[derive(Clone)]
pub enum EmailConfig {
    /// GOV.UK Notify, with a template id per email and per text message.
    Notify {
        api_key: String,
        base_url: String,
        templates: std::collections::BTreeMap<app::domain::support::EmailTemplate, String>,
        sms_templates: std::collections::BTreeMap<app::domain::support::SmsTemplate, String>,
    },
    /// Development only: kept in the outbox and shown at `/dev/mailbox`, text messages too.
    DevMailbox,
}

impl std::fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Notify { base_url, .. } => f
                .debug_struct("Notify")
                .field("base_url", base_url)
                .field("api_key", &"***")
                .finish(),
            Self::DevMailbox => f.write_str("DevMailbox"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The service's configuration, read once at start-up.
#[derive(Clone)]
pub struct Config {
    pub listen_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub public_base_url: String,
    /// [`QTS_EMAIL_LINK`]: an http(s) URL without a query or fragment.
    pub qts_email_link: String,
    pub database_url: String,
    pub database_max_connections: u32,
    pub environment: Environment,
    pub log_format: LogFormat,
    pub log_level: String,
    pub seed_records: u32,
    pub max_body_bytes: usize,
    pub personal_pages_kept: usize,
    pub uploads_url: String,
    pub one_login: OneLoginConfig,
    pub staff_oidc: StaffOidcConfig,
    pub email: EmailConfig,
    pub sessions: SessionLifetimes,
    pub trusted_proxies: crate::http::client_addr::TrustedProxies,
    pub rate_limits: app::domain::journey::RateLimits,
    pub passcode_send_limits: app::domain::account::SendLimits,
    /// [`PASSCODE_KEY`]. Its `Debug` hides it.
    pub passcode_key: app::domain::account::PasscodeKey,
    pub api_rate_limit_per_minute: i64,
    pub max_connections: usize,
    pub header_read_timeout: std::time::Duration,
    pub proof_retention_days: u32,
}

/// How we reach GOV.UK One Login (one-login-rp.md rule 3: every URL configurable).
#[derive(Clone)]
pub struct OneLoginConfig {
    pub issuer: String,
    pub client_id: String,
    pub private_key_pem: String,
    pub key_id: Option<String>,
    pub identity_issuer: String,
    pub did_url: String,
    pub clock_skew_seconds: u64,
    pub account_url: String,
    /// `<PUBLIC_BASE_URL>/auth/callback`, registered with One Login.
    pub redirect_uri: String,
    /// `<PUBLIC_BASE_URL>/signed-out`, registered with One Login.
    pub post_logout_redirect_uri: String,
}

impl std::fmt::Debug for OneLoginConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneLoginConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("private_key_pem", &"***")
            .field("key_id", &self.key_id)
            .field("identity_issuer", &self.identity_issuer)
            .field("did_url", &self.did_url)
            .field("clock_skew_seconds", &self.clock_skew_seconds)
            .finish()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen_addr", &self.listen_addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("public_base_url", &self.public_base_url)
            .field("qts_email_link", &self.qts_email_link)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("environment", &self.environment)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("seed_records", &self.seed_records)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("personal_pages_kept", &self.personal_pages_kept)
            .field("uploads_url", &self.uploads_url)
            .field("one_login", &self.one_login)
            .field("staff_oidc", &self.staff_oidc)
            .field("email", &self.email)
            .field("sessions", &self.sessions)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("rate_limits", &self.rate_limits)
            .field("passcode_send_limits", &self.passcode_send_limits)
            .field("passcode_key", &self.passcode_key)
            .field("api_rate_limit_per_minute", &self.api_rate_limit_per_minute)
            .field("max_connections", &self.max_connections)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("proof_retention_days", &self.proof_retention_days)
            .finish()
    }
}

/// A configuration problem: which variable, and why it is wrong. Displayed as the one line start-up prints.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {var} {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &'static str| {
            lookup(var)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let environment = match get(APP_ENV).as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(_) => return Err(invalid(APP_ENV, "must be `development` or `production`")),
        };
        let log_format = match get(LOG_FORMAT).as_deref() {
            None if environment == Environment::Production => LogFormat::Json,
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid(LOG_FORMAT, "must be `pretty` or `json`")),
        };
        let log_level = get(LOG_LEVEL).unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(invalid(
                LOG_LEVEL,
                "is not a valid log filter, e.g. `info` or `server=debug,info`",
            ));
        }
        let public_base_url =
            get(PUBLIC_BASE_URL).unwrap_or_else(|| "http://localhost:3000".into());
        let public_base_url = public_base_url.trim_end_matches('/').to_string();
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://"))
            || public_base_url.contains(char::is_whitespace)
        {
            return Err(invalid(
                PUBLIC_BASE_URL,
                "must be an http:// or https:// URL",
            ));
        }
        if environment == Environment::Production && !public_base_url.starts_with("https://") {
            return Err(invalid(PUBLIC_BASE_URL, "must use https:// in production"));
        }
        let qts_email_link = get(QTS_EMAIL_LINK)
            .unwrap_or_else(|| format!("{public_base_url}{}", app::routes::SIGN_IN));
        if !url::Url::parse(&qts_email_link).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.query().is_none() && u.fragment().is_none()
        }) {
            return Err(invalid(
                QTS_EMAIL_LINK,
                "must be an http:// or https:// URL without a query or fragment",
            ));
        }
        let database_url =
            get(DATABASE_URL).unwrap_or_else(|| "sqlite://data/teacher-id.sqlite".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                DATABASE_URL,
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        let default_seed = if environment == Environment::Development {
            3000
        } else {
            0
        };
        let one_login = one_login_config(&get, environment, &public_base_url)?;
        let staff_oidc = staff_oidc_config(&get, environment, &public_base_url)?;
        let email = email_config(&get, environment)?;
        if environment == Environment::Production {
            refuse_development_values(&one_login, &staff_oidc, &email)?;
        }
        let sessions = SessionLifetimes {
            idle: chrono::Duration::minutes(parse_range(
                &get,
                SESSION_IDLE_MINUTES,
                120,
                5..=1440,
            )?),
            teacher_max: chrono::Duration::hours(parse_range(
                &get,
                TEACHER_SESSION_MAX_HOURS,
                12,
                1..=72,
            )?),
            staff_max: chrono::Duration::hours(parse_range(
                &get,
                STAFF_SESSION_MAX_HOURS,
                8,
                1..=72,
            )?),
        };
        let listen_addr = parse(
            &get,
            LISTEN_ADDR,
            "127.0.0.1:3000".parse().expect("valid default"),
            "must be an address and port, e.g. 127.0.0.1:3000",
        )?;
        let metrics_addr = metrics_addr(get(METRICS_ADDR), listen_addr)?;
        Ok(Self {
            listen_addr,
            metrics_addr,
            public_base_url,
            qts_email_link,
            database_url,
            database_max_connections: parse_range(&get, DATABASE_MAX_CONNECTIONS, 10, 1..=1000)?,
            environment,
            log_format,
            log_level,
            seed_records: parse_range(&get, SEED_RECORDS, default_seed, 0..=10_000_000)?,
            max_body_bytes: parse_range(&get, MAX_BODY_BYTES, 65_536, 1024..=50_000_000)?,
            personal_pages_kept: parse_range(&get, PERSONAL_PAGES_KEPT, 2_000, 0..=1_000_000)?,
            uploads_url: uploads_url(get(UPLOADS_URL))?,
            one_login,
            staff_oidc,
            email,
            sessions,
            trusted_proxies: crate::http::client_addr::TrustedProxies::parse(
                &get(TRUSTED_PROXIES).unwrap_or_default(),
            )
            .map_err(|reason| invalid(TRUSTED_PROXIES, &reason))?,
            rate_limits: rate_limits(&get)?,
            passcode_send_limits: passcode_send_limits(&get)?,
            passcode_key: passcode_key(&get, environment)?,
            api_rate_limit_per_minute: parse_range(
                &get,
                API_RATE_LIMIT_PER_MINUTE,
                600,
                1..=1_000_000,
            )?,
            max_connections: parse_range(&get, MAX_CONNECTIONS, 512, 2..=1_000_000)?,
            header_read_timeout: std::time::Duration::from_secs(parse_range(
                &get,
                HEADER_READ_TIMEOUT_SECONDS,
                10,
                1..=300,
            )?),
            proof_retention_days: parse_range(&get, PROOF_RETENTION_DAYS, 90, 1..=3650)?,
        })
    }

    /// Whether the development-only pages (the mailbox) are served.
    pub fn is_development(&self) -> bool {
        self.environment == Environment::Development
    }

    /// Whether the service is reached over HTTPS, so cookies must be `Secure` and HSTS sent.
    pub fn is_https(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }
}

fn passcode_send_limits(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<app::domain::account::SendLimits, ConfigError> {
    let default = app::domain::account::SendLimits::default();
    Ok(app::domain::account::SendLimits {
        per_target: parse_range(
            get,
            PASSCODE_SENDS_PER_TARGET,
            default.per_target,
            1..=1_000,
        )?,
        target_window_seconds: parse_range(
            get,
            PASSCODE_SENDS_TARGET_WINDOW_SECONDS,
            default.target_window_seconds,
            60..=86_400,
        )?,
        per_address: parse_range(
            get,
            PASSCODE_SENDS_PER_ADDRESS,
            default.per_address,
            1..=1_000_000,
        )?,
        address_window_seconds: parse_range(
            get,
            PASSCODE_SENDS_ADDRESS_WINDOW_SECONDS,
            default.address_window_seconds,
            60..=86_400,
        )?,
    })
}

/// [`PASSCODE_KEY`]: the development value only in development; at least 32 bytes.
fn passcode_key(
    get: &impl Fn(&'static str) -> Option<String>,
    environment: Environment,
) -> Result<app::domain::account::PasscodeKey, ConfigError> {
    let secret = match (get(PASSCODE_KEY), environment) {
        (Some(secret), Environment::Production) if secret == DEV_PASSCODE_KEY => {
            return Err(invalid(
                PASSCODE_KEY,
                "is the development value; production must use its own",
            ))
        }
        (Some(secret), _) => secret,
        (None, Environment::Development) => DEV_PASSCODE_KEY.to_string(),
        (None, Environment::Production) => {
            return Err(invalid(PASSCODE_KEY, "must be set in production"))
        }
    };
    app::domain::account::PasscodeKey::new(secret.as_bytes()).ok_or_else(|| {
        invalid(
            PASSCODE_KEY,
            "must be at least 32 bytes (e.g. `openssl rand -base64 48`)",
        )
    })
}

fn rate_limits(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<app::domain::journey::RateLimits, ConfigError> {
    let default = app::domain::journey::RateLimits::default();
    Ok(app::domain::journey::RateLimits {
        user_attempts: parse_range(
            get,
            RATE_LIMIT_USER_ATTEMPTS,
            default.user_attempts,
            1..=1_000_000,
        )?,
        user_window_seconds: parse_range(
            get,
            RATE_LIMIT_USER_WINDOW_SECONDS,
            default.user_window_seconds,
            1..=30 * 86_400,
        )?,
        address_attempts: parse_range(
            get,
            RATE_LIMIT_ADDRESS_ATTEMPTS,
            default.address_attempts,
            1..=1_000_000_000,
        )?,
        address_window_seconds: parse_range(
            get,
            RATE_LIMIT_ADDRESS_WINDOW_SECONDS,
            default.address_window_seconds,
            1..=30 * 86_400,
        )?,
    })
}

fn metrics_addr(
    value: Option<String>,
    listen_addr: SocketAddr,
) -> Result<Option<SocketAddr>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let addr: SocketAddr = value.parse().map_err(|_| {
        invalid(
            METRICS_ADDR,
            "must be an address and port, e.g. 127.0.0.1:9100",
        )
    })?;
    // The same address would put the metrics on the public listener's port (or fail to bind at start-up).
    if addr == listen_addr {
        return Err(invalid(METRICS_ADDR, "must differ from LISTEN_ADDR"));
    }
    Ok(Some(addr))
}

fn uploads_url(value: Option<String>) -> Result<String, ConfigError> {
    let value = value.unwrap_or_else(|| "data/uploads".into());
    let scheme_ok = [
        "file://", "s3://", "az://", "azure://", "abfs://", "abfss://",
    ]
    .iter()
    .any(|s| value.starts_with(s));
    if value.contains("://") && !scheme_ok {
        return Err(invalid(
            UPLOADS_URL,
            "must be a folder, file://, s3:// or az:// URL",
        ));
    }
    Ok(value)
}

fn one_login_config(
    get: &impl Fn(&'static str) -> Option<String>,
    environment: Environment,
    public_base_url: &str,
) -> Result<OneLoginConfig, ConfigError> {
    let development = environment == Environment::Development;
    let required = |var: &'static str, dev_default: &str| -> Result<String, ConfigError> {
        match get(var) {
            Some(v) => Ok(v),
            None if development => Ok(dev_default.to_string()),
            None => Err(invalid(var, "must be set in production")),
        }
    };
    let url = |var: &'static str, value: String| -> Result<String, ConfigError> {
        if (value.starts_with("https://") || value.starts_with("http://"))
            && url::Url::parse(&value).is_ok()
        {
            Ok(value)
        } else {
            Err(invalid(var, "must be an http:// or https:// URL"))
        }
    };
    let issuer = url(
        ONE_LOGIN_ISSUER,
        required(ONE_LOGIN_ISSUER, "http://127.0.0.1:3900/")?,
    )?;
    if !issuer.ends_with('/') {
        return Err(invalid(
            ONE_LOGIN_ISSUER,
            "must end with `/`, exactly as One Login's discovery gives it",
        ));
    }
    let client_id = required(ONE_LOGIN_CLIENT_ID, DEV_ONE_LOGIN_CLIENT_ID)?;
    let private_key_pem = match (get(ONE_LOGIN_PRIVATE_KEY), get(ONE_LOGIN_PRIVATE_KEY_FILE)) {
        (Some(pem), _) => pem,
        (None, file) => {
            let path = match file {
                Some(path) => path,
                None if development => "data/keys/one-login-rp.pem".to_string(),
                None => {
                    return Err(invalid(
                        ONE_LOGIN_PRIVATE_KEY,
                        "or ONE_LOGIN_PRIVATE_KEY_FILE must be set in production",
                    ))
                }
            };
            std::fs::read_to_string(&path).map_err(|e| {
                invalid(
                    ONE_LOGIN_PRIVATE_KEY_FILE,
                    &format!("could not be read from {path}: {e}"),
                )
            })?
        }
    };
    if jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).is_err() {
        return Err(invalid(
            ONE_LOGIN_PRIVATE_KEY,
            "is not an RSA private key in PEM form",
        ));
    }
    let identity_issuer = url(
        ONE_LOGIN_IDENTITY_ISSUER,
        required(ONE_LOGIN_IDENTITY_ISSUER, &issuer)?,
    )?;
    let did_url = url(
        ONE_LOGIN_DID_URL,
        required(ONE_LOGIN_DID_URL, &format!("{issuer}.well-known/did.json"))?,
    )?;
    let account_url = url(
        ONE_LOGIN_ACCOUNT_URL,
        get(ONE_LOGIN_ACCOUNT_URL).unwrap_or_else(|| "https://home.account.gov.uk".into()),
    )?;
    Ok(OneLoginConfig {
        issuer,
        client_id,
        private_key_pem,
        key_id: get(ONE_LOGIN_KEY_ID),
        identity_issuer,
        did_url,
        clock_skew_seconds: parse_range(get, ONE_LOGIN_CLOCK_SKEW_SECONDS, 30, 0..=300)?,
        account_url,
        redirect_uri: format!("{public_base_url}/auth/callback"),
        post_logout_redirect_uri: format!("{public_base_url}/signed-out"),
    })
}

fn http_url(var: &'static str, value: String) -> Result<String, ConfigError> {
    if (value.starts_with("https://") || value.starts_with("http://"))
        && url::Url::parse(&value).is_ok()
    {
        Ok(value)
    } else {
        Err(invalid(var, "must be an http:// or https:// URL"))
    }
}

fn staff_oidc_config(
    get: &impl Fn(&'static str) -> Option<String>,
    environment: Environment,
    public_base_url: &str,
) -> Result<StaffOidcConfig, ConfigError> {
    let required = |var: &'static str, dev_default: &str| match get(var) {
        Some(v) => Ok(v),
        None if environment == Environment::Development => Ok(dev_default.to_string()),
        None => Err(invalid(var, "must be set in production")),
    };
    Ok(StaffOidcConfig {
        issuer: http_url(
            STAFF_OIDC_ISSUER,
            required(STAFF_OIDC_ISSUER, "http://127.0.0.1:3900/")?,
        )?,
        client_id: required(STAFF_OIDC_CLIENT_ID, DEV_STAFF_CLIENT_ID)?,
        client_secret: required(STAFF_OIDC_CLIENT_SECRET, DEV_STAFF_CLIENT_SECRET)?,
        redirect_uri: format!("{public_base_url}/support/auth/callback"),
        tenant_id: match get(STAFF_OIDC_TENANT_ID).filter(|t| !t.trim().is_empty()) {
            Some(t) => Some(t.trim().to_string()),
            None if environment == Environment::Development => None,
            None => return Err(invalid(STAFF_OIDC_TENANT_ID, "must be set in production")),
        },
    })
}

fn email_config(
    get: &impl Fn(&'static str) -> Option<String>,
    environment: Environment,
) -> Result<EmailConfig, ConfigError> {
    use app::domain::support::{EmailTemplate, SmsTemplate};
    let Some(api_key) = get(NOTIFY_API_KEY) else {
        return match environment {
            Environment::Development => Ok(EmailConfig::DevMailbox),
            Environment::Production => Err(invalid(NOTIFY_API_KEY, "must be set in production")),
        };
    };
    let base_url = http_url(
        NOTIFY_BASE_URL,
        get(NOTIFY_BASE_URL).unwrap_or_else(|| "https://api.notifications.service.gov.uk".into()),
    )?;
    if notify::NotifyClient::new(&api_key, &base_url).is_err() {
        return Err(invalid(
            NOTIFY_API_KEY,
            "is not a Notify API key (name, service id and secret)",
        ));
    }
    let mut templates = std::collections::BTreeMap::new();
    for (var, template) in [
        (NOTIFY_TEMPLATE_CONNECTED, EmailTemplate::Connected),
        (
            NOTIFY_TEMPLATE_IDENTITY_VERIFIED_CONNECTED,
            EmailTemplate::IdentityVerifiedAndConnected,
        ),
        (NOTIFY_TEMPLATE_REJECTED, EmailTemplate::Rejected),
        (NOTIFY_TEMPLATE_NOT_CONNECTED, EmailTemplate::NotConnected),
        (NOTIFY_TEMPLATE_DISCONNECTED, EmailTemplate::Disconnected),
        (NOTIFY_TEMPLATE_QTS_AWARDED, EmailTemplate::QtsAwarded),
        (NOTIFY_TEMPLATE_EMAIL_PASSCODE, EmailTemplate::Passcode),
        (
            NOTIFY_TEMPLATE_ACCOUNTS_MERGED,
            EmailTemplate::AccountsMerged,
        ),
        (
            NOTIFY_TEMPLATE_ACCOUNT_EMAIL_CHANGED,
            EmailTemplate::AccountEmailChanged,
        ),
        (
            NOTIFY_TEMPLATE_ACCOUNT_RECORD_FOUND,
            EmailTemplate::AccountRecordFound,
        ),
        (
            NOTIFY_TEMPLATE_ACCOUNT_RECORD_NOT_FOUND,
            EmailTemplate::AccountRecordNotFound,
        ),
        (
            NOTIFY_TEMPLATE_ACCOUNT_DISCONNECTED,
            EmailTemplate::AccountDisconnected,
        ),
        (
            NOTIFY_TEMPLATE_QTS_AWARDED_ACCOUNT,
            EmailTemplate::QtsAwardedAccount,
        ),
    ] {
        templates.insert(template, template_id(get, var)?);
    }
    let sms_templates = std::collections::BTreeMap::from([(
        SmsTemplate::Passcode,
        template_id(get, NOTIFY_TEMPLATE_SMS_PASSCODE)?,
    )]);
    Ok(EmailConfig::Notify {
        api_key,
        base_url,
        templates,
        sms_templates,
    })
}

/// A Notify template id from `var`, which must be set when `NOTIFY_API_KEY` is.
fn template_id(
    get: &impl Fn(&'static str) -> Option<String>,
    var: &'static str,
) -> Result<String, ConfigError> {
    let id = get(var).ok_or_else(|| invalid(var, "must be set when NOTIFY_API_KEY is"))?;
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(invalid(var, "must be a Notify template id (a UUID)"));
    }
    Ok(id)
}

/// In production, the development client ids and secret (which the stand-in and this repository publish) and
/// plain `http://` identity or Notify URLs are a mistake, never a choice: refuse to start with them.
fn refuse_development_values(
    one_login: &OneLoginConfig,
    staff_oidc: &StaffOidcConfig,
    email: &EmailConfig,
) -> Result<(), ConfigError> {
    for (var, value, dev_value) in [
        (
            ONE_LOGIN_CLIENT_ID,
            &one_login.client_id,
            DEV_ONE_LOGIN_CLIENT_ID,
        ),
        (
            STAFF_OIDC_CLIENT_ID,
            &staff_oidc.client_id,
            DEV_STAFF_CLIENT_ID,
        ),
        (
            STAFF_OIDC_CLIENT_SECRET,
            &staff_oidc.client_secret,
            DEV_STAFF_CLIENT_SECRET,
        ),
    ] {
        if value == dev_value {
            return Err(invalid(
                var,
                "is the development value; production must use its own",
            ));
        }
    }
    let mut urls = vec![
        (ONE_LOGIN_ISSUER, one_login.issuer.as_str()),
        (
            ONE_LOGIN_IDENTITY_ISSUER,
            one_login.identity_issuer.as_str(),
        ),
        (ONE_LOGIN_DID_URL, one_login.did_url.as_str()),
        (ONE_LOGIN_ACCOUNT_URL, one_login.account_url.as_str()),
        (STAFF_OIDC_ISSUER, staff_oidc.issuer.as_str()),
    ];
    if let EmailConfig::Notify { base_url, .. } = email {
        urls.push((NOTIFY_BASE_URL, base_url.as_str()));
    }
    for (var, url) in urls {
        if !url.starts_with("https://") {
            return Err(invalid(var, "must use https:// in production"));
        }
    }
    Ok(())
}

fn invalid(var: &'static str, reason: &str) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

fn parse<T: FromStr>(
    get: &impl Fn(&'static str) -> Option<String>,
    var: &'static str,
    default: T,
    reason: &str,
) -> Result<T, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| invalid(var, reason)),
    }
}

fn parse_range<T: FromStr + PartialOrd + std::fmt::Display + Copy>(
    get: &impl Fn(&'static str) -> Option<String>,
    var: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError> {
    let reason = format!(
        "must be a whole number from {} to {}",
        range.start(),
        range.end()
    );
    let value = parse(get, var, default, &reason)?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(invalid(var, &reason))
    }
}

/// A database URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TEST_KEY: &str = include_str!("../tests/fixtures/rp-test-key.pem");

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry(ONE_LOGIN_PRIVATE_KEY.into())
            .or_insert_with(|| TEST_KEY.into());
        Config::from_lookup(|k| map.get(k).cloned())
    }

    fn production(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars =
            vec![
            (APP_ENV, "production"),
            (PUBLIC_BASE_URL, "https://teacher-id.education.gov.uk/"),
            (ONE_LOGIN_ISSUER, "https://oidc.account.gov.uk/"),
            (ONE_LOGIN_CLIENT_ID, "abc123"),
            (
                ONE_LOGIN_IDENTITY_ISSUER,
                "https://identity.account.gov.uk/",
            ),
            (
                ONE_LOGIN_DID_URL,
                "https://identity.account.gov.uk/.well-known/did.json",
            ),
            (
                STAFF_OIDC_ISSUER,
                "https://login.microsoftonline.com/tenant/v2.0",
            ),
            (STAFF_OIDC_CLIENT_ID, "staff-client"),
            (STAFF_OIDC_CLIENT_SECRET, "staff-secret"),
            (STAFF_OIDC_TENANT_ID, "72f988bf-86f1-41af-91ab-2d7cd011db47"),
            (
                NOTIFY_API_KEY,
                "live-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0",
            ),
            (
                NOTIFY_TEMPLATE_CONNECTED,
                "f33517ff-2a88-4f6e-b855-c550268ce08a",
            ),
            (
                NOTIFY_TEMPLATE_IDENTITY_VERIFIED_CONNECTED,
                "f33517ff-2a88-4f6e-b855-c550268ce08b",
            ),
            (
                NOTIFY_TEMPLATE_REJECTED,
                "f33517ff-2a88-4f6e-b855-c550268ce08c",
            ),
            (
                NOTIFY_TEMPLATE_NOT_CONNECTED,
                "f33517ff-2a88-4f6e-b855-c550268ce08d",
            ),
            (
                NOTIFY_TEMPLATE_DISCONNECTED,
                "f33517ff-2a88-4f6e-b855-c550268ce08e",
            ),
            (
                NOTIFY_TEMPLATE_QTS_AWARDED,
                "f33517ff-2a88-4f6e-b855-c550268ce08f",
            ),
            (
                NOTIFY_TEMPLATE_EMAIL_PASSCODE,
                "f33517ff-2a88-4f6e-b855-c550268ce090",
            ),
            (
                NOTIFY_TEMPLATE_SMS_PASSCODE,
                "f33517ff-2a88-4f6e-b855-c550268ce091",
            ),
            (
                NOTIFY_TEMPLATE_ACCOUNTS_MERGED,
                "f33517ff-2a88-4f6e-b855-c550268ce092",
            ),
            (
                NOTIFY_TEMPLATE_ACCOUNT_EMAIL_CHANGED,
                "f33517ff-2a88-4f6e-b855-c550268ce093",
            ),
            (
                NOTIFY_TEMPLATE_ACCOUNT_RECORD_FOUND,
                "f33517ff-2a88-4f6e-b855-c550268ce094",
            ),
            (
                NOTIFY_TEMPLATE_ACCOUNT_RECORD_NOT_FOUND,
                "f33517ff-2a88-4f6e-b855-c550268ce095",
            ),
            (
                NOTIFY_TEMPLATE_ACCOUNT_DISCONNECTED,
                "f33517ff-2a88-4f6e-b855-c550268ce096",
            ),
            (
                NOTIFY_TEMPLATE_QTS_AWARDED_ACCOUNT,
                "f33517ff-2a88-4f6e-b855-c550268ce097",
            ),
            (PASSCODE_KEY, "a production passcode key of at least 32 bytes"),
        ];
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn defaults_run_a_development_service_on_sqlite() {
        let c = config(&[]).unwrap();
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite://data/teacher-id.sqlite");
        assert_eq!(c.environment, Environment::Development);
        assert_eq!(c.log_format, LogFormat::Pretty);
        assert_eq!(c.seed_records, 3000);
        assert!(!c.is_https());
        assert_eq!(c.qts_email_link, "http://localhost:3000/sign-in");
        let through_a_service = config(&[(QTS_EMAIL_LINK, "http://localhost:3200/aytq/sign-in")]);
        assert_eq!(
            through_a_service.unwrap().qts_email_link,
            "http://localhost:3200/aytq/sign-in"
        );
    }

    #[test]
    fn production_defaults_to_json_logs_no_seeding_and_requires_https() {
        let err = config(&[(APP_ENV, "production")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration error: PUBLIC_BASE_URL must use https:// in production"
        );
        let c = config(&production(&[])).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.seed_records, 0);
        assert_eq!(c.public_base_url, "https://teacher-id.education.gov.uk");
        assert!(c.is_https());
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&str, &str)] = &[
            (LISTEN_ADDR, "localhost"),
            (DATABASE_URL, "mysql://x"),
            (DATABASE_MAX_CONNECTIONS, "0"),
            (DATABASE_MAX_CONNECTIONS, "ten"),
            (APP_ENV, "staging"),
            (LOG_FORMAT, "xml"),
            (LOG_LEVEL, "[[["),
            (SEED_RECORDS, "-1"),
            (MAX_BODY_BYTES, "1"),
            (PERSONAL_PAGES_KEPT, "-1"),
            (PUBLIC_BASE_URL, "ftp://x"),
            (QTS_EMAIL_LINK, "https://aytq.example/sign-in?x=1"),
            (QTS_EMAIL_LINK, "javascript:alert(1)"),
            (QTS_EMAIL_LINK, "not a url"),
        ];
        for (var, value) in cases {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, *var, "{var}={value}");
            assert!(err
                .to_string()
                .starts_with(&format!("configuration error: {var} ")));
        }
    }

    #[test]
    fn rule_3_one_login_urls_are_configuration_and_production_must_set_them() {
        let dev = config(&[]).unwrap().one_login;
        assert_eq!(dev.issuer, "http://127.0.0.1:3900/");
        assert_eq!(dev.did_url, "http://127.0.0.1:3900/.well-known/did.json");
        assert_eq!(dev.redirect_uri, "http://localhost:3000/auth/callback");
        assert_eq!(
            dev.post_logout_redirect_uri,
            "http://localhost:3000/signed-out"
        );
        let prod = config(&production(&[])).unwrap().one_login;
        assert_eq!(prod.identity_issuer, "https://identity.account.gov.uk/");
        assert_ne!(
            prod.identity_issuer, prod.issuer,
            "pitfall 3: the identity issuer differs in the real service"
        );
        for var in [
            ONE_LOGIN_ISSUER,
            ONE_LOGIN_CLIENT_ID,
            ONE_LOGIN_IDENTITY_ISSUER,
            ONE_LOGIN_DID_URL,
        ] {
            let vars: Vec<_> = production(&[])
                .into_iter()
                .filter(|(k, _)| *k != var)
                .collect();
            assert_eq!(config(&vars).unwrap_err().var, var);
        }
    }

    #[test]
    fn bad_one_login_settings_name_their_variable() {
        let cases: &[(&str, &str)] = &[
            (ONE_LOGIN_ISSUER, "http://127.0.0.1:3900"),
            (ONE_LOGIN_ISSUER, "not a url"),
            (
                ONE_LOGIN_PRIVATE_KEY,
                "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----",
            ),
            (ONE_LOGIN_DID_URL, "ftp://x"),
            (ONE_LOGIN_CLOCK_SKEW_SECONDS, "3600"),
        ];
        for (var, value) in cases {
            assert_eq!(
                config(&[(var, value)]).unwrap_err().var,
                *var,
                "{var}={value}"
            );
        }
        let missing_file = config(&[(ONE_LOGIN_PRIVATE_KEY_FILE, "/nonexistent/key.pem")]);
        let vars: HashMap<String, String> = [(
            ONE_LOGIN_PRIVATE_KEY_FILE.to_string(),
            "/nonexistent/key.pem".to_string(),
        )]
        .into();
        let without_key = Config::from_lookup(|k| vars.get(k).cloned()).unwrap_err();
        assert_eq!(without_key.var, ONE_LOGIN_PRIVATE_KEY_FILE);
        assert!(
            missing_file.is_ok(),
            "a key given directly wins over a file"
        );
    }

    #[test]
    fn the_staff_tenant_and_the_disconnected_template_are_required_in_production() {
        assert_eq!(
            config(&[]).unwrap().staff_oidc.tenant_id,
            None,
            "any tenant in development"
        );
        assert_eq!(
            config(&production(&[]))
                .unwrap()
                .staff_oidc
                .tenant_id
                .as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        for var in [
            STAFF_OIDC_TENANT_ID,
            NOTIFY_TEMPLATE_DISCONNECTED,
            NOTIFY_TEMPLATE_QTS_AWARDED,
            NOTIFY_TEMPLATE_EMAIL_PASSCODE,
            NOTIFY_TEMPLATE_SMS_PASSCODE,
            NOTIFY_TEMPLATE_ACCOUNTS_MERGED,
            NOTIFY_TEMPLATE_ACCOUNT_EMAIL_CHANGED,
            NOTIFY_TEMPLATE_ACCOUNT_RECORD_FOUND,
            NOTIFY_TEMPLATE_ACCOUNT_RECORD_NOT_FOUND,
            NOTIFY_TEMPLATE_ACCOUNT_DISCONNECTED,
            NOTIFY_TEMPLATE_QTS_AWARDED_ACCOUNT,
        ] {
            let vars: Vec<(&str, &str)> = production(&[])
                .into_iter()
                .filter(|(k, _)| *k != var)
                .collect();
            assert_eq!(config(&vars).unwrap_err().var, var);
        }
    }

    #[test]
    fn production_refuses_the_development_client_ids_and_secret() {
        for (var, dev_value) in [
            (ONE_LOGIN_CLIENT_ID, "teacher-id-dev"),
            (STAFF_OIDC_CLIENT_ID, "teacher-id-staff-dev"),
            (STAFF_OIDC_CLIENT_SECRET, "dev-staff-secret"),
        ] {
            let err = config(&production(&[(var, dev_value)])).unwrap_err();
            assert_eq!(err.var, var, "{var}={dev_value}");
            assert!(err.reason.contains("development value"), "{err}");
            // The same value is the default in development.
            assert!(config(&[(var, dev_value)]).is_ok());
        }
    }

    #[test]
    fn the_passcode_key_has_a_development_default_that_production_refuses() {
        let dev = config(&[]).unwrap().passcode_key;
        let own = config(&[(PASSCODE_KEY, "another key of at least thirty-two bytes")])
            .unwrap()
            .passcode_key;
        let email = app::domain::account::AccountEmail::parse("jo@example.com").unwrap();
        let target = app::domain::account::PasscodeTarget::Email(email);
        let purpose = app::domain::account::PasscodePurpose::SignIn;
        assert_ne!(
            dev.slot(&target, purpose),
            own.slot(&target, purpose),
            "the key set is the key used"
        );
        assert!(!format!("{:?}", config(&[]).unwrap()).contains(DEV_PASSCODE_KEY));
        let missing: Vec<_> = production(&[])
            .into_iter()
            .filter(|(k, _)| *k != PASSCODE_KEY)
            .collect();
        let err = config(&missing).unwrap_err();
        assert_eq!(
            (err.var, err.reason.as_str()),
            (PASSCODE_KEY, "must be set in production")
        );
        let err = config(&production(&[(PASSCODE_KEY, DEV_PASSCODE_KEY)])).unwrap_err();
        assert!(err.reason.contains("development value"), "{err}");
        for short in ["short", &"x".repeat(31)] {
            assert_eq!(
                config(&[(PASSCODE_KEY, short)]).unwrap_err().var,
                PASSCODE_KEY
            );
        }
        assert!(config(&production(&[])).is_ok());
    }

    #[test]
    fn production_refuses_plain_http_issuers_and_notify_url() {
        for (var, url) in [
            (ONE_LOGIN_ISSUER, "http://oidc.account.gov.uk/"),
            (ONE_LOGIN_IDENTITY_ISSUER, "http://identity.account.gov.uk/"),
            (
                ONE_LOGIN_DID_URL,
                "http://identity.account.gov.uk/.well-known/did.json",
            ),
            (ONE_LOGIN_ACCOUNT_URL, "http://home.account.gov.uk"),
            (STAFF_OIDC_ISSUER, "http://127.0.0.1:3900/"),
            (NOTIFY_BASE_URL, "http://127.0.0.1:3901"),
        ] {
            let err = config(&production(&[(var, url)])).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("configuration error: {var} must use https:// in production")
            );
            assert!(
                config(&[(var, url)]).is_ok(),
                "{var} may be http:// in development"
            );
        }
    }

    #[test]
    fn session_lifetimes_default_to_two_hours_idle_and_12_or_8_hours_in_all() {
        let c = config(&[]).unwrap().sessions;
        assert_eq!(c.idle, chrono::Duration::hours(2));
        assert_eq!(c.teacher_max, chrono::Duration::hours(12));
        assert_eq!(c.staff_max, chrono::Duration::hours(8));
        let c = config(&[
            (SESSION_IDLE_MINUTES, "30"),
            (TEACHER_SESSION_MAX_HOURS, "6"),
            (STAFF_SESSION_MAX_HOURS, "4"),
        ])
        .unwrap()
        .sessions;
        assert_eq!(
            (c.idle, c.teacher_max, c.staff_max),
            (
                chrono::Duration::minutes(30),
                chrono::Duration::hours(6),
                chrono::Duration::hours(4)
            )
        );
        for var in [
            SESSION_IDLE_MINUTES,
            TEACHER_SESSION_MAX_HOURS,
            STAFF_SESSION_MAX_HOURS,
        ] {
            assert_eq!(config(&[(var, "0")]).unwrap_err().var, var);
        }
    }

    #[test]
    fn limits_behind_a_load_balancer_are_configuration() {
        let c = config(&[]).unwrap();
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.rate_limits, app::domain::journey::RateLimits::default());
        assert_eq!(
            c.passcode_send_limits,
            app::domain::account::SendLimits::default()
        );
        assert_eq!(c.max_connections, 512);
        assert_eq!(c.header_read_timeout, std::time::Duration::from_secs(10));
        assert_eq!(c.proof_retention_days, 90);
        let c = config(&[
            (TRUSTED_PROXIES, "10.0.0.0/8, 192.0.2.1"),
            (RATE_LIMIT_USER_ATTEMPTS, "1000"),
            (RATE_LIMIT_USER_WINDOW_SECONDS, "60"),
            (RATE_LIMIT_ADDRESS_ATTEMPTS, "100000"),
            (RATE_LIMIT_ADDRESS_WINDOW_SECONDS, "120"),
            (MAX_CONNECTIONS, "2000"),
            (HEADER_READ_TIMEOUT_SECONDS, "5"),
            (PROOF_RETENTION_DAYS, "30"),
            (PASSCODE_SENDS_PER_TARGET, "3"),
            (PASSCODE_SENDS_TARGET_WINDOW_SECONDS, "600"),
            (PASSCODE_SENDS_PER_ADDRESS, "1000"),
            (PASSCODE_SENDS_ADDRESS_WINDOW_SECONDS, "7200"),
        ])
        .unwrap();
        assert_eq!(
            c.passcode_send_limits,
            app::domain::account::SendLimits {
                per_target: 3,
                target_window_seconds: 600,
                per_address: 1000,
                address_window_seconds: 7200,
            }
        );
        assert!(c.trusted_proxies.trusts("10.9.8.7".parse().unwrap()));
        assert!(c.trusted_proxies.trusts("192.0.2.1".parse().unwrap()));
        assert!(!c.trusted_proxies.trusts("192.0.2.2".parse().unwrap()));
        assert_eq!(
            c.rate_limits,
            app::domain::journey::RateLimits {
                user_attempts: 1000,
                user_window_seconds: 60,
                address_attempts: 100_000,
                address_window_seconds: 120,
            }
        );
        assert_eq!(c.max_connections, 2000);
        assert_eq!(c.header_read_timeout, std::time::Duration::from_secs(5));
        assert_eq!(c.proof_retention_days, 30);
        for (var, value) in [
            (TRUSTED_PROXIES, "10.0.0.0/40"),
            (TRUSTED_PROXIES, "proxy.internal"),
            (RATE_LIMIT_USER_ATTEMPTS, "0"),
            (RATE_LIMIT_ADDRESS_WINDOW_SECONDS, "-5"),
            (MAX_CONNECTIONS, "1"),
            (HEADER_READ_TIMEOUT_SECONDS, "0"),
            (PROOF_RETENTION_DAYS, "0"),
            (PASSCODE_SENDS_PER_TARGET, "0"),
            (PASSCODE_SENDS_ADDRESS_WINDOW_SECONDS, "5"),
        ] {
            assert_eq!(
                config(&[(var, value)]).unwrap_err().var,
                var,
                "{var}={value}"
            );
        }
    }

    #[test]
    fn metrics_are_off_unless_an_address_of_their_own_is_given() {
        assert_eq!(config(&[]).unwrap().metrics_addr, None);
        assert_eq!(config(&[(METRICS_ADDR, "  ")]).unwrap().metrics_addr, None);
        let c = config(&[(METRICS_ADDR, "10.0.0.5:9100")]).unwrap();
        assert_eq!(c.metrics_addr, Some("10.0.0.5:9100".parse().unwrap()));
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:3000");
        for value in ["9100", "localhost:9100", "127.0.0.1", "127.0.0.1:3000"] {
            let err = config(&[(METRICS_ADDR, value)]).unwrap_err();
            assert_eq!(err.var, METRICS_ADDR, "{value}");
        }
        assert!(config(&[
            (LISTEN_ADDR, "0.0.0.0:8080"),
            (METRICS_ADDR, "0.0.0.0:8080")
        ])
        .is_err());
        assert!(config(&[
            (LISTEN_ADDR, "0.0.0.0:8080"),
            (METRICS_ADDR, "127.0.0.1:3000")
        ])
        .is_ok());
    }

    #[test]
    fn the_private_key_never_reaches_the_logs() {
        let shown = format!("{:?}", config(&[]).unwrap());
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }

    #[test]
    fn passwords_never_reach_the_logs() {
        let c = config(&[(DATABASE_URL, "postgres://teacher:s3cret@db:5432/tid")]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://teacher:***@db:5432/tid"));
    }
}
