//! Where lines go: the day's file under the data dir (a new part once one is large), buffered,
//! written out by a flusher and synced every second, old files removed by the retention
//! bounds; on a store several nodes share, batches in its table, one per flush;
//! or, without either, the latest lines in memory.

use super::files;
use super::table::AuditTable;
use crate::config::AuditRetention;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// Lines kept in memory for the admin endpoint when there is no data dir.
const MEMORY_RECORDS: usize = 10_000;
const FLUSH_EVERY: Duration = Duration::from_millis(100);
const SYNC_EVERY_FLUSHES: u32 = 10;
/// Big enough that a burst of records costs one write.
const BUFFER_BYTES: usize = 256 * 1024;
/// What a node holds for the table while the database cannot take it; past it, new records
/// are dropped (and counted in a warning).
const PENDING_BYTES: usize = 64 * 1024 * 1024;
/// How often the flusher applies the retention bounds when no new file began meanwhile (the
/// age bound moves with the clock); also at its first flush.
const RETAIN_EVERY_FLUSHES: u32 = 600;

/// The open day file (with a data dir) or the latest lines (without one). Shared by every clone
/// of the trail; a request holds its lock only to copy a line into the buffer.
#[derive(Default)]
pub(super) struct Sink {
    day: String,
    file: Option<std::io::BufWriter<std::fs::File>>,
    /// The open file's part of its day, path and size so far.
    part: u32,
    pub(super) path: Option<PathBuf>,
    file_bytes: u64,
    pub(super) retention: AuditRetention,
    /// A new file began since the flusher last applied the retention bounds.
    began: bool,
    recent: VecDeque<String>,
    pub(super) table: Option<Arc<dyn AuditTable>>,
    pending: Pending,
}

/// Lines not yet stored in the table.
#[derive(Default)]
pub(super) struct Pending {
    pub first_at: String,
    pub last_at: String,
    pub lines: String,
    dropped: u64,
}

impl Pending {
    fn push(&mut self, at: &str, line: &str) {
        if self.lines.len() + line.len() > PENDING_BYTES {
            self.dropped += 1;
            return;
        }
        if self.lines.is_empty() {
            self.first_at = at.to_string();
        } else {
            self.lines.push('\n');
        }
        if *at > *self.last_at {
            self.last_at = at.to_string();
        }
        self.lines.push_str(line);
    }

    /// Puts back a batch the table did not take, before what came since.
    fn put_back(&mut self, batch: Pending) {
        let newer = std::mem::replace(self, batch);
        self.dropped += newer.dropped;
        if !newer.lines.is_empty() {
            self.push(&newer.first_at, &newer.lines);
            if newer.last_at > self.last_at {
                self.last_at = newer.last_at;
            }
        }
    }
}

pub(super) type SharedSink = Arc<Mutex<Sink>>;

pub(super) fn lock(sink: &Mutex<Sink>) -> MutexGuard<'_, Sink> {
    sink.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sink {
    /// Appends one line of a record of time `at` (RFC 3339): to the table's next batch, to
    /// `dir`'s file of the record's UTC date, or to memory.
    pub(super) fn append(&mut self, dir: Option<&Path>, at: &str, line: Vec<u8>) {
        if self.table.is_some() {
            // Records are JSON, which is UTF-8.
            return self
                .pending
                .push(at, std::str::from_utf8(&line).unwrap_or_default());
        }
        let day = at.get(..10).unwrap_or("unknown");
        let Some(dir) = dir else {
            if self.recent.len() == MEMORY_RECORDS {
                self.recent.pop_front();
            }
            // Records are JSON, which is UTF-8.
            self.recent
                .push_back(String::from_utf8(line).unwrap_or_default());
            return;
        };
        let full = self.file_bytes >= files::part_bytes(&self.retention);
        if self.file.is_none() || self.day != day || full {
            let part = match (self.day == day && self.file.is_some(), full) {
                (true, true) => self.part + 1,
                (true, false) => self.part,
                // A day's first file of this run goes on with the day's last part.
                (false, _) => files::listed(dir)
                    .into_iter()
                    .rfind(|f| f.day == day)
                    .map_or(0, |f| match f.bytes >= files::part_bytes(&self.retention) {
                        true => f.part + 1,
                        false => f.part,
                    }),
            };
            if let Some(mut old) = self.file.take() {
                let _ = old.flush();
                let _ = old.get_ref().sync_data();
            }
            let path = dir.join(files::file_name(day, part));
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
            {
                Ok(f) => {
                    self.file_bytes = f.metadata().map_or(0, |m| m.len());
                    self.file = Some(std::io::BufWriter::with_capacity(BUFFER_BYTES, f));
                    self.day = day.to_string();
                    self.part = part;
                    self.path = Some(path);
                    self.began = true;
                }
                Err(e) => {
                    return tracing::warn!(path = %path.display(), error = %e, "cannot open the audit file")
                }
            }
        }
        if let Some(file) = self.file.as_mut() {
            let _ = file.write_all(&line);
            let _ = file.write_all(b"\n");
            self.file_bytes += line.len() as u64 + 1;
        }
    }

    /// Writes buffered lines out to the file, or stores them in the table (blocking).
    pub(super) fn flush(&mut self) {
        if let Some(file) = self.file.as_mut() {
            let _ = file.flush();
        }
        if let Some((table, batch)) = self.take_batch() {
            let stored = table.append(&batch.first_at, &batch.last_at, &batch.lines);
            self.stored(batch, stored);
        }
    }

    /// The lines for the table's next batch, if any.
    fn take_batch(&mut self) -> Option<(Arc<dyn AuditTable>, Pending)> {
        let table = self.table.clone()?;
        if self.pending.dropped > 0 {
            tracing::warn!(
                dropped = self.pending.dropped,
                "audit records dropped: the database did not take them"
            );
            self.pending.dropped = 0;
        }
        if self.pending.lines.is_empty() {
            return None;
        }
        Some((table, std::mem::take(&mut self.pending)))
    }

    /// A batch is stored, or goes back to wait for the next flush.
    fn stored(&mut self, batch: Pending, outcome: Result<(), String>) {
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "cannot store audit records; will retry");
            self.pending.put_back(batch);
        }
    }

    /// The lines kept in memory, oldest first.
    pub(super) fn recent(&self) -> impl Iterator<Item = &str> {
        self.recent.iter().map(String::as_str)
    }
}

/// Writes the buffer out every 100 ms and syncs the file every second, until the trail is
/// dropped (then `Drop` flushes and syncs a last time).
pub(super) async fn flush_periodically(sink: Weak<Mutex<Sink>>, dir: Option<PathBuf>) {
    let mut ticks = 0u32;
    loop {
        tokio::time::sleep(FLUSH_EVERY).await;
        let Some(sink) = sink.upgrade() else { return };
        ticks += 1;
        let due = ticks == 1 || ticks.is_multiple_of(RETAIN_EVERY_FLUSHES);
        match &dir {
            Some(dir) => retain(&sink, dir, due).await,
            None if due => retain_in_table(&sink).await,
            None => {}
        }
        let batch = lock(&sink).take_batch();
        if let Some((table, batch)) = batch {
            let (batch, stored) = tokio::task::spawn_blocking(move || {
                let stored = table.append(&batch.first_at, &batch.last_at, &batch.lines);
                (batch, stored)
            })
            .await
            .unwrap_or_else(|_| (Pending::default(), Err("the flusher stopped".into())));
            lock(&sink).stored(batch, stored);
            continue;
        }
        let file = {
            let mut sink = lock(&sink);
            let Some(file) = sink.file.as_mut() else {
                continue;
            };
            let _ = file.flush();
            // Sync on a second handle, outside the lock, so requests never wait for the disk.
            if ticks.is_multiple_of(SYNC_EVERY_FLUSHES) {
                file.get_ref().try_clone().ok()
            } else {
                None
            }
        };
        if let Some(file) = file {
            let _ = tokio::task::spawn_blocking(move || file.sync_data()).await;
        }
    }
}

/// Applies the retention bounds, off the request path, when a new file began or `due`.
async fn retain(sink: &Mutex<Sink>, dir: &Path, due: bool) {
    let (retention, current, today) = {
        let mut sink = lock(sink);
        if !std::mem::take(&mut sink.began) && !due {
            return;
        }
        let today = match sink.day.is_empty() {
            true => chrono::Utc::now().format("%Y-%m-%d").to_string(),
            false => sink.day.clone(),
        };
        (sink.retention, sink.path.clone(), today)
    };
    let dir = dir.to_path_buf();
    let _ = tokio::task::spawn_blocking(move || {
        files::enforce(&dir, &retention, &today, current.as_deref())
    })
    .await;
}

/// Applies the age bound to the table (every node does; the removals are the same). Its size
/// is not bounded: the database's own monitoring sees it.
async fn retain_in_table(sink: &Mutex<Sink>) {
    let (table, retention) = {
        let sink = lock(sink);
        (sink.table.clone(), sink.retention)
    };
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (Some(table), Some(day)) = (table, files::oldest_kept_day(&retention, &today)) else {
        return;
    };
    // A prefix of every time of that day (with or without fractions), and above the day before.
    let before = format!("{day}T00:00:00");
    let removed = tokio::task::spawn_blocking(move || table.remove_older_than(&before)).await;
    if let Ok(Err(e)) = removed {
        tracing::warn!(error = %e, "cannot remove old audit records from the database");
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(file) = self.file.as_mut() {
            let _ = file.flush();
            let _ = file.get_ref().sync_data();
        }
        self.flush();
    }
}
