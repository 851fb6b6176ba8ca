//! "Continue to <service>" (DESIGN §7.1): back to the service that sent the teacher to sign in, once they may go
//! back. A plain form posting the session's CSRF token, so it works without JavaScript; the server checks again
//! that they may go back before it issues the code.

use crate::routes;
use leptos::prelude::*;

/// The button, naming the service as it registered its name.
#[component]
pub fn ContinueToService(service: String, csrf_token: String) -> impl IntoView {
    view! {
        <form method="post" action=routes::OAUTH_CONTINUE novalidate>
            <input type="hidden" name="csrf_token" value=csrf_token />
            <button
                type="submit"
                class="govuk-button"
                data-module="govuk-button"
                data-prevent-double-click="true"
            >
                {format!("Continue to {service}")}
            </button>
        </form>
    }
}
