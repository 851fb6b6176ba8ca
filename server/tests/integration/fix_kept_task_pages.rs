//! Issue 16 §1: the console's task page is kept rendered and served again only while nothing it shows has changed
//! (`server/src/http/staff_pages.rs`, migration 0027). Acted out as the people involved, across two instances over
//! one database: officer A views a task on instance A, whose memory holds the pages it kept; officer B (an
//! administrator) assigns it and decides it through instance B, and records, staff and the teacher's connection
//! change through the storage the console and the loaders write with; A's next view on instance A shows each
//! change. Every view, kept or rendered, is audited, and a signed-out officer is never served a kept page.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{assert_redirect, seeded_with_sql, unmatched_teacher_asks_for_support, Sql};
use app::domain::records::RecordStatus;
use app::domain::support::{Decision, Role};
use axum::Router;
use server::db::support::NewEmail;
use server::db::Backend;
use std::collections::HashMap;

on_both_backends!(
    a_kept_task_page_shows_every_change_other_people_make_on_the_next_view,
    an_officer_s_own_banner_is_shown_once_and_a_signed_out_officer_is_never_served_a_kept_page,
);

const ADMIN: &str = "bea.kept@education.gov.uk";
const OFFICER: &str = "arlo.kept@education.gov.uk";

/// How many task pages this process has served from memory so far (the counter is the process's own, and the
/// integration tests run one at a time).
fn served_so_far() -> u64 {
    let text = server::metrics::install().render();
    text.lines()
        .find_map(|l| l.strip_prefix(r#"teacher_id_staff_pages_total{outcome="served"} "#))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// The page with every CSP nonce taken out: each response has its own (the console's pages also carry it in the
/// preload links' `crossorigin`).
fn without_nonces(res: &TestResponse) -> String {
    let mut page = res.body.clone();
    for attribute in ["nonce=\"", "crossorigin=\""] {
        let mut out = String::new();
        let mut rest = page.as_str();
        while let Some(at) = rest.find(attribute) {
            out.push_str(&rest[..at]);
            rest = &rest[at + attribute.len()..];
            rest = &rest[rest.find('"').expect("a closing quote") + 1..];
        }
        out.push_str(rest);
        page = out;
    }
    page
}

/// A browser: which instance it talks to and its cookies.
#[derive(Clone)]
struct Browser {
    router: Router,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn of(rp: &Rp) -> Self {
        Self {
            router: rp.router.clone(),
            cookies: rp.cookies.clone(),
        }
    }

    /// Makes `rp` this browser.
    fn enter(self, rp: &mut Rp) {
        rp.router = self.router;
        rp.cookies = self.cookies;
    }
}

/// Signs `email` in to the console in a browser of their own on `rp`'s current instance.
async fn signed_in_browser(rp: &mut Rp, email: &str) -> Browser {
    rp.cookies.clear();
    rp.get("/support").await;
    rp.staff_sign_in(email).await;
    Browser::of(rp)
}

/// `browser` views `path`: the page, and whether it came from memory.
async fn view(rp: &mut Rp, browser: &mut Browser, path: &str) -> (TestResponse, bool) {
    browser.clone().enter(rp);
    let served = served_so_far();
    let page = rp.get(path).await;
    *browser = Browser::of(rp);
    (page, served_so_far() == served + 1)
}

/// A renders the page afresh (after a change), then is served it from memory on the next view: the page.
async fn rendered_then_kept(rp: &mut Rp, a: &mut Browser, path: &str, what: &str) -> TestResponse {
    let (page, from_memory) = view(rp, a, path).await;
    assert_eq!(page.status, 200, "{what}");
    assert!(!from_memory, "{what}: the kept page is not served again");
    let (again, from_memory) = view(rp, a, path).await;
    assert!(from_memory, "{what}: kept once rendered");
    assert_eq!(without_nonces(&page), without_nonces(&again), "{what}");
    assert_ne!(page.body, again.body, "each response has its own nonce");
    page
}

/// The name the page shows as the task's assignee.
fn assignee(page: &TestResponse) -> String {
    let at = page
        .body
        .find(r#"data-testid="assignee""#)
        .expect("the assignee");
    let at = at + page.body[at..].find('>').unwrap() + 1;
    page.body[at..at + page.body[at..].find('<').unwrap()]
        .trim()
        .to_string()
}

/// Entries for views of task `reference` by member `staff_id`.
async fn views_audited(sql: &Sql, reference: &str, staff_id: i64) -> i64 {
    let query = "SELECT COUNT(*) FROM audit_log \
                 WHERE action = 'viewed_task' AND task_reference = $1 AND staff_id = $2";
    match sql {
        Sql::Sqlite(pool) => {
            sqlx::query_scalar(query)
                .bind(reference)
                .bind(staff_id)
                .fetch_one(pool)
                .await
        }
        Sql::Postgres(pool) => {
            sqlx::query_scalar(query)
                .bind(reference)
                .bind(staff_id)
                .fetch_one(pool)
                .await
        }
    }
    .unwrap()
}

fn email(reference: &str, template: &str) -> NewEmail {
    NewEmail {
        reference: format!("kept-task-{template}"),
        template: template.into(),
        email_address: "imogen@example.com".into(),
        personalisation: Default::default(),
        task_reference: Some(reference.to_string()),
    }
}

async fn a_kept_task_page_shows_every_change_other_people_make_on_the_next_view(backend: Backend) {
    let Some((mut rp, sql)) = seeded_with_sql(
        backend,
        "kept task pages",
        (ADMIN, "Bea Kept", Role::Administrator),
    )
    .await
    else {
        return;
    };
    server::metrics::install();
    let store = rp.state.store.clone();
    let now = chrono::Utc::now();
    store
        .add_staff(OFFICER, "Arlo Kept", Role::SupportOfficer, now)
        .await
        .unwrap();
    let reference = unmatched_teacher_asks_for_support(&mut rp).await;
    let path = format!("/support/tasks/{reference}");
    let user_id = crate::util::stored_task(&store, &reference)
        .await
        .user_id
        .expect("a teacher's task");

    // Officer A, on instance A, and officer B (an administrator), on instance B: each signed in in their own browser.
    let mut a = signed_in_browser(&mut rp, OFFICER).await;
    rp.new_instance();
    let b = signed_in_browser(&mut rp, ADMIN).await;
    let officer_a = crate::util::staff_member(&store, OFFICER).await;
    let admin_b = crate::util::staff_member(&store, ADMIN).await;
    let mut views_by_a = 0;

    let first = rendered_then_kept(&mut rp, &mut a, &path, "first view").await;
    views_by_a += 2;
    assert_eq!(assignee(&first), "Nobody");

    // B assigns the task to themself, through instance B.
    b.enter(&mut rp);
    let assigned =
        crate::util::post_task_form(&mut rp, &path, "/assign", &[("assignee", "me")]).await;
    assert_eq!(
        assigned.status,
        303,
        "{}",
        &assigned.body[..assigned.body.len().min(300)]
    );
    let page = rendered_then_kept(&mut rp, &mut a, &path, "assigned by B").await;
    views_by_a += 2;
    assert_eq!(assignee(&page), "Bea Kept");

    // A record with the teacher's name and date of birth is loaded: a new candidate.
    let candidate = crate::util::record(
        "9900271",
        ("Imogen", "Ashdown-Vale"),
        chrono::NaiveDate::from_ymd_opt(1991, 3, 7).unwrap(),
        None,
        RecordStatus::Active,
    );
    assert!(!page.body.contains("9900271"));
    store
        .insert_records(std::slice::from_ref(&candidate), chrono::Utc::now())
        .await
        .unwrap();
    let page = rendered_then_kept(&mut rp, &mut a, &path, "a record added").await;
    views_by_a += 2;
    assert!(
        page.body.contains("9900271"),
        "the new candidate is suggested"
    );

    // The record changes.
    sql.run("UPDATE persons SET middle_name = 'Quillon' WHERE trn = '9900271'")
        .await;
    let page = rendered_then_kept(&mut rp, &mut a, &path, "a record changed").await;
    views_by_a += 2;
    assert!(page.body.contains("Quillon"), "the candidate as it is now");

    // A member of staff is added: someone the task can be assigned to.
    store
        .add_staff(
            "nia.new@education.gov.uk",
            "Nia Newcomer",
            Role::SupportOfficer,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert!(!page.body.contains("Nia Newcomer"));
    let page = rendered_then_kept(&mut rp, &mut a, &path, "a member of staff added").await;
    views_by_a += 2;
    assert!(page.body.contains("Nia Newcomer"), "in the assignee list");

    // B decides: the teacher is connected to the new record.
    let task = crate::util::stored_task(&store, &reference).await;
    store
        .decide_task(
            &reference,
            task.version,
            &Decision::Connect {
                trn: "9900271".into(),
            },
            &admin_b,
            &email(&reference, "connected"),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    let page = rendered_then_kept(&mut rp, &mut a, &path, "decided by B").await;
    views_by_a += 2;
    assert!(
        page.body.contains("to the record with TRN 9900271"),
        "the decision"
    );

    // The teacher's connection is undone by B: A sees the record's history move on.
    let before = without_nonces(&page);
    store
        .disconnect(
            user_id,
            "9900271",
            "Connected to the wrong record",
            &reference,
            &admin_b,
            &email(&reference, "disconnected"),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    let page = rendered_then_kept(&mut rp, &mut a, &path, "disconnected by B").await;
    views_by_a += 2;
    assert_ne!(
        without_nonces(&page),
        before,
        "the page shows the disconnection"
    );
    assert!(
        page.body.contains("Connected to the wrong record"),
        "in the record's history"
    );

    // Every view by A, from memory or not, was audited.
    assert_eq!(
        views_audited(&sql, &reference, officer_a.id).await,
        views_by_a
    );
}

async fn an_officer_s_own_banner_is_shown_once_and_a_signed_out_officer_is_never_served_a_kept_page(
    backend: Backend,
) {
    let Some((mut rp, sql)) = seeded_with_sql(
        backend,
        "kept task pages and sign-out",
        (ADMIN, "Bea Kept", Role::Administrator),
    )
    .await
    else {
        return;
    };
    server::metrics::install();
    let store = rp.state.store.clone();
    store
        .add_staff(
            OFFICER,
            "Arlo Kept",
            Role::SupportOfficer,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let reference = unmatched_teacher_asks_for_support(&mut rp).await;
    let path = format!("/support/tasks/{reference}");
    let mut a = signed_in_browser(&mut rp, OFFICER).await;
    let officer_a = crate::util::staff_member(&store, OFFICER).await;
    rendered_then_kept(&mut rp, &mut a, &path, "first view").await;

    // A assigns the task to themself: the banner is shown once, on a page rendered for it and never kept.
    a.clone().enter(&mut rp);
    let assigned =
        crate::util::post_task_form(&mut rp, &path, "/assign", &[("assignee", "me")]).await;
    assert_eq!(assigned.status, 303);
    a = Browser::of(&rp);
    let (with_banner, from_memory) = view(&mut rp, &mut a, &path).await;
    assert!(!from_memory);
    assert!(
        with_banner.body.contains("govuk-notification-banner"),
        "the banner"
    );
    let page = rendered_then_kept(&mut rp, &mut a, &path, "after the banner").await;
    assert!(
        !page.body.contains("govuk-notification-banner"),
        "shown once"
    );
    assert_eq!(assignee(&page), "Arlo Kept");

    // A signs out in another tab, on instance B; the first tab, on instance A, reloads the task.
    let instance_a = a.router.clone();
    rp.new_instance();
    rp.cookies = a.cookies.clone();
    rp.post("/support/sign-out", &[]).await;
    a.router = instance_a;
    let (page, from_memory) = view(&mut rp, &mut a, &path).await;
    assert!(!from_memory, "nothing served as kept after sign-out");
    assert_redirect(&page, "/support/sign-in");
    assert!(!page.body.contains(&reference));

    // Views audited: the two first, the one with the banner, and the two after it (the post's own reading of the
    // page for its version is a view too); none after the sign-out.
    assert_eq!(views_audited(&sql, &reference, officer_a.id).await, 6);
}
