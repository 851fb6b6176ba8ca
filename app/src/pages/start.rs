//! The start page: what the service is for and the way in.

use crate::components::page_title::PageTitle;
use leptos::prelude::*;

#[component]
pub fn StartPage() -> impl IntoView {
    view! {
        <PageTitle text="Access your teaching record".to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-xl">"Access your teaching record"</h1>
                <p class="govuk-body">"Use this service to:"</p>
                <ul class="govuk-list govuk-list--bullet">
                    <li>
                        "see your teaching qualifications, such as qualified teacher status (QTS) and induction"
                    </li>
                    <li>"find your teacher reference number (TRN)"</li>
                    <li>
                        "connect your GOV.UK One Login to your teaching record, so you only need to do it once"
                    </li>
                </ul>
                <p class="govuk-body">
                    "You’ll sign in with GOV.UK One Login. If you do not have a GOV.UK One Login, you can create one when you start."
                </p>
                <p class="govuk-body">
                    "The first time you sign in, you’ll need to prove your identity. This usually takes about 5 minutes if you have photo ID, such as a passport or driving licence."
                </p>
                <a
                    href=crate::routes::SIGN_IN
                    rel="external"
                    role="button"
                    draggable="false"
                    class="govuk-button govuk-button--start"
                    data-module="govuk-button"
                >
                    "Start now"
                    <svg
                        class="govuk-button__start-icon"
                        xmlns="http://www.w3.org/2000/svg"
                        width="17.5"
                        height="19"
                        viewBox="0 0 33 40"
                        aria-hidden="true"
                        focusable="false"
                    >
                        <path fill="currentColor" d="M0 0h13l20 20-20 20H0l20-20z" />
                    </svg>
                </a>
                <h2 class="govuk-heading-m">"If you cannot prove your identity online"</h2>
                <p class="govuk-body">
                    "You can still use this service. We’ll ask you for some details and proof of your identity, and our support team will connect your teaching record. We’ll email you when it’s done."
                </p>
            </div>
        </div>
    }
}
