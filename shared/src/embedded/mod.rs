//! The embedded backend: every store and queue port over one SQLite file, and blobs in
//! a folder. The default for trying Switchboard, for development, and for small teams.

mod agents;
mod blobs;
mod contacts;
mod conversations;
mod cursor;
mod db;
mod erasure;
mod feed;
mod history;
mod idempotency;
mod incidents;
mod knowledge;
mod proofs;
mod queue;
mod reports;
mod routing;
mod rows;
mod schema;
mod sessions;
mod sla;
mod surveys;
mod webhooks;

pub use blobs::BlobFolder;

use crate::ports::PortResult;
use std::path::Path;

/// Implements every store port over one SQLite file, and the queue port over a second
/// file beside it (`<name>.queue.db`): each has its own writer, so a burst of enqueues
/// commits without waiting behind the router's writes, and the other way round.
#[derive(Clone, Debug)]
pub struct Embedded {
    db: db::Db,
    queue: db::Db,
}

impl Embedded {
    pub fn open(path: &Path) -> PortResult<Self> {
        let db = db::Db::open(path, schema::STORE, Some(schema::SEARCH_FLUSH))?;
        let queue = db::Db::open(&queue_path(path), schema::QUEUE, None)?;
        Ok(Self { db, queue })
    }

    /// Makes every message a previous process was handling visible again at once. Only
    /// for a process that is the queue's sole consumer (the local server, at start):
    /// whatever was in flight then died with its process.
    pub async fn recover_in_flight(&self) -> PortResult<usize> {
        self.queue
            .write(|conn| {
                let now = chrono::Utc::now().timestamp_millis();
                conn.execute(
                    "UPDATE queue_messages SET visible_at = ?1, receipt = NULL WHERE dead = 0 AND receipt IS NOT NULL AND visible_at > ?1",
                    [now],
                )
                .map_err(db::sql)
            })
            .await
    }
}

#[async_trait::async_trait]
impl crate::ports::SettingStore for Embedded {
    async fn setting_or_init(&self, name: &str, initial: String) -> PortResult<String> {
        let name = name.to_owned();
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT OR IGNORE INTO settings (name, value) VALUES (?1, ?2)",
                    [&name, &initial],
                )
                .map_err(db::sql)?;
                conn.query_row("SELECT value FROM settings WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .map_err(db::sql)
            })
            .await
    }
}

/// The queue's file: `inbox.db` → `inbox.queue.db`.
pub fn queue_path(store: &Path) -> std::path::PathBuf {
    let stem = store
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "switchboard".into());
    store.with_file_name(format!("{stem}.queue.db"))
}

#[cfg(test)]
mod tests;
