//! Helpers the integration tests share: the service under test on a backend ([`TestApp`]), the journey's steps
//! that end in a support task, reading tasks back and deciding one in storage, and the console's version-guarded
//! forms.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use app::domain::records::{RecordStatus, TeachingRecord};
use app::domain::support::Role;
use chrono::NaiveDate;
use onelogin_standin::{CustomPerson, NextLogin, Outcome, CUSTOM};
use server::db::support::{NewEmail, StoredTask};
use server::db::{Backend, DynStore};

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

/// Asserts a redirect (any 3xx) to exactly `to`, showing the start of the page when it is not one.
pub fn assert_redirect(res: &TestResponse, to: &str) {
    assert!(
        (300..400).contains(&res.status),
        "expected a redirect to {to}, got {} {}",
        res.status,
        res.body.chars().take(400).collect::<String>()
    );
    assert_eq!(res.header("location"), to);
}

/// The text of the page's `<h1>`.
pub fn heading(res: &TestResponse) -> String {
    let start = res.body.find("<h1").expect("a heading");
    let open_end = start + res.body[start..].find('>').unwrap() + 1;
    let close = open_end + res.body[open_end..].find("</h1>").unwrap();
    res.body[open_end..close].trim().to_string()
}

/// A teaching record of someone with no previous names, email or qualifications: the lookalikes matching tests
/// set up (namesakes, twins, duplicates) differ only in these fields.
pub fn record(
    trn: &str,
    (first_name, last_name): (&str, &str),
    date_of_birth: NaiveDate,
    nino: Option<&str>,
    status: RecordStatus,
) -> TeachingRecord {
    TeachingRecord {
        trn: trn.into(),
        first_name: first_name.into(),
        middle_name: None,
        last_name: last_name.into(),
        date_of_birth,
        nino: nino.map(String::from),
        email: None,
        status,
        previous_names: vec![],
        qualifications: vec![],
    }
}

/// Signs in through the stand-in as a person One Login knows by `record`'s name and date of birth, proves their
/// identity and follows our redirect from `/continue`, which it returns.
pub async fn verified_as_the_person_of(
    rp: &mut Rp,
    record: &TeachingRecord,
    email: &str,
) -> TestResponse {
    let custom = CustomPerson {
        first_name: record.first_name.clone(),
        last_name: record.last_name.clone(),
        previous_first_name: None,
        previous_last_name: None,
        previous_name_valid_until: None,
        date_of_birth: record.date_of_birth,
        email: email.into(),
    };
    let next = |outcome| NextLogin {
        custom: Some(custom.clone()),
        ..NextLogin::new(CUSTOM, outcome)
    };
    rp.round_trip("/sign-in", next(Outcome::Authenticated))
        .await;
    rp.round_trip("/auth/identity", next(Outcome::IdentityVerified))
        .await;
    rp.get("/continue").await
}

/// Answers "Yes" and `nino` at the NINO question.
pub async fn answer_nino(rp: &mut Rp, nino: &str) -> TestResponse {
    rp.post("/connect/nino", &[("has_nino", "yes"), ("nino", nino)])
        .await
}

/// Answers "Yes" and `trn` at the TRN question.
pub async fn answer_trn(rp: &mut Rp, trn: &str) -> TestResponse {
    rp.post("/connect/trn", &[("has_trn", "yes"), ("trn", trn)])
        .await
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

/// The task `reference` as stored now.
pub async fn stored_task(store: &DynStore, reference: &str) -> StoredTask {
    store
        .task_by_reference(reference)
        .await
        .unwrap()
        .expect("the task")
}

/// Decides task `reference` "rejected, proof unclear" in storage as `officer` at `now`, with the rejection email
/// the console would queue (its reference `email_reference`), as a test that needs a decided task does.
pub async fn reject_as_proof_unclear(
    store: &DynStore,
    reference: &str,
    officer: &app::domain::support::StaffMember,
    email_reference: String,
    now: chrono::DateTime<chrono::Utc>,
) {
    let stored = stored_task(store, reference).await;
    let email = NewEmail {
        reference: email_reference,
        template: "rejected".into(),
        email_address: "cannot-verify@example.com".into(),
        personalisation: Default::default(),
        task_reference: Some(reference.to_string()),
    };
    let decision = app::domain::support::Decision::Reject {
        reason: app::domain::support::RejectReason::ProofUnclear,
        detail: None,
    };
    store
        .decide_task(reference, stored.version, &decision, officer, &email, now)
        .await
        .unwrap()
        .unwrap();
}

/// The open support task of the teacher signed in now.
pub async fn open_task_of_signed_in_teacher(rp: &mut Rp) -> server::db::connect::TeacherTask {
    let user = rp.signed_in_user().await.unwrap();
    rp.state
        .store
        .open_task_for_user(user.user_id)
        .await
        .unwrap()
        .expect("the support task")
}

/// The member of staff with this email, as the development set-up added them.
pub async fn staff_member(store: &DynStore, email: &str) -> app::domain::support::StaffMember {
    store
        .list_staff()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.email == email)
        .expect("that member of staff")
}

/// The application on `backend` over a fresh database of its own, driven in-process, with the database's URL for
/// the command-line functions the tests call. `None` when PostgreSQL is not there (`what` names the tests in the
/// message printed then).
pub struct InProcess {
    pub router: axum::Router,
    pub store: DynStore,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl InProcess {
    pub async fn new(backend: Backend, what: &str, vars: &[(&str, &str)]) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let (store, url) = match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
                (server::db::connect(&url, 5).await.unwrap(), url)
            }
            Backend::Postgres => match crate::support::postgres_store().await {
                Some(pair) => pair,
                None => {
                    eprintln!("TEST_POSTGRES_URL is not set: {what} on PostgreSQL not run (./test sets it)");
                    return None;
                }
            },
        };
        let state = crate::support::state_with(
            store.clone(),
            crate::support::test_config(vars),
            &dir.path().join("site"),
        );
        Some(Self {
            router: server::http::app(state),
            store,
            url,
            _dir: dir,
        })
    }

    pub async fn send(&self, req: axum::http::Request<axum::body::Body>) -> TestResponse {
        use tower::ServiceExt;
        crate::support::read(self.router.clone().oneshot(req).await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(crate::support::get(path)).await
    }

    /// The configuration a command-line function run against this database reads.
    pub fn config(&self) -> server::config::Config {
        crate::support::test_config(&[("DATABASE_URL", &self.url)])
    }
}

/// A second connection to a service's database, for a test to change it behind the service's back.
pub enum Sql {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Sql {
    pub async fn run(&self, statement: &str) {
        match self {
            Sql::Sqlite(pool) => sqlx::query(statement).execute(pool).await.map(drop),
            Sql::Postgres(pool) => sqlx::query(statement).execute(pool).await.map(drop),
        }
        .unwrap();
    }
}

/// The seeded service on `backend` with one member of staff (email, name, role), and a second connection to its
/// database. `None` when PostgreSQL is not there (`what` names the tests in the message printed then).
pub async fn seeded_with_sql(
    backend: Backend,
    what: &str,
    (email, name, role): (&str, &str, Role),
) -> Option<(Rp, Sql)> {
    let (store, dir, sql) = match backend {
        Backend::Sqlite => {
            let (store, dir) = crate::support::sqlite_store().await;
            let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
            let sql = Sql::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap());
            (store, dir, sql)
        }
        Backend::Postgres => {
            let Some((store, url)) = crate::support::postgres_store().await else {
                eprintln!(
                    "TEST_POSTGRES_URL is not set: {what} on PostgreSQL not run (./test sets it)"
                );
                return None;
            };
            let sql = Sql::Postgres(sqlx::PgPool::connect(&url).await.unwrap());
            (store, tempfile::tempdir().unwrap(), sql)
        }
    };
    server::seed::seed_store(&store, 0, onelogin_standin::SCANNED_RECORDS, 1)
        .await
        .unwrap();
    store
        .add_staff(email, name, role, chrono::Utc::now())
        .await
        .unwrap();
    let standin = onelogin_standin::spawn(crate::onelogin::standin_config(|_| {})).await;
    Some((Rp::against_store(standin, None, store, dir), sql))
}
