#![doc = include_str!("../README.md")]

pub mod config;
pub mod driver;
pub mod exec;
pub mod executor;
pub mod fetcher;
mod serve;
pub mod signal;
#[cfg(feature = "testing")]
pub mod testing;

pub use driver::{
    AgentInfo, Attr, Capabilities, Driver, ExecOutput, ExitResult, Fingerprint, FsIsolation,
    Health, PluginMeta, ResourceUsage, StartError, StartedTask, TaskConfig, TaskEvent, TaskState,
    TaskStatus,
};
pub use drover_proto::error::{ErrorKind, PluginError};
pub use drover_proto::{self as proto, prost, tonic};
pub use exec::{ExecChunk, ExecInput, ExecSession, ExecSink};
pub use fetcher::{FetchMode, FetchRequest, Fetched, Fetcher};
pub use serve::{SHUTDOWN_GRACE, serve, serve_fetcher};

/// Result of a plugin call.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

/// Re-exported so drivers derive the schema of their config types without a
/// version skew: `#[derive(Deserialize, JsonSchema)]`.
pub use schemars;
pub use serde;
pub use serde_json;
