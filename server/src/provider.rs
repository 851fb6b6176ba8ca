//! Teacher ID as an OpenID Connect provider (issue 12, DESIGN §7.1): its ID-token signing keys and their rotation,
//! the published JWKS, the discovery document, client secrets, and registering a client (`server client add`).
//! The rules for an authorization request are in [`app::domain::provider`]; the storage in [`crate::db::provider`].
//!
//! **Keys.** A client's ID tokens are signed as it registered ([`IdTokenAlg`]): RS256 (OpenID Connect's default) with
//! a 2048-bit RSA key of our own (never the key we sign One Login client assertions with), or ES256 with an EC P-256
//! key. One key of each algorithm is current. `server keys rotate` ([`rotate_keys`]) makes new current keys at once
//! and keeps the old ones published for [`RETIRING_KEY_PUBLISHED`]: the longest an ID token they signed stays valid
//! ([`ID_TOKEN_LIFETIME`]) and a margin for clocks and caches. A relying party that cached our JWKS meets the new
//! `kid` and fetches the JWKS again (our `Cache-Control` keeps caches short too). If no key of an algorithm exists
//! when the service starts, one is made ([`ensure_signing_key`]).
//!
//! The JOSE work is the `openidconnect` crate's (its `IdToken`, `CoreJsonWebKey`, and `CoreRsaPrivateSigningKey` to
//! read an RSA key and publish its public half); RSA keys are made with `rsa`, EC keys with `ring`. The signatures
//! themselves are `ring`'s ([`IdTokenKey`]): `openidconnect`'s own RSA signer uses the `rsa` crate, about 4 ms of
//! CPU for each ID token on our machine, `ring` about 1.4 ms, and an ES256 signature far less (issue 12, "Measure").

use crate::db::provider::{ClaimsSource, ClientAdded, KeyState, SigningKey};
use crate::db::{DynStore, StoreError};
use app::domain::provider::{Client, ClientAuth, IdTokenAlg, Scope, Scopes, TrnLookupStatus};
use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGenderClaim,
    CoreGrantType, CoreJsonCurveType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
    CoreRsaPrivateSigningKey, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, AuthUrl, IdToken, IdTokenClaims, IssuerUrl,
    JsonWebKeyId, JsonWebKeySetUrl, PrivateSigningKey, ProviderMetadata, ResponseTypes, TokenUrl,
    UserInfoUrl,
};
use serde::{Deserialize, Serialize};

/// How long an ID token we sign is valid.
pub const ID_TOKEN_LIFETIME: Duration = Duration::hours(1);
/// How long a replaced key stays published: every ID token it signed has expired by then, with five minutes for
/// clocks that differ and JWKS caches (we ask for [`JWKS_MAX_AGE_SECONDS`]).
pub const RETIRING_KEY_PUBLISHED: Duration = Duration::minutes(65);
/// `Cache-Control: max-age` of the JWKS: short, since a rotation uses its new key at once.
pub const JWKS_MAX_AGE_SECONDS: u32 = 300;
/// The ID-token keys' size: RS256 with 2048-bit keys, as One Login's own RSA keys.
const RSA_BITS: usize = 2048;

/// Paths of the provider's endpoints, below `PUBLIC_BASE_URL`.
pub const AUTHORIZE_PATH: &str = app::routes::OAUTH_AUTHORIZE;
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
pub const TOKEN_PATH: &str = app::routes::OAUTH_TOKEN;
pub const USERINFO_PATH: &str = app::routes::OAUTH_USERINFO;
pub const END_SESSION_PATH: &str = app::routes::OAUTH_LOGOUT;

/// How long an authorization code may be exchanged (DESIGN §7.1).
pub const CODE_LIFETIME: Duration = Duration::seconds(60);
/// How long an access token is good at the userinfo endpoint.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::hours(1);

/// The endpoints other services' servers call, not browsers: no session, no CSRF token, JSON errors.
pub fn is_client_endpoint(path: &str) -> bool {
    path == TOKEN_PATH || path == USERINFO_PATH
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key: {0}")]
    Key(String),
    #[error("there is no current signing key")]
    NoCurrentKey,
}

/// A new ID-token signing key for `alg`, current from `now`, its `kid` the RFC 7638 thumbprint of its public key.
/// An RSA key is slow to make (a large prime search): run it on a blocking thread.
pub fn generate_signing_key(
    alg: IdTokenAlg,
    now: DateTime<Utc>,
) -> Result<SigningKey, ProviderError> {
    let (private_key_pem, unnamed) = match alg {
        IdTokenAlg::Rs256 => {
            use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
                .map_err(|e| ProviderError::Key(e.to_string()))?;
            let pem = key
                .to_pkcs1_pem(LineEnding::LF)
                .map_err(|e| ProviderError::Key(e.to_string()))?
                .to_string();
            let unnamed = IdTokenKey::from_pem(alg, &pem, "")?;
            (pem, unnamed)
        }
        IdTokenAlg::Es256 => {
            let rng = ring::rand::SystemRandom::new();
            let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &rng,
            )
            .map_err(|e| ProviderError::Key(e.to_string()))?;
            let pem = rsa::pkcs8::der::pem::encode_string(
                "PRIVATE KEY",
                rsa::pkcs8::LineEnding::LF,
                pkcs8.as_ref(),
            )
            .map_err(|e| ProviderError::Key(e.to_string()))?;
            let unnamed = IdTokenKey::from_pem(alg, &pem, "")?;
            (pem, unnamed)
        }
    };
    let mut public = serde_json::to_value(unnamed.as_verification_key()).expect("a JWK serialises");
    if let Some(fields) = public.as_object_mut() {
        fields.remove("kid");
    }
    let kid = thumbprint(&public)?;
    let named = IdTokenKey::from_pem(alg, &private_key_pem, &kid)?;
    Ok(SigningKey {
        public_jwk: named.published_jwk(),
        kid,
        alg,
        private_key_pem,
        state: KeyState::Current,
        created_at: now,
    })
}

/// The RFC 7638 SHA-256 thumbprint of an RSA JWK, computed by `jsonwebtoken`.
fn thumbprint(jwk: &serde_json::Value) -> Result<String, ProviderError> {
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(jwk.clone()).map_err(|e| ProviderError::Key(e.to_string()))?;
    Ok(jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256))
}

async fn generate_off_thread(
    alg: IdTokenAlg,
    now: DateTime<Utc>,
) -> Result<SigningKey, ProviderError> {
    tokio::task::spawn_blocking(move || generate_signing_key(alg, now))
        .await
        .map_err(|e| ProviderError::Key(e.to_string()))?
}

/// Makes a current signing key for each algorithm that has none (at start-up). True when one was made; when two
/// instances start at once, one key is kept and the other instance's is dropped.
pub async fn ensure_signing_key(
    store: &DynStore,
    now: DateTime<Utc>,
) -> Result<bool, ProviderError> {
    let keys = store.signing_keys().await?;
    let mut made = false;
    for alg in IdTokenAlg::ALL {
        if keys
            .iter()
            .any(|k| k.alg == alg && k.state == KeyState::Current)
        {
            continue;
        }
        let key = generate_off_thread(alg, now).await?;
        made |= store.add_first_signing_key(&key).await?;
    }
    Ok(made)
}

/// A new `alg` key signs from `now`; the one it replaces stays published until `now + RETIRING_KEY_PUBLISHED`;
/// keys retired before `now` are dropped. The new key's `kid`.
pub async fn rotate_key(
    store: &DynStore,
    alg: IdTokenAlg,
    now: DateTime<Utc>,
) -> Result<String, ProviderError> {
    let key = generate_off_thread(alg, now).await?;
    store
        .rotate_signing_key(&key, now, now + RETIRING_KEY_PUBLISHED)
        .await?;
    Ok(key.kid)
}

/// `server keys rotate`: [`rotate_key`] for every algorithm. The new keys' algorithms and `kid`s.
pub async fn rotate_keys(
    store: &DynStore,
    now: DateTime<Utc>,
) -> Result<Vec<(IdTokenAlg, String)>, ProviderError> {
    let mut rotated = Vec::new();
    for alg in IdTokenAlg::ALL {
        rotated.push((alg, rotate_key(store, alg, now).await?));
    }
    Ok(rotated)
}

/// The ID-token keys to publish at `now`: the current one and any retiring one whose time has not passed.
pub async fn published_keys(
    store: &DynStore,
    now: DateTime<Utc>,
) -> Result<Vec<serde_json::Value>, StoreError> {
    Ok(store
        .signing_keys()
        .await?
        .into_iter()
        .filter(|k| k.published_at(now))
        .map(|k| k.public_jwk)
        .collect())
}

/// An ID-token signing key ready to sign, computed by `ring`, for `openidconnect`'s `IdToken`: RS256 or ES256. Clones
/// share the parsed key.
#[derive(Clone)]
pub struct IdTokenKey(std::sync::Arc<ParsedKey>);

pub struct ParsedKey {
    pair: KeyPair,
    /// The public half, with its `kid`: `IdToken` puts the `kid` in the header.
    public: CoreJsonWebKey,
}

enum KeyPair {
    Rsa(ring::signature::RsaKeyPair),
    Ec(ring::signature::EcdsaKeyPair),
}

impl IdTokenKey {
    /// The `alg` key in `pem` (as stored: PKCS#1 for RSA, PKCS#8 for EC), known as `kid`.
    pub fn from_pem(alg: IdTokenAlg, pem: &str, kid: &str) -> Result<Self, ProviderError> {
        let key = ProviderError::Key;
        let kid = (!kid.is_empty()).then(|| JsonWebKeyId::new(kid.into()));
        let (pair, public) = match alg {
            IdTokenAlg::Rs256 => {
                use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
                let der = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
                    .and_then(|k| k.to_pkcs1_der())
                    .map_err(|e| key(e.to_string()))?;
                let pair = ring::signature::RsaKeyPair::from_der(der.as_bytes())
                    .map_err(|e| key(e.to_string()))?;
                let public = CoreRsaPrivateSigningKey::from_pem(pem, kid)
                    .map_err(key)?
                    .as_verification_key();
                (KeyPair::Rsa(pair), public)
            }
            IdTokenAlg::Es256 => {
                let (label, der) = rsa::pkcs8::der::pem::decode_vec(pem.as_bytes())
                    .map_err(|e| key(e.to_string()))?;
                if label != "PRIVATE KEY" {
                    return Err(key(format!("an EC key is PKCS#8, not {label}")));
                }
                let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
                    &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &der,
                    &ring::rand::SystemRandom::new(),
                )
                .map_err(|e| key(e.to_string()))?;
                // The uncompressed point: 0x04, then x and y, 32 bytes each.
                use ring::signature::KeyPair as _;
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err(key("not an uncompressed P-256 point".into()));
                }
                let public = CoreJsonWebKey::new_ec(
                    point[1..33].to_vec(),
                    point[33..].to_vec(),
                    CoreJsonCurveType::P256,
                    kid,
                );
                (KeyPair::Ec(pair), public)
            }
        };
        Ok(Self(std::sync::Arc::new(ParsedKey { pair, public })))
    }

    /// What it signs with.
    pub fn alg(&self) -> IdTokenAlg {
        match self.0.pair {
            KeyPair::Rsa(_) => IdTokenAlg::Rs256,
            KeyPair::Ec(_) => IdTokenAlg::Es256,
        }
    }

    /// Its public JWK as published: `openidconnect`'s, with the `alg` it signs with added so a relying party can
    /// check the token's header against it (One Login RP rule 25 asks the same of One Login's).
    fn published_jwk(&self) -> serde_json::Value {
        let mut jwk = serde_json::to_value(&self.0.public).expect("a JWK serialises");
        jwk["alg"] = self.alg().as_str().into();
        jwk
    }
}

/// `openidconnect`'s name for `alg`.
pub fn jws_alg(alg: IdTokenAlg) -> CoreJwsSigningAlgorithm {
    match alg {
        IdTokenAlg::Rs256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        IdTokenAlg::Es256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    }
}

impl PrivateSigningKey for IdTokenKey {
    type VerificationKey = CoreJsonWebKey;

    fn sign(
        &self,
        alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, openidconnect::SigningError> {
        if *alg != jws_alg(self.alg()) {
            return Err(openidconnect::SigningError::UnsupportedAlg(format!(
                "{alg:?}"
            )));
        }
        let rng = ring::rand::SystemRandom::new();
        match &self.0.pair {
            KeyPair::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &rng,
                    message,
                    &mut signature,
                )
                .map_err(|_| openidconnect::SigningError::CryptoError)?;
                Ok(signature)
            }
            // JWS's ES256 signature is r and s side by side (RFC 7518 §3.4): ring's "fixed" form.
            KeyPair::Ec(pair) => Ok(pair
                .sign(&rng, message)
                .map_err(|_| openidconnect::SigningError::CryptoError)?
                .as_ref()
                .to_vec()),
        }
    }

    fn as_verification_key(&self) -> CoreJsonWebKey {
        self.0.public.clone()
    }
}

/// The current `alg` signing key, ready to sign. Which key is current is read from the database each time (a
/// rotation on any instance takes effect at once); a key is parsed once per process and kept by its `kid`, which
/// names exactly one key (the thumbprint of its public half).
pub async fn current_signing_key(
    store: &DynStore,
    alg: IdTokenAlg,
) -> Result<IdTokenKey, ProviderError> {
    let key = store
        .signing_keys()
        .await?
        .into_iter()
        .find(|k| k.alg == alg && k.state == KeyState::Current)
        .ok_or(ProviderError::NoCurrentKey)?;
    parsed_key(&key)
}

type ParsedKeys = std::collections::HashMap<String, IdTokenKey>;

/// This process's parsed keys, by `kid`.
fn parsed_keys() -> std::sync::MutexGuard<'static, ParsedKeys> {
    static PARSED: std::sync::OnceLock<std::sync::Mutex<ParsedKeys>> = std::sync::OnceLock::new();
    PARSED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The current `alg` key, `kid` as the database just said (`None`: it has none). The token endpoint reads the
/// `kid` with the teacher's claims, in the same statement, so a key parsed before costs no round trip; any other
/// (a rotation on another instance) is read and parsed once.
pub async fn signing_key_by_kid(
    store: &DynStore,
    alg: IdTokenAlg,
    kid: Option<&str>,
) -> Result<IdTokenKey, ProviderError> {
    if let Some(ready) = kid.and_then(|kid| parsed_keys().get(kid).cloned()) {
        if ready.alg() == alg {
            return Ok(ready);
        }
    }
    current_signing_key(store, alg).await
}

/// `key` parsed, from this process's keys kept by `kid` when it was parsed before.
pub fn parsed_key(key: &SigningKey) -> Result<IdTokenKey, ProviderError> {
    if let Some(ready) = parsed_keys().get(&key.kid) {
        return Ok(ready.clone());
    }
    let ready = IdTokenKey::from_pem(key.alg, &key.private_key_pem, &key.kid)?;
    let mut kept = parsed_keys();
    // A few keys in a process's life (two per rotation, or per test database): bounded all the same.
    if kept.len() >= 32 {
        kept.clear();
    }
    kept.insert(key.kid.clone(), ready.clone());
    Ok(ready)
}

/// An ID token of ours, signed.
pub type SignedIdToken = IdToken<
    TeacherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// Signs `claims` as an ID token with `key`, with the algorithm it is for, its `kid` in the header.
pub fn sign_id_token<AC: AdditionalClaims>(
    claims: IdTokenClaims<AC, CoreGenderClaim>,
    key: &IdTokenKey,
) -> Result<
    IdToken<AC, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>,
    ProviderError,
> {
    sign_id_token_as(claims, key, key.alg())
}

/// Signs `claims` as an ID token with any of `openidconnect`'s signing keys, as `alg`.
pub fn sign_id_token_as<AC: AdditionalClaims>(
    claims: IdTokenClaims<AC, CoreGenderClaim>,
    key: &impl PrivateSigningKey<VerificationKey = CoreJsonWebKey>,
    alg: IdTokenAlg,
) -> Result<
    IdToken<AC, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>,
    ProviderError,
> {
    IdToken::new(claims, key, jws_alg(alg), None, None)
        .map_err(|e| ProviderError::Key(e.to_string()))
}

/// Our claims beyond OpenID Connect's standard ones (DESIGN §7.1), in ID tokens and at userinfo.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeacherClaims {
    /// With `profile`: `true` when the identity was verified (by One Login or by support), `false` for the name
    /// and date of birth of a DfE Identity account, which nobody checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// With `teaching_record`, when connected to a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trn: Option<String>,
    /// With `teaching_record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trn_lookup_status: Option<TrnLookupStatus>,
}

impl AdditionalClaims for TeacherClaims {}

/// Everything a client may learn of a teacher, for the scopes it was granted: the userinfo answer, and the ID
/// token's claims beyond the token's own (`iss`, `aud`, `exp`, `iat`, `nonce`, `auth_time`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `YYYY-MM-DD` (OIDC Core §5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(flatten)]
    pub teacher: TeacherClaims,
}

impl Claims {
    /// The claims of `teacher`, known to clients as `sub`, for `scopes`: `email` with `email`; the verified name
    /// and date of birth and `verified: true` with `profile` once verified; with `teaching_record`, the TRN once
    /// connected and `trn_lookup_status`.
    ///
    /// A DfE Identity account holder whose identity nobody verified (DESIGN §7.3) gets their account's email, and
    /// with `profile` the name and date of birth they typed, marked `verified: false` so a service never takes them
    /// for checked ones. One Login's verified email and identity win when the person has both ways in.
    pub fn of(sub: String, scopes: &Scopes, teacher: &ClaimsSource) -> Self {
        let profile = scopes.contains(Scope::Profile);
        let identity = teacher.user.verified_identity().filter(|_| profile);
        let account = teacher.account.as_ref();
        let unverified = account.filter(|_| profile && teacher.user.verified_identity().is_none());
        let record = scopes.contains(Scope::TeachingRecord);
        Claims {
            sub,
            email: teacher
                .user
                .email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .or_else(|| account.map(|a| a.email.clone()))
                .filter(|_| scopes.contains(Scope::Email)),
            name: identity
                .and_then(|i| i.current_name())
                .map(|n| n.full_name())
                .or_else(|| unverified.map(|a| a.name.clone())),
            birthdate: identity
                .and_then(|i| i.dates_of_birth.first().copied())
                .or_else(|| unverified.map(|a| a.date_of_birth))
                // `YYYY-MM-DD`: a date's `Display` (ISO 8601), without `format`'s parsing of a pattern each time.
                .map(|d| d.to_string()),
            teacher: TeacherClaims {
                verified: match (identity, unverified) {
                    (Some(_), _) => Some(true),
                    (None, Some(_)) => Some(false),
                    (None, None) => None,
                },
                trn: teacher.trn.clone().filter(|_| record),
                trn_lookup_status: record
                    .then(|| TrnLookupStatus::of(teacher.trn.is_some(), teacher.open_task)),
            },
        }
    }

    /// As ID-token claims for `client_id`, issued by `issuer` at `now` for a teacher who authenticated at
    /// `auth_time`, with the authorization request's `nonce`.
    pub fn id_token_claims(
        &self,
        issuer: &str,
        client_id: &str,
        nonce: &str,
        auth_time: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<IdTokenClaims<TeacherClaims, CoreGenderClaim>, ProviderError> {
        use openidconnect::{
            Audience, EndUserBirthday, EndUserEmail, EndUserName, LocalizedClaim, Nonce,
            StandardClaims, SubjectIdentifier,
        };
        let mut standard = StandardClaims::new(SubjectIdentifier::new(self.sub.clone()))
            .set_email(self.email.clone().map(EndUserEmail::new))
            .set_birthdate(self.birthdate.clone().map(EndUserBirthday::new));
        if let Some(name) = &self.name {
            let mut localized = LocalizedClaim::new();
            localized.insert(None, EndUserName::new(name.clone()));
            standard = standard.set_name(Some(localized));
        }
        Ok(IdTokenClaims::new(
            issuer_url(issuer)?,
            vec![Audience::new(client_id.into())],
            now + ID_TOKEN_LIFETIME,
            now,
            standard,
            self.teacher.clone(),
        )
        .set_nonce(Some(Nonce::new(nonce.into())))
        .set_auth_time(Some(auth_time)))
    }
}

/// `issuer` as `openidconnect`'s URL, parsed once per process for the one issuer a process has (a URL's parsing,
/// its host's IDNA check included, was a visible part of a token request's CPU); any other is parsed each time.
fn issuer_url(issuer: &str) -> Result<IssuerUrl, ProviderError> {
    static KEPT: std::sync::OnceLock<IssuerUrl> = std::sync::OnceLock::new();
    if let Some(kept) = KEPT.get().filter(|kept| kept.as_str() == issuer) {
        return Ok(kept.clone());
    }
    let parsed = IssuerUrl::new(issuer.into()).map_err(|e| ProviderError::Key(e.to_string()))?;
    // The first one asked for is kept; a process with several (the tests) parses the others each time.
    let _ = KEPT.set(parsed.clone());
    Ok(parsed)
}

/// Discovery's fields beyond OIDC Discovery's own: PKCE's methods (RFC 8414 §2) and the logout endpoint
/// (RP-Initiated Logout 1.0 §2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PkceMetadata {
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
}

impl AdditionalProviderMetadata for PkceMetadata {}

/// `openidconnect`'s `CoreProviderMetadata` with [`PkceMetadata`] added.
pub type Discovery = ProviderMetadata<
    PkceMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The discovery document for the issuer `public_base_url`.
///
/// It lists only endpoints that exist: authorization, token, userinfo, logout (`end_session_endpoint`) and the
/// JWKS, so that no client is sent to a 404.
pub fn discovery(public_base_url: &str) -> Discovery {
    let url = |path: &str| format!("{public_base_url}{path}");
    let mut scopes: Vec<openidconnect::Scope> = Scope::ALL
        .iter()
        .map(|s| openidconnect::Scope::new(s.as_str().into()))
        .collect();
    scopes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    Discovery::new(
        IssuerUrl::new(public_base_url.into()).expect("PUBLIC_BASE_URL is an http(s) URL"),
        AuthUrl::new(url(AUTHORIZE_PATH)).expect("a URL below PUBLIC_BASE_URL"),
        JsonWebKeySetUrl::new(url(JWKS_PATH)).expect("a URL below PUBLIC_BASE_URL"),
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        IdTokenAlg::ALL.into_iter().map(jws_alg).collect(),
        PkceMetadata {
            code_challenge_methods_supported: vec!["S256".into()],
            end_session_endpoint: Some(url(END_SESSION_PATH)),
        },
    )
    .set_scopes_supported(Some(scopes))
    .set_response_modes_supported(Some(vec![CoreResponseMode::Query]))
    .set_claims_supported(Some(
        [
            "sub",
            "email",
            "name",
            "birthdate",
            "trn",
            "trn_lookup_status",
            "verified",
        ]
        .into_iter()
        .map(|c| CoreClaimName::new(c.into()))
        .collect(),
    ))
    .set_token_endpoint(Some(
        TokenUrl::new(url(TOKEN_PATH)).expect("a URL below PUBLIC_BASE_URL"),
    ))
    .set_userinfo_endpoint(Some(
        UserInfoUrl::new(url(USERINFO_PATH)).expect("a URL below PUBLIC_BASE_URL"),
    ))
    .set_grant_types_supported(Some(vec![CoreGrantType::AuthorizationCode]))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::PrivateKeyJwt,
        CoreClientAuthMethod::ClientSecretPost,
        CoreClientAuthMethod::ClientSecretBasic,
    ]))
    .set_token_endpoint_auth_signing_alg_values_supported(Some(vec![
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    ]))
    .set_claims_parameter_supported(Some(false))
    .set_request_parameter_supported(Some(false))
    .set_request_uri_parameter_supported(Some(false))
}

/// Whether `presented` is the secret of a client that authenticates with one, compared in constant time.
pub fn client_secret_matches(auth: &ClientAuth, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    match auth {
        ClientAuth::ClientSecret { sha256 } => crate::http::assets::sha256_hex(presented)
            .as_bytes()
            .ct_eq(sha256.as_bytes())
            .into(),
        ClientAuth::PrivateKeyJwt(_) => false,
    }
}

/// Arguments of `server client add`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAddArgs {
    /// The client, with a placeholder secret hash when [`ClientAddArgs::generate_secret`].
    pub client: Client,
    pub generate_secret: bool,
}

pub const CLIENT_ADD_USAGE: &str =
    "usage: server client add --client-id ID --name NAME --service-url URL \
--redirect-uri URI [--redirect-uri URI ...] [--post-logout-redirect-uri URI ...] \
--auth client_secret|private_key_jwt [--jwks-uri URL | --jwks JSON] \
[--scopes \"openid email profile teaching_record\"] --sign-in one_login|one_login_or_account \
--trn required|optional [--mobile required|optional] [--id-token-alg RS256|ES256]";

impl ClientAddArgs {
    /// Reads and checks the arguments; every problem is a message for the person typing them. The checks are
    /// the console's too ([`crate::client_registration::check_client`]); only the flags are read here.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        use crate::client_registration::{check_client, ClientInput};
        let mut input = ClientInput::default();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{CLIENT_ADD_USAGE}"))?;
            let one = match flag.as_str() {
                "--redirect-uri" => {
                    input.redirect_uris.push(value.clone());
                    continue;
                }
                "--post-logout-redirect-uri" => {
                    input.post_logout_redirect_uris.push(value.clone());
                    continue;
                }
                "--client-id" => &mut input.client_id,
                "--name" => &mut input.display_name,
                "--service-url" => &mut input.service_url,
                "--auth" => &mut input.auth,
                "--jwks-uri" => &mut input.jwks_uri,
                "--jwks" => &mut input.jwks,
                "--scopes" => &mut input.scopes,
                "--sign-in" => &mut input.sign_in,
                "--trn" => &mut input.trn,
                "--mobile" => &mut input.mobile,
                "--id-token-alg" => &mut input.id_token_alg,
                _ => return Err(format!("unknown option `{flag}`\n{CLIENT_ADD_USAGE}")),
            };
            if one.replace(value.clone()).is_some() {
                return Err(format!("{flag} given twice"));
            }
        }
        check_client(&input).map_err(|problems| {
            problems
                .first()
                .map_or_else(|| CLIENT_ADD_USAGE.to_string(), |p| p.cli())
        })
    }
}

/// What `server client add` did.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientAddOutcome {
    /// Registered; the secret (shown once) when one was made.
    Added {
        secret: Option<String>,
    },
    DuplicateClientId,
}

/// Registers the client `args` describe, making its secret if it uses one.
pub async fn client_add(
    store: &DynStore,
    args: ClientAddArgs,
    now: DateTime<Utc>,
) -> Result<ClientAddOutcome, StoreError> {
    let mut client = args.client;
    let secret = if args.generate_secret {
        let (secret, sha256) = crate::http::cookies::new_secret();
        client.auth = ClientAuth::ClientSecret { sha256 };
        Some(secret)
    } else {
        None
    };
    Ok(match store.add_client(&client, now).await? {
        ClientAdded::Added => ClientAddOutcome::Added { secret },
        ClientAdded::DuplicateClientId => ClientAddOutcome::DuplicateClientId,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::provider::{ClientKeys, MobilePolicy, SignInPolicy, TrnPolicy};

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    const GOOD: &[&str] = &[
        "--client-id",
        "npq",
        "--name",
        "Register for an NPQ",
        "--service-url",
        "https://npq.example",
        "--redirect-uri",
        "https://npq.example/callback",
        "--auth",
        "client_secret",
        "--sign-in",
        "one_login_or_account",
        "--trn",
        "optional",
    ];

    fn with(extra: &[&str]) -> Vec<String> {
        let mut a = args(GOOD);
        a.extend(args(extra));
        a
    }

    fn replacing(flag: &str, value: &str) -> Vec<String> {
        let mut a = args(GOOD);
        let at = a.iter().position(|f| f == flag).unwrap();
        a[at + 1] = value.into();
        a
    }

    #[test]
    fn client_add_reads_a_good_command_line() {
        let parsed = ClientAddArgs::parse(&with(&[
            "--post-logout-redirect-uri",
            "http://localhost:3000/out",
        ]))
        .unwrap();
        assert!(parsed.generate_secret);
        let c = parsed.client;
        assert_eq!(c.client_id, "npq");
        assert_eq!(c.redirect_uris, vec!["https://npq.example/callback"]);
        assert_eq!(
            c.post_logout_redirect_uris,
            vec!["http://localhost:3000/out"]
        );
        assert_eq!(
            (c.sign_in, c.trn),
            (SignInPolicy::OneLoginOrAccount, TrnPolicy::Optional)
        );
        assert_eq!(
            c.allowed_scopes.to_param(),
            "openid email profile teaching_record"
        );
        assert!(c.enabled);
        assert_eq!(c.mobile, MobilePolicy::Required, "without --mobile");
        let optional = ClientAddArgs::parse(&with(&["--mobile", "optional"])).unwrap();
        assert_eq!(optional.client.mobile, MobilePolicy::Optional);
    }

    #[test]
    fn client_add_refuses_bad_input_with_a_message() {
        for (bad, says) in [
            (
                replacing("--redirect-uri", "http://npq.example/callback"),
                "must be https",
            ),
            (
                replacing("--redirect-uri", "https://npq.example/cb#x"),
                "fragment",
            ),
            (
                replacing("--redirect-uri", "/callback"),
                "not an absolute URL",
            ),
            (
                replacing("--redirect-uri", "https://u:p@npq.example/cb"),
                "user name",
            ),
            (replacing("--client-id", "has space"), "--client-id must be"),
            (replacing("--auth", "magic"), "unknown --auth"),
            (replacing("--sign-in", "account"), "unknown --sign-in"),
            (replacing("--trn", "maybe"), "unknown --trn"),
            (with(&["--mobile", "maybe"]), "unknown --mobile"),
            (replacing("--name", "  "), "--name is needed"),
            (with(&["--scopes", "email"]), "must include openid"),
            (with(&["--scopes", "openid phone"]), "--scopes"),
            (
                with(&["--jwks-uri", "https://npq.example/jwks"]),
                "are for --auth private_key_jwt",
            ),
            (with(&["--client-id", "again"]), "given twice"),
            (with(&["--colour", "blue"]), "unknown option"),
            (with(&["--trn"]), "needs a value"),
        ] {
            let e = ClientAddArgs::parse(&bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
        let mut no_redirect = args(GOOD);
        no_redirect.drain(6..8);
        assert!(ClientAddArgs::parse(&no_redirect)
            .unwrap_err()
            .contains("--redirect-uri is needed"));
    }

    #[test]
    fn a_private_key_jwt_client_names_its_keys_once() {
        let jwt = replacing("--auth", "private_key_jwt");
        assert!(ClientAddArgs::parse(&jwt)
            .unwrap_err()
            .contains("needs either"));
        let mut both = jwt.clone();
        both.extend(args(&[
            "--jwks-uri",
            "https://npq.example/jwks",
            "--jwks",
            "{}",
        ]));
        assert!(ClientAddArgs::parse(&both).is_err());
        let mut by_url = jwt.clone();
        by_url.extend(args(&["--jwks-uri", "https://npq.example/jwks"]));
        let parsed = ClientAddArgs::parse(&by_url).unwrap();
        assert!(!parsed.generate_secret);
        assert_eq!(
            parsed.client.auth,
            ClientAuth::PrivateKeyJwt(ClientKeys::JwksUri("https://npq.example/jwks".into()))
        );
        let mut no_kid = jwt;
        no_kid.extend(args(&[
            "--jwks",
            r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#,
        ]));
        assert!(ClientAddArgs::parse(&no_kid).unwrap_err().contains("kid"));
    }

    #[test]
    fn the_issuer_kept_parsed_is_used_only_for_itself() {
        let a = "https://teacher-id.example";
        let b = "http://127.0.0.1:3000";
        for _ in 0..2 {
            assert_eq!(issuer_url(a).unwrap().as_str(), a);
            assert_eq!(issuer_url(b).unwrap().as_str(), b);
            assert_eq!(issuer_url(b).unwrap().url().port(), Some(3000));
        }
        assert!(issuer_url("not a URL").is_err());
    }

    #[test]
    fn a_client_secret_is_checked_against_its_hash_only() {
        let (secret, sha256) = crate::http::cookies::new_secret();
        assert_eq!(secret.len(), 43, "256 bits, base64url");
        assert_ne!(secret, sha256);
        let auth = ClientAuth::ClientSecret { sha256 };
        assert!(client_secret_matches(&auth, &secret));
        assert!(!client_secret_matches(&auth, &format!("{secret}x")));
        assert!(!client_secret_matches(&auth, ""));
        let jwt = ClientAuth::PrivateKeyJwt(ClientKeys::JwksUri("https://x".into()));
        assert!(!client_secret_matches(&jwt, &secret));
    }

    #[test]
    fn a_retiring_key_outlives_every_id_token_it_signed() {
        // Published past the last expiry by at least the clock leeway relying parties allow (One Login RP notes
        // rule 28: small) and a JWKS cache's lifetime.
        let margin = RETIRING_KEY_PUBLISHED - ID_TOKEN_LIFETIME;
        assert!(margin >= Duration::seconds(JWKS_MAX_AGE_SECONDS.into()));
        assert!(
            margin <= Duration::minutes(15),
            "not kept for long after it is needed"
        );
    }

    #[test]
    fn ring_signs_exactly_as_openidconnects_own_rsa_signer() {
        // RS256 (PKCS#1 v1.5) is deterministic: the same key and message give the same signature, so an ID token
        // signed by `ring` is the one `openidconnect` would have made.
        let key = generate_signing_key(IdTokenAlg::Rs256, Utc::now()).unwrap();
        let ours = IdTokenKey::from_pem(IdTokenAlg::Rs256, &key.private_key_pem, &key.kid).unwrap();
        let theirs = CoreRsaPrivateSigningKey::from_pem(
            &key.private_key_pem,
            Some(JsonWebKeyId::new(key.kid.clone())),
        )
        .unwrap();
        let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        let message = b"header.claims";
        assert_eq!(
            ours.sign(&rs256, message).unwrap(),
            theirs.sign(&rs256, message).unwrap()
        );
        assert_eq!(ours.as_verification_key(), theirs.as_verification_key());
        assert!(ours
            .sign(&CoreJwsSigningAlgorithm::EcdsaP256Sha256, message)
            .is_err());
    }

    #[test]
    fn an_es256_signature_is_r_and_s_and_verifies_with_the_published_point() {
        let key = generate_signing_key(IdTokenAlg::Es256, Utc::now()).unwrap();
        let ours = IdTokenKey::from_pem(IdTokenAlg::Es256, &key.private_key_pem, &key.kid).unwrap();
        let es256 = CoreJwsSigningAlgorithm::EcdsaP256Sha256;
        let message = b"header.claims";
        let signature = ours.sign(&es256, message).unwrap();
        assert_eq!(signature.len(), 64, "JWS's fixed r || s, not DER");
        // Checked by another implementation (openidconnect's, with the `p256` crate) against the published JWK.
        let published: CoreJsonWebKey = serde_json::from_value(key.public_jwk.clone()).unwrap();
        use openidconnect::JsonWebKey;
        published
            .verify_signature(&es256, message, &signature)
            .unwrap();
        assert!(published
            .verify_signature(&es256, b"header.other", &signature)
            .is_err());
        assert!(ours
            .sign(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, message)
            .is_err());
        assert!(key
            .private_key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(key.public_jwk["kty"], "EC");
        assert_eq!(key.public_jwk["crv"], "P-256");
        assert_eq!(key.public_jwk["alg"], "ES256");
        assert_eq!(key.public_jwk["use"], "sig");
        assert_eq!(key.public_jwk["kid"], key.kid.as_str());
        assert!(key.public_jwk.get("d").is_none());
        // The kid is the RFC 7638 thumbprint of the public key, as for RSA keys.
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk.clone()).unwrap();
        assert_eq!(
            jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256),
            key.kid
        );
        assert!(IdTokenKey::from_pem(IdTokenAlg::Rs256, &key.private_key_pem, &key.kid).is_err());
    }

    #[test]
    fn a_key_is_published_under_its_thumbprint_without_its_private_part() {
        let key = generate_signing_key(IdTokenAlg::Rs256, Utc::now()).unwrap();
        assert!(key
            .private_key_pem
            .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert_eq!(key.public_jwk["kid"], key.kid.as_str());
        assert_eq!(key.public_jwk["alg"], "RS256");
        assert_eq!(key.public_jwk["use"], "sig");
        assert!(key.public_jwk.get("d").is_none());
        assert_eq!(key.kid.len(), 43, "a base64url SHA-256");
    }
}
