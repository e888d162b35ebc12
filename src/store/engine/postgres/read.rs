//! Reads: from the node's cache within its window, else a query, on the pool or under a
//! change's lock. The store's reads are synchronous; each query runs on the engine's runtime
//! and the read waits for its answer there.

use super::cache::ReadCache;
use super::calls::block;
use super::conn::{Source, GET};
use crate::store::engine::{CopyFn, Entry, Snapshot};
use crate::store::error::StoreResult;
use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Instant;
use tokio::runtime::Handle;

/// Rows one range query returns; a scan asks for the next chunk when it needs it.
const RANGE_CHUNK: i64 = 256;

/// Reads go to the database as it is when each query runs, or to the node's cache within its
/// window (never under a lock: a change reads what is committed).
pub struct PgSnapshot {
    pub source: Source,
    pub handle: Handle,
    pub cache: Option<Arc<ReadCache>>,
}

impl Snapshot for PgSnapshot {
    fn generation(&self) -> Option<u64> {
        None
    }

    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        if let Source::Locked(txn) = &self.source {
            if let Some(value) = txn.read_with_lock(key) {
                return Ok(value);
            }
        }
        if let Some(value) = self.cache.as_ref().and_then(|c| c.get(key)) {
            return Ok(value);
        }
        let source = self.source.clone();
        let asked_for = vec![key.to_vec()];
        let asked = Instant::now();
        let value = block(&self.handle, async move {
            let rows = source.rows(GET, &asked_for).await?;
            Ok(rows.first().map(|row| row.get::<_, Vec<u8>>(0)))
        })?;
        if let Some(cache) = &self.cache {
            cache.insert(key.to_vec(), asked, value.clone());
        }
        Ok(value)
    }

    fn range_with(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        descending: bool,
        copy: CopyFn,
    ) -> Box<dyn Iterator<Item = Entry> + Send> {
        Box::new(Chunks {
            source: self.source.clone(),
            handle: self.handle.clone(),
            lower,
            upper,
            descending,
            copy,
            rows: VecDeque::new(),
            done: false,
        })
    }
}

/// A range read a chunk at a time, each chunk one query that starts after the last row.
struct Chunks {
    source: Source,
    handle: Handle,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    descending: bool,
    copy: CopyFn,
    rows: VecDeque<(Vec<u8>, Vec<u8>)>,
    done: bool,
}

impl Chunks {
    fn fetch(&mut self) -> StoreResult<()> {
        let mut clauses = Vec::new();
        let mut params = Vec::new();
        for (bound, inclusive, exclusive) in [(&self.lower, ">=", ">"), (&self.upper, "<=", "<")] {
            let (op, key) = match bound {
                Bound::Included(k) => (inclusive, k),
                Bound::Excluded(k) => (exclusive, k),
                Bound::Unbounded => continue,
            };
            params.push(key.clone());
            clauses.push(format!("k {op} ${}", params.len()));
        }
        let sql = format!(
            "SELECT k, v FROM secretsd_kv {} {} ORDER BY k {} LIMIT {RANGE_CHUNK}",
            if clauses.is_empty() { "" } else { "WHERE" },
            clauses.join(" AND "),
            if self.descending { "DESC" } else { "ASC" },
        );
        let source = self.source.clone();
        let rows: Vec<(Vec<u8>, Vec<u8>)> = block(&self.handle, async move {
            let rows = source.rows(&sql, &params).await?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
        })?;
        self.done = (rows.len() as i64) < RANGE_CHUNK;
        if let Some((last, _)) = rows.last() {
            match self.descending {
                false => self.lower = Bound::Excluded(last.clone()),
                true => self.upper = Bound::Excluded(last.clone()),
            }
        }
        self.rows.extend(rows);
        Ok(())
    }
}

impl Iterator for Chunks {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        if self.rows.is_empty() && !self.done {
            if let Err(e) = self.fetch() {
                self.done = true;
                return Some(Err(e));
            }
        }
        let (k, v) = self.rows.pop_front()?;
        let value = (self.copy)(&k, &v);
        Some(Ok((k, value)))
    }
}
