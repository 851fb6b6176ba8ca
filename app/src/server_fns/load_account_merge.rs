//! What each page of the TRN-in-use flow shows (DESIGN §7.3, issue 13 §3 and §6), after checking the person may be
//! on it: anyone else is redirected to where they belong. The flow's progress in the session holds all a page needs;
//! a person whose flow has not begun goes to the server route that begins it (it reads who holds the record).

use super::load_account_sign_in::AccountSignInView;
use crate::domain::account_merge::{EmailChoices, MergeStep};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMergeView {
    /// What every account page shows: the CSRF token, the last submission's values and errors, the service, where
    /// the code went (partly hidden) and whether a new one was just sent.
    pub page: AccountSignInView,
    /// The record's holder signs in with GOV.UK One Login.
    pub holder_one_login: bool,
    /// A code can go to the holder's email; otherwise support is the only way on.
    pub can_send: bool,
    /// On "Which email address do you want to keep?": the two emails.
    pub choices: Option<EmailChoices>,
}

/// The page, or `None` with a redirect to where the person should be.
#[server(input = GetUrl)]
pub async fn load_account_merge(
    step: MergeStep,
) -> Result<Option<AccountMergeView>, ServerFnError> {
    use crate::forms::FormId;
    use crate::routes;
    let ctx =
        crate::ssr::request_context().ok_or_else(|| ServerFnError::new("no request context"))?;
    let now = chrono::Utc::now().timestamp();
    let (user, trn_in_use, progress, service) = {
        let state = ctx.session.lock();
        (
            state.data.user.clone(),
            state.data.trn_in_use.clone(),
            state.data.account_merge.clone(),
            state
                .data
                .live_client_request(now)
                .map(|r| r.client_name.clone()),
        )
    };
    let redirect = |to: &str| {
        leptos_axum::redirect(to);
        Ok(None)
    };
    let Some(user) = user else {
        return redirect(routes::SIGN_IN);
    };
    let Some(trn_in_use) = trn_in_use.filter(|_| user.is_account()) else {
        return redirect(routes::CONTINUE);
    };
    let Some(progress) = progress.filter(|p| p.is_for(user.user_id, &trn_in_use.trn)) else {
        return redirect(routes::ACCOUNT_TRN_IN_USE_START);
    };
    if let Some(to) = progress.redirect_for(step) {
        return redirect(to);
    }
    let form = match step {
        MergeStep::TrnInUse => FormId::AccountTrnInUse,
        MergeStep::Code => FormId::AccountTrnInUseCode,
        MergeStep::ChooseEmail => FormId::AccountKeepEmail,
    };
    let (mut values, errors) = match ctx.session.take_flash(&form) {
        Some(flash) => (flash.values, flash.errors),
        None => Default::default(),
    };
    let resent = values.remove("resent").is_some();
    Ok(Some(AccountMergeView {
        page: AccountSignInView {
            csrf_token: ctx.csrf_token,
            values,
            errors,
            service,
            masked_email: progress.masked_email.clone().unwrap_or_default(),
            resent,
            ..Default::default()
        },
        holder_one_login: progress.holder_one_login,
        can_send: progress.masked_email.is_some(),
        choices: progress.choices,
    }))
}
