//! Cases about `ExecTaskStreaming` (`alloc exec`), after Nomad's
//! `ExecTaskStreamingConformanceTests`: exact output and exit code, output
//! that streams while the command runs, stdin with its close, a terminal's
//! `\r\n` line endings and size, and a hangup that kills the command.
//!
//! They run only when the driver declares `exec`. Most need a shell inside
//! the task ([`super::Recipe::exec_shell`]); `exec_stream.reply` and
//! `exec_stream.unknown_task` work with any recipe.

use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::cases_task::task_id;
use super::ctx::Ctx;
use super::recipe::Behaviour;
use super::{CaseResult, Outcome};
use crate::proto::v1::{self, exec_task_streaming_request as req};

/// How long one exec may take before the case fails.
const EXEC_DEADLINE: Duration = Duration::from_secs(10);

/// An open `ExecTaskStreaming` call and what came back so far.
struct Session {
    tx: mpsc::Sender<v1::ExecTaskStreamingRequest>,
    rx: tonic::Streaming<v1::ExecTaskStreamingResponse>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    stdout_messages: usize,
    first_output: Option<Instant>,
    exit: Option<(v1::ExitResult, Instant)>,
}

fn stdin(data: &[u8], close: bool) -> v1::ExecTaskStreamingRequest {
    v1::ExecTaskStreamingRequest {
        stdin: Some(v1::ExecTaskStreamingIoOperation {
            data: data.to_vec(),
            close,
        }),
        ..Default::default()
    }
}

fn size(height: i32, width: i32) -> Option<req::TerminalSize> {
    Some(req::TerminalSize { height, width })
}

impl Session {
    /// Opens the call; `first` is sent together with the setup.
    async fn open(
        ctx: &Ctx,
        task_id: &str,
        command: Vec<String>,
        tty: bool,
        first: v1::ExecTaskStreamingRequest,
    ) -> Result<Session, tonic::Status> {
        let (tx, rx) = mpsc::channel(8);
        let setup = v1::ExecTaskStreamingRequest {
            setup: Some(req::Setup {
                task_id: task_id.to_string(),
                command,
                tty,
            }),
            ..first
        };
        let _ = tx.send(setup).await;
        let rx = ctx
            .driver()
            .exec_task_streaming(ReceiverStream::new(rx))
            .await?
            .into_inner();
        Ok(Session {
            tx,
            rx,
            stdout: Vec::new(),
            stderr: Vec::new(),
            stdout_messages: 0,
            first_output: None,
            exit: None,
        })
    }

    async fn send(&self, r: v1::ExecTaskStreamingRequest) -> Result<(), String> {
        self.tx
            .send(r)
            .await
            .map_err(|_| "the exec call ended before the case sent its input".to_string())
    }

    /// Reads one message; `Ok(false)` once the stream ended.
    async fn step(&mut self, deadline: Instant) -> Result<bool, tonic::Status> {
        let next = tokio::time::timeout_at(deadline.into(), self.rx.next()).await;
        let msg = match next {
            Err(_) => return Err(tonic::Status::deadline_exceeded("no exec output in time")),
            Ok(None) => return Ok(false),
            Ok(Some(m)) => m?,
        };
        if self.exit.is_some() {
            return Err(tonic::Status::internal(
                "a message came after the `exited` one",
            ));
        }
        if let Some(op) = msg.stdout
            && !op.data.is_empty()
        {
            self.stdout.extend_from_slice(&op.data);
            self.stdout_messages += 1;
            self.first_output.get_or_insert_with(Instant::now);
        }
        if let Some(op) = msg.stderr {
            self.stderr.extend_from_slice(&op.data);
        }
        if msg.exited {
            let result = msg.result.unwrap_or_default();
            self.exit = Some((result, Instant::now()));
        }
        Ok(true)
    }

    /// Reads until stdout holds `needle`.
    async fn until_stdout(&mut self, needle: &str) -> Result<(), String> {
        let deadline = Instant::now() + EXEC_DEADLINE;
        while !String::from_utf8_lossy(&self.stdout).contains(needle) {
            if !self.step(deadline).await.map_err(status)? {
                return Err(format!(
                    "the stream ended before stdout showed {needle:?}; stdout {:?}",
                    self.text()
                ));
            }
        }
        Ok(())
    }

    /// Reads to the end; the stream must end with `exited`.
    async fn finish(mut self) -> Result<Self, String> {
        let deadline = Instant::now() + EXEC_DEADLINE;
        while self.step(deadline).await.map_err(status)? {}
        if self.exit.is_none() {
            return Err(format!(
                "the stream ended without an `exited` message; stdout {:?}",
                self.text()
            ));
        }
        Ok(self)
    }

    fn text(&self) -> (String, String) {
        (
            String::from_utf8_lossy(&self.stdout).into_owned(),
            String::from_utf8_lossy(&self.stderr).into_owned(),
        )
    }

    fn code(&self) -> i32 {
        self.exit.as_ref().map_or(-1, |(r, _)| r.exit_code)
    }

    /// Fails unless stdout, stderr and the exit code are exactly these.
    fn expect(&self, stdout: &str, stderr: &str, code: i32) -> Result<(), String> {
        let (out, err) = self.text();
        if out != stdout || err != stderr || self.code() != code {
            return Err(format!(
                "expected stdout {stdout:?}, stderr {stderr:?}, exit {code}; \
                 got {out:?}, {err:?}, exit {}",
                self.code()
            ));
        }
        Ok(())
    }
}

fn status(s: tonic::Status) -> String {
    format!("ExecTaskStreaming failed: {:?}: {}", s.code(), s.message())
}

/// The case's precondition: `exec` declared and a shell in the task. Yields
/// the running task's ID and the shell command builder.
macro_rules! shell_task {
    ($ctx:expr) => {{
        if !$ctx.caps.exec {
            return Ok(Outcome::Skipped("the driver does not declare exec".into()));
        }
        let recipe = match $ctx.recipe() {
            Ok(r) => r,
            Err(skip) => return Ok(skip),
        };
        if recipe.exec_shell("true").is_none() {
            return Ok(Outcome::Skipped(format!(
                "the {} recipe has no shell inside tasks",
                recipe.name()
            )));
        }
        let resp = $ctx.start_task(&Behaviour::forever()).await?;
        let sh = move |script: &str| recipe.exec_shell(script).unwrap_or_default();
        (task_id(&resp), sh)
    }};
}

async fn open(
    ctx: &Ctx,
    id: &str,
    command: Vec<String>,
    tty: bool,
    first: v1::ExecTaskStreamingRequest,
) -> Result<Session, String> {
    Session::open(ctx, id, command, tty, first)
        .await
        .map_err(status)
}

pub(crate) fn output(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let (id, sh) = shell_task!(ctx);
        let script = "echo hello stdout; echo hello stderr >&2; exit 43";
        let s = open(ctx, &id, sh(script), false, Default::default()).await?;
        s.finish()
            .await?
            .expect("hello stdout\n", "hello stderr\n", 43)?;
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn streaming(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let (id, sh) = shell_task!(ctx);
        // 0.9 s pass between the first line and the exit: a driver that
        // forwards output as it comes shows the first line that much earlier.
        let script = "for n in 1 2 3; do echo $n; sleep 0.3; done";
        let s = open(ctx, &id, sh(script), false, Default::default()).await?;
        let s = s.finish().await?;
        s.expect("1\n2\n3\n", "", 0)?;
        let (Some(first), Some((_, exited))) = (s.first_output, s.exit.as_ref()) else {
            return Err("no output or no exit".into());
        };
        let ahead = exited.duration_since(first);
        if ahead < Duration::from_millis(600) || s.stdout_messages < 2 {
            return Err(format!(
                "output was held back: the first line came {ahead:?} before the exit, \
                 in {} message(s); it was written 0.9 s before",
                s.stdout_messages
            ));
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn no_tty(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let (id, sh) = shell_task!(ctx);
        let s = open(ctx, &id, sh("stty size"), false, Default::default()).await?;
        let s = s.finish().await?;
        let (out, err) = s.text();
        if s.code() == 0 || err.is_empty() {
            return Err(format!(
                "without a tty `stty size` must fail with a message on stderr; \
                 got exit {}, stdout {out:?}, stderr {err:?}",
                s.code()
            ));
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn stdin_passing(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let (id, sh) = shell_task!(ctx);
        let first = stdin(b"hello from stdin\nnot read\n", false);
        let s = open(ctx, &id, sh("head -n1"), false, first).await?;
        s.finish().await?.expect("hello from stdin\n", "", 0)?;

        // The close must reach the command: `cat` ends only at EOF.
        let s = open(ctx, &id, sh("cat; echo eof"), false, Default::default()).await?;
        s.send(stdin(b"abc", false)).await?;
        s.send(stdin(b"", true)).await?;
        s.finish().await?.expect("abceof\n", "", 0)?;
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn tty(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let (id, sh) = shell_task!(ctx);
        let first = v1::ExecTaskStreamingRequest {
            tty_size: size(100, 100),
            ..Default::default()
        };
        let script = "echo hello stdout; echo hello stderr >&2; stty size; exit 43";
        let s = open(ctx, &id, sh(script), true, first).await?;
        s.finish()
            .await?
            .expect("hello stdout\r\nhello stderr\r\n100 100\r\n", "", 43)?;
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn tty_input(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let (id, sh) = shell_task!(ctx);
        let first = v1::ExecTaskStreamingRequest {
            tty_size: size(100, 100),
            ..Default::default()
        };
        let script = "stty size; read x; echo \"got $x\"; stty size";
        let mut s = open(ctx, &id, sh(script), true, first).await?;
        s.until_stdout("100 100\r\n").await?;
        // The terminal echoes what is typed; the resize comes before it.
        s.send(v1::ExecTaskStreamingRequest {
            tty_size: size(30, 80),
            ..stdin(b"hi\n", false)
        })
        .await?;
        s.finish()
            .await?
            .expect("100 100\r\nhi\r\ngot hi\r\n30 80\r\n", "", 0)?;
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn hangup(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let (id, sh) = shell_task!(ctx);
        let mut s = open(
            ctx,
            &id,
            sh("echo pid=$$; exec sleep 600"),
            false,
            Default::default(),
        )
        .await?;
        s.until_stdout("\n").await?;
        let (out, _) = s.text();
        let pid: i32 = out
            .trim()
            .strip_prefix("pid=")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("expected pid=N on stdout, got {out:?}"))?;
        drop(s);
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) {
            if Instant::now() >= deadline {
                return Err(format!(
                    "the exec'd command (pid {pid}) still runs 5 s after the host hung up"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

/// Whether `pid` runs (a zombie does not).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

pub(crate) fn reply(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        if !ctx.caps.exec {
            return Ok(Outcome::Skipped("the driver does not declare exec".into()));
        }
        let recipe = match ctx.recipe() {
            Ok(r) => r,
            Err(skip) => return Ok(skip),
        };
        let reply = ("conformance-exec-stream".to_string(), 5);
        let b = Behaviour {
            exec_reply: Some(reply.clone()),
            ..Behaviour::forever()
        };
        let resp = ctx.start_task(&b).await?;
        let command = recipe.exec_command(&reply);
        let s = open(ctx, &task_id(&resp), command, false, Default::default()).await?;
        let s = s.finish().await?;
        let (out, _) = s.text();
        if !out.contains(&reply.0) || s.code() != reply.1 {
            return Err(format!(
                "expected stdout with {:?} and exit {}, got {out:?} and exit {}",
                reply.0,
                reply.1,
                s.code()
            ));
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn unknown_task(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        if !ctx.caps.exec {
            return Ok(Outcome::Skipped("the driver does not declare exec".into()));
        }
        let command = vec!["true".to_string()];
        let id = "conformance/unknown/0";
        let code = match Session::open(ctx, id, command, false, Default::default()).await {
            Err(s) => s.code(),
            Ok(s) => match s.finish().await {
                Ok(s) => {
                    return Err(format!(
                        "exec in an unknown task must fail NotFound, it exited {}",
                        s.code()
                    ));
                }
                Err(e) if e.contains("NotFound") => tonic::Code::NotFound,
                Err(e) => return Err(format!("expected NotFound, got: {e}")),
            },
        };
        if code != tonic::Code::NotFound {
            return Err(format!("expected NotFound, got {code:?}"));
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}
