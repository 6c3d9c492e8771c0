//! Attachments and raw payloads as files in a folder, written atomically.

use crate::ports::{Blob, BlobStore, BlobVersion, PortError, PortResult};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Conditional writes compare and write under this lock: one process owns the folder.
static CONDITIONAL_WRITES: Mutex<()> = Mutex::new(());

#[derive(Clone, Debug)]
pub struct BlobFolder {
    root: PathBuf,
}

impl BlobFolder {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Keys that could escape the folder are refused (`ports::check_blob_key`).
    fn path_of(&self, key: &str) -> PortResult<PathBuf> {
        crate::ports::check_blob_key(key).map(|()| self.root.join(key))
    }
}

fn io(path: &Path, e: std::io::Error) -> PortError {
    PortError::Unavailable(format!("{}: {e}", path.display()))
}

#[async_trait]
impl BlobStore for BlobFolder {
    async fn put(&self, key: &str, blob: Blob) -> PortResult<()> {
        let path = self.path_of(key)?;
        blocking(move || write(&path, &blob)).await
    }

    async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
        let path = self.path_of(key)?;
        blocking(move || read(&path)).await
    }

    async fn get_versioned(&self, key: &str) -> PortResult<Option<(Blob, BlobVersion)>> {
        let path = self.path_of(key)?;
        blocking(move || {
            Ok(read(&path)?.map(|blob| {
                let version = version_of(&blob);
                (blob, version)
            }))
        })
        .await
    }

    async fn put_if(&self, key: &str, blob: Blob, read_at: Option<&BlobVersion>) -> PortResult<()> {
        let path = self.path_of(key)?;
        let expected = read_at.cloned();
        blocking(move || {
            let _held = CONDITIONAL_WRITES
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let held = read(&path)?.map(|b| version_of(&b));
            if held != expected {
                return Err(PortError::Conflict(format!(
                    "{} changed since it was read",
                    path.display()
                )));
            }
            write(&path, &blob)
        })
        .await
    }

    async fn delete(&self, key: &str) -> PortResult<()> {
        let path = self.path_of(key)?;
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            for file in [path.with_extension("meta"), path.clone()] {
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&file, e)),
                }
            }
            // A folder is named after what its files came with (a message's source id):
            // it goes with its last file.
            let mut dir = path.parent();
            while let Some(folder) = dir.filter(|d| *d != root && d.starts_with(&root)) {
                if std::fs::remove_dir(folder).is_err() {
                    break;
                }
                dir = folder.parent();
            }
            Ok(())
        })
        .await
        .map_err(|e| PortError::Internal(e.to_string()))?
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> PortResult<T> + Send + 'static,
) -> PortResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| PortError::Internal(e.to_string()))?
}

/// Writes the bytes beside the key and renames them over it, so a reader sees the old
/// blob or the new one, never half of one.
fn write(path: &Path, blob: &Blob) -> PortResult<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let tmp = path.with_extension(format!("tmp{:x}", rand::random::<u32>()));
    let meta = serde_json::json!({ "content_type": blob.content_type }).to_string();
    std::fs::write(&tmp, &blob.bytes).map_err(|e| io(&tmp, e))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(&tmp, e))?;
    std::fs::write(path.with_extension("meta"), meta).map_err(|e| io(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn read(path: &Path) -> PortResult<Option<Blob>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path, e)),
    };
    let content_type = std::fs::read_to_string(path.with_extension("meta"))
        .ok()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
        .and_then(|v| v["content_type"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok(Some(Blob {
        content_type,
        bytes,
    }))
}

/// A write's version: the digest of what it wrote.
fn version_of(blob: &Blob) -> BlobVersion {
    let mut digest = Sha256::new();
    digest.update(blob.content_type.as_bytes());
    digest.update([0]);
    digest.update(&blob.bytes);
    BlobVersion(hex::encode(digest.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_blob_round_trips_and_keys_cannot_escape_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobFolder::new(dir.path());
        let blob = Blob {
            content_type: "image/png".into(),
            bytes: vec![1, 2, 3],
        };
        blobs
            .put("attachments/cv_1/a.png", blob.clone())
            .await
            .unwrap();
        assert_eq!(
            blobs.get("attachments/cv_1/a.png").await.unwrap(),
            Some(blob)
        );
        assert_eq!(blobs.get("attachments/none").await.unwrap(), None);
        for bad in ["../x", "/etc/passwd", "a//b", "a/../b", ""] {
            assert!(blobs.get(bad).await.is_err(), "{bad}");
            assert!(blobs.delete(bad).await.is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn deleting_a_blob_takes_its_emptied_folders_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobFolder::new(dir.path().join("blobs"));
        let blob = Blob {
            content_type: "text/plain".into(),
            bytes: b"x".to_vec(),
        };
        for key in ["attachments/telegram_1_2/0", "attachments/telegram_3_4/0"] {
            blobs.put(key, blob.clone()).await.unwrap();
        }
        blobs.delete("attachments/telegram_1_2/0").await.unwrap();
        blobs.delete("attachments/telegram_1_2/0").await.unwrap();
        assert_eq!(blobs.get("attachments/telegram_1_2/0").await.unwrap(), None);
        assert!(!dir.path().join("blobs/attachments/telegram_1_2").exists());
        assert!(dir.path().join("blobs/attachments").is_dir());
        assert_eq!(
            blobs.get("attachments/telegram_3_4/0").await.unwrap(),
            Some(blob)
        );
    }
}
