//! The commands `server` offers besides serving, and the command line that picks one.
//!
//! ```text
//! server                                   serve (the default)
//! server migrate                           run database migrations and stop
//! server seed --records N [--seed S]       add N synthetic teaching records (deterministic for a seed)
//! server staff add --email E --role R [--name N]
//!                                          give a member of staff a role (viewer, support_officer, administrator)
//! server keys rotate                       make a new ID-token signing key current; the old one stays published
//!                                          until the ID tokens it signed have expired
//! server client add --client-id ID ...     register a service that signs teachers in through Teacher ID
//!                                          (`server client add` alone prints every option)
//! server api-client add --name N --scope S [--scope S]
//!                                          register a service that calls the API (scopes trn_tokens:write,
//!                                          qts:write); prints its API key once
//! server bench-console [--tasks N] [--runs R] [--emails E]
//!                                          time the support dashboard's queries over N tasks, the live feed's
//!                                          latency and the email outbox's throughput
//! server bench-baseline FILE ADDR          serve FILE's bytes from a bare axum handler (benchmark reference)
//! server bench-leptos ADDR                 serve a bare Leptos SSR page (benchmark reference)
//! server bench-sessions                    make signed-in teachers and staff for scripts/bench; print their cookies
//! server bench-provider prepare            make a client, a connected teacher with an access token and an API
//!                                          client for scripts/bench-provider; print their credentials
//! server bench-provider token URL ...      load the token endpoint with fresh codes (`bench_provider`)
//! server notify-fake ADDR                  serve a Notify-compatible fake that accepts NOTIFY_API_KEY and the
//!                                          NOTIFY_TEMPLATE_* ids (scripts/cluster); GET /fake/sent lists what it took
//! server bench-matching [--records N] [--sign-ins K] [--seed S]
//!                                          time candidate search + matching over N records (seeding up to N)
//!                                          and report matching quality over K simulated sign-ins
//! ```

use crate::config::Config;
use crate::{bench, db, serve, shutdown_signal, ServerError};
use axum::serve::ListenerExt;
use std::process::ExitCode;
use std::time::Instant;

/// Runs the command `args` names (without the program name) and says how it went as the process's exit code: 2
/// for a command line we cannot read, 1 for a command that failed.
pub async fn run(args: &[String], config: Config) -> ExitCode {
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => serve(config).await,
        Some("migrate") => migrate(&config).await,
        Some("seed") => match SeedArgs::parse(&args[1..]) {
            Ok(args) => seed(&config, args).await,
            Err(e) => return usage_error(&e),
        },
        Some("staff") if args.get(1).map(String::as_str) == Some("add") => {
            match StaffAddArgs::parse(&args[2..]) {
                Ok(staff) => staff_add(&config, staff).await,
                Err(e) => return usage_error(&e),
            }
        }
        Some("keys") if args.get(1).map(String::as_str) == Some("rotate") && args.len() == 2 => {
            keys_rotate(&config).await
        }
        Some("client") if args.get(1).map(String::as_str) == Some("add") => {
            match crate::provider::ClientAddArgs::parse(&args[2..]) {
                Ok(client) => match client_add(&config, client).await {
                    Ok(true) => Ok(()),
                    Ok(false) => return ExitCode::from(2),
                    Err(e) => Err(e),
                },
                Err(e) => return usage_error(&e),
            }
        }
        Some("api-client") if args.get(1).map(String::as_str) == Some("add") => {
            match crate::api::ApiClientAddArgs::parse(&args[2..]) {
                Ok(client) => api_client_add(&config, client).await,
                Err(e) => return usage_error(&e),
            }
        }
        Some("bench-matching") => match bench::MatchingArgs::parse(&args[1..]) {
            Ok(args) => bench::matching(&config, args).await,
            Err(e) => return usage_error(&e),
        },
        Some("bench-console") => match bench::ConsoleArgs::parse(&args[1..]) {
            Ok(args) => bench::console(&config, args).await,
            Err(e) => return usage_error(&e),
        },
        Some("bench-baseline") => match (args.get(1), args.get(2).and_then(|a| a.parse().ok())) {
            (Some(file), Some(addr)) => bench_baseline(file, addr).await,
            _ => return usage_error("usage: server bench-baseline FILE ADDR"),
        },
        Some("bench-leptos") => match args.get(1).and_then(|a| a.parse().ok()) {
            Some(addr) => crate::bench_pages::bench_leptos(addr).await,
            None => return usage_error("usage: server bench-leptos ADDR"),
        },
        Some("bench-sessions") => crate::bench_pages::bench_sessions(&config).await,
        Some("bench-provider") => match args.get(1).map(String::as_str) {
            Some("prepare") if args.len() == 2 => crate::bench_provider::prepare(&config).await,
            Some("token") => match crate::bench_provider::TokenLoadArgs::parse(&args[2..]) {
                Ok(load) => crate::bench_provider::token_load(&config, load).await,
                Err(e) => return usage_error(&e),
            },
            _ => {
                return usage_error(
                    "usage: server bench-provider prepare | server bench-provider token URL ...",
                )
            }
        },
        Some("notify-fake") => match args.get(1).and_then(|a| a.parse().ok()) {
            Some(addr) => notify_fake(&config, addr).await,
            None => return usage_error("usage: server notify-fake ADDR"),
        },
        Some(other) => {
            return usage_error(&format!(
                "unknown command `{other}`: expected serve, migrate, seed --records N [--seed S], staff add, keys rotate, client add, api-client add, bench-matching, bench-console, bench-baseline, bench-leptos, bench-sessions, bench-provider or notify-fake"
            ))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stopped");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(2)
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
        let email = email.filter(|e| app::domain::validation::is_email_address(e));
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

/// `server keys rotate`: a new ID-token signing key of each algorithm becomes current at once; the one it replaces stays published
/// until every ID token it signed has expired ([`crate::provider::rotate_keys`]).
pub async fn keys_rotate(config: &Config) -> Result<(), ServerError> {
    let store = db::connect(&config.database_url, 1).await?;
    for (alg, kid) in crate::provider::rotate_keys(&store, chrono::Utc::now()).await? {
        println!(
            "{} ID tokens are now signed with key {kid}; the previous key stays published for {} minutes",
            alg.as_str(),
            crate::provider::RETIRING_KEY_PUBLISHED.num_minutes()
        );
    }
    Ok(())
}

/// `server client add`: registers a client and prints its secret, once, when it has one. False (exit code 2,
/// nothing stored) when the client id is taken.
pub async fn client_add(
    config: &Config,
    args: crate::provider::ClientAddArgs,
) -> Result<bool, ServerError> {
    use crate::provider::ClientAddOutcome;
    let store = db::connect(&config.database_url, 1).await?;
    let client_id = args.client.client_id.clone();
    match crate::provider::client_add(&store, args, chrono::Utc::now()).await? {
        ClientAddOutcome::Added { secret } => {
            println!("registered client {client_id}");
            if let Some(secret) = secret {
                println!("client secret (shown only now; keep it safe): {secret}");
            }
            Ok(true)
        }
        ClientAddOutcome::DuplicateClientId => {
            eprintln!("a client with id {client_id} is already registered: nothing was changed");
            Ok(false)
        }
    }
}

/// `server api-client add`: registers an API client and prints its key, once.
pub async fn api_client_add(
    config: &Config,
    args: crate::api::ApiClientAddArgs,
) -> Result<(), ServerError> {
    let store = db::connect(&config.database_url, 1).await?;
    let (id, key) = crate::api::api_client_add(&store, &args, chrono::Utc::now()).await?;
    println!("registered API client {} (id {id})", args.name);
    println!("API key (shown only now; keep it safe): {key}");
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
    crate::seed::seed_store(&store, start, args.records, args.seed).await?;
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
    serve_reference(addr, app).await
}

/// The Notify-compatible fake (`notify::fake`) as a process of its own, for a cluster of instances that share one
/// Notify: it accepts the key and templates the service is configured with. Instance N of a cluster may use the
/// base URL `…/instance/N`, and `GET /fake/sent` lists every email accepted (its outbox reference, template,
/// address, the task reference it names, and the instance that sent it), so a test can count each email.
pub async fn notify_fake(config: &Config, addr: std::net::SocketAddr) -> Result<(), ServerError> {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::StatusCode;
    use axum::middleware::Next;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    let crate::config::EmailConfig::Notify {
        api_key,
        templates,
        sms_templates,
        ..
    } = &config.email
    else {
        return Err(ServerError::Bench(
            "notify-fake needs NOTIFY_API_KEY and the NOTIFY_TEMPLATE_* ids".into(),
        ));
    };
    let fake = notify::fake::FakeNotify::for_key(api_key)
        .map_err(|e| ServerError::Bench(format!("NOTIFY_API_KEY: {e}")))?;
    for (template, id) in templates {
        let (subject, body) = template.text();
        fake.add_template(id, subject, body);
    }
    for (template, id) in sms_templates {
        fake.add_sms_template(id, template.text());
    }

    // Notification id -> the instance whose base URL it came through.
    let via: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let mut app = fake.router();
    for n in 1..=9 {
        let via = via.clone();
        let instance = n.to_string();
        let tagged = fake.router().layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let via = via.clone();
                let instance = instance.clone();
                async move {
                    let response = next.run(request).await;
                    if response.status() != StatusCode::CREATED {
                        return response;
                    }
                    let (parts, body) = response.into_parts();
                    let bytes = axum::body::to_bytes(body, usize::MAX)
                        .await
                        .unwrap_or_default();
                    let id = serde_json::from_slice::<serde_json::Value>(&bytes)
                        .ok()
                        .and_then(|v| v["id"].as_str().map(str::to_string));
                    if let Some(id) = id {
                        via.lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .insert(id, instance);
                    }
                    axum::response::Response::from_parts(parts, Body::from(bytes))
                }
            },
        ));
        app = app.nest(&format!("/instance/{n}"), tagged);
    }
    let accepted = fake.clone();
    let listed = axum::routing::get(move || {
        let via = via
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let sent: Vec<serde_json::Value> = accepted
            .sent()
            .into_iter()
            .map(|s| {
                serde_json::json!({
                    "reference": s.reference,
                    "template_id": s.template_id,
                    "email_address": s.email_address,
                    "task_reference": s.personalisation.get("reference"),
                    "instance": via.get(&s.id),
                })
            })
            .collect();
        async move { axum::Json(sent) }
    });
    serve_reference(addr, app.route("/fake/sent", listed)).await
}

/// Serves a benchmark's reference router with the service's listener settings (`TCP_NODELAY`), until a signal.
pub(crate) async fn serve_reference(
    addr: std::net::SocketAddr,
    app: axum::Router,
) -> Result<(), ServerError> {
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
