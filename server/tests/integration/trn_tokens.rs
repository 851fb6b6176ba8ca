//! TRN tokens (issue 12, DESIGN §7.2): API clients and `server api-client add`, `POST /api/v1/trn-tokens` and
//! `PUT /api/v1/teachers/{trn}/qts` over HTTP in-process: authentication and scopes, validation, sizes, the rate
//! limit, the audit, and the QTS award's idempotence and email; on both backends. Every refusal is checked to
//! have stored nothing.

use crate::support::TestResponse;
use crate::util::{record, InProcess};
use app::domain::records::{Qualification, QualificationKind, RecordStatus};
use app::domain::trn_tokens::ApiScope;
use axum::body::Body;
use axum::http::Request;
use chrono::{Duration, NaiveDate, Utc};
use server::db::Backend;
use server::http::assets::sha256_hex;
use std::collections::BTreeSet;
use std::process::ExitCode;

on_both_backends!(
    api_client_add_keeps_the_key_only_as_its_hash_with_typed_scopes,
    api_client_add_refuses_bad_input_with_exit_code_2_and_stores_nothing,
    a_token_is_created_for_an_active_record_and_stored_only_as_its_hash,
    a_missing_wrong_or_disabled_key_is_401_with_a_bearer_challenge,
    a_key_without_the_scope_is_403,
    an_unknown_or_deactivated_trn_is_404,
    bad_requests_are_400_problems_naming_the_field,
    a_huge_body_is_a_413_problem,
    calls_over_the_per_key_limit_are_429_with_retry_after,
    the_per_client_limit_holds_across_instances_counted_a_share_at_a_time,
    a_created_token_is_audited_in_the_same_write,
    qts_is_recorded_once_with_one_token_and_one_email_however_often_it_is_sent,
    a_record_without_an_email_gets_qts_and_the_answer_says_no_email_was_sent,
    qts_needs_a_valid_key_with_the_qts_write_scope,
    bad_qts_requests_are_problems_naming_the_field_and_store_nothing,
    qts_already_held_from_the_records_source_is_not_recorded_or_announced_again,
);

const PATH: &str = "/api/v1/trn-tokens";
const ACTIVE: &str = "3000001";
const DEACTIVATED: &str = "3000002";
/// An active record with an email address.
const EMAILED: &str = "3000003";
/// An active record holding QTS from its source, awarded on [`HELD_QTS`].
const QUALIFIED: &str = "3000004";
const HELD_QTS: &str = "2015-07-01";

type Service = InProcess;

/// The service with an active record without an email (`ACTIVE`), a deactivated one (`DEACTIVATED`), one with an
/// email (`EMAILED`) and one with QTS (`QUALIFIED`).
async fn service(backend: Backend, vars: &[(&str, &str)]) -> Option<Service> {
    let service = InProcess::new(backend, "TRN-token tests", vars).await?;
    let dob = NaiveDate::from_ymd_opt(1980, 1, 2).unwrap();
    let mut emailed = record(EMAILED, ("Cy", "Fox"), dob, None, RecordStatus::Active);
    emailed.email = Some("cy.fox@school.example".into());
    let mut qualified = record(QUALIFIED, ("Di", "Ng"), dob, None, RecordStatus::Active);
    qualified.email = Some("di.ng@school.example".into());
    qualified.qualifications.push(Qualification {
        kind: QualificationKind::Qts,
        name: "Qualified teacher status".into(),
        status: "Awarded".into(),
        awarded_on: Some(HELD_QTS.parse().unwrap()),
        provider: None,
    });
    service
        .store
        .insert_records(
            &[
                record(ACTIVE, ("Ann", "Lee"), dob, None, RecordStatus::Active),
                record(
                    DEACTIVATED,
                    ("Bo", "Kay"),
                    dob,
                    None,
                    RecordStatus::Deactivated,
                ),
                emailed,
                qualified,
            ],
            Utc::now(),
        )
        .await
        .unwrap();
    Some(service)
}

/// What the TRN-token tests do with the service.
trait ApiService {
    async fn client(&self, scopes: &[ApiScope]) -> (i64, String);
    async fn post(&self, key: Option<&str>, content_type: &str, body: &str) -> TestResponse;
    async fn post_json(&self, key: &str, body: &str) -> TestResponse;
    async fn tokens(&self) -> i64;
    async fn put_qts(
        &self,
        key: Option<&str>,
        trn: &str,
        content_type: &str,
        body: &str,
    ) -> TestResponse;
    async fn qts_emails(&self) -> Vec<server::db::support::OutboxEmail>;
    async fn qts_lines(&self, trn: &str) -> Vec<Qualification>;
}

impl ApiService for InProcess {
    /// A registered client with `scopes`, and its key.
    async fn client(&self, scopes: &[ApiScope]) -> (i64, String) {
        let args = server::api::ApiClientAddArgs {
            name: "Find a lost TRN".into(),
            scopes: scopes.iter().copied().collect(),
        };
        server::api::api_client_add(&self.store, &args, Utc::now())
            .await
            .unwrap()
    }

    async fn post(&self, key: Option<&str>, content_type: &str, body: &str) -> TestResponse {
        let mut req = Request::post(PATH).header("content-type", content_type);
        if let Some(key) = key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        self.send(req.body(Body::from(body.to_string())).unwrap())
            .await
    }

    async fn post_json(&self, key: &str, body: &str) -> TestResponse {
        self.post(Some(key), "application/json", body).await
    }

    async fn tokens(&self) -> i64 {
        self.store.count_trn_tokens().await.unwrap()
    }

    async fn put_qts(
        &self,
        key: Option<&str>,
        trn: &str,
        content_type: &str,
        body: &str,
    ) -> TestResponse {
        let mut req = Request::put(format!("/api/v1/teachers/{trn}/qts"))
            .header("content-type", content_type);
        if let Some(key) = key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        self.send(req.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// The QTS emails in the outbox.
    async fn qts_emails(&self) -> Vec<server::db::support::OutboxEmail> {
        let all = self.store.recent_emails(100).await.unwrap();
        all.into_iter()
            .filter(|e| e.email.template == "qts_awarded")
            .collect()
    }

    /// The record's QTS lines.
    async fn qts_lines(&self, trn: &str) -> Vec<Qualification> {
        let record = self.store.record_by_trn(trn).await.unwrap().unwrap();
        record
            .qualifications
            .into_iter()
            .filter(|q| q.kind == QualificationKind::Qts)
            .collect()
    }
}

fn json(res: &TestResponse) -> serde_json::Value {
    serde_json::from_str(&res.body).unwrap_or_else(|_| panic!("JSON body: {:?}", res.body))
}

/// An RFC 9457 problem with this status (and field, when one is named).
#[track_caller]
fn assert_problem(res: &TestResponse, status: u16, field: Option<&str>) {
    assert_eq!(res.status, status, "{}", res.body);
    assert_eq!(res.header("content-type"), "application/problem+json");
    let body = json(res);
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], "about:blank");
    assert!(body["title"].is_string() && body["detail"].is_string());
    assert_eq!(body["field"].as_str(), field, "{body}");
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

async fn api_client_add_keeps_the_key_only_as_its_hash_with_typed_scopes(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (id, key) = service
        .client(&[ApiScope::QtsWrite, ApiScope::TrnTokensWrite])
        .await;
    assert!(key.len() >= 43, "at least 256 bits");
    assert_eq!(service.store.api_client_by_key(&key).await.unwrap(), None);
    let client = service
        .store
        .api_client_by_key(&sha256_hex(&key))
        .await
        .unwrap()
        .expect("found by its key's hash");
    assert_eq!(client.id, id);
    assert_eq!(client.name, "Find a lost TRN");
    assert!(client.enabled);
    assert_eq!(
        client.scopes,
        BTreeSet::from([ApiScope::TrnTokensWrite, ApiScope::QtsWrite])
    );
    assert!(service
        .store
        .set_api_client_enabled(id, false)
        .await
        .unwrap());
    let disabled = service
        .store
        .api_client_by_key(&sha256_hex(&key))
        .await
        .unwrap();
    assert!(!disabled.unwrap().enabled);

    let code = server::cli::run(
        &args(&["api-client", "add", "--name", "NPQ", "--scope", "qts:write"]),
        service.config(),
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(service.store.count_api_clients().await.unwrap(), 2);
}

async fn api_client_add_refuses_bad_input_with_exit_code_2_and_stores_nothing(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    for bad in [
        &["api-client", "add"][..],
        &["api-client", "add", "--name", "NPQ"],
        &["api-client", "add", "--scope", "qts:write"],
        &[
            "api-client",
            "add",
            "--name",
            "NPQ",
            "--scope",
            "everything",
        ],
        &["api-client", "add", "--name", " ", "--scope", "qts:write"],
        &[
            "api-client",
            "add",
            "--name",
            "NPQ",
            "--scope",
            "qts:write",
            "--x",
            "y",
        ],
    ] {
        assert_eq!(
            server::cli::run(&args(bad), service.config()).await,
            ExitCode::from(2),
            "{bad:?}"
        );
    }
    assert_eq!(service.store.count_api_clients().await.unwrap(), 0);
}

async fn a_token_is_created_for_an_active_record_and_stored_only_as_its_hash(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (id, key) = service.client(&[ApiScope::TrnTokensWrite]).await;
    let before = Utc::now();
    let res = service
        .post(
            Some(&key),
            "application/json; charset=utf-8",
            r#"{"trn":"3000001","email":" ann.lee@school.example "}"#,
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.header("content-type"), "application/json");
    // Called by servers: no session or CSRF cookie.
    assert_eq!(res.set_cookies(), Vec::<String>::new());
    let body = json(&res);
    let fields: BTreeSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["trn", "email", "trnToken", "expiresUtc"])
    );
    assert_eq!(body["trn"], ACTIVE);
    assert_eq!(body["email"], "ann.lee@school.example");
    let token = body["trnToken"].as_str().unwrap();
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    let expires = chrono::DateTime::parse_from_rfc3339(body["expiresUtc"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert!(body["expiresUtc"].as_str().unwrap().ends_with('Z'));
    assert!(
        expires >= before + Duration::days(180) - Duration::seconds(1)
            && expires <= Utc::now() + Duration::days(180)
    );

    let hashes = service.store.trn_token_hashes().await.unwrap();
    assert_eq!(hashes, vec![sha256_hex(token)]);
    assert!(
        !hashes.contains(&token.to_string()),
        "the token itself is not stored"
    );
    assert_eq!(service.store.trn_token(token).await.unwrap(), None);
    let stored = service
        .store
        .trn_token(&sha256_hex(token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.trn, ACTIVE);
    assert_eq!(stored.email, "ann.lee@school.example");
    assert_eq!(stored.used_at, None);
    assert_eq!(stored.expires_at.timestamp(), expires.timestamp());

    // A second call makes a second, different token.
    let again = service
        .post_json(
            &key,
            r#"{"trn":"3000001","email":"ann.lee@school.example"}"#,
        )
        .await;
    assert_eq!(again.status, 201);
    assert_ne!(json(&again)["trnToken"], token);
    assert_eq!(service.tokens().await, 2);

    let calls = service.store.api_calls().await.unwrap();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call.api_client_id, Some(id));
        assert_eq!(call.operation, "create_trn_token");
        assert_eq!(call.status, 201);
        let row = format!("{call:?}");
        assert!(
            !row.contains(ACTIVE) && !row.contains("ann.lee"),
            "no personal data: {row}"
        );
    }
}

async fn a_missing_wrong_or_disabled_key_is_401_with_a_bearer_challenge(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (id, key) = service.client(&[ApiScope::TrnTokensWrite]).await;
    let body = r#"{"trn":"3000001","email":"a@b.example"}"#;
    let missing = service.post(None, "application/json", body).await;
    assert_problem(&missing, 401, None);
    assert_eq!(missing.header("www-authenticate"), "Bearer");
    let wrong = service.post_json(&format!("{key}x"), body).await;
    assert_problem(&wrong, 401, None);
    assert!(wrong.header("www-authenticate").starts_with("Bearer"));
    let basic = service
        .send(
            Request::post(PATH)
                .header("content-type", "application/json")
                .header("authorization", format!("Basic {key}"))
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_problem(&basic, 401, None);
    service
        .store
        .set_api_client_enabled(id, false)
        .await
        .unwrap();
    assert_problem(&service.post_json(&key, body).await, 401, None);
    assert_eq!(service.tokens().await, 0);
    let calls = service.store.api_calls().await.unwrap();
    assert_eq!(calls.len(), 4, "every call is audited");
    assert!(calls
        .iter()
        .all(|c| c.status == 401 && c.api_client_id.is_none()));
}

async fn a_key_without_the_scope_is_403(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (id, key) = service.client(&[ApiScope::QtsWrite]).await;
    let res = service
        .post_json(&key, r#"{"trn":"3000001","email":"a@b.example"}"#)
        .await;
    assert_problem(&res, 403, None);
    assert_eq!(service.tokens().await, 0);
    let calls = service.store.api_calls().await.unwrap();
    assert_eq!((calls[0].api_client_id, calls[0].status), (Some(id), 403));
}

async fn an_unknown_or_deactivated_trn_is_404(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (_, key) = service.client(&[ApiScope::TrnTokensWrite]).await;
    for trn in ["3999999", DEACTIVATED] {
        let res = service
            .post_json(&key, &format!(r#"{{"trn":"{trn}","email":"a@b.example"}}"#))
            .await;
        assert_problem(&res, 404, Some("trn"));
    }
    assert_eq!(service.tokens().await, 0);
}

async fn bad_requests_are_400_problems_naming_the_field(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (_, key) = service.client(&[ApiScope::TrnTokensWrite]).await;
    let cases: &[(&str, Option<&str>)] = &[
        (r#"{"trn":"3000001","email":"a@b.example""#, None),
        ("", None),
        (r#"["3000001","a@b.example"]"#, None),
        (
            r#"{"trn":"3000001","email":"a@b.example","name":"Ann"}"#,
            Some("name"),
        ),
        (r#"{"trn":"3000001","email":"not an email"}"#, Some("email")),
        (r#"{"trn":"3000001","email":"ann@school"}"#, Some("email")),
        (r#"{"trn":"300001","email":"a@b.example"}"#, Some("trn")),
        (r#"{"trn":"300 0001","email":"a@b.example"}"#, Some("trn")),
        (r#"{"trn":3000001,"email":"a@b.example"}"#, Some("trn")),
        (r#"{"email":"a@b.example"}"#, Some("trn")),
        (r#"{"trn":"3000001"}"#, Some("email")),
    ];
    for (body, field) in cases {
        let res = service.post_json(&key, body).await;
        assert_problem(&res, 400, *field);
    }
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let res = service
            .post(
                Some(&key),
                content_type,
                r#"{"trn":"3000001","email":"a@b.example"}"#,
            )
            .await;
        assert_problem(&res, 400, Some("Content-Type"));
    }
    assert_eq!(service.tokens().await, 0);
}

async fn a_huge_body_is_a_413_problem(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (_, key) = service.client(&[ApiScope::TrnTokensWrite]).await;
    let huge = format!(
        r#"{{"trn":"3000001","email":"a@b.example","pad":"{}"}}"#,
        "x".repeat(200_000)
    );
    // Declared too long: refused before the handler.
    let declared = service
        .send(
            Request::post(PATH)
                .header("content-type", "application/json")
                .header("content-length", huge.len())
                .header("authorization", format!("Bearer {key}"))
                .body(Body::from(huge.clone()))
                .unwrap(),
        )
        .await;
    assert_problem(&declared, 413, None);
    // Not declared: refused as it is read, past the API's own limit.
    let streamed = format!(
        r#"{{"trn":"3000001","email":"a@b.example","pad":"{}"}}"#,
        "x".repeat(20_000)
    );
    assert_problem(&service.post_json(&key, &streamed).await, 413, None);
    assert_eq!(service.tokens().await, 0);
}

async fn calls_over_the_per_key_limit_are_429_with_retry_after(backend: Backend) {
    let Some(service) = service(backend, &[("API_RATE_LIMIT_PER_MINUTE", "3")]).await else {
        return;
    };
    let (_, key) = service.client(&[ApiScope::TrnTokensWrite]).await;
    let (_, other) = service.client(&[ApiScope::TrnTokensWrite]).await;
    let body = r#"{"trn":"3000001","email":"a@b.example"}"#;
    // Calls may straddle a minute, which starts a new window: at most twice the limit can pass before a refusal.
    let mut created = 0;
    let refused = loop {
        let res = service.post_json(&key, body).await;
        if res.status == 201 {
            created += 1;
            assert!(created <= 6, "the limit is never reached");
            continue;
        }
        break res;
    };
    assert!(created >= 3, "{created} calls before the limit");
    assert_problem(&refused, 429, None);
    let retry: i64 = refused.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(service.tokens().await, created);
    // The limit is per key.
    assert_eq!(service.post_json(&other, body).await.status, 201);
}

/// The fields of a JSON object answer.
fn fields_of(body: &serde_json::Value) -> BTreeSet<&str> {
    body.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

async fn qts_is_recorded_once_with_one_token_and_one_email_however_often_it_is_sent(
    backend: Backend,
) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (id, key) = service.client(&[ApiScope::QtsWrite]).await;
    let body = r#"{"awarded":"2026-07-15"}"#;
    let first = service
        .put_qts(Some(&key), EMAILED, "application/json", body)
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("content-type"), "application/json");
    assert_eq!(first.set_cookies(), Vec::<String>::new());
    let answer = json(&first);
    assert_eq!(
        fields_of(&answer),
        BTreeSet::from(["trn", "awarded", "emailSent"])
    );
    assert_eq!(answer["trn"], EMAILED);
    assert_eq!(answer["awarded"], "2026-07-15");
    assert_eq!(answer["emailSent"], true);

    // Sent again (a retry, a duplicate notice): the same answer, as 200, and nothing more.
    for _ in 0..2 {
        let again = service
            .put_qts(Some(&key), EMAILED, "application/json; charset=utf-8", body)
            .await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(json(&again), answer);
    }

    let lines = service.qts_lines(EMAILED).await;
    assert_eq!(lines.len(), 1, "one qualification: {lines:?}");
    assert_eq!(lines[0].status, "Awarded");
    assert_eq!(lines[0].awarded_on, Some("2026-07-15".parse().unwrap()));
    let history = service.store.record_history(EMAILED).await.unwrap();
    assert_eq!(history.len(), 1, "one history event");
    assert_eq!(history[0].kind, "qts_awarded");
    assert_eq!(history[0].actor, "api:Find a lost TRN");

    assert_eq!(service.tokens().await, 1, "one token");
    let emails = service.qts_emails().await;
    assert_eq!(emails.len(), 1, "one email");
    let email = &emails[0].email;
    assert_eq!(email.email_address, "cy.fox@school.example");
    assert_eq!(email.personalisation["name"], "Cy Fox");
    assert_eq!(email.personalisation["awarded"], "15 July 2026");
    let link = &email.personalisation["sign_in_url"];
    let token = link
        .strip_prefix(&format!(
            "{}/sign-in?trn_token=",
            service.config().public_base_url
        ))
        .unwrap_or_else(|| panic!("a sign-in link with a token: {link}"));
    let stored = service
        .store
        .trn_token(&sha256_hex(token))
        .await
        .unwrap()
        .expect("the link's token is stored, as its hash");
    assert_eq!(
        (stored.trn.as_str(), stored.email.as_str(), stored.used_at),
        (EMAILED, "cy.fox@school.example", None)
    );
    let (subject, text) = app::domain::support::EmailTemplate::QtsAwarded.text();
    assert_eq!(subject, "You have been awarded qualified teacher status");
    let rendered = app::domain::support::render_template(text, &email.personalisation);
    assert!(
        rendered.contains(link.as_str()) && !rendered.contains("(("),
        "{rendered}"
    );

    let calls = service.store.api_calls().await.unwrap();
    let seen: Vec<(Option<i64>, &str, i64)> = calls
        .iter()
        .map(|c| (c.api_client_id, c.operation.as_str(), c.status))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Some(id), "award_qts", 201),
            (Some(id), "award_qts", 200),
            (Some(id), "award_qts", 200)
        ]
    );
}

async fn a_record_without_an_email_gets_qts_and_the_answer_says_no_email_was_sent(
    backend: Backend,
) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (_, key) = service.client(&[ApiScope::QtsWrite]).await;
    let body = r#"{"awarded":"2026-07-15"}"#;
    let res = service
        .put_qts(Some(&key), ACTIVE, "application/json", body)
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(json(&res)["emailSent"], false);
    assert_eq!(service.qts_lines(ACTIVE).await.len(), 1);
    assert_eq!(service.tokens().await, 0, "no token without an email");
    assert!(service.qts_emails().await.is_empty());
    let again = service
        .put_qts(Some(&key), ACTIVE, "application/json", body)
        .await;
    assert_eq!((again.status, json(&again)), (200, json(&res)));
    assert_eq!(service.qts_lines(ACTIVE).await.len(), 1);
}

async fn qts_needs_a_valid_key_with_the_qts_write_scope(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (tokens_only, key) = service.client(&[ApiScope::TrnTokensWrite]).await;
    let body = r#"{"awarded":"2026-07-15"}"#;
    let missing = service
        .put_qts(None, EMAILED, "application/json", body)
        .await;
    assert_problem(&missing, 401, None);
    assert_eq!(missing.header("www-authenticate"), "Bearer");
    let wrong = service
        .put_qts(Some("not-a-key"), EMAILED, "application/json", body)
        .await;
    assert_problem(&wrong, 401, None);
    let forbidden = service
        .put_qts(Some(&key), EMAILED, "application/json", body)
        .await;
    assert_problem(&forbidden, 403, None);
    assert!(service.qts_lines(EMAILED).await.is_empty());
    assert_eq!(service.tokens().await, 0);
    assert!(service.qts_emails().await.is_empty());
    let statuses: Vec<(Option<i64>, i64)> = service
        .store
        .api_calls()
        .await
        .unwrap()
        .iter()
        .map(|c| (c.api_client_id, c.status))
        .collect();
    assert_eq!(
        statuses,
        vec![(None, 401), (None, 401), (Some(tokens_only), 403)]
    );
    // The trn-tokens key's scope does not reach QTS, nor a QTS key's the tokens.
    let (_, qts_key) = service.client(&[ApiScope::QtsWrite]).await;
    assert_problem(
        &service
            .post_json(&qts_key, r#"{"trn":"3000003","email":"a@b.example"}"#)
            .await,
        403,
        None,
    );
}

async fn bad_qts_requests_are_problems_naming_the_field_and_store_nothing(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (_, key) = service.client(&[ApiScope::QtsWrite]).await;
    let tomorrow = (app::domain::uk_time::uk_time(Utc::now()).date_naive() + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let future = format!(r#"{{"awarded":"{tomorrow}"}}"#);
    let cases: &[(&str, &str, u16, Option<&str>)] = &[
        (EMAILED, r#"{"awarded":"2026-07-15""#, 400, None),
        (EMAILED, "", 400, None),
        (EMAILED, r#"["2026-07-15"]"#, 400, None),
        (
            EMAILED,
            r#"{"awarded":"2026-07-15","by":"Leeds"}"#,
            400,
            Some("by"),
        ),
        (EMAILED, r#"{}"#, 400, Some("awarded")),
        (EMAILED, r#"{"awarded":20260715}"#, 400, Some("awarded")),
        (EMAILED, r#"{"awarded":null}"#, 400, Some("awarded")),
        (EMAILED, r#"{"awarded":"15/07/2026"}"#, 400, Some("awarded")),
        (EMAILED, r#"{"awarded":"2026-02-30"}"#, 400, Some("awarded")),
        (
            EMAILED,
            r#"{"awarded":"2026-07-15T10:00:00Z"}"#,
            400,
            Some("awarded"),
        ),
        (EMAILED, r#"{"awarded":"1899-12-31"}"#, 400, Some("awarded")),
        (EMAILED, future.as_str(), 400, Some("awarded")),
        ("300000", r#"{"awarded":"2026-07-15"}"#, 400, Some("trn")),
        ("30000031", r#"{"awarded":"2026-07-15"}"#, 400, Some("trn")),
        ("300 003", r#"{"awarded":"2026-07-15"}"#, 400, Some("trn")),
        ("3999999", r#"{"awarded":"2026-07-15"}"#, 404, Some("trn")),
        (DEACTIVATED, r#"{"awarded":"2026-07-15"}"#, 404, Some("trn")),
        (
            QUALIFIED,
            r#"{"awarded":"2026-07-15"}"#,
            409,
            Some("awarded"),
        ),
    ];
    for (trn, body, status, field) in cases {
        let path_trn = trn.replace(' ', "%20");
        let res = service
            .put_qts(Some(&key), &path_trn, "application/json", body)
            .await;
        assert_problem(&res, *status, *field);
    }
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let res = service
            .put_qts(
                Some(&key),
                EMAILED,
                content_type,
                r#"{"awarded":"2026-07-15"}"#,
            )
            .await;
        assert_problem(&res, 400, Some("Content-Type"));
    }
    let huge = format!(
        r#"{{"awarded":"2026-07-15","pad":"{}"}}"#,
        "x".repeat(20_000)
    );
    assert_problem(
        &service
            .put_qts(Some(&key), EMAILED, "application/json", &huge)
            .await,
        413,
        None,
    );
    for trn in [EMAILED, QUALIFIED, DEACTIVATED] {
        assert!(service.store.record_history(trn).await.unwrap().is_empty());
    }
    assert!(service.qts_lines(EMAILED).await.is_empty());
    assert_eq!(service.qts_lines(QUALIFIED).await.len(), 1);
    assert_eq!(service.tokens().await, 0);
    assert!(service.qts_emails().await.is_empty());
}

async fn qts_already_held_from_the_records_source_is_not_recorded_or_announced_again(
    backend: Backend,
) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (_, key) = service.client(&[ApiScope::QtsWrite]).await;
    let res = service
        .put_qts(
            Some(&key),
            QUALIFIED,
            "application/json",
            &format!(r#"{{"awarded":"{HELD_QTS}"}}"#),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(json(&res)["emailSent"], false);
    assert_eq!(service.qts_lines(QUALIFIED).await.len(), 1);
    assert!(service
        .store
        .record_history(QUALIFIED)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(service.tokens().await, 0);
    assert!(service.qts_emails().await.is_empty());
}

/// The OpenAPI description is generated from the code: both operations, their bodies' fields, the answers' and
/// the bearer scheme are there, and it reads back as OpenAPI 3.
#[tokio::test]
async fn the_openapi_description_lists_both_operations_their_bodies_and_the_bearer_scheme() {
    use utoipa::openapi::path::HttpMethod;
    use utoipa::openapi::security::{HttpAuthScheme, SecurityScheme};
    use utoipa::openapi::{RefOr, Schema};
    let service = InProcess::new(Backend::Sqlite, "OpenAPI", &[])
        .await
        .unwrap();
    let res = service.get("/api/v1/openapi.json").await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("content-type"), "application/json");
    assert_eq!(res.set_cookies(), Vec::<String>::new(), "no session");
    let doc: utoipa::openapi::OpenApi =
        serde_json::from_str(&res.body).expect("an OpenAPI document");
    assert!(
        json(&res)["openapi"].as_str().unwrap().starts_with("3."),
        "OpenAPI 3"
    );
    let operation = |path: &str, method: HttpMethod| {
        let item = doc
            .paths
            .paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} described"));
        match method {
            HttpMethod::Post => item.post.clone(),
            HttpMethod::Put => item.put.clone(),
            _ => None,
        }
        .unwrap_or_else(|| panic!("{path}: its method described"))
    };
    for (path, method, request, statuses) in [
        (
            server::api::TRN_TOKENS_PATH,
            HttpMethod::Post,
            "CreateTrnToken",
            &["201", "400", "401", "403", "404", "413", "429"][..],
        ),
        (
            server::api::QTS_PATH,
            HttpMethod::Put,
            "AwardQts",
            &[
                "200", "201", "400", "401", "403", "404", "409", "413", "429",
            ],
        ),
    ] {
        let op = operation(path, method);
        let body = op.request_body.expect("a request body");
        let json_body = body.content.get("application/json").expect("JSON");
        match json_body.schema.as_ref().expect("a schema") {
            RefOr::Ref(r) => assert!(r.ref_location.ends_with(request), "{}", r.ref_location),
            RefOr::T(_) => panic!("{path}: the body refers to {request}"),
        }
        let described: BTreeSet<&str> = op.responses.responses.keys().map(String::as_str).collect();
        assert_eq!(described, statuses.iter().copied().collect(), "{path}");
        let security = serde_json::to_value(op.security.expect("security")).unwrap();
        assert_eq!(security, serde_json::json!([{"bearer": []}]), "{path}");
    }
    let qts = operation(server::api::QTS_PATH, HttpMethod::Put);
    let params = qts.parameters.expect("the path parameter");
    assert_eq!(params.len(), 1);
    assert_eq!(params[0].name, "trn");

    let components = doc.components.expect("components");
    let fields = |name: &str| -> (BTreeSet<String>, BTreeSet<String>) {
        match components.schemas.get(name) {
            Some(RefOr::T(Schema::Object(o))) => (
                o.properties.keys().cloned().collect(),
                o.required.iter().cloned().collect(),
            ),
            _ => panic!("{name}: an object schema"),
        }
    };
    let both = |names: &[&str]| -> (BTreeSet<String>, BTreeSet<String>) {
        let set: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
        (set.clone(), set)
    };
    assert_eq!(fields("CreateTrnToken"), both(&["trn", "email"]));
    assert_eq!(fields("AwardQts"), both(&["awarded"]));
    assert_eq!(
        fields("TrnTokenCreated"),
        both(&["trn", "email", "trnToken", "expiresUtc"])
    );
    assert_eq!(fields("QtsAwarded"), both(&["trn", "awarded", "emailSent"]));
    assert_eq!(
        fields("Problem").0,
        ["type", "title", "status", "detail", "field"]
            .map(String::from)
            .into()
    );
    match components.security_schemes.get("bearer") {
        Some(SecurityScheme::Http(http)) => {
            assert!(http.scheme == HttpAuthScheme::Bearer, "bearer")
        }
        _ => panic!("an HTTP bearer scheme"),
    }
}

async fn the_per_client_limit_holds_across_instances_counted_a_share_at_a_time(backend: Backend) {
    use chrono::TimeZone;
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (id, _) = service.client(&[ApiScope::TrnTokensWrite]).await;
    let (other_client, _) = service.client(&[ApiScope::TrnTokensWrite]).await;
    // A second instance: its own process state, the same database.
    let second = server::db::connect(&service.url, 2).await.unwrap();
    let instances = [service.store.clone(), second];
    // Inside one window, so that no call straddles two.
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 10).unwrap();
    let limit = 40;
    let mut allowed = [0, 0];
    for call in 0..200 {
        let instance = call % 2;
        if instances[instance]
            .take_api_call(id, limit, 60, now)
            .await
            .unwrap()
        {
            allowed[instance] += 1;
        }
    }
    assert_eq!(allowed[0] + allowed[1], limit, "{allowed:?}");
    assert!(
        allowed[0] > 0 && allowed[1] > 0,
        "both served some: {allowed:?}"
    );
    assert_eq!(
        server::db::api::rate_share(limit),
        2,
        "counted two at a time"
    );
    // Many calls at once on one instance: they wait for one share rather than each taking one, so the limit is
    // reached, not spent on shares nobody used.
    let (burst_client, _) = service.client(&[ApiScope::TrnTokensWrite]).await;
    let burst = futures::future::join_all(
        (0..100).map(|_| instances[0].take_api_call(burst_client, limit, 60, now)),
    )
    .await;
    assert_eq!(
        burst.into_iter().filter(|r| *r.as_ref().unwrap()).count(),
        limit as usize
    );
    // A call that started before the window turned does not take the new window's share away.
    let later = now + Duration::seconds(60);
    let (turning, _) = service.client(&[ApiScope::TrnTokensWrite]).await;
    assert!(instances[0]
        .take_api_call(turning, limit, 60, later)
        .await
        .unwrap());
    assert!(instances[0]
        .take_api_call(turning, limit, 60, now)
        .await
        .unwrap());
    let mut in_new_window = 1;
    while instances[0]
        .take_api_call(turning, limit, 60, later)
        .await
        .unwrap()
    {
        in_new_window += 1;
        assert!(in_new_window <= limit, "never past the limit");
    }
    assert_eq!(in_new_window, limit);
    // The limit is per client, and per window.
    assert!(instances[1]
        .take_api_call(other_client, limit, 60, now)
        .await
        .unwrap());
    assert!(instances[0]
        .take_api_call(id, limit, 60, now + Duration::seconds(60))
        .await
        .unwrap());
    assert!(
        !instances[1]
            .take_api_call(id, limit, 60, now + Duration::seconds(30))
            .await
            .unwrap(),
        "still over in the first window"
    );
}

async fn a_created_token_is_audited_in_the_same_write(backend: Backend) {
    let Some(service) = service(backend, &[]).await else {
        return;
    };
    let (id, key) = service.client(&[ApiScope::TrnTokensWrite]).await;
    let body = format!(r#"{{"trn":"{ACTIVE}","email":"a@b.example"}}"#);
    let (a, b) = tokio::join!(
        service.post_json(&key, &body),
        service.post_json(&key, &body)
    );
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(service.tokens().await, 2);
    let calls = service.store.api_calls().await.unwrap();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.api_client_id == Some(id)
                && c.operation == "create_trn_token"
                && c.status == 201)
            .count(),
        2,
        "each created token audited once: {calls:?}"
    );
}
