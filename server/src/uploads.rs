//! Where proof of identity files are kept, through the `object_store` crate: a local folder by default, S3 or Azure
//! Blob Storage by `UPLOADS_URL`. Files are written once under a random key and never served publicly; only the
//! support console reads them back. Housekeeping (issue 10 §4) deletes files nothing refers to any more, and the
//! proofs of decided tasks once the retention period (`PROOF_RETENTION_DAYS`) has passed.

use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutPayload};
use std::sync::Arc;

pub type Uploads = Arc<dyn ObjectStore>;

/// Opens the store named by `url`: a folder (created if missing), `file:///…`, `s3://bucket/prefix` or
/// `az://container/prefix`. Cloud credentials come from the `AWS_*` and `AZURE_*` environment variables.
pub fn open(url: &str) -> Result<Uploads, String> {
    open_with(url, std::env::vars())
}

/// [`open`] with the variables given instead of the process's environment (only `AWS_*` and `AZURE_*` are read,
/// as `object_store` options: `AWS_ENDPOINT` is `aws_endpoint`). The tests point stores at local S3 and Azure
/// servers with it without changing the environment other tests run in.
pub fn open_with(
    url: &str,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Uploads, String> {
    let folder = match url.strip_prefix("file://") {
        Some(path) => Some(path.to_string()),
        None if !url.contains("://") => Some(url.to_string()),
        None => None,
    };
    if let Some(folder) = folder {
        std::fs::create_dir_all(&folder).map_err(|e| format!("cannot create {folder}: {e}"))?;
        let store = LocalFileSystem::new_with_prefix(&folder).map_err(|e| e.to_string())?;
        return Ok(Arc::new(store));
    }
    let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    let options = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with("AWS_") || k.starts_with("AZURE_"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v));
    let (store, mut prefix) =
        object_store::parse_url_opts(&parsed, options).map_err(|e| e.to_string())?;
    if parsed.scheme() == "az" {
        // object_store 0.12 takes an az:// URL's container from the host but leaves the first folder of the
        // path out of the prefix (as if the path began with the container), so `az://c/teacher-id/uploads` wrote
        // under `uploads/`. The whole path is the prefix, as for s3:// (found against Azurite, issue 14 §4).
        prefix = StorePath::parse(parsed.path()).map_err(|e| e.to_string())?;
    }
    Ok(Arc::new(PrefixStore::new(store, prefix)))
}

/// Writes `bytes` under a new random key with `extension`; returns the key.
pub async fn put(
    uploads: &Uploads,
    extension: &str,
    bytes: Vec<u8>,
) -> Result<String, object_store::Error> {
    let key = format!("proofs/{}.{extension}", uuid::Uuid::new_v4());
    uploads
        .put(&StorePath::from(key.as_str()), PutPayload::from(bytes))
        .await?;
    Ok(key)
}

/// Reads the file under `key`.
pub async fn get(uploads: &Uploads, key: &str) -> Result<bytes::Bytes, object_store::Error> {
    uploads.get(&StorePath::from(key)).await?.bytes().await
}

/// Deletes the file under `key`. A file that is already gone counts as deleted.
pub async fn delete(uploads: &Uploads, key: &str) -> Result<(), object_store::Error> {
    match uploads.delete(&StorePath::from(key)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// How old a file must be before the sweeper may call it an orphan. A request stores the file first and saves the
/// session that refers to it as it finishes, so a brand-new file may not be referred to yet.
pub const ORPHAN_GRACE: chrono::Duration = chrono::Duration::hours(1);

/// How often [`housekeeping`] runs.
pub const HOUSEKEEPING_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// What went wrong in housekeeping (it logs and tries again next time).
#[derive(Debug, thiserror::Error)]
pub enum HousekeepingError {
    #[error(transparent)]
    Store(#[from] crate::db::StoreError),
    #[error("uploads store: {0}")]
    Uploads(#[from] object_store::Error),
}

/// What a sweep found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    pub kept: usize,
    pub deleted: usize,
}

/// Deletes proof files that nothing refers to (issue 10 §4): no support task, and no live session's unsent
/// request, once they are older than [`ORPHAN_GRACE`]. They are left by sessions that ended mid-request, and by
/// requests that failed between storing a file and saving the session.
pub async fn sweep_orphans(
    store: &crate::db::DynStore,
    uploads: &Uploads,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Sweep, HousekeepingError> {
    use futures::TryStreamExt;
    let in_sessions = store.proofs_in_live_sessions(now).await?;
    let mut files = uploads.list(Some(&StorePath::from("proofs")));
    let mut sweep = Sweep::default();
    while let Some(file) = files.try_next().await? {
        let key = file.location.to_string();
        let referred_to = file.last_modified > now - ORPHAN_GRACE
            || in_sessions.contains(&key)
            || store.task_refers_to_proof(&key).await?;
        if referred_to {
            sweep.kept += 1;
        } else {
            delete(uploads, &key).await?;
            sweep.deleted += 1;
        }
    }
    Ok(sweep)
}

/// Deletes the proofs of tasks decided more than `retention_days` before `now` (issue 10 §4), recording each in
/// the task and the audit log. Returns how many.
pub async fn delete_expired_proofs(
    store: &crate::db::DynStore,
    uploads: &Uploads,
    retention_days: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, HousekeepingError> {
    const BATCH: i64 = 100;
    let before = now - chrono::Duration::days(retention_days.into());
    let mut deleted = 0;
    loop {
        let batch = store.proofs_decided_before(before, BATCH).await?;
        let mut progress = false;
        for kept in &batch {
            // The file first: if recording fails, the next run finds the task again and deleting twice is fine.
            delete(uploads, &kept.proof_key).await?;
            if store
                .record_proof_deleted(&kept.reference, &kept.proof_key, retention_days, now)
                .await?
            {
                deleted += 1;
                progress = true;
            }
        }
        if (batch.len() as i64) < BATCH || !progress {
            return Ok(deleted);
        }
    }
}

/// Runs the retention rule and the orphan sweep every [`HOUSEKEEPING_EVERY`], like the email outbox's worker.
pub async fn housekeeping(store: crate::db::DynStore, uploads: Uploads, retention_days: u32) {
    let mut every = tokio::time::interval(HOUSEKEEPING_EVERY);
    loop {
        every.tick().await;
        let now = chrono::Utc::now();
        match delete_expired_proofs(&store, &uploads, retention_days, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                proofs = n,
                retention_days,
                "deleted proofs of identity past retention"
            ),
            Err(e) => tracing::warn!(error = %e, "could not delete proofs past retention"),
        }
        match sweep_orphans(&store, &uploads, now).await {
            Ok(Sweep { deleted: 0, .. }) => {}
            Ok(sweep) => tracing::info!(
                deleted = sweep.deleted,
                kept = sweep.kept,
                "deleted orphaned proof files"
            ),
            Err(e) => tracing::warn!(error = %e, "could not sweep orphaned proof files"),
        }
    }
}
