use crate::model::{AgentId, ArticleId, normalize_tag};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest article body, in characters.
pub const MAX_ARTICLE_CHARS: usize = 50_000;

/// Whether customers see it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Seen by agents only, and never searched for customers.
    #[default]
    Draft,
    /// In the help center, searched on every channel.
    Published,
}

/// One help-center article. Every save is kept as a revision (the audit of edits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Article {
    pub id: ArticleId,
    /// Its address in the help center (`/help/<slug>`): lower-case letters, digits and
    /// `-`, unique.
    #[schema(example = "refund-to-card")]
    pub slug: String,
    /// The language it is written in (`fa`, `en`, …).
    #[schema(example = "fa")]
    pub language: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub title: String,
    /// Markdown (CommonMark); raw HTML in it is shown as text.
    pub body: String,
    pub status: ArticleStatus,
    /// 1 for the first save, one more for each save since.
    pub revision: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who saved this revision (none: a program with the admin key's setup, or an import).
    pub updated_by: Option<AgentId>,
}

/// `slug` as kept (trimmed, lower-case), if it is one: 1 to 80 of `a-z`, `0-9` and `-`,
/// neither starting nor ending with `-`.
pub fn normalize_slug(slug: &str) -> Option<String> {
    let slug = slug.trim().to_ascii_lowercase();
    let ok = !slug.is_empty()
        && slug.len() <= 80
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    ok.then_some(slug)
}

impl Article {
    /// What makes it unfit to keep, in words for whoever wrote it.
    pub fn problem(&self) -> Option<String> {
        if normalize_slug(&self.slug).as_deref() != Some(self.slug.as_str()) {
            return Some(
                "a slug is 1 to 80 lower-case letters, digits and `-` (not first or last)".into(),
            );
        }
        let language_ok = !self.language.is_empty()
            && self.language.len() <= 16
            && self
                .language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !language_ok {
            return Some("a language is a tag like `fa` or `en-GB`".into());
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            return Some("a title is 1 to 200 characters".into());
        }
        if self.body.trim().is_empty() || self.body.chars().count() > MAX_ARTICLE_CHARS {
            return Some(format!(
                "an article's body is 1 to {MAX_ARTICLE_CHARS} characters"
            ));
        }
        if self
            .category
            .as_deref()
            .is_some_and(|c| c.trim().is_empty() || c.chars().count() > 50)
        {
            return Some("a category is 1 to 50 characters".into());
        }
        if self.tags.len() > 20
            || self
                .tags
                .iter()
                .any(|t| normalize_tag(t).as_ref() != Some(t))
        {
            return Some("up to 20 tags of letters, digits, `-`, `_` and `:`, up to 50".into());
        }
        None
    }

    pub fn is_published(&self) -> bool {
        self.status == ArticleStatus::Published
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_plain_lower_case_words() {
        assert_eq!(
            normalize_slug(" Refund-To-Card "),
            Some("refund-to-card".into())
        );
        assert_eq!(normalize_slug("-refund"), None);
        assert_eq!(normalize_slug("بازپرداخت"), None);
        assert_eq!(normalize_slug("a/b"), None);
        assert_eq!(normalize_slug(&"a".repeat(81)), None);
    }
}
