//! `Clock`: the only source of "now", so tests can move time across
//! recovery windows and rotation schedules without sleeping.

use chrono::{DateTime, TimeZone, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// System time plus an adjustable offset (milliseconds). Cloning shares the offset.
#[derive(Clone, Default, Debug)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch, offset applied.
    pub fn now_millis(&self) -> i64 {
        Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.now_millis())
            .single()
            .unwrap_or_else(Utc::now)
    }

    /// Moves time forward (or back, with a negative value) by `ms`.
    pub fn advance_millis(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Makes `now()` return `at` (and run on from there).
    pub fn set_millis(&self, at: i64) {
        let offset = at - Utc::now().timestamp_millis();
        self.offset_ms.store(offset, Ordering::Relaxed);
    }

    /// Back to system time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }

    pub fn offset_millis(&self) -> i64 {
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
        clock.advance_millis(86_400_000 * 31);
        assert!(clock.now_millis() - before >= 86_400_000 * 31);
    }

    #[test]
    fn day_start_truncates_to_midnight_utc() {
        // 2025-06-18T13:53:03.123Z
        assert_eq!(day_start_millis(1_750_254_783_123), 1_750_204_800_000);
    }
}
