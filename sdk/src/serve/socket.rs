//! The plugin's unix socket: `<dir>/plugin.sock`, in the private (0700)
//! directory the host created, or in one the plugin makes itself when started
//! without one. Removed again when the plugin exits.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// File name of the socket inside the socket directory.
pub(super) const SOCKET_FILE: &str = "plugin.sock";

/// A bound socket's path and what to clean up after it.
pub(super) struct Socket {
    pub(super) path: PathBuf,
    /// A directory this process created (and so removes).
    own_dir: Option<PathBuf>,
}

type Listener = std::os::unix::net::UnixListener;

impl Socket {
    /// Bind `<dir>/plugin.sock`. A socket file left behind by a dead plugin is
    /// replaced; one a live process still serves on is an error.
    pub(super) fn bind(dir: Option<&Path>) -> Result<(Self, Listener), String> {
        let (dir, own_dir) = match dir {
            Some(dir) => (dir.to_path_buf(), None),
            None => {
                let dir = private_temp_dir()
                    .map_err(|e| format!("cannot create a private socket directory: {e}"))?;
                (dir.clone(), Some(dir))
            }
        };
        let path = dir.join(SOCKET_FILE);
        let fail = |e: io::Error| {
            if let Some(own) = &own_dir {
                let _ = std::fs::remove_dir(own);
            }
            format!("cannot listen on {}: {e}", path.display())
        };
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                return Err(fail(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another process is serving on it",
                )));
            }
            std::fs::remove_file(&path).map_err(fail)?;
        }
        let listener = Listener::bind(&path).map_err(fail)?;
        listener.set_nonblocking(true).map_err(fail)?;
        Ok((Self { path, own_dir }, listener))
    }

    /// Remove the socket file (and the directory, if this process made it).
    pub(super) fn remove(&self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the socket");
        }
        if let Some(dir) = &self.own_dir
            && let Err(e) = std::fs::remove_dir(dir)
        {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove the socket directory");
        }
    }
}

/// A fresh 0700 directory under the system temp dir. `create` (not
/// `create_dir_all`) fails on an existing path, so nobody can plant it first.
fn private_temp_dir() -> io::Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let base = std::env::temp_dir();
    let mut last = io::Error::other("no attempt made");
    for attempt in 0..16u32 {
        let name = format!(
            "drover-plugin-{}-{:08x}",
            std::process::id(),
            nanos.wrapping_add(attempt.wrapping_mul(0x9e37_79b9))
        );
        let dir = base.join(name);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn binds_in_the_given_dir_and_replaces_a_stale_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, listener) = Socket::bind(Some(dir.path())).expect("bind");
        assert_eq!(first.path, dir.path().join(SOCKET_FILE));
        let live = Socket::bind(Some(dir.path())).err().expect("in use");
        assert!(live.contains("another process is serving"), "{live}");
        drop(listener); // closes the socket, leaves the file behind
        assert!(first.path.exists());
        let (second, _listener) = Socket::bind(Some(dir.path())).expect("stale is replaced");
        second.remove();
        assert!(!second.path.exists());
        assert!(dir.path().exists(), "the host's directory stays");
    }

    #[test]
    fn makes_a_private_dir_when_the_host_gave_none() {
        let (socket, _listener) = Socket::bind(None).expect("bind");
        let dir = socket.path.parent().expect("parent").to_path_buf();
        let mode = std::fs::metadata(&dir).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        socket.remove();
        assert!(!dir.exists());
    }

    #[test]
    fn a_missing_dir_is_an_error_naming_the_path() {
        let err = Socket::bind(Some(Path::new("/nonexistent/drover")))
            .err()
            .expect("error");
        assert!(err.contains("/nonexistent/drover/plugin.sock"), "{err}");
    }
}
