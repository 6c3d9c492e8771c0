//! The services as AWS Lambda functions: what each `functions/<name>` binary runs.
//!
//! A function's `main` calls [`start`] (typed config and logs, then its own assembly: SDK
//! clients once, the backend, the service), then hands the service to one of the runners:
//! [`http::run`] for an axum router behind API Gateway, [`sqs::Consumer::run`] for a queue
//! consumer answering partial batch failures, [`schedule::run`] for the sweeper. Nothing
//! here is a domain rule: it translates Lambda's events into the services' calls.

pub mod admin;
pub mod config;
pub mod email_inbound;
pub mod event_log;
pub mod http;
mod logs;
pub mod schedule;
pub mod ses;
pub mod ses_events;
pub mod sqs;
pub mod telegram;
pub mod telephony;

pub use crate::settings::ConfigError;
pub use config::FunctionConfig;
pub use lambda_runtime::Error;

use crate::model::ConversationId;
use crate::ports::ConversationStore;
use std::future::Future;
use std::time::Instant;

/// Reads the function's configuration, starts its JSON logs, then runs `assemble` (build
/// clients and services). A failure is logged and reported to Lambda's Runtime API as an
/// init error, so the console shows why the function could not start.
pub async fn start<T, F, Fut>(assemble: F) -> Result<T, Error>
where
    F: FnOnce(FunctionConfig) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let config = FunctionConfig::from_env();
    logs::init(config.as_ref().map_or("info", |c| c.log.as_str()));
    let assembled = match config {
        Ok(config) => assemble(config).await,
        Err(e) => Err(e.into()),
    };
    if let Err(e) = &assembled {
        tracing::error!(error = %e, "the function could not start");
        report_init_error(e).await;
    }
    assembled
}

/// Pays the SDK's first-call costs during init rather than in the first invocation:
/// resolving credentials, building the HTTPS client, the connection to DynamoDB. A read
/// of a conversation that cannot exist does all of that through the store port; its
/// answer does not matter.
pub async fn warm_up(store: &dyn ConversationStore) {
    let started = Instant::now();
    let outcome = store.conversation(ConversationId::new()).await;
    let millis = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(_) => tracing::debug!(millis, "store connection warmed up"),
        Err(e) => tracing::warn!(millis, error = %e, "warming up the store connection failed"),
    }
}

/// Tells the Runtime API why init failed (`POST /runtime/init/error`); best effort.
async fn report_init_error(error: &Error) {
    let diagnostic = lambda_runtime::Diagnostic {
        error_type: "Runtime.InitError".into(),
        error_message: error.to_string(),
    };
    let sent = async {
        let body = serde_json::to_vec(&diagnostic)?;
        let request = lambda_runtime_api_client::build_request()
            .method("POST")
            .uri("/2018-06-01/runtime/init/error")
            .header("lambda-runtime-function-error-type", "Runtime.InitError")
            .body(lambda_runtime_api_client::body::Body::from(body))?;
        // Where Lambda (or an emulator) serves the Runtime API, as `host:port`.
        let endpoint: lambda_http::http::Uri = std::env::var("AWS_LAMBDA_RUNTIME_API")?.parse()?;
        let client = lambda_runtime_api_client::PooledClient::builder()
            .with_endpoint(endpoint)
            .build();
        client.call(request).await?;
        Ok::<_, Error>(())
    };
    if let Err(e) = sent.await {
        tracing::warn!(error = %e, "could not report the init error to the Runtime API");
    }
}
