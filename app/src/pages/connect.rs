//! The connect journey (DESIGN §4, seed 000): interruption pages, the National Insurance number and TRN questions,
//! check answers, the support confirmation, the connected interruption, the record page and "we're still looking".
//! Every form is a plain HTML form posting to a server handler, so the journey works without JavaScript.

use crate::components::continue_to_service::ContinueToService;
use crate::components::error_summary::{error_for, ErrorSummary};
use crate::components::loaded::Loaded;
use crate::components::page_title::PageTitle;
use crate::components::post_button::PostButton;
use crate::components::radios::{Legend, Radios};
use crate::components::summary_list::{summary_list, SummaryRow};
use crate::components::text_input::TextInput;
use crate::domain::journey::{Question, Step};
use crate::routes;
use crate::server_fns::load_journey::{load_journey, JourneyView, RecordView};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Loads the view for `step` (the server redirects anyone who should not be here) and renders it with `render`.
#[component]
fn Journey(step: Step, render: fn(JourneyView) -> AnyView) -> impl IntoView {
    view! { <Loaded load=move || load_journey(step) render /> }
}

/// A GOV.UK start-style button that is a link to another page of the journey.
#[component]
pub(crate) fn ButtonLink(href: &'static str, text: &'static str) -> impl IntoView {
    view! {
        <a
            href=href
            rel="external"
            role="button"
            draggable="false"
            class="govuk-button"
            data-module="govuk-button"
        >
            {text}
        </a>
    }
}

#[component]
pub(crate) fn BackLink(href: &'static str) -> impl IntoView {
    view! {
        <a href=href rel="external" class="govuk-back-link">
            "Back"
        </a>
    }
}

/// A two-thirds column, the width of every page in the journey.
#[component]
pub(crate) fn Column(children: Children) -> impl IntoView {
    view! {
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">{children()}</div>
        </div>
    }
}

#[component]
pub fn NeedMoreInformationPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::NeedMoreInformation
            render=|_| {
                view! {
                    <PageTitle text="You’ve signed in and verified your identity".to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">
                            "You’ve signed in and verified your identity"
                        </h1>
                        <p class="govuk-body">
                            "You can use your GOV.UK One Login to access other government services."
                        </p>
                        <h2 class="govuk-heading-m">
                            "We need more information to find your teaching record"
                        </h2>
                        <p class="govuk-body">
                            "We’ll ask for your National Insurance number and your teacher reference number (TRN), if you know them."
                        </p>
                        <ButtonLink href=routes::CONNECT_NINO text="Continue" />
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

/// What differs between the National Insurance number and TRN questions (and between the journeys that ask them:
/// One Login's and a DfE Identity account holder's).
pub(crate) struct QuestionText {
    pub question: Question,
    pub action: &'static str,
    pub back: &'static str,
    pub heading: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub input_class: &'static str,
}

impl QuestionText {
    /// "Do you know your National Insurance number?", posting to `action`.
    pub(crate) fn nino(action: &'static str, back: &'static str) -> Self {
        Self {
            question: Question::Nino,
            action,
            back,
            heading: "Do you know your National Insurance number?",
            label: "National Insurance number",
            hint: "It’s on your National Insurance card, benefit letter, payslip or P60. For example, ‘QQ 12 34 56 C’.",
            input_class: "govuk-input--width-10",
        }
    }

    /// "Do you know your teacher reference number (TRN)?", posting to `action`.
    pub(crate) fn trn(action: &'static str, back: &'static str) -> Self {
        Self {
            question: Question::Trn,
            action,
            back,
            heading: "Do you know your teacher reference number (TRN)?",
            label: "Teacher reference number (TRN)",
            hint: "Your TRN is 7 digits long, for example, 1234567.",
            input_class: "govuk-input--width-10",
        }
    }
}

/// "Do you know your …?": yes reveals the input, no moves on (GOV.UK radios with a conditional reveal; without
/// JavaScript the input is simply always shown).
pub(crate) fn identifier_question(
    view: JourneyView,
    text: QuestionText,
    details: Option<AnyView>,
) -> AnyView {
    let change = use_query_map().with_untracked(|q| q.get("change").is_some_and(|c| c == "1"));
    let choice_field = text.question.choice_field();
    let value_field = text.question.value_field();
    let value = |field: &str| view.values.get(field).cloned().unwrap_or_default();
    let input = TextInput::new(
        value_field,
        text.label,
        value(value_field),
        error_for(&view.errors, value_field),
    )
    .hint(text.hint)
    .width(text.input_class)
    .render();
    let question = Radios::new(
        choice_field,
        Legend::PageHeading(text.heading),
        value(choice_field),
        error_for(&view.errors, choice_field),
    )
    .revealing("yes", "Yes", input)
    .item("no", "No")
    .render();
    view! {
        <PageTitle text=text.heading.to_string() has_errors=!view.errors.is_empty() />
        <BackLink href=text.back />
        <Column>
            <ErrorSummary errors=view.errors.clone() />
            <form method="post" action=text.action novalidate>
                <input type="hidden" name="csrf_token" value=view.csrf_token.clone() />
                {change.then(|| view! { <input type="hidden" name="change" value="1" /> })}
                {question}
                {details}
                <button
                    type="submit"
                    class="govuk-button"
                    data-module="govuk-button"
                    data-prevent-double-click="true"
                >
                    "Continue"
                </button>
            </form>
        </Column>
    }
    .into_any()
}

#[component]
pub fn NinoPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::Nino
            render=|view| identifier_question(
                view,
                QuestionText::nino(routes::CONNECT_NINO, routes::CONNECT),
                None,
            )
        />
    }
}

#[component]
pub fn TrnPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::Trn
            render=|view| identifier_question(
                view,
                QuestionText::trn(routes::CONNECT_TRN, routes::CONNECT_NINO),
                Some(trn_details()),
            )
        />
    }
}

/// "What is a TRN and how do I find it?", under the TRN question.
pub(crate) fn trn_details() -> AnyView {
    view! {
        <details class="govuk-details">
            <summary class="govuk-details__summary">
                <span class="govuk-details__summary-text">
                    "What is a TRN and how do I find it?"
                </span>
            </summary>
            <div class="govuk-details__text">
                <p class="govuk-body">
                    "A TRN is a 7-digit number that identifies you on the teaching record. You get one when you start teacher training, and some teachers have one for other reasons."
                </p>
                <p class="govuk-body">
                    "It may be on your payslip, your teachers’ pension documents, or letters and emails about your teacher training or qualified teacher status (QTS)."
                </p>
                <p class="govuk-body">
                    "If you have lost your TRN, you can "
                    <a
                        class="govuk-link"
                        href="https://www.gov.uk/guidance/teacher-reference-number-trn"
                    >
                        "find a lost TRN"
                    </a>
                    ". If you do not know it, select ‘No’ and we’ll still try to find your record."
                </p>
            </div>
        </details>
    }
    .into_any()
}

/// The third question (DESIGN §5): "Have you been awarded QTS?", yes revealing where they did their initial
/// teacher training and the year of QTS. The provider is a text input with a `<datalist>` of the records'
/// providers: browsers suggest from it as people type, with or without JavaScript, and any name may be typed.
#[component]
pub fn IttPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::Itt
            render=|view| itt_question(view, routes::CONNECT_ITT, routes::CONNECT_TRN)
        />
    }
}

/// The third question's page, posting to `action`, its back link to `back`.
pub(crate) fn itt_question(view: JourneyView, action: &'static str, back: &'static str) -> AnyView {
    use crate::domain::journey::{ITT_PROVIDER_FIELD, QTS_CHOICE_FIELD, QTS_YEAR_FIELD};
    const HEADING: &str = "Have you been awarded qualified teacher status (QTS)?";
    let change = use_query_map().with_untracked(|q| q.get("change").is_some_and(|c| c == "1"));
    let value = |field: &str| view.values.get(field).cloned().unwrap_or_default();
    let error = |field: &str| error_for(&view.errors, field);
    let options = view
        .itt_providers
        .iter()
        .map(|p| view! { <option value=p.clone()></option> })
        .collect_view();
    let provider = TextInput::new(
        ITT_PROVIDER_FIELD,
        "Where did you do your initial teacher training?",
        value(ITT_PROVIDER_FIELD),
        error(ITT_PROVIDER_FIELD),
    )
    .small_label()
    .hint("Start typing and choose your training provider, or type its name. For example, University of Leeds.")
    .list("itt-providers")
    .after(view! { <datalist id="itt-providers">{options}</datalist> }.into_any())
    .render();
    let year = TextInput::new(
        QTS_YEAR_FIELD,
        "Year you were awarded QTS",
        value(QTS_YEAR_FIELD),
        error(QTS_YEAR_FIELD),
    )
    .small_label()
    .hint("For example, 2015")
    .width("govuk-input--width-4")
    .inputmode("numeric")
    .render();
    let question = Radios::new(
        QTS_CHOICE_FIELD,
        Legend::PageHeading(HEADING),
        value(QTS_CHOICE_FIELD),
        error(QTS_CHOICE_FIELD),
    )
    .hint("If you have, we can look for your record with where you did your initial teacher training (ITT).")
    .revealing("yes", "Yes", view! {
        {provider}
        {year}
    }.into_any())
    .item("no", "No")
    .render();
    view! {
        <PageTitle text=HEADING.to_string() has_errors=!view.errors.is_empty() />
        <BackLink href=back />
        <Column>
            <ErrorSummary errors=view.errors.clone() />
            <form method="post" action=action novalidate>
                <input type="hidden" name="csrf_token" value=view.csrf_token.clone() />
                {change.then(|| view! { <input type="hidden" name="change" value="1" /> })}
                {question}
                <button
                    type="submit"
                    class="govuk-button"
                    data-module="govuk-button"
                    data-prevent-double-click="true"
                >
                    "Continue"
                </button>
            </form>
        </Column>
    }
    .into_any()
}

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::NotFound
            render=|_| {
                view! {
                    <PageTitle text="We cannot find your teaching record".to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">"We cannot find your teaching record"</h1>
                        <p class="govuk-body">
                            "We could not find a teaching record that matches your details. This can happen if your name or other details have changed."
                        </p>
                        <p class="govuk-body">
                            "You can get support from our team. They’ll look for your record and email you when they have found it, or if they need more information."
                        </p>
                        <ButtonLink href=routes::CONNECT_CHECK_ANSWERS text="Continue" />
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

/// The answers as check answers lists them, each with its "Change" link: `change` is where the National
/// Insurance number, the TRN and the third question are changed. The third question's rows only when it was asked.
pub(crate) fn answer_rows(view: &JourneyView, change: [&'static str; 3]) -> Vec<SummaryRow> {
    let [nino, trn, itt] = change;
    let row =
        |key: &'static str, value: &Option<String>, href: &'static str, hidden: &'static str| {
            value
                .clone()
                .map(|value| SummaryRow::new(key, value).change(href, hidden, true))
        };
    let always = |value: &Option<String>| Some(value.clone().unwrap_or_default());
    [
        row(
            "National Insurance number",
            &always(&view.nino_answer),
            nino,
            " National Insurance number",
        ),
        row(
            "Teacher reference number (TRN)",
            &always(&view.trn_answer),
            trn,
            " teacher reference number",
        ),
        row(
            "Qualified teacher status (QTS)",
            &view.qts_answer,
            itt,
            " whether you have qualified teacher status",
        ),
        row(
            "Initial teacher training provider",
            &view.itt_provider_answer,
            itt,
            " initial teacher training provider",
        ),
        row(
            "Year you were awarded QTS",
            &view.qts_year_answer,
            itt,
            " year you were awarded QTS",
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[component]
pub fn CheckAnswersPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::CheckAnswers
            render=|view| {
                view! {
                    <PageTitle text="Check your answers before asking for support".to_string() />
                    <BackLink href=routes::CONNECT_NOT_FOUND />
                    <Column>
                        <h1 class="govuk-heading-l">
                            "Check your answers before asking for support"
                        </h1>
                        {summary_list(
                            answer_rows(
                                &view,
                                [
                                    "/connect/nino?change=1",
                                    "/connect/trn?change=1",
                                    "/connect/itt?change=1",
                                ],
                            ),
                            Some("govuk-!-margin-bottom-9"),
                        )}
                        <h2 class="govuk-heading-m">"Now ask for support"</h2>
                        <p class="govuk-body">
                            "We’ll send your answers and the details GOV.UK One Login verified to our support team. They’ll email you at "
                            <strong>{view.email}</strong>"."
                        </p>
                        <PostButton
                            action=routes::CONNECT_SUPPORT
                            csrf_token=view.csrf_token
                            label="Get support"
                        />
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn SupportRequestedPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::SupportRequested
            render=|view| {
                let back = view.clone();
                view! {
                    <PageTitle text="You’ve asked for support".to_string() />
                    <Column>
                        <div class="govuk-panel govuk-panel--confirmation">
                            <h1 class="govuk-panel__title">"You’ve asked for support"</h1>
                            <div class="govuk-panel__body">
                                "Your reference number"<br /><strong>{view.reference}</strong>
                            </div>
                        </div>
                        <p class="govuk-body">"We’ve sent your request to our support team."</p>
                        <h2 class="govuk-heading-m">"What happens next"</h2>
                        <p class="govuk-body">
                            "We’ll email you at "<strong>{view.email}</strong>
                            " within 5 working days to tell you either:"
                        </p>
                        <ul class="govuk-list govuk-list--bullet">
                            <li>"that you can now sign in and see your teaching record"</li>
                            <li>"that we need more information from you"</li>
                        </ul>
                        <p class="govuk-body">"You do not need to do anything else until then."</p>
                        <BackToService view=back />
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn AwaitingSupportPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::AwaitingSupport
            render=|view| {
                let back = view.clone();
                view! {
                    <PageTitle text="We’re still looking at your request".to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">"We’re still looking at your request"</h1>
                        <p class="govuk-body">
                            "You asked for support on "{view.requested_on}
                            ". Your reference number is "<strong>{view.reference}</strong>"."
                        </p>
                        <p class="govuk-body">
                            "We’ll email you at "<strong>{view.email}</strong>
                            " when we’ve finished, or if we need more information."
                        </p>
                        <p class="govuk-body">
                            "If it has been more than 5 working days, email "
                            <a class="govuk-link" href="mailto:teacher.id@education.gov.uk">
                                "teacher.id@education.gov.uk"
                            </a> " with your reference number."
                        </p>
                        <BackToService view=back />
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn TooManyAttemptsPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::TooManyAttempts
            render=|view| {
                view! {
                    <PageTitle text="You’ve tried too many times".to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">"You’ve tried too many times"</h1>
                        <p class="govuk-body">
                            "To protect teaching records, we limit how many National Insurance numbers, TRNs and training details can be tried. You can try again "
                            {view.try_again}"."
                        </p>
                        <p class="govuk-body">
                            "Or you can ask our support team to find your record now."
                        </p>
                        <PostButton
                            action=routes::CONNECT_SUPPORT
                            csrf_token=view.csrf_token
                            label="Get support"
                            secondary=true
                        />
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

/// Where the teacher stands with the service that sent them, if one did: "Continue to <service>" when they may go
/// back now, or that it waits for support to find their record (`trn = required`).
#[component]
pub(crate) fn BackToService(view: JourneyView) -> impl IntoView {
    match (view.continue_to, view.waiting_service) {
        (Some(service), _) => {
            view! { <ContinueToService service csrf_token=view.csrf_token /> }.into_any()
        }
        (None, Some(service)) => {
            view! {
                <p class="govuk-body">
                    {format!(
                        "You’ll be able to use {service} once our support team has found your teaching record.",
                    )}
                </p>
            }
                .into_any()
        }
        (None, None) => ().into_any(),
    }
}

#[component]
pub fn ConnectedPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::Connected
            render=|view| {
                let next = match view.continue_to.clone() {
                    Some(service) => {
                        view! { <ContinueToService service csrf_token=view.csrf_token.clone() /> }
                            .into_any()
                    }
                    None => view! { <ButtonLink href=routes::RECORD text="Continue" /> }.into_any(),
                };
                view! {
                    <PageTitle text="Your GOV.UK One Login is connected to your teaching record"
                        .to_string() />
                    <Column>
                        <h1 class="govuk-heading-l">
                            "Your GOV.UK One Login is connected to your teaching record"
                        </h1>
                        <p class="govuk-body">
                            "You will not need to do this again. Next time, sign in with GOV.UK One Login and you’ll go straight to your record."
                        </p>
                        {next}
                    </Column>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn RecordPage() -> impl IntoView {
    view! {
        <Journey
            step=Step::Record
            render=|view| match view.record.clone() {
                Some(record) => {
                    view! {
                        <BackToService view />
                        <Record record />
                    }
                        .into_any()
                }
                None => view! { <crate::pages::problem::ProblemPageContent /> }.into_any(),
            }
        />
    }
}

#[component]
fn Record(record: RecordView) -> impl IntoView {
    let RecordView {
        name,
        date_of_birth,
        trn,
        cards,
        qts_certificate,
    } = record;
    let cards = cards
        .into_iter()
        .map(|card| {
            let body = if card.items.is_empty() {
                view! { <p class="govuk-body">{card.empty}</p> }.into_any()
            } else {
                view! {
                    {summary_list(
                        card
                            .items
                            .into_iter()
                            .map(|q| {
                                let value = view! {
                                    {q.status}
                                    {q
                                        .awarded_on
                                        .map(|d| {
                                            view! {
                                                <br />
                                                <span class="govuk-hint govuk-!-margin-bottom-0">{d}</span>
                                            }
                                        })}
                                };
                                SummaryRow::new(q.name, value)
                            }),
                        None,
                    )}
                }
                .into_any()
            };
            view! {
                <div class="govuk-summary-card">
                    <div class="govuk-summary-card__title-wrapper">
                        <h2 class="govuk-summary-card__title">{card.title}</h2>
                    </div>
                    <div class="govuk-summary-card__content">{body}</div>
                </div>
            }
        })
        .collect_view();
    view! {
        <PageTitle text="Your teaching record".to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <span class="govuk-caption-l">{name.clone()}</span>
                <h1 class="govuk-heading-l">"Your teaching record"</h1>
                {summary_list(
                    [
                        SummaryRow::new("Name", name),
                        SummaryRow::new("Date of birth", date_of_birth),
                        SummaryRow::new("Teacher reference number (TRN)", trn),
                    ],
                    None,
                )}
                {cards}
                {qts_certificate
                    .then(|| {
                        view! {
                            <p class="govuk-body govuk-!-display-none-print">
                                <a
                                    class="govuk-link"
                                    href=routes::RECORD_QTS_CERTIFICATE
                                    rel="external"
                                >
                                    "Download your QTS certificate (PDF)"
                                </a>
                            </p>
                        }
                    })}
                <p class="govuk-body govuk-!-display-none-print">
                    "If something on your record is wrong, email "
                    <a class="govuk-link" href="mailto:teacher.id@education.gov.uk">
                        "teacher.id@education.gov.uk"
                    </a>"."
                </p>
            </div>
        </div>
    }
}
