//! The Drover server.
//!
//! Every state change is a Raft log entry applied by a state machine, also on a
//! single server (`bootstrap_expect = 1`): there is no second, non-replicated
//! write path. This crate holds the machinery around that rule:
//!
//! * [`raft`]: the raft-rs driving loop ([`raft::RaftNode`]), its log, hard
//!   state and snapshots in a write-ahead log under `<data_dir>/server/raft/`, the gRPC transport
//!   between servers (port 4648) and the handle used to propose writes.
//! * [`Server`] (`server.rs`): Raft with `drover_state::StateStore` as its FSM
//!   (`fsm.rs`), readers served from O(1) state views published after each apply,
//!   and the owned tasks below, stopped by one `CancellationToken`.
//! * Endpoints (`endpoints/`, one file per resource): `job_register`,
//!   `job_deregister`, `job_evaluate`, `job_plan`, `job_scale`, `job_dispatch`,
//!   `periodic_force`, `alloc_stop`, `alloc_client_update`, `node_register`,
//!   `node_update_status`, `node_update_eligibility`, `node_update_drain`, eval reads,
//!   and `client_allocs` (a client's blocking allocation query).
//! * The cluster RPC (`rpc/`): the `ClientRpc` gRPC service clients call on the RPC
//!   port (4647), served by [`Server::start`] on `rpc_bind`.
//! * Leader duties (`leader/`): the eval broker, blocked evals, the plan applier with
//!   optimistic concurrency, heartbeat timers, the drainer.
//! * Scheduler workers (`worker.rs`): run `drover_scheduler` on blocking threads
//!   against [`SnapshotState`], a `drover_scheduler::State` over a state view.

mod config;
pub mod endpoints;
mod error;
mod fsm;
pub mod leader;
mod listen;
pub mod raft;
pub mod rpc;
mod server;
pub mod sim;
mod snapshot;
mod worker;

pub use config::{HeartbeatConfig, ServerConfig};
pub use error::{ServerError, ServerResult, StartError};
pub use listen::{BACKLOG, listen};
pub use server::{RaftServerInfo, Server};
pub use snapshot::SnapshotState;
