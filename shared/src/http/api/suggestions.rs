//! Beside a conversation, before the agent types: the articles that answer it, the
//! similar conversations the team resolved (with the reply that did), their tags; and an
//! article written out as a reply to edit and send.

use super::articles::{ArticleHit, hit_of};
use crate::http::ApiState;
use crate::http::auth::Caller;
use crate::http::problem::{ApiError, ApiPath, Problem};
use crate::model::{ArticleId, ConversationId};
use crate::services::suggestions::{ResolvedAnswer, SuggestedTag};
use axum::Json;
use axum::extract::State;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConversationSuggestions {
    /// Published articles for the customer's latest words, best first (three at most).
    articles: Vec<ArticleHit>,
    /// Resolved conversations most like this one, each with the reply that resolved it
    /// (three at most, among the latest hundred resolved).
    similar: Vec<ResolvedAnswer>,
    /// Tags those conversations carried that this one does not, most carried first.
    tags: Vec<SuggestedTag>,
    /// Whether `POST /v1/conversations/{id}/ai-draft` may be asked (a language model is
    /// configured).
    drafting: bool,
}

/// What may answer this conversation: articles, similar resolved conversations with
/// their replies, and tags.
#[utoipa::path(get, path = "/v1/conversations/{id}/suggestions", operation_id = "conversation_suggestions",
    tags = ["knowledge base"],
    params(("id" = String, Path, description = "conversation id")),
    responses((status = 200, body = ConversationSuggestions), (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn suggestions(
    State(state): State<ApiState>,
    _: Caller,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<ConversationSuggestions>, ApiError> {
    let found = state.suggestions.for_conversation(id).await?;
    let base = state.config.public_url.clone().unwrap_or_default();
    Ok(Json(ConversationSuggestions {
        articles: found
            .articles
            .into_iter()
            .map(|h| hit_of(h, &base))
            .collect(),
        similar: found.similar,
        tags: found.tags,
        drafting: state.drafting.is_on(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ArticleReply {
    /// The article as plain text with its link, to edit and send as a reply.
    text: String,
}

/// A published article written out as a reply draft for this conversation (nothing is
/// sent).
#[utoipa::path(get, path = "/v1/conversations/{id}/articles/{article_id}/reply", operation_id = "article_as_reply",
    tags = ["knowledge base"],
    params(("id" = String, Path, description = "conversation id"), ("article_id" = String, Path, description = "article id (`ar_…`)")),
    responses((status = 200, body = ArticleReply), (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn article_reply(
    State(state): State<ApiState>,
    _: Caller,
    ApiPath((id, article_id)): ApiPath<(ConversationId, ArticleId)>,
) -> Result<Json<ArticleReply>, ApiError> {
    state.inbox.get(id).await?;
    let base = state.config.public_url.clone().unwrap_or_default();
    let text = state.knowledge.as_reply(article_id, &base).await?;
    Ok(Json(ArticleReply { text }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AiDraft {
    /// The model's draft, to read, edit and send as a reply (nothing is sent).
    text: String,
    /// The published articles it was written from, best first.
    articles: Vec<ArticleHit>,
    /// The model that wrote it.
    model: String,
}

/// A reply drafted by the configured language model from the published articles that
/// answer this conversation (the ones its suggestions show). The model is given those
/// articles and the text of the conversation's latest eight messages, nothing else;
/// nothing is stored or sent. 404 when no model is configured, 409 when no article
/// answers the conversation, 502 when the model fails, 429 past ten drafts a minute by
/// one agent.
#[utoipa::path(post, path = "/v1/conversations/{id}/ai-draft", operation_id = "ai_draft",
    tags = ["knowledge base"],
    params(("id" = String, Path, description = "conversation id")),
    responses((status = 200, body = AiDraft), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 502, body = Problem), (status = 429, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn ai_draft(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<AiDraft>, ApiError> {
    if state.drafting.is_on() {
        state.drafting.per_agent.check(agent.id).map_err(|wait| {
            ApiError::too_many(wait, "ten drafts a minute at most: write this one yourself")
        })?;
    }
    let base = state.config.public_url.clone().unwrap_or_default();
    let draft = state.drafting.draft(id, &base).await?;
    Ok(Json(AiDraft {
        text: draft.text,
        articles: draft
            .articles
            .into_iter()
            .map(|h| hit_of(h, &base))
            .collect(),
        model: draft.model,
    }))
}
