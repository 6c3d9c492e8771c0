//! `email-inbound`'s second source: the SNS topic the configuration set publishes our
//! replies' sending events to (bounce, complaint, delivery). Each notification carries
//! one SES event as its `Message`; a report it makes is queued for the router, which
//! applies it to the reply behind the queue (as a bounce email's report is).
//!
//! <https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html>

use super::Error;
use super::ses::{Outcome, SesIntake};
use crate::channels::email::ses_events::{SesNews, sending_event};
use serde::Deserialize;

/// An SNS notification as Lambda receives it; only what we read.
#[derive(Debug, Deserialize)]
pub struct SnsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SnsRecord>,
}

#[derive(Debug, Deserialize)]
pub struct SnsRecord {
    #[serde(rename = "Sns")]
    pub sns: SnsMessage,
}

#[derive(Debug, Deserialize)]
pub struct SnsMessage {
    #[serde(rename = "MessageId")]
    pub message_id: Option<String>,
    /// The SES event, as JSON text.
    #[serde(rename = "Message")]
    pub message: String,
}

impl SesIntake {
    /// Every notification of the event. A malformed one fails the invocation with its
    /// reason and queues nothing (the error alarm shows it); a queue that cannot take the
    /// report fails it too, and Lambda tries again.
    pub async fn handle_sending(&self, event: &SnsEvent) -> Result<Vec<Outcome>, Error> {
        let mut outcomes = Vec::with_capacity(event.records.len());
        for record in &event.records {
            let notification = record.sns.message_id.as_deref().unwrap_or("");
            let news = sending_event(&record.sns.message).map_err(|e| {
                tracing::error!(notification, error = %e, "unreadable SES sending event");
                format!("SNS notification {notification}: {e}")
            })?;
            match news {
                SesNews::Report(message) => {
                    self.intake.ingest.submit(&*message).await?;
                    let report = message.delivery_report();
                    tracing::info!(
                        notification,
                        provider_id = report.map(|r| r.provider_id.as_str()),
                        status = report.map(|r| r.status.as_str()),
                        "SES sending event queued"
                    );
                    outcomes.push(Outcome::Reported(message.source_id().clone()));
                }
                SesNews::Logged {
                    event,
                    ses_message_id,
                    detail,
                } => {
                    tracing::info!(
                        notification,
                        event,
                        ses_message_id,
                        detail,
                        "SES sending event logged"
                    );
                    outcomes.push(Outcome::Logged);
                }
            }
        }
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeliveryStatus;

    #[test]
    fn the_ses_event_is_read_from_the_sns_notification() {
        let event: SnsEvent = serde_json::from_str(include_str!(
            "../channels/email/fixtures/ses/sns_envelope.json"
        ))
        .unwrap();
        assert_eq!(event.records.len(), 1);
        match sending_event(&event.records[0].sns.message).unwrap() {
            SesNews::Report(message) => {
                let report = message.delivery_report().cloned().unwrap();
                assert_eq!(report.status, DeliveryStatus::Delivered);
                assert_eq!(
                    report.provider_id,
                    "email:0102019347a1b8e4-6c1d0f52-93b7-4a77-b0a4-3f2e9d1c5a6b-000000@email.amazonses.com"
                );
            }
            other => panic!("expected a report, got {other:?}"),
        }
    }
}
