#![recursion_limit = "256"]
//! Teacher ID's pages, components and shared types. Compiled twice: for the server (`ssr`) and for the browser
//! (`hydrate`). Domain rules live in [`domain`] and know nothing of either.

pub mod components;
pub mod domain;
pub mod forms;
pub mod pages;
pub mod routes;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod ssr;

use components::layout::Layout;
use leptos::prelude::*;
use leptos_meta::provide_meta_context;
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The service's name as it appears in the header and page titles.
pub const SERVICE_NAME: &str = "Teacher ID";

/// The document around every page. Rendered only on the server: the browser hydrates only islands, and only the
/// console's task list has any ([`routes::has_islands`]); the others get a few lines of script instead of WASM.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos::nonce::use_nonce;
    use leptos_meta::MetaTags;
    let assets = use_context::<ssr::AssetUrls>().unwrap_or_default();
    let islands = use_context::<http::request::Parts>()
        .is_some_and(|parts| routes::has_islands(parts.uri.path()));
    let scripts = if islands {
        view! { <HydrationScripts options islands=true /> }.into_any()
    } else {
        // What `HydrationScripts` does in islands mode: outside islands nothing is hydrated, so nothing is written
        // into the page for hydration (resources, markers).
        if let Some(context) = Owner::current_shared_context() {
            context.set_is_hydrating(false);
        }
        view! { <script type="module" src=assets.script nonce=use_nonce()></script> }.into_any()
    };
    view! {
        <!DOCTYPE html>
        <html lang="en" class="govuk-template">
            <head>
                <meta charset="utf-8" />
                <meta
                    name="viewport"
                    content="width=device-width, initial-scale=1, viewport-fit=cover"
                />
                <meta name="theme-color" content="#1d70b8" />
                <link rel="icon" sizes="48x48" href="/assets/images/favicon.ico" />
                <link
                    rel="icon"
                    sizes="any"
                    href="/assets/images/favicon.svg"
                    type="image/svg+xml"
                />
                <link rel="mask-icon" href="/assets/images/govuk-icon-mask.svg" color="#1d70b8" />
                <link rel="apple-touch-icon" href="/assets/images/govuk-icon-180.png" />
                <link rel="stylesheet" href=assets.css />
                {scripts}
                <MetaTags />
            </head>
            <body class="govuk-template__body">
                <App />
                // After <App/>, whose islands are hydrated where the server rendered them.
                <script nonce=use_nonce()>
                    "document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');"
                </script>
            </body>
        </html>
    }
}

/// The router: every page of the service.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <Layout>
                <Routes fallback=pages::problem::NotFoundPage>
                    <Route path=path!("/") view=pages::start::StartPage />
                    <Route path=path!("/accessibility") view=pages::info::AccessibilityPage />
                    <Route path=path!("/cookies") view=pages::info::CookiesPage />
                    <Route path=path!("/privacy") view=pages::info::PrivacyPage />
                    <Route
                        path=path!("/feedback")
                        view=pages::feedback::FeedbackPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/feedback/sent") view=pages::feedback::FeedbackSentPage />
                    <Route path=path!("/problem/:status") view=pages::problem::ProblemPage />
                    <Route
                        path=path!("/account")
                        view=pages::account::AccountPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/email")
                        view=pages::account::ChangeEmailPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/email/code")
                        view=pages::account::ChangeEmailCodePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/mobile")
                        view=pages::account::ChangeMobilePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/mobile/code")
                        view=pages::account::ChangeMobileCodePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/name")
                        view=pages::account::ChangeNamePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/date-of-birth")
                        view=pages::account::ChangeDateOfBirthPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in")
                        view=pages::account_sign_in::LandingPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/email")
                        view=pages::account_sign_in::EmailPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/email/code")
                        view=pages::account_sign_in::EmailCodePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/no-account")
                        view=pages::account_sign_in::NoAccountPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/mobile")
                        view=pages::account_sign_in::MobilePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/mobile/code")
                        view=pages::account_sign_in::MobileCodePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/name")
                        view=pages::account_sign_in::NamePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/date-of-birth")
                        view=pages::account_sign_in::DateOfBirthPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/you-have-an-account")
                        view=pages::account_sign_in::YouHaveAnAccountPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/is-this-you")
                        view=pages::account_sign_in::IsThisYouPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/is-this-you/code")
                        view=pages::account_sign_in::ExistingCodePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account-sign-in/created")
                        view=pages::account_sign_in::CreatedPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/find-your-record")
                        view=pages::account_record::FindRecordPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/find-your-record/nino")
                        view=pages::account_record::FindRecordNinoPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/find-your-record/trn")
                        view=pages::account_record::FindRecordTrnPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/find-your-record/qts")
                        view=pages::account_record::FindRecordQtsPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/find-your-record/check-answers")
                        view=pages::account_record::FindRecordCheckPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/find-your-record/too-many-attempts")
                        view=pages::account_record::FindRecordTooManyAttemptsPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/record-found")
                        view=pages::account_record::RecordFoundPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/no-record")
                        view=pages::account_record::NoRecordPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/trn-in-use")
                        view=pages::account_merge::TrnInUsePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/trn-in-use/code")
                        view=pages::account_merge::TrnInUseCodePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/account/trn-in-use/choose-email")
                        view=pages::account_merge::ChooseEmailPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/connect")
                        view=pages::connect::NeedMoreInformationPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/connect/nino")
                        view=pages::connect::NinoPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/connect/trn")
                        view=pages::connect::TrnPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/connect/itt")
                        view=pages::connect::IttPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/connect/not-found")
                        view=pages::connect::NotFoundPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/connect/check-answers")
                        view=pages::connect::CheckAnswersPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/connect/support-requested")
                        view=pages::connect::SupportRequestedPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/connect/too-many-attempts")
                        view=pages::connect::TooManyAttemptsPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/connected")
                        view=pages::connect::ConnectedPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/record")
                        view=pages::connect::RecordPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/request-pending")
                        view=pages::connect::AwaitingSupportPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/identity-support")
                        view=pages::identity_support::IdentitySupportPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/identity-support/check")
                        view=pages::identity_support::IdentitySupportCheckPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/identity-not-verified")
                        view=pages::account::IdentityNotVerifiedPage
                    />
                    <Route
                        path=path!("/sign-in/problem/:reason")
                        view=pages::sign_in::SignInProblemPage
                    />
                    <Route path=path!("/signed-out/done") view=pages::sign_in::SignedOutPage />
                    <Route
                        path=path!("/sign-out/confirm")
                        view=pages::sign_in::SignOutConfirmPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support")
                        view=pages::support::DashboardPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/tasks/:reference")
                        view=pages::support::TaskPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/tasks/:reference/check")
                        view=pages::support::CheckDecisionPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/staff")
                        view=pages::support::StaffPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/audit")
                        view=pages::support::AuditPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/services")
                        view=pages::support::ServicesPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/services/new")
                        view=pages::support::AddServicePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/services/:client_id/edit")
                        view=pages::support::ServicePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/services/:client_id/secret")
                        view=pages::support::ServiceSecretPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/api-clients/new")
                        view=pages::support::AddApiClientPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/api-clients/:id/key")
                        view=pages::support::ApiClientKeyPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/support/signed-out")
                        view=pages::support::StaffSignedOutPage
                    />
                    <Route
                        path=path!("/support/sign-in/problem")
                        view=pages::support::StaffSignInProblemPage
                    />
                    <Route
                        path=path!("/dev/mailbox")
                        view=pages::support::MailboxPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </Layout>
        </Router>
    }
}
