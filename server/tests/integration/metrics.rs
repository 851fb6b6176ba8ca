//! Issue 14 §5: Prometheus metrics on their own address (`METRICS_ADDR`), never on the public one. The service is
//! driven through its public router while its metrics listener is scraped over TCP, before and after, and the
//! series that should have moved are checked by how much.
//!
//! The recorder is the process's own (the `metrics` facade has one), so the counters' differences are exact only
//! while no other test runs at the same time: `./test` runs the integration tests one at a time.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{answer_no_and_ask_for_support, assert_redirect, TestApp};
use onelogin_standin::{Misbehaviour, NextLogin, Outcome};
use server::db::outbox::NewEmail;
use server::db::Backend;
use std::collections::BTreeMap;

on_both_backends!(metrics_are_served_on_their_own_address_and_move_with_the_service);

/// A series: its name and its labels.
type Series = (String, BTreeMap<String, String>);

/// One scrape: each series with its value.
struct Scrape {
    text: String,
    series: BTreeMap<Series, f64>,
}

impl Scrape {
    async fn of(addr: std::net::SocketAddr) -> Self {
        let res = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let text = res.text().await.unwrap();
        let series = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| parse_line(l).unwrap_or_else(|| panic!("not a Prometheus sample: {l}")))
            .collect();
        Self { text, series }
    }

    /// The series `name` with exactly `labels`; 0 when it is not there (a counter not yet counted).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.series
            .get(&(name.to_string(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.series.contains_key(&(name.to_string(), labels))
    }
}

/// `name{k="v",…} value` (label values may hold braces and escaped quotes), or `name value`.
fn parse_line(line: &str) -> Option<(Series, f64)> {
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let Some((name, mut rest)) = head.split_once('{') else {
        return Some(((head.to_string(), BTreeMap::new()), value));
    };
    let mut labels = BTreeMap::new();
    loop {
        rest = rest.trim_start_matches(',');
        if rest == "}" {
            break;
        }
        let (key, after) = rest.split_once("=\"")?;
        let mut label = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => label.push(chars.next()?.1),
                (i, '"') => break i,
                (_, c) => label.push(c),
            }
        };
        labels.insert(key.to_string(), label);
        rest = &after[end + 1..];
    }
    Some(((name.to_string(), labels), value))
}

const REQUESTS: &str = "teacher_id_http_requests_total";
const SIGN_INS: &str = "teacher_id_sign_ins_total";
const MATCHING: &str = "teacher_id_matching_outcomes_total";

fn sign_ins(scrape: &Scrape, journey: &str, outcome: &str, rule: &str) -> f64 {
    scrape.value(
        SIGN_INS,
        &[("journey", journey), ("outcome", outcome), ("rule", rule)],
    )
}

/// The service with metrics on a port of its own (any free one), and the address they are served on.
async fn with_metrics(backend: Backend) -> Option<(Rp, std::net::SocketAddr)> {
    let mut rp = TestApp::new(backend, "metrics").build().await?;
    let mut config = (*rp.state.config).clone();
    config.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    rp.state.config = std::sync::Arc::new(config);
    rp.new_instance();
    let addr = server::metrics::start(&rp.state)
        .await
        .unwrap()
        .expect("METRICS_ADDR is set, so metrics are served");
    Some((rp, addr))
}

fn email(reference: &str) -> NewEmail {
    NewEmail {
        reference: reference.into(),
        template: "connected".into(),
        email_address: "someone@example.com".into(),
        personalisation: BTreeMap::new(),
        task_reference: None,
    }
}

async fn metrics_are_served_on_their_own_address_and_move_with_the_service(backend: Backend) {
    let Some((mut rp, addr)) = with_metrics(backend).await else {
        return;
    };

    // Apart: the public router has no /metrics, and the metrics listener serves nothing of the service.
    let public: TestResponse = rp.get("/metrics").await;
    assert_eq!(public.status, 404, "/metrics is not on the public address");
    let other = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics address serves only /metrics"
    );

    // Requests by route template and status, never by the path asked for.
    let before = Scrape::of(addr).await;
    assert_eq!(rp.get("/health").await.status, 200);
    assert_eq!(rp.get("/no-such-page-7f3a").await.status, 404);
    rp.get("/support/tasks/TRS-SECRET9/proof").await;
    let after = Scrape::of(addr).await;
    let health = [("method", "GET"), ("route", "/health"), ("status", "200")];
    assert_eq!(
        after.value(REQUESTS, &health) - before.value(REQUESTS, &health),
        1.0
    );
    let count = "teacher_id_http_request_duration_seconds_count";
    assert_eq!(
        after.value(count, &health) - before.value(count, &health),
        1.0
    );
    let le = [
        ("method", "GET"),
        ("route", "/health"),
        ("status", "200"),
        ("le", "+Inf"),
    ];
    assert_eq!(
        after.value("teacher_id_http_request_duration_seconds_bucket", &le),
        after.value(count, &health),
        "a histogram with buckets, not a summary"
    );
    let not_found = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
    assert_eq!(
        after.value(REQUESTS, &not_found) - before.value(REQUESTS, &not_found),
        1.0
    );
    assert!(
        after.series.keys().any(|(name, labels)| name == REQUESTS
            && labels.get("route").map(String::as_str) == Some("/support/tasks/{reference}/proof")),
        "the route template labels the request"
    );
    assert!(!after.text.contains("SECRET9"), "no path reaches a label");
    assert!(
        !after.text.contains("no-such-page"),
        "no path reaches a label"
    );

    // The pool: this instance's, at most its size (the tests' pools have 5 connections).
    assert_eq!(after.value("teacher_id_db_pool_max_connections", &[]), 5.0);
    let in_use = after.value("teacher_id_db_pool_connections", &[("state", "in_use")]);
    let idle = after.value("teacher_id_db_pool_connections", &[("state", "idle")]);
    assert!(
        idle >= 1.0 && in_use + idle <= 5.0,
        "in use {in_use}, idle {idle}"
    );

    // Sign-ins by outcome and rule: refused at rule 27 (wrong audience), cancelled (rule 19), then two people
    // signed in and verified.
    let before = Scrape::of(addr).await;
    let refused = rp
        .round_trip(
            "/sign-in",
            NextLogin::new("exact-match", Outcome::Authenticated)
                .misbehaving(vec![Misbehaviour::WrongAud]),
        )
        .await;
    assert_redirect(&refused, "/sign-in/problem/failed");
    let cancelled = rp
        .round_trip(
            "/sign-in",
            NextLogin::new("exact-match", Outcome::AccessDenied),
        )
        .await;
    assert_redirect(&cancelled, "/sign-in/problem/cancelled");
    let verified = rp
        .verify("exact-match", Outcome::IdentityVerified, vec![])
        .await;
    assert_eq!(verified.header("location"), "/continue");
    assert_redirect(&rp.get("/continue").await, "/connected");
    let after = Scrape::of(addr).await;
    let moved = |journey, outcome, rule| {
        sign_ins(&after, journey, outcome, rule) - sign_ins(&before, journey, outcome, rule)
    };
    assert_eq!(moved("sign_in", "refused", "27"), 1.0);
    assert_eq!(moved("sign_in", "cancelled", "19"), 1.0);
    assert_eq!(moved("sign_in", "success", "none"), 1.0);
    assert_eq!(moved("identity", "success", "none"), 1.0);
    assert_eq!(moved("sign_in", "refused", "24"), 0.0);
    // How far a matching outcome's count moved between two scrapes.
    let matched = |before: &Scrape, after: &Scrape, outcome| {
        after.value(MATCHING, &[("outcome", outcome)])
            - before.value(MATCHING, &[("outcome", outcome)])
    };
    assert_eq!(matched(&before, &after, "connected"), 1.0);
    assert_eq!(matched(&before, &after, "no_match"), 0.0);

    // The outbox: an email queued two minutes ago and not sent, and one given up on.
    let now = chrono::Utc::now();
    let store = &rp.state.store;
    store
        .queue_email(&email("metrics-old"), now - chrono::Duration::seconds(120))
        .await
        .unwrap();
    store
        .queue_email(&email("metrics-failed"), now)
        .await
        .unwrap();
    let failed = store
        .recent_emails(10)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.email.reference == "metrics-failed")
        .unwrap();
    store
        .mark_email_failed(failed.id, "refused for good")
        .await
        .unwrap();
    let scrape = Scrape::of(addr).await;
    let outbox = |status| scrape.value("teacher_id_outbox_emails", &[("status", status)]);
    assert_eq!(
        (outbox("pending"), outbox("sending"), outbox("failed")),
        (1.0, 0.0, 1.0)
    );
    let age = scrape.value("teacher_id_outbox_oldest_unsent_age_seconds", &[]);
    assert!((120.0..600.0).contains(&age), "oldest unsent {age} s");

    // Another teacher no record matches, who asks for support: a no-match decision and an open task.
    let tasks = |s: &Scrape, kind| {
        s.value(
            "teacher_id_support_tasks_open",
            &[("kind", kind), ("status", "open")],
        )
    };
    assert_eq!(tasks(&scrape, "record_matching"), 0.0);
    assert!(scrape.has(
        "teacher_id_support_tasks_open",
        &[("kind", "record_matching"), ("status", "open")]
    ));
    rp.cookies.clear();
    let verified = rp
        .verify("no-match", Outcome::IdentityVerified, vec![])
        .await;
    assert_eq!(verified.header("location"), "/continue");
    let before = Scrape::of(addr).await;
    assert_redirect(&rp.get("/continue").await, "/connect");
    let after = Scrape::of(addr).await;
    assert_eq!(matched(&before, &after, "no_match"), 1.0);
    assert_eq!(matched(&before, &after, "connected"), 0.0);
    rp.get("/connect/nino").await;
    answer_no_and_ask_for_support(&mut rp).await;
    let after = Scrape::of(addr).await;
    assert_eq!(tasks(&after, "record_matching"), 1.0);
    assert_eq!(tasks(&after, "identity_verification"), 0.0);
    let oldest = after.value(
        "teacher_id_support_tasks_oldest_age_seconds",
        &[("kind", "record_matching"), ("status", "open")],
    );
    assert!((0.0..60.0).contains(&oldest), "oldest open task {oldest} s");
    assert!(
        !after.text.contains("no-match") && !after.text.contains("@example"),
        "no personal data in the metrics"
    );
}
