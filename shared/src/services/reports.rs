//! Measuring support. The keeper, a subscriber of the event log, turns what happens to
//! each conversation into counters (see `model::report` for the definitions); reports
//! add the counters of a period up, so a report never reads what happened one by one.

use super::error::{ServiceError, ServiceResult};
use super::subscriber::Subscriber;
use crate::model::{
    Calendar, Change, ChangeType, ConversationId, ConversationStatus, Count, Dimension, EventKind,
    Metric, Occurrence, ReportTrack, SlaPolicy, Snapshot, Tally, policy_for,
};
use crate::ports::{ConversationStore, PortError, PortResult, ReportStore, SlaStore};
use async_trait::async_trait;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Keeps the counters as the event log tells what happened.
pub struct ReportKeeper {
    pub conversations: Arc<dyn ConversationStore>,
    pub reports: Arc<dyn ReportStore>,
    /// The SLA policies' calendars measure business time.
    pub slas: Arc<dyn SlaStore>,
}

#[async_trait]
impl Subscriber for ReportKeeper {
    fn name(&self) -> &'static str {
        "reports"
    }

    async fn handle(&self, changes: &[Change]) -> ServiceResult<()> {
        let mut setup = None;
        for change in changes {
            self.take(change, &mut setup).await?;
        }
        Ok(())
    }
}

type Setup = Option<(Vec<SlaPolicy>, Vec<Calendar>)>;

/// Tries at counting one change while another counts the same conversation.
const TRIES: usize = 5;

impl ReportKeeper {
    async fn take(&self, change: &Change, setup: &mut Setup) -> PortResult<()> {
        let Some(id) = change.conversation_id else {
            return Ok(());
        };
        for _ in 0..TRIES {
            match self.try_take(id, change, setup).await {
                Err(PortError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Err(PortError::Unavailable(format!(
            "conversation {id} kept changing while its report counters were kept"
        )))
    }

    async fn try_take(
        &self,
        id: ConversationId,
        change: &Change,
        setup: &mut Setup,
    ) -> PortResult<()> {
        let at = change.at;
        let mut track = self
            .reports
            .report_track(id)
            .await?
            .unwrap_or_else(|| ReportTrack::new(id));
        let happening = match change.kind {
            ChangeType::ConversationCreated => Occurrence::Created(at),
            ChangeType::MessageReceived => Occurrence::CustomerMessage(at),
            // An agent's reply; what the system sends (an acknowledgement, a rule's
            // canned reply) is none.
            ChangeType::ReplyQueued => match change.actor_id {
                Some(agent) => Occurrence::AgentReply(at, agent),
                None => return Ok(()),
            },
            ChangeType::ConversationReopened => Occurrence::Reopened(at),
            ChangeType::ConversationStatusChanged => {
                let Some(event_id) = change.event_id else {
                    return Ok(());
                };
                match self
                    .conversations
                    .event(id, event_id)
                    .await?
                    .map(|e| e.kind)
                {
                    Some(EventKind::StatusChanged {
                        to: ConversationStatus::Resolved,
                        ..
                    }) => Occurrence::Resolved(at),
                    Some(EventKind::StatusChanged { .. }) if track.resolved => {
                        Occurrence::Reopened(at)
                    }
                    _ => return Ok(()),
                }
            }
            _ => return Ok(()),
        };
        let Some(conversation) = self.conversations.conversation(id).await? else {
            // Folded or erased: nothing of it is counted any more.
            return Ok(());
        };
        if !track.take_change(&change.id) {
            return Ok(());
        }
        let snapshot = Snapshot {
            channel: conversation.channel,
            team_id: conversation.team_id,
            assignee_id: conversation.assignee_id,
            priority: conversation.priority,
            tags: conversation.tags.clone(),
        };
        let dimensions = snapshot.dimensions(None);
        let (policies, calendars) = match setup {
            Some(read) => read,
            None => setup.insert((
                self.slas.sla_policies().await?,
                self.slas.calendars().await?,
            )),
        };
        let calendar = policy_for(policies, conversation.team_id, conversation.channel)
            .and_then(|p| p.calendar_id)
            .and_then(|c| calendars.iter().find(|cal| cal.id == c))
            .and_then(|cal| cal.business_hours().ok());
        let counts: Vec<Count> = track
            .apply(happening, calendar.as_ref(), &dimensions)
            .iter()
            .flat_map(|fact| fact.counts(&dimensions))
            .collect();
        self.reports.record(&track, &counts).await?;
        Ok(())
    }
}

/// How the team did over a period, with Chatwoot's names where they mean the same.
/// Times are in seconds; a time with nothing counted is null.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Conversations begun.
    pub conversations_count: i64,
    /// Customers' messages.
    pub incoming_messages_count: i64,
    /// Agents' replies on customer channels.
    pub outgoing_messages_count: i64,
    pub resolutions_count: i64,
    /// Resolves undone by a reopen.
    pub reopened_count: i64,
    pub first_contact_resolutions_count: i64,
    /// First-contact resolutions per resolution (0 to 1).
    pub fcr_rate: Option<f64>,
    pub first_response: Timing,
    pub reply_time: Timing,
    pub resolution_time: Timing,
}

/// A time measured over a period: how many, their mean, median and p90.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Timing {
    pub count: i64,
    pub avg_secs: Option<f64>,
    pub median_secs: Option<u64>,
    pub p90_secs: Option<u64>,
}

impl Timing {
    fn of(tally: Option<&Tally>) -> Self {
        let Some(t) = tally else {
            return Self::default();
        };
        Self {
            count: t.count,
            avg_secs: t.average().map(|a| (a * 10.0).round() / 10.0),
            median_secs: t.percentile(0.5),
            p90_secs: t.percentile(0.9),
        }
    }
}

impl Summary {
    /// The summary of added-up counters, in business time or calendar time.
    pub fn of(tallies: &BTreeMap<Metric, Tally>, business: bool) -> Self {
        let count = |m: Metric| tallies.get(&m).map_or(0, |t| t.count);
        let pick = |calendar: Metric, open: Metric| {
            Timing::of(tallies.get(if business { &open } else { &calendar }))
        };
        let resolutions = count(Metric::Resolutions);
        let fcr = count(Metric::FirstContactResolutions);
        Self {
            conversations_count: count(Metric::Conversations),
            incoming_messages_count: count(Metric::IncomingMessages),
            outgoing_messages_count: count(Metric::OutgoingMessages),
            resolutions_count: resolutions,
            reopened_count: count(Metric::Reopened),
            first_contact_resolutions_count: fcr,
            fcr_rate: (resolutions > 0)
                .then(|| ((fcr as f64 / resolutions as f64) * 1000.0).round() / 1000.0),
            first_response: pick(Metric::FirstResponse, Metric::FirstResponseBusiness),
            reply_time: pick(Metric::ReplyTime, Metric::ReplyTimeBusiness),
            resolution_time: pick(Metric::ResolutionTime, Metric::ResolutionTimeBusiness),
        }
    }
}

/// Reports for the API.
#[derive(Clone)]
pub struct Reports {
    pub store: Arc<dyn ReportStore>,
}

/// Half hours a report may span at most: a year and a day.
pub const MAX_REPORT_BUCKETS: i64 = 367 * 48;

impl Reports {
    /// The summary of `dimension` over the half hours in `from..until` (UTC seconds,
    /// on half-hour boundaries), and of the period of the same length just before.
    pub async fn summary(
        &self,
        dimension: &Dimension,
        (from, until): (i64, i64),
        business: bool,
    ) -> ServiceResult<(Summary, Summary)> {
        let span = until - from;
        if span <= 0 || span / crate::model::BUCKET_SECS > MAX_REPORT_BUCKETS {
            return Err(ServiceError::Invalid(
                "a report covers one day to a year: `since` no later than `until`".into(),
            ));
        }
        let (now, before) = tokio::try_join!(
            self.store.tallies(dimension, from, until),
            self.store.tallies(dimension, from - span, from),
        )?;
        Ok((Summary::of(&now, business), Summary::of(&before, business)))
    }
}
