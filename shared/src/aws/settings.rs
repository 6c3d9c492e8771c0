//! What a function needs to find its resources, read once from the environment the SAM
//! template sets, and the SDK clients built from it once per process.

use super::https::{CONNECT_TIMEOUT, HttpsClient};
use super::signed::SignedRequests;
use super::{DynamoStore, S3Blobs, SqsQueue, SqsQueueUrls};
use crate::backend::Backend;
use crate::ports::PortResult;
use crate::settings::{Vars, schema as s};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource};
use std::sync::{Arc, OnceLock};

/// Names the template gives each function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsSettings {
    pub table: String,
    pub queues: SqsQueueUrls,
    pub bucket: String,
}

impl AwsSettings {
    /// From `SWITCHBOARD_TABLE`, `SWITCHBOARD_{INBOUND,OUTBOUND,WEBHOOKS}_{QUEUE,DLQ}_URL` and
    /// `SWITCHBOARD_BUCKET`; a function that does not use a resource may leave it unset.
    pub fn read(vars: &Vars) -> Self {
        let var = |setting| vars.given(setting).unwrap_or_default();
        Self {
            table: var(&s::TABLE),
            queues: SqsQueueUrls {
                inbound: var(&s::INBOUND_QUEUE_URL),
                inbound_dlq: var(&s::INBOUND_DLQ_URL),
                outbound: var(&s::OUTBOUND_QUEUE_URL),
                outbound_dlq: var(&s::OUTBOUND_DLQ_URL),
                webhooks: var(&s::WEBHOOKS_QUEUE_URL),
                webhooks_dlq: var(&s::WEBHOOKS_DLQ_URL),
            },
            bucket: var(&s::BUCKET),
        }
    }
}

/// How a Lambda function reaches AWS, read from the environment Lambda gives it: the
/// region (`AWS_REGION`), the role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, read again at each use), and
/// `AWS_ENDPOINT_URL` to point every call at an emulator.
///
/// Nothing else is looked for. The SDK's default chain would also search profile files,
/// SSO, web identity (with an STS client), container and instance metadata: sources a
/// function never has, about 0.3 MB of code in each function's binary, and file reads at
/// every cold start.
#[derive(Clone, Debug)]
pub struct FunctionAws {
    region: String,
    endpoint: Option<String>,
    http: HttpsClient,
    credentials: SharedCredentialsProvider,
}

impl FunctionAws {
    pub fn from_env() -> Result<Self, String> {
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .map_err(|_| "AWS_REGION is not set".to_owned())?;
        let endpoint = std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|e| !e.is_empty());
        let http = HttpsClient::new()?;
        Ok(Self {
            region,
            endpoint,
            http,
            credentials: SharedCredentialsProvider::new(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            ),
        })
    }

    /// The configuration the SDK clients are built from.
    pub fn sdk_config(&self) -> SdkConfig {
        let mut config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(self.credentials.clone())
            .http_client(self.http.for_sdk())
            .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
            .time_source(SharedTimeSource::new(SystemTimeSource::new()))
            .retry_config(RetryConfig::standard())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .build(),
            );
        if let Some(endpoint) = &self.endpoint {
            config = config.endpoint_url(endpoint);
        }
        config.build()
    }

    /// Signed requests for the calls made without an SDK client (S3 objects, SQS, SSM).
    pub fn signed(&self) -> SignedRequests {
        SignedRequests::new(
            self.http.clone(),
            self.credentials.clone(),
            self.region.clone(),
            self.endpoint.clone(),
        )
    }
}

/// The clients one process uses, each built once, on first use: a process (a Lambda
/// function) links the SDK of only the services it calls.
#[derive(Debug)]
pub struct AwsClients {
    config: SdkConfig,
    signed: SignedRequests,
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
    sesv2: OnceLock<aws_sdk_sesv2::Client>,
}

impl AwsClients {
    /// A Lambda function's clients, from its environment.
    pub fn from_env() -> Result<Self, String> {
        let aws = FunctionAws::from_env()?;
        Ok(Self::new(&aws.sdk_config(), aws.signed()))
    }

    pub fn new(config: &SdkConfig, signed: SignedRequests) -> Self {
        Self {
            config: config.clone(),
            signed,
            dynamodb: OnceLock::new(),
            sesv2: OnceLock::new(),
        }
    }

    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamodb
            .get_or_init(|| aws_sdk_dynamodb::Client::new(&self.config))
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
        Arc::new(SqsQueue::new(self.signed.clone(), settings.queues.clone()))
    }

    /// Blobs on S3.
    pub fn blobs(&self, settings: &AwsSettings) -> Arc<S3Blobs> {
        Arc::new(S3Blobs::new(self.signed.clone(), settings.bucket.clone()))
    }

    /// The store on DynamoDB and the queues on SQS; a process that keeps attachments
    /// adds [`AwsClients::blobs`] with [`Backend::with_blobs`].
    pub fn backend(&self, settings: &AwsSettings) -> Backend {
        Backend::new(self.store(settings), self.queue(settings))
    }

    /// A secret kept in SSM Parameter Store (a SecureString), decrypted.
    pub async fn secret_parameter(&self, name: &str) -> PortResult<String> {
        self.signed.secret_parameter(name).await
    }
}
