//! Back-channel logout tokens (rule 50): One Login tells us a person signed out, and we end all their sessions.
//! Checked in the order the rule gives; the `jti` replay check needs the database and is the caller's.

use super::OneLoginError;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A valid logout token's subject and id.
#[derive(Debug, PartialEq, Eq)]
pub struct LogoutToken {
    pub subject: String,
    pub jti: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    iat: Option<i64>,
    jti: Option<String>,
    events: Option<serde_json::Map<String, serde_json::Value>>,
    aud: Option<serde_json::Value>,
}

fn invalid(reason: &str) -> OneLoginError {
    OneLoginError::LogoutToken(reason.to_string())
}

/// The key in `jwks` (One Login's JWKS as sent) with this `kid`, if any.
pub fn find_key<'a>(jwks: &'a serde_json::Value, kid: &str) -> Option<&'a serde_json::Value> {
    jwks.get("keys")?
        .as_array()?
        .iter()
        .find(|k| k.get("kid").and_then(|v| v.as_str()) == Some(kid))
}

/// The `kid` a token names.
pub fn key_id(token: &str) -> Result<String, OneLoginError> {
    decode_header(token)
        .map_err(|_| invalid("not a JWT"))?
        .kid
        .ok_or_else(|| invalid("no kid"))
}

/// Validates a logout token against One Login's JWKS, issuer and our client id, at `now` (Unix seconds).
pub fn validate(
    token: &str,
    jwks: &serde_json::Value,
    issuer: &str,
    client_id: &str,
    now: i64,
    leeway_seconds: u64,
) -> Result<LogoutToken, OneLoginError> {
    let header = decode_header(token).map_err(|_| invalid("not a JWT"))?;
    let kid = header.kid.ok_or_else(|| invalid("no kid"))?;
    let jwk = find_key(jwks, &kid).ok_or_else(|| invalid("kid not in the JWKS"))?;
    let field = |name: &str| jwk.get(name).and_then(|v| v.as_str());
    // The header's alg must be the key's (and never none or HMAC).
    let (alg, key) = match (field("kty"), field("alg")) {
        (Some("EC"), Some("ES256") | None) if header.alg == Algorithm::ES256 => (
            Algorithm::ES256,
            DecodingKey::from_ec_components(
                field("x").unwrap_or_default(),
                field("y").unwrap_or_default(),
            ),
        ),
        (Some("RSA"), Some("RS256") | None) if header.alg == Algorithm::RS256 => (
            Algorithm::RS256,
            DecodingKey::from_rsa_components(
                field("n").unwrap_or_default(),
                field("e").unwrap_or_default(),
            ),
        ),
        _ => return Err(invalid("alg does not match the key")),
    };
    let key = key.map_err(|_| invalid("unusable key"))?;
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.leeway = leeway_seconds;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let claims = decode::<Claims>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => invalid("bad signature"),
            ErrorKind::InvalidIssuer => invalid("wrong iss"),
            ErrorKind::InvalidAudience => invalid("wrong aud"),
            ErrorKind::ExpiredSignature => invalid("expired"),
            _ => invalid("unreadable"),
        })?
        .claims;
    if claims.aud != Some(serde_json::Value::String(client_id.to_string())) {
        return Err(invalid("aud is not exactly our client id"));
    }
    match claims.iat {
        Some(iat) if iat <= now + leeway_seconds as i64 => {}
        _ => return Err(invalid("iat missing or in the future")),
    }
    let subject = claims
        .sub
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("no sub"))?;
    let events = claims.events.ok_or_else(|| invalid("no events"))?;
    let only_logout = events.len() == 1
        && events
            .get(BACKCHANNEL_LOGOUT_EVENT)
            .and_then(|v| v.as_object())
            .is_some_and(|o| o.is_empty());
    if !only_logout {
        return Err(invalid(
            "events is not exactly the back-channel logout event",
        ));
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty())
        .ok_or_else(|| invalid("no jti"))?;
    Ok(LogoutToken { subject, jti })
}
