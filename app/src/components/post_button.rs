//! A form that is one button: it posts the session's CSRF token to a server route ("Get support", "Send request",
//! "Sign out"). Without JavaScript it is a plain form; GOV.UK Frontend's double-click guard keeps an impatient
//! second press from sending the request twice.

use leptos::prelude::*;

/// One button posting to `action`. `secondary` for an action beside the page's main one.
#[component]
pub fn PostButton(
    action: &'static str,
    csrf_token: String,
    label: &'static str,
    #[prop(optional)] secondary: bool,
) -> impl IntoView {
    let class = if secondary {
        "govuk-button govuk-button--secondary"
    } else {
        "govuk-button"
    };
    view! {
        <form method="post" action=action novalidate>
            <input type="hidden" name="csrf_token" value=csrf_token />
            {submit_with_class(class, label)}
        </form>
    }
}

/// A form's main submit button, guarded against a double click.
pub fn submit_button(label: &'static str) -> AnyView {
    submit_with_class("govuk-button", label)
}

fn submit_with_class(class: &'static str, label: &'static str) -> AnyView {
    view! {
        <button
            type="submit"
            class=class
            data-module="govuk-button"
            data-prevent-double-click="true"
        >
            {label}
        </button>
    }
    .into_any()
}
