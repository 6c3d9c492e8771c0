//! The store ports' contract, on SQLite and on DynamoDB.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use shared::backend::Store;
use shared::model::{
    Agent, AgentId, Assignment, Author, Availability, Channel, ContactId, ContextEntry,
    Conversation, ConversationId, ConversationStatus, DeliveryStatus, Direction, EmailAddress,
    Event, EventKind, Identity, InboundMessage, MAX_STORED_CONTEXT_BYTES, MAX_STORED_TEXT_BYTES,
    Message, MessageId, Note, NoteId, PhoneNumber, PresentedIdentity, Role, SourceId, Team, TeamId,
    ThreadHint, TimelineItem,
};
use shared::ports::{
    AssigneeFilter, ConversationFilter, PageRequest, PortError, RouteOutcome, StatusFilter,
};
use shared::services::route::RoutePolicy;

on_both_backends!(
    embedded: crate::backends::embedded_store,
    aws: crate::backends::dynamo_store,
    tests: [
        a_repeated_source_id_is_stored_once,
        the_latest_messages_come_newest_first_past_notes,
        messages_come_in_windows_newest_first_each_starting_where_the_last_ended,
        a_burst_from_one_new_customer_makes_one_contact_and_one_conversation,
        a_proven_identity_joins_its_contact_and_brings_new_ones_along,
        a_claimed_identity_never_joins_a_contact_that_holds_it_proven,
        merging_keeps_every_identity_conversation_and_message,
        folding_moves_a_whole_timeline_and_later_messages_follow_it,
        pages_of_conversations_follow_on_without_gaps_or_repeats,
        filters_pick_conversations_by_status_assignee_and_contact,
        a_stale_version_is_refused_and_events_join_the_timeline,
        a_reply_bumps_its_conversation_and_records_its_delivery,
        a_customer_waits_from_their_first_unanswered_message_until_an_agent_replies,
        timeline_pages_keep_creation_order,
        agents_and_teams_are_unique_and_found_by_key,
        an_agent_keeps_skills_and_languages_and_is_seen_back_from_idling,
        new_conversations_go_round_the_available_agents,
        a_least_loaded_team_gives_to_whoever_has_fewest,
        a_contacts_tags_and_vip_mark_are_kept_and_read_by_the_router,
        a_customer_link_leads_back_to_its_conversation,
        a_snoozed_conversation_is_due_only_when_its_time_comes,
        contacts_are_found_by_exact_identity_and_by_name,
        a_linking_phone_folds_the_senders_contact_into_its_proven_holder_in_the_same_write,
        replies_and_edits_point_at_the_stored_original_and_albums_keep_their_key,
        blocking_is_recorded_on_the_contact_and_its_conversation_once,
        a_reply_is_found_by_its_provider_id_and_its_status_updated,
        a_message_is_found_by_its_source_id_and_a_bounce_settles_only_a_sent_reply,
        context_and_the_original_are_kept_and_a_long_message_fits_one_item,
        a_setting_is_made_once_and_racing_makers_read_the_same_value,
    ]
);

/// Now, to the millisecond every store keeps.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

pub(crate) fn inbound(
    source: &str,
    identities: Vec<(Identity, bool)>,
    text: &str,
) -> InboundMessage {
    InboundMessage {
        identities: identities
            .into_iter()
            .map(|(identity, proven)| {
                if proven {
                    PresentedIdentity::proven(identity)
                } else {
                    PresentedIdentity::claimed(identity)
                }
            })
            .collect(),
        text: text.into(),
        ..InboundMessage::new(SourceId::new("test", source), Channel::Email, now())
    }
}

pub(crate) fn email(a: &str) -> Identity {
    Identity::email(&EmailAddress::parse(a).unwrap())
}

pub(crate) fn phone(e164: &str) -> Identity {
    Identity::phone(&PhoneNumber::from_e164(e164).unwrap())
}

pub(crate) struct Routed {
    pub message: MessageId,
    pub conversation: ConversationId,
    pub contact: ContactId,
}

pub(crate) async fn route(store: &dyn Store, message: &InboundMessage) -> Routed {
    match store.route(message, &RoutePolicy::default()).await.unwrap() {
        RouteOutcome::Stored {
            message_id,
            conversation_id,
            contact_id,
            ..
        } => Routed {
            message: message_id,
            conversation: conversation_id,
            contact: contact_id,
        },
        RouteOutcome::Duplicate { .. } | RouteOutcome::Erased => {
            panic!("{:?} was new", message.source_id)
        }
    }
}

pub(crate) async fn messages_in(store: &dyn Store, conversation: ConversationId) -> Vec<Message> {
    let page = store
        .timeline(conversation, &PageRequest::first(100))
        .await
        .unwrap();
    page.items
        .into_iter()
        .filter_map(|i| match i {
            TimelineItem::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn agent(name: &str, availability: Availability) -> Agent {
    Agent {
        id: AgentId::new(),
        name: name.into(),
        email: EmailAddress::parse(&format!("{name}@example.com")).unwrap(),
        role: Role::Agent,
        availability,
        max_open_conversations: None,
        team_ids: vec![],
        phone_extension: None,
        skills: vec![],
        languages: vec![],
        last_seen_at: None,
        idle_away: false,
        created_at: now(),
    }
}

async fn a_repeated_source_id_is_stored_once(store: &dyn Store) {
    let msg = inbound("same", vec![(email("sara@example.com"), false)], "hello");
    let first = route(store, &msg).await;
    let again = store.route(&msg, &RoutePolicy::default()).await.unwrap();
    assert_eq!(
        again,
        RouteOutcome::Duplicate {
            message_id: first.message
        }
    );
    assert_eq!(messages_in(store, first.conversation).await.len(), 1);
}

async fn the_latest_messages_come_newest_first_past_notes(store: &dyn Store) {
    let sara = email("sara-latest@example.com");
    let first = route(
        store,
        &inbound("latest-0", vec![(sara.clone(), true)], "m0"),
    )
    .await;
    for n in 1..15 {
        let msg = inbound(
            &format!("latest-{n}"),
            vec![(sara.clone(), true)],
            &format!("m{n}"),
        );
        route(store, &msg).await;
        // Notes between the messages: they are timeline items, not messages.
        let note = Note {
            id: NoteId::new(),
            conversation_id: first.conversation,
            author_id: AgentId::new(),
            text: format!("note {n}"),
            created_at: now(),
        };
        store.add_note(&note).await.unwrap();
    }
    let latest = store.latest_messages(first.conversation, 10).await.unwrap();
    let texts: Vec<&str> = latest.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "m14", "m13", "m12", "m11", "m10", "m9", "m8", "m7", "m6", "m5"
        ]
    );
    let all = store
        .latest_messages(first.conversation, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 15);
    assert_eq!(all.last().map(|m| m.text.as_str()), Some("m0"));
}

async fn messages_come_in_windows_newest_first_each_starting_where_the_last_ended(
    store: &dyn Store,
) {
    let omid = email("omid-windows@example.com");
    let first = route(
        store,
        &inbound("windows-0", vec![(omid.clone(), true)], "w0"),
    )
    .await;
    let mut note_ids = Vec::new();
    for n in 1..8 {
        let note = Note {
            id: NoteId::new(),
            conversation_id: first.conversation,
            author_id: AgentId::new(),
            text: format!("note {n}"),
            created_at: now(),
        };
        store.add_note(&note).await.unwrap();
        note_ids.push(note.id);
        let msg = inbound(
            &format!("windows-{n}"),
            vec![(omid.clone(), true)],
            &format!("w{n}"),
        );
        route(store, &msg).await;
    }
    let texts =
        |messages: &[Message]| -> Vec<String> { messages.iter().map(|m| m.text.clone()).collect() };
    let mut windows = Vec::new();
    let mut before = None;
    loop {
        let window = store
            .messages_before(first.conversation, before, 3)
            .await
            .unwrap();
        assert!(window.messages.len() <= 3);
        windows.push(texts(&window.messages));
        match window.older {
            Some(older) => before = Some(older),
            None => break,
        }
        assert!(windows.len() < 10, "the windows never end: {windows:?}");
    }
    assert_eq!(
        windows,
        [
            vec!["w7", "w6", "w5"],
            vec!["w4", "w3", "w2"],
            vec!["w1", "w0"]
        ]
    );
    // Any item's place starts a window: the messages older than the third note.
    let from_note = store
        .messages_before(first.conversation, Some(note_ids[2].ulid()), 10)
        .await
        .unwrap();
    assert_eq!(texts(&from_note.messages), ["w2", "w1", "w0"]);
    assert_eq!(from_note.older, None);
    // Older than the oldest: nothing.
    let none = store
        .messages_before(first.conversation, Some(first.message.ulid()), 10)
        .await
        .unwrap();
    assert!(none.messages.is_empty() && none.older.is_none(), "{none:?}");
}

/// Routes `message` the way the router does: a store that lost a race (`Conflict`) or
/// was busy (`Unavailable`) gets the message again, as the queue would redeliver it.
async fn route_until_stored(store: &dyn Store, message: &InboundMessage) -> RouteOutcome {
    let mut last = None;
    for _ in 0..50 {
        match store.route(message, &RoutePolicy::default()).await {
            Ok(outcome) => return outcome,
            Err(e @ (PortError::Conflict(_) | PortError::Unavailable(_))) => last = Some(e),
            Err(e) => panic!("routing failed: {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("still not stored after 50 deliveries: {last:?}")
}

async fn a_burst_from_one_new_customer_makes_one_contact_and_one_conversation(store: &dyn Store) {
    // All at once, as if nothing ordered them: the store alone keeps them apart.
    let sends = (0..20).map(|i| async move {
        let msg = inbound(
            &format!("burst-{i}"),
            vec![(email("new@example.com"), false)],
            &format!("m{i}"),
        );
        route_until_stored(store, &msg).await
    });
    let outcomes = futures::future::join_all(sends).await;
    let mut pairs: Vec<(ConversationId, ContactId)> = Vec::new();
    for outcome in outcomes {
        let message_id = match outcome {
            RouteOutcome::Stored { message_id, .. } => message_id,
            // A retry of a write that landed although its answer was lost.
            RouteOutcome::Duplicate { message_id } => message_id,
            RouteOutcome::Erased => panic!("nothing was erased"),
        };
        let m = store.message(message_id).await.unwrap().unwrap();
        pairs.push((m.conversation_id, m.contact_id));
    }
    pairs.sort();
    pairs.dedup();
    assert_eq!(
        pairs.len(),
        1,
        "one conversation and one contact: {pairs:?}"
    );
    assert_eq!(messages_in(store, pairs[0].0).await.len(), 20);
    let contacts = store
        .search_contacts("", &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(contacts.items.len(), 1);
}

async fn a_proven_identity_joins_its_contact_and_brings_new_ones_along(store: &dyn Store) {
    let telegram = Identity::telegram(7_000_000_001);
    let first = route(store, &inbound("t1", vec![(telegram.clone(), true)], "hi")).await;
    let second = route(
        store,
        &inbound(
            "t2",
            vec![(telegram, true), (phone("+989123456789"), true)],
            "my number",
        ),
    )
    .await;
    assert_eq!(second.contact, first.contact);
    assert_eq!(second.conversation, first.conversation);
    let by_phone = route(
        store,
        &inbound("s1", vec![(phone("+989123456789"), true)], "sms"),
    )
    .await;
    assert_eq!(by_phone.contact, first.contact);
    let contact = store.contact(first.contact).await.unwrap().unwrap();
    assert_eq!(contact.identities.len(), 2);
    assert!(contact.identities.iter().all(|i| i.proven));
}

async fn a_claimed_identity_never_joins_a_contact_that_holds_it_proven(store: &dyn Store) {
    let owner = route(
        store,
        &inbound("p1", vec![(email("owner@example.com"), true)], "mine"),
    )
    .await;
    let claimer = route(
        store,
        &inbound("c1", vec![(email("owner@example.com"), false)], "typed it"),
    )
    .await;
    assert_ne!(claimer.contact, owner.contact);
    assert_ne!(claimer.conversation, owner.conversation);
    let contact = store.contact(claimer.contact).await.unwrap().unwrap();
    assert!(
        contact
            .merge_suggestions
            .iter()
            .any(|s| s.other_contact_id == owner.contact),
        "a merge is suggested: {contact:?}"
    );
}

async fn merging_keeps_every_identity_conversation_and_message(store: &dyn Store) {
    let phone = phone("+989123456789");
    let keep = route(
        store,
        &inbound("1", vec![(email("sara@example.com"), false)], "a"),
    )
    .await;
    let gone = route(store, &inbound("2", vec![(phone.clone(), true)], "b")).await;
    let merged = store
        .merge_contacts(keep.contact, gone.contact, AgentId::new(), now())
        .await
        .unwrap();
    assert_eq!(merged.identities.len(), 2);
    assert!(
        merged
            .identities
            .iter()
            .any(|i| i.identity == phone && i.proven)
    );
    assert!(store.contact(gone.contact).await.unwrap().is_none());
    let moved = store
        .conversation(gone.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.contact_id, keep.contact);
    let moved_messages = messages_in(store, gone.conversation).await;
    assert_eq!(moved_messages.len(), 1);
    assert_eq!(moved_messages[0].contact_id, keep.contact);
    assert_eq!(
        moved_messages[0].author,
        Author::Contact {
            contact_id: keep.contact
        }
    );
    let filter = ConversationFilter {
        contact: Some(keep.contact),
        ..Default::default()
    };
    let listed = store
        .list_conversations(&filter, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);

    // The next message from the phone lands with the survivor.
    let later = route(store, &inbound("3", vec![(phone, true)], "c")).await;
    assert_eq!(later.contact, keep.contact);
    let same = store
        .merge_contacts(keep.contact, keep.contact, AgentId::new(), now())
        .await;
    assert!(matches!(same, Err(PortError::Invalid(_))), "{same:?}");
    let unknown = store
        .merge_contacts(keep.contact, ContactId::new(), AgentId::new(), now())
        .await;
    assert!(matches!(unknown, Err(PortError::NotFound)), "{unknown:?}");
}

async fn folding_moves_a_whole_timeline_and_later_messages_follow_it(store: &dyn Store) {
    let phone = phone("+989123450001");
    let keep = route(
        store,
        &inbound(
            "fold-1",
            vec![(email("fold@example.com"), false)],
            "by email",
        ),
    )
    .await;
    let gone = route(
        store,
        &inbound("fold-2", vec![(phone.clone(), true)], "by sms"),
    )
    .await;
    // More than one transaction of items on DynamoDB.
    for i in 0..40 {
        let more = route(
            store,
            &inbound(
                &format!("fold-more-{i}"),
                vec![(phone.clone(), true)],
                "again",
            ),
        )
        .await;
        assert_eq!(more.conversation, gone.conversation);
    }
    let agent = AgentId::new();
    store
        .merge_contacts(keep.contact, gone.contact, agent, now())
        .await
        .unwrap();
    let note = Note {
        id: NoteId::new(),
        conversation_id: gone.conversation,
        author_id: agent,
        text: "called them back".into(),
        created_at: now(),
    };
    store.add_note(&note).await.unwrap();

    let from = store
        .conversation(gone.conversation)
        .await
        .unwrap()
        .unwrap();
    let into = store
        .conversation(keep.conversation)
        .await
        .unwrap()
        .unwrap();
    let event = Event::new(
        into.id,
        EventKind::ConversationFolded { from: from.id },
        Some(agent),
        now(),
    );
    let stale = store
        .fold_conversation(
            &Conversation {
                version: from.version - 1,
                ..from.clone()
            },
            &into.absorbing(&from, now()),
            into.version,
            &event,
        )
        .await;
    assert!(matches!(stale, Err(PortError::Conflict(_))), "{stale:?}");
    // A stale fold may have moved items (DynamoDB); read again, as the inbox does.
    let from = store
        .conversation(gone.conversation)
        .await
        .unwrap()
        .unwrap();
    let into = store
        .conversation(keep.conversation)
        .await
        .unwrap()
        .unwrap();
    let folded = store
        .fold_conversation(&from, &into.absorbing(&from, now()), into.version, &event)
        .await
        .unwrap();
    assert_eq!(folded.id, keep.conversation);
    assert_eq!(folded.message_count, 42);
    assert!(folded.channels.contains(&Channel::Email));
    assert!(
        store
            .conversation(gone.conversation)
            .await
            .unwrap()
            .is_none()
    );

    let items = store
        .timeline(keep.conversation, &PageRequest::first(100))
        .await
        .unwrap()
        .items;
    let messages: Vec<&Message> = items
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), 42, "every message, once");
    assert_eq!(messages[0].id, keep.message, "in the order they came");
    assert_eq!(messages[1].id, gone.message);
    assert!(
        messages
            .iter()
            .all(|m| m.conversation_id == keep.conversation)
    );
    assert!(
        items
            .iter()
            .any(|i| matches!(i, TimelineItem::Note(n) if n.id == note.id))
    );
    assert!(items.iter().any(
        |i| matches!(i, TimelineItem::Event(e) if e.kind == EventKind::ConversationFolded { from: gone.conversation })
    ));
    let moved = store.message(gone.message).await.unwrap().unwrap();
    assert_eq!(moved.conversation_id, keep.conversation);

    let later = route(
        store,
        &inbound("fold-3", vec![(phone, true)], "still there?"),
    )
    .await;
    assert_eq!(
        later.conversation, keep.conversation,
        "the customer's next message joins the conversation folded into"
    );
}

async fn pages_of_conversations_follow_on_without_gaps_or_repeats(store: &dyn Store) {
    let mut made = Vec::new();
    for i in 0..12 {
        let who = email(&format!("c{i}@example.com"));
        made.push(route(store, &inbound(&i.to_string(), vec![(who, false)], "hi")).await);
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(5);
    loop {
        let got = store
            .list_conversations(&ConversationFilter::default(), &page)
            .await
            .unwrap();
        assert!(got.items.len() <= 5);
        seen.extend(got.items.iter().map(|c| c.id));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    // Newest activity first: the reverse of the order they were made in.
    let expected: Vec<ConversationId> = made.iter().rev().map(|r| r.conversation).collect();
    assert_eq!(seen, expected);
    let bad = PageRequest {
        limit: 5,
        cursor: Some("not-a-cursor!".into()),
    };
    let refused = store
        .list_conversations(&ConversationFilter::default(), &bad)
        .await;
    assert!(matches!(refused, Err(PortError::Invalid(_))), "{refused:?}");
}

async fn set_status(store: &dyn Store, id: ConversationId, status: ConversationStatus) {
    let c = store.conversation(id).await.unwrap().unwrap();
    let next = Conversation {
        status,
        updated_at: now(),
        ..c.clone()
    };
    store
        .save_conversation(&next, c.version, &[])
        .await
        .unwrap();
}

async fn filters_pick_conversations_by_status_assignee_and_contact(store: &dyn Store) {
    let a = route(
        store,
        &inbound("a", vec![(email("a@example.com"), false)], "a"),
    )
    .await;
    let b = route(
        store,
        &inbound("b", vec![(email("b@example.com"), false)], "b"),
    )
    .await;
    let c = route(
        store,
        &inbound("c", vec![(email("c@example.com"), false)], "c"),
    )
    .await;
    set_status(store, b.conversation, ConversationStatus::Resolved).await;
    let agent_id = AgentId::new();
    let current = store.conversation(c.conversation).await.unwrap().unwrap();
    let assigned = Conversation {
        assignee_id: Some(agent_id),
        updated_at: now(),
        ..current.clone()
    };
    store
        .save_conversation(&assigned, current.version, &[])
        .await
        .unwrap();

    let ids = |filter: ConversationFilter| async move {
        let mut ids: Vec<ConversationId> = store
            .list_conversations(&filter, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .iter()
            .map(|c| c.id)
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<ConversationId>| {
        v.sort();
        v
    };
    assert_eq!(
        ids(ConversationFilter {
            status: StatusFilter::Only(ConversationStatus::Open),
            ..Default::default()
        })
        .await,
        sorted(vec![a.conversation, c.conversation])
    );
    assert_eq!(
        ids(ConversationFilter {
            status: StatusFilter::Only(ConversationStatus::Resolved),
            ..Default::default()
        })
        .await,
        vec![b.conversation]
    );
    assert_eq!(
        ids(ConversationFilter {
            assignee: AssigneeFilter::Agent(agent_id),
            ..Default::default()
        })
        .await,
        vec![c.conversation]
    );
    assert_eq!(
        ids(ConversationFilter {
            assignee: AssigneeFilter::Unassigned,
            status: StatusFilter::Only(ConversationStatus::Open),
            ..Default::default()
        })
        .await,
        vec![a.conversation]
    );
    assert_eq!(
        ids(ConversationFilter {
            contact: Some(b.contact),
            ..Default::default()
        })
        .await,
        vec![b.conversation]
    );
    assert_eq!(
        ids(ConversationFilter {
            channel: Some(Channel::Telegram),
            ..Default::default()
        })
        .await,
        Vec::<ConversationId>::new()
    );
    assert_eq!(
        ids(ConversationFilter {
            channel: Some(Channel::Email),
            ..Default::default()
        })
        .await,
        sorted(vec![a.conversation, b.conversation, c.conversation])
    );
}

async fn a_stale_version_is_refused_and_events_join_the_timeline(store: &dyn Store) {
    let r = route(
        store,
        &inbound("v", vec![(email("v@example.com"), false)], "v"),
    )
    .await;
    let c = store.conversation(r.conversation).await.unwrap().unwrap();
    let event = Event::new(
        c.id,
        EventKind::StatusChanged {
            from: ConversationStatus::Open,
            to: ConversationStatus::Pending,
        },
        Some(AgentId::new()),
        now(),
    );
    let pending = Conversation {
        status: ConversationStatus::Pending,
        ..c.clone()
    };
    let saved = store
        .save_conversation(&pending, c.version, std::slice::from_ref(&event))
        .await
        .unwrap();
    assert_eq!(saved.version, c.version + 1);
    let stale = store.save_conversation(&pending, c.version, &[]).await;
    assert!(matches!(stale, Err(PortError::Conflict(_))), "{stale:?}");
    let timeline = store.timeline(c.id, &PageRequest::first(50)).await.unwrap();
    assert!(
        timeline
            .items
            .iter()
            .any(|i| matches!(i, TimelineItem::Event(e) if e == &event))
    );
    assert_eq!(
        store.event(c.id, event.id).await.unwrap(),
        Some(event.clone())
    );
    assert_eq!(
        store.event(ConversationId::new(), event.id).await.unwrap(),
        None
    );
    let stored = store.conversation(c.id).await.unwrap().unwrap();
    assert_eq!(stored.status, ConversationStatus::Pending);
    assert_eq!(stored.version, c.version + 1);
}

async fn a_reply_bumps_its_conversation_and_records_its_delivery(store: &dyn Store) {
    let r = route(
        store,
        &inbound("r", vec![(email("r@example.com"), false)], "help"),
    )
    .await;
    let before = store.conversation(r.conversation).await.unwrap().unwrap();
    let reply = Message {
        id: MessageId::new(),
        conversation_id: r.conversation,
        contact_id: r.contact,
        direction: Direction::Outbound,
        channel: Channel::Web,
        author: Author::Agent {
            agent_id: AgentId::new(),
        },
        text: "Fixed — try again".into(),
        attachments: vec![],
        source_id: None,
        delivery_status: DeliveryStatus::Queued,
        delivery_error: None,
        created_at: now(),
        reply_to: None,
        edit_of: None,
        media_group: None,
        external_id: None,
        context: Vec::new(),
        original: None,
        sent_from: Vec::new(),
        provider_id: None,
    };
    store.add_outbound(&reply).await.unwrap();
    let after = store.conversation(r.conversation).await.unwrap().unwrap();
    assert_eq!(after.message_count, before.message_count + 1);
    assert_eq!(after.preview, "Fixed — try again");
    assert!(after.version > before.version);
    assert_eq!(store.message(reply.id).await.unwrap().unwrap(), reply);

    store
        .set_delivery_status(
            reply.id,
            DeliveryStatus::Failed,
            Some("blocked"),
            Some("p-1"),
        )
        .await
        .unwrap();
    let failed = store.message(reply.id).await.unwrap().unwrap();
    assert_eq!(failed.delivery_status, DeliveryStatus::Failed);
    assert_eq!(failed.provider_id.as_deref(), Some("p-1"));
    assert_eq!(failed.delivery_error.as_deref(), Some("blocked"));
    let unknown = store
        .set_delivery_status(MessageId::new(), DeliveryStatus::Sent, None, None)
        .await;
    assert!(matches!(unknown, Err(PortError::NotFound)), "{unknown:?}");
    assert!(store.message(MessageId::new()).await.unwrap().is_none());
    let orphan = Message {
        id: MessageId::new(),
        conversation_id: ConversationId::new(),
        ..reply
    };
    let refused = store.add_outbound(&orphan).await;
    assert!(matches!(refused, Err(PortError::NotFound)), "{refused:?}");
}

async fn timeline_pages_keep_creation_order(store: &dyn Store) {
    let r = route(
        store,
        &inbound("t", vec![(email("t@example.com"), false)], "first"),
    )
    .await;
    for i in 0..4 {
        let note = Note {
            id: NoteId::new(),
            conversation_id: r.conversation,
            author_id: AgentId::new(),
            text: format!("note {i}"),
            created_at: now(),
        };
        store.add_note(&note).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let got = store.timeline(r.conversation, &page).await.unwrap();
        seen.extend(got.items);
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    let keys: Vec<_> = seen.iter().map(TimelineItem::sort_key).collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(keys, sorted);
    let notes: Vec<&str> = seen
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Note(n) => Some(n.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(notes, ["note 0", "note 1", "note 2", "note 3"]);
    assert!(matches!(
        seen.first(),
        Some(TimelineItem::Message(_)) | Some(TimelineItem::Event(_))
    ));
}

async fn agents_and_teams_are_unique_and_found_by_key(store: &dyn Store) {
    let ana = agent("ana", Availability::Available);
    store.create_agent(&ana, "hash-ana").await.unwrap();
    let twin = Agent {
        id: AgentId::new(),
        ..ana.clone()
    };
    let taken = store.create_agent(&twin, "hash-twin").await;
    assert!(matches!(taken, Err(PortError::Conflict(_))), "{taken:?}");
    assert!(
        store
            .agent_by_key_hash("hash-twin")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.agent_by_key_hash("hash-ana").await.unwrap(),
        Some(ana.clone())
    );
    store.replace_agent_key(ana.id, "hash-ana-2").await.unwrap();
    assert_eq!(
        store.agent_by_key_hash("hash-ana").await.unwrap(),
        None,
        "a replaced key stops working"
    );
    store.replace_agent_key(ana.id, "hash-ana-3").await.unwrap();
    for old in ["hash-ana", "hash-ana-2"] {
        assert_eq!(store.agent_by_key_hash(old).await.unwrap(), None, "{old}");
    }
    assert_eq!(
        store.agent_by_key_hash("hash-ana-3").await.unwrap(),
        Some(ana.clone())
    );
    assert!(matches!(
        store.replace_agent_key(AgentId::new(), "hash-nobody").await,
        Err(PortError::NotFound)
    ));
    assert_eq!(store.agent_by_key_hash("hash-nobody").await.unwrap(), None);
    let mut others = vec![ana.id];
    for name in ["bo", "cy", "di"] {
        let a = agent(name, Availability::Away);
        store
            .create_agent(&a, &format!("hash-{name}"))
            .await
            .unwrap();
        others.push(a.id);
    }
    let mut listed = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let got = store.list_agents(&page).await.unwrap();
        listed.extend(got.items.iter().map(|a| a.id));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    others.sort();
    assert_eq!(listed, others);
    let away = Agent {
        availability: Availability::Away,
        name: "Ana R".into(),
        phone_extension: Some("201".into()),
        ..ana.clone()
    };
    store.save_agent(&away).await.unwrap();
    assert_eq!(store.agent(ana.id).await.unwrap(), Some(away));
    let missing = store.save_agent(&agent("ghost", Availability::Away)).await;
    assert!(matches!(missing, Err(PortError::NotFound)), "{missing:?}");

    let billing = Team {
        id: TeamId::new(),
        name: "Billing".into(),
        assignment: Assignment::RoundRobin,
        bot_answers_first: true,
        created_at: now(),
    };
    store.create_team(&billing).await.unwrap();
    let again = Team {
        id: TeamId::new(),
        name: "Billing".into(),
        assignment: Assignment::LeastLoaded,
        bot_answers_first: true,
        created_at: now(),
    };
    let refused = store.create_team(&again).await;
    assert!(
        matches!(refused, Err(PortError::Conflict(_))),
        "{refused:?}"
    );
    let support = Team {
        id: TeamId::new(),
        name: "Support".into(),
        assignment: Assignment::LeastLoaded,
        bot_answers_first: false,
        created_at: now(),
    };
    store.create_team(&support).await.unwrap();
    assert_eq!(
        store.list_teams().await.unwrap(),
        vec![billing.clone(), support]
    );
    assert_eq!(store.team(billing.id).await.unwrap(), Some(billing.clone()));
    assert!(
        store
            .set_team_assignment(billing.id, Assignment::LeastLoaded)
            .await
            .unwrap()
    );
    assert_eq!(
        store.team(billing.id).await.unwrap().map(|t| t.assignment),
        Some(Assignment::LeastLoaded)
    );
    assert!(
        !store
            .set_team_assignment(TeamId::new(), Assignment::LeastLoaded)
            .await
            .unwrap(),
        "no such team"
    );
    // The bot's switch, kept apart from the assignment.
    assert!(store.set_team_bot(billing.id, false).await.unwrap());
    let turned = store.team(billing.id).await.unwrap().expect("the team");
    assert_eq!(
        (turned.bot_answers_first, turned.assignment),
        (false, Assignment::LeastLoaded)
    );
    assert!(!store.set_team_bot(TeamId::new(), false).await.unwrap());
}

async fn an_agent_keeps_skills_and_languages_and_is_seen_back_from_idling(store: &dyn Store) {
    let mut ana = Agent {
        skills: vec!["refunds".into()],
        languages: vec!["fa".into(), "en".into()],
        ..agent("seen-ana", Availability::Available)
    };
    store.create_agent(&ana, "hash-seen-ana").await.unwrap();
    assert_eq!(store.agent(ana.id).await.unwrap(), Some(ana.clone()));
    // Never seen: set away only as never seen.
    let never = Agent {
        id: AgentId::new(),
        ..agent("never-seen", Availability::Available)
    };
    store.create_agent(&never, "hash-never-seen").await.unwrap();
    assert!(!store.set_idle_away(never.id, Some(now())).await.unwrap());
    assert!(store.set_idle_away(never.id, None).await.unwrap());
    let idle = store.agent(never.id).await.unwrap().unwrap();
    assert_eq!(
        (idle.availability, idle.idle_away),
        (Availability::Away, true)
    );
    assert!(
        !store.set_idle_away(never.id, None).await.unwrap(),
        "away already"
    );

    let first = now();
    store.mark_seen(ana.id, first, false).await.unwrap();
    ana.last_seen_at = Some(first);
    assert_eq!(store.agent(ana.id).await.unwrap(), Some(ana.clone()));

    // Set away for idling, as last seen; seen again, available again.
    assert!(
        !store
            .set_idle_away(ana.id, Some(first - chrono::Duration::minutes(1)))
            .await
            .unwrap(),
        "seen since"
    );
    assert!(store.set_idle_away(ana.id, Some(first)).await.unwrap());
    ana.availability = Availability::Away;
    ana.idle_away = true;
    assert_eq!(store.agent(ana.id).await.unwrap(), Some(ana.clone()));
    let later = first + chrono::Duration::minutes(5);
    store.mark_seen(ana.id, later, true).await.unwrap();
    let back = store.agent(ana.id).await.unwrap().unwrap();
    assert_eq!(back.availability, Availability::Available);
    assert!(!back.idle_away);
    assert_eq!(back.last_seen_at, Some(later));
    assert_eq!(back.skills, ["refunds"]);

    // Away by their own choice: being seen changes nothing of it.
    let mut own = back.clone();
    own.availability = Availability::Offline;
    store.save_agent(&own).await.unwrap();
    store
        .mark_seen(ana.id, later + chrono::Duration::minutes(1), true)
        .await
        .unwrap();
    assert_eq!(
        store.agent(ana.id).await.unwrap().unwrap().availability,
        Availability::Offline
    );
    store.mark_seen(AgentId::new(), later, false).await.unwrap();
}

async fn new_conversations_go_round_the_available_agents(store: &dyn Store) {
    let a = agent("rr-a", Availability::Available);
    let b = agent("rr-b", Availability::Available);
    let off = agent("rr-off", Availability::Away);
    for (x, key) in [(&a, "k-a"), (&b, "k-b"), (&off, "k-off")] {
        store.create_agent(x, key).await.unwrap();
    }
    let mut assignees = Vec::new();
    for i in 0..4 {
        let r = route(
            store,
            &inbound(
                &format!("rr{i}"),
                vec![(email(&format!("rr{i}@example.com")), false)],
                "hi",
            ),
        )
        .await;
        let c = store.conversation(r.conversation).await.unwrap().unwrap();
        assignees.push(c.assignee_id.expect("an available agent takes it"));
    }
    assert!(!assignees.contains(&off.id));
    assert_ne!(assignees[0], assignees[1]);
    assert_eq!(assignees[0], assignees[2]);
    assert_eq!(assignees[1], assignees[3]);
}

async fn a_least_loaded_team_gives_to_whoever_has_fewest(store: &dyn Store) {
    let team = Team {
        id: TeamId::new(),
        name: format!("least-{}", TeamId::new()),
        assignment: Assignment::LeastLoaded,
        bot_answers_first: true,
        created_at: now(),
    };
    store.create_team(&team).await.unwrap();
    let member = |name: &str| Agent {
        team_ids: vec![team.id],
        ..agent(name, Availability::Available)
    };
    let (busy, free) = (member("ll-busy"), member("ll-free"));
    store.create_agent(&busy, "k-ll-busy").await.unwrap();
    store.create_agent(&free, "k-ll-free").await.unwrap();
    let policy = RoutePolicy {
        default_team: Some(team.id),
        ..RoutePolicy::default()
    };
    let routed = |i: usize| {
        let policy = policy.clone();
        async move {
            let message = inbound(
                &format!("ll{i}"),
                vec![(email(&format!("ll{i}@example.com")), false)],
                "hi",
            );
            match store.route(&message, &policy).await.unwrap() {
                RouteOutcome::Stored {
                    conversation_id, ..
                } => store.conversation(conversation_id).await.unwrap().unwrap(),
                other => panic!("not stored: {other:?}"),
            }
        }
    };
    // `busy` holds two already (given by hand).
    for i in 0..2 {
        let c = routed(i).await;
        if c.assignee_id != Some(busy.id) {
            let given = Conversation {
                assignee_id: Some(busy.id),
                ..c.clone()
            };
            store
                .save_conversation(&given, c.version, &[])
                .await
                .unwrap();
        }
    }
    let next: Vec<Option<AgentId>> =
        [routed(2).await.assignee_id, routed(3).await.assignee_id].into();
    assert_eq!(next, vec![Some(free.id), Some(free.id)], "the fewest first");
    let even = [routed(4).await.assignee_id, routed(5).await.assignee_id];
    assert_ne!(even[0], even[1], "even: in turn");
}

async fn a_contacts_tags_and_vip_mark_are_kept_and_read_by_the_router(store: &dyn Store) {
    use shared::model::{Action, Condition, ContactProfile, Priority, Rule, RuleId, Trigger};
    use shared::services::route::RuleBook;
    let first = route(
        store,
        &inbound("vip1", vec![(email("vip@example.com"), false)], "hi"),
    )
    .await;
    let profile = ContactProfile {
        tags: vec!["wholesale".into()],
        vip: true,
    };
    let at = now();
    let kept = store
        .set_contact_profile(first.contact, &profile, at)
        .await
        .unwrap()
        .expect("the contact");
    assert_eq!(
        (kept.tags.clone(), kept.vip, kept.updated_at),
        (profile.tags.clone(), true, at)
    );
    assert_eq!(
        store.contact(first.contact).await.unwrap(),
        Some(kept.clone())
    );
    assert_eq!(
        kept.identities.len(),
        1,
        "the rest of the contact is as it was"
    );
    assert_eq!(
        store
            .set_contact_profile(ContactId::new(), &profile, at)
            .await
            .unwrap(),
        None
    );
    // The router reads the mark for a rule that asks.
    let rule = Rule {
        id: RuleId::new(),
        name: "VIPs first".into(),
        enabled: true,
        position: 0,
        trigger: Trigger::MessageReceived,
        conditions: vec![
            Condition::Vip { is: true },
            Condition::ContactTagged {
                any_of: vec!["wholesale".into()],
            },
        ],
        actions: vec![Action::SetPriority {
            priority: Priority::Urgent,
        }],
        stop_processing: false,
        idle_minutes: None,
    };
    let policy = RoutePolicy {
        rules: RuleBook::new(vec![rule], vec![]),
        ..RoutePolicy::default()
    };
    let again = inbound("vip2", vec![(email("vip@example.com"), false)], "again");
    let RouteOutcome::Stored {
        conversation_id, ..
    } = store.route(&again, &policy).await.unwrap()
    else {
        panic!("not stored");
    };
    assert_eq!(conversation_id, first.conversation);
    let c = store.conversation(conversation_id).await.unwrap().unwrap();
    assert_eq!(c.priority, Priority::Urgent);
    let stranger = inbound("vip3", vec![(email("not-vip@example.com"), false)], "hi");
    let RouteOutcome::Stored {
        conversation_id, ..
    } = store.route(&stranger, &policy).await.unwrap()
    else {
        panic!("not stored");
    };
    let c = store.conversation(conversation_id).await.unwrap().unwrap();
    assert_eq!(c.priority, Priority::Normal, "a new contact is no VIP");
}

async fn a_customer_link_leads_back_to_its_conversation(store: &dyn Store) {
    let first = InboundMessage {
        customer_link: Some("ab".repeat(32)),
        ..inbound("l1", vec![(email("l@example.com"), false)], "form")
    };
    let r = route(store, &first).await;
    assert_eq!(
        store.conversation_for_link(&"ab".repeat(32)).await.unwrap(),
        Some(r.conversation)
    );
    assert_eq!(
        store.conversation_for_link(&"cd".repeat(32)).await.unwrap(),
        None
    );
    let answer = InboundMessage {
        thread: ThreadHint::CustomerLink {
            link_hash: "ab".repeat(32),
        },
        ..inbound("l2", vec![], "on the page")
    };
    let on_page = route(store, &answer).await;
    assert_eq!(on_page.conversation, r.conversation);
    assert_eq!(messages_in(store, r.conversation).await.len(), 2);
}

async fn a_snoozed_conversation_is_due_only_when_its_time_comes(store: &dyn Store) {
    let r = route(
        store,
        &inbound("s", vec![(email("s@example.com"), false)], "hi"),
    )
    .await;
    let c = store.conversation(r.conversation).await.unwrap().unwrap();
    let until = now() + Duration::hours(1);
    let snoozed = Conversation {
        status: ConversationStatus::Snoozed,
        snoozed_until: Some(until),
        ..c.clone()
    };
    store
        .save_conversation(&snoozed, c.version, &[])
        .await
        .unwrap();
    assert!(
        store
            .snoozed_until_before(now(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let woken = shared::services::sweep::wake_snoozed(store, until + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(woken, 1);
    let open = store.conversation(r.conversation).await.unwrap().unwrap();
    assert_eq!(open.status, ConversationStatus::Open);
    assert_eq!(open.snoozed_until, None);
}

async fn contacts_are_found_by_exact_identity_and_by_name(store: &dyn Store) {
    let named = InboundMessage {
        sender_name: Some("Sara Ahmadi".into()),
        ..inbound("n1", vec![(email("sara@example.com"), false)], "hi")
    };
    let sara = route(store, &named).await;
    let other = InboundMessage {
        sender_name: Some("Omid".into()),
        ..inbound("n2", vec![(phone("+989121111111"), true)], "hi")
    };
    let omid = route(store, &other).await;
    let found = |query: &'static str| async move {
        store
            .search_contacts(query, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(found("sara@example.com").await, vec![sara.contact]);
    assert_eq!(found("sara").await, vec![sara.contact]);
    assert_eq!(found("+989121111111").await, vec![omid.contact]);
    assert_eq!(found("").await, vec![omid.contact, sara.contact]);
    assert!(found("nobody@example.com").await.is_empty());
}

fn stored(
    outcome: RouteOutcome,
) -> (
    shared::model::MessageId,
    shared::model::ConversationId,
    ContactId,
) {
    match outcome {
        RouteOutcome::Stored {
            message_id,
            conversation_id,
            contact_id,
            ..
        } => (message_id, conversation_id, contact_id),
        other => panic!("expected stored, got {other:?}"),
    }
}

async fn a_linking_phone_folds_the_senders_contact_into_its_proven_holder_in_the_same_write(
    store: &dyn Store,
) {
    let policy = RoutePolicy::default();
    let phone = Identity::phone(&PhoneNumber::from_e164("+989123456789").unwrap());
    let (_, web_conversation, by_form) = stored(
        store
            .route(
                &InboundMessage {
                    channel: Channel::Sms,
                    ..inbound("sms", vec![(phone.clone(), true)], "by text")
                },
                &policy,
            )
            .await
            .unwrap(),
    );
    let (_, tg_conversation, on_telegram) = stored(
        store
            .route(
                &inbound("tg-1", vec![(Identity::telegram(42), true)], "hello"),
                &policy,
            )
            .await
            .unwrap(),
    );
    assert_ne!(by_form, on_telegram);
    let mut share = inbound(
        "tg-2",
        vec![(Identity::telegram(42), true), (phone.clone(), true)],
        "Contact: Sara, +989123456789",
    );
    share.identities[1].links = true;
    let (_, conversation, contact) = stored(store.route(&share, &policy).await.unwrap());
    assert_eq!(contact, by_form, "the holder survives");
    assert_eq!(conversation, tg_conversation);

    assert!(store.contact(on_telegram).await.unwrap().is_none());
    let merged = store.contact(by_form).await.unwrap().unwrap();
    let mut held: Vec<_> = merged
        .identities
        .iter()
        .map(|i| (i.identity.clone(), i.proven))
        .collect();
    held.sort_by_key(|(i, _)| i.key());
    assert_eq!(held, vec![(phone, true), (Identity::telegram(42), true)]);
    for id in [web_conversation, tg_conversation] {
        let c = store.conversation(id).await.unwrap().unwrap();
        assert_eq!(c.contact_id, by_form);
    }
    let timeline = store
        .timeline(tg_conversation, &PageRequest::first(100))
        .await
        .unwrap();
    let messages: Vec<_> = timeline
        .items
        .iter()
        .filter_map(|i| match i {
            shared::model::TimelineItem::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.contact_id == by_form));
}

async fn replies_and_edits_point_at_the_stored_original_and_albums_keep_their_key(
    store: &dyn Store,
) {
    let policy = RoutePolicy::default();
    let sender = || vec![(Identity::telegram(7), true)];
    let original = inbound("1:101", sender(), "first");
    let (first, conversation, _) = stored(store.route(&original, &policy).await.unwrap());
    let mut reply = inbound("1:102", sender(), "second");
    reply.reply_to = Some(original.source_id.clone());
    reply.media_group = Some("album".into());
    let mut edit = inbound("1:101:edit:5", sender(), "first, edited");
    edit.edit_of = Some(original.source_id.clone());
    let mut dangling = inbound("1:103", sender(), "to a message we never saw");
    dangling.reply_to = Some(SourceId::new("test", "nowhere"));
    for m in [&reply, &edit, &dangling] {
        store.route(m, &policy).await.unwrap();
    }
    let items = store
        .timeline(conversation, &PageRequest::first(100))
        .await
        .unwrap()
        .items;
    let find = |text: &str| {
        items
            .iter()
            .find_map(|i| match i {
                shared::model::TimelineItem::Message(m) if m.text == text => Some(m.clone()),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(find("second").reply_to, Some(first));
    assert_eq!(find("second").media_group.as_deref(), Some("album"));
    assert_eq!(find("first, edited").edit_of, Some(first));
    assert_eq!(find("first").text, "first", "the original is kept");
    assert_eq!(find("to a message we never saw").reply_to, None);
}

async fn blocking_is_recorded_on_the_contact_and_its_conversation_once(store: &dyn Store) {
    use shared::model::Reachability;
    let who = Identity::telegram(9_007_199_254_740_993);
    let at = Utc::now();
    assert_eq!(
        store
            .set_reachability(&who, Channel::Telegram, Reachability::Blocked, at)
            .await
            .unwrap(),
        None,
        "nobody to record it on"
    );
    let (_, conversation, contact) = stored(
        store
            .route(
                &inbound("b:1", vec![(who.clone(), true)], "hi"),
                &RoutePolicy::default(),
            )
            .await
            .unwrap(),
    );
    for _ in 0..2 {
        let recorded = store
            .set_reachability(&who, Channel::Telegram, Reachability::Blocked, at)
            .await
            .unwrap();
        assert_eq!(recorded, Some(contact));
    }
    let blocked = store.contact(contact).await.unwrap().unwrap();
    assert_eq!(blocked.blocked_channels, vec![Channel::Telegram]);
    store
        .set_reachability(&who, Channel::Telegram, Reachability::Unblocked, at)
        .await
        .unwrap();
    assert!(
        store
            .contact(contact)
            .await
            .unwrap()
            .unwrap()
            .blocked_channels
            .is_empty()
    );
    let kinds: Vec<_> = store
        .timeline(conversation, &PageRequest::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|i| match i {
            TimelineItem::Event(e) => Some(e.kind),
            _ => None,
        })
        .filter(|k| !matches!(k, EventKind::Created))
        .collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::ChannelBlocked {
                channel: Channel::Telegram
            },
            EventKind::ChannelUnblocked {
                channel: Channel::Telegram
            },
        ],
        "a repeated block records nothing new"
    );
}

async fn a_reply_is_found_by_its_provider_id_and_its_status_updated(store: &dyn Store) {
    let r = route(
        store,
        &inbound("pid", vec![(email("pid@example.com"), false)], "help"),
    )
    .await;
    let reply = Message {
        id: MessageId::new(),
        conversation_id: r.conversation,
        contact_id: r.contact,
        direction: Direction::Outbound,
        channel: Channel::Sms,
        author: Author::System,
        text: "on its way".into(),
        attachments: vec![],
        source_id: None,
        delivery_status: DeliveryStatus::Queued,
        delivery_error: None,
        created_at: now(),
        reply_to: None,
        edit_of: None,
        media_group: None,
        external_id: None,
        context: Vec::new(),
        original: None,
        sent_from: Vec::new(),
        provider_id: None,
    };
    store.add_outbound(&reply).await.unwrap();
    let provider_id = format!("twilio:SM{}", MessageId::new().to_string().replace('_', ""));
    assert_eq!(
        store.message_by_provider_id(&provider_id).await.unwrap(),
        None
    );
    store
        .set_delivery_status(reply.id, DeliveryStatus::Sent, None, Some(&provider_id))
        .await
        .unwrap();
    let found = store.message_by_provider_id(&provider_id).await.unwrap();
    assert_eq!(found, Some(reply.id));
    // A later status keeps the provider id.
    store
        .set_delivery_status(reply.id, DeliveryStatus::Delivered, None, None)
        .await
        .unwrap();
    assert_eq!(
        store.message_by_provider_id(&provider_id).await.unwrap(),
        Some(reply.id)
    );
    let stored = store.message(reply.id).await.unwrap().unwrap();
    assert_eq!(stored.delivery_status, DeliveryStatus::Delivered);
    assert_eq!(
        stored.provider_id.as_deref(),
        Some(provider_id.as_str()),
        "the message shows the provider's id"
    );
    assert_eq!(
        store
            .message_by_provider_id("twilio:SMunknown")
            .await
            .unwrap(),
        None
    );
}

async fn a_message_is_found_by_its_source_id_and_a_bounce_settles_only_a_sent_reply(
    store: &dyn Store,
) {
    let first = inbound("by-source", vec![(email("src@example.com"), false)], "hi");
    let r = route(store, &first).await;
    assert_eq!(
        store.message_by_source_id(&first.source_id).await.unwrap(),
        Some(r.message)
    );
    assert_eq!(
        store
            .message_by_source_id(&SourceId::new("test", "never-stored"))
            .await
            .unwrap(),
        None
    );
    let reply = Message {
        id: MessageId::new(),
        conversation_id: r.conversation,
        contact_id: r.contact,
        direction: Direction::Outbound,
        channel: Channel::Email,
        author: Author::System,
        text: "on its way".into(),
        attachments: vec![],
        source_id: None,
        delivery_status: DeliveryStatus::Queued,
        delivery_error: None,
        created_at: now(),
        reply_to: None,
        edit_of: None,
        media_group: None,
        external_id: None,
        context: Vec::new(),
        original: None,
        sent_from: Vec::new(),
        provider_id: None,
    };
    store.add_outbound(&reply).await.unwrap();
    // Still queued: a report has nothing to settle.
    assert!(
        !store
            .settle_delivery(reply.id, DeliveryStatus::Failed, Some("bounced"))
            .await
            .unwrap()
    );
    store
        .set_delivery_status(
            reply.id,
            DeliveryStatus::Sent,
            None,
            Some("email:b1@x.test"),
        )
        .await
        .unwrap();
    assert!(
        store
            .settle_delivery(reply.id, DeliveryStatus::Failed, Some("5.1.1 no such user"))
            .await
            .unwrap()
    );
    // A repeated or late report changes nothing.
    assert!(
        !store
            .settle_delivery(reply.id, DeliveryStatus::Delivered, None)
            .await
            .unwrap()
    );
    let stored = store.message(reply.id).await.unwrap().unwrap();
    assert_eq!(stored.delivery_status, DeliveryStatus::Failed);
    assert_eq!(stored.delivery_error.as_deref(), Some("5.1.1 no such user"));
    assert!(
        !store
            .settle_delivery(MessageId::new(), DeliveryStatus::Failed, Some("x"))
            .await
            .unwrap()
    );
}

async fn context_and_the_original_are_kept_and_a_long_message_fits_one_item(store: &dyn Store) {
    let sender = || vec![(email("long@example.com"), false)];
    let mut short = inbound("ctx:1", sender(), "hello");
    short.context = vec![("page".into(), "/contact?ref=ad".into())];
    short.original = Some("email/raw/abc.eml".into());
    let first = route(store, &short).await;
    // Far past a DynamoDB item (400 KB): the text and the context are cut to fit.
    let mut long = inbound("ctx:2", sender(), &"س".repeat(300_000));
    long.context = vec![
        ("Quoted history".into(), "ق".repeat(300_000)),
        ("page".into(), "/after".into()),
    ];
    long.original = Some("email/raw/def.eml".into());
    route(store, &long).await;

    let messages = messages_in(store, first.conversation).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].original.as_deref(), Some("email/raw/abc.eml"));
    assert_eq!(
        messages[0].context,
        vec![ContextEntry {
            name: "page".into(),
            value: "/contact?ref=ad".into()
        }]
    );
    let kept = &messages[1];
    assert!(kept.text.len() <= MAX_STORED_TEXT_BYTES);
    assert!(kept.text.starts_with("سسس"));
    assert!(
        kept.text
            .ends_with("the whole text is in the original message]")
    );
    let context_bytes: usize = kept
        .context
        .iter()
        .map(|e| e.name.len() + e.value.len())
        .sum();
    assert!(context_bytes <= MAX_STORED_CONTEXT_BYTES);
    assert_eq!(kept.context[0].name, "Quoted history");
    assert_eq!(kept.original.as_deref(), Some("email/raw/def.eml"));
    let by_id = store.message(kept.id).await.unwrap().expect("found by id");
    assert_eq!(&by_id, kept);
}

async fn a_setting_is_made_once_and_racing_makers_read_the_same_value(store: &dyn Store) {
    // Two processes starting at once (a router and a sender on a fresh stack) each offer
    // a key of their own; both leave with the one that was stored.
    let (a, b) = tokio::join!(
        store.setting_or_init("reply_key", "key-from-a".into()),
        store.setting_or_init("reply_key", "key-from-b".into()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    assert!(a == "key-from-a" || a == "key-from-b", "{a}");
    // Later callers get it too, whatever they offer.
    assert_eq!(
        store
            .setting_or_init("reply_key", "key-from-c".into())
            .await
            .unwrap(),
        a
    );
    // Another setting is another value.
    assert_eq!(
        store
            .setting_or_init("other", "ß ünïcode 🔑".into())
            .await
            .unwrap(),
        "ß ünïcode 🔑"
    );
}

async fn a_customer_waits_from_their_first_unanswered_message_until_an_agent_replies(
    store: &dyn Store,
) {
    let waiting = ConversationFilter {
        status: StatusFilter::All,
        waiting: true,
        ..Default::default()
    };
    let listed = async |store: &dyn Store| -> Vec<ConversationId> {
        store
            .list_conversations(&waiting, &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .iter()
            .map(|c| c.id)
            .collect()
    };
    let reread = async |id: ConversationId| store.conversation(id).await.unwrap().unwrap();
    let first = route(
        store,
        &inbound("w-1", vec![(email("w@example.com"), true)], "hello?"),
    )
    .await;
    let since = reread(first.conversation)
        .await
        .waiting_since
        .expect("the customer waits once they wrote");
    route(
        store,
        &inbound("w-2", vec![(email("w@example.com"), true)], "anyone?"),
    )
    .await;
    let c = reread(first.conversation).await;
    assert_eq!(c.message_count, 2);
    assert_eq!(
        c.waiting_since,
        Some(since),
        "a second message does not restart the wait"
    );
    assert!(listed(store).await.contains(&first.conversation));

    let reply = |author: Author, text: &str| Message {
        author,
        created_at: now(),
        ..Message::outbound(
            first.conversation,
            first.contact,
            Channel::Email,
            Author::System,
            text,
        )
    };
    store
        .add_outbound(&reply(Author::System, "We got your message"))
        .await
        .unwrap();
    let c = reread(first.conversation).await;
    assert_eq!(
        c.waiting_since,
        Some(since),
        "an automatic answer is not the answer"
    );
    store
        .add_outbound(&reply(
            Author::Agent {
                agent_id: AgentId::new(),
            },
            "Here to help",
        ))
        .await
        .unwrap();
    let c = reread(first.conversation).await;
    assert_eq!(c.waiting_since, None, "an agent's reply ends the wait");
    assert!(!listed(store).await.contains(&first.conversation));

    route(
        store,
        &inbound(
            "w-3",
            vec![(email("w@example.com"), true)],
            "thanks, one more thing",
        ),
    )
    .await;
    let c = reread(first.conversation).await;
    assert!(c.waiting_since.is_some());
    assert_eq!(
        c.waiting_since, c.last_inbound_at,
        "the next message starts a new wait, from itself"
    );
    assert!(listed(store).await.contains(&first.conversation));
}
