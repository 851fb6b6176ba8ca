//! A signed-in teacher's pages, kept rendered and served again while nothing they show has changed (issue 16 §1).
//!
//! A teacher's page reads three things: the session's data (who they are, their answers, a form's errors), the
//! database's facts about them (their user row, connection, record and open support task) and the CSRF token its
//! forms carry. Rendering it costs several times what serving it from memory does, and a teacher reloads, goes
//! back and moves between the journey's pages within one session. So each page rendered for a session is kept
//! with what it was rendered from, and served again only while all of it is unchanged:
//!
//! - the session's data, compared byte for byte with the row the session's own query just read;
//! - the user's `page_version`, read in that same query (a join, so no extra round trip), which triggers move on
//!   every change to what the pages read of the database (migration 0018), whichever instance or writer made it;
//! - the CSRF token, and the path with its query.
//!
//! The session is still read on every request, so a session ended by sign-out or back-channel logout on any
//! instance is never served a kept page. A page is kept only if rendering it changed nothing: a 200 HTML page,
//! no cookie set, the session not written (a flash shown once, an identity support has since verified, a
//! redirect all leave it unkept). The version is read before the page's facts, so a page kept from facts newer
//! than its version is only ever thrown away early, never served stale. Each response still gets its own CSP
//! nonce: the kept page is cut at the nonce it was rendered with, which is random per request and so cannot occur
//! in it by chance.
//!
//! Only the pages listed in [`KEPT`] are kept: they read nothing else (the third question also lists the
//! records' ITT providers, so it is not one of them). At most [`crate::config::Config::personal_pages_kept`]
//! pages are held per instance; when that is reached the oldest half is dropped.

use super::page_cache::{is_html, CachedPage, MAX_PAGE_BYTES};
use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The teacher's pages that depend on nothing but the session, the teacher's facts and the CSRF token.
pub const KEPT: [&str; 11] = [
    app::routes::CONNECT,
    app::routes::CONNECT_NINO,
    app::routes::CONNECT_TRN,
    app::routes::CONNECT_NOT_FOUND,
    app::routes::CONNECT_CHECK_ANSWERS,
    app::routes::CONNECT_SUPPORT_REQUESTED,
    app::routes::CONNECT_TOO_MANY_ATTEMPTS,
    app::routes::CONNECTED,
    app::routes::RECORD,
    app::routes::REQUEST_PENDING,
    app::routes::ACCOUNT,
];

/// What a request for a kept page must match: which session asked for which page, and what the page was
/// rendered from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    session: String,
    path: String,
    data: String,
    /// What the page read of the database, as versions: for a teacher, their `page_version`.
    versions: Vec<i64>,
    csrf_token: String,
}

impl Visit {
    /// The visit a GET of one of the [`KEPT`] pages makes, for a teacher whose session was loaded with its
    /// version; `None` for anything else, which is never kept.
    pub fn of(
        method: &Method,
        uri: &axum::http::Uri,
        session: &str,
        data: &str,
        page_version: Option<i64>,
        csrf_token: &str,
    ) -> Option<Self> {
        if method != Method::GET || !KEPT.contains(&uri.path()) {
            return None;
        }
        let page_version = page_version?;
        Some(Self::new(
            session,
            uri,
            data,
            vec![page_version],
            csrf_token,
        ))
    }

    /// The visit of `session` to `uri`, with the session's `data`, the `versions` of what the page reads and the
    /// CSRF token: for other kept pages ([`super::staff_pages`]).
    pub fn new(
        session: &str,
        uri: &axum::http::Uri,
        data: &str,
        versions: Vec<i64>,
        csrf_token: &str,
    ) -> Self {
        Self {
            session: session.to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string()),
            data: data.to_string(),
            versions,
            csrf_token: csrf_token.to_string(),
        }
    }
}

struct Kept {
    visit: Visit,
    page: CachedPage,
    headers: HeaderMap,
    /// When it was kept, in the cache's own count: the oldest go first when it is full.
    order: u64,
}

/// The kept pages of one instance.
#[derive(Clone)]
pub struct PersonalPages {
    capacity: usize,
    /// The counter of what became of each request ([`crate::metrics`]).
    metric: &'static str,
    pages: Arc<Mutex<Pages>>,
}

#[derive(Default)]
struct Pages {
    by_visit: HashMap<(String, String), Kept>,
    next: u64,
}

impl PersonalPages {
    /// Holds at most `capacity` pages; 0 keeps none.
    pub fn new(capacity: usize) -> Self {
        Self::counted_as(capacity, crate::metrics::PERSONAL_PAGES)
    }

    /// Holds at most `capacity` pages, counting what became of each request in `metric`.
    pub fn counted_as(capacity: usize, metric: &'static str) -> Self {
        Self {
            capacity,
            metric,
            pages: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pages> {
        self.pages.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The kept page for `visit` with `nonce` in place, if it was rendered from exactly what `visit` holds now.
    /// A kept page that no longer matches is dropped.
    pub fn serve(&self, visit: &Visit, nonce: &str) -> Option<Response> {
        if self.capacity == 0 {
            return None;
        }
        let key = (visit.session.clone(), visit.path.clone());
        let mut pages = self.lock();
        let kept = pages.by_visit.get(&key)?;
        if kept.visit != *visit {
            pages.by_visit.remove(&key);
            return None;
        }
        let mut response = Response::new(kept.page.body(nonce));
        *response.headers_mut() = kept.headers.clone();
        counted(self.metric, "served");
        Some(response)
    }

    /// Keeps `response` for `visit` if it may be served again (see the module documentation), and returns it.
    /// `changed_nothing` says whether the request left both sessions as they were.
    pub async fn keep(
        &self,
        visit: Visit,
        nonce: &str,
        changed_nothing: bool,
        response: Response,
    ) -> Response {
        if self.capacity == 0
            || !changed_nothing
            || response.status() != StatusCode::OK
            || !is_html(&response)
            || response.headers().contains_key(header::SET_COOKIE)
        {
            counted(self.metric, "rendered");
            return response;
        }
        let (parts, body) = response.into_parts();
        let body = match to_bytes(body, MAX_PAGE_BYTES).await {
            Ok(body) => body,
            Err(e) => {
                // Far too big for a teacher's page, or the render failed part way: none of it can be sent now,
                // and the error pages layer shows "Sorry, there is a problem with the service".
                tracing::error!(error = %e, "could not read a rendered page");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let kept = Kept {
            page: CachedPage::new(&body, nonce),
            headers: parts.headers.clone(),
            visit,
            order: 0,
        };
        self.insert(kept);
        counted(self.metric, "kept");
        Response::from_parts(parts, Body::from(body))
    }

    fn insert(&self, mut kept: Kept) {
        let mut pages = self.lock();
        if pages.by_visit.len() >= self.capacity {
            // The oldest half goes: cheaper than keeping an order on every hit, and pages are re-rendered on
            // their next visit.
            let mut orders: Vec<u64> = pages.by_visit.values().map(|k| k.order).collect();
            let middle = orders.len() / 2;
            let (_, cut, _) = orders.select_nth_unstable(middle);
            let cut = *cut;
            pages.by_visit.retain(|_, k| k.order >= cut);
        }
        kept.order = pages.next;
        pages.next += 1;
        let key = (kept.visit.session.clone(), kept.visit.path.clone());
        pages.by_visit.insert(key, kept);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().by_visit.len()
    }
}

/// Counts a request for a page that may be kept, by what became of it (`docs/operations.md`).
fn counted(metric: &'static str, outcome: &'static str) {
    metrics::counter!(metric, "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, Uri};

    fn visit(data: &str, version: i64) -> Visit {
        Visit::of(
            &Method::GET,
            &Uri::from_static("/record"),
            "session-key",
            data,
            Some(version),
            "csrf",
        )
        .unwrap()
    }

    fn page(html: &'static str) -> Response {
        let mut response = Response::new(Body::from(html));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }

    async fn text(response: Response) -> String {
        String::from_utf8(
            to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_kept_page_is_served_with_the_new_nonce_until_its_session_or_version_changes() {
        let pages = PersonalPages::new(10);
        let kept = pages
            .keep(
                visit("{}", 1),
                "N1",
                true,
                page("<script nonce=\"N1\"></script>"),
            )
            .await;
        assert_eq!(text(kept).await, "<script nonce=\"N1\"></script>");
        let served = pages.serve(&visit("{}", 1), "N2").expect("served again");
        assert_eq!(text(served).await, "<script nonce=\"N2\"></script>");
        assert!(pages.serve(&visit("{\"flash\":1}", 1), "N3").is_none());
        // A mismatch drops the page, so even the original visit renders again.
        assert!(pages.serve(&visit("{}", 1), "N3").is_none());
        pages.keep(visit("{}", 1), "N1", true, page("a")).await;
        assert!(pages.serve(&visit("{}", 2), "N3").is_none());
    }

    #[tokio::test]
    async fn pages_that_changed_something_or_are_not_plain_200_html_are_not_kept() {
        let pages = PersonalPages::new(10);
        pages.keep(visit("{}", 1), "N", false, page("a")).await;
        let mut redirect = page("");
        *redirect.status_mut() = StatusCode::SEE_OTHER;
        pages.keep(visit("{}", 1), "N", true, redirect).await;
        let mut cookie = page("a");
        cookie
            .headers_mut()
            .insert(header::SET_COOKIE, HeaderValue::from_static("a=b"));
        pages.keep(visit("{}", 1), "N", true, cookie).await;
        pages
            .keep(visit("{}", 1), "N", true, Response::new(Body::from("{}")))
            .await;
        assert_eq!(pages.len(), 0);
        assert!(PersonalPages::new(0)
            .keep(visit("{}", 1), "N", true, page("a"))
            .await
            .status()
            .is_success());
    }

    #[test]
    fn only_gets_of_the_kept_pages_by_a_teacher_with_a_version_are_visits() {
        let of = |method: &Method, uri: &'static str, version: Option<i64>| {
            Visit::of(method, &Uri::from_static(uri), "s", "{}", version, "c")
        };
        assert!(of(&Method::GET, "/record", Some(0)).is_some());
        assert!(of(&Method::GET, "/connect/nino?change=1", Some(0)).is_some());
        assert!(of(&Method::POST, "/record", Some(0)).is_none());
        assert!(of(&Method::GET, "/connect/itt", Some(0)).is_none());
        assert!(of(&Method::GET, "/feedback", Some(0)).is_none());
        assert!(of(&Method::GET, "/record", None).is_none());
    }

    #[tokio::test]
    async fn a_full_cache_drops_its_oldest_half() {
        let pages = PersonalPages::new(4);
        for n in 0..5 {
            let mut v = visit("{}", 1);
            v.path = format!("/record?n={n}");
            pages.keep(v, "N", true, page("a")).await;
        }
        assert_eq!(pages.len(), 3);
        let mut newest = visit("{}", 1);
        newest.path = "/record?n=4".into();
        assert!(pages.serve(&newest, "N").is_some());
        let mut oldest = visit("{}", 1);
        oldest.path = "/record?n=0".into();
        assert!(pages.serve(&oldest, "N").is_none());
    }
}
