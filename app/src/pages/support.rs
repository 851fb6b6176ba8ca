//! The support console's pages (DESIGN §6, seed 001): the task dashboard, a task with its decision form, the check
//! page, staff roles, the audit log, and the development mailbox. Every form is a plain HTML form; with JavaScript
//! the dashboard's filters, sorting and paging update the list without a page load, a search updates as you type,
//! and new and changed tasks appear by themselves.
//!
//! One file per page or family of pages; the console's shared frame (loading, access, navigation, banner) is here.

mod audit;
mod dashboard;
mod mailbox;
mod services;
mod staff;
mod task;

pub use audit::AuditPage;
pub use dashboard::DashboardPage;
pub use mailbox::MailboxPage;
pub use services::{
    AddApiClientPage, AddServicePage, ApiClientKeyPage, ServicePage, ServiceSecretPage,
    ServicesPage,
};
pub use staff::{StaffPage, StaffSignInProblemPage, StaffSignedOutPage};
pub use task::{CheckDecisionPage, TaskPage};

use crate::components::error_summary::{error_for, with_error_class, ErrorMessage, ErrorSummary};
use crate::components::page_title::PageTitle;
use crate::domain::support::{
    count_text, params, task_href, AssigneeFilter, Comparison, NotConnectedReason, Permission,
    RejectReason, Role, ServiceFilter, SortField, StatusCounts, StatusFilter, TaskKind, TaskQuery,
    TaskStatus, COUNT_CAP, OTHER_TRN,
};
use crate::routes;
use crate::server_fns::console::{
    load_audit, load_dashboard, load_mailbox, load_staff, load_task, Console, DashboardView, Me,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};
use serde::{de::DeserializeOwned, Serialize};
use std::future::Future;

/// A moment as staff read it: UK time (GMT or BST), whatever the server's or the browser's zone.
fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    crate::domain::uk_time::uk_date_time(at)
}

/// A console page: its data, or the sign-in prompt, "you do not have access", or "page not found".
#[component]
fn ConsolePage<T, F, Fut>(load: F, render: fn(T) -> AnyView) -> impl IntoView
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Console<T>, ServerFnError>> + Send + 'static,
{
    let data = Resource::new_blocking(|| (), move |_| load());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(console) => denied_or(console, render),
                    Err(_) => view! { <crate::pages::problem::ProblemPageContent /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn denied_or<T>(console: Console<T>, render: impl FnOnce(T) -> AnyView) -> AnyView {
    match console {
        Console::Ok(value) => render(value),
        Console::SignedOut => view! {
            <PageTitle text="Sign in to the support console".to_string() />
            <h1 class="govuk-heading-l">"Sign in to the support console"</h1>
            <a
                href=routes::SUPPORT_SIGN_IN
                rel="external"
                role="button"
                class="govuk-button"
                data-module="govuk-button"
            >
                "Sign in"
            </a>
        }
        .into_any(),
        Console::NoAccess => view! { <NoAccess /> }.into_any(),
        Console::NotFound => view! { <crate::pages::problem::NotFoundPage /> }.into_any(),
    }
}

#[component]
fn NoAccess() -> impl IntoView {
    view! {
        <PageTitle text="You do not have access to this page".to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-l">"You do not have access to this page"</h1>
                <p class="govuk-body">
                    "Ask an administrator of the support console to give you a role."
                </p>
                <form method="post" action=routes::SUPPORT_SIGN_OUT>
                    <input type="hidden" name="csrf_token" value=csrf_token() />
                    <button
                        type="submit"
                        class="govuk-button govuk-button--secondary"
                        data-module="govuk-button"
                    >
                        "Sign out"
                    </button>
                </form>
            </div>
        </div>
    }
}

/// The CSRF token of this request, for forms outside a loaded view.
fn csrf_token() -> String {
    #[cfg(feature = "ssr")]
    {
        crate::ssr::request_context()
            .map(|c| c.csrf_token)
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}

/// The success banner, once.
#[component]
fn Banner(text: Option<String>) -> impl IntoView {
    text.map(|text| {
        view! {
            <div
                class="govuk-notification-banner govuk-notification-banner--success"
                role="alert"
                aria-labelledby="govuk-notification-banner-title"
                data-module="govuk-notification-banner"
            >
                <div class="govuk-notification-banner__header">
                    <h2
                        class="govuk-notification-banner__title"
                        id="govuk-notification-banner-title"
                    >
                        "Success"
                    </h2>
                </div>
                <div class="govuk-notification-banner__content">
                    <p class="govuk-notification-banner__heading">{text}</p>
                </div>
            </div>
        }
    })
}

/// The console's own navigation, under the header.
#[component]
fn ConsoleNav(me: Me, current: &'static str) -> impl IntoView {
    let admin = me.staff.may(Permission::ManageStaff);
    let item = move |href: &'static str, text: &'static str| {
        let active = href == current;
        view! {
            <li class=if active {
                "govuk-service-navigation__item govuk-service-navigation__item--active"
            } else {
                "govuk-service-navigation__item"
            }>
                <a
                    class="govuk-service-navigation__link"
                    href=href
                    rel="external"
                    aria-current=active.then_some("page")
                >
                    {text}
                </a>
            </li>
        }
    };
    view! {
        <nav aria-label="Support console" class="govuk-service-navigation govuk-!-margin-bottom-6">
            <ul class="govuk-service-navigation__list">
                {item(routes::SUPPORT, "Tasks")}
                {admin.then(|| item(routes::SUPPORT_STAFF, "Staff"))}
                {admin.then(|| item(routes::SUPPORT_AUDIT, "Audit log"))}
                {me
                    .staff
                    .may(Permission::ManageServices)
                    .then(|| item(routes::SUPPORT_SERVICES, "Services"))}
                <li class="govuk-service-navigation__item">
                    <form method="post" action=routes::SUPPORT_SIGN_OUT class="app-inline-form">
                        <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
                        <span class="govuk-body-s govuk-!-margin-right-2">
                            {format!("Signed in as {}", me.staff.name)}
                        </span>
                        <button
                            type="submit"
                            class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0"
                            data-module="govuk-button"
                        >
                            "Sign out"
                        </button>
                    </form>
                </li>
            </ul>
        </nav>
    }
}

fn kind_tag(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::IdentityVerification => "govuk-tag govuk-tag--purple",
        TaskKind::RecordMatching => "govuk-tag govuk-tag--blue",
        TaskKind::AccountRecordMatching => "govuk-tag govuk-tag--turquoise",
    }
}

fn status_tag(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Open => "govuk-tag govuk-tag--yellow",
        TaskStatus::InProgress => "govuk-tag govuk-tag--light-blue",
        TaskStatus::Done => "govuk-tag govuk-tag--green",
    }
}

/// A cell's column heading, shown beside the value only when a narrow screen stacks the table's rows. Hidden from
/// screen readers, which have the real column headers.
fn cell_heading(text: &'static str) -> impl IntoView {
    view! {
        <span class="app-responsive-table__heading" aria-hidden="true">
            {text}
        </span>
    }
}
