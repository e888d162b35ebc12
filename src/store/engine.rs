//! The key-value engine under the store: one redb table of byte keys and values, a committer
//! thread that writes every change as a transaction, and the guards that keep a damaged file
//! from crashing the server.
//!
//! Why redb: a copy-on-write B-tree opens in constant time (a header and the allocator state),
//! so start-up does not grow with the number of secrets stored, as it does for a store that
//! replays a log at every start. Each durable commit records the allocator state (redb's "quick
//! repair"), so after `kill -9` opening costs no tree walk, and no wait for what the killed
//! process left dirty in the page cache either: redb's open syncs the file, and those syncs are
//! deferred (`super::data_file`).
//!
//! Group commit: redb runs one write transaction at a time, so changes queue for one thread,
//! which applies everything waiting in one transaction, then answers each change. Under load many
//! requests share a commit; alone, a change waits for its own.
//!
//! Durability comes from the write-ahead journal (`super::journal`): a commit is one record
//! appended and synced there, then applied to redb without a sync. A checkpoint (a durable redb
//! commit, with quick repair) takes in what the journal holds when it fills up, when the store
//! has been idle for a moment, and at shutdown. What a crash left in the journal is read at
//! open and served from memory (`super::overlay`); the committer applies it once the server is
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
//! AES-GCM sealed and bound to their keys (see `super`).

use super::data_file::DeferredSync;
use super::journal::{Appended, Journal};
use super::op::{Entry, Op};
use super::overlay::Overlay;
use redb::{Database, ReadableDatabase, TableDefinition};
use std::ops::Bound;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secretsd");
/// The journal epoch the last checkpoint recorded: the journal's records of this epoch are what
/// the data file does not hold yet. Its own table, so clearing the secrets' table keeps it.
const JOURNAL_TABLE: TableDefinition<&str, u64> = TableDefinition::new("journal");
const EPOCH: &str = "epoch";
/// A journal with records is checkpointed after this long without changes, so an idle store's
/// data file holds everything and a restart replays nothing.
const IDLE_CHECKPOINT: Duration = Duration::from_millis(200);
/// The file in the data dir.
pub const FILE_NAME: &str = "secrets.redb";
/// Most changes one transaction carries: bounds a commit's memory and latency under a flood.
const MAX_BATCH: usize = 512;

pub type Table = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

struct Change {
    ops: Vec<Op>,
    done: Reply,
}

/// What the committer is sent.
enum Message {
    Change(Change),
    /// The server is ready: time to apply what the journal held at open.
    Serving,
}

/// Where a change's outcome goes: a request awaits it, start-up blocks on it.
enum Reply {
    Async(oneshot::Sender<Result<(), String>>),
    Blocking(mpsc::SyncSender<Result<(), String>>),
}

impl Reply {
    fn send(self, result: Result<(), String>) {
        let _ = match self {
            Reply::Async(done) => done.send(result).map_err(|_| ()),
            Reply::Blocking(done) => done.send(result).map_err(|_| ()),
        };
    }
}

pub struct Engine {
    db: Arc<Database>,
    latest: Arc<Latest>,
    /// `None` only while dropping.
    changes: Option<mpsc::Sender<Message>>,
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
    /// The journal's changes not yet applied to `table`, laid over it.
    overlay: Option<Arc<Overlay>>,
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
    /// What the journal held at open, until the committer has applied it.
    overlay: Option<Arc<Overlay>>,
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
        let overlay = slot.overlay.clone();
        let snapshot = Arc::new(guarded("starting a read", || {
            let txn = db.begin_read().map_err(|e| e.to_string())?;
            txn.open_table(TABLE)
                .map(|table| Snapshot {
                    table,
                    generation,
                    overlay,
                })
                .map_err(|e| e.to_string())
        })?);
        slot.snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }

    fn with_overlay(overlay: Option<Overlay>) -> Latest {
        Latest(Mutex::new(LatestSlot {
            overlay: overlay.map(Arc::new),
            ..LatestSlot::default()
        }))
    }

    fn overlay(&self) -> Option<Arc<Overlay>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .overlay
            .clone()
    }

    /// After a commit: the next reader begins a snapshot that shows it.
    fn invalidate(&self) {
        self.invalidate_and(|_| {});
    }

    /// After the commit of the overlay: snapshots from now on read the table alone.
    fn overlay_applied(&self) {
        self.invalidate_and(|slot| slot.overlay = None);
    }

    fn invalidate_and(&self, also: impl FnOnce(&mut LatestSlot)) {
        let stale = {
            let mut slot = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            slot.generation += 1;
            also(&mut slot);
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
        if let Some(decided) = self.overlay.as_ref().and_then(|o| o.get(key)) {
            return Ok(decided.map(<[u8]>::to_vec));
        }
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
    ) -> impl Iterator<Item = Entry> + 'static {
        self.range_with(lower, upper, descending, |_, value| value.to_vec())
    }

    /// Like `range`, but each entry's value is what `copy` takes of it (key, value): scans that
    /// step over entries, or need only the head of a value, copy no more than that.
    pub fn range_with(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        descending: bool,
        copy: fn(&[u8], &[u8]) -> Vec<u8>,
    ) -> Box<dyn Iterator<Item = Entry> + Send> {
        // Without an overlay (every start but one after a crash) the bounds go as they are.
        let Some(overlay) = &self.overlay else {
            return Box::new(self.table_range(lower, upper, descending, copy));
        };
        let table = self.table_range(lower.clone(), upper.clone(), descending, copy);
        let bounds = (
            lower.as_ref().map(|k| k.as_slice()),
            upper.as_ref().map(|k| k.as_slice()),
        );
        Box::new(overlay.range(table, bounds.0, bounds.1, descending, copy))
    }

    /// The table's own entries in a range, as `range_with` describes.
    fn table_range(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        descending: bool,
        copy: fn(&[u8], &[u8]) -> Vec<u8>,
    ) -> impl Iterator<Item = Entry> + Send + 'static {
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
                    .map(|kv| {
                        kv.map(|(k, v)| {
                            let key = k.value();
                            (key.to_vec(), copy(key, v.value()))
                        })
                    })
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
    /// Opens (or creates) `dir/secrets.redb` and its journal, replaying what a crash left in
    /// the journal. `Err` is one line for the operator.
    pub fn open_dir(dir: &Path, cache_bytes: usize) -> Result<Engine, String> {
        let path = dir.join(FILE_NAME);
        let started = std::time::Instant::now();
        let db = guarded("opening the data file", || {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| format!("cannot open store in {}: {e}", dir.display()))?;
            let file = redb::backends::FileBackend::new(file)
                .map_err(|e| format!("cannot open store in {}: {e}", dir.display()))?;
            let (backend, deferral) = DeferredSync::new(file);
            let db = Database::builder()
                .set_cache_size(cache_bytes)
                .create_with_backend(backend)
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
                })?;
            deferral.finish();
            Ok(db)
        })?;
        let data_file_ms = started.elapsed().as_secs_f64() * 1e3;
        let (journal, overlay) = guarded("reading the journal", || open_journal(&db, dir))?;
        tracing::info!(
            data_file_ms,
            journal_ms = started.elapsed().as_secs_f64() * 1e3 - data_file_ms,
            "opened the store"
        );
        Engine::start(db, Some(journal), overlay)
    }

    /// A store that lives and dies with the process.
    pub fn open_in_memory(cache_bytes: usize) -> Result<Engine, String> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| format!("cannot open in-memory store: {e}"))?;
        commit(&db, std::iter::empty(), Commit::Plain)
            .map_err(|e| format!("cannot write store: {e}"))?;
        Engine::start(db, None, None)
    }

    fn start(
        db: Database,
        journal: Option<Journal>,
        overlay: Option<Overlay>,
    ) -> Result<Engine, String> {
        let db = Arc::new(db);
        let (changes, queue) = mpsc::channel();
        let latest = Arc::new(Latest::with_overlay(overlay));
        let mut committer = Committer {
            db: db.clone(),
            latest: latest.clone(),
            journal,
            broken: None,
        };
        let committer = std::thread::Builder::new()
            .name("secretsd-commit".into())
            .spawn(move || committer.run(&queue))
            .map_err(|e| format!("cannot start the store's committer: {e}"))?;
        Ok(Engine {
            db,
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

    fn send(&self, ops: Vec<Op>, done: Reply) -> Result<(), String> {
        self.changes
            .as_ref()
            .ok_or_else(|| "the store is closed".to_string())?
            .send(Message::Change(Change { ops, done }))
            .map_err(|_| "the store's committer has stopped".to_string())
    }

    /// The server is ready: what the journal held at open is applied now (reads were served
    /// through it meanwhile).
    pub fn serving(&self) {
        if let Some(changes) = &self.changes {
            let _ = changes.send(Message::Serving);
        }
    }

    /// Applies `ops` durably, blocking the thread: for start-up, outside any runtime task.
    pub fn apply_now(&self, ops: Vec<Op>) -> Result<(), String> {
        let (done, answer) = mpsc::sync_channel(1);
        self.send(ops, Reply::Blocking(done))?;
        answer
            .recv()
            .map_err(|_| "the store's committer has stopped".to_string())?
    }

    /// Applies `ops` as one atomic change and waits until it is on disk.
    pub async fn apply(&self, ops: Vec<Op>) -> Result<(), String> {
        let (done, answer) = oneshot::channel();
        self.send(ops, Reply::Async(done))?;
        answer
            .await
            .map_err(|_| "the store's committer has stopped".to_string())?
    }
}

/// Opens the journal of the epoch the data file records and reads what it holds beyond the data
/// file (`None`: nothing). A data file without an epoch (a new store, or one from before the
/// journal) gets a new journal.
fn open_journal(db: &Database, dir: &Path) -> Result<(Journal, Option<Overlay>), String> {
    let epoch =
        recorded_epoch(db).map_err(|e| format!("cannot read store in {}: {e}", dir.display()))?;
    let Some(epoch) = epoch else {
        Journal::create(dir)?;
        commit(db, std::iter::empty(), Commit::Checkpoint(1))
            .map_err(|e| format!("cannot write store in {}: {e}", dir.display()))?;
        return Journal::open(dir, 1).map(|(journal, _)| (journal, None));
    };
    let (journal, replayed) = Journal::open(dir, epoch)?;
    let overlay = Overlay::new(&replayed);
    if overlay.is_some() {
        tracing::info!(
            changes = replayed.len(),
            "the journal holds changes to replay"
        );
    }
    Ok((journal, overlay))
}

/// The journal epoch the last checkpoint recorded (`None`: no checkpoint has).
fn recorded_epoch(db: &Database) -> Result<Option<u64>, String> {
    let txn = db.begin_read().map_err(|e| e.to_string())?;
    let table = match txn.open_table(JOURNAL_TABLE) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    Ok(table
        .get(EPOCH)
        .map_err(|e| e.to_string())?
        .map(|v| v.value()))
}

/// The thread that writes every change.
struct Committer {
    db: Arc<Database>,
    latest: Arc<Latest>,
    /// `None` in memory, where nothing is synced.
    journal: Option<Journal>,
    /// Why the journal's changes could not be applied at open: the data file cannot take
    /// changes, so every change fails with this and nothing is checkpointed (a checkpoint would
    /// void the journal that holds them).
    broken: Option<String>,
}

impl Committer {
    /// Takes every change waiting, writes them in one transaction, answers each. On the way
    /// out, checkpoints, so a clean shutdown leaves nothing to replay.
    fn run(&mut self, queue: &mpsc::Receiver<Message>) {
        loop {
            let pending =
                self.broken.is_none() && self.journal.as_ref().is_some_and(|j| !j.is_empty());
            let first = if pending {
                match queue.recv_timeout(IDLE_CHECKPOINT) {
                    Ok(message) => message,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.apply_overlay();
                        self.checkpoint_logged();
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match queue.recv() {
                    Ok(message) => message,
                    Err(_) => break,
                }
            };
            let first = match first {
                Message::Change(change) => change,
                Message::Serving => {
                    self.apply_overlay();
                    continue;
                }
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(Message::Change(change)) => batch.push(change),
                    // The overlay is applied just below.
                    Ok(Message::Serving) => {}
                    Err(_) => break,
                }
            }
            // What the journal held goes before any new change.
            self.apply_overlay();
            let ops: Vec<&Op> = batch.iter().flat_map(|c| &c.ops).collect();
            let result = match &self.broken {
                Some(why) => Err(why.clone()),
                None => self.write(&ops),
            };
            // Before any answer: a reader told of the change must find it.
            self.latest.invalidate();
            for change in batch {
                change.done.send(result.clone());
            }
        }
        self.apply_overlay();
        if self.broken.is_none() && self.journal.as_ref().is_some_and(|j| !j.is_empty()) {
            self.checkpoint_logged();
        }
    }

    /// Applies what the journal held at open, if it is not yet, like the commits it was: the
    /// records stay in the journal (appends go after them) until the next checkpoint, so a
    /// crash before it replays them again onto the same data file. Runs once the server is
    /// ready, or before the first change or checkpoint if they come first: until then, reads
    /// are served through the overlay, and start-up does not share the CPU with the apply.
    fn apply_overlay(&mut self) {
        if self.broken.is_some() {
            return;
        }
        let Some(overlay) = self.latest.overlay() else {
            return;
        };
        let started = std::time::Instant::now();
        let ops = overlay.ops();
        match guarded("replaying the journal", || {
            commit(&self.db, ops.iter(), Commit::Journaled)
        }) {
            Ok(()) => {
                self.latest.overlay_applied();
                tracing::info!(
                    ops = ops.len(),
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "replayed the journal"
                );
            }
            Err(e) => {
                tracing::error!("cannot apply the journal to the data file: {e}");
                self.broken = Some(format!("the store cannot take changes: {e}"));
            }
        }
    }

    /// Makes `ops` durable (journal, or a checkpoint when the journal cannot take them) and
    /// applies them.
    fn write(&mut self, ops: &[&Op]) -> Result<(), String> {
        let Some(journal) = self.journal.as_mut() else {
            return guarded("writing", || {
                commit(&self.db, ops.iter().copied(), Commit::Plain)
            });
        };
        let mut appended = journal.append(ops.iter().copied());
        if matches!(appended, Ok(Appended::Full)) && !journal.is_empty() {
            self.checkpoint(&[])?;
            let journal = self.journal.as_mut().expect("on disk");
            appended = journal.append(ops.iter().copied());
        }
        match appended {
            Ok(Appended::Durable) => {
                let applied = guarded("writing", || {
                    commit(&self.db, ops.iter().copied(), Commit::Journaled)
                });
                if applied.is_err() {
                    // The journal holds a change that failed: a checkpoint voids its record.
                    self.checkpoint_logged();
                }
                applied
            }
            // Larger than the journal: written like a checkpoint.
            Ok(Appended::Full) => self.checkpoint(ops),
            Err(e) => {
                tracing::error!("cannot write the journal ({e}); committing to the data file");
                self.checkpoint(ops)
            }
        }
    }

    /// A durable commit of `ops` and of everything journaled, which starts a new journal epoch.
    fn checkpoint(&mut self, ops: &[&Op]) -> Result<(), String> {
        if let Some(why) = &self.broken {
            return Err(why.clone());
        }
        let journal = self.journal.as_mut().expect("checkpoints are on disk");
        let next = journal.epoch() + 1;
        guarded("writing", || {
            commit(&self.db, ops.iter().copied(), Commit::Checkpoint(next))
        })?;
        journal.restart(next);
        Ok(())
    }

    fn checkpoint_logged(&mut self) {
        if let Err(e) = self.checkpoint(&[]) {
            tracing::error!("checkpoint failed: {e}");
        }
    }
}

/// How a transaction reaches the disk.
#[derive(Clone, Copy)]
enum Commit {
    /// In memory: nothing to sync.
    Plain,
    /// Its journal record is synced: applied without syncing.
    Journaled,
    /// Durable, with quick repair (the allocator state is saved, so a crash costs no repair at
    /// the next open), recording the journal epoch that starts now.
    Checkpoint(u64),
}

fn commit<'a>(db: &Database, ops: impl Iterator<Item = &'a Op>, how: Commit) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("storage: {e}");
    let mut txn = db.begin_write().map_err(|e| err(&e))?;
    match how {
        Commit::Plain => {}
        Commit::Journaled => {
            txn.set_durability(redb::Durability::None)
                .map_err(|e| err(&e))?;
        }
        Commit::Checkpoint(epoch) => {
            txn.set_quick_repair(true);
            txn.open_table(JOURNAL_TABLE)
                .and_then(|mut t| t.insert(EPOCH, epoch).map(|_| ()).map_err(Into::into))
                .map_err(|e| err(&e))?;
        }
    }
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
    use super::*;

    fn contents(db: &Database) -> Vec<(Vec<u8>, Vec<u8>)> {
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(TABLE).unwrap();
        table
            .range::<&[u8]>(..)
            .unwrap()
            .map(|kv| {
                let (k, v) = kv.unwrap();
                (k.value().to_vec(), v.value().to_vec())
            })
            .collect()
    }

    fn store_with(base: &[Op]) -> Database {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .unwrap();
        commit(&db, base.iter(), Commit::Plain).unwrap();
        db
    }

    fn put(k: &str, v: &str) -> Op {
        Op::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    fn remove(k: &str) -> Op {
        Op::Remove(k.as_bytes().to_vec())
    }

    fn remove_prefix(p: &str) -> Op {
        Op::RemovePrefix(p.as_bytes().to_vec())
    }

    /// Replay applies the journal merged; it must leave what applying each change in turn does.
    #[test]
    fn a_merged_replay_ends_where_the_changes_one_by_one_end() {
        let base = [
            put("a1", "0"),
            put("a2", "0"),
            put("b1", "0"),
            put("c1", "0"),
        ];
        let journals: Vec<Vec<Vec<Op>>> = vec![
            vec![
                vec![put("a1", "1"), remove("b1")],
                vec![put("a1", "2"), put("b1", "3")],
            ],
            // A prefix removal after writes under it, then a write under it again.
            vec![
                vec![put("a3", "1"), put("a1", "1")],
                vec![remove_prefix("a")],
                vec![put("a2", "2")],
            ],
            // A write, then a prefix removal that takes it, and nothing after.
            vec![
                vec![put("b2", "1")],
                vec![remove_prefix("b"), put("c1", "1")],
            ],
            // Clear between writes.
            vec![
                vec![put("d", "1"), remove("a1")],
                vec![Op::Clear],
                vec![put("a1", "9")],
            ],
            vec![vec![remove("zz"), put("zz", "1"), remove("zz")]],
        ];
        for (n, journal) in journals.iter().enumerate() {
            let one_by_one = store_with(&base);
            for change in journal {
                commit(&one_by_one, change.iter(), Commit::Plain).unwrap();
            }
            let expected = contents(&one_by_one);
            let replayed = store_with(&base);
            let records = super::super::journal::Replayed::from_changes(journal);
            let overlay = Arc::new(Overlay::new(&records).unwrap());
            commit(&replayed, overlay.ops().iter(), Commit::Plain).unwrap();
            assert_eq!(contents(&replayed), expected, "journal {n}");

            // Before it is applied, reads through the overlay see the same contents.
            let laid_over = store_with(&base);
            let txn = laid_over.begin_read().unwrap();
            let snapshot = Snapshot {
                table: txn.open_table(TABLE).unwrap(),
                generation: 0,
                overlay: Some(overlay),
            };
            let scan = |lower: Bound<&str>, upper: Bound<&str>, descending: bool| {
                let owned = |b: Bound<&str>| b.map(|k| k.as_bytes().to_vec());
                snapshot
                    .range(owned(lower), owned(upper), descending)
                    .map(Result::unwrap)
                    .collect::<Vec<_>>()
            };
            assert_eq!(scan(Bound::Unbounded, Bound::Unbounded, false), expected);
            let mut reversed = expected.clone();
            reversed.reverse();
            assert_eq!(scan(Bound::Unbounded, Bound::Unbounded, true), reversed);
            let within = |k: &[u8]| k >= b"a2".as_slice() && k < b"c1".as_slice();
            let part: Vec<_> = expected
                .iter()
                .filter(|(k, _)| within(k))
                .cloned()
                .collect();
            let range = (Bound::Included("a2"), Bound::Excluded("c1"));
            assert_eq!(scan(range.0, range.1, false), part, "journal {n}");
            let empty = (Bound::Excluded("b"), Bound::Excluded("b"));
            assert!(scan(empty.0, empty.1, true).is_empty());
            for key in ["a1", "a2", "a3", "b1", "b2", "c1", "d", "zz", "q"] {
                let found = expected.iter().find(|(k, _)| k == key.as_bytes());
                assert_eq!(
                    snapshot.get(key.as_bytes()).unwrap().as_ref(),
                    found.map(|(_, v)| v),
                    "journal {n}, key {key}"
                );
            }
        }
    }

    /// A crash's journal, read at open: served at once, applied by the committer, checkpointed
    /// at close, and not replayed again.
    #[test]
    fn what_a_crash_left_in_the_journal_is_served_applied_and_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_dir(dir.path(), 1 << 20).unwrap();
        engine
            .apply_now(vec![put("a1", "0"), put("a2", "0"), put("b1", "0")])
            .unwrap();
        drop(engine);
        // What a crash leaves: records in the journal of the epoch the data file records.
        let epoch = {
            let db = Database::open(dir.path().join(FILE_NAME)).unwrap();
            recorded_epoch(&db).unwrap().unwrap()
        };
        let (mut journal, pending) = Journal::open(dir.path(), epoch).unwrap();
        assert!(pending.is_empty());
        for change in [
            vec![put("a1", "1"), remove("b1")],
            vec![remove_prefix("a"), put("a2", "2"), put("c", "3")],
        ] {
            assert_eq!(journal.append(change.iter()).unwrap(), Appended::Durable);
        }
        drop(journal);

        let expected = vec![
            (b"a2".to_vec(), b"2".to_vec()),
            (b"c".to_vec(), b"3".to_vec()),
        ];
        let all = |engine: &Engine| {
            let snapshot = engine.read().unwrap();
            let entries = snapshot.range(Bound::Unbounded, Bound::Unbounded, false);
            entries.map(Result::unwrap).collect::<Vec<_>>()
        };
        let engine = Engine::open_dir(dir.path(), 1 << 20).unwrap();
        assert_eq!(all(&engine), expected);
        assert_eq!(engine.get(b"a1").unwrap(), None);
        // A change waits for the journal's changes, and goes after them.
        engine.apply_now(vec![put("a1", "4")]).unwrap();
        assert!(engine.latest.overlay().is_none());
        assert_eq!(engine.get(b"a1").unwrap(), Some(b"4".to_vec()));
        drop(engine);

        let db = Database::open(dir.path().join(FILE_NAME)).unwrap();
        let mut expected = expected;
        expected.insert(0, (b"a1".to_vec(), b"4".to_vec()));
        assert_eq!(contents(&db), expected);
        let epoch = recorded_epoch(&db).unwrap().unwrap();
        drop(db);
        let (_, pending) = Journal::open(dir.path(), epoch).unwrap();
        assert!(
            pending.is_empty(),
            "the checkpoint at close voids the journal"
        );
    }

    /// The overlay is applied once the server says it is ready, without waiting for a change.
    #[test]
    fn what_the_journal_held_is_applied_once_the_server_is_ready() {
        let dir = tempfile::tempdir().unwrap();
        drop(Engine::open_dir(dir.path(), 1 << 20).unwrap());
        let epoch = {
            let db = Database::open(dir.path().join(FILE_NAME)).unwrap();
            recorded_epoch(&db).unwrap().unwrap()
        };
        let (mut journal, _) = Journal::open(dir.path(), epoch).unwrap();
        journal.append([put("k", "v")].iter()).unwrap();
        drop(journal);

        let engine = Engine::open_dir(dir.path(), 1 << 20).unwrap();
        assert!(
            engine.latest.overlay().is_some(),
            "not applied before serving"
        );
        assert_eq!(engine.get(b"k").unwrap(), Some(b"v".to_vec()));
        engine.serving();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while engine.latest.overlay().is_some() {
            assert!(std::time::Instant::now() < deadline, "never applied");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(engine.get(b"k").unwrap(), Some(b"v".to_vec()));
        let txn = engine.db.begin_read().unwrap();
        let table = txn.open_table(TABLE).unwrap();
        assert_eq!(table.get(&b"k"[..]).unwrap().unwrap().value(), b"v");
    }

    #[test]
    fn prefix_end_is_the_next_key_after_the_prefix() {
        assert_eq!(prefix_end(b"Vab\0"), Some(b"Vab\x01".to_vec()));
        assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
    }
}
