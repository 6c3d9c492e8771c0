//! Customer satisfaction surveys: the keeper asks when a conversation is resolved, the
//! sender delivers the question on the customer's channel, and each way back (a
//! Telegram button, a bare SMS rating, an email link's page, the customer page) ends in
//! [`Surveys::answer`].

mod ask;
mod keeper;

pub use ask::{BUTTON_PREFIX, SurveyLinks, SurveyPages, survey_message};
pub use keeper::SurveyKeeper;

use crate::model::SurveyTokens;
use crate::model::{
    Answered, ConversationId, ConversationStatus, Event, EventKind, Survey, SurveyAnswer,
    SurveySettings,
};
use crate::ports::{
    ConversationFilter, ConversationStore, PageRequest, PortError, PortResult, SurveyStore,
};
use std::sync::Arc;

/// The installation's survey key, read from the store the first time it is needed:
/// the sender that signs a token and the router or page that checks it share it.
#[derive(Clone)]
pub struct SurveyKey {
    store: Arc<dyn SurveyStore>,
    tokens: Arc<tokio::sync::OnceCell<SurveyTokens>>,
    /// Makes the key when there is none yet (the processes that sign); else only reads it.
    makes: bool,
}

impl SurveyKey {
    /// The key of a process that signs tokens: made if there is none yet.
    pub fn new(store: Arc<dyn SurveyStore>) -> Self {
        Self {
            store,
            tokens: Arc::default(),
            makes: true,
        }
    }

    /// The key of a process that only checks tokens (the public survey pages).
    pub fn reading(store: Arc<dyn SurveyStore>) -> Self {
        Self {
            makes: false,
            ..Self::new(store)
        }
    }

    /// The tokens, signed and checked with the key; none while no key was made.
    pub async fn tokens(&self) -> PortResult<Option<SurveyTokens>> {
        if let Some(tokens) = self.tokens.get() {
            return Ok(Some(tokens.clone()));
        }
        let initial = self
            .makes
            .then(|| crate::services::directory::new_secret("").0);
        let Some(key) = self.store.survey_key(initial).await? else {
            return Ok(None);
        };
        Ok(Some(
            self.tokens
                .get_or_init(|| async { SurveyTokens::new(key.as_bytes()) })
                .await
                .clone(),
        ))
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
        Ok(self.key.tokens().await?.and_then(|t| t.verify(token)))
    }

    /// Records the answer to survey `number` of the conversation, with its `csat_rated`
    /// event: the first answer stands. `by`: who gave it, where the channel says (a
    /// Telegram user); only the customer it was sent to answers it.
    pub async fn answer(
        &self,
        id: ConversationId,
        number: u32,
        answer: SurveyAnswer,
        by: Option<&crate::model::Identity>,
    ) -> PortResult<Answered> {
        for _ in 0..TRIES {
            let Some(survey) = self.store.survey(id).await? else {
                return Ok(Answered::Closed);
            };
            let someone_else = by.zip(survey.to.as_ref()).is_some_and(|(by, to)| by != to);
            if survey.number != number || someone_else {
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
        if !still_resolved {
            return Ok(None);
        }
        // Nothing newer of theirs is going on (a conversation begun after the reopen
        // window, where "2" may answer an agent's question).
        let newest = self
            .conversations
            .list_conversations(
                &ConversationFilter {
                    contact: Some(survey.contact_id),
                    ..ConversationFilter::default()
                },
                &PageRequest::first(1),
            )
            .await?;
        let latest = newest.items.first().map(|c| c.id);
        Ok((latest == Some(id)).then_some(survey))
    }

    /// The survey a customer page offers: the conversation's latest, when it still
    /// takes an answer.
    pub async fn open_survey(&self, id: ConversationId) -> PortResult<Option<Survey>> {
        let survey = self.store.survey(id).await?;
        Ok(survey.filter(|s| s.open_at(chrono::Utc::now())))
    }
}
