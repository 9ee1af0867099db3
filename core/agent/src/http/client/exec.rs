//! `GET /v1/client/allocation/:id/exec` (reference §3.3, Nomad's
//! `api/allocations.go`): a command run interactively in a task, over a WebSocket.
//!
//! Query: `task` and `command` (a JSON array of strings) required, `tty` (bool).
//! Errors found before the session starts are HTTP answers (400 bad parameters or no
//! WebSocket upgrade, 403 exec disabled, 404 unknown allocation or task). After the
//! upgrade the client sends text frames [`ExecInputFrame`] (`stdin` base64 data and
//! close, `tty_size`) and the agent sends [`ExecOutputFrame`]s: `stdout`/`stderr` data,
//! their closes, then `{"exited":true,"result":{"exit_code":N}}` and a normal close.
//! An error after the upgrade is a close frame with code 1011 and the reason; a client
//! that goes away ends the session, and the driver kills the command.

use axum::extract::Path as UrlPath;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use drover_proto::v1::{self, exec_task_streaming_request::TerminalSize};
use futures::{SinkExt, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ClientApiError, check_alloc_id, client_of};
use crate::http::error::{ApiError, ApiResult};
use crate::http::respond::Ctx;

/// What an exec session needs from the client: the driver's answers to `input`
/// (which the client sends after its setup message).
pub type ExecOutput =
    futures::stream::BoxStream<'static, Result<v1::ExecTaskStreamingResponse, ClientApiError>>;

/// Input messages for the driver, after the setup. A concrete type: behind a boxed
/// `dyn Stream` the driver call's future is not provably `Send` (a rustc
/// higher-ranked lifetime limitation).
pub type ExecInput = tokio_stream::wrappers::ReceiverStream<v1::ExecTaskStreamingRequest>;

/// One stdin or output operation: base64 `data`, and whether the stream ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoFrame {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
}

/// A terminal's size in rows and columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TtySize {
    pub height: u16,
    pub width: u16,
}

/// A frame the WebSocket client sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecInputFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<IoFrame>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty_size: Option<TtySize>,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecExitResult {
    pub exit_code: i32,
}

/// A frame the agent sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecOutputFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<IoFrame>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<IoFrame>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exited: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ExecExitResult>,
}

/// The validated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecQuery {
    pub task: String,
    pub command: Vec<String>,
    pub tty: bool,
}

/// `task`, `command` and `tty` from the query, or the 400 naming what is wrong.
pub fn parse_query(task: Option<&str>, command: Option<&str>, tty: bool) -> ApiResult<ExecQuery> {
    let task = task.unwrap_or_default();
    if task.is_empty() {
        return Err(ApiError::bad_request("missing task parameter"));
    }
    let raw = command.unwrap_or_default();
    if raw.is_empty() {
        return Err(ApiError::bad_request(
            "missing command parameter: a JSON array such as [\"/bin/sh\"]",
        ));
    }
    let command: Vec<String> = serde_json::from_str(raw).map_err(|e| {
        ApiError::bad_request(format!(
            "command parameter must be a JSON array of strings: {e}"
        ))
    })?;
    if command.first().is_none_or(String::is_empty) {
        return Err(ApiError::bad_request(
            "command parameter is empty: name a program to run",
        ));
    }
    Ok(ExecQuery {
        task: task.to_string(),
        command,
        tty,
    })
}

/// `GET /v1/client/allocation/:id/exec`.
pub async fn exec(
    ctx: Ctx,
    UrlPath(id): UrlPath<String>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let client = client_of(&ctx)?;
    let p = &ctx.params;
    let query = parse_query(p.get("task"), p.get("command"), p.flag("tty", false)?)?;
    check_alloc_id(&id)?;
    // Refused before anything runs: a plain GET must not start the command.
    let upgrade = upgrade
        .map_err(|e| ApiError::bad_request(format!("exec needs a WebSocket connection: {e}")))?;
    let (tx, rx) = mpsc::channel(16);
    let input = ExecInput::new(rx);
    let output = client.exec(&id, query, input).await?;
    let shutdown = ctx.shutdown.clone();
    Ok(upgrade.on_upgrade(move |socket| session(socket, output, tx, shutdown)))
}

/// Carries the session until the command exits, the client leaves or the agent stops.
async fn session(
    socket: WebSocket,
    mut output: ExecOutput,
    input: mpsc::Sender<v1::ExecTaskStreamingRequest>,
    shutdown: CancellationToken,
) {
    let (mut to_client, from_client) = socket.split();
    let reader = read_frames(from_client, input);
    let mut reader = std::pin::pin!(reader);
    let close = loop {
        tokio::select! {
            item = output.next() => match item {
                Some(Ok(resp)) => {
                    let exited = resp.exited;
                    for frame in frames(resp) {
                        let Ok(text) = serde_json::to_string(&frame) else { continue };
                        if to_client.send(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                    }
                    if exited {
                        break (close_code::NORMAL, String::new());
                    }
                }
                Some(Err(e)) => break (close_code::ERROR, e.to_string()),
                None => break (close_code::ERROR, "the exec session ended without an exit status".into()),
            },
            outcome = &mut reader => match outcome {
                // The client went away (or closed): the session ends with it.
                Ok(()) => return,
                Err(reason) => break (close_code::POLICY, reason),
            },
            () = shutdown.cancelled() => break (close_code::AWAY, "the agent is shutting down".into()),
        }
    };
    let frame = CloseFrame {
        code: close.0,
        reason: Utf8Bytes::from(truncate(&close.1, 120)),
    };
    let _ = to_client.send(Message::Close(Some(frame))).await;
    let _ = to_client.close().await;
}

/// Forwards the client's frames to the driver. `Ok` when the client closes or goes
/// away, `Err` with the reason for a frame that is not an [`ExecInputFrame`].
async fn read_frames(
    mut from_client: impl Stream<Item = Result<Message, axum::Error>> + Unpin,
    input: mpsc::Sender<v1::ExecTaskStreamingRequest>,
) -> Result<(), String> {
    while let Some(Ok(msg)) = from_client.next().await {
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => return Ok(()),
            // Pings are answered by the WebSocket layer.
            _ => continue,
        };
        let frame: ExecInputFrame =
            serde_json::from_str(&text).map_err(|e| format!("bad exec frame: {e}"))?;
        let request = request(frame)?;
        // The driver's side is gone: its end reaches the client through the output.
        if input.send(request).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
    Ok(())
}

/// A client frame as the driver's message.
fn request(frame: ExecInputFrame) -> Result<v1::ExecTaskStreamingRequest, String> {
    let stdin = match frame.stdin {
        Some(op) => Some(v1::ExecTaskStreamingIoOperation {
            data: B64
                .decode(op.data.as_bytes())
                .map_err(|e| format!("bad exec frame: stdin.data is not base64: {e}"))?,
            close: op.close,
        }),
        None => None,
    };
    Ok(v1::ExecTaskStreamingRequest {
        setup: None,
        tty_size: frame.tty_size.map(|s| TerminalSize {
            height: i32::from(s.height),
            width: i32::from(s.width),
        }),
        stdin,
    })
}

/// A driver message as the frames the client gets (data before closes).
fn frames(resp: v1::ExecTaskStreamingResponse) -> Vec<ExecOutputFrame> {
    let io = |op: v1::ExecTaskStreamingIoOperation| IoFrame {
        data: if op.data.is_empty() {
            String::new()
        } else {
            B64.encode(&op.data)
        },
        close: op.close,
    };
    let mut out = Vec::new();
    if let Some(op) = resp.stdout.filter(|o| !o.data.is_empty() || o.close) {
        out.push(ExecOutputFrame {
            stdout: Some(io(op)),
            ..Default::default()
        });
    }
    if let Some(op) = resp.stderr.filter(|o| !o.data.is_empty() || o.close) {
        out.push(ExecOutputFrame {
            stderr: Some(io(op)),
            ..Default::default()
        });
    }
    if resp.exited {
        out.push(ExecOutputFrame {
            exited: true,
            result: Some(ExecExitResult {
                exit_code: resp.result.map_or(0, |r| r.exit_code),
            }),
            ..Default::default()
        });
    }
    out
}

/// A close reason fits in 123 bytes; cut at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_errors_name_the_parameter() {
        let err = |t, c| parse_query(t, c, false).expect_err("invalid").message;
        assert!(err(None, Some("[\"ls\"]")).contains("missing task"));
        assert!(err(Some("web"), None).contains("missing command"));
        assert!(err(Some("web"), Some("ls")).contains("JSON array"));
        assert!(err(Some("web"), Some("[]")).contains("empty"));
        let q = parse_query(Some("web"), Some("[\"sh\",\"-c\",\"x y\"]"), true).expect("valid");
        assert_eq!(q.command, vec!["sh", "-c", "x y"]);
        assert!(q.tty);
    }

    #[test]
    fn frames_decode_and_encode_like_nomad() {
        let f: ExecInputFrame =
            serde_json::from_str(r#"{"stdin":{"data":"aGk=","close":true}}"#).expect("frame");
        let r = request(f).expect("valid");
        let stdin = r.stdin.expect("stdin");
        assert_eq!((stdin.data.as_slice(), stdin.close), (&b"hi"[..], true));
        let f: ExecInputFrame =
            serde_json::from_str(r#"{"tty_size":{"height":24,"width":80}}"#).expect("frame");
        assert_eq!(
            request(f).expect("valid").tty_size.map(|s| s.width),
            Some(80)
        );
        let bad = ExecInputFrame {
            stdin: Some(IoFrame {
                data: "***".into(),
                close: false,
            }),
            ..Default::default()
        };
        assert!(request(bad).expect_err("not base64").contains("stdin.data"));

        let out = frames(v1::ExecTaskStreamingResponse {
            stdout: Some(v1::ExecTaskStreamingIoOperation {
                data: b"out".to_vec(),
                close: false,
            }),
            exited: true,
            result: Some(v1::ExitResult {
                exit_code: 7,
                ..Default::default()
            }),
            ..Default::default()
        });
        let json: Vec<String> = out
            .iter()
            .map(|f| serde_json::to_string(f).expect("json"))
            .collect();
        assert_eq!(
            json,
            vec![
                r#"{"stdout":{"data":"b3V0"}}"#,
                r#"{"exited":true,"result":{"exit_code":7}}"#
            ]
        );
    }

    #[test]
    fn close_reasons_are_cut_at_a_character() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
