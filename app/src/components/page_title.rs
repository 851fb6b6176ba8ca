//! The `<title>` of a page: "Page – Teacher ID – GOV.UK", with "Error: " in front when the page shows errors.

use crate::SERVICE_NAME;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PageTitle(text: String, #[prop(optional)] has_errors: bool) -> impl IntoView {
    let prefix = if has_errors { "Error: " } else { "" };
    view! { <Title text=format!("{prefix}{text} – {SERVICE_NAME} – GOV.UK") /> }
}
