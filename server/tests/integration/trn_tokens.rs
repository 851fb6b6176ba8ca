//! TRN tokens (issue 12, DESIGN §7.2): API clients and `server api-client add`, and `POST /api/v1/trn-tokens`
//! over HTTP in-process: authentication and scopes, validation, sizes, the rate limit, the audit; on both
//! backends. Every refusal is checked to have stored no token.

use crate::support::TestResponse;
use crate::util::{record, InProcess};
use app::domain::records::RecordStatus;
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
);

const PATH: &str = "/api/v1/trn-tokens";
const ACTIVE: &str = "3000001";
const DEACTIVATED: &str = "3000002";

type Service = InProcess;

/// The service with an active record (`ACTIVE`) and a deactivated one (`DEACTIVATED`).
async fn service(backend: Backend, vars: &[(&str, &str)]) -> Option<Service> {
    let service = InProcess::new(backend, "TRN-token tests", vars).await?;
    let dob = NaiveDate::from_ymd_opt(1980, 1, 2).unwrap();
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
