//! Canned replies and macros: admins keep them; every agent finds, fills in and runs them.

use crate::http::ApiState;
use crate::http::auth::{Admin, Caller};
use crate::http::problem::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::model::{
    CannedReply, CannedReplyId, Conversation, ConversationId, Macro, MacroId, MacroStep, Message,
};
use crate::ports::Page;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchCanned {
    /// Words of the short code (a leading `/` is fine), title or text; none: all.
    #[param(max_length = 100)]
    q: Option<String>,
    /// Only those in this language (and those for any).
    #[param(max_length = 16)]
    language: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedBody {
    #[schema(min_length = 1, max_length = 32, example = "refund")]
    short_code: String,
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    title: String,
    #[schema(max_length = 16, example = "fa")]
    language: Option<String>,
    /// May hold `{{contact.name}}`, `{{conversation.id}}`, `{{agent.name}}` and
    /// `{{agent.email}}`.
    #[schema(min_length = 1, max_length = 20000, pattern = "\\S")]
    text: String,
}

impl CannedBody {
    fn into_reply(self, id: CannedReplyId) -> CannedReply {
        CannedReply {
            id,
            short_code: self.short_code.trim().to_owned(),
            title: self.title.trim().to_owned(),
            language: self.language.map(|l| l.trim().to_owned()),
            text: self.text,
        }
    }
}

/// Find canned replies as you type: by short code, title or text, first 50 by short
/// code.
#[utoipa::path(get, path = "/v1/canned-replies", operation_id = "search_canned_replies", tags = ["canned replies"],
    params(SearchCanned),
    responses((status = 200, body = Page<CannedReply>), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn search(
    State(state): State<ApiState>,
    _: Caller,
    ApiQuery(q): ApiQuery<SearchCanned>,
) -> Result<Json<Page<CannedReply>>, ApiError> {
    let too_long = |v: Option<&str>, max: usize| v.is_some_and(|v| v.chars().count() > max);
    if too_long(q.q.as_deref(), 100) || too_long(q.language.as_deref(), 16) {
        return Err(ApiError::bad_request(
            "`q` is at most 100 characters and `language` at most 16",
        ));
    }
    let language = q.language.as_deref().filter(|l| !l.is_empty());
    Ok(Json(Page {
        items: state
            .canned
            .search(q.q.as_deref().unwrap_or(""), language)
            .await?,
        next_cursor: None,
    }))
}

/// Write a canned reply. 409 when its short code is taken in its language.
#[utoipa::path(post, path = "/v1/canned-replies", operation_id = "create_canned_reply", tags = ["canned replies", "admin"],
    request_body = CannedBody,
    responses((status = 201, body = CannedReply), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    _: Admin,
    ApiJson(body): ApiJson<CannedBody>,
) -> Result<(StatusCode, Json<CannedReply>), ApiError> {
    let saved = state
        .canned
        .save(body.into_reply(CannedReplyId::new()), false)
        .await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// Replace a canned reply.
#[utoipa::path(put, path = "/v1/canned-replies/{id}", operation_id = "replace_canned_reply", tags = ["canned replies", "admin"],
    params(("id" = String, Path, description = "canned reply id (`cr_…`)")), request_body = CannedBody,
    responses((status = 200, body = CannedReply), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn replace(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<CannedReplyId>,
    ApiJson(body): ApiJson<CannedBody>,
) -> Result<Json<CannedReply>, ApiError> {
    Ok(Json(state.canned.save(body.into_reply(id), true).await?))
}

/// Delete a canned reply; 409 while a macro sends it.
#[utoipa::path(delete, path = "/v1/canned-replies/{id}", operation_id = "delete_canned_reply", tags = ["canned replies", "admin"],
    params(("id" = String, Path, description = "canned reply id (`cr_…`)")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<CannedReplyId>,
) -> Result<StatusCode, ApiError> {
    state.canned.delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Filled {
    /// The text with its variables filled in, ready to send or edit.
    text: String,
}

/// A canned reply filled in for this conversation, as you would send it.
#[utoipa::path(get, path = "/v1/conversations/{id}/canned-replies/{canned_id}", operation_id = "fill_canned_reply",
    tags = ["canned replies"],
    params(("id" = String, Path, description = "conversation id"), ("canned_id" = String, Path, description = "canned reply id (`cr_…`)")),
    responses((status = 200, body = Filled), (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn fill(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath((id, canned_id)): ApiPath<(ConversationId, CannedReplyId)>,
) -> Result<Json<Filled>, ApiError> {
    let text = state.canned.render(id, canned_id, &agent).await?;
    Ok(Json(Filled { text }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroBody {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    #[schema(min_items = 1, max_items = 10)]
    steps: Vec<MacroStep>,
}

/// Every macro, by name.
#[utoipa::path(get, path = "/v1/macros", operation_id = "list_macros", tags = ["canned replies"],
    responses((status = 200, body = Page<Macro>), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_macros(
    State(state): State<ApiState>,
    _: Caller,
) -> Result<Json<Page<Macro>>, ApiError> {
    Ok(Json(Page {
        items: state.canned.macros().await?,
        next_cursor: None,
    }))
}

/// Write a macro: steps an agent runs on a conversation in one call (a canned reply,
/// tags, a status, a priority, an assignee).
#[utoipa::path(post, path = "/v1/macros", operation_id = "create_macro", tags = ["canned replies", "admin"],
    request_body = MacroBody,
    responses((status = 201, body = Macro), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_macro(
    State(state): State<ApiState>,
    _: Admin,
    ApiJson(body): ApiJson<MacroBody>,
) -> Result<(StatusCode, Json<Macro>), ApiError> {
    let m = Macro {
        id: MacroId::new(),
        name: body.name.trim().to_owned(),
        steps: body.steps,
    };
    Ok((
        StatusCode::CREATED,
        Json(state.canned.save_macro(m, false).await?),
    ))
}

/// Replace a macro.
#[utoipa::path(put, path = "/v1/macros/{id}", operation_id = "replace_macro", tags = ["canned replies", "admin"],
    params(("id" = String, Path, description = "macro id (`mc_…`)")), request_body = MacroBody,
    responses((status = 200, body = Macro), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn replace_macro(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<MacroId>,
    ApiJson(body): ApiJson<MacroBody>,
) -> Result<Json<Macro>, ApiError> {
    let m = Macro {
        id,
        name: body.name.trim().to_owned(),
        steps: body.steps,
    };
    Ok(Json(state.canned.save_macro(m, true).await?))
}

/// Delete a macro.
#[utoipa::path(delete, path = "/v1/macros/{id}", operation_id = "delete_macro", tags = ["canned replies", "admin"],
    params(("id" = String, Path, description = "macro id (`mc_…`)")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_macro(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<MacroId>,
) -> Result<StatusCode, ApiError> {
    state.canned.delete_macro(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MacroOutcome {
    conversation: Conversation,
    /// The reply it queued, if it sends one.
    reply: Option<Message>,
}

/// Run a macro on the conversation: its reply goes out first, then its changes are made
/// at once, each recorded as an event by you.
#[utoipa::path(post, path = "/v1/conversations/{id}/macros/{macro_id}", operation_id = "run_macro",
    tags = ["canned replies"],
    params(("id" = String, Path, description = "conversation id"), ("macro_id" = String, Path, description = "macro id (`mc_…`)")),
    responses((status = 200, body = MacroOutcome), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn run_macro(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath((id, macro_id)): ApiPath<(ConversationId, MacroId)>,
) -> Result<Json<MacroOutcome>, ApiError> {
    let run = state.canned.run_macro(id, macro_id, &agent).await?;
    Ok(Json(MacroOutcome {
        conversation: run.conversation,
        reply: run.reply,
    }))
}
