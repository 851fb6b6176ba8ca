//! The signed-in person's account summary: who One Login says they are.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// What the account page shows about the person's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountIdentity {
    /// Signed in with a DfE Identity account: its details are its own, not verified (the account page's own
    /// changes come with issue 13 §4).
    AccountHolder,
    NotChecked,
    NotVerified,
    Verified {
        name: String,
        previous_names: Vec<String>,
        dates_of_birth: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub email: String,
    pub identity: AccountIdentity,
}

/// `None`, with a redirect to sign in, when nobody is signed in.
#[server(input = GetUrl)]
pub async fn load_account() -> Result<Option<AccountView>, ServerFnError> {
    use crate::ssr::IdentityStatus;
    let ctx =
        crate::ssr::request_context().ok_or_else(|| ServerFnError::new("no request context"))?;
    let Some(user) = ctx.session.user() else {
        leptos_axum::redirect(crate::routes::SIGN_IN);
        return Ok(None);
    };
    let account_holder = user.is_account();
    let identity = match user.identity {
        IdentityStatus::Unverified => AccountIdentity::AccountHolder,
        IdentityStatus::NotChecked => AccountIdentity::NotChecked,
        IdentityStatus::NotVerified => AccountIdentity::NotVerified,
        IdentityStatus::Verified(identity) => AccountIdentity::Verified {
            name: identity
                .current_name()
                .map(|n| n.full_name())
                .unwrap_or_default(),
            previous_names: identity.previous_names().map(|n| n.full_name()).collect(),
            dates_of_birth: identity
                .dates_of_birth
                .iter()
                .map(|d| crate::domain::uk_time::long_date(*d))
                .collect(),
        },
    };
    Ok(Some(AccountView {
        // An address One Login has not verified is not kept, so there is none to show.
        email: user
            .email
            .map(|e| e.as_str().to_string())
            .unwrap_or_else(|| {
                if account_holder {
                    "Your DfE Identity account’s email address".into()
                } else {
                    "Not verified by GOV.UK One Login".into()
                }
            }),
        identity,
    }))
}
