//! Turning a message's thread clues ([`ThreadRef`]) into the conversation it continues,
//! against what is stored: the first clue that names an existing conversation wins. The
//! policy then decides whether the sender may continue it (`services::route`).

use crate::channels::email::ReplyTokens;
use crate::model::{ConversationId, InboundMessage, MessageId, SourceId, ThreadHint, ThreadRef};
use crate::ports::{ConversationStore, MessageStore, PortResult};

/// What the clues lead to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    pub conversation: Option<ConversationId>,
    /// The key of the stored message the email answers (for `reply_to`).
    pub answers: Option<SourceId>,
}

pub async fn resolve(
    refs: &[ThreadRef],
    messages: &dyn MessageStore,
    conversations: &dyn ConversationStore,
    tokens: Option<&ReplyTokens>,
) -> PortResult<Resolved> {
    let mut resolved = Resolved::default();
    for clue in refs {
        let (found, key): (Option<ConversationId>, Option<SourceId>) = match clue {
            ThreadRef::Source { id } => (
                conversation_of(messages, messages.message_by_source_id(id).await?).await?,
                Some(id.clone()),
            ),
            ThreadRef::Provider { id } => (
                conversation_of(messages, messages.message_by_provider_id(id).await?).await?,
                Some(SourceId::from_stored(id.clone())),
            ),
            ThreadRef::Token { token } => (tokens.and_then(|t| t.verify(token)), None),
            ThreadRef::Subject { id } => (Some(*id), None),
        };
        let Some(id) = found else { continue };
        if conversations.conversation(id).await?.is_none() {
            continue;
        }
        resolved.conversation = Some(id);
        resolved.answers = key;
        break;
    }
    Ok(resolved)
}

async fn conversation_of(
    messages: &dyn MessageStore,
    id: Option<MessageId>,
) -> PortResult<Option<ConversationId>> {
    match id {
        Some(id) => Ok(messages.message(id).await?.map(|m| m.conversation_id)),
        None => Ok(None),
    }
}

/// Sets the message's thread hint from its clues; a message that already names its
/// conversation (a customer page) keeps it.
pub async fn apply(
    message: &mut InboundMessage,
    messages: &dyn MessageStore,
    conversations: &dyn ConversationStore,
    tokens: Option<&ReplyTokens>,
) -> PortResult<()> {
    if message.thread_refs.is_empty() || !matches!(message.thread, ThreadHint::None) {
        return Ok(());
    }
    let resolved = resolve(&message.thread_refs, messages, conversations, tokens).await?;
    if let Some(id) = resolved.conversation {
        tracing::info!(source_id = message.source_id.as_str(), conversation_id = %id, "email threaded");
        message.thread = ThreadHint::Conversation { id };
        if resolved.answers.is_some() {
            message.reply_to = resolved.answers;
        }
    }
    Ok(())
}
