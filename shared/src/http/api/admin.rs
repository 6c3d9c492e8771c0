//! Agents, teams and dead letters. Admin-only operations carry the `admin` tag.

use super::conversations::{PageParams, nullable, page_request};
use crate::http::ApiState;
use crate::http::auth::{Admin, Caller};
use crate::http::problem::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::model::{Agent, AgentId, Assignment, Availability, Erasure, Role, Team, TeamId};
use crate::ports::{DeadLetter, Page, QueueName};
use crate::services::directory::AgentPatch;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// The calling agent.
#[utoipa::path(get, path = "/v1/me", tag = "agents",
    responses((status = 200, body = Agent), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn me(Caller(agent): Caller) -> Json<Agent> {
    Json(agent)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    availability: Availability,
}

/// Set your own availability: `away` and `offline` agents get no new conversations, and
/// going `offline` runs the `assignee_offline` rules on yours.
#[utoipa::path(patch, path = "/v1/me", tag = "agents", request_body = PatchMe,
    responses((status = 200, body = Agent), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch_me(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiJson(body): ApiJson<PatchMe>,
) -> Result<Json<Agent>, ApiError> {
    let patch = AgentPatch {
        availability: Some(body.availability),
        ..Default::default()
    };
    let updated = state.directory.update_agent(agent.id, patch).await?;
    offline_hands_back(&state, &updated).await?;
    Ok(Json(updated))
}

/// An agent set offline: the `assignee_offline` rules run on their conversations, each
/// time it is said (what they do is done once: a conversation handed back is no longer
/// theirs), so a request that failed half-way is finished by saying it again.
async fn offline_hands_back(state: &ApiState, agent: &Agent) -> Result<(), ApiError> {
    if agent.availability == Availability::Offline {
        state.rules.assignee_went_offline(agent.id).await?;
    }
    Ok(())
}

/// Every agent: any agent may read who their colleagues are (to hand a conversation to
/// one); only admins make and change them.
#[utoipa::path(get, path = "/v1/agents", tag = "agents", params(PageParams),
    responses((status = 200, body = Page<Agent>), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_agents(
    State(state): State<ApiState>,
    _: Caller,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<Page<Agent>>, ApiError> {
    let (limit, cursor) = (q.limit, q.cursor);
    Ok(Json(
        state
            .directory
            .list_agents(&page_request(limit, cursor, 25)?)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    #[schema(format = Email)]
    email: String,
    role: Role,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedAgent {
    agent: Agent,
    /// Shown once; only its hash is stored.
    api_key: String,
}

/// Create an agent; the answer carries their API key, shown only this once.
#[utoipa::path(post, path = "/v1/agents", tags = ["agents", "admin"], request_body = NewAgent,
    responses((status = 201, body = CreatedAgent), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_agent(
    State(state): State<ApiState>,
    _: Admin,
    ApiJson(body): ApiJson<NewAgent>,
) -> Result<(StatusCode, Json<CreatedAgent>), ApiError> {
    let (agent, api_key) = state
        .directory
        .create_agent(&body.name, &body.email, body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedAgent { agent, api_key })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAgent {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: Option<String>,
    role: Option<Role>,
    availability: Option<Availability>,
    /// `null` removes the cap.
    #[serde(default, deserialize_with = "nullable_count")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 4294967295_u64)]
    max_open_conversations: Option<Option<u32>>,
    team_ids: Option<Vec<TeamId>>,
    /// The PBX extension the agent answers calls on; `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9+*#._-]{1,32}$")]
    phone_extension: Option<Option<String>>,
    /// What the agent handles: a conversation tagged `skill:<name>` goes only to agents
    /// with that skill.
    #[schema(max_items = 20)]
    skills: Option<Vec<String>>,
    /// The languages the agent answers in (ISO 639-1, like `fa`, `en`).
    #[schema(max_items = 20)]
    languages: Option<Vec<String>>,
}

/// A count that may be null, written as a JSON integer in either form (`3` or `3.0`:
/// JSON does not tell them apart).
fn nullable_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(Some(None));
    };
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX))
            .map(|f| f as u64)
    });
    whole
        .and_then(|n| u32::try_from(n).ok())
        .map(|n| Some(Some(n)))
        .ok_or_else(|| D::Error::custom(format!("{number} is not a count from 0 to {}", u32::MAX)))
}

/// Change an agent's name, role, availability, cap, teams, phone extension, skills or
/// languages.
#[utoipa::path(patch, path = "/v1/agents/{id}", tags = ["agents", "admin"],
    params(("id" = String, Path, description = "agent id (`ag_…`)")), request_body = PatchAgent,
    responses((status = 200, body = Agent), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch_agent(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(body): ApiJson<PatchAgent>,
) -> Result<Json<Agent>, ApiError> {
    let patch = AgentPatch {
        name: body.name,
        role: body.role,
        availability: body.availability,
        max_open_conversations: body.max_open_conversations,
        team_ids: body.team_ids,
        phone_extension: body.phone_extension,
        skills: body.skills,
        languages: body.languages,
    };
    let updated = state.directory.update_agent(id, patch).await?;
    offline_hands_back(&state, &updated).await?;
    Ok(Json(updated))
}

/// Every team.
#[utoipa::path(get, path = "/v1/teams", tag = "teams",
    responses((status = 200, body = Vec<Team>), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn list_teams(
    State(state): State<ApiState>,
    _: Caller,
) -> Result<Json<Vec<Team>>, ApiError> {
    Ok(Json(state.directory.list_teams().await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    /// How its conversations are handed out: `round_robin` (the default) or
    /// `least_loaded`.
    #[serde(default)]
    assignment: Assignment,
    /// Whether the knowledge base's bot answers the team's new conversations first, on
    /// the channels `SWITCHBOARD_ANSWER_FIRST` names (default true).
    #[serde(default = "yes")]
    bot_answers_first: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTeam {
    /// `round_robin` or `least_loaded`.
    assignment: Option<Assignment>,
    /// Whether the bot answers the team's new conversations first.
    bot_answers_first: Option<bool>,
}

/// Create a team.
#[utoipa::path(post, path = "/v1/teams", tags = ["teams", "admin"], request_body = NewTeam,
    responses((status = 201, body = Team), (status = 409, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_team(
    State(state): State<ApiState>,
    _: Admin,
    ApiJson(body): ApiJson<NewTeam>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .directory
                .create_team(&body.name, body.assignment, body.bot_answers_first)
                .await?,
        ),
    ))
}

/// Change how a team hands out its conversations, and whether the bot answers its new
/// conversations first (give either or both).
#[utoipa::path(patch, path = "/v1/teams/{id}", tags = ["teams", "admin"],
    params(("id" = String, Path, description = "team id (`tm_…`)")), request_body = PatchTeam,
    responses((status = 200, body = Team), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch_team(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<TeamId>,
    ApiJson(body): ApiJson<PatchTeam>,
) -> Result<Json<Team>, ApiError> {
    Ok(Json(
        state
            .directory
            .change_team(id, body.assignment, body.bot_answers_first)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// `inbound` (default), `outbound` or `webhooks`.
    #[param(pattern = "^(inbound|outbound|webhooks)$")]
    queue: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

fn queue_named(name: Option<&str>) -> Result<QueueName, ApiError> {
    let name = name.unwrap_or("inbound");
    QueueName::parse(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "`{name}` is not a queue (inbound, outbound, webhooks)"
        ))
    })
}

/// Messages that failed five times and wait for an admin.
#[utoipa::path(get, path = "/v1/dead-letters", tags = ["queues", "admin"], params(DeadLetterQuery),
    responses((status = 200, body = Page<DeadLetter>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn dead_letters(
    State(state): State<ApiState>,
    _: Admin,
    ApiQuery(q): ApiQuery<DeadLetterQuery>,
) -> Result<Json<Page<DeadLetter>>, ApiError> {
    let queue = queue_named(q.queue.as_deref())?;
    let page = page_request(q.limit, q.cursor, 25)?;
    Ok(Json(state.queue.dead_letters(queue, &page).await?))
}

/// Put a dead letter back on its queue.
#[utoipa::path(post, path = "/v1/dead-letters/{queue}/{id}/replay", tags = ["queues", "admin"],
    params(("queue" = String, Path, description = "inbound, outbound or webhooks", pattern = "^(inbound|outbound|webhooks)$"), ("id" = String, Path, description = "dead letter id")),
    responses((status = 202, description = "queued again"), (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn replay(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath((queue, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let queue = queue_named(Some(&queue))?;
    if state.queue.replay(queue, &id).await? {
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ApiError::not_found("dead letter"))
    }
}

/// The tombstones erasures left (a contact erased on request, conversations past their
/// retention), newest first: when, by whom, how much; nothing of whom.
#[utoipa::path(get, path = "/v1/erasures", tags = ["contacts", "admin"], params(PageParams),
    responses((status = 200, body = Page<Erasure>), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn erasures(
    State(state): State<ApiState>,
    _: Admin,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<Page<Erasure>>, ApiError> {
    let page = page_request(q.limit, q.cursor, 25)?;
    Ok(Json(state.rights.erasures(&page).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(body: &str) -> Result<Option<Option<u32>>, String> {
        serde_json::from_str::<PatchAgent>(body)
            .map(|p| p.max_open_conversations)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_cap_is_a_whole_count_in_either_json_form_or_null_to_remove_it() {
        assert_eq!(cap("{}"), Ok(None));
        assert_eq!(cap(r#"{"max_open_conversations": null}"#), Ok(Some(None)));
        assert_eq!(cap(r#"{"max_open_conversations": 3}"#), Ok(Some(Some(3))));
        assert_eq!(cap(r#"{"max_open_conversations": 3.0}"#), Ok(Some(Some(3))));
        for refused in ["3.5", "-1", "4294967296", "\"3\""] {
            let body = format!(r#"{{"max_open_conversations": {refused}}}"#);
            assert!(cap(&body).is_err(), "{refused} is refused");
        }
    }
}
