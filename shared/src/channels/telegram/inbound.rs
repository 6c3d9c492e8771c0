//! A Telegram update → one channel-neutral [`InboundMessage`], or the reason it is
//! ignored. Never panics on any input.

use super::wire::{CallbackQuery, ChatKind, FileRef, Message, Update};
use crate::model::{
    AgentLinkRequest, Attachment, BotAnswerTaken, Channel, ChannelSignal, DefaultRegion, Identity,
    Inbound, InboundMessage, LinkCode, PhoneNumber, PresentedIdentity, RATINGS, Reachability,
    SourceId, SurveyReply,
};
use crate::services::surveys::BUTTON_PREFIX as SURVEY_BUTTON_PREFIX;
use chrono::{DateTime, Utc};

/// What the webhook was configured with.
#[derive(Clone, Debug, Default)]
pub struct InboundSettings {
    pub default_region: DefaultRegion,
    /// Take messages from groups and supergroups too (a reply to one goes back to
    /// the group, quoting it).
    pub groups_enabled: bool,
    /// Answer `/start` with this text.
    pub welcome_text: Option<String>,
}

/// What an update becomes.
#[derive(Clone, Debug, PartialEq)]
pub enum Normalized {
    Message(Box<InboundMessage>),
    /// Not a message but news for the router (the customer blocked the bot).
    News(Box<Inbound>),
    /// Nothing to store; the reason goes to the log.
    Ignored(&'static str),
}

/// Reads one update from the webhook body.
pub fn parse_update(body: &[u8]) -> Result<Update, String> {
    serde_json::from_slice(body).map_err(|e| format!("the update is not valid JSON: {e}"))
}

pub fn normalize(update: &Update, settings: &InboundSettings) -> Normalized {
    if let Some(message) = &update.message {
        return from_message(message, None, settings);
    }
    if let Some(edited) = &update.edited_message {
        let original = message_source(edited.chat.id, edited.message_id);
        return from_message(edited, Some(original), settings);
    }
    if update.channel_post.is_some() || update.edited_channel_post.is_some() {
        return Normalized::Ignored("a channel post");
    }
    if let Some(member) = &update.my_chat_member {
        if member.chat.kind != ChatKind::Private {
            return Normalized::Ignored("the bot's membership of a group changed");
        }
        let signal = match member.new_chat_member.status.as_str() {
            "kicked" => Reachability::Blocked,
            "member" => Reachability::Unblocked,
            _ => {
                return Normalized::Ignored(
                    "a membership change that is neither block nor unblock",
                );
            }
        };
        let signal = ChannelSignal {
            source_id: SourceId::new("telegram", &format!("update:{}", update.update_id)),
            channel: Channel::Telegram,
            received_at: at(member.date),
            identities: vec![PresentedIdentity::proven(Identity::telegram(
                member.from.id,
            ))],
            signal,
        };
        return Normalized::News(Box::new(Inbound::Signal(signal)));
    }
    if let Some(press) = &update.callback_query {
        return button_press(press);
    }
    Normalized::Ignored("an update kind Switchboard does not handle")
}

/// A rating button under a survey (`csat:<token>:<rating>`; the token is checked by the
/// router), or one under a bot's answer (`kb:…`; the router hears only the
/// conversation's own customer). Any other button data is nothing of ours.
fn button_press(press: &CallbackQuery) -> Normalized {
    if let Some((outcome, conversation_id, article_id)) = press
        .data
        .as_deref()
        .and_then(crate::services::answer_first::parse_button)
    {
        return Normalized::News(Box::new(Inbound::BotAnswerTaken(BotAnswerTaken {
            source_id: SourceId::new("telegram", &format!("callback:{}", press.id)),
            received_at: Utc::now(),
            conversation_id,
            article_id,
            bot_outcome: outcome,
            callback_query_id: Some(press.id.clone()),
            by: Some(Identity::telegram(press.from.id)),
        })));
    }
    let rating = press
        .data
        .as_deref()
        .and_then(|d| d.strip_prefix(SURVEY_BUTTON_PREFIX))
        .and_then(|rest| rest.rsplit_once(':'))
        .and_then(|(token, rating)| Some((token, rating.parse::<u8>().ok()?)))
        .filter(|(token, rating)| RATINGS.contains(rating) && token.len() <= 64);
    let Some((token, rating)) = rating else {
        return Normalized::Ignored("a button press that is not a survey's rating");
    };
    Normalized::News(Box::new(Inbound::SurveyAnswer(SurveyReply {
        source_id: SourceId::new("telegram", &format!("callback:{}", press.id)),
        received_at: Utc::now(),
        survey_token: token.to_owned(),
        rating,
        nps: None,
        comment: None,
        callback_query_id: Some(press.id.clone()),
        by: Some(Identity::telegram(press.from.id)),
    })))
}

/// The source id of a message: Telegram numbers messages per chat.
pub fn message_source(chat_id: i64, message_id: i64) -> SourceId {
    SourceId::new("telegram", &format!("{chat_id}:{message_id}"))
}

fn at(unix_seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix_seconds, 0)
        .filter(|t| unix_seconds > 0 && *t <= Utc::now() + chrono::Duration::minutes(5))
        .unwrap_or_else(Utc::now)
}

fn from_message(m: &Message, edit_of: Option<SourceId>, settings: &InboundSettings) -> Normalized {
    let private = m.chat.kind == ChatKind::Private;
    match m.chat.kind {
        ChatKind::Private => {}
        ChatKind::Group | ChatKind::Supergroup if settings.groups_enabled => {}
        ChatKind::Group | ChatKind::Supergroup => {
            return Normalized::Ignored("a group message (groups are not enabled)");
        }
        ChatKind::Channel | ChatKind::Other => return Normalized::Ignored("a channel message"),
    }
    // An agent linking their chat for notifications: not a customer's message. A code
    // sent anywhere but a private chat (or edited in) links nothing and is not kept
    // either, so no one else reads it while it is still good.
    if let Some(code) = start_payload(m.text.as_deref())
        && LinkCode::parse(code).is_some()
    {
        if !private || edit_of.is_some() {
            return Normalized::Ignored("a link code outside a private chat's new message");
        }
        return Normalized::News(Box::new(Inbound::AgentLink(AgentLinkRequest {
            source_id: message_source(m.chat.id, m.message_id),
            received_at: at(m.date),
            chat_id: m.chat.id,
            link_code: code.to_owned(),
        })));
    }
    // In a private chat the chat is the user, so a message without `from` is still theirs.
    let sender_id = match (&m.from, private) {
        (Some(from), _) => from.id,
        (None, true) => m.chat.id,
        (None, false) => return Normalized::Ignored("a group message without a sender"),
    };
    let mut identities = vec![PresentedIdentity::proven(Identity::telegram(sender_id))];
    let mut text = m
        .text
        .clone()
        .or_else(|| m.caption.clone())
        .unwrap_or_default();
    if let Some(contact) = &m.contact {
        let name = full_name(&contact.first_name, contact.last_name.as_deref());
        let own = contact.user_id == Some(sender_id);
        let phone = if own {
            own_phone(&contact.phone_number, settings.default_region)
        } else {
            None
        };
        match &phone {
            Some(phone) => {
                identities.push(PresentedIdentity {
                    links: true,
                    ..PresentedIdentity::proven(Identity::phone(phone))
                });
            }
            None if own => {
                tracing::warn!("a Telegram user shared a phone number that is not valid");
            }
            None => {}
        }
        let shown = phone
            .as_ref()
            .map_or(contact.phone_number.as_str(), |p| p.as_str());
        push_line(&mut text, &format!("Contact: {name}, {shown}"));
    }
    if let Some(sticker) = &m.sticker {
        push_line(&mut text, sticker.emoji.as_deref().unwrap_or("(sticker)"));
    }
    if let Some(location) = &m.location {
        push_line(
            &mut text,
            &format!(
                "Location: {:.6}, {:.6}",
                location.latitude, location.longitude
            ),
        );
    }
    let attachments = attachments_of(m);
    if text.is_empty() && attachments.is_empty() {
        text = "(a kind of Telegram message Switchboard does not show)".into();
    }
    let auto_reply = match (&edit_of, &settings.welcome_text) {
        (None, Some(welcome)) if is_start(m.text.as_deref()) => Some(welcome.clone()),
        _ => None,
    };
    let source_id = match &edit_of {
        None => message_source(m.chat.id, m.message_id),
        Some(_) => SourceId::new(
            "telegram",
            &format!(
                "{}:{}:edit:{}",
                m.chat.id,
                m.message_id,
                m.edit_date.unwrap_or(m.date)
            ),
        ),
    };
    let received_at = at(edit_of.as_ref().and(m.edit_date).unwrap_or(m.date));
    let message = InboundMessage {
        sender_name: m
            .from
            .as_ref()
            .map(|u| full_name(&u.first_name, u.last_name.as_deref())),
        identities,
        text,
        attachments,
        reply_to: m
            .reply_to_message
            .as_ref()
            .map(|r| message_source(m.chat.id, r.message_id)),
        edit_of,
        media_group: m.media_group_id.clone(),
        auto_reply,
        ..InboundMessage::new(source_id, Channel::Telegram, received_at)
    };
    Normalized::Message(Box::new(message))
}

fn push_line(text: &mut String, line: &str) {
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(line);
}

fn full_name(first: &str, last: Option<&str>) -> String {
    match last.filter(|l| !l.trim().is_empty()) {
        Some(last) => format!("{first} {last}"),
        None => first.to_owned(),
    }
}

/// The payload of `/start <payload>` (or `/start@bot_name <payload>`).
fn start_payload(text: Option<&str>) -> Option<&str> {
    let rest = text?.trim().strip_prefix("/start")?;
    let rest = match rest.strip_prefix('@') {
        Some(named) => named.split_once(' ').map_or("", |(_, payload)| payload),
        None => rest.strip_prefix(' ')?,
    };
    Some(rest.trim()).filter(|p| !p.is_empty())
}

/// `/start`, `/start payload` or `/start@bot_name`.
fn is_start(text: Option<&str>) -> bool {
    let Some(rest) = text
        .map(str::trim_start)
        .and_then(|t| t.strip_prefix("/start"))
    else {
        return false;
    };
    rest.is_empty() || rest.starts_with([' ', '@', '\n'])
}

/// The number a user shared of their own account. Telegram gives it in international
/// form, often without the `+`; a national form falls back to the default region.
fn own_phone(raw: &str, region: DefaultRegion) -> Option<PhoneNumber> {
    let trimmed = raw.trim();
    let international = if trimmed.starts_with('+') || trimmed.starts_with('0') {
        None
    } else {
        PhoneNumber::parse(&format!("+{trimmed}"), region).ok()
    };
    international.or_else(|| PhoneNumber::parse(trimmed, region).ok())
}

fn attachments_of(m: &Message) -> Vec<Attachment> {
    let mut out = Vec::new();
    // Sizes come smallest first; pick by area so an unusual order changes nothing.
    if let Some(photo) = m
        .photo
        .iter()
        .max_by_key(|p| (u64::from(p.width) * u64::from(p.height), p.file_size))
    {
        out.push(Attachment::at_provider(
            photo.file_id.clone(),
            Some("photo.jpg".into()),
            Some("image/jpeg".into()),
            photo.file_size,
        ));
    }
    let files: [(&Option<FileRef>, &str, &str); 5] = [
        (&m.document, "document", "application/octet-stream"),
        (&m.voice, "voice.ogg", "audio/ogg"),
        (&m.audio, "audio.mp3", "audio/mpeg"),
        (&m.video, "video.mp4", "video/mp4"),
        (&m.video_note, "video_note.mp4", "video/mp4"),
    ];
    for (file, default_name, default_type) in files {
        if let Some(f) = file {
            out.push(Attachment::at_provider(
                f.file_id.clone(),
                Some(f.file_name.clone().unwrap_or_else(|| default_name.into())),
                Some(f.mime_type.clone().unwrap_or_else(|| default_type.into())),
                f.file_size,
            ));
        }
    }
    out
}

#[cfg(test)]
#[path = "inbound_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "inbound_props.rs"]
mod props;
