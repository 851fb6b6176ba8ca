//! The support console's server functions. Each checks the staff session and the member's *current* role on the
//! server before reading anything: the pages only show what these return.

use crate::domain::support::{
    AuditLine, MailboxMessage, StaffMember, TaskPage, TaskQuery, TaskView,
};
use crate::domain::FieldError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// What a console page gets: its data, or why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Console<T> {
    Ok(T),
    /// No staff session: sign in first.
    SignedOut,
    /// Signed in, but their role does not allow this (or they have none).
    NoAccess,
    NotFound,
}

/// The signed-in member of staff and what the page may show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub staff: StaffMember,
    pub csrf_token: String,
    /// A success banner to show once (after a decision, an assignment, a role change).
    pub banner: Option<String>,
    /// What the last failed form sent and what was wrong with it.
    pub values: std::collections::BTreeMap<String, String>,
    pub errors: Vec<FieldError>,
    /// The dashboard list this member last looked at, for "Back to tasks".
    #[serde(default)]
    pub tasks_href: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    pub me: Me,
    pub query: TaskQuery,
    pub errors: Vec<FieldError>,
    pub page: TaskPage,
    /// The services the list can be filtered by.
    #[serde(default)]
    pub services: Vec<crate::domain::support::ServiceOption>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPageView {
    pub me: Me,
    pub task: TaskView,
    /// The decision waiting on the check page, in words.
    pub pending: Option<String>,
    /// The form as sent for that decision: "Change" on the check page brings it back.
    #[serde(default)]
    pub pending_input: Option<crate::domain::support::DecisionInput>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffView {
    pub me: Me,
    pub staff: Vec<StaffMember>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub me: Me,
    pub lines: Vec<AuditLine>,
    /// The id to page back from, when there may be older lines.
    pub older: Option<i64>,
}

// Where it was; it belongs beside the audit log's lines.
pub use crate::domain::support::AUDIT_PAGE;

#[cfg(feature = "ssr")]
pub(super) mod guard {
    use super::*;
    use crate::domain::support::Permission;
    use crate::ssr::{DataUnavailable, StaffRefused, SupportConsole};
    use std::sync::Arc;

    pub fn console() -> Result<Arc<dyn SupportConsole>, ServerFnError> {
        use_context::<Arc<dyn SupportConsole>>()
            .ok_or_else(|| ServerFnError::new("no support console"))
    }

    pub fn unavailable(e: DataUnavailable) -> ServerFnError {
        e.server_fn_error()
    }

    /// Who is asking, if they are signed in to the console and may do `what`. Sets the page's status: 403 for
    /// someone without the role, and a redirect to sign in for someone not signed in (when rendering a page).
    pub async fn me<T>(
        what: Permission,
        form: Option<crate::forms::FormId>,
    ) -> Result<Result<Me, Console<T>>, ServerFnError> {
        let ctx = crate::ssr::request_context()
            .ok_or_else(|| ServerFnError::new("no request context"))?;
        let staff = match crate::ssr::signed_in_staff(&ctx.staff, console()?.as_ref(), what).await {
            Ok(staff) => staff,
            Err(StaffRefused::SignedOut) => {
                leptos_axum::redirect(crate::routes::SUPPORT_SIGN_IN);
                return Ok(Err(Console::SignedOut));
            }
            Err(StaffRefused::NoAccess { .. }) => {
                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(http::StatusCode::FORBIDDEN);
                }
                return Ok(Err(Console::NoAccess));
            }
            Err(StaffRefused::Unavailable(e)) => return Err(unavailable(e)),
        };
        let banner = ctx
            .staff
            .take_flash(&crate::forms::FormId::SupportBanner)
            .and_then(|f| f.values.get("banner").cloned());
        let (values, errors) = match form.and_then(|form| ctx.staff.take_flash(&form)) {
            Some(flash) => (flash.values, flash.errors),
            None => Default::default(),
        };
        let tasks_href = ctx
            .staff
            .lock()
            .data
            .last_task_list
            .as_ref()
            .map(TaskQuery::href)
            .unwrap_or_else(|| crate::domain::support::DASHBOARD_PATH.to_string());
        Ok(Ok(Me {
            staff,
            csrf_token: ctx.csrf_token,
            banner,
            values,
            errors,
            tasks_href,
        }))
    }

    pub fn not_found<T>() -> Console<T> {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
        Console::NotFound
    }
}

/// The dashboard for the URL's query string.
#[server(input = GetUrl)]
pub async fn load_dashboard(query: String) -> Result<Console<DashboardView>, ServerFnError> {
    use crate::domain::support::Permission;
    let me = match guard::me(Permission::ViewTasks, None).await? {
        Ok(me) => me,
        Err(denied) => return Ok(denied),
    };
    let params: Vec<(String, String)> = form_urlencoded_pairs(&query);
    // A filter form sent without JavaScript has every field, most of them empty: the page moves to the URL
    // without them (as the form does with JavaScript), so the links people copy are clean.
    let page_request = use_context::<http::request::Parts>()
        .is_some_and(|parts| parts.uri.path() == crate::domain::support::DASHBOARD_PATH);
    if page_request && crate::domain::support::has_left_out_fields(&params) {
        leptos_axum::redirect(&crate::domain::support::filter_href(&params));
    }
    let (query, errors) = TaskQuery::from_params(|name| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    });
    let services = guard::console()?
        .task_services()
        .await
        .map_err(guard::unavailable)?;
    let mut query = query;
    // A service that is not registered (only an edited link names one): the whole list.
    query.service = query.service.known(&services);
    let mut page = guard::console()?
        .tasks(query.clone(), me.staff.id)
        .await
        .map_err(guard::unavailable)?;
    // A page past the last (an old link, or tasks decided since) shows the last page, not an empty list.
    if let Some(last) = query.within(page.pages()) {
        query = last;
        page = guard::console()?
            .tasks(query.clone(), me.staff.id)
            .await
            .map_err(guard::unavailable)?;
    }
    // Remembered for "Back to tasks" and the page after a decision (written only when it changes).
    if let Some(ctx) = crate::ssr::request_context() {
        let changed = ctx.staff.lock().data.last_task_list.as_ref() != Some(&query);
        if changed {
            ctx.staff.update(|d| d.last_task_list = Some(query.clone()));
        }
    }
    Ok(Console::Ok(DashboardView {
        me,
        query,
        errors,
        page,
        services,
    }))
}

/// `a=1&b=x+y` as pairs, percent-decoded.
#[cfg(feature = "ssr")]
fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect()
}

#[server(input = GetUrl)]
pub async fn load_task(reference: String) -> Result<Console<TaskPageView>, ServerFnError> {
    use crate::domain::support::Permission;
    let me = match guard::me(
        Permission::ViewTasks,
        Some(crate::forms::FormId::Decision(reference.clone())),
    )
    .await?
    {
        Ok(me) => me,
        Err(denied) => return Ok(denied),
    };
    let task = guard::console()?
        .task(reference.clone(), me.staff.clone())
        .await
        .map_err(guard::unavailable)?;
    let Some(task) = task else {
        return Ok(guard::not_found());
    };
    let pending_decision = crate::ssr::request_context().and_then(|ctx| {
        ctx.staff
            .lock()
            .data
            .pending_decision
            .clone()
            .filter(|p| p.reference == reference)
    });
    let pending = pending_decision
        .as_ref()
        .map(|p| p.decision.summary(task.kind));
    let pending_input = pending_decision.map(|p| p.input);
    Ok(Console::Ok(TaskPageView {
        me,
        task,
        pending,
        pending_input,
    }))
}

#[server(input = GetUrl)]
pub async fn load_staff() -> Result<Console<StaffView>, ServerFnError> {
    use crate::domain::support::Permission;
    let me = match guard::me(
        Permission::ManageStaff,
        Some(crate::forms::FormId::StaffRole),
    )
    .await?
    {
        Ok(me) => me,
        Err(denied) => return Ok(denied),
    };
    let staff = guard::console()?
        .staff_list()
        .await
        .map_err(guard::unavailable)?;
    Ok(Console::Ok(StaffView { me, staff }))
}

#[server(input = GetUrl)]
pub async fn load_audit(before: Option<i64>) -> Result<Console<AuditView>, ServerFnError> {
    use crate::domain::support::Permission;
    let me = match guard::me(Permission::ReadAudit, None).await? {
        Ok(me) => me,
        Err(denied) => return Ok(denied),
    };
    let lines = guard::console()?
        .audit_log(before)
        .await
        .map_err(guard::unavailable)?;
    let older = (lines.len() == AUDIT_PAGE)
        .then(|| lines.last().map(|l| l.id))
        .flatten();
    Ok(Console::Ok(AuditView { me, lines, older }))
}

/// The development mailbox: only when the service runs one (development without a Notify key).
#[server(input = GetUrl)]
pub async fn load_mailbox() -> Result<Console<Vec<MailboxMessage>>, ServerFnError> {
    // Emails and text messages hold teachers' personal data: staff only, even in development.
    if let Err(denied) = guard::me(crate::domain::support::Permission::ViewTasks, None).await? {
        return Ok(denied);
    }
    let emails = guard::console()?
        .mailbox()
        .await
        .map_err(guard::unavailable)?;
    Ok(match emails {
        Some(emails) => Console::Ok(emails),
        None => guard::not_found(),
    })
}
