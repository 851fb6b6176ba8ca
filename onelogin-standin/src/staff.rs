//! The staff client: the support console, whose people sign in with Microsoft Entra ID in production. The stand-in
//! serves it at the same issuer, with the same discovery document and signing keys as the teacher client, but as
//! Entra would treat such an app: authorization code with PKCE (S256, required), a client secret
//! (`client_secret_basic` or `client_secret_post`), and an ID token with `email`, `name` and `preferred_username`,
//! Entra's stable ids `tid` (the tenant, [`STANDIN_TENANT_ID`]) and `oid`, and whether the email is verified, both
//! as `email_verified` and as Entra's optional `xms_edov` claim (always the same value). No identity and no roles:
//! the service keeps staff roles in its own database.
//!
//! The two clients never meet: a staff `client_id` at `/authorize` gets the staff picker (or the queued staff
//! sign-in) and nothing else, and staff requests and codes are kept apart from the teacher client's, so a code issued
//! to one client cannot be redeemed by the other.

use crate::authorize::{callback_url, redirect, Refusal};
use crate::jose;
use crate::personas::CUSTOM;
use crate::picker::{
    branded_layout, error_summary, escape, html, input, looks_like_email, radios, Brand,
    FieldError, Values,
};
use crate::state::{now, Provider, CODE_TTL_SECS};
use crate::token::TokenError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// How long a staff access token works at `/userinfo` (Entra's are about an hour).
pub const STAFF_ACCESS_TOKEN_TTL_SECS: i64 = 3600;
/// How long a staff ID token is valid, as Entra's (one hour).
pub const STAFF_ID_TOKEN_TTL_SECS: i64 = 3600;
/// The longest name "Someone else" may have.
const MAX_NAME_CHARS: usize = 100;
/// The longest email address (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 254;
/// Where the staff picker's form posts.
pub const STAFF_SUBMIT_PATH: &str = "/authorize/staff/submit";

/// The tenant id (`tid`) of every staff sign-in unless a test queues another: set `STAFF_OIDC_TENANT_ID` to it to
/// try the tenant check in development.
pub const STANDIN_TENANT_ID: &str = "0d9b3a5e-7c21-4f68-9e4b-3a1c5d7e9f02";

/// The staff pages.
const ENTRA: Brand = Brand {
    name: "Microsoft Entra ID stand-in",
    banner: "This is not Microsoft Entra ID. It stands in for it on this computer, for development and testing.",
};

/// The staff client, as it would be registered in Microsoft Entra ID: a confidential web app with a client secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffClient {
    /// Must differ from the teacher client's id.
    pub client_id: String,
    pub client_secret: String,
    /// Exact callback URLs the client may use.
    pub redirect_uris: Vec<String>,
}

/// A member of staff the staff picker lists, always signing in with the same `sub`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StaffPersona {
    /// Stable id used by tests and the picker, e.g. `admin`.
    pub id: String,
    /// The subject identifier, fixed for the persona: a uuid, like an Entra object id.
    pub sub: String,
    pub name: String,
    pub email: String,
    /// The role the persona usually has in development, e.g. `administrator`. Not in any token: only a hint.
    pub usual_role: String,
}

/// Who a staff sign-in is for: what the ID token (and `/userinfo`) says about them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub sub: String,
    pub name: String,
    pub email: String,
    /// Entra's object id: the person's id in the tenant, whatever their email.
    #[serde(default)]
    pub oid: String,
    /// Entra's tenant id.
    #[serde(default = "standin_tenant")]
    pub tid: String,
    /// Sent as `email_verified` and `xms_edov`.
    #[serde(default = "verified")]
    pub email_verified: bool,
}

fn standin_tenant() -> String {
    STANDIN_TENANT_ID.to_string()
}

fn verified() -> bool {
    true
}

impl From<&StaffPersona> for StaffMember {
    fn from(p: &StaffPersona) -> Self {
        Self {
            sub: p.sub.clone(),
            name: p.name.clone(),
            email: p.email.clone(),
            oid: p.sub.clone(),
            tid: standin_tenant(),
            email_verified: true,
        }
    }
}

/// Why a staff sign-in cannot be queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StaffLoginError {
    #[error("the stand-in has no staff client")]
    NoStaffClient,
    #[error("{0:?} is not an email address")]
    Email(String),
    #[error("a staff member's name must be 1 to {MAX_NAME_CHARS} characters")]
    Name,
}

/// id, sub, name, email, usual role.
const PERSONAS: [(&str, &str, &str, &str, &str); 5] = [
    (
        "admin",
        "6f1c2a8e-3b4d-4e5f-9a01-2b3c4d5e6f70",
        "Ada Adeyemi",
        "ada.adeyemi@education.gov.uk",
        "an administrator",
    ),
    (
        "officer",
        "0b7e9d42-5c1a-4f3e-8d26-7a9b0c1d2e3f",
        "Sam Okafor",
        "sam.okafor@education.gov.uk",
        "a support officer",
    ),
    (
        "officer2",
        "a3d5f7b9-1c2e-4a6b-8c0d-e1f2a3b4c5d6",
        "Priya Shah",
        "priya.shah@education.gov.uk",
        "a second support officer",
    ),
    (
        "viewer",
        "5e8a1b3c-7d9f-4b2e-a4c6-d8e0f2a4b6c8",
        "Vic Evans",
        "vic.evans@education.gov.uk",
        "a viewer (read only)",
    ),
    (
        "norole",
        "c9e7a5b3-1f2d-4c8e-b6a4-92e0c8a6b4d2",
        "Noor Khan",
        "noor.khan@education.gov.uk",
        "without any role",
    ),
];

/// The fixed staff personas, in the order the staff picker lists them.
pub fn staff_personas() -> Vec<StaffPersona> {
    PERSONAS
        .iter()
        .map(|(id, sub, name, email, role)| StaffPersona {
            id: (*id).into(),
            sub: (*sub).into(),
            name: (*name).into(),
            email: (*email).into(),
            usual_role: (*role).into(),
        })
        .collect()
}

fn persona_by_email(email: &str) -> Option<StaffPersona> {
    staff_personas()
        .into_iter()
        .find(|p| p.email.eq_ignore_ascii_case(email.trim()))
}

/// The `sub` a staff sign-in with `email` gets: a persona's fixed one for a persona's email, otherwise a uuid made
/// from the SHA-256 of the lowercased email (version 8, "custom"), so the same email always has the same `sub`.
pub fn staff_sub(email: &str) -> String {
    match persona_by_email(email) {
        Some(persona) => persona.sub,
        None => derived_sub(email),
    }
}

fn derived_sub(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn valid_email(email: &str) -> bool {
    email.chars().count() <= MAX_EMAIL_CHARS && looks_like_email(email)
}

fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=MAX_NAME_CHARS).contains(&n)
}

/// A name made from an email's local part: `jo.bloggs-smith@…` is "Jo Bloggs Smith".
fn name_from_email(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    let words: Vec<String> = local
        .split(['.', '_', '-', '+'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .collect();
    let name = if words.is_empty() {
        local.to_string()
    } else {
        words.join(" ")
    };
    name.chars().take(MAX_NAME_CHARS).collect()
}

/// Who signs in with `email`: the persona with that email (whatever `name` says), or someone else called `name`
/// (made from the email if `None`) whose `sub` is [`staff_sub`] of the email.
pub fn staff_member(email: &str, name: Option<&str>) -> Result<StaffMember, StaffLoginError> {
    let email = email.trim();
    if !valid_email(email) {
        return Err(StaffLoginError::Email(email.to_string()));
    }
    let name = name.map(str::trim);
    if name.is_some_and(|n| !valid_name(n)) {
        return Err(StaffLoginError::Name);
    }
    if let Some(persona) = persona_by_email(email) {
        return Ok(StaffMember::from(&persona));
    }
    Ok(StaffMember {
        sub: derived_sub(email),
        name: name.map_or_else(|| name_from_email(email), String::from),
        email: email.to_string(),
        oid: derived_sub(email),
        tid: standin_tenant(),
        email_verified: true,
    })
}

/// Queues the next staff sign-in: the next valid staff `/authorize` skips the picker. Replaces any queued before.
pub fn queue(
    p: &Provider,
    email: &str,
    name: Option<&str>,
) -> Result<StaffMember, StaffLoginError> {
    if p.staff.is_none() {
        return Err(StaffLoginError::NoStaffClient);
    }
    let member = staff_member(email, name)?;
    p.store().next_staff_login = Some(member.clone());
    Ok(member)
}

/// Queues the next staff sign-in exactly as given (ids, tenant and whether the email is verified), for tests of the
/// service's binding rules. Replaces any queued before.
pub fn queue_member(p: &Provider, member: StaffMember) -> Result<StaffMember, StaffLoginError> {
    if p.staff.is_none() {
        return Err(StaffLoginError::NoStaffClient);
    }
    if !valid_email(&member.email) {
        return Err(StaffLoginError::Email(member.email));
    }
    p.store().next_staff_login = Some(member.clone());
    Ok(member)
}

/// A validated staff `/authorize` request.
#[derive(Clone, Debug)]
pub struct StaffRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    /// The S256 PKCE challenge: always present, as the staff client must send one.
    pub code_challenge: String,
}

/// A completed staff sign-in: what a staff code stands for.
#[derive(Clone, Debug)]
pub struct StaffGrant {
    pub request: StaffRequest,
    pub member: StaffMember,
    pub issued_at: i64,
}

/// Why a staff authorise request was refused.
enum Refused {
    /// The redirect URI is not registered: an error page, never a redirect, as Entra shows (AADSTS50011).
    Page { redirect_uri: Option<String> },
    /// An OAuth error sent back to the registered redirect URI.
    Back(Refusal),
}

/// `GET /authorize` with the staff client's `client_id` (the caller has matched it).
pub fn authorize(p: &Provider, staff: &StaffClient, params: &HashMap<String, String>) -> Response {
    let request = match validate(staff, params) {
        Ok(request) => request,
        Err(Refused::Page { redirect_uri }) => {
            tracing::info!(
                error = "redirect_uri_mismatch",
                "staff authorise request refused"
            );
            return redirect_mismatch_page(staff, redirect_uri.as_deref());
        }
        Err(Refused::Back(refusal)) => {
            if let Refusal::Redirect { error, .. } = &refusal {
                tracing::info!(error = *error, "staff authorise request refused");
            }
            return refusal.into_response();
        }
    };
    let queued = {
        let mut store = p.store();
        store.sweep(now());
        store.next_staff_login.take()
    };
    match queued {
        Some(member) => complete(p, request, member),
        None => {
            let id = jose::random_token(16);
            p.store().staff_pending.insert(id.clone(), (request, now()));
            page(&id, None)
        }
    }
}

fn validate(
    staff: &StaffClient,
    params: &HashMap<String, String>,
) -> Result<StaffRequest, Refused> {
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if staff.redirect_uris.contains(uri) => uri.clone(),
        other => {
            return Err(Refused::Page {
                redirect_uri: other.cloned(),
            })
        }
    };
    let state = params.get("state").filter(|s| !s.is_empty()).cloned();
    let refuse = |error: &'static str, description: &'static str| {
        Refused::Back(Refusal::Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description,
            state: state.clone(),
        })
    };
    let state_value = crate::authorize::state_and_code_flow(params, refuse)?;
    if params.contains_key("request") || params.contains_key("request_uri") {
        return Err(refuse(
            "request_not_supported",
            "Request objects are not supported for this client",
        ));
    }
    if !matches!(
        params.get("response_mode").map(String::as_str),
        None | Some("query")
    ) {
        return Err(refuse(
            "invalid_request",
            "Only response_mode=query is supported",
        ));
    }
    let has_openid = params
        .get("scope")
        .is_some_and(|s| s.split(' ').any(|s| s == "openid"));
    if !has_openid {
        return Err(refuse("invalid_request", "Request is missing openid scope"));
    }
    let Some(nonce) = params.get("nonce").filter(|n| !n.is_empty()).cloned() else {
        return Err(refuse(
            "invalid_request",
            "Request is missing nonce parameter",
        ));
    };
    let Some(challenge) = params.get("code_challenge").filter(|c| !c.is_empty()) else {
        return Err(refuse(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        ));
    };
    crate::authorize::s256_challenge(params, challenge, refuse)?;
    Ok(StaffRequest {
        client_id: staff.client_id.clone(),
        redirect_uri,
        state: state_value,
        nonce,
        code_challenge: challenge.clone(),
    })
}

/// Ends a staff sign-in with a code on the callback.
fn complete(p: &Provider, request: StaffRequest, member: StaffMember) -> Response {
    let code = jose::random_token(32);
    let location = callback_url(
        &request.redirect_uri,
        &[("code", &code), ("state", &request.state)],
    );
    tracing::info!("staff sign-in completed");
    p.store().staff_codes.insert(
        code,
        StaffGrant {
            request,
            member,
            issued_at: now(),
        },
    );
    redirect(&location)
}

/// The page for an unregistered (or missing) redirect URI: there is nowhere safe to send the user.
fn redirect_mismatch_page(staff: &StaffClient, sent: Option<&str>) -> Response {
    let mut main = String::from(
        r#"<h1 class="govuk-heading-l">Sorry, there is a problem signing you in</h1>"#,
    );
    match sent {
        Some(uri) => {
            let _ = write!(
                main,
                r#"<p class="govuk-body">The redirect URI <code>{}</code> in the request does not match the redirect URIs registered for the application <code>{}</code> (AADSTS50011).</p>"#,
                escape(uri),
                escape(&staff.client_id)
            );
        }
        None => {
            let _ = write!(
                main,
                r#"<p class="govuk-body">The request has no redirect URI. The application <code>{}</code> must send one of its registered redirect URIs (AADSTS50011).</p>"#,
                escape(&staff.client_id)
            );
        }
    }
    main.push_str(r#"<p class="govuk-body">Registered redirect URIs:</p><ul class="govuk-list govuk-list--bullet">"#);
    for uri in &staff.redirect_uris {
        let _ = write!(main, "<li><code>{}</code></li>", escape(uri));
    }
    main.push_str("</ul>");
    html(
        StatusCode::BAD_REQUEST,
        branded_layout(&ENTRA, "Sorry, there is a problem signing you in", &main),
    )
}

const HEADING: &str = "Sign in as a member of staff";

/// The staff picker for the waiting request `request_id`, with the values and errors of a failed submission if any.
fn page(request_id: &str, failed: Option<(&Values, &[FieldError])>) -> Response {
    let empty = Values::new();
    let (values, errors) = failed.unwrap_or((&empty, &[]));
    let value = |name: &str| escape(values.get(name).map(String::as_str).unwrap_or(""));
    let error_for = |id: &str| {
        errors
            .iter()
            .find(|(field, _)| *field == id)
            .map(|(_, m)| m.as_str())
    };
    let mut main = String::new();
    error_summary(&mut main, errors);
    let _ = write!(
        main,
        r#"<span class="govuk-caption-l">Microsoft Entra ID stand-in</span>
<h1 class="govuk-heading-l">{HEADING}</h1>
<p class="govuk-body">The support console asked to sign in a member of staff. Roles are not part of the sign-in: the service keeps them in its own database, so a person’s usual role below is only a hint.</p>
<form method="post" action="{STAFF_SUBMIT_PATH}" novalidate>
<input type="hidden" name="request_id" value="{}">"#,
        escape(request_id)
    );
    let mut options: Vec<(String, String, String)> = staff_personas()
        .iter()
        .map(|p| {
            (
                p.id.clone(),
                p.name.clone(),
                format!("{}. Usually {} in development.", p.email, p.usual_role),
            )
        })
        .collect();
    options.push((
        CUSTOM.into(),
        "Someone else".into(),
        "Type their email address and name under ‘Someone else’s details’ below.".into(),
    ));
    radios(
        &mut main,
        "persona",
        "Who signs in",
        "Each person always signs in with the same subject identifier.",
        &options,
        values.get("persona").map(String::as_str),
        error_for("persona"),
    );
    main.push_str(
        r#"<h2 class="govuk-heading-m">Someone else’s details</h2>
<p class="govuk-body">Only needed if you chose ‘Someone else’. An email address of one of the people above signs in as them.</p>"#,
    );
    input(
        &mut main,
        "email",
        "email",
        "Email address",
        Some("For example, firstname.lastname@education.gov.uk"),
        "email",
        &value("email"),
        error_for("email"),
    );
    input(
        &mut main,
        "text",
        "name",
        "Full name",
        None,
        "name",
        &value("name"),
        error_for("name"),
    );
    main.push_str(
        r#"<div class="govuk-button-group">
<button type="submit" class="govuk-button" data-module="govuk-button">Continue</button>
<button type="submit" name="action" value="cancel" class="govuk-button govuk-button--secondary" data-module="govuk-button">Cancel sign-in</button>
</div>
</form>"#,
    );
    let (title, status) = if errors.is_empty() {
        (HEADING.to_string(), StatusCode::OK)
    } else {
        (format!("Error: {HEADING}"), StatusCode::BAD_REQUEST)
    };
    html(status, branded_layout(&ENTRA, &title, &main))
}

/// The page for a submission whose staff request is gone (expired, already used, or never existed).
fn expired() -> Response {
    html(
        StatusCode::BAD_REQUEST,
        branded_layout(
            &ENTRA,
            "This sign-in has expired",
            r#"<h1 class="govuk-heading-l">This sign-in has expired</h1>
<p class="govuk-body">It was already used, or it waited too long. Go back to the support console and sign in again.</p>"#,
        ),
    )
}

/// `POST /authorize/staff/submit`: the staff picker's form.
pub async fn submit(State(p): State<Arc<Provider>>, body: Bytes) -> Response {
    let values: Values = form_urlencoded::parse(&body).into_owned().collect();
    let Some(request_id) = values.get("request_id").cloned() else {
        return expired();
    };
    let known = {
        let mut store = p.store();
        store.sweep(now());
        store.staff_pending.contains_key(&request_id)
    };
    if !known {
        return expired();
    }
    if values.get("action").map(String::as_str) == Some("cancel") {
        let Some((request, _)) = p.store().staff_pending.remove(&request_id) else {
            return expired();
        };
        tracing::info!("staff sign-in cancelled");
        return Refusal::Redirect {
            redirect_uri: request.redirect_uri,
            error: "access_denied",
            description: "The user cancelled the sign-in",
            state: Some(request.state),
        }
        .into_response();
    }
    match read_choice(&values) {
        Err(errors) => page(&request_id, Some((&values, &errors))),
        Ok(member) => {
            // Taken only now, so a form with mistakes can be corrected and sent again.
            let Some((request, _)) = p.store().staff_pending.remove(&request_id) else {
                return expired();
            };
            complete(&p, request, member)
        }
    }
}

/// The member of staff chosen, or what is wrong with the form.
fn read_choice(values: &Values) -> Result<StaffMember, Vec<FieldError>> {
    let field = |name: &str| values.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    match field("persona") {
        None => Err(vec![("persona", "Select who signs in".into())]),
        Some(CUSTOM) => {
            let mut errors: Vec<FieldError> = Vec::new();
            match field("email") {
                None => errors.push(("email", "Enter their email address".into())),
                Some(e) if !valid_email(e) => errors.push((
                    "email",
                    "Enter an email address in the correct format, like name@education.gov.uk"
                        .into(),
                )),
                Some(_) => {}
            }
            match field("name") {
                None => errors.push(("name", "Enter their full name".into())),
                Some(n) if !valid_name(n) => errors.push((
                    "name",
                    format!("Full name must be {MAX_NAME_CHARS} characters or fewer"),
                )),
                Some(_) => {}
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            staff_member(field("email").unwrap_or(""), field("name"))
                .map_err(|e| vec![("email", e.to_string())])
        }
        Some(id) => staff_personas()
            .iter()
            .find(|p| p.id == id)
            .map(StaffMember::from)
            .ok_or_else(|| vec![("persona", "Select who signs in".into())]),
    }
}

/// Whether a `/token` request is the staff client's: it has no client assertion (the teacher client always sends
/// one) and authenticates with a secret, HTTP Basic, or names the staff client.
pub fn is_token_request(p: &Provider, headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let Some(staff) = &p.staff else {
        return false;
    };
    if form.contains_key("client_assertion") {
        return false;
    }
    headers.contains_key(header::AUTHORIZATION)
        || form.contains_key("client_secret")
        || form.get("client_id") == Some(&staff.client_id)
}

fn error(status: StatusCode, error: &'static str, description: &'static str) -> TokenError {
    TokenError {
        status,
        error,
        description,
    }
}

fn invalid_client(description: &'static str) -> TokenError {
    error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

fn invalid_grant(description: &'static str) -> TokenError {
    error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// `POST /token` for the staff client (the caller has checked [`is_token_request`]).
pub fn token(
    p: &Provider,
    staff: &StaffClient,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Response {
    let grant = match exchange(p, staff, headers, form) {
        Ok(grant) => grant,
        Err(e) => {
            tracing::info!(error = e.error, "staff token request refused");
            let unauthorised = e.status == StatusCode::UNAUTHORIZED;
            let mut response = e.into_response();
            if unauthorised {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="onelogin-standin""#),
                );
            }
            return response;
        }
    };
    let access_token = jose::random_token(32);
    let id_token = id_token(p, &grant);
    p.store()
        .staff_access_tokens
        .insert(access_token.clone(), (grant.member, now()));
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": STAFF_ACCESS_TOKEN_TTL_SECS,
            "id_token": id_token,
        })),
    )
        .into_response()
}

/// Authenticates the staff client, then takes the code and checks it and its PKCE verifier.
fn exchange(
    p: &Provider,
    staff: &StaffClient,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<StaffGrant, TokenError> {
    authenticate(staff, headers, form)?;
    let field = |name: &str| form.get(name).filter(|v| !v.is_empty());
    let (Some(grant_type), Some(code), Some(redirect_uri)) =
        (field("grant_type"), field("code"), field("redirect_uri"))
    else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Request is missing parameters",
        ));
    };
    if grant_type != "authorization_code" {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        ));
    }
    // The code is spent by this attempt whatever follows.
    let grant = p
        .store()
        .staff_codes
        .remove(code.as_str())
        .ok_or_else(|| invalid_grant("Invalid grant"))?;
    if grant.request.client_id != staff.client_id
        || &grant.request.redirect_uri != redirect_uri
        || now() - grant.issued_at >= CODE_TTL_SECS
    {
        return Err(invalid_grant("Invalid grant"));
    }
    match field("code_verifier") {
        Some(verifier) if jose::pkce_s256(verifier) == grant.request.code_challenge => Ok(grant),
        _ => Err(invalid_grant("PKCE code verification failed")),
    }
}

/// `client_secret_basic` or `client_secret_post`, exactly one of them.
fn authenticate(
    staff: &StaffClient,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<(), TokenError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(
            basic_credentials(value)
                .ok_or_else(|| invalid_client("Invalid client authentication"))?,
        ),
    };
    let (client_id, secret) = match (basic, form.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Use only one client authentication method",
            ))
        }
        (Some((id, secret)), None) => {
            if form.get("client_id").is_some_and(|posted| *posted != id) {
                return Err(invalid_client("Invalid client authentication"));
            }
            (id, secret)
        }
        (None, Some(secret)) => match form.get("client_id") {
            Some(id) => (id.clone(), secret.clone()),
            None => return Err(invalid_client("Request is missing client_id")),
        },
        (None, None) => return Err(invalid_client("Client authentication is required")),
    };
    if client_id != staff.client_id || !same_secret(&secret, &staff.client_secret) {
        return Err(invalid_client("Invalid client secret"));
    }
    Ok(())
}

/// The client id and secret of an HTTP Basic `Authorization` header, each URL-decoded (RFC 6749 §2.3.1).
fn basic_credentials(value: &HeaderValue) -> Option<(String, String)> {
    let (scheme, encoded) = value.to_str().ok()?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte. `None` if a `%` is not
/// followed by two hex digits or the result is not UTF-8.
fn form_decode(text: &str) -> Option<String> {
    // The crate keeps a malformed `%` as text; a client secret that has one is refused instead.
    let malformed = text.split('%').skip(1).any(|after| {
        !after
            .as_bytes()
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if malformed {
        return None;
    }
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Compares secrets without stopping at the first difference.
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The staff ID token: ES256 with the provider's active signing key (the JWKS's), audience the staff client.
fn id_token(p: &Provider, grant: &StaffGrant) -> String {
    let iat = now();
    let member = &grant.member;
    let claims = json!({
        "iss": p.issuer,
        "aud": grant.request.client_id,
        "sub": member.sub,
        "oid": member.oid,
        "tid": member.tid,
        "nonce": grant.request.nonce,
        "iat": iat,
        "nbf": iat,
        "exp": iat + STAFF_ID_TOKEN_TTL_SECS,
        "email": member.email,
        "email_verified": member.email_verified,
        "xms_edov": member.email_verified,
        "name": member.name,
        "preferred_username": member.email,
    });
    let keys = p.keys();
    let key = keys.active();
    key.sign(
        &json!({ "alg": "ES256", "kid": key.kid, "typ": "JWT" }),
        &claims,
    )
}

/// The `/userinfo` body for a staff access token, if it is one that is still valid.
pub fn userinfo(p: &Provider, access_token: &str) -> Option<Value> {
    let store = p.store();
    let (member, issued_at) = store.staff_access_tokens.get(access_token)?;
    if now() - issued_at >= STAFF_ACCESS_TOKEN_TTL_SECS {
        return None;
    }
    Some(json!({
        "sub": member.sub,
        "name": member.name,
        "email": member.email,
        "preferred_username": member.email,
    }))
}

/// The JSON of `POST /admin/next-staff-login`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NextStaffLogin {
    email: String,
    #[serde(default)]
    name: Option<String>,
}

/// `POST /admin/next-staff-login` `{"email": …, "name": …}`: queues the next staff sign-in, and answers with who it
/// will be (`sub`, `name`, `email`).
pub async fn admin_next_login(State(p): State<Arc<Provider>>, body: Bytes) -> Response {
    let next: NextStaffLogin = match serde_json::from_slice(&body) {
        Ok(next) => next,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("Not a valid next staff login: {e}") })),
            )
                .into_response()
        }
    };
    match queue(&p, &next.email, next.name.as_deref()) {
        Ok(member) => Json(member).into_response(),
        Err(e) => {
            let status = if e == StaffLoginError::NoStaffClient {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            (status, Json(json!({ "error": e.to_string() }))).into_response()
        }
    }
}

/// `DELETE /admin/next-staff-login`: forget a queued staff sign-in, so the staff picker shows again.
pub async fn admin_clear_next_login(State(p): State<Arc<Provider>>) -> StatusCode {
    p.store().next_staff_login = None;
    StatusCode::NO_CONTENT
}

/// `GET /admin/staff-personas`: the staff personas as JSON.
pub async fn admin_personas() -> Response {
    Json(staff_personas()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persona_subs_are_fixed_uuids_and_emails_unique() {
        let personas = staff_personas();
        assert_eq!(personas.len(), 5);
        for p in &personas {
            assert!(uuid::Uuid::parse_str(&p.sub).is_ok(), "{}", p.id);
            assert_eq!(staff_sub(&p.email.to_uppercase()), p.sub);
        }
        let mut emails: Vec<&str> = personas.iter().map(|p| p.email.as_str()).collect();
        emails.sort_unstable();
        emails.dedup();
        assert_eq!(emails.len(), personas.len());
    }

    #[test]
    fn someone_elses_sub_follows_from_the_lowercased_email() {
        let sub = staff_sub("Jo.Bloggs@Example.com");
        assert_eq!(sub, staff_sub(" jo.bloggs@example.com "));
        assert_ne!(sub, staff_sub("jo.bloggs2@example.com"));
        let parsed = uuid::Uuid::parse_str(&sub).expect("uuid");
        assert_eq!(parsed.get_version_num(), 8);
        let digest = Sha256::digest(b"jo.bloggs@example.com");
        // Apart from the version and variant bits, the uuid is the digest's first 16 bytes.
        assert_eq!(parsed.as_bytes()[..6], digest[..6]);
    }

    #[test]
    fn members_come_from_personas_or_the_email() {
        let ada = staff_member("ADA.ADEYEMI@education.gov.uk", Some("Someone")).expect("ok");
        assert_eq!(ada.name, "Ada Adeyemi");
        assert_eq!(ada.sub, "6f1c2a8e-3b4d-4e5f-9a01-2b3c4d5e6f70");
        let jo = staff_member("jo.bloggs-smith@example.com", None).expect("ok");
        assert_eq!(jo.name, "Jo Bloggs Smith");
        let named = staff_member("jo@example.com", Some(" Jo B ")).expect("ok");
        assert_eq!(named.name, "Jo B");
        assert_eq!(
            staff_member("nope", None),
            Err(StaffLoginError::Email("nope".into()))
        );
        assert_eq!(
            staff_member("jo@example.com", Some("")),
            Err(StaffLoginError::Name)
        );
        assert_eq!(
            staff_member("jo@example.com", Some(&"x".repeat(101))),
            Err(StaffLoginError::Name)
        );
    }

    #[test]
    fn basic_credentials_are_url_decoded() {
        let header = |raw: &str| {
            HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ))
            .expect("header")
        };
        assert_eq!(
            basic_credentials(&header("my%20client:a%3Ab+c%2B")),
            Some(("my client".into(), "a:b c+".into()))
        );
        assert_eq!(basic_credentials(&header("no-colon")), None);
        assert_eq!(basic_credentials(&header("id:bad%zz")), None);
        assert_eq!(basic_credentials(&header("id:bad%+1")), None);
        assert_eq!(
            basic_credentials(&HeaderValue::from_static("Bearer abc")),
            None
        );
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("s3cret", "s3cret"));
        assert!(!same_secret("s3cret", "s3cret "));
        assert!(!same_secret("", "s3cret"));
    }
}
