//! The Teacher ID server: configuration, storage, HTTP, and (in [`cli`]) the commands `main` offers.

pub mod account_record_lookup;
pub mod api;
pub mod bench;
pub mod bench_pages;
pub mod bench_provider;
pub mod certificate;
pub mod cli;
pub mod client_registration;
pub mod config;
pub mod console;
pub mod db;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod onelogin;
pub mod outbox;
pub mod provider;
pub mod seed;
pub mod staff_auth;
pub mod state;
pub mod telemetry;
pub mod uploads;

use crate::config::Config;
use crate::db::DynStore;
use crate::http::assets::Assets;
use crate::state::AppState;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};

// The commands were here once; their paths stay.
pub use cli::{bench_baseline, migrate, number_flags, seed, staff_add, SeedArgs, StaffAddArgs};

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
    #[error("OpenID provider: {0}")]
    Provider(#[from] provider::ProviderError),
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
    Ok(AppState::from(crate::state::Services {
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
    }))
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
    // ID tokens need a signing key; the first start makes one (`server keys rotate` replaces it).
    if provider::ensure_signing_key(&state.store, chrono::Utc::now()).await? {
        tracing::info!("made the first ID-token signing key");
    }
    // The third question's provider list, read now so that the first teacher to reach it does not wait for it.
    let (providers, store) = (state.itt_providers.clone(), state.store.clone());
    tokio::spawn(async move {
        if let Err(e) = providers.get(&store).await {
            tracing::warn!(error = %e, "could not read the ITT providers at start-up");
        }
    });
    tokio::spawn(expire_sessions(
        state.store.clone(),
        // Attempt and passcode-send counters share one table: kept as long as the longest window of either.
        state
            .config
            .rate_limits
            .longest_window_seconds()
            .max(state.config.passcode_send_limits.longest_window_seconds()),
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
    // Before the public listener, so that its first requests are counted; a separate port, never on `app`.
    metrics::start(&state).await?;
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
        // A passcode a day past its expiry is still told apart from a wrong one ("expired", not "incorrect");
        // after that it is only a row.
        if let Err(e) = store
            .forget_passcodes_before(chrono::Utc::now() - chrono::Duration::days(1))
            .await
        {
            tracing::warn!(error = %e, "could not delete old passcodes");
        }
        if let Err(e) = store.refresh_statistics().await {
            tracing::warn!(error = %e, "could not refresh the query planner's statistics");
        }
    }
}

pub(crate) async fn shutdown_signal() {
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
