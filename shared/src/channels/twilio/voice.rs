//! Voice calls to the Twilio number: a greeting, then within business hours a `<Dial>` to
//! the team's phone, else (or when nobody answers) a `<Record>` with transcription. The
//! dial outcome, the recording and its transcription come back as callbacks and become
//! voice items in the caller's conversation (a missed call asks for a call back).
//!
//! <https://www.twilio.com/docs/voice/twiml/dial>, <https://www.twilio.com/docs/voice/twiml/record>

use super::inbound::{Normalized, is_sid};
use super::params::Params;
use super::twiml::escape;
use crate::model::{
    Attachment, BusinessHours, Channel, DefaultRegion, Identity, InboundMessage, PhoneNumber,
    PresentedIdentity, SourceId,
};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub const DIAL_PATH: &str = "/webhooks/twilio/voice/dial";
pub const RECORDING_PATH: &str = "/webhooks/twilio/voice/recording";
pub const TRANSCRIPTION_PATH: &str = "/webhooks/twilio/voice/transcription";
/// The number's call status callback ("Call status changes" in the console): the only
/// word from Twilio about a caller who hangs up during the greeting, before any dial or
/// recording.
pub const STATUS_PATH: &str = "/webhooks/twilio/voice/status";

/// Where a call's reported outcome is noted in the blob store: by a hash, so any SID
/// makes a valid key.
pub fn outcome_key(call_sid: &str) -> String {
    format!(
        "calls/twilio/{}.json",
        hex::encode(Sha256::digest(call_sid.as_bytes()))
    )
}

/// The outcome note of the call a stored voice item came from (source id
/// `twilio:<CallSid>:<event>`).
pub fn outcome_key_of(source: &SourceId) -> Option<String> {
    let (sid, _event) = source.as_str().strip_prefix("twilio:")?.split_once(':')?;
    is_sid(sid, &["CA"]).then(|| outcome_key(sid))
}

/// The call statuses after which nothing more happens on a call.
const FINAL_STATUSES: [&str; 5] = ["completed", "busy", "no-answer", "failed", "canceled"];

/// Whether a status callback reports an inbound call's end (the status callback may also
/// be asked for `initiated`, `ringing` and `answered`; those are not the end).
pub fn is_final_status(params: &Params) -> bool {
    params.get("Direction").is_none_or(|d| d == "inbound")
        && params
            .get("CallStatus")
            .is_some_and(|s| FINAL_STATUSES.contains(&s))
}

/// What callers hear and where calls go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoiceSettings {
    pub greeting: String,
    /// A `<Say>` language (`en-US`, `fa-IR`, …).
    pub language: String,
    /// Who takes calls within business hours; none: every call goes to voicemail.
    pub dial: Option<PhoneNumber>,
    pub hours: BusinessHours,
    /// A stored calendar (hours and holidays) read at each call, in place of `hours`;
    /// `hours` stand while it cannot be read.
    pub calendar: Option<crate::model::CalendarId>,
}

impl Default for VoiceSettings {
    /// Every call to voicemail, greeted in English.
    fn default() -> Self {
        Self {
            greeting: "Thank you for calling. Please leave a message after the tone.".into(),
            language: "en-US".into(),
            dial: None,
            hours: BusinessHours::always(),
            calendar: None,
        }
    }
}

impl VoiceSettings {
    /// From configured text; an unset or empty value keeps the default. Errors name what
    /// is wrong, never where it came from (the caller knows its variable).
    pub fn configured(
        greeting: Option<&str>,
        language: Option<&str>,
        dial: Option<&str>,
        (hours, calendar): (Option<&str>, Option<&str>),
        region: DefaultRegion,
    ) -> Result<Self, String> {
        fn given(value: Option<&str>) -> Option<&str> {
            value.map(str::trim).filter(|v| !v.is_empty())
        }
        let mut settings = Self::default();
        if let Some(greeting) = greeting {
            settings.greeting = greeting.to_owned();
        }
        if let Some(language) = given(language) {
            settings.language = language.to_owned();
        }
        if let Some(dial) = given(dial) {
            settings.dial = Some(
                PhoneNumber::parse(dial, region).map_err(|e| format!("the number to dial: {e}"))?,
            );
        }
        if let Some(hours) = given(hours) {
            settings.hours = BusinessHours::parse(hours)?;
        }
        if let Some(calendar) = given(calendar) {
            settings.calendar = Some(calendar.parse().map_err(|e| format!("the calendar: {e}"))?);
        }
        Ok(settings)
    }
}

/// The TwiML that answers a new call: put through to `settings.dial` while `hours` are
/// open, else voicemail.
pub fn answer(
    settings: &VoiceSettings,
    hours: &BusinessHours,
    public_url: &str,
    now: DateTime<Utc>,
) -> String {
    let say = say(settings);
    match &settings.dial {
        Some(number) if hours.is_open(now) => format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response>{say}<Dial action="{}" timeout="20"><Number>{}</Number></Dial></Response>"#,
            escape(&format!("{public_url}{DIAL_PATH}")),
            escape(number.as_str())
        ),
        _ => voicemail(&say, public_url),
    }
}

/// The TwiML after the dial: hang up when someone talked, else voicemail.
pub fn after_dial(params: &Params, public_url: &str) -> String {
    if params.get("DialCallStatus") == Some("completed") {
        return r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#.into();
    }
    voicemail("", public_url)
}

fn say(settings: &VoiceSettings) -> String {
    if settings.greeting.trim().is_empty() {
        return String::new();
    }
    format!(
        r#"<Say language="{}">{}</Say>"#,
        escape(&settings.language),
        escape(&settings.greeting)
    )
}

fn voicemail(say: &str, public_url: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response>{say}<Record action="{}" maxLength="120" playBeep="true" transcribe="true" transcribeCallback="{}"/><Hangup/></Response>"#,
        escape(&format!("{public_url}{RECORDING_PATH}")),
        escape(&format!("{public_url}{TRANSCRIPTION_PATH}")),
    )
}

/// A callback about a call (dial outcome, recording, transcription) → its voice item.
pub fn normalize_callback(path: &str, params: &Params, region: DefaultRegion) -> Normalized {
    let Some(call_sid) = params.get("CallSid") else {
        return Normalized::Invalid("CallSid is missing".into());
    };
    if !is_sid(call_sid, &["CA"]) {
        return Normalized::Invalid("CallSid is not a Twilio call SID".into());
    }
    let caller = params
        .get("From")
        .filter(|f| !matches!(*f, "anonymous" | "Anonymous" | "+266696687"))
        .and_then(|f| PhoneNumber::reported(f, region).ok());
    let who = caller
        .as_ref()
        .map_or("a withheld number", |p| p.as_str())
        .to_owned();
    let (event, text, attachments) = match path {
        DIAL_PATH => match params.get("DialCallStatus") {
            Some("completed") => {
                let secs = params.get("DialCallDuration").unwrap_or("0");
                (
                    "answered",
                    format!("Inbound call from {who}, answered, talked {secs} s"),
                    Vec::new(),
                )
            }
            // Nobody answered and the caller already hung up (the call itself is
            // `completed`): no voicemail will follow, so this is the missed call. It
            // takes the recording's id, so it is stored once either way.
            _ if params.get("CallStatus") == Some("completed") => (
                "recording",
                format!("Missed call from {who}, hung up while ringing — call back"),
                Vec::new(),
            ),
            // Nobody answered and the caller is still on the line: voicemail follows,
            // and its recording makes the item.
            _ => return Normalized::Ignored("a dial nobody answered (voicemail follows)"),
        },
        RECORDING_PATH => {
            let secs = params.get("RecordingDuration").unwrap_or("0");
            let attachments = params
                .get("RecordingUrl")
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .map(|u| {
                    vec![Attachment::at_provider(
                        u.to_owned(),
                        Some("voicemail.wav".into()),
                        Some("audio/x-wav".into()),
                        None,
                    )]
                })
                .unwrap_or_default();
            let text = if secs == "0" || attachments.is_empty() {
                format!("Missed call from {who}, no voicemail — call back")
            } else {
                format!("Missed call from {who}, voicemail of {secs} s — call back")
            };
            ("recording", text, attachments)
        }
        // The call ended with no dial or recording report before it (the caller hung up
        // during the greeting, or the call never connected): a missed call. It takes
        // the recording's id: whichever report of the call's outcome comes first is the
        // one stored.
        STATUS_PATH => {
            let status = params.get("CallStatus").unwrap_or("completed");
            let how = match status {
                "completed" => "hung up during the greeting".to_owned(),
                other => format!("call {}", other.replace('-', " ")),
            };
            (
                "recording",
                format!("Missed call from {who}, {how} — call back"),
                Vec::new(),
            )
        }
        TRANSCRIPTION_PATH => {
            if params.get("TranscriptionStatus") != Some("completed") {
                return Normalized::Ignored("a transcription that failed");
            }
            let Some(text) = params.get("TranscriptionText") else {
                return Normalized::Ignored("an empty transcription");
            };
            let text: String = text.chars().take(5000).collect();
            (
                "transcription",
                format!("Voicemail from {who}: {text}"),
                Vec::new(),
            )
        }
        _ => return Normalized::Invalid("not a voice callback".into()),
    };
    let identity = match &caller {
        Some(phone) => Identity::phone(phone),
        None => Identity::web_visitor(&format!("withheld-call-{call_sid}")),
    };
    let mut context = vec![("call_sid".to_owned(), call_sid.to_owned())];
    if text.contains("call back") {
        context.push(("call_back".to_owned(), "yes".to_owned()));
    }
    Normalized::Message(Box::new(InboundMessage {
        sender_name: caller.is_none().then(|| "Withheld number".to_owned()),
        identities: vec![PresentedIdentity::proven(identity)],
        text,
        context,
        attachments,
        ..InboundMessage::new(
            SourceId::new("twilio", &format!("{call_sid}:{event}")),
            Channel::Voice,
            Utc::now(),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn settings(hours: &str) -> VoiceSettings {
        VoiceSettings {
            greeting: "Hello & welcome".into(),
            language: "en-US".into(),
            dial: Some(PhoneNumber::from_e164("+14155550111").unwrap()),
            hours: BusinessHours::parse(hours).unwrap(),
            calendar: None,
        }
    }

    #[test]
    fn business_hours_follow_their_offset() {
        let hours = BusinessHours::parse("sat-wed 08:30-17:00 +03:30").unwrap();
        // Saturday 05:00 UTC is 08:30 in Tehran.
        let sat = Utc.with_ymd_and_hms(2026, 11, 21, 5, 0, 0).unwrap();
        assert!(hours.is_open(sat));
        assert!(!hours.is_open(sat - chrono::Duration::minutes(1)));
        // Thursday is closed.
        assert!(!hours.is_open(Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap()));
        for bad in [
            "",
            "mon-fri",
            "mon-fri 09:00-17:00 Mars/Olympus_Mons",
            "mon-fri 17:00-09:00 +00:00",
            "xyz 09:00-17:00 +00:00",
            "mon 9-5 +00:00",
        ] {
            assert!(BusinessHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn business_hours_in_a_named_zone_follow_daylight_saving() {
        let hours = BusinessHours::parse("mon-fri 09:00-17:00 Europe/Berlin").unwrap();
        // 07:00 UTC is 09:00 in Berlin's summer (CEST) but 08:00 in its winter (CET).
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 7, 0, 0).unwrap();
        let winter = Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap();
        assert!(hours.is_open(summer));
        assert!(!hours.is_open(winter));
        assert!(hours.is_open(winter + chrono::Duration::hours(1)));
        let tehran = BusinessHours::parse("sat-wed 08:30-17:00 Asia/Tehran").unwrap();
        assert!(tehran.is_open(Utc.with_ymd_and_hms(2026, 11, 21, 5, 0, 0).unwrap()));
    }

    #[test]
    fn open_hours_dial_and_closed_hours_record() {
        let s = settings("mon-fri 09:00-17:00 +00:00");
        let open = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let twiml = answer(&s, &s.hours, "https://support.example.com", open);
        assert!(
            twiml.contains(r#"<Say language="en-US">Hello &amp; welcome</Say>"#),
            "{twiml}"
        );
        assert!(
            twiml.contains(
                r#"<Dial action="https://support.example.com/webhooks/twilio/voice/dial""#
            )
        );
        assert!(twiml.contains("<Number>+14155550111</Number>"));
        let closed = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        let twiml = answer(&s, &s.hours, "https://support.example.com", closed);
        assert!(!twiml.contains("<Dial"), "{twiml}");
        assert!(twiml.contains(r#"transcribe="true""#) && twiml.contains("<Record"));
    }

    #[test]
    fn callbacks_become_voice_items() {
        let region = DefaultRegion::default();
        let sid = "CA0123456789abcdef0123456789abcdef";
        let params = Params::parse(
            format!("CallSid={sid}&From=%2B14155552671&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2Frec%2FRE1&RecordingDuration=14").as_bytes(),
        )
        .unwrap();
        let Normalized::Message(m) = normalize_callback(RECORDING_PATH, &params, region) else {
            panic!("no item")
        };
        assert_eq!(
            m.text,
            "Missed call from +14155552671, voicemail of 14 s — call back"
        );
        assert_eq!(m.source_id.as_str(), format!("twilio:{sid}:recording"));
        assert_eq!(m.attachments.len(), 1);
        let answered = Params::parse(
            format!(
                "CallSid={sid}&From=%2B14155552671&DialCallStatus=completed&DialCallDuration=65"
            )
            .as_bytes(),
        )
        .unwrap();
        let Normalized::Message(m) = normalize_callback(DIAL_PATH, &answered, region) else {
            panic!("no item")
        };
        assert_eq!(
            m.text,
            "Inbound call from +14155552671, answered, talked 65 s"
        );
        let still_there = Params::parse(
            format!(
                "CallSid={sid}&From=%2B14155552671&DialCallStatus=no-answer&CallStatus=in-progress"
            )
            .as_bytes(),
        )
        .unwrap();
        assert!(matches!(
            normalize_callback(DIAL_PATH, &still_there, region),
            Normalized::Ignored(_)
        ));
        let hung_up = Params::parse(
            format!(
                "CallSid={sid}&From=%2B14155552671&DialCallStatus=no-answer&CallStatus=completed"
            )
            .as_bytes(),
        )
        .unwrap();
        let Normalized::Message(m) = normalize_callback(DIAL_PATH, &hung_up, region) else {
            panic!("no item for a caller who hung up while it rang")
        };
        assert_eq!(
            m.text,
            "Missed call from +14155552671, hung up while ringing — call back"
        );
        assert_eq!(m.source_id.as_str(), format!("twilio:{sid}:recording"));
        assert!(
            m.context
                .contains(&("call_back".to_owned(), "yes".to_owned()))
        );
        let greeting_hang_up = Params::parse(
            format!("CallSid={sid}&From=%2B14155552671&CallStatus=completed&Direction=inbound")
                .as_bytes(),
        )
        .unwrap();
        assert!(is_final_status(&greeting_hang_up));
        let Normalized::Message(m) = normalize_callback(STATUS_PATH, &greeting_hang_up, region)
        else {
            panic!("no item for a caller who hung up during the greeting")
        };
        assert_eq!(
            m.text,
            "Missed call from +14155552671, hung up during the greeting — call back"
        );
        assert_eq!(m.source_id.as_str(), format!("twilio:{sid}:recording"));
        for (status, direction, last) in [
            ("ringing", "inbound", false),
            ("in-progress", "inbound", false),
            ("completed", "outbound-api", false),
            ("busy", "inbound", true),
            ("no-answer", "inbound", true),
        ] {
            let params = Params::parse(
                format!("CallSid={sid}&CallStatus={status}&Direction={direction}").as_bytes(),
            )
            .unwrap();
            assert_eq!(is_final_status(&params), last, "{status} {direction}");
        }
        let bad = Params::parse(b"CallSid=nope").unwrap();
        assert!(matches!(
            normalize_callback(DIAL_PATH, &bad, region),
            Normalized::Invalid(_)
        ));
    }
}
