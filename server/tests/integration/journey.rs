//! The connect journey (DESIGN §4–5) over HTTP, against the stand-in and the synthetic records its personas are
//! drawn from: automatic connection, by NINO, by TRN, no match → support, possible duplicates, deep links,
//! every bad input of both questions, repeated submits and rate limits.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{answer_nino, answer_trn, assert_redirect, heading, TestApp};
use app::domain::support::ConnectedHow;
use onelogin_standin::Outcome;
use server::db::Backend;

on_both_backends!(
    an_exact_match_is_connected_automatically_and_goes_straight_to_the_record_next_time,
    a_record_without_email_is_connected_by_national_insurance_number,
    a_record_without_nino_is_connected_by_trn,
    no_match_leads_to_one_support_task_however_often_it_is_submitted,
    namesakes_are_only_connected_with_both_nino_and_trn,
    every_bad_answer_gets_its_message_keeps_what_was_typed_and_changes_nothing,
    nino_and_trn_attempts_are_limited_per_person,
    a_restart_or_another_instance_mid_journey_loses_nothing,
    attempts_are_also_limited_per_client_address,
    the_journey_needs_a_signed_in_verified_person,
);

/// Our service on `backend` with the personas' records, or `None` (with a note) when PostgreSQL is not set up.
async fn service(backend: Backend) -> Option<Rp> {
    TestApp::new(backend, "journey").build().await
}

/// Signs in as `persona`, proves identity, and follows our redirect to `/continue`.
async fn verified(backend: Backend, persona: &str) -> Option<(Rp, TestResponse)> {
    let mut rp = service(backend).await?;
    let back = rp.verify(persona, Outcome::IdentityVerified, vec![]).await;
    assert_eq!(back.header("location"), "/continue");
    let next = rp.get("/continue").await;
    Some((rp, next))
}

async fn history_of(rp: &Rp, trn: &str) -> Vec<server::db::connect::RecordEvent> {
    rp.state.store.record_history(trn).await.unwrap()
}

/// How a connection event says the record was connected.
fn how(event: &server::db::connect::RecordEvent) -> ConnectedHow {
    event.details.as_ref().expect("a connection's details").how
}

async fn an_exact_match_is_connected_automatically_and_goes_straight_to_the_record_next_time(
    backend: Backend,
) {
    let Some((mut rp, next)) = verified(backend, "exact-match").await else {
        return;
    };
    let persona = rp.standin.persona("exact-match").unwrap();
    let trn = persona.trn_hint.clone().unwrap();
    assert_redirect(&next, "/connected");
    let connected = rp.get("/connected").await;
    assert_eq!(connected.status, 200);
    assert_eq!(
        heading(&connected),
        "Your GOV.UK One Login is connected to your teaching record"
    );
    let record = rp.get("/record").await;
    assert_eq!(record.status, 200);
    assert_eq!(heading(&record), "Your teaching record");
    assert!(record.body.contains(&trn));
    assert!(record.body.contains(&persona.last_name));
    assert!(record.body.contains("Qualified teacher status (QTS)"));

    let history = history_of(&rp, &trn).await;
    assert_eq!(history.len(), 1);
    let details = history[0].details.as_ref().expect("a connection's details");
    assert_eq!(details.how, ConnectedHow::Automatic);
    assert_eq!(details.one_login_email, persona.email.as_str());

    // The questions are behind them now.
    for page in [
        "/connect",
        "/connect/nino",
        "/connect/check-answers",
        "/request-pending",
    ] {
        assert_redirect(&rp.get(page).await, "/record");
    }
    rp.cookies.clear();
    let again = rp.sign_in("exact-match").await;
    assert_redirect(&again, "/continue");
    assert_redirect(&rp.get("/continue").await, "/record");
    assert_eq!(history_of(&rp, &trn).await.len(), 1, "no second event");
}

async fn a_record_without_email_is_connected_by_national_insurance_number(backend: Backend) {
    let Some((mut rp, next)) = verified(backend, "nino-only").await else {
        return;
    };
    let persona = rp.standin.persona("nino-only").unwrap();
    assert_redirect(&next, "/connect");
    let interruption = rp.get("/connect").await;
    assert_eq!(
        heading(&interruption),
        "You’ve signed in and verified your identity"
    );
    // Deep links past the first question go back to it.
    assert_redirect(&rp.get("/connect/trn").await, "/connect");
    assert_redirect(&rp.get("/connect/check-answers").await, "/connect");
    assert_redirect(&rp.get("/record").await, "/connect");
    let page = rp.get("/connect/nino").await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("Do you know your National Insurance number?"));
    // Typed with spaces and in lower case, as people do.
    let nino = persona.nino_hint.clone().unwrap().to_lowercase();
    let spaced = format!(
        "{} {} {} {} {}",
        &nino[..2],
        &nino[2..4],
        &nino[4..6],
        &nino[6..8],
        &nino[8..]
    );
    let answered = answer_nino(&mut rp, &spaced).await;
    assert_redirect(&answered, "/connected");
    let trn = persona.trn_hint.unwrap();
    assert_eq!(how(&history_of(&rp, &trn).await[0]), ConnectedHow::Nino);
}

async fn a_record_without_nino_is_connected_by_trn(backend: Backend) {
    let Some((mut rp, next)) = verified(backend, "trn-only").await else {
        return;
    };
    let persona = rp.standin.persona("trn-only").unwrap();
    assert_redirect(&next, "/connect");
    rp.get("/connect/nino").await;
    assert_redirect(
        &rp.post("/connect/nino", &[("has_nino", "no")]).await,
        "/connect/trn",
    );
    let page = rp.get("/connect/trn").await;
    assert!(page.body.contains("What is a TRN and how do I find it?"));
    let trn = persona.trn_hint.unwrap();
    assert_redirect(&answer_trn(&mut rp, &trn).await, "/connected");
    assert_eq!(how(&history_of(&rp, &trn).await[0]), ConnectedHow::Trn);
}

async fn no_match_leads_to_one_support_task_however_often_it_is_submitted(backend: Backend) {
    let Some((mut rp, next)) = verified(backend, "no-match").await else {
        return;
    };
    assert_redirect(&next, "/connect");
    rp.get("/connect/nino").await;
    assert_redirect(&answer_nino(&mut rp, "AB123456C").await, "/connect/trn");
    assert_redirect(
        &rp.post("/connect/trn", &[("has_trn", "no")]).await,
        "/connect/not-found",
    );
    let not_found = rp.get("/connect/not-found").await;
    assert_eq!(heading(&not_found), "We cannot find your teaching record");
    let check = rp.get("/connect/check-answers").await;
    assert_eq!(check.status, 200);
    assert!(check.body.contains("AB123456C"));
    assert!(check.body.contains("/connect/trn?change=1"));

    // Changing an answer from check answers comes back to check answers.
    let change = rp.get("/connect/trn?change=1").await;
    assert!(change.body.contains(r#"name="change" value="1""#));
    assert_redirect(
        &rp.post(
            "/connect/trn",
            &[("has_trn", "yes"), ("trn", "7654321"), ("change", "1")],
        )
        .await,
        "/connect/check-answers",
    );
    assert!(rp
        .get("/connect/check-answers")
        .await
        .body
        .contains("7654321"));

    assert_redirect(
        &rp.post("/connect/support", &[]).await,
        "/connect/support-requested",
    );
    let confirmation = rp.get("/connect/support-requested").await;
    assert_eq!(confirmation.status, 200);
    let reference = reference_in(&confirmation.body);
    // A double click, or the back button and submit again: the same task and reference.
    assert_redirect(
        &rp.post("/connect/support", &[]).await,
        "/connect/support-requested",
    );
    assert_eq!(
        reference_in(&rp.get("/connect/support-requested").await.body),
        reference
    );

    // Coming back later: "we're still looking", with the reference.
    rp.cookies.clear();
    rp.sign_in("no-match").await;
    assert_redirect(&rp.get("/continue").await, "/request-pending");
    let pending = rp.get("/request-pending").await;
    assert_eq!(heading(&pending), "We’re still looking at your request");
    assert!(pending.body.contains(&reference));
    for page in ["/connect/nino", "/record", "/connected"] {
        assert_redirect(&rp.get(page).await, "/request-pending");
    }
}

/// The fields posted, the field the error belongs to, and its message.
type BadAnswer<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

fn reference_in(body: &str) -> String {
    let at = body.find("TRS-").expect("a reference");
    let reference = &body[at..at + 10];
    assert!(
        reference[4..].bytes().all(|b| b.is_ascii_digit()),
        "{reference}"
    );
    reference.to_string()
}

async fn namesakes_are_only_connected_with_both_nino_and_trn(backend: Backend) {
    let Some((mut rp, next)) = verified(backend, "possible-duplicate").await else {
        return;
    };
    let persona = rp.standin.persona("possible-duplicate").unwrap();
    assert_redirect(&next, "/connect");
    rp.get("/connect/nino").await;
    let nino = persona.nino_hint.clone();
    let trn = persona.trn_hint.clone().unwrap();
    let after_nino = match &nino {
        Some(nino) => answer_nino(&mut rp, nino).await,
        None => rp.post("/connect/nino", &[("has_nino", "no")]).await,
    };
    assert_redirect(&after_nino, "/connect/trn");
    let after_trn = answer_trn(&mut rp, &trn).await;
    if nino.is_some() {
        assert_redirect(&after_trn, "/connected");
        assert_eq!(how(&history_of(&rp, &trn).await[0]), ConnectedHow::Trn);
    } else {
        // Without a NINO on the record the guard can never be satisfied: support decides.
        assert_redirect(&after_trn, "/connect/not-found");
    }
}

async fn every_bad_answer_gets_its_message_keeps_what_was_typed_and_changes_nothing(
    backend: Backend,
) {
    let Some((mut rp, next)) = verified(backend, "no-match").await else {
        return;
    };
    assert_redirect(&next, "/connect");
    rp.get("/connect/nino").await;
    let long = "A".repeat(51);
    let nino_cases: &[BadAnswer] = &[
        (
            &[],
            "has_nino",
            "Select yes if you know your National Insurance number",
        ),
        (
            &[("has_nino", "perhaps")],
            "has_nino",
            "Select yes if you know your National Insurance number",
        ),
        (
            &[("has_nino", "yes"), ("nino", "  ")],
            "nino",
            "Enter your National Insurance number",
        ),
        (
            &[("has_nino", "yes"), ("nino", "AB12345")],
            "nino",
            "Enter a National Insurance number in the correct format",
        ),
        (
            &[("has_nino", "yes"), ("nino", &long)],
            "nino",
            "Enter a National Insurance number in the correct format",
        ),
        (
            &[("has_nino", "yes"), ("nino", "<script>alert(1)</script>")],
            "nino",
            "Enter a National Insurance number in the correct format",
        ),
        (
            &[("has_nino", "yes"), ("nino", "'; DROP TABLE persons; --")],
            "nino",
            "Enter a National Insurance number in the correct format",
        ),
        (
            &[("has_nino", "yes"), ("nino", "AB\u{0}123456C")],
            "nino",
            "Enter a National Insurance number in the correct format",
        ),
    ];
    for (fields, field, message) in nino_cases {
        let res = rp.post("/connect/nino", fields).await;
        assert_redirect(&res, "/connect/nino");
        let page = rp.get("/connect/nino").await;
        assert_eq!(page.status, 200, "{fields:?}");
        assert!(page.body.contains("<title>Error: "), "{fields:?}");
        assert!(
            page.body.contains(&format!(r##"href="#{field}""##)),
            "{fields:?}"
        );
        assert!(page.body.contains(message), "{fields:?}: {message}");
        assert!(
            !page.body.contains("<script>alert"),
            "typed text is escaped"
        );
        if let Some((_, typed)) = fields.iter().find(|(k, _)| *k == "nino") {
            if typed.len() < 60 && !typed.contains(['<', '\'', '\u{0}']) && !typed.trim().is_empty()
            {
                assert!(
                    page.body.contains(&format!(r#"value="{typed}""#)),
                    "keeps {typed:?}"
                );
            }
        }
    }
    assert!(page_says_trn_is_not_reachable(&mut rp).await);

    rp.post("/connect/nino", &[("has_nino", "no")]).await;
    let trn_cases: &[BadAnswer] = &[
        (
            &[],
            "has_trn",
            "Select yes if you know your teacher reference number (TRN)",
        ),
        (
            &[("has_trn", "yes"), ("trn", "")],
            "trn",
            "Enter your teacher reference number (TRN)",
        ),
        (
            &[("has_trn", "yes"), ("trn", "0000000")],
            "trn",
            "Enter a TRN in the correct format, like 1234567",
        ),
        (
            &[("has_trn", "yes"), ("trn", "12345678")],
            "trn",
            "Enter a TRN in the correct format, like 1234567",
        ),
        (
            // Spaces and dashes are removed (DESIGN §4), other punctuation is not.
            &[("has_trn", "yes"), ("trn", "1234.567")],
            "trn",
            "Enter a TRN in the correct format, like 1234567",
        ),
        (
            &[("has_trn", "yes"), ("trn", "<b>1234567</b>")],
            "trn",
            "Enter a TRN in the correct format, like 1234567",
        ),
    ];
    for (fields, field, message) in trn_cases {
        assert_redirect(&rp.post("/connect/trn", fields).await, "/connect/trn");
        let page = rp.get("/connect/trn").await;
        assert!(
            page.body.contains(&format!(r##"href="#{field}""##)),
            "{fields:?}"
        );
        assert!(page.body.contains(message), "{fields:?}");
        assert!(!page.body.contains("<b>1234567"), "typed text is escaped");
    }
    // None of that raised a task or connected anything.
    let user = rp.signed_in_user().await.unwrap();
    assert_eq!(
        rp.state
            .store
            .open_task_for_user(user.user_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        rp.state.store.connected_record(user.user_id).await.unwrap(),
        None
    );
}

/// After only bad NINO answers, the TRN question is still out of reach.
async fn page_says_trn_is_not_reachable(rp: &mut Rp) -> bool {
    let res = rp.get("/connect/trn").await;
    (300..400).contains(&res.status) && res.header("location") == "/connect"
}

async fn nino_and_trn_attempts_are_limited_per_person(backend: Backend) {
    use app::domain::journey::USER_ATTEMPTS;
    let Some((mut rp, _)) = verified(backend, "no-match").await else {
        return;
    };
    rp.get("/connect/nino").await;
    for i in 0..USER_ATTEMPTS {
        let nino = format!("AB{:06}C", 100_000 + i);
        let res = answer_nino(&mut rp, &nino).await;
        assert_redirect(&res, "/connect/trn");
    }
    let limited = answer_nino(&mut rp, "AB999999C").await;
    assert_redirect(&limited, "/connect/too-many-attempts");
    let page = rp.get("/connect/too-many-attempts").await;
    assert_eq!(page.status, 200);
    assert_eq!(heading(&page), "You’ve tried too many times");
    assert!(page.body.contains("in 24 hours"));
    assert!(
        page.body.contains(r#"action="/connect/support""#),
        "support is offered"
    );
    // Still limited with the right answer: the limit is not a hint.
    let persona = rp.standin.persona("exact-match").unwrap();
    let again = answer_trn(&mut rp, &persona.trn_hint.unwrap()).await;
    assert_redirect(&again, "/connect/too-many-attempts");
    // Answering "no" is not an attempt.
    assert_redirect(
        &rp.post("/connect/trn", &[("has_trn", "no")]).await,
        "/connect/not-found",
    );
}

async fn the_journey_needs_a_signed_in_verified_person(backend: Backend) {
    let Some(mut rp) = service(backend).await else {
        return;
    };
    for page in [
        "/connect",
        "/connect/nino",
        "/connect/check-answers",
        "/record",
        "/connected",
        "/request-pending",
    ] {
        assert_redirect(&rp.get(page).await, "/sign-in");
    }
    assert_redirect(&rp.get("/continue").await, "/sign-in");
    let user = rp.sign_in("no-match").await;
    assert_redirect(&user, "/auth/identity");
    assert_redirect(&rp.get("/connect/nino").await, "/auth/identity");
    assert_redirect(
        &rp.post("/connect/nino", &[("has_nino", "no")]).await,
        "/auth/identity",
    );
    assert_redirect(&rp.post("/connect/support", &[]).await, "/auth/identity");
}

/// A multipart body as a browser sends it: text fields, then the file under `proof`.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----teacher-id-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    let (file_name, bytes) = file.unwrap_or(("", b""));
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"proof\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn as_refs<'a>(fields: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

on_both_backends!(cannot_verify_asks_for_support_with_proof_of_identity);

async fn cannot_verify_asks_for_support_with_proof_of_identity(backend: Backend) {
    let Some(mut rp) = service(backend).await else {
        return;
    };
    let back = rp
        .verify("cannot-verify", Outcome::IdentityNotVerified, vec![])
        .await;
    assert_redirect(&back, "/identity-not-verified");
    let page = rp.get("/identity-support").await;
    assert_eq!(page.status, 200);
    assert_eq!(heading(&page), "Ask for help to prove your identity");
    let token = rp.cookies["tid_csrf"].clone();
    let valid = |name: &'static str| {
        vec![
            ("csrf_token", token.clone()),
            ("name", name.to_string()),
            ("previous_name", "Ann Smith".to_string()),
            ("dob-day", "14".to_string()),
            ("dob-month", "3".to_string()),
            ("dob-year", "1985".to_string()),
            ("nino", "".to_string()),
            ("trn", "1234567".to_string()),
        ]
    };

    // A script renamed to passport.pdf, and hostile text in the name: both refused, the text kept and escaped.
    let sent = valid("<script>alert(1)</script>\u{7}");
    let refs = as_refs(&sent);
    let res = rp
        .post_multipart(
            "/identity-support",
            &refs,
            Some(("passport.pdf", b"<script>x</script>")),
        )
        .await;
    assert_redirect(&res, "/identity-support");
    let page = rp.get("/identity-support").await;
    assert!(
        page.body.contains(
            "Your full name must only include letters, spaces, hyphens, apostrophes and full stops"
        ),
        "name error"
    );
    assert!(
        page.body
            .contains("The selected file must be a PDF, JPG or PNG"),
        "file error"
    );
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "typed name kept, escaped"
    );
    assert!(!page.body.contains("<script>alert(1)"));

    // A good file with a bad date: the file is kept, so it need not be chosen again.
    let mut sent = valid("Ann Lee");
    sent[5].1 = "2".to_string();
    sent[4].1 = "30".to_string();
    let refs = as_refs(&sent);
    rp.post_multipart(
        "/identity-support",
        &refs,
        Some(("C:\\scans\\passport.png", PNG)),
    )
    .await;
    let page = rp.get("/identity-support").await;
    assert!(page.body.contains("Date of birth must be a real date"));
    assert!(page
        .body
        .contains("You’ve uploaded <strong>passport.png</strong>"));

    // Now valid, with no new file: check answers shows everything.
    let sent = valid("Ann Lee");
    let refs = as_refs(&sent);
    let res = rp.post_multipart("/identity-support", &refs, None).await;
    assert_redirect(&res, "/identity-support/check");
    let check = rp.get("/identity-support/check").await;
    assert_eq!(
        heading(&check),
        "Check your answers before sending your request"
    );
    for shown in [
        "Ann Lee",
        "Ann Smith",
        "14 March 1985",
        "1234567",
        "passport.png",
    ] {
        assert!(check.body.contains(shown), "{shown}");
    }
    assert_redirect(
        &rp.post("/identity-support/send", &[]).await,
        "/connect/support-requested",
    );
    let confirmation = rp.get("/connect/support-requested").await;
    let reference = reference_in(&confirmation.body);
    // Sent twice: still one task.
    assert_redirect(
        &rp.post("/identity-support/send", &[]).await,
        "/request-pending",
    );
    let task = crate::util::open_task_of_signed_in_teacher(&mut rp).await;
    assert_eq!(task.reference, reference);
    // The form is closed once the request is sent.
    assert_redirect(&rp.get("/identity-support").await, "/request-pending");
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused_without_reading_them() {
    let Some(mut rp) = service(Backend::Sqlite).await else {
        return;
    };
    rp.verify("cannot-verify", Outcome::IdentityNotVerified, vec![])
        .await;
    rp.get("/identity-support").await;
    let token = rp.cookies["tid_csrf"].clone();
    // Just over 10 MB: the form's own message.
    let mut big = PNG.to_vec();
    big.resize(app::domain::identity_support::MAX_UPLOAD_BYTES + 10, 0);
    let res = rp
        .post_multipart(
            "/identity-support",
            &[("csrf_token", &token), ("name", "Ann Lee")],
            Some(("big.png", &big)),
        )
        .await;
    assert_redirect(&res, "/identity-support");
    assert!(rp
        .get("/identity-support")
        .await
        .body
        .contains("The selected file must be smaller than 10MB"));
    // Far over: refused outright with the GOV.UK page for it.
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
    assert!(!res.body.contains("length limit"), "no internal error text");
}

async fn a_restart_or_another_instance_mid_journey_loses_nothing(backend: Backend) {
    let Some((mut rp, next)) = verified(backend, "trn-only").await else {
        return;
    };
    assert_redirect(&next, "/connect");
    rp.get("/connect/nino").await;
    assert_redirect(
        &rp.post("/connect/nino", &[("has_nino", "no")]).await,
        "/connect/trn",
    );
    rp.new_instance();
    // The answer given on the first instance is still there, and the journey carries on.
    let trn_page = rp.get("/connect/trn").await;
    assert_eq!(
        trn_page.status, 200,
        "no redirect back to the first question"
    );
    rp.get("/connect/nino").await;
    let nino_page = rp.get("/connect/nino").await;
    assert!(
        nino_page.body.contains(r#"value="no" checked"#),
        "the answer is kept"
    );
    let trn = rp.standin.persona("trn-only").unwrap().trn_hint.unwrap();
    rp.new_instance();
    assert_redirect(&answer_trn(&mut rp, &trn).await, "/connected");
}

/// Many people behind one address (a school, say), each within their own limit: the address limit still stops them.
async fn attempts_are_also_limited_per_client_address(backend: Backend) {
    use app::domain::journey::{ADDRESS_ATTEMPTS, USER_ATTEMPTS};
    let Some(mut rp) = service(backend).await else {
        return;
    };
    rp.client_addr = Some("192.0.2.7:50000".parse().unwrap());
    let mut attempts = 0;
    let mut person = 0;
    while attempts < ADDRESS_ATTEMPTS {
        // A different custom person each time round, so no one reaches their own limit.
        rp.cookies.clear();
        let email = format!("shared-address-{person}@example.com");
        person += 1;
        let custom = onelogin_standin::CustomPerson {
            first_name: "Morwenna".into(),
            last_name: format!("Trevithick{person}"),
            previous_first_name: None,
            previous_last_name: None,
            previous_name_valid_until: None,
            date_of_birth: chrono::NaiveDate::from_ymd_opt(1979, 10, 9).unwrap(),
            email,
        };
        let next = |outcome| onelogin_standin::NextLogin {
            custom: Some(custom.clone()),
            ..onelogin_standin::NextLogin::new(onelogin_standin::CUSTOM, outcome)
        };
        rp.round_trip("/sign-in", next(Outcome::Authenticated))
            .await;
        rp.round_trip("/auth/identity", next(Outcome::IdentityVerified))
            .await;
        rp.get("/continue").await;
        rp.get("/connect/nino").await;
        for _ in 0..(USER_ATTEMPTS - 1).min(ADDRESS_ATTEMPTS - attempts) {
            let res = answer_nino(&mut rp, "AB123456C").await;
            assert_redirect(&res, "/connect/trn");
            attempts += 1;
        }
    }
    // One more from the same address, by a person who has made only some attempts of their own.
    let res = answer_nino(&mut rp, "AB123456C").await;
    assert_redirect(&res, "/connect/too-many-attempts");
    assert!(rp
        .get("/connect/too-many-attempts")
        .await
        .body
        .contains("in an hour"));
    // Another address is not affected.
    rp.client_addr = Some("198.51.100.9:50000".parse().unwrap());
    assert_redirect(&answer_nino(&mut rp, "AB123456C").await, "/connect/trn");
}
