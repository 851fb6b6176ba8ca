//! What a test (or a tester) can ask of the next sign-in: who signs in, how it ends, and how the stand-in should
//! misbehave. These types are the test-control API, in Rust and as JSON (`POST /admin/next-login`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How the sign-in ends, as chosen in the persona picker or queued by a test.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Signed in; no identity, even if P2 was asked for.
    Authenticated,
    /// Signed in and, for a `Cl.Cm.P2` request, identity proven (coreIdentityJWT in userinfo).
    #[default]
    IdentityVerified,
    /// Signed in but identity not proven: userinfo has `returnCode: [{"code":"C"}]` when the RP asked for
    /// returnCode, otherwise the callback gets `error=access_denied`.
    IdentityNotVerified,
    /// The user cancelled: `error=access_denied`.
    AccessDenied,
    /// `error=temporarily_unavailable`.
    TemporarilyUnavailable,
    /// `error=login_required`.
    LoginRequired,
    /// `error=unauthorized_client`, `error_description=client deactivated`.
    ClientDeactivated,
}

impl Outcome {
    pub const ALL: [Self; 7] = [
        Self::Authenticated,
        Self::IdentityVerified,
        Self::IdentityNotVerified,
        Self::AccessDenied,
        Self::TemporarilyUnavailable,
        Self::LoginRequired,
        Self::ClientDeactivated,
    ];

    /// The kebab-case name used in JSON and in the picker form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticated => "authenticated",
            Self::IdentityVerified => "identity-verified",
            Self::IdentityNotVerified => "identity-not-verified",
            Self::AccessDenied => "access-denied",
            Self::TemporarilyUnavailable => "temporarily-unavailable",
            Self::LoginRequired => "login-required",
            Self::ClientDeactivated => "client-deactivated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// What the picker shows for this outcome.
    pub fn label(self) -> &'static str {
        match self {
            Self::Authenticated => "Signed in (no identity check)",
            Self::IdentityVerified => "Signed in and identity proven",
            Self::IdentityNotVerified => "Signed in but identity could not be proven",
            Self::AccessDenied => "User cancels (access_denied)",
            Self::TemporarilyUnavailable => "One Login is unavailable (temporarily_unavailable)",
            Self::LoginRequired => "Login required (login_required)",
            Self::ClientDeactivated => "Service deactivated (unauthorized_client)",
        }
    }
}

/// A deliberate fault in what the stand-in produces, to prove the relying party rejects it. Each one affects only
/// the sign-in it was queued for (it travels with the authorisation code), except `RotateKeys`, which changes the
/// published keys for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Misbehaviour {
    /// ID token `iss` is not the issuer.
    WrongIss,
    /// ID token `aud` is another client.
    WrongAud,
    /// ID token signature does not verify.
    BadSignature,
    /// ID token expired (iat 10 minutes ago).
    Expired,
    /// ID token issued in the future (iat 10 minutes ahead).
    NotYetValid,
    /// ID token `nonce` is not the one sent.
    WrongNonce,
    /// ID token `vot` is `Cl`.
    LowerVot,
    /// ID token header `alg: HS256` with a `kid` that is not published.
    AlgNone,
    /// ID token signed with a key that is not in the JWKS.
    UnknownKid,
    /// From this token on, sign with a new key that is published in the JWKS only now.
    RotateKeys,
    /// userinfo `sub` differs from the ID token's.
    UserinfoSubMismatch,
    /// coreIdentityJWT `sub` differs from the ID token's.
    CoreIdentityWrongSub,
    /// coreIdentityJWT signature does not verify.
    CoreIdentityBadSignature,
    /// coreIdentityJWT `iss` is not the identity issuer.
    CoreIdentityWrongIss,
    /// coreIdentityJWT `aud` is another client.
    CoreIdentityWrongAud,
    /// coreIdentityJWT expired.
    CoreIdentityExpired,
    /// coreIdentityJWT `vot` is `P1`.
    CoreIdentityVotP1,
    /// coreIdentityJWT header `alg: HS256`.
    CoreIdentityAlgHs256,
    /// coreIdentityJWT signed with a key that is not in the DID document.
    CoreIdentityUnknownKid,
    /// ID token signed RS256 with the RSA key the JWKS publishes (the relying party registered ES256).
    Rs256,
    /// Core identity JWTs are signed from now on with a new identity key, which the DID document publishes only now
    /// (beside the old one), as in One Login's weekly rotation. Like `RotateKeys`, it lasts.
    RotateIdentityKey,
    /// coreIdentityJWT names carry `validFrom`/`validUntil` as date-times (`2010-06-01T00:00:00Z`), not plain dates,
    /// with previous names listed before the current one.
    NameDatesNotPlain,
    /// The token endpoint answers 500.
    TokenServerError,
    /// The token endpoint takes 15 seconds to answer.
    SlowToken,
}

/// What is wrong with a logout token made by [`crate::Standin::faulty_logout_token`]; each one must be refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoutTokenFault {
    /// Carries a `nonce` claim, which OpenID Back-Channel Logout 1.0 forbids (an ID token in disguise).
    Nonce,
    /// Signed RS256 with the RSA key the JWKS publishes, not ES256 as ID tokens are.
    Rs256,
}

/// Someone who is not one of the built-in personas, typed into the picker or queued by a test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CustomPerson {
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub previous_first_name: Option<String>,
    #[serde(default)]
    pub previous_last_name: Option<String>,
    /// The last day the previous name was used.
    #[serde(default)]
    pub previous_name_valid_until: Option<NaiveDate>,
    pub date_of_birth: NaiveDate,
    pub email: String,
}

/// The next sign-in, decided in advance: `/authorize` skips the picker and redirects straight back with a code (or
/// the outcome's error).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NextLogin {
    /// A persona id (see [`crate::Persona`]) or `"custom"`.
    pub persona: String,
    #[serde(default)]
    pub outcome: Outcome,
    #[serde(default)]
    pub misbehave: Vec<Misbehaviour>,
    /// Required when `persona` is `"custom"`.
    #[serde(default)]
    pub custom: Option<CustomPerson>,
}

impl NextLogin {
    /// A sign-in as `persona` that ends with `outcome` and no misbehaviour.
    pub fn new(persona: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            persona: persona.into(),
            outcome,
            misbehave: Vec::new(),
            custom: None,
        }
    }

    /// The same sign-in with these faults.
    pub fn misbehaving(mut self, misbehave: impl IntoIterator<Item = Misbehaviour>) -> Self {
        self.misbehave.extend(misbehave);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_login_reads_kebab_case_json() {
        let next: NextLogin = serde_json::from_str(
            r#"{"persona":"custom","outcome":"identity-not-verified",
                "misbehave":["core-identity-vot-p1","core-identity-alg-hs256","slow-token"],
                "custom":{"first-name":"Ann","last-name":"Lee","date-of-birth":"1980-02-29","email":"a@example.com"}}"#,
        )
        .expect("valid JSON");
        assert_eq!(next.outcome, Outcome::IdentityNotVerified);
        assert_eq!(
            next.misbehave,
            vec![
                Misbehaviour::CoreIdentityVotP1,
                Misbehaviour::CoreIdentityAlgHs256,
                Misbehaviour::SlowToken
            ]
        );
        assert_eq!(next.custom.map(|c| c.first_name), Some("Ann".into()));
    }

    #[test]
    fn outcome_defaults_to_identity_verified_and_names_round_trip() {
        let next: NextLogin = serde_json::from_str(r#"{"persona":"exact-match"}"#).expect("valid");
        assert_eq!(next.outcome, Outcome::IdentityVerified);
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
            assert_eq!(
                serde_json::to_value(outcome).expect("serialises"),
                serde_json::json!(outcome.as_str())
            );
        }
    }
}
