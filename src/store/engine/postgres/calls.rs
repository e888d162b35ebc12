//! How the engine talks to the database: its errors as store errors, every call bounded in
//! time, and calls made from outside the engine's own runtime.

use crate::store::error::{StoreError, StoreResult};
use std::future::Future;
use std::time::Duration;
use tokio::runtime::Handle;

/// How long one call may wait for the database before it fails.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

pub fn db_error(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Engine(format!("database: {}", db.message())),
        // The cause says why (a refused connection, a certificate from an unknown CA, …).
        None => match std::error::Error::source(&e) {
            Some(cause) => StoreError::Unavailable(format!("{e}: {cause}")),
            None => StoreError::Unavailable(e.to_string()),
        },
    }
}

pub fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db_error(e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// `call`, bounded by `CALL_TIMEOUT`.
pub async fn bounded<T>(call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the database did not answer in time".into(),
            ))
        })
}

/// Runs `call` on the engine's runtime, bounded by `CALL_TIMEOUT`.
pub fn spawn<T: Send + 'static>(
    handle: &Handle,
    call: impl Future<Output = StoreResult<T>> + Send + 'static,
) -> impl Future<Output = StoreResult<T>> + Send + 'static {
    let task = handle.spawn(bounded(call));
    async move { task.await.map_err(|_| StoreError::Closed)? }
}

/// Runs `call` on the engine's runtime, bounded likewise, and waits for it on this thread: one
/// task, whose answer comes back through a channel.
pub fn block<T: Send + 'static>(
    handle: &Handle,
    call: impl Future<Output = StoreResult<T>> + Send + 'static,
) -> StoreResult<T> {
    let (answer, wait) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = answer.send(bounded(call).await);
    });
    wait.recv().map_err(|_| StoreError::Closed)?
}
