//! Lists over index partitions, newest first: one partition, or several merged (every
//! status, or an assignee's open and resolved), filtered, with keyset cursors.

use super::{DynamoStore, Item, errors, items, s};
use crate::ports::{PortError, PortResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::{HashMap, VecDeque};

/// One index partition to read.
pub struct Source {
    pub index: &'static str,
    pub pk: String,
}

/// Items fetched per query: enough for a page after a filter drops some.
const QUERY_PAGE: i32 = 100;

/// Most items one list call reads before it answers with what it has.
const READ_BUDGET: usize = 2_000;

struct Cursor {
    buffer: VecDeque<Item>,
    start: Option<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
    done: bool,
}

pub struct Listed {
    pub items: Vec<Item>,
    /// The sort key to continue below, when more may follow.
    pub next: Option<String>,
}

impl DynamoStore {
    /// Up to `limit` items of `sources` whose sort key is below `below`, newest first,
    /// that `keep` accepts.
    pub(super) async fn list_desc(
        &self,
        sources: &[Source],
        below: Option<&str>,
        limit: usize,
        keep: impl Fn(&Item) -> bool,
    ) -> PortResult<Listed> {
        let mut cursors: Vec<Cursor> = sources
            .iter()
            .map(|_| Cursor {
                buffer: VecDeque::new(),
                start: None,
                done: false,
            })
            .collect();
        let mut out = Vec::new();
        let mut read = 0;
        loop {
            for (source, cursor) in sources.iter().zip(cursors.iter_mut()) {
                if cursor.buffer.is_empty() && !cursor.done {
                    let page = self.query_desc(source, below, cursor.start.take()).await?;
                    read += page.0.len();
                    cursor.buffer.extend(page.0);
                    cursor.start = page.1;
                    cursor.done = cursor.start.is_none();
                }
            }
            let newest = cursors
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.buffer.front().map(|item| (i, sort_key(sources, i, item))))
                .max_by(|a, b| a.1.cmp(&b.1));
            let Some((index, key)) = newest else {
                return Ok(Listed {
                    items: out,
                    next: None,
                });
            };
            let Some(item) = cursors[index].buffer.pop_front() else {
                continue;
            };
            if keep(&item) {
                out.push(item);
                if out.len() == limit {
                    let more = cursors.iter().any(|c| !c.buffer.is_empty() || !c.done);
                    return Ok(Listed {
                        items: out,
                        next: more.then_some(key),
                    });
                }
            }
            if read >= READ_BUDGET {
                // A sparse filter: answer what was found and let the client go on.
                return Ok(Listed {
                    items: out,
                    next: Some(key),
                });
            }
        }
    }

    async fn query_desc(
        &self,
        source: &Source,
        below: Option<&str>,
        start: Option<Item>,
    ) -> PortResult<(Vec<Item>, Option<Item>)> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(source.index)
            .expression_attribute_names("#pk", format!("{}pk", source.index))
            .expression_attribute_values(":pk", s(source.pk.clone()))
            .scan_index_forward(false)
            .limit(QUERY_PAGE)
            .set_exclusive_start_key(start);
        query = match below {
            Some(below) => query
                .key_condition_expression("#pk = :pk AND #sk < :below")
                .expression_attribute_names("#sk", format!("{}sk", source.index))
                .expression_attribute_values(":below", s(below)),
            None => query.key_condition_expression("#pk = :pk"),
        };
        let out = query
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:Query", e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }
}

fn sort_key(sources: &[Source], index: usize, item: &Item) -> String {
    items::string(item, &format!("{}sk", sources[index].index)).unwrap_or_default()
}

pub fn encode_cursor(sort_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(sort_key)
}

pub fn decode_cursor(cursor: &str) -> PortResult<String> {
    let invalid = || PortError::Invalid("the cursor is not one this server issued".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let key = String::from_utf8(bytes).map_err(|_| invalid())?;
    if key.is_empty() || key.len() > 1024 {
        return Err(invalid());
    }
    Ok(key)
}
