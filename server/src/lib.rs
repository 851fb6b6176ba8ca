//! The Teacher ID server: configuration, storage, HTTP, and the commands `main` offers.

pub mod bench;
pub mod config;
pub mod console;
pub mod db;
pub mod http;
pub mod listener;
pub mod onelogin;
pub mod outbox;
pub mod seed;
pub mod staff_auth;
pub mod state;
pub mod telemetry;
pub mod uploads;

use crate::config::Config;
use crate::db::DynStore;
use crate::http::assets::Assets;
use crate::state::AppState;
use axum::serve::ListenerExt;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A failure that stops a command.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] db::StoreError),
    #[error("could not listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("could not read static files: {0}")]
    Assets(std::io::Error),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("One Login client: {0}")]
    OneLogin(#[from] onelogin::OneLoginError),
    #[error("uploads store: {0}")]
    Uploads(String),
    #[error("staff sign-in: {0}")]
    StaffAuth(#[from] staff_auth::StaffAuthError),
    #[error("email: {0}")]
    Email(String),
    #[error("benchmark failed: {0}")]
    Bench(String),
}

/// The Leptos options: where the compiled site is (`LEPTOS_SITE_ROOT`, default `target/site`). Hashed bundle
/// names are used when cargo-leptos left its `hash.txt` beside this binary.
pub fn leptos_options() -> LeptosOptions {
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    let hash_files = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt").is_file()))
        .unwrap_or(false);
    LeptosOptions::builder()
        .output_name("teacher-id")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .hash_files(hash_files)
        .build()
}

/// Builds the application state: opens (and migrates) the database and loads the static files.
pub async fn build_state(
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, ServerError> {
    let store = db::connect(&config.database_url, config.database_max_connections).await?;
    let assets = Assets::load(std::path::Path::new(leptos_options.site_root.as_ref()))
        .map_err(ServerError::Assets)?;
    let one_login = onelogin::OneLoginClient::new(&config.one_login, &user_agent(&config))?;
    let uploads = uploads::open(&config.uploads_url).map_err(ServerError::Uploads)?;
    let staff_oidc = staff_auth::StaffOidc::new(&config.staff_oidc, &user_agent(&config))?;
    Ok(AppState {
        leptos_options,
        store,
        uploads,
        config: Arc::new(config),
        assets: Arc::new(assets),
        one_login: Arc::new(one_login),
        staff_oidc: Arc::new(staff_oidc),
        live: tokio::sync::broadcast::channel(64).0,
        live_recheck: crate::http::support::LIVE_ROLE_RECHECK,
        outbox_wake: Arc::new(tokio::sync::Notify::new()),
        itt_providers: Arc::default(),
    })
}

/// Rule 23: who we are, on every call to One Login.
pub fn user_agent(config: &Config) -> String {
    format!(
        "teacher-id/{} (+{})",
        env!("CARGO_PKG_VERSION"),
        config.public_base_url
    )
}

pub async fn serve(config: Config) -> Result<(), ServerError> {
    let addr = config.listen_addr;
    let seed_records = config.seed_records;
    let public_url = config.public_base_url.clone();
    tracing::info!(database = %config::redact_url(&config.database_url), "starting");
    let state = build_state(config, leptos_options()).await?;
    if state.assets.is_empty() {
        tracing::warn!(site_root = %state.leptos_options.site_root, "no static files found: run `./run` to build them");
    }
    let assets = state.assets.clone();
    std::thread::spawn(move || assets.compress_all());
    seed_if_empty(&state.store, seed_records).await?;
    tokio::spawn(expire_sessions(
        state.store.clone(),
        state.config.rate_limits.longest_window_seconds(),
    ));
    tokio::spawn(uploads::housekeeping(
        state.store.clone(),
        state.uploads.clone(),
        state.config.proof_retention_days,
    ));
    let sender = outbox::Sender::from_config(&state.config.email).map_err(ServerError::Email)?;
    tokio::spawn(outbox::worker(
        state.store.clone(),
        Arc::new(sender),
        state.outbox_wake.clone(),
    ));
    tokio::spawn(outbox::watch_tasks(state.store.clone(), state.live.clone()));
    let limits = listener::ConnectionLimits::from_config(&state.config);
    let app = http::app(state);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Listen { addr, source })?;
    tracing::info!(%addr, "listening");
    println!("Teacher ID is running at {public_url} (listening on {addr})");
    // With a header-read timeout, a cap on connections, TCP_NODELAY, and the peer address for the per-address
    // rate limit of the connect journey.
    listener::serve(listener, app, limits, shutdown_signal()).await;
    tracing::info!("stopped after finishing in-flight requests");
    Ok(())
}

pub async fn migrate(config: &Config) -> Result<(), ServerError> {
    db::connect(&config.database_url, 1).await?;
    tracing::info!("migrations are up to date");
    Ok(())
}

/// Arguments of `server staff add`: `--email E --role R [--name N]`.
#[derive(Debug, PartialEq, Eq)]
pub struct StaffAddArgs {
    pub email: String,
    pub role: app::domain::support::Role,
    pub name: String,
}

impl StaffAddArgs {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        const USAGE: &str =
            "usage: server staff add --email EMAIL --role viewer|support_officer|administrator [--name NAME]";
        let (mut email, mut role, mut name) = (None, None, None);
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or(USAGE)?;
            match flag.as_str() {
                "--email" => email = Some(value.trim().to_string()),
                "--role" => {
                    role = Some(app::domain::support::Role::parse(value).ok_or_else(|| {
                        format!("unknown role `{value}`: expected viewer, support_officer or administrator")
                    })?)
                }
                "--name" => name = Some(value.trim().to_string()),
                _ => return Err(USAGE.into()),
            }
        }
        let email = email.filter(|e| {
            e.len() <= 254
                && e.split_once('@')
                    .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
        });
        let (Some(email), Some(role)) = (email, role) else {
            return Err(USAGE.into());
        };
        let name = name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| email.clone());
        Ok(Self { email, role, name })
    }
}

/// `server staff add`: gives someone a role before they first sign in (how the first administrator is made).
pub async fn staff_add(config: &Config, args: StaffAddArgs) -> Result<(), ServerError> {
    let store = db::connect(&config.database_url, 1).await?;
    let staff = store
        .add_staff(&args.email, &args.name, args.role, chrono::Utc::now())
        .await?;
    println!(
        "{} is now {}",
        staff.email,
        args.role.label().to_lowercase()
    );
    Ok(())
}

/// Arguments of `server seed`.
#[derive(Debug, PartialEq, Eq)]
pub struct SeedArgs {
    pub records: u64,
    pub seed: u64,
}

/// Reads `--flag N` pairs where every value is a whole number; `usage` names the flags for error messages.
pub fn number_flags(
    args: &[String],
    allowed: &[&str],
    usage: &str,
) -> Result<std::collections::HashMap<String, u64>, String> {
    let mut flags = std::collections::HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if !allowed.contains(&flag.as_str()) {
            return Err(format!("unknown option `{flag}`: expected {usage}"));
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag} must be a whole number, got `{value}`"))?;
        flags.insert(flag.clone(), number);
    }
    Ok(flags)
}

impl SeedArgs {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let flags = number_flags(args, &["--records", "--seed"], "--records N [--seed S]")?;
        let records = flags.get("--records").copied();
        if records.is_some_and(|n| n > 9_000_000) {
            return Err("--records must be 9000000 or fewer".into());
        }
        let seed = flags.get("--seed").copied().unwrap_or(1);
        Ok(Self {
            records: records.ok_or("seed needs --records N")?,
            seed,
        })
    }
}

pub async fn seed(config: &Config, args: SeedArgs) -> Result<(), ServerError> {
    let store = db::connect(&config.database_url, config.database_max_connections).await?;
    let start = store.count_records().await? as u64;
    let started = Instant::now();
    seed::seed_store(&store, start, args.records, args.seed).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded {} records (indexes {start}..{}) with seed {} in {seconds:.1} s ({:.0} records/s)",
        args.records,
        start + args.records,
        args.seed,
        args.records as f64 / seconds.max(f64::EPSILON)
    );
    Ok(())
}

async fn seed_if_empty(store: &DynStore, records: u32) -> Result<(), ServerError> {
    if records == 0 || store.count_records().await? > 0 {
        return Ok(());
    }
    let started = Instant::now();
    seed::seed_store(store, 0, records.into(), 1).await?;
    tracing::info!(
        records,
        seconds = started.elapsed().as_secs_f64(),
        "seeded synthetic teaching records"
    );
    Ok(())
}

async fn expire_sessions(store: DynStore, longest_window_seconds: i64) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        every.tick().await;
        match store.delete_expired_sessions(chrono::Utc::now()).await {
            Ok(n) if n > 0 => tracing::info!(sessions = n, "deleted expired sessions"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not delete expired sessions"),
        }
        // Attempt counters older than the longest rate-limit window count for nothing.
        let window = chrono::Duration::seconds(longest_window_seconds);
        if let Err(e) = store
            .forget_attempts_before(chrono::Utc::now() - window)
            .await
        {
            tracing::warn!(error = %e, "could not delete old attempt counters");
        }
        if let Err(e) = store.refresh_statistics().await {
            tracing::warn!(error = %e, "could not refresh the query planner's statistics");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// The ceiling for a dynamic response in `scripts/bench`: a bare axum handler returning fixed bytes, with the
/// same listener settings as the service.
pub async fn bench_baseline(file: &str, addr: std::net::SocketAddr) -> Result<(), ServerError> {
    let body = bytes::Bytes::from(std::fs::read(file).map_err(ServerError::Assets)?);
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move {
            (
                [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Listen { addr, source })?;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServerError::Serve)
}

#[cfg(test)]
mod command_tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn seed_arguments_are_checked_with_a_clear_message() {
        assert_eq!(
            SeedArgs::parse(&args("--records 10 --seed 7")),
            Ok(SeedArgs {
                records: 10,
                seed: 7
            })
        );
        assert_eq!(
            SeedArgs::parse(&args("--records 10")).map(|a| a.seed),
            Ok(1)
        );
        assert_eq!(
            SeedArgs::parse(&args("--seed 7")),
            Err("seed needs --records N".into())
        );
        assert_eq!(
            SeedArgs::parse(&args("--records ten")),
            Err("--records must be a whole number, got `ten`".into())
        );
        assert_eq!(
            SeedArgs::parse(&args("--records")),
            Err("--records needs a value".into())
        );
        assert_eq!(
            SeedArgs::parse(&args("--records 9000001")),
            Err("--records must be 9000000 or fewer".into())
        );
        assert!(SeedArgs::parse(&args("--rm 1"))
            .unwrap_err()
            .starts_with("unknown option `--rm`"));
    }

    #[test]
    fn bench_arguments_have_defaults() {
        let a = bench::MatchingArgs::parse(&args("--sign-ins 5")).unwrap();
        assert_eq!((a.records, a.sign_ins, a.seed), (2_000_000, 5, 1));
        assert!(bench::MatchingArgs::parse(&args("--sign-ins -1")).is_err());
    }
}
