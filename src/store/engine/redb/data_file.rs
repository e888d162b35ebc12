//! The data file: its opening (at start, and again after redb failed on the disk), and the file
//! as redb reaches it: redb's own file backend, except that the syncs of the open are owed
//! rather than made, for as long as the open writes nothing but redb's header.
//!
//! Why: after `kill -9` the page cache still holds what the dead process wrote and had not
//! synced, which is a lot when the kill cuts a checkpoint short. redb's open rewrites its header
//! and syncs, and that sync waits for all of it to reach the disk, which can take longer than
//! the rest of the start.
//!
//! Why it is safe to answer before those pages are on disk:
//! - what the dead process left dirty is either a checkpoint cut short, whose pages the header
//!   on disk does not point at, or a header whose pages were synced before it was written
//!   (checkpoints commit in two phases, which quick repair requires);
//! - the open's own writes are that header again, with its flags changed (one sector, written
//!   whole or not at all), so whichever of them a power cut keeps, the file opens at the last
//!   synced checkpoint;
//! - every acknowledged change is in the journal, synced before it was acknowledged, and the
//!   journal is emptied only after a checkpoint has synced this file, which pays the owed syncs.
//!
//! Any other write while the open is owing (a full repair's commit, a new file's layout) or a
//! resize ends the deferral before it happens, so redb's order of writes and syncs holds for
//! them as it would without this wrapper.

use super::snapshot::guarded;
use crate::store::error::{StoreError, StoreResult};
use redb::{Database, StorageBackend};
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The file in the data dir.
pub const FILE_NAME: &str = "secrets.redb";

/// Opens (or creates) `dir/secrets.redb`: at start, and again after redb failed on the disk.
pub fn open_data_file(dir: &Path, cache_bytes: usize) -> StoreResult<Database> {
    let path = dir.join(FILE_NAME);
    let cannot_open = |detail: &dyn std::fmt::Display| StoreError::Open {
        dir: dir.to_path_buf(),
        detail: detail.to_string(),
    };
    guarded("opening the data file", || {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| cannot_open(&e))?;
        let file = redb::backends::FileBackend::new(file).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(dir.to_path_buf()),
            other => cannot_open(&other),
        })?;
        let (backend, deferral) = DeferredSync::new(file);
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create_with_backend(backend)
            .map_err(|e| match e {
                redb::DatabaseError::Storage(redb::StorageError::Corrupted(why)) => {
                    StoreError::DamagedAtOpen {
                        dir: dir.to_path_buf(),
                        why,
                    }
                }
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(dir.to_path_buf()),
                other => cannot_open(&other),
            })?;
        deferral.finish();
        Ok(db)
    })
}

/// redb's header is the first 320 bytes of the file; a write that stays within the first sector
/// is a header write (and atomic on the disk).
const HEADER_SECTOR: u64 = 512;

/// Whether the open still owes its syncs. Shared with the engine, which ends the deferral once
/// redb's open has returned.
#[derive(Debug)]
pub struct Deferral {
    deferring: AtomicBool,
    owed: AtomicBool,
}

impl Deferral {
    /// Ends the deferral: every sync from here on is made, and the first pays what the open
    /// skipped (a sync covers every write before it). Not paid at once: a sync started here
    /// would run beside the rest of the start and slow it.
    pub fn finish(&self) {
        self.deferring.store(false, Ordering::SeqCst);
    }

    /// Whether the open skipped a sync that no later sync has made yet.
    #[cfg(test)]
    pub fn owed(&self) -> bool {
        self.owed.load(Ordering::SeqCst)
    }
}

/// A backend whose syncs are owed while `Deferral` says so.
#[derive(Debug)]
pub struct DeferredSync<B> {
    inner: B,
    deferral: Arc<Deferral>,
}

impl<B: StorageBackend> DeferredSync<B> {
    /// Wraps `inner`, deferring from the start.
    pub fn new(inner: B) -> (Self, Arc<Deferral>) {
        let deferral = Arc::new(Deferral {
            deferring: AtomicBool::new(true),
            owed: AtomicBool::new(false),
        });
        let backend = DeferredSync {
            inner,
            deferral: deferral.clone(),
        };
        (backend, deferral)
    }

    /// Ends the deferral before a write whose order against earlier syncs matters; makes the sync
    /// the open skipped first, so the order is as if none had been skipped.
    fn stop_deferring(&self) -> io::Result<()> {
        if self.deferral.deferring.swap(false, Ordering::SeqCst)
            && self.deferral.owed.swap(false, Ordering::SeqCst)
        {
            self.inner.sync_data()?;
        }
        Ok(())
    }
}

impl<B: StorageBackend> StorageBackend for DeferredSync<B> {
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.stop_deferring()?;
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        if self.deferral.deferring.load(Ordering::SeqCst) {
            self.deferral.owed.store(true, Ordering::SeqCst);
            return Ok(());
        }
        self.inner.sync_data()?;
        self.deferral.owed.store(false, Ordering::SeqCst);
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        if offset + data.len() as u64 > HEADER_SECTOR {
            self.stop_deferring()?;
        }
        self.inner.write(offset, data)
    }

    fn close(&self) -> io::Result<()> {
        self.inner.close()
    }

    fn try_lock_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::backends::FileBackend;
    use redb::{Database, ReadableDatabase, TableDefinition};
    use std::path::Path;
    use std::sync::Mutex;

    const TABLE: TableDefinition<&str, &str> = TableDefinition::new("t");

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Event {
        Write { header: bool },
        Sync,
    }

    /// A file backend that records the writes and the syncs that reach it. No locks: redb then
    /// runs in its exclusive mode without them.
    #[derive(Debug)]
    struct Recorded {
        file: FileBackend,
        events: Arc<Mutex<Vec<Event>>>,
    }

    impl StorageBackend for Recorded {
        fn len(&self) -> io::Result<u64> {
            self.file.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
            self.file.read(offset, out)
        }
        fn set_len(&self, len: u64) -> io::Result<()> {
            self.file.set_len(len)
        }
        fn sync_data(&self) -> io::Result<()> {
            self.events.lock().unwrap().push(Event::Sync);
            self.file.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
            let header = offset + data.len() as u64 <= HEADER_SECTOR;
            self.events.lock().unwrap().push(Event::Write { header });
            self.file.write(offset, data)
        }
    }

    /// `file` behind `DeferredSync`, with what reaches the file recorded.
    fn recorded(
        file: std::fs::File,
    ) -> (
        DeferredSync<Recorded>,
        Arc<Deferral>,
        Arc<Mutex<Vec<Event>>>,
    ) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let (backend, deferral) = DeferredSync::new(Recorded {
            file: FileBackend::new(file).unwrap(),
            events: events.clone(),
        });
        (backend, deferral, events)
    }

    fn open_recorded(path: &Path) -> (Database, Arc<Deferral>, Arc<Mutex<Vec<Event>>>) {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let (backend, deferral, events) = recorded(file);
        let db = Database::builder().create_with_backend(backend).unwrap();
        (db, deferral, events)
    }

    /// What `kill -9` leaves: the file as it is while a writer has it open.
    fn crashed_copy(dir: &Path) -> std::path::PathBuf {
        let live = dir.join("live.redb");
        let db = Database::create(&live).unwrap();
        let mut txn = db.begin_write().unwrap();
        txn.set_quick_repair(true);
        txn.open_table(TABLE)
            .unwrap()
            .insert("kept", "yes")
            .unwrap();
        txn.commit().unwrap();
        let crashed = dir.join("crashed.redb");
        std::fs::copy(&live, &crashed).unwrap();
        drop(db);
        crashed
    }

    fn read_kept(db: &Database) -> Option<String> {
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(TABLE).unwrap();
        table.get("kept").unwrap().map(|v| v.value().to_string())
    }

    #[test]
    fn an_open_after_a_crash_makes_no_sync_and_the_next_commit_pays_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let crashed = crashed_copy(dir.path());
        let (db, deferral, events) = open_recorded(&crashed);
        let during_open = events.lock().unwrap().clone();
        assert!(
            !during_open.is_empty()
                && during_open
                    .iter()
                    .all(|e| *e == Event::Write { header: true }),
            "the open writes only the header and makes no sync: {during_open:?}"
        );
        assert!(deferral.owed(), "redb asked for a sync that was deferred");
        deferral.finish();
        assert_eq!(read_kept(&db).as_deref(), Some("yes"));

        let mut txn = db.begin_write().unwrap();
        txn.set_quick_repair(true);
        txn.open_table(TABLE).unwrap().insert("next", "1").unwrap();
        txn.commit().unwrap();
        let after = events.lock().unwrap()[during_open.len()..].to_vec();
        assert!(
            after.contains(&Event::Sync),
            "a durable commit syncs: {after:?}"
        );
        assert!(!deferral.owed(), "and pays what the open owed");
    }

    #[test]
    fn a_write_past_the_header_makes_the_owed_sync_first_and_ends_the_deferral() {
        // What a repair or a new file's layout does: pages written after syncs that were owed.
        let dir = tempfile::tempdir().unwrap();
        let (backend, deferral, events) =
            recorded(std::fs::File::create(dir.path().join("f")).unwrap());
        backend.write(0, &[1; 320]).unwrap();
        backend.sync_data().unwrap();
        assert!(deferral.owed());
        backend.write(4096, &[2; 4096]).unwrap();
        backend.sync_data().unwrap();
        backend.write(0, &[3; 320]).unwrap();
        backend.sync_data().unwrap();
        assert_eq!(
            *events.lock().unwrap(),
            [
                Event::Write { header: true },
                Event::Sync,
                Event::Write { header: false },
                Event::Sync,
                Event::Write { header: true },
                Event::Sync,
            ]
        );
        assert!(!deferral.owed(), "paid");
    }

    #[test]
    fn a_resize_ends_the_deferral() {
        let dir = tempfile::tempdir().unwrap();
        let (backend, _deferral, events) =
            recorded(std::fs::File::create(dir.path().join("f")).unwrap());
        backend.set_len(4096).unwrap();
        backend.write(0, &[1; 320]).unwrap();
        backend.sync_data().unwrap();
        assert_eq!(
            *events.lock().unwrap(),
            [Event::Write { header: true }, Event::Sync]
        );
    }
}
