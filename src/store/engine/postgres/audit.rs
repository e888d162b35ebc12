//! The cluster's audit trail: `secretsd_audit`, one row per batch that a node's flusher stores,
//! its lines compressed with LZ4 by the node (a busy node's batch is megabytes of JSON, which
//! LZ4 shrinks several times over at a fraction of the CPU PostgreSQL's own compression takes).

use super::calls::{block, db_error, pool_error};
use crate::audit::table::{AuditTable, Batch};
use crate::store::error::StoreError;
use deadpool_postgres::Pool;
use tokio::runtime::Handle;

const APPEND: &str = "INSERT INTO secretsd_audit (first_at, last_at, lines) VALUES ($1, $2, $3)";
/// From the first batch that ends at or after `$1` (found through its index), in stored order.
const BATCHES: &str = "SELECT id, first_at, lines FROM secretsd_audit \
     WHERE id > $2 AND id >= (SELECT coalesce(min(id), 9223372036854775807) FROM secretsd_audit \
     WHERE last_at >= $1) ORDER BY id LIMIT $3";

/// Through the index on `last_at`.
const REMOVE_OLDER: &str = "DELETE FROM secretsd_audit WHERE last_at < $1";

pub struct PgAuditTable {
    pub pool: Pool,
    pub handle: Handle,
}

impl AuditTable for PgAuditTable {
    fn append(&self, first_at: &str, last_at: &str, lines: &str) -> Result<(), String> {
        let pool = self.pool.clone();
        let (first_at, last_at) = (first_at.to_string(), last_at.to_string());
        let packed = lz4_flex::block::compress_prepend_size(lines.as_bytes());
        block(&self.handle, async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client.prepare_cached(APPEND).await.map_err(db_error)?;
            client
                .execute(&statement, &[&first_at, &last_at, &packed])
                .await
                .map_err(db_error)?;
            Ok(())
        })
        .map_err(|e| e.to_string())
    }

    fn batches(&self, since: &str, after: i64, limit: usize) -> Result<Vec<Batch>, String> {
        let pool = self.pool.clone();
        let since = since.to_string();
        let limit = limit as i64;
        block(&self.handle, async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client.prepare_cached(BATCHES).await.map_err(db_error)?;
            let rows = client
                .query(&statement, &[&since, &after, &limit])
                .await
                .map_err(db_error)?;
            rows.into_iter()
                .map(|row| {
                    let packed: Vec<u8> = row.get(2);
                    let lines = lz4_flex::block::decompress_size_prepended(&packed)
                        .ok()
                        .and_then(|bytes| String::from_utf8(bytes).ok())
                        .ok_or_else(|| {
                            StoreError::Engine("an audit batch in the database is damaged".into())
                        })?;
                    Ok(Batch {
                        id: row.get(0),
                        first_at: row.get(1),
                        lines,
                    })
                })
                .collect()
        })
        .map_err(|e| e.to_string())
    }

    fn remove_older_than(&self, before: &str) -> Result<u64, String> {
        let pool = self.pool.clone();
        let before = before.to_string();
        block(&self.handle, async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(REMOVE_OLDER)
                .await
                .map_err(db_error)?;
            client
                .execute(&statement, &[&before])
                .await
                .map_err(db_error)
        })
        .map_err(|e| e.to_string())
    }
}
