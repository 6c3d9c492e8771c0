//! The Bot API's shapes, as much of them as Switchboard reads. Unknown fields are
//! ignored; every field Telegram may leave out is optional. Ids are 64-bit.
//!
//! <https://core.telegram.org/bots/api#available-types>

use serde::{Deserialize, Serialize};

/// One incoming update: at most one of the optional kinds is set.
/// <https://core.telegram.org/bots/api#update>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Update {
    pub update_id: i64,
    pub message: Option<Message>,
    pub edited_message: Option<Message>,
    pub channel_post: Option<Message>,
    pub edited_channel_post: Option<Message>,
    pub my_chat_member: Option<ChatMemberUpdated>,
    pub callback_query: Option<CallbackQuery>,
}

/// A press of an inline keyboard's button.
/// <https://core.telegram.org/bots/api#callbackquery>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    /// What the button carries: up to 64 bytes, as the bot set it (a modified client
    /// can send anything here, so it is checked like any input).
    pub data: Option<String>,
}

/// <https://core.telegram.org/bots/api#message>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Message {
    pub message_id: i64,
    pub from: Option<User>,
    pub chat: Chat,
    /// Unix seconds.
    pub date: i64,
    pub edit_date: Option<i64>,
    pub text: Option<String>,
    pub caption: Option<String>,
    #[serde(default)]
    pub photo: Vec<PhotoSize>,
    pub document: Option<FileRef>,
    pub voice: Option<FileRef>,
    pub audio: Option<FileRef>,
    pub video: Option<FileRef>,
    pub video_note: Option<FileRef>,
    pub sticker: Option<Sticker>,
    pub location: Option<Location>,
    pub contact: Option<Contact>,
    /// Only one level deep: the replied-to message carries no reply of its own.
    pub reply_to_message: Option<Box<Message>>,
    pub media_group_id: Option<String>,
}

/// <https://core.telegram.org/bots/api#user>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
}

/// <https://core.telegram.org/bots/api#chat>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: ChatKind,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Private,
    Group,
    Supergroup,
    Channel,
    #[serde(other)]
    Other,
}

/// <https://core.telegram.org/bots/api#photosize>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct PhotoSize {
    pub file_id: String,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    pub file_size: Option<u64>,
}

/// The fields `Document`, `Voice`, `Audio`, `Video` and `VideoNote` share.
/// <https://core.telegram.org/bots/api#document>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct FileRef {
    pub file_id: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// <https://core.telegram.org/bots/api#sticker>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Sticker {
    pub file_id: String,
    pub emoji: Option<String>,
}

/// <https://core.telegram.org/bots/api#location>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

/// <https://core.telegram.org/bots/api#contact>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Contact {
    pub phone_number: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub user_id: Option<i64>,
}

/// <https://core.telegram.org/bots/api#chatmemberupdated>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ChatMemberUpdated {
    pub chat: Chat,
    pub from: User,
    pub date: i64,
    pub new_chat_member: ChatMember,
}

/// <https://core.telegram.org/bots/api#chatmember>
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ChatMember {
    /// `member`, `kicked` (in a private chat: the user blocked the bot), …
    pub status: String,
}

/// Every Bot API answer. <https://core.telegram.org/bots/api#making-requests>
#[derive(Clone, Debug, Deserialize)]
pub struct ApiResponse<T> {
    pub ok: bool,
    pub result: Option<T>,
    pub error_code: Option<u16>,
    pub description: Option<String>,
    pub parameters: Option<ResponseParameters>,
}

/// <https://core.telegram.org/bots/api#responseparameters>
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ResponseParameters {
    pub retry_after: Option<u64>,
}

/// <https://core.telegram.org/bots/api#sendmessage>
#[derive(Clone, Debug, Serialize)]
pub struct SendMessage<'a> {
    pub chat_id: i64,
    pub text: &'a str,
    pub parse_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_parameters: Option<ReplyParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

/// Buttons under a message, row by row.
/// <https://core.telegram.org/bots/api#inlinekeyboardmarkup>
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InlineKeyboardMarkup {
    pub inline_keyboard: Vec<Vec<InlineKeyboardButton>>,
}

/// <https://core.telegram.org/bots/api#inlinekeyboardbutton>
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InlineKeyboardButton {
    pub text: String,
    pub callback_data: String,
}

/// <https://core.telegram.org/bots/api#answercallbackquery>
#[derive(Clone, Debug, Serialize)]
pub struct AnswerCallbackQuery<'a> {
    pub callback_query_id: &'a str,
    pub text: &'a str,
}

/// Which message a sent one answers; sent anyway if that message is gone.
/// <https://core.telegram.org/bots/api#replyparameters>
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ReplyParameters {
    pub message_id: i64,
    pub allow_sending_without_reply: bool,
}

impl ReplyParameters {
    pub fn to(message_id: i64) -> Self {
        Self {
            message_id,
            allow_sending_without_reply: true,
        }
    }
}

/// What `sendMessage` answers with (a `Message`; only its id is read).
#[derive(Clone, Debug, Deserialize)]
pub struct SentMessage {
    pub message_id: i64,
}

/// <https://core.telegram.org/bots/api#getfile>
#[derive(Clone, Debug, Serialize)]
pub struct GetFile<'a> {
    pub file_id: &'a str,
}

/// <https://core.telegram.org/bots/api#file>
#[derive(Clone, Debug, Deserialize)]
pub struct File {
    pub file_id: String,
    pub file_size: Option<u64>,
    pub file_path: Option<String>,
}

/// <https://core.telegram.org/bots/api#setwebhook>
#[derive(Clone, Debug, Serialize)]
pub struct SetWebhook<'a> {
    pub url: &'a str,
    pub secret_token: &'a str,
    pub allowed_updates: &'a [&'a str],
    pub drop_pending_updates: bool,
}

/// <https://core.telegram.org/bots/api#webhookinfo>
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct WebhookInfo {
    pub url: String,
    #[serde(default)]
    pub has_custom_certificate: bool,
    #[serde(default)]
    pub pending_update_count: u64,
    pub last_error_date: Option<i64>,
    pub last_error_message: Option<String>,
    pub max_connections: Option<u32>,
    pub allowed_updates: Option<Vec<String>>,
}
