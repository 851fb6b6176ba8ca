//! What every handler can reach.

use crate::config::Config;
use crate::db::DynStore;
use crate::http::assets::Assets;
use crate::onelogin::OneLoginClient;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
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
