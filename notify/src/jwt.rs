//! Notify's authorisation token: a JWT signed HS256 with the API key's secret, with claims `iss` (the service id) and
//! `iat` (seconds since the epoch). Notify refuses a token whose `iat` is more than 30 seconds from its clock, so a
//! fresh one is made for every request. Written out by hand: two claims don't justify a JWT library.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub(crate) type HmacSha256 = Hmac<Sha256>;

pub(crate) const HEADER: &str = r#"{"typ":"JWT","alg":"HS256"}"#;

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The signed token for the `Authorization: Bearer` header.
pub(crate) fn token(service_id: &str, secret: &str, iat: u64) -> String {
    // Written out rather than through a JSON map, so the claims' order (and so the token) is the same in every build.
    let claims = format!(
        r#"{{"iss":{},"iat":{iat}}}"#,
        serde_json::Value::from(service_id)
    );
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = mac(secret)
        .chain_update(signing_input.as_bytes())
        .finalize()
        .into_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

pub(crate) fn mac(secret: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
    const SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";

    fn decode_part(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn token_is_an_hs256_jwt_with_iss_and_iat() {
        let token = token(SERVICE, SECRET, 1_700_000_000);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode_part(parts[0]),
            serde_json::json!({"typ": "JWT", "alg": "HS256"})
        );
        assert_eq!(
            decode_part(parts[1]),
            serde_json::json!({"iss": SERVICE, "iat": 1_700_000_000})
        );

        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        let verify = |secret: &str| {
            mac(secret)
                .chain_update(signing_input.as_bytes())
                .verify_slice(&signature)
        };
        assert!(verify(SECRET).is_ok(), "signed with the secret key");
        assert!(verify("another-secret").is_err());
    }

    #[test]
    fn matches_a_token_made_independently() {
        // Made with Python's hmac and base64 modules from the same header, claims and secret.
        assert_eq!(
            token(SERVICE, SECRET, 1_700_000_000),
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.\
             eyJpc3MiOiIyNjc4NWEwOS1hYjE2LTRlYjAtODQwNy1hMzc0OTdhNTc1MDYiLCJpYXQiOjE3MDAwMDAwMDB9.\
             q1v0ZBAPOtT5-Ng39fZDm8ojJu-wrEQD-OrsVHHKnIM"
        );
    }
}
