//! Pending proofs beside the idempotency keys, in the queue's file: the customer pages
//! that ask for them write nothing else.

use super::Embedded;
use super::db::sql;
use super::idempotency::PURGE_BATCH;
use super::rows::{self, json, millis, to_json};
use crate::model::ContactId;
use crate::ports::{PendingProof, PortResult, ProofStore};
use crate::services::proof::{ProofDecision, decide_proof};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

#[async_trait::async_trait]
impl ProofStore for Embedded {
    async fn put_proof(
        &self,
        key: &str,
        proof: &PendingProof,
        expires_at: DateTime<Utc>,
    ) -> PortResult<()> {
        let (key, proof) = (key.to_owned(), to_json(proof));
        self.queue
            .write(move |conn| {
                purge_expired(conn, "pending_proofs")?;
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO pending_proofs (key, proof, expires_at) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute(params![key, proof, millis(expires_at)]))
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn take_proof(&self, key: &str) -> PortResult<Option<PendingProof>> {
        let key = key.to_owned();
        self.queue
            .write(move |conn| {
                let held: Option<String> = conn
                    .prepare_cached(
                        "DELETE FROM pending_proofs WHERE key = ?1 AND expires_at > ?2 RETURNING proof",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![key, millis(Utc::now())], |r| r.get(0))
                            .optional()
                    })
                    .map_err(sql)?;
                held.map(|p| json("pending proof", &p).map_err(sql))
                    .transpose()
            })
            .await
    }

    async fn count_try(&self, key: &str, expires_at: DateTime<Utc>) -> PortResult<u32> {
        let key = key.to_owned();
        self.queue
            .write(move |conn| {
                purge_expired(conn, "proof_tries")?;
                conn.prepare_cached(
                    "INSERT INTO proof_tries (key, tries, expires_at) VALUES (?1, 1, ?2)
                     ON CONFLICT (key) DO UPDATE SET tries = tries + 1
                     RETURNING tries",
                )
                .and_then(|mut s| {
                    s.query_row(params![key, millis(expires_at)], |r| r.get::<_, u32>(0))
                })
                .map_err(sql)
            })
            .await
    }

    async fn forget_tries(&self, key: &str) -> PortResult<()> {
        let key = key.to_owned();
        self.queue
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM proof_tries WHERE key = ?1")
                    .and_then(|mut s| s.execute([key]))
                    .map_err(sql)?;
                Ok(())
            })
            .await
    }
}

/// Applies a proof as [`decide_proof`] says, in one write.
pub(super) fn prove_identity(
    conn: &rusqlite::Connection,
    proof: &PendingProof,
    at: DateTime<Utc>,
) -> PortResult<Option<ContactId>> {
    let contact = proof.contact_id.to_string();
    let conversation_exists =
        rows::get_conversation(conn, &proof.conversation_id.to_string())?.is_some();
    let owners = super::routing::owners_of(conn, &proof.identity)?;
    let event = proof.event(at);
    match decide_proof(proof.contact_id, &owners) {
        ProofDecision::Nothing => Ok(None),
        ProofDecision::Prove => {
            conn.prepare_cached(
                "UPDATE contact_identities SET proven = 1, typed = 0 WHERE identity_key = ?1 AND contact_id = ?2",
            )
            .and_then(|mut s| s.execute(params![proof.identity.key(), contact]))
            .map_err(sql)?;
            if conversation_exists {
                rows::insert_event(conn, &event)?;
            }
            Ok(Some(proof.contact_id))
        }
        ProofDecision::MergeInto(holder) => {
            if conversation_exists {
                rows::insert_event(conn, &event)?;
            }
            super::contacts::merge(conn, holder, proof.contact_id, None, at)?;
            Ok(Some(holder))
        }
    }
}

/// Deletes a batch of `table`'s expired rows (its `key` and `expires_at`), so each
/// write keeps the table from growing with what no one will ask for again.
fn purge_expired(conn: &rusqlite::Connection, table: &str) -> PortResult<()> {
    conn.prepare_cached(&format!(
        "DELETE FROM {table} WHERE key IN
         (SELECT key FROM {table} WHERE expires_at <= ?1 LIMIT ?2)"
    ))
    .and_then(|mut s| s.execute(params![millis(Utc::now()), PURGE_BATCH]))
    .map_err(sql)?;
    Ok(())
}
