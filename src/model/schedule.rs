//! Rotation schedules (docs/aws-behaviour.md §R3): `AutomaticallyAfterDays`, `rate()` and `cron()`
//! expressions and `Duration`, their validation, and the next rotation window after a base time.

use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, TimeZone, Utc};
use croner::parser::{CronParser, Seconds, Year};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// How often a secret rotates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Days(i64),
    Hours(i64),
    Cron(Box<CronSchedule>),
}

/// A `cron()` expression in Secrets Manager's dialect: six fields (minutes, hours, day of month,
/// month, day of week 1–7 = SUN–SAT, year), minutes `0`, year `*`, one day field `?`. Evaluation is
/// croner's, in its Quartz weekday mode, which is this dialect's numbering.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    expression: String,
    cron: croner::Cron,
    /// The UTC hours of the day it can fire at, ascending.
    hours: Vec<u32>,
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression
    }
}

impl Eq for CronSchedule {}

impl CronSchedule {
    /// Fires several times a day: its windows default to one hour, not the rest of the day.
    fn hourly(&self) -> bool {
        self.hours.len() > 1
    }

    /// The longest window that neither reaches the next window nor the next UTC day.
    fn max_duration_hours(&self) -> i64 {
        let mut limit = 24 - i64::from(*self.hours.last().unwrap_or(&0));
        for pair in self.hours.windows(2) {
            limit = limit.min(i64::from(pair[1] - pair[0]));
        }
        limit.max(1)
    }

    /// The first firing strictly after `after_ms`.
    fn next_after(&self, after_ms: i64) -> Option<i64> {
        let after = Utc.timestamp_millis_opt(after_ms).single()?;
        let next: DateTime<Utc> = self.cron.find_next_occurrence(&after, false).ok()?;
        Some(next.timestamp_millis())
    }
}

fn cron_parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .build()
}

/// `cron(...)`'s inside, checked against the dialect's own rules before croner reads it.
fn parse_cron(inner: &str) -> ApiResult<Schedule> {
    let bad = |why: &str| {
        invalid(format!(
            "The schedule expression cron({inner}) isn't valid: {why}"
        ))
    };
    let fields: Vec<&str> = inner.split_whitespace().collect();
    let [minutes, hours, day_of_month, _month, day_of_week, year] = fields[..] else {
        return Err(bad(
            "it needs six fields: minutes hours day-of-month month day-of-week year.",
        ));
    };
    if minutes != "0" {
        return Err(bad(
            "the minutes field must be 0, rotation windows start on the hour.",
        ));
    }
    if year != "*" {
        return Err(bad("the year field must be *."));
    }
    if (day_of_month == "?") == (day_of_week == "?") {
        return Err(bad(
            "exactly one of day-of-month and day-of-week must be ?.",
        ));
    }
    let cron = cron_parser()
        .parse(&format!("0 {inner}"))
        .map_err(|e| bad(&format!("{e}.")))?;
    // The hours it fires at: the hours field alone, matched against each hour of one day. Not
    // searched for: croner's search for an hours field that matches nothing (`,`) can run for a
    // long time before giving up.
    let day = cron_parser()
        .parse(&format!("0 0 {hours} * * ? *"))
        .map_err(|e| bad(&format!("{e}.")))?;
    let fire_hours: Vec<u32> = (0..24u32)
        .filter(|hour| {
            Utc.timestamp_opt(i64::from(*hour) * 3600, 0)
                .single()
                .is_some_and(|t| day.is_time_matching(&t).unwrap_or(false))
        })
        .collect();
    if fire_hours.is_empty() {
        return Err(bad("it never matches a date."));
    }
    let schedule = CronSchedule {
        expression: inner.to_string(),
        cron,
        hours: fire_hours,
    };
    // An expression that can never fire (31 FEB) would leave the secret unscheduled for ever.
    if schedule.next_after(0).is_none() {
        return Err(bad("it never matches a date."));
    }
    Ok(Schedule::Cron(Box::new(schedule)))
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
    let bad_rate = || {
        invalid(format!(
            "The schedule expression rate({inner}) isn't valid."
        ))
    };
    let mut parts = inner.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_rate());
    };
    let n: i64 = n.parse().map_err(|_| bad_rate())?;
    match unit {
        "hour" | "hours" if (4..=999 * 24).contains(&n) => Ok(Schedule::Hours(n)),
        "hour" | "hours" => Err(invalid("The rotation frequency must be at least 4 hours.")),
        "day" | "days" if (1..=999).contains(&n) => Ok(Schedule::Days(n)),
        _ => Err(bad_rate()),
    }
}

/// The schedule the rules describe.
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
            } else if let Some(inner) = expr.strip_prefix("cron(").and_then(|e| e.strip_suffix(')'))
            {
                parse_cron(inner).map(Some)
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
    schedule: Option<&Schedule>,
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
        Some(Schedule::Hours(n)) => (*n).min(24),
        Some(Schedule::Cron(cron)) => cron.max_duration_hours(),
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
/// default); for cron, its next firing (one hour long if it fires several times a day, else to
/// the end of the day). docs/aws-behaviour.md §R3.4.
pub fn next_window(schedule: &Schedule, duration_hours: Option<i64>, base_ms: i64) -> Window {
    match schedule {
        Schedule::Cron(cron) => {
            let start = cron
                .next_after(base_ms)
                .unwrap_or(base_ms.div_euclid(DAY_MS) * DAY_MS + DAY_MS);
            let default_end = if cron.hourly() {
                start + HOUR_MS
            } else {
                start.div_euclid(DAY_MS) * DAY_MS + DAY_MS
            };
            let end = duration_hours.map_or(default_end, |h| start + h * HOUR_MS);
            Window {
                start_ms: start,
                end_ms: end - 1000,
            }
        }
        Schedule::Days(n) => {
            let start = base_ms.div_euclid(DAY_MS) * DAY_MS + *n * DAY_MS;
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
            let start = base_ms.div_euclid(HOUR_MS) * HOUR_MS + *n * HOUR_MS;
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
        assert_eq!(parse(None, None).unwrap(), None);
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration(Some("2h"), Some(&Schedule::Days(1))).unwrap(),
            Some(2)
        );
        assert!(parse_duration(Some("0h"), None).is_err());
        assert!(parse_duration(Some("25h"), None).is_err());
        assert!(parse_duration(Some("5h"), Some(&Schedule::Hours(4))).is_err());
        assert!(parse_duration(Some("2"), None).is_err());
    }

    #[test]
    fn windows() {
        // 2026-02-03T17:40Z + 30 days → window 2026-03-05, NextRotationDate 23:59:59
        // (docs/aws-behaviour.md §R3.4).
        let base = 1_770_140_400_000;
        let w = next_window(&Schedule::Days(30), None, base);
        assert_eq!(w.start_ms, 1_772_668_800_000);
        assert_eq!(w.end_ms, 1_772_755_199_000);
        let w = next_window(&Schedule::Hours(4), None, base);
        assert_eq!(w.start_ms, 1_770_138_000_000 + 4 * HOUR_MS);
        assert_eq!(w.end_ms - w.start_ms, HOUR_MS - 1000);
    }

    fn cron(expr: &str) -> Schedule {
        parse(None, Some(expr)).unwrap().unwrap()
    }

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    fn window_of(expr: &str, base: &str) -> (String, String) {
        let w = next_window(&cron(expr), None, at(base));
        let show = |ms: i64| {
            Utc.timestamp_millis_opt(ms)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        };
        (show(w.start_ms), show(w.end_ms))
    }

    #[test]
    fn cron_dialect_rules() {
        let message = |e: &str| parse(None, Some(e)).unwrap_err().message;
        assert!(message("cron(15 10 * * ? *)").contains("minutes field must be 0"));
        assert!(message("cron(0 10 * * ? 2027)").contains("year field must be *"));
        assert!(message("cron(0 10 * * * *)").contains("exactly one of"));
        assert!(message("cron(0 10 ? * ? *)").contains("exactly one of"));
        assert!(message("cron(0 10 * * ?)").contains("six fields"));
        assert!(message("cron(0 25 * * ? *)").starts_with("The schedule expression cron(0 25"));
        assert!(message("cron(0 10 31 2 ? *)").contains("never matches"));
        // An hours field that matches no hour (the fuzzer's find: croner searched for it).
        assert!(message("cron(0 , ? 1/3 SUN#1 *)").contains("never matches"));
        assert!(message("cron(0 , * * ? *)").contains("never matches"));
        // Every example of the user guide parses.
        for e in [
            "cron(0 /8 * * ? *)",
            "cron(0 8/8 * * ? *)",
            "cron(0 10 * * ? *)",
            "cron(0 18 ? * SAT *)",
            "cron(0 8 1 * ? *)",
            "cron(0 1 ? 1/3 SUN#1 *)",
            "cron(0 17 L * ? *)",
            "cron(0 8 ? * MON-FRI *)",
            "cron(0 16 1,15 * ? *)",
            "cron(0 0 ? * SUN#1 *)",
        ] {
            assert!(matches!(cron(e), Schedule::Cron(_)), "{e}");
        }
    }

    #[test]
    fn cron_windows() {
        // Day-based: from the firing hour to the end of that UTC day.
        assert_eq!(
            window_of("cron(0 16 1,15 * ? *)", "2026-11-28T12:00:00Z"),
            ("2026-12-01T16:00:00Z".into(), "2026-12-01T23:59:59Z".into())
        );
        // 1 = SUN, as in EventBridge: the first Sunday of every third month from January.
        assert_eq!(
            window_of("cron(0 1 ? 1/3 SUN#1 *)", "2026-11-28T12:00:00Z"),
            ("2027-01-03T01:00:00Z".into(), "2027-01-03T23:59:59Z".into())
        );
        assert_eq!(
            window_of("cron(0 17 L * ? *)", "2026-11-28T12:00:00Z"),
            ("2026-11-30T17:00:00Z".into(), "2026-11-30T23:59:59Z".into())
        );
        assert_eq!(
            window_of("cron(0 8 ? * 2-6 *)", "2026-11-28T12:00:00Z"),
            ("2026-11-30T08:00:00Z".into(), "2026-11-30T23:59:59Z".into())
        );
        // Hour increments restart every day and give one-hour windows.
        assert_eq!(
            window_of("cron(0 4/12 * * ? *)", "2026-11-28T17:00:00Z"),
            ("2026-11-29T04:00:00Z".into(), "2026-11-29T04:59:59Z".into())
        );
        // A firing at the base instant itself is not "after" it.
        assert_eq!(
            window_of("cron(0 10 * * ? *)", "2026-11-28T10:00:00Z").0,
            "2026-11-29T10:00:00Z"
        );
    }

    #[test]
    fn cron_durations() {
        let twice = cron("cron(0 4/12 * * ? *)");
        // 04:00 and 16:00: a window may not pass midnight, so 8 hours at most.
        assert_eq!(parse_duration(Some("8h"), Some(&twice)).unwrap(), Some(8));
        assert!(parse_duration(Some("9h"), Some(&twice)).is_err());
        let evening = cron("cron(0 20 * * ? *)");
        assert_eq!(parse_duration(Some("4h"), Some(&evening)).unwrap(), Some(4));
        assert!(parse_duration(Some("5h"), Some(&evening)).is_err());
        let w = next_window(&evening, Some(2), at("2026-11-28T00:00:00Z"));
        assert_eq!(w.end_ms - w.start_ms, 2 * HOUR_MS - 1000);
    }
}
