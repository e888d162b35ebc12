//! Room on the disk that holds the data dir. redb fails for good on a write the disk cannot
//! take (every later call answers "Previous I/O error"), so once a change has failed for want
//! of space the committer opens the data file again and refuses changes at once, without
//! touching redb, until the disk has more room than it had then.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How much more room than at the failure makes the committer try a change again.
const ROOM_TO_RETRY: u64 = 1024 * 1024;

/// Whether an error is the disk's refusal to grow a file (full, or over a quota).
pub fn is_out_of_space(e: &dyn std::fmt::Display) -> bool {
    // redb keeps the io::Error only as text; std renders the errno as "(os error N)".
    let text = e.to_string();
    [libc::ENOSPC, libc::EDQUOT]
        .iter()
        .any(|errno| text.contains(&format!("(os error {errno})")))
}

pub fn is_out_of_space_io(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// Bytes an unprivileged process may still write on the filesystem of `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a valid C string and `stat` is written by the call before it is read.
    let done = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
    if done != 0 {
        return None;
    }
    // SAFETY: statvfs succeeded, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    // The fields' widths vary by platform.
    #[allow(clippy::unnecessary_cast)]
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// Whether changes are being refused for want of space, shared by the committer (which sets
/// it) and the engine (which reports it to the health check).
pub struct Space {
    dir: PathBuf,
    /// The free bytes when a change last failed for want of space; `None`: not short.
    short: Mutex<Option<u64>>,
}

impl Space {
    pub fn new(dir: &Path) -> Space {
        Space {
            dir: dir.to_path_buf(),
            short: Mutex::new(None),
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.short.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A change failed for want of space.
    pub fn ran_out(&self) {
        let free = free_bytes(&self.dir).unwrap_or(0);
        tracing::error!(
            free_bytes = free,
            dir = %self.dir.display(),
            "no space left on the disk of the data dir: changes are refused, reads are served"
        );
        *self.slot() = Some(free);
    }

    /// A change went through: the disk takes changes again.
    pub fn recovered(&self) {
        if self.slot().take().is_some() {
            tracing::info!("the disk of the data dir has room again: changes are taken");
        }
    }

    pub fn is_short(&self) -> bool {
        self.slot().is_some()
    }

    /// Whether a change must be refused without trying: the disk is short and has not gained
    /// `ROOM_TO_RETRY` since the last failure.
    pub fn still_short(&self) -> bool {
        let Some(then) = *self.slot() else {
            return false;
        };
        free_bytes(&self.dir).is_none_or(|now| now < then.saturating_add(ROOM_TO_RETRY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_space_is_told_from_other_failures() {
        let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(is_out_of_space_io(&full));
        assert!(is_out_of_space(&format!("storage: I/O error: {full}")));
        let other = std::io::Error::from_raw_os_error(libc::EIO);
        assert!(!is_out_of_space_io(&other));
        assert!(!is_out_of_space(&format!("storage: I/O error: {other}")));
    }

    #[test]
    fn a_shortage_lasts_until_the_disk_has_more_room_or_a_change_went_through() {
        let dir = tempfile::tempdir().unwrap();
        let space = Space::new(dir.path());
        assert!(free_bytes(dir.path()).is_some_and(|free| free > 0));
        assert!(!space.still_short());
        // As if the disk had had all this room more when the change failed.
        *space.slot() = Some(free_bytes(dir.path()).unwrap() + (1 << 40));
        assert!(space.is_short() && space.still_short());
        *space.slot() = Some(0);
        assert!(
            space.is_short() && !space.still_short(),
            "more room: try again"
        );
        space.recovered();
        assert!(!space.is_short());
    }
}
