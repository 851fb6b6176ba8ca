//! Issue 14 §4: the uploads store's S3 and Azure Blob Storage back ends against real servers of each kind, moto
//! (S3) and Azurite (Azure Blob), which `./test` starts (scripts/lib/objectstores.sh) and names in
//! `TEST_S3_ENDPOINT` and `TEST_AZURITE_ENDPOINT`. Each store is opened from an `s3://` or `az://` `UPLOADS_URL`
//! with the `AWS_*` or `AZURE_*` variables an operator would set (docs/operations.md), through the service's own
//! code. Without a server these tests say so and pass, except under CI, where they fail: `./test` always starts both.

use crate::console::{as_staff, console, VIEWER};
use crate::onelogin::Rp;
use crate::util::assert_redirect;
use axum::body::Body;
use axum::http::{header, Request};
use futures::TryStreamExt;
use http_body_util::BodyExt;
use object_store::ObjectStore;
use onelogin_standin::Outcome;
use server::db::Backend;
use server::uploads::{self, Uploads};
use std::sync::atomic::{AtomicU32, Ordering};
use tower::ServiceExt;

/// Runs each `$case(cloud)` against S3 and Azure Blob Storage, as tests `$case::s3` and `$case::azure`.
macro_rules! on_both_clouds {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn s3() {
                super::$case(super::Cloud::S3).await;
            }

            #[tokio::test]
            async fn azure() {
                super::$case(super::Cloud::Azure).await;
            }
        }
    )*};
}

/// Runs each `$case(cloud, backend)` on both clouds and both database backends.
macro_rules! on_both_clouds_and_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            use server::db::Backend;

            #[tokio::test]
            async fn s3_sqlite() {
                super::$case(super::Cloud::S3, Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn s3_postgres() {
                super::$case(super::Cloud::S3, Backend::Postgres).await;
            }

            #[tokio::test]
            async fn azure_sqlite() {
                super::$case(super::Cloud::Azure, Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn azure_postgres() {
                super::$case(super::Cloud::Azure, Backend::Postgres).await;
            }
        }
    )*};
}

on_both_clouds!(a_proof_is_stored_read_back_listed_and_deleted_under_the_urls_prefix);
on_both_clouds_and_backends!(
    a_proof_sent_through_the_form_is_stored_shown_to_staff_swept_and_deleted_after_retention
);

/// Azurite's account and key: the well-known pair of the Azure storage emulators, published by Microsoft, which
/// opens nothing but a local emulator.
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

#[derive(Clone, Copy, Debug)]
pub enum Cloud {
    S3,
    Azure,
}

impl Cloud {
    fn endpoint_variable(self) -> &'static str {
        match self {
            Cloud::S3 => "TEST_S3_ENDPOINT",
            Cloud::Azure => "TEST_AZURITE_ENDPOINT",
        }
    }

    /// The test server's address (`http://127.0.0.1:PORT`). When it is not set the test cannot run: it says so,
    /// and under CI it fails, so that a broken set-up cannot pass for a tested one.
    fn endpoint(self, what: &str) -> Option<String> {
        let variable = self.endpoint_variable();
        if let Some(endpoint) = std::env::var(variable).ok().filter(|v| !v.is_empty()) {
            return Some(endpoint.trim_end_matches('/').to_string());
        }
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(
            !ci,
            "{variable} is not set under CI: {what} must run against {self:?} (./test starts the servers with \
             scripts/lib/objectstores.sh)"
        );
        eprintln!(
            "NOT RUN: {variable} is not set, so {what} was not tested against {self:?}; ./test starts moto and \
             Azurite and sets it"
        );
        None
    }

    /// The variables an operator sets for this cloud (docs/operations.md), pointing at the test server. The
    /// credentials are always given: without them `object_store` would ask the instance metadata service.
    fn variables(self, endpoint: &str) -> Vec<(String, String)> {
        let pairs: Vec<(&str, String)> = match self {
            // moto accepts any key.
            Cloud::S3 => vec![
                ("AWS_ENDPOINT", endpoint.into()),
                ("AWS_ALLOW_HTTP", "true".into()),
                ("AWS_REGION", "eu-west-2".into()),
                ("AWS_ACCESS_KEY_ID", "teacher-id-test".into()),
                ("AWS_SECRET_ACCESS_KEY", "teacher-id-test".into()),
            ],
            // Azurite serves its account under a path, as a real account is served under its own host name.
            Cloud::Azure => vec![
                ("AZURE_STORAGE_ACCOUNT_NAME", AZURITE_ACCOUNT.into()),
                ("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY.into()),
                (
                    "AZURE_STORAGE_ENDPOINT",
                    format!("{endpoint}/{AZURITE_ACCOUNT}"),
                ),
                ("AZURE_ALLOW_HTTP", "true".into()),
            ],
        };
        pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
    }

    fn scheme(self) -> &'static str {
        match self {
            Cloud::S3 => "s3",
            Cloud::Azure => "az",
        }
    }

    /// Creates a bucket or container of its own for one test, as an operator would before starting the service
    /// (the service never creates one: it may write files, not make buckets); its name.
    async fn new_bucket(self, endpoint: &str) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tid-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let http = reqwest::Client::new();
        let response = match self {
            // moto does not check signatures.
            Cloud::S3 => http.put(format!("{endpoint}/{name}")).send().await,
            Cloud::Azure => {
                azurite_signed(&http, &format!("{endpoint}/{AZURITE_ACCOUNT}/{name}"))
                    .send()
                    .await
            }
        }
        .unwrap_or_else(|e| panic!("{self:?} test server at {endpoint} answers: {e}"));
        assert!(
            response.status().is_success(),
            "creating {self:?} bucket {name}: {} {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
        name
    }

    /// The store at `s3://bucket/prefix` or `az://container/prefix`, opened as the service opens `UPLOADS_URL`.
    fn open(self, endpoint: &str, url: &str) -> Uploads {
        uploads::open_with(url, self.variables(endpoint))
            .unwrap_or_else(|e| panic!("{url} opens: {e}"))
    }
}

/// A "Create Container" request to Azurite, signed with its well-known key (Shared Key authorisation).
fn azurite_signed(http: &reqwest::Client, container_url: &str) -> reqwest::RequestBuilder {
    use base64::Engine;
    use hmac::Mac;
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let version = "2021-08-06";
    let path = url::Url::parse(container_url).unwrap().path().to_string();
    // Verb, eleven empty standard headers (Content-Length is empty when 0), then ours and the resource.
    let to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{AZURITE_ACCOUNT}{path}\nrestype:container"
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(AZURITE_KEY)
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    http.put(format!("{container_url}?restype=container"))
        .header("x-ms-date", date)
        .header("x-ms-version", version)
        .header(
            header::AUTHORIZATION,
            format!("SharedKey {AZURITE_ACCOUNT}:{signature}"),
        )
        .header(header::CONTENT_LENGTH, "0")
}

/// A PNG-signed file of `len` bytes whose content varies (so a truncated or shifted copy cannot compare equal).
fn proof_file(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while bytes.len() < len {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

async fn keys_in(uploads: &Uploads, prefix: Option<&str>) -> Vec<String> {
    let prefix = prefix.map(object_store::path::Path::from);
    let mut keys: Vec<String> = uploads
        .list(prefix.as_ref())
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    keys
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, object_store::Error>, what: &str) {
    match result {
        Err(object_store::Error::NotFound { .. }) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

/// Put, get byte for byte, list, delete, and a missing key, through the functions the service uses, with the
/// prefix of the URL applied on the server.
async fn a_proof_is_stored_read_back_listed_and_deleted_under_the_urls_prefix(cloud: Cloud) {
    let what = "storing, reading, listing and deleting proofs";
    let Some(endpoint) = cloud.endpoint(what) else {
        return;
    };
    let bucket = cloud.new_bucket(&endpoint).await;
    let url = format!("{}://{bucket}/teacher-id/uploads", cloud.scheme());
    // The URL as configuration takes it.
    let config = crate::support::test_config(&[("UPLOADS_URL", &url)]);
    assert_eq!(config.uploads_url, url);
    let store = cloud.open(&endpoint, &config.uploads_url);

    // 3 MiB: more than one read from the network, compared byte for byte.
    let file = proof_file(3 * 1024 * 1024 + 7);
    let key = uploads::put(&store, "png", file.clone()).await.unwrap();
    assert!(key.starts_with("proofs/") && key.ends_with(".png"), "{key}");
    let read = uploads::get(&store, &key).await.unwrap();
    assert_eq!(read.len(), file.len());
    assert!(read == file, "the file comes back byte for byte");
    let small = uploads::put(&store, "pdf", b"%PDF-1.7 proof".to_vec())
        .await
        .unwrap();
    assert_eq!(
        uploads::get(&store, &small).await.unwrap().as_ref(),
        b"%PDF-1.7 proof"
    );

    // The prefix is applied on the server: the whole bucket holds the files under it, and a store over another
    // prefix of the same bucket sees none of them.
    let mut expected = vec![key.clone(), small.clone()];
    expected.sort();
    assert_eq!(keys_in(&store, Some("proofs")).await, expected);
    let whole_bucket = cloud.open(&endpoint, &format!("{}://{bucket}", cloud.scheme()));
    let under_prefix: Vec<String> = expected
        .iter()
        .map(|k| format!("teacher-id/uploads/{k}"))
        .collect();
    assert_eq!(keys_in(&whole_bucket, None).await, under_prefix);
    let elsewhere = cloud.open(
        &endpoint,
        &format!("{}://{bucket}/another/service", cloud.scheme()),
    );
    assert!(keys_in(&elsewhere, None).await.is_empty());
    assert_not_found(uploads::get(&elsewhere, &key).await, "another prefix's key");

    // A key that is not there is NotFound (the support console answers 404 for it), not some other error.
    assert_not_found(
        uploads::get(&store, "proofs/not-there.png").await,
        "a missing key",
    );
    // Deleting: gone afterwards, and deleting what is already gone is fine (housekeeping may race a replace).
    uploads::delete(&store, &key).await.unwrap();
    assert_not_found(uploads::get(&store, &key).await, "a deleted key");
    uploads::delete(&store, &key).await.unwrap();
    uploads::delete(&store, "proofs/never-there.png")
        .await
        .unwrap();
    assert_eq!(keys_in(&store, Some("proofs")).await, vec![small]);
}

/// Sends `path` with `rp`'s cookies and returns the status, content type and body as bytes (the proof is binary).
async fn get_bytes(rp: &Rp, path: &str) -> (u16, String, bytes::Bytes) {
    let cookies = rp.cookie_header();
    let req = Request::get(path)
        .header(header::COOKIE, cookies)
        .body(Body::empty())
        .unwrap();
    let res = rp.router.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, body)
}

/// The whole life of a proof with the service's `UPLOADS_URL` in the cloud: a teacher One Login could not verify
/// sends it through the support form (a 503 while the bucket is missing), staff view it (byte for byte), the sweeper removes an orphan beside it and
/// keeps it, the retention rule deletes it once the task is decided, and a file gone from the store behind the
/// service's back is a 404 rather than an error page.
async fn a_proof_sent_through_the_form_is_stored_shown_to_staff_swept_and_deleted_after_retention(
    cloud: Cloud,
    backend: Backend,
) {
    let what = "a proof sent through the support form";
    let Some(endpoint) = cloud.endpoint(what) else {
        return;
    };
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let bucket = cloud.new_bucket(&endpoint).await;
    let store = cloud.open(
        &endpoint,
        &format!("{}://{bucket}/teacher-id", cloud.scheme()),
    );

    // The teacher sends a 1 MiB PNG with the form.
    let back = rp
        .verify("cannot-verify", Outcome::IdentityNotVerified, vec![])
        .await;
    assert_redirect(&back, "/identity-not-verified");
    assert_eq!(rp.get("/identity-support").await.status, 200);
    let token = rp.cookies["tid_csrf"].clone();
    let file = proof_file(1024 * 1024);
    let fields = [
        ("csrf_token", token.as_str()),
        ("name", "Ann Lee"),
        ("dob-day", "14"),
        ("dob-month", "3"),
        ("dob-year", "1985"),
        ("nino", ""),
        ("trn", ""),
    ];
    // A bucket that does not exist (or cannot be written): the service answers 503 and stores nothing.
    rp.state.uploads = cloud.open(
        &endpoint,
        &format!("{}://{bucket}-missing/teacher-id", cloud.scheme()),
    );
    rp.new_instance();
    let refused = rp
        .post_multipart("/identity-support", &fields, Some(("passport.png", &file)))
        .await;
    assert_eq!(refused.status, 503);
    rp.state.uploads = store.clone();
    rp.new_instance();

    let answered = rp
        .post_multipart("/identity-support", &fields, Some(("passport.png", &file)))
        .await;
    assert!(
        answered.status < 500,
        "storing the file: {}",
        answered.status
    );
    assert_redirect(
        &rp.post("/identity-support/send", &[]).await,
        "/connect/support-requested",
    );
    let task = crate::util::open_task_of_signed_in_teacher(&mut rp).await;
    let reference = task.reference.clone();
    let key = crate::util::stored_task(&rp.state.store, &reference)
        .await
        .details
        .proof()
        .and_then(|p| p.key.clone())
        .expect("the task refers to its file");
    assert_eq!(keys_in(&store, Some("proofs")).await, vec![key.clone()]);

    // Staff see exactly what was sent.
    let task_path = app::domain::support::task_href(&reference);
    as_staff(&mut rp, VIEWER).await;
    let (status, content_type, body) = get_bytes(&rp, &format!("{task_path}/proof")).await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    assert!(body == file, "the proof is served byte for byte");

    // An orphan beside it (a request that failed after storing its file) is swept; the task's file is kept.
    let orphan = uploads::put(&store, "png", proof_file(64)).await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::minutes(90);
    let sweep = uploads::sweep_orphans(&rp.state.store, &store, later)
        .await
        .unwrap();
    assert_eq!((sweep.deleted, sweep.kept), (1, 1));
    let left = keys_in(&store, Some("proofs")).await;
    assert_eq!(left, vec![key.clone()], "{orphan} swept");

    // Decided, then past retention: the file is deleted from the store and the task says so.
    let now = chrono::Utc::now();
    let officer = rp
        .state
        .store
        .add_staff(
            "cloud-officer@example.com",
            "Officer",
            app::domain::support::Role::SupportOfficer,
            now,
        )
        .await
        .unwrap();
    crate::util::reject_as_proof_unclear(
        &rp.state.store,
        &reference,
        &officer,
        format!("cloud-{reference}"),
        now,
    )
    .await;
    let deleted = uploads::delete_expired_proofs(
        &rp.state.store,
        &store,
        90,
        now + chrono::Duration::days(91),
    )
    .await
    .unwrap();
    assert_eq!(deleted, 1);
    let after = crate::util::stored_task(&rp.state.store, &reference).await;
    assert!(after.details.proof().unwrap().key.is_none());
    assert!(keys_in(&store, Some("proofs")).await.is_empty());
    let (status, _, _) = get_bytes(&rp, &format!("{task_path}/proof")).await;
    assert_eq!(status, 404);

    // A task whose file has gone from the store behind the service's back: the console says not found (the
    // store's NotFound), and the task's page still opens.
    let other = crate::console::raise_identity_task(&rp, "cloud-proof").await;
    let other_path = app::domain::support::task_href(&other);
    let (status, content_type, _) = get_bytes(&rp, &format!("{other_path}/proof")).await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    let other_key = keys_in(&store, Some("proofs")).await;
    assert_eq!(other_key.len(), 1);
    store
        .delete(&object_store::path::Path::from(other_key[0].as_str()))
        .await
        .unwrap();
    let (status, _, _) = get_bytes(&rp, &format!("{other_path}/proof")).await;
    assert_eq!(status, 404);
    assert_eq!(rp.get(&other_path).await.status, 200);
}
