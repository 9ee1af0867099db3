//! The plugin's side of an executor: launch one, reattach to one, and wait
//! for, signal, stop and measure its task.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::proc_stats::{CpuSampler, ProcStat, live_start_time};
use super::{
    EXECUTOR_ARG, ExecSpec, ExecutorHandle, LOG_FILE, StartReport, TaskExit, exit_path, pidfd,
};
use crate::{ErrorKind, ExitResult, PluginError, ResourceUsage};

/// How long an executor may take to report that its task started (opening a
/// FIFO blocks until its reader is there).
const REPORT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Executor::stop`] waits after SIGKILL before giving up.
const KILL_GRACE: Duration = Duration::from_secs(10);

type Outcome = Option<Result<TaskExit, PluginError>>;

/// One task under its executor. Cheap to clone; clones share one monitor.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    handle: ExecutorHandle,
    outcome: watch::Receiver<Outcome>,
    monitor: AbortHandle,
    cpu: Mutex<CpuSampler>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The executor and its task keep running; only our watcher stops.
        self.monitor.abort();
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("handle", &self.inner.handle)
            .finish_non_exhaustive()
    }
}

/// Start `spec` under an executor that is this very binary re-executed (its
/// `main` must reach [`super::run_if_executor`], as [`crate::serve`] does).
pub async fn launch(spec: &ExecSpec) -> Result<Executor, PluginError> {
    let program = std::env::current_exe()
        .map_err(|e| PluginError::internal(format!("finding the executor binary: {e}")))?;
    launch_with(&program, spec).await
}

/// Like [`launch`], with an explicit executor binary (tests, or a driver
/// whose executor is a different program).
pub async fn launch_with(program: &Path, spec: &ExecSpec) -> Result<Executor, PluginError> {
    let state_dir = &spec.state_dir;
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        PluginError::internal(format!("{what} {}: {e}", state_dir.display()))
    };
    std::fs::create_dir_all(state_dir).map_err(|e| fail("creating executor state dir", &e))?;
    // Absolute, so the handle means the same from any working directory.
    let state_dir = &std::fs::canonicalize(state_dir).map_err(|e| fail("resolving", &e))?;
    let spec = &ExecSpec {
        state_dir: state_dir.clone(),
        ..spec.clone()
    };
    match std::fs::remove_file(exit_path(state_dir)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(fail("clearing a stale exit status in", &e));
        }
        _ => {}
    }
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(state_dir.join(LOG_FILE))
        .map_err(|e| fail("opening the executor log in", &e))?;
    let input = serde_json::to_vec(spec)
        .map_err(|e| PluginError::internal(format!("encoding exec spec: {e}")))?;

    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(EXECUTOR_ARG)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(log);
    // SAFETY: setsid is async-signal-safe. Its own session from the first
    // instruction: signals to the plugin's group or session never reach it.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| {
        PluginError::internal(format!("starting executor {}: {e}", program.display()))
    })?;
    let executor_pid = child
        .id()
        .ok_or_else(|| PluginError::internal("executor exited at once"))?;
    // Our unreaped child: its /proc entry is there even if it already died.
    let executor_start_time = ProcStat::read(executor_pid)
        .map(|s| s.start_time)
        .unwrap_or(0);

    let report = async {
        let mut stdin = child.stdin.take().ok_or("no stdin pipe")?;
        stdin.write_all(&input).await.map_err(|e| e.to_string())?;
        drop(stdin);
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(line)
    };
    let line = match tokio::time::timeout(REPORT_TIMEOUT, report).await {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => return Err(abandon(child, state_dir, &format!("talking to it: {e}")).await),
        Err(_) => {
            let why = format!("no start report within {REPORT_TIMEOUT:?}");
            return Err(abandon(child, state_dir, &why).await);
        }
    };
    let report: StartReport = match serde_json::from_str(line.trim()) {
        Ok(r) => r,
        Err(_) if line.is_empty() => {
            return Err(abandon(child, state_dir, "it exited without a start report").await);
        }
        Err(_) => {
            let why = format!(
                "it answered {:?} instead of a start report (does the binary's main call \
                 serve() or run_if_executor() first?)",
                line.trim()
            );
            return Err(abandon(child, state_dir, &why).await);
        }
    };
    let (task_pid, task_start_time, started_at_unix_ms) =
        match (report.pid, report.start_time, report.started_at_unix_ms) {
            (Some(pid), Some(start), Some(at)) => (pid, start, at),
            _ => {
                let _ = child.wait().await;
                let message = report
                    .error
                    .unwrap_or_else(|| "executor sent an incomplete start report".into());
                return Err(PluginError::new(ErrorKind::FailedPrecondition, message));
            }
        };

    let handle = ExecutorHandle {
        executor_pid,
        executor_start_time,
        task_pid,
        task_start_time,
        state_dir: state_dir.clone(),
        started_at_unix_ms,
    };
    let dir = state_dir.clone();
    Ok(Executor::watch(handle, async move {
        // Reaps the executor: no zombie is left behind.
        let _ = child.wait().await;
        read_exit(&dir)
    }))
}

/// Kill a misbehaving executor, reap it and explain.
async fn abandon(mut child: tokio::process::Child, state_dir: &Path, why: &str) -> PluginError {
    let _ = child.start_kill();
    let _ = child.wait().await;
    let log = std::fs::read_to_string(state_dir.join(LOG_FILE)).unwrap_or_default();
    let tail: String = log.lines().last().unwrap_or("").chars().take(300).collect();
    let mut message = format!("executor failed: {why}");
    if !tail.is_empty() {
        message.push_str(&format!(" (executor log: {tail})"));
    }
    PluginError::internal(message)
}

/// Find the executor of `handle` again, from any process. Needs a tokio
/// runtime. An executor that is already gone is fine: its recorded exit
/// status becomes the result.
pub fn reattach(handle: &ExecutorHandle) -> Result<Executor, PluginError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(PluginError::internal(
            "executor reattach needs a tokio runtime",
        ));
    }
    let dir = handle.state_dir.clone();
    let pid = handle.executor_pid;
    let same = |pid| live_start_time(pid) == Some(handle.executor_start_time);
    let fd = match pidfd::open(pid) {
        // Checked after opening: the pidfd pins this very process.
        Ok(fd) if same(pid) => fd,
        Ok(_) => {
            return Ok(Executor::watch(
                handle.clone(),
                async move { read_exit(&dir) },
            ));
        }
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
            return Ok(Executor::watch(
                handle.clone(),
                async move { read_exit(&dir) },
            ));
        }
        Err(e) => {
            return Err(PluginError::internal(format!(
                "watching executor {pid} (pidfd_open needs Linux 5.3+): {e}"
            )));
        }
    };
    Ok(Executor::watch(handle.clone(), async move {
        pidfd::exited(fd)
            .await
            .map_err(|e| PluginError::internal(format!("watching executor {pid}: {e}")))?;
        read_exit(&dir)
    }))
}

/// The recorded exit status, or why there is none.
fn read_exit(state_dir: &Path) -> Result<TaskExit, PluginError> {
    let path = exit_path(state_dir);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PluginError::internal(format!(
                "executor exited without recording the task's exit status (see {})",
                state_dir.join(LOG_FILE).display()
            )));
        }
        Err(e) => {
            return Err(PluginError::internal(format!(
                "reading {}: {e}",
                path.display()
            )));
        }
    };
    serde_json::from_slice(&text)
        .map_err(|e| PluginError::internal(format!("decoding {}: {e}", path.display())))
}

impl Executor {
    /// Spawn the monitor that publishes the outcome of `exited`.
    fn watch(
        handle: ExecutorHandle,
        exited: impl Future<Output = Result<TaskExit, PluginError>> + Send + 'static,
    ) -> Executor {
        let (tx, rx) = watch::channel(None);
        let monitor = tokio::spawn(async move {
            let _ = tx.send(Some(exited.await));
        });
        Executor {
            inner: Arc::new(Inner {
                handle,
                outcome: rx,
                monitor: monitor.abort_handle(),
                cpu: Mutex::new(CpuSampler::default()),
            }),
        }
    }

    pub fn handle(&self) -> &ExecutorHandle {
        &self.inner.handle
    }

    /// The task's exit status and time, once it exited.
    pub fn exit(&self) -> Option<TaskExit> {
        self.inner.outcome.borrow().as_ref()?.as_ref().ok().copied()
    }

    /// `Some` once the task exited.
    pub fn exit_result(&self) -> Option<ExitResult> {
        self.exit().map(|e| e.result)
    }

    /// True until the executor is known to be gone.
    pub fn is_running(&self) -> bool {
        self.inner.outcome.borrow().is_none()
    }

    /// Wait until the task exited. Callable many times, concurrently.
    pub async fn wait(&self) -> Result<ExitResult, PluginError> {
        self.wait_exit().await.map(|e| e.result)
    }

    /// Like [`Executor::wait`], with the time of the exit.
    pub async fn wait_exit(&self) -> Result<TaskExit, PluginError> {
        let mut rx = self.inner.outcome.clone();
        let outcome = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| PluginError::internal("executor monitor stopped"))?;
        match outcome.as_ref() {
            Some(result) => result.clone(),
            None => Err(PluginError::internal("executor monitor stopped")),
        }
    }

    /// Send `signal` to the task's whole process group.
    pub fn signal(&self, signal: i32) -> Result<(), PluginError> {
        let h = &self.inner.handle;
        let exited = || {
            PluginError::new(
                ErrorKind::FailedPrecondition,
                format!("task (pid {}) has already exited", h.task_pid),
            )
        };
        // While the executor lives the task's main process is unreaped, so
        // its pid (= the group id) cannot have been reused.
        if !self.is_running() {
            return Err(exited());
        }
        let pgid = libc::pid_t::try_from(h.task_pid)
            .map_err(|_| PluginError::internal(format!("task pid {} out of range", h.task_pid)))?;
        // SAFETY: kill has no memory-safety preconditions.
        if unsafe { libc::kill(-pgid, signal) } < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ESRCH) {
                return Err(exited());
            }
            return Err(PluginError::internal(format!(
                "sending signal {signal} to task group {pgid}: {e}"
            )));
        }
        Ok(())
    }

    /// Send `signal` to the task's group; if it has not exited after
    /// `timeout`, SIGKILL the group. Returns the exit status.
    pub async fn stop(&self, signal: i32, timeout: Duration) -> Result<ExitResult, PluginError> {
        if let Some(result) = self.exit_result() {
            return Ok(result);
        }
        let _ = self.signal(signal);
        if let Ok(result) = tokio::time::timeout(timeout, self.wait()).await {
            return result;
        }
        let _ = self.signal(libc::SIGKILL);
        tokio::time::timeout(KILL_GRACE, self.wait())
            .await
            .map_err(|_| {
                PluginError::new(
                    ErrorKind::DeadlineExceeded,
                    format!(
                        "task (pid {}) still running {KILL_GRACE:?} after SIGKILL",
                        self.inner.handle.task_pid
                    ),
                )
            })?
    }

    /// CPU and memory of every process in the task's session, read from
    /// `/proc`. CPU percent is relative to the previous call on this
    /// executor (shared by clones); 0 on the first.
    pub fn stats(&self) -> Result<ResourceUsage, PluginError> {
        let mut cpu = self
            .inner
            .cpu
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(cpu.sample(self.inner.handle.task_pid))
    }

    /// The directory holding `exit.json` and `executor.log`.
    pub fn state_dir(&self) -> &PathBuf {
        &self.inner.handle.state_dir
    }
}
