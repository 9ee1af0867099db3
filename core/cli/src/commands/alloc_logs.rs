//! `drover alloc logs [-f] [-stderr] [-tail] [-n LINES] [-c BYTES] ALLOC [TASK]`: a
//! task's stdout (or stderr) as raw text, from the allocation's client through
//! `/v1/client/fs/logs?plain=true` (Nomad's `command/alloc_logs.go`).
//!
//! `-tail` (implied by `-n` and `-c`) reads from the end: `-c` bytes, else about
//! `-n` lines (default 10) fetched as `lines × 120` bytes and cut to the last `-n`
//! lines. With `-f` the cut applies to what the agent sends first (until it pauses),
//! then new output streams through until the agent ends the stream or the command is
//! interrupted.

use super::api_client;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use drover_types::Allocation;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::alloc_status::{check_task, task_names};
use super::fail;
use crate::api::{ApiArgs, LogsQuery};

/// Lines shown by `-tail` without `-n` or `-c`.
pub const DEFAULT_TAIL_LINES: u64 = 10;
/// Bytes fetched per wanted line (Nomad's estimate).
pub const BYTES_PER_LINE: u64 = 120;
/// While following, the first output is held this long for the line cut.
const SETTLE: Duration = Duration::from_millis(300);

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// Stream new output as it is written.
    #[arg(short = 'f')]
    follow: bool,
    /// Show stderr instead of stdout.
    #[arg(long)]
    stderr: bool,
    /// Show stdout (the default).
    #[arg(long, conflicts_with = "stderr")]
    stdout: bool,
    /// Read from the end of the log (10 lines unless -n or -c).
    #[arg(long)]
    tail: bool,
    /// With -tail: the number of lines to show.
    #[arg(short = 'n', value_name = "LINES")]
    lines: Option<u64>,
    /// With -tail: the number of bytes to show.
    #[arg(short = 'c', value_name = "BYTES")]
    bytes: Option<u64>,
    /// The task, when not given as the second argument.
    #[arg(long, value_name = "TASK")]
    task: Option<String>,
    /// Full IDs in errors.
    #[arg(long)]
    verbose: bool,
    /// Allocation ID or unique prefix.
    #[arg(value_name = "ALLOC")]
    alloc: String,
    /// Task name; may be left out when the allocation's group has one task.
    #[arg(value_name = "TASK")]
    task_arg: Option<String>,
}

/// Where to read from and how much to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// `start` or `end`.
    pub origin: &'static str,
    /// Bytes from the origin.
    pub offset: u64,
    /// Keep only the last this many lines of the first output.
    pub lines: Option<u64>,
}

/// The read window for the flags.
pub fn window(tail: bool, lines: Option<u64>, bytes: Option<u64>) -> Window {
    if !(tail || lines.is_some() || bytes.is_some()) {
        return Window {
            origin: "start",
            offset: 0,
            lines: None,
        };
    }
    let lines = lines.or(bytes.is_none().then_some(DEFAULT_TAIL_LINES));
    let offset = match (bytes, lines) {
        (Some(c), _) => c,
        (None, n) => n
            .unwrap_or(DEFAULT_TAIL_LINES)
            .saturating_mul(BYTES_PER_LINE),
    };
    Window {
        origin: "end",
        offset,
        lines,
    }
}

/// The last `n` lines of `buf` (a final line without newline counts as a line).
pub fn last_lines(buf: &[u8], n: u64) -> &[u8] {
    if n == 0 {
        return &[];
    }
    let body = buf.strip_suffix(b"\n").unwrap_or(buf);
    let mut seen = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return &buf[i + 1..];
            }
        }
    }
    buf
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = or_exit!(api_client(&a.api));
    let alloc = or_exit!(
        super::alloc_status::lookup(&client, &a.alloc, a.verbose)
            .await
            .map_err(fail)
    );
    let task = or_exit!(pick_task(&alloc, a.task_arg.or(a.task)).map_err(fail));
    let kind = if a.stderr { "stderr" } else { "stdout" };
    let w = window(a.tail, a.lines, a.bytes);
    let query = LogsQuery {
        task: task.clone(),
        kind,
        follow: a.follow,
        origin: w.origin,
        offset: w.offset,
    };
    let body = match client.logs(&alloc.id, &query).await {
        Ok(b) => b,
        Err(e) => return Ok(fail(format!("Error reading {kind} of task {task:?}: {e}"))),
    };
    Ok(match copy_out(body, w.lines, a.follow).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("Error reading {kind} of task {task:?}: {e}")),
    })
}

/// The task to read: the one named (it must be in the group), or the group's only
/// task.
pub(super) fn pick_task(alloc: &Allocation, given: Option<String>) -> Result<String, String> {
    if let Some(t) = given {
        check_task(alloc, &t)?;
        return Ok(t);
    }
    let mut tasks = task_names(alloc);
    if tasks.len() == 1 {
        return Ok(tasks.remove(0));
    }
    Err(format!(
        "Allocation {:?} is running the following tasks:\n{}\n\nPlease specify the task.",
        crate::format::limit(&alloc.id, crate::format::SHORT_ID),
        tasks
            .iter()
            .map(|t| format!("  * {t}"))
            .collect::<Vec<_>>()
            .join("\n")
    ))
}

/// Copies the body to stdout, cutting the first output to `lines` when asked.
async fn copy_out(mut body: Incoming, lines: Option<u64>, follow: bool) -> anyhow::Result<()> {
    let mut held: Option<Vec<u8>> = lines.map(|_| Vec::new());
    loop {
        let next = if held.is_some() && follow {
            match tokio::time::timeout(SETTLE, body.frame()).await {
                Ok(f) => f,
                Err(_) => {
                    // The agent paused: what it sent so far is the backlog.
                    flush_held(&mut held, lines)?;
                    continue;
                }
            }
        } else {
            body.frame().await
        };
        let Some(frame) = next else { break };
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        match held.as_mut() {
            Some(buf) => buf.extend_from_slice(&data),
            None => write_stdout(&data)?,
        }
    }
    flush_held(&mut held, lines)
}

fn flush_held(held: &mut Option<Vec<u8>>, lines: Option<u64>) -> anyhow::Result<()> {
    if let Some(buf) = held.take() {
        write_stdout(last_lines(&buf, lines.unwrap_or(u64::MAX)))?;
    }
    Ok(())
}

fn write_stdout(data: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(data).and_then(|()| out.flush()) {
        // `| head`: the reader is gone, which is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        r => Ok(r?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_for_the_flags() {
        let w = |t, n, c| window(t, n, c);
        assert_eq!(
            w(false, None, None),
            Window {
                origin: "start",
                offset: 0,
                lines: None
            }
        );
        assert_eq!(
            w(true, None, None),
            Window {
                origin: "end",
                offset: 1200,
                lines: Some(10)
            }
        );
        assert_eq!(
            w(true, Some(3), None),
            Window {
                origin: "end",
                offset: 360,
                lines: Some(3)
            }
        );
        assert_eq!(
            w(false, None, Some(50)),
            Window {
                origin: "end",
                offset: 50,
                lines: None
            }
        );
        assert_eq!(
            w(true, Some(2), Some(50)),
            Window {
                origin: "end",
                offset: 50,
                lines: Some(2)
            }
        );
    }

    #[test]
    fn last_lines_table() {
        for (buf, n, want) in [
            ("a\nb\nc\n", 2, "b\nc\n"),
            ("a\nb\nc", 2, "b\nc"),
            ("a\nb\n", 5, "a\nb\n"),
            ("a\nb\n", 0, ""),
            ("", 3, ""),
            ("x\n\n\n", 2, "\n\n"),
        ] {
            assert_eq!(
                last_lines(buf.as_bytes(), n),
                want.as_bytes(),
                "{buf:?} {n}"
            );
        }
    }
}
