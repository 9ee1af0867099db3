//! The `raw_exec` task driver: runs a command on the host, unisolated, as the
//! agent's user, like Nomad's `raw_exec`.
//!
//! Each task runs under an SDK executor (`drover_plugin_sdk::executor`), so
//! it survives a crash or restart of this plugin and of the agent;
//! `RecoverTask` reattaches to it from the handle's `driver_state`
//! ([`task::DriverState`]). The driver is off until the plugin config says
//! `enabled = true`. Stopping sends the task's whole process group the kill
//! signal (default SIGINT, as Nomad's executor), then SIGKILL after the
//! timeout.

pub mod config;
pub mod exec;
pub mod task;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use drover_plugin_sdk::executor::{self, Executor};
use drover_plugin_sdk::{
    AgentInfo, Attr, Capabilities, Driver, ErrorKind, ExecOutput, ExecSession, ExitResult,
    Fingerprint, FsIsolation, PluginError, PluginMeta, ResourceUsage, Result, StartError,
    StartedTask, TaskStatus, signal,
};
use tokio::sync::watch;
use tokio_stream::Stream;

use crate::config::{PluginConfig, Settings, TaskConfig};
use crate::task::{DriverState, Task};

/// Why the driver does nothing until configured.
pub const DISABLED: &str = "raw_exec is disabled: set enabled = true in its plugin config";
/// Nomad's executor default for `kill_signal`.
const DEFAULT_STOP_SIGNAL: i32 = libc::SIGINT;
/// How long a forced destroy waits for the killed task.
const DESTROY_GRACE: Duration = Duration::from_secs(5);

/// The driver. `RawExec::default()` launches executors from its own binary.
pub struct RawExec {
    executor_program: Option<PathBuf>,
    settings: RwLock<Settings>,
    fingerprint: watch::Sender<Fingerprint>,
    tasks: Mutex<HashMap<String, Arc<Task>>>,
    starting: Mutex<HashSet<String>>,
}

impl Default for RawExec {
    fn default() -> Self {
        RawExec {
            executor_program: None,
            settings: RwLock::new(Settings::default()),
            fingerprint: watch::Sender::new(fingerprint(&Settings::default())),
            tasks: Mutex::new(HashMap::new()),
            starting: Mutex::new(HashSet::new()),
        }
    }
}

impl RawExec {
    /// A driver whose executors are `program` (which must call
    /// `run_if_executor()` or `serve()` first thing), e.g. to run the driver
    /// in-process in tests.
    pub fn with_executor_program(program: impl Into<PathBuf>) -> Self {
        RawExec {
            executor_program: Some(program.into()),
            ..RawExec::default()
        }
    }

    fn task(&self, id: &str) -> Result<Arc<Task>> {
        lock(&self.tasks)
            .get(id)
            .cloned()
            .ok_or_else(|| PluginError::not_found(id))
    }

    async fn launch(&self, spec: &executor::ExecSpec) -> Result<Executor> {
        match &self.executor_program {
            Some(program) => executor::launch_with(program, spec).await,
            None => executor::launch(spec).await,
        }
    }

    /// Refuse what the plugin config forbids.
    fn check_allowed(
        &self,
        task: &drover_plugin_sdk::TaskConfig,
    ) -> std::result::Result<(), StartError> {
        let settings = self.settings.read().unwrap_or_else(PoisonError::into_inner);
        if !settings.enabled {
            return Err(StartError::Fatal(DISABLED.into()));
        }
        if !task.user.is_empty() {
            return Err(StartError::Fatal(format!(
                "raw_exec runs tasks as the agent's user and cannot switch to user {:?}",
                task.user
            )));
        }
        // SAFETY: geteuid/getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if settings.denied_uids.contains(uid) {
            return Err(StartError::Fatal(format!(
                "raw_exec: running tasks as uid {uid} is denied by denied_host_uids"
            )));
        }
        if settings.denied_gids.contains(gid) {
            return Err(StartError::Fatal(format!(
                "raw_exec: running tasks as gid {gid} is denied by denied_host_gids"
            )));
        }
        Ok(())
    }

    async fn start(
        &self,
        task: &drover_plugin_sdk::TaskConfig,
        config: &TaskConfig,
    ) -> std::result::Result<StartedTask, StartError> {
        let spec = task::exec_spec(task, config)?;
        let executor = self.launch(&spec).await?;
        let task = Arc::new(Task::new(task, spec.cwd.clone(), executor));
        let driver_state = serde_json::to_value(task.driver_state())
            .map_err(|e| StartError::Fatal(format!("encoding driver_state: {e}")))?;
        lock(&self.tasks).insert(task.id.clone(), task);
        Ok(StartedTask {
            driver_state,
            network: None,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn fingerprint(settings: &Settings) -> Fingerprint {
    if settings.enabled {
        Fingerprint::healthy("healthy").with_attr("driver.raw_exec", Attr::Bool(true))
    } else {
        Fingerprint::undetected(DISABLED)
    }
}

#[drover_plugin_sdk::tonic::async_trait]
impl Driver for RawExec {
    type Config = PluginConfig;
    type TaskConfig = TaskConfig;

    fn meta(&self) -> PluginMeta {
        PluginMeta {
            name: "raw_exec",
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            send_signals: true,
            exec: true,
            fs_isolation: FsIsolation::None as i32,
            mounts: false,
            disable_log_collection: false,
            recover: true,
        }
    }

    async fn set_config(&self, config: PluginConfig, _agent: AgentInfo) -> Result<()> {
        let settings = Settings::from_config(config)?;
        self.fingerprint.send_replace(fingerprint(&settings));
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = settings;
        Ok(())
    }

    fn fingerprint(&self) -> Pin<Box<dyn Stream<Item = Fingerprint> + Send>> {
        Box::pin(tokio_stream::wrappers::WatchStream::new(
            self.fingerprint.subscribe(),
        ))
    }

    async fn start_task(
        &self,
        task: drover_plugin_sdk::TaskConfig,
        config: TaskConfig,
    ) -> std::result::Result<StartedTask, StartError> {
        self.check_allowed(&task)?;
        let duplicate = || {
            StartError::Invalid(PluginError::new(
                ErrorKind::AlreadyExists,
                format!("task {:?} already exists", task.id),
            ))
        };
        if lock(&self.tasks).contains_key(&task.id) || !lock(&self.starting).insert(task.id.clone())
        {
            return Err(duplicate());
        }
        let result = self.start(&task, &config).await;
        lock(&self.starting).remove(&task.id);
        result
    }

    async fn wait_task(&self, task_id: &str) -> Result<ExitResult> {
        self.task(task_id)?.executor.wait().await
    }

    async fn stop_task(
        &self,
        task_id: &str,
        timeout: Duration,
        signal: Option<&str>,
    ) -> Result<()> {
        let task = self.task(task_id)?;
        let signal = match signal.filter(|s| !s.trim().is_empty()) {
            Some(name) => signal::parse(name)?,
            None => DEFAULT_STOP_SIGNAL,
        };
        task.executor.stop(signal, timeout).await.map(|_| ())
    }

    async fn destroy_task(&self, task_id: &str, force: bool) -> Result<()> {
        let task = self.task(task_id)?;
        if task.executor.is_running() {
            if !force {
                return Err(PluginError::new(
                    ErrorKind::FailedPrecondition,
                    format!(
                        "task {task_id:?} is still running: stop it first or destroy with force"
                    ),
                ));
            }
            task.executor.stop(libc::SIGKILL, DESTROY_GRACE).await?;
        }
        lock(&self.tasks).remove(task_id);
        Ok(())
    }

    async fn inspect_task(&self, task_id: &str) -> Result<TaskStatus> {
        Ok(self.task(task_id)?.status())
    }

    async fn task_stats(&self, task_id: &str) -> Result<ResourceUsage> {
        self.task(task_id)?.executor.stats()
    }

    async fn signal_task(&self, task_id: &str, signal: &str) -> Result<()> {
        let task = self.task(task_id)?;
        task.executor.signal(signal::parse(signal)?)
    }

    async fn exec_task(
        &self,
        task_id: &str,
        command: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecOutput> {
        self.task(task_id)?.exec(command, timeout).await
    }

    async fn exec_task_streaming(&self, session: ExecSession) -> Result<ExitResult> {
        let task = self.task(&session.task_id)?;
        if !task.executor.is_running() {
            return Err(PluginError::new(
                ErrorKind::FailedPrecondition,
                format!("task {:?} is not running", session.task_id),
            ));
        }
        exec::run(&task, session).await
    }

    async fn recover_task(
        &self,
        task: drover_plugin_sdk::TaskConfig,
        driver_state: serde_json::Value,
    ) -> Result<()> {
        if lock(&self.tasks).contains_key(&task.id) {
            return Ok(());
        }
        let state: DriverState = serde_json::from_value(driver_state).map_err(|e| {
            PluginError::invalid(format!(
                "task {:?}: driver_state is not raw_exec's: {e}",
                task.id
            ))
        })?;
        let executor = executor::reattach(&state.executor)?;
        let recovered = Arc::new(Task::new(&task, state.work_dir, executor));
        lock(&self.tasks)
            .entry(task.id.clone())
            .or_insert(recovered);
        Ok(())
    }
}
