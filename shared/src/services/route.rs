//! Routing decisions: who wrote, which conversation it continues, who should answer.
//!
//! The decisions are pure functions of what the store read ([`RouteContext`]); each
//! store reads, calls [`RoutePolicy::plan`], and applies the [`RoutePlan`] in one
//! consistent step, so both backends route the same way.

use crate::model::{
    AgentId, AgentLoad, AssignNeed, Assignment, Author, Contact, ContactId, ContactIdentity,
    ContactProfile, Conversation, ConversationId, ConversationStatus, DeliveryStatus, Direction,
    Event, EventKind, Identity, InboundMessage, MAX_STORED_TEXT_BYTES, MergeSuggestion, Message,
    MessageId, PresentedIdentity, Priority, TeamId, bounded_context, bounded_text, preview_of,
};
use crate::model::{
    Applied, Calendar, CannedReplyId, Happening, IdentityKind, Rule, RuleSet, Trigger, run_rules,
};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// The tunable part of routing: config, and the rules an admin set.
#[derive(Clone, Debug)]
pub struct RoutePolicy {
    /// A resolved conversation reopens when its customer writes within this window.
    pub reopen_window: Duration,
    /// The team new conversations belong to, if any.
    pub default_team: Option<TeamId>,
    /// The routing rules a message runs, with the calendars they ask.
    pub rules: RuleBook,
    /// The channels on which a bot answers a new question from the knowledge base first.
    pub answer_first: Vec<crate::model::Channel>,
}

impl Default for RoutePolicy {
    fn default() -> Self {
        Self {
            reopen_window: Duration::days(7),
            default_team: None,
            rules: RuleBook::default(),
            answer_first: Vec::new(),
        }
    }
}

/// The rules as read a moment ago: a router reads them at most once a second, so an
/// admin's change applies within a second and a burst of messages reads them once.
/// Callers wait their turn (first come, first served) while one reads: messages handed
/// out together reach the store in the order they came.
#[derive(Clone, Default)]
pub struct RuleCache(Arc<tokio::sync::Mutex<Option<(std::time::Instant, RuleBook)>>>);

impl RuleCache {
    const FRESH: std::time::Duration = std::time::Duration::from_secs(1);

    pub async fn get(
        &self,
        rules: &dyn crate::ports::RuleStore,
        calendars: &dyn crate::ports::SlaStore,
    ) -> crate::ports::PortResult<RuleBook> {
        let mut cached = self.0.lock().await;
        if let Some((at, book)) = &*cached
            && at.elapsed() < Self::FRESH
        {
            return Ok(book.clone());
        }
        let book = RuleBook::read(rules, calendars).await?;
        *cached = Some((std::time::Instant::now(), book.clone()));
        Ok(book)
    }
}

/// Routing rules in the order they run, and the calendars their conditions name.
#[derive(Clone, Debug, Default)]
pub struct RuleBook {
    pub rules: RuleSet,
    pub calendars: Arc<[Calendar]>,
}

impl RuleBook {
    pub fn new(rules: Vec<Rule>, calendars: Vec<Calendar>) -> Self {
        Self {
            rules: RuleSet::new(rules),
            calendars: calendars.into(),
        }
    }

    /// What `msg` makes the rules do to `conversation` (changed as they say).
    pub fn on_message(
        &self,
        msg: &InboundMessage,
        new_conversation: bool,
        contact: Option<ContactProfile>,
        conversation: &mut Conversation,
        now: DateTime<Utc>,
    ) -> Vec<Applied> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let sender_domains = msg
            .identities
            .iter()
            .filter(|p| p.identity.kind == IdentityKind::Email)
            .filter_map(|p| p.identity.value.rsplit_once('@').map(|(_, d)| d.to_owned()))
            .collect();
        let happening = Happening {
            trigger: Trigger::MessageReceived,
            text: &msg.text,
            subject: msg.subject.as_deref(),
            channel: Some(msg.channel),
            new_conversation,
            sender_domains,
            now,
            only: None,
            contact,
        };
        run_rules(&self.rules, &self.calendars, &happening, conversation)
    }

    /// What `trigger` (anything but a message: a breach, an agent's change, a reopen)
    /// makes the rules do to `conversation`.
    pub fn on(
        &self,
        trigger: Trigger,
        contact: Option<ContactProfile>,
        conversation: &mut Conversation,
        now: DateTime<Utc>,
    ) -> Vec<Applied> {
        self.on_only(trigger, None, contact, conversation, now)
    }

    /// [`Self::on`], running only the rule `only` when one is named (a timer fires one).
    pub fn on_only(
        &self,
        trigger: Trigger,
        only: Option<crate::model::RuleId>,
        contact: Option<ContactProfile>,
        conversation: &mut Conversation,
        now: DateTime<Utc>,
    ) -> Vec<Applied> {
        let happening = Happening {
            trigger,
            text: "",
            subject: None,
            channel: None,
            new_conversation: false,
            sender_domains: Vec::new(),
            now,
            only,
            contact,
        };
        run_rules(&self.rules, &self.calendars, &happening, conversation)
    }

    /// Whether a rule asks about the customer: then the store reads the profiles of
    /// the contacts a message may belong to.
    pub fn reads_contact(&self) -> bool {
        self.rules.reads_contact()
    }

    /// Whether any rule waits for `trigger`.
    pub fn awaits(&self, trigger: Trigger) -> bool {
        self.rules.awaits(trigger)
    }

    /// What the rules need to know of the conversation's contact, read only when a rule
    /// asks.
    pub async fn contact_of(
        &self,
        contacts: &dyn crate::ports::ContactStore,
        conversation: &Conversation,
    ) -> crate::ports::PortResult<Option<ContactProfile>> {
        if !self.rules.reads_contact() {
            return Ok(None);
        }
        Ok(contacts
            .contact(conversation.contact_id)
            .await?
            .map(|c| c.profile()))
    }

    /// The rules as they stand, with the calendars they ask.
    pub async fn read(
        rules: &dyn crate::ports::RuleStore,
        calendars: &dyn crate::ports::SlaStore,
    ) -> crate::ports::PortResult<Self> {
        let rules = rules.rules().await?;
        let calendars = if rules.iter().any(|r| !r.calendars().is_empty()) {
            calendars.calendars().await?
        } else {
            Vec::new()
        };
        Ok(Self::new(rules, calendars))
    }
}

/// A contact that holds an identity, and how it came to hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityOwner {
    pub contact_id: ContactId,
    /// A channel proved it theirs.
    pub proven: bool,
    /// It was only typed into a form: it leads nothing to this contact.
    pub typed: bool,
}

impl IdentityOwner {
    /// Whether a message presenting the identity as `presented` may land on this owner:
    /// proven joins proven, reported joins reported, typed joins nothing.
    fn takes(&self, presented: &PresentedIdentity) -> bool {
        !presented.typed && !self.typed && self.proven == presented.proven
    }
}

/// The most holders of one identity routing reads: proven first, then reported, then the
/// newest typed one. Anyone may type an address into the form as often as they like;
/// however many contacts hold it, routing one message reads, suggests and writes a
/// bounded amount.
pub const MAX_OWNERS_READ: usize = 3;

/// Of the holders that only typed an identity, routing reads the newest alone: a form
/// typing an address again suggests the one before it (who suggests the one before
/// them), and whoever proved or reported it, never every earlier form.
pub const MAX_TYPED_OWNERS_READ: usize = 1;

/// The holders routing reads, from `owners` in the order proven, reported, newest typed
/// (see [`MAX_OWNERS_READ`], [`MAX_TYPED_OWNERS_READ`]).
pub fn owners_read(owners: impl IntoIterator<Item = IdentityOwner>) -> Vec<IdentityOwner> {
    let mut typed = 0;
    owners
        .into_iter()
        .filter(|owner| {
            typed += usize::from(owner.typed);
            !owner.typed || typed <= MAX_TYPED_OWNERS_READ
        })
        .take(MAX_OWNERS_READ)
        .collect()
}

/// What the store read for one message.
#[derive(Clone, Debug, Default)]
pub struct RouteContext {
    /// For each of the message's identities, in order: the contacts holding it, at most
    /// [`MAX_OWNERS_READ`], proven first, then reported, then newest.
    pub owners: Vec<Vec<IdentityOwner>>,
    /// The conversation the message's thread hint names, when it exists.
    pub hinted: Option<Conversation>,
    /// The most recent conversation of each contact named in `owners`.
    pub latest: Vec<Conversation>,
    /// The stored message the message's `reply_to` names, if any.
    pub reply_to: Option<MessageId>,
    /// The stored message the message's `edit_of` names, if any.
    pub edit_of: Option<MessageId>,
    /// The tags and VIP mark of the contacts named in `owners` and of the hinted
    /// conversation's, read only when a rule asks ([`RuleBook::reads_contact`]).
    pub profiles: Vec<(ContactId, ContactProfile)>,
}

impl RouteContext {
    /// Every contact a message may belong to: those named in `owners`, and the hinted
    /// conversation's.
    pub fn candidate_contacts(&self) -> Vec<ContactId> {
        let mut ids = self.owner_contacts();
        ids.extend(self.hinted.as_ref().map(|c| c.contact_id));
        ids.sort();
        ids.dedup();
        ids
    }

    /// Every contact the store must fetch the latest conversation of.
    pub fn owner_contacts(&self) -> Vec<ContactId> {
        let mut ids: Vec<ContactId> = self.owners.iter().flatten().map(|o| o.contact_id).collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ContactChange {
    Create(Contact),
    Update {
        id: ContactId,
        /// Set only when the contact has no name yet.
        name: Option<String>,
        add_identities: Vec<ContactIdentity>,
        /// Identities the contact held as claimed that a channel has now proven.
        prove: Vec<Identity>,
        suggestions: Vec<MergeSuggestion>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum ConversationChange {
    Create(Conversation),
    Update {
        conversation: Conversation,
        expected_version: u64,
    },
}

impl ConversationChange {
    pub fn conversation(&self) -> &Conversation {
        match self {
            Self::Create(c)
            | Self::Update {
                conversation: c, ..
            } => c,
        }
    }

    fn conversation_mut(&mut self) -> &mut Conversation {
        match self {
            Self::Create(c)
            | Self::Update {
                conversation: c, ..
            } => c,
        }
    }
}

/// Everything one routed message changes.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutePlan {
    pub contact: ContactChange,
    pub conversation: ConversationChange,
    pub message: Message,
    pub events: Vec<Event>,
    /// A customer-page link to bind to the conversation.
    pub link_hash: Option<String>,
    /// Set when the conversation needs an assignee: whom it may go to.
    pub assign_within: Option<AssignNeed>,
    /// After the rest is applied, fold the message's contact into this one: the message
    /// linked its sender to the contact holding an identity they proved (every
    /// identity, conversation and message is kept).
    pub merge_into: Option<ContactId>,
    /// Suggestions the other contacts get in return, so an agent sees the pair from
    /// either side.
    pub mirrored_suggestions: Vec<(ContactId, MergeSuggestion)>,
    /// The canned replies the rules answer the message with, sent once it is stored.
    pub auto_replies: Vec<CannedReplyId>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouteError {
    /// The message continues a conversation the store does not know (yet).
    #[error("the conversation this message continues is not known yet")]
    UnknownThread,
    #[error("the message names no identity and no conversation")]
    NoSender,
}

impl RoutePolicy {
    pub fn plan(
        &self,
        msg: &InboundMessage,
        ctx: &RouteContext,
        now: DateTime<Utc>,
    ) -> Result<RoutePlan, RouteError> {
        // A conversation named by a clue anybody could copy (an email's references, its
        // subject, the reply address of an email we sent) is taken only from a sender
        // whose identity the conversation's contact already holds, proven for a proven
        // sender: otherwise a stranger could write themself into somebody else's
        // conversation, and the agents' next replies there would go to them. Proving
        // one's own address (SPF, DKIM) says nothing of whose conversation it is.
        //
        // Nor is a customer page's conversation taken by a clue at all: the page shows
        // what is in it to whoever holds its link, and its replies also go to whatever
        // address was typed on the form. An email answering one of those (whoever owns
        // that address, proven or not) starts or continues that sender's own
        // conversation instead of landing on the typist's page.
        let vouched = match (&msg.thread, &ctx.hinted) {
            (crate::model::ThreadHint::Conversation { .. }, Some(hinted))
                if hinted.is_customer_page() =>
            {
                false
            }
            (crate::model::ThreadHint::Conversation { .. }, Some(hinted)) => {
                msg.identities.iter().zip(owners(ctx)).any(|(p, owners)| {
                    owners
                        .iter()
                        .any(|o| o.contact_id == hinted.contact_id && o.takes(p))
                })
            }
            _ => true,
        };
        let thread = if vouched {
            &msg.thread
        } else {
            &crate::model::ThreadHint::None
        };
        let (contact, hinted_conversation, merge_into) = match (thread, &ctx.hinted) {
            (crate::model::ThreadHint::None, _) => {
                let (contact, merge_into) = resolve_contact(msg, ctx, now)?;
                (contact, None, merge_into)
            }
            (_, Some(hinted)) => (
                extend_contact(hinted.contact_id, msg, ctx, now, None),
                Some(hinted.clone()),
                None,
            ),
            (_, None) => return Err(RouteError::UnknownThread),
        };
        let contact_id = match &contact {
            ContactChange::Create(c) => c.id,
            ContactChange::Update { id, .. } => *id,
        };

        let mut events = Vec::new();
        let existing = hinted_conversation.or_else(|| {
            ctx.latest
                .iter()
                .filter(|c| c.contact_id == contact_id)
                .max_by_key(|c| c.created_at)
                .filter(|c| !c.is_customer_page())
                .cloned()
        });
        let explicit_thread = !matches!(thread, crate::model::ThreadHint::None);
        let mut conversation = match existing {
            Some(c) if !c.is_closed() => {
                let expected_version = c.version;
                let mut c = c;
                if matches!(
                    c.status,
                    ConversationStatus::Pending | ConversationStatus::Snoozed
                ) {
                    events.push(status_event(c.id, c.status, ConversationStatus::Open, now));
                    c.status = ConversationStatus::Open;
                    c.snoozed_until = None;
                }
                ConversationChange::Update {
                    conversation: c,
                    expected_version,
                }
            }
            Some(c)
                if explicit_thread
                    || c.resolved_at
                        .is_some_and(|at| now - at <= self.reopen_window) =>
            {
                let expected_version = c.version;
                let mut c = c;
                events.push(Event::new(c.id, EventKind::Reopened, None, now));
                c.status = ConversationStatus::Open;
                c.resolved_at = None;
                ConversationChange::Update {
                    conversation: c,
                    expected_version,
                }
            }
            _ => {
                let c = new_conversation(contact_id, msg, self.default_team, now);
                events.push(Event::new(c.id, EventKind::Created, None, now));
                ConversationChange::Create(c)
            }
        };

        let message = Message {
            id: MessageId::new(),
            conversation_id: conversation.conversation().id,
            contact_id,
            direction: Direction::Inbound,
            channel: msg.channel,
            author: Author::Contact { contact_id },
            text: bounded_text(&msg.text, MAX_STORED_TEXT_BYTES, msg.original.is_some()),
            attachments: msg.attachments.clone(),
            source_id: Some(msg.source_id.clone()),
            delivery_status: DeliveryStatus::Received,
            delivery_error: None,
            created_at: msg.received_at,
            // A refused clue names a message of somebody else's conversation: not this
            // message's to point at.
            reply_to: ctx.reply_to.filter(|_| vouched),
            edit_of: ctx.edit_of,
            media_group: msg.media_group.clone(),
            external_id: msg.external_id.clone(),
            context: bounded_context(&msg.context, msg.original.is_some()),
            original: msg.original.clone(),
            sent_from: msg.identities.iter().map(|p| p.identity.clone()).collect(),
            provider_id: None,
        };

        let c = conversation.conversation_mut();
        c.channel = msg.channel;
        if !c.channels.contains(&msg.channel) {
            c.channels.push(msg.channel);
            c.channels.sort();
        }
        if c.subject.is_none() {
            c.subject = msg.subject.clone();
        }
        c.message_count += 1;
        c.preview = preview_of(&message_preview(msg));
        c.updated_at = now;
        c.last_inbound_at = Some(msg.received_at);
        c.waiting_since.get_or_insert(msg.received_at);
        let new_conversation = matches!(conversation, ConversationChange::Create(_));
        let c = conversation.conversation_mut();
        let mut auto_replies = Vec::new();
        let profile = ctx
            .profiles
            .iter()
            .find(|(id, _)| *id == contact_id)
            .map(|(_, p)| p.clone());
        for applied in self
            .rules
            .on_message(msg, new_conversation, profile, c, now)
        {
            events.extend(applied.events);
            auto_replies.extend(applied.answer);
        }
        let assign_within = c.assignee_id.is_none().then(|| AssignNeed::of(c));

        let (ContactChange::Create(Contact {
            merge_suggestions: suggestions,
            ..
        })
        | ContactChange::Update { suggestions, .. }) = &contact;
        let mut mirrored_suggestions = Vec::with_capacity(suggestions.len());
        for s in suggestions {
            events.push(Event::new(
                c.id,
                EventKind::MergeSuggested {
                    other_contact_id: s.other_contact_id,
                    identity: s.identity.clone(),
                },
                None,
                now,
            ));
            mirrored_suggestions.push((
                s.other_contact_id,
                MergeSuggestion {
                    other_contact_id: contact_id,
                    ..s.clone()
                },
            ));
            // The other contact's agents see it where they work too.
            if let Some(theirs) = ctx
                .latest
                .iter()
                .filter(|l| l.contact_id == s.other_contact_id)
                .max_by_key(|l| l.created_at)
            {
                events.push(Event::new(
                    theirs.id,
                    EventKind::MergeSuggested {
                        other_contact_id: contact_id,
                        identity: s.identity.clone(),
                    },
                    None,
                    now,
                ));
            }
        }

        Ok(RoutePlan {
            contact,
            conversation,
            message,
            events,
            link_hash: msg.customer_link.clone(),
            assign_within,
            merge_into,
            mirrored_suggestions,
            auto_replies,
        })
    }
}

/// The text a list shows for a message: its words, else what it carries.
fn message_preview(msg: &InboundMessage) -> String {
    if !msg.text.trim().is_empty() {
        return msg.text.clone();
    }
    match msg.attachments.first() {
        Some(a) => format!(
            "📎 {}",
            a.filename.as_deref().unwrap_or(a.content_type.as_str())
        ),
        None => String::new(),
    }
}

impl RoutePlan {
    /// Gives the conversation to `agent` (chosen by [`choose_assignee`]).
    pub fn assign(&mut self, agent: Option<AgentId>, now: DateTime<Utc>) {
        self.assign_within = None;
        let Some(agent) = agent else { return };
        let c = self.conversation.conversation_mut();
        self.events.push(Event::new(
            c.id,
            EventKind::Assigned {
                from: c.assignee_id,
                to: Some(agent),
            },
            None,
            now,
        ));
        c.assignee_id = Some(agent);
    }

    pub fn conversation_id(&self) -> ConversationId {
        self.conversation.conversation().id
    }
}

/// Whom a new conversation goes to, among agents who can take one (not away, not at
/// their cap): those who speak the message's `language` first, when one of them can take
/// it; then, by `mode`, the next after the last one given a conversation, or whoever has
/// the fewest unresolved (the next in turn among equals). `candidates` in any order.
pub fn choose_assignee(
    candidates: &[AgentLoad],
    last_assigned: Option<AgentId>,
    language: Option<&str>,
    mode: Assignment,
) -> Option<AgentId> {
    let choose = |pool: &[&AgentLoad]| match mode {
        Assignment::RoundRobin => in_turn(pool, last_assigned),
        Assignment::LeastLoaded => {
            let fewest = pool
                .iter()
                .filter(|a| a.can_take_more())
                .map(|a| a.open_conversations)
                .min()?;
            let least: Vec<&AgentLoad> = pool
                .iter()
                .copied()
                .filter(|a| a.open_conversations == fewest)
                .collect();
            in_turn(&least, last_assigned)
        }
    };
    if let Some(language) = language {
        let speakers: Vec<&AgentLoad> = candidates
            .iter()
            .filter(|a| a.languages.iter().any(|l| l == language))
            .collect();
        if let Some(chosen) = choose(&speakers) {
            return Some(chosen);
        }
    }
    choose(&candidates.iter().collect::<Vec<_>>())
}

/// The message's language among those `candidates` speak (none when it cannot tell).
pub fn language_among(candidates: &[AgentLoad], text: &str) -> Option<String> {
    let mut spoken: Vec<String> = candidates
        .iter()
        .flat_map(|a| a.languages.iter().cloned())
        .collect();
    spoken.sort();
    spoken.dedup();
    crate::model::detect_language(text, &spoken)
}

fn in_turn(candidates: &[&AgentLoad], last_assigned: Option<AgentId>) -> Option<AgentId> {
    let mut ordered: Vec<&AgentLoad> = candidates.to_vec();
    ordered.sort_by_key(|a| a.agent_id);
    let start = last_assigned.map_or(0, |last| ordered.partition_point(|a| a.agent_id <= last));
    ordered
        .iter()
        .cycle()
        .skip(start)
        .take(ordered.len())
        .find(|a| a.can_take_more())
        .map(|a| a.agent_id)
}

fn status_event(
    id: ConversationId,
    from: ConversationStatus,
    to: ConversationStatus,
    now: DateTime<Utc>,
) -> Event {
    Event::new(id, EventKind::StatusChanged { from, to }, None, now)
}

fn new_conversation(
    contact_id: ContactId,
    msg: &InboundMessage,
    team: Option<TeamId>,
    now: DateTime<Utc>,
) -> Conversation {
    Conversation {
        id: ConversationId::new(),
        contact_id,
        status: ConversationStatus::Open,
        snoozed_until: None,
        priority: Priority::Normal,
        tags: Vec::new(),
        team_id: team,
        assignee_id: None,
        subject: msg.subject.clone(),
        channel: msg.channel,
        channels: vec![msg.channel],
        message_count: 0,
        preview: String::new(),
        created_at: now,
        updated_at: now,
        last_inbound_at: None,
        waiting_since: None,
        incident_id: None,
        resolved_at: None,
        version: 0,
    }
}

/// Picks the contact a message belongs to. A proven identity joins the contact that
/// holds it proven; a reported one joins only a contact that holds it reported; a typed
/// one joins nothing, so typing someone's address or number into a form never lands in
/// their contact or their conversation. Everything else the message presents is
/// attached, or becomes a merge suggestion when another contact holds it. A linking
/// identity (see [`PresentedIdentity::links`]) joins the contact holding it proven,
/// merging the sender's contact into that one; a contact that merely claims it only
/// gets a suggestion.
///
/// [`PresentedIdentity::links`]: crate::model::PresentedIdentity::links
fn resolve_contact(
    msg: &InboundMessage,
    ctx: &RouteContext,
    now: DateTime<Utc>,
) -> Result<(ContactChange, Option<ContactId>), RouteError> {
    if msg.identities.is_empty() {
        return Err(RouteError::NoSender);
    }
    let chosen = msg
        .identities
        .iter()
        .zip(owners(ctx))
        .find_map(|(presented, owners)| {
            owners
                .iter()
                .find(|o| o.takes(presented))
                .map(|o| o.contact_id)
        });
    let linked = msg
        .identities
        .iter()
        .zip(owners(ctx))
        .filter(|(presented, _)| presented.proven && presented.links)
        .find_map(|(_, owners)| owners.iter().find(|o| o.proven).map(|o| o.contact_id));
    match (chosen, linked) {
        (Some(id), Some(target)) if id != target => Ok((
            extend_contact(id, msg, ctx, now, Some(target)),
            Some(target),
        )),
        (_, Some(id)) | (Some(id), None) => Ok((extend_contact(id, msg, ctx, now, None), None)),
        (None, None) => {
            let id = ContactId::new();
            let (identities, suggestions) = attach(id, msg, ctx, now, None);
            Ok((
                ContactChange::Create(Contact {
                    id,
                    name: clean_name(msg.sender_name.as_deref()),
                    identities,
                    merge_suggestions: suggestions,
                    blocked_channels: Vec::new(),
                    tags: Vec::new(),
                    vip: false,
                    created_at: now,
                    updated_at: now,
                }),
                None,
            ))
        }
    }
}

/// `merging_into`: the contact `id` is about to be folded into, which needs no
/// suggestion.
fn extend_contact(
    id: ContactId,
    msg: &InboundMessage,
    ctx: &RouteContext,
    now: DateTime<Utc>,
    merging_into: Option<ContactId>,
) -> ContactChange {
    let (add_identities, suggestions) = attach(id, msg, ctx, now, merging_into);
    let prove = msg
        .identities
        .iter()
        .zip(owners(ctx))
        .filter(|(p, owners)| {
            p.proven
                && owners.iter().any(|o| o.contact_id == id && !o.proven)
                && !owners.iter().any(|o| o.proven)
        })
        .map(|(p, _)| p.identity.clone())
        .collect();
    ContactChange::Update {
        id,
        name: clean_name(msg.sender_name.as_deref()),
        add_identities,
        prove,
        suggestions,
    }
}

/// The identities `contact` gains from this message, and the suggestions it raises.
fn attach(
    contact: ContactId,
    msg: &InboundMessage,
    ctx: &RouteContext,
    now: DateTime<Utc>,
    merging_into: Option<ContactId>,
) -> (Vec<ContactIdentity>, Vec<MergeSuggestion>) {
    let mut add = Vec::new();
    let mut suggestions: Vec<MergeSuggestion> = Vec::new();
    for (presented, owners) in msg.identities.iter().zip(owners(ctx)) {
        if owners.iter().any(|o| o.contact_id == contact)
            || add
                .iter()
                .any(|a: &ContactIdentity| a.identity == presented.identity)
        {
            continue;
        }
        for other in owners
            .iter()
            .filter(|o| o.contact_id != contact && Some(o.contact_id) != merging_into)
        {
            if !suggestions
                .iter()
                .any(|s| s.other_contact_id == other.contact_id)
            {
                suggestions.push(MergeSuggestion {
                    other_contact_id: other.contact_id,
                    identity: presented.identity.clone(),
                    suggested_at: now,
                });
            }
        }
        // Only one contact may hold an identity proven; claims may be shared.
        if !(presented.proven && owners.iter().any(|o| o.proven)) {
            add.push(ContactIdentity {
                identity: presented.identity.clone(),
                proven: presented.proven,
                typed: presented.typed,
                added_at: now,
            });
        }
    }
    (add, suggestions)
}

fn owners(ctx: &RouteContext) -> impl Iterator<Item = &[IdentityOwner]> {
    ctx.owners
        .iter()
        .map(Vec::as_slice)
        .chain(std::iter::repeat(&[][..]))
}

fn clean_name(name: Option<&str>) -> Option<String> {
    let name = name?.split_whitespace().collect::<Vec<_>>().join(" ");
    (!name.is_empty()).then(|| name.chars().take(200).collect())
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
