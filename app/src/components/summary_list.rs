//! A GOV.UK summary list (Design System, "Summary list"): keys, values and, on some rows, a change link.

use leptos::prelude::*;

/// One row.
pub struct SummaryRow {
    key: String,
    value: AnyView,
    value_testid: Option<&'static str>,
    action: Option<AnyView>,
}

impl SummaryRow {
    pub fn new(key: impl Into<String>, value: impl IntoView + 'static) -> Self {
        Self {
            key: key.into(),
            value: value.into_view().into_any(),
            value_testid: None,
            action: None,
        }
    }

    /// A "Change" link to `href`; `hidden` ends the link's text for screen readers (" decision").
    pub fn change(
        mut self,
        href: impl Into<String>,
        hidden: impl Into<String>,
        external: bool,
    ) -> Self {
        let (href, hidden) = (href.into(), hidden.into());
        self.action = Some(
            view! {
                <a class="govuk-link" href=href rel=external.then_some("external")>
                    "Change"
                    <span class="govuk-visually-hidden">{hidden}</span>
                </a>
            }
            .into_any(),
        );
        self
    }

    /// Anything else in the actions column (a tag saying whether a field matches).
    pub fn action(mut self, view: AnyView) -> Self {
        self.action = Some(view);
        self
    }

    /// A `data-testid` on the value, for the browser tests.
    pub fn value_testid(mut self, id: &'static str) -> Self {
        self.value_testid = Some(id);
        self
    }
}

impl From<crate::domain::support::Row> for SummaryRow {
    fn from(row: crate::domain::support::Row) -> Self {
        Self::new(row.label, row.value)
    }
}

/// The list; `class` is added to `govuk-summary-list` (a margin, say).
pub fn summary_list(
    rows: impl IntoIterator<Item = SummaryRow>,
    class: Option<&'static str>,
) -> AnyView {
    let class = match class {
        Some(extra) => format!("govuk-summary-list {extra}"),
        None => "govuk-summary-list".to_string(),
    };
    let rows = rows
        .into_iter()
        .map(|row| {
            view! {
                <div class="govuk-summary-list__row">
                    <dt class="govuk-summary-list__key">{row.key}</dt>
                    <dd class="govuk-summary-list__value" data-testid=row.value_testid>
                        {row.value}
                    </dd>
                    {row
                        .action
                        .map(|action| {
                            view! { <dd class="govuk-summary-list__actions">{action}</dd> }
                        })}
                </div>
            }
        })
        .collect_view();
    view! { <dl class=class>{rows}</dl> }.into_any()
}
