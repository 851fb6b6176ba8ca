//! The support console's form handlers and files (DESIGN §6): staff sign-in and out, assigning, saving and
//! deciding tasks (check, then confirm), proof of identity files, roles, and the live feed of new tasks. Every
//! handler checks the staff session and the member's current role itself: the pages hiding a button is never the
//! check.

use crate::console::personalisation;
use crate::db::support::{NewEmail, TaskChangeRefused};
use crate::onelogin::Callback;
use crate::state::AppState;
use app::domain::support::{
    task_href, validate_decision, DecisionInput, Permission, Role, StaffMember, DASHBOARD_PATH,
};
use app::domain::FieldError;
use app::server_fns::console::BANNER_FORM;
use app::ssr::{Flash, PendingDecision, RequestContext, SignedInStaff};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use serde::Deserialize;
use std::collections::BTreeMap;

/// How long a sign-in at the staff identity provider may take.
const PENDING_AUTH_LIFETIME_SECONDS: i64 = 1800;

pub const SIGN_IN_PATH: &str = "/support/sign-in";

/// The signed-in member of staff, if their current role allows `what`; otherwise the response to send instead:
/// sign in first, or 403.
async fn staff_may(
    state: &AppState,
    ctx: &RequestContext,
    what: Permission,
) -> Result<StaffMember, Response> {
    let Some(signed_in) = ctx.staff.lock().data.staff.clone() else {
        return Err(Redirect::to(SIGN_IN_PATH).into_response());
    };
    match state.store.staff_by_id(signed_in.staff_id).await {
        Ok(Some(staff)) if staff.may(what) => Ok(staff),
        Ok(_) => {
            tracing::warn!(
                staff_id = signed_in.staff_id,
                "staff action refused: role does not allow it"
            );
            Err(StatusCode::FORBIDDEN.into_response())
        }
        Err(e) => Err(unavailable(e)),
    }
}

/// The task with this reference, or the 404 (or 503) to send instead.
async fn stored_task(
    state: &AppState,
    reference: &str,
) -> Result<crate::db::support::StoredTask, Response> {
    match state.store.task_by_reference(reference).await {
        Ok(Some(task)) => Ok(task),
        Ok(None) => Err(StatusCode::NOT_FOUND.into_response()),
        Err(e) => Err(unavailable(e)),
    }
}

fn unavailable(e: crate::db::StoreError) -> Response {
    tracing::error!(error = %e, "support console could not use the database");
    StatusCode::SERVICE_UNAVAILABLE.into_response()
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
        form: BANNER_FORM.into(),
        values: [("banner".to_string(), text)].into_iter().collect(),
        errors: vec![],
    });
}

/// Back to the task page with an error on the decision form (and what was typed).
fn task_error(
    ctx: &RequestContext,
    reference: &str,
    values: BTreeMap<String, String>,
    error: FieldError,
) -> Response {
    ctx.staff.set_flash(Flash {
        form: format!("decision-{reference}"),
        values,
        errors: vec![error],
    });
    Redirect::to(&format!("{}#decision", task_href(reference))).into_response()
}

/// What a refused change means, in words for the officer.
fn refusal_message(refused: &TaskChangeRefused, trn: Option<&str>) -> (&'static str, String) {
    match refused {
        TaskChangeRefused::NoSuchTask => ("outcome", "This task no longer exists".into()),
        TaskChangeRefused::Stale => (
            "outcome",
            "Someone else changed this task while you were working on it. Check the task and try again".into(),
        ),
        TaskChangeRefused::AlreadyDecided { by, .. } => (
            "outcome",
            match by {
                Some(by) => format!("This task has already been decided by {by}"),
                None => "This task has already been decided".into(),
            },
        ),
        TaskChangeRefused::UnknownRecord => (
            "trn",
            format!("There is no teaching record with TRN {}", trn.unwrap_or_default()),
        ),
        TaskChangeRefused::RecordTaken => (
            "trn",
            "This record is already connected to another GOV.UK One Login, or the teacher is connected to another record".into(),
        ),
        TaskChangeRefused::NotAssignable => ("assignee", "Select someone who can work on tasks".into()),
        TaskChangeRefused::RecordDeactivated => ("trn", deactivated_message(trn.unwrap_or_default())),
    }
}

/// Why a deactivated record cannot be chosen.
fn deactivated_message(trn: &str) -> String {
    format!("The record with TRN {trn} is deactivated. You cannot connect a deactivated record")
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
) -> Response {
    let pending = ctx.staff.lock().data.pending_auth.clone();
    ctx.staff.update(|d| d.pending_auth = None);
    let problem = |reason: &str| {
        tracing::warn!(reason, "staff sign-in refused");
        Redirect::to("/support/sign-in/problem").into_response()
    };
    let Some(pending) = pending else {
        return problem("no sign-in in progress for this browser");
    };
    if Utc::now().timestamp() - pending.started_at > PENDING_AUTH_LIFETIME_SECONDS {
        return problem("sign-in started too long ago");
    }
    if callback.state.as_deref() != Some(pending.state.as_str()) {
        return problem("state differs from the one sent");
    }
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
            return Redirect::to("/support/sign-in/problem").into_response();
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
    let staff = match state.store.staff_signed_in(&who, now).await {
        Ok(staff) => staff,
        Err(e) => return unavailable(e),
    };
    if let Err(e) = state
        .store
        .audit(
            Some(staff.id),
            "signed_in",
            None,
            serde_json::json!({}),
            now,
        )
        .await
    {
        return unavailable(e);
    }
    ctx.staff.rotate_id();
    ctx.staff.update(|d| {
        d.staff = Some(SignedInStaff {
            staff_id: staff.id,
            name: staff.name.clone(),
        })
    });
    Redirect::to(DASHBOARD_PATH).into_response()
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
            .audit(
                Some(staff.staff_id),
                "signed_out",
                None,
                serde_json::json!({}),
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
) -> Response {
    let me = match staff_may(&state, &ctx, Permission::WorkTasks).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let assignee = match form.assignee.as_str() {
        "me" => Some(me.id),
        "none" => None,
        other => match other.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                return task_error(
                    &ctx,
                    &reference,
                    BTreeMap::new(),
                    FieldError::new("assignee", "Select who to assign the task to"),
                );
            }
        },
    };
    let Ok(version) = form.version.parse::<i64>() else {
        return task_error(
            &ctx,
            &reference,
            BTreeMap::new(),
            FieldError::new(
                "assignee",
                refusal_message(&TaskChangeRefused::Stale, None).1,
            ),
        );
    };
    match state
        .store
        .assign_task(&reference, version, assignee, me.id, Utc::now())
        .await
    {
        Ok(Ok(())) => {
            banner(
                &ctx,
                match assignee {
                    Some(id) if id == me.id => format!("Task {reference} is assigned to you"),
                    Some(_) => format!("Task {reference} has been assigned"),
                    None => format!("Task {reference} is no longer assigned"),
                },
            );
            Redirect::to(&task_href(&reference)).into_response()
        }
        Ok(Err(TaskChangeRefused::NoSuchTask)) => StatusCode::NOT_FOUND.into_response(),
        Ok(Err(refused)) => {
            let (_, message) = refusal_message(&refused, None);
            task_error(
                &ctx,
                &reference,
                BTreeMap::new(),
                FieldError::new("assignee", message),
            )
        }
        Err(e) => unavailable(e),
    }
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
}

/// `POST /support/tasks/{reference}/decision`: check the decision, then show the check page; or save it.
pub async fn decision(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(reference): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let me = match staff_may(&state, &ctx, Permission::WorkTasks).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let input = DecisionInput {
        outcome: form.outcome,
        trn: form.trn,
        other_trn: form.other_trn,
        reason: form.reason,
        reason_detail: form.reason_detail,
        reject_reason: form.reject_reason,
        reject_reason_detail: form.reject_reason_detail,
    };
    let values = input.values();
    let task = match stored_task(&state, &reference).await {
        Ok(task) => task,
        Err(response) => return response,
    };
    let Ok(version) = form.version.parse::<i64>() else {
        return task_error(
            &ctx,
            &reference,
            values,
            FieldError::new(
                "outcome",
                refusal_message(&TaskChangeRefused::Stale, None).1,
            ),
        );
    };
    if form.action == "save" {
        // Whatever has been chosen so far, even if incomplete: it is a draft. Only its length is limited.
        if input.reason_detail.chars().count() > app::domain::support::MAX_REASON_CHARS {
            return task_error(
                &ctx,
                &reference,
                values,
                FieldError::new(
                    "reason_detail",
                    "The reason must be 1000 characters or fewer",
                ),
            );
        }
        return match state
            .store
            .save_draft(&reference, version, &input, me.id, Utc::now())
            .await
        {
            Ok(Ok(())) => {
                banner(
                    &ctx,
                    format!("Your progress on task {reference} has been saved"),
                );
                Redirect::to(&task_list(&ctx)).into_response()
            }
            Ok(Err(refused)) => {
                let (field, message) = refusal_message(&refused, None);
                task_error(&ctx, &reference, values, FieldError::new(field, message))
            }
            Err(e) => unavailable(e),
        };
    }
    let decision = match validate_decision(task.kind, &input) {
        Ok(decision) => decision,
        Err(mut errors) => {
            return task_error(&ctx, &reference, values, errors.remove(0));
        }
    };
    if let app::domain::support::Decision::Connect { trn } = &decision {
        let field = if input.trn == app::domain::support::OTHER_TRN {
            "other_trn"
        } else {
            "trn"
        };
        match state.store.record_by_trn(trn).await {
            Ok(Some(record))
                if record.status == app::domain::records::RecordStatus::Deactivated =>
            {
                return task_error(
                    &ctx,
                    &reference,
                    values,
                    FieldError::new(field, deactivated_message(trn)),
                );
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                return task_error(
                    &ctx,
                    &reference,
                    values,
                    FieldError::new(field, format!("There is no teaching record with TRN {trn}")),
                );
            }
            Err(e) => return unavailable(e),
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
    Redirect::to(&format!("{}/check", task_href(&reference))).into_response()
}

/// `POST /support/tasks/{reference}/confirm`: make the decision checked on the check page.
pub async fn confirm(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(reference): Path<String>,
) -> Response {
    let me = match staff_may(&state, &ctx, Permission::WorkTasks).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let pending = ctx
        .staff
        .lock()
        .data
        .pending_decision
        .clone()
        .filter(|p| p.reference == reference);
    let Some(pending) = pending else {
        // A stale or replayed check page: nothing to confirm, so back to the task.
        return Redirect::to(&task_href(&reference)).into_response();
    };
    ctx.staff.update(|d| d.pending_decision = None);
    let task = match stored_task(&state, &reference).await {
        Ok(task) => task,
        Err(response) => return response,
    };
    let template = pending.decision.email(task.kind);
    let email = NewEmail {
        reference: uuid::Uuid::new_v4().to_string(),
        template: template.as_str().to_string(),
        email_address: task.requester_email.clone(),
        personalisation: personalisation(
            &task.requester_name,
            &reference,
            pending.decision.reason_for_teacher(),
            &format!("{}/sign-in", state.config.public_base_url),
        ),
        task_reference: Some(reference.clone()),
    };
    let trn = match &pending.decision {
        app::domain::support::Decision::Connect { trn } => Some(trn.as_str()),
        _ => None,
    };
    match state
        .store
        .decide_task(
            &reference,
            pending.version,
            &pending.decision,
            &me,
            &email,
            Utc::now(),
        )
        .await
    {
        Ok(Ok(())) => {
            tracing::info!(outcome = pending.decision.outcome(), "support task decided");
            state.outbox_wake.notify_one();
            banner(
                &ctx,
                format!(
                    "Task {reference}: {}. We’ve emailed the teacher.",
                    pending.decision.summary(task.kind)
                ),
            );
            Redirect::to(&task_list(&ctx)).into_response()
        }
        Ok(Err(refused)) => {
            let (field, message) = refusal_message(&refused, trn);
            task_error(
                &ctx,
                &reference,
                pending.input.values(),
                FieldError::new(field, message),
            )
        }
        Err(e) => unavailable(e),
    }
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
) -> Response {
    let me = match staff_may(&state, &ctx, Permission::Disconnect).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let task = match stored_task(&state, &reference).await {
        Ok(task) => task,
        Err(response) => return response,
    };
    let back = |values: BTreeMap<String, String>, errors: Vec<FieldError>| {
        ctx.staff.set_flash(Flash {
            form: format!("decision-{reference}"),
            values,
            errors,
        });
        Redirect::to(&format!("{}#disconnect", task_href(&reference))).into_response()
    };
    let typed: String = form
        .disconnect_reason
        .chars()
        .take(2 * app::domain::support::MAX_REASON_CHARS)
        .collect();
    let reason = match app::domain::support::validate_disconnect_reason(&form.disconnect_reason) {
        Ok(reason) => reason,
        Err(error) => {
            return back(
                [("disconnect_reason".to_string(), typed)]
                    .into_iter()
                    .collect(),
                vec![error],
            )
        }
    };
    let connected = match task.user_id {
        Some(user_id) => match state.store.connected_record(user_id).await {
            Ok(record) => record.map(|r| (user_id, r)),
            Err(e) => return unavailable(e),
        },
        None => None,
    };
    let Some((user_id, record)) = connected else {
        return back(
            BTreeMap::new(),
            vec![FieldError::new(
                "disconnect_reason",
                "The teacher is not connected to a record any more",
            )],
        );
    };
    if form.action != "confirm" {
        let values = [
            ("disconnect_reason".to_string(), reason),
            ("disconnect_step".to_string(), "check".to_string()),
        ];
        return back(values.into_iter().collect(), vec![]);
    }
    if form.trn != record.trn {
        // The connection changed since the check step was shown: show it again.
        return back(
            BTreeMap::new(),
            vec![FieldError::new(
                "disconnect_reason",
                "The teacher’s connection changed while you were working on it. Check it and try again",
            )],
        );
    }
    let email = NewEmail {
        reference: uuid::Uuid::new_v4().to_string(),
        template: app::domain::support::EmailTemplate::Disconnected
            .as_str()
            .to_string(),
        email_address: task.requester_email.clone(),
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
    {
        Ok(Ok(())) => {
            tracing::info!("support disconnected a record from a teacher");
            state.outbox_wake.notify_one();
            banner(
                &ctx,
                format!(
                    "The record with TRN {} is no longer connected to the teacher’s GOV.UK One Login. We’ve emailed the teacher.",
                    record.trn
                ),
            );
            Redirect::to(&task_href(&reference)).into_response()
        }
        Ok(Err(crate::db::support::DisconnectRefused::NotConnected)) => back(
            BTreeMap::new(),
            vec![FieldError::new(
                "disconnect_reason",
                "The teacher is not connected to a record any more",
            )],
        ),
        Err(e) => unavailable(e),
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
) -> Response {
    let me = match staff_may(&state, &ctx, Permission::ViewTasks).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let task = match stored_task(&state, &reference).await {
        Ok(task) => task,
        Err(response) => return response,
    };
    let Some((key, content_type)) = task
        .details
        .proof()
        .and_then(|p| Some((p.key.as_deref()?, p.content_type.as_str())))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Only the three types we accept are ever served, whatever the details say.
    if !matches!(content_type, "application/pdf" | "image/jpeg" | "image/png") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let bytes = match crate::uploads::get(&state.uploads, key).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "proof of identity file could not be read");
            return StatusCode::NOT_FOUND.into_response();
        }
    };
    if let Err(e) = state
        .store
        .audit(
            Some(me.id),
            "viewed_proof",
            Some(&reference),
            serde_json::json!({}),
            Utc::now(),
        )
        .await
    {
        return unavailable(e);
    }
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
    response
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
) -> Response {
    let me = match staff_may(&state, &ctx, Permission::ManageStaff).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let error = |message: &str| {
        ctx.staff.set_flash(Flash {
            form: "staff-role".into(),
            values: BTreeMap::new(),
            errors: vec![FieldError::new(format!("role-{}", form.staff_id), message)],
        });
        Redirect::to("/support/staff").into_response()
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
    let target = match state.store.staff_by_id(staff_id).await {
        Ok(Some(target)) => target,
        Ok(None) => return error("Select a member of staff"),
        Err(e) => return unavailable(e),
    };
    let now = Utc::now();
    match state.store.set_role(staff_id, role).await {
        Ok(crate::db::support::RoleChange::Changed) => {}
        Ok(crate::db::support::RoleChange::NoSuchMember) => {
            return error("Select a member of staff")
        }
        Ok(crate::db::support::RoleChange::LastAdministrator) => {
            return error(
                "There must always be an administrator. Make someone else an administrator first",
            )
        }
        Err(e) => return unavailable(e),
    }
    let details = serde_json::json!({ "staff_id": staff_id, "staff_name": target.name, "role": role.map(Role::as_str) });
    if let Err(e) = state
        .store
        .audit(Some(me.id), "role_changed", None, details, now)
        .await
    {
        return unavailable(e);
    }
    banner(
        &ctx,
        match role {
            Some(role) => format!("{} is now {}", target.name, role.label().to_lowercase()),
            None => format!("{} no longer has a role", target.name),
        },
    );
    Redirect::to("/support/staff").into_response()
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
) -> Response {
    let me = match staff_may(&state, &ctx, Permission::ViewTasks).await {
        Ok(me) => me,
        Err(response) => return response,
    };
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
    response
}
