//! The incident store's contract, on SQLite and on DynamoDB: an incident saves only on
//! the version read; a link saves the conversation (on its version) with its event and
//! counts it by channel, and an unlink takes it back; the customer is acknowledged once;
//! an update's reply in a conversation is written once, with the message, and its
//! outcome counted once; a sent reply is claimed once.

use crate::store::{email, inbound, messages_in, now, route};
use shared::backend::Store;
use shared::model::{
    AgentId, Author, BurstWatch, Channel, Conversation, DeliveryStatus, Event, EventKind, Incident,
    IncidentId, IncidentLink, IncidentMatch, IncidentState, IncidentUpdate, IncidentUpdateId,
    Message, TimelineItem, UpdateProgress,
};
use shared::ports::{PageRequest, PortError};
use std::collections::BTreeMap;

on_both_backends!(
    embedded: crate::backends::embedded_store,
    aws: crate::backends::dynamo_store,
    tests: [
        an_incident_saves_on_the_version_read,
        a_link_saves_the_conversation_with_its_event_and_counts_it,
        an_updates_reply_is_written_once_and_counted_once,
        a_reply_is_claimed_for_sending_once,
        the_burst_watch_reads_back_as_saved,
    ]
);

on_both_backends!(
    embedded: crate::backends::embedded_held,
    aws: crate::backends::aws_held,
    tests: [an_erased_conversation_leaves_its_incident]
);

async fn an_erased_conversation_leaves_its_incident(held: &crate::backends::Held) {
    let store = held.store.as_ref();
    let active = incident(IncidentState::Active);
    store.create_incident(&active).await.unwrap();
    let unique = IncidentId::new().to_string();
    let routed = route(
        store,
        &inbound(
            &unique,
            vec![(email(&format!("{}@e.example", &unique[4..14])), true)],
            "the gateway failed",
        ),
    )
    .await;
    let current = store
        .conversation(routed.conversation)
        .await
        .unwrap()
        .unwrap();
    let (next, event, link) = linked(&current, active.id);
    store.link_conversation(&link, &next, &event).await.unwrap();
    assert_eq!(
        store
            .incident(active.id)
            .await
            .unwrap()
            .unwrap()
            .linked_total(),
        1
    );
    let admin = shared::model::Agent {
        id: AgentId::new(),
        name: "Ada".into(),
        email: shared::model::EmailAddress::parse("ada@support.example").unwrap(),
        role: shared::model::Role::Admin,
        availability: shared::model::Availability::Available,
        max_open_conversations: None,
        team_ids: vec![],
        phone_extension: None,
        skills: vec![],
        languages: vec![],
        last_seen_at: None,
        idle_away: false,
        created_at: now(),
    };
    held.rights.erase(routed.contact, &admin).await.unwrap();
    assert_eq!(
        store
            .incident(active.id)
            .await
            .unwrap()
            .unwrap()
            .linked_total(),
        0,
        "the count follows"
    );
    assert_eq!(
        store
            .linked_conversations(active.id, None, 10)
            .await
            .unwrap(),
        vec![]
    );
}

fn incident(state: IncidentState) -> Incident {
    Incident {
        id: IncidentId::new(),
        title: "Card gateway down".into(),
        status_text: BTreeMap::from([("en".into(), "We know, and we are on it.".into())]),
        matching: IncidentMatch {
            terms: vec!["gateway".into()],
            ..IncidentMatch::default()
        },
        state,
        declared_by: Some(AgentId::new()),
        created_at: now(),
        resolved_at: None,
        linked: BTreeMap::new(),
        version: 0,
    }
}

async fn an_incident_saves_on_the_version_read(store: &dyn Store) {
    let active = incident(IncidentState::Active);
    store.create_incident(&active).await.unwrap();
    assert!(matches!(
        store.create_incident(&active).await,
        Err(PortError::Conflict(_))
    ));
    let stored = store.incident(active.id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        Incident {
            version: 1,
            ..active.clone()
        }
    );
    let proposed = incident(IncidentState::Proposed);
    store.create_incident(&proposed).await.unwrap();

    let listed = store
        .list_incidents(Some(IncidentState::Active), &PageRequest::first(100))
        .await
        .unwrap();
    assert!(listed.items.iter().any(|i| i.id == active.id));
    assert!(
        listed
            .items
            .iter()
            .all(|i| i.state == IncidentState::Active)
    );
    let all = store
        .list_incidents(None, &PageRequest::first(100))
        .await
        .unwrap();
    let mine: Vec<IncidentId> = all
        .items
        .iter()
        .map(|i| i.id)
        .filter(|id| *id == active.id || *id == proposed.id)
        .collect();
    assert_eq!(mine, vec![proposed.id, active.id], "newest first");
    // A page of one leads to the next.
    let first = store
        .list_incidents(None, &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 1);
    let next = store
        .list_incidents(
            None,
            &PageRequest {
                limit: 1,
                cursor: first.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert!(next.items[0].id < first.items[0].id);

    let resolved = store
        .save_incident(&Incident {
            state: IncidentState::Resolved,
            resolved_at: Some(now()),
            ..stored.clone()
        })
        .await
        .unwrap();
    assert_eq!(resolved.version, 2);
    assert!(matches!(
        store
            .save_incident(&Incident {
                title: "stale".into(),
                ..stored
            })
            .await,
        Err(PortError::Conflict(_))
    ));
    let read = store.incident(active.id).await.unwrap().unwrap();
    assert_eq!(read.state, IncidentState::Resolved);
    assert_eq!(read.title, "Card gateway down");
    assert_eq!(store.incident(IncidentId::new()).await.unwrap(), None);
}

fn linked(current: &Conversation, incident: IncidentId) -> (Conversation, Event, IncidentLink) {
    let event = Event::new(
        current.id,
        EventKind::IncidentLinked {
            incident_id: incident,
            title: "Card gateway down".into(),
        },
        None,
        now(),
    );
    let link = IncidentLink {
        incident_id: incident,
        conversation_id: current.id,
        channel: current.channel,
        linked_at: now(),
        linked_by: None,
        acknowledged: false,
    };
    (
        Conversation {
            incident_id: Some(incident),
            ..current.clone()
        },
        event,
        link,
    )
}

async fn has_event(store: &dyn Store, event: &Event) -> bool {
    store
        .timeline(event.conversation_id, &PageRequest::first(50))
        .await
        .unwrap()
        .items
        .iter()
        .any(|i| matches!(i, TimelineItem::Event(e) if e == event))
}

async fn a_link_saves_the_conversation_with_its_event_and_counts_it(store: &dyn Store) {
    let active = incident(IncidentState::Active);
    store.create_incident(&active).await.unwrap();
    let unique = IncidentId::new().to_string();
    let routed = route(
        store,
        &inbound(
            &unique,
            vec![(email(&format!("{}@x.example", &unique[4..14])), true)],
            "the gateway failed",
        ),
    )
    .await;
    let current = store
        .conversation(routed.conversation)
        .await
        .unwrap()
        .unwrap();
    // Nothing is linked to an incident that is not active.
    let proposed = incident(IncidentState::Proposed);
    store.create_incident(&proposed).await.unwrap();
    let (next, event, link) = linked(&current, proposed.id);
    assert!(matches!(
        store.link_conversation(&link, &next, &event).await,
        Err(PortError::Conflict(_))
    ));
    assert_eq!(
        store.conversation(current.id).await.unwrap().unwrap(),
        current,
        "nothing changed"
    );
    let (next, event, link) = linked(&current, active.id);
    let saved = store.link_conversation(&link, &next, &event).await.unwrap();
    assert_eq!(saved.version, current.version + 1);
    let read = store.conversation(current.id).await.unwrap().unwrap();
    assert_eq!(read.incident_id, Some(active.id));
    assert_eq!(read.version, saved.version);
    assert!(has_event(store, &event).await);
    let counted = store.incident(active.id).await.unwrap().unwrap();
    assert_eq!(counted.linked, BTreeMap::from([(Channel::Email, 1)]));
    assert_eq!(
        store
            .linked_conversations(active.id, None, 10)
            .await
            .unwrap(),
        vec![link.clone()]
    );
    assert_eq!(
        store
            .linked_conversations(active.id, Some(current.id), 10)
            .await
            .unwrap(),
        vec![],
        "nothing after the last"
    );
    // Linking on a stale version changes nothing.
    assert!(matches!(
        store.link_conversation(&link, &next, &event).await,
        Err(PortError::Conflict(_))
    ));
    assert_eq!(
        store
            .incident(active.id)
            .await
            .unwrap()
            .unwrap()
            .linked_total(),
        1
    );

    let ack = |text: &str| {
        Message::outbound(
            current.id,
            current.contact_id,
            Channel::Email,
            Author::System,
            text,
        )
    };
    assert!(store.acknowledge(active.id, &ack("We know")).await.unwrap());
    assert!(
        !store
            .acknowledge(active.id, &ack("We know (again)"))
            .await
            .unwrap(),
        "told once"
    );
    assert!(
        store
            .incident_link(active.id, current.id)
            .await
            .unwrap()
            .unwrap()
            .acknowledged
    );
    assert!(
        !store
            .acknowledge(IncidentId::new(), &ack("not linked"))
            .await
            .unwrap()
    );
    let texts: Vec<String> = messages_in(store, current.id)
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        texts,
        vec!["the gateway failed", "We know"],
        "written once, with the mark"
    );
    let read = store.conversation(current.id).await.unwrap().unwrap();

    let released = Conversation {
        incident_id: None,
        ..read.clone()
    };
    let unlinked = Event::new(
        current.id,
        EventKind::IncidentUnlinked {
            incident_id: active.id,
        },
        None,
        now(),
    );
    store
        .unlink_conversation(active.id, &released, &unlinked)
        .await
        .unwrap();
    let read = store.conversation(current.id).await.unwrap().unwrap();
    assert_eq!(read.incident_id, None);
    assert!(has_event(store, &unlinked).await);
    assert_eq!(
        store
            .incident(active.id)
            .await
            .unwrap()
            .unwrap()
            .linked_total(),
        0
    );
    assert_eq!(
        store.incident_link(active.id, current.id).await.unwrap(),
        None
    );
}

async fn an_updates_reply_is_written_once_and_counted_once(store: &dyn Store) {
    let active = incident(IncidentState::Active);
    store.create_incident(&active).await.unwrap();
    let unique = IncidentId::new().to_string();
    let routed = route(
        store,
        &inbound(
            &unique,
            vec![(email(&format!("{}@y.example", &unique[4..14])), true)],
            "gateway down?",
        ),
    )
    .await;
    let author = AgentId::new();
    let update = IncidentUpdate {
        id: IncidentUpdateId::new(),
        incident_id: active.id,
        text: "It works again".into(),
        author_id: author,
        created_at: now(),
        resolves: None,
        progress: UpdateProgress::default(),
    };
    store.add_update(&update).await.unwrap();
    let reply = |text: &str| {
        Message::outbound(
            routed.conversation,
            routed.contact,
            Channel::Email,
            Author::Agent { agent_id: author },
            text,
        )
    };
    let first = reply("It works again");
    assert!(store.add_update_reply(&update, &first).await.unwrap());
    let again = reply("It works again (a second try)");
    assert!(!store.add_update_reply(&update, &again).await.unwrap());
    let texts: Vec<String> = messages_in(store, routed.conversation)
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        texts,
        vec!["gateway down?", "It works again"],
        "written once"
    );
    assert_eq!(
        store
            .update_reply(update.id, routed.conversation)
            .await
            .unwrap(),
        Some(first.id)
    );
    let progress = |u: &IncidentUpdate| u.progress;
    let read = store.update(active.id, update.id).await.unwrap().unwrap();
    assert_eq!(
        progress(&read),
        UpdateProgress {
            queued: 1,
            ..UpdateProgress::default()
        }
    );
    assert!(
        store
            .settle_update_reply(active.id, update.id, routed.conversation, true)
            .await
            .unwrap()
    );
    assert!(
        !store
            .settle_update_reply(active.id, update.id, routed.conversation, false)
            .await
            .unwrap(),
        "counted once"
    );
    store.finish_fan_out(active.id, update.id).await.unwrap();
    let updates = store.updates(active.id).await.unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].progress,
        UpdateProgress {
            queued: 1,
            sent: 1,
            failed: 0,
            fanned_out: true,
        }
    );
    assert_eq!(updates[0].text, update.text);
}

async fn a_reply_is_claimed_for_sending_once(store: &dyn Store) {
    let unique = IncidentId::new().to_string();
    let routed = route(
        store,
        &inbound(
            &unique,
            vec![(email(&format!("{}@z.example", &unique[4..14])), true)],
            "hello",
        ),
    )
    .await;
    let reply = Message::outbound(
        routed.conversation,
        routed.contact,
        Channel::Email,
        Author::Agent {
            agent_id: AgentId::new(),
        },
        "hi",
    );
    store.add_outbound(&reply).await.unwrap();
    assert!(store.claim_send(reply.id).await.unwrap());
    assert!(!store.claim_send(reply.id).await.unwrap(), "claimed once");
    let read = store.message(reply.id).await.unwrap().unwrap();
    assert_eq!(read.delivery_status, DeliveryStatus::Sending);
    store
        .set_delivery_status(reply.id, DeliveryStatus::Queued, None, None)
        .await
        .unwrap();
    assert!(
        store.claim_send(reply.id).await.unwrap(),
        "again once queued again"
    );
    assert!(
        !store
            .claim_send(shared::model::MessageId::new())
            .await
            .unwrap()
    );
}

async fn the_burst_watch_reads_back_as_saved(store: &dyn Store) {
    assert_eq!(store.burst_watch().await.unwrap(), BurstWatch::default());
    let mut watch = BurstWatch::default();
    for n in 0..30 {
        watch.record(now(), Channel::Sms, &format!("پرداخت ناموفق بود {n}"));
    }
    store.save_burst_watch(&watch).await.unwrap();
    assert_eq!(store.burst_watch().await.unwrap(), watch);
    let bursts = watch.bursts(now(), |_| false);
    assert_eq!(bursts.len(), 1, "{bursts:?}");
    store.save_burst_watch(&watch).await.unwrap();
    assert_eq!(store.burst_watch().await.unwrap(), watch, "and replaced");
}
