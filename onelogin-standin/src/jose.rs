//! Compact JWS: signing with our P-256 keys, verifying ours and the relying party's RSA client assertions.
//!
//! Hand-rolled on purpose: the stand-in must also produce tokens a JOSE library refuses to make (alg `HS256` with a
//! made-up key, broken signatures), and it only needs the handful of algorithms One Login uses.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::RsaPublicKey;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// base64url without padding, as JOSE uses everywhere.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An ES256 key pair with its key id.
#[derive(Clone)]
pub struct EcKey {
    pub kid: String,
    signing: SigningKey,
}

impl EcKey {
    /// A fresh random key; `kid` is how it is named in a JWKS or DID document.
    pub fn generate(kid: String) -> Self {
        Self {
            kid,
            signing: SigningKey::random(&mut rand::rngs::OsRng),
        }
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public half as a JWK (`kty`, `crv`, `x`, `y`); callers add `kid`, `alg` and `use` as the document needs.
    pub fn public_jwk(&self) -> Map<String, Value> {
        let point = self.verifying_key().to_encoded_point(false);
        let mut jwk = Map::new();
        jwk.insert("kty".into(), json!("EC"));
        jwk.insert("crv".into(), json!("P-256"));
        jwk.insert("x".into(), json!(point.x().map(b64).unwrap_or_default()));
        jwk.insert("y".into(), json!(point.y().map(b64).unwrap_or_default()));
        jwk
    }

    /// Signs `header.payload` with ES256 (the 64-byte `r || s` form JWS requires).
    pub fn sign(&self, header: &Value, payload: &Value) -> String {
        let input = signing_input(header, payload);
        let signature: Signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", b64(signature.to_bytes()))
    }
}

/// An RS256 key pair with its key id. Generating an RSA key takes a while, so every stand-in in a process shares
/// one (each under its own `kid`).
#[derive(Clone)]
pub struct RsaKey {
    pub kid: String,
    key: &'static rsa::RsaPrivateKey,
}

impl RsaKey {
    pub fn shared(kid: String) -> Self {
        static KEY: std::sync::OnceLock<rsa::RsaPrivateKey> = std::sync::OnceLock::new();
        let key = KEY.get_or_init(|| {
            // 2048 bits, as One Login's; `OsRng` cannot fail on the platforms the stand-in runs on.
            rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                .unwrap_or_else(|e| panic!("cannot generate the stand-in's RSA key: {e}"))
        });
        Self { kid, key }
    }

    /// The public half as a JWK (`kty`, `n`, `e`).
    pub fn public_jwk(&self) -> Map<String, Value> {
        use rsa::traits::PublicKeyParts as _;
        let mut jwk = Map::new();
        jwk.insert("kty".into(), json!("RSA"));
        jwk.insert("n".into(), json!(b64(self.key.n().to_bytes_be())));
        jwk.insert("e".into(), json!(b64(self.key.e().to_bytes_be())));
        jwk
    }

    /// Signs `header.payload` with RS256 (RSASSA-PKCS1-v1_5 with SHA-256).
    pub fn sign(&self, header: &Value, payload: &Value) -> String {
        use rsa::signature::{SignatureEncoding as _, Signer as _};
        let input = signing_input(header, payload);
        let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(self.key.clone());
        let signature = signer.sign(input.as_bytes());
        format!("{input}.{}", b64(signature.to_bytes()))
    }

    #[cfg(test)]
    pub fn public_key(&self) -> RsaPublicKey {
        self.key.to_public_key()
    }
}

/// `base64url(header).base64url(payload)`.
pub fn signing_input(header: &Value, payload: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(payload.to_string()))
}

/// Signs with HS256 under a key nobody was given: what a forged or confused token looks like.
pub fn sign_hs256(header: &Value, payload: &Value, secret: &[u8]) -> String {
    let input = signing_input(header, payload);
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm only satisfies the type.
        Err(_) => return format!("{input}."),
    };
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

/// Flips one bit in the signature so it no longer verifies but still decodes.
pub fn corrupt_signature(jws: &str) -> String {
    let Some((input, signature)) = jws.rsplit_once('.') else {
        return jws.to_string();
    };
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    if let Some(first) = bytes.first_mut() {
        *first ^= 0x01;
    }
    format!("{input}.{}", b64(bytes))
}

/// A compact JWS split and decoded, not yet verified.
#[derive(Debug)]
pub struct Parsed {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Parsed {
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Whether the ES256 signature verifies with `key`.
    pub fn verify_es256(&self, key: &VerifyingKey) -> bool {
        if self.alg() != "ES256" {
            return false;
        }
        Signature::from_slice(&self.signature)
            .is_ok_and(|sig| key.verify(self.signing_input.as_bytes(), &sig).is_ok())
    }

    /// Whether the RSA signature (RS256/384/512 or PS256/384/512, as One Login accepts) verifies with `key`.
    pub fn verify_rsa(&self, key: &RsaPublicKey) -> bool {
        use rsa::{pkcs1v15, pss};
        let msg = self.signing_input.as_bytes();
        let sig = self.signature.as_slice();
        fn pkcs1<D>(key: &RsaPublicKey, msg: &[u8], sig: &[u8]) -> bool
        where
            D: Digest + rsa::pkcs8::AssociatedOid,
        {
            let Ok(sig) = pkcs1v15::Signature::try_from(sig) else {
                return false;
            };
            pkcs1v15::VerifyingKey::<D>::new(key.clone())
                .verify(msg, &sig)
                .is_ok()
        }
        fn pss<D>(key: &RsaPublicKey, msg: &[u8], sig: &[u8]) -> bool
        where
            D: Digest + sha2::digest::FixedOutputReset,
        {
            let Ok(sig) = pss::Signature::try_from(sig) else {
                return false;
            };
            pss::VerifyingKey::<D>::new(key.clone())
                .verify(msg, &sig)
                .is_ok()
        }
        match self.alg() {
            "RS256" => pkcs1::<Sha256>(key, msg, sig),
            "RS384" => pkcs1::<Sha384>(key, msg, sig),
            "RS512" => pkcs1::<Sha512>(key, msg, sig),
            "PS256" => pss::<Sha256>(key, msg, sig),
            "PS384" => pss::<Sha384>(key, msg, sig),
            "PS512" => pss::<Sha512>(key, msg, sig),
            _ => false,
        }
    }
}

/// Splits and decodes a compact JWS. `None` if it is not three base64url parts with JSON objects in the first two.
pub fn parse(jws: &str) -> Option<Parsed> {
    let mut parts = jws.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode_object = |part: &str| -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            Value::Object(map) => Some(map),
            _ => None,
        }
    };
    Some(Parsed {
        header: decode_object(header)?,
        claims: decode_object(payload)?,
        signing_input: format!("{header}.{payload}"),
        signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
    })
}

/// Reads the relying party's RSA public key: SPKI (`PUBLIC KEY`) as registered with One Login, or PKCS#1.
pub fn rsa_public_key_from_pem(pem: &str) -> Option<RsaPublicKey> {
    RsaPublicKey::from_public_key_pem(pem.trim())
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem.trim()))
        .ok()
}

/// The RSA keys with a `kid` in a JWKS, by `kid`; anything else in it is ignored.
pub fn rsa_public_keys_from_jwks(jwks: &Value) -> std::collections::HashMap<String, RsaPublicKey> {
    let key = |jwk: &Value| -> Option<(String, RsaPublicKey)> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        if field("kty")? != "RSA" {
            return None;
        }
        let number = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(field(name)?)
                .ok()
                .map(|b| rsa::BigUint::from_bytes_be(&b))
        };
        let key = RsaPublicKey::new(number("n")?, number("e")?).ok()?;
        Some((field("kid")?.to_string(), key))
    };
    jwks.get("keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(key).collect())
        .unwrap_or_default()
}

/// OIDC `at_hash`: the left half of SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    b64(&digest[..16])
}

/// PKCE S256: base64url(SHA-256(verifier)).
pub fn pkce_s256(verifier: &str) -> String {
    b64(Sha256::digest(verifier.as_bytes()))
}

/// `n` random bytes, base64url: codes, access tokens, session ids.
pub fn random_token(n: usize) -> String {
    use rand::RngCore as _;
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    b64(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es256_tokens_verify_with_their_key_and_not_once_corrupted() {
        let key = EcKey::generate("k1".into());
        let jws = key.sign(&json!({"alg": "ES256", "kid": "k1"}), &json!({"sub": "x"}));
        let parsed = parse(&jws).expect("parses");
        assert_eq!(parsed.kid(), Some("k1"));
        assert!(parsed.verify_es256(key.verifying_key()));
        let other = EcKey::generate("k2".into());
        assert!(!parsed.verify_es256(other.verifying_key()));
        let broken = parse(&corrupt_signature(&jws)).expect("still parses");
        assert!(!broken.verify_es256(key.verifying_key()));
    }

    #[test]
    fn rs256_tokens_verify_with_their_key_and_not_once_corrupted() {
        let key = RsaKey::shared("r1".into());
        let jws = key.sign(&json!({"alg": "RS256", "kid": "r1"}), &json!({"sub": "x"}));
        assert!(parse(&jws).expect("parses").verify_rsa(&key.public_key()));
        let broken = parse(&corrupt_signature(&jws)).expect("still parses");
        assert!(!broken.verify_rsa(&key.public_key()));
    }

    #[test]
    fn hs256_tokens_never_pass_as_es256() {
        let key = EcKey::generate("k1".into());
        let jws = sign_hs256(&json!({"alg": "HS256", "kid": "k1"}), &json!({}), b"secret");
        let parsed = parse(&jws).expect("parses");
        assert!(!parsed.verify_es256(key.verifying_key()));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.",
            "e30.W10.",
            "bm90IGpzb24.e30.",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(parse("e30.e30.").is_some());
    }

    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // From the OIDC Core examples: this access token's at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn pkce_s256_is_base64url_sha256_of_the_verifier() {
        // Worked out independently: base64url(sha256(verifier)) without padding.
        assert_eq!(
            pkce_s256("verifier-0123456789-abcdefghijklmnopqrstuvwxyz"),
            "P2z9-HISyfGmQCy3zRro9mnHlNQpSqpAR_U0x5EiBdU"
        );
    }
}
