//! The service's paths, named once: the router, links, form actions and redirects on both sides (these pages and
//! the server's handlers) use these, so a path changes in one place.
//!
//! The Leptos router's `path!` needs literals, so `lib.rs` spells its routes out; a test checks that every page
//! path here is one of them.

/// Start page.
pub const START: &str = "/";
/// To GOV.UK One Login (a server route).
pub const SIGN_IN: &str = "/sign-in";
pub const SIGN_OUT: &str = "/sign-out";
pub const SIGN_OUT_CONFIRM: &str = "/sign-out/confirm";
/// Back from One Login's sign-out (a server route), which ends at the page below.
pub const SIGNED_OUT: &str = "/signed-out";
pub const SIGNED_OUT_DONE: &str = "/signed-out/done";
/// Where other services send a teacher to sign in (a server route, the OpenID provider's authorization endpoint).
pub const OAUTH_AUTHORIZE: &str = "/oauth2/authorize";
/// "Continue to <service>": back to the service that sent the teacher, with a code (a server route).
pub const OAUTH_CONTINUE: &str = "/oauth2/continue";
/// The provider's token and userinfo endpoints, which services' servers call (server routes).
pub const OAUTH_TOKEN: &str = "/oauth2/token";
pub const OAUTH_USERINFO: &str = "/oauth2/userinfo";
/// Where a service signs the teacher out (RP-initiated logout, a server route).
pub const OAUTH_LOGOUT: &str = "/oauth2/logout";
pub const ACCOUNT: &str = "/account";
/// The account page's changes for a DfE Identity account holder (issue 13 §4): a new email or mobile and the
/// passcode sent to it (each a page and its form's action; "Send a new code" is a server route), the name and the
/// date of birth.
pub const ACCOUNT_EMAIL: &str = "/account/email";
pub const ACCOUNT_EMAIL_CODE: &str = "/account/email/code";
pub const ACCOUNT_EMAIL_RESEND: &str = "/account/email/resend";
pub const ACCOUNT_MOBILE: &str = "/account/mobile";
pub const ACCOUNT_MOBILE_CODE: &str = "/account/mobile/code";
pub const ACCOUNT_MOBILE_RESEND: &str = "/account/mobile/resend";
pub const ACCOUNT_NAME: &str = "/account/name";
pub const ACCOUNT_DATE_OF_BIRTH: &str = "/account/date-of-birth";
/// The second One Login round trip, to prove identity (a server route).
pub const AUTH_IDENTITY: &str = "/auth/identity";
/// Where a signed-in teacher is sent on (a server route).
pub const CONTINUE: &str = "/continue";
pub const FEEDBACK: &str = "/feedback";
pub const FEEDBACK_SENT: &str = "/feedback/sent";

/// The connect journey's interruption page, its questions (each a page and the form's action) and what follows.
pub const CONNECT: &str = "/connect";
pub const CONNECT_NINO: &str = "/connect/nino";
pub const CONNECT_TRN: &str = "/connect/trn";
pub const CONNECT_ITT: &str = "/connect/itt";
pub const CONNECT_NOT_FOUND: &str = "/connect/not-found";
pub const CONNECT_CHECK_ANSWERS: &str = "/connect/check-answers";
/// Where "Get support" posts (a server route).
pub const CONNECT_SUPPORT: &str = "/connect/support";
pub const CONNECT_SUPPORT_REQUESTED: &str = "/connect/support-requested";
pub const CONNECT_TOO_MANY_ATTEMPTS: &str = "/connect/too-many-attempts";
pub const CONNECTED: &str = "/connected";
pub const RECORD: &str = "/record";
/// The record page's QTS certificate, a PDF (a server route).
pub const RECORD_QTS_CERTIFICATE: &str = "/record/qts-certificate.pdf";
pub const REQUEST_PENDING: &str = "/request-pending";

/// Signing in to or creating a DfE Identity account with an email and passcode (DESIGN §7.3), for services that
/// allow it: the choice beside GOV.UK One Login, then each page of the journey (each a page and its form's action).
pub const ACCOUNT_SIGN_IN: &str = "/account-sign-in";
pub const ACCOUNT_SIGN_IN_EMAIL: &str = "/account-sign-in/email";
pub const ACCOUNT_SIGN_IN_EMAIL_CODE: &str = "/account-sign-in/email/code";
/// "Send a new code" (server routes).
pub const ACCOUNT_SIGN_IN_EMAIL_RESEND: &str = "/account-sign-in/email/resend";
/// An email proven that has no account, when they chose to sign in.
pub const ACCOUNT_SIGN_IN_NO_ACCOUNT: &str = "/account-sign-in/no-account";
pub const ACCOUNT_SIGN_IN_MOBILE: &str = "/account-sign-in/mobile";
pub const ACCOUNT_SIGN_IN_MOBILE_CODE: &str = "/account-sign-in/mobile/code";
pub const ACCOUNT_SIGN_IN_MOBILE_RESEND: &str = "/account-sign-in/mobile/resend";
pub const ACCOUNT_SIGN_IN_NAME: &str = "/account-sign-in/name";
pub const ACCOUNT_SIGN_IN_DATE_OF_BIRTH: &str = "/account-sign-in/date-of-birth";
/// Seed 002 scenarios 1 and 2: the email or mobile they proved is an account's, which they are now signed in to.
pub const ACCOUNT_SIGN_IN_YOU_HAVE_AN_ACCOUNT: &str = "/account-sign-in/you-have-an-account";
/// Seed 002 scenario 3: an account with the same name and date of birth, its email partly hidden.
pub const ACCOUNT_SIGN_IN_IS_THIS_YOU: &str = "/account-sign-in/is-this-you";
/// The code sent to that account's email.
pub const ACCOUNT_SIGN_IN_EXISTING_CODE: &str = "/account-sign-in/is-this-you/code";
pub const ACCOUNT_SIGN_IN_EXISTING_RESEND: &str = "/account-sign-in/is-this-you/resend";
pub const ACCOUNT_SIGN_IN_CREATED: &str = "/account-sign-in/created";
/// Where an account holder without a teaching record goes from `/continue`: finding their record (issue 13 §3)
/// starts here ("We need to find your teaching record").
pub const ACCOUNT_FIND_RECORD: &str = "/account/find-your-record";
/// The questions (each a page and its form's action).
pub const ACCOUNT_FIND_RECORD_NINO: &str = "/account/find-your-record/nino";
pub const ACCOUNT_FIND_RECORD_TRN: &str = "/account/find-your-record/trn";
pub const ACCOUNT_FIND_RECORD_QTS: &str = "/account/find-your-record/qts";
/// Check answers; its form looks the record up.
pub const ACCOUNT_FIND_RECORD_CHECK: &str = "/account/find-your-record/check-answers";
pub const ACCOUNT_FIND_RECORD_TOO_MANY_ATTEMPTS: &str =
    "/account/find-your-record/too-many-attempts";
/// "We found your teaching record".
pub const ACCOUNT_RECORD_FOUND: &str = "/account/record-found";
/// Support said there is no teaching record for them.
pub const ACCOUNT_NO_RECORD: &str = "/account/no-record";
/// The record another person holds (issue 13 §3 and §6): a passcode to their email, then merge or support.
/// Reached with `SessionData::trn_in_use` set.
pub const ACCOUNT_TRN_IN_USE: &str = "/account/trn-in-use";
/// Where the page sends someone whose merge flow has not begun (a server route): it reads who holds the record.
pub const ACCOUNT_TRN_IN_USE_START: &str = "/account/trn-in-use/start";
/// The code sent to the holder's email (page and form), and "Send a new code" (a server route).
pub const ACCOUNT_TRN_IN_USE_CODE: &str = "/account/trn-in-use/code";
pub const ACCOUNT_TRN_IN_USE_RESEND: &str = "/account/trn-in-use/resend";
/// "Which email address do you want to keep?" (page and form), when both people have an account.
pub const ACCOUNT_TRN_IN_USE_CHOOSE_EMAIL: &str = "/account/trn-in-use/choose-email";

pub const IDENTITY_SUPPORT: &str = "/identity-support";
pub const IDENTITY_SUPPORT_CHECK: &str = "/identity-support/check";
/// Where "Send request" posts (a server route).
pub const IDENTITY_SUPPORT_SEND: &str = "/identity-support/send";
pub const IDENTITY_NOT_VERIFIED: &str = "/identity-not-verified";

/// The support console.
pub const SUPPORT: &str = "/support";
/// To the staff identity provider (a server route).
pub const SUPPORT_SIGN_IN: &str = "/support/sign-in";
pub const SUPPORT_SIGN_OUT: &str = "/support/sign-out";
pub const SUPPORT_STAFF: &str = "/support/staff";
pub const SUPPORT_AUDIT: &str = "/support/audit";
/// The services that use Teacher ID and their API clients (administrators only); one service's pages are below
/// it (`app::domain::services::service_href`).
pub const SUPPORT_SERVICES: &str = "/support/services";
/// The form for a new service, and where it posts.
pub const SUPPORT_SERVICES_NEW: &str = "/support/services/new";
/// API clients' pages are below this (`app::domain::services::api_client_href`).
pub const SUPPORT_API_CLIENTS: &str = "/support/api-clients";
/// The form for a new API client, and where it posts.
pub const SUPPORT_API_CLIENTS_NEW: &str = "/support/api-clients/new";
/// The development mailbox, which staff read beside the console.
pub const DEV_MAILBOX: &str = "/dev/mailbox";

/// Whether `path` is a page with islands: only these load the WASM that hydrates them. The console's task list is
/// the one (live updates, search as you type and filters without a page load); every other page, the console's
/// task pages, staff, audit and services pages included, is plain HTML and forms, with GOV.UK Frontend's script
/// and a few lines of ours, so teachers download none of the console's code and a task page carries no island
/// loader (2.5 KB of its 20, issue 16 §1).
pub fn has_islands(path: &str) -> bool {
    path == SUPPORT
}

/// The pages the Leptos router serves (the rest are the server's own routes).
#[cfg(test)]
const PAGES: [&str; 56] = [
    ACCOUNT_SIGN_IN,
    ACCOUNT_SIGN_IN_EMAIL,
    ACCOUNT_SIGN_IN_EMAIL_CODE,
    ACCOUNT_SIGN_IN_NO_ACCOUNT,
    ACCOUNT_SIGN_IN_MOBILE,
    ACCOUNT_SIGN_IN_MOBILE_CODE,
    ACCOUNT_SIGN_IN_NAME,
    ACCOUNT_SIGN_IN_DATE_OF_BIRTH,
    ACCOUNT_SIGN_IN_YOU_HAVE_AN_ACCOUNT,
    ACCOUNT_SIGN_IN_IS_THIS_YOU,
    ACCOUNT_SIGN_IN_EXISTING_CODE,
    ACCOUNT_SIGN_IN_CREATED,
    ACCOUNT_FIND_RECORD,
    ACCOUNT_TRN_IN_USE,
    ACCOUNT_TRN_IN_USE_CODE,
    ACCOUNT_TRN_IN_USE_CHOOSE_EMAIL,
    ACCOUNT_FIND_RECORD_NINO,
    ACCOUNT_FIND_RECORD_TRN,
    ACCOUNT_FIND_RECORD_QTS,
    ACCOUNT_FIND_RECORD_CHECK,
    ACCOUNT_FIND_RECORD_TOO_MANY_ATTEMPTS,
    ACCOUNT_RECORD_FOUND,
    ACCOUNT_NO_RECORD,
    SIGNED_OUT_DONE,
    START,
    SIGN_OUT_CONFIRM,
    ACCOUNT,
    ACCOUNT_EMAIL,
    ACCOUNT_EMAIL_CODE,
    ACCOUNT_MOBILE,
    ACCOUNT_MOBILE_CODE,
    ACCOUNT_NAME,
    ACCOUNT_DATE_OF_BIRTH,
    FEEDBACK,
    FEEDBACK_SENT,
    CONNECT,
    CONNECT_NINO,
    CONNECT_TRN,
    CONNECT_ITT,
    CONNECT_NOT_FOUND,
    CONNECT_CHECK_ANSWERS,
    CONNECT_SUPPORT_REQUESTED,
    CONNECT_TOO_MANY_ATTEMPTS,
    CONNECTED,
    RECORD,
    REQUEST_PENDING,
    IDENTITY_SUPPORT,
    IDENTITY_SUPPORT_CHECK,
    IDENTITY_NOT_VERIFIED,
    SUPPORT,
    SUPPORT_STAFF,
    SUPPORT_AUDIT,
    SUPPORT_SERVICES,
    SUPPORT_SERVICES_NEW,
    SUPPORT_API_CLIENTS_NEW,
    DEV_MAILBOX,
];

#[cfg(test)]
mod tests {
    use super::SUPPORT;

    #[test]
    fn every_page_path_is_a_route_of_the_router() {
        // Whitespace collapsed, so a <Route> that leptosfmt spreads over several lines still counts.
        let router = include_str!("lib.rs")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for path in super::PAGES {
            assert!(
                router.contains(&format!("<Route path=path!(\"{path}\")")),
                "{path} is not routed in lib.rs"
            );
        }
    }

    #[test]
    fn only_the_task_list_loads_islands() {
        assert!(super::has_islands(SUPPORT));
        // Every other page, the console's own included, and look-alikes of the task list's path.
        for path in super::PAGES.iter().filter(|p| **p != SUPPORT).chain(&[
            "/support/",
            "/support/tasks/TRS-1",
            "/supporter",
            "/problem/404",
        ]) {
            assert!(!super::has_islands(path), "{path}");
        }
    }
}
