//! `ExecTaskStreaming` on the wire ↔ [`ExecSession`] for the driver.
//!
//! The driver's future is polled inside the response stream, so when the
//! host ends the call tonic drops the stream and with it the future: the
//! driver's command dies with the session, without a task to track.

use std::future::Future;

use drover_proto::v1::{self, ExecTaskStreamingIoOperation as IoOp};
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::mpsc;
use tonic::Status;

use super::convert;
use crate::driver::ExitResult;
use crate::exec::{ExecChunk, ExecInput, ExecSession, ExecSink};

/// The session for a call whose first request is `first`; later requests
/// come from `rest`.
pub(super) fn session(
    first: v1::ExecTaskStreamingRequest,
    rest: tonic::Streaming<v1::ExecTaskStreamingRequest>,
) -> Result<(ExecSession, mpsc::Receiver<ExecChunk>), Status> {
    let Some(setup) = first.setup.clone() else {
        return Err(Status::invalid_argument(
            "ExecTaskStreaming: the first request must carry setup",
        ));
    };
    if setup.task_id.is_empty() {
        return Err(Status::invalid_argument("setup.task_id is empty"));
    }
    if setup.command.first().is_none_or(String::is_empty) {
        return Err(Status::invalid_argument(
            "setup.command is empty: name a program to run",
        ));
    }
    // A host that stops sending (or fails) just ends the input; the command
    // keeps running until it exits or the call is dropped.
    let later = rest
        .take_while(|r| std::future::ready(r.is_ok()))
        .filter_map(|r| std::future::ready(r.ok()));
    let input = stream::once(std::future::ready(first))
        .chain(later)
        .flat_map(|r| stream::iter(inputs(r)))
        .boxed();
    let (output, rx) = ExecSink::channel();
    let session = ExecSession {
        task_id: setup.task_id,
        command: setup.command,
        tty: setup.tty,
        input,
        output,
    };
    Ok((session, rx))
}

/// What one request asks for, in order: a resize, then stdin data, then its close.
fn inputs(r: v1::ExecTaskStreamingRequest) -> Vec<ExecInput> {
    let mut out = Vec::new();
    if let Some(size) = r.tty_size {
        match (u16::try_from(size.height), u16::try_from(size.width)) {
            (Ok(height), Ok(width)) => out.push(ExecInput::Resize { height, width }),
            _ => tracing::warn!(
                height = size.height,
                width = size.width,
                "ignoring tty_size: height and width must be 0..=65535"
            ),
        }
    }
    if let Some(op) = r.stdin {
        if !op.data.is_empty() {
            out.push(ExecInput::Stdin(op.data));
        }
        if op.close {
            out.push(ExecInput::StdinClosed);
        }
    }
    out
}

fn io(data: Vec<u8>, close: bool) -> Option<IoOp> {
    Some(IoOp { data, close })
}

fn chunk(c: ExecChunk) -> v1::ExecTaskStreamingResponse {
    match c {
        ExecChunk::Stdout(data) => v1::ExecTaskStreamingResponse {
            stdout: io(data, false),
            ..Default::default()
        },
        ExecChunk::Stderr(data) => v1::ExecTaskStreamingResponse {
            stderr: io(data, false),
            ..Default::default()
        },
    }
}

/// The response stream: output while `run` (the driver's call) runs, what
/// it wrote before returning, the closes of stdout and stderr, then `exited`
/// with the result, or the driver's error as the stream's status.
pub(super) fn responses(
    run: impl Future<Output = crate::Result<ExitResult>> + Send + 'static,
    mut output: mpsc::Receiver<ExecChunk>,
) -> impl Stream<Item = Result<v1::ExecTaskStreamingResponse, Status>> + Send + 'static {
    async_stream::stream! {
        let mut run = std::pin::pin!(run);
        let result = loop {
            tokio::select! {
                biased;
                Some(c) = output.recv() => yield Ok(chunk(c)),
                r = &mut run => break r,
            }
        };
        while let Ok(c) = output.try_recv() {
            yield Ok(chunk(c));
        }
        match result {
            Ok(exit) => {
                yield Ok(v1::ExecTaskStreamingResponse {
                    stdout: io(Vec::new(), true),
                    ..Default::default()
                });
                yield Ok(v1::ExecTaskStreamingResponse {
                    stderr: io(Vec::new(), true),
                    ..Default::default()
                });
                yield Ok(v1::ExecTaskStreamingResponse {
                    exited: true,
                    result: Some(convert::exit_result(exit)),
                    ..Default::default()
                });
            }
            Err(e) => yield Err(e.into_status()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_becomes_resize_then_data_then_close() {
        let r = v1::ExecTaskStreamingRequest {
            setup: None,
            tty_size: Some(v1::exec_task_streaming_request::TerminalSize {
                height: 24,
                width: 80,
            }),
            stdin: io(b"ls\n".to_vec(), true),
        };
        assert_eq!(
            inputs(r),
            vec![
                ExecInput::Resize {
                    height: 24,
                    width: 80
                },
                ExecInput::Stdin(b"ls\n".to_vec()),
                ExecInput::StdinClosed,
            ]
        );
        let bad = v1::ExecTaskStreamingRequest {
            tty_size: Some(v1::exec_task_streaming_request::TerminalSize {
                height: -1,
                width: 80,
            }),
            ..Default::default()
        };
        assert!(inputs(bad).is_empty());
    }

    #[tokio::test]
    async fn output_written_before_the_exit_comes_before_it() {
        let (sink, rx) = ExecSink::channel();
        let run = async move {
            sink.stdout(b"a".to_vec()).await?;
            sink.stderr(b"b".to_vec()).await?;
            Ok(ExitResult {
                exit_code: 3,
                ..Default::default()
            })
        };
        let all: Vec<_> = responses(run, rx).collect().await;
        let all: Vec<_> = all.into_iter().map(|r| r.expect("ok")).collect();
        assert_eq!(all.len(), 5, "{all:?}");
        assert_eq!(
            all[0].stdout.as_ref().map(|o| o.data.as_slice()),
            Some(&b"a"[..])
        );
        assert_eq!(
            all[1].stderr.as_ref().map(|o| o.data.as_slice()),
            Some(&b"b"[..])
        );
        assert!(all[2].stdout.as_ref().is_some_and(|o| o.close));
        assert!(all[3].stderr.as_ref().is_some_and(|o| o.close));
        assert!(all[4].exited);
        assert_eq!(all[4].result.as_ref().map(|r| r.exit_code), Some(3));
    }
}
