//! Where proof of identity files are kept, through the `object_store` crate: a local folder by default, S3 or Azure
//! Blob Storage by `UPLOADS_URL`. Files are written once under a random key and never served publicly; only the
//! support console reads them back.

use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutPayload};
use std::sync::Arc;

pub type Uploads = Arc<dyn ObjectStore>;

/// Opens the store named by `url`: a folder (created if missing), `file:///…`, `s3://bucket/prefix` or
/// `az://container/prefix`. Cloud credentials come from the `AWS_*` and `AZURE_*` environment variables.
pub fn open(url: &str) -> Result<Uploads, String> {
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
    let options = std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_") || k.starts_with("AZURE_"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v));
    let (store, prefix) =
        object_store::parse_url_opts(&parsed, options).map_err(|e| e.to_string())?;
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
