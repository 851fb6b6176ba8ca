//! Feedback about the service, from the phase banner's link. The first form of the service, and the pattern for
//! the rest: validate once here, show errors with the GOV.UK error summary, keep what the person typed.

use super::validation::{validate_text, FieldError};
use serde::{Deserialize, Serialize};

/// The longest feedback we keep, in characters.
pub const MAX_FEEDBACK_CHARS: usize = 1200;

/// The satisfaction scale GOV.UK services use for feedback.
pub const SATISFACTION: [(&str, &str); 5] = [
    ("very-satisfied", "Very satisfied"),
    ("satisfied", "Satisfied"),
    ("neither", "Neither satisfied nor dissatisfied"),
    ("dissatisfied", "Dissatisfied"),
    ("very-dissatisfied", "Very dissatisfied"),
];

/// What the form posts, exactly as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackInput {
    #[serde(default)]
    pub satisfaction: String,
    #[serde(default)]
    pub details: String,
}

/// Feedback that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feedback {
    pub satisfaction: &'static str,
    pub details: String,
}

/// Checks a feedback submission. Returns every problem at once, in the order the fields appear on the page.
pub fn validate_feedback(input: &FeedbackInput) -> Result<Feedback, Vec<FieldError>> {
    let mut errors = Vec::new();
    let satisfaction = SATISFACTION
        .iter()
        .find(|(value, _)| *value == input.satisfaction)
        .map(|(v, _)| *v);
    if satisfaction.is_none() {
        errors.push(FieldError::new(
            "satisfaction",
            "Select how you feel about this service",
        ));
    }
    let details = validate_text(
        "details",
        "how we could improve this service",
        &input.details,
        true,
        MAX_FEEDBACK_CHARS,
    )
    .map_err(|e| errors.push(e))
    .ok();
    match (satisfaction, details) {
        (Some(satisfaction), Some(details)) if errors.is_empty() => Ok(Feedback {
            satisfaction,
            details,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(satisfaction: &str, details: &str) -> FeedbackInput {
        FeedbackInput {
            satisfaction: satisfaction.into(),
            details: details.into(),
        }
    }

    #[test]
    fn valid_feedback_is_trimmed() {
        let ok = validate_feedback(&input("satisfied", "  Quick and clear.  ")).unwrap();
        assert_eq!(
            ok,
            Feedback {
                satisfaction: "satisfied",
                details: "Quick and clear.".into()
            }
        );
    }

    #[test]
    fn empty_form_gives_both_errors_in_page_order() {
        let errors = validate_feedback(&input("", "   ")).unwrap_err();
        let ids: Vec<_> = errors.iter().map(|e| e.field_id.as_str()).collect();
        assert_eq!(ids, ["satisfaction", "details"]);
        assert_eq!(errors[1].message, "Enter how we could improve this service");
    }

    #[test]
    fn unknown_satisfaction_values_are_refused() {
        for bad in ["Satisfied", "very-satisfied ", "<script>", "' OR 1=1 --"] {
            assert_eq!(
                validate_feedback(&input(bad, "fine")).unwrap_err()[0].field_id,
                "satisfaction"
            );
        }
    }

    #[test]
    fn too_long_is_refused_and_control_characters_removed() {
        let long = "a".repeat(MAX_FEEDBACK_CHARS + 1);
        assert_eq!(
            validate_feedback(&input("satisfied", &long)).unwrap_err()[0].message,
            "How we could improve this service must be 1200 characters or fewer"
        );
        assert!(validate_feedback(&input("satisfied", &"a".repeat(MAX_FEEDBACK_CHARS))).is_ok());
        assert_eq!(
            validate_feedback(&input("satisfied", "bad\u{7}bell"))
                .unwrap()
                .details,
            "badbell"
        );
    }

    #[test]
    fn markup_is_kept_as_text() {
        let ok = validate_feedback(&input("neither", "<script>alert('x')</script>")).unwrap();
        assert_eq!(ok.details, "<script>alert('x')</script>");
    }
}
