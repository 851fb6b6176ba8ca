//! What the account page's change pages show (issue 13 §4), for a DfE Identity account holder only: anyone else
//! is sent to their account page. The name and date of birth pages send someone who holds a TRN back to the
//! account page, which says why they cannot change them.

use crate::server_fns::load_account_sign_in::AccountSignInView;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// The account page's change pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangePage {
    Email,
    EmailCode,
    Mobile,
    MobileCode,
    Name,
    DateOfBirth,
}

impl ChangePage {
    /// The form whose flash the page shows.
    pub fn form(self) -> crate::forms::FormId {
        use crate::forms::FormId;
        match self {
            Self::Email => FormId::AccountChangeEmail,
            Self::EmailCode => FormId::AccountChangeEmailCode,
            Self::Mobile => FormId::AccountChangeMobile,
            Self::MobileCode => FormId::AccountChangeMobileCode,
            Self::Name => FormId::AccountChangeName,
            Self::DateOfBirth => FormId::AccountChangeDateOfBirth,
        }
    }
}

/// The page (the sign-in journey's view, so its forms' helpers serve both), or `None` with a redirect.
#[server(input = GetUrl)]
pub async fn load_account_change(
    page: ChangePage,
) -> Result<Option<AccountSignInView>, ServerFnError> {
    use crate::domain::account::journey::{
        DOB_DAY_FIELD, DOB_MONTH_FIELD, DOB_YEAR_FIELD, FIRST_NAME_FIELD, LAST_NAME_FIELD,
        PREFERRED_NAME_FIELD,
    };
    use crate::routes;
    use chrono::Datelike;
    let ctx =
        crate::ssr::request_context().ok_or_else(|| ServerFnError::new("no request context"))?;
    let data = use_context::<std::sync::Arc<dyn crate::ssr::TeacherData>>()
        .ok_or_else(|| ServerFnError::new("no teacher data"))?;
    let redirect = |to: &str| {
        leptos_axum::redirect(to);
        Ok(None)
    };
    let Some(user) = ctx.session.user().filter(|u| u.is_account()) else {
        return redirect(routes::ACCOUNT);
    };
    let unavailable = crate::ssr::DataUnavailable::server_fn_error;
    let Some(account) = data.account(user.user_id).await.map_err(unavailable)? else {
        return redirect(routes::ACCOUNT);
    };
    let pending = ctx
        .session
        .lock()
        .data
        .account_change
        .clone()
        .unwrap_or_default();
    match page {
        ChangePage::EmailCode if pending.email.is_none() => return redirect(routes::ACCOUNT_EMAIL),
        ChangePage::MobileCode if pending.mobile.is_none() => {
            return redirect(routes::ACCOUNT_MOBILE)
        }
        ChangePage::Name | ChangePage::DateOfBirth => {
            let facts = data.facts(user.user_id).await.map_err(unavailable)?;
            if facts.record.is_some() {
                return redirect(routes::ACCOUNT);
            }
        }
        _ => {}
    }
    let (mut values, errors) = match ctx.session.take_flash(&page.form()) {
        Some(flash) => (flash.values, flash.errors),
        None => (Default::default(), Vec::new()),
    };
    let resent = values.remove("resent").is_some();
    // The details as they are, to change; a new email or mobile starts blank.
    if values.is_empty() && errors.is_empty() {
        let mut put = |field: &str, value: String| {
            values.insert(field.to_string(), value);
        };
        match page {
            ChangePage::Name => {
                put(FIRST_NAME_FIELD, account.name.first.clone());
                put(LAST_NAME_FIELD, account.name.last.clone());
                put(
                    PREFERRED_NAME_FIELD,
                    account.name.preferred.clone().unwrap_or_default(),
                );
            }
            ChangePage::DateOfBirth => {
                put(DOB_DAY_FIELD, account.date_of_birth.day().to_string());
                put(DOB_MONTH_FIELD, account.date_of_birth.month().to_string());
                put(DOB_YEAR_FIELD, account.date_of_birth.year().to_string());
            }
            _ => {}
        }
    }
    Ok(Some(AccountSignInView {
        csrf_token: ctx.csrf_token,
        values,
        errors,
        email: pending
            .email
            .map(|e| e.address().to_string())
            .unwrap_or_default(),
        mobile: pending
            .mobile
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        resent,
        ..AccountSignInView::default()
    }))
}
