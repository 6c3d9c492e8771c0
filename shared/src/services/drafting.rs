//! A reply drafted by a language model, when a team configures one: grounded only in the
//! published articles that answer the conversation, shown to the agent in the reply box
//! and never sent on its own.
//!
//! The model is any OpenAI-compatible chat completions API (`SWITCHBOARD_LLM_URL`,
//! `SWITCHBOARD_LLM_MODEL`, an optional key). What it is sent is exactly what
//! [`DraftRequest`] holds: the articles, and the text of the conversation's latest
//! messages; never a name, an address, a note or a file.

use super::error::{ServiceError, ServiceResult};
use super::knowledge::Knowledge;
use super::suggestions::customer_words;
use crate::config::Secret;
use crate::model::knowledge::{Article, Hit, reply_text};
use crate::model::{AgentId, Channel, ConversationId, Direction, Message};
use crate::ports::ConversationStore;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Articles a draft is grounded in, at most.
pub const GROUNDING_ARTICLES: usize = 3;
/// The conversation's latest messages the model reads, at most.
pub const TRANSCRIPT_MESSAGES: usize = 8;
/// Most characters of one message or one article the model is given.
const MESSAGE_CHARS: usize = 2_000;
const ARTICLE_CHARS: usize = 4_000;
/// Longest answer taken from the model, in bytes.
const MAX_ANSWER_BYTES: usize = 1 << 20;
/// Most tokens asked for: a reply, not an essay.
const MAX_TOKENS: u32 = 700;
/// Drafts one agent may ask for per minute, in this process (on Lambda, per instance):
/// each is a call the team pays for.
pub const DRAFTS_PER_MINUTE: u32 = 10;

/// How the model is told to write.
const INSTRUCTIONS: &str = "You write a draft reply for a customer support agent, who reads and edits it before anything is sent. \
Answer the customer's latest message using only the facts in the articles below. \
If the articles do not answer it, say so in one sentence and offer to pass the question on; \
never invent a policy, an amount, a date, a link or a promise. \
Write in the language the customer wrote in, in plain text without Markdown, briefly and kindly. \
Do not greet the customer by name and do not sign the reply.";

/// The language model's settings but its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelOptions {
    /// The API's base URL, up to and including its version (`…/v1`).
    pub url: String,
    pub model: String,
}

/// An OpenAI-compatible chat completions API.
#[derive(Clone, Debug)]
pub struct LanguageModel {
    http: reqwest::Client,
    endpoint: String,
    model: String,
    key: Option<Secret>,
}

impl LanguageModel {
    pub fn new(options: &ModelOptions, key: Option<Secret>) -> Result<Self, String> {
        let tls = crate::tls::client_config()?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            // The prompt goes to the configured host only, never where a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            // Within API Gateway's 30 s for the whole request.
            .timeout(Duration::from_secs(25))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            endpoint: format!("{}/chat/completions", options.url.trim_end_matches('/')),
            model: options.model.clone(),
            key,
        })
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// The model's answer to `request`.
    async fn complete(&self, request: &DraftRequest) -> ServiceResult<String> {
        let body = ChatRequest {
            model: &self.model,
            messages: request.chat(),
            temperature: 0.2,
            max_tokens: MAX_TOKENS,
        };
        let mut call = self.http.post(&self.endpoint).json(&body);
        if let Some(key) = &self.key {
            call = call.bearer_auth(key.expose());
        }
        let unreachable = |e: reqwest::Error| {
            ServiceError::Upstream(format!(
                "the language model could not be reached: {}",
                e.without_url()
            ))
        };
        let mut response = call.send().await.map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            // Not its body: some servers repeat the request's messages in their errors.
            tracing::warn!(%status, "the language model refused a draft");
            return Err(ServiceError::Upstream(format!(
                "the language model answered {status}"
            )));
        }
        // Read as it comes, never more than the most an answer may be.
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(ServiceError::Upstream(
                    "the language model's answer is too long".into(),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        answer_text(&bytes).ok_or_else(|| {
            ServiceError::Upstream("the language model's answer holds no text".into())
        })
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<ChatMessage>,
    temperature: f32,
    max_tokens: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
struct ChatMessage {
    role: &'static str,
    content: String,
}

#[derive(Deserialize)]
struct ChatAnswer {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: AnswerMessage,
}

#[derive(Deserialize)]
struct AnswerMessage {
    content: Option<String>,
}

/// The first choice's text of a chat completion, trimmed; none when it has none.
fn answer_text(body: &[u8]) -> Option<String> {
    if body.len() > MAX_ANSWER_BYTES {
        return None;
    }
    let answer: ChatAnswer = serde_json::from_slice(body).ok()?;
    let text = answer.choices.into_iter().next()?.message.content?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Everything the model is given for one draft.
#[derive(Clone, Debug, PartialEq)]
pub struct DraftRequest {
    /// Title, address and plain text of each article, best first.
    pub articles: Vec<(String, String, String)>,
    /// The latest messages' text, oldest first: true for the customer's.
    pub transcript: Vec<(bool, String)>,
}

impl DraftRequest {
    /// The grounding for `articles` and the conversation's latest messages
    /// (`newest_first`), cut to what the model is given.
    pub fn new(articles: &[Article], base: &str, newest_first: &[Message]) -> Self {
        let articles = articles
            .iter()
            .map(|a| {
                (
                    a.title.clone(),
                    format!("{}/help/{}", base.trim_end_matches('/'), a.slug),
                    cut(&reply_text(&a.body), ARTICLE_CHARS),
                )
            })
            .collect();
        let mut transcript: Vec<(bool, String)> = newest_first
            .iter()
            // A call's record is our text about the call, with the caller's number in it.
            .filter(|m| m.channel != Channel::Voice && !m.text.trim().is_empty())
            .take(TRANSCRIPT_MESSAGES)
            .map(|m| {
                (
                    m.direction == Direction::Inbound,
                    cut(&m.text, MESSAGE_CHARS),
                )
            })
            .collect();
        transcript.reverse();
        Self {
            articles,
            transcript,
        }
    }

    /// As chat messages: the instructions with the articles, then the conversation (the
    /// customer's as the user's, ours as the assistant's).
    fn chat(&self) -> Vec<ChatMessage> {
        let mut system = format!("{INSTRUCTIONS}\n\nArticles:");
        for (n, (title, url, text)) in self.articles.iter().enumerate() {
            system.push_str(&format!("\n\n[{}] {title}\n{url}\n{text}", n + 1));
        }
        let mut chat = vec![ChatMessage {
            role: "system",
            content: system,
        }];
        chat.extend(self.transcript.iter().map(|(customer, text)| ChatMessage {
            role: if *customer { "user" } else { "assistant" },
            content: text.clone(),
        }));
        chat
    }
}

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// A draft for the agent, with the articles it was grounded in.
pub struct Draft {
    pub text: String,
    pub articles: Vec<Hit>,
    pub model: String,
}

/// Drafts replies, when a model is configured.
#[derive(Clone)]
pub struct Drafting {
    pub knowledge: Knowledge,
    pub conversations: Arc<dyn ConversationStore>,
    pub model: Option<Arc<LanguageModel>>,
    pub per_agent: Arc<DraftLimit>,
}

/// How many drafts each agent has asked for lately.
pub struct DraftLimit(governor::DefaultKeyedRateLimiter<AgentId>);

impl Default for DraftLimit {
    fn default() -> Self {
        Self(governor::RateLimiter::keyed(governor::Quota::per_minute(
            std::num::NonZeroU32::new(DRAFTS_PER_MINUTE).expect("more than none"),
        )))
    }
}

impl DraftLimit {
    /// `Err(wait)` when `agent` has asked for their share this minute.
    pub fn check(&self, agent: AgentId) -> Result<(), Duration> {
        self.0.check_key(&agent).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }
}

impl Drafting {
    pub fn is_on(&self) -> bool {
        self.model.is_some()
    }

    /// A draft reply for the conversation `id`, from the published articles that answer
    /// its customer's latest words (`base`: the help center's address, for the links).
    pub async fn draft(&self, id: ConversationId, base: &str) -> ServiceResult<Draft> {
        let model = self.model.as_ref().ok_or(ServiceError::Off(
            "drafting by a language model is off: set SWITCHBOARD_LLM_URL and SWITCHBOARD_LLM_MODEL",
        ))?;
        let conversation = self
            .conversations
            .conversation(id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let latest = self
            .conversations
            .latest_messages(id, TRANSCRIPT_MESSAGES.max(10))
            .await?;
        let question = customer_words(&conversation, &latest);
        let hits = match question.trim().is_empty() {
            true => Vec::new(),
            false => {
                self.knowledge
                    .search(&question, None, GROUNDING_ARTICLES)
                    .await?
            }
        };
        let mut articles = Vec::with_capacity(hits.len());
        let mut grounded = Vec::with_capacity(hits.len());
        for hit in hits {
            // The index may be a little behind: only what is published now.
            let article = match self.knowledge.article(hit.doc.id).await {
                Ok(article) => article,
                Err(ServiceError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            if article.is_published() {
                articles.push(article);
                grounded.push(hit);
            }
        }
        if articles.is_empty() {
            return Err(ServiceError::Conflict(
                "no published article answers this conversation: a draft is written only from articles"
                    .into(),
            ));
        }
        let request = DraftRequest::new(&articles, base, &latest);
        let text = model.complete(&request).await?;
        tracing::info!(conversation_id = %id, articles = grounded.len(), "a reply drafted by the language model");
        Ok(Draft {
            text,
            articles: grounded,
            model: model.model().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Author, ContactId};

    /// What the customer wrote in `conversation`, on `channel`.
    fn inbound(
        conversation: ConversationId,
        contact: ContactId,
        channel: Channel,
        text: &str,
    ) -> Message {
        let mut message = Message::outbound(conversation, contact, channel, Author::System, text);
        message.direction = Direction::Inbound;
        message
    }

    #[test]
    fn the_model_is_given_the_articles_and_the_messages_text_only() {
        let conversation = ConversationId::new();
        let contact = ContactId::new();
        let asked = inbound(
            conversation,
            contact,
            Channel::Telegram,
            "where is my refund?",
        );
        let answered = Message::outbound(
            conversation,
            contact,
            Channel::Telegram,
            Author::System,
            "Let me check.",
        );
        let now = chrono::Utc::now();
        let article = Article {
            id: crate::model::ArticleId::new(),
            slug: "refund-to-card".into(),
            language: "en".into(),
            category: None,
            tags: Vec::new(),
            title: "Refund to card".into(),
            body: "Back in **3 days**.".into(),
            status: crate::model::knowledge::ArticleStatus::Published,
            revision: 1,
            created_at: now,
            updated_at: now,
            updated_by: None,
        };
        // Newest first.
        let request = DraftRequest::new(&[article], "https://help.example/", &[answered, asked]);
        let chat = request.chat();
        assert_eq!(chat.len(), 3);
        assert_eq!(chat[0].role, "system");
        assert!(chat[0].content.contains("only the facts in the articles"));
        assert!(chat[0].content.contains(
            "[1] Refund to card\nhttps://help.example/help/refund-to-card\nBack in 3 days."
        ));
        assert_eq!(
            (chat[1].role, chat[1].content.as_str()),
            ("user", "where is my refund?")
        );
        assert_eq!(
            (chat[2].role, chat[2].content.as_str()),
            ("assistant", "Let me check.")
        );
    }

    #[test]
    fn a_calls_record_is_never_sent() {
        let conversation = ConversationId::new();
        let contact = ContactId::new();
        let call = inbound(
            conversation,
            contact,
            Channel::Voice,
            "Missed call from +989121234567",
        );
        let asked = inbound(conversation, contact, Channel::Sms, "where is my refund?");
        let request = DraftRequest::new(&[], "", &[asked, call]);
        assert_eq!(
            request.transcript,
            [(true, "where is my refund?".to_owned())]
        );
    }

    #[test]
    fn long_messages_are_cut_and_at_most_eight_are_sent() {
        let conversation = ConversationId::new();
        let contact = ContactId::new();
        let long = "ب".repeat(MESSAGE_CHARS + 50);
        let messages: Vec<Message> = (0..12)
            .map(|_| Message::outbound(conversation, contact, Channel::Web, Author::System, &long))
            .collect();
        let request = DraftRequest::new(&[], "", &messages);
        assert_eq!(request.transcript.len(), TRANSCRIPT_MESSAGES);
        assert_eq!(request.transcript[0].1.chars().count(), MESSAGE_CHARS + 1);
    }

    #[test]
    fn the_answer_is_the_first_choice_text() {
        let answer = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1733400000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"  Your refund is back in 3 working days.\n"},"finish_reason":"stop"}],"usage":{"prompt_tokens":210,"completion_tokens":12,"total_tokens":222}}"#;
        assert_eq!(
            answer_text(answer).as_deref(),
            Some("Your refund is back in 3 working days.")
        );
        assert_eq!(answer_text(br#"{"choices":[]}"#), None);
        assert_eq!(
            answer_text(br#"{"choices":[{"message":{"role":"assistant","content":null}}]}"#),
            None
        );
        assert_eq!(
            answer_text(br#"{"choices":[{"message":{"content":"  "}}]}"#),
            None
        );
        assert_eq!(answer_text(b"<html>502</html>"), None);
    }
}
