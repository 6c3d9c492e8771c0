//! A provider's news about a reply we sent (delivered, failed), applied to the reply.
//! Reports may come late, twice or out of order: only a reply still `sent` changes,
//! so a late `sent` never undoes `delivered` and a repeat changes nothing.

use crate::model::{DeliveryReport, DeliveryStatus, MessageId};
use crate::ports::{MessageStore, PortResult};

/// What became of one report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    Updated(MessageId),
    /// The reply had settled already (or the report says nothing new).
    Unchanged(MessageId),
    /// No reply has this provider id (yet: the sender may not have recorded it).
    Unknown,
}

pub async fn apply_report(
    messages: &dyn MessageStore,
    report: &DeliveryReport,
) -> PortResult<Applied> {
    let Some(id) = messages.message_by_provider_id(&report.provider_id).await? else {
        return Ok(Applied::Unknown);
    };
    let settles = matches!(
        report.status,
        DeliveryStatus::Delivered | DeliveryStatus::Failed
    );
    if settles
        && messages
            .settle_delivery(id, report.status, report.error.as_deref())
            .await?
    {
        Ok(Applied::Updated(id))
    } else {
        Ok(Applied::Unchanged(id))
    }
}
