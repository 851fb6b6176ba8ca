//! The connect journey's server side (DESIGN §4–5): `/continue` decides where a signed-in person goes and tries
//! the automatic match; the National Insurance number and TRN forms match again with what was typed; "Get support"
//! raises a record-matching support task. Pages never say why there was no match (no page reveals whether some
//! other record exists): a possible duplicate, a namesake and "nothing found" all read the same.

use super::client_addr::{rate_limit_key, ClientAddress};
use crate::db::connect::{ConnectResult, NewSupportTask, TaskKind};
use crate::db::{DynStore, StoreError};
use crate::state::AppState;
use app::domain::identity::VerifiedIdentity;
use app::domain::journey::{
    parse_nino_answer, parse_trn_answer, try_again_in, Answer, ConnectAnswers, IdentifierInput,
    Position, Question, MAX_IDENTIFIER_INPUT,
};
use app::domain::matching::{match_records, Evidence, MatchOutcome};
use app::domain::validation::truncate_chars;
use app::ssr::{
    BoxFuture, DataUnavailable, Flash, IdentityStatus, OpenTask, RequestContext, SignedInUser,
    TeacherData, TeacherFacts,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// The pages' view of the database.
pub struct StoreTeacherData(pub DynStore);

fn unavailable(e: StoreError) -> DataUnavailable {
    tracing::error!(error = %e, "could not read the teacher's record or task");
    DataUnavailable
}

impl TeacherData for StoreTeacherData {
    fn facts(&self, user_id: i64) -> BoxFuture<'_, Result<TeacherFacts, DataUnavailable>> {
        Box::pin(async move {
            let record = self
                .0
                .connected_record(user_id)
                .await
                .map_err(unavailable)?;
            let open_task = match record {
                Some(_) => None,
                None => self
                    .0
                    .open_task_for_user(user_id)
                    .await
                    .map_err(unavailable)?
                    .map(|t| OpenTask {
                        reference: t.reference,
                        requested_at: t.created_at,
                    }),
            };
            let verified_identity = self
                .0
                .user_by_id(user_id)
                .await
                .map_err(unavailable)?
                .and_then(|user| user.verification);
            Ok(TeacherFacts {
                record,
                open_task,
                verified_identity,
            })
        })
    }
}

pub(super) fn service_unavailable() -> Response {
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

/// Where this person stands (`None` when the database could not say; it has logged why).
pub(super) async fn position(
    state: &AppState,
    ctx: &RequestContext,
) -> Option<(Position, Option<SignedInUser>)> {
    let data = StoreTeacherData(state.store.clone());
    let (position, user, _) = app::ssr::position(&ctx.session, &data).await.ok()?;
    Some((position, user))
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
    if let MatchOutcome::Connect { trn, via } = &outcome {
        match state
            .store
            .connect_user(user.user_id, trn, *via, one_login_email(user), Utc::now())
            .await?
        {
            ConnectResult::Connected => {
                tracing::info!(via = ?via, candidates = candidates.len(), "connected to a teaching record");
                return Ok(true);
            }
            // Someone else connected first, between the search and the write: treat as "connected elsewhere".
            ConnectResult::RecordTaken | ConnectResult::UnknownRecord => {
                answers.flag = Some(
                    app::domain::matching::SupportFlag::AlreadyConnected
                        .as_str()
                        .into(),
                );
                return Ok(false);
            }
        }
    }
    answers.flag = outcome.support_flag().map(|f| f.as_str().to_string());
    tracing::info!(
        flag = answers.flag.as_deref().unwrap_or("none"),
        candidates = candidates.len(),
        "not connected"
    );
    Ok(false)
}

/// `GET /continue`: where a signed-in person goes next. A verified person who is not yet connected is matched
/// automatically here, with what One Login gave us and nothing typed.
pub async fn continue_journey(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Response {
    let Some((position, user)) = position(&state, &ctx).await else {
        return service_unavailable();
    };
    if let Some(home) = position.home() {
        return Redirect::to(home).into_response();
    }
    let (Position::Answering(mut answers), Some(user)) = (position, user) else {
        return service_unavailable();
    };
    if answers.nino.is_some() {
        // Back in the middle of the questions: carry on where they were.
        return Redirect::to(answers.resume_at()).into_response();
    }
    match try_to_connect(&state, &user, &mut answers).await {
        Ok(true) => Redirect::to("/connected").into_response(),
        Ok(false) => {
            ctx.session.update(|data| data.connect = Some(answers));
            Redirect::to("/connect").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "automatic matching failed");
            service_unavailable()
        }
    }
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

/// The SHA-256 of a rate-limit key, so no client address is stored.
fn key_hash(key: &str) -> String {
    super::assets::hex(&Sha256::digest(key.as_bytes()))
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
            &key_hash(&format!("user:{user_id}")),
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
                &key_hash(&format!("address:{}", rate_limit_key(client))),
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
) -> Response {
    let Some((position, user)) = position(state, ctx).await else {
        return service_unavailable();
    };
    if let Some(home) = position.home() {
        return Redirect::to(home).into_response();
    }
    let (Position::Answering(mut answers), Some(user)) = (position, user) else {
        return service_unavailable();
    };
    let (form, page) = match question {
        Question::Nino => ("connect-nino", "/connect/nino"),
        Question::Trn => ("connect-trn", "/connect/trn"),
    };
    let back_with_errors = |error| {
        ctx.session.set_flash(Flash {
            form: form.into(),
            // Shown back, never more than a form field's worth (issue 10 §4: a megabyte typed is not kept).
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
        });
        let to = if change {
            format!("{page}?change=1")
        } else {
            page.to_string()
        };
        Redirect::to(&to).into_response()
    };
    let typed_something = match question {
        Question::Nino => match parse_nino_answer(&input) {
            Ok(a) => {
                let typed = matches!(a, Answer::Yes(_));
                answers.nino = Some(a);
                typed
            }
            Err(e) => return back_with_errors(e),
        },
        Question::Trn => match parse_trn_answer(&input) {
            Ok(a) => {
                let typed = matches!(a, Answer::Yes(_));
                answers.trn = Some(a);
                typed
            }
            Err(e) => return back_with_errors(e),
        },
    };
    if typed_something {
        match rate_limited(state, user.user_id, client).await {
            Ok(None) => answers.try_again = None,
            Ok(Some(when)) => {
                tracing::warn!(question = ?question, "connect attempts rate-limited");
                answers.try_again = Some(when);
                ctx.session.update(|data| data.connect = Some(answers));
                return Redirect::to("/connect/too-many-attempts").into_response();
            }
            Err(e) => {
                tracing::error!(error = %e, "could not count an attempt");
                return service_unavailable();
            }
        }
    }
    let connected = match try_to_connect(state, &user, &mut answers).await {
        Ok(connected) => connected,
        Err(e) => {
            tracing::error!(error = %e, "matching failed");
            return service_unavailable();
        }
    };
    let next = if connected {
        "/connected"
    } else if answers.trn.is_none() {
        "/connect/trn"
    } else if change {
        "/connect/check-answers"
    } else {
        "/connect/not-found"
    };
    ctx.session
        .update(|data| data.connect = (!connected).then_some(answers));
    Redirect::to(next).into_response()
}

/// `POST /connect/nino`.
pub async fn answer_nino(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<NinoForm>,
) -> Response {
    let input = IdentifierInput {
        choice: form.has_nino,
        value: form.nino,
    };
    answer(
        &state,
        &ctx,
        client,
        Question::Nino,
        input,
        form.change == "1",
    )
    .await
}

/// `POST /connect/trn`.
pub async fn answer_trn(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<TrnForm>,
) -> Response {
    let input = IdentifierInput {
        choice: form.has_trn,
        value: form.trn,
    };
    answer(
        &state,
        &ctx,
        client,
        Question::Trn,
        input,
        form.change == "1",
    )
    .await
}

/// `POST /connect/support`: raises a record-matching support task with everything we know, once.
pub async fn request_support(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Response {
    let Some((position, user)) = position(&state, &ctx).await else {
        return service_unavailable();
    };
    // A repeated submit, after the task exists, lands on the confirmation again.
    if position == Position::AwaitingSupport {
        return Redirect::to("/connect/support-requested").into_response();
    }
    if let Some(home) = position.home() {
        return Redirect::to(home).into_response();
    }
    let (Position::Answering(answers), Some(user)) = (&position, &user) else {
        return service_unavailable();
    };
    let Some(identity) = verified_identity(user) else {
        return service_unavailable();
    };
    let name = identity
        .current_name()
        .map(|n| n.full_name())
        .unwrap_or_default();
    let details = serde_json::json!({
        "verified": identity,
        "one_login_email": user.email,
        "nino": answers.nino.as_ref().and_then(|a| a.value()).map(|n| n.as_str()),
        "trn": answers.trn.as_ref().and_then(|a| a.value()).map(|t| t.as_str()),
    });
    let task = NewSupportTask {
        user_id: user.user_id,
        kind: TaskKind::RecordMatching,
        requester_name: &name,
        requester_email: one_login_email(user),
        details,
        flag: answers.flag.as_deref(),
        trn: answers
            .trn
            .as_ref()
            .and_then(|a| a.value())
            .map(|t| t.as_str()),
    };
    raise_task(&state, &ctx, &task, |data| data.connect = None).await
}

/// Raises `task` (once, however often it is submitted), clears the journey's state with `clear`, and shows the
/// confirmation.
pub(super) async fn raise_task(
    state: &AppState,
    ctx: &RequestContext,
    task: &NewSupportTask<'_>,
    clear: impl FnOnce(&mut app::ssr::SessionData),
) -> Response {
    match state.store.raise_support_task(task, Utc::now()).await {
        Ok(_) => {
            tracing::info!(
                kind = task.kind.as_str(),
                flag = task.flag.unwrap_or("none"),
                "support task raised"
            );
            ctx.session.update(clear);
            Redirect::to("/connect/support-requested").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "could not raise a support task");
            service_unavailable()
        }
    }
}
