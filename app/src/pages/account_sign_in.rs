//! Signing in to or creating a DfE Identity account (DESIGN §7.3, seed 002; Get an Identity's pages): the choice
//! beside GOV.UK One Login, the email and its security code, the mobile and its code, name, date of birth, the
//! duplicate-account pages and "account created". Every form is a plain HTML form posting to a server handler
//! (`server/src/http/account_sign_in.rs`), so the journey works without JavaScript.

use crate::components::error_summary::{error_for, with_error_class, ErrorMessage, ErrorSummary};
use crate::components::loaded::Loaded;
use crate::components::page_title::PageTitle;
use crate::components::post_button::submit_button;
use crate::components::radios::{Legend, Radios};
use crate::components::text_input::TextInput;
use crate::domain::account::journey::{
    AccountStep, CODE_FIELD, DOB_DAY_FIELD, DOB_MONTH_FIELD, DOB_YEAR_FIELD, EMAIL_FIELD,
    FIRST_NAME_FIELD, IS_THIS_YOU_FIELD, LAST_NAME_FIELD, MOBILE_FIELD, PREFERRED_NAME_FIELD,
    SKIP_MOBILE_FIELD,
};
use crate::routes;
use crate::server_fns::load_account_sign_in::{
    load_account_sign_in, AccountPage, AccountSignInView,
};
use leptos::prelude::*;

#[component]
fn Page(page: AccountPage, render: fn(AccountSignInView) -> AnyView) -> impl IntoView {
    view! { <Loaded load=move || load_account_sign_in(page) render /> }
}

#[component]
pub(crate) fn Column(children: Children) -> impl IntoView {
    view! {
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">{children()}</div>
        </div>
    }
}

#[component]
pub(crate) fn BackLink(href: &'static str) -> impl IntoView {
    view! {
        <a href=href rel="external" class="govuk-back-link">
            "Back"
        </a>
    }
}

/// A form posting to `action` with the CSRF token, its fields, and a "Continue" button.
pub(crate) fn form(
    action: &'static str,
    csrf_token: String,
    fields: AnyView,
    button: &'static str,
) -> AnyView {
    form_with(action, csrf_token, fields, button, None)
}

/// [`form`], with a second button beside the main one when `second` is given. The main button comes first, so
/// pressing Enter in a field sends the form with it.
fn form_with(
    action: &'static str,
    csrf_token: String,
    fields: AnyView,
    button: &'static str,
    second: Option<AnyView>,
) -> AnyView {
    let buttons = match second {
        None => submit_button(button),
        Some(second) => {
            view! { <div class="govuk-button-group">{submit_button(button)} {second}</div> }
                .into_any()
        }
    };
    view! {
        <form method="post" action=action novalidate>
            <input type="hidden" name="csrf_token" value=csrf_token />
            {fields}
            {buttons}
        </form>
    }
    .into_any()
}

/// A one-question page: its title, a back link, the error summary, the heading and the form posting to `action`.
pub(crate) fn question_page(
    view: &AccountSignInView,
    heading: &'static str,
    back: &'static str,
    action: &'static str,
    fields: AnyView,
) -> AnyView {
    question_page_with(view, heading, back, action, fields, None)
}

/// [`question_page`], with a second button in its form.
fn question_page_with(
    view: &AccountSignInView,
    heading: &'static str,
    back: &'static str,
    action: &'static str,
    fields: AnyView,
    second: Option<AnyView>,
) -> AnyView {
    let has_errors = !view.errors.is_empty();
    let errors = view.errors.clone();
    let form = form_with(action, view.csrf_token.clone(), fields, "Continue", second);
    view! {
        <PageTitle text=heading.to_string() has_errors />
        <BackLink href=back />
        <Column>
            <ErrorSummary errors />
            <h1 class="govuk-heading-l">{heading}</h1>
            {form}
        </Column>
    }
    .into_any()
}

/// A GOV.UK button that is a link.
pub(crate) fn button_link(href: &'static str, text: &'static str, secondary: bool) -> AnyView {
    let class = if secondary {
        "govuk-button govuk-button--secondary"
    } else {
        "govuk-button"
    };
    view! {
        <a
            href=href
            rel="external"
            role="button"
            draggable="false"
            class=class
            data-module="govuk-button"
        >
            {text}
        </a>
    }
    .into_any()
}

pub(crate) fn value(view: &AccountSignInView, field: &str) -> String {
    view.values.get(field).cloned().unwrap_or_default()
}

/// `/account-sign-in`: GOV.UK One Login, or a DfE Identity account (sign in, or create one).
#[component]
pub fn LandingPage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Journey(AccountStep::Landing)
            render=|view| {
                let service = view.service.clone().unwrap_or_default();
                view! {
                    <PageTitle text="How do you want to sign in?".to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">"How do you want to sign in?"</h1>
                        <p class="govuk-body">
                            {format!(
                                "{service} lets you sign in with GOV.UK One Login or with a DfE Identity account.",
                            )}
                        </p>
                        <h2 class="govuk-heading-m">"GOV.UK One Login"</h2>
                        <p class="govuk-body">
                            "Sign in or create a GOV.UK One Login, which you can use for other government services too."
                        </p>
                        <a
                            href=routes::SIGN_IN
                            rel="external"
                            role="button"
                            draggable="false"
                            class="govuk-button"
                            data-module="govuk-button"
                        >
                            "Continue with GOV.UK One Login"
                        </a>
                        <h2 class="govuk-heading-m">"DfE Identity account"</h2>
                        <p class="govuk-body">
                            "Use your email address and a security code we send to it."
                        </p>
                        <div class="govuk-button-group">
                            {button_link(
                                "/account-sign-in/email?intent=sign-in",
                                "Sign in with a DfE Identity account",
                                true,
                            )}
                            {button_link(
                                "/account-sign-in/email?intent=create",
                                "Create a DfE Identity account",
                                true,
                            )}
                        </div>
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn EmailPage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Journey(AccountStep::Email)
            render=|view| {
                const HEADING: &str = "What is your email address?";
                let intent = leptos_router::hooks::use_query_map()
                    .with_untracked(|q| q.get("intent"))
                    .unwrap_or_else(|| view.intent.clone());
                let input = TextInput::new(
                        EMAIL_FIELD,
                        "Email address",
                        value(&view, EMAIL_FIELD),
                        error_for(&view.errors, EMAIL_FIELD),
                    )
                    .hint(
                        "We’ll send a security code to this address. It works whether or not you already have an account.",
                    )
                    .input_type("email")
                    .autocomplete("email")
                    .render();
                let fields = view! {
                    <input type="hidden" name="intent" value=intent />
                    {input}
                }
                    .into_any();
                question_page(
                    &view,
                    HEADING,
                    routes::ACCOUNT_SIGN_IN,
                    routes::ACCOUNT_SIGN_IN_EMAIL,
                    fields,
                )
            }
        />
    }
}

/// What the three code pages differ in.
pub(crate) struct CodeText {
    pub heading: &'static str,
    pub action: &'static str,
    pub resend: &'static str,
    pub back: &'static str,
    pub change: Option<(&'static str, &'static str)>,
}

pub(crate) fn code_page(view: AccountSignInView, text: CodeText, sent_to: String) -> AnyView {
    let input = TextInput::new(
        CODE_FIELD,
        "Security code",
        value(&view, CODE_FIELD),
        error_for(&view.errors, CODE_FIELD),
    )
    .hint("The code is 6 numbers and works for 15 minutes.")
    .width("govuk-input--width-5")
    .inputmode("numeric")
    .autocomplete("one-time-code")
    .render();
    view! {
        <PageTitle text=text.heading.to_string() has_errors=!view.errors.is_empty() />
        <BackLink href=text.back />
        <Column>
            <ErrorSummary errors=view.errors.clone() />
            {view
                .resent
                .then(|| {
                    view! {
                        <div
                            class="govuk-notification-banner govuk-notification-banner--success"
                            role="alert"
                            aria-labelledby="resent-title"
                            data-module="govuk-notification-banner"
                        >
                            <div class="govuk-notification-banner__header">
                                <h2 class="govuk-notification-banner__title" id="resent-title">
                                    "Success"
                                </h2>
                            </div>
                            <div class="govuk-notification-banner__content">
                                <p class="govuk-notification-banner__heading">
                                    "We’ve sent you a new security code. The old one no longer works."
                                </p>
                            </div>
                        </div>
                    }
                })}
            <h1 class="govuk-heading-l">{text.heading}</h1>
            <p class="govuk-body">
                "We’ve sent a security code to " <strong>{sent_to}</strong> "."
            </p>
            {form(text.action, view.csrf_token.clone(), input, "Continue")}
            <h2 class="govuk-heading-m">"Not received a code?"</h2>
            <p class="govuk-body">"It may take a few minutes to arrive."</p>
            <form method="post" action=text.resend novalidate>
                <input type="hidden" name="csrf_token" value=view.csrf_token.clone() />
                <button
                    type="submit"
                    class="govuk-button govuk-button--secondary"
                    data-module="govuk-button"
                    data-prevent-double-click="true"
                >
                    "Send a new code"
                </button>
            </form>
            {text
                .change
                .map(|(href, label)| {
                    view! {
                        <p class="govuk-body">
                            <a class="govuk-link" href=href rel="external">
                                {label}
                            </a>
                        </p>
                    }
                })}
        </Column>
    }
    .into_any()
}

#[component]
pub fn EmailCodePage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Journey(AccountStep::EmailCode)
            render=|view| {
                let email = view.email.clone();
                code_page(
                    view,
                    CodeText {
                        heading: "Check your email",
                        action: routes::ACCOUNT_SIGN_IN_EMAIL_CODE,
                        resend: routes::ACCOUNT_SIGN_IN_EMAIL_RESEND,
                        back: routes::ACCOUNT_SIGN_IN_EMAIL,
                        change: Some((routes::ACCOUNT_SIGN_IN_EMAIL, "Change your email address")),
                    },
                    email,
                )
            }
        />
    }
}

#[component]
pub fn NoAccountPage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Journey(AccountStep::NoAccount)
            render=|view| {
                view! {
                    <PageTitle text="You do not have a DfE Identity account yet".to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">
                            "You do not have a DfE Identity account yet"
                        </h1>
                        <p class="govuk-body">
                            "There is no DfE Identity account for " <strong>{view.email}</strong>
                            ". You can create one now with this email address."
                        </p>
                        <div class="govuk-button-group">
                            {button_link(
                                routes::ACCOUNT_SIGN_IN_MOBILE,
                                "Create an account",
                                false,
                            )}
                            <a class="govuk-link" href=routes::ACCOUNT_SIGN_IN_EMAIL rel="external">
                                "Use a different email address"
                            </a>
                        </div>
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn MobilePage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Journey(AccountStep::Mobile)
            render=|view| {
                const HEADING: &str = "What is your mobile number?";
                let input = TextInput::new(
                        MOBILE_FIELD,
                        "Mobile number",
                        value(&view, MOBILE_FIELD),
                        error_for(&view.errors, MOBILE_FIELD),
                    )
                    .hint(
                        "We’ll text you a security code. For international numbers include the country code, for example +33.",
                    )
                    .width("govuk-input--width-20")
                    .input_type("tel")
                    .autocomplete("tel")
                    .render();
                let skip = view
                    .mobile_optional
                    .then(|| {
                        // Only where the service allows it; the server refuses the skip for any other service.
                        view! {
                            <button
                                type="submit"
                                name=SKIP_MOBILE_FIELD
                                value="yes"
                                class="govuk-button govuk-button--secondary"
                                data-module="govuk-button"
                                data-prevent-double-click="true"
                            >
                                "Continue without a mobile number"
                            </button>
                        }
                            .into_any()
                    });
                question_page_with(
                    &view,
                    HEADING,
                    routes::ACCOUNT_SIGN_IN_EMAIL,
                    routes::ACCOUNT_SIGN_IN_MOBILE,
                    input,
                    skip,
                )
            }
        />
    }
}

#[component]
pub fn MobileCodePage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Journey(AccountStep::MobileCode)
            render=|view| {
                let mobile = view.mobile.clone();
                code_page(
                    view,
                    CodeText {
                        heading: "Check your phone",
                        action: routes::ACCOUNT_SIGN_IN_MOBILE_CODE,
                        resend: routes::ACCOUNT_SIGN_IN_MOBILE_RESEND,
                        back: routes::ACCOUNT_SIGN_IN_MOBILE,
                        change: Some((routes::ACCOUNT_SIGN_IN_MOBILE, "Change your mobile number")),
                    },
                    mobile,
                )
            }
        />
    }
}

#[component]
pub fn NamePage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Journey(AccountStep::Name)
            render=|view| {
                const HEADING: &str = "What is your name?";
                let fields = name_fields(&view);
                question_page(
                    &view,
                    HEADING,
                    routes::ACCOUNT_SIGN_IN_MOBILE,
                    routes::ACCOUNT_SIGN_IN_NAME,
                    fields,
                )
            }
        />
    }
}

#[component]
pub fn DateOfBirthPage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Journey(AccountStep::DateOfBirth)
            render=|view| {
                const HEADING: &str = "What is your date of birth?";
                let fields = date_of_birth_fields(&view, HEADING);
                view! {
                    <PageTitle text=HEADING.to_string() has_errors=!view.errors.is_empty() />
                    <BackLink href=routes::ACCOUNT_SIGN_IN_NAME />
                    <Column>
                        <ErrorSummary errors=view.errors.clone() />
                        {form(
                            routes::ACCOUNT_SIGN_IN_DATE_OF_BIRTH,
                            view.csrf_token.clone(),
                            fields,
                            "Continue",
                        )}
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn IsThisYouPage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Journey(AccountStep::IsThisYou)
            render=|view| {
                const HEADING: &str = "Is this your account?";
                let question = Radios::new(
                        IS_THIS_YOU_FIELD,
                        Legend::Small("Is this your DfE Identity account?"),
                        value(&view, IS_THIS_YOU_FIELD),
                        error_for(&view.errors, IS_THIS_YOU_FIELD),
                    )
                    .item("yes", "Yes, send a security code to this email address")
                    .item("no", "No, this is not me: create a new account")
                    .render();
                view! {
                    <PageTitle text=HEADING.to_string() has_errors=!view.errors.is_empty() />
                    <Column>
                        <ErrorSummary errors=view.errors.clone() />
                        <h1 class="govuk-heading-l">{HEADING}</h1>
                        <p class="govuk-body">
                            "There is already a DfE Identity account with the same name and date of birth. Its email address is "
                            <strong>{view.masked_email.clone()}</strong> "."
                        </p>
                        <p class="govuk-body">
                            "If it is yours, sign in to it instead of creating a second account."
                        </p>
                        {form(
                            routes::ACCOUNT_SIGN_IN_IS_THIS_YOU,
                            view.csrf_token.clone(),
                            question,
                            "Continue",
                        )}
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn ExistingCodePage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Journey(AccountStep::ExistingCode)
            render=|view| {
                let masked = view.masked_email.clone();
                code_page(
                    view,
                    CodeText {
                        heading: "Check your email",
                        action: routes::ACCOUNT_SIGN_IN_EXISTING_CODE,
                        resend: routes::ACCOUNT_SIGN_IN_EXISTING_RESEND,
                        back: routes::ACCOUNT_SIGN_IN_IS_THIS_YOU,
                        change: None,
                    },
                    masked,
                )
            }
        />
    }
}

/// "Continue": back to the service through the provider (which sends them on in Teacher ID if they may not go
/// back yet), or on in Teacher ID.
fn continue_button(view: &AccountSignInView) -> AnyView {
    match &view.service {
        Some(service) => view! {
            <crate::components::continue_to_service::ContinueToService
                service=service.clone()
                csrf_token=view.csrf_token.clone()
            />
        }
        .into_any(),
        None => button_link(routes::CONTINUE, "Continue", false),
    }
}

#[component]
pub fn CreatedPage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::Created
            render=|view| {
                view! {
                    <PageTitle text="Your DfE Identity account has been created".to_string() />
                    <Column>
                        <div class="govuk-panel govuk-panel--confirmation">
                            <h1 class="govuk-panel__title">
                                "Your DfE Identity account has been created"
                            </h1>
                        </div>
                        <p class="govuk-body">
                            "Next time, sign in with your email address and a security code."
                        </p>
                        {continue_button(&view)}
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn YouHaveAnAccountPage() -> impl IntoView {
    view! {
        <Page
            page=AccountPage::YouHaveAnAccount
            render=|view| {
                view! {
                    <PageTitle text="You already have a DfE Identity account".to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">"You already have a DfE Identity account"</h1>
                        <p class="govuk-body">
                            "We’ve signed you in to it, so you do not need to create another one."
                        </p>
                        {continue_button(&view)}
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

/// The date of birth's three inputs in a fieldset whose legend is the page's heading, with its error.
pub(crate) fn date_of_birth_fields(view: &AccountSignInView, heading: &'static str) -> AnyView {
    let error = error_for(&view.errors, DOB_DAY_FIELD);
    let group = with_error_class("govuk-form-group", &error);
    let described = if error.is_some() {
        "dob-hint dob-error"
    } else {
        "dob-hint"
    };
    let parts = [
        (DOB_DAY_FIELD, "Day", "bday-day", 2),
        (DOB_MONTH_FIELD, "Month", "bday-month", 2),
        (DOB_YEAR_FIELD, "Year", "bday-year", 4),
    ]
    .into_iter()
    .map(|(id, label, autocomplete, width)| {
        let class = with_error_class(
            &format!("govuk-input govuk-date-input__input govuk-input--width-{width}",),
            &error,
        );
        view! {
            <div class="govuk-date-input__item">
                <div class="govuk-form-group">
                    <label class="govuk-label govuk-date-input__label" for=id>
                        {label}
                    </label>
                    <input
                        class=class
                        id=id
                        name=id
                        type="text"
                        inputmode="numeric"
                        autocomplete=autocomplete
                        value=value(view, id)
                    />
                </div>
            </div>
        }
    })
    .collect_view();
    view! {
        <div class=group>
            <fieldset class="govuk-fieldset" role="group" aria-describedby=described>
                <legend class="govuk-fieldset__legend govuk-fieldset__legend--l">
                    <h1 class="govuk-fieldset__heading">{heading}</h1>
                </legend>
                <div id="dob-hint" class="govuk-hint">
                    "For example, 27 3 1985"
                </div>
                <ErrorMessage id="dob-error".into() message=error.clone() />
                <div class="govuk-date-input" id="dob">
                    {parts}
                </div>
            </fieldset>
        </div>
    }
    .into_any()
}

/// The name's three inputs: first, last and preferred.
pub(crate) fn name_fields(view: &AccountSignInView) -> AnyView {
    let input = |field: &'static str, label: &'static str| {
        TextInput::new(
            field,
            label,
            value(view, field),
            error_for(&view.errors, field),
        )
        .autocomplete(match field {
            FIRST_NAME_FIELD => "given-name",
            LAST_NAME_FIELD => "family-name",
            _ => "nickname",
        })
        .render()
    };
    let preferred = TextInput::new(
        PREFERRED_NAME_FIELD,
        "Preferred name (optional)",
        value(view, PREFERRED_NAME_FIELD),
        error_for(&view.errors, PREFERRED_NAME_FIELD),
    )
    .hint("If you use another name, such as a shortened first name.")
    .autocomplete("nickname")
    .render();
    view! {
        {input(FIRST_NAME_FIELD, "First name")}
        {input(LAST_NAME_FIELD, "Last name")}
        {preferred}
    }
    .into_any()
}
