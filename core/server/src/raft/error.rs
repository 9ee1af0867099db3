//! Errors of the Raft layer, shaped for a caller to act on.

/// Why a Raft operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RaftError {
    /// This server is not the leader; retry on the leader (when known).
    #[error("not the raft leader (leader: {})", leader_text(*.leader_id, .leader_addr.as_deref()))]
    NotLeader {
        /// The current leader's raft id, when known.
        leader_id: Option<u64>,
        /// The current leader's server address (`host:port`), when known.
        leader_addr: Option<String>,
    },
    /// The proposal was lost to a leadership change or covered by a snapshot
    /// before this server saw it apply: its outcome is unknown.
    #[error("proposal dropped by a leadership change; its outcome is unknown")]
    Dropped,
    /// The Raft node has stopped (shutdown or a fatal storage error).
    #[error("raft node stopped")]
    Stopped,
    /// The request itself is wrong.
    #[error("invalid raft request: {0}")]
    InvalidArgument(String),
    /// The configuration is invalid; names the field.
    #[error("invalid raft config: {0}")]
    Config(String),
    /// The log store failed; the node stops rather than diverge.
    #[error("raft storage: {0}")]
    Storage(String),
    /// The state machine rejected a snapshot.
    #[error("state machine: {0}")]
    StateMachine(String),
    /// raft-rs refused an operation.
    #[error("raft: {0}")]
    Raft(#[from] ::raft::Error),
}

fn leader_text(id: Option<u64>, addr: Option<&str>) -> String {
    match (id, addr) {
        (Some(id), Some(addr)) => format!("{id} at {addr}"),
        (Some(id), None) => format!("{id}, address unknown"),
        _ => "unknown".to_owned(),
    }
}
