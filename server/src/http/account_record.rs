//! Finding a DfE Identity account holder's teaching record (DESIGN §7.3, issue 13 §3): the forms' handlers. The
//! questions are the connect journey's, parsed, echoed back and rate-limited by its code; the answers wait in the
//! session ([`AccountRecordJourney`]) until check answers, whose form runs
//! [`look_up_account_record`] once.
//!
//! What the look-up came to:
//! - found → "We found your teaching record" (and the TRN they typed, when it is not the record's), then the
//!   service or their record;
//! - not found → the account-record-matching support task, and the waiting page (`/request-pending`), where a
//!   `trn = optional` service lets them go back meanwhile (`trn_lookup_status = pending`) and a `trn = required`
//!   one waits (`domain::provider::may_return`);
//! - support said there is no record → a page that says so;
//! - held by another person → the TRN-in-use flow ([`routes::ACCOUNT_TRN_IN_USE`]) with `SessionData::trn_in_use`.
//!
//! **Again at each sign-in** ([`look_up_at_sign_in`]): while their task is open, an account holder signing in is
//! looked up again with the answers the task keeps (`AccountRecordMatchingDetails::answers`). The task is the one
//! place the answers are kept, rather than a copy on the account: it is what support reads and decides on, it
//! exists exactly while there is something to look up again (support's decision closes it, and "no TRN" stops
//! the look-ups), and a re-look-up that finds nothing gives the same task back.

use super::client_addr::ClientAddress;
use super::connect::{
    came_from, count_attempt, identifier_flash, itt_flash, parse_itt_now, set_identifier, IttForm,
    KeptAnswers, NinoForm, TrnForm,
};
use super::error::{AppError, HandlerResult};
use crate::account_record_lookup::{look_up_account_record, AccountRecord};
use crate::db::account_records::AccountLookup;
use crate::state::AppState;
use app::domain::account_record::{typed_trn_differs, AccountAnswers, TrnInUse};
use app::domain::account_record_journey::{
    AccountRecordJourney, LookedUp, RecordFound, RecordStep,
};
use app::domain::journey::{Answer, IdentifierInput, Position, Question};
use app::domain::task_details::TaskDetails;
use app::routes;
use app::ssr::{RequestContext, SignedInUser};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use chrono::Utc;
use std::net::IpAddr;

/// The account holder finding their record (no record, no support task open), with their answers so far: what
/// every handler starts from. Anyone else goes where they belong.
async fn finding(
    state: &AppState,
    ctx: &RequestContext,
) -> Result<(AccountRecordJourney, SignedInUser), AppError> {
    match super::connect::position(state, ctx).await? {
        (Position::AccountNotConnected, Some(user)) => {
            let journey = ctx.session.lock().data.account_record.clone();
            Ok((journey.unwrap_or_default(), user))
        }
        (position, _) => Err(AppError::Elsewhere(
            position.home().unwrap_or(routes::CONTINUE),
        )),
    }
}

fn save(ctx: &RequestContext, journey: AccountRecordJourney) {
    ctx.session
        .update(|data| data.account_record = Some(journey));
}

/// `page`, or `page` in its "change" form (from check answers), to go back to with an error.
fn page_for(page: &'static str, change: bool) -> String {
    if change {
        format!("{page}?change=1")
    } else {
        page.to_string()
    }
}

impl KeptAnswers for AccountRecordJourney {
    fn try_again(&mut self) -> &mut Option<String> {
        &mut self.try_again
    }
    fn keep(self, data: &mut app::ssr::SessionData) {
        data.account_record = Some(self);
    }
    const TOO_MANY_ATTEMPTS: &'static str = routes::ACCOUNT_FIND_RECORD_TOO_MANY_ATTEMPTS;
}

/// The National Insurance number and TRN questions: validate, count, keep, on to the next unanswered question
/// (or check answers).
async fn answer_identifier(
    state: &AppState,
    ctx: &RequestContext,
    client: Option<IpAddr>,
    question: Question,
    (input, change): (IdentifierInput, bool),
) -> HandlerResult {
    let (mut journey, user) = finding(state, ctx).await?;
    let (step, page) = match question {
        Question::Nino => (RecordStep::Nino, routes::ACCOUNT_FIND_RECORD_NINO),
        Question::Trn => (RecordStep::Trn, routes::ACCOUNT_FIND_RECORD_TRN),
    };
    if let Some(to) = journey.redirect_for(step) {
        return Err(AppError::Elsewhere(to));
    }
    let answers = &mut journey.answers;
    let typed =
        set_identifier(question, &input, &mut answers.nino, &mut answers.trn).map_err(|error| {
            AppError::form(
                &ctx.session,
                identifier_flash(question, &input, error),
                page_for(page, change),
            )
        })?;
    if typed {
        count_attempt(
            state,
            ctx,
            &user,
            client,
            &mut journey,
            question.value_field(),
        )
        .await?;
    }
    let next = journey.resume_at();
    save(ctx, journey);
    Ok(Redirect::to(next).into_response())
}

/// `POST /account/find-your-record/nino`: "Do you know your National Insurance number?".
pub async fn answer_nino(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<NinoForm>,
) -> HandlerResult {
    answer_identifier(&state, &ctx, client, Question::Nino, form.input()).await
}

/// `POST /account/find-your-record/trn`: "Do you know your TRN?".
pub async fn answer_trn(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<TrnForm>,
) -> HandlerResult {
    answer_identifier(&state, &ctx, client, Question::Trn, form.input()).await
}

/// `POST /account/find-your-record/qts`: "Have you been awarded QTS?" and, if so, the ITT provider and year.
/// Asked of every account holder: an account's name and date of birth were only typed, so unlike One Login's
/// journey there is no look-alike record to decide whether it applies (the policy decides whether it counts).
pub async fn answer_qts(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<IttForm>,
) -> HandlerResult {
    let (mut journey, user) = finding(&state, &ctx).await?;
    if let Some(to) = journey.redirect_for(RecordStep::Qts) {
        return Err(AppError::Elsewhere(to));
    }
    let (input, change) = form.input();
    let answer = parse_itt_now(&input).map_err(|errors| {
        AppError::form(
            &ctx.session,
            itt_flash(&input, errors),
            page_for(routes::ACCOUNT_FIND_RECORD_QTS, change),
        )
    })?;
    let typed = matches!(answer, Answer::Yes(_));
    journey.answers.itt = Some(answer);
    if typed {
        count_attempt(&state, &ctx, &user, client, &mut journey, "itt").await?;
    }
    let next = journey.resume_at();
    save(&ctx, journey);
    Ok(Redirect::to(next).into_response())
}

/// `POST /account/find-your-record/check-answers`: looks the record up with the answers and shows what it came to.
pub async fn look_up(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> HandlerResult {
    let (journey, user) = finding(&state, &ctx).await?;
    if !journey.answered() {
        return Err(AppError::Elsewhere(journey.resume_at()));
    }
    let to = look_up_and_show(&state, &ctx, &user, journey.answers).await?;
    Ok(Redirect::to(to).into_response())
}

/// Looks up the record of `user`'s account with `answers`, keeps in the session what the next page shows, and
/// says which page that is.
async fn look_up_and_show(
    state: &AppState,
    ctx: &RequestContext,
    user: &SignedInUser,
    answers: AccountAnswers,
) -> Result<&'static str, AppError> {
    let account = state
        .store
        .account(user.user_id)
        .await
        .map_err(AppError::store("reading an account"))?
        .ok_or_else(|| {
            tracing::error!("an account session without its account");
            AppError::unavailable("reading an account")
        })?;
    let looked_up =
        look_up_account_record(&state.store, &account, &answers, came_from(ctx), Utc::now())
            .await
            .map_err(AppError::store("looking up an account's record"))?;
    let kind = match &looked_up {
        AccountRecord::Found { .. } => "found",
        AccountRecord::AlreadyFound { .. } => "already found",
        AccountRecord::NoTrn => "no trn",
        AccountRecord::TrnInUse { .. } => "trn in use",
        AccountRecord::SupportTask { .. } => "support task",
    };
    tracing::info!(outcome = kind, "account record looked up");
    let (outcome, to) = match looked_up {
        AccountRecord::Found {
            trn,
            typed_trn_differs,
        } => (
            Some(LookedUp::Found(RecordFound {
                trn,
                typed_trn_differs,
            })),
            routes::ACCOUNT_RECORD_FOUND,
        ),
        // Support assigned it (perhaps while they answered): the same page, with what they typed checked.
        AccountRecord::AlreadyFound { trn } => (
            Some(LookedUp::Found(RecordFound {
                typed_trn_differs: typed_trn_differs(answers.trn(), &trn),
                trn,
            })),
            routes::ACCOUNT_RECORD_FOUND,
        ),
        AccountRecord::NoTrn => (Some(LookedUp::NoTrn), routes::ACCOUNT_NO_RECORD),
        AccountRecord::TrnInUse { trn, .. } => {
            ctx.session.update(|data| {
                data.account_record = None;
                data.trn_in_use = Some(TrnInUse {
                    trn,
                    answers: answers.clone(),
                });
            });
            return Ok(routes::ACCOUNT_TRN_IN_USE);
        }
        AccountRecord::SupportTask { .. } => (None, routes::REQUEST_PENDING),
    };
    ctx.session.update(|data| {
        data.account_record = outcome.map(|looked_up| AccountRecordJourney {
            answers,
            try_again: None,
            looked_up: Some(looked_up),
        })
    });
    Ok(to)
}

/// Looks an account holder up again as they sign in (module docs): `Some(page)` when there is news to show them
/// (found, held by another person, or support's "no TRN"); `None` to carry on as before (still looking, found
/// before, or never asked).
pub(super) async fn look_up_at_sign_in(
    state: &AppState,
    ctx: &RequestContext,
) -> Result<Option<&'static str>, AppError> {
    let Some(user) = ctx.session.user().filter(SignedInUser::is_account) else {
        return Ok(None);
    };
    let Some(open) = state
        .store
        .open_task_for_user(user.user_id)
        .await
        .map_err(AppError::store("reading an open task"))?
    else {
        // Support may have said there is no record since they last signed in: tell them, rather than ask again.
        let lookup = state
            .store
            .account_lookup(user.user_id)
            .await
            .map_err(AppError::store("reading an account's look-up"))?;
        if lookup != AccountLookup::NoTrn {
            return Ok(None);
        }
        save(
            ctx,
            AccountRecordJourney {
                looked_up: Some(LookedUp::NoTrn),
                ..AccountRecordJourney::default()
            },
        );
        return Ok(Some(routes::ACCOUNT_NO_RECORD));
    };
    let task = state
        .store
        .task_by_reference(&open.reference)
        .await
        .map_err(AppError::store("reading an open task"))?;
    let Some(TaskDetails::AccountRecordMatching(details)) = task.map(|t| t.details) else {
        return Ok(None);
    };
    let to = look_up_and_show(state, ctx, &user, details.answers).await?;
    Ok((to != routes::REQUEST_PENDING).then_some(to))
}
