//! GOV.UK pagination (Design System, "Pagination"): previous, the page numbers around the current one with
//! ellipses between gaps, next.

use leptos::prelude::*;

/// The numbered items for page `current` of `pages`: the first, the last, the current one and its neighbours;
/// `None` is an ellipsis for the pages left out.
pub fn page_items(current: u32, pages: u32) -> Vec<Option<u32>> {
    let mut numbers: Vec<u32> = [1, current.saturating_sub(1), current, current + 1, pages]
        .into_iter()
        .filter(|n| *n >= 1 && *n <= pages)
        .collect();
    numbers.sort();
    numbers.dedup();
    let mut items = Vec::new();
    let mut last = 0;
    for n in numbers {
        if n > last + 1 {
            items.push(None);
        }
        items.push(Some(n));
        last = n;
    }
    items
}

/// The navigation for page `current` of `pages`, or nothing for a single page. `href` makes a page's link;
/// `label` names the navigation for screen readers ("Pages of tasks").
pub fn pagination(
    current: u32,
    pages: u32,
    label: &'static str,
    href: impl Fn(u32) -> String,
) -> Option<AnyView> {
    (pages > 1).then(|| {
        let current = current.min(pages);
        let items = page_items(current, pages)
            .into_iter()
            .map(|item| match item {
                None => view! { <li class="govuk-pagination__item govuk-pagination__item--ellipses">"⋯"</li> }.into_any(),
                Some(n) => {
                    let is_current = n == current;
                    view! {
                        <li class=if is_current {
                            "govuk-pagination__item govuk-pagination__item--current"
                        } else {
                            "govuk-pagination__item"
                        }>
                            <a
                                class="govuk-link govuk-pagination__link"
                                href=href(n)
                                aria-label=format!("Page {n}")
                                aria-current=is_current.then_some("page")
                            >
                                {n}
                            </a>
                        </li>
                    }
                    .into_any()
                }
            })
            .collect_view();
        view! {
            <nav class="govuk-pagination" aria-label=label>
                {(current > 1)
                    .then(|| {
                        view! {
                            <div class="govuk-pagination__prev">
                                <a
                                    class="govuk-link govuk-pagination__link"
                                    href=href(current - 1)
                                    rel="prev"
                                >
                                    <span class="govuk-pagination__link-title">
                                        "Previous"<span class="govuk-visually-hidden">" page"</span>
                                    </span>
                                </a>
                            </div>
                        }
                    })}
                <ul class="govuk-pagination__list">{items}</ul>
                {(current < pages)
                    .then(|| {
                        view! {
                            <div class="govuk-pagination__next">
                                <a
                                    class="govuk-link govuk-pagination__link"
                                    href=href(current + 1)
                                    rel="next"
                                >
                                    <span class="govuk-pagination__link-title">
                                        "Next"<span class="govuk-visually-hidden">" page"</span>
                                    </span>
                                </a>
                            </div>
                        }
                    })}
            </nav>
        }
        .into_any()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_last_and_neighbouring_pages_are_shown_with_ellipses_between_gaps() {
        assert_eq!(page_items(1, 1), vec![Some(1)]);
        assert_eq!(page_items(1, 3), vec![Some(1), Some(2), Some(3)]);
        assert_eq!(
            page_items(5, 10),
            vec![Some(1), None, Some(4), Some(5), Some(6), None, Some(10)]
        );
        assert_eq!(page_items(10, 10), vec![Some(1), None, Some(9), Some(10)]);
        assert_eq!(page_items(2, 4), vec![Some(1), Some(2), Some(3), Some(4)]);
    }
}
