//! The store's key layout (one table; the first byte says what a key is):
//! - `S` account \0 region \0 name         → the sealed secret record (JSON): listing is a prefix
//!   scan in name order, a lookup by name or ARN one read.
//! - `S` account \0 region \0 name \0 id    → the sealed value of a labelled version, right
//!   after its secret's record, so a put changes one leaf of the tree, not two (names never
//!   hold \0, so no other record falls among them). Name-order scans step over them.
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
//! - `F`                                    → the layout's format version (`super::format`).
//! - `T`                                    → the test clock's offset (ms, 8 bytes, big-endian),
//!   on a store several nodes share, so that all of them tell the same time.
//!
//! Index and hint entries are written in the same transaction as their record, but readers
//! still check them against the record (the record is the truth), so a hint that outlived its
//! purpose costs a lookup, never a wrong answer.

use crate::model::arn::SecretKey;
use crate::model::secret::{Secret, Version};

pub(super) fn secret_key_bytes(key: &SecretKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.account.len() + key.region.len() + key.name.len() + 2);
    out.extend_from_slice(key.account.as_bytes());
    out.push(0);
    out.extend_from_slice(key.region.as_bytes());
    out.push(0);
    out.extend_from_slice(key.name.as_bytes());
    out
}

pub(super) fn record_key(key: &SecretKey) -> Vec<u8> {
    let mut out = vec![b'S'];
    out.extend(secret_key_bytes(key));
    out
}

/// The prefix of the values kept beside `key`'s record.
pub(super) fn values_prefix(key: &SecretKey) -> Vec<u8> {
    let mut out = record_key(key);
    out.push(0);
    out
}

pub(super) fn value_key(key: &SecretKey, version_id: &str) -> Vec<u8> {
    let mut out = values_prefix(key);
    out.extend_from_slice(version_id.as_bytes());
    out
}

/// Where a value key's record key ends (the \0 after the name), if `key` is a value key.
pub(super) fn value_key_split(key: &[u8]) -> Option<usize> {
    // Tag, then account \0 region \0 name: a third \0 starts the version id.
    key.iter()
        .enumerate()
        .filter(|(_, b)| **b == 0)
        .nth(2)
        .map(|(i, _)| i)
}

/// The tag of deprecated versions kept apart from their record.
pub(super) const APART_TAG: u8 = b'P';

/// `P` created account \0 region \0 name \0: the start of the deprecated versions of one
/// secret created in one millisecond (usually one).
pub(super) fn apart_prefix(key: &SecretKey, created_ms: i64) -> Vec<u8> {
    let mut out = vec![APART_TAG];
    out.extend_from_slice(&(created_ms.max(0) as u64).to_be_bytes());
    out.extend(secret_key_bytes(key));
    out.push(0);
    out
}

pub(super) fn apart_key(key: &SecretKey, version: &Version) -> Vec<u8> {
    let mut out = apart_prefix(key, version.created_ms);
    out.extend_from_slice(version.id.as_bytes());
    out
}

/// The distinct creation times of a record's deprecated versions, oldest first.
pub(super) fn apart_times(secret: &Secret) -> Vec<i64> {
    let mut times: Vec<i64> = secret.deprecated.iter().map(|(at, _)| *at).collect();
    times.sort_unstable();
    times.dedup();
    times
}

/// A deprecated version's entry: metadata length (4 bytes, big-endian), sealed metadata, sealed
/// value. Scans that need the metadata copy only its head.
pub(super) fn apart_entry(sealed_meta: &[u8], sealed_value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + sealed_meta.len() + sealed_value.len());
    out.extend_from_slice(&(sealed_meta.len() as u32).to_be_bytes());
    out.extend_from_slice(sealed_meta);
    out.extend_from_slice(sealed_value);
    out
}

/// (sealed metadata, sealed value) of an `apart_entry`, if it is one.
pub(super) fn split_apart_entry(entry: &[u8]) -> Option<(&[u8], &[u8])> {
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

/// A time-ordered hint: `tag` time (8 bytes, big-endian) account \0 region \0 name.
pub(super) fn hint_key(tag: Hint, key: &SecretKey, at_ms: i64) -> Vec<u8> {
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
    pub(super) fn time_of(self, secret: &Secret) -> Option<i64> {
        match self {
            Hint::Deletion => secret.deleted_ms,
            Hint::Rotation => secret.rotation_due_ms,
        }
    }
}

/// `account \0 region \0`: the start of every key of one partition.
pub(super) fn partition_bytes(account: &str, region: &str) -> Vec<u8> {
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
    pub(super) const INDEXED: [ListOrder; 3] = [
        ListOrder::Created,
        ListOrder::LastChanged,
        ListOrder::LastAccessed,
    ];

    pub(super) fn tag(self) -> u8 {
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

    pub(super) fn index_key(self, key: &SecretKey, date_ms: i64) -> Vec<u8> {
        let mut out = vec![self.tag()];
        out.extend(partition_bytes(&key.account, &key.region));
        out.extend_from_slice(&(date_ms.max(0) as u64).to_be_bytes());
        out.extend_from_slice(key.name.as_bytes());
        out
    }
}

/// `account \0 region \0 name` back into its parts.
pub(super) fn parse_secret_key(bytes: &[u8]) -> Option<SecretKey> {
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

/// The sealed marker that proves the master key fits the store.
pub(super) const KEY_CHECK: &[u8] = b"K";
/// The layout's format version.
pub(super) const FORMAT: &[u8] = b"F";
/// The test clock's offset, on a shared store.
pub(super) const CLOCK_OFFSET: &[u8] = b"T";
