use super::PortResult;
use async_trait::async_trait;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Where attachment bytes and raw payloads live.
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, key: &str, blob: Blob) -> PortResult<()>;
    async fn get(&self, key: &str) -> PortResult<Option<Blob>>;
}
