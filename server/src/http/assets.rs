//! Static files, served from memory. At start-up every file under the site root is read once and hashed; a
//! background thread then compresses each with brotli and gzip (files are served uncompressed until their turn),
//! so a request costs a map look-up and a copy. Fingerprinted files (the WASM
//! bundle's hashed names, GOV.UK's hashed font names, or any URL carrying the file's `?v=` hash) are cached by
//! browsers for a year; everything else is revalidated with its ETag.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

/// One file, with its compressed forms where they are smaller.
#[derive(Debug)]
pub struct Asset {
    pub content_type: HeaderValue,
    pub etag: HeaderValue,
    /// The first 16 hex digits of the file's SHA-256: the `v` in versioned URLs.
    pub hash: String,
    pub raw: Bytes,
    compressible: bool,
    /// Gzip and brotli forms, where smaller; set once by [`Assets::compress_all`].
    compressed: OnceLock<(Option<Bytes>, Option<Bytes>)>,
}

impl Asset {
    pub fn gzip(&self) -> Option<&Bytes> {
        self.compressed.get().and_then(|(gz, _)| gz.as_ref())
    }

    pub fn brotli(&self) -> Option<&Bytes> {
        self.compressed.get().and_then(|(_, br)| br.as_ref())
    }
}

/// Every static file, keyed by URL path (`/assets/main.css`).
#[derive(Debug, Default)]
pub struct Assets {
    files: HashMap<String, Asset>,
}

impl Assets {
    /// Reads every file below `root`. A missing folder gives an empty set: pages still render, unstyled.
    pub fn load(root: &Path) -> std::io::Result<Self> {
        let mut files = HashMap::new();
        if root.is_dir() {
            load_dir(root, root, &mut files)?;
        }
        Ok(Self { files })
    }

    /// Compresses every compressible file. Run once, off the request path.
    pub fn compress_all(&self) {
        for asset in self.files.values() {
            let forms = if asset.compressible && asset.raw.len() > 512 {
                (
                    smaller(&asset.raw, gzip(&asset.raw)),
                    smaller(&asset.raw, brotli(&asset.raw)),
                )
            } else {
                (None, None)
            };
            let _ = asset.compressed.set(forms);
        }
    }

    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.files.get(path)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The versioned URL of `path`, so pages can ask browsers to cache it for a year.
    pub fn versioned_url(&self, path: &str) -> String {
        match self.files.get(path) {
            Some(asset) => format!("{path}?v={}", asset.hash),
            None => path.to_string(),
        }
    }

    /// The response for `uri`, honouring `If-None-Match` and `Accept-Encoding`; `None` if there is no such file.
    pub fn respond(&self, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
        let asset = self.files.get(uri.path())?;
        let immutable = is_fingerprinted(uri.path())
            || uri
                .query()
                .is_some_and(|q| q.split('&').any(|kv| kv == format!("v={}", asset.hash)));
        let cache_control = HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "public, no-cache"
        });
        let not_modified = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|tag| tag.trim() == asset.etag.to_str().unwrap_or_default())
            });
        if not_modified {
            return Some(
                (
                    StatusCode::NOT_MODIFIED,
                    [
                        (header::ETAG, asset.etag.clone()),
                        (header::CACHE_CONTROL, cache_control),
                    ],
                )
                    .into_response(),
            );
        }
        let accepts = |coding: &str| {
            headers
                .get_all(header::ACCEPT_ENCODING)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|c| {
                    let mut parts = c.trim().split(';');
                    parts.next() == Some(coding) && !parts.any(|p| p.trim() == "q=0")
                })
        };
        let (body, encoding) = match (asset.brotli(), asset.gzip()) {
            (Some(br), _) if accepts("br") => (br.clone(), Some("br")),
            (_, Some(gz)) if accepts("gzip") => (gz.clone(), Some("gzip")),
            _ => (asset.raw.clone(), None),
        };
        let mut response = Response::new(Body::from(body));
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, asset.content_type.clone());
        h.insert(header::ETAG, asset.etag.clone());
        h.insert(header::CACHE_CONTROL, cache_control);
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        if let Some(encoding) = encoding {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        Some(response)
    }
}

/// Names that change whenever their content does: cargo-leptos's hashed bundle and GOV.UK's hashed fonts.
fn is_fingerprinted(path: &str) -> bool {
    path.starts_with("/pkg/") || path.starts_with("/assets/fonts/")
}

fn load_dir(root: &Path, dir: &Path, files: &mut HashMap<String, Asset>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            load_dir(root, &path, files)?;
            continue;
        }
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let url = format!("/{}", relative.to_string_lossy().replace('\\', "/"));
        let raw = Bytes::from(std::fs::read(&path)?);
        files.insert(url, build_asset(&path, raw));
    }
    Ok(())
}

fn build_asset(path: &Path, raw: Bytes) -> Asset {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let content_type = match (mime.type_(), mime.subtype().as_str()) {
        (mime_guess::mime::TEXT, _) | (_, "javascript") | (_, "json") | (_, "svg") => {
            format!("{mime}; charset=utf-8")
        }
        _ => mime.to_string(),
    };
    let hash = hex(&Sha256::digest(&raw))[..16].to_string();
    // Fonts and images are already compressed; squeezing them again wastes start-up time for nothing.
    let compressible = matches!(mime.type_(), mime_guess::mime::TEXT)
        || matches!(
            mime.subtype().as_str(),
            "javascript" | "json" | "wasm" | "svg" | "x-icon" | "vnd.microsoft.icon"
        );
    Asset {
        content_type: HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        etag: HeaderValue::from_str(&format!("\"{hash}\"")).expect("hex is a valid header"),
        hash,
        raw,
        compressible,
        compressed: OnceLock::new(),
    }
}

fn smaller(raw: &Bytes, compressed: Vec<u8>) -> Option<Bytes> {
    (compressed.len() < raw.len()).then(|| Bytes::from(compressed))
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(raw).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn brotli(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &raw[..], &mut out, &params).expect("writing to memory");
    out
}

pub fn hex(bytes: &[u8]) -> String {
    // By table, not `format!` per byte: every token request hashes three secrets, and 32 formatted strings each
    // were a twentieth of its CPU (docs/performance.md).
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The SHA-256 of `value`, in lowercase hex: how sessions, rate-limit keys, client secrets, API keys and TRN
/// tokens are kept (the values themselves never are).
pub fn sha256_hex(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lowercase_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
