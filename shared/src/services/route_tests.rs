use super::*;
use crate::model::{
    AgentLoad, Availability, Channel, EmailAddress, InboundMessage, PresentedIdentity, SourceId,
    ThreadHint,
};

fn email(addr: &str) -> Identity {
    Identity::email(&EmailAddress::parse(addr).unwrap())
}

fn message(identities: Vec<(Identity, bool)>) -> InboundMessage {
    InboundMessage {
        sender_name: Some("  Sara   Ahmadi ".into()),
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
        text: "درگاه پرداخت کار نمی‌کند".into(),
        ..InboundMessage::new(
            SourceId::new("test", &MessageId::new().to_string()),
            Channel::Email,
            Utc::now(),
        )
    }
}

fn conversation_of(
    contact: ContactId,
    status: ConversationStatus,
    resolved_ago: Option<Duration>,
) -> Conversation {
    let now = Utc::now();
    Conversation {
        status,
        resolved_at: resolved_ago.map(|ago| now - ago),
        version: 3,
        ..new_conversation(contact, &message(vec![]), None, now - Duration::days(30))
    }
}

/// A web-form submission: everything on it typed.
fn submission(identities: Vec<Identity>) -> InboundMessage {
    InboundMessage {
        channel: Channel::Web,
        identities: identities
            .into_iter()
            .map(PresentedIdentity::typed)
            .collect(),
        customer_link: Some("a new link".into()),
        ..message(vec![])
    }
}

fn owner(contact_id: ContactId, proven: bool) -> IdentityOwner {
    IdentityOwner {
        contact_id,
        proven,
        typed: false,
    }
}

fn typed_owner(contact_id: ContactId) -> IdentityOwner {
    IdentityOwner {
        contact_id,
        proven: false,
        typed: true,
    }
}

fn phone(e164: &str) -> Identity {
    Identity::phone(&crate::model::PhoneNumber::from_e164(e164).unwrap())
}

#[test]
fn a_first_message_makes_a_contact_and_a_conversation() {
    let msg = message(vec![(email("sara@example.com"), false)]);
    let plan = RoutePolicy::default()
        .plan(&msg, &RouteContext::default(), Utc::now())
        .unwrap();
    let ContactChange::Create(contact) = &plan.contact else {
        panic!("expected a new contact")
    };
    assert_eq!(contact.name.as_deref(), Some("Sara Ahmadi"));
    assert_eq!(contact.identities.len(), 1);
    assert!(!contact.identities[0].proven);
    let ConversationChange::Create(c) = &plan.conversation else {
        panic!("expected a new conversation")
    };
    assert_eq!(c.message_count, 1);
    assert_eq!(plan.message.text, msg.text);
    assert_eq!(plan.assign_within, Some(AssignNeed::default()));
    assert!(matches!(plan.events[0].kind, EventKind::Created));
}

#[test]
fn a_claim_joins_the_contact_that_claimed_it_before_and_its_open_conversation() {
    let contact = ContactId::new();
    let open = conversation_of(contact, ConversationStatus::Pending, None);
    let ctx = RouteContext {
        owners: vec![vec![owner(contact, false)]],
        hinted: None,
        latest: vec![open.clone()],
        ..Default::default()
    };
    let plan = RoutePolicy::default()
        .plan(
            &message(vec![(email("sara@example.com"), false)]),
            &ctx,
            Utc::now(),
        )
        .unwrap();
    assert!(
        matches!(&plan.contact, ContactChange::Update { id, add_identities, .. } if *id == contact && add_identities.is_empty())
    );
    let ConversationChange::Update {
        conversation,
        expected_version,
    } = &plan.conversation
    else {
        panic!()
    };
    assert_eq!(conversation.id, open.id);
    assert_eq!(*expected_version, 3);
    assert_eq!(
        conversation.status,
        ConversationStatus::Open,
        "a customer's answer puts a pending conversation back to open"
    );
}

#[test]
fn a_claim_never_lands_in_the_conversation_of_a_contact_who_proved_that_address() {
    let owner_contact = ContactId::new();
    let ctx = RouteContext {
        owners: vec![vec![owner(owner_contact, true)]],
        hinted: None,
        latest: vec![conversation_of(
            owner_contact,
            ConversationStatus::Open,
            None,
        )],
        ..Default::default()
    };
    let plan = RoutePolicy::default()
        .plan(
            &message(vec![(email("sara@example.com"), false)]),
            &ctx,
            Utc::now(),
        )
        .unwrap();
    let ContactChange::Create(contact) = &plan.contact else {
        panic!("expected a separate contact")
    };
    assert_eq!(contact.merge_suggestions.len(), 1);
    assert_eq!(contact.merge_suggestions[0].other_contact_id, owner_contact);
    assert_eq!(
        contact.identities.len(),
        1,
        "the claim is kept on the new contact"
    );
    assert!(matches!(plan.conversation, ConversationChange::Create(_)));
    assert!(
        plan.events
            .iter()
            .any(|e| matches!(e.kind, EventKind::MergeSuggested { .. }))
    );
}

#[test]
fn a_claimed_phone_of_another_contact_becomes_a_suggestion_not_a_merge() {
    let by_email = ContactId::new();
    let by_phone = ContactId::new();
    let ctx = RouteContext {
        owners: vec![vec![owner(by_email, false)], vec![owner(by_phone, false)]],
        hinted: None,
        latest: vec![],
        ..Default::default()
    };
    let msg = message(vec![
        (email("sara@example.com"), false),
        (phone("+989123456789"), false),
    ]);
    let plan = RoutePolicy::default().plan(&msg, &ctx, Utc::now()).unwrap();
    let ContactChange::Update {
        id,
        suggestions,
        add_identities,
        ..
    } = &plan.contact
    else {
        panic!()
    };
    assert_eq!(*id, by_email);
    assert_eq!(suggestions.len(), 1);
    assert_eq!(suggestions[0].other_contact_id, by_phone);
    assert_eq!(
        add_identities.len(),
        1,
        "claims may be shared, so the phone is attached too"
    );
}

#[test]
fn a_resolved_conversation_reopens_inside_the_window_and_not_after() {
    let contact = ContactId::new();
    let policy = RoutePolicy {
        reopen_window: Duration::days(7),
        ..RoutePolicy::default()
    };
    let msg = message(vec![(email("sara@example.com"), false)]);
    let recent = conversation_of(
        contact,
        ConversationStatus::Resolved,
        Some(Duration::days(2)),
    );
    let ctx = RouteContext {
        owners: vec![vec![owner(contact, false)]],
        hinted: None,
        latest: vec![recent.clone()],
        ..Default::default()
    };
    let plan = policy.plan(&msg, &ctx, Utc::now()).unwrap();
    assert_eq!(plan.conversation_id(), recent.id);
    assert_eq!(
        plan.conversation.conversation().status,
        ConversationStatus::Open
    );
    assert!(
        plan.events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Reopened))
    );

    let old = conversation_of(
        contact,
        ConversationStatus::Resolved,
        Some(Duration::days(8)),
    );
    let ctx = RouteContext {
        owners: vec![vec![owner(contact, false)]],
        hinted: None,
        latest: vec![old.clone()],
        ..Default::default()
    };
    let plan = policy.plan(&msg, &ctx, Utc::now()).unwrap();
    assert_ne!(plan.conversation_id(), old.id);
}

#[test]
fn an_answer_on_the_customer_page_continues_that_conversation_even_when_resolved() {
    let contact = ContactId::new();
    let resolved = conversation_of(
        contact,
        ConversationStatus::Resolved,
        Some(Duration::days(60)),
    );
    let mut msg = message(vec![]);
    msg.thread = ThreadHint::CustomerLink {
        link_hash: "abc".into(),
    };
    let ctx = RouteContext {
        owners: vec![],
        hinted: Some(resolved.clone()),
        latest: vec![],
        ..Default::default()
    };
    let plan = RoutePolicy::default().plan(&msg, &ctx, Utc::now()).unwrap();
    assert_eq!(plan.conversation_id(), resolved.id);
    assert_eq!(plan.message.contact_id, contact);

    let unknown = RouteContext::default();
    assert_eq!(
        RoutePolicy::default().plan(&msg, &unknown, Utc::now()),
        Err(RouteError::UnknownThread)
    );
}

#[test]
fn round_robin_skips_agents_who_are_away_or_full() {
    let mut ids: Vec<AgentId> = (0..4).map(|_| AgentId::new()).collect();
    ids.sort();
    let load = |i: usize, availability, open, cap| AgentLoad {
        agent_id: ids[i],
        availability,
        max_open_conversations: cap,
        open_conversations: open,
        languages: vec![],
    };
    let agents = vec![
        load(0, Availability::Available, 0, None),
        load(1, Availability::Away, 0, None),
        load(2, Availability::Available, 5, Some(5)),
        load(3, Availability::Available, 1, Some(5)),
    ];
    assert_eq!(choose_assignee(&agents, None, None, RR), Some(ids[0]));
    assert_eq!(
        choose_assignee(&agents, Some(ids[0]), None, RR),
        Some(ids[3])
    );
    assert_eq!(
        choose_assignee(&agents, Some(ids[3]), None, RR),
        Some(ids[0])
    );
    assert_eq!(choose_assignee(&agents[1..3], None, None, RR), None);
    assert_eq!(choose_assignee(&[], None, None, RR), None);
}

const RR: Assignment = Assignment::RoundRobin;

#[test]
fn least_loaded_gives_to_whoever_has_fewest_and_in_turn_among_equals() {
    let mut ids: Vec<AgentId> = (0..4).map(|_| AgentId::new()).collect();
    ids.sort();
    let load = |i: usize, availability, open, languages: &[&str]| AgentLoad {
        agent_id: ids[i],
        availability,
        max_open_conversations: Some(5),
        open_conversations: open,
        languages: languages.iter().map(|l| (*l).to_owned()).collect(),
    };
    let least = Assignment::LeastLoaded;
    let agents = vec![
        load(0, Availability::Available, 3, &["en"]),
        load(1, Availability::Away, 0, &["en"]),
        load(2, Availability::Available, 1, &["fa"]),
        load(3, Availability::Available, 1, &["en"]),
    ];
    // Away has none, yet is not given one; two have one each: in turn between them.
    assert_eq!(choose_assignee(&agents, None, None, least), Some(ids[2]));
    assert_eq!(
        choose_assignee(&agents, Some(ids[2]), None, least),
        Some(ids[3])
    );
    assert_eq!(
        choose_assignee(&agents, Some(ids[3]), None, least),
        Some(ids[2])
    );
    // Speakers of the message's language first, the least loaded of them.
    assert_eq!(
        choose_assignee(&agents, None, Some("en"), least),
        Some(ids[3])
    );
    // Round robin would have gone on to the next in turn, however loaded.
    assert_eq!(
        choose_assignee(&agents, Some(ids[3]), None, RR),
        Some(ids[0])
    );
    // Full: the fewest of those who can take one more.
    let full = vec![
        load(0, Availability::Available, 5, &[]),
        load(2, Availability::Available, 4, &[]),
    ];
    assert_eq!(choose_assignee(&full, None, None, least), Some(ids[2]));
    assert_eq!(choose_assignee(&full[..1], None, None, least), None);
}

#[test]
fn a_message_goes_to_an_agent_who_speaks_its_language_while_one_can_take_it() {
    let mut ids: Vec<AgentId> = (0..3).map(|_| AgentId::new()).collect();
    ids.sort();
    let load = |i: usize, languages: &[&str], open| AgentLoad {
        agent_id: ids[i],
        availability: Availability::Available,
        max_open_conversations: Some(2),
        open_conversations: open,
        languages: languages.iter().map(|l| (*l).to_owned()).collect(),
    };
    let agents = vec![
        load(0, &["en"], 0),
        load(1, &["fa", "en"], 0),
        load(2, &["fa"], 0),
    ];
    let persian = language_among(&agents, "سلام، سفارشم کی می‌رسد؟");
    assert_eq!(persian.as_deref(), Some("fa"));
    // The Persian speakers in turn, never the one who speaks only English.
    assert_eq!(choose_assignee(&agents, None, Some("fa"), RR), Some(ids[1]));
    assert_eq!(
        choose_assignee(&agents, Some(ids[1]), Some("fa"), RR),
        Some(ids[2])
    );
    assert_eq!(
        choose_assignee(&agents, Some(ids[2]), Some("fa"), RR),
        Some(ids[1])
    );
    // Both full: anyone who can take it.
    let full = vec![
        load(0, &["en"], 0),
        load(1, &["fa"], 2),
        load(2, &["fa"], 2),
    ];
    assert_eq!(choose_assignee(&full, None, Some("fa"), RR), Some(ids[0]));
    assert_eq!(
        language_among(&agents, "Hello, where is my order?").as_deref(),
        Some("en")
    );
}

#[test]
fn assigning_records_who_got_it() {
    let msg = message(vec![(email("sara@example.com"), false)]);
    let mut plan = RoutePolicy::default()
        .plan(&msg, &RouteContext::default(), Utc::now())
        .unwrap();
    let agent = AgentId::new();
    plan.assign(Some(agent), Utc::now());
    assert_eq!(plan.conversation.conversation().assignee_id, Some(agent));
    assert!(
        plan.events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Assigned { to: Some(a), .. } if a == agent))
    );
    assert_eq!(plan.assign_within, None);
}

fn shared_own_phone(telegram_user: i64) -> InboundMessage {
    let mut msg = message(vec![
        (Identity::telegram(telegram_user), true),
        (phone("+989123456789"), true),
    ]);
    msg.identities[1].links = true;
    msg
}

#[test]
fn a_phone_shared_of_oneself_never_joins_a_contact_that_only_had_it_typed() {
    let by_form = ContactId::new();
    let ctx = RouteContext {
        owners: vec![vec![], vec![typed_owner(by_form)]],
        latest: vec![conversation_of(by_form, ConversationStatus::Open, None)],
        ..Default::default()
    };
    let plan = RoutePolicy::default()
        .plan(&shared_own_phone(42), &ctx, Utc::now())
        .unwrap();
    let ContactChange::Create(contact) = &plan.contact else {
        panic!("expected a contact of the Telegram user's own")
    };
    assert!(contact.identities.iter().all(|i| i.proven));
    assert_eq!(
        contact.merge_suggestions.len(),
        1,
        "an agent may merge them"
    );
    assert_eq!(contact.merge_suggestions[0].other_contact_id, by_form);
    assert_eq!(plan.merge_into, None);
    assert!(matches!(plan.conversation, ConversationChange::Create(_)));
    assert_eq!(
        plan.mirrored_suggestions,
        vec![(
            by_form,
            MergeSuggestion {
                other_contact_id: contact.id,
                ..contact.merge_suggestions[0].clone()
            }
        )],
        "the form's contact sees the suggestion too"
    );
}

#[test]
fn a_web_form_submission_with_someone_elses_email_and_phone_starts_its_own_contact_and_conversation()
 {
    let victim = ContactId::new();
    let victims = conversation_of(victim, ConversationStatus::Open, None);
    for owner in [
        owner(victim, false),
        owner(victim, true),
        typed_owner(victim),
    ] {
        let ctx = RouteContext {
            owners: vec![vec![owner.clone()], vec![owner.clone()]],
            latest: vec![victims.clone()],
            ..Default::default()
        };
        let msg = submission(vec![email("victim@example.com"), phone("+14155550100")]);
        let plan = RoutePolicy::default().plan(&msg, &ctx, Utc::now()).unwrap();
        let ContactChange::Create(contact) = &plan.contact else {
            panic!("{owner:?}: a submission never joins an existing contact")
        };
        assert!(contact.identities.iter().all(|i| i.typed && !i.proven));
        assert_eq!(contact.merge_suggestions.len(), 1, "{owner:?}");
        assert_eq!(plan.mirrored_suggestions.len(), 1, "{owner:?}");
        assert_eq!(plan.mirrored_suggestions[0].0, victim);
        assert!(matches!(plan.conversation, ConversationChange::Create(_)));
        assert_eq!(plan.message.sent_from.len(), 2);
        assert_eq!(plan.merge_into, None);
    }
}

#[test]
fn a_reported_email_never_joins_a_contact_that_only_had_it_typed() {
    let by_form = ContactId::new();
    let ctx = RouteContext {
        owners: vec![vec![typed_owner(by_form)]],
        latest: vec![conversation_of(by_form, ConversationStatus::Open, None)],
        ..Default::default()
    };
    let msg = message(vec![(email("sara@example.com"), false)]);
    let plan = RoutePolicy::default().plan(&msg, &ctx, Utc::now()).unwrap();
    let ContactChange::Create(contact) = &plan.contact else {
        panic!("expected a contact of its own")
    };
    assert_eq!(contact.merge_suggestions[0].other_contact_id, by_form);
}

#[test]
fn a_customer_page_conversation_takes_nothing_from_another_channel() {
    let sara = ContactId::new();
    let mut page = conversation_of(sara, ConversationStatus::Open, None);
    page.channels = vec![Channel::Web];
    let ctx = RouteContext {
        owners: vec![vec![owner(sara, true)]],
        latest: vec![page.clone()],
        ..Default::default()
    };
    let msg = message(vec![(email("sara@example.com"), true)]);
    let plan = RoutePolicy::default().plan(&msg, &ctx, Utc::now()).unwrap();
    assert!(
        matches!(&plan.contact, ContactChange::Update { id, .. } if *id == sara),
        "the contact is hers"
    );
    assert_ne!(
        plan.conversation_id(),
        page.id,
        "but not the page's conversation"
    );
}

#[test]
fn a_phone_shared_of_oneself_merges_the_senders_contact_into_its_holder() {
    let on_telegram = ContactId::new();
    let by_sms = ContactId::new();
    let ctx = RouteContext {
        owners: vec![vec![owner(on_telegram, true)], vec![owner(by_sms, true)]],
        latest: vec![conversation_of(on_telegram, ConversationStatus::Open, None)],
        ..Default::default()
    };
    let plan = RoutePolicy::default()
        .plan(&shared_own_phone(42), &ctx, Utc::now())
        .unwrap();
    let ContactChange::Update {
        id, suggestions, ..
    } = &plan.contact
    else {
        panic!("expected the sender's contact to be extended")
    };
    assert_eq!(
        *id, on_telegram,
        "the message lands in the sender's conversation"
    );
    assert_eq!(
        plan.merge_into,
        Some(by_sms),
        "then everything moves to the holder"
    );
    assert!(
        suggestions.is_empty(),
        "no suggestion for a merge that happens"
    );
    assert!(
        !plan
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::MergeSuggested { .. }))
    );
}

#[test]
fn a_phone_shared_of_oneself_that_several_claimed_only_suggests() {
    let (a, b) = (ContactId::new(), ContactId::new());
    let ctx = RouteContext {
        owners: vec![vec![], vec![owner(a, false), owner(b, false)]],
        ..Default::default()
    };
    let plan = RoutePolicy::default()
        .plan(&shared_own_phone(42), &ctx, Utc::now())
        .unwrap();
    let ContactChange::Create(contact) = &plan.contact else {
        panic!("expected a new contact")
    };
    assert_eq!(contact.merge_suggestions.len(), 2);
    assert_eq!(plan.merge_into, None);
}

#[test]
fn a_phone_presented_proven_without_linking_still_only_suggests() {
    let on_telegram = ContactId::new();
    let by_form = ContactId::new();
    let mut msg = shared_own_phone(42);
    msg.identities[1].links = false;
    let ctx = RouteContext {
        owners: vec![vec![owner(on_telegram, true)], vec![owner(by_form, false)]],
        ..Default::default()
    };
    let plan = RoutePolicy::default().plan(&msg, &ctx, Utc::now()).unwrap();
    assert_eq!(plan.merge_into, None);
    let ContactChange::Update { suggestions, .. } = &plan.contact else {
        panic!()
    };
    assert_eq!(suggestions.len(), 1);
}

#[test]
fn an_email_clue_picks_a_conversation_only_for_a_sender_its_contact_holds() {
    let sara = ContactId::new();
    let saras = conversation_of(sara, ConversationStatus::Resolved, Some(Duration::days(60)));
    let mut msg = message(vec![(email("sara@example.com"), false)]);
    msg.thread = ThreadHint::Conversation { id: saras.id };
    // The message the clue names (an email's In-Reply-To), in Sara's conversation.
    let answered = Some(MessageId::new());
    let ctx = RouteContext {
        owners: vec![vec![owner(sara, false)]],
        hinted: Some(saras.clone()),
        latest: vec![saras.clone()],
        reply_to: answered,
        ..Default::default()
    };
    let plan = RoutePolicy::default().plan(&msg, &ctx, Utc::now()).unwrap();
    assert_eq!(plan.conversation_id(), saras.id, "her own: reopened");
    assert_eq!(plan.message.reply_to, answered);

    // A stranger who copied the reference (or the Message-ID) gets a conversation of
    // their own, and Sara's contact gains nothing.
    let mut stranger = message(vec![(email("mallory@example.net"), false)]);
    stranger.thread = ThreadHint::Conversation { id: saras.id };
    let ctx = RouteContext {
        owners: vec![vec![]],
        hinted: Some(saras.clone()),
        latest: vec![],
        reply_to: answered,
        ..Default::default()
    };
    let plan = RoutePolicy::default()
        .plan(&stranger, &ctx, Utc::now())
        .unwrap();
    assert_ne!(plan.conversation_id(), saras.id);
    assert!(matches!(plan.contact, ContactChange::Create(_)));
    assert_eq!(
        plan.message.reply_to, None,
        "their message does not point into Sara's conversation"
    );

    // Nor does a sender who proved only their own address (SPF/DKIM passed): whose
    // conversation it is, the proof does not say.
    let mut proven = message(vec![(email("mallory@gmail.example"), true)]);
    proven.thread = ThreadHint::Conversation { id: saras.id };
    let plan = RoutePolicy::default()
        .plan(&proven, &ctx, Utc::now())
        .unwrap();
    assert_ne!(plan.conversation_id(), saras.id);
    assert!(matches!(plan.contact, ContactChange::Create(_)));

    // Sara herself, proven, continues it.
    let mut saras_proven = message(vec![(email("sara@example.com"), true)]);
    saras_proven.thread = ThreadHint::Conversation { id: saras.id };
    let ctx = RouteContext {
        owners: vec![vec![owner(sara, true)]],
        hinted: Some(saras.clone()),
        latest: vec![saras.clone()],
        ..Default::default()
    };
    let plan = RoutePolicy::default()
        .plan(&saras_proven, &ctx, Utc::now())
        .unwrap();
    assert_eq!(plan.conversation_id(), saras.id);
}
