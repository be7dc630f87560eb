//! Blobs (photos) in an object store: a local directory in embedded mode, an S3-compatible
//! bucket in production, through the `object_store` crate so the code is the same for both.

use std::path::Path;
use std::sync::Arc;

use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Why an object store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum ObjectsError {
    #[error("object store URL {url:?}: {message}")]
    Config { url: String, message: String },
    #[error(transparent)]
    Store(#[from] object_store::Error),
}

/// A service's object store.
#[derive(Clone, Debug)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    location: String,
}

impl Objects {
    /// Opens the store at `url`:
    /// - empty: the directory `default_dir` (created);
    /// - `file:///some/dir` or a plain path: that directory (created);
    /// - (with the `s3` feature) `s3://bucket?endpoint=http://host:9000&region=eu-1&allow_http=true`: an S3-compatible
    ///   bucket; credentials come from the usual `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`
    ///   environment variables;
    /// - `memory://`: in memory (tests).
    pub fn open(url: &str, default_dir: &Path) -> Result<Objects, ObjectsError> {
        let config = |message: String| ObjectsError::Config {
            url: url.to_owned(),
            message,
        };
        if url == "memory://" {
            return Ok(Objects {
                store: Arc::new(object_store::memory::InMemory::new()),
                location: url.to_owned(),
            });
        }
        #[cfg(not(feature = "s3"))]
        if url.starts_with("s3://") {
            return Err(config(
                "this build has no S3 support: build `mcf` with its default features (the `s3` feature)".into(),
            ));
        }
        #[cfg(feature = "s3")]
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, query) = rest.split_once('?').unwrap_or((rest, ""));
            let mut builder = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket.trim_end_matches('/'));
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                builder = match k {
                    "endpoint" => builder.with_endpoint(v),
                    "region" => builder.with_region(v),
                    "allow_http" => builder.with_allow_http(v == "true"),
                    other => return Err(config(format!("unknown option {other:?}"))),
                };
            }
            let store = builder.build().map_err(|e| config(e.to_string()))?;
            return Ok(Objects {
                store: Arc::new(store),
                location: format!("s3://{bucket}"),
            });
        }
        let dir = if url.is_empty() {
            default_dir.to_path_buf()
        } else {
            Path::new(url.strip_prefix("file://").unwrap_or(url)).to_path_buf()
        };
        std::fs::create_dir_all(&dir).map_err(|e| config(format!("{}: {e}", dir.display())))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| config(e.to_string()))?;
        Ok(Objects {
            store: Arc::new(store),
            location: dir.display().to_string(),
        })
    }

    /// Where the objects live (for logs).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Stores `bytes` under `key`, replacing what was there (so a retried upload after a
    /// crash simply writes the same object again).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ObjectsError> {
        self.store
            .put(&Key::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// The object under `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ObjectsError> {
        match self.store.get(&Key::from(key)).await {
            Ok(r) => Ok(Some(r.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_store_keeps_what_is_put() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::open("", &dir.path().join("objects")).unwrap();
        objects
            .put("orders/1/check-in.png", vec![1, 2, 3])
            .await
            .unwrap();
        assert_eq!(
            objects.get("orders/1/check-in.png").await.unwrap(),
            Some(vec![1, 2, 3])
        );
        assert_eq!(objects.get("orders/2/report.png").await.unwrap(), None);
        assert!(dir.path().join("objects/orders/1/check-in.png").exists());
    }

    #[cfg(feature = "s3")]
    #[test]
    fn unknown_s3_options_are_refused() {
        let err = Objects::open("s3://b?colour=red", Path::new("/tmp")).unwrap_err();
        assert!(err.to_string().contains("colour"));
    }
}
