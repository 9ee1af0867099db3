//! Errors of the server's request endpoints, shaped for the HTTP layer to map to
//! Nomad's status codes in one place (`NotFound` → 404, `BadRequest` → 400,
//! `Validation` → 500 with the multierror text, `NoLeader` → 500 "No cluster leader",
//! `Unavailable` → 503, `Apply` → by the state machine's error kind).

use drover_state::ApplyError;
use drover_types::{ValidationError, multierror_text};

use crate::raft::RaftError;

/// Why a server request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServerError {
    /// A referenced object does not exist; the text is Nomad's (`job not found`).
    #[error("{0}")]
    NotFound(String),
    /// The request is wrong; the text says how.
    #[error("{0}")]
    BadRequest(String),
    /// The job breaks validation rules (Nomad answers 500 with the multierror text).
    #[error("{}", multierror_text(.0))]
    Validation(Vec<ValidationError>),
    /// This server is not the leader (and does not forward yet); `leader` is the
    /// leader's server address when known.
    #[error("No cluster leader")]
    NoLeader {
        /// The leader's raft address, when known.
        leader: Option<String>,
    },
    /// The state machine rejected the entry (committed, but changed nothing).
    #[error("{0}")]
    Apply(ApplyError),
    /// Temporarily unable: shutting down, or the outcome of a write is unknown.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else.
    #[error("{0}")]
    Internal(String),
}

impl From<ApplyError> for ServerError {
    fn from(e: ApplyError) -> Self {
        ServerError::Apply(e)
    }
}

impl From<RaftError> for ServerError {
    fn from(e: RaftError) -> Self {
        match e {
            RaftError::NotLeader { leader_addr, .. } => ServerError::NoLeader {
                leader: leader_addr,
            },
            RaftError::Stopped => ServerError::Unavailable("server is shutting down".into()),
            RaftError::Dropped => ServerError::Unavailable(e.to_string()),
            other => ServerError::Internal(other.to_string()),
        }
    }
}

impl ServerError {
    pub(crate) fn not_found(kind: &str) -> Self {
        ServerError::NotFound(format!("{kind} not found"))
    }
}

/// Result of a server request.
pub type ServerResult<T> = Result<T, ServerError>;

/// Errors of [`crate::Server::start`].
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A configuration field is invalid; names it.
    #[error("invalid server config: {0}")]
    Config(String),
    /// The raft listener could not bind.
    #[error("bind raft address {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Opening the log store or restoring the state failed.
    #[error(transparent)]
    Raft(#[from] RaftError),
}
