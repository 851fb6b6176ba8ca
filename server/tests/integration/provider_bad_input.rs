//! Bad input on the provider's endpoints and the API (issue 12, Tests): hostile redirect URIs, odd Unicode, repeated
//! and huge parameters at `/oauth2/authorize`; misplaced and malformed tokens at `/oauth2/userinfo`; bad logout
//! requests; `/oauth2/continue` without its CSRF token or from another site; content types, duplicate keys, deep
//! nesting and non-ASCII digits at the API. Each case gets the right 4xx (or the OAuth error at the redirect URI
//! where the specification says so), never a 5xx, and stores nothing: each test has a teacher or a client who
//! could have been given a code, token or task, and counts the tables before and after.
//!
//! What `provider.rs` and `trn_tokens.rs` already cover (an unknown or trailing-slash redirect URI, `token`
//! responses, `plain` PKCE, the token endpoint's bad bodies, unknown API fields, the API's 413) is not repeated.

use crate::onelogin::Rp;
use crate::support::{post_form, read, TestResponse};
use crate::util::{assert_redirect, seeded_with_sql, Sql};
use app::domain::provider::{Client, ClientAuth, Scope, Scopes, SignInPolicy, TrnPolicy};
use app::domain::support::Role;
use app::domain::trn_tokens::ApiScope;
use axum::body::Body;
use axum::http::{HeaderValue, Request};
use chrono::Utc;
use onelogin_standin::Outcome;
use server::db::Backend;
use tower::ServiceExt;

on_both_backends!(
    authorize_refuses_hostile_redirect_uris_and_odd_client_ids_with_a_page_and_no_code,
    authorize_answers_other_bad_parameters_at_the_redirect_uri_and_issues_no_code,
    authorize_gives_odd_unicode_state_back_exactly,
    authorize_posted_with_the_wrong_content_type_or_a_huge_body_is_a_clear_4xx,
    userinfo_takes_the_token_only_from_the_authorization_header,
    logout_refuses_bad_requests_with_a_page_and_keeps_the_teacher_signed_in,
    continue_needs_our_csrf_token_and_our_site_and_a_kept_request,
    the_api_refuses_odd_bodies_and_content_types_and_stores_nothing,
);

const REDIRECT: &str = "https://npq.example/callback";
const SIGNED_OUT_AT_NPQ: &str = "https://npq.example/signed-out";
const RECORD_SCOPES: &str = "openid email profile teaching_record";
/// A huge query value, as huge as a request line can be: `http::Uri` holds at most 64 KB, so a longer one is
/// refused by hyper before the application sees it.
const BIG: usize = 60 * 1024;

/// `npq` with a client secret, every scope, and `trn` policy `trn`; and its secret.
fn npq(trn: TrnPolicy) -> (Client, String) {
    let (secret, sha256) = server::http::cookies::new_secret();
    let client = Client {
        client_id: "npq".into(),
        display_name: "Register for an NPQ (sample)".into(),
        service_url: "https://npq.example".into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![SIGNED_OUT_AT_NPQ.into()],
        auth: ClientAuth::ClientSecret { sha256 },
        allowed_scopes: Scopes::from(Scope::ALL),
        sign_in: SignInPolicy::OneLoginOrAccount,
        trn,
        mobile: Default::default(),
        id_token_alg: app::domain::provider::IdTokenAlg::Rs256,
        enabled: true,
    };
    (client, secret)
}

/// The seeded service with `npq` registered, and a second connection to its database.
async fn flow(backend: Backend, trn: TrnPolicy) -> Option<(Rp, Sql, String)> {
    let (rp, sql) = seeded_with_sql(
        backend,
        "provider bad-input tests",
        ("admin@example.com", "Ada Admin", Role::Administrator),
    )
    .await?;
    let (client, secret) = npq(trn);
    rp.state
        .store
        .add_client(&client, Utc::now())
        .await
        .unwrap();
    Some((rp, sql, secret))
}

/// The exact-match persona signed in, verified and connected: a good request would give them a code at once.
async fn connected_teacher(rp: &mut Rp) {
    let back = rp
        .verify("exact-match", Outcome::IdentityVerified, vec![])
        .await;
    assert_eq!(back.header("location"), "/continue");
    assert_redirect(&rp.get("/continue").await, "/connected");
}

/// What a bad request must not have added: (codes, access tokens, provider subjects, support tasks, TRN tokens).
type Counts = [i64; 5];

async fn counts(sql: &Sql) -> Counts {
    let mut out = [0; 5];
    for (i, table) in [
        "authorization_codes",
        "access_tokens",
        "provider_subjects",
        "support_tasks",
        "trn_tokens",
    ]
    .iter()
    .enumerate()
    {
        let query = format!("SELECT COUNT(*) FROM {table}");
        out[i] = match sql {
            Sql::Sqlite(pool) => sqlx::query_scalar::<_, i64>(&query).fetch_one(pool).await,
            Sql::Postgres(pool) => sqlx::query_scalar::<_, i64>(&query).fetch_one(pool).await,
        }
        .unwrap();
    }
    out
}

/// The query of `npq`'s good request with `changes` (a value, or `None` to leave it out); `extra` pairs are
/// appended as they are (for repeats).
fn query(changes: &[(&str, Option<&str>)], extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", "npq"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in changes {
        params.retain(|(k, _)| k != name);
        if let Some(value) = value {
            params.push((name, value));
        }
    }
    params.extend_from_slice(extra);
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/oauth2/authorize?{q}")
}

/// Never a 5xx, and no internal error text (a store's or a library's words) on the page or in the JSON.
#[track_caller]
fn assert_clear_refusal(what: &str, res: &TestResponse) {
    assert!(
        (400..500).contains(&res.status) || res.status == 302 || res.status == 303,
        "{what}: {} {}",
        res.status,
        &res.body[..res.body.len().min(300)]
    );
    for internal in [
        "panicked",
        "sqlx",
        "database",
        "SQLSTATE",
        "Failed to deserialize",
        "Failed to buffer",
        "at line",
        "stack backtrace",
    ] {
        assert!(
            !res.body.contains(internal),
            "{what}: internal text {internal:?} in {}",
            &res.body[..res.body.len().min(500)]
        );
    }
}

/// A GOV.UK error page: a 4xx HTML page with the GOV.UK template, and no redirect.
#[track_caller]
fn assert_error_page(what: &str, res: &TestResponse, status: u16) {
    assert_clear_refusal(what, res);
    assert_eq!(res.status, status, "{what}");
    assert_eq!(res.header("location"), "", "{what}: never a redirect");
    assert!(
        res.header("content-type").starts_with("text/html"),
        "{what}: {}",
        res.header("content-type")
    );
    assert!(
        res.body.contains("govuk-template") && res.body.contains("govuk-heading-l"),
        "{what}: a GOV.UK page: {}",
        &res.body[..res.body.len().min(300)]
    );
}

/// The OAuth error `error` at `npq`'s redirect URI, with `state` back only when `state` says.
#[track_caller]
fn assert_error_redirect(what: &str, res: &TestResponse, error: &str, state: Option<&str>) {
    assert_clear_refusal(what, res);
    assert_eq!(res.status, 302, "{what}");
    let location = res.header("location");
    let (to, q) = location.split_once('?').expect("a query");
    assert_eq!(to, REDIRECT, "{what}");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("error"), Some(error), "{what}: {location}");
    assert_eq!(get("code"), None, "{what}: {location}");
    assert_eq!(get("state"), state, "{what}: {location}");
}

async fn authorize_refuses_hostile_redirect_uris_and_odd_client_ids_with_a_page_and_no_code(
    backend: Backend,
) {
    let Some((mut rp, sql, _)) = flow(backend, TrnPolicy::Required).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let before = counts(&sql).await;
    let long_uri = format!("{REDIRECT}?{}", "a".repeat(BIG));
    let uri_cases: &[(&str, &str)] = &[
        ("javascript: URI", "javascript:alert(document.cookie)"),
        ("data: URI", "data:text/html,<script>alert(1)</script>"),
        (
            "ours as user info",
            "https://npq.example@evil.example/callback",
        ),
        (
            "evil as user info",
            "https://evil.example@npq.example/callback",
        ),
        ("an extra path segment", "https://npq.example/callback/more"),
        (
            "an added query",
            "https://npq.example/callback?next=https://evil.example",
        ),
        ("an added fragment", "https://npq.example/callback#x"),
        ("the host in capitals", "https://NPQ.EXAMPLE/callback"),
        ("the path in capitals", "https://npq.example/Callback"),
        ("a percent-encoded path", "https://npq.example/%63allback"),
        (
            "percent-encoded twice",
            "https%3A%2F%2Fnpq.example%2Fcallback",
        ),
        ("http, not https", "http://npq.example/callback"),
        ("an explicit port", "https://npq.example:443/callback"),
        ("a dot segment", "https://npq.example/x/../callback"),
        ("leading space", " https://npq.example/callback"),
        ("a NUL on the end", "https://npq.example/callback\0"),
        ("an RTL override", "https://npq.example/callback\u{202e}"),
        ("protocol-relative", "//evil.example/callback"),
        ("60 KB long", &long_uri),
    ];
    for (what, uri) in uri_cases {
        let res = rp.get(&query(&[("redirect_uri", Some(uri))], &[])).await;
        assert_error_page(what, &res, 400);
        assert!(
            res.body
                .contains("Sorry, there is a problem with the service you came from"),
            "{what}"
        );
    }
    let huge_id = "n".repeat(BIG);
    let id_cases: &[(&str, &str)] = &[
        ("a NUL in client_id", "npq\0"),
        ("an RTL override in client_id", "\u{202e}qpn"),
        ("an emoji client_id", "npq\u{1f600}"),
        ("client_id in capitals", "NPQ"),
        ("a 60 KB client_id", &huge_id),
    ];
    for (what, id) in id_cases {
        let res = rp.get(&query(&[("client_id", Some(id))], &[])).await;
        assert_error_page(what, &res, 400);
    }
    let twice = rp.get(&query(&[], &[("client_id", "npq")])).await;
    assert_error_page("client_id twice", &twice, 400);
    // Not UTF-8 at all once percent-decoded: decoded lossily, so no client and no URI of its matches.
    let raw = rp
        .get("/oauth2/authorize?client_id=%FF%FE&redirect_uri=%80&response_type=code")
        .await;
    assert_error_page("bytes that are not UTF-8", &raw, 400);
    assert_eq!(counts(&sql).await, before, "nothing stored");
    // The same teacher, a good request: a code. So the refusals above were the requests', not the setup's.
    let good = rp.get(&query(&[], &[])).await;
    assert_eq!(good.status, 302);
    assert!(good
        .header("location")
        .starts_with(&format!("{REDIRECT}?code=")));
}

async fn authorize_answers_other_bad_parameters_at_the_redirect_uri_and_issues_no_code(
    backend: Backend,
) {
    let Some((mut rp, sql, _)) = flow(backend, TrnPolicy::Required).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let before = counts(&sql).await;
    let huge = "s".repeat(BIG);
    let st = Some("st-1");
    let cases: Vec<(&str, String, &str, Option<&str>)> = vec![
        (
            "response_type id_token",
            query(&[("response_type", Some("id_token"))], &[]),
            "unsupported_response_type",
            st,
        ),
        (
            "response_type code id_token",
            query(&[("response_type", Some("code id_token"))], &[]),
            "unsupported_response_type",
            st,
        ),
        (
            "response_type in capitals",
            query(&[("response_type", Some("CODE"))], &[]),
            "unsupported_response_type",
            st,
        ),
        (
            "response_type missing",
            query(&[("response_type", None)], &[]),
            "invalid_request",
            st,
        ),
        (
            "code_challenge_method missing",
            query(&[("code_challenge_method", None)], &[]),
            "invalid_request",
            st,
        ),
        (
            "code_challenge_method in lower case",
            query(&[("code_challenge_method", Some("s256"))], &[]),
            "invalid_request",
            st,
        ),
        (
            "state twice: neither goes back",
            query(&[], &[("state", "st-2")]),
            "invalid_request",
            None,
        ),
        (
            "nonce twice",
            query(&[], &[("nonce", "n-2")]),
            "invalid_request",
            st,
        ),
        (
            "scope twice",
            query(&[], &[("scope", "openid")]),
            "invalid_request",
            st,
        ),
        (
            "a 60 KB state: too long to send back",
            query(&[("state", Some(&huge))], &[]),
            "invalid_request",
            None,
        ),
        (
            "a 60 KB nonce",
            query(&[("nonce", Some(&huge))], &[]),
            "invalid_request",
            st,
        ),
        (
            "a NUL in scope",
            query(&[("scope", Some("openid\0email"))], &[]),
            "invalid_scope",
            st,
        ),
        (
            "an emoji scope",
            query(&[("scope", Some("openid \u{1f600}"))], &[]),
            "invalid_scope",
            st,
        ),
        (
            "an RTL override in scope",
            query(&[("scope", Some("openid \u{202e}liame"))], &[]),
            "invalid_scope",
            st,
        ),
        (
            "a NUL in state: not sent back",
            query(&[("state", Some("a\0b"))], &[]),
            "invalid_request",
            None,
        ),
        (
            "CR LF in state: not sent back",
            query(&[("state", Some("a\r\nSet-Cookie: x=1"))], &[]),
            "invalid_request",
            None,
        ),
        (
            "a NUL in nonce",
            query(&[("nonce", Some("n\0"))], &[]),
            "invalid_request",
            st,
        ),
        (
            "an empty state",
            query(&[("state", Some(""))], &[]),
            "invalid_request",
            None,
        ),
        (
            "an empty nonce",
            query(&[("nonce", Some(""))], &[]),
            "invalid_request",
            st,
        ),
        (
            "response_mode fragment",
            query(&[("response_mode", Some("fragment"))], &[]),
            "invalid_request",
            st,
        ),
        (
            "request_uri",
            query(&[("request_uri", Some("https://evil.example/r"))], &[]),
            "request_uri_not_supported",
            st,
        ),
    ];
    for (what, path, error, state) in cases {
        let res = rp.get(&path).await;
        assert_error_redirect(what, &res, error, state);
    }
    assert_eq!(counts(&sql).await, before, "no code stored");
    let good = rp.get(&query(&[], &[])).await;
    assert!(good
        .header("location")
        .starts_with(&format!("{REDIRECT}?code=")));
}

/// `state` and `nonce` are the client's own opaque values: odd printable characters in them are not an error, and
/// `state` comes back exactly, percent-encoded, in a `Location` header of ASCII. (Control characters are refused:
/// the cases above.)
async fn authorize_gives_odd_unicode_state_back_exactly(backend: Backend) {
    let Some((mut rp, _sql, _)) = flow(backend, TrnPolicy::Required).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    for (what, state) in [
        ("an RTL override", "\u{202e}gnp.exe"),
        ("an emoji", "\u{1f600}\u{1f469}\u{200d}\u{1f4bb}"),
        ("Arabic-Indic digits", "\u{663}\u{661}\u{660}"),
    ] {
        let res = rp
            .get(&query(
                &[("state", Some(state)), ("nonce", Some(state))],
                &[],
            ))
            .await;
        assert_clear_refusal(what, &res);
        assert_eq!(res.status, 302, "{what}");
        let location = res.header("location");
        assert!(location.is_ascii(), "{what}: {location}");
        let (to, q) = location.split_once('?').unwrap();
        assert_eq!(to, REDIRECT, "{what}");
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        assert!(pairs.iter().any(|(k, _)| k == "code"), "{what}: {location}");
        assert!(
            pairs.contains(&("state".into(), state.into())),
            "{what}: {location}"
        );
    }
}

async fn authorize_posted_with_the_wrong_content_type_or_a_huge_body_is_a_clear_4xx(
    backend: Backend,
) {
    let Some((rp, sql, _)) = flow(backend, TrnPolicy::Required).await else {
        return;
    };
    let before = counts(&sql).await;
    let good = query(&[], &[]);
    let good = good.trim_start_matches("/oauth2/authorize?");
    let huge = format!("{good}&padding={}", "a".repeat(3 * 1024 * 1024));
    let cases: Vec<(&str, Option<&str>, String)> = vec![
        (
            "JSON",
            Some("application/json"),
            r#"{"client_id":"npq"}"#.into(),
        ),
        ("text/plain", Some("text/plain"), good.to_string()),
        (
            "multipart",
            Some("multipart/form-data; boundary=x"),
            "--x\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\nnpq\r\n--x--\r\n"
                .into(),
        ),
        ("no content type", None, good.to_string()),
        (
            "a 3 MB form",
            Some("application/x-www-form-urlencoded"),
            huge,
        ),
    ];
    for (what, content_type, body) in cases {
        let mut req = Request::post("/oauth2/authorize")
            .header("sec-fetch-site", "cross-site")
            .header("accept", "text/html");
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        let res = read(
            rp.router
                .clone()
                .oneshot(req.body(Body::from(body)).unwrap())
                .await
                .unwrap(),
        )
        .await;
        assert_clear_refusal(what, &res);
        assert!((400..500).contains(&res.status), "{what}: {}", res.status);
        assert_eq!(res.header("location"), "", "{what}");
    }
    assert_eq!(counts(&sql).await, before);
}

/// A userinfo case: what it is, method, path, `Authorization`, content type, body.
type UserinfoCase<'a> = (
    &'a str,
    &'a str,
    String,
    Option<HeaderValue>,
    Option<&'a str>,
    Vec<u8>,
);

async fn userinfo_takes_the_token_only_from_the_authorization_header(backend: Backend) {
    let Some((mut rp, sql, secret)) = flow(backend, TrnPolicy::Required).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let back = rp.get(&query(&[], &[])).await;
    let location = back.header("location").to_string();
    let code = form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let token_body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
            ("client_id", "npq"),
            ("client_secret", &secret),
        ])
        .finish();
    let tokens = read(
        rp.router
            .clone()
            .oneshot(
                Request::post("/oauth2/token")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(token_body))
                    .unwrap(),
            )
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let access: serde_json::Value = serde_json::from_str(&tokens.body).unwrap();
    let access = access["access_token"].as_str().unwrap().to_string();
    let before = counts(&sql).await;

    let send = |method: &str,
                path: String,
                authorization: Option<HeaderValue>,
                content_type: Option<&str>,
                body: Vec<u8>| {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        let req = req.body(Body::from(body)).unwrap();
        let router = rp.router.clone();
        async move { read(router.oneshot(req).await.unwrap()).await }
    };
    let bearer = |s: String| Some(HeaderValue::from_str(&s).unwrap());
    let form = Some("application/x-www-form-urlencoded");
    let huge = "A".repeat(1024 * 1024);
    let cases: Vec<UserinfoCase> = vec![
        (
            "the token in the query",
            "GET",
            format!("/oauth2/userinfo?access_token={access}"),
            None,
            None,
            vec![],
        ),
        (
            "the token in a form body",
            "POST",
            "/oauth2/userinfo".into(),
            None,
            form,
            format!("access_token={access}").into_bytes(),
        ),
        (
            "Bearer with no token",
            "GET",
            "/oauth2/userinfo".into(),
            bearer("Bearer".into()),
            None,
            vec![],
        ),
        (
            "Bearer and two tokens",
            "GET",
            "/oauth2/userinfo".into(),
            bearer(format!("Bearer {access} {access}")),
            None,
            vec![],
        ),
        (
            "Basic, not Bearer",
            "GET",
            "/oauth2/userinfo".into(),
            bearer(format!("Basic {access}")),
            None,
            vec![],
        ),
        (
            "bytes that are not ASCII",
            "GET",
            "/oauth2/userinfo".into(),
            Some(HeaderValue::from_bytes(b"Bearer \xff\xfe\x80").unwrap()),
            None,
            vec![],
        ),
        (
            "a 1 MB header",
            "GET",
            "/oauth2/userinfo".into(),
            bearer(format!("Bearer {huge}")),
            None,
            vec![],
        ),
        (
            "a 1 MB form body with the token in it",
            "POST",
            "/oauth2/userinfo".into(),
            None,
            form,
            format!("access_token={access}&pad={huge}").into_bytes(),
        ),
    ];
    for (what, method, path, authorization, content_type, body) in cases {
        let res = send(method, path, authorization, content_type, body).await;
        assert_clear_refusal(what, &res);
        assert_eq!(res.status, 401, "{what}: {}", res.body);
        assert!(
            res.header("www-authenticate").starts_with("Bearer"),
            "{what}"
        );
        let body: serde_json::Value = serde_json::from_str(&res.body)
            .unwrap_or_else(|_| panic!("{what}: OAuth JSON: {}", res.body));
        assert_eq!(body["error"], "invalid_token", "{what}");
        assert!(!res.body.contains("email"), "{what}: no claims");
    }
    // A 1 MB body beside the right header: the header is what counts, and the body is never read.
    let with_body = send(
        "POST",
        "/oauth2/userinfo".into(),
        bearer(format!("Bearer {access}")),
        Some("application/json"),
        huge.clone().into_bytes(),
    )
    .await;
    assert_eq!(with_body.status, 200, "{}", with_body.body);
    // At the token endpoint, a client id with a NUL is no client (not a question the database cannot answer).
    let nul_client = send(
        "POST",
        "/oauth2/token".into(),
        None,
        form,
        b"grant_type=authorization_code&code=x&client_id=npq%00&client_secret=s".to_vec(),
    )
    .await;
    assert_clear_refusal("a NUL in client_id at the token endpoint", &nul_client);
    assert_eq!(nul_client.status, 401, "{}", nul_client.body);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&nul_client.body).unwrap()["error"],
        "invalid_client"
    );
    assert_eq!(counts(&sql).await, before);
}

async fn logout_refuses_bad_requests_with_a_page_and_keeps_the_teacher_signed_in(backend: Backend) {
    let Some((mut rp, _sql, _)) = flow(backend, TrnPolicy::Required).await else {
        return;
    };
    connected_teacher(&mut rp).await;
    let logout = |pairs: &[(&str, &str)]| {
        format!(
            "/oauth2/logout?{}",
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        )
    };
    let huge = "s".repeat(10 * 1024);
    let long_hint = "e".repeat(10 * 1024);
    let cases: Vec<(&str, String)> = vec![
        (
            "javascript: URI",
            logout(&[
                ("client_id", "npq"),
                ("post_logout_redirect_uri", "javascript:alert(1)"),
            ]),
        ),
        (
            "an extra path segment",
            logout(&[
                ("client_id", "npq"),
                (
                    "post_logout_redirect_uri",
                    "https://npq.example/signed-out/x",
                ),
            ]),
        ),
        (
            "the host in capitals",
            logout(&[
                ("client_id", "npq"),
                ("post_logout_redirect_uri", "https://NPQ.example/signed-out"),
            ]),
        ),
        (
            "ours as user info",
            logout(&[
                ("client_id", "npq"),
                (
                    "post_logout_redirect_uri",
                    "https://npq.example@evil.example/signed-out",
                ),
            ]),
        ),
        (
            "a registered URI with no client",
            logout(&[("post_logout_redirect_uri", SIGNED_OUT_AT_NPQ)]),
        ),
        (
            "an unknown client",
            logout(&[
                ("client_id", "nobody"),
                ("post_logout_redirect_uri", SIGNED_OUT_AT_NPQ),
            ]),
        ),
        (
            "a hint of three empty parts",
            logout(&[
                ("id_token_hint", ".."),
                ("post_logout_redirect_uri", SIGNED_OUT_AT_NPQ),
            ]),
        ),
        (
            "an unsigned hint (alg none)",
            logout(&[
                (
                    "id_token_hint",
                    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiYXVkIjoibnBxIn0.",
                ),
                ("post_logout_redirect_uri", SIGNED_OUT_AT_NPQ),
            ]),
        ),
        (
            "a NUL in client_id",
            logout(&[
                ("client_id", "npq\0"),
                ("post_logout_redirect_uri", SIGNED_OUT_AT_NPQ),
            ]),
        ),
        ("a 10 KB hint", logout(&[("id_token_hint", &long_hint)])),
        (
            "a 10 KB state",
            logout(&[
                ("client_id", "npq"),
                ("post_logout_redirect_uri", SIGNED_OUT_AT_NPQ),
                ("state", &huge),
            ]),
        ),
        (
            "state twice",
            logout(&[
                ("client_id", "npq"),
                ("post_logout_redirect_uri", SIGNED_OUT_AT_NPQ),
                ("state", "a"),
                ("state", "b"),
            ]),
        ),
        (
            "post_logout_redirect_uri twice",
            logout(&[
                ("client_id", "npq"),
                ("post_logout_redirect_uri", SIGNED_OUT_AT_NPQ),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ]),
        ),
    ];
    for (what, path) in cases {
        let res = rp.get(&path).await;
        assert_error_page(what, &res, 400);
        assert!(
            rp.signed_in_user().await.is_some(),
            "{what}: still signed in"
        );
    }
}

async fn continue_needs_our_csrf_token_and_our_site_and_a_kept_request(backend: Backend) {
    let Some((mut rp, sql, _)) = flow(backend, TrnPolicy::Optional).await else {
        return;
    };
    // Signed in, nothing kept: the button's route goes on through the journey, with no code.
    connected_teacher(&mut rp).await;
    let before = counts(&sql).await;
    let nothing_kept = rp.post("/oauth2/continue", &[]).await;
    assert_clear_refusal("no kept request", &nothing_kept);
    assert!(
        !nothing_kept.header("location").starts_with(REDIRECT),
        "no code without a request: {}",
        nothing_kept.header("location")
    );
    assert_eq!(counts(&sql).await, before);

    // A teacher from npq whose request is kept and who may go back now (trn optional, support asked).
    let Some((mut rp, sql, _)) = flow(backend, TrnPolicy::Optional).await else {
        return;
    };
    assert_redirect(
        &rp.get(&query(&[("scope", Some(RECORD_SCOPES))], &[])).await,
        "/account-sign-in",
    );
    crate::util::unmatched_teacher_asks_for_support(&mut rp).await;
    let before = counts(&sql).await;
    let csrf = rp.cookies.get("tid_csrf").cloned().unwrap();
    let cookies = rp.cookie_header();
    let wrong_cookies = cookies.replace(&csrf, &"B".repeat(csrf.len()));
    let cases: Vec<(&str, u16, Request<Body>)> = vec![
        (
            "no CSRF token",
            403,
            post_form("/oauth2/continue", &cookies, &[]),
        ),
        (
            "a tampered CSRF token",
            403,
            post_form(
                "/oauth2/continue",
                &cookies,
                &[("csrf_token", &"A".repeat(csrf.len()))],
            ),
        ),
        (
            "a token that matches a tampered cookie only",
            403,
            post_form("/oauth2/continue", &wrong_cookies, &[("csrf_token", &csrf)]),
        ),
        // Over the form limit: refused as too large before the token is compared.
        ("a 1 MB CSRF token", 413, {
            let huge = "A".repeat(1024 * 1024);
            post_form("/oauth2/continue", &cookies, &[("csrf_token", &huge)])
        }),
        ("from another site (Sec-Fetch-Site)", 403, {
            let mut req = post_form("/oauth2/continue", &cookies, &[("csrf_token", &csrf)]);
            req.headers_mut()
                .insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
            req
        }),
        ("from another site (Origin)", 403, {
            let mut req = post_form("/oauth2/continue", &cookies, &[("csrf_token", &csrf)]);
            req.headers_mut().remove("sec-fetch-site");
            req.headers_mut()
                .insert("origin", HeaderValue::from_static("https://evil.example"));
            req
        }),
    ];
    for (what, status, req) in cases {
        let res = read(rp.router.clone().oneshot(req).await.unwrap()).await;
        assert_error_page(what, &res, status);
        assert_eq!(counts(&sql).await, before, "{what}: no code");
    }
    // The same teacher, the button pressed as our page sends it: a code. The refusals were the requests'.
    let back = rp.post("/oauth2/continue", &[]).await;
    assert_eq!(back.status, 302, "{}", back.body);
    assert!(back
        .header("location")
        .starts_with(&format!("{REDIRECT}?code=")));
}

/// An API case: what it is, method, path, content type, body, and the field the problem names.
type ApiCase<'a> = (
    &'a str,
    &'a str,
    String,
    Option<&'a str>,
    String,
    Option<&'a str>,
);

async fn the_api_refuses_odd_bodies_and_content_types_and_stores_nothing(backend: Backend) {
    let Some((rp, sql, _)) = flow(backend, TrnPolicy::Required).await else {
        return;
    };
    let (_, key) = server::api::api_client_add(
        &rp.state.store,
        &server::api::ApiClientAddArgs {
            name: "Find a lost TRN".into(),
            scopes: [ApiScope::TrnTokensWrite, ApiScope::QtsWrite]
                .into_iter()
                .collect(),
        },
        Utc::now(),
    )
    .await
    .unwrap();
    // An active record of the seed with an email, for which a good call would make a token.
    let trn = seeded_active_trn(&rp);
    let before = counts(&sql).await;
    let good = format!(r#"{{"trn":"{trn}","email":"a@b.example"}}"#);
    // Far deeper than serde_json's recursion limit (128), well within the API's 16 KB.
    let nested = format!(
        r#"{{"trn":{}"{trn}"{},"email":"a@b.example"}}"#,
        "[".repeat(2_000),
        "]".repeat(2_000)
    );
    let send = |method: &str, path: String, content_type: Option<&str>, body: String| {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {key}"));
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        let req = req.body(Body::from(body)).unwrap();
        let router = rp.router.clone();
        async move { read(router.oneshot(req).await.unwrap()).await }
    };
    let json = Some("application/json");
    let tokens = "/api/v1/trn-tokens".to_string();
    let qts = |trn: &str| format!("/api/v1/teachers/{trn}/qts");
    let arabic = "\u{663}\u{661}\u{660}\u{660}\u{660}\u{660}\u{661}";
    let arabic_path = form_urlencoded::byte_serialize(arabic.as_bytes()).collect::<String>();
    let cases: Vec<ApiCase> = vec![
        (
            "no content type",
            "POST",
            tokens.clone(),
            None,
            good.clone(),
            Some("Content-Type"),
        ),
        (
            "multipart",
            "POST",
            tokens.clone(),
            Some("multipart/form-data; boundary=x"),
            good.clone(),
            Some("Content-Type"),
        ),
        (
            "application/jsonx",
            "POST",
            tokens.clone(),
            Some("application/jsonx"),
            good.clone(),
            Some("Content-Type"),
        ),
        (
            "a duplicate key, the good value last",
            "POST",
            tokens.clone(),
            json,
            format!(r#"{{"trn":"3999999","trn":"{trn}","email":"a@b.example"}}"#),
            Some("trn"),
        ),
        (
            "a duplicate key, the good value first",
            "POST",
            tokens.clone(),
            json,
            format!(r#"{{"trn":"{trn}","email":"a@b.example","email":"c@d.example"}}"#),
            Some("email"),
        ),
        (
            "deeply nested arrays",
            "POST",
            tokens.clone(),
            json,
            nested,
            None,
        ),
        (
            "a TRN of Arabic-Indic digits",
            "POST",
            tokens.clone(),
            json,
            format!(r#"{{"trn":"{arabic}","email":"a@b.example"}}"#),
            Some("trn"),
        ),
        (
            "a TRN of full-width digits",
            "POST",
            tokens.clone(),
            json,
            r#"{"trn":"３１００００１","email":"a@b.example"}"#.into(),
            Some("trn"),
        ),
        (
            "a lone surrogate",
            "POST",
            tokens.clone(),
            json,
            format!(r#"{{"trn":"{trn}","email":"a\ud800@b.example"}}"#),
            None,
        ),
        (
            "a NUL in the email",
            "POST",
            tokens.clone(),
            json,
            format!(r#"{{"trn":"{trn}","email":"a\u0000@b.example"}}"#),
            Some("email"),
        ),
        (
            "a byte-order mark first",
            "POST",
            tokens.clone(),
            json,
            format!("\u{feff}{good}"),
            None,
        ),
        (
            "a QTS award for a TRN of Arabic-Indic digits",
            "PUT",
            qts(&arabic_path),
            json,
            r#"{"awarded":"2026-07-15"}"#.into(),
            Some("trn"),
        ),
        (
            "a QTS award with a duplicate key",
            "PUT",
            qts(&trn),
            json,
            r#"{"awarded":"1899-01-01","awarded":"2026-07-15"}"#.into(),
            Some("awarded"),
        ),
        (
            "a QTS award with no content type",
            "PUT",
            qts(&trn),
            None,
            r#"{"awarded":"2026-07-15"}"#.into(),
            Some("Content-Type"),
        ),
    ];
    for (what, method, path, content_type, body, field) in cases {
        let res = send(method, path, content_type, body).await;
        assert_clear_refusal(what, &res);
        assert_eq!(res.status, 400, "{what}: {}", res.body);
        assert_eq!(
            res.header("content-type"),
            "application/problem+json",
            "{what}"
        );
        let problem: serde_json::Value = serde_json::from_str(&res.body).unwrap();
        assert_eq!(problem["status"], 400, "{what}");
        assert_eq!(problem["field"].as_str(), field, "{what}: {problem}");
        assert_eq!(counts(&sql).await, before, "{what}: nothing stored");
        assert!(
            rp.state
                .store
                .record_history(&trn)
                .await
                .unwrap()
                .is_empty(),
            "{what}: no QTS event"
        );
    }
    // The same key and record, a good call: a token. The refusals were the bodies'.
    let made = send("POST", tokens, json, good).await;
    assert_eq!(made.status, 201, "{}", made.body);
}

/// An active seeded record's TRN: the exact-match persona's.
fn seeded_active_trn(rp: &Rp) -> String {
    let persona = rp.standin.persona("exact-match").unwrap();
    persona.trn_hint.expect("the exact-match persona has a TRN")
}
