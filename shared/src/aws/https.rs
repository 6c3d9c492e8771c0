//! The one HTTPS client a process talks to AWS with: HTTP/1.1 over rustls on ring's
//! cryptography, trusting the platform's root certificates ([`crate::tls`]), with a
//! connection pool. The SDK clients (DynamoDB, SQS, SES) send through it as their
//! `HttpClient`, and so do the few signed requests of [`super::signed`] (S3 objects, one
//! SSM parameter).
//!
//! AWS's APIs answer HTTP/1.1, so the client speaks nothing else: the SDK's own client
//! also links an HTTP/2 stack, about 0.3 MB of each function for a protocol none of these
//! services needs.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response as SmithyResponse;
use aws_smithy_types::body::SdkBody;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::time::Duration;

/// How long a connection attempt may take: the SDK's own default.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);
/// An idle pooled connection is closed after this long (AWS closes its side after about
/// 20 s of silence; a warm Lambda reuses connections between invocations).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Cheap to clone: clones share the pool.
#[derive(Clone, Debug)]
pub struct HttpsClient {
    client: Client<HttpsConnector<TcpConnector>, SdkBody>,
}

impl HttpsClient {
    /// Fails when the platform has no root certificates to trust.
    pub fn new() -> Result<Self, String> {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*crate::tls::client_config()?).clone())
            // http: only for an emulator named by AWS_ENDPOINT_URL.
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(tls);
        Ok(Self { client })
    }

    /// Sends one request and reads its whole answer.
    pub(crate) async fn send(
        &self,
        request: http::Request<SdkBody>,
    ) -> Result<http::Response<bytes::Bytes>, SendError> {
        use http_body_util::BodyExt;
        let response = self.client.request(request).await?;
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| SendError::reading(&e))?
            .to_bytes();
        Ok(http::Response::from_parts(parts, bytes))
    }

    /// The client the SDK's clients send through.
    pub fn for_sdk(&self) -> SharedHttpClient {
        SharedHttpClient::new(self.clone())
    }
}

/// A request that got no answer (no connection, a timeout, a connection that broke): always
/// worth another try.
#[derive(Debug)]
pub(crate) struct SendError(String);

impl SendError {
    fn reading(error: &hyper::Error) -> Self {
        SendError(format!("reading the answer: {error}"))
    }
}

impl From<hyper_util::client::legacy::Error> for SendError {
    fn from(error: hyper_util::client::legacy::Error) -> Self {
        SendError(chain(&error))
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An error and its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A request the client itself refused (a malformed request) is the caller's error; any
/// other failure (connecting, a timeout, a pooled connection the server had closed) is
/// transient, and the SDK retries it.
fn connector_error(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let refused = std::error::Error::source(&error)
        .and_then(|e| e.downcast_ref::<hyper::Error>())
        .is_some_and(hyper::Error::is_user);
    if refused {
        ConnectorError::user(error.into())
    } else {
        ConnectorError::io(error.into())
    }
}

impl HttpConnector for HttpsClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?;
            let response = client.request(request).await.map_err(connector_error)?;
            let response = response.map(SdkBody::from_body_1_x);
            SmithyResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

impl HttpClient for HttpsClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}
