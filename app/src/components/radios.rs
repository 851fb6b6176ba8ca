//! GOV.UK radios, with conditional reveals (Design System, "Radios"). Every page's radios are made here, so the
//! markup GOV.UK Frontend's script and the accessibility checks rely on is written once.
//!
//! A revealed question is always in the page, and only hidden (`govuk-radios__conditional--hidden`) when its
//! option is not selected: GOV.UK Frontend's stylesheet hides it only once its script runs, so without JavaScript
//! every revealed question is simply shown.

use super::error_summary::{with_error_class, ErrorMessage};
use leptos::prelude::*;

/// How the question is asked.
#[derive(Clone, Copy, Debug)]
pub enum Legend {
    /// The page's own heading, for a page that asks one question: a large legend holding the `<h1>`.
    PageHeading(&'static str),
    /// A medium legend holding an `<h2>`: a question with a heading of its own on a page with others.
    SectionHeading(&'static str),
    /// A small legend, for one question among others.
    Small(&'static str),
}

struct Item {
    value: String,
    label: String,
    reveal: Option<AnyView>,
}

/// One radio group: `Radios::new(…).item(…).revealing(…).render()`.
pub struct Radios {
    name: &'static str,
    legend: Legend,
    hint: Option<&'static str>,
    selected: String,
    error: Option<String>,
    items: Vec<Item>,
}

impl Radios {
    /// The group for the field `name`, with the value sent last (`selected`) and its error, if any.
    pub fn new(
        name: &'static str,
        legend: Legend,
        selected: impl Into<String>,
        error: Option<String>,
    ) -> Self {
        Self {
            name,
            legend,
            hint: None,
            selected: selected.into(),
            error,
            items: Vec::new(),
        }
    }

    /// Hint text under the legend (its id is `{name}-hint`).
    pub fn hint(mut self, text: &'static str) -> Self {
        self.hint = Some(text);
        self
    }

    pub fn item(mut self, value: impl Into<String>, label: impl Into<String>) -> Self {
        self.items.push(Item {
            value: value.into(),
            label: label.into(),
            reveal: None,
        });
        self
    }

    /// An option that reveals `reveal` under it while it is selected.
    pub fn revealing(
        mut self,
        value: impl Into<String>,
        label: impl Into<String>,
        reveal: AnyView,
    ) -> Self {
        self.items.push(Item {
            value: value.into(),
            label: label.into(),
            reveal: Some(reveal),
        });
        self
    }

    /// The markup. The first radio's id is the field's name (where the error summary links to); the others are
    /// `{name}-2`, `{name}-3`…, and a reveal's id is `conditional-{radio's id}`.
    pub fn render(self) -> AnyView {
        let Self {
            name,
            legend,
            hint,
            selected,
            error,
            items,
        } = self;
        let group = with_error_class("govuk-form-group", &error);
        let hint_id = format!("{name}-hint");
        let error_id = format!("{name}-error");
        let described = [
            hint.map(|_| hint_id.clone()),
            error.as_ref().map(|_| error_id.clone()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let described = Some(described).filter(|d| !d.is_empty());
        let legend = match legend {
            Legend::PageHeading(text) => view! {
                <legend class="govuk-fieldset__legend govuk-fieldset__legend--l">
                    <h1 class="govuk-fieldset__heading">{text}</h1>
                </legend>
            }
            .into_any(),
            Legend::SectionHeading(text) => view! {
                <legend class="govuk-fieldset__legend govuk-fieldset__legend--m">
                    <h2 class="govuk-fieldset__heading">{text}</h2>
                </legend>
            }
            .into_any(),
            Legend::Small(text) => view! { <legend class="govuk-fieldset__legend govuk-fieldset__legend--s">{text}</legend> }
            .into_any(),
        };
        let items = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let id = if i == 0 {
                    name.to_string()
                } else {
                    format!("{name}-{}", i + 1)
                };
                let checked = item.value == selected;
                let reveal_id = format!("conditional-{id}");
                let controls = item.reveal.is_some().then(|| reveal_id.clone());
                let reveal_class = if checked {
                    "govuk-radios__conditional"
                } else {
                    "govuk-radios__conditional govuk-radios__conditional--hidden"
                };
                view! {
                    <div class="govuk-radios__item">
                        <input
                            class="govuk-radios__input"
                            id=id.clone()
                            name=name
                            type="radio"
                            value=item.value
                            checked=checked
                            data-aria-controls=controls
                        />
                        <label class="govuk-label govuk-radios__label" for=id>
                            {item.label}
                        </label>
                    </div>
                    {item
                        .reveal
                        .map(|reveal| {
                            view! {
                                <div class=reveal_class id=reveal_id>
                                    {reveal}
                                </div>
                            }
                        })}
                }
            })
            .collect_view();
        view! {
            <div class=group>
                <fieldset class="govuk-fieldset" aria-describedby=described>
                    {legend}
                    {hint
                        .map(|text| {
                            view! {
                                <div id=hint_id class="govuk-hint">
                                    {text}
                                </div>
                            }
                        })}
                    <ErrorMessage id=error_id message=error />
                    <div class="govuk-radios" data-module="govuk-radios">
                        {items}
                    </div>
                </fieldset>
            </div>
        }
        .into_any()
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn html(radios: Radios) -> String {
        Owner::new().with(|| radios.render().to_html())
    }

    /// The opening tag holding `needle` (attribute order is Leptos's business).
    fn tag<'a>(html: &'a str, needle: &str) -> &'a str {
        let at = html
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in {html}"));
        let start = html[..at].rfind('<').unwrap();
        let end = at + html[at..].find('>').unwrap();
        &html[start..=end]
    }

    #[test]
    fn a_reveal_is_hidden_until_its_option_is_selected_and_always_in_the_page() {
        let radios = |selected: &str| {
            Radios::new(
                "choice",
                Legend::PageHeading("Do you know it?"),
                selected,
                None,
            )
            .revealing("yes", "Yes", view! { <input id="value" /> }.into_any())
            .item("no", "No")
        };
        let none = html(radios(""));
        let yes_radio = tag(&none, r#"id="choice""#);
        assert!(
            yes_radio.contains(r#"data-aria-controls="conditional-choice""#),
            "{none}"
        );
        assert!(!yes_radio.contains("checked"), "{none}");
        assert!(
            !tag(&none, r#"id="choice-2""#).contains("data-aria-controls"),
            "{none}"
        );
        assert!(
            tag(&none, r#"id="conditional-choice""#)
                .contains(r#"class="govuk-radios__conditional govuk-radios__conditional--hidden""#),
            "{none}"
        );
        assert!(
            none.contains(r#"<input id="value">"#),
            "the revealed field is in the page: {none}"
        );
        assert!(
            none.contains(r#"<h1 class="govuk-fieldset__heading">Do you know it?</h1>"#),
            "{none}"
        );
        let yes = html(radios("yes"));
        assert!(tag(&yes, r#"id="choice""#).contains("checked"), "{yes}");
        assert!(
            tag(&yes, r#"id="conditional-choice""#)
                .contains(r#"class="govuk-radios__conditional""#),
            "{yes}"
        );
    }

    #[test]
    fn an_error_and_a_hint_describe_the_fieldset() {
        let out = html(
            Radios::new(
                "reason",
                Legend::Small("Why?"),
                "",
                Some("Select why".into()),
            )
            .hint("Choose one")
            .item("a", "A"),
        );
        assert!(
            tag(&out, "<fieldset").contains(r#"aria-describedby="reason-hint reason-error""#),
            "{out}"
        );
        assert!(
            out.contains("govuk-form-group govuk-form-group--error"),
            "{out}"
        );
        assert!(
            tag(&out, r#"id="reason-hint""#).contains(r#"class="govuk-hint""#),
            "{out}"
        );
        assert!(
            !out.contains("data-aria-controls"),
            "no reveal, no controls: {out}"
        );
        let plain = html(Radios::new("reason", Legend::Small("Why?"), "", None).item("a", "A"));
        assert!(!plain.contains("aria-describedby"), "{plain}");
    }
}
