//! The sweeper: an EventBridge schedule (`rate(1 minute)`) wakes it; it does the
//! time-driven work of [`crate::services::sweep`].

use super::Error;
use crate::ports::ConversationStore;
use crate::services::sweep::wake_snoozed;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

/// Serves scheduled events until Lambda stops the process. A failed sweep fails the
/// invocation (the alarm counts it); the next minute's sweep does the work anyway.
pub async fn run(conversations: Arc<dyn ConversationStore>) -> Result<(), Error> {
    let conversations = &conversations;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent>| async move {
            sweep(conversations.as_ref(), &event.payload).await
        },
    ))
    .await
}

async fn sweep(
    conversations: &dyn ConversationStore,
    event: &EventBridgeEvent,
) -> Result<(), Error> {
    let now = chrono::Utc::now();
    let woken = wake_snoozed(conversations, now).await?;
    tracing::info!(
        woken,
        scheduled_for = event.time.map(|t| t.to_rfc3339()),
        "sweep done"
    );
    Ok(())
}
