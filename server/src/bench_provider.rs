//! What `scripts/bench-provider` needs to measure the OpenID provider's token and userinfo endpoints and the TRN
//! token API (issue 12, "Measure"), and the load generator for the token endpoint.
//!
//! - `server bench-provider prepare` makes, in the configured database, a client that authenticates with a
//!   secret, a teacher connected to a record, an access token for that teacher, and an API client with the scope
//!   `trn_tokens:write`, and prints one line each: `client CLIENT_ID SECRET USER_ID`, `userinfo ACCESS_TOKEN` and
//!   `trn-tokens API_KEY BODY`. They are stored as the service stores them (hashes only), so the endpoints cannot
//!   tell them from real ones. `/oauth2/userinfo` with one token and the TRN token API with one body can then be
//!   loaded by `oha` directly: neither request changes what the next one may do.
//! - `server bench-provider token URL [--client-id ID --secret S --user-id U] [--codes N] [-c C] [-z SECONDS]`
//!   loads the token endpoint. An authorization code works once, and `oha` sends the same body every time (its
//!   only varying input is a URL from a regex, and the token request's code goes in the body), so this stores N
//!   codes for the teacher first, as `/oauth2/authorize` would, and then C connections (hyper's HTTP/1.1 client,
//!   keep-alive) each send one code after another for SECONDS (then waiting for the requests in flight, as
//!   `oha -w`). URL is a plain `http://` one. It prints `oha`'s JSON figures
//!   (`summary.requestsPerSec`, `latencyPercentiles.p50` and `p99` in seconds, `statusCodeDistribution`,
//!   `errorDistribution`) so the script reads both alike. Without `--client-id` no code is stored and made-up
//!   codes are sent (each many times): the same load on a reference server (the plain axum handler), to tell this
//!   generator's own cost from the endpoint's. The codes are stored valid for ten minutes instead of the 60 s of a
//!   real one, so that storing many of them before a run does not race their expiry; nothing in the exchange reads
//!   the lifetime but the expiry check.

use crate::config::Config;
use crate::db::provider::{AuthorizationCode, NewAccessToken, NewAuthorizationCode};
use crate::db::{self, DynStore};
use crate::http::cookies::new_secret;
use crate::ServerError;
use app::domain::matching::MatchedVia;
use app::domain::provider::{s256_challenge, Scopes};
use app::domain::synthetic;
use chrono::{Duration, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The redirect URI the benchmark client registers and its codes are issued for.
const REDIRECT_URI: &str = "https://bench.example/callback";
/// The scopes of the codes and the access token: every claim is read (the record and any open task too).
const SCOPES: &str = "openid email profile teaching_record";
/// One PKCE verifier for every code: the endpoint checks each code's challenge against it all the same.
const VERIFIER: &str = "bench-provider-code-verifier-0123456789-abcdefghijklmnop";
const RECORDS: u64 = 1_000;
const SEED: u64 = 1;

/// `server bench-provider prepare`: see the module documentation.
pub async fn prepare(config: &Config) -> Result<(), ServerError> {
    let store = db::connect(&config.database_url, config.database_max_connections).await?;
    let records = store.count_records().await? as u64;
    if records < RECORDS {
        crate::seed::seed_store(&store, records, RECORDS - records, SEED).await?;
    }
    let records = records.max(RECORDS);
    let run = Utc::now().timestamp_micros();
    let now = Utc::now();

    let client_id = format!("bench-{run}");
    let args: Vec<String> = [
        "--client-id",
        &client_id,
        "--name",
        "Benchmark service",
        "--service-url",
        "https://bench.example",
        "--redirect-uri",
        REDIRECT_URI,
        "--auth",
        "client_secret",
        "--scopes",
        SCOPES,
        "--sign-in",
        "one_login",
        "--trn",
        "optional",
        // As a service that wants quick sign-ins registers: an RS256 signature alone costs more CPU than the
        // whole of the rest of a token request (docs/performance.md).
        "--id-token-alg",
        "ES256",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let args = crate::provider::ClientAddArgs::parse(&args).map_err(ServerError::Bench)?;
    let secret = match crate::provider::client_add(&store, args, now).await? {
        crate::provider::ClientAddOutcome::Added { secret: Some(s) } => s,
        _ => return Err(bench_error("the benchmark client was not registered")),
    };

    let who = (0..)
        .map(|n| synthetic::sign_in(n, SEED, records))
        .find(|s| s.has_active_record() && s.own_records.len() == 1)
        .ok_or_else(|| bench_error("no simulated sign-ins"))?;
    let user = crate::bench_pages::teacher(&store, &format!("bench-provider-{run}"), &who).await?;
    let trn = who.own_records[0].0.clone();
    store
        .connect_user(user.user_id, &trn, MatchedVia::Trn, &who.email, now)
        .await?;
    println!("client {client_id} {secret} {}", user.user_id);

    // An access token as the token endpoint issues one: for a code of this client, used.
    let code_sha256 = mint_codes(&store, &client_id, user.user_id, 1)
        .await?
        .remove(0)
        .1;
    let (access_token, token_sha256) = new_secret();
    store
        .add_access_token(&NewAccessToken {
            token_sha256,
            code_sha256,
            client_id: client_id.clone(),
            user_id: user.user_id,
            scopes: scopes(),
            created_at: now,
            expires_at: now + crate::provider::ACCESS_TOKEN_LIFETIME,
        })
        .await?;
    println!("userinfo {access_token}");

    let api = crate::api::ApiClientAddArgs::parse(&[
        "--name".to_string(),
        format!("Benchmark API client {run}"),
        "--scope".to_string(),
        "trn_tokens:write".to_string(),
    ])
    .map_err(ServerError::Bench)?;
    let (_, key) = crate::api::api_client_add(&store, &api, now).await?;
    let body = serde_json::json!({ "trn": trn, "email": who.email });
    println!("trn-tokens {key} {body}");
    Ok(())
}

fn bench_error(what: &str) -> ServerError {
    ServerError::Bench(what.to_string())
}

fn scopes() -> Scopes {
    Scopes::parse(SCOPES).expect("the benchmark's scopes are known")
}

/// Stores `n` authorization codes for `user_id` at `client_id`, as `/oauth2/authorize` does (valid for ten
/// minutes: see the module documentation), several at a time. Each code and its SHA-256.
async fn mint_codes(
    store: &DynStore,
    client_id: &str,
    user_id: i64,
    n: usize,
) -> Result<Vec<(String, String)>, ServerError> {
    use futures::StreamExt;
    let now = Utc::now();
    let codes: Vec<(String, String)> = (0..n).map(|_| new_secret()).collect();
    let challenge = s256_challenge(VERIFIER);
    let results: Vec<_> = futures::stream::iter(codes.iter().map(|(_, sha256)| {
        let code = NewAuthorizationCode {
            code_sha256: sha256.clone(),
            code: AuthorizationCode {
                client_id: client_id.to_string(),
                redirect_uri: REDIRECT_URI.to_string(),
                nonce: "bench-nonce".to_string(),
                code_challenge: challenge.clone(),
                scopes: scopes(),
                user_id,
                auth_time: now.timestamp(),
                expires_at: now + Duration::minutes(10),
            },
            created_at: now,
        };
        async move { store.add_authorization_code(&code).await }
    }))
    .buffer_unordered(8)
    .collect()
    .await;
    for result in results {
        result?;
    }
    Ok(codes)
}

/// Arguments of `server bench-provider token`.
#[derive(Debug, PartialEq)]
pub struct TokenLoadArgs {
    pub url: String,
    /// The client and teacher to store codes for; none: made-up codes, for a reference server.
    pub client: Option<(String, String, i64)>,
    pub codes: usize,
    pub connections: usize,
    pub seconds: f64,
}

pub const TOKEN_LOAD_USAGE: &str = "usage: server bench-provider token URL \
[--client-id ID --secret SECRET --user-id N] [--codes N] [-c CONNECTIONS] [-z SECONDS]";

impl TokenLoadArgs {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut it = args.iter();
        let url = it
            .next()
            .filter(|u| u.starts_with("http://"))
            .ok_or(TOKEN_LOAD_USAGE)?
            .clone();
        let (mut client_id, mut secret, mut user_id) = (None, None, None);
        let mut parsed = Self {
            url,
            client: None,
            codes: 40_000,
            connections: 50,
            seconds: 8.0,
        };
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{TOKEN_LOAD_USAGE}"))?;
            let number =
                || {
                    value.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("{flag} must be a whole number above 0, got `{value}`")
                    })
                };
            match flag.as_str() {
                "--client-id" => client_id = Some(value.clone()),
                "--secret" => secret = Some(value.clone()),
                "--user-id" => user_id = Some(number()? as i64),
                "--codes" => parsed.codes = number()? as usize,
                "-c" => parsed.connections = number()? as usize,
                "-z" => parsed.seconds = number()? as f64,
                _ => return Err(format!("unknown option `{flag}`\n{TOKEN_LOAD_USAGE}")),
            }
        }
        parsed.client = match (client_id, secret, user_id) {
            (Some(id), Some(secret), Some(user)) => Some((id, secret, user)),
            (None, None, None) => None,
            _ => {
                return Err(format!(
                    "--client-id, --secret and --user-id go together\n{TOKEN_LOAD_USAGE}"
                ))
            }
        };
        Ok(parsed)
    }
}

/// `server bench-provider token`: see the module documentation.
pub async fn token_load(config: &Config, args: TokenLoadArgs) -> Result<(), ServerError> {
    use base64::Engine;
    let (codes, authorization) = match &args.client {
        Some((client_id, secret, user_id)) => {
            let store = db::connect(&config.database_url, 8).await?;
            let codes = mint_codes(&store, client_id, *user_id, args.codes).await?;
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
            (
                codes.into_iter().map(|(code, _)| code).collect(),
                format!("Basic {basic}"),
            )
        }
        None => (
            (0..args.codes).map(|_| new_secret().0).collect::<Vec<_>>(),
            "Basic cmVmZXJlbmNlOnJlZmVyZW5jZQ==".to_string(),
        ),
    };
    let authorization = http::HeaderValue::try_from(authorization)
        .map_err(|e| bench_error(&format!("the client's credentials: {e}")))?;
    let bodies: Arc<Vec<bytes::Bytes>> = Arc::new(
        codes
            .iter()
            .map(|code| {
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "authorization_code")
                    .append_pair("code", code)
                    .append_pair("redirect_uri", REDIRECT_URI)
                    .append_pair("code_verifier", VERIFIER)
                    .finish()
                    .into()
            })
            .collect(),
    );
    let target = Target::of(&args.url)?;
    let reuse = args.client.is_none();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + std::time::Duration::from_secs_f64(args.seconds);
    let workers: Vec<_> = (0..args.connections)
        .map(|_| {
            let (bodies, next, target) = (bodies.clone(), next.clone(), target.clone());
            let authorization = authorization.clone();
            tokio::spawn(async move {
                let mut seen = Seen::default();
                let mut connection = None;
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    // Made-up codes may be sent again; stored ones only once.
                    let n = if reuse { n % bodies.len() } else { n };
                    let Some(body) = bodies.get(n) else {
                        seen.ran_out = true;
                        break;
                    };
                    let sent = Instant::now();
                    let request = target.request(&authorization, body.clone());
                    match send(&mut connection, &target, request).await {
                        Ok(status) => *seen.statuses.entry(status.as_u16()).or_default() += 1,
                        Err(e) => {
                            // Connected again for the next request, as a client's pool would.
                            connection = None;
                            *seen.errors.entry(e).or_default() += 1
                        }
                    }
                    seen.latencies.push(sent.elapsed().as_secs_f64());
                    seen.sent.push((sent - started).as_secs_f64());
                }
                seen
            })
        })
        .collect();
    let mut all = Seen::default();
    for worker in workers {
        let seen = worker.await.map_err(|e| bench_error(&e.to_string()))?;
        all.timeline
            .extend(seen.sent.into_iter().zip(seen.latencies.iter().copied()));
        all.latencies.extend(seen.latencies);
        for (k, v) in seen.statuses {
            *all.statuses.entry(k).or_default() += v;
        }
        for (k, v) in seen.errors {
            *all.errors.entry(k).or_default() += v;
        }
        all.ran_out |= seen.ran_out;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(path) = std::env::var_os(TIMELINE) {
        write_timeline(&path, &mut all.timeline).map_err(|e| bench_error(&e.to_string()))?;
    }
    all.latencies.sort_by(f64::total_cmp);
    let figures = serde_json::json!({
        "summary": {
            "total": elapsed,
            "requestsPerSec": all.latencies.len() as f64 / elapsed,
        },
        "latencyPercentiles": {
            "p50": percentile(&all.latencies, 0.50),
            "p99": percentile(&all.latencies, 0.99),
        },
        "statusCodeDistribution": all.statuses,
        "errorDistribution": all.errors,
        // True when every code was sent before the time was up: the run was shorter than asked.
        "codesExhausted": all.ran_out,
    });
    println!("{figures}");
    Ok(())
}

/// Where `server bench-provider token` sends its requests: the server's address, and what each request carries.
#[derive(Clone)]
struct Target {
    /// `host:port`, to connect to and for the `Host` header.
    authority: http::uri::Authority,
    path: http::uri::PathAndQuery,
}

impl Target {
    /// `url`, a plain `http://` one (the server's own address: no TLS in between).
    fn of(url: &str) -> Result<Self, ServerError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| bench_error(&format!("{url}: {e}")))?;
        match (uri.scheme_str(), uri.authority(), uri.path_and_query()) {
            (Some("http"), Some(authority), Some(path)) => Ok(Self {
                authority: authority.clone(),
                path: path.clone(),
            }),
            _ => Err(bench_error(&format!("{url}: an http:// URL is needed"))),
        }
    }

    /// A token request with `body`, as a client sends one.
    fn request(
        &self,
        authorization: &http::HeaderValue,
        body: bytes::Bytes,
    ) -> http::Request<http_body_util::Full<bytes::Bytes>> {
        use http::header;
        let mut request = http::Request::new(http_body_util::Full::new(body));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.path.clone().into();
        let headers = request.headers_mut();
        headers.insert(
            header::HOST,
            http::HeaderValue::from_str(self.authority.as_str()).expect("an authority is a header"),
        );
        headers.insert(header::AUTHORIZATION, authorization.clone());
        headers.insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        request
    }
}

/// One connection of the load generator: hyper's HTTP/1.1 client, driven in the worker's own task. A general
/// client (reqwest: its pool, a task per connection, the URL parsed per request) cost about as much CPU per
/// request as a fifth of the server's, on the same two cores.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
    driver: std::pin::Pin<
        Box<
            hyper::client::conn::http1::Connection<
                hyper_util::rt::TokioIo<tokio::net::TcpStream>,
                http_body_util::Full<bytes::Bytes>,
            >,
        >,
    >,
}

/// Sends `request` on `connection` (connecting first if there is none) and reads the whole answer: its status,
/// or what went wrong.
async fn send(
    connection: &mut Option<Connection>,
    target: &Target,
    request: http::Request<http_body_util::Full<bytes::Bytes>>,
) -> Result<http::StatusCode, String> {
    use http_body_util::BodyExt;
    if connection.is_none() {
        let stream = tokio::net::TcpStream::connect(target.authority.as_str())
            .await
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, driver) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        *connection = Some(Connection {
            sender,
            driver: Box::pin(driver),
        });
    }
    let Connection { sender, driver } = connection.as_mut().expect("connected above");
    let exchange = async {
        let response = sender.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        Ok::<_, hyper::Error>(status)
    };
    tokio::select! {
        answer = exchange => answer.map_err(|e| e.to_string()),
        // The connection's own work is polled beside the request's; it ends only when the connection does.
        ended = driver.as_mut() => Err(match ended {
            Ok(()) => "the server closed the connection".to_string(),
            Err(e) => e.to_string(),
        }),
    }
}

/// Env: a file to write each request of `server bench-provider token` to, `SENT_MS LATENCY_MS` a line in the order
/// sent (milliseconds from the start), to see when the slow ones were: stalls or a spread.
const TIMELINE: &str = "BENCH_TIMELINE";

fn write_timeline(path: &std::ffi::OsStr, timeline: &mut [(f64, f64)]) -> std::io::Result<()> {
    use std::io::Write;
    timeline.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (sent, latency) in timeline.iter().copied() {
        writeln!(out, "{:.3} {:.3}", sent * 1e3, latency * 1e3)?;
    }
    out.flush()
}

#[derive(Default)]
struct Seen {
    latencies: Vec<f64>,
    /// When each request of `latencies` was sent, seconds from the start.
    sent: Vec<f64>,
    /// `(sent, latency)` of every request.
    timeline: Vec<(f64, f64)>,
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
    ran_out: bool,
}

/// The `q` quantile of sorted `values` (nearest rank), 0 for none.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn token_load_arguments_need_a_url_and_the_client_whole() {
        let a = TokenLoadArgs::parse(&args("http://127.0.0.1:1/oauth2/token")).unwrap();
        assert_eq!((a.client, a.codes, a.connections), (None, 40_000, 50));
        let a = TokenLoadArgs::parse(&args(
            "http://x/t --client-id c --secret s --user-id 7 -c 10 -z 3 --codes 5",
        ))
        .unwrap();
        assert_eq!(a.client, Some(("c".into(), "s".into(), 7)));
        assert_eq!((a.codes, a.connections, a.seconds), (5, 10, 3.0));
        assert!(TokenLoadArgs::parse(&args("--codes 5")).is_err());
        assert!(TokenLoadArgs::parse(&args("http://x/t --client-id c"))
            .unwrap_err()
            .contains("go together"));
        assert!(TokenLoadArgs::parse(&args("http://x/t -c 0")).is_err());
        assert!(TokenLoadArgs::parse(&args("http://x/t -c")).is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.50), 50.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
        assert_eq!(percentile(&[], 0.99), 0.0);
    }
}
