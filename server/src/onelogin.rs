//! The GOV.UK One Login relying party. Every check named in `../shared/one-login-rp.md` §a lives here, with its
//! rule number; `docs/one-login.md` maps each rule to its test.
//!
//! [`OneLoginClient`] speaks to One Login with the `openidconnect` crate over real HTTP: discovery, the
//! authorize request, the token request (with a `private_key_jwt` client assertion) and ID token validation.
//! [`core_identity`] validates the core identity credential; [`logout_token`] validates back-channel logout
//! tokens; [`provider`] caches discovery, JWKS and the DID document.

pub mod client;
pub mod core_identity;
pub mod error;
pub mod logout_token;
pub mod provider;

pub use client::{AuthRequest, Callback, IdentityOutcome, OneLoginClient, SignInResult};
pub use error::OneLoginError;
