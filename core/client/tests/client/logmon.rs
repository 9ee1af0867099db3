//! The log collector with real FIFOs and real writer processes, and the reader's follow.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use drover_client::logmon::{LogChunk, ReadOptions, log_files, read_logs, stream_logs};
use drover_client::{AllocDir, LogKind, LogMon, LogMonConfig, Origin};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(10);

/// A driver stand-in: a shell that writes into the FIFOs, as a task's stdout/stderr.
fn write_via_shell(script: &str, stdout: &Path, stderr: &Path) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{{ {script} ; }} >\"$1\" 2>\"$2\""))
        .arg("sh")
        .arg(stdout)
        .arg(stderr)
        .status()
        .expect("spawn sh");
    assert!(status.success());
}

/// Polls `read_logs` until it returns `want`, or panics at the deadline with what it saw.
async fn wait_for_logs(dir: &Path, task: &str, kind: LogKind, want: &[u8]) {
    let start = Instant::now();
    loop {
        let got = read_logs(dir, task, kind, Origin::Start, 0)
            .await
            .unwrap_or_default();
        if got == want {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "logs of {task} {kind:?}: want {:?}, got {:?}",
            String::from_utf8_lossy(want),
            String::from_utf8_lossy(&got)
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn setup(max_files: usize, max_file_size: u64) -> (tempfile::TempDir, LogMonConfig) {
    let d = tempfile::tempdir().unwrap();
    let a = AllocDir::new(d.path(), "a1").unwrap();
    a.build().unwrap();
    let mut cfg = LogMonConfig::for_task(&a, "web", &Default::default()).unwrap();
    cfg.max_files = max_files;
    cfg.max_file_size = max_file_size;
    (d, cfg)
}

fn lines(range: std::ops::RangeInclusive<u32>) -> String {
    range.map(|i| format!("line {i}\n")).collect()
}

#[tokio::test]
async fn fifos_to_rotated_files_across_task_restarts_and_logmon_restarts() {
    let (_d, cfg) = setup(100, 16);
    let logs = cfg.logs_dir.clone();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(LogMon::new(cfg.clone()).run(shutdown.clone()));
    // The FIFOs appear before anything is written (the shell's open would block otherwise
    // only until logmon opens them, so this is just a readiness wait).
    let start = Instant::now();
    while !(cfg.stdout_fifo.exists() && cfg.stderr_fifo.exists()) {
        assert!(start.elapsed() < DEADLINE, "FIFOs not created");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (out, err) = (cfg.stdout_fifo.clone(), cfg.stderr_fifo.clone());
    let script = "for i in 1 2 3 4 5 6; do echo \"line $i\"; done; echo oops >&2";
    tokio::task::spawn_blocking(move || write_via_shell(script, &out, &err))
        .await
        .unwrap();
    wait_for_logs(&logs, "web", LogKind::Stdout, lines(1..=6).as_bytes()).await;
    wait_for_logs(&logs, "web", LogKind::Stderr, b"oops\n").await;
    let files = log_files(&logs, "web", LogKind::Stdout).unwrap();
    assert!(files.len() >= 3, "42 bytes in 16-byte files: {files:?}");
    assert!(files.iter().all(|f| f.size <= 16), "{files:?}");
    assert_eq!(files[0].index, 0);

    // The task restarts: a new writer opens the same FIFO; logmon did not see an EOF.
    let (out, err) = (cfg.stdout_fifo.clone(), cfg.stderr_fifo.clone());
    tokio::task::spawn_blocking(move || write_via_shell("echo again", &out, &err))
        .await
        .unwrap();
    let mut want = lines(1..=6);
    want.push_str("again\n");
    wait_for_logs(&logs, "web", LogKind::Stdout, want.as_bytes()).await;

    // Shutdown returns promptly.
    shutdown.cancel();
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("logmon stops")
        .unwrap()
        .unwrap();

    // A new logmon resumes at the highest index and appends.
    let highest = log_files(&logs, "web", LogKind::Stdout)
        .unwrap()
        .last()
        .unwrap()
        .index;
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(LogMon::new(cfg.clone()).run(shutdown.clone()));
    let (out, err) = (cfg.stdout_fifo.clone(), cfg.stderr_fifo.clone());
    tokio::task::spawn_blocking(move || write_via_shell("echo z", &out, &err))
        .await
        .unwrap();
    want.push_str("z\n");
    wait_for_logs(&logs, "web", LogKind::Stdout, want.as_bytes()).await;
    let files = log_files(&logs, "web", LogKind::Stdout).unwrap();
    assert!(
        files.iter().all(|f| f.index <= highest + 1),
        "resumed near {highest}: {files:?}"
    );
    shutdown.cancel();
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("logmon stops")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn keeps_only_max_files_and_tail_reads_from_the_end() {
    let (_d, cfg) = setup(2, 14);
    let logs = cfg.logs_dir.clone();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(LogMon::new(cfg.clone()).run(shutdown.clone()));
    let (out, err) = (cfg.stdout_fifo.clone(), cfg.stderr_fifo.clone());
    let script = "for i in 1 2 3 4 5 6 7 8 9; do echo \"line $i\"; done";
    tokio::task::spawn_blocking(move || write_via_shell(script, &out, &err))
        .await
        .unwrap();
    // Lines of 7 bytes in 14-byte files: two lines per file however the writes are
    // grouped; the newest two files are kept.
    wait_for_logs(&logs, "web", LogKind::Stdout, b"line 7\nline 8\nline 9\n").await;
    let idx: Vec<u64> = log_files(&logs, "web", LogKind::Stdout)
        .unwrap()
        .iter()
        .map(|f| f.index)
        .collect();
    assert_eq!(idx, [3, 4]);
    let tail = read_logs(&logs, "web", LogKind::Stdout, Origin::End, 3)
        .await
        .unwrap();
    assert_eq!(tail, b" 9\n");
    shutdown.cancel();
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("logmon stops")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn follow_notices_new_files_and_stops_on_shutdown() {
    let (_d, cfg) = setup(100, 10);
    let logs = cfg.logs_dir.clone();
    let mon_stop = CancellationToken::new();
    let run = tokio::spawn(LogMon::new(cfg.clone()).run(mon_stop.clone()));
    // logmon creates file 0 when it starts; wait for it, then follow.
    let start = Instant::now();
    while log_files(&logs, "web", LogKind::Stdout).map_or(true, |f| f.is_empty()) {
        assert!(start.elapsed() < DEADLINE, "no log file");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let follow_stop = CancellationToken::new();
    let opts = ReadOptions {
        follow: true,
        poll_interval: Duration::from_millis(10),
        ..ReadOptions::default()
    };
    let mut stream = Box::pin(stream_logs(
        logs.clone(),
        "web".into(),
        LogKind::Stdout,
        opts,
        follow_stop.clone(),
    ));
    let (out, err) = (cfg.stdout_fifo.clone(), cfg.stderr_fifo.clone());
    let writer = tokio::task::spawn_blocking(move || {
        write_via_shell(
            "for i in 1 2 3 4 5; do echo \"line $i\"; sleep 0.02; done",
            &out,
            &err,
        )
    });
    let want = lines(1..=5);
    let mut got = Vec::new();
    let mut chunks: Vec<LogChunk> = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while got != want.as_bytes() {
        let next = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("follow saw only {:?}", String::from_utf8_lossy(&got)));
        let chunk = next.expect("stream open while following").unwrap();
        got.extend(&chunk.data);
        chunks.push(chunk);
    }
    writer.await.unwrap();
    let files: std::collections::BTreeSet<&str> = chunks.iter().map(|c| c.file.as_str()).collect();
    assert!(files.len() >= 3, "followed across rotations: {files:?}");
    follow_stop.cancel();
    let end = tokio::time::timeout(DEADLINE, stream.next())
        .await
        .expect("stream ends on shutdown");
    assert!(end.is_none());
    mon_stop.cancel();
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("logmon stops")
        .unwrap()
        .unwrap();
}
