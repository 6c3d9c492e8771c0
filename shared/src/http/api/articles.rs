//! The knowledge base for agents: write and revise articles (agents draft, admins
//! publish), read their revisions, and search the published ones as customers would.

use super::conversations::{page_request, parse_or};
use crate::http::ApiState;
use crate::http::auth::{Admin, Caller};
use crate::http::problem::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::model::knowledge::Hit;
use crate::model::{Article, ArticleId, ArticleStatus};
use crate::ports::Page;
use crate::services::knowledge::ArticleDraft;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// A `language` filter: at most 16 characters; empty is none.
fn language_of(language: Option<&str>) -> Result<Option<&str>, ApiError> {
    match language.filter(|l| !l.is_empty()) {
        Some(l) if l.chars().count() > 16 => Err(ApiError::bad_request(
            "`language` is a tag like `fa` or `en-GB`, at most 16 characters",
        )),
        other => Ok(other),
    }
}

fn parse_status(s: &str) -> Option<ArticleStatus> {
    match s {
        "draft" => Some(ArticleStatus::Draft),
        "published" => Some(ArticleStatus::Published),
        _ => None,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListArticles {
    /// Only those written in this language.
    #[param(max_length = 16)]
    language: Option<String>,
    /// `draft` or `published`; both when left out.
    #[param(pattern = "^(draft|published)?$")]
    status: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

/// One article in a list: all but its body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ArticleRow {
    id: ArticleId,
    slug: String,
    language: String,
    category: Option<String>,
    tags: Vec<String>,
    title: String,
    status: ArticleStatus,
    revision: u32,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<Article> for ArticleRow {
    fn from(a: Article) -> Self {
        Self {
            id: a.id,
            slug: a.slug,
            language: a.language,
            category: a.category,
            tags: a.tags,
            title: a.title,
            status: a.status,
            revision: a.revision,
            updated_at: a.updated_at,
        }
    }
}

/// Every article, drafts too, last changed first.
#[utoipa::path(get, path = "/v1/articles", operation_id = "list_articles", tags = ["knowledge base"],
    params(ListArticles),
    responses((status = 200, body = Page<ArticleRow>), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Caller,
    ApiQuery(q): ApiQuery<ListArticles>,
) -> Result<Json<Page<ArticleRow>>, ApiError> {
    let status = parse_or(q.status.as_deref(), "article status", parse_status)?;
    let page = page_request(q.limit, q.cursor, 50)?;
    let language = language_of(q.language.as_deref())?;
    let skip: usize = match page.cursor.as_deref() {
        None => 0,
        Some(c) => c
            .parse()
            .map_err(|_| ApiError::bad_request("`cursor` is not one this list gave"))?,
    };
    let all = state.knowledge.articles(language, status).await?;
    let end = skip.saturating_add(page.limit as usize);
    let next_cursor = (all.len() > end).then(|| end.to_string());
    Ok(Json(Page {
        items: all
            .into_iter()
            .skip(skip)
            .take(page.limit as usize)
            .map(ArticleRow::from)
            .collect(),
        next_cursor,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleBody {
    /// Its address in the help center: lower-case letters, digits and `-`.
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
        example = "refund-to-card"
    )]
    slug: String,
    #[schema(min_length = 1, max_length = 16, example = "fa")]
    language: String,
    #[schema(max_length = 50)]
    category: Option<String>,
    #[serde(default)]
    #[schema(max_items = 20)]
    tags: Vec<String>,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// Markdown (CommonMark); raw HTML in it is shown as text.
    #[schema(min_length = 1, max_length = 50000, pattern = "\\S")]
    body: String,
    /// `draft` (the default) or `published`: only an admin publishes.
    #[serde(default)]
    status: ArticleStatus,
    /// On a replace: the revision you read, so that another author's save in between
    /// is not written over unseen (409). Left out: whatever is kept.
    #[schema(minimum = 1)]
    revision: Option<u32>,
}

impl ArticleBody {
    fn into_draft(self) -> (ArticleDraft, Option<u32>) {
        (
            ArticleDraft {
                slug: self.slug,
                language: self.language,
                category: self.category,
                tags: self.tags,
                title: self.title,
                body: self.body,
                status: self.status,
            },
            self.revision,
        )
    }
}

/// Write an article. Any agent writes a draft; publishing needs an admin (403).
#[utoipa::path(post, path = "/v1/articles", operation_id = "create_article", tags = ["knowledge base"],
    request_body = ArticleBody,
    responses((status = 201, body = Article), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiJson(body): ApiJson<ArticleBody>,
) -> Result<(StatusCode, Json<Article>), ApiError> {
    let (draft, _) = body.into_draft();
    let article = state.knowledge.create(draft, &agent).await?;
    Ok((StatusCode::CREATED, Json(article)))
}

/// One article, drafts too.
#[utoipa::path(get, path = "/v1/articles/{id}", operation_id = "get_article", tags = ["knowledge base"],
    params(("id" = String, Path, description = "article id (`ar_…`)")),
    responses((status = 200, body = Article), (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Caller,
    ApiPath(id): ApiPath<ArticleId>,
) -> Result<Json<Article>, ApiError> {
    Ok(Json(state.knowledge.article(id).await?))
}

/// Save a new revision of an article. An agent may revise a draft; a published article,
/// or publishing one, needs an admin (403). 409 when `revision` is not the kept one.
#[utoipa::path(put, path = "/v1/articles/{id}", operation_id = "replace_article", tags = ["knowledge base"],
    params(("id" = String, Path, description = "article id (`ar_…`)")), request_body = ArticleBody,
    responses((status = 200, body = Article), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn replace(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath(id): ApiPath<ArticleId>,
    ApiJson(body): ApiJson<ArticleBody>,
) -> Result<Json<Article>, ApiError> {
    let (draft, revision) = body.into_draft();
    Ok(Json(
        state.knowledge.replace(id, draft, revision, &agent).await?,
    ))
}

/// Delete an article and its revisions.
#[utoipa::path(delete, path = "/v1/articles/{id}", operation_id = "delete_article", tags = ["knowledge base", "admin"],
    params(("id" = String, Path, description = "article id (`ar_…`)")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<ApiState>,
    Admin(agent): Admin,
    ApiPath(id): ApiPath<ArticleId>,
) -> Result<StatusCode, ApiError> {
    state.knowledge.delete(id, &agent).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every saved revision of an article, first first: who saved what, and when.
#[utoipa::path(get, path = "/v1/articles/{id}/revisions", operation_id = "article_revisions", tags = ["knowledge base"],
    params(("id" = String, Path, description = "article id (`ar_…`)")),
    responses((status = 200, body = Page<Article>), (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn revisions(
    State(state): State<ApiState>,
    _: Caller,
    ApiPath(id): ApiPath<ArticleId>,
) -> Result<Json<Page<Article>>, ApiError> {
    Ok(Json(Page {
        items: state.knowledge.revisions(id).await?,
        next_cursor: None,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchArticles {
    /// The question, as a customer would write it.
    #[param(min_length = 1, max_length = 500)]
    q: String,
    /// Only articles in this language.
    #[param(max_length = 16)]
    language: Option<String>,
    /// 1–20, default 5.
    #[param(minimum = 1, maximum = 20)]
    limit: Option<u32>,
}

/// A published article a search found.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ArticleHit {
    id: ArticleId,
    slug: String,
    language: String,
    title: String,
    /// Its first paragraph, in plain words.
    summary: String,
    /// Its page in the help center.
    url: String,
    score: f32,
    /// Good enough to answer with on its own: most of the question met, clearly first.
    confident: bool,
}

pub fn hit_of(hit: Hit, base: &str) -> ArticleHit {
    ArticleHit {
        url: format!("{}/help/{}", base.trim_end_matches('/'), hit.doc.slug),
        id: hit.doc.id,
        slug: hit.doc.slug,
        language: hit.doc.language,
        title: hit.doc.title,
        summary: hit.doc.summary,
        score: hit.score,
        confident: hit.confident,
    }
}

/// Search the published articles as customers would be answered: by the words of a
/// question, letter variants, typos and endings met.
#[utoipa::path(get, path = "/v1/articles/search", operation_id = "search_articles", tags = ["knowledge base"],
    params(SearchArticles),
    responses((status = 200, body = Page<ArticleHit>), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn search(
    State(state): State<ApiState>,
    _: Caller,
    ApiQuery(q): ApiQuery<SearchArticles>,
) -> Result<Json<Page<ArticleHit>>, ApiError> {
    let limit = q.limit.unwrap_or(5);
    if !(1..=20).contains(&limit) {
        return Err(ApiError::bad_request("`limit` must be between 1 and 20"));
    }
    if q.q.trim().is_empty() || q.q.chars().count() > 500 {
        return Err(ApiError::bad_request("`q` is 1 to 500 characters"));
    }
    let language = language_of(q.language.as_deref())?;
    let hits = state
        .knowledge
        .search(&q.q, language, limit as usize)
        .await?;
    let base = state.config.public_url.clone().unwrap_or_default();
    Ok(Json(Page {
        items: hits.into_iter().map(|h| hit_of(h, &base)).collect(),
        next_cursor: None,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Reindexed {
    /// The published articles now in the index.
    articles: usize,
}

/// Build the search index again from the published articles (after a failed save, or an
/// import straight to the store).
#[utoipa::path(post, path = "/v1/articles/reindex", operation_id = "reindex_articles", tags = ["knowledge base", "admin"],
    responses((status = 200, body = Reindexed), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn reindex(State(state): State<ApiState>, _: Admin) -> Result<Json<Reindexed>, ApiError> {
    Ok(Json(Reindexed {
        articles: state.knowledge.rebuild_index().await?,
    }))
}
