//! `/support/audit`: the audit log.

use super::*;

/// `/support/audit`: every staff action, newest first.
#[component]
pub fn AuditPage() -> impl IntoView {
    let before = use_query_map()
        .with_untracked(|q| q.get("before"))
        .and_then(|b| b.parse::<i64>().ok());
    view! {
        <ConsolePage
            load=move || load_audit(before)
            render=|v| {
                let crate::server_fns::console::AuditView { me, lines, older } = v;
                view! {
                    <PageTitle text="Audit log".to_string() />
                    <ConsoleNav me=me.clone() current=routes::SUPPORT_AUDIT />
                    <h1 class="govuk-heading-l">"Audit log"</h1>
                    <table class="govuk-table" data-testid="audit">
                        <caption class="govuk-table__caption govuk-visually-hidden">
                            "Staff actions, newest first"
                        </caption>
                        <thead class="govuk-table__head">
                            <tr class="govuk-table__row">
                                <th scope="col" class="govuk-table__header">
                                    "When"
                                </th>
                                <th scope="col" class="govuk-table__header">
                                    "Who"
                                </th>
                                <th scope="col" class="govuk-table__header">
                                    "What"
                                </th>
                                <th scope="col" class="govuk-table__header">
                                    "Task"
                                </th>
                            </tr>
                        </thead>
                        <tbody class="govuk-table__body">
                            {lines
                                .into_iter()
                                .map(|l| {
                                    view! {
                                        <tr class="govuk-table__row">
                                            <td class="govuk-table__cell">{when(l.at)}</td>
                                            <td class="govuk-table__cell">{l.staff}</td>
                                            <td class="govuk-table__cell">{l.action}</td>
                                            <td class="govuk-table__cell">
                                                {l
                                                    .task_reference
                                                    .map(|r| {
                                                        view! {
                                                            <a class="govuk-link" href=task_href(&r) rel="external">
                                                                {r.clone()}
                                                            </a>
                                                        }
                                                    })}
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                    {older
                        .map(|id| {
                            view! {
                                <p class="govuk-body">
                                    <a
                                        class="govuk-link"
                                        href=format!("/support/audit?before={id}")
                                        rel="external"
                                    >
                                        "Older entries"
                                    </a>
                                </p>
                            }
                        })}
                }
                    .into_any()
            }
        />
    }
}
