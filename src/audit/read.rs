//! Reading the trail back for `GET /_secretsd/audit`: the day files from the first day asked
//! for, or the lines kept in memory.

use super::record::rfc3339;
use super::sink::{lock, SharedSink};
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
    let Some(dir) = dir else {
        return lock(sink)
            .recent()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|r| keep(r))
            .take(limit)
            .collect();
    };
    lock(sink).flush();
    let first_day = since.get(..10).unwrap_or_default().to_string();
    let mut days: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    days.retain(|p| {
        p.file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|day| day >= first_day.as_str())
    });
    days.sort();
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
