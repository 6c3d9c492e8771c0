//! The SLA, rule, canned-reply and notification stores' contract, on SQLite and on DynamoDB:
//! calendars, policies, routing rules, canned replies and macros read back as saved, a conversation's clocks save only on the version read, and clocks are found
//! by due time and by wake time through an index, in order, leaving out those with
//! nothing owed.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use shared::backend::Store;
use shared::model::{
    Calendar, CalendarId, Channel, ConversationId, ConversationSla, Priority, PriorityTargets,
    SlaFact, SlaPolicy, SlaPolicyId, TargetSeconds,
};
use shared::ports::PortError;

on_both_backends!(
    embedded: crate::backends::embedded_store,
    aws: crate::backends::dynamo_store,
    tests: [
        calendars_and_policies_read_back_replace_and_delete,
        clocks_save_only_on_the_version_read,
        clocks_are_found_by_due_time_and_by_wake_time_in_order,
        rules_read_back_replace_and_delete,
        canned_replies_and_macros_read_back_replace_and_delete,
        notification_settings_read_back_as_saved,
        conversations_are_found_by_their_last_change_in_order,
        an_idle_rule_runs_once_per_quiet_spell,
    ]
);

fn policy(name: &str) -> SlaPolicy {
    SlaPolicy {
        id: SlaPolicyId::new(),
        name: name.into(),
        calendar_id: None,
        teams: vec![],
        channels: vec![Channel::Web],
        targets: PriorityTargets {
            normal: TargetSeconds {
                first_response_secs: Some(3600),
                next_response_secs: Some(1800),
                resolution_secs: Some(8 * 3600),
            },
            ..PriorityTargets::default()
        },
    }
}

fn calendar(name: &str) -> Calendar {
    Calendar {
        id: CalendarId::new(),
        name: name.into(),
        hours: "sat-wed 09:00-17:00 Asia/Tehran".into(),
        holidays: vec!["2027-03-21".parse().unwrap()],
    }
}

/// A conversation's clocks with its first message at `at`: the first response falls due
/// an hour later.
fn clocks(at: DateTime<Utc>) -> ConversationSla {
    let mut sla = ConversationSla::new(ConversationId::new(), &policy("p"), None, Priority::Normal);
    sla.apply(SlaFact::CustomerMessage(at));
    sla
}

async fn calendars_and_policies_read_back_replace_and_delete(store: &dyn Store) {
    let tehran = calendar("Tehran");
    let berlin = calendar("Berlin");
    store.save_calendar(&tehran).await.unwrap();
    store.save_calendar(&berlin).await.unwrap();
    assert_eq!(
        store.calendars().await.unwrap(),
        vec![tehran.clone(), berlin.clone()]
    );
    let renamed = Calendar {
        name: "Tehran office".into(),
        ..tehran.clone()
    };
    store.save_calendar(&renamed).await.unwrap();
    assert_eq!(
        store.calendars().await.unwrap(),
        vec![renamed, berlin.clone()]
    );
    assert!(store.delete_calendar(tehran.id).await.unwrap());
    assert!(!store.delete_calendar(tehran.id).await.unwrap());
    assert_eq!(store.calendars().await.unwrap(), vec![berlin]);

    let web = policy("web");
    let payments = SlaPolicy {
        calendar_id: Some(CalendarId::new()),
        ..policy("payments")
    };
    store.save_sla_policy(&web).await.unwrap();
    store.save_sla_policy(&payments).await.unwrap();
    assert_eq!(
        store.sla_policies().await.unwrap(),
        vec![web.clone(), payments.clone()]
    );
    assert!(store.delete_sla_policy(web.id).await.unwrap());
    assert_eq!(store.sla_policies().await.unwrap(), vec![payments]);
}

async fn clocks_save_only_on_the_version_read(store: &dyn Store) {
    let now = Utc::now().trunc_subsecs(3);
    let fresh = clocks(now);
    assert_eq!(
        store.conversation_sla(fresh.conversation_id).await.unwrap(),
        None
    );
    let saved = store.save_conversation_sla(&fresh).await.unwrap();
    assert_eq!(saved.version, 1);
    assert_eq!(
        store.conversation_sla(fresh.conversation_id).await.unwrap(),
        Some(saved.clone())
    );
    // A second maker, and a writer on the version before, are both refused.
    let again = store.save_conversation_sla(&fresh).await;
    assert!(matches!(again, Err(PortError::Conflict(_))), "{again:?}");
    let mut answered = saved.clone();
    answered.apply(SlaFact::AgentReply(now + Duration::minutes(5)));
    let saved_again = store.save_conversation_sla(&answered).await.unwrap();
    assert_eq!(saved_again.version, 2);
    let stale = store.save_conversation_sla(&answered).await;
    assert!(matches!(stale, Err(PortError::Conflict(_))), "{stale:?}");
    assert_eq!(
        store.conversation_sla(fresh.conversation_id).await.unwrap(),
        Some(saved_again)
    );
}

async fn clocks_are_found_by_due_time_and_by_wake_time_in_order(store: &dyn Store) {
    let base = (Utc::now() - Duration::days(3650)).trunc_subsecs(3);
    let at = |minutes: i64| base + Duration::minutes(minutes);
    // First responses due at 70, 100, 130 minutes past the base; one paused owes nothing.
    let mut saved = Vec::new();
    for start in [40, 10, 70] {
        saved.push(
            store
                .save_conversation_sla(&clocks(at(start)))
                .await
                .unwrap(),
        );
    }
    let mut paused = clocks(at(0));
    paused.apply(SlaFact::Status(
        shared::model::ConversationStatus::Pending,
        at(1),
    ));
    assert_eq!(paused.due_at, None);
    store.save_conversation_sla(&paused).await.unwrap();
    let ids = |list: &[ConversationSla]| list.iter().map(|s| s.conversation_id).collect::<Vec<_>>();
    let mine = |list: Vec<ConversationSla>| {
        list.into_iter()
            .filter(|s| saved.iter().any(|m| m.conversation_id == s.conversation_id))
            .collect::<Vec<_>>()
    };

    let by_due = mine(store.slas_by_due(None, 100).await.unwrap());
    assert_eq!(
        ids(&by_due),
        vec![
            saved[1].conversation_id,
            saved[0].conversation_id,
            saved[2].conversation_id
        ]
    );
    // A page goes on after the last one read.
    let first = &by_due[0];
    let rest = mine(
        store
            .slas_by_due(Some((first.due_at.unwrap(), first.conversation_id)), 100)
            .await
            .unwrap(),
    );
    assert_eq!(ids(&rest), ids(&by_due[1..]));

    let to_wake = mine(store.slas_to_wake(at(100), 100).await.unwrap());
    assert_eq!(
        ids(&to_wake),
        vec![saved[1].conversation_id, saved[0].conversation_id],
        "due soon at 55 and 85 (a quarter of the hour before 70 and 100), not 115"
    );
    // Told of its breach (found breached: no warning), the first wakes next for its
    // resolution's warning, a quarter of eight hours before it is due, but stays owed.
    let mut told = to_wake[0].clone();
    let announced = told.announce(at(100));
    assert_eq!((announced.due_soon.len(), announced.breached.len()), (0, 1));
    let told = store.save_conversation_sla(&told).await.unwrap();
    assert_eq!(told.wake_at, Some(at(10) + Duration::hours(6)));
    let to_wake = mine(store.slas_to_wake(at(100), 100).await.unwrap());
    assert_eq!(ids(&to_wake), vec![saved[0].conversation_id]);
    let by_due = mine(store.slas_by_due(None, 100).await.unwrap());
    assert_eq!(by_due[0].conversation_id, saved[1].conversation_id);
    // Resolved, it owes nothing and leaves both.
    let mut resolved = told;
    resolved.apply(SlaFact::Status(
        shared::model::ConversationStatus::Resolved,
        at(120),
    ));
    store.save_conversation_sla(&resolved).await.unwrap();
    let by_due = mine(store.slas_by_due(None, 100).await.unwrap());
    assert!(
        by_due
            .iter()
            .all(|s| s.conversation_id != resolved.conversation_id)
    );
}

async fn rules_read_back_replace_and_delete(store: &dyn Store) {
    use shared::model::{Action, Condition, Rule, RuleId, Trigger};
    let rule = |name: &str| Rule {
        id: RuleId::new(),
        name: name.into(),
        enabled: true,
        position: 0,
        trigger: Trigger::MessageReceived,
        conditions: vec![
            Condition::TextContains {
                any_of: vec!["درگاه".into(), "پرداخت".into()],
            },
            Condition::Any {
                of: vec![Condition::Channel {
                    any_of: vec![Channel::Web, Channel::Telegram],
                }],
            },
        ],
        actions: vec![Action::SetPriority {
            priority: Priority::High,
        }],
        stop_processing: true,
        idle_minutes: None,
    };
    let payments = rule("payments");
    let vip = rule("vip");
    store.save_rule(&payments).await.unwrap();
    store.save_rule(&vip).await.unwrap();
    assert_eq!(
        store.rules().await.unwrap(),
        vec![payments.clone(), vip.clone()]
    );
    let off = Rule {
        enabled: false,
        ..payments.clone()
    };
    store.save_rule(&off).await.unwrap();
    assert_eq!(store.rules().await.unwrap(), vec![off, vip.clone()]);
    assert!(store.delete_rule(payments.id).await.unwrap());
    assert!(!store.delete_rule(payments.id).await.unwrap());
    assert_eq!(store.rules().await.unwrap(), vec![vip]);
}

async fn canned_replies_and_macros_read_back_replace_and_delete(store: &dyn Store) {
    use shared::model::{CannedReply, CannedReplyId, Macro, MacroId, MacroStep};
    let reply = CannedReply {
        id: CannedReplyId::new(),
        short_code: "بازپرداخت".into(),
        title: "Refund".into(),
        language: Some("fa".into()),
        text: "سلام {{contact.name}}".into(),
    };
    store.save_canned_reply(&reply).await.unwrap();
    assert_eq!(store.canned_replies().await.unwrap(), vec![reply.clone()]);
    let edited = CannedReply {
        text: "درود {{contact.name}}".into(),
        ..reply.clone()
    };
    store.save_canned_reply(&edited).await.unwrap();
    assert_eq!(store.canned_replies().await.unwrap(), vec![edited]);
    let m = Macro {
        id: MacroId::new(),
        name: "Refund and resolve".into(),
        steps: vec![
            MacroStep::Reply {
                canned_reply_id: reply.id,
            },
            MacroStep::Assign { agent_id: None },
        ],
    };
    store.save_macro(&m).await.unwrap();
    assert_eq!(store.macros().await.unwrap(), vec![m.clone()]);
    assert!(store.delete_macro(m.id).await.unwrap());
    assert!(!store.delete_macro(m.id).await.unwrap());
    assert!(store.delete_canned_reply(reply.id).await.unwrap());
    assert_eq!(store.canned_replies().await.unwrap(), vec![]);
    assert_eq!(store.macros().await.unwrap(), vec![]);
}

async fn notification_settings_read_back_as_saved(store: &dyn Store) {
    use shared::model::{AgentId, AgentNotifications, LinkCode};
    let agent = AgentId::new();
    assert_eq!(store.agent_notifications(agent).await.unwrap(), None);
    let mut settings = AgentNotifications::new(agent);
    let code = LinkCode::new(agent);
    let at = Utc::now().trunc_subsecs(3);
    settings.expect(&code, at);
    store.save_agent_notifications(&settings).await.unwrap();
    assert_eq!(
        store.agent_notifications(agent).await.unwrap(),
        Some(settings.clone())
    );
    assert!(settings.link(&code, -100_200_300, at));
    settings.prefs.messages = false;
    store.save_agent_notifications(&settings).await.unwrap();
    let read = store.agent_notifications(agent).await.unwrap().unwrap();
    assert_eq!(read, settings);
    assert_eq!(read.telegram.map(|t| t.chat_id), Some(-100_200_300));
    assert_eq!(
        store.agent_notifications(AgentId::new()).await.unwrap(),
        None,
        "another agent's are their own"
    );
}

/// Routes a message from `who` and saves its conversation as last changed at `at`
/// (tagged `tag`, when one is given).
async fn quiet_since(
    store: &dyn Store,
    who: &str,
    at: DateTime<Utc>,
    tag: Option<&str>,
) -> shared::model::Conversation {
    use crate::store::{email, inbound, route};
    let routed = route(
        store,
        &inbound(
            who,
            vec![(email(&format!("{who}@example.com")), false)],
            "hi",
        ),
    )
    .await;
    let c = store
        .conversation(routed.conversation)
        .await
        .unwrap()
        .unwrap();
    let quiet = shared::model::Conversation {
        updated_at: at,
        tags: tag.map(|t| vec![t.to_owned()]).unwrap_or_default(),
        ..c.clone()
    };
    store
        .save_conversation(&quiet, c.version, &[])
        .await
        .unwrap()
}

async fn conversations_are_found_by_their_last_change_in_order(store: &dyn Store) {
    use shared::model::ConversationStatus::{Open, Pending};
    // Far in the past, where nothing else is.
    let base: DateTime<Utc> = "2001-02-03T04:05:06.007Z".parse().unwrap();
    let tag = format!("found-{}", ConversationId::new().to_string().to_lowercase());
    let mut made = Vec::new();
    for (i, minutes) in [0, 10, 10, 20].into_iter().enumerate() {
        let who = format!("{tag}-{i}");
        made.push(quiet_since(store, &who, base + Duration::minutes(minutes), Some(&tag)).await);
    }
    // The two changed at the same time are told apart by id.
    made.sort_by_key(|c| (c.updated_at, c.id));
    let ids = |cs: &[shared::model::Conversation]| cs.iter().map(|c| c.id).collect::<Vec<_>>();
    let until = base + Duration::minutes(15);
    let first = store
        .changed_between(Open, (base - Duration::days(1), None), until, 2)
        .await
        .unwrap();
    assert_eq!(ids(&first), ids(&made[..2]));
    let last = first.last().unwrap();
    let rest = store
        .changed_between(Open, (last.updated_at, Some(last.id)), until, 2)
        .await
        .unwrap();
    assert_eq!(
        ids(&rest),
        ids(&made[2..3]),
        "from where the page ended, up to `until`"
    );
    let later = store
        .changed_between(Open, (until, None), base + Duration::minutes(30), 10)
        .await
        .unwrap();
    assert_eq!(ids(&later), ids(&made[3..]));
    assert!(
        store
            .changed_between(Pending, (base - Duration::days(1), None), until, 10)
            .await
            .unwrap()
            .is_empty(),
        "of that status only"
    );
}

async fn an_idle_rule_runs_once_per_quiet_spell(store: &dyn Store) {
    use shared::model::{Action, Condition, EventKind, Rule, RuleId, TimelineItem, Trigger};
    use shared::ports::PageRequest;
    use shared::services::rule_runs::run_timers;
    let tag = format!("idle-{}", ConversationId::new().to_string().to_lowercase());
    let base: DateTime<Utc> = "2002-03-04T05:06:07.008Z".parse().unwrap();
    let quiet = quiet_since(store, &format!("{tag}-q"), base, Some(&tag)).await;
    let rule = Rule {
        id: RuleId::new(),
        name: "Nudge after an hour".into(),
        enabled: true,
        position: 0,
        trigger: Trigger::Idle,
        conditions: vec![
            Condition::Tagged {
                any_of: vec![tag.clone()],
            },
            Condition::Waiting { is: true },
        ],
        actions: vec![
            Action::AddTags {
                tags: vec!["nudged".into()],
            },
            Action::SetPriority {
                priority: Priority::High,
            },
        ],
        stop_processing: false,
        idle_minutes: Some(60),
    };
    store.save_rule(&rule).await.unwrap();
    let applied = || async {
        let timeline = store
            .timeline(quiet.id, &PageRequest::first(100))
            .await
            .unwrap();
        timeline
            .items
            .iter()
            .filter(|i| matches!(i, TimelineItem::Event(e) if matches!(e.kind, EventKind::RuleApplied { .. })))
            .count()
    };
    let sweep = |now: DateTime<Utc>| run_timers((store, store), store, store, now);

    sweep(base + Duration::minutes(59)).await.unwrap();
    assert_eq!(applied().await, 0, "not quiet for an hour yet");
    sweep(base + Duration::minutes(61)).await.unwrap();
    let nudged = store.conversation(quiet.id).await.unwrap().unwrap();
    assert_eq!(nudged.priority, Priority::High);
    assert!(
        nudged.tags.contains(&"nudged".to_owned()),
        "{:?}",
        nudged.tags
    );
    assert_eq!(applied().await, 1);
    sweep(base + Duration::minutes(62)).await.unwrap();
    assert_eq!(applied().await, 1, "once for the spell");
    // The rule's change started a new spell; when it runs out, the rule changes nothing
    // and leaves nothing: no loop.
    sweep(Utc::now() + Duration::minutes(61)).await.unwrap();
    assert_eq!(applied().await, 1);
    assert!(store.delete_rule(rule.id).await.unwrap());
}
