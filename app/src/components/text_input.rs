//! A GOV.UK text input or textarea with its label, hint and error message (Design System, "Text input" and
//! "Textarea"), written once for every form.

use super::error_summary::{with_error_class, ErrorMessage};
use leptos::prelude::*;

/// One field: `TextInput::new(…).hint(…).width("govuk-input--width-10").render()`.
pub struct TextInput {
    name: &'static str,
    label: &'static str,
    small_label: bool,
    hint: Option<&'static str>,
    value: String,
    error: Option<String>,
    width: Option<&'static str>,
    inputmode: Option<&'static str>,
    list: Option<&'static str>,
    textarea: bool,
    after: Option<AnyView>,
    input_type: &'static str,
    autocomplete: &'static str,
}

impl TextInput {
    /// The field `name` (also its id), with what was typed last and its error, if any.
    pub fn new(
        name: &'static str,
        label: &'static str,
        value: impl Into<String>,
        error: Option<String>,
    ) -> Self {
        Self {
            name,
            label,
            small_label: false,
            hint: None,
            value: value.into(),
            error,
            width: None,
            inputmode: None,
            list: None,
            textarea: false,
            after: None,
            input_type: "text",
            autocomplete: "off",
        }
    }

    /// The input's `type` (`text` unless set): `email` or `tel`, so phones show the right keyboard.
    pub fn input_type(mut self, input_type: &'static str) -> Self {
        self.input_type = input_type;
        self
    }

    /// The input's `autocomplete` (`off` unless set), such as `email`, `tel` or `one-time-code`.
    pub fn autocomplete(mut self, autocomplete: &'static str) -> Self {
        self.autocomplete = autocomplete;
        self
    }

    /// A bold label (`govuk-label--s`), for a field revealed under a question.
    pub fn small_label(mut self) -> Self {
        self.small_label = true;
        self
    }

    /// Hint text under the label (its id is `{name}-hint`).
    pub fn hint(mut self, text: &'static str) -> Self {
        self.hint = Some(text);
        self
    }

    /// A width class, such as `govuk-input--width-10`.
    pub fn width(mut self, class: &'static str) -> Self {
        self.width = Some(class);
        self
    }

    pub fn inputmode(mut self, mode: &'static str) -> Self {
        self.inputmode = Some(mode);
        self
    }

    /// Suggestions from the `<datalist>` with this id (given with [`TextInput::after`]).
    pub fn list(mut self, id: &'static str) -> Self {
        self.list = Some(id);
        self
    }

    /// A textarea of four rows instead of a one-line input.
    pub fn textarea(mut self) -> Self {
        self.textarea = true;
        self
    }

    /// Markup inside the form group after the input, such as a `<datalist>`.
    pub fn after(mut self, view: AnyView) -> Self {
        self.after = Some(view);
        self
    }

    pub fn render(self) -> AnyView {
        let Self {
            name,
            label,
            small_label,
            hint,
            value,
            error,
            width,
            inputmode,
            list,
            textarea,
            after,
            input_type,
            autocomplete,
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
        let label_class = if small_label {
            "govuk-label govuk-label--s"
        } else {
            "govuk-label"
        };
        let control = if textarea {
            let class = with_error_class("govuk-textarea", &error);
            view! {
                <textarea class=class id=name name=name rows="4" aria-describedby=described>
                    {super::textarea_text(value)}
                </textarea>
            }
            .into_any()
        } else {
            let base = match width {
                Some(width) => format!("govuk-input {width}"),
                None => "govuk-input".to_string(),
            };
            let class = with_error_class(&base, &error);
            view! {
                <input
                    class=class
                    id=name
                    name=name
                    type=input_type
                    inputmode=inputmode
                    value=value
                    list=list
                    spellcheck="false"
                    autocomplete=autocomplete
                    aria-describedby=described
                />
            }
            .into_any()
        };
        view! {
            <div class=group>
                <label class=label_class for=name>
                    {label}
                </label>
                {hint
                    .map(|text| {
                        view! {
                            <div id=hint_id class="govuk-hint">
                                {text}
                            </div>
                        }
                    })}
                <ErrorMessage id=error_id message=error />
                {control}
                {after}
            </div>
        }
        .into_any()
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn html(input: TextInput) -> String {
        Owner::new().with(|| input.render().to_html())
    }

    #[test]
    fn the_input_is_described_by_its_hint_and_its_error() {
        let out = html(
            TextInput::new(
                "nino",
                "National Insurance number",
                "QQ",
                Some("Enter it".into()),
            )
            .hint("For example")
            .width("govuk-input--width-10"),
        );
        assert!(
            out.contains(r#"aria-describedby="nino-hint nino-error""#),
            "{out}"
        );
        assert!(
            out.contains("govuk-input govuk-input--width-10 govuk-input--error"),
            "{out}"
        );
        assert!(out.contains(r#"value="QQ""#), "{out}");
        let bare = html(TextInput::new("trn", "TRN", "", None));
        assert!(!bare.contains("aria-describedby"), "{bare}");
        assert!(!bare.contains("list="), "{bare}");
    }

    #[test]
    fn a_textarea_escapes_what_was_typed() {
        let out = html(TextInput::new("why", "Why", "</textarea><b>", None).textarea());
        assert!(out.contains("&lt;/textarea&gt;&lt;b&gt;"), "{out}");
        assert!(!out.contains("<b>"), "{out}");
    }
}
