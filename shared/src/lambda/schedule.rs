//! The sweeper: an EventBridge schedule (`rate(1 minute)`) wakes it; it does the
//! time-driven work of [`crate::services::sweep`], and erases what is past its retention
//! ([`crate::services::rights`]) when the stack keeps conversations for a time only.

use super::Error;
use crate::ports::ConversationStore;
use crate::services::erasure::Retention;
use crate::services::rights::Rights;
use crate::services::sweep::wake_snoozed;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

/// What the sweeper works on.
#[derive(Clone)]
pub struct Sweeper {
    pub conversations: Arc<dyn ConversationStore>,
    /// Erasure past the retention, when there is one.
    pub retention: Option<(Rights, Retention)>,
}

/// Serves scheduled events until Lambda stops the process. A failed sweep fails the
/// invocation (the alarm counts it); the next minute's sweep does the work anyway.
pub async fn run(sweeper: Sweeper) -> Result<(), Error> {
    let sweeper = &sweeper;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent>| async move {
            sweep(sweeper, &event.payload).await
        },
    ))
    .await
}

async fn sweep(sweeper: &Sweeper, event: &EventBridgeEvent) -> Result<(), Error> {
    let now = chrono::Utc::now();
    let woken = wake_snoozed(sweeper.conversations.as_ref(), now).await?;
    let erased = match &sweeper.retention {
        Some((rights, retention)) => Some(rights.sweep(*retention, now).await?),
        None => None,
    };
    tracing::info!(
        woken,
        erased_conversations = erased.map(|e| e.conversations),
        erased_contacts = erased.map(|e| e.contacts),
        scheduled_for = event.time.map(|t| t.to_rfc3339()),
        "sweep done"
    );
    Ok(())
}
