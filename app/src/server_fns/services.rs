//! The console's pages for the services that use Teacher ID (issue 12 items 2 and 4): administrators only, each
//! checked on the server as every console page is ([`super::console`]).

use super::console::{Console, Me};
use crate::domain::services::{ApiClientView, ServiceView};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicesView {
    pub me: Me,
    pub services: Vec<ServiceView>,
    pub api_clients: Vec<ApiClientView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneServiceView {
    pub me: Me,
    pub service: ServiceView,
}

/// A secret or key just made, on the one page that shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSecretView {
    pub me: Me,
    /// Whose it is: the service's or API client's name.
    pub name: String,
    /// `None` once it has been shown (a reload, a link followed later).
    pub secret: Option<String>,
}

#[cfg(feature = "ssr")]
async fn administrator(
    form: Option<crate::forms::FormId>,
) -> Result<Result<Me, Console<()>>, ServerFnError> {
    super::console::guard::me(crate::domain::support::Permission::ManageServices, form).await
}

/// `Console<()>` as the console of another view.
#[cfg(feature = "ssr")]
fn denied<T>(denied: Console<()>) -> Console<T> {
    match denied {
        Console::Ok(()) | Console::NotFound => Console::NotFound,
        Console::SignedOut => Console::SignedOut,
        Console::NoAccess => Console::NoAccess,
    }
}

/// `/support/services`: the services and the API clients.
#[server(input = GetUrl)]
pub async fn load_services() -> Result<Console<ServicesView>, ServerFnError> {
    let me = match administrator(None).await? {
        Ok(me) => me,
        Err(d) => return Ok(denied(d)),
    };
    let console = super::console::guard::console()?;
    let services = console
        .services()
        .await
        .map_err(super::console::guard::unavailable)?;
    let api_clients = console
        .api_clients()
        .await
        .map_err(super::console::guard::unavailable)?;
    Ok(Console::Ok(ServicesView {
        me,
        services,
        api_clients,
    }))
}

/// A form page with what was typed and what was wrong (adding a service, adding an API client).
#[server(input = GetUrl)]
pub async fn load_service_form(api_client: bool) -> Result<Console<Me>, ServerFnError> {
    let form = if api_client {
        crate::forms::FormId::ApiClientForm
    } else {
        crate::forms::FormId::ServiceForm
    };
    Ok(match administrator(Some(form)).await? {
        Ok(me) => Console::Ok(me),
        Err(d) => denied(d),
    })
}

/// `/support/services/{client_id}/edit`: one service, its URIs form (with what was typed and what was wrong),
/// its secret and whether it is enabled.
#[server(input = GetUrl)]
pub async fn load_service(client_id: String) -> Result<Console<OneServiceView>, ServerFnError> {
    let me = match administrator(Some(crate::forms::FormId::ServiceForm)).await? {
        Ok(me) => me,
        Err(d) => return Ok(denied(d)),
    };
    let service = super::console::guard::console()?
        .services()
        .await
        .map_err(super::console::guard::unavailable)?
        .into_iter()
        .find(|s| s.client_id == client_id);
    Ok(match service {
        Some(service) => Console::Ok(OneServiceView { me, service }),
        None => super::console::guard::not_found(),
    })
}

/// The page that shows a new client secret (`api_client: false`, `of` a client id) or API key (`of` an API
/// client's id), once: the secret comes in the session's flash, which this takes.
#[server(input = GetUrl)]
pub async fn load_new_secret(
    api_client: bool,
    of: String,
) -> Result<Console<NewSecretView>, ServerFnError> {
    use crate::domain::services::fields;
    let me = match administrator(Some(crate::forms::FormId::NewSecret)).await? {
        Ok(me) => me,
        Err(d) => return Ok(denied(d)),
    };
    let console = super::console::guard::console()?;
    let name = if api_client {
        console
            .api_clients()
            .await
            .map_err(super::console::guard::unavailable)?
            .into_iter()
            .find(|c| c.id.to_string() == of)
            .map(|c| c.name)
    } else {
        console
            .services()
            .await
            .map_err(super::console::guard::unavailable)?
            .into_iter()
            .find(|s| s.client_id == of)
            .map(|s| s.display_name)
    };
    let Some(name) = name else {
        return Ok(super::console::guard::not_found());
    };
    // Only the secret made for this client: a flash for another (two tabs) is not shown here.
    let whose = crate::domain::services::secret_of(api_client, &of);
    let secret = (me.values.get(fields::SECRET_OF) == Some(&whose))
        .then(|| me.values.get(fields::SECRET).cloned())
        .flatten();
    let mut me = me;
    me.values.clear();
    Ok(Console::Ok(NewSecretView { me, name, secret }))
}
