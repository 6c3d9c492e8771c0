//! `POST /webhooks/pbx`: check the signature and its time window, update the call's
//! record, and at hangup queue the call's timeline item (see [`crate::channels::pbx`]).

use crate::channels::pbx::call::record_key;
use crate::channels::pbx::event::CtiEvent;
use crate::channels::pbx::event::MAX_EVENT_BYTES;
use crate::channels::pbx::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use crate::channels::pbx::{CallRecord, Step, parse};
use crate::http::ChannelState;
use crate::http::problem::ApiError;
use crate::ports::{Blob, BlobStore, PortError, PortResult};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub async fn receive(State(state): State<ChannelState>, req: Request) -> Response {
    match handle(&state, req).await {
        Ok(answer) => answer,
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &ChannelState, req: Request) -> Result<Response, ApiError> {
    let Some(config) = state.config.pbx.as_ref() else {
        return Err(ApiError::not_found("route"));
    };
    let headers = req.headers();
    let (timestamp, signature, content_type) = (
        header_of(headers, TIMESTAMP_HEADER),
        header_of(headers, SIGNATURE_HEADER),
        header_of(headers, header::CONTENT_TYPE.as_str()).unwrap_or_default(),
    );
    let body = axum::body::to_bytes(req.into_body(), MAX_EVENT_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the event is larger than {MAX_EVENT_BYTES} bytes"),
            )
        })?;
    let at = verify(
        config.secret.expose(),
        timestamp.as_deref(),
        signature.as_deref(),
        &body,
        chrono::Utc::now().timestamp(),
        config.window_secs,
    )
    .map_err(|reason| {
        tracing::warn!(reason, "PBX call refused");
        ApiError::new(StatusCode::FORBIDDEN, reason)
    })?;
    let event = parse(&content_type, &body).map_err(ApiError::bad_request)?;
    let (record, step) = record_event(state.blobs.as_ref(), &event, at).await?;
    if matches!(step, Step::Ignored(_)) {
        return Ok(ok());
    }
    if step == Step::Ended {
        let message = record.to_message(&event.call_id, state.config.default_region);
        state.ingest.submit(&message).await?;
        tracing::info!(call_id = %event.call_id, missed = record.missed(), "call queued");
    }
    Ok(ok())
}

fn header_of(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn ok() -> Response {
    (StatusCode::OK, Json(serde_json::json!({}))).into_response()
}

/// How often an event is applied again to a record another event changed meanwhile.
const CONFLICT_RETRIES: usize = 8;

/// Applies the event to its call's record with a conditional write: two events of one
/// call handled at once (on two Lambda instances) each see the other's change, so
/// neither undoes the other. Returns the record as saved and what the event did.
async fn record_event(
    blobs: &dyn BlobStore,
    event: &CtiEvent,
    at: i64,
) -> PortResult<(CallRecord, Step)> {
    let key = record_key(&event.call_id);
    let mut tries = 0;
    loop {
        let read = blobs.get_versioned(&key).await?;
        let mut record: CallRecord = read
            .as_ref()
            .and_then(|(blob, _)| serde_json::from_slice(&blob.bytes).ok())
            .unwrap_or_default();
        let step = record.apply(event, at);
        tracing::info!(call_id = %event.call_id, event = event.kind.as_str(), ?step, "PBX event");
        if matches!(step, Step::Ignored(_)) {
            return Ok((record, step));
        }
        let bytes = serde_json::to_vec(&record).map_err(|e| PortError::Internal(e.to_string()))?;
        let blob = Blob {
            content_type: "application/json".into(),
            bytes,
        };
        match blobs
            .put_if(&key, blob, read.as_ref().map(|(_, v)| v))
            .await
        {
            Ok(()) => return Ok((record, step)),
            Err(PortError::Conflict(_)) if tries < CONFLICT_RETRIES => tries += 1,
            Err(e) => return Err(e),
        }
    }
}
