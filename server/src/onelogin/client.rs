//! The relying party's side of each One Login round trip: the authorize URL, then — on the callback — the token
//! request, ID token validation, userinfo and, for identity, the core identity credential.

use super::core_identity;
use super::logout_token::{self, LogoutToken};
use super::provider::{Provider, ProviderCache, RefetchFor};
use super::OneLoginError;
use crate::config::OneLoginConfig;
use app::domain::identity::{VerifiedEmail, VerifiedIdentity};
use app::ssr::{AuthKind, PendingAuth};
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, Client, ClientId, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenFields,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// One Login's claims in the ID token beyond the standard ones.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct OneLoginIdClaims {
    /// The credential trust level achieved (rule 31).
    #[serde(default)]
    pub vot: Option<String>,
    /// One Login's session id.
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub vtm: Option<String>,
}
impl AdditionalClaims for OneLoginIdClaims {}

type OneLoginIdToken = IdToken<
    OneLoginIdClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type OneLoginTokenResponse = StandardTokenResponse<
    IdTokenFields<
        OneLoginIdClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;
type OidcClient = Client<
    OneLoginIdClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    OneLoginTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Rule 12: only the claims we need, and `returnCode` so a failed check comes back as a code (rule 47).
const IDENTITY_CLAIMS_REQUEST: &str = r#"{"userinfo":{"https://vocab.account.gov.uk/v1/coreIdentityJWT":null,"https://vocab.account.gov.uk/v1/returnCode":null}}"#;
/// Rule 25: the one algorithm we registered for ID tokens. Logout tokens use the same ([`logout_token::ALGORITHM`]).
pub const ID_TOKEN_ALGORITHM: CoreJwsSigningAlgorithm = CoreJwsSigningAlgorithm::EcdsaP256Sha256;
/// How long an outbound call to One Login may take before we tell the person to try later.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to send the browser, and what to remember until it comes back.
pub struct AuthRequest {
    pub url: String,
    pub pending: PendingAuth,
}

/// The query string One Login sends back to `/auth/callback`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The result of an identity round trip, as a type rather than a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityOutcome {
    /// One Login proved the person's identity to P2.
    Verified(VerifiedIdentity),
    /// It could not; the return codes say why (rule 47), and may be empty.
    NotVerified { return_codes: Vec<String> },
}

/// A completed round trip.
#[derive(Clone, Debug)]
pub struct SignInResult {
    pub subject: String,
    /// `None` when One Login has not verified the address (`email_verified` is not `true`): it is then neither kept
    /// as the teacher's email nor used as matching evidence.
    pub email: Option<VerifiedEmail>,
    /// Kept for the logout request's `id_token_hint` (rule 32).
    pub id_token: String,
    /// Present for identity round trips only.
    pub identity: Option<IdentityOutcome>,
}

#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default, rename = "https://vocab.account.gov.uk/v1/coreIdentityJWT")]
    core_identity: Option<String>,
    #[serde(default, rename = "https://vocab.account.gov.uk/v1/returnCode")]
    return_codes: Option<Vec<ReturnCode>>,
}

#[derive(Deserialize)]
struct ReturnCode {
    code: String,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    jti: String,
}

/// The relying party. One per process; cheap to share.
pub struct OneLoginClient {
    config: OneLoginConfig,
    http: reqwest::Client,
    cache: Arc<ProviderCache>,
    signing_key: EncodingKey,
    /// The `kid` of our key: configured, or its RFC 7638 thumbprint.
    key_id: String,
    public_jwks: serde_json::Value,
}

/// 32 random bytes, base64url: unguessable, opaque, short and URL-safe (rules 8, 9; pitfall 6).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl OneLoginClient {
    pub fn new(config: &OneLoginConfig, user_agent: &str) -> Result<Self, OneLoginError> {
        // Rule 23: every server-to-server call carries a User-Agent, and none may hang a request.
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(Duration::from_secs(3))
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OneLoginError::Unreachable(e.to_string()))?;
        let signing_key = EncodingKey::from_rsa_pem(config.private_key_pem.as_bytes())
            .map_err(|e| OneLoginError::ClientAssertion(e.to_string()))?;
        let (public_jwks, key_id) = public_jwks(&config.private_key_pem, config.key_id.as_deref())?;
        let cache = ProviderCache::new(http.clone(), config.issuer.clone(), config.did_url.clone());
        Ok(Self {
            config: config.clone(),
            http,
            cache,
            signing_key,
            key_id,
            public_jwks,
        })
    }

    /// Our public key as a JWKS, for One Login to read if it is registered by URL (rules 1, 2).
    pub fn public_jwks(&self) -> &serde_json::Value {
        &self.public_jwks
    }

    fn oidc_client(&self, provider: &Provider) -> Result<OidcClient, OneLoginError> {
        let redirect = RedirectUrl::new(self.config.redirect_uri.clone())
            .map_err(|e| OneLoginError::Discovery(format!("redirect URI: {e}")))?;
        Ok(OidcClient::from_provider_metadata(
            provider.metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            None,
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a round trip: sign in (`["Cl.Cm"]`) or prove identity (`["Cl.Cm.P2"]` with the claims request),
    /// always with a fresh state, nonce and PKCE S256 challenge (rules 4–12, 16).
    pub async fn authorize(&self, kind: AuthKind, now: i64) -> Result<AuthRequest, OneLoginError> {
        let provider = self.cache.provider().await?;
        let client = self.oidc_client(&provider)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (state, nonce) = (random_token(), random_token());
        let (state_for_url, nonce_for_url) = (state.clone(), nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state_for_url),
                move || Nonce::new(nonce_for_url),
            )
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge);
        request = match kind {
            AuthKind::SignIn => request.add_extra_param("vtr", r#"["Cl.Cm"]"#),
            AuthKind::Identity => request
                .add_extra_param("vtr", r#"["Cl.Cm.P2"]"#)
                .add_extra_param("claims", IDENTITY_CLAIMS_REQUEST),
        };
        let (url, _, _) = request.url();
        Ok(AuthRequest {
            url: url.to_string(),
            pending: PendingAuth {
                kind,
                state,
                nonce,
                pkce_verifier: verifier.secret().clone(),
                started_at: now,
            },
        })
    }

    /// The `private_key_jwt` client assertion (rule 22): RS256, `iss` = `sub` = client id, `aud` the token
    /// endpoint, five minutes to live, a unique `jti`, and always our `kid` (rule 2): One Login needs it to pick our
    /// key when it is registered by JWKS URL, and ignores it when the key is registered as a PEM.
    pub fn client_assertion(
        &self,
        token_endpoint: &str,
        now: i64,
    ) -> Result<String, OneLoginError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key_id.clone());
        let claims = AssertionClaims {
            iss: &self.config.client_id,
            sub: &self.config.client_id,
            aud: token_endpoint,
            exp: now + 300,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        encode(&header, &claims, &self.signing_key)
            .map_err(|e| OneLoginError::ClientAssertion(e.to_string()))
    }

    /// Finishes a round trip from the callback's `code`: exchanges it once (rule 20), validates the ID token in
    /// full (rules 24–31), reads userinfo (rules 33–34) and, for identity, the core identity credential (36–47).
    pub async fn complete(
        &self,
        code: &str,
        pending: &PendingAuth,
        now: i64,
    ) -> Result<SignInResult, OneLoginError> {
        let provider = self.cache.provider().await?;
        let client = self.oidc_client(&provider)?;
        let token_endpoint = provider
            .metadata
            .token_endpoint()
            .ok_or_else(|| OneLoginError::Discovery("no token endpoint".into()))?
            .to_string();
        let assertion = self.client_assertion(&token_endpoint, now)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OneLoginError::Discovery(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .add_extra_param(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .add_extra_param("client_assertion", assertion)
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::Request(e) => OneLoginError::Unreachable(e.to_string()),
                RequestTokenError::ServerResponse(r) => {
                    OneLoginError::TokenRequest(r.error().to_string())
                }
                other => OneLoginError::TokenRequest(other.to_string()),
            })?;
        let id_token = response.id_token().ok_or(OneLoginError::NoIdToken)?;
        let (subject, claims_vot, sid) = self
            .verify_id_token(id_token, &pending.nonce, provider)
            .await?;
        // Rule 31: vot never carries the P level, so it is Cl.Cm for both kinds of request.
        if claims_vot.as_deref() != Some("Cl.Cm") {
            return Err(OneLoginError::IdTokenVot);
        }
        if sid.as_deref().is_none_or(str::is_empty) {
            return Err(OneLoginError::IdTokenSid);
        }
        let userinfo = self
            .userinfo(&client, response.access_token().secret())
            .await?;
        // Rule 34.
        if userinfo.sub != subject {
            return Err(OneLoginError::UserinfoSubject);
        }
        let email = userinfo
            .email
            .as_deref()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| OneLoginError::Userinfo("no email".into()))?;
        let email = VerifiedEmail::from_one_login(email, userinfo.email_verified);
        if email.is_none() {
            tracing::info!(
                rule = 35,
                "One Login has not verified this email address; not kept"
            );
        }
        let identity = match pending.kind {
            AuthKind::SignIn => None,
            AuthKind::Identity => Some(self.identity_outcome(userinfo, &subject).await?),
        };
        Ok(SignInResult {
            subject,
            email,
            id_token: id_token.to_string(),
            identity,
        })
    }

    async fn verify_id_token(
        &self,
        id_token: &OneLoginIdToken,
        nonce: &str,
        provider: Provider,
    ) -> Result<(String, Option<String>, Option<String>), OneLoginError> {
        match self.check_id_token(id_token, nonce, &provider) {
            // Rule 51: an unknown kid may mean One Login rotated its keys; look once more before refusing.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => match self.cache.refetch_jwks(RefetchFor::IdToken).await? {
                Some(fresh) => self
                    .check_id_token(id_token, nonce, &fresh)
                    .map_err(map_claims_error),
                None => Err(OneLoginError::IdTokenSignature(
                    "no key with this kid".into(),
                )),
            },
            other => other.map_err(map_claims_error),
        }
    }

    fn check_id_token(
        &self,
        id_token: &OneLoginIdToken,
        nonce: &str,
        provider: &Provider,
    ) -> Result<(String, Option<String>, Option<String>), ClaimsVerificationError> {
        let client = self
            .oidc_client(provider)
            .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
        let skew = chrono::Duration::seconds(self.config.clock_skew_seconds as i64);
        let verifier = client
            .id_token_verifier()
            // Rule 25: only the algorithm we registered; never none or HMAC.
            .set_allowed_algs([ID_TOKEN_ALGORITHM])
            // Rule 28, with a small leeway.
            .set_time_fn(move || chrono::Utc::now() - skew)
            // Rule 29.
            .set_issue_time_verifier_fn(move |iat| {
                if iat > chrono::Utc::now() + skew {
                    Err(format!("issued in the future: {iat}"))
                } else {
                    Ok(())
                }
            });
        let claims = id_token.claims(&verifier, &Nonce::new(nonce.to_string()))?;
        let extra = claims.additional_claims();
        Ok((
            claims.subject().to_string(),
            extra.vot.clone(),
            extra.sid.clone(),
        ))
    }

    async fn userinfo(
        &self,
        client: &OidcClient,
        access_token: &str,
    ) -> Result<UserInfo, OneLoginError> {
        let url = client
            .user_info_url()
            .ok_or_else(|| OneLoginError::Discovery("no userinfo endpoint".into()))?
            .url()
            .clone();
        let response = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| OneLoginError::Unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(OneLoginError::Userinfo(format!(
                "status {}",
                response.status()
            )));
        }
        response
            .json()
            .await
            .map_err(|e| OneLoginError::Userinfo(e.to_string()))
    }

    async fn identity_outcome(
        &self,
        userinfo: UserInfo,
        subject: &str,
    ) -> Result<IdentityOutcome, OneLoginError> {
        let return_codes: Vec<String> = userinfo
            .return_codes
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.code)
            .collect();
        // Rule 36: no credential means the identity was not proven, whatever else came back.
        let Some(jwt) = userinfo.core_identity else {
            return Ok(IdentityOutcome::NotVerified { return_codes });
        };
        let kid = core_identity::key_id(&jwt)?;
        let mut did = self.cache.did_document().await?;
        if !core_identity::did_has_key(&did, &kid) {
            // Identity keys rotate weekly: one fresh look at the trusted document before calling it an incident.
            did = self.cache.refetch_did_document().await?;
        }
        let expected = core_identity::Expected {
            issuer: &self.config.identity_issuer,
            client_id: &self.config.client_id,
            subject,
            leeway_seconds: self.config.clock_skew_seconds,
        };
        let identity = core_identity::validate(&jwt, &did, &expected).inspect_err(|e| {
            if matches!(
                e,
                OneLoginError::CoreIdentityUnknownKey | OneLoginError::CoreIdentityController
            ) {
                // Rule 40: a credential signed with a key One Login does not publish is an incident, not a glitch.
                tracing::error!(
                    rule = e.rule(),
                    incident = true,
                    "core identity credential from an untrusted key"
                );
            }
        })?;
        if !return_codes.is_empty() {
            // Rule 47: a code can come with a valid identity; it is recorded, not treated as failure.
            tracing::info!(
                codes = return_codes.len(),
                "identity verified with return codes"
            );
        }
        Ok(IdentityOutcome::Verified(identity))
    }

    /// The URL of One Login's logout, with our ID token as hint, our registered landing page and `state`
    /// (rule 48).
    pub async fn logout_url(&self, id_token: &str, state: &str) -> Result<String, OneLoginError> {
        let provider = self.cache.provider().await?;
        let end_session = provider
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()
            .ok_or_else(|| OneLoginError::Discovery("no end_session_endpoint".into()))?;
        let hint: OneLoginIdToken =
            serde_json::from_value(serde_json::Value::String(id_token.to_string()))
                .map_err(|e| OneLoginError::IdToken(e.to_string()))?;
        let landing = PostLogoutRedirectUrl::new(self.config.post_logout_redirect_uri.clone())
            .map_err(|e| OneLoginError::Discovery(e.to_string()))?;
        Ok(LogoutRequest::from(end_session)
            .set_id_token_hint(&hint)
            .set_post_logout_redirect_uri(landing)
            .set_state(CsrfToken::new(state.to_string()))
            .http_get_url()
            .to_string())
    }

    /// Validates a back-channel logout token (rule 50), fetching the JWKS again once for an unknown `kid`, on the
    /// logout tokens' own allowance: these posts are unauthenticated, and must not use up the ID token's.
    pub async fn validate_logout_token(
        &self,
        token: &str,
        now: i64,
    ) -> Result<LogoutToken, OneLoginError> {
        let mut provider = self.cache.provider().await?;
        let kid = logout_token::key_id(token)?;
        if logout_token::find_key(&provider.jwks_json, &kid).is_none() {
            if let Some(fresh) = self.cache.refetch_jwks(RefetchFor::LogoutToken).await? {
                provider = fresh;
            }
        }
        logout_token::validate(
            token,
            &provider.jwks_json,
            &self.config.issuer,
            &self.config.client_id,
            now,
            self.config.clock_skew_seconds,
        )
    }
}

fn map_claims_error(e: ClaimsVerificationError) -> OneLoginError {
    match e {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::DisallowedAlg(alg),
        ) => OneLoginError::IdTokenAlgorithm(alg),
        ClaimsVerificationError::SignatureVerification(e) => {
            OneLoginError::IdTokenSignature(e.to_string())
        }
        ClaimsVerificationError::InvalidIssuer(_) => OneLoginError::IdTokenIssuer,
        ClaimsVerificationError::InvalidAudience(_) => OneLoginError::IdTokenAudience,
        ClaimsVerificationError::Expired(message)
            if message.starts_with("issued in the future") =>
        {
            OneLoginError::IdTokenIssuedInFuture
        }
        ClaimsVerificationError::Expired(_) => OneLoginError::IdTokenExpired,
        ClaimsVerificationError::InvalidNonce(_) => OneLoginError::IdTokenNonce,
        other => OneLoginError::IdToken(other.to_string()),
    }
}

/// Our RSA public key as a JWKS, derived from the private key, and its `kid`: the configured one, or else the key's
/// RFC 7638 thumbprint, so the client assertion and the published JWKS always name the same key.
fn public_jwks(
    private_key_pem: &str,
    kid: Option<&str>,
) -> Result<(serde_json::Value, String), OneLoginError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(private_key_pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(private_key_pem))
        .map_err(|e| OneLoginError::ClientAssertion(e.to_string()))?;
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let (n, e) = (b64(key.n().to_bytes_be()), b64(key.e().to_bytes_be()));
    let kid = match kid {
        Some(kid) => kid.to_string(),
        None => rsa_thumbprint(&n, &e),
    };
    let jwk = serde_json::json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": n,
        "e": e,
    });
    Ok((serde_json::json!({ "keys": [jwk] }), kid))
}

/// The RFC 7638 (JWK Thumbprint) SHA-256 thumbprint of the RSA public key with base64url modulus `n` and exponent
/// `e`, computed by `jsonwebtoken`.
fn rsa_thumbprint(n: &str, e: &str) -> String {
    use jsonwebtoken::jwk::{
        AlgorithmParameters, CommonParameters, Jwk, RSAKeyParameters, RSAKeyType, ThumbprintHash,
    };
    let jwk = Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: n.to_string(),
            e: e.to_string(),
        }),
    };
    jwk.thumbprint(ThumbprintHash::SHA256)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str = include_str!("../../tests/fixtures/rp-test-key.pem");

    fn config(kid: Option<&str>) -> OneLoginConfig {
        OneLoginConfig {
            issuer: "http://127.0.0.1:3900/".into(),
            client_id: "teacher-id-test".into(),
            private_key_pem: TEST_KEY.into(),
            key_id: kid.map(String::from),
            identity_issuer: "http://127.0.0.1:3900/".into(),
            did_url: "http://127.0.0.1:3900/.well-known/did.json".into(),
            clock_skew_seconds: 30,
            account_url: "https://home.account.gov.uk".into(),
            redirect_uri: "http://localhost:3000/auth/callback".into(),
            post_logout_redirect_uri: "http://localhost:3000/signed-out".into(),
        }
    }

    fn decode_part(jwt: &str, index: usize) -> serde_json::Value {
        let part = jwt.split('.').nth(index).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn rule_22_client_assertion_claims() {
        let client = OneLoginClient::new(&config(None), "teacher-id-test").unwrap();
        let jwt = client
            .client_assertion("http://127.0.0.1:3900/token", 1_800_000_000)
            .unwrap();
        let header = decode_part(&jwt, 0);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(
            header["kid"],
            client.public_jwks()["keys"][0]["kid"],
            "the kid our JWKS publishes, even without ONE_LOGIN_KEY_ID"
        );
        let claims = decode_part(&jwt, 1);
        assert_eq!(claims["iss"], "teacher-id-test");
        assert_eq!(claims["sub"], "teacher-id-test");
        assert_eq!(claims["aud"], "http://127.0.0.1:3900/token");
        assert_eq!(claims["exp"], 1_800_000_300);
        assert_eq!(claims["iat"], 1_800_000_000);
        let other = client
            .client_assertion("http://127.0.0.1:3900/token", 1_800_000_000)
            .unwrap();
        assert_ne!(
            decode_part(&other, 1)["jti"],
            claims["jti"],
            "a new jti every time"
        );
    }

    #[test]
    fn rule_2_kid_in_every_jwt_and_the_published_jwks_when_keys_are_shared_by_url() {
        let client = OneLoginClient::new(&config(Some("rp-key-1")), "teacher-id-test").unwrap();
        let jwt = client
            .client_assertion("http://127.0.0.1:3900/token", 1_800_000_000)
            .unwrap();
        assert_eq!(decode_part(&jwt, 0)["kid"], "rp-key-1");
        let jwks = client.public_jwks();
        assert_eq!(jwks["keys"][0]["kid"], "rp-key-1");
        assert_eq!(jwks["keys"][0]["kty"], "RSA");
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
        assert!(jwks["keys"][0].get("d").is_none(), "never the private part");
    }

    #[test]
    fn rule_2_the_default_kid_is_the_rfc_7638_thumbprint() {
        // RFC 7638 §3.1's example key and thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            rsa_thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let client = OneLoginClient::new(&config(None), "teacher-id-test").unwrap();
        let jwk = &client.public_jwks()["keys"][0];
        let expected = rsa_thumbprint(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap());
        assert_eq!(jwk["kid"], expected.as_str());
    }

    #[test]
    fn rule_25_logout_tokens_and_id_tokens_allow_the_same_algorithm() {
        assert_eq!(
            serde_json::to_value(ID_TOKEN_ALGORITHM).unwrap(),
            serde_json::to_value(logout_token::ALGORITHM).unwrap()
        );
    }

    #[test]
    fn rules_8_and_9_state_and_nonce_are_unguessable_and_url_safe() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(a, random_token());
    }
}
