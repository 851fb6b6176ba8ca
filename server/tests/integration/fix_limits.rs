//! Issue 10 §3, §4 and §9: limits that hold behind a load balancer (the client address from trusted proxies,
//! configurable rate limits, a header-read timeout, a cap on connections, no large body read before we know who
//! is asking), uploads (no orphaned files, a sweeper, retention of decided proofs, field caps, the over-size page)
//! and the held-out input checks (forms over 64 KiB, padded NINO and TRN answers, invisible names).

use crate::onelogin::Rp;
use crate::support::{read, TestResponse};
use crate::util::{answer_nino, answer_trn, assert_redirect, TestApp};
use axum::body::Body;
use axum::http::{header, Request};
use object_store::ObjectStore;
use onelogin_standin::Outcome;
use server::db::Backend;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

on_both_backends!(
    the_address_limit_counts_the_client_a_trusted_proxy_forwards_for,
    rate_limits_are_configuration,
    an_invalid_form_sent_again_and_again_keeps_one_file_and_the_sweeper_removes_orphans,
    decided_proofs_are_deleted_after_the_retention_period_and_audited,
    a_nine_megabyte_name_is_cut_before_it_is_stored_or_shown,
    a_form_over_64_kib_comes_back_with_its_error_and_what_was_typed_cut_short,
    padded_nino_and_trn_answers_are_accepted,
    names_and_free_text_of_invisible_characters_or_emoji_are_refused,
);

async fn seeded(backend: Backend) -> Option<Rp> {
    TestApp::new(backend, "limits").build().await
}

/// Changes the running service's configuration, as a restart with other environment variables would.
fn reconfigure(rp: &mut Rp, change: impl FnOnce(&mut server::config::Config)) {
    let mut config = (*rp.state.config).clone();
    change(&mut config);
    rp.state.config = Arc::new(config);
    rp.new_instance();
}

/// Sends `req` as `rp`'s browser would (its cookies, its client address), keeping the cookies it sets.
async fn send(rp: &mut Rp, mut req: Request<Body>) -> TestResponse {
    req.headers_mut()
        .insert(header::COOKIE, rp.cookie_header().parse().unwrap());
    if let Some(addr) = rp.client_addr {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
    }
    let res = read(rp.router.clone().oneshot(req).await.unwrap()).await;
    for set in res.set_cookies() {
        if let Some((name, value)) = set.split(';').next().and_then(|p| p.split_once('=')) {
            if value.is_empty() {
                rp.cookies.remove(name);
            } else {
                rp.cookies.insert(name.into(), value.into());
            }
        }
    }
    res
}

/// A form POST with the CSRF token, sent through a load balancer that says it forwards for `forwarded_for`.
async fn post_forwarded(
    rp: &mut Rp,
    path: &str,
    fields: &[(&str, &str)],
    forwarded_for: &str,
) -> TestResponse {
    let token = rp.cookies["tid_csrf"].clone();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .append_pair("csrf_token", &token)
        .finish();
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("x-forwarded-for", forwarded_for)
        .body(Body::from(body))
        .unwrap();
    send(rp, req).await
}

/// Signs `persona` in afresh (a new browser), verified, on the NINO question.
async fn at_the_nino_question(rp: &mut Rp, persona: &str) {
    rp.cookies.clear();
    let back = rp.verify(persona, Outcome::IdentityVerified, vec![]).await;
    assert_eq!(back.header("location"), "/continue");
    rp.get("/continue").await;
    assert_eq!(rp.get("/connect/nino").await.status, 200);
}

/// Behind a load balancer every request comes from the balancer: the limit must count the client it forwards for.
async fn the_address_limit_counts_the_client_a_trusted_proxy_forwards_for(backend: Backend) {
    let Some(mut rp) = seeded(backend).await else {
        return;
    };
    reconfigure(&mut rp, |c| {
        c.trusted_proxies = server::http::client_addr::TrustedProxies::parse("10.0.0.0/8").unwrap();
        c.rate_limits.address_attempts = 3;
    });
    // Everything arrives from the balancer.
    rp.client_addr = Some("10.0.0.2:40000".parse().unwrap());
    let wrong_nino = [("has_nino", "yes"), ("nino", "AB123456C")];

    at_the_nino_question(&mut rp, "no-match").await;
    for _ in 0..3 {
        let res = post_forwarded(&mut rp, "/connect/nino", &wrong_nino, "203.0.113.1").await;
        assert_redirect(&res, "/connect/trn");
    }
    let res = post_forwarded(&mut rp, "/connect/nino", &wrong_nino, "203.0.113.1").await;
    assert_redirect(&res, "/connect/too-many-attempts");
    assert!(rp
        .get("/connect/too-many-attempts")
        .await
        .body
        .contains("in an hour"));

    // Another teacher behind the same balancer has their own count.
    at_the_nino_question(&mut rp, "possible-duplicate").await;
    let res = post_forwarded(&mut rp, "/connect/nino", &wrong_nino, "198.51.100.20").await;
    assert_redirect(&res, "/connect/trn");

    // A client that reaches us directly cannot choose its address by sending the header itself.
    rp.client_addr = Some("192.0.2.50:50000".parse().unwrap());
    at_the_nino_question(&mut rp, "trn-only").await;
    for i in 0..3 {
        let res = post_forwarded(
            &mut rp,
            "/connect/nino",
            &wrong_nino,
            &format!("203.0.113.{}", 100 + i),
        )
        .await;
        assert_redirect(&res, "/connect/trn");
    }
    let res = post_forwarded(&mut rp, "/connect/nino", &wrong_nino, "203.0.113.200").await;
    assert_redirect(&res, "/connect/too-many-attempts");
}

/// Operators and load tests set the limits: here one attempt per person in 15 minutes.
async fn rate_limits_are_configuration(backend: Backend) {
    let Some(mut rp) = seeded(backend).await else {
        return;
    };
    reconfigure(&mut rp, |c| {
        c.rate_limits.user_attempts = 1;
        c.rate_limits.user_window_seconds = 900;
    });
    at_the_nino_question(&mut rp, "no-match").await;
    assert_redirect(&answer_nino(&mut rp, "AB123456C").await, "/connect/trn");
    assert_redirect(
        &answer_nino(&mut rp, "AB123457C").await,
        "/connect/too-many-attempts",
    );
    let page = rp.get("/connect/too-many-attempts").await;
    assert!(
        page.body.contains("in 15 minutes"),
        "the page says the configured window"
    );
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

/// The proof files in the uploads store.
async fn stored_files(rp: &Rp) -> Vec<String> {
    use futures::TryStreamExt;
    rp.state
        .uploads
        .list(Some(&object_store::path::Path::from("proofs")))
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .unwrap()
}

/// Someone One Login could not verify, on the form asking for help; their CSRF token.
async fn on_the_support_form(rp: &mut Rp) -> String {
    let back = rp
        .verify("cannot-verify", Outcome::IdentityNotVerified, vec![])
        .await;
    assert_redirect(&back, "/identity-not-verified");
    assert_eq!(rp.get("/identity-support").await.status, 200);
    rp.cookies["tid_csrf"].clone()
}

fn answers(token: &str, name: &str, day: &str) -> Vec<(String, String)> {
    [
        ("csrf_token", token),
        ("name", name),
        ("dob-day", day),
        ("dob-month", "3"),
        ("dob-year", "1985"),
        ("nino", ""),
        ("trn", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn post_answers(
    rp: &mut Rp,
    fields: &[(String, String)],
    file: Option<(&str, &[u8])>,
) -> TestResponse {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    rp.post_multipart("/identity-support", &refs, file).await
}

/// Issue 10 §4: 20 invalid submissions left 20 orphan files. Now a file replaces (and deletes) the one before,
/// a file that fails its own checks is never stored, and the sweeper removes what no session or task refers to.
async fn an_invalid_form_sent_again_and_again_keeps_one_file_and_the_sweeper_removes_orphans(
    backend: Backend,
) {
    let Some(mut rp) = seeded(backend).await else {
        return;
    };
    let token = on_the_support_form(&mut rp).await;
    // Not a real date: 32 March.
    let invalid = answers(&token, "Ann Lee", "32");
    for _ in 0..20 {
        assert_redirect(
            &post_answers(&mut rp, &invalid, Some(("passport.png", PNG))).await,
            "/identity-support",
        );
    }
    let files = stored_files(&rp).await;
    assert_eq!(
        files.len(),
        1,
        "one file waits in the session, not 20: {files:?}"
    );
    assert!(
        rp.get("/identity-support")
            .await
            .body
            .contains("passport.png"),
        "and it is kept for the person"
    );
    // A file that fails its own checks is not stored at all.
    post_answers(
        &mut rp,
        &invalid,
        Some(("passport.png", b"<script>x</script>")),
    )
    .await;
    assert_eq!(stored_files(&rp).await, files);

    // An orphan, e.g. from a request that failed between storing a file and saving its session.
    let orphan = server::uploads::put(&rp.state.uploads, "png", PNG.to_vec())
        .await
        .unwrap();
    let store = rp.state.store.clone();
    let uploads = rp.state.uploads.clone();
    // Brand-new files are left alone: the request that stored one may not have saved its session yet.
    let sweep = server::uploads::sweep_orphans(&store, &uploads, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(sweep.deleted, 0);
    let later = chrono::Utc::now() + chrono::Duration::minutes(90);
    let sweep = server::uploads::sweep_orphans(&store, &uploads, later)
        .await
        .unwrap();
    assert_eq!(
        (sweep.deleted, sweep.kept),
        (1, 1),
        "the orphan goes, the session's file stays"
    );
    assert_eq!(stored_files(&rp).await, files);
    assert!(!stored_files(&rp).await.contains(&orphan));

    // The session ends with the request unsent: its file is swept.
    let session = rp.cookies["tid_session"].clone();
    store
        .delete_session(&server::http::session::session_key(&session))
        .await
        .unwrap();
    let sweep = server::uploads::sweep_orphans(&store, &uploads, later)
        .await
        .unwrap();
    assert_eq!((sweep.deleted, sweep.kept), (1, 0));
    assert!(stored_files(&rp).await.is_empty());

    // Sent: the task refers to the file, so the sweeper keeps it after the session has gone too.
    rp.cookies.clear();
    let token = on_the_support_form(&mut rp).await;
    let valid = answers(&token, "Ann Lee", "14");
    post_answers(&mut rp, &valid, Some(("passport.png", PNG))).await;
    assert_redirect(
        &rp.post("/identity-support/send", &[]).await,
        "/connect/support-requested",
    );
    let session = rp.cookies["tid_session"].clone();
    store
        .delete_session(&server::http::session::session_key(&session))
        .await
        .unwrap();
    let sweep = server::uploads::sweep_orphans(&store, &uploads, later)
        .await
        .unwrap();
    assert_eq!((sweep.deleted, sweep.kept), (0, 1));
}

/// A decided task's proof is deleted after `PROOF_RETENTION_DAYS` (default 90), and the audit log says so.
async fn decided_proofs_are_deleted_after_the_retention_period_and_audited(backend: Backend) {
    let Some(mut rp) = seeded(backend).await else {
        return;
    };
    assert_eq!(rp.state.config.proof_retention_days, 90);
    let token = on_the_support_form(&mut rp).await;
    let valid = answers(&token, "Ann Lee", "14");
    post_answers(&mut rp, &valid, Some(("passport.png", PNG))).await;
    assert_redirect(
        &rp.post("/identity-support/send", &[]).await,
        "/connect/support-requested",
    );
    let store = rp.state.store.clone();
    let task = crate::util::open_task_of_signed_in_teacher(&mut rp).await;
    let reference = task.reference.clone();
    let files = stored_files(&rp).await;
    assert_eq!(files.len(), 1);

    let uploads = rp.state.uploads.clone();
    let now = chrono::Utc::now();
    // Undecided tasks keep their proof however old.
    assert_eq!(
        server::uploads::delete_expired_proofs(
            &store,
            &uploads,
            90,
            now + chrono::Duration::days(400)
        )
        .await
        .unwrap(),
        0
    );
    let officer = store
        .add_staff(
            "retention-officer@example.com",
            "Officer",
            app::domain::support::Role::SupportOfficer,
            now,
        )
        .await
        .unwrap();
    crate::util::reject_as_proof_unclear(
        &store,
        &reference,
        &officer,
        format!("retention-{reference}"),
        now,
    )
    .await;

    // 89 days on: kept. 91 days on: deleted, recorded in the task and the audit log.
    assert_eq!(
        server::uploads::delete_expired_proofs(
            &store,
            &uploads,
            90,
            now + chrono::Duration::days(89)
        )
        .await
        .unwrap(),
        0
    );
    assert_eq!(stored_files(&rp).await, files);
    let at = now + chrono::Duration::days(91);
    assert_eq!(
        server::uploads::delete_expired_proofs(&store, &uploads, 90, at)
            .await
            .unwrap(),
        1
    );
    assert!(stored_files(&rp).await.is_empty(), "the file is gone");
    let after = crate::util::stored_task(&store, &reference).await;
    let proof = after.details.proof().expect("an identity task's proof");
    assert!(proof.key.is_none());
    assert_eq!(proof.deleted_after_days, Some(90));
    assert_eq!(
        proof.file_name, "passport.png",
        "what the teacher said about it stays"
    );
    let audit = store.audit_log(None, 50).await.unwrap();
    let entry = audit
        .iter()
        .find(|a| a.action == "deleted_proof")
        .expect("the deletion is audited");
    assert_eq!(entry.task_reference.as_deref(), Some(reference.as_str()));
    // Once only.
    assert_eq!(
        server::uploads::delete_expired_proofs(&store, &uploads, 90, at)
            .await
            .unwrap(),
        0
    );
}

/// Issue 10 §4: a 9 MB name went into the session row. What is read, kept and shown back is cut short first.
async fn a_nine_megabyte_name_is_cut_before_it_is_stored_or_shown(backend: Backend) {
    let Some(mut rp) = seeded(backend).await else {
        return;
    };
    let token = on_the_support_form(&mut rp).await;
    let huge = "a".repeat(9 * 1024 * 1024);
    let fields = answers(&token, &huge, "14");
    assert_redirect(
        &post_answers(&mut rp, &fields, Some(("passport.png", PNG))).await,
        "/identity-support",
    );
    let key = server::http::session::session_key(&rp.cookies["tid_session"]);
    let json = rp
        .state
        .store
        .load_session(&key, chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert!(
        json.len() < 10_000,
        "the session holds {} bytes",
        json.len()
    );
    let page = rp.get("/identity-support").await;
    assert!(page
        .body
        .contains("Your full name must be 200 characters or fewer"));
    let shown = format!(">{}<", "a".repeat(400));
    let value = format!("value=\"{}\"", "a".repeat(400));
    assert!(
        page.body.contains(&value) || page.body.contains(&shown),
        "what was typed is kept, cut to 400 characters"
    );
    assert!(!page.body.contains(&"a".repeat(401)));
}

/// DESIGN §4 "Too long or too big": a form over 64 KiB comes back with its GOV.UK error and what was typed.
async fn a_form_over_64_kib_comes_back_with_its_error_and_what_was_typed_cut_short(
    backend: Backend,
) {
    let Some(mut rp) = seeded(backend).await else {
        return;
    };
    rp.get("/feedback").await;
    let long = "word ".repeat(40_000);
    assert!(long.len() > 64 * 1024);
    let res = rp
        .post(
            "/feedback",
            &[("satisfaction", "neither"), ("details", &long)],
        )
        .await;
    let page = if (300..400).contains(&res.status) {
        rp.get(res.header("location")).await
    } else {
        res
    };
    assert_eq!(page.status, 200, "the form, not a 413 page");
    assert!(page
        .body
        .contains("How we could improve this service must be 1200 characters or fewer"));
    assert!(
        page.body.contains(r#"value="neither" checked"#),
        "the choice is kept"
    );
    assert!(
        page.body.contains(&"word ".repeat(200)),
        "what was typed is kept"
    );
    assert!(!page.body.contains(long.trim_end()), "cut short");

    // The NINO question too.
    at_the_nino_question(&mut rp, "no-match").await;
    let nino = "AB123456C".repeat(10_000);
    let res = answer_nino(&mut rp, &nino).await;
    assert_redirect(&res, "/connect/nino");
    let page = rp.get("/connect/nino").await;
    assert!(page
        .body
        .contains("Enter a National Insurance number in the correct format"));
    assert!(
        page.body.contains(&format!("value=\"{}\"", &nino[..100])),
        "kept, cut to 100 characters"
    );

    // Past a megabyte: the GOV.UK page for it, with a way back to the form.
    let huge = "a".repeat(1_100_000);
    let res = rp.post("/feedback", &[("details", &huge)]).await;
    assert_eq!(res.status, 413);
    assert!(
        res.body.contains("govuk-header"),
        "the GOV.UK page with its header"
    );
    assert!(res
        .body
        .contains(r#"<a href="/feedback" class="govuk-back-link">Back</a>"#));
}

async fn padded_nino_and_trn_answers_are_accepted(backend: Backend) {
    let Some(mut rp) = seeded(backend).await else {
        return;
    };
    let padding = " ".repeat(120);
    at_the_nino_question(&mut rp, "trn-only").await;
    assert_redirect(
        &rp.post("/connect/nino", &[("has_nino", "no")]).await,
        "/connect/trn",
    );
    let trn = rp.standin.persona("trn-only").unwrap().trn_hint.unwrap();
    let padded = format!("{padding}{}–{}{padding}", &trn[..3], &trn[3..]);
    assert_redirect(&answer_trn(&mut rp, &padded).await, "/connected");

    at_the_nino_question(&mut rp, "nino-only").await;
    let nino = rp.standin.persona("nino-only").unwrap().nino_hint.unwrap();
    let padded = format!("{padding}{nino}\u{a0}{padding}");
    let res = answer_nino(&mut rp, &padded).await;
    assert_redirect(&res, "/connected");
}

async fn names_and_free_text_of_invisible_characters_or_emoji_are_refused(backend: Backend) {
    let Some(mut rp) = seeded(backend).await else {
        return;
    };
    let token = on_the_support_form(&mut rp).await;
    for (name, message) in [
        ("\u{200b}\u{202e}\u{feff}", "Enter your full name"),
        (
            "😀😀",
            "Your full name must only include letters, spaces, hyphens, apostrophes and full stops",
        ),
    ] {
        let fields = answers(&token, name, "14");
        assert_redirect(
            &post_answers(&mut rp, &fields, Some(("passport.png", PNG))).await,
            "/identity-support",
        );
        let page = rp.get("/identity-support").await;
        assert!(page.body.contains(message), "{name:?}: {message}");
    }
    // Format characters are removed, not stored.
    let fields = answers(&token, "Ann\u{200b} Lee\u{202e}", "14");
    assert_redirect(
        &post_answers(&mut rp, &fields, None).await,
        "/identity-support/check",
    );
    let check = rp.get("/identity-support/check").await;
    assert!(check.body.contains("Ann Lee"));
    assert!(!check.body.contains('\u{200b}') && !check.body.contains('\u{202e}'));

    rp.get("/feedback").await;
    for (details, message) in [
        (
            "\u{200b}\u{2066}\u{feff}",
            "Enter how we could improve this service",
        ),
        (
            "👍👍",
            "How we could improve this service must include at least one letter or number",
        ),
    ] {
        let res = rp
            .post(
                "/feedback",
                &[("satisfaction", "satisfied"), ("details", details)],
            )
            .await;
        let page = if (300..400).contains(&res.status) {
            rp.get(res.header("location")).await
        } else {
            res
        };
        assert!(page.body.contains(message), "{details:?}: {message}");
    }
    assert!(rp.state.store.recent_feedback(10).await.unwrap().is_empty());
}

/// A body that counts how much of it was read. Each chunk arrives a moment after the one before, as from a
/// network (a reader that has caught up waits), so a reader that stops early stops reading.
fn counted_body(chunks: Vec<bytes::Bytes>, read: Arc<AtomicUsize>) -> Body {
    use futures::StreamExt;
    Body::from_stream(futures::stream::iter(chunks).then(move |chunk| {
        let read = read.clone();
        async move {
            tokio::task::yield_now().await;
            read.fetch_add(chunk.len(), Ordering::SeqCst);
            Ok::<_, std::io::Error>(chunk)
        }
    }))
}

const BOUNDARY: &str = "----teacher-id-test-boundary";

/// An 11 MB multipart body: the CSRF token field first, then a file of `file_bytes` in 64 KiB chunks.
fn big_upload(token: &str, file_bytes: usize) -> (Vec<bytes::Bytes>, usize) {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"proof\"; filename=\"big.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    );
    let mut chunks = vec![bytes::Bytes::from(head)];
    let chunk = bytes::Bytes::from(vec![0u8; 64 * 1024]);
    for _ in 0..file_bytes / chunk.len() {
        chunks.push(chunk.clone());
    }
    chunks.push(bytes::Bytes::from(format!("\r\n--{BOUNDARY}--\r\n")));
    let total = chunks.iter().map(|c| c.len()).sum();
    (chunks, total)
}

/// Issue 10 §3: 40 anonymous 11 MB uploads took the server from 60 MB to 507 MB. Who is asking is now checked
/// before the body is read, and the CSRF token (the first field) before the file.
#[tokio::test]
async fn an_upload_from_someone_who_may_not_upload_is_refused_without_reading_it() {
    let Some(mut rp) = seeded(Backend::Sqlite).await else {
        return;
    };
    let upload =
        |cookies: String, chunks: Vec<bytes::Bytes>, total: usize, read: Arc<AtomicUsize>| {
            Request::post("/identity-support")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .header(header::CONTENT_LENGTH, total)
                .header(header::COOKIE, cookies)
                .header("sec-fetch-site", "same-origin")
                .body(counted_body(chunks, read))
                .unwrap()
        };
    // Anonymous, with a CSRF cookie and token of its own making.
    let read = Arc::new(AtomicUsize::new(0));
    let (chunks, total) = big_upload("forged", 10 * 1024 * 1024);
    assert!(total > 10 * 1024 * 1024);
    let res = read_response(
        &rp,
        upload("tid_csrf=forged".into(), chunks, total, read.clone()),
    )
    .await;
    assert_redirect(&res, "/sign-in");
    assert_eq!(
        read.load(Ordering::SeqCst),
        0,
        "not a byte of the body was read"
    );

    // Signed in and allowed to ask, but the token is wrong: refused after the first field.
    on_the_support_form(&mut rp).await;
    let read = Arc::new(AtomicUsize::new(0));
    let (chunks, total) = big_upload("wrong-token", 10 * 1024 * 1024);
    let res = read_response(&rp, upload(rp.cookie_header(), chunks, total, read.clone())).await;
    assert_eq!(res.status, 403);
    assert!(res.body.contains("govuk-header"));
    assert!(
        read.load(Ordering::SeqCst) < 512 * 1024,
        "only the start was read: {} bytes",
        read.load(Ordering::SeqCst)
    );

    // With the right token the file is read, and (being a bad file) refused with the form's message.
    let token = rp.cookies["tid_csrf"].clone();
    let read = Arc::new(AtomicUsize::new(0));
    let (chunks, total) = big_upload(&token, 64 * 1024);
    let res = read_response(&rp, upload(rp.cookie_header(), chunks, total, read.clone())).await;
    assert_redirect(&res, "/identity-support");
    assert_eq!(read.load(Ordering::SeqCst), total);
    assert!(rp
        .get("/identity-support")
        .await
        .body
        .contains("The selected file must be a PDF, JPG or PNG"));
}

async fn read_response(rp: &Rp, req: Request<Body>) -> TestResponse {
    read(rp.router.clone().oneshot(req).await.unwrap()).await
}

/// Issue 10 §4: a 30 MB upload gets the GOV.UK page with the header and a way back, not a bare page; the limit is
/// 10,485,760 bytes and the message says 10MB.
#[tokio::test]
async fn an_upload_far_over_the_limit_gets_the_gov_uk_page_with_a_way_back() {
    let Some(mut rp) = seeded(Backend::Sqlite).await else {
        return;
    };
    assert_eq!(app::domain::identity_support::MAX_UPLOAD_BYTES, 10_485_760);
    let token = on_the_support_form(&mut rp).await;
    let mut huge = PNG.to_vec();
    huge.resize(30 * 1024 * 1024, 0);
    let res = rp
        .post_multipart(
            "/identity-support",
            &[("csrf_token", &token)],
            Some(("huge.png", &huge)),
        )
        .await;
    assert_eq!(res.status, 413);
    assert!(res.body.contains("govuk-header"), "the service's header");
    assert!(res.body.contains("The file you selected is too big"));
    assert!(res
        .body
        .contains("The selected file must be smaller than 10MB"));
    assert!(res
        .body
        .contains(r#"<a href="/identity-support" class="govuk-back-link">Back</a>"#));
    // Exactly 10,485,760 bytes is allowed.
    let mut exact = PNG.to_vec();
    exact.resize(10_485_760, 0);
    let fields = answers(&token, "Ann Lee", "14");
    let res = post_answers(&mut rp, &fields, Some(("exact.png", &exact))).await;
    assert_redirect(&res, "/identity-support/check");
}

/// The real listener on a random port, with `limits`; its address.
async fn listening(limits: server::listener::ConnectionLimits) -> (std::net::SocketAddr, Rp) {
    let rp = Rp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server::http::app(rp.state.clone());
    tokio::spawn(server::listener::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    (addr, rp)
}

/// Reads from `tcp` until it closes or `wait` passes; what was read, and whether it closed.
async fn read_for(tcp: &mut tokio::net::TcpStream, wait: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Issue 10 §3: idle half-sent requests held connections for ever. They are closed after the header-read timeout.
#[tokio::test]
async fn a_connection_that_sends_half_a_request_or_nothing_is_closed() {
    let (addr, _rp) = listening(server::listener::ConnectionLimits {
        max_connections: 100,
        header_read_timeout: Duration::from_secs(1),
    })
    .await;
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (_, closed) = read_for(&mut half, Duration::from_secs(5)).await;
    assert!(closed, "half a request is closed");
    let (_, closed) = read_for(&mut silent, Duration::from_secs(5)).await;
    assert!(closed, "a silent connection is closed");
    // A whole request is served as usual.
    let mut whole = tokio::net::TcpStream::connect(addr).await.unwrap();
    whole
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (response, _) = read_for(&mut whole, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

/// Issue 10 §3: 1,100 idle connections made `/health` fail with "Too many open files". Past `MAX_CONNECTIONS` we
/// stop accepting; the next client waits its turn and is served when a connection closes.
#[tokio::test]
async fn connections_past_the_cap_wait_their_turn() {
    let (addr, _rp) = listening(server::listener::ConnectionLimits {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(30),
    })
    .await;
    let first = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _second = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (response, _) = read_for(&mut third, Duration::from_millis(700)).await;
    assert_eq!(response, "", "not served while two connections are open");
    drop(first);
    let (response, _) = read_for(&mut third, Duration::from_secs(5)).await;
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "served once a slot is free: {response}"
    );
}

/// A browser sends the whole of a too-big upload before it reads the answer: it must still get the page, not a
/// reset connection.
#[tokio::test]
async fn a_browser_sending_a_30_mb_upload_through_the_listener_gets_the_page() {
    let (addr, mut rp) = listening(server::listener::ConnectionLimits {
        max_connections: 10,
        header_read_timeout: Duration::from_secs(10),
    })
    .await;
    rp.get("/feedback").await;
    let token = rp.cookies["tid_csrf"].clone();
    let body_len = 30 * 1024 * 1024;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /identity-support HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {body_len}\r\nCookie: tid_csrf={token}\r\nSec-Fetch-Site: same-origin\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![0u8; 256 * 1024];
    let mut sent = 0;
    while sent < body_len {
        match tokio::time::timeout(Duration::from_secs(5), tcp.write_all(&chunk)).await {
            Ok(Ok(())) => sent += chunk.len(),
            _ => break,
        }
    }
    let (response, _) = read_for(&mut tcp, Duration::from_secs(10)).await;
    assert!(
        response.starts_with("HTTP/1.1 413"),
        "{}",
        response.chars().take(200).collect::<String>()
    );
    assert!(response.contains("The selected file must be smaller than 10MB"));
}
