//! Customer satisfaction surveys: the keeper asks when a conversation is resolved, the
//! sender delivers the question on the customer's channel, and each way back (a
//! Telegram button, a bare SMS rating, an email link's page, the customer page) ends in
//! [`Surveys::answer`].

mod ask;
mod keeper;

pub use ask::{BUTTON_PREFIX, SurveyLinks, survey_message};
pub use keeper::SurveyKeeper;

use crate::model::SurveyTokens;
use crate::model::{
    Answered, ConversationId, ConversationStatus, Event, EventKind, Survey, SurveyAnswer,
    SurveySettings,
};
use crate::ports::{ConversationStore, PortError, PortResult, SurveyStore};
use std::sync::Arc;

/// The installation's survey key, read from the store the first time it is needed:
/// the sender that signs a token and the router or page that checks it share it.
#[derive(Clone)]
pub struct SurveyKey {
    store: Arc<dyn SurveyStore>,
    tokens: Arc<tokio::sync::OnceCell<SurveyTokens>>,
}

impl SurveyKey {
    pub fn new(store: Arc<dyn SurveyStore>) -> Self {
        Self {
            store,
            tokens: Arc::default(),
        }
    }

    pub async fn tokens(&self) -> PortResult<SurveyTokens> {
        self.tokens
            .get_or_try_init(|| async {
                let initial = crate::services::directory::new_secret("").0;
                let key = self.store.survey_key_or_init(initial).await?;
                Ok(SurveyTokens::new(key.as_bytes()))
            })
            .await
            .cloned()
    }
}

/// Tries at recording an answer while another is recorded for the same survey.
const TRIES: usize = 3;

#[derive(Clone)]
pub struct Surveys {
    pub store: Arc<dyn SurveyStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub key: SurveyKey,
}

impl Surveys {
    pub async fn settings(&self) -> PortResult<SurveySettings> {
        self.store.survey_settings().await
    }

    pub async fn save_settings(&self, settings: &SurveySettings) -> PortResult<()> {
        self.store.save_survey_settings(settings).await
    }

    /// The survey a token names, if we signed it.
    pub async fn verify(&self, token: &str) -> PortResult<Option<(ConversationId, u32)>> {
        Ok(self.key.tokens().await?.verify(token))
    }

    /// Records the answer to survey `number` of the conversation, with its `csat_rated`
    /// event: the first answer stands.
    pub async fn answer(
        &self,
        id: ConversationId,
        number: u32,
        answer: SurveyAnswer,
    ) -> PortResult<Answered> {
        for _ in 0..TRIES {
            let Some(survey) = self.store.survey(id).await? else {
                return Ok(Answered::Closed);
            };
            if survey.number != number {
                return Ok(Answered::Closed);
            }
            if survey.answer.is_some() {
                return Ok(Answered::Already);
            }
            if !survey.open_at(answer.answered_at) {
                return Ok(Answered::Closed);
            }
            let event = Event::new(
                id,
                EventKind::CsatRated {
                    number,
                    rating: answer.rating,
                    nps: answer.nps,
                    comment: answer.comment.clone(),
                },
                None,
                answer.answered_at,
            );
            let answered = Survey {
                answer: Some(answer.clone()),
                ..survey
            };
            match self.store.answer_survey(&answered, &event).await {
                Ok(_) => {
                    tracing::info!(conversation_id = %id, number, rating = answer.rating, "survey answered");
                    return Ok(Answered::Recorded);
                }
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Unavailable(format!(
            "the survey of conversation {id} kept changing while it was answered"
        )))
    }

    /// The survey a bare rating from this number answers: the latest one sent to it by
    /// SMS, still in its window, about the resolution its conversation still stands at
    /// (once the customer writes again, a number is a message).
    pub async fn waiting_for(&self, identity_key: &str) -> PortResult<Option<Survey>> {
        let Some(id) = self.store.survey_waiting(identity_key).await? else {
            return Ok(None);
        };
        let Some(survey) = self.store.survey(id).await? else {
            return Ok(None);
        };
        if survey.waits_on.as_deref() != Some(identity_key)
            || chrono::Utc::now() >= survey.sent_at + crate::model::ANSWER_WINDOW
        {
            return Ok(None);
        }
        let still_resolved = self.conversations.conversation(id).await?.is_some_and(|c| {
            c.status == ConversationStatus::Resolved && c.resolved_at == Some(survey.resolved_at)
        });
        Ok(still_resolved.then_some(survey))
    }

    /// The survey a customer page offers: the conversation's latest, when it still
    /// takes an answer.
    pub async fn open_survey(&self, id: ConversationId) -> PortResult<Option<Survey>> {
        let survey = self.store.survey(id).await?;
        Ok(survey.filter(|s| s.open_at(chrono::Utc::now())))
    }
}
