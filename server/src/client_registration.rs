//! Registering the services that use Teacher ID (issue 12 items 2 and 4): the one set of rules for an OpenID
//! Connect client and an API client, whoever registers it. `server client add` and `server api-client add` read
//! their flags into a [`ClientInput`] or [`ApiClientInput`], the console reads its forms into the same, and both
//! are checked here; each problem is typed ([`Problem`]) and said in the words of the command line
//! ([`ClientProblem::cli`]) or of a GOV.UK form ([`ClientProblem::console`]).

use crate::api::ApiClientAddArgs;
use crate::provider::ClientAddArgs;
use app::domain::provider::{
    Client, ClientAuth, ClientKeys, IdTokenAlg, MobilePolicy, Scope, Scopes, SignInPolicy,
    TrnPolicy,
};
use app::domain::trn_tokens::ApiScope;
use std::collections::BTreeSet;

/// The longest client id: ids go into URLs and logs.
pub const MAX_CLIENT_ID: usize = 100;
/// The longest service name, in characters: as long as a name anywhere in the service.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest URI, in bytes.
pub const MAX_URI: usize = 2000;
/// The most redirect URIs (and, apart, post-logout URIs) one client registers: a service has a few, one per
/// environment; the bound keeps what one form can make us store small.
pub const MAX_URIS: usize = 20;
/// The longest JWKS registered as text.
pub const MAX_JWKS: usize = 16 * 1024;

/// A field of a client's registration: a flag of `server client add`, a field of the console's form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientField {
    ClientId,
    Name,
    ServiceUrl,
    RedirectUris,
    PostLogoutRedirectUris,
    Auth,
    JwksUri,
    Jwks,
    Scopes,
    SignIn,
    Trn,
    Mobile,
    IdTokenAlg,
}

impl ClientField {
    /// The command line's flag.
    pub fn flag(self) -> &'static str {
        match self {
            Self::ClientId => "--client-id",
            Self::Name => "--name",
            Self::ServiceUrl => "--service-url",
            Self::RedirectUris => "--redirect-uri",
            Self::PostLogoutRedirectUris => "--post-logout-redirect-uri",
            Self::Auth => "--auth",
            Self::JwksUri => "--jwks-uri",
            Self::Jwks => "--jwks",
            Self::Scopes => "--scopes",
            Self::SignIn => "--sign-in",
            Self::Trn => "--trn",
            Self::Mobile => "--mobile",
            Self::IdTokenAlg => "--id-token-alg",
        }
    }

    /// The console form's field (its `name` and `id`).
    pub fn form_field(self) -> &'static str {
        use app::domain::services::fields as f;
        match self {
            Self::ClientId => f::CLIENT_ID,
            Self::Name => f::NAME,
            Self::ServiceUrl => f::SERVICE_URL,
            Self::RedirectUris => f::REDIRECT_URIS,
            Self::PostLogoutRedirectUris => f::POST_LOGOUT_REDIRECT_URIS,
            Self::Auth => f::AUTH,
            Self::JwksUri => f::JWKS_URI,
            Self::Jwks => f::JWKS,
            Self::Scopes => f::SCOPES,
            Self::SignIn => f::SIGN_IN,
            Self::Trn => f::TRN,
            Self::Mobile => f::MOBILE,
            Self::IdTokenAlg => f::ID_TOKEN_ALG,
        }
    }

    /// What the console calls it, at the start of a sentence.
    fn label(self) -> &'static str {
        match self {
            Self::ClientId => "Client ID",
            Self::Name => "Service name",
            Self::ServiceUrl => "Service URL",
            Self::RedirectUris => "Redirect URI",
            Self::PostLogoutRedirectUris => "Post-logout redirect URI",
            Self::Auth => "Authentication",
            Self::JwksUri => "JWKS URL",
            Self::Jwks => "JWKS",
            Self::Scopes => "Scopes",
            Self::SignIn => "Sign-in policy",
            Self::Trn => "TRN policy",
            Self::Mobile => "Mobile number policy",
            Self::IdTokenAlg => "ID token signing",
        }
    }
}

/// What is wrong with a URI a client registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UriProblem {
    /// Not an absolute URL; the parser's reason.
    NotAbsolute(String),
    NotHttps,
    Fragment,
    UserInfo,
    TooLongOrSpaces,
}

/// What is wrong with one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    Missing,
    ClientIdFormat,
    NameTooLong,
    Uri {
        value: String,
        problem: UriProblem,
    },
    TooManyUris,
    /// `--auth` is neither `client_secret` nor `private_key_jwt`.
    UnknownAuth(String),
    /// Keys given for a client that uses a secret.
    KeysForSecret,
    /// A `private_key_jwt` client without its keys, or with both a URL and a JWKS.
    KeysNeeded,
    /// Not a JWKS we can use; the reason.
    Jwks(String),
    UnknownScopes(String),
    ScopesWithoutOpenid,
    UnknownSignIn(String),
    UnknownTrn(String),
    /// Neither `required` nor `optional`.
    UnknownMobile(String),
    /// Neither `RS256` nor `ES256`.
    UnknownIdTokenAlg(String),
}

/// One field's problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientProblem {
    pub field: ClientField,
    pub problem: Problem,
}

impl ClientProblem {
    fn new(field: ClientField, problem: Problem) -> Self {
        Self { field, problem }
    }

    /// For the person typing `server client add`.
    pub fn cli(&self) -> String {
        let flag = self.field.flag();
        match &self.problem {
            Problem::Missing => match self.field {
                ClientField::Name => {
                    "--name is needed: the service's name as teachers see it (at most 200 characters)"
                        .into()
                }
                ClientField::RedirectUris => format!(
                    "at least one --redirect-uri is needed\n{}",
                    crate::provider::CLIENT_ADD_USAGE
                ),
                ClientField::Auth => "--auth is needed: client_secret or private_key_jwt".into(),
                ClientField::SignIn => {
                    "--sign-in is needed: one_login or one_login_or_account".into()
                }
                ClientField::Trn => "--trn is needed: required or optional".into(),
                _ => format!("{flag} is needed\n{}", crate::provider::CLIENT_ADD_USAGE),
            },
            Problem::ClientIdFormat => {
                "--client-id must be 1 to 100 letters, digits, '-', '_' or '.'".into()
            }
            Problem::NameTooLong => "--name is needed: the service's name as teachers see it (at most 200 characters)".into(),
            Problem::Uri { value, problem } => match problem {
                UriProblem::NotAbsolute(e) => format!("{flag} `{value}` is not an absolute URL: {e}"),
                UriProblem::NotHttps => {
                    format!("{flag} `{value}` must be https (http only for localhost)")
                }
                UriProblem::Fragment => format!("{flag} `{value}` must not have a fragment (#...)"),
                UriProblem::UserInfo => {
                    format!("{flag} `{value}` must not hold a user name or password")
                }
                UriProblem::TooLongOrSpaces => format!("{flag} `{value}` is too long or has spaces"),
            },
            Problem::TooManyUris => format!("at most {MAX_URIS} of {flag}"),
            Problem::UnknownAuth(other) => {
                format!("unknown --auth `{other}`: expected client_secret or private_key_jwt")
            }
            Problem::KeysForSecret => "--jwks-uri and --jwks are for --auth private_key_jwt".into(),
            Problem::KeysNeeded => "--auth private_key_jwt needs either --jwks-uri or --jwks".into(),
            Problem::Jwks(e) => format!("--jwks {e}"),
            Problem::UnknownScopes(s) => format!(
                "--scopes `{s}`: expected scopes from openid email profile teaching_record, one space apart"
            ),
            Problem::ScopesWithoutOpenid => "--scopes must include openid".into(),
            Problem::UnknownSignIn(s) => {
                format!("unknown --sign-in `{s}`: expected one_login or one_login_or_account")
            }
            Problem::UnknownTrn(s) => format!("unknown --trn `{s}`: expected required or optional"),
            Problem::UnknownMobile(s) => {
                format!("unknown --mobile `{s}`: expected required or optional")
            }
            Problem::UnknownIdTokenAlg(s) => {
                format!("unknown --id-token-alg `{s}`: expected RS256 or ES256")
            }
        }
    }

    /// For the administrator on the console's form, in GOV.UK's words.
    pub fn console(&self) -> String {
        let label = self.field.label();
        match &self.problem {
            Problem::Missing => match self.field {
                ClientField::ClientId => "Enter a client ID".into(),
                ClientField::Name => "Enter the service’s name".into(),
                ClientField::ServiceUrl => "Enter the service’s URL".into(),
                ClientField::RedirectUris => "Enter at least one redirect URI".into(),
                ClientField::Auth => "Select how the service authenticates".into(),
                ClientField::SignIn => "Select how teachers may sign in".into(),
                ClientField::Trn => "Select whether teachers need a TRN".into(),
                _ => format!("Enter the {}", label.to_lowercase()),
            },
            Problem::ClientIdFormat => format!(
                "Client ID must be {MAX_CLIENT_ID} characters or fewer, using only letters, digits, hyphens (-), underscores (_) and full stops (.)"
            ),
            Problem::NameTooLong => format!("Service name must be {MAX_NAME_CHARS} characters or fewer"),
            Problem::Uri { value, problem } => {
                let shown: String = value.chars().take(80).collect();
                match problem {
                    UriProblem::NotAbsolute(_) => {
                        format!("{label} “{shown}” must be a full URL, like https://service.example/callback")
                    }
                    UriProblem::NotHttps => format!(
                        "{label} “{shown}” must start with https:// (http:// only for localhost)"
                    ),
                    UriProblem::Fragment => format!("{label} “{shown}” must not have a fragment (#)"),
                    UriProblem::UserInfo => {
                        format!("{label} “{shown}” must not include a user name or password")
                    }
                    UriProblem::TooLongOrSpaces => format!(
                        "{label} “{shown}” must be {MAX_URI} characters or fewer, with no spaces"
                    ),
                }
            }
            Problem::TooManyUris => format!("Enter {MAX_URIS} or fewer, one on each line"),
            Problem::UnknownAuth(_) => "Select how the service authenticates".into(),
            Problem::KeysForSecret => {
                "Leave the public keys empty for a service that uses a client secret".into()
            }
            Problem::KeysNeeded => {
                "Enter either the URL of the service’s public keys (JWKS URL) or the keys themselves (JWKS), not both"
                    .into()
            }
            Problem::Jwks(_) => {
                "JWKS must be a JSON Web Key Set with at least one key, each with a kid".into()
            }
            Problem::UnknownScopes(_) => "Select scopes from the list".into(),
            Problem::ScopesWithoutOpenid => "Select openid: every service needs it".into(),
            Problem::UnknownSignIn(_) => "Select how teachers may sign in".into(),
            Problem::UnknownTrn(_) => "Select whether teachers need a TRN".into(),
            Problem::UnknownMobile(_) => {
                "Select whether new accounts need a mobile number".into()
            }
            Problem::UnknownIdTokenAlg(_) => "Select how the service’s ID tokens are signed".into(),
        }
    }
}

/// A client's registration as typed: each field as given (`None` when not given at all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInput {
    pub client_id: Option<String>,
    pub display_name: Option<String>,
    pub service_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth: Option<String>,
    pub jwks_uri: Option<String>,
    pub jwks: Option<String>,
    /// Space-separated; `None` for the default (every scope).
    pub scopes: Option<String>,
    pub sign_in: Option<String>,
    pub trn: Option<String>,
    /// `required` or `optional`; `None` for required, as before clients said.
    pub mobile: Option<String>,
    /// `id_token_signed_response_alg`; `None` for OpenID Connect's default, RS256.
    pub id_token_alg: Option<String>,
}

/// Checks a registration; the client to store (with a placeholder secret hash when one is to be made), or every
/// problem, in the order of the fields.
pub fn check_client(input: &ClientInput) -> Result<ClientAddArgs, Vec<ClientProblem>> {
    use ClientField as F;
    let mut problems = Vec::new();
    let mut problem = |field, p| problems.push(ClientProblem::new(field, p));

    let client_id = match input.client_id.as_deref() {
        None | Some("") => {
            problem(F::ClientId, Problem::Missing);
            None
        }
        Some(id) if is_client_id(id) => Some(id.to_string()),
        Some(_) => {
            problem(F::ClientId, Problem::ClientIdFormat);
            None
        }
    };
    let display_name = match given(&input.display_name) {
        None => {
            problem(F::Name, Problem::Missing);
            None
        }
        Some(n) if n.chars().count() > MAX_NAME_CHARS => {
            problem(F::Name, Problem::NameTooLong);
            None
        }
        Some(n) => Some(n.to_string()),
    };
    let service_url = match input.service_url.as_deref() {
        None | Some("") => {
            problem(F::ServiceUrl, Problem::Missing);
            None
        }
        Some(url) => match check_uri(url) {
            Ok(url) => Some(url),
            Err(p) => {
                problem(F::ServiceUrl, uri_problem(url, p));
                None
            }
        },
    };
    let redirect_uris = match check_uris(&input.redirect_uris, true) {
        Ok(uris) => Some(uris),
        Err(p) => {
            problem(F::RedirectUris, p);
            None
        }
    };
    let post_logout = match check_uris(&input.post_logout_redirect_uris, false) {
        Ok(uris) => Some(uris),
        Err(p) => {
            problem(F::PostLogoutRedirectUris, p);
            None
        }
    };
    let (jwks_uri, jwks) = (given(&input.jwks_uri), given(&input.jwks));
    let auth = match input.auth.as_deref() {
        None | Some("") => {
            problem(F::Auth, Problem::Missing);
            None
        }
        Some("client_secret") => match (jwks_uri, jwks) {
            (None, None) => Some((
                ClientAuth::ClientSecret {
                    sha256: String::new(),
                },
                true,
            )),
            (Some(_), _) => {
                problem(F::JwksUri, Problem::KeysForSecret);
                None
            }
            (None, Some(_)) => {
                problem(F::Jwks, Problem::KeysForSecret);
                None
            }
        },
        Some("private_key_jwt") => match (jwks_uri, jwks) {
            (Some(uri), None) => match check_uri(uri) {
                Ok(uri) => Some((ClientAuth::PrivateKeyJwt(ClientKeys::JwksUri(uri)), false)),
                Err(p) => {
                    problem(F::JwksUri, uri_problem(uri, p));
                    None
                }
            },
            (None, Some(json)) => match check_jwks(json) {
                Ok(json) => Some((ClientAuth::PrivateKeyJwt(ClientKeys::Jwks(json)), false)),
                Err(e) => {
                    problem(F::Jwks, Problem::Jwks(e));
                    None
                }
            },
            _ => {
                problem(F::JwksUri, Problem::KeysNeeded);
                None
            }
        },
        Some(other) => {
            problem(F::Auth, Problem::UnknownAuth(other.to_string()));
            None
        }
    };
    let scopes = match input.scopes.as_deref() {
        None => Some(Scopes::from(Scope::ALL)),
        // Nothing chosen: openid, which every client needs, is what is missing.
        Some(s) if s.trim().is_empty() => {
            problem(F::Scopes, Problem::ScopesWithoutOpenid);
            None
        }
        Some(s) => match Scopes::parse(s) {
            Ok(scopes) if scopes.contains(Scope::Openid) => Some(scopes),
            Ok(_) => {
                problem(F::Scopes, Problem::ScopesWithoutOpenid);
                None
            }
            Err(_) => {
                problem(F::Scopes, Problem::UnknownScopes(s.to_string()));
                None
            }
        },
    };
    let sign_in = match input.sign_in.as_deref() {
        None | Some("") => {
            problem(F::SignIn, Problem::Missing);
            None
        }
        Some(s) => SignInPolicy::parse(s).or_else(|| {
            problem(F::SignIn, Problem::UnknownSignIn(s.to_string()));
            None
        }),
    };
    let trn = match input.trn.as_deref() {
        None | Some("") => {
            problem(F::Trn, Problem::Missing);
            None
        }
        Some(s) => TrnPolicy::parse(s).or_else(|| {
            problem(F::Trn, Problem::UnknownTrn(s.to_string()));
            None
        }),
    };
    let mobile = match input.mobile.as_deref() {
        None => Some(MobilePolicy::default()),
        Some(s) => MobilePolicy::parse(s).or_else(|| {
            problem(F::Mobile, Problem::UnknownMobile(s.to_string()));
            None
        }),
    };
    let id_token_alg = match input.id_token_alg.as_deref() {
        None => Some(IdTokenAlg::default()),
        Some(s) => IdTokenAlg::parse(s).or_else(|| {
            problem(F::IdTokenAlg, Problem::UnknownIdTokenAlg(s.to_string()));
            None
        }),
    };
    match (
        client_id,
        display_name,
        service_url,
        redirect_uris,
        post_logout,
        auth,
        scopes,
        sign_in,
        trn,
        mobile,
        id_token_alg,
    ) {
        (
            Some(client_id),
            Some(display_name),
            Some(service_url),
            Some(redirect_uris),
            Some(post_logout_redirect_uris),
            Some((auth, generate_secret)),
            Some(allowed_scopes),
            Some(sign_in),
            Some(trn),
            Some(mobile),
            Some(id_token_alg),
        ) if problems.is_empty() => Ok(ClientAddArgs {
            client: Client {
                client_id,
                display_name,
                service_url,
                redirect_uris,
                post_logout_redirect_uris,
                auth,
                allowed_scopes,
                sign_in,
                trn,
                mobile,
                id_token_alg,
                enabled: true,
            },
            generate_secret,
        }),
        _ => Err(problems),
    }
}

/// A field given with something in it, trimmed.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn is_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn uri_problem(value: &str, problem: UriProblem) -> Problem {
    Problem::Uri {
        value: value.to_string(),
        problem,
    }
}

/// A client's redirect URIs (`required`: at least one) or post-logout URIs: each checked, at most [`MAX_URIS`];
/// the first problem.
pub fn check_uris(uris: &[String], required: bool) -> Result<Vec<String>, Problem> {
    if required && uris.is_empty() {
        return Err(Problem::Missing);
    }
    if uris.len() > MAX_URIS {
        return Err(Problem::TooManyUris);
    }
    uris.iter()
        .map(|u| check_uri(u).map_err(|p| uri_problem(u, p)))
        .collect()
}

/// A URI a client registers: absolute, https (http only for this machine, for local services), no fragment
/// (RFC 6749 §3.1.2), no user name or password. Kept exactly as typed: requests must match it character for
/// character.
pub fn check_uri(value: &str) -> Result<String, UriProblem> {
    if value.len() > MAX_URI || value.chars().any(char::is_whitespace) {
        return Err(UriProblem::TooLongOrSpaces);
    }
    let url = url::Url::parse(value).map_err(|e| UriProblem::NotAbsolute(e.to_string()))?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        _ => return Err(UriProblem::NotHttps),
    }
    if url.fragment().is_some() || value.contains('#') {
        return Err(UriProblem::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UriProblem::UserInfo);
    }
    Ok(value.to_string())
}

/// A client's registered keys: a JWKS with at least one RSA signing key, each with a `kid`, read by
/// `openidconnect`.
fn check_jwks(json: &str) -> Result<String, String> {
    if json.len() > MAX_JWKS {
        return Err(format!("must be at most {MAX_JWKS} bytes"));
    }
    let jwks: openidconnect::core::CoreJsonWebKeySet =
        serde_json::from_str(json).map_err(|e| format!("is not a JWKS: {e}"))?;
    use openidconnect::JsonWebKey;
    if jwks.keys().is_empty() || jwks.keys().iter().any(|k| k.key_id().is_none()) {
        return Err("must hold at least one key, each with a kid".into());
    }
    Ok(json.to_string())
}

/// An API client as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiClientInput {
    pub name: Option<String>,
    pub scopes: Vec<String>,
}

/// A field of an API client's registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiClientField {
    Name,
    Scopes,
}

/// What is wrong with an API client's registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiClientProblem {
    NameMissing,
    NameTooLong,
    NoScope,
    UnknownScope(String),
}

impl ApiClientProblem {
    pub fn field(&self) -> ApiClientField {
        match self {
            Self::NameMissing | Self::NameTooLong => ApiClientField::Name,
            Self::NoScope | Self::UnknownScope(_) => ApiClientField::Scopes,
        }
    }

    /// For the person typing `server api-client add`.
    pub fn cli(&self) -> String {
        let usage = crate::api::API_CLIENT_ADD_USAGE;
        match self {
            Self::NameMissing | Self::NameTooLong => format!(
                "--name is needed: the service's name (at most {MAX_NAME_CHARS} characters)\n{usage}"
            ),
            Self::NoScope => format!("at least one --scope is needed\n{usage}"),
            Self::UnknownScope(s) => {
                format!("unknown scope `{s}`: expected trn_tokens:write or qts:write")
            }
        }
    }

    /// For the administrator on the console's form.
    pub fn console(&self) -> String {
        match self {
            Self::NameMissing => "Enter the service’s name".into(),
            Self::NameTooLong => {
                format!("Service name must be {MAX_NAME_CHARS} characters or fewer")
            }
            Self::NoScope => "Select at least one scope".into(),
            Self::UnknownScope(_) => "Select scopes from the list".into(),
        }
    }
}

/// Checks an API client's registration; what to store, or every problem.
pub fn check_api_client(input: &ApiClientInput) -> Result<ApiClientAddArgs, Vec<ApiClientProblem>> {
    let mut problems = Vec::new();
    let name = match input.name.as_deref().map(str::trim) {
        None | Some("") => {
            problems.push(ApiClientProblem::NameMissing);
            None
        }
        Some(n) if n.chars().count() > MAX_NAME_CHARS => {
            problems.push(ApiClientProblem::NameTooLong);
            None
        }
        Some(n) => Some(n.to_string()),
    };
    let mut scopes = BTreeSet::new();
    for s in &input.scopes {
        match ApiScope::parse(s) {
            Some(scope) => {
                scopes.insert(scope);
            }
            None => problems.push(ApiClientProblem::UnknownScope(s.clone())),
        }
    }
    if input.scopes.is_empty() {
        problems.push(ApiClientProblem::NoScope);
    }
    match name {
        Some(name) if problems.is_empty() => Ok(ApiClientAddArgs { name, scopes }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> ClientInput {
        ClientInput {
            client_id: Some("npq".into()),
            display_name: Some(" Register for an NPQ ".into()),
            service_url: Some("https://npq.example".into()),
            redirect_uris: vec!["https://npq.example/callback".into()],
            auth: Some("client_secret".into()),
            sign_in: Some("one_login".into()),
            trn: Some("required".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_registration_is_a_client_with_every_scope_by_default() {
        let checked = check_client(&good()).unwrap();
        assert!(checked.generate_secret);
        assert_eq!(checked.client.display_name, "Register for an NPQ");
        assert_eq!(checked.client.allowed_scopes, Scopes::from(Scope::ALL));
        assert_eq!(
            checked.client.id_token_alg,
            IdTokenAlg::Rs256,
            "OpenID Connect's default"
        );
    }

    #[test]
    fn a_mobile_is_required_unless_the_registration_says_optional() {
        assert_eq!(
            check_client(&good()).unwrap().client.mobile,
            MobilePolicy::Required
        );
        let with = |mobile: &str| ClientInput {
            mobile: Some(mobile.into()),
            ..good()
        };
        assert_eq!(
            check_client(&with("optional")).unwrap().client.mobile,
            MobilePolicy::Optional
        );
        for bad in ["Optional", "", "no", "optional "] {
            let problems = check_client(&with(bad)).unwrap_err();
            assert_eq!(problems.len(), 1, "{bad:?}");
            assert_eq!(problems[0].field, ClientField::Mobile);
            assert!(problems[0].cli().starts_with("unknown --mobile"));
            assert_eq!(
                problems[0].console(),
                "Select whether new accounts need a mobile number"
            );
        }
    }

    #[test]
    fn an_id_token_alg_is_rs256_or_es256_and_nothing_else() {
        let with = |alg: &str| ClientInput {
            id_token_alg: Some(alg.into()),
            ..good()
        };
        assert_eq!(
            check_client(&with("ES256")).unwrap().client.id_token_alg,
            IdTokenAlg::Es256
        );
        assert_eq!(
            check_client(&with("RS256")).unwrap().client.id_token_alg,
            IdTokenAlg::Rs256
        );
        for bad in ["HS256", "none", "es256", "", "RS256 "] {
            let problems = check_client(&with(bad)).unwrap_err();
            assert_eq!(problems.len(), 1, "{bad:?}");
            assert_eq!(problems[0].field, ClientField::IdTokenAlg);
            assert_eq!(
                problems[0].console(),
                "Select how the service’s ID tokens are signed"
            );
            assert!(problems[0].cli().contains("RS256 or ES256"));
        }
    }

    #[test]
    fn every_problem_is_reported_on_its_own_field() {
        let bad = ClientInput {
            client_id: Some("has space".into()),
            display_name: Some("x".repeat(MAX_NAME_CHARS + 1)),
            service_url: Some("ftp://npq.example".into()),
            redirect_uris: vec!["https://npq.example/cb#x".into()],
            post_logout_redirect_uris: vec!["https://u:p@npq.example/out".into()],
            auth: Some("private_key_jwt".into()),
            scopes: Some("email".into()),
            ..Default::default()
        };
        let problems = check_client(&bad).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        use ClientField as F;
        assert_eq!(
            fields,
            [
                F::ClientId,
                F::Name,
                F::ServiceUrl,
                F::RedirectUris,
                F::PostLogoutRedirectUris,
                F::JwksUri,
                F::Scopes,
                F::SignIn,
                F::Trn
            ]
        );
        assert!(problems[2].console().contains("must start with https://"));
        assert!(problems[3].console().contains("fragment"));
        assert!(problems[4].cli().contains("user name"));
        for p in &problems {
            assert!(!p.console().is_empty() && !p.cli().is_empty());
        }
    }

    #[test]
    fn uris_are_bounded_in_number_and_length() {
        let many = vec!["https://a.example/cb".to_string(); MAX_URIS + 1];
        assert_eq!(check_uris(&many, true), Err(Problem::TooManyUris));
        assert_eq!(check_uris(&[], true), Err(Problem::Missing));
        assert_eq!(check_uris(&[], false), Ok(vec![]));
        let long = format!("https://a.example/{}", "x".repeat(MAX_URI));
        assert_eq!(check_uri(&long), Err(UriProblem::TooLongOrSpaces));
        assert_eq!(
            check_uri("http://127.0.0.1:3000/cb"),
            Ok("http://127.0.0.1:3000/cb".into())
        );
    }

    #[test]
    fn an_api_client_needs_a_name_and_known_scopes() {
        let ok = check_api_client(&ApiClientInput {
            name: Some(" Find a lost TRN ".into()),
            scopes: vec!["trn_tokens:write".into()],
        })
        .unwrap();
        assert_eq!(ok.name, "Find a lost TRN");
        let problems = check_api_client(&ApiClientInput {
            name: Some("x".repeat(201)),
            scopes: vec!["admin".into()],
        })
        .unwrap_err();
        assert_eq!(
            problems,
            [
                ApiClientProblem::NameTooLong,
                ApiClientProblem::UnknownScope("admin".into())
            ]
        );
        assert_eq!(
            check_api_client(&ApiClientInput::default()).unwrap_err(),
            [ApiClientProblem::NameMissing, ApiClientProblem::NoScope]
        );
    }
}
