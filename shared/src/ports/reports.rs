use super::PortResult;
use crate::model::{ConversationId, Count, Dimension, Grain, Metric, ReportTrack, Tally};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// Reporting: each conversation's track, and the counters per half hour and dimension
/// that reports add up (see `model::report`).
#[async_trait]
pub trait ReportStore: Send + Sync {
    async fn report_track(&self, id: ConversationId) -> PortResult<Option<ReportTrack>>;

    /// Stores `track` if its stored version is still `track.version` (0: none stored
    /// yet), else `Conflict`, and adds `counts` to the counters, all or nothing; returns
    /// the track with its version bumped. At most [`MAX_COUNTS`] counters at once.
    async fn record(&self, track: &ReportTrack, counts: &[Count]) -> PortResult<ReportTrack>;

    /// The counters of `dimension` of one grain added up per metric over the half hours
    /// (or days) starting in `from..until` (UTC seconds).
    async fn tallies(
        &self,
        dimension: &Dimension,
        grain: Grain,
        from: i64,
        until: i64,
    ) -> PortResult<BTreeMap<Metric, Tally>>;

    /// How many of `metric` each half hour in `from..until` holds for `dimension`, in
    /// order; half hours with none are left out.
    async fn per_half_hour(
        &self,
        dimension: &Dimension,
        metric: Metric,
        from: i64,
        until: i64,
    ) -> PortResult<Vec<(i64, i64)>>;

    /// Every tag that has had a counter, by name.
    async fn counted_tags(&self) -> PortResult<Vec<String>>;
}

/// Distinct counters one record may touch (a transaction's items, less the track's and
/// the tags').
pub const MAX_COUNTS: usize = 98;
