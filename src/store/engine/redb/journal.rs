//! The write-ahead journal: each group commit is one record appended to a preallocated file and
//! made durable with one `fdatasync`, before redb applies it without syncing. A checkpoint (a
//! durable redb commit) makes everything journaled so far part of the data file and starts a new
//! epoch; the journal then refills from its start.
//!
//! Why: a durable redb commit writes every page it copied and syncs twice (quick repair needs a
//! 2-phase commit), and under write load that is what holds the committer up. One sequential
//! write and one sync per commit, with the pages synced once per checkpoint, is what databases
//! do for the same reason.
//!
//! Record: magic `SDJ1`, CRC-32 of the rest, epoch (u64), sequence (u64), payload length
//! (u32), then the payload (the ops). Only records of the current epoch with the next sequence
//! number and a matching checksum are replayed, so a record torn by a crash, and anything left
//! from an earlier epoch, ends the replay. A broken record *followed by* a valid one of the same
//! epoch cannot be a torn tail: that is damage, and the store refuses to open.
//!
//! The file is written with zeros before records go into it: overwriting allocated blocks needs
//! no metadata, so `fdatasync` writes the record and nothing else. A new store's journal starts
//! small (writing megabytes of zeros would add milliseconds to the start of every new data dir)
//! and takes its full size at the first checkpoint, which happens in the background.

use crate::store::engine::Op;
use crate::store::error::{StoreError, StoreResult};
use std::fs::{File, OpenOptions};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const FILE_NAME: &str = "secrets.journal";
/// The journal's size: bounds the work a restart after a crash does before it is ready, and how
/// often a busy store checkpoints (each checkpoint holds up the commits behind it). A larger
/// journal checkpoints less often, but leaves more commits unapplied after `kill -9`, which the
/// next open of redb pays for; 1 MiB keeps start-up after a crash within its 10 ms target (see
/// docs/benchmarks.md).
pub const CAPACITY: u64 = 1024 * 1024;
/// A journal's size must be a multiple of this: the size a journal is written in.
const PIECE: u64 = 64 * 1024;
const _: () = assert!(CAPACITY.is_multiple_of(PIECE));
/// A new store's journal: the first checkpoint grows it to `CAPACITY`.
const INITIAL_CAPACITY: u64 = 256 * 1024;
const _: () = assert!(INITIAL_CAPACITY.is_multiple_of(PIECE) && INITIAL_CAPACITY <= CAPACITY);
/// The largest journal opened: one written by a secretsd with another `CAPACITY` is used at
/// its own size until the next checkpoint resizes it.
const MAX_CAPACITY: u64 = 64 * 1024 * 1024;
const MAGIC: &[u8; 4] = b"SDJ1";
const HEADER: usize = 28;

pub struct Journal {
    file: File,
    /// The file's size: `CAPACITY`, unless the store is new (`INITIAL_CAPACITY`) or an earlier
    /// secretsd wrote it with another size.
    capacity: u64,
    epoch: u64,
    next_seq: u64,
    offset: u64,
    /// Where the last record appended since the open or the last restart begins.
    last: Option<u64>,
    dir: PathBuf,
    /// Its records are mapped by a replay that readers may still hold: the file is replaced,
    /// not overwritten, when the journal restarts.
    mapped: bool,
}

/// What `append` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Appended {
    /// The record is on disk.
    Durable,
    /// It does not fit in what is left: checkpoint, then try again (or commit durably).
    Full,
}

impl Journal {
    /// Writes a new, empty journal (replacing any) of `INITIAL_CAPACITY`, durably, via a
    /// temporary file.
    pub fn create(dir: &Path) -> StoreResult<()> {
        Journal::write_new(dir, INITIAL_CAPACITY).map(drop)
    }

    /// Writes a journal of `capacity` zeros over any, durably, and returns it open.
    fn write_new(dir: &Path, capacity: u64) -> StoreResult<File> {
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(format!("{FILE_NAME}.new"));
        let fail = |e: std::io::Error| StoreError::Open {
            dir: dir.to_path_buf(),
            detail: format!("cannot create {}: {e}", path.display()),
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(fail)?;
        write_zeros(&file, 0..capacity).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(&tmp, &path).map_err(fail)?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(fail)?;
        Ok(file)
    }

    /// Opens the journal of `epoch` and returns it with the changes it holds, oldest first.
    pub fn open(dir: &Path, epoch: u64) -> StoreResult<(Journal, Replayed)> {
        let path = dir.join(FILE_NAME);
        let damaged = |why: String| StoreError::DamagedAtOpen {
            dir: dir.to_path_buf(),
            why,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| damaged(format!("its journal {FILE_NAME} cannot be opened: {e}")))?;
        let len = file
            .metadata()
            .map_err(|e| damaged(format!("its journal cannot be read: {e}")))?
            .len();
        if len == 0 || !len.is_multiple_of(PIECE) || len > MAX_CAPACITY {
            return Err(damaged(format!(
                "its journal {FILE_NAME} is {len} bytes, not a multiple of {PIECE} up to {MAX_CAPACITY}"
            )));
        }
        // SAFETY: the journal is this process's own file (the data file's lock keeps another
        // secretsd off it), and nothing shortens it while the mapping lives.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|e| damaged(format!("its journal cannot be read: {e}")))?;
        let (payloads, offset) = replay(&map, epoch).map_err(damaged)?;
        let replayed = Replayed {
            bytes: (!payloads.is_empty()).then(|| Arc::new(map) as JournalBytes),
            payloads,
        };
        let journal = Journal {
            file,
            dir: dir.to_path_buf(),
            capacity: len,
            epoch,
            next_seq: replayed.len() as u64,
            offset,
            last: None,
            mapped: !replayed.is_empty(),
        };
        Ok((journal, replayed))
    }

    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    /// Appends one commit's ops and syncs them.
    pub fn append<'a>(&mut self, ops: impl Iterator<Item = &'a Op>) -> std::io::Result<Appended> {
        let record = encode_record(self.epoch, self.next_seq, ops);
        if self.offset + record.len() as u64 > self.capacity {
            return Ok(Appended::Full);
        }
        self.file.write_all_at(&record, self.offset)?;
        self.file.sync_data()?;
        self.last = Some(self.offset);
        self.offset += record.len() as u64;
        self.next_seq += 1;
        Ok(Appended::Durable)
    }

    /// Takes back the last record appended, whose change failed: its header is zeroed (a
    /// replay ends where it was) and synced, and the next append goes where it was.
    pub fn retract_last(&mut self) -> std::io::Result<()> {
        let Some(at) = self.last.take() else {
            return Err(std::io::Error::other("no record to retract"));
        };
        self.file.write_all_at(&[0u8; HEADER], at)?;
        self.file.sync_data()?;
        self.offset = at;
        self.next_seq -= 1;
        Ok(())
    }

    /// After a checkpoint that recorded `epoch`: what the journal holds is in the data file, and
    /// the journal refills from its start, at `CAPACITY` if it had another size.
    pub fn restart(&mut self, epoch: u64) {
        self.epoch = epoch;
        self.next_seq = 0;
        self.offset = 0;
        self.last = None;
        if self.mapped {
            match Journal::write_new(&self.dir, CAPACITY) {
                Ok(file) => {
                    self.file = file;
                    self.capacity = CAPACITY;
                    self.mapped = false;
                    return;
                }
                // Overwriting it is safe once no reader holds the replay, which by now (a
                // checkpoint after the replay was applied) is all but certain; a reader that
                // still did would find bytes that fail to open (values are sealed and bound to
                // their keys), not another secret's value.
                Err(e) => {
                    tracing::error!("cannot replace the journal ({e}); overwriting it");
                    self.mapped = false;
                }
            }
        }
        if self.capacity != CAPACITY {
            match self.resize() {
                Ok(()) => self.capacity = CAPACITY,
                Err(e) => tracing::warn!(
                    "cannot resize the journal to {CAPACITY} bytes ({e}); it stays at {}",
                    self.capacity
                ),
            }
        }
    }

    /// Sets the file to `CAPACITY`. Nothing in it is of the new epoch, so a crash at any point
    /// leaves a valid journal: the size changes at once (a new part reads as zeros), then the
    /// new part is written so that appends to it need no block allocation.
    fn resize(&mut self) -> std::io::Result<()> {
        self.file.set_len(CAPACITY)?;
        if CAPACITY > self.capacity {
            write_zeros(&self.file, self.capacity..CAPACITY)?;
        }
        self.file.sync_all()
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// Writes zeros over `range` of `file`, in pieces: a buffer of megabytes would stay in the heap.
fn write_zeros(file: &File, range: std::ops::Range<u64>) -> std::io::Result<()> {
    let zeros = [0u8; PIECE as usize];
    let mut offset = range.start;
    while offset < range.end {
        let len = (range.end - offset).min(PIECE) as usize;
        file.write_all_at(&zeros[..len], offset)?;
        offset += len as u64;
    }
    Ok(())
}

fn encode_record<'a>(epoch: u64, seq: u64, ops: impl Iterator<Item = &'a Op>) -> Vec<u8> {
    let mut out = vec![0u8; HEADER];
    for op in ops {
        let mut field = |tag: u8, parts: &[&[u8]]| {
            out.push(tag);
            for part in parts {
                out.extend_from_slice(&(part.len() as u32).to_le_bytes());
                out.extend_from_slice(part);
            }
        };
        match op {
            Op::Put(k, v) => field(b'P', &[k, v]),
            Op::Remove(k) => field(b'R', &[k]),
            Op::RemovePrefix(p) => field(b'X', &[p]),
            Op::Clear => field(b'C', &[]),
        }
    }
    let len = (out.len() - HEADER) as u32;
    out[0..4].copy_from_slice(MAGIC);
    out[8..16].copy_from_slice(&epoch.to_le_bytes());
    out[16..24].copy_from_slice(&seq.to_le_bytes());
    out[24..28].copy_from_slice(&len.to_le_bytes());
    let crc = crc32fast::hash(&out[8..]);
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    out
}

/// A record's header.
struct Header {
    crc: u32,
    seq: u64,
    len: usize,
}

/// The header at the start of `bytes`, if a record of `epoch` starts there.
fn header(bytes: &[u8], epoch: u64) -> Option<Header> {
    let h = bytes.get(..HEADER)?;
    let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().unwrap());
    if &h[0..4] != MAGIC || u64_at(8) != epoch {
        return None;
    }
    Some(Header {
        crc: u32::from_le_bytes(h[4..8].try_into().unwrap()),
        seq: u64_at(16),
        len: u32::from_le_bytes(h[24..28].try_into().unwrap()) as usize,
    })
}

/// The payloads of the records of `epoch` from the start of `bytes`, and where the next record
/// goes.
fn replay(bytes: &[u8], epoch: u64) -> Result<(Vec<Range<usize>>, u64), String> {
    let mut payloads = Vec::new();
    let mut offset = 0usize;
    loop {
        let seq = payloads.len() as u64;
        let Some(h) = header(&bytes[offset..], epoch).filter(|h| h.seq == seq) else {
            return Ok((payloads, offset as u64));
        };
        let end = offset + HEADER + h.len;
        let intact = bytes.get(offset + HEADER..end).is_some_and(|payload| {
            let mut crc = crc32fast::Hasher::new();
            crc.update(&bytes[offset + 8..offset + HEADER]);
            crc.update(payload);
            crc.finalize() == h.crc && for_each_op(bytes, offset + HEADER..end, |_| ()).is_some()
        });
        if !intact {
            // A torn last record is what a crash leaves; a valid record after it is not.
            let followed = bytes
                .get(end..)
                .and_then(|rest| header(rest, epoch))
                .is_some_and(|next| next.seq == seq + 1);
            if followed {
                return Err(format!(
                    "record {seq} of its journal does not match its checksum"
                ));
            }
            return Ok((payloads, offset as u64));
        }
        payloads.push(offset + HEADER..end);
        offset = end;
    }
}

/// Where some bytes lie in a journal's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    pub fn of(self, bytes: &[u8]) -> &[u8] {
        &bytes[self.start as usize..(self.start + self.len) as usize]
    }
}

/// One op of a record, as spans of the journal's bytes.
#[derive(Debug, Clone, Copy)]
pub enum OpAt {
    Put(Span, Span),
    Remove(Span),
    RemovePrefix(Span),
    Clear,
}

/// Calls `f` with each op of the payload at `range` of `bytes`, in order; `None` if the
/// payload is not a list of ops.
fn for_each_op(bytes: &[u8], range: Range<usize>, mut f: impl FnMut(OpAt)) -> Option<()> {
    let mut at = range.start;
    let end = range.end;
    let part = |at: &mut usize| -> Option<Span> {
        let len_end = at.checked_add(4).filter(|e| *e <= end)?;
        let len = u32::from_le_bytes(bytes[*at..len_end].try_into().ok()?);
        let part_end = len_end.checked_add(len as usize).filter(|e| *e <= end)?;
        let span = Span {
            start: len_end as u32,
            len,
        };
        *at = part_end;
        Some(span)
    };
    while at < end {
        let tag = bytes[at];
        at += 1;
        f(match tag {
            b'P' => {
                let k = part(&mut at)?;
                OpAt::Put(k, part(&mut at)?)
            }
            b'R' => OpAt::Remove(part(&mut at)?),
            b'X' => OpAt::RemovePrefix(part(&mut at)?),
            b'C' => OpAt::Clear,
            _ => return None,
        });
    }
    Some(())
}

/// Bytes a replay's spans point into: the journal's mapping, or (in tests) a buffer.
pub type JournalBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// The changes a journal holds beyond the data file, read where they lie: in the journal's
/// own pages, mapped. Why not copied: a crash's journal holds up to a megabyte of keys and
/// values, and copying them into fresh memory would be on the path to ready.
pub struct Replayed {
    bytes: Option<JournalBytes>,
    payloads: Vec<Range<usize>>,
}

impl Replayed {
    /// Changes (records) replayed.
    pub fn len(&self) -> usize {
        self.payloads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.payloads.is_empty()
    }

    /// The bytes the spans of `for_each_op` point into.
    pub fn bytes(&self) -> Option<&JournalBytes> {
        self.bytes.as_ref()
    }

    /// Calls `f` with every op of every change, oldest first.
    pub fn for_each_op(&self, mut f: impl FnMut(OpAt)) {
        let Some(bytes) = &self.bytes else { return };
        let bytes = (**bytes).as_ref();
        for payload in &self.payloads {
            // Checked when the journal was replayed.
            for_each_op(bytes, payload.clone(), &mut f).expect("a replayed record decodes");
        }
    }

    /// The changes, copied out.
    #[cfg(test)]
    pub fn owned(&self) -> Vec<Vec<Op>> {
        let Some(bytes) = &self.bytes else {
            return Vec::new();
        };
        let bytes = (**bytes).as_ref();
        let owned = |span: Span| span.of(bytes).to_vec();
        self.payloads
            .iter()
            .map(|payload| {
                let mut ops = Vec::new();
                for_each_op(bytes, payload.clone(), |op| {
                    ops.push(match op {
                        OpAt::Put(k, v) => Op::Put(owned(k), owned(v)),
                        OpAt::Remove(k) => Op::Remove(owned(k)),
                        OpAt::RemovePrefix(p) => Op::RemovePrefix(owned(p)),
                        OpAt::Clear => Op::Clear,
                    })
                })
                .unwrap();
                ops
            })
            .collect()
    }

    /// `changes` as a journal would hold them.
    #[cfg(test)]
    pub fn from_changes(changes: &[Vec<Op>]) -> Replayed {
        let mut bytes = Vec::new();
        let mut payloads = Vec::new();
        for (seq, change) in changes.iter().enumerate() {
            let start = bytes.len();
            bytes.extend(encode_record(1, seq as u64, change.iter()));
            payloads.push(start + HEADER..bytes.len());
        }
        Replayed {
            bytes: Some(Arc::new(bytes)),
            payloads,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(n: u8) -> Vec<Op> {
        vec![
            Op::Put(vec![b'S', n], vec![n; 3]),
            Op::Remove(vec![b'L', n]),
            Op::RemovePrefix(vec![b'V', n]),
            Op::Clear,
        ]
    }

    fn written(dir: &Path, epoch: u64, records: u8) -> Journal {
        Journal::create(dir).unwrap();
        let (mut journal, replayed) = Journal::open(dir, epoch).unwrap();
        assert!(replayed.is_empty());
        for n in 0..records {
            assert_eq!(journal.append(ops(n).iter()).unwrap(), Appended::Durable);
        }
        journal
    }

    fn record_len() -> usize {
        encode_record(0, 0, ops(0).iter()).len()
    }

    /// Damage from outside: `bytes` written over the journal at `offset`.
    fn overwrite(dir: &Path, offset: usize, bytes: &[u8]) {
        let file = OpenOptions::new()
            .write(true)
            .open(dir.join(FILE_NAME))
            .unwrap();
        file.write_all_at(bytes, offset as u64).unwrap();
    }

    #[test]
    fn records_of_the_epoch_replay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        drop(written(dir.path(), 7, 3));
        let (journal, replayed) = Journal::open(dir.path(), 7).unwrap();
        assert_eq!(replayed.len(), 3);
        for (n, change) in replayed.owned().iter().enumerate() {
            assert_eq!(format!("{change:?}"), format!("{:?}", ops(n as u8)));
        }
        assert!(!journal.is_empty());
        // Another epoch's records are history, not changes.
        let (_, replayed) = Journal::open(dir.path(), 8).unwrap();
        assert!(replayed.is_empty());
    }

    #[test]
    fn a_retracted_record_is_not_replayed_and_the_next_takes_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = written(dir.path(), 3, 2);
        journal.retract_last().unwrap();
        assert!(
            journal.retract_last().is_err(),
            "only the last record can be taken back"
        );
        drop(journal);
        let (mut journal, replayed) = Journal::open(dir.path(), 3).unwrap();
        assert_eq!(replayed.len(), 1);
        assert_eq!(
            format!("{:?}", replayed.owned()[0]),
            format!("{:?}", ops(0))
        );
        assert_eq!(journal.append(ops(5).iter()).unwrap(), Appended::Durable);
        drop(journal);
        let (_, replayed) = Journal::open(dir.path(), 3).unwrap();
        let changes: Vec<String> = replayed.owned().iter().map(|c| format!("{c:?}")).collect();
        assert_eq!(changes, [format!("{:?}", ops(0)), format!("{:?}", ops(5))]);
    }

    #[test]
    fn a_restarted_journal_does_not_replay_the_old_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = written(dir.path(), 1, 3);
        journal.restart(2);
        journal.append(ops(9).iter()).unwrap();
        drop(journal);
        let (_, replayed) = Journal::open(dir.path(), 2).unwrap();
        assert_eq!(replayed.len(), 1);
        assert_eq!(
            format!("{:?}", replayed.owned()[0]),
            format!("{:?}", ops(9))
        );
    }

    #[test]
    fn a_torn_last_record_ends_the_replay_and_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        drop(written(dir.path(), 1, 3));
        // The crash cut the third record short.
        overwrite(dir.path(), 3 * record_len() - 5, &[0u8; 5]);
        let (mut journal, replayed) = Journal::open(dir.path(), 1).unwrap();
        assert_eq!(replayed.len(), 2);
        journal.append(ops(5).iter()).unwrap();
        drop(journal);
        let (_, replayed) = Journal::open(dir.path(), 1).unwrap();
        assert_eq!(replayed.len(), 3);
        assert_eq!(
            format!("{:?}", replayed.owned()[2]),
            format!("{:?}", ops(5))
        );
    }

    #[test]
    fn a_damaged_record_before_valid_ones_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        drop(written(dir.path(), 1, 3));
        overwrite(dir.path(), record_len() + HEADER + 2, &[0x5a]);
        let err = Journal::open(dir.path(), 1).err().unwrap();
        assert!(
            err.to_string()
                .contains("is damaged (record 1 of its journal"),
            "{err}"
        );
    }

    #[test]
    fn a_journal_of_the_wrong_size_or_missing_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        drop(written(dir.path(), 1, 1));
        let path = dir.path().join(FILE_NAME);
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(CAPACITY - 1).unwrap();
        let err = Journal::open(dir.path(), 1).err().unwrap();
        assert!(
            err.to_string()
                .contains("is damaged (its journal secrets.journal is"),
            "{err}"
        );
        file.set_len(0).unwrap();
        let err = Journal::open(dir.path(), 1).err().unwrap();
        assert!(
            err.to_string()
                .contains("is 0 bytes, not a multiple of 65536"),
            "{err}"
        );
        std::fs::remove_file(&path).unwrap();
        let err = Journal::open(dir.path(), 1).err().unwrap();
        assert!(err.to_string().contains("cannot be opened"), "{err}");
    }

    /// A journal an earlier secretsd wrote at another size is replayed and used at its size;
    /// the next checkpoint resizes it, and it still works after a restart.
    #[test]
    fn a_journal_of_an_earlier_size_is_used_then_resized() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        drop(written(dir.path(), 1, 3));
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(CAPACITY / 4).unwrap();
        let (mut journal, changes) = Journal::open(dir.path(), 1).unwrap();
        assert_eq!(changes.len(), 3);
        assert_eq!(journal.capacity, CAPACITY / 4);
        let value = vec![7u8; CAPACITY as usize / 3];
        let big = [Op::Put(vec![1], value.clone())];
        assert_eq!(journal.append(big.iter()).unwrap(), Appended::Full);

        journal.restart(2);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), CAPACITY);
        assert_eq!(journal.append(big.iter()).unwrap(), Appended::Durable);
        drop(journal);
        let (_, changes) = Journal::open(dir.path(), 2).unwrap();
        assert_eq!(changes.len(), 1);
        assert!(matches!(&changes.owned()[0][..], [Op::Put(k, v)] if *k == [1] && *v == value));
    }

    /// A replay is read where the records lie; a reader may hold it after the journal has
    /// restarted, so the restart writes a new file instead of overwriting the mapped one.
    #[test]
    fn a_replay_held_across_a_restart_still_reads_its_records() {
        let dir = tempfile::tempdir().unwrap();
        drop(written(dir.path(), 1, 3));
        let (mut journal, replayed) = Journal::open(dir.path(), 1).unwrap();
        let before = format!("{:?}", replayed.owned());
        journal.restart(2);
        for n in 10..20 {
            assert_eq!(journal.append(ops(n).iter()).unwrap(), Appended::Durable);
        }
        assert_eq!(format!("{:?}", replayed.owned()), before);
        drop(journal);
        let (_, now) = Journal::open(dir.path(), 2).unwrap();
        assert_eq!(now.len(), 10);
        assert_eq!(format!("{:?}", now.owned()[0]), format!("{:?}", ops(10)));
        // Nothing of the old epoch is left to replay.
        let (_, old) = Journal::open(dir.path(), 1).unwrap();
        assert!(old.is_empty());
    }

    #[test]
    fn a_record_that_is_not_a_list_of_ops_ends_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let journal = written(dir.path(), 1, 0);
        let record = encode_record(1, 0, ops(1).iter());
        // A valid checksum over a payload that does not decode: an op's length past the end.
        let mut bad = record.clone();
        bad[HEADER + 1..HEADER + 5].copy_from_slice(&u32::MAX.to_le_bytes());
        let crc = crc32fast::hash(&bad[8..]);
        bad[4..8].copy_from_slice(&crc.to_le_bytes());
        journal.file.write_all_at(&bad, 0).unwrap();
        drop(journal);
        let (_, replayed) = Journal::open(dir.path(), 1).unwrap();
        assert!(replayed.is_empty());
    }

    #[test]
    fn a_change_larger_than_what_is_left_asks_for_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = written(dir.path(), 1, 0);
        assert_eq!(journal.capacity, INITIAL_CAPACITY);
        let big = [Op::Put(vec![1], vec![0u8; INITIAL_CAPACITY as usize / 2])];
        assert_eq!(journal.append(big.iter()).unwrap(), Appended::Durable);
        assert_eq!(journal.append(big.iter()).unwrap(), Appended::Full);
        journal.restart(2);
        assert_eq!(journal.capacity, CAPACITY);
        assert_eq!(journal.append(big.iter()).unwrap(), Appended::Durable);
        assert_eq!(journal.append(big.iter()).unwrap(), Appended::Durable);
    }
}
