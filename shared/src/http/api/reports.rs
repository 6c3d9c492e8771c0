use super::conversations::parse_or;
use crate::http::ApiState;
use crate::http::auth::{Admin, Caller};
use crate::http::problem::{ApiError, ApiPath, ApiQuery, Problem};
use crate::model::{
    Agent, AgentId, Channel, Dimension, Priority, Role, TeamId, normalize_tag, parse_local_date,
};
use crate::ports::PageRequest;
use crate::services::reports::{GroupBy, MAX_TAGS_COMPARED, Span, Summary, Volume};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Which days, in which zone, measured how: what every report is asked.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
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
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)?$")]
    format: Option<String>,
}

/// Whose numbers: one of these at most; an agent's key reads only that agent's own.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhoQuery {
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// The number to follow: a field of the summary (`conversations_count`, `fcr_rate`,
    /// `median_first_response_time`, …).
    metric: String,
    /// `day` (default), `week` (from Monday) or `month`.
    #[param(pattern = "^(day|week|month)?$")]
    group_by: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VolumeQuery {
    /// Weeks to look back over, 1 to 12; default 4.
    #[param(minimum = 1, maximum = 12)]
    weeks: Option<u32>,
    /// The zone whose hours and weekdays are shown; default: `SWITCHBOARD_TIME_ZONE`.
    tz: Option<String>,
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

/// One number, day by day (or week by week, month by month).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SeriesReport {
    metric: String,
    group_by: String,
    tz: String,
    business_hours: bool,
    dimension: String,
    points: Vec<Point>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Point {
    /// The first and last day of the period.
    #[schema(value_type = String, format = Date)]
    since: NaiveDate,
    #[schema(value_type = String, format = Date)]
    until: NaiveDate,
    /// Null for a time with nothing counted.
    value: Option<f64>,
}

/// The numbers side by side, one row per channel, agent, team, priority or tag.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ByReport {
    by: String,
    #[schema(value_type = String, format = Date)]
    since: NaiveDate,
    #[schema(value_type = String, format = Date)]
    until: NaiveDate,
    tz: String,
    business_hours: bool,
    items: Vec<ByRow>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ByRow {
    dimension: String,
    /// The channel, agent's or team's name, priority or tag.
    name: String,
    #[serde(flatten)]
    summary: Summary,
}

/// How the team did over a period: conversations, messages, resolutions, first-contact
/// resolution, and first response, reply and resolution times (mean, median, p90), with
/// the previous period beside it. An agent's key gets that agent's own numbers; an
/// admin's, everyone's or one dimension's. `format=csv` gives the two periods as rows.
#[utoipa::path(get, path = "/v1/reports/summary", operation_id = "report_summary", tags = ["reports"],
    params(DaysQuery, WhoQuery),
    responses((status = 200, description = "The report, as JSON or (`format=csv`) as CSV",
            content((SummaryReport = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn summary(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    ApiQuery(days): ApiQuery<DaysQuery>,
    ApiQuery(who): ApiQuery<WhoQuery>,
) -> Result<Response, ApiError> {
    let span = span_of(&days, &state)?;
    let dimension = dimension_of(&who, &caller)?;
    let business = days.business_hours.unwrap_or(false);
    let (current, previous) = state.reports.summary(&dimension, &span, business).await?;
    if csv_asked(&days)? {
        let before = (span.until - span.since).num_days() + 1;
        let earlier = |d: NaiveDate| d.checked_sub_days(Days::new(before as u64)).unwrap_or(d);
        let rows = [
            (span.since, span.until, &current),
            (earlier(span.since), earlier(span.until), &previous),
        ];
        return csv_response(
            "summary",
            &["since", "until", "dimension"],
            rows.iter().map(|(since, until, summary)| {
                (
                    vec![
                        since.to_string(),
                        until.to_string(),
                        dimension.as_str().to_owned(),
                    ],
                    (*summary).clone(),
                )
            }),
        );
    }
    Ok(Json(SummaryReport {
        since: span.since,
        until: span.until,
        tz: span.zone.name().to_owned(),
        business_hours: business,
        dimension: dimension.as_str().to_owned(),
        current,
        previous,
    })
    .into_response())
}

/// One number of the summary for each day, week or month: the same reach as the summary
/// (an agent's own numbers, or an admin's choice).
#[utoipa::path(get, path = "/v1/reports/timeseries", operation_id = "report_timeseries", tags = ["reports"],
    params(SeriesQuery, DaysQuery, WhoQuery),
    responses((status = 200, description = "The report, as JSON or (`format=csv`) as CSV",
            content((SeriesReport = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn timeseries(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    ApiQuery(series): ApiQuery<SeriesQuery>,
    ApiQuery(days): ApiQuery<DaysQuery>,
    ApiQuery(who): ApiQuery<WhoQuery>,
) -> Result<Response, ApiError> {
    if !Summary::field_names().contains(&series.metric.as_str()) {
        return Err(ApiError::bad_request(format!(
            "`{}` is not a metric; one of: {}",
            series.metric,
            Summary::field_names().join(", ")
        )));
    }
    let group_name = series
        .group_by
        .as_deref()
        .filter(|g| !g.is_empty())
        .unwrap_or("day");
    let group = GroupBy::parse(group_name)
        .ok_or_else(|| ApiError::bad_request("`group_by` is day, week or month"))?;
    let span = span_of(&days, &state)?;
    let dimension = dimension_of(&who, &caller)?;
    let business = days.business_hours.unwrap_or(false);
    let periods = state
        .reports
        .timeseries(&dimension, &span, group, business)
        .await?;
    let points: Vec<Point> = periods
        .into_iter()
        .map(|(period, summary)| Point {
            since: period.since,
            until: period.until,
            value: summary
                .fields()
                .into_iter()
                .find(|(name, _)| *name == series.metric)
                .and_then(|(_, value)| value),
        })
        .collect();
    if csv_asked(&days)? {
        let mut out = csv::Writer::from_writer(Vec::new());
        write_csv_row(&mut out, ["since", "until", series.metric.as_str()])?;
        for p in &points {
            let value = p.value.map(|v| v.to_string()).unwrap_or_default();
            write_csv_row(&mut out, [p.since.to_string(), p.until.to_string(), value])?;
        }
        return csv_bytes("timeseries", out);
    }
    Ok(Json(SeriesReport {
        metric: series.metric,
        group_by: group_name.to_owned(),
        tz: span.zone.name().to_owned(),
        business_hours: business,
        dimension: dimension.as_str().to_owned(),
        points,
    })
    .into_response())
}

/// The summary side by side for each channel, agent, team, priority or tag that had
/// anything counted in the period (admins); the first 1,000 agents and 200 tags by name.
#[utoipa::path(get, path = "/v1/reports/by/{kind}", operation_id = "report_by", tags = ["reports", "admin"],
    params(("kind" = String, Path, description = "`channel`, `agent`, `team`, `priority` or `tag`"), DaysQuery),
    responses((status = 200, description = "The report, as JSON or (`format=csv`) as CSV",
            content((ByReport = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn by(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(days): ApiQuery<DaysQuery>,
) -> Result<Response, ApiError> {
    let span = span_of(&days, &state)?;
    let business = days.business_hours.unwrap_or(false);
    let dimensions: Vec<(Dimension, String)> = match kind.as_str() {
        "channel" => [
            Channel::Web,
            Channel::Email,
            Channel::Telegram,
            Channel::Sms,
            Channel::Voice,
        ]
        .into_iter()
        .map(|c| (Dimension::channel(c), c.as_str().to_owned()))
        .collect(),
        "priority" => [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ]
        .into_iter()
        .map(|p| (Dimension::priority(p), p.as_str().to_owned()))
        .collect(),
        "agent" => every_agent(&state)
            .await?
            .into_iter()
            .map(|a| (Dimension::agent(a.id), a.name))
            .collect(),
        "team" => state
            .directory
            .list_teams()
            .await?
            .into_iter()
            .map(|t| (Dimension::team(t.id), t.name))
            .collect(),
        "tag" => state
            .reports
            .tags()
            .await?
            .into_iter()
            .take(MAX_TAGS_COMPARED)
            .map(|t| (Dimension::tag(&t), t))
            .collect(),
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "reports are by channel, agent, team, priority or tag",
            ));
        }
    };
    let rows = state.reports.by(dimensions, &span, business).await?;
    if csv_asked(&days)? {
        return csv_response(
            &format!("by-{kind}"),
            &["dimension", "name"],
            rows.into_iter()
                .map(|(d, name, summary)| (vec![d.as_str().to_owned(), name], summary)),
        );
    }
    Ok(Json(ByReport {
        by: kind,
        since: span.since,
        until: span.until,
        tz: span.zone.name().to_owned(),
        business_hours: business,
        items: rows
            .into_iter()
            .map(|(d, name, summary)| ByRow {
                dimension: d.as_str().to_owned(),
                name,
                summary,
            })
            .collect(),
    })
    .into_response())
}

/// When customers write (the mean messages in each hour of each weekday, per channel,
/// over the last weeks) and which tags grew most in the last seven days against the
/// seven before: what to staff by before an outage turns into a crisis (admins).
#[utoipa::path(get, path = "/v1/reports/volume", operation_id = "report_volume", tags = ["reports", "admin"],
    params(VolumeQuery),
    responses((status = 200, body = Volume), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn volume(
    State(state): State<ApiState>,
    _: Admin,
    ApiQuery(q): ApiQuery<VolumeQuery>,
) -> Result<Json<Volume>, ApiError> {
    let zone = zone_of(q.tz.as_deref(), &state)?;
    let today = Utc::now().with_timezone(&zone).date_naive();
    Ok(Json(
        state
            .reports
            .volume(today, zone, q.weeks.unwrap_or(4))
            .await?,
    ))
}

/// Agents listed at most, for a report by agent.
const MAX_AGENTS: usize = 1000;

async fn every_agent(state: &ApiState) -> Result<Vec<Agent>, ApiError> {
    let mut agents = Vec::new();
    let mut page = PageRequest::first(100);
    loop {
        let found = state.directory.list_agents(&page).await?;
        agents.extend(found.items);
        match found.next_cursor {
            Some(cursor) if agents.len() < MAX_AGENTS => page.cursor = Some(cursor),
            _ => return Ok(agents),
        }
    }
}

fn zone_of(tz: Option<&str>, state: &ApiState) -> Result<Tz, ApiError> {
    match tz.filter(|z| !z.is_empty()) {
        Some(zone) => zone
            .parse()
            .map_err(|_| ApiError::bad_request(format!("`{zone}` is not an IANA time zone"))),
        None => Ok(state.config.page.time_zone),
    }
}

/// The days a query asks for: the last seven days by default.
fn span_of(q: &DaysQuery, state: &ApiState) -> Result<Span, ApiError> {
    let zone = zone_of(q.tz.as_deref(), state)?;
    let day = |text: Option<&str>| {
        text.filter(|t| !t.is_empty())
            .map(|t| parse_local_date(t).map_err(ApiError::bad_request))
            .transpose()
    };
    let until =
        day(q.until.as_deref())?.unwrap_or_else(|| Utc::now().with_timezone(&zone).date_naive());
    let since = day(q.since.as_deref())?
        .unwrap_or_else(|| until.checked_sub_days(Days::new(6)).unwrap_or(until));
    Span::new(since, until, zone).map_err(|e| ApiError::bad_request(e.to_string()))
}

fn csv_asked(q: &DaysQuery) -> Result<bool, ApiError> {
    match q.format.as_deref().unwrap_or("") {
        "" | "json" => Ok(false),
        "csv" => Ok(true),
        other => Err(ApiError::bad_request(format!(
            "`{other}` is not a format: json or csv"
        ))),
    }
}

/// Rows of leading columns and a summary's numbers, as a CSV download.
fn csv_response(
    name: &str,
    leading: &[&str],
    rows: impl Iterator<Item = (Vec<String>, Summary)>,
) -> Result<Response, ApiError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = leading
        .iter()
        .copied()
        .chain(Summary::field_names())
        .collect();
    write_csv_row(&mut out, header)?;
    for (lead, summary) in rows {
        let numbers = summary
            .fields()
            .into_iter()
            .map(|(_, v)| v.map(|v| v.to_string()).unwrap_or_default());
        write_csv_row(&mut out, lead.into_iter().chain(numbers))?;
    }
    csv_bytes(name, out)
}

fn write_csv_row<I, T>(out: &mut csv::Writer<Vec<u8>>, row: I) -> Result<(), ApiError>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    out.write_record(row).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("writing CSV: {e}"),
        )
    })
}

fn csv_bytes(name: &str, out: csv::Writer<Vec<u8>>) -> Result<Response, ApiError> {
    let bytes = out.into_inner().map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("writing CSV: {e}"),
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"switchboard-{name}.csv\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Whose numbers the query asks for: one filter at most, and an agent only their own.
fn dimension_of(q: &WhoQuery, caller: &Agent) -> Result<Dimension, ApiError> {
    let mut asked = Vec::new();
    asked.extend(
        parse_or(q.agent_id.as_deref(), "agent id", |v| {
            v.parse::<AgentId>().ok()
        })?
        .map(Dimension::agent),
    );
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

/// What the knowledge base did, and the deflection it made.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KnowledgeReport {
    since: NaiveDate,
    until: NaiveDate,
    #[serde(flatten)]
    figures: crate::services::knowledge::KnowledgeFigures,
    /// Conversations begun over the days (every channel; a bot's solved ones too).
    conversations_count: i64,
    /// The questions the knowledge base answered without an agent, of all questions:
    /// `self_served / (helpful + conversations_count)` (a bot's solved questions are
    /// conversations too; a help-center "yes" is a question that never became one).
    /// None when there were no questions.
    deflection_rate: Option<f64>,
}

/// The knowledge base's deflection: searches, the answers customers took without an
/// agent (help-center "did this answer your question?" and the bots' solved questions),
/// the articles that deflect most, and the searches that found nothing: what to write
/// next. The knowledge base counts by UTC day.
#[utoipa::path(get, path = "/v1/reports/knowledge", operation_id = "report_knowledge", tags = ["reports", "knowledge base"],
    params(DaysQuery),
    responses((status = 200, body = KnowledgeReport), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn knowledge(
    State(state): State<ApiState>,
    _: Caller,
    ApiQuery(days): ApiQuery<DaysQuery>,
) -> Result<Json<KnowledgeReport>, ApiError> {
    if csv_asked(&days)? {
        return Err(ApiError::bad_request("this report is JSON only"));
    }
    let span = span_of(&days, &state)?;
    let figures = state.knowledge.report(span.since, span.until).await?;
    let (current, _) = state
        .reports
        .summary(&Dimension::all(), &span, false)
        .await?;
    let questions = figures.helpful + current.conversations_count;
    Ok(Json(KnowledgeReport {
        since: span.since,
        until: span.until,
        deflection_rate: (questions > 0).then(|| figures.self_served as f64 / questions as f64),
        conversations_count: current.conversations_count,
        figures,
    }))
}
