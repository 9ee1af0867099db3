//! One fake task: its script, its life as a tokio task, and what callers see.
//!
//! A [`Task`] is the shared view (status, exit, recorded signals); its
//! [`Runner`] is the owned loop that plays the script: it exits at `run_for`,
//! dies `kill_after` a stop signal (or with SIGKILL at the stop timeout),
//! writes the scripted output and fires `plugin_exit_after`. The runner ends
//! when the task exits or the driver shuts down; in the latter case the task
//! is neither running nor exited to anyone, just as when a real plugin dies.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use drover_plugin_sdk::{ErrorKind, ExitResult, PluginError, TaskConfig, TaskState, TaskStatus};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::MockTaskConfig;
use crate::output::{self, OutputPlan};
use crate::sleep_until_opt;
use crate::state::Clock;

/// Called when `plugin_exit_after` fires, with the task id. The binary exits
/// the process with code 1; tests record the call instead.
pub type PluginExitHook = Arc<dyn Fn(&str) + Send + Sync>;

/// How a task ended, as the driver reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    pub result: ExitResult,
    pub at: SystemTime,
    /// Answered by `WaitTask` instead of the result (`exit_err_msg`, or an
    /// output file that could not be written).
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Running,
    Exited(Exit),
}

enum Control {
    Stop { signal: i32, timeout: Duration },
    Kill,
}

/// How a stop ends, decided when the stop signal arrives: the task dies from
/// `signal` after `kill_after`, unless that is longer than `timeout`, in which
/// case it is killed with SIGKILL at the timeout.
pub fn stop_plan(kill_after: Duration, signal: i32, timeout: Duration) -> (Duration, ExitResult) {
    let (after, signal) = if kill_after <= timeout {
        (kill_after, signal)
    } else {
        (timeout, SIGKILL)
    };
    let result = ExitResult {
        signal,
        ..ExitResult::default()
    };
    (after, result)
}

/// SIGKILL is 9 on every platform Drover runs on.
pub const SIGKILL: i32 = 9;

/// A task as the driver's calls see it.
pub struct Task {
    pub host: TaskConfig,
    pub script: MockTaskConfig,
    pub started_at: SystemTime,
    pub recovered: bool,
    phase: watch::Receiver<Phase>,
    control: mpsc::UnboundedSender<Control>,
    signals: Mutex<Vec<String>>,
}

/// What a runner needs from the driver.
pub struct Spawner<'a> {
    pub tracker: &'a TaskTracker,
    pub shutdown: &'a CancellationToken,
    pub plugin_exit: &'a PluginExitHook,
}

impl Task {
    /// Start playing `script`, which started at `started_at` (now for a new
    /// task, earlier for a recovered one).
    pub fn spawn(
        host: TaskConfig,
        script: MockTaskConfig,
        started_at: SystemTime,
        recovered: bool,
        spawner: Spawner<'_>,
    ) -> Arc<Self> {
        let clock = Clock::now();
        let resume_from = recovered.then(|| clock.wall_of(Instant::now()));
        let (phase_tx, phase) = watch::channel(Phase::Running);
        let (control, control_rx) = mpsc::unbounded_channel();
        let plugin_exit = script
            .plugin_exit_after()
            .map(|d| started_at + d)
            .filter(|due| resume_from.is_none_or(|r| *due > r))
            .map(|due| (clock.instant_of(due), Arc::clone(spawner.plugin_exit)));
        let runner = Runner {
            id: host.id.clone(),
            outputs: [
                OutputPlan::new("stdout", &host.stdout_path, script.stdout()),
                OutputPlan::new("stderr", &host.stderr_path, script.stderr()),
            ],
            script: script.clone(),
            clock,
            started_at,
            resume_from,
            control: control_rx,
            plugin_exit,
        };
        let shutdown = spawner.shutdown.clone();
        spawner.tracker.spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                exit = runner.live() => { phase_tx.send_replace(Phase::Exited(exit)); }
            }
        });
        Arc::new(Self {
            host,
            script,
            started_at,
            recovered,
            phase,
            control,
            signals: Mutex::new(Vec::new()),
        })
    }

    pub fn id(&self) -> &str {
        &self.host.id
    }

    pub fn exit(&self) -> Option<Exit> {
        match &*self.phase.borrow() {
            Phase::Running => None,
            Phase::Exited(exit) => Some(exit.clone()),
        }
    }

    pub fn is_running(&self) -> bool {
        self.exit().is_none()
    }

    /// Wait until the task exits.
    pub async fn wait(&self) -> Result<Exit, PluginError> {
        let mut rx = self.phase.clone();
        let phase = rx.wait_for(|p| matches!(p, Phase::Exited(_))).await;
        match phase.as_deref() {
            Ok(Phase::Exited(exit)) => Ok(exit.clone()),
            _ => Err(PluginError::new(
                ErrorKind::Unavailable,
                format!("mock_driver shut down before task {:?} exited", self.id()),
            )),
        }
    }

    /// Send a stop signal and wait for the exit (at most `timeout` later).
    pub async fn stop(&self, signal: i32, timeout: Duration) -> Result<Exit, PluginError> {
        // A runner that already ended has dropped its receiver; the wait
        // below then answers at once.
        let _ = self.control.send(Control::Stop { signal, timeout });
        self.wait().await
    }

    /// Kill at once with SIGKILL and wait for the exit.
    pub async fn kill(&self) -> Result<Exit, PluginError> {
        let _ = self.control.send(Control::Kill);
        self.wait().await
    }

    pub fn record_signal(&self, name: &str) {
        self.lock_signals().push(name.to_string());
    }

    pub fn signals(&self) -> Vec<String> {
        self.lock_signals().clone()
    }

    fn lock_signals(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.signals.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn status(&self) -> TaskStatus {
        let exit = self.exit();
        let attributes = BTreeMap::from([
            ("recovered".to_string(), self.recovered.to_string()),
            ("signals".to_string(), self.signals().join(",")),
        ]);
        TaskStatus {
            id: self.host.id.clone(),
            name: self.host.name.clone(),
            state: if exit.is_some() {
                TaskState::Exited
            } else {
                TaskState::Running
            },
            started_at: Some(self.started_at),
            completed_at: exit.as_ref().map(|e| e.at),
            exit: exit.map(|e| e.result),
            attributes,
        }
    }

    /// How long the task has run (until now, or until it exited).
    pub fn elapsed(&self, now: SystemTime) -> Duration {
        let end = self.exit().map_or(now, |e| e.at);
        end.duration_since(self.started_at).unwrap_or_default()
    }
}

/// The loop that plays one task's script.
struct Runner {
    id: String,
    script: MockTaskConfig,
    outputs: [Option<OutputPlan>; 2],
    clock: Clock,
    started_at: SystemTime,
    resume_from: Option<SystemTime>,
    control: mpsc::UnboundedReceiver<Control>,
    plugin_exit: Option<(Instant, PluginExitHook)>,
}

impl Runner {
    async fn live(mut self) -> Exit {
        let deadline_wall = self.script.run_for().map(|d| self.started_at + d);
        let deadline = deadline_wall.map(|w| self.clock.instant_of(w));
        let outputs = output::run_all(
            std::mem::take(&mut self.outputs),
            self.clock,
            self.started_at,
            self.resume_from,
        );
        tokio::pin!(outputs);
        let mut outputs_done = false;
        let mut control_open = true;
        let mut stopping: Option<(Instant, ExitResult)> = None;
        loop {
            let plugin_exit_at = self.plugin_exit.as_ref().map(|(at, _)| *at);
            tokio::select! {
                () = sleep_until_opt(deadline), if deadline.is_some() => {
                    return Exit {
                        result: ExitResult {
                            exit_code: self.script.exit_code,
                            signal: self.script.exit_signal,
                            oom_killed: false,
                        },
                        // The scripted end, even when a recovered task
                        // learns of it late.
                        at: deadline_wall.unwrap_or_else(|| self.now()),
                        error: self.script.exit_err_msg.clone(),
                    };
                }
                () = sleep_until_opt(stopping.map(|s| s.0)), if stopping.is_some() => {
                    let result = stopping.map(|s| s.1).unwrap_or_default();
                    return self.ended(result, None);
                }
                () = sleep_until_opt(plugin_exit_at), if plugin_exit_at.is_some() => {
                    if let Some((_, hook)) = self.plugin_exit.take() {
                        tracing::warn!(task_id = %self.id, "plugin_exit_after reached: exiting the plugin");
                        hook(&self.id);
                    }
                }
                written = &mut outputs, if !outputs_done => {
                    outputs_done = true;
                    if let Err(e) = written {
                        tracing::warn!(task_id = %self.id, error = %e, "mock task output failed");
                        return self.ended(ExitResult { exit_code: 1, ..Default::default() }, Some(e));
                    }
                }
                control = self.control.recv(), if control_open => match control {
                    Some(Control::Kill) => {
                        let result = ExitResult { signal: SIGKILL, ..Default::default() };
                        return self.ended(result, None);
                    }
                    Some(Control::Stop { signal, timeout }) => {
                        if stopping.is_none() {
                            let (after, result) =
                                stop_plan(self.script.kill_after(), signal, timeout);
                            stopping = Some((Instant::now() + after, result));
                        }
                    }
                    None => control_open = false,
                },
            }
        }
    }

    fn now(&self) -> SystemTime {
        self.clock.wall_of(Instant::now())
    }

    fn ended(&self, result: ExitResult, error: Option<String>) -> Exit {
        Exit {
            result,
            at: self.now(),
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERM: i32 = 15;

    #[test]
    fn stop_plan_escalates_past_the_timeout() {
        let s = Duration::from_secs;
        assert_eq!(stop_plan(s(0), TERM, s(5)), (s(0), sig(TERM)));
        assert_eq!(stop_plan(s(2), TERM, s(5)), (s(2), sig(TERM)));
        assert_eq!(stop_plan(s(5), TERM, s(5)), (s(5), sig(TERM)));
        assert_eq!(stop_plan(s(6), TERM, s(5)), (s(5), sig(9)));
    }

    fn sig(signal: i32) -> ExitResult {
        ExitResult {
            signal,
            ..Default::default()
        }
    }

    fn spawn(script: MockTaskConfig, hook: PluginExitHook) -> (Arc<Task>, CancellationToken) {
        let tracker = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let host = TaskConfig {
            id: "a/web/00000001".into(),
            name: "web".into(),
            ..Default::default()
        };
        let spawner = Spawner {
            tracker: &tracker,
            shutdown: &shutdown,
            plugin_exit: &hook,
        };
        let task = Task::spawn(host, script, SystemTime::now(), false, spawner);
        (task, shutdown)
    }

    fn no_hook() -> PluginExitHook {
        Arc::new(|_| {})
    }

    #[tokio::test(start_paused = true)]
    async fn exits_at_run_for_with_the_scripted_result() {
        let script = MockTaskConfig {
            run_for: Some(crate::duration::GoDuration(Duration::from_secs(3))),
            exit_code: 4,
            ..Default::default()
        };
        let (task, _shutdown) = spawn(script, no_hook());
        let start = Instant::now();
        assert!(task.is_running());
        let exit = task.wait().await.expect("exits");
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        assert_eq!(exit.result.exit_code, 4);
        assert_eq!(exit.at, task.started_at + Duration::from_secs(3));
        assert_eq!(task.status().state, TaskState::Exited);
    }

    #[tokio::test(start_paused = true)]
    async fn plugin_exit_hook_fires_once_on_time() {
        let fired = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&fired);
        let hook: PluginExitHook = Arc::new(move |id| {
            record
                .lock()
                .expect("lock")
                .push((id.to_string(), Instant::now()));
        });
        let script = MockTaskConfig {
            plugin_exit_after: Some(crate::duration::GoDuration(Duration::from_secs(2))),
            run_for: Some(crate::duration::GoDuration(Duration::from_secs(5))),
            ..Default::default()
        };
        let start = Instant::now();
        let (task, _shutdown) = spawn(script, hook);
        task.wait().await.expect("exits");
        let fired = fired.lock().expect("lock").clone();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].0, "a/web/00000001");
        assert_eq!(fired[0].1 - start, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_leaves_waiters_unavailable() {
        let (task, shutdown) = spawn(MockTaskConfig::default(), no_hook());
        shutdown.cancel();
        let e = task.wait().await.expect_err("runner gone");
        assert_eq!(e.kind, ErrorKind::Unavailable);
    }
}
