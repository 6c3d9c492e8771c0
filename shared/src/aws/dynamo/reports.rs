//! Reporting: a conversation's track beside it (`pk=CV#<id>`, `sk=#REPORT`, JSON in
//! `body`, version `v`); the counters of each dimension in a partition of their own
//! (`pk=RPT#<dimension>`, and `RPTD#` for the same per UTC day), one item per half hour
//! (or day) and metric (`sk=<bucket>#<metric>`)
//! with the count `c`, the seconds `s` and each histogram bin's count `h<bin>`, all
//! added to with `ADD` in the track's transaction. A report reads one dimension's range
//! of half hours with one Query (paged), never a Scan. Every tag counted is kept in one
//! string set (`pk=RPTTAGS`, `sk=#META`, `tags`), added to in the same transaction.

use super::sla::{from_json, json_item};
use super::{DynamoStore, errors, keys, n, s};
use crate::model::{ConversationId, Count, Dimension, Grain, Metric, ReportTrack, Tally};
use crate::ports::{MAX_COUNTS, PortError, PortResult, ReportStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use std::collections::{BTreeMap, HashMap};

/// The counters one record adds to, one item each: (dimension, bucket, metric) →
/// (count, seconds, bins).
type Additions = BTreeMap<(String, Grain, i64, Metric), (i64, i64, BTreeMap<u16, i64>)>;

fn additions(counts: &[Count]) -> Additions {
    let mut items = Additions::new();
    for c in counts {
        let key = (c.dimension.as_str().to_owned(), c.grain, c.bucket, c.metric);
        let item = items.entry(key).or_default();
        item.0 += c.count;
        item.1 += c.sum;
        *item.2.entry(c.bin).or_default() += c.count;
    }
    items
}

fn signed(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[async_trait]
impl ReportStore for DynamoStore {
    async fn report_track(&self, id: ConversationId) -> PortResult<Option<ReportTrack>> {
        self.get(&keys::conversation(id), keys::REPORT)
            .await?
            .map(|item| from_json(&item))
            .transpose()
    }

    async fn record(&self, track: &ReportTrack, counts: &[Count]) -> PortResult<ReportTrack> {
        let saved = ReportTrack {
            version: track.version + 1,
            ..track.clone()
        };
        let mut item = json_item(
            &keys::conversation(track.conversation_id),
            keys::REPORT,
            &saved,
        )?;
        item.insert("v".into(), n(saved.version));
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        put = if track.version == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("v = :read")
                .expression_attribute_values(":read", n(track.version))
        };
        let put = put
            .build()
            .map_err(|e| PortError::Internal(format!("building a put: {e}")))?;
        let items = additions(counts);
        if items.len() > MAX_COUNTS {
            return Err(PortError::Invalid(format!(
                "{} counters do not fit one record (at most {MAX_COUNTS})",
                items.len()
            )));
        }
        let mut writes = vec![TransactWriteItem::builder().put(put).build()];
        let tags: std::collections::BTreeSet<String> = counts
            .iter()
            .filter_map(|c| c.dimension.tag_name().map(str::to_owned))
            .collect();
        if !tags.is_empty() {
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(keys::REPORT_TAGS))
                .key("sk", s(keys::META))
                .update_expression("ADD tags :tags")
                .expression_attribute_values(
                    ":tags",
                    AttributeValue::Ss(tags.into_iter().collect()),
                )
                .build()
                .map_err(|e| PortError::Internal(format!("building an update: {e}")))?;
            writes.push(TransactWriteItem::builder().update(update).build());
        }
        for ((dimension, grain, bucket, metric), (count, sum, bins)) in items {
            let mut adds = vec!["c :c".to_owned(), "s :s".to_owned()];
            let mut values =
                HashMap::from([(":c".to_owned(), n(count)), (":s".to_owned(), n(sum))]);
            for (bin, count) in bins {
                adds.push(format!("h{bin} :h{bin}"));
                values.insert(format!(":h{bin}"), n(count));
            }
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(keys::report_counters(&dimension, grain)))
                .key("sk", s(keys::report_counter(bucket, metric.as_str())))
                .update_expression(format!("ADD {}", adds.join(", ")))
                .set_expression_attribute_values(Some(values))
                .build()
                .map_err(|e| PortError::Internal(format!("building an update: {e}")))?;
            writes.push(TransactWriteItem::builder().update(update).build());
        }
        self.transact(writes).await?;
        Ok(saved)
    }

    async fn tallies(
        &self,
        dimension: &Dimension,
        grain: Grain,
        from: i64,
        until: i64,
    ) -> PortResult<BTreeMap<Metric, Tally>> {
        let mut tallies: BTreeMap<Metric, Tally> = BTreeMap::new();
        for (_, metric, item) in self.counters(dimension, grain, from, until).await? {
            let tally = tallies.entry(metric).or_default();
            tally.count += signed(&item, "c");
            tally.sum += signed(&item, "s");
            for (name, value) in &item {
                if let Some(bin) = name.strip_prefix('h').and_then(|b| b.parse::<u16>().ok())
                    && let Ok(count) = value.as_n().map(|c| c.parse::<i64>().unwrap_or(0))
                {
                    *tally.bins.entry(bin).or_default() += count;
                }
            }
        }
        Ok(tallies)
    }

    async fn per_half_hour(
        &self,
        dimension: &Dimension,
        metric: Metric,
        from: i64,
        until: i64,
    ) -> PortResult<Vec<(i64, i64)>> {
        Ok(self
            .counters(dimension, Grain::HalfHour, from, until)
            .await?
            .into_iter()
            .filter(|(_, m, _)| *m == metric)
            .map(|(bucket, _, item)| (bucket, signed(&item, "c")))
            .collect())
    }

    async fn counted_tags(&self) -> PortResult<Vec<String>> {
        let mut tags: Vec<String> = self
            .get(keys::REPORT_TAGS, keys::META)
            .await?
            .and_then(|item| item.get("tags").and_then(|t| t.as_ss().ok()).cloned())
            .unwrap_or_default();
        tags.sort();
        Ok(tags)
    }
}

impl DynamoStore {
    /// The counter items of `dimension` for the half hours in `from..until`, in order:
    /// each with its half hour and metric.
    async fn counters(
        &self,
        dimension: &Dimension,
        grain: Grain,
        from: i64,
        until: i64,
    ) -> PortResult<Vec<(i64, Metric, HashMap<String, AttributeValue>)>> {
        let mut found = Vec::new();
        if until <= from {
            return Ok(found);
        }
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :until")
                .expression_attribute_values(
                    ":pk",
                    s(keys::report_counters(dimension.as_str(), grain)),
                )
                .expression_attribute_values(":from", s(keys::report_counter(from, "")))
                // Before the first key of the half hour `until` starts.
                .expression_attribute_values(":until", s(keys::report_counter(until - 1, "~")))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:Query", e))?;
            for item in out.items.unwrap_or_default() {
                let key = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|sk| sk.split_once('#'))
                    .and_then(|(bucket, metric)| {
                        Some((bucket.parse().ok()?, Metric::parse(metric)?))
                    });
                // A metric a later version dropped is no longer reported.
                if let Some((bucket, metric)) = key {
                    found.push((bucket, metric, item));
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }
}
