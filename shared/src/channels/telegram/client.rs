//! The Bot API over HTTP. The token is part of every URL, so no URL and no reqwest
//! error text leaves this module unredacted.

use super::outbound::FileKind;
use super::outbound::{classify, redact};
use super::wire::{
    AnswerCallbackQuery, ApiResponse, File, GetFile, InlineKeyboardMarkup, ReplyParameters,
    SendMessage, SentMessage, SetWebhook, WebhookInfo,
};
use crate::config::Secret;
use crate::ports::{OutboundFile, SendError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The updates the webhook asks for.
pub const ALLOWED_UPDATES: [&str; 4] = [
    "message",
    "edited_message",
    "my_chat_member",
    "callback_query",
];

#[derive(Clone, Debug)]
pub struct BotApi {
    http: reqwest::Client,
    /// `https://api.telegram.org`, or a stand-in.
    base: String,
    token: Secret,
}

/// A Bot API call that failed, already classified.
pub type ApiResult<T> = Result<T, SendError>;

impl BotApi {
    pub fn new(base: &str, token: Secret) -> Result<Self, String> {
        let tls = crate::tls::client_config()?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    fn hide(&self, text: &str) -> String {
        redact(text, self.token.expose())
    }

    fn network(&self, e: &reqwest::Error) -> SendError {
        // `without_url`: the URL holds the token. Redact anyway, in case a cause repeats it.
        let text = format!("{}", DisplayChain(e));
        SendError::Retryable {
            reason: format!("cannot reach Telegram: {}", self.hide(&text)),
            retry_after: None,
        }
    }

    /// Calls `method` with a JSON body and returns its `result`.
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: &str,
        body: &B,
    ) -> ApiResult<T> {
        self.post(method, |request| request.json(body)).await
    }

    /// Calls `method` with the body `with` sets and returns its `result`.
    async fn post<T: DeserializeOwned>(
        &self,
        method: &str,
        with: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> ApiResult<T> {
        let url = format!("{}/bot{}/{method}", self.base, self.token.expose());
        let response = with(self.http.post(url))
            .send()
            .await
            .map_err(|e| self.network(&e.without_url()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.network(&e.without_url()))?;
        let answer: Option<ApiResponse<T>> = serde_json::from_slice(&bytes).ok();
        match answer {
            Some(ApiResponse {
                ok: true,
                result: Some(result),
                ..
            }) if (200..300).contains(&status) => Ok(result),
            Some(answer) => Err(self.classified(status, Some(&answer))),
            None => Err(self.classified::<()>(status, None)),
        }
    }

    fn classified<T>(&self, status: u16, answer: Option<&ApiResponse<T>>) -> SendError {
        match classify(status, answer) {
            SendError::Retryable {
                reason,
                retry_after,
            } => SendError::Retryable {
                reason: self.hide(&reason),
                retry_after,
            },
            SendError::Permanent { reason } => SendError::Permanent {
                reason: self.hide(&reason),
            },
            SendError::Unreachable { reason } => SendError::Unreachable {
                reason: self.hide(&reason),
            },
        }
    }

    pub async fn send_message(
        &self,
        chat_id: i64,
        html: &str,
        reply_parameters: Option<ReplyParameters>,
    ) -> ApiResult<SentMessage> {
        self.send_message_with(chat_id, html, reply_parameters, None)
            .await
    }

    /// `sendMessage` with buttons under the text.
    pub async fn send_message_with(
        &self,
        chat_id: i64,
        html: &str,
        reply_parameters: Option<ReplyParameters>,
        reply_markup: Option<InlineKeyboardMarkup>,
    ) -> ApiResult<SentMessage> {
        let body = SendMessage {
            chat_id,
            text: html,
            parse_mode: "HTML",
            reply_parameters,
            reply_markup,
        };
        self.call("sendMessage", &body).await
    }

    /// Answers a button press: the customer's app stops waiting and shows `text`.
    pub async fn answer_callback_query(&self, id: &str, text: &str) -> ApiResult<bool> {
        let body = AnswerCallbackQuery {
            callback_query_id: id,
            text,
        };
        self.call("answerCallbackQuery", &body).await
    }

    /// Uploads a file with `sendPhoto` or `sendDocument`, as `multipart/form-data`.
    pub async fn send_file(
        &self,
        kind: FileKind,
        chat_id: i64,
        file: &OutboundFile,
        caption_html: Option<&str>,
        reply_parameters: Option<ReplyParameters>,
    ) -> ApiResult<SentMessage> {
        let part = reqwest::multipart::Part::bytes(file.bytes.clone())
            .file_name(file.filename.clone())
            .mime_str(&file.content_type)
            .or_else(|_| {
                reqwest::multipart::Part::bytes(file.bytes.clone())
                    .file_name(file.filename.clone())
                    .mime_str("application/octet-stream")
            })
            .map_err(|e| SendError::Permanent {
                reason: format!("the file cannot be sent: {e}"),
            })?;
        let mut form = reqwest::multipart::Form::new()
            .text("chat_id", chat_id.to_string())
            .part(kind.field(), part);
        if let Some(caption) = caption_html {
            form = form
                .text("caption", caption.to_owned())
                .text("parse_mode", "HTML");
        }
        if let Some(reply) = reply_parameters {
            let json = serde_json::to_string(&reply).map_err(|e| SendError::Permanent {
                reason: format!("cannot encode reply_parameters: {e}"),
            })?;
            form = form.text("reply_parameters", json);
        }
        self.post(kind.method(), |request| request.multipart(form))
            .await
    }

    pub async fn get_file(&self, file_id: &str) -> ApiResult<File> {
        self.call("getFile", &GetFile { file_id }).await
    }

    /// Downloads a file `getFile` named; more than `max_bytes` is a permanent failure.
    pub async fn download(
        &self,
        file_path: &str,
        max_bytes: u64,
    ) -> ApiResult<(Vec<u8>, Option<String>)> {
        let path: String = file_path
            .split('/')
            .map(|seg| percent_encoding::utf8_percent_encode(seg, PATH_SEGMENT).to_string())
            .collect::<Vec<_>>()
            .join("/");
        let url = format!("{}/file/bot{}/{path}", self.base, self.token.expose());
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| self.network(&e.without_url()))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(self.classified::<()>(status, None));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let too_large = || SendError::Permanent {
            reason: format!("the file is larger than {} MB", max_bytes / 1024 / 1024),
        };
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.network(&e.without_url()))?
        {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((bytes, content_type))
    }

    pub async fn set_webhook(
        &self,
        url: &str,
        secret: &Secret,
        drop_pending_updates: bool,
    ) -> ApiResult<bool> {
        let body = SetWebhook {
            url,
            secret_token: secret.expose(),
            allowed_updates: &ALLOWED_UPDATES,
            drop_pending_updates,
        };
        self.call("setWebhook", &body).await
    }

    pub async fn webhook_info(&self) -> ApiResult<WebhookInfo> {
        self.call("getWebhookInfo", &serde_json::json!({})).await
    }
}

const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An error with its causes, on one line.
struct DisplayChain<'a>(&'a reqwest::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(self.0);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
