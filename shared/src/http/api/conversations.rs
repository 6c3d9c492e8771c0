use crate::http::ApiState;
use crate::http::auth::Caller;
use crate::http::problem::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::model::{
    AgentId, Channel, Conversation, ConversationId, ConversationRow, ConversationStatus, Note,
    Priority, TeamId, TimelineItem, Urgency, normalize_tag,
};
use crate::ports::{AssigneeFilter, ConversationFilter, Page, PageRequest, StatusFilter};
use crate::services::inbox::ConversationPatch;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListConversations {
    /// `open` (default), `pending`, `snoozed`, `resolved` or `all`.
    #[param(pattern = "^(open|pending|snoozed|resolved|all)?$")]
    status: Option<String>,
    /// `me`, `none`, or an agent id.
    #[param(pattern = "^(me|none|ag_[0-7][0-9a-hjkmnp-tv-z]{25})?$")]
    assignee: Option<String>,
    #[param(pattern = "^(tm_[0-7][0-9a-hjkmnp-tv-z]{25})?$")]
    team: Option<String>,
    #[param(pattern = "^(web|email|telegram|sms|voice)?$")]
    channel: Option<String>,
    /// Up to 50 letters, digits, `-`, `_` and `:`.
    #[param(pattern = "^[\\w:-]{0,50}$")]
    tag: Option<String>,
    #[param(pattern = "^(low|normal|high|urgent)?$")]
    priority: Option<String>,
    /// Words to find in the conversation's messages.
    q: Option<String>,
    /// `true`: only conversations where the customer wrote last and waits for an answer
    /// (see `waiting_since`).
    waiting: Option<bool>,
    /// `breached`: only conversations with a service-level target run out and still
    /// owed; `due_soon`: with a quarter of a target or less left. Either lists soonest
    /// due first.
    #[param(pattern = "^(breached|due_soon)?$")]
    sla: Option<String>,
    /// `activity` (default): most recently active first; `due`: the conversations that
    /// owe the customer a service-level target, soonest due first (overdue first of all).
    #[param(pattern = "^(activity|due)?$")]
    sort: Option<String>,
    /// 1–100, default 25.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1–100, default 25 (timeline: 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub fn page_request(
    limit: Option<u32>,
    cursor: Option<String>,
    default: u32,
) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=crate::ports::MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::bad_request("`limit` must be between 1 and 100"));
    }
    Ok(PageRequest {
        limit,
        cursor: cursor.filter(|c| !c.is_empty()),
    })
}

pub(super) fn parse_or<T>(
    value: Option<&str>,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            parse(v).ok_or_else(|| ApiError::bad_request(format!("`{v}` is not a valid {what}")))
        })
        .transpose()
}

/// The order a list is in, and which service levels it shows.
enum Order {
    Activity,
    Due(Option<Urgency>),
}

fn filter_from(
    q: ListConversations,
    caller: &Caller,
) -> Result<(ConversationFilter, Order, PageRequest), ApiError> {
    let only = match q.sla.as_deref() {
        None | Some("") => None,
        Some("breached") => Some(Urgency::Breached),
        Some("due_soon") => Some(Urgency::DueSoon),
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "`{s}` is not a valid sla filter"
            )));
        }
    };
    let order = match (q.sort.as_deref(), only) {
        (None | Some("") | Some("activity"), None) => Order::Activity,
        (None | Some("") | Some("due"), only) => Order::Due(only),
        (Some("activity"), Some(_)) => {
            return Err(ApiError::bad_request(
                "`sla` lists in due order: drop `sort=activity`",
            ));
        }
        (Some(s), _) => return Err(ApiError::bad_request(format!("`{s}` is not a valid sort"))),
    };
    let status = match q.status.as_deref() {
        None | Some("") => StatusFilter::Only(ConversationStatus::Open),
        Some("all") => StatusFilter::All,
        Some(s) => StatusFilter::Only(
            ConversationStatus::parse(s)
                .ok_or_else(|| ApiError::bad_request(format!("`{s}` is not a valid status")))?,
        ),
    };
    let assignee = match q.assignee.as_deref() {
        None | Some("") => AssigneeFilter::Anyone,
        Some("me") => AssigneeFilter::Agent(caller.0.id),
        Some("none") => AssigneeFilter::Unassigned,
        Some(id) => AssigneeFilter::Agent(
            id.parse::<AgentId>()
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
    };
    let filter = ConversationFilter {
        status,
        assignee,
        team: parse_or(q.team.as_deref(), "team id", |v| v.parse::<TeamId>().ok())?,
        channel: parse_or(q.channel.as_deref(), "channel", Channel::parse)?,
        tag: parse_or(q.tag.as_deref(), "tag", normalize_tag)?,
        priority: parse_or(q.priority.as_deref(), "priority", Priority::parse)?,
        contact: None,
        query: q.q.filter(|q| !q.trim().is_empty()),
        waiting: q.waiting.unwrap_or(false),
    };
    if matches!(order, Order::Due(_)) && filter.query.is_some() {
        return Err(ApiError::bad_request(
            "a search (`q`) lists by activity only: drop `sort=due` and `sla`",
        ));
    }
    Ok((filter, order, page_request(q.limit, q.cursor, 25)?))
}

/// List conversations, most recently active first (or soonest due), each with its
/// contact's name and service level.
#[utoipa::path(get, path = "/v1/conversations", tag = "conversations", params(ListConversations),
    responses((status = 200, body = Page<ConversationRow>), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListConversations>,
) -> Result<Json<Page<ConversationRow>>, ApiError> {
    let (filter, order, page) = filter_from(q, &caller)?;
    Ok(Json(match order {
        Order::Activity => state.inbox.list(&filter, &page).await?,
        Order::Due(only) => state.inbox.list_by_due(&filter, only, &page).await?,
    }))
}

/// One conversation, with its contact's name and its service level: each target's
/// state and due time.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations", operation_id = "get_conversation",
    params(("id" = String, Path, description = "conversation id (`cv_…`)")),
    responses((status = 200, body = ConversationRow), (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Caller,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<ConversationRow>, ApiError> {
    Ok(Json(state.inbox.row(id).await?))
}

/// Fields to change; absent fields stay, `null` clears.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchConversation {
    status: Option<ConversationStatus>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    snoozed_until: Option<Option<DateTime<Utc>>>,
    priority: Option<Priority>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<AgentId>)]
    assignee_id: Option<Option<AgentId>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<TeamId>)]
    team_id: Option<Option<TeamId>>,
    tags: Option<Vec<String>>,
}

/// Tells a field that is absent (`None`) from one set to null (`Some(None)`).
pub fn nullable<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Change status, snooze, priority, assignee, team or tags.
#[utoipa::path(patch, path = "/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "conversation id")), request_body = PatchConversation,
    responses((status = 200, body = Conversation), (status = 404, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<PatchConversation>,
) -> Result<Json<Conversation>, ApiError> {
    let patch = ConversationPatch {
        status: body.status,
        snoozed_until: body.snoozed_until,
        priority: body.priority,
        assignee_id: body.assignee_id,
        team_id: body.team_id,
        tags: body.tags,
    };
    Ok(Json(state.inbox.patch(id, patch, &agent).await?))
}

/// Messages in and out on every channel, notes and events, oldest first.
#[utoipa::path(get, path = "/v1/conversations/{id}/timeline", tag = "conversations", operation_id = "conversation_timeline",
    params(("id" = String, Path, description = "conversation id"), PageParams),
    responses((status = 200, body = Page<TimelineItem>), (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn timeline(
    State(state): State<ApiState>,
    _: Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<Page<TimelineItem>>, ApiError> {
    let page = page_request(q.limit, q.cursor, 100)?;
    Ok(Json(state.inbox.timeline(id, &page).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    #[schema(min_length = 1, max_length = 20000, pattern = "\\S")]
    text: String,
}

/// A private note for other agents; never sent.
#[utoipa::path(post, path = "/v1/conversations/{id}/notes", tag = "conversations",
    params(("id" = String, Path, description = "conversation id")), request_body = NewNote,
    responses((status = 201, body = Note), (status = 404, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn note(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<NewNote>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.inbox.note(id, &body.text, &agent).await?),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FoldConversation {
    /// The conversation of the same contact this one is folded into; it keeps its id.
    into: ConversationId,
}

/// Fold this conversation into another of the same contact: its messages, notes and
/// events join the other's timeline and it is gone. Refused for a conversation with a
/// customer page (either way) and while a reply of this one is still being sent.
#[utoipa::path(post, path = "/v1/conversations/{id}/fold", tag = "conversations",
    params(("id" = String, Path, description = "the conversation folded away")), request_body = FoldConversation,
    responses((status = 200, body = Conversation, description = "the conversation folded into"),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn fold(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<FoldConversation>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(state.inbox.fold(id, body.into, &agent).await?))
}
