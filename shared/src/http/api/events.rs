use crate::http::ApiState;
use crate::http::auth::Caller;
use crate::http::problem::{ApiError, ApiQuery, Problem};
use crate::model::Change;
use crate::ports::MAX_PAGE_SIZE;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadEvents {
    /// The `next_cursor` of the previous read. Without it the feed starts now: the
    /// read gives only what happens next.
    after: Option<String>,
    /// 1–100, default 100.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Seconds to wait for a change when there is none yet, 0–25 (default 0: answer
    /// at once). The read answers as soon as one comes.
    #[param(minimum = 0, maximum = 25)]
    wait: Option<u32>,
}

/// What one read of the feed gives.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventsPage {
    /// Oldest first. Delivery is at least once: an entry seen twice has the same `id`.
    events: Vec<Change>,
    /// Pass it as `after` to read on, even when `events` is empty.
    next_cursor: String,
}

/// The changes feed: everything that happens in the inbox (a message received, a reply
/// queued, sent, delivered or failed, a note, an assignment, a status, a merge…), in the
/// order it happened, as ids and a `type`; read what you show of each from its resource.
/// With `wait`, a read with no news waits up to that many seconds for some (a long
/// poll), so a client learns of a change within a second or two.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(ReadEvents),
    responses((status = 200, body = EventsPage),
              (status = 422, body = Problem, description = "`after` is not a cursor this feed issued"),
              (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn read(
    State(state): State<ApiState>,
    _: Caller,
    ApiQuery(q): ApiQuery<ReadEvents>,
) -> Result<Json<EventsPage>, ApiError> {
    let limit = q.limit.unwrap_or(MAX_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::bad_request("`limit` must be between 1 and 100"));
    }
    let limit = limit as usize;
    let wait = q.wait.unwrap_or(0);
    if wait > 25 {
        return Err(ApiError::bad_request("`wait` must be between 0 and 25"));
    }
    let after = q.after.filter(|a| !a.is_empty());
    let page = state
        .changes
        .read(after.as_deref(), limit, Duration::from_secs(wait.into()))
        .await?;
    Ok(Json(EventsPage {
        events: page.changes,
        next_cursor: page.next_cursor,
    }))
}
