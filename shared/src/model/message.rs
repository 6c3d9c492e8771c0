use super::conversation::str_enum;
use super::{AgentId, ContactId, ConversationId, MessageId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    Email,
    Telegram,
    Sms,
    Voice,
}

str_enum!(Channel { Web => "web", Email => "email", Telegram => "telegram", Sms => "sms", Voice => "voice" });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

str_enum!(Direction { Inbound => "inbound", Outbound => "outbound" });

/// Where a message stands on its way to or from the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// An inbound message, stored.
    Received,
    /// A reply waiting for the sender.
    Queued,
    /// Being handed to the provider now. A reply found still sending after its sender
    /// stopped is failed, never sent again: it may have reached the customer already.
    Sending,
    /// Handed to the provider.
    Sent,
    /// The provider confirmed delivery (or the customer page shows it).
    Delivered,
    /// The provider refused it; `delivery_error` says why.
    Failed,
}

str_enum!(DeliveryStatus {
    Received => "received", Queued => "queued", Sending => "sending", Sent => "sent", Delivered => "delivered", Failed => "failed"
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Author {
    Contact {
        contact_id: ContactId,
    },
    Agent {
        agent_id: AgentId,
    },
    /// Switchboard itself: an automatic answer (a channel's welcome text).
    System,
}

/// A file that came with or went out with a message; the bytes live in the blob store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    /// Where the bytes are; empty while they are still at the provider (or could not
    /// be fetched: `fetch_error` says why).
    pub blob_key: String,
    pub filename: Option<String>,
    pub content_type: String,
    pub size: u64,
    /// The provider's own reference to the file (a Telegram `file_id`), to fetch it by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_ref: Option<String>,
    /// Why the bytes could not be fetched (too large, gone at the provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_error: Option<String>,
}

impl Attachment {
    /// A file still at the provider, to be fetched behind the queue.
    pub fn at_provider(
        provider_ref: String,
        filename: Option<String>,
        content_type: Option<String>,
        size: Option<u64>,
    ) -> Self {
        Self {
            blob_key: String::new(),
            filename,
            content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
            size: size.unwrap_or(0),
            provider_ref: Some(provider_ref),
            fetch_error: None,
        }
    }

    /// True once the bytes are in the blob store.
    pub fn is_stored(&self) -> bool {
        !self.blob_key.is_empty()
    }
}

/// The provider's own id for an inbound message (`webform:<key>`, `telegram:<update>`);
/// a message with a given source id is stored at most once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceId(String);

impl SourceId {
    pub fn new(provider: &str, id: &str) -> Self {
        Self(format!("{provider}:{id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    pub direction: Direction,
    pub channel: Channel,
    pub author: Author,
    /// Exactly as the customer or agent wrote it.
    pub text: String,
    pub attachments: Vec<Attachment>,
    #[schema(value_type = Option<String>)]
    pub source_id: Option<SourceId>,
    pub delivery_status: DeliveryStatus,
    pub delivery_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The message this one answers (a Telegram reply), when it is stored.
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    /// The message this one is an edit of; the original is kept as it was.
    #[serde(default)]
    pub edit_of: Option<MessageId>,
    /// Messages sent together (a Telegram album) share this key; show them as one.
    #[serde(default)]
    pub media_group: Option<String>,
    /// The id the customer's own system gave it (an email's Message-ID): what a reply
    /// to it names in `In-Reply-To`.
    #[serde(default)]
    pub external_id: Option<String>,
    /// What the channel said beside the text, for the agent: the page a form was sent
    /// from, an email's quoted history, a call's outcome.
    #[serde(default)]
    pub context: Vec<ContextEntry>,
    /// The blob key of the message exactly as it arrived (an email's raw MIME), served by
    /// `GET /v1/messages/{id}/original`.
    #[serde(default)]
    pub original: Option<String>,
    /// The addresses a customer's message came from (its sender's; for a web-form
    /// submission, the email and phone typed on it): the only addresses besides the
    /// customer's proven ones that a reply to it may go to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub sent_from: Vec<super::Identity>,
    /// The id the provider gave our reply once it took it (`<channel>:<id>`: a Twilio
    /// message SID, a Telegram message, an SES message id); delivery reports name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
}

impl Message {
    /// An agent's message to the customer: the answer they were waiting for (an
    /// automatic one is not).
    pub fn answers_the_customer(&self) -> bool {
        self.direction == Direction::Outbound && matches!(self.author, Author::Agent { .. })
    }

    /// A message to the customer of `conversation`, queued for the sender: an agent's
    /// reply, an automatic answer, or a notice no conversation keeps.
    pub fn outbound(
        conversation: ConversationId,
        contact: ContactId,
        channel: Channel,
        author: Author,
        text: &str,
    ) -> Self {
        Self {
            id: MessageId::new(),
            conversation_id: conversation,
            contact_id: contact,
            direction: Direction::Outbound,
            channel,
            author,
            text: text.to_owned(),
            attachments: Vec::new(),
            source_id: None,
            delivery_status: DeliveryStatus::Queued,
            delivery_error: None,
            created_at: Utc::now(),
            reply_to: None,
            edit_of: None,
            media_group: None,
            external_id: None,
            context: Vec::new(),
            original: None,
            sent_from: Vec::new(),
            provider_id: None,
        }
    }
}

/// One fact the channel gave beside a message's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContextEntry {
    pub name: String,
    pub value: String,
}

/// The most of a message's text that is stored, in bytes of UTF-8: with its context
/// and attachments it keeps a message within one DynamoDB item (400 KB).
pub const MAX_STORED_TEXT_BYTES: usize = 128 * 1024;

/// The most of a message's context that is stored, in bytes of UTF-8, all entries
/// together.
pub const MAX_STORED_CONTEXT_BYTES: usize = 128 * 1024;

/// `text` cut at a character boundary to at most `max` bytes, saying where the rest is.
pub fn bounded_text(text: &str, max: usize, rest_is_in_original: bool) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let note = if rest_is_in_original {
        "\n\n[… cut here: the whole text is in the original message]"
    } else {
        "\n\n[… cut here: the text was too long to keep]"
    };
    let mut end = max.saturating_sub(note.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{note}", &text[..end])
}

/// `context` as stored: in order, within [`MAX_STORED_CONTEXT_BYTES`] altogether (a
/// long value is cut, entries past the limit are dropped).
pub fn bounded_context(
    context: &[(String, String)],
    rest_is_in_original: bool,
) -> Vec<ContextEntry> {
    let mut left = MAX_STORED_CONTEXT_BYTES;
    let mut entries = Vec::with_capacity(context.len());
    for (name, value) in context {
        let name = bounded_text(name, 256, false);
        if left < name.len() + 128 {
            break;
        }
        left -= name.len();
        let value = bounded_text(value, left, rest_is_in_original);
        left -= value.len();
        entries.push(ContextEntry { name, value });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_within_the_limit_is_kept_whole() {
        assert_eq!(bounded_text("سلام", 8, true), "سلام");
    }

    #[test]
    fn a_long_text_is_cut_at_a_character_and_says_where_the_rest_is() {
        let text = "ab".to_owned() + &"س".repeat(1000);
        for max in [100, 101, 102, 103] {
            let cut = bounded_text(&text, max, true);
            assert!(cut.len() <= max, "{max}: {}", cut.len());
            assert!(cut.starts_with("abس"));
            assert!(cut.ends_with("the whole text is in the original message]"));
        }
        assert!(bounded_text(&text, 200, false).ends_with("too long to keep]"));
    }

    #[test]
    fn context_keeps_its_order_within_its_limit_altogether() {
        let context = vec![
            ("page".to_owned(), "/contact".to_owned()),
            (
                "Quoted history".to_owned(),
                "x".repeat(MAX_STORED_CONTEXT_BYTES),
            ),
            ("after".to_owned(), "dropped".to_owned()),
        ];
        let kept = bounded_context(&context, true);
        assert_eq!(kept[0].value, "/contact");
        assert_eq!(kept[1].name, "Quoted history");
        let total: usize = kept.iter().map(|e| e.name.len() + e.value.len()).sum();
        assert!(total <= MAX_STORED_CONTEXT_BYTES, "{total}");
        assert_eq!(kept.len(), 2, "no room is left for the third");
    }
}
