//! The client (node agent): fingerprint, allocation and task runners, task directories,
//! environment, logs, client state.
//!
//! This crate holds the client's *leaf* modules: each is a decision or a file layout that
//! the runners (a later layer, with the server connection and the driver plugins) call.
//! They are kept apart so each can be tested alone, and most are pure (STYLE.md item 1):
//!
//! * [`allocdir`]: Nomad's allocation directory layout (`alloc/{data,logs,tmp}`,
//!   `<task>/{local,secrets,private,tmp}`), its paths and its removal.
//! * [`taskenv`]: a task's `NOMAD_*` environment and the `${…}` interpolation used for
//!   `env`, driver `config` and artifact sources. Pure.
//! * [`logmon`]: the log collector: FIFO → rotated `alloc/logs/<task>.stdout.N` files,
//!   and the reader behind `alloc logs` and `/v1/client/fs/logs` (with follow).
//! * [`restarts`]: the restart tracker: restart or not, and after which delay. Pure, with
//!   time and randomness as parameters.
//! * [`fingerprint`]: host facts under Nomad's attribute names, merged with driver
//!   fingerprints into a [`drover_types::Node`] ready to register; the persistent node ID.
//! * [`ports`]: the check that an allocation's host ports can still be bound.
//! * [`gc`]: which terminal allocation directories to remove, by Nomad's `gc_*` rules.
//!   Pure.

pub mod allocdir;
pub mod client;
pub mod drivers;
pub mod fetchers;
pub mod fingerprint;
pub mod gc;
pub mod grpc;
pub mod hoststats;
pub mod logmon;
pub mod ports;
pub mod restarts;
pub mod rpc;
pub mod runner;
pub mod state;
pub mod taskenv;
pub mod taskrunner;

pub use allocdir::{AllocDir, AllocDirError, FsIsolation, LogKind, TaskDir};
pub use client::{Client, ClientConfig, ClientError, ControlError, ExecRequest, ExecStream};
pub use drivers::{DriverSpec, Drivers};
pub use fetchers::{FetcherSpec, Fetchers};
pub use fingerprint::{DriverFingerprint, DriverHealth, FingerprintConfig, HostFacts};
pub use gc::{GcCandidate, GcConfig, GcReason, GcStats};
pub use logmon::process::LogmonCommand;
pub use logmon::{FileRotator, LogMon, LogMonConfig, Origin};
pub use restarts::{ExitOutcome, RestartDecision, RestartRules, RestartState, RestartTracker};
pub use rpc::{AllocEntry, ClientAllocs, RpcError, ServerRpc};
pub use taskenv::{TaskEnv, TaskEnvBuilder};
