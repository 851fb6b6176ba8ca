//! A GOV.UK One Login stand-in: a real OpenID Connect provider on localhost that behaves like One Login and its
//! official simulator (shapes in `shared/one-login-rp.md` §(c)), for development and tests.
//!
//! It is not a mock. It signs real ES256 ID tokens, core identity JWTs and logout tokens, publishes their keys in a
//! JWKS and a DID document, and verifies the relying party's `private_key_jwt` client assertions against its
//! registered RSA key. People sign in through a persona picker drawn from the service's synthetic teaching records,
//! or a test decides the next sign-in in advance ([`Standin::set_next_login`], `POST /admin/next-login`), including
//! deliberate faults ([`Misbehaviour`]) that a correct relying party must reject.
//!
//! It can also serve a second client, the support console's staff sign-in ([`StaffClient`]), standing in for
//! Microsoft Entra ID at the same issuer: authorization code with PKCE (S256), a client secret, a staff picker of
//! fixed [`StaffPersona`]s (or someone else), and an ES256 ID token with `email`, `name` and `preferred_username`.
//! A test can decide the next staff sign-in too ([`Standin::set_next_staff_login`]).
//!
//! ```no_run
//! # async fn example(public_key_pem: String) {
//! use onelogin_standin::{spawn, NextLogin, Outcome, StaffClient, StandinConfig};
//! let standin = spawn(StandinConfig {
//!     client_id: "teacher-id-test".into(),
//!     redirect_uris: vec!["http://127.0.0.1:3000/auth/callback".into()],
//!     post_logout_redirect_uris: vec!["http://127.0.0.1:3000/signed-out".into()],
//!     client_public_key_pem: public_key_pem,
//!     backchannel_logout_uri: None,
//!     seed: 1,
//!     staff: Some(StaffClient {
//!         client_id: "teacher-id-staff-test".into(),
//!         client_secret: "test-staff-secret".into(),
//!         redirect_uris: vec!["http://127.0.0.1:3000/support/auth/callback".into()],
//!     }),
//! })
//! .await;
//! standin.set_next_login(NextLogin::new("exact-match", Outcome::IdentityVerified));
//! let ada = standin.set_next_staff_login("ada.adeyemi@education.gov.uk");
//! let discovery_url = format!("{}.well-known/openid-configuration", standin.issuer());
//! # }
//! ```

mod admin;
mod authorize;
mod control;
mod jose;
mod logout;
mod personas;
mod picker;
mod staff;
mod state;
mod token;
mod userinfo;
mod wellknown;

pub use admin::NextLoginError;
pub use control::{CustomPerson, LogoutTokenFault, Misbehaviour, NextLogin, Outcome};
pub use personas::{Persona, PreviousName, CUSTOM, SCANNED_RECORDS};
pub use staff::{
    staff_member, staff_personas, staff_sub, StaffClient, StaffLoginError, StaffMember,
    StaffPersona, STAFF_SUBMIT_PATH, STANDIN_TENANT_ID,
};

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use state::{did_for_issuer, IdentityKeys, KeyRing, Provider, Store};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// Where GOV.UK Frontend's stylesheet is looked for, relative to the current directory, unless `STANDIN_GOVUK_CSS`
/// names a file.
const GOVUK_CSS: &str = "node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css";

/// The client the stand-in knows, as it would be registered with One Login, and optionally the staff client.
#[derive(Clone, Debug)]
pub struct StandinConfig {
    pub client_id: String,
    /// Exact callback URLs the client may use.
    pub redirect_uris: Vec<String>,
    /// Exact URLs the client may be sent back to after logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// The client's RSA public key, SPKI PEM (`-----BEGIN PUBLIC KEY-----`); PKCS#1 is accepted too.
    pub client_public_key_pem: String,
    /// Where `POST /admin/backchannel-logout` delivers logout tokens.
    pub backchannel_logout_uri: Option<String>,
    /// The synthetic data set the personas are drawn from (the service seeds 1 by default).
    pub seed: u64,
    /// The support console's staff client, served as Microsoft Entra ID would; `None` serves teachers only.
    pub staff: Option<StaffClient>,
}

/// Why the stand-in cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StandinError {
    #[error("the client public key is not an RSA public key in PEM form")]
    ClientKey,
    #[error("the issuer {0:?} is not an http:// or https:// URL with a host")]
    Issuer(String),
    #[error("the client id must not be empty")]
    ClientId,
    #[error("the staff client {0}")]
    StaffClient(&'static str),
    #[error("could not set up the HTTP client: {0}")]
    HttpClient(String),
    #[error("could not listen: {0}")]
    Io(#[from] std::io::Error),
}

/// `issuer` with the trailing slash One Login's issuers have.
fn with_slash(issuer: &str) -> String {
    if issuer.ends_with('/') {
        issuer.to_string()
    } else {
        format!("{issuer}/")
    }
}

/// Builds the provider for `issuer`, with the core identity credential's issuer and DID document on
/// `identity_issuer`'s host when given (trailing slashes are added if missing).
fn provider(
    config: StandinConfig,
    issuer: &str,
    identity_issuer: Option<&str>,
) -> Result<Arc<Provider>, StandinError> {
    let issuer = with_slash(issuer);
    did_for_issuer(&issuer).ok_or_else(|| StandinError::Issuer(issuer.clone()))?;
    let identity_issuer = with_slash(identity_issuer.unwrap_or(&issuer));
    let did = did_for_issuer(&identity_issuer)
        .ok_or_else(|| StandinError::Issuer(identity_issuer.clone()))?;
    if config.client_id.trim().is_empty() {
        return Err(StandinError::ClientId);
    }
    if let Some(staff) = &config.staff {
        if staff.client_id.trim().is_empty() {
            return Err(StandinError::StaffClient("id must not be empty"));
        }
        if staff.client_id == config.client_id {
            return Err(StandinError::StaffClient(
                "id must differ from the teacher client's",
            ));
        }
        if staff.client_secret.is_empty() {
            return Err(StandinError::StaffClient("secret must not be empty"));
        }
    }
    let client_key = jose::rsa_public_key_from_pem(&config.client_public_key_pem)
        .ok_or(StandinError::ClientKey)?;
    let http = reqwest::Client::builder()
        .user_agent(concat!("onelogin-standin/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| StandinError::HttpClient(e.to_string()))?;
    let identity_keys = Mutex::new(IdentityKeys::new(&did));
    Ok(Arc::new(Provider {
        issuer,
        identity_issuer,
        client_id: config.client_id,
        redirect_uris: config.redirect_uris,
        post_logout_redirect_uris: config.post_logout_redirect_uris,
        client_key,
        backchannel_logout_uri: config.backchannel_logout_uri,
        staff: config.staff,
        personas: personas::personas(config.seed),
        did,
        identity_keys,
        rsa_key: jose::RsaKey::shared(uuid::Uuid::new_v4().to_string()),
        client_jwks: Mutex::new(None),
        rogue_key: jose::EcKey::generate(uuid::Uuid::new_v4().to_string()),
        keys: Mutex::new(KeyRing::new()),
        store: Mutex::new(Store::default()),
        css: load_govuk_css(),
        http,
    }))
}

fn load_govuk_css() -> Option<Vec<u8>> {
    let candidates: Vec<PathBuf> = match std::env::var_os("STANDIN_GOVUK_CSS") {
        Some(path) => vec![PathBuf::from(path)],
        // The parent too, so `cargo test` (run in this crate's folder) finds the workspace's node_modules.
        None => vec![
            PathBuf::from(GOVUK_CSS),
            PathBuf::from("..").join(GOVUK_CSS),
        ],
    };
    let css = candidates.iter().find_map(|path| std::fs::read(path).ok());
    if css.is_none() {
        tracing::warn!("GOV.UK Frontend CSS not found; the picker will be unstyled");
    }
    css
}

/// Logs each request's method, path and status: never the query or body, which carry tokens and personal data.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), "request");
    response
}

/// The identity host's routes, when it is separate: only the DID document.
fn identity_routes(p: Arc<Provider>) -> Router {
    Router::new()
        .route("/.well-known/did.json", get(wellknown::did_document))
        .layer(middleware::from_fn(log_request))
        .with_state(p)
}

fn routes(p: Arc<Provider>) -> Router {
    let mut router = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(wellknown::discovery),
        )
        .route("/.well-known/jwks.json", get(wellknown::jwks));
    // With a separate identity host, the DID document is there only, so a relying party that looks for it on the
    // OIDC host finds nothing, as with One Login.
    if !p.separate_identity_host() {
        router = router.route("/.well-known/did.json", get(wellknown::did_document));
    }
    router
        .route("/trustmark", get(wellknown::trustmark))
        .route("/assets/govuk-frontend.min.css", get(wellknown::govuk_css))
        .route("/authorize", get(authorize::authorize))
        .route("/authorize/submit", post(picker::submit))
        .route(staff::STAFF_SUBMIT_PATH, post(staff::submit))
        .route("/token", post(token::token))
        .route("/userinfo", get(userinfo::userinfo))
        .route("/logout", get(logout::logout))
        .route(
            "/admin/next-login",
            post(admin::next_login).delete(admin::clear_next_login),
        )
        .route("/admin/personas", get(admin::personas))
        .route(
            "/admin/next-staff-login",
            post(staff::admin_next_login).delete(staff::admin_clear_next_login),
        )
        .route("/admin/staff-personas", get(staff::admin_personas))
        .route(
            "/admin/backchannel-logout",
            post(logout::send_backchannel_logout),
        )
        .layer(middleware::from_fn(log_request))
        .with_state(p)
}

/// The stand-in's routes for `issuer`, to serve however the caller likes.
pub fn router(config: StandinConfig, issuer: &str) -> Result<Router, StandinError> {
    Ok(routes(provider(config, issuer, None)?))
}

/// The stand-in's routes for `issuer`, and those of a separate identity host for `identity_issuer` (the core
/// identity credential's `iss`, serving the DID document), to serve on two addresses.
pub fn routers_with_identity_host(
    config: StandinConfig,
    issuer: &str,
    identity_issuer: &str,
) -> Result<(Router, Router), StandinError> {
    let p = provider(config, issuer, Some(identity_issuer))?;
    Ok((routes(p.clone()), identity_routes(p)))
}

/// Serves the stand-in on `listener` until the task is dropped or the server fails. The issuer defaults to
/// `http://<listener address>/`.
pub async fn run(
    config: StandinConfig,
    listener: TcpListener,
    issuer: Option<String>,
) -> Result<(), StandinError> {
    let addr = listener.local_addr()?;
    let issuer = issuer.unwrap_or_else(|| format!("http://{addr}/"));
    let app = router(config, &issuer)?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// A stand-in running in the background of a tokio runtime, and the test controls for it. Dropping it stops the
/// server.
pub struct Standin {
    provider: Arc<Provider>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    /// The separate identity host's server, if there is one.
    identity_task: Option<tokio::task::JoinHandle<()>>,
}

/// Starts a stand-in on `127.0.0.1` on a free port, with issuer `http://127.0.0.1:<port>/`.
///
/// # Panics
/// If the configuration is invalid or no port can be had: this is for tests, where that is a bug in the test.
/// [`try_spawn`] returns the error instead.
pub async fn spawn(config: StandinConfig) -> Standin {
    match try_spawn(config).await {
        Ok(standin) => standin,
        Err(e) => panic!("the One Login stand-in could not start: {e}"),
    }
}

/// [`spawn`], returning why it could not start.
pub async fn try_spawn(config: StandinConfig) -> Result<Standin, StandinError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let provider = provider(config, &format!("http://{addr}/"), None)?;
    let task = serve_in_background(listener, routes(provider.clone()));
    Ok(Standin {
        provider,
        addr,
        task,
        identity_task: None,
    })
}

/// [`spawn`], with the identity issuer and DID document on a host of their own (`http://127.0.0.1:<another
/// port>/`, so `did:web:127.0.0.1%3A<that port>`), as One Login's are. The OIDC host then has no DID document.
///
/// # Panics
/// If the configuration is invalid or no port can be had.
pub async fn spawn_with_identity_host(config: StandinConfig) -> Standin {
    let started = async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let identity_listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let identity_issuer = format!("http://{}/", identity_listener.local_addr()?);
        let provider = provider(config, &format!("http://{addr}/"), Some(&identity_issuer))?;
        let task = serve_in_background(listener, routes(provider.clone()));
        let identity_task =
            serve_in_background(identity_listener, identity_routes(provider.clone()));
        Ok::<_, StandinError>(Standin {
            provider,
            addr,
            task,
            identity_task: Some(identity_task),
        })
    };
    match started.await {
        Ok(standin) => standin,
        Err(e) => panic!("the One Login stand-in could not start: {e}"),
    }
}

fn serve_in_background(listener: TcpListener, app: Router) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the One Login stand-in stopped");
        }
    })
}

impl Standin {
    /// `http://127.0.0.1:<port>/`, with the trailing slash One Login's issuers have.
    pub fn issuer(&self) -> String {
        self.provider.issuer.clone()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The core identity credential's issuer: [`Self::issuer`], or the separate identity host's
    /// (see [`spawn_with_identity_host`]).
    pub fn identity_issuer(&self) -> String {
        self.provider.identity_issuer.clone()
    }

    /// The DID document's URL, on the identity issuer's host: the trusted location the relying party fetches it
    /// from (rule 39).
    pub fn did_url(&self) -> String {
        self.provider.identity_url(".well-known/did.json")
    }

    /// Rotates the core identity signing key now, as One Login does weekly: credentials are signed with a new key,
    /// which the DID document publishes from now on beside the old one.
    pub fn rotate_identity_key(&self) {
        self.provider.identity_keys().rotate(&self.provider.did);
    }

    /// A logout token for `sub` with `fault`, for a test to post to the relying party, which must refuse it.
    pub fn faulty_logout_token(&self, sub: &str, fault: LogoutTokenFault) -> String {
        logout::faulty_logout_token(&self.provider, sub, fault)
    }

    /// Registers the client's keys as a JWKS, as when the relying party gives One Login its JWKS URL instead of a
    /// PEM: from now on a client assertion must name one of these keys in its `kid`, and is checked with that key.
    /// `None` if `jwks` holds no usable RSA key with a `kid`.
    pub fn register_client_jwks(&self, jwks: &serde_json::Value) -> Option<usize> {
        let keys = jose::rsa_public_keys_from_jwks(jwks);
        let count = keys.len();
        if count == 0 {
            return None;
        }
        *self.provider.client_jwks() = Some(keys);
        Some(count)
    }

    /// The DID (`did:web:127.0.0.1%3A<port>`), the controller of the core identity signing key.
    pub fn did(&self) -> String {
        self.provider.did.clone()
    }

    /// Decides the next sign-in: the next `/authorize` that passes validation skips the picker and ends this way.
    /// Replaces any sign-in queued before.
    ///
    /// # Panics
    /// If `next` names no persona, or is `custom` without details: a bug in the test. See [`Self::try_set_next_login`].
    pub fn set_next_login(&self, next: NextLogin) {
        if let Err(e) = self.try_set_next_login(next) {
            panic!("cannot queue that next login: {e}");
        }
    }

    /// [`Self::set_next_login`], returning what is wrong with `next`.
    pub fn try_set_next_login(&self, next: NextLogin) -> Result<(), NextLoginError> {
        admin::queue(&self.provider, next)
    }

    /// A logout token for `sub`, signed as One Login signs them, for a test to post to the relying party itself
    /// (or to tamper with first).
    pub fn logout_token(&self, sub: &str) -> String {
        logout::logout_token(&self.provider, sub)
    }

    /// Everyone who can sign in, in the order the picker lists them.
    pub fn personas(&self) -> Vec<Persona> {
        self.provider.personas.clone()
    }

    /// The persona with this id.
    pub fn persona(&self, id: &str) -> Option<Persona> {
        self.provider.persona(id).cloned()
    }

    /// Decides the next staff sign-in: the next staff `/authorize` that passes validation skips the staff picker and
    /// redirects straight back with a code for the member of staff with this email. A staff persona's email signs
    /// in as that persona; any other email as someone whose name is made from it (`jo.bloggs@…` is "Jo Bloggs")
    /// and whose `sub` is [`staff_sub`] of the email. Replaces any staff sign-in queued before, and never affects
    /// the teacher client. Returns who will sign in.
    ///
    /// # Panics
    /// If there is no staff client or `email` is not an email address: a bug in the test. See
    /// [`Self::try_set_next_staff_login`].
    pub fn set_next_staff_login(&self, email: &str) -> StaffMember {
        match self.try_set_next_staff_login(email, None) {
            Ok(member) => member,
            Err(e) => panic!("cannot queue that next staff login: {e}"),
        }
    }

    /// [`Self::set_next_staff_login`] with a name for someone who is not a persona (a persona keeps their own), and
    /// returning what is wrong instead of panicking.
    pub fn try_set_next_staff_login(
        &self,
        email: &str,
        name: Option<&str>,
    ) -> Result<StaffMember, StaffLoginError> {
        staff::queue(&self.provider, email, name)
    }

    /// Queues the next staff sign-in exactly as `member` says: its `oid`, `tid` and whether its email is verified,
    /// so a test can sign in the same person with a changed email, or someone from another tenant.
    ///
    /// # Panics
    /// If there is no staff client or the email is not an email address: a bug in the test.
    pub fn set_next_staff_member(&self, member: StaffMember) -> StaffMember {
        match staff::queue_member(&self.provider, member) {
            Ok(member) => member,
            Err(e) => panic!("cannot queue that next staff login: {e}"),
        }
    }

    /// The staff personas, in the order the staff picker lists them.
    pub fn staff_personas(&self) -> Vec<StaffPersona> {
        staff_personas()
    }

    /// The staff persona with this id (`admin`, `officer`, `officer2`, `viewer`, `norole`).
    pub fn staff_persona(&self, id: &str) -> Option<StaffPersona> {
        staff_personas().into_iter().find(|p| p.id == id)
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(task) = &self.identity_task {
            task.abort();
        }
    }
}
