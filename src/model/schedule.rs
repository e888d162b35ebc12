//! Rotation schedules (spec/rotation.md §3): `AutomaticallyAfterDays`, `rate()` expressions and
//! `Duration`, their validation, and the next rotation window after a base time.

use crate::error::{ApiError, ApiResult};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// How often a secret rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Days(i64),
    Hours(i64),
}

/// A rotation window: the scheduler rotates at `start_ms`; `NextRotationDate` is `end_ms`, the
/// latest time the rotation happens ("on or before").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid_parameter(message)
}

/// `rate(N hours)` / `rate(N days)`: every 4 hours at the most, 999 days at the least.
fn parse_rate(inner: &str) -> ApiResult<Schedule> {
    let mut parts = inner.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(format!(
            "The schedule expression rate({inner}) isn't valid."
        )));
    };
    let n: i64 = n.parse().map_err(|_| {
        invalid(format!(
            "The schedule expression rate({inner}) isn't valid."
        ))
    })?;
    match unit {
        "hour" | "hours" if (4..=999 * 24).contains(&n) => Ok(Schedule::Hours(n)),
        "hour" | "hours" => Err(invalid("The rotation frequency must be at least 4 hours.")),
        "day" | "days" if (1..=999).contains(&n) => Ok(Schedule::Days(n)),
        _ => Err(invalid(format!(
            "The schedule expression rate({inner}) isn't valid."
        ))),
    }
}

/// The schedule the rules describe. `cron()` is recognised but not yet run by secretsd, and says
/// so rather than storing a schedule that would never fire.
pub fn parse(days: Option<i64>, expression: Option<&str>) -> ApiResult<Option<Schedule>> {
    match (days, expression) {
        (Some(_), Some(_)) => Err(invalid(
            "You cannot specify both rotation frequency and schedule expression together.",
        )),
        (Some(n), None) => Ok(Some(Schedule::Days(n))),
        (None, Some(expr)) => {
            let expr = expr.trim();
            if let Some(inner) = expr.strip_prefix("rate(").and_then(|e| e.strip_suffix(')')) {
                parse_rate(inner).map(Some)
            } else if expr.starts_with("cron(") && expr.ends_with(')') {
                Err(invalid(
                    "secretsd does not run cron() rotation schedules yet; use rate() or AutomaticallyAfterDays.",
                ))
            } else {
                Err(invalid(format!(
                    "The schedule expression {expr} isn't valid."
                )))
            }
        }
        (None, None) => Ok(None),
    }
}

/// `Duration`: `[0-9]+h`, at least one hour, within a day and within the interval.
pub fn parse_duration(
    duration: Option<&str>,
    schedule: Option<Schedule>,
) -> ApiResult<Option<i64>> {
    let Some(text) = duration else {
        return Ok(None);
    };
    let hours: i64 = text
        .strip_suffix('h')
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| invalid(format!("The rotation window duration {text} isn't valid.")))?;
    let limit = match schedule {
        Some(Schedule::Hours(n)) => n.min(24),
        _ => 24,
    };
    if !(1..=limit).contains(&hours) {
        return Err(invalid(format!(
            "The rotation window duration {text} must be at least 1 hour and can't reach into the next rotation window or the next UTC day."
        )));
    }
    Ok(Some(hours))
}

/// The first window after `base_ms`: for N days, the UTC day N days after the base day (ending
/// at its last second, or after `duration`); for N hours, N hours after the base (1 h long by
/// default). spec/rotation.md §3.4.
pub fn next_window(schedule: Schedule, duration_hours: Option<i64>, base_ms: i64) -> Window {
    match schedule {
        Schedule::Days(n) => {
            let start = base_ms.div_euclid(DAY_MS) * DAY_MS + n * DAY_MS;
            let end = match duration_hours {
                Some(h) => start + h * HOUR_MS - 1000,
                None => start + DAY_MS - 1000,
            };
            Window {
                start_ms: start,
                end_ms: end,
            }
        }
        Schedule::Hours(n) => {
            let start = base_ms.div_euclid(HOUR_MS) * HOUR_MS + n * HOUR_MS;
            Window {
                start_ms: start,
                end_ms: start + duration_hours.unwrap_or(1) * HOUR_MS - 1000,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_rates() {
        assert_eq!(parse(Some(30), None).unwrap(), Some(Schedule::Days(30)));
        assert_eq!(
            parse(None, Some("rate(10 days)")).unwrap(),
            Some(Schedule::Days(10))
        );
        assert_eq!(
            parse(None, Some("rate(4 hours)")).unwrap(),
            Some(Schedule::Hours(4))
        );
        assert!(parse(None, Some("rate(3 hours)")).is_err());
        assert!(parse(None, Some("rate(0 days)")).is_err());
        assert!(parse(None, Some("rate(1 week)")).is_err());
        assert_eq!(
            parse(Some(1), Some("rate(1 day)")).unwrap_err().message,
            "You cannot specify both rotation frequency and schedule expression together."
        );
        assert!(parse(None, Some("cron(0 16 1,15 * ? *)")).is_err());
        assert_eq!(parse(None, None).unwrap(), None);
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration(Some("2h"), Some(Schedule::Days(1))).unwrap(),
            Some(2)
        );
        assert!(parse_duration(Some("0h"), None).is_err());
        assert!(parse_duration(Some("25h"), None).is_err());
        assert!(parse_duration(Some("5h"), Some(Schedule::Hours(4))).is_err());
        assert!(parse_duration(Some("2"), None).is_err());
    }

    #[test]
    fn windows() {
        // 2026-02-03T17:40Z + 30 days → window 2026-03-05, NextRotationDate 23:59:59 (spec §3.4).
        let base = 1_770_140_400_000;
        let w = next_window(Schedule::Days(30), None, base);
        assert_eq!(w.start_ms, 1_772_668_800_000);
        assert_eq!(w.end_ms, 1_772_755_199_000);
        let w = next_window(Schedule::Hours(4), None, base);
        assert_eq!(w.start_ms, 1_770_138_000_000 + 4 * HOUR_MS);
        assert_eq!(w.end_ms - w.start_ms, HOUR_MS - 1000);
    }
}
