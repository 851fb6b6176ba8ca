//! The persona picker: the page a person sees instead of One Login's sign-in screens, built with GOV.UK Design
//! System markup so it reads and behaves like a GOV.UK page (and passes an accessibility scan), and its form
//! handler, `POST /authorize/submit`.

use crate::authorize::complete;
use crate::control::{CustomPerson, Outcome};
use crate::personas::{Persona, CUSTOM};
use crate::state::{now, Provider};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// What was typed into the form, by field name.
pub type Values = HashMap<String, String>;

/// A problem with one field: the id of the element to link to, and the message.
pub type FieldError = (&'static str, String);

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Who a page says it is from: the header's name and the phase banner's warning.
pub struct Brand {
    pub name: &'static str,
    pub banner: &'static str,
}

/// The teacher-facing pages.
pub const ONE_LOGIN: Brand = Brand {
    name: "GOV.UK One Login stand-in",
    banner: "This is not GOV.UK One Login. It stands in for it on this computer, for development and testing.",
};

/// A whole GOV.UK page around `main`, from the One Login stand-in.
fn layout(title: &str, main: &str) -> String {
    branded_layout(&ONE_LOGIN, title, main)
}

/// A whole GOV.UK page around `main`, from `brand`.
pub fn branded_layout(brand: &Brand, title: &str, main: &str) -> String {
    format!(
        r##"<!DOCTYPE html>
<html lang="en" class="govuk-template">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>{title} – {name}</title>
<link rel="stylesheet" href="/assets/govuk-frontend.min.css">
</head>
<body class="govuk-template__body">
<a href="#main-content" class="govuk-skip-link">Skip to main content</a>
<header>
<div class="govuk-header">
<div class="govuk-header__container govuk-width-container">
<div class="govuk-header__logo"><span class="govuk-header__link govuk-header__link--homepage">{name}</span></div>
</div>
</div>
<div class="govuk-width-container">
<div class="govuk-phase-banner">
<p class="govuk-phase-banner__content"><strong class="govuk-tag govuk-phase-banner__content__tag">Test</strong>
<span class="govuk-phase-banner__text">{banner}</span></p>
</div>
</div>
</header>
<div class="govuk-width-container">
<main class="govuk-main-wrapper" id="main-content">
<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
{main}
</div></div>
</main>
</div>
</body>
</html>
"##,
        title = escape(title),
        name = escape(brand.name),
        banner = escape(brand.banner)
    )
}

pub fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn long_date(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

/// A GOV.UK error summary listing `errors`, each linked to its field; nothing if there are none.
pub fn error_summary(main: &mut String, errors: &[FieldError]) {
    if errors.is_empty() {
        return;
    }
    main.push_str(
        r#"<div class="govuk-error-summary" data-module="govuk-error-summary"><div role="alert">
<h2 class="govuk-error-summary__title">There is a problem</h2>
<div class="govuk-error-summary__body"><ul class="govuk-list govuk-error-summary__list">"#,
    );
    for (id, message) in errors {
        let _ = write!(
            main,
            r##"<li><a href="#{id}">{}</a></li>"##,
            escape(message)
        );
    }
    main.push_str("</ul></div></div></div>\n");
}

/// The picker for the waiting request `request_id`, with the values and errors of a failed submission if any.
pub fn page(p: &Provider, request_id: &str, failed: Option<(&Values, &[FieldError])>) -> Response {
    let empty = Values::new();
    let (values, errors) = failed.unwrap_or((&empty, &[]));
    let value = |name: &str| escape(values.get(name).map(String::as_str).unwrap_or(""));
    let error_for = |id: &str| {
        errors
            .iter()
            .find(|(field, _)| *field == id)
            .map(|(_, m)| m.as_str())
    };
    let mut main = String::new();

    error_summary(&mut main, errors);

    main.push_str(r#"<h1 class="govuk-heading-l">Choose who signs in</h1>"#);
    let asked = {
        let store = p.store();
        store.pending.get(request_id).map(|(r, _)| r.identity)
    };
    let _ = write!(
        main,
        r#"<p class="govuk-body">The service asked {}.</p>
<form method="post" action="/authorize/submit" novalidate>
<input type="hidden" name="request_id" value="{}">"#,
        if asked == Some(true) {
            "to sign the person in and prove their identity"
        } else {
            "only to sign the person in"
        },
        escape(request_id)
    );

    // Who signs in.
    let chosen = values.get("persona").map(String::as_str);
    let mut options: Vec<(String, String, String)> = p
        .personas
        .iter()
        .map(|persona| {
            (
                persona.id.clone(),
                persona_label(persona),
                persona_hint(persona),
            )
        })
        .collect();
    options.push((
        CUSTOM.into(),
        "Someone else".into(),
        "Type their details under ‘Someone else’s details’ below.".into(),
    ));
    radios(
        &mut main,
        "persona",
        "Person",
        "Each person is drawn from the synthetic teaching records the service seeds.",
        &options,
        chosen,
        error_for("persona"),
    );

    // How it ends.
    let outcomes: Vec<(String, String, String)> = Outcome::ALL
        .iter()
        .map(|o| (o.as_str().into(), o.label().into(), String::new()))
        .collect();
    radios(
        &mut main,
        "outcome",
        "What happens",
        "If you choose nothing, the person’s usual outcome is used (for most, their identity is proven).",
        &outcomes,
        values.get("outcome").map(String::as_str),
        error_for("outcome"),
    );

    main.push_str(
        r#"<h2 class="govuk-heading-m">Someone else’s details</h2>
<p class="govuk-body">Only needed if you chose ‘Someone else’.</p>"#,
    );
    text_input(
        &mut main,
        "first_name",
        "First name",
        "given-name",
        &value("first_name"),
        error_for("first_name"),
    );
    text_input(
        &mut main,
        "last_name",
        "Last name",
        "family-name",
        &value("last_name"),
        error_for("last_name"),
    );
    date_input(
        &mut main,
        "dob",
        "Date of birth",
        "For example, 27 3 1985",
        values,
        error_for("dob-day"),
    );
    text_input(
        &mut main,
        "email",
        "Email address",
        "email",
        &value("email"),
        error_for("email"),
    );
    main.push_str(
        r#"<h3 class="govuk-heading-s">Previous name (optional)</h3>
<p class="govuk-body">One Login lists a previous name with the last date it was used.</p>"#,
    );
    text_input(
        &mut main,
        "previous_first_name",
        "Previous first name",
        "off",
        &value("previous_first_name"),
        error_for("previous_first_name"),
    );
    text_input(
        &mut main,
        "previous_last_name",
        "Previous last name",
        "off",
        &value("previous_last_name"),
        error_for("previous_last_name"),
    );
    date_input(
        &mut main,
        "previous",
        "Previous name valid until",
        "The last day they used the previous name, for example, 31 8 2019",
        values,
        error_for("previous-day"),
    );
    main.push_str(
        r#"<button type="submit" class="govuk-button" data-module="govuk-button">Continue</button>
</form>"#,
    );

    let title = if errors.is_empty() {
        "Choose who signs in".to_string()
    } else {
        "Error: Choose who signs in".to_string()
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    html(status, layout(&title, &main))
}

fn persona_label(p: &Persona) -> String {
    format!("{} {} ({})", p.given_names().join(" "), p.last_name, p.id)
}

fn persona_hint(p: &Persona) -> String {
    let mut hint = format!(
        "{} Born {}. Email {}.",
        p.description,
        long_date(p.date_of_birth),
        p.email
    );
    if let Some(trn) = &p.trn_hint {
        let _ = write!(hint, " TRN {trn}.");
    }
    if let Some(nino) = &p.nino_hint {
        let _ = write!(hint, " National Insurance number {nino}.");
    }
    if let (Some(provider), Some(year)) = (&p.itt_provider_hint, p.qts_year_hint) {
        let _ = write!(hint, " Trained at {provider}, QTS {year}.");
    }
    hint
}

/// A GOV.UK radios group. The first radio's id is `name`, so an error summary link to `#name` lands on it.
pub fn radios(
    out: &mut String,
    name: &str,
    legend: &str,
    hint: &str,
    options: &[(String, String, String)],
    chosen: Option<&str>,
    error: Option<&str>,
) {
    let described = if error.is_some() {
        format!("{name}-hint {name}-error")
    } else {
        format!("{name}-hint")
    };
    let _ = write!(
        out,
        r#"<div class="govuk-form-group{}">
<fieldset class="govuk-fieldset" aria-describedby="{described}">
<legend class="govuk-fieldset__legend govuk-fieldset__legend--m"><h2 class="govuk-fieldset__heading">{}</h2></legend>
<div id="{name}-hint" class="govuk-hint">{}</div>"#,
        if error.is_some() {
            " govuk-form-group--error"
        } else {
            ""
        },
        escape(legend),
        escape(hint)
    );
    if let Some(error) = error {
        let _ = write!(
            out,
            r#"<p id="{name}-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> {}</p>"#,
            escape(error)
        );
    }
    out.push_str(r#"<div class="govuk-radios" data-module="govuk-radios">"#);
    for (i, (value, label, item_hint)) in options.iter().enumerate() {
        let id = if i == 0 {
            name.to_string()
        } else {
            format!("{name}-{value}")
        };
        let checked = if chosen == Some(value.as_str()) {
            " checked"
        } else {
            ""
        };
        let (aria, hint_html) = if item_hint.is_empty() {
            (String::new(), String::new())
        } else {
            (
                format!(r#" aria-describedby="{id}-item-hint""#),
                format!(
                    r#"<div id="{id}-item-hint" class="govuk-hint govuk-radios__hint">{}</div>"#,
                    escape(item_hint)
                ),
            )
        };
        let _ = write!(
            out,
            r#"<div class="govuk-radios__item"><input class="govuk-radios__input" id="{id}" name="{name}" type="radio" value="{}"{checked}{aria}>
<label class="govuk-label govuk-radios__label" for="{id}">{}</label>{hint_html}</div>"#,
            escape(value),
            escape(label)
        );
    }
    out.push_str("</div></fieldset></div>\n");
}

fn text_input(
    out: &mut String,
    name: &str,
    label: &str,
    autocomplete: &str,
    value: &str,
    error: Option<&str>,
) {
    input(out, "text", name, label, None, autocomplete, value, error);
}

/// A GOV.UK text input of HTML `input_type` (`text`, `email`), whose id and name are both `name`. `value` must
/// already be escaped.
#[allow(clippy::too_many_arguments)]
pub fn input(
    out: &mut String,
    input_type: &str,
    name: &str,
    label: &str,
    hint: Option<&str>,
    autocomplete: &str,
    value: &str,
    error: Option<&str>,
) {
    let (group, error_html, input_class) = match error {
        Some(e) => (
            " govuk-form-group--error",
            format!(
                r#"<p id="{name}-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> {}</p>"#,
                escape(e)
            ),
            " govuk-input--error",
        ),
        None => ("", String::new(), ""),
    };
    let hint_html = hint
        .map(|h| {
            format!(
                r#"<div id="{name}-hint" class="govuk-hint">{}</div>"#,
                escape(h)
            )
        })
        .unwrap_or_default();
    let described: Vec<String> = [
        hint.map(|_| format!("{name}-hint")),
        error.map(|_| format!("{name}-error")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let aria = if described.is_empty() {
        String::new()
    } else {
        format!(r#" aria-describedby="{}""#, described.join(" "))
    };
    let _ = write!(
        out,
        r#"<div class="govuk-form-group{group}"><label class="govuk-label" for="{name}">{}</label>{hint_html}{error_html}
<input class="govuk-input{input_class}" id="{name}" name="{name}" type="{input_type}" spellcheck="false" autocomplete="{autocomplete}" value="{value}"{aria}></div>
"#,
        escape(label)
    );
}

/// A GOV.UK date input: fields `<prefix>-day`, `<prefix>-month`, `<prefix>-year`.
fn date_input(
    out: &mut String,
    prefix: &str,
    legend: &str,
    hint: &str,
    values: &Values,
    error: Option<&str>,
) {
    let described = if error.is_some() {
        format!("{prefix}-hint {prefix}-error")
    } else {
        format!("{prefix}-hint")
    };
    let _ = write!(
        out,
        r#"<div class="govuk-form-group{}">
<fieldset class="govuk-fieldset" role="group" aria-describedby="{described}">
<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">{}</legend>
<div id="{prefix}-hint" class="govuk-hint">{}</div>"#,
        if error.is_some() {
            " govuk-form-group--error"
        } else {
            ""
        },
        escape(legend),
        escape(hint)
    );
    if let Some(error) = error {
        let _ = write!(
            out,
            r#"<p id="{prefix}-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> {}</p>"#,
            escape(error)
        );
    }
    out.push_str(r#"<div class="govuk-date-input">"#);
    for (part, label, width) in [
        ("day", "Day", 2),
        ("month", "Month", 2),
        ("year", "Year", 4),
    ] {
        let field = format!("{prefix}-{part}");
        let value = escape(values.get(&field).map(String::as_str).unwrap_or(""));
        let error_class = if error.is_some() {
            " govuk-input--error"
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<div class="govuk-date-input__item"><div class="govuk-form-group">
<label class="govuk-label govuk-date-input__label" for="{field}">{label}</label>
<input class="govuk-input govuk-date-input__input govuk-input--width-{width}{error_class}" id="{field}" name="{field}" type="text" inputmode="numeric" value="{value}"></div></div>"#
        );
    }
    out.push_str("</div></fieldset></div>\n");
}

/// The page for a submission whose request is gone (expired, already used, or never existed).
fn expired() -> Response {
    html(
        StatusCode::BAD_REQUEST,
        layout(
            "This sign-in has expired",
            r#"<h1 class="govuk-heading-l">This sign-in has expired</h1>
<p class="govuk-body">It was already used, or it waited too long. Go back to the service and sign in again.</p>"#,
        ),
    )
}

pub async fn submit(State(p): State<Arc<Provider>>, body: Bytes) -> Response {
    let values: Values = form_urlencoded::parse(&body).into_owned().collect();
    let Some(request_id) = values.get("request_id").cloned() else {
        return expired();
    };
    let known = {
        let mut store = p.store();
        store.sweep(now());
        store.pending.contains_key(&request_id)
    };
    if !known {
        return expired();
    }
    match read_choice(&p, &values) {
        Err(errors) => page(&p, &request_id, Some((&values, &errors))),
        Ok((person, outcome)) => {
            // Taken only now, so a form with mistakes can be corrected and sent again.
            let Some((request, _)) = p.store().pending.remove(&request_id) else {
                return expired();
            };
            complete(&p, request, person, outcome, Vec::new())
        }
    }
}

/// The person and outcome chosen, or what is wrong with the form.
fn read_choice(p: &Provider, values: &Values) -> Result<(Persona, Outcome), Vec<FieldError>> {
    let field = |name: &str| values.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut errors: Vec<FieldError> = Vec::new();
    let outcome = match field("outcome") {
        None => None,
        Some(o) => match Outcome::parse(o) {
            Some(o) => Some(o),
            None => {
                errors.push(("outcome", "Select what happens".into()));
                None
            }
        },
    };
    let person = match field("persona") {
        None => {
            errors.push(("persona", "Select who signs in".into()));
            None
        }
        Some(CUSTOM) => custom_person(values, &mut errors).map(|c| Persona::from_custom(&c)),
        Some(id) => match p.persona(id) {
            Some(persona) => Some(persona.clone()),
            None => {
                errors.push(("persona", "Select who signs in".into()));
                None
            }
        },
    };
    match person {
        Some(person) if errors.is_empty() => {
            let outcome = outcome.unwrap_or(person.default_outcome);
            Ok((person, outcome))
        }
        _ => Err(errors),
    }
}

fn custom_person(values: &Values, errors: &mut Vec<FieldError>) -> Option<CustomPerson> {
    let field = |name: &str| {
        values
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let first_name = field("first_name");
    if first_name.is_none() {
        errors.push(("first_name", "Enter their first name".into()));
    }
    let last_name = field("last_name");
    if last_name.is_none() {
        errors.push(("last_name", "Enter their last name".into()));
    }
    let date_of_birth = match read_date(values, "dob") {
        Ok(Some(date)) => Some(date),
        Ok(None) => {
            errors.push(("dob-day", "Enter their date of birth".into()));
            None
        }
        Err(problem) => {
            errors.push(("dob-day", format!("Date of birth {problem}")));
            None
        }
    };
    let email = field("email");
    match &email {
        None => errors.push(("email", "Enter their email address".into())),
        Some(e) if !looks_like_email(e) => errors.push((
            "email",
            "Enter an email address in the correct format, like name@example.com".into(),
        )),
        Some(_) => {}
    }
    let previous_first_name = field("previous_first_name");
    let previous_last_name = field("previous_last_name");
    let until = read_date(values, "previous");
    let any_previous =
        previous_first_name.is_some() || previous_last_name.is_some() || !matches!(until, Ok(None));
    let mut previous_name_valid_until = None;
    if any_previous {
        if previous_last_name.is_none() {
            errors.push((
                "previous_last_name",
                "Enter their previous last name".into(),
            ));
        }
        match until {
            Ok(Some(date)) => previous_name_valid_until = Some(date),
            Ok(None) => errors.push((
                "previous-day",
                "Enter the last day they used their previous name".into(),
            )),
            Err(problem) => errors.push((
                "previous-day",
                format!("Previous name valid until {problem}"),
            )),
        }
    }
    Some(CustomPerson {
        first_name: first_name?,
        last_name: last_name?,
        previous_first_name,
        previous_last_name,
        previous_name_valid_until,
        date_of_birth: date_of_birth?,
        email: email.filter(|e| looks_like_email(e))?,
    })
}

/// A date from its three fields: `Ok(None)` if all are empty, `Err` with what is wrong otherwise.
fn read_date(values: &Values, prefix: &str) -> Result<Option<NaiveDate>, &'static str> {
    let part = |p: &str| {
        values
            .get(&format!("{prefix}-{p}"))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (day, month, year) = (part("day"), part("month"), part("year"));
    if day.is_empty() && month.is_empty() && year.is_empty() {
        return Ok(None);
    }
    if day.is_empty() || month.is_empty() || year.is_empty() {
        return Err("must include a day, month and year");
    }
    let number = |s: &str| s.parse::<u32>().ok();
    let date = match (number(&day), number(&month), number(&year)) {
        (Some(d), Some(m), Some(y)) if year.len() == 4 => NaiveDate::from_ymd_opt(y as i32, m, d),
        _ => None,
    };
    match date {
        None => Err("must be a real date"),
        Some(date) if date >= chrono::Utc::now().date_naive() => Err("must be in the past"),
        Some(date) => Ok(Some(date)),
    }
}

pub fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn dates_must_be_complete_real_and_past() {
        let read = |d: &str, m: &str, y: &str| {
            read_date(
                &values(&[("dob-day", d), ("dob-month", m), ("dob-year", y)]),
                "dob",
            )
        };
        assert_eq!(read("", "", ""), Ok(None));
        assert_eq!(
            read("29", "2", "1980"),
            Ok(NaiveDate::from_ymd_opt(1980, 2, 29))
        );
        assert_eq!(read("29", "2", "1981"), Err("must be a real date"));
        assert_eq!(
            read("1", "", "1980"),
            Err("must include a day, month and year")
        );
        assert_eq!(read("1", "1", "80"), Err("must be a real date"));
        assert_eq!(read("x", "1", "1980"), Err("must be a real date"));
        assert_eq!(read("1", "1", "2999"), Err("must be in the past"));
    }

    #[test]
    fn custom_people_need_names_birth_date_and_email() {
        let mut errors = Vec::new();
        assert!(custom_person(&values(&[]), &mut errors).is_none());
        let ids: Vec<&str> = errors.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, ["first_name", "last_name", "dob-day", "email"]);

        let mut errors = Vec::new();
        let person = custom_person(
            &values(&[
                ("first_name", "Ann"),
                ("last_name", "Lee"),
                ("dob-day", "3"),
                ("dob-month", "4"),
                ("dob-year", "1985"),
                ("email", "ann@example.com"),
                ("previous_first_name", "Ann"),
            ]),
            &mut errors,
        );
        assert!(person.is_some(), "the person is kept for the page");
        let ids: Vec<&str> = errors.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, ["previous_last_name", "previous-day"]);
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(looks_like_email("a.b@example.com"));
        for bad in [
            "a",
            "@example.com",
            "a@b",
            "a@.com",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">O'Brien & co</a>"#),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Brien &amp; co&lt;/a&gt;"
        );
    }
}
