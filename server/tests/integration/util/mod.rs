//! Helpers the integration tests share: the service under test on a backend ([`TestApp`]), the journey's steps
//! that end in a support task, and the console's version-guarded forms.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use app::domain::support::Role;
use onelogin_standin::Outcome;
use server::db::Backend;

/// The seeded service on one backend, with staff set up, for one test.
pub struct TestApp {
    backend: Backend,
    what: &'static str,
    staff: Vec<(&'static str, &'static str, Role)>,
}

impl TestApp {
    /// `what` names the test in the message printed when PostgreSQL is not there to run it.
    pub fn new(backend: Backend, what: &'static str) -> Self {
        Self {
            backend,
            what,
            staff: Vec::new(),
        }
    }

    /// A member of staff with a role, as the development set-up adds them.
    pub fn staff(mut self, email: &'static str, name: &'static str, role: Role) -> Self {
        self.staff.push((email, name, role));
        self
    }

    /// The service, or `None` when the PostgreSQL variant cannot run (`TEST_POSTGRES_URL` unset), which it says.
    pub async fn build(self) -> Option<Rp> {
        let Some(rp) = Rp::seeded(self.backend).await else {
            eprintln!(
                "TEST_POSTGRES_URL is not set: {} on PostgreSQL not run (./test sets it)",
                self.what
            );
            return None;
        };
        let now = chrono::Utc::now();
        for (email, name, role) in self.staff {
            rp.state
                .store
                .add_staff(email, name, role, now)
                .await
                .unwrap();
        }
        Some(rp)
    }
}

/// A verified teacher the journey cannot match ("no-match") answers no to both questions and asks for support;
/// the task's reference.
pub async fn unmatched_teacher_asks_for_support(rp: &mut Rp) -> String {
    let back = rp
        .verify("no-match", Outcome::IdentityVerified, vec![])
        .await;
    assert_eq!(back.header("location"), "/continue");
    rp.get("/continue").await;
    rp.get("/connect/nino").await;
    answer_no_and_ask_for_support(rp).await
}

/// From the NINO question: no NINO, no TRN, "Get support"; the task's reference.
pub async fn answer_no_and_ask_for_support(rp: &mut Rp) -> String {
    rp.post("/connect/nino", &[("has_nino", "no")]).await;
    rp.post("/connect/trn", &[("has_trn", "no")]).await;
    let asked = rp.post("/connect/support", &[]).await;
    assert_eq!(asked.header("location"), "/connect/support-requested");
    reference_on_confirmation(rp).await
}

/// The reference the support confirmation page shows.
pub async fn reference_on_confirmation(rp: &mut Rp) -> String {
    let page = rp.get("/connect/support-requested").await;
    let at = page.body.find("TRS-").expect("a reference");
    page.body[at..at + 10].to_string()
}

/// The task version a console form carries.
pub fn version_in(body: &str) -> String {
    let at = body
        .find(r#"name="version" value=""#)
        .expect("a version field")
        + 22;
    body[at..at + body[at..].find('"').unwrap()].to_string()
}

/// Posts a console form of the task at `task_path` (`/assign`, `/decision`, …) with the version its page shows now.
pub async fn post_task_form(
    rp: &mut Rp,
    task_path: &str,
    form: &str,
    fields: &[(&str, &str)],
) -> TestResponse {
    let version = version_in(&rp.get(task_path).await.body);
    let mut with_version = vec![("version", version.as_str())];
    with_version.extend_from_slice(fields);
    rp.post(&format!("{task_path}{form}"), &with_version).await
}
