//! "Ask for support to prove your identity": for someone GOV.UK One Login could not verify. A multipart form
//! (plain HTML, works without JavaScript) with "add another" previous names, a GOV.UK date input and a file
//! upload; then check answers; then the same confirmation as any support request.

use crate::components::error_summary::{error_for, with_error_class, ErrorMessage, ErrorSummary};
use crate::components::loaded::Loaded;
use crate::components::page_title::PageTitle;
use crate::components::post_button::PostButton;
use crate::domain::identity_support::MAX_PREVIOUS_NAMES;
use crate::routes;
use crate::server_fns::load_identity_support::{load_identity_support, IdentitySupportView};
use leptos::prelude::*;

/// A GOV.UK text input with its label, optional hint and inline error.
fn text_input(
    view: &IdentitySupportView,
    id: &str,
    name: &'static str,
    label: String,
    hint: Option<&'static str>,
    width: &'static str,
    autocomplete: &'static str,
) -> AnyView {
    let value = view.values.get(id).cloned().unwrap_or_default();
    let error = error_for(&view.errors, id);
    let group = with_error_class("govuk-form-group", &error);
    let class = with_error_class(&format!("govuk-input {width}"), &error);
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described_by = [
        hint.map(|_| hint_id.clone()),
        error.as_ref().map(|_| error_id.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let described_by = (!described_by.is_empty()).then_some(described_by);
    view! {
        <div class=group>
            <label class="govuk-label" for=id.to_string()>
                {label}
            </label>
            {hint
                .map(|h| {
                    view! {
                        <div id=hint_id class="govuk-hint">
                            {h}
                        </div>
                    }
                })}
            <ErrorMessage id=error_id message=error />
            <input
                class=class
                id=id.to_string()
                name=name
                type="text"
                value=value
                spellcheck="false"
                autocomplete=autocomplete
                aria-describedby=described_by
            />
        </div>
    }
    .into_any()
}

#[component]
pub fn IdentitySupportPage() -> impl IntoView {
    view! { <Loaded load=load_identity_support render=identity_support_form /> }
}

fn identity_support_form(view: IdentitySupportView) -> AnyView {
    let has_errors = !view.errors.is_empty();
    let value = |k: &str| view.values.get(k).cloned().unwrap_or_default();
    let dob_error = error_for(&view.errors, "dob-day");
    let dob_group = with_error_class("govuk-form-group", &dob_error);
    let dob_input = |part: &str| {
        let width = if part == "year" { 4 } else { 2 };
        with_error_class(
            &format!("govuk-input govuk-date-input__input govuk-input--width-{width}"),
            &dob_error,
        )
    };
    let dob_described_by = if dob_error.is_some() {
        "dob-hint dob-error"
    } else {
        "dob-hint"
    };
    let proof_error = error_for(&view.errors, "proof");
    let proof_group = with_error_class("govuk-form-group", &proof_error);
    let proof_class = with_error_class("govuk-file-upload", &proof_error);
    let proof_described_by = if proof_error.is_some() {
        "proof-hint proof-error"
    } else {
        "proof-hint"
    };
    let previous = (1..=view.previous_name_boxes)
        .map(|i| {
            let label = if i == 1 {
                "Previous name (optional)".to_string()
            } else {
                format!("Previous name {i} (optional)")
            };
            text_input(
                &view,
                &format!("previous-name-{i}"),
                "previous_name",
                label,
                None,
                "",
                "off",
            )
        })
        .collect_view();
    let can_add = view.previous_name_boxes < MAX_PREVIOUS_NAMES;
    view! {
        <PageTitle text="Ask for help to prove your identity".to_string() has_errors />
        <a href="/identity-not-verified" rel="external" class="govuk-back-link">
            "Back"
        </a>
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <ErrorSummary errors=view.errors.clone() />
                <h1 class="govuk-heading-l">"Ask for help to prove your identity"</h1>
                <p class="govuk-body">
                    "Our support team will check your details and your proof of identity, then find your teaching record."
                </p>
                <form
                    method="post"
                    action="/identity-support"
                    enctype="multipart/form-data"
                    novalidate
                >
                    <input type="hidden" name="csrf_token" value=view.csrf_token.clone() />
                    {text_input(
                        &view,
                        "name",
                        "name",
                        "Full name".into(),
                        Some("As it appears on your passport or driving licence"),
                        "",
                        "name",
                    )}
                    <h2 class="govuk-heading-m">"Previous names"</h2>
                    <p class="govuk-body">
                        "For example, a name you had before you married. Leave this blank if you have not changed your name."
                    </p>
                    {previous}
                    {can_add
                        .then(|| {
                            view! {
                                <button
                                    type="submit"
                                    name="action"
                                    value="add-previous"
                                    class="govuk-button govuk-button--secondary"
                                    data-module="govuk-button"
                                >
                                    "Add another previous name"
                                </button>
                            }
                        })}
                    <div class=dob_group>
                        <fieldset
                            class="govuk-fieldset"
                            role="group"
                            aria-describedby=dob_described_by
                        >
                            <legend class="govuk-fieldset__legend govuk-fieldset__legend--m">
                                <h2 class="govuk-fieldset__heading">"Date of birth"</h2>
                            </legend>
                            <div id="dob-hint" class="govuk-hint">
                                "For example, 27 3 1985"
                            </div>
                            <ErrorMessage id="dob-error".into() message=dob_error.clone() />
                            <div class="govuk-date-input" id="dob">
                                {[
                                    ("day", "Day", "bday-day"),
                                    ("month", "Month", "bday-month"),
                                    ("year", "Year", "bday-year"),
                                ]
                                    .into_iter()
                                    .map(|(part, label, autocomplete)| {
                                        let id = format!("dob-{part}");
                                        view! {
                                            <div class="govuk-date-input__item">
                                                <div class="govuk-form-group">
                                                    <label
                                                        class="govuk-label govuk-date-input__label"
                                                        for=id.clone()
                                                    >
                                                        {label}
                                                    </label>
                                                    <input
                                                        class=dob_input(part)
                                                        id=id.clone()
                                                        name=id.clone()
                                                        type="text"
                                                        inputmode="numeric"
                                                        autocomplete=autocomplete
                                                        value=value(&id)
                                                    />
                                                </div>
                                            </div>
                                        }
                                    })
                                    .collect_view()}
                            </div>
                        </fieldset>
                    </div>
                    {text_input(
                        &view,
                        "nino",
                        "nino",
                        "National Insurance number (optional)".into(),
                        Some(
                            "It’s on your National Insurance card, benefit letter, payslip or P60. For example, ‘QQ 12 34 56 C’.",
                        ),
                        "govuk-input--width-10",
                        "off",
                    )}
                    {text_input(
                        &view,
                        "trn",
                        "trn",
                        "Teacher reference number (TRN) (optional)".into(),
                        Some("7 digits, for example, 1234567"),
                        "govuk-input--width-10",
                        "off",
                    )}
                    <div class=proof_group>
                        <h2 class="govuk-label-wrapper">
                            <label class="govuk-label govuk-label--m" for="proof">
                                "Upload proof of your identity"
                            </label>
                        </h2>
                        <div id="proof-hint" class="govuk-hint">
                            "A photo or scan of your passport, driving licence or national identity card. It must be a PDF, JPG or PNG, smaller than 10MB."
                        </div>
                        {view
                            .proof_name
                            .clone()
                            .map(|name| {
                                view! {
                                    <div class="govuk-inset-text">
                                        "You’ve uploaded "<strong>{name}</strong>
                                        ". Only choose a file if you want to replace it."
                                    </div>
                                }
                            })}
                        <ErrorMessage id="proof-error".into() message=proof_error />
                        <input
                            class=proof_class
                            id="proof"
                            name="proof"
                            type="file"
                            accept=".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
                            aria-describedby=proof_described_by
                        />
                    </div>
                    <button
                        type="submit"
                        name="action"
                        value="continue"
                        class="govuk-button"
                        data-module="govuk-button"
                        data-prevent-double-click="true"
                    >
                        "Continue"
                    </button>
                </form>
            </div>
        </div>
    }
    .into_any()
}

#[component]
pub fn IdentitySupportCheckPage() -> impl IntoView {
    view! { <Loaded load=load_identity_support render=check_answers /> }
}

fn check_answers(view: IdentitySupportView) -> AnyView {
    let Some(answers) = view.answers else {
        // Nothing complete to check yet: back to the form (the browser follows this link without JavaScript too).
        return view! {
            <PageTitle text="Ask for help to prove your identity".to_string() />
            <h1 class="govuk-heading-l">"Your request is not finished"</h1>
            <p class="govuk-body">
                <a class="govuk-link" href="/identity-support" rel="external">
                    "Go back to your request"
                </a>
            </p>
        }
        .into_any();
    };
    let row = |key: &'static str, value: AnyView, hidden: &'static str| {
        view! {
            <div class="govuk-summary-list__row">
                <dt class="govuk-summary-list__key">{key}</dt>
                <dd class="govuk-summary-list__value">{value}</dd>
                <dd class="govuk-summary-list__actions">
                    <a class="govuk-link" href="/identity-support" rel="external">
                        "Change"
                        <span class="govuk-visually-hidden">{hidden}</span>
                    </a>
                </dd>
            </div>
        }
    };
    let previous = if answers.previous_names.is_empty() {
        "None".into_any()
    } else {
        view! {
            <ul class="govuk-list">
                {answers.previous_names.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <PageTitle text="Check your answers before sending your request".to_string() />
        <a href="/identity-support" rel="external" class="govuk-back-link">
            "Back"
        </a>
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-l">"Check your answers before sending your request"</h1>
                <dl class="govuk-summary-list govuk-!-margin-bottom-9">
                    {row("Full name", answers.name.into_any(), " full name")}
                    {row("Previous names", previous, " previous names")}
                    {row("Date of birth", answers.date_of_birth.into_any(), " date of birth")}
                    {row(
                        "National Insurance number",
                        answers.nino.unwrap_or_else(|| "Not given".into()).into_any(),
                        " National Insurance number",
                    )}
                    {row(
                        "Teacher reference number (TRN)",
                        answers.trn.unwrap_or_else(|| "Not given".into()).into_any(),
                        " teacher reference number",
                    )}
                    {row(
                        "Proof of identity",
                        view.proof_name.unwrap_or_default().into_any(),
                        " proof of identity",
                    )}
                </dl>
                <PostButton
                    action=routes::IDENTITY_SUPPORT_SEND
                    csrf_token=view.csrf_token
                    label="Send request"
                />
            </div>
        </div>
    }
    .into_any()
}
