use super::committer::recorded_epoch;
use super::journal::{Appended, Replayed};
use super::snapshot::{RedbSnapshot, TABLE};
use super::*;
use redb::ReadableDatabase;
use std::ops::Bound;
use std::time::Duration;

fn contents(db: &Database) -> Vec<(Vec<u8>, Vec<u8>)> {
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(TABLE).unwrap();
    table
        .range::<&[u8]>(..)
        .unwrap()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (k.value().to_vec(), v.value().to_vec())
        })
        .collect()
}

fn store_with(base: &[Op]) -> Database {
    let db = Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .unwrap();
    commit(&db, base.iter(), Commit::Plain).unwrap();
    db
}

fn put(k: &str, v: &str) -> Op {
    Op::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

fn remove(k: &str) -> Op {
    Op::Remove(k.as_bytes().to_vec())
}

fn remove_prefix(p: &str) -> Op {
    Op::RemovePrefix(p.as_bytes().to_vec())
}

/// Replay applies the journal merged; it must leave what applying each change in turn does.
#[test]
fn a_merged_replay_ends_where_the_changes_one_by_one_end() {
    let base = [
        put("a1", "0"),
        put("a2", "0"),
        put("b1", "0"),
        put("c1", "0"),
    ];
    let journals: Vec<Vec<Vec<Op>>> = vec![
        vec![
            vec![put("a1", "1"), remove("b1")],
            vec![put("a1", "2"), put("b1", "3")],
        ],
        // A prefix removal after writes under it, then a write under it again.
        vec![
            vec![put("a3", "1"), put("a1", "1")],
            vec![remove_prefix("a")],
            vec![put("a2", "2")],
        ],
        // A write, then a prefix removal that takes it, and nothing after.
        vec![
            vec![put("b2", "1")],
            vec![remove_prefix("b"), put("c1", "1")],
        ],
        // Clear between writes.
        vec![
            vec![put("d", "1"), remove("a1")],
            vec![Op::Clear],
            vec![put("a1", "9")],
        ],
        vec![vec![remove("zz"), put("zz", "1"), remove("zz")]],
    ];
    for (n, journal) in journals.iter().enumerate() {
        let one_by_one = store_with(&base);
        for change in journal {
            commit(&one_by_one, change.iter(), Commit::Plain).unwrap();
        }
        let expected = contents(&one_by_one);
        let replayed = store_with(&base);
        let records = Replayed::from_changes(journal);
        let overlay = Arc::new(Overlay::new(&records).unwrap());
        commit(&replayed, overlay.ops().iter(), Commit::Plain).unwrap();
        assert_eq!(contents(&replayed), expected, "journal {n}");

        // Before it is applied, reads through the overlay see the same contents.
        let laid_over = store_with(&base);
        let txn = laid_over.begin_read().unwrap();
        let snapshot = RedbSnapshot {
            table: txn.open_table(TABLE).unwrap(),
            generation: 0,
            overlay: Some(overlay),
        };
        let scan = |lower: Bound<&str>, upper: Bound<&str>, descending: bool| {
            let owned = |b: Bound<&str>| b.map(|k| k.as_bytes().to_vec());
            snapshot
                .range(owned(lower), owned(upper), descending)
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        };
        assert_eq!(scan(Bound::Unbounded, Bound::Unbounded, false), expected);
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(scan(Bound::Unbounded, Bound::Unbounded, true), reversed);
        let within = |k: &[u8]| k >= b"a2".as_slice() && k < b"c1".as_slice();
        let part: Vec<_> = expected
            .iter()
            .filter(|(k, _)| within(k))
            .cloned()
            .collect();
        let range = (Bound::Included("a2"), Bound::Excluded("c1"));
        assert_eq!(scan(range.0, range.1, false), part, "journal {n}");
        let empty = (Bound::Excluded("b"), Bound::Excluded("b"));
        assert!(scan(empty.0, empty.1, true).is_empty());
        for key in ["a1", "a2", "a3", "b1", "b2", "c1", "d", "zz", "q"] {
            let found = expected.iter().find(|(k, _)| k == key.as_bytes());
            assert_eq!(
                snapshot.get(key.as_bytes()).unwrap().as_ref(),
                found.map(|(_, v)| v),
                "journal {n}, key {key}"
            );
        }
    }
}

/// A crash's journal, read at open: served at once, applied by the committer, checkpointed
/// at close, and not replayed again.
#[test]
fn what_a_crash_left_in_the_journal_is_served_applied_and_checkpointed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Redb::open_dir(dir.path(), 1 << 20).unwrap();
    engine
        .apply_now(vec![put("a1", "0"), put("a2", "0"), put("b1", "0")])
        .unwrap();
    drop(engine);
    // What a crash leaves: records in the journal of the epoch the data file records.
    let epoch = {
        let db = Database::open(dir.path().join(FILE_NAME)).unwrap();
        recorded_epoch(&db).unwrap().unwrap()
    };
    let (mut journal, pending) = Journal::open(dir.path(), epoch).unwrap();
    assert!(pending.is_empty());
    for change in [
        vec![put("a1", "1"), remove("b1")],
        vec![remove_prefix("a"), put("a2", "2"), put("c", "3")],
    ] {
        assert_eq!(journal.append(change.iter()).unwrap(), Appended::Durable);
    }
    drop(journal);

    let expected = vec![
        (b"a2".to_vec(), b"2".to_vec()),
        (b"c".to_vec(), b"3".to_vec()),
    ];
    let all = |engine: &Redb| {
        let snapshot = engine.read().unwrap();
        let entries = snapshot.range(Bound::Unbounded, Bound::Unbounded, false);
        entries.map(Result::unwrap).collect::<Vec<_>>()
    };
    let engine = Redb::open_dir(dir.path(), 1 << 20).unwrap();
    assert_eq!(all(&engine), expected);
    assert_eq!(engine.get(b"a1").unwrap(), None);
    // A change waits for the journal's changes, and goes after them.
    engine.apply_now(vec![put("a1", "4")]).unwrap();
    assert!(engine.latest.overlay().is_none());
    assert_eq!(engine.get(b"a1").unwrap(), Some(b"4".to_vec()));
    drop(engine);

    let db = Database::open(dir.path().join(FILE_NAME)).unwrap();
    let mut expected = expected;
    expected.insert(0, (b"a1".to_vec(), b"4".to_vec()));
    assert_eq!(contents(&db), expected);
    let epoch = recorded_epoch(&db).unwrap().unwrap();
    drop(db);
    let (_, pending) = Journal::open(dir.path(), epoch).unwrap();
    assert!(
        pending.is_empty(),
        "the checkpoint at close voids the journal"
    );
}

/// The overlay is applied once the server says it is ready, without waiting for a change.
#[test]
fn what_the_journal_held_is_applied_once_the_server_is_ready() {
    let dir = tempfile::tempdir().unwrap();
    drop(Redb::open_dir(dir.path(), 1 << 20).unwrap());
    let epoch = {
        let db = Database::open(dir.path().join(FILE_NAME)).unwrap();
        recorded_epoch(&db).unwrap().unwrap()
    };
    let (mut journal, _) = Journal::open(dir.path(), epoch).unwrap();
    journal.append([put("k", "v")].iter()).unwrap();
    drop(journal);

    let engine = Redb::open_dir(dir.path(), 1 << 20).unwrap();
    assert!(
        engine.latest.overlay().is_some(),
        "not applied before serving"
    );
    assert_eq!(engine.get(b"k").unwrap(), Some(b"v".to_vec()));
    engine.serving();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while engine.latest.overlay().is_some() {
        assert!(std::time::Instant::now() < deadline, "never applied");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(engine.get(b"k").unwrap(), Some(b"v".to_vec()));
    let txn = engine.latest.database().unwrap().begin_read().unwrap();
    let table = txn.open_table(TABLE).unwrap();
    assert_eq!(table.get(&b"k"[..]).unwrap().unwrap().value(), b"v");
}
