//! Raft: replicate opaque entries to a quorum, then apply them to a state machine.
//!
//! The pieces, each in its own file:
//!
//! * [`StateMachine`] (`fsm.rs`): what the server implements; deterministic and
//!   pure. [`KvStateMachine`] is a tiny one for tests and examples.
//! * `wal/`: the log on disk under `<data_dir>/server/raft/`: an append-only
//!   write-ahead log in segment files (entries and metadata as CRC-checked
//!   records) plus one file per snapshot image; see its module docs for the
//!   format, recovery and crash-safety rules.
//! * `migrate.rs`: converts a data dir of the older sled-based store once.
//! * [`RaftStorage`] (`storage.rs`): raft-rs's `Storage` on the WAL (or in
//!   memory): entries, hard state, conf state, snapshot; staged writes so
//!   that one `Ready` costs one write and at most one fdatasync (group
//!   commit).
//! * [`RaftNode`] (`node.rs`, `apply.rs`): the owned task that drives
//!   `RawNode`: tick, step, propose, then persist → send → apply → advance.
//! * [`RaftHandle`] (`handle.rs`): propose and wait until committed and
//!   applied, read barrier, membership changes, status.
//! * [`Transport`] (`transport.rs`, `service.rs`): raft messages as opaque
//!   bytes over gRPC, one reconnecting sender per peer.
//! * `logging.rs`: raft-rs logs through slog; we forward it to `tracing`.

mod apply;
mod config;
mod error;
mod fsm;
mod handle;
mod logging;
mod migrate;
mod node;
mod service;
mod storage;
mod transport;
mod wal;

pub use config::RaftConfig;
pub use error::RaftError;
pub use fsm::{KvStateMachine, RestoreError, SnapshotImage, SnapshotJob, StateMachine};
pub use handle::{RaftHandle, RaftStatus, Role};
pub use logging::raft_logger;
pub use node::RaftNode;
pub use service::{RaftService, serve};
pub use storage::{CACHED_ENTRIES, LogSinceSnapshot, RaftStorage};
pub use transport::{GrpcTransport, Transport};
pub use wal::DEFAULT_SEGMENT_BYTES;

/// Re-exported so transports and tests can name raft's types without a
/// direct dependency on the `raft` crate.
pub use ::raft::prelude::Message;

/// Generated gRPC code for package `drover.raft.v1`.
#[allow(clippy::all, reason = "generated code; may or may not trip lints")]
pub mod proto {
    tonic::include_proto!("drover.raft.v1");
}
