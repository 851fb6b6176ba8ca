//! Staff sign-in to the support console: OpenID Connect authorization code flow with PKCE and a client secret,
//! against the staff identity provider (Microsoft Entra ID in production; the stand-in's staff client in
//! development and tests). Separate from One Login in every way: its own client, session and cookie. The provider
//! says who someone is; what they may do is their role in our database.
//!
//! Who someone is, is the provider's stable ids: Entra's tenant id (`tid`) and object id (`oid`), which never change
//! for a person, unlike their email or name. A member of staff is bound to them at their first sign-in. A role set up
//! in advance for an email (`server staff add`) is claimed only by a sign-in whose email the provider vouches for:
//! the `email` claim with `email_verified: true`, or with Entra's `xms_edov: true` (the email's domain is verified
//! for the tenant; an optional claim to turn on in the app registration). `preferred_username` is never a verified
//! email. With `STAFF_OIDC_TENANT_ID` set, a token from any other tenant is refused.

use crate::config::StaffOidcConfig;
use crate::onelogin::client::random_token;
use app::ssr::{AuthKind, PendingAuth};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long the provider's discovery document (and its keys) are used before fetching them again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum StaffAuthError {
    #[error("staff identity provider unreachable or discovery failed: {0}")]
    Discovery(String),
    #[error("token request refused: {0}")]
    Token(String),
    #[error("ID token invalid: {0}")]
    IdToken(String),
    #[error("the ID token has no email")]
    NoEmail,
    #[error("the ID token has no tid and oid")]
    NoStableId,
    #[error("the ID token is from another tenant")]
    WrongTenant,
}

/// Who signed in.
#[derive(Clone, Debug)]
pub struct StaffIdentity {
    pub subject: String,
    /// Entra's `tid` and `oid`: the person's stable ids.
    pub tenant_id: String,
    pub object_id: String,
    pub email: String,
    /// See the module's documentation.
    pub email_verified: bool,
    pub name: String,
}

/// The claims the standard set has no place for, read from the ID token's payload after the library has checked
/// its signature, issuer, audience, expiry and nonce.
#[derive(Debug, Default, serde::Deserialize)]
struct EntraClaims {
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    xms_edov: Option<serde_json::Value>,
}

impl EntraClaims {
    fn from_token(token: &str) -> Self {
        use base64::Engine as _;
        token
            .split('.')
            .nth(1)
            .and_then(|payload| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(payload.trim_end_matches('='))
                    .ok()
            })
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// `xms_edov` is a boolean; some tenants send it as `1` or `"true"`.
    fn domain_verified(&self) -> bool {
        use serde_json::Value;
        match &self.xms_edov {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            Some(Value::String(s)) => s == "true" || s == "1",
            _ => false,
        }
    }
}

/// The identity a sign-in's claims make, under the rule in the module's documentation.
#[allow(clippy::too_many_arguments)]
pub fn identity_from_claims(
    subject: &str,
    email_claim: Option<&str>,
    email_verified_claim: Option<bool>,
    preferred_username: Option<&str>,
    name: Option<&str>,
    tenant_id: Option<&str>,
    object_id: Option<&str>,
    xms_edov: bool,
    required_tenant: Option<&str>,
) -> Result<StaffIdentity, StaffAuthError> {
    let (Some(tenant_id), Some(object_id)) = (
        tenant_id.filter(|t| !t.is_empty()),
        object_id.filter(|o| !o.is_empty()),
    ) else {
        return Err(StaffAuthError::NoStableId);
    };
    if required_tenant.is_some_and(|t| !t.eq_ignore_ascii_case(tenant_id)) {
        return Err(StaffAuthError::WrongTenant);
    }
    let from_email_claim = email_claim.filter(|e| e.contains('@'));
    let email_verified =
        from_email_claim.is_some() && (email_verified_claim == Some(true) || xms_edov);
    let email = from_email_claim
        .or(preferred_username.filter(|u| u.contains('@')))
        .ok_or(StaffAuthError::NoEmail)?
        .to_string();
    let name = name
        .map(str::to_string)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.clone());
    Ok(StaffIdentity {
        subject: subject.to_string(),
        tenant_id: tenant_id.to_lowercase(),
        object_id: object_id.to_lowercase(),
        email,
        email_verified,
        name,
    })
}

pub struct StaffOidc {
    config: StaffOidcConfig,
    http: reqwest::Client,
    metadata: Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

impl StaffOidc {
    pub fn new(config: &StaffOidcConfig, user_agent: &str) -> Result<Self, StaffAuthError> {
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| StaffAuthError::Discovery(e.to_string()))?;
        Ok(Self {
            config: config.clone(),
            http,
            metadata: Mutex::new(None),
        })
    }

    async fn metadata(&self) -> Result<CoreProviderMetadata, StaffAuthError> {
        let mut cached = self.metadata.lock().await;
        if let Some((metadata, fetched)) = cached.as_ref() {
            if fetched.elapsed() < METADATA_TTL {
                return Ok(metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| StaffAuthError::Discovery(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| StaffAuthError::Discovery(e.to_string()))?;
        *cached = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    async fn client(
        &self,
    ) -> Result<
        openidconnect::core::CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        StaffAuthError,
    > {
        let redirect = RedirectUrl::new(self.config.redirect_uri.clone())
            .map_err(|e| StaffAuthError::Discovery(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            self.metadata().await?,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// The provider's authorize URL, and what the callback must match.
    pub async fn authorize(&self, now: i64) -> Result<(String, PendingAuth), StaffAuthError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (state, nonce) = (random_token(), random_token());
        let (s, n) = (state.clone(), nonce.clone());
        let (url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(s),
                move || Nonce::new(n),
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok((
            url.to_string(),
            PendingAuth {
                kind: AuthKind::SignIn,
                state,
                nonce,
                pkce_verifier: verifier.secret().clone(),
                started_at: now,
            },
        ))
    }

    /// Exchanges the code (client secret, PKCE verifier) and validates the ID token: signature against the
    /// provider's keys, issuer, audience, expiry and nonce.
    pub async fn complete(
        &self,
        code: &str,
        pending: &PendingAuth,
    ) -> Result<StaffIdentity, StaffAuthError> {
        let client = self.client().await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| StaffAuthError::Discovery(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| StaffAuthError::Token(e.to_string()))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| StaffAuthError::IdToken("missing".into()))?;
        let claims = id_token
            .claims(
                // Entra signs with RS256; the stand-in with ES256, as One Login does.
                &client.id_token_verifier().set_allowed_algs(vec![
                    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                ]),
                &Nonce::new(pending.nonce.clone()),
            )
            .map_err(|e| StaffAuthError::IdToken(e.to_string()))?;
        let entra = EntraClaims::from_token(&id_token.to_string());
        identity_from_claims(
            claims.subject().as_str(),
            claims.email().map(|e| e.as_str()),
            claims.email_verified(),
            claims.preferred_username().map(|u| u.as_str()),
            claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
            entra.tid.as_deref(),
            entra.oid.as_deref(),
            entra.domain_verified(),
            self.config.tenant_id.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn identity(
        email_verified: Option<bool>,
        xms_edov: bool,
        tid: Option<&str>,
        required: Option<&str>,
    ) -> Result<StaffIdentity, StaffAuthError> {
        identity_from_claims(
            "sub-1",
            Some("ada@education.gov.uk"),
            email_verified,
            Some("ada@education.gov.uk"),
            Some("Ada"),
            tid,
            Some("OID-1"),
            xms_edov,
            required,
        )
    }

    #[test]
    fn an_email_is_verified_only_when_the_provider_says_so() {
        assert!(
            identity(Some(true), false, Some(TENANT), Some(TENANT))
                .unwrap()
                .email_verified
        );
        assert!(
            identity(None, true, Some(TENANT), Some(TENANT))
                .unwrap()
                .email_verified
        );
        assert!(
            !identity(None, false, Some(TENANT), Some(TENANT))
                .unwrap()
                .email_verified
        );
        assert!(
            !identity(Some(false), false, Some(TENANT), None)
                .unwrap()
                .email_verified
        );
        // preferred_username alone names someone, and never vouches for an email.
        let upn = identity_from_claims(
            "s",
            None,
            Some(true),
            Some("ada@education.gov.uk"),
            None,
            Some(TENANT),
            Some("o"),
            true,
            None,
        )
        .unwrap();
        assert_eq!(upn.email, "ada@education.gov.uk");
        assert!(!upn.email_verified);
        assert_eq!(
            identity(None, false, Some(TENANT), None).unwrap().object_id,
            "oid-1"
        );
    }

    #[test]
    fn another_tenant_or_no_stable_ids_are_refused() {
        assert!(matches!(
            identity(Some(true), false, Some("another-tenant"), Some(TENANT)),
            Err(StaffAuthError::WrongTenant)
        ));
        assert!(matches!(
            identity(Some(true), false, None, None),
            Err(StaffAuthError::NoStableId)
        ));
        // Without a configured tenant (development), any tenant's ids bind.
        assert!(identity(Some(true), false, Some("another-tenant"), None).is_ok());
    }

    #[test]
    fn xms_edov_is_read_in_its_shapes() {
        let claims = |v: serde_json::Value| EntraClaims {
            xms_edov: Some(v),
            ..Default::default()
        };
        assert!(claims(serde_json::json!(true)).domain_verified());
        assert!(claims(serde_json::json!(1)).domain_verified());
        assert!(claims(serde_json::json!("true")).domain_verified());
        assert!(!claims(serde_json::json!(false)).domain_verified());
        assert!(!EntraClaims::default().domain_verified());
    }
}
