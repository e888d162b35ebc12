//! Reads: the snapshot of the last commit, shared by every reader until the next commit.

use super::overlay::Overlay;
use crate::store::engine::{CopyFn, Entry, Snapshot};
use crate::store::error::{StoreError, StoreResult};
use redb::{Database, ReadableDatabase, TableDefinition};
use std::ops::Bound;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// The one table of the store's keys.
pub const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secretsd");

type Table = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// The table as one commit left it: reads through it agree with each other.
pub struct RedbSnapshot {
    pub(super) table: Table,
    pub(super) generation: u64,
    /// The journal's changes not yet applied to `table`, laid over it.
    pub(super) overlay: Option<Arc<Overlay>>,
}

/// The snapshot of the last commit, shared by readers until the committer drops it after the
/// next commit. A reader that finds none begins one, under the lock: the committer's
/// `invalidate` after a commit therefore removes every snapshot begun before that commit, and
/// a change is visible to every read that starts after its answer.
///
/// Each invalidation starts a new generation, and at most one snapshot is begun per
/// generation, so equal generations mean equal contents (what the store's record cache relies
/// on).
pub struct Latest(Mutex<LatestSlot>);

struct LatestSlot {
    /// `None` while the committer opens the data file again (`closed`, `reopened`).
    db: Option<Arc<Database>>,
    snapshot: Option<Arc<RedbSnapshot>>,
    generation: u64,
    /// What the journal held at open, until the committer has applied it.
    overlay: Option<Arc<Overlay>>,
}

impl Latest {
    pub fn get_or_begin(&self) -> StoreResult<Arc<RedbSnapshot>> {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(snapshot) = slot.snapshot.as_ref() {
            return Ok(snapshot.clone());
        }
        let Some(db) = slot.db.clone() else {
            return Err(StoreError::Unavailable(
                "the data file is being opened again".into(),
            ));
        };
        let generation = slot.generation;
        let overlay = slot.overlay.clone();
        let snapshot = Arc::new(guarded("starting a read", || {
            let txn = db.begin_read().map_err(StoreError::engine)?;
            txn.open_table(TABLE)
                .map(|table| RedbSnapshot {
                    table,
                    generation,
                    overlay,
                })
                .map_err(StoreError::engine)
        })?);
        slot.snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }

    pub fn new(db: Arc<Database>, overlay: Option<Overlay>) -> Latest {
        Latest(Mutex::new(LatestSlot {
            db: Some(db),
            snapshot: None,
            generation: 0,
            overlay: overlay.map(Arc::new),
        }))
    }

    /// Lets go of the database, so that it can be opened again (reads fail until `reopened`):
    /// the caller drops it, outside the lock.
    pub fn close(&self) -> Option<Arc<Database>> {
        let mut db = None;
        self.invalidate_and(|slot| db = slot.db.take());
        db
    }

    /// Whether reads can begin: false while the data file is opened again (or failed to be).
    pub fn is_open(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .db
            .is_some()
    }

    #[cfg(test)]
    pub fn database(&self) -> Option<Arc<Database>> {
        self.0.lock().unwrap().db.clone()
    }

    /// The database opened again, with what its journal holds beyond it.
    pub fn reopened(&self, db: Arc<Database>, overlay: Option<Overlay>) {
        self.invalidate_and(|slot| {
            slot.db = Some(db);
            slot.overlay = overlay.map(Arc::new);
        });
    }

    pub fn overlay(&self) -> Option<Arc<Overlay>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .overlay
            .clone()
    }

    /// After a commit: the next reader begins a snapshot that shows it.
    pub fn invalidate(&self) {
        self.invalidate_and(|_| {});
    }

    /// After the commit of the overlay: snapshots from now on read the table alone.
    pub fn overlay_applied(&self) {
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

impl Snapshot for RedbSnapshot {
    fn generation(&self) -> Option<u64> {
        Some(self.generation)
    }

    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        if let Some(decided) = self.overlay.as_ref().and_then(|o| o.get(key)) {
            return Ok(decided.map(<[u8]>::to_vec));
        }
        guarded("reading", || {
            Ok(self
                .table
                .get(key)
                .map_err(StoreError::engine)?
                .map(|v| v.value().to_vec()))
        })
    }

    fn range_with(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        descending: bool,
        copy: CopyFn,
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
}

impl RedbSnapshot {
    /// The table's own entries in a range, as `range_with` describes.
    fn table_range(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        descending: bool,
        copy: CopyFn,
    ) -> impl Iterator<Item = Entry> + Send + 'static {
        let range = guarded("reading", || {
            let bounds = (
                lower.as_ref().map(|k| k.as_slice()),
                upper.as_ref().map(|k| k.as_slice()),
            );
            self.table
                .range::<&[u8]>(bounds)
                .map_err(StoreError::engine)
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
                    .map_err(StoreError::engine)
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
pub fn guarded<T>(what: &str, f: impl FnOnce() -> StoreResult<T>) -> StoreResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        tracing::error!("the store's engine failed while {what}: the data file is damaged");
        Err(StoreError::Damaged(format!(
            "the engine failed while {what}"
        )))
    })
}
