//! "TRN in use" (DESIGN §7.3, issue 13 §3 and §6): the forms after the record questions found a record another
//! person in Teacher ID holds. The rules are `app::domain::account_merge`'s; the passcodes are the account sign-in's
//! ([`super::account_sign_in`]); the merge is [`crate::db::account_records::AccountRecordStore::merge_users`].
//!
//! 1. `/account/trn-in-use/start` reads who holds the record (afresh, never from the session alone) and keeps
//!    where the code would go, partly hidden, as the flow's progress; the page shows it.
//! 2. "Can you access this email address?" Yes → a passcode to the holder's email (their account's, else the One
//!    Login email on file); no → an account-record-matching support task flagged "TRN in use", then the waiting
//!    page.
//! 3. The right code proves the two are one person. When both have an account they choose which email to keep;
//!    otherwise (the holder signs in with One Login only) the account simply joins the holder.
//! 4. The merge keeps the holder (the person connected to the record, whose id services already know) and moves
//!    the account holder's account, tasks, codes and tokens to them; it is audited and added to the record's
//!    history by the store, and the kept email is told. This browser is then the kept person's, in a new session
//!    (the merge ends every session of the person who went), and goes on to the service or the record.
//!
//! Whatever changed meanwhile (the holder is someone else now, or nobody) starts the flow again or sends the person
//! back through `/continue`; a merge the store refuses becomes a support task, as "cannot access" does.

use super::account_sign_in::{
    back_with, check_passcode, code_error, send_passcode, CodeForm, NotSent,
};
use super::client_addr::ClientAddress;
use super::error::{AppError, HandlerResult};
use crate::db::account_records::{KeepAccount, MergedBy, TrnHolder};
use crate::db::connect::NewSupportTask;
use crate::db::support::NewEmail;
use crate::state::AppState;
use app::domain::account::journey::{too_many_codes, CODE_FIELD};
use app::domain::account::{Account, AccountEmail, PasscodePurpose, PasscodeTarget};
use app::domain::account_merge::{
    merged_personalisation, parse_access, parse_keep_email, EmailAccess, EmailChoices, KeepEmail,
    MergeProgress, MergeStep, ACCESS_FIELD, KEEP_EMAIL_FIELD,
};
use app::domain::account_record::TrnInUse;
use app::domain::matching::SupportFlag;
use app::domain::support::EmailTemplate;
use app::domain::task_details::{AccountRecordMatchingDetails, TaskDetails};
use app::forms::FormId;
use app::routes;
use app::ssr::{IdentityStatus, RequestContext, SignedInUser, WayIn};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use chrono::Utc;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The flow's server routes (its pages are the Leptos router's).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(routes::ACCOUNT_TRN_IN_USE_START, get(start))
        .route(routes::ACCOUNT_TRN_IN_USE, post(submit_access))
        .route(routes::ACCOUNT_TRN_IN_USE_CODE, post(submit_code))
        .route(routes::ACCOUNT_TRN_IN_USE_RESEND, post(resend_code))
        .route(
            routes::ACCOUNT_TRN_IN_USE_CHOOSE_EMAIL,
            post(submit_keep_email),
        )
}

/// Someone who may be in the flow: signed in with an account, with a record another person holds.
struct Asking {
    user: SignedInUser,
    trn_in_use: TrnInUse,
}

/// The person in the flow, or where they belong: signed out → sign in; not an account, or no TRN in use →
/// `/continue`.
fn asking(ctx: &RequestContext) -> Result<Asking, AppError> {
    let (user, trn_in_use) = {
        let state = ctx.session.lock();
        (state.data.user.clone(), state.data.trn_in_use.clone())
    };
    let user = user.ok_or(AppError::Elsewhere(routes::SIGN_IN))?;
    match trn_in_use {
        Some(trn_in_use) if user.is_account() => Ok(Asking { user, trn_in_use }),
        _ => Err(AppError::Elsewhere(routes::CONTINUE)),
    }
}

/// The flow's progress for this person and TRN, if it has begun and may be at `step`; else where to go.
fn progress_at(ctx: &RequestContext, step: MergeStep) -> Result<(Asking, MergeProgress), AppError> {
    let asking = asking(ctx)?;
    let progress = ctx
        .session
        .lock()
        .data
        .account_merge
        .clone()
        .filter(|p| p.is_for(asking.user.user_id, &asking.trn_in_use.trn))
        .ok_or(AppError::Elsewhere(routes::ACCOUNT_TRN_IN_USE_START))?;
    match progress.redirect_for(step) {
        Some(to) => Err(AppError::Elsewhere(to)),
        None => Ok((asking, progress)),
    }
}

fn save(ctx: &RequestContext, progress: MergeProgress) {
    ctx.session
        .update(|data| data.account_merge = Some(progress));
}

/// Leaves the flow: neither its state nor the TRN in use is kept.
fn leave(ctx: &RequestContext) {
    ctx.session.update(|data| {
        data.trn_in_use = None;
        data.account_merge = None;
    });
}

/// Who holds the record now, if it is still the person the flow began with. Anyone else (or nobody) means the flow
/// is out of date: it starts again, or the person goes back through `/continue`.
async fn same_holder(
    state: &AppState,
    ctx: &RequestContext,
    asking: &Asking,
    progress: &MergeProgress,
) -> Result<TrnHolder, AppError> {
    let holder = state
        .store
        .trn_holder(&asking.trn_in_use.trn, asking.user.user_id)
        .await
        .map_err(AppError::store("reading who holds a record"))?;
    match holder {
        Some(holder) if holder.user_id == progress.holder_user_id => Ok(holder),
        Some(_) => {
            tracing::info!(
                "the record's holder changed during the TRN-in-use flow; starting again"
            );
            ctx.session.update(|data| data.account_merge = None);
            Err(AppError::Elsewhere(routes::ACCOUNT_TRN_IN_USE_START))
        }
        None => {
            tracing::info!("the record is no longer held by another person");
            leave(ctx);
            Err(AppError::Elsewhere(routes::CONTINUE))
        }
    }
}

/// `GET /account/trn-in-use/start`: reads who holds the record and begins the flow's progress (the page cannot
/// read the database itself), then shows the page. Progress already made with the same holder is kept.
pub async fn start(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> HandlerResult {
    let asking = asking(&ctx)?;
    let holder = state
        .store
        .trn_holder(&asking.trn_in_use.trn, asking.user.user_id)
        .await
        .map_err(AppError::store("reading who holds a record"))?;
    let Some(holder) = holder else {
        // Nobody else holds it (any more): the record questions' look-up will find it for them now.
        leave(&ctx);
        return Ok(Redirect::to(routes::CONTINUE).into_response());
    };
    let holder_account = state
        .store
        .account(holder.user_id)
        .await
        .map_err(AppError::store("reading the holder's account"))?;
    // Begun already for this person, TRN and holder: kept as it is, so that following a link here (from
    // anywhere) never undoes a code sent or proven.
    let current = ctx.session.lock().data.account_merge.clone();
    if current.is_some_and(|p| {
        p.is_for(asking.user.user_id, &asking.trn_in_use.trn) && p.holder_user_id == holder.user_id
    }) {
        return Ok(Redirect::to(routes::ACCOUNT_TRN_IN_USE).into_response());
    }
    let masked_email = AccountEmail::parse(&holder.email).ok().map(|e| e.masked());
    if masked_email.is_none() {
        tracing::warn!("the record's holder has no email a passcode can go to");
    }
    save(
        &ctx,
        MergeProgress {
            user_id: asking.user.user_id,
            trn: asking.trn_in_use.trn,
            holder_user_id: holder.user_id,
            masked_email,
            holder_one_login: holder.one_login,
            holder_has_account: holder_account.is_some(),
            code_sent: false,
            proven: false,
            choices: None,
        },
    );
    Ok(Redirect::to(routes::ACCOUNT_TRN_IN_USE).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct AccessForm {
    #[serde(default)]
    access: String,
}

/// `POST /account/trn-in-use`: yes sends a passcode to the holder's email; no asks support.
pub async fn submit_access(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<AccessForm>,
) -> HandlerResult {
    let (asking, mut progress) = progress_at(&ctx, MergeStep::TrnInUse)?;
    let back = |error| {
        back_with(
            &ctx,
            FormId::AccountTrnInUse,
            &[(ACCESS_FIELD, &form.access, 5)],
            vec![error],
            routes::ACCOUNT_TRN_IN_USE,
        )
    };
    // An email that cannot take a code leaves support as the only way on, whatever was chosen.
    let access = match progress.masked_email {
        Some(_) => parse_access(&form.access).map_err(back)?,
        None => EmailAccess::No,
    };
    match access {
        EmailAccess::No => {
            ask_support(&state, &ctx, &asking, "cannot access the holder's email").await
        }
        EmailAccess::Yes => {
            let holder = same_holder(&state, &ctx, &asking, &progress).await?;
            send_to_holder(&state, client, &holder)
                .await
                .map_err(|e| e.into_error(back, ACCESS_FIELD))?;
            progress.code_sent = true;
            save(&ctx, progress);
            Ok(Redirect::to(routes::ACCOUNT_TRN_IN_USE_CODE).into_response())
        }
    }
}

/// Why a code did not go to the holder.
enum NotSentToHolder {
    NotSent(NotSent),
    /// The email on file is not one a passcode can go to (checked when the flow began, so only if it changed).
    NoEmail,
}

impl NotSentToHolder {
    /// The form's error (on `field`) or the request's.
    fn into_error(
        self,
        back: impl FnOnce(app::domain::validation::FieldError) -> AppError,
        field: &str,
    ) -> AppError {
        match self {
            Self::NotSent(NotSent::Limited(window)) => back(too_many_codes(field, window)),
            Self::NotSent(NotSent::Store(e)) => e,
            Self::NoEmail => AppError::Elsewhere(routes::ACCOUNT_TRN_IN_USE_START),
        }
    }
}

/// Sends a passcode to the holder's email as it is now, with the sign-in purpose: the code proves the same as
/// signing in to that email would.
async fn send_to_holder(
    state: &AppState,
    client: Option<IpAddr>,
    holder: &TrnHolder,
) -> Result<(), NotSentToHolder> {
    let email = AccountEmail::parse(&holder.email).map_err(|_| NotSentToHolder::NoEmail)?;
    send_passcode(
        state,
        client,
        &PasscodeTarget::Email(email),
        PasscodePurpose::SignIn,
    )
    .await
    .map_err(NotSentToHolder::NotSent)
}

/// `POST /account/trn-in-use/resend`: a new code to the holder's email; the old one stops working.
pub async fn resend_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
) -> HandlerResult {
    let (asking, progress) = progress_at(&ctx, MergeStep::Code)?;
    let holder = same_holder(&state, &ctx, &asking, &progress).await?;
    let (values, errors) = match send_to_holder(&state, client, &holder).await {
        Ok(()) => (
            BTreeMap::from([("resent".to_string(), "1".to_string())]),
            Vec::new(),
        ),
        Err(NotSentToHolder::NotSent(NotSent::Limited(window))) => {
            (BTreeMap::new(), vec![too_many_codes(CODE_FIELD, window)])
        }
        Err(other) => return Err(other.into_error(|_| AppError::BadRequest, CODE_FIELD)),
    };
    ctx.session.set_flash(app::ssr::Flash {
        form: FormId::AccountTrnInUseCode,
        values,
        errors,
    });
    Ok(Redirect::to(routes::ACCOUNT_TRN_IN_USE_CODE).into_response())
}

/// `POST /account/trn-in-use/code`: the right code proves the two are one person; then they choose an email (both
/// have an account) or are merged now.
pub async fn submit_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<CodeForm>,
) -> HandlerResult {
    let (asking, mut progress) = progress_at(&ctx, MergeStep::Code)?;
    let holder = same_holder(&state, &ctx, &asking, &progress).await?;
    let email = AccountEmail::parse(&holder.email)
        .map_err(|_| AppError::Elsewhere(routes::ACCOUNT_TRN_IN_USE_START))?;
    let target = PasscodeTarget::Email(email);
    if let Err(error) = check_passcode(&state, &target, PasscodePurpose::SignIn, &form.code).await?
    {
        return Err(code_error(
            &ctx,
            FormId::AccountTrnInUseCode,
            &form.code,
            error,
            routes::ACCOUNT_TRN_IN_USE_CODE,
        ));
    }
    tracing::info!("the holder's email was proven in the TRN-in-use flow");
    progress.proven = true;
    if progress.holder_has_account {
        let holders = state
            .store
            .account(holder.user_id)
            .await
            .map_err(AppError::store("reading the holder's account"))?;
        let mine = state
            .store
            .account(asking.user.user_id)
            .await
            .map_err(AppError::store("reading the asking account"))?;
        if let (Some(holders), Some(mine)) = (holders, mine) {
            progress.choices = Some(EmailChoices {
                holders: holders.email.address().to_string(),
                mine: mine.email.address().to_string(),
            });
            save(&ctx, progress);
            return Ok(Redirect::to(routes::ACCOUNT_TRN_IN_USE_CHOOSE_EMAIL).into_response());
        }
        // The holder's account went since the flow began (only One Login is left): nothing to choose.
        progress.holder_has_account = false;
    }
    save(&ctx, progress.clone());
    merge(&state, &ctx, &asking, &progress, KeepAccount::Gone).await
}

#[derive(Debug, Default, Deserialize)]
pub struct KeepEmailForm {
    #[serde(default)]
    keep_email: String,
}

/// `POST /account/trn-in-use/choose-email`: which account's email (and mobile) the merged person keeps.
pub async fn submit_keep_email(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<KeepEmailForm>,
) -> HandlerResult {
    let (asking, progress) = progress_at(&ctx, MergeStep::ChooseEmail)?;
    let keep = parse_keep_email(&form.keep_email).map_err(|error| {
        back_with(
            &ctx,
            FormId::AccountKeepEmail,
            &[(KEEP_EMAIL_FIELD, &form.keep_email, 10)],
            vec![error],
            routes::ACCOUNT_TRN_IN_USE_CHOOSE_EMAIL,
        )
    })?;
    // The holder is kept as a person; `KeepAccount` says whose account row stays.
    let account = match keep {
        KeepEmail::Holders => KeepAccount::Kept,
        KeepEmail::Mine => KeepAccount::Gone,
    };
    merge(&state, &ctx, &asking, &progress, account).await
}

/// Merges the asking person into the holder, tells the kept email, signs this browser in as the kept person and
/// sends them on.
async fn merge(
    state: &AppState,
    ctx: &RequestContext,
    asking: &Asking,
    progress: &MergeProgress,
    account: KeepAccount,
) -> HandlerResult {
    let holder = same_holder(state, ctx, asking, progress).await?;
    let now = Utc::now();
    let merged = state
        .store
        .merge_users(
            holder.user_id,
            asking.user.user_id,
            account,
            MergedBy::Person,
            now,
        )
        .await
        .map_err(AppError::store("merging two people"))?;
    let report = match merged {
        Ok(report) => report,
        Err(refused) => {
            tracing::warn!(?refused, "a TRN-in-use merge was refused; asking support");
            return ask_support(state, ctx, asking, "merge refused").await;
        }
    };
    tracing::info!(
        tasks_moved = report.tasks_moved,
        sessions_ended = report.sessions_ended,
        "merged two people after the holder's email was proven"
    );
    let kept = state
        .store
        .account(holder.user_id)
        .await
        .map_err(AppError::store("reading the merged account"))?
        .ok_or(AppError::unavailable("reading the merged account"))?;
    tell_kept_email(state, &kept, holder.one_login, now).await;
    sign_in_as_kept(ctx, &kept);
    match super::provider::return_if_ready(state, ctx, "account_merge").await? {
        Some(back) => Ok(back),
        None => Ok(Redirect::to(routes::CONTINUE).into_response()),
    }
}

/// Queues "your sign-ins have been combined" to the kept account's email. The merge is done whatever happens here,
/// so a failure is logged, not shown.
async fn tell_kept_email(
    state: &AppState,
    kept: &Account,
    one_login: bool,
    now: chrono::DateTime<Utc>,
) {
    let name = kept.name.preferred.as_deref().unwrap_or(&kept.name.first);
    let email = NewEmail {
        reference: format!("accounts-merged-{}", uuid::Uuid::new_v4()),
        template: EmailTemplate::AccountsMerged.as_str().to_string(),
        email_address: kept.email.address().to_string(),
        personalisation: merged_personalisation(name, one_login, kept.email.address()),
        task_reference: None,
    };
    match state.store.queue_email(&email, now).await {
        Ok(()) => state.outbox_wake.notify_one(),
        Err(e) => tracing::error!(error = %e, "could not queue the merged-accounts email"),
    }
}

/// This browser, signed in as the kept person with their account, in a new session: the merge ended the asking
/// person's sessions (this one among them), and a sign-in changes privilege anyway. The service's request and
/// anything else the session kept come along; the flow's state and the record questions' answers do not.
fn sign_in_as_kept(ctx: &RequestContext, kept: &Account) {
    let mut data = ctx.session.lock().data.clone();
    data.user = Some(SignedInUser {
        user_id: kept.user_id,
        way_in: WayIn::Account {
            account_id: kept.user_id,
        },
        email: None,
        identity: IdentityStatus::Unverified,
    });
    data.trn_in_use = None;
    data.account_merge = None;
    data.account_record = None;
    data.flash = None;
    data.signed_in_at = Some(Utc::now().timestamp());
    ctx.session.end();
    ctx.session.update(|fresh| *fresh = data);
}

/// An account-record-matching task for support (flagged "TRN in use", with the answers that found the record),
/// then the service if it lets them go meanwhile, else the waiting page. `why` is for the log.
async fn ask_support(
    state: &AppState,
    ctx: &RequestContext,
    asking: &Asking,
    why: &'static str,
) -> HandlerResult {
    let account = state
        .store
        .account(asking.user.user_id)
        .await
        .map_err(AppError::store("reading the asking account"))?
        .ok_or(AppError::Elsewhere(routes::CONTINUE))?;
    let task = NewSupportTask {
        user_id: account.user_id,
        details: TaskDetails::AccountRecordMatching(AccountRecordMatchingDetails::of(
            &account,
            asking.trn_in_use.answers.clone(),
            [SupportFlag::TrnInUse].into(),
        )),
        client_id: super::connect::came_from(ctx),
    };
    state
        .store
        .raise_support_task(&task, Utc::now())
        .await
        .map_err(AppError::store("raising a TRN-in-use support task"))?;
    tracing::info!(why, "TRN in use: support task raised");
    leave(ctx);
    match super::provider::return_if_ready(state, ctx, "account_merge").await? {
        Some(back) => Ok(back),
        None => Ok(Redirect::to(routes::REQUEST_PENDING).into_response()),
    }
}
