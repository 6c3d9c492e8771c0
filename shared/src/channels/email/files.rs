//! An email's attachments stay inside the raw message kept in the blob store; the
//! router fetches each one from there (`<raw key>#<index>`), behind the queue.

use super::{ParseSettings, parse_email};
use crate::ports::{BlobStore, FetchError, FetchedFile, FileFetcher};
use async_trait::async_trait;
use std::sync::Arc;

pub struct EmailFiles {
    blobs: Arc<dyn BlobStore>,
}

impl EmailFiles {
    pub fn new(blobs: Arc<dyn BlobStore>) -> Self {
        Self { blobs }
    }
}

#[async_trait]
impl FileFetcher for EmailFiles {
    async fn fetch(&self, provider_ref: &str, max_bytes: u64) -> Result<FetchedFile, FetchError> {
        let bad = || FetchError::Permanent(format!("`{provider_ref}` is not an email file"));
        let (key, index) = provider_ref.rsplit_once('#').ok_or_else(bad)?;
        let index: usize = index.parse().map_err(|_| bad())?;
        let raw = self
            .blobs
            .get(key)
            .await
            .map_err(|e| FetchError::Retryable(e.to_string()))?
            .ok_or_else(|| FetchError::Permanent("the raw email is gone".into()))?;
        let settings = ParseSettings {
            max_attachment_bytes: max_bytes,
            ..ParseSettings::default()
        };
        let parsed =
            parse_email(&raw.bytes, &settings).map_err(|e| FetchError::Permanent(e.to_string()))?;
        let file = parsed.attachments.into_iter().nth(index).ok_or_else(bad)?;
        if file.too_large {
            return Err(FetchError::Permanent(format!(
                "the file is larger than {max_bytes} bytes"
            )));
        }
        Ok(FetchedFile {
            bytes: file.bytes,
            content_type: Some(file.content_type),
        })
    }
}
