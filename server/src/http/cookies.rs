//! Reading and writing our cookies. Anything malformed is treated as absent, never as an error.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::Engine;
use rand::RngCore;

pub const SESSION_COOKIE: &str = "tid_session";
pub const CSRF_COOKIE: &str = "tid_csrf";
/// The support console's session: separate from the teacher's, so one browser can hold both.
pub const STAFF_SESSION_COOKIE: &str = "tid_staff";

/// A new random token: 32 bytes, base64url without padding (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new secret to hand out once (a client secret, an API key, a TRN token) and the SHA-256 we keep of it: a
/// [`new_token`], 256 random bits, so no guess can succeed however fast the hash.
pub fn new_secret() -> (String, String) {
    let secret = new_token();
    let hash = super::assets::sha256_hex(&secret);
    (secret, hash)
}

/// Whether `value` has the shape of a token we issued.
pub fn is_token(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The value of cookie `name`, if present and shaped like one of our tokens.
pub fn token_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && is_token(v))
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, path `/`, and `Secure` when served over HTTPS.
/// Without `max_age_seconds` it is a browser-session cookie; `Some(0)` deletes it.
pub fn set_cookie(
    name: &str,
    value: &str,
    secure: bool,
    max_age_seconds: Option<u64>,
) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age_seconds {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&cookie).expect("cookie names and tokens are header-safe")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_tokens_are_read() {
        let token = new_token();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; tid_session={token}; c")).unwrap(),
        );
        assert_eq!(token_cookie(&headers, SESSION_COOKIE), Some(token));
        for bad in [
            "tid_session=short",
            "tid_session=../../etc/passwd",
            "tid_session=",
            "tid_session",
            "===;;;",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, HeaderValue::from_str(bad).unwrap());
            assert_eq!(token_cookie(&headers, SESSION_COOKIE), None, "{bad}");
        }
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_over_https() {
        let c = set_cookie(SESSION_COOKIE, "x", true, None);
        assert_eq!(c, "tid_session=x; Path=/; HttpOnly; SameSite=Lax; Secure");
        let c = set_cookie(SESSION_COOKIE, "", false, Some(0));
        assert_eq!(c, "tid_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    }
}
