//! The plugin manager: the only part of Drover that knows plugins are
//! processes.
//!
//! Task drivers and artifact fetchers run as separate executables speaking
//! gRPC over a unix socket (see `docs/plugin-protocol.md`). This crate:
//!
//! * finds them ([`discover`], [`default_dirs`]);
//! * launches one and completes the handshake ([`PluginProcess::launch`]):
//!   magic cookie, protocol versions and a private 0700 socket directory in
//!   the environment; one `1|<version>|unix|<socket>|grpc` line back on
//!   stdout; then a connection, a health check and `PluginInfo`. The plugin's
//!   stderr JSON log lines are re-emitted as `tracing` events (target
//!   `drover::plugin`, the line's level, fields `plugin = <name>`,
//!   `plugin_target` and the line's other fields as JSON in `fields`);
//!   other lines at INFO verbatim;
//! * reattaches to a process that outlived its host ([`ReattachRecord`]);
//! * stops one politely (`Controller.Shutdown`, SIGTERM, SIGKILL), never
//!   leaving a zombie or a stray process behind;
//! * supervises one ([`ManagedPlugin`]): relaunch with backoff when it dies,
//!   configure it again and recover its tasks, with typed driver and
//!   fetcher clients ([`ManagedDriver`], [`ManagedFetcher`]) that follow
//!   relaunches.
//!
//! Every [`Error`] names the plugin, by name once known, else by path.

mod command;
mod connect;
mod discover;
mod driver;
mod error;
mod fetcher;
mod launch;
mod os;
mod process;
mod reattach;
mod stderr;
mod supervisor;

pub use command::{LaunchOptions, PluginCommand};
pub use connect::SOCKET_NAME;
pub use discover::{PLUGIN_PREFIXES, default_dirs, discover};
pub use driver::{ManagedDriver, PluginStream};
pub use error::{ConfigFieldError, Error, StderrTail};
pub use fetcher::ManagedFetcher;
pub use process::PluginProcess;
pub use reattach::ReattachRecord;
pub use stderr::TAIL_LINES;
pub use supervisor::{ManagedPlugin, PluginEvent, SupervisorOptions};

pub use drover_proto::v1::controller_client::ControllerClient;
pub use drover_proto::v1::driver_client::DriverClient;
pub use drover_proto::v1::fetcher_client::FetcherClient;
pub use drover_proto::v1::plugin_client::PluginClient;
