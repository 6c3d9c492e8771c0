//! What an agent is shown beside a conversation before they type: the articles that
//! answer the customer's latest words, the most similar conversations the team already
//! resolved with the reply that resolved each (the team's own knowledge, learned from its
//! data), and the tags those conversations carried.
//!
//! The resolved conversations are read, not copied: a process indexes the latest
//! [`LEARNED_FROM`] resolved conversations' questions for [`RELEARN`], and shows a
//! similar one only while it still exists (an erased customer's leaves at once).

use super::error::{ServiceError, ServiceResult};
use super::knowledge::Knowledge;
use crate::model::knowledge::{Document, Hit, KnowledgeIndex, search_terms};
use crate::model::{Conversation, ConversationId, ConversationStatus, Direction};
use crate::ports::{ConversationFilter, ConversationStore, PageRequest, StatusFilter};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Resolved conversations the similar ones are found among: the latest ones.
pub const LEARNED_FROM: u32 = 100;
/// How long a process keeps what it learned before reading again.
pub const RELEARN: Duration = Duration::from_secs(120);
/// Most characters of a question or an answer kept.
const EXCERPT: usize = 600;
/// Tags that say what the bot did, not what the conversation is about.
const BOT_TAGS: [&str; 3] = [
    super::answer_first::ANSWERED_TAG,
    super::answer_first::SELF_SERVED_TAG,
    super::answer_first::HANDED_OVER_TAG,
];

/// A conversation the team resolved: what the customer asked and the reply that
/// answered it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ResolvedAnswer {
    pub conversation_id: ConversationId,
    /// The customer's first words in it.
    pub question: String,
    /// The agent's last reply before it was resolved.
    pub answer: String,
    pub resolved_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    #[serde(skip)]
    terms: String,
}

impl Document for ResolvedAnswer {
    fn terms(&self) -> &str {
        &self.terms
    }

    fn language(&self) -> &str {
        ""
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SuggestedTag {
    pub tag: String,
    /// How many of the similar conversations carried it.
    pub count: usize,
}

/// What the suggestions are, before the API shapes its articles.
pub struct Suggested {
    pub articles: Vec<Hit>,
    pub similar: Vec<ResolvedAnswer>,
    pub tags: Vec<SuggestedTag>,
}

#[derive(Default)]
pub struct LearnedCache(tokio::sync::Mutex<Option<(Instant, Arc<KnowledgeIndex<ResolvedAnswer>>)>>);

#[derive(Clone)]
pub struct Suggestions {
    pub knowledge: Knowledge,
    pub conversations: Arc<dyn ConversationStore>,
    pub learned: Arc<LearnedCache>,
}

impl Suggestions {
    /// The suggestions for the conversation `id`, from its customer's latest words.
    pub async fn for_conversation(&self, id: ConversationId) -> ServiceResult<Suggested> {
        let conversation = self
            .conversations
            .conversation(id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let question = self.customer_words(&conversation).await?;
        if question.trim().is_empty() {
            return Ok(Suggested {
                articles: Vec::new(),
                similar: Vec::new(),
                tags: Vec::new(),
            });
        }
        let articles = self.knowledge.search(&question, None, 3).await?;
        let learned = self.learned().await?;
        let mut similar = Vec::new();
        for hit in learned.search(&question, None, 6) {
            if hit.doc.conversation_id == id {
                continue;
            }
            // Still there: an erased customer's conversation is never shown.
            if self
                .conversations
                .conversation(hit.doc.conversation_id)
                .await?
                .is_some()
            {
                similar.push(hit.doc);
            }
            if similar.len() == 3 {
                break;
            }
        }
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for answer in &similar {
            for tag in &answer.tags {
                if !conversation.tags.contains(tag) && !BOT_TAGS.contains(&tag.as_str()) {
                    *counts.entry(tag.clone()).or_default() += 1;
                }
            }
        }
        let mut tags: Vec<SuggestedTag> = counts
            .into_iter()
            .map(|(tag, count)| SuggestedTag { tag, count })
            .collect();
        tags.sort_by(|a, b| b.count.cmp(&a.count).then(a.tag.cmp(&b.tag)));
        tags.truncate(5);
        Ok(Suggested {
            articles,
            similar,
            tags,
        })
    }

    /// The customer's latest words in the conversation (see [`customer_words`]).
    async fn customer_words(&self, conversation: &Conversation) -> ServiceResult<String> {
        let latest = self
            .conversations
            .latest_messages(conversation.id, 10)
            .await?;
        Ok(customer_words(conversation, &latest))
    }

    /// The latest resolved conversations, indexed by their questions.
    async fn learned(&self) -> ServiceResult<Arc<KnowledgeIndex<ResolvedAnswer>>> {
        let mut held = self.learned.0.lock().await;
        if let Some((at, index)) = held.as_ref()
            && at.elapsed() < RELEARN
        {
            return Ok(index.clone());
        }
        let filter = ConversationFilter {
            status: StatusFilter::Only(ConversationStatus::Resolved),
            ..ConversationFilter::default()
        };
        let resolved = self
            .conversations
            .list_conversations(&filter, &PageRequest::first(LEARNED_FROM))
            .await?
            .items;
        let answers: Vec<ResolvedAnswer> = futures::stream::iter(resolved)
            .map(|c| async move { self.answer_of(c).await })
            .buffered(8)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<ServiceResult<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        let index = Arc::new(KnowledgeIndex::new(answers));
        *held = Some((Instant::now(), index.clone()));
        Ok(index)
    }

    /// What resolved `conversation`: its customer's first words and the agent's last
    /// reply; none when no agent replied (the bot's self-served ones too).
    async fn answer_of(&self, conversation: Conversation) -> ServiceResult<Option<ResolvedAnswer>> {
        let latest = self
            .conversations
            .latest_messages(conversation.id, 20)
            .await?;
        let Some(answer) = latest.iter().find(|m| m.answers_the_customer()) else {
            return Ok(None);
        };
        let mut asked: Vec<&str> = latest
            .iter()
            .filter(|m| m.direction == Direction::Inbound && m.created_at <= answer.created_at)
            .map(|m| m.text.as_str())
            .collect();
        asked.reverse();
        let mut question = asked.join("\n");
        if let Some(subject) = &conversation.subject {
            question = format!("{subject}\n{question}");
        }
        let excerpt = |text: &str| text.chars().take(EXCERPT).collect::<String>();
        let terms = search_terms(&question).join(" ");
        Ok(Some(ResolvedAnswer {
            conversation_id: conversation.id,
            question: excerpt(question.trim()),
            answer: excerpt(&answer.text),
            resolved_at: conversation.resolved_at,
            tags: conversation.tags,
            terms,
        }))
    }
}

/// What a conversation's customer asks: its subject and their latest three messages
/// among `newest_first`, oldest first, one per line.
pub fn customer_words(
    conversation: &Conversation,
    newest_first: &[crate::model::Message],
) -> String {
    let mut words: Vec<&str> = newest_first
        .iter()
        .filter(|m| m.direction == Direction::Inbound)
        .take(3)
        .map(|m| m.text.as_str())
        .collect();
    words.reverse();
    if let Some(subject) = &conversation.subject {
        words.insert(0, subject);
    }
    words.join("\n")
}
