//! Help-center articles: one partition of them all (`pk=ARTICLES`, `sk=<id>`, the article
//! as JSON in `body` and its revision in `revision`), read whole by whatever builds the
//! search index; each revision kept in the article's own partition (`pk=AR#<id>`,
//! `sk=REV#<revision>`). A save writes both in one transaction, on the condition that
//! the kept revision is the one it follows. The day's counters are one partition per
//! day (`pk=KBCOUNT#<yyyy-mm-dd>`, `sk=<counter>`, `n` added to), gone by the table's TTL
//! 400 days after it.

use super::routing::put_with;
use super::sla::{from_json, json_item};
use super::{DynamoStore, errors, items, keys, n, s};
use crate::model::{Article, ArticleId};
use crate::ports::{KnowledgeStore, PortResult};
use async_trait::async_trait;
use chrono::NaiveDate;

/// How long a day's counters are kept after the day.
const COUNTS_KEPT_SECS: i64 = 400 * 24 * 3600;

fn revision_key(revision: u32) -> String {
    format!("REV#{revision:010}")
}

#[async_trait]
impl KnowledgeStore for DynamoStore {
    async fn articles(&self) -> PortResult<Vec<Article>> {
        self.partition(keys::ARTICLES)
            .await?
            .iter()
            .map(from_json)
            .collect()
    }

    async fn article(&self, id: ArticleId) -> PortResult<Option<Article>> {
        self.get(keys::ARTICLES, &id.to_string())
            .await?
            .map(|item| from_json(&item))
            .transpose()
    }

    async fn save_article(&self, article: &Article) -> PortResult<()> {
        let mut item = json_item(keys::ARTICLES, &article.id.to_string(), article)?;
        item.insert("revision".into(), n(article.revision));
        let (condition, previous) = match article.revision {
            1 => ("attribute_not_exists(pk)", None),
            r => ("revision = :previous", Some(r - 1)),
        };
        let values: Vec<_> = previous.map(|p| (":previous", n(p))).into_iter().collect();
        let own = format!("{}{}", keys::ARTICLE, article.id);
        self.transact(vec![
            put_with(self, item, condition, &values)?,
            put_with(
                self,
                json_item(&own, &revision_key(article.revision), article)?,
                "attribute_not_exists(pk)",
                &[],
            )?,
        ])
        .await
    }

    async fn delete_article(&self, id: ArticleId) -> PortResult<bool> {
        let own = format!("{}{id}", keys::ARTICLE);
        for revision in self.partition(&own).await? {
            if let Some(sk) = items::string(&revision, "sk") {
                self.delete_item(&own, &sk).await?;
            }
        }
        self.delete_item(keys::ARTICLES, &id.to_string()).await
    }

    async fn article_revisions(&self, id: ArticleId) -> PortResult<Vec<Article>> {
        self.partition(&format!("{}{id}", keys::ARTICLE))
            .await?
            .iter()
            .map(from_json)
            .collect()
    }

    async fn count_knowledge(&self, day: NaiveDate, keys: &[String]) -> PortResult<()> {
        let pk = format!("{}{day}", keys::KNOWLEDGE_COUNTS);
        // Gone (the table's TTL) 400 days after the day: a year's report and some.
        let expires = day
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp())
            + COUNTS_KEPT_SECS;
        for key in keys {
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(&pk))
                .key("sk", s(key))
                .update_expression("ADD n :one SET expires_at = :expires")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":expires", n(expires))
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:UpdateItem", e))?;
        }
        Ok(())
    }

    async fn knowledge_counts(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> PortResult<Vec<(NaiveDate, String, i64)>> {
        let mut counts = Vec::new();
        for day in from.iter_days().take_while(|d| *d <= until).take(366) {
            let pk = format!("{}{day}", keys::KNOWLEDGE_COUNTS);
            for item in self.partition(&pk).await? {
                if let (Some(key), Some(count)) =
                    (items::string(&item, "sk"), items::number(&item, "n"))
                {
                    counts.push((day, key, count as i64));
                }
            }
        }
        Ok(counts)
    }
}
