//! The executor process itself: start one task, report, reap it, record how
//! it ended, exit. Plain blocking code; no async runtime runs here.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{ExecSpec, StartReport, TaskExit, exit_path, now_unix_ms, proc_stats};
use crate::ExitResult;

/// Signals the executor ignores (and resets to default for the task).
const SHIELDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE];

/// Run the executor for the spec on stdin; never returns.
pub(super) fn run() -> ! {
    // SAFETY: setsid, signal and prctl have no memory-safety preconditions.
    unsafe {
        // Fails with EPERM when the launcher already made us a session leader.
        libc::setsid();
        for sig in SHIELDED {
            libc::signal(sig, libc::SIG_IGN);
        }
        // Orphaned descendants of the task are reparented to us and reaped.
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    let code = match run_one_task() {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("drover executor: {message}");
            1
        }
    };
    std::process::exit(code)
}

fn run_one_task() -> Result<(), String> {
    let spec = match read_spec() {
        Ok(spec) => spec,
        Err(e) => return report_failure(e),
    };
    let task = match spawn_task(&spec) {
        Ok(pid) => pid,
        Err(e) => return report_failure(e),
    };
    let start_time = proc_stats::ProcStat::read(task)
        .map(|s| s.start_time)
        .unwrap_or(0);
    report(&StartReport {
        pid: Some(task),
        start_time: Some(start_time),
        started_at_unix_ms: Some(now_unix_ms()),
        error: None,
    })?;
    detach_stdio();
    // Hold no directory of the plugin's busy (it may be unmounted or removed).
    let _ = std::env::set_current_dir("/");

    let pid = libc::pid_t::try_from(task).map_err(|_| format!("task pid {task} out of range"))?;
    let status = reap_until(pid)?;
    // Whatever is left of the task's process group goes with it.
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let exit = TaskExit {
        result: decode_status(status),
        finished_at_unix_ms: now_unix_ms(),
    };
    write_exit(&spec.state_dir, &exit)
}

fn read_spec() -> Result<ExecSpec, String> {
    let mut input = String::new();
    io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("reading the exec spec from stdin: {e}"))?;
    serde_json::from_str(&input).map_err(|e| format!("decoding the exec spec: {e}"))
}

fn open_output(path: &Path, stream: &str) -> Result<File, String> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| format!("opening {stream} {}: {e}", path.display()))
}

/// Start the task as the leader of a new session; returns its pid.
fn spawn_task(spec: &ExecSpec) -> Result<u32, String> {
    match std::fs::metadata(&spec.cwd) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(format!(
                "working directory {} is not a directory",
                spec.cwd.display()
            ));
        }
        Err(e) => return Err(format!("working directory {}: {e}", spec.cwd.display())),
    }
    let stdout = open_output(&spec.stdout_path, "stdout")?;
    let stderr = open_output(&spec.stderr_path, "stderr")?;
    let mut cmd = Command::new(&spec.command);
    cmd.args(&spec.args)
        .env_clear()
        .envs(&spec.env)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    // SAFETY: the closure only calls async-signal-safe functions.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            for sig in SHIELDED {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("failed to start command {:?}: {e}", spec.command))?;
    // Dropping a std Child neither kills nor reaps it: `reap_until` does.
    Ok(child.id())
}

fn report(line: &StartReport) -> Result<(), String> {
    let mut text = serde_json::to_string(line).map_err(|e| format!("encoding report: {e}"))?;
    text.push('\n');
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing the start report: {e}"))
}

fn report_failure(message: String) -> Result<(), String> {
    let _ = report(&StartReport {
        pid: None,
        start_time: None,
        started_at_unix_ms: None,
        error: Some(message.clone()),
    });
    Err(message)
}

/// Point stdin and stdout at /dev/null so the launcher sees EOF and no pipe
/// to a dead plugin is ever written.
fn detach_stdio() {
    if let Ok(null) = OpenOptions::new().read(true).write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 onto the standard descriptors, which we own.
        unsafe {
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(null.as_raw_fd(), 1);
        }
    }
}

/// Reap children (orphans included, as subreaper) until `task` is reaped.
fn reap_until(task: libc::pid_t) -> Result<libc::c_int, String> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == task {
            return Ok(status);
        }
        if pid < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(format!("waiting for task {task}: {e}"));
            }
        }
    }
}

/// Nomad's convention: death by signal N is `signal = N`, `exit_code = 128 + N`.
fn decode_status(status: libc::c_int) -> ExitResult {
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        ExitResult {
            exit_code: 128 + signal,
            signal,
            oom_killed: false,
        }
    } else {
        ExitResult {
            exit_code: libc::WEXITSTATUS(status),
            signal: 0,
            oom_killed: false,
        }
    }
}

/// Write `exit.json` so that a reader sees all of it or nothing (write a
/// temporary file, then rename it over).
///
/// No fsync: the record must outlive the plugin and the agent, which the
/// page cache ensures, not a machine crash, which ends the task too (the
/// client then reports it lost). Two fsyncs cost more than the rest of a
/// short task's start-to-exit path.
fn write_exit(state_dir: &Path, exit: &TaskExit) -> Result<(), String> {
    let path = exit_path(state_dir);
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec(exit).map_err(|e| format!("encoding exit status: {e}"))?;
    let write = || -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(&text)?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exit_codes_and_signals() {
        // Raw wait statuses: exit code in bits 8..16, signal in bits 0..7.
        assert_eq!(decode_status(3 << 8).exit_code, 3);
        assert_eq!(decode_status(3 << 8).signal, 0);
        let killed = decode_status(libc::SIGKILL);
        assert_eq!((killed.exit_code, killed.signal), (137, libc::SIGKILL));
    }
}
