// Pages without islands (every teacher page) load no WASM: this starts GOV.UK Frontend's components and then says
// the page is complete (`data-ready`: the browser tests wait for it). Nothing on these pages changes after load, so,
// unlike the console's WASM entry (frontend/src/lib.rs), nothing watches for components added later.
import("/assets/govuk-frontend.min.js")
  .then((m) => m.initAll({ onError: (e) => { if (!(e && e.name === "InitError")) console.log(e); } }))
  .catch(() => {})
  .finally(() => { document.body.dataset.ready = "true"; });
