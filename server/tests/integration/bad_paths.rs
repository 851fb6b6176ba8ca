//! A control character in a URL's path (a NUL, a bell, an escape, percent-encoded) is refused at the edge with the
//! GOV.UK "page not found" page: no path of ours has one, and PostgreSQL cannot even be asked about a text holding
//! a NUL, so a lookup with it answered 503 before. (The API's paths are its handlers' to refuse, in JSON: see
//! `provider_bad_input`.)

use crate::util::{assert_redirect, seeded_with_sql, unmatched_teacher_asks_for_support};
use app::domain::support::Role;
use server::db::Backend;

on_both_backends!(a_control_character_in_a_path_is_not_found_never_a_5xx);

const ADMIN: &str = "admin.paths@education.gov.uk";

async fn a_control_character_in_a_path_is_not_found_never_a_5xx(backend: Backend) {
    let Some((mut rp, _sql)) =
        seeded_with_sql(backend, "bad paths", (ADMIN, ADMIN, Role::Administrator)).await
    else {
        return;
    };
    let reference = unmatched_teacher_asks_for_support(&mut rp).await;
    assert_redirect(&rp.staff_sign_in(ADMIN).await, "/support");
    let task = format!("/support/tasks/{reference}");
    assert_eq!(rp.get(&task).await.status, 200, "the task itself is there");
    for bad in ["%00", "%07", "%1B", "%7F", "%C2%85"] {
        for path in [
            format!("{task}{bad}"),
            format!("/support/tasks/TRS-{bad}1"),
            format!("{task}{bad}/proof"),
            format!("/support/services/npq{bad}"),
            format!("/record{bad}"),
        ] {
            let page = rp.get(&path).await;
            assert_eq!(page.status, 404, "GET {path}");
            assert!(
                page.body.contains("Page not found"),
                "GET {path}: the GOV.UK page"
            );
        }
        for path in [
            format!("{task}{bad}/assign"),
            format!("{task}{bad}/decision"),
            format!("/support/services/npq{bad}/enabled"),
        ] {
            let res = rp
                .post(&path, &[("version", "1"), ("enabled", "false")])
                .await;
            assert_eq!(res.status, 404, "POST {path}");
        }
    }
    // The task is as it was.
    let stored = crate::util::stored_task(&rp.state.store, &reference).await;
    assert_eq!(stored.status, app::domain::support::TaskStatus::Open);
}
