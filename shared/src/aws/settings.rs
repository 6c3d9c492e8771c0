//! What a function needs to find its resources, read once from the environment the SAM
//! template sets, and the SDK clients built from it once per process.

use super::{DynamoStore, S3Blobs, SqsQueue, SqsQueueUrls};
use crate::backend::Backend;
use crate::ports::{PortError, PortResult};
use aws_config::{BehaviorVersion, SdkConfig};
use std::sync::Arc;

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
/// region). `AWS_ENDPOINT_URL` points every client at an emulator.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The clients one process uses, built once.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl AwsClients {
    pub fn new(config: &SdkConfig) -> Self {
        // An emulator serves buckets by path, not by host name.
        let path_style = config.endpoint_url().is_some();
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            ssm: aws_sdk_ssm::Client::new(config),
        }
    }

    /// Every port on AWS: the store on DynamoDB, the queues on SQS, blobs on S3.
    pub fn backend(&self, settings: &AwsSettings) -> Backend {
        Backend::new(
            Arc::new(DynamoStore::new(
                self.dynamodb.clone(),
                settings.table.clone(),
            )),
            Arc::new(SqsQueue::new(self.sqs.clone(), settings.queues.clone())),
            Arc::new(S3Blobs::new(self.s3.clone(), settings.bucket.clone())),
        )
    }

    /// A secret kept in SSM Parameter Store (a SecureString), decrypted.
    pub async fn secret_parameter(&self, name: &str) -> PortResult<String> {
        let out = self
            .ssm
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
