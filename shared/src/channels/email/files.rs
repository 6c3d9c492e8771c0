//! An email's attachments stay inside the raw message kept in the blob store; the
//! router fetches each one from there (`<raw key>#<index>`), behind the queue.
//!
//! The router fetches one email's files one after another, so the attachments of the
//! last raw message read are kept: an email with many files is read and parsed once,
//! not once per file (a raw key names its bytes' hash, so a kept entry never goes stale). Only the MIME structure is parsed for a fetch (no quote split,
//! no HTML sanitizer).

use super::parse_attachments;
use crate::channels::email::EmailAttachment;
use crate::ports::{BlobStore, FetchError, FetchedFile, FileFetcher};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};

/// The attachments of the raw message last read, by its key and the size limit used.
type Parsed = (String, u64, Arc<Vec<EmailAttachment>>);

pub struct EmailFiles {
    blobs: Arc<dyn BlobStore>,
    last: Mutex<Option<Parsed>>,
}

impl EmailFiles {
    pub fn new(blobs: Arc<dyn BlobStore>) -> Self {
        Self {
            blobs,
            last: Mutex::new(None),
        }
    }

    fn cached(&self, key: &str, max_bytes: u64) -> Option<Arc<Vec<EmailAttachment>>> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref()
            .filter(|(k, m, _)| k == key && *m == max_bytes)
            .map(|(_, _, files)| Arc::clone(files))
    }

    async fn attachments(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<Arc<Vec<EmailAttachment>>, FetchError> {
        if let Some(files) = self.cached(key, max_bytes) {
            return Ok(files);
        }
        let raw = self
            .blobs
            .get(key)
            .await
            .map_err(|e| FetchError::Retryable(e.to_string()))?
            .ok_or_else(|| FetchError::Permanent("the raw email is gone".into()))?;
        let files = Arc::new(
            parse_attachments(&raw.bytes, max_bytes)
                .map_err(|e| FetchError::Permanent(e.to_string()))?,
        );
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((key.to_owned(), max_bytes, Arc::clone(&files)));
        Ok(files)
    }
}

#[async_trait]
impl FileFetcher for EmailFiles {
    async fn fetch(&self, provider_ref: &str, max_bytes: u64) -> Result<FetchedFile, FetchError> {
        let bad = || FetchError::Permanent(format!("`{provider_ref}` is not an email file"));
        let (key, index) = provider_ref.rsplit_once('#').ok_or_else(bad)?;
        let index: usize = index.parse().map_err(|_| bad())?;
        let files = self.attachments(key, max_bytes).await?;
        let file = files.get(index).ok_or_else(bad)?;
        if file.too_large {
            return Err(FetchError::Permanent(format!(
                "the file is larger than {max_bytes} bytes"
            )));
        }
        Ok(FetchedFile {
            bytes: file.bytes.clone(),
            content_type: Some(file.content_type.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{Blob, BlobVersion, PortResult};
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct OneBlob {
        raw: Vec<u8>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl BlobStore for OneBlob {
        async fn put(&self, _: &str, _: Blob) -> PortResult<()> {
            Ok(())
        }
        async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok((key == "email/raw/a.eml").then(|| Blob {
                content_type: "message/rfc822".into(),
                bytes: self.raw.clone(),
            }))
        }
        async fn get_versioned(&self, _: &str) -> PortResult<Option<(Blob, BlobVersion)>> {
            unreachable!("email files never write conditionally")
        }
        async fn put_if(&self, _: &str, _: Blob, _: Option<&BlobVersion>) -> PortResult<()> {
            unreachable!("email files never write conditionally")
        }
        async fn delete(&self, _: &str) -> PortResult<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_emails_files_are_read_and_parsed_once() {
        let blobs = Arc::new(OneBlob {
            raw: include_bytes!("fixtures/attachments.eml").to_vec(),
            reads: AtomicUsize::new(0),
        });
        let files = EmailFiles::new(blobs.clone());
        let first = files.fetch("email/raw/a.eml#0", 1 << 20).await.unwrap();
        let second = files.fetch("email/raw/a.eml#1", 1 << 20).await.unwrap();
        assert!(!first.bytes.is_empty() && !second.bytes.is_empty());
        assert_eq!(blobs.reads.load(Ordering::SeqCst), 1);
        assert!(matches!(
            files.fetch("email/raw/a.eml#99", 1 << 20).await,
            Err(FetchError::Permanent(_))
        ));
        assert!(matches!(
            files.fetch("email/raw/gone.eml#0", 1 << 20).await,
            Err(FetchError::Permanent(_))
        ));
    }
}
