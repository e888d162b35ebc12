//! The narrow interface between the store and the engines that keep its bytes: an ordered map
//! of byte keys to byte values, read through consistent snapshots and changed by atomic,
//! durable batches of `Op`s. The store's layout (`super::keys`), sealing and per-secret
//! transactions sit above it, so an engine knows nothing of secrets: redb (`redb`, the default),
//! sled (`sled`) and PostgreSQL (`postgres`, shared by several secretsd nodes) implement it, the
//! way Vault's physical backends sit behind one interface.

pub mod postgres;
pub mod redb;
pub mod sled;

use super::error::StoreError;
use futures_util::future::BoxFuture;
use std::ops::Bound;
use std::sync::Arc;

/// Which engine keeps the bytes (`--store`).
#[derive(Clone, Default, PartialEq, Eq)]
pub enum EngineKind {
    /// A copy-on-write B-tree with a write-ahead journal, in the data dir: the default.
    #[default]
    Redb,
    /// sled, in the data dir.
    Sled,
    /// A PostgreSQL database, by its URL (`postgres://user:password@host:port/db`).
    Postgres(String),
}

impl EngineKind {
    /// The engines that keep their files in the data dir.
    pub const EMBEDDED: [EngineKind; 2] = [EngineKind::Redb, EngineKind::Sled];

    pub fn name(&self) -> &'static str {
        match self {
            EngineKind::Redb => "redb",
            EngineKind::Sled => "sled",
            EngineKind::Postgres(_) => "postgres",
        }
    }
}

/// A PostgreSQL URL is shown without its password, wherever a config is printed.
impl std::fmt::Debug for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineKind::Postgres(url) => {
                let shown = match url.split_once("://").and_then(|(scheme, rest)| {
                    let (login, host) = rest.split_once('@')?;
                    let user = login.split(':').next().unwrap_or("");
                    Some(format!("{scheme}://{user}:***@{host}"))
                }) {
                    Some(redacted) => redacted,
                    None => url.clone(),
                };
                f.debug_tuple("Postgres").field(&shown).finish()
            }
            EngineKind::Redb => f.write_str("Redb"),
            EngineKind::Sled => f.write_str("Sled"),
        }
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;

    fn from_str(text: &str) -> Result<EngineKind, String> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(EngineKind::Postgres(text.to_string()));
        }
        EngineKind::EMBEDDED
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| {
                format!("unknown store '{text}': expected redb, sled or a postgres:// URL")
            })
    }
}

/// One entry read from the table (key, value), or why it could not be.
pub type Entry = Result<(Vec<u8>, Vec<u8>), StoreError>;

/// What a range read copies of each entry (key, value): scans that step over entries, or need
/// only the head of a value, copy no more than that.
pub type CopyFn = fn(&[u8], &[u8]) -> Vec<u8>;

/// One step of a change, applied in order.
#[derive(Debug, Clone)]
pub enum Op {
    Put(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    /// Every key that starts with these bytes.
    RemovePrefix(Vec<u8>),
    /// Every key.
    Clear,
}

/// An engine: where the store's bytes live.
pub trait Engine: Send + Sync {
    /// A consistent view as of the last acknowledged change (or later).
    fn read(&self) -> Result<Arc<dyn Snapshot>, StoreError>;

    /// Applies `ops` as one atomic change; resolves once it is durable.
    fn apply(&self, ops: Vec<Op>) -> BoxFuture<'_, Result<(), StoreError>>;

    /// `apply` for start-up, outside any runtime task: blocks the thread.
    fn apply_now(&self, ops: Vec<Op>) -> Result<(), StoreError>;

    /// The server is ready: deferred start-up work may run now.
    fn serving(&self) {}

    /// Holds `key` against changes by other processes sharing this engine, for one change made
    /// through the returned lock. Changes within one process are already serialised by the
    /// store's own locks, so an engine that only one process opens needs none (`None`).
    /// `family` is the prefix of the entries the change reads beside `key`: an engine whose
    /// reads are round trips reads them with the lock.
    fn lock<'a>(
        &'a self,
        _key: &'a [u8],
        _family: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Box<dyn Held>>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    /// Why the engine serves only part of what it should (reads but no changes, say), if it
    /// does: the health check reports it.
    fn degraded(&self) -> Option<String> {
        None
    }

    /// Whether other processes may open this engine at once (a shared database).
    fn shared(&self) -> bool {
        false
    }

    /// Where the processes sharing this engine keep one audit trail (`None`: each its own).
    fn audit_table(&self) -> Option<Arc<dyn crate::audit::table::AuditTable>> {
        None
    }
}

/// A lock an engine holds for one change. Dropping it abandons the change and lets go.
pub trait Held: Send + Sync {
    /// Reads under the lock: they show every change committed before it was taken.
    fn snapshot(&self) -> Arc<dyn Snapshot>;

    /// Applies `ops` as the change made under this lock, as `Engine::apply` does, and lets go.
    fn commit(self: Box<Self>, ops: Vec<Op>) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// A read view. Every read through one snapshot agrees with every other.
pub trait Snapshot: Send + Sync {
    /// Which commit this snapshot shows: the store's record cache is keyed by it, so a new one
    /// must begin after each commit and before its answer (see `super::cache`). `None`: the
    /// engine cannot say (other processes change it), and nothing read through it is cached.
    fn generation(&self) -> Option<u64>;

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// The entries between `lower` and `upper` in key order (or reversed), each value as `copy`
    /// takes it. Stops after the first error, which it yields.
    fn range_with(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        descending: bool,
        copy: CopyFn,
    ) -> Box<dyn Iterator<Item = Entry> + Send>;

    fn range(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        descending: bool,
    ) -> Box<dyn Iterator<Item = Entry> + Send> {
        self.range_with(lower, upper, descending, |_, value| value.to_vec())
    }
}

/// The first key after every key that starts with `prefix` (`None`: no key is).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
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

    #[test]
    fn engines_parse_and_a_url_never_shows_its_password() {
        assert_eq!("redb".parse::<EngineKind>(), Ok(EngineKind::Redb));
        assert_eq!("sled".parse::<EngineKind>(), Ok(EngineKind::Sled));
        let url = "postgres://app:s3cr3t-pw@db.internal:5432/secretsd?sslmode=require";
        let kind: EngineKind = url.parse().unwrap();
        assert_eq!(kind, EngineKind::Postgres(url.into()));
        assert_eq!(
            format!("{kind:?}"),
            r#"Postgres("postgres://app:***@db.internal:5432/secretsd?sslmode=require")"#
        );
        assert_eq!(
            "mongodb".parse::<EngineKind>(),
            Err("unknown store 'mongodb': expected redb, sled or a postgres:// URL".into())
        );
    }

    #[test]
    fn prefix_end_is_the_next_key_after_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
