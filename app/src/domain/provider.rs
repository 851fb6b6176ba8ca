//! Teacher ID as an OpenID Connect provider for other DfE services (DESIGN §7.1): what a registered client may
//! ask for, and whether an authorization request is one we answer.
//!
//! A **client** is registered by an administrator with its exact redirect and post-logout URIs, how it
//! authenticates at the token endpoint ([`ClientAuth`]), the scopes it may ask for, and two policies:
//! [`SignInPolicy`] (One Login only, or One Login or a DfE Identity account) and [`TrnPolicy`] (the teacher returns
//! only with a TRN, or may return without one).
//!
//! An **authorization request** ([`validate_authorization_request`]) is checked in this order, and the first rule
//! broken decides the answer:
//! 1. Whom to answer. `client_id` and `redirect_uri` must each be there once, the client must be registered, and
//!    the redirect URI must equal one of its registered URIs character for character. Otherwise the redirect URI
//!    cannot be trusted: the person sees a GOV.UK error page and is **never redirected** ([`Untrusted`]), since
//!    sending them to an unregistered address would make us an open redirector.
//! 2. Everything else is answered at the trusted redirect URI with the error code RFC 6749 §4.1.2.1 or OIDC Core
//!    §3.1.2.6 names ([`ErrorCode`]), with `state` when the client sent one:
//!    - any parameter more than once (RFC 6749 §3.1) → `invalid_request`;
//!    - a disabled client → `unauthorized_client` (as One Login answers a deactivated client);
//!    - `response_type` missing → `invalid_request`; anything but `code` → `unsupported_response_type`;
//!    - `response_mode` other than `query` → `invalid_request`; `request` / `request_uri` → `request_not_supported`
//!      / `request_uri_not_supported` (we read no request objects);
//!    - `scope` missing, or without `openid` → `invalid_request` (as One Login answers); a scope we do not know,
//!      a malformed list, or one the client may not ask for → `invalid_scope`;
//!    - `state` and `nonce` required, non-empty, at most [`MAX_STATE_OR_NONCE`] bytes, no control characters →
//!      `invalid_request`;
//!    - PKCE required: `code_challenge_method` must be `S256` (`plain` refused, and a missing method is refused
//!      rather than read as `plain` as RFC 7636 §4.3 would), and `code_challenge` a base64url SHA-256 (43
//!      characters) → `invalid_request`;
//!    - `prompt`: `login`, `none`, or absent; `none` with anything else, or any other value → `invalid_request`;
//!    - `max_age`: a whole number of seconds, zero or more → `invalid_request`;
//!    - `trn_token` (DESIGN §7.2): optional; when present, 1 to [`MAX_TRN_TOKEN`] URL-safe characters →
//!      `invalid_request`.
//!
//! Whether the person must sign in again, and `prompt=none`'s `login_required`, are decided by [`sign_in_needed`]
//! once the server knows who is signed in. The code verifier is checked against the challenge by [`pkce_matches`]
//! (RFC 7636 §4.6).
//!
//! Pure: no database, no HTTP, no clock (times are passed in).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// The longest `state` or `nonce` we keep: they go into the session, and clients' values are short (One Login's
/// WAF caps its whole query string at 4096 characters).
pub const MAX_STATE_OR_NONCE: usize = 512;
/// The longest `trn_token` we read: the tokens we issue are far shorter (DESIGN §7.2).
pub const MAX_TRN_TOKEN: usize = 256;

/// How a client's users may sign in (DESIGN §7 table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInPolicy {
    /// GOV.UK One Login only: every service that shows or changes a teaching record.
    #[default]
    OneLogin,
    /// One Login, or a DfE Identity account (email and passcode; identity not verified).
    OneLoginOrAccount,
}

impl SignInPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneLogin => "one_login",
            Self::OneLoginOrAccount => "one_login_or_account",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "one_login" => Some(Self::OneLogin),
            "one_login_or_account" => Some(Self::OneLoginOrAccount),
            _ => None,
        }
    }
}

/// How a client's ID tokens are signed (its `id_token_signed_response_alg`, OIDC Dynamic Client Registration §2):
/// RS256 unless it asks for ES256 (DESIGN §7.1 allows both). An ES256 signature costs far less CPU than an RS256 one
/// (issue 12, "Measure").
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum IdTokenAlg {
    /// OpenID Connect's default.
    #[default]
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "ES256")]
    Es256,
}

impl IdTokenAlg {
    pub const ALL: [IdTokenAlg; 2] = [Self::Rs256, Self::Es256];
    /// The JOSE name, as stored and published.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
    /// Exactly `RS256` or `ES256`: any other algorithm is refused.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Whether a client's users must have a TRN before they return to it (DESIGN §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrnPolicy {
    /// They return only once connected to a record; otherwise they wait for support.
    Required,
    /// They may return without a TRN (`trn_lookup_status = pending`); a support task is still raised.
    Optional,
}

impl TrnPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "required" => Some(Self::Required),
            "optional" => Some(Self::Optional),
            _ => None,
        }
    }
}

/// Whether someone creating a DfE Identity account for a client's service must give a mobile number (DESIGN §7.3,
/// issue 13 §2): required unless the service says otherwise, so a client registered before this was, or a request
/// kept in a session from then, asks for one as it always did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MobilePolicy {
    /// The mobile page has no way past it but a proven number.
    #[default]
    Required,
    /// The mobile page also offers "Continue without a mobile number".
    Optional,
}

impl MobilePolicy {
    pub const ALL: [MobilePolicy; 2] = [Self::Required, Self::Optional];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Where a `private_key_jwt` client's public keys are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKeys {
    /// Fetched from the client's JWKS URL (so the client can rotate its keys by itself).
    JwksUri(String),
    /// A JWKS registered with the client, as JSON text.
    Jwks(String),
}

/// How a client authenticates at the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// A client assertion signed with the client's private key (RFC 7523), the way we authenticate to One Login.
    PrivateKeyJwt(ClientKeys),
    /// A shared secret, sent in the body (`client_secret_post`) or as HTTP Basic (`client_secret_basic`). Only its
    /// SHA-256 is stored, as lowercase hex: see the server's `db::provider` for why a plain hash suffices.
    ClientSecret { sha256: String },
}

/// A scope a client may ask for (DESIGN §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Openid,
    Email,
    Profile,
    /// `trn` and `trn_lookup_status`.
    TeachingRecord,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::Openid,
        Scope::Email,
        Scope::Profile,
        Scope::TeachingRecord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openid => "openid",
            Self::Email => "email",
            Self::Profile => "profile",
            Self::TeachingRecord => "teaching_record",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// A set of scopes, in a fixed order whatever order they were asked in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scopes(pub BTreeSet<Scope>);

/// Why a `scope` parameter could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeError {
    /// Empty, or with an empty token (two spaces, a leading or trailing space): RFC 6749 §3.3 separates scope
    /// tokens with exactly one space.
    Malformed,
    Unknown(String),
}

impl Scopes {
    /// Reads a space-separated `scope` parameter (RFC 6749 §3.3). A scope named twice counts once.
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        if s.is_empty() {
            return Err(ScopeError::Malformed);
        }
        s.split(' ')
            .map(|token| match token {
                "" => Err(ScopeError::Malformed),
                _ => Scope::parse(token).ok_or_else(|| ScopeError::Unknown(token.to_string())),
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_subset(&self, of: &Scopes) -> bool {
        self.0.is_subset(&of.0)
    }

    /// As the `scope` parameter says it: space-separated.
    pub fn to_param(&self) -> String {
        self.0
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl<const N: usize> From<[Scope; N]> for Scopes {
    fn from(scopes: [Scope; N]) -> Self {
        Self(scopes.into_iter().collect())
    }
}

/// A registered relying party (DESIGN §7.1), as the authorization endpoint needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    /// "Continue to <display name>".
    pub display_name: String,
    pub service_url: String,
    /// Exact strings: a request's `redirect_uri` must equal one of them.
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth: ClientAuth,
    pub allowed_scopes: Scopes,
    pub sign_in: SignInPolicy,
    pub trn: TrnPolicy,
    /// Whether its teachers creating a DfE Identity account may do so without a mobile number.
    pub mobile: MobilePolicy,
    /// How its ID tokens are signed.
    pub id_token_alg: IdTokenAlg,
    pub enabled: bool,
}

/// `prompt` (OIDC Core §3.1.2.1), the values we honour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Absent: a teacher already signed in is not asked again (single sign-on).
    #[default]
    Default,
    /// Sign in again even when signed in.
    Login,
    /// Never show a page: answer at once, with `login_required` if the teacher would have to sign in.
    None,
}

/// An authorization request that passed every rule: what the journey keeps in the session until it returns to
/// the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub state: String,
    pub nonce: String,
    /// The S256 PKCE challenge, checked at the token endpoint with [`pkce_matches`].
    pub code_challenge: String,
    pub prompt: Prompt,
    /// Seconds: the teacher must have signed in at most this long ago.
    pub max_age: Option<u64>,
    pub trn_token: Option<String>,
}

/// Why the redirect URI cannot be trusted: the answer is a GOV.UK error page, never a redirect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Untrusted {
    MissingClientId,
    UnknownClient,
    MissingRedirectUri,
    RedirectUriNotRegistered,
    /// `client_id` or `redirect_uri` sent more than once: which one would we trust?
    RepeatedClientIdOrRedirectUri,
}

impl Untrusted {
    /// For the log (no personal data).
    pub fn reason(self) -> &'static str {
        match self {
            Self::MissingClientId => "no client_id",
            Self::UnknownClient => "unknown client_id",
            Self::MissingRedirectUri => "no redirect_uri",
            Self::RedirectUriNotRegistered => "redirect_uri not registered for the client",
            Self::RepeatedClientIdOrRedirectUri => "client_id or redirect_uri sent more than once",
        }
    }
}

/// The error codes of RFC 6749 §4.1.2.1 and OIDC Core §3.1.2.6 that we answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    UnauthorizedClient,
    AccessDenied,
    UnsupportedResponseType,
    InvalidScope,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    /// `prompt=none`, signed in, but the journey still has pages to show them (OIDC Core §3.1.2.6).
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

/// An error answered at the client's (trusted) redirect URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorResponse {
    pub redirect_uri: String,
    pub error: ErrorCode,
    /// `error_description`: ASCII, for the client's developers, never personal data.
    pub description: &'static str,
    pub state: Option<String>,
}

impl ErrorResponse {
    /// The redirect URI with `error`, `error_description` and `state` added to its query (RFC 6749 §4.1.2.1). A
    /// registered URI may have a query of its own, which is kept.
    pub fn location(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("error", self.error.as_str());
        query.append_pair("error_description", self.description);
        if let Some(state) = &self.state {
            query.append_pair("state", state);
        }
        let separator = if self.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}{}", self.redirect_uri, query.finish())
    }
}

/// Why an authorization request is not answered with a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeError {
    Untrusted(Untrusted),
    Redirect(ErrorResponse),
}

impl AuthorizeError {
    /// The error code, if the answer is a redirect.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Untrusted(_) => None,
            Self::Redirect(e) => Some(e.error),
        }
    }
}

/// A `state` or `nonce` we keep and send back: non-empty, at most [`MAX_STATE_OR_NONCE`] bytes, and no control
/// characters. RFC 6749 (Appendix A) allows only printable ASCII in `state`; control characters are the part of
/// that which matters here: NUL cannot be stored in PostgreSQL text, and CR or LF has no business in a value we
/// put in a `Location` header or an ID token.
fn state_or_nonce_fits(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_STATE_OR_NONCE && !value.chars().any(char::is_control)
}

/// Checks an authorization request (the query's pairs, in order, repeats kept) against `client`, the registered
/// client its `client_id` names (`None` when there is none). See the module header for the rules and their order.
pub fn validate_authorization_request(
    params: &[(String, String)],
    client: Option<&Client>,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, value) in params {
        seen.entry(name.as_str()).or_default().push(value.as_str());
    }
    let once = |name: &str| -> Option<&str> {
        match seen.get(name).map(Vec::as_slice) {
            Some([value]) => Some(value),
            _ => None,
        }
    };
    let repeated = |name: &str| seen.get(name).is_some_and(|v| v.len() > 1);

    // 1. Whom to answer.
    if repeated("client_id") || repeated("redirect_uri") {
        return Err(AuthorizeError::Untrusted(
            Untrusted::RepeatedClientIdOrRedirectUri,
        ));
    }
    let client_id =
        once("client_id").ok_or(AuthorizeError::Untrusted(Untrusted::MissingClientId))?;
    let client = client
        .filter(|c| c.client_id == client_id)
        .ok_or(AuthorizeError::Untrusted(Untrusted::UnknownClient))?;
    let redirect_uri =
        once("redirect_uri").ok_or(AuthorizeError::Untrusted(Untrusted::MissingRedirectUri))?;
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(AuthorizeError::Untrusted(
            Untrusted::RedirectUriNotRegistered,
        ));
    }

    // 2. Answered at the redirect URI. `state` goes back only when it was sent once.
    let state = once("state").filter(|s| state_or_nonce_fits(s));
    let refuse = |error: ErrorCode, description: &'static str| {
        AuthorizeError::Redirect(ErrorResponse {
            redirect_uri: redirect_uri.to_string(),
            error,
            description,
            state: state.map(str::to_string),
        })
    };
    use ErrorCode::*;
    if seen.values().any(|values| values.len() > 1) {
        return Err(refuse(
            InvalidRequest,
            "A parameter was sent more than once",
        ));
    }
    if !client.enabled {
        return Err(refuse(UnauthorizedClient, "The client is disabled"));
    }
    match once("response_type") {
        None => return Err(refuse(InvalidRequest, "response_type is missing")),
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                UnsupportedResponseType,
                "Only response_type=code is supported",
            ))
        }
    }
    if once("response_mode").is_some_and(|m| m != "query") {
        return Err(refuse(
            InvalidRequest,
            "Only response_mode=query is supported",
        ));
    }
    if seen.contains_key("request") {
        return Err(refuse(
            RequestNotSupported,
            "Request objects are not supported",
        ));
    }
    if seen.contains_key("request_uri") {
        return Err(refuse(
            RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    let scopes = match once("scope").map(Scopes::parse) {
        None => return Err(refuse(InvalidRequest, "scope is missing")),
        Some(Err(ScopeError::Malformed)) => return Err(refuse(InvalidScope, "scope is malformed")),
        Some(Err(ScopeError::Unknown(_))) => return Err(refuse(InvalidScope, "Unknown scope")),
        Some(Ok(scopes)) => scopes,
    };
    if !scopes.contains(Scope::Openid) {
        return Err(refuse(InvalidRequest, "scope must include openid"));
    }
    if !scopes.is_subset(&client.allowed_scopes) {
        return Err(refuse(
            InvalidScope,
            "A scope was asked for that the client may not use",
        ));
    }
    let Some(state) = state else {
        return Err(refuse(
            InvalidRequest,
            "state is missing, empty or too long",
        ));
    };
    let Some(nonce) = once("nonce").filter(|n| state_or_nonce_fits(n)) else {
        return Err(refuse(
            InvalidRequest,
            "nonce is missing, empty or too long",
        ));
    };
    match once("code_challenge_method") {
        Some("S256") => {}
        Some("plain") => {
            return Err(refuse(
                InvalidRequest,
                "code_challenge_method plain is not allowed: use S256",
            ))
        }
        _ => return Err(refuse(InvalidRequest, "code_challenge_method must be S256")),
    }
    let Some(code_challenge) = once("code_challenge").filter(|c| is_s256_challenge(c)) else {
        return Err(refuse(
            InvalidRequest,
            "code_challenge is missing or is not a base64url SHA-256",
        ));
    };
    let prompt = match once("prompt").map(parse_prompt) {
        None => Prompt::Default,
        Some(Some(prompt)) => prompt,
        Some(None) => return Err(refuse(InvalidRequest, "prompt is not supported")),
    };
    // Digits only (`parse` would take a leading `+`), and small enough for a u64.
    let max_age = match once("max_age") {
        None => None,
        Some(m) => match m.parse::<u64>() {
            Ok(seconds) if m.bytes().all(|b| b.is_ascii_digit()) => Some(seconds),
            _ => {
                return Err(refuse(
                    InvalidRequest,
                    "max_age must be a whole number of seconds",
                ))
            }
        },
    };
    let trn_token = match once("trn_token") {
        None => None,
        Some(token) if is_trn_token_shaped(token) => Some(token.to_string()),
        Some(_) => return Err(refuse(InvalidRequest, "trn_token is malformed")),
    };
    Ok(AuthorizationRequest {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        scopes,
        state: state.to_string(),
        nonce: nonce.to_string(),
        code_challenge: code_challenge.to_string(),
        prompt,
        max_age,
        trn_token,
    })
}

/// `prompt`: space-separated values; only `login` and `none`, and `none` alone (OIDC Core §3.1.2.1).
fn parse_prompt(s: &str) -> Option<Prompt> {
    let values: BTreeSet<&str> = s.split(' ').collect();
    match values.into_iter().collect::<Vec<_>>().as_slice() {
        ["login"] => Some(Prompt::Login),
        ["none"] => Some(Prompt::None),
        _ => None,
    }
}

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An S256 challenge is BASE64URL(SHA-256(verifier)) without padding: 32 bytes, 43 characters.
fn is_s256_challenge(s: &str) -> bool {
    s.len() == 43 && is_base64url(s)
}

fn is_trn_token_shaped(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_TRN_TOKEN && is_base64url(s)
}

/// Whether `verifier` has RFC 7636 §4.1's shape: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of `verifier`: BASE64URL-ENCODE(SHA256(ASCII(verifier))) (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Whether the token request's `code_verifier` answers the authorization request's S256 `code_challenge`
/// (RFC 7636 §4.6). A verifier of the wrong shape never matches.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    is_code_verifier(verifier) && s256_challenge(verifier) == challenge
}

/// Who is signed in to Teacher ID in this browser, as far as a client's request cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedIn {
    /// When they last authenticated (seconds since the epoch).
    pub auth_time: i64,
}

/// What to do with a valid request before the journey runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInNeeded {
    /// Single sign-on: the teacher signed in to Teacher ID is not asked again.
    No,
    /// Through sign-in (again, for `prompt=login` or an old sign-in under `max_age`).
    Yes,
}

/// Whether the teacher must sign in for `request`, given who is signed in now (`None`: nobody) at `now`, and
/// `prompt=none`'s `login_required` when they would have to (OIDC Core §3.1.2.1, §3.1.2.6).
pub fn sign_in_needed(
    request: &AuthorizationRequest,
    signed_in: Option<SignedIn>,
    now: i64,
) -> Result<SignInNeeded, ErrorResponse> {
    let fresh_enough = |s: SignedIn| {
        request.max_age.is_none_or(|max| {
            now.saturating_sub(s.auth_time) <= i64::try_from(max).unwrap_or(i64::MAX)
        })
    };
    let needed = match (request.prompt, signed_in) {
        (Prompt::Login, _) | (_, None) => SignInNeeded::Yes,
        (_, Some(s)) if !fresh_enough(s) => SignInNeeded::Yes,
        (_, Some(_)) => SignInNeeded::No,
    };
    if request.prompt == Prompt::None && needed == SignInNeeded::Yes {
        return Err(ErrorResponse {
            redirect_uri: request.redirect_uri.clone(),
            error: ErrorCode::LoginRequired,
            description: "The teacher is not signed in",
            state: Some(request.state.clone()),
        });
    }
    Ok(needed)
}

/// A valid authorization request as the session keeps it while the teacher goes through the journey (DESIGN §7.1),
/// with what the pages need of its client (its name for "Continue to <service>", its `trn` policy) so they need no
/// database read. `/oauth2/continue` reads the client afresh before it issues a code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRequest {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    pub code_challenge: String,
    pub scopes: Scopes,
    pub trn: TrnPolicy,
    /// When the request arrived (seconds since the epoch).
    pub requested_at: i64,
    /// Whether the client lets teachers sign in with a DfE Identity account as well as One Login (DESIGN §7.3);
    /// One Login only for a request kept before this was.
    #[serde(default)]
    pub sign_in: SignInPolicy,
    /// Whether a new DfE Identity account may be made without a mobile number; required for a request kept before
    /// this was.
    #[serde(default)]
    pub mobile: MobilePolicy,
}

impl ClientRequest {
    /// How long a kept request may still take the teacher back: a One Login round trip and an identity check take
    /// up to an hour each. Later, the service has long given up on its `state`, and the teacher who comes back from
    /// it brings a new request.
    pub const LIFETIME_SECONDS: i64 = 2 * 3600;

    /// Whether the request may still take the teacher back at `now` (seconds since the epoch).
    pub fn is_live(&self, now: i64) -> bool {
        now - self.requested_at <= Self::LIFETIME_SECONDS
    }

    pub fn new(request: &AuthorizationRequest, client: &Client, now: i64) -> Self {
        Self {
            client_id: request.client_id.clone(),
            client_name: client.display_name.clone(),
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            scopes: request.scopes.clone(),
            trn: client.trn,
            requested_at: now,
            sign_in: client.sign_in,
            mobile: client.mobile,
        }
    }

    /// The redirect URI with `code` and `state` added to its query (RFC 6749 §4.1.2), keeping a registered query.
    pub fn code_location(&self, code: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("code", code)
            .append_pair("state", &self.state)
            .finish();
        let separator = if self.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}{query}", self.redirect_uri)
    }
}

/// What a client's request needs to know of the teacher to decide whether they may go back to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TeacherState {
    pub signed_in: bool,
    /// By One Login, or by support from their proof.
    pub identity_verified: bool,
    pub connected: bool,
    pub open_support_task: bool,
    /// They answered every question the journey asks without being connected (they are at check answers).
    pub questions_finished: bool,
    /// Signed in with a DfE Identity account (DESIGN §7.3): a client that offers accounts takes the account's own,
    /// unverified name and date of birth, so One Login's identity check is not asked of them.
    pub account_holder: bool,
}

impl TeacherState {
    /// The state of someone at `position` in the journey; `identity_verified` as their session (updated from the
    /// database) says.
    pub fn at(position: &crate::domain::journey::Position, identity_verified: bool) -> Self {
        use crate::domain::journey::Position;
        Self {
            signed_in: !matches!(position, Position::SignedOut),
            identity_verified,
            connected: matches!(position, Position::Connected),
            open_support_task: matches!(position, Position::AwaitingSupport),
            questions_finished: matches!(
                position,
                Position::Answering(answers)
                    if answers.nino.is_some() && answers.trn.is_some() && !answers.needs_third_question()
            ),
            account_holder: false,
        }
    }

    /// This state once support has said there is no record for this account holder (DESIGN §7.3): nothing more
    /// will be looked up, so a `trn = optional` service takes them back (`trn_lookup_status = none`) as it does
    /// someone who answered every question.
    pub fn with_no_record_found(self, no_record: bool) -> Self {
        Self {
            questions_finished: self.questions_finished || no_record,
            ..self
        }
    }

    /// This state for someone who signed in with a DfE Identity account (`true`) or One Login.
    pub fn signed_in_with_account(self, account_holder: bool) -> Self {
        Self {
            account_holder,
            ..self
        }
    }
}

/// `trn_lookup_status` (DESIGN §7.1): whether we found the teacher's record, are still looking, or have not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrnLookupStatus {
    Found,
    /// A support task is open.
    Pending,
    None,
}

impl TrnLookupStatus {
    pub fn of(connected: bool, open_support_task: bool) -> Self {
        match (connected, open_support_task) {
            (true, _) => Self::Found,
            (false, true) => Self::Pending,
            (false, false) => Self::None,
        }
    }
}

/// Whether the teacher may go back to the client now, and if not, what they are waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MayReturn {
    Now,
    /// Not signed in to Teacher ID.
    SignIn,
    /// The client asked for `profile` or `teaching_record`, which only a verified identity gives.
    VerifyIdentity,
    /// The client asked for `teaching_record`: they go on through the journey to find it.
    FindRecord,
    /// `trn = required` and support is looking for their record: the service is available once it is found.
    WaitForSupport,
}

/// Whether a teacher in `teacher`'s state may return to a client with policy `trn` that asked for `scopes`:
/// - without `profile` and `teaching_record`, once signed in;
/// - with either, once their identity is verified (by One Login or support);
/// - with `teaching_record` and `trn = required`, only once connected to their record (a teacher waiting for
///   support waits for it);
/// - with `teaching_record` and `trn = optional`, once connected, once they have an open support task (they go
///   back with `trn_lookup_status = pending`) or once they have finished the questions (`none`).
pub fn may_return(trn: TrnPolicy, scopes: &Scopes, teacher: &TeacherState) -> MayReturn {
    if !teacher.signed_in {
        return MayReturn::SignIn;
    }
    let needs_identity = scopes.contains(Scope::Profile) || scopes.contains(Scope::TeachingRecord);
    if !needs_identity {
        return MayReturn::Now;
    }
    if !teacher.identity_verified && !teacher.account_holder {
        return MayReturn::VerifyIdentity;
    }
    if !scopes.contains(Scope::TeachingRecord) || teacher.connected {
        return MayReturn::Now;
    }
    match trn {
        TrnPolicy::Required if teacher.open_support_task => MayReturn::WaitForSupport,
        TrnPolicy::Required => MayReturn::FindRecord,
        TrnPolicy::Optional if teacher.open_support_task || teacher.questions_finished => {
            MayReturn::Now
        }
        TrnPolicy::Optional => MayReturn::FindRecord,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REDIRECT: &str = "https://service.example/callback";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client() -> Client {
        Client {
            client_id: "npq".into(),
            display_name: "Register for an NPQ".into(),
            service_url: "https://service.example".into(),
            redirect_uris: vec![REDIRECT.into(), "https://service.example/other?x=1".into()],
            post_logout_redirect_uris: vec![],
            auth: ClientAuth::ClientSecret {
                sha256: "00".repeat(32),
            },
            allowed_scopes: Scopes::from([Scope::Openid, Scope::Email, Scope::TeachingRecord]),
            sign_in: SignInPolicy::OneLogin,
            trn: TrnPolicy::Required,
            mobile: MobilePolicy::Required,
            id_token_alg: IdTokenAlg::Rs256,
            enabled: true,
        }
    }

    fn good() -> Vec<(String, String)> {
        [
            ("response_type", "code"),
            ("client_id", "npq"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email"),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn with(name: &str, value: &str) -> Vec<(String, String)> {
        let mut params = without(name);
        params.push((name.into(), value.into()));
        params
    }

    fn without(name: &str) -> Vec<(String, String)> {
        good().into_iter().filter(|(k, _)| k != name).collect()
    }

    fn validate(params: &[(String, String)]) -> Result<AuthorizationRequest, AuthorizeError> {
        validate_authorization_request(params, Some(&client()))
    }

    #[track_caller]
    fn refused_with(params: &[(String, String)], code: ErrorCode) -> ErrorResponse {
        match validate(params) {
            Err(AuthorizeError::Redirect(e)) => {
                assert_eq!(e.error, code, "{}", e.description);
                assert_eq!(e.redirect_uri, REDIRECT);
                e
            }
            other => panic!("expected {code:?}, got {other:?}"),
        }
    }

    #[track_caller]
    fn untrusted(params: &[(String, String)], client: Option<&Client>) -> Untrusted {
        match validate_authorization_request(params, client) {
            Err(AuthorizeError::Untrusted(why)) => why,
            other => panic!("expected an untrusted request, got {other:?}"),
        }
    }

    #[test]
    fn a_request_that_keeps_every_rule_is_valid() {
        let request = validate(&good()).unwrap();
        assert_eq!(request.client_id, "npq");
        assert_eq!(request.redirect_uri, REDIRECT);
        assert_eq!(request.scopes, Scopes::from([Scope::Openid, Scope::Email]));
        assert_eq!(
            (request.state.as_str(), request.nonce.as_str()),
            ("st-1", "n-1")
        );
        assert_eq!(request.code_challenge, CHALLENGE);
        assert_eq!(request.prompt, Prompt::Default);
        assert_eq!((request.max_age, request.trn_token), (None, None));
    }

    #[test]
    fn an_unknown_client_gets_an_error_page_not_a_redirect() {
        assert_eq!(untrusted(&good(), None), Untrusted::UnknownClient);
        let other = Client {
            client_id: "someone-else".into(),
            ..client()
        };
        assert_eq!(untrusted(&good(), Some(&other)), Untrusted::UnknownClient);
        assert_eq!(
            untrusted(&without("client_id"), Some(&client())),
            Untrusted::MissingClientId
        );
    }

    #[test]
    fn the_redirect_uri_must_equal_a_registered_one_exactly() {
        for near_miss in [
            "https://service.example/callback/",
            "https://service.example/callback?x=1",
            "https://SERVICE.example/callback",
            "http://service.example/callback",
            "https://service.example:443/callback",
            "https://service.example/callback#f",
            "https://service.example/Callback",
            "https://evil.example/callback",
        ] {
            assert_eq!(
                untrusted(&with("redirect_uri", near_miss), Some(&client())),
                Untrusted::RedirectUriNotRegistered,
                "{near_miss}"
            );
        }
        assert_eq!(
            untrusted(&without("redirect_uri"), Some(&client())),
            Untrusted::MissingRedirectUri
        );
        let other = validate(&with("redirect_uri", "https://service.example/other?x=1")).unwrap();
        assert_eq!(other.redirect_uri, "https://service.example/other?x=1");
    }

    #[test]
    fn a_repeated_client_id_or_redirect_uri_is_never_trusted() {
        let mut twice = good();
        twice.push(("redirect_uri".into(), REDIRECT.into()));
        assert_eq!(
            untrusted(&twice, Some(&client())),
            Untrusted::RepeatedClientIdOrRedirectUri
        );
        let mut twice = good();
        twice.push(("client_id".into(), "npq".into()));
        assert_eq!(
            untrusted(&twice, Some(&client())),
            Untrusted::RepeatedClientIdOrRedirectUri
        );
    }

    #[test]
    fn any_other_repeated_parameter_is_an_invalid_request() {
        for name in [
            "scope",
            "nonce",
            "code_challenge",
            "response_type",
            "prompt",
        ] {
            let mut twice = good();
            twice.push((name.into(), "x".into()));
            refused_with(&twice, ErrorCode::InvalidRequest);
        }
        let mut twice = good();
        twice.push(("state".into(), "st-2".into()));
        let e = refused_with(&twice, ErrorCode::InvalidRequest);
        assert_eq!(e.state, None, "which state would we send back?");
    }

    #[test]
    fn a_disabled_client_is_an_unauthorized_client() {
        let disabled = Client {
            enabled: false,
            ..client()
        };
        match validate_authorization_request(&good(), Some(&disabled)) {
            Err(AuthorizeError::Redirect(e)) => assert_eq!(e.error, ErrorCode::UnauthorizedClient),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn response_type_must_be_code() {
        refused_with(&without("response_type"), ErrorCode::InvalidRequest);
        for other in ["token", "id_token", "code id_token", "CODE", ""] {
            refused_with(
                &with("response_type", other),
                ErrorCode::UnsupportedResponseType,
            );
        }
    }

    #[test]
    fn only_the_query_response_mode_is_supported() {
        validate(&with("response_mode", "query")).unwrap();
        refused_with(
            &with("response_mode", "fragment"),
            ErrorCode::InvalidRequest,
        );
        refused_with(
            &with("response_mode", "form_post"),
            ErrorCode::InvalidRequest,
        );
    }

    #[test]
    fn request_objects_are_not_supported() {
        refused_with(&with("request", "eyJ.x.y"), ErrorCode::RequestNotSupported);
        refused_with(
            &with("request_uri", "https://x"),
            ErrorCode::RequestUriNotSupported,
        );
    }

    #[test]
    fn scope_must_include_openid() {
        refused_with(&with("scope", "email"), ErrorCode::InvalidRequest);
        refused_with(&without("scope"), ErrorCode::InvalidRequest);
    }

    #[test]
    fn an_unknown_or_malformed_scope_is_an_invalid_scope() {
        refused_with(&with("scope", "openid phone"), ErrorCode::InvalidScope);
        refused_with(&with("scope", "openid  email"), ErrorCode::InvalidScope);
        refused_with(&with("scope", " openid"), ErrorCode::InvalidScope);
        refused_with(&with("scope", ""), ErrorCode::InvalidScope);
        refused_with(&with("scope", "OPENID"), ErrorCode::InvalidScope);
    }

    #[test]
    fn a_scope_the_client_may_not_use_is_an_invalid_scope() {
        refused_with(&with("scope", "openid profile"), ErrorCode::InvalidScope);
        let ok = validate(&with("scope", "teaching_record openid openid")).unwrap();
        assert_eq!(
            ok.scopes,
            Scopes::from([Scope::Openid, Scope::TeachingRecord])
        );
    }

    #[test]
    fn state_is_required() {
        let e = refused_with(&without("state"), ErrorCode::InvalidRequest);
        assert_eq!(e.state, None);
        refused_with(&with("state", ""), ErrorCode::InvalidRequest);
        refused_with(
            &with("state", &"s".repeat(MAX_STATE_OR_NONCE + 1)),
            ErrorCode::InvalidRequest,
        );
        validate(&with("state", &"s".repeat(MAX_STATE_OR_NONCE))).unwrap();
    }

    #[test]
    fn state_and_nonce_with_control_characters_are_refused_and_such_a_state_is_not_sent_back() {
        for bad in ["a\0b", "a\r\nSet-Cookie: x=1", "tab\there", "\u{7f}"] {
            let e = refused_with(&with("state", bad), ErrorCode::InvalidRequest);
            assert_eq!(e.state, None, "{bad:?}");
            let e = refused_with(&with("nonce", bad), ErrorCode::InvalidRequest);
            assert_eq!(e.state.as_deref(), Some("st-1"), "{bad:?}");
        }
        // Other characters are the client's business: kept, and sent back as they came.
        let odd = "\u{202e}\u{1f600}\u{663}";
        let ok = validate(&with("state", odd)).unwrap();
        assert_eq!(ok.state, odd);
        validate(&with("nonce", odd)).unwrap();
    }

    #[test]
    fn nonce_is_required() {
        let e = refused_with(&without("nonce"), ErrorCode::InvalidRequest);
        assert_eq!(
            e.state.as_deref(),
            Some("st-1"),
            "the state goes back with the error"
        );
        refused_with(&with("nonce", ""), ErrorCode::InvalidRequest);
        refused_with(
            &with("nonce", &"n".repeat(MAX_STATE_OR_NONCE + 1)),
            ErrorCode::InvalidRequest,
        );
    }

    #[test]
    fn pkce_s256_is_required() {
        refused_with(&without("code_challenge"), ErrorCode::InvalidRequest);
        refused_with(&without("code_challenge_method"), ErrorCode::InvalidRequest);
        refused_with(
            &with("code_challenge_method", "s256"),
            ErrorCode::InvalidRequest,
        );
    }

    #[test]
    fn the_plain_pkce_method_is_refused() {
        let e = refused_with(
            &with("code_challenge_method", "plain"),
            ErrorCode::InvalidRequest,
        );
        assert!(e.description.contains("plain"));
    }

    #[test]
    fn a_code_challenge_must_be_a_base64url_sha256() {
        refused_with(
            &with("code_challenge", &CHALLENGE[..42]),
            ErrorCode::InvalidRequest,
        );
        refused_with(
            &with("code_challenge", &format!("{CHALLENGE}A")),
            ErrorCode::InvalidRequest,
        );
        refused_with(
            &with(
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            ),
            ErrorCode::InvalidRequest,
        );
        refused_with(
            &with(
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=",
            ),
            ErrorCode::InvalidRequest,
        );
    }

    #[test]
    fn prompt_login_and_none_are_honoured() {
        assert_eq!(
            validate(&with("prompt", "login")).unwrap().prompt,
            Prompt::Login
        );
        assert_eq!(
            validate(&with("prompt", "none")).unwrap().prompt,
            Prompt::None
        );
    }

    #[test]
    fn prompt_none_with_another_value_is_invalid() {
        refused_with(&with("prompt", "none login"), ErrorCode::InvalidRequest);
        refused_with(&with("prompt", "login none"), ErrorCode::InvalidRequest);
    }

    #[test]
    fn other_prompt_values_are_invalid() {
        for other in ["consent", "select_account", "", "LOGIN", "login consent"] {
            refused_with(&with("prompt", other), ErrorCode::InvalidRequest);
        }
    }

    #[test]
    fn max_age_is_a_non_negative_whole_number() {
        assert_eq!(validate(&with("max_age", "0")).unwrap().max_age, Some(0));
        assert_eq!(
            validate(&with("max_age", "3600")).unwrap().max_age,
            Some(3600)
        );
        for bad in ["-1", "1.5", "", "+5", "ten", "99999999999999999999999"] {
            refused_with(&with("max_age", bad), ErrorCode::InvalidRequest);
        }
    }

    #[test]
    fn a_trn_token_is_kept_when_well_formed() {
        assert_eq!(
            validate(&with("trn_token", "abc123-_"))
                .unwrap()
                .trn_token
                .as_deref(),
            Some("abc123-_")
        );
        refused_with(&with("trn_token", ""), ErrorCode::InvalidRequest);
        refused_with(&with("trn_token", "a b"), ErrorCode::InvalidRequest);
        refused_with(
            &with("trn_token", &"a".repeat(MAX_TRN_TOKEN + 1)),
            ErrorCode::InvalidRequest,
        );
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        // OIDC Core §3.1.2.1: parameters the server does not understand are ignored.
        validate(&with("ui_locales", "cy")).unwrap();
    }

    #[test]
    fn the_error_redirect_carries_the_code_description_and_state() {
        let e = refused_with(
            &with("response_type", "token"),
            ErrorCode::UnsupportedResponseType,
        );
        assert_eq!(
            e.location(),
            "https://service.example/callback?error=unsupported_response_type&error_description=Only+response_type%3Dcode+is+supported&state=st-1"
        );
        let mut params = with("response_type", "token");
        params.retain(|(k, _)| k != "redirect_uri");
        params.push((
            "redirect_uri".into(),
            "https://service.example/other?x=1".into(),
        ));
        match validate(&params) {
            Err(AuthorizeError::Redirect(e)) => assert!(e
                .location()
                .starts_with("https://service.example/other?x=1&error=unsupported_response_type&")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_state_goes_back_encoded() {
        let e = refused_with(
            &with("state", "a&b=c d")
                .into_iter()
                .filter(|(k, _)| k != "nonce")
                .collect::<Vec<_>>(),
            ErrorCode::InvalidRequest,
        );
        assert!(
            e.location().ends_with("&state=a%26b%3Dc+d"),
            "{}",
            e.location()
        );
    }

    fn request(prompt: Prompt, max_age: Option<u64>) -> AuthorizationRequest {
        AuthorizationRequest {
            prompt,
            max_age,
            ..validate(&good()).unwrap()
        }
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_teacher_already_signed_in_is_not_asked_again() {
        let signed_in = Some(SignedIn {
            auth_time: NOW - 5000,
        });
        assert_eq!(
            sign_in_needed(&request(Prompt::Default, None), signed_in, NOW),
            Ok(SignInNeeded::No)
        );
        assert_eq!(
            sign_in_needed(&request(Prompt::Default, None), None, NOW),
            Ok(SignInNeeded::Yes)
        );
    }

    #[test]
    fn prompt_login_signs_in_again() {
        let signed_in = Some(SignedIn { auth_time: NOW });
        assert_eq!(
            sign_in_needed(&request(Prompt::Login, None), signed_in, NOW),
            Ok(SignInNeeded::Yes)
        );
    }

    #[test]
    fn max_age_signs_in_again_after_that_many_seconds() {
        let at = |ago| {
            Some(SignedIn {
                auth_time: NOW - ago,
            })
        };
        let r = request(Prompt::Default, Some(60));
        assert_eq!(sign_in_needed(&r, at(60), NOW), Ok(SignInNeeded::No));
        assert_eq!(sign_in_needed(&r, at(61), NOW), Ok(SignInNeeded::Yes));
        let zero = request(Prompt::Default, Some(0));
        assert_eq!(sign_in_needed(&zero, at(1), NOW), Ok(SignInNeeded::Yes));
    }

    #[test]
    fn prompt_none_is_login_required_when_the_teacher_would_have_to_sign_in() {
        let r = request(Prompt::None, Some(60));
        let e = sign_in_needed(&r, None, NOW).unwrap_err();
        assert_eq!(
            (e.error, e.state.as_deref()),
            (ErrorCode::LoginRequired, Some("st-1"))
        );
        let e = sign_in_needed(
            &r,
            Some(SignedIn {
                auth_time: NOW - 61,
            }),
            NOW,
        )
        .unwrap_err();
        assert_eq!(e.error, ErrorCode::LoginRequired);
        assert_eq!(
            sign_in_needed(&r, Some(SignedIn { auth_time: NOW - 1 }), NOW),
            Ok(SignInNeeded::No)
        );
    }

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            CHALLENGE
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            CHALLENGE
        ));
    }

    #[test]
    fn a_code_verifier_has_43_to_128_unreserved_characters() {
        assert!(is_code_verifier(&"a".repeat(43)));
        assert!(is_code_verifier(&"-._~aZ09".repeat(16)));
        assert!(!is_code_verifier(&"a".repeat(42)));
        assert!(!is_code_verifier(&"a".repeat(129)));
        assert!(!is_code_verifier(&format!("{}+", "a".repeat(42))));
        assert!(!is_code_verifier(&format!("{}é", "a".repeat(42))));
        // The right hash of a verifier of the wrong shape still does not match.
        let short = "a".repeat(42);
        assert!(!pkce_matches(&short, &s256_challenge(&short)));
    }

    #[test]
    fn scopes_read_and_say_themselves() {
        let scopes = Scopes::parse("profile openid teaching_record email").unwrap();
        assert_eq!(scopes.to_param(), "openid email profile teaching_record");
        assert_eq!(
            Scopes::parse("openid x"),
            Err(ScopeError::Unknown("x".into()))
        );
        for policy in [SignInPolicy::OneLogin, SignInPolicy::OneLoginOrAccount] {
            assert_eq!(SignInPolicy::parse(policy.as_str()), Some(policy));
        }
        for policy in [TrnPolicy::Required, TrnPolicy::Optional] {
            assert_eq!(TrnPolicy::parse(policy.as_str()), Some(policy));
        }
        assert_eq!(SignInPolicy::parse("One_Login"), None);
        for alg in IdTokenAlg::ALL {
            assert_eq!(IdTokenAlg::parse(alg.as_str()), Some(alg));
        }
        for refused in ["rs256", "HS256", "none", "ES384", "PS256", ""] {
            assert_eq!(IdTokenAlg::parse(refused), None, "{refused}");
        }
        assert_eq!(IdTokenAlg::default(), IdTokenAlg::Rs256, "OIDC's default");
        for policy in MobilePolicy::ALL {
            assert_eq!(MobilePolicy::parse(policy.as_str()), Some(policy));
        }
        assert_eq!(MobilePolicy::parse("Optional"), None);
        assert_eq!(
            MobilePolicy::default(),
            MobilePolicy::Required,
            "a client registered before the setting asks for a mobile"
        );
    }

    fn verifier() -> impl Strategy<Value = String> {
        "[A-Za-z0-9._~-]{43,128}"
    }

    fn teacher(verified: bool, connected: bool, task: bool, finished: bool) -> TeacherState {
        TeacherState {
            signed_in: true,
            identity_verified: verified,
            connected,
            open_support_task: task,
            questions_finished: finished,
            account_holder: false,
        }
    }

    #[test]
    fn an_account_holder_support_found_no_record_for_goes_back_to_an_optional_service_only() {
        let holder = TeacherState {
            account_holder: true,
            ..teacher(false, false, false, false)
        };
        let no_record = holder.with_no_record_found(true);
        let record = Scopes::from(RECORD);
        assert_eq!(
            may_return(TrnPolicy::Optional, &record, &no_record),
            MayReturn::Now
        );
        assert_eq!(
            may_return(TrnPolicy::Required, &record, &no_record),
            MayReturn::FindRecord
        );
        assert_eq!(
            may_return(
                TrnPolicy::Optional,
                &record,
                &holder.with_no_record_found(false)
            ),
            MayReturn::FindRecord
        );
    }

    #[test]
    fn an_account_holder_is_not_sent_to_one_logins_identity_check_but_still_needs_a_record() {
        let holder = TeacherState {
            account_holder: true,
            ..teacher(false, false, false, false)
        };
        let profile = Scopes::from([Scope::Openid, Scope::Profile]);
        assert_eq!(
            may_return(TrnPolicy::Required, &profile, &holder),
            MayReturn::Now
        );
        for trn in [TrnPolicy::Required, TrnPolicy::Optional] {
            assert_eq!(
                may_return(trn, &Scopes::from(RECORD), &holder),
                MayReturn::FindRecord,
                "{trn:?}"
            );
        }
        let connected = TeacherState {
            connected: true,
            ..holder
        };
        assert_eq!(
            may_return(TrnPolicy::Required, &Scopes::from(RECORD), &connected),
            MayReturn::Now
        );
        // Without the account, the same person is sent to verify their identity.
        assert_eq!(
            may_return(
                TrnPolicy::Required,
                &profile,
                &teacher(false, false, false, false)
            ),
            MayReturn::VerifyIdentity
        );
    }

    const RECORD: [Scope; 2] = [Scope::Openid, Scope::TeachingRecord];

    #[test]
    fn nobody_returns_before_signing_in() {
        for trn in [TrnPolicy::Required, TrnPolicy::Optional] {
            assert_eq!(
                may_return(
                    trn,
                    &Scopes::from([Scope::Openid]),
                    &TeacherState::default()
                ),
                MayReturn::SignIn
            );
        }
    }

    #[test]
    fn without_profile_or_teaching_record_a_signed_in_teacher_returns_at_once() {
        let unverified = teacher(false, false, false, false);
        for scopes in [
            Scopes::from([Scope::Openid]),
            Scopes::from([Scope::Openid, Scope::Email]),
        ] {
            assert_eq!(
                may_return(TrnPolicy::Required, &scopes, &unverified),
                MayReturn::Now
            );
        }
    }

    #[test]
    fn profile_or_teaching_record_needs_a_verified_identity() {
        let unverified = teacher(false, false, true, false);
        for scopes in [
            Scopes::from([Scope::Openid, Scope::Profile]),
            Scopes::from(RECORD),
        ] {
            for trn in [TrnPolicy::Required, TrnPolicy::Optional] {
                assert_eq!(
                    may_return(trn, &scopes, &unverified),
                    MayReturn::VerifyIdentity
                );
            }
        }
        let verified = teacher(true, false, false, false);
        assert_eq!(
            may_return(
                TrnPolicy::Required,
                &Scopes::from([Scope::Openid, Scope::Profile]),
                &verified
            ),
            MayReturn::Now,
            "profile alone needs no record"
        );
    }

    #[test]
    fn trn_required_returns_only_once_connected() {
        let scopes = Scopes::from(RECORD);
        let r = |t| may_return(TrnPolicy::Required, &scopes, &t);
        assert_eq!(r(teacher(true, true, false, false)), MayReturn::Now);
        assert_eq!(r(teacher(true, false, false, false)), MayReturn::FindRecord);
        assert_eq!(r(teacher(true, false, false, true)), MayReturn::FindRecord);
        assert_eq!(
            r(teacher(true, false, true, false)),
            MayReturn::WaitForSupport
        );
    }

    #[test]
    fn trn_optional_returns_once_connected_waiting_for_support_or_done_with_the_questions() {
        let scopes = Scopes::from(RECORD);
        let o = |t| may_return(TrnPolicy::Optional, &scopes, &t);
        assert_eq!(o(teacher(true, true, false, false)), MayReturn::Now);
        assert_eq!(o(teacher(true, false, true, false)), MayReturn::Now);
        assert_eq!(o(teacher(true, false, false, true)), MayReturn::Now);
        assert_eq!(o(teacher(true, false, false, false)), MayReturn::FindRecord);
    }

    #[test]
    fn the_teachers_state_is_read_from_their_position() {
        use crate::domain::journey::{Answer, ConnectAnswers, Position};
        assert!(!TeacherState::at(&Position::SignedOut, false).signed_in);
        assert!(TeacherState::at(&Position::Connected, true).connected);
        assert!(TeacherState::at(&Position::AwaitingSupport, true).open_support_task);
        let mut answers = ConnectAnswers {
            nino: Some(Answer::No),
            ..Default::default()
        };
        assert!(!TeacherState::at(&Position::Answering(answers.clone()), true).questions_finished);
        answers.trn = Some(Answer::No);
        assert!(TeacherState::at(&Position::Answering(answers.clone()), true).questions_finished);
        answers.third_question = true;
        assert!(
            !TeacherState::at(&Position::Answering(answers), true).questions_finished,
            "the third question is still to answer"
        );
    }

    #[test]
    fn trn_lookup_status_is_found_pending_or_none() {
        assert_eq!(TrnLookupStatus::of(true, true), TrnLookupStatus::Found);
        assert_eq!(TrnLookupStatus::of(false, true), TrnLookupStatus::Pending);
        assert_eq!(TrnLookupStatus::of(false, false), TrnLookupStatus::None);
    }

    #[test]
    fn the_code_goes_back_with_the_state_keeping_a_registered_query() {
        let mut request = ClientRequest::new(&validate(&good()).unwrap(), &client(), NOW);
        assert_eq!(
            request.code_location("c-1"),
            "https://service.example/callback?code=c-1&state=st-1"
        );
        request.redirect_uri = "https://service.example/other?x=1".into();
        request.state = "a&b".into();
        assert_eq!(
            request.code_location("c-1"),
            "https://service.example/other?x=1&code=c-1&state=a%26b"
        );
    }

    #[test]
    fn a_kept_request_takes_the_teacher_back_for_two_hours_and_no_longer() {
        let request = ClientRequest::new(&validate(&good()).unwrap(), &client(), NOW);
        assert!(request.is_live(NOW));
        assert!(request.is_live(NOW + ClientRequest::LIFETIME_SECONDS));
        assert!(!request.is_live(NOW + ClientRequest::LIFETIME_SECONDS + 1));
    }

    proptest! {
        #[test]
        fn every_well_formed_verifier_matches_its_own_challenge_and_no_other(v in verifier(), w in verifier()) {
            let challenge = s256_challenge(&v);
            prop_assert!(is_s256_challenge(&challenge));
            prop_assert!(pkce_matches(&v, &challenge));
            prop_assert_eq!(pkce_matches(&w, &challenge), v == w);
        }

        #[test]
        fn any_scope_list_reads_back_the_same(scopes in proptest::sample::subsequence(Scope::ALL.to_vec(), 1..=4)) {
            let param = scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
            let read = Scopes::parse(&param).unwrap();
            prop_assert_eq!(Scopes::parse(&read.to_param()).unwrap(), read);
        }

        #[test]
        fn no_request_is_answered_at_an_unregistered_address(
            params in proptest::collection::vec(
                (prop::sample::select(vec!["client_id", "redirect_uri", "scope", "state", "nonce", "prompt",
                    "response_type", "code_challenge", "code_challenge_method", "max_age", "trn_token"]),
                 prop::sample::select(vec!["npq", REDIRECT, "https://evil.example/", "openid", "code", "S256",
                    CHALLENGE, "none", "", "1"])),
                0..14)
        ) {
            let params: Vec<(String, String)> =
                params.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            match validate(&params) {
                Ok(request) => prop_assert_eq!(request.redirect_uri, REDIRECT),
                Err(AuthorizeError::Redirect(e)) => prop_assert_eq!(e.redirect_uri, REDIRECT),
                Err(AuthorizeError::Untrusted(_)) => {}
            }
        }

        #[test]
        fn repeating_any_parameter_of_a_valid_request_refuses_it(index in 0..8usize) {
            let mut params = good();
            params.push(params[index].clone());
            prop_assert!(validate(&params).is_err());
        }
    }
}
