//! The AWS backend: the store port on DynamoDB, the queue port on SQS, the blob port on S3,
//! the email sender on SES. Built from SDK clients a `main` makes once; no AWS type leaves this
//! module through a port: SDK errors become [`crate::ports::PortError`]s in `errors`.

mod blobs;
mod dynamo;
mod errors;
mod https;
mod queue;
mod ses;
mod settings;
mod signed;
mod ssm;

pub use blobs::S3Blobs;
pub use dynamo::{DynamoStore, FEED_SETTLE, StreamBatch, create_table};
pub use https::HttpsClient;
pub use queue::{ENCODING_ATTRIBUTE, SqsQueue, SqsQueueUrls, decode_body, sqs_token};
pub use ses::SesSender;
pub use settings::{AwsClients, AwsSettings, FunctionAws};
pub use signed::SignedRequests;
