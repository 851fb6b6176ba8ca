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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use p256::pkcs8::EncodePrivateKey;
    use serde_json::json;

    const DID: &str = "did:web:identity.example";
    const SUB: &str = "urn:fdc:gov.uk:2022:abc";

    /// A fixed P-256 key: its PKCS#8 form for signing and its public JWK for the DID document.
    fn key(seed: u8) -> (EncodingKey, serde_json::Value) {
        let secret = p256::SecretKey::from_slice(&[seed; 32]).expect("valid scalar");
        let der = secret.to_pkcs8_der().expect("pkcs8");
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())});
        (EncodingKey::from_ec_der(der.as_bytes()), jwk)
    }

    fn did_document(id: &str, kid: &str, jwk: serde_json::Value) -> DidDocument {
        let json = json!({"id": id, "assertionMethod": [{"type": "JsonWebKey", "id": kid, "controller": id, "publicKeyJwk": jwk}]});
        DidDocument {
            id: id.into(),
            json,
        }
    }

    fn claims() -> serde_json::Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "vot": "P2", "iss": "https://identity.example/", "sub": SUB, "aud": "client-1",
            "nbf": now - 10, "iat": now - 10, "exp": now + 600,
            "vc": {"credentialSubject": {
                "name": [{"nameParts": [{"value": "Ann", "type": "GivenName"}, {"value": "Lee", "type": "FamilyName"}]}],
                "birthDate": [{"value": "1980-02-29"}]
            }}
        })
    }

    fn sign(kid: &str, claims: &serde_json::Value, key: &EncodingKey) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.into());
        encode(&header, claims, key).expect("signs")
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://identity.example/",
            client_id: "client-1",
            subject: SUB,
            leeway_seconds: 5,
        }
    }

    #[test]
    fn a_valid_credential_gives_the_verified_identity() {
        let (key, jwk) = key(7);
        let kid = format!("{DID}#key-1");
        let identity = validate(
            &sign(&kid, &claims(), &key),
            &did_document(DID, &kid, jwk),
            &expected(),
        )
        .unwrap();
        assert_eq!(identity.current_name().unwrap().full_name(), "Ann Lee");
    }

    #[test]
    fn rule_38_a_kid_whose_controller_is_not_the_trusted_document_is_refused() {
        let (key, jwk) = key(7);
        let foreign = "did:web:attacker.example#key-1";
        // Even a document that lists the key is not trusted when its id is not the kid's controller.
        let did = did_document(DID, foreign, jwk);
        let err = validate(&sign(foreign, &claims(), &key), &did, &expected()).unwrap_err();
        assert!(
            matches!(err, OneLoginError::CoreIdentityController),
            "{err:?}"
        );
        let no_controller =
            validate(&sign("key-1", &claims(), &key), &did, &expected()).unwrap_err();
        assert!(
            matches!(no_controller, OneLoginError::CoreIdentityController),
            "{no_controller:?}"
        );
    }

    #[test]
    fn rules_40_and_41_an_unknown_key_or_another_keys_signature_is_refused() {
        let (other_key, _) = key(9);
        let (key, jwk) = key(7);
        let kid = format!("{DID}#key-1");
        let did = did_document(DID, &kid, jwk);
        let unknown = validate(
            &sign(&format!("{DID}#key-2"), &claims(), &key),
            &did,
            &expected(),
        )
        .unwrap_err();
        assert!(
            matches!(unknown, OneLoginError::CoreIdentityUnknownKey),
            "{unknown:?}"
        );
        let forged = validate(&sign(&kid, &claims(), &other_key), &did, &expected()).unwrap_err();
        assert!(
            matches!(forged, OneLoginError::CoreIdentitySignature),
            "{forged:?}"
        );
    }

    #[test]
    fn rule_43_an_audience_list_containing_us_is_refused() {
        let (key, jwk) = key(7);
        let kid = format!("{DID}#key-1");
        let mut claims = claims();
        claims["aud"] = json!(["client-1", "someone-else"]);
        let err = validate(
            &sign(&kid, &claims, &key),
            &did_document(DID, &kid, jwk),
            &expected(),
        )
        .unwrap_err();
        assert!(
            matches!(err, OneLoginError::CoreIdentityAudience),
            "{err:?}"
        );
    }

    #[test]
    fn rule_46_an_unreadable_credential_is_refused_without_quoting_it() {
        let (key, jwk) = key(7);
        let kid = format!("{DID}#key-1");
        let mut claims = claims();
        claims["vc"]["credentialSubject"]["name"] = json!("Ann Secret-Surname");
        let err = validate(
            &sign(&kid, &claims, &key),
            &did_document(DID, &kid, jwk),
            &expected(),
        )
        .unwrap_err();
        assert!(
            matches!(err, OneLoginError::CoreIdentityCredential(_)),
            "{err:?}"
        );
        assert!(
            !err.to_string().contains("Secret-Surname"),
            "no personal data in the error: {err}"
        );
    }
}
