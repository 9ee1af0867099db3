//! Launching a plugin: spawn, read the handshake line, connect, check health,
//! ask `PluginInfo`. Any failure kills and reaps the child and removes its
//! private socket directory; so does dropping the launch future midway.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use drover_proto::handshake::{
    HandshakeLine, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, PROTOCOL_VERSIONS_KEY, SOCKET_DIR_KEY,
};
use tokio::io::BufReader;
use tokio::process::ChildStdout;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::command::{LaunchOptions, PluginCommand};
use crate::connect;
use crate::error::{Error, StderrTail};
use crate::os::{ProcHandle, proc_start_time};
use crate::process::PluginProcess;
use crate::stderr::{StderrLog, read_capped_line};

/// Time given to the stderr reader to drain after an early exit.
const STDERR_DRAIN: Duration = Duration::from_secs(1);

/// Kills the child and removes the socket directory unless disarmed.
struct Cleanup {
    dir: Option<PathBuf>,
    proc: Option<ProcHandle>,
    /// Cancels the process's tasks; `None` once disarmed.
    cancel: Option<CancellationToken>,
}

impl Cleanup {
    /// Kill, wait until the child is reaped, remove the directory.
    async fn run(mut self) {
        if let Some(proc) = self.proc.take() {
            proc.signal(libc::SIGKILL);
            if !proc.exited_within(Duration::from_secs(5)).await {
                tracing::warn!(pid = proc.pid(), "plugin still there 5s after SIGKILL");
            }
        }
        // Drop does the rest.
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            connect::remove_dir(&dir);
        }
        match self.proc.take() {
            // Its reaper task (left running) reaps it; the readers see EOF.
            Some(proc) => proc.signal(libc::SIGKILL),
            None => {
                if let Some(cancel) = self.cancel.take() {
                    cancel.cancel();
                }
            }
        }
    }
}

impl PluginProcess {
    /// Start `cmd` as a plugin and complete the handshake within
    /// `opts.start_timeout`.
    pub async fn launch(cmd: &PluginCommand, opts: &LaunchOptions) -> Result<Self, Error> {
        let label = cmd.label();
        let deadline = Instant::now() + opts.start_timeout;
        let root = opts.socket_root.clone().unwrap_or_else(std::env::temp_dir);
        let dir = connect::private_dir(&root).map_err(|reason| Error::SocketDir {
            plugin: label.clone(),
            reason,
        })?;
        let cancel = CancellationToken::new();
        let mut cleanup = Cleanup {
            dir: Some(dir.clone()),
            proc: None,
            cancel: Some(cancel.clone()),
        };

        let mut command = tokio::process::Command::new(&cmd.path);
        command
            .args(&cmd.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own process group: a Ctrl-C at the host's terminal is not for it.
            .process_group(0)
            // Extra variables first: the protocol's own always win.
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .env(
                PROTOCOL_VERSIONS_KEY,
                join_versions(&opts.protocol_versions),
            )
            .env(SOCKET_DIR_KEY, &dir);
        match opts.cookie.as_deref() {
            None => command.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            Some("") => command.env_remove(MAGIC_COOKIE_KEY),
            Some(cookie) => command.env(MAGIC_COOKIE_KEY, cookie),
        };
        let mut child = command.spawn().map_err(|source| Error::Spawn {
            plugin: label.clone(),
            path: cmd.path.clone(),
            source,
        })?;
        let pid = child.id().unwrap_or(0);
        let start_time = proc_start_time(pid).map(|(t, _)| t).unwrap_or(0);
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let tracker = TaskTracker::new();
        let proc = ProcHandle::from_child(child, &tracker, cancel.clone());
        cleanup.proc = Some(proc.clone());
        tracing::debug!(plugin = %label, pid, "plugin process started");

        let log = StderrLog::new(&cmd.path.display().to_string());
        let mut stderr_task = stderr.map(|s| tracker.spawn(log.clone().run(s, cancel.clone())));
        let Some(stdout) = stdout else {
            cleanup.run().await;
            return Err(Error::Process {
                plugin: label,
                reason: "no stdout pipe".into(),
            });
        };
        let mut stdout = BufReader::new(stdout);

        let line = read_handshake(&mut stdout, &proc, deadline).await;
        let line = match line {
            Ok(line) => line,
            Err(Early::Exited(status)) => {
                drain(&mut stderr_task).await;
                cleanup.run().await;
                return Err(Error::ExitedEarly {
                    plugin: label,
                    status,
                    stderr: StderrTail(log.tail()),
                });
            }
            Err(Early::Timeout) => {
                cleanup.run().await;
                drain(&mut stderr_task).await;
                return Err(Error::HandshakeTimeout {
                    plugin: label,
                    timeout: opts.start_timeout,
                    stderr: StderrTail(log.tail()),
                });
            }
        };
        let parsed = match line.trim().parse::<HandshakeLine>() {
            Ok(parsed) => parsed,
            Err(e) => {
                cleanup.run().await;
                return Err(Error::bad_handshake(&label, line.trim_end(), &e));
            }
        };
        if !opts.protocol_versions.contains(&parsed.app_version) {
            cleanup.run().await;
            return Err(Error::VersionMismatch {
                plugin: label,
                plugin_version: parsed.app_version,
                host: opts.protocol_versions.clone(),
            });
        }
        tracker.spawn(drain_stdout(stdout, log.clone(), cancel.clone()));

        let socket = PathBuf::from(&parsed.address);
        let remaining = deadline.saturating_duration_since(Instant::now());
        let channel = match connect::connect_unix(&socket, remaining).await {
            Ok(channel) => channel,
            Err(reason) => {
                cleanup.run().await;
                return Err(Error::Connect {
                    plugin: label,
                    socket,
                    reason,
                });
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if let Err(reason) = connect::check_health(channel.clone(), remaining).await {
            cleanup.run().await;
            return Err(Error::Unhealthy {
                plugin: label,
                reason,
            });
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let info = match Self::fetch_info(&channel, &label, remaining).await {
            Ok(info) => info,
            Err(e) => {
                cleanup.run().await;
                return Err(e);
            }
        };
        let label = Self::quoted_name(&info);
        log.set_name(&info.name);
        tracing::info!(plugin = %info.name, version = %info.version, pid, socket = %socket.display(), "plugin launched");

        cleanup.proc = None;
        cleanup.dir = None;
        cleanup.cancel = None;
        let guard = cancel.clone().drop_guard();
        Ok(Self {
            label,
            path: cmd.path.clone(),
            info,
            protocol_version: parsed.app_version,
            socket,
            socket_dir: Some(dir),
            start_time,
            proc,
            channel,
            stderr: Some(log),
            cancel,
            tracker,
            _guard: guard,
        })
    }
}

enum Early {
    Exited(String),
    Timeout,
}

/// The first stdout line, unless the process exits or the deadline passes first.
async fn read_handshake(
    stdout: &mut BufReader<ChildStdout>,
    proc: &ProcHandle,
    deadline: Instant,
) -> Result<String, Early> {
    let mut buf = Vec::new();
    let read = tokio::select! {
        r = read_capped_line(stdout, &mut buf) => r,
        how = proc.exited() => return Err(Early::Exited(how)),
        _ = tokio::time::sleep_until(deadline) => return Err(Early::Timeout),
    };
    match read {
        Ok(n) if n > 0 => Ok(String::from_utf8_lossy(&buf).into_owned()),
        // stdout closed without a line: it is exiting, or hangs with stdout closed.
        _ => tokio::select! {
            how = proc.exited() => Err(Early::Exited(how)),
            _ = tokio::time::sleep_until(deadline) => Err(Early::Timeout),
        },
    }
}

async fn drain(task: &mut Option<JoinHandle<()>>) {
    if let Some(task) = task.as_mut() {
        let _ = tokio::time::timeout(STDERR_DRAIN, task).await;
    }
}

/// After the handshake, stdout carries nothing meaningful; keep reading so
/// the plugin never blocks on a full pipe, and log what it says at DEBUG.
async fn drain_stdout(
    mut stdout: BufReader<ChildStdout>,
    log: StderrLog,
    cancel: CancellationToken,
) {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = tokio::select! {
            _ = cancel.cancelled() => return,
            r = read_capped_line(&mut stdout, &mut buf) => r,
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                tracing::debug!(plugin = %log.name(), stdout = %line.trim_end(), "plugin stdout");
            }
        }
    }
}

fn join_versions(versions: &[u32]) -> String {
    versions
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_comma_joined() {
        assert_eq!(super::join_versions(&[1, 2]), "1,2");
        assert_eq!(
            drover_proto::handshake::parse_versions(&super::join_versions(&[3])),
            Ok(vec![3])
        );
    }
}
