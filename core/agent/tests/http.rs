//! The `/v1` HTTP API over real sockets: a real single-node server (Raft on sled in a
//! tempdir) behind `ServerBackend`, bound to 127.0.0.1:0, driven by a hyper client.
//! One binary, one module per resource.

#[path = "http/support.rs"]
mod support;

#[path = "http/agent.rs"]
mod agent;
#[path = "http/allocs_nodes.rs"]
mod allocs_nodes;
#[path = "http/blocking.rs"]
mod blocking;
#[path = "http/client.rs"]
mod client;
#[path = "http/client_exec.rs"]
mod client_exec;
#[path = "http/errors.rs"]
mod errors;
#[path = "http/events.rs"]
mod events;
#[path = "http/jobs.rs"]
mod jobs;
#[path = "http/lists.rs"]
mod lists;
#[path = "http/placement.rs"]
mod placement;
