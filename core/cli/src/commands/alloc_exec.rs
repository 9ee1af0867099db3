//! `drover alloc exec [-task TASK] [-i] [-t] [-e ~] ALLOC COMMAND [ARGS...]`: run a
//! command inside a running task and connect it to this terminal, over the
//! allocation's client's WebSocket `/v1/client/allocation/:id/exec` (Nomad's
//! `command/alloc_exec.go`). Exits with the command's exit code.
//!
//! `-t` (default: when stdin is a terminal) runs the command on a remote terminal:
//! the local one goes to raw mode (restored at the end) and its size follows local
//! resizes; typing `~.` at a line start disconnects. `-i=false` sends no input.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use drover_agent::http::client::exec::{ExecInputFrame, ExecOutputFrame, IoFrame, TtySize};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::alloc_exec_term::{Escape, RawMode, size};
use super::alloc_logs::pick_task;
use super::alloc_status::lookup;
use super::{api_client, fail};
use crate::api::{ApiArgs, ApiError, WebSocket, escape};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// The task; may be left out when the allocation's group has one task.
    #[arg(long, value_name = "TASK")]
    task: Option<String>,
    /// Pass stdin to the command (-i=false: none).
    #[arg(short = 'i', num_args = 0..=1, require_equals = true, default_value_t = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    interactive: bool,
    /// Run the command on a terminal (default: when stdin is a terminal).
    #[arg(short = 't', num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    tty: Option<bool>,
    /// With -t: this character and `.` at a line start disconnect; "none" turns it off.
    #[arg(short = 'e', value_name = "CHAR", default_value = "~")]
    escape: String,
    /// Full IDs in errors.
    #[arg(long)]
    verbose: bool,
    /// Allocation ID or unique prefix.
    #[arg(value_name = "ALLOC")]
    alloc: String,
    /// The command and its arguments.
    #[arg(value_name = "COMMAND", required = true, trailing_var_arg = true,
          allow_hyphen_values = true, num_args = 1..)]
    command: Vec<String>,
}

/// The escape character of `-e`: one ASCII character, or `none`.
pub fn escape_char(s: &str) -> Result<Option<u8>, String> {
    match s.as_bytes() {
        b"none" => Ok(None),
        [c] if c.is_ascii() => Ok(Some(*c)),
        _ => Err(format!(
            "-e must be a single character or \"none\", got {s:?}"
        )),
    }
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let esc = or_exit!(escape_char(&a.escape).map_err(fail));
    let client = or_exit!(api_client(&a.api));
    let alloc = or_exit!(lookup(&client, &a.alloc, a.verbose).await.map_err(fail));
    let task = or_exit!(pick_task(&alloc, a.task).map_err(fail));
    let local_tty = std::io::stdin().is_terminal();
    let tty = a.tty.unwrap_or(local_tty && a.interactive);
    let command = serde_json::to_string(&a.command)?;
    let path = format!("/v1/client/allocation/{}/exec", escape(&alloc.id));
    let query = [
        ("task", task.as_str()),
        ("command", command.as_str()),
        ("tty", if tty { "true" } else { "false" }),
    ];
    // Like Nomad's CLI, talk to the node's agent directly (the agent given with
    // -address only serves the allocations of its own client); fall back to it when
    // the node's address is unknown or unreachable.
    let node_agent = match client.node(&alloc.node_id).await {
        Ok(n) if !n.http_addr.is_empty() => client.for_agent(&n.http_addr).ok(),
        _ => None,
    };
    let ws = match &node_agent {
        Some(c) => match c.websocket(&path, &query).await {
            Err(ApiError::Connect { .. } | ApiError::Http { .. }) => {
                client.websocket(&path, &query).await
            }
            answered => answered,
        },
        None => client.websocket(&path, &query).await,
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return Ok(fail(format!(
                "Error running a command in task {task:?}: {e}"
            )));
        }
    };
    let mut raw = match (tty && local_tty).then(|| RawMode::enable(0)).transpose() {
        Ok(r) => r,
        Err(e) => return Ok(fail(format!("Error setting the terminal to raw mode: {e}"))),
    };
    let ended = session(ws, a.interactive, tty, esc).await;
    if let Some(r) = raw.as_mut() {
        r.restore();
    }
    Ok(match ended {
        Ok(code) => ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1)),
        Err(why) => fail(format!("Error in the exec session of task {task:?}: {why}")),
    })
}

/// Stdin, read on its own thread: a blocking read must not hold the runtime open
/// after the session ends. `None` is the end of input.
fn stdin_chunks() -> mpsc::Receiver<Option<Vec<u8>>> {
    let (tx, rx) = mpsc::channel(4);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut stdin = std::io::stdin();
        loop {
            let chunk = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => None,
                Ok(n) => Some(buf[..n].to_vec()),
            };
            let end = chunk.is_none();
            if tx.blocking_send(chunk).is_err() || end {
                return;
            }
        }
    });
    rx
}

async fn send(
    ws: &mut futures::stream::SplitSink<WebSocket, Message>,
    frame: ExecInputFrame,
) -> Result<(), String> {
    let text = serde_json::to_string(&frame).map_err(|e| e.to_string())?;
    ws.send(Message::Text(text.into()))
        .await
        .map_err(|e| format!("sending to the agent: {e}"))
}

fn stdin_frame(data: &[u8], close: bool) -> ExecInputFrame {
    ExecInputFrame {
        stdin: Some(IoFrame {
            data: B64.encode(data),
            close,
        }),
        tty_size: None,
    }
}

fn size_frame() -> Option<ExecInputFrame> {
    let (height, width) = size(1).or_else(|| size(0))?;
    Some(ExecInputFrame {
        stdin: None,
        tty_size: Some(TtySize { height, width }),
    })
}

/// Writes remote output locally.
fn write_out(op: Option<IoFrame>, stderr: bool) -> Result<(), String> {
    let Some(op) = op.filter(|o| !o.data.is_empty()) else {
        return Ok(());
    };
    let data = B64
        .decode(op.data.as_bytes())
        .map_err(|e| format!("the agent sent output that is not base64: {e}"))?;
    let result = if stderr {
        let mut e = std::io::stderr().lock();
        e.write_all(&data).and_then(|()| e.flush())
    } else {
        let mut o = std::io::stdout().lock();
        o.write_all(&data).and_then(|()| o.flush())
    };
    result.map_err(|e| format!("writing output: {e}"))
}

/// Runs the session to the command's exit code.
async fn session(
    ws: WebSocket,
    interactive: bool,
    tty: bool,
    esc: Option<u8>,
) -> Result<i32, String> {
    let (mut to_agent, mut from_agent) = ws.split();
    if tty && let Some(frame) = size_frame() {
        send(&mut to_agent, frame).await?;
    }
    let mut input = if interactive {
        Some(stdin_chunks())
    } else {
        send(&mut to_agent, stdin_frame(&[], true)).await?;
        None
    };
    let mut resized = if tty {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok()
    } else {
        None
    };
    let mut escape = Escape::new(if tty { esc } else { None });
    loop {
        tokio::select! {
            msg = from_agent.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let frame: ExecOutputFrame = serde_json::from_str(&text)
                        .map_err(|e| format!("unexpected frame from the agent: {e}"))?;
                    write_out(frame.stdout, false)?;
                    write_out(frame.stderr, true)?;
                    if frame.exited {
                        return Ok(frame.result.map_or(0, |r| r.exit_code));
                    }
                }
                Some(Ok(Message::Close(close))) => {
                    let reason = close.map(|c| c.reason.to_string()).unwrap_or_default();
                    return Err(if reason.is_empty() {
                        "the agent ended the session without an exit code".into()
                    } else {
                        reason
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("connection to the agent failed: {e}")),
                None => return Err("the agent closed the connection without an exit code".into()),
            },
            chunk = async { input.as_mut()?.recv().await }, if input.is_some() => match chunk.flatten() {
                Some(data) => {
                    let (data, disconnect) = escape.filter(&data);
                    if !data.is_empty() {
                        send(&mut to_agent, stdin_frame(&data, false)).await?;
                    }
                    if disconnect {
                        let _ = to_agent.close().await;
                        return Err("disconnected (escape sequence typed)".into());
                    }
                }
                None => {
                    send(&mut to_agent, stdin_frame(&[], true)).await?;
                    input = None;
                }
            },
            Some(()) = async { resized.as_mut()?.recv().await }, if resized.is_some() => {
                if let Some(frame) = size_frame() {
                    send(&mut to_agent, frame).await?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_flag_is_one_character_or_none() {
        assert_eq!(escape_char("~"), Ok(Some(b'~')));
        assert_eq!(escape_char("none"), Ok(None));
        assert!(escape_char("ab").expect_err("two").contains("-e"));
        assert!(escape_char("").is_err());
    }
}
