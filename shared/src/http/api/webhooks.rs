//! Outbound webhooks, for admins: subscriptions, a test ping, the delivery log, replays.

use super::conversations::{nullable, page_request};
use crate::http::ApiState;
use crate::http::auth::Admin;
use crate::http::problem::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::model::{ChangeType, Subscription, WebhookDelivery, WebhookDeliveryStatus, WebhookId};
use crate::ports::Page;
use crate::services::webhooks::admin::{NewWebhook, WebhookPatch, Webhooks};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

fn service(state: &ApiState) -> Result<&Webhooks, ApiError> {
    state.webhooks.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "outbound webhooks are not offered by this installation",
        )
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    /// `https://` (plain `http://` only to loopback on a local install); never a private
    /// or internal address unless the host is allowed by `SWITCHBOARD_WEBHOOK_ALLOW_HOSTS`.
    #[schema(min_length = 1, max_length = 2048)]
    url: String,
    #[schema(max_length = 200)]
    description: Option<String>,
    /// The event types it gets; none or empty: every type.
    #[serde(default)]
    #[schema(max_items = 64)]
    types: Vec<ChangeType>,
    /// Default `true`.
    enabled: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    webhook: Subscription,
    /// The signing secret (`whsec_…`), shown only this once.
    secret: String,
}

/// Every webhook subscription.
#[utoipa::path(get, path = "/v1/webhooks", operation_id = "list_webhooks", tags = ["webhooks", "admin"],
    responses((status = 200, body = Page<Subscription>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 501, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Admin,
) -> Result<Json<Page<Subscription>>, ApiError> {
    Ok(Json(Page {
        items: service(&state)?.list().await?,
        next_cursor: None,
    }))
}

/// Subscribe an endpoint to events. Each delivery is signed the Standard Webhooks way
/// (`Webhook-Id`, `Webhook-Timestamp`, `Webhook-Signature`) with the secret in the answer.
/// 409 past 20 subscriptions; 422 for a URL webhooks may not go to, or `webhook.ping`
/// among the types (only a ping sends it).
#[utoipa::path(post, path = "/v1/webhooks", operation_id = "create_webhook", tags = ["webhooks", "admin"], request_body = NewWebhookBody,
    responses((status = 201, body = CreatedWebhook), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 501, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    _: Admin,
    ApiJson(body): ApiJson<NewWebhookBody>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let webhook = service(&state)?
        .create(NewWebhook {
            url: body.url,
            description: body.description,
            types: body.types,
            enabled: body.enabled.unwrap_or(true),
        })
        .await?;
    let secret = webhook.secret.clone();
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook { webhook, secret }),
    ))
}

/// One subscription: whether it is on, why it was turned off, its failures in a row.
#[utoipa::path(get, path = "/v1/webhooks/{id}", operation_id = "get_webhook", tags = ["webhooks", "admin"],
    params(("id" = String, Path, description = "webhook id (`wh_…`)")),
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 501, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(service(&state)?.get(id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWebhookBody {
    #[schema(min_length = 1, max_length = 2048)]
    url: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 200)]
    description: Option<Option<String>>,
    #[schema(max_items = 64)]
    types: Option<Vec<ChangeType>>,
    /// `true` turns a subscription Switchboard turned off on again.
    enabled: Option<bool>,
}

/// Change a subscription's URL, description, types, or turn it on or off.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", operation_id = "patch_webhook", tags = ["webhooks", "admin"],
    params(("id" = String, Path, description = "webhook id (`wh_…`)")), request_body = PatchWebhookBody,
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 501, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<WebhookId>,
    ApiJson(body): ApiJson<PatchWebhookBody>,
) -> Result<Json<Subscription>, ApiError> {
    let patch = WebhookPatch {
        url: body.url,
        description: body.description,
        types: body.types,
        enabled: body.enabled,
    };
    Ok(Json(service(&state)?.patch(id, patch).await?))
}

/// A new signing secret, shown this once. For 24 hours deliveries carry a signature with
/// each, the old and the new, so the endpoint can change over.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", operation_id = "rotate_webhook_secret", tags = ["webhooks", "admin"],
    params(("id" = String, Path, description = "webhook id (`wh_…`)")),
    responses((status = 200, body = CreatedWebhook), (status = 404, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 501, body = Problem)),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<Json<CreatedWebhook>, ApiError> {
    let webhook = service(&state)?.rotate_secret(id).await?;
    let secret = webhook.secret.clone();
    Ok(Json(CreatedWebhook { webhook, secret }))
}

/// Delete a subscription and its delivery log.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", operation_id = "delete_webhook", tags = ["webhooks", "admin"],
    params(("id" = String, Path, description = "webhook id (`wh_…`)")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 501, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<StatusCode, ApiError> {
    service(&state)?.delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a signed `webhook.ping` the way every delivery goes: the answer is its line of
/// the delivery log, which tells what the endpoint said once it has been tried.
#[utoipa::path(post, path = "/v1/webhooks/{id}/ping", operation_id = "ping_webhook", tags = ["webhooks", "admin"],
    params(("id" = String, Path, description = "webhook id (`wh_…`)")),
    responses((status = 202, body = WebhookDelivery), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 501, body = Problem)),
    security(("bearer" = [])))]
pub async fn ping(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(service(&state)?.ping(id).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `failed`; default all.
    #[param(pattern = "^(pending|delivered|failed)?$")]
    status: Option<String>,
    /// 1–100, default 25.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

/// A subscription's delivery log, newest first: status, tries, the last answer and how
/// long it took.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", operation_id = "list_webhook_deliveries", tags = ["webhooks", "admin"],
    params(("id" = String, Path, description = "webhook id (`wh_…`)"), DeliveryQuery),
    responses((status = 200, body = Page<WebhookDelivery>), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 501, body = Problem)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<WebhookId>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> Result<Json<Page<WebhookDelivery>>, ApiError> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(WebhookDeliveryStatus::parse(s).ok_or_else(|| {
            ApiError::invalid(format!(
                "`{s}` is not a status (pending, delivered, failed)"
            ))
        })?),
    };
    let page = page_request(q.limit, q.cursor, 25)?;
    Ok(Json(service(&state)?.deliveries(id, status, &page).await?))
}

/// Send one delivery again, with the same `Webhook-Id`.
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/replay", operation_id = "replay_webhook_delivery", tags = ["webhooks", "admin"],
    params(("id" = String, Path, description = "webhook id (`wh_…`)"),
        ("delivery_id" = String, Path, description = "delivery id (`whd_…`)")),
    responses((status = 202, body = WebhookDelivery), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 501, body = Problem)),
    security(("bearer" = [])))]
pub async fn replay_one(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath((id, delivery_id)): ApiPath<(WebhookId, String)>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    let delivery = service(&state)?.replay(id, &delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaySince {
    /// Every delivery made at or after this time is sent again (at most 1,000).
    since: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Replayed {
    replayed: usize,
}

/// Send again everything delivered (or not) since a time, oldest first.
#[utoipa::path(post, path = "/v1/webhooks/{id}/replay", operation_id = "replay_webhook_deliveries", tags = ["webhooks", "admin"],
    params(("id" = String, Path, description = "webhook id (`wh_…`)")), request_body = ReplaySince,
    responses((status = 202, body = Replayed), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 501, body = Problem)),
    security(("bearer" = [])))]
pub async fn replay_since(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<WebhookId>,
    ApiJson(body): ApiJson<ReplaySince>,
) -> Result<(StatusCode, Json<Replayed>), ApiError> {
    let replayed = service(&state)?.replay_since(id, body.since).await?;
    Ok((StatusCode::ACCEPTED, Json(Replayed { replayed })))
}
