//! Finding a DfE Identity account holder's teaching record (DESIGN §7.3, issue 13 §3): the National Insurance
//! number, TRN and QTS questions (the connect journey's own pages, posting here), check answers, and what the
//! look-up came to. Plain HTML forms posting to server handlers, so every page works without JavaScript.

use super::connect::{
    answer_rows, identifier_question, itt_question, trn_details, BackLink, BackToService,
    ButtonLink, Column, QuestionText,
};
use crate::components::continue_to_service::ContinueToService;
use crate::components::loaded::Loaded;
use crate::components::page_title::PageTitle;
use crate::components::post_button::PostButton;
use crate::components::summary_list::summary_list;
use crate::domain::account_record_journey::RecordStep;
use crate::routes;
use crate::server_fns::load_account_record::{load_account_record, AccountRecordView};
use leptos::prelude::*;

/// Loads the view for `step` (the server redirects anyone who should not be here) and renders it with `render`.
#[component]
fn Page(step: RecordStep, render: fn(AccountRecordView) -> AnyView) -> impl IntoView {
    view! { <Loaded load=move || load_account_record(step) render /> }
}

/// Where `/continue` sends an account holder without a record: an interruption, as One Login's journey has.
#[component]
pub fn FindRecordPage() -> impl IntoView {
    view! {
        <Page
            step=RecordStep::Intro
            render=|_| {
                view! {
                    <PageTitle text="We need to find your teaching record".to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">"We need to find your teaching record"</h1>
                        <p class="govuk-body">
                            "You’ve signed in with your DfE Identity account. To link it to your teaching record, we’ll ask for your National Insurance number, your teacher reference number (TRN) and whether you have qualified teacher status (QTS), if you know them."
                        </p>
                        <ButtonLink href=routes::ACCOUNT_FIND_RECORD_NINO text="Continue" />
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn FindRecordNinoPage() -> impl IntoView {
    view! {
        <Page
            step=RecordStep::Nino
            render=|v| identifier_question(
                v.view,
                QuestionText::nino(routes::ACCOUNT_FIND_RECORD_NINO, routes::ACCOUNT_FIND_RECORD),
                None,
            )
        />
    }
}

#[component]
pub fn FindRecordTrnPage() -> impl IntoView {
    view! {
        <Page
            step=RecordStep::Trn
            render=|v| identifier_question(
                v.view,
                QuestionText::trn(
                    routes::ACCOUNT_FIND_RECORD_TRN,
                    routes::ACCOUNT_FIND_RECORD_NINO,
                ),
                Some(trn_details()),
            )
        />
    }
}

#[component]
pub fn FindRecordQtsPage() -> impl IntoView {
    view! {
        <Page
            step=RecordStep::Qts
            render=|v| itt_question(
                v.view,
                routes::ACCOUNT_FIND_RECORD_QTS,
                routes::ACCOUNT_FIND_RECORD_TRN,
            )
        />
    }
}

#[component]
pub fn FindRecordCheckPage() -> impl IntoView {
    view! { <Page step=RecordStep::CheckAnswers render=check_answers /> }
}

fn check_answers(v: AccountRecordView) -> AnyView {
    const HEADING: &str = "Check your answers";
    let view = v.view;
    let rows = answer_rows(
        &view,
        [
            "/account/find-your-record/nino?change=1",
            "/account/find-your-record/trn?change=1",
            "/account/find-your-record/qts?change=1",
        ],
    );
    view! {
        <PageTitle text=HEADING.to_string() />
        <BackLink href=routes::ACCOUNT_FIND_RECORD_QTS />
        <Column>
            <h1 class="govuk-heading-l">{HEADING}</h1>
            {summary_list(rows, Some("govuk-!-margin-bottom-9"))}
            <p class="govuk-body">
                "We’ll use your answers, with the name and date of birth on your DfE Identity account, to find your teaching record."
            </p>
            <PostButton
                action=routes::ACCOUNT_FIND_RECORD_CHECK
                csrf_token=view.csrf_token
                label="Find my teaching record"
            />
        </Column>
    }
    .into_any()
}

#[component]
pub fn FindRecordTooManyAttemptsPage() -> impl IntoView {
    view! {
        <Page
            step=RecordStep::TooManyAttempts
            render=|v| {
                view! {
                    <PageTitle text="You’ve tried too many times".to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">"You’ve tried too many times"</h1>
                        <p class="govuk-body">
                            "To protect teaching records, we limit how many National Insurance numbers, TRNs and training details can be tried. You can try again "
                            {v.view.try_again}"."
                        </p>
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn RecordFoundPage() -> impl IntoView {
    view! { <Page step=RecordStep::Found render=record_found /> }
}

fn record_found(v: AccountRecordView) -> AnyView {
    const HEADING: &str = "We found your teaching record";
    let trn = v.found.map(|f| (f.trn, f.typed_trn_differs));
    let typed = v.view.trn_answer.clone().unwrap_or_default();
    let explained = trn.clone().map(|(trn, differs)| {
        if differs {
            view! {
                <div class="govuk-inset-text" data-testid="typed-trn-differs">
                    {format!(
                        "The TRN you gave us, {typed}, is not the TRN on your teaching record. Your TRN is {trn}.",
                    )}
                </div>
            }
            .into_any()
        } else {
            ().into_any()
        }
    });
    let next = match v.view.continue_to.clone() {
        Some(service) => {
            view! { <ContinueToService service csrf_token=v.view.csrf_token /> }.into_any()
        }
        None => view! { <ButtonLink href=routes::RECORD text="Continue" /> }.into_any(),
    };
    view! {
        <PageTitle text=HEADING.to_string() />
        <Column>
            <div class="govuk-panel govuk-panel--confirmation">
                <h1 class="govuk-panel__title">{HEADING}</h1>
                <div class="govuk-panel__body">
                    "Your teacher reference number (TRN)"<br />
                    <strong data-testid="found-trn">{trn.map(|(trn, _)| trn)}</strong>
                </div>
            </div>
            {explained}
            <p class="govuk-body">
                "Your DfE Identity account is now linked to your teaching record. You will not need to do this again."
            </p>
            {next}
        </Column>
    }
    .into_any()
}

#[component]
pub fn NoRecordPage() -> impl IntoView {
    view! {
        <Page
            step=RecordStep::NoRecord
            render=|v| {
                view! {
                    <PageTitle text="We could not find your teaching record".to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">"We could not find your teaching record"</h1>
                        <p class="govuk-body">
                            "Our support team looked for a teaching record for you and did not find one."
                        </p>
                        <p class="govuk-body">
                            "If you think you have a teaching record, email "
                            <a class="govuk-link" href="mailto:teacher.id@education.gov.uk">
                                "teacher.id@education.gov.uk"
                            </a>"."
                        </p>
                        <BackToService view=v.view />
                    </Column>
                }
                    .into_any()
            }
        />
    }
}
