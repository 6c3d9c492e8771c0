//! Reporting: each conversation's track as a JSON row, and the counters as rows per
//! dimension, half hour (`report_counts`) or UTC day (`report_days`), metric and
//! histogram bin, added to in the track's transaction.

use super::Embedded;
use super::db::sql;
use crate::model::{ConversationId, Count, Dimension, Grain, Metric, ReportTrack, Tally};
use crate::ports::{PortError, PortResult, ReportStore};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use std::collections::BTreeMap;

#[async_trait]
impl ReportStore for Embedded {
    async fn report_track(&self, id: ConversationId) -> PortResult<Option<ReportTrack>> {
        let body: Option<String> = self
            .db
            .read(move |conn| {
                conn.prepare_cached("SELECT body FROM report_tracks WHERE conversation_id = ?1")
                    .and_then(|mut s| s.query_row([id.to_string()], |row| row.get(0)).optional())
                    .map_err(sql)
            })
            .await?;
        body.map(|b| {
            serde_json::from_str(&b)
                .map_err(|e| PortError::Internal(format!("an unreadable report track: {e}")))
        })
        .transpose()
    }

    async fn record(&self, track: &ReportTrack, counts: &[Count]) -> PortResult<ReportTrack> {
        let saved = ReportTrack {
            version: track.version + 1,
            ..track.clone()
        };
        let body = serde_json::to_string(&saved)
            .map_err(|e| PortError::Internal(format!("encoding a report track: {e}")))?;
        let read = i64::try_from(track.version)
            .map_err(|_| PortError::Invalid("a version past i64".into()))?;
        let counts = counts.to_vec();
        let id = track.conversation_id.to_string();
        self.db
            .write(move |conn| {
                let changed = if read == 0 {
                    conn.prepare_cached(
                        "INSERT INTO report_tracks (conversation_id, body, version) VALUES (?1, ?2, 1)
                         ON CONFLICT (conversation_id) DO NOTHING",
                    )
                    .and_then(|mut s| s.execute(params![id, body]))
                } else {
                    conn.prepare_cached(
                        "UPDATE report_tracks SET body = ?2, version = version + 1
                         WHERE conversation_id = ?1 AND version = ?3",
                    )
                    .and_then(|mut s| s.execute(params![id, body, read]))
                }
                .map_err(sql)?;
                if changed == 0 {
                    return Err(PortError::Conflict(
                        "the conversation's report track changed since it was read".into(),
                    ));
                }
                let statement = |table: &str| {
                    conn.prepare_cached(&format!(
                        "INSERT INTO {table} (dimension, bucket, metric, bin, count, sum)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (dimension, bucket, metric, bin) DO UPDATE SET
                            count = count + excluded.count, sum = sum + excluded.sum"
                    ))
                    .map_err(sql)
                };
                let (mut half_hours, mut days) =
                    (statement("report_counts")?, statement("report_days")?);
                let mut tag = conn
                    .prepare_cached("INSERT OR IGNORE INTO report_tags (tag) VALUES (?1)")
                    .map_err(sql)?;
                for c in &counts {
                    if let Some(name) = c.dimension.tag_name() {
                        tag.execute([name]).map_err(sql)?;
                    }
                    let add = match c.grain {
                        Grain::HalfHour => &mut half_hours,
                        Grain::Day => &mut days,
                    };
                    add.execute(params![
                        c.dimension.as_str(),
                        c.bucket,
                        c.metric.as_str(),
                        c.bin,
                        c.count,
                        c.sum
                    ])
                    .map_err(sql)?;
                }
                Ok(saved)
            })
            .await
    }

    async fn tallies(
        &self,
        dimension: &Dimension,
        grain: Grain,
        from: i64,
        until: i64,
    ) -> PortResult<BTreeMap<Metric, Tally>> {
        let dimension = dimension.as_str().to_owned();
        let table = table_of(grain);
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(&format!(
                        "SELECT metric, bin, SUM(count), SUM(sum) FROM {table}
                         WHERE dimension = ?1 AND bucket >= ?2 AND bucket < ?3
                         GROUP BY metric, bin"
                    ))
                    .map_err(sql)?;
                let rows = statement
                    .query_map(params![dimension, from, until], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, u16>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, i64>(3)?,
                        ))
                    })
                    .map_err(sql)?;
                let mut tallies: BTreeMap<Metric, Tally> = BTreeMap::new();
                for row in rows {
                    let (metric, bin, count, sum) = row.map_err(sql)?;
                    // A metric a later version dropped is no longer reported.
                    if let Some(metric) = Metric::parse(&metric) {
                        tallies.entry(metric).or_default().add(bin, count, sum);
                    }
                }
                Ok(tallies)
            })
            .await
    }

    async fn per_half_hour(
        &self,
        dimension: &Dimension,
        metric: Metric,
        from: i64,
        until: i64,
    ) -> PortResult<Vec<(i64, i64)>> {
        let dimension = dimension.as_str().to_owned();
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT bucket, SUM(count) FROM report_counts
                         WHERE dimension = ?1 AND bucket >= ?2 AND bucket < ?3 AND metric = ?4
                         GROUP BY bucket ORDER BY bucket",
                    )
                    .map_err(sql)?;
                let rows = statement
                    .query_map(params![dimension, from, until, metric.as_str()], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                    .map_err(sql)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
            })
            .await
    }

    async fn counted_tags(&self) -> PortResult<Vec<String>> {
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached("SELECT tag FROM report_tags ORDER BY tag")
                    .map_err(sql)?;
                let rows = statement.query_map([], |row| row.get(0)).map_err(sql)?;
                rows.collect::<rusqlite::Result<Vec<String>>>().map_err(sql)
            })
            .await
    }
}

/// The table of a grain's counters.
fn table_of(grain: Grain) -> &'static str {
    match grain {
        Grain::HalfHour => "report_counts",
        Grain::Day => "report_days",
    }
}
