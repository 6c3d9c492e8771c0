//! The sweeper: an EventBridge schedule (`rate(1 minute)`) wakes it; it does the
//! time-driven work of [`crate::services::sweep`], moves the SLA clocks on from the event
//! log and tells their breaches ([`crate::services::sla`]), keeps the report counters
//! ([`crate::services::reports`]), tells agents on Telegram what
//! needs them ([`crate::services::notify`]), and erases what is past its
//! retention ([`crate::services::rights`]) when the stack keeps conversations for a time
//! only.

use super::Error;
use crate::ports::{
    AgentStore, ContactStore, ConversationStore, EventFeed, ReportStore, RuleStore, SlaStore,
};
use crate::services::erasure::Retention;
use crate::services::notify::{Notifier, PASS_BATCHES};
use crate::services::reports::ReportKeeper;
use crate::services::rights::Rights;
use crate::services::rule_runs::RuleRunner;
use crate::services::rule_runs::run_timers;
use crate::services::sla::{SlaKeeper, announce_breaches};
use crate::services::subscriber::FeedConsumer;
use crate::services::surveys::SurveyKeeper;
use crate::services::sweep::{away_when_idle, wake_snoozed};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Batches of the event log one sweep hands each reader at most; what is left waits for
/// the next minute.
const KEEPER_BATCHES: usize = 1000;

/// Entries of one batch: small, so that a reader stops close to its time budget (the
/// budget is looked at between batches).
const FOLLOW_BATCH: usize = 20;

/// How long one sweep follows the log for each of its readers at most, so that under a
/// backlog each gets its share of the minute: five readers take at most 25 s of the
/// function's 50 s, and leave the rest to the breaches, the timers, the notices and the
/// retention.
const FOLLOW_BUDGET: Duration = Duration::from_secs(5);

/// The part of the invocation's time the readers of the log leave to the jobs after them
/// and to answering: however slow the store is, they begin no batch later than this
/// before the function's deadline.
const AFTER_FOLLOWING: Duration = Duration::from_secs(25);

/// The part of the invocation's time no job after the readers begins in: one that would
/// start this close to the deadline waits for the next minute, so that the sweep answers
/// before Lambda's timeout instead of failing there.
const LAST_START: Duration = Duration::from_secs(10);

/// What the sweeper works on.
#[derive(Clone)]
pub struct Sweeper {
    pub conversations: Arc<dyn ConversationStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub slas: Arc<dyn SlaStore>,
    pub rules: Arc<dyn RuleStore>,
    pub reports: Arc<dyn ReportStore>,
    pub feed: Arc<dyn EventFeed>,
    /// Erasure past the retention, when there is one.
    pub retention: Option<(Rights, Retention)>,
    /// Tells agents on Telegram, when the bot is set up.
    pub notifier: Option<Notifier>,
    /// Sets available agents away after this long idle, when set.
    pub away_after_idle: Option<(Arc<dyn AgentStore>, chrono::Duration)>,
    /// Asks for a rating when a conversation is resolved (the survey goes to the
    /// sender's queue).
    pub surveys: SurveyKeeper,
    /// Links messages that match an active incident, and tells each customer once.
    pub incidents: crate::services::incidents::IncidentKeeper,
}

/// Serves scheduled events until Lambda stops the process. A failed sweep fails the
/// invocation (the alarm counts it); the next minute's sweep does the work anyway.
pub async fn run(sweeper: Sweeper) -> Result<(), Error> {
    let sweeper = &sweeper;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent>| async move {
            let left = event
                .context
                .deadline
                .saturating_sub(chrono::Utc::now().timestamp_millis().max(0) as u64);
            let deadline = Instant::now() + Duration::from_millis(left);
            sweep(sweeper, &event.payload, deadline).await
        },
    ))
    .await
}

/// Each job of a sweep runs on its own: one that fails is logged and the others still
/// run, and the invocation fails at the end (the alarm counts it; the next minute tries
/// again).
async fn sweep(
    sweeper: &Sweeper,
    event: &EventBridgeEvent,
    deadline: Instant,
) -> Result<(), Error> {
    let now = chrono::Utc::now();
    let mut failed: Vec<&'static str> = Vec::new();
    // `None`: the job waited for the next sweep (no time was left for it in this one).
    let mut done = |job: &'static str, result: Option<Result<usize, String>>| match result {
        None => {
            tracing::warn!(job, "no time left in this sweep: the next one does it");
            None
        }
        Some(Ok(n)) => Some(n),
        Some(Err(error)) => {
            tracing::error!(job, %error, "a sweep job failed");
            failed.push(job);
            None
        }
    };
    let woken = done(
        "wake snoozed",
        Some(
            wake_snoozed(sweeper.conversations.as_ref(), now)
                .await
                .map_err(|e| e.to_string()),
        ),
    );
    let keeper = FeedConsumer {
        feed: sweeper.feed.clone(),
        subscriber: Arc::new(SlaKeeper {
            conversations: sweeper.conversations.clone(),
            slas: sweeper.slas.clone(),
        }),
    };
    let runner = FeedConsumer {
        feed: sweeper.feed.clone(),
        subscriber: Arc::new(RuleRunner {
            conversations: sweeper.conversations.clone(),
            contacts: sweeper.contacts.clone(),
            rules: sweeper.rules.clone(),
            calendars: sweeper.slas.clone(),
        }),
    };
    let counter = FeedConsumer {
        feed: sweeper.feed.clone(),
        subscriber: Arc::new(ReportKeeper {
            conversations: sweeper.conversations.clone(),
            reports: sweeper.reports.clone(),
            slas: sweeper.slas.clone(),
        }),
    };
    let asker = FeedConsumer {
        feed: sweeper.feed.clone(),
        subscriber: Arc::new(sweeper.surveys.clone()),
    };
    let linker = FeedConsumer {
        feed: sweeper.feed.clone(),
        subscriber: Arc::new(sweeper.incidents.clone()),
    };
    // What the log told since the last sweep, a bounded number of batches a minute: the
    // clocks, the rules on agents' changes and reopens, the report counters, and the
    // surveys of resolved conversations, and the incidents' links.
    let until = deadline
        .checked_sub(AFTER_FOLLOWING)
        .unwrap_or_else(Instant::now);
    for (job, consumer) in [
        ("SLA keeper", &keeper),
        ("rules", &runner),
        ("reports", &counter),
        ("surveys", &asker),
        ("incidents", &linker),
    ] {
        done(
            job,
            Some(follow(consumer, until).await.map_err(|e| e.to_string())),
        );
    }
    // Each job after the readers is bounded by itself; one that would begin too close
    // to the deadline waits for the next minute.
    let breaches = done(
        "SLA breaches",
        unless_late(
            deadline,
            announce_breaches(
                sweeper.slas.as_ref(),
                sweeper.conversations.as_ref(),
                sweeper.contacts.as_ref(),
                sweeper.rules.as_ref(),
                chrono::Utc::now(),
            ),
        )
        .await,
    );
    let timers = done(
        "idle rules",
        unless_late(
            deadline,
            run_timers(
                (sweeper.conversations.as_ref(), sweeper.contacts.as_ref()),
                sweeper.rules.as_ref(),
                sweeper.slas.as_ref(),
                chrono::Utc::now(),
            ),
        )
        .await,
    );
    // One message per agent a minute at most: what the minute brought, as one digest.
    let notified = match &sweeper.notifier {
        Some(notifier) => done(
            "notifications",
            unless_late(deadline, async {
                notifier.pass(PASS_BATCHES).await.map(|pass| pass.sent)
            })
            .await,
        ),
        None => None,
    };
    let idle_away = match &sweeper.away_after_idle {
        Some((agents, idle)) => done(
            "idle agents",
            unless_late(deadline, away_when_idle(agents.as_ref(), *idle, now)).await,
        ),
        None => None,
    };
    let erased = match &sweeper.retention {
        Some((rights, retention)) => {
            match unless_late(deadline, rights.sweep(*retention, now)).await {
                Some(Ok(erased)) => Some(erased),
                failed_or_late => {
                    done("retention", failed_or_late.map(|r| r.map(|_| 0)));
                    None
                }
            }
        }
        None => None,
    };
    tracing::info!(
        woken,
        breaches,
        timers,
        notified,
        idle_away,
        erased_conversations = erased.map(|e| e.conversations),
        erased_contacts = erased.map(|e| e.contacts),
        scheduled_for = event.time.map(|t| t.to_rfc3339()),
        "sweep done"
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("sweep jobs failed: {}", failed.join(", ")).into())
    }
}

/// Runs `work` unless the sweep is within [`LAST_START`] of its deadline: then it is
/// left to the next sweep (`None`).
async fn unless_late<T, E: std::fmt::Display>(
    deadline: Instant,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Option<Result<T, String>> {
    if Instant::now() + LAST_START >= deadline {
        return None;
    }
    Some(work.await.map_err(|e| e.to_string()))
}

/// Hands a subscriber what the log told since it last read, a bounded number of batches,
/// beginning none after its budget or `until`.
async fn follow(
    consumer: &FeedConsumer,
    until: Instant,
) -> crate::services::error::ServiceResult<usize> {
    let until = until.min(Instant::now() + FOLLOW_BUDGET);
    let mut position = None;
    let mut batches = 0;
    while batches < KEEPER_BATCHES
        && Instant::now() < until
        && consumer.step_of(&mut position, FOLLOW_BATCH).await?
    {
        batches += 1;
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::Embedded;
    use crate::model::{Change, SourceId};
    use crate::model::{Channel, EmailAddress, Identity, InboundMessage, PresentedIdentity};
    use crate::ports::{AgentStore, RoutingStore};
    use crate::services::route::RoutePolicy;
    use crate::services::subscriber::Subscriber;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl Subscriber for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }

        async fn handle(&self, changes: &[Change]) -> crate::services::error::ServiceResult<()> {
            self.0.fetch_add(changes.len(), Ordering::SeqCst);
            Ok(())
        }
    }

    /// Routes an email from `<name>@example.com`, proven.
    async fn email_from(store: &Embedded, name: &str) {
        let address = EmailAddress::parse(&format!("{name}@example.com")).unwrap();
        let message = InboundMessage {
            identities: vec![PresentedIdentity::proven(Identity::email(&address))],
            text: "hello".into(),
            ..InboundMessage::new(
                SourceId::new("test", name),
                Channel::Email,
                chrono::Utc::now(),
            )
        };
        store
            .route(&message, &RoutePolicy::default())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_reader_of_the_log_begins_no_batch_past_its_time_and_goes_on_at_the_next_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::open(&dir.path().join("test.db")).unwrap();
        let counting = Arc::new(Counting::default());
        let reader = FeedConsumer {
            feed: Arc::new(store.clone()),
            subscriber: counting.clone(),
        };
        let soon = || Instant::now() + Duration::from_secs(30);
        // The first sweep marks where the log stands.
        assert_eq!(follow(&reader, soon()).await.unwrap(), 0);
        for n in 0..3 {
            email_from(&store, &format!("c{n}")).await;
        }

        // A sweep whose time for reading is up reads nothing and moves nothing on.
        assert_eq!(follow(&reader, Instant::now()).await.unwrap(), 0);
        assert_eq!(counting.0.load(Ordering::SeqCst), 0);
        // The next reads what was logged meanwhile, in batches of twenty.
        let batches = follow(&reader, soon()).await.unwrap();
        let read = counting.0.load(Ordering::SeqCst);
        assert!(
            read >= 6,
            "three new contacts and messages logged; read {read}"
        );
        assert_eq!(batches, read.div_ceil(FOLLOW_BATCH));
    }

    /// A sweep that starts with less time than its jobs may begin in answers at once (no
    /// timeout on Lambda) and leaves the log where it was, for the next minute.
    #[tokio::test]
    async fn a_sweep_with_no_time_left_answers_and_leaves_the_work_to_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::open(&dir.path().join("test.db")).unwrap();
        let backend =
            crate::backend::Backend::new(Arc::new(store.clone()), Arc::new(store.clone()));
        let store = Arc::new(store);
        // An available agent, idle from the start: the sweep's last job sets them away.
        let (agent, _) = backend
            .directory()
            .create_agent("Ada", "ada@shop.example", crate::model::Role::Agent)
            .await
            .unwrap();
        let sweeper = Sweeper {
            surveys: backend.survey_keeper(),
            incidents: backend.incident_keeper(),
            notifier: None,
            away_after_idle: Some((store.clone(), chrono::Duration::zero())),
            conversations: store.clone(),
            contacts: store.clone(),
            slas: store.clone(),
            rules: store.clone(),
            reports: store.clone(),
            feed: store.clone(),
            retention: None,
        };
        let event: EventBridgeEvent = serde_json::from_value(serde_json::json!({
            "version": "0", "id": "e", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012",
            "time": "2026-12-06T10:00:00Z", "region": "us-east-1",
            "resources": [], "detail": {}
        }))
        .unwrap();
        let soon = || Instant::now() + Duration::from_secs(50);
        // The first sweep marks where the log stands (and sets the agent away; back).
        sweep(&sweeper, &event, soon()).await.unwrap();
        let away = || async { store.agent(agent.id).await.unwrap().unwrap().idle_away };
        assert!(away().await, "a sweep in time sets the idle agent away");
        store.save_agent(&agent).await.unwrap();
        email_from(&store, "late").await;
        // Each reader of the log (the report counters' among them) is where it was.
        let position = || async { store.consumer_position("reports").await.unwrap() };
        let before = position().await;
        assert!(
            before.is_some(),
            "the first sweep marks where the log stands"
        );
        sweep(&sweeper, &event, Instant::now() + LAST_START)
            .await
            .unwrap();
        assert_eq!(position().await, before, "nothing read past the deadline");
        assert!(!away().await, "no job begun past the deadline");
        sweep(&sweeper, &event, soon()).await.unwrap();
        assert_ne!(position().await, before, "the next sweep reads on");
        assert!(away().await, "and does the jobs");
    }
}
