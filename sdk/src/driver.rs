//! The [`Driver`] trait a task driver plugin implements.
//!
//! Required methods cover a task's life: start, wait, stop, destroy, inspect.
//! Optional ones (signals, exec, stats, events, recovery) default to
//! `Unimplemented`; a driver that implements one also declares it in
//! [`Driver::capabilities`], and the SDK answers `Unimplemented` for calls the
//! capabilities do not declare, without calling the driver.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use futures::stream::BoxStream;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::exec::ExecSession;
use crate::proto::v1;
use crate::{PluginError, Result};

pub use v1::{
    DriverCapabilities as Capabilities, FsIsolation, Health, Mount, TaskConfig, TaskState,
};

/// Version of the `TaskHandle` layout the SDK writes.
pub use drover_proto::TASK_HANDLE_VERSION;

/// A driver's identity.
#[derive(Debug, Clone)]
pub struct PluginMeta {
    /// Name used as `driver = "..."` in job files and `plugin "..."` in agent config.
    pub name: &'static str,
    /// Semantic version of the plugin.
    pub version: &'static str,
}

/// Settings of the agent that a plugin receives with its config.
#[derive(Debug, Clone, Default)]
pub struct AgentInfo {
    /// A directory the plugin may keep state in (survives plugin restarts).
    pub state_dir: String,
    pub agent_version: String,
}

/// One fingerprint report.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub health: Health,
    pub description: String,
    /// Node attributes, e.g. `driver.raw_exec` = `true`.
    pub attributes: BTreeMap<String, Attr>,
}

/// A node attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Fingerprint {
    pub fn healthy(description: impl Into<String>) -> Self {
        Self {
            health: Health::Healthy,
            description: description.into(),
            attributes: BTreeMap::new(),
        }
    }
    pub fn undetected(reason: impl Into<String>) -> Self {
        Self {
            health: Health::Undetected,
            description: reason.into(),
            attributes: BTreeMap::new(),
        }
    }
    pub fn unhealthy(reason: impl Into<String>) -> Self {
        Self {
            health: Health::Unhealthy,
            description: reason.into(),
            attributes: BTreeMap::new(),
        }
    }
    pub fn with_attr(mut self, key: impl Into<String>, value: Attr) -> Self {
        self.attributes.insert(key.into(), value);
        self
    }
}

/// How a task ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ExitResult {
    pub exit_code: i32,
    /// Signal number that ended the task, 0 if none.
    pub signal: i32,
    pub oom_killed: bool,
}

impl ExitResult {
    pub fn successful(&self) -> bool {
        self.exit_code == 0 && self.signal == 0 && !self.oom_killed
    }
}

/// A driver's view of one task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatus {
    pub id: String,
    pub name: String,
    pub state: TaskState,
    pub started_at: Option<SystemTime>,
    pub completed_at: Option<SystemTime>,
    pub exit: Option<ExitResult>,
    pub attributes: BTreeMap<String, String>,
}

/// Result of [`Driver::start_task`].
#[derive(Debug, Clone)]
pub struct StartedTask {
    /// Whatever the driver needs to reattach after a restart; serialized into
    /// the handle's `driver_state` as JSON.
    pub driver_state: serde_json::Value,
    /// Ports or address the task really uses, when the driver decides them.
    pub network: Option<v1::NetworkOverride>,
}

/// Why a task did not start.
#[derive(Debug, Clone)]
pub enum StartError {
    /// The request itself is wrong (bad task config: `InvalidArgument`; a
    /// task ID in use: `AlreadyExists`). Answered as a gRPC status with the
    /// error's own code; never retried.
    Invalid(PluginError),
    /// A retry may succeed (restart policy applies).
    Recoverable(String),
    /// Will fail again.
    Fatal(String),
}

impl From<PluginError> for StartError {
    fn from(e: PluginError) -> Self {
        match e.kind {
            crate::ErrorKind::InvalidArgument | crate::ErrorKind::AlreadyExists => {
                StartError::Invalid(e)
            }
            crate::ErrorKind::Unavailable => StartError::Recoverable(e.message),
            _ => StartError::Fatal(e.message),
        }
    }
}

/// Resource usage of a task at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceUsage {
    /// CPU time in user and system mode, in seconds.
    pub cpu_user_secs: f64,
    pub cpu_system_secs: f64,
    /// Percentage of one core since the previous sample (0 for the first).
    pub cpu_percent: f64,
    pub rss_bytes: u64,
    /// Per process, keyed by pid.
    pub by_pid: BTreeMap<u32, ResourceUsage>,
}

/// Output of a one-shot [`Driver::exec_task`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit: ExitResult,
}

/// An event a driver reports about a task (becomes a `Driver` task event).
#[derive(Debug, Clone)]
pub struct TaskEvent {
    pub task_id: String,
    pub alloc_id: String,
    pub task_name: String,
    pub message: String,
    pub annotations: BTreeMap<String, String>,
}

/// A task driver. Implement it and call [`crate::serve`] from `main`.
#[tonic::async_trait]
pub trait Driver: Send + Sync + 'static {
    /// The plugin's `config { ... }` block. Decoded from JSON with field-path
    /// errors; use `#[serde(deny_unknown_fields)]` so typos are reported.
    type Config: DeserializeOwned + JsonSchema + Default + Send + 'static;
    /// A task's `config { ... }` block.
    type TaskConfig: DeserializeOwned + JsonSchema + Send + 'static;

    fn meta(&self) -> PluginMeta;

    /// What the driver supports. Optional calls not declared here are
    /// answered `Unimplemented` by the SDK.
    fn capabilities(&self) -> Capabilities;

    /// Called with the decoded plugin config before any task call, and again
    /// whenever the host re-sends it.
    async fn set_config(&self, config: Self::Config, agent: AgentInfo) -> Result<()>;

    /// Health and attributes. The SDK sends the first report at once and then
    /// every change; return a stream that yields whenever something changes.
    fn fingerprint(&self) -> BoxStream<'static, Fingerprint>;

    /// Start a task. `config` is the task's decoded `config` block.
    async fn start_task(
        &self,
        task: TaskConfig,
        config: Self::TaskConfig,
    ) -> std::result::Result<StartedTask, StartError>;

    /// Wait until the task exits.
    async fn wait_task(&self, task_id: &str) -> Result<ExitResult>;

    /// Send `signal` (a name like `SIGTERM`; `None` means the driver's
    /// default), then kill after `timeout`. Returns once the task exited.
    async fn stop_task(&self, task_id: &str, timeout: Duration, signal: Option<&str>)
    -> Result<()>;

    /// Forget the task. With `force` a running task is killed first; without
    /// it a running task is an error (`FailedPrecondition`).
    async fn destroy_task(&self, task_id: &str, force: bool) -> Result<()>;

    async fn inspect_task(&self, task_id: &str) -> Result<TaskStatus>;

    /// One sample of the task's resource usage; the SDK calls it at the
    /// requested interval to feed the `TaskStats` stream.
    async fn task_stats(&self, task_id: &str) -> Result<ResourceUsage> {
        let _ = task_id;
        Err(PluginError::unimplemented("TaskStats"))
    }

    /// Events about tasks. The default stream never yields.
    fn task_events(&self) -> BoxStream<'static, TaskEvent> {
        Box::pin(futures::stream::pending())
    }

    /// Needs `capabilities.send_signals`.
    async fn signal_task(&self, task_id: &str, signal: &str) -> Result<()> {
        let _ = (task_id, signal);
        Err(PluginError::unimplemented("SignalTask"))
    }

    /// Needs `capabilities.exec`.
    async fn exec_task(
        &self,
        task_id: &str,
        command: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecOutput> {
        let _ = (task_id, command, timeout);
        Err(PluginError::unimplemented("ExecTask"))
    }

    /// Run `session.command` inside the task interactively (`alloc exec`),
    /// forwarding `session.input` to it and its output to `session.output`
    /// until it exits; return how it ended. Needs `capabilities.exec`.
    ///
    /// The SDK drops the returned future when the host ends the call, so the
    /// command must die with it (e.g. kill it in a guard's `Drop`).
    async fn exec_task_streaming(&self, session: ExecSession) -> Result<ExitResult> {
        let _ = session;
        Err(PluginError::unimplemented("ExecTaskStreaming"))
    }

    /// Reattach to a task from its handle. Needs `capabilities.recover`.
    /// `driver_state` is what `start_task` returned in [`StartedTask`].
    async fn recover_task(&self, task: TaskConfig, driver_state: serde_json::Value) -> Result<()> {
        let _ = (task, driver_state);
        Err(PluginError::unimplemented("RecoverTask"))
    }
}
