//! The event log kept for readers: the stream's entries (see `stream`), a page per
//! batch the stream function handles, in day partitions ordered by when the page was
//! written: `pk=FEED#<yyyy-mm-dd>`, `sk=<written ms>#<first record's sequence number>`,
//! `entries` the batch's entries as JSON, gone by TTL after [`FEED_RETENTION`].
//!
//! Pages from two stream shards may be written out of time order by a few
//! milliseconds, so readers only read pages older than [`FEED_SETTLE`]: by then every
//! page stamped earlier is readable, and a cursor never passes one still to come.
//! A cursor is `<ms>-<sequence number>-<entries read of that page>`.

use super::stream::{StreamBatch, change_of};
use super::{DynamoStore, Item, items, keys, n, s};
use crate::aws::errors;
use crate::model::Change;
use crate::ports::{EventFeed, MAX_FEED_BATCH, PortError, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeDelta, Utc};

/// How long the log is kept (by the table's TTL).
pub const FEED_RETENTION: TimeDelta = crate::ports::LOG_RETENTION;
/// How old a page is before readers read it.
pub const FEED_SETTLE: TimeDelta = TimeDelta::seconds(1);
/// Entries one page holds at most (far below the item size limit).
const PAGE_ENTRIES: usize = 500;
/// Digits a page's sequence holds: a stream's sequence number (up to 40) and the
/// chunk's digit, with room to spare.
const SEQ_DIGITS: usize = 48;
/// Sorts after every sequence number: a position after everything stamped in its ms.
const END_OF_MS: &str = "z";

/// A position: after `read` entries of the page `(ms, seq)`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Position {
    ms: i64,
    seq: String,
    read: usize,
}

impl Position {
    fn parse(cursor: &str) -> PortResult<Self> {
        let invalid = || PortError::Invalid("not a cursor of this event log".into());
        let mut parts = cursor.split('-');
        let (Some(ms), Some(seq), Some(read), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let ms: i64 = ms.parse().ok().filter(|m| *m >= 0).ok_or_else(invalid)?;
        let seq_ok = seq == END_OF_MS
            || (!seq.is_empty()
                && seq.len() <= SEQ_DIGITS
                && seq.bytes().all(|b| b.is_ascii_digit()));
        if !seq_ok {
            return Err(invalid());
        }
        let read = read.parse().map_err(|_| invalid())?;
        Ok(Self {
            ms,
            seq: seq.to_owned(),
            read,
        })
    }

    fn cursor(&self) -> String {
        format!("{}-{}-{}", self.ms, self.seq, self.read)
    }

    fn sort_key(&self) -> String {
        page_key(self.ms, &self.seq)
    }
}

fn page_key(ms: i64, seq: &str) -> String {
    match seq {
        END_OF_MS => format!("{ms:013}#{END_OF_MS}"),
        digits => format!("{ms:013}#{digits:0>SEQ_DIGITS$}"),
    }
}

/// The page's key back as `(ms, seq)`.
fn page_of(sort_key: &str) -> Option<(i64, String)> {
    let (ms, seq) = sort_key.split_once('#')?;
    let seq = seq.trim_start_matches('0');
    Some((
        ms.parse().ok()?,
        if seq.is_empty() {
            "0".into()
        } else {
            seq.into()
        },
    ))
}

impl DynamoStore {
    /// Keeps the entries a batch of the table's stream records makes (see `stream`);
    /// returns them. A batch of records that make none writes nothing.
    pub async fn append_stream_batch(&self, batch: &StreamBatch) -> PortResult<Vec<Change>> {
        let changes: Vec<Change> = batch.records.iter().filter_map(change_of).collect();
        if let (false, Some(first)) = (changes.is_empty(), batch.records.first()) {
            self.append_changes(&changes, &first.dynamodb.sequence_number)
                .await?;
        }
        Ok(changes)
    }

    /// Keeps the entries one stream batch made, as pages (`first_seq`: the batch's
    /// first sequence number, which orders pages written in the same millisecond).
    /// A batch handled twice writes its entries twice: readers know them by `id`.
    async fn append_changes(&self, changes: &[Change], first_seq: &str) -> PortResult<()> {
        let seq: String = first_seq.chars().filter(char::is_ascii_digit).collect();
        let seq = if seq.is_empty() { "0".to_owned() } else { seq };
        for (index, chunk) in changes.chunks(PAGE_ENTRIES).enumerate() {
            let entries = serde_json::to_string(chunk)
                .map_err(|e| PortError::Internal(format!("encoding log entries: {e}")))?;
            // Chunks of one batch differ by their last digit.
            let seq = format!("{seq}{index}");
            // A page never overwrites another: should one hold the key, the next
            // millisecond's does not.
            let mut tries = 0;
            loop {
                let now = Utc::now();
                let item = Item::from([
                    ("pk".to_owned(), s(keys::feed_day(now.date_naive()))),
                    ("sk".to_owned(), s(page_key(now.timestamp_millis(), &seq))),
                    ("entries".to_owned(), s(entries.clone())),
                    (
                        "expires_at".to_owned(),
                        n((now + FEED_RETENTION).timestamp()),
                    ),
                ]);
                match self.put(item, Some("attribute_not_exists(sk)")).await {
                    Err(PortError::Conflict(_)) if tries < 3 => {
                        tries += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    }
                    Err(e) => return Err(e),
                    // A page that took more than half the settling time to land may have
                    // been passed by a reader already: it goes again, stamped now. A
                    // reader that saw it sees its entries twice, by the same ids.
                    Ok(()) if Utc::now() - now > FEED_SETTLE / 2 => {
                        tracing::warn!(
                            took_ms = (Utc::now() - now).num_milliseconds(),
                            "a feed page landed late; writing it again"
                        );
                    }
                    Ok(()) => break,
                }
            }
        }
        Ok(())
    }

    /// The pages of one day from `from` (inclusive) to `to` (inclusive), oldest first.
    async fn feed_pages(
        &self,
        day: &str,
        from: &str,
        to: &str,
        pages: i32,
        start: Option<Item>,
    ) -> PortResult<(Vec<Item>, Option<Item>)> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(day))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .consistent_read(true)
            .limit(pages)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:Query", e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }
}

#[async_trait]
impl EventFeed for DynamoStore {
    async fn changes_after(&self, after: Option<&str>, limit: usize) -> PortResult<Vec<Change>> {
        let limit = limit.clamp(1, MAX_FEED_BATCH);
        let now = Utc::now();
        let until = (now - FEED_SETTLE).timestamp_millis();
        let start = match after {
            Some(cursor) => Position::parse(cursor)?,
            None => Position {
                ms: (now - FEED_RETENTION).timestamp_millis(),
                seq: "0".into(),
                read: 0,
            },
        };
        let last = page_key(until, END_OF_MS);
        let mut out = Vec::new();
        // Nothing older than the retention is kept: a cursor from before it reads from
        // the oldest day kept, never day by day from the distant past.
        let oldest = now - FEED_RETENTION - TimeDelta::days(1);
        let mut day = DateTime::from_timestamp_millis(start.ms)
            .ok_or_else(|| PortError::Invalid("not a cursor of this event log".into()))?
            .max(oldest)
            .date_naive();
        let last_day = (now - FEED_SETTLE).date_naive();
        let mut from = start.sort_key();
        if from > last {
            // A position past what may be read yet: nothing after it yet.
            return Ok(out);
        }
        let pages_per_query = limit.min(50) as i32;
        while day <= last_day {
            let partition = keys::feed_day(day);
            let mut next = None;
            loop {
                let (pages, more) = self
                    .feed_pages(&partition, &from, &last, pages_per_query, next)
                    .await?;
                for page in pages {
                    let sort_key = items::string(&page, "sk").unwrap_or_default();
                    let Some((ms, seq)) = page_of(&sort_key) else {
                        continue;
                    };
                    // One by one: an entry this build cannot read (a type a newer one
                    // wrote) is passed over, and keeps its place for the cursor.
                    let entries: Vec<serde_json::Value> = items::string(&page, "entries")
                        .and_then(|json| serde_json::from_str(&json).ok())
                        .unwrap_or_default();
                    let skip = if sort_key == start.sort_key() {
                        start.read
                    } else {
                        0
                    };
                    for (index, entry) in entries.into_iter().enumerate().skip(skip) {
                        let Ok(mut change) = serde_json::from_value::<Change>(entry) else {
                            tracing::warn!(page = %sort_key, index, "a log entry this build cannot read");
                            continue;
                        };
                        change.cursor = Position {
                            ms,
                            seq: seq.clone(),
                            read: index + 1,
                        }
                        .cursor();
                        out.push(change);
                        if out.len() == limit {
                            return Ok(out);
                        }
                    }
                }
                next = more;
                if next.is_none() {
                    break;
                }
            }
            day += Duration::days(1);
            from = "0".to_owned();
        }
        Ok(out)
    }

    async fn latest_cursor(&self) -> PortResult<String> {
        let until = (Utc::now() - FEED_SETTLE).timestamp_millis();
        Ok(Position {
            ms: until,
            seq: END_OF_MS.into(),
            read: 0,
        }
        .cursor())
    }

    async fn consumer_position(&self, name: &str) -> PortResult<Option<String>> {
        let item = self.get(&keys::feed_position(name), keys::META).await?;
        Ok(item.and_then(|i| items::string(&i, "position")))
    }

    /// Pages go by the table's TTL (`expires_at`), which costs no write.
    async fn forget_before(&self, _before: DateTime<Utc>) -> PortResult<u64> {
        Ok(0)
    }

    async fn save_consumer_position(&self, name: &str, cursor: &str) -> PortResult<()> {
        Position::parse(cursor)?;
        let item = Item::from([
            ("pk".to_owned(), s(keys::feed_position(name))),
            ("sk".to_owned(), s(keys::META)),
            ("position".to_owned(), s(cursor)),
        ]);
        self.put(item, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_refuses_what_it_is_not() {
        let p = Position {
            ms: 1_700_000_000_000,
            seq: "4900000000000123".into(),
            read: 7,
        };
        assert_eq!(Position::parse(&p.cursor()).unwrap(), p);
        for bad in [
            "", "1-2", "a-1-1", "1-x-1", "1-1-1-1", "-1-1-1", "1-1-", "12",
        ] {
            assert!(Position::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pages_sort_by_time_then_sequence_and_the_end_of_a_ms_after_both() {
        let a = page_key(5, "99");
        let b = page_key(5, "100");
        let end = page_key(5, END_OF_MS);
        let later = page_key(6, "1");
        assert!(a < b && b < end && end < later);
        assert_eq!(page_of(&b), Some((5, "100".into())));
    }
}
