//! Name keys for searching and matching: names compare case-, accent-, hyphen-, apostrophe- and
//! whitespace-insensitively (DESIGN §5), so both the stored key and the searched key come from [`name_key`].

use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

/// The comparison key for a name: decomposed, accents dropped, lower-cased, and only letters and digits kept.
/// `"O’Brien-Smith"`, `"o'brien smith"` and `"OBRIEN SMITH"` all give `"obriensmith"`.
pub fn name_key(name: &str) -> String {
    name.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::name_key;

    #[test]
    fn keys_ignore_case_accents_hyphens_apostrophes_and_spaces() {
        assert_eq!(name_key("O’Brien-Smith"), "obriensmith");
        assert_eq!(name_key("o'brien smith"), "obriensmith");
        assert_eq!(name_key("  OBRIEN   SMITH "), "obriensmith");
        assert_eq!(name_key("Siân"), "sian");
        assert_eq!(name_key("Zoë"), "zoe");
        assert_eq!(name_key("Ffion ap Dafydd"), "ffionapdafydd");
    }

    #[test]
    fn keys_of_markup_keep_only_letters() {
        assert_eq!(name_key("<script>"), "script");
        assert_eq!(name_key(""), "");
    }
}
