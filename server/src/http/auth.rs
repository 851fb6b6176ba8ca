//! Signing in and out with GOV.UK One Login: plain axum handlers around [`crate::onelogin`]. Every failure ends on
//! a GOV.UK page that says what happened and what to do, with a log line naming the rule; none creates a session.

use super::error::{AppError, HandlerResult};
use crate::metrics::{Journey, SignInOutcome};
use crate::onelogin::{Callback, IdentityOutcome, OneLoginError};
use crate::state::AppState;
use app::domain::identity::{AfterSignIn, VerifiedBy};
use app::domain::support::Decision;
use app::ssr::{AuthKind, IdentityStatus, RequestContext, SignedInUser, WayIn};
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use chrono::Utc;
use serde::Deserialize;

/// How long a round trip to One Login may take before its callback is refused: One Login's own session lasts an
/// hour, and an identity check can take that long.
pub(super) const ONE_LOGIN_ROUND_TRIP_SECONDS: i64 = 3600;

/// Why a callback does not complete a round trip this browser started (rule 18).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PendingAuthRefused {
    NotStarted,
    TooOld,
    StateDiffers,
}

impl PendingAuthRefused {
    /// For the log.
    pub(super) fn reason(self) -> &'static str {
        match self {
            PendingAuthRefused::NotStarted => "no sign-in in progress for this browser",
            PendingAuthRefused::TooOld => "sign-in started too long ago",
            PendingAuthRefused::StateDiffers => "state differs from the one sent",
        }
    }
}

/// The checks both sign-in callbacks (One Login's and the staff identity provider's) make first: the round trip
/// kept in `session` is taken (used once, whatever happens next), and it must exist, have started at most
/// `lifetime_seconds` before `now`, and have sent the `state` the callback brings back. The nonce and PKCE
/// verifier it holds are checked when the code is exchanged.
pub(super) fn take_pending_auth(
    session: &app::ssr::SessionHandle,
    returned_state: Option<&str>,
    lifetime_seconds: i64,
    now: i64,
) -> Result<app::ssr::PendingAuth, PendingAuthRefused> {
    let pending = session.lock().data.pending_auth.clone();
    session.update(|data| data.pending_auth = None);
    let pending = pending.ok_or(PendingAuthRefused::NotStarted)?;
    if now - pending.started_at > lifetime_seconds {
        return Err(PendingAuthRefused::TooOld);
    }
    if returned_state != Some(pending.state.as_str()) {
        return Err(PendingAuthRefused::StateDiffers);
    }
    Ok(pending)
}

/// Where a signed-in person goes: the connect journey decides (their record, the questions, or support).
pub const SIGNED_IN_HOME: &str = "/continue";

/// The reasons `/sign-in/problem/{reason}` explains.
fn problem(reason: &str) -> Response {
    Redirect::to(&format!("/sign-in/problem/{reason}")).into_response()
}

fn refused(journey: Journey, error: &OneLoginError) -> Response {
    if error.is_unavailable() {
        tracing::warn!(rule = error.rule(), reason = %error, "One Login unavailable");
        crate::metrics::sign_in(journey, SignInOutcome::Unavailable, Some(error.rule()));
        problem("unavailable")
    } else {
        tracing::warn!(rule = error.rule(), reason = %error, "sign-in refused");
        crate::metrics::sign_in(journey, SignInOutcome::Refused, Some(error.rule()));
        problem("failed")
    }
}

/// `GET /sign-in`: the start page's button. Sends the browser to One Login to authenticate (`Cl.Cm`).
///
/// `?trn_token=` (the QTS email's link, DESIGN §7.2) is kept in the session, even for someone already signed in,
/// to be redeemed once their identity is verified ([`super::connect::continue_journey`]). Only a value with the
/// shape of a token we issue is kept; anything else is ignored, as is every other parameter.
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(token) = trn_token_in(query.as_deref()) {
        ctx.session.update(|data| data.trn_token = Some(token));
    }
    if ctx.session.user().is_some() {
        return Redirect::to(SIGNED_IN_HOME).into_response();
    }
    start(&state, &ctx, AuthKind::SignIn).await
}

/// The first `trn_token` parameter of a query, when it has the shape of a token we issue.
fn trn_token_in(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "trn_token")
        .map(|(_, value)| value.into_owned())
        .filter(|token| super::cookies::is_token(token))
}

/// `GET /auth/identity`: the second round trip, to prove identity (`Cl.Cm.P2`). Only once signed in (rule 11).
pub async fn verify_identity(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Response {
    if ctx.session.user().is_none() {
        return Redirect::to(app::routes::SIGN_IN).into_response();
    }
    start(&state, &ctx, AuthKind::Identity).await
}

async fn start(state: &AppState, ctx: &RequestContext, kind: AuthKind) -> Response {
    match state
        .one_login
        .authorize(kind, Utc::now().timestamp())
        .await
    {
        Ok(request) => {
            ctx.session
                .update(|data| data.pending_auth = Some(request.pending));
            Redirect::to(&request.url).into_response()
        }
        Err(e) => refused(kind.into(), &e),
    }
}

/// Where someone goes once One Login has authenticated them, from what we already know: a verified identity (One
/// Login's or support's) is never checked again, and someone waiting for support, or whose proof support could
/// not accept, is not sent round One Login's identity check first.
async fn after_sign_in(
    state: &AppState,
    user: &crate::db::users::User,
) -> Result<AfterSignIn, crate::db::StoreError> {
    let verified = user.verification.is_some();
    if verified {
        return Ok(AfterSignIn::decide(true, false, false, false));
    }
    let connected = state.store.connected_record(user.id).await?.is_some();
    let open_task = state.store.open_task_for_user(user.id).await?.is_some();
    let rejected = matches!(
        state.store.latest_identity_decision(user.id).await?,
        Some(Decision::Reject { .. })
    );
    Ok(AfterSignIn::decide(false, connected, open_task, rejected))
}

/// Who verified an identity, for the logs (no personal data).
fn verifier(by: &VerifiedBy) -> &'static str {
    match by {
        VerifiedBy::OneLogin => "one_login",
        VerifiedBy::Support { .. } => "support",
    }
}

/// `GET /auth/callback`: where One Login sends the browser back.
pub async fn callback(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(callback): Query<Callback>,
) -> HandlerResult {
    // Rule 18: the state must be the one stored for this browser; the pending request is used once.
    let pending = match take_pending_auth(
        &ctx.session,
        callback.state.as_deref(),
        ONE_LOGIN_ROUND_TRIP_SECONDS,
        Utc::now().timestamp(),
    ) {
        Ok(pending) => pending,
        Err(refused) => {
            tracing::warn!(rule = 18, reason = refused.reason(), "callback refused");
            // Which journey it was is in the round trip we do not have.
            crate::metrics::sign_in(Journey::Unknown, SignInOutcome::Expired, Some(18));
            return Ok(problem("expired"));
        }
    };
    let journey = Journey::from(pending.kind);
    // Rule 19: each error One Login can send back.
    if let Some(error) = callback.error.as_deref() {
        let description = callback.error_description.as_deref().unwrap_or_default();
        tracing::info!(rule = 19, error, "One Login returned an error");
        let (outcome, rule, response) = match (error, pending.kind) {
            // Without return codes a failed identity check arrives as access_denied (rule 47).
            ("access_denied", AuthKind::Identity) => {
                ctx.session.update(|data| {
                    if let Some(user) = data.user.as_mut() {
                        user.identity = IdentityStatus::NotVerified;
                    }
                });
                (
                    SignInOutcome::IdentityNotVerified,
                    47,
                    Redirect::to(app::routes::IDENTITY_NOT_VERIFIED).into_response(),
                )
            }
            ("access_denied", AuthKind::SignIn) => {
                (SignInOutcome::Cancelled, 19, problem("cancelled"))
            }
            ("temporarily_unavailable", _) => {
                (SignInOutcome::Unavailable, 19, problem("unavailable"))
            }
            // Rule 49: One Login says the person is not signed in there, so they are not signed in here either.
            ("login_required", _) => {
                ctx.session.end();
                (SignInOutcome::OneLoginError, 49, problem("signed-out"))
            }
            ("unauthorized_client", _) if description.contains("deactivated") => {
                (SignInOutcome::OneLoginError, 19, problem("deactivated"))
            }
            _ => (SignInOutcome::OneLoginError, 19, problem("failed")),
        };
        crate::metrics::sign_in(journey, outcome, Some(rule));
        return Ok(response);
    }
    let Some(code) = callback
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 512)
    else {
        tracing::warn!(
            rule = 18,
            reason = "callback without a code",
            "callback refused"
        );
        crate::metrics::sign_in(journey, SignInOutcome::Refused, Some(18));
        return Ok(problem("failed"));
    };
    let result = match state
        .one_login
        .complete(code, &pending, Utc::now().timestamp())
        .await
    {
        Ok(result) => result,
        Err(e) => return Ok(refused(journey, &e)),
    };
    let now = Utc::now();
    Ok(match pending.kind {
        AuthKind::SignIn => {
            let user = state
                .store
                .sign_in_user(&result.subject, result.email.as_ref(), now)
                .await
                .map_err(AppError::store("recording the sign-in"))?;
            let next = after_sign_in(&state, &user).await.map_err(AppError::store(
                "reading what we know of the person signing in",
            ))?;
            tracing::info!(next = ?next, verified_by = ?user.verification.as_ref().map(|v| verifier(&v.by)), "signed in");
            let identity = match (user.verification, next) {
                (Some(verification), _) => IdentityStatus::Verified(verification.identity),
                // Support has their request, or could not check their proof: One Login could not verify them.
                (None, AfterSignIn::AwaitingSupport | AfterSignIn::TryAgain) => {
                    IdentityStatus::NotVerified
                }
                (None, _) => IdentityStatus::NotChecked,
            };
            let next = next.path();
            ctx.session.update(|data| {
                data.user = Some(SignedInUser {
                    user_id: user.id,
                    way_in: WayIn::OneLogin {
                        subject: result.subject,
                        id_token: result.id_token,
                    },
                    email: result.email,
                    identity,
                });
                data.signed_in_at = Some(now.timestamp());
            });
            // Privilege changed: a new session id, so one fixed before sign-in is worthless.
            ctx.session.rotate_id();
            crate::metrics::sign_in(journey, SignInOutcome::Success, None);
            // Sent by another service, and nothing more to do here first: straight back to it.
            match super::provider::return_if_ready(&state, &ctx, "sign_in").await? {
                Some(back) => back,
                None => Redirect::to(next).into_response(),
            }
        }
        AuthKind::Identity => {
            let Some(signed_in) = ctx.session.user() else {
                crate::metrics::sign_in(journey, SignInOutcome::Expired, Some(11));
                return Ok(problem("expired"));
            };
            // Rule 11: the identity round trip is for the person who signed in.
            if signed_in.one_login_subject() != Some(result.subject.as_str()) {
                tracing::warn!(
                    rule = 11,
                    reason = "identity is for another subject",
                    "callback refused"
                );
                crate::metrics::sign_in(journey, SignInOutcome::Refused, Some(11));
                return Ok(problem("failed"));
            }
            match result.identity {
                Some(IdentityOutcome::Verified(identity)) => {
                    state
                        .store
                        .record_verified_identity(signed_in.user_id, &identity, now)
                        .await
                        .map_err(AppError::store("recording the verified identity"))?;
                    ctx.session.update(|data| {
                        if let Some(user) = data.user.as_mut() {
                            user.identity = IdentityStatus::Verified(identity);
                            if let WayIn::OneLogin { id_token, .. } = &mut user.way_in {
                                *id_token = result.id_token;
                            }
                        }
                    });
                    ctx.session.rotate_id();
                    crate::metrics::sign_in(journey, SignInOutcome::Success, None);
                    match super::provider::return_if_ready(&state, &ctx, "identity").await? {
                        Some(back) => back,
                        None => Redirect::to(SIGNED_IN_HOME).into_response(),
                    }
                }
                Some(IdentityOutcome::NotVerified { return_codes }) => {
                    tracing::info!(
                        rule = 47,
                        codes = return_codes.len(),
                        "identity not verified"
                    );
                    crate::metrics::sign_in(journey, SignInOutcome::IdentityNotVerified, Some(47));
                    ctx.session.update(|data| {
                        if let Some(user) = data.user.as_mut() {
                            user.identity = IdentityStatus::NotVerified;
                        }
                    });
                    Redirect::to(app::routes::IDENTITY_NOT_VERIFIED).into_response()
                }
                None => {
                    crate::metrics::sign_in(journey, SignInOutcome::Refused, None);
                    problem("failed")
                }
            }
        }
    })
}

/// Where a sign-out that needs confirming goes: a "Sign out?" page whose button posts to `/sign-out`.
pub const SIGN_OUT_CONFIRM_PATH: &str = app::routes::SIGN_OUT_CONFIRM;

/// `GET /sign-out`: the One Login header's "Sign out" link. Signing out changes state, so a GET does it only when
/// the browser says it is a navigation from our own pages (`Sec-Fetch-Site: same-origin`). Anything else (another
/// site, a sibling subdomain, a typed address, a browser that sends no such header) gets the "Sign out?" page.
pub async fn sign_out(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
) -> Response {
    if ctx.session.user().is_none() {
        return Redirect::to(app::routes::SIGNED_OUT).into_response();
    }
    let from_our_pages = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s == "same-origin");
    if !from_our_pages {
        return Redirect::to(SIGN_OUT_CONFIRM_PATH).into_response();
    }
    end_session(&state, &ctx).await
}

/// `POST /sign-out`: the "Sign out?" page's button (the session middleware has checked its CSRF token).
pub async fn sign_out_confirmed(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Response {
    end_session(&state, &ctx).await
}

/// Ends our session, then One Login's (rule 48).
pub(super) async fn end_session(state: &AppState, ctx: &RequestContext) -> Response {
    let Some(user) = ctx.session.user() else {
        return Redirect::to(app::routes::SIGNED_OUT).into_response();
    };
    let Some(id_token) = user.one_login_id_token().map(str::to_string) else {
        // Signed in with a DfE Identity account: there is no One Login session to end.
        ctx.session.end();
        return Redirect::to(app::routes::SIGNED_OUT).into_response();
    };
    let logout_state = crate::onelogin::client::random_token();
    ctx.session.end();
    // A fresh session remembers the logout state, to check it on the page One Login sends the browser back to.
    ctx.session
        .update(|data| data.logout_state = Some(logout_state.clone()));
    match state.one_login.logout_url(&id_token, &logout_state).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => {
            tracing::warn!(rule = e.rule(), reason = %e, "could not build the One Login logout URL; signed out here only");
            Redirect::to(app::routes::SIGNED_OUT).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct SignedOutQuery {
    state: Option<String>,
}

/// `GET /signed-out` checks One Login's `state` (rule 48) and shows the signed-out page, or, when a service asked
/// for the sign-out (`/oauth2/logout`), goes back to the service.
pub async fn signed_out_check(
    Extension(ctx): Extension<RequestContext>,
    Query(query): Query<SignedOutQuery>,
) -> Response {
    let expected = ctx.session.lock().data.logout_state.clone();
    if query.state.is_some() && query.state != expected {
        tracing::warn!(
            rule = 48,
            "signed-out page reached with a state we did not send"
        );
    }
    let back_to = ctx.session.lock().data.post_logout_redirect.clone();
    if expected.is_some() || back_to.is_some() {
        ctx.session.update(|data| {
            data.logout_state = None;
            data.post_logout_redirect = None;
        });
    }
    match back_to {
        Some(uri) => (
            axum::http::StatusCode::FOUND,
            [(axum::http::header::LOCATION, uri)],
        )
            .into_response(),
        None => Redirect::to(app::routes::SIGNED_OUT_DONE).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LogoutTokenForm {
    logout_token: String,
}

/// `POST /auth/backchannel-logout`: One Login says this person signed out; every session of theirs ends (rule 50).
pub async fn backchannel_logout(
    State(state): State<AppState>,
    Form(form): Form<LogoutTokenForm>,
) -> Response {
    let now = Utc::now();
    let token = match state
        .one_login
        .validate_logout_token(&form.logout_token, now.timestamp())
        .await
    {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(rule = e.rule(), reason = %e, "back-channel logout refused");
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"error": "invalid_request"})),
            )
                .into_response();
        }
    };
    match state
        .store
        .remember_logout_token(&token.jti, now, now - chrono::Duration::minutes(3))
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(rule = 50, "back-channel logout token replayed");
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"error": "invalid_request"})),
            )
                .into_response();
        }
        Err(e) => return AppError::store("recording a logout token")(e).into_response(),
    }
    match state
        .store
        .delete_sessions_for_subject(&token.subject)
        .await
    {
        Ok(ended) => {
            tracing::info!(
                rule = 50,
                sessions = ended,
                "back-channel logout ended sessions"
            );
            StatusCode::OK.into_response()
        }
        Err(e) => AppError::store("ending sessions for a back-channel logout")(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::trn_token_in;

    #[test]
    fn a_trn_token_is_taken_from_the_query_only_when_it_has_a_tokens_shape() {
        let token = "a".repeat(43);
        assert_eq!(
            trn_token_in(Some(&format!("trn_token={token}"))),
            Some(token.clone())
        );
        assert_eq!(
            trn_token_in(Some(&format!("x=1&trn_token={token}&trn_token=b"))),
            Some(token.clone()),
            "the first one"
        );
        for query in [
            None,
            Some(""),
            Some("trn_token="),
            Some("trn_token=short"),
            Some("token=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ] {
            assert_eq!(trn_token_in(query), None, "{query:?}");
        }
        let with_bad_character = format!("trn_token={}%2B", "a".repeat(42));
        assert_eq!(trn_token_in(Some(&with_bad_character)), None);
    }
}
