//! What a crash left in the journal, held in memory and laid over the data file until the
//! committer has applied it.
//!
//! Why: applying a journal to redb after `kill -9` takes 5–50 ms with 100,000 secrets (each
//! change dirties a leaf that must be read first), and the server was not ready until it was
//! done. Reading and merging the journal takes a millisecond or two; reads can be answered from
//! the merged changes over the data file at once, while the committer applies them before any
//! new change.
//!
//! The merge keeps each key's last write and the prefix removals (`Clear` is the empty prefix).
//! A key's value is its last write if the journal wrote it; otherwise nothing if a removal took
//! its prefix; otherwise what the data file holds. Applying `ops()` to the data file gives the
//! same contents as applying each journaled change in turn.

use super::engine::{Entry, Op};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Overlay {
    /// Prefixes whose keys in the data file are gone (the empty prefix: every key).
    removed: Vec<Vec<u8>>,
    /// Each key's last write: `None` for a removal.
    last: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Overlay {
    /// The journal's changes, in the order they were committed, merged.
    pub fn new(changes: Vec<Vec<Op>>) -> Overlay {
        let mut overlay = Overlay::default();
        for op in changes.into_iter().flatten() {
            match op {
                Op::Put(k, v) => {
                    overlay.last.insert(k, Some(v));
                }
                Op::Remove(k) => {
                    overlay.last.insert(k, None);
                }
                Op::RemovePrefix(prefix) => overlay.remove_prefix(prefix),
                Op::Clear => overlay.remove_prefix(Vec::new()),
            }
        }
        overlay
    }

    fn remove_prefix(&mut self, prefix: Vec<u8>) {
        for (_, value) in self
            .last
            .range_mut::<[u8], _>((Bound::Included(prefix.as_slice()), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(&prefix))
        {
            *value = None;
        }
        self.removed.push(prefix);
    }

    /// One change with the journal's outcome: the prefix removals (which remove what the data
    /// file held), then each key's last write in key order.
    pub fn ops(&self) -> Vec<Op> {
        let removals = self.removed.iter().map(|prefix| match prefix.is_empty() {
            true => Op::Clear,
            false => Op::RemovePrefix(prefix.clone()),
        });
        let writes = self.last.iter().map(|(k, v)| match v {
            Some(v) => Op::Put(k.clone(), v.clone()),
            None => Op::Remove(k.clone()),
        });
        removals.chain(writes).collect()
    }

    /// `Some` when the journal decides `key`'s value (`Some(None)`: it has none); `None` when
    /// the data file does.
    pub fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        match self.last.get(key) {
            Some(value) => Some(value.as_deref()),
            None => self.removes(key).then_some(None),
        }
    }

    fn removes(&self, key: &[u8]) -> bool {
        self.removed.iter().any(|prefix| key.starts_with(prefix))
    }

    /// Whether the data file's entry for `key` is not what the journal left.
    fn hides(&self, key: &[u8]) -> bool {
        self.last.contains_key(key) || self.removes(key)
    }

    /// The data file's entries in a range (`base`, in key order or reversed) with the journal's
    /// laid over them: hidden ones left out, the journal's own merged in. `copy` is applied to
    /// the journal's values as the data file's reader applies it to its own.
    pub fn range(
        self: &Arc<Self>,
        base: impl Iterator<Item = Entry> + 'static,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        descending: bool,
        copy: fn(&[u8], &[u8]) -> Vec<u8>,
    ) -> impl Iterator<Item = Entry> + 'static {
        let written: Vec<(Vec<u8>, Vec<u8>)> = if is_empty(lower, upper) {
            Vec::new()
        } else {
            let entries = self
                .last
                .range::<[u8], _>((lower, upper))
                .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), copy(k, v))));
            match descending {
                false => entries.collect(),
                true => entries.rev().collect(),
            }
        };
        let overlay = self.clone();
        let mut base = base
            .filter(move |entry| !matches!(entry, Ok((k, _)) if overlay.hides(k)))
            .peekable();
        let mut written = written.into_iter().peekable();
        std::iter::from_fn(move || {
            let journal_first = match (base.peek(), written.peek()) {
                (_, None) => false,
                (None, Some(_)) => true,
                // An error ends the scan where it happens.
                (Some(Err(_)), Some(_)) => false,
                (Some(Ok((b, _))), Some((w, _))) => (w < b) != descending,
            };
            match journal_first {
                true => written.next().map(Ok),
                false => base.next(),
            }
        })
    }
}

/// Whether no key lies between the bounds (`BTreeMap::range` panics on some such bounds).
fn is_empty(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
        _ => false,
    }
}
