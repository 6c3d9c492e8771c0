//! Calendars and SLA policies, for admins; any agent may read them.

use crate::http::ApiState;
use crate::http::auth::{Admin, Caller};
use crate::http::problem::{ApiError, ApiJson, ApiPath, Problem};
use crate::model::{
    Calendar, CalendarId, Channel, PriorityTargets, SlaPolicy, SlaPolicyId, TeamId,
    parse_local_date, solar_hijri,
};
use crate::ports::Page;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    /// `<days> <hours> … <zone>`: days as `mon-fri`, `sat,sun` or a range that wraps the
    /// week (`sat-wed`); hours as `09:00-17:00`, several comma-separated, `24:00` for
    /// midnight; the zone an IANA name (`Asia/Tehran`) or a UTC offset (`+03:30`).
    #[schema(example = "sat-wed 09:00-17:00 Asia/Tehran", max_length = 500)]
    hours: String,
    /// Local dates closed all day, `YYYY-MM-DD`: Gregorian (`2027-03-21`) or Solar Hijri
    /// (`1406-01-01`, Nowruz; a year before 1700 reads as Solar Hijri). Kept Gregorian.
    #[serde(default)]
    #[schema(max_items = 400, example = json!(["1406-01-01", "1406-01-02", "2027-03-23"]))]
    holidays: Vec<String>,
}

impl CalendarBody {
    fn into_calendar(self, id: CalendarId) -> Result<Calendar, ApiError> {
        let mut holidays = self
            .holidays
            .iter()
            .map(|h| parse_local_date(h))
            .collect::<Result<Vec<NaiveDate>, String>>()
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e))?;
        holidays.sort();
        holidays.dedup();
        Ok(Calendar {
            id,
            name: self.name.trim().to_owned(),
            hours: self.hours,
            holidays,
        })
    }
}

/// A calendar as the API shows it: with its holidays in the Solar Hijri calendar too,
/// for a caller whose language is Persian (`Accept-Language: fa`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CalendarView {
    #[serde(flatten)]
    calendar: Calendar,
    /// The holidays as `1406-01-01`, in the order of `holidays`; only in Persian.
    #[serde(skip_serializing_if = "Option::is_none")]
    holidays_solar_hijri: Option<Vec<String>>,
}

impl CalendarView {
    fn of(calendar: Calendar, headers: &HeaderMap) -> Self {
        let holidays_solar_hijri = prefers_persian(headers).then(|| {
            calendar
                .holidays
                .iter()
                .map(|d| solar_hijri(*d).unwrap_or_else(|| d.to_string()))
                .collect()
        });
        Self {
            calendar,
            holidays_solar_hijri,
        }
    }
}

/// Whether the caller's first language is Persian.
fn prefers_persian(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|first| {
            first
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|tag| tag == "fa" || tag.starts_with("fa-"))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    /// The calendar its clocks count in; none: around the clock.
    calendar_id: Option<CalendarId>,
    /// The teams whose conversations it covers; empty: every team, and none.
    #[serde(default)]
    #[schema(max_items = 100)]
    teams: Vec<TeamId>,
    /// The channels it covers; empty: every channel.
    #[serde(default)]
    channels: Vec<Channel>,
    targets: PriorityTargets,
}

impl PolicyBody {
    fn into_policy(self, id: SlaPolicyId) -> SlaPolicy {
        let (mut teams, mut channels) = (self.teams, self.channels);
        teams.sort();
        teams.dedup();
        channels.sort();
        channels.dedup();
        SlaPolicy {
            id,
            name: self.name.trim().to_owned(),
            calendar_id: self.calendar_id,
            teams,
            channels,
            targets: self.targets,
        }
    }
}

/// Every calendar.
#[utoipa::path(get, path = "/v1/calendars", operation_id = "list_calendars", tags = ["service levels"],
    responses((status = 200, body = Page<CalendarView>), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_calendars(
    State(state): State<ApiState>,
    _: Caller,
    headers: HeaderMap,
) -> Result<Json<Page<CalendarView>>, ApiError> {
    Ok(Json(Page {
        items: state
            .service_levels
            .calendars()
            .await?
            .into_iter()
            .map(|c| CalendarView::of(c, &headers))
            .collect(),
        next_cursor: None,
    }))
}

/// Make a calendar: weekly business hours in a time zone, and holidays. 422 for hours
/// that do not read.
#[utoipa::path(post, path = "/v1/calendars", operation_id = "create_calendar", tags = ["service levels", "admin"],
    request_body = CalendarBody,
    responses((status = 201, body = CalendarView), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_calendar(
    State(state): State<ApiState>,
    _: Admin,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CalendarBody>,
) -> Result<(StatusCode, Json<CalendarView>), ApiError> {
    let calendar = body.into_calendar(CalendarId::new())?;
    let saved = state.service_levels.save_calendar(calendar, false).await?;
    Ok((StatusCode::CREATED, Json(CalendarView::of(saved, &headers))))
}

/// Replace a calendar. Conversations already measured keep the hours they started with.
#[utoipa::path(put, path = "/v1/calendars/{id}", operation_id = "replace_calendar", tags = ["service levels", "admin"],
    params(("id" = String, Path, description = "calendar id (`cal_…`)")), request_body = CalendarBody,
    responses((status = 200, body = CalendarView), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn replace_calendar(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<CalendarId>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CalendarBody>,
) -> Result<Json<CalendarView>, ApiError> {
    let saved = state
        .service_levels
        .save_calendar(body.into_calendar(id)?, true)
        .await?;
    Ok(Json(CalendarView::of(saved, &headers)))
}

/// Delete a calendar; 409 while a policy counts in it.
#[utoipa::path(delete, path = "/v1/calendars/{id}", operation_id = "delete_calendar", tags = ["service levels", "admin"],
    params(("id" = String, Path, description = "calendar id (`cal_…`)")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_calendar(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<CalendarId>,
) -> Result<StatusCode, ApiError> {
    state.service_levels.delete_calendar(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every SLA policy.
#[utoipa::path(get, path = "/v1/sla-policies", operation_id = "list_sla_policies", tags = ["service levels"],
    responses((status = 200, body = Page<SlaPolicy>), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_policies(
    State(state): State<ApiState>,
    _: Caller,
) -> Result<Json<Page<SlaPolicy>>, ApiError> {
    Ok(Json(Page {
        items: state.service_levels.policies().await?,
        next_cursor: None,
    }))
}

/// Make an SLA policy: first-response, next-response and resolution targets per
/// priority. A conversation is measured by the policy that fits it closest (its team and
/// channel, its team, its channel, or neither), from its first customer message on.
#[utoipa::path(post, path = "/v1/sla-policies", operation_id = "create_sla_policy", tags = ["service levels", "admin"],
    request_body = PolicyBody,
    responses((status = 201, body = SlaPolicy), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_policy(
    State(state): State<ApiState>,
    _: Admin,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<(StatusCode, Json<SlaPolicy>), ApiError> {
    let policy = body.into_policy(SlaPolicyId::new());
    let saved = state.service_levels.save_policy(policy, false).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// Replace an SLA policy. Conversations it measures keep their targets until their
/// priority changes.
#[utoipa::path(put, path = "/v1/sla-policies/{id}", operation_id = "replace_sla_policy", tags = ["service levels", "admin"],
    params(("id" = String, Path, description = "policy id (`sla_…`)")), request_body = PolicyBody,
    responses((status = 200, body = SlaPolicy), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn replace_policy(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<SlaPolicyId>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<Json<SlaPolicy>, ApiError> {
    let saved = state
        .service_levels
        .save_policy(body.into_policy(id), true)
        .await?;
    Ok(Json(saved))
}

/// Delete an SLA policy. Conversations it measures keep their clocks.
#[utoipa::path(delete, path = "/v1/sla-policies/{id}", operation_id = "delete_sla_policy", tags = ["service levels", "admin"],
    params(("id" = String, Path, description = "policy id (`sla_…`)")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_policy(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<SlaPolicyId>,
) -> Result<StatusCode, ApiError> {
    state.service_levels.delete_policy(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
