//! Installation settings: `pk=SET#<name>`, made once by a conditional put.

use super::{DynamoStore, Item, items, keys, s};
use crate::ports::{PortError, PortResult, SettingStore};
use async_trait::async_trait;

#[async_trait]
impl SettingStore for DynamoStore {
    async fn setting_or_init(&self, name: &str, initial: String) -> PortResult<String> {
        self.value_or_init(&keys::setting(name), Some(initial))
            .await?
            .ok_or_else(|| {
                PortError::Internal(format!("the setting {name} was stored but cannot be read"))
            })
    }
}

impl DynamoStore {
    /// The `value` kept at `pk` (a setting, the survey key), as stored first. With
    /// `initial`, the first caller stores it; without, none until someone has.
    pub(super) async fn value_or_init(
        &self,
        pk: &str,
        initial: Option<String>,
    ) -> PortResult<Option<String>> {
        if let Some(item) = self.get(pk, keys::META).await? {
            return value(pk, &item).map(Some);
        }
        let Some(initial) = initial else {
            return Ok(None);
        };
        let item = Item::from([
            ("pk".to_owned(), s(pk)),
            ("sk".to_owned(), s(keys::META)),
            ("value".to_owned(), s(initial)),
        ]);
        // Whoever stored it first wins; everybody then reads that value.
        match self.put(item, Some("attribute_not_exists(pk)")).await {
            Ok(()) | Err(PortError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        match self.get(pk, keys::META).await? {
            Some(item) => value(pk, &item).map(Some),
            None => Err(PortError::Internal(format!(
                "{pk} was stored but cannot be read back"
            ))),
        }
    }
}

fn value(name: &str, item: &Item) -> PortResult<String> {
    items::string(item, "value")
        .ok_or_else(|| PortError::Internal(format!("the setting {name} has no value")))
}
