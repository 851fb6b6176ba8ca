//! A page whose content comes from a server function that may instead redirect: it waits for the data (so the
//! page renders on the server without JavaScript), renders it, renders nothing when the server redirected, and
//! shows "Sorry, there is a problem with the service" when the data could not be loaded.

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};
use std::future::Future;

#[component]
pub fn Loaded<T, F, Fut>(load: F, render: fn(T) -> AnyView) -> impl IntoView
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<T>, ServerFnError>> + Send + 'static,
{
    let data = Resource::new_blocking(|| (), move |_| load());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(v)) => render(v),
                    Ok(None) => ().into_any(),
                    Err(_) => view! { <crate::pages::problem::ProblemPageContent /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
