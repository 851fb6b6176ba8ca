//! The support console's pages (DESIGN §6, seed 001): the task dashboard, a task with its decision form, the check
//! page, staff roles, the audit log, and the development mailbox. Every form is a plain HTML form; with JavaScript
//! the dashboard's filters, sorting and paging update the list without a page load, a search updates as you type,
//! and new and changed tasks appear by themselves.

use crate::components::error_summary::{error_for, with_error_class, ErrorMessage, ErrorSummary};
use crate::components::page_title::PageTitle;
use crate::domain::support::{
    count_text, params, task_href, AssigneeFilter, Comparison, NotConnectedReason, Permission,
    RejectReason, Role, SortField, StatusCounts, StatusFilter, TaskKind, TaskQuery, TaskStatus,
    COUNT_CAP, OTHER_TRN,
};
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
            <a href="/support/sign-in" rel="external" role="button" class="govuk-button" data-module="govuk-button">"Sign in"</a>
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
                <p class="govuk-body">"Ask an administrator of the support console to give you a role."</p>
                <form method="post" action="/support/sign-out">
                    <input type="hidden" name="csrf_token" value=csrf_token() />
                    <button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button">"Sign out"</button>
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
            <div class="govuk-notification-banner govuk-notification-banner--success" role="alert"
                aria-labelledby="govuk-notification-banner-title" data-module="govuk-notification-banner">
                <div class="govuk-notification-banner__header">
                    <h2 class="govuk-notification-banner__title" id="govuk-notification-banner-title">"Success"</h2>
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
            <li class=if active { "govuk-service-navigation__item govuk-service-navigation__item--active" } else { "govuk-service-navigation__item" }>
                <a class="govuk-service-navigation__link" href=href rel="external" aria-current=active.then_some("page")>{text}</a>
            </li>
        }
    };
    view! {
        <nav aria-label="Support console" class="govuk-service-navigation govuk-!-margin-bottom-6">
            <ul class="govuk-service-navigation__list">
                {item("/support", "Tasks")}
                {admin.then(|| item("/support/staff", "Staff"))}
                {admin.then(|| item("/support/audit", "Audit log"))}
                <li class="govuk-service-navigation__item">
                    <form method="post" action="/support/sign-out" class="app-inline-form">
                        <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
                        <span class="govuk-body-s govuk-!-margin-right-2">{format!("Signed in as {}", me.staff.name)}</span>
                        <button type="submit" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0" data-module="govuk-button">"Sign out"</button>
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
    }
}

fn status_tag(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Open => "govuk-tag govuk-tag--yellow",
        TaskStatus::InProgress => "govuk-tag govuk-tag--light-blue",
        TaskStatus::Done => "govuk-tag govuk-tag--green",
    }
}

/// `/support`: the task dashboard. The filter form is rendered once and kept: only the heading and the results
/// change when the query does, so a search box keeps its focus (and what is being typed) while the list updates.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let location = use_location();
    let data = Resource::new_blocking(move || location.search.get(), load_dashboard);
    // New and changed tasks: an announcement for screen readers, and the list fetched again.
    let announcement = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    live_updates(data, announcement);
    // The query whose errors were last shown: the error summary takes the focus when a new query has errors, not
    // when the same list is fetched again because a task changed.
    let shown = StoredValue::new(None::<String>);
    view! {
        <PageTitle text="Support tasks".to_string() />
        <Transition>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Console::Ok(view)) => {
                        let search = location.search.get_untracked();
                        let fresh = shown.get_value().as_deref() != Some(search.as_str());
                        shown.set_value(Some(search));
                        dashboard_top(view, fresh).into_any()
                    }
                    Ok(other) => denied_or(other, |_: DashboardView| ().into_any()),
                    Err(_) => view! { <crate::pages::problem::ProblemPageContent /> }.into_any(),
                }
            })}
            <DashboardBody data />
        </Transition>
        <div class="govuk-visually-hidden" aria-live="polite" data-testid="live-announcement">{move || announcement.get()}</div>
    }
}

type DashboardData = Resource<Result<Console<DashboardView>, ServerFnError>>;

/// The filters and the results. Created once inside the page's `<Transition>`: when the query changes only the
/// results are rendered again.
#[component]
fn DashboardBody(data: DashboardData) -> impl IntoView {
    let view_of = move || match data.get() {
        Some(Ok(Console::Ok(view))) => Some(view),
        _ => None,
    };
    // Once the page has loaded for someone allowed to see it, the filters stay.
    let allowed = Memo::new(move |before: Option<&bool>| {
        before.copied().unwrap_or(false) || view_of().is_some()
    });
    let counts = Memo::new(move |before: Option<&StatusCounts>| {
        view_of()
            .map(|v| v.page.counts)
            .unwrap_or_else(|| before.copied().unwrap_or_default())
    });
    // The number of results lives outside the part rendered again, in a live region, so a screen reader hears
    // the new count when a filter or a search changes the list.
    let total = Memo::new(move |before: Option<&Option<u64>>| {
        view_of()
            .map(|v| v.page.total)
            .or_else(|| before.copied().flatten())
    });
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        let map = query_map.get();
        TaskQuery::from_params(|name| map.get(name))
    });
    view! {
        <Show when=move || allowed.get()>
            <div class="govuk-grid-row">
                <div class="govuk-grid-column-one-quarter-from-desktop">
                    <Filters query counts />
                </div>
                <div class="govuk-grid-column-three-quarters-from-desktop">
                    <div aria-live="polite" aria-atomic="true" data-testid="results-count">
                        <h2 class="govuk-heading-m" id="results-heading" data-testid="task-count">
                            {move || total.get().map(|total| format!("{} {}", count_text(total), if total == 1 { "task" } else { "tasks" }))}
                        </h2>
                    </div>
                    {move || Suspend::new(async move {
                        match data.await {
                            Ok(Console::Ok(view)) => dashboard_results(view).into_any(),
                            _ => ().into_any(),
                        }
                    })}
                </div>
            </div>
        </Show>
    }
}

/// Listens for new and changed tasks, fetches the list again when one arrives, and says what happened. The feed
/// closes when the page goes (or the staff member loses their role: the server ends it).
#[cfg(feature = "hydrate")]
fn live_updates(data: DashboardData, announcement: RwSignal<String>) {
    use crate::domain::support::TaskChanged;
    use futures::StreamExt;
    Effect::new(move |_| {
        let (feed, stop) = futures::future::abortable(async move {
            let Ok(mut source) =
                gloo_net::eventsource::futures::EventSource::new("/support/tasks/events")
            else {
                return;
            };
            let (Ok(new_tasks), Ok(changes)) =
                (source.subscribe("task"), source.subscribe("change"))
            else {
                return;
            };
            let new_tasks = new_tasks.map(|event| {
                event.map(|_| {
                    "A new support task has arrived. The list has been updated.".to_string()
                })
            });
            let changes = changes.map(|event| {
                event.map(|(_, message)| {
                    message
                        .data()
                        .as_string()
                        .and_then(|data| serde_json::from_str::<TaskChanged>(&data).ok())
                        .map(|c| c.change.announcement(&c.reference))
                        .unwrap_or_else(|| "The list has been updated.".to_string())
                })
            });
            let mut events = futures::stream::select(new_tasks, changes);
            while let Some(Ok(text)) = events.next().await {
                data.refetch();
                announcement.set(text);
            }
            source.close();
        });
        leptos::task::spawn_local(async move {
            let _ = feed.await;
        });
        // Leaving the dashboard drops the feed, which closes its connection.
        on_cleanup(move || stop.abort());
    });
}

/// Navigation, banner, errors and heading. `fresh`: this is a new query, so its errors (if any) take the focus.
fn dashboard_top(view: DashboardView, fresh: bool) -> impl IntoView {
    let DashboardView { me, errors, .. } = view;
    let has_errors = !errors.is_empty();
    let summary = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    if fresh && has_errors {
        // GOV.UK Frontend would focus every error summary it starts, including one shown again for the same
        // query after a live update; so the dashboard's own summary is focused here, once per query.
        Effect::new(move |_| {
            use web_sys::wasm_bindgen::JsCast;
            let Some(wrapper) = summary.get() else {
                return;
            };
            // On the next frame: inside a <Transition> the new summary may not be in the document yet when this
            // runs, and focusing a detached element does nothing.
            request_animation_frame(move || {
                if let Some(element) = wrapper
                    .query_selector(".govuk-error-summary")
                    .ok()
                    .flatten()
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = element.set_attribute("tabindex", "-1");
                    let _ = element.focus();
                }
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = fresh;
    view! {
        <PageTitle text="Support tasks".to_string() has_errors />
        <ConsoleNav me=me.clone() current="/support" />
        <Banner text=me.banner.clone() />
        <div node_ref=summary>
            <ErrorSummary errors=errors focus_by_page=true />
        </div>
        <h1 class="govuk-heading-l">"Support tasks"</h1>
    }
}

fn dashboard_results(view: DashboardView) -> impl IntoView {
    let DashboardView { query, page, .. } = view;
    let total = page.total;
    let pages = page.pages();
    view! {
        {(total > COUNT_CAP).then(|| view! {
            <p class="govuk-body">"Only the first 10,000 are listed. Search or filter to find a task."</p>
        })}
        {if page.tasks.is_empty() {
            view! { <p class="govuk-body">"No tasks match these filters."</p> }.into_any()
        } else {
            task_table(&query, page.tasks).into_any()
        }}
        <Pagination query=query.clone() pages />
    }
}

fn task_table(query: &TaskQuery, tasks: Vec<crate::domain::support::TaskSummary>) -> impl IntoView {
    let header = |field: SortField| {
        let sorted = query.sort == field;
        let aria = sorted.then(|| query.direction.aria());
        let href = query.sorted_by(field).href();
        view! {
            <th scope="col" role="columnheader" class="govuk-table__header" aria-sort=aria.unwrap_or("none")>
                <a class="govuk-link app-sort-link" href=href>{field.label()}</a>
            </th>
        }
    };
    // On a narrow screen each row becomes a block with its headings beside the values (app-responsive-table);
    // the explicit roles keep it a table for screen readers, whose browsers drop the table role with `display`.
    view! {
        <table class="govuk-table app-task-table app-responsive-table" role="table" data-testid="tasks">
            <caption class="govuk-table__caption govuk-visually-hidden">"Support tasks"</caption>
            <thead class="govuk-table__head" role="rowgroup">
                <tr class="govuk-table__row" role="row">
                    <th scope="col" role="columnheader" class="govuk-table__header">"Reference"</th>
                    {header(SortField::Name)}
                    {header(SortField::Kind)}
                    {header(SortField::Requested)}
                    {header(SortField::Status)}
                    <th scope="col" role="columnheader" class="govuk-table__header">"Assigned to"</th>
                </tr>
            </thead>
            <tbody class="govuk-table__body" role="rowgroup">
                {tasks
                    .into_iter()
                    .map(|t| {
                        view! {
                            <tr class="govuk-table__row" role="row">
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading("Reference")}
                                    <a class="govuk-link app-nowrap" href=task_href(&t.reference) rel="external">{t.reference.clone()}</a>
                                </td>
                                <td class="govuk-table__cell app-break-anywhere" role="cell">{cell_heading(SortField::Name.label())}{t.name}<br /><span class="govuk-body-s govuk-!-margin-0">{t.email}</span></td>
                                <td class="govuk-table__cell" role="cell">{cell_heading(SortField::Kind.label())}<strong class=kind_tag(t.kind)>{t.kind.label()}</strong></td>
                                <td class="govuk-table__cell" role="cell">{cell_heading(SortField::Requested.label())}<span class="app-nowrap">{crate::domain::uk_time::uk_short_date(t.requested_at)}</span>" "<span class="app-nowrap">{crate::domain::uk_time::uk_clock(t.requested_at)}</span></td>
                                <td class="govuk-table__cell" role="cell">{cell_heading(SortField::Status.label())}<strong class=status_tag(t.status)>{t.status.label()}</strong></td>
                                <td class="govuk-table__cell" role="cell">{cell_heading("Assigned to")}{t.assignee.unwrap_or_else(|| "Unassigned".into())}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// A cell's column heading, shown beside the value only when a narrow screen stacks the table's rows. Hidden from
/// screen readers, which have the real column headers.
fn cell_heading(text: &'static str) -> impl IntoView {
    view! { <span class="app-responsive-table__heading" aria-hidden="true">{text}</span> }
}

/// The filters: a GET form, so they work without JavaScript and land in the URL. With JavaScript the router
/// submits it without a page load, and the search box submits itself as you type (after a pause). The fields follow
/// the URL (the back button), except the search box, which keeps what is being typed.
#[component]
fn Filters(
    query: Memo<(TaskQuery, Vec<crate::domain::FieldError>)>,
    counts: Memo<StatusCounts>,
) -> impl IntoView {
    let (initial, _) = query.get_untracked();
    let query_map = use_query_map();
    let current = move || query.with(|(q, _)| q.clone());
    let error = move |field: &'static str| query.with(|(_, errors)| error_for(errors, field));
    let select = move |name: &'static str,
                       label: &'static str,
                       options: Vec<(String, String, Option<StatusFilter>)>,
                       value: fn(&TaskQuery) -> String| {
        let selected = value(&initial_of(query));
        view! {
            <div class="govuk-form-group">
                <label class="govuk-label govuk-label--s" for=name>{label}</label>
                <select class="govuk-select app-full-width" id=name name=name prop:value=move || value(&current())>
                    {options
                        .into_iter()
                        .map(|(v, text, status)| {
                            let is = v == selected;
                            let text = move || match status {
                                Some(filter) => format!("{text} ({})", count_text(counts.get().of(filter))),
                                None => text.clone(),
                            };
                            view! { <option value=v selected=is>{text}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
        }
    };
    let kinds: Vec<(String, String, Option<StatusFilter>)> =
        std::iter::once((String::new(), "All types".to_string(), None))
            .chain(
                TaskKind::ALL
                    .iter()
                    .map(|k| (k.as_str().to_string(), k.label().to_string(), None)),
            )
            .collect();
    let statuses = StatusFilter::OPTIONS
        .iter()
        .map(|(v, label)| (v.to_string(), label.to_string(), StatusFilter::parse(v)))
        .collect();
    let assignees = AssigneeFilter::ALL
        .iter()
        .map(|a| (a.as_str().to_string(), a.label().to_string(), None))
        .collect();
    let date = move |name: &'static str,
                     label: &'static str,
                     value: fn(&TaskQuery) -> Option<chrono::NaiveDate>| {
        // What was typed stays in the box when it is not a date, so it can be corrected.
        let shown = move || {
            let typed = query_map.with(|q| q.get(name)).unwrap_or_default();
            value(&current())
                .map(|d| d.format("%-d/%-m/%Y").to_string())
                .unwrap_or(typed)
        };
        let initial_value = shown();
        let hint = format!("{name}-hint");
        view! {
            <div class=move || with_error_class("govuk-form-group", &error(name))>
                <label class="govuk-label govuk-label--s" for=name>{label}</label>
                <div class="govuk-hint" id=hint.clone()>"For example, 27/3/2026"</div>
                {move || view! { <ErrorMessage id=format!("{name}-error") message=error(name) /> }}
                <input class=move || with_error_class("govuk-input app-full-width", &error(name)) id=name name=name
                    type="text" value=initial_value prop:value=shown aria-describedby=hint />
            </div>
        }
    };
    #[cfg(feature = "hydrate")]
    let on_search = {
        let pending = StoredValue::new(None::<leptos::prelude::TimeoutHandle>);
        move |ev: leptos::ev::Event| {
            use web_sys::wasm_bindgen::JsCast;
            let Some(form) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                .and_then(|input| input.form())
            else {
                return;
            };
            if let Some(handle) = pending.get_value() {
                handle.clear();
            }
            let handle = set_timeout_with_handle(
                move || {
                    let _ = form.request_submit();
                },
                std::time::Duration::from_millis(400),
            )
            .ok();
            pending.set_value(handle);
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let on_search = |_: leptos::ev::Event| {};
    // With JavaScript the form moves to the URL its fields make, without the empty ones (no `type=&from=`); without
    // it, the browser sends every field and the server moves to the same URL.
    #[cfg(feature = "hydrate")]
    let on_filter_submit = {
        let navigate = leptos_router::hooks::use_navigate();
        move |ev: leptos::ev::SubmitEvent| {
            use web_sys::wasm_bindgen::JsCast;
            let Some(form) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            else {
                return;
            };
            let Ok(data) = web_sys::FormData::new_with_form(&form) else {
                return;
            };
            ev.prevent_default();
            let fields: Vec<(String, String)> = [
                params::SEARCH,
                params::KIND,
                params::STATUS,
                params::ASSIGNEE,
                params::FROM,
                params::TO,
                params::SORT,
                params::DIRECTION,
            ]
            .into_iter()
            .filter_map(|name| Some((name.to_string(), data.get(name).as_string()?)))
            .collect();
            navigate(
                &crate::domain::support::filter_href(&fields),
                leptos_router::NavigateOptions {
                    scroll: false,
                    ..Default::default()
                },
            );
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let on_filter_submit = |_: leptos::ev::SubmitEvent| {};
    let kind_select = select(params::KIND, "Type", kinds, |q| {
        q.kind.map(|k| k.as_str().to_string()).unwrap_or_default()
    });
    let status_select = select(params::STATUS, "Status", statuses, |q| {
        q.status.as_str().to_string()
    });
    let assignee_select = select(params::ASSIGNEE, "Assigned to", assignees, |q| {
        q.assignee.as_str().to_string()
    });
    // What was typed, even when it was refused (too long, say), so it can be corrected rather than typed again.
    let typed_search = query_map
        .with_untracked(|q| q.get(params::SEARCH))
        .unwrap_or_else(|| initial.search.clone());
    let from_field = date(params::FROM, "Requested from", |q| q.from);
    let to_field = date(params::TO, "Requested to", |q| q.to);
    // The form's fields as one erased view: rendered inline in one static type they make the page's render too
    // deep for a test thread's stack in debug builds (the router's `Form` used to erase them).
    let fields = view! {
            <h2 class="govuk-heading-m">"Filter"</h2>
            <div class=move || with_error_class("govuk-form-group", &error(params::SEARCH))>
                <label class="govuk-label govuk-label--s" for="search">"Search"</label>
                <div class="govuk-hint" id="search-hint">"Name, email, reference or TRN"</div>
                {move || view! { <ErrorMessage id="search-error".to_string() message=error(params::SEARCH) /> }}
                <input class=move || with_error_class("govuk-input app-full-width", &error(params::SEARCH)) id="search"
                    name="search" type="search" value=typed_search aria-describedby="search-hint"
                    autocomplete="off" spellcheck="false" on:input=on_search />
            </div>
            {kind_select}
            {status_select}
            {assignee_select}
            {from_field}
            {to_field}
            // The sort survives filtering.
            <input type="hidden" name="sort" value=initial.sort.as_str() prop:value=move || current().sort.as_str() />
            <input type="hidden" name="direction" value=initial.direction.as_str() prop:value=move || current().direction.as_str() />
            <button type="submit" class="govuk-button" data-module="govuk-button">"Apply filters"</button>
            <p class="govuk-body"><a class="govuk-link" href="/support">"Clear filters"</a></p>
    }
    .into_any();
    view! {
        <form action="/support" method="get" on:submit=on_filter_submit>
            {fields}
        </form>
    }
}

fn initial_of(query: Memo<(TaskQuery, Vec<crate::domain::FieldError>)>) -> TaskQuery {
    query.with_untracked(|(q, _)| q.clone())
}

/// GOV.UK pagination: previous, numbers around the current page, next.
#[component]
fn Pagination(query: TaskQuery, pages: u32) -> impl IntoView {
    (pages > 1).then(|| {
        let current = query.page.min(pages);
        let mut numbers: Vec<u32> = vec![1, current.saturating_sub(1), current, current + 1, pages]
            .into_iter()
            .filter(|n| *n >= 1 && *n <= pages)
            .collect();
        numbers.sort();
        numbers.dedup();
        let mut items = Vec::new();
        let mut last = 0;
        for n in numbers {
            if n > last + 1 {
                items.push(view! { <li class="govuk-pagination__item govuk-pagination__item--ellipses">"⋯"</li> }.into_any());
            }
            let href = query.with_page(n).href();
            let is_current = n == current;
            items.push(view! {
                <li class=if is_current { "govuk-pagination__item govuk-pagination__item--current" } else { "govuk-pagination__item" }>
                    <a class="govuk-link govuk-pagination__link" href=href aria-label=format!("Page {n}") aria-current=is_current.then_some("page")>{n}</a>
                </li>
            }.into_any());
            last = n;
        }
        view! {
            <nav class="govuk-pagination" aria-label="Pages of tasks">
                {(current > 1).then(|| view! {
                    <div class="govuk-pagination__prev">
                        <a class="govuk-link govuk-pagination__link" href=query.with_page(current - 1).href() rel="prev">
                            <span class="govuk-pagination__link-title">"Previous"<span class="govuk-visually-hidden">" page"</span></span>
                        </a>
                    </div>
                })}
                <ul class="govuk-pagination__list">{items}</ul>
                {(current < pages).then(|| view! {
                    <div class="govuk-pagination__next">
                        <a class="govuk-link govuk-pagination__link" href=query.with_page(current + 1).href() rel="next">
                            <span class="govuk-pagination__link-title">"Next"<span class="govuk-visually-hidden">" page"</span></span>
                        </a>
                    </div>
                })}
            </nav>
        }
    })
}

fn summary_list(rows: Vec<crate::domain::support::Row>) -> impl IntoView {
    view! {
        <dl class="govuk-summary-list">
            {rows
                .into_iter()
                .map(|r| view! {
                    <div class="govuk-summary-list__row">
                        <dt class="govuk-summary-list__key">{r.label}</dt>
                        <dd class="govuk-summary-list__value">{r.value}</dd>
                    </div>
                })
                .collect_view()}
        </dl>
    }
}

fn reference_param() -> String {
    use_params_map()
        .with_untracked(|p| p.get("reference"))
        .unwrap_or_default()
}

/// `/support/tasks/:reference`: what the teacher gave and typed, their proof, suggested records, and the decision.
#[component]
pub fn TaskPage() -> impl IntoView {
    let reference = reference_param();
    view! {
        <ConsolePage load=move || load_task(reference.clone()) render=|v| task_page(v).into_any() />
    }
}

fn task_page(v: crate::server_fns::console::TaskPageView) -> impl IntoView {
    let crate::server_fns::console::TaskPageView {
        me,
        task,
        pending,
        pending_input,
    } = v;
    let may_work = me.staff.may(Permission::WorkTasks);
    let title = format!("{} – {}", task.reference, task.kind.label());
    let has_errors = !me.errors.is_empty();
    let proof = task.proof.clone().map(|p| {
        let inline = if p.content_type == "application/pdf" {
            view! {
                <object data=p.href.clone() type="application/pdf" class="app-proof" aria-label="Proof of identity (PDF)">
                    <p class="govuk-body">"Your browser cannot show this PDF here."</p>
                </object>
            }
            .into_any()
        } else {
            view! { <img src=p.href.clone() alt="Proof of identity sent by the teacher" class="app-proof" /> }.into_any()
        };
        view! {
            <h2 class="govuk-heading-m">"Proof of identity"</h2>
            {inline}
            <p class="govuk-body">
                <a class="govuk-link" href=format!("{}?download=1", p.href) rel="external">{format!("Download {} ({})", p.file_name, p.size)}</a>
            </p>
        }
    });
    let assign = (may_work && task.decided.is_none()).then(|| assign_form(&me, &task));
    let decision = match (&task.decided, may_work) {
        (Some(d), _) => view! {
            <h2 class="govuk-heading-m">"Decision"</h2>
            {summary_list(vec![
                crate::domain::support::Row::new("Decision", d.summary.clone()),
                crate::domain::support::Row::new("Decided by", d.by.clone()),
                crate::domain::support::Row::new("Decided on", when(d.at)),
            ])}
            {(!task.history.is_empty()).then(|| view! {
                <h2 class="govuk-heading-m">"Change history of the record"</h2>
                <ul class="govuk-list" data-testid="history">
                    {task.history.iter().map(|h| view! {
                        <li><span class="govuk-body-s govuk-!-display-block">{when(h.at)}</span>{h.text.clone()}</li>
                    }).collect_view()}
                </ul>
            })}
        }
        .into_any(),
        (None, true) => decision_form(&me, &task, pending_input).into_any(),
        (None, false) => {
            view! { <p class="govuk-body">"You can view this task but not decide it."</p> }
                .into_any()
        }
    };
    view! {
        <PageTitle text=title has_errors />
        <ConsoleNav me=me.clone() current="" />
        <a href=me.tasks_href.clone() class="govuk-back-link">"Back to tasks"</a>
        <Banner text=me.banner.clone() />
        <ErrorSummary errors=me.errors.clone() />
        <span class="govuk-caption-l">{task.kind.label()}</span>
        <h1 class="govuk-heading-l">{task.reference.clone()}</h1>
        <p class="govuk-body">
            <strong class=status_tag(task.status)>{task.status.label()}</strong>
            {format!(" Requested {}", when(task.requested_at))}
            {(!task.flags.is_empty()).then(|| format!(". Matching said: {}", task.flags.join("; ")))}
        </p>
        {pending.map(|p| view! {
            <div class="govuk-inset-text">
                {format!("You have a decision waiting to be confirmed: {p}. ")}
                <a class="govuk-link" href=format!("{}/check", task_href(&task.reference))>"Check and confirm it"</a>
            </div>
        })}
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h2 class="govuk-heading-m">"What GOV.UK One Login gave us"</h2>
                {summary_list(task.one_login.clone())}
                <h2 class="govuk-heading-m">"Additional information"</h2>
                <p class="govuk-body">"What the teacher entered."</p>
                {summary_list(task.additional.clone())}
                {proof}
                {suggestions(&task)}
                {decision}
                {disconnect_section(&me, &task)}
            </div>
            <div class="govuk-grid-column-one-third">{assign}</div>
        </div>
    }
}

fn suggestions(task: &crate::domain::support::TaskView) -> impl IntoView {
    (task.decided.is_none()).then(|| {
        let cards = task
            .suggestions
            .iter()
            .map(|s| {
                view! {
                    <div class="govuk-summary-card" data-testid="suggested-record">
                        <div class="govuk-summary-card__title-wrapper">
                            <h3 class="govuk-summary-card__title">{format!("{} – TRN {}", s.name, s.trn)}</h3>
                            {s.connected_elsewhere.then(|| view! { <strong class="govuk-tag govuk-tag--red">"Connected to another One Login"</strong> })}
                            {s.deactivated.then(|| view! { <strong class="govuk-tag govuk-tag--grey">"Deactivated"</strong> })}
                            {s.found_by.clone().map(|by| view! { <strong class="govuk-tag govuk-tag--yellow" data-testid="found-by">{by}</strong> })}
                        </div>
                        <div class="govuk-summary-card__content">
                            <dl class="govuk-summary-list">
                                {s.fields
                                    .iter()
                                    .map(|f| view! {
                                        <div class="govuk-summary-list__row">
                                            <dt class="govuk-summary-list__key">{f.label.clone()}</dt>
                                            <dd class="govuk-summary-list__value">{f.value.clone()}</dd>
                                            <dd class="govuk-summary-list__actions">
                                                {match f.outcome {
                                                    Comparison::Matches => view! { <strong class="govuk-tag govuk-tag--green">"Matches"</strong> }.into_any(),
                                                    Comparison::DoesNotMatch => view! { <strong class="govuk-tag govuk-tag--grey">"Does not match"</strong> }.into_any(),
                                                    // One side has no value: there is nothing to say.
                                                    Comparison::NotCompared => ().into_any(),
                                                }}
                                            </dd>
                                        </div>
                                    })
                                    .collect_view()}
                            </dl>
                        </div>
                    </div>
                }
            })
            .collect_view();
        view! {
            <h2 class="govuk-heading-m">"Suggested records"</h2>
            {if task.suggestions.is_empty() {
                view! { <p class="govuk-body">"We found no records that could match. You can still connect a record by its TRN."</p> }.into_any()
            } else {
                cards.into_any()
            }}
        }
    })
}

fn assign_form(me: &Me, task: &crate::domain::support::TaskView) -> impl IntoView {
    let action = format!("{}/assign", task_href(&task.reference));
    let current = task
        .assignee
        .as_ref()
        .map(|(id, _)| id.to_string())
        .unwrap_or_else(|| "none".into());
    let error = error_for(&me.errors, "assignee");
    let group = with_error_class("govuk-form-group", &error);
    view! {
        <h2 class="govuk-heading-m">"Assigned to"</h2>
        <p class="govuk-body" data-testid="assignee">{task.assignee.as_ref().map(|(_, n)| n.clone()).unwrap_or_else(|| "Nobody".into())}</p>
        {(task.assignee.as_ref().map(|(id, _)| *id) != Some(me.staff.id)).then(|| view! {
            <form method="post" action=action.clone()>
                <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
                <input type="hidden" name="version" value=task.version.to_string() />
                <input type="hidden" name="assignee" value="me" />
                <button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button">"Assign to me"</button>
            </form>
        })}
        <form method="post" action=action>
            <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
            <input type="hidden" name="version" value=task.version.to_string() />
            <div class=group>
                <label class="govuk-label" for="assignee">"Assign to someone else"</label>
                <ErrorMessage id="assignee-error".to_string() message=error />
                <select class="govuk-select" id="assignee" name="assignee">
                    <option value="none" selected=current == "none">"Nobody"</option>
                    {task.assignable
                        .iter()
                        .map(|(id, name)| {
                            let v = id.to_string();
                            let is = v == current;
                            view! { <option value=v selected=is>{name.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button">"Assign"</button>
        </form>
    }
}

/// Radios with the Design System's markup; `reveal` is shown under the option whose value it names.
fn radios(
    name: &'static str,
    legend: &'static str,
    options: Vec<(String, String)>,
    selected: &str,
    error: Option<String>,
    mut reveal: Vec<(String, AnyView)>,
) -> impl IntoView {
    let group = with_error_class("govuk-form-group", &error);
    let error_id = format!("{name}-error");
    let described = error.as_ref().map(|_| error_id.clone());
    let items = options
        .into_iter()
        .enumerate()
        .map(|(i, (value, label))| {
            let id = if i == 0 { name.to_string() } else { format!("{name}-{}", i + 1) };
            let checked = value == selected;
            let conditional = reveal.iter().position(|(v, _)| *v == value).map(|p| reveal.remove(p).1);
            let reveal_id = format!("conditional-{id}");
            let has_reveal = conditional.is_some();
            view! {
                <div class="govuk-radios__item">
                    <input class="govuk-radios__input" id=id.clone() name=name type="radio" value=value checked=checked
                        data-aria-controls=has_reveal.then(|| reveal_id.clone()) />
                    <label class="govuk-label govuk-radios__label" for=id>{label}</label>
                </div>
                {conditional.map(|c| view! {
                    <div class=if checked { "govuk-radios__conditional" } else { "govuk-radios__conditional govuk-radios__conditional--hidden" } id=reveal_id>
                        {c}
                    </div>
                })}
            }
        })
        .collect_view();
    view! {
        <div class=group>
            <fieldset class="govuk-fieldset" aria-describedby=described>
                <legend class="govuk-fieldset__legend govuk-fieldset__legend--s">{legend}</legend>
                <ErrorMessage id=error_id message=error />
                <div class="govuk-radios" data-module="govuk-radios">{items}</div>
            </fieldset>
        </div>
    }
}

/// For administrators, while the teacher is connected: undo the connection, with a reason the teacher is sent.
/// A reason first, then a check step with what will happen, then the confirmation: plain forms, no JavaScript.
fn disconnect_section(me: &Me, task: &crate::domain::support::TaskView) -> Option<AnyView> {
    use crate::domain::support::Row;
    let connection = task.connection.clone()?;
    if !me.staff.may(Permission::Disconnect) {
        return None;
    }
    let action = crate::domain::support::disconnect_href(&task.reference);
    let checking = me.values.get("disconnect_step").map(String::as_str) == Some("check");
    let reason = me
        .values
        .get("disconnect_reason")
        .cloned()
        .unwrap_or_default();
    let error = error_for(&me.errors, "disconnect_reason");
    let csrf = me.csrf_token.clone();
    let record = format!("{} – TRN {}", connection.record_name, connection.trn);
    Some(if checking {
        view! {
            <div id="disconnect" data-testid="disconnect-check">
                <h2 class="govuk-heading-m">"Check before you disconnect the record"</h2>
                {summary_list(vec![
                    Row::new("Record", record),
                    Row::new("GOV.UK One Login", connection.one_login_email.clone()),
                    Row::new("Reason", reason.clone()),
                ])}
                <div class="govuk-warning-text">
                    <span class="govuk-warning-text__icon" aria-hidden="true">"!"</span>
                    <strong class="govuk-warning-text__text">
                        <span class="govuk-visually-hidden">"Warning"</span>
                        "The teacher will no longer see this record. We will email them the reason, and they will need to answer our questions again to connect a record."
                    </strong>
                </div>
                <form method="post" action=action>
                    <input type="hidden" name="csrf_token" value=csrf />
                    <input type="hidden" name="action" value="confirm" />
                    <input type="hidden" name="disconnect_reason" value=reason />
                    <input type="hidden" name="trn" value=connection.trn.clone() />
                    <div class="govuk-button-group">
                        <button type="submit" class="govuk-button govuk-button--warning" data-module="govuk-button">"Disconnect the record"</button>
                        <a class="govuk-link" href=task_href(&task.reference) rel="external">"Cancel"</a>
                    </div>
                </form>
            </div>
        }
        .into_any()
    } else {
        view! {
            <div id="disconnect">
                <h2 class="govuk-heading-m">"Disconnect the record"</h2>
                <p class="govuk-body">{format!(
                    "This teacher’s GOV.UK One Login is connected to the record of {record}. If that is wrong, you can undo the connection."
                )}</p>
                <form method="post" action=action novalidate>
                    <input type="hidden" name="csrf_token" value=csrf />
                    <input type="hidden" name="action" value="continue" />
                    {text_field("disconnect_reason", "Why are you disconnecting the record? The teacher will be sent this", reason, error, true)}
                    <button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button">"Continue"</button>
                </form>
            </div>
        }
        .into_any()
    })
}

fn text_field(
    name: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
    textarea: bool,
) -> AnyView {
    let group = with_error_class("govuk-form-group", &error);
    let error_id = format!("{name}-error");
    let described = error.as_ref().map(|_| error_id.clone());
    let control = if textarea {
        let class = with_error_class("govuk-textarea", &error);
        view! { <textarea class=class id=name name=name rows="4" aria-describedby=described>{crate::components::textarea_text(value)}</textarea> }.into_any()
    } else {
        let class = with_error_class("govuk-input govuk-input--width-10", &error);
        view! { <input class=class id=name name=name type="text" value=value spellcheck="false" autocomplete="off" aria-describedby=described /> }.into_any()
    };
    view! {
        <div class=group>
            <label class="govuk-label" for=name>{label}</label>
            <ErrorMessage id=error_id message=error />
            {control}
        </div>
    }
    .into_any()
}

fn decision_form(
    me: &Me,
    task: &crate::domain::support::TaskView,
    pending: Option<crate::domain::support::DecisionInput>,
) -> impl IntoView {
    // What was typed last (after an error), else the decision waiting on the check page ("Change" or "Back"
    // from there), else the saved draft.
    let values = if !me.values.is_empty() {
        me.values.clone()
    } else if let Some(pending) = pending {
        pending.values()
    } else {
        task.draft.clone().map(|d| d.values()).unwrap_or_default()
    };
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let errors = &me.errors;
    let identity = task.kind == TaskKind::IdentityVerification;
    let mut records: Vec<(String, String)> = task
        .suggestions
        .iter()
        .filter(|s| !s.connected_elsewhere && !s.deactivated)
        .map(|s| (s.trn.clone(), format!("{} – TRN {}", s.name, s.trn)))
        .collect();
    records.push((
        OTHER_TRN.to_string(),
        "Another record (enter its TRN)".to_string(),
    ));
    let other_trn = text_field(
        "other_trn",
        "TRN",
        get("other_trn"),
        error_for(errors, "other_trn"),
        false,
    );
    let record_radios = radios(
        "trn",
        "Which record?",
        records,
        &get("trn"),
        error_for(errors, "trn"),
        vec![(OTHER_TRN.to_string(), other_trn)],
    )
    .into_any();
    let detail = |field: &'static str| {
        (
            "other".to_string(),
            text_field(
                field,
                "Give the reason",
                get(field),
                error_for(errors, field),
                true,
            ),
        )
    };
    let not_connected = radios(
        "reason",
        "Why not?",
        NotConnectedReason::ALL
            .iter()
            .map(|r| (r.as_str().to_string(), r.label().to_string()))
            .collect(),
        &get("reason"),
        error_for(errors, "reason"),
        vec![detail("reason_detail")],
    )
    .into_any();
    let mut outcomes = vec![
        (
            "connect".to_string(),
            if identity {
                "Verify their identity and connect a record"
            } else {
                "Connect a record"
            }
            .to_string(),
        ),
        (
            "do_not_connect".to_string(),
            if identity {
                "Verify their identity but do not connect a record"
            } else {
                "Do not connect a record"
            }
            .to_string(),
        ),
    ];
    let mut reveals = vec![
        ("connect".to_string(), record_radios),
        ("do_not_connect".to_string(), not_connected),
    ];
    if identity {
        outcomes.push(("reject".to_string(), "Reject the request".to_string()));
        let reject = radios(
            "reject_reason",
            "Why?",
            RejectReason::ALL
                .iter()
                .map(|r| (r.as_str().to_string(), r.label().to_string()))
                .collect(),
            &get("reject_reason"),
            error_for(errors, "reject_reason"),
            vec![detail("reject_reason_detail")],
        )
        .into_any();
        reveals.push(("reject".to_string(), reject));
    }
    let outcome_radios = radios(
        "outcome",
        "What is your decision?",
        outcomes,
        &get("outcome"),
        error_for(errors, "outcome"),
        reveals,
    );
    view! {
        <h2 class="govuk-heading-m" id="decision">"Decision"</h2>
        <form method="post" action=format!("{}/decision", task_href(&task.reference)) novalidate>
            <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
            <input type="hidden" name="version" value=task.version.to_string() />
            {outcome_radios}
            <div class="govuk-button-group">
                <button type="submit" name="action" value="continue" class="govuk-button" data-module="govuk-button">"Continue"</button>
                <button type="submit" name="action" value="save" class="govuk-button govuk-button--secondary" data-module="govuk-button">"Save and come back later"</button>
            </div>
        </form>
    }
}

/// `/support/tasks/:reference/check`: the decision in words, and "Confirm".
#[component]
pub fn CheckDecisionPage() -> impl IntoView {
    let reference = reference_param();
    view! {
        <ConsolePage load=move || load_task(reference.clone()) render=|v| check_page(v).into_any() />
    }
}

fn check_page(v: crate::server_fns::console::TaskPageView) -> impl IntoView {
    let crate::server_fns::console::TaskPageView {
        me, task, pending, ..
    } = v;
    let back = task_href(&task.reference);
    let Some(pending) = pending else {
        return view! {
            <PageTitle text="There is no decision to check".to_string() />
            <h1 class="govuk-heading-l">"There is no decision to check"</h1>
            <p class="govuk-body"><a class="govuk-link" href=back>"Go back to the task"</a></p>
        }
        .into_any();
    };
    view! {
        <PageTitle text=format!("Check your decision on task {}", task.reference) />
        <ConsoleNav me=me.clone() current="" />
        <a href=back.clone() class="govuk-back-link">"Back"</a>
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <span class="govuk-caption-l">{task.reference.clone()}</span>
                <h1 class="govuk-heading-l">"Check your decision"</h1>
                <dl class="govuk-summary-list">
                    <div class="govuk-summary-list__row">
                        <dt class="govuk-summary-list__key">"Decision"</dt>
                        <dd class="govuk-summary-list__value" data-testid="pending-decision">{pending}</dd>
                        <dd class="govuk-summary-list__actions">
                            <a class="govuk-link" href=format!("{back}#decision")>"Change"<span class="govuk-visually-hidden">" decision"</span></a>
                        </dd>
                    </div>
                </dl>
                <p class="govuk-body">"When you confirm, we’ll email the teacher to tell them."</p>
                <form method="post" action=format!("{back}/confirm")>
                    <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
                    <button type="submit" class="govuk-button" data-module="govuk-button" data-prevent-double-click="true">"Confirm decision"</button>
                </form>
            </div>
        </div>
    }
    .into_any()
}

/// `/support/staff`: administrators grant and remove roles.
#[component]
pub fn StaffPage() -> impl IntoView {
    view! {
        <ConsolePage load=load_staff render=|v| {
            let crate::server_fns::console::StaffView { me, staff } = v;
            let has_errors = !me.errors.is_empty();
            view! {
                <PageTitle text="Staff".to_string() has_errors />
                <ConsoleNav me=me.clone() current="/support/staff" />
                <Banner text=me.banner.clone() />
                <ErrorSummary errors=me.errors.clone() />
                <h1 class="govuk-heading-l">"Staff"</h1>
                <p class="govuk-body">"Everyone who has signed in, or been added. Someone without a role can sign in but sees nothing."</p>
                <table class="govuk-table app-responsive-table" role="table" data-testid="staff">
                    <caption class="govuk-table__caption govuk-visually-hidden">"Staff and their roles"</caption>
                    <thead class="govuk-table__head" role="rowgroup">
                        <tr class="govuk-table__row" role="row">
                            <th scope="col" role="columnheader" class="govuk-table__header">"Name"</th>
                            <th scope="col" role="columnheader" class="govuk-table__header">"Email"</th>
                            <th scope="col" role="columnheader" class="govuk-table__header">"Role"</th>
                        </tr>
                    </thead>
                    <tbody class="govuk-table__body" role="rowgroup">
                        {staff.into_iter().map(|s| {
                            let field = format!("role-{}", s.id);
                            let error = error_for(&me.errors, &field);
                            let group = with_error_class("govuk-form-group govuk-!-margin-bottom-0", &error);
                            let current = s.role.map(Role::as_str).unwrap_or("none");
                            let label = format!("Role for {}", s.name);
                            view! {
                                <tr class="govuk-table__row" role="row">
                                    <td class="govuk-table__cell app-break-anywhere" role="cell">{cell_heading("Name")}{s.name.clone()}</td>
                                    <td class="govuk-table__cell app-break-anywhere" role="cell">{cell_heading("Email")}{s.email.clone()}</td>
                                    <td class="govuk-table__cell" role="cell">
                                        {cell_heading("Role")}
                                        <form method="post" action="/support/staff" class="app-inline-form">
                                            <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
                                            <input type="hidden" name="staff_id" value=s.id.to_string() />
                                            <div class=group>
                                                <label class="govuk-label govuk-visually-hidden" for=field.clone()>{label}</label>
                                                <ErrorMessage id=format!("{field}-error") message=error />
                                                <select class="govuk-select" id=field name="role">
                                                    <option value="none" selected=current == "none">"No role"</option>
                                                    {Role::ALL.iter().map(|r| view! {
                                                        <option value=r.as_str() selected=current == r.as_str()>{r.label()}</option>
                                                    }).collect_view()}
                                                </select>
                                                <button type="submit" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0" data-module="govuk-button">
                                                    "Save"<span class="govuk-visually-hidden">{format!(" role for {}", s.name)}</span>
                                                </button>
                                            </div>
                                        </form>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        } />
    }
}

/// `/support/audit`: every staff action, newest first.
#[component]
pub fn AuditPage() -> impl IntoView {
    let before = use_query_map()
        .with_untracked(|q| q.get("before"))
        .and_then(|b| b.parse::<i64>().ok());
    view! {
        <ConsolePage load=move || load_audit(before) render=|v| {
            let crate::server_fns::console::AuditView { me, lines, older } = v;
            view! {
                <PageTitle text="Audit log".to_string() />
                <ConsoleNav me=me.clone() current="/support/audit" />
                <h1 class="govuk-heading-l">"Audit log"</h1>
                <table class="govuk-table" data-testid="audit">
                    <caption class="govuk-table__caption govuk-visually-hidden">"Staff actions, newest first"</caption>
                    <thead class="govuk-table__head">
                        <tr class="govuk-table__row">
                            <th scope="col" class="govuk-table__header">"When"</th>
                            <th scope="col" class="govuk-table__header">"Who"</th>
                            <th scope="col" class="govuk-table__header">"What"</th>
                            <th scope="col" class="govuk-table__header">"Task"</th>
                        </tr>
                    </thead>
                    <tbody class="govuk-table__body">
                        {lines.into_iter().map(|l| view! {
                            <tr class="govuk-table__row">
                                <td class="govuk-table__cell">{when(l.at)}</td>
                                <td class="govuk-table__cell">{l.staff}</td>
                                <td class="govuk-table__cell">{l.action}</td>
                                <td class="govuk-table__cell">{l.task_reference.map(|r| view! { <a class="govuk-link" href=task_href(&r) rel="external">{r.clone()}</a> })}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                {older.map(|id| view! { <p class="govuk-body"><a class="govuk-link" href=format!("/support/audit?before={id}") rel="external">"Older entries"</a></p> })}
            }.into_any()
        } />
    }
}

#[component]
pub fn StaffSignedOutPage() -> impl IntoView {
    view! {
        <PageTitle text="You have signed out of the support console".to_string() />
        <h1 class="govuk-heading-l">"You have signed out of the support console"</h1>
        <p class="govuk-body"><a class="govuk-link" href="/support/sign-in" rel="external">"Sign in again"</a></p>
    }
}

#[component]
pub fn StaffSignInProblemPage() -> impl IntoView {
    view! {
        <PageTitle text="Sorry, there was a problem signing you in".to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-l">"Sorry, there was a problem signing you in"</h1>
                <p class="govuk-body">"Your sign-in may have taken too long, or the sign-in service may be having problems."</p>
                <p class="govuk-body"><a class="govuk-link" href="/support/sign-in" rel="external">"Try signing in again"</a></p>
            </div>
        </div>
    }
}

/// `/dev/mailbox`: in development without GOV.UK Notify, every email the service would have sent.
#[component]
pub fn MailboxPage() -> impl IntoView {
    view! {
        <ConsolePage load=load_mailbox render=|emails| view! {
            <PageTitle text="Development mailbox".to_string() />
            <h1 class="govuk-heading-l">"Development mailbox"</h1>
            <p class="govuk-body">"Emails the service would have sent through GOV.UK Notify, newest first. Only in development."</p>
            {if emails.is_empty() {
                view! { <p class="govuk-body">"No emails yet."</p> }.into_any()
            } else {
                emails.into_iter().map(|e| view! {
                    <div class="govuk-summary-card" data-testid="email">
                        <div class="govuk-summary-card__title-wrapper">
                            <h2 class="govuk-summary-card__title">{e.subject.clone()}</h2>
                        </div>
                        <div class="govuk-summary-card__content">
                            <p class="govuk-body-s">{format!("To {} · {} · {}", e.to, e.status, when(e.queued_at))}</p>
                            <div class="govuk-body app-email-body">{e.body.clone()}</div>
                        </div>
                    </div>
                }).collect_view().into_any()
            }}
        }.into_any() />
    }
}
