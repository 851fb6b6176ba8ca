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

/// A page cut at each placeholder, so serving it needs no search: the nonce goes between the pieces.
#[derive(Clone)]
pub(super) struct CachedPage(Arc<[Bytes]>);

/// Pieces at least this long are sent as kept, shared and not copied; shorter ones are copied with the nonces
/// around them into one chunk. A kept page is mostly two long pieces (the nonces sit in the head and the closing
/// script), so a response is a few chunks that hyper writes with one `writev`, where copying the whole page for
/// every response (a staff task page is 20 KB) was the server's top symbol in the profile (issue 16 §1).
const SHARED_PIECE_BYTES: usize = 512;

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

    /// The page with `nonce` at each placeholder, as a body of known length (hyper sends its `Content-Length`).
    pub(super) fn body(&self, nonce: &str) -> Body {
        let mut chunks = Vec::with_capacity(self.0.len());
        let mut copied: Vec<u8> = Vec::new();
        for (i, piece) in self.0.iter().enumerate() {
            if i > 0 {
                copied.extend_from_slice(nonce.as_bytes());
            }
            if piece.len() >= SHARED_PIECE_BYTES {
                if !copied.is_empty() {
                    chunks.push(Bytes::from(std::mem::take(&mut copied)));
                }
                chunks.push(piece.clone());
            } else {
                copied.extend_from_slice(piece);
            }
        }
        if !copied.is_empty() {
            chunks.push(Bytes::from(copied));
        }
        Body::new(Chunks {
            remaining: chunks.iter().map(|c| c.len() as u64).sum(),
            chunks: chunks.into_iter(),
        })
    }
}

/// A body of chunks already in memory, with its exact length. Written here because `http-body-util` has none:
/// `StreamBody` gives no length (so no `Content-Length`) and `Full` is one buffer, which would mean the copy.
struct Chunks {
    chunks: std::vec::IntoIter<Bytes>,
    remaining: u64,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        std::task::Poll::Ready(this.chunks.next().map(|chunk| {
            this.remaining -= chunk.len() as u64;
            Ok(http_body::Frame::data(chunk))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
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
        let mut response = Response::new(cached.body(&nonce.0));
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

    #[tokio::test]
    async fn every_placeholder_gets_the_nonce_and_nothing_else_changes() {
        let long = "x".repeat(SHARED_PIECE_BYTES);
        for page in [
            "<script nonce=\"PH\">a</script><p>é</p><script nonce=\"PH\">b</script>".to_string(),
            "PH at the start and the end PH".to_string(),
            "no placeholder at all".to_string(),
            String::new(),
            format!("<a nonce=\"PH\">{long}</a>PHPH{long}PH<b nonce=\"PH\"></b>{long}"),
            format!("{long}PH"),
        ] {
            let cached = CachedPage::new(&Bytes::from(page.clone()), "PH");
            let body = cached.body("n0nce");
            let expected = page.replace("PH", "n0nce");
            assert_eq!(
                http_body::Body::size_hint(&body).exact(),
                Some(expected.len() as u64)
            );
            let served = to_bytes(body, usize::MAX).await.unwrap();
            assert_eq!(String::from_utf8(served.to_vec()).unwrap(), expected);
        }
    }
}
