//! The `<title>` of a page: "Page – Teacher ID – GOV.UK", with "Error: " in front when the page shows errors.

use crate::SERVICE_NAME;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PageTitle(text: String, #[prop(optional)] has_errors: bool) -> impl IntoView {
    view! { <Title text=title_text(&text, has_errors) /> }
}

/// The title's text, also for an island that shows errors without a page load.
pub fn title_text(text: &str, has_errors: bool) -> String {
    let prefix = if has_errors { "Error: " } else { "" };
    format!("{prefix}{text} – {SERVICE_NAME} – GOV.UK")
}
