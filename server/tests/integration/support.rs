//! Test fixtures: databases for each backend, the application, and request helpers.

use axum::body::Body;
use axum::http::{header, Request, Response};
use http_body_util::BodyExt;
use server::config::Config;
use server::db::{self, DynStore};
use server::state::AppState;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh, migrated SQLite database in a temporary folder (kept alive by the returned guard).
pub async fn sqlite_store() -> (DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
    (db::connect(&url, 5).await.expect("sqlite opens"), dir)
}

/// The PostgreSQL server for tests, if `TEST_POSTGRES_URL` is set (`./test` always sets it).
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh database on the test PostgreSQL server, migrated. Each test gets its own, so tests run in parallel.
pub async fn postgres_store() -> Option<(DynStore, String)> {
    let url = fresh_postgres_database().await?;
    Some((db::connect(&url, 5).await.expect("postgres opens"), url))
}

/// The URL of a fresh, empty database on the test PostgreSQL server.
pub async fn fresh_postgres_database() -> Option<String> {
    let base = postgres_url()?;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("test PostgreSQL is reachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    match base.rsplit_once('/') {
        Some((server, _)) => Some(format!("{server}/{name}")),
        None => panic!("TEST_POSTGRES_URL must name a database"),
    }
}

/// Our test RSA key pair for `private_key_jwt` (a fixture, used nowhere else).
pub const RP_PRIVATE_KEY: &str = include_str!("../fixtures/rp-test-key.pem");
pub const RP_PUBLIC_KEY: &str = include_str!("../fixtures/rp-test-key.pub.pem");

pub fn test_config(vars: &[(&str, &str)]) -> Config {
    let mut map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.entry("ONE_LOGIN_PRIVATE_KEY".into())
        .or_insert_with(|| RP_PRIVATE_KEY.into());
    Config::from_lookup(|k| map.get(k).cloned()).expect("test configuration is valid")
}

/// Application state over `store`, with static files from `site_root` (a folder that may not exist).
pub fn state_with(store: DynStore, config: Config, site_root: &std::path::Path) -> AppState {
    let leptos_options = leptos::prelude::LeptosOptions::builder()
        .output_name("teacher-id")
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .build();
    let assets = server::http::assets::Assets::load(site_root).expect("assets load");
    assets.compress_all();
    let one_login =
        server::onelogin::OneLoginClient::new(&config.one_login, &server::user_agent(&config))
            .expect("One Login client");
    let uploads_dir = site_root.parent().unwrap_or(site_root).join("uploads");
    let config_staff = config.staff_oidc.clone();
    AppState::from(server::state::Services {
        leptos_options,
        store,
        uploads: server::uploads::open(&uploads_dir.to_string_lossy()).expect("uploads folder"),
        config: std::sync::Arc::new(config),
        assets: std::sync::Arc::new(assets),
        one_login: std::sync::Arc::new(one_login),
        staff_oidc: std::sync::Arc::new(
            server::staff_auth::StaffOidc::new(&config_staff, "teacher-id-test")
                .expect("staff client"),
        ),
        live: tokio::sync::broadcast::channel(64).0,
        live_recheck: server::http::support::LIVE_ROLE_RECHECK,
        outbox_wake: std::sync::Arc::new(tokio::sync::Notify::new()),
        itt_providers: std::sync::Arc::default(),
    })
}

/// A response with its body read.
pub struct TestResponse {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(String::from)
            .collect()
    }

    /// The value this response sets for cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            c.split(';')
                .next()?
                .split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }
}

pub async fn read(response: Response<Body>) -> TestResponse {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

/// A browser-like form POST from our own origin.
pub fn post_form(path: &str, cookies: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies)
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .expect("request")
}

/// The `rule` numbers logged while a guard from [`record_rules`] lives, so a test can check that a refusal
/// happened for the right reason. Tests run on one thread each, so the thread's default subscriber sees
/// everything the service and an in-process stand-in log.
pub type Rules = std::sync::Arc<std::sync::Mutex<Vec<u64>>>;

struct RuleRecorder(Rules);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for RuleRecorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Visit<'a>(&'a Rules);
        impl tracing::field::Visit for Visit<'_> {
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                if field.name() == "rule" {
                    self.0.lock().unwrap().push(value);
                }
            }
            fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
                self.record_u64(field, value as u64);
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        event.record(&mut Visit(&self.0));
    }
}

pub fn record_rules() -> (tracing::subscriber::DefaultGuard, Rules) {
    use tracing_subscriber::layer::SubscriberExt;
    let rules = Rules::default();
    let subscriber = tracing_subscriber::registry().with(RuleRecorder(rules.clone()));
    (tracing::subscriber::set_default(subscriber), rules)
}
