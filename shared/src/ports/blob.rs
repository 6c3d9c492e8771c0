use super::{PortError, PortResult};
use async_trait::async_trait;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Which write of a blob a read saw (S3's ETag; a digest of the bytes in the blob
/// folder). Only [`BlobStore::put_if`] gives it meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobVersion(pub String);

/// Where attachment bytes and raw payloads live.
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, key: &str, blob: Blob) -> PortResult<()>;
    async fn get(&self, key: &str) -> PortResult<Option<Blob>>;
    /// The blob and the version of it that was read, for a later [`BlobStore::put_if`].
    async fn get_versioned(&self, key: &str) -> PortResult<Option<(Blob, BlobVersion)>>;
    /// Writes `blob` only while `key` still holds the version `read` (`None`: holds
    /// nothing), so that two read-modify-writes of one small record (a call's state, on
    /// two instances) never undo each other. Otherwise [`PortError::Conflict`]: read again.
    async fn put_if(&self, key: &str, blob: Blob, read: Option<&BlobVersion>) -> PortResult<()>;
    /// Removes the blob; a key that holds none is already as asked.
    async fn delete(&self, key: &str) -> PortResult<()>;
}

/// The one rule for blob keys on every backend: a relative path of plain segments
/// (letters, digits, `-`, `_`, `.`), at most 512 bytes, that cannot climb out of its root.
pub fn check_blob_key(key: &str) -> PortResult<()> {
    let valid = !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if valid {
        Ok(())
    } else {
        Err(PortError::Invalid(format!(
            "`{key}` is not a valid blob key"
        )))
    }
}
