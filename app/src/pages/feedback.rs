//! "Give feedback on Teacher ID": the phase banner's form. A plain HTML form that posts to `/feedback`; the server
//! validates it, and on errors redirects back here with what was typed and what was wrong.

use crate::components::error_summary::{error_for, ErrorMessage, ErrorSummary};
use crate::components::page_title::PageTitle;
use crate::components::radios::{Legend, Radios};
use crate::domain::feedback::{MAX_FEEDBACK_CHARS, SATISFACTION};
use crate::server_fns::load_feedback_form::{load_feedback_form, FeedbackFormState};
use leptos::prelude::*;

#[component]
pub fn FeedbackPage() -> impl IntoView {
    let state = Resource::new_blocking(|| (), |_| load_feedback_form());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match state.await {
                    Ok(state) => view! { <FeedbackForm state /> }.into_any(),
                    Err(_) => view! { <crate::pages::problem::ProblemPageContent /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn FeedbackForm(state: FeedbackFormState) -> impl IntoView {
    let FeedbackFormState {
        csrf_token,
        values,
        errors,
    } = state;
    let has_errors = !errors.is_empty();
    let satisfaction_error = error_for(&errors, "satisfaction");
    let details_error = error_for(&errors, "details");
    let details_described_by = if details_error.is_some() {
        "details-hint details-info details-error"
    } else {
        "details-hint details-info"
    };
    let group_class = |error: &Option<String>, extra: &str| {
        let error_class = if error.is_some() {
            " govuk-form-group--error"
        } else {
            ""
        };
        format!("govuk-form-group{error_class}{extra}")
    };
    let details_class = group_class(&details_error, " govuk-character-count");
    let textarea_class = if details_error.is_some() {
        "govuk-textarea govuk-js-character-count govuk-textarea--error"
    } else {
        "govuk-textarea govuk-js-character-count"
    };
    let satisfaction = SATISFACTION
        .iter()
        .fold(
            Radios::new(
                "satisfaction",
                Legend::SectionHeading(
                    "Overall, how did you feel about the service you received today?",
                ),
                values.satisfaction.clone(),
                satisfaction_error,
            ),
            |radios, (value, label)| radios.item(*value, *label),
        )
        .render();
    view! {
        <PageTitle text="Give feedback on Teacher ID".to_string() has_errors />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <ErrorSummary errors=errors.clone() />
                <h1 class="govuk-heading-l">"Give feedback on Teacher ID"</h1>
                <form method="post" action="/feedback" novalidate>
                    <input type="hidden" name="csrf_token" value=csrf_token />
                    {satisfaction}
                    <div
                        class=details_class
                        data-module="govuk-character-count"
                        data-maxlength=MAX_FEEDBACK_CHARS.to_string()
                    >
                        <h2 class="govuk-label-wrapper">
                            <label class="govuk-label govuk-label--m" for="details">
                                "How could we improve this service?"
                            </label>
                        </h2>
                        <div id="details-hint" class="govuk-hint">
                            "Do not include personal information, like your National Insurance number or teacher reference number."
                        </div>
                        <ErrorMessage id="details-error".into() message=details_error />
                        <textarea
                            class=textarea_class
                            id="details"
                            name="details"
                            rows="8"
                            aria-describedby=details_described_by
                        >
                            {crate::components::textarea_text(values.details)}
                        </textarea>
                        <div id="details-info" class="govuk-hint govuk-character-count__message">
                            {format!("You can enter up to {MAX_FEEDBACK_CHARS} characters")}
                        </div>
                    </div>
                    <button
                        type="submit"
                        class="govuk-button"
                        data-module="govuk-button"
                        data-prevent-double-click="true"
                    >
                        "Send feedback"
                    </button>
                </form>
            </div>
        </div>
    }
}

#[component]
pub fn FeedbackSentPage() -> impl IntoView {
    view! {
        <PageTitle text="Feedback sent".to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <div class="govuk-panel govuk-panel--confirmation">
                    <h1 class="govuk-panel__title">"Feedback sent"</h1>
                    <div class="govuk-panel__body">
                        "Thank you for helping us improve Teacher ID"
                    </div>
                </div>
                <p class="govuk-body">"We read all feedback, but we cannot reply to it."</p>
                <p class="govuk-body">
                    <a class="govuk-link" href="/">
                        "Go to the start of the service"
                    </a>
                </p>
            </div>
        </div>
    }
}
