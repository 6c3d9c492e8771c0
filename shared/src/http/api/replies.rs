//! `POST /v1/conversations/{id}/replies`: a JSON body, or a form with files.

use crate::http::ApiState;
use crate::http::auth::Caller;
use crate::http::problem::{ApiError, ApiJson, ApiPath, Problem};
use crate::model::{Agent, Channel, ConversationId, Message, MessageId};
use crate::ports::OutboundFile;
use crate::services::inbox::{MAX_REPLY_FILES, ReplyDraft, too_large};
use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Largest JSON reply body; a form with files may be as large as its files allow.
const JSON_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    #[schema(min_length = 1, max_length = 20000, pattern = "\\S")]
    text: String,
    /// Defaults to the channel the customer last wrote on.
    channel: Option<Channel>,
    /// The customer's message this answers; by default their latest on the reply's
    /// channel. On Telegram the reply quotes it, and in a group goes to that group.
    reply_to: Option<MessageId>,
}

/// The same reply as a `multipart/form-data` form, with files.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Describes the form for the OpenAPI document only.
pub struct NewReplyForm {
    /// May be empty when files are attached.
    #[schema(max_length = 20000)]
    text: Option<String>,
    channel: Option<Channel>,
    reply_to: Option<MessageId>,
    /// One part per file (at most 10, 20 MB together), each with its filename and
    /// content type. On Telegram a JPEG, PNG or WebP under 10 MB goes as a photo,
    /// anything else as a document.
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

/// Reply to the customer; it is queued and sent on their channel. Send JSON, or a
/// `multipart/form-data` form with `text` and one `file` part per attachment.
#[utoipa::path(post, path = "/v1/conversations/{id}/replies", tag = "conversations",
    params(("id" = String, Path, description = "conversation id")),
    request_body(content(
        (NewReply = "application/json"),
        (NewReplyForm = "multipart/form-data"),
    )),
    responses((status = 202, body = Message), (status = 404, body = Problem),
              (status = 413, body = Problem, description = "the files are too large together"),
              (status = 422, body = Problem, description = "invalid, or files on a channel that cannot send them"),
              (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn reply(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    request: Request,
) -> Response {
    match queue_reply(state, agent, id, request).await {
        Ok(queued) => queued.into_response(),
        // The rest of a refused body is never read: the connection cannot carry another
        // request, and the client must not put it back in its pool.
        Err(e) if e.status == StatusCode::PAYLOAD_TOO_LARGE => {
            let mut response = e.into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn queue_reply(
    state: ApiState,
    agent: Agent,
    id: ConversationId,
    request: Request,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("multipart/form-data"));
    let draft = if is_form {
        let form = Multipart::from_request(request, &state)
            .await
            .map_err(|r| ApiError::new(r.status(), r.body_text()))?;
        read_form(form, state.inbox.max_file_bytes).await?
    } else {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, JSON_BODY_LIMIT)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "a JSON reply may have at most 1 MB; send files as a form",
                )
            })?;
        let request = Request::from_parts(parts, Body::from(bytes));
        let ApiJson(body) = ApiJson::<NewReply>::from_request(request, &state).await?;
        ReplyDraft {
            text: body.text,
            channel: body.channel,
            reply_to: body.reply_to,
            files: Vec::new(),
        }
    };
    let message = state.inbox.reply(id, draft, &agent).await?;
    Ok((StatusCode::ACCEPTED, Json(message)))
}

fn form_error(e: MultipartError) -> ApiError {
    ApiError::new(e.status(), e.body_text())
}

/// Reads the form, refusing it as soon as its files pass `max_bytes` together, before
/// anything is stored.
async fn read_form(mut form: Multipart, max_bytes: u64) -> Result<ReplyDraft, ApiError> {
    let mut draft = ReplyDraft::default();
    let mut total = 0_u64;
    while let Some(mut field) = form.next_field().await.map_err(form_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "text" => draft.text = field.text().await.map_err(form_error)?,
            "channel" => {
                let value = text_of(field).await?;
                draft.channel = Some(
                    Channel::parse(value.trim())
                        .ok_or_else(|| ApiError::invalid(format!("`{value}` is not a channel")))?,
                );
            }
            "reply_to" => {
                let value = text_of(field).await?;
                let id = value
                    .trim()
                    .parse()
                    .map_err(|e| ApiError::invalid(format!("reply_to: {e}")))?;
                draft.reply_to = Some(id);
            }
            "file" => {
                if draft.files.len() == MAX_REPLY_FILES {
                    return Err(ApiError::invalid(format!(
                        "at most {MAX_REPLY_FILES} files in one reply"
                    )));
                }
                let filename = clean_filename(field.file_name());
                let content_type = clean_content_type(field.content_type(), &filename);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                    total += chunk.len() as u64;
                    if total > max_bytes {
                        return Err(too_large(max_bytes).into());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                draft.files.push(OutboundFile {
                    filename,
                    content_type,
                    bytes,
                });
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "unknown form field `{other}`; expected text, channel, reply_to or file"
                )));
            }
        }
    }
    Ok(draft)
}

async fn text_of(field: Field<'_>) -> Result<String, ApiError> {
    field.text().await.map_err(form_error)
}

/// The name a file is shown and sent under: no folders, no control characters, at
/// most 200 characters.
fn clean_filename(raw: Option<&str>) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let name: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        "attachment".into()
    } else {
        name.to_owned()
    }
}

/// The part's content type when it is a plain `type/subtype`, else a guess from the
/// file's extension for the kinds channels treat specially, else octet-stream.
fn clean_content_type(raw: Option<&str>, filename: &str) -> String {
    let token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    let given = raw
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| v.split_once('/').is_some_and(|(t, s)| token(t) && token(s)))
        .filter(|v| v != "application/octet-stream");
    if let Some(given) = given {
        return given;
    }
    let extension = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("pdf") => "application/pdf",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_folders_and_control_characters() {
        assert_eq!(clean_filename(Some("../../etc/passwd")), "passwd");
        assert_eq!(
            clean_filename(Some("C:\\Users\\a\\فاکتور.pdf")),
            "فاکتور.pdf"
        );
        assert_eq!(clean_filename(Some("a\r\nb.txt")), "ab.txt");
        assert_eq!(clean_filename(Some("dir/")), "attachment");
        assert_eq!(clean_filename(None), "attachment");
        assert_eq!(clean_filename(Some(&"x".repeat(500))).len(), 200);
    }

    #[test]
    fn content_types_are_plain_or_guessed() {
        assert_eq!(clean_content_type(Some("image/PNG"), "a"), "image/png");
        assert_eq!(
            clean_content_type(Some("text/plain; charset=utf-8"), "a"),
            "text/plain"
        );
        assert_eq!(
            clean_content_type(Some("application/octet-stream"), "r.pdf"),
            "application/pdf"
        );
        assert_eq!(clean_content_type(Some("bad type"), "x.JPG"), "image/jpeg");
        assert_eq!(
            clean_content_type(None, "archive"),
            "application/octet-stream"
        );
    }
}
