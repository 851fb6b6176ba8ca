//! Back-channel logout tokens (rule 50): One Login tells us a person signed out, and we end all their sessions.
//! Checked in the order the rule gives; the `jti` replay check needs the database and is the caller's.

use super::OneLoginError;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The one algorithm a logout token may use: the ID token's (rule 25, [`super::client::ID_TOKEN_ALGORITHM`]). One
/// Login also publishes RSA keys, and a token signed with one of those is refused here as it is for ID tokens.
pub const ALGORITHM: Algorithm = Algorithm::ES256;

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
    /// Must be absent, even as `null` (OpenID Back-Channel Logout 1.0 §2.4, checked as §2.6 says): a token with a
    /// nonce could be an ID token passed off as a logout token.
    #[serde(default, deserialize_with = "present")]
    nonce: bool,
}

/// True for a claim that is there at all, whatever its value.
fn present<'de, D: serde::Deserializer<'de>>(claim: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(claim).map(|_| true)
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

/// The `kid` a token names, if it uses the one allowed algorithm: a token that cannot pass is refused before we
/// spend a JWKS refetch on it.
pub fn key_id(token: &str) -> Result<String, OneLoginError> {
    let header = decode_header(token).map_err(|_| invalid("not a JWT"))?;
    if header.alg != ALGORITHM {
        return Err(invalid("alg is not the ID token's"));
    }
    header.kid.ok_or_else(|| invalid("no kid"))
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
    // Rule 25 as for ID tokens: only ES256, with a P-256 key that is not marked for another algorithm; never none,
    // HMAC or RSA, whatever the header says.
    if header.alg != ALGORITHM
        || field("kty") != Some("EC")
        || field("crv").is_some_and(|c| c != "P-256")
        || field("alg").is_some_and(|a| a != "ES256")
    {
        return Err(invalid(
            "alg is not the ID token's, or does not match the key",
        ));
    }
    let key = DecodingKey::from_ec_components(
        field("x").unwrap_or_default(),
        field("y").unwrap_or_default(),
    );
    let key = key.map_err(|_| invalid("unusable key"))?;
    let mut validation = Validation::new(ALGORITHM);
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
    if claims.nonce {
        return Err(invalid("has a nonce"));
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
