//! Customer satisfaction surveys: one question after a conversation is resolved, asked on
//! the customer's own channel, answered with a rating of 1 to 5 (and, when the team asks
//! it, a 0–10 "would you recommend us" score and a comment).
//!
//! A survey is named by its conversation and its number (the first survey of a
//! conversation is 1, the one after its next resolution 2). What a customer brings back
//! (a Telegram button, an email link, the customer page) carries that name signed with
//! the installation's survey key, so nobody can answer a survey they were not sent.

use super::{AgentId, Channel, ContactId, ConversationId, TeamId};
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The ratings a customer can give: 1 (poor) to 5 (great).
pub const RATINGS: std::ops::RangeInclusive<u8> = 1..=5;
/// The "would you recommend us" scores: 0 to 10.
pub const NPS_SCORES: std::ops::RangeInclusive<u8> = 0..=10;
/// Longest comment kept, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// How long after it was sent a survey takes an answer.
pub const ANSWER_WINDOW: TimeDelta = TimeDelta::days(7);
/// Most days between two surveys of one contact that an admin may set.
pub const MAX_QUIET_DAYS: u32 = 365;

/// How an installation surveys its customers. On unless an admin turns it off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SurveySettings {
    /// Ask for a rating when a conversation is resolved.
    pub enabled: bool,
    /// A contact surveyed less than this many days ago is not asked again.
    pub quiet_days: u32,
    /// Also ask "how likely are you to recommend us" (0–10) where the survey is a page
    /// (email links, the customer page).
    pub nps: bool,
    /// Teams whose conversations are never surveyed.
    pub teams_off: Vec<TeamId>,
}

impl Default for SurveySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            quiet_days: 30,
            nps: false,
            teams_off: Vec::new(),
        }
    }
}

impl SurveySettings {
    /// The settings as given, or why not.
    pub fn validated(self) -> Result<Self, String> {
        if self.quiet_days > MAX_QUIET_DAYS {
            return Err(format!("`quiet_days` is at most {MAX_QUIET_DAYS}"));
        }
        let mut teams = self.teams_off.clone();
        teams.sort();
        teams.dedup();
        Ok(Self {
            teams_off: teams,
            ..self
        })
    }

    /// Whether a conversation of `team` is surveyed.
    pub fn surveys(&self, team: Option<TeamId>) -> bool {
        self.enabled && team.is_none_or(|t| !self.teams_off.contains(&t))
    }
}

/// One survey sent about one resolution of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    /// 1 for the conversation's first survey, then one more for each.
    pub number: u32,
    /// Where it was asked.
    pub channel: Channel,
    /// The resolution it asks about.
    pub resolved_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    /// Who the rating is about: the conversation's team and assignee when it was resolved.
    pub team_id: Option<TeamId>,
    pub agent_id: Option<AgentId>,
    /// Where it was sent (none: the customer page shows it).
    pub to: Option<super::Identity>,
    /// On SMS: the customer's number, whose bare "1"–"5" answers it.
    #[serde(default)]
    pub waits_on: Option<String>,
    pub answer: Option<SurveyAnswer>,
    /// Bumped on every save; 0 before the first.
    #[serde(default)]
    pub version: u64,
}

/// What the customer answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SurveyAnswer {
    /// 1 (poor) to 5 (great).
    pub rating: u8,
    /// 0–10, when asked and given.
    pub nps: Option<u8>,
    pub comment: Option<String>,
    pub answered_at: DateTime<Utc>,
}

impl SurveyAnswer {
    /// An answer as a customer gave it, or why it cannot be taken. A comment is kept
    /// trimmed and at most [`MAX_COMMENT_CHARS`] long; an empty one is none.
    pub fn new(
        rating: u8,
        nps: Option<u8>,
        comment: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Self, String> {
        if !RATINGS.contains(&rating) {
            return Err("the rating is 1 to 5".into());
        }
        if nps.is_some_and(|n| !NPS_SCORES.contains(&n)) {
            return Err("the recommendation score is 0 to 10".into());
        }
        let comment = comment
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| c.chars().take(MAX_COMMENT_CHARS).collect());
        Ok(Self {
            rating,
            nps,
            comment,
            answered_at: at,
        })
    }
}

/// What became of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answered {
    /// Taken: the survey holds it now.
    Recorded,
    /// The survey was answered before; the first answer stands.
    Already,
    /// No such survey, or its time is over.
    Closed,
}

impl Survey {
    /// Whether it still takes an answer at `at`.
    pub fn open_at(&self, at: DateTime<Utc>) -> bool {
        self.answer.is_none() && at < self.sent_at + ANSWER_WINDOW
    }
}

/// A bare rating in a text message ("4", "۴", " 5. "): what an SMS answers a survey
/// with. Anything more ("4 boxes please") is a message.
pub fn rating_in_text(text: &str) -> Option<u8> {
    let text = text.trim().trim_end_matches(['.', '!']).trim();
    let mut chars = text.chars();
    let digit = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    let ascii = super::ascii_digits(&digit.to_string());
    let rating: u8 = ascii.parse().ok()?;
    RATINGS.contains(&rating).then_some(rating)
}

/// Characters of the MAC a survey token carries (64 bits, hex).
const TOKEN_MAC_HEX: usize = 16;

/// Signs and checks survey tokens: `<conversation ulid>-<number>.<mac>`, lower-case and
/// short enough for a Telegram button (its data is at most 64 bytes).
#[derive(Clone)]
pub struct SurveyTokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for SurveyTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SurveyTokens(…)")
    }
}

impl SurveyTokens {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, named: &str) -> String {
        // HMAC takes keys of any length.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(b"survey-token\n");
        mac.update(named.as_bytes());
        let mut hex = hex::encode(mac.finalize().into_bytes());
        hex.truncate(TOKEN_MAC_HEX);
        hex
    }

    pub fn token(&self, conversation: ConversationId, number: u32) -> String {
        let named = format!(
            "{}-{number}",
            conversation.ulid().to_string().to_ascii_lowercase()
        );
        let mac = self.mac(&named);
        format!("{named}.{mac}")
    }

    /// The survey a token names, if we signed it.
    pub fn verify(&self, token: &str) -> Option<(ConversationId, u32)> {
        let (named, mac) = token.split_once('.')?;
        let expected = self.mac(&named.to_ascii_lowercase());
        let ok: bool =
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), mac.to_ascii_lowercase().as_bytes())
                .into();
        if !ok || expected.is_empty() {
            return None;
        }
        let (ulid, number) = named.split_once('-')?;
        let number: u32 = number.parse().ok()?;
        let id = format!("{}_{}", ConversationId::PREFIX, ulid.to_ascii_lowercase())
            .parse()
            .ok()?;
        Some((id, number))
    }
}

/// The question, as each channel asks it.
pub struct SurveyWords {
    pub question: &'static str,
    pub sms: &'static str,
    pub email_subject: &'static str,
    pub email_intro: &'static str,
    pub labels: [&'static str; 5],
    pub thanks: &'static str,
    pub already: &'static str,
    pub closed: &'static str,
    pub nps_question: &'static str,
    pub comment: &'static str,
    pub send: &'static str,
}

const ENGLISH: SurveyWords = SurveyWords {
    question: "How did we do? Rate the help you got:",
    sms: "How did we do? Reply with a number from 1 (poor) to 5 (great).",
    email_subject: "How did we do?",
    email_intro: "Your request is resolved. How did we do? Choose a rating:",
    labels: ["1 Poor", "2 Fair", "3 Good", "4 Very good", "5 Great"],
    thanks: "Thank you for your rating!",
    already: "You rated this already. Thank you!",
    closed: "This survey is closed.",
    nps_question: "How likely are you to recommend us to a friend? (0–10)",
    comment: "Anything you would like to add? (optional)",
    send: "Send",
};

const PERSIAN: SurveyWords = SurveyWords {
    question: "کار ما چطور بود؟ به پاسخی که گرفتید امتیاز دهید:",
    sms: "کار ما چطور بود؟ عددی از ۱ (ضعیف) تا ۵ (عالی) بفرستید.",
    email_subject: "کار ما چطور بود؟",
    email_intro: "درخواست شما پاسخ گرفت. کار ما چطور بود؟ امتیازی برگزینید:",
    labels: ["۱ ضعیف", "۲ متوسط", "۳ خوب", "۴ خیلی خوب", "۵ عالی"],
    thanks: "از امتیاز شما سپاسگزاریم!",
    already: "پیش‌تر امتیاز داده‌اید. سپاس!",
    closed: "این نظرسنجی بسته شده است.",
    nps_question: "چقدر احتمال دارد ما را به دوستی پیشنهاد کنید؟ (۰ تا ۱۰)",
    comment: "چیزی می‌خواهید بیفزایید؟ (اختیاری)",
    send: "بفرست",
};

/// The survey's words in `language` (`fa`, else English).
pub fn survey_words(language: &str) -> &'static SurveyWords {
    if language == "fa" { &PERSIAN } else { &ENGLISH }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_rating_answers_and_anything_more_is_a_message() {
        assert_eq!(rating_in_text("4"), Some(4));
        assert_eq!(rating_in_text(" 5.\n"), Some(5));
        assert_eq!(rating_in_text("۳"), Some(3));
        assert_eq!(rating_in_text("٢!"), Some(2));
        for text in ["4 boxes please", "0", "6", "45", "", "four", "4/5"] {
            assert_eq!(rating_in_text(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_token_names_its_survey_and_only_a_signed_one_does() {
        let tokens = SurveyTokens::new(b"key one");
        let id = ConversationId::new();
        let token = tokens.token(id, 3);
        assert_eq!(tokens.verify(&token), Some((id, 3)));
        assert_eq!(tokens.verify(&token.to_ascii_uppercase()), Some((id, 3)));
        assert_eq!(SurveyTokens::new(b"key two").verify(&token), None);
        let forged = token.replacen("-3.", "-4.", 1);
        assert_eq!(tokens.verify(&forged), None);
        assert_eq!(tokens.verify("nothing"), None);
        // A Telegram button's data: `csat:<token>:<rating>` within 64 bytes.
        let big = tokens.token(id, u32::MAX);
        assert!(format!("csat:{big}:5").len() <= 64, "{big}");
    }

    #[test]
    fn an_answer_is_checked_and_its_comment_trimmed() {
        let at = Utc::now();
        assert!(SurveyAnswer::new(0, None, None, at).is_err());
        assert!(SurveyAnswer::new(6, None, None, at).is_err());
        assert!(SurveyAnswer::new(3, Some(11), None, at).is_err());
        let answer = SurveyAnswer::new(5, Some(10), Some("  "), at).unwrap();
        assert_eq!(answer.comment, None);
        let long = "x".repeat(MAX_COMMENT_CHARS + 10);
        let answer = SurveyAnswer::new(1, None, Some(&long), at).unwrap();
        assert_eq!(answer.comment.unwrap().chars().count(), MAX_COMMENT_CHARS);
    }

    #[test]
    fn a_team_switched_off_is_not_surveyed_and_nothing_is_when_off() {
        let off = TeamId::new();
        let settings = SurveySettings {
            teams_off: vec![off, off],
            ..SurveySettings::default()
        }
        .validated()
        .unwrap();
        assert_eq!(settings.teams_off, vec![off]);
        assert!(settings.surveys(None));
        assert!(settings.surveys(Some(TeamId::new())));
        assert!(!settings.surveys(Some(off)));
        let disabled = SurveySettings {
            enabled: false,
            ..SurveySettings::default()
        };
        assert!(!disabled.surveys(None));
        let too_quiet = SurveySettings {
            quiet_days: MAX_QUIET_DAYS + 1,
            ..SurveySettings::default()
        };
        assert!(too_quiet.validated().is_err());
    }

    #[test]
    fn a_survey_takes_one_answer_within_its_window() {
        let sent = Utc::now();
        let mut survey = Survey {
            conversation_id: ConversationId::new(),
            contact_id: ContactId::new(),
            number: 1,
            channel: Channel::Telegram,
            resolved_at: sent,
            sent_at: sent,
            team_id: None,
            agent_id: None,
            to: None,
            waits_on: None,
            answer: None,
            version: 1,
        };
        assert!(survey.open_at(sent + TimeDelta::days(6)));
        assert!(!survey.open_at(sent + ANSWER_WINDOW));
        survey.answer = Some(SurveyAnswer::new(4, None, None, sent).unwrap());
        assert!(!survey.open_at(sent));
    }
}
