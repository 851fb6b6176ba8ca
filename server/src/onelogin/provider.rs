//! What we know about One Login: its discovery document, its signing keys (JWKS) and the DID document of its
//! identity keys. Each is cached for the `Cache-Control: max-age` it was sent with, and a stale copy is kept in
//! use when a refresh fails (rule 51). An unknown `kid` triggers one early JWKS refetch, at most once a minute for
//! each kind of token (see [`RefetchFor`]).

use super::OneLoginError;
use openidconnect::core::CoreJsonWebKeySet;
use openidconnect::ProviderMetadataWithLogout;
use reqwest::header::CACHE_CONTROL;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Used when a response carries no usable `max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// An unknown `kid` may force a JWKS refetch no more often than this.
const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// Which kind of token named a key we do not have. Each kind has its own once-a-minute allowance: back-channel
/// logout posts are unauthenticated, so if they shared the ID token's, anyone could spend it with made-up `kid`s and
/// make sign-ins fail for a minute whenever One Login rotates its keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefetchFor {
    IdToken,
    LogoutToken,
}

/// One Login's discovery document with its JWKS.
#[derive(Clone)]
pub struct Provider {
    pub metadata: ProviderMetadataWithLogout,
    /// The JWKS as sent, for checks `openidconnect` does not make (the logout token's key).
    pub jwks_json: serde_json::Value,
}

/// The DID document of One Login's identity signing keys.
#[derive(Clone, Debug)]
pub struct DidDocument {
    pub id: String,
    pub json: serde_json::Value,
}

struct Cached<T> {
    value: T,
    expires: Instant,
}

/// The caches, shared by every request of this instance.
pub struct ProviderCache {
    http: reqwest::Client,
    issuer: String,
    did_url: String,
    provider: Mutex<Option<Cached<Provider>>>,
    did: Mutex<Option<Cached<DidDocument>>>,
    last_id_token_refetch: Mutex<Option<Instant>>,
    last_logout_token_refetch: Mutex<Option<Instant>>,
    last_did_refetch: Mutex<Option<Instant>>,
}

impl ProviderCache {
    pub fn new(http: reqwest::Client, issuer: String, did_url: String) -> Arc<Self> {
        Arc::new(Self {
            http,
            issuer,
            did_url,
            provider: Mutex::new(None),
            did: Mutex::new(None),
            last_id_token_refetch: Mutex::new(None),
            last_logout_token_refetch: Mutex::new(None),
            last_did_refetch: Mutex::new(None),
        })
    }

    /// The provider, from the cache when fresh.
    pub async fn provider(&self) -> Result<Provider, OneLoginError> {
        let mut slot = self.provider.lock().await;
        fresh_or_refetched(&mut slot, false, self.fetch_provider(), "discovery").await
    }

    /// Fetches the JWKS again because a token named a key we do not have (rule 51). Returns the refreshed
    /// provider, or `None` when a refetch for this kind of token happened too recently to try again.
    pub async fn refetch_jwks(&self, token: RefetchFor) -> Result<Option<Provider>, OneLoginError> {
        {
            let mut last = match token {
                RefetchFor::IdToken => self.last_id_token_refetch.lock().await,
                RefetchFor::LogoutToken => self.last_logout_token_refetch.lock().await,
            };
            if last.is_some_and(|t| t.elapsed() < MIN_REFETCH_INTERVAL) {
                return Ok(None);
            }
            *last = Some(Instant::now());
        }
        let mut provider = self.provider().await?;
        let (jwks, jwks_json, max_age) = self
            .fetch_jwks(provider.metadata.jwks_uri().url().as_str())
            .await?;
        provider.metadata = provider.metadata.set_jwks(jwks);
        provider.jwks_json = jwks_json;
        *self.provider.lock().await = Some(Cached {
            value: provider.clone(),
            expires: Instant::now() + max_age,
        });
        tracing::info!(
            rule = 51,
            token = ?token,
            "refetched One Login's JWKS for an unknown key id"
        );
        Ok(Some(provider))
    }

    /// The DID document, only ever from the configured URL (rule 39).
    pub async fn did_document(&self) -> Result<DidDocument, OneLoginError> {
        let mut slot = self.did.lock().await;
        fresh_or_refetched(&mut slot, false, self.fetch_did(), "DID document").await
    }

    /// Fetches the DID document again because a credential named a key it lacks (identity keys rotate weekly).
    /// At most once a minute; a failed fetch keeps the copy we had (rule 51).
    pub async fn refetch_did_document(&self) -> Result<DidDocument, OneLoginError> {
        let mut slot = self.did.lock().await;
        let mut last = self.last_did_refetch.lock().await;
        let allowed = !last.is_some_and(|t| t.elapsed() < MIN_REFETCH_INTERVAL);
        if allowed {
            *last = Some(Instant::now());
        }
        fresh_or_refetched(&mut slot, allowed, self.fetch_did(), "DID document").await
    }

    async fn fetch_provider(&self) -> Result<(Provider, Duration), OneLoginError> {
        let url = format!("{}.well-known/openid-configuration", self.issuer);
        let (json, max_age) = self.get_json(&url).await?;
        let metadata: ProviderMetadataWithLogout =
            serde_json::from_value(json).map_err(|e| OneLoginError::Discovery(e.to_string()))?;
        // Rule 26 depends on this: the issuer must be exactly what we were configured with, trailing slash and all.
        if metadata.issuer().as_str() != self.issuer {
            return Err(OneLoginError::Discovery(format!(
                "issuer is {}, expected {}",
                metadata.issuer().as_str(),
                self.issuer
            )));
        }
        let (jwks, jwks_json, jwks_max_age) =
            self.fetch_jwks(metadata.jwks_uri().url().as_str()).await?;
        let metadata = metadata.set_jwks(jwks);
        Ok((
            Provider {
                metadata,
                jwks_json,
            },
            max_age.min(jwks_max_age),
        ))
    }

    async fn fetch_jwks(
        &self,
        url: &str,
    ) -> Result<(CoreJsonWebKeySet, serde_json::Value, Duration), OneLoginError> {
        let (json, max_age) = self.get_json(url).await?;
        let jwks: CoreJsonWebKeySet = serde_json::from_value(json.clone())
            .map_err(|e| OneLoginError::Discovery(format!("JWKS: {e}")))?;
        Ok((jwks, json, max_age))
    }

    async fn fetch_did(&self) -> Result<(DidDocument, Duration), OneLoginError> {
        let (json, max_age) = self
            .get_json(&self.did_url)
            .await
            .map_err(|e| OneLoginError::DidDocument(e.to_string()))?;
        let id = json
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| OneLoginError::DidDocument("no id".into()))?
            .to_string();
        Ok((DidDocument { id, json }, max_age))
    }

    async fn get_json(&self, url: &str) -> Result<(serde_json::Value, Duration), OneLoginError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| OneLoginError::Unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(OneLoginError::Unreachable(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_MAX_AGE);
        let json = response
            .json()
            .await
            .map_err(|e| OneLoginError::Discovery(format!("{url}: {e}")))?;
        Ok((json, max_age))
    }
}

/// The cached value while it is fresh (unless `force`), else a fetched one; if the fetch fails, the stale copy
/// when there is one (rule 51).
async fn fresh_or_refetched<T: Clone>(
    slot: &mut Option<Cached<T>>,
    force: bool,
    fetch: impl std::future::Future<Output = Result<(T, Duration), OneLoginError>>,
    what: &str,
) -> Result<T, OneLoginError> {
    if let Some(c) = slot
        .as_ref()
        .filter(|c| !force && c.expires > Instant::now())
    {
        return Ok(c.value.clone());
    }
    match fetch.await {
        Ok((value, max_age)) => {
            *slot = Some(Cached {
                value: value.clone(),
                expires: Instant::now() + max_age,
            });
            Ok(value)
        }
        Err(e) => match slot.as_ref() {
            Some(stale) => {
                tracing::warn!(rule = 51, error = %e, "using the cached One Login {what} after a failed refresh");
                Ok(stale.value.clone())
            }
            None => Err(e),
        },
    }
}

/// The `max-age` of a `Cache-Control` header.
fn max_age(header: &str) -> Option<Duration> {
    header
        .split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::max_age;
    use std::time::Duration;

    #[test]
    fn rule_51_max_age_is_read_from_cache_control() {
        assert_eq!(max_age("max-age=86400"), Some(Duration::from_secs(86400)));
        assert_eq!(
            max_age("max-age=3600, private"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            max_age("private, max-age=60"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }
}
