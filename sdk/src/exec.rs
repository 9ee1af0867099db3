//! Interactive exec (`drover alloc exec`): what a driver's
//! [`Driver::exec_task_streaming`](crate::Driver::exec_task_streaming) gets
//! and where it writes.
//!
//! The SDK turns the `ExecTaskStreaming` gRPC stream into an [`ExecSession`]:
//! the setup (task, command, tty), a stream of [`ExecInput`] and an
//! [`ExecSink`]. The driver runs the command, forwards input and
//! output until the command ends, and returns how it ended; the SDK then
//! sends the closing messages. When the host goes away the SDK drops the
//! driver's future, so a driver kills its command on drop.

use futures::stream::BoxStream;
use tokio::sync::mpsc;

use crate::{ErrorKind, PluginError, Result};

/// What arrives from the host after the setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecInput {
    /// Bytes for the command's stdin.
    Stdin(Vec<u8>),
    /// The host's stdin ended: close the command's stdin.
    StdinClosed,
    /// The host terminal's size, in rows and columns (tty sessions).
    Resize { height: u16, width: u16 },
}

/// One chunk of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecChunk {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
}

/// Where a streaming exec writes the command's output. Everything written
/// before `exec_task_streaming` returns reaches the host before the exit.
#[derive(Debug, Clone)]
pub struct ExecSink {
    tx: mpsc::Sender<ExecChunk>,
}

impl ExecSink {
    /// A sink and the receiver of what is written to it (the SDK forwards
    /// it to the host; a driver's in-process tests read it).
    pub fn channel() -> (ExecSink, mpsc::Receiver<ExecChunk>) {
        // Small: a slow host slows the command down instead of filling memory.
        let (tx, rx) = mpsc::channel(16);
        (ExecSink { tx }, rx)
    }

    /// Send bytes the command wrote on stdout (or on its terminal).
    pub async fn stdout(&self, data: Vec<u8>) -> Result<()> {
        self.send(ExecChunk::Stdout(data)).await
    }

    /// Send bytes the command wrote on stderr.
    pub async fn stderr(&self, data: Vec<u8>) -> Result<()> {
        self.send(ExecChunk::Stderr(data)).await
    }

    async fn send(&self, chunk: ExecChunk) -> Result<()> {
        self.tx.send(chunk).await.map_err(|_| {
            PluginError::new(ErrorKind::Unavailable, "the exec session's host went away")
        })
    }
}

/// One `ExecTaskStreaming` call, as the driver sees it.
pub struct ExecSession {
    pub task_id: String,
    /// Program and arguments; never empty.
    pub command: Vec<String>,
    /// Run on a pseudo-terminal: stdout and stderr both go to it, lines end
    /// in `\r\n`, and [`ExecInput::Resize`] applies.
    pub tty: bool,
    /// Stdin and terminal sizes, in the order the host sent them. Ends when
    /// the host stops sending (which is not a stdin close).
    pub input: BoxStream<'static, ExecInput>,
    pub output: ExecSink,
}

impl std::fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecSession")
            .field("task_id", &self.task_id)
            .field("command", &self.command)
            .field("tty", &self.tty)
            .finish_non_exhaustive()
    }
}
