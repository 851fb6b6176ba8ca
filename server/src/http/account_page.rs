//! The account page's changes for a DfE Identity account holder (issue 13 §4, DESIGN §7.3): the forms' handlers.
//! The rules are `app::domain::account::change`'s; the passcodes are the sign-in journey's
//! (`super::account_sign_in`), for the purposes `ChangeEmail` and `ChangeMobile`, so a sign-in code never changes
//! a detail and a change code never signs anyone in.
//!
//! - A new email or mobile gets a passcode; the account keeps the old one until that passcode is entered. Another
//!   account's email or mobile is refused only then, so the form never tells a stranger whose it is.
//! - The name and date of birth change only while no TRN is held; the store checks that in the same statement.
//! - Every change is audited (which account, which detail; never the values). The email's old address is told.
//!
//! Anyone not signed in with an account is sent to their account page, which shows what fits them.

use super::account_sign_in::{
    back_with, check_passcode, code_error, date_of_birth_from, name_from, send_passcode, CodeForm,
    DateOfBirthForm, NameForm, NotSent,
};
use super::client_addr::ClientAddress;
use super::error::{AppError, HandlerResult};
use crate::db::accounts::{AccountChange, DetailsChange};
use crate::db::audit::AuditEvent;
use crate::db::support::NewEmail;
use crate::state::AppState;
use app::domain::account::change::{
    email_changed_personalisation, email_taken, mobile_taken, same_email, same_mobile,
    PendingChange, NEW_EMAIL_FIELD, NEW_MOBILE_FIELD,
};
use app::domain::account::journey::{too_many_codes, CODE_FIELD};
use app::domain::account::{Account, AccountEmail, Mobile, PasscodePurpose, PasscodeTarget};
use app::domain::support::EmailTemplate;
use app::domain::validation::FieldError;
use app::forms::FormId;
use app::routes;
use app::ssr::{Flash, RequestContext};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use chrono::Utc;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The signed-in account holder's account, read afresh; anyone else goes to their account page.
async fn holder(state: &AppState, ctx: &RequestContext) -> Result<Account, AppError> {
    let Some(user) = ctx.session.user().filter(|u| u.is_account()) else {
        return Err(AppError::Elsewhere(routes::ACCOUNT));
    };
    state
        .store
        .account(user.user_id)
        .await
        .map_err(AppError::store("reading an account"))?
        .ok_or(AppError::Elsewhere(routes::ACCOUNT))
}

fn pending(ctx: &RequestContext) -> PendingChange {
    ctx.session
        .lock()
        .data
        .account_change
        .clone()
        .unwrap_or_default()
}

/// Audits the change of `what` and back to the account page with "`banner`".
async fn changed(
    state: &AppState,
    ctx: &RequestContext,
    user_id: i64,
    what: &str,
    banner: &str,
) -> HandlerResult {
    state
        .store
        .audit_event(
            None,
            None,
            &AuditEvent::AccountChanged {
                user_id,
                what: what.to_string(),
            },
            Utc::now(),
        )
        .await
        .map_err(AppError::store("auditing an account change"))?;
    tracing::info!(what, "DfE Identity account changed");
    ctx.session.set_flash(Flash {
        form: FormId::AccountChanged,
        values: BTreeMap::from([("changed".to_string(), banner.to_string())]),
        errors: Vec::new(),
    });
    Ok(Redirect::to(routes::ACCOUNT).into_response())
}

/// Sends the change passcode to `target`; the form's error when over a sending limit.
async fn send(
    state: &AppState,
    client: Option<IpAddr>,
    target: &PasscodeTarget,
    purpose: PasscodePurpose,
    field: &str,
) -> Result<Result<(), FieldError>, AppError> {
    match send_passcode(state, client, target, purpose).await {
        Ok(()) => Ok(Ok(())),
        Err(NotSent::Limited(window)) => Ok(Err(too_many_codes(field, window))),
        Err(NotSent::Store(e)) => Err(e),
    }
}

/// Tells the old address that the account's email changed, with the new one partly hidden, so someone who did not
/// make the change hears of it. The change is made whatever happens here, so a failure is logged, not shown.
async fn tell_old_email(state: &AppState, account: &Account, new: &AccountEmail) {
    let name = account
        .name
        .preferred
        .as_deref()
        .unwrap_or(&account.name.first);
    let email = NewEmail {
        reference: format!("account-email-changed-{}", uuid::Uuid::new_v4()),
        template: EmailTemplate::AccountEmailChanged.as_str().to_string(),
        email_address: account.email.address().to_string(),
        personalisation: email_changed_personalisation(name, new),
        task_reference: None,
    };
    match state.store.queue_email(&email, Utc::now()).await {
        Ok(()) => state.outbox_wake.notify_one(),
        Err(e) => tracing::error!(error = %e, "could not queue the email-changed email"),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// `POST /account/email`: a passcode to the new email; the account keeps the old one until it is entered.
pub async fn submit_email(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<EmailForm>,
) -> HandlerResult {
    let account = holder(&state, &ctx).await?;
    let back = |error: FieldError| {
        back_with(
            &ctx,
            FormId::AccountChangeEmail,
            &[(NEW_EMAIL_FIELD, &form.email, 254)],
            vec![error],
            routes::ACCOUNT_EMAIL,
        )
    };
    let email =
        AccountEmail::parse(&form.email).map_err(|p| back(p.field_error(NEW_EMAIL_FIELD)))?;
    if let Some(error) = same_email(&account.email, &email) {
        return Err(back(error));
    }
    let target = PasscodeTarget::Email(email.clone());
    send(
        &state,
        client,
        &target,
        PasscodePurpose::ChangeEmail,
        NEW_EMAIL_FIELD,
    )
    .await?
    .map_err(back)?;
    ctx.session.update(|data| {
        data.account_change
            .get_or_insert_with(Default::default)
            .email = Some(email)
    });
    Ok(Redirect::to(routes::ACCOUNT_EMAIL_CODE).into_response())
}

/// `POST /account/email/code`: the new email's passcode. Right, and no other account has that email: the email
/// changes.
pub async fn submit_email_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<CodeForm>,
) -> HandlerResult {
    let account = holder(&state, &ctx).await?;
    let Some(email) = pending(&ctx).email else {
        return Err(AppError::Elsewhere(routes::ACCOUNT_EMAIL));
    };
    let target = PasscodeTarget::Email(email.clone());
    if let Err(error) =
        check_passcode(&state, &target, PasscodePurpose::ChangeEmail, &form.code).await?
    {
        return Err(code_error(
            &ctx,
            FormId::AccountChangeEmailCode,
            &form.code,
            error,
            routes::ACCOUNT_EMAIL_CODE,
        ));
    }
    ctx.session.update(|data| {
        if let Some(change) = data.account_change.as_mut() {
            change.email = None;
        }
    });
    let outcome = state
        .store
        .change_account_email(account.user_id, &email, Utc::now())
        .await
        .map_err(AppError::store("changing an account's email"))?;
    match outcome {
        AccountChange::Changed => {
            tell_old_email(&state, &account, &email).await;
            changed(
                &state,
                &ctx,
                account.user_id,
                "email",
                "Your email address has been changed",
            )
            .await
        }
        AccountChange::Taken => Err(back_with(
            &ctx,
            FormId::AccountChangeEmail,
            &[(NEW_EMAIL_FIELD, email.address(), 254)],
            vec![email_taken()],
            routes::ACCOUNT_EMAIL,
        )),
        AccountChange::NoAccount => Err(AppError::Elsewhere(routes::ACCOUNT)),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct MobileForm {
    #[serde(default)]
    mobile: String,
}

/// `POST /account/mobile`: a passcode by text message to the new mobile.
pub async fn submit_mobile(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<MobileForm>,
) -> HandlerResult {
    let account = holder(&state, &ctx).await?;
    let back = |error: FieldError| {
        back_with(
            &ctx,
            FormId::AccountChangeMobile,
            &[(NEW_MOBILE_FIELD, &form.mobile, 100)],
            vec![error],
            routes::ACCOUNT_MOBILE,
        )
    };
    let mobile = Mobile::parse(&form.mobile).map_err(|p| back(p.field_error(NEW_MOBILE_FIELD)))?;
    if let Some(error) = same_mobile(account.mobile.as_ref(), &mobile) {
        return Err(back(error));
    }
    let target = PasscodeTarget::Mobile(mobile.clone());
    send(
        &state,
        client,
        &target,
        PasscodePurpose::ChangeMobile,
        NEW_MOBILE_FIELD,
    )
    .await?
    .map_err(back)?;
    ctx.session.update(|data| {
        data.account_change
            .get_or_insert_with(Default::default)
            .mobile = Some(mobile)
    });
    Ok(Redirect::to(routes::ACCOUNT_MOBILE_CODE).into_response())
}

/// `POST /account/mobile/code`: the new mobile's passcode. Right, and no other account has it: the mobile changes.
pub async fn submit_mobile_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<CodeForm>,
) -> HandlerResult {
    let account = holder(&state, &ctx).await?;
    let Some(mobile) = pending(&ctx).mobile else {
        return Err(AppError::Elsewhere(routes::ACCOUNT_MOBILE));
    };
    let target = PasscodeTarget::Mobile(mobile.clone());
    if let Err(error) =
        check_passcode(&state, &target, PasscodePurpose::ChangeMobile, &form.code).await?
    {
        return Err(code_error(
            &ctx,
            FormId::AccountChangeMobileCode,
            &form.code,
            error,
            routes::ACCOUNT_MOBILE_CODE,
        ));
    }
    ctx.session.update(|data| {
        if let Some(change) = data.account_change.as_mut() {
            change.mobile = None;
        }
    });
    let outcome = state
        .store
        .change_account_mobile(account.user_id, Some(&mobile), Utc::now())
        .await
        .map_err(AppError::store("changing an account's mobile"))?;
    match outcome {
        AccountChange::Changed => {
            changed(
                &state,
                &ctx,
                account.user_id,
                "mobile",
                "Your mobile number has been changed",
            )
            .await
        }
        AccountChange::Taken => Err(back_with(
            &ctx,
            FormId::AccountChangeMobile,
            &[(NEW_MOBILE_FIELD, mobile.as_str(), 100)],
            vec![mobile_taken()],
            routes::ACCOUNT_MOBILE,
        )),
        AccountChange::NoAccount => Err(AppError::Elsewhere(routes::ACCOUNT)),
    }
}

/// Sends a new passcode to the new email or mobile waiting in the session; the old code stops working.
async fn resend(
    state: &AppState,
    ctx: &RequestContext,
    client: Option<IpAddr>,
    mobile: bool,
) -> HandlerResult {
    holder(state, ctx).await?;
    let change = pending(ctx);
    let (target, purpose, form, page, start) = if mobile {
        (
            change.mobile.map(PasscodeTarget::Mobile),
            PasscodePurpose::ChangeMobile,
            FormId::AccountChangeMobileCode,
            routes::ACCOUNT_MOBILE_CODE,
            routes::ACCOUNT_MOBILE,
        )
    } else {
        (
            change.email.map(PasscodeTarget::Email),
            PasscodePurpose::ChangeEmail,
            FormId::AccountChangeEmailCode,
            routes::ACCOUNT_EMAIL_CODE,
            routes::ACCOUNT_EMAIL,
        )
    };
    let Some(target) = target else {
        return Err(AppError::Elsewhere(start));
    };
    let (values, errors) = match send(state, client, &target, purpose, CODE_FIELD).await? {
        Ok(()) => (
            BTreeMap::from([("resent".to_string(), "1".to_string())]),
            Vec::new(),
        ),
        Err(error) => (BTreeMap::new(), vec![error]),
    };
    ctx.session.set_flash(Flash {
        form,
        values,
        errors,
    });
    Ok(Redirect::to(page).into_response())
}

/// `POST /account/email/resend`.
pub async fn resend_email_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
) -> HandlerResult {
    resend(&state, &ctx, client, false).await
}

/// `POST /account/mobile/resend`.
pub async fn resend_mobile_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
) -> HandlerResult {
    resend(&state, &ctx, client, true).await
}

/// Stores `account`'s new name and date of birth unless a TRN is held (then back to the account page, which says
/// why not).
async fn change_details(
    state: &AppState,
    ctx: &RequestContext,
    account: Account,
    what: &str,
    banner: &str,
) -> HandlerResult {
    let outcome = state
        .store
        .change_account_details(
            account.user_id,
            &account.name,
            account.date_of_birth,
            Utc::now(),
        )
        .await
        .map_err(AppError::store(
            "changing an account's name or date of birth",
        ))?;
    match outcome {
        DetailsChange::Changed => changed(state, ctx, account.user_id, what, banner).await,
        DetailsChange::TrnHeld | DetailsChange::NoAccount => {
            tracing::info!(what, "account change refused: a TRN is held");
            Err(AppError::Elsewhere(routes::ACCOUNT))
        }
    }
}

/// `POST /account/name`.
pub async fn submit_name(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<NameForm>,
) -> HandlerResult {
    let mut account = holder(&state, &ctx).await?;
    account.name = name_from(&ctx, &form, FormId::AccountChangeName, routes::ACCOUNT_NAME)?;
    change_details(&state, &ctx, account, "name", "Your name has been changed").await
}

/// `POST /account/date-of-birth`.
pub async fn submit_date_of_birth(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<DateOfBirthForm>,
) -> HandlerResult {
    let mut account = holder(&state, &ctx).await?;
    account.date_of_birth = date_of_birth_from(
        &ctx,
        &form,
        FormId::AccountChangeDateOfBirth,
        routes::ACCOUNT_DATE_OF_BIRTH,
    )?;
    change_details(
        &state,
        &ctx,
        account,
        "date_of_birth",
        "Your date of birth has been changed",
    )
    .await
}
