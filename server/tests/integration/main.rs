//! All server integration tests, in one binary to keep link time down.
//!
//! The storage contract runs against SQLite and PostgreSQL (`TEST_POSTGRES_URL`, which `./test` sets). HTTP tests
//! drive the whole application in-process with `oneshot`. The uploads store's S3 and Azure back ends run against
//! moto and Azurite (`TEST_S3_ENDPOINT`, `TEST_AZURITE_ENDPOINT`, which `./test` also sets).

/// Runs each `$case(backend)` on SQLite and on PostgreSQL, as tests `$case::sqlite` and `$case::postgres`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                super::$case(server::db::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$case(server::db::Backend::Postgres).await;
            }
        }
    )*};
}

mod account_emails;
mod account_merge;
mod account_mobile_optional;
mod account_page;
mod account_record;
mod account_records;
mod account_sign_in;
mod accounts;
mod audit_batches;
mod bad_paths;
mod certificate;
mod console;
mod console_accounts;
mod contract;
mod fix_console;
mod fix_errors;
mod fix_flags;
mod fix_kept_pages;
mod fix_kept_task_pages;
mod fix_limits;
mod fix_live;
mod fix_matching;
mod fix_onelogin;
mod fix_seeding;
mod fix_sessions;
mod fix_small_pools;
mod fix_support_verified;
mod fix_third_question;
mod fix_view_audits;
mod http;
mod journey;
mod metrics;
mod object_stores;
mod onelogin;
mod provider;
mod provider_bad_input;
mod recovery;
mod services_console;
mod sms_outbox;
mod support;
mod task_services;
mod trn_token_redemption;
mod trn_tokens;
mod util;
