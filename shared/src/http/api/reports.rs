use super::conversations::parse_or;
use crate::http::ApiState;
use crate::http::auth::Caller;
use crate::http::problem::{ApiError, ApiQuery, Problem};
use crate::model::{
    AgentId, BUCKET_SECS, Channel, Dimension, Priority, Role, TeamId, normalize_tag,
    parse_local_date,
};
use crate::services::reports::Summary;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// The first day, `YYYY-MM-DD` (Gregorian, or Solar Hijri as `1405-09-08`); default:
    /// six days before `until`.
    since: Option<String>,
    /// The last day, counted whole; default: today.
    until: Option<String>,
    /// The zone the days are in (IANA, `Asia/Tehran`); default: `SWITCHBOARD_TIME_ZONE`.
    tz: Option<String>,
    /// Times in business hours (the calendar of the SLA policy that fits each
    /// conversation) rather than around the clock.
    business_hours: Option<bool>,
    /// One agent's numbers (an agent's own key always gets their own).
    #[param(pattern = "^(ag_[0-7][0-9a-hjkmnp-tv-z]{25})?$")]
    agent_id: Option<String>,
    #[param(pattern = "^(tm_[0-7][0-9a-hjkmnp-tv-z]{25})?$")]
    team_id: Option<String>,
    #[param(pattern = "^(web|email|telegram|sms|voice)?$")]
    channel: Option<String>,
    #[param(pattern = "^(low|normal|high|urgent)?$")]
    priority: Option<String>,
    tag: Option<String>,
}

/// A period's numbers, with the period of the same length just before it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SummaryReport {
    #[schema(value_type = String, format = Date)]
    since: NaiveDate,
    #[schema(value_type = String, format = Date)]
    until: NaiveDate,
    tz: String,
    business_hours: bool,
    /// Whose numbers: `all`, `agent:ag_…`, `team:tm_…`, `channel:telegram`,
    /// `priority:high` or `tag:refund`.
    dimension: String,
    #[serde(flatten)]
    current: Summary,
    previous: Summary,
}

/// How the team did over a period: conversations, messages, resolutions, first-contact
/// resolution, and first response, reply and resolution times (mean, median, p90), with
/// the previous period beside it. An agent's key gets that agent's own numbers; an
/// admin's, everyone's or one dimension's.
#[utoipa::path(get, path = "/v1/reports/summary", operation_id = "report_summary", tags = ["reports"],
    params(SummaryQuery),
    responses((status = 200, body = SummaryReport), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn summary(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<Json<SummaryReport>, ApiError> {
    let zone: Tz = match q.tz.as_deref().filter(|z| !z.is_empty()) {
        Some(zone) => zone
            .parse()
            .map_err(|_| ApiError::bad_request(format!("`{zone}` is not an IANA time zone")))?,
        None => state.config.page.time_zone,
    };
    let day = |text: Option<&str>| {
        text.filter(|t| !t.is_empty())
            .map(|t| parse_local_date(t).map_err(ApiError::bad_request))
            .transpose()
    };
    let until =
        day(q.until.as_deref())?.unwrap_or_else(|| Utc::now().with_timezone(&zone).date_naive());
    let since = day(q.since.as_deref())?.unwrap_or(until - Days::new(6));
    let dimension = dimension_of(&q, &caller)?;
    let end = until
        .checked_add_days(Days::new(1))
        .ok_or_else(|| ApiError::bad_request("`until` is too far ahead"))?;
    let business = q.business_hours.unwrap_or(false);
    let (current, previous) = state
        .reports
        .summary(
            &dimension,
            (start_of(since, zone), start_of(end, zone)),
            business,
        )
        .await?;
    Ok(Json(SummaryReport {
        since,
        until,
        tz: zone.name().to_owned(),
        business_hours: business,
        dimension: dimension.as_str().to_owned(),
        current,
        previous,
    }))
}

/// The half hour (UTC seconds) in which `date` begins in `zone`.
fn start_of(date: NaiveDate, zone: Tz) -> i64 {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    let at = zone
        .from_local_datetime(&midnight)
        .earliest()
        // Midnight skipped by a clock change: the day begins an hour later.
        .or_else(|| {
            zone.from_local_datetime(&(midnight + chrono::TimeDelta::hours(1)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc().timestamp(), |at| at.timestamp());
    at.div_euclid(BUCKET_SECS) * BUCKET_SECS
}

/// Whose numbers the query asks for: one filter at most, and an agent only their own.
fn dimension_of(q: &SummaryQuery, caller: &crate::model::Agent) -> Result<Dimension, ApiError> {
    let agent = parse_or(q.agent_id.as_deref(), "agent id", |v| {
        v.parse::<AgentId>().ok()
    })?;
    let mut asked = Vec::new();
    asked.extend(agent.map(Dimension::agent));
    asked.extend(
        parse_or(q.team_id.as_deref(), "team id", |v| {
            v.parse::<TeamId>().ok()
        })?
        .map(Dimension::team),
    );
    asked
        .extend(parse_or(q.channel.as_deref(), "channel", Channel::parse)?.map(Dimension::channel));
    asked.extend(
        parse_or(q.priority.as_deref(), "priority", Priority::parse)?.map(Dimension::priority),
    );
    asked.extend(parse_or(q.tag.as_deref(), "tag", normalize_tag)?.map(|t| Dimension::tag(&t)));
    if asked.len() > 1 {
        return Err(ApiError::bad_request(
            "one of agent_id, team_id, channel, priority or tag at a time",
        ));
    }
    let mine = Dimension::agent(caller.id);
    if caller.role != Role::Admin {
        return match asked.pop() {
            None => Ok(mine),
            Some(d) if d == mine => Ok(mine),
            Some(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "an agent's key reads only that agent's own numbers",
            )),
        };
    }
    Ok(asked.pop().unwrap_or_else(Dimension::all))
}
