//! `cron()`/`rate()` parsing (`model::schedule::parse`), `Duration` (`parse_duration`) and the
//! next rotation window (`next_window`), as RotateSecret and the rotation scheduler use them.
//!
//! Input: up to three lines: a `ScheduleExpression` (or `days=N` for `AutomaticallyAfterDays`),
//! a `Duration`, and a base time in epoch milliseconds, e.g. `cron(0 16 1,15 * ? *)\n2h\n0`.
//!
//! Properties: no panic and no hang; every refusal is an `InvalidParameterException`; a parsed
//! expression is in its documented range and renders back (`rate(N days)`, `rate(N hours)`,
//! `cron(...)`) to an expression that parses to the same schedule; an accepted duration is
//! 1–24 hours and within the schedule's limit; a window starts on the hour after the base time,
//! lasts less than a day, and for cron and day schedules stays within one UTC day.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secretsd::error::ErrorCode;
use secretsd::model::schedule::{self, Schedule};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The scheduler's base times are "now" or a recent rotation: 1970 to 2100 covers them.
const LATEST_BASE_MS: i64 = 4_102_444_800_000;

fn check_error(e: &secretsd::error::ApiError) {
    assert_eq!(e.code, ErrorCode::InvalidParameter, "{e:?}");
    assert!(!e.message.is_empty());
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // members are JSON strings: always UTF-8
    };
    let mut lines = text.splitn(3, '\n');
    let expression = lines.next().unwrap_or_default();
    let duration = lines.next();
    let base_ms = lines
        .next()
        .and_then(|b| b.trim().parse::<i64>().ok())
        .map_or(1_770_140_400_000, |b| b.rem_euclid(LATEST_BASE_MS + 1));

    // RotateSecret checks AutomaticallyAfterDays (1–1000) and the lengths of the other two
    // members before parsing; the parser itself must take anything.
    let (days, expression) = match expression.strip_prefix("days=") {
        Some(n) => match n.trim().parse::<i64>() {
            Ok(n) => (Some(n), None),
            Err(_) => return,
        },
        None => (None, Some(expression)),
    };
    let parsed = match schedule::parse(days, expression) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => unreachable!("one of the two was given"),
        Err(e) => return check_error(&e),
    };
    if let Some(n) = days {
        assert_eq!(parsed, Schedule::Days(n));
        if !(1..=1000).contains(&n) {
            return; // RotateSecret refuses these before they are ever scheduled
        }
    }

    // Ranges, and the expression rendered back parses to the same schedule.
    let rendered = match &parsed {
        Schedule::Days(n) => {
            assert!(days.is_some() || (1..=999).contains(n), "{n} days");
            format!("rate({n} days)")
        }
        Schedule::Hours(n) => {
            assert!((4..=999 * 24).contains(n), "{n} hours");
            format!("rate({n} hours)")
        }
        Schedule::Cron(_) => {
            let inner = expression
                .unwrap()
                .trim()
                .strip_prefix("cron(")
                .and_then(|e| e.strip_suffix(')'))
                .expect("a cron schedule came from cron(...)");
            format!("cron({inner})")
        }
    };
    // AutomaticallyAfterDays goes up to 1000, rate() to 999 days: re-read days as days.
    let again = match days {
        Some(_) => schedule::parse(days, None),
        None => schedule::parse(None, Some(&rendered)),
    }
    .unwrap_or_else(|e| panic!("{rendered} does not parse again: {e:?}"));
    assert_eq!(again.as_ref(), Some(&parsed), "{rendered}");

    let hours = match schedule::parse_duration(duration, Some(&parsed)) {
        Ok(hours) => hours,
        Err(e) => return check_error(&e),
    };
    assert_eq!(hours.is_some(), duration.is_some());
    if let Some(h) = hours {
        assert!((1..=24).contains(&h), "{h}h");
        if let Schedule::Hours(n) = parsed {
            assert!(h <= n, "{h}h with rate({n} hours)");
        }
    }

    let window = schedule::next_window(&parsed, hours, base_ms);
    let (start, end) = (window.start_ms, window.end_ms);
    assert!(start > base_ms, "{start} is not after {base_ms}");
    assert_eq!(start.rem_euclid(HOUR_MS), 0, "{start} is not on the hour");
    assert!(end >= start && end - start < DAY_MS, "{start}..{end}");
    match &parsed {
        Schedule::Days(_) | Schedule::Cron(_) => assert_eq!(
            start.div_euclid(DAY_MS),
            end.div_euclid(DAY_MS),
            "{start}..{end} crosses midnight"
        ),
        Schedule::Hours(n) => assert!(end < start + n * HOUR_MS, "reaches the next window"),
    }
    // The next window, counted from this one's start, comes later still.
    let next = schedule::next_window(&parsed, hours, start);
    assert!(next.start_ms > start);
});
