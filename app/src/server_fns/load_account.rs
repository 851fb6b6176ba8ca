//! The signed-in person's account summary: who One Login says they are.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// What the account page shows about the person's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountIdentity {
    /// Signed in with a DfE Identity account: its details are its own, not verified, and changed on the account
    /// page (issue 13 §4).
    AccountHolder(AccountHolderView),
    NotChecked,
    NotVerified,
    Verified {
        name: String,
        previous_names: Vec<String>,
        dates_of_birth: Vec<String>,
    },
}

/// A DfE Identity account's details as its page shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountHolderView {
    pub email: String,
    /// E.164, or empty when they have none.
    pub mobile: String,
    pub name: String,
    pub preferred_name: Option<String>,
    /// In words.
    pub date_of_birth: String,
    /// The TRN their account is linked to, when it is.
    pub trn: Option<String>,
    /// Why the name and date of birth cannot be changed, once a TRN is held.
    pub locked: Option<String>,
    /// What was just changed, for the success banner.
    pub changed: Option<String>,
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
        // Signed in with the account, whatever else the person has: one merged with a One Login teacher (issue 13
        // §6) is verified by One Login too, but still changes their account's email and mobile here.
        _ if account_holder => {
            AccountIdentity::AccountHolder(account_holder_view(&ctx, user.user_id).await?)
        }
        IdentityStatus::Unverified => AccountIdentity::NotChecked,
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
            .unwrap_or_else(|| "Not verified by GOV.UK One Login".into()),
        identity,
    }))
}

/// The account holder's details, read afresh, with the TRN their account is linked to and the banner of a change
/// just made.
#[cfg(feature = "ssr")]
async fn account_holder_view(
    ctx: &crate::ssr::RequestContext,
    user_id: i64,
) -> Result<AccountHolderView, ServerFnError> {
    let data = use_context::<std::sync::Arc<dyn crate::ssr::TeacherData>>()
        .ok_or_else(|| ServerFnError::new("no teacher data"))?;
    let unavailable = crate::ssr::DataUnavailable::server_fn_error;
    let Some(account) = data.account(user_id).await.map_err(unavailable)? else {
        return Err(ServerFnError::new("an account holder without an account"));
    };
    let facts = data.facts(user_id).await.map_err(unavailable)?;
    let trn = facts.record.map(|r| r.trn);
    let changed = ctx
        .session
        .take_flash(&crate::forms::FormId::AccountChanged)
        .and_then(|f| f.values.get("changed").cloned());
    Ok(AccountHolderView {
        email: account.email.address().to_string(),
        mobile: account
            .mobile
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        name: format!("{} {}", account.name.first, account.name.last),
        preferred_name: account.name.preferred,
        date_of_birth: crate::domain::uk_time::long_date(account.date_of_birth),
        locked: crate::domain::account::change::details_locked(trn.is_some()).map(str::to_string),
        trn,
        changed,
    })
}
