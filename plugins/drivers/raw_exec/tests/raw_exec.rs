//! raw_exec's Driver implementation called in-process, with real executors:
//! the executor binary is the real `drover-driver-raw-exec` (its `serve()`
//! turns into an executor when re-executed). The last test runs the SDK's
//! conformance suite against the binary over the real wire, including a
//! RecoverTask after the plugin is SIGKILLed.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use drover_driver_raw_exec::config::{PluginConfig, TaskConfig};
use drover_driver_raw_exec::{DISABLED, RawExec};
use drover_plugin_sdk::{
    AgentInfo, Attr, Driver, ErrorKind, ExecChunk, ExecSession, ExecSink, Health, StartError,
    TaskState,
};

use tokio_stream::StreamExt;

const DEADLINE: Duration = Duration::from_secs(20);

fn driver() -> RawExec {
    RawExec::with_executor_program(env!("CARGO_BIN_EXE_drover-driver-raw-exec"))
}

async fn enabled() -> RawExec {
    let d = driver();
    let config = PluginConfig {
        enabled: true,
        ..PluginConfig::default()
    };
    d.set_config(config, AgentInfo::default())
        .await
        .expect("set_config");
    d
}

fn task(alloc_dir: &Path, id: &str) -> drover_plugin_sdk::TaskConfig {
    drover_plugin_sdk::TaskConfig {
        id: format!("alloc1/web/{id}"),
        name: "web".into(),
        env: HashMap::from([
            ("PATH".to_string(), "/usr/bin:/bin".to_string()),
            ("GREETING".to_string(), "hi".to_string()),
        ]),
        alloc_dir: alloc_dir.to_string_lossy().into_owned(),
        stdout_path: alloc_dir.join("web.stdout").to_string_lossy().into_owned(),
        stderr_path: alloc_dir.join("web.stderr").to_string_lossy().into_owned(),
        ..Default::default()
    }
}

fn sh(script: &str) -> TaskConfig {
    TaskConfig {
        command: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        work_dir: None,
    }
}

#[tokio::test]
async fn disabled_until_configured() {
    let d = driver();
    let mut reports = d.fingerprint();
    let first = reports.next().await.expect("first report");
    assert_eq!(first.health, Health::Undetected);
    assert_eq!(first.description, DISABLED);
    let dir = tempfile::tempdir().expect("tempdir");
    match d.start_task(task(dir.path(), "aaaa0001"), sh("true")).await {
        Err(StartError::Fatal(msg)) => assert_eq!(msg, DISABLED),
        other => panic!("expected a fatal start error, got {other:?}"),
    }
    let config = PluginConfig {
        enabled: true,
        ..PluginConfig::default()
    };
    d.set_config(config, AgentInfo::default())
        .await
        .expect("set_config");
    let next = tokio::time::timeout(DEADLINE, reports.next())
        .await
        .expect("a new report");
    let next = next.expect("stream open");
    assert_eq!(next.health, Health::Healthy);
    assert_eq!(
        next.attributes.get("driver.raw_exec"),
        Some(&Attr::Bool(true))
    );
    let caps = d.capabilities();
    assert!(caps.send_signals && caps.exec && caps.recover && !caps.mounts);
}

#[tokio::test]
async fn bad_plugin_config_names_the_field() {
    let d = driver();
    let config = PluginConfig {
        enabled: true,
        denied_host_uids: Some("0-x".into()),
        ..Default::default()
    };
    let err = d
        .set_config(config, AgentInfo::default())
        .await
        .expect_err("invalid");
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.message.starts_with("config.denied_host_uids:"), "{err}");
}

#[tokio::test]
async fn denied_uid_refuses_to_start() {
    let d = driver();
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let config = PluginConfig {
        enabled: true,
        denied_host_uids: Some(uid.to_string()),
        ..Default::default()
    };
    d.set_config(config, AgentInfo::default())
        .await
        .expect("set_config");
    let dir = tempfile::tempdir().expect("tempdir");
    match d.start_task(task(dir.path(), "aaaa0002"), sh("true")).await {
        Err(StartError::Fatal(msg)) => assert!(msg.contains("denied_host_uids"), "{msg}"),
        other => panic!("expected a fatal start error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_task_runs_in_its_task_dir_with_its_env_and_exits() {
    let d = enabled().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = task(dir.path(), "bbbb0001");
    d.start_task(
        t.clone(),
        sh("echo \"$GREETING $(pwd)\"; echo err >&2; exit 5"),
    )
    .await
    .expect("start");
    let exit = tokio::time::timeout(DEADLINE, d.wait_task(&t.id))
        .await
        .expect("exits")
        .expect("wait");
    assert_eq!((exit.exit_code, exit.signal), (5, 0));
    let status = d.inspect_task(&t.id).await.expect("inspect");
    assert_eq!(status.state, TaskState::Exited);
    assert_eq!(status.exit, Some(exit));
    assert!(status.completed_at >= status.started_at && status.completed_at.is_some());
    let stdout = std::fs::read_to_string(dir.path().join("web.stdout")).expect("stdout");
    assert_eq!(
        stdout.trim(),
        format!("hi {}", dir.path().join("web").display())
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("web.stderr")).expect("stderr"),
        "err\n"
    );
    assert!(
        dir.path()
            .join("web/private/executor-bbbb0001/exit.json")
            .exists()
    );

    d.destroy_task(&t.id, false)
        .await
        .expect("destroy an exited task");
    assert_eq!(
        d.inspect_task(&t.id).await.map_err(|e| e.kind).err(),
        Some(ErrorKind::NotFound)
    );
}

#[tokio::test]
async fn start_errors_are_specific() {
    let d = enabled().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = TaskConfig {
        command: "drover-no-such-command".into(),
        args: vec![],
        work_dir: None,
    };
    match d.start_task(task(dir.path(), "cccc0001"), config).await {
        Err(StartError::Fatal(msg)) => assert!(msg.contains("drover-no-such-command"), "{msg}"),
        other => panic!("expected a fatal start error, got {other:?}"),
    }
    let t = task(dir.path(), "cccc0002");
    d.start_task(t.clone(), sh("sleep 300"))
        .await
        .expect("start");
    match d.start_task(t.clone(), sh("true")).await {
        Err(StartError::Invalid(e)) => assert_eq!(e.kind, ErrorKind::AlreadyExists),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    d.destroy_task(&t.id, true).await.expect("force destroy");
}

#[tokio::test]
async fn running_task_signal_exec_stats_stop_destroy() {
    let d = enabled().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = task(dir.path(), "dddd0001");
    let config = TaskConfig {
        work_dir: Some("local".into()),
        ..sh("trap 'echo usr1' USR1; while :; do sleep 0.05; done")
    };
    d.start_task(t.clone(), config).await.expect("start");
    let status = d.inspect_task(&t.id).await.expect("inspect");
    assert_eq!(status.state, TaskState::Running);
    assert!(status.attributes.contains_key("pid"));

    let err = d.destroy_task(&t.id, false).await.expect_err("running");
    assert_eq!(err.kind, ErrorKind::FailedPrecondition);

    let out = d
        .exec_task(
            &t.id,
            vec![
                "/bin/sh".into(),
                "-c".into(),
                "echo $GREETING; pwd; exit 3".into(),
            ],
            DEADLINE,
        )
        .await
        .expect("exec");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        text,
        format!("hi\n{}\n", dir.path().join("web/local").display())
    );
    assert_eq!(out.exit.exit_code, 3);
    let slow = d
        .exec_task(
            &t.id,
            vec!["sleep".into(), "30".into()],
            Duration::from_millis(200),
        )
        .await;
    assert_eq!(
        slow.map_err(|e| e.kind).err(),
        Some(ErrorKind::DeadlineExceeded)
    );

    let stdout = dir.path().join("web.stdout");
    let mut delivered = false;
    let deadline = Instant::now() + DEADLINE;
    while !delivered && Instant::now() < deadline {
        d.signal_task(&t.id, "SIGUSR1").await.expect("signal");
        tokio::time::sleep(Duration::from_millis(100)).await;
        delivered = std::fs::read_to_string(&stdout)
            .unwrap_or_default()
            .contains("usr1");
    }
    assert!(delivered, "the task never reported SIGUSR1");
    assert_eq!(
        d.signal_task(&t.id, "SIGNOPE")
            .await
            .map_err(|e| e.kind)
            .err(),
        Some(ErrorKind::InvalidArgument)
    );

    let stats = d.task_stats(&t.id).await.expect("stats");
    assert!(stats.rss_bytes > 0 && !stats.by_pid.is_empty(), "{stats:?}");

    d.stop_task(&t.id, Duration::from_secs(10), None)
        .await
        .expect("stop");
    let exit = d.wait_task(&t.id).await.expect("wait");
    assert_eq!(exit.signal, libc::SIGINT, "default stop signal is SIGINT");
    d.destroy_task(&t.id, false).await.expect("destroy");
}

/// `ExecTaskStreaming` in-process without input: stdout and the exit.
async fn exec_stream(
    d: &RawExec,
    task_id: &str,
    script: &str,
) -> drover_plugin_sdk::Result<(String, drover_plugin_sdk::ExitResult)> {
    let (output, mut rx) = ExecSink::channel();
    let session = ExecSession {
        task_id: task_id.to_string(),
        command: vec!["/bin/sh".into(), "-c".into(), script.into()],
        tty: false,
        input: Box::pin(futures::stream::empty()),
        output,
    };
    let exit = d.exec_task_streaming(session).await?;
    let mut out = Vec::new();
    while let Ok(chunk) = rx.try_recv() {
        if let ExecChunk::Stdout(data) = chunk {
            out.extend(data);
        }
    }
    Ok((String::from_utf8_lossy(&out).into_owned(), exit))
}

#[tokio::test]
async fn a_new_driver_instance_recovers_a_running_task() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = task(dir.path(), "eeee0001");
    let go = dir.path().join("go");
    let script = format!(
        "while [ ! -e {} ]; do sleep 0.05; done; exit 9",
        go.display()
    );
    let first = enabled().await;
    let started = first
        .start_task(t.clone(), sh(&script))
        .await
        .expect("start");
    let pid = first.inspect_task(&t.id).await.expect("inspect").attributes["pid"].clone();
    drop(first);

    let second = enabled().await;
    assert_eq!(
        second.inspect_task(&t.id).await.map_err(|e| e.kind).err(),
        Some(ErrorKind::NotFound)
    );
    second
        .recover_task(t.clone(), started.driver_state.clone())
        .await
        .expect("recover");
    second
        .recover_task(t.clone(), started.driver_state.clone())
        .await
        .expect("recover twice");
    let status = second.inspect_task(&t.id).await.expect("inspect");
    assert_eq!(status.state, TaskState::Running);
    assert_eq!(
        status.attributes["pid"], pid,
        "recovery must not restart the task"
    );
    // The recovered task still execs in its own environment and directory.
    let (out, exit) = exec_stream(&second, &t.id, "echo \"$GREETING $(pwd)\"; exit 3")
        .await
        .expect("exec in a recovered task");
    let task_dir = dir.path().join("web").canonicalize().expect("task dir");
    assert_eq!(out, format!("hi {}\n", task_dir.display()));
    assert_eq!(exit.exit_code, 3);

    std::fs::write(&go, "").expect("release the task");
    let exit = tokio::time::timeout(DEADLINE, second.wait_task(&t.id))
        .await
        .expect("exits")
        .expect("wait");
    assert_eq!(exit.exit_code, 9);
    let status = second.inspect_task(&t.id).await.expect("inspect");
    assert_eq!((status.state, status.exit), (TaskState::Exited, Some(exit)));
    let after = exec_stream(&second, &t.id, "true").await.map(drop);
    assert_eq!(
        after.map_err(|e| e.kind).err(),
        Some(ErrorKind::FailedPrecondition)
    );

    let bad = second
        .recover_task(task(dir.path(), "eeee0002"), serde_json::json!({"pid": 1}))
        .await;
    assert_eq!(
        bad.map_err(|e| e.kind).err(),
        Some(ErrorKind::InvalidArgument)
    );
}

#[tokio::test]
async fn unknown_tasks_are_not_found() {
    let d = enabled().await;
    let kind = |r: Result<(), drover_plugin_sdk::PluginError>| r.map_err(|e| e.kind).err();
    assert_eq!(
        kind(d.wait_task("nope").await.map(|_| ())),
        Some(ErrorKind::NotFound)
    );
    assert_eq!(
        kind(d.stop_task("nope", Duration::ZERO, None).await),
        Some(ErrorKind::NotFound)
    );
    assert_eq!(
        kind(d.destroy_task("nope", true).await),
        Some(ErrorKind::NotFound)
    );
    assert_eq!(
        kind(d.signal_task("nope", "SIGTERM").await),
        Some(ErrorKind::NotFound)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_over_the_real_wire() {
    let report =
        drover_plugin_sdk::testing::Suite::new(env!("CARGO_BIN_EXE_drover-driver-raw-exec"))
            .config(serde_json::json!({ "enabled": true }))
            .run()
            .await;
    print!("{report}");
    assert_eq!(report.failed(), 0, "{report}");
    assert_eq!(
        report.outcome("recover.after_sigkill"),
        Some(&drover_plugin_sdk::testing::Outcome::Passed)
    );
}
