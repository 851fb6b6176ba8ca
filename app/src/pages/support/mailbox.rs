//! `/dev/mailbox`: the development mailbox.

use super::*;

/// `/dev/mailbox`: in development without GOV.UK Notify, every email the service would have sent.
#[component]
pub fn MailboxPage() -> impl IntoView {
    view! {
        <ConsolePage
            load=load_mailbox
            render=|emails| {
                view! {
                    <PageTitle text="Development mailbox".to_string() />
                    <h1 class="govuk-heading-l">"Development mailbox"</h1>
                    <p class="govuk-body">
                        "Emails the service would have sent through GOV.UK Notify, newest first. Only in development."
                    </p>
                    {if emails.is_empty() {
                        view! { <p class="govuk-body">"No emails yet."</p> }.into_any()
                    } else {
                        emails
                            .into_iter()
                            .map(|e| {
                                view! {
                                    <div class="govuk-summary-card" data-testid="email">
                                        <div class="govuk-summary-card__title-wrapper">
                                            <h2 class="govuk-summary-card__title">
                                                {e.subject.clone()}
                                            </h2>
                                        </div>
                                        <div class="govuk-summary-card__content">
                                            <p class="govuk-body-s">
                                                {format!(
                                                    "To {} · {} · {}",
                                                    e.to,
                                                    e.status,
                                                    when(e.queued_at),
                                                )}
                                            </p>
                                            <div class="govuk-body app-email-body">
                                                {e.body.clone()}
                                            </div>
                                        </div>
                                    </div>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }}
                }
                    .into_any()
            }
        />
    }
}
