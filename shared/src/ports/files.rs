use async_trait::async_trait;

/// A file fetched from a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedFile {
    pub bytes: Vec<u8>,
    /// What the provider says it is, when it says.
    pub content_type: Option<String>,
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// Worth another try later: rate limits, outages, network errors.
    #[error("temporary failure: {0}")]
    Retryable(String),
    /// It will never come: too large, gone, refused.
    #[error("{0}")]
    Permanent(String),
}

/// Fetches the files a channel's messages refer to (`Attachment::provider_ref`).
#[async_trait]
pub trait FileFetcher: Send + Sync {
    /// At most `max_bytes`; a larger file is a permanent failure.
    async fn fetch(&self, provider_ref: &str, max_bytes: u64) -> Result<FetchedFile, FetchError>;
}
