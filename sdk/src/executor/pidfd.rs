//! Waiting for a process that is not our child: a pidfd (Linux ≥ 5.3)
//! becomes readable when the process exits, so the wait is an event, not a
//! poll. A pidfd also pins the process identity: once opened and checked
//! (start time), later pid reuse cannot confuse it.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// `pidfd_open(pid, 0)`.
pub(super) fn open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::other("pidfd out of range"))?;
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Resolves when the process behind `fd` has exited.
pub(super) async fn exited(fd: OwnedFd) -> io::Result<()> {
    // SAFETY: `fd` is an owned, valid pidfd that nothing else closes or
    // replaces while the AsyncFd holds it.
    let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE)? };
    let _ready = fd.readable().await?;
    Ok(())
}
