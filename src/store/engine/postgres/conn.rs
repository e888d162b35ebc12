//! The connections reads and changes run on: the pool's, or the one connection a change holds
//! from its lock to its commit.

use super::calls::{db_error, pool_error};
use crate::store::error::StoreResult;
use deadpool_postgres::{ClientWrapper, Object, Pool};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

pub const GET: &str = "SELECT v FROM secretsd_kv WHERE k = $1";

/// A connection inside a transaction that a change opened. Dropping it before the commit
/// rolls the transaction back; a connection whose state is then unknown is closed, never put
/// back in the pool.
pub struct TxnConn {
    /// `None` only while dropping.
    client: Option<Object>,
    handle: Handle,
    committed: AtomicBool,
}

impl TxnConn {
    pub fn new(client: Object, handle: Handle) -> TxnConn {
        TxnConn {
            client: Some(client),
            handle,
            committed: AtomicBool::new(false),
        }
    }

    pub fn client(&self) -> &ClientWrapper {
        self.client.as_ref().expect("held until dropped")
    }

    /// The transaction committed: the connection can go back to the pool as it is.
    pub fn committed(&self) {
        self.committed.store(true, Ordering::Release);
    }
}

impl Drop for TxnConn {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if self.committed.load(Ordering::Acquire) {
            return; // back to the pool
        }
        self.handle.spawn(async move {
            if client.batch_execute("ROLLBACK").await.is_err() {
                drop(Object::take(client));
            }
        });
    }
}

/// What a change holds: its transaction, the key it locked, and what that key and the entries
/// under `family` held when the lock was taken.
pub struct LockedTxn {
    pub conn: TxnConn,
    pub key: Vec<u8>,
    pub family: Vec<u8>,
    pub read: HashMap<Vec<u8>, Vec<u8>>,
}

impl LockedTxn {
    /// `key`'s value as read with the lock, if it was among what was read.
    pub fn read_with_lock(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        (key == self.key || key.starts_with(&self.family)).then(|| self.read.get(key).cloned())
    }
}

/// Where a read's queries go.
#[derive(Clone)]
pub enum Source {
    /// Any connection of the pool: the database as it is when the query runs.
    Pool(Pool),
    /// A change's own transaction, under its lock.
    Locked(Arc<LockedTxn>),
}

impl Source {
    /// Runs one query (prepared once per connection).
    pub async fn rows(&self, sql: &str, params: &[Vec<u8>]) -> StoreResult<Vec<Row>> {
        match self {
            Source::Pool(pool) => {
                let client = pool.get().await.map_err(pool_error)?;
                query(&client, sql, params).await
            }
            Source::Locked(txn) => query(txn.conn.client(), sql, params).await,
        }
    }
}

async fn query(client: &ClientWrapper, sql: &str, params: &[Vec<u8>]) -> StoreResult<Vec<Row>> {
    let statement = client.prepare_cached(sql).await.map_err(db_error)?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    client.query(&statement, &refs).await.map_err(db_error)
}
