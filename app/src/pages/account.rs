//! Pages for a signed-in person: their account, and what happens when One Login could not verify them.
//!
//! A DfE Identity account holder's account page (issue 13 §4) shows their email, mobile, name and date of birth
//! with a "Change" link for each: the email and mobile change only with a passcode sent to the new one; the name and
//! date of birth only while no TRN is held (then the page says why not). Each change page is a plain form posting
//! to a server handler (`server/src/http/account_page.rs`), so it works without JavaScript.

use crate::components::error_summary::{error_for, ErrorSummary};
use crate::components::loaded::Loaded;
use crate::components::page_title::PageTitle;
use crate::components::summary_list::{summary_list, SummaryRow};
use crate::components::text_input::TextInput;
use crate::domain::account::change::{NEW_EMAIL_FIELD, NEW_MOBILE_FIELD};
use crate::pages::account_sign_in::{
    code_page, date_of_birth_fields, form, name_fields, question_page, value, BackLink, CodeText,
    Column,
};
use crate::routes;
use crate::server_fns::load_account::{
    load_account, AccountHolderView, AccountIdentity, AccountView,
};
use crate::server_fns::load_account_page::{load_account_change, ChangePage};
use crate::server_fns::load_account_sign_in::AccountSignInView;
use leptos::prelude::*;

#[component]
pub fn AccountPage() -> impl IntoView {
    let account = Resource::new_blocking(|| (), |_| load_account());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(Some(account)) => view! { <Account account /> }.into_any(),
                    Ok(None) => view! { <SignInNeeded /> }.into_any(),
                    Err(_) => view! { <crate::pages::problem::ProblemPageContent /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignInNeeded() -> impl IntoView {
    view! {
        <PageTitle text="Sign in".to_string() />
        <h1 class="govuk-heading-l">"Sign in"</h1>
        <p class="govuk-body">
            <a class="govuk-link" href=crate::routes::SIGN_IN rel="external">
                "Sign in with GOV.UK One Login"
            </a>
        </p>
    }
}

#[component]
fn Account(account: AccountView) -> impl IntoView {
    match account.identity {
        AccountIdentity::Verified { name, previous_names, dates_of_birth } => view! {
            <PageTitle text="You’ve signed in and proved your identity".to_string() />
            <div class="govuk-grid-row">
                <div class="govuk-grid-column-two-thirds">
                    <h1 class="govuk-heading-l">"You’ve signed in and proved your identity"</h1>
                    <p class="govuk-body">"GOV.UK One Login has confirmed these details:"</p>
                    {summary_list(
                        [
                            Some(SummaryRow::new("Name", name)),
                            (!previous_names.is_empty())
                                .then(|| {
                                    SummaryRow::new(
                                        "Previous names",
                                        view! {
                                            <ul class="govuk-list">
                                                {previous_names
                                                    .into_iter()
                                                    .map(|n| view! { <li>{n}</li> })
                                                    .collect_view()}
                                            </ul>
                                        },
                                    )
                                }),
                            Some(
                                SummaryRow::new(
                                    "Date of birth",
                                    dates_of_birth.first().cloned().unwrap_or_default(),
                                ),
                            ),
                            Some(SummaryRow::new("Email address", account.email)),
                        ]
                            .into_iter()
                            .flatten(),
                        None,
                    )}
                    <p class="govuk-body">
                        "We’ll use these details to find your teaching record."
                    </p>
                </div>
            </div>
        }
        .into_any(),
        AccountIdentity::NotChecked => view! {
            <PageTitle text="Prove your identity".to_string() />
            <div class="govuk-grid-row">
                <div class="govuk-grid-column-two-thirds">
                    <h1 class="govuk-heading-l">"Prove your identity"</h1>
                    <p class="govuk-body">
                        "You’ve signed in. Before we can find your teaching record, you need to prove your identity with GOV.UK One Login."
                    </p>
                    <a
                        href="/auth/identity"
                        rel="external"
                        role="button"
                        draggable="false"
                        class="govuk-button"
                        data-module="govuk-button"
                    >
                        "Continue"
                    </a>
                </div>
            </div>
        }
        .into_any(),
        AccountIdentity::NotVerified => view! { <NotVerifiedContent /> }.into_any(),
        AccountIdentity::AccountHolder(holder) => view! { <AccountHolder holder /> }.into_any(),
    }
}

#[component]
pub fn IdentityNotVerifiedPage() -> impl IntoView {
    view! { <NotVerifiedContent /> }
}

#[component]
fn NotVerifiedContent() -> impl IntoView {
    // After support turned down the proof sent, the page says so rather than blaming One Login; the query only
    // chooses wording, so a tampered one changes nothing else.
    let after_support = leptos_router::hooks::use_query_map()
        .with_untracked(|q| q.get("after").is_some_and(|a| a == "support"));
    let why = if after_support {
        "Our support team could not confirm who you are from what you sent, so we cannot connect you to your teaching record yet. We’ve emailed you to say why."
    } else {
        "GOV.UK One Login could not confirm who you are, so we cannot connect you to your teaching record yet."
    };
    view! {
        <PageTitle text="We could not verify your identity".to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-l">"We could not verify your identity"</h1>
                <p class="govuk-body">{why}</p>
                <h2 class="govuk-heading-m">"Try again"</h2>
                <p class="govuk-body">
                    "You can try again with GOV.UK One Login, for example with a different kind of photo ID."
                </p>
                <a
                    href="/auth/identity"
                    rel="external"
                    role="button"
                    draggable="false"
                    class="govuk-button"
                    data-module="govuk-button"
                >
                    "Try again"
                </a>
                <h2 class="govuk-heading-m">"Ask for support"</h2>
                <p class="govuk-body">
                    "If you cannot prove your identity online, our support team can check your details and a photo or scan of your passport or driving licence instead. They’ll reply within 5 working days."
                </p>
                <a
                    href="/identity-support"
                    rel="external"
                    role="button"
                    draggable="false"
                    class="govuk-button govuk-button--secondary"
                    data-module="govuk-button"
                >
                    "Ask for support"
                </a>
            </div>
        </div>
    }
}

/// A row of the account holder's summary: its value and, when it may change, a "Change" link to `href`.
fn holder_row(key: &'static str, value: String, href: Option<&'static str>) -> SummaryRow {
    let row = SummaryRow::new(key, value);
    match href {
        Some(href) => row.change(href, format!(" {}", key.to_lowercase()), true),
        None => row,
    }
}

#[component]
fn AccountHolder(holder: AccountHolderView) -> impl IntoView {
    let details_href = |href| holder.locked.is_none().then_some(href);
    let mobile = if holder.mobile.is_empty() {
        "Not given".to_string()
    } else {
        holder.mobile.clone()
    };
    let rows = [
        Some(holder_row(
            "Email address",
            holder.email.clone(),
            Some(routes::ACCOUNT_EMAIL),
        )),
        Some(holder_row(
            "Mobile number",
            mobile,
            Some(routes::ACCOUNT_MOBILE),
        )),
        Some(holder_row(
            "Name",
            holder.name.clone(),
            details_href(routes::ACCOUNT_NAME),
        )),
        holder
            .preferred_name
            .clone()
            .map(|p| holder_row("Preferred name", p, details_href(routes::ACCOUNT_NAME))),
        Some(holder_row(
            "Date of birth",
            holder.date_of_birth.clone(),
            details_href(routes::ACCOUNT_DATE_OF_BIRTH),
        )),
        holder
            .trn
            .clone()
            .map(|trn| holder_row("Teacher reference number (TRN)", trn, None)),
    ];
    view! {
        <PageTitle text="Your DfE Identity account".to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                {holder
                    .changed
                    .clone()
                    .map(|changed| {
                        view! {
                            <div
                                class="govuk-notification-banner govuk-notification-banner--success"
                                role="alert"
                                aria-labelledby="changed-title"
                                data-module="govuk-notification-banner"
                            >
                                <div class="govuk-notification-banner__header">
                                    <h2 class="govuk-notification-banner__title" id="changed-title">
                                        "Success"
                                    </h2>
                                </div>
                                <div class="govuk-notification-banner__content">
                                    <p class="govuk-notification-banner__heading">{changed}</p>
                                </div>
                            </div>
                        }
                    })} <h1 class="govuk-heading-l">"Your DfE Identity account"</h1>
                <p class="govuk-body">
                    "You sign in to your DfE Identity account with your email address and a security code."
                </p> {summary_list(rows.into_iter().flatten(), None)}
                {holder
                    .locked
                    .clone()
                    .map(|why| {
                        view! {
                            <div class="govuk-inset-text" id="details-locked">
                                {why}
                            </div>
                        }
                    })} <p class="govuk-body">
                    <a class="govuk-link" href=routes::SIGN_OUT rel="external">
                        "Sign out"
                    </a>
                </p>
            </div>
        </div>
    }
}

#[component]
fn Change(page: ChangePage, render: fn(AccountSignInView) -> AnyView) -> impl IntoView {
    view! { <Loaded load=move || load_account_change(page) render /> }
}

/// A page with one form: a new email, a new mobile or the name.
fn change_question(
    view: AccountSignInView,
    heading: &'static str,
    action: &'static str,
    fields: AnyView,
) -> AnyView {
    question_page(&view, heading, routes::ACCOUNT, action, fields)
}

#[component]
pub fn ChangeEmailPage() -> impl IntoView {
    view! {
        <Change
            page=ChangePage::Email
            render=|view| {
                let input = TextInput::new(
                        NEW_EMAIL_FIELD,
                        "New email address",
                        value(&view, NEW_EMAIL_FIELD),
                        error_for(&view.errors, NEW_EMAIL_FIELD),
                    )
                    .hint(
                        "We’ll send a security code to this address. Your email changes once you enter it.",
                    )
                    .input_type("email")
                    .autocomplete("email")
                    .render();
                change_question(
                    view,
                    "What is your new email address?",
                    routes::ACCOUNT_EMAIL,
                    input,
                )
            }
        />
    }
}

#[component]
pub fn ChangeEmailCodePage() -> impl IntoView {
    view! {
        <Change
            page=ChangePage::EmailCode
            render=|view| {
                let email = view.email.clone();
                code_page(
                    view,
                    CodeText {
                        heading: "Check your email",
                        action: routes::ACCOUNT_EMAIL_CODE,
                        resend: routes::ACCOUNT_EMAIL_RESEND,
                        back: routes::ACCOUNT_EMAIL,
                        change: Some((routes::ACCOUNT_EMAIL, "Change the new email address")),
                    },
                    email,
                )
            }
        />
    }
}

#[component]
pub fn ChangeMobilePage() -> impl IntoView {
    view! {
        <Change
            page=ChangePage::Mobile
            render=|view| {
                let input = TextInput::new(
                        NEW_MOBILE_FIELD,
                        "New mobile number",
                        value(&view, NEW_MOBILE_FIELD),
                        error_for(&view.errors, NEW_MOBILE_FIELD),
                    )
                    .hint(
                        "We’ll text you a security code. For international numbers include the country code, for example +33.",
                    )
                    .width("govuk-input--width-20")
                    .input_type("tel")
                    .autocomplete("tel")
                    .render();
                change_question(
                    view,
                    "What is your new mobile number?",
                    routes::ACCOUNT_MOBILE,
                    input,
                )
            }
        />
    }
}

#[component]
pub fn ChangeMobileCodePage() -> impl IntoView {
    view! {
        <Change
            page=ChangePage::MobileCode
            render=|view| {
                let mobile = view.mobile.clone();
                code_page(
                    view,
                    CodeText {
                        heading: "Check your phone",
                        action: routes::ACCOUNT_MOBILE_CODE,
                        resend: routes::ACCOUNT_MOBILE_RESEND,
                        back: routes::ACCOUNT_MOBILE,
                        change: Some((routes::ACCOUNT_MOBILE, "Change the new mobile number")),
                    },
                    mobile,
                )
            }
        />
    }
}

#[component]
pub fn ChangeNamePage() -> impl IntoView {
    view! {
        <Change
            page=ChangePage::Name
            render=|view| {
                let fields = name_fields(&view);
                change_question(view, "What is your name?", routes::ACCOUNT_NAME, fields)
            }
        />
    }
}

#[component]
pub fn ChangeDateOfBirthPage() -> impl IntoView {
    view! {
        <Change
            page=ChangePage::DateOfBirth
            render=|view| {
                const HEADING: &str = "What is your date of birth?";
                let fields = date_of_birth_fields(&view, HEADING);
                view! {
                    <PageTitle text=HEADING.to_string() has_errors=!view.errors.is_empty() />
                    <BackLink href=routes::ACCOUNT />
                    <Column>
                        <ErrorSummary errors=view.errors.clone() />
                        {form(
                            routes::ACCOUNT_DATE_OF_BIRTH,
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
