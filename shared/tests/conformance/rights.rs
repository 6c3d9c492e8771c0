//! Customers' data rights on both stores: the export holds what was stored, an erasure
//! leaves nothing of the contact (rows, items, pointers, index entries, files) but a
//! tombstone, retention erases only what is past it, and the contact's history pages
//! newest first without gaps or repeats.

use crate::backends::Held;
use crate::store::{email, inbound, now, phone, route};
use chrono::Duration;
use shared::model::{
    Agent, AgentId, Attachment, Author, Availability, ContactId, Conversation, ConversationId,
    ConversationStatus, DeliveryStatus, Direction, EmailAddress, ErasureReason, Identity,
    InboundMessage, Message, MessageId, Note, NoteId, Role, SourceId, TimelineItem,
};
use shared::model::{
    AttemptOutcome, Change, ChangeType, Subscription, WebhookDelivery, WebhookDeliveryStatus,
    WebhookId, delivery_id,
};
use shared::ports::{
    AssigneeFilter, Blob, ConversationFilter, PageRequest, RouteOutcome, StatusFilter,
};
use shared::services::ServiceError;
use shared::services::erasure::Retention;
use shared::services::route::RoutePolicy;

on_both_backends!(
    embedded: crate::backends::embedded_held,
    aws: crate::backends::aws_held,
    tests: [
        an_export_holds_everything_stored_on_the_contact,
        an_erasure_leaves_nothing_of_the_contact_but_a_tombstone,
        an_erased_contact_leaves_the_others_their_identities_but_not_the_suggestions,
        retention_erases_only_resolved_conversations_older_than_the_limit,
        the_contact_timeline_pages_newest_first_without_gaps_or_repeats,
    ]
);

fn admin() -> Agent {
    Agent {
        id: AgentId::new(),
        name: "Ada".into(),
        email: EmailAddress::parse("ada@support.example").unwrap(),
        role: Role::Admin,
        availability: Availability::Available,
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

fn telegram(user: i64) -> Identity {
    Identity::telegram(user)
}

fn file(key: &str, name: &str) -> Attachment {
    Attachment {
        blob_key: key.to_owned(),
        filename: Some(name.to_owned()),
        content_type: "image/jpeg".into(),
        size: 3,
        provider_ref: None,
        fetch_error: None,
    }
}

async fn put_file(held: &Held, key: &str) {
    let blob = Blob {
        content_type: "image/jpeg".into(),
        bytes: vec![0xff, 0xd8, 0xff],
    };
    held.blobs.put(key, blob).await.unwrap();
}

pub(crate) fn reply(conversation: ConversationId, contact: ContactId, text: &str) -> Message {
    Message {
        id: MessageId::new(),
        conversation_id: conversation,
        contact_id: contact,
        direction: Direction::Outbound,
        channel: shared::model::Channel::Email,
        author: Author::Agent {
            agent_id: AgentId::new(),
        },
        text: text.into(),
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
    }
}

fn note(conversation: ConversationId, text: &str) -> Note {
    Note {
        id: NoteId::new(),
        conversation_id: conversation,
        author_id: AgentId::new(),
        text: text.into(),
        created_at: now(),
    }
}

/// Resolves the conversation as if `ago` had passed since (and since its last change).
async fn resolve(held: &Held, id: ConversationId, ago: Duration) {
    let c = held.store.conversation(id).await.unwrap().unwrap();
    let at = now() - ago;
    let next = Conversation {
        status: ConversationStatus::Resolved,
        resolved_at: Some(at),
        updated_at: at,
        ..c.clone()
    };
    held.store
        .save_conversation(&next, c.version, &[])
        .await
        .unwrap();
}

fn item_id(item: &TimelineItem) -> String {
    item.sort_key().1
}

async fn timeline_of(held: &Held, id: ConversationId) -> Vec<TimelineItem> {
    held.store
        .timeline(id, &PageRequest::first(100))
        .await
        .unwrap()
        .items
}

/// What one customer wrote and was answered: two conversations (the first resolved
/// long ago), a note, a reply with a file and a provider's id, a photo, an email kept
/// as it arrived, a customer-page link. Every string in it is unique to this customer.
struct Customer {
    contact: ContactId,
    conversations: Vec<ConversationId>,
    messages: Vec<MessageId>,
    sources: Vec<SourceId>,
    files: Vec<String>,
    tokens: Vec<String>,
    first: InboundMessage,
    email: Identity,
}

async fn customer(held: &Held, tag: &str) -> Customer {
    let address = format!("{tag}-sara@example.com");
    let sara = email(&address);
    let number = format!("+141555501{:02}", tag.len() % 100);
    let user = 7_000_000_000 + i64::try_from(tag.len()).unwrap();
    let photo = format!("attachments/test_{tag}-1/0");
    let raw = format!("email/raw/{tag}-original.eml");
    let link = format!("{tag}-link").repeat(4);
    put_file(held, &photo).await;
    put_file(held, &raw).await;
    let first = InboundMessage {
        customer_link: Some(link.clone()),
        attachments: vec![file(&photo, "kettle.jpg")],
        original: Some(raw.clone()),
        ..inbound(
            &format!("{tag}-1"),
            vec![(sara.clone(), true), (phone(&number), true)],
            &format!("{tag} my kettle broke"),
        )
    };
    let one = route(held.store.as_ref(), &first).await;
    let secret = note(one.conversation, &format!("{tag} internal: refund twice"));
    held.store.add_note(&secret).await.unwrap();
    let mut answer = reply(
        one.conversation,
        one.contact,
        &format!("{tag} a new kettle ships"),
    );
    let attached = format!("replies/{}/0", answer.id);
    put_file(held, &attached).await;
    answer.attachments = vec![file(&attached, "label.pdf")];
    held.store.add_outbound(&answer).await.unwrap();
    let provider = format!("{tag}-provider-id");
    held.store
        .set_delivery_status(answer.id, DeliveryStatus::Sent, None, Some(&provider))
        .await
        .unwrap();
    resolve(held, one.conversation, Duration::days(10)).await;
    let second = inbound(
        &format!("{tag}-2"),
        vec![(telegram(user), true), (sara.clone(), true)],
        &format!("{tag} the lid too"),
    );
    let two = route(held.store.as_ref(), &second).await;
    assert_eq!(two.contact, one.contact, "one customer");
    assert_ne!(two.conversation, one.conversation, "a second conversation");
    let mut tokens = vec![
        one.contact.to_string(),
        address,
        number,
        format!("telegram:{user}"),
        link,
        provider,
        first.source_id.as_str().to_owned(),
        second.source_id.as_str().to_owned(),
        format!("{tag} my kettle"),
        format!("{tag} internal"),
        format!("{tag} a new kettle"),
        format!("{tag} the lid"),
        secret.id.to_string(),
        secret.id.ulid().to_string(),
    ];
    let ids = [one.message, answer.id, two.message];
    for id in ids {
        tokens.extend([id.to_string(), id.ulid().to_string()]);
    }
    for c in [one.conversation, two.conversation] {
        tokens.push(c.to_string());
        for item in timeline_of(held, c).await {
            tokens.push(item_id(&item));
        }
    }
    let files = vec![photo, raw, attached];
    tokens.extend(files.iter().cloned());
    // Their folder and the original's metadata file are named after them too.
    tokens.extend([format!("test_{tag}-"), format!("{tag}-original")]);
    Customer {
        contact: one.contact,
        conversations: vec![one.conversation, two.conversation],
        messages: ids.to_vec(),
        sources: vec![first.source_id.clone(), second.source_id.clone()],
        files,
        tokens,
        first,
        email: sara,
    }
}

async fn an_export_holds_everything_stored_on_the_contact(held: &Held) {
    let sara = customer(held, "export").await;
    let export = held.rights.export(sara.contact).await.unwrap();
    assert_eq!(export.contact.id, sara.contact);
    let kinds: Vec<(String, bool, bool)> = export
        .contact
        .identities
        .iter()
        .map(|i| (i.identity.kind.as_str().to_owned(), i.proven, i.typed))
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert!(kinds.iter().all(|(_, proven, typed)| *proven && !typed));
    let conversations: Vec<ConversationId> = export
        .conversations
        .iter()
        .map(|c| c.conversation.id)
        .collect();
    assert_eq!(conversations, sara.conversations, "oldest first");
    for (exported, id) in export.conversations.iter().zip(&sara.conversations) {
        let stored = timeline_of(held, *id).await;
        let items: Vec<TimelineItem> = exported.timeline.iter().map(|i| i.item.clone()).collect();
        assert_eq!(items, stored, "the whole timeline, as stored");
    }
    let first = &export.conversations[0].timeline;
    let photo = first
        .iter()
        .find(|i| matches!(&i.item, TimelineItem::Message(m) if m.id == sara.messages[0]))
        .unwrap();
    assert_eq!(
        photo.attachment_urls,
        vec![format!("/v1/messages/{}/attachments/0", sara.messages[0])]
    );
    assert_eq!(
        photo.original_url,
        Some(format!("/v1/messages/{}/original", sara.messages[0]))
    );
    assert!(
        first
            .iter()
            .any(|i| matches!(&i.item, TimelineItem::Note(n) if n.text.contains("refund twice")))
    );
    let answer = first
        .iter()
        .find(|i| matches!(&i.item, TimelineItem::Message(m) if m.id == sara.messages[1]))
        .unwrap();
    assert_eq!(answer.attachment_urls.len(), 1);
    assert_eq!(answer.original_url, None);
    assert!(matches!(
        held.rights.export(ContactId::new()).await,
        Err(ServiceError::NotFound(_))
    ));
}

async fn an_erasure_leaves_nothing_of_the_contact_but_a_tombstone(held: &Held) {
    let sara = customer(held, "erased").await;
    let pat = customer(held, "kept").await;
    // A webhook delivered news of both conversations and of the contact (with what its
    // endpoint answered): those deliveries go with the erasure, the other customer's stay.
    let hooks = webhook_deliveries_about(held, &sara).await;
    let kept_hooks = webhook_deliveries_about(held, &pat).await;
    let before = held.everything().await;
    assert!(
        before.iter().any(|line| line.contains("erased my kettle")),
        "the view of the store sees the customer's rows"
    );

    let actor = admin();
    let record = held.rights.erase(sara.contact, &actor).await.unwrap();
    assert_eq!(record.reason, ErasureReason::Request);
    assert_eq!(record.actor_id, Some(actor.id));
    assert_eq!(record.contact_id, Some(sara.contact));
    assert_eq!(
        (
            record.conversations,
            record.messages,
            record.notes,
            record.files
        ),
        (2, 3, 1, 3)
    );
    assert!(record.events >= 2, "{record:?}");

    // Nothing is found through any port.
    let store = held.store.as_ref();
    assert_eq!(store.contact(sara.contact).await.unwrap(), None);
    for c in &sara.conversations {
        assert_eq!(store.conversation(*c).await.unwrap(), None);
        assert!(timeline_of(held, *c).await.is_empty());
    }
    for m in &sara.messages {
        assert_eq!(store.message(*m).await.unwrap(), None);
    }
    for s in &sara.sources {
        assert_eq!(store.message_by_source_id(s).await.unwrap(), None);
    }
    assert_eq!(
        store
            .message_by_provider_id("erased-provider-id")
            .await
            .unwrap(),
        None
    );
    let link = "erased-link".repeat(4);
    assert_eq!(store.conversation_for_link(&link).await.unwrap(), None);
    let found = store
        .search_contacts("erased-sara@example.com", &PageRequest::first(10))
        .await
        .unwrap();
    assert!(found.items.is_empty(), "{found:?}");
    let all = ConversationFilter {
        status: StatusFilter::All,
        assignee: AssigneeFilter::Anyone,
        ..Default::default()
    };
    let listed = store
        .list_conversations(&all, &PageRequest::first(100))
        .await
        .unwrap();
    let ids: Vec<ConversationId> = listed.items.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 2, "only the other customer's: {ids:?}");
    assert!(ids.iter().all(|id| pat.conversations.contains(id)));
    assert!(
        store
            .contact_timeline(sara.contact, &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(matches!(
        held.rights
            .timeline(sara.contact, &PageRequest::first(10))
            .await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(
        held.rights.erase(sara.contact, &actor).await,
        Err(ServiceError::NotFound(_))
    ));
    for key in &sara.files {
        assert_eq!(held.blobs.get(key).await.unwrap(), None, "{key}");
    }

    // Nothing of theirs is left in any row, item or file, but the tombstone.
    let everything = held.everything().await;
    let left: Vec<&String> = everything
        .iter()
        .filter(|line| !line.starts_with("erasures: ") && !line.starts_with("ERASURES: "))
        // The event log's news of the erasure names the contact, as the tombstone does.
        .filter(|line| !(line.starts_with("change_log: ") && line.contains("| contact.erased |")))
        .filter(|line| {
            sara.tokens
                .iter()
                .any(|token| line.contains(token.as_str()))
        })
        .collect();
    assert!(left.is_empty(), "left behind: {left:#?}");
    for token in &pat.tokens {
        assert!(
            everything.iter().any(|line| line.contains(token.as_str())),
            "the other customer lost {token}"
        );
    }
    for key in &pat.files {
        assert!(held.blobs.get(key).await.unwrap().is_some(), "{key}");
    }
    let tombstones = held.rights.erasures(&PageRequest::first(10)).await.unwrap();
    assert_eq!(tombstones.items, vec![record]);
    for (webhook, delivery) in hooks {
        assert_eq!(store.delivery(webhook, &delivery).await.unwrap(), None);
    }
    for (webhook, delivery) in kept_hooks {
        assert!(store.delivery(webhook, &delivery).await.unwrap().is_some());
    }

    // The old message, delivered again, is not stored again; a new one from the same
    // address starts a fresh contact.
    let again = store
        .route(&sara.first, &RoutePolicy::default())
        .await
        .unwrap();
    assert_eq!(again, RouteOutcome::Erased);
    let later = inbound(
        "erased-3",
        vec![(sara.email.clone(), true)],
        "erased: hello again",
    );
    let fresh = route(store, &later).await;
    assert_ne!(fresh.contact, sara.contact);
    assert!(!sara.conversations.contains(&fresh.conversation));
    let contact = store.contact(fresh.contact).await.unwrap().unwrap();
    assert_eq!(contact.identities.len(), 1);
    assert!(contact.merge_suggestions.is_empty());
}

/// A subscription, and a delivery tried about each of the customer's conversations and
/// about the contact; the (webhook, delivery) ids.
async fn webhook_deliveries_about(held: &Held, who: &Customer) -> Vec<(WebhookId, String)> {
    let at = now();
    let webhook = Subscription {
        id: WebhookId::new(),
        url: "https://crm.example/in".into(),
        description: None,
        types: vec![],
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        previous_secret: None,
        previous_secret_expires_at: None,
        enabled: true,
        disabled_reason: None,
        failures_in_a_row: 0,
        created_at: at,
        updated_at: at,
        version: 0,
    };
    held.store.create_webhook(&webhook).await.unwrap();
    let subjects = who
        .conversations
        .iter()
        .map(|c| (Some(*c), None, ChangeType::ConversationCreated))
        .chain([(None, Some(who.contact), ChangeType::ContactCreated)]);
    let deliveries: Vec<WebhookDelivery> = subjects
        .enumerate()
        .map(|(n, (conversation_id, contact_id, kind))| {
            let change = Change {
                id: format!("lg_{}_{n}", webhook.id),
                cursor: n.to_string(),
                kind,
                at,
                conversation_id,
                contact_id,
                message_id: None,
                note_id: None,
                event_id: None,
                actor_id: None,
                incident_id: None,
            };
            WebhookDelivery {
                id: delivery_id(webhook.id, &change.id),
                webhook_id: webhook.id,
                change,
                status: WebhookDeliveryStatus::Delivered,
                attempts: 1,
                last_attempt: Some(AttemptOutcome {
                    at,
                    response_status: Some(200),
                    response: Some(format!("thanks for {:?}", who.contact)),
                    duration_ms: 3,
                }),
                next_attempt_at: None,
                created_at: at,
                replays: 0,
            }
        })
        .collect();
    held.store.add_deliveries(&deliveries).await.unwrap();
    deliveries
        .into_iter()
        .map(|d| (d.webhook_id, d.id))
        .collect()
}

async fn an_erased_contact_leaves_the_others_their_identities_but_not_the_suggestions(held: &Held) {
    let store = held.store.as_ref();
    let shared_address = email("family@example.com");
    let holder = route(
        store,
        &inbound("family-1", vec![(shared_address.clone(), true)], "ours"),
    )
    .await;
    // Someone else typed the address into the web form: a contact of their own, and a
    // suggestion on both sides.
    let typed = InboundMessage {
        channel: shared::model::Channel::Web,
        identities: vec![shared::model::PresentedIdentity::typed(
            shared_address.clone(),
        )],
        ..inbound("family-2", vec![], "typed it")
    };
    let typist = route(store, &typed).await;
    assert_ne!(typist.contact, holder.contact);
    let suggested = |id| async move {
        store
            .contact(id)
            .await
            .unwrap()
            .unwrap()
            .merge_suggestions
            .iter()
            .map(|s| s.other_contact_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(suggested(holder.contact).await, vec![typist.contact]);

    held.rights.erase(typist.contact, &admin()).await.unwrap();
    assert!(suggested(holder.contact).await.is_empty());
    let kept = store.contact(holder.contact).await.unwrap().unwrap();
    assert_eq!(kept.identities.len(), 1);
    assert!(kept.identities[0].proven);
    // The address still leads to its holder.
    let next = route(
        store,
        &inbound("family-3", vec![(shared_address.clone(), true)], "again"),
    )
    .await;
    assert_eq!(next.contact, holder.contact);
    assert_eq!(next.conversation, holder.conversation);
}

async fn retention_erases_only_resolved_conversations_older_than_the_limit(held: &Held) {
    let store = held.store.as_ref();
    let retention = Retention::parse(Some("30")).unwrap().unwrap();
    // Ann: one conversation long resolved, one open. Bob: only one, long resolved.
    // Cy: resolved, but recently.
    let ann = email("ann@example.com");
    let old_file = "attachments/test_ann-1/0";
    put_file(held, old_file).await;
    let ann_old = route(
        store,
        &InboundMessage {
            attachments: vec![file(old_file, "old.jpg")],
            ..inbound("ann-1", vec![(ann.clone(), true)], "ann: old news")
        },
    )
    .await;
    resolve(held, ann_old.conversation, Duration::days(40)).await;
    let ann_new = route(
        store,
        &inbound("ann-2", vec![(ann.clone(), true)], "ann: new"),
    )
    .await;
    assert_ne!(ann_new.conversation, ann_old.conversation);
    let bob = email("bob@example.com");
    let bob_old = route(
        store,
        &inbound("bob-1", vec![(bob.clone(), true)], "bob: old"),
    )
    .await;
    resolve(held, bob_old.conversation, Duration::days(31)).await;
    let cy = route(
        store,
        &inbound("cy-1", vec![(email("cy@example.com"), true)], "cy: recent"),
    )
    .await;
    resolve(held, cy.conversation, Duration::days(29)).await;

    let swept = held.rights.sweep(retention, now()).await.unwrap();
    assert_eq!((swept.conversations, swept.contacts), (2, 1));

    assert_eq!(
        store.conversation(ann_old.conversation).await.unwrap(),
        None
    );
    assert_eq!(store.message(ann_old.message).await.unwrap(), None);
    assert_eq!(held.blobs.get(old_file).await.unwrap(), None);
    assert!(
        store
            .conversation(ann_new.conversation)
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.contact(ann_old.contact).await.unwrap().is_some());
    assert_eq!(
        store.conversation(bob_old.conversation).await.unwrap(),
        None
    );
    assert_eq!(store.contact(bob_old.contact).await.unwrap(), None);
    assert!(store.conversation(cy.conversation).await.unwrap().is_some());

    let tombstones = held.rights.erasures(&PageRequest::first(10)).await.unwrap();
    assert_eq!(tombstones.items.len(), 2);
    assert!(
        tombstones
            .items
            .iter()
            .all(|t| t.reason == ErasureReason::Retention
                && t.actor_id.is_none()
                && t.conversations == 1)
    );
    let contacts: Vec<Option<ContactId>> = tombstones.items.iter().map(|t| t.contact_id).collect();
    assert!(contacts.contains(&Some(bob_old.contact)) && contacts.contains(&None));
    let next = held.rights.erasures(&PageRequest::first(1)).await.unwrap();
    let rest = held
        .rights
        .erasures(&PageRequest {
            limit: 1,
            cursor: next.next_cursor.clone(),
        })
        .await
        .unwrap();
    assert_eq!([next.items, rest.items].concat(), tombstones.items);

    // A second sweep finds nothing more; Bob writing again is a new contact, Ann is Ann.
    let again = held.rights.sweep(retention, now()).await.unwrap();
    assert_eq!((again.conversations, again.contacts), (0, 0));
    let bob_again = route(store, &inbound("bob-2", vec![(bob, true)], "bob: back")).await;
    assert_ne!(bob_again.contact, bob_old.contact);
    let ann_again = route(store, &inbound("ann-3", vec![(ann, true)], "ann: more")).await;
    assert_eq!(ann_again.contact, ann_old.contact);
}

async fn the_contact_timeline_pages_newest_first_without_gaps_or_repeats(held: &Held) {
    let store = held.store.as_ref();
    let dee = email("dee@example.com");
    let other = email("eve@example.com");
    let mut conversations = Vec::new();
    for round in 0..3 {
        let mine = route(
            store,
            &inbound(&format!("dee-{round}"), vec![(dee.clone(), true)], "dee"),
        )
        .await;
        // Someone else writes in between: never in Dee's history.
        let theirs = route(
            store,
            &inbound(&format!("eve-{round}"), vec![(other.clone(), true)], "eve"),
        )
        .await;
        store
            .add_note(&note(mine.conversation, &format!("note {round}")))
            .await
            .unwrap();
        store
            .add_note(&note(theirs.conversation, "eve's note"))
            .await
            .unwrap();
        store
            .add_outbound(&reply(mine.conversation, mine.contact, "answer"))
            .await
            .unwrap();
        resolve(held, mine.conversation, Duration::days(8)).await;
        conversations.push(mine.conversation);
    }
    conversations.dedup();
    assert_eq!(conversations.len(), 3, "three conversations");
    let contact = store
        .conversation(conversations[0])
        .await
        .unwrap()
        .unwrap()
        .contact_id;
    let mut expected = Vec::new();
    for c in &conversations {
        expected.extend(timeline_of(held, *c).await);
    }
    expected.sort_by_key(|item| std::cmp::Reverse(item_id(item)));

    let mut seen = Vec::new();
    let mut page = PageRequest::first(4);
    loop {
        let got = held.rights.timeline(contact, &page).await.unwrap();
        assert!(got.items.len() <= 4);
        seen.extend(got.items);
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen.len(), expected.len());
    assert_eq!(seen, expected, "newest first, each once");
    assert!(seen.iter().all(|item| {
        let conversation = match item {
            TimelineItem::Message(m) => m.conversation_id,
            TimelineItem::Note(n) => n.conversation_id,
            TimelineItem::Event(e) => e.conversation_id,
        };
        conversations.contains(&conversation)
    }));
    let bad = PageRequest {
        limit: 4,
        cursor: Some("not-a-cursor".into()),
    };
    assert!(held.rights.timeline(contact, &bad).await.is_err());
}
