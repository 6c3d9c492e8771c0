//! What Amazon SES tells us about a reply it sent: the configuration set's event
//! destination publishes Bounce, Complaint and Delivery events (an SNS topic hands each
//! to `email-inbound` as the notification's `Message`). Each names the reply by the id
//! `SendEmail` returned (`mail.messageId`), the one the SES sender stored.
//!
//! - a permanent bounce fails the reply with the recipient's status and diagnostic;
//! - a delivery marks it delivered;
//! - a complaint (the customer pressed "spam") marks it delivered (they got it) and tags
//!   its conversation `complaint`;
//! - a transient or undetermined bounce (a full mailbox; SES is still trying or gave up
//!   softly), and any other event type, are only logged.
//!
//! Event publishing names the type `eventType`; an identity's feedback notifications,
//! which have the same shape, name it `notificationType`: both are read.
//!
//! <https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html>

use crate::model::{Channel, DeliveryReport, DeliveryStatus, Inbound, ReportKind, SourceId};
use serde::Deserialize;

/// The longest diagnostic kept on a failed reply.
const MAX_REASON_CHARS: usize = 1000;

/// One sending event. Fields we do not use are left unread.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendingEvent {
    event_type: Option<String>,
    notification_type: Option<String>,
    mail: Mail,
    bounce: Option<BounceInfo>,
    complaint: Option<ComplaintInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    message_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BounceInfo {
    bounce_type: String,
    bounce_sub_type: Option<String>,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: Option<String>,
    status: Option<String>,
    diagnostic_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ComplaintInfo {
    complaint_feedback_type: Option<String>,
}

/// What one event becomes.
#[derive(Clone, Debug, PartialEq)]
pub enum SesNews {
    /// A report to queue; the router applies it to the reply.
    Report(Box<Inbound>),
    /// Nothing changes; the log says what happened.
    Logged {
        event: String,
        ses_message_id: String,
        detail: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SesEventError {
    #[error("not an SES sending event: {0}")]
    Malformed(String),
    #[error("the event's mail.messageId is not an SES message id")]
    BadMessageId,
}

/// Reads one event (the JSON SES published).
pub fn sending_event(json: &str) -> Result<SesNews, SesEventError> {
    let event: SendingEvent =
        serde_json::from_str(json).map_err(|e| SesEventError::Malformed(e.to_string()))?;
    let id = event.mail.message_id.trim();
    if !is_ses_id(id) {
        return Err(SesEventError::BadMessageId);
    }
    let kind = event
        .event_type
        .or(event.notification_type)
        .ok_or_else(|| SesEventError::Malformed("no eventType".into()))?;
    let logged = |detail: String| SesNews::Logged {
        event: kind.clone(),
        ses_message_id: id.to_owned(),
        detail,
    };
    match kind.as_str() {
        "Delivery" => Ok(report(
            id,
            "delivery",
            DeliveryStatus::Delivered,
            None,
            ReportKind::Status,
        )),
        "Complaint" => {
            let feedback = event
                .complaint
                .and_then(|c| c.complaint_feedback_type)
                .unwrap_or_else(|| "unspecified".into());
            tracing::warn!(
                ses_message_id = id,
                feedback,
                "the recipient complained about a reply"
            );
            Ok(report(
                id,
                "complaint",
                DeliveryStatus::Delivered,
                None,
                ReportKind::Complaint,
            ))
        }
        "Bounce" => {
            let bounce = event
                .bounce
                .ok_or_else(|| SesEventError::Malformed("a Bounce without bounce".into()))?;
            let reason = bounce_reason(&bounce);
            if bounce.bounce_type.eq_ignore_ascii_case("Permanent") {
                Ok(report(
                    id,
                    "bounce",
                    DeliveryStatus::Failed,
                    Some(reason),
                    ReportKind::Status,
                ))
            } else {
                Ok(logged(format!(
                    "a {} bounce ({}), not final: {reason}",
                    bounce.bounce_type.to_lowercase(),
                    bounce.bounce_sub_type.as_deref().unwrap_or("no subtype")
                )))
            }
        }
        _ => Ok(logged("an event that changes nothing".into())),
    }
}

/// SES message ids are letters, digits and dashes (`0102019347a1b8e4-…-000000`).
fn is_ses_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 200 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `the email to sara@example.com bounced: 5.1.1 smtp; 550 5.1.1 … User unknown`, as the
/// DSN path words it.
fn bounce_reason(bounce: &BounceInfo) -> String {
    let recipient = bounce.bounced_recipients.first();
    let to = recipient.and_then(|r| r.email_address.as_deref());
    let detail = recipient
        .map(|r| {
            [r.status.as_deref(), r.diagnostic_code.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| {
            format!(
                "{} bounce ({})",
                bounce.bounce_type,
                bounce.bounce_sub_type.as_deref().unwrap_or("no subtype")
            )
        });
    let reason = match to {
        Some(to) => format!("the email to {to} bounced: {detail}"),
        None => format!("the email bounced: {detail}"),
    };
    reason.chars().take(MAX_REASON_CHARS).collect()
}

fn report(
    ses_id: &str,
    kind: &str,
    status: DeliveryStatus,
    error: Option<String>,
    report_kind: ReportKind,
) -> SesNews {
    SesNews::Report(Box::new(Inbound::report(
        // One report per reply and kind: SNS may deliver an event twice.
        SourceId::new("ses", &format!("{kind}:{ses_id}")),
        Channel::Email,
        DeliveryReport {
            provider_id: super::thread::provider_key(&format!("{ses_id}@email.amazonses.com")),
            status,
            error,
            kind: report_kind,
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str =
        "email:0102019347a1b8e4-6c1d0f52-93b7-4a77-b0a4-3f2e9d1c5a6b-000000@email.amazonses.com";

    fn delivery_report(json: &str) -> (SourceId, DeliveryReport) {
        match sending_event(json).unwrap() {
            SesNews::Report(m) => (m.source_id().clone(), m.delivery_report().cloned().unwrap()),
            other => panic!("expected a report, got {other:?}"),
        }
    }

    #[test]
    fn a_permanent_bounce_fails_the_reply_with_the_diagnostic() {
        let (source, report) = delivery_report(include_str!("fixtures/ses/bounce_permanent.json"));
        assert_eq!(report.provider_id, REPLY);
        assert_eq!(report.status, DeliveryStatus::Failed);
        assert_eq!(report.kind, ReportKind::Status);
        assert_eq!(
            report.error.as_deref(),
            Some(
                "the email to sara@example.com bounced: 5.1.1 smtp; 550 5.1.1 <sara@example.com>: Recipient address rejected: User unknown in virtual mailbox table"
            )
        );
        assert_eq!(
            source.as_str(),
            "ses:bounce:0102019347a1b8e4-6c1d0f52-93b7-4a77-b0a4-3f2e9d1c5a6b-000000"
        );
    }

    #[test]
    fn the_reply_is_named_as_the_ses_sender_stored_it() {
        // What `SesSender` stores for the id SendEmail returned.
        let stored = super::super::thread::provider_key(
            "0102019347a1b8e4-6c1d0f52-93b7-4a77-b0a4-3f2e9d1c5a6b-000000@email.amazonses.com",
        );
        let (_, report) = delivery_report(include_str!("fixtures/ses/delivery.json"));
        assert_eq!(report.provider_id, stored);
    }

    #[test]
    fn a_delivery_marks_the_reply_delivered() {
        let (source, report) = delivery_report(include_str!("fixtures/ses/delivery.json"));
        assert_eq!(report.status, DeliveryStatus::Delivered);
        assert_eq!(report.error, None);
        assert!(source.as_str().starts_with("ses:delivery:"));
    }

    #[test]
    fn a_complaint_is_a_delivered_reply_whose_conversation_is_tagged() {
        let (source, report) = delivery_report(include_str!("fixtures/ses/complaint.json"));
        assert_eq!(report.provider_id, REPLY);
        assert_eq!(report.status, DeliveryStatus::Delivered);
        assert_eq!(report.kind, ReportKind::Complaint);
        assert!(source.as_str().starts_with("ses:complaint:"));
    }

    #[test]
    fn a_transient_bounce_is_only_logged() {
        match sending_event(include_str!("fixtures/ses/bounce_transient.json")).unwrap() {
            SesNews::Logged { event, detail, .. } => {
                assert_eq!(event, "Bounce");
                assert!(detail.contains("transient"), "{detail}");
                assert!(detail.contains("4.2.2"), "{detail}");
            }
            other => panic!("expected a log line, got {other:?}"),
        }
    }

    #[test]
    fn an_identity_notification_reads_like_an_event() {
        let (_, report) = delivery_report(include_str!(
            "fixtures/ses/identity_notification_bounce.json"
        ));
        assert_eq!(report.status, DeliveryStatus::Failed);
        assert!(report.error.unwrap().contains("suppressed"));
    }

    #[test]
    fn other_event_types_change_nothing() {
        let open = r#"{"eventType":"Open","mail":{"messageId":"0102abc-000000"},"open":{"ipAddress":"192.0.2.1"}}"#;
        assert!(matches!(sending_event(open), Ok(SesNews::Logged { .. })));
    }

    #[test]
    fn malformed_events_are_refused_without_a_panic() {
        for json in [
            "",
            "null",
            "[]",
            "{}",
            r#"{"eventType":"Bounce"}"#,
            r#"{"eventType":"Bounce","mail":{"messageId":"0102abc-000000"}}"#,
            r#"{"mail":{"messageId":"0102abc-000000"}}"#,
            r#"{"eventType":"Delivery","mail":{"messageId":""}}"#,
            r#"{"eventType":"Delivery","mail":{"messageId":"<x@evil.example>"}}"#,
            r#"{"eventType":"Delivery","mail":{"messageId":42}}"#,
            r#"{"eventType":"Bounce","mail":{"messageId":"a-1"},"bounce":{"bounceType":7}}"#,
        ] {
            assert!(sending_event(json).is_err(), "{json}");
        }
        let long = format!(
            r#"{{"eventType":"Delivery","mail":{{"messageId":"{}"}}}}"#,
            "a".repeat(201)
        );
        assert_eq!(sending_event(&long), Err(SesEventError::BadMessageId));
    }

    #[test]
    fn a_bounce_without_recipients_still_says_what_kind_it_was() {
        let json = r#"{"eventType":"Bounce","mail":{"messageId":"a-1"},"bounce":{"bounceType":"Permanent","bounceSubType":"OnAccountSuppressionList"}}"#;
        let (_, report) = delivery_report(json);
        assert_eq!(
            report.error.as_deref(),
            Some("the email bounced: Permanent bounce (OnAccountSuppressionList)")
        );
    }
}
