//! The WASM entry point of the console's pages: hydrates the page's islands (the rest of the page is the server's
//! HTML), then starts GOV.UK Frontend's JavaScript. Nothing else belongs here. Teacher pages have no islands and load
//! no WASM: `public/assets/app.js` starts GOV.UK Frontend there.

use wasm_bindgen::prelude::wasm_bindgen;

// GOV.UK Frontend changes the DOM (e.g. the character count), so it starts only once hydration has finished: the
// islands are hydrated right after `hydrate` returns, in the same task, and the import below resolves in a later one.
// Loaded from our own origin, as the CSP requires. `data-ready` on the body then says the page is complete (the
// browser tests wait for it before checking accessibility).
//
// An island draws new content without a page load (the dashboard's error summary after a bad filter), with
// components GOV.UK Frontend has not seen: so whenever elements are added, any `govuk-` module without GOV.UK
// Frontend's `data-<module>-init` mark is started. Started components carry that mark and are never started twice;
// GOV.UK Frontend's refusal to start one again is not an error here.
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
    // Links the app crate, whose `#[island]`s are the WASM exports the island script calls by name.
    use app as _;
    leptos::mount::hydrate_islands();
    init_govuk_frontend();
}
