//! What a function needs to find its resources, read once from the environment the SAM
//! template sets, and the SDK clients built from it once per process.

use super::{DynamoStore, S3Blobs, SqsQueue, SqsQueueUrls};
use crate::backend::Backend;
use crate::ports::{PortError, PortResult};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sqs::config::SharedHttpClient;
use aws_smithy_http_client::tls;
use std::sync::{Arc, OnceLock};

/// Names the template gives each function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsSettings {
    pub table: String,
    pub queues: SqsQueueUrls,
    pub bucket: String,
}

impl AwsSettings {
    /// From `SWITCHBOARD_TABLE`, `SWITCHBOARD_{INBOUND,OUTBOUND}_{QUEUE,DLQ}_URL` and
    /// `SWITCHBOARD_BUCKET`; a function that does not use a resource may leave it unset.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        Self {
            table: var("SWITCHBOARD_TABLE"),
            queues: SqsQueueUrls {
                inbound: var("SWITCHBOARD_INBOUND_QUEUE_URL"),
                inbound_dlq: var("SWITCHBOARD_INBOUND_DLQ_URL"),
                outbound: var("SWITCHBOARD_OUTBOUND_QUEUE_URL"),
                outbound_dlq: var("SWITCHBOARD_OUTBOUND_DLQ_URL"),
            },
            bucket: var("SWITCHBOARD_BUCKET"),
        }
    }
}

/// The SDK configuration from the usual sources (on Lambda: the function's role and
/// region), over [`https_client`]. `AWS_ENDPOINT_URL` points every client at an emulator.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

/// The HTTP client every SDK client uses: rustls with ring's cryptography and the
/// platform's root certificates. The SDK's default would be rustls on aws-lc, which adds
/// about 0.6 MB to each function (and prefers a post-quantum key exchange, which ring
/// does not offer).
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The clients one process uses, each built once, on first use: a process (a Lambda
/// function) links the SDK of only the services it calls.
#[derive(Debug)]
pub struct AwsClients {
    config: SdkConfig,
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    s3: OnceLock<aws_sdk_s3::Client>,
    ssm: OnceLock<aws_sdk_ssm::Client>,
    sesv2: OnceLock<aws_sdk_sesv2::Client>,
}

impl AwsClients {
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            config: config.clone(),
            dynamodb: OnceLock::new(),
            sqs: OnceLock::new(),
            s3: OnceLock::new(),
            ssm: OnceLock::new(),
            sesv2: OnceLock::new(),
        }
    }

    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamodb
            .get_or_init(|| aws_sdk_dynamodb::Client::new(&self.config))
    }

    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs
            .get_or_init(|| aws_sdk_sqs::Client::new(&self.config))
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| {
            // An emulator serves buckets by path, not by host name.
            let path_style = self.config.endpoint_url().is_some();
            let s3 = aws_sdk_s3::config::Builder::from(&self.config)
                .force_path_style(path_style)
                .build();
            aws_sdk_s3::Client::from_conf(s3)
        })
    }

    pub fn ssm(&self) -> &aws_sdk_ssm::Client {
        self.ssm
            .get_or_init(|| aws_sdk_ssm::Client::new(&self.config))
    }

    pub fn sesv2(&self) -> &aws_sdk_sesv2::Client {
        self.sesv2
            .get_or_init(|| aws_sdk_sesv2::Client::new(&self.config))
    }

    /// The store ports on DynamoDB.
    pub fn store(&self, settings: &AwsSettings) -> Arc<DynamoStore> {
        Arc::new(DynamoStore::new(
            self.dynamodb().clone(),
            settings.table.clone(),
        ))
    }

    /// The queues on SQS.
    pub fn queue(&self, settings: &AwsSettings) -> Arc<SqsQueue> {
        Arc::new(SqsQueue::new(self.sqs().clone(), settings.queues.clone()))
    }

    /// Blobs on S3.
    pub fn blobs(&self, settings: &AwsSettings) -> Arc<S3Blobs> {
        Arc::new(S3Blobs::new(self.s3().clone(), settings.bucket.clone()))
    }

    /// The store on DynamoDB and the queues on SQS; a process that keeps attachments
    /// adds [`AwsClients::blobs`] with [`Backend::with_blobs`].
    pub fn backend(&self, settings: &AwsSettings) -> Backend {
        Backend::new(self.store(settings), self.queue(settings))
    }

    /// A secret kept in SSM Parameter Store (a SecureString), decrypted.
    pub async fn secret_parameter(&self, name: &str) -> PortResult<String> {
        let out = self
            .ssm()
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| super::errors::sdk("ssm:GetParameter", e))?;
        out.parameter()
            .and_then(|p| p.value())
            .map(str::to_owned)
            .ok_or_else(|| PortError::Internal(format!("parameter {name} has no value")))
    }
}
