//! Asking for support when GOV.UK One Login could not prove who someone is (DESIGN §4 step 4): their name,
//! previous names, date of birth, NINO and TRN if they know them, and a proof of identity file, checked by its
//! content (PDF, JPG or PNG; at most 10 MB), never by its name.

use super::validation::{
    date_of_birth_message, echo_limit, parse_nino, parse_past_date, parse_trn, truncate_chars,
    validate_name, FieldError, NinoError, TrnError, MAX_IDENTIFIER_CHARS, MAX_NAME_CHARS,
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The largest proof of identity we accept.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// How many previous names the form offers ("add another" stops here).
pub const MAX_PREVIOUS_NAMES: usize = 5;

/// The kinds of file we accept, told apart by their first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
}

impl FileKind {
    /// What the file's content says it is, whatever its name or declared type.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }
}

/// The proof of identity field's id and name.
pub const PROOF_FIELD: &str = "proof";

/// Checks an uploaded file: present, not empty, at most [`MAX_UPLOAD_BYTES`], and a PDF, JPG or PNG by content.
/// `too_big` is true when the upload was cut off at the limit.
pub fn check_proof(bytes: Option<&[u8]>, too_big: bool) -> Result<FileKind, FieldError> {
    let error = |message: &str| FieldError::new(PROOF_FIELD, message);
    if too_big {
        return Err(error("The selected file must be smaller than 10MB"));
    }
    match bytes {
        None => Err(error("Select a file that proves your identity")),
        Some([]) => Err(error("The selected file is empty")),
        Some(b) if b.len() > MAX_UPLOAD_BYTES => {
            Err(error("The selected file must be smaller than 10MB"))
        }
        Some(b) => {
            FileKind::sniff(b).ok_or_else(|| error("The selected file must be a PDF, JPG or PNG"))
        }
    }
}

/// A proof of identity file, stored; what the session and the support task keep of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedProof {
    /// Where it is in the uploads store.
    pub key: String,
    pub kind: FileKind,
    /// The name it had on the person's device, for them to recognise (shown escaped, never used as a path).
    pub file_name: String,
    pub size: u64,
}

/// The request being written, kept in the server-side session until it is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySupportDraft {
    /// Set once every field is valid.
    pub details: Option<IdentitySupportDetails>,
    /// Kept even when other fields had errors, so the file need not be chosen again.
    pub proof: Option<UploadedProof>,
}

/// A file name fit to show back: its last path segment, without control characters, at most 100 characters.
pub fn display_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(100).collect();
    if cleaned.trim().is_empty() {
        "your file".into()
    } else {
        cleaned
    }
}

/// The form as typed. Previous names are the non-empty ones, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySupportInput {
    pub name: String,
    pub previous_names: Vec<String>,
    pub dob_day: String,
    pub dob_month: String,
    pub dob_year: String,
    pub nino: String,
    pub trn: String,
}

impl IdentitySupportInput {
    /// The form's fields by id, as the page shows them.
    pub fn values(&self) -> std::collections::BTreeMap<String, String> {
        let mut values: std::collections::BTreeMap<String, String> = [
            ("name", &self.name),
            ("dob-day", &self.dob_day),
            ("dob-month", &self.dob_month),
            ("dob-year", &self.dob_year),
            ("nino", &self.nino),
            ("trn", &self.trn),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
        for (i, name) in self.previous_names.iter().enumerate() {
            values.insert(format!("previous-name-{}", i + 1), name.clone());
        }
        values
    }
}

impl IdentitySupportInput {
    /// [`Self::values`] cut to what a form shows back (issue 10 §4): names to twice their limit, the date's parts
    /// to 10 characters, the NINO and TRN to [`MAX_IDENTIFIER_CHARS`]. What was typed stays recognisable; a
    /// pasted megabyte never reaches the session.
    pub fn values_to_show(&self) -> std::collections::BTreeMap<String, String> {
        let mut values = self.values();
        for (field, value) in values.iter_mut() {
            let limit = match field.as_str() {
                "dob-day" | "dob-month" | "dob-year" => 10,
                "nino" | "trn" => MAX_IDENTIFIER_CHARS,
                _ => echo_limit(MAX_NAME_CHARS),
            };
            *value = truncate_chars(value, limit);
        }
        values
    }
}

impl From<&IdentitySupportDetails> for IdentitySupportInput {
    /// The form filled in with answers already given (to change them from check answers).
    fn from(d: &IdentitySupportDetails) -> Self {
        use chrono::Datelike;
        Self {
            name: d.name.clone(),
            previous_names: d.previous_names.clone(),
            dob_day: d.date_of_birth.day().to_string(),
            dob_month: d.date_of_birth.month().to_string(),
            dob_year: d.date_of_birth.year().to_string(),
            nino: d.nino.clone().unwrap_or_default(),
            trn: d.trn.clone().unwrap_or_default(),
        }
    }
}

/// A valid request, without the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySupportDetails {
    pub name: String,
    pub previous_names: Vec<String>,
    pub date_of_birth: NaiveDate,
    pub nino: Option<String>,
    pub trn: Option<String>,
}

/// The identity a support officer accepts by verifying a request: the names and date of birth the teacher gave
/// with their proof. A name's last word is its family name (as the task's search keys take it). A previous name's
/// end is not known, only that it ended by the time they asked (`asked_on`); that date marks it as previous.
pub fn identity_accepted_by_support(
    details: &IdentitySupportDetails,
    asked_on: NaiveDate,
) -> super::identity::VerifiedIdentity {
    use super::identity::{VerifiedIdentity, VerifiedName};
    let name = |full: &str, valid_until: Option<NaiveDate>| {
        let mut words: Vec<String> = full.split_whitespace().map(str::to_string).collect();
        let family_name = words.pop().unwrap_or_default();
        VerifiedName {
            given_names: words,
            family_name,
            valid_from: None,
            valid_until,
        }
    };
    let mut names = vec![name(&details.name, None)];
    names.extend(
        details
            .previous_names
            .iter()
            .map(|previous| name(previous, Some(asked_on))),
    );
    VerifiedIdentity {
        names,
        dates_of_birth: vec![details.date_of_birth],
    }
}

/// Validates everything but the file, in the order the fields appear, with GOV.UK wording.
pub fn validate_identity_support(
    input: &IdentitySupportInput,
    today: NaiveDate,
) -> Result<IdentitySupportDetails, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = validate_name("name", "your full name", &input.name)
        .map_err(|e| errors.push(e))
        .ok();
    let mut previous_names = Vec::new();
    for (i, previous) in input.previous_names.iter().enumerate() {
        if previous.trim().is_empty() {
            continue;
        }
        match validate_name(
            &format!("previous-name-{}", i + 1),
            "the previous name",
            previous,
        ) {
            Ok(n) => previous_names.push(n),
            Err(e) => errors.push(e),
        }
    }
    let date_of_birth = parse_past_date(&input.dob_day, &input.dob_month, &input.dob_year, today)
        .map_err(|e| errors.push(FieldError::new("dob-day", date_of_birth_message(e))))
        .ok();
    let nino = match parse_nino(&input.nino) {
        Ok(n) => Some(n.as_str().to_string()),
        Err(NinoError::Empty) => None,
        Err(NinoError::Format) => {
            errors.push(FieldError::new(
                "nino",
                "Enter a National Insurance number in the correct format, like QQ 12 34 56 C",
            ));
            None
        }
    };
    let trn = match parse_trn(&input.trn) {
        Ok(t) => Some(t.as_str().to_string()),
        Err(TrnError::Empty) => None,
        Err(TrnError::Format) => {
            errors.push(FieldError::new(
                "trn",
                "Enter a TRN in the correct format, like 1234567",
            ));
            None
        }
    };
    match (name, date_of_birth) {
        (Some(name), Some(date_of_birth)) if errors.is_empty() => Ok(IdentitySupportDetails {
            name,
            previous_names,
            date_of_birth,
            nino,
            trn,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    fn valid() -> IdentitySupportInput {
        IdentitySupportInput {
            name: "  Siân O’Brien-Llewelyn ".into(),
            previous_names: vec!["".into(), "Siân Jones".into()],
            dob_day: "14".into(),
            dob_month: "3".into(),
            dob_year: "1985".into(),
            nino: "ab 12 34 56 c".into(),
            trn: "".into(),
        }
    }

    #[test]
    fn a_valid_request_is_cleaned() {
        let d = validate_identity_support(&valid(), today()).unwrap();
        assert_eq!(d.name, "Siân O’Brien-Llewelyn");
        assert_eq!(d.previous_names, ["Siân Jones"]);
        assert_eq!(
            d.date_of_birth,
            NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
        );
        assert_eq!(d.nino.as_deref(), Some("AB123456C"));
        assert_eq!(d.trn, None);
    }

    #[test]
    fn support_accepts_the_names_and_date_of_birth_the_teacher_gave() {
        let d = validate_identity_support(&valid(), today()).unwrap();
        let asked_on = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let identity = identity_accepted_by_support(&d, asked_on);
        let current = identity.current_name().unwrap();
        assert_eq!(current.given_names, ["Siân"]);
        assert_eq!(current.family_name, "O’Brien-Llewelyn");
        let previous: Vec<_> = identity.previous_names().collect();
        assert_eq!(previous.len(), 1);
        assert_eq!(previous[0].full_name(), "Siân Jones");
        assert_eq!(previous[0].valid_until, Some(asked_on));
        assert_eq!(identity.dates_of_birth, [d.date_of_birth]);
    }

    #[test]
    fn every_field_reports_its_own_error_in_page_order() {
        let input = IdentitySupportInput {
            name: " ".into(),
            previous_names: vec!["x".repeat(201)],
            dob_day: "31".into(),
            dob_month: "2".into(),
            dob_year: "1990".into(),
            nino: "<script>".into(),
            trn: "0000000".into(),
        };
        let errors = validate_identity_support(&input, today()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field_id.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "previous-name-1", "dob-day", "nino", "trn"]
        );
        assert_eq!(errors[0].message, "Enter your full name");
        assert_eq!(
            errors[1].message,
            "The previous name must be 200 characters or fewer"
        );
        assert_eq!(errors[2].message, "Date of birth must be a real date");
    }

    #[test]
    fn future_and_ancient_dates_of_birth_are_refused() {
        for (year, message) in [
            ("2027", "Date of birth must be in the past"),
            (
                "2011",
                "Date of birth must be the same as or before 29 November 2010",
            ),
            (
                "1906",
                "Date of birth must be the same as or after 29 November 1906",
            ),
            ("", "Date of birth must include a year"),
        ] {
            let input = IdentitySupportInput {
                dob_year: year.into(),
                ..valid()
            };
            let errors = validate_identity_support(&input, today()).unwrap_err();
            assert_eq!(errors[0].message, message);
        }
    }

    #[test]
    fn what_is_shown_back_is_cut_to_a_field_s_worth() {
        let input = IdentitySupportInput {
            name: "a".repeat(9_000_000),
            previous_names: vec!["b".repeat(1000)],
            dob_day: "1".repeat(50),
            nino: " ".repeat(500),
            ..valid()
        };
        let shown = input.values_to_show();
        assert_eq!(shown["name"].chars().count(), 400);
        assert_eq!(shown["previous-name-1"].chars().count(), 400);
        assert_eq!(shown["dob-day"].chars().count(), 10);
        assert_eq!(shown["nino"].chars().count(), 100);
        assert_eq!(shown["dob-month"], "3");
        // Over the limit but within what is shown back: kept whole, beside its error.
        let errors = validate_identity_support(
            &IdentitySupportInput {
                name: "a".repeat(201),
                ..valid()
            },
            today(),
        )
        .unwrap_err();
        assert_eq!(
            errors[0].message,
            "Your full name must be 200 characters or fewer"
        );
    }

    #[test]
    fn names_of_invisible_characters_or_emoji_are_refused_and_format_characters_removed() {
        let errors = validate_identity_support(
            &IdentitySupportInput {
                name: "\u{200b}\u{202e}\u{feff}".into(),
                ..valid()
            },
            today(),
        )
        .unwrap_err();
        assert_eq!(errors[0].message, "Enter your full name");
        let errors = validate_identity_support(
            &IdentitySupportInput {
                name: "🙂🙂".into(),
                ..valid()
            },
            today(),
        )
        .unwrap_err();
        assert_eq!(
            errors[0].message,
            "Your full name must only include letters, spaces, hyphens, apostrophes and full stops"
        );
        let d = validate_identity_support(
            &IdentitySupportInput {
                name: "Ann\u{200b} Lee\u{202e}".into(),
                ..valid()
            },
            today(),
        )
        .unwrap();
        assert_eq!(d.name, "Ann Lee");
    }

    #[test]
    fn control_characters_in_names_are_removed_not_stored() {
        let input = IdentitySupportInput {
            name: "Ann\u{7}Lee\u{0}".into(),
            ..valid()
        };
        let d = validate_identity_support(&input, today()).unwrap();
        assert_eq!(d.name, "AnnLee");
        let input = IdentitySupportInput {
            name: "\u{7}\u{0}".into(),
            ..valid()
        };
        let errors = validate_identity_support(&input, today()).unwrap_err();
        assert_eq!(errors[0].message, "Enter your full name");
    }

    #[test]
    fn file_names_are_shown_without_paths_or_control_characters() {
        assert_eq!(
            display_file_name("C:\\Users\\me\\passport.pdf"),
            "passport.pdf"
        );
        assert_eq!(display_file_name("../../etc/passwd"), "passwd");
        assert_eq!(display_file_name("a\u{0}b\u{7}.png"), "ab.png");
        assert_eq!(display_file_name(""), "your file");
        assert_eq!(display_file_name(&"x".repeat(300)).chars().count(), 100);
    }

    #[test]
    fn files_are_judged_by_their_content() {
        assert_eq!(check_proof(Some(b"%PDF-1.7 ..."), false), Ok(FileKind::Pdf));
        assert_eq!(
            check_proof(Some(&[0xFF, 0xD8, 0xFF, 0xE0]), false),
            Ok(FileKind::Jpeg)
        );
        assert_eq!(
            check_proof(Some(b"\x89PNG\r\n\x1a\n...."), false),
            Ok(FileKind::Png)
        );
        let message = |r: Result<FileKind, FieldError>| r.unwrap_err().message;
        // A script renamed to passport.pdf is still a script.
        assert_eq!(
            message(check_proof(Some(b"<script>alert(1)</script>"), false)),
            "The selected file must be a PDF, JPG or PNG"
        );
        assert_eq!(
            message(check_proof(Some(b"GIF89a"), false)),
            "The selected file must be a PDF, JPG or PNG"
        );
        assert_eq!(
            message(check_proof(Some(b""), false)),
            "The selected file is empty"
        );
        assert_eq!(
            message(check_proof(None, false)),
            "Select a file that proves your identity"
        );
        assert_eq!(
            message(check_proof(Some(b"%PDF-"), true)),
            "The selected file must be smaller than 10MB"
        );
        let big = vec![0xFFu8; MAX_UPLOAD_BYTES + 1];
        assert_eq!(
            message(check_proof(Some(&big), false)),
            "The selected file must be smaller than 10MB"
        );
    }
}
