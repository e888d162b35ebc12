use super::keys::{record_key, secret_key_bytes, split_apart_entry, value_key, APART_TAG};
use super::*;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::model::stages;

/// The same store on each engine: the embedded ones in memory, and PostgreSQL in a database of
/// its own when scripts/testdb's server is there (`SECRETSD_TEST_PG_PORT`).
fn every_engine() -> Vec<(EngineKind, Store)> {
    let mut kinds = EngineKind::EMBEDDED.to_vec();
    kinds.extend(fresh_postgres().map(EngineKind::Postgres));
    kinds
        .into_iter()
        .map(|kind| {
            let store = Store::open(&Location::InMemory, &kind, None).unwrap();
            (kind, store)
        })
        .collect()
}

/// The URL of a new, empty database on scripts/testdb's PostgreSQL, if it runs.
pub fn fresh_postgres() -> Option<String> {
    let port = std::env::var("SECRETSD_TEST_PG_PORT").ok()?;
    let password = std::env::var("SECRETSD_TEST_PG_PASSWORD").ok()?;
    let name = format!("secretsd_{}", uuid::Uuid::new_v4().simple());
    let server = format!("postgres://master:{password}@127.0.0.1:{port}");
    let create = format!("CREATE DATABASE {name}");
    let admin = format!("{server}/postgres?sslmode=disable");
    // On a thread of its own: the caller may be a runtime's task.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .expect("scripts/testdb's PostgreSQL");
            tokio::spawn(connection);
            client.batch_execute(&create).await.unwrap();
        })
    })
    .join()
    .unwrap();
    Some(format!("{server}/{name}?sslmode=disable"))
}

fn secret(name: &str, versions: &[&str]) -> Secret {
    Secret {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        name: name.into(),
        arn: format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-AbCdEf"),
        versions: versions
            .iter()
            .map(|id| Version {
                id: id.to_string(),
                created_ms: 0,
                last_accessed_ms: None,
                // Labelled, so that the record holds it.
                stages: vec![format!("L-{id}")],
                kms_key_id: None,
                has_value: true,
            })
            .collect(),
        ..Default::default()
    }
}

fn deprecate(secret: &mut Secret, id: &str) {
    secret.version_mut(id).unwrap().stages.clear();
}

/// What the table holds apart for `secret`, whatever its record says: (id, created).
fn held_apart(store: &Store, secret: &Secret) -> Vec<(String, i64)> {
    use std::ops::Bound;
    let snapshot = store.contents.engine.read().unwrap();
    let mut owner = secret_key_bytes(&secret.key());
    owner.push(0);
    snapshot
        .range(
            Bound::Included(vec![APART_TAG]),
            Bound::Excluded(vec![APART_TAG + 1]),
            false,
        )
        .filter_map(|item| {
            let (k, entry) = item.unwrap();
            let rest = k[9..].strip_prefix(owner.as_slice())?;
            let (meta, _) = split_apart_entry(&entry).unwrap();
            let version = store
                .contents
                .sealer
                .open_version(&k, meta, &secret.key())
                .unwrap();
            assert_eq!(version.id.as_bytes(), rest);
            Some((version.id, version.created_ms))
        })
        .collect()
}

fn ids(versions: &[Version]) -> Vec<&str> {
    versions.iter().map(|v| v.id.as_str()).collect()
}

fn text(value: SecretValue) -> String {
    match value {
        SecretValue::String(s) => s,
        SecretValue::Binary(_) => panic!("a binary value"),
    }
}

async fn stored(store: &Store, name: &str, versions: &[&str]) -> Secret {
    let s = secret(name, versions);
    let mut txn = store.begin(&s.key()).await.unwrap();
    for id in versions {
        txn.put_value(&s, id, &SecretValue::String(format!("{name}-{id}")));
    }
    txn.commit(Some(&s)).await.unwrap();
    s
}

fn names(store: &Store, start: Start<'_>, descending: bool) -> Vec<String> {
    store
        .scan(
            "000000000000",
            "us-east-1",
            ListOrder::Name,
            start,
            descending,
        )
        .map(|item| item.unwrap().1.name)
        .collect()
}

/// Values sit between records in key order: name-order scans must step over them, from any
/// start, in both directions.
#[tokio::test]
async fn name_order_scans_step_over_values() {
    for (kind, store) in every_engine() {
        eprintln!("on {}", kind.name());
        for (name, versions) in [
            ("a", &["v1", "v2", "v3"][..]),
            ("a/b", &["v1"][..]),
            ("a0", &[][..]),
            ("b", &["v1", "v2"][..]),
        ] {
            stored(&store, name, versions).await;
        }
        assert_eq!(
            names(&store, Start::Beginning, false),
            ["a", "a/b", "a0", "b"]
        );
        assert_eq!(
            names(&store, Start::Beginning, true),
            ["b", "a0", "a/b", "a"]
        );
        let after = |name: &str| Cursor {
            date_ms: 0,
            name: name.into(),
        };
        assert_eq!(
            names(&store, Start::After(&after("a")), false),
            ["a/b", "a0", "b"]
        );
        assert_eq!(
            names(&store, Start::After(&after("b")), true),
            ["a0", "a/b", "a"]
        );
        assert_eq!(
            names(&store, Start::AtName("a/"), false),
            ["a/b", "a0", "b"]
        );
        assert_eq!(names(&store, Start::AtName("a/b"), true), ["a/b", "a"]);
        // A lookup cannot reach a value through a name holding its key's \0.
        let mut key = secret("a", &[]).key();
        key.name = "a\0v1".into();
        assert!(store.get(&key).unwrap().is_none());
    }
}

/// A reader holding a record from before a commit that removed a version (pruned past the
/// quota) or the whole secret gets what a read after that commit gets, not a storage error.
#[tokio::test]
async fn a_value_removed_after_its_record_was_read_is_not_found() {
    for (kind, store) in every_engine() {
        eprintln!("on {}", kind.name());
        let before = stored(&store, "a", &["v1", "v2"]).await;
        let mut after = before.clone();
        after.versions.remove(0);
        let txn = store.begin(&before.key()).await.unwrap();
        txn.commit(Some(&after)).await.unwrap();
        let err = store.read_value(&before, &before.versions[0]).unwrap_err();
        assert_eq!(err.code, ErrorCode::ResourceNotFound);
        assert_eq!(
            err.message,
            "Secrets Manager can't find the specified secret value for VersionId: v1"
        );
        assert_eq!(
            text(store.read_value(&before, &before.versions[1]).unwrap()),
            "a-v2"
        );

        let txn = store.begin(&before.key()).await.unwrap();
        txn.commit(None).await.unwrap();
        let err = store.read_value(&before, &before.versions[1]).unwrap_err();
        assert_eq!(err.code, ErrorCode::ResourceNotFound);
        assert_eq!(err.message, ApiError::secret_not_found().message);
    }
}

/// A value sealed for one (secret, version) never opens as another,
/// even when its bytes are copied there inside the store.
#[tokio::test]
async fn ciphertext_moved_to_another_version_or_secret_does_not_open() {
    for (kind, store) in every_engine() {
        eprintln!("on {}", kind.name());
        let a = secret("a", &["v1", "v2"]);
        let b = secret("b", &["v1"]);
        for (s, values) in [
            (&a, vec![("v1", "alpha-1"), ("v2", "alpha-2")]),
            (&b, vec![("v1", "beta-1")]),
        ] {
            let mut txn = store.begin(&s.key()).await.unwrap();
            for (id, value) in values {
                txn.put_value(s, id, &SecretValue::String(value.into()));
            }
            txn.commit(Some(s)).await.unwrap();
        }
        assert_eq!(
            text(store.read_value(&a, &a.versions[1]).unwrap()),
            "alpha-2"
        );
        assert_eq!(
            text(store.read_value(&b, &b.versions[0]).unwrap()),
            "beta-1"
        );

        let sealed = store
            .contents
            .engine
            .read()
            .unwrap()
            .get(&value_key(&a.key(), "v1"))
            .unwrap()
            .unwrap();
        store
            .contents
            .engine
            .apply(vec![
                Op::Put(value_key(&a.key(), "v2"), sealed.clone()),
                Op::Put(value_key(&b.key(), "v1"), sealed),
            ])
            .await
            .unwrap();
        for (s, version) in [(&a, &a.versions[1]), (&b, &b.versions[0])] {
            let err = store.read_value(s, version).unwrap_err();
            assert_eq!(err.code, ErrorCode::DecryptionFailure, "{}", s.name);
        }
        assert_eq!(
            text(store.read_value(&a, &a.versions[0]).unwrap()),
            "alpha-1"
        );
    }
}

/// A deprecated version leaves the record on commit and stays readable by id; named in a
/// change, it comes back into it; a version without a value is dropped; a deleted secret
/// leaves nothing apart.
#[tokio::test]
async fn deprecated_versions_are_kept_apart_from_the_record() {
    for (kind, store) in every_engine() {
        eprintln!("on {}", kind.name());
        let mut a = stored(&store, "a", &["v1", "v2", "v3"]).await;
        a.versions[1].created_ms = 20;
        a.versions[0].created_ms = 30; // apart, v1 sorts after v2
        a.versions.push(Version {
            has_value: false,
            ..secret("a", &["p"]).versions[0].clone()
        });
        let txn = store.begin(&a.key()).await.unwrap();
        txn.commit(Some(&a)).await.unwrap();
        deprecate(&mut a, "v1");
        deprecate(&mut a, "v2");
        deprecate(&mut a, "p");
        let txn = store.begin(&a.key()).await.unwrap();
        txn.commit(Some(&a)).await.unwrap();

        let record = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(ids(&record.versions), ["v3"]);
        assert_eq!(record.deprecated.len(), 2);
        assert_eq!(
            held_apart(&store, &a),
            [("v2".to_string(), 20), ("v1".to_string(), 30)]
        );
        assert_eq!(
            ids(&store.deprecated_versions(&record).unwrap()),
            ["v2", "v1"]
        );
        let v1 = store.find_version(&record, "v1").unwrap().unwrap();
        assert!(v1.is_deprecated());
        assert_eq!(text(store.read_value(&record, &v1).unwrap()), "a-v1");
        // Values went with their versions: none is left beside the record.
        let beside = |id: &str| {
            store
                .contents
                .engine
                .read()
                .unwrap()
                .get(&value_key(&a.key(), id))
                .unwrap()
        };
        assert!(beside("v1").is_none() && beside("v2").is_none());
        assert!(beside("v3").is_some());
        assert!(store.find_version(&record, "p").unwrap().is_none());
        assert!(store.find_version(&record, "v9").unwrap().is_none());

        // Relabelled: back in the record, no longer apart.
        let mut txn = store.begin(&a.key()).await.unwrap();
        let mut working = txn.current().unwrap().clone();
        txn.version(&mut working, "v1")
            .unwrap()
            .unwrap()
            .stages
            .push("L".into());
        txn.commit(Some(&working)).await.unwrap();
        let record = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(ids(&record.versions), ["v3", "v1"]);
        assert_eq!(record.deprecated.len(), 1);
        assert_eq!(held_apart(&store, &a), [("v2".to_string(), 20)]);
        assert!(beside("v1").is_some());
        assert_eq!(text(store.read_value(&record, &v1).unwrap()), "a-v1");

        // Touched while deprecated: rewritten apart, not duplicated.
        let mut txn = store.begin(&a.key()).await.unwrap();
        let mut working = txn.current().unwrap().clone();
        txn.version(&mut working, "v2").unwrap().unwrap();
        assert!(working.touch("v2", 86_400_000));
        txn.commit(Some(&working)).await.unwrap();
        let record = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(record.deprecated.len(), 1);
        let v2 = store.find_version(&record, "v2").unwrap().unwrap();
        assert_eq!(v2.last_accessed_ms, Some(86_400_000));

        let txn = store.begin(&a.key()).await.unwrap();
        txn.commit(None).await.unwrap();
        assert!(held_apart(&store, &a).is_empty());
        assert!(store
            .contents
            .engine
            .read()
            .unwrap()
            .get(&value_key(&a.key(), "v2"))
            .unwrap()
            .is_none());
    }
}

/// Pruning through a change takes the oldest version kept apart and removes it with its
/// value; a record that holds deprecated versions (values beside it, as a change that
/// deprecates labelled versions finds them) sets them apart on its next change.
#[tokio::test]
async fn pruning_reaches_versions_kept_apart() {
    for (kind, store) in every_engine() {
        eprintln!("on {}", kind.name());
        let ids_: Vec<String> = (0..100).map(|i| format!("v{i:03}")).collect();
        let refs: Vec<&str> = ids_.iter().map(String::as_str).collect();
        let mut a = secret("a", &refs);
        for (i, v) in a.versions.iter_mut().enumerate() {
            v.created_ms = i as i64;
            if i < 98 {
                v.stages.clear();
            }
        }
        // Deprecated versions inside the record, their values beside it.
        let record_key = record_key(&a.key());
        let mut ops: Vec<Op> = a
            .versions
            .iter()
            .map(|v| {
                let value = SecretValue::String(format!("a-{}", v.id));
                let sealed = store.contents.sealer.seal_value(&a, &v.id, &value);
                Op::Put(value_key(&a.key(), &v.id), sealed)
            })
            .collect();
        ops.push(Op::Put(
            record_key.clone(),
            store.contents.sealer.seal_record(&record_key, &a).unwrap(),
        ));
        store.contents.engine.apply(ops).await.unwrap();
        let old = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(old.versions.len(), 100);
        assert_eq!(ids(&store.deprecated_versions(&old).unwrap()).len(), 0);

        let txn = store.begin(&a.key()).await.unwrap();
        txn.commit(Some(&old)).await.unwrap();
        let record = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(ids(&record.versions), ["v098", "v099"]);
        assert_eq!(record.deprecated.len(), 98);
        assert_eq!(held_apart(&store, &a).len(), 98);

        // A 101st version, a day later: v000 goes, from apart and with its value.
        let day = stages::PRUNE_MIN_AGE_MS;
        let mut txn = store.begin(&a.key()).await.unwrap();
        let mut working = txn.current().unwrap().clone();
        working.versions.push(Version {
            created_ms: day,
            ..secret("a", &["new"]).versions[0].clone()
        });
        let removed = stages::prune(&mut working.versions, &mut txn, day).unwrap();
        assert_eq!(removed, ["v000"]);
        txn.put_value(&working, "new", &SecretValue::String("a-new".into()));
        txn.commit(Some(&working)).await.unwrap();
        let record = store.get(&a.key()).unwrap().unwrap();
        assert_eq!(ids(&record.versions), ["v098", "v099", "new"]);
        assert_eq!(record.deprecated.len(), 97);
        let apart = held_apart(&store, &a);
        assert_eq!(apart.len(), 97);
        assert_eq!(apart[0].0, "v001");
        assert!(store
            .contents
            .engine
            .read()
            .unwrap()
            .get(&value_key(&a.key(), "v000"))
            .unwrap()
            .is_none());
        let v001 = store.find_version(&record, "v001").unwrap().unwrap();
        assert_eq!(text(store.read_value(&record, &v001).unwrap()), "a-v001");
    }
}
