//! The handle the rest of the server holds to talk to its Raft node.
//!
//! Writes are acknowledged only once committed by a quorum (each server
//! fsyncs before acknowledging) and applied to the local state machine.

use std::collections::BTreeMap;
use std::time::Duration;

use ::raft::prelude::Message;
use tokio::sync::{mpsc, oneshot, watch};

use super::RaftError;

/// A request to the node's loop.
pub(crate) enum Command {
    Propose {
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(u64, Vec<u8>), RaftError>>,
    },
    ChangeVoter {
        id: u64,
        addr: Option<String>,
        reply: oneshot::Sender<Result<(u64, Vec<u8>), RaftError>>,
    },
    ReadIndex {
        reply: oneshot::Sender<Result<u64, RaftError>>,
    },
    TransferLeader {
        to: u64,
    },
}

/// This server's place in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// Follows a leader (or waits for one).
    #[default]
    Follower,
    /// Pre-voting or voting for itself.
    Candidate,
    /// Accepts proposals.
    Leader,
}

/// A snapshot of the node's progress, refreshed after every `Ready`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RaftStatus {
    /// This server's raft id.
    pub id: u64,
    /// The current term.
    pub term: u64,
    /// This server's role.
    pub role: Role,
    /// The leader's raft id, when known.
    pub leader_id: Option<u64>,
    /// Highest index known committed.
    pub commit: u64,
    /// Highest index applied to the state machine.
    pub applied: u64,
    /// Index of the last log entry.
    pub last_index: u64,
    /// Index of the last snapshot (log compacted up to it).
    pub snapshot_index: u64,
    /// Voting members, sorted.
    pub voters: Vec<u64>,
    /// Address book: raft id → server address.
    pub peers: BTreeMap<u64, String>,
    /// Flushes (fsyncs) of the log store so far.
    pub flushes: u64,
}

/// Cheap to clone; every method talks to the one node task.
#[derive(Clone)]
pub struct RaftHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) messages: mpsc::Sender<Message>,
    pub(crate) status: watch::Receiver<RaftStatus>,
}

impl RaftHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, RaftError>>) -> Command,
    ) -> Result<T, RaftError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| RaftError::Stopped)?;
        rx.await.map_err(|_| RaftError::Stopped)?
    }

    /// Replicates `data` and applies it; resolves with the entry's index and
    /// the state machine's response once it is committed and applied here.
    /// Fails with [`RaftError::NotLeader`] on a follower.
    pub async fn propose(&self, data: Vec<u8>) -> Result<(u64, Vec<u8>), RaftError> {
        if data.is_empty() {
            return Err(RaftError::InvalidArgument(
                "empty entry (reserved for raft no-ops)".into(),
            ));
        }
        self.ask(|reply| Command::Propose { data, reply }).await
    }

    /// Linearizable read barrier: resolves with an index once this server
    /// (the leader) has confirmed its leadership and applied up to it; state
    /// read afterwards reflects every write acknowledged before the call.
    pub async fn read_index(&self) -> Result<u64, RaftError> {
        self.ask(|reply| Command::ReadIndex { reply }).await
    }

    /// Adds server `id` at `addr` as a voter; resolves once the change applies.
    pub async fn add_voter(&self, id: u64, addr: impl Into<String>) -> Result<u64, RaftError> {
        let addr = Some(addr.into());
        self.ask(|reply| Command::ChangeVoter { id, addr, reply })
            .await
            .map(|(i, _)| i)
    }

    /// Removes server `id`; resolves once the change applies.
    pub async fn remove_voter(&self, id: u64) -> Result<u64, RaftError> {
        self.ask(|reply| Command::ChangeVoter {
            id,
            addr: None,
            reply,
        })
        .await
        .map(|(i, _)| i)
    }

    /// Asks the leader to hand leadership to `to` (best effort).
    pub async fn transfer_leader(&self, to: u64) -> Result<(), RaftError> {
        self.commands
            .send(Command::TransferLeader { to })
            .await
            .map_err(|_| RaftError::Stopped)
    }

    /// Hands a raft message from a peer to the node (used by transports).
    pub async fn step(&self, msg: Message) -> Result<(), RaftError> {
        self.messages
            .send(msg)
            .await
            .map_err(|_| RaftError::Stopped)
    }

    /// Like [`RaftHandle::step`] but drops the message when the node is busy
    /// (raft retries).
    pub fn try_step(&self, msg: Message) {
        let _ = self.messages.try_send(msg);
    }

    /// The latest status.
    pub fn status(&self) -> RaftStatus {
        self.status.borrow().clone()
    }

    /// Whether this server is the leader right now.
    pub fn is_leader(&self) -> bool {
        self.status.borrow().role == Role::Leader
    }

    /// The leader's raft id, when known.
    pub fn leader_id(&self) -> Option<u64> {
        self.status.borrow().leader_id
    }

    /// A receiver that changes with the status (for blocking waits).
    pub fn subscribe(&self) -> watch::Receiver<RaftStatus> {
        self.status.clone()
    }

    /// Waits up to `timeout` until `pred` holds for the status.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&RaftStatus) -> bool,
    ) -> Option<RaftStatus> {
        let mut rx = self.status.clone();
        let wait = rx.wait_for(|s| pred(s));
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(s)) => Some(s.clone()),
            _ => None,
        }
    }
}
