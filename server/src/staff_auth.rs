//! Staff sign-in to the support console: OpenID Connect authorization code flow with PKCE and a client secret,
//! against the staff identity provider (Microsoft Entra ID in production; the stand-in's staff client in
//! development and tests). Separate from One Login in every way: its own client, session and cookie. The provider
//! says who someone is; what they may do is their role in our database.

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
}

/// Who signed in.
#[derive(Clone, Debug)]
pub struct StaffIdentity {
    pub subject: String,
    pub email: String,
    pub name: String,
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
        let email = claims
            .email()
            .map(|e| e.to_string())
            .or_else(|| claims.preferred_username().map(|u| u.to_string()))
            .filter(|e| e.contains('@'))
            .ok_or(StaffAuthError::NoEmail)?;
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| email.clone());
        Ok(StaffIdentity {
            subject: claims.subject().to_string(),
            email,
            name,
        })
    }
}
