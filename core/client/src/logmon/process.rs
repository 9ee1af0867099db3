//! Logmon as its own process, so a task's output keeps flowing into its log files while
//! the agent restarts (as Nomad's logmon plugin does).
//!
//! The agent starts `<program> <args…> --logs-dir D --task T --max-files N
//! --max-file-size BYTES --stdout-fifo P --stderr-fifo P` (the `drover` binary's hidden
//! `logmon` subcommand calls [`main`]) in its own session. The process opens both FIFOs,
//! prints `ready` on stdout, and collects until SIGTERM or SIGINT, then drains and exits.
//! Its own errors go to `alloc/logs/.<task>.logmon.err`.
//! The agent records its pid in the client state; a later agent stops it with
//! [`stop`] once the task is dead for good.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use super::{LogMon, LogMonConfig};

/// How long a new logmon may take to open its FIFOs.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The command that runs a logmon process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogmonCommand {
    /// The executable (the `drover` binary).
    pub program: PathBuf,
    /// Arguments before the logmon flags (`["logmon"]`).
    pub args: Vec<String>,
}

/// Starts a logmon process for `cfg` and waits until it reads its FIFOs. Returns its pid.
pub async fn spawn(cmd: &LogmonCommand, cfg: &LogMonConfig) -> Result<u32, String> {
    let err_path = cfg.logs_dir.join(format!(".{}.logmon.err", cfg.task));
    let errors = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&err_path)
        .map(Stdio::from)
        .map_err(|e| format!("cannot open {}: {e}", err_path.display()))?;
    let mut c = tokio::process::Command::new(&cmd.program);
    c.args(&cmd.args)
        .arg("--logs-dir")
        .arg(&cfg.logs_dir)
        .arg("--task")
        .arg(&cfg.task)
        .arg("--max-files")
        .arg(cfg.max_files.to_string())
        .arg("--max-file-size")
        .arg(cfg.max_file_size.to_string())
        .arg("--stdout-fifo")
        .arg(&cfg.stdout_fifo)
        .arg("--stderr-fifo")
        .arg(&cfg.stderr_fifo)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Not the agent's stderr: the collector outlives the agent, and holding the
        // agent's output pipe open would keep whoever reads it waiting.
        .stderr(errors)
        .kill_on_drop(false);
    // SAFETY: setsid is async-signal-safe and has no memory-safety preconditions. Its own
    // session keeps the collector out of the agent's process group and signals.
    unsafe {
        c.as_std_mut().pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = c.spawn().map_err(|e| {
        format!(
            "cannot start the log collector {}: {e}",
            cmd.program.display()
        )
    })?;
    let pid = child.id().unwrap_or(0);
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(READY_TIMEOUT, lines.next_line()).await;
    // Reap it whenever it ends, so it never lingers as a zombie of this agent.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    match ready {
        Ok(Ok(Some(line))) if line.trim() == "ready" => Ok(pid),
        Ok(Ok(other)) => {
            kill(pid, libc::SIGKILL);
            Err(format!(
                "the log collector exited before it was ready (said {other:?})"
            ))
        }
        Ok(Err(e)) => {
            kill(pid, libc::SIGKILL);
            Err(format!("reading the log collector's output: {e}"))
        }
        Err(_) => {
            kill(pid, libc::SIGKILL);
            Err(format!(
                "the log collector did not open its FIFOs within {READY_TIMEOUT:?}"
            ))
        }
    }
}

fn kill(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid)
        && pid > 0
    {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Whether `pid` is a live (not zombie) process.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Stops the logmon `pid` (SIGTERM, then SIGKILL after `grace`) and waits until it is
/// gone. A pid that is not running is fine.
pub async fn stop(pid: u32, grace: Duration) {
    if !alive(pid) {
        return;
    }
    kill(pid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    let mut step = Duration::from_millis(1);
    while alive(pid) {
        if Instant::now() >= deadline {
            kill(pid, libc::SIGKILL);
            break;
        }
        tokio::time::sleep(step).await;
        step = (step * 2).min(Duration::from_millis(50));
    }
}

fn parse(args: &[OsString]) -> Result<LogMonConfig, String> {
    let mut cfg = LogMonConfig {
        logs_dir: PathBuf::new(),
        task: String::new(),
        max_files: 10,
        max_file_size: 10 * super::MB,
        stdout_fifo: PathBuf::new(),
        stderr_fifo: PathBuf::new(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let flag = flag.to_string_lossy();
        let value = it
            .next()
            .ok_or_else(|| format!("flag {flag} needs a value"))?;
        let text = || value.to_string_lossy().into_owned();
        let number = |what: &str| {
            text()
                .parse::<u64>()
                .map_err(|_| format!("{what}: expected a number, found {:?}", text()))
        };
        match flag.as_ref() {
            "--logs-dir" => cfg.logs_dir = PathBuf::from(value),
            "--task" => cfg.task = text(),
            "--max-files" => {
                cfg.max_files = usize::try_from(number("--max-files")?).unwrap_or(usize::MAX);
            }
            "--max-file-size" => cfg.max_file_size = number("--max-file-size")?,
            "--stdout-fifo" => cfg.stdout_fifo = PathBuf::from(value),
            "--stderr-fifo" => cfg.stderr_fifo = PathBuf::from(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    for (name, empty) in [
        ("--logs-dir", cfg.logs_dir.as_os_str().is_empty()),
        ("--task", cfg.task.is_empty()),
        ("--stdout-fifo", cfg.stdout_fifo.as_os_str().is_empty()),
        ("--stderr-fifo", cfg.stderr_fifo.as_os_str().is_empty()),
    ] {
        if empty {
            return Err(format!("missing {name}"));
        }
    }
    if cfg.max_files == 0 || cfg.max_file_size == 0 {
        return Err("--max-files and --max-file-size must be at least 1".into());
    }
    Ok(cfg)
}

/// The logmon process: collects until SIGTERM/SIGINT. `args` are the flags only.
pub fn main(args: &[OsString]) -> ExitCode {
    let cfg = match parse(args) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("logmon: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("logmon: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int), Ok(_hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            // The agent's terminal going away must not end the collector.
            signal(SignalKind::hangup()),
        ) else {
            eprintln!("logmon: cannot install signal handlers");
            return ExitCode::FAILURE;
        };
        let stop = CancellationToken::new();
        let logmon = LogMon::new(cfg);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let run = tokio::spawn(logmon.run_notify(stop.clone(), ready_tx));
        match ready_rx.await {
            Ok(()) => {
                use std::io::Write;
                let mut out = std::io::stdout();
                let _ = writeln!(out, "ready");
                let _ = out.flush();
            }
            Err(_) => {
                return match run.await {
                    Ok(Err(e)) => {
                        eprintln!("logmon: {e}");
                        ExitCode::FAILURE
                    }
                    _ => ExitCode::FAILURE,
                };
            }
        }
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        stop.cancel();
        match run.await {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(e)) => {
                eprintln!("logmon: {e}");
                ExitCode::FAILURE
            }
            Err(_) => ExitCode::FAILURE,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn flags_parse_and_errors_name_the_flag() {
        let cfg = parse(&os(&[
            "--logs-dir",
            "/a/logs",
            "--task",
            "web",
            "--max-files",
            "3",
            "--max-file-size",
            "1024",
            "--stdout-fifo",
            "/a/o",
            "--stderr-fifo",
            "/a/e",
        ]))
        .unwrap();
        assert_eq!(cfg.max_files, 3);
        assert_eq!(cfg.max_file_size, 1024);
        assert_eq!(cfg.task, "web");
        let e = parse(&os(&["--task", "web", "--max-files", "x"])).unwrap_err();
        assert!(e.contains("--max-files"), "{e}");
        let e = parse(&os(&["--task", "web"])).unwrap_err();
        assert!(e.contains("--logs-dir"), "{e}");
    }
}
