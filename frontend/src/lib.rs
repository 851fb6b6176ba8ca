//! The WASM entry point: hydrates the server-rendered page, then starts GOV.UK Frontend's JavaScript. Nothing else
//! belongs here.

use wasm_bindgen::prelude::wasm_bindgen;

// GOV.UK Frontend changes the DOM (e.g. the character count), so it starts only once hydration has finished.
// Loaded from our own origin, as the CSP requires. `data-ready` on the body then says the page is complete (the
// browser tests wait for it before checking accessibility).
//
// A link followed without a page load renders the next page in the browser, with components GOV.UK Frontend has
// not seen (the decision form's radios after "Back" or "Change" on the check page): so whenever elements are
// added, any `govuk-` module without GOV.UK Frontend's `data-<module>-init` mark is started. Started components
// carry that mark and are never started twice; GOV.UK Frontend's refusal to start one again is not an error here.
#[wasm_bindgen(inline_js = "export function init_govuk_frontend() { \
    import('/assets/govuk-frontend.min.js').then((m) => { \
        const waiting = () => Array.from(document.querySelectorAll('[data-module^=\"govuk-\"]')) \
            .some((el) => !el.hasAttribute('data-' + el.dataset.module + '-init')); \
        const start = () => { if (waiting()) m.initAll({ onError: (e) => { \
            if (!(e && e.name === 'InitError')) console.log(e); } }); }; \
        start(); \
        let queued = false; \
        new MutationObserver(() => { \
            if (queued) return; \
            queued = true; \
            setTimeout(() => { queued = false; start(); }, 0); \
        }).observe(document.body, { childList: true, subtree: true }); \
    }).catch(() => {}) \
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
