//! The blob port on S3: one private bucket, every object encrypted at rest. Three calls,
//! PutObject (conditional with `If-Match`/`If-None-Match` for [`BlobStore::put_if`]),
//! GetObject and DeleteObject, as [`SignedRequests`]: path-style on an emulator,
//! virtual-hosted (`<bucket>.s3.<region>.amazonaws.com`) on AWS.

use super::signed::{Service, SignedRequests, refusal, xml_element};
use crate::ports::{Blob, BlobStore, BlobVersion, PortError, PortResult};
use async_trait::async_trait;
use bytes::Bytes;

/// Implements [`BlobStore`] on one S3 bucket. The bucket is private (no ACLs: the
/// template blocks public access and enforces bucket-owner ownership); each object asks
/// for server-side encryption explicitly, so it never depends on the bucket's default.
#[derive(Clone, Debug)]
pub struct S3Blobs {
    aws: SignedRequests,
    bucket: String,
}

impl S3Blobs {
    pub fn new(aws: SignedRequests, bucket: impl Into<String>) -> Self {
        Self {
            aws,
            bucket: bucket.into(),
        }
    }

    /// The object's address. Keys are checked first: letters, digits, `-_.` and `/`
    /// between non-empty segments, nothing to escape.
    fn url(&self, key: &str) -> String {
        match self.aws.endpoint() {
            Some(endpoint) => format!("{endpoint}/{}/{key}", self.bucket),
            None => format!(
                "https://{}.s3.{}.amazonaws.com/{key}",
                self.bucket,
                self.aws.region()
            ),
        }
    }
}

fn check_key(key: &str) -> PortResult<()> {
    crate::ports::check_blob_key(key)
}

fn request(method: http::Method, url: &str) -> http::request::Builder {
    http::Request::builder().method(method).uri(url)
}

fn built(request: Result<http::Request<Bytes>, http::Error>) -> PortResult<http::Request<Bytes>> {
    request.map_err(|e| crate::ports::PortError::Internal(format!("building an S3 request: {e}")))
}

impl S3Blobs {
    /// PutObject, with at most one precondition header (`If-Match: <etag>` or
    /// `If-None-Match: *`); a failed precondition is a [`PortError::Conflict`].
    async fn put_object(
        &self,
        key: &str,
        blob: Blob,
        condition: Option<(&str, &str)>,
    ) -> PortResult<()> {
        check_key(key)?;
        let mut request = request(http::Method::PUT, &self.url(key))
            .header(http::header::CONTENT_TYPE, &blob.content_type)
            .header(http::header::CONTENT_LENGTH, blob.bytes.len())
            .header("x-amz-server-side-encryption", "AES256");
        if let Some((name, value)) = condition {
            request = request.header(name, value);
        }
        // 412: the precondition failed; 409: a concurrent conditional write won; 404
        // `NoSuchKey`: `If-Match` on a key deleted since it was read. A 404 for anything
        // else (no such bucket) is a failure like any other.
        let lost: &[u16] = if condition.is_some() {
            &[404, 409, 412]
        } else {
            &[]
        };
        let answer = self
            .aws
            .send(
                "s3:PutObject",
                Service::S3,
                built(request.body(Bytes::from(blob.bytes)))?,
                lost,
            )
            .await?;
        let no_such_key = || {
            xml_element(&String::from_utf8_lossy(&answer.body), "Code").as_deref()
                == Some("NoSuchKey")
        };
        match answer.status {
            409 | 412 => {}
            404 if no_such_key() => {}
            404 => return Err(refusal("s3:PutObject", &answer)),
            _ => return Ok(()),
        }
        Err(PortError::Conflict(format!(
            "s3:PutObject {}/{key}: {} (changed since it was read)",
            self.bucket, answer.status
        )))
    }

    /// GetObject, with the object's ETag as its version.
    async fn get_object(&self, key: &str) -> PortResult<Option<(Blob, BlobVersion)>> {
        check_key(key)?;
        let request = request(http::Method::GET, &self.url(key)).body(Bytes::new());
        let answer = self
            .aws
            .send("s3:GetObject", Service::S3, built(request)?, &[404])
            .await?;
        if answer.status == 404 {
            // A missing key is an answer; a missing bucket is not.
            let body = String::from_utf8_lossy(&answer.body);
            return match xml_element(&body, "Code").as_deref() {
                Some("NoSuchKey") => Ok(None),
                code => Err(crate::ports::PortError::Internal(format!(
                    "s3:GetObject {}/{key}: 404 {}",
                    self.bucket,
                    code.unwrap_or("no error code")
                ))),
            };
        }
        let content_type = answer
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();

        let version = answer
            .headers
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(|etag| BlobVersion(etag.to_owned()))
            .ok_or_else(|| {
                PortError::Internal(format!("s3:GetObject {}/{key}: no ETag", self.bucket))
            })?;
        Ok(Some((
            Blob {
                content_type,
                bytes: answer.body.into(),
            },
            version,
        )))
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, blob: Blob) -> PortResult<()> {
        self.put_object(key, blob, None).await
    }

    async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
        Ok(self.get_object(key).await?.map(|(blob, _)| blob))
    }

    async fn get_versioned(&self, key: &str) -> PortResult<Option<(Blob, BlobVersion)>> {
        self.get_object(key).await
    }

    async fn put_if(&self, key: &str, blob: Blob, read: Option<&BlobVersion>) -> PortResult<()> {
        let condition = match read {
            Some(version) => ("if-match", version.0.as_str()),
            None => ("if-none-match", "*"),
        };
        self.put_object(key, blob, Some(condition)).await
    }

    async fn delete(&self, key: &str) -> PortResult<()> {
        check_key(key)?;
        // S3 answers 204 whether or not the key held an object.
        let request = request(http::Method::DELETE, &self.url(key)).body(Bytes::new());
        self.aws
            .send("s3:DeleteObject", Service::S3, built(request)?, &[])
            .await?;
        Ok(())
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
