//! A contact's history across their conversations, newest first: each conversation's
//! timeline read backwards from the cursor, merged. The cursor is the last item's id, which
//! sorts by creation across kinds and conversations, so pages follow on without gaps or
//! repeats.

use super::items::{self, StoredContact};
use super::list::{decode_cursor, encode_cursor};
use super::{DynamoStore, Item, errors, keys, s};
use crate::model::{ContactId, TimelineItem};
use crate::ports::{Page, PageRequest, PortError, PortResult};

impl DynamoStore {
    /// The contact's timeline items, newest first, below the cursor's id: each
    /// conversation's timeline read backwards from the cursor, merged.
    pub(super) async fn contact_items(
        &self,
        id: ContactId,
        page: &PageRequest,
    ) -> PortResult<Page<TimelineItem>> {
        let below = match page.cursor.as_deref() {
            Some(cursor) => {
                let ulid = ulid::Ulid::from_string(&decode_cursor(cursor)?).map_err(|_| {
                    PortError::Invalid("the cursor is not one this server issued".into())
                })?;
                Some(keys::timeline(ulid))
            }
            None => None,
        };
        let limit = page.limit as usize;
        let latest = match self.get(&keys::contact(id), keys::META).await? {
            Some(item) => StoredContact::read(item)?.latest_conversation,
            None => None,
        };
        let mut found: Vec<(String, Item)> = Vec::new();
        for conversation in self.conversations_of(id, latest).await? {
            let upper = below
                .clone()
                .unwrap_or_else(|| format!("{}~", keys::TIMELINE));
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                .expression_attribute_values(":pk", s(keys::conversation(conversation)))
                .expression_attribute_values(":lo", s(keys::TIMELINE))
                .expression_attribute_values(":hi", s(upper.clone()))
                .scan_index_forward(false)
                .consistent_read(true)
                // BETWEEN takes the cursor's own item too: one more, dropped below.
                .limit(i32::try_from(limit + 2).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:Query", e))?;
            for item in out.items.unwrap_or_default() {
                let sk = items::string(&item, "sk").unwrap_or_default();
                if sk != upper {
                    found.push((sk, item));
                }
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0));
        let next_cursor = (found.len() > limit).then(|| {
            let sk = &found[limit - 1].0;
            encode_cursor(sk.strip_prefix(keys::TIMELINE).unwrap_or(sk))
        });
        found.truncate(limit);
        let items = found
            .into_iter()
            .map(|(_, item)| items::from_item(item))
            .collect::<PortResult<Vec<_>>>()?;
        Ok(Page { items, next_cursor })
    }
}
