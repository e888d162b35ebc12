//! The key-value engine under the store: one redb table of byte keys and values, a committer
//! thread that writes every change as a transaction, and the guards that keep a damaged file
//! from crashing the server.
//!
//! Why redb: a copy-on-write B-tree opens in constant time (a header and the allocator state),
//! so a data dir with 100,000 secrets is ready as fast as an empty one, also after `kill -9`
//! (each durable commit records the allocator state: redb's "quick repair"). sled 0.34 replayed
//! its log at every start (118–266 ms with 100,000 secrets).
//!
//! Group commit: redb runs one write transaction at a time, so changes queue for one thread,
//! which applies everything waiting in one transaction and one fsync, then answers each change.
//! Under load many requests share a commit; alone, a change waits for its own.
//!
//! Reads share a snapshot: beginning a read transaction and opening the table was a tenth of
//! GetSecretValue's time, so the latest snapshot is kept and handed to every reader until the
//! next commit replaces it (see `Latest`).
//!
//! Damage: redb checks the file's length against its layout at open and refuses a short file,
//! but it does not verify page checksums on reads, and a page altered behind its back can make
//! it panic. Every call into redb is therefore run under `catch_unwind` and a panic becomes an
//! error ("the store is damaged"). Wrong bytes cannot pass as data: records and values are
//! AES-GCM sealed and bound to their keys (see `super`).

use redb::{Database, ReadableDatabase, TableDefinition};
use std::ops::Bound;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secretsd");
/// The file in the data dir.
pub const FILE_NAME: &str = "secrets.redb";
/// Most changes one transaction carries: bounds a commit's memory and latency under a flood.
const MAX_BATCH: usize = 512;

pub type Table = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// One step of a change, applied in order.
#[derive(Debug)]
pub enum Op {
    Put(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    /// Every key that starts with these bytes.
    RemovePrefix(Vec<u8>),
    /// Every key.
    Clear,
}

struct Change {
    ops: Vec<Op>,
    done: oneshot::Sender<Result<(), String>>,
}

pub struct Engine {
    db: Arc<Database>,
    on_disk: bool,
    latest: Arc<Latest>,
    /// `None` only while dropping.
    changes: Option<mpsc::Sender<Change>>,
    committer: Option<std::thread::JoinHandle<()>>,
}

/// Closing: the committer finishes what is queued and lets go of the database, so that the file
/// is closed cleanly (and unlocked) when the store is dropped, and a restart in the same process
/// can open it.
impl Drop for Engine {
    fn drop(&mut self) {
        self.changes.take();
        if let Some(committer) = self.committer.take() {
            let _ = committer.join();
        }
    }
}

/// The table as one commit left it: reads through it agree with each other.
pub struct Snapshot {
    table: Table,
    generation: u64,
}

/// The snapshot of the last commit, shared by readers until the committer drops it after the
/// next commit. A reader that finds none begins one, under the lock: the committer's
/// `invalidate` after a commit therefore removes every snapshot begun before that commit, and
/// a change is visible to every read that starts after its answer.
///
/// Each invalidation starts a new generation, and at most one snapshot is begun per
/// generation, so equal generations mean equal contents (what the store's record cache relies
/// on).
#[derive(Default)]
struct Latest(Mutex<LatestSlot>);

#[derive(Default)]
struct LatestSlot {
    snapshot: Option<Arc<Snapshot>>,
    generation: u64,
}

impl Latest {
    fn get_or_begin(&self, db: &Database) -> Result<Arc<Snapshot>, String> {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(snapshot) = slot.snapshot.as_ref() {
            return Ok(snapshot.clone());
        }
        let generation = slot.generation;
        let snapshot = Arc::new(guarded("starting a read", || {
            let txn = db.begin_read().map_err(|e| e.to_string())?;
            txn.open_table(TABLE)
                .map(|table| Snapshot { table, generation })
                .map_err(|e| e.to_string())
        })?);
        slot.snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }

    fn invalidate(&self) {
        let stale = {
            let mut slot = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            slot.generation += 1;
            slot.snapshot.take()
        };
        drop(stale); // outside the lock: the last reference ends a read transaction
    }
}

impl Snapshot {
    /// Which commit this snapshot shows: snapshots of one generation hold the same data.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        guarded("reading", || {
            Ok(self
                .table
                .get(key)
                .map_err(|e| e.to_string())?
                .map(|v| v.value().to_vec()))
        })
    }

    /// The entries between `lower` and `upper` in key order (or reversed). Stops after the first
    /// error, which it yields.
    pub fn range(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        descending: bool,
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), String>> + 'static {
        let range = guarded("reading", || {
            let bounds = (
                lower.as_ref().map(|k| k.as_slice()),
                upper.as_ref().map(|k| k.as_slice()),
            );
            self.table.range::<&[u8]>(bounds).map_err(|e| e.to_string())
        });
        let mut range = Some(range);
        std::iter::from_fn(move || {
            let entries = match range.take()? {
                Ok(entries) => entries,
                Err(e) => return Some(Err(e)),
            };
            let mut entries = entries;
            let step = guarded("reading", || {
                let item = if descending {
                    entries.next_back()
                } else {
                    entries.next()
                };
                item.transpose()
                    .map(|kv| kv.map(|(k, v)| (k.value().to_vec(), v.value().to_vec())))
                    .map_err(|e| e.to_string())
            });
            match step {
                Ok(Some(kv)) => {
                    range = Some(Ok(entries));
                    Some(Ok(kv))
                }
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            }
        })
    }
}

/// Runs `f`, turning a panic inside redb into an error.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        tracing::error!("the store's engine failed while {what}: the data file is damaged");
        Err(format!(
            "the store is damaged (the engine failed while {what})"
        ))
    })
}

impl Engine {
    /// Opens (or creates) `dir/secrets.redb`. `Err` is one line for the operator.
    pub fn open_dir(dir: &Path, cache_bytes: usize) -> Result<Engine, String> {
        let path = dir.join(FILE_NAME);
        let db = guarded("opening the data file", || {
            Database::builder()
                .set_cache_size(cache_bytes)
                .create(&path)
                .map_err(|e| match e {
                    redb::DatabaseError::Storage(redb::StorageError::Corrupted(why)) => format!(
                        "the store in {} is damaged ({why}) and was not opened; restore the data dir from a backup or move it aside",
                        dir.display()
                    ),
                    redb::DatabaseError::DatabaseAlreadyOpen => format!(
                        "the store in {} is in use by another secretsd",
                        dir.display()
                    ),
                    other => format!("cannot open store in {}: {other}", dir.display()),
                })
        })?;
        Engine::start(db, true)
    }

    /// A store that lives and dies with the process.
    pub fn open_in_memory(cache_bytes: usize) -> Result<Engine, String> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| format!("cannot open in-memory store: {e}"))?;
        Engine::start(db, false)
    }

    fn start(db: Database, on_disk: bool) -> Result<Engine, String> {
        let db = Arc::new(db);
        // The table exists from the start, so readers never meet a file without it.
        let mut txn = db
            .begin_write()
            .map_err(|e| format!("cannot write store: {e}"))?;
        txn.set_quick_repair(on_disk);
        txn.open_table(TABLE)
            .map_err(|e| format!("cannot write store: {e}"))?;
        txn.commit()
            .map_err(|e| format!("cannot write store: {e}"))?;
        let (changes, queue) = mpsc::channel();
        let latest = Arc::new(Latest::default());
        let committer_db = db.clone();
        let committer_latest = latest.clone();
        let committer = std::thread::Builder::new()
            .name("secretsd-commit".into())
            .spawn(move || run_committer(&committer_db, &committer_latest, &queue, on_disk))
            .map_err(|e| format!("cannot start the store's committer: {e}"))?;
        Ok(Engine {
            db,
            on_disk,
            latest,
            changes: Some(changes),
            committer: Some(committer),
        })
    }

    /// A consistent view of the table as of the last commit.
    pub fn read(&self) -> Result<Arc<Snapshot>, String> {
        self.latest.get_or_begin(&self.db)
    }

    /// One key's value, as of the last commit.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.read()?.get(key)
    }

    /// Applies `ops` durably before anything else may write: for start-up, outside any runtime
    /// task (redb's writer lock makes it wait for a commit in progress).
    pub fn apply_now(&self, ops: &[Op]) -> Result<(), String> {
        let result = guarded("writing", || commit(&self.db, ops.iter(), self.on_disk));
        self.latest.invalidate();
        result
    }

    /// Applies `ops` as one atomic change and waits until it is on disk.
    ///
    /// Every commit is durable, also for bookkeeping that could be lost: a later non-durable
    /// commit would void the allocator state that lets a crashed store open in a millisecond.
    pub async fn apply(&self, ops: Vec<Op>) -> Result<(), String> {
        let (done, answer) = oneshot::channel();
        self.changes
            .as_ref()
            .ok_or_else(|| "the store is closed".to_string())?
            .send(Change { ops, done })
            .map_err(|_| "the store's committer has stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the store's committer has stopped".to_string())?
    }
}

/// Takes every change waiting, writes them in one transaction, answers each.
fn run_committer(db: &Database, latest: &Latest, queue: &mpsc::Receiver<Change>, on_disk: bool) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(change) => batch.push(change),
                Err(_) => break,
            }
        }
        let ops = batch.iter().flat_map(|c| &c.ops);
        let result = guarded("writing", || commit(db, ops, on_disk));
        // Before any answer: a reader told of the change must find it.
        latest.invalidate();
        for change in batch {
            let _ = change.done.send(result.clone());
        }
    }
}

fn commit<'a>(
    db: &Database,
    ops: impl Iterator<Item = &'a Op>,
    on_disk: bool,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("storage: {e}");
    let mut txn = db.begin_write().map_err(|e| err(&e))?;
    // Records the allocator state, so that a crash costs no repair at the next open.
    txn.set_quick_repair(on_disk);
    {
        let mut table = txn.open_table(TABLE).map_err(|e| err(&e))?;
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    table
                        .insert(k.as_slice(), v.as_slice())
                        .map_err(|e| err(&e))?;
                }
                Op::Remove(k) => {
                    table.remove(k.as_slice()).map_err(|e| err(&e))?;
                }
                Op::RemovePrefix(prefix) => {
                    let removed = match prefix_end(prefix) {
                        Some(end) => table
                            .retain_in::<&[u8], _>(prefix.as_slice()..end.as_slice(), |_, _| false),
                        None => table.retain_in::<&[u8], _>(prefix.as_slice().., |_, _| false),
                    };
                    removed.map_err(|e| err(&e))?;
                }
                Op::Clear => {
                    table.retain(|_, _| false).map_err(|e| err(&e))?;
                }
            }
        }
    }
    txn.commit().map_err(|e| err(&e))
}

/// The first key after every key that starts with `prefix` (`None`: no key is).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_is_the_next_key_after_the_prefix() {
        assert_eq!(prefix_end(b"Vab\0"), Some(b"Vab\x01".to_vec()));
        assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
    }
}
