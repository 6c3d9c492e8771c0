//! The satisfaction survey's settings: any agent may read them, an admin sets them.

use crate::http::ApiState;
use crate::http::auth::{Admin, Caller};
use crate::http::problem::{ApiError, ApiJson, Problem};
use crate::model::{MAX_QUIET_DAYS, SurveySettings, TeamId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

/// How customers are asked to rate a resolved conversation.
#[utoipa::path(get, path = "/v1/surveys/settings", tag = "reports",
    responses((status = 200, body = SurveySettings), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn settings(
    State(state): State<ApiState>,
    Caller(_caller): Caller,
) -> Result<Json<SurveySettings>, ApiError> {
    Ok(Json(state.surveys.settings().await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveySettingsBody {
    /// Ask for a rating (1–5) on the customer's channel when a conversation is resolved.
    enabled: bool,
    /// Days a contact is not asked again after a survey (0–365).
    #[schema(minimum = 0, maximum = 365)]
    quiet_days: u32,
    /// Also ask how likely they are to recommend you (0–10), on the survey's page.
    #[serde(default)]
    nps: bool,
    /// Teams whose conversations are never surveyed.
    #[serde(default)]
    #[schema(max_items = 200)]
    teams_off: Vec<TeamId>,
}

/// Set how customers are asked to rate a resolved conversation.
#[utoipa::path(put, path = "/v1/surveys/settings", tag = "admin", request_body = SurveySettingsBody,
    responses((status = 200, body = SurveySettings), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn set_settings(
    State(state): State<ApiState>,
    Admin(_admin): Admin,
    ApiJson(body): ApiJson<SurveySettingsBody>,
) -> Result<Json<SurveySettings>, ApiError> {
    if body.teams_off.len() > 200 {
        return Err(ApiError::invalid("at most 200 teams in `teams_off`"));
    }
    for team in &body.teams_off {
        if state.directory.teams.team(*team).await?.is_none() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("no team {team}"),
            ));
        }
    }
    let settings = SurveySettings {
        enabled: body.enabled,
        quiet_days: body.quiet_days,
        nps: body.nps,
        teams_off: body.teams_off,
    }
    .validated()
    .map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{e} (0 to {MAX_QUIET_DAYS})"),
        )
    })?;
    state.surveys.save_settings(&settings).await?;
    Ok(Json(settings))
}
