//! The allocation directory: Nomad's on-disk layout for one allocation (reference §7.1).
//!
//! ```text
//! <alloc_dir>/<alloc_id>/            0755
//! ├── alloc/                         0755   shared by the allocation's tasks
//! │   ├── data/  logs/  tmp/         0777
//! └── <task>/                        0777
//!     ├── local/                     0777   NOMAD_TASK_DIR
//!     ├── secrets/                   0700   NOMAD_SECRETS_DIR
//!     ├── private/                   0700
//!     └── tmp/                       1777   (sticky)
//! ```
//!
//! Why a module of its own: drivers, logmon, the fs API and GC all name these paths, and
//! they must agree. Every error names the path it failed on, so "unwritable data dir" or
//! "disk full" reach the task event as a sentence an operator can act on.
//!
//! Known gap: Nomad mounts `secrets/` as a tmpfs (`size=<secrets_mb>m,noswap`) when it
//! runs as root on Linux; Drover leaves it a plain 0700 directory for now, which keeps
//! secrets out of other users' reach but not off the disk.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Name of the directory shared by the allocation's tasks.
pub const SHARED_ALLOC_NAME: &str = "alloc";
/// Log directory inside the shared directory.
pub const LOG_DIR_NAME: &str = "logs";
/// Data directory inside the shared directory (migrated with `ephemeral_disk`).
pub const SHARED_DATA_DIR: &str = "data";
/// Temporary directory name, in the shared directory and in each task directory.
pub const TMP_DIR_NAME: &str = "tmp";
/// A task's local directory.
pub const TASK_LOCAL: &str = "local";
/// A task's secrets directory.
pub const TASK_SECRETS: &str = "secrets";
/// A task's private directory.
pub const TASK_PRIVATE: &str = "private";

/// Where isolated tasks see the shared directory, their local and secrets directories.
pub const ISOLATED_ALLOC_DIR: &str = "/alloc";
/// See [`ISOLATED_ALLOC_DIR`].
pub const ISOLATED_LOCAL_DIR: &str = "/local";
/// See [`ISOLATED_ALLOC_DIR`].
pub const ISOLATED_SECRETS_DIR: &str = "/secrets";

/// Why an allocation directory operation failed; each names the path.
#[derive(Debug, thiserror::Error)]
pub enum AllocDirError {
    /// The allocation ID or task name cannot be a single path component.
    #[error("invalid {what} {name:?}: must be a non-empty name without '/' or NUL")]
    InvalidName { what: &'static str, name: String },
    /// `mkdir` failed (unwritable data dir, disk full, a file in the way …).
    #[error("cannot create directory {}: {source}", path.display())]
    Create { path: PathBuf, source: io::Error },
    /// `chmod` failed.
    #[error("cannot set permissions of {}: {source}", path.display())]
    Permissions { path: PathBuf, source: io::Error },
    /// Removal failed.
    #[error("cannot remove {}: {source}", path.display())]
    Remove { path: PathBuf, source: io::Error },
    /// Reading (e.g. for disk usage) failed.
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
}

/// A driver's filesystem isolation, which decides the paths tasks see (§7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsIsolation {
    /// Host paths (raw_exec).
    #[default]
    None,
    /// A chroot built from the task dir (exec, java).
    Chroot,
    /// A container image (docker).
    Image,
    /// Paths under `alloc_mounts_dir` (unveil); treated like `None` for now.
    Unveil,
}

/// Which output stream of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl LogKind {
    /// `stdout` or `stderr`, as in file names and the API's `type` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Stdout => "stdout",
            LogKind::Stderr => "stderr",
        }
    }
    /// Parses the API's `type` parameter.
    pub fn parse(s: &str) -> Option<LogKind> {
        match s {
            "stdout" => Some(LogKind::Stdout),
            "stderr" => Some(LogKind::Stderr),
            _ => None,
        }
    }
}

/// One allocation's directory, `<alloc_dir>/<alloc_id>`. Holds paths only; [`build`]
/// creates them.
///
/// [`build`]: AllocDir::build
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocDir {
    root: PathBuf,
}

/// The paths of one task inside an [`AllocDir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDir {
    /// Task name.
    pub name: String,
    /// `<alloc>/<task>`: the task's working directory.
    pub dir: PathBuf,
    /// `<alloc>/<task>/local`.
    pub local_dir: PathBuf,
    /// `<alloc>/<task>/secrets`.
    pub secrets_dir: PathBuf,
    /// `<alloc>/<task>/private`.
    pub private_dir: PathBuf,
    /// `<alloc>/<task>/tmp`.
    pub tmp_dir: PathBuf,
    /// `<alloc>/alloc`.
    pub shared_alloc_dir: PathBuf,
    /// `<alloc>/alloc/logs`.
    pub log_dir: PathBuf,
}

/// Disk used by a directory tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Sum of file sizes.
    pub bytes: u64,
    /// Number of entries (files, directories, links), the root included.
    pub inodes: u64,
}

/// The three directories a task is told about, as the task sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEnvDirs {
    /// `NOMAD_ALLOC_DIR`.
    pub alloc_dir: String,
    /// `NOMAD_TASK_DIR`.
    pub task_dir: String,
    /// `NOMAD_SECRETS_DIR`.
    pub secrets_dir: String,
}

fn check_name(what: &'static str, name: &str) -> Result<(), AllocDirError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(AllocDirError::InvalidName {
            what,
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// `mkdir -p` then `chmod mode` (explicit, so the umask does not matter).
fn mkdir_mode(path: &Path, mode: u32) -> Result<(), AllocDirError> {
    fs::create_dir_all(path).map_err(|source| AllocDirError::Create {
        path: path.to_owned(),
        source,
    })?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| {
        AllocDirError::Permissions {
            path: path.to_owned(),
            source,
        }
    })
}

impl AllocDir {
    /// The directory of allocation `alloc_id` under the client's `alloc_dir`.
    pub fn new(alloc_dir: &Path, alloc_id: &str) -> Result<AllocDir, AllocDirError> {
        check_name("allocation id", alloc_id)?;
        Ok(AllocDir {
            root: alloc_dir.join(alloc_id),
        })
    }
    /// `<alloc_dir>/<alloc_id>`.
    pub fn path(&self) -> &Path {
        &self.root
    }
    /// `<alloc_dir>/<alloc_id>/alloc`.
    pub fn shared_dir(&self) -> PathBuf {
        self.root.join(SHARED_ALLOC_NAME)
    }
    /// `alloc/logs`.
    pub fn logs_dir(&self) -> PathBuf {
        self.shared_dir().join(LOG_DIR_NAME)
    }
    /// `alloc/data`.
    pub fn data_dir(&self) -> PathBuf {
        self.shared_dir().join(SHARED_DATA_DIR)
    }
    /// `alloc/tmp`.
    pub fn tmp_dir(&self) -> PathBuf {
        self.shared_dir().join(TMP_DIR_NAME)
    }
    /// `alloc/logs/<task>.<kind>.<index>`.
    pub fn log_path(&self, task: &str, kind: LogKind, index: u64) -> PathBuf {
        self.logs_dir().join(log_file_name(task, kind, index))
    }
    /// `alloc/logs/.<task>.<kind>.fifo`: where the driver writes the task's output.
    pub fn fifo_path(&self, task: &str, kind: LogKind) -> PathBuf {
        self.logs_dir()
            .join(format!(".{task}.{}.fifo", kind.as_str()))
    }

    /// Creates the allocation and shared directories with Nomad's modes. Idempotent.
    pub fn build(&self) -> Result<(), AllocDirError> {
        mkdir_mode(&self.root, 0o755)?;
        mkdir_mode(&self.shared_dir(), 0o755)?;
        for d in [LOG_DIR_NAME, TMP_DIR_NAME, SHARED_DATA_DIR] {
            mkdir_mode(&self.shared_dir().join(d), 0o777)?;
        }
        Ok(())
    }

    /// The paths of task `task` (nothing is created).
    pub fn task_dir(&self, task: &str) -> Result<TaskDir, AllocDirError> {
        check_name("task name", task)?;
        let dir = self.root.join(task);
        Ok(TaskDir {
            name: task.to_owned(),
            local_dir: dir.join(TASK_LOCAL),
            secrets_dir: dir.join(TASK_SECRETS),
            private_dir: dir.join(TASK_PRIVATE),
            tmp_dir: dir.join(TMP_DIR_NAME),
            shared_alloc_dir: self.shared_dir(),
            log_dir: self.logs_dir(),
            dir,
        })
    }

    /// Creates task `task`'s directories (after [`AllocDir::build`]). Idempotent.
    pub fn build_task(&self, task: &str) -> Result<TaskDir, AllocDirError> {
        let td = self.task_dir(task)?;
        mkdir_mode(&td.dir, 0o777)?;
        mkdir_mode(&td.local_dir, 0o777)?;
        mkdir_mode(&td.tmp_dir, 0o1777)?;
        mkdir_mode(&td.secrets_dir, 0o700)?;
        mkdir_mode(&td.private_dir, 0o700)?;
        Ok(td)
    }

    /// Removes the whole allocation directory; a missing one is not an error.
    pub fn destroy(&self) -> Result<(), AllocDirError> {
        match fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(AllocDirError::Remove {
                path: self.root.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// Bytes and inodes under the allocation directory (for GC), not following links.
    pub fn disk_usage(&self) -> Result<DiskUsage, AllocDirError> {
        let mut usage = DiskUsage::default();
        let mut stack = vec![self.root.clone()];
        while let Some(p) = stack.pop() {
            let meta = fs::symlink_metadata(&p).map_err(|source| AllocDirError::Read {
                path: p.clone(),
                source,
            })?;
            usage.inodes += 1;
            if meta.is_dir() {
                let entries = fs::read_dir(&p).map_err(|source| AllocDirError::Read {
                    path: p.clone(),
                    source,
                })?;
                for e in entries.flatten() {
                    stack.push(e.path());
                }
            } else if meta.is_file() {
                usage.bytes += meta.len();
            }
        }
        Ok(usage)
    }
}

/// `<task>.<kind>.<index>`.
pub fn log_file_name(task: &str, kind: LogKind, index: u64) -> String {
    format!("{task}.{}.{index}", kind.as_str())
}

impl TaskDir {
    /// The directories a task is told about for its driver's isolation: host paths for
    /// `None`/`Unveil`, `/alloc`, `/local`, `/secrets` for `Chroot`/`Image`.
    pub fn env_dirs(&self, isolation: FsIsolation) -> TaskEnvDirs {
        match isolation {
            FsIsolation::Chroot | FsIsolation::Image => TaskEnvDirs {
                alloc_dir: ISOLATED_ALLOC_DIR.into(),
                task_dir: ISOLATED_LOCAL_DIR.into(),
                secrets_dir: ISOLATED_SECRETS_DIR.into(),
            },
            FsIsolation::None | FsIsolation::Unveil => self.host_env_dirs(),
        }
    }
    /// The same directories as host paths (what the client itself uses).
    pub fn host_env_dirs(&self) -> TaskEnvDirs {
        TaskEnvDirs {
            alloc_dir: self.shared_alloc_dir.display().to_string(),
            task_dir: self.local_dir.display().to_string(),
            secrets_dir: self.secrets_dir.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_nomads_layout() {
        let a = AllocDir::new(Path::new("/var/nomad/alloc"), "abc").unwrap();
        assert_eq!(a.path(), Path::new("/var/nomad/alloc/abc"));
        assert_eq!(
            a.log_path("web", LogKind::Stderr, 3),
            Path::new("/var/nomad/alloc/abc/alloc/logs/web.stderr.3")
        );
        assert_eq!(
            a.fifo_path("web", LogKind::Stdout),
            Path::new("/var/nomad/alloc/abc/alloc/logs/.web.stdout.fifo")
        );
        let t = a.task_dir("web").unwrap();
        assert_eq!(t.secrets_dir, Path::new("/var/nomad/alloc/abc/web/secrets"));
        let iso = t.env_dirs(FsIsolation::Image);
        assert_eq!(
            (
                iso.alloc_dir.as_str(),
                iso.task_dir.as_str(),
                iso.secrets_dir.as_str()
            ),
            ("/alloc", "/local", "/secrets")
        );
        let host = t.env_dirs(FsIsolation::None);
        assert_eq!(host.task_dir, "/var/nomad/alloc/abc/web/local");
        assert_eq!(host.alloc_dir, "/var/nomad/alloc/abc/alloc");
    }

    #[test]
    fn names_that_would_escape_are_rejected() {
        for bad in ["", ".", "..", "a/b", "x\0"] {
            let e = AllocDir::new(Path::new("/x"), bad).unwrap_err();
            assert!(e.to_string().contains("invalid allocation id"), "{e}");
        }
        let a = AllocDir::new(Path::new("/x"), "id").unwrap();
        assert!(a.task_dir("../other").is_err());
        assert_eq!(LogKind::parse("stderr"), Some(LogKind::Stderr));
        assert_eq!(LogKind::parse("both"), None);
    }
}
