//! Reading a task's logs back: the indexed files `<task>.<kind>.N` concatenated in index
//! order, from an offset counted from the start or the end, optionally followed like
//! `tail -f` (what `alloc logs` and `/v1/client/fs/logs` serve).
//!
//! Following notices a new index when the rotator moves on: at the end of the current
//! file it looks for a higher index, reads the current file once more (the writer closed
//! it before creating the next), then continues with the next one. A file purged under
//! the reader is skipped. Polling, at `poll_interval`, keeps it portable and simple.

use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::sync::CancellationToken;

use super::rotator::indices;
use crate::allocdir::LogKind;

/// Where `offset` counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// From the first byte of the oldest file.
    #[default]
    Start,
    /// Back from the last byte of the newest file.
    End,
}

impl Origin {
    /// Parses the API's `origin` parameter.
    pub fn parse(s: &str) -> Option<Origin> {
        match s {
            "start" => Some(Origin::Start),
            "end" => Some(Origin::End),
            _ => None,
        }
    }
}

/// One read: which file, where in it, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    /// File name inside the logs directory, e.g. `web.stdout.0`.
    pub file: String,
    /// Offset of `data` in that file.
    pub offset: u64,
    /// The bytes.
    pub data: Vec<u8>,
}

/// How to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Where `offset` counts from.
    pub origin: Origin,
    /// Bytes from the origin.
    pub offset: u64,
    /// Keep waiting for more at the end.
    pub follow: bool,
    /// How often to look for more while following.
    pub poll_interval: Duration,
    /// Largest chunk yielded.
    pub chunk_size: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            origin: Origin::Start,
            offset: 0,
            follow: false,
            poll_interval: Duration::from_millis(100),
            chunk_size: 64 * 1024,
        }
    }
}

/// An existing log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Its index.
    pub index: u64,
    /// Its path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// The existing files of one task's stream, oldest first.
pub fn log_files(logs_dir: &Path, task: &str, kind: LogKind) -> io::Result<Vec<LogFile>> {
    let base = format!("{task}.{}", kind.as_str());
    let mut out = Vec::new();
    for index in indices(logs_dir, &base)? {
        let path = logs_dir.join(format!("{base}.{index}"));
        match std::fs::metadata(&path) {
            Ok(m) => out.push(LogFile {
                index,
                path,
                size: m.len(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The file and offset of byte `pos` of the concatenation.
fn locate(files: &[LogFile], pos: u64) -> (u64, u64) {
    let mut start = 0;
    for f in files {
        if pos < start + f.size {
            return (f.index, pos - start);
        }
        start += f.size;
    }
    files.last().map_or((0, 0), |f| (f.index, f.size))
}

/// Streams a task's logs. The first item is a `NotFound` error when the task has no log
/// file yet. Ends at the end (without `follow`) or when `shutdown` fires.
pub fn stream_logs(
    logs_dir: PathBuf,
    task: String,
    kind: LogKind,
    opts: ReadOptions,
    shutdown: CancellationToken,
) -> impl Stream<Item = io::Result<LogChunk>> + Send + 'static {
    async_stream::try_stream! {
        let files = log_files(&logs_dir, &task, kind)?;
        if files.is_empty() {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("log entry for task {task:?} and log type {:?} not found", kind.as_str()),
            ))?;
        }
        let total: u64 = files.iter().map(|f| f.size).sum();
        let pos = match opts.origin {
            Origin::Start => opts.offset.min(total),
            Origin::End => total.saturating_sub(opts.offset),
        };
        let (mut index, mut offset) = locate(&files, pos);
        let base = format!("{task}.{}", kind.as_str());
        let mut buf = vec![0u8; opts.chunk_size.max(1)];
        let mut next_pending: Option<u64> = None;
        loop {
            let name = format!("{base}.{index}");
            match tokio::fs::File::open(logs_dir.join(&name)).await {
                Ok(mut f) => {
                    f.seek(SeekFrom::Start(offset)).await?;
                    loop {
                        let n = f.read(&mut buf).await?;
                        if n == 0 {
                            break;
                        }
                        yield LogChunk { file: name.clone(), offset, data: buf[..n].to_vec() };
                        offset += n as u64;
                    }
                }
                // Purged under us: move on below.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => Err(e)?,
            }
            if let Some(next) = next_pending.take() {
                index = next;
                offset = 0;
                continue;
            }
            let next = indices(&logs_dir, &base)?.into_iter().find(|i| *i > index);
            if next.is_some() {
                // Read the current file once more before moving on.
                next_pending = next;
                continue;
            }
            if !opts.follow {
                break;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(opts.poll_interval) => {}
            }
        }
    }
}

/// Reads a task's logs to the end (no follow) into memory.
pub async fn read_logs(
    logs_dir: &Path,
    task: &str,
    kind: LogKind,
    origin: Origin,
    offset: u64,
) -> io::Result<Vec<u8>> {
    use futures::StreamExt;
    let opts = ReadOptions {
        origin,
        offset,
        ..ReadOptions::default()
    };
    let s = stream_logs(
        logs_dir.to_owned(),
        task.to_owned(),
        kind,
        opts,
        CancellationToken::new(),
    );
    let mut s = std::pin::pin!(s);
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend(chunk?.data);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(sizes: &[(u64, u64)]) -> Vec<LogFile> {
        sizes
            .iter()
            .map(|(index, size)| LogFile {
                index: *index,
                path: PathBuf::new(),
                size: *size,
            })
            .collect()
    }

    #[test]
    fn locate_table() {
        let f = files(&[(3, 4), (4, 0), (5, 6)]);
        for (pos, want) in [
            (0, (3, 0)),
            (3, (3, 3)),
            (4, (5, 0)),
            (9, (5, 5)),
            (10, (5, 6)),
            (99, (5, 6)),
        ] {
            assert_eq!(locate(&f, pos), want, "{pos}");
        }
        assert_eq!(locate(&[], 5), (0, 0));
        assert_eq!(Origin::parse("end"), Some(Origin::End));
        assert_eq!(Origin::parse("middle"), None);
    }

    #[tokio::test]
    async fn reads_concatenated_with_origin_and_offset() {
        let d = tempfile::tempdir().unwrap();
        for (i, text) in [(1, "one\n"), (2, "two\n"), (3, "three\n")] {
            std::fs::write(d.path().join(format!("web.stdout.{i}")), text).unwrap();
        }
        std::fs::write(d.path().join("web.stderr.0"), "err\n").unwrap();
        let read = |origin, offset| read_logs(d.path(), "web", LogKind::Stdout, origin, offset);
        assert_eq!(read(Origin::Start, 0).await.unwrap(), b"one\ntwo\nthree\n");
        assert_eq!(read(Origin::Start, 5).await.unwrap(), b"wo\nthree\n");
        assert_eq!(read(Origin::End, 8).await.unwrap(), b"o\nthree\n");
        assert_eq!(read(Origin::End, 0).await.unwrap(), b"");
        assert_eq!(read(Origin::End, 1000).await.unwrap(), b"one\ntwo\nthree\n");
        assert_eq!(read(Origin::Start, 1000).await.unwrap(), b"");
        let e = read_logs(d.path(), "db", LogKind::Stdout, Origin::Start, 0)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            "log entry for task \"db\" and log type \"stdout\" not found"
        );
    }
}
