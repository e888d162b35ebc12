//! The write-ahead journal: each group commit is one record appended to a preallocated file and
//! made durable with one `fdatasync`, before redb applies it without syncing. A checkpoint (a
//! durable redb commit) makes everything journaled so far part of the data file and starts a new
//! epoch; the journal then refills from its start.
//!
//! Why: a durable redb commit writes every page it copied and syncs twice (quick repair needs a
//! 2-phase commit), and under PutSecretValue load that was the committer's whole time. One
//! sequential write and one sync per commit, with the pages synced once per checkpoint, is what
//! databases do for the same reason.
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

use super::engine::Op;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

pub const FILE_NAME: &str = "secrets.journal";
/// The journal's size: bounds the work a restart after a crash does before it is ready, and how
/// often a busy store checkpoints (each checkpoint holds up the commits behind it). Measured
/// (PutSecretValue, 16 clients, 5,000 secrets, 2 rounds of 5 x 5 s): 1 MiB 8.4-11.7k req/s with
/// p99 18-22 ms; 4 MiB 9.9-13.5k with p99 2-5 ms. But with 100,000 secrets, opening redb after
/// `kill -9` took 0.6 ms with up to ~650 journaled commits unapplied to the file and 3-23 ms with
/// 740-1,900: past 1 MiB, start-up after a crash misses its 10 ms.
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
    pub fn create(dir: &Path) -> Result<(), String> {
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(format!("{FILE_NAME}.new"));
        let fail = |e: std::io::Error| format!("cannot create {}: {e}", path.display());
        let file = File::create(&tmp).map_err(fail)?;
        write_zeros(&file, 0..INITIAL_CAPACITY).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(&tmp, &path).map_err(fail)?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(fail)?;
        Ok(())
    }

    /// Opens the journal of `epoch` and returns it with the changes it holds, oldest first.
    /// `Err` is one line for the operator.
    pub fn open(dir: &Path, epoch: u64) -> Result<(Journal, Vec<Vec<Op>>), String> {
        let path = dir.join(FILE_NAME);
        let damaged = |why: String| {
            format!(
                "the store in {} is damaged ({why}) and was not opened; restore the data dir from a backup or move it aside",
                dir.display()
            )
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
        let (changes, offset) = replay(&file, len, epoch).map_err(damaged)?;
        let journal = Journal {
            file,
            capacity: len,
            epoch,
            next_seq: changes.len() as u64,
            offset,
        };
        Ok((journal, changes))
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
        self.offset += record.len() as u64;
        self.next_seq += 1;
        Ok(Appended::Durable)
    }

    /// After a checkpoint that recorded `epoch`: what the journal holds is in the data file, and
    /// the journal refills from its start, at `CAPACITY` if it had another size.
    pub fn restart(&mut self, epoch: u64) {
        self.epoch = epoch;
        self.next_seq = 0;
        self.offset = 0;
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

/// The journal's bytes, read in pieces as far as the records go: an idle store's journal holds
/// none, and a crash usually leaves it part full (record by record, two reads each, took twice
/// as long; the whole file at once, three times as long when it was mostly empty).
struct Reader<'a> {
    file: &'a File,
    capacity: usize,
    bytes: Vec<u8>,
}

impl Reader<'_> {
    const CHUNK: usize = 16 * PIECE as usize;

    /// The bytes up to `end` (fewer at the end of the file).
    fn upto(&mut self, end: usize) -> std::io::Result<&[u8]> {
        let end = end.min(self.capacity);
        while self.bytes.len() < end {
            let start = self.bytes.len();
            let len = (end - start).max(Self::CHUNK).min(self.capacity - start);
            self.bytes.resize(start + len, 0);
            self.file
                .read_exact_at(&mut self.bytes[start..], start as u64)?;
        }
        Ok(&self.bytes[..end])
    }
}

/// The records of `epoch` from the start of the journal, decoded, and where the next one goes.
fn replay(file: &File, capacity: u64, epoch: u64) -> Result<(Vec<Vec<Op>>, u64), String> {
    let unreadable = |e: std::io::Error| format!("its journal cannot be read: {e}");
    let mut reader = Reader {
        file,
        capacity: capacity as usize,
        bytes: Vec::new(),
    };
    let mut changes = Vec::new();
    let mut offset = 0usize;
    loop {
        let seq = changes.len() as u64;
        let head = reader.upto(offset + HEADER).map_err(unreadable)?;
        let Some(h) = header(&head[offset..], epoch).filter(|h| h.seq == seq) else {
            return Ok((changes, offset as u64));
        };
        let end = offset + HEADER + h.len;
        let bytes = reader.upto(end).map_err(unreadable)?;
        let intact = bytes.get(offset + HEADER..end).filter(|payload| {
            let mut crc = crc32fast::Hasher::new();
            crc.update(&bytes[offset + 8..offset + HEADER]);
            crc.update(payload);
            crc.finalize() == h.crc
        });
        match intact.and_then(decode_ops) {
            Some(ops) => changes.push(ops),
            None => {
                // A torn last record is what a crash leaves; a valid record after it is not.
                let next = reader.upto(end + HEADER).map_err(unreadable)?;
                let followed = next
                    .get(end..)
                    .and_then(|rest| header(rest, epoch))
                    .is_some_and(|next| next.seq == seq + 1);
                if followed {
                    return Err(format!(
                        "record {seq} of its journal does not match its checksum"
                    ));
                }
                return Ok((changes, offset as u64));
            }
        }
        offset = end;
    }
}

fn decode_ops(mut bytes: &[u8]) -> Option<Vec<Op>> {
    fn part(bytes: &mut &[u8]) -> Option<Vec<u8>> {
        let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let value = bytes.get(4..4 + len)?.to_vec();
        *bytes = &bytes[4 + len..];
        Some(value)
    }
    let mut ops = Vec::new();
    while let Some((&tag, rest)) = bytes.split_first() {
        bytes = rest;
        ops.push(match tag {
            b'P' => {
                let k = part(&mut bytes)?;
                Op::Put(k, part(&mut bytes)?)
            }
            b'R' => Op::Remove(part(&mut bytes)?),
            b'X' => Op::RemovePrefix(part(&mut bytes)?),
            b'C' => Op::Clear,
            _ => return None,
        });
    }
    Some(ops)
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
        for (n, change) in replayed.iter().enumerate() {
            assert_eq!(format!("{change:?}"), format!("{:?}", ops(n as u8)));
        }
        assert!(!journal.is_empty());
        // Another epoch's records are history, not changes.
        let (_, replayed) = Journal::open(dir.path(), 8).unwrap();
        assert!(replayed.is_empty());
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
        assert_eq!(format!("{:?}", replayed[0]), format!("{:?}", ops(9)));
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
        assert_eq!(format!("{:?}", replayed[2]), format!("{:?}", ops(5)));
    }

    #[test]
    fn a_damaged_record_before_valid_ones_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        drop(written(dir.path(), 1, 3));
        overwrite(dir.path(), record_len() + HEADER + 2, &[0x5a]);
        let err = Journal::open(dir.path(), 1).err().unwrap();
        assert!(err.contains("is damaged (record 1 of its journal"), "{err}");
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
            err.contains("is damaged (its journal secrets.journal is"),
            "{err}"
        );
        file.set_len(0).unwrap();
        let err = Journal::open(dir.path(), 1).err().unwrap();
        assert!(err.contains("is 0 bytes, not a multiple of 65536"), "{err}");
        std::fs::remove_file(&path).unwrap();
        let err = Journal::open(dir.path(), 1).err().unwrap();
        assert!(err.contains("cannot be opened"), "{err}");
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
        assert!(matches!(&changes[0][..], [Op::Put(k, v)] if *k == [1] && *v == value));
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
