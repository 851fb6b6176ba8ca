//! `/support/services` and below: the services that sign teachers in through Teacher ID (OpenID Connect clients)
//! and the API clients, for administrators (issue 12 items 2 and 4). Every form is a plain HTML form posting to a
//! server handler, which checks the role again, audits the change and comes back here.

use super::*;
use crate::components::post_button::submit_button;
use crate::components::radios::{Legend, Radios};
use crate::components::summary_list::{summary_list, SummaryRow};
use crate::components::text_input::TextInput;
use crate::domain::provider::{IdTokenAlg, MobilePolicy, Scope, SignInPolicy, TrnPolicy};
use crate::domain::services::{
    api_client_href, fields, id_token_alg_label, mobile_label, service_action, service_href,
    sign_in_label, trn_label, ApiClientView, ServiceView,
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

/// The hidden field with the session's CSRF token, in every form.
fn csrf_input(token: String) -> impl IntoView {
    view! { <input type="hidden" name="csrf_token" value=token /> }
}

/// A link drawn as a button, to the form that adds something.
fn add_link(href: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <a href=href rel="external" role="button" class="govuk-button" data-module="govuk-button">
            {label}
        </a>
    }
}

/// A table's head: one column header for each of `headers`.
fn table_head(headers: Vec<AnyView>) -> impl IntoView {
    view! {
        <thead class="govuk-table__head" role="rowgroup">
            <tr class="govuk-table__row" role="row">
                {headers
                    .into_iter()
                    .map(|header| {
                        view! {
                            <th scope="col" role="columnheader" class="govuk-table__header">
                                {header}
                            </th>
                        }
                    })
                    .collect_view()}
            </tr>
        </thead>
    }
}

const CELL: &str = "govuk-table__cell";
/// A cell whose long values (client IDs, names) may break anywhere rather than widen the table.
const WIDE_CELL: &str = "govuk-table__cell app-break-anywhere";

/// A table cell, with its column's name for narrow screens, where the table is drawn as a list.
fn cell(class: &'static str, heading: &'static str, content: impl IntoView + 'static) -> AnyView {
    view! {
        <td class=class role="cell">
            {cell_heading(heading)}
            {content}
        </td>
    }
    .into_any()
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
            {csrf_input(csrf_token)}
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
                    {add_link(routes::SUPPORT_SERVICES_NEW, "Add a service")}
                    {services_table(services)}
                    <h2 class="govuk-heading-m">"API clients"</h2>
                    {add_link(routes::SUPPORT_API_CLIENTS_NEW, "Add an API client")}
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
            {table_head(
                ["Name", "Client ID", "Sign-in", "TRN", "Status"]
                    .into_iter()
                    .map(|h| h.into_any())
                    .collect(),
            )}
            <tbody class="govuk-table__body" role="rowgroup">
                {services
                    .into_iter()
                    .map(|s| {
                        view! {
                            <tr class="govuk-table__row" role="row">
                                {cell(
                                    WIDE_CELL,
                                    "Name",
                                    view! {
                                        <a
                                            class="govuk-link"
                                            href=service_href(&s.client_id)
                                            rel="external"
                                        >
                                            {s.display_name.clone()}
                                        </a>
                                    },
                                )}
                                {cell(WIDE_CELL, "Client ID", s.client_id.clone())}
                                {cell(CELL, "Sign-in", sign_in_label(s.sign_in))}
                                {cell(CELL, "TRN", trn_label(s.trn))}
                                {cell(CELL, "Status", status_tag(s.enabled))}
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
            {table_head(
                ["Name", "Scopes", "Added", "Status"]
                    .into_iter()
                    .map(|h| h.into_any())
                    .chain([
                        view! { <span class="govuk-visually-hidden">"Action"</span> }.into_any(),
                    ])
                    .collect(),
            )}
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
                                {cell(WIDE_CELL, "Name", c.name.clone())}
                                {cell(CELL, "Scopes", scopes)}
                                {cell(CELL, "Added", when(c.created_at))}
                                {cell(CELL, "Status", status_tag(c.enabled))}
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

/// GOV.UK checkboxes for the scopes a client may have, the field `name`; `on` says which are ticked.
fn scope_checkboxes(
    name: &'static str,
    hint: Option<&'static str>,
    scopes: impl IntoIterator<Item = &'static str>,
    on: impl Fn(&str) -> bool,
    error: Option<String>,
) -> AnyView {
    let group = with_error_class("govuk-form-group", &error);
    let described = hint.map(|_| "scopes-hint");
    view! {
        <div class=group>
            <fieldset class="govuk-fieldset" aria-describedby=described>
                <legend class="govuk-fieldset__legend govuk-fieldset__legend--s">"Scopes"</legend>
                {hint
                    .map(|text| {
                        view! {
                            <div id="scopes-hint" class="govuk-hint">
                                {text}
                            </div>
                        }
                    })}
                <ErrorMessage id="scopes-error".to_string() message=error />
                <div
                    class="govuk-checkboxes govuk-checkboxes--small"
                    data-module="govuk-checkboxes"
                >
                    {scopes
                        .into_iter()
                        .enumerate()
                        .map(|(i, scope)| {
                            let id = if i == 0 {
                                name.to_string()
                            } else {
                                format!("{name}-{}", i + 1)
                            };
                            view! {
                                <div class="govuk-checkboxes__item">
                                    <input
                                        class="govuk-checkboxes__input"
                                        id=id.clone()
                                        name=name
                                        type="checkbox"
                                        value=scope
                                        checked=on(scope)
                                    />
                                    <label class="govuk-label govuk-checkboxes__label" for=id>
                                        {scope}
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

/// The text input for `field`, with what was typed last and its error.
fn input(me: &Me, field: &'static str, label: &'static str) -> TextInput {
    TextInput::new(field, label, value(me, field), error_for(&me.errors, field))
}

/// The radios for `field`, with what was chosen last and its error.
fn radios(me: &Me, field: &'static str, legend: &'static str) -> Radios {
    Radios::new(
        field,
        Legend::Small(legend),
        value(me, field),
        error_for(&me.errors, field),
    )
}

/// How the service's ID tokens are signed: RS256 (OpenID Connect's default) chosen on a new form, what was sent on
/// one sent back.
fn id_token_alg_radios(me: &Me) -> AnyView {
    setting_radios(
        me,
        fields::ID_TOKEN_ALG,
        "How the service’s ID tokens are signed",
        IdTokenAlg::default().as_str(),
        IdTokenAlg::ALL.map(|alg| (alg.as_str(), id_token_alg_label(alg))),
    )
}

/// Whether teachers creating a DfE Identity account from the service must give a mobile number: `stored` chosen
/// (required on a new form), what was sent on a form sent back.
fn mobile_radios(me: &Me, stored: MobilePolicy) -> AnyView {
    setting_radios(
        me,
        fields::MOBILE,
        "Whether teachers creating a DfE Identity account must give a mobile number",
        stored.as_str(),
        MobilePolicy::ALL.map(|policy| (policy.as_str(), mobile_label(policy))),
    )
}

/// Radios for one of a service's settings, `(value, label)` each: `chosen` chosen at first, what was sent on a
/// form sent back (none when what was sent is no radio's, with its error).
fn setting_radios<const N: usize>(
    me: &Me,
    field: &'static str,
    legend: &'static str,
    chosen: &str,
    items: [(&'static str, &'static str); N],
) -> AnyView {
    let sent = value(me, field);
    let chosen = if sent.is_empty() && error_for(&me.errors, field).is_none() {
        chosen.to_string()
    } else {
        sent
    };
    let mut radios = Radios::new(
        field,
        Legend::Small(legend),
        chosen,
        error_for(&me.errors, field),
    );
    for (value, label) in items {
        radios = radios.item(value, label);
    }
    radios.render()
}

/// A service's redirect and post-logout URIs, one on each line.
fn uri_inputs(me: &Me, redirect: String, post_logout: String) -> AnyView {
    view! {
        {TextInput::new(
                fields::REDIRECT_URIS,
                "Redirect URIs",
                redirect,
                error_for(&me.errors, fields::REDIRECT_URIS),
            )
            .hint("One on each line, exactly as the service sends them")
            .textarea()
            .render()}
        {TextInput::new(
                fields::POST_LOGOUT_REDIRECT_URIS,
                "Post-logout redirect URIs (optional)",
                post_logout,
                error_for(&me.errors, fields::POST_LOGOUT_REDIRECT_URIS),
            )
            .hint("One on each line")
            .textarea()
            .render()}
    }
    .into_any()
}

/// A page holding the form that adds something, with what was typed and what was wrong.
fn add_form(
    me: &Me,
    title: &'static str,
    action: &'static str,
    submit: &'static str,
    fields: AnyView,
) -> AnyView {
    let has_errors = !me.errors.is_empty();
    view! {
        <PageTitle text=title.to_string() has_errors />
        <ConsoleNav me=me.clone() current=routes::SUPPORT_SERVICES />
        <ErrorSummary errors=me.errors.clone() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-l">{title}</h1>
                <form method="post" action=action novalidate>
                    {csrf_input(me.csrf_token.clone())}
                    {fields}
                    {submit_button(submit)}
                </form>
            </div>
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
                let keys = view! {
                    {input(&me, fields::JWKS_URI, "JWKS URL")
                        .hint(
                            "Where the service publishes its public keys, or leave this empty and paste them below",
                        )
                        .render()}
                    {input(&me, fields::JWKS, "JWKS").textarea().render()}
                }
                    .into_any();
                let checked = value(&me, fields::SCOPES);
                let fresh = checked.is_empty() && error_for(&me.errors, fields::SCOPES).is_none();
                let form = // A new form has every scope ticked; one sent back has those that were sent.
                view! {
                    {input(&me, fields::CLIENT_ID, "Client ID")
                        .hint(
                            "How the service names itself when it sends teachers here: letters, digits, hyphens, underscores and full stops",
                        )
                        .width("govuk-input--width-20")
                        .render()}
                    {input(&me, fields::NAME, "Service name")
                        .hint("As teachers see it: “Continue to …”")
                        .render()}
                    {input(&me, fields::SERVICE_URL, "Service URL").render()}
                    {uri_inputs(
                        &me,
                        value(&me, fields::REDIRECT_URIS),
                        value(&me, fields::POST_LOGOUT_REDIRECT_URIS),
                    )}
                    {radios(&me, fields::AUTH, "How the service authenticates")
                        .item(
                            "client_secret",
                            "With a client secret (shown once when you add the service)",
                        )
                        .revealing("private_key_jwt", "With its own keys (private_key_jwt)", keys)
                        .render()}
                    {scope_checkboxes(
                        fields::SCOPES,
                        Some("What the service may ask for. Every service needs openid."),
                        Scope::ALL.into_iter().map(Scope::as_str),
                        |scope| fresh || checked.split(' ').any(|s| s == scope),
                        error_for(&me.errors, fields::SCOPES),
                    )}
                    {radios(&me, fields::SIGN_IN, "How teachers may sign in")
                        .item("one_login", sign_in_label(SignInPolicy::OneLogin))
                        .item(
                            "one_login_or_account",
                            sign_in_label(SignInPolicy::OneLoginOrAccount),
                        )
                        .render()}
                    {radios(&me, fields::TRN, "Whether teachers need a TRN")
                        .item("required", trn_label(TrnPolicy::Required))
                        .item("optional", trn_label(TrnPolicy::Optional))
                        .render()}
                    {mobile_radios(&me, MobilePolicy::default())}
                    {id_token_alg_radios(&me)}
                }
                    .into_any();
                add_form(&me, "Add a service", routes::SUPPORT_SERVICES_NEW, "Add service", form)
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
                                    SummaryRow::new("Mobile number", mobile_label(service.mobile)),
                                    SummaryRow::new(
                                        "ID tokens",
                                        id_token_alg_label(service.id_token_alg),
                                    ),
                                    SummaryRow::new("Status", status_tag(service.enabled)),
                                ],
                                None,
                            )}
                            <h2 class="govuk-heading-m">"Redirect URIs"</h2>
                            <form method="post" action=service_action(&id, "uris") novalidate>
                                {csrf_input(me.csrf_token.clone())}
                                {uri_inputs(&me, redirect, post_logout)}
                                {submit_button("Save redirect URIs")}
                            </form>
                            <h2 class="govuk-heading-m">"Mobile number"</h2>
                            <form method="post" action=service_action(&id, "mobile") novalidate>
                                {csrf_input(me.csrf_token.clone())}
                                {mobile_radios(&me, service.mobile)}
                                {submit_button("Save mobile number setting")}
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
                let checked = value(&me, fields::API_SCOPES);
                let form = view! {
                    {input(&me, fields::API_NAME, "Service name").render()}
                    {scope_checkboxes(
                        fields::API_SCOPES,
                        None,
                        ApiScope::ALL.into_iter().map(ApiScope::as_str),
                        |scope| checked.split(' ').any(|s| s == scope),
                        error_for(&me.errors, fields::API_SCOPES),
                    )}
                }
                    .into_any();
                add_form(
                    &me,
                    "Add an API client",
                    routes::SUPPORT_API_CLIENTS_NEW,
                    "Add API client",
                    form,
                )
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
