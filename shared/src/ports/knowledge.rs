use super::PortResult;
use crate::model::{Article, ArticleId};
use async_trait::async_trait;
use chrono::NaiveDate;

/// Help-center articles and every revision of each. The search index is built from them
/// by the knowledge service and kept as a blob, the same on every backend.
#[async_trait]
pub trait KnowledgeStore: Send + Sync {
    /// Every article, drafts too, first made first.
    async fn articles(&self) -> PortResult<Vec<Article>>;
    async fn article(&self, id: ArticleId) -> PortResult<Option<Article>>;
    /// Keeps `article` and, beside it, that revision of it. Its `revision` is one more
    /// than the kept one's (1: a new article); otherwise somebody saved it in between, and
    /// nothing is written: [`super::PortError::Conflict`].
    async fn save_article(&self, article: &Article) -> PortResult<()>;
    /// Removes the article and its revisions. False when there was none.
    async fn delete_article(&self, id: ArticleId) -> PortResult<bool>;
    /// Every kept revision of the article, first first.
    async fn article_revisions(&self, id: ArticleId) -> PortResult<Vec<Article>>;
    /// Adds one to each of the day's counters named (a [`crate::model::knowledge::Counted`]'s
    /// key), made at their first count.
    async fn count_knowledge(&self, day: NaiveDate, keys: &[String]) -> PortResult<()>;
    /// Every counter of the days `from..=until` (at most 366 days), as (day, key, count).
    async fn knowledge_counts(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> PortResult<Vec<(NaiveDate, String, i64)>>;
}
