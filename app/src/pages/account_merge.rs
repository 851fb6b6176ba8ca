//! "TRN in use" (DESIGN §7.3, issue 13 §3 and §6): the record found for a DfE Identity account is linked to another
//! sign-in. The page offers a security code to that sign-in's email (partly hidden) or support; the code page; and
//! "Which email address do you want to keep?" when both are accounts. Plain HTML forms posting to
//! `server/src/http/account_merge.rs`, so it all works without JavaScript; the frame and the code page are the
//! account sign-in's.

use super::account_sign_in::{code_page, form, value, BackLink, CodeText, Column};
use crate::components::error_summary::{error_for, ErrorSummary};
use crate::components::loaded::Loaded;
use crate::components::page_title::PageTitle;
use crate::components::radios::{Legend, Radios};
use crate::domain::account_merge::{
    trn_in_use_heading, KeepEmail, MergeStep, ACCESS_FIELD, KEEP_EMAIL_FIELD,
};
use crate::routes;
use crate::server_fns::load_account_merge::{load_account_merge, AccountMergeView};
use leptos::prelude::*;

#[component]
fn Page(step: MergeStep, render: fn(AccountMergeView) -> AnyView) -> impl IntoView {
    view! { <Loaded load=move || load_account_merge(step) render /> }
}

/// `/account/trn-in-use`: whose sign-in holds the record, and can they reach its email.
#[component]
pub fn TrnInUsePage() -> impl IntoView {
    view! {
        <Page
            step=MergeStep::TrnInUse
            render=|view| {
                let heading = trn_in_use_heading(view.holder_one_login);
                let linked_to = if view.holder_one_login {
                    "a GOV.UK One Login"
                } else {
                    "another DfE Identity account"
                };
                let page = view.page;
                let fields = if view.can_send {
                    Radios::new(
                            ACCESS_FIELD,
                            Legend::SectionHeading("Can you access this email address?"),
                            value(&page, ACCESS_FIELD),
                            error_for(&page.errors, ACCESS_FIELD),
                        )
                        .item("yes", "Yes, send a security code to this email address")
                        .item("no", "No, I cannot access this email address")
                        .render()
                } else {
                    view! {
                        <input type="hidden" name=ACCESS_FIELD value="no" />
                        <p class="govuk-body">
                            "We cannot send a security code to the email address of that sign-in. Our support team will check your details and help."
                        </p>
                    }
                        .into_any()
                };
                let button = if view.can_send { "Continue" } else { "Ask support for help" };
                view! {
                    <PageTitle text=heading.to_string() has_errors=!page.errors.is_empty() />
                    <Column>
                        <ErrorSummary errors=page.errors.clone() />
                        <h1 class="govuk-heading-l">{heading}</h1>
                        <p class="govuk-body">
                            "The teaching record we found for you is already linked to " {linked_to}
                            {if view.can_send { " with the email address " } else { "." }}
                            {view
                                .can_send
                                .then(|| {
                                    view! {
                                        <strong>{page.masked_email.clone()}</strong>
                                        "."
                                    }
                                })}
                        </p>
                        <p class="govuk-body">
                            "If that is also you, we’ll combine them into one, so you can use either to sign in and see your teaching record. We’ll send a security code to that email address to check it’s yours."
                        </p>
                        <p class="govuk-body">
                            "If you cannot access it, our support team will check your details and help."
                        </p>
                        {form(routes::ACCOUNT_TRN_IN_USE, page.csrf_token.clone(), fields, button)}
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

/// `/account/trn-in-use/code`: the code sent to the holder's email.
#[component]
pub fn TrnInUseCodePage() -> impl IntoView {
    view! {
        <Page
            step=MergeStep::Code
            render=|view| {
                let masked = view.page.masked_email.clone();
                code_page(
                    view.page,
                    CodeText {
                        heading: "Check your email",
                        action: routes::ACCOUNT_TRN_IN_USE_CODE,
                        resend: routes::ACCOUNT_TRN_IN_USE_RESEND,
                        back: routes::ACCOUNT_TRN_IN_USE,
                        change: None,
                    },
                    masked,
                )
            }
        />
    }
}

/// `/account/trn-in-use/choose-email`: both were accounts; the merged one keeps one email.
#[component]
pub fn ChooseEmailPage() -> impl IntoView {
    view! {
        <Page
            step=MergeStep::ChooseEmail
            render=|view| {
                const HEADING: &str = "Which email address do you want to keep?";
                let page = view.page;
                let choices = view.choices.unwrap_or_default();
                let question = Radios::new(
                        KEEP_EMAIL_FIELD,
                        Legend::PageHeading(HEADING),
                        value(&page, KEEP_EMAIL_FIELD),
                        error_for(&page.errors, KEEP_EMAIL_FIELD),
                    )
                    .hint(
                        "You’ll sign in to your combined account with this email address and a security code. The other email address will no longer sign you in.",
                    )
                    .item(KeepEmail::Mine.as_str(), choices.mine)
                    .item(KeepEmail::Holders.as_str(), choices.holders)
                    .render();
                view! {
                    <PageTitle text=HEADING.to_string() has_errors=!page.errors.is_empty() />
                    <BackLink href=routes::ACCOUNT_TRN_IN_USE />
                    <Column>
                        <ErrorSummary errors=page.errors.clone() />
                        {form(
                            routes::ACCOUNT_TRN_IN_USE_CHOOSE_EMAIL,
                            page.csrf_token.clone(),
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
