use super::*;
use crate::model::{
    Attachment, Author, ContactIdentity, DeliveryStatus, Direction, EmailAddress, Event, EventKind,
    MergeSuggestion, Message, Note, Priority,
};

fn contact(id: ContactId, identities: &[Identity]) -> Contact {
    Contact {
        id,
        name: Some("Sara".into()),
        identities: identities
            .iter()
            .map(|identity| ContactIdentity {
                identity: identity.clone(),
                proven: true,
                typed: false,
                added_at: Utc::now(),
            })
            .collect(),
        merge_suggestions: Vec::new(),
        blocked_channels: Vec::new(),
        tags: Vec::new(),
        vip: false,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn conversation(contact: ContactId, status: ConversationStatus, age: Duration) -> Conversation {
    let at = Utc::now() - age;
    Conversation {
        id: ConversationId::new(),
        contact_id: contact,
        status,
        snoozed_until: None,
        priority: Priority::Normal,
        tags: Vec::new(),
        team_id: None,
        assignee_id: None,
        subject: None,
        channel: Channel::Telegram,
        channels: vec![Channel::Telegram],
        message_count: 1,
        preview: String::new(),
        created_at: at,
        updated_at: at,
        last_inbound_at: Some(at),
        waiting_since: None,
        incident_id: None,
        resolved_at: (status == ConversationStatus::Resolved).then_some(at),
        version: 4,
    }
}

fn message(c: &Conversation, source: Option<&str>, files: &[&str]) -> Message {
    Message {
        id: MessageId::new(),
        conversation_id: c.id,
        contact_id: c.contact_id,
        direction: Direction::Inbound,
        channel: Channel::Telegram,
        author: Author::Contact {
            contact_id: c.contact_id,
        },
        text: "سلام".into(),
        attachments: files
            .iter()
            .map(|key| Attachment {
                blob_key: (*key).to_owned(),
                filename: None,
                content_type: "image/jpeg".into(),
                size: 1,
                provider_ref: None,
                fetch_error: None,
            })
            .collect(),
        source_id: source.map(|s| SourceId::new("telegram", s)),
        delivery_status: DeliveryStatus::Received,
        delivery_error: None,
        created_at: Utc::now(),
        reply_to: None,
        edit_of: None,
        media_group: None,
        external_id: None,
        context: Vec::new(),
        original: None,
        sent_from: Vec::new(),
        provider_id: None,
    }
}

fn email(address: &str) -> Identity {
    Identity::email(&EmailAddress::parse(address).unwrap())
}

fn holdings(c: &Conversation, items: Vec<TimelineItem>) -> ConversationHoldings {
    ConversationHoldings {
        conversation: c.clone(),
        items,
        provider_ids: vec!["SM0001".into()],
        links: vec!["ab12".into()],
    }
}

#[test]
fn erasing_a_contact_names_every_row_pointer_and_file_of_theirs() {
    let id = ContactId::new();
    let other = ContactId::new();
    let sara = email("sara@example.com");
    let mut held = contact(id, std::slice::from_ref(&sara));
    held.merge_suggestions.push(MergeSuggestion {
        other_contact_id: other,
        identity: sara.clone(),
        suggested_at: Utc::now(),
    });
    let c = conversation(id, ConversationStatus::Open, Duration::hours(1));
    let mut photo = message(&c, Some("42:7"), &["attachments/telegram_42_7/0"]);
    photo.original = Some("email/raw/abc.eml".into());
    let failed = Attachment {
        blob_key: String::new(),
        fetch_error: Some("too large".into()),
        ..photo.attachments[0].clone()
    };
    photo.attachments.push(failed);
    let reply = Message {
        source_id: None,
        direction: Direction::Outbound,
        attachments: vec![],
        ..message(&c, None, &["replies/msg_1/0"])
    };
    let note = Note {
        id: NoteId::new(),
        conversation_id: c.id,
        author_id: AgentId::new(),
        text: "internal".into(),
        created_at: Utc::now(),
    };
    let event = Event::new(c.id, EventKind::Created, None, Utc::now());
    let items = vec![
        TimelineItem::Message(photo.clone()),
        TimelineItem::Message(reply.clone()),
        TimelineItem::Note(note.clone()),
        TimelineItem::Event(event.clone()),
    ];
    let contact_holdings = ContactHoldings {
        contact: held,
        stamp: 9,
        identities: vec![IdentityHolding {
            identity: sara.clone(),
            holders: vec![id],
            proven_marker: Some(id),
            head: 3,
        }],
        conversations: vec![c.id],
    };
    let actor = AgentId::new();
    let plan = plan_contact_erasure(&contact_holdings, &[holdings(&c, items)], actor, Utc::now());

    assert_eq!(
        plan.conversations,
        vec![ConversationErasure {
            id: c.id,
            version: 4,
            messages: vec![photo.id, reply.id],
            notes: vec![note.id],
            events: vec![event.id],
            source_ids: vec![SourceId::new("telegram", "42:7")],
            provider_ids: vec!["SM0001".into()],
            links: vec!["ab12".into()],
        }]
    );
    assert_eq!(
        plan.files,
        vec![
            "attachments/telegram_42_7/0".to_owned(),
            "email/raw/abc.eml".to_owned()
        ],
        "a file never fetched has nothing to delete"
    );
    assert_eq!(
        plan.erased_sources,
        vec![source_digest(&SourceId::new("telegram", "42:7"))]
    );
    assert!(!plan.erased_sources[0].contains("42"));
    let erased = plan.contact.as_ref().unwrap();
    assert_eq!((erased.id, erased.stamp), (id, 9));
    assert_eq!(erased.unsuggest, vec![other]);
    assert_eq!(
        erased.identities,
        vec![IdentityRelease {
            identity: sara,
            proven_marker: true,
            head: HeadChange::Remove { read: 3 },
        }]
    );
    let record = &plan.record;
    assert_eq!(record.reason, ErasureReason::Request);
    assert_eq!(record.actor_id, Some(actor));
    assert_eq!(record.contact_id, Some(id));
    assert_eq!(
        (
            record.conversations,
            record.messages,
            record.notes,
            record.events,
            record.files
        ),
        (1, 2, 1, 1, 2)
    );
}

#[test]
fn an_identity_someone_else_holds_too_stays_theirs() {
    let id = ContactId::new();
    let typed_it_too = ContactId::new();
    let shared = email("family@example.com");
    let held = ContactHoldings {
        contact: contact(id, std::slice::from_ref(&shared)),
        stamp: 1,
        identities: vec![IdentityHolding {
            identity: shared.clone(),
            holders: vec![typed_it_too, id],
            proven_marker: Some(typed_it_too),
            head: 5,
        }],
        conversations: vec![],
    };
    let plan = plan_contact_erasure(&held, &[], AgentId::new(), Utc::now());
    assert_eq!(
        plan.contact.unwrap().identities,
        vec![IdentityRelease {
            identity: shared,
            proven_marker: false,
            head: HeadChange::Advance { read: 5 },
        }]
    );
}

#[test]
fn retention_takes_only_resolved_conversations_older_than_the_cutoff() {
    let id = ContactId::new();
    let now = Utc::now();
    let cutoff = Retention::parse(Some("30")).unwrap().unwrap().cutoff(now);
    let old = conversation(id, ConversationStatus::Resolved, Duration::days(40));
    let recent = conversation(id, ConversationStatus::Resolved, Duration::days(20));
    let open = conversation(id, ConversationStatus::Open, Duration::days(40));
    let mut touched = old.clone();
    touched.updated_at = now - Duration::days(2);
    let contact_with = |conversations: Vec<ConversationId>| ContactHoldings {
        contact: contact(id, &[]),
        stamp: 1,
        identities: vec![],
        conversations,
    };

    let others = contact_with(vec![old.id, recent.id]);
    let plan = plan_retention(&holdings(&old, vec![]), Some(&others), cutoff, now).unwrap();
    assert_eq!(plan.record.reason, ErasureReason::Retention);
    assert_eq!(plan.record.actor_id, None);
    assert!(
        plan.contact.is_none(),
        "the contact has another conversation"
    );
    assert_eq!(plan.record.contact_id, None);

    let last = contact_with(vec![old.id]);
    let plan = plan_retention(&holdings(&old, vec![]), Some(&last), cutoff, now).unwrap();
    assert_eq!(plan.contact.map(|c| c.id), Some(id));
    assert_eq!(plan.record.contact_id, Some(id));

    for kept in [&recent, &open, &touched] {
        assert!(
            plan_retention(&holdings(kept, vec![]), Some(&last), cutoff, now).is_none(),
            "{:?} resolved at {:?}, changed {:?}",
            kept.status,
            kept.resolved_at,
            kept.updated_at
        );
    }
}

#[test]
fn a_retention_is_a_number_of_days_or_nothing() {
    assert_eq!(Retention::parse(None), Ok(None));
    assert_eq!(Retention::parse(Some(" ")), Ok(None));
    assert_eq!(
        Retention::parse(Some("365")).unwrap().map(Retention::days),
        Some(365)
    );
    for wrong in ["0", "-1", "a year", "36501"] {
        assert!(Retention::parse(Some(wrong)).is_err(), "{wrong}");
    }
}

#[test]
fn a_voice_items_call_record_goes_with_it() {
    let id = ContactId::new();
    let c = conversation(id, ConversationStatus::Open, Duration::hours(1));
    let pbx = Message {
        channel: Channel::Voice,
        source_id: Some(SourceId::new("pbx", "call-42")),
        ..message(&c, None, &[])
    };
    let twilio = Message {
        channel: Channel::Voice,
        source_id: Some(SourceId::new(
            "twilio",
            "CA0123456789abcdef0123456789abcdef:recording",
        )),
        ..message(&c, None, &[])
    };
    let held = ContactHoldings {
        contact: contact(id, &[]),
        stamp: 1,
        identities: vec![],
        conversations: vec![c.id],
    };
    let items = vec![TimelineItem::Message(pbx), TimelineItem::Message(twilio)];
    let plan = plan_contact_erasure(&held, &[holdings(&c, items)], AgentId::new(), Utc::now());
    assert_eq!(plan.files.len(), 2, "{:?}", plan.files);
    assert!(plan.files.iter().any(|f| f.starts_with("calls/pbx/")));
    assert!(plan.files.iter().any(|f| f.starts_with("calls/twilio/")));
}
