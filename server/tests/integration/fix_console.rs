//! The support console made right (issue 10, §5 and §6): deactivated records are never connected, an
//! administrator always remains, staff are bound to their identity provider's stable ids, server functions answer
//! bad arguments with 400, the search finds references by their digits and emails by their domain, suggestions
//! without a verified date of birth, undoing a connection, and references from a counter.

use crate::console::{
    as_staff, assert_redirect, console, raise_identity_task, raise_record_matching_task, staff_id,
    version_in, ADMIN, OFFICER,
};
use app::domain::records::{RecordStatus, TeachingRecord};
use app::domain::support::{task_href, Decision, Role, TaskQuery};
use onelogin_standin::{StaffMember, STANDIN_TENANT_ID};
use server::db::support::{NewEmail, RoleChange, TaskChangeRefused};
use server::db::Backend;

on_both_backends!(
    a_deactivated_record_is_never_connected,
    the_last_administrator_stays_even_when_two_remove_each_other_at_once,
    staff_are_bound_to_their_tenant_and_object_ids_and_claim_roles_only_with_a_verified_email,
    server_function_argument_errors_are_400_without_serdes_words,
    the_search_finds_references_by_digits_and_emails_by_domain_and_a_late_page_is_the_last,
    suggested_records_are_found_without_a_verified_date_of_birth_and_marked,
    an_administrator_can_undo_a_connection_and_the_teacher_starts_again,
    references_come_from_a_counter_and_skip_ones_taken_before,
    a_teacher_without_a_verified_email_is_not_emailed_at_an_empty_address,
);

fn record(trn: &str, first: &str, last: &str, status: RecordStatus) -> TeachingRecord {
    TeachingRecord {
        trn: trn.into(),
        first_name: first.into(),
        middle_name: None,
        last_name: last.into(),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1970, 6, 1).unwrap(),
        nino: None,
        email: None,
        status,
        previous_names: vec![],
        qualifications: vec![],
    }
}

async fn a_deactivated_record_is_never_connected(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let gone = record("9100001", "Dee", "Activated", RecordStatus::Deactivated);
    rp.state
        .store
        .insert_records(std::slice::from_ref(&gone), chrono::Utc::now())
        .await
        .unwrap();
    let reference = raise_record_matching_task(&mut rp).await;
    let task_path = task_href(&reference);
    as_staff(&mut rp, OFFICER).await;
    let version = version_in(&rp.get(&task_path).await.body);
    // "Another record (enter its TRN)" with a deactivated record's TRN: a GOV.UK error, no check page.
    assert_redirect(
        &rp.post(
            &format!("{task_path}/decision"),
            &[
                ("version", &version),
                ("action", "continue"),
                ("outcome", "connect"),
                ("trn", "other"),
                ("other_trn", &gone.trn),
            ],
        )
        .await,
        &format!("{task_path}#decision"),
    );
    let page = rp.get(&task_path).await;
    assert!(page.body.contains("There is a problem"));
    assert!(
        page.body.contains(
            "The record with TRN 9100001 is deactivated. You cannot connect a deactivated record"
        ),
        "the handler refuses it"
    );
    // And storage refuses it too, whatever reaches it: nothing decided, nothing connected, nothing emailed.
    let task = crate::util::stored_task(&rp.state.store, &reference).await;
    let officer = rp
        .state
        .store
        .staff_by_id(staff_id(&rp, OFFICER).await)
        .await
        .unwrap()
        .unwrap();
    let email = NewEmail {
        reference: "deactivated-1".into(),
        template: "connected".into(),
        email_address: "t@example.com".into(),
        personalisation: Default::default(),
        task_reference: Some(reference.clone()),
    };
    let refused = rp
        .state
        .store
        .decide_task(
            &reference,
            task.version,
            &Decision::Connect {
                trn: gone.trn.clone(),
            },
            &officer,
            &email,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(refused, Err(TaskChangeRefused::RecordDeactivated));
    let after = crate::util::stored_task(&rp.state.store, &reference).await;
    assert!(after.decision.is_none(), "the task is still open");
    assert_eq!(after.version, task.version);
    assert_eq!(after.user_id, task.user_id);
    assert!(rp
        .state
        .store
        .connected_record(task.user_id.unwrap())
        .await
        .unwrap()
        .is_none());
    assert!(rp.state.store.recent_emails(10).await.unwrap().is_empty());
}

async fn the_last_administrator_stays_even_when_two_remove_each_other_at_once(backend: Backend) {
    let Some(rp) = console(backend).await else {
        return;
    };
    let store = rp.state.store.clone();
    let now = chrono::Utc::now();
    let ada = staff_id(&rp, ADMIN).await;
    // The only administrator: removing them is refused inside storage, whoever asks.
    assert_eq!(
        store.set_role(ada, None).await.unwrap(),
        RoleChange::LastAdministrator
    );
    assert_eq!(
        store.set_role(ada, Some(Role::Viewer)).await.unwrap(),
        RoleChange::LastAdministrator
    );
    assert_eq!(
        store.staff_by_id(ada).await.unwrap().unwrap().role,
        Some(Role::Administrator)
    );
    assert_eq!(
        store.set_role(999_999, None).await.unwrap(),
        RoleChange::NoSuchMember
    );
    // Two administrators removing each other at the same moment, several times over: one always remains.
    let bo = store
        .add_staff(
            "bo.second@education.gov.uk",
            "Bo Second",
            Role::Administrator,
            now,
        )
        .await
        .unwrap()
        .id;
    for round in 0..5 {
        for id in [ada, bo] {
            store.set_role(id, Some(Role::Administrator)).await.unwrap();
        }
        let (a, b) = tokio::join!(
            store.set_role(ada, None),
            store.set_role(bo, Some(Role::Viewer))
        );
        let outcomes = [a.unwrap(), b.unwrap()];
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == RoleChange::Changed)
                .count(),
            1,
            "round {round}: {outcomes:?}"
        );
        assert!(outcomes.contains(&RoleChange::LastAdministrator));
        let admins = store
            .list_staff()
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.role == Some(Role::Administrator))
            .count();
        assert_eq!(admins, 1, "round {round}");
    }
}

/// Whether the role set up in advance is still waiting for its member's first sign-in.
async fn unclaimed(store: &server::db::DynStore, id: i64) -> bool {
    let row = store.staff_by_id(id).await.unwrap().unwrap();
    row.last_signed_in_at.is_none() && row.role == Some(Role::SupportOfficer)
}

fn member(sub: &str, email: &str, oid: &str, tid: &str, email_verified: bool) -> StaffMember {
    StaffMember {
        sub: sub.into(),
        name: "Nia Preset".into(),
        email: email.into(),
        oid: oid.into(),
        tid: tid.into(),
        email_verified,
    }
}

async fn staff_are_bound_to_their_tenant_and_object_ids_and_claim_roles_only_with_a_verified_email(
    backend: Backend,
) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    const PRESET: &str = "nia.preset@education.gov.uk";
    let store = rp.state.store.clone();
    let preset = store
        .add_staff(
            PRESET,
            "Nia Preset",
            Role::SupportOfficer,
            chrono::Utc::now(),
        )
        .await
        .unwrap();

    // An email claim the provider does not vouch for claims nothing: a new member with no role.
    rp.cookies.clear();
    assert_redirect(
        &rp.staff_sign_in_as(member(
            "sub-u",
            PRESET,
            "oid-unverified",
            STANDIN_TENANT_ID,
            false,
        ))
        .await,
        "/support",
    );
    assert_eq!(rp.get("/support").await.status, 403, "no role");
    assert!(
        unclaimed(&store, preset.id).await,
        "an unverified email claims nothing"
    );
    assert!(
        store
            .list_staff()
            .await
            .unwrap()
            .iter()
            .filter(|s| s.email == PRESET)
            .count()
            == 1,
        "the newcomer does not take the email either"
    );

    // A verified email from another tenant: refused at sign-in.
    rp.cookies.clear();
    assert_redirect(
        &rp.staff_sign_in_as(member("sub-w", PRESET, "oid-wrong", "another-tenant", true))
            .await,
        "/support/sign-in/problem",
    );
    assert_ne!(rp.get("/support").await.status, 200);
    assert!(
        unclaimed(&store, preset.id).await,
        "another tenant claims nothing"
    );

    // A verified email from our tenant claims the role, and binds the member to the ids.
    rp.cookies.clear();
    assert_redirect(
        &rp.staff_sign_in_as(member("sub-1", PRESET, "oid-nia", STANDIN_TENANT_ID, true))
            .await,
        "/support",
    );
    assert_eq!(rp.get("/support").await.status, 200, "a support officer");
    assert!(!unclaimed(&store, preset.id).await);

    // The same person later, with a changed email (and another `sub`): the same member, with the role.
    rp.cookies.clear();
    const RENAMED: &str = "nia.renamed@education.gov.uk";
    assert_redirect(
        &rp.staff_sign_in_as(member("sub-2", RENAMED, "oid-nia", STANDIN_TENANT_ID, true))
            .await,
        "/support",
    );
    assert_eq!(rp.get("/support").await.status, 200);
    let nia = store.staff_by_id(preset.id).await.unwrap().unwrap();
    assert_eq!(nia.email, RENAMED, "a verified email follows");
    assert_eq!(nia.role, Some(Role::SupportOfficer));
    // An unverified change keeps the binding and the role, but not the email.
    rp.cookies.clear();
    rp.staff_sign_in_as(member(
        "sub-3",
        "someone.else@example.com",
        "oid-nia",
        STANDIN_TENANT_ID,
        false,
    ))
    .await;
    assert_eq!(rp.get("/support").await.status, 200);
    assert_eq!(
        store.staff_by_id(preset.id).await.unwrap().unwrap().email,
        RENAMED
    );
    // Someone else now claiming the old email gets nothing: the preset is bound already.
    rp.cookies.clear();
    rp.staff_sign_in_as(member(
        "sub-4",
        PRESET,
        "oid-other",
        STANDIN_TENANT_ID,
        true,
    ))
    .await;
    assert_eq!(rp.get("/support").await.status, 403);
}

async fn server_function_argument_errors_are_400_without_serdes_words(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    use app::server_fns::console::{LoadAudit, LoadTask};
    use leptos::server_fn::ServerFn;
    as_staff(&mut rp, ADMIN).await;
    for path in [
        LoadTask::PATH.to_string(),
        format!("{}?before=abc", LoadAudit::PATH),
    ] {
        let res = rp.fetch(&path).await;
        assert_eq!(res.status, 400, "{path}: {}", res.body);
        assert!(
            !res.body.contains("missing field") && !res.body.contains("invalid digit"),
            "{path}: {}",
            res.body
        );
    }
    // Good arguments still work.
    assert_eq!(rp.fetch(LoadAudit::PATH).await.status, 200);
}

async fn the_search_finds_references_by_digits_and_emails_by_domain_and_a_late_page_is_the_last(
    backend: Backend,
) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    use app::domain::support::{TaskKind as K, TaskStatus as S};
    let base = chrono::Utc::now() - chrono::Duration::days(1);
    let tasks: Vec<server::db::support::GeneratedTask> = (0..30)
        .map(|i| server::db::support::GeneratedTask {
            reference: if i == 29 {
                "TRS-1000001".to_string()
            } else {
                format!("TRS-{:06}", 700_000 + i)
            },
            kind: K::RecordMatching,
            status: S::Open,
            name: format!("Person {i}"),
            email: if i % 3 == 0 {
                format!("p{i}@Schools.Example.org")
            } else {
                format!("p{i}@education.gov.uk")
            },
            trn: None,
            assignee_id: None,
            created_at: base + chrono::Duration::minutes(i),
            client_id: None,
        })
        .collect();
    rp.state.store.insert_generated_tasks(&tasks).await.unwrap();
    let total = |search: &str| {
        let store = rp.state.store.clone();
        let map: std::collections::HashMap<String, String> =
            [("search".to_string(), search.to_string())]
                .into_iter()
                .collect();
        let q = TaskQuery::from_params(|k| map.get(k).cloned()).0;
        async move { store.list_tasks(&q, 1).await.unwrap().total }
    };
    assert_eq!(total("700007").await, 1, "a reference by its digits");
    assert_eq!(total("trs 700007").await, 1);
    assert_eq!(
        total("1000001").await,
        1,
        "a seven-digit reference by its digits"
    );
    assert_eq!(
        total("@schools").await,
        10,
        "an email by the start of its domain"
    );
    assert_eq!(total("schools.example.org").await, 10);
    assert_eq!(total("education.gov.uk").await, 20);
    assert_eq!(total("@nowhere").await, 0);
    assert_eq!(
        total("%_'").await,
        0,
        "punctuation alone finds nothing, and is no error"
    );
    // Over HTTP: the dashboard finds it too.
    as_staff(&mut rp, OFFICER).await;
    let found = rp.get("/support?search=700007").await;
    assert!(found.body.contains("TRS-700007"));
    // Page 9 of a 2-page list shows page 2, not an empty table.
    let late = rp.get("/support?page=9").await;
    assert_eq!(late.status, 200);
    assert!(
        late.body.contains("TRS-1000001"),
        "the last page's last task"
    );
    assert!(!late.body.contains("TRS-700000"), "not the first page");
    // A filter form sent without JavaScript (every field, most empty): to the URL without them.
    let empty = rp
        .get("/support?type=&status=active&assignee=anyone&from=&to=&search=700007&sort=requested&direction=asc")
        .await;
    assert!((300..400).contains(&empty.status), "{}", empty.status);
    assert_eq!(empty.header("location"), "/support?search=700007");
    let clean = rp.get("/support?search=700007").await;
    assert_eq!(clean.status, 200);
    assert!(clean.body.contains("TRS-700007"));
}

async fn suggested_records_are_found_without_a_verified_date_of_birth_and_marked(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    // Records whose date of birth differs from what the teacher entered: one shares the NINO, one the email.
    let mut by_nino = record("9200001", "Rhian", "Nino", RecordStatus::Active);
    by_nino.nino = Some("JK123456C".into());
    let mut by_email = record("9200002", "Rhys", "Email", RecordStatus::Active);
    by_email.email = Some("suggest@example.com".into());
    let unrelated = record("9200003", "Una", "Related", RecordStatus::Active);
    rp.state
        .store
        .insert_records(&[by_nino, by_email, unrelated], chrono::Utc::now())
        .await
        .unwrap();
    let reference = raise_identity_task(&rp, "suggest").await;
    // The identity task's teacher entered the NINO (its fixture has none): store it in the task's details.
    let task = crate::util::stored_task(&rp.state.store, &reference).await;
    let mut details = task.details.clone();
    let server::db::connect::TaskDetails::IdentityVerification(entered) = &mut details else {
        panic!("an identity task: {details:?}");
    };
    entered.entered.nino = Some("JK 12 34 56 C".into());
    entered.entered.trn = None;
    let suggested = server::console::suggestions(&rp.state.store, &details, task.user_id.unwrap())
        .await
        .unwrap();
    let trns: Vec<&str> = suggested.iter().map(|s| s.trn.as_str()).collect();
    assert!(trns.contains(&"9200001"), "{trns:?}");
    assert!(trns.contains(&"9200002"), "by email: {trns:?}");
    assert!(!trns.contains(&"9200003"), "{trns:?}");
    let nino = suggested.iter().find(|s| s.trn == "9200001").unwrap();
    assert_eq!(
        nino.found_by.as_deref(),
        Some("Found by National Insurance number alone, not by name and a verified date of birth")
    );
    let email = suggested.iter().find(|s| s.trn == "9200002").unwrap();
    assert!(email.found_by.as_deref().unwrap().contains("email address"));

    // The task page shows them, marked.
    as_staff(&mut rp, OFFICER).await;
    let page = rp.get(&task_href(&reference)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-testid=\"suggested-record\""));
    assert!(
        page.body.contains("9200002"),
        "found by the email of the task"
    );
    assert!(page.body.contains("data-testid=\"found-by\""));
    assert!(!page.body.contains("9200003"));
}

async fn an_administrator_can_undo_a_connection_and_the_teacher_starts_again(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let reference = raise_record_matching_task(&mut rp).await;
    let trn = rp.standin.persona("exact-match").unwrap().trn_hint.unwrap();
    let task_path = task_href(&reference);
    // An officer connects the teacher to a record.
    as_staff(&mut rp, OFFICER).await;
    let version = version_in(&rp.get(&task_path).await.body);
    rp.post(
        &format!("{task_path}/decision"),
        &[
            ("version", &version),
            ("action", "continue"),
            ("outcome", "connect"),
            ("trn", "other"),
            ("other_trn", &trn),
        ],
    )
    .await;
    rp.post(&format!("{task_path}/confirm"), &[]).await;
    let user_id = crate::util::stored_task(&rp.state.store, &reference)
        .await
        .user_id
        .unwrap();
    assert_eq!(
        rp.state
            .store
            .connected_record(user_id)
            .await
            .unwrap()
            .unwrap()
            .trn,
        trn
    );
    // Officers cannot undo it, and do not see the form.
    let page = rp.get(&task_path).await;
    assert!(!page.body.contains("Disconnect the record"));
    let refused = rp
        .post(
            &format!("{task_path}/disconnect"),
            &[
                ("action", "confirm"),
                ("disconnect_reason", "x"),
                ("trn", &trn),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);

    // An administrator: a reason is required, then a check step, then the confirmation.
    as_staff(&mut rp, ADMIN).await;
    let page = rp.get(&task_path).await;
    assert!(page.body.contains("Disconnect the record"));
    assert_redirect(
        &rp.post(
            &format!("{task_path}/disconnect"),
            &[("action", "continue"), ("disconnect_reason", "  ")],
        )
        .await,
        &format!("{task_path}#disconnect"),
    );
    let page = rp.get(&task_path).await;
    assert!(page.body.contains("There is a problem"));
    assert!(page.body.contains("Enter the reason"));
    const REASON: &str = "The names match but the teacher says this is not their record";
    rp.post(
        &format!("{task_path}/disconnect"),
        &[("action", "continue"), ("disconnect_reason", REASON)],
    )
    .await;
    let check = rp.get(&task_path).await;
    assert!(check
        .body
        .contains("Check before you disconnect the record"));
    assert!(check.body.contains(&format!("TRN {trn}")));
    assert!(
        rp.state
            .store
            .connected_record(user_id)
            .await
            .unwrap()
            .is_some(),
        "nothing changes before the confirmation"
    );
    assert_redirect(
        &rp.post(
            &format!("{task_path}/disconnect"),
            &[
                ("action", "confirm"),
                ("disconnect_reason", REASON),
                ("trn", &trn),
            ],
        )
        .await,
        &task_path,
    );
    let after = rp.get(&task_path).await;
    assert!(after.body.contains("is no longer connected"), "banner");
    assert!(
        after.body.contains("disconnected by Ada Adeyemi"),
        "history line"
    );
    assert!(rp
        .state
        .store
        .connected_record(user_id)
        .await
        .unwrap()
        .is_none());
    // History, email and audit.
    let history = rp.state.store.record_history(&trn).await.unwrap();
    let event = history.last().unwrap();
    assert_eq!(event.kind, "one_login_disconnected");
    let details = event.details.as_ref().expect("a disconnection's details");
    assert_eq!(details.reason.as_deref(), Some(REASON));
    let by = details.support.as_ref().expect("who in support");
    assert_eq!(by.decided_by, "Ada Adeyemi");
    assert_eq!(by.task_reference, reference);
    let emails = rp.state.store.recent_emails(10).await.unwrap();
    assert_eq!(emails[0].email.template, "disconnected");
    assert_eq!(emails[0].email.personalisation["reason"], REASON);
    let audit = rp.state.store.audit_log(None, 50).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "disconnected" && a.task_reference.as_deref() == Some(&reference)));
    // Confirming again finds nothing to undo.
    rp.post(
        &format!("{task_path}/disconnect"),
        &[
            ("action", "confirm"),
            ("disconnect_reason", REASON),
            ("trn", &trn),
        ],
    )
    .await;
    assert!(rp
        .get(&task_path)
        .await
        .body
        .contains("The teacher is not connected to a record any more"));
    assert_eq!(rp.state.store.recent_emails(10).await.unwrap().len(), 2);

    // The teacher no longer sees the record: they go through the journey again, which never makes the same
    // connection by itself (support can).
    rp.cookies.remove("tid_session");
    rp.sign_in("no-match").await;
    let next = rp.get("/continue").await;
    assert_ne!(next.header("location"), "/record");
    assert!(
        (300..400).contains(&next.status),
        "the journey: {} {}",
        next.status,
        next.header("location")
    );
    assert_eq!(
        rp.state
            .store
            .connect_user(
                user_id,
                &trn,
                app::domain::matching::MatchedVia::Automatic,
                "",
                chrono::Utc::now()
            )
            .await
            .unwrap(),
        server::db::connect::ConnectResult::RecordTaken
    );
}

async fn references_come_from_a_counter_and_skip_ones_taken_before(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    use app::domain::journey::support_reference;
    // A reference drawn at random before the counter existed, equal to the counter's first.
    let old = server::db::support::GeneratedTask {
        reference: support_reference(0),
        kind: app::domain::support::TaskKind::RecordMatching,
        status: app::domain::support::TaskStatus::Done,
        name: "Old Task".into(),
        email: "old@example.com".into(),
        trn: None,
        assignee_id: None,
        created_at: chrono::Utc::now(),
        client_id: None,
    };
    rp.state.store.insert_generated_tasks(&[old]).await.unwrap();
    let first = raise_record_matching_task(&mut rp).await;
    assert_eq!(first, support_reference(1), "the taken one is skipped");
    let second = raise_identity_task(&rp, "counter").await;
    assert_eq!(second, support_reference(2));
    assert!(second.len() == 10 && second.starts_with("TRS-"));
}

/// One Login did not verify this teacher's email, so we hold none for them: a decision on their request queues no
/// email (an empty address would only fail at Notify), and the decision itself still goes through.
async fn a_teacher_without_a_verified_email_is_not_emailed_at_an_empty_address(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    rp.verify(
        "unverified-email",
        onelogin_standin::Outcome::IdentityVerified,
        vec![],
    )
    .await;
    rp.get("/continue").await;
    let reference = crate::util::answer_no_and_ask_for_support(&mut rp).await;
    let task_path = task_href(&reference);

    as_staff(&mut rp, OFFICER).await;
    crate::util::post_task_form(
        &mut rp,
        &task_path,
        "/decision",
        &[
            ("action", "continue"),
            ("outcome", "do_not_connect"),
            ("reason", "no_matching_record"),
        ],
    )
    .await;
    rp.post(&format!("{task_path}/confirm"), &[]).await;
    let task = crate::util::stored_task(&rp.state.store, &reference).await;
    assert_eq!(
        task.status,
        app::domain::support::TaskStatus::Done,
        "the decision went through"
    );
    let emails = rp.state.store.recent_emails(10).await.unwrap();
    assert!(
        emails
            .iter()
            .all(|e| !e.email.email_address.trim().is_empty()),
        "no email to an empty address"
    );
}
