use super::conversations::{PageParams, page_request};
use crate::http::ApiState;
use crate::http::auth::{Admin, Caller};
use crate::http::problem::{ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::model::{Contact, ContactId, Erasure, PhoneNumber, TimelineItem};
use crate::ports::Page;
use crate::services::directory::{ContactDetails, MergedContact};
use crate::services::lookup::CallerLookup;
use crate::services::rights::ContactExport;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchContacts {
    /// Part of a name, email address, phone number or other identity.
    q: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Find contacts by name or identity.
#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", params(SearchContacts),
    responses((status = 200, body = Page<Contact>), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn search(
    State(state): State<ApiState>,
    _: Caller,
    ApiQuery(q): ApiQuery<SearchContacts>,
) -> Result<Json<Page<Contact>>, ApiError> {
    let page = page_request(q.limit, q.cursor, 25)?;
    Ok(Json(
        state
            .directory
            .search_contacts(q.q.as_deref().unwrap_or(""), &page)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupPhone {
    /// A phone number in any written form: national, international, Persian digits.
    phone: String,
}

/// Who is calling: the contact holding a phone number, their open conversation and
/// its latest messages.
#[utoipa::path(get, path = "/v1/contacts/lookup", tag = "contacts", params(LookupPhone),
    responses((status = 200, body = CallerLookup), (status = 400, body = Problem),
        (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn lookup(
    State(state): State<ApiState>,
    _: Caller,
    ApiQuery(q): ApiQuery<LookupPhone>,
) -> Result<Json<CallerLookup>, ApiError> {
    let phone = PhoneNumber::parse(&q.phone, state.config.default_region)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(state.directory.lookup_phone(&phone).await?))
}

/// A contact with its identities and conversations.
#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "contacts", operation_id = "get_contact",
    params(("id" = String, Path, description = "contact id (`ct_…`)")),
    responses((status = 200, body = ContactDetails), (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Caller,
    ApiPath(id): ApiPath<ContactId>,
) -> Result<Json<ContactDetails>, ApiError> {
    Ok(Json(state.directory.contact(id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchContact {
    /// In place of the tags it has (letters, digits, `-`, `_` and `:`, up to 20).
    #[schema(max_items = 20)]
    tags: Option<Vec<String>>,
    vip: Option<bool>,
}

/// Set a contact's tags or VIP mark, which rules can ask about.
#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "contacts", operation_id = "patch_contact",
    params(("id" = String, Path, description = "contact id (`ct_…`)")), request_body = PatchContact,
    responses((status = 200, body = Contact), (status = 404, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch(
    State(state): State<ApiState>,
    _: Caller,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(body): ApiJson<PatchContact>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(
        state
            .directory
            .set_contact_profile(id, body.tags, body.vip)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeContacts {
    /// The contact folded into this one; it is gone afterwards.
    other_contact_id: ContactId,
}

/// Merge another contact into this one: every identity, conversation and message is kept.
/// When the contact then has two or more open conversations that can be one, the answer
/// offers to fold them (`fold_offer`).
#[utoipa::path(post, path = "/v1/contacts/{id}/merge", tag = "contacts",
    params(("id" = String, Path, description = "the surviving contact's id")), request_body = MergeContacts,
    responses((status = 200, body = MergedContact), (status = 404, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn merge(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(body): ApiJson<MergeContacts>,
) -> Result<Json<MergedContact>, ApiError> {
    Ok(Json(
        state
            .directory
            .merge(id, body.other_contact_id, &agent)
            .await?,
    ))
}

/// The contact's whole history across their conversations and channels: messages in and
/// out, notes and events, newest first; each item names its conversation.
#[utoipa::path(get, path = "/v1/contacts/{id}/timeline", tag = "contacts", operation_id = "contact_timeline",
    params(("id" = String, Path, description = "contact id (`ct_…`)"), PageParams),
    responses((status = 200, body = Page<TimelineItem>), (status = 400, body = Problem),
        (status = 404, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn timeline(
    State(state): State<ApiState>,
    _: Caller,
    ApiPath(id): ApiPath<ContactId>,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<Page<TimelineItem>>, ApiError> {
    let page = page_request(q.limit, q.cursor, 100)?;
    Ok(Json(state.rights.timeline(id, &page).await?))
}

/// Everything held on the contact, as one JSON document to download: the contact with
/// their identities and merge suggestions, and every conversation with its whole
/// timeline; files and originals as links to the routes that serve them.
#[utoipa::path(get, path = "/v1/contacts/{id}/export", tags = ["contacts", "admin"],
    params(("id" = String, Path, description = "contact id (`ct_…`)")),
    responses((status = 200, body = ContactExport, description = "a download (`Content-Disposition: attachment`)"),
        (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<ApiState>,
    Admin(agent): Admin,
    ApiPath(id): ApiPath<ContactId>,
) -> Result<Response, ApiError> {
    let export = state.rights.export(id).await?;
    tracing::info!(contact_id = %id, agent_id = %agent.id, "contact exported");
    let mut response = Json(export).into_response();
    let disposition = format!("attachment; filename=\"switchboard-{id}.json\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Erase the contact: every identity, conversation, message, note, event, file and
/// original of theirs, in the file store too. What is left is a tombstone with counts;
/// a later message from any of their identities starts a new contact.
#[utoipa::path(delete, path = "/v1/contacts/{id}", tags = ["contacts", "admin"],
    params(("id" = String, Path, description = "contact id (`ct_…`)")),
    responses((status = 200, body = Erasure, description = "the tombstone the erasure left"),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn erase(
    State(state): State<ApiState>,
    Admin(agent): Admin,
    ApiPath(id): ApiPath<ContactId>,
) -> Result<Json<Erasure>, ApiError> {
    Ok(Json(state.rights.erase(id, &agent).await?))
}
