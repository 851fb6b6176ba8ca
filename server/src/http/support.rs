//! The support console's form handlers and files (DESIGN §6): staff sign-in and out, assigning, saving and
//! deciding tasks (check, then confirm), proof of identity files, roles, and the live feed of new tasks. Every
//! handler checks the staff session and the member's current role itself: the pages hiding a button is never the
//! check.

use super::error::{AppError, HandlerResult};
use crate::console::{deactivated_message, personalisation, refusal_message, StoreConsole};
use crate::db::support::{NewEmail, TaskChangeRefused};
use crate::onelogin::Callback;
use crate::state::AppState;
use app::domain::support::{
    task_href, validate_decision, DecisionInput, EmailTemplate, Permission, Role, SignInKind,
    StaffMember, DASHBOARD_PATH,
};
use app::domain::FieldError;
use app::forms::FormId;
use app::ssr::{
    ChangeRefused, Flash, PendingDecision, RequestContext, SignedInStaff, SupportConsole,
};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use serde::Deserialize;
use std::collections::BTreeMap;

/// How long a sign-in at the staff identity provider may take: half an hour, shorter than a One Login round trip
/// ([`super::auth::ONE_LOGIN_ROUND_TRIP_SECONDS`]), which may include an identity check.
const STAFF_SIGN_IN_ROUND_TRIP_SECONDS: i64 = 1800;

pub const SIGN_IN_PATH: &str = app::routes::SUPPORT_SIGN_IN;

/// The signed-in member of staff, if their current role allows `what`: [`app::ssr::signed_in_staff`], the check
/// the console's server functions make too. Otherwise sign in first, or 403.
async fn signed_in_staff(
    state: &AppState,
    ctx: &RequestContext,
    what: Permission,
) -> Result<StaffMember, AppError> {
    Ok(app::ssr::signed_in_staff(&ctx.staff, &StoreConsole::new(state), what).await?)
}

/// The task with this reference, or 404.
async fn stored_task(
    state: &AppState,
    reference: &str,
) -> Result<crate::db::support::StoredTask, AppError> {
    state
        .store
        .task_by_reference(reference)
        .await
        .map_err(AppError::store("reading a support task"))?
        .ok_or(AppError::NotFound)
}

/// The dashboard list the officer last looked at (its filters, search, sort and page), to go back to.
fn task_list(ctx: &RequestContext) -> String {
    ctx.staff
        .lock()
        .data
        .last_task_list
        .as_ref()
        .map(app::domain::support::TaskQuery::href)
        .unwrap_or_else(|| DASHBOARD_PATH.to_string())
}

fn banner(ctx: &RequestContext, text: String) {
    ctx.staff.set_flash(Flash {
        form: FormId::SupportBanner,
        values: [("banner".to_string(), text)].into_iter().collect(),
        errors: vec![],
    });
}

/// A change the console refused: back to the task's decision form with why, or 404 for a task that is not there.
fn refused_on_task(
    ctx: &RequestContext,
    reference: &str,
    values: BTreeMap<String, String>,
    refused: ChangeRefused,
) -> AppError {
    match refused {
        ChangeRefused::NoSuchTask => AppError::NotFound,
        ChangeRefused::Field(error) => task_error(ctx, reference, values, error),
    }
}

/// Back to the task page with an error on the decision form (and what was typed).
fn task_error(
    ctx: &RequestContext,
    reference: &str,
    values: BTreeMap<String, String>,
    error: FieldError,
) -> AppError {
    AppError::form(
        &ctx.staff,
        Flash {
            form: FormId::Decision(reference.to_string()),
            values,
            errors: vec![error],
        },
        format!("{}#decision", task_href(reference)),
    )
}

/// `GET /support/sign-in`: to the staff identity provider.
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Response {
    if ctx.staff.lock().data.staff.is_some() {
        return Redirect::to(DASHBOARD_PATH).into_response();
    }
    match state.staff_oidc.authorize(Utc::now().timestamp()).await {
        Ok((url, pending)) => {
            ctx.staff.update(|d| d.pending_auth = Some(pending));
            Redirect::to(&url).into_response()
        }
        Err(e) => {
            tracing::warn!(reason = %e, "staff sign-in could not start");
            Redirect::to("/support/sign-in/problem").into_response()
        }
    }
}

/// `GET /support/auth/callback`: back from the identity provider.
pub async fn callback(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(callback): Query<Callback>,
) -> HandlerResult {
    let problem = |reason: &str| {
        tracing::warn!(reason, "staff sign-in refused");
        Ok(Redirect::to("/support/sign-in/problem").into_response())
    };
    let pending = match super::auth::take_pending_auth(
        &ctx.staff,
        callback.state.as_deref(),
        STAFF_SIGN_IN_ROUND_TRIP_SECONDS,
        Utc::now().timestamp(),
    ) {
        Ok(pending) => pending,
        Err(refused) => return problem(refused.reason()),
    };
    if callback.error.is_some() {
        return problem("the identity provider returned an error");
    }
    let Some(code) = callback.code.as_deref() else {
        return problem("no code");
    };
    let identity = match state.staff_oidc.complete(code, &pending).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(reason = %e, "staff sign-in failed");
            return Ok(Redirect::to("/support/sign-in/problem").into_response());
        }
    };
    let who = crate::db::support::StaffSignIn {
        subject: &identity.subject,
        tenant_id: &identity.tenant_id,
        object_id: &identity.object_id,
        email: &identity.email,
        email_verified: identity.email_verified,
        name: &identity.name,
    };
    let now = Utc::now();
    let staff = state
        .store
        .staff_signed_in(&who, now)
        .await
        .map_err(AppError::store("recording a staff sign-in"))?;
    state
        .store
        .audit_event(
            Some(staff.id),
            None,
            &crate::db::support::AuditEvent::SignedIn,
            now,
        )
        .await
        .map_err(AppError::store("auditing a staff sign-in"))?;
    ctx.staff.rotate_id();
    ctx.staff.update(|d| {
        d.staff = Some(SignedInStaff {
            staff_id: staff.id,
            name: staff.name.clone(),
        })
    });
    Ok(Redirect::to(DASHBOARD_PATH).into_response())
}

/// `POST /support/sign-out`.
pub async fn sign_out(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Response {
    let staff = ctx.staff.lock().data.staff.clone();
    if let Some(staff) = staff {
        if let Err(e) = state
            .store
            .audit_event(
                Some(staff.staff_id),
                None,
                &crate::db::support::AuditEvent::SignedOut,
                Utc::now(),
            )
            .await
        {
            tracing::error!(error = %e, "could not audit a staff sign-out");
        }
    }
    ctx.staff.end();
    Redirect::to("/support/signed-out").into_response()
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    version: String,
    /// `me`, `none`, or a member of staff's id.
    #[serde(default)]
    assignee: String,
}

/// `POST /support/tasks/{reference}/assign`.
pub async fn assign(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(reference): Path<String>,
    Form(form): Form<AssignForm>,
) -> HandlerResult {
    let me = signed_in_staff(&state, &ctx, Permission::WorkTasks).await?;
    let assignee = match form.assignee.as_str() {
        "me" => Some(me.id),
        "none" => None,
        other => match other.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                return Err(task_error(
                    &ctx,
                    &reference,
                    BTreeMap::new(),
                    FieldError::new("assignee", "Select who to assign the task to"),
                ));
            }
        },
    };
    let Ok(version) = form.version.parse::<i64>() else {
        return Err(task_error(
            &ctx,
            &reference,
            BTreeMap::new(),
            FieldError::new(
                "assignee",
                refusal_message(&TaskChangeRefused::Stale, None).1,
            ),
        ));
    };
    let me_id = me.id;
    StoreConsole::new(&state)
        .assign(reference.clone(), version, assignee, me)
        .await?
        .map_err(|refused| refused_on_task(&ctx, &reference, BTreeMap::new(), refused))?;
    banner(
        &ctx,
        match assignee {
            Some(id) if id == me_id => format!("Task {reference} is assigned to you"),
            Some(_) => format!("Task {reference} has been assigned"),
            None => format!("Task {reference} is no longer assigned"),
        },
    );
    Ok(Redirect::to(&task_href(&reference)).into_response())
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    version: String,
    /// `continue` (to the check page) or `save` (save and come back later).
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    trn: String,
    #[serde(default)]
    other_trn: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    reason_detail: String,
    #[serde(default)]
    reject_reason: String,
    #[serde(default)]
    reject_reason_detail: String,
    #[serde(default)]
    merge_email: String,
}

/// `POST /support/tasks/{reference}/decision`: check the decision, then show the check page; or save it.
pub async fn decision(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(reference): Path<String>,
    Form(form): Form<DecisionForm>,
) -> HandlerResult {
    let me = signed_in_staff(&state, &ctx, Permission::WorkTasks).await?;
    let input = DecisionInput {
        outcome: form.outcome,
        trn: form.trn,
        other_trn: form.other_trn,
        reason: form.reason,
        reason_detail: form.reason_detail,
        reject_reason: form.reject_reason,
        reject_reason_detail: form.reject_reason_detail,
        merge_email: form.merge_email,
    };
    let values = input.values();
    let task = stored_task(&state, &reference).await?;
    let Ok(version) = form.version.parse::<i64>() else {
        return Err(task_error(
            &ctx,
            &reference,
            values,
            FieldError::new(
                "outcome",
                refusal_message(&TaskChangeRefused::Stale, None).1,
            ),
        ));
    };
    if form.action == "save" {
        // Whatever has been chosen so far, even if incomplete: it is a draft. Only its length is limited.
        if input.reason_detail.chars().count() > app::domain::support::MAX_REASON_CHARS {
            return Err(task_error(
                &ctx,
                &reference,
                values,
                FieldError::new(
                    "reason_detail",
                    "The reason must be 1000 characters or fewer",
                ),
            ));
        }
        StoreConsole::new(&state)
            .save_draft(reference.clone(), version, input, me)
            .await?
            .map_err(|refused| refused_on_task(&ctx, &reference, values, refused))?;
        banner(
            &ctx,
            format!("Your progress on task {reference} has been saved"),
        );
        return Ok(Redirect::to(&task_list(&ctx)).into_response());
    }
    let decision = match validate_decision(task.kind, &input) {
        Ok(decision) => decision,
        Err(mut errors) => {
            return Err(task_error(&ctx, &reference, values, errors.remove(0)));
        }
    };
    if let app::domain::support::Decision::Connect { trn } = &decision {
        let field = if input.trn == app::domain::support::OTHER_TRN {
            "other_trn"
        } else {
            "trn"
        };
        match state
            .store
            .record_by_trn(trn)
            .await
            .map_err(AppError::store("reading the chosen record"))?
        {
            Some(record) if record.status == app::domain::records::RecordStatus::Deactivated => {
                return Err(task_error(
                    &ctx,
                    &reference,
                    values,
                    FieldError::new(field, deactivated_message(trn)),
                ));
            }
            Some(_) => {}
            None => {
                return Err(task_error(
                    &ctx,
                    &reference,
                    values,
                    FieldError::new(field, format!("There is no teaching record with TRN {trn}")),
                ));
            }
        }
    }
    ctx.staff.update(|d| {
        d.pending_decision = Some(PendingDecision {
            reference: reference.clone(),
            version,
            decision,
            input,
        })
    });
    Ok(Redirect::to(&format!("{}/check", task_href(&reference))).into_response())
}

/// `POST /support/tasks/{reference}/confirm`: make the decision checked on the check page.
pub async fn confirm(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(reference): Path<String>,
) -> HandlerResult {
    let me = signed_in_staff(&state, &ctx, Permission::WorkTasks).await?;
    let pending = ctx
        .staff
        .lock()
        .data
        .pending_decision
        .clone()
        .filter(|p| p.reference == reference);
    let Some(pending) = pending else {
        // A stale or replayed check page: nothing to confirm, so back to the task.
        return Ok(Redirect::to(&task_href(&reference)).into_response());
    };
    ctx.staff.update(|d| d.pending_decision = None);
    let values = pending.input.values();
    let summary = StoreConsole::new(&state)
        .decide(pending, me)
        .await?
        .map_err(|refused| refused_on_task(&ctx, &reference, values, refused))?;
    banner(
        &ctx,
        format!("Task {reference}: {summary}. We’ve emailed the teacher."),
    );
    Ok(Redirect::to(&task_list(&ctx)).into_response())
}

#[derive(Deserialize)]
pub struct DisconnectForm {
    /// `continue` (to the check step) or `confirm` (from it).
    #[serde(default)]
    action: String,
    #[serde(default)]
    disconnect_reason: String,
    /// The record the check step showed: confirming disconnects only that one.
    #[serde(default)]
    trn: String,
}

/// `POST /support/tasks/{reference}/disconnect`: an administrator undoes the connection of the task's teacher to
/// their record, with a reason: first checked (the task page shows what will happen), then confirmed. The teacher is
/// emailed, and goes through the journey again at their next sign-in.
pub async fn disconnect(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(reference): Path<String>,
    Form(form): Form<DisconnectForm>,
) -> HandlerResult {
    let me = signed_in_staff(&state, &ctx, Permission::Disconnect).await?;
    let task = stored_task(&state, &reference).await?;
    let back = |values: BTreeMap<String, String>, errors: Vec<FieldError>| {
        AppError::form(
            &ctx.staff,
            Flash {
                form: FormId::Decision(reference.to_string()),
                values,
                errors,
            },
            format!("{}#disconnect", task_href(&reference)),
        )
    };
    let typed: String = form
        .disconnect_reason
        .chars()
        .take(2 * app::domain::support::MAX_REASON_CHARS)
        .collect();
    let reason = match app::domain::support::validate_disconnect_reason(&form.disconnect_reason) {
        Ok(reason) => reason,
        Err(error) => {
            return Err(back(
                [("disconnect_reason".to_string(), typed)]
                    .into_iter()
                    .collect(),
                vec![error],
            ))
        }
    };
    let connected = match task.user_id {
        Some(user_id) => state
            .store
            .connected_record(user_id)
            .await
            .map_err(AppError::store("reading the teacher's connection"))?
            .map(|r| (user_id, r)),
        None => None,
    };
    let Some((user_id, record)) = connected else {
        return Err(back(
            BTreeMap::new(),
            vec![FieldError::new(
                "disconnect_reason",
                "The teacher is not connected to a record any more",
            )],
        ));
    };
    if form.action != "confirm" {
        let values = [
            ("disconnect_reason".to_string(), reason),
            ("disconnect_step".to_string(), "check".to_string()),
        ];
        return Err(back(values.into_iter().collect(), vec![]));
    }
    if form.trn != record.trn {
        // The connection changed since the check step was shown: show it again.
        return Err(back(
            BTreeMap::new(),
            vec![FieldError::new(
                "disconnect_reason",
                "The teacher’s connection changed while you were working on it. Check it and try again",
            )],
        ));
    }
    // The email speaks of how the teacher signs in: a DfE Identity account holder hears of their account, at its
    // email now (it may have changed, or come from a merge, since they asked).
    let holder = state
        .store
        .trn_holder(&record.trn, crate::db::account_records::NOBODY_ASKING)
        .await
        .map_err(AppError::store("reading how the teacher signs in"))?;
    let person = holder.as_ref().map_or(SignInKind::OneLogin, |h| {
        SignInKind::of(h.one_login, h.account)
    });
    let template = app::domain::support::disconnected_email(person, task.kind);
    let (email_address, way_in) = match (template, holder) {
        (EmailTemplate::AccountDisconnected, Some(holder)) => {
            (holder.email, "DfE Identity account")
        }
        _ => (task.requester_email.clone(), "GOV.UK One Login"),
    };
    let email = NewEmail {
        reference: uuid::Uuid::new_v4().to_string(),
        template: template.as_str().to_string(),
        email_address,
        personalisation: personalisation(
            &task.requester_name,
            &reference,
            Some(reason.clone()),
            &format!("{}/sign-in", state.config.public_base_url),
        ),
        task_reference: Some(reference.clone()),
    };
    match state
        .store
        .disconnect(
            user_id,
            &record.trn,
            &reason,
            &reference,
            &me,
            &email,
            Utc::now(),
        )
        .await
        .map_err(AppError::store("disconnecting a record"))?
    {
        Ok(()) => {
            tracing::info!("support disconnected a record from a teacher");
            state.outbox_wake.notify_one();
            banner(
                &ctx,
                format!(
                    "The record with TRN {} is no longer connected to the teacher’s {way_in}. We’ve emailed the teacher.",
                    record.trn
                ),
            );
            Ok(Redirect::to(&task_href(&reference)).into_response())
        }
        Err(crate::db::support::DisconnectRefused::NotConnected) => Err(back(
            BTreeMap::new(),
            vec![FieldError::new(
                "disconnect_reason",
                "The teacher is not connected to a record any more",
            )],
        )),
    }
}

#[derive(Deserialize)]
pub struct ProofQuery {
    #[serde(default)]
    download: Option<String>,
}

/// `GET /support/tasks/{reference}/proof`: the proof of identity, to staff who may see tasks, and only the file
/// of this task (the key is read from the task, never from the request).
pub async fn proof(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(reference): Path<String>,
    Query(query): Query<ProofQuery>,
) -> HandlerResult {
    let me = signed_in_staff(&state, &ctx, Permission::ViewTasks).await?;
    let task = stored_task(&state, &reference).await?;
    let Some((key, content_type)) = task
        .details
        .proof()
        .and_then(|p| Some((p.key.as_deref()?, p.content_type.as_str())))
    else {
        return Err(AppError::NotFound);
    };
    // Only the three types we accept are ever served, whatever the details say.
    if !matches!(content_type, "application/pdf" | "image/jpeg" | "image/png") {
        return Err(AppError::NotFound);
    }
    let bytes = match crate::uploads::get(&state.uploads, key).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "proof of identity file could not be read");
            return Err(AppError::NotFound);
        }
    };
    state
        .store
        .audit_event(
            Some(me.id),
            Some(&reference),
            &crate::db::support::AuditEvent::ViewedProof,
            Utc::now(),
        )
        .await
        .map_err(AppError::store("auditing a view of a proof"))?;
    let extension = match content_type {
        "application/pdf" => "pdf",
        "image/jpeg" => "jpg",
        _ => "png",
    };
    // The teacher's file name is theirs to choose, so it is not put in a header: the reference names the file.
    let disposition = if query.download.is_some() {
        "attachment"
    } else {
        "inline"
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(match extension {
            "pdf" => "application/pdf",
            "jpg" => "image/jpeg",
            _ => "image/png",
        }),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{disposition}; filename=\"proof-of-identity-{}.{extension}\"",
        reference.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "")
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Nothing in the file may run or load anything. Only our task page may embed it; Chromium will not show a PDF
    // in a sandbox, so PDFs are embeddable but scriptless, and images are fully sandboxed.
    let policy = if extension == "pdf" {
        "default-src 'none'; frame-ancestors 'self'"
    } else {
        "default-src 'none'; frame-ancestors 'self'; sandbox"
    };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    staff_id: String,
    /// A role's name, or `none`.
    #[serde(default)]
    role: String,
}

/// `POST /support/staff`: an administrator grants or removes a role.
pub async fn set_role(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<RoleForm>,
) -> HandlerResult {
    let me = signed_in_staff(&state, &ctx, Permission::ManageStaff).await?;
    let error = |message: &str| {
        Err(AppError::form(
            &ctx.staff,
            Flash {
                form: FormId::StaffRole,
                values: BTreeMap::new(),
                errors: vec![FieldError::new(format!("role-{}", form.staff_id), message)],
            },
            "/support/staff",
        ))
    };
    let Ok(staff_id) = form.staff_id.parse::<i64>() else {
        return error("Select a member of staff");
    };
    let role = match form.role.as_str() {
        "none" => None,
        other => match Role::parse(other) {
            Some(role) => Some(role),
            None => return error("Select a role"),
        },
    };
    // An administrator cannot remove their own access: someone must always be able to manage roles.
    if staff_id == me.id && role != Some(Role::Administrator) {
        return error("You cannot change your own role. Ask another administrator");
    }
    let name = match StoreConsole::new(&state)
        .set_role(staff_id, role, me)
        .await?
    {
        Ok(name) => name,
        // Shown on the field the form sent, as typed.
        Err(ChangeRefused::Field(refused)) => return error(&refused.message),
        Err(ChangeRefused::NoSuchTask) => return error("Select a member of staff"),
    };
    banner(
        &ctx,
        match role {
            Some(role) => format!("{name} is now {}", role.label().to_lowercase()),
            None => format!("{name} no longer has a role"),
        },
    );
    Ok(Redirect::to("/support/staff").into_response())
}

/// How often an open live feed checks that its member of staff still has a role that may see tasks.
pub const LIVE_ROLE_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// `GET /support/tasks/events`: server-sent events for the live dashboard: `task` when new tasks arrive (the data
/// is the newest task's id) and `change` when a task is assigned, saved or decided (the data is a
/// [`TaskChanged`](app::domain::support::TaskChanged) as JSON). The page fetches what it shows through its own
/// query. The feed stays open for hours, so it checks the member's role again every
/// [`AppState::live_recheck`] and ends when the role no longer allows seeing tasks (the browser then reconnects
/// and is refused).
pub async fn events(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> HandlerResult {
    let me = signed_in_staff(&state, &ctx, Permission::ViewTasks).await?;
    struct Feed {
        receiver: tokio::sync::broadcast::Receiver<crate::outbox::LiveEvent>,
        recheck: tokio::time::Interval,
        store: crate::db::DynStore,
        staff_id: i64,
    }
    let every = state.live_recheck.max(std::time::Duration::from_millis(10));
    let feed = Feed {
        receiver: state.live.subscribe(),
        recheck: tokio::time::interval_at(tokio::time::Instant::now() + every, every),
        store: state.store.clone(),
        staff_id: me.id,
    };
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        loop {
            tokio::select! {
                received = feed.receiver.recv() => match received {
                    Ok(live) => {
                        let event = match live {
                            crate::outbox::LiveEvent::NewTask(latest) => {
                                Event::default().event("task").data(latest.to_string())
                            }
                            crate::outbox::LiveEvent::Changed(changed) => Event::default()
                                .event("change")
                                .data(serde_json::to_string(&changed).unwrap_or_default()),
                        };
                        return Some((Ok::<_, std::convert::Infallible>(event), feed));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
                _ = feed.recheck.tick() => {
                    match feed.store.staff_by_id(feed.staff_id).await {
                        Ok(Some(staff)) if staff.may(Permission::ViewTasks) => continue,
                        Ok(_) => {
                            tracing::info!(staff_id = feed.staff_id, "live feed closed: role no longer allows it");
                            return None;
                        }
                        // The database is away for a moment: keep the feed, and look again next time.
                        Err(e) => {
                            tracing::warn!(error = %e, "live feed could not check the role");
                            continue;
                        }
                    }
                }
            }
        }
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
