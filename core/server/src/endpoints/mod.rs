//! The server's request endpoints, one file per resource, as `impl Server` blocks
//! with Nomad's RPC semantics (`Job.Register`, `Node.UpdateDrain`, …). Each turns a
//! request into one [`drover_state::Command`] (pure helpers where possible) and
//! proposes it through Raft; the answer carries the entry's index. Request and
//! response shapes are `drover_types::api`'s, shared with the HTTP layer and the CLI.

mod allocs;
mod evals;
mod job_plan;
mod jobs;
mod nodes;
