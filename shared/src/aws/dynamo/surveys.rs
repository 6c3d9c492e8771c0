//! Surveys: the settings (`pk=SURVEYS`), each conversation's latest survey beside it
//! (`pk=CV#<id>`, `sk=#SURVEY`, JSON in `body`, version `v`), when each contact was last
//! asked (`pk=CT#<id>`, `sk=#SURVEYED`, `at` in ms), and the survey a number's bare
//! rating answers (`pk=SURVEYWAIT#<identity key>`, gone by TTL once it can no longer
//! be answered), and the key survey tokens are signed with (`pk=SURVEYKEY`, apart from
//! the other settings so that the public survey page may read it and no other). Sending and answering each write their event in the same transaction.

use super::routing::{build_error, put, put_with};
use super::sla::{from_json, json_item};
use super::{DynamoStore, Item, items, keys, n, s};
use crate::model::{ANSWER_WINDOW, ConversationId, Event, Survey, SurveySettings, TimelineItem};
use crate::ports::{PortError, PortResult, SurveyStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};

fn survey_item(survey: &Survey) -> PortResult<Item> {
    let mut item = json_item(
        &keys::conversation(survey.conversation_id),
        keys::SURVEY,
        survey,
    )?;
    item.insert("v".into(), n(survey.version));
    Ok(item)
}

impl DynamoStore {
    fn event_put(&self, event: &Event) -> PortResult<TransactWriteItem> {
        put(
            self,
            items::timeline(event.conversation_id, &TimelineItem::Event(event.clone()))?,
            None,
        )
    }
}

#[async_trait]
impl SurveyStore for DynamoStore {
    async fn survey_settings(&self) -> PortResult<SurveySettings> {
        match self.get(keys::SURVEY_SETTINGS, keys::META).await? {
            Some(item) => from_json(&item),
            None => Ok(SurveySettings::default()),
        }
    }

    async fn save_survey_settings(&self, settings: &SurveySettings) -> PortResult<()> {
        self.put(
            json_item(keys::SURVEY_SETTINGS, keys::META, settings)?,
            None,
        )
        .await
    }

    async fn survey(&self, conversation: ConversationId) -> PortResult<Option<Survey>> {
        let Some(item) = self
            .get(&keys::conversation(conversation), keys::SURVEY)
            .await?
        else {
            return Ok(None);
        };
        let survey: Survey = from_json(&item)?;
        let version = item
            .get("v")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(survey.version);
        Ok(Some(Survey { version, ..survey }))
    }

    async fn open_survey(
        &self,
        survey: &Survey,
        previous: Option<u64>,
        quiet_since: DateTime<Utc>,
        event: &Event,
    ) -> PortResult<bool> {
        let saved = Survey {
            version: previous.unwrap_or(0) + 1,
            ..survey.clone()
        };
        let record = match previous {
            None => put(self, survey_item(&saved)?, Some("attribute_not_exists(pk)"))?,
            Some(read) => put_with(
                self,
                survey_item(&saved)?,
                "v = :read",
                &[(":read", n(read))],
            )?,
        };
        let mark = Item::from([
            ("pk".to_owned(), s(keys::contact(saved.contact_id))),
            ("sk".to_owned(), s(keys::SURVEYED)),
            ("at".to_owned(), n(saved.sent_at.timestamp_millis())),
        ]);
        let mark = Put::builder()
            .table_name(&self.table)
            .set_item(Some(mark))
            .condition_expression("attribute_not_exists(pk) OR #at <= :since")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":since", n(quiet_since.timestamp_millis()))
            .build()
            .map_err(build_error)?;
        let mark = TransactWriteItem::builder().put(mark).build();
        let mut writes = vec![record, mark, self.event_put(event)?];
        if let Some(key) = &saved.waits_on {
            let wait = Item::from([
                ("pk".to_owned(), s(keys::survey_wait(key))),
                ("sk".to_owned(), s(keys::META)),
                ("cv".to_owned(), s(saved.conversation_id.to_string())),
                (
                    "expires_at".to_owned(),
                    n((saved.sent_at + ANSWER_WINDOW).timestamp()),
                ),
            ]);
            writes.push(put(self, wait, None)?);
        }
        match self.transact(writes).await {
            Ok(()) => Ok(true),
            // A cancelled transaction: a condition failed (another process opened it,
            // or the contact was asked lately), or DynamoDB refused it for a moment.
            Err(PortError::Conflict(reason)) => {
                let stored = self.survey(saved.conversation_id).await?.map(|s| s.version);
                let asked = self
                    .get(&keys::contact(saved.contact_id), keys::SURVEYED)
                    .await?
                    .and_then(|item| items::number(&item, "at"))
                    .and_then(|ms| i64::try_from(ms).ok())
                    .is_some_and(|ms| ms > quiet_since.timestamp_millis());
                if stored != previous || asked {
                    Ok(false)
                } else {
                    Err(PortError::Unavailable(format!(
                        "the survey was not opened, and may be: {reason}"
                    )))
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn answer_survey(&self, survey: &Survey, event: &Event) -> PortResult<Survey> {
        let saved = Survey {
            version: survey.version + 1,
            ..survey.clone()
        };
        let writes = vec![
            put_with(
                self,
                survey_item(&saved)?,
                "v = :read",
                &[(":read", n(survey.version))],
            )?,
            self.event_put(event)?,
        ];
        self.transact(writes).await?;
        Ok(saved)
    }

    async fn survey_waiting(&self, identity_key: &str) -> PortResult<Option<ConversationId>> {
        let Some(item) = self
            .get(&keys::survey_wait(identity_key), keys::META)
            .await?
        else {
            return Ok(None);
        };
        let now = Utc::now().timestamp();
        let expired = items::number(&item, "expires_at")
            .is_some_and(|at| i64::try_from(at).map_or(true, |at| at <= now));
        if expired {
            return Ok(None);
        }
        items::string(&item, "cv")
            .map(|id| {
                id.parse().map_err(|_| {
                    PortError::Internal(format!("an unreadable conversation id: {id}"))
                })
            })
            .transpose()
    }

    async fn survey_key(&self, initial: Option<String>) -> PortResult<Option<String>> {
        self.value_or_init(keys::SURVEY_KEY, initial).await
    }
}
