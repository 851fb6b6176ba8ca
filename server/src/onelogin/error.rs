//! Why a One Login exchange failed. Each variant names the rule it enforces, for the log line; none of this
//! text is shown to the person signing in.

/// A failed check or exchange with One Login.
#[derive(Debug, thiserror::Error)]
pub enum OneLoginError {
    #[error("One Login could not be reached: {0}")]
    Unreachable(String),
    #[error("discovery document is invalid: {0}")]
    Discovery(String),
    #[error("could not sign the client assertion: {0}")]
    ClientAssertion(String),
    #[error("token request refused: {0}")]
    TokenRequest(String),
    #[error("the token response has no ID token")]
    NoIdToken,
    #[error("ID token signature: {0}")]
    IdTokenSignature(String),
    #[error("ID token algorithm not allowed: {0}")]
    IdTokenAlgorithm(String),
    #[error("ID token issuer differs from discovery")]
    IdTokenIssuer,
    #[error("ID token audience lacks our client id")]
    IdTokenAudience,
    #[error("ID token has expired")]
    IdTokenExpired,
    #[error("ID token was issued in the future")]
    IdTokenIssuedInFuture,
    #[error("ID token nonce differs from the one we sent")]
    IdTokenNonce,
    #[error("ID token vot is not Cl.Cm")]
    IdTokenVot,
    #[error("ID token has no sid")]
    IdTokenSid,
    #[error("ID token is invalid: {0}")]
    IdToken(String),
    #[error("userinfo request refused: {0}")]
    Userinfo(String),
    #[error("userinfo sub differs from the ID token's")]
    UserinfoSubject,
    #[error("core identity credential algorithm is not ES256")]
    CoreIdentityAlgorithm,
    #[error("core identity credential kid is not from the trusted DID document")]
    CoreIdentityController,
    #[error("DID document could not be fetched: {0}")]
    DidDocument(String),
    #[error("core identity credential kid is not in the DID document")]
    CoreIdentityUnknownKey,
    #[error("core identity credential signature is invalid")]
    CoreIdentitySignature,
    #[error("core identity credential issuer is wrong")]
    CoreIdentityIssuer,
    #[error("core identity credential audience is wrong")]
    CoreIdentityAudience,
    #[error("core identity credential is for another subject")]
    CoreIdentitySubject,
    #[error("core identity credential has expired or is not yet valid")]
    CoreIdentityExpired,
    #[error("core identity credential vot is not P2")]
    CoreIdentityVot,
    #[error("core identity credential is unreadable: {0}")]
    CoreIdentityCredential(String),
    #[error("logout token is invalid: {0}")]
    LogoutToken(String),
}

impl OneLoginError {
    /// The rule in one-login-rp.md §a this failure enforces, for logs and `docs/one-login.md`.
    pub fn rule(&self) -> u8 {
        match self {
            Self::Unreachable(_) => 23,
            Self::Discovery(_) => 3,
            Self::ClientAssertion(_) => 22,
            Self::TokenRequest(_) => 21,
            Self::NoIdToken => 24,
            Self::IdTokenSignature(_) => 24,
            Self::IdTokenAlgorithm(_) => 25,
            Self::IdTokenIssuer => 26,
            Self::IdTokenAudience => 27,
            Self::IdTokenExpired => 28,
            Self::IdTokenIssuedInFuture => 29,
            Self::IdTokenNonce => 30,
            Self::IdTokenVot => 31,
            Self::IdTokenSid | Self::IdToken(_) => 24,
            Self::Userinfo(_) => 33,
            Self::UserinfoSubject => 34,
            Self::CoreIdentityAlgorithm => 37,
            Self::CoreIdentityController => 38,
            Self::DidDocument(_) => 39,
            Self::CoreIdentityUnknownKey => 40,
            Self::CoreIdentitySignature => 41,
            Self::CoreIdentityIssuer => 42,
            Self::CoreIdentityAudience => 43,
            Self::CoreIdentitySubject => 44,
            Self::CoreIdentityExpired | Self::CoreIdentityVot => 45,
            Self::CoreIdentityCredential(_) => 46,
            Self::LogoutToken(_) => 50,
        }
    }

    /// True when One Login itself was unavailable, rather than something being wrong with what it sent.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unreachable(_))
    }
}
