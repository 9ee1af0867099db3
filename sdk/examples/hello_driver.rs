//! `hello`: the smallest useful task driver, written as documentation.
//!
//! It runs a task's `command` with `args` as a child process of the plugin,
//! in the task directory, with the task's environment, appending output to
//! the files the host names. It supports signals but declares neither `exec`
//! nor `recover`, so the SDK answers those calls `UNIMPLEMENTED` for it.
//! (A real driver keeps tasks under an executor so they survive the plugin:
//! see `drover_plugin_sdk::executor`.)
//!
//! ```hcl
//! task "hi" {
//!   driver = "hello"
//!   config { command = "/bin/echo"  args = ["hello", "world"] }
//! }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use drover_plugin_sdk::{
    AgentInfo, Attr, Capabilities, Driver, ErrorKind, ExitResult, Fingerprint, PluginError,
    PluginMeta, Result, StartError, StartedTask, TaskConfig, TaskState, TaskStatus, signal,
};
use futures::stream::{self, BoxStream};
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::sync::watch;

/// The plugin's `config { ... }` block.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HelloConfig {
    /// Logged when a task starts.
    greeting: Option<String>,
}

/// A task's `config { ... }` block.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HelloTaskConfig {
    command: String,
    #[serde(default)]
    args: Vec<String>,
}

/// One running (or finished) task.
struct Task {
    name: String,
    pid: i32,
    started_at: SystemTime,
    /// `None` while running; the exit once the child is reaped.
    exit: watch::Receiver<Option<(ExitResult, SystemTime)>>,
}

#[derive(Default)]
struct HelloDriver {
    greeting: Mutex<Option<String>>,
    tasks: Mutex<HashMap<String, Arc<Task>>>,
}

impl HelloDriver {
    fn task(&self, id: &str) -> Result<Arc<Task>> {
        let task = lock(&self.tasks).get(id).cloned();
        task.ok_or_else(|| PluginError::not_found(id))
    }
}

/// A panic elsewhere must not take every later call down with it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Task {
    fn running(&self) -> bool {
        self.exit.borrow().is_none()
    }

    async fn wait(&self) -> ExitResult {
        let mut exit = self.exit.clone();
        match exit.wait_for(Option::is_some).await {
            Ok(done) => done.map(|(result, _)| result).unwrap_or_default(),
            Err(_) => ExitResult::default(), // the reaper is gone: nothing more to learn
        }
    }

    /// Signal the task's whole process group (it leads its own group).
    fn kill(&self, signal: i32) -> Result<()> {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        if unsafe { libc::kill(-self.pid, signal) } == 0 || !self.running() {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        Err(PluginError::internal(format!(
            "cannot signal task {}: {e}",
            self.name
        )))
    }
}

fn append(path: &str) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

#[drover_plugin_sdk::tonic::async_trait]
impl Driver for HelloDriver {
    type Config = HelloConfig;
    type TaskConfig = HelloTaskConfig;

    fn meta(&self) -> PluginMeta {
        PluginMeta {
            name: "hello",
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            send_signals: true,
            ..Default::default()
        }
    }

    async fn set_config(&self, config: HelloConfig, _agent: AgentInfo) -> Result<()> {
        *lock(&self.greeting) = config.greeting;
        Ok(())
    }

    fn fingerprint(&self) -> BoxStream<'static, Fingerprint> {
        let report = Fingerprint::healthy("ready").with_attr("driver.hello", Attr::Bool(true));
        Box::pin(stream::once(async move { report }))
    }

    async fn start_task(
        &self,
        task: TaskConfig,
        config: HelloTaskConfig,
    ) -> std::result::Result<StartedTask, StartError> {
        if lock(&self.tasks).contains_key(&task.id) {
            return Err(StartError::Fatal(format!(
                "task {:?} already exists",
                task.id
            )));
        }
        let dir = Path::new(&task.alloc_dir).join(&task.name);
        let fatal = |what: &str, e: std::io::Error| StartError::Fatal(format!("{what}: {e}"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| fatal(&format!("creating {}", dir.display()), e))?;
        let stdout = append(&task.stdout_path).map_err(|e| fatal(&task.stdout_path, e))?;
        let stderr = append(&task.stderr_path).map_err(|e| fatal(&task.stderr_path, e))?;
        let mut child = tokio::process::Command::new(&config.command)
            .args(&config.args)
            .current_dir(&dir)
            .env_clear() // the task's env is complete; nothing of the plugin's leaks
            .envs(&task.env)
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0) // its own group: signals reach its children too
            .spawn()
            .map_err(|e| fatal(&format!("starting {:?}", config.command), e))?;
        let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) else {
            return Err(StartError::Fatal(format!(
                "{:?} exited at once",
                config.command
            )));
        };
        let (report, exit) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await;
            let result = match status {
                Ok(s) => ExitResult {
                    exit_code: s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
                    signal: s.signal().unwrap_or(0),
                    oom_killed: false,
                },
                Err(_) => ExitResult {
                    exit_code: -1,
                    ..Default::default()
                },
            };
            let _ = report.send(Some((result, SystemTime::now())));
        });
        let greeting = lock(&self.greeting).clone();
        tracing::info!(task = %task.name, pid, greeting, "started");
        let entry = Task {
            name: task.name.clone(),
            pid,
            started_at: SystemTime::now(),
            exit,
        };
        lock(&self.tasks).insert(task.id, Arc::new(entry));
        Ok(StartedTask {
            driver_state: serde_json::json!({ "pid": pid }),
            network: None,
        })
    }

    async fn wait_task(&self, task_id: &str) -> Result<ExitResult> {
        Ok(self.task(task_id)?.wait().await)
    }

    async fn stop_task(&self, task_id: &str, timeout: Duration, sig: Option<&str>) -> Result<()> {
        let task = self.task(task_id)?;
        task.kill(signal::parse(sig.unwrap_or("SIGTERM"))?)?;
        if tokio::time::timeout(timeout, task.wait()).await.is_err() {
            task.kill(libc::SIGKILL)?;
            task.wait().await;
        }
        Ok(())
    }

    async fn destroy_task(&self, task_id: &str, force: bool) -> Result<()> {
        let task = self.task(task_id)?;
        if task.running() {
            if !force {
                let msg = format!("task {task_id:?} is still running; stop it or use force");
                return Err(PluginError::new(ErrorKind::FailedPrecondition, msg));
            }
            task.kill(libc::SIGKILL)?;
            task.wait().await;
        }
        lock(&self.tasks).remove(task_id);
        Ok(())
    }

    async fn inspect_task(&self, task_id: &str) -> Result<TaskStatus> {
        let task = self.task(task_id)?;
        let done = *task.exit.borrow();
        Ok(TaskStatus {
            id: task_id.to_string(),
            name: task.name.clone(),
            state: if done.is_some() {
                TaskState::Exited
            } else {
                TaskState::Running
            },
            started_at: Some(task.started_at),
            completed_at: done.map(|(_, at)| at),
            exit: done.map(|(result, _)| result),
            attributes: BTreeMap::from([("pid".to_string(), task.pid.to_string())]),
        })
    }

    async fn signal_task(&self, task_id: &str, sig: &str) -> Result<()> {
        self.task(task_id)?.kill(signal::parse(sig)?)
    }
}

fn main() {
    drover_plugin_sdk::serve(HelloDriver::default())
}
