//! Where the nodes of a cluster keep one audit trail: a table of batches in the database they
//! share (a store's engine provides it). Each node's flusher stores what it buffered as one
//! batch, so the trail costs the database one row per node every flush, not one per request.

/// One stored batch: records (one JSON line each) in the order the node wrote them.
pub struct Batch {
    pub id: i64,
    /// The `eventTime` of its oldest record.
    pub first_at: String,
    pub lines: String,
}

pub trait AuditTable: Send + Sync {
    /// Stores `lines` (records joined by newlines; event times from `first_at` to `last_at`) as
    /// one batch. Blocks until it is stored.
    fn append(&self, first_at: &str, last_at: &str, lines: &str) -> Result<(), String>;

    /// Up to `limit` batches after batch `after` that may hold records at or after `since`
    /// (RFC 3339), in the order they were stored. Blocks.
    fn batches(&self, since: &str, after: i64, limit: usize) -> Result<Vec<Batch>, String>;

    /// Removes the batches whose newest record is older than `before` (RFC 3339). Blocks.
    fn remove_older_than(&self, before: &str) -> Result<u64, String>;
}
