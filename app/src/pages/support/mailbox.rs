//! `/dev/mailbox`: the development mailbox.

use super::*;
use crate::domain::support::{MailboxEmail, MailboxMessage, MailboxText};

/// `/dev/mailbox`: in development without GOV.UK Notify, every email and text message the service would have sent.
#[component]
pub fn MailboxPage() -> impl IntoView {
    view! {
        <ConsolePage
            load=load_mailbox
            render=|messages| {
                view! {
                    <PageTitle text="Development mailbox".to_string() />
                    <h1 class="govuk-heading-l">"Development mailbox"</h1>
                    <p class="govuk-body">
                        "Emails and text messages the service would have sent through GOV.UK Notify, newest first. Only in development."
                    </p>
                    {if messages.is_empty() {
                        view! { <p class="govuk-body">"No emails or text messages yet."</p> }
                            .into_any()
                    } else {
                        messages
                            .into_iter()
                            .map(|m| match m {
                                MailboxMessage::Email(e) => email_card(e),
                                MailboxMessage::Text(t) => text_card(t),
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

fn email_card(e: MailboxEmail) -> AnyView {
    view! {
        <div class="govuk-summary-card" data-testid="email">
            <div class="govuk-summary-card__title-wrapper">
                <h2 class="govuk-summary-card__title">{e.subject}</h2>
            </div>
            <div class="govuk-summary-card__content">
                <p class="govuk-body-s">
                    {format!("To {} · {} · {}", e.to, e.status, when(e.queued_at))}
                </p>
                <div class="govuk-body app-email-body">{e.body}</div>
            </div>
        </div>
    }
    .into_any()
}

/// A text message has no subject: its card is titled with its recipient, and its body is shown as the phone would.
fn text_card(t: MailboxText) -> AnyView {
    view! {
        <div class="govuk-summary-card" data-testid="text-message">
            <div class="govuk-summary-card__title-wrapper">
                <h2 class="govuk-summary-card__title">{format!("Text message to {}", t.to)}</h2>
            </div>
            <div class="govuk-summary-card__content">
                <p class="govuk-body-s">{format!("{} · {}", t.status, when(t.queued_at))}</p>
                <div class="govuk-inset-text app-email-body">{t.body}</div>
            </div>
        </div>
    }
    .into_any()
}
