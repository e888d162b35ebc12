//! Durable storage: one record per secret (metadata, tags, versions and labels) plus one sealed
//! value per version, in the key-value engine of `engine` (redb). Every change to a secret is
//! made under that secret's lock as one transaction, committed (fsynced) before the caller
//! answers; concurrent changes share commits.
//!
//! Records are sealed like values (AES-256-GCM, bound to their key), so bytes damaged on disk
//! or moved to another key are refused rather than served, and names aside, nothing about a
//! secret is readable in the data file.
//!
//! Key layout (one table; the first byte says what a key is):
//! - `S` account \0 region \0 name         → the sealed secret record (JSON): listing is a prefix
//!   scan in name order, a lookup by name or ARN one read.
//! - `S` account \0 region \0 name \0 id    → the sealed value of a labelled version, right
//!   after its secret's record, so a put changes one leaf of the tree, not two (names never
//!   hold \0, so no other record falls among them). Name-order scans step over them. Stores
//!   written before this layout kept values under `V`; opening moves them.
//! - `P` created (8 bytes, big-endian) account \0 region \0 name \0 id → a deprecated version:
//!   its sealed metadata and its sealed value (`apart_entry`). The record holds the labelled
//!   versions and, for each deprecated one, its creation time and a 16-bit hash of its id. So a
//!   put costs what the labels weigh, not what up to a hundred versions of history weigh; the
//!   `S` range stays as dense as the secrets are many (a leaf is shared by more puts, and a
//!   checkpoint writes fewer pages); and versions set apart land at the end of one
//!   time-ordered range, not on a leaf of their own. A version without a value (a rotation
//!   placeholder) that loses its last label is dropped, not kept apart.
//! - `D` deletion time (8 bytes, big-endian) account \0 region \0 name → () : purge index in
//!   time order, so the sweeper reads only what is due and start-up scans nothing.
//! - `R` due time (8 bytes, big-endian) account \0 region \0 name → () : the rotation scheduler's
//!   index, like `D`.
//! - `C` / `L` / `A` account \0 region \0 date (8 bytes, big-endian) name → () : ListSecrets'
//!   orders by creation, last change and last access, so a page costs what it returns, not what
//!   the partition holds.
//! - `K`                                    → a sealed marker that proves the master key fits.
//!
//! Index and hint entries are written in the same transaction as their record, but readers
//! still check them against the record (the record is the truth), so a hint that outlived its
//! purpose costs a lookup, never a wrong answer.

mod cache;
pub mod crypto;
mod data_file;
mod engine;
mod journal;
mod op;
mod overlay;

use crate::error::{ApiError, ApiResult};
use crate::model::arn::SecretKey;
use crate::model::secret::{Secret, SecretValue, Version, DEFAULT_KMS_KEY};
use crate::model::stages;
use cache::RecordCache;
use crypto::{Crypto, MasterKey};
use engine::Engine;
use op::Op;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{Mutex, MutexGuard};

const LOCK_STRIPES: usize = 256;
/// The engine's page cache (redb's default is 1 GiB): bounds memory with many secrets.
const CACHE_BYTES: usize = 32 * 1024 * 1024;
const KEY_CHECK: &[u8] = b"K";
const KEY_CHECK_PLAINTEXT: &[u8] = b"secretsd master key check";

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Location {
    Dir(PathBuf),
    InMemory,
}

pub struct Store {
    engine: Engine,
    crypto: Crypto,
    /// Striped per-secret locks: writers to one secret are serialised, others run in parallel.
    locks: Box<[Mutex<()>]>,
    records: RecordCache,
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
    let mut out = record_key(key);
    out.push(0);
    out.extend_from_slice(version_id.as_bytes());
    out
}

/// Where a value key's record key ends (the \0 after the name), if `key` is a value key.
fn value_key_split(key: &[u8]) -> Option<usize> {
    // Tag, then account \0 region \0 name: a third \0 starts the version id.
    key.iter()
        .enumerate()
        .filter(|(_, b)| **b == 0)
        .nth(2)
        .map(|(i, _)| i)
}

/// The tag of deprecated versions kept apart from their record.
const APART_TAG: u8 = b'P';

/// `P` created account \0 region \0 name \0: the start of the deprecated versions of one
/// secret created in one millisecond (usually one).
fn apart_prefix(key: &SecretKey, created_ms: i64) -> Vec<u8> {
    let mut out = vec![APART_TAG];
    out.extend_from_slice(&(created_ms.max(0) as u64).to_be_bytes());
    out.extend(secret_key_bytes(key));
    out.push(0);
    out
}

fn apart_key(key: &SecretKey, version: &Version) -> Vec<u8> {
    let mut out = apart_prefix(key, version.created_ms);
    out.extend_from_slice(version.id.as_bytes());
    out
}

/// The distinct creation times of a record's deprecated versions, oldest first.
fn apart_times(secret: &Secret) -> Vec<i64> {
    let mut times: Vec<i64> = secret.deprecated.iter().map(|(at, _)| *at).collect();
    times.sort_unstable();
    times.dedup();
    times
}

/// A deprecated version's entry: metadata length (4 bytes, big-endian), sealed metadata, sealed
/// value. Scans that need the metadata copy only its head.
fn apart_entry(sealed_meta: &[u8], sealed_value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + sealed_meta.len() + sealed_value.len());
    out.extend_from_slice(&(sealed_meta.len() as u32).to_be_bytes());
    out.extend_from_slice(sealed_meta);
    out.extend_from_slice(sealed_value);
    out
}

/// (sealed metadata, sealed value) of an `apart_entry`, if it is one.
fn split_apart_entry(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(entry.get(..4)?.try_into().ok()?) as usize;
    let meta = entry.get(4..4usize.checked_add(len)?)?;
    Some((meta, &entry[4 + len..]))
}

/// The 16-bit hash a record keeps of each deprecated id (FNV-1a, folded): fixed here, because
/// records outlive builds.
pub fn deprecated_id_hash(id: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    (h ^ (h >> 16)) as u16
}

/// The value-key prefix of stores written before values moved next to their records.
const LEGACY_VALUE_TAG: u8 = b'V';

/// A time-ordered hint: `tag` time (8 bytes, big-endian) account \0 region \0 name.
fn hint_key(tag: Hint, key: &SecretKey, at_ms: i64) -> Vec<u8> {
    let mut out = vec![tag as u8];
    out.extend_from_slice(&(at_ms.max(0) as u64).to_be_bytes());
    out.extend(secret_key_bytes(key));
    out
}

/// Time-ordered indexes that let background work find what is due without scanning secrets.
/// Each is a hint: the record says whether it still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// The end of a recovery window (`Secret::deleted_ms`).
    Deletion = b'D' as isize,
    /// The scheduler's next action on a secret (`Secret::rotation_due_ms`).
    Rotation = b'R' as isize,
}

impl Hint {
    fn time_of(self, secret: &Secret) -> Option<i64> {
        match self {
            Hint::Deletion => secret.deleted_ms,
            Hint::Rotation => secret.rotation_due_ms,
        }
    }
}

/// `account \0 region \0`: the start of every key of one partition.
fn partition_bytes(account: &str, region: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(account.len() + region.len() + 2);
    out.extend_from_slice(account.as_bytes());
    out.push(0);
    out.extend_from_slice(region.as_bytes());
    out.push(0);
    out
}

/// The order of a listing. Each but `Name` is kept by an index of its own:
/// tag, account \0 region \0, the date (8 bytes, big-endian), name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    Name,
    Created,
    LastChanged,
    LastAccessed,
}

impl ListOrder {
    const INDEXED: [ListOrder; 3] = [
        ListOrder::Created,
        ListOrder::LastChanged,
        ListOrder::LastAccessed,
    ];

    fn tag(self) -> u8 {
        match self {
            ListOrder::Name => b'S',
            ListOrder::Created => b'C',
            ListOrder::LastChanged => b'L',
            ListOrder::LastAccessed => b'A',
        }
    }

    /// The date this order sorts by (never-read secrets sort as read at 0).
    pub fn date_of(self, secret: &Secret) -> i64 {
        match self {
            ListOrder::Name => 0,
            ListOrder::Created => secret.created_ms,
            ListOrder::LastChanged => secret.last_changed_ms,
            ListOrder::LastAccessed => secret.last_accessed_ms.unwrap_or(0),
        }
    }

    fn index_key(self, key: &SecretKey, date_ms: i64) -> Vec<u8> {
        let mut out = vec![self.tag()];
        out.extend(partition_bytes(&key.account, &key.region));
        out.extend_from_slice(&(date_ms.max(0) as u64).to_be_bytes());
        out.extend_from_slice(key.name.as_bytes());
        out
    }
}

/// Where a scan starts.
#[derive(Debug, Clone, Copy)]
pub enum Start<'a> {
    Beginning,
    /// Just after this secret (the last of the previous page).
    After(&'a Cursor),
    /// At the first name not less than this one (name order only).
    AtName(&'a str),
}

/// A position in a listing: the last secret of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The date the listing is ordered by (0 in name order).
    pub date_ms: i64,
    pub name: String,
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

/// The record entries between `lower` and `upper`. A secret's values lie between records: the
/// scan steps over the first few (cheaper than a new search of the tree for every secret) and
/// seeks past the rest (a secret may hold a hundred 64 KiB versions).
fn records_only(
    snapshot: std::sync::Arc<engine::Snapshot>,
    mut lower: std::ops::Bound<Vec<u8>>,
    mut upper: std::ops::Bound<Vec<u8>>,
    descending: bool,
) -> impl Iterator<Item = op::Entry> {
    use std::ops::Bound;
    let copy_records = |k: &[u8], v: &[u8]| match value_key_split(k) {
        None => v.to_vec(),
        Some(_) => Vec::new(), // stepped over: not copied
    };
    const STEP_OVER: usize = 2;
    let mut entries = snapshot.range_with(lower.clone(), upper.clone(), descending, copy_records);
    let mut stepped_over = 0;
    std::iter::from_fn(move || loop {
        let (k, v) = match entries.next()? {
            Ok(kv) => kv,
            Err(e) => return Some(Err(e)),
        };
        let Some(split) = value_key_split(&k) else {
            stepped_over = 0;
            return Some(Ok((k, v)));
        };
        if stepped_over < STEP_OVER {
            stepped_over += 1;
            continue;
        }
        stepped_over = 0;
        let record = &k[..split];
        if descending {
            upper = Bound::Included(record.to_vec()); // the record comes next
        } else {
            let mut past_values = record.to_vec();
            past_values.push(1); // after every `record \0 …`, before any longer name
            lower = Bound::Included(past_values);
        }
        entries = snapshot.range_with(lower.clone(), upper.clone(), descending, copy_records);
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

/// A data dir that secretsd 0.1's sled store wrote: it is refused with a way out, not mistaken
/// for an empty store.
fn refuse_sled_layout(dir: &std::path::Path) -> Result<(), String> {
    if dir.join("db").join("conf").exists() {
        return Err(format!(
            "{} holds a store in the old sled format, which this secretsd does not read; start with an empty data dir (the old one can be moved aside)",
            dir.display()
        ));
    }
    Ok(())
}

impl Store {
    /// Opens (or creates) the store. Errors are one readable line for the operator.
    pub fn open(location: &Location, master_key: Option<MasterKey>) -> Result<Store, String> {
        let (engine, master) = match location {
            Location::InMemory => (
                Engine::open_in_memory(CACHE_BYTES)?,
                master_key.unwrap_or_else(crypto::random_master_key),
            ),
            Location::Dir(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
                refuse_sled_layout(dir)?;
                let master = match master_key {
                    Some(key) => key,
                    None => crypto::load_or_create_master_key(dir)?,
                };
                (Engine::open_dir(dir, CACHE_BYTES)?, master)
            }
        };
        let store = Store {
            engine,
            crypto: Crypto::new(master),
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            records: RecordCache::default(),
        };
        store.check_master_key()?;
        store.move_legacy_values()?;
        Ok(store)
    }

    /// The server is ready: the store's deferred start-up work can run.
    pub fn serving(&self) {
        self.engine.serving();
    }

    /// Refuses to serve with a key that cannot read this store, instead of failing on every read.
    fn check_master_key(&self) -> Result<(), String> {
        match self
            .engine
            .get(KEY_CHECK)
            .map_err(|e| format!("cannot read store: {e}"))?
        {
            Some(sealed) => match self.crypto.open(DEFAULT_KMS_KEY, KEY_CHECK, &sealed) {
                Ok(plain) if plain == KEY_CHECK_PLAINTEXT => Ok(()),
                _ => Err("the master key does not match this data dir (was master.key replaced, or SECRETSD_MASTER_KEY changed?)".into()),
            },
            None => self
                .engine
                .apply_now(vec![self.key_check()])
                .map_err(|e| format!("cannot write store: {e}")),
        }
    }

    /// Moves the values of a store written before values sat next to their records, in one
    /// change: a crash leaves one layout or the other, never half of each.
    fn move_legacy_values(&self) -> Result<(), String> {
        use std::ops::Bound;
        let fail = |e: String| format!("cannot move values to the new layout: {e}");
        let snapshot = self.engine.read().map_err(fail)?;
        let mut ops = Vec::new();
        for item in snapshot.range(
            Bound::Included(vec![LEGACY_VALUE_TAG]),
            Bound::Excluded(vec![LEGACY_VALUE_TAG + 1]),
            false,
        ) {
            let (key, sealed) = item.map_err(fail)?;
            let mut moved = key.clone();
            moved[0] = b'S';
            ops.push(Op::Put(moved, sealed));
            ops.push(Op::Remove(key));
        }
        drop(snapshot);
        if ops.is_empty() {
            return Ok(());
        }
        tracing::info!(
            values = ops.len() / 2,
            "moving values next to their records"
        );
        self.engine.apply_now(ops).map_err(fail)
    }

    fn key_check(&self) -> Op {
        let sealed = self
            .crypto
            .seal(DEFAULT_KMS_KEY, KEY_CHECK, KEY_CHECK_PLAINTEXT);
        Op::Put(KEY_CHECK.to_vec(), sealed)
    }

    fn seal_record(&self, key: &[u8], secret: &Secret) -> ApiResult<Vec<u8>> {
        let json = serde_json::to_vec(secret).map_err(storage_error)?;
        Ok(self.crypto.seal(DEFAULT_KMS_KEY, key, &json))
    }

    fn open_record(&self, key: &[u8], sealed: &[u8]) -> ApiResult<Secret> {
        let corrupt = |why: &dyn std::fmt::Display| {
            ApiError::internal(format!(
                "the store is damaged: the record under {} cannot be read ({why})",
                String::from_utf8_lossy(&key[1..]).replace('\0', "/")
            ))
        };
        let json = self
            .crypto
            .open(DEFAULT_KMS_KEY, key, sealed)
            .map_err(|_| corrupt(&"it does not decrypt"))?;
        serde_json::from_slice(&json).map_err(|e| corrupt(&e))
    }

    fn seal_version(&self, key: &[u8], version: &Version) -> ApiResult<Vec<u8>> {
        let json = serde_json::to_vec(version).map_err(storage_error)?;
        Ok(self.crypto.seal(DEFAULT_KMS_KEY, key, &json))
    }

    /// The deprecated versions of `key` created at `created_ms` and kept apart (usually one),
    /// as `snapshot` shows them, without their values.
    fn apart_at(
        &self,
        snapshot: &engine::Snapshot,
        key: &SecretKey,
        created_ms: i64,
    ) -> ApiResult<Vec<Version>> {
        use std::ops::Bound;
        let prefix = apart_prefix(key, created_ms);
        let mut end = prefix.clone();
        if let Some(last) = end.last_mut() {
            *last = 1; // the prefix ends in \0
        }
        let meta_only = |_: &[u8], entry: &[u8]| {
            split_apart_entry(entry).map_or_else(Vec::new, |(meta, _)| meta.to_vec())
        };
        snapshot
            .range_with(
                Bound::Included(prefix),
                Bound::Excluded(end),
                false,
                meta_only,
            )
            .map(|item| {
                let (k, sealed) = item.map_err(storage_error)?;
                self.open_version(&k, &sealed, key)
            })
            .collect()
    }

    fn open_version(&self, k: &[u8], sealed: &[u8], key: &SecretKey) -> ApiResult<Version> {
        self.crypto
            .open(DEFAULT_KMS_KEY, k, sealed)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "the store is damaged: a deprecated version of {} cannot be read",
                    key.name
                ))
            })
    }

    /// The deprecated versions of `secret` that its record does not hold, oldest first.
    pub fn deprecated_versions(&self, secret: &Secret) -> ApiResult<Vec<Version>> {
        if secret.deprecated.is_empty() {
            return Ok(Vec::new());
        }
        let key = secret.key();
        let snapshot = self.engine.read().map_err(storage_error)?;
        let mut out = Vec::with_capacity(secret.deprecated.len());
        for at in apart_times(secret) {
            out.extend(self.apart_at(&snapshot, &key, at)?);
        }
        Ok(out)
    }

    /// Version `id` of `secret`: from its record, or among its deprecated versions kept apart.
    pub fn find_version(&self, secret: &Secret, id: &str) -> ApiResult<Option<Version>> {
        if let Some(version) = secret.version(id) {
            return Ok(Some(version.clone()));
        }
        // The record's hashes answer most lookups (every put's token) without a read.
        let hash = deprecated_id_hash(id);
        let mut candidates = secret.deprecated.iter().filter(|(_, h)| *h == hash);
        let Some(first) = candidates.next() else {
            return Ok(None);
        };
        let key = secret.key();
        let snapshot = self.engine.read().map_err(storage_error)?;
        for (at, _) in std::iter::once(first).chain(candidates) {
            let mut k = apart_prefix(&key, *at);
            k.extend_from_slice(id.as_bytes());
            if let Some(entry) = snapshot.get(&k).map_err(storage_error)? {
                let (meta, _) = split_apart_entry(&entry).unwrap_or_default();
                return self.open_version(&k, meta, &key).map(Some);
            }
        }
        Ok(None)
    }

    /// The sealed value of `version`, where its labels say it lives (a deprecated one apart,
    /// or still beside the record in stores written before versions were kept apart).
    fn sealed_value(
        &self,
        snapshot: &engine::Snapshot,
        key: &SecretKey,
        version: &Version,
    ) -> ApiResult<Option<Vec<u8>>> {
        if version.is_deprecated() {
            if let Some(entry) = snapshot
                .get(&apart_key(key, version))
                .map_err(storage_error)?
            {
                return Ok(split_apart_entry(&entry).map(|(_, value)| value.to_vec()));
            }
        }
        snapshot
            .get(&value_key(key, &version.id))
            .map_err(storage_error)
    }

    /// The secret record, if there is one (readers never lock: changes are transactions).
    /// Shared with the record cache; a change takes its own copy (`SecretTxn`).
    pub fn get(&self, key: &SecretKey) -> ApiResult<Option<Arc<Secret>>> {
        if key.name.contains('\0') {
            return Ok(None); // no secret has such a name, and its key would be a value's
        }
        let record_key = record_key(key);
        let snapshot = self.engine.read().map_err(storage_error)?;
        if let Some(secret) = self.records.get(snapshot.generation(), &record_key) {
            return Ok(Some(secret));
        }
        match snapshot.get(&record_key).map_err(storage_error)? {
            Some(sealed) => {
                let secret = Arc::new(self.open_record(&record_key, &sealed)?);
                self.records
                    .insert(snapshot.generation(), &record_key, &secret);
                Ok(Some(secret))
            }
            None => Ok(None),
        }
    }

    /// Decrypts one version's value. `secret` may be older than the latest commit: a value
    /// that a later commit moved (its version deprecated or labelled again) is read where it
    /// went; one it removed (version pruned, or secret deleted) is answered as the read would be
    /// after that commit, not as damage.
    pub fn read_value(&self, secret: &Secret, version: &Version) -> ApiResult<SecretValue> {
        let key = secret.key();
        let snapshot = self.engine.read().map_err(storage_error)?;
        if let Some(sealed) = self.sealed_value(&snapshot, &key, version)? {
            return self.decrypt(secret, version, &sealed);
        }
        drop(snapshot);
        let Some(now) = self.get(&key)? else {
            return Err(ApiError::secret_not_found());
        };
        let Some(moved) = self
            .find_version(&now, &version.id)?
            .filter(|v| v.has_value)
        else {
            return Err(ApiError::new(
                crate::error::ErrorCode::ResourceNotFound,
                crate::error::messages::version_id_not_found(&version.id),
            ));
        };
        let snapshot = self.engine.read().map_err(storage_error)?;
        match self.sealed_value(&snapshot, &key, &moved)? {
            Some(sealed) => self.decrypt(&now, &moved, &sealed),
            None => Err(ApiError::internal(format!(
                "value of {} is missing",
                secret.name
            ))),
        }
    }

    fn decrypt(&self, secret: &Secret, version: &Version, sealed: &[u8]) -> ApiResult<SecretValue> {
        let kms = version.kms_key_id.as_deref().unwrap_or(DEFAULT_KMS_KEY);
        self.crypto
            .open(kms, &binding(secret, &version.id), sealed)
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
        let original = self.get(key)?.map(Arc::unwrap_or_clone);
        Ok(SecretTxn {
            store: self,
            key: key.clone(),
            original,
            sealed: Vec::new(),
            taken: Vec::new(),
            _guard: guard,
        })
    }

    /// Hints that are due: (time, secret), oldest first, at most `limit`. A hint may be stale
    /// (see the module docs): check it against the record.
    pub fn due(&self, hint: Hint, now_ms: i64, limit: usize) -> ApiResult<Vec<(i64, SecretKey)>> {
        use std::ops::Bound;
        let end = hint_key(
            hint,
            &SecretKey {
                account: String::new(),
                region: String::new(),
                name: String::new(),
            },
            now_ms + 1,
        );
        let snapshot = self.engine.read().map_err(storage_error)?;
        let mut due = Vec::new();
        for item in snapshot
            .range(
                Bound::Included(vec![hint as u8]),
                Bound::Excluded(end[..9].to_vec()),
                false,
            )
            .take(limit)
        {
            let (k, _) = item.map_err(storage_error)?;
            let mut at = [0u8; 8];
            at.copy_from_slice(&k[1..9]);
            if let Some(key) = parse_secret_key(&k[9..]) {
                due.push((u64::from_be_bytes(at) as i64, key));
            }
        }
        Ok(due)
    }

    /// The secrets of one partition in `order`, starting after `after`, all as of one commit.
    /// Index entries whose record has moved on are skipped (the record is the truth).
    pub fn scan<'a>(
        &'a self,
        account: &str,
        region: &str,
        order: ListOrder,
        start: Start<'_>,
        descending: bool,
    ) -> Box<dyn Iterator<Item = ApiResult<(Cursor, Secret)>> + 'a> {
        use std::ops::Bound;
        let mut prefix = vec![order.tag()];
        prefix.extend(partition_bytes(account, region));
        let mut end = prefix.clone();
        if let Some(last) = end.last_mut() {
            *last = 1; // the partition prefix ends in \0: \1 bounds it
        }
        let key_of = |date_ms: i64, name: &str| {
            let mut k = prefix.clone();
            if order != ListOrder::Name {
                k.extend_from_slice(&(date_ms.max(0) as u64).to_be_bytes());
            }
            k.extend_from_slice(name.as_bytes());
            k
        };
        let (lower, upper) = match (start, descending) {
            (Start::After(c), false) => (
                Bound::Excluded(key_of(c.date_ms, &c.name)),
                Bound::Excluded(end),
            ),
            (Start::After(c), true) => (
                Bound::Included(prefix.clone()),
                Bound::Excluded(key_of(c.date_ms, &c.name)),
            ),
            (Start::AtName(name), false) => {
                (Bound::Included(key_of(0, name)), Bound::Excluded(end))
            }
            (Start::AtName(name), true) => (
                Bound::Included(prefix.clone()),
                Bound::Included(key_of(0, name)),
            ),
            (Start::Beginning, _) => (Bound::Included(prefix.clone()), Bound::Excluded(end)),
        };
        let snapshot = match self.engine.read() {
            Ok(snapshot) => snapshot,
            Err(e) => return Box::new(std::iter::once(Err(storage_error(e)))),
        };
        let entries: Box<dyn Iterator<Item = op::Entry>> = if order == ListOrder::Name {
            Box::new(records_only(snapshot.clone(), lower, upper, descending))
        } else {
            Box::new(snapshot.range(lower, upper, descending))
        };
        let partition = (account.to_string(), region.to_string());
        let prefix_len = prefix.len();
        Box::new(entries.filter_map(move |item| {
            let (k, v) = match item {
                Ok(kv) => kv,
                Err(e) => return Some(Err(storage_error(e))),
            };
            let rest = &k[prefix_len..];
            match order {
                ListOrder::Name => {
                    let secret = match self.open_record(&k, &v) {
                        Ok(secret) => secret,
                        Err(e) => return Some(Err(e)),
                    };
                    let cursor = Cursor {
                        date_ms: 0,
                        name: secret.name.clone(),
                    };
                    Some(Ok((cursor, secret)))
                }
                ListOrder::Created | ListOrder::LastChanged | ListOrder::LastAccessed => {
                    if rest.len() < 8 {
                        return None;
                    }
                    let mut at = [0u8; 8];
                    at.copy_from_slice(&rest[..8]);
                    let date_ms = u64::from_be_bytes(at) as i64;
                    let name = String::from_utf8(rest[8..].to_vec()).ok()?;
                    let record_key = record_key(&SecretKey {
                        account: partition.0.clone(),
                        region: partition.1.clone(),
                        name: name.clone(),
                    });
                    let record = match snapshot.get(&record_key) {
                        Ok(record) => record?,
                        Err(e) => return Some(Err(storage_error(e))),
                    };
                    match self.open_record(&record_key, &record) {
                        Ok(secret) if order.date_of(&secret) == date_ms => {
                            Some(Ok((Cursor { date_ms, name }, secret)))
                        }
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    }
                }
            }
        }))
    }

    /// Drops a hint that no longer matches its record.
    pub async fn remove_hint(&self, hint: Hint, key: &SecretKey, at_ms: i64) -> ApiResult<()> {
        self.engine
            .apply(vec![Op::Remove(hint_key(hint, key, at_ms))])
            .await
            .map_err(storage_error)
    }

    /// Forgets everything (admin reset), keeping the master key.
    pub async fn reset(&self) -> ApiResult<()> {
        // Hold every stripe so no change is half-way through while the table is cleared.
        let mut guards = Vec::with_capacity(LOCK_STRIPES);
        for lock in self.locks.iter() {
            guards.push(lock.lock().await);
        }
        self.engine
            .apply(vec![Op::Clear, self.key_check()])
            .await
            .map_err(storage_error)
    }
}

/// Prune's view of the deprecated versions kept apart: taking one moves it into the change.
impl stages::KeptApart for SecretTxn<'_> {
    fn count(&self) -> usize {
        let apart = self.original.as_ref().map_or(0, |s| s.deprecated.len());
        apart.saturating_sub(self.taken.len())
    }

    fn take_oldest(&mut self) -> ApiResult<Option<Version>> {
        let Some(original) = self
            .original
            .as_ref()
            .filter(|_| stages::KeptApart::count(self) > 0)
        else {
            return Ok(None);
        };
        let snapshot = self.store.engine.read().map_err(storage_error)?;
        for at in apart_times(original) {
            for version in self.store.apart_at(&snapshot, &self.key, at)? {
                if !self.taken.iter().any(|v| v.id == version.id) {
                    self.taken.push(version.clone());
                    return Ok(Some(version));
                }
            }
        }
        Ok(None)
    }
}

/// An open change to one secret. Nothing is visible until `commit`; dropping it abandons it.
pub struct SecretTxn<'a> {
    store: &'a Store,
    key: SecretKey,
    original: Option<Secret>,
    sealed: Vec<(String, Vec<u8>)>,
    /// Deprecated versions taken from where they are kept apart into the working record: the
    /// commit writes them back apart, or removes them.
    taken: Vec<Version>,
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

    /// Version `id` of `secret`, in its record or kept apart. One kept apart is moved into
    /// `secret.versions`, where it can be relabelled or touched like any other.
    pub fn version<'s>(
        &mut self,
        secret: &'s mut Secret,
        id: &str,
    ) -> ApiResult<Option<&'s mut Version>> {
        if secret.version(id).is_none() && !self.taken.iter().any(|v| v.id == id) {
            if let Some(found) = self.store.find_version(secret, id)? {
                self.taken.push(found.clone());
                secret.versions.push(found);
            }
        }
        Ok(secret.version_mut(id))
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

    /// The change as engine operations: values, index entries and hints, record, garbage.
    fn ops(&self, new: Option<&Secret>) -> ApiResult<Vec<Op>> {
        let key = &self.key;
        // Values go beside the record, except those of versions kept apart (`set_apart`).
        let mut ops: Vec<Op> = self
            .sealed
            .iter()
            .filter(|(id, _)| {
                new.and_then(|s| s.version(id))
                    .is_none_or(|v| !v.is_deprecated())
            })
            .map(|(version_id, sealed)| Op::Put(value_key(key, version_id), sealed.clone()))
            .collect();
        let index_keys = |secret: Option<&Secret>| -> Vec<Option<Vec<u8>>> {
            ListOrder::INDEXED
                .iter()
                .map(|o| secret.map(|s| o.index_key(key, o.date_of(s))))
                .collect()
        };
        let old_index = index_keys(self.original.as_ref());
        let new_index = index_keys(new);
        for (old, new) in old_index.into_iter().zip(new_index) {
            if old != new {
                ops.extend(old.map(Op::Remove));
                ops.extend(new.map(|k| Op::Put(k, Vec::new())));
            }
        }
        for hint in [Hint::Deletion, Hint::Rotation] {
            let old = self.original.as_ref().and_then(|s| hint.time_of(s));
            let current = new.and_then(|s| hint.time_of(s));
            if old != current {
                ops.extend(old.map(|at| Op::Remove(hint_key(hint, key, at))));
                ops.extend(current.map(|at| Op::Put(hint_key(hint, key, at), Vec::new())));
            }
        }
        let record_key = record_key(key);
        match new {
            Some(secret) => {
                let record = self.set_apart(secret, &mut ops)?;
                let sealed = self.store.seal_record(&record_key, &record)?;
                ops.push(Op::Put(record_key, sealed));
            }
            // Every value of the secret, including any orphan left behind.
            None => {
                ops.push(Op::Remove(record_key));
                ops.push(Op::RemovePrefix(value_key(key, "")));
                for at in self.original.iter().flat_map(apart_times) {
                    ops.push(Op::RemovePrefix(apart_prefix(key, at)));
                }
            }
        }
        Ok(ops)
    }

    /// The record to store for `secret`: its labelled versions, while the deprecated ones are
    /// written apart with their values (those without a value are dropped). A version kept
    /// apart that is labelled again moves back. Versions that left `secret` since the change
    /// began are removed with their values.
    fn set_apart(&self, secret: &Secret, ops: &mut Vec<Op>) -> ApiResult<Secret> {
        let key = &self.key;
        let snapshot = self.store.engine.read().map_err(storage_error)?;
        let apart_value = |version: &Version| -> ApiResult<Option<Vec<u8>>> {
            Ok(snapshot
                .get(&apart_key(key, version))
                .map_err(storage_error)?
                .and_then(|entry| split_apart_entry(&entry).map(|(_, value)| value.to_vec())))
        };
        let mut apart = self
            .original
            .as_ref()
            .map(|s| s.deprecated.clone())
            .unwrap_or_default();
        for version in &self.taken {
            let entry = (version.created_ms, deprecated_id_hash(&version.id));
            if let Some(i) = apart.iter().position(|e| *e == entry) {
                apart.swap_remove(i);
            }
        }
        let is_taken = |id: &str| self.taken.iter().find(|v| v.id == id);
        let (deprecated, labelled): (Vec<&Version>, Vec<&Version>) =
            secret.versions.iter().partition(|v| v.is_deprecated());
        let deprecated: Vec<&Version> = deprecated.into_iter().filter(|v| v.has_value).collect();
        for version in &deprecated {
            let fresh = self.sealed.iter().rev().find(|(id, _)| *id == version.id);
            let value = match (fresh, is_taken(&version.id)) {
                (Some((_, sealed)), _) => Some(sealed.clone()),
                (None, Some(taken)) => apart_value(taken)?,
                (None, None) => {
                    let beside = value_key(key, &version.id);
                    let value = snapshot.get(&beside).map_err(storage_error)?;
                    ops.push(Op::Remove(beside));
                    value
                }
            };
            let value = value.unwrap_or_else(|| {
                tracing::warn!(secret = %key.name, version = %version.id, "a deprecated version has no value to keep");
                Vec::new()
            });
            let apart_key = apart_key(key, version);
            let meta = self.store.seal_version(&apart_key, version)?;
            ops.push(Op::Put(apart_key, apart_entry(&meta, &value)));
            apart.push((version.created_ms, deprecated_id_hash(&version.id)));
        }
        for taken in &self.taken {
            if deprecated.iter().any(|v| v.id == taken.id) {
                continue; // rewritten above
            }
            if labelled.iter().any(|v| v.id == taken.id) {
                if let Some(value) = apart_value(taken)? {
                    ops.push(Op::Put(value_key(key, &taken.id), value));
                }
            }
            ops.push(Op::Remove(apart_key(key, taken)));
        }
        let kept = |id: &str| {
            secret
                .versions
                .iter()
                .any(|v| v.id == id && (v.has_value || !v.is_deprecated()))
        };
        let before = self.original.iter().flat_map(|s| &s.versions);
        for version in before {
            if !kept(&version.id) {
                ops.push(Op::Remove(value_key(key, &version.id)));
            }
        }
        Ok(Secret {
            versions: labelled.into_iter().cloned().collect(),
            deprecated: apart,
            ..secret.clone()
        })
    }

    /// Applies the change as one transaction and waits until it is on disk. `None` deletes the
    /// secret and all its values.
    pub async fn commit(self, new: Option<&Secret>) -> ApiResult<()> {
        let ops = self.ops(new)?;
        self.store.engine.apply(ops).await.map_err(storage_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn secret(name: &str, versions: &[&str]) -> Secret {
        Secret {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            name: name.into(),
            arn: format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-AbCdEf"),
            versions: versions
                .iter()
                .map(|id| Version {
                    id: id.to_string(),
                    created_ms: 0,
                    last_accessed_ms: None,
                    // Labelled, so that the record holds it.
                    stages: vec![format!("L-{id}")],
                    kms_key_id: None,
                    has_value: true,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn deprecate(secret: &mut Secret, id: &str) {
        secret.version_mut(id).unwrap().stages.clear();
    }

    /// What the table holds apart for `secret`, whatever its record says: (id, created).
    fn held_apart(store: &Store, secret: &Secret) -> Vec<(String, i64)> {
        use std::ops::Bound;
        let snapshot = store.engine.read().unwrap();
        let mut owner = secret_key_bytes(&secret.key());
        owner.push(0);
        snapshot
            .range(
                Bound::Included(vec![APART_TAG]),
                Bound::Excluded(vec![APART_TAG + 1]),
                false,
            )
            .filter_map(|item| {
                let (k, entry) = item.unwrap();
                let rest = k[9..].strip_prefix(owner.as_slice())?;
                let (meta, _) = split_apart_entry(&entry).unwrap();
                let version = store.open_version(&k, meta, &secret.key()).unwrap();
                assert_eq!(version.id.as_bytes(), rest);
                Some((version.id, version.created_ms))
            })
            .collect()
    }

    fn ids(versions: &[Version]) -> Vec<&str> {
        versions.iter().map(|v| v.id.as_str()).collect()
    }

    fn text(value: SecretValue) -> String {
        match value {
            SecretValue::String(s) => s,
            SecretValue::Binary(_) => panic!("a binary value"),
        }
    }

    async fn stored(store: &Store, name: &str, versions: &[&str]) -> Secret {
        let s = secret(name, versions);
        let mut txn = store.begin(&s.key()).await.unwrap();
        for id in versions {
            txn.put_value(&s, id, &SecretValue::String(format!("{name}-{id}")));
        }
        txn.commit(Some(&s)).await.unwrap();
        s
    }

    fn names(store: &Store, start: Start<'_>, descending: bool) -> Vec<String> {
        store
            .scan(
                "000000000000",
                "us-east-1",
                ListOrder::Name,
                start,
                descending,
            )
            .map(|item| item.unwrap().1.name)
            .collect()
    }

    /// Values sit between records in key order: name-order scans must step over them, from any
    /// start, in both directions.
    #[tokio::test]
    async fn name_order_scans_step_over_values() {
        let store = Store::open(&Location::InMemory, None).unwrap();
        for (name, versions) in [
            ("a", &["v1", "v2", "v3"][..]),
            ("a/b", &["v1"][..]),
            ("a0", &[][..]),
            ("b", &["v1", "v2"][..]),
        ] {
            stored(&store, name, versions).await;
        }
        assert_eq!(
            names(&store, Start::Beginning, false),
            ["a", "a/b", "a0", "b"]
        );
        assert_eq!(
            names(&store, Start::Beginning, true),
            ["b", "a0", "a/b", "a"]
        );
        let after = |name: &str| Cursor {
            date_ms: 0,
            name: name.into(),
        };
        assert_eq!(
            names(&store, Start::After(&after("a")), false),
            ["a/b", "a0", "b"]
        );
        assert_eq!(
            names(&store, Start::After(&after("b")), true),
            ["a0", "a/b", "a"]
        );
        assert_eq!(
            names(&store, Start::AtName("a/"), false),
            ["a/b", "a0", "b"]
        );
        assert_eq!(names(&store, Start::AtName("a/b"), true), ["a/b", "a"]);
        // A lookup cannot reach a value through a name holding its key's \0.
        let mut key = secret("a", &[]).key();
        key.name = "a\0v1".into();
        assert!(store.get(&key).unwrap().is_none());
    }

    /// A store from before values moved next to their records opens with its values readable.
    #[tokio::test]
    async fn values_under_the_old_layout_are_moved() {
        let store = Store::open(&Location::InMemory, None).unwrap();
        let a = stored(&store, "a", &["v1", "v2"]).await;
        let mut legacy = Vec::new();
        for id in ["v1", "v2"] {
            let key = value_key(&a.key(), id);
            let sealed = store.engine.get(&key).unwrap().unwrap();
            let mut old = key.clone();
            old[0] = LEGACY_VALUE_TAG;
            legacy.push(Op::Remove(key));
            legacy.push(Op::Put(old, sealed));
        }
        store.engine.apply(legacy).await.unwrap();
        assert!(store.read_value(&a, &a.versions[0]).is_err());
        store.move_legacy_values().unwrap();
        for version in &a.versions {
            let expected = format!("a-{}", version.id);
            assert_eq!(text(store.read_value(&a, version).unwrap()), expected);
        }
        assert_eq!(names(&store, Start::Beginning, false), ["a"]);
        let left = store
            .engine
            .read()
            .unwrap()
            .range(
                std::ops::Bound::Included(vec![LEGACY_VALUE_TAG]),
                std::ops::Bound::Excluded(vec![LEGACY_VALUE_TAG + 1]),
                false,
            )
            .count();
        assert_eq!(left, 0);
    }

    /// A reader holding a record from before a commit that removed a version (pruned past the
    /// quota) or the whole secret gets what a read after that commit gets, not a storage error.
    #[tokio::test]
    async fn a_value_removed_after_its_record_was_read_is_not_found() {
        let store = Store::open(&Location::InMemory, None).unwrap();
        let before = stored(&store, "a", &["v1", "v2"]).await;
        let mut after = before.clone();
        after.versions.remove(0);
        let txn = store.begin(&before.key()).await.unwrap();
        txn.commit(Some(&after)).await.unwrap();
        let err = store.read_value(&before, &before.versions[0]).unwrap_err();
        assert_eq!(err.code, ErrorCode::ResourceNotFound);
        assert_eq!(
            err.message,
            "Secrets Manager can't find the specified secret value for VersionId: v1"
        );
        assert_eq!(
            text(store.read_value(&before, &before.versions[1]).unwrap()),
            "a-v2"
        );

        let txn = store.begin(&before.key()).await.unwrap();
        txn.commit(None).await.unwrap();
        let err = store.read_value(&before, &before.versions[1]).unwrap_err();
        assert_eq!(err.code, ErrorCode::ResourceNotFound);
        assert_eq!(err.message, ApiError::secret_not_found().message);
    }

    /// A value sealed for one (secret, version) never opens as another,
    /// even when its bytes are copied there inside the store.
    #[tokio::test]
    async fn ciphertext_moved_to_another_version_or_secret_does_not_open() {
        let store = Store::open(&Location::InMemory, None).unwrap();
        let a = secret("a", &["v1", "v2"]);
        let b = secret("b", &["v1"]);
        for (s, values) in [
            (&a, vec![("v1", "alpha-1"), ("v2", "alpha-2")]),
            (&b, vec![("v1", "beta-1")]),
        ] {
            let mut txn = store.begin(&s.key()).await.unwrap();
            for (id, value) in values {
                txn.put_value(s, id, &SecretValue::String(value.into()));
            }
            txn.commit(Some(s)).await.unwrap();
        }
        assert_eq!(
            text(store.read_value(&a, &a.versions[1]).unwrap()),
            "alpha-2"
        );
        assert_eq!(
            text(store.read_value(&b, &b.versions[0]).unwrap()),
            "beta-1"
        );

        let sealed = store
            .engine
            .get(&value_key(&a.key(), "v1"))
            .unwrap()
            .unwrap();
        store
            .engine
            .apply(vec![
                Op::Put(value_key(&a.key(), "v2"), sealed.clone()),
                Op::Put(value_key(&b.key(), "v1"), sealed),
            ])
            .await
            .unwrap();
        for (s, version) in [(&a, &a.versions[1]), (&b, &b.versions[0])] {
            let err = store.read_value(s, version).unwrap_err();
            assert_eq!(err.code, ErrorCode::DecryptionFailure, "{}", s.name);
        }
        assert_eq!(
            text(store.read_value(&a, &a.versions[0]).unwrap()),
            "alpha-1"
        );
    }

    /// A deprecated version leaves the record on commit and stays readable by id; named in a
    /// change, it comes back into it; a version without a value is dropped; a deleted secret
    /// leaves nothing apart.
    #[tokio::test]
    async fn deprecated_versions_are_kept_apart_from_the_record() {
        let store = Store::open(&Location::InMemory, None).unwrap();
        let mut a = stored(&store, "a", &["v1", "v2", "v3"]).await;
        a.versions[1].created_ms = 20;
        a.versions[0].created_ms = 30; // apart, v1 sorts after v2
        a.versions.push(Version {
            has_value: false,
            ..secret("a", &["p"]).versions[0].clone()
        });
        let txn = store.begin(&a.key()).await.unwrap();
        txn.commit(Some(&a)).await.unwrap();
        deprecate(&mut a, "v1");
        deprecate(&mut a, "v2");
        deprecate(&mut a, "p");
        let txn = store.begin(&a.key()).await.unwrap();
        txn.commit(Some(&a)).await.unwrap();

        let record = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(ids(&record.versions), ["v3"]);
        assert_eq!(record.deprecated.len(), 2);
        assert_eq!(
            held_apart(&store, &a),
            [("v2".to_string(), 20), ("v1".to_string(), 30)]
        );
        assert_eq!(
            ids(&store.deprecated_versions(&record).unwrap()),
            ["v2", "v1"]
        );
        let v1 = store.find_version(&record, "v1").unwrap().unwrap();
        assert!(v1.is_deprecated());
        assert_eq!(text(store.read_value(&record, &v1).unwrap()), "a-v1");
        // Values went with their versions: none is left beside the record.
        let beside = |id: &str| store.engine.get(&value_key(&a.key(), id)).unwrap();
        assert!(beside("v1").is_none() && beside("v2").is_none());
        assert!(beside("v3").is_some());
        assert!(store.find_version(&record, "p").unwrap().is_none());
        assert!(store.find_version(&record, "v9").unwrap().is_none());

        // Relabelled: back in the record, no longer apart.
        let mut txn = store.begin(&a.key()).await.unwrap();
        let mut working = txn.current().unwrap().clone();
        txn.version(&mut working, "v1")
            .unwrap()
            .unwrap()
            .stages
            .push("L".into());
        txn.commit(Some(&working)).await.unwrap();
        let record = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(ids(&record.versions), ["v3", "v1"]);
        assert_eq!(record.deprecated.len(), 1);
        assert_eq!(held_apart(&store, &a), [("v2".to_string(), 20)]);
        assert!(beside("v1").is_some());
        assert_eq!(text(store.read_value(&record, &v1).unwrap()), "a-v1");

        // Touched while deprecated: rewritten apart, not duplicated.
        let mut txn = store.begin(&a.key()).await.unwrap();
        let mut working = txn.current().unwrap().clone();
        txn.version(&mut working, "v2").unwrap().unwrap();
        assert!(working.touch("v2", 86_400_000));
        txn.commit(Some(&working)).await.unwrap();
        let record = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(record.deprecated.len(), 1);
        let v2 = store.find_version(&record, "v2").unwrap().unwrap();
        assert_eq!(v2.last_accessed_ms, Some(86_400_000));

        let txn = store.begin(&a.key()).await.unwrap();
        txn.commit(None).await.unwrap();
        assert!(held_apart(&store, &a).is_empty());
        assert!(store
            .engine
            .get(&value_key(&a.key(), "v2"))
            .unwrap()
            .is_none());
    }

    /// Pruning through a change takes the oldest version kept apart and removes it with its
    /// value; a record written before versions were kept apart sets its deprecated ones apart
    /// on its next change.
    #[tokio::test]
    async fn pruning_reaches_versions_kept_apart() {
        let store = Store::open(&Location::InMemory, None).unwrap();
        let ids_: Vec<String> = (0..100).map(|i| format!("v{i:03}")).collect();
        let refs: Vec<&str> = ids_.iter().map(String::as_str).collect();
        let mut a = secret("a", &refs);
        for (i, v) in a.versions.iter_mut().enumerate() {
            v.created_ms = i as i64;
            if i < 98 {
                v.stages.clear();
            }
        }
        // As an older secretsd stored it: deprecated versions inside the record.
        let record_key = record_key(&a.key());
        let mut ops: Vec<Op> = a
            .versions
            .iter()
            .map(|v| {
                let value = SecretValue::String(format!("a-{}", v.id));
                let sealed =
                    store
                        .crypto
                        .seal(DEFAULT_KMS_KEY, &binding(&a, &v.id), &encode_value(&value));
                Op::Put(value_key(&a.key(), &v.id), sealed)
            })
            .collect();
        ops.push(Op::Put(
            record_key.clone(),
            store.seal_record(&record_key, &a).unwrap(),
        ));
        store.engine.apply(ops).await.unwrap();
        let old = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(old.versions.len(), 100);
        assert_eq!(ids(&store.deprecated_versions(&old).unwrap()).len(), 0);

        let txn = store.begin(&a.key()).await.unwrap();
        txn.commit(Some(&old)).await.unwrap();
        let record = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(ids(&record.versions), ["v098", "v099"]);
        assert_eq!(record.deprecated.len(), 98);
        assert_eq!(held_apart(&store, &a).len(), 98);

        // A 101st version, a day later: v000 goes, from apart and with its value.
        let day = stages::PRUNE_MIN_AGE_MS;
        let mut txn = store.begin(&a.key()).await.unwrap();
        let mut working = txn.current().unwrap().clone();
        working.versions.push(Version {
            created_ms: day,
            ..secret("a", &["new"]).versions[0].clone()
        });
        let removed = stages::prune(&mut working.versions, &mut txn, day).unwrap();
        assert_eq!(removed, ["v000"]);
        txn.put_value(&working, "new", &SecretValue::String("a-new".into()));
        txn.commit(Some(&working)).await.unwrap();
        let record = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(ids(&record.versions), ["v098", "v099", "new"]);
        assert_eq!(record.deprecated.len(), 97);
        let apart = held_apart(&store, &a);
        assert_eq!(apart.len(), 97);
        assert_eq!(apart[0].0, "v001");
        assert!(store
            .engine
            .get(&value_key(&a.key(), "v000"))
            .unwrap()
            .is_none());
        let v001 = store.find_version(&record, "v001").unwrap().unwrap();
        assert_eq!(text(store.read_value(&record, &v001).unwrap()), "a-v001");
    }
}
