//! The GOV.UK error summary and inline error messages, both fed by the same [`FieldError`] list.

use crate::domain::FieldError;
use leptos::prelude::*;

/// "There is a problem", linking each message to its field. Renders nothing when there are no errors.
/// GOV.UK Frontend moves the focus to it when it starts, unless `focus_by_page`: a page that shows the same summary
/// again without a new submission (the live dashboard) moves the focus itself, once.
#[component]
pub fn ErrorSummary(
    errors: Vec<FieldError>,
    #[prop(optional)] focus_by_page: bool,
) -> impl IntoView {
    (!errors.is_empty()).then(|| {
        view! {
            <div
                class="govuk-error-summary"
                data-module="govuk-error-summary"
                data-disable-auto-focus=focus_by_page.then_some("true")
            >
                <div role="alert">
                    <h2 class="govuk-error-summary__title">"There is a problem"</h2>
                    <div class="govuk-error-summary__body">
                        <ul class="govuk-list govuk-error-summary__list">
                            {errors
                                .into_iter()
                                .map(|e| {
                                    view! {
                                        <li>
                                            <a href=format!("#{}", e.field_id)>{e.message}</a>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    </div>
                </div>
            </div>
        }
    })
}

/// The message shown beside a field, if that field has an error.
pub fn error_for(errors: &[FieldError], field_id: &str) -> Option<String> {
    errors
        .iter()
        .find(|e| e.field_id == field_id)
        .map(|e| e.message.clone())
}

/// The inline message: "Error: " is read by screen readers but not shown.
#[component]
pub fn ErrorMessage(id: String, message: Option<String>) -> impl IntoView {
    message.map(|m| {
        view! {
            <p id=id class="govuk-error-message">
                <span class="govuk-visually-hidden">"Error: "</span>
                {m}
            </p>
        }
    })
}

/// `base`, with `base--error` added when the field has an error: the GOV.UK way to mark a form group or input.
pub fn with_error_class(base: &str, error: &Option<String>) -> String {
    let block = base.split_whitespace().next().unwrap_or(base);
    if error.is_some() {
        format!("{base} {block}--error")
    } else {
        base.to_string()
    }
}
