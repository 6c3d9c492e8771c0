//! What a customer's private page shows: their own messages and the replies that went
//! out to them, newest [`PAGE_MESSAGES`] at a time, with a way back to older ones. The
//! page is public to whoever holds its link, so each view reads a bounded amount.

use crate::model::{Channel, ConversationId, DeliveryStatus, Direction, Message};
use crate::ports::{ConversationStore, PortResult};
use ulid::Ulid;

/// Messages one view of the page shows.
pub const PAGE_MESSAGES: usize = 50;

/// Windows of the store read for one view: replies the customer does not see (queued or
/// failed) are skipped without reading a whole conversation to fill a page.
const MAX_WINDOWS: usize = 4;

/// Notes and events never show; a reply shows once it went out, and a reply on the page
/// itself at once: the page is its channel, whatever becomes of the email or SMS that
/// also carries it.
pub fn shown_to_customer(m: &Message) -> bool {
    m.direction == Direction::Inbound
        || m.channel == Channel::Web
        || matches!(
            m.delivery_status,
            DeliveryStatus::Sent | DeliveryStatus::Delivered
        )
}

/// One view of the page.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerView {
    /// Oldest first, as a conversation reads.
    pub messages: Vec<Message>,
    /// Where the view of older messages starts; none when there are none.
    pub older: Option<Ulid>,
}

/// The newest [`PAGE_MESSAGES`] shown messages before `before` (from the newest when none).
pub async fn view(
    store: &dyn ConversationStore,
    id: ConversationId,
    before: Option<Ulid>,
) -> PortResult<CustomerView> {
    let mut shown = Vec::new();
    let mut position = before;
    for _ in 0..MAX_WINDOWS {
        let window = store.messages_before(id, position, PAGE_MESSAGES).await?;
        shown.extend(window.messages.into_iter().filter(shown_to_customer));
        position = window.older;
        if shown.len() >= PAGE_MESSAGES {
            if shown.len() > PAGE_MESSAGES || position.is_some() {
                // Older ones remain: the next view starts after the last one shown.
                shown.truncate(PAGE_MESSAGES);
                position = shown.last().map(|m| m.id.ulid());
            }
            break;
        }
        if position.is_none() {
            break;
        }
    }
    shown.reverse();
    Ok(CustomerView {
        messages: shown,
        older: position,
    })
}
