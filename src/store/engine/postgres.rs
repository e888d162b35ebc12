//! The PostgreSQL engine: the store's keys in one table of a database that any number of
//! secretsd nodes share, so a team's secretsd has no disk of its own to lose, and PostgreSQL's
//! replication and failover (or a managed service) keep it available. Values arrive sealed, as
//! on every engine: the database never sees a plaintext value.
//!
//! - A change is one database transaction, acknowledged after its COMMIT returns (durable as
//!   the database's `synchronous_commit` makes it: on, by default).
//! - A change to a secret holds a session advisory lock on its key from before the record is
//!   read until after the commit (`Engine::lock`), so changes to one secret are serialised
//!   across nodes and none is lost; a node that dies lets go of its locks with its connections.
//! - Reads are cached on each node for a short window (`cache_window_ms` in the URL, 2 ms by
//!   default; 0 turns the cache off), and every change waits that window after its commit
//!   before it is acknowledged. An entry is served only within the window from the moment its
//!   query was sent, so an entry a node serves after a change was acknowledged anywhere was
//!   fetched after that change committed: a read on any node sees every acknowledged change,
//!   with no query on a hit. Values are cached as they are stored, sealed. The store's decoded
//!   record cache is not used (`Snapshot::generation` is `None`).
//! - The schema is created at start under a transaction-scoped advisory lock, so nodes starting
//!   at once do not race; `secretsd_schema` records its version.
//! - Every statement is bounded (`statement_timeout`, `lock_timeout`): a lost database gives
//!   errors, never a hang, and the pool replaces connections that broke.
//!
//! The store's reads are synchronous; queries run on this engine's own runtime and a read waits
//! for its answer there, so the engine works under any caller's runtime.

use super::{CopyFn, Engine, Entry, Held, Op, Snapshot};
use crate::store::error::{StoreError, StoreResult};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures_util::future::BoxFuture;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::future::Future;
use std::ops::Bound;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio_postgres::types::ToSql;

/// The layout of the tables below; a newer one is refused.
const SCHEMA_VERSION: i32 = 1;
/// The advisory lock nodes take to create or migrate the schema.
const SCHEMA_LOCK: i64 = 0x7365_6372_6574_7364; // "secretsd"
/// Connections per node: a change holds two (its lock, its transaction) while reads take one.
const POOL_SIZE: usize = 48;
/// How long one call may wait for the database before it fails.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a node may serve a read from its cache, and how long a change waits after its commit.
const DEFAULT_CACHE_WINDOW: Duration = Duration::from_millis(2);
/// Entries a node caches at most; past it, the expired ones go (or all, if none has).
const CACHE_ENTRIES: usize = 16_384;
/// Rows one range query returns; a scan asks for the next chunk when it needs it.
const RANGE_CHUNK: i64 = 256;
/// Set on every session: no statement, and no wait for a lock, outlasts `CALL_TIMEOUT`.
const SESSION_OPTIONS: &str =
    "-c statement_timeout=10000 -c lock_timeout=10000 -c idle_in_transaction_session_timeout=30000";

const GET: &str = "SELECT v FROM secretsd_kv WHERE k = $1";
const PUT: &str =
    "INSERT INTO secretsd_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v";
const REMOVE: &str = "DELETE FROM secretsd_kv WHERE k = $1";
const REMOVE_RANGE: &str = "DELETE FROM secretsd_kv WHERE k >= $1 AND k < $2";
const REMOVE_FROM: &str = "DELETE FROM secretsd_kv WHERE k >= $1";
const CLEAR: &str = "DELETE FROM secretsd_kv";

pub struct Postgres {
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    handle: Handle,
    pool: Pool,
    cache: Arc<ReadCache>,
}

/// Recent reads of this node, each served only within the window from its query's start.
struct ReadCache {
    window: Duration,
    entries: std::sync::Mutex<std::collections::HashMap<Vec<u8>, Cached>>,
}

struct Cached {
    /// When the query that read it was sent: it shows every change committed before then.
    asked: Instant,
    value: Option<Vec<u8>>,
}

impl ReadCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Vec<u8>, Cached>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        if self.window.is_zero() {
            return None;
        }
        let entries = self.entries();
        let cached = entries.get(key)?;
        (cached.asked.elapsed() < self.window).then(|| cached.value.clone())
    }

    fn insert(&self, key: Vec<u8>, asked: Instant, value: Option<Vec<u8>>) {
        if self.window.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= CACHE_ENTRIES {
            let window = self.window;
            entries.retain(|_, c| c.asked.elapsed() < window);
            if entries.len() >= CACHE_ENTRIES {
                entries.clear();
            }
        }
        match entries.get(&key) {
            Some(newer) if newer.asked > asked => {}
            _ => {
                entries.insert(key, Cached { asked, value });
            }
        }
    }

    /// After this node's own commit: what it changed is read again.
    fn forget(&self, ops: &[Op]) {
        if self.window.is_zero() {
            return;
        }
        let mut entries = self.entries();
        for op in ops {
            match op {
                Op::Put(k, _) | Op::Remove(k) => {
                    entries.remove(k);
                }
                Op::RemovePrefix(prefix) => entries.retain(|k, _| !k.starts_with(prefix)),
                Op::Clear => entries.clear(),
            }
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Without waiting: the store may be dropped inside another runtime's task.
            runtime.shutdown_background();
        }
    }
}

fn db_error(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Engine(format!("database: {}", db.message())),
        // The cause says why (a refused connection, a certificate from an unknown CA, …).
        None => match std::error::Error::source(&e) {
            Some(cause) => StoreError::Unavailable(format!("{e}: {cause}")),
            None => StoreError::Unavailable(e.to_string()),
        },
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db_error(e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// `call`, bounded by `CALL_TIMEOUT`.
async fn bounded<T>(call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the database did not answer in time".into(),
            ))
        })
}

/// Runs `call` on the engine's runtime, bounded by `CALL_TIMEOUT`.
fn spawn<T: Send + 'static>(
    handle: &Handle,
    call: impl Future<Output = StoreResult<T>> + Send + 'static,
) -> impl Future<Output = StoreResult<T>> + Send + 'static {
    let task = handle.spawn(bounded(call));
    async move { task.await.map_err(|_| StoreError::Closed)? }
}

/// Runs `call` on the engine's runtime, bounded likewise, and waits for it on this thread: one
/// task, whose answer comes back through a channel.
fn block<T: Send + 'static>(
    handle: &Handle,
    call: impl Future<Output = StoreResult<T>> + Send + 'static,
) -> StoreResult<T> {
    let (answer, wait) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = answer.send(bounded(call).await);
    });
    wait.recv().map_err(|_| StoreError::Closed)?
}

/// What `--store postgres://…` names: the connection settings and the CA file that verifies the
/// server (`sslrootcert`, which libpq reads and tokio-postgres does not).
struct Target {
    config: tokio_postgres::Config,
    root_cert: Option<String>,
    /// `cache_window_ms`: secretsd's own setting, not the database's.
    cache_window: Duration,
}

impl Target {
    fn parse(url: &str) -> StoreResult<Target> {
        let bad = |why: String| StoreError::Format(format!("bad PostgreSQL URL: {why}"));
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut root_cert = None;
        let mut cache_window = DEFAULT_CACHE_WINDOW;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslrootcert", path)) => root_cert = Some(path.to_string()),
                Some(("cache_window_ms", ms)) => {
                    let ms: u64 =
                        ms.parse().ok().filter(|ms| *ms <= 10_000).ok_or_else(|| {
                            bad(format!("cache_window_ms={ms}: expected 0 to 10000"))
                        })?;
                    cache_window = Duration::from_millis(ms);
                }
                _ => kept.push(pair),
            }
        }
        let url = match kept.is_empty() {
            true => base.to_string(),
            false => format!("{base}?{}", kept.join("&")),
        };
        let mut config = tokio_postgres::Config::from_str(&url).map_err(|e| bad(e.to_string()))?;
        config.options(SESSION_OPTIONS);
        config.application_name("secretsd");
        config.connect_timeout(Duration::from_secs(5));
        Ok(Target {
            config,
            root_cert,
            cache_window,
        })
    }

    /// The TLS client: the system's roots and `sslrootcert`; it verifies the server's name.
    fn tls(&self) -> StoreResult<tokio_postgres_rustls::MakeRustlsConnect> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = &self.root_cert {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::Format(format!("cannot read sslrootcert {path}: {e}")))?;
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    StoreError::Format(format!("sslrootcert {path} is not usable: {e}"))
                })?;
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(StoreError::engine)?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
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
            cache: Arc::new(ReadCache {
                window: target.cache_window,
                entries: Default::default(),
            }),
        };
        let pool = engine.pool.clone();
        block(&engine.handle, create_schema(pool)).map_err(|e| match e {
            StoreError::Unavailable(why) => StoreError::Unavailable(format!(
                "cannot reach the database at {}: {why}",
                describe(&target.config)
            )),
            other => other,
        })?;
        Ok(engine)
    }
}

/// host:port/dbname, without the credentials.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or(""))
}

async fn create_schema(pool: Pool) -> StoreResult<()> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let txn = client.transaction().await.map_err(db_error)?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(db_error)?;
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS secretsd_schema (version integer NOT NULL);
         CREATE TABLE IF NOT EXISTS secretsd_kv (k bytea PRIMARY KEY, v bytea NOT NULL);",
    )
    .await
    .map_err(db_error)?;
    let version: Option<i32> = txn
        .query_one("SELECT max(version) FROM secretsd_schema", &[])
        .await
        .map_err(db_error)?
        .get(0);
    match version {
        None => {
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

/// Commits `ops`, then waits out the cache window before the change is acknowledged: by then no
/// node serves an entry read before the commit (see the module docs).
async fn commit_and_wait(pool: Pool, cache: Arc<ReadCache>, ops: Vec<Op>) -> StoreResult<()> {
    let committed = apply_ops(pool, &ops).await;
    // Whatever the outcome: a commit whose answer was lost may still have happened, and the
    // secret's lock, released after this, must not let another node read around it.
    cache.forget(&ops);
    tokio::time::sleep(cache.window).await;
    committed
}

/// Applies `ops` in order as one transaction; its statements are pipelined.
async fn apply_ops(pool: Pool, ops: &[Op]) -> StoreResult<()> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let txn = client.transaction().await.map_err(db_error)?;
    let ends: Vec<Option<Vec<u8>>> = ops
        .iter()
        .map(|op| match op {
            Op::RemovePrefix(prefix) => super::prefix_end(prefix),
            _ => None,
        })
        .collect();
    let mut steps = Vec::with_capacity(ops.len());
    for (op, end) in ops.iter().zip(&ends) {
        let step: (&str, Vec<&(dyn ToSql + Sync)>) = match (op, end) {
            (Op::Put(k, v), _) => (PUT, vec![k, v]),
            (Op::Remove(k), _) => (REMOVE, vec![k]),
            (Op::RemovePrefix(prefix), Some(end)) => (REMOVE_RANGE, vec![prefix, end]),
            (Op::RemovePrefix(prefix), None) => (REMOVE_FROM, vec![prefix]),
            (Op::Clear, _) => (CLEAR, vec![]),
        };
        steps.push(step);
    }
    // Cached per connection: a lookup, after the first change on it.
    let mut prepared = Vec::with_capacity(steps.len());
    for (sql, _) in &steps {
        prepared.push(txn.prepare_cached(sql).await.map_err(db_error)?);
    }
    // Polled in order, each is sent in order: one round trip for the lot.
    futures_util::future::try_join_all(
        prepared
            .iter()
            .zip(&steps)
            .map(|(statement, (_, params))| txn.execute(statement, params)),
    )
    .await
    .map_err(db_error)?;
    txn.commit().await.map_err(db_error)
}

/// The advisory lock id of a key: 64 bits of its hash (a collision only serialises more).
fn lock_id(key: &[u8]) -> i64 {
    let digest = Sha256::digest(key);
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// A session advisory lock, and the connection that holds it until the lock is dropped.
struct SecretLock {
    client: Option<Object>,
    id: i64,
    handle: Handle,
}

impl Drop for SecretLock {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let id = self.id;
        self.handle.spawn(async move {
            let unlocked = client
                .execute("SELECT pg_advisory_unlock($1)", &[&id])
                .await;
            if unlocked.is_err() {
                // Its session may still hold the lock: the connection is closed, not reused.
                drop(Object::take(client));
            }
        });
    }
}

impl Engine for Postgres {
    fn read(&self) -> StoreResult<Arc<dyn Snapshot>> {
        Ok(Arc::new(PgSnapshot {
            pool: self.pool.clone(),
            handle: self.handle.clone(),
            cache: self.cache.clone(),
        }))
    }

    fn apply(&self, ops: Vec<Op>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(spawn(
            &self.handle,
            commit_and_wait(self.pool.clone(), self.cache.clone(), ops),
        ))
    }

    fn apply_now(&self, ops: Vec<Op>) -> StoreResult<()> {
        block(
            &self.handle,
            commit_and_wait(self.pool.clone(), self.cache.clone(), ops),
        )
    }

    fn lock<'a>(&'a self, key: &'a [u8]) -> BoxFuture<'a, StoreResult<Option<Held>>> {
        let id = lock_id(key);
        let pool = self.pool.clone();
        let locked = spawn(&self.handle, async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute("SELECT pg_advisory_lock($1)", &[&id])
                .await
                .map_err(db_error)?;
            Ok(client)
        });
        let handle = self.handle.clone();
        Box::pin(async move {
            let client = locked.await?;
            Ok(Some(Box::new(SecretLock {
                client: Some(client),
                id,
                handle,
            }) as Held))
        })
    }
}

/// Reads go to the database as it is when each query runs, or to the node's cache within its
/// window.
struct PgSnapshot {
    pool: Pool,
    handle: Handle,
    cache: Arc<ReadCache>,
}

impl Snapshot for PgSnapshot {
    fn generation(&self) -> Option<u64> {
        None
    }

    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        if let Some(value) = self.cache.get(key) {
            return Ok(value);
        }
        let pool = self.pool.clone();
        let asked_for = key.to_vec();
        let asked = Instant::now();
        let value = block(&self.handle, async move {
            let client = pool.get().await.map_err(pool_error)?;
            let get = client.prepare_cached(GET).await.map_err(db_error)?;
            let row = client
                .query_opt(&get, &[&asked_for])
                .await
                .map_err(db_error)?;
            Ok(row.map(|row| row.get::<_, Vec<u8>>(0)))
        })?;
        self.cache.insert(key.to_vec(), asked, value.clone());
        Ok(value)
    }

    fn range_with(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        descending: bool,
        copy: CopyFn,
    ) -> Box<dyn Iterator<Item = Entry> + Send> {
        Box::new(Chunks {
            pool: self.pool.clone(),
            handle: self.handle.clone(),
            lower,
            upper,
            descending,
            copy,
            rows: VecDeque::new(),
            done: false,
        })
    }
}

/// A range read a chunk at a time, each chunk one query that starts after the last row.
struct Chunks {
    pool: Pool,
    handle: Handle,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    descending: bool,
    copy: CopyFn,
    rows: VecDeque<(Vec<u8>, Vec<u8>)>,
    done: bool,
}

impl Chunks {
    fn fetch(&mut self) -> StoreResult<()> {
        let mut clauses = Vec::new();
        let mut params = Vec::new();
        for (bound, inclusive, exclusive) in [(&self.lower, ">=", ">"), (&self.upper, "<=", "<")] {
            let (op, key) = match bound {
                Bound::Included(k) => (inclusive, k),
                Bound::Excluded(k) => (exclusive, k),
                Bound::Unbounded => continue,
            };
            params.push(key.clone());
            clauses.push(format!("k {op} ${}", params.len()));
        }
        let sql = format!(
            "SELECT k, v FROM secretsd_kv {} {} ORDER BY k {} LIMIT {RANGE_CHUNK}",
            if clauses.is_empty() { "" } else { "WHERE" },
            clauses.join(" AND "),
            if self.descending { "DESC" } else { "ASC" },
        );
        let pool = self.pool.clone();
        let rows: Vec<(Vec<u8>, Vec<u8>)> = block(&self.handle, async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client.prepare_cached(&sql).await.map_err(db_error)?;
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            let rows = client.query(&statement, &refs).await.map_err(db_error)?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
        })?;
        self.done = (rows.len() as i64) < RANGE_CHUNK;
        if let Some((last, _)) = rows.last() {
            match self.descending {
                false => self.lower = Bound::Excluded(last.clone()),
                true => self.upper = Bound::Excluded(last.clone()),
            }
        }
        self.rows.extend(rows);
        Ok(())
    }
}

impl Iterator for Chunks {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        if self.rows.is_empty() && !self.done {
            if let Err(e) = self.fetch() {
                self.done = true;
                return Some(Err(e));
            }
        }
        let (k, v) = self.rows.pop_front()?;
        let value = (self.copy)(&k, &v);
        Some(Ok((k, value)))
    }
}
