//! What a person sees when signing in does not work out, and after signing out. Each page says what happened
//! and what to do next; none shows technical detail.

use crate::components::page_title::PageTitle;
use crate::routes;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn SignInProblemPage() -> impl IntoView {
    let reason = use_params_map()
        .with_untracked(|p| p.get("reason"))
        .unwrap_or_default();
    let (title, body, action): (&str, &str, Option<(&str, &str)>) = match reason.as_str() {
        "expired" => (
            "Your sign-in has expired",
            "This can happen if signing in took a long time, if you used your browser’s back button, or if you started signing in in another tab or window.",
            Some((routes::SIGN_IN, "Sign in again")),
        ),
        "cancelled" => (
            "You did not finish signing in",
            "To see your teaching record, you need to sign in with GOV.UK One Login.",
            Some((routes::SIGN_IN, "Sign in")),
        ),
        "signed-out" => (
            "You have been signed out",
            "You were signed out of GOV.UK One Login, so you have been signed out of this service too.",
            Some((routes::SIGN_IN, "Sign in again")),
        ),
        "deactivated" => (
            "You cannot use this service at the moment",
            "Signing in to this service is not available at the moment. Try again later.",
            None,
        ),
        "unavailable" => ("Sorry, there is a problem with the service", "Try again later.", None),
        _ => (
            "Sorry, there is a problem with the service",
            "We could not sign you in. Try again later.",
            Some((routes::SIGN_IN, "Try signing in again")),
        ),
    };
    view! {
        <PageTitle text=title.to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-l">{title}</h1>
                <p class="govuk-body">{body}</p>
                {action
                    .map(|(href, text)| {
                        view! {
                            <a
                                href=href
                                rel="external"
                                role="button"
                                draggable="false"
                                class="govuk-button"
                                data-module="govuk-button"
                            >
                                {text}
                            </a>
                        }
                    })}
            </div>
        </div>
    }
}

#[component]
pub fn SignedOutPage() -> impl IntoView {
    view! {
        <PageTitle text="You have signed out".to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-l">"You have signed out"</h1>
                <p class="govuk-body">"You have signed out of Teacher ID and GOV.UK One Login."</p>
                <p class="govuk-body">
                    <a class="govuk-link" href=routes::SIGN_IN rel="external">
                        "Sign in again"
                    </a>
                </p>
            </div>
        </div>
    }
}

/// "Sign out?": where a sign-out link followed from anywhere but our own pages lands, so that another site cannot
/// sign someone out. The button posts (with the CSRF token); it works without JavaScript.
#[component]
pub fn SignOutConfirmPage() -> impl IntoView {
    let csrf = Resource::new_blocking(|| (), |_| crate::server_fns::load_sign_out::load_sign_out());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match csrf.await {
                    Ok(csrf_token) => {
                        view! {
                            <PageTitle text="Sign out?".to_string() />
                            <div class="govuk-grid-row">
                                <div class="govuk-grid-column-two-thirds">
                                    <h1 class="govuk-heading-l">"Sign out?"</h1>
                                    <p class="govuk-body">
                                        "You will be signed out of Teacher ID and GOV.UK One Login."
                                    </p>
                                    <form method="post" action="/sign-out" novalidate>
                                        <input type="hidden" name="csrf_token" value=csrf_token />
                                        <div class="govuk-button-group">
                                            <button
                                                type="submit"
                                                class="govuk-button"
                                                data-module="govuk-button"
                                            >
                                                "Sign out"
                                            </button>
                                            <a class="govuk-link" href="/continue" rel="external">
                                                "Stay signed in"
                                            </a>
                                        </div>
                                    </form>
                                </div>
                            </div>
                        }
                            .into_any()
                    }
                    Err(_) => view! { <crate::pages::problem::ProblemPageContent /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
