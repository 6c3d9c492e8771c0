//! One event of the generic CTI hook (the field names Zammad's generic CTI uses), from a
//! JSON or form body. Never panics on any input.

use crate::channels::form::parse_pairs;
use serde::{Deserialize, Serialize};

/// Largest body read from a PBX; real events are a few hundred bytes.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    NewCall,
    Answer,
    Hangup,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewCall => "newCall",
            Self::Answer => "answer",
            Self::Hangup => "hangup",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallDirection {
    In,
    Out,
}

/// A validated CTI event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtiEvent {
    pub kind: EventKind,
    pub call_id: String,
    pub direction: CallDirection,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The agent (or agents) the PBX names.
    pub user: Option<String>,
    pub answering_number: Option<String>,
    pub queue: Option<String>,
    /// On hangup: `normalClearing`, `busy`, `cancel`, `noAnswer`, `congestion`,
    /// `notFound`, `forwarded`.
    pub cause: Option<String>,
}

/// The body as sent: every field optional, checked in [`parse`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    event: Option<String>,
    call_id: Option<serde_json::Value>,
    direction: Option<String>,
    from: Option<String>,
    to: Option<String>,
    user: Option<serde_json::Value>,
    answering_number: Option<String>,
    queue: Option<String>,
    cause: Option<String>,
}

/// Why a body is not an event; each is a 400.
pub type ParseError = String;

/// Reads an event from a JSON body or a form (`user[]` may repeat in a form).
pub fn parse(content_type: &str, body: &[u8]) -> Result<CtiEvent, ParseError> {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    let raw: Raw = match mime {
        "application/json" => serde_json::from_slice(body)
            .map_err(|e| format!("the body is not a CTI event in JSON: {e}"))?,
        "application/x-www-form-urlencoded" => {
            let pairs = parse_pairs(body).map_err(|e| e.to_string())?;
            let field = |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            let users: Vec<String> = pairs
                .iter()
                .filter(|(n, _)| n == "user" || n == "user[]")
                .map(|(_, v)| v.clone())
                .collect();
            Raw {
                event: field("event"),
                call_id: field("callId").map(serde_json::Value::String),
                direction: field("direction"),
                from: field("from"),
                to: field("to"),
                user: (!users.is_empty()).then(|| serde_json::Value::from(users)),
                answering_number: field("answeringNumber"),
                queue: field("queue"),
                cause: field("cause"),
            }
        }
        _ => return Err("send the event as application/json or a form".into()),
    };
    let kind = match raw.event.as_deref() {
        Some("newCall") => EventKind::NewCall,
        Some("answer") => EventKind::Answer,
        Some("hangup") => EventKind::Hangup,
        Some(_) => return Err("`event` must be newCall, answer or hangup".into()),
        None => return Err("`event` is missing".into()),
    };
    let call_id = match raw.call_id {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => return Err("`callId` is missing".into()),
    };
    let call_id = call_id.trim().to_owned();
    if call_id.is_empty() || call_id.len() > 128 || call_id.chars().any(char::is_control) {
        return Err("`callId` must be 1–128 printable characters".into());
    }
    let direction = match raw.direction.as_deref() {
        Some("in") | None => CallDirection::In,
        Some("out") => CallDirection::Out,
        Some(_) => return Err("`direction` must be in or out".into()),
    };
    let user = match raw.user {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Array(names)) => Some(
            names
                .iter()
                .filter_map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    };
    let short = |v: Option<String>| {
        v.map(|s| s.trim().chars().take(100).collect::<String>())
            .filter(|s| !s.is_empty())
    };
    Ok(CtiEvent {
        kind,
        call_id,
        direction,
        from: short(raw.from),
        to: short(raw.to),
        user: short(user),
        answering_number: short(raw.answering_number),
        queue: short(raw.queue),
        cause: short(raw.cause),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_form_events_read_the_same() {
        let json = parse(
            "application/json",
            br#"{"event":"answer","from":"+4930600000000","to":"+4930123","direction":"in","callId":"c-1","user":["Ada","Bo"],"answeringNumber":"201"}"#,
        )
        .unwrap();
        let form = parse(
            "application/x-www-form-urlencoded; charset=utf-8",
            b"event=answer&from=%2B4930600000000&to=%2B4930123&direction=in&callId=c-1&user%5B%5D=Ada&user%5B%5D=Bo&answeringNumber=201",
        )
        .unwrap();
        assert_eq!(json, form);
        assert_eq!(json.kind, EventKind::Answer);
        assert_eq!(json.user.as_deref(), Some("Ada, Bo"));
        assert_eq!(json.answering_number.as_deref(), Some("201"));
    }

    #[test]
    fn unknown_events_and_malformed_bodies_are_refused() {
        for (ct, body) in [
            ("application/json", &b"{"[..]),
            ("application/json", br#"{"event":"transfer","callId":"1"}"#),
            ("application/json", br#"{"event":"hangup"}"#),
            (
                "application/json",
                br#"{"event":"hangup","callId":"1","direction":"sideways"}"#,
            ),
            ("application/json", br#"{"event":"hangup","callId":""}"#),
            (
                "application/x-www-form-urlencoded",
                b"event=hangup&callId=%zz",
            ),
            ("text/plain", b"event=hangup&callId=1"),
        ] {
            assert!(
                parse(ct, body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
