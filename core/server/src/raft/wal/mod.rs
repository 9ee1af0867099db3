//! The Raft log on disk: an append-only write-ahead log in segment files.
//!
//! Layout of `<data_dir>/server/raft/`:
//!
//! * `<seq>.wal` (20-digit sequence numbers, consecutive): segments. Each
//!   starts with an 8-byte magic and a *checkpoint*, the hard state, conf
//!   state, peers and snapshot metadata as of its creation, so no segment
//!   needs an older one for metadata. Then records (`record.rs`): entries,
//!   hard state, conf state, peers, snapshot metadata. The newest record of
//!   each kind wins; an entry at an index at or below the last one replaces
//!   the log from there (raft's overwrite of a conflicting suffix), so no
//!   separate truncate record exists.
//! * `snap-<index>-<term>.snap`: snapshot images (`snapfile.rs`), written
//!   before the snapshot record that names them.
//! * `lock`: held (`flock`) while a server uses the directory.
//!
//! Small metadata lives in the WAL itself rather than in a second store:
//! one fsync covers entries and metadata of a `Ready` together.
//!
//! Writes: records are staged in a buffer; [`Wal::write`] issues one `pwrite`
//! of the buffer and, when asked (or when a snapshot record is staged), one
//! `fdatasync`. After a sync, snapshot files and segments that the durable
//! snapshot covers are deleted (a segment once every entry it ever held is at
//! or below the snapshot index). When the active segment reaches the size
//! limit, it is synced and a new one is created (tmp file + fsync + rename +
//! directory fsync), so a segment under its final name always has its
//! checkpoint.
//!
//! Recovery: segments are replayed in order. A bad record (short, checksum
//! mismatch) in the last segment is a torn write when nothing valid follows
//! it: the file is truncated there (only unsynced, unacknowledged data can be
//! lost that way). A bad record followed by a valid one, a bad record in an
//! older segment (synced before the next one was created), or a missing
//! segment is corruption: opening fails with the file and offset.
//!
//! Entries are located by an in-memory index (segment, offset, length, term)
//! for `snapshot index + 1 ..= last index`; reads `pread` one record each.

mod record;
mod snapfile;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ::raft::prelude::{ConfState, Entry, HardState, SnapshotMetadata};
use protobuf::Message as _;

use self::record::{Kind, Parsed, REPLACES_LOG};
use self::snapfile::{io_err, sync_dir};
use super::RaftError;

/// Segments roll over at this size by default.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

const MAGIC: &[u8; 8] = b"DRWAL\0\0\x01";
const SUFFIX: &str = ".wal";

/// How long [`Wal::open`] waits for the lock of a previous instance in this
/// process that is still shutting down (a server restarted in-process).
const LOCK_GRACE: Duration = Duration::from_secs(5);

/// Where an entry's record is.
#[derive(Debug, Clone, Copy)]
struct Pos {
    seq: u64,
    offset: u64,
    len: usize,
    term: u64,
}

struct Segment {
    seq: u64,
    path: PathBuf,
    file: File,
    /// Bytes written (the file's length once the write returned).
    len: u64,
    /// The highest entry index ever written to it (0: none).
    max_index: u64,
}

/// What [`Wal::open`] recovered.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    pub hard_state: HardState,
    pub conf_state: ConfState,
    pub snap_meta: SnapshotMetadata,
    pub peers: BTreeMap<u64, String>,
    pub last_index: u64,
}

/// The write-ahead log of one server; see the module docs.
pub(crate) struct Wal {
    dir: PathBuf,
    _lock: File,
    segment_bytes: u64,
    /// Oldest first; the last one is written to.
    segments: VecDeque<Segment>,
    /// Records staged for the next [`Wal::write`].
    buf: Vec<u8>,
    /// Bytes written since the last fdatasync.
    dirty: bool,
    /// A snapshot record is staged or written but not yet synced.
    snapshot_unsynced: bool,
    /// Index of `positions[0]`; `positions` are contiguous.
    first_index: u64,
    positions: VecDeque<Pos>,
    hard_state: HardState,
    conf_state: ConfState,
    peers: Vec<u8>,
    snap_meta: SnapshotMetadata,
    /// The current snapshot image's file, if any.
    snap_file: Option<PathBuf>,
    /// Snapshot files to delete once the snapshot record replacing them is
    /// durable.
    stale_snap_files: Vec<PathBuf>,
}

fn encode<M: protobuf::Message>(m: &M) -> impl FnOnce(&mut Vec<u8>) + '_ {
    // Encoding a well-formed in-memory message into a Vec cannot fail.
    move |buf| {
        let _ = m.write_to_vec(buf);
    }
}

fn decode<M: protobuf::Message>(
    what: &str,
    path: &Path,
    at: usize,
    bytes: &[u8],
) -> Result<M, RaftError> {
    M::parse_from_bytes(bytes).map_err(|e| {
        RaftError::Storage(format!(
            "{}: offset {at}: decode {what}: {e}",
            path.display()
        ))
    })
}

fn seq_of(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_suffix(SUFFIX)?;
    (digits.len() == 20).then(|| digits.parse().ok()).flatten()
}

fn segment_name(seq: u64) -> String {
    format!("{seq:020}{SUFFIX}")
}

fn lock(dir: &Path, grace: Duration) -> Result<File, RaftError> {
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_err("open", &path, e))?;
    let deadline = Instant::now() + grace;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(RaftError::Storage(format!(
                    "{} is locked: is another Drover server using this data_dir?",
                    dir.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err("lock", &path, e)),
        }
    }
}

impl Wal {
    /// Opens (creating if needed) the WAL in `dir`, recovering its state.
    pub fn open(dir: &Path, segment_bytes: u64) -> Result<(Self, Recovered), RaftError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        let lock = lock(dir, LOCK_GRACE)?;
        let mut seqs = Vec::new();
        let mut snap_files = Vec::new();
        let listing = std::fs::read_dir(dir).map_err(|e| io_err("list", dir, e))?;
        for item in listing {
            let item = item.map_err(|e| io_err("list", dir, e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                // An unfinished segment or snapshot: never referenced.
                let _ = std::fs::remove_file(item.path());
            } else if let Some(seq) = seq_of(&name) {
                seqs.push(seq);
            } else if snapfile::is_snapshot(&name) {
                snap_files.push(item.path());
            }
        }
        seqs.sort_unstable();
        let mut wal = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            segment_bytes: segment_bytes.max(1),
            segments: VecDeque::new(),
            buf: Vec::new(),
            dirty: false,
            snapshot_unsynced: false,
            first_index: 1,
            positions: VecDeque::new(),
            hard_state: HardState::default(),
            conf_state: ConfState::default(),
            peers: b"{}".to_vec(),
            snap_meta: SnapshotMetadata::default(),
            snap_file: None,
            stale_snap_files: Vec::new(),
        };
        if seqs.is_empty() {
            wal.create_segment(1)?;
        }
        for (i, seq) in seqs.iter().enumerate() {
            if i > 0 && *seq != seqs[i - 1] + 1 {
                return Err(RaftError::Storage(format!(
                    "{}: segment {} missing (have {} and {seq})",
                    dir.display(),
                    segment_name(seqs[i - 1] + 1),
                    segment_name(seqs[i - 1])
                )));
            }
            wal.replay_segment(*seq, i + 1 == seqs.len())?;
        }
        wal.finish_recovery(snap_files)
    }

    /// Replays segment `seq` into the in-memory state; truncates a torn tail
    /// if it is the `last` one.
    fn replay_segment(&mut self, seq: u64, last: bool) -> Result<(), RaftError> {
        let path = self.dir.join(segment_name(seq));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_err("open", &path, e))?;
        let bytes = std::fs::read(&path).map_err(|e| io_err("read", &path, e))?;
        if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Err(RaftError::Storage(format!(
                "{}: not a Drover WAL segment (bad header)",
                path.display()
            )));
        }
        self.segments.push_back(Segment {
            seq,
            path: path.clone(),
            file,
            len: 0,
            max_index: 0,
        });
        let mut at = MAGIC.len();
        let end = loop {
            match record::parse(&bytes, at) {
                Parsed::End => break at,
                Parsed::Record {
                    kind,
                    payload,
                    next,
                } => {
                    self.replay_record(seq, at, kind, payload, &path)?;
                    at = next;
                }
                Parsed::Unknown(kind) => {
                    return Err(RaftError::Storage(format!(
                        "{}: offset {at}: unknown record type {kind} (written by a newer Drover?)",
                        path.display()
                    )));
                }
                Parsed::Bad { why, next } => {
                    let valid_after = next.is_some_and(|n| {
                        matches!(
                            record::parse(&bytes, n),
                            Parsed::Record { .. } | Parsed::Unknown(_)
                        )
                    });
                    if !last || valid_after {
                        return Err(RaftError::Storage(format!(
                            "{}: offset {at}: corrupt record ({why}) before the end of the log; \
                             restore this server's data_dir from a backup or remove it and \
                             re-join the cluster",
                            path.display()
                        )));
                    }
                    tracing::warn!(
                        file = %path.display(),
                        offset = at,
                        dropped_bytes = bytes.len() - at,
                        reason = %why,
                        "truncating a torn write at the end of the raft log"
                    );
                    let seg = self.segments.back().map(|s| &s.file);
                    seg.map_or(Ok(()), |f| f.set_len(at as u64).and_then(|()| f.sync_all()))
                        .map_err(|e| io_err("truncate", &path, e))?;
                    break at;
                }
            }
        };
        if let Some(s) = self.segments.back_mut() {
            s.len = end as u64;
        }
        Ok(())
    }

    fn replay_record(
        &mut self,
        seq: u64,
        at: usize,
        kind: Kind,
        payload: &[u8],
        path: &Path,
    ) -> Result<(), RaftError> {
        match kind {
            Kind::Entry => {
                let e: Entry = decode("entry", path, at, payload)?;
                let pos = Pos {
                    seq,
                    offset: at as u64,
                    len: record::HEADER + payload.len(),
                    term: e.term,
                };
                self.place_entry(e.index, pos);
            }
            Kind::HardState => self.hard_state = decode("hard state", path, at, payload)?,
            Kind::ConfState => self.conf_state = decode("conf state", path, at, payload)?,
            Kind::Peers => self.peers = payload.to_vec(),
            Kind::Snapshot => {
                let (flags, meta) = payload.split_first().ok_or_else(|| {
                    RaftError::Storage(format!(
                        "{}: offset {at}: empty snapshot record",
                        path.display()
                    ))
                })?;
                let meta = decode("snapshot metadata", path, at, meta)?;
                self.place_snapshot(meta, flags & REPLACES_LOG != 0);
            }
        }
        Ok(())
    }

    /// Checks the replayed log, finds the snapshot file, opens for writing.
    fn finish_recovery(mut self, snap_files: Vec<PathBuf>) -> Result<(Self, Recovered), RaftError> {
        let snap_index = self.snap_meta.index;
        self.place_snapshot(self.snap_meta.clone(), false);
        if !self.positions.is_empty() && self.first_index != snap_index + 1 {
            return Err(RaftError::Storage(format!(
                "{}: the log resumes at {} after the snapshot at {snap_index}: \
                 entries are missing (a segment was deleted?)",
                self.dir.display(),
                self.first_index
            )));
        }
        if snap_index > 0 {
            let path = self
                .dir
                .join(snapfile::name(snap_index, self.snap_meta.term));
            if !snap_files.contains(&path) {
                return Err(RaftError::Storage(format!(
                    "{}: snapshot file for index {snap_index} missing",
                    path.display()
                )));
            }
            self.snap_file = Some(path);
        }
        // Leftovers of snapshots replaced (or never recorded) before a crash.
        for f in snap_files {
            if Some(&f) != self.snap_file.as_ref() {
                let _ = std::fs::remove_file(&f);
            }
        }
        let peers = serde_json::from_slice(&self.peers).map_err(|e| {
            RaftError::Storage(format!("{}: decode peers: {e}", self.dir.display()))
        })?;
        let recovered = Recovered {
            hard_state: self.hard_state.clone(),
            conf_state: self.conf_state.clone(),
            snap_meta: self.snap_meta.clone(),
            peers,
            last_index: self.last_index(),
        };
        Ok((self, recovered))
    }

    fn last_index(&self) -> u64 {
        if self.positions.is_empty() {
            self.snap_meta.index
        } else {
            self.first_index + self.positions.len() as u64 - 1
        }
    }

    /// Records that `index` is at `pos`: replaces the log from `index` on.
    fn place_entry(&mut self, index: u64, pos: Pos) {
        let next = self.first_index + self.positions.len() as u64;
        if self.positions.is_empty() || index < self.first_index || index > next {
            // The first entry, an overwrite of everything, or (in replay) a
            // gap left by deleted segments that a later snapshot covers.
            self.positions.clear();
            self.first_index = index;
        } else {
            self.positions.truncate((index - self.first_index) as usize);
        }
        self.positions.push_back(pos);
        if let Some(s) = self.segments.iter_mut().rev().find(|s| s.seq == pos.seq) {
            s.max_index = s.max_index.max(index);
        }
    }

    fn place_snapshot(&mut self, meta: SnapshotMetadata, replaces_log: bool) {
        let index = meta.index;
        if replaces_log {
            self.positions.clear();
            self.first_index = index + 1;
            self.snap_meta = meta;
            return;
        }
        while !self.positions.is_empty() && self.first_index <= index {
            self.positions.pop_front();
            self.first_index += 1;
        }
        if self.positions.is_empty() {
            self.first_index = self.first_index.max(index + 1);
        }
        if index >= self.snap_meta.index {
            self.snap_meta = meta;
        }
    }

    /// Creates segment `seq` with a checkpoint of the current metadata and
    /// makes it the active one.
    fn create_segment(&mut self, seq: u64) -> Result<(), RaftError> {
        let mut buf = MAGIC.to_vec();
        record::encode(&mut buf, Kind::HardState, encode(&self.hard_state));
        record::encode(&mut buf, Kind::ConfState, encode(&self.conf_state));
        record::encode(&mut buf, Kind::Peers, |b| b.extend_from_slice(&self.peers));
        record::encode(&mut buf, Kind::Snapshot, |b| {
            b.push(0);
            let _ = self.snap_meta.write_to_vec(b);
        });
        let path = self.dir.join(segment_name(seq));
        let tmp = self.dir.join(format!("{}.tmp", segment_name(seq)));
        std::fs::write(&tmp, &buf)
            .and_then(|()| File::open(&tmp)?.sync_all())
            .map_err(|e| io_err("write", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_err("rename into place", &path, e))?;
        sync_dir(&self.dir)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_err("open", &path, e))?;
        self.segments.push_back(Segment {
            seq,
            path,
            file,
            len: buf.len() as u64,
            max_index: 0,
        });
        Ok(())
    }

    fn active(&self) -> &Segment {
        // `open` always leaves at least one segment and none is removed
        // while it is the last.
        self.segments.back().expect("the WAL has an active segment")
    }

    /// Stages `entries` (contiguous), replacing the log from the first one on.
    pub fn append_entries(&mut self, entries: &[Entry]) {
        let (seq, base) = (self.active().seq, self.active().len);
        for e in entries {
            let (at, len) = record::encode(&mut self.buf, Kind::Entry, encode(e));
            let pos = Pos {
                seq,
                offset: base + at as u64,
                len,
                term: e.term,
            };
            self.place_entry(e.index, pos);
        }
    }

    pub fn set_hard_state(&mut self, hs: &HardState) {
        record::encode(&mut self.buf, Kind::HardState, encode(hs));
        self.hard_state = hs.clone();
    }

    pub fn set_conf_state(&mut self, cs: &ConfState) {
        record::encode(&mut self.buf, Kind::ConfState, encode(cs));
        self.conf_state = cs.clone();
    }

    pub fn set_peers(&mut self, peers: &BTreeMap<u64, String>) {
        self.peers = serde_json::to_vec(peers).unwrap_or_else(|_| b"{}".to_vec());
        let peers = &self.peers;
        record::encode(&mut self.buf, Kind::Peers, |b| b.extend_from_slice(peers));
    }

    /// Writes `image` as the snapshot at `meta` (durably, now) and stages its
    /// record; the next [`Wal::write`] syncs. `replaces_log`: drop every
    /// entry (a snapshot from the leader), else those up to its index.
    pub fn set_snapshot(
        &mut self,
        meta: &SnapshotMetadata,
        image: &[u8],
        replaces_log: bool,
    ) -> Result<(), RaftError> {
        let path = snapfile::write(&self.dir, &snapfile::name(meta.index, meta.term), image)?;
        if let Some(old) = self.snap_file.replace(path.clone())
            && old != path
        {
            self.stale_snap_files.push(old);
        }
        let flags = if replaces_log { REPLACES_LOG } else { 0 };
        record::encode(&mut self.buf, Kind::Snapshot, |b| {
            b.push(flags);
            let _ = meta.write_to_vec(b);
        });
        self.place_snapshot(meta.clone(), replaces_log);
        self.snapshot_unsynced = true;
        Ok(())
    }

    /// Writes the staged records with one `pwrite`; with `sync` (or a
    /// snapshot record pending), makes everything written durable with one
    /// `fdatasync`. Returns whether it synced.
    pub fn write(&mut self, sync: bool) -> Result<bool, RaftError> {
        if !self.buf.is_empty() {
            let seg = self
                .segments
                .back_mut()
                .expect("the WAL has an active segment");
            seg.file
                .write_all_at(&self.buf, seg.len)
                .map_err(|e| io_err("write", &seg.path, e))?;
            seg.len += self.buf.len() as u64;
            self.buf.clear();
            self.dirty = true;
        }
        let sync = (sync || self.snapshot_unsynced) && self.dirty;
        if sync {
            let seg = self.active();
            seg.file
                .sync_data()
                .map_err(|e| io_err("fdatasync", &seg.path, e))?;
            self.dirty = false;
            self.snapshot_unsynced = false;
            self.drop_covered();
        }
        if self.active().len >= self.segment_bytes {
            self.roll()?;
        }
        Ok(sync)
    }

    /// Deletes what the (durable) snapshot makes unnecessary.
    fn drop_covered(&mut self) {
        for f in self.stale_snap_files.drain(..) {
            if let Err(e) = std::fs::remove_file(&f)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(file = %f.display(), error = %e, "cannot delete an old snapshot");
            }
        }
        while self.segments.len() > 1
            && self
                .segments
                .front()
                .is_some_and(|s| s.max_index <= self.snap_meta.index)
        {
            let Some(s) = self.segments.pop_front() else {
                break;
            };
            if let Err(e) = std::fs::remove_file(&s.path) {
                // Harmless: replay skips what the snapshot covers.
                tracing::warn!(file = %s.path.display(), error = %e, "cannot delete a raft log segment");
            }
        }
    }

    /// Seals the active segment (synced: replay treats damage in any but the
    /// last segment as corruption) and starts the next one.
    fn roll(&mut self) -> Result<(), RaftError> {
        let seg = self.active();
        let next = seg.seq + 1;
        if self.dirty {
            seg.file
                .sync_data()
                .map_err(|e| io_err("fdatasync", &seg.path, e))?;
            self.dirty = false;
            self.snapshot_unsynced = false;
        }
        self.create_segment(next)?;
        self.drop_covered();
        Ok(())
    }

    /// The term of the entry at `index`, if the log holds it.
    pub fn term(&self, index: u64) -> Option<u64> {
        let i = index.checked_sub(self.first_index)?;
        self.positions.get(usize::try_from(i).ok()?).map(|p| p.term)
    }

    /// Entries `low..high` (all in the log), stopping before the total size
    /// exceeds `max_size` (but at least one).
    pub fn read_entries(
        &self,
        low: u64,
        high: u64,
        max_size: Option<u64>,
    ) -> Result<Vec<Entry>, RaftError> {
        let mut out = Vec::new();
        let mut size = 0u64;
        for index in low..high {
            let pos = index
                .checked_sub(self.first_index)
                .and_then(|i| self.positions.get(usize::try_from(i).ok()?))
                .ok_or_else(|| {
                    RaftError::Storage(format!(
                        "{}: entry {index} is not in the log ({}..={})",
                        self.dir.display(),
                        self.first_index,
                        self.last_index()
                    ))
                })?;
            let e = self.read_entry(index, pos)?;
            size += u64::from(e.compute_size());
            if !out.is_empty() && max_size.is_some_and(|m| size > m) {
                break;
            }
            out.push(e);
        }
        Ok(out)
    }

    fn read_entry(&self, index: u64, pos: &Pos) -> Result<Entry, RaftError> {
        let front = self.segments.front().map_or(0, |s| s.seq);
        let seg = usize::try_from(pos.seq - front)
            .ok()
            .and_then(|i| self.segments.get(i))
            .ok_or_else(|| {
                RaftError::Storage(format!(
                    "entry {index}: segment {} is gone",
                    segment_name(pos.seq)
                ))
            })?;
        let mut bytes = vec![0u8; pos.len];
        if pos.offset >= seg.len {
            // Staged but not written yet.
            let at = (pos.offset - seg.len) as usize;
            let staged = self.buf.get(at..at + pos.len).ok_or_else(|| {
                RaftError::Storage(format!("entry {index}: staged record out of range"))
            })?;
            bytes.copy_from_slice(staged);
        } else {
            seg.file
                .read_exact_at(&mut bytes, pos.offset)
                .map_err(|e| io_err("read", &seg.path, e))?;
        }
        let why = match record::parse(&bytes, 0) {
            Parsed::Record {
                kind: Kind::Entry,
                payload,
                ..
            } => return decode("entry", &seg.path, pos.offset as usize, payload),
            Parsed::Record { kind, .. } => format!("a {kind:?} record"),
            Parsed::Bad { why, .. } => why,
            Parsed::End | Parsed::Unknown(_) => "no entry record".to_owned(),
        };
        Err(RaftError::Storage(format!(
            "{}: offset {}: entry {index} unreadable: {why}",
            seg.path.display(),
            pos.offset
        )))
    }

    /// The current snapshot image, if any.
    pub fn snapshot_data(&self) -> Result<Option<Vec<u8>>, RaftError> {
        self.snap_file.as_deref().map(snapfile::read).transpose()
    }
}
