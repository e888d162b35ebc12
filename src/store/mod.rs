//! Durable storage: one record per secret (metadata, tags, versions and labels) plus one sealed
//! value per version, over an `engine` (redb by default, or sled). Every change to a secret is
//! made under that secret's lock as one transaction (`txn`), committed durably before the
//! caller answers; concurrent changes share commits.
//!
//! Records are sealed like values (`sealing`), so bytes damaged on disk or moved to another key
//! are refused rather than served, and names aside, nothing about a secret is readable in the
//! data file. The layout of keys is in `keys`; ordered reads in `scan`; the format version and
//! which engine a data dir belongs to in `format`.

mod cache;
mod contents;
pub mod crypto;
mod engine;
pub mod error;
mod format;
mod keys;
mod scan;
mod sealing;
#[cfg(test)]
mod tests;
mod txn;

pub use engine::{EngineKind, Op};
pub use error::{StoreError, StoreResult};
pub use keys::{deprecated_id_hash, Hint, ListOrder};
pub use scan::{Cursor, Start};
pub use txn::SecretTxn;

use crate::error::ApiResult;
use crate::model::arn::SecretKey;
use crate::model::secret::{Secret, SecretValue, Version};
use contents::Contents;
use crypto::MasterKey;
use engine::Engine;
use keys::{hint_key, KEY_CHECK};
use sealing::Sealer;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Mutex;

const LOCK_STRIPES: usize = 256;
/// redb's page cache (its default is 1 GiB): bounds memory with many secrets.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Location {
    Dir(PathBuf),
    InMemory,
}

pub struct Store {
    contents: Contents,
    /// Striped per-secret locks: writers to one secret are serialised, others run in parallel.
    locks: Box<[Mutex<()>]>,
}

impl Store {
    /// Opens (or creates) the store.
    pub fn open(
        location: &Location,
        kind: &EngineKind,
        master_key: Option<MasterKey>,
    ) -> StoreResult<Store> {
        let (engine, master): (Arc<dyn Engine>, MasterKey) = match location {
            Location::InMemory => (
                open_engine(kind, None)?,
                master_key.unwrap_or_else(crypto::random_master_key),
            ),
            Location::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::CreateDir {
                    dir: dir.clone(),
                    detail: e.to_string(),
                })?;
                format::check_dir(dir, kind)?;
                let master = match master_key {
                    Some(key) => key,
                    None => {
                        crypto::load_or_create_master_key(dir).map_err(StoreError::MasterKey)?
                    }
                };
                (open_engine(kind, Some(dir))?, master)
            }
        };
        let store = Store {
            contents: Contents::new(engine, Sealer::new(master)),
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        };
        store.check_key_and_format()?;
        Ok(store)
    }

    /// Whether other secretsd processes share this store (a database): work that must happen
    /// once across them is leased.
    pub fn shared(&self) -> bool {
        self.contents.engine.shared()
    }

    /// Why the store serves only part of what it should (reads but no changes), if it does.
    pub fn degraded(&self) -> Option<String> {
        self.contents.engine.degraded()
    }

    /// Where the nodes sharing this store keep one audit trail.
    pub fn audit_table(&self) -> Option<Arc<dyn crate::audit::table::AuditTable>> {
        self.contents.engine.audit_table()
    }

    /// The test clock's offset as the store keeps it for every node that shares it.
    pub fn shared_clock_offset(&self) -> Arc<dyn crate::clock::SharedOffset> {
        Arc::new(SharedClockOffset(Arc::clone(&self.contents.engine)))
    }

    /// The server is ready: the store's deferred start-up work can run.
    pub fn serving(&self) {
        self.contents.engine.serving();
    }

    /// Refuses to serve with a key that cannot read this store, instead of failing on every
    /// read, or a layout this build does not know; marks a new store with both.
    fn check_key_and_format(&self) -> StoreResult<()> {
        let snapshot = self.contents.engine.read()?;
        let key_check = snapshot.get(KEY_CHECK)?;
        let version = format::read(&*snapshot)?;
        drop(snapshot);
        if let Some(sealed) = &key_check {
            self.contents.sealer.check_key(sealed)?;
        }
        let mut marks = Vec::new();
        if key_check.is_none() {
            marks.push(self.key_check());
        }
        if version.is_none() {
            marks.push(format::marker());
        }
        if marks.is_empty() {
            return Ok(());
        }
        self.contents.engine.apply_now(marks)
    }

    fn key_check(&self) -> Op {
        Op::Put(KEY_CHECK.to_vec(), self.contents.sealer.key_check())
    }

    /// The secret record, if there is one (readers never lock: changes are transactions).
    /// Shared with the record cache; a change takes its own copy (`SecretTxn`).
    pub fn get(&self, key: &SecretKey) -> ApiResult<Option<Arc<Secret>>> {
        self.contents.get(self.contents.latest(), key)
    }

    /// Decrypts one version's value (see `Contents::read_value`).
    pub fn read_value(&self, secret: &Secret, version: &Version) -> ApiResult<SecretValue> {
        self.contents
            .read_value(self.contents.latest(), secret, version)
    }

    /// Version `id` of `secret`: from its record, or among its deprecated versions kept apart.
    pub fn find_version(&self, secret: &Secret, id: &str) -> ApiResult<Option<Version>> {
        self.contents
            .find_version(self.contents.latest(), secret, id)
    }

    /// The deprecated versions of `secret` that its record does not hold, oldest first.
    pub fn deprecated_versions(&self, secret: &Secret) -> ApiResult<Vec<Version>> {
        self.contents.deprecated_versions(secret)
    }

    /// Hints that are due: (time, secret), oldest first, at most `limit`. A hint may be stale
    /// (see `keys`): check it against the record.
    pub fn due(&self, hint: Hint, now_ms: i64, limit: usize) -> ApiResult<Vec<(i64, SecretKey)>> {
        self.contents.due(hint, now_ms, limit)
    }

    /// The secrets of one partition in `order`, starting after `start`, all as of one commit.
    pub fn scan<'a>(
        &'a self,
        account: &str,
        region: &str,
        order: ListOrder,
        start: Start<'_>,
        descending: bool,
    ) -> Box<dyn Iterator<Item = ApiResult<(Cursor, Secret)>> + 'a> {
        self.contents
            .scan(account, region, order, start, descending)
    }

    /// Starts a change to one secret: takes its lock and reads its current record.
    pub async fn begin(&self, key: &SecretKey) -> ApiResult<SecretTxn<'_>> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let guard = self.locks[(hasher.finish() as usize) % LOCK_STRIPES]
            .lock()
            .await;
        // Other processes on a shared engine are held off too; the record is read after that,
        // and with it the values a change may move.
        let held = self
            .contents
            .engine
            .lock(&keys::record_key(key), &keys::values_prefix(key))
            .await?;
        let view = held
            .as_deref()
            .map_or(self.contents.latest(), contents::View::Locked);
        let original = self.contents.get(view, key)?.map(Arc::unwrap_or_clone);
        Ok(SecretTxn {
            contents: &self.contents,
            key: key.clone(),
            original,
            sealed: Vec::new(),
            taken: Vec::new(),
            held,
            _guard: guard,
        })
    }

    /// Drops a hint that no longer matches its record.
    pub async fn remove_hint(&self, hint: Hint, key: &SecretKey, at_ms: i64) -> ApiResult<()> {
        self.contents
            .engine
            .apply(vec![Op::Remove(hint_key(hint, key, at_ms))])
            .await?;
        Ok(())
    }

    /// Forgets everything (admin reset), keeping the master key.
    pub async fn reset(&self) -> ApiResult<()> {
        // Hold every stripe so no change is half-way through while the table is cleared.
        let mut guards = Vec::with_capacity(LOCK_STRIPES);
        for lock in self.locks.iter() {
            guards.push(lock.lock().await);
        }
        self.contents
            .engine
            .apply(vec![Op::Clear, self.key_check(), format::marker()])
            .await?;
        Ok(())
    }
}

fn open_engine(kind: &EngineKind, dir: Option<&std::path::Path>) -> StoreResult<Arc<dyn Engine>> {
    Ok(match (kind, dir) {
        (EngineKind::Postgres(url), _) => Arc::new(engine::postgres::Postgres::open(url)?),
        (EngineKind::Redb, Some(dir)) => Arc::new(engine::redb::Redb::open_dir(dir, CACHE_BYTES)?),
        (EngineKind::Redb, None) => Arc::new(engine::redb::Redb::open_in_memory(CACHE_BYTES)?),
        (EngineKind::Sled, dir) => Arc::new(engine::sled::Sled::open(dir)?),
    })
}

/// The test clock's offset in the store (absent: 0).
struct SharedClockOffset(Arc<dyn Engine>);

impl crate::clock::SharedOffset for SharedClockOffset {
    fn read(&self) -> Option<i64> {
        let bytes = self.0.read().ok()?.get(keys::CLOCK_OFFSET).ok()?;
        Some(
            bytes
                .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                .map_or(0, i64::from_be_bytes),
        )
    }

    fn write(&self, ms: i64) -> Result<(), String> {
        let put = Op::Put(keys::CLOCK_OFFSET.to_vec(), ms.to_be_bytes().to_vec());
        self.0.apply_now(vec![put]).map_err(|e| e.to_string())
    }
}
