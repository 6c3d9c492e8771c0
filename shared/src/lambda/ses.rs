//! `email-inbound`: Amazon SES receiving. A receipt rule stores the raw MIME in the bucket
//! (S3 action, key = prefix + SES message id), then invokes this function (Lambda action,
//! asynchronously) with the receipt: no body, but the spam, virus, SPF, DKIM and DMARC
//! verdicts. The function reads the object and takes the email in exactly like
//! `POST /webhooks/email`, with the verdicts deciding what the email is worth. The same
//! function takes the sending events of our replies (`ses_events`).

use super::Error;
use crate::ports::{Blob, BlobStore, PortError};
use crate::services::email::{EmailIntake, Intake};
use aws_lambda_events::event::ses::{
    SimpleEmailEvent, SimpleEmailReceipt, SimpleEmailRecord, SimpleEmailVerdict,
};

use serde_json::json;
use std::sync::Arc;

/// What SES's verdicts make of one email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// A virus: kept where SES wrote it and recorded under `email/quarantine/`, never
    /// shown in the inbox.
    Quarantine,
    /// Taken in. `proven`: the sender's domain passed DMARC, so the `From` address is
    /// theirs and links to their contact directly. `spam`: SES judged it spam; its
    /// conversation is tagged `spam` (a filter in the inbox).
    Accept { proven: bool, spam: bool },
}

fn status(verdict: &SimpleEmailVerdict) -> &str {
    verdict.status.as_deref().unwrap_or("")
}

impl Disposition {
    /// DMARC is the verdict about the `From` header itself (SPF checks the envelope
    /// sender, DKIM any signing domain; DMARC passes only when one of them passed for the
    /// `From` domain), so it alone proves the address. GRAY (no DMARC policy), FAIL and
    /// PROCESSING_FAILED leave it a claimed identity.
    pub fn of(receipt: &SimpleEmailReceipt) -> Self {
        if status(&receipt.virus_verdict).eq_ignore_ascii_case("FAIL") {
            return Self::Quarantine;
        }
        Self::Accept {
            proven: status(&receipt.dmarc_verdict).eq_ignore_ascii_case("PASS"),
            spam: status(&receipt.spam_verdict).eq_ignore_ascii_case("FAIL"),
        }
    }
}

/// The function's service: the object prefix, the bucket, and the intake the webhook
/// uses.
#[derive(Clone)]
pub struct SesIntake {
    pub prefix: String,
    pub blobs: Arc<dyn BlobStore>,
    pub intake: EmailIntake,
}

impl std::fmt::Debug for SesIntake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SesIntake")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// What became of one record.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Taken(Intake),
    Quarantined {
        key: String,
    },
    /// A sending event about a reply, queued for the router.
    Reported(crate::model::SourceId),
    /// A sending event that changes nothing, logged.
    Logged,
}

impl SesIntake {
    /// Every record of the event. An error fails the invocation: Lambda tries an
    /// asynchronous event twice more, and the queue and router drop what was already taken.
    pub async fn handle(&self, event: &SimpleEmailEvent) -> Result<Vec<Outcome>, Error> {
        let mut outcomes = Vec::with_capacity(event.records.len());
        for record in &event.records {
            outcomes.push(self.record(record).await?);
        }
        Ok(outcomes)
    }

    async fn record(&self, record: &SimpleEmailRecord) -> Result<Outcome, Error> {
        let id = record
            .ses
            .mail
            .message_id
            .as_deref()
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .ok_or("an SES record without a usable mail.messageId")?;
        let key = format!("{}{id}", self.prefix);
        let raw =
            self.blobs.get(&key).await?.ok_or_else(|| {
                PortError::Internal(format!("the email {key} is not in the bucket"))
            })?;
        match Disposition::of(&record.ses.receipt) {
            Disposition::Quarantine => {
                self.quarantine(id, &key, record).await?;
                tracing::warn!(key, "email with a virus quarantined");
                Ok(Outcome::Quarantined { key })
            }
            Disposition::Accept { proven, spam } => {
                let mut intake = self.intake.clone();
                intake.inbound.from_proven = proven;
                if spam {
                    // The router tags the conversation `spam`.
                    intake
                        .inbound
                        .notes
                        .push(("spam".to_owned(), "yes".to_owned()));
                }
                let taken = intake.accept(&raw.bytes).await.map_err(|e| e.to_string())?;
                tracing::info!(key, proven, spam, outcome = ?taken, "SES email taken in");
                Ok(Outcome::Taken(taken))
            }
        }
    }

    /// A small record next to nothing the inbox reads: which email, from whom, why.
    async fn quarantine(
        &self,
        id: &str,
        key: &str,
        record: &SimpleEmailRecord,
    ) -> Result<(), PortError> {
        let mail = &record.ses.mail;
        let note = json!({
            "object": key,
            "source": mail.source,
            "from": mail.common_headers.from,
            "subject": mail.common_headers.subject,
            "received_at": record.ses.receipt.timestamp,
            "virus_verdict": status(&record.ses.receipt.virus_verdict),
            "spam_verdict": status(&record.ses.receipt.spam_verdict),
        });
        let blob = Blob {
            content_type: "application/json".into(),
            bytes: note.to_string().into_bytes(),
        };
        self.blobs
            .put(&format!("email/quarantine/{id}.json"), blob)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A receipt event as SES sends it to a Lambda action (the documented shape).
    fn event(virus: &str, spam: &str, dmarc: &str) -> SimpleEmailEvent {
        serde_json::from_value(json!({
          "Records": [{
            "eventSource": "aws:ses",
            "eventVersion": "1.0",
            "ses": {
              "mail": {
                "timestamp": "2026-11-24T08:00:00.000Z",
                "source": "sara@example.com",
                "messageId": "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1",
                "destination": ["support@example.org"],
                "headersTruncated": false,
                "headers": [{"name": "From", "value": "Sara <sara@example.com>"}],
                "commonHeaders": {
                  "returnPath": "sara@example.com",
                  "from": ["Sara <sara@example.com>"],
                  "date": "Tue, 24 Nov 2026 08:00:00 +0000",
                  "to": ["support@example.org"],
                  "messageId": "<CAF1@mail.example.com>",
                  "subject": "Payment failed"
                }
              },
              "receipt": {
                "timestamp": "2026-11-24T08:00:00.000Z",
                "processingTimeMillis": 574,
                "recipients": ["support@example.org"],
                "spamVerdict": {"status": spam},
                "virusVerdict": {"status": virus},
                "spfVerdict": {"status": "PASS"},
                "dkimVerdict": {"status": "PASS"},
                "dmarcVerdict": {"status": dmarc},
                "dmarcPolicy": "reject",
                "action": {
                  "type": "Lambda",
                  "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:email-inbound",
                  "invocationType": "Event"
                }
              }
            }
          }]
        }))
        .expect("an SES receipt event")
    }

    fn disposition(virus: &str, spam: &str, dmarc: &str) -> Disposition {
        Disposition::of(&event(virus, spam, dmarc).records[0].ses.receipt)
    }

    #[test]
    fn a_virus_is_quarantined_whatever_else_passed() {
        assert_eq!(disposition("FAIL", "PASS", "PASS"), Disposition::Quarantine);
    }

    #[test]
    fn only_a_dmarc_pass_proves_the_sender() {
        let accepted = |proven| Disposition::Accept {
            proven,
            spam: false,
        };
        assert_eq!(disposition("PASS", "PASS", "PASS"), accepted(true));
        for dmarc in ["GRAY", "FAIL", "PROCESSING_FAILED", ""] {
            assert_eq!(
                disposition("PASS", "PASS", dmarc),
                accepted(false),
                "{dmarc}"
            );
        }
    }

    #[test]
    fn spam_is_taken_in_and_flagged() {
        assert_eq!(
            disposition("PASS", "FAIL", "GRAY"),
            Disposition::Accept {
                proven: false,
                spam: true
            }
        );
        // A verdict SES could not reach is not a finding either way.
        assert_eq!(
            disposition("PROCESSING_FAILED", "PROCESSING_FAILED", "PASS"),
            Disposition::Accept {
                proven: true,
                spam: false
            }
        );
    }
}
