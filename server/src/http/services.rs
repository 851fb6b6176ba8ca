//! The console's forms for the services that use Teacher ID (issue 12 items 2 and 4): add a service (an OpenID
//! Connect client), change its URIs, say whether its new account holders need a mobile, make it a new secret, disable or enable it; add an API client, disable or
//! enable it. Administrators only, checked here whatever the pages show; every change is audited (who, what,
//! which client; never a secret). The checks are `server client add`'s and `server api-client add`'s
//! ([`crate::client_registration`]).
//!
//! A new secret or key reaches the page that shows it through the staff session's flash, as every form's
//! message does: it is held server-side, in the session's row, only until that page is shown (the very next
//! request), which takes it. Only its SHA-256 is kept after that.

use super::error::{AppError, HandlerResult};
use crate::client_registration::{
    check_api_client, check_client, check_uris, ApiClientField, ApiClientInput, ClientField,
    ClientInput, ClientProblem,
};
use crate::console::StoreConsole;
use crate::db::provider::ClientUris;
use crate::db::support::AuditEvent;
use crate::provider::ClientAddOutcome;
use crate::state::AppState;
use app::domain::provider::MobilePolicy;
use app::domain::services::{
    api_client_href, fields, lines, secret_of, service_action, service_href,
};
use app::domain::support::{Permission, StaffMember};
use app::domain::FieldError;
use app::forms::FormId;
use app::routes;
use app::ssr::{Flash, RequestContext};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::Extension;
use chrono::Utc;
use std::collections::BTreeMap;

/// The signed-in administrator, or sign in first, or 403.
async fn administrator(state: &AppState, ctx: &RequestContext) -> Result<StaffMember, AppError> {
    Ok(app::ssr::signed_in_staff(
        &ctx.staff,
        &StoreConsole::new(state),
        Permission::ManageServices,
    )
    .await?)
}

/// A form's fields, a field sent more than once (checkboxes) as often as it was sent.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn read(body: &Bytes) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, if sent.
    fn one(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A textarea's values, one on each line: each trimmed, blank lines left out.
    fn lines(&self, name: &str) -> Vec<String> {
        lines(&self.one(name).unwrap_or_default())
    }

    /// What the form sent for `names`, to show again beside its errors (checkboxes as one value, space-separated).
    fn typed(&self, names: &[&str]) -> BTreeMap<String, String> {
        names
            .iter()
            .map(|name| (name.to_string(), self.all(name).join(" ")))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }
}

async fn audit(state: &AppState, me: &StaffMember, event: AuditEvent) -> Result<(), AppError> {
    state
        .store
        .audit_event(Some(me.id), None, &event, Utc::now())
        .await
        .map_err(AppError::store("auditing a change to a service"))
}

/// Audits a change the store has made (`what` names it in the log if the store failed); one it could not make
/// because the row is not there (any more) is a 404, and nothing is audited.
async fn audit_change(
    state: &AppState,
    me: &StaffMember,
    changed: Result<bool, crate::db::StoreError>,
    what: &'static str,
    event: AuditEvent,
) -> Result<(), AppError> {
    if !changed.map_err(AppError::store(what))? {
        return Err(AppError::NotFound);
    }
    audit(state, me, event).await
}

fn banner(ctx: &RequestContext, text: String) {
    ctx.staff.set_flash(Flash {
        form: FormId::SupportBanner,
        values: [("banner".to_string(), text)].into_iter().collect(),
        errors: vec![],
    });
}

/// Back to `to`, with `text` in its banner.
fn done(ctx: &RequestContext, text: String, to: &str) -> HandlerResult {
    banner(ctx, text);
    Ok(Redirect::to(to).into_response())
}

fn enabled_word(enabled: bool) -> &'static str {
    if enabled {
        "enabled"
    } else {
        "disabled"
    }
}

/// To the page that shows a new secret, with the secret in the flash.
fn show_secret(ctx: &RequestContext, secret: String, whose: String, to: String) -> HandlerResult {
    ctx.staff.set_flash(Flash {
        form: FormId::NewSecret,
        values: [
            (fields::SECRET.to_string(), secret),
            (fields::SECRET_OF.to_string(), whose),
        ]
        .into_iter()
        .collect(),
        errors: vec![],
    });
    Ok(Redirect::to(&to).into_response())
}

/// To the page that shows a service's new client secret.
fn show_client_secret(ctx: &RequestContext, secret: String, client_id: &str) -> HandlerResult {
    show_secret(
        ctx,
        secret,
        secret_of(false, client_id),
        service_action(client_id, "secret"),
    )
}

fn client_errors(problems: &[ClientProblem]) -> Vec<FieldError> {
    problems
        .iter()
        .map(|p| FieldError::new(p.field.form_field(), p.console()))
        .collect()
}

/// A trimmed value, `None` when empty: a form sends every field, filled in or not.
fn filled(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

const SERVICE_FIELDS: [&str; 13] = [
    fields::CLIENT_ID,
    fields::NAME,
    fields::SERVICE_URL,
    fields::REDIRECT_URIS,
    fields::POST_LOGOUT_REDIRECT_URIS,
    fields::AUTH,
    fields::JWKS_URI,
    fields::JWKS,
    fields::SCOPES,
    fields::SIGN_IN,
    fields::TRN,
    fields::MOBILE,
    fields::ID_TOKEN_ALG,
];

/// `POST /support/services/new`: registers a service; its secret, if it uses one, is shown once.
pub async fn add_service(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Bytes,
) -> HandlerResult {
    let me = administrator(&state, &ctx).await?;
    let form = Fields::read(&body);
    let auth = filled(form.one(fields::AUTH));
    // The keys' fields are revealed only under "its own keys": what they hold otherwise was not meant.
    let own_keys = auth.as_deref() == Some("private_key_jwt");
    let input = ClientInput {
        client_id: filled(form.one(fields::CLIENT_ID)),
        display_name: form.one(fields::NAME),
        service_url: filled(form.one(fields::SERVICE_URL)),
        redirect_uris: form.lines(fields::REDIRECT_URIS),
        post_logout_redirect_uris: form.lines(fields::POST_LOGOUT_REDIRECT_URIS),
        auth,
        jwks_uri: filled(form.one(fields::JWKS_URI)).filter(|_| own_keys),
        jwks: filled(form.one(fields::JWKS)).filter(|_| own_keys),
        scopes: Some(form.all(fields::SCOPES).join(" ")),
        sign_in: filled(form.one(fields::SIGN_IN)),
        trn: filled(form.one(fields::TRN)),
        mobile: filled(form.one(fields::MOBILE)),
        // Radios with RS256 chosen at first: a value outside them was not typed by anyone, and is refused.
        id_token_alg: form.one(fields::ID_TOKEN_ALG),
    };
    let back = |errors: Vec<FieldError>| {
        AppError::form(
            &ctx.staff,
            Flash {
                form: FormId::ServiceForm,
                values: form.typed(&SERVICE_FIELDS),
                errors,
            },
            routes::SUPPORT_SERVICES_NEW,
        )
    };
    let args = check_client(&input).map_err(|problems| back(client_errors(&problems)))?;
    let client_id = args.client.client_id.clone();
    let name = args.client.display_name.clone();
    let secret = match crate::provider::client_add(&state.store, args, Utc::now())
        .await
        .map_err(AppError::store("adding a service"))?
    {
        ClientAddOutcome::Added { secret } => secret,
        ClientAddOutcome::DuplicateClientId => {
            return Err(back(vec![FieldError::new(
                fields::CLIENT_ID,
                "A service with this client ID already exists",
            )]))
        }
    };
    audit(
        &state,
        &me,
        AuditEvent::ServiceAdded {
            client_id: client_id.clone(),
        },
    )
    .await?;
    tracing::info!(client_id, "an administrator added a service");
    match secret {
        Some(secret) => show_client_secret(&ctx, secret, &client_id),
        None => done(
            &ctx,
            format!("{name} has been added"),
            &service_href(&client_id),
        ),
    }
}

/// The registered client `client_id`, or 404.
async fn stored_client(
    state: &AppState,
    client_id: &str,
) -> Result<app::domain::provider::Client, AppError> {
    state
        .store
        .client(client_id)
        .await
        .map_err(AppError::store("reading a service"))?
        .ok_or(AppError::NotFound)
}

/// `POST /support/services/{client_id}/uris`: replaces a service's redirect and post-logout URIs.
pub async fn set_uris(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(client_id): Path<String>,
    body: Bytes,
) -> HandlerResult {
    let me = administrator(&state, &ctx).await?;
    let client = stored_client(&state, &client_id).await?;
    let form = Fields::read(&body);
    let redirect = form.lines(fields::REDIRECT_URIS);
    let post_logout = form.lines(fields::POST_LOGOUT_REDIRECT_URIS);
    let checked = (check_uris(&redirect, true), check_uris(&post_logout, false));
    let (redirect, post_logout) = match checked {
        (Ok(redirect), Ok(post_logout)) => (redirect, post_logout),
        (redirect, post_logout) => {
            let problems: Vec<ClientProblem> = [
                (ClientField::RedirectUris, redirect.err()),
                (ClientField::PostLogoutRedirectUris, post_logout.err()),
            ]
            .into_iter()
            .filter_map(|(field, problem)| {
                Some(ClientProblem {
                    field,
                    problem: problem?,
                })
            })
            .collect();
            return Err(AppError::form(
                &ctx.staff,
                Flash {
                    form: FormId::ServiceForm,
                    values: form.typed(&[fields::REDIRECT_URIS, fields::POST_LOGOUT_REDIRECT_URIS]),
                    errors: client_errors(&problems),
                },
                service_href(&client_id),
            ));
        }
    };
    let uris = ClientUris {
        redirect,
        post_logout_redirect: post_logout,
    };
    audit_change(
        &state,
        &me,
        state
            .store
            .set_client_uris(&client_id, &uris, Utc::now())
            .await,
        "changing a service's URIs",
        AuditEvent::ServiceUrisChanged {
            client_id: client_id.clone(),
        },
    )
    .await?;
    done(
        &ctx,
        format!(
            "The redirect URIs of {} have been saved",
            client.display_name
        ),
        &service_href(&client_id),
    )
}

/// `POST /support/services/{client_id}/mobile`: whether someone creating a DfE Identity account from the service
/// must give a mobile number (issue 13 §2).
pub async fn set_mobile(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(client_id): Path<String>,
    body: Bytes,
) -> HandlerResult {
    let me = administrator(&state, &ctx).await?;
    let client = stored_client(&state, &client_id).await?;
    let sent = Fields::read(&body).one(fields::MOBILE).unwrap_or_default();
    let Some(mobile) = MobilePolicy::parse(&sent) else {
        let problem = ClientProblem {
            field: ClientField::Mobile,
            problem: crate::client_registration::Problem::UnknownMobile(sent),
        };
        return Err(AppError::form(
            &ctx.staff,
            Flash {
                form: FormId::ServiceForm,
                values: BTreeMap::new(),
                errors: client_errors(&[problem]),
            },
            service_href(&client_id),
        ));
    };
    audit_change(
        &state,
        &me,
        state
            .store
            .set_client_mobile(&client_id, mobile, Utc::now())
            .await,
        "changing whether a service's new accounts need a mobile",
        AuditEvent::ServiceMobileChanged {
            client_id: client_id.clone(),
            mobile,
        },
    )
    .await?;
    tracing::info!(
        client_id,
        mobile = mobile.as_str(),
        "an administrator changed a service's mobile policy"
    );
    done(
        &ctx,
        format!(
            "Whether new accounts of {} need a mobile number has been saved",
            client.display_name
        ),
        &service_href(&client_id),
    )
}

/// `POST /support/services/{client_id}/rotate-secret`: a new client secret, shown once; the old one stops
/// working at once.
pub async fn rotate_secret(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(client_id): Path<String>,
) -> HandlerResult {
    let me = administrator(&state, &ctx).await?;
    stored_client(&state, &client_id).await?;
    let (secret, sha256) = crate::http::cookies::new_secret();
    // A service that authenticates with its own keys has no secret to replace: the store changes nothing (404).
    audit_change(
        &state,
        &me,
        state
            .store
            .set_client_secret(&client_id, &sha256, Utc::now())
            .await,
        "replacing a client secret",
        AuditEvent::ServiceSecretRotated {
            client_id: client_id.clone(),
        },
    )
    .await?;
    tracing::info!(client_id, "an administrator replaced a client secret");
    show_client_secret(&ctx, secret, &client_id)
}

/// `enabled=true` or `enabled=false`; anything else is a request no page of ours sends.
fn enabled_in(body: &Bytes) -> Result<bool, AppError> {
    match Fields::read(body).one("enabled").as_deref() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => Err(AppError::BadRequest),
    }
}

/// `POST /support/services/{client_id}/enabled`: disables or enables a service.
pub async fn set_service_enabled(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(client_id): Path<String>,
    body: Bytes,
) -> HandlerResult {
    let me = administrator(&state, &ctx).await?;
    let enabled = enabled_in(&body)?;
    let client = stored_client(&state, &client_id).await?;
    audit_change(
        &state,
        &me,
        state
            .store
            .set_client_enabled(&client_id, enabled, Utc::now())
            .await,
        "enabling or disabling a service",
        AuditEvent::ServiceEnabled {
            client_id: client_id.clone(),
            enabled,
        },
    )
    .await?;
    done(
        &ctx,
        format!("{} has been {}", client.display_name, enabled_word(enabled)),
        &service_href(&client_id),
    )
}

/// `POST /support/api-clients/new`: registers an API client; its key is shown once.
pub async fn add_api_client(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Bytes,
) -> HandlerResult {
    let me = administrator(&state, &ctx).await?;
    let form = Fields::read(&body);
    let input = ApiClientInput {
        name: form.one(fields::API_NAME),
        scopes: form.all(fields::API_SCOPES),
    };
    let args = check_api_client(&input).map_err(|problems| {
        AppError::form(
            &ctx.staff,
            Flash {
                form: FormId::ApiClientForm,
                values: form.typed(&[fields::API_NAME, fields::API_SCOPES]),
                errors: problems
                    .iter()
                    .map(|p| {
                        let field = match p.field() {
                            ApiClientField::Name => fields::API_NAME,
                            ApiClientField::Scopes => fields::API_SCOPES,
                        };
                        FieldError::new(field, p.console())
                    })
                    .collect(),
            },
            routes::SUPPORT_API_CLIENTS_NEW,
        )
    })?;
    let (id, key) = crate::api::api_client_add(&state.store, &args, Utc::now())
        .await
        .map_err(AppError::store("adding an API client"))?;
    audit(
        &state,
        &me,
        AuditEvent::ApiClientAdded {
            api_client_id: id,
            name: args.name.clone(),
        },
    )
    .await?;
    tracing::info!(api_client_id = id, "an administrator added an API client");
    show_secret(
        &ctx,
        key,
        secret_of(true, &id.to_string()),
        api_client_href(id, "key"),
    )
}

/// `POST /support/api-clients/{id}/enabled`: disables or enables an API client.
pub async fn set_api_client_enabled(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    body: Bytes,
) -> HandlerResult {
    let me = administrator(&state, &ctx).await?;
    let enabled = enabled_in(&body)?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let client = state
        .store
        .api_clients()
        .await
        .map_err(AppError::store("reading the API clients"))?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(AppError::NotFound)?;
    audit_change(
        &state,
        &me,
        state.store.set_api_client_enabled(id, enabled).await,
        "enabling or disabling an API client",
        AuditEvent::ApiClientEnabled {
            api_client_id: id,
            name: client.name.clone(),
            enabled,
        },
    )
    .await?;
    done(
        &ctx,
        format!(
            "The API client {} has been {}",
            client.name,
            enabled_word(enabled)
        ),
        routes::SUPPORT_SERVICES,
    )
}
