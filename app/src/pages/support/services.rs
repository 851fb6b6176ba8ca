//! `/support/services` and below: the services that sign teachers in through Teacher ID (OpenID Connect clients)
//! and the API clients, for administrators (issue 12 items 2 and 4). Every form is a plain HTML form posting to a
//! server handler, which checks the role again, audits the change and comes back here.

use super::*;
use crate::components::radios::{Legend, Radios};
use crate::components::summary_list::{summary_list, SummaryRow};
use crate::components::text_input::TextInput;
use crate::domain::provider::Scope;
use crate::domain::services::{
    api_client_href, fields, service_action, service_href, sign_in_label, trn_label, ApiClientView,
    ServiceView,
};
use crate::domain::trn_tokens::ApiScope;
use crate::server_fns::services::{
    load_new_secret, load_service, load_service_form, load_services, NewSecretView, OneServiceView,
    ServicesView,
};

fn status_tag(enabled: bool) -> AnyView {
    if enabled {
        view! { <strong class="govuk-tag govuk-tag--green">"Enabled"</strong> }.into_any()
    } else {
        view! { <strong class="govuk-tag govuk-tag--grey">"Disabled"</strong> }.into_any()
    }
}

/// A form that is one button, posting to `action`.
fn button_form(
    action: String,
    csrf_token: String,
    label: String,
    hidden: Vec<(&'static str, String)>,
) -> AnyView {
    view! {
        <form method="post" action=action class="app-inline-form" novalidate>
            <input type="hidden" name="csrf_token" value=csrf_token />
            {hidden
                .into_iter()
                .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
                .collect_view()}
            <button
                type="submit"
                class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0"
                data-module="govuk-button"
                data-prevent-double-click="true"
            >
                {label}
            </button>
        </form>
    }
    .into_any()
}

/// `/support/services`: every service and API client, with links to add and change them.
#[component]
pub fn ServicesPage() -> impl IntoView {
    view! {
        <ConsolePage
            load=load_services
            render=|v| {
                let ServicesView { me, services, api_clients } = v;
                view! {
                    <PageTitle text="Services".to_string() />
                    <ConsoleNav me=me.clone() current=routes::SUPPORT_SERVICES />
                    <Banner text=me.banner.clone() />
                    <h1 class="govuk-heading-l">"Services"</h1>
                    <p class="govuk-body">
                        "The services that sign teachers in through Teacher ID, and the services that call its API."
                    </p>
                    <h2 class="govuk-heading-m">"Services that sign teachers in"</h2>
                    <a
                        href=routes::SUPPORT_SERVICES_NEW
                        rel="external"
                        role="button"
                        class="govuk-button"
                        data-module="govuk-button"
                    >
                        "Add a service"
                    </a>
                    {services_table(services)}
                    <h2 class="govuk-heading-m">"API clients"</h2>
                    <a
                        href=routes::SUPPORT_API_CLIENTS_NEW
                        rel="external"
                        role="button"
                        class="govuk-button"
                        data-module="govuk-button"
                    >
                        "Add an API client"
                    </a>
                    {api_clients_table(api_clients, me.csrf_token.clone())}
                }
                    .into_any()
            }
        />
    }
}

fn services_table(services: Vec<ServiceView>) -> AnyView {
    if services.is_empty() {
        return view! { <p class="govuk-body">"No services are registered yet."</p> }.into_any();
    }
    view! {
        <table class="govuk-table app-responsive-table" role="table" data-testid="services">
            <caption class="govuk-table__caption govuk-visually-hidden">
                "Services that sign teachers in"
            </caption>
            <thead class="govuk-table__head" role="rowgroup">
                <tr class="govuk-table__row" role="row">
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Name"
                    </th>
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Client ID"
                    </th>
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Sign-in"
                    </th>
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "TRN"
                    </th>
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Status"
                    </th>
                </tr>
            </thead>
            <tbody class="govuk-table__body" role="rowgroup">
                {services
                    .into_iter()
                    .map(|s| {
                        view! {
                            <tr class="govuk-table__row" role="row">
                                <td class="govuk-table__cell app-break-anywhere" role="cell">
                                    {cell_heading("Name")}
                                    <a
                                        class="govuk-link"
                                        href=service_href(&s.client_id)
                                        rel="external"
                                    >
                                        {s.display_name.clone()}
                                    </a>
                                </td>
                                <td class="govuk-table__cell app-break-anywhere" role="cell">
                                    {cell_heading("Client ID")}
                                    {s.client_id.clone()}
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading("Sign-in")}
                                    {sign_in_label(s.sign_in)}
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading("TRN")}
                                    {trn_label(s.trn)}
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading("Status")}
                                    {status_tag(s.enabled)}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn api_clients_table(clients: Vec<ApiClientView>, csrf_token: String) -> AnyView {
    if clients.is_empty() {
        return view! { <p class="govuk-body">"No API clients are registered yet."</p> }.into_any();
    }
    view! {
        <table class="govuk-table app-responsive-table" role="table" data-testid="api-clients">
            <caption class="govuk-table__caption govuk-visually-hidden">"API clients"</caption>
            <thead class="govuk-table__head" role="rowgroup">
                <tr class="govuk-table__row" role="row">
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Name"
                    </th>
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Scopes"
                    </th>
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Added"
                    </th>
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Status"
                    </th>
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        <span class="govuk-visually-hidden">"Action"</span>
                    </th>
                </tr>
            </thead>
            <tbody class="govuk-table__body" role="rowgroup">
                {clients
                    .into_iter()
                    .map(|c| {
                        let scopes = c
                            .scopes
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" ");
                        let (label, to) = if c.enabled {
                            (format!("Disable {}", c.name), "false")
                        } else {
                            (format!("Enable {}", c.name), "true")
                        };
                        view! {
                            <tr class="govuk-table__row" role="row">
                                <td class="govuk-table__cell app-break-anywhere" role="cell">
                                    {cell_heading("Name")}
                                    {c.name.clone()}
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading("Scopes")}
                                    {scopes}
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading("Added")}
                                    {when(c.created_at)}
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading("Status")}
                                    {status_tag(c.enabled)}
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {button_form(
                                        api_client_href(c.id, "enabled"),
                                        csrf_token.clone(),
                                        label,
                                        vec![("enabled", to.to_string())],
                                    )}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn value(me: &Me, field: &str) -> String {
    me.values.get(field).cloned().unwrap_or_default()
}

/// GOV.UK checkboxes for the scopes a service may ask for; `checked` as sent last (all on a new form).
fn scope_checkboxes(checked: &str, error: Option<String>) -> AnyView {
    let group = with_error_class("govuk-form-group", &error);
    let fresh = checked.is_empty() && error.is_none();
    view! {
        <div class=group>
            <fieldset class="govuk-fieldset" aria-describedby="scopes-hint">
                <legend class="govuk-fieldset__legend govuk-fieldset__legend--s">"Scopes"</legend>
                <div id="scopes-hint" class="govuk-hint">
                    "What the service may ask for. Every service needs openid."
                </div>
                <ErrorMessage id="scopes-error".to_string() message=error />
                <div
                    class="govuk-checkboxes govuk-checkboxes--small"
                    data-module="govuk-checkboxes"
                >
                    {Scope::ALL
                        .into_iter()
                        .enumerate()
                        .map(|(i, scope)| {
                            let id = if i == 0 {
                                fields::SCOPES.to_string()
                            } else {
                                format!("{}-{}", fields::SCOPES, i + 1)
                            };
                            let on = fresh || checked.split(' ').any(|s| s == scope.as_str());
                            view! {
                                <div class="govuk-checkboxes__item">
                                    <input
                                        class="govuk-checkboxes__input"
                                        id=id.clone()
                                        name=fields::SCOPES
                                        type="checkbox"
                                        value=scope.as_str()
                                        checked=on
                                    />
                                    <label class="govuk-label govuk-checkboxes__label" for=id>
                                        {scope.as_str()}
                                    </label>
                                </div>
                            }
                        })
                        .collect_view()}
                </div>
            </fieldset>
        </div>
    }
    .into_any()
}

/// `/support/services/new`: the form for a new service, with what was typed and what was wrong.
#[component]
pub fn AddServicePage() -> impl IntoView {
    view! {
        <ConsolePage
            load=|| load_service_form(false)
            render=|me| {
                let err = |f: &str| error_for(&me.errors, f);
                let has_errors = !me.errors.is_empty();
                let keys = view! {
                    {TextInput::new(
                            fields::JWKS_URI,
                            "JWKS URL",
                            value(&me, fields::JWKS_URI),
                            err(fields::JWKS_URI),
                        )
                        .hint(
                            "Where the service publishes its public keys, or leave this empty and paste them below",
                        )
                        .render()}
                    {TextInput::new(
                            fields::JWKS,
                            "JWKS",
                            value(&me, fields::JWKS),
                            err(fields::JWKS),
                        )
                        .textarea()
                        .render()}
                }
                    .into_any();
                view! {
                    <PageTitle text="Add a service".to_string() has_errors />
                    <ConsoleNav me=me.clone() current=routes::SUPPORT_SERVICES />
                    <ErrorSummary errors=me.errors.clone() />
                    <div class="govuk-grid-row">
                        <div class="govuk-grid-column-two-thirds">
                            <h1 class="govuk-heading-l">"Add a service"</h1>
                            <form method="post" action=routes::SUPPORT_SERVICES_NEW novalidate>
                                <input
                                    type="hidden"
                                    name="csrf_token"
                                    value=me.csrf_token.clone()
                                />
                                {TextInput::new(
                                        fields::CLIENT_ID,
                                        "Client ID",
                                        value(&me, fields::CLIENT_ID),
                                        err(fields::CLIENT_ID),
                                    )
                                    .hint(
                                        "How the service names itself when it sends teachers here: letters, digits, hyphens, underscores and full stops",
                                    )
                                    .width("govuk-input--width-20")
                                    .render()}
                                {TextInput::new(
                                        fields::NAME,
                                        "Service name",
                                        value(&me, fields::NAME),
                                        err(fields::NAME),
                                    )
                                    .hint("As teachers see it: “Continue to …”")
                                    .render()}
                                {TextInput::new(
                                        fields::SERVICE_URL,
                                        "Service URL",
                                        value(&me, fields::SERVICE_URL),
                                        err(fields::SERVICE_URL),
                                    )
                                    .render()}
                                {TextInput::new(
                                        fields::REDIRECT_URIS,
                                        "Redirect URIs",
                                        value(&me, fields::REDIRECT_URIS),
                                        err(fields::REDIRECT_URIS),
                                    )
                                    .hint("One on each line, exactly as the service sends them")
                                    .textarea()
                                    .render()}
                                {TextInput::new(
                                        fields::POST_LOGOUT_REDIRECT_URIS,
                                        "Post-logout redirect URIs (optional)",
                                        value(&me, fields::POST_LOGOUT_REDIRECT_URIS),
                                        err(fields::POST_LOGOUT_REDIRECT_URIS),
                                    )
                                    .hint("One on each line")
                                    .textarea()
                                    .render()}
                                {Radios::new(
                                        fields::AUTH,
                                        Legend::Small("How the service authenticates"),
                                        value(&me, fields::AUTH),
                                        err(fields::AUTH),
                                    )
                                    .item(
                                        "client_secret",
                                        "With a client secret (shown once when you add the service)",
                                    )
                                    .revealing(
                                        "private_key_jwt",
                                        "With its own keys (private_key_jwt)",
                                        keys,
                                    )
                                    .render()}
                                {scope_checkboxes(&value(&me, fields::SCOPES), err(fields::SCOPES))}
                                {Radios::new(
                                        fields::SIGN_IN,
                                        Legend::Small("How teachers may sign in"),
                                        value(&me, fields::SIGN_IN),
                                        err(fields::SIGN_IN),
                                    )
                                    .item(
                                        "one_login",
                                        sign_in_label(
                                            crate::domain::provider::SignInPolicy::OneLogin,
                                        ),
                                    )
                                    .item(
                                        "one_login_or_account",
                                        sign_in_label(
                                            crate::domain::provider::SignInPolicy::OneLoginOrAccount,
                                        ),
                                    )
                                    .render()}
                                {Radios::new(
                                        fields::TRN,
                                        Legend::Small("Whether teachers need a TRN"),
                                        value(&me, fields::TRN),
                                        err(fields::TRN),
                                    )
                                    .item(
                                        "required",
                                        trn_label(crate::domain::provider::TrnPolicy::Required),
                                    )
                                    .item(
                                        "optional",
                                        trn_label(crate::domain::provider::TrnPolicy::Optional),
                                    )
                                    .render()}
                                <button
                                    type="submit"
                                    class="govuk-button"
                                    data-module="govuk-button"
                                    data-prevent-double-click="true"
                                >
                                    "Add service"
                                </button>
                            </form>
                        </div>
                    </div>
                }
                    .into_any()
            }
        />
    }
}

/// `/support/services/{client_id}/edit`: a service's details; its URIs, secret and status can be changed.
#[component]
pub fn ServicePage() -> impl IntoView {
    let client_id = use_params_map().with_untracked(|p| p.get("client_id").unwrap_or_default());
    view! {
        <ConsolePage
            load=move || load_service(client_id.clone())
            render=|v| {
                let OneServiceView { me, service } = v;
                let err = |f: &str| error_for(&me.errors, f);
                let has_errors = !me.errors.is_empty();
                let typed = |f: &str, stored: &[String]| {
                    me.values.get(f).cloned().unwrap_or_else(|| stored.join("\n"))
                };
                let redirect = typed(fields::REDIRECT_URIS, &service.redirect_uris);
                let post_logout = typed(
                    fields::POST_LOGOUT_REDIRECT_URIS,
                    &service.post_logout_redirect_uris,
                );
                let id = service.client_id.clone();
                let (toggle, to) = if service.enabled {
                    ("Disable this service", "false")
                } else {
                    ("Enable this service", "true")
                };
                view! {
                    <PageTitle text=service.display_name.clone() has_errors />
                    <ConsoleNav me=me.clone() current=routes::SUPPORT_SERVICES />
                    <Banner text=me.banner.clone() />
                    <ErrorSummary errors=me.errors.clone() />
                    <a href=routes::SUPPORT_SERVICES rel="external" class="govuk-back-link">
                        "Back to services"
                    </a>
                    <div class="govuk-grid-row">
                        <div class="govuk-grid-column-two-thirds">
                            <span class="govuk-caption-l">{service.client_id.clone()}</span>
                            <h1 class="govuk-heading-l">{service.display_name.clone()}</h1>
                            {summary_list(
                                [
                                    SummaryRow::new("Client ID", service.client_id.clone()),
                                    SummaryRow::new("Service URL", service.service_url.clone()),
                                    SummaryRow::new(
                                        "Authentication",
                                        if service.uses_secret {
                                            "Client secret"
                                        } else {
                                            "Its own keys (private_key_jwt)"
                                        },
                                    ),
                                    SummaryRow::new("Scopes", service.scopes.clone()),
                                    SummaryRow::new("Sign-in", sign_in_label(service.sign_in)),
                                    SummaryRow::new("TRN", trn_label(service.trn)),
                                    SummaryRow::new("Status", status_tag(service.enabled)),
                                ],
                                None,
                            )}
                            <h2 class="govuk-heading-m">"Redirect URIs"</h2>
                            <form method="post" action=service_action(&id, "uris") novalidate>
                                <input
                                    type="hidden"
                                    name="csrf_token"
                                    value=me.csrf_token.clone()
                                />
                                {TextInput::new(
                                        fields::REDIRECT_URIS,
                                        "Redirect URIs",
                                        redirect,
                                        err(fields::REDIRECT_URIS),
                                    )
                                    .hint("One on each line, exactly as the service sends them")
                                    .textarea()
                                    .render()}
                                {TextInput::new(
                                        fields::POST_LOGOUT_REDIRECT_URIS,
                                        "Post-logout redirect URIs (optional)",
                                        post_logout,
                                        err(fields::POST_LOGOUT_REDIRECT_URIS),
                                    )
                                    .hint("One on each line")
                                    .textarea()
                                    .render()}
                                <button
                                    type="submit"
                                    class="govuk-button"
                                    data-module="govuk-button"
                                    data-prevent-double-click="true"
                                >
                                    "Save redirect URIs"
                                </button>
                            </form>
                            {service
                                .uses_secret
                                .then(|| {
                                    view! {
                                        <h2 class="govuk-heading-m">"Client secret"</h2>
                                        <p class="govuk-body">
                                            "A new secret replaces the old one at once: the service must be given it before it signs anyone in again."
                                        </p>
                                        {button_form(
                                            service_action(&id, "rotate-secret"),
                                            me.csrf_token.clone(),
                                            "Make a new client secret".to_string(),
                                            vec![],
                                        )}
                                    }
                                })}
                            <h2 class="govuk-heading-m govuk-!-margin-top-6">"Status"</h2>
                            <p class="govuk-body">
                                "A disabled service cannot sign anyone in: teachers it sends here see an error page."
                            </p>
                            {button_form(
                                service_action(&id, "enabled"),
                                me.csrf_token.clone(),
                                toggle.to_string(),
                                vec![("enabled", to.to_string())],
                            )}
                        </div>
                    </div>
                }
                    .into_any()
            }
        />
    }
}

/// The page that shows a new secret or key, once.
fn new_secret(v: NewSecretView, what: &'static str, back: String, note: &'static str) -> AnyView {
    let NewSecretView { me, name, secret } = v;
    view! {
        <PageTitle text=format!("{name}: new {what}") />
        <ConsoleNav me=me.clone() current=routes::SUPPORT_SERVICES />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                {match secret {
                    Some(secret) => {
                        view! {
                            <div class="govuk-panel govuk-panel--confirmation">
                                <h1 class="govuk-panel__title">
                                    {format!("The {what} for {name}")}
                                </h1>
                            </div>
                            <div class="govuk-warning-text">
                                <span class="govuk-warning-text__icon" aria-hidden="true">
                                    "!"
                                </span>
                                <strong class="govuk-warning-text__text">
                                    <span class="govuk-visually-hidden">"Warning"</span>
                                    {format!(
                                        "Copy the {what} now. It is shown only once: we keep only a fingerprint of it.",
                                    )}
                                </strong>
                            </div>
                            <p class="govuk-body">
                                <code class="app-break-anywhere" data-testid="secret">
                                    {secret}
                                </code>
                            </p>
                            <p class="govuk-body">{note}</p>
                        }
                            .into_any()
                    }
                    None => {
                        view! {
                            <h1 class="govuk-heading-l">
                                {format!("The {what} is no longer shown")}
                            </h1>
                            <p class="govuk-body">
                                {format!(
                                    "A {what} is shown only once. If it was lost, make a new one.",
                                )}
                            </p>
                        }
                            .into_any()
                    }
                }} <p class="govuk-body">
                    <a class="govuk-link" href=back rel="external">
                        "Continue"
                    </a>
                </p>
            </div>
        </div>
    }
    .into_any()
}

/// `/support/services/{client_id}/secret`: a service's new client secret, once.
#[component]
pub fn ServiceSecretPage() -> impl IntoView {
    let client_id = use_params_map().with_untracked(|p| p.get("client_id").unwrap_or_default());
    view! {
        <ConsolePage
            load=move || load_new_secret(false, client_id.clone())
            render=|v| {
                new_secret(
                    v,
                    "client secret",
                    routes::SUPPORT_SERVICES.to_string(),
                    "Give it to the service’s team by a secure route. It replaces any secret the service had before.",
                )
            }
        />
    }
}

/// `/support/api-clients/new`: the form for a new API client.
#[component]
pub fn AddApiClientPage() -> impl IntoView {
    view! {
        <ConsolePage
            load=|| load_service_form(true)
            render=|me| {
                let has_errors = !me.errors.is_empty();
                let name_error = error_for(&me.errors, fields::API_NAME);
                let scopes_error = error_for(&me.errors, fields::API_SCOPES);
                let checked = value(&me, fields::API_SCOPES);
                let group = with_error_class("govuk-form-group", &scopes_error);
                view! {
                    <PageTitle text="Add an API client".to_string() has_errors />
                    <ConsoleNav me=me.clone() current=routes::SUPPORT_SERVICES />
                    <ErrorSummary errors=me.errors.clone() />
                    <div class="govuk-grid-row">
                        <div class="govuk-grid-column-two-thirds">
                            <h1 class="govuk-heading-l">"Add an API client"</h1>
                            <form method="post" action=routes::SUPPORT_API_CLIENTS_NEW novalidate>
                                <input
                                    type="hidden"
                                    name="csrf_token"
                                    value=me.csrf_token.clone()
                                />
                                {TextInput::new(
                                        fields::API_NAME,
                                        "Service name",
                                        value(&me, fields::API_NAME),
                                        name_error,
                                    )
                                    .render()}
                                <div class=group>
                                    <fieldset class="govuk-fieldset">
                                        <legend class="govuk-fieldset__legend govuk-fieldset__legend--s">
                                            "Scopes"
                                        </legend>
                                        <ErrorMessage
                                            id="scopes-error".to_string()
                                            message=scopes_error
                                        />
                                        <div
                                            class="govuk-checkboxes govuk-checkboxes--small"
                                            data-module="govuk-checkboxes"
                                        >
                                            {ApiScope::ALL
                                                .into_iter()
                                                .enumerate()
                                                .map(|(i, scope)| {
                                                    let id = if i == 0 {
                                                        fields::API_SCOPES.to_string()
                                                    } else {
                                                        format!("{}-{}", fields::API_SCOPES, i + 1)
                                                    };
                                                    let on = checked.split(' ').any(|s| s == scope.as_str());
                                                    view! {
                                                        <div class="govuk-checkboxes__item">
                                                            <input
                                                                class="govuk-checkboxes__input"
                                                                id=id.clone()
                                                                name=fields::API_SCOPES
                                                                type="checkbox"
                                                                value=scope.as_str()
                                                                checked=on
                                                            />
                                                            <label class="govuk-label govuk-checkboxes__label" for=id>
                                                                {scope.as_str()}
                                                            </label>
                                                        </div>
                                                    }
                                                })
                                                .collect_view()}
                                        </div>
                                    </fieldset>
                                </div>
                                <button
                                    type="submit"
                                    class="govuk-button"
                                    data-module="govuk-button"
                                    data-prevent-double-click="true"
                                >
                                    "Add API client"
                                </button>
                            </form>
                        </div>
                    </div>
                }
                    .into_any()
            }
        />
    }
}

/// `/support/api-clients/{id}/key`: a new API client's key, once.
#[component]
pub fn ApiClientKeyPage() -> impl IntoView {
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    view! {
        <ConsolePage
            load=move || load_new_secret(true, id.clone())
            render=|v| {
                new_secret(
                    v,
                    "API key",
                    routes::SUPPORT_SERVICES.to_string(),
                    "The service sends it as Authorization: Bearer <key> with each call to the API.",
                )
            }
        />
    }
}
