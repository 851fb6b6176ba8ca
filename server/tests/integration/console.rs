//! The support console (DESIGN §6) over HTTP: staff sign-in against the stand-in's staff client, roles, who may
//! reach what (every console route and server function, for every kind of visitor), the dashboard, decisions with
//! their change history, email and audit, concurrent decisions, bad input, and the email outbox against a
//! Notify-compatible server.

use crate::onelogin::Rp;
use crate::util::TestApp;
use app::domain::support::{Decision, Role, TaskQuery};
use leptos::server_fn::ServerFn;
use onelogin_standin::Outcome;
use server::db::connect::{NewSupportTask, TaskDetails, TaskKind};
use server::db::support::{NewEmail, TaskChangeRefused};
use server::db::Backend;

pub(crate) const ADMIN: &str = "ada.adeyemi@education.gov.uk";
pub(crate) const OFFICER: &str = "sam.okafor@education.gov.uk";
pub(crate) const OFFICER2: &str = "priya.shah@education.gov.uk";
pub(crate) const VIEWER: &str = "vic.evans@education.gov.uk";
pub(crate) const NO_ROLE: &str = "noor.khan@education.gov.uk";

on_both_backends!(
    staff_without_a_role_see_nothing_until_an_administrator_gives_them_one,
    every_console_route_and_server_function_checks_the_role_on_the_server,
    a_decision_connects_the_teacher_emails_them_and_writes_history_and_audit,
    two_officers_deciding_at_once_decide_the_task_once,
    bad_decisions_get_messages_and_change_nothing,
    identity_tasks_show_the_proof_only_to_staff,
    the_dashboard_filters_searches_sorts_and_pages,
    every_filter_and_sort_pages_in_the_same_order_on_both_backends,
);

/// The service with the personas' records and the staff roles of the development set-up.
pub(crate) async fn console(backend: Backend) -> Option<Rp> {
    TestApp::new(backend, "console")
        .staff(ADMIN, ADMIN, Role::Administrator)
        .staff(OFFICER, OFFICER, Role::SupportOfficer)
        .staff(OFFICER2, OFFICER2, Role::SupportOfficer)
        .staff(VIEWER, VIEWER, Role::Viewer)
        .build()
        .await
}

pub(crate) use crate::util::assert_redirect;

/// Signs in to the console as `email` in a browser with no other console session.
pub(crate) async fn as_staff(rp: &mut Rp, email: &str) {
    rp.cookies.remove("tid_staff");
    assert_redirect(&rp.staff_sign_in(email).await, "/support");
}

/// A teacher the journey cannot match asks for support; the task's reference.
pub(crate) async fn raise_record_matching_task(rp: &mut Rp) -> String {
    crate::util::unmatched_teacher_asks_for_support(rp).await
}

/// An identity-verification task with a PNG proof, raised directly in storage; its reference.
pub(crate) async fn raise_identity_task(rp: &Rp, sub: &str) -> String {
    let store = &rp.state.store;
    let now = chrono::Utc::now();
    let user = store
        .sign_in_user(
            sub,
            app::domain::identity::VerifiedEmail::verified_before(&format!("{sub}@example.com"))
                .as_ref(),
            now,
        )
        .await
        .unwrap();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRproof".to_vec();
    let key = server::uploads::put(&rp.state.uploads, "png", png)
        .await
        .unwrap();
    let details = serde_json::json!({
        "entered": {"name": "Ann Lee", "previous_names": ["Ann Smith"], "date_of_birth": "1985-03-14", "nino": null, "trn": "1234567"},
        "proof": {"key": key, "content_type": "image/png", "file_name": "passport <b>.png", "size": 20},
        "one_login_email": format!("{sub}@example.com"),
    });
    let task = NewSupportTask {
        user_id: user.id,
        details: TaskDetails::parse(TaskKind::IdentityVerification, &details.to_string()).unwrap(),
        client_id: None,
    };
    store
        .raise_support_task(&task, now)
        .await
        .unwrap()
        .reference
}

pub(crate) use crate::util::version_in;

pub(crate) async fn staff_id(rp: &Rp, email: &str) -> i64 {
    let staff = rp.state.store.list_staff().await.unwrap();
    staff
        .into_iter()
        .find(|s| s.email == email)
        .expect("staff member")
        .id
}

async fn staff_without_a_role_see_nothing_until_an_administrator_gives_them_one(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    // Nobody signed in: the dashboard sends them to sign in.
    let res = rp.get("/support").await;
    assert!((300..400).contains(&res.status), "{}", res.status);
    assert_eq!(res.header("location"), "/support/sign-in");

    as_staff(&mut rp, NO_ROLE).await;
    let res = rp.get("/support").await;
    assert_eq!(res.status, 403);
    assert!(res.body.contains("You do not have access to this page"));
    assert!(!res.body.contains("Support tasks</h1>"));

    // The teacher's session and the staff session are separate cookies: signing in to one is not the other.
    assert!(rp.cookies.contains_key("tid_staff"));
    assert!(!rp.cookies.contains_key("tid_session"));

    as_staff(&mut rp, ADMIN).await;
    let staff_page = rp.get("/support/staff").await;
    assert_eq!(staff_page.status, 200);
    assert!(staff_page.body.contains(NO_ROLE));
    let noor = staff_id(&rp, NO_ROLE).await;
    assert_redirect(
        &rp.post(
            "/support/staff",
            &[("staff_id", &noor.to_string()), ("role", "viewer")],
        )
        .await,
        "/support/staff",
    );
    assert!(rp
        .get("/support/staff")
        .await
        .body
        .contains("Noor Khan is now viewer"));
    // An administrator cannot remove their own role, and made-up roles and people are refused.
    let ada = staff_id(&rp, ADMIN).await;
    for (id, role, message) in [
        (ada.to_string(), "none", "You cannot change your own role"),
        (noor.to_string(), "superuser", "Select a role"),
        ("999999".to_string(), "viewer", "Select a member of staff"),
        ("<b>".to_string(), "viewer", "Select a member of staff"),
    ] {
        rp.post("/support/staff", &[("staff_id", &id), ("role", role)])
            .await;
        let page = rp.get("/support/staff").await;
        assert!(page.body.contains(message), "{message}");
    }
    assert_eq!(
        rp.state.store.staff_by_id(ada).await.unwrap().unwrap().role,
        Some(Role::Administrator)
    );

    as_staff(&mut rp, NO_ROLE).await;
    assert_eq!(rp.get("/support").await.status, 200, "a viewer now");
    // The audit log records the grant, and only administrators read it.
    assert_eq!(rp.get("/support/audit").await.status, 403);
    as_staff(&mut rp, ADMIN).await;
    let audit = rp.get("/support/audit").await;
    assert!(
        audit.body.contains("Gave Noor Khan the role viewer"),
        "audit log"
    );
}

/// A form post in the access matrix: path, fields, and the least rank that may send it.
type Post = (String, Vec<(&'static str, String)>, u8);

/// Who is asking: nobody, a teacher, or staff with each role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Visitor {
    Anonymous,
    Teacher,
    NoRole,
    Viewer,
    Officer,
    Admin,
}

impl Visitor {
    fn rank(self) -> u8 {
        match self {
            Self::Anonymous | Self::Teacher => 0,
            Self::NoRole => 1,
            Self::Viewer => 2,
            Self::Officer => 3,
            Self::Admin => 4,
        }
    }
}

async fn every_console_route_and_server_function_checks_the_role_on_the_server(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let task = raise_identity_task(&rp, "matrix").await;
    let version = rp
        .state
        .store
        .task_by_reference(&task)
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string();
    let task_path = app::domain::support::task_href(&task);
    use app::server_fns::console::{LoadAudit, LoadDashboard, LoadMailbox, LoadStaff, LoadTask};
    // Each route: method, path, fields, the least rank that may use it.
    let gets: Vec<(String, u8)> = vec![
        // The development mailbox shows teachers' emails: staff only, even in development.
        ("/dev/mailbox".into(), 2),
        (LoadMailbox::PATH.to_string(), 2),
        ("/support".into(), 2),
        (task_path.clone(), 2),
        (format!("{task_path}/check"), 2),
        (format!("{task_path}/proof"), 2),
        ("/support/staff".into(), 4),
        ("/support/audit".into(), 4),
        (format!("{}?query=", LoadDashboard::PATH), 2),
        (format!("{}?reference={task}", LoadTask::PATH), 2),
        (LoadStaff::PATH.to_string(), 4),
        (LoadAudit::PATH.to_string(), 4),
    ];
    let posts: Vec<Post> = vec![
        (
            format!("{task_path}/assign"),
            vec![("version", version.clone()), ("assignee", "none".into())],
            3,
        ),
        (
            format!("{task_path}/decision"),
            vec![("version", version.clone()), ("action", "save".into())],
            3,
        ),
        (format!("{task_path}/confirm"), vec![], 3),
        (
            "/support/staff".into(),
            vec![("staff_id", "1".into()), ("role", "viewer".into())],
            4,
        ),
        (
            format!("{task_path}/disconnect"),
            vec![
                ("action", "continue".into()),
                ("disconnect_reason", "".into()),
            ],
            4,
        ),
    ];
    for visitor in [
        Visitor::Anonymous,
        Visitor::Teacher,
        Visitor::NoRole,
        Visitor::Viewer,
        Visitor::Officer,
        Visitor::Admin,
    ] {
        rp.cookies.clear();
        rp.get("/").await;
        match visitor {
            Visitor::Anonymous => {}
            Visitor::Teacher => {
                rp.verify("exact-match", Outcome::IdentityVerified, vec![])
                    .await;
            }
            Visitor::NoRole => as_staff(&mut rp, NO_ROLE).await,
            Visitor::Viewer => as_staff(&mut rp, VIEWER).await,
            Visitor::Officer => as_staff(&mut rp, OFFICER).await,
            Visitor::Admin => as_staff(&mut rp, ADMIN).await,
        }
        for (path, least) in &gets {
            let res = if path.starts_with("/api/") {
                rp.fetch(path).await
            } else {
                rp.get(path).await
            };
            let allowed = visitor.rank() >= *least;
            let who = format!("{visitor:?} GET {path}: {}", res.status);
            if allowed {
                assert_eq!(res.status, 200, "{who}");
            } else if visitor.rank() == 0 && path.starts_with("/api/") {
                // A server function answers the page that called it: "sign in first", and nothing else.
                assert_eq!(res.body, r#""SignedOut""#, "{who}");
            } else if visitor.rank() == 0 {
                assert!([302, 303].contains(&res.status), "{who}");
                assert_eq!(res.header("location"), "/support/sign-in", "{who}");
            } else {
                assert_eq!(res.status, 403, "{who}");
            }
            if !allowed {
                assert!(
                    !res.body.contains("Ann Lee"),
                    "{who} must not show personal data"
                );
                // The proof's own bytes: "PNG" alone turns up by chance in a page's random base64url tokens
                // (its CSP nonce, its CSRF token), as it once did in CI.
                assert!(
                    !res.body.contains("IHDRproof"),
                    "{who} must not serve the file"
                );
            }
        }
        // The live feed never ends when allowed: only its status and type are read.
        let (status, headers) = rp.get_head("/support/tasks/events").await;
        let who = format!("{visitor:?} GET /support/tasks/events: {status}");
        if visitor.rank() >= 2 {
            assert_eq!(status, 200, "{who}");
            assert!(
                headers[axum::http::header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("text/event-stream"),
                "{who}"
            );
        } else if visitor.rank() == 0 {
            assert!([302, 303].contains(&status), "{who}");
            assert_eq!(
                headers[axum::http::header::LOCATION],
                "/support/sign-in",
                "{who}"
            );
        } else {
            assert_eq!(status, 403, "{who}");
        }
        for (path, fields, least) in &posts {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = rp.post(path, &fields).await;
            let who = format!("{visitor:?} POST {path}: {}", res.status);
            if visitor.rank() >= *least {
                assert!([302, 303].contains(&res.status), "{who}");
                assert_ne!(res.header("location"), "/support/sign-in", "{who}");
            } else if visitor.rank() == 0 {
                assert_eq!(res.header("location"), "/support/sign-in", "{who}");
            } else {
                assert_eq!(res.status, 403, "{who}");
            }
        }
    }
    // The refused saves changed nothing; the two allowed ones each moved the version on.
    let stored = rp
        .state
        .store
        .task_by_reference(&task)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.version > version.parse::<i64>().unwrap());
    assert!(stored.decision.is_none(), "nobody confirmed a decision");
}

async fn a_decision_connects_the_teacher_emails_them_and_writes_history_and_audit(
    backend: Backend,
) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let reference = raise_record_matching_task(&mut rp).await;
    let trn = rp.standin.persona("exact-match").unwrap().trn_hint.unwrap();
    as_staff(&mut rp, OFFICER).await;
    let dashboard = rp.get(&format!("/support?search={reference}")).await;
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.body.contains(&reference), "found by reference");
    let page = rp.get(&app::domain::support::task_href(&reference)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("What GOV.UK One Login gave us"));
    assert!(page.body.contains("Additional information"));
    let version = version_in(&page.body);
    let task_path = app::domain::support::task_href(&reference);

    // Save and come back later: the task is in progress, assigned to the officer, and the choice is kept.
    assert_redirect(
        &rp.post(
            &format!("{task_path}/decision"),
            &[
                ("version", &version),
                ("action", "save"),
                ("outcome", "connect"),
                ("trn", "other"),
                ("other_trn", &trn),
            ],
        )
        .await,
        // Back to the list the officer came from.
        &format!("/support?search={reference}"),
    );
    let mine = rp.get("/support?assignee=me").await;
    assert!(mine.body.contains(&reference), "assigned to me");
    assert!(mine.body.contains("progress on task"), "saved banner");
    let page = rp.get(&task_path).await;
    assert!(
        page.body.contains(&format!(r#"value="{trn}""#)),
        "the draft is shown again"
    );
    let version = version_in(&page.body);

    assert_redirect(
        &rp.post(
            &format!("{task_path}/decision"),
            &[
                ("version", &version),
                ("action", "continue"),
                ("outcome", "connect"),
                ("trn", "other"),
                ("other_trn", &trn),
            ],
        )
        .await,
        &format!("{task_path}/check"),
    );
    let check = rp.get(&format!("{task_path}/check")).await;
    assert!(check
        .body
        .contains(&format!("Connected to the record with TRN {trn}")));
    assert_redirect(
        &rp.post(&format!("{task_path}/confirm"), &[]).await,
        "/support?assignee=me", // the list the officer last looked at
    );
    let after = rp.get("/support?status=done").await;
    assert!(
        after.body.contains("We’ve emailed the teacher"),
        "success banner"
    );

    // One transaction: the task, the connection, the history event, the email and the audit.
    let task = crate::util::stored_task(&rp.state.store, &reference).await;
    assert_eq!(task.decision, Some(Decision::Connect { trn: trn.clone() }));
    assert_eq!(task.decided_by.as_deref(), Some("Sam Okafor"));
    let history = rp.state.store.record_history(&trn).await.unwrap();
    let event = history.last().unwrap();
    assert_eq!(event.kind, "one_login_connected");
    let details = event.details.as_ref().expect("a connection's details");
    assert_eq!(details.how, app::domain::support::ConnectedHow::Support);
    let by = details.support.as_ref().expect("who in support");
    assert_eq!(by.decided_by, "Sam Okafor");
    assert_eq!(by.task_reference, reference);
    assert!(details.one_login_email.contains('@'));
    let emails = rp.state.store.recent_emails(10).await.unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].email.template, "connected");
    assert_eq!(
        emails[0].email.task_reference.as_deref(),
        Some(reference.as_str())
    );
    let audit = rp.state.store.audit_log(None, 50).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "decided" && a.task_reference.as_deref() == Some(&reference)));
    assert!(audit.iter().any(|a| a.action == "viewed_task"));

    // The task page shows the record's change history with the officer's connection.
    let decided = rp.get(&task_path).await;
    assert!(decided.body.contains("Change history of the record"));
    assert!(decided.body.contains(&format!(
        "connected by Sam Okafor (support task {reference})"
    )));

    // The development mailbox shows the email; the worker delivers it there.
    let sender = server::outbox::Sender::DevMailbox;
    assert_eq!(
        server::outbox::run_once(&rp.state.store, &sender)
            .await
            .unwrap(),
        1
    );
    let mailbox = rp.get("/dev/mailbox").await;
    assert!(mailbox
        .body
        .contains("You can now access your teaching record"));
    assert!(mailbox.body.contains(&reference));

    // The teacher now goes straight to their record.
    rp.cookies.remove("tid_session");
    rp.sign_in("no-match").await;
    assert_redirect(&rp.get("/continue").await, "/record");

    // A second decision on a decided task is refused, with who decided it.
    rp.post(
        &format!("{task_path}/decision"),
        &[
            ("version", &version),
            ("action", "continue"),
            ("outcome", "do_not_connect"),
            ("reason", "no_matching_record"),
        ],
    )
    .await;
    rp.post(&format!("{task_path}/confirm"), &[]).await;
    let page = rp.get(&task_path).await;
    assert!(
        page.body
            .contains("This task has already been decided by Sam Okafor"),
        "{}",
        page.body.len()
    );
    assert_eq!(
        rp.state.store.recent_emails(10).await.unwrap().len(),
        1,
        "no second email"
    );
}

async fn two_officers_deciding_at_once_decide_the_task_once(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let reference = raise_record_matching_task(&mut rp).await;
    let task_path = app::domain::support::task_href(&reference);
    // Both officers open the task and choose, each in their own browser.
    as_staff(&mut rp, OFFICER).await;
    let version = version_in(&rp.get(&task_path).await.body);
    rp.post(
        &format!("{task_path}/decision"),
        &[
            ("version", &version),
            ("action", "continue"),
            ("outcome", "do_not_connect"),
            ("reason", "no_matching_record"),
        ],
    )
    .await;
    let sam = rp.cookies.clone();
    as_staff(&mut rp, OFFICER2).await;
    rp.post(
        &format!("{task_path}/decision"),
        &[
            ("version", &version),
            ("action", "continue"),
            ("outcome", "do_not_connect"),
            ("reason", "other"),
            ("reason_detail", "Two records"),
        ],
    )
    .await;
    let priya = rp.cookies.clone();
    // Sam confirms first; Priya's confirmation is refused with a clear message.
    rp.cookies = sam;
    assert_redirect(
        &rp.post(&format!("{task_path}/confirm"), &[]).await,
        "/support",
    );
    rp.cookies = priya;
    rp.post(&format!("{task_path}/confirm"), &[]).await;
    let page = rp.get(&task_path).await;
    assert!(page
        .body
        .contains("This task has already been decided by Sam Okafor"));
    assert_eq!(rp.state.store.recent_emails(10).await.unwrap().len(), 1);

    // And truly at once, in storage: exactly one of two simultaneous decisions goes through.
    let other = raise_identity_task(&rp, "race").await;
    let task = rp
        .state
        .store
        .task_by_reference(&other)
        .await
        .unwrap()
        .unwrap();
    let (sam, priya) = (
        rp.state
            .store
            .staff_by_id(staff_id(&rp, OFFICER).await)
            .await
            .unwrap()
            .unwrap(),
        rp.state
            .store
            .staff_by_id(staff_id(&rp, OFFICER2).await)
            .await
            .unwrap()
            .unwrap(),
    );
    let decision = Decision::Reject {
        reason: app::domain::support::RejectReason::ProofUnclear,
        detail: None,
    };
    let email = |n: u8| NewEmail {
        reference: format!("race-{n}"),
        template: "rejected".into(),
        email_address: "race@example.com".into(),
        personalisation: Default::default(),
        task_reference: Some(other.clone()),
    };
    let now = chrono::Utc::now();
    let (email_a, email_b) = (email(1), email(2));
    let (a, b) = tokio::join!(
        rp.state
            .store
            .decide_task(&other, task.version, &decision, &sam, &email_a, now),
        rp.state
            .store
            .decide_task(&other, task.version, &decision, &priya, &email_b, now),
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes
        .iter()
        .any(|o| matches!(o, Err(TaskChangeRefused::AlreadyDecided { .. }))));
    let queued = rp.state.store.recent_emails(10).await.unwrap();
    assert_eq!(
        queued
            .iter()
            .filter(|e| e.email.task_reference.as_deref() == Some(other.as_str()))
            .count(),
        1
    );
}

async fn bad_decisions_get_messages_and_change_nothing(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let reference = raise_identity_task(&rp, "bad-input").await;
    let task_path = app::domain::support::task_href(&reference);
    as_staff(&mut rp, OFFICER).await;
    let version = version_in(&rp.get(&task_path).await.body);
    let long = "x".repeat(1001);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "Select a decision"),
        (vec![("outcome", "launch")], "Select a decision"),
        (vec![("outcome", "connect")], "Select a record to connect"),
        (
            vec![("outcome", "connect"), ("trn", "other"), ("other_trn", "")],
            "Enter a TRN",
        ),
        (
            vec![
                ("outcome", "connect"),
                ("trn", "other"),
                ("other_trn", "12<script>"),
            ],
            "Enter a TRN in the correct format, like 1234567",
        ),
        (
            vec![("outcome", "connect"), ("trn", "0000001")],
            "There is no teaching record with TRN 0000001",
        ),
        (
            vec![("outcome", "reject")],
            "Select why the request is being rejected",
        ),
        (
            vec![("outcome", "reject"), ("reject_reason", "other")],
            "Enter the reason",
        ),
        (
            vec![
                ("outcome", "reject"),
                ("reject_reason", "other"),
                ("reject_reason_detail", &long),
            ],
            "The reason must be 1000 characters or fewer",
        ),
        (
            vec![("outcome", "reject"), ("reject_reason", "<b>")],
            "Select why the request is being rejected",
        ),
        (
            vec![
                ("outcome", "do_not_connect"),
                ("reason", "other"),
                ("reason_detail", "\u{7}\u{0}\u{1b}"),
            ],
            "Enter the reason",
        ),
    ];
    for (fields, message) in cases {
        let mut sent = fields.clone();
        sent.push(("version", &version));
        sent.push(("action", "continue"));
        assert_redirect(
            &rp.post(&format!("{task_path}/decision"), &sent).await,
            &format!("{task_path}#decision"),
        );
        let page = rp.get(&task_path).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("There is a problem"), "{message}");
        assert!(page.body.contains(message), "{message}");
    }
    // A stale form: the version moved on (someone assigned it) since it was shown.
    rp.post(
        &format!("{task_path}/assign"),
        &[("version", &version), ("assignee", "me")],
    )
    .await;
    rp.post(
        &format!("{task_path}/decision"),
        &[
            ("version", &version),
            ("action", "continue"),
            ("outcome", "reject"),
            ("reject_reason", "proof_unclear"),
        ],
    )
    .await;
    rp.post(&format!("{task_path}/confirm"), &[]).await;
    let page = rp.get(&task_path).await;
    assert!(
        page.body.contains("Someone else changed this task"),
        "stale"
    );
    // Tampered versions, references and assignees: messages or 404s, never a 500.
    for (path, fields) in [
        (
            format!("{task_path}/decision"),
            vec![("version", "abc"), ("action", "continue")],
        ),
        (
            format!("{task_path}/assign"),
            vec![("version", "abc"), ("assignee", "me")],
        ),
        (
            format!("{task_path}/assign"),
            vec![("version", "1"), ("assignee", "9999")],
        ),
        (
            "/support/tasks/TRS-000000/decision".to_string(),
            vec![("version", "1"), ("action", "continue")],
        ),
        (
            "/support/tasks/..%2F..%2Fetc/assign".to_string(),
            vec![("version", "1"), ("assignee", "me")],
        ),
    ] {
        let res = rp.post(&path, &fields).await;
        assert!(res.status < 500, "{path}: {}", res.status);
    }
    assert_eq!(rp.get("/support/tasks/TRS-000000").await.status, 404);
    assert_eq!(rp.get("/support/tasks/%3Cscript%3E").await.status, 404);
    // Hostile text in a reason is kept as text: escaped on the page and in the email.
    let version = version_in(&rp.get(&task_path).await.body);
    rp.post(
        &format!("{task_path}/decision"),
        &[
            ("version", &version),
            ("action", "continue"),
            ("outcome", "reject"),
            ("reject_reason", "other"),
            ("reject_reason_detail", "<script>alert(1)</script>"),
        ],
    )
    .await;
    let check = rp.get(&format!("{task_path}/check")).await;
    assert!(!check.body.contains("<script>alert(1)"));
    rp.post(&format!("{task_path}/confirm"), &[]).await;
    let task = crate::util::stored_task(&rp.state.store, &reference).await;
    assert!(
        matches!(task.decision, Some(Decision::Reject { .. })),
        "decided once the input was right"
    );
    server::outbox::run_once(&rp.state.store, &server::outbox::Sender::DevMailbox)
        .await
        .unwrap();
    let mailbox = rp.get("/dev/mailbox").await;
    assert!(mailbox
        .body
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!mailbox.body.contains("<script>alert(1)"));
}

async fn identity_tasks_show_the_proof_only_to_staff(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let reference = raise_identity_task(&rp, "proof").await;
    let task_path = app::domain::support::task_href(&reference);
    as_staff(&mut rp, VIEWER).await;
    let page = rp.get(&task_path).await;
    assert!(page.body.contains("Proof of identity"));
    assert!(
        page.body.contains("passport &lt;b&gt;.png"),
        "file name shown as text"
    );
    assert!(page
        .body
        .contains("You can view this task but not decide it"));
    let file = rp.get(&format!("{task_path}/proof")).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.header("content-type"), "image/png");
    assert_eq!(file.header("x-content-type-options"), "nosniff");
    assert!(file
        .header("content-disposition")
        .starts_with("inline; filename=\"proof-of-identity-TRS-"));
    assert_eq!(file.header("cache-control"), "no-store");
    assert_eq!(
        file.header("content-security-policy"),
        "default-src 'none'; frame-ancestors 'self'; sandbox",
        "nothing in an image runs, and only our pages may show it"
    );
    assert_eq!(file.header("x-frame-options"), "SAMEORIGIN");
    assert!(
        page.header("content-security-policy")
            .contains("object-src 'self'"),
        "task pages embed PDFs"
    );
    let dashboard = rp.get("/support").await;
    assert!(dashboard
        .header("content-security-policy")
        .contains("object-src 'none'"));
    let download = rp.get(&format!("{task_path}/proof?download=1")).await;
    assert!(download
        .header("content-disposition")
        .starts_with("attachment;"));
    // A record-matching task has no file; a file key cannot be asked for directly.
    let other = raise_record_matching_task(&mut rp).await;
    assert_eq!(
        rp.get(&format!(
            "{}/proof",
            app::domain::support::task_href(&other)
        ))
        .await
        .status,
        404
    );
    assert_eq!(
        rp.get("/support/tasks/proofs%2Fanything.png/proof")
            .await
            .status,
        404
    );
    let audit = rp.state.store.audit_log(None, 50).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "viewed_proof"
            && a.task_reference.as_deref() == Some(reference.as_str())));
}

async fn the_dashboard_filters_searches_sorts_and_pages(backend: Backend) {
    let Some(rp) = console(backend).await else {
        return;
    };
    use app::domain::support::{TaskKind as K, TaskStatus as S};
    let base = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let names = [
        "Zoë Adams",
        "Ann O’Brien",
        "Bob Brown",
        "Cat Cole",
        "Dan Dunn",
    ];
    let tasks: Vec<server::db::support::GeneratedTask> = (0..60)
        .map(|i| server::db::support::GeneratedTask {
            reference: format!("TRS-{:06}", 500_000 + i),
            kind: if i % 3 == 0 {
                K::IdentityVerification
            } else {
                K::RecordMatching
            },
            status: [S::Open, S::InProgress, S::Done][i % 3],
            name: names[i % 5].to_string(),
            email: format!("person{i}@Example.com"),
            trn: (i % 10 == 0).then(|| format!("{:07}", 2_000_000 + i)),
            assignee_id: None,
            created_at: base + chrono::Duration::hours(i as i64),
            client_id: None,
        })
        .collect();
    rp.state.store.insert_generated_tasks(&tasks).await.unwrap();
    let query = |pairs: &[(&str, &str)]| {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TaskQuery::from_params(|k| map.get(k).cloned()).0
    };
    let list = |q: TaskQuery| {
        let store = rp.state.store.clone();
        async move { store.list_tasks(&q, 1).await.unwrap() }
    };
    // Active by default: open and in progress, oldest first.
    let page = list(query(&[])).await;
    assert_eq!(page.total, 40);
    assert_eq!(
        (page.counts.open, page.counts.in_progress, page.counts.done),
        (20, 20, 20)
    );
    assert_eq!(page.tasks.len(), 25);
    assert_eq!(page.tasks[0].reference, "TRS-500000");
    assert!(page
        .tasks
        .windows(2)
        .all(|w| w[0].requested_at <= w[1].requested_at));
    let second = list(query(&[("page", "2")])).await;
    assert_eq!(second.tasks.len(), 15);
    assert!(second
        .tasks
        .iter()
        .all(|t| !page.tasks.iter().any(|p| p.reference == t.reference)));
    // Filters.
    assert_eq!(list(query(&[("status", "done")])).await.total, 20);
    assert_eq!(
        list(query(&[
            ("status", "all"),
            ("type", "identity_verification")
        ]))
        .await
        .total,
        20
    );
    assert_eq!(
        list(query(&[("status", "all"), ("assignee", "unassigned")]))
            .await
            .total,
        60
    );
    assert_eq!(
        list(query(&[("status", "all"), ("assignee", "me")]))
            .await
            .total,
        0
    );
    assert_eq!(
        list(query(&[
            ("status", "all"),
            ("from", "1/3/2026"),
            ("to", "1/3/2026")
        ]))
        .await
        .total,
        15
    );
    // Search: reference, TRN, email (any case), name or last name (accents and apostrophes ignored).
    assert_eq!(
        list(query(&[("status", "all"), ("search", "trs-500007")]))
            .await
            .total,
        1
    );
    assert_eq!(
        list(query(&[("status", "all"), ("search", "2000010")]))
            .await
            .total,
        1
    );
    assert_eq!(
        list(query(&[
            ("status", "all"),
            ("search", "PERSON1@example.com")
        ]))
        .await
        .total,
        1
    );
    assert_eq!(
        list(query(&[("status", "all"), ("search", "obrien")]))
            .await
            .total,
        12
    );
    assert_eq!(
        list(query(&[("status", "all"), ("search", "Zoe")]))
            .await
            .total,
        12
    );
    assert_eq!(
        list(query(&[
            ("status", "all"),
            ("search", "'; DROP TABLE support_tasks; --")
        ]))
        .await
        .total,
        0
    );
    // Sorts, both ways.
    let by_name = list(query(&[("status", "all"), ("sort", "name")])).await;
    assert_eq!(by_name.tasks[0].name, "Ann O’Brien");
    let by_name_desc = list(query(&[
        ("status", "all"),
        ("sort", "name"),
        ("direction", "desc"),
    ]))
    .await;
    assert_eq!(by_name_desc.tasks[0].name, "Zoë Adams");
    let by_status = list(query(&[
        ("status", "all"),
        ("sort", "status"),
        ("direction", "desc"),
    ]))
    .await;
    assert_eq!(by_status.tasks[0].status, S::Done);
    let by_type = list(query(&[("status", "all"), ("sort", "type")])).await;
    assert_eq!(by_type.tasks[0].kind, K::IdentityVerification);
    let newest = list(query(&[("status", "all"), ("direction", "desc")])).await;
    assert_eq!(newest.tasks[0].reference, "TRS-500059");
    // Without JavaScript: the "next" link carries the last task shown (a cursor), and following it shows the next
    // page; the page after's "previous" link carries its first task and comes back to the same page.
    let mut rp = rp;
    as_staff(&mut rp, OFFICER).await;
    let first = rp.get("/support?status=all").await;
    assert_eq!(first.status, 200);
    let next = "/support?status=all&page=2&after=TRS-500024";
    assert!(
        first.body.contains(&next.replace('&', "&amp;")),
        "{}",
        first.body
    );
    let second = rp.get(next).await;
    assert_eq!(second.status, 200);
    // The rows shown, by their reference links' text (the island's props carry the cursor too).
    let rows = |body: &str| {
        (0..60)
            .map(|i| format!("TRS-{:06}", 500_000 + i))
            .filter(|r| body.contains(&format!(">{r}<")))
            .collect::<Vec<_>>()
    };
    let page_two: Vec<String> = (25..50)
        .map(|i| format!("TRS-{:06}", 500_000 + i))
        .collect();
    assert_eq!(rows(&second.body), page_two);
    let third = rp.get("/support?status=all&page=3&after=TRS-500049").await;
    assert_eq!(rows(&third.body).len(), 10);
    assert_eq!(rows(&third.body)[0], "TRS-500050");
    let previous = "/support?status=all&page=2&before=TRS-500050";
    assert!(third.body.contains(&previous.replace('&', "&amp;")));
    assert_eq!(rows(&rp.get(previous).await.body), page_two);
}

/// Every filter × sort × direction, page by page, against the order worked out here: the page query's shapes
/// (index hints on SQLite, the name search's two reads) must not change which tasks a page shows or their order,
/// so both backends give this same order. Names include ties, a one-word name (both name keys the same, found once)
/// and names matching the search by either key.
async fn every_filter_and_sort_pages_in_the_same_order_on_both_backends(backend: Backend) {
    let Some(rp) = console(backend).await else {
        return;
    };
    use app::domain::names::name_key;
    use app::domain::support::{TaskKind as K, TaskStatus as S};
    let me = staff_id(&rp, OFFICER).await;
    let other = staff_id(&rp, OFFICER2).await;
    let base = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let names = [
        "Ann Okafor",
        "Okafor",
        "Okaforth Smith",
        "Bola Okaforth",
        "Chen O’Kafor",
        "Zoë Adams",
        "Ann Okafor",
        "Okafor Okafor",
        "Dan Dunn",
    ];
    let tasks: Vec<server::db::support::GeneratedTask> = (0..150)
        .map(|i| server::db::support::GeneratedTask {
            reference: format!("TRS-{:06}", 600_000 + i),
            kind: if i % 2 == 0 {
                K::IdentityVerification
            } else {
                K::RecordMatching
            },
            status: [S::Open, S::InProgress, S::Done][i % 3],
            name: names[(i * 5) % names.len()].to_string(),
            email: format!("order{i}@example.com"),
            trn: None,
            assignee_id: [Some(me), Some(other), None, None][(i / 3) % 4],
            // Out of id order, with ties, over three days.
            created_at: base + chrono::Duration::hours(((i * 7) % 70) as i64),
            client_id: None,
        })
        .collect();
    rp.state.store.insert_generated_tasks(&tasks).await.unwrap();
    let query = |pairs: &[(&str, &str)]| {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TaskQuery::from_params(|k| map.get(k).cloned()).0
    };
    assert_eq!(
        rp.state
            .store
            .list_tasks(&query(&[("status", "all")]), me)
            .await
            .unwrap()
            .total,
        150,
        "only this test's tasks"
    );
    let from = base.date_naive().succ_opt().unwrap();
    // Which of the tasks a filter keeps, by index.
    type Keep<'t> = Box<dyn Fn(usize) -> bool + 't>;
    let filters: Vec<(Vec<(&str, &str)>, Keep<'_>)> = {
        let t = &tasks;
        let key = name_key("okafor");
        vec![
            (vec![], Box::new(move |i| t[i].status != S::Done)),
            (
                vec![("status", "open")],
                Box::new(move |i| t[i].status == S::Open),
            ),
            (
                vec![("status", "in_progress")],
                Box::new(move |i| t[i].status == S::InProgress),
            ),
            (vec![("status", "all")], Box::new(|_| true)),
            (
                vec![("type", "identity_verification")],
                Box::new(move |i| t[i].status != S::Done && t[i].kind == K::IdentityVerification),
            ),
            (
                vec![("type", "record_matching"), ("status", "done")],
                Box::new(move |i| t[i].status == S::Done && t[i].kind == K::RecordMatching),
            ),
            (
                vec![("assignee", "me"), ("status", "all")],
                Box::new(move |i| t[i].assignee_id == Some(me)),
            ),
            (
                vec![("assignee", "unassigned")],
                Box::new(move |i| t[i].status != S::Done && t[i].assignee_id.is_none()),
            ),
            (
                vec![("status", "all"), ("from", "2/3/2026"), ("to", "2/3/2026")],
                Box::new(move |i| t[i].created_at.date_naive() == from),
            ),
            (
                vec![("status", "all"), ("search", "O'Kafor")],
                Box::new({
                    let key = key.clone();
                    move |i| {
                        let last = name_key(t[i].name.rsplit(' ').next().unwrap());
                        name_key(&t[i].name).starts_with(&key) || last.starts_with(&key)
                    }
                }),
            ),
            (
                vec![("search", "okafor"), ("type", "record_matching")],
                Box::new(move |i| {
                    let last = name_key(t[i].name.rsplit(' ').next().unwrap());
                    t[i].status != S::Done
                        && t[i].kind == K::RecordMatching
                        && (name_key(&t[i].name).starts_with(&key) || last.starts_with(&key))
                }),
            ),
        ]
    };
    let rank = |s: S| match s {
        S::Open => 0,
        S::InProgress => 1,
        S::Done => 2,
    };
    for (pairs, keep) in &filters {
        for sort in ["requested", "name", "type", "status"] {
            for direction in ["asc", "desc"] {
                // The ids follow the list's order (inserted in one go), so `i` breaks ties as the id does.
                let mut expected: Vec<usize> = (0..tasks.len()).filter(|&i| keep(i)).collect();
                expected.sort_by(|&a, &b| {
                    let (x, y) = (&tasks[a], &tasks[b]);
                    match sort {
                        "requested" => (x.created_at, a).cmp(&(y.created_at, b)),
                        "name" => (name_key(&x.name), a).cmp(&(name_key(&y.name), b)),
                        "type" => (x.kind.as_str(), x.created_at, a).cmp(&(
                            y.kind.as_str(),
                            y.created_at,
                            b,
                        )),
                        _ => (rank(x.status), x.created_at, a).cmp(&(
                            rank(y.status),
                            y.created_at,
                            b,
                        )),
                    }
                });
                if direction == "desc" {
                    expected.reverse();
                }
                let expected: Vec<String> = expected
                    .into_iter()
                    .map(|i| tasks[i].reference.clone())
                    .collect();
                let mut shown = Vec::new();
                let mut all = pairs.clone();
                all.extend([("sort", sort), ("direction", direction)]);
                let q = query(&all);
                for page in 1.. {
                    let listed = rp
                        .state
                        .store
                        .list_tasks(&q.with_page(page), me)
                        .await
                        .unwrap();
                    assert_eq!(listed.total as usize, expected.len(), "{all:?}");
                    shown.extend(listed.tasks.into_iter().map(|t| t.reference));
                    if shown.len() >= expected.len() || page > 10 {
                        break;
                    }
                }
                assert_eq!(shown, expected, "{all:?}");
                // The same pages by their "next" links (each carries the last task shown: keyset pagination),
                // then back from the last page by their "previous" links (the first task shown).
                let mut pages: Vec<Vec<String>> = Vec::new();
                let mut at = q.clone();
                loop {
                    let listed = rp.state.store.list_tasks(&at, me).await.unwrap();
                    assert_eq!(listed.total as usize, expected.len(), "{all:?}");
                    let shown: Vec<String> =
                        listed.tasks.into_iter().map(|t| t.reference).collect();
                    pages.push(shown.clone());
                    if at.page >= listed.total.div_ceil(25).max(1) as u32 {
                        break;
                    }
                    at = at.link_to_page(
                        at.page + 1,
                        shown.first().map(String::as_str),
                        shown.last().map(String::as_str),
                    );
                    assert!(at.cursor.is_some(), "{all:?}");
                }
                assert_eq!(pages.concat(), expected, "next links {all:?}");
                while at.page > 1 {
                    let first = pages[at.page as usize - 1].first().cloned();
                    at = at.link_to_page(at.page - 1, first.as_deref(), None);
                    let listed = rp.state.store.list_tasks(&at, me).await.unwrap();
                    let shown: Vec<String> =
                        listed.tasks.into_iter().map(|t| t.reference).collect();
                    assert_eq!(
                        shown,
                        pages[at.page as usize - 1],
                        "previous links {all:?} {at:?}"
                    );
                }
            }
        }
    }
    // A cursor naming no task, or with nothing after it any more: the page by its number.
    let all = query(&[("status", "all")]);
    let second = rp
        .state
        .store
        .list_tasks(&all.with_page(2), me)
        .await
        .unwrap();
    for cursor in ["TRS-999999", "TRS-600149"] {
        let mut linked = all.with_page(2);
        linked.cursor = Some(app::domain::support::Cursor::After(cursor.into()));
        let listed = rp.state.store.list_tasks(&linked, me).await.unwrap();
        assert_eq!(listed.tasks, second.tasks, "{cursor}");
    }
}

/// The outbox against a Notify-compatible server: retries, permanent failures, and a crash between Notify
/// accepting an email and the outbox recording it, after which the email is not sent again.
#[tokio::test]
async fn the_outbox_sends_each_email_once_even_after_a_crash() {
    use notify::fake::FakeNotify;
    let (store, _dir) = crate::support::sqlite_store().await;
    let fake = FakeNotify::new(
        "26785a09-ab16-4eb0-8407-a37497a57506",
        "3d844edf-8d35-48ac-975b-e847b4f122b0",
    );
    let template = "f33517ff-2a88-4f6e-b855-c550268ce08a";
    let (subject, body) = app::domain::support::EmailTemplate::Connected.text();
    fake.add_template(template, subject, body);
    let api_key = fake.api_key("teacher_id_test");
    let (base_url, handle) = fake.spawn().await;
    let client = notify::NotifyClient::new(&api_key, &base_url).unwrap();
    let sender = server::outbox::Sender::Notify {
        client: client.clone(),
        templates: [(
            app::domain::support::EmailTemplate::Connected,
            template.to_string(),
        )]
        .into_iter()
        .collect(),
        sms_templates: Default::default(),
    };
    let email = |reference: &str| NewEmail {
        reference: reference.into(),
        template: "connected".into(),
        email_address: "teacher@example.com".into(),
        personalisation: server::console::personalisation(
            "Ann Lee",
            "TRS-123456",
            None,
            "https://example.com/sign-in",
        ),
        task_reference: Some("TRS-123456".into()),
    };
    let now = chrono::Utc::now();

    // Queued, then the server stops before sending: on restart it is sent, once.
    store.queue_email(&email("before-send"), now).await.unwrap();
    assert_eq!(server::outbox::run_once(&store, &sender).await.unwrap(), 1);
    assert_eq!(server::outbox::run_once(&store, &sender).await.unwrap(), 0);
    assert_eq!(handle.sent().len(), 1);
    assert_eq!(
        handle.sent()[0].subject,
        "You can now access your teaching record"
    );
    assert!(handle.sent()[0].body.contains("Dear Ann Lee"));

    // Claimed and accepted by Notify, then the process dies before recording it; its lease runs out.
    store.queue_email(&email("after-send"), now).await.unwrap();
    let claimed = store
        .claim_due_emails(now, now - chrono::Duration::seconds(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    client
        .send_email(&notify::EmailRequest {
            template_id: template.into(),
            email_address: "teacher@example.com".into(),
            personalisation: claimed[0].email.personalisation.clone(),
            reference: Some("after-send".into()),
        })
        .await
        .unwrap();
    assert_eq!(handle.sent().len(), 2);
    assert_eq!(server::outbox::run_once(&store, &sender).await.unwrap(), 1);
    assert_eq!(handle.sent().len(), 2, "not sent a second time");
    let recorded = store.recent_emails(10).await.unwrap();
    assert!(recorded.iter().all(|e| e.status == "sent"), "{recorded:?}");

    // Notify down: retried later with backoff, the error recorded.
    handle.fail_next(1, 500);
    store.queue_email(&email("retry"), now).await.unwrap();
    server::outbox::run_once(&store, &sender).await.unwrap();
    let retry = store.recent_emails(1).await.unwrap().remove(0);
    assert_eq!((retry.status.as_str(), retry.attempts), ("pending", 1));
    assert!(retry.last_error.is_some());
    assert_eq!(handle.sent().len(), 2);

    // A template Notify does not have: failed, not retried.
    let mut bad = email("no-template");
    bad.template = "rejected".into();
    store.queue_email(&bad, now).await.unwrap();
    server::outbox::run_once(&store, &sender).await.unwrap();
    let failed = store.recent_emails(1).await.unwrap().remove(0);
    assert_eq!(failed.status, "failed");
}
