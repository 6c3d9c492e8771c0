//! A bot that answers first: a customer's new question, on a channel where the team
//! turned it on, is looked up in the knowledge base; a confident match is answered with
//! the article's summary and link, and two buttons, "this solved it" and "talk to a
//! person". The conversation waits (pending) meanwhile, out of the agents' open queue.
//!
//! - Solved: the conversation is resolved and tagged `self-served`.
//! - A person: it opens, tagged `handed-over`, for the agent routing gave it to.
//! - No confident match, or a second message: nothing is sent, or the message opens the
//!   conversation as any message does.
//!
//! The bot's answer is an automatic message in the conversation's timeline (marked with
//! its article), so an agent who takes over sees what the customer was told.

use super::knowledge::Knowledge;
use crate::model::knowledge::{Counted, Hit};
use crate::model::{
    ArticleId, BotOutcome, Channel, ContextEntry, Conversation, ConversationId, ConversationStatus,
    Event, EventKind, Message,
};
use crate::ports::{Choice, ConversationStore, PortError, PortResult};
use chrono::Utc;

/// The context entry that marks a message as a bot's answer: the article's id.
pub const ARTICLE_CONTEXT: &str = "knowledge_article";
/// The language the bot's answer (and its buttons) speak: the article's.
pub const LANGUAGE_CONTEXT: &str = "knowledge_language";
/// Button data: `kb:<s|p>:<conversation ulid>:<article ulid>` (Telegram allows 64 bytes).
pub const BUTTON_PREFIX: &str = "kb:";
pub const ANSWERED_TAG: &str = "bot-answered";
pub const SELF_SERVED_TAG: &str = "self-served";
pub const HANDED_OVER_TAG: &str = "handed-over";

/// What a bot says, per language.
pub struct BotWords {
    pub intro: &'static str,
    pub solved: &'static str,
    pub person: &'static str,
    pub thanks: &'static str,
    pub handing_over: &'static str,
    pub already: &'static str,
}

const ENGLISH: BotWords = BotWords {
    intro: "This article may answer your question:",
    solved: "✅ This solved it",
    person: "🙋 Talk to a person",
    thanks: "Glad it helped!",
    handing_over: "A person will answer you here soon.",
    already: "Noted already.",
};

const PERSIAN: BotWords = BotWords {
    intro: "شاید این مقاله پاسخ پرسش شما باشد:",
    solved: "✅ مشکلم حل شد",
    person: "🙋 می‌خواهم با یک نفر صحبت کنم",
    thanks: "خوشحالیم که کمک کرد!",
    handing_over: "به‌زودی یکی از همکاران همین‌جا پاسخ می‌دهد.",
    already: "ثبت شده بود.",
};

pub fn bot_words(language: &str) -> &'static BotWords {
    if language.split('-').next() == Some("fa") {
        &PERSIAN
    } else {
        &ENGLISH
    }
}

/// Where and how the bot answers.
#[derive(Clone)]
pub struct AnswerFirst {
    pub knowledge: Knowledge,
    /// The channels it answers on (Telegram, the web form); empty: it never does.
    pub channels: Vec<Channel>,
    /// The help center's address (`https://support.example.com`); empty: relative links.
    pub base_url: String,
    pub language: String,
}

impl AnswerFirst {
    /// The article that answers `text`, the first message of a new conversation on
    /// `channel`, when the bot answers there and is confident.
    pub async fn answer_for(&self, channel: Channel, text: &str) -> PortResult<Option<Hit>> {
        if !self.channels.contains(&channel) || text.trim().chars().count() < 3 {
            return Ok(None);
        }
        let hits = self
            .knowledge
            .search(text, None, 2)
            .await
            .map_err(|e| PortError::Unavailable(e.to_string()))?;
        Ok(hits.into_iter().next().filter(|h| h.confident))
    }

    /// The bot's message: the article's title, summary and link, marked with its id.
    pub fn message(&self, conversation: &Conversation, channel: Channel, hit: &Hit) -> Message {
        let language = self.speaking(&hit.doc.language);
        let words = bot_words(language);
        let link = format!(
            "{}/help/{}",
            self.base_url.trim_end_matches('/'),
            hit.doc.slug
        );
        let text = format!(
            "{}\n\n{}\n{}\n\n{}",
            words.intro, hit.doc.title, hit.doc.summary, link
        );
        let mut message = Message::outbound(
            conversation.id,
            conversation.contact_id,
            channel,
            crate::model::Author::System,
            &text,
        );
        message.context.push(ContextEntry {
            name: ARTICLE_CONTEXT.into(),
            value: hit.doc.id.to_string(),
        });
        message.context.push(ContextEntry {
            name: LANGUAGE_CONTEXT.into(),
            value: language.to_owned(),
        });
        message
    }

    /// The language the bot speaks about an article in `language`: the article's, where
    /// the bot has words in it, else the pages'.
    pub fn speaking<'a>(&'a self, language: &'a str) -> &'a str {
        match language.split('-').next() {
            Some("fa" | "en") => language,
            _ => &self.language,
        }
    }

    /// The language the bot spoke about `article`: the article's, while it is published.
    pub async fn language_of(&self, article: ArticleId) -> String {
        let language = match self.knowledge.index().await {
            Ok(index) => index
                .articles()
                .iter()
                .find(|a| a.id == article)
                .map(|a| a.language.clone()),
            Err(_) => None,
        };
        self.speaking(language.as_deref().unwrap_or(&self.language))
            .to_owned()
    }

    /// The conversation set waiting for the customer's answer to the bot, with its events.
    pub async fn wait_for_customer(
        &self,
        conversations: &dyn ConversationStore,
        id: ConversationId,
        article: ArticleId,
    ) -> PortResult<()> {
        change(
            conversations,
            id,
            ConversationStatus::Pending,
            ANSWERED_TAG,
            |c| c.status == ConversationStatus::Open,
        )
        .await?;
        self.knowledge.count(&[Counted::BotAnswered(article)]).await;
        Ok(())
    }

    /// Takes the customer's answer to the bot: true when it changed the conversation,
    /// false when it was taken before (or the customer wrote again meanwhile).
    pub async fn take(
        &self,
        conversations: &dyn ConversationStore,
        conversation: &Conversation,
        article: ArticleId,
        outcome: BotOutcome,
    ) -> PortResult<bool> {
        let (status, tag, counted) = match outcome {
            BotOutcome::Solved => (
                ConversationStatus::Resolved,
                SELF_SERVED_TAG,
                Counted::BotSolved(article),
            ),
            BotOutcome::Person => (
                ConversationStatus::Open,
                HANDED_OVER_TAG,
                Counted::HandedOver(article),
            ),
        };
        let changed = change(conversations, conversation.id, status, tag, |c| {
            c.status == ConversationStatus::Pending
                && c.tags.iter().any(|t| t == ANSWERED_TAG)
                && !c
                    .tags
                    .iter()
                    .any(|t| t == SELF_SERVED_TAG || t == HANDED_OVER_TAG)
        })
        .await?;
        if changed {
            self.knowledge.count(&[counted]).await;
        }
        Ok(changed)
    }
}

/// Sets the conversation's status and adds a tag, with their events, while `when` holds.
async fn change(
    conversations: &dyn ConversationStore,
    id: ConversationId,
    status: ConversationStatus,
    tag: &str,
    when: impl Fn(&Conversation) -> bool,
) -> PortResult<bool> {
    for _ in 0..5 {
        let Some(current) = conversations.conversation(id).await? else {
            return Ok(false);
        };
        if !when(&current) {
            return Ok(false);
        }
        let now = Utc::now();
        let mut changed = current.clone();
        let mut events = Vec::new();
        if changed.status != status {
            events.push(Event::new(
                id,
                EventKind::StatusChanged {
                    from: changed.status,
                    to: status,
                },
                None,
                now,
            ));
            changed.status = status;
            changed.resolved_at = (status == ConversationStatus::Resolved).then_some(now);
        }
        if !changed.tags.iter().any(|t| t == tag) {
            changed.tags.push(tag.to_owned());
            events.push(Event::new(
                id,
                EventKind::TagsChanged {
                    added: vec![tag.to_owned()],
                    removed: Vec::new(),
                },
                None,
                now,
            ));
        }
        changed.updated_at = now;
        match conversations
            .save_conversation(&changed, current.version, &events)
            .await
        {
            Ok(_) => return Ok(true),
            Err(PortError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(PortError::Unavailable(
        "the conversation kept changing while the bot's answer was taken".into(),
    ))
}

/// The article of the bot's latest answer, newest messages first: none once the customer
/// wrote after it (their buttons are then stale), none when the bot never answered.
pub fn unanswered_bot_article<'a>(
    newest_first: impl IntoIterator<Item = &'a Message>,
) -> Option<ArticleId> {
    for message in newest_first {
        if message.direction == crate::model::Direction::Inbound {
            return None;
        }
        let article = message
            .context
            .iter()
            .find(|c| c.name == ARTICLE_CONTEXT)
            .and_then(|c| c.value.parse().ok());
        if article.is_some() {
            return article;
        }
    }
    None
}

/// The buttons under a bot's answer, for the channel's sender, in the answer's language
/// (else `language`): none unless `message` is one.
pub fn choices_for(message: &Message, language: &str) -> Vec<Choice> {
    let language = message
        .context
        .iter()
        .find(|c| c.name == LANGUAGE_CONTEXT)
        .map_or(language, |c| c.value.as_str());
    let Some(article) = message
        .context
        .iter()
        .find(|c| c.name == ARTICLE_CONTEXT)
        .and_then(|c| c.value.parse::<ArticleId>().ok())
    else {
        return Vec::new();
    };
    let words = bot_words(language);
    let data = |code: char| {
        format!(
            "{BUTTON_PREFIX}{code}:{}:{}",
            message.conversation_id.ulid(),
            article.ulid()
        )
    };
    vec![
        Choice {
            label: words.solved.into(),
            data: data('s'),
        },
        Choice {
            label: words.person.into(),
            data: data('p'),
        },
    ]
}

/// The press a button's data names: its outcome, conversation and article.
pub fn parse_button(data: &str) -> Option<(BotOutcome, ConversationId, ArticleId)> {
    let rest = data.strip_prefix(BUTTON_PREFIX)?;
    let mut parts = rest.split(':');
    let outcome = match parts.next()? {
        "s" => BotOutcome::Solved,
        "p" => BotOutcome::Person,
        _ => return None,
    };
    let conversation = format!(
        "{}_{}",
        ConversationId::PREFIX,
        parts.next()?.to_ascii_lowercase()
    )
    .parse()
    .ok()?;
    let article = format!(
        "{}_{}",
        ArticleId::PREFIX,
        parts.next()?.to_ascii_lowercase()
    )
    .parse()
    .ok()?;
    parts
        .next()
        .is_none()
        .then_some((outcome, conversation, article))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ContactId;

    #[test]
    fn button_data_fits_telegram_and_reads_back() {
        let mut message = Message::outbound(
            ConversationId::new(),
            ContactId::new(),
            Channel::Telegram,
            crate::model::Author::System,
            "x",
        );
        assert!(choices_for(&message, "en").is_empty());
        let article = ArticleId::new();
        message.context.push(ContextEntry {
            name: ARTICLE_CONTEXT.into(),
            value: article.to_string(),
        });
        let choices = choices_for(&message, "fa");
        assert_eq!(choices.len(), 2);
        for (choice, outcome) in choices.iter().zip([BotOutcome::Solved, BotOutcome::Person]) {
            assert!(choice.data.len() <= 64, "{}", choice.data);
            assert_eq!(
                parse_button(&choice.data),
                Some((outcome, message.conversation_id, article))
            );
        }
        assert_eq!(parse_button("kb:x:1:2"), None);
        assert_eq!(parse_button("csat:abc:5"), None);
        let extra = format!("{}:more", choices[0].data);
        assert_eq!(parse_button(&extra), None);
    }

    #[test]
    fn only_the_latest_answer_before_the_customer_wrote_again_is_unanswered() {
        let conversation = ConversationId::new();
        let contact = ContactId::new();
        let message = |text: &str| {
            Message::outbound(
                conversation,
                contact,
                Channel::Web,
                crate::model::Author::System,
                text,
            )
        };
        let answer = |article: ArticleId| {
            let mut m = message("answer");
            m.context.push(ContextEntry {
                name: ARTICLE_CONTEXT.into(),
                value: article.to_string(),
            });
            m
        };
        let mut question = message("question");
        question.direction = crate::model::Direction::Inbound;
        let (first, second) = (ArticleId::new(), ArticleId::new());
        let agent_note = message("an agent's reply");
        // Newest first.
        assert_eq!(
            unanswered_bot_article(&[answer(second), question.clone(), answer(first)]),
            Some(second)
        );
        assert_eq!(
            unanswered_bot_article(&[agent_note, answer(first)]),
            Some(first)
        );
        assert_eq!(
            unanswered_bot_article(&[question.clone(), answer(first)]),
            None
        );
        assert_eq!(unanswered_bot_article(&[question]), None);
        assert_eq!(unanswered_bot_article(&[] as &[Message]), None);
    }
}
