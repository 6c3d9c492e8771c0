//! The AWS backend: the queue port on SQS and the blob port on S3 (the store on DynamoDB
//! comes beside them). Built from SDK clients a `main` makes once; no AWS type leaves this
//! module through a port: SDK errors become [`crate::ports::PortError`]s in `errors`.

mod blobs;
mod dynamo;
mod errors;
mod queue;
mod ses;
mod settings;

pub use blobs::S3Blobs;
pub use dynamo::{DynamoStore, create_table};
pub use queue::{ENCODING_ATTRIBUTE, SqsQueue, SqsQueueUrls, decode_body, sqs_token};
pub use ses::SesSender;
pub use settings::{AwsClients, AwsSettings, https_client, sdk_config};
