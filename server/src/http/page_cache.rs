//! Pages that are the same for every signed-out visitor (start, accessibility, cookies, privacy) are rendered
//! once and served from memory. Each response still gets its own CSP nonce: the cached copy is rendered with a
//! placeholder nonce, which is replaced on the way out.

use super::security::CspNonce;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The pages that never depend on who is asking, as long as nobody is signed in.
pub const CACHEABLE: [&str; 4] = ["/", "/accessibility", "/cookies", "/privacy"];

/// The rendered pages, keyed by path, with the placeholder they were rendered with.
#[derive(Clone)]
pub struct PageCache {
    placeholder: Arc<str>,
    pages: Arc<RwLock<HashMap<&'static str, CachedPage>>>,
}

/// A page cut at each placeholder, so serving it is one copy with the nonce between the pieces (no search).
#[derive(Clone)]
pub(super) struct CachedPage(Arc<[Bytes]>);

impl CachedPage {
    pub(super) fn new(page: &Bytes, placeholder: &str) -> Self {
        let mut pieces = Vec::new();
        let mut rest = page.clone();
        let needle = placeholder.as_bytes();
        while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
            pieces.push(rest.slice(..at));
            rest = rest.slice(at + needle.len()..);
        }
        pieces.push(rest);
        Self(pieces.into())
    }

    pub(super) fn with_nonce(&self, nonce: &str) -> Vec<u8> {
        let length =
            self.0.iter().map(Bytes::len).sum::<usize>() + nonce.len() * (self.0.len() - 1);
        let mut html = Vec::with_capacity(length);
        for (i, piece) in self.0.iter().enumerate() {
            if i > 0 {
                html.extend_from_slice(nonce.as_bytes());
            }
            html.extend_from_slice(piece);
        }
        html
    }
}

impl Default for PageCache {
    fn default() -> Self {
        // Random, so no page content can contain it by chance.
        Self {
            placeholder: super::cookies::new_token().into(),
            pages: Arc::default(),
        }
    }
}

impl PageCache {
    fn respond(&self, cached: &CachedPage, nonce: &CspNonce) -> Response {
        let mut response = Response::new(Body::from(cached.with_nonce(&nonce.0)));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}

/// The most read of a rendered page to keep it: far above any of ours (the record page is about 16 KB).
pub(super) const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Whether `response` is an HTML page (only those are kept).
pub(super) fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

fn has_session(req: &Request) -> bool {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(super::cookies::SESSION_COOKIE))
}

pub async fn serve_cached_pages(
    State(cache): State<PageCache>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = CACHEABLE.iter().find(|p| **p == req.uri().path()).copied();
    let (Some(path), Some(nonce)) = (path, req.extensions().get::<CspNonce>().cloned()) else {
        return next.run(req).await;
    };
    if req.method() != Method::GET || req.uri().query().is_some() || has_session(&req) {
        return next.run(req).await;
    }
    let hit = cache
        .pages
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(path)
        .cloned();
    if let Some(cached) = hit {
        return cache.respond(&cached, &nonce);
    }
    req.extensions_mut()
        .insert(CspNonce(cache.placeholder.clone()));
    let response = next.run(req).await;
    if response.status() != StatusCode::OK || !is_html(&response) {
        return response;
    }
    match to_bytes(response.into_body(), MAX_PAGE_BYTES).await {
        Ok(body) => {
            let page = CachedPage::new(&body, &cache.placeholder);
            cache
                .pages
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(path, page.clone());
            cache.respond(&page, &nonce)
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_gets_the_nonce_and_nothing_else_changes() {
        for page in [
            "<script nonce=\"PH\">a</script><p>é</p><script nonce=\"PH\">b</script>",
            "PH at the start and the end PH",
            "no placeholder at all",
            "",
        ] {
            let cached = CachedPage::new(&Bytes::from(page), "PH");
            let served = String::from_utf8(cached.with_nonce("n0nce")).unwrap();
            assert_eq!(served, page.replace("PH", "n0nce"));
        }
    }
}
