//! The nodes sharing the database: each keeps a row of `secretsd_nodes` fresh. A change checks,
//! after its commit, whether another node is alive; only then must it wait out the cache window
//! before it is acknowledged (a node alone has no other cache to outwait). A node serves from
//! its cache only while its own row is surely counted alive by the others (`ReadCache`).

use super::cache::ReadCache;
use super::calls::{db_error, pool_error};
use crate::store::error::StoreResult;
use deadpool_postgres::Pool;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a node renews its row.
const RENEW_EVERY: Duration = Duration::from_secs(2);
/// How long after a renewal was sent the node serves from its cache, while the others count
/// it alive for 15 seconds after the renewal ran (`OTHERS_ALIVE`): the gap covers clocks that
/// run at slightly different rates, and a renewal in flight.
const FRESH_FOR: Duration = Duration::from_secs(5);
/// Rows of nodes gone this long are removed.
const FORGET_AFTER: &str = "1 day";

/// How many nodes other than $1 are alive: run after a commit, it sees every node registered
/// before the commit ended.
pub const OTHERS_ALIVE: &str = "SELECT count(*) FROM secretsd_nodes WHERE id <> $1 \
     AND seen_at > now() - interval '15 seconds'";
const RENEW: &str = "INSERT INTO secretsd_nodes (id, seen_at) VALUES ($1, now()) \
     ON CONFLICT (id) DO UPDATE SET seen_at = now()";

pub struct Members {
    /// This node (a new id at each start).
    pub id: String,
}

impl Members {
    pub fn new() -> Members {
        Members {
            id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Adds or renews this node's row; then the cache may serve for a while.
    pub async fn renew(&self, pool: &Pool, cache: &ReadCache) -> StoreResult<()> {
        let sent = Instant::now();
        let client = pool.get().await.map_err(pool_error)?;
        let renew = client.prepare_cached(RENEW).await.map_err(db_error)?;
        client
            .execute(&renew, &[&self.id])
            .await
            .map_err(db_error)?;
        cache.registered(sent, FRESH_FOR);
        Ok(())
    }

    /// Renews the row every few seconds for as long as the engine runs; now and then removes
    /// the rows of nodes long gone.
    pub async fn keep_renewing(self: Arc<Self>, pool: Pool, cache: Arc<ReadCache>) {
        for round in 1u64.. {
            tokio::time::sleep(RENEW_EVERY).await;
            if let Err(e) = super::calls::bounded(self.renew(&pool, &cache)).await {
                tracing::warn!(error = %e, "cannot renew this node's registration in the database");
            }
            if round % 30 == 0 {
                if let Ok(client) = pool.get().await {
                    let sql = format!(
                        "DELETE FROM secretsd_nodes WHERE seen_at < now() - interval '{FORGET_AFTER}'"
                    );
                    let _ = client.batch_execute(&sql).await;
                }
            }
        }
    }
}
