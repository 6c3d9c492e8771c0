//! Articles as JSON rows, each with its revision in a column of its own (a save names
//! the revision it follows), and every revision kept beside them.

use super::Embedded;
use super::db::sql;
use super::rows::encode;
use crate::model::{Article, ArticleId};
use crate::ports::{KnowledgeStore, PortError, PortResult};
use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};

fn decode(body: &str) -> rusqlite::Result<Article> {
    serde_json::from_str(body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[async_trait]
impl KnowledgeStore for Embedded {
    async fn articles(&self) -> PortResult<Vec<Article>> {
        self.db
            .read(|conn| {
                let mut statement = conn
                    .prepare_cached("SELECT body FROM articles ORDER BY id")
                    .map_err(sql)?;
                let rows = statement
                    .query_map([], |row| decode(&row.get::<_, String>(0)?))
                    .map_err(sql)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
            })
            .await
    }

    async fn article(&self, id: ArticleId) -> PortResult<Option<Article>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached("SELECT body FROM articles WHERE id = ?1")
                    .and_then(|mut s| {
                        s.query_row([id.to_string()], |row| decode(&row.get::<_, String>(0)?))
                            .optional()
                    })
                    .map_err(sql)
            })
            .await
    }

    async fn save_article(&self, article: &Article) -> PortResult<()> {
        let id = article.id.to_string();
        let revision = article.revision;
        let body = encode(article)?;
        self.db
            .write(move |conn| {
                let kept: Option<u32> = conn
                    .prepare_cached("SELECT revision FROM articles WHERE id = ?1")
                    .and_then(|mut s| s.query_row([&id], |row| row.get(0)).optional())
                    .map_err(sql)?;
                if kept.unwrap_or(0) + 1 != revision {
                    return Err(PortError::Conflict(format!(
                        "the article is at revision {}, not {}",
                        kept.unwrap_or(0),
                        revision.saturating_sub(1)
                    )));
                }
                conn.prepare_cached(
                    "INSERT INTO articles (id, revision, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, body = excluded.body",
                )
                .and_then(|mut s| s.execute(params![id, revision, body]))
                .map_err(sql)?;
                conn.prepare_cached(
                    "INSERT INTO article_revisions (article_id, revision, body) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute(params![id, revision, body]))
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn delete_article(&self, id: ArticleId) -> PortResult<bool> {
        let id = id.to_string();
        self.db
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM article_revisions WHERE article_id = ?1")
                    .and_then(|mut s| s.execute([&id]))
                    .map_err(sql)?;
                conn.prepare_cached("DELETE FROM articles WHERE id = ?1")
                    .and_then(|mut s| s.execute([&id]))
                    .map(|n| n > 0)
                    .map_err(sql)
            })
            .await
    }

    async fn article_revisions(&self, id: ArticleId) -> PortResult<Vec<Article>> {
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT body FROM article_revisions WHERE article_id = ?1 ORDER BY revision",
                    )
                    .map_err(sql)?;
                let rows = statement
                    .query_map([id.to_string()], |row| decode(&row.get::<_, String>(0)?))
                    .map_err(sql)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
            })
            .await
    }

    async fn count_knowledge(&self, day: NaiveDate, keys: &[String]) -> PortResult<()> {
        let day = day.to_string();
        let keys = keys.to_vec();
        self.db
            .write(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "INSERT INTO knowledge_counts (day, key, n) VALUES (?1, ?2, 1)
                         ON CONFLICT (day, key) DO UPDATE SET n = n + 1",
                    )
                    .map_err(sql)?;
                for key in &keys {
                    statement.execute(params![day, key]).map_err(sql)?;
                }
                Ok(())
            })
            .await
    }

    async fn knowledge_counts(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> PortResult<Vec<(NaiveDate, String, i64)>> {
        let (from, until) = (from.to_string(), until.to_string());
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT day, key, n FROM knowledge_counts WHERE day >= ?1 AND day <= ?2
                         ORDER BY day, key",
                    )
                    .map_err(sql)?;
                let rows = statement
                    .query_map([from, until], |row| {
                        let day: String = row.get(0)?;
                        let day = day.parse::<NaiveDate>().map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(
                                0,
                                rusqlite::types::Type::Text,
                                Box::new(e),
                            )
                        })?;
                        Ok((day, row.get(1)?, row.get(2)?))
                    })
                    .map_err(sql)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
            })
            .await
    }
}
