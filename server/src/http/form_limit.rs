//! Form bodies over the size limit (DESIGN §4 "Too long or too big"): a urlencoded form that is too big is not
//! refused with a bare 413, which would lose everything typed. It is read (up to [`FORM_READ_LIMIT`]) keeping
//! each field's first [`KEPT_VALUE_CHARS`] characters, so the handler sees an ordinary body: the field that was
//! too long gets its GOV.UK error ("… must be N characters or fewer") and the form comes back with what was typed,
//! cut short. Nothing more than that is ever held in memory.

use axum::body::Body;
use http_body_util::BodyExt;

/// The most of a urlencoded body we read. Past it the 413 page is shown: nobody types a megabyte into a form.
pub const FORM_READ_LIMIT: usize = 1024 * 1024;
/// The most of one field's value kept: above every field's own limit (free text is at most 2,000 characters),
/// so a value cut to this is still refused as too long, and what is shown back is still recognisable.
pub const KEPT_VALUE_CHARS: usize = 4_000;
/// The most of a field's name kept, and the most fields kept: far more than any of our forms has.
const KEPT_NAME_BYTES: usize = 256;
const KEPT_FIELDS: usize = 100;
/// The longest percent-encoding of one character (`%F0%9F%98%80`).
const MAX_ENCODED_CHAR_BYTES: usize = 12;

/// Whether `content_type` is a urlencoded form.
pub fn is_urlencoded(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

#[derive(Debug, PartialEq, Eq)]
pub enum FormTooBig {
    /// Over [`FORM_READ_LIMIT`], or still over the handler's limit once every value was cut short.
    TooBig,
    /// The client went away or the body could not be read.
    Unreadable,
}

/// One `name=value` pair as it arrives, each part kept only up to its cap.
#[derive(Default)]
struct Pair {
    name: Vec<u8>,
    value: Vec<u8>,
    in_value: bool,
    cut: bool,
}

impl Pair {
    fn push(&mut self, byte: u8) {
        if !self.in_value {
            if byte == b'=' {
                self.in_value = true;
            } else if self.name.len() < KEPT_NAME_BYTES {
                self.name.push(byte);
            }
        } else if self.value.len() < KEPT_VALUE_CHARS * MAX_ENCODED_CHAR_BYTES {
            self.value.push(byte);
        } else {
            self.cut = true;
        }
    }

    fn is_empty(&self) -> bool {
        self.name.is_empty() && self.value.is_empty() && !self.in_value
    }

    /// The decoded name and value, the value cut to [`KEPT_VALUE_CHARS`].
    fn finish(self) -> (String, String) {
        let decode = |bytes: &[u8]| -> String {
            form_urlencoded::parse(&[b"x=", bytes].concat())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let name = decode(&self.name);
        let mut encoded = self.value;
        if self.cut {
            // A percent-escape the cut split in two would decode as text: drop it.
            if let Some(at) = encoded.iter().rposition(|b| *b == b'%') {
                if encoded.len() - at < 3 {
                    encoded.truncate(at);
                }
            }
        }
        let mut value = decode(&encoded);
        if self.cut {
            // A character the cut split decodes as U+FFFD: drop it.
            while value.ends_with('\u{FFFD}') {
                value.pop();
            }
        }
        let value = app::domain::validation::truncate_chars(&value, KEPT_VALUE_CHARS);
        (name, value)
    }
}

/// Reads a urlencoded `body` of any size up to [`FORM_READ_LIMIT`], keeping each value's first
/// [`KEPT_VALUE_CHARS`] characters, and returns it encoded again: a body the handler can read within `max_body`.
pub async fn shorten_form(body: Body, max_body: usize) -> Result<bytes::Bytes, FormTooBig> {
    let mut body = body;
    let mut read = 0usize;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut pair = Pair::default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| FormTooBig::Unreadable)?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        read += chunk.len();
        if read > FORM_READ_LIMIT {
            return Err(FormTooBig::TooBig);
        }
        for &byte in chunk.iter() {
            if byte == b'&' {
                let done = std::mem::take(&mut pair);
                if !done.is_empty() && pairs.len() < KEPT_FIELDS {
                    pairs.push(done.finish());
                }
            } else {
                pair.push(byte);
            }
        }
    }
    if !pair.is_empty() && pairs.len() < KEPT_FIELDS {
        pairs.push(pair.finish());
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    if encoded.len() > max_body {
        return Err(FormTooBig::TooBig);
    }
    Ok(bytes::Bytes::from(encoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn shorten(body: String) -> Result<Vec<(String, String)>, FormTooBig> {
        let bytes = shorten_form(Body::from(body), 65_536).await?;
        Ok(form_urlencoded::parse(&bytes).into_owned().collect())
    }

    #[tokio::test]
    async fn a_small_form_comes_through_unchanged() {
        let pairs = shorten("csrf_token=abc&details=Quick+and+clear%21&x=".into())
            .await
            .unwrap();
        assert_eq!(
            pairs,
            [
                ("csrf_token".into(), "abc".into()),
                ("details".into(), "Quick and clear!".into()),
                ("x".into(), "".into())
            ]
        );
    }

    #[tokio::test]
    async fn a_value_too_long_to_keep_is_cut_and_the_others_are_kept() {
        let long = "word ".repeat(100_000);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("csrf_token", "abc"),
                ("details", long.as_str()),
                ("satisfaction", "neither"),
            ])
            .finish();
        assert!(body.len() > 400_000);
        let pairs = shorten(body).await.unwrap();
        assert_eq!(pairs[0], ("csrf_token".into(), "abc".into()));
        assert_eq!(pairs[1].1.chars().count(), KEPT_VALUE_CHARS);
        assert!(long.starts_with(&pairs[1].1));
        assert_eq!(pairs[2], ("satisfaction".into(), "neither".into()));
    }

    #[tokio::test]
    async fn a_cut_never_leaves_half_a_character_or_half_an_escape() {
        for text in [
            "é".repeat(60_000),
            "😀".repeat(60_000),
            "\u{200b}a".repeat(60_000),
        ] {
            let body = form_urlencoded::Serializer::new(String::new())
                .append_pair("details", &text)
                .finish();
            let pairs = shorten(body).await.unwrap();
            let kept = &pairs[0].1;
            assert!(!kept.contains('\u{FFFD}') && !kept.contains('%'));
            assert!(text.starts_with(kept.as_str()));
            assert!(kept.chars().count() > 2_000, "still over any field's limit");
        }
    }

    #[tokio::test]
    async fn past_a_megabyte_the_form_is_too_big() {
        let body = format!("details={}", "a".repeat(FORM_READ_LIMIT));
        assert_eq!(shorten(body).await.unwrap_err(), FormTooBig::TooBig);
    }
}
