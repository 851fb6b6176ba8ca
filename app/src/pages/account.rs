//! Pages for a signed-in person: their account, and what happens when One Login could not verify them.

use crate::components::page_title::PageTitle;
use crate::components::summary_list::{summary_list, SummaryRow};
use crate::server_fns::load_account::{load_account, AccountIdentity, AccountView};
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
        AccountIdentity::AccountHolder => view! {
            <PageTitle text="Your DfE Identity account".to_string() />
            <div class="govuk-grid-row">
                <div class="govuk-grid-column-two-thirds">
                    <h1 class="govuk-heading-l">"Your DfE Identity account"</h1>
                    <p class="govuk-body">
                        "You’ve signed in with your DfE Identity account, with your email address and a security code."
                    </p>
                    <p class="govuk-body">
                        <a class="govuk-link" href=crate::routes::SIGN_OUT rel="external">
                            "Sign out"
                        </a>
                    </p>
                </div>
            </div>
        }
        .into_any(),
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
