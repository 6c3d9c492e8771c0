//! The event-log function: the table's change stream invokes it with batches of
//! records (filtered, in the template, to the items that make log entries); it keeps
//! each batch's entries for the changes feed. A failure fails the batch, which Lambda
//! retries (halving it to find a record that keeps failing) before setting it aside.

use super::Error;
use crate::aws::{DynamoStore, StreamBatch};
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

pub async fn run(store: Arc<DynamoStore>) -> Result<(), Error> {
    let store = &store;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamBatch>| async move {
            let records = event.payload.records.len();
            let entries = store.append_stream_batch(&event.payload).await?;
            tracing::info!(records, entries, "stream batch logged");
            Ok::<(), Error>(())
        },
    ))
    .await
}
