use super::PortResult;
use crate::model::{ConversationId, Event, Survey, SurveySettings};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Customer satisfaction surveys: the installation's settings, each conversation's latest
/// survey, when each contact was last asked, and which survey a phone number's bare
/// rating answers.
#[async_trait]
pub trait SurveyStore: Send + Sync {
    /// The settings an admin saved, else the defaults.
    async fn survey_settings(&self) -> PortResult<SurveySettings>;
    async fn save_survey_settings(&self, settings: &SurveySettings) -> PortResult<()>;

    /// The conversation's latest survey.
    async fn survey(&self, conversation: ConversationId) -> PortResult<Option<Survey>>;

    /// Records `survey` as sent, with its `survey_sent` `event`, in one step: only if
    /// the conversation's latest survey is still `previous` (its stored version; none:
    /// no survey yet) and the contact was not surveyed after `quiet_since`. False when
    /// either check fails (another process sent one, or the contact was asked lately).
    /// A survey that `waits_on` a number is what that number's bare rating answers.
    async fn open_survey(
        &self,
        survey: &Survey,
        previous: Option<u64>,
        quiet_since: DateTime<Utc>,
        event: &Event,
    ) -> PortResult<bool>;

    /// Saves the survey's answer with its `csat_rated` `event`, only if its stored
    /// version is still `survey.version` (else `Conflict`). Returns it with its version
    /// bumped. The number it waits on keeps pointing at it, so a repeated rating finds
    /// it answered.
    async fn answer_survey(&self, survey: &Survey, event: &Event) -> PortResult<Survey>;

    /// The conversation whose latest survey went by SMS to this number (an identity
    /// key) within its answer window.
    async fn survey_waiting(&self, identity_key: &str) -> PortResult<Option<ConversationId>>;

    /// The key survey tokens are signed with, as stored first. With `initial`, the first
    /// caller stores it; without, none until someone has (a process that only checks
    /// tokens: no token was signed before the key was made).
    async fn survey_key(&self, initial: Option<String>) -> PortResult<Option<String>>;
}
