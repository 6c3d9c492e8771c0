//! `POST /webhooks/webform` and the customer page's answer form.

use crate::channels::webform::{FormProblem, Submission, WebformError, parse_fields};
use crate::http::WebState;
use crate::http::limits::{WithinAddressLimit, WithinLinkLimit};
use crate::http::links::{
    IDEMPOTENCY_WINDOW, IssuedLink, LinkError, is_token_shaped, link_hash, public_base,
};
use crate::http::pages::{self, FormValues};
use crate::http::problem::ApiError;
use crate::model::{Channel, InboundMessage, SourceId, ThreadHint, next_ulid};
use crate::services::ingest::Ingest;
use crate::services::page_link::SUBMISSION_SOURCE;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Whether the client wants JSON back rather than a page.
fn wants_json(headers: &HeaderMap) -> bool {
    let header_has = |name, needle: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains(needle))
    };
    header_has(header::CONTENT_TYPE, "json") || header_has(header::ACCEPT, "application/json")
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn read_body(req: Request, limit: usize) -> Result<(HeaderMap, Bytes), ApiError> {
    let headers = req.headers().clone();
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {limit} bytes"),
            )
        })?;
    Ok((headers, bytes))
}

fn form_error(e: WebformError) -> ApiError {
    match e {
        WebformError::Malformed(detail) => ApiError::bad_request(detail),
        WebformError::UnsupportedType => {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string())
        }
        WebformError::Invalid(_, detail) => ApiError::invalid(detail),
    }
}

pub async fn submit(
    State(state): State<WebState>,
    _: WithinAddressLimit,
    req: Request,
) -> Response {
    let json_client = wants_json(req.headers());
    let base = public_base(&state.config, req.uri(), req.headers());
    let (headers, body) = match read_body(req, state.config.webform_max_bytes).await {
        Ok(parts) => parts,
        Err(e) => return e.into_response(),
    };
    let fields = match parse_fields(&content_type(&headers), &body) {
        Ok(fields) => fields,
        Err(e) => return form_error(e).into_response(),
    };
    let submission = match Submission::validate(fields.clone(), state.config.default_region) {
        Ok(s) => s,
        Err(e) if json_client => return form_error(e).into_response(),
        Err(e) => {
            let values = FormValues::from(&fields);
            let problem = match e {
                WebformError::Invalid(problem, _) => problem,
                _ => FormProblem::Other,
            };
            return pages::contact_page(
                &state.config.page,
                Some(pages::problem_text(&state.config.page, problem)),
                &values,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    if submission.is_spam {
        tracing::info!("web form honeypot filled; submission dropped");
        return accepted(base.as_deref(), &state.links.fresh().token, json_client);
    }
    let link = match take_submission(&state, submission).await {
        Ok(link) => link,
        Err(LinkError::KeyReused) => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "this idempotency_key was already used for a different submission; \
                 send a new key with a new submission",
            )
            .into_response();
        }
        Err(LinkError::Store(e)) => return ApiError::from(e).into_response(),
    };
    let token = link.token;
    accepted(base.as_deref(), &token, json_client)
}

/// Queues a submission once and returns its link. Under an idempotency key the key is
/// held and the message queued as one step; a retry saying the same thing gets the first
/// link back and is queued again (dropped as a repeat of its source id, and sent where a
/// process stopped between holding the key and queuing), anything else is refused.
async fn take_submission(
    state: &WebState,
    submission: Submission,
) -> Result<IssuedLink, LinkError> {
    let inbound = |s: Submission, link: &IssuedLink| {
        let source_id = SourceId::new(SUBMISSION_SOURCE, &link.submission_id);
        s.into_inbound(source_id, link_hash(&link.token), Utc::now())
    };
    let Some(key) = submission.idempotency_key.clone() else {
        let link = state.links.fresh();
        state.ingest.submit(&inbound(submission, &link)).await?;
        tracing::info!(
            submission_id = link.submission_id,
            "web form submission queued"
        );
        return Ok(link);
    };
    let offer = state.links.offer(&key, &submission.fingerprint());
    let held = Ingest::submit_once(
        state.send_once.as_ref(),
        &offer.key,
        offer.record.clone(),
        Utc::now() + IDEMPOTENCY_WINDOW,
        &inbound(submission.clone(), &offer.link),
    )
    .await?;
    let link = state.links.accept(&offer, &held)?;
    if link != offer.link {
        state.ingest.submit(&inbound(submission, &link)).await?;
    }
    tracing::info!(
        submission_id = link.submission_id,
        "web form submission queued"
    );
    Ok(link)
}

/// `base`: where the customer reaches us (see [`public_base`]).
fn accepted(base: Option<&str>, token: &str, json_client: bool) -> Response {
    let path = format!("/c/{token}");
    if json_client {
        let url = format!("{}{path}", base.unwrap_or_default());
        (
            StatusCode::ACCEPTED,
            Json(json!({ "status": "received", "conversation_url": url })),
        )
            .into_response()
    } else {
        Redirect::to(&path).into_response()
    }
}

/// `POST /c/{token}`: the customer answers on their conversation page.
pub async fn answer(
    State(state): State<WebState>,
    Path(token): Path<String>,
    _: WithinAddressLimit,
    _: WithinLinkLimit,
    req: Request,
) -> Response {
    if !is_token_shaped(&token) {
        return ApiError::not_found("conversation").into_response();
    }
    let json_client = wants_json(req.headers());
    let base = public_base(&state.config, req.uri(), req.headers());
    let (headers, body) = match read_body(req, state.config.webform_max_bytes).await {
        Ok(parts) => parts,
        Err(e) => return e.into_response(),
    };
    let fields = match parse_fields(&content_type(&headers), &body) {
        Ok(fields) => fields,
        Err(e) => return form_error(e).into_response(),
    };
    let checked = crate::channels::webform::checked_message(fields.message).and_then(|m| {
        Ok((
            m,
            crate::channels::webform::checked_idempotency_key(fields.idempotency_key)?,
        ))
    });
    let (text, key) = match checked {
        Ok(v) => v,
        Err(e) => return form_error(e).into_response(),
    };
    let hash = link_hash(&token);
    match state.conversations.conversation_for_link(&hash).await {
        Ok(Some(_)) => {}
        Ok(None) => return ApiError::not_found("conversation").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    }
    // The source id names the answer without naming the link or the key.
    let answer_id = match key {
        Some(key) => hex::encode(&Sha256::digest(format!("{hash}\0{key}"))[..16]),
        None => next_ulid().to_string(),
    };
    let inbound = InboundMessage {
        text,
        thread: ThreadHint::CustomerLink { link_hash: hash },
        ..InboundMessage::new(
            SourceId::new("webpage", &answer_id),
            Channel::Web,
            Utc::now(),
        )
    };
    if let Err(e) = state.ingest.submit(&inbound).await {
        return ApiError::from(e).into_response();
    }
    accepted(base.as_deref(), &token, json_client)
}
