//! Every store port on one DynamoDB table.
//!
//! The keys were designed from the access patterns, each served by a `GetItem` or a
//! `Query` (never a `Scan`). Items are the model structs as native attributes
//! (serde_dynamo), plus their keys.
//!
//! | Access pattern                                   | Where                                                      |
//! |--------------------------------------------------|------------------------------------------------------------|
//! | conversation by id                               | `pk=CV#<id>`, `sk=#META`                                   |
//! | its timeline (messages, notes, events), in order | `pk=CV#<id>`, `sk>TL#…` (`TL#<ulid>`)                      |
//! | conversations by status, newest activity first   | gsi1 `ST#<status>` / `<updated ms>#<id>`                   |
//! | … by assignee (or unassigned), open or resolved  | gsi2 `AS#<agent or ->#<u or r>` / `<updated ms>#<id>`      |
//! | … of one contact                                 | gsi3 `CC#<contact>` / `<updated ms>#<id>`                  |
//! | snoozed conversations that are due               | gsi1 `ST#snoozed`                                          |
//! | message by id                                    | `pk=MSG#<id>` → its conversation and timeline key          |
//! | was this source id stored? (exactly once)        | `pk=SRC#<source id>`                                       |
//! | contact by id, with its latest conversation      | `pk=CT#<id>`, `sk=#META` (`latest_cv`, version `v`)        |
//! | contacts holding an identity                     | `pk=ID#<identity key>`, `sk=CT#<contact>`                  |
//! | the one contact holding it proven                | `pk=ID#<identity key>`, `sk=#PROVEN`                       |
//! | a change to who holds an identity                | `pk=ID#<identity key>`, `sk=#HEAD` (version `v`)           |
//! | contacts, newest first                           | gsi1 `CONTACTS` / `<created ms>#<id>`                      |
//! | contacts by name prefix                          | gsi2 `NAME#<first letter>` / `<lower-case name>#<id>`      |
//! | customer-page link                               | `pk=LINK#<token hash>`                                     |
//! | … the links bound to a conversation              | `pk=CV#<id>`, `sk=LINK#<token hash>`                       |
//! | agent by id; all agents by id                    | `pk=AG#<id>`; gsi1 `AGENTS` / `<id>`                       |
//! | agent by API key; agent email taken?             | `pk=KEY#<key hash>`; `pk=AGEMAIL#<email>`                  |
//! | an agent's password and wrong tries              | `pk=AG#<id>`, `sk=#PASSWORD`                               |
//! | a browser session; all sessions, newest first    | `pk=SESSION#<id>` (TTL `expires_at`); gsi1 `SESSIONS` / `<created ms>#<id>` |
//! | team by id; teams by name; name taken?           | `pk=TM#<id>`; gsi1 `TEAMS` / `<lower name>#<id>`; `pk=TMNAME#<lower name>` |
//! | round-robin position per team                    | `pk=RR#<team or ->`                                        |
//! | a setting (the reply-token key), made once       | `pk=SET#<name>`, `sk=#META`                                |
//! | what an idempotency key was first used for       | `pk=IDEM#<key digest>`, `sk=#META` (TTL `expires_at`)      |
//! | a pending proof of a typed address               | `pk=CONFIRM#<secret digest>`, `sk=#META` (TTL `expires_at`) |
//! | was this source id erased? (exactly once)        | `pk=ERASED#<source id digest>`, `sk=#META` (TTL `expires_at`) |
//! | erasure tombstones, newest first                 | `pk=ERASURES`, `sk=<erasure id>`                           |
//! | resolved conversations past their retention      | gsi1 `ST#resolved`, `gsi1sk < <cutoff ms>`                 |
//! | a contact's history, newest first                | gsi3 `CC#<contact>`, then each `pk=CV#<id>`, `sk` from `TL#` to the cursor |
//! | webhook subscriptions, all or one                | `pk=WEBHOOKS`, `sk=WH#<id>`                                |
//! | calendars; SLA policies (each read whole)        | `pk=CALENDARS`, `sk=<id>`; `pk=SLAPOLICIES`, `sk=<id>`     |
//! | routing rules; canned replies; macros (each whole) | `pk=RULES`; `pk=CANNED`; `pk=MACROS`; `sk=<id>`          |
//! | a conversation's SLA clocks                      | `pk=CV#<id>`, `sk=#SLA`                                    |
//! | … those owing a target, soonest due first        | gsi1 `SLADUE` / `<due ms>#<id>`                            |
//! | … those with a breach to tell, by when           | gsi2 `SLAWAKE` / `<wake ms>#<id>`                          |
//! | a conversation's reporting track                 | `pk=CV#<id>`, `sk=#REPORT` (JSON `body`, version `v`)      |
//! | reporting counters of a dimension, by half hour  | `pk=RPT#<dimension>`, `sk=<bucket secs>#<metric>`          |
//! | … and by UTC day                                 | `pk=RPTD#<dimension>`, `sk=<day secs>#<metric>`            |
//! | every tag the reports counted                    | `pk=RPTTAGS`, `sk=#META` (string set `tags`)               |
//! | the survey settings                              | `pk=SURVEYS`, `sk=#META` (JSON `body`)                     |
//! | the survey key, made once                        | `pk=SURVEYKEY`, `sk=#META`                                 |
//! | a conversation's latest survey                   | `pk=CV#<id>`, `sk=#SURVEY` (JSON `body`, version `v`)      |
//! | when a contact was last surveyed                 | `pk=CT#<id>`, `sk=#SURVEYED` (`at` ms)                     |
//! | the survey a number's bare rating answers        | `pk=SURVEYWAIT#<identity key>`, `sk=#META` (TTL `expires_at`) |
//! | a webhook delivery by id                         | `pk=WHD#<delivery id>`, `sk=#META` (TTL `expires_at`)      |
//! | a subscription's deliveries, newest first        | gsi1 `WHDL#<webhook>` / `<created ms>#<id>`                |
//! | the deliveries about a conversation or contact   | gsi2 `WHDS#<conversation, else contact>` / `<id>`          |
//!
//! Consistency: routing reads the base table with strongly consistent reads and
//! writes the exactly-once marker, the message, the conversation (on its version), the
//! contact (on its version, which carries its latest conversation) and every identity
//! change (on each identity's `#HEAD` version) in one `TransactWriteItems`, so two
//! routers can never both create a contact or a conversation for one customer. The
//! indexes are only read for lists, where a second's lag is harmless.
//!
//! Erasure spans more partitions than a transaction holds: it goes in repeatable steps,
//! roots last (see `erase`).
//!
//! Differences from the embedded store: there is no full-text index, so a conversation
//! search (`q`) is refused with a clear error, and contact search matches an exact
//! identity or a name prefix rather than any substring.

mod agents;
mod contacts;
mod conversations;
mod erase;
mod erasure;
mod feed;
mod fold;
mod history;
mod idempotency;
mod incidents;
mod items;
mod keys;
mod knowledge;
mod list;
mod proofs;
mod reports;
mod routing;
mod sessions;
mod settings;
mod sla;
mod stream;
mod surveys;
mod table;
mod webhooks;

pub use feed::FEED_SETTLE;
pub use stream::StreamBatch;
pub use table::create_table;

use super::errors;
use crate::ports::{PortError, PortResult};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// Implements every store port on one table laid out as above.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One item by its key, read strongly consistently.
    async fn get(&self, pk: &str, sk: &str) -> PortResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:GetItem", e))?;
        Ok(out.item)
    }

    /// Every item of one base-table partition, in key order, read strongly consistently.
    async fn partition(&self, pk: &str) -> PortResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Every item of one index partition, in key order.
    async fn index_partition(&self, index: &str, pk: &str) -> PortResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", format!("{index}pk"))
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    async fn put(&self, item: Item, condition: Option<&str>) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:PutItem", e))?;
        Ok(())
    }

    /// Applies every write or none. A failed condition is `Conflict`.
    async fn transact(&self, writes: Vec<TransactWriteItem>) -> PortResult<()> {
        if writes.len() > 100 {
            return Err(PortError::Invalid(format!(
                "{} writes do not fit one transaction (at most 100)",
                writes.len()
            )));
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:TransactWriteItems", e))?;
        Ok(())
    }
}

/// Sends a conditional update: false when its condition did not hold.
pub(super) async fn held(
    update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
) -> PortResult<bool> {
    match update.send().await {
        Ok(_) => Ok(true),
        Err(e) => match errors::sdk("dynamodb:UpdateItem", e) {
            PortError::Conflict(_) => Ok(false),
            other => Err(other),
        },
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
