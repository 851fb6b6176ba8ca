//! GOV.UK Design System components as Leptos components, with the Design System's markup.

pub mod artwork;
pub mod continue_to_service;
pub mod error_summary;
pub mod layout;
pub mod loaded;
pub mod page_title;
pub mod pagination;
pub mod post_button;
pub mod radios;
pub mod summary_list;
pub mod text_input;

/// The text to put inside a `<textarea>`. Leptos writes a textarea's children without escaping them (as it does
/// for `<script>`), so on the server we escape them ourselves; without that, `</textarea><script>` typed into a
/// form would come back as markup. In the browser, text is set as text and must not be escaped.
pub fn textarea_text(value: String) -> String {
    #[cfg(feature = "ssr")]
    {
        value
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    #[cfg(not(feature = "ssr"))]
    {
        value
    }
}
