//! Reading the trail back for `GET /_secretsd/audit`: the table's batches, the day files from
//! the first day asked for, or the lines kept in memory.

use super::record::rfc3339;
use super::sink::{lock, SharedSink};
use super::table::AuditTable;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Records at or after `since_ms`, oldest first (at most `limit`).
pub(super) fn since(
    dir: Option<&Path>,
    sink: &SharedSink,
    since_ms: i64,
    limit: usize,
) -> Vec<Value> {
    let since = rfc3339(since_ms);
    let keep = |r: &Value| r["eventTime"].as_str().is_some_and(|t| *t >= *since);
    let table = lock(sink).table.clone();
    if let Some(table) = table {
        lock(sink).flush();
        return from_table(&*table, &since, limit);
    }
    let Some(dir) = dir else {
        return lock(sink)
            .recent()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|r| keep(r))
            .take(limit)
            .collect();
    };
    lock(sink).flush();
    let first_day = since.get(..10).unwrap_or_default();
    let days: Vec<PathBuf> = super::files::listed(dir)
        .into_iter()
        .filter(|f| f.day.as_str() >= first_day)
        .map(|f| f.path)
        .collect();
    let mut out = Vec::new();
    for day in days {
        let text = std::fs::read_to_string(&day).unwrap_or_default();
        for line in text.lines() {
            if let Ok(record) = serde_json::from_str::<Value>(line) {
                if keep(&record) {
                    out.push(record);
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
        }
    }
    out
}

/// Batches in the order they were stored; each node's are in time order, and nodes' batches
/// interleave by the time they were flushed. So once `limit` records are in hand, a batch that
/// starts after the newest of them ends the search.
fn from_table(table: &dyn AuditTable, since: &str, limit: usize) -> Vec<Value> {
    const BATCHES_PER_READ: usize = 64;
    let time = |r: &Value| r["eventTime"].as_str().unwrap_or_default().to_string();
    let mut out: Vec<Value> = Vec::new();
    let mut after = 0;
    loop {
        let batches = match table.batches(since, after, BATCHES_PER_READ) {
            Ok(batches) => batches,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the audit table");
                break;
            }
        };
        let Some(last) = batches.last() else { break };
        after = last.id;
        for batch in &batches {
            if out.len() >= limit && out.last().is_some_and(|r| batch.first_at > time(r)) {
                return out;
            }
            out.extend(
                batch
                    .lines
                    .lines()
                    .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                    .filter(|r| r["eventTime"].as_str().is_some_and(|t| t >= since)),
            );
            if out.len() >= limit {
                out.sort_by_key(time);
                out.truncate(limit);
            }
        }
    }
    out.sort_by_key(time);
    out.truncate(limit);
    out
}
