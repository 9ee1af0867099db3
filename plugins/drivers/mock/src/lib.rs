//! `mock_driver`: a task driver whose tasks are scripts, not processes.
//!
//! The Drover client, the scheduler tests and the plugin conformance suite
//! need a driver whose behaviour they choose: a task that runs 150 ms and
//! exits 3, one that ignores SIGTERM for 10 s, a start that fails with a
//! retryable error, a plugin that crashes 1 s after a task starts. The mock
//! driver plays such scripts, written in the task's `config { ... }` block
//! (see [`MockTaskConfig`] and the crate README for every key), on tokio
//! timers, so tests can pause time and run fast and deterministically.
//!
//! It is modelled on Nomad's `drivers/mock`. Its tasks survive a plugin crash:
//! a task's `driver_state` holds its script and start time, and
//! `RecoverTask` in a new plugin process resumes it so that it exits at the
//! moment it would have exited anyway.
//!
//! Use it in-process through the [`Driver`] trait, or as the
//! `drover-driver-mock` plugin binary.

pub mod config;
pub mod duration;
pub mod fingerprint;
mod output;
pub mod state;
mod task;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use drover_plugin_sdk::{
    AgentInfo, Capabilities, Driver, ErrorKind, ExecOutput, ExecSession, ExitResult, Fingerprint,
    FsIsolation, PluginError, PluginMeta, ResourceUsage, Result, StartError, StartedTask,
    TaskConfig, TaskEvent, TaskStatus, signal,
};
use futures::stream::BoxStream;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{ExecCommand, Fault, FingerprintHealth, MockConfig, MockTaskConfig};
pub use duration::GoDuration;
pub use state::DriverState;
pub use task::{PluginExitHook, SIGKILL};

use fingerprint::Settings;
use task::{Spawner, Task};

/// The plugin's name: `driver = "mock_driver"` in job files.
pub const PLUGIN_NAME: &str = "mock_driver";
/// The signal `StopTask` sends when the host names none (Nomad's default for
/// executor drivers).
pub const DEFAULT_STOP_SIGNAL: &str = "SIGINT";
/// Synthetic memory use reported by `TaskStats`.
pub const STATS_RSS_BYTES: u64 = 1 << 20;
/// Synthetic CPU use reported by `TaskStats`: this share of one core.
pub const STATS_CPU_SHARE: f64 = 0.01;

/// The mock driver. `Default` gives a driver whose `plugin_exit_after` exits
/// the process; tests use [`MockDriver::with_plugin_exit_hook`].
pub struct MockDriver {
    tasks: Mutex<HashMap<String, Arc<Task>>>,
    settings: watch::Sender<Settings>,
    events: broadcast::Sender<TaskEvent>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    plugin_exit: PluginExitHook,
}

impl Default for MockDriver {
    fn default() -> Self {
        Self::with_plugin_exit_hook(|task_id| {
            tracing::error!(%task_id, "plugin_exit_after: the mock plugin exits with code 1");
            std::process::exit(1)
        })
    }
}

impl Drop for MockDriver {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl MockDriver {
    /// A driver that calls `hook` (with the task id) instead of exiting the
    /// process when a task's `plugin_exit_after` passes.
    pub fn with_plugin_exit_hook(hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            tasks: Mutex::new(HashMap::new()),
            settings: watch::Sender::new(Settings::default()),
            events: broadcast::channel(64).0,
            tracker: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            plugin_exit: Arc::new(hook),
        }
    }

    /// Stop every task loop without exiting the tasks, as a plugin crash
    /// would, and wait until they are gone. Pending `wait_task` calls answer
    /// `Unavailable`.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// The host's config of a known task (with its mounts, env, paths).
    pub fn task_config(&self, task_id: &str) -> Option<TaskConfig> {
        self.lock().get(task_id).map(|t| t.host.clone())
    }

    /// Signals the task received through `signal_task`, oldest first.
    pub fn received_signals(&self, task_id: &str) -> Option<Vec<String>> {
        self.lock().get(task_id).map(|t| t.signals())
    }

    /// Ids of the tasks the driver knows, sorted.
    pub fn task_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().keys().cloned().collect();
        ids.sort();
        ids
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Task>>> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the plugin config asks for `fault`.
    fn fault(&self, fault: Fault) -> bool {
        self.settings.borrow().config.faults.contains(&fault)
    }

    fn task(&self, task_id: &str) -> Result<Arc<Task>> {
        self.lock()
            .get(task_id)
            .cloned()
            .ok_or_else(|| PluginError::not_found(task_id))
    }

    fn running(&self, task_id: &str) -> Result<Arc<Task>> {
        let task = self.task(task_id)?;
        if !task.is_running() {
            return Err(PluginError::new(
                ErrorKind::FailedPrecondition,
                format!("task {task_id:?} has exited"),
            ));
        }
        Ok(task)
    }

    /// Start playing `script` for `host`, unless the id is taken.
    fn insert(
        &self,
        host: TaskConfig,
        script: MockTaskConfig,
        started_at: SystemTime,
        recovered: bool,
    ) -> Result<(), PluginError> {
        let mut tasks = self.lock();
        if tasks.contains_key(&host.id) {
            return Err(already_exists(&host.id));
        }
        let id = host.id.clone();
        let spawner = Spawner {
            tracker: &self.tracker,
            shutdown: &self.shutdown,
            plugin_exit: &self.plugin_exit,
        };
        let task = Task::spawn(host, script, started_at, recovered, spawner);
        tasks.insert(id, task);
        Ok(())
    }
}

fn already_exists(task_id: &str) -> PluginError {
    PluginError::new(
        ErrorKind::AlreadyExists,
        format!("task {task_id:?} already exists in mock_driver"),
    )
}

/// Sleep until `at`, or forever when there is no `at`.
pub(crate) async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[drover_plugin_sdk::tonic::async_trait]
impl Driver for MockDriver {
    type Config = MockConfig;
    type TaskConfig = MockTaskConfig;

    fn meta(&self) -> PluginMeta {
        PluginMeta {
            name: PLUGIN_NAME,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            send_signals: true,
            exec: true,
            fs_isolation: FsIsolation::None as i32,
            mounts: true,
            disable_log_collection: false,
            recover: true,
        }
    }

    async fn set_config(&self, config: MockConfig, _agent: AgentInfo) -> Result<()> {
        self.settings
            .send_replace(Settings::new(config, Instant::now()));
        Ok(())
    }

    fn fingerprint(&self) -> BoxStream<'static, Fingerprint> {
        fingerprint::stream(self.settings.subscribe())
    }

    async fn start_task(
        &self,
        task: TaskConfig,
        config: MockTaskConfig,
    ) -> std::result::Result<StartedTask, StartError> {
        config.validate().map_err(StartError::Invalid)?;
        if task.id.is_empty() {
            return Err(StartError::Invalid(PluginError::invalid(
                "task.id is empty",
            )));
        }
        if self.lock().contains_key(&task.id) {
            return Err(StartError::Invalid(already_exists(&task.id)));
        }
        tokio::time::sleep(config.start_block_for()).await;
        if let Some(message) = &config.start_error {
            return Err(if config.start_error_recoverable {
                StartError::Recoverable(message.clone())
            } else {
                StartError::Fatal(message.clone())
            });
        }
        // Millisecond precision, as stored, so a recovered task keeps the
        // very same deadlines.
        let state = DriverState::new(SystemTime::now(), config);
        let driver_state = state.to_json();
        let started_at = state.started_at();
        self.insert(task, state.config, started_at, false)
            .map_err(StartError::Invalid)?;
        Ok(StartedTask {
            driver_state,
            network: None,
        })
    }

    async fn wait_task(&self, task_id: &str) -> Result<ExitResult> {
        let exit = self.task(task_id)?.wait().await?;
        match exit.error {
            Some(message) => Err(PluginError::internal(message)),
            None if self.fault(Fault::WrongExitCode) => Ok(ExitResult {
                exit_code: exit.result.exit_code + 1,
                ..exit.result
            }),
            None => Ok(exit.result),
        }
    }

    async fn stop_task(
        &self,
        task_id: &str,
        timeout: Duration,
        signal: Option<&str>,
    ) -> Result<()> {
        let task = self.task(task_id)?;
        let number = signal::parse(signal.unwrap_or(DEFAULT_STOP_SIGNAL))?;
        if self.fault(Fault::NoKillEscalation) {
            // Signal, then leave the task to die by itself, if ever.
            tokio::spawn(async move { task.stop(number, Duration::from_secs(365 * 86_400)).await });
            return Ok(());
        }
        task.stop(number, timeout).await?;
        Ok(())
    }

    async fn destroy_task(&self, task_id: &str, force: bool) -> Result<()> {
        let task = self.task(task_id)?;
        if task.is_running() {
            if !force {
                return Err(PluginError::new(
                    ErrorKind::FailedPrecondition,
                    format!(
                        "task {task_id:?} is still running; stop it first or destroy with force"
                    ),
                ));
            }
            task.kill().await?;
        }
        self.lock().remove(task_id);
        Ok(())
    }

    async fn inspect_task(&self, task_id: &str) -> Result<TaskStatus> {
        Ok(self.task(task_id)?.status())
    }

    async fn task_stats(&self, task_id: &str) -> Result<ResourceUsage> {
        let task = self.task(task_id)?;
        let cpu = task.elapsed(SystemTime::now()).as_secs_f64() * STATS_CPU_SHARE;
        Ok(ResourceUsage {
            cpu_user_secs: cpu,
            cpu_system_secs: 0.0,
            cpu_percent: if task.is_running() {
                STATS_CPU_SHARE * 100.0
            } else {
                0.0
            },
            rss_bytes: STATS_RSS_BYTES,
            by_pid: Default::default(),
        })
    }

    fn task_events(&self) -> BoxStream<'static, TaskEvent> {
        let rx = self.events.subscribe();
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(event) => return Some((event, rx)),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "task event subscriber lagged");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }

    async fn signal_task(&self, task_id: &str, signal: &str) -> Result<()> {
        let task = self.running(task_id)?;
        let number = signal::parse(signal)?;
        let name = signal::name(number).unwrap_or(signal);
        if let Some(message) = &task.script.signal_error {
            return Err(PluginError::internal(message.clone()));
        }
        task.record_signal(name);
        // Nobody listening is fine: events are best effort.
        let _ = self.events.send(TaskEvent {
            task_id: task_id.to_string(),
            alloc_id: task.host.alloc_id.clone(),
            task_name: task.host.name.clone(),
            message: format!("Received signal {name}"),
            annotations: [("signal".to_string(), name.to_string())].into(),
        });
        Ok(())
    }

    async fn exec_task(
        &self,
        task_id: &str,
        command: Vec<String>,
        _timeout: Duration,
    ) -> Result<ExecOutput> {
        let task = self.running(task_id)?;
        if command.is_empty() {
            return Err(PluginError::invalid("exec command is empty"));
        }
        Ok(match &task.script.exec_command {
            Some(scripted) => ExecOutput {
                stdout: scripted.stdout_string.clone().into_bytes(),
                stderr: scripted.stderr_string.clone().into_bytes(),
                exit: ExitResult {
                    exit_code: scripted.exit_code,
                    ..Default::default()
                },
            },
            None => ExecOutput {
                stdout: format!("Exec({:?}, {command:?})", task.host.name).into_bytes(),
                ..Default::default()
            },
        })
    }

    /// Replays the one-shot exec's answer as a stream; the input is not read.
    async fn exec_task_streaming(&self, session: ExecSession) -> Result<ExitResult> {
        let out = self
            .exec_task(&session.task_id, session.command, Duration::ZERO)
            .await?;
        if !out.stdout.is_empty() {
            session.output.stdout(out.stdout).await?;
        }
        if !out.stderr.is_empty() {
            session.output.stderr(out.stderr).await?;
        }
        Ok(out.exit)
    }

    async fn recover_task(&self, task: TaskConfig, driver_state: serde_json::Value) -> Result<()> {
        if task.id.is_empty() {
            return Err(PluginError::invalid("handle.config.id is empty"));
        }
        if self.lock().contains_key(&task.id) || self.fault(Fault::ForgetOnRecover) {
            return Ok(());
        }
        let state = DriverState::from_json(&task.id, driver_state)?;
        let started_at = state.started_at();
        match self.insert(task, state.config, started_at, true) {
            // Recovered concurrently by another call: same outcome.
            Err(e) if e.kind == ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    }
}
