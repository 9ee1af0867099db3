//! The executor: a small long-lived process that owns one task's process.
//!
//! Why: a task of a process-based driver must outlive its driver plugin (and
//! the agent) and stay recoverable. If the plugin were the task's parent, a
//! plugin crash would leave the task unreaped and its exit status lost. So
//! each task is started by its own executor, which is the plugin binary
//! re-executed with `argv[1] =` [`EXECUTOR_ARG`]: [`run_if_executor`] (which
//! [`crate::serve`] calls first thing) recognises that and runs the executor
//! instead of the plugin.
//!
//! The executor (see `process.rs`):
//! - lives in its own session (`setsid`), ignores SIGINT/SIGTERM/SIGHUP/SIGPIPE,
//!   so signals aimed at the plugin's or agent's process group never reach it;
//! - reads its [`ExecSpec`] as JSON on stdin, starts the task as a session
//!   leader (task pid = its process group and session id) with exactly
//!   `spec.env`, `spec.cwd`, stdin `/dev/null`, stdout/stderr opened for
//!   append (files or FIFOs);
//! - answers one JSON line on stdout (`{"pid":..}` or `{"error":".."}`) and
//!   closes it; its own diagnostics go to `<state_dir>/executor.log`;
//! - reaps the task (and, as a child subreaper, any orphaned descendants),
//!   SIGKILLs what is left of the task's process group when the task's main
//!   process exits, writes `<state_dir>/exit.json` atomically and exits.
//!
//! The plugin side ([`launch`], [`reattach`], [`Executor`]) learns of the
//! exit without polling: from the executor child's own wait when it launched
//! it, from a pidfd after a reattach. The [`ExecutorHandle`] is plain data a
//! driver stores in its task handle; a different process (the relaunched
//! plugin) passes it to [`reattach`]. Pid reuse is guarded by comparing the
//! executor's and task's start times (`/proc/<pid>/stat` field 22).
//!
//! Exit status convention (Nomad's): a normal exit reports `exit_code` and
//! `signal = 0`; a death by signal `N` reports `signal = N` and
//! `exit_code = 128 + N`, as a shell would.

mod handle;
mod pidfd;
mod proc_stats;
mod process;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ExitResult;

pub use handle::{Executor, launch, launch_with, reattach};

/// `argv[1]` that turns a plugin binary into an executor.
pub const EXECUTOR_ARG: &str = "__drover-executor";

/// File in [`ExecSpec::state_dir`] holding the task's [`TaskExit`].
pub const EXIT_FILE: &str = "exit.json";

/// File in [`ExecSpec::state_dir`] the executor writes its own diagnostics to.
pub const LOG_FILE: &str = "executor.log";

/// What to run, and where.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecSpec {
    /// Program path, or a bare name looked up in `env["PATH"]` (or
    /// `/bin:/usr/bin` when the task's env has no `PATH`).
    pub command: String,
    pub args: Vec<String>,
    /// The task's complete environment: nothing is inherited.
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    /// Opened write-only for append, created when missing; may be FIFOs.
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    /// The executor's own files (exit status, log); created if missing.
    pub state_dir: PathBuf,
}

/// Everything needed to find a running executor again. Serializable; drivers
/// put it in their task handle's `driver_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorHandle {
    pub executor_pid: u32,
    /// Start time of the executor in clock ticks since boot (guards pid reuse).
    pub executor_start_time: u64,
    /// The task's pid, also its process group and session id.
    pub task_pid: u32,
    pub task_start_time: u64,
    pub state_dir: PathBuf,
    pub started_at_unix_ms: u64,
}

/// The content of `<state_dir>/exit.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskExit {
    #[serde(flatten)]
    pub result: ExitResult,
    pub finished_at_unix_ms: u64,
}

/// If this process was started as an executor, run it and exit; otherwise
/// return at once. [`crate::serve`] calls it first thing; a binary used with
/// [`launch_with`] must call it before anything else in `main`.
pub fn run_if_executor() {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == EXECUTOR_ARG)
    {
        process::run()
    }
}

fn exit_path(state_dir: &Path) -> PathBuf {
    state_dir.join(EXIT_FILE)
}

fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The one line the executor answers on stdout.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartReport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_at_unix_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}
