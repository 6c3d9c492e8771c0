//! The event-log function: the table's change stream invokes it with batches of
//! records (filtered, in the template, to the items that make log entries); it keeps
//! each batch's entries for the changes feed, then hands them to the subscribers (the
//! webhooks' fan-out). A failure fails the batch, which Lambda retries (halving it to
//! find a record that keeps failing) before setting it aside; the log and the
//! subscribers take a batch twice without doubling anything.

use super::Error;
use crate::aws::{DynamoStore, StreamBatch};
use crate::services::subscriber::Subscriber;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

pub async fn run(
    store: Arc<DynamoStore>,
    subscribers: Vec<Arc<dyn Subscriber>>,
) -> Result<(), Error> {
    let (store, subscribers) = (&store, &subscribers);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamBatch>| async move {
            let records = event.payload.records.len();
            let changes = store.append_stream_batch(&event.payload).await?;
            if !changes.is_empty() {
                for subscriber in subscribers {
                    subscriber
                        .handle(&changes)
                        .await
                        .map_err(|e| format!("subscriber {}: {e}", subscriber.name()))?;
                }
            }
            tracing::info!(records, entries = changes.len(), "stream batch logged");
            Ok::<(), Error>(())
        },
    ))
    .await
}
