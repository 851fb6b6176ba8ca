//! `/support`: the task dashboard, its filters, live updates and pages.

use super::*;
use crate::components::pagination::pagination;

/// `/support`: the task dashboard. The server renders the page; the list, its filters and its live updates are an
/// island ([`TaskList`]), the only part of the service compiled to WASM.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let location = use_location();
    let data = Resource::new_blocking(move || location.search.get(), load_dashboard);
    view! {
        <PageTitle text="Support tasks".to_string() />
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Console::Ok(view)) => {
                        let me = view.me.clone();
                        let has_errors = !view.errors.is_empty();
                        let search = location.search.get_untracked();
                        view! {
                            <PageTitle text="Support tasks".to_string() has_errors />
                            <ConsoleNav me=me.clone() current="/support" />
                            <Banner text=me.banner />
                            <TaskList initial=view search />
                        }
                            .into_any()
                    }
                    Ok(other) => denied_or(other, |_: DashboardView| ().into_any()),
                    Err(_) => view! { <crate::pages::problem::ProblemPageContent /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The list as the browser shows it: the view drawn, the query string it was drawn for, and whether it answers a
/// new query (whose errors then take the focus) or is the same query fetched again after a live update.
#[derive(Clone, Copy)]
struct Shown {
    view: RwSignal<DashboardView>,
    search: RwSignal<String>,
    fresh: RwSignal<bool>,
    /// What the search box shows: set when the query comes from elsewhere (a link, the back button), never while
    /// someone types.
    search_box: RwSignal<String>,
    /// The query string last asked for, a count of requests (a response overtaken by a newer request is dropped)
    /// and whether a new query is among those not drawn yet (a live update may overtake it).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    wanted: StoredValue<(String, u64, bool)>,
    /// The filter fields as the page had them when the island started (see [`filled_before_hydration`]), each
    /// taken by its field's first drawing.
    kept: StoredValue<Vec<(String, String)>>,
}

impl Shown {
    fn new(view: DashboardView, search: String) -> Self {
        let typed = params_of(&search)
            .into_iter()
            .find(|(k, _)| k == params::SEARCH)
            .map(|(_, v)| v)
            .unwrap_or_else(|| view.query.search.clone());
        Self {
            view: RwSignal::new(view),
            search: RwSignal::new(search.clone()),
            fresh: RwSignal::new(true),
            search_box: RwSignal::new(typed),
            wanted: StoredValue::new((search, 0, false)),
            #[cfg(feature = "hydrate")]
            kept: StoredValue::new(filled_before_hydration()),
            #[cfg(not(feature = "hydrate"))]
            kept: StoredValue::new(Vec::new()),
        }
    }

    /// What the filter field `name` shows: `value`, except on its first drawing in the browser, when the field
    /// keeps what the page already had in it. `value` is computed either way, so the field follows it after.
    fn field_value(self, name: &str, value: String) -> String {
        let mut kept = None;
        self.kept.update_value(|fields| {
            if let Some(at) = fields.iter().position(|(k, _)| k == name) {
                kept = Some(fields.swap_remove(at).1);
            }
        });
        kept.unwrap_or(value)
    }

    /// Moves to `href`, a dashboard URL, without a page load: the address bar says it and the back button returns.
    #[cfg(feature = "hydrate")]
    fn navigate(self, href: &str, from_form: bool) {
        if let Ok(history) = window().history() {
            let _ =
                history.push_state_with_url(&web_sys::wasm_bindgen::JsValue::NULL, "", Some(href));
        }
        let search = href.split_once('?').map(|(_, q)| q).unwrap_or_default();
        self.load(search.to_string(), true, !from_form);
    }

    /// Fetches the list for `search` and draws it. `fresh`: a new query. `from_elsewhere`: the search box follows.
    #[cfg(feature = "hydrate")]
    fn load(self, search: String, fresh: bool, from_elsewhere: bool) {
        let (_, before, undrawn) = self.wanted.get_value();
        let (request, fresh) = (before + 1, fresh || undrawn);
        self.wanted.set_value((search.clone(), request, fresh));
        leptos::task::spawn_local(async move {
            let result = load_dashboard(search.clone()).await;
            if self.wanted.get_value().1 != request {
                return;
            }
            match result {
                Ok(Console::Ok(view)) => {
                    document().set_title(&crate::components::page_title::title_text(
                        "Support tasks",
                        !view.errors.is_empty(),
                    ));
                    if from_elsewhere {
                        self.search_box.set(view.query.search.clone());
                    }
                    self.wanted.update_value(|w| w.2 = false);
                    self.fresh.set(fresh);
                    self.search.set(search);
                    self.view.set(view);
                }
                // Signed out, or the role gone, or the server failing: a page load shows which. A live update
                // that fails leaves the list as it was.
                _ if fresh => {
                    let _ = window().location().reload();
                }
                _ => {}
            }
        });
    }
}

/// The id of the filter form.
const FILTER_FORM: &str = "filters";

/// The filter form's fields as the page has them now. The server-rendered page works while the WASM loads, so a
/// search may be typed (or a filter chosen) before the island hydrates; hydrating sets each field's value from the
/// query the server drew, which would throw that away, so each field's first value is what it had
/// ([`Shown::field_value`]).
#[cfg(feature = "hydrate")]
fn filled_before_hydration() -> Vec<(String, String)> {
    use web_sys::wasm_bindgen::JsCast;
    document()
        .get_element_by_id(FILTER_FORM)
        .and_then(|f| f.dyn_into::<web_sys::HtmlFormElement>().ok())
        .and_then(|form| fields_of(&form))
        .unwrap_or_default()
}

/// The filter form's named fields and their values.
#[cfg(feature = "hydrate")]
fn fields_of(form: &web_sys::HtmlFormElement) -> Option<Vec<(String, String)>> {
    let data = web_sys::FormData::new_with_form(form).ok()?;
    let fields = [
        params::SEARCH,
        params::KIND,
        params::STATUS,
        params::ASSIGNEE,
        params::SERVICE,
        params::FROM,
        params::TO,
        params::SORT,
        params::DIRECTION,
    ]
    .into_iter()
    .filter_map(|name| Some((name.to_string(), data.get(name).as_string()?)))
    .collect();
    Some(fields)
}

/// The query string's pairs, percent-decoded.
fn params_of(search: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(search.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect()
}

/// The task list with its filters (an island): with JavaScript, the filters, sorting and paging update the list
/// without a page load (the URL follows, so links and the back button work), the search box submits itself as you
/// type, and new and changed tasks appear by themselves. `initial` is the server's view for `search`, the query
/// string; the browser draws the same from them.
#[island]
fn TaskList(initial: DashboardView, search: String) -> impl IntoView {
    let shown = Shown::new(initial, search);
    // New and changed tasks: an announcement for screen readers, and the list fetched again.
    let announcement = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    live_updates(shown, announcement);
    #[cfg(feature = "hydrate")]
    let _ = window_event_listener(leptos::ev::popstate, move |_| {
        let search = window().location().search().unwrap_or_default();
        shown.load(search.trim_start_matches('?').to_string(), true, true);
    });
    // Links to other lists (sorting, pages, "Clear filters") are followed without a page load.
    #[cfg(feature = "hydrate")]
    let on_click = move |ev: leptos::ev::MouseEvent| {
        use web_sys::wasm_bindgen::JsCast;
        if ev.default_prevented()
            || ev.button() != 0
            || ev.ctrl_key()
            || ev.meta_key()
            || ev.shift_key()
            || ev.alt_key()
        {
            return;
        }
        let Some(href) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("a[href]").ok().flatten())
            .and_then(|a| a.get_attribute("href"))
        else {
            return;
        };
        let path = href.split_once('?').map(|(p, _)| p).unwrap_or(&href);
        if path == crate::domain::support::DASHBOARD_PATH {
            ev.prevent_default();
            shown.navigate(&href, false);
            window().scroll_to_with_x_and_y(0.0, 0.0);
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let on_click = |_: leptos::ev::MouseEvent| {};
    view! {
        <div on:click=on_click>
            {move || {
                let fresh = shown.fresh.get_untracked();
                dashboard_top(shown.view.get(), fresh)
            }} <DashboardBody shown />
        </div>
        <div class="govuk-visually-hidden" aria-live="polite" data-testid="live-announcement">
            {move || announcement.get()}
        </div>
    }
}

/// The filters and the results. When the query changes only the results are drawn again: the filter form is kept,
/// so a search box keeps its focus (and what is being typed) while the list updates.
#[component]
fn DashboardBody(shown: Shown) -> impl IntoView {
    let counts = Memo::new(move |_| shown.view.with(|v| v.page.counts));
    // The number of results lives outside the part rendered again, in a live region, so a screen reader hears
    // the new count when a filter or a search changes the list.
    let total = Memo::new(move |_| shown.view.with(|v| v.page.total));
    let query = Memo::new(move |_| {
        let params = shown.search.with(|s| params_of(s));
        TaskQuery::from_params(|name| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    });
    view! {
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-one-quarter-from-desktop">
                <Filters query counts shown />
            </div>
            <div class="govuk-grid-column-three-quarters-from-desktop">
                <div aria-live="polite" aria-atomic="true" data-testid="results-count">
                    <h2 class="govuk-heading-m" id="results-heading" data-testid="task-count">
                        {move || {
                            let total = total.get();
                            format!(
                                "{} {}",
                                count_text(total),
                                if total == 1 { "task" } else { "tasks" },
                            )
                        }}
                    </h2>
                </div>
                {move || dashboard_results(shown.view.get())}
            </div>
        </div>
    }
}

/// Listens for new and changed tasks, fetches the list again when one arrives, and says what happened. The feed
/// closes when the staff member loses their role: the server ends it.
#[cfg(feature = "hydrate")]
fn live_updates(shown: Shown, announcement: RwSignal<String>) {
    use crate::domain::support::TaskChanged;
    use futures::StreamExt;
    leptos::task::spawn_local(async move {
        let Ok(mut source) =
            gloo_net::eventsource::futures::EventSource::new("/support/tasks/events")
        else {
            return;
        };
        let (Ok(new_tasks), Ok(changes)) = (source.subscribe("task"), source.subscribe("change"))
        else {
            return;
        };
        let new_tasks = new_tasks.map(|event| {
            event.map(|_| "A new support task has arrived. The list has been updated.".to_string())
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
            // The query last asked for: a list still on its way is not overtaken by the one it replaces.
            shown.load(shown.wanted.get_value().0, false, false);
            announcement.set(text);
        }
        source.close();
    });
}

/// Errors and heading (the navigation and banner are the server's, outside the island). `fresh`: this is a new query, so its errors (if any) take the focus.
fn dashboard_top(view: DashboardView, fresh: bool) -> impl IntoView {
    let DashboardView { errors, .. } = view;
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
    let _ = (fresh, has_errors);
    view! {
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
    // The neighbouring pages' links carry a cursor (the first or last task shown), so the database reads from
    // there instead of counting from the first task; other page numbers are found by counting.
    let first = page.tasks.first().map(|t| t.reference.clone());
    let last = page.tasks.last().map(|t| t.reference.clone());
    view! {
        {(total > COUNT_CAP)
            .then(|| {
                view! {
                    <p class="govuk-body">
                        "Only the first 10,000 are listed. Search or filter to find a task."
                    </p>
                }
            })}
        {if page.tasks.is_empty() {
            view! { <p class="govuk-body">"No tasks match these filters."</p> }.into_any()
        } else {
            task_table(&query, page.tasks).into_any()
        }}
        {pagination(
            query.page,
            pages,
            "Pages of tasks",
            {
                let query = query.clone();
                move |n| query.link_to_page(n, first.as_deref(), last.as_deref()).href()
            },
        )}
    }
}

fn task_table(query: &TaskQuery, tasks: Vec<crate::domain::support::TaskSummary>) -> impl IntoView {
    let header = |field: SortField| {
        let sorted = query.sort == field;
        let aria = sorted.then(|| query.direction.aria());
        let href = query.sorted_by(field).href();
        view! {
            <th
                scope="col"
                role="columnheader"
                class="govuk-table__header"
                aria-sort=aria.unwrap_or("none")
            >
                <a class="govuk-link app-sort-link" href=href>
                    {field.label()}
                </a>
            </th>
        }
    };
    // On a narrow screen each row becomes a block with its headings beside the values (app-responsive-table);
    // the explicit roles keep it a table for screen readers, whose browsers drop the table role with `display`.
    view! {
        <table
            class="govuk-table app-task-table app-responsive-table"
            role="table"
            data-testid="tasks"
        >
            <caption class="govuk-table__caption govuk-visually-hidden">"Support tasks"</caption>
            <thead class="govuk-table__head" role="rowgroup">
                <tr class="govuk-table__row" role="row">
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Reference"
                    </th>
                    {header(SortField::Name)}
                    {header(SortField::Kind)}
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Service"
                    </th>
                    {header(SortField::Requested)}
                    {header(SortField::Status)}
                    <th scope="col" role="columnheader" class="govuk-table__header">
                        "Assigned to"
                    </th>
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
                                    <a
                                        class="govuk-link app-nowrap"
                                        href=task_href(&t.reference)
                                        rel="external"
                                    >
                                        {t.reference.clone()}
                                    </a>
                                </td>
                                <td class="govuk-table__cell app-break-anywhere" role="cell">
                                    {cell_heading(SortField::Name.label())}
                                    {t.name}
                                    <br />
                                    <span class="govuk-body-s govuk-!-margin-0">{t.email}</span>
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading(SortField::Kind.label())}
                                    <strong class=kind_tag(t.kind)>{t.kind.label()}</strong>
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading("Service")}
                                    {crate::domain::support::service_text(t.service.as_deref())
                                        .to_string()}
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading(SortField::Requested.label())}
                                    <span class="app-nowrap">
                                        {crate::domain::uk_time::uk_short_date(t.requested_at)}
                                    </span>
                                    " "
                                    <span class="app-nowrap">
                                        {crate::domain::uk_time::uk_clock(t.requested_at)}
                                    </span>
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading(SortField::Status.label())}
                                    <strong class=status_tag(t.status)>{t.status.label()}</strong>
                                </td>
                                <td class="govuk-table__cell" role="cell">
                                    {cell_heading("Assigned to")}
                                    {t.assignee.unwrap_or_else(|| "Unassigned".into())}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The filters: a GET form, so they work without JavaScript and land in the URL. With JavaScript the list moves
/// to the form's URL without a page load, and the search box submits itself as you type (after a pause). The fields
/// follow the URL (the back button), except the search box while someone types in it.
#[component]
fn Filters(
    query: Memo<(TaskQuery, Vec<crate::domain::FieldError>)>,
    counts: Memo<StatusCounts>,
    shown: Shown,
) -> impl IntoView {
    let (initial, _) = query.get_untracked();
    // A memo, so the same query drawn again (a live update) leaves the fields alone: a date being typed when a
    // new task arrives is kept.
    let params = Memo::new(move |_| shown.search.with(|s| params_of(s)));
    let typed = move |name: &str| {
        params.with(|params| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    };
    let current = move || query.with(|(q, _)| q.clone());
    let error = move |field: &'static str| query.with(|(_, errors)| error_for(errors, field));
    let select = move |name: &'static str,
                       label: &'static str,
                       options: Vec<(String, String, Option<StatusFilter>)>,
                       value: fn(&TaskQuery) -> String| {
        let selected = value(&initial_of(query));
        view! {
            <div class="govuk-form-group">
                <label class="govuk-label govuk-label--s" for=name>
                    {label}
                </label>
                <select
                    class="govuk-select app-full-width"
                    id=name
                    name=name
                    prop:value=move || shown.field_value(name, value(&current()))
                >
                    {options
                        .into_iter()
                        .map(|(v, text, status)| {
                            let is = v == selected;
                            let text = move || match status {
                                Some(filter) => {
                                    format!("{text} ({})", count_text(counts.get().of(filter)))
                                }
                                None => text.clone(),
                            };
                            view! {
                                <option value=v selected=is>
                                    {text}
                                </option>
                            }
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
    // Every registered service, and those who came to Teacher ID directly. An option's value is the service's
    // client id, which is what the URL carries.
    let services: Vec<(String, String, Option<StatusFilter>)> = [
        (String::new(), "All services".to_string(), None),
        (
            ServiceFilter::DIRECT.to_string(),
            format!(
                "Came directly to {}",
                crate::domain::support::DIRECT_SERVICE_NAME
            ),
            None,
        ),
    ]
    .into_iter()
    .chain(
        shown
            .view
            .with_untracked(|v| v.services.clone())
            .into_iter()
            .map(|s| (s.client_id, s.name, None)),
    )
    .collect();
    let assignees = AssigneeFilter::ALL
        .iter()
        .map(|a| (a.as_str().to_string(), a.label().to_string(), None))
        .collect();
    let date = move |name: &'static str,
                     label: &'static str,
                     value: fn(&TaskQuery) -> Option<chrono::NaiveDate>| {
        // What was typed stays in the box when it is not a date, so it can be corrected.
        let text = move || {
            let typed = typed(name).unwrap_or_default();
            value(&current())
                .map(|d| d.format("%-d/%-m/%Y").to_string())
                .unwrap_or(typed)
        };
        let initial_value = text();
        let hint = format!("{name}-hint");
        view! {
            <div class=move || with_error_class("govuk-form-group", &error(name))>
                <label class="govuk-label govuk-label--s" for=name>
                    {label}
                </label>
                <div class="govuk-hint" id=hint.clone()>
                    "For example, 27/3/2026"
                </div>
                {move || view! { <ErrorMessage id=format!("{name}-error") message=error(name) /> }}
                <input
                    class=move || with_error_class("govuk-input app-full-width", &error(name))
                    id=name
                    name=name
                    type="text"
                    value=initial_value
                    prop:value=move || shown.field_value(name, text())
                    aria-describedby=hint
                />
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
        move |ev: leptos::ev::SubmitEvent| {
            use web_sys::wasm_bindgen::JsCast;
            let Some(form) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            else {
                return;
            };
            let Some(fields) = fields_of(&form) else {
                return;
            };
            ev.prevent_default();
            shown.navigate(&crate::domain::support::filter_href(&fields), true);
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
    let service_select = select(params::SERVICE, "Service", services, |q| {
        q.service.as_str().to_string()
    });
    // What was typed, even when it was refused (too long, say), so it can be corrected rather than typed again.
    let typed_search = shown.search_box.get_untracked();
    let from_field = date(params::FROM, "Requested from", |q| q.from);
    let to_field = date(params::TO, "Requested to", |q| q.to);
    // The form's fields as one erased view: rendered inline in one static type they make the page's render too
    // deep for a test thread's stack in debug builds (the router's `Form` used to erase them).
    let fields = view! {
        <h2 class="govuk-heading-m">"Filter"</h2>
        <div class=move || with_error_class("govuk-form-group", &error(params::SEARCH))>
            <label class="govuk-label govuk-label--s" for="search">
                "Search"
            </label>
            <div class="govuk-hint" id="search-hint">
                "Name, email, reference or TRN"
            </div>
            {move || {
                view! {
                    <ErrorMessage id="search-error".to_string() message=error(params::SEARCH) />
                }
            }}
            <input
                class=move || with_error_class("govuk-input app-full-width", &error(params::SEARCH))
                id="search"
                name="search"
                type="search"
                value=typed_search
                prop:value=move || shown.field_value(params::SEARCH, shown.search_box.get())
                aria-describedby="search-hint"
                autocomplete="off"
                spellcheck="false"
                on:input=on_search
            />
        </div>
        {kind_select}
        {status_select}
        {assignee_select}
        {service_select}
        {from_field}
        {to_field}
        // The sort survives filtering.
        <input
            type="hidden"
            name="sort"
            value=initial.sort.as_str()
            prop:value=move || current().sort.as_str()
        />
        <input
            type="hidden"
            name="direction"
            value=initial.direction.as_str()
            prop:value=move || current().direction.as_str()
        />
        <button type="submit" class="govuk-button" data-module="govuk-button">
            "Apply filters"
        </button>
        <p class="govuk-body">
            <a class="govuk-link" href="/support">
                "Clear filters"
            </a>
        </p>
    }
    .into_any();
    view! {
        <form id=FILTER_FORM action="/support" method="get" on:submit=on_filter_submit>
            {fields}
        </form>
    }
}

fn initial_of(query: Memo<(TaskQuery, Vec<crate::domain::FieldError>)>) -> TaskQuery {
    query.with_untracked(|(q, _)| q.clone())
}
