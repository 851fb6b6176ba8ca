//! The provider's state: its registration of the one client, its keys, and what is in flight (authorise requests
//! waiting at the picker, codes, access tokens, client-assertion ids already used). All in memory: a restart forgets
//! every sign-in, as a real provider's sessions would expire.

use crate::control::{Misbehaviour, NextLogin};
use crate::jose::{EcKey, RsaKey};
use crate::personas::Persona;
use crate::staff::{
    StaffClient, StaffGrant, StaffMember, StaffRequest, STAFF_ACCESS_TOKEN_TTL_SECS,
};
use rsa::RsaPublicKey;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// How long a code can be exchanged, as in One Login.
pub const CODE_TTL_SECS: i64 = 60;
/// How long an access token works at `/userinfo`.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 180;
/// How long an ID token is valid.
pub const ID_TOKEN_TTL_SECS: i64 = 120;
/// How long a core identity JWT is valid (the real service; the sim gives 24 h).
pub const CORE_IDENTITY_TTL_SECS: i64 = 30 * 60;
/// How long someone may take at the picker.
pub const PICKER_TTL_SECS: i64 = 30 * 60;
/// How long a logout token is valid.
pub const LOGOUT_TOKEN_TTL_SECS: i64 = 120;

/// The claim names One Login's userinfo uses for identity.
pub const CORE_IDENTITY_CLAIM: &str = "https://vocab.account.gov.uk/v1/coreIdentityJWT";
pub const RETURN_CODE_CLAIM: &str = "https://vocab.account.gov.uk/v1/returnCode";
pub const ADDRESS_CLAIM: &str = "https://vocab.account.gov.uk/v1/address";
pub const PASSPORT_CLAIM: &str = "https://vocab.account.gov.uk/v1/passport";
pub const DRIVING_PERMIT_CLAIM: &str = "https://vocab.account.gov.uk/v1/drivingPermit";

/// Now, in seconds since the epoch: every time in a token is one of these.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A validated `/authorize` request.
#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    pub scopes: BTreeSet<String>,
    /// `vtr=["Cl.Cm.P2"]`: identity was asked for.
    pub identity: bool,
    /// The userinfo claims asked for with `claims`.
    pub claims: BTreeSet<String>,
    pub code_challenge: Option<String>,
}

impl AuthRequest {
    pub fn wants(&self, claim: &str) -> bool {
        self.claims.contains(claim)
    }
}

/// Whether identity was proven in this sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Not asked for, or the outcome was authentication only.
    NotRequested,
    Verified,
    NotVerified,
}

/// A completed sign-in: what a code, and then an access token, stands for.
#[derive(Clone, Debug)]
pub struct Grant {
    pub request: AuthRequest,
    pub person: Persona,
    pub identity: Identity,
    pub misbehave: Vec<Misbehaviour>,
    pub sid: String,
    pub auth_time: i64,
    /// When the code (or access token) was issued.
    pub issued_at: i64,
}

impl Grant {
    pub fn has(&self, m: Misbehaviour) -> bool {
        self.misbehave.contains(&m)
    }
}

/// ID-token signing keys: the published ones (the last signs) and the one that rotation brings in next.
pub struct KeyRing {
    pub published: Vec<EcKey>,
    pub next: EcKey,
    /// Keys no longer published: still accepted in an `id_token_hint` at logout, which does not expire.
    pub retired: Vec<EcKey>,
}

impl KeyRing {
    pub fn new() -> Self {
        Self {
            published: vec![EcKey::generate(uuid::Uuid::new_v4().to_string())],
            next: EcKey::generate(uuid::Uuid::new_v4().to_string()),
            retired: Vec::new(),
        }
    }

    /// The key that signs now.
    pub fn active(&self) -> &EcKey {
        // `published` is never empty: it starts with one key and `rotate` only adds before it trims.
        &self.published[self.published.len() - 1]
    }

    /// Publishes the next key and signs with it from now on. The previous key stays published, as in a real
    /// rotation; older ones retire.
    pub fn rotate(&mut self) {
        let next = std::mem::replace(
            &mut self.next,
            EcKey::generate(uuid::Uuid::new_v4().to_string()),
        );
        self.published.push(next);
        while self.published.len() > 2 {
            self.retired.push(self.published.remove(0));
        }
    }

    pub fn find(&self, kid: &str) -> Option<&EcKey> {
        self.published
            .iter()
            .chain(&self.retired)
            .find(|k| k.kid == kid)
    }
}

/// Core identity signing keys, named `<did>#<uuid>`: the one that signs now, and those it replaced, which the DID
/// document keeps publishing so that credentials signed before a rotation still verify.
pub struct IdentityKeys {
    pub current: EcKey,
    pub previous: Vec<EcKey>,
}

impl IdentityKeys {
    pub fn new(did: &str) -> Self {
        Self {
            current: Self::generate(did),
            previous: Vec::new(),
        }
    }

    fn generate(did: &str) -> EcKey {
        EcKey::generate(format!("{did}#{}", uuid::Uuid::new_v4()))
    }

    /// Signs with a new key from now on, as One Login's weekly identity-key rotation does.
    pub fn rotate(&mut self, did: &str) {
        let old = std::mem::replace(&mut self.current, Self::generate(did));
        self.previous.push(old);
    }

    /// Every key the DID document publishes, newest first.
    pub fn published(&self) -> impl Iterator<Item = &EcKey> {
        std::iter::once(&self.current).chain(self.previous.iter().rev())
    }
}

/// Sign-ins in flight.
#[derive(Default)]
pub struct Store {
    pub next_login: Option<NextLogin>,
    /// Requests waiting at the picker, by the id in its hidden field, with when they arrived.
    pub pending: HashMap<String, (AuthRequest, i64)>,
    pub codes: HashMap<String, Grant>,
    pub access_tokens: HashMap<String, Grant>,
    /// Client-assertion `jti`s already used, with when they can be forgotten (after the assertion's `exp`).
    pub used_jtis: HashMap<String, i64>,
    /// The staff client's next sign-in, decided in advance; never the teacher client's.
    pub next_staff_login: Option<StaffMember>,
    /// Staff requests waiting at the staff picker, by the id in its hidden field, with when they arrived.
    pub staff_pending: HashMap<String, (StaffRequest, i64)>,
    /// Staff codes: kept apart from the teacher client's, so neither client can redeem the other's.
    pub staff_codes: HashMap<String, StaffGrant>,
    /// Staff access tokens (for `/userinfo`), with who they stand for and when they were issued.
    pub staff_access_tokens: HashMap<String, (StaffMember, i64)>,
}

impl Store {
    /// Forgets what has expired, so a long-running stand-in does not grow.
    pub fn sweep(&mut self, now: i64) {
        self.pending
            .retain(|_, (_, at)| now - *at < PICKER_TTL_SECS);
        self.codes.retain(|_, g| now - g.issued_at < CODE_TTL_SECS);
        self.access_tokens
            .retain(|_, g| now - g.issued_at < ACCESS_TOKEN_TTL_SECS);
        // Keep a jti a little past its exp, so an assertion replayed at the edge of its life is still caught.
        self.used_jtis.retain(|_, until| *until + 60 > now);
        self.staff_pending
            .retain(|_, (_, at)| now - *at < PICKER_TTL_SECS);
        self.staff_codes
            .retain(|_, g| now - g.issued_at < CODE_TTL_SECS);
        self.staff_access_tokens
            .retain(|_, (_, at)| now - *at < STAFF_ACCESS_TOKEN_TTL_SECS);
    }
}

/// Everything the handlers share.
pub struct Provider {
    /// With a trailing slash, e.g. `http://127.0.0.1:3900/`.
    pub issuer: String,
    /// The core identity credential's `iss`, whose host serves the DID document: the issuer, unless the stand-in
    /// was started with a separate identity host (as One Login's `identity.` host is separate from `oidc.`).
    pub identity_issuer: String,
    pub client_id: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub client_key: RsaPublicKey,
    pub backchannel_logout_uri: Option<String>,
    /// The second client, the support console's staff sign-in, if configured.
    pub staff: Option<StaffClient>,
    pub personas: Vec<Persona>,
    /// `did:web:127.0.0.1%3A3900`: the identity issuer's host.
    pub did: String,
    /// Sign core identity JWTs.
    pub identity_keys: Mutex<IdentityKeys>,
    /// An RSA key published in the JWKS beside the EC ones, as One Login's is. It signs nothing a relying party
    /// that registered ES256 should accept.
    pub rsa_key: RsaKey,
    /// The client's keys by `kid` when it registered a JWKS rather than a PEM ([`crate::Standin::register_client_jwks`]).
    pub client_jwks: Mutex<Option<HashMap<String, RsaPublicKey>>>,
    /// A key published nowhere, for the unknown-kid misbehaviours.
    pub rogue_key: EcKey,
    pub keys: Mutex<KeyRing>,
    pub store: Mutex<Store>,
    /// GOV.UK Frontend's CSS, if it was found at start-up.
    pub css: Option<Vec<u8>>,
    pub http: reqwest::Client,
}

impl Provider {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The in-flight store. A handler that panicked while holding the lock left nothing half-written that matters
    /// more than staying up, so poisoning is ignored.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn keys(&self) -> MutexGuard<'_, KeyRing> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn client_jwks(&self) -> MutexGuard<'_, Option<HashMap<String, RsaPublicKey>>> {
        self.client_jwks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn identity_keys(&self) -> MutexGuard<'_, IdentityKeys> {
        self.identity_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A URL on the identity issuer's host.
    pub fn identity_url(&self, path: &str) -> String {
        format!("{}{path}", self.identity_issuer)
    }

    /// Whether the DID document is served from a host of its own.
    pub fn separate_identity_host(&self) -> bool {
        self.identity_issuer != self.issuer
    }

    pub fn persona(&self, id: &str) -> Option<&Persona> {
        self.personas.iter().find(|p| p.id == id)
    }
}

/// `did:web:` for the issuer's host: the port's colon is percent-encoded, as did:web requires and One Login's
/// simulator shows. `None` if the issuer is not an http(s) URL with a host.
pub fn did_for_issuer(issuer: &str) -> Option<String> {
    let rest = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"))?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("did:web:{}", host.replace(':', "%3A")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_web_encodes_the_port_colon() {
        assert_eq!(
            did_for_issuer("http://127.0.0.1:3900/").as_deref(),
            Some("did:web:127.0.0.1%3A3900")
        );
        assert_eq!(
            did_for_issuer("https://identity.integration.account.gov.uk/").as_deref(),
            Some("did:web:identity.integration.account.gov.uk")
        );
        assert_eq!(did_for_issuer("ftp://x/"), None);
        assert_eq!(did_for_issuer("http:///"), None);
    }

    #[test]
    fn rotation_publishes_the_next_key_and_signs_with_it() {
        let mut ring = KeyRing::new();
        let first = ring.active().kid.clone();
        let next = ring.next.kid.clone();
        ring.rotate();
        assert_eq!(ring.active().kid, next);
        let published: Vec<&str> = ring.published.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(published, [first.as_str(), next.as_str()]);
        ring.rotate();
        assert_eq!(ring.published.len(), 2);
        assert!(
            ring.find(&first).is_some(),
            "retired keys still verify hints"
        );
    }
}
