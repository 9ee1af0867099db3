//! The Raft node: an owned task that drives raft-rs's `RawNode`.
//!
//! Each turn of [`RaftNode::run`] takes one input (a tick, a batch of peer
//! messages, or a batch of commands), then handles the resulting `Ready`
//! (raft-rs `examples/single_mem_node`): send the leader's messages → install
//! a snapshot → apply committed entries → persist new entries and hard state
//! with one batch and at most one flush → send the messages that needed them
//! durable → advance → apply what that committed. Every proposal queued while
//! the previous flush ran lands in the same `Ready`: that is group commit.
//!
//! Disk writes happen on the task itself (they are the critical path anyway);
//! spawn it on the multi-thread runtime.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ::raft::prelude::{ConfChange, ConfChangeType, Message, MessageType};
use ::raft::{RawNode, StateRole};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::handle::{Command, RaftStatus, Role};
use super::{RaftConfig, RaftError, RaftHandle, RaftStorage, StateMachine, Transport, raft_logger};

pub(crate) type Outcome = Result<(u64, Vec<u8>), RaftError>;
pub(crate) type Reply = oneshot::Sender<Outcome>;

/// A proposal waiting to apply: it is ours only if the entry at its index
/// still carries the term it was proposed in.
pub(crate) struct Pending {
    pub term: u64,
    pub reply: Reply,
}

/// A state machine image being built off the loop for log compaction at
/// `index`/`term` (see `maybe_compact`).
pub(crate) struct SnapshotTask {
    pub index: u64,
    pub term: u64,
    pub image: oneshot::Receiver<Vec<u8>>,
}

/// The finished image of `slot`'s task (`None`: the job died); pends forever
/// without a task, so it can sit in `select!`.
async fn snapshot_done(slot: &mut Option<SnapshotTask>) -> (u64, u64, Option<Vec<u8>>) {
    match slot {
        Some(t) => {
            let image = (&mut t.image).await.ok();
            (t.index, t.term, image)
        }
        None => std::future::pending().await,
    }
}

/// One Raft server; see the module docs. Build with [`RaftNode::open`], then
/// spawn [`RaftNode::run`].
pub struct RaftNode<F: StateMachine> {
    pub(crate) id: u64,
    pub(crate) raw: RawNode<RaftStorage>,
    pub(crate) fsm: F,
    pub(crate) transport: Box<dyn Transport>,
    pub(crate) config: RaftConfig,
    commands: mpsc::Receiver<Command>,
    messages: mpsc::Receiver<Message>,
    status: watch::Sender<RaftStatus>,
    /// Proposals by log index.
    pub(crate) pending: BTreeMap<u64, Pending>,
    /// Answers for applied proposals, sent once the status is published.
    pub(crate) replies: Vec<(Reply, Outcome)>,
    /// Read barriers by request id, until raft confirms their index.
    pub(crate) reads: HashMap<u64, oneshot::Sender<Result<u64, RaftError>>>,
    /// Confirmed read barriers waiting for `applied` to reach their index.
    pub(crate) read_waits: Vec<(u64, oneshot::Sender<Result<u64, RaftError>>)>,
    /// Read ids not yet handed to raft (no commit in this term yet).
    deferred_reads: Vec<u64>,
    next_read: u64,
    pub(crate) applied: u64,
    pub(crate) applied_term: u64,
    last_leader: Option<u64>,
    /// The compaction snapshot being built, if any (one at a time).
    pub(crate) snapshotting: Option<SnapshotTask>,
}

impl<F: StateMachine> RaftNode<F> {
    /// Opens the node on `storage`: bootstraps a fresh store from
    /// `config.bootstrap_peers`, or restores `fsm` from the last snapshot (the
    /// entries after it are re-applied as the node runs).
    pub fn open(
        config: RaftConfig,
        mut storage: RaftStorage,
        mut fsm: F,
        mut transport: Box<dyn Transport>,
    ) -> Result<(Self, RaftHandle), RaftError> {
        config.validate()?;
        if storage.is_fresh() && !config.bootstrap_peers.is_empty() {
            storage.bootstrap(&config.bootstrap_peers, fsm.snapshot())?;
        }
        if let Some(snap) = storage.snapshot_data()? {
            fsm.restore(&snap.fsm)
                .map_err(|e| RaftError::StateMachine(format!("restore snapshot: {e}")))?;
        }
        // Configured addresses win over stored ones (a server may move).
        let mut peers = storage.peers().clone();
        for (id, addr) in &config.bootstrap_peers {
            peers.insert(*id, addr.clone());
        }
        if &peers != storage.peers() {
            storage.set_peers(peers.clone());
            storage.persist(true)?;
        }
        transport.update_peers(&peers);
        let applied = storage.snapshot_index();
        let voters = storage.conf_state().voters.clone();
        let logger = raft_logger(config.id);
        let mut raw = RawNode::new(&config.raft_config(), storage, &logger)?;
        if voters == [config.id] {
            // Alone in the cluster: no one to wait for.
            raw.campaign()?;
        }
        let (cmd_tx, commands) = mpsc::channel(config.max_batch.max(64));
        let (msg_tx, messages) = mpsc::channel(config.max_batch.max(64));
        let (status, status_rx) = watch::channel(RaftStatus {
            id: config.id,
            ..Default::default()
        });
        let node = Self {
            id: config.id,
            raw,
            fsm,
            transport,
            config,
            commands,
            messages,
            status,
            pending: BTreeMap::new(),
            replies: Vec::new(),
            reads: HashMap::new(),
            read_waits: Vec::new(),
            deferred_reads: Vec::new(),
            next_read: 0,
            applied,
            applied_term: 0,
            last_leader: None,
            snapshotting: None,
        };
        let handle = RaftHandle {
            commands: cmd_tx,
            messages: msg_tx,
            status: status_rx,
        };
        node.publish_status();
        Ok((node, handle))
    }

    /// Drives the node until `shutdown` fires or storage fails. Waiters still
    /// pending then get [`RaftError::Stopped`].
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), RaftError> {
        let mut ticker = tokio::time::interval(self.config.tick_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let max = self.config.max_batch;
        let result = loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break Ok(()),
                Some(msg) = self.messages.recv() => {
                    self.step(msg);
                    for _ in 1..max {
                        let Ok(msg) = self.messages.try_recv() else { break };
                        self.step(msg);
                    }
                }
                Some(cmd) = self.commands.recv() => {
                    self.command(cmd);
                    for _ in 1..max {
                        let Ok(cmd) = self.commands.try_recv() else { break };
                        self.command(cmd);
                    }
                }
                _ = ticker.tick() => {
                    self.raw.tick();
                    self.reap_abandoned();
                }
                (index, term, image) = snapshot_done(&mut self.snapshotting) => {
                    self.snapshotting = None;
                    if let Err(e) = self.compact_to(index, term, image) {
                        tracing::error!(raft_id = self.id, error = %e, "raft node stopping");
                        break Err(e);
                    }
                }
            }
            if let Err(e) = self.on_ready() {
                tracing::error!(raft_id = self.id, error = %e, "raft node stopping");
                break Err(e);
            }
            self.settle_reads();
            self.publish_status();
            for (reply, result) in self.replies.drain(..) {
                let _ = reply.send(result);
            }
        };
        self.status.send_modify(|s| s.role = Role::Follower);
        result
    }

    fn step(&mut self, msg: Message) {
        if msg.to != self.id {
            tracing::debug!(
                raft_id = self.id,
                to = msg.to,
                "dropping misrouted raft message"
            );
            return;
        }
        if let Err(e) = self.raw.step(msg) {
            tracing::debug!(raft_id = self.id, error = %e, "raft refused a message");
        }
    }

    pub(crate) fn not_leader(&self) -> RaftError {
        let leader = self.raw.raft.leader_id;
        let leader_id = (leader != 0).then_some(leader);
        let leader_addr = leader_id.and_then(|id| self.raw.store().peers().get(&id).cloned());
        RaftError::NotLeader {
            leader_id,
            leader_addr,
        }
    }

    fn command(&mut self, cmd: Command) {
        let is_leader = self.raw.raft.state == StateRole::Leader;
        match cmd {
            Command::Propose { reply, .. } | Command::ChangeVoter { reply, .. } if !is_leader => {
                let _ = reply.send(Err(self.not_leader()));
            }
            Command::ReadIndex { reply } if !is_leader => {
                let _ = reply.send(Err(self.not_leader()));
            }
            Command::Propose { data, reply } => {
                let result = self.raw.propose(Vec::new(), data);
                self.track(result, reply);
            }
            Command::ChangeVoter { id, addr, reply } => {
                let mut cc = ConfChange {
                    node_id: id,
                    ..Default::default()
                };
                let context = match addr {
                    Some(addr) => {
                        cc.set_change_type(ConfChangeType::AddNode);
                        addr.into_bytes()
                    }
                    None => {
                        cc.set_change_type(ConfChangeType::RemoveNode);
                        Vec::new()
                    }
                };
                let result = self.raw.propose_conf_change(context, cc);
                self.track(result, reply);
            }
            Command::ReadIndex { reply } => {
                self.next_read += 1;
                self.reads.insert(self.next_read, reply);
                // raft-rs silently drops a read before the leader commits in
                // its term; those wait in `reads` and are issued later.
                if self.raw.raft.commit_to_current_term() {
                    self.raw.read_index(self.next_read.to_be_bytes().to_vec());
                } else {
                    self.deferred_reads.push(self.next_read);
                }
            }
            Command::TransferLeader { to } => self.raw.transfer_leader(to),
        }
    }

    /// Remembers a successful proposal under the index raft just gave it.
    fn track(&mut self, result: ::raft::Result<()>, reply: Reply) {
        match result {
            Ok(()) => {
                let index = self.raw.raft.raft_log.last_index();
                let term = self.raw.raft.term;
                if let Some(old) = self.pending.insert(index, Pending { term, reply }) {
                    let _ = old.reply.send(Err(RaftError::Dropped));
                }
            }
            Err(::raft::Error::ProposalDropped) => {
                let _ = reply.send(Err(self.not_leader()));
            }
            Err(e) => {
                let _ = reply.send(Err(RaftError::Raft(e)));
            }
        }
    }

    /// Issues deferred reads once the leader has committed in its term, and
    /// fails every outstanding read when this server stops leading.
    fn settle_reads(&mut self) {
        if self.raw.raft.state != StateRole::Leader {
            if !self.reads.is_empty() || !self.read_waits.is_empty() {
                let failed: Vec<_> = self.reads.drain().map(|(_, r)| r).collect();
                let waits: Vec<_> = self.read_waits.drain(..).map(|(_, r)| r).collect();
                for r in failed.into_iter().chain(waits) {
                    let _ = r.send(Err(self.not_leader()));
                }
            }
            self.deferred_reads.clear();
            return;
        }
        if !self.deferred_reads.is_empty() && self.raw.raft.commit_to_current_term() {
            for id in std::mem::take(&mut self.deferred_reads) {
                self.raw.read_index(id.to_be_bytes().to_vec());
            }
            // A lone leader answers at once: handle that Ready now.
            if let Err(e) = self.on_ready() {
                tracing::warn!(raft_id = self.id, error = %e, "raft ready after reads failed");
            }
        }
    }

    /// Forgets waiters whose caller gave up (timed out and dropped the future).
    fn reap_abandoned(&mut self) {
        self.reads.retain(|_, r| !r.is_closed());
        self.read_waits.retain(|(_, r)| !r.is_closed());
    }

    /// Hands messages to the transport; reports snapshots as sent so a lost
    /// one is retried through the normal probe path.
    pub(crate) fn send(&mut self, msgs: Vec<Message>) {
        if msgs.is_empty() {
            return;
        }
        let snapshots: Vec<u64> = msgs
            .iter()
            .filter(|m| m.get_msg_type() == MessageType::MsgSnapshot)
            .map(|m| m.to)
            .collect();
        self.transport.send(msgs);
        for to in snapshots {
            self.raw.report_snapshot(to, ::raft::SnapshotStatus::Finish);
        }
    }

    fn publish_status(&self) {
        let raft = &self.raw.raft;
        let store = self.raw.store();
        let leader = raft.leader_id;
        let next = RaftStatus {
            id: self.id,
            term: raft.term,
            role: match raft.state {
                StateRole::Leader => Role::Leader,
                StateRole::Candidate | StateRole::PreCandidate => Role::Candidate,
                StateRole::Follower => Role::Follower,
            },
            leader_id: (leader != 0).then_some(leader),
            commit: raft.raft_log.committed,
            applied: self.applied,
            last_index: raft.raft_log.last_index(),
            snapshot_index: store.snapshot_index(),
            voters: {
                let mut v = store.conf_state().voters.clone();
                v.sort_unstable();
                v
            },
            peers: store.peers().clone(),
            flushes: store.flushes(),
        };
        self.status.send_if_modified(|s| {
            let changed = *s != next;
            *s = next;
            changed
        });
    }

    pub(crate) fn note_leader(&mut self) {
        let leader = self.raw.raft.leader_id;
        let leader = (leader != 0).then_some(leader);
        if leader != self.last_leader {
            self.last_leader = leader;
            match leader {
                Some(l) => tracing::info!(
                    raft_id = self.id,
                    leader = l,
                    term = self.raw.raft.term,
                    "raft leader elected"
                ),
                None => tracing::info!(
                    raft_id = self.id,
                    term = self.raw.raft.term,
                    "raft leader lost"
                ),
            }
        }
    }

    /// How long one tick lasts (for callers sizing timeouts).
    pub fn tick_interval(&self) -> Duration {
        self.config.tick_interval
    }
}
