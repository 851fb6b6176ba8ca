//! What each page of signing in to or creating a DfE Identity account shows (DESIGN §7.3), after checking the
//! person may be on that page: anyone else is redirected to where they belong (deep links, the back button, a second
//! tab, a service that does not offer accounts).

use crate::domain::account::journey::AccountStep;
use crate::domain::FieldError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The pages: the journey's own, and those of someone it has just signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountPage {
    Journey(AccountStep),
    /// "Your DfE Identity account has been created".
    Created,
    /// Seed 002 scenarios 1 and 2: "You already have a DfE Identity account".
    YouHaveAnAccount,
    /// An account holder without a teaching record (issue 13 §3 builds finding it).
    FindRecord,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSignInView {
    pub csrf_token: String,
    /// What the last failed submission typed, or the answer already given.
    pub values: BTreeMap<String, String>,
    pub errors: Vec<FieldError>,
    /// The service that sent them, by the name it registered.
    pub service: Option<String>,
    /// "create" when they chose to create an account (the email form's hidden field).
    pub intent: String,
    /// Where the email code was sent.
    pub email: String,
    /// Where the text message was sent.
    pub mobile: String,
    /// Scenario 3's account's email, partly hidden.
    pub masked_email: String,
    /// A new code was just sent.
    pub resent: bool,
    /// The service lets them create an account without a mobile number.
    pub mobile_optional: bool,
}

/// The page, or `None` with a redirect to where the person should be.
#[server(input = GetUrl)]
pub async fn load_account_sign_in(
    page: AccountPage,
) -> Result<Option<AccountSignInView>, ServerFnError> {
    use crate::domain::account::journey::{
        Intent, DOB_DAY_FIELD, DOB_MONTH_FIELD, DOB_YEAR_FIELD, EMAIL_FIELD, FIRST_NAME_FIELD,
        LAST_NAME_FIELD, MOBILE_FIELD, PREFERRED_NAME_FIELD,
    };
    use crate::domain::provider::SignInPolicy;
    use crate::forms::FormId;
    use crate::routes;
    use chrono::Datelike;
    let ctx =
        crate::ssr::request_context().ok_or_else(|| ServerFnError::new("no request context"))?;
    let now = chrono::Utc::now().timestamp();
    let (user, journey, request) = {
        let state = ctx.session.lock();
        (
            state.data.user.clone(),
            state.data.account_journey.clone().unwrap_or_default(),
            state.data.live_client_request(now).cloned(),
        )
    };
    let redirect = |to: &str| {
        leptos_axum::redirect(to);
        Ok(None)
    };
    match (page, &user) {
        (AccountPage::Journey(_), Some(_)) => return redirect(routes::CONTINUE),
        (AccountPage::Journey(step), None) => {
            if !request
                .as_ref()
                .is_some_and(|r| r.sign_in == SignInPolicy::OneLoginOrAccount)
            {
                return redirect(routes::SIGN_IN);
            }
            if let Some(to) = journey.redirect_for(step) {
                return redirect(to);
            }
        }
        (_, None) => return redirect(routes::SIGN_IN),
        (AccountPage::Created | AccountPage::YouHaveAnAccount, Some(u)) if !u.is_account() => {
            return redirect(routes::CONTINUE)
        }
        (_, Some(_)) => {}
    }
    let form = match page {
        AccountPage::Journey(AccountStep::Email) => Some(FormId::AccountEmail),
        AccountPage::Journey(AccountStep::EmailCode) => Some(FormId::AccountEmailCode),
        AccountPage::Journey(AccountStep::Mobile) => Some(FormId::AccountMobile),
        AccountPage::Journey(AccountStep::MobileCode) => Some(FormId::AccountMobileCode),
        AccountPage::Journey(AccountStep::Name) => Some(FormId::AccountName),
        AccountPage::Journey(AccountStep::DateOfBirth) => Some(FormId::AccountDateOfBirth),
        AccountPage::Journey(AccountStep::IsThisYou) => Some(FormId::AccountIsThisYou),
        AccountPage::Journey(AccountStep::ExistingCode) => Some(FormId::AccountExistingCode),
        _ => None,
    };
    let (mut values, errors) = match form.and_then(|form| ctx.session.take_flash(&form)) {
        Some(flash) => (flash.values, flash.errors),
        None => (BTreeMap::new(), Vec::new()),
    };
    let resent = values.remove("resent").is_some();
    // The answer already given, so the back button and "change" links show it.
    if values.is_empty() && errors.is_empty() {
        let mut put = |field: &str, value: String| {
            values.insert(field.to_string(), value);
        };
        match page {
            AccountPage::Journey(AccountStep::Email) => {
                if let Some(email) = &journey.email {
                    put(EMAIL_FIELD, email.address().to_string());
                }
            }
            AccountPage::Journey(AccountStep::Mobile) => {
                if let Some(mobile) = &journey.mobile {
                    put(MOBILE_FIELD, mobile.as_str().to_string());
                }
            }
            AccountPage::Journey(AccountStep::Name) => {
                if let Some(name) = &journey.name {
                    put(FIRST_NAME_FIELD, name.first.clone());
                    put(LAST_NAME_FIELD, name.last.clone());
                    put(
                        PREFERRED_NAME_FIELD,
                        name.preferred.clone().unwrap_or_default(),
                    );
                }
            }
            AccountPage::Journey(AccountStep::DateOfBirth) => {
                if let Some(dob) = journey.date_of_birth {
                    put(DOB_DAY_FIELD, dob.day().to_string());
                    put(DOB_MONTH_FIELD, dob.month().to_string());
                    put(DOB_YEAR_FIELD, dob.year().to_string());
                }
            }
            _ => {}
        }
    }
    // The landing page's links choose; the email form carries the choice already made.
    let intent = match values.remove("intent") {
        Some(intent) => Intent::parse(&intent),
        None => journey.intent,
    };
    let mobile_optional = request
        .as_ref()
        .is_some_and(|r| r.mobile == crate::domain::provider::MobilePolicy::Optional);
    Ok(Some(AccountSignInView {
        mobile_optional,
        csrf_token: ctx.csrf_token,
        values,
        errors,
        service: request.map(|r| r.client_name),
        intent: intent.as_str().to_string(),
        email: journey
            .email
            .as_ref()
            .map(|e| e.address().to_string())
            .unwrap_or_default(),
        mobile: journey
            .mobile
            .as_ref()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        masked_email: journey
            .existing
            .as_ref()
            .map(|e| e.masked_email.clone())
            .unwrap_or_default(),
        resent,
    }))
}
