//! The executor against real processes. `examples/executor_probe.rs` is the
//! executor binary (and, in one test, a stand-in plugin that gets SIGKILLed);
//! `cargo test` builds examples before it runs tests.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use drover_plugin_sdk::ErrorKind;
use drover_plugin_sdk::executor::{self, ExecSpec, Executor, ExecutorHandle};

const DEADLINE: Duration = Duration::from_secs(20);

fn probe() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/executor-<hash> -> target/<profile>/examples/
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("examples").join("executor_probe"))
        .expect("target dir");
    assert!(
        path.exists(),
        "{} is missing: run `cargo test -p drover-plugin-sdk` (which builds examples) \
         or `cargo build -p drover-plugin-sdk --example executor_probe`",
        path.display()
    );
    path
}

fn spec(dir: &Path, script: &str) -> ExecSpec {
    ExecSpec {
        command: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        env: BTreeMap::from([
            ("PATH".to_string(), "/usr/bin:/bin".to_string()),
            ("GREETING".to_string(), "hello".to_string()),
        ]),
        cwd: dir.to_path_buf(),
        stdout_path: dir.join("stdout.log"),
        stderr_path: dir.join("stderr.log"),
        state_dir: dir.join("private").join("executor"),
    }
}

async fn launch(spec: &ExecSpec) -> Executor {
    executor::launch_with(&probe(), spec).await.expect("launch")
}

async fn wait(ex: &Executor) -> drover_plugin_sdk::ExitResult {
    tokio::time::timeout(DEADLINE, ex.wait())
        .await
        .expect("task exits before the deadline")
        .expect("exit status")
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[tokio::test]
async fn exit_code_env_cwd_and_output_are_observed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = spec(
        dir.path(),
        "echo \"$GREETING from $(pwd)\"; echo oops >&2; env > env.txt; exit 3",
    );
    let ex = launch(&s).await;
    assert!(ex.handle().task_pid > 0 && ex.handle().task_pid != ex.handle().executor_pid);
    let (a, b) = tokio::join!(wait(&ex), wait(&ex));
    assert_eq!(a, b);
    assert_eq!((a.exit_code, a.signal), (3, 0));
    assert_eq!(ex.exit_result(), Some(a));
    let out = std::fs::read_to_string(&s.stdout_path).expect("stdout");
    assert_eq!(out.trim(), format!("hello from {}", dir.path().display()));
    assert_eq!(
        std::fs::read_to_string(&s.stderr_path).expect("stderr"),
        "oops\n"
    );
    let env = std::fs::read_to_string(dir.path().join("env.txt")).expect("env");
    assert!(env.contains("GREETING=hello"), "{env}");
    assert!(
        !env.contains("CARGO"),
        "task env must be exactly spec.env: {env}"
    );
    // The record outlives the executor.
    assert!(s.state_dir.join("exit.json").exists());
}

#[tokio::test]
async fn death_by_signal_reports_signal_and_128_plus_n() {
    let dir = tempfile::tempdir().expect("tempdir");
    // SIGTERM is ignored by the executor; the task must get it back at default.
    let ex = launch(&spec(dir.path(), "kill -TERM $$; sleep 5")).await;
    let exit = wait(&ex).await;
    assert_eq!(
        (exit.signal, exit.exit_code),
        (libc::SIGTERM, 128 + libc::SIGTERM)
    );
}

#[tokio::test]
async fn missing_command_is_a_launch_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = spec(dir.path(), "");
    s.command = "/nonexistent/drover-no-such-cmd".into();
    let err = executor::launch_with(&probe(), &s)
        .await
        .expect_err("must fail");
    assert!(err.message.contains("drover-no-such-cmd"), "{err}");
    assert!(err.message.contains("No such file"), "{err}");
    assert_eq!(err.kind, ErrorKind::FailedPrecondition);
}

#[tokio::test]
async fn task_survives_its_launcher_and_is_reattached_from_another_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let go = dir.path().join("go");
    let script = format!(
        "while [ ! -e {} ]; do sleep 0.05; done; exit 7",
        go.display()
    );
    let s = spec(dir.path(), &script);
    let mut launcher = Command::new(probe())
        .arg("launch")
        .arg(serde_json::to_string(&s).expect("spec json"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start probe");
    let mut line = String::new();
    BufReader::new(launcher.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("handle line");
    let msg: serde_json::Value = serde_json::from_str(&line).expect("json line");
    let handle: ExecutorHandle =
        serde_json::from_value(msg["handle"].clone()).unwrap_or_else(|_| panic!("{line}"));

    launcher.kill().expect("SIGKILL the launcher");
    launcher.wait().expect("reap the launcher");
    assert!(
        alive(handle.executor_pid),
        "executor died with its launcher"
    );
    assert!(alive(handle.task_pid), "task died with its launcher");

    let ex = executor::reattach(&handle).expect("reattach");
    assert_eq!(ex.handle(), &handle);
    assert_eq!(ex.exit_result(), None);
    std::fs::write(&go, "").expect("release the task");
    let exit = wait(&ex).await;
    assert_eq!((exit.exit_code, exit.signal), (7, 0));

    // Reattaching after the executor is gone reads the recorded status.
    let deadline = Instant::now() + DEADLINE;
    while alive(handle.executor_pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = executor::reattach(&handle).expect("reattach to a finished task");
    assert_eq!(wait(&again).await.exit_code, 7);
}

#[tokio::test]
async fn stop_escalates_to_sigkill_when_the_signal_is_trapped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ex = launch(&spec(
        dir.path(),
        "trap '' INT TERM; touch ready; while :; do sleep 0.05; done",
    ))
    .await;
    let ready = dir.path().join("ready");
    let deadline = Instant::now() + DEADLINE;
    while !ready.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let exit = ex
        .stop(libc::SIGINT, Duration::from_millis(300))
        .await
        .expect("stop");
    assert_eq!(exit.signal, libc::SIGKILL);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Stopping again just answers the status; signalling is refused.
    assert_eq!(ex.stop(libc::SIGINT, Duration::ZERO).await, Ok(exit));
    assert_eq!(
        ex.signal(libc::SIGUSR1).map_err(|e| e.kind),
        Err(ErrorKind::FailedPrecondition)
    );
}

#[tokio::test]
async fn stop_with_the_default_signal_ends_the_whole_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ex = launch(&spec(dir.path(), "sleep 300 & echo $! > child; wait")).await;
    let child_file = dir.path().join("child");
    let deadline = Instant::now() + DEADLINE;
    let child: u32 = loop {
        if let Some(pid) = std::fs::read_to_string(&child_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "child pid never written");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let exit = ex
        .stop(libc::SIGINT, Duration::from_secs(10))
        .await
        .expect("stop");
    assert_eq!(exit.signal, libc::SIGINT);
    let deadline = Instant::now() + DEADLINE;
    while alive(child) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!alive(child), "the task's child outlived the task");
}

#[tokio::test]
async fn stats_cover_the_task_and_its_children() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ex = launch(&spec(dir.path(), "sleep 300 & while :; do :; done")).await;
    let task = ex.handle().task_pid;
    let deadline = Instant::now() + DEADLINE;
    let usage = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let usage = ex.stats().expect("stats");
        if usage.by_pid.len() >= 2 && usage.cpu_percent > 0.0 {
            break usage;
        }
        assert!(
            Instant::now() < deadline,
            "stats never showed 2 busy processes: {usage:?}"
        );
    };
    assert!(usage.rss_bytes > 0);
    assert!(usage.by_pid.contains_key(&task));
    assert!(usage.cpu_user_secs + usage.cpu_system_secs >= 0.0);
    assert_eq!(
        usage.rss_bytes,
        usage.by_pid.values().map(|u| u.rss_bytes).sum::<u64>()
    );
    ex.stop(libc::SIGKILL, Duration::from_secs(5))
        .await
        .expect("stop");
}

#[tokio::test]
async fn an_executor_killed_without_a_record_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ex = launch(&spec(dir.path(), "sleep 300")).await;
    let task = ex.handle().task_pid;
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(ex.handle().executor_pid as i32, libc::SIGKILL) };
    let err = tokio::time::timeout(DEADLINE, ex.wait())
        .await
        .expect("wait returns")
        .expect_err("no exit status");
    assert!(
        err.message
            .contains("executor exited without recording the task's exit status"),
        "{err}"
    );
    // SAFETY: as above; clean up the orphaned task's group.
    unsafe { libc::kill(-(task as i32), libc::SIGKILL) };
}
