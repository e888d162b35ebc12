//! The store's errors: what an operator reads at start-up, and what a request that met a
//! storage failure is answered with (an `InternalServiceError`, never the detail).

use crate::error::ApiError;
use std::path::PathBuf;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data dir {}: {detail}", dir.display())]
    CreateDir { dir: PathBuf, detail: String },
    /// The data dir, or a file in it, cannot be opened or created.
    #[error("cannot open the store in {}: {detail}", dir.display())]
    Open { dir: PathBuf, detail: String },
    #[error("the store in {} is in use by another secretsd", .0.display())]
    InUse(PathBuf),
    /// Bytes on disk that cannot be what the store wrote, found at open: nothing is served.
    #[error("the store in {} is damaged ({why}) and was not opened; restore the data dir from a backup or move it aside", dir.display())]
    DamagedAtOpen { dir: PathBuf, why: String },
    /// Bytes on disk that cannot be what the store wrote, found by a read.
    #[error("the store is damaged: {0}")]
    Damaged(String),
    #[error("the master key does not match this store (was master.key replaced, or SECRETSD_MASTER_KEY changed?)")]
    WrongMasterKey,
    /// A master key given or kept in a file that is not one.
    #[error("{0}")]
    MasterKey(String),
    /// A layout this build does not read: another engine's, or a newer format.
    #[error("{0}")]
    Format(String),
    /// A read or a write the engine refused.
    #[error("storage: {0}")]
    Engine(String),
    /// The disk that holds the data dir has no room for a change: it is refused, reads go on.
    #[error("no space left on the disk that holds the data dir")]
    NoSpace,
    /// The database of a shared store cannot be reached, or did not answer in time.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("the store is closed")]
    Closed,
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn engine(e: impl std::fmt::Display) -> StoreError {
        StoreError::Engine(e.to_string())
    }
}

/// A client is told only that the service failed (the log has the detail), except when the
/// cause is one an operator fixes and the client should be told: a full disk.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NoSpace => ApiError::new(
                crate::error::ErrorCode::InternalServiceError,
                crate::error::messages::NO_SPACE,
            ),
            e => ApiError::internal(e),
        }
    }
}
