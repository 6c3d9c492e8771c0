use super::{Page, PageRequest, PortResult};
use crate::model::{
    BurstWatch, Conversation, ConversationId, Event, Incident, IncidentId, IncidentLink,
    IncidentState, IncidentUpdate, IncidentUpdateId, Message, MessageId,
};
use async_trait::async_trait;

/// Incidents, the conversations linked to each, and the updates posted to them with
/// the reply each update wrote into each linked conversation.
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// `Conflict` when one with its id exists.
    async fn create_incident(&self, incident: &Incident) -> PortResult<()>;
    /// With its live counts of linked conversations.
    async fn incident(&self, id: IncidentId) -> PortResult<Option<Incident>>;
    /// Newest first, those in `state` (all when none), with their counts.
    async fn list_incidents(
        &self,
        state: Option<IncidentState>,
        page: &PageRequest,
    ) -> PortResult<Page<Incident>>;
    /// Saves its title, texts, terms and state if its stored version is still
    /// `incident.version` (else `Conflict`); returns it with the version bumped.
    async fn save_incident(&self, incident: &Incident) -> PortResult<Incident>;

    /// Links `conversation`, as given (its `incident_id` set, its version the one read),
    /// with its `incident_linked` event and the link, in one step: `Conflict` when the
    /// conversation changed since it was read.
    async fn link_conversation(
        &self,
        link: &IncidentLink,
        conversation: &Conversation,
        event: &Event,
    ) -> PortResult<Conversation>;
    /// Unlinks `conversation`, as given (its `incident_id` cleared, its version the one
    /// read), with its `incident_unlinked` event, in one step.
    async fn unlink_conversation(
        &self,
        incident: IncidentId,
        conversation: &Conversation,
        event: &Event,
    ) -> PortResult<Conversation>;
    async fn incident_link(
        &self,
        incident: IncidentId,
        conversation: ConversationId,
    ) -> PortResult<Option<IncidentLink>>;
    /// The incident's links in conversation order, after `after`; at most `limit`.
    async fn linked_conversations(
        &self,
        incident: IncidentId,
        after: Option<ConversationId>,
        limit: u32,
    ) -> PortResult<Vec<IncidentLink>>;
    /// Stores `ack`, the status text to the customer of its conversation, as
    /// [`add_outbound`](super::MessageStore::add_outbound) would, and marks the link as
    /// told, in one step: false (and nothing written) when the customer was told already
    /// (or the conversation is not linked to the incident).
    async fn acknowledge(&self, incident: IncidentId, ack: &Message) -> PortResult<bool>;

    async fn add_update(&self, update: &IncidentUpdate) -> PortResult<()>;
    /// The incident's updates, oldest first, with their progress.
    async fn updates(&self, incident: IncidentId) -> PortResult<Vec<IncidentUpdate>>;
    async fn update(
        &self,
        incident: IncidentId,
        update: IncidentUpdateId,
    ) -> PortResult<Option<IncidentUpdate>>;
    /// Stores `message` as the update's reply in its conversation, as
    /// [`add_outbound`](super::MessageStore::add_outbound) would, together with the
    /// record that the update has its reply there: false (and nothing written) when it
    /// has one already. This is what makes an update reach each conversation once.
    async fn add_update_reply(
        &self,
        update: &IncidentUpdate,
        message: &Message,
    ) -> PortResult<bool>;
    /// The reply the update wrote into the conversation.
    async fn update_reply(
        &self,
        update: IncidentUpdateId,
        conversation: ConversationId,
    ) -> PortResult<Option<MessageId>>;
    /// Counts the reply's outcome (taken by the channel, or not) on the update, once:
    /// false when it was counted before.
    async fn settle_update_reply(
        &self,
        incident: IncidentId,
        update: IncidentUpdateId,
        conversation: ConversationId,
        sent: bool,
    ) -> PortResult<bool>;
    /// The burst watch as last saved; empty at first.
    async fn burst_watch(&self) -> PortResult<BurstWatch>;
    async fn save_burst_watch(&self, watch: &BurstWatch) -> PortResult<()>;

    /// Marks the update as written into every linked conversation.
    async fn finish_fan_out(
        &self,
        incident: IncidentId,
        update: IncidentUpdateId,
    ) -> PortResult<()>;
}
