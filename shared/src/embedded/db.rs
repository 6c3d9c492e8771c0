//! One SQLite file: a single writer thread that commits many operations per
//! transaction (group commit), and a pool of read connections alongside it (WAL).
//!
//! Every write is a closure run inside its own savepoint; a failing one is rolled back
//! alone. Its caller hears back only after the whole batch has been committed with
//! `synchronous=FULL`, so an acknowledged write survives a crash or power loss, while
//! one fsync is shared by everything that arrived meanwhile.

use super::schema;
use crate::ports::{PortError, PortResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

type Completion = Box<dyn FnOnce(&Result<(), String>) + Send>;
/// Runs an operation (or, given no connection, fails it unrun) and says whether it succeeded.
type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Completion) + Send>;

/// Most operations folded into one transaction.
const MAX_BATCH: usize = 1024;
/// How long a transaction keeps taking the operations that come while it runs; the
/// longest an operation waits for its commit beyond its own work and the commit's.
const MAX_TRANSACTION_TIME: std::time::Duration = std::time::Duration::from_millis(10);
const WRITE_QUEUE_DEPTH: usize = 8192;
/// How often the checkpointer copies the WAL back into the file, off the writer.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(50);
/// WAL pages at which the writer checkpoints itself: only when the checkpointer falls
/// far behind (a reader holding a snapshot), so the WAL stays bounded (about 40 MB).
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

#[derive(Clone)]
pub struct Db {
    writer: mpsc::Sender<Job>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Opens (or creates) the file, brings its schema up to date and starts the writer,
    /// which runs `before_commit` (when given) at the end of each transaction, after
    /// every operation in it.
    pub fn open(
        path: &Path,
        migrations: &[&str],
        before_commit: Option<&'static str>,
    ) -> PortResult<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| PortError::Internal(format!("{}: {e}", parent.display())))?;
        }
        let mut conn = open_connection(path, false)?;
        schema::migrate(&mut conn, migrations).map_err(internal)?;
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .map_err(internal)?;
        let checkpointer = open_connection(path, false)?;
        let (writer, jobs) = mpsc::channel(WRITE_QUEUE_DEPTH);
        let (writer_alive, writer_gone) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                run_writer(conn, jobs, before_commit);
                drop(writer_alive);
            })
            .map_err(|e| PortError::Internal(e.to_string()))?;
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run_checkpointer(checkpointer, writer_gone))
            .map_err(|e| PortError::Internal(e.to_string()))?;
        Ok(Self {
            writer,
            readers: Arc::new(Mutex::new(Vec::new())),
            path: Arc::new(path.to_owned()),
        })
    }

    /// Runs `f` in the writer's current transaction; returns once it is committed.
    pub async fn write<R, F>(&self, f: F) -> PortResult<R>
    where
        F: FnOnce(&Connection) -> PortResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => f(conn),
                None => Err(PortError::Unavailable(
                    "could not begin a write transaction".into(),
                )),
            };
            let ok = result.is_ok();
            let complete: Completion = Box::new(move |commit| {
                let outcome = match commit {
                    Ok(()) => result,
                    Err(e) => Err(PortError::Unavailable(format!("commit failed: {e}"))),
                };
                let _ = tx.send(outcome);
            });
            (ok, complete)
        });
        self.writer
            .send(job)
            .await
            .map_err(|_| PortError::Unavailable("the database writer has stopped".into()))?;
        rx.await
            .map_err(|_| PortError::Unavailable("the database writer has stopped".into()))?
    }

    /// Runs `f` on a read connection, off the async threads.
    pub async fn read<R, F>(&self, f: F) -> PortResult<R>
    where
        F: FnOnce(&Connection) -> PortResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_connection(&path, true)?,
            };
            let result = f(&conn);
            readers.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            result
        })
        .await
        .map_err(|e| PortError::Internal(format!("read task failed: {e}")))?
    }
}

fn open_connection(path: &Path, read_only: bool) -> PortResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| PortError::Internal(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(internal)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Without a stable query plan, a cached statement whose bindings were cleared is
    // re-prepared on its next use, which undoes the cache.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(internal)?;
    if !read_only {
        // `secure_delete = FAST`: deleted rows are zeroed wherever that costs no extra
        // write, so erased data does not linger in the file's pages.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = FAST;",
        )
        .map_err(internal)?;
    }
    conn.execute_batch("PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY;")
        .map_err(internal)?;
    Ok(conn)
}

fn run_writer(conn: Connection, mut jobs: mpsc::Receiver<Job>, before_commit: Option<&str>) {
    while let Some(first) = jobs.blocking_recv() {
        // Operations that come while the transaction runs join it, until none waits (or
        // it is full, or old enough): the busier the writer, the more each commit carries,
        // and an operation alone is committed at once.
        let began = std::time::Instant::now();
        let mut taken = 1;
        let more = std::iter::from_fn(|| {
            if taken >= MAX_BATCH || began.elapsed() >= MAX_TRANSACTION_TIME {
                return None;
            }
            taken += 1;
            jobs.try_recv().ok()
        });
        let completions = run_batch(&conn, std::iter::once(first).chain(more));
        if let Some(statements) = before_commit.filter(|_| !conn.is_autocommit()) {
            finish_batch(&conn, statements);
        }
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for complete in completions {
            complete(&commit);
        }
    }
    tracing::debug!("database writer stopped");
}

/// Copies committed WAL pages back into the database file every [`CHECKPOINT_EVERY`]
/// (PASSIVE: it never waits for the writer or blocks it), so commits do not pay for it;
/// stops when the writer has.
fn run_checkpointer(conn: Connection, writer_gone: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) = writer_gone.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "checkpoint skipped");
        }
    }
}

fn run_batch(conn: &Connection, jobs: impl Iterator<Item = Job>) -> Vec<Completion> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let message = e.to_string();
        return jobs
            .map(|job| {
                let (_, complete) = job(None);
                let message = message.clone();
                let failed: Completion = Box::new(move |_| complete(&Err(message)));
                failed
            })
            .collect();
    }
    jobs.map(|job| {
        let savepoint = run(conn, "SAVEPOINT op");
        let (ok, complete) = job(Some(conn));
        let settled = match (savepoint, ok) {
            (Ok(()), true) => run(conn, "RELEASE op"),
            (Ok(()), false) => run(conn, "ROLLBACK TO op").and_then(|()| run(conn, "RELEASE op")),
            (Err(e), _) => Err(e),
        };
        if let Err(e) = settled {
            tracing::error!(error = %e, "savepoint failed");
        }
        complete
    })
    .collect()
}

/// Runs `statements` once, all or nothing, after a batch's operations. Should they fail,
/// the operations still commit: what the statements would have moved stays where it
/// is, for the next batch's run.
fn finish_batch(conn: &Connection, statements: &str) {
    let ran = run(conn, "SAVEPOINT finish").and_then(|()| match conn.execute_batch(statements) {
        Ok(()) => run(conn, "RELEASE finish"),
        Err(e) => {
            run(conn, "ROLLBACK TO finish").and_then(|()| run(conn, "RELEASE finish"))?;
            Err(e)
        }
    });
    if let Err(e) = ran {
        tracing::error!(error = %e, "finishing a write transaction failed; will try again with the next");
    }
}

/// A statement without parameters, prepared once per connection.
fn run(conn: &Connection, statement: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(statement)?.execute([]).map(drop)
}

pub(crate) fn internal(e: impl std::fmt::Display) -> PortError {
    PortError::Internal(e.to_string())
}

/// Maps SQLite's "busy" and "locked" to a retryable error, the rest to internal.
pub(crate) fn sql(e: rusqlite::Error) -> PortError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            PortError::Unavailable(e.to_string())
        }
        Some(rusqlite::ErrorCode::ConstraintViolation) => PortError::Conflict(e.to_string()),
        _ => PortError::Internal(e.to_string()),
    }
}
