//! Signing in to or creating a DfE Identity account with an email and passcode (DESIGN §7.3, seed 002): the forms'
//! handlers. The rules are `app::domain::account`'s; the journey's state is an
//! [`AccountJourney`] in the server-side session, so every form works without JavaScript and nothing typed is lost.
//!
//! **Nothing says whether an email has an account before its passcode is entered.** The email form does the same
//! work for every address (count the send, issue a code, queue the email) and reads no account; its answers and
//! its errors are the same for a known and an unknown address. Accounts are read only once the code is right.
//!
//! Only for services that offer accounts (`sign_in = one_login_or_account`): without such a request kept in the
//! session, every page and form sends the person to GOV.UK One Login's sign-in instead.

use super::client_addr::{rate_limit_key, ClientAddress};
use super::error::{AppError, HandlerResult};
use crate::db::accounts::{count_passcode_send, Taken};
use crate::outbox::{queue_passcode, PasscodeTo};
use crate::state::AppState;
use app::domain::account::journey::{
    parse_name, too_many_codes, AccountJourney, AccountStep, ExistingAccount, Intent, NameInput,
    CODE_FIELD, DOB_DAY_FIELD, DOB_MONTH_FIELD, DOB_YEAR_FIELD, EMAIL_FIELD, FIRST_NAME_FIELD,
    IS_THIS_YOU_FIELD, LAST_NAME_FIELD, MOBILE_FIELD, PREFERRED_NAME_FIELD,
};
use app::domain::account::passcode::parse_passcode;
use app::domain::account::{
    find_duplicate, Account, AccountEmail, Applicant, Duplicate, Mobile, NewAccount, Passcode,
    PasscodeCheck, PasscodePurpose, PasscodeTarget,
};
use app::domain::provider::SignInPolicy;
use app::domain::validation::{
    date_of_birth_message, echo_limit, parse_past_date, truncate_chars, FieldError, MAX_NAME_CHARS,
};
use app::forms::FormId;
use app::routes;
use app::ssr::{Flash, IdentityStatus, RequestContext, SignedInUser, WayIn};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use chrono::Utc;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Whether the service whose request is kept (and live) lets teachers use a DfE Identity account.
pub fn accounts_offered(ctx: &RequestContext) -> bool {
    ctx.session
        .lock()
        .data
        .live_client_request(Utc::now().timestamp())
        .is_some_and(|r| r.sign_in == SignInPolicy::OneLoginOrAccount)
}

/// The journey of someone who may post the form of `step`: signed out, sent by a service that offers accounts,
/// and at a point of the journey where the form belongs. Anyone else goes where they belong.
fn journey_at(ctx: &RequestContext, step: AccountStep) -> Result<AccountJourney, AppError> {
    if ctx.session.user().is_some() {
        return Err(AppError::Elsewhere(routes::CONTINUE));
    }
    if !accounts_offered(ctx) {
        return Err(AppError::Elsewhere(routes::SIGN_IN));
    }
    let journey = ctx
        .session
        .lock()
        .data
        .account_journey
        .clone()
        .unwrap_or_default();
    match journey.redirect_for(step) {
        Some(to) => Err(AppError::Elsewhere(to)),
        None => Ok(journey),
    }
}

fn save(ctx: &RequestContext, journey: AccountJourney) {
    ctx.session
        .update(|data| data.account_journey = Some(journey));
}

/// Back to `to` with `errors` and what was typed (each value cut to what a form shows back).
pub(super) fn back_with(
    ctx: &RequestContext,
    form: FormId,
    values: &[(&str, &str, usize)],
    errors: Vec<FieldError>,
    to: &'static str,
) -> AppError {
    let values = values
        .iter()
        .map(|(field, value, max)| (field.to_string(), truncate_chars(value, echo_limit(*max))))
        .collect();
    AppError::form(
        &ctx.session,
        Flash {
            form,
            values,
            errors,
        },
        to,
    )
}

/// A new passcode from the operating system's generator.
fn new_passcode() -> Passcode {
    use rand::RngCore;
    Passcode::generate(|| rand::rngs::OsRng.next_u32())
}

/// Why a passcode was not sent.
pub(super) enum NotSent {
    /// Over a sending limit: the window to wait, in seconds.
    Limited(i64),
    Store(AppError),
}

/// Counts, issues and queues a passcode to `target` for `purpose`: the same steps for every email, whether or not
/// it has an account.
pub(super) async fn send_passcode(
    state: &AppState,
    client: Option<IpAddr>,
    target: &PasscodeTarget,
    purpose: PasscodePurpose,
) -> Result<(), NotSent> {
    let now = Utc::now();
    let key = &state.config.passcode_key;
    let slot = key.slot(target, purpose);
    let address = client.map(rate_limit_key);
    if let Some(window) = count_passcode_send(
        &*state.store,
        &slot,
        address.as_deref(),
        &state.config.passcode_send_limits,
        now,
    )
    .await
    .map_err(|e| NotSent::Store(AppError::store("counting a passcode send")(e)))?
    {
        tracing::warn!(
            kind = target.kind().as_str(),
            "passcode not sent: over a sending limit"
        );
        return Err(NotSent::Limited(window));
    }
    let code = new_passcode();
    state
        .store
        .issue_passcode(&slot, &key.hash(target, purpose, &code), now)
        .await
        .map_err(|e| NotSent::Store(AppError::store("issuing a passcode")(e)))?;
    let to = match target {
        PasscodeTarget::Email(email) => PasscodeTo::Email(email.address()),
        PasscodeTarget::Mobile(mobile) => PasscodeTo::Sms(mobile.as_str()),
    };
    queue_passcode(&state.store, &state.outbox_wake, to, code.as_str(), now)
        .await
        .map_err(|e| NotSent::Store(AppError::store("queueing a passcode")(e)))?;
    Ok(())
}

/// Checks a typed passcode for `target`: `Ok(())` once it is right (and used up), or the form's error.
pub(super) async fn check_passcode(
    state: &AppState,
    target: &PasscodeTarget,
    purpose: PasscodePurpose,
    typed: &str,
) -> Result<Result<(), FieldError>, AppError> {
    let code = match parse_passcode(CODE_FIELD, typed) {
        Ok(code) => code,
        Err(error) => return Ok(Err(error)),
    };
    let key = &state.config.passcode_key;
    let check = state
        .store
        .verify_passcode(
            &key.slot(target, purpose),
            &key.hash(target, purpose, &code),
            Utc::now(),
        )
        .await
        .map_err(AppError::store("checking a passcode"))?;
    if check != PasscodeCheck::Ok {
        tracing::info!(outcome = ?check, kind = target.kind().as_str(), "passcode refused");
    }
    Ok(match check.field_error(CODE_FIELD) {
        None => Ok(()),
        Some(error) => Err(error),
    })
}

/// Signs this browser in to `account` (a new session id; the journey's state goes), as One Login's callback does.
fn sign_in_to(ctx: &RequestContext, account: &Account) {
    let now = Utc::now().timestamp();
    ctx.session.update(|data| {
        data.account_journey = None;
        data.user = Some(SignedInUser {
            user_id: account.user_id,
            way_in: WayIn::Account {
                account_id: account.user_id,
            },
            email: None,
            identity: IdentityStatus::Unverified,
        });
        data.signed_in_at = Some(now);
    });
    ctx.session.rotate_id();
    tracing::info!("signed in with a DfE Identity account");
}

/// Where someone just signed in to their account goes: back to the service when they may go now, else on.
async fn onwards(state: &AppState, ctx: &RequestContext, or: &'static str) -> HandlerResult {
    if or != routes::CONTINUE {
        return Ok(Redirect::to(or).into_response());
    }
    if let Some(news) = super::account_record::look_up_at_sign_in(state, ctx).await? {
        return Ok(Redirect::to(news).into_response());
    }
    match super::provider::return_if_ready(state, ctx, "account_sign_in").await? {
        Some(back) => Ok(back),
        None => Ok(Redirect::to(routes::CONTINUE).into_response()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    intent: String,
}

/// `POST /account-sign-in/email`: sends a passcode to the email typed, whatever it is, and asks for it.
pub async fn submit_email(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<EmailForm>,
) -> HandlerResult {
    let mut journey = journey_at(&ctx, AccountStep::Email)?;
    let back = |error: FieldError| {
        back_with(
            &ctx,
            FormId::AccountEmail,
            &[
                (EMAIL_FIELD, &form.email, 254),
                ("intent", &form.intent, 10),
            ],
            vec![error],
            routes::ACCOUNT_SIGN_IN_EMAIL,
        )
    };
    let email = AccountEmail::parse(&form.email).map_err(|p| back(p.field_error(EMAIL_FIELD)))?;
    let target = PasscodeTarget::Email(email.clone());
    match send_passcode(&state, client, &target, PasscodePurpose::SignIn).await {
        Ok(()) => {}
        Err(NotSent::Limited(window)) => return Err(back(too_many_codes(EMAIL_FIELD, window))),
        Err(NotSent::Store(e)) => return Err(e),
    }
    journey.intent = Intent::parse(&form.intent);
    journey.email_sent(email);
    save(&ctx, journey);
    Ok(Redirect::to(routes::ACCOUNT_SIGN_IN_EMAIL_CODE).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub(super) code: String,
}

/// Back to a code page with its error and what was typed.
pub(super) fn code_error(
    ctx: &RequestContext,
    form: FormId,
    typed: &str,
    error: FieldError,
    to: &'static str,
) -> AppError {
    back_with(ctx, form, &[(CODE_FIELD, typed, 20)], vec![error], to)
}

/// `POST /account-sign-in/email/code`: the email's passcode. Right: an account with that email is signed in to
/// (seed 002 scenario 1: "you already have an account" for someone who chose to create one); without one, they
/// go on to create one.
pub async fn submit_email_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<CodeForm>,
) -> HandlerResult {
    let mut journey = journey_at(&ctx, AccountStep::EmailCode)?;
    let email = journey
        .email
        .clone()
        .ok_or(AppError::Elsewhere(routes::ACCOUNT_SIGN_IN_EMAIL))?;
    let target = PasscodeTarget::Email(email.clone());
    if let Err(error) = check_passcode(&state, &target, PasscodePurpose::SignIn, &form.code).await?
    {
        return Err(code_error(
            &ctx,
            FormId::AccountEmailCode,
            &form.code,
            error,
            routes::ACCOUNT_SIGN_IN_EMAIL_CODE,
        ));
    }
    let account = state
        .store
        .account_by_email(&email)
        .await
        .map_err(AppError::store("reading an account by email"))?;
    if let Some(account) = account {
        sign_in_to(&ctx, &account);
        let next = match journey.intent {
            Intent::Create => routes::ACCOUNT_SIGN_IN_YOU_HAVE_AN_ACCOUNT,
            Intent::SignIn => routes::CONTINUE,
        };
        return onwards(&state, &ctx, next).await;
    }
    journey.email_proven = true;
    let next = journey.resume_at();
    save(&ctx, journey);
    Ok(Redirect::to(next).into_response())
}

/// Sends a new passcode to the email, mobile or existing account's email of `step`'s code page; the old one stops
/// working. The page then says a new code was sent (or why not).
async fn resend(
    state: &AppState,
    ctx: &RequestContext,
    client: Option<IpAddr>,
    step: AccountStep,
) -> HandlerResult {
    let journey = journey_at(ctx, step)?;
    let (target, purpose, form, page) = match step {
        AccountStep::EmailCode => (
            journey.email.clone().map(PasscodeTarget::Email),
            PasscodePurpose::SignIn,
            FormId::AccountEmailCode,
            routes::ACCOUNT_SIGN_IN_EMAIL_CODE,
        ),
        AccountStep::MobileCode => (
            journey.mobile.clone().map(PasscodeTarget::Mobile),
            PasscodePurpose::NewAccount,
            FormId::AccountMobileCode,
            routes::ACCOUNT_SIGN_IN_MOBILE_CODE,
        ),
        _ => {
            let existing = existing_account(state, &journey).await?;
            (
                existing.map(|a| PasscodeTarget::Email(a.email)),
                PasscodePurpose::SignIn,
                FormId::AccountExistingCode,
                routes::ACCOUNT_SIGN_IN_EXISTING_CODE,
            )
        }
    };
    let Some(target) = target else {
        return Err(AppError::Elsewhere(journey.resume_at()));
    };
    let (values, errors) = match send_passcode(state, client, &target, purpose).await {
        Ok(()) => (
            BTreeMap::from([("resent".to_string(), "1".to_string())]),
            Vec::new(),
        ),
        Err(NotSent::Limited(window)) => {
            (BTreeMap::new(), vec![too_many_codes(CODE_FIELD, window)])
        }
        Err(NotSent::Store(e)) => return Err(e),
    };
    ctx.session.set_flash(Flash {
        form,
        values,
        errors,
    });
    Ok(Redirect::to(page).into_response())
}

/// `POST /account-sign-in/email/resend`.
pub async fn resend_email_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
) -> HandlerResult {
    resend(&state, &ctx, client, AccountStep::EmailCode).await
}

/// `POST /account-sign-in/mobile/resend`.
pub async fn resend_mobile_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
) -> HandlerResult {
    resend(&state, &ctx, client, AccountStep::MobileCode).await
}

/// `POST /account-sign-in/is-this-you/resend`.
pub async fn resend_existing_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
) -> HandlerResult {
    resend(&state, &ctx, client, AccountStep::ExistingCode).await
}

#[derive(Debug, Default, Deserialize)]
pub struct MobileForm {
    #[serde(default)]
    mobile: String,
    /// The "Continue without a mobile number" button.
    #[serde(default)]
    skip_mobile: String,
}

/// `POST /account-sign-in/mobile`: sends a passcode by text message to the mobile typed; or, with "Continue
/// without a mobile number", goes on without one when the service they came from allows it (the mobile page's
/// error, with what was typed, when it does not: only a forged form sends it then).
pub async fn submit_mobile(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<MobileForm>,
) -> HandlerResult {
    let mut journey = journey_at(&ctx, AccountStep::Mobile)?;
    let back = |error: FieldError| {
        back_with(
            &ctx,
            FormId::AccountMobile,
            &[(MOBILE_FIELD, &form.mobile, 100)],
            vec![error],
            routes::ACCOUNT_SIGN_IN_MOBILE,
        )
    };
    if !form.skip_mobile.is_empty() {
        let policy = ctx
            .session
            .lock()
            .data
            .live_client_request(Utc::now().timestamp())
            .map(|r| r.mobile)
            .unwrap_or_default();
        if let Err(error) = journey.skip_mobile(policy) {
            tracing::warn!("a skip of the mobile refused: the service needs one");
            return Err(back(error));
        }
        save(&ctx, journey);
        return Ok(Redirect::to(routes::ACCOUNT_SIGN_IN_NAME).into_response());
    }
    let mobile = Mobile::parse(&form.mobile).map_err(|p| back(p.field_error(MOBILE_FIELD)))?;
    let target = PasscodeTarget::Mobile(mobile.clone());
    match send_passcode(&state, client, &target, PasscodePurpose::NewAccount).await {
        Ok(()) => {}
        Err(NotSent::Limited(window)) => return Err(back(too_many_codes(MOBILE_FIELD, window))),
        Err(NotSent::Store(e)) => return Err(e),
    }
    journey.intent = Intent::Create;
    journey.mobile_sent(mobile);
    save(&ctx, journey);
    Ok(Redirect::to(routes::ACCOUNT_SIGN_IN_MOBILE_CODE).into_response())
}

/// `POST /account-sign-in/mobile/code`: the mobile's passcode. Right: an account with that mobile is signed in to
/// (seed 002 scenario 2, whatever email they proved); without one, they go on to their name.
pub async fn submit_mobile_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<CodeForm>,
) -> HandlerResult {
    let mut journey = journey_at(&ctx, AccountStep::MobileCode)?;
    let mobile = journey
        .mobile
        .clone()
        .ok_or(AppError::Elsewhere(routes::ACCOUNT_SIGN_IN_MOBILE))?;
    let target = PasscodeTarget::Mobile(mobile.clone());
    if let Err(error) =
        check_passcode(&state, &target, PasscodePurpose::NewAccount, &form.code).await?
    {
        return Err(code_error(
            &ctx,
            FormId::AccountMobileCode,
            &form.code,
            error,
            routes::ACCOUNT_SIGN_IN_MOBILE_CODE,
        ));
    }
    let account = state
        .store
        .account_by_mobile(&mobile)
        .await
        .map_err(AppError::store("reading an account by mobile"))?;
    if let Some(account) = account {
        sign_in_to(&ctx, &account);
        return Ok(Redirect::to(routes::ACCOUNT_SIGN_IN_YOU_HAVE_AN_ACCOUNT).into_response());
    }
    journey.mobile_proven = true;
    let next = journey.resume_at();
    save(&ctx, journey);
    Ok(Redirect::to(next).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    preferred_name: String,
}

/// The name form's answers checked, or back to `to` with the errors of `form` and what was typed.
pub(super) fn name_from(
    ctx: &RequestContext,
    form: &NameForm,
    form_id: FormId,
    to: &'static str,
) -> Result<app::domain::account::AccountName, AppError> {
    let input = NameInput {
        first: form.first_name.clone(),
        last: form.last_name.clone(),
        preferred: form.preferred_name.clone(),
    };
    parse_name(&input).map_err(|errors| {
        back_with(
            ctx,
            form_id,
            &[
                (FIRST_NAME_FIELD, &form.first_name, MAX_NAME_CHARS),
                (LAST_NAME_FIELD, &form.last_name, MAX_NAME_CHARS),
                (PREFERRED_NAME_FIELD, &form.preferred_name, MAX_NAME_CHARS),
            ],
            errors,
            to,
        )
    })
}

/// `POST /account-sign-in/name`.
pub async fn submit_name(
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<NameForm>,
) -> HandlerResult {
    let mut journey = journey_at(&ctx, AccountStep::Name)?;
    let name = name_from(
        &ctx,
        &form,
        FormId::AccountName,
        routes::ACCOUNT_SIGN_IN_NAME,
    )?;
    journey.name = Some(name);
    save(&ctx, journey);
    Ok(Redirect::to(routes::ACCOUNT_SIGN_IN_DATE_OF_BIRTH).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct DateOfBirthForm {
    #[serde(default, rename = "dob-day")]
    day: String,
    #[serde(default, rename = "dob-month")]
    month: String,
    #[serde(default, rename = "dob-year")]
    year: String,
}

/// The date of birth typed, a day in the past, or back to `to` with the error and what was typed.
pub(super) fn date_of_birth_from(
    ctx: &RequestContext,
    form: &DateOfBirthForm,
    form_id: FormId,
    to: &'static str,
) -> Result<chrono::NaiveDate, AppError> {
    let today = app::domain::uk_time::uk_time(Utc::now()).date_naive();
    parse_past_date(&form.day, &form.month, &form.year, today).map_err(|e| {
        back_with(
            ctx,
            form_id,
            &[
                (DOB_DAY_FIELD, &form.day, 10),
                (DOB_MONTH_FIELD, &form.month, 10),
                (DOB_YEAR_FIELD, &form.year, 10),
            ],
            vec![FieldError::new(DOB_DAY_FIELD, date_of_birth_message(e))],
            to,
        )
    })
}

/// `POST /account-sign-in/date-of-birth`: the last answer. An account with the same name and date of birth is
/// offered first (seed 002 scenario 3); otherwise the account is made.
pub async fn submit_date_of_birth(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<DateOfBirthForm>,
) -> HandlerResult {
    let mut journey = journey_at(&ctx, AccountStep::DateOfBirth)?;
    let date_of_birth = date_of_birth_from(
        &ctx,
        &form,
        FormId::AccountDateOfBirth,
        routes::ACCOUNT_SIGN_IN_DATE_OF_BIRTH,
    )?;
    journey.date_of_birth = Some(date_of_birth);
    let (Some(email), Some(name)) = (journey.email.clone(), journey.name.clone()) else {
        return Err(AppError::Elsewhere(journey.resume_at()));
    };
    let applicant = Applicant {
        email: &email,
        mobile: journey.mobile.as_ref(),
        name_and_date_of_birth: Some((&name.first, &name.last, date_of_birth)),
    };
    let found = state
        .store
        .possible_duplicates(&applicant)
        .await
        .map_err(AppError::store("looking for duplicate accounts"))?;
    match find_duplicate(&applicant, &found) {
        // Proven since, by someone else at the same moment: theirs is the account, as at the code pages.
        Some(Duplicate::SameEmail { user_id } | Duplicate::SameMobile { user_id }) => {
            if let Some(account) = found.iter().find(|a| a.user_id == user_id) {
                sign_in_to(&ctx, account);
                return Ok(
                    Redirect::to(routes::ACCOUNT_SIGN_IN_YOU_HAVE_AN_ACCOUNT).into_response()
                );
            }
        }
        Some(Duplicate::SameNameAndDateOfBirth {
            user_id,
            masked_email,
        }) if journey.declined != Some(user_id) => {
            journey.existing = Some(ExistingAccount {
                user_id,
                masked_email,
                code_sent: false,
            });
            save(&ctx, journey);
            return Ok(Redirect::to(routes::ACCOUNT_SIGN_IN_IS_THIS_YOU).into_response());
        }
        _ => {}
    }
    create(&state, &ctx, journey).await
}

/// Makes the account from `journey` and signs in to it: "account created". If another account took the email or
/// mobile meanwhile (both proven by this person), that one is theirs.
async fn create(state: &AppState, ctx: &RequestContext, journey: AccountJourney) -> HandlerResult {
    let (Some(email), Some(name), Some(date_of_birth)) = (
        journey.email.clone(),
        journey.name.clone(),
        journey.date_of_birth,
    ) else {
        return Err(AppError::Elsewhere(journey.resume_at()));
    };
    let new = NewAccount {
        email,
        mobile: journey.mobile.clone(),
        name,
        date_of_birth,
    };
    let made = state
        .store
        .create_account(&new, Utc::now())
        .await
        .map_err(AppError::store("creating an account"))?;
    let account = match made {
        Ok(account) => {
            tracing::info!("DfE Identity account created");
            sign_in_to(ctx, &account);
            return Ok(Redirect::to(routes::ACCOUNT_SIGN_IN_CREATED).into_response());
        }
        Err(Taken::Email) => state.store.account_by_email(&new.email).await,
        Err(Taken::Mobile) => match &new.mobile {
            Some(mobile) => state.store.account_by_mobile(mobile).await,
            None => Ok(None),
        },
    }
    .map_err(AppError::store(
        "reading the account that took an email or mobile",
    ))?;
    match account {
        Some(account) => {
            sign_in_to(ctx, &account);
            Ok(Redirect::to(routes::ACCOUNT_SIGN_IN_YOU_HAVE_AN_ACCOUNT).into_response())
        }
        None => Err(AppError::unavailable("creating an account")),
    }
}

/// Scenario 3's account, read afresh (its email is never kept in the session).
async fn existing_account(
    state: &AppState,
    journey: &AccountJourney,
) -> Result<Option<Account>, AppError> {
    let Some(existing) = &journey.existing else {
        return Ok(None);
    };
    state
        .store
        .account(existing.user_id)
        .await
        .map_err(AppError::store("reading an existing account"))
}

#[derive(Debug, Default, Deserialize)]
pub struct IsThisYouForm {
    #[serde(default)]
    is_this_you: String,
}

/// `POST /account-sign-in/is-this-you`: yes sends a passcode to that account's email; no makes the new account.
pub async fn submit_is_this_you(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<IsThisYouForm>,
) -> HandlerResult {
    let mut journey = journey_at(&ctx, AccountStep::IsThisYou)?;
    let back = |error: FieldError| {
        back_with(
            &ctx,
            FormId::AccountIsThisYou,
            &[(IS_THIS_YOU_FIELD, &form.is_this_you, 5)],
            vec![error],
            routes::ACCOUNT_SIGN_IN_IS_THIS_YOU,
        )
    };
    match form.is_this_you.as_str() {
        "yes" => {
            let Some(account) = existing_account(&state, &journey).await? else {
                // Gone since (merged or removed): carry on creating theirs.
                journey.existing = None;
                return create(&state, &ctx, journey).await;
            };
            let target = PasscodeTarget::Email(account.email);
            match send_passcode(&state, client, &target, PasscodePurpose::SignIn).await {
                Ok(()) => {}
                Err(NotSent::Limited(window)) => {
                    return Err(back(too_many_codes(IS_THIS_YOU_FIELD, window)))
                }
                Err(NotSent::Store(e)) => return Err(e),
            }
            if let Some(existing) = journey.existing.as_mut() {
                existing.code_sent = true;
            }
            save(&ctx, journey);
            Ok(Redirect::to(routes::ACCOUNT_SIGN_IN_EXISTING_CODE).into_response())
        }
        "no" => {
            journey.declined = journey.existing.take().map(|e| e.user_id);
            create(&state, &ctx, journey).await
        }
        _ => Err(back(FieldError::new(
            IS_THIS_YOU_FIELD,
            "Select yes if this is your account",
        ))),
    }
}

/// `POST /account-sign-in/is-this-you/code`: the passcode sent to the existing account's email signs in to that
/// account; the email they proved first is not kept.
pub async fn submit_existing_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<CodeForm>,
) -> HandlerResult {
    let journey = journey_at(&ctx, AccountStep::ExistingCode)?;
    let Some(account) = existing_account(&state, &journey).await? else {
        return Err(AppError::Elsewhere(routes::ACCOUNT_SIGN_IN_IS_THIS_YOU));
    };
    let target = PasscodeTarget::Email(account.email.clone());
    if let Err(error) = check_passcode(&state, &target, PasscodePurpose::SignIn, &form.code).await?
    {
        return Err(code_error(
            &ctx,
            FormId::AccountExistingCode,
            &form.code,
            error,
            routes::ACCOUNT_SIGN_IN_EXISTING_CODE,
        ));
    }
    sign_in_to(&ctx, &account);
    onwards(&state, &ctx, routes::CONTINUE).await
}
