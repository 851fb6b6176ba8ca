//! "Page not found" and "Sorry, there is a problem with the service", plus the other error pages the server shows
//! instead of bare error text. The server renders `/problem/{status}` whenever it has to refuse a request.

use crate::components::page_title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The statuses that have their own page. Anything else is shown as a service problem.
pub const PAGE_STATUSES: [u16; 9] = [400, 403, 404, 405, 413, 415, 422, 500, 503];

#[component]
pub fn NotFoundPage() -> impl IntoView {
    set_status(404);
    view! { <ProblemContent status=404 /> }
}

#[component]
pub fn ProblemPage() -> impl IntoView {
    let params = use_params_map();
    let status = params
        .with_untracked(|p| p.get("status").and_then(|s| s.parse::<u16>().ok()))
        .filter(|s| PAGE_STATUSES.contains(s))
        .unwrap_or(404);
    let from = use_query_map().with_untracked(|q| q.get("from").filter(|f| is_form_path(f)));
    set_status(status);
    view! { <ProblemContent status from /> }
}

/// The form a refused request came from (`?from=`), for the "Back" link: one of our own paths, never another
/// site's address.
pub fn is_form_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 100
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_'))
}

/// The proof-of-identity form, whose refusals speak of the file.
const UPLOAD_FORM: &str = "/identity-support";

fn set_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(res), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(status),
    ) {
        res.set_status(code);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// "Sorry, there is a problem with the service", for pages whose data could not be loaded: 503, as a form post
/// answers when the database is away (`DataUnavailable::STATUS`).
#[component]
pub fn ProblemPageContent() -> impl IntoView {
    set_status(503);
    view! { <ProblemContent status=503 /> }
}

#[component]
fn ProblemContent(status: u16, #[prop(default = None)] from: Option<String>) -> impl IntoView {
    let upload = from.as_deref() == Some(UPLOAD_FORM);
    // Sent here by another service with a sign-in request we cannot trust: nothing of ours to go back to.
    let from_service = from.as_deref() == Some(crate::routes::OAUTH_AUTHORIZE);
    let from = from.filter(|_| !from_service);
    let (title, body): (&str, AnyView) = match status {
        404 | 405 => (
            "Page not found",
            view! {
                <p class="govuk-body">"If you typed the web address, check it is correct."</p>
                <p class="govuk-body">
                    "If you pasted the web address, check you copied the entire address."
                </p>
                <p class="govuk-body">
                    "If the web address is correct or you selected a link or button, "
                    <a class="govuk-link" href="/">
                        "go to the start of the service"
                    </a> "."
                </p>
            }
            .into_any(),
        ),
        400 if from_service => (
            "Sorry, there is a problem with the service you came from",
            view! {
                <p class="govuk-body">
                    "The service that sent you here asked Teacher ID to sign you in, but we could not accept its request. You cannot use Teacher ID to sign in to that service at the moment."
                </p>
                <p class="govuk-body">
                    "Go back to the service you came from and try again. If this keeps happening, contact that service."
                </p>
            }
            .into_any(),
        ),
        400 | 415 | 422 => (
            "Sorry, there is a problem with your request",
            view! {
                <p class="govuk-body">"We could not understand the information you sent."</p>
                <p class="govuk-body">"Go back, check your answers and try again."</p>
            }
            .into_any(),
        ),
        403 => (
            "Sorry, we could not accept your form",
            view! {
                <p class="govuk-body">
                    "This can happen if the page was open for a long time, or was opened in another window or tab."
                </p>
                <p class="govuk-body">
                    "Go back, reload the page and try again. Check your answers before you send them."
                </p>
            }
            .into_any(),
        ),
        // A file over 10 MB (10,485,760 bytes) is refused before it is read, so the form cannot show its error.
        413 if upload => (
            "The file you selected is too big",
            view! {
                <p class="govuk-body">"The selected file must be smaller than 10MB."</p>
                <p class="govuk-body">
                    <a class="govuk-link" href=UPLOAD_FORM>
                        "Go back to the form"
                    </a>
                    " and choose a smaller file. Check your answers before you send the form again."
                </p>
            }
            .into_any(),
        ),
        413 => (
            "The information you sent was too large",
            view! { <p class="govuk-body">"Go back and try again with less text or a smaller file."</p> }
            .into_any(),
        ),
        _ => (
            "Sorry, there is a problem with the service",
            view! {
                <p class="govuk-body">"Try again later."</p>
                <p class="govuk-body">
                    "If you were filling in a form, go back to check your answers before you send it again."
                </p>
            }
            .into_any(),
        ),
    };
    let back = from.map(|href| {
        view! {
            <a href=href class="govuk-back-link">
                "Back"
            </a>
        }
    });
    view! {
        <PageTitle text=title.to_string() />
        {back}
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-l">{title}</h1>
                {body}
            </div>
        </div>
    }
}
