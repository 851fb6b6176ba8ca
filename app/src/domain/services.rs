//! The services that use Teacher ID, as the support console shows and edits them (issue 12 items 2 and 4): OpenID
//! Connect clients ("services") and API clients. The rules a registration must meet are the server's
//! (`client_registration`), shared with `server client add`; here are what the pages show and the forms' fields.

use super::provider::{IdTokenAlg, MobilePolicy, SignInPolicy, TrnPolicy};
use super::trn_tokens::ApiScope;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The console forms' field names (and ids), one place for the pages and the handlers.
pub mod fields {
    pub const CLIENT_ID: &str = "client_id";
    pub const NAME: &str = "display_name";
    pub const SERVICE_URL: &str = "service_url";
    pub const REDIRECT_URIS: &str = "redirect_uris";
    pub const POST_LOGOUT_REDIRECT_URIS: &str = "post_logout_redirect_uris";
    pub const AUTH: &str = "auth";
    pub const JWKS_URI: &str = "jwks_uri";
    pub const JWKS: &str = "jwks";
    /// Checkboxes, one value each.
    pub const SCOPES: &str = "scopes";
    pub const SIGN_IN: &str = "sign_in";
    pub const TRN: &str = "trn";
    /// Radios: `required` or `optional`.
    pub const MOBILE: &str = "mobile";
    /// Radios: `RS256` or `ES256`, OIDC Dynamic Client Registration's name for it.
    pub const ID_TOKEN_ALG: &str = "id_token_signed_response_alg";
    /// The API client form's name and scopes.
    pub const API_NAME: &str = "name";
    pub const API_SCOPES: &str = "scopes";
    /// In the flash that carries a new secret to its page: the secret, and whose it is.
    pub const SECRET: &str = "secret";
    pub const SECRET_OF: &str = "of";
}

/// A registered OpenID Connect client, as the console lists and shows it (never its secret's hash or keys).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceView {
    pub client_id: String,
    pub display_name: String,
    pub service_url: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Whether it authenticates with a client secret (which can be rotated) rather than its own keys.
    pub uses_secret: bool,
    /// Space-separated.
    pub scopes: String,
    pub sign_in: SignInPolicy,
    pub trn: TrnPolicy,
    pub mobile: MobilePolicy,
    pub id_token_alg: IdTokenAlg,
    pub enabled: bool,
}

/// A registered API client, as the console lists it (never its key's hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiClientView {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<ApiScope>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

/// How teachers of a service may sign in, in words.
pub fn sign_in_label(policy: SignInPolicy) -> &'static str {
    match policy {
        SignInPolicy::OneLogin => "GOV.UK One Login only",
        SignInPolicy::OneLoginOrAccount => "GOV.UK One Login or a DfE Identity account",
    }
}

/// Whether a service's teachers need a TRN, in words.
pub fn trn_label(policy: TrnPolicy) -> &'static str {
    match policy {
        TrnPolicy::Required => "Required: teachers return only with a TRN",
        TrnPolicy::Optional => "Optional: teachers may return without a TRN",
    }
}

/// Whether a service's new DfE Identity account holders must give a mobile number, in words.
pub fn mobile_label(policy: MobilePolicy) -> &'static str {
    match policy {
        MobilePolicy::Required => "Required: new accounts must have a mobile number",
        MobilePolicy::Optional => {
            "Optional: teachers may create an account without a mobile number"
        }
    }
}

/// How a service's ID tokens are signed, in words.
pub fn id_token_alg_label(alg: IdTokenAlg) -> &'static str {
    match alg {
        IdTokenAlg::Rs256 => "RS256 (RSA): the default, which every OpenID Connect library accepts",
        IdTokenAlg::Es256 => "ES256 (elliptic curve P-256): smaller and quicker to sign",
    }
}

/// A service's page: its details, its URIs form, its secret and whether it is enabled. Client ids are letters,
/// digits, '-', '_' and '.', so they go into a path as they are.
pub fn service_href(client_id: &str) -> String {
    format!("{}/{client_id}/edit", crate::routes::SUPPORT_SERVICES)
}

/// Where a service's form posts (`uris`, `rotate-secret`, `enabled`) or its new secret is shown (`secret`).
pub fn service_action(client_id: &str, action: &str) -> String {
    format!("{}/{client_id}/{action}", crate::routes::SUPPORT_SERVICES)
}

/// Where an API client's form posts (`enabled`) or its new key is shown (`key`).
pub fn api_client_href(id: i64, action: &str) -> String {
    format!("{}/{id}/{action}", crate::routes::SUPPORT_API_CLIENTS)
}

/// Whose a new secret is, as its flash says: a service's client id or an API client's id, told apart.
pub fn secret_of(api_client: bool, id: &str) -> String {
    format!("{}:{id}", if api_client { "api-client" } else { "service" })
}

/// The lines of a textarea with one value on each: each trimmed, blank lines left out.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_textarea_is_read_one_trimmed_value_a_line_without_blank_lines() {
        assert_eq!(
            lines(" https://a.example/cb \r\n\r\n\thttps://b.example/cb\n  \n"),
            ["https://a.example/cb", "https://b.example/cb"]
        );
        assert!(lines("").is_empty());
        assert!(lines("\n \r\n").is_empty());
    }

    #[test]
    fn every_policy_has_words() {
        for p in [SignInPolicy::OneLogin, SignInPolicy::OneLoginOrAccount] {
            assert!(!sign_in_label(p).is_empty());
        }
        assert_ne!(
            trn_label(TrnPolicy::Required),
            trn_label(TrnPolicy::Optional)
        );
        assert_ne!(
            mobile_label(MobilePolicy::Required),
            mobile_label(MobilePolicy::Optional)
        );
        assert_ne!(
            id_token_alg_label(IdTokenAlg::Rs256),
            id_token_alg_label(IdTokenAlg::Es256)
        );
    }
}
