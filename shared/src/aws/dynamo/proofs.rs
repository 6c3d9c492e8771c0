//! Pending proofs as items that DynamoDB's TTL removes once expired; taking one is a
//! conditional delete, so it succeeds once.

use super::routing::{build_error, head_write, put, put_with};
use super::{DynamoStore, Item, errors, items, keys, n, s};
use crate::model::{ContactId, TimelineItem};
use crate::ports::{PendingProof, PortError, PortResult, ProofStore};
use crate::services::proof::{ProofDecision, decide_proof};
use crate::services::route::IdentityOwner;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

#[async_trait::async_trait]
impl ProofStore for DynamoStore {
    async fn put_proof(
        &self,
        key: &str,
        proof: &PendingProof,
        expires_at: DateTime<Utc>,
    ) -> PortResult<()> {
        let body = serde_json::to_string(proof).map_err(|e| PortError::Internal(e.to_string()))?;
        let item = Item::from([
            ("pk".to_owned(), s(keys::proof(key))),
            ("sk".to_owned(), s(keys::META)),
            ("proof".to_owned(), s(body)),
            ("expires_at".to_owned(), n(expires_at.timestamp())),
        ]);
        self.put(item, None).await
    }

    async fn take_proof(&self, key: &str) -> PortResult<Option<PendingProof>> {
        let taken = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::proof(key)))
            .key("sk", s(keys::META))
            .condition_expression("expires_at > :now")
            .expression_attribute_values(":now", n(Utc::now().timestamp()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:DeleteItem", e));
        let old = match taken {
            Ok(out) => out.attributes,
            // Missing, expired, or taken by somebody else a moment ago.
            Err(PortError::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        old.as_ref()
            .and_then(|item| items::string(item, "proof"))
            .map(|body| {
                serde_json::from_str(&body)
                    .map_err(|e| PortError::Internal(format!("a stored proof is malformed: {e}")))
            })
            .transpose()
    }

    /// One atomic counter item beside the proofs, gone with the table's TTL.
    async fn count_try(&self, key: &str, expires_at: DateTime<Utc>) -> PortResult<u32> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::proof(key)))
            .key("sk", s(keys::TRIES))
            .update_expression(
                "ADD tries :one SET expires_at = if_not_exists(expires_at, :expires)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(expires_at.timestamp()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:UpdateItem", e))?;
        out.attributes
            .as_ref()
            .and_then(|item| items::number(item, "tries"))
            .and_then(|tries| u32::try_from(tries).ok())
            .ok_or_else(|| PortError::Internal("a try count came back without its count".into()))
    }

    async fn forget_tries(&self, key: &str) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::proof(key)))
            .key("sk", s(keys::TRIES))
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:DeleteItem", e))?;
        Ok(())
    }
}

/// Attempts at a proof before the conflict goes back to the queue.
const ATTEMPTS: u32 = 4;

impl DynamoStore {
    /// Applies a proof as [`decide_proof`] says: on the versions read, or not at all.
    pub(super) async fn prove(
        &self,
        proof: &PendingProof,
        at: DateTime<Utc>,
    ) -> PortResult<Option<ContactId>> {
        let key = proof.identity.key();
        let event = proof.event(at);
        let conversation_exists = self
            .read_conversation(proof.conversation_id)
            .await?
            .is_some();
        for _ in 0..ATTEMPTS {
            let (owners, head) = self.owners_and_head(&key).await?;
            match decide_proof(proof.contact_id, &owners) {
                ProofDecision::Nothing => return Ok(None),
                ProofDecision::MergeInto(holder) => {
                    if conversation_exists {
                        self.put(
                            items::timeline(proof.conversation_id, &TimelineItem::Event(event))?,
                            None,
                        )
                        .await?;
                    }
                    self.merge(holder, proof.contact_id, None, at).await?;
                    return Ok(Some(holder));
                }
                ProofDecision::Prove => {
                    let mut stored = self.stored_contact(proof.contact_id).await?;
                    let (condition, version) = items::contact_condition(stored.version);
                    for held in stored
                        .contact
                        .identities
                        .iter_mut()
                        .filter(|h| h.identity == proof.identity)
                    {
                        held.proven = true;
                        held.typed = false;
                    }
                    stored.contact.updated_at = at;
                    let contact = proof.contact_id.to_string();
                    let owner = Update::builder()
                        .table_name(&self.table)
                        .key("pk", s(keys::identity(&key)))
                        .key("sk", s(keys::contact(proof.contact_id)))
                        .update_expression("SET proven = :t REMOVE typed")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_values(":t", AttributeValue::Bool(true))
                        .build()
                        .map_err(build_error)?;
                    let mut marker = items::pointer(keys::identity(&key), contact.clone());
                    marker.insert("sk".into(), s(keys::PROVEN));
                    marker.insert("contact_id".into(), s(contact.clone()));
                    let mut writes = vec![
                        put_with(self, stored.next_item()?, &condition, &[(":v", version)])?,
                        TransactWriteItem::builder().update(owner).build(),
                        put_with(
                            self,
                            marker,
                            "attribute_not_exists(pk) OR contact_id = :c",
                            &[(":c", s(contact))],
                        )?,
                        head_write(self, &key, head, true)?,
                    ];
                    if conversation_exists {
                        writes.push(put(
                            self,
                            items::timeline(
                                proof.conversation_id,
                                &TimelineItem::Event(event.clone()),
                            )?,
                            None,
                        )?);
                    }
                    match self.transact(writes).await {
                        Ok(()) => return Ok(Some(proof.contact_id)),
                        Err(PortError::Conflict(_)) => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Err(PortError::Conflict(format!(
            "the holders of {key} kept changing during a proof"
        )))
    }

    /// Every holder of an identity, and its `#HEAD` version (0: never written).
    pub(super) async fn owners_and_head(&self, key: &str) -> PortResult<(Vec<IdentityOwner>, u64)> {
        let mut owners = Vec::new();
        let mut head = 0;
        for item in self.partition(&keys::identity(key)).await? {
            match items::string(&item, "sk").as_deref() {
                Some(keys::HEAD) => head = items::number(&item, "v").unwrap_or(0),
                Some(sk) if sk.starts_with("CT#") => owners.push(IdentityOwner {
                    contact_id: items::contact_id_of(&item)?,
                    proven: items::flag(&item, "proven"),
                    typed: items::flag(&item, "typed"),
                }),
                _ => {}
            }
        }
        Ok((owners, head))
    }
}
