//! The task runner: one task of one allocation, from its task directory to its death.
//!
//! Each run goes through the prestart hooks (task directory, log collector, artifacts,
//! environment and driver config: one file each), `StartTask`, `WaitTask`, and the restart policy
//! ([`crate::restarts`]). The driver handle is stored in the client state as soon as the
//! task starts, so a later agent recovers the task (`RecoverTask`) instead of starting it
//! again; a task that exited while the agent was down is reported with its exit code,
//! which the driver kept. State changes are published on a [`watch`] channel that the
//! allocation runner folds into the allocation's client status.

mod artifacts;
mod config;
mod logs;
mod taskdir;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use drover_pluginmgr::ManagedDriver;
use drover_proto::prost::Message;
use drover_proto::v1;
use drover_types::alloc::task_event;
use drover_types::{Allocation, JobType, Task, TaskEvent, TaskState, TaskStateValue};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::allocdir::AllocDir;
use crate::restarts::{
    ExitOutcome, RestartRules, RestartState, RestartTracker, restarts_on_success,
};
use crate::runner::RunnerEnv;
use crate::state::LocalTaskState;

/// How long `WaitTask` keeps being retried through plugin failures.
const WAIT_RETRY_LIMIT: Duration = Duration::from_secs(120);

/// Nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn rfc3339_now() -> String {
    crate::fingerprint::rfc3339(SystemTime::now())
}

/// A task event of `kind` at the current time.
pub(crate) fn new_event(kind: &str) -> TaskEvent {
    TaskEvent {
        kind: kind.to_owned(),
        time: now_ns(),
        ..Default::default()
    }
}

/// What the allocation runner holds of a task runner.
#[derive(Clone)]
pub struct TaskCtl {
    /// The task's name.
    pub name: String,
    /// Its driver's name.
    pub driver: String,
    /// Its latest state.
    pub state: watch::Receiver<TaskState>,
    /// Cancel to kill the task (for good).
    pub kill: CancellationToken,
    /// The event explaining a kill, emitted before `Killing`.
    pub kill_reason: Arc<Mutex<Option<TaskEvent>>>,
    /// Restart requests (`true`: counts as a failure).
    pub restart: mpsc::Sender<bool>,
    /// The driver's ID of the current run.
    pub task_id: Arc<Mutex<Option<String>>>,
}

impl TaskCtl {
    /// Kills the task, recording `reason` as the event before `Killing`.
    pub fn kill_with(&self, reason: Option<TaskEvent>) {
        if let Some(r) = reason
            && let Ok(mut slot) = self.kill_reason.lock()
            && slot.is_none()
        {
            *slot = Some(r);
        }
        self.kill.cancel();
    }

    /// The current driver task ID, while the task runs.
    pub fn task_id(&self) -> Option<String> {
        self.task_id.lock().ok().and_then(|g| g.clone())
    }
}

/// One task's runner; [`TaskRunner::run`] drives it to its end.
pub(crate) struct TaskRunner {
    env: Arc<RunnerEnv>,
    alloc: Arc<Allocation>,
    task: Task,
    job_type: JobType,
    alloc_dir: AllocDir,
    state: watch::Sender<TaskState>,
    changed: Arc<Notify>,
    local: LocalTaskState,
    kill: CancellationToken,
    kill_reason: Arc<Mutex<Option<TaskEvent>>>,
    restart_rx: mpsc::Receiver<bool>,
    task_id: Arc<Mutex<Option<String>>>,
}

/// How one run of the task ended.
enum RunEnd {
    Exited(v1::ExitResult),
    StartFailed {
        recoverable: bool,
    },
    Restart {
        failure: bool,
    },
    Killed(v1::ExitResult),
    /// Killed before the task started.
    Aborted,
}

impl TaskRunner {
    /// A runner for `task`, restored from `local` (the stored state, or default for a
    /// new task). Returns it with the control the allocation runner keeps.
    pub fn new(
        env: Arc<RunnerEnv>,
        alloc: Arc<Allocation>,
        task: Task,
        alloc_dir: AllocDir,
        local: Option<LocalTaskState>,
        changed: Arc<Notify>,
    ) -> (TaskRunner, TaskCtl) {
        let job_type = alloc
            .job
            .as_ref()
            .and_then(|j| j.job_type.as_deref())
            .and_then(JobType::parse)
            .unwrap_or(JobType::Service);
        let local = local.unwrap_or_default();
        let (state, state_rx) = watch::channel(local.state.clone());
        let (restart_tx, restart_rx) = mpsc::channel(4);
        let kill = CancellationToken::new();
        let kill_reason = Arc::new(Mutex::new(None));
        let task_id = Arc::new(Mutex::new(None));
        let ctl = TaskCtl {
            name: task.name.clone(),
            driver: task.driver.clone(),
            state: state_rx,
            kill: kill.clone(),
            kill_reason: kill_reason.clone(),
            restart: restart_tx,
            task_id: task_id.clone(),
        };
        let runner = TaskRunner {
            env,
            alloc,
            task,
            job_type,
            alloc_dir,
            state,
            changed,
            local,
            kill,
            kill_reason,
            restart_rx,
            task_id,
        };
        (runner, ctl)
    }

    fn publish(&mut self, f: impl FnOnce(&mut TaskState)) {
        self.state.send_modify(f);
        self.changed.notify_one();
    }

    fn emit(&mut self, event: TaskEvent) {
        tracing::debug!(
            alloc = %self.alloc.id,
            task = %self.task.name,
            event = %event.kind,
            message = %event.display_message,
            "task event"
        );
        self.publish(|s| {
            s.events.push(event);
            let excess = s
                .events
                .len()
                .saturating_sub(drover_types::alloc::MAX_TASK_EVENTS);
            s.events.drain(..excess);
        });
    }

    async fn persist(&mut self) {
        if let Err(e) = self.try_persist().await {
            tracing::error!(alloc = %self.alloc.id, task = %self.task.name, error = %e, "cannot store the task's state");
        }
    }

    async fn try_persist(&mut self) -> Result<(), crate::state::StateError> {
        self.local.state = self.state.borrow().clone();
        self.env
            .db
            .put_task(&self.alloc.id, &self.task.name, &self.local)
            .await
    }

    fn set_task_id(&self, id: Option<String>) {
        if let Ok(mut slot) = self.task_id.lock() {
            *slot = id;
        }
    }

    fn display(kind: &str, msg: &str) -> String {
        if msg.is_empty() {
            match kind {
                task_event::RECEIVED => "Task received by client".into(),
                task_event::TASK_SETUP => "Building Task Directory".into(),
                task_event::DOWNLOADING_ARTIFACTS => "Client is downloading artifacts".into(),
                task_event::STARTED => "Task started by client".into(),
                task_event::KILLED => "Task successfully killed".into(),
                _ => String::new(),
            }
        } else {
            msg.to_owned()
        }
    }

    fn event(&mut self, kind: &str, msg: &str, f: impl FnOnce(&mut TaskEvent)) {
        let mut e = new_event(kind);
        e.message = msg.to_owned();
        e.display_message = Self::display(kind, msg);
        f(&mut e);
        self.emit(e);
    }

    /// A `Setup Failure` event for `msg`; `fatal` when no restart can help.
    fn setup_failure(&mut self, msg: &str, fatal: bool) {
        self.event(task_event::SETUP_FAILURE, msg, |e| {
            e.setup_error = msg.to_owned();
            e.fails_task = fatal;
        });
    }

    /// Runs the task to its end (or restores it); returns when it is dead.
    pub async fn run(mut self) {
        if self.local.done {
            // Dead before the last agent stopped: nothing to run, only to clean up.
            self.finish_logmon().await;
            return;
        }
        let rules =
            match RestartRules::from_policy(self.task.restart_policy.as_ref(), self.job_type) {
                Ok(r) => r,
                Err(e) => {
                    let msg = format!("invalid restart policy: {} {}", e.field, e.rule);
                    self.setup_failure(&msg, true);
                    return self.dead(true).await;
                }
            };
        let on_success = restarts_on_success(self.job_type, self.task.lifecycle.as_ref());
        let mut tracker = RestartTracker::new(rules, on_success, Instant::now());
        // Restore: a stored handle means the task was started by an earlier agent.
        let mut recovered = match self.local.handle.clone() {
            Some(bytes) => self.recover(&bytes).await,
            None => None,
        };
        if recovered.is_none() && self.state.borrow().events.is_empty() {
            self.event(task_event::RECEIVED, "", |_| {});
        }
        loop {
            let end = match recovered.take() {
                Some((driver, id)) => self.wait(&driver, &id).await,
                None => {
                    if self.kill.is_cancelled() {
                        break;
                    }
                    self.start_and_wait().await
                }
            };
            let outcome = match end {
                RunEnd::Killed(r) => {
                    self.exited_event(&r);
                    self.event(task_event::KILLED, "", |_| {});
                    break;
                }
                RunEnd::Aborted => {
                    self.event(task_event::KILLED, "", |_| {});
                    break;
                }
                RunEnd::Exited(r) => {
                    self.exited_event(&r);
                    ExitOutcome::Exited {
                        exit_code: r.exit_code,
                        signal: r.signal,
                        oom_killed: r.oom_killed,
                    }
                }
                RunEnd::StartFailed { recoverable } => ExitOutcome::StartError { recoverable },
                RunEnd::Restart { failure } => ExitOutcome::RestartRequested { failure },
            };
            let decision = tracker.next(&outcome, Instant::now(), &mut rand::rng());
            match decision.state {
                RestartState::Restarting => {
                    let delay = decision.delay;
                    let reason = decision.reason.clone();
                    self.event(task_event::RESTARTING, "", |e| {
                        e.restart_reason = reason.clone();
                        e.start_delay = i64::try_from(delay.as_nanos()).unwrap_or(i64::MAX);
                        e.display_message = if reason.is_empty() {
                            format!("Task restarting in {delay:?}")
                        } else {
                            format!("{reason} - Task restarting in {delay:?}")
                        };
                    });
                    self.publish(|s| {
                        s.state = TaskStateValue::Pending;
                        s.restarts += 1;
                        s.last_restart = rfc3339_now();
                    });
                    self.persist().await;
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.kill.cancelled() => {
                                break;
                        }
                    }
                }
                RestartState::NotRestarting => {
                    let reason = decision.reason.clone();
                    self.event(task_event::NOT_RESTARTING, &reason, |e| {
                        e.fails_task = true;
                        e.restart_reason = reason.clone();
                    });
                    return self.dead(true).await;
                }
                RestartState::Terminated => return self.dead(false).await,
                RestartState::Killed => {
                    break;
                }
            }
        }
        self.dead(false).await;
    }

    fn exited_event(&mut self, r: &v1::ExitResult) {
        let (code, sig, oom) = (r.exit_code, r.signal, r.oom_killed);
        self.event(task_event::TERMINATED, "", |e| {
            e.exit_code = i64::from(code);
            e.signal = i64::from(sig);
            e.display_message = format!(
                "Exit Code: {code}{}",
                if sig != 0 {
                    format!(", Signal: {sig}")
                } else {
                    String::new()
                }
            );
            if oom {
                e.details.insert("oom_killed".into(), "true".into());
                e.display_message.push_str(", OOM Killed");
            }
        });
    }

    /// Recovers the stored handle; on failure the task starts again.
    async fn recover(&mut self, bytes: &[u8]) -> Option<(ManagedDriver, String)> {
        let handle = match v1::TaskHandle::decode(bytes) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(alloc = %self.alloc.id, task = %self.task.name, error = %e, "stored task handle does not decode");
                return None;
            }
        };
        let id = handle.config.as_ref().map(|c| c.id.clone())?;
        let driver = self.env.drivers.get(&self.task.driver)?;
        match driver.recover_task(handle).await {
            Ok(()) => {
                tracing::info!(alloc = %self.alloc.id, task = %self.task.name, task_id = %id, "task recovered");
                self.set_task_id(Some(id.clone()));
                // A logmon that died with the machine's processes is started again.
                match self.ensure_logmon().await {
                    Ok(()) => self.persist().await,
                    Err(e) => {
                        tracing::warn!(alloc = %self.alloc.id, task = %self.task.name, error = %e, "log collector");
                    }
                }
                Some((driver, id))
            }
            Err(e) => {
                let msg = format!("failed to restore task: {e}");
                self.event(task_event::RESTORE_FAILED, &msg, |ev| {
                    ev.driver_error = msg.clone();
                });
                self.local.handle = None;
                None
            }
        }
    }

    /// The prestart hooks, StartTask, then WaitTask.
    async fn start_and_wait(&mut self) -> RunEnd {
        let Some(driver) = self.env.drivers.get(&self.task.driver) else {
            let msg = format!(
                "driver {:?} is not available on this node (its plugin is not running)",
                self.task.driver
            );
            self.event(task_event::DRIVER_FAILURE, &msg, |e| {
                e.driver_error = msg.clone();
                e.fails_task = true;
            });
            return RunEnd::StartFailed { recoverable: false };
        };
        self.event(task_event::TASK_SETUP, "", |_| {});
        if !self.task.templates.is_empty() {
            let msg = "template blocks are not rendered in this build yet".to_string();
            self.setup_failure(&msg, true);
            return RunEnd::StartFailed { recoverable: false };
        }
        let task_dir = match taskdir::build(&self.alloc_dir, &self.task.name) {
            Ok(d) => d,
            Err(msg) => {
                self.setup_failure(&msg, true);
                return RunEnd::StartFailed { recoverable: false };
            }
        };
        if let Err(msg) = self.ensure_logmon().await {
            self.setup_failure(&msg, false);
            return RunEnd::StartFailed { recoverable: true };
        }
        let caps = driver.capabilities().await.unwrap_or_default();
        let node = self.env.node.borrow().clone();
        if !self.task.artifacts.is_empty() {
            let env =
                match config::task_env(&self.env, &node, &self.alloc, &self.task, &task_dir, &caps)
                {
                    Ok(env) => env,
                    Err(msg) => {
                        self.setup_failure(&msg, true);
                        return RunEnd::StartFailed { recoverable: false };
                    }
                };
            self.event(task_event::DOWNLOADING_ARTIFACTS, "", |_| {});
            let fetched = tokio::select! {
                r = artifacts::fetch_all(
                    &self.env.fetchers,
                    &env,
                    &self.task.artifacts,
                    self.alloc_dir.path(),
                    &task_dir.dir,
                ) => r,
                // A kill does not wait for a long download.
                _ = self.kill.cancelled() => return RunEnd::Aborted,
            };
            if let Err(f) = fetched {
                self.event(task_event::ARTIFACT_DOWNLOAD_FAILED, &f.message, |e| {
                    e.download_error = f.message.clone();
                    e.fails_task = !f.recoverable;
                });
                return RunEnd::StartFailed {
                    recoverable: f.recoverable,
                };
            }
        }
        let cfg = match config::task_config(
            &self.env,
            &node,
            &self.alloc,
            &self.task,
            &self.alloc_dir,
            &task_dir,
            &caps,
        ) {
            Ok(c) => c,
            Err(msg) => {
                self.setup_failure(&msg, true);
                return RunEnd::StartFailed { recoverable: false };
            }
        };
        let id = cfg.id.clone();
        // Recorded before StartTask: an agent killed between the start and the
        // storing of the driver's handle still finds the task in the (surviving)
        // plugin by this provisional handle.
        let provisional = v1::TaskHandle {
            version: drover_proto::TASK_HANDLE_VERSION,
            config: Some(cfg.clone()),
            state: v1::TaskState::Unknown as i32,
            driver_state: Vec::new(),
        };
        self.local.handle = Some(provisional.encode_to_vec());
        if let Err(e) = self.try_persist().await {
            // Started without a record, the task would be orphaned by the next restart.
            self.local.handle = None;
            let msg = format!("cannot record the task on this node before starting it: {e}");
            self.setup_failure(&msg, true);
            return RunEnd::StartFailed { recoverable: false };
        }
        let resp = match driver.start_task(cfg).await {
            Ok(r) => r,
            Err(e) => {
                self.local.handle = None;
                let msg = e.to_string();
                self.event(task_event::DRIVER_FAILURE, &msg, |ev| {
                    ev.driver_error = msg.clone();
                });
                return RunEnd::StartFailed { recoverable: true };
            }
        };
        match v1::StartResult::try_from(resp.result).unwrap_or(v1::StartResult::Fatal) {
            v1::StartResult::Success => {}
            r => {
                self.local.handle = None;
                let msg = resp.driver_error_msg.clone();
                let fatal = r == v1::StartResult::Fatal;
                self.event(task_event::DRIVER_FAILURE, &msg, |ev| {
                    ev.driver_error = msg.clone();
                    ev.fails_task = fatal;
                });
                return RunEnd::StartFailed {
                    recoverable: !fatal,
                };
            }
        }
        self.local.handle = resp.handle.map(|h| h.encode_to_vec());
        self.set_task_id(Some(id.clone()));
        self.event(task_event::STARTED, "", |_| {});
        self.publish(|s| {
            s.state = TaskStateValue::Running;
            if s.started_at.is_empty() {
                s.started_at = rfc3339_now();
            }
        });
        self.persist().await;
        self.wait(&driver, &id).await
    }

    /// Waits for the run to end, or kills/restarts it on request.
    async fn wait(&mut self, driver: &ManagedDriver, id: &str) -> RunEnd {
        if self.state.borrow().state != TaskStateValue::Running {
            self.publish(|s| s.state = TaskStateValue::Running);
        }
        let handle = self.local.handle.clone();
        let end = tokio::select! {
            r = Self::wait_through_failures(driver, id, handle) => match r {
                Ok(r) => RunEnd::Exited(r),
                Err(msg) => {
                    self.event(task_event::DRIVER_FAILURE, &msg, |ev| ev.driver_error = msg.clone());
                    RunEnd::Exited(v1::ExitResult { exit_code: -1, ..Default::default() })
                }
            },
            _ = self.kill.cancelled() => {
                let r = self.stop(driver, id).await;
                RunEnd::Killed(r)
            }
            Some(failure) = self.restart_rx.recv() => {
                self.event(task_event::RESTART_SIGNAL, "User requested running to restart", |_| {});
                self.stop(driver, id).await;
                RunEnd::Restart { failure }
            }
        };
        if let Err(e) = driver.destroy_task(id, true).await {
            tracing::debug!(task_id = %id, error = %e, "destroying the finished task");
        }
        self.set_task_id(None);
        self.local.handle = None;
        end
    }

    /// `WaitTask`, again after a plugin failure: the plugin manager relaunches a dead
    /// plugin and recovers its tasks; a task the new plugin does not know is recovered
    /// from the stored handle. Gives up (with the reason) only after
    /// [`WAIT_RETRY_LIMIT`] of failing calls, so a crashing plugin does not turn into
    /// a restarted task while the old one still runs.
    async fn wait_through_failures(
        driver: &ManagedDriver,
        id: &str,
        handle: Option<Vec<u8>>,
    ) -> Result<v1::ExitResult, String> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(50);
        loop {
            let err = match driver.wait_task(id).await {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            if started.elapsed() > WAIT_RETRY_LIMIT {
                return Err(format!("waiting for the task: {err}"));
            }
            tracing::warn!(task_id = %id, error = %err, "waiting for the task failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
            let unknown = err
                .plugin_error()
                .is_some_and(|p| p.kind == drover_proto::error::ErrorKind::NotFound);
            if unknown
                && let Some(handle) = handle
                    .as_deref()
                    .and_then(|b| v1::TaskHandle::decode(b).ok())
                && let Err(e) = driver.recover_task(handle).await
            {
                return Err(format!(
                    "the driver lost the task and cannot recover it: {e}"
                ));
            }
        }
    }

    /// StopTask with the task's kill timeout and signal, then its exit result.
    async fn stop(&mut self, driver: &ManagedDriver, id: &str) -> v1::ExitResult {
        let reason = self.kill_reason.lock().ok().and_then(|mut g| g.take());
        if let Some(r) = reason {
            self.emit(r);
        }
        let timeout = self
            .task
            .kill_timeout
            .and_then(|d| d.to_std())
            .unwrap_or(Duration::from_secs(5))
            .min(self.env.max_kill_timeout);
        self.event(task_event::KILLING, "", |e| {
            e.kill_timeout =
                drover_types::Duration(i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX));
            e.display_message = format!("Sent interrupt. Waiting {timeout:?} before force killing");
        });
        let signal = self.task.kill_signal.clone();
        if let Err(e) = driver.stop_task(id, timeout, &signal).await {
            tracing::warn!(task_id = %id, error = %e, "stopping the task");
        }
        match tokio::time::timeout(timeout + Duration::from_secs(10), driver.wait_task(id)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::warn!(task_id = %id, error = %e, "waiting for the stopped task");
                v1::ExitResult::default()
            }
            Err(_) => {
                tracing::error!(task_id = %id, "the task did not exit after StopTask");
                v1::ExitResult::default()
            }
        }
    }

    async fn dead(&mut self, failed: bool) {
        self.publish(|s| {
            s.state = TaskStateValue::Dead;
            s.failed = failed;
            s.finished_at = rfc3339_now();
        });
        self.local.done = true;
        self.local.handle = None;
        self.persist().await;
        self.finish_logmon().await;
    }
}
