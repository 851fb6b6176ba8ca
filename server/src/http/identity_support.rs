//! Asking for support when One Login could not prove someone's identity (DESIGN §4 step 4): the form (a multipart
//! POST with the proof of identity), check answers, and sending it as an identity-verification support task.
//! Errors come back to the form with everything typed kept (cut short if it was far too long), and a valid file is
//! kept even when other fields are wrong, so it need not be chosen again; a file it replaces is deleted.

use super::connect::{position, raise_task};
use super::error::{AppError, HandlerResult};
use crate::db::connect::NewSupportTask;
use crate::state::AppState;
use app::domain::identity_support::{
    check_proof, display_file_name, validate_identity_support, IdentitySupportDraft,
    IdentitySupportInput, UploadedProof, MAX_PREVIOUS_NAMES, MAX_UPLOAD_BYTES, PROOF_FIELD,
};
use app::domain::journey::Position;
use app::domain::task_details::{IdentityVerificationDetails, StoredProof, TaskDetails};
use app::forms::FormId;
use app::ssr::{Flash, RequestContext};
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Extension;
use chrono::Utc;
use subtle::ConstantTimeEq;

/// Only someone signed in whom One Login could not verify, with no open request, may use the form.
async fn may_ask(
    state: &AppState,
    ctx: &RequestContext,
) -> Result<app::ssr::SignedInUser, AppError> {
    match position(state, ctx).await? {
        (Position::IdentityNotVerified, Some(user)) => Ok(user),
        (position, _) => Err(AppError::Elsewhere(position.home().unwrap_or("/continue"))),
    }
}

/// The CSRF check of a file upload, left to its handler (see [`deferred_csrf`]): the token the browser's cookie
/// holds, if any.
#[derive(Clone, Debug)]
pub struct DeferredCsrf {
    expected: Option<String>,
}

/// Whether the session middleware should leave the CSRF check of `req` to [`submit_form`]: a multipart POST to
/// the upload form with the token in the body rather than a header. The middleware would otherwise have to read
/// the whole body (up to 11 MB) to find the token before anyone had checked who is asking (issue 10 §3).
pub fn deferred_csrf(
    req: &axum::extract::Request,
    cookie_token: Option<&str>,
) -> Option<DeferredCsrf> {
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    (req.uri().path() == super::UPLOAD_PATH
        && multipart
        && !req.headers().contains_key("x-csrf-token"))
    .then(|| DeferredCsrf {
        expected: cookie_token.map(str::to_string),
    })
}

/// The most of one text field we read: far more than any field may hold (a name is at most 200 characters, 800
/// bytes), so an answer that is too long still gets its "must be N characters or fewer" error, and far less than
/// the body may be, so a 9 MB "name" is never held, stored or shown back (issue 10 §4).
const MAX_TEXT_FIELD_BYTES: usize = 4 * 1024;

/// What the form sent.
#[derive(Default)]
struct Submitted {
    input: IdentitySupportInput,
    add_previous: bool,
    file_name: Option<String>,
    file: Option<Vec<u8>>,
    file_too_big: bool,
}

/// Why the form could not be read.
enum Unreadable {
    /// The first field was not the CSRF token the cookie holds: refused before reading on.
    Csrf,
    /// Over the body limit while reading (a body with no declared length).
    TooLarge,
    Malformed(axum::extract::multipart::MultipartError),
}

impl From<axum::extract::multipart::MultipartError> for Unreadable {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::TooLarge
        } else {
            Self::Malformed(e)
        }
    }
}

/// Reads a text field's first [`MAX_TEXT_FIELD_BYTES`], and the rest without keeping it.
async fn read_text(
    field: &mut axum::extract::multipart::Field<'_>,
) -> Result<String, axum::extract::multipart::MultipartError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        let room = MAX_TEXT_FIELD_BYTES.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    // Cut at the last whole character if the cap split one.
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    })
}

async fn read_form(
    mut multipart: Multipart,
    csrf: Option<&DeferredCsrf>,
) -> Result<Submitted, Unreadable> {
    let mut form = Submitted::default();
    if let Some(csrf) = csrf {
        // Our form sends the token first; anything else is refused before the rest of the body is read.
        let mut first = multipart.next_field().await?.ok_or(Unreadable::Csrf)?;
        if first.name() != Some("csrf_token") {
            return Err(Unreadable::Csrf);
        }
        let submitted = read_text(&mut first).await?;
        let matches = csrf
            .expected
            .as_deref()
            .is_some_and(|expected| bool::from(submitted.as_bytes().ct_eq(expected.as_bytes())));
        if !matches {
            return Err(Unreadable::Csrf);
        }
    }
    while let Some(mut field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_string();
        if name == PROOF_FIELD {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await? {
                if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                    // Read on to the end of the body, keeping nothing more.
                    form.file_too_big = true;
                } else if !form.file_too_big {
                    bytes.extend_from_slice(&chunk);
                }
            }
            // Browsers send an empty part with no name when no file was chosen.
            if !file_name.is_empty() || !bytes.is_empty() || form.file_too_big {
                form.file_name = Some(file_name);
                form.file = Some(if form.file_too_big { Vec::new() } else { bytes });
            }
            continue;
        }
        let value = read_text(&mut field).await?;
        match name.as_str() {
            "name" => form.input.name = value,
            // A tampered form may repeat it any number of times: the page offers no more than this.
            "previous_name" if form.input.previous_names.len() < MAX_PREVIOUS_NAMES => {
                form.input.previous_names.push(value)
            }
            "dob-day" => form.input.dob_day = value,
            "dob-month" => form.input.dob_month = value,
            "dob-year" => form.input.dob_year = value,
            "nino" => form.input.nino = value,
            "trn" => form.input.trn = value,
            "action" => form.add_previous = value == "add-previous",
            _ => {}
        }
    }
    Ok(form)
}

/// Keeps the draft (and its file) and what was typed (cut to what a form shows back), with the errors, for the
/// form to show.
fn back_to_form(
    ctx: &RequestContext,
    draft: IdentitySupportDraft,
    input: &IdentitySupportInput,
    errors: Vec<app::domain::FieldError>,
) {
    ctx.session
        .update(|data| data.identity_support = Some(draft));
    ctx.session.set_flash(Flash {
        form: FormId::IdentitySupport,
        values: input.values_to_show(),
        errors,
    });
}

/// `POST /identity-support`. Who is asking is checked first, then the CSRF token (the first field), and only
/// then is the rest of the body read. A new file that passes its checks is stored and replaces (and deletes) any
/// kept one, so however often the form is sent with errors, one file at most waits in the session.
pub async fn submit_form(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    csrf: Option<Extension<DeferredCsrf>>,
    multipart: Multipart,
) -> HandlerResult {
    may_ask(&state, &ctx).await?;
    let mut form = match read_form(multipart, csrf.as_ref().map(|Extension(c)| c)).await {
        Ok(form) => form,
        Err(Unreadable::Csrf) => {
            tracing::warn!(
                reason = "missing or wrong CSRF token",
                "refused a state-changing request"
            );
            return Err(AppError::Forbidden);
        }
        Err(Unreadable::TooLarge) => return Err(AppError::TooLarge),
        Err(Unreadable::Malformed(e)) => {
            tracing::warn!(error = %e, "unreadable proof-of-identity form");
            return Err(AppError::BadRequest);
        }
    };
    let mut draft = ctx
        .session
        .lock()
        .data
        .identity_support
        .clone()
        .unwrap_or_default();
    let mut errors = Vec::new();

    // A new file replaces any kept one, once it passes the checks.
    if let Some(bytes) = form.file.take() {
        match check_proof(Some(&bytes), form.file_too_big) {
            Ok(kind) => {
                let size = bytes.len() as u64;
                match crate::uploads::put(&state.uploads, kind.extension(), bytes).await {
                    Ok(key) => {
                        let replaced = draft.proof.replace(UploadedProof {
                            key,
                            kind,
                            file_name: display_file_name(
                                form.file_name.as_deref().unwrap_or_default(),
                            ),
                            size,
                        });
                        if let Some(old) = replaced {
                            // Only this session ever referred to it; if deleting fails, the sweeper will.
                            if let Err(e) = crate::uploads::delete(&state.uploads, &old.key).await {
                                tracing::warn!(error = %e, "could not delete a replaced proof of identity");
                            }
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not store a proof of identity");
                        return Err(AppError::unavailable("storing a proof of identity"));
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }

    if form.add_previous {
        if form.input.previous_names.len() < MAX_PREVIOUS_NAMES {
            form.input.previous_names.push(String::new());
        }
        back_to_form(&ctx, draft, &form.input, errors);
        let n = form.input.previous_names.len();
        return Ok(Redirect::to(&format!("/identity-support#previous-name-{n}")).into_response());
    }

    let details = match validate_identity_support(&form.input, Utc::now().date_naive()) {
        Ok(details) => Some(details),
        Err(mut field_errors) => {
            field_errors.append(&mut errors);
            errors = field_errors;
            None
        }
    };
    if draft.proof.is_none() && !errors.iter().any(|e| e.field_id == PROOF_FIELD) {
        errors.push(check_proof(None, false).expect_err("no file is an error"));
    }
    if !errors.is_empty() || details.is_none() {
        draft.details = None;
        back_to_form(&ctx, draft, &form.input, errors);
        return Ok(Redirect::to("/identity-support").into_response());
    }
    draft.details = details;
    ctx.session
        .update(|data| data.identity_support = Some(draft));
    Ok(Redirect::to("/identity-support/check").into_response())
}

/// `POST /identity-support/send`: raises the identity-verification task, once.
pub async fn send(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> HandlerResult {
    let user = may_ask(&state, &ctx).await?;
    let draft = ctx.session.lock().data.identity_support.clone();
    let Some(IdentitySupportDraft {
        details: Some(details),
        proof: Some(proof),
    }) = draft
    else {
        return Ok(Redirect::to("/identity-support").into_response());
    };
    let task = NewSupportTask {
        user_id: user.user_id,
        details: TaskDetails::IdentityVerification(IdentityVerificationDetails {
            entered: details,
            proof: StoredProof::new(&proof),
            one_login_email: user.email.clone(),
        }),
        client_id: super::connect::came_from(&ctx),
    };
    raise_task(&state, &ctx, &task, |data| data.identity_support = None).await
}
