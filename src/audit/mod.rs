//! The audit trail: one CloudTrail-shaped JSON record per API call (allowed or denied) and per
//! rotation event, appended to `<data-dir>/audit/YYYY-MM-DD.jsonl` (one file per UTC day, in
//! parts once it is large; kept up to an age and a total size, `files`) and readable through
//! `GET /_secretsd/audit?since=…`.
//!
//! On a store that several nodes share, records go to its database instead (`table`), so the
//! trail on any node shows every node's records.
//!
//! A request encodes its record and appends the line to a shared buffer under a short lock (no
//! task wake-up, no system call); a flusher writes the buffer out every 100 ms and syncs the
//! file every second (`sink`). Records never hold secret material (`record`).

mod encode;
mod files;
mod read;
mod record;
mod sink;
pub mod table;

#[cfg(test)]
mod tests;

pub use record::{ApiCall, Identity, ResponseIds};

use crate::config::{AuditLevel, AuditRetention};
use crate::model::secret::{RotationEvent, Secret};
use encode::Line;
use record::{api_record, read_only, rotation_record, Record};
use serde_json::Value;
use sink::SharedSink;
use std::path::PathBuf;
use std::sync::Arc;

/// Why the trail cannot be kept where asked.
#[derive(Debug, thiserror::Error)]
#[error("cannot create audit dir {}: {source}", .dir.display())]
pub struct AuditError {
    dir: PathBuf,
    source: std::io::Error,
}

/// Where records go. Cloning shares the trail.
#[derive(Clone)]
pub struct Audit {
    level: AuditLevel,
    sink: SharedSink,
    dir: Option<PathBuf>,
}

impl Audit {
    /// A trail in `table`, else under `dir/audit` (created if needed, its files kept within
    /// `retention`), else in memory only.
    pub fn start(
        dir: Option<PathBuf>,
        level: AuditLevel,
        retention: AuditRetention,
        table: Option<Arc<dyn table::AuditTable>>,
    ) -> Result<Audit, AuditError> {
        let dir = dir.filter(|_| table.is_none()).map(|d| d.join("audit"));
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(|source| AuditError {
                dir: dir.clone(),
                source,
            })?;
        }
        let shipped = table.is_some();
        let audit = Audit {
            level,
            sink: SharedSink::default(),
            dir,
        };
        {
            let mut sink = sink::lock(&audit.sink);
            sink.table = table;
            sink.retention = retention;
        }
        if audit.dir.is_some() || shipped {
            tokio::spawn(sink::flush_periodically(
                Arc::downgrade(&audit.sink),
                audit.dir.clone(),
            ));
        }
        Ok(audit)
    }

    fn record(&self, record: &Record<'_>) {
        // Sized for a typical record up front, so that encoding does not keep growing the buffer.
        let mut line = Line(Vec::with_capacity(1024));
        record.encode(&mut line);
        sink::lock(&self.sink).append(self.dir.as_deref(), &record.event_time, line.0);
    }

    /// Writes buffered records out (before reading the files, and at shutdown).
    pub fn flush(&self) {
        sink::lock(&self.sink).flush();
    }

    /// Records one API call.
    pub fn api_call(&self, call: ApiCall<'_>) {
        let wanted = match self.level {
            AuditLevel::All => true,
            AuditLevel::Writes => call.response.is_err() || !read_only(call.operation),
            AuditLevel::Off => false,
        };
        if wanted {
            self.record(&api_record(&call));
        }
    }

    /// Records a rotation event of a secret (CloudTrail's service events).
    pub fn rotation_event(&self, secret: &Secret, event: &RotationEvent) {
        self.record(&rotation_record(
            &secret.arn,
            &secret.account,
            &secret.region,
            event,
        ));
    }

    /// Records at or after `since_ms`, oldest first (at most `limit`).
    pub fn since(&self, since_ms: i64, limit: usize) -> Vec<Value> {
        read::since(self.dir.as_deref(), &self.sink, since_ms, limit)
    }
}
