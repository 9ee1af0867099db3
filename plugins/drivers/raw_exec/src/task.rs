//! One raw_exec task: how its executor spec is built, what the driver keeps
//! about it, what goes into its handle, and one-shot exec inside it.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use drover_plugin_sdk::executor::{ExecSpec, Executor, ExecutorHandle};
use drover_plugin_sdk::{ErrorKind, ExecOutput, ExitResult, PluginError, TaskState, TaskStatus};
use serde::{Deserialize, Serialize};

use crate::config::TaskConfig;

/// What raw_exec puts in a task handle's `driver_state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverState {
    pub executor: ExecutorHandle,
    /// The task's working directory, for `ExecTask` after a recovery.
    pub work_dir: PathBuf,
}

/// A task the driver knows about.
#[derive(Debug)]
pub struct Task {
    pub id: String,
    pub name: String,
    pub env: BTreeMap<String, String>,
    pub work_dir: PathBuf,
    pub executor: Executor,
}

impl Task {
    pub fn new(
        task: &drover_plugin_sdk::TaskConfig,
        work_dir: PathBuf,
        executor: Executor,
    ) -> Task {
        Task {
            id: task.id.clone(),
            name: task.name.clone(),
            env: task
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            work_dir,
            executor,
        }
    }

    pub fn driver_state(&self) -> DriverState {
        DriverState {
            executor: self.executor.handle().clone(),
            work_dir: self.work_dir.clone(),
        }
    }

    pub fn status(&self) -> TaskStatus {
        let handle = self.executor.handle();
        let exit = self.executor.exit();
        TaskStatus {
            id: self.id.clone(),
            name: self.name.clone(),
            // An executor gone without a record leaves the task's fate unknown.
            state: match (exit, self.executor.is_running()) {
                (Some(_), _) => TaskState::Exited,
                (None, true) => TaskState::Running,
                (None, false) => TaskState::Unknown,
            },
            started_at: Some(unix_ms(handle.started_at_unix_ms)),
            completed_at: exit.map(|e| unix_ms(e.finished_at_unix_ms)),
            exit: exit.map(|e| e.result),
            attributes: BTreeMap::from([
                ("pid".to_string(), handle.task_pid.to_string()),
                ("executor_pid".to_string(), handle.executor_pid.to_string()),
            ]),
        }
    }

    /// Run `command` with the task's environment and working directory.
    pub async fn exec(
        &self,
        command: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecOutput, PluginError> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| PluginError::invalid("command is empty"))?;
        let child = tokio::process::Command::new(program)
            .args(args)
            .env_clear()
            .envs(&self.env)
            .current_dir(&self.work_dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                PluginError::invalid(format!("cannot run {program:?} in task {}: {e}", self.id))
            })?;
        let pgid = child.id().and_then(|p| libc::pid_t::try_from(p).ok());
        let output = if timeout.is_zero() {
            child.wait_with_output().await
        } else {
            match tokio::time::timeout(timeout, child.wait_with_output()).await {
                Ok(output) => output,
                Err(_) => {
                    if let Some(pgid) = pgid {
                        // SAFETY: kill has no memory-safety preconditions.
                        unsafe { libc::kill(-pgid, libc::SIGKILL) };
                    }
                    return Err(PluginError::new(
                        ErrorKind::DeadlineExceeded,
                        format!("{program:?} did not finish within {timeout:?}"),
                    ));
                }
            }
        }
        .map_err(|e| PluginError::internal(format!("running {program:?}: {e}")))?;
        Ok(ExecOutput {
            exit: exit_result(&output.status),
            stdout: output.stdout,
            stderr: output.stderr,
        })
    }
}

/// How an exec'd command ended; a signal counts as exit code 128 + signal,
/// as a shell reports it.
pub fn exit_result(status: &std::process::ExitStatus) -> ExitResult {
    match status.signal() {
        Some(signal) => ExitResult {
            exit_code: 128 + signal,
            signal,
            oom_killed: false,
        },
        None => ExitResult {
            exit_code: status.code().unwrap_or(-1),
            ..Default::default()
        },
    }
}

fn unix_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// The executor spec for a task; also creates its task dir.
///
/// Executor files live in `<task dir>/private/executor-<last 8 chars of the
/// task id>`: next to the task (removed with its allocation), distinct for
/// every attempt of the task (each has a new id).
pub fn exec_spec(
    task: &drover_plugin_sdk::TaskConfig,
    config: &TaskConfig,
) -> Result<ExecSpec, PluginError> {
    if task.alloc_dir.is_empty() {
        return Err(PluginError::invalid(format!(
            "task {:?} has no alloc_dir",
            task.id
        )));
    }
    if config.command.trim().is_empty() {
        return Err(PluginError::invalid("config.command: must not be empty"));
    }
    let task_dir = Path::new(&task.alloc_dir).join(&task.name);
    let cwd = match config.work_dir.as_deref() {
        Some(dir) if !dir.is_empty() => task_dir.join(dir),
        _ => task_dir.clone(),
    };
    for dir in [&task_dir, &cwd] {
        std::fs::create_dir_all(dir).map_err(|e| {
            PluginError::new(
                ErrorKind::FailedPrecondition,
                format!("creating {}: {e}", dir.display()),
            )
        })?;
    }
    let suffix: String = {
        let chars: Vec<char> = task
            .id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        chars[chars.len().saturating_sub(8)..].iter().collect()
    };
    let output = |path: &str| {
        if path.is_empty() {
            PathBuf::from("/dev/null")
        } else {
            PathBuf::from(path)
        }
    };
    Ok(ExecSpec {
        command: resolve_command(&task_dir, &config.command),
        args: config.args.clone(),
        env: task
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        cwd,
        stdout_path: output(&task.stdout_path),
        stderr_path: output(&task.stderr_path),
        state_dir: task_dir.join("private").join(format!("executor-{suffix}")),
    })
}

/// Nomad's lookup: a relative path is taken from the task dir; a bare name is
/// looked for in `<task dir>/local/` and the task dir before `PATH`.
fn resolve_command(task_dir: &Path, command: &str) -> String {
    let path = Path::new(command);
    if path.is_absolute() {
        return command.to_string();
    }
    if command.contains('/') {
        return task_dir.join(path).to_string_lossy().into_owned();
    }
    [task_dir.join("local").join(command), task_dir.join(command)]
        .into_iter()
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| command.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_resolve_like_nomad() {
        let dir = tempfile_dir();
        std::fs::create_dir_all(dir.join("local")).expect("mkdir");
        std::fs::write(dir.join("local/tool"), "").expect("write");
        assert_eq!(resolve_command(&dir, "/bin/sh"), "/bin/sh");
        assert_eq!(
            resolve_command(&dir, "tool"),
            dir.join("local/tool").to_string_lossy()
        );
        assert_eq!(resolve_command(&dir, "sh"), "sh");
        assert_eq!(
            resolve_command(&dir, "./run.sh"),
            dir.join("./run.sh").to_string_lossy()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("raw-exec-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }
}
