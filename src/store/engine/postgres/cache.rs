//! Recent reads of one node, each served only within the window from its query's start (see
//! the engine's docs for why that keeps every node's reads coherent).

use crate::store::engine::Op;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a node may serve a read from its cache, and how long a change waits after its commit.
pub const DEFAULT_WINDOW: Duration = Duration::from_millis(2);
/// Entries a node caches at most; past it, the expired ones go (or all, if none has).
const CACHE_ENTRIES: usize = 16_384;

pub struct ReadCache {
    /// How long an entry is served from its query's start, and how long a change waits after
    /// its commit before it is acknowledged. Zero: no cache.
    pub window: Duration,
    entries: Mutex<HashMap<Vec<u8>, Cached>>,
}

struct Cached {
    /// When the query that read it was sent: it shows every change committed before then.
    asked: Instant,
    value: Option<Vec<u8>>,
}

impl ReadCache {
    pub fn new(window: Duration) -> ReadCache {
        ReadCache {
            window,
            entries: Mutex::default(),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Cached>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        if self.window.is_zero() {
            return None;
        }
        let entries = self.entries();
        let cached = entries.get(key)?;
        (cached.asked.elapsed() < self.window).then(|| cached.value.clone())
    }

    pub fn insert(&self, key: Vec<u8>, asked: Instant, value: Option<Vec<u8>>) {
        if self.window.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= CACHE_ENTRIES {
            let window = self.window;
            entries.retain(|_, c| c.asked.elapsed() < window);
            if entries.len() >= CACHE_ENTRIES {
                entries.clear();
            }
        }
        match entries.get(&key) {
            Some(newer) if newer.asked > asked => {}
            _ => {
                entries.insert(key, Cached { asked, value });
            }
        }
    }

    /// After this node's own commit: what it changed is read again.
    pub fn forget(&self, ops: &[Op]) {
        if self.window.is_zero() {
            return;
        }
        let mut entries = self.entries();
        for op in ops {
            match op {
                Op::Put(k, _) | Op::Remove(k) => {
                    entries.remove(k);
                }
                Op::RemovePrefix(prefix) => entries.retain(|k, _| !k.starts_with(prefix)),
                Op::Clear => entries.clear(),
            }
        }
    }
}
