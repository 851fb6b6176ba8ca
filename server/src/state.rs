//! What every handler can reach.

use crate::config::Config;
use crate::db::DynStore;
use crate::http::assets::Assets;
use crate::onelogin::OneLoginClient;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

/// The application state: one shared copy behind an `Arc`. axum clones a route's service, state included, for
/// every request (and each middleware taking `State` clones it again); cloned field by field, with Leptos's
/// options, that was about 8% of the CPU of a page served from memory (issue 16 §1, §3). Fields read through
/// `Deref`; setting one (tests do) copies the state first if it is shared, as the value it was used to be.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

#[derive(Clone)]
pub struct Services {
    pub leptos_options: LeptosOptions,
    pub store: DynStore,
    /// Proof of identity files.
    pub uploads: crate::uploads::Uploads,
    pub config: Arc<Config>,
    pub assets: Arc<Assets>,
    pub one_login: Arc<OneLoginClient>,
    /// Staff sign-in to the support console.
    pub staff_oidc: Arc<crate::staff_auth::StaffOidc>,
    /// New and changed tasks, sent to open dashboards.
    pub live: tokio::sync::broadcast::Sender<crate::outbox::LiveEvent>,
    /// How often an open live feed checks that its member of staff still has a role that may see tasks.
    pub live_recheck: std::time::Duration,
    /// Wakes the email worker when an email is queued.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// The records' ITT providers, for the third question's suggestions.
    pub itt_providers: Arc<crate::http::connect::ProviderCache>,
}

impl From<Services> for AppState {
    fn from(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Services {
        Arc::make_mut(&mut self.0)
    }
}

/// What `leptos_axum`'s routes read from the state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
