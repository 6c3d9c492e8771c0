//! One test's AWS resources on the emulator (moto in server mode, started by
//! `scripts/with-moto`): the table, the queues with their DLQs, the bucket and the link
//! secret, under names no other test uses, made as `infra/template.yaml` makes them.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::config::Credentials;
use aws_sdk_sqs::config::SharedCredentialsProvider;
use aws_sdk_sqs::types::QueueAttributeName;
use shared::aws::{AwsClients, AwsSettings, HttpsClient, SignedRequests, SqsQueueUrls};
use shared::backend::Backend;
use shared::model::Role;
use std::collections::HashMap;

pub const ENDPOINT_VAR: &str = "SWITCHBOARD_TEST_AWS_ENDPOINT";
pub const REGION: &str = "us-east-1";

/// Receives before SQS moves a message to its DLQ, as in the template.
pub const MAX_RECEIVES: u32 = 5;
/// The queues' visibility timeout. The template's is 180 s (6 × the consumers' timeout);
/// here, long enough for a batch on the emulator, short enough for a test to wait out.
pub const VISIBILITY_SECS: u32 = 10;

/// Where moto listens. A test that needs it fails without it: it never skips.
pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set, so there is no AWS emulator to test against: \
             run through scripts/with-moto or scripts/test"
        )
    })
}

/// The SDK configuration the test driver uses: moto, one region, dummy credentials.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http().for_sdk())
        .endpoint_url(endpoint())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "e2e"))
        .load()
        .await
}

/// The product's HTTPS client, as the functions use it.
fn http() -> HttpsClient {
    HttpsClient::new().expect("root certificates")
}

/// A test's own table, queues, bucket and secret.
pub struct Cloud {
    pub endpoint: String,
    /// The clients the product uses (its signed requests with dummy credentials).
    pub clients: AwsClients,
    /// The test's hands on the bucket and the parameters, beside the product's.
    pub s3: aws_sdk_s3::Client,
    /// Creates and inspects the queues (the product calls SQS with signed requests).
    pub sqs: aws_sdk_sqs::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub settings: AwsSettings,
    /// The SSM parameter that holds the customer-link secret.
    pub link_secret_parameter: String,
}

impl Cloud {
    pub async fn create() -> Cloud {
        let endpoint = endpoint();
        let config = sdk_config().await;
        let signed = SignedRequests::new(
            http(),
            SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "e2e",
            )),
            REGION,
            Some(endpoint.clone()),
        );
        let clients = AwsClients::new(&config, signed);
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let ssm = aws_sdk_ssm::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        let name = format!("sb-e2e-{}", crate::unique("c").replace('_', "-"))
            .chars()
            .take(60)
            .collect::<String>();

        shared::aws::create_table(clients.dynamodb(), &name)
            .await
            .unwrap_or_else(|e| panic!("creating table {name}: {e}"));
        let inbound_dlq = create_queue(&sqs, &format!("{name}-in-dlq.fifo"), None).await;
        let inbound = create_queue(&sqs, &format!("{name}-in.fifo"), Some(&inbound_dlq)).await;
        let outbound_dlq = create_queue(&sqs, &format!("{name}-out-dlq"), None).await;
        let outbound = create_queue(&sqs, &format!("{name}-out"), Some(&outbound_dlq)).await;
        let webhooks_dlq = create_queue(&sqs, &format!("{name}-wh-dlq.fifo"), None).await;
        let webhooks = create_queue(&sqs, &format!("{name}-wh.fifo"), Some(&webhooks_dlq)).await;
        s3.create_bucket()
            .bucket(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating bucket {name}: {e:?}"));
        let link_secret_parameter = format!("/{name}/customer-link-secret");
        put_secret(&ssm, &link_secret_parameter, &crate::unique("link-secret")).await;

        Cloud {
            endpoint,
            clients,
            s3,
            sqs,
            ssm,
            settings: AwsSettings {
                table: name.clone(),
                queues: SqsQueueUrls {
                    inbound,
                    inbound_dlq,
                    outbound,
                    outbound_dlq,
                    webhooks,
                    webhooks_dlq,
                },
                bucket: name,
            },
            link_secret_parameter,
        }
    }

    /// Keeps `value` in an SSM SecureString named `/<this test's prefix>/<name>`, as an
    /// operator does before deploying; returns the parameter's name.
    pub async fn put_secret(&self, name: &str, value: &str) -> String {
        let parameter = format!("/{}/{name}", self.settings.table);
        put_secret(&self.ssm, &parameter, value).await;
        parameter
    }

    /// The variables the template gives every function, pointing at this test's
    /// resources; the caller adds what one function needs besides.
    pub fn function_env(&self) -> Vec<(String, String)> {
        let queues = &self.settings.queues;
        [
            ("SWITCHBOARD_TABLE", self.settings.table.as_str()),
            ("SWITCHBOARD_INBOUND_QUEUE_URL", &queues.inbound),
            ("SWITCHBOARD_OUTBOUND_QUEUE_URL", &queues.outbound),
            ("SWITCHBOARD_INBOUND_DLQ_URL", &queues.inbound_dlq),
            ("SWITCHBOARD_OUTBOUND_DLQ_URL", &queues.outbound_dlq),
            ("SWITCHBOARD_WEBHOOKS_QUEUE_URL", &queues.webhooks),
            ("SWITCHBOARD_WEBHOOKS_DLQ_URL", &queues.webhooks_dlq),
            ("SWITCHBOARD_BUCKET", &self.settings.bucket),
            ("SWITCHBOARD_PUBLIC_URL", ""),
            ("SWITCHBOARD_DEFAULT_REGION", "US"),
            (
                "SWITCHBOARD_LINK_SECRET_PARAMETER",
                &self.link_secret_parameter,
            ),
            // Failed messages come back after a second, not the backoff's minutes.
            ("SWITCHBOARD_MAX_RETRY_DELAY_SECS", "1"),
            ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The ports on this test's resources, for what a test does besides the functions
    /// (creating agents, as an admin would once).
    pub fn backend(&self) -> Backend {
        self.clients.backend(&self.settings)
    }

    /// Creates an agent in the table and returns their API key.
    pub async fn create_agent(&self, name: &str, email: &str, role: Role) -> String {
        let (_, key) = self
            .backend()
            .directory()
            .create_agent(name, email, role)
            .await
            .unwrap_or_else(|e| panic!("creating agent {email} in DynamoDB: {e}"));
        key
    }
}

async fn create_queue(client: &aws_sdk_sqs::Client, name: &str, dlq_url: Option<&str>) -> String {
    let mut attributes = HashMap::from([(
        QueueAttributeName::VisibilityTimeout,
        VISIBILITY_SECS.to_string(),
    )]);
    if name.ends_with(".fifo") {
        attributes.insert(QueueAttributeName::FifoQueue, "true".into());
    }
    if let Some(dlq_url) = dlq_url {
        let arn = queue_arn(client, dlq_url).await;
        let policy = serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": MAX_RECEIVES.to_string(),
        });
        attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating queue {name}: {e:?}"))
        .queue_url()
        .unwrap_or_else(|| panic!("queue {name} has no URL"))
        .to_owned()
}

async fn put_secret(ssm: &aws_sdk_ssm::Client, parameter: &str, value: &str) {
    ssm.put_parameter()
        .name(parameter)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating parameter {parameter}: {e:?}"));
}

pub async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> String {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("attributes of {url}: {e:?}"));
    out.attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .unwrap_or_else(|| panic!("{url} has no ARN"))
        .clone()
}
