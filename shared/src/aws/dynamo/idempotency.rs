//! Idempotency keys as items that DynamoDB's TTL removes once they expire. TTL deletes
//! lag, so an expired item still present counts as absent.

use super::{DynamoStore, Item, errors, items, keys, n, s};
use crate::ports::{IdempotencyStore, PortError, PortResult};
use chrono::{DateTime, Utc};

#[async_trait::async_trait]
impl IdempotencyStore for DynamoStore {
    async fn remember(
        &self,
        key: &str,
        value: String,
        expires_at: DateTime<Utc>,
    ) -> PortResult<String> {
        let pk = keys::idempotency(key);
        let item = Item::from([
            ("pk".to_owned(), s(&pk)),
            ("sk".to_owned(), s(keys::META)),
            ("value".to_owned(), s(value.clone())),
            ("expires_at".to_owned(), n(expires_at.timestamp())),
        ]);
        let stored = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(Utc::now().timestamp()))
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:PutItem", e));
        match stored {
            Ok(_) => Ok(value),
            Err(PortError::Conflict(_)) => {
                let held = self.get(&pk, keys::META).await?;
                held.as_ref()
                    .and_then(|item| items::string(item, "value"))
                    .ok_or_else(|| {
                        PortError::Unavailable("an idempotency key changed while read".into())
                    })
            }
            Err(e) => Err(e),
        }
    }
}
