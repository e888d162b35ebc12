//! The key-value engine under the store: one redb table of byte keys and values, a committer
//! thread that writes every change as a transaction, and the guards that keep a damaged file
//! from crashing the server.
//!
//! Why redb: a copy-on-write B-tree opens in constant time (a header and the allocator state),
//! so start-up does not grow with the number of secrets stored, as it does for a store that
//! replays a log at every start. Each durable commit records the allocator state (redb's "quick
//! repair"), so after `kill -9` opening costs no tree walk, and no wait for what the killed
//! process left dirty in the page cache either: redb's open syncs the file, and those syncs are
//! deferred (`data_file`).
//!
//! Group commit: redb runs one write transaction at a time, so changes queue for one thread,
//! which applies everything waiting in one transaction, then answers each change. Under load many
//! requests share a commit; alone, a change waits for its own.
//!
//! Durability comes from the write-ahead journal (`journal`): a commit is one record
//! appended and synced there, then applied to redb without a sync. A checkpoint (a durable redb
//! commit, with quick repair) takes in what the journal holds when it fills up, when the store
//! has been idle for a moment, and at shutdown. What a crash left in the journal is read at
//! open and served from memory (`overlay`); the committer applies it once the server is
//! ready (or before any new change): the server is ready without waiting for redb, and its
//! start does not share the CPU with the apply.
//!
//! Reads share a snapshot: beginning a read transaction and opening the table for every read
//! would be a cost on every GetSecretValue, so the latest snapshot is kept and handed to every
//! reader until the next commit replaces it (see `Latest`).
//!
//! Damage: redb checks the file's length against its layout at open and refuses a short file,
//! but it does not verify page checksums on reads, and a page altered behind its back can make
//! it panic. Every call into redb is therefore run under `catch_unwind` and a panic becomes an
//! error ("the store is damaged"). Wrong bytes cannot pass as data: records and values are
//! AES-GCM sealed and bound to their keys (see `crate::store`).

mod committer;
mod data_file;
mod journal;
mod overlay;
mod snapshot;
mod space;
#[cfg(test)]
mod tests;

use super::{Engine, Op, Snapshot};
use crate::store::error::{StoreError, StoreResult};
use committer::{commit, open_journal, Commit, Committer, DataFiles, Message, Reply};
use data_file::open_data_file;
use futures_util::future::BoxFuture;
use journal::Journal;
use overlay::Overlay;
use redb::Database;
use snapshot::{guarded, Latest};
use space::Space;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::oneshot;

pub use data_file::FILE_NAME;

/// The redb engine: the data file, its journal, and the committer thread that writes both.
pub struct Redb {
    latest: Arc<Latest>,
    /// `None` in memory.
    space: Option<Arc<Space>>,
    /// `None` only while dropping.
    changes: Option<mpsc::Sender<Message>>,
    committer: Option<std::thread::JoinHandle<()>>,
}

/// Closing: the committer finishes what is queued and lets go of the database, so that the file
/// is closed cleanly (and unlocked) when the store is dropped, and a restart in the same process
/// can open it.
impl Drop for Redb {
    fn drop(&mut self) {
        self.changes.take();
        if let Some(committer) = self.committer.take() {
            let _ = committer.join();
        }
    }
}

impl Redb {
    /// Opens (or creates) `dir/secrets.redb` and its journal, replaying what a crash left in
    /// the journal.
    pub fn open_dir(dir: &Path, cache_bytes: usize) -> StoreResult<Redb> {
        let started = std::time::Instant::now();
        let db = open_data_file(dir, cache_bytes)?;
        let data_file_ms = started.elapsed().as_secs_f64() * 1e3;
        let (journal, overlay) = guarded("reading the journal", || open_journal(&db, dir))?;
        tracing::info!(
            data_file_ms,
            journal_ms = started.elapsed().as_secs_f64() * 1e3 - data_file_ms,
            "opened the store"
        );
        let files = DataFiles {
            dir: dir.to_path_buf(),
            cache_bytes,
            space: Arc::new(Space::new(dir)),
        };
        Redb::start(db, Some(journal), overlay, Some(files))
    }

    /// A store that lives and dies with the process.
    pub fn open_in_memory(cache_bytes: usize) -> StoreResult<Redb> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(StoreError::engine)?;
        commit(&db, std::iter::empty(), Commit::Plain)?;
        Redb::start(db, None, None, None)
    }

    fn start(
        db: Database,
        journal: Option<Journal>,
        overlay: Option<Overlay>,
        files: Option<DataFiles>,
    ) -> StoreResult<Redb> {
        let db = Arc::new(db);
        let (changes, queue) = mpsc::channel();
        let latest = Arc::new(Latest::new(db.clone(), overlay));
        let space = files.as_ref().map(|f| f.space.clone());
        let mut committer = Committer::new(db, latest.clone(), journal, files);
        let committer = std::thread::Builder::new()
            .name("secretsd-commit".into())
            .spawn(move || committer.run(&queue))
            .map_err(|e| StoreError::Engine(format!("cannot start the committer: {e}")))?;
        Ok(Redb {
            latest,
            space,
            changes: Some(changes),
            committer: Some(committer),
        })
    }

    /// One key's value, as of the last commit.
    #[cfg(test)]
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.read()?.get(key)
    }

    fn send(&self, ops: Vec<Op>, done: Reply) -> StoreResult<()> {
        self.changes
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(Message::Change { ops, done })
            .map_err(|_| StoreError::Closed)
    }
}

impl Engine for Redb {
    fn read(&self) -> StoreResult<Arc<dyn Snapshot>> {
        Ok(self.latest.get_or_begin()?)
    }

    fn degraded(&self) -> Option<String> {
        if !self.latest.is_open() {
            return Some(
                "the data file failed and is being opened again: nothing is served".into(),
            );
        }
        self.space
            .as_ref()
            .filter(|space| space.is_short())
            .map(|_| StoreError::NoSpace.to_string() + ": changes are refused, reads are served")
    }

    /// What the journal held at open is applied now (reads were served through it meanwhile).
    fn serving(&self) {
        if let Some(changes) = &self.changes {
            let _ = changes.send(Message::Serving);
        }
    }

    fn apply_now(&self, ops: Vec<Op>) -> StoreResult<()> {
        let (done, answer) = mpsc::sync_channel(1);
        self.send(ops, Reply::Blocking(done))?;
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    fn apply(&self, ops: Vec<Op>) -> BoxFuture<'_, StoreResult<()>> {
        let (done, answer) = oneshot::channel();
        let sent = self.send(ops, Reply::Async(done));
        Box::pin(async move {
            sent?;
            answer.await.map_err(|_| StoreError::Closed)?
        })
    }
}
