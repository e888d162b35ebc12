//! The audit files under the data dir: one or more parts a UTC day (`YYYY-MM-DD.jsonl`, then
//! `YYYY-MM-DD.0001.jsonl`, …), and their retention by age and by total size, oldest first.

use crate::config::AuditRetention;
use std::path::{Path, PathBuf};

/// One audit file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AuditFile {
    pub day: String,
    pub part: u32,
    pub path: PathBuf,
    pub bytes: u64,
}

pub(super) fn file_name(day: &str, part: u32) -> String {
    match part {
        0 => format!("{day}.jsonl"),
        n => format!("{day}.{n:04}.jsonl"),
    }
}

/// (day, part) of an audit file's name.
fn parse_name(name: &str) -> Option<(String, u32)> {
    let stem = name.strip_suffix(".jsonl")?;
    let (day, part) = match stem.split_once('.') {
        Some((day, part)) => (day, part.parse().ok()?),
        None => (stem, 0),
    };
    let well_formed = day.len() == 10 && day.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    well_formed.then(|| (day.to_string(), part))
}

/// The audit files in `dir`, oldest first.
pub(super) fn listed(dir: &Path) -> Vec<AuditFile> {
    let mut files: Vec<AuditFile> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let (day, part) = parse_name(entry.file_name().to_str()?)?;
                    let bytes = entry.metadata().ok()?.len();
                    Some(AuditFile {
                        day,
                        part,
                        path: entry.path(),
                        bytes,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort_by(|a, b| (&a.day, a.part).cmp(&(&b.day, b.part)));
    files
}

/// How large one part grows before the next begins: small enough that the size bound is kept
/// to within an eighth, large enough that a busy day is a few files.
pub(super) fn part_bytes(retention: &AuditRetention) -> u64 {
    const MIN: u64 = 1024 * 1024;
    const MAX: u64 = 64 * 1024 * 1024;
    match retention.max_bytes {
        0 => MAX,
        bound => (bound / 8).clamp(MIN, MAX),
    }
}

/// The first day the age bound keeps (`None`: no bound), `today` being kept whatever the bound.
pub(super) fn oldest_kept_day(retention: &AuditRetention, today: &str) -> Option<String> {
    if retention.max_age_days == 0 {
        return None;
    }
    chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d")
        .ok()?
        .checked_sub_days(chrono::Days::new(u64::from(retention.max_age_days) - 1))
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// Removes the files older than the age bound (by their day, against `today`), then the oldest
/// while all of them take more than the size bound; never `current`, the one being written.
/// Returns what it removed.
pub(super) fn enforce(
    dir: &Path,
    retention: &AuditRetention,
    today: &str,
    current: Option<&Path>,
) -> Vec<PathBuf> {
    let oldest_kept = oldest_kept_day(retention, today);
    let files = listed(dir);
    let mut total: u64 = files.iter().map(|f| f.bytes).sum();
    let mut removed = Vec::new();
    for file in files {
        if current == Some(file.path.as_path()) {
            continue;
        }
        let too_old = oldest_kept.as_ref().is_some_and(|kept| file.day < *kept);
        let too_big = retention.max_bytes > 0 && total > retention.max_bytes;
        if !too_old && !too_big {
            continue;
        }
        match std::fs::remove_file(&file.path) {
            Ok(()) => {
                total -= file.bytes;
                removed.push(file.path);
            }
            Err(e) => {
                tracing::warn!(path = %file.path.display(), error = %e, "cannot remove an old audit file")
            }
        }
    }
    if !removed.is_empty() {
        tracing::info!(files = removed.len(), "removed old audit files");
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, day: &str, part: u32, bytes: usize) {
        std::fs::write(dir.join(file_name(day, part)), vec![b'x'; bytes]).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        listed(dir)
            .into_iter()
            .map(|f| f.path.file_name().unwrap().to_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn parts_sort_after_their_day_and_strangers_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "2026-12-07", 2, 1);
        write(dir.path(), "2026-12-07", 0, 1);
        write(dir.path(), "2026-12-06", 11, 1);
        write(dir.path(), "2026-12-07", 10, 1);
        std::fs::write(dir.path().join("notes.jsonl"), b"x").unwrap();
        std::fs::write(dir.path().join("2026-12-07.jsonl.tmp"), b"x").unwrap();
        assert_eq!(
            names(dir.path()),
            [
                "2026-12-06.0011.jsonl",
                "2026-12-07.jsonl",
                "2026-12-07.0002.jsonl",
                "2026-12-07.0010.jsonl"
            ]
        );
    }

    #[test]
    fn old_days_go_then_the_oldest_parts_until_the_rest_fits() {
        let dir = tempfile::tempdir().unwrap();
        for (day, part) in [
            ("2026-11-01", 0),
            ("2026-12-05", 0),
            ("2026-12-06", 0),
            ("2026-12-06", 1),
            ("2026-12-07", 0),
        ] {
            write(dir.path(), day, part, 100);
        }
        let current = dir.path().join(file_name("2026-12-07", 0));
        let retention = AuditRetention {
            max_age_days: 30,
            max_bytes: 250,
        };
        let removed = enforce(dir.path(), &retention, "2026-12-07", Some(&current));
        assert_eq!(removed.len(), 3);
        assert_eq!(
            names(dir.path()),
            ["2026-12-06.0001.jsonl", "2026-12-07.jsonl"]
        );
        // The file being written stays, whatever its size.
        let tiny = AuditRetention {
            max_age_days: 1,
            max_bytes: 1,
        };
        enforce(dir.path(), &tiny, "2026-12-07", Some(&current));
        assert_eq!(names(dir.path()), ["2026-12-07.jsonl"]);
        // No bounds: nothing goes.
        write(dir.path(), "2020-01-01", 0, 100);
        let none = AuditRetention {
            max_age_days: 0,
            max_bytes: 0,
        };
        assert!(enforce(dir.path(), &none, "2026-12-07", None).is_empty());
    }

    #[test]
    fn a_part_is_an_eighth_of_the_bound_within_limits() {
        let mb = 1024 * 1024;
        let part = |max_bytes| {
            part_bytes(&AuditRetention {
                max_age_days: 0,
                max_bytes,
            })
        };
        assert_eq!(part(512 * mb), 64 * mb);
        assert_eq!(part(80 * mb), 10 * mb);
        assert_eq!(part(2 * mb), mb);
        assert_eq!(part(0), 64 * mb);
    }
}
