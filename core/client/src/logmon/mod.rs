//! The log collector ("logmon", reference §7.2): a task's driver writes stdout and stderr
//! into two FIFOs, `alloc/logs/.<task>.stdout.fifo` and `.stderr.fifo`; logmon reads
//! them and appends to rotated files `alloc/logs/<task>.stdout.N` ([`FileRotator`]).
//! [`reader`] reads them back for `alloc logs` and `/v1/client/fs/logs`.
//!
//! Why FIFOs: the task's output must not depend on the agent being up. The FIFOs are
//! opened read-write, so a task restart (the driver closes and reopens its end) is not
//! an end of file, and a writer never blocks on a missing reader while logmon runs.
//!
//! [`LogMon::run`] is an owned task with a [`CancellationToken`]: on shutdown it drains
//! what the FIFOs hold, then returns. A write error (disk full) is logged and the data
//! dropped, so a full disk never stalls the task on a full pipe.

mod fifo;
pub mod process;
pub mod reader;
pub mod rotator;

use std::io;
use std::path::{Path, PathBuf};

use drover_types::LogConfig;
use futures::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use fifo::create_fifo;
pub use reader::{LogChunk, LogFile, Origin, ReadOptions, log_files, read_logs, stream_logs};
pub use rotator::FileRotator;

use crate::allocdir::{AllocDir, LogKind};

const MB: u64 = 1024 * 1024;
const READ_BUF: usize = 32 * 1024;

/// Why logmon could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogMonError {
    /// The task's `logs {}` block is unusable.
    #[error("task {task:?} logs: {rule}")]
    Config { task: String, rule: String },
    /// A FIFO could not be created.
    #[error("cannot create FIFO {}: {source}", path.display())]
    CreateFifo { path: PathBuf, source: io::Error },
    /// A FIFO could not be opened.
    #[error("cannot open FIFO {}: {source}", path.display())]
    OpenFifo { path: PathBuf, source: io::Error },
    /// The first log file could not be opened.
    #[error("cannot open log files of task {task:?}: {source}")]
    Open { task: String, source: io::Error },
}

/// What one logmon collects and where it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMonConfig {
    /// `alloc/logs`.
    pub logs_dir: PathBuf,
    /// Task name (file prefix).
    pub task: String,
    /// Files kept per stream.
    pub max_files: usize,
    /// Size of one file in bytes.
    pub max_file_size: u64,
    /// The stdout FIFO.
    pub stdout_fifo: PathBuf,
    /// The stderr FIFO.
    pub stderr_fifo: PathBuf,
}

impl LogMonConfig {
    /// The config for `task` of `alloc` from its `logs {}` block (defaults 10 × 10 MB).
    pub fn for_task(alloc: &AllocDir, task: &str, logs: &LogConfig) -> Result<Self, LogMonError> {
        let err = |rule: String| LogMonError::Config {
            task: task.to_owned(),
            rule,
        };
        let files = logs.max_files.unwrap_or(10);
        let size = logs.max_file_size_mb.unwrap_or(10);
        if files < 1 {
            return Err(err(format!("max_files must be at least 1, found {files}")));
        }
        if size < 1 {
            return Err(err(format!(
                "max_file_size must be at least 1 (MB), found {size}"
            )));
        }
        Ok(LogMonConfig {
            logs_dir: alloc.logs_dir(),
            task: task.to_owned(),
            max_files: usize::try_from(files).unwrap_or(usize::MAX),
            max_file_size: u64::try_from(size)
                .unwrap_or(u64::MAX / MB)
                .saturating_mul(MB),
            stdout_fifo: alloc.fifo_path(task, LogKind::Stdout),
            stderr_fifo: alloc.fifo_path(task, LogKind::Stderr),
        })
    }

    fn fifo(&self, kind: LogKind) -> &Path {
        match kind {
            LogKind::Stdout => &self.stdout_fifo,
            LogKind::Stderr => &self.stderr_fifo,
        }
    }

    /// Opens the rotator of one stream (resuming at its highest index).
    pub fn rotator(&self, kind: LogKind) -> Result<FileRotator, LogMonError> {
        let base = format!("{}.{}", self.task, kind.as_str());
        FileRotator::open(&self.logs_dir, &base, self.max_files, self.max_file_size).map_err(
            |source| LogMonError::Open {
                task: self.task.clone(),
                source,
            },
        )
    }
}

/// One task's log collector.
#[derive(Debug, Clone)]
pub struct LogMon {
    config: LogMonConfig,
}

impl LogMon {
    /// A collector for `config`.
    pub fn new(config: LogMonConfig) -> LogMon {
        LogMon { config }
    }

    /// Its configuration.
    pub fn config(&self) -> &LogMonConfig {
        &self.config
    }

    /// Creates both FIFOs (idempotent); call before the driver starts the task.
    pub fn create_fifos(&self) -> Result<(), LogMonError> {
        for kind in [LogKind::Stdout, LogKind::Stderr] {
            let path = self.config.fifo(kind);
            create_fifo(path).map_err(|source| LogMonError::CreateFifo {
                path: path.to_owned(),
                source,
            })?;
        }
        Ok(())
    }

    /// Collects both FIFOs until `shutdown`, then drains them and returns. Fails only
    /// when it cannot start (FIFO or first log file).
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), LogMonError> {
        let (tx, _rx) = tokio::sync::oneshot::channel();
        self.run_notify(shutdown, tx).await
    }

    /// Like [`LogMon::run`], and sends on `ready` once both FIFOs are open (the driver
    /// may start the task then).
    pub async fn run_notify(
        self,
        shutdown: CancellationToken,
        ready: tokio::sync::oneshot::Sender<()>,
    ) -> Result<(), LogMonError> {
        self.create_fifos()?;
        let mut set = JoinSet::new();
        for kind in [LogKind::Stdout, LogKind::Stderr] {
            let path = self.config.fifo(kind).to_owned();
            let receiver = tokio::net::unix::pipe::OpenOptions::new()
                .read_write(true)
                .open_receiver(&path)
                .map_err(|source| LogMonError::OpenFifo { path, source })?;
            let rotator = self.config.rotator(kind)?;
            set.spawn(collect(receiver, rotator, shutdown.clone()));
        }
        let _ = ready.send(());
        while set.join_next().await.is_some() {}
        Ok(())
    }
}

/// Copies `reader` into `rotator` until end of file or `shutdown`; on shutdown, what is
/// already readable is still written. Returns the bytes written.
pub async fn collect<R: AsyncRead + Unpin>(
    mut reader: R,
    mut rotator: FileRotator,
    shutdown: CancellationToken,
) -> u64 {
    let mut buf = vec![0u8; READ_BUF];
    let mut total = 0u64;
    let mut failing = false;
    let mut write = |data: &[u8], rotator: &mut FileRotator| match rotator.write_all(data) {
        Ok(()) => {
            failing = false;
            data.len() as u64
        }
        Err(e) => {
            if !failing {
                tracing::warn!(error = %e, "logmon: dropping task output");
            }
            failing = true;
            0
        }
    };
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            r = reader.read(&mut buf) => match r {
                Ok(0) => return total,
                Ok(n) => total += write(&buf[..n], &mut rotator),
                Err(e) => {
                    tracing::warn!(error = %e, "logmon: read failed");
                    return total;
                }
            },
        }
    }
    // Drain what is already there without waiting for more.
    while let Some(Ok(n)) = reader.read(&mut buf).now_or_never() {
        if n == 0 {
            break;
        }
        total += write(&buf[..n], &mut rotator);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_logs_block() {
        let a = AllocDir::new(Path::new("/d/alloc"), "a1").unwrap();
        let c = LogMonConfig::for_task(&a, "web", &LogConfig::default()).unwrap();
        assert_eq!((c.max_files, c.max_file_size), (10, 10 * MB));
        assert_eq!(
            c.stderr_fifo,
            Path::new("/d/alloc/a1/alloc/logs/.web.stderr.fifo")
        );
        let bad = LogConfig {
            max_files: Some(0),
            ..Default::default()
        };
        let e = LogMonConfig::for_task(&a, "web", &bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            "task \"web\" logs: max_files must be at least 1, found 0"
        );
    }

    #[tokio::test]
    async fn collect_from_a_pipe_until_eof() {
        let d = tempfile::tempdir().unwrap();
        let rot = FileRotator::open(d.path(), "t.stdout", 3, 9).unwrap();
        let (mut w, r) = tokio::io::duplex(64);
        let task = tokio::spawn(collect(r, rot, CancellationToken::new()));
        tokio::io::AsyncWriteExt::write_all(&mut w, b"line one\nline two\n")
            .await
            .unwrap();
        drop(w);
        assert_eq!(task.await.unwrap(), 18);
        let got = read_logs(d.path(), "t", LogKind::Stdout, Origin::Start, 0)
            .await
            .unwrap();
        assert_eq!(got, b"line one\nline two\n");
        assert_eq!(
            rotator::indices(d.path(), "t.stdout").unwrap(),
            [0, 1],
            "one line per file"
        );
    }
}
