//! Which service a support task came from (issue 12 §7.1, DESIGN §7.1): a task raised while another service's
//! request is kept in the teacher's session records that client; the console shows the service in the list and on
//! the task page, and filters by it (or by "came directly"), in every order; a filter value no form sends is no
//! filter, never an error.

use crate::console::{as_staff, assert_redirect, console, raise_identity_task, OFFICER};
use crate::onelogin::Rp;
use app::domain::provider::{Client, ClientAuth, Scope, Scopes, SignInPolicy, TrnPolicy};
use app::domain::support::{ServiceFilter, TaskQuery};
use onelogin_standin::Outcome;
use server::db::Backend;

on_both_backends!(
    a_task_raised_while_npqs_request_is_kept_shows_npq_in_the_list_and_on_the_task_page,
    an_identity_task_raised_while_npqs_request_is_kept_records_npq,
    the_service_filter_returns_only_that_services_tasks_and_came_directly_only_those_without,
    the_service_filter_keeps_to_its_service_in_every_order_and_page,
    an_unknown_or_tampered_service_filter_gets_the_whole_list_never_an_error,
);

const NPQ_NAME: &str = "Register for an NPQ (sample)";
const REDIRECT: &str = "https://npq.example/callback";

/// The console's service with `npq` registered (a client secret; `trn` optional).
async fn with_npq(backend: Backend) -> Option<Rp> {
    let rp = console(backend).await?;
    let client = Client {
        client_id: "npq".into(),
        display_name: NPQ_NAME.into(),
        service_url: "https://npq.example".into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        auth: ClientAuth::ClientSecret {
            sha256: "ab".repeat(32),
        },
        allowed_scopes: Scopes::from(Scope::ALL),
        sign_in: SignInPolicy::OneLogin,
        trn: TrnPolicy::Optional,
        mobile: Default::default(),
        id_token_alg: app::domain::provider::IdTokenAlg::Rs256,
        enabled: true,
    };
    rp.state
        .store
        .add_client(&client, chrono::Utc::now())
        .await
        .unwrap();
    Some(rp)
}

/// The teacher's browser arrives from `npq` (a good authorization request), which is kept while they sign in.
async fn arrive_from_npq(rp: &mut Rp) {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", "npq"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email profile teaching_record"),
            ("state", "st-1"),
            ("nonce", "n-1"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    assert_redirect(
        &rp.get(&format!("/oauth2/authorize?{query}")).await,
        "/sign-in",
    );
}

/// A teacher from `npq` the journey cannot match asks for support (record matching); and a teacher who came
/// directly asks for identity support (raised in storage). Their references.
async fn one_from_npq_and_one_direct(rp: &mut Rp) -> (String, String) {
    arrive_from_npq(rp).await;
    let from_npq = crate::util::unmatched_teacher_asks_for_support(rp).await;
    let direct = raise_identity_task(rp, "came-directly").await;
    (from_npq, direct)
}

/// The `<tr>` of the dashboard's table holding `reference`.
fn row_of<'a>(body: &'a str, reference: &str) -> Option<&'a str> {
    let at = body.find(&format!(">{reference}</a>"))?;
    let start = body[..at].rfind("<tr")?;
    let end = at + body[at..].find("</tr>")?;
    Some(&body[start..end])
}

async fn a_task_raised_while_npqs_request_is_kept_shows_npq_in_the_list_and_on_the_task_page(
    backend: Backend,
) {
    let Some(mut rp) = with_npq(backend).await else {
        return;
    };
    let (from_npq, direct) = one_from_npq_and_one_direct(&mut rp).await;
    let stored = crate::util::stored_task(&rp.state.store, &from_npq).await;
    assert_eq!(stored.service.as_deref(), Some(NPQ_NAME));
    as_staff(&mut rp, OFFICER).await;
    let list = rp.get("/support?status=all").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains(">Service</th>"), "the column's heading");
    let npq_row = row_of(&list.body, &from_npq).expect("the NPQ task is listed");
    assert!(npq_row.contains(NPQ_NAME), "{npq_row}");
    let direct_row = row_of(&list.body, &direct).expect("the direct task is listed");
    assert!(!direct_row.contains(NPQ_NAME));
    assert!(direct_row.contains("Teacher ID"), "{direct_row}");
    let page = rp.get(&format!("/support/tasks/{from_npq}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!(" through {NPQ_NAME}")),
        "the task page names the service"
    );
    let page = rp.get(&format!("/support/tasks/{direct}")).await;
    assert!(page.body.contains(" through Teacher ID"));
    assert!(!page.body.contains(NPQ_NAME));
}

async fn an_identity_task_raised_while_npqs_request_is_kept_records_npq(backend: Backend) {
    let Some(mut rp) = with_npq(backend).await else {
        return;
    };
    arrive_from_npq(&mut rp).await;
    let back = rp
        .verify("cannot-verify", Outcome::IdentityNotVerified, vec![])
        .await;
    assert_redirect(&back, "/identity-not-verified");
    assert_eq!(rp.get("/identity-support").await.status, 200);
    let token = rp.cookies["tid_csrf"].clone();
    let fields = [
        ("csrf_token", token.as_str()),
        ("name", "Ann Lee"),
        ("previous_name", ""),
        ("dob-day", "14"),
        ("dob-month", "3"),
        ("dob-year", "1985"),
        ("nino", ""),
        ("trn", ""),
    ];
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRproof";
    let res = rp
        .post_multipart("/identity-support", &fields, Some(("passport.png", png)))
        .await;
    assert_redirect(&res, "/identity-support/check");
    assert_redirect(
        &rp.post("/identity-support/send", &[]).await,
        "/connect/support-requested",
    );
    let reference = crate::util::reference_on_confirmation(&mut rp).await;
    let stored = crate::util::stored_task(&rp.state.store, &reference).await;
    assert_eq!(stored.service.as_deref(), Some(NPQ_NAME));
}

async fn the_service_filter_returns_only_that_services_tasks_and_came_directly_only_those_without(
    backend: Backend,
) {
    let Some(mut rp) = with_npq(backend).await else {
        return;
    };
    let (from_npq, direct) = one_from_npq_and_one_direct(&mut rp).await;
    as_staff(&mut rp, OFFICER).await;
    // The filter offers every registered service and "came directly".
    let all = rp.get("/support?status=all").await;
    assert!(all.body.contains(r#"name="service""#), "the service filter");
    assert!(
        all.body
            .contains(&format!(r#"<option value="npq">{NPQ_NAME}</option>"#)),
        "the service is offered"
    );
    assert!(all
        .body
        .contains(r#"<option value="~direct">Came directly to Teacher ID</option>"#));
    let npq = rp.get("/support?status=all&service=npq").await;
    assert_eq!(npq.status, 200);
    assert!(row_of(&npq.body, &from_npq).is_some());
    assert!(row_of(&npq.body, &direct).is_none());
    assert!(
        npq.body.contains(">1 task<"),
        "the count follows the filter"
    );
    assert!(
        npq.body.contains(r#"<option value="npq" selected"#),
        "the filter shows what it is set to"
    );
    let directly = rp.get("/support?status=all&service=%7Edirect").await;
    assert_eq!(directly.status, 200);
    assert!(row_of(&directly.body, &direct).is_some());
    assert!(row_of(&directly.body, &from_npq).is_none());
    // The counts per status follow it too (the NPQ task is open).
    assert!(npq.body.contains("Open (1)"), "counts per status");
    assert!(directly.body.contains("Open (1)"));
    // Without JavaScript the form sends every field; the page moves to the URL without the empty ones.
    let sent = rp
        .get("/support?search=&type=&status=all&assignee=anyone&service=npq&from=&to=&sort=requested&direction=asc")
        .await;
    assert_redirect(&sent, "/support?status=all&service=npq");
    // The server function the page calls with JavaScript answers the same.
    let page = rp
        .state
        .store
        .list_tasks(
            &TaskQuery {
                service: ServiceFilter::Service("npq".into()),
                status: app::domain::support::StatusFilter::All,
                ..TaskQuery::default()
            },
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        page.tasks
            .iter()
            .map(|t| (t.reference.as_str(), t.service.as_deref()))
            .collect::<Vec<_>>(),
        vec![(from_npq.as_str(), Some(NPQ_NAME))]
    );
}

async fn the_service_filter_keeps_to_its_service_in_every_order_and_page(backend: Backend) {
    let Some(rp) = with_npq(backend).await else {
        return;
    };
    use app::domain::support::{TaskKind as K, TaskStatus as S};
    let base = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let service_of = |i: usize| match i % 4 {
        0 => Some("npq".to_string()),
        1 => Some("aytq".to_string()),
        _ => None,
    };
    let tasks: Vec<server::db::support::GeneratedTask> = (0..120)
        .map(|i| server::db::support::GeneratedTask {
            reference: format!("TRS-{:06}", 600_000 + i),
            kind: if i % 3 == 0 {
                K::IdentityVerification
            } else {
                K::RecordMatching
            },
            status: [S::Open, S::InProgress, S::Done][(i / 4) % 3],
            name: format!("Person {}", (i * 7) % 120),
            email: format!("person{i}@example.com"),
            trn: None,
            assignee_id: None,
            created_at: base + chrono::Duration::hours(((i * 11) % 120) as i64),
            client_id: service_of(i),
        })
        .collect();
    rp.state.store.insert_generated_tasks(&tasks).await.unwrap();
    let wanted = |filter: &ServiceFilter, status: &str| -> usize {
        tasks
            .iter()
            .filter(|t| match filter {
                ServiceFilter::Any => true,
                ServiceFilter::Direct => t.client_id.is_none(),
                ServiceFilter::Service(id) => t.client_id.as_deref() == Some(id),
            })
            .filter(|t| status == "all" || t.status != S::Done)
            .count()
    };
    for service in ["npq", "~direct"] {
        for status in ["all", "active"] {
            for sort in ["requested", "name", "type", "status"] {
                for direction in ["asc", "desc"] {
                    let map: std::collections::HashMap<&str, &str> = [
                        ("service", service),
                        ("status", status),
                        ("sort", sort),
                        ("direction", direction),
                    ]
                    .into_iter()
                    .collect();
                    let query = TaskQuery::from_params(|k| map.get(k).map(|v| v.to_string())).0;
                    let first = rp.state.store.list_tasks(&query, 1).await.unwrap();
                    let expected = wanted(&query.service, status);
                    assert_eq!(
                        first.total as usize, expected,
                        "{service} {status} {sort} {direction}"
                    );
                    // Page 2 by its "next" link (a cursor) and by its number: the same tasks.
                    let by_link = query.link_to_page(
                        2,
                        first.tasks.first().map(|t| t.reference.as_str()),
                        first.tasks.last().map(|t| t.reference.as_str()),
                    );
                    let second = rp.state.store.list_tasks(&by_link, 1).await.unwrap();
                    let numbered = rp
                        .state
                        .store
                        .list_tasks(&query.with_page(2), 1)
                        .await
                        .unwrap();
                    let refs = |p: &app::domain::support::TaskPage| {
                        p.tasks
                            .iter()
                            .map(|t| t.reference.clone())
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(
                        refs(&second),
                        refs(&numbered),
                        "{service} {status} {sort} {direction}"
                    );
                    let listed: Vec<&app::domain::support::TaskSummary> =
                        first.tasks.iter().chain(&second.tasks).collect();
                    assert_eq!(listed.len(), expected.min(50));
                    for t in listed {
                        let stored = tasks.iter().find(|g| g.reference == t.reference).unwrap();
                        match service {
                            "npq" => {
                                assert_eq!(stored.client_id.as_deref(), Some("npq"));
                                assert_eq!(t.service.as_deref(), Some(NPQ_NAME));
                            }
                            _ => {
                                assert_eq!(stored.client_id, None);
                                assert_eq!(t.service, None);
                            }
                        }
                    }
                }
            }
        }
    }
    // A client no longer registered is shown by its id.
    let aytq = rp
        .state
        .store
        .list_tasks(
            &TaskQuery {
                service: ServiceFilter::Service("aytq".into()),
                ..TaskQuery::default()
            },
            1,
        )
        .await
        .unwrap();
    assert!(!aytq.tasks.is_empty());
    assert!(aytq
        .tasks
        .iter()
        .all(|t| t.service.as_deref() == Some("aytq")));
}

async fn an_unknown_or_tampered_service_filter_gets_the_whole_list_never_an_error(
    backend: Backend,
) {
    let Some(mut rp) = with_npq(backend).await else {
        return;
    };
    let (from_npq, direct) = one_from_npq_and_one_direct(&mut rp).await;
    as_staff(&mut rp, OFFICER).await;
    for tampered in [
        "not-registered",
        "%27%20OR%201%3D1%20--",
        "%3Cscript%3E",
        "%00",
        "npq%00",
        "~",
        "direct",
        "NPQ",
        &"a".repeat(5000),
        "npq&service=%7Edirect",
    ] {
        let page = rp
            .get(&format!("/support?status=all&service={tampered}"))
            .await;
        let shown: String = tampered.chars().take(40).collect();
        assert_eq!(page.status, 200, "{shown}");
        if tampered.starts_with("npq&") {
            // Repeated: the first is taken, as for every other filter.
            assert!(row_of(&page.body, &from_npq).is_some());
            continue;
        }
        assert!(
            row_of(&page.body, &from_npq).is_some(),
            "{shown}: the whole list"
        );
        assert!(
            row_of(&page.body, &direct).is_some(),
            "{shown}: the whole list"
        );
        assert!(
            page.body.contains(r#"<option value="" selected"#),
            "{shown}: All services"
        );
    }
}
