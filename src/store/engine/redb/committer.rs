//! The thread that writes every change: it takes what is waiting, makes it durable in the
//! journal (or a checkpoint), applies it to the data file and answers each change.

use super::journal::{Appended, Journal};
use super::overlay::Overlay;
use super::snapshot::{guarded, Latest, TABLE};
use crate::store::engine::{prefix_end, Op};
use crate::store::error::{StoreError, StoreResult};
use redb::{Database, ReadableDatabase, TableDefinition};
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The journal epoch the last checkpoint recorded: the journal's records of this epoch are what
/// the data file does not hold yet. Its own table, so clearing the secrets' table keeps it.
const JOURNAL_TABLE: TableDefinition<&str, u64> = TableDefinition::new("journal");
const EPOCH: &str = "epoch";
/// A journal with records is checkpointed after this long without changes, so an idle store's
/// data file holds everything and a restart replays nothing.
const IDLE_CHECKPOINT: Duration = Duration::from_millis(200);
/// Most changes one transaction carries: bounds a commit's memory and latency under a flood.
const MAX_BATCH: usize = 512;

/// What the committer is sent.
pub enum Message {
    Change {
        ops: Vec<Op>,
        done: Reply,
    },
    /// The server is ready: time to apply what the journal held at open.
    Serving,
}

/// Where a change's outcome goes: a request awaits it, start-up blocks on it.
pub enum Reply {
    Async(oneshot::Sender<StoreResult<()>>),
    Blocking(mpsc::SyncSender<StoreResult<()>>),
}

impl Reply {
    fn send(self, result: StoreResult<()>) {
        let _ = match self {
            Reply::Async(done) => done.send(result).map_err(|_| ()),
            Reply::Blocking(done) => done.send(result).map_err(|_| ()),
        };
    }
}

struct Change {
    ops: Vec<Op>,
    done: Reply,
}

/// Opens the journal of the epoch the data file records and reads what it holds beyond the data
/// file (`None`: nothing). A data file without an epoch (a new store, or one from before the
/// journal) gets a new journal.
pub fn open_journal(db: &Database, dir: &Path) -> StoreResult<(Journal, Option<Overlay>)> {
    let epoch = recorded_epoch(db)?;
    let Some(epoch) = epoch else {
        Journal::create(dir)?;
        commit(db, std::iter::empty(), Commit::Checkpoint(1))?;
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
pub fn recorded_epoch(db: &Database) -> StoreResult<Option<u64>> {
    let txn = db.begin_read().map_err(StoreError::engine)?;
    let table = match txn.open_table(JOURNAL_TABLE) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(StoreError::engine(e)),
    };
    Ok(table
        .get(EPOCH)
        .map_err(StoreError::engine)?
        .map(|v| v.value()))
}

/// The thread that writes every change.
pub struct Committer {
    db: Arc<Database>,
    latest: Arc<Latest>,
    /// `None` in memory, where nothing is synced.
    journal: Option<Journal>,
    /// Why the journal's changes could not be applied at open: the data file cannot take
    /// changes, so every change fails with this and nothing is checkpointed (a checkpoint would
    /// void the journal that holds them).
    broken: Option<StoreError>,
}

impl Committer {
    pub fn new(db: Arc<Database>, latest: Arc<Latest>, journal: Option<Journal>) -> Committer {
        Committer {
            db,
            latest,
            journal,
            broken: None,
        }
    }

    /// Takes every change waiting, writes them in one transaction, answers each. On the way
    /// out, checkpoints, so a clean shutdown leaves nothing to replay.
    pub fn run(&mut self, queue: &mpsc::Receiver<Message>) {
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
                Message::Change { ops, done } => Change { ops, done },
                Message::Serving => {
                    self.apply_overlay();
                    continue;
                }
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(Message::Change { ops, done }) => batch.push(Change { ops, done }),
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
                self.broken = Some(StoreError::Engine(format!(
                    "the store cannot take changes: {e}"
                )));
            }
        }
    }

    /// Makes `ops` durable (journal, or a checkpoint when the journal cannot take them) and
    /// applies them.
    fn write(&mut self, ops: &[&Op]) -> StoreResult<()> {
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
    fn checkpoint(&mut self, ops: &[&Op]) -> StoreResult<()> {
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
pub enum Commit {
    /// In memory: nothing to sync.
    Plain,
    /// Its journal record is synced: applied without syncing.
    Journaled,
    /// Durable, with quick repair (the allocator state is saved, so a crash costs no repair at
    /// the next open), recording the journal epoch that starts now.
    Checkpoint(u64),
}

pub fn commit<'a>(
    db: &Database,
    ops: impl Iterator<Item = &'a Op>,
    how: Commit,
) -> StoreResult<()> {
    let err = |e: &dyn std::fmt::Display| StoreError::engine(e);
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
