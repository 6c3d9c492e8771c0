//! Surveys: the settings as one JSON row, each conversation's latest survey as a JSON
//! row with its version, when each contact was last asked, and the numbers waiting.

use super::Embedded;
use super::db::sql;
use super::rows::{self, decode, encode, millis};
use crate::model::{ConversationId, Event, Survey, SurveySettings};
use crate::ports::{PortError, PortResult, SurveyStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// The setting that keeps the survey key.
const SURVEY_KEY: &str = "survey_token_secret";

fn version(v: u64) -> PortResult<i64> {
    i64::try_from(v).map_err(|_| PortError::Invalid("a version past i64".into()))
}

#[async_trait]
impl SurveyStore for Embedded {
    async fn survey_settings(&self) -> PortResult<SurveySettings> {
        let body: Option<String> = self
            .db
            .read(|conn| {
                conn.prepare_cached("SELECT body FROM survey_settings WHERE id = 1")
                    .and_then(|mut s| s.query_row([], |row| row.get(0)).optional())
                    .map_err(sql)
            })
            .await?;
        body.map_or_else(|| Ok(SurveySettings::default()), |b| decode(&b))
    }

    async fn save_survey_settings(&self, settings: &SurveySettings) -> PortResult<()> {
        let body = encode(settings)?;
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO survey_settings (id, body) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                )
                .and_then(|mut s| s.execute([body]))
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn survey(&self, conversation: ConversationId) -> PortResult<Option<Survey>> {
        let row: Option<(String, i64)> = self
            .db
            .read(move |conn| {
                conn.prepare_cached("SELECT body, version FROM surveys WHERE conversation_id = ?1")
                    .and_then(|mut s| {
                        s.query_row([conversation.to_string()], |row| {
                            Ok((row.get(0)?, row.get(1)?))
                        })
                        .optional()
                    })
                    .map_err(sql)
            })
            .await?;
        row.map(|(body, v)| {
            let survey: Survey = decode(&body)?;
            Ok(Survey {
                version: v as u64,
                ..survey
            })
        })
        .transpose()
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
        let body = encode(&saved)?;
        let previous = previous.map(version).transpose()?;
        let event = event.clone();
        self.db
            .write(move |conn| {
                let conversation = saved.conversation_id.to_string();
                let contact = saved.contact_id.to_string();
                let last: Option<i64> = conn
                    .prepare_cached("SELECT surveyed_at FROM survey_marks WHERE contact_id = ?1")
                    .and_then(|mut s| s.query_row([&contact], |row| row.get(0)).optional())
                    .map_err(sql)?;
                if last.is_some_and(|at| at > millis(quiet_since)) {
                    return Ok(false);
                }
                let changed = match previous {
                    None => conn
                        .prepare_cached(
                            "INSERT INTO surveys (conversation_id, body, version) VALUES (?1, ?2, 1)
                             ON CONFLICT (conversation_id) DO NOTHING",
                        )
                        .and_then(|mut s| s.execute(params![conversation, body])),
                    Some(read) => conn
                        .prepare_cached(
                            "UPDATE surveys SET body = ?2, version = version + 1
                             WHERE conversation_id = ?1 AND version = ?3",
                        )
                        .and_then(|mut s| s.execute(params![conversation, body, read])),
                }
                .map_err(sql)?;
                if changed == 0 {
                    return Ok(false);
                }
                conn.prepare_cached(
                    "INSERT INTO survey_marks (contact_id, surveyed_at) VALUES (?1, ?2)
                     ON CONFLICT (contact_id) DO UPDATE SET surveyed_at = excluded.surveyed_at",
                )
                .and_then(|mut s| s.execute(params![contact, millis(saved.sent_at)]))
                .map_err(sql)?;
                if let Some(key) = &saved.waits_on {
                    conn.prepare_cached(
                        "INSERT INTO survey_waits (identity_key, conversation_id) VALUES (?1, ?2)
                         ON CONFLICT (identity_key) DO UPDATE SET conversation_id = excluded.conversation_id",
                    )
                    .and_then(|mut s| s.execute(params![key, conversation]))
                    .map_err(sql)?;
                }
                rows::insert_event(conn, &event)?;
                Ok(true)
            })
            .await
    }

    async fn answer_survey(&self, survey: &Survey, event: &Event) -> PortResult<Survey> {
        let saved = Survey {
            version: survey.version + 1,
            ..survey.clone()
        };
        let body = encode(&saved)?;
        let read = version(survey.version)?;
        let event = event.clone();
        self.db
            .write(move |conn| {
                let conversation = saved.conversation_id.to_string();
                let changed = conn
                    .prepare_cached(
                        "UPDATE surveys SET body = ?2, version = version + 1
                         WHERE conversation_id = ?1 AND version = ?3",
                    )
                    .and_then(|mut s| s.execute(params![conversation, body, read]))
                    .map_err(sql)?;
                if changed == 0 {
                    return Err(PortError::Conflict(
                        "the survey changed since it was read".into(),
                    ));
                }
                rows::insert_event(conn, &event)?;
                Ok(saved)
            })
            .await
    }

    async fn survey_waiting(&self, identity_key: &str) -> PortResult<Option<ConversationId>> {
        let key = identity_key.to_owned();
        let id: Option<String> = self
            .db
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT conversation_id FROM survey_waits WHERE identity_key = ?1",
                )
                .and_then(|mut s| s.query_row([key], |row| row.get(0)).optional())
                .map_err(sql)
            })
            .await?;
        id.map(|id| {
            id.parse()
                .map_err(|_| PortError::Internal(format!("an unreadable conversation id: {id}")))
        })
        .transpose()
    }

    async fn survey_key(&self, initial: Option<String>) -> PortResult<Option<String>> {
        match initial {
            Some(initial) => crate::ports::SettingStore::setting_or_init(self, SURVEY_KEY, initial)
                .await
                .map(Some),
            None => {
                self.db
                    .read(|conn| {
                        conn.prepare_cached("SELECT value FROM settings WHERE name = ?1")
                            .and_then(|mut s| s.query_row([SURVEY_KEY], |r| r.get(0)).optional())
                            .map_err(sql)
                    })
                    .await
            }
        }
    }
}
