//! The layout's format version, and which engine a data dir belongs to. A store records the
//! version of the layout it was written in (`keys::FORMAT`); a build refuses a newer one rather
//! than misreading it. When the layout changes, the version goes up and opening an older store
//! converts it here.

use super::engine::{EngineKind, Op, Snapshot};
use super::error::{StoreError, StoreResult};
use super::keys::FORMAT;
use std::path::Path;

/// The layout `super::keys` describes.
pub const VERSION: u32 = 1;

/// The version marker a new (or reset) store gets.
pub fn marker() -> Op {
    Op::Put(FORMAT.to_vec(), VERSION.to_be_bytes().to_vec())
}

/// The version a store records (`None`: a new store).
pub fn read(snapshot: &dyn Snapshot) -> StoreResult<Option<u32>> {
    let Some(bytes) = snapshot.get(FORMAT)? else {
        return Ok(None);
    };
    let version = <[u8; 4]>::try_from(bytes.as_slice())
        .map(u32::from_be_bytes)
        .map_err(|_| StoreError::Damaged("its format version is unreadable".into()))?;
    if version > VERSION {
        return Err(StoreError::Format(format!(
            "the store is in format {version}, written by a newer secretsd; this one reads format {VERSION}"
        )));
    }
    Ok(Some(version))
}

/// The file or directory each engine keeps in a data dir (`None`: it keeps none there).
pub fn engine_file(kind: &EngineKind) -> Option<&'static str> {
    match kind {
        EngineKind::Redb => Some(super::engine::redb::FILE_NAME),
        EngineKind::Sled => Some(super::engine::sled::DIR_NAME),
        EngineKind::Postgres(_) => None,
    }
}

/// Refuses to open a data dir with one engine when another engine's store is in it: it would
/// start empty beside the secrets it does not see.
pub fn check_dir(dir: &Path, kind: &EngineKind) -> StoreResult<()> {
    if engine_file(kind).is_none() {
        return Ok(());
    }
    let holds = |other: &EngineKind| engine_file(other).is_some_and(|f| dir.join(f).exists());
    match EngineKind::EMBEDDED
        .into_iter()
        .find(|other| other != kind && holds(other))
    {
        Some(other) => Err(StoreError::Format(format!(
            "{} holds a {} store; start with --store {} (or use another --data-dir for a {} store)",
            dir.display(),
            other.name(),
            other.name(),
            kind.name()
        ))),
        None => Ok(()),
    }
}
