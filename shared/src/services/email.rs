//! Taking in one raw email (from the webhook or `switchboard email import`): parse,
//! keep the raw bytes, normalize, enqueue. The routing happens behind the queue.

use crate::channels::email::{
    Bounce, InboundSettings, NormalizeError, Normalized, ParseError, ParseSettings, bounce_report,
    normalize, parse_email, raw_key, source_id,
};
use crate::model::SourceId;
use crate::ports::{Blob, BlobStore, PortError};
use crate::services::ingest::Ingest;
use std::sync::Arc;

#[derive(Clone)]
pub struct EmailIntake {
    pub ingest: Ingest,
    pub blobs: Arc<dyn BlobStore>,
    pub parse: ParseSettings,
    pub inbound: InboundSettings,
}

/// What became of one email.
#[derive(Clone, Debug, PartialEq)]
pub enum Intake {
    Queued(SourceId),
    Bounce(Bounce),
    Ignored(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Normalize(#[from] NormalizeError),
    #[error(transparent)]
    Port(#[from] PortError),
}

impl EmailIntake {
    /// Returns once the email is durable (raw bytes kept, message queued); a repeat of
    /// its sender and Message-ID (or of its bytes, without one) is dropped by the queue
    /// and the router.
    pub async fn accept(&self, raw: &[u8]) -> Result<Intake, IntakeError> {
        let parsed = parse_email(raw, &self.parse)?;
        let source = source_id(&parsed, raw);
        let key = raw_key(raw);
        match normalize(&parsed, source, &key, &self.inbound)? {
            Normalized::Ignored(reason) => Ok(Intake::Ignored(reason)),
            Normalized::Bounce(bounce) => {
                // The reply it names turns `failed` behind the queue (the sender may
                // not have recorded its id yet).
                if let Some(report) = bounce_report(&bounce, raw) {
                    self.ingest.submit(&report).await?;
                }
                Ok(Intake::Bounce(bounce))
            }
            Normalized::Message(message) => {
                let blob = Blob {
                    content_type: "message/rfc822".into(),
                    bytes: raw.to_vec(),
                };
                self.blobs.put(&key, blob).await?;
                self.ingest.submit(&*message).await?;
                Ok(Intake::Queued(message.source_id.clone()))
            }
        }
    }
}
