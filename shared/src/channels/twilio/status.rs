//! A status callback about an SMS we sent → a [`DeliveryReport`] to apply behind the
//! queue (the reply's provider id may not be stored yet when Twilio calls).
//!
//! <https://www.twilio.com/docs/messaging/guides/track-outbound-message-status>

use super::inbound::{Normalized, is_sid, message_source};
use super::params::Params;
use crate::model::{Channel, DeliveryReport, DeliveryStatus, Inbound, ReportKind, SourceId};

pub fn normalize_status(params: &Params) -> Normalized {
    let Some(sid) = params.get("MessageSid").or_else(|| params.get("SmsSid")) else {
        return Normalized::Invalid("MessageSid is missing".into());
    };
    if !is_sid(sid, &["SM", "MM"]) {
        return Normalized::Invalid("MessageSid is not a Twilio message SID".into());
    }
    let Some(status) = params
        .get("MessageStatus")
        .or_else(|| params.get("SmsStatus"))
    else {
        return Normalized::Invalid("MessageStatus is missing".into());
    };
    let (status, error) = match status {
        "delivered" | "read" => (DeliveryStatus::Delivered, None),
        "undelivered" | "failed" => {
            let code = params
                .get("ErrorCode")
                .filter(|c| c.len() <= 10 && c.chars().all(|c| c.is_ascii_digit()));
            let reason = match code {
                Some(code) => format!(
                    "Twilio reports the SMS {status} (error {code}{})",
                    explain(code)
                ),
                None => format!("Twilio reports the SMS {status}"),
            };
            (DeliveryStatus::Failed, Some(reason))
        }
        // queued, sending, sent, accepted, scheduled…: the sender already says `sent`.
        _ => return Normalized::Ignored("a status that changes nothing"),
    };
    let report = Inbound::report(
        SourceId::new("twilio", &format!("status:{sid}:{}", status.as_str())),
        Channel::Sms,
        DeliveryReport {
            provider_id: message_source(sid).as_str().to_owned(),
            status,
            error,
            kind: ReportKind::Status,
        },
    );
    Normalized::News(Box::new(report))
}

/// The common delivery errors, in words an agent can act on.
fn explain(code: &str) -> &'static str {
    match code {
        "21610" | "30004" => ": the recipient blocked messages from us",
        "30003" => ": the handset is unreachable",
        "30005" => ": unknown or inactive number",
        "30006" => ": a landline or unreachable carrier",
        "30007" => ": filtered by the carrier",
        "30008" => ": unknown error at the carrier",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(form: &str) -> DeliveryReport {
        let params = Params::parse(form.trim().as_bytes()).unwrap();
        match normalize_status(&params) {
            Normalized::News(news) => match *news {
                Inbound::Report(r) => r.delivery_report,
                other => panic!("expected a delivery report, got {other:?}"),
            },
            other => panic!("no report: {other:?}"),
        }
    }

    #[test]
    fn delivered_and_undelivered_callbacks_become_reports() {
        let delivered = report(include_str!("fixtures/status_delivered.form"));
        assert_eq!(delivered.status, DeliveryStatus::Delivered);
        assert_eq!(
            delivered.provider_id,
            "twilio:SM5f2b3c4d5e6f708192a3b4c5d6e7f809"
        );
        let failed = report(include_str!("fixtures/status_undelivered.form"));
        assert_eq!(failed.status, DeliveryStatus::Failed);
        let reason = failed.error.unwrap();
        assert!(
            reason.contains("30003") && reason.contains("unreachable"),
            "{reason}"
        );
    }

    #[test]
    fn intermediate_statuses_and_garbage_change_nothing() {
        let sent =
            Params::parse(b"MessageSid=SM5f2b3c4d5e6f708192a3b4c5d6e7f809&MessageStatus=sent")
                .unwrap();
        assert!(matches!(normalize_status(&sent), Normalized::Ignored(_)));
        let bad = Params::parse(b"MessageSid=x&MessageStatus=delivered").unwrap();
        assert!(matches!(normalize_status(&bad), Normalized::Invalid(_)));
        let none = Params::parse(b"MessageStatus=delivered").unwrap();
        assert!(matches!(normalize_status(&none), Normalized::Invalid(_)));
    }
}
