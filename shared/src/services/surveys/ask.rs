//! The survey's question as each channel asks it. Pure.

use crate::model::{Channel, RATINGS, Survey, SurveyTokens, survey_words};
use crate::ports::Choice;

/// Where the survey pages are served (an email's links start with it) and the
/// language the survey is asked in: the customer pages'.
#[derive(Clone, Debug, Default)]
pub struct SurveyPages {
    /// `https://support.example.com`; empty: unknown, and no survey goes by email.
    pub base_url: String,
    pub language: String,
}

/// What the sender needs to write a survey: the key that signs its answers, where the
/// survey pages are served, and their language.
#[derive(Clone, Debug)]
pub struct SurveyLinks {
    pub tokens: SurveyTokens,
    /// `https://support.example.com`: the email's links start with it.
    pub base_url: String,
    pub language: String,
}

impl SurveyLinks {
    /// The page that takes an answer to `survey`, with `rating` chosen.
    pub fn page(&self, survey: &Survey, rating: Option<u8>) -> String {
        let token = self.tokens.token(survey.conversation_id, survey.number);
        let base = self.base_url.trim_end_matches('/');
        match rating {
            Some(r) => format!("{base}/s/{token}?rating={r}"),
            None => format!("{base}/s/{token}"),
        }
    }
}

/// The prefix of a Telegram button's data that answers a survey: `csat:<token>:<rating>`.
pub const BUTTON_PREFIX: &str = "csat:";

/// The text of the survey on its channel, and the buttons it offers there.
pub fn survey_message(links: &SurveyLinks, survey: &Survey) -> (String, Vec<Choice>) {
    let words = survey_words(&links.language);
    match survey.channel {
        Channel::Telegram => {
            let token = links.tokens.token(survey.conversation_id, survey.number);
            let choices = RATINGS
                .zip(words.labels)
                .map(|(rating, label)| Choice {
                    label: label.to_owned(),
                    data: format!("{BUTTON_PREFIX}{token}:{rating}"),
                })
                .collect();
            (words.question.to_owned(), choices)
        }
        Channel::Sms | Channel::Voice => (words.sms.to_owned(), Vec::new()),
        Channel::Email => {
            let mut text = format!("{}\n\n", words.email_intro);
            let mut choices = Vec::new();
            for (rating, label) in RATINGS.zip(words.labels) {
                let page = links.page(survey, Some(rating));
                text.push_str(&format!("{label}: {page}\n"));
                choices.push(Choice {
                    label: label.to_owned(),
                    data: page,
                });
            }
            (text, choices)
        }
        Channel::Web => (words.question.to_owned(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContactId, ConversationId};
    use chrono::Utc;

    fn survey(channel: Channel) -> Survey {
        Survey {
            conversation_id: ConversationId::new(),
            contact_id: ContactId::new(),
            number: 2,
            channel,
            resolved_at: Utc::now(),
            sent_at: Utc::now(),
            team_id: None,
            agent_id: None,
            to: None,
            waits_on: None,
            answer: None,
            version: 0,
        }
    }

    fn links() -> SurveyLinks {
        SurveyLinks {
            tokens: SurveyTokens::new(b"k"),
            base_url: "https://help.example.com/".into(),
            language: "en".into(),
        }
    }

    #[test]
    fn telegram_offers_five_buttons_whose_data_fits_and_names_the_survey() {
        let s = survey(Channel::Telegram);
        let (text, choices) = survey_message(&links(), &s);
        assert!(text.contains("How did we do"));
        assert_eq!(choices.len(), 5);
        for (n, choice) in choices.iter().enumerate() {
            assert!(choice.data.len() <= 64, "{}", choice.data);
            let rest = choice.data.strip_prefix(BUTTON_PREFIX).unwrap();
            let (token, rating) = rest.rsplit_once(':').unwrap();
            assert_eq!(rating, (n + 1).to_string());
            assert_eq!(links().tokens.verify(token), Some((s.conversation_id, 2)));
        }
    }

    #[test]
    fn an_email_carries_five_links_and_an_sms_says_how_to_answer() {
        let s = survey(Channel::Email);
        let (text, choices) = survey_message(&links(), &s);
        let token = links().tokens.token(s.conversation_id, 2);
        for rating in 1..=5 {
            let link = format!("https://help.example.com/s/{token}?rating={rating}");
            assert!(text.contains(&link), "{text}");
            assert_eq!(choices[rating - 1].data, link);
        }
        let (sms, none) = survey_message(&links(), &survey(Channel::Sms));
        assert!(sms.contains("1 (poor) to 5 (great)"));
        assert!(none.is_empty());
    }
}
