//! The HTTP surface, driven in-process: pages, security headers, cookies, CSRF, sessions, error pages, static
//! files and probes.

use crate::support::*;
use axum::body::Body;
use axum::http::{header, Request};
use axum::routing::post;
use axum::{Extension, Router};
use server::http;
use tower::ServiceExt;

struct TestApp {
    router: Router,
    state: server::state::AppState,
    _dir: tempfile::TempDir,
}

impl TestApp {
    async fn new() -> Self {
        Self::with_config(&[]).await
    }

    async fn with_config(vars: &[(&str, &str)]) -> Self {
        let (store, dir) = sqlite_store().await;
        let site = dir.path().join("site");
        std::fs::create_dir_all(site.join("assets/fonts")).unwrap();
        std::fs::create_dir_all(site.join("pkg")).unwrap();
        std::fs::write(
            site.join("assets/main.css"),
            ".govuk-body { margin: 0 }\n".repeat(200),
        )
        .unwrap();
        std::fs::write(
            site.join("assets/fonts/bold-b542beb274-v2.woff2"),
            [0u8, 1, 2, 3],
        )
        .unwrap();
        std::fs::write(
            site.join("pkg/teacher-id.abc.js"),
            "export function hydrate() {}\n".repeat(50),
        )
        .unwrap();
        let state = state_with(store, test_config(vars), &site);
        // A route that raises privilege, to test that the session id changes when it does.
        let routes = http::routes(&state).route(
            "/test/rotate",
            post(
                |Extension(ctx): Extension<app::ssr::RequestContext>| async move {
                    ctx.session.set_flash(app::ssr::Flash {
                        form: app::forms::FormId::Feedback,
                        ..Default::default()
                    });
                    ctx.session.rotate_id();
                    "rotated"
                },
            ),
        );
        let router = http::with_middleware(routes, state.clone());
        Self {
            router,
            state,
            _dir: dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> TestResponse {
        read(self.router.clone().oneshot(req).await.expect("infallible")).await
    }

    /// GETs `path` and returns the CSRF cookie pair to send back with forms.
    async fn csrf(&self) -> (String, String) {
        let res = self.send(get("/feedback")).await;
        let token = res.cookie("tid_csrf").expect("csrf cookie is set");
        (format!("tid_csrf={token}"), token)
    }
}

#[tokio::test]
async fn start_page_renders_the_govuk_template() {
    let app = TestApp::new().await;
    let res = app.send(get("/")).await;
    assert_eq!(res.status, 200);
    assert!(res.header("content-type").starts_with("text/html"));
    for expected in [
        "<title>Access your teaching record – Teacher ID – GOV.UK</title>",
        r##"<a href="#main-content" data-module="govuk-skip-link" class="govuk-skip-link">Skip to main content</a>"##,
        "govuk-header",
        "govuk-service-navigation__service-name",
        "Teacher ID",
        "govuk-phase-banner",
        r#"href="/accessibility""#,
        r#"href="/cookies""#,
        r#"href="/privacy""#,
        r#"id="main-content""#,
        "Start now",
        "js-enabled",
    ] {
        assert!(res.body.contains(expected), "start page lacks {expected}");
    }
    // The stylesheet is requested with its content hash, so it can be cached for a year.
    let css = app.state.assets.get("/assets/main.css").unwrap();
    assert!(res
        .body
        .contains(&format!("/assets/main.css?v={}", css.hash)));
}

#[tokio::test]
async fn footer_pages_have_real_content() {
    let app = TestApp::new().await;
    for (path, heading) in [
        ("/accessibility", "Accessibility statement for Teacher ID"),
        ("/cookies", "Cookies"),
        ("/privacy", "Privacy notice"),
    ] {
        let res = app.send(get(path)).await;
        assert_eq!(res.status, 200, "{path}");
        assert!(
            res.body
                .contains(&format!(r#"<h1 class="govuk-heading-xl">{heading}</h1>"#)),
            "{path}"
        );
    }
    assert!(app.send(get("/cookies")).await.body.contains("tid_csrf"));
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::new().await;
    for path in ["/", "/nope", "/health", "/assets/main.css"] {
        let res = app.send(get(path)).await;
        let csp = res.header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self' 'nonce-"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{path}: {csp}");
        assert_eq!(res.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(res.header("referrer-policy"), "same-origin", "{path}");
        assert_eq!(res.header("x-frame-options"), "DENY", "{path}");
        assert!(!res.header("x-request-id").is_empty(), "{path}");
        assert_eq!(
            res.header("strict-transport-security"),
            "",
            "no HSTS over plain HTTP"
        );
    }
}

#[tokio::test]
async fn inline_scripts_carry_the_nonce_of_their_response() {
    let app = TestApp::new().await;
    let res = app.send(get("/")).await;
    let csp = res.header("content-security-policy");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("nonce in CSP");
    let scripts = res.body.matches("<script").count();
    let with_nonce = res.body.matches(&format!(r#"nonce="{nonce}""#)).count();
    assert!(
        scripts >= 2,
        "expected the hydration and js-enabled scripts"
    );
    assert_eq!(
        scripts, with_nonce,
        "every script carries this response's nonce"
    );
    let again = app.send(get("/")).await;
    assert_ne!(
        again.header("content-security-policy"),
        csp,
        "a new nonce per response"
    );
}

#[tokio::test]
async fn over_https_cookies_are_secure_and_hsts_is_sent() {
    let app = TestApp::with_config(&[("PUBLIC_BASE_URL", "https://teacher-id.example")]).await;
    let res = app.send(get("/feedback")).await;
    assert_eq!(
        res.header("strict-transport-security"),
        "max-age=31536000; includeSubDomains"
    );
    let csrf = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("tid_csrf="))
        .unwrap();
    assert!(
        csrf.contains("; Secure") && csrf.contains("HttpOnly") && csrf.contains("SameSite=Lax"),
        "{csrf}"
    );
}

#[tokio::test]
async fn cookies_are_http_only_and_lax_and_not_secure_on_local_http() {
    let app = TestApp::new().await;
    // A page with a form: pages without one are served from memory and set no cookies.
    let res = app.send(get("/feedback")).await;
    let csrf = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("tid_csrf="))
        .expect("csrf cookie");
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Lax") && csrf.contains("Path=/"),
        "{csrf}"
    );
    assert!(!csrf.contains("Secure"), "{csrf}");
    assert!(
        res.cookie("tid_session").is_none(),
        "no session until there is something to keep"
    );
}

#[tokio::test]
async fn unknown_paths_show_page_not_found() {
    let app = TestApp::new().await;
    for path in [
        "/nope",
        "/assets/missing.css",
        "/problem/999",
        "/%3Cscript%3E",
    ] {
        let res = app.send(get(path)).await;
        assert_eq!(res.status, 404, "{path}");
        assert!(res.body.contains("Page not found"), "{path}");
        assert!(!res.body.contains("<script>alert"), "{path}");
    }
}

#[tokio::test]
async fn forms_without_a_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let (cookie, token) = app.csrf().await;
    let fields = [("satisfaction", "satisfied"), ("details", "Great")];
    let cases = [
        ("no token", post_form("/feedback", &cookie, &fields)),
        (
            "wrong token",
            post_form(
                "/feedback",
                &cookie,
                &[
                    fields[0],
                    fields[1],
                    ("csrf_token", "x".repeat(43).as_str()),
                ],
            ),
        ),
        (
            "no cookie",
            post_form(
                "/feedback",
                "",
                &[fields[0], fields[1], ("csrf_token", token.as_str())],
            ),
        ),
    ];
    for (case, req) in cases {
        let res = app.send(req).await;
        assert_eq!(res.status, 403, "{case}");
        assert!(
            res.body.contains("Sorry, we could not accept your form"),
            "{case}"
        );
    }
    let mut cross_site = post_form(
        "/feedback",
        &cookie,
        &[fields[0], fields[1], ("csrf_token", token.as_str())],
    );
    cross_site
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(app.send(cross_site).await.status, 403, "cross-site");
    let mut other_origin = post_form(
        "/feedback",
        &cookie,
        &[fields[0], fields[1], ("csrf_token", token.as_str())],
    );
    other_origin.headers_mut().remove("sec-fetch-site");
    other_origin
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    assert_eq!(app.send(other_origin).await.status, 403, "other origin");
    assert!(app
        .state
        .store
        .recent_feedback(10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn valid_feedback_is_stored_and_confirmed() {
    let app = TestApp::new().await;
    let (cookie, token) = app.csrf().await;
    let res = app
        .send(post_form(
            "/feedback",
            &cookie,
            &[
                ("satisfaction", "very-satisfied"),
                ("details", "  Clear and quick  "),
                ("csrf_token", &token),
            ],
        ))
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(res.header("location"), "/feedback/sent");
    let stored = app.state.store.recent_feedback(10).await.unwrap();
    assert_eq!(
        (stored[0].satisfaction.as_str(), stored[0].details.as_str()),
        ("very-satisfied", "Clear and quick")
    );
    assert!(app
        .send(get("/feedback/sent"))
        .await
        .body
        .contains("Feedback sent"));
}

/// Posts the feedback form as an anonymous visitor: the form comes straight back with its errors (no session is
/// made to carry them over a redirect).
async fn submit_and_follow(app: &TestApp, fields: &[(&str, &str)]) -> TestResponse {
    let (cookie, token) = app.csrf().await;
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    let res = app.send(post_form("/feedback", &cookie, &all)).await;
    assert!(
        res.cookie("tid_session").is_none(),
        "no session for form errors"
    );
    res
}

#[tokio::test]
async fn empty_feedback_shows_both_errors_in_the_summary_and_inline() {
    let app = TestApp::new().await;
    let page = submit_and_follow(&app, &[("details", "   ")]).await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("<title>Error: Give feedback on Teacher ID – Teacher ID – GOV.UK</title>"));
    assert!(page.body.contains("There is a problem"));
    assert!(page
        .body
        .contains(r##"<a href="#satisfaction">Select how you feel about this service</a>"##));
    assert!(page
        .body
        .contains(r##"<a href="#details">Enter how we could improve this service</a>"##));
    assert!(page.body.contains("govuk-form-group--error"));
    assert!(page
        .body
        .contains(r#"<p id="details-error" class="govuk-error-message">"#));
    assert!(app
        .state
        .store
        .recent_feedback(10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn too_long_feedback_is_refused_and_what_was_typed_is_kept() {
    let app = TestApp::new().await;
    let long = "word ".repeat(300);
    let page = submit_and_follow(&app, &[("satisfaction", "neither"), ("details", &long)]).await;
    assert!(page
        .body
        .contains("How we could improve this service must be 1200 characters or fewer"));
    assert!(page.body.contains(long.trim_end()), "the text is kept");
    assert!(
        page.body.contains(r#"value="neither" checked"#),
        "the choice is kept"
    );
}

#[tokio::test]
async fn hostile_feedback_is_shown_back_as_text_never_markup() {
    let app = TestApp::new().await;
    let hostile = "</textarea><script>alert('x')</script>\u{7}";
    let page = submit_and_follow(&app, &[("satisfaction", "<b>"), ("details", hostile)]).await;
    assert!(
        !page.body.contains("How we could improve this service must"),
        "the bell is removed, not refused (DESIGN §4 free text)"
    );
    assert!(
        page.body.contains("Select how you feel about this service"),
        "unknown choice refused"
    );
    assert!(!page.body.contains("<script>alert"), "markup is escaped");
    assert!(page.body.contains("&lt;script&gt;alert"));
}

#[tokio::test]
async fn malformed_form_bodies_get_a_clear_answer_not_bare_text() {
    let app = TestApp::new().await;
    let (cookie, token) = app.csrf().await;
    let send = |body: Vec<u8>| {
        Request::post("/feedback")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", &token)
            .body(Body::from(body))
            .unwrap()
    };
    // Bytes that are not UTF-8 are read as nothing useful: the form comes back with its errors.
    let res = app.send(send(vec![0xff, 0xfe, b'=', 0x80])).await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("There is a problem"));
    // A body the form cannot be read from at all gets the GOV.UK "problem with your request" page.
    let res = app.send(send(b"details=a&details=b".to_vec())).await;
    assert_eq!(res.status, 422);
    assert!(res
        .body
        .contains("Sorry, there is a problem with your request"));
    assert!(res.header("content-type").starts_with("text/html"));
    assert!(
        !res.body.contains("duplicate field"),
        "no parser text is shown"
    );
    assert!(app
        .state
        .store
        .recent_feedback(10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn oversized_bodies_get_413_with_the_error_page() {
    let app = TestApp::new().await;
    let (cookie, token) = app.csrf().await;
    // Past the megabyte a form is read to (under it, the form comes back with its error: fix_limits.rs).
    let big = "a".repeat(1_100_000);
    let res = app
        .send(post_form(
            "/feedback",
            &cookie,
            &[("details", &big), ("csrf_token", &token)],
        ))
        .await;
    assert_eq!(res.status, 413);
    assert!(res.body.contains("The information you sent was too large"));
}

#[tokio::test]
async fn malformed_and_unknown_session_cookies_are_treated_as_signed_out() {
    let app = TestApp::new().await;
    for cookie in [
        "tid_session=%%%",
        "tid_session=",
        "tid_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "garbage",
        "tid_session=a;b;;c=d=e",
    ] {
        let req = Request::get("/feedback")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        let res = app.send(req).await;
        assert_eq!(res.status, 200, "{cookie}");
        assert!(!res.body.contains("There is a problem"), "{cookie}");
    }
}

#[tokio::test]
async fn session_id_changes_when_privilege_changes_and_the_old_id_stops_working() {
    let app = TestApp::new().await;
    let (cookie, token) = app.csrf().await;
    // First request creates a session.
    let first = app
        .send(post_form(
            "/test/rotate",
            &cookie,
            &[("csrf_token", &token)],
        ))
        .await;
    let first_id = first.cookie("tid_session").expect("session created");
    // Second request, with that session, rotates it.
    let second = app
        .send(post_form(
            "/test/rotate",
            &format!("{cookie}; tid_session={first_id}"),
            &[("csrf_token", &token)],
        ))
        .await;
    let second_id = second.cookie("tid_session").expect("new session id issued");
    assert_ne!(first_id, second_id);
    let key = |id: &str| server::http::session::session_key(id);
    let now = chrono::Utc::now();
    assert!(
        app.state
            .store
            .load_session(&key(&first_id), now)
            .await
            .unwrap()
            .is_none(),
        "old id is gone"
    );
    assert!(app
        .state
        .store
        .load_session(&key(&second_id), now)
        .await
        .unwrap()
        .is_some());
    assert!(
        !app.state
            .store
            .load_session(&key(&second_id), now)
            .await
            .unwrap()
            .unwrap()
            .contains(&second_id),
        "the token is not stored"
    );
}

#[tokio::test]
async fn health_and_ready_answer_json() {
    let app = TestApp::new().await;
    let health = app.send(get("/health")).await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    let ready = app.send(get("/ready")).await;
    assert_eq!(ready.status, 200);
    assert!(ready.body.contains(r#""database":"ok""#));
}

#[tokio::test]
async fn static_files_are_compressed_and_cached_by_fingerprint() {
    let app = TestApp::new().await;
    let css = app.state.assets.get("/assets/main.css").unwrap();
    let req = |uri: &str, encoding: &str| {
        Request::get(uri)
            .header(header::ACCEPT_ENCODING, encoding)
            .body(Body::empty())
            .unwrap()
    };

    let br = app.send(req("/assets/main.css", "gzip, deflate, br")).await;
    assert_eq!(br.header("content-encoding"), "br");
    assert_eq!(br.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(
        br.header("cache-control"),
        "public, no-cache",
        "unversioned URLs are revalidated"
    );
    assert!(br.body.len() < css.raw.len());

    let gz = app.send(req("/assets/main.css", "gzip")).await;
    assert_eq!(gz.header("content-encoding"), "gzip");
    let plain = app.send(req("/assets/main.css", "identity")).await;
    assert_eq!(plain.header("content-encoding"), "");
    assert_eq!(plain.body.len(), css.raw.len());

    let versioned = app
        .send(req(&format!("/assets/main.css?v={}", css.hash), "br"))
        .await;
    assert_eq!(
        versioned.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    let stale = app.send(req("/assets/main.css?v=0000", "br")).await;
    assert_eq!(
        stale.header("cache-control"),
        "public, no-cache",
        "an old version is not cached for a year"
    );
    for path in [
        "/pkg/teacher-id.abc.js",
        "/assets/fonts/bold-b542beb274-v2.woff2",
    ] {
        assert_eq!(
            app.send(req(path, "br")).await.header("cache-control"),
            "public, max-age=31536000, immutable",
            "{path}"
        );
    }

    let etag = br.header("etag").to_string();
    let revalidate = Request::get("/assets/main.css")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let not_modified = app.send(revalidate).await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
}

#[tokio::test]
async fn responses_with_pages_are_not_stored_by_caches() {
    let app = TestApp::new().await;
    assert_eq!(app.send(get("/")).await.header("cache-control"), "no-store");
    assert_eq!(
        app.send(get("/nope")).await.header("cache-control"),
        "no-store"
    );
}

#[tokio::test]
async fn pages_the_same_for_everyone_are_served_from_memory_with_a_fresh_nonce() {
    let app = TestApp::new().await;
    let nonce_of = |res: &TestResponse| {
        let csp = res.header("content-security-policy").to_string();
        csp.split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .unwrap()
            .to_string()
    };
    let first = app.send(get("/cookies")).await;
    let second = app.send(get("/cookies")).await;
    let (n1, n2) = (nonce_of(&first), nonce_of(&second));
    assert_ne!(n1, n2);
    assert!(second.body.contains(&format!(r#"nonce="{n2}""#)));
    assert!(!second.body.contains(&n1), "no other response's nonce");
    assert_eq!(
        first.body.replace(&n1, "N"),
        second.body.replace(&n2, "N"),
        "the same page otherwise"
    );
    assert_eq!(second.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(second.header("cache-control"), "no-store");
    // Someone with a session (perhaps signed in) always gets a fresh render.
    let with_session = Request::get("/cookies")
        .header(header::COOKIE, format!("tid_session={}", "A".repeat(43)))
        .body(Body::empty())
        .unwrap();
    let res = app.send(with_session).await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains(&format!(r#"nonce="{}""#, nonce_of(&res))));
}

#[tokio::test]
async fn only_the_task_list_loads_the_islands_wasm() {
    let app = TestApp::new().await;
    // The task list has the console's one island (signed out it shows the sign-in prompt, in the same document).
    let list = app.send(get("/support")).await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("/pkg/teacher-id"), "{}", list.body);
    assert!(!list.body.contains("/assets/app"), "{}", list.body);
    // The console's other pages are plain HTML and forms, as teachers' pages are: no island loader, no WASM.
    for path in ["/support/signed-out", "/support/staff", "/"] {
        let page = app.send(get(path)).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains("/assets/app"), "{path}: {}", page.body);
        assert!(!page.body.contains("/pkg/"), "{path}: {}", page.body);
    }
}
