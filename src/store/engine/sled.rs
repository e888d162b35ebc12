//! The sled engine: the design card's embedded store, kept beside redb for those who want it.
//!
//! sled 0.34 applies a batch to its in-memory tree at once and makes it durable on `flush`;
//! its batches deadlock against a concurrent flush, so its background flusher is off and one
//! committer thread does both, in turn: it takes every change waiting, applies them as one
//! batch, flushes, and only then answers each change. A reader may see a batch in the moment
//! between its apply and its flush, before the writer has its answer; nothing is acknowledged
//! before it is on disk.
//!
//! sled replays its log at every open, so start-up grows with the store (docs/benchmarks.md
//! has the figures); that, and the race above, is why redb is the default.

use super::{prefix_end, CopyFn, Engine, Entry, Op, Snapshot};
use crate::store::error::{StoreError, StoreResult};
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use tokio::sync::oneshot;

/// The directory in the data dir.
pub const DIR_NAME: &str = "secrets.sled";
/// Most changes one batch carries, as for redb.
const MAX_BATCH: usize = 512;
/// sled's page cache.
const CACHE_BYTES: u64 = 32 * 1024 * 1024;

pub struct Sled {
    tree: sled::Db,
    /// Bumped after each batch is durable, before its changes are answered.
    generation: Arc<AtomicU64>,
    /// `None` only while dropping.
    changes: Option<mpsc::Sender<Change>>,
    committer: Option<std::thread::JoinHandle<()>>,
}

struct Change {
    ops: Vec<Op>,
    done: Done,
}

enum Done {
    Async(oneshot::Sender<StoreResult<()>>),
    Blocking(mpsc::SyncSender<StoreResult<()>>),
}

impl Done {
    fn send(self, result: StoreResult<()>) {
        let _ = match self {
            Done::Async(done) => done.send(result).map_err(drop),
            Done::Blocking(done) => done.send(result).map_err(drop),
        };
    }
}

/// The committer finishes what is queued, so a clean stop loses nothing and unlocks the dir.
impl Drop for Sled {
    fn drop(&mut self) {
        self.changes.take();
        if let Some(committer) = self.committer.take() {
            let _ = committer.join();
        }
        let _ = self.tree.flush();
    }
}

fn engine_error(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Damaged(e.to_string()),
        other => StoreError::engine(other),
    }
}

impl Sled {
    /// Opens (or creates) `dir/secrets.sled`; `None` keeps it in a temporary directory that
    /// goes with the process.
    pub fn open(dir: Option<&Path>) -> StoreResult<Sled> {
        let config = sled::Config::new()
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(None);
        let config = match dir {
            Some(dir) => config.path(dir.join(DIR_NAME)),
            None => config.temporary(true),
        };
        let tree = config.open().map_err(|e| match (dir, e) {
            (Some(dir), sled::Error::Io(io)) if io.kind() == std::io::ErrorKind::WouldBlock => {
                StoreError::InUse(dir.to_path_buf())
            }
            (Some(dir), sled::Error::Io(io)) => StoreError::Open {
                dir: dir.to_path_buf(),
                detail: io.to_string(),
            },
            (_, other) => engine_error(other),
        })?;
        let generation = Arc::new(AtomicU64::new(0));
        let (changes, queue) = mpsc::channel();
        let committer = {
            let tree = tree.clone();
            let generation = generation.clone();
            std::thread::Builder::new()
                .name("secretsd-commit".into())
                .spawn(move || commit_loop(&tree, &generation, &queue))
                .map_err(|e| StoreError::Engine(format!("cannot start the committer: {e}")))?
        };
        Ok(Sled {
            tree,
            generation,
            changes: Some(changes),
            committer: Some(committer),
        })
    }

    fn send(&self, ops: Vec<Op>, done: Done) -> StoreResult<()> {
        self.changes
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(Change { ops, done })
            .map_err(|_| StoreError::Closed)
    }
}

impl Engine for Sled {
    fn read(&self) -> StoreResult<Arc<dyn Snapshot>> {
        Ok(Arc::new(SledSnapshot {
            tree: self.tree.clone(),
            generation: self.generation.load(Ordering::Acquire),
        }))
    }

    fn apply(&self, ops: Vec<Op>) -> BoxFuture<'_, StoreResult<()>> {
        let (done, answer) = oneshot::channel();
        let sent = self.send(ops, Done::Async(done));
        Box::pin(async move {
            sent?;
            answer.await.map_err(|_| StoreError::Closed)?
        })
    }

    fn apply_now(&self, ops: Vec<Op>) -> StoreResult<()> {
        let (done, answer) = mpsc::sync_channel(1);
        self.send(ops, Done::Blocking(done))?;
        answer.recv().map_err(|_| StoreError::Closed)?
    }
}

/// Takes every change waiting, applies them as one batch, flushes, answers each.
fn commit_loop(tree: &sled::Db, generation: &AtomicU64, queue: &mpsc::Receiver<Change>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(change) => batch.push(change),
                Err(_) => break,
            }
        }
        let result = write(tree, batch.iter().flat_map(|c| &c.ops));
        // Before any answer: a reader told of the change must not be served an older record
        // from the store's cache.
        generation.fetch_add(1, Ordering::AcqRel);
        for change in batch {
            change.done.send(result.clone());
        }
    }
}

/// Applies `ops` in order as one atomic batch, and flushes it to disk.
fn write<'a>(tree: &sled::Db, ops: impl Iterator<Item = &'a Op>) -> StoreResult<()> {
    // What each key ends as: removals by prefix (and Clear) need the keys that exist.
    let mut last: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    let remove_range = |last: &mut BTreeMap<Vec<u8>, Option<Vec<u8>>>,
                        lower: Vec<u8>,
                        upper: Option<Vec<u8>>|
     -> StoreResult<()> {
        let bounds = (
            Bound::Included(lower),
            upper.map_or(Bound::Unbounded, Bound::Excluded),
        );
        for item in tree.range::<Vec<u8>, _>(bounds.clone()) {
            let (k, _) = item.map_err(engine_error)?;
            last.insert(k.to_vec(), None);
        }
        for (_, value) in last.range_mut::<Vec<u8>, _>(bounds) {
            *value = None;
        }
        Ok(())
    };
    for op in ops {
        match op {
            Op::Put(k, v) => {
                last.insert(k.clone(), Some(v.clone()));
            }
            Op::Remove(k) => {
                last.insert(k.clone(), None);
            }
            Op::RemovePrefix(prefix) => {
                remove_range(&mut last, prefix.clone(), prefix_end(prefix))?;
            }
            Op::Clear => remove_range(&mut last, Vec::new(), None)?,
        }
    }
    let mut batch = sled::Batch::default();
    for (k, v) in last {
        match v {
            Some(v) => batch.insert(k, v),
            None => batch.remove(k),
        }
    }
    tree.apply_batch(batch).map_err(engine_error)?;
    tree.flush().map_err(engine_error)?;
    Ok(())
}

/// Reads go to the tree as it is; the generation says which commit had been answered when the
/// read began.
struct SledSnapshot {
    tree: sled::Db,
    generation: u64,
}

impl Snapshot for SledSnapshot {
    fn generation(&self) -> Option<u64> {
        Some(self.generation)
    }

    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .tree
            .get(key)
            .map_err(engine_error)?
            .map(|v| v.to_vec()))
    }

    fn range_with(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        descending: bool,
        copy: CopyFn,
    ) -> Box<dyn Iterator<Item = Entry> + Send> {
        if is_empty(&lower, &upper) {
            return Box::new(std::iter::empty());
        }
        let entries = self.tree.range::<Vec<u8>, _>((lower, upper));
        let entries: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>> + Send> =
            if descending {
                Box::new(entries.rev())
            } else {
                Box::new(entries)
            };
        let mut failed = false;
        Box::new(entries.map_while(move |item| {
            if failed {
                return None;
            }
            Some(match item {
                Ok((k, v)) => Ok((k.to_vec(), copy(&k, &v))),
                Err(e) => {
                    failed = true;
                    Err(engine_error(e))
                }
            })
        }))
    }
}

/// Whether no key lies between the bounds (sled wants its ranges the right way round).
fn is_empty(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u)) => l >= u,
        _ => false,
    }
}
