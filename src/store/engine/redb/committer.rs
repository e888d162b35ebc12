//! The thread that writes every change: it takes what is waiting, makes it durable in the
//! journal (or a checkpoint), applies it to the data file and answers each change.

use super::data_file::open_data_file;
use super::journal::{Appended, Journal};
use super::overlay::Overlay;
use super::snapshot::{guarded, Latest, TABLE};
use super::space::{is_out_of_space, is_out_of_space_io, Space};
use crate::store::engine::{prefix_end, Op};
use crate::store::error::{StoreError, StoreResult};
use redb::{Database, ReadableDatabase, TableDefinition};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
/// How often a committer whose disk is short looks again for room, with nothing to write.
const SPACE_PROBE: Duration = Duration::from_secs(1);
/// How long opening the data file again waits for the last readers of the failed one.
const REOPEN_WAIT: Duration = Duration::from_secs(2);

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

/// The data file's place, to open it again after redb failed on the disk.
pub struct DataFiles {
    pub dir: PathBuf,
    pub cache_bytes: usize,
    pub space: Arc<Space>,
}

/// The thread that writes every change.
pub struct Committer {
    /// `None` while the data file is opened again.
    db: Option<Arc<Database>>,
    latest: Arc<Latest>,
    /// `None` in memory, where nothing is synced (and while the data file is opened again).
    journal: Option<Journal>,
    /// `None` in memory.
    files: Option<DataFiles>,
    /// redb failed on the disk: it answers every call with that failure until it is opened
    /// again, as after a crash (the journal holds every acknowledged change).
    failed: bool,
    /// Why the journal's changes could not be applied at open: the data file cannot take
    /// changes, so every change fails with this and nothing is checkpointed (a checkpoint would
    /// void the journal that holds them).
    broken: Option<StoreError>,
}

impl Committer {
    pub fn new(
        db: Arc<Database>,
        latest: Arc<Latest>,
        journal: Option<Journal>,
        files: Option<DataFiles>,
    ) -> Committer {
        Committer {
            db: Some(db),
            latest,
            journal,
            files,
            failed: false,
            broken: None,
        }
    }

    /// Takes every change waiting, writes them in one transaction, answers each. On the way
    /// out, checkpoints, so a clean shutdown leaves nothing to replay.
    pub fn run(&mut self, queue: &mpsc::Receiver<Message>) {
        loop {
            let pending =
                self.broken.is_none() && self.journal.as_ref().is_some_and(|j| !j.is_empty());
            let wait = match (self.short_of_space(), pending) {
                (true, _) => Some(SPACE_PROBE),
                (false, true) => Some(IDLE_CHECKPOINT),
                (false, false) => None,
            };
            let first = match wait {
                Some(wait) => match queue.recv_timeout(wait) {
                    Ok(message) => message,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.idle();
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
                None => match queue.recv() {
                    Ok(message) => message,
                    Err(_) => break,
                },
            };
            let first = match first {
                Message::Change { ops, done } => Change { ops, done },
                Message::Serving => {
                    self.apply_overlay();
                    if self.failed {
                        self.reopen();
                    }
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
            let ops: Vec<&Op> = batch.iter().flat_map(|c| &c.ops).collect();
            let result = self.take(&ops);
            // Before any answer: a reader told of the change (or of its failure) must find the
            // store as the answer says.
            self.latest.invalidate();
            for change in batch {
                change.done.send(result.clone());
            }
        }
        if self.failed || self.short_of_space() {
            return; // nothing more reaches the disk: the journal has it all
        }
        self.apply_overlay();
        if self.broken.is_none() && self.journal.as_ref().is_some_and(|j| !j.is_empty()) {
            self.checkpoint_logged();
        }
    }

    /// One batch of changes: refused at once while the disk is short, else written (what the
    /// journal held at open first). A failure of redb on the disk opens the data file again
    /// before the batch is answered.
    fn take(&mut self, ops: &[&Op]) -> StoreResult<()> {
        if let Some(why) = &self.broken {
            return Err(why.clone());
        }
        if self.files.as_ref().is_some_and(|f| f.space.still_short()) {
            return Err(StoreError::NoSpace);
        }
        if self.failed {
            self.reopen();
        }
        self.apply_overlay();
        let result = match self.failed {
            true => Err(StoreError::Unavailable(
                "the data file is being opened again".into(),
            )),
            false => self.write(ops),
        };
        let result = self.count_space(result);
        if self.failed {
            self.reopen();
        }
        result
    }

    /// With no change waiting: checkpoints what the journal holds, or, while the disk is
    /// short, looks whether it has room again.
    fn idle(&mut self) {
        if self.failed {
            self.reopen();
        }
        if self.short_of_space() {
            if self.files.as_ref().is_some_and(|f| f.space.still_short()) {
                return;
            }
            if self.journal.as_ref().is_none_or(|j| j.is_empty()) {
                // Nothing to prove it with: the next change will.
                if let Some(files) = &self.files {
                    files.space.recovered();
                }
                return;
            }
        }
        self.apply_overlay();
        let checkpointed = self.checkpoint(&[]);
        if let Err(e) = &checkpointed {
            tracing::error!("checkpoint failed: {e}");
        }
        let _ = self.count_space(checkpointed);
        if self.failed {
            self.reopen();
        }
    }

    fn short_of_space(&self) -> bool {
        self.files.as_ref().is_some_and(|f| f.space.is_short())
    }

    /// Tells the shortage of space from other failures, and its end.
    fn count_space(&mut self, result: StoreResult<()>) -> StoreResult<()> {
        let Some(files) = &self.files else {
            return result;
        };
        match &result {
            Ok(()) => files.space.recovered(),
            Err(StoreError::NoSpace) => files.space.ran_out(),
            Err(e) if is_out_of_space(e) => {
                files.space.ran_out();
                return Err(StoreError::NoSpace);
            }
            Err(_) => {}
        }
        result
    }

    /// Opens the data file and its journal again, as a restart after a crash would: redb
    /// comes back at its last checkpoint and the journal brings every change acknowledged
    /// since. Reads fail for the moment it takes (the last readers of the failed file let go
    /// first). On failure, `failed` stays and the next batch tries again.
    fn reopen(&mut self) {
        let Some(files) = &self.files else {
            return;
        };
        let started = Instant::now();
        drop(self.latest.close());
        drop(self.db.take());
        drop(self.journal.take());
        let opened = loop {
            let opened = open_data_file(&files.dir, files.cache_bytes).and_then(|db| {
                let (journal, overlay) =
                    guarded("reading the journal", || open_journal(&db, &files.dir))?;
                Ok((db, journal, overlay))
            });
            match opened {
                Err(StoreError::InUse(_)) if started.elapsed() < REOPEN_WAIT => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                other => break other,
            }
        };
        match opened {
            Ok((db, journal, overlay)) => {
                let db = Arc::new(db);
                self.latest.reopened(db.clone(), overlay);
                self.db = Some(db);
                self.journal = Some(journal);
                self.failed = false;
                tracing::warn!(
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "opened the data file again after a failed write"
                );
            }
            Err(e) => tracing::error!("cannot open the data file again: {e}"),
        }
    }

    /// One redb transaction. A failure on the disk leaves redb failing every later call, so
    /// it is marked for opening again.
    fn commit_redb(&mut self, what: &str, ops: &[&Op], how: Commit) -> StoreResult<()> {
        let Some(db) = &self.db else {
            return Err(StoreError::Unavailable(
                "the data file is being opened again".into(),
            ));
        };
        let result = guarded(what, || commit(db, ops.iter().copied(), how));
        if result.is_err() && self.files.is_some() {
            self.failed = true;
        }
        result
    }

    /// Applies what the journal held at open, if it is not yet, like the commits it was: the
    /// records stay in the journal (appends go after them) until the next checkpoint, so a
    /// crash before it replays them again onto the same data file. Runs once the server is
    /// ready, or before the first change or checkpoint if they come first: until then, reads
    /// are served through the overlay, and start-up does not share the CPU with the apply.
    fn apply_overlay(&mut self) {
        if self.broken.is_some() || self.failed {
            return;
        }
        let Some(overlay) = self.latest.overlay() else {
            return;
        };
        let started = Instant::now();
        let ops = overlay.ops();
        let refs: Vec<&Op> = ops.iter().collect();
        match self.commit_redb("replaying the journal", &refs, Commit::Journaled) {
            Ok(()) => {
                self.latest.overlay_applied();
                tracing::info!(
                    ops = ops.len(),
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "replayed the journal"
                );
            }
            // Served through the overlay until the disk has room (or the file opens again).
            Err(e) if self.failed || is_out_of_space(&e) => {
                tracing::error!("cannot apply the journal to the data file yet: {e}");
                let _ = self.count_space(Err(e));
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
            return self.commit_redb("writing", ops, Commit::Plain);
        };
        let mut appended = journal.append(ops.iter().copied());
        if matches!(appended, Ok(Appended::Full)) && !journal.is_empty() {
            self.checkpoint(&[])?;
            let journal = self.journal.as_mut().expect("on disk");
            appended = journal.append(ops.iter().copied());
        }
        match appended {
            Ok(Appended::Durable) => {
                let applied = self.commit_redb("writing", ops, Commit::Journaled);
                if applied.is_err() {
                    // The journal holds a change that failed: it must not come back at the
                    // next open (nor be voided by a checkpoint that redb can no longer make).
                    let journal = self.journal.as_mut().expect("on disk");
                    if let Err(e) = journal.retract_last() {
                        tracing::error!("cannot retract the failed change from the journal: {e}");
                        self.checkpoint_logged();
                    }
                }
                applied
            }
            // Larger than the journal: written like a checkpoint.
            Ok(Appended::Full) => self.checkpoint(ops),
            // No room for the record: nothing was written, and redb would fail the same way.
            Err(e) if is_out_of_space_io(&e) => Err(StoreError::NoSpace),
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
        let next = self
            .journal
            .as_ref()
            .expect("checkpoints are on disk")
            .epoch()
            + 1;
        self.commit_redb("writing", ops, Commit::Checkpoint(next))?;
        self.journal.as_mut().expect("on disk").restart(next);
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
