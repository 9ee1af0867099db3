//! Drover's plugin wire protocol.
//!
//! * [`v1`]: generated messages, clients and servers for the `Plugin`,
//!   `Controller` and `Driver` services (see `docs/plugin-protocol.md`).
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

pub use prost;
pub use prost_types;
pub use tonic;
