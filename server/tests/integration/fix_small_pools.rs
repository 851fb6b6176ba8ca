//! A pool as small as the configuration allows (`DATABASE_MAX_CONNECTIONS` from 1) still serves every query. Some
//! connections are held out of the pool for half an hour at a time (the lookups' and the token endpoint's writer,
//! `server/src/db/held.rs`); held from a pool of one or two, they left every other query waiting for the pool's
//! acquire timeout and then failing.

use chrono::{Duration, Utc};
use server::db::provider::{CodeRefusal, Redeemed, Redemption};
use server::db::{Backend, DynStore};
use std::time::Instant;

on_both_backends!(
    a_pool_of_one_or_two_serves_every_query_after_a_token_request_and_a_session_lookup
);

/// A migrated store on `backend` whose pool has `max` connections, with what keeps its database alive.
async fn store_with_pool(
    backend: Backend,
    max: u32,
) -> Option<(DynStore, Option<tempfile::TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("small.sqlite").display());
            let store = server::db::connect(&url, max).await.expect("sqlite opens");
            Some((store, Some(dir)))
        }
        Backend::Postgres => {
            let url = crate::support::fresh_postgres_database().await?;
            let store = server::db::connect(&url, max)
                .await
                .expect("postgres opens");
            Some((store, None))
        }
    }
}

/// A code nobody issued: redeeming it runs a whole batch on the token writer's connection, and is refused.
fn unknown_code(n: u32) -> Redemption {
    let now = Utc::now();
    Redemption {
        code_sha256: format!("{n:064}"),
        client_id: "small".into(),
        redirect_uri: "https://small.example/callback".into(),
        code_verifier: "v".repeat(43),
        now,
        token_sha256: format!("{:064}", n + 100),
        token_expires_at: now + Duration::hours(1),
        alg: app::domain::provider::IdTokenAlg::Es256,
    }
}

async fn a_pool_of_one_or_two_serves_every_query_after_a_token_request_and_a_session_lookup(
    backend: Backend,
) {
    for max in [1, 2] {
        let Some((store, _database)) = store_with_pool(backend, max).await else {
            eprintln!(
                "TEST_POSTGRES_URL is not set: small pools on PostgreSQL not run (./test sets it)"
            );
            return;
        };
        for n in 0..2 {
            // The two kinds of request that hold connections out of the pool.
            let now = Utc::now();
            assert!(store
                .load_live_session("nobody", now)
                .await
                .unwrap()
                .is_none());
            assert_eq!(
                store
                    .redeem_authorization_code(unknown_code(n))
                    .await
                    .unwrap(),
                Redeemed::Refused(CodeRefusal::Unknown),
            );
            // Everything else takes a connection from the pool: at once, not after its 3 s acquire timeout.
            let started = Instant::now();
            for _ in 0..3 {
                assert_eq!(
                    store
                        .count_records()
                        .await
                        .expect("a pool connection is free"),
                    0
                );
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "pool of {max}: waited {:?} for a connection",
                started.elapsed()
            );
        }
    }
}
