//! The knowledge base: agents draft articles, admins publish them, and one search index
//! of the published ones serves every channel.
//!
//! The index is a blob (`knowledge/index.json.gz`: each published article's words and
//! what a hit shows), rebuilt by whoever saves an article and read by every process that
//! searches, so a Lambda function answers from one S3 object instead of scanning the
//! table. A process keeps the index it read for [`REFRESH`]; the one that saved keeps
//! the index it built at once.

use super::error::{ServiceError, ServiceResult};
use crate::model::knowledge::{Counted, Hit, IndexedArticle, KnowledgeIndex, normalize_slug};
use crate::model::{Agent, Article, ArticleId, ArticleStatus, Role, normalize_tag};
use crate::ports::{Blob, BlobStore, KnowledgeStore, PortError};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the search index is kept.
pub const INDEX_KEY: &str = "knowledge/index.json.gz";
/// How long a process searches an index it read before it reads the kept one again.
pub const REFRESH: Duration = Duration::from_secs(30);
/// Most articles one installation keeps.
pub const MAX_ARTICLES: usize = 20_000;
/// Most hits one search answers with.
pub const MAX_HITS: usize = 20;

/// What an author writes; the rest of an [`Article`] is kept by the service.
#[derive(Clone, Debug, Default)]
pub struct ArticleDraft {
    pub slug: String,
    pub language: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub title: String,
    pub body: String,
    pub status: ArticleStatus,
}

/// The kept index, as it is written.
#[derive(Serialize, Deserialize)]
struct KeptIndex<A> {
    built_at: chrono::DateTime<Utc>,
    articles: A,
}

/// The index a process searches, shared by everything in it that searches.
#[derive(Default)]
pub struct IndexCache(tokio::sync::Mutex<Option<(Instant, Arc<KnowledgeIndex>)>>);

#[derive(Clone)]
pub struct Knowledge {
    pub store: Arc<dyn KnowledgeStore>,
    /// Where the index is kept.
    pub blobs: Arc<dyn BlobStore>,
    pub cache: Arc<IndexCache>,
}

impl Knowledge {
    /// Every article (drafts too), newest change first; only those in `language` and
    /// `status`, when given.
    pub async fn articles(
        &self,
        language: Option<&str>,
        status: Option<ArticleStatus>,
    ) -> ServiceResult<Vec<Article>> {
        let mut all: Vec<Article> = self
            .store
            .articles()
            .await?
            .into_iter()
            .filter(|a| language.is_none_or(|l| a.language.eq_ignore_ascii_case(l)))
            .filter(|a| status.is_none_or(|s| a.status == s))
            .collect();
        all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub async fn article(&self, id: ArticleId) -> ServiceResult<Article> {
        self.store
            .article(id)
            .await?
            .ok_or(ServiceError::NotFound("article"))
    }

    /// A published article by its slug, for customers.
    pub async fn published(&self, slug: &str) -> ServiceResult<Option<Article>> {
        let index = self.index().await?;
        let Some(found) = index.by_slug(slug) else {
            return Ok(None);
        };
        Ok(self
            .store
            .article(found.id)
            .await?
            .filter(Article::is_published))
    }

    /// A published article as a plain-text reply, with its address in the help center
    /// under `base` (none: a relative one).
    pub async fn as_reply(&self, id: ArticleId, base: &str) -> ServiceResult<String> {
        let article = self.article(id).await?;
        if !article.is_published() {
            return Err(ServiceError::NotFound("published article"));
        }
        Ok(format!(
            "{}\n\n{}\n\n{}/help/{}",
            article.title,
            crate::model::knowledge::reply_text(&article.body),
            base.trim_end_matches('/'),
            article.slug
        ))
    }

    pub async fn revisions(&self, id: ArticleId) -> ServiceResult<Vec<Article>> {
        let revisions = self.store.article_revisions(id).await?;
        match revisions.is_empty() {
            true => Err(ServiceError::NotFound("article")),
            false => Ok(revisions),
        }
    }

    /// Writes a new article. An agent writes drafts; an admin may publish.
    pub async fn create(&self, draft: ArticleDraft, by: &Agent) -> ServiceResult<Article> {
        may_write(by, None, draft.status)?;
        let now = Utc::now();
        let article = finish(draft, ArticleId::new(), 1, now, now, by)?;
        let all = self.store.articles().await?;
        if all.len() >= MAX_ARTICLES {
            return Err(ServiceError::Conflict(format!(
                "an installation keeps at most {MAX_ARTICLES} articles"
            )));
        }
        slug_free(&all, &article)?;
        self.store.save_article(&article).await?;
        if article.is_published() {
            self.rebuild_index().await?;
        }
        tracing::info!(article_id = %article.id, agent_id = %by.id, "article written");
        Ok(article)
    }

    /// Replaces an article with a new revision; `revision` is the one the author read
    /// (none: whatever is kept), so two authors never undo each other unseen.
    pub async fn replace(
        &self,
        id: ArticleId,
        draft: ArticleDraft,
        revision: Option<u32>,
        by: &Agent,
    ) -> ServiceResult<Article> {
        let kept = self.article(id).await?;
        may_write(by, Some(&kept), draft.status)?;
        if revision.is_some_and(|r| r != kept.revision) {
            return Err(ServiceError::Conflict(format!(
                "the article was changed since revision {}: it is at {} now",
                revision.unwrap_or_default(),
                kept.revision
            )));
        }
        let article = finish(
            draft,
            id,
            kept.revision + 1,
            kept.created_at,
            Utc::now(),
            by,
        )?;
        slug_free(&self.store.articles().await?, &article)?;
        self.store.save_article(&article).await?;
        if article.is_published() || kept.is_published() {
            self.rebuild_index().await?;
        }
        tracing::info!(article_id = %id, revision = article.revision, agent_id = %by.id, "article revised");
        Ok(article)
    }

    /// Deletes an article and its revisions (an admin's).
    pub async fn delete(&self, id: ArticleId, by: &Agent) -> ServiceResult<()> {
        if by.role != Role::Admin {
            return Err(ServiceError::Forbidden);
        }
        let kept = self.article(id).await?;
        self.store.delete_article(id).await?;
        if kept.is_published() {
            self.rebuild_index().await?;
        }
        tracing::info!(article_id = %id, agent_id = %by.id, "article deleted");
        Ok(())
    }

    /// The published articles that best answer `question`, best first.
    pub async fn search(
        &self,
        question: &str,
        language: Option<&str>,
        limit: usize,
    ) -> ServiceResult<Vec<Hit>> {
        let index = self.index().await?;
        Ok(index.search(question, language, limit.min(MAX_HITS)))
    }

    /// A customer's search (the help center, the contact page): counted, and when it
    /// finds nothing, its words kept for the team to see.
    pub async fn customer_search(
        &self,
        question: &str,
        language: Option<&str>,
        limit: usize,
    ) -> ServiceResult<Vec<Hit>> {
        let hits = self.search(question, language, limit).await?;
        let mut counted = vec![Counted::Search];
        if hits.is_empty() {
            counted.extend(Counted::unanswered(question));
        }
        self.count(&counted).await;
        Ok(hits)
    }

    /// Adds to today's counters. A count that fails is logged, never the customer's
    /// problem.
    pub async fn count(&self, counted: &[Counted]) {
        let keys: Vec<String> = counted.iter().map(Counted::key).collect();
        if let Err(e) = self
            .store
            .count_knowledge(Utc::now().date_naive(), &keys)
            .await
        {
            tracing::warn!(error = %e, "a knowledge counter was not counted");
        }
    }

    /// What the knowledge base did over the UTC days `from..=until`.
    pub async fn report(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> ServiceResult<KnowledgeFigures> {
        let counts = self.store.knowledge_counts(from, until).await?;
        let mut figures = KnowledgeFigures::default();
        let mut per_article: HashMap<ArticleId, ArticleFigures> = HashMap::new();
        let mut unanswered: HashMap<String, i64> = HashMap::new();
        for (_, key, n) in counts {
            let Some(counted) = Counted::parse(&key) else {
                continue;
            };
            match counted {
                Counted::Search => figures.searches += n,
                Counted::Unanswered(words) => {
                    figures.unanswered_searches += n;
                    *unanswered.entry(words).or_default() += n;
                }
                Counted::Helpful(id) => {
                    figures.helpful += n;
                    figures_of(&mut per_article, id).helpful += n;
                }
                Counted::NotHelpful(id) => {
                    figures.not_helpful += n;
                    figures_of(&mut per_article, id).not_helpful += n;
                }
                Counted::BotAnswered(id) => {
                    figures.bot_answered += n;
                    figures_of(&mut per_article, id).bot_answered += n;
                }
                Counted::BotSolved(id) => {
                    figures.bot_solved += n;
                    figures_of(&mut per_article, id).bot_solved += n;
                }
                Counted::HandedOver(id) => {
                    figures.handed_over += n;
                    figures_of(&mut per_article, id).handed_over += n;
                }
            }
        }
        figures.self_served = figures.helpful + figures.bot_solved;
        let titles: HashMap<ArticleId, String> = self
            .store
            .articles()
            .await?
            .into_iter()
            .map(|a| (a.id, a.title))
            .collect();
        let mut articles: Vec<ArticleFigures> = per_article
            .into_values()
            .map(|mut a| {
                a.deflected = a.helpful + a.bot_solved;
                a.title = titles.get(&a.article_id).cloned();
                a
            })
            .collect();
        articles.sort_by(|a, b| {
            b.deflected
                .cmp(&a.deflected)
                .then(a.article_id.cmp(&b.article_id))
        });
        articles.truncate(20);
        figures.top_articles = articles;
        let mut unanswered: Vec<UnansweredSearch> = unanswered
            .into_iter()
            .map(|(words, count)| UnansweredSearch { words, count })
            .collect();
        unanswered.sort_by(|a, b| b.count.cmp(&a.count).then(a.words.cmp(&b.words)));
        unanswered.truncate(20);
        figures.unanswered = unanswered;
        Ok(figures)
    }

    /// The index this process searches: the one it holds while fresh, else the kept one
    /// (none kept yet: no article was ever published).
    pub async fn index(&self) -> ServiceResult<Arc<KnowledgeIndex>> {
        let mut held = self.cache.0.lock().await;
        if let Some((read_at, index)) = held.as_ref()
            && read_at.elapsed() < REFRESH
        {
            return Ok(index.clone());
        }
        let index = Arc::new(match self.blobs.get(INDEX_KEY).await? {
            Some(blob) => KnowledgeIndex::new(decode_index(&blob.bytes)?),
            None => KnowledgeIndex::default(),
        });
        *held = Some((Instant::now(), index.clone()));
        Ok(index)
    }

    /// Builds the index from the published articles and keeps it. Two saves at once
    /// each build from what they read; the kept index is written only over the version
    /// its builder read, so the later builder reads again and nothing published is left
    /// out.
    pub async fn rebuild_index(&self) -> ServiceResult<usize> {
        for _ in 0..5 {
            let read = self.blobs.get_versioned(INDEX_KEY).await?.map(|(_, v)| v);
            let articles: Vec<IndexedArticle> = self
                .store
                .articles()
                .await?
                .iter()
                .filter(|a| a.is_published())
                .map(IndexedArticle::of)
                .collect();
            let count = articles.len();
            let blob = Blob {
                content_type: "application/gzip".into(),
                bytes: encode_index(&articles)?,
            };
            match self.blobs.put_if(INDEX_KEY, blob, read.as_ref()).await {
                Ok(()) => {
                    let index = Arc::new(KnowledgeIndex::new(articles));
                    *self.cache.0.lock().await = Some((Instant::now(), index));
                    tracing::info!(articles = count, "knowledge index rebuilt");
                    return Ok(count);
                }
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Backend(PortError::Unavailable(
            "the knowledge index kept changing while it was rebuilt; try again".into(),
        )))
    }
}

/// What the knowledge base did over some days.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct KnowledgeFigures {
    /// Customers' searches (the help center and the contact page's suggestions).
    pub searches: i64,
    /// Of those, the ones that found no article.
    pub unanswered_searches: i64,
    /// "Did this answer your question?" answered yes, and no.
    pub helpful: i64,
    pub not_helpful: i64,
    /// Questions a bot answered with an article; of those, the ones the customer said it
    /// solved, and the ones where they asked for a person.
    pub bot_answered: i64,
    pub bot_solved: i64,
    pub handed_over: i64,
    /// Questions the knowledge base answered without an agent: `helpful + bot_solved`.
    pub self_served: i64,
    /// The articles that answered most without an agent, most first (20 at most).
    pub top_articles: Vec<ArticleFigures>,
    /// The searches that found nothing, by their words, most asked first (20 at most):
    /// what to write next.
    pub unanswered: Vec<UnansweredSearch>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ArticleFigures {
    pub article_id: ArticleId,
    /// None when the article has since been deleted.
    pub title: Option<String>,
    /// Questions it answered without an agent: `helpful + bot_solved`.
    pub deflected: i64,
    pub helpful: i64,
    pub not_helpful: i64,
    pub bot_answered: i64,
    pub bot_solved: i64,
    pub handed_over: i64,
}

fn figures_of(all: &mut HashMap<ArticleId, ArticleFigures>, id: ArticleId) -> &mut ArticleFigures {
    all.entry(id).or_insert_with(|| ArticleFigures {
        article_id: id,
        title: None,
        deflected: 0,
        helpful: 0,
        not_helpful: 0,
        bot_answered: 0,
        bot_solved: 0,
        handed_over: 0,
    })
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct UnansweredSearch {
    /// The search's words, as the search compares them.
    pub words: String,
    pub count: i64,
}

/// Whether `by` may write an article that is (or becomes) `status`: agents write drafts,
/// and only admins publish or change what customers already see.
fn may_write(by: &Agent, kept: Option<&Article>, status: ArticleStatus) -> ServiceResult<()> {
    let customers_see =
        status == ArticleStatus::Published || kept.is_some_and(Article::is_published);
    match customers_see && by.role != Role::Admin {
        true => Err(ServiceError::Forbidden),
        false => Ok(()),
    }
}

fn finish(
    draft: ArticleDraft,
    id: ArticleId,
    revision: u32,
    created_at: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
    by: &Agent,
) -> ServiceResult<Article> {
    let mut tags: Vec<String> = Vec::new();
    for tag in &draft.tags {
        let tag = normalize_tag(tag).ok_or_else(|| {
            ServiceError::Invalid(format!(
                "`{tag}` is not a tag: letters, digits, `-`, `_`, `:`"
            ))
        })?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let article = Article {
        id,
        slug: normalize_slug(&draft.slug).unwrap_or(draft.slug),
        language: draft.language.trim().to_ascii_lowercase(),
        category: draft
            .category
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
        tags,
        title: draft.title.trim().to_owned(),
        body: draft.body,
        status: draft.status,
        revision,
        created_at,
        updated_at: now,
        updated_by: Some(by.id),
    };
    match article.problem() {
        Some(problem) => Err(ServiceError::Invalid(problem)),
        None => Ok(article),
    }
}

fn slug_free(all: &[Article], article: &Article) -> ServiceResult<()> {
    match all
        .iter()
        .any(|a| a.id != article.id && a.slug == article.slug)
    {
        true => Err(ServiceError::Conflict(format!(
            "the slug {} is another article's",
            article.slug
        ))),
        false => Ok(()),
    }
}

/// The published articles as the kept index's bytes: gzipped JSON.
pub fn encode_index(articles: &[IndexedArticle]) -> ServiceResult<Vec<u8>> {
    let kept = KeptIndex {
        built_at: Utc::now(),
        articles,
    };
    let json = serde_json::to_vec(&kept)
        .map_err(|e| ServiceError::Backend(PortError::Internal(e.to_string())))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json)
        .and_then(|()| gz.finish())
        .map_err(|e| ServiceError::Backend(PortError::Internal(e.to_string())))
}

/// The articles of a kept index.
pub fn decode_index(bytes: &[u8]) -> ServiceResult<Vec<IndexedArticle>> {
    let unreadable = |e: String| {
        ServiceError::Backend(PortError::Internal(format!(
            "the kept knowledge index: {e}"
        )))
    };
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut json)
        .map_err(|e| unreadable(e.to_string()))?;
    let kept: KeptIndex<Vec<IndexedArticle>> =
        serde_json::from_slice(&json).map_err(|e| unreadable(e.to_string()))?;
    Ok(kept.articles)
}
