//! The blob port on S3: one private bucket, every object encrypted at rest.

use super::errors;
use crate::ports::{Blob, BlobStore, PortError, PortResult};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

/// Implements [`BlobStore`] on one S3 bucket. The bucket is private (no ACLs: the
/// template blocks public access and enforces bucket-owner ownership); each object asks
/// for server-side encryption explicitly, so it never depends on the bucket's default.
#[derive(Clone, Debug)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

fn check_key(key: &str) -> PortResult<()> {
    crate::ports::check_blob_key(key)
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, blob: Blob) -> PortResult<()> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(blob.content_type)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(blob.bytes))
            .send()
            .await
            .map_err(|e| errors::sdk("PutObject", e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
        check_key(key)?;
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None);
            }
            Err(e) => return Err(errors::sdk("GetObject", e)),
        };
        let content_type = out
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| PortError::Unavailable(format!("GetObject: reading the body: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Some(Blob {
            content_type,
            bytes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::check_key;

    #[test]
    fn keys_that_could_escape_a_folder_are_refused_here_too() {
        assert!(check_key("attachments/cv_1/a.png").is_ok());
        for bad in ["../x", "/etc/passwd", "a//b", "a/../b", "", "a b"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
