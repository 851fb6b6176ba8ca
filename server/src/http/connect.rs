//! The connect journey's server side (DESIGN §4–5): `/continue` decides where a signed-in person goes and tries
//! the automatic match; the National Insurance number and TRN forms match again with what was typed; "Get support"
//! raises a record-matching support task. Pages never say why there was no match (no page reveals whether some
//! other record exists): a possible duplicate, a namesake and "nothing found" all read the same.

use super::client_addr::{rate_limit_key, ClientAddress};
use super::error::{AppError, HandlerResult};
use crate::db::connect::{ConnectResult, NewSupportTask, Redemption};
use crate::db::{DynStore, StoreError};
use crate::metrics::MatchingOutcome;
use crate::state::AppState;
use app::domain::identity::VerifiedIdentity;
use app::domain::journey::{
    parse_itt_answer, parse_nino_answer, parse_trn_answer, try_again_in, Answer, ConnectAnswers,
    IdentifierInput, IttInput, Position, Question, ITT_PROVIDER_FIELD, MAX_IDENTIFIER_INPUT,
    MAX_PROVIDER_CHARS, QTS_CHOICE_FIELD, QTS_YEAR_FIELD,
};
use app::domain::matching::{
    match_records, third_question_applies, Evidence, MatchOutcome, SupportFlag,
};
use app::domain::task_details::{RecordMatchingDetails, TaskDetails};
use app::domain::trn_tokens::may_redeem;
use app::domain::validation::{echo_limit, truncate_chars};
use app::forms::FormId;
use app::routes;
use app::ssr::{
    BoxFuture, DataUnavailable, Flash, IdentityStatus, OpenTask, RequestContext, SignedInUser,
    TeacherData, TeacherFacts,
};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use chrono::{Datelike, Utc};
use serde::Deserialize;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The pages' view of the database, with the cached ITT providers.
pub struct StoreTeacherData(pub DynStore, pub Arc<ProviderCache>);

/// How long the ITT providers are kept before they are read again: the list changes only when records are
/// loaded, and reading it scans every ITT line.
const PROVIDERS_KEPT_FOR: Duration = Duration::from_secs(600);

/// The records' ITT providers, read at most once per [`PROVIDERS_KEPT_FOR`] (one reader at a time, so a burst of
/// page views reads the database once).
#[derive(Default)]
pub struct ProviderCache(tokio::sync::Mutex<Option<(Instant, Arc<Vec<String>>)>>);

impl ProviderCache {
    pub async fn get(&self, store: &DynStore) -> Result<Arc<Vec<String>>, StoreError> {
        let mut cached = self.0.lock().await;
        if let Some((read_at, providers)) = cached.as_ref() {
            if read_at.elapsed() < PROVIDERS_KEPT_FOR {
                return Ok(providers.clone());
            }
        }
        let providers = Arc::new(store.itt_providers().await?);
        *cached = Some((Instant::now(), providers.clone()));
        Ok(providers)
    }
}

impl TeacherData for StoreTeacherData {
    fn facts(&self, user_id: i64) -> BoxFuture<'_, Result<TeacherFacts, DataUnavailable>> {
        Box::pin(async move {
            // Read on every page a signed-in teacher sees: one query (two more for a connected record).
            let standing = self
                .0
                .teacher_standing(user_id)
                .await
                .map_err(DataUnavailable::from)?;
            Ok(match standing {
                Some(standing) => TeacherFacts {
                    record: standing.record,
                    open_task: standing.open_task.map(|t| OpenTask {
                        reference: t.reference,
                        requested_at: t.created_at,
                    }),
                    verified_identity: standing.user.verification,
                },
                None => TeacherFacts::default(),
            })
        })
    }

    fn itt_providers(&self) -> BoxFuture<'_, Result<Arc<Vec<String>>, DataUnavailable>> {
        Box::pin(async move { self.1.get(&self.0).await.map_err(DataUnavailable::from) })
    }

    fn account(
        &self,
        user_id: i64,
    ) -> BoxFuture<'_, Result<Option<app::domain::account::Account>, DataUnavailable>> {
        Box::pin(async move { self.0.account(user_id).await.map_err(DataUnavailable::from) })
    }
}

/// Where this person stands.
pub(super) async fn position(
    state: &AppState,
    ctx: &RequestContext,
) -> Result<(Position, Option<SignedInUser>), AppError> {
    let data = StoreTeacherData(state.store.clone(), state.itt_providers.clone());
    let (position, user, _) = app::ssr::position(&ctx.session, &data).await?;
    Ok((position, user))
}

/// The person answering the connect questions, with their answers so far: what every question handler and
/// `/continue` start from. Anyone else belongs at their [`Position::home`].
async fn answering(
    state: &AppState,
    ctx: &RequestContext,
) -> Result<(ConnectAnswers, SignedInUser), AppError> {
    let (position, user) = position(state, ctx).await?;
    answering_at(position, user)
}

/// [`answering`] for a position already worked out.
fn answering_at(
    position: Position,
    user: Option<SignedInUser>,
) -> Result<(ConnectAnswers, SignedInUser), AppError> {
    match (position, user) {
        (Position::Answering(answers), Some(user)) => Ok((answers, user)),
        (position, _) => Err(match position.home() {
            Some(home) => AppError::Elsewhere(home),
            // Answering without a signed-in person: a session that cannot be.
            None => {
                tracing::error!("answering the questions without a signed-in person");
                AppError::unavailable("reading the session")
            }
        }),
    }
}

/// Answers to the record questions kept in the session while a person answers them: the connect journey's and a
/// DfE Identity account holder's. They count attempts against the same limits ([`count_attempt`]).
pub(super) trait KeptAnswers: Clone {
    /// When a rate-limited person may try again ("in an hour").
    fn try_again(&mut self) -> &mut Option<String>;
    /// Puts these answers back in the session.
    fn keep(self, data: &mut app::ssr::SessionData);
    /// The page that says they have tried too many times.
    const TOO_MANY_ATTEMPTS: &'static str;
}

impl KeptAnswers for ConnectAnswers {
    fn try_again(&mut self) -> &mut Option<String> {
        &mut self.try_again
    }
    fn keep(self, data: &mut app::ssr::SessionData) {
        data.connect = Some(self);
    }
    const TOO_MANY_ATTEMPTS: &'static str = routes::CONNECT_TOO_MANY_ATTEMPTS;
}

/// Counts an attempt for `user` against the limits ([`rate_limited`]) and notes in `answers` when they may try
/// again if it was over one (else clears it): `Err` then sends them to the too-many-attempts page, `answers` kept.
/// `question` names the question in the log ("nino", "trn", "itt"), never the answer.
pub(super) async fn count_attempt<A: KeptAnswers>(
    state: &AppState,
    ctx: &RequestContext,
    user: &SignedInUser,
    client: Option<IpAddr>,
    answers: &mut A,
    question: &'static str,
) -> Result<(), AppError> {
    let limited = rate_limited(state, user.user_id, client)
        .await
        .map_err(AppError::store("counting an attempt"))?;
    let stopped = limited.is_some();
    *answers.try_again() = limited;
    if stopped {
        tracing::warn!(question, "record question attempts rate-limited");
        let answers = answers.clone();
        ctx.session.update(|data| answers.keep(data));
        return Err(AppError::Elsewhere(A::TOO_MANY_ATTEMPTS));
    }
    Ok(())
}

/// The One Login email to record with a connection or a support request: blank when One Login has not verified
/// it, since we keep no other.
pub(super) fn one_login_email(user: &SignedInUser) -> &str {
    user.email.as_ref().map_or("", |e| e.as_str())
}

fn verified_identity(user: &SignedInUser) -> Option<&VerifiedIdentity> {
    match &user.identity {
        IdentityStatus::Verified(identity) => Some(identity),
        _ => None,
    }
}

fn evidence_for(user: &SignedInUser, answers: &ConnectAnswers) -> Option<Evidence> {
    let mut evidence = Evidence::from_identity(verified_identity(user)?, user.email.as_ref());
    evidence.nino = answers.nino.as_ref().and_then(|a| a.value().cloned());
    evidence.trn = answers.trn.as_ref().and_then(|a| a.value().cloned());
    evidence.itt = answers.itt.as_ref().and_then(|a| a.value().cloned());
    Some(evidence)
}

/// Runs the matching policy for `user` with `answers`; connects on a match. `Ok(true)` when connected.
async fn try_to_connect(
    state: &AppState,
    user: &SignedInUser,
    answers: &mut ConnectAnswers,
) -> Result<bool, StoreError> {
    let Some(evidence) = evidence_for(user, answers) else {
        return Ok(false);
    };
    let candidates = state.store.find_candidates(&evidence, user.user_id).await?;
    let outcome = match_records(&evidence, &candidates);
    answers.third_question = third_question_applies(&evidence, &candidates);
    if let MatchOutcome::Connect { trn, via } = &outcome {
        match state
            .store
            .connect_user(user.user_id, trn, *via, one_login_email(user), Utc::now())
            .await?
        {
            ConnectResult::Connected => {
                tracing::info!(via = ?via, candidates = candidates.len(), "connected to a teaching record");
                crate::metrics::matching(MatchingOutcome::Connected);
                return Ok(true);
            }
            // Someone else connected first, between the search and the write: treat as "connected elsewhere".
            ConnectResult::RecordTaken | ConnectResult::UnknownRecord => {
                crate::metrics::matching(MatchingOutcome::RecordTaken);
                answers.flags.insert(SupportFlag::AlreadyConnected);
                return Ok(false);
            }
        }
    }
    // Every flag raised on the way is kept: a later question that finds nothing does not clear an earlier doubt.
    let flag = outcome.support_flag();
    answers.flags.extend(flag);
    crate::metrics::matching(MatchingOutcome::from(&outcome));
    tracing::info!(
        flag = flag.map_or("none", SupportFlag::as_str),
        candidates = candidates.len(),
        "not connected"
    );
    Ok(false)
}

/// Redeems the TRN token kept in the session (DESIGN §7.2), for a verified `user` not yet connected: when
/// [`may_redeem`] allows, they are connected to the token's record without questions and the token is used. Once
/// decided, the token leaves the session either way (it has had its chance; otherwise the normal journey runs and
/// it stays unused); a storage failure leaves it there for the next try. A token that cannot be used is never
/// explained to the teacher: the log says why, without the token.
pub(crate) async fn redeem_trn_token(
    state: &AppState,
    ctx: &RequestContext,
    user: &SignedInUser,
) -> Result<bool, StoreError> {
    let Some(token) = ctx.session.lock().data.trn_token.clone() else {
        return Ok(false);
    };
    let Some(identity) = verified_identity(user) else {
        return Ok(false);
    };
    let connected = try_trn_token(state, user, identity, &token).await?;
    ctx.session.update(|data| data.trn_token = None);
    Ok(connected)
}

/// [`redeem_trn_token`]'s decision and, when it allows, the redemption.
async fn try_trn_token(
    state: &AppState,
    user: &SignedInUser,
    identity: &VerifiedIdentity,
    token: &str,
) -> Result<bool, StoreError> {
    let now = Utc::now();
    let hash = super::assets::sha256_hex(token);
    let Some(stored) = state.store.trn_token(&hash).await? else {
        tracing::info!(reason = "unknown", "TRN token not redeemed");
        return Ok(false);
    };
    let Some(record) = state.store.record_by_trn(&stored.trn).await? else {
        tracing::warn!(reason = "no such record", "TRN token not redeemed");
        return Ok(false);
    };
    let someone_else = state
        .store
        .connected_user_of(&record.trn)
        .await?
        .is_some_and(|other| other != user.user_id);
    if let Err(refusal) = may_redeem(&stored, &record, someone_else, identity, now) {
        tracing::info!(reason = ?refusal, "TRN token not redeemed");
        return Ok(false);
    }
    match state
        .store
        .redeem_trn_token(&hash, user.user_id, one_login_email(user), now)
        .await?
    {
        Redemption::Connected => {
            tracing::info!("connected to a teaching record with a TRN token");
            crate::metrics::matching(MatchingOutcome::Connected);
            Ok(true)
        }
        // Used, or the record taken, between the check and the write.
        other => {
            tracing::info!(reason = ?other, "TRN token not redeemed");
            Ok(false)
        }
    }
}

/// `GET /continue`: where a signed-in person goes next. A verified person who is not yet connected is connected
/// here by a TRN token they brought (DESIGN §7.2), or else matched automatically, with what One Login gave us and
/// nothing typed.
pub async fn continue_journey(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> HandlerResult {
    let (position, user) = position(&state, &ctx).await?;
    // Before anything else, even in the middle of the questions or while support looks for their record: the
    // token makes both unnecessary (the store closes the open task).
    if let (Position::Answering(_) | Position::AwaitingSupport, Some(user)) = (&position, &user) {
        if redeem_trn_token(&state, &ctx, user)
            .await
            .map_err(AppError::store("redeeming a TRN token"))?
        {
            ctx.session.update(|data| data.connect = None);
            return Ok(Redirect::to(routes::CONNECTED).into_response());
        }
    }
    let (mut answers, user) = answering_at(position, user)?;
    if answers.nino.is_some() {
        // Back in the middle of the questions: carry on where they were.
        return Ok(Redirect::to(answers.resume_at()).into_response());
    }
    if try_to_connect(&state, &user, &mut answers)
        .await
        .map_err(AppError::store("matching automatically"))?
    {
        return Ok(Redirect::to(routes::CONNECTED).into_response());
    }
    ctx.session.update(|data| data.connect = Some(answers));
    Ok(Redirect::to(routes::CONNECT).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct NinoForm {
    #[serde(default)]
    has_nino: String,
    #[serde(default)]
    nino: String,
    #[serde(default)]
    change: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct TrnForm {
    #[serde(default)]
    has_trn: String,
    #[serde(default)]
    trn: String,
    #[serde(default)]
    change: String,
}

impl NinoForm {
    /// The answer as posted, and whether they came from check answers to change it.
    pub(super) fn input(self) -> (IdentifierInput, bool) {
        let input = IdentifierInput {
            choice: self.has_nino,
            value: self.nino,
        };
        (input, self.change == "1")
    }
}

impl TrnForm {
    /// The answer as posted, and whether they came from check answers to change it.
    pub(super) fn input(self) -> (IdentifierInput, bool) {
        let input = IdentifierInput {
            choice: self.has_trn,
            value: self.trn,
        };
        (input, self.change == "1")
    }
}

/// Validates `question`'s answer and stores it in `nino` or `trn`: `Ok(true)` when something was typed (an attempt
/// to count), or the form's error.
pub(super) fn set_identifier(
    question: Question,
    input: &IdentifierInput,
    nino: &mut Option<Answer<app::domain::validation::Nino>>,
    trn: &mut Option<Answer<app::domain::validation::Trn>>,
) -> Result<bool, app::domain::validation::FieldError> {
    Ok(match question {
        Question::Nino => {
            let answer = parse_nino_answer(input)?;
            let typed = matches!(answer, Answer::Yes(_));
            *nino = Some(answer);
            typed
        }
        Question::Trn => {
            let answer = parse_trn_answer(input)?;
            let typed = matches!(answer, Answer::Yes(_));
            *trn = Some(answer);
            typed
        }
    })
}

/// The flash that takes a NINO or TRN answer with an error back to its page: what was typed, never more than a
/// form field's worth (issue 10 §4: a megabyte typed is not kept).
pub(super) fn identifier_flash(
    question: Question,
    input: &IdentifierInput,
    error: app::domain::validation::FieldError,
) -> Flash {
    Flash {
        form: match question {
            Question::Nino => FormId::ConnectNino,
            Question::Trn => FormId::ConnectTrn,
        },
        values: [
            (
                question.choice_field().to_string(),
                truncate_chars(&input.choice, 10),
            ),
            (
                question.value_field().to_string(),
                truncate_chars(&input.value, MAX_IDENTIFIER_INPUT),
            ),
        ]
        .into_iter()
        .collect(),
        errors: vec![error],
    }
}

/// The flash that takes the third question's answer with its errors back to its page (each value a field's worth
/// at most).
pub(super) fn itt_flash(
    input: &IttInput,
    errors: Vec<app::domain::validation::FieldError>,
) -> Flash {
    Flash {
        form: FormId::ConnectItt,
        values: [
            (QTS_CHOICE_FIELD, truncate_chars(&input.qts, 10)),
            (
                ITT_PROVIDER_FIELD,
                truncate_chars(&input.provider, echo_limit(MAX_PROVIDER_CHARS)),
            ),
            (QTS_YEAR_FIELD, truncate_chars(&input.year, 20)),
        ]
        .into_iter()
        .map(|(field, value)| (field.to_string(), value))
        .collect(),
        errors,
    }
}

/// Counts an attempt against the user and the client address (see [`super::client_addr`]), with the configured
/// limits. `Some(when they may try again)` if either limit is now exceeded.
async fn rate_limited(
    state: &AppState,
    user_id: i64,
    client: Option<IpAddr>,
) -> Result<Option<String>, StoreError> {
    let now = Utc::now();
    let limits = state.config.rate_limits;
    let by_user = state
        .store
        .count_attempt(
            &super::assets::sha256_hex(&format!("user:{user_id}")),
            limits.user_window_seconds,
            now,
        )
        .await?;
    if by_user > limits.user_attempts {
        return Ok(Some(try_again_in(limits.user_window_seconds)));
    }
    if let Some(client) = client {
        let by_address = state
            .store
            .count_attempt(
                &super::assets::sha256_hex(&format!("address:{}", rate_limit_key(client))),
                limits.address_window_seconds,
                now,
            )
            .await?;
        if by_address > limits.address_attempts {
            return Ok(Some(try_again_in(limits.address_window_seconds)));
        }
    }
    Ok(None)
}

/// What the two question handlers share: check the person may answer, validate, limit, record, match, redirect.
async fn answer(
    state: &AppState,
    ctx: &RequestContext,
    client: Option<IpAddr>,
    question: Question,
    input: IdentifierInput,
    change: bool,
) -> HandlerResult {
    let (mut answers, user) = answering(state, ctx).await?;
    let page = match question {
        Question::Nino => routes::CONNECT_NINO,
        Question::Trn => routes::CONNECT_TRN,
    };
    let back_with_errors = |error| {
        let flash = identifier_flash(question, &input, error);
        let to = if change {
            format!("{page}?change=1")
        } else {
            page.to_string()
        };
        Err(AppError::form(&ctx.session, flash, to))
    };
    let typed_something =
        match set_identifier(question, &input, &mut answers.nino, &mut answers.trn) {
            Ok(typed) => typed,
            Err(e) => return back_with_errors(e),
        };
    if typed_something {
        count_attempt(
            state,
            ctx,
            &user,
            client,
            &mut answers,
            question.value_field(),
        )
        .await?;
    }
    let connected = try_to_connect(state, &user, &mut answers)
        .await
        .map_err(AppError::store("matching"))?;
    let next = if connected {
        routes::CONNECTED
    } else if answers.trn.is_none() {
        routes::CONNECT_TRN
    } else if answers.needs_third_question() {
        routes::CONNECT_ITT
    } else if change {
        routes::CONNECT_CHECK_ANSWERS
    } else {
        routes::CONNECT_NOT_FOUND
    };
    ctx.session
        .update(|data| data.connect = (!connected).then_some(answers));
    Ok(Redirect::to(next).into_response())
}

/// `POST /connect/nino`.
pub async fn answer_nino(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<NinoForm>,
) -> HandlerResult {
    let (input, change) = form.input();
    answer(&state, &ctx, client, Question::Nino, input, change).await
}

/// `POST /connect/trn`.
pub async fn answer_trn(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<TrnForm>,
) -> HandlerResult {
    let (input, change) = form.input();
    answer(&state, &ctx, client, Question::Trn, input, change).await
}

#[derive(Debug, Default, Deserialize)]
pub struct IttForm {
    #[serde(default)]
    has_qts: String,
    #[serde(default)]
    itt_provider: String,
    #[serde(default)]
    qts_year: String,
    #[serde(default)]
    change: String,
}

impl IttForm {
    /// The answer as posted, and whether they came from check answers to change it.
    pub(super) fn input(self) -> (IttInput, bool) {
        let input = IttInput {
            qts: self.has_qts,
            provider: self.itt_provider,
            year: self.qts_year,
        };
        (input, self.change == "1")
    }
}

/// The third question's answer, with this year (UK time) the latest QTS year accepted.
pub(super) fn parse_itt_now(
    input: &IttInput,
) -> Result<Answer<app::domain::matching::IttIdentifier>, Vec<app::domain::validation::FieldError>>
{
    parse_itt_answer(input, app::domain::uk_time::uk_time(Utc::now()).year())
}

/// `POST /connect/itt`: the third question (DESIGN §5). Only for someone it applies to (NINO and TRN answered
/// without a connection, exactly one active record agreeing with their names and date of birth); a provider and
/// year typed count against the same limits as a NINO or TRN.
pub async fn answer_itt(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<IttForm>,
) -> HandlerResult {
    let (mut answers, user) = answering(&state, &ctx).await?;
    if !answers.may_answer_third_question() {
        return Ok(Redirect::to(answers.resume_at()).into_response());
    }
    let (input, change) = form.input();
    let answer = match parse_itt_now(&input) {
        Ok(answer) => answer,
        Err(errors) => {
            let flash = itt_flash(&input, errors);
            let to = if change {
                "/connect/itt?change=1"
            } else {
                routes::CONNECT_ITT
            };
            return Err(AppError::form(&ctx.session, flash, to));
        }
    };
    let typed_something = matches!(answer, Answer::Yes(_));
    answers.itt = Some(answer);
    if typed_something {
        count_attempt(&state, &ctx, &user, client, &mut answers, "itt").await?;
    }
    let connected = try_to_connect(&state, &user, &mut answers)
        .await
        .map_err(AppError::store("matching"))?;
    let next = if connected {
        routes::CONNECTED
    } else if change {
        routes::CONNECT_CHECK_ANSWERS
    } else {
        routes::CONNECT_NOT_FOUND
    };
    ctx.session
        .update(|data| data.connect = (!connected).then_some(answers));
    Ok(Redirect::to(next).into_response())
}

/// `POST /connect/support`: raises a record-matching support task with everything we know, once.
pub async fn request_support(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> HandlerResult {
    let (position, user) = position(&state, &ctx).await?;
    // A repeated submit, after the task exists, lands on the confirmation again.
    if position == Position::AwaitingSupport {
        return Ok(Redirect::to(routes::CONNECT_SUPPORT_REQUESTED).into_response());
    }
    let (answers, user) = answering_at(position, user)?;
    let Some(identity) = verified_identity(&user) else {
        // Only a verified person is ever answering.
        tracing::error!("answering the questions without a verified identity");
        return Err(AppError::unavailable("reading the verified identity"));
    };
    let task = NewSupportTask {
        user_id: user.user_id,
        details: TaskDetails::RecordMatching(RecordMatchingDetails {
            verified: identity.clone(),
            one_login_email: user.email.clone(),
            nino: answers.nino.as_ref().and_then(|a| a.value()).cloned(),
            trn: answers.trn.as_ref().and_then(|a| a.value()).cloned(),
            flags: answers.flags.clone(),
            itt: answers.itt.clone(),
        }),
        client_id: came_from(&ctx),
    };
    raise_task(&state, &ctx, &task, |data| data.connect = None).await
}

/// The service whose request is kept (and still live) in the teacher's session: the one a support task raised now
/// came from, for the console (DESIGN §7.1). The same question the "Continue to <service>" button asks.
pub(super) fn came_from(ctx: &RequestContext) -> Option<String> {
    ctx.session
        .lock()
        .data
        .live_client_request(Utc::now().timestamp())
        .map(|request| request.client_id.clone())
}

/// Raises `task` (once, however often it is submitted), clears the journey's state with `clear`, and shows the
/// confirmation.
pub(super) async fn raise_task(
    state: &AppState,
    ctx: &RequestContext,
    task: &NewSupportTask,
    clear: impl FnOnce(&mut app::ssr::SessionData),
) -> HandlerResult {
    state
        .store
        .raise_support_task(task, Utc::now())
        .await
        .map_err(AppError::store("raising a support task"))?;
    tracing::info!(
        kind = task.details.kind().as_str(),
        flag = task.details.strongest_flag().map_or("none", |f| f.as_str()),
        "support task raised"
    );
    ctx.session.update(clear);
    Ok(Redirect::to(routes::CONNECT_SUPPORT_REQUESTED).into_response())
}
