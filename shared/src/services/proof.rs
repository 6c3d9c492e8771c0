//! A web customer proving an address they typed: a one-time link by email, a code by
//! SMS. Whoever brings the secret back proves the address theirs; from then on it is a
//! proven identity of their contact, with the proven rules (their later email or SMS
//! joins them; a reply may go there).
//!
//! Only what was typed on the page's own submission can be proven from that page, and
//! the secret goes only to that address: the page never learns it.

use super::ServiceError;
use super::error::ServiceResult;
use super::route::IdentityOwner;
use crate::model::{
    Channel, ContactId, Conversation, Direction, Event, EventKind, Identity, IdentityKind, Inbound,
    SourceId, TimelineItem,
};
use crate::ports::{
    ConversationStore, Enqueue, PageRequest, PendingProof, ProofStore, Queue, QueueName,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long a link sent by email stays good.
pub const LINK_VALID: Duration = Duration::hours(24);
/// How long a code sent by SMS stays good.
pub const CODE_VALID: Duration = Duration::minutes(15);
/// Codes one customer page may try in a UTC day, right or wrong: a six-digit code is
/// one in a million, and the count is kept in the store, so it holds however many
/// processes or addresses the tries come from.
pub const CODE_TRIES_PER_DAY: u32 = 5;
/// Secrets sent to one address in a clock hour (codes to a number, links to an email),
/// from every page that typed it: at most this many codes are live at once, and nobody's
/// phone or mailbox is flooded.
pub const SECRETS_PER_ADDRESS_PER_HOUR: u32 = 3;
/// Timeline pages read to find what a page may prove: a customer page's conversation
/// holds only what its customer wrote and the answers.
const MAX_PAGES_READ: usize = 20;

/// What applying a proof changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofDecision {
    /// The contact holds it typed or reported: it becomes proven there.
    Prove,
    /// Another contact holds it proven: the customer is that person, so their contact
    /// folds into that one (every identity, conversation and message kept).
    MergeInto(ContactId),
    /// Already proven here, or the contact no longer holds it.
    Nothing,
}

/// Decides a proof by `contact` from every holder of the identity.
pub fn decide_proof(contact: ContactId, owners: &[IdentityOwner]) -> ProofDecision {
    match owners.iter().find(|o| o.proven) {
        Some(holder) if holder.contact_id == contact => ProofDecision::Nothing,
        Some(holder) => ProofDecision::MergeInto(holder.contact_id),
        None if owners.iter().any(|o| o.contact_id == contact) => ProofDecision::Prove,
        None => ProofDecision::Nothing,
    }
}

/// A message only for the customer, not part of any conversation's record: the secret
/// that proves an address. The sender delivers it once and keeps nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub conversation_id: crate::model::ConversationId,
    pub channel: Channel,
    pub to: Identity,
    pub text: String,
}

/// The digest a pending proof is kept under: the secret itself is never stored.
pub fn proof_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The key of a code: bound to the page that asked for it, so a code is worth nothing
/// on any other page.
pub fn code_key(link_hash: &str, code: &str) -> String {
    proof_key(&format!("code\0{link_hash}\0{code}"))
}

/// What a code tried on a page came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeTry {
    /// The right code: the proof is queued for the router.
    Proven(PendingProof),
    /// Not a code this page has (wrong, expired or used).
    Wrong,
    /// The page has tried [`CODE_TRIES_PER_DAY`] codes today; this one was not looked at.
    Locked,
}

/// The key a page's tries of one UTC day are counted under, and when the count may go.
fn tries_key(link_hash: &str, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
    let day = now.timestamp().div_euclid(86_400);
    let ends = DateTime::from_timestamp((day + 1) * 86_400, 0).unwrap_or(now);
    (proof_key(&format!("tries\0{link_hash}\0{day}")), ends)
}

/// The key the secrets sent to `to` in one clock hour are counted under, and when the
/// hour ends.
fn sent_key(to: &Identity, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
    let hour = now.timestamp().div_euclid(3_600);
    let ends = DateTime::from_timestamp((hour + 1) * 3_600, 0).unwrap_or(now);
    (proof_key(&format!("sent\0{}\0{hour}", to.key())), ends)
}

#[derive(Clone)]
pub struct Proofs {
    pub proofs: Arc<dyn ProofStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub queue: Arc<dyn Queue>,
    /// The channels notices can go out on (those the sender sends on).
    pub channels: Arc<std::collections::HashSet<Channel>>,
}

impl Proofs {
    /// The address of `kind` this page may ask to prove: typed on the conversation's
    /// first message and not proven here since, with a channel to send the secret.
    pub async fn provable(
        &self,
        conversation: &Conversation,
        kind: IdentityKind,
    ) -> ServiceResult<Option<Identity>> {
        if !self.channels.contains(&notice_channel(kind)) {
            return Ok(None);
        }
        // What the page's own submission typed, and whether a proof of it has been
        // applied here since: read from the conversation alone, so a public page reads
        // no contact.
        let mut typed = None;
        let mut proven = Vec::new();
        let mut page = PageRequest::first(100);
        for _ in 0..MAX_PAGES_READ {
            let batch = self.conversations.timeline(conversation.id, &page).await?;
            for item in batch.items {
                match item {
                    TimelineItem::Message(m)
                        if m.direction == Direction::Inbound && typed.is_none() =>
                    {
                        typed = Some(m.sent_from.into_iter().find(|i| i.kind == kind));
                    }
                    TimelineItem::Event(Event {
                        kind: EventKind::IdentityProven { identity },
                        ..
                    }) => proven.push(identity),
                    _ => {}
                }
            }
            match batch.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
        Ok(typed.flatten().filter(|t| !proven.contains(t)))
    }

    /// Sends a one-time link to the typed email; `link_base` is where it leads
    /// (`https://…/confirm/`).
    pub async fn send_link(
        &self,
        conversation: &Conversation,
        link_base: &str,
    ) -> ServiceResult<()> {
        let to = self.required(conversation, IdentityKind::Email).await?;
        self.count_sent(&to).await?;
        let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        self.keep(&proof_key(&secret), conversation, &to, LINK_VALID)
            .await?;
        let text = format!(
            "Someone asked to confirm that {to} is your address, for your support conversation. \
             If it was you, open this link within 24 hours:\n\n{link_base}{secret}\n\n\
             If it was not you, ignore this email: nothing changes.",
            to = to.value
        );
        self.notify(conversation, Channel::Email, to, text).await
    }

    /// Sends a six-digit code to the typed phone, good on this page only.
    pub async fn send_code(
        &self,
        conversation: &Conversation,
        link_hash: &str,
    ) -> ServiceResult<()> {
        let to = self.required(conversation, IdentityKind::Phone).await?;
        self.count_sent(&to).await?;
        let code = format!("{:06}", rand::random_range(0..1_000_000u32));
        self.keep(&code_key(link_hash, &code), conversation, &to, CODE_VALID)
            .await?;
        let text = format!("Your support confirmation code: {code}. It is good for 15 minutes.");
        self.notify(conversation, Channel::Sms, to, text).await
    }

    /// Tries `code` on the page whose link hashes to `link_hash`: counted first, and not
    /// looked at once the page has tried [`CODE_TRIES_PER_DAY`] today.
    pub async fn try_code(&self, link_hash: &str, code: &str) -> ServiceResult<CodeTry> {
        let (key, day_ends) = tries_key(link_hash, Utc::now());
        if self.proofs.count_try(&key, day_ends).await? > CODE_TRIES_PER_DAY {
            return Ok(CodeTry::Locked);
        }
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Ok(CodeTry::Wrong);
        }
        Ok(match self.confirm(&code_key(link_hash, code)).await? {
            Some(proof) => CodeTry::Proven(proof),
            None => CodeTry::Wrong,
        })
    }

    /// Takes the proof a link or code names, once, and queues it for the router.
    /// `None`: unknown, expired or used.
    pub async fn confirm(&self, key: &str) -> ServiceResult<Option<PendingProof>> {
        let Some(proof) = self.proofs.take_proof(key).await? else {
            return Ok(None);
        };
        let message = Inbound::proof(SourceId::new("proof", &key[..32]), proof.clone());
        let body = serde_json::to_vec(&message)
            .map_err(|e| ServiceError::Backend(crate::ports::PortError::Internal(e.to_string())))?;
        self.queue
            .send(
                QueueName::Inbound,
                vec![Enqueue {
                    body,
                    group: proof.contact_id.to_string(),
                    dedup: message.source_id().as_str().to_owned(),
                }],
            )
            .await?;
        Ok(Some(proof))
    }

    /// Counts one more secret sent to `to`; refuses past
    /// [`SECRETS_PER_ADDRESS_PER_HOUR`].
    async fn count_sent(&self, to: &Identity) -> ServiceResult<()> {
        let now = Utc::now();
        let (key, hour_ends) = sent_key(to, now);
        if self.proofs.count_try(&key, hour_ends).await? > SECRETS_PER_ADDRESS_PER_HOUR {
            return Err(ServiceError::TooMany {
                detail: "enough confirmations were sent to this address for now; try again later"
                    .into(),
                retry_after: (hour_ends - now).to_std().unwrap_or_default(),
            });
        }
        Ok(())
    }

    async fn required(
        &self,
        conversation: &Conversation,
        kind: IdentityKind,
    ) -> ServiceResult<Identity> {
        self.provable(conversation, kind).await?.ok_or_else(|| {
            ServiceError::Invalid(format!(
                "there is no unconfirmed {} on this conversation to confirm",
                kind.as_str()
            ))
        })
    }

    async fn keep(
        &self,
        key: &str,
        conversation: &Conversation,
        identity: &Identity,
        valid: Duration,
    ) -> ServiceResult<()> {
        let proof = PendingProof {
            contact_id: conversation.contact_id,
            conversation_id: conversation.id,
            identity: identity.clone(),
        };
        Ok(self
            .proofs
            .put_proof(key, &proof, Utc::now() + valid)
            .await?)
    }

    async fn notify(
        &self,
        conversation: &Conversation,
        channel: Channel,
        to: Identity,
        text: String,
    ) -> ServiceResult<()> {
        let notice = Notice {
            conversation_id: conversation.id,
            channel,
            to,
            text,
        };
        super::send::queue_notice(self.queue.as_ref(), &notice).await?;
        Ok(())
    }
}

/// The channel that carries the secret for an address of `kind`.
fn notice_channel(kind: IdentityKind) -> Channel {
    match kind {
        IdentityKind::Phone => Channel::Sms,
        IdentityKind::Telegram => Channel::Telegram,
        IdentityKind::Email | IdentityKind::WebVisitor => Channel::Email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(contact_id: ContactId, proven: bool, typed: bool) -> IdentityOwner {
        IdentityOwner {
            contact_id,
            proven,
            typed,
        }
    }

    #[test]
    fn a_proof_proves_merges_into_the_proven_holder_or_does_nothing() {
        let (me, other) = (ContactId::new(), ContactId::new());
        assert_eq!(
            decide_proof(me, &[owner(me, false, true), owner(other, false, false)]),
            ProofDecision::Prove
        );
        assert_eq!(
            decide_proof(me, &[owner(me, false, true), owner(other, true, false)]),
            ProofDecision::MergeInto(other)
        );
        assert_eq!(
            decide_proof(me, &[owner(me, true, false)]),
            ProofDecision::Nothing
        );
        assert_eq!(
            decide_proof(me, &[owner(other, false, true)]),
            ProofDecision::Nothing
        );
    }

    #[test]
    fn a_code_is_bound_to_its_page() {
        assert_ne!(code_key("page-a", "123456"), code_key("page-b", "123456"));
        assert_eq!(code_key("page-a", "123456"), code_key("page-a", "123456"));
        assert_ne!(proof_key("123456"), code_key("page-a", "123456"));
    }
}
