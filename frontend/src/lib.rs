//! The WASM entry point: hydrates the server-rendered page, then starts GOV.UK Frontend's JavaScript. Nothing else
//! belongs here.

use wasm_bindgen::prelude::wasm_bindgen;

// GOV.UK Frontend changes the DOM (e.g. the character count), so it starts only once hydration has finished.
// Loaded from our own origin, as the CSP requires. `data-ready` on the body then says the page is complete (the
// browser tests wait for it before checking accessibility).
#[wasm_bindgen(inline_js = "export function init_govuk_frontend() { \
    import('/assets/govuk-frontend.min.js').then((m) => m.initAll()).catch(() => {}) \
    .finally(() => { document.body.dataset.ready = 'true'; }); }")]
extern "C" {
    fn init_govuk_frontend();
}

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    init_govuk_frontend();
}
