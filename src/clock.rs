//! `Clock`: the only source of "now", so tests can move time across
//! recovery windows and rotation schedules without sleeping.

use chrono::{DateTime, TimeZone, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Where the nodes of a cluster keep one offset, so that all of them tell the same time.
pub trait SharedOffset: Send + Sync {
    /// The offset now; `None` if it cannot be read (the last one read is used meanwhile).
    fn read(&self) -> Option<i64>;

    /// Sets it for every node; returns once all of them use it.
    fn write(&self, ms: i64) -> Result<(), String>;
}

/// System time plus an adjustable offset (milliseconds). Cloning shares the offset.
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    /// On a store several nodes share: the offset they all use (set through the store).
    shared: Option<Arc<dyn SharedOffset>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("offset_ms", &self.offset_ms.load(Ordering::Relaxed))
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl Clock {
    /// A clock whose offset is the one `shared` holds for every node.
    pub fn shared(shared: Arc<dyn SharedOffset>) -> Clock {
        Clock {
            offset_ms: Arc::default(),
            shared: Some(shared),
        }
    }

    /// Milliseconds since the Unix epoch, offset applied.
    pub fn now_millis(&self) -> i64 {
        Utc::now().timestamp_millis() + self.offset_millis()
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.now_millis())
            .single()
            .unwrap_or_else(Utc::now)
    }

    /// Moves time forward (or back, with a negative value) by `ms`.
    pub fn advance_millis(&self, ms: i64) -> Result<(), String> {
        self.set_offset_millis(self.offset_millis() + ms)
    }

    /// Makes `now()` return `at` (and run on from there).
    pub fn set_millis(&self, at: i64) -> Result<(), String> {
        self.set_offset_millis(Self::offset_for(at))
    }

    /// The offset that makes `now()` return `at`.
    pub fn offset_for(at: i64) -> i64 {
        at - Utc::now().timestamp_millis()
    }

    /// Back to system time, on this node (a store's reset clears a shared offset).
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }

    /// Sets the offset (a shared clock's for every node: this waits for its store).
    pub fn set_offset_millis(&self, ms: i64) -> Result<(), String> {
        if let Some(shared) = &self.shared {
            shared.write(ms)?;
        }
        self.offset_ms.store(ms, Ordering::Relaxed);
        Ok(())
    }

    pub fn offset_millis(&self) -> i64 {
        if let Some(ms) = self.shared.as_ref().and_then(|shared| shared.read()) {
            self.offset_ms.store(ms, Ordering::Relaxed);
            return ms;
        }
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// Midnight UTC of the day that contains `ms`: AWS reports `LastAccessedDate` at day granularity.
pub fn day_start_millis(ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    ms.div_euclid(DAY) * DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward() {
        let clock = Clock::default();
        let before = clock.now_millis();
        clock.advance_millis(86_400_000 * 31).unwrap();
        assert!(clock.now_millis() - before >= 86_400_000 * 31);
    }

    #[test]
    fn day_start_truncates_to_midnight_utc() {
        // 2025-06-18T13:53:03.123Z
        assert_eq!(day_start_millis(1_750_254_783_123), 1_750_204_800_000);
    }
}
