//! The process underneath a plugin: its pid, a pidfd to signal it without
//! racing pid reuse, and a watch that turns `Some` when it has exited.
//!
//! A launched plugin is our child: a task waits for it (so it is always
//! reaped) and records its exit status. A reattached plugin is not: its exit is
//! seen through the pidfd becoming readable, or by polling `/proc` where
//! pidfds are not available.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::process::Child;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often `/proc` is polled for a reattached plugin when pidfds are missing.
const POLL: Duration = Duration::from_millis(100);

/// A running (or exited) plugin process.
#[derive(Debug, Clone)]
pub(crate) struct ProcHandle {
    pid: u32,
    pidfd: Option<Arc<OwnedFd>>,
    exit: watch::Receiver<Option<String>>,
}

impl ProcHandle {
    /// Take over a freshly spawned child: reap it in a task and record how it ended.
    pub fn from_child(mut child: Child, tracker: &TaskTracker, cancel: CancellationToken) -> Self {
        // The child is not reaped yet, so its pid cannot have been reused.
        let pid = child.id().unwrap_or(0);
        let pidfd = pidfd_open(pid).ok().map(Arc::new);
        let (tx, exit) = watch::channel(None);
        tracker.spawn(async move {
            tokio::select! {
                status = child.wait() => {
                    let how = match status {
                        Ok(status) => status.to_string(),
                        Err(e) => format!("wait failed: {e}"),
                    };
                    let _ = tx.send(Some(how));
                }
                // Dropping the child hands it to tokio's orphan reaper.
                _ = cancel.cancelled() => {}
            }
        });
        Self { pid, pidfd, exit }
    }

    /// Attach to a process that is not our child, checking it is the one that
    /// started at `start_time` (clock ticks after boot, from `/proc/<pid>/stat`).
    pub fn attach(
        pid: u32,
        start_time: u64,
        tracker: &TaskTracker,
        cancel: CancellationToken,
    ) -> Result<Self, String> {
        check_identity(pid, start_time)?;
        let pidfd = pidfd_open(pid).ok().map(Arc::new);
        // With the pidfd open the pid can no longer change hands under us;
        // check once more that it still names the same process.
        check_identity(pid, start_time)?;
        let (tx, exit) = watch::channel(None);
        let watch_fd = pidfd.as_ref().and_then(|fd| fd.try_clone().ok());
        tracker.spawn(async move {
            let gone = async {
                // SAFETY: the AsyncFd owns this OwnedFd, which stays open and
                // is the same descriptor for the AsyncFd's whole life.
                let registered = watch_fd.and_then(|fd| unsafe {
                    AsyncFd::register_with_interest(fd, Interest::READABLE).ok()
                });
                if let Some(fd) = registered {
                    let _ = fd.readable().await;
                    return;
                }
                let mut tick = tokio::time::interval(POLL);
                while check_identity(pid, start_time).is_ok() {
                    tick.tick().await;
                }
            };
            tokio::select! {
                _ = gone => { let _ = tx.send(Some("exited".into())); }
                _ = cancel.cancelled() => {}
            }
        });
        Ok(Self { pid, pidfd, exit })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// How the process ended, once it has.
    pub fn exit_status(&self) -> Option<String> {
        self.exit.borrow().clone()
    }

    /// Resolves once the process is gone (for a child: reaped).
    pub async fn exited(&self) -> String {
        let mut rx = self.exit.clone();
        match rx.wait_for(Option::is_some).await {
            Ok(how) => how.clone().unwrap_or_default(),
            // The watcher stopped (handle dropped or runtime ending).
            Err(_) => "no longer watched".into(),
        }
    }

    /// `exited()` with a bound; `true` when the process is gone.
    pub async fn exited_within(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.exited()).await.is_ok()
    }

    /// Send `signal` unless the process has already exited.
    pub fn signal(&self, signal: libc::c_int) {
        if self.exit_status().is_some() || self.pid == 0 {
            return;
        }
        let rc = match &self.pidfd {
            // SAFETY: pidfd_send_signal with a valid pidfd, no siginfo, no flags.
            Some(fd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    signal,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            },
            // SAFETY: plain kill(2); without a pidfd this is the best we have.
            None => unsafe { libc::kill(self.pid as libc::pid_t, signal) as libc::c_long },
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            tracing::debug!(pid = self.pid, signal, error = %e, "signal not delivered");
        }
    }
}

fn pidfd_open(pid: u32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Start time of `pid` in clock ticks after boot, and whether it is a zombie.
pub(crate) fn proc_start_time(pid: u32) -> std::io::Result<(u64, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&stat).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "unparsable /proc stat")
    })
}

/// Fields after the command name (which may hold spaces and parentheses):
/// state is field 3, starttime field 22.
fn parse_stat(stat: &str) -> Option<(u64, bool)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let zombie = matches!(*fields.first()?, "Z" | "X");
    let start = fields.get(19)?.parse().ok()?;
    Some((start, zombie))
}

fn check_identity(pid: u32, start_time: u64) -> Result<(), String> {
    match proc_start_time(pid) {
        Err(_) => Err(format!("process {pid} is gone")),
        Ok((_, true)) => Err(format!("process {pid} has exited")),
        Ok((start, false)) if start != start_time => Err(format!(
            "pid {pid} now belongs to another process (started at tick {start}, expected {start_time})"
        )),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_survives_odd_command_names() {
        let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
        assert_eq!(parse_stat(stat), Some((987654, false)));
        let zombie = "7 (x) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0";
        assert_eq!(parse_stat(zombie), Some((55, true)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn own_process_has_a_start_time_and_identity_is_checked() {
        let pid = std::process::id();
        let (start, zombie) = proc_start_time(pid).expect("own stat");
        assert!(!zombie);
        assert!(check_identity(pid, start).is_ok());
        let err = check_identity(pid, start + 1).expect_err("reuse detected");
        assert!(err.contains("another process"), "{err}");
    }
}
