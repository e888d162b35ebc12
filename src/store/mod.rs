//! Durable storage in sled. One record per secret (metadata, tags, versions and labels) plus one
//! sealed value per version. Every change to a secret is one atomic sled batch, applied under
//! that secret's lock and flushed before the caller answers (ARCHITECTURE invariants 2 and 3).
//!
//! Key layout (one tree; the first byte says what a key is):
//! - `S` account \0 region \0 name         → the secret record (JSON): listing is a prefix scan
//!   in name order, a lookup by name or ARN one read.
//! - `V` account \0 region \0 name \0 id    → a sealed value.
//! - `D` deletion time (8 bytes, big-endian) account \0 region \0 name → () : purge index in
//!   time order, so the sweeper reads only what is due and start-up scans nothing.
//! - `K`                                    → a sealed marker that proves the master key fits.

pub mod crypto;

use crate::error::{ApiError, ApiResult};
use crate::model::arn::SecretKey;
use crate::model::secret::{Secret, SecretValue, Version, DEFAULT_KMS_KEY};
use crypto::{Crypto, MasterKey};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use tokio::sync::{Mutex, MutexGuard};

const LOCK_STRIPES: usize = 256;
const KEY_CHECK: &[u8] = b"K";
const KEY_CHECK_PLAINTEXT: &[u8] = b"secretsd master key check";

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Location {
    Dir(PathBuf),
    InMemory,
}

pub struct Store {
    db: sled::Db,
    crypto: Crypto,
    /// Striped per-secret locks: writers to one secret are serialised, others run in parallel.
    locks: Box<[Mutex<()>]>,
    durable: bool,
}

fn secret_key_bytes(key: &SecretKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.account.len() + key.region.len() + key.name.len() + 2);
    out.extend_from_slice(key.account.as_bytes());
    out.push(0);
    out.extend_from_slice(key.region.as_bytes());
    out.push(0);
    out.extend_from_slice(key.name.as_bytes());
    out
}

fn record_key(key: &SecretKey) -> Vec<u8> {
    let mut out = vec![b'S'];
    out.extend(secret_key_bytes(key));
    out
}

fn value_key(key: &SecretKey, version_id: &str) -> Vec<u8> {
    let mut out = vec![b'V'];
    out.extend(secret_key_bytes(key));
    out.push(0);
    out.extend_from_slice(version_id.as_bytes());
    out
}

fn deletion_key(key: &SecretKey, at_ms: i64) -> Vec<u8> {
    let mut out = vec![b'D'];
    out.extend_from_slice(&(at_ms.max(0) as u64).to_be_bytes());
    out.extend(secret_key_bytes(key));
    out
}

fn parse_secret_key(bytes: &[u8]) -> Option<SecretKey> {
    let mut parts = bytes.splitn(3, |b| *b == 0);
    let account = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let region = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let name = String::from_utf8(parts.next()?.to_vec()).ok()?;
    Some(SecretKey {
        account,
        region,
        name,
    })
}

/// Associated data of a sealed value: its secret's ARN and its version id.
fn binding(secret: &Secret, version_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(secret.arn.len() + version_id.len() + 1);
    aad.extend_from_slice(secret.arn.as_bytes());
    aad.push(0);
    aad.extend_from_slice(version_id.as_bytes());
    aad
}

fn encode_value(value: &SecretValue) -> Vec<u8> {
    match value {
        SecretValue::String(s) => [b"s".as_slice(), s.as_bytes()].concat(),
        SecretValue::Binary(b) => [b"b".as_slice(), b.as_slice()].concat(),
    }
}

fn decode_value(mut bytes: Vec<u8>) -> Option<SecretValue> {
    if bytes.is_empty() {
        return None;
    }
    let kind = bytes.remove(0);
    match kind {
        b's' => String::from_utf8(bytes).ok().map(SecretValue::String),
        b'b' => Some(SecretValue::Binary(bytes)),
        _ => None,
    }
}

fn storage_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("storage: {e}"))
}

impl Store {
    /// Opens (or creates) the store. Errors are one readable line for the operator.
    pub fn open(location: &Location, master_key: Option<MasterKey>) -> Result<Store, String> {
        let (db, master, durable) = match location {
            Location::InMemory => {
                let db = sled::Config::new()
                    .temporary(true)
                    .open()
                    .map_err(|e| format!("cannot open in-memory store: {e}"))?;
                (
                    db,
                    master_key.unwrap_or_else(crypto::random_master_key),
                    false,
                )
            }
            Location::Dir(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
                let master = match master_key {
                    Some(key) => key,
                    None => crypto::load_or_create_master_key(dir)?,
                };
                let db = sled::Config::new()
                    .path(dir.join("db"))
                    .open()
                    .map_err(|e| format!("cannot open store in {}: {e}", dir.display()))?;
                (db, master, true)
            }
        };
        let store = Store {
            db,
            crypto: Crypto::new(master),
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            durable,
        };
        store.check_master_key()?;
        Ok(store)
    }

    /// Refuses to serve with a key that cannot read this store, instead of failing on every read.
    fn check_master_key(&self) -> Result<(), String> {
        match self.db.get(KEY_CHECK).map_err(|e| format!("cannot read store: {e}"))? {
            Some(sealed) => match self.crypto.open(DEFAULT_KMS_KEY, KEY_CHECK, &sealed) {
                Ok(plain) if plain == KEY_CHECK_PLAINTEXT => Ok(()),
                _ => Err("the master key does not match this data dir (was master.key replaced, or SECRETSD_MASTER_KEY changed?)".into()),
            },
            None => self.write_key_check().map_err(|e| format!("cannot write store: {e}")),
        }
    }

    fn write_key_check(&self) -> sled::Result<()> {
        let sealed = self
            .crypto
            .seal(DEFAULT_KMS_KEY, KEY_CHECK, KEY_CHECK_PLAINTEXT);
        self.db.insert(KEY_CHECK, sealed)?;
        self.db.flush()?;
        Ok(())
    }

    /// The secret record, if there is one (readers never lock: batches are atomic).
    pub fn get(&self, key: &SecretKey) -> ApiResult<Option<Secret>> {
        match self.db.get(record_key(key)).map_err(storage_error)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| ApiError::internal(format!("corrupt record for {}: {e}", key.name))),
            None => Ok(None),
        }
    }

    /// Decrypts one version's value.
    pub fn read_value(&self, secret: &Secret, version: &Version) -> ApiResult<SecretValue> {
        let sealed = self
            .db
            .get(value_key(&secret.key(), &version.id))
            .map_err(storage_error)?
            .ok_or_else(|| ApiError::internal(format!("value of {} is missing", secret.name)))?;
        let kms = version.kms_key_id.as_deref().unwrap_or(DEFAULT_KMS_KEY);
        self.crypto
            .open(kms, &binding(secret, &version.id), &sealed)
            .ok()
            .and_then(decode_value)
            .ok_or_else(|| {
                ApiError::new(
                    crate::error::ErrorCode::DecryptionFailure,
                    "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
                )
            })
    }

    /// Starts a change to one secret: takes its lock and reads its current record.
    pub async fn begin(&self, key: &SecretKey) -> ApiResult<SecretTxn<'_>> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let guard = self.locks[(hasher.finish() as usize) % LOCK_STRIPES]
            .lock()
            .await;
        let original = self.get(key)?;
        Ok(SecretTxn {
            store: self,
            key: key.clone(),
            original,
            sealed: Vec::new(),
            _guard: guard,
        })
    }

    /// Names of secrets whose deletion time has passed, oldest first (at most `limit`).
    pub fn due_deletions(&self, now_ms: i64, limit: usize) -> ApiResult<Vec<SecretKey>> {
        let end = deletion_key(
            &SecretKey {
                account: String::new(),
                region: String::new(),
                name: String::new(),
            },
            now_ms + 1,
        );
        let mut due = Vec::new();
        for item in self.db.range(b"D".to_vec()..end[..9].to_vec()).take(limit) {
            let (k, _) = item.map_err(storage_error)?;
            if let Some(key) = parse_secret_key(&k[9..]) {
                due.push(key);
            }
        }
        Ok(due)
    }

    /// Forgets everything (admin reset), keeping the master key.
    pub async fn reset(&self) -> ApiResult<()> {
        // Hold every stripe so no change is half-way through while the tree is cleared.
        let mut guards = Vec::with_capacity(LOCK_STRIPES);
        for lock in self.locks.iter() {
            guards.push(lock.lock().await);
        }
        self.db.clear().map_err(storage_error)?;
        self.write_key_check().map_err(storage_error)?;
        Ok(())
    }

    /// Forces everything written so far to disk.
    async fn flush(&self) -> ApiResult<()> {
        if self.durable {
            self.db.flush_async().await.map_err(storage_error)?;
        }
        Ok(())
    }
}

/// An open change to one secret. Nothing is visible until `commit`; dropping it abandons it.
pub struct SecretTxn<'a> {
    store: &'a Store,
    key: SecretKey,
    original: Option<Secret>,
    sealed: Vec<(String, Vec<u8>)>,
    _guard: MutexGuard<'a, ()>,
}

impl SecretTxn<'_> {
    /// The record as it was when the change began.
    pub fn current(&self) -> Option<&Secret> {
        self.original.as_ref()
    }

    pub fn read_value(&self, secret: &Secret, version: &Version) -> ApiResult<SecretValue> {
        self.store.read_value(secret, version)
    }

    /// Seals `value` as the value of `version_id` of `secret`, to be written on commit.
    pub fn put_value(&mut self, secret: &Secret, version_id: &str, value: &SecretValue) {
        let kms = secret.kms_key_id.as_deref().unwrap_or(DEFAULT_KMS_KEY);
        let sealed =
            self.store
                .crypto
                .seal(kms, &binding(secret, version_id), &encode_value(value));
        self.sealed.push((version_id.to_string(), sealed));
    }

    fn batch(&self, new: Option<&Secret>) -> ApiResult<sled::Batch> {
        let mut batch = sled::Batch::default();
        let key = &self.key;
        let kept: Vec<&str> = new
            .map(|s| s.versions.iter().map(|v| v.id.as_str()).collect())
            .unwrap_or_default();
        if let Some(old) = &self.original {
            // Values of versions that are gone (pruned, or the whole secret deleted).
            for v in &old.versions {
                if !kept.contains(&v.id.as_str()) {
                    batch.remove(value_key(key, &v.id));
                }
            }
            if let Some(at) = old.deleted_ms {
                batch.remove(deletion_key(key, at));
            }
        }
        match new {
            Some(secret) => {
                let record = serde_json::to_vec(secret).map_err(storage_error)?;
                batch.insert(record_key(key), record);
                if let Some(at) = secret.deleted_ms {
                    batch.insert(deletion_key(key, at), b"".to_vec());
                }
            }
            None => batch.remove(record_key(key)),
        }
        for (version_id, sealed) in &self.sealed {
            batch.insert(value_key(key, version_id), sealed.clone());
        }
        Ok(batch)
    }

    /// Applies the change atomically and waits until it is on disk. `None` deletes the secret
    /// and all its values.
    pub async fn commit(self, new: Option<&Secret>) -> ApiResult<()> {
        let batch = self.batch(new)?;
        self.store.db.apply_batch(batch).map_err(storage_error)?;
        self.store.flush().await
    }

    /// Applies the change without waiting for the disk: only for bookkeeping that may be lost in
    /// a crash without breaking a promise to a client (the day of the last read).
    pub fn commit_unflushed(self, new: &Secret) -> ApiResult<()> {
        let batch = self.batch(Some(new))?;
        self.store.db.apply_batch(batch).map_err(storage_error)
    }
}
