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
    pages: Arc<RwLock<HashMap<&'static str, Bytes>>>,
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
    fn respond(&self, cached: &Bytes, nonce: &CspNonce) -> Response {
        let html = String::from_utf8_lossy(cached).replace(&*self.placeholder, &nonce.0);
        let mut response = Response::new(Body::from(html));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
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
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if response.status() != StatusCode::OK || !is_page {
        return response;
    }
    match to_bytes(response.into_body(), 4 * 1024 * 1024).await {
        Ok(body) => {
            cache
                .pages
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(path, body.clone());
            cache.respond(&body, &nonce)
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
