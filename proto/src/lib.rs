//! Drover's wire protocols: the plugin protocol and the cluster RPC.
//!
//! * [`v1`]: generated messages, clients and servers for the `Plugin`,
//!   `Controller` and `Driver` services (see `docs/plugin-protocol.md`).
//! * [`cluster_v1`]: the cluster RPC between clients and servers (`ClientRpc`,
//!   the servers' RPC port 4647).
//! * [`handshake`]: the environment a host hands a plugin and the one stdout
//!   line a plugin answers with.
//! * [`error`]: the one mapping between plugin errors and gRPC status codes.

pub mod error;
pub mod handshake;

/// Generated code for package `drover.plugin.v1`.
#[expect(clippy::all, reason = "generated code")]
pub mod v1 {
    tonic::include_proto!("drover.plugin.v1");
}

/// Generated code for package `drover.cluster.v1`: the client <-> server RPC.
#[expect(clippy::all, reason = "generated code")]
pub mod cluster_v1 {
    tonic::include_proto!("drover.cluster.v1");
}

/// Version of the `TaskHandle` a host stores and hands back in `RecoverTask`. A host
/// also writes one itself (config only, no `driver_state`) just before `StartTask`,
/// so a task started right before the host died can still be claimed from a plugin
/// that knows it.
pub const TASK_HANDLE_VERSION: u32 = 1;

pub use prost;
pub use prost_types;
pub use tonic;
