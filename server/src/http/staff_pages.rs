//! The support console's task page, kept rendered and served again while nothing it shows has changed (issue 16
//! §1), as teachers' pages are ([`super::personal_pages`]).
//!
//! Rendering a task page runs the candidate search, reads the staff list, the teacher's connection and the
//! record's history: about ten times what serving it from memory costs. An officer goes back to a task, reloads it
//! and moves between it and the dashboard. So each task page rendered for a staff session is kept with what it was
//! rendered from, and served again only while all of it is unchanged:
//!
//! - the staff session's data, compared byte for byte with the row the session's own query just read (a flash, a
//!   decision waiting on the check page and the list "Back to tasks" goes to are all in it);
//! - the versions of everything the page reads of the database ([`crate::db::task_pages`]), read in one statement
//!   shared by the requests waiting at that moment, beside the sessions' own lookup (so a kept view waits for two
//!   database steps, not three) and *before* the page's facts: a page kept from facts newer than
//!   its versions is only ever thrown away early, never served stale. The staff list is among them, so an officer
//!   whose role was taken away is never served a kept page: the page is rendered, and refused;
//! - the CSRF token, and the path with its query.
//!
//! Every view is still audited: a kept page is sent only once its view's audit entry is committed (through the
//! audit log's group commit), as a rendered one is. The staff session is still read on every request, so an
//! officer who signed out in another tab is never served one. A page is kept only if rendering it changed
//! nothing (a banner or a form's errors shown once leave it unkept) and it is a plain 200 page.
//!
//! At most `PERSONAL_PAGES_KEPT` pages, and never more than [`KEPT_AT_MOST`], are held per instance; when that is
//! reached the oldest half is dropped.

use super::personal_pages::{PersonalPages, Visit};
use crate::db::DynStore;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};

/// Task pages kept per instance at most, whatever `PERSONAL_PAGES_KEPT` allows teachers: there are few officers,
/// and a task page (20 KB with its candidates) is larger than a teacher's.
pub const KEPT_AT_MOST: usize = 500;

/// The support console's kept task pages, and the store their versions and audit entries go to.
#[derive(Clone)]
pub struct StaffPages {
    pages: PersonalPages,
    store: DynStore,
}

/// The versions of a task page as read for one request, with the task's reference.
#[derive(Clone)]
pub struct TaskVersions {
    reference: String,
    numbers: Vec<i64>,
}

/// A task page this request may be served from the keep: the visit to match, and whose view to audit.
pub struct TaskVisit {
    visit: Visit,
    staff_id: i64,
    reference: String,
}

impl StaffPages {
    /// Holds at most `capacity` pages (never more than [`KEPT_AT_MOST`]); 0 keeps none.
    pub fn new(capacity: usize, store: DynStore) -> Self {
        Self {
            pages: PersonalPages::counted_as(
                capacity.min(KEPT_AT_MOST),
                crate::metrics::STAFF_PAGES,
            ),
            store,
        }
    }

    /// The versions of the task page a GET of `uri` shows, read now; `None` for anything else, and when they
    /// cannot be read (the page is then rendered as ever, and shows the problem). Read while the staff session is
    /// being read, so a kept view waits for one database step fewer: both come before the page's facts.
    pub async fn versions(&self, method: &Method, uri: &Uri) -> Option<TaskVersions> {
        let reference = task_reference(method, uri)?;
        match self.store.task_page_version(reference).await {
            Ok(versions) => Some(TaskVersions {
                reference: reference.to_string(),
                numbers: versions?.numbers(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "could not read a task page's versions; rendering it");
                None
            }
        }
    }

    /// The visit a GET of a task page makes, with its `versions`, for member of staff `staff_id` signed in to the
    /// session with key `session` and data `data`.
    pub fn visit(
        &self,
        versions: TaskVersions,
        uri: &Uri,
        session: &str,
        data: &str,
        staff_id: i64,
        csrf_token: &str,
    ) -> TaskVisit {
        TaskVisit {
            visit: Visit::new(session, uri, data, versions.numbers, csrf_token),
            staff_id,
            reference: versions.reference,
        }
    }

    /// The kept page for `task` with `nonce` in place, once its view is audited; `None` when there is none to
    /// serve. If the audit entry cannot be written, the page is not shown.
    pub async fn serve(&self, task: &TaskVisit, nonce: &str) -> Option<Response> {
        let page = self.pages.serve(&task.visit, nonce)?;
        // Viewing a task shows personal data: who looked, and when, is audited, as the rendered page does.
        match self
            .store
            .audit_event(
                Some(task.staff_id),
                Some(&task.reference),
                &crate::db::support::AuditEvent::ViewedTask,
                chrono::Utc::now(),
            )
            .await
        {
            Ok(()) => Some(page),
            Err(e) => {
                tracing::error!(error = %e, "could not audit a view of a task");
                Some(app::ssr::DataUnavailable::STATUS.into_response())
            }
        }
    }

    /// Keeps `response` for `task` if it may be served again, and returns it. `changed_nothing` says whether the
    /// request left both sessions as they were.
    pub async fn keep(
        &self,
        task: TaskVisit,
        nonce: &str,
        changed_nothing: bool,
        response: Response,
    ) -> Response {
        self.pages
            .keep(task.visit, nonce, changed_nothing, response)
            .await
    }
}

/// Whether `uri` is a task page that may be kept, for a GET: cheap, for every request.
pub fn is_task_page(method: &Method, uri: &Uri) -> bool {
    task_reference(method, uri).is_some()
}

/// The reference of the task page `uri` is, for a GET. A reference that needed percent-encoding in the path is
/// left to the page (never kept), so the path's segment is the reference itself.
fn task_reference<'a>(method: &Method, uri: &'a Uri) -> Option<&'a str> {
    if method != Method::GET {
        return None;
    }
    let reference = uri.path().strip_prefix(TASKS_PREFIX)?;
    (!reference.is_empty() && !reference.contains(['/', '%'])).then_some(reference)
}

/// Every task page's path starts with this, then the reference.
const TASKS_PREFIX: &str = "/support/tasks/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gets_of_a_task_page_itself_have_a_reference() {
        let of = |method: &Method, uri: &'static str| {
            task_reference(method, &Uri::from_static(uri)).map(str::to_string)
        };
        assert_eq!(
            of(&Method::GET, "/support/tasks/TRS-12"),
            Some("TRS-12".into())
        );
        assert_eq!(
            of(&Method::GET, "/support/tasks/TRS-12?x=1"),
            Some("TRS-12".into())
        );
        assert_eq!(of(&Method::POST, "/support/tasks/TRS-12"), None);
        assert_eq!(of(&Method::GET, "/support/tasks/TRS-12/check"), None);
        assert_eq!(of(&Method::GET, "/support/tasks/TRS-12/proof"), None);
        assert_eq!(of(&Method::GET, "/support/tasks/"), None);
        assert_eq!(of(&Method::GET, "/support/tasks/TRS%2D12"), None);
        assert_eq!(of(&Method::GET, "/support"), None);
    }

    #[tokio::test]
    async fn the_keep_holds_no_more_than_its_bound_however_many_teachers_may_be_kept() {
        let store = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let staff = StaffPages::new(1_000_000, store);
        for n in 0..KEPT_AT_MOST + 1 {
            let uri: Uri = format!("/support/tasks/TRS-{n}").parse().unwrap();
            let visit = Visit::new("session", &uri, "{}", vec![1], "csrf");
            let mut page = Response::new(axum::body::Body::from("page"));
            page.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            staff.pages.keep(visit, "N", true, page).await;
        }
        assert!(staff.pages.len() <= KEPT_AT_MOST);
        assert!(staff.pages.len() > KEPT_AT_MOST / 2);
    }

    #[test]
    fn the_prefix_is_the_one_task_links_use() {
        assert_eq!(
            app::domain::support::task_href("TRS-1"),
            format!("{TASKS_PREFIX}TRS-1")
        );
    }
}
