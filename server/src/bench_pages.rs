//! What `scripts/bench` needs to load pages as a signed-in teacher or member of staff, and its bare Leptos
//! reference page.
//!
//! - `server bench-sessions` makes, in the configured database, a teacher connected to a record, a teacher
//!   answering the connect questions, and an administrator with a record-matching task to look at, each with a
//!   live session row, and prints one line per page kind: `KIND PATH COOKIE-HEADER`. The sessions are stored as
//!   sign-in stores them (the SHA-256 of a random token), so the pages cannot tell them from real ones.
//! - `server bench-leptos ADDR` serves a bare Leptos 0.8 SSR page (router, shell, hydration scripts, a GOV.UK-like
//!   body; no middleware, no data) with the same listener settings as `bench-baseline`: the ceiling for a page
//!   rendered per request.

use crate::config::Config;
use crate::db::connect::NewSupportTask;
use crate::db::{self, DynStore};
use crate::http::cookies::{new_token, CSRF_COOKIE, SESSION_COOKIE, STAFF_SESSION_COOKIE};
use crate::http::session::session_key;
use crate::ServerError;
use app::domain::identity::VerifiedEmail;
use app::domain::matching::MatchedVia;
use app::domain::support::Role;
use app::domain::synthetic;
use app::domain::task_details::{RecordMatchingDetails, TaskDetails};
use app::ssr::{IdentityStatus, SessionData, SignedInStaff, SignedInUser};
use chrono::Utc;

/// Records seeded first if the database has fewer (the pages read one record; the task page's suggestions search
/// them).
const MIN_RECORDS: u64 = 1_000;
const SEED: u64 = 1;

/// `server bench-sessions`: see the module documentation.
pub async fn bench_sessions(config: &Config) -> Result<(), ServerError> {
    let store = db::connect(&config.database_url, config.database_max_connections).await?;
    let records = store.count_records().await? as u64;
    if records < MIN_RECORDS {
        crate::seed::seed_store(&store, records, MIN_RECORDS - records, SEED).await?;
    }
    let records = records.max(MIN_RECORDS);
    // Each run makes new people (subjects carry the time), so runs against the same database never collide.
    let run = Utc::now().timestamp_micros();
    let csrf = new_token();
    let people = (0..)
        .map(|n| synthetic::sign_in(n, SEED, records))
        .filter(|s| s.has_active_record() && s.own_records.len() == 1);
    let mut people = people.take(3);
    let mut next = || {
        people
            .next()
            .ok_or_else(|| bench_error("no simulated sign-ins"))
    };

    let connected = next()?;
    let user = teacher(&store, &format!("bench-connected-{run}"), &connected).await?;
    let trn = &connected.own_records[0].0;
    let email = connected.email.as_str();
    store
        .connect_user(user.user_id, trn, MatchedVia::Trn, email, Utc::now())
        .await?;
    let cookie = session(&store, config, SESSION_COOKIE, &teacher_data(user)).await?;
    println!(
        "record {} {cookie}; {CSRF_COOKIE}={csrf}",
        app::routes::RECORD
    );

    let answering = next()?;
    let user = teacher(&store, &format!("bench-answering-{run}"), &answering).await?;
    let cookie = session(&store, config, SESSION_COOKIE, &teacher_data(user)).await?;
    println!(
        "nino {} {cookie}; {CSRF_COOKIE}={csrf}",
        app::routes::CONNECT_NINO
    );

    let asking = next()?;
    let user = teacher(&store, &format!("bench-asking-{run}"), &asking).await?;
    let task = store
        .raise_support_task(
            &NewSupportTask {
                user_id: user.user_id,
                details: TaskDetails::RecordMatching(RecordMatchingDetails {
                    verified: asking.identity.clone(),
                    one_login_email: VerifiedEmail::verified_before(&asking.email),
                    nino: None,
                    trn: None,
                    flags: Default::default(),
                    itt: None,
                }),
                client_id: None,
            },
            Utc::now(),
        )
        .await?;
    let staff = store
        .add_staff(
            &format!("bench-{run}@example.com"),
            "Bench Administrator",
            Role::Administrator,
            Utc::now(),
        )
        .await?;
    let staff_data = SessionData {
        staff: Some(SignedInStaff {
            staff_id: staff.id,
            name: staff.name,
        }),
        ..SessionData::default()
    };
    let cookie = session(&store, config, STAFF_SESSION_COOKIE, &staff_data).await?;
    println!(
        "task {} {cookie}; {CSRF_COOKIE}={csrf}",
        app::domain::support::task_href(&task.reference)
    );
    Ok(())
}

fn bench_error(what: &str) -> ServerError {
    ServerError::Bench(what.to_string())
}

/// A teacher One Login has verified as `who`.
pub(crate) async fn teacher(
    store: &DynStore,
    subject: &str,
    who: &synthetic::SimulatedSignIn,
) -> Result<SignedInUser, ServerError> {
    let email = VerifiedEmail::verified_before(&who.email);
    let user = store
        .sign_in_user(subject, email.as_ref(), Utc::now())
        .await?;
    store
        .record_verified_identity(user.id, &who.identity, Utc::now())
        .await?;
    Ok(SignedInUser {
        user_id: user.id,
        way_in: app::ssr::WayIn::OneLogin {
            subject: subject.to_string(),
            id_token: "bench".into(),
        },
        email,
        identity: IdentityStatus::Verified(who.identity.clone()),
    })
}

fn teacher_data(user: SignedInUser) -> SessionData {
    SessionData {
        user: Some(user),
        ..SessionData::default()
    }
}

/// Stores a live session holding `data` and returns its cookie (`name=token`).
async fn session(
    store: &DynStore,
    config: &Config,
    name: &str,
    data: &SessionData,
) -> Result<String, ServerError> {
    let token = new_token();
    let json = serde_json::to_string(data).expect("session data serialises");
    let subject = data.user.as_ref().and_then(|u| u.one_login_subject());
    let user_id = data.user.as_ref().map(|u| u.user_id);
    let now = Utc::now();
    store
        .insert_session(
            &session_key(&token),
            &json,
            subject,
            user_id,
            now,
            now + config.sessions.idle,
        )
        .await?;
    Ok(format!("{name}={token}"))
}

/// `server bench-leptos ADDR`: see the module documentation.
pub async fn bench_leptos(addr: std::net::SocketAddr) -> Result<(), ServerError> {
    use leptos::prelude::LeptosOptions;
    use leptos_axum::{generate_route_list, LeptosRoutes};
    let options = LeptosOptions::builder()
        .output_name("bench")
        .site_root("target/site")
        .build();
    let routes = generate_route_list(bare::BareApp);
    let app = axum::Router::new()
        .leptos_routes(&options, routes, {
            let options = options.clone();
            move || bare::shell(options.clone())
        })
        .with_state(options);
    crate::cli::serve_reference(addr, app).await
}

mod bare {
    use leptos::prelude::*;
    use leptos_router::components::{Route, Router, Routes};
    use leptos_router::path;

    pub fn shell(options: LeptosOptions) -> impl IntoView {
        view! {
            <!DOCTYPE html>
            <html lang="en" class="govuk-template">
                <head>
                    <meta charset="utf-8" />
                    <meta name="viewport" content="width=device-width, initial-scale=1" />
                    <title>"Bare Leptos page"</title>
                    <link rel="stylesheet" href="/assets/main.css" />
                    <HydrationScripts options />
                </head>
                <body class="govuk-template__body">
                    <BareApp />
                </body>
            </html>
        }
    }

    #[component]
    pub fn BareApp() -> impl IntoView {
        view! {
            <Router>
                <Routes fallback=|| "Page not found">
                    <Route path=path!("/") view=Page />
                </Routes>
            </Router>
        }
    }

    /// About the start page's structure: header, phase banner, a heading, paragraphs, a list, a button, footer.
    #[component]
    fn Page() -> impl IntoView {
        let items = [
            "your teacher reference number",
            "your qualifications",
            "your induction",
        ];
        view! {
            <header class="govuk-template__header">
                <div class="govuk-header">
                    <div class="govuk-header__container govuk-width-container">
                        <a href="https://www.gov.uk/" class="govuk-header__homepage-link">
                            "GOV.UK"
                        </a>
                    </div>
                </div>
            </header>
            <div class="govuk-width-container">
                <div class="govuk-phase-banner">
                    <p class="govuk-phase-banner__content">
                        <strong class="govuk-tag">"Beta"</strong>
                        <span class="govuk-phase-banner__text">"This is a new service."</span>
                    </p>
                </div>
                <main class="govuk-main-wrapper" id="main-content">
                    <h1 class="govuk-heading-xl">"Access your teaching qualifications"</h1>
                    <p class="govuk-body">"Use this service to see your teaching record."</p>
                    <ul class="govuk-list govuk-list--bullet">
                        {items.map(|item| view! { <li>{item}</li> }).collect_view()}
                    </ul>
                    <a href="/sign-in" role="button" class="govuk-button govuk-button--start">
                        "Start now"
                    </a>
                </main>
            </div>
            <footer class="govuk-footer">
                <div class="govuk-width-container">
                    <a class="govuk-footer__link" href="/accessibility">
                        "Accessibility statement"
                    </a>
                </div>
            </footer>
        }
    }
}
