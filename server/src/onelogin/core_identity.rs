//! The core identity credential (`https://vocab.account.gov.uk/v1/coreIdentityJWT`), validated in full
//! (rules 37–45) and read into our own [`VerifiedIdentity`] (rule 46). The JWT itself is never stored.

use super::provider::DidDocument;
use super::OneLoginError;
use app::domain::identity::{parse_credential_subject, VerifiedIdentity};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// What we check a credential against.
pub struct Expected<'a> {
    /// The identity issuer (rule 42), which differs from the OIDC issuer in the real service.
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The ID token's `sub` (rule 44).
    pub subject: &'a str,
    pub leeway_seconds: u64,
}

#[derive(Deserialize)]
struct Claims {
    vot: String,
    vc: Vc,
    aud: serde_json::Value,
}

#[derive(Deserialize)]
struct Vc {
    #[serde(rename = "credentialSubject")]
    credential_subject: serde_json::Value,
}

/// The `kid` of a credential, for finding its key: the DID document may need refreshing if it is unknown.
pub fn key_id(jwt: &str) -> Result<String, OneLoginError> {
    let header =
        decode_header(jwt).map_err(|e| OneLoginError::CoreIdentityCredential(e.to_string()))?;
    // Rule 37: only ES256. Anything else, including HS256 with a guessable secret, is refused before we go on.
    if header.alg != Algorithm::ES256 {
        return Err(OneLoginError::CoreIdentityAlgorithm);
    }
    header.kid.ok_or(OneLoginError::CoreIdentityUnknownKey)
}

/// Whether the DID document has an assertion key with this `kid`.
pub fn did_has_key(did: &DidDocument, kid: &str) -> bool {
    find_key(did, kid).is_some()
}

fn find_key<'a>(did: &'a DidDocument, kid: &str) -> Option<&'a serde_json::Value> {
    did.json
        .get("assertionMethod")
        .and_then(|v| v.as_array())?
        .iter()
        .find(|m| m.get("id").and_then(|id| id.as_str()) == Some(kid))
}

/// Validates `jwt` against the trusted DID document and returns the identity it proves.
pub fn validate(
    jwt: &str,
    did: &DidDocument,
    expected: &Expected<'_>,
) -> Result<VerifiedIdentity, OneLoginError> {
    let kid = key_id(jwt)?;
    // Rule 38: the part before `#` is the controller, and must be the DID document's id, compared as a string.
    let (controller, _) = kid
        .split_once('#')
        .ok_or(OneLoginError::CoreIdentityController)?;
    if controller != did.id {
        return Err(OneLoginError::CoreIdentityController);
    }
    // Rule 40: the assertion method whose id is the whole kid.
    let method = find_key(did, &kid).ok_or(OneLoginError::CoreIdentityUnknownKey)?;
    let jwk = method
        .get("publicKeyJwk")
        .ok_or(OneLoginError::CoreIdentityUnknownKey)?;
    let coordinate = |name: &str| {
        jwk.get(name)
            .and_then(|v| v.as_str())
            .ok_or(OneLoginError::CoreIdentityUnknownKey)
    };
    if jwk.get("kty").and_then(|v| v.as_str()) != Some("EC")
        || jwk.get("crv").and_then(|v| v.as_str()) != Some("P-256")
    {
        return Err(OneLoginError::CoreIdentityUnknownKey);
    }
    let key = DecodingKey::from_ec_components(coordinate("x")?, coordinate("y")?)
        .map_err(|_| OneLoginError::CoreIdentityUnknownKey)?;

    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.sub = Some(expected.subject.to_string());
    validation.validate_nbf = true;
    validation.leeway = expected.leeway_seconds;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
    let data = decode::<Claims>(jwt, &key, &validation).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => OneLoginError::CoreIdentitySignature,
        ErrorKind::InvalidIssuer => OneLoginError::CoreIdentityIssuer,
        ErrorKind::InvalidAudience => OneLoginError::CoreIdentityAudience,
        ErrorKind::InvalidSubject => OneLoginError::CoreIdentitySubject,
        ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => {
            OneLoginError::CoreIdentityExpired
        }
        ErrorKind::InvalidAlgorithm => OneLoginError::CoreIdentityAlgorithm,
        _ => OneLoginError::CoreIdentityCredential("claims missing or malformed".into()),
    })?;
    // Rule 43 says equal: a list that merely contains our client id is refused.
    if data.claims.aud != serde_json::Value::String(expected.client_id.to_string()) {
        return Err(OneLoginError::CoreIdentityAudience);
    }
    // Rule 45: the level of confidence achieved must be the one we asked for.
    if data.claims.vot != "P2" {
        return Err(OneLoginError::CoreIdentityVot);
    }
    parse_credential_subject(&data.claims.vc.credential_subject)
        .map_err(|e| OneLoginError::CoreIdentityCredential(e.to_string()))
}
