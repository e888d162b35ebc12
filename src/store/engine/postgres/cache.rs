//! Recent reads of one node, each served only within the window from its query's start (see
//! the engine's docs for why that keeps every node's reads coherent).
//!
//! A change made on this node needs no wait for this node's own cache: `forget` drops what it
//! changed and refuses any read of those keys that was sent before (it may have been answered
//! from before the commit). A node serves nothing from its cache unless its registration in
//! `secretsd_nodes` is fresh (`members`), so another node that sees it gone may skip its wait.

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
    /// its commit while another node is alive. Zero: no cache.
    pub window: Duration,
    state: Mutex<State>,
}

struct State {
    entries: HashMap<Vec<u8>, Cached>,
    /// Keys this node changed, and when it forgot them: reads sent before then are refused.
    forgotten: HashMap<Vec<u8>, Instant>,
    /// Reads sent before this are refused (a clear, a prefix removal, the node's registration).
    barrier: Instant,
    /// Until when the node's registration is fresh enough to serve from the cache.
    serve_until: Option<Instant>,
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
            state: Mutex::new(State {
                entries: HashMap::new(),
                forgotten: HashMap::new(),
                barrier: Instant::now(),
                serve_until: None,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        if self.window.is_zero() {
            return None;
        }
        let state = self.state();
        if state
            .serve_until
            .is_none_or(|until| until <= Instant::now())
        {
            return None;
        }
        let cached = state.entries.get(key)?;
        (cached.asked.elapsed() < self.window).then(|| cached.value.clone())
    }

    pub fn insert(&self, key: Vec<u8>, asked: Instant, value: Option<Vec<u8>>) {
        if self.window.is_zero() {
            return;
        }
        let mut state = self.state();
        if asked < state.barrier || state.forgotten.get(&key).is_some_and(|at| asked < *at) {
            return; // it may show what a change of this node replaced
        }
        if state.entries.len() >= CACHE_ENTRIES {
            let window = self.window;
            state.entries.retain(|_, c| c.asked.elapsed() < window);
            if state.entries.len() >= CACHE_ENTRIES {
                state.entries.clear();
            }
        }
        match state.entries.get(&key) {
            Some(newer) if newer.asked > asked => {}
            _ => {
                state.entries.insert(key, Cached { asked, value });
            }
        }
    }

    /// After this node's own commit (or one whose answer was lost): what it changed is read
    /// again, and reads of it sent before now are refused.
    pub fn forget(&self, ops: &[Op]) {
        if self.window.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut state = self.state();
        // A read refused here could only be served within the window of its sending: older
        // marks have done their work.
        if state.forgotten.len() >= CACHE_ENTRIES {
            let window = self.window;
            state.forgotten.retain(|_, at| at.elapsed() < window);
        }
        for op in ops {
            match op {
                Op::Put(k, _) | Op::Remove(k) => {
                    state.entries.remove(k);
                    state.forgotten.insert(k.clone(), now);
                }
                Op::RemovePrefix(_) | Op::Clear => {
                    state.entries.clear();
                    state.barrier = now;
                }
            }
        }
    }

    /// The node's registration was renewed by a statement sent at `sent`: it may serve from the
    /// cache until `sent + fresh_for` (other nodes count it alive for longer).
    pub fn registered(&self, sent: Instant, fresh_for: Duration) {
        let mut state = self.state();
        let until = sent + fresh_for;
        if state.serve_until.is_none() {
            // Reads sent before the first registration may predate changes whose nodes did not
            // know of this one.
            state.entries.clear();
            state.barrier = Instant::now();
        }
        if state.serve_until.is_none_or(|old| old < until) {
            state.serve_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(window_ms: u64) -> ReadCache {
        let cache = ReadCache::new(Duration::from_millis(window_ms));
        cache.registered(Instant::now(), Duration::from_secs(60));
        cache
    }

    #[test]
    fn nothing_is_served_before_the_node_is_registered() {
        let cache = ReadCache::new(Duration::from_secs(10));
        cache.insert(b"k".to_vec(), Instant::now(), Some(b"v".to_vec()));
        assert_eq!(cache.get(b"k"), None);
        cache.registered(Instant::now(), Duration::from_secs(60));
        let asked = Instant::now();
        cache.insert(b"k".to_vec(), asked, Some(b"v".to_vec()));
        assert_eq!(cache.get(b"k"), Some(Some(b"v".to_vec())));
    }

    #[test]
    fn a_read_sent_before_this_node_changed_a_key_is_never_cached() {
        let cache = registered(10_000);
        let sent_before = Instant::now();
        cache.forget(&[Op::Put(b"k".to_vec(), b"new".to_vec())]);
        cache.insert(b"k".to_vec(), sent_before, Some(b"old".to_vec()));
        assert_eq!(cache.get(b"k"), None);
        cache.insert(b"k".to_vec(), Instant::now(), Some(b"new".to_vec()));
        assert_eq!(cache.get(b"k"), Some(Some(b"new".to_vec())));
        // Other keys are not held up.
        cache.insert(b"other".to_vec(), sent_before, None);
        assert_eq!(cache.get(b"other"), Some(None));
    }

    #[test]
    fn a_lapsed_registration_stops_the_cache() {
        let cache = ReadCache::new(Duration::from_secs(10));
        cache.registered(Instant::now(), Duration::ZERO);
        cache.insert(b"k".to_vec(), Instant::now(), None);
        assert_eq!(cache.get(b"k"), None);
    }
}
