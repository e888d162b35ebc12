//! The PostgreSQL engine: the store's keys in one table of a database that any number of
//! secretsd nodes share, so a team's secretsd has no disk of its own to lose, and PostgreSQL's
//! replication and failover (or a managed service) keep it available. Values arrive sealed, as
//! on every engine: the database never sees a plaintext value.
//!
//! - A change is one database transaction, acknowledged after its COMMIT returns (durable as
//!   the database's `synchronous_commit` makes it: on, by default). A change to a secret holds
//!   a transaction-scoped advisory lock on its record's key from before the record is read
//!   until its commit, so changes to one secret are serialised across nodes and none is lost
//!   (`write`).
//! - Reads are cached on each node for a short window (`cache_window_ms` in the URL, 2 ms by
//!   default; 0 turns the cache off), and while another node is alive every change waits that
//!   window after its commit before it is acknowledged. An entry is served only within the
//!   window from the moment its query was sent, so an entry a node serves after a change was
//!   acknowledged anywhere was fetched after that change committed: a read on any node sees
//!   every acknowledged change, with no query on a hit (`cache`). Nodes know of each other
//!   through `secretsd_nodes` (`members`): a change learns, after its commit, whether another
//!   node is alive, and a node alone does not wait (its own cache refuses reads sent before
//!   its own changes). A change reads under its lock, never from the cache. Values are cached
//!   as they are stored, sealed. The store's decoded record cache is not used
//!   (`Snapshot::generation` is `None`).
//! - The schema is created at start under a transaction-scoped advisory lock, so nodes starting
//!   at once do not race; `secretsd_schema` records its version.
//! - Every statement is bounded (`statement_timeout`, `lock_timeout`, `calls::CALL_TIMEOUT`): a
//!   lost database gives errors, never a hang, and the pool replaces connections that broke.
//!
//! Queries run on this engine's own runtime, so the engine works under any caller's runtime.

mod audit;
mod cache;
mod calls;
mod conn;
mod members;
mod read;
mod target;
mod write;

use super::{Engine, Held, Op, Snapshot};
use crate::store::error::{StoreError, StoreResult};
use cache::ReadCache;
use calls::{block, db_error, pool_error, spawn, CALL_TIMEOUT};
use conn::Source;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::future::BoxFuture;
use read::PgSnapshot;
use std::sync::Arc;
use std::time::Duration;
use target::{describe, Target};
use tokio::runtime::Handle;

/// The layout of the tables below; a newer one is refused. 2 added `secretsd_audit` and
/// `secretsd_nodes`.
const SCHEMA_VERSION: i32 = 2;
/// The advisory lock nodes take to create or migrate the schema.
const SCHEMA_LOCK: i64 = 0x7365_6372_6574_7364; // "secretsd"
/// Connections per node: a change holds one from its lock to its commit, a read one per query.
const POOL_SIZE: usize = 48;

pub struct Postgres {
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    handle: Handle,
    pool: Pool,
    cache: Arc<ReadCache>,
    members: Arc<members::Members>,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Without waiting: the store may be dropped inside another runtime's task.
            runtime.shutdown_background();
        }
    }
}

impl Postgres {
    /// Connects, and creates or checks the schema.
    pub fn open(url: &str) -> StoreResult<Postgres> {
        let target = Target::parse(url)?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match target.config.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => {
                Manager::from_config(target.config.clone(), tokio_postgres::NoTls, manager_config)
            }
            _ => Manager::from_config(target.config.clone(), target.tls()?, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CALL_TIMEOUT))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(StoreError::engine)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("secretsd-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Engine(format!("cannot start the database runtime: {e}")))?;
        let engine = Postgres {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            pool,
            cache: Arc::new(ReadCache::new(target.cache_window)),
            members: Arc::new(members::Members::new()),
        };
        let pool = engine.pool.clone();
        block(&engine.handle, create_schema(pool)).map_err(|e| match e {
            StoreError::Unavailable(why) => StoreError::Unavailable(format!(
                "cannot reach the database at {}: {why}",
                describe(&target.config)
            )),
            other => other,
        })?;
        // Registered before anything is served from the cache, and kept so.
        let (members, pool, cache) = (
            engine.members.clone(),
            engine.pool.clone(),
            engine.cache.clone(),
        );
        block(&engine.handle, async move {
            members.renew(&pool, &cache).await?;
            tokio::spawn(members.keep_renewing(pool, cache));
            Ok(())
        })?;
        Ok(engine)
    }
}

async fn create_schema(pool: Pool) -> StoreResult<()> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let txn = client.transaction().await.map_err(db_error)?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(db_error)?;
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS secretsd_schema (version integer NOT NULL);
         CREATE TABLE IF NOT EXISTS secretsd_kv (k bytea PRIMARY KEY, v bytea NOT NULL);
         CREATE TABLE IF NOT EXISTS secretsd_audit (id bigserial PRIMARY KEY,
             first_at text NOT NULL, last_at text NOT NULL, lines bytea NOT NULL);
         ALTER TABLE secretsd_audit ALTER COLUMN lines SET STORAGE EXTERNAL;
         CREATE INDEX IF NOT EXISTS secretsd_audit_last_at ON secretsd_audit (last_at);
         CREATE TABLE IF NOT EXISTS secretsd_nodes (id text PRIMARY KEY, seen_at timestamptz NOT NULL);",
    )
    .await
    .map_err(db_error)?;
    let version: Option<i32> = txn
        .query_one("SELECT max(version) FROM secretsd_schema", &[])
        .await
        .map_err(db_error)?
        .get(0);
    match version {
        // New, or an older layout that the statements above brought up to this one.
        None | Some(..SCHEMA_VERSION) => {
            txn.execute(
                "INSERT INTO secretsd_schema (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )
            .await
            .map_err(db_error)?;
        }
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::Format(format!(
                "the database holds schema {v}, from a newer secretsd; this one knows schema {SCHEMA_VERSION}"
            )));
        }
        Some(_) => {}
    }
    txn.commit().await.map_err(db_error)
}

impl Postgres {
    fn apply_ops(&self, ops: Vec<Op>) -> impl std::future::Future<Output = StoreResult<()>> {
        write::apply(
            self.pool.clone(),
            self.cache.clone(),
            self.members.clone(),
            ops,
        )
    }
}

impl Engine for Postgres {
    fn read(&self) -> StoreResult<Arc<dyn Snapshot>> {
        Ok(Arc::new(PgSnapshot {
            source: Source::Pool(self.pool.clone()),
            handle: self.handle.clone(),
            cache: Some(self.cache.clone()),
        }))
    }

    fn apply(&self, ops: Vec<Op>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(spawn(&self.handle, self.apply_ops(ops)))
    }

    fn apply_now(&self, ops: Vec<Op>) -> StoreResult<()> {
        block(&self.handle, self.apply_ops(ops))
    }

    fn lock<'a>(
        &'a self,
        key: &'a [u8],
        family: &'a [u8],
    ) -> BoxFuture<'a, StoreResult<Option<Box<dyn Held>>>> {
        let locked = spawn(
            &self.handle,
            write::lock(
                self.pool.clone(),
                self.handle.clone(),
                key.to_vec(),
                family.to_vec(),
            ),
        );
        Box::pin(async move {
            let txn = locked.await?;
            Ok(Some(Box::new(write::Locked {
                txn: Arc::new(txn),
                handle: self.handle.clone(),
                cache: self.cache.clone(),
                members: self.members.clone(),
            }) as Box<dyn Held>))
        })
    }

    fn shared(&self) -> bool {
        true
    }

    fn audit_table(&self) -> Option<Arc<dyn crate::audit::table::AuditTable>> {
        Some(Arc::new(audit::PgAuditTable {
            pool: self.pool.clone(),
            handle: self.handle.clone(),
        }))
    }
}
