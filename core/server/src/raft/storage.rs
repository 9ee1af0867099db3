//! raft-rs's `Storage` on a [`KvEngine`], with staged writes for group commit.
//!
//! Layout (one keyspace): `e` + big-endian index → `Entry`; `m:hs`, `m:cs`,
//! `m:snap_meta` → protobuf `HardState`, `ConfState`, `SnapshotMetadata`;
//! `m:snap_data` → the snapshot image ([`SnapshotData`]); `m:peers` → JSON map
//! of raft id → server address. The log always starts right after the last
//! snapshot: compaction and snapshot installs delete every entry up to the
//! snapshot index in the same atomic batch that stores the snapshot.
//!
//! Mutations are staged in memory and written by [`RaftStorage::persist`]: the
//! node persists each `Ready` with one batch and at most one flush.
//!
//! The newest entries (up to [`CACHED_ENTRIES`]) are also kept decoded in memory:
//! raft reads the entries it just appended back right away (to apply them once
//! committed, to check terms), and those reads then cost neither a lookup nor a
//! protobuf decode of the whole entry.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};

use ::raft::prelude::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use ::raft::{GetEntriesContext, RaftState, Storage, StorageError};
use protobuf::Message as _;

use super::{KvEngine, RaftError, WriteBatch};

const HARD_STATE: &[u8] = b"m:hs";
const CONF_STATE: &[u8] = b"m:cs";
const SNAP_META: &[u8] = b"m:snap_meta";
const SNAP_DATA: &[u8] = b"m:snap_data";
const PEERS: &[u8] = b"m:peers";

/// Most recent entries kept decoded in memory.
pub const CACHED_ENTRIES: usize = 4096;

fn entry_key(index: u64) -> [u8; 9] {
    let mut k = [b'e'; 9];
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

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

/// Raft's log, hard state, conf state and snapshot on a [`KvEngine`].
pub struct RaftStorage {
    engine: Box<dyn KvEngine>,
    hard_state: HardState,
    conf_state: ConfState,
    snap_meta: SnapshotMetadata,
    peers: BTreeMap<u64, String>,
    last_index: u64,
    staged: WriteBatch,
    flushes: u64,
    /// The newest entries, contiguous and ending at `last_index` (or empty).
    cache: VecDeque<Entry>,
    /// Raft asked for a snapshot the stored one cannot serve (its membership
    /// predates the recipient): the node takes a fresh one.
    snapshot_wanted: AtomicBool,
}

fn decode<M: protobuf::Message>(what: &str, bytes: &[u8]) -> Result<M, RaftError> {
    M::parse_from_bytes(bytes).map_err(|e| RaftError::Storage(format!("decode {what}: {e}")))
}

fn encode<M: protobuf::Message>(m: &M) -> Vec<u8> {
    // Encoding a well-formed in-memory message cannot fail.
    m.write_to_bytes().unwrap_or_default()
}

impl RaftStorage {
    /// Loads the state kept in `engine`.
    pub fn open(engine: impl KvEngine) -> Result<Self, RaftError> {
        let engine: Box<dyn KvEngine> = Box::new(engine);
        let get = |key: &[u8]| engine.get(key);
        let hard_state = match get(HARD_STATE)? {
            Some(b) => decode("hard state", &b)?,
            None => HardState::default(),
        };
        let conf_state = match get(CONF_STATE)? {
            Some(b) => decode("conf state", &b)?,
            None => ConfState::default(),
        };
        let snap_meta: SnapshotMetadata = match get(SNAP_META)? {
            Some(b) => decode("snapshot metadata", &b)?,
            None => SnapshotMetadata::default(),
        };
        let peers = match get(PEERS)? {
            Some(b) => serde_json::from_slice(&b)
                .map_err(|e| RaftError::Storage(format!("decode peers: {e}")))?,
            None => BTreeMap::new(),
        };
        let last_index = match engine.last(&entry_key(0), &entry_key(u64::MAX))? {
            Some((_, v)) => decode::<Entry>("entry", &v)?.index,
            None => snap_meta.index,
        };
        Ok(Self {
            engine,
            hard_state,
            conf_state,
            snap_meta,
            peers,
            last_index,
            staged: WriteBatch::default(),
            flushes: 0,
            cache: VecDeque::new(),
            snapshot_wanted: AtomicBool::new(false),
        })
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
        self.store_snapshot(meta, data.encode());
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

    /// Whether raft asked for a newer snapshot since the last call.
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
        match self.engine.get(SNAP_DATA)? {
            Some(b) => SnapshotData::decode(&b).map(Some),
            None => Err(RaftError::Storage("snapshot metadata without data".into())),
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
        for e in entries {
            self.staged.put(entry_key(e.index).to_vec(), encode(e));
        }
        let new_last = entries[entries.len() - 1].index;
        for stale in new_last + 1..=self.last_index {
            self.staged.delete(entry_key(stale).to_vec());
        }
        self.last_index = new_last;
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
        let skip = entries.len().saturating_sub(CACHED_ENTRIES);
        self.cache.extend(entries[skip..].iter().cloned());
        while self.cache.len() > CACHED_ENTRIES {
            self.cache.pop_front();
        }
        Ok(())
    }

    /// Stages a new hard state.
    pub fn set_hard_state(&mut self, hs: HardState) {
        self.staged.put(HARD_STATE, encode(&hs));
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
        self.staged.put(CONF_STATE, encode(&cs));
        self.conf_state = cs;
    }

    /// Stages a new address book.
    pub fn set_peers(&mut self, peers: BTreeMap<u64, String>) {
        self.staged
            .put(PEERS, serde_json::to_vec(&peers).unwrap_or_default());
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
        self.store_snapshot(meta, data.encode());
        Ok(())
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
        let last = self.last_index;
        self.store_snapshot(meta, snap.get_data().to_vec());
        // Unlike compaction, entries past the snapshot are stale too.
        for stale in self.snap_meta.index + 1..=last {
            self.staged.delete(entry_key(stale).to_vec());
        }
        self.cache.clear();
        self.last_index = self.snap_meta.index;
        Ok(data)
    }

    fn store_snapshot(&mut self, meta: SnapshotMetadata, data: Vec<u8>) {
        for gone in self.snap_meta.index + 1..=meta.index.min(self.last_index) {
            self.staged.delete(entry_key(gone).to_vec());
        }
        // raft-rs refuses to start with commit < the snapshot index.
        if self.hard_state.commit < meta.index {
            self.set_commit(meta.index);
        }
        self.staged.put(SNAP_META, encode(&meta));
        self.staged.put(SNAP_DATA, data);
        while self.cache.front().is_some_and(|e| e.index <= meta.index) {
            self.cache.pop_front();
        }
        self.last_index = self.last_index.max(meta.index);
        self.snap_meta = meta;
    }

    /// Writes everything staged as one atomic batch; with `sync`, flushes.
    pub fn persist(&mut self, sync: bool) -> Result<(), RaftError> {
        if !self.staged.is_empty() {
            self.engine.write(std::mem::take(&mut self.staged))?;
        }
        if sync {
            self.engine.flush()?;
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
        let mut out = Vec::new();
        let mut size = 0u64;
        let mut failed = None;
        self.engine
            .scan(
                &entry_key(low),
                &entry_key(high),
                &mut |_, v| match Entry::parse_from_bytes(v) {
                    Ok(e) => {
                        size += u64::from(e.compute_size());
                        if !out.is_empty() && max_size.is_some_and(|m| size > m) {
                            return false;
                        }
                        out.push(e);
                        true
                    }
                    Err(e) => {
                        failed = Some(RaftError::Storage(format!("decode entry: {e}")));
                        false
                    }
                },
            )?;
        match failed {
            Some(e) => Err(e),
            None => Ok(out),
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
        match self.engine.get(&entry_key(idx)).map_err(store_err)? {
            Some(v) => Ok(decode::<Entry>("entry", &v).map_err(store_err)?.term),
            None => Err(::raft::Error::Store(StorageError::Unavailable)),
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
        let data = self
            .engine
            .get(SNAP_DATA)
            .map_err(store_err)?
            .unwrap_or_default();
        let mut snap = Snapshot::default();
        snap.set_metadata(self.snap_meta.clone());
        snap.set_data(data.into());
        Ok(snap)
    }
}
