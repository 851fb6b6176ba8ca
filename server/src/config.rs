//! Configuration from environment variables. Every variable, its default and its meaning is listed here and in
//! the README. A bad value stops start-up with one line naming the variable and what is wrong with it.

use std::net::SocketAddr;
use std::str::FromStr;

/// Where the service listens. Env `LISTEN_ADDR`, default `127.0.0.1:3000`.
pub const LISTEN_ADDR: &str = "LISTEN_ADDR";
/// The address people use to reach the service, for links and cookie security. Env `PUBLIC_BASE_URL`, default
/// `http://localhost:3000`. Cookies are `Secure` and HSTS is sent when it starts with `https://`.
pub const PUBLIC_BASE_URL: &str = "PUBLIC_BASE_URL";
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
    pub public_base_url: String,
    pub database_url: String,
    pub database_max_connections: u32,
    pub environment: Environment,
    pub log_format: LogFormat,
    pub log_level: String,
    pub seed_records: u32,
    pub max_body_bytes: usize,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen_addr", &self.listen_addr)
            .field("public_base_url", &self.public_base_url)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("environment", &self.environment)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("seed_records", &self.seed_records)
            .field("max_body_bytes", &self.max_body_bytes)
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
        Ok(Self {
            listen_addr: parse(
                &get,
                LISTEN_ADDR,
                "127.0.0.1:3000".parse().expect("valid default"),
                "must be an address and port, e.g. 127.0.0.1:3000",
            )?,
            public_base_url,
            database_url,
            database_max_connections: parse_range(&get, DATABASE_MAX_CONNECTIONS, 10, 1..=1000)?,
            environment,
            log_format,
            log_level,
            seed_records: parse_range(&get, SEED_RECORDS, default_seed, 0..=10_000_000)?,
            max_body_bytes: parse_range(&get, MAX_BODY_BYTES, 65_536, 1024..=50_000_000)?,
        })
    }

    /// Whether the service is reached over HTTPS, so cookies must be `Secure` and HSTS sent.
    pub fn is_https(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }
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

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
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
    }

    #[test]
    fn production_defaults_to_json_logs_no_seeding_and_requires_https() {
        let err = config(&[(APP_ENV, "production")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration error: PUBLIC_BASE_URL must use https:// in production"
        );
        let c = config(&[
            (APP_ENV, "production"),
            (PUBLIC_BASE_URL, "https://teacher-id.education.gov.uk/"),
        ])
        .unwrap();
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
            (PUBLIC_BASE_URL, "ftp://x"),
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
    fn passwords_never_reach_the_logs() {
        let c = config(&[(DATABASE_URL, "postgres://teacher:s3cret@db:5432/tid")]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://teacher:***@db:5432/tid"));
    }
}
