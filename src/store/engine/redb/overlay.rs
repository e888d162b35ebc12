//! What a crash left in the journal, held in memory and laid over the data file until the
//! committer has applied it.
//!
//! Why: applying a journal to redb after `kill -9` takes time that grows with the journal (each
//! change dirties a leaf that must be read first), and the server would not be ready until it
//! was done. Reads are answered from the merged changes over the data file at once; the
//! committer applies them once the server is ready, before any new change.
//!
//! Building it is on the path to ready, so it copies nothing: keys and values stay in the
//! journal's mapped pages (`Span`s), and keys are found through a hash table rather than copied
//! into a sorted map.
//!
//! The merge keeps each key's last write and the prefix removals (`Clear` is the empty prefix).
//! A key's value is its last write if the journal wrote it, unless a later removal took its
//! prefix; otherwise nothing if a removal took its prefix; otherwise what the data file holds.
//! Applying `ops()` to the data file gives the same contents as applying each journaled change
//! in turn.

use super::journal::{JournalBytes, OpAt, Replayed, Span};
use crate::store::engine::Op;
use crate::store::engine::{CopyFn, Entry};
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;
use std::ops::Bound;
use std::sync::Arc;

pub struct Overlay {
    /// The journal's bytes, which the spans point into.
    bytes: JournalBytes,
    /// Prefixes whose keys in the data file are gone (the empty prefix: every key).
    removed: Vec<Span>,
    /// Each key's last write (`None`: a removal), in the order keys first appear.
    last: Vec<(Span, Option<Span>)>,
    /// Positions in `last`, by key: a hash table, not a sorted list, because sorting them would
    /// be on the path to ready after a crash. Only the apply and scans need key order.
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl Overlay {
    /// The journal's changes, merged; `None` if it holds none.
    pub fn new(replayed: &Replayed) -> Option<Overlay> {
        let bytes = replayed.bytes()?.clone();
        let mut overlay = Overlay {
            bytes: bytes.clone(),
            removed: Vec::new(),
            last: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        };
        let data = (*bytes).as_ref();
        // When each key was last written, and each prefix removed (in ops from the start).
        let mut written_at: Vec<u32> = Vec::new();
        let mut removals: Vec<u32> = Vec::new();
        let mut seq = 0u32;
        replayed.for_each_op(|op| {
            let (key, value) = match op {
                OpAt::Put(k, v) => (k, Some(v)),
                OpAt::Remove(k) => (k, None),
                OpAt::RemovePrefix(prefix) => {
                    overlay.removed.push(prefix);
                    removals.push(seq);
                    seq += 1;
                    return;
                }
                OpAt::Clear => {
                    overlay.removed.push(Span { start: 0, len: 0 });
                    removals.push(seq);
                    seq += 1;
                    return;
                }
            };
            let key_bytes = key.of(data);
            let hash = overlay.hasher.hash_one(key_bytes);
            let last = &mut overlay.last;
            match overlay
                .index
                .find(hash, |&i| last[i as usize].0.of(data) == key_bytes)
            {
                Some(&i) => {
                    last[i as usize].1 = value;
                    written_at[i as usize] = seq;
                }
                None => {
                    let i = last.len() as u32;
                    last.push((key, value));
                    written_at.push(seq);
                    let hasher = &overlay.hasher;
                    overlay
                        .index
                        .insert_unique(hash, i, |&j| hasher.hash_one(last[j as usize].0.of(data)));
                }
            }
            seq += 1;
        });
        // A write a later prefix removal took is a removal.
        if !removals.is_empty() {
            for ((key, value), at) in overlay.last.iter_mut().zip(written_at) {
                let removed_after =
                    overlay.removed.iter().zip(&removals).any(|(prefix, when)| {
                        *when > at && key.of(data).starts_with(prefix.of(data))
                    });
                if removed_after {
                    *value = None;
                }
            }
        }
        Some(overlay)
    }

    fn data(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }

    fn key(&self, i: u32) -> &[u8] {
        self.last[i as usize].0.of(self.data())
    }

    /// One change with the journal's outcome: the prefix removals (which remove what the data
    /// file held), then each key's last write in key order.
    pub fn ops(&self) -> Vec<Op> {
        let data = self.data();
        let removals = self.removed.iter().map(|prefix| match prefix.len {
            0 => Op::Clear,
            _ => Op::RemovePrefix(prefix.of(data).to_vec()),
        });
        // In key order: redb takes sorted inserts faster.
        let mut order: Vec<u32> = (0..self.last.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.key(a).cmp(self.key(b)));
        let writes = order.iter().map(|&i| match self.last[i as usize] {
            (k, Some(v)) => Op::Put(k.of(data).to_vec(), v.of(data).to_vec()),
            (k, None) => Op::Remove(k.of(data).to_vec()),
        });
        removals.chain(writes).collect()
    }

    /// `key`'s position in `last`.
    fn find(&self, key: &[u8]) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.index
            .find(hash, |&i| self.key(i) == key)
            .map(|&i| i as usize)
    }

    /// `Some` when the journal decides `key`'s value (`Some(None)`: it has none); `None` when
    /// the data file does.
    pub fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        match self.find(key) {
            Some(i) => Some(self.last[i].1.map(|v| v.of(self.data()))),
            None => self.removes(key).then_some(None),
        }
    }

    fn removes(&self, key: &[u8]) -> bool {
        let data = self.data();
        self.removed
            .iter()
            .any(|prefix| key.starts_with(prefix.of(data)))
    }

    /// Whether the data file's entry for `key` is not what the journal left.
    fn hides(&self, key: &[u8]) -> bool {
        self.find(key).is_some() || self.removes(key)
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
        copy: CopyFn,
    ) -> impl Iterator<Item = Entry> + 'static {
        let data = self.data();
        let above = |k: &[u8]| match lower {
            Bound::Unbounded => true,
            Bound::Included(l) => k >= l,
            Bound::Excluded(l) => k > l,
        };
        let below = |k: &[u8]| match upper {
            Bound::Unbounded => true,
            Bound::Included(u) => k <= u,
            Bound::Excluded(u) => k < u,
        };
        // A pass over every key: the overlay lives only until the committer has applied it,
        // and a scan in that time finds its keys faster than sorting them all would.
        let mut inside: Vec<(&[u8], Span)> = self
            .last
            .iter()
            .filter_map(|(k, v)| Some((k.of(data), (*v)?)))
            .filter(|(k, _)| above(k) && below(k))
            .collect();
        inside.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let entries = inside
            .into_iter()
            .map(|(k, v)| (k.to_vec(), copy(k, v.of(data))));
        let written: Vec<(Vec<u8>, Vec<u8>)> = match descending {
            false => entries.collect(),
            true => entries.rev().collect(),
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
