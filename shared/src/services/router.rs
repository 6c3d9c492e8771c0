//! The router's handling of one queued inbound message.

use super::route::RoutePolicy;
use super::worker::{Handled, backoff};
use crate::model::InboundMessage;
use crate::ports::{Delivery, PortError, RouteOutcome, RoutingStore};

pub async fn handle_inbound(
    store: &dyn RoutingStore,
    policy: &RoutePolicy,
    delivery: Delivery,
) -> Handled {
    let message: InboundMessage = match serde_json::from_slice(&delivery.body) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(queue_message = %delivery.id, error = %e, "undecodable inbound message");
            return Handled::Retry {
                after: backoff(delivery.receive_count),
                reason: format!("undecodable: {e}"),
            };
        }
    };
    match store.route(&message, policy).await {
        Ok(RouteOutcome::Stored {
            message_id,
            conversation_id,
            contact_id,
            new_conversation,
        }) => {
            tracing::info!(%message_id, %conversation_id, %contact_id, new_conversation, channel = message.channel.as_str(), "message routed");
            Handled::Done
        }
        Ok(RouteOutcome::Duplicate { message_id }) => {
            tracing::info!(%message_id, source_id = message.source_id.as_str(), "duplicate delivery dropped");
            Handled::Done
        }
        Err(e) => {
            let level_error = !matches!(e, PortError::Unavailable(_) | PortError::Conflict(_));
            if level_error {
                tracing::error!(source_id = message.source_id.as_str(), error = %e, receives = delivery.receive_count, "routing failed");
            } else {
                tracing::warn!(source_id = message.source_id.as_str(), error = %e, receives = delivery.receive_count, "routing will be retried");
            }
            Handled::Retry {
                after: backoff(delivery.receive_count),
                reason: e.to_string(),
            }
        }
    }
}
