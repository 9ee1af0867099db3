//! The server's request endpoints, one file per resource, as `impl Server` blocks
//! with Nomad's RPC semantics (`Job.Register`, `Node.UpdateDrain`, …). Each turns a
//! request into one [`drover_state::Command`] (pure helpers where possible) and
//! proposes it through Raft; the answer carries the entry's index. Request and
//! response shapes are `drover_types::api`'s, shared with the HTTP layer and the CLI;
//! `client.rs` serves the cluster RPC's blocking `GetAllocs` (see [`crate::rpc`]).

mod allocs;
mod client;
pub use client::MAX_CLIENT_ALLOCS_WAIT;
mod evals;
mod job_diff;
mod job_plan;
mod jobs;
mod nodes;
