//! What the knowledge base counts, per day: searches, searches that found nothing (by
//! their words, so a team sees what to write next), and each article's answers (a
//! customer said it answered them, a bot sent it, the customer said it solved it, or
//! asked for a person after it).

use super::terms::query_terms;
use crate::model::ArticleId;

/// Longest unanswered question kept, in characters of its words.
const MAX_UNANSWERED_CHARS: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Counted {
    /// A customer searched (the help center, the contact page).
    Search,
    /// A search found nothing: its words.
    Unanswered(String),
    /// "Did this answer your question?" — yes.
    Helpful(ArticleId),
    /// … no.
    NotHelpful(ArticleId),
    /// A bot answered a customer's question with the article.
    BotAnswered(ArticleId),
    /// The customer said the bot's article solved it.
    BotSolved(ArticleId),
    /// The customer asked for a person after the bot's article.
    HandedOver(ArticleId),
}

impl Counted {
    /// A search that found nothing, by its words (none when it has none to keep).
    pub fn unanswered(question: &str) -> Option<Self> {
        let mut words = String::new();
        // No word with a digit: an order, card or phone number is the customer's, not a
        // topic to write about.
        for word in query_terms(question)
            .into_iter()
            .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
        {
            if words.chars().count() + word.chars().count() + 1 > MAX_UNANSWERED_CHARS {
                break;
            }
            if !words.is_empty() {
                words.push(' ');
            }
            words.push_str(&word);
        }
        (!words.is_empty()).then_some(Self::Unanswered(words))
    }

    pub fn key(&self) -> String {
        match self {
            Self::Search => "search".into(),
            Self::Unanswered(words) => format!("unanswered:{words}"),
            Self::Helpful(id) => format!("helpful:{id}"),
            Self::NotHelpful(id) => format!("not_helpful:{id}"),
            Self::BotAnswered(id) => format!("bot_answered:{id}"),
            Self::BotSolved(id) => format!("bot_solved:{id}"),
            Self::HandedOver(id) => format!("handed_over:{id}"),
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        let (kind, rest) = key.split_once(':').unwrap_or((key, ""));
        let id = || rest.parse::<ArticleId>().ok();
        match kind {
            "search" => Some(Self::Search),
            "unanswered" if !rest.is_empty() => Some(Self::Unanswered(rest.to_owned())),
            "helpful" => id().map(Self::Helpful),
            "not_helpful" => id().map(Self::NotHelpful),
            "bot_answered" => id().map(Self::BotAnswered),
            "bot_solved" => id().map(Self::BotSolved),
            "handed_over" => id().map(Self::HandedOver),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back() {
        let id = ArticleId::new();
        for c in [
            Counted::Search,
            Counted::Helpful(id),
            Counted::NotHelpful(id),
            Counted::BotAnswered(id),
            Counted::BotSolved(id),
            Counted::HandedOver(id),
            Counted::unanswered("چرا كد نمیاد؟ why").unwrap(),
        ] {
            assert_eq!(Counted::parse(&c.key()), Some(c));
        }
        assert_eq!(
            Counted::unanswered("Hi, WHY no code?"),
            Some(Counted::Unanswered("no code".into()))
        );
        assert_eq!(Counted::unanswered("hi!"), None);
        assert_eq!(
            Counted::unanswered("order 48213 to 09123456789 never came"),
            Some(Counted::Unanswered("order never came".into()))
        );
        assert_eq!(Counted::parse("helpful:nonsense"), None);
    }
}
