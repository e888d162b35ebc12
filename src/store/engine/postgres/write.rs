//! Changes. Each is one transaction on one connection, its statements pipelined:
//! - a change to a secret opens its transaction, takes a transaction-scoped advisory lock on
//!   the record's key and reads the record, in one round trip (`lock`); its reads run on the
//!   same connection; its writes and COMMIT go in one more (`Locked::commit`), and COMMIT lets
//!   the lock go. Changes to one secret are serialised across nodes, and a node that dies lets
//!   go with its connections.
//! - other changes (hints, the key check, a reset) take no lock (`apply`).
//!
//! Consecutive puts and removes are folded into one statement (the last op on a key wins), and
//! a change's statements go as one simple-protocol message (keys and values as hex literals),
//! so a change costs the database two messages however many keys it touches. Either way the
//! change waits out the node cache's window after its commit before it is acknowledged.

use super::cache::ReadCache;
use super::calls::{db_error, pool_error};
use super::conn::{LockedTxn, Source, TxnConn};
use super::read::PgSnapshot;
use crate::store::engine::{prefix_end, Held, Op, Snapshot};
use crate::store::error::{StoreError, StoreResult};
use deadpool_postgres::{ClientWrapper, Pool};
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio_postgres::SimpleQueryMessage;

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

/// `bytes` as an SQL literal: hex digits only, so nothing in them can end the string.
fn literal(bytes: &[u8]) -> String {
    format!("'\\x{}'::bytea", hex::encode(bytes))
}

fn array(items: &[Vec<u8>]) -> String {
    let items: Vec<String> = items.iter().map(|b| literal(b)).collect();
    format!("ARRAY[{}]::bytea[]", items.join(","))
}

impl Step {
    fn sql(&self) -> String {
        match self {
            Step::Write {
                keys,
                values,
                removed,
            } => match (keys.is_empty(), removed.is_empty()) {
                (true, _) => format!("DELETE FROM secretsd_kv WHERE k = ANY({})", array(removed)),
                (false, removed_none) => format!(
                    "{}INSERT INTO secretsd_kv (k, v) SELECT * FROM unnest({}, {}) \
                     ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
                    match removed_none {
                        true => String::new(),
                        false => format!(
                            "WITH gone AS (DELETE FROM secretsd_kv WHERE k = ANY({})) ",
                            array(removed)
                        ),
                    },
                    array(keys),
                    array(values),
                ),
            },
            Step::RemoveRange(from, to) => format!(
                "DELETE FROM secretsd_kv WHERE k >= {} AND k < {}",
                literal(from),
                literal(to)
            ),
            Step::RemoveFrom(from) => {
                format!("DELETE FROM secretsd_kv WHERE k >= {}", literal(from))
            }
            Step::Clear => "DELETE FROM secretsd_kv".into(),
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

/// `ops` and then COMMIT (`commit`) as one message: one round trip, one parse. Without an
/// open transaction, the statements of one message are one transaction of their own.
async fn send(client: &ClientWrapper, ops: &[Op], commit: bool) -> StoreResult<()> {
    let mut sql: Vec<String> = steps(ops).iter().map(Step::sql).collect();
    if commit {
        sql.push("COMMIT".into());
    }
    client
        .batch_execute(&sql.join(";\n"))
        .await
        .map_err(db_error)
}

/// A change without a lock: one transaction on a connection of the pool.
pub async fn apply(pool: Pool, ops: &[Op]) -> StoreResult<()> {
    let client = pool.get().await.map_err(pool_error)?;
    send(&client, ops, false).await
}

/// The advisory lock id of a key: 64 bits of its hash (a collision only serialises more).
fn lock_id(key: &[u8]) -> i64 {
    let digest = Sha256::digest(key);
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Opens a change's transaction on a connection of the pool, locks `key` and reads it, in
/// one message: the read runs once the lock is held, and sees what committed before.
pub async fn lock(pool: Pool, handle: Handle, key: Vec<u8>) -> StoreResult<LockedTxn> {
    let client = pool.get().await.map_err(pool_error)?;
    let sql = format!(
        "BEGIN; SELECT pg_advisory_xact_lock({}); SELECT encode(v, 'hex') FROM secretsd_kv WHERE k = {}",
        lock_id(&key),
        literal(&key)
    );
    // From here on, dropping the connection rolls back whatever was sent.
    let conn = TxnConn::new(client, handle);
    let answers = conn.client().simple_query(&sql).await.map_err(db_error)?;
    let mut rows = answers.iter().filter_map(|answer| match answer {
        SimpleQueryMessage::Row(row) => Some(row),
        _ => None,
    });
    let _locked = rows.next();
    let value = match rows.next().and_then(|row| row.get(0)) {
        Some(text) => Some(hex::decode(text).map_err(|e| {
            StoreError::Engine(format!(
                "the database answered a value that is not hex: {e}"
            ))
        })?),
        None => None,
    };
    Ok(LockedTxn { conn, key, value })
}

/// A change under its lock: reads on its connection, and the commit that lets the lock go.
pub struct Locked {
    pub txn: Arc<LockedTxn>,
    pub handle: Handle,
    pub cache: Arc<ReadCache>,
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
        let Locked { txn, handle, cache } = *self;
        Box::pin(super::calls::spawn(&handle, async move {
            let committed = send(txn.conn.client(), &ops, true).await;
            if committed.is_ok() {
                txn.conn.committed();
            }
            drop(txn);
            wait_out(&cache, &ops).await;
            committed
        }))
    }
}

/// After a commit (or a commit whose answer was lost, which may still have happened): this
/// node reads what changed again, and the change is acknowledged only once no node can serve
/// an entry read before it (see the engine's docs).
pub async fn wait_out(cache: &ReadCache, ops: &[Op]) {
    cache.forget(ops);
    tokio::time::sleep(cache.window).await;
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
