use crate::http::ApiState;
use crate::http::auth::Caller;
use crate::http::problem::{ApiError, ApiPath, Problem};
use crate::model::MessageId;
use crate::ports::Blob;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Download a message's attachment (`index` counts from 0 in the message's `attachments`).
#[utoipa::path(get, path = "/v1/messages/{id}/attachments/{index}", tag = "conversations",
    params(("id" = String, Path, description = "message id (`msg_…`)"),
           ("index" = usize, Path, description = "the attachment's place in the message, from 0")),
    responses((status = 200, description = "the file's bytes, as a download: with the content type its sender named for a picture, sound, video, PDF or plain text, else `application/octet-stream`",
               content_type = "application/octet-stream", body = Vec<u8>),
              (status = 404, body = Problem), (status = 409, body = Problem, description = "the file could not be fetched"),
              (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn attachment(
    axum::extract::State(state): axum::extract::State<ApiState>,
    _: Caller,
    ApiPath((id, index)): ApiPath<(MessageId, usize)>,
) -> Result<Response, ApiError> {
    let (attachment, blob) = state.inbox.attachment(id, index).await?;
    Ok(download(blob, attachment.filename.as_deref()))
}

/// Download a message exactly as it arrived: an email's raw MIME (`message/rfc822`),
/// with every header, part and the quoted history the timeline shows apart.
#[utoipa::path(get, path = "/v1/messages/{id}/original", tag = "conversations",
    params(("id" = String, Path, description = "message id (`msg_…`)")),
    responses((status = 200, description = "the message as received, with its content type",
               content_type = "message/rfc822", body = Vec<u8>),
              (status = 404, body = Problem, description = "no such message, or none of its original is kept"),
              (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn original(
    axum::extract::State(state): axum::extract::State<ApiState>,
    _: Caller,
    ApiPath(id): ApiPath<MessageId>,
) -> Result<Response, ApiError> {
    let (filename, blob) = state.inbox.original(id).await?;
    Ok(download(blob, Some(&filename)))
}

/// A stored file as a download, never rendered or run by the browser as a page, script
/// or style sheet of ours: sniffing off, `attachment`, a sandbox policy, and the type the
/// sender named only when it is one a browser shows as media or text (a file named
/// `text/javascript` by its sender would otherwise pass the inbox's `script-src 'self'`).
fn download(blob: Blob, filename: Option<&str>) -> Response {
    let mut response = blob.bytes.into_response();
    let headers = response.headers_mut();
    let content_type = Some(blob.content_type.as_str())
        .filter(|t| shown_as_is(t))
        .and_then(|t| HeaderValue::from_str(t).ok())
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(header::CONTENT_DISPOSITION, disposition(filename));
    response
}

/// Whether a sender's content type is served as it is: pictures, sound, video, PDF,
/// plain text and raw email, which no page can load as a script or a style sheet.
/// Anything else is served as `application/octet-stream`.
fn shown_as_is(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let (kind, subtype) = essence.split_once('/').unwrap_or((&essence, ""));
    !subtype.is_empty()
        && (matches!(kind, "image" | "audio" | "video")
            || matches!(
                essence.as_str(),
                "application/pdf" | "text/plain" | "message/rfc822"
            ))
}

/// `attachment; filename="…"; filename*=UTF-8''…` with the name made safe.
fn disposition(filename: Option<&str>) -> HeaderValue {
    let name = filename.unwrap_or("attachment");
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_media_and_plain_text_keep_the_senders_type() {
        for kept in [
            "image/png",
            "IMAGE/JPEG",
            "audio/ogg; codecs=opus",
            "video/mp4",
            "application/pdf",
            "text/plain; charset=utf-8",
            "message/rfc822",
        ] {
            assert!(shown_as_is(kept), "{kept}");
        }
        for replaced in [
            "text/javascript",
            "application/javascript",
            "Text/JavaScript; charset=utf-8",
            "application/x-ecmascript",
            "text/css",
            "text/html",
            "application/xhtml+xml",
            "application/json",
            "application/wasm",
            "image",
            "",
        ] {
            assert!(!shown_as_is(replaced), "{replaced}");
        }
    }

    #[test]
    fn download_names_are_safe_in_a_header() {
        let value = disposition(Some("فاکتور \"1\".pdf\r\nX: y"));
        let text = value.to_str().unwrap();
        assert!(text.starts_with("attachment; filename=\"______ _1_.pdf__X_ y\""));
        assert!(!text.contains('\n'));
    }
}
