//! Incidents: declare one, see who wrote about it on which channel, link and unlink
//! conversations, and answer everyone with one update (the final one resolves it).

use super::conversations::{PageParams, page_request, parse_or};
use crate::http::ApiState;
use crate::http::auth::Caller;
use crate::http::problem::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::model::{
    ConversationId, Incident, IncidentId, IncidentLink, IncidentState, IncidentUpdate,
};
use crate::ports::Page;
use crate::services::incidents::{IncidentDraft, IncidentView, LinkedConversation, UpdateDraft};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListIncidents {
    /// `proposed`, `active` or `resolved`; all when left out.
    #[param(pattern = "^(proposed|active|resolved)?$")]
    state: Option<String>,
    /// 1–100, default 25.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Incidents, newest first, each with its live count of linked conversations by channel.
#[utoipa::path(get, path = "/v1/incidents", tag = "incidents", params(ListIncidents),
    responses((status = 200, body = Page<Incident>), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_incidents(
    State(state): State<ApiState>,
    Caller(_caller): Caller,
    ApiQuery(q): ApiQuery<ListIncidents>,
) -> Result<Json<Page<Incident>>, ApiError> {
    let status = parse_or(q.state.as_deref(), "incident state", IncidentState::parse)?;
    let page = page_request(q.limit, q.cursor, 25)?;
    Ok(Json(state.incidents.list(status, &page).await?))
}

/// Declare an incident: it is active at once. Open conversations whose customer wrote
/// one of its terms within its window (by default the last 24 hours) are linked, and so
/// is every matching message from now on, on every channel; each of those customers is
/// told the status text once.
#[utoipa::path(post, path = "/v1/incidents", tag = "incidents", request_body = IncidentDraft,
    responses((status = 201, body = Incident), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn declare_incident(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiJson(body): ApiJson<IncidentDraft>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let incident = state.incidents.declare(body, &agent).await?;
    Ok((StatusCode::CREATED, Json(incident)))
}

/// One incident with its updates and how far each has gone out.
#[utoipa::path(get, path = "/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "incident id (`inc_…`)")),
    responses((status = 200, body = IncidentView), (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_incident(
    State(state): State<ApiState>,
    Caller(_caller): Caller,
    ApiPath(id): ApiPath<IncidentId>,
) -> Result<Json<IncidentView>, ApiError> {
    Ok(Json(state.incidents.view(id).await?))
}

/// Change an incident's title, status texts or what it matches.
#[utoipa::path(put, path = "/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "incident id (`inc_…`)")), request_body = IncidentDraft,
    responses((status = 200, body = Incident), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn edit_incident(
    State(state): State<ApiState>,
    Caller(_caller): Caller,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(body): ApiJson<IncidentDraft>,
) -> Result<Json<Incident>, ApiError> {
    Ok(Json(state.incidents.edit(id, body).await?))
}

/// Accept a proposed incident: it becomes active, as if declared. A proposal has no
/// status text yet: write it first (`PUT`), else 422.
#[utoipa::path(post, path = "/v1/incidents/{id}/accept", tag = "incidents",
    params(("id" = String, Path, description = "incident id (`inc_…`)")),
    responses((status = 200, body = Incident), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn accept_incident(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath(id): ApiPath<IncidentId>,
) -> Result<Json<Incident>, ApiError> {
    Ok(Json(state.incidents.accept(id, &agent).await?))
}

/// The conversations linked to an incident, each with its row as the inbox lists it.
#[utoipa::path(get, path = "/v1/incidents/{id}/conversations", tag = "incidents",
    params(("id" = String, Path, description = "incident id (`inc_…`)"), PageParams),
    responses((status = 200, body = Page<LinkedConversation>), (status = 400, body = Problem),
        (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn incident_conversations(
    State(state): State<ApiState>,
    Caller(_caller): Caller,
    ApiPath(id): ApiPath<IncidentId>,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<Page<LinkedConversation>>, ApiError> {
    let page = page_request(q.limit, q.cursor, 25)?;
    let links = state.incidents.links(id, &page).await?;
    let mut items = Vec::with_capacity(links.items.len());
    for link in links.items {
        match state.inbox.row(link.conversation_id).await {
            Ok(conversation) => items.push(LinkedConversation { link, conversation }),
            // Gone since it was listed (erased, folded).
            Err(crate::services::error::ServiceError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Json(Page {
        items,
        next_cursor: links.next_cursor,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    conversation_id: ConversationId,
}

/// Link a conversation by hand (its customer is not sent the status text).
#[utoipa::path(post, path = "/v1/incidents/{id}/conversations", tag = "incidents",
    params(("id" = String, Path, description = "incident id (`inc_…`)")), request_body = LinkBody,
    responses((status = 201, body = IncidentLink), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn link_to_incident(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<(StatusCode, Json<IncidentLink>), ApiError> {
    let link = state
        .incidents
        .link(id, body.conversation_id, &agent)
        .await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// Unlink a conversation: it leaves the incident, and its clocks run again.
#[utoipa::path(delete, path = "/v1/incidents/{id}/conversations/{conversation_id}", tag = "incidents",
    params(("id" = String, Path, description = "incident id (`inc_…`)"),
        ("conversation_id" = String, Path, description = "conversation id (`cv_…`)")),
    responses((status = 204), (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn unlink_from_incident(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath((id, conversation)): ApiPath<(IncidentId, ConversationId)>,
) -> Result<StatusCode, ApiError> {
    state.incidents.unlink(id, conversation, &agent).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Post an update: it is written into every linked conversation as a reply from you,
/// and goes out on each customer's own channel (an SMS to a caller), at each
/// provider's pace; the incident shows its progress. With `resolve`, it is the final
/// update: the incident is resolved, and so are the linked conversations it names.
#[utoipa::path(post, path = "/v1/incidents/{id}/updates", tag = "incidents",
    params(("id" = String, Path, description = "incident id (`inc_…`)")), request_body = UpdateDraft,
    responses((status = 202, body = IncidentUpdate), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn post_incident_update(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(body): ApiJson<UpdateDraft>,
) -> Result<(StatusCode, Json<IncidentUpdate>), ApiError> {
    let update = state.incidents.post_update(id, body, &agent).await?;
    Ok((StatusCode::ACCEPTED, Json(update)))
}
