//! raft-rs's `Storage` on the write-ahead log (`wal/`), or in memory.
//!
//! The log always starts right after the last snapshot: compaction drops the
//! entries up to the snapshot index, a snapshot installed from the leader
//! drops them all. Mutations are staged and written by
//! [`RaftStorage::persist`]: the node persists each `Ready` with one write and
//! at most one fdatasync (group commit).
//!
//! The newest entries (up to [`CACHED_ENTRIES`]) are also kept decoded in memory:
//! raft reads the entries it just appended back right away (to apply them once
//! committed, to check terms), and those reads then cost neither a disk read nor
//! a protobuf decode of the whole entry. Older ones are read from the WAL. In
//! memory ([`RaftStorage::in_memory`], for simulations) the cache holds the
//! whole log.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use ::raft::prelude::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use ::raft::{GetEntriesContext, RaftState, Storage, StorageError};
use protobuf::Message as _;

use super::RaftError;
use super::wal::{DEFAULT_SEGMENT_BYTES, Recovered, Wal};

/// Most recent entries kept decoded in memory.
pub const CACHED_ENTRIES: usize = 4096;

/// [`RaftStorage::log_since_snapshot`]: the snapshot image and `(index, data)` entries.
pub type LogSinceSnapshot = (Option<Vec<u8>>, Vec<(u64, Vec<u8>)>);

/// The snapshot image Raft ships: the state machine's bytes plus the peer
/// address book, so a server installing it can reach everyone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotData {
    pub peers: BTreeMap<u64, String>,
    pub fsm: Vec<u8>,
}

impl SnapshotData {
    pub fn encode(&self) -> Vec<u8> {
        let peers = serde_json::to_vec(&self.peers).unwrap_or_default();
        let mut out = Vec::with_capacity(8 + peers.len() + self.fsm.len());
        out.extend_from_slice(&(peers.len() as u64).to_be_bytes());
        out.extend_from_slice(&peers);
        out.extend_from_slice(&self.fsm);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, RaftError> {
        let bad = |why: &str| RaftError::Storage(format!("snapshot data: {why}"));
        let (len, rest) = bytes
            .split_at_checked(8)
            .ok_or_else(|| bad("truncated header"))?;
        let len = u64::from_be_bytes(len.try_into().map_err(|_| bad("header"))?);
        let len = usize::try_from(len).map_err(|_| bad("peer list too long"))?;
        let (peers, fsm) = rest
            .split_at_checked(len)
            .ok_or_else(|| bad("truncated peers"))?;
        let peers = serde_json::from_slice(peers).map_err(|e| bad(&format!("peers: {e}")))?;
        Ok(Self {
            peers,
            fsm: fsm.to_vec(),
        })
    }
}

/// Where the log lives.
enum Log {
    Wal(Box<Wal>),
    /// The snapshot image; entries are all in the cache.
    Memory(Vec<u8>),
}

/// Raft's log, hard state, conf state and snapshot.
pub struct RaftStorage {
    log: Log,
    hard_state: HardState,
    conf_state: ConfState,
    snap_meta: SnapshotMetadata,
    peers: BTreeMap<u64, String>,
    last_index: u64,
    flushes: u64,
    /// The newest entries, contiguous and ending at `last_index` (or empty).
    cache: VecDeque<Entry>,
    cache_limit: usize,
    /// Raft asked for a snapshot the stored one cannot serve (its membership
    /// predates the recipient): the node takes a fresh one.
    snapshot_wanted: AtomicBool,
}

impl RaftStorage {
    /// Opens the log under `<data_dir>/server/raft/`, converting a data dir
    /// written by the older sled-based store first.
    pub fn open(data_dir: &Path) -> Result<Self, RaftError> {
        Self::open_with(data_dir, DEFAULT_SEGMENT_BYTES)
    }

    /// [`RaftStorage::open`] with WAL segments rolled at `segment_bytes`.
    pub fn open_with(data_dir: &Path, segment_bytes: u64) -> Result<Self, RaftError> {
        let server_dir = data_dir.join("server");
        super::migrate::from_sled(&server_dir, segment_bytes)?;
        let (wal, recovered) = Wal::open(&server_dir.join("raft"), segment_bytes)?;
        Ok(Self::new(
            Log::Wal(Box::new(wal)),
            recovered,
            CACHED_ENTRIES,
        ))
    }

    /// A log kept only in memory: for simulations and tests, nothing
    /// survives the process.
    pub fn in_memory() -> Self {
        Self::new(Log::Memory(Vec::new()), Recovered::default(), usize::MAX)
    }

    fn new(log: Log, r: Recovered, cache_limit: usize) -> Self {
        Self {
            log,
            hard_state: r.hard_state,
            conf_state: r.conf_state,
            snap_meta: r.snap_meta,
            peers: r.peers,
            last_index: r.last_index,
            flushes: 0,
            cache: VecDeque::new(),
            cache_limit,
            snapshot_wanted: AtomicBool::new(false),
        }
    }

    /// Whether nothing was ever stored: no term, no members, no log.
    pub fn is_fresh(&self) -> bool {
        self.hard_state.term == 0
            && self.conf_state.voters.is_empty()
            && self.conf_state.learners.is_empty()
            && self.last_index == 0
    }

    /// First start of a new cluster: `peers` are the initial voters and
    /// `fsm` the empty state machine's image. Every bootstrap voter writes
    /// the same snapshot at index 1, term 1, so the log starts at 2 and a
    /// server added later is always sent a snapshot that carries the
    /// membership, never a log that lacks it (raft-rs `five_mem_node`).
    pub fn bootstrap(
        &mut self,
        peers: &BTreeMap<u64, String>,
        fsm: Vec<u8>,
    ) -> Result<(), RaftError> {
        let cs = ConfState {
            voters: peers.keys().copied().collect(),
            ..Default::default()
        };
        self.set_conf_state(cs.clone());
        self.set_peers(peers.clone());
        let mut meta = SnapshotMetadata {
            index: 1,
            term: 1,
            ..Default::default()
        };
        meta.set_conf_state(cs);
        let mut hs = self.hard_state.clone();
        hs.term = 1;
        self.set_hard_state(hs);
        let data = SnapshotData {
            peers: peers.clone(),
            fsm,
        };
        self.store_snapshot(meta, &data.encode(), false)?;
        self.persist(true)
    }

    /// The server address book (raft id → address), as last applied.
    pub fn peers(&self) -> &BTreeMap<u64, String> {
        &self.peers
    }

    /// The current membership.
    pub fn conf_state(&self) -> &ConfState {
        &self.conf_state
    }

    /// The last snapshot's index (0: none yet).
    pub fn snapshot_index(&self) -> u64 {
        self.snap_meta.index
    }

    /// The index of the last log entry.
    pub fn last_log_index(&self) -> u64 {
        self.last_index
    }

    /// The state machine image of the last snapshot (`None` before the first) and
    /// every normal entry in the log after it, as `(index, data)` (empty no-op
    /// entries included; membership changes left out). On a lone server this is
    /// exactly what a restart re-applies: its own log entries all commit once it
    /// leads again. For recovery checks and tools; the node does not use it.
    pub fn log_since_snapshot(&self) -> Result<LogSinceSnapshot, RaftError> {
        let image = self.snapshot_data()?.map(|d| d.fsm);
        let low = self.snap_meta.index + 1;
        let high = self.last_index + 1;
        let mut out = Vec::new();
        if high > low {
            for e in self.read_entries(low, high, None)? {
                if e.get_entry_type() == ::raft::prelude::EntryType::EntryNormal {
                    out.push((e.index, e.get_data().to_vec()));
                }
            }
        }
        Ok((image, out))
    }

    /// Whether raft asked for a newer snapshot since the last call.
    pub(crate) fn take_snapshot_wanted(&self) -> bool {
        self.snapshot_wanted.swap(false, Ordering::Relaxed)
    }

    /// How many flushes (fsyncs) this storage has issued.
    pub fn flushes(&self) -> u64 {
        self.flushes
    }

    /// The stored snapshot image, if any.
    pub(crate) fn snapshot_data(&self) -> Result<Option<SnapshotData>, RaftError> {
        if self.snap_meta.index == 0 {
            return Ok(None);
        }
        SnapshotData::decode(&self.snapshot_image()?).map(Some)
    }

    fn snapshot_image(&self) -> Result<Vec<u8>, RaftError> {
        match &self.log {
            Log::Wal(wal) => wal
                .snapshot_data()?
                .ok_or_else(|| RaftError::Storage("snapshot metadata without data".into())),
            Log::Memory(image) => Ok(image.clone()),
        }
    }

    /// Stages `entries`, replacing any conflicting suffix of the log.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), RaftError> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if first.index <= self.snap_meta.index || first.index > self.last_index + 1 {
            return Err(RaftError::Storage(format!(
                "append at {} outside log {}..={}",
                first.index,
                self.snap_meta.index + 1,
                self.last_index
            )));
        }
        if let Log::Wal(wal) = &mut self.log {
            wal.append_entries(entries);
        }
        self.last_index = entries[entries.len() - 1].index;
        // Replace the conflicting suffix in the cache; keep it contiguous.
        while self.cache.back().is_some_and(|e| e.index >= first.index) {
            self.cache.pop_back();
        }
        if self
            .cache
            .back()
            .is_some_and(|e| e.index + 1 != first.index)
        {
            self.cache.clear();
        }
        let skip = entries.len().saturating_sub(self.cache_limit);
        self.cache.extend(entries[skip..].iter().cloned());
        while self.cache.len() > self.cache_limit {
            self.cache.pop_front();
        }
        Ok(())
    }

    /// Stages a new hard state.
    pub fn set_hard_state(&mut self, hs: HardState) {
        if let Log::Wal(wal) = &mut self.log {
            wal.set_hard_state(&hs);
        }
        self.hard_state = hs;
    }

    /// Stages a new commit index.
    pub fn set_commit(&mut self, commit: u64) {
        let mut hs = self.hard_state.clone();
        hs.commit = commit;
        self.set_hard_state(hs);
    }

    /// Stages a new membership.
    pub fn set_conf_state(&mut self, cs: ConfState) {
        if let Log::Wal(wal) = &mut self.log {
            wal.set_conf_state(&cs);
        }
        self.conf_state = cs;
    }

    /// Stages a new address book.
    pub fn set_peers(&mut self, peers: BTreeMap<u64, String>) {
        if let Log::Wal(wal) = &mut self.log {
            wal.set_peers(&peers);
        }
        self.peers = peers;
    }

    /// Stages a snapshot of the applied state at `index`/`term` and drops the
    /// log up to it (log compaction).
    pub fn compact(&mut self, index: u64, term: u64, fsm: Vec<u8>) -> Result<(), RaftError> {
        if index <= self.snap_meta.index || index > self.last_index {
            return Ok(());
        }
        let mut meta = SnapshotMetadata {
            index,
            term,
            ..Default::default()
        };
        meta.set_conf_state(self.conf_state.clone());
        let data = SnapshotData {
            peers: self.peers.clone(),
            fsm,
        };
        self.store_snapshot(meta, &data.encode(), false)
    }

    /// Stages a snapshot received from the leader: it replaces the whole log.
    pub(crate) fn install_snapshot(&mut self, snap: &Snapshot) -> Result<SnapshotData, RaftError> {
        let meta = snap.get_metadata().clone();
        let data = SnapshotData::decode(snap.get_data())?;
        self.set_conf_state(meta.get_conf_state().clone());
        self.set_peers(data.peers.clone());
        let mut hs = self.hard_state.clone();
        hs.term = hs.term.max(meta.term);
        self.set_hard_state(hs);
        // Unlike compaction, entries past the snapshot are stale too.
        self.store_snapshot(meta, snap.get_data(), true)?;
        self.cache.clear();
        self.last_index = self.snap_meta.index;
        Ok(data)
    }

    fn store_snapshot(
        &mut self,
        meta: SnapshotMetadata,
        image: &[u8],
        replaces_log: bool,
    ) -> Result<(), RaftError> {
        // raft-rs refuses to start with commit < the snapshot index.
        if self.hard_state.commit < meta.index {
            self.set_commit(meta.index);
        }
        match &mut self.log {
            Log::Wal(wal) => wal.set_snapshot(&meta, image, replaces_log)?,
            Log::Memory(stored) => *stored = image.to_vec(),
        }
        while self.cache.front().is_some_and(|e| e.index <= meta.index) {
            self.cache.pop_front();
        }
        self.last_index = self.last_index.max(meta.index);
        self.snap_meta = meta;
        Ok(())
    }

    /// Writes everything staged with one write; with `sync`, makes it
    /// durable (fdatasync).
    pub fn persist(&mut self, sync: bool) -> Result<(), RaftError> {
        let synced = match &mut self.log {
            Log::Wal(wal) => wal.write(sync)?,
            Log::Memory(_) => sync,
        };
        if synced {
            self.flushes += 1;
        }
        Ok(())
    }

    fn read_entries(
        &self,
        low: u64,
        high: u64,
        max_size: Option<u64>,
    ) -> Result<Vec<Entry>, RaftError> {
        if low >= high {
            return Ok(Vec::new());
        }
        if let Some(first) = self.cache.front().map(|e| e.index)
            && first <= low
            && low <= high
            && high <= self.last_index + 1
        {
            let mut out = Vec::new();
            let mut size = 0u64;
            for e in self
                .cache
                .range((low - first) as usize..(high - first) as usize)
            {
                size += u64::from(e.compute_size());
                if !out.is_empty() && max_size.is_some_and(|m| size > m) {
                    break;
                }
                out.push(e.clone());
            }
            return Ok(out);
        }
        match &self.log {
            Log::Wal(wal) => wal.read_entries(low, high, max_size),
            // The cache holds the whole log.
            Log::Memory(_) => Err(RaftError::Storage(format!(
                "entries {low}..{high} not in the in-memory log"
            ))),
        }
    }
}

fn store_err(e: RaftError) -> ::raft::Error {
    ::raft::Error::Store(StorageError::Other(Box::new(e)))
}

impl Storage for RaftStorage {
    fn initial_state(&self) -> ::raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> ::raft::Result<Vec<Entry>> {
        if low <= self.snap_meta.index {
            return Err(::raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last_index + 1 {
            return Err(::raft::Error::Store(StorageError::Unavailable));
        }
        let out = self
            .read_entries(low, high, max_size.into())
            .map_err(store_err)?;
        if out.len() as u64 != high - low && out.is_empty() {
            return Err(::raft::Error::Store(StorageError::Unavailable));
        }
        Ok(out)
    }

    fn term(&self, idx: u64) -> ::raft::Result<u64> {
        if idx == self.snap_meta.index {
            return Ok(self.snap_meta.term);
        }
        if idx < self.snap_meta.index {
            return Err(::raft::Error::Store(StorageError::Compacted));
        }
        if idx > self.last_index {
            return Err(::raft::Error::Store(StorageError::Unavailable));
        }
        if let Some(first) = self.cache.front().map(|e| e.index)
            && idx >= first
            && let Some(e) = self.cache.get((idx - first) as usize)
        {
            return Ok(e.term);
        }
        match &self.log {
            Log::Wal(wal) => wal
                .term(idx)
                .ok_or(::raft::Error::Store(StorageError::Unavailable)),
            Log::Memory(_) => Err(::raft::Error::Store(StorageError::Unavailable)),
        }
    }

    fn first_index(&self) -> ::raft::Result<u64> {
        Ok(self.snap_meta.index + 1)
    }

    fn last_index(&self) -> ::raft::Result<u64> {
        Ok(self.last_index)
    }

    fn snapshot(&self, request_index: u64, to: u64) -> ::raft::Result<Snapshot> {
        let cs = self.snap_meta.get_conf_state();
        let member = [
            &cs.voters,
            &cs.learners,
            &cs.voters_outgoing,
            &cs.learners_next,
        ]
        .iter()
        .any(|ids| ids.contains(&to));
        // raft-rs refuses a snapshot that does not list its recipient.
        if self.snap_meta.index < request_index || !member {
            self.snapshot_wanted.store(true, Ordering::Relaxed);
            return Err(::raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        let data = self.snapshot_image().map_err(store_err)?;
        let mut snap = Snapshot::default();
        snap.set_metadata(self.snap_meta.clone());
        snap.set_data(data.into());
        Ok(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64) -> Entry {
        let mut e = Entry {
            index,
            term,
            ..Default::default()
        };
        e.set_data(format!("k{index}=v").into_bytes().into());
        e
    }

    fn get(s: &RaftStorage, low: u64, high: u64) -> Vec<Entry> {
        s.entries(low, high, None, GetEntriesContext::empty(false))
            .expect("entries")
    }

    #[test]
    fn entries_older_than_the_cache_come_from_the_wal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let n = CACHED_ENTRIES as u64 + 500;
        let all: Vec<_> = (1..=n).map(|i| entry(i, 1 + i / 1000)).collect();
        {
            let mut s = RaftStorage::open(dir.path()).expect("open");
            s.append(&all).expect("append");
            s.persist(true).expect("persist");
            assert_eq!(s.flushes(), 1);
            assert_eq!(get(&s, 1, 11), all[..10]);
            assert_eq!(get(&s, n - 9, n + 1), all[all.len() - 10..]);
            assert_eq!(s.term(3).expect("term"), 1);
            s.compact(100, 1, b"image".to_vec()).expect("compact");
            s.persist(false).expect("persist");
        }
        let s = RaftStorage::open(dir.path()).expect("reopen");
        assert_eq!(s.first_index().expect("first"), 101);
        assert_eq!(s.last_index().expect("last"), n);
        assert_eq!(get(&s, 101, n + 1), all[100..]);
        assert_eq!(s.term(2500).expect("term"), 3);
        assert!(matches!(
            s.entries(100, 101, None, GetEntriesContext::empty(false)),
            Err(::raft::Error::Store(StorageError::Compacted))
        ));
    }

    #[test]
    fn in_memory_log_keeps_every_entry() {
        let mut s = RaftStorage::in_memory();
        let n = CACHED_ENTRIES as u64 * 2;
        let all: Vec<_> = (1..=n).map(|i| entry(i, 1)).collect();
        s.append(&all).expect("append");
        s.persist(true).expect("persist");
        assert_eq!(get(&s, 1, n + 1), all);
        assert_eq!(get(&s, 5, 5), Vec::<Entry>::new());
    }
}
