//! One call as its events build it up, and the timeline item it becomes at hangup.

use super::event::{CallDirection, CtiEvent, EventKind};
use crate::model::{
    Channel, DefaultRegion, Identity, InboundMessage, PhoneNumber, PresentedIdentity, SourceId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The context entries of an answered call's item that name who answered: the
/// extension, and the agent as the PBX calls them (`user`, else the extension).
pub const ANSWERING_NUMBER: &str = "answering_number";
pub const ANSWERED_BY: &str = "answered_by";

/// Where a call's record is kept in the blob store: by a hash, so any call id makes a
/// valid key.
pub fn record_key(call_id: &str) -> String {
    format!(
        "calls/pbx/{}.json",
        hex::encode(Sha256::digest(call_id.as_bytes()))
    )
}

/// The record of the call a stored voice item came from (source id `pbx:<callId>`).
pub fn record_key_of(source: &SourceId) -> Option<String> {
    source.as_str().strip_prefix("pbx:").map(record_key)
}

/// What is kept of a call between its events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub direction: Option<CallDirection>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub started_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub answered_by: Option<String>,
    /// The extension that answered (`answeringNumber`): the router assigns the
    /// conversation to the agent with that extension.
    #[serde(default)]
    pub answering_number: Option<String>,
    pub ended_at: Option<i64>,
    pub cause: Option<String>,
}

/// What an event does to its call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The record changed: save it.
    Recorded,
    /// A repeat, or news that comes too late (an answer after the hangup).
    Ignored(&'static str),
    /// The call ended: save the record and queue the timeline item.
    Ended,
}

impl CallRecord {
    /// Applies `event`, sent at `at` (Unix seconds).
    pub fn apply(&mut self, event: &CtiEvent, at: i64) -> Step {
        if self.direction.is_none() {
            self.direction = Some(event.direction);
        }
        if self.from.is_none() {
            self.from.clone_from(&event.from);
        }
        if self.to.is_none() {
            self.to.clone_from(&event.to);
        }
        match event.kind {
            EventKind::NewCall if self.started_at.is_some() || self.ended_at.is_some() => {
                Step::Ignored("a repeated newCall")
            }
            EventKind::NewCall => {
                self.started_at = Some(at);
                Step::Recorded
            }
            EventKind::Answer if self.ended_at.is_some() => Step::Ignored("an answer after hangup"),
            EventKind::Answer if self.answered_at.is_some() => Step::Ignored("a repeated answer"),
            EventKind::Answer => {
                self.answered_at = Some(at);
                self.answering_number.clone_from(&event.answering_number);
                self.answered_by = event
                    .user
                    .clone()
                    .or_else(|| event.answering_number.clone());
                Step::Recorded
            }
            // A repeated hangup queues the same item again; its source id stores it once.
            EventKind::Hangup if self.ended_at.is_some() => Step::Ended,
            EventKind::Hangup => {
                self.ended_at = Some(at);
                self.cause.clone_from(&event.cause);
                if self.answering_number.is_none() {
                    self.answering_number.clone_from(&event.answering_number);
                }
                if self.answered_by.is_none() {
                    self.answered_by = event
                        .user
                        .clone()
                        .or_else(|| event.answering_number.clone());
                }
                Step::Ended
            }
        }
    }

    /// An inbound call that ended without an answer, and was not forwarded.
    pub fn missed(&self) -> bool {
        self.direction != Some(CallDirection::Out)
            && self.answered_at.is_none()
            && self.cause.as_deref() != Some("forwarded")
    }

    /// The customer's side of the call.
    fn customer(&self) -> Option<&str> {
        match self.direction {
            Some(CallDirection::Out) => self.to.as_deref(),
            _ => self.from.as_deref(),
        }
    }

    /// The call as a timeline item on the voice channel, once it has ended. A withheld
    /// number is no phone identity: the call is kept under a contact of its own.
    pub fn to_message(&self, call_id: &str, region: DefaultRegion) -> InboundMessage {
        let phone = self
            .customer()
            .filter(|n| !n.eq_ignore_ascii_case("anonymous"))
            .and_then(|n| PhoneNumber::parse(n, region).ok());
        let (identity, sender_name) = match &phone {
            Some(phone) => (Identity::phone(phone), None),
            None => (
                Identity::web_visitor(&format!("withheld-call-{call_id}")),
                Some("Withheld number".to_owned()),
            ),
        };
        let ended = self.ended_at.unwrap_or_default();
        let started = self.started_at.unwrap_or(ended);
        let mut context = vec![("call_id".to_owned(), call_id.to_owned())];
        if let Some(cause) = &self.cause {
            context.push(("cause".to_owned(), cause.clone()));
        }
        if self.missed() {
            context.push(("call_back".to_owned(), "yes".to_owned()));
        }
        if self.answered_at.is_some() {
            if let Some(number) = &self.answering_number {
                context.push((ANSWERING_NUMBER.to_owned(), number.clone()));
            }
            if let Some(by) = &self.answered_by {
                context.push((ANSWERED_BY.to_owned(), by.clone()));
            }
        }
        InboundMessage {
            sender_name,
            identities: vec![PresentedIdentity::proven(identity)],
            text: self.summary(phone.as_ref().map(PhoneNumber::as_str)),
            context,
            ..InboundMessage::new(
                SourceId::new("pbx", call_id),
                Channel::Voice,
                DateTime::from_timestamp(started, 0)
                    .filter(|t| *t <= Utc::now() + chrono::Duration::minutes(5))
                    .unwrap_or_else(Utc::now),
            )
        }
    }

    /// One line an agent reads: who, which way, how long it rang and how long they talked.
    pub fn summary(&self, number: Option<&str>) -> String {
        let who = number.unwrap_or("a withheld number");
        let ended = self.ended_at.unwrap_or_default();
        let started = self.started_at.unwrap_or(ended);
        let wait = self
            .answered_at
            .unwrap_or(ended)
            .saturating_sub(started)
            .max(0);
        let outbound = self.direction == Some(CallDirection::Out);
        if self.missed() {
            let cause = self.cause.as_deref().unwrap_or("noAnswer");
            return format!(
                "Missed call from {who} (rang {}, {cause}) — call back",
                duration(wait)
            );
        }
        let way = if outbound {
            format!("Outbound call to {who}")
        } else {
            format!("Inbound call from {who}")
        };
        match self.answered_at {
            Some(answered) => {
                let by = self
                    .answered_by
                    .as_deref()
                    .map(|a| format!(" by {a}"))
                    .unwrap_or_default();
                format!(
                    "{way}, answered{by} after {}, talked {}",
                    duration(wait),
                    duration(ended.saturating_sub(answered).max(0))
                )
            }
            None => format!(
                "{way}, not answered ({})",
                self.cause.as_deref().unwrap_or("noAnswer")
            ),
        }
    }
}

fn duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s => format!("{} min {} s", s / 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, user: Option<&str>, cause: Option<&str>) -> CtiEvent {
        CtiEvent {
            kind,
            call_id: "c-1".into(),
            direction: CallDirection::In,
            from: Some("0912 345 6789".into()),
            to: Some("+982100000000".into()),
            user: user.map(str::to_owned),
            answering_number: None,
            queue: None,
            cause: cause.map(str::to_owned),
        }
    }

    fn iran() -> DefaultRegion {
        DefaultRegion::parse("IR").unwrap()
    }

    #[test]
    fn an_answered_call_reports_wait_and_talk_time_and_who_answered() {
        let mut call = CallRecord::default();
        assert_eq!(
            call.apply(&event(EventKind::NewCall, None, None), 1000),
            Step::Recorded
        );
        assert_eq!(
            call.apply(&event(EventKind::NewCall, None, None), 1003),
            Step::Ignored("a repeated newCall")
        );
        assert_eq!(
            call.apply(&event(EventKind::Answer, Some("Ada"), None), 1012),
            Step::Recorded
        );
        assert_eq!(
            call.apply(
                &event(EventKind::Hangup, None, Some("normalClearing")),
                1196
            ),
            Step::Ended
        );
        assert_eq!(
            call.apply(&event(EventKind::Answer, Some("Bo"), None), 1200),
            Step::Ignored("an answer after hangup")
        );
        let m = call.to_message("c-1", iran());
        assert_eq!(
            m.text,
            "Inbound call from +989123456789, answered by Ada after 12 s, talked 3 min 4 s"
        );
        assert_eq!(m.source_id.as_str(), "pbx:c-1");
        assert_eq!(m.channel, Channel::Voice);
        assert_eq!(m.identities[0].identity.key(), "phone:+989123456789");
    }

    #[test]
    fn an_unanswered_inbound_call_is_a_missed_call_to_return() {
        let mut call = CallRecord::default();
        call.apply(&event(EventKind::NewCall, None, None), 1000);
        call.apply(&event(EventKind::Hangup, None, Some("cancel")), 1020);
        assert!(call.missed());
        let m = call.to_message("c-1", iran());
        assert_eq!(
            m.text,
            "Missed call from +989123456789 (rang 20 s, cancel) — call back"
        );
        assert!(m.context.contains(&("call_back".into(), "yes".into())));
    }

    #[test]
    fn a_withheld_number_invents_no_phone_identity() {
        let mut call = CallRecord::default();
        let mut e = event(EventKind::Hangup, None, Some("noAnswer"));
        e.from = Some("anonymous".into());
        call.apply(&e, 1000);
        let m = call.to_message("c-9", iran());
        assert!(
            m.identities
                .iter()
                .all(|i| i.identity.kind != crate::model::IdentityKind::Phone)
        );
        assert!(m.text.contains("a withheld number"), "{}", m.text);
    }

    #[test]
    fn a_forwarded_or_outbound_call_is_not_missed() {
        let mut forwarded = CallRecord::default();
        forwarded.apply(&event(EventKind::Hangup, None, Some("forwarded")), 1000);
        assert!(!forwarded.missed());
        let mut out = CallRecord::default();
        let mut e = event(EventKind::Hangup, None, Some("noAnswer"));
        e.direction = CallDirection::Out;
        out.apply(&e, 1000);
        assert!(!out.missed());
        assert!(
            out.summary(Some("+1"))
                .starts_with("Outbound call to +1, not answered")
        );
    }
}
