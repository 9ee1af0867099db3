//! Handling one `Ready`: persist, send, apply, advance; snapshots both ways.

use ::raft::ReadState;
use ::raft::prelude::{ConfChange, ConfChangeType, ConfChangeV2, Entry, EntryType, Snapshot};
use protobuf::Message as _;

use super::node::{RaftNode, SnapshotTask};
use super::{RaftError, SnapshotImage, StateMachine};

impl<F: StateMachine> RaftNode<F> {
    /// Processes everything raft has ready; see the module docs of `node.rs`.
    pub(crate) fn on_ready(&mut self) -> Result<(), RaftError> {
        if !self.raw.has_ready() {
            return Ok(());
        }
        let mut rd = self.raw.ready();
        self.note_leader();
        // A leader may send before persisting (raft thesis §10.2.1).
        self.send(rd.take_messages());
        let mut sync = rd.must_sync();
        if !rd.snapshot().is_empty() {
            self.install_snapshot(rd.snapshot().clone())?;
            sync = true;
        }
        self.apply_entries(rd.take_committed_entries())?;
        let store = self.raw.mut_store();
        store.append(rd.entries())?;
        if let Some(hs) = rd.hs() {
            store.set_hard_state(hs.clone());
        }
        // Group commit: all entries of this Ready, one batch, one flush.
        store.persist(sync)?;
        self.send(rd.take_persisted_messages());
        self.read_states(rd.take_read_states());
        let mut light = self.raw.advance(rd);
        if let Some(commit) = light.commit_index() {
            // Needs no flush: a lost commit index is re-learned from the log.
            self.raw.mut_store().set_commit(commit);
        }
        self.send(light.take_messages());
        self.apply_entries(light.take_committed_entries())?;
        self.raw.advance_apply();
        self.maybe_compact()?;
        self.raw.mut_store().persist(false)?;
        self.release_reads();
        Ok(())
    }

    fn apply_entries(&mut self, entries: Vec<Entry>) -> Result<(), RaftError> {
        for e in entries {
            if e.index <= self.applied {
                continue;
            }
            let response = match e.get_entry_type() {
                EntryType::EntryNormal if e.get_data().is_empty() => Vec::new(),
                EntryType::EntryNormal => self.fsm.apply(e.index, e.get_data()),
                EntryType::EntryConfChange => self.apply_conf_change(&e)?,
                EntryType::EntryConfChangeV2 => {
                    let cc = ConfChangeV2::parse_from_bytes(e.get_data())
                        .map_err(|err| RaftError::Storage(format!("decode conf change: {err}")))?;
                    match self.raw.apply_conf_change(&cc) {
                        Ok(cs) => self.raw.mut_store().set_conf_state(cs),
                        Err(err) => {
                            tracing::warn!(raft_id = self.id, error = %err, "conf change rejected")
                        }
                    }
                    Vec::new()
                }
            };
            self.applied = e.index;
            self.applied_term = e.term;
            if let Some(p) = self.pending.remove(&e.index) {
                let result = if p.term == e.term {
                    Ok((e.index, response))
                } else {
                    Err(RaftError::Dropped)
                };
                // Sent after the status shows this entry applied.
                self.replies.push((p.reply, result));
            }
        }
        Ok(())
    }

    /// Applies a membership change; the entry's context is the new server's
    /// address. Returns the response for the proposer (empty, or the reason
    /// raft refused the change).
    fn apply_conf_change(&mut self, e: &Entry) -> Result<Vec<u8>, RaftError> {
        let cc = ConfChange::parse_from_bytes(e.get_data())
            .map_err(|err| RaftError::Storage(format!("decode conf change: {err}")))?;
        let cs = match self.raw.apply_conf_change(&cc) {
            Ok(cs) => cs,
            Err(err) => {
                tracing::warn!(raft_id = self.id, node = cc.node_id, error = %err, "conf change rejected");
                return Ok(format!("error: {err}").into_bytes());
            }
        };
        let store = self.raw.mut_store();
        store.set_conf_state(cs);
        let mut peers = store.peers().clone();
        match cc.get_change_type() {
            ConfChangeType::AddNode | ConfChangeType::AddLearnerNode => {
                if let Ok(addr) = std::str::from_utf8(e.get_context())
                    && !addr.is_empty()
                {
                    peers.insert(cc.node_id, addr.to_owned());
                }
            }
            ConfChangeType::RemoveNode => {
                peers.remove(&cc.node_id);
            }
        }
        store.set_peers(peers.clone());
        self.transport.update_peers(&peers);
        tracing::info!(raft_id = self.id, node = cc.node_id, change = ?cc.get_change_type(), "raft membership changed");
        Ok(Vec::new())
    }

    /// Installs a snapshot from the leader: the store first (one flush, with
    /// the rest of this Ready), then the state machine.
    fn install_snapshot(&mut self, snap: Snapshot) -> Result<(), RaftError> {
        let index = snap.get_metadata().index;
        let data = self.raw.mut_store().install_snapshot(&snap)?;
        self.fsm
            .restore(&data.fsm)
            .map_err(|e| RaftError::StateMachine(format!("restore snapshot at {index}: {e}")))?;
        self.transport.update_peers(&data.peers);
        self.applied = index;
        self.applied_term = snap.get_metadata().term;
        // Whatever we proposed up to here is inside the snapshot or gone.
        let rest = self.pending.split_off(&(index + 1));
        for (_, p) in std::mem::replace(&mut self.pending, rest) {
            let _ = p.reply.send(Err(RaftError::Dropped));
        }
        tracing::info!(raft_id = self.id, index, "installed raft snapshot");
        Ok(())
    }

    /// Snapshots the state machine and truncates the log every
    /// `snapshot_threshold` applied entries, or when raft needs a snapshot
    /// newer than the stored one (to catch up a server added since). A
    /// [`SnapshotImage::Deferred`] image is built on a blocking thread and the
    /// log is compacted when it arrives (`compact_to`); one at a time.
    fn maybe_compact(&mut self) -> Result<(), RaftError> {
        if self.snapshotting.is_some() {
            return Ok(());
        }
        let store = self.raw.store();
        let wanted = store.take_snapshot_wanted();
        if !wanted && self.applied < store.snapshot_index() + self.config.snapshot_threshold {
            return Ok(());
        }
        let (index, term) = (self.applied, self.applied_term);
        match self.fsm.snapshot_image() {
            SnapshotImage::Ready(image) => self.compact_to(index, term, Some(image)),
            SnapshotImage::Deferred(job) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(job());
                });
                self.snapshotting = Some(SnapshotTask {
                    index,
                    term,
                    image: rx,
                });
                Ok(())
            }
        }
    }

    /// Stores `image` (the state as of `index`) as the snapshot and drops the log
    /// up to it, unless a newer snapshot arrived meanwhile. `None` (the image job
    /// failed) leaves the log as it is; the next threshold retries.
    pub(crate) fn compact_to(
        &mut self,
        index: u64,
        term: u64,
        image: Option<Vec<u8>>,
    ) -> Result<(), RaftError> {
        let Some(image) = image else {
            tracing::warn!(raft_id = self.id, index, "snapshot image job failed");
            return Ok(());
        };
        let store = self.raw.mut_store();
        store.compact(index, term, image)?;
        store.persist(false)?;
        tracing::debug!(raft_id = self.id, index, "raft log compacted");
        Ok(())
    }

    fn read_states(&mut self, states: Vec<ReadState>) {
        for rs in states {
            let Ok(id) = <[u8; 8]>::try_from(rs.request_ctx.as_slice()) else {
                continue;
            };
            if let Some(reply) = self.reads.remove(&u64::from_be_bytes(id)) {
                self.read_waits.push((rs.index, reply));
            }
        }
    }

    fn release_reads(&mut self) {
        let applied = self.applied;
        let mut ready = Vec::new();
        let mut i = 0;
        while i < self.read_waits.len() {
            if self.read_waits[i].0 <= applied {
                ready.push(self.read_waits.swap_remove(i));
            } else {
                i += 1;
            }
        }
        for (index, reply) in ready {
            let _ = reply.send(Ok(index));
        }
    }
}
