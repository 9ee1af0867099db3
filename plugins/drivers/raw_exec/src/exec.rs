//! Interactive exec inside a task (`alloc exec`): the command runs with the
//! task's environment and working directory, on pipes or, with a tty, on a
//! pseudo-terminal whose controlling process it is.
//!
//! The command is its own process group (with a tty: its own session), and a
//! guard kills that group if the session is dropped before the command
//! exited, so a host that hangs up leaves nothing behind. Once the command
//! exits the session ends: output already written is forwarded, but
//! background children are not waited for.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use drover_plugin_sdk::{ExecInput, ExecSession, ExecSink, ExitResult, PluginError};
use futures::FutureExt;
use futures::stream::{BoxStream, StreamExt};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};

use crate::task::{Task, exit_result};

/// How long a pipe-mode session keeps reading output after the command
/// exited: a background child that holds the pipes open does not hold the
/// session for longer.
const PIPE_DRAIN: Duration = Duration::from_millis(500);
/// End-of-transmission: what a closed stdin means on a terminal.
const EOT: u8 = 0x04;

/// Run `session.command` in `task` until it exits.
pub async fn run(task: &Task, session: ExecSession) -> Result<ExitResult, PluginError> {
    let (program, args) = session
        .command
        .split_first()
        .ok_or_else(|| PluginError::invalid("command is empty"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(&task.env)
        .current_dir(&task.work_dir)
        .kill_on_drop(true);
    let cant_run = |e: std::io::Error| {
        PluginError::invalid(format!("cannot run {program:?} in task {}: {e}", task.id))
    };
    if session.tty {
        let mut input = session.input;
        // A size sent with the setup applies before the command starts, so
        // its first `stty size` sees it.
        let first = input.next().now_or_never().flatten();
        let size = match &first {
            Some(ExecInput::Resize { height, width }) => Some((*height, *width)),
            _ => None,
        };
        let input = match first {
            Some(ExecInput::Resize { .. }) | None => input,
            Some(other) => futures::stream::iter([other]).chain(input).boxed(),
        };
        let pty = Pty::open(size).map_err(|e| PluginError::internal(format!("openpty: {e}")))?;
        pty.attach(&mut cmd)
            .map_err(|e| PluginError::internal(format!("pty: {e}")))?;
        let child = cmd.spawn().map_err(cant_run)?;
        // Only the command may hold the terminal, so that it reads as gone
        // (EIO) once the command and its children are.
        drop(cmd);
        let Pty { master, slave } = pty;
        drop(slave);
        run_tty(child, master, input, &session.output).await
    } else {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let child = cmd.spawn().map_err(cant_run)?;
        run_pipes(child, session.input, &session.output).await
    }
}

/// Kills the command's process group unless disarmed (the command exited).
struct KillGroup(Option<libc::pid_t>);

impl KillGroup {
    fn new(child: &Child) -> Self {
        KillGroup(child.id().and_then(|p| libc::pid_t::try_from(p).ok()))
    }
}

impl Drop for KillGroup {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

fn waited(status: std::io::Result<ExitStatus>) -> Result<ExitResult, PluginError> {
    status
        .map(|s| exit_result(&s))
        .map_err(|e| PluginError::internal(format!("waiting for the exec'd command: {e}")))
}

async fn run_pipes(
    mut child: Child,
    input: BoxStream<'static, ExecInput>,
    sink: &ExecSink,
) -> Result<ExitResult, PluginError> {
    let mut guard = KillGroup::new(&child);
    let feed = feed_pipe(input, child.stdin.take());
    let pump = pump_pipes(child.stdout.take(), child.stderr.take(), sink);
    let mut feed = std::pin::pin!(feed);
    let mut pump = std::pin::pin!(pump);
    let (mut fed, mut pumped) = (false, false);
    let status = loop {
        tokio::select! {
            () = &mut feed, if !fed => fed = true,
            r = &mut pump, if !pumped => {
                r?;
                pumped = true;
            }
            status = child.wait() => break status,
        }
    };
    guard.0 = None;
    let exit = waited(status)?;
    if !pumped && let Ok(r) = tokio::time::timeout(PIPE_DRAIN, pump).await {
        r?;
    }
    Ok(exit)
}

/// Copies the host's stdin into the command's until either side ends.
async fn feed_pipe(mut input: BoxStream<'static, ExecInput>, mut stdin: Option<ChildStdin>) {
    while let Some(i) = input.next().await {
        match i {
            ExecInput::Stdin(data) => {
                if let Some(s) = stdin.as_mut()
                    && s.write_all(&data).await.is_err()
                {
                    stdin = None;
                }
            }
            // Dropping the pipe's end is the close the command reads as EOF.
            ExecInput::StdinClosed => stdin = None,
            ExecInput::Resize { .. } => {}
        }
    }
}

/// Forwards stdout and stderr until both reach EOF.
async fn pump_pipes(
    mut out: Option<impl AsyncRead + Unpin>,
    mut err: Option<impl AsyncRead + Unpin>,
    sink: &ExecSink,
) -> Result<(), PluginError> {
    let (mut a, mut b) = ([0u8; 8192], [0u8; 8192]);
    while out.is_some() || err.is_some() {
        tokio::select! {
            r = read_opt(&mut out, &mut a), if out.is_some() => match r {
                Some(n) => sink.stdout(a[..n].to_vec()).await?,
                None => out = None,
            },
            r = read_opt(&mut err, &mut b), if err.is_some() => match r {
                Some(n) => sink.stderr(b[..n].to_vec()).await?,
                None => err = None,
            },
        }
    }
    Ok(())
}

/// One read; `None` at EOF or on an error.
async fn read_opt(r: &mut Option<impl AsyncRead + Unpin>, buf: &mut [u8]) -> Option<usize> {
    match r.as_mut()?.read(buf).await {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

async fn run_tty(
    mut child: Child,
    master: AsyncFd<OwnedFd>,
    mut input: BoxStream<'static, ExecInput>,
    sink: &ExecSink,
) -> Result<ExitResult, PluginError> {
    let mut guard = KillGroup::new(&child);
    let mut buf = [0u8; 8192];
    let (mut reading, mut listening) = (true, true);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            r = read_master(&master, &mut buf), if reading => match r {
                Some(n) => sink.stdout(buf[..n].to_vec()).await?,
                None => reading = false,
            },
            i = input.next(), if listening => match i {
                Some(ExecInput::Stdin(data)) => write_master(&master, &data).await,
                Some(ExecInput::StdinClosed) => write_master(&master, &[EOT]).await,
                Some(ExecInput::Resize { height, width }) => {
                    set_size(master.get_ref().as_raw_fd(), height, width);
                }
                None => listening = false,
            },
        }
    };
    guard.0 = None;
    let exit = waited(status)?;
    // What the command wrote before it exited is in the terminal's buffer;
    // a non-blocking read flushes it (and stops at a background child's).
    while reading {
        match nonblocking_read(master.get_ref().as_raw_fd(), &mut buf) {
            Ok(n) if n > 0 => sink.stdout(buf[..n].to_vec()).await?,
            _ => reading = false,
        }
    }
    Ok(exit)
}

/// One read from the terminal; `None` once it is gone (EIO: no process has
/// it open any more).
async fn read_master(master: &AsyncFd<OwnedFd>, buf: &mut [u8]) -> Option<usize> {
    loop {
        let mut ready = master.readable().await.ok()?;
        match ready.try_io(|fd| nonblocking_read(fd.get_ref().as_raw_fd(), buf)) {
            Ok(Ok(0) | Err(_)) => return None,
            Ok(Ok(n)) => return Some(n),
            Err(_would_block) => continue,
        }
    }
}

/// Writes all of `data`; a terminal that is gone drops it.
async fn write_master(master: &AsyncFd<OwnedFd>, mut data: &[u8]) {
    while !data.is_empty() {
        let Ok(mut ready) = master.writable().await else {
            return;
        };
        match ready.try_io(|fd| {
            // SAFETY: `data` is a valid buffer of `data.len()` bytes.
            let n =
                unsafe { libc::write(fd.get_ref().as_raw_fd(), data.as_ptr().cast(), data.len()) };
            if n < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(n.unsigned_abs())
            }
        }) {
            Ok(Ok(n)) => data = &data[n..],
            Ok(Err(_)) => return,
            Err(_would_block) => continue,
        }
    }
}

fn nonblocking_read(fd: RawFd, buf: &mut [u8]) -> std::io::Result<usize> {
    // SAFETY: `buf` is a valid, writable buffer of `buf.len()` bytes.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n.unsigned_abs())
    }
}

fn winsize(height: u16, width: u16) -> libc::winsize {
    libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

fn set_size(fd: RawFd, height: u16, width: u16) {
    let ws = winsize(height, width);
    // SAFETY: TIOCSWINSZ reads one winsize from the pointer.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
    if rc < 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot resize the exec terminal");
    }
}

/// A pseudo-terminal pair: the command gets the slave as stdin, stdout,
/// stderr and controlling terminal; the driver keeps the master.
struct Pty {
    master: AsyncFd<OwnedFd>,
    slave: OwnedFd,
}

impl Pty {
    fn open(size: Option<(u16, u16)>) -> std::io::Result<Pty> {
        let (mut master, mut slave): (RawFd, RawFd) = (-1, -1);
        let ws = size.map(|(h, w)| winsize(h, w));
        let ws_ptr = ws
            .as_ref()
            .map_or(std::ptr::null(), |w| w as *const libc::winsize);
        // SAFETY: the out-pointers are valid; name and termios may be null.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                ws_ptr,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: openpty returned two open descriptors that nothing else owns.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        for fd in [master.as_raw_fd(), slave.as_raw_fd()] {
            // Neither may leak into the command (it gets the slave as 0, 1, 2).
            // SAFETY: fcntl on descriptors we own.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // SAFETY: as above.
        unsafe {
            let flags = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(master.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        // SAFETY: `master` is an open descriptor the AsyncFd owns from here on.
        let master = unsafe { AsyncFd::register(master) }.map_err(std::io::Error::from)?;
        Ok(Pty { master, slave })
    }

    /// Makes `cmd` run on the slave, in a new session whose controlling
    /// terminal it is.
    fn attach(&self, cmd: &mut Command) -> std::io::Result<()> {
        cmd.stdin(Stdio::from(self.slave.try_clone()?))
            .stdout(Stdio::from(self.slave.try_clone()?))
            .stderr(Stdio::from(self.slave.try_clone()?));
        // SAFETY: the closure calls only async-signal-safe functions.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pty_reports_the_size_it_was_opened_with() {
        let pty = Pty::open(Some((33, 77))).expect("openpty");
        let mut ws = winsize(0, 0);
        // SAFETY: TIOCGWINSZ writes one winsize.
        let rc = unsafe { libc::ioctl(pty.slave.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
        assert_eq!(rc, 0);
        assert_eq!((ws.ws_row, ws.ws_col), (33, 77));
        set_size(pty.master.get_ref().as_raw_fd(), 10, 20);
        // SAFETY: as above.
        unsafe { libc::ioctl(pty.slave.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
        assert_eq!((ws.ws_row, ws.ws_col), (10, 20));
    }
}
