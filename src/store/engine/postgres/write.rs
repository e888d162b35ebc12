//! Changes. Each is one transaction on one connection, its statements pipelined:
//! - a change to a secret opens its transaction, takes a transaction-scoped advisory lock on
//!   the record's key and reads the record and the values beside it, in one round trip
//!   (`lock`); its other reads run on the same connection; its writes and COMMIT go in one more (`Locked::commit`), and COMMIT lets
//!   the lock go. Changes to one secret are serialised across nodes, and a node that dies lets
//!   go with its connections.
//! - other changes (hints, the key check, a reset) take no lock (`apply`).
//!
//! Consecutive puts and removes are folded into one statement (the last op on a key wins), so
//! a change costs the database a few prepared statements however many keys it touches. Either way the
//! change waits out the node cache's window after its commit before it is acknowledged.

use super::cache::ReadCache;
use super::calls::{db_error, pool_error};
use super::conn::{LockedTxn, Source, TxnConn};
use super::members::{Members, OTHERS_ALIVE};
use super::read::PgSnapshot;
use crate::store::engine::{prefix_end, Held, Op, Snapshot};
use crate::store::error::{StoreError, StoreResult};
use deadpool_postgres::{ClientWrapper, Pool};
use futures_util::future::{try_join_all, BoxFuture};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio_postgres::types::ToSql;

/// A change's statements: each run of puts and removes is one statement (the sets are
/// disjoint), prefix removals and clears keep their place between runs.
#[derive(Debug, PartialEq)]
enum Step {
    Write {
        keys: Vec<Vec<u8>>,
        values: Vec<Vec<u8>>,
        removed: Vec<Vec<u8>>,
    },
    RemoveRange(Vec<u8>, Vec<u8>),
    RemoveFrom(Vec<u8>),
    Clear,
}

/// Removes keys ($3) and upserts others ($1, $2): disjoint sets, so one statement does both.
const WRITE: &str = "WITH gone AS (DELETE FROM secretsd_kv WHERE k = ANY($3::bytea[])) \
     INSERT INTO secretsd_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
     ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v";
const REMOVE_RANGE: &str = "DELETE FROM secretsd_kv WHERE k >= $1 AND k < $2";
const REMOVE_FROM: &str = "DELETE FROM secretsd_kv WHERE k >= $1";
const CLEAR: &str = "DELETE FROM secretsd_kv";
const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
/// A locked key and its family (the entries from $2 up to $3, or on).
const READ_LOCKED: &str = "SELECT k, v FROM secretsd_kv WHERE k = $1 \
     UNION ALL SELECT k, v FROM secretsd_kv WHERE k >= $2 AND k < $3";
const READ_LOCKED_ON: &str = "SELECT k, v FROM secretsd_kv WHERE k = $1 \
     UNION ALL SELECT k, v FROM secretsd_kv WHERE k >= $2";

impl Step {
    fn sql(&self) -> &'static str {
        match self {
            Step::Write { .. } => WRITE,
            Step::RemoveRange(..) => REMOVE_RANGE,
            Step::RemoveFrom(_) => REMOVE_FROM,
            Step::Clear => CLEAR,
        }
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        match self {
            Step::Write {
                keys,
                values,
                removed,
            } => vec![keys, values, removed],
            Step::RemoveRange(from, to) => vec![from, to],
            Step::RemoveFrom(from) => vec![from],
            Step::Clear => vec![],
        }
    }
}

/// `ops` as statements, in order: each run of puts and removes folded into one.
fn steps(ops: &[Op]) -> Vec<Step> {
    fn fold(run: &mut HashMap<&[u8], Option<&[u8]>>, steps: &mut Vec<Step>) {
        if run.is_empty() {
            return;
        }
        let (mut keys, mut values, mut removed) = (Vec::new(), Vec::new(), Vec::new());
        for (key, value) in run.drain() {
            match value {
                Some(value) => {
                    keys.push(key.to_vec());
                    values.push(value.to_vec());
                }
                None => removed.push(key.to_vec()),
            }
        }
        steps.push(Step::Write {
            keys,
            values,
            removed,
        });
    }
    let mut steps = Vec::new();
    let mut run = HashMap::new();
    for op in ops {
        match op {
            Op::Put(key, value) => {
                run.insert(key.as_slice(), Some(value.as_slice()));
            }
            Op::Remove(key) => {
                run.insert(key.as_slice(), None);
            }
            Op::RemovePrefix(prefix) => {
                fold(&mut run, &mut steps);
                steps.push(match prefix_end(prefix) {
                    Some(end) => Step::RemoveRange(prefix.clone(), end),
                    None => Step::RemoveFrom(prefix.clone()),
                });
            }
            Op::Clear => {
                fold(&mut run, &mut steps);
                steps.push(Step::Clear);
            }
        }
    }
    fold(&mut run, &mut steps);
    steps
}

/// `ops` (opening a transaction first unless `in_txn`), COMMIT, then the count of other live
/// nodes, pipelined: one round trip once the statements are prepared on the connection (they
/// are parsed once per connection, not per change). `Ok(true)`: no other node is alive.
async fn send(
    client: &ClientWrapper,
    ops: &[Op],
    in_txn: bool,
    members: &Members,
) -> StoreResult<bool> {
    let steps = steps(ops);
    let mut statements = Vec::with_capacity(steps.len());
    for step in &steps {
        statements.push(client.prepare_cached(step.sql()).await.map_err(db_error)?);
    }
    let count = client
        .prepare_cached(OTHERS_ALIVE)
        .await
        .map_err(db_error)?;
    let params: Vec<_> = steps.iter().map(Step::params).collect();
    // Polled in order, each request is sent in order before any answer is awaited.
    let opened = async {
        if !in_txn {
            client.batch_execute("BEGIN").await.map_err(db_error)?;
        }
        Ok::<_, StoreError>(())
    };
    let written = try_join_all(
        statements
            .iter()
            .zip(&params)
            .map(|(statement, params)| client.execute(statement, params)),
    );
    let written = async { written.await.map_err(db_error) };
    let committed = async { client.batch_execute("COMMIT").await.map_err(db_error) };
    // After the commit: it sees every node registered before the commit ended.
    let others = async {
        client
            .query_one(&count, &[&members.id])
            .await
            .map_err(db_error)
    };
    let (_, _, _, others) = futures_util::try_join!(opened, written, committed, others)?;
    Ok(others.get::<_, i64>(0) == 0)
}

/// A change without a lock: one transaction on a connection of the pool.
pub async fn apply(
    pool: Pool,
    cache: Arc<ReadCache>,
    members: Arc<Members>,
    ops: Vec<Op>,
) -> StoreResult<()> {
    let alone = match pool.get().await {
        Ok(client) => send(&client, &ops, false, &members).await,
        Err(e) => Err(pool_error(e)),
    };
    wait_out(&cache, &ops, &alone).await;
    alone.map(|_| ())
}

/// The advisory lock id of a key: 64 bits of its hash (a collision only serialises more).
fn lock_id(key: &[u8]) -> i64 {
    let digest = Sha256::digest(key);
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Opens a change's transaction on a connection of the pool, locks `key` and reads it and the
/// entries under `family`, in one round trip.
pub async fn lock(
    pool: Pool,
    handle: Handle,
    key: Vec<u8>,
    family: Vec<u8>,
) -> StoreResult<LockedTxn> {
    let client = pool.get().await.map_err(pool_error)?;
    let lock = client.prepare_cached(LOCK).await.map_err(db_error)?;
    let family_end = prefix_end(&family);
    let read = match family_end {
        Some(_) => READ_LOCKED,
        None => READ_LOCKED_ON,
    };
    let read = client.prepare_cached(read).await.map_err(db_error)?;
    let id = lock_id(&key);
    // From here on, dropping the connection rolls back whatever was sent.
    let conn = TxnConn::new(client, handle);
    let client = conn.client();
    let (_, _, rows) = futures_util::try_join!(
        async { client.batch_execute("BEGIN").await.map_err(db_error) },
        async { client.execute(&lock, &[&id]).await.map_err(db_error) },
        // Sent after the lock: it runs once the lock is held, and sees what committed before.
        async {
            let params: Vec<&(dyn ToSql + Sync)> = match &family_end {
                Some(end) => vec![&key, &family, end],
                None => vec![&key, &family],
            };
            client.query(&read, &params).await.map_err(db_error)
        },
    )?;
    let read = rows
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    Ok(LockedTxn {
        conn,
        key,
        family,
        read,
    })
}

/// A change under its lock: reads on its connection, and the commit that lets the lock go.
pub struct Locked {
    pub txn: Arc<LockedTxn>,
    pub handle: Handle,
    pub cache: Arc<ReadCache>,
    pub members: Arc<Members>,
}

impl Held for Locked {
    fn snapshot(&self) -> Arc<dyn Snapshot> {
        Arc::new(PgSnapshot {
            source: Source::Locked(self.txn.clone()),
            handle: self.handle.clone(),
            cache: None,
        })
    }

    fn commit(self: Box<Self>, ops: Vec<Op>) -> BoxFuture<'static, StoreResult<()>> {
        let Locked {
            txn,
            handle,
            cache,
            members,
        } = *self;
        Box::pin(super::calls::spawn(&handle, async move {
            let alone = send(txn.conn.client(), &ops, true, &members).await;
            if alone.is_ok() {
                txn.conn.committed();
            }
            drop(txn);
            wait_out(&cache, &ops, &alone).await;
            alone.map(|_| ())
        }))
    }
}

/// After a commit (or a commit whose answer was lost, which may still have happened): this
/// node reads what changed again, and, unless the node is alone, the change is acknowledged
/// only once no other node can serve an entry read before it (see the engine's docs).
async fn wait_out(cache: &ReadCache, ops: &[Op], alone: &StoreResult<bool>) {
    cache.forget(ops);
    if !matches!(alone, Ok(true)) {
        tokio::time::sleep(cache.window).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, v: &str) -> Op {
        Op::Put(k.into(), v.into())
    }

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    /// A write's upserts and removals, sorted.
    fn sorted(step: &Step) -> (Pairs, Vec<Vec<u8>>) {
        let Step::Write {
            keys,
            values,
            removed,
        } = step
        else {
            panic!("not a write: {step:?}");
        };
        let mut puts: Vec<_> = keys.iter().cloned().zip(values.iter().cloned()).collect();
        puts.sort();
        let mut removed = removed.clone();
        removed.sort();
        (puts, removed)
    }

    #[test]
    fn a_run_of_puts_and_removes_is_one_statement_where_the_last_op_on_a_key_wins() {
        let ops = [
            put("a", "1"),
            Op::Remove("b".into()),
            put("b", "2"),
            put("c", "3"),
            Op::Remove("c".into()),
            put("a", "4"),
        ];
        let steps = steps(&ops);
        assert_eq!(steps.len(), 1);
        assert_eq!(
            sorted(&steps[0]),
            (
                vec![
                    (b"a".to_vec(), b"4".to_vec()),
                    (b"b".to_vec(), b"2".to_vec())
                ],
                vec![b"c".to_vec()]
            )
        );
    }

    #[test]
    fn prefix_removals_and_clears_keep_their_place_between_runs() {
        let ops = [
            put("a", "1"),
            Op::RemovePrefix("a".into()),
            put("ab", "2"),
            Op::Clear,
            put("z", "3"),
            Op::RemovePrefix(vec![0xff]),
        ];
        let steps = steps(&ops);
        assert_eq!(steps.len(), 6);
        assert_eq!(sorted(&steps[0]).0, vec![(b"a".to_vec(), b"1".to_vec())]);
        assert_eq!(steps[1], Step::RemoveRange(b"a".to_vec(), b"b".to_vec()));
        assert_eq!(sorted(&steps[2]).0, vec![(b"ab".to_vec(), b"2".to_vec())]);
        assert_eq!(steps[3], Step::Clear);
        assert_eq!(sorted(&steps[4]).0, vec![(b"z".to_vec(), b"3".to_vec())]);
        assert_eq!(steps[5], Step::RemoveFrom(vec![0xff]));
    }
}
