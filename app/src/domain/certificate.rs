//! The QTS certificate a connected teacher downloads from their record page (DESIGN §7.2, last line): who may have
//! one, what it says, and how its text is made fit for the PDF's built-in font.
//!
//! The PDF uses Helvetica, one of the fonts every PDF reader has, so no font file ships with the service. Its
//! encoding (WinAnsi, PDF 32000-1 Annex D) holds Latin-1 and a few typographic characters, not every letter a name
//! may have (DESIGN §4: letters of any script). [`for_builtin_font`] keeps what the encoding holds, takes accents
//! off the other Latin letters (Welsh ŵ and ŷ become w and y) and replaces anything still outside it, so a name
//! never breaks the PDF and the certificate never shows a wrong accented letter.

use super::records::{QualificationKind, TeachingRecord};
use chrono::NaiveDate;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// What the certificate says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QtsCertificate {
    /// The record's name, first, middle and last.
    pub name: String,
    pub trn: String,
    pub awarded_on: NaiveDate,
}

/// The certificate's title.
pub const TITLE: &str = "Qualified teacher status";
/// Who awards QTS, named on the certificate.
pub const ISSUER: &str = "Teaching Regulation Agency";

impl QtsCertificate {
    /// The certificate of `record`, if it holds QTS with the date it was awarded: a QTS line without a date is
    /// not an award the certificate could state.
    pub fn of(record: &TeachingRecord) -> Option<Self> {
        let awarded_on = record
            .qualifications
            .iter()
            .filter(|q| q.kind == QualificationKind::Qts)
            .find_map(|q| q.awarded_on)?;
        Some(Self {
            name: record.full_name(),
            trn: record.trn.clone(),
            awarded_on,
        })
    }

    /// "1 September 2020".
    pub fn awarded_text(&self) -> String {
        super::uk_time::long_date(self.awarded_on)
    }

    /// The name the download is saved as: `qts-certificate-<TRN>.pdf`, with anything but digits dropped from the
    /// TRN so the header can hold nothing else.
    pub fn file_name(&self) -> String {
        let trn: String = self.trn.chars().filter(char::is_ascii_digit).collect();
        format!("qts-certificate-{trn}.pdf")
    }
}

/// What [`for_builtin_font`] puts in place of a character the font cannot show even without its accents.
pub const REPLACEMENT: char = '?';

/// `text` as the PDF's built-in font can show it: characters of its encoding kept, other letters without their
/// accents where that leaves one it holds, anything else [`REPLACEMENT`]; control characters dropped.
pub fn for_builtin_font(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || super::validation::is_format_char(c) {
            continue;
        }
        if in_win_ansi(c) {
            shown.push(c);
            continue;
        }
        let stripped: String = c.nfd().filter(|m| !is_combining_mark(*m)).collect();
        match stripped.as_str() {
            s if !s.is_empty() && s.chars().all(in_win_ansi) => shown.push_str(s),
            _ => match base_letter(c) {
                Some(letter) => shown.push_str(letter),
                None => shown.push(REPLACEMENT),
            },
        }
    }
    shown
}

/// Latin letters with a stroke or other mark that Unicode does not decompose.
fn base_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'ł' => "l",
        'Ł' => "L",
        'đ' => "d",
        'Đ' => "D",
        'ħ' => "h",
        'Ħ' => "H",
        'ı' => "i",
        'ŀ' => "l",
        'Ŀ' => "L",
        'ŧ' => "t",
        'Ŧ' => "T",
        // Hyphens and dashes a name may hold: the font has '-'.
        '\u{2010}' | '\u{2011}' => "-",
        _ => return None,
    })
}

/// Whether WinAnsiEncoding holds `c`: ASCII's printable characters, Latin-1's from U+00A0, and the characters it
/// puts at 0x80–0x9F in place of Latin-1's control codes.
fn in_win_ansi(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{FF}')
        || matches!(
            c,
            '€' | '‚'
                | 'ƒ'
                | '„'
                | '…'
                | '†'
                | '‡'
                | 'ˆ'
                | '‰'
                | 'Š'
                | '‹'
                | 'Œ'
                | 'Ž'
                | '\u{2018}'
                | '\u{2019}'
                | '“'
                | '”'
                | '•'
                | '–'
                | '—'
                | '˜'
                | '™'
                | 'š'
                | '›'
                | 'œ'
                | 'ž'
                | 'Ÿ'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::{Qualification, RecordStatus};

    fn record(qualifications: Vec<Qualification>) -> TeachingRecord {
        TeachingRecord {
            trn: "1234567".into(),
            first_name: "Siân".into(),
            middle_name: Some("Mair".into()),
            last_name: "Ŵyn".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1990, 1, 2).unwrap(),
            nino: None,
            email: None,
            status: RecordStatus::Active,
            previous_names: vec![],
            qualifications,
        }
    }

    fn qualification(kind: QualificationKind, awarded_on: Option<NaiveDate>) -> Qualification {
        Qualification {
            kind,
            name: "x".into(),
            status: "Awarded".into(),
            awarded_on,
            provider: None,
        }
    }

    #[test]
    fn a_record_with_qts_and_its_date_has_a_certificate_saying_who_and_when() {
        let day = NaiveDate::from_ymd_opt(2020, 9, 1).unwrap();
        let certificate = QtsCertificate::of(&record(vec![
            qualification(QualificationKind::Itt, Some(NaiveDate::MIN)),
            qualification(QualificationKind::Qts, Some(day)),
        ]))
        .expect("a certificate");
        assert_eq!(certificate.name, "Siân Mair Ŵyn");
        assert_eq!(certificate.trn, "1234567");
        assert_eq!(certificate.awarded_text(), "1 September 2020");
        assert_eq!(certificate.file_name(), "qts-certificate-1234567.pdf");
    }

    #[test]
    fn no_qts_or_qts_without_a_date_means_no_certificate() {
        assert_eq!(QtsCertificate::of(&record(vec![])), None);
        assert_eq!(
            QtsCertificate::of(&record(vec![
                qualification(QualificationKind::Eyts, Some(NaiveDate::MIN)),
                qualification(QualificationKind::Qts, None),
            ])),
            None
        );
    }

    #[test]
    fn the_file_name_holds_only_the_trns_digits() {
        let mut certificate = QtsCertificate::of(&record(vec![qualification(
            QualificationKind::Qts,
            Some(NaiveDate::MIN),
        )]))
        .unwrap();
        certificate.trn = "12\"3;\r\n4".into();
        assert_eq!(certificate.file_name(), "qts-certificate-1234.pdf");
    }

    #[test]
    fn names_the_font_holds_are_kept_as_they_are() {
        for name in [
            "Siân O’Brien",
            "Zoë Dubois-Ørsted",
            "Œdipe Šárka",
            "Anne-Marie d'Arcy",
        ] {
            assert_eq!(for_builtin_font(name), name);
        }
    }

    #[test]
    fn other_latin_letters_lose_their_accents_and_other_scripts_are_replaced() {
        assert_eq!(for_builtin_font("Gŵen Ŷwain"), "Gwen Ywain");
        assert_eq!(for_builtin_font("Łucja Dvořák"), "Lucja Dvorák");
        assert_eq!(for_builtin_font("Ольга"), "?????");
        assert_eq!(for_builtin_font("李"), "?");
        assert_eq!(for_builtin_font("a\u{0}b\u{7}\u{85}\u{200B}c"), "abc");
    }
}
