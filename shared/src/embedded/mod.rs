//! The embedded backend: every store and queue port over one SQLite file, and blobs in
//! a folder. The default for trying Switchboard, for development, and for small teams.

mod agents;
mod blobs;
mod contacts;
mod conversations;
mod cursor;
mod db;
mod queue;
mod routing;
mod rows;
mod schema;

pub use blobs::BlobFolder;

use crate::ports::PortResult;
use std::path::Path;

/// Implements every store port and the queue port over one SQLite file.
#[derive(Clone, Debug)]
pub struct Embedded {
    db: db::Db,
}

impl Embedded {
    pub fn open(path: &Path) -> PortResult<Self> {
        Ok(Self { db: db::Db::open(path)? })
    }
}

#[cfg(test)]
mod tests;
