//! `email-inbound`'s entry: one function takes both of its sources, SES receipts of
//! customers' emails (`ses`) and the SNS notifications of our replies' sending events
//! (`ses_events`), told apart by the event's shape.

use super::Error;
use super::ses::{Outcome, SesIntake};
use super::ses_events::SnsEvent;
use aws_lambda_events::event::ses::SimpleEmailEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::json;

/// Serves SES receipt events, and the SNS notifications of our replies' sending events,
/// until Lambda stops the process.
pub async fn run(service: SesIntake) -> Result<(), Error> {
    let service = &service;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            service
                .dispatch(event.payload)
                .await
                .map(|outcomes| json!({ "records": outcomes.len() }))
        },
    ))
    .await
}

impl SesIntake {
    /// An SNS notification (its records carry `Sns`) or an SES receipt.
    pub async fn dispatch(&self, event: serde_json::Value) -> Result<Vec<Outcome>, Error> {
        if event["Records"][0].get("Sns").is_some() {
            let event: SnsEvent = serde_json::from_value(event)
                .map_err(|e| format!("not an SNS notification: {e}"))?;
            self.handle_sending(&event).await
        } else {
            let event: SimpleEmailEvent = serde_json::from_value(event)
                .map_err(|e| format!("not an SES receipt event: {e}"))?;
            self.handle(&event).await
        }
    }
}
