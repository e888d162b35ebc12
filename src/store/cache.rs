//! Decoded secret records of the latest snapshot, so that a hot secret is not decrypted and
//! parsed again on every read.
//!
//! Entries belong to one snapshot generation (`engine::Snapshot::generation`): an engine starts
//! a new generation after each commit and before answering it, so an entry read in generation
//! `g` shows every change acknowledged before `g` began (redb's snapshots of a generation hold
//! the same bytes; sled's may show a change a moment before it is answered). A newer generation
//! empties the cache; an older one is neither served nor stored.
//! Records hold metadata only: secret values are never cached.

use crate::model::secret::Secret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bounds the memory of a read-mostly load over many secrets (a record is ~1 KB decoded).
const MAX_RECORDS: usize = 8192;

#[derive(Default)]
pub struct RecordCache(Mutex<Generation>);

#[derive(Default)]
struct Generation {
    number: u64,
    /// Shared, so a read takes a reference instead of copying the record.
    records: HashMap<Vec<u8>, Arc<Secret>>,
}

impl RecordCache {
    /// The record under `key` as the snapshot of `generation` holds it, if decoded before.
    pub fn get(&self, generation: u64, key: &[u8]) -> Option<Arc<Secret>> {
        let cache = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.number != generation {
            return None;
        }
        cache.records.get(key).cloned()
    }

    /// Keeps `record`, decoded from the snapshot of `generation` under `key`.
    pub fn insert(&self, generation: u64, key: &[u8], record: &Arc<Secret>) {
        let mut cache = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if generation < cache.number {
            return;
        }
        if generation > cache.number {
            cache.number = generation;
            cache.records.clear();
        }
        if cache.records.len() < MAX_RECORDS {
            cache.records.insert(key.to_vec(), Arc::clone(record));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Arc<Secret> {
        Arc::new(Secret {
            name: name.into(),
            ..Secret::default()
        })
    }

    #[test]
    fn serves_only_the_generation_it_was_filled_from() {
        let cache = RecordCache::default();
        cache.insert(3, b"k", &named("three"));
        assert_eq!(
            cache.get(3, b"k").map(|s| s.name.clone()),
            Some("three".into())
        );
        assert!(
            cache.get(4, b"k").is_none(),
            "a newer snapshot must not see an old record"
        );
        assert!(cache.get(2, b"k").is_none());

        // A reader still on an old snapshot cannot put its record over a newer one's.
        cache.insert(4, b"k", &named("four"));
        cache.insert(3, b"k", &named("three again"));
        assert_eq!(
            cache.get(4, b"k").map(|s| s.name.clone()),
            Some("four".into())
        );
        assert!(cache.get(3, b"k").is_none());
    }

    #[test]
    fn stops_growing_at_its_bound() {
        let cache = RecordCache::default();
        for i in 0..MAX_RECORDS + 10 {
            cache.insert(1, format!("k{i}").as_bytes(), &named("x"));
        }
        assert_eq!(cache.0.lock().unwrap().records.len(), MAX_RECORDS);
        assert!(cache.get(1, b"k0").is_some());
    }
}
