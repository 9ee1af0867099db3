//! The mock driver through its `Driver` impl, in-process, on tokio's paused
//! clock: every timing assertion is exact and the tests take milliseconds.
//! `wire` runs the real plugin binary over its unix socket.

#[path = "mock/conformance.rs"]
mod conformance;
#[path = "mock/wire.rs"]
mod wire;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use drover_driver_mock::{DriverState, MockConfig, MockDriver, MockTaskConfig, SIGKILL};
use drover_plugin_sdk::proto::v1::Mount;
use drover_plugin_sdk::{
    AgentInfo, Attr, Driver, ErrorKind, Health, PluginError, StartError, StartedTask, TaskConfig,
    TaskState,
};
use futures::StreamExt;
use serde_json::json;
use tokio::time::Instant;

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

fn host(name: &str) -> TaskConfig {
    TaskConfig {
        id: format!("alloc-1/{name}/0000000a"),
        name: name.to_string(),
        alloc_id: "alloc-1".into(),
        ..Default::default()
    }
}

fn script(config: serde_json::Value) -> MockTaskConfig {
    serde_json::from_value(config).expect("test script decodes")
}

async fn start(driver: &MockDriver, task: TaskConfig, config: serde_json::Value) -> StartedTask {
    match driver.start_task(task, script(config)).await {
        Ok(started) => started,
        Err(e) => panic!("start_task failed: {e:?}"),
    }
}

fn kind<T: std::fmt::Debug>(result: Result<T, PluginError>) -> ErrorKind {
    result.expect_err("call should fail").kind
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test(start_paused = true)]
async fn task_runs_for_its_script_then_exits_with_its_code() {
    let driver = MockDriver::default();
    let task = host("web");
    let id = task.id.clone();
    start(&driver, task, json!({"run_for": "3s", "exit_code": 3})).await;
    let began = Instant::now();

    let status = driver.inspect_task(&id).await.expect("inspect");
    assert_eq!(status.state, TaskState::Running);
    assert_eq!(status.name, "web");
    assert_eq!(status.completed_at, None);
    let started_at = status.started_at.expect("started_at is set");

    let exit = driver.wait_task(&id).await.expect("wait");
    assert_eq!(began.elapsed(), secs(3));
    assert_eq!((exit.exit_code, exit.signal), (3, 0));

    let status = driver.inspect_task(&id).await.expect("inspect");
    assert_eq!(status.state, TaskState::Exited);
    assert_eq!(status.completed_at, Some(started_at + secs(3)));
    assert_eq!(status.exit, Some(exit));

    driver
        .destroy_task(&id, false)
        .await
        .expect("destroy exited task");
    assert_eq!(kind(driver.inspect_task(&id).await), ErrorKind::NotFound);
}

#[tokio::test(start_paused = true)]
async fn exit_signal_and_exit_err_msg_are_reported() {
    let driver = MockDriver::default();
    let a = host("a");
    let b = host("b");
    let (ida, idb) = (a.id.clone(), b.id.clone());
    start(&driver, a, json!({"run_for": "1s", "exit_signal": 11})).await;
    start(
        &driver,
        b,
        json!({"run_for": "1s", "exit_err_msg": "lost track"}),
    )
    .await;
    assert_eq!(driver.wait_task(&ida).await.map(|e| e.signal), Ok(11));
    let e = driver.wait_task(&idb).await.expect_err("scripted error");
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::Internal, "lost track")
    );
}

#[tokio::test(start_paused = true)]
async fn start_errors_blocking_and_duplicates() {
    let driver = MockDriver::default();
    let retry = driver
        .start_task(
            host("r"),
            script(json!({"start_error": "busy", "start_error_recoverable": true})),
        )
        .await;
    assert!(matches!(retry, Err(StartError::Recoverable(m)) if m == "busy"));
    let fatal = driver
        .start_task(host("f"), script(json!({"start_error": "broken"})))
        .await;
    assert!(matches!(fatal, Err(StartError::Fatal(m)) if m == "broken"));
    assert!(driver.task_ids().is_empty(), "failed starts leave no task");

    let began = Instant::now();
    start(&driver, host("slow"), json!({"start_block_for": "1m30s"})).await;
    assert_eq!(began.elapsed(), secs(90));

    let dup = driver
        .start_task(host("slow"), MockTaskConfig::default())
        .await;
    match dup {
        Err(StartError::Invalid(e)) => assert_eq!(e.kind, ErrorKind::AlreadyExists),
        other => panic!("duplicate id should be AlreadyExists, got {other:?}"),
    }
    let bad = driver
        .start_task(host("bad"), script(json!({"exit_signal": 99})))
        .await;
    assert!(
        matches!(bad, Err(StartError::Invalid(e)) if e.message.starts_with("config.exit_signal:"))
    );
}

#[tokio::test(start_paused = true)]
async fn stop_waits_kill_after_then_reports_the_signal() {
    let driver = MockDriver::default();
    let task = host("graceful");
    let id = task.id.clone();
    start(&driver, task, json!({"kill_after": "2s"})).await;
    let began = Instant::now();
    driver
        .stop_task(&id, secs(5), Some("SIGTERM"))
        .await
        .expect("stop");
    assert_eq!(began.elapsed(), secs(2));
    let exit = driver.wait_task(&id).await.expect("wait after stop");
    assert_eq!((exit.exit_code, exit.signal), (0, SIGTERM));
    // Stopping an exited task is a no-op.
    driver
        .stop_task(&id, secs(5), None)
        .await
        .expect("stop again");
}

#[tokio::test(start_paused = true)]
async fn stop_escalates_to_sigkill_at_the_timeout() {
    let driver = MockDriver::default();
    let task = host("stubborn");
    let id = task.id.clone();
    start(&driver, task, json!({"kill_after": "10s"})).await;
    let driver = Arc::new(driver);
    let waiter = {
        let (driver, id) = (Arc::clone(&driver), id.clone());
        tokio::spawn(async move { driver.wait_task(&id).await })
    };
    let began = Instant::now();
    driver
        .stop_task(&id, secs(5), Some("SIGTERM"))
        .await
        .expect("stop");
    assert_eq!(began.elapsed(), secs(5));
    let exit = waiter.await.expect("join").expect("wait");
    assert_eq!(exit.signal, SIGKILL);
}

#[tokio::test(start_paused = true)]
async fn stop_without_a_signal_sends_sigint() {
    let driver = MockDriver::default();
    let task = host("int");
    let id = task.id.clone();
    start(&driver, task, json!({})).await;
    driver.stop_task(&id, secs(1), None).await.expect("stop");
    assert_eq!(driver.wait_task(&id).await.map(|e| e.signal), Ok(SIGINT));
}

#[tokio::test(start_paused = true)]
async fn destroy_needs_force_while_running() {
    let driver = MockDriver::default();
    let task = host("db");
    let id = task.id.clone();
    start(&driver, task, json!({"kill_after": "1h"})).await;
    assert_eq!(
        kind(driver.destroy_task(&id, false).await),
        ErrorKind::FailedPrecondition
    );
    assert_eq!(
        driver.inspect_task(&id).await.map(|s| s.state),
        Ok(TaskState::Running)
    );
    let began = Instant::now();
    driver
        .destroy_task(&id, true)
        .await
        .expect("forced destroy");
    assert_eq!(began.elapsed(), Duration::ZERO, "force kills at once");
    assert!(driver.task_ids().is_empty());
}

#[tokio::test(start_paused = true)]
async fn unknown_ids_are_not_found() {
    let driver = MockDriver::default();
    let id = "nope/x/00000000";
    assert_eq!(kind(driver.wait_task(id).await), ErrorKind::NotFound);
    assert_eq!(
        kind(driver.stop_task(id, secs(1), None).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(driver.destroy_task(id, true).await),
        ErrorKind::NotFound
    );
    assert_eq!(kind(driver.inspect_task(id).await), ErrorKind::NotFound);
    assert_eq!(kind(driver.task_stats(id).await), ErrorKind::NotFound);
    assert_eq!(
        kind(driver.signal_task(id, "SIGHUP").await),
        ErrorKind::NotFound
    );
    let exec = driver.exec_task(id, vec!["true".into()], secs(1)).await;
    assert_eq!(kind(exec), ErrorKind::NotFound);
}

#[tokio::test(start_paused = true)]
async fn signals_are_recorded_and_announced() {
    let driver = MockDriver::default();
    let mut events = driver.task_events();
    let task = host("sig");
    let id = task.id.clone();
    start(&driver, task, json!({})).await;
    driver.signal_task(&id, "usr1").await.expect("signal");
    assert_eq!(
        driver.received_signals(&id),
        Some(vec!["SIGUSR1".to_string()])
    );
    let event = events.next().await.expect("an event");
    assert_eq!(event.message, "Received signal SIGUSR1");
    assert_eq!(
        (event.task_id.as_str(), event.alloc_id.as_str()),
        (id.as_str(), "alloc-1")
    );
    assert_eq!(event.task_name, "sig");
    assert_eq!(
        kind(driver.signal_task(&id, "SIGNOPE").await),
        ErrorKind::InvalidArgument
    );

    let grumpy = host("grumpy");
    let gid = grumpy.id.clone();
    start(&driver, grumpy, json!({"signal_error": "not now"})).await;
    let e = driver
        .signal_task(&gid, "SIGHUP")
        .await
        .expect_err("scripted");
    assert_eq!(e.message, "not now");
    assert_eq!(driver.received_signals(&gid), Some(vec![]));
}

#[tokio::test(start_paused = true)]
async fn exec_answers_the_scripted_command() {
    let driver = MockDriver::default();
    let plain = host("plain");
    let scripted = host("scripted");
    let (pid, sid) = (plain.id.clone(), scripted.id.clone());
    start(&driver, plain, json!({})).await;
    start(
        &driver,
        scripted,
        json!({"exec_command": {"exit_code": 43, "stdout_string": "out", "stderr_string": "err"}}),
    )
    .await;
    let cmd = || vec!["echo".to_string(), "hi".to_string()];
    let out = driver.exec_task(&pid, cmd(), secs(1)).await.expect("exec");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        r#"Exec("plain", ["echo", "hi"])"#
    );
    assert!(out.exit.successful());
    let out = driver.exec_task(&sid, cmd(), secs(1)).await.expect("exec");
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice()),
        (&b"out"[..], &b"err"[..])
    );
    assert_eq!(out.exit.exit_code, 43);
    assert_eq!(
        kind(driver.exec_task(&sid, vec![], secs(1)).await),
        ErrorKind::InvalidArgument
    );
}

#[tokio::test(start_paused = true)]
async fn stats_are_synthetic() {
    let driver = MockDriver::default();
    let task = host("stats");
    let id = task.id.clone();
    start(&driver, task, json!({"run_for": "1s"})).await;
    let usage = driver.task_stats(&id).await.expect("stats");
    assert_eq!(usage.rss_bytes, 1 << 20);
    assert!(usage.cpu_percent > 0.0);
    driver.wait_task(&id).await.expect("wait");
    let usage = driver.task_stats(&id).await.expect("stats of exited task");
    assert!((usage.cpu_user_secs - 0.01).abs() < 1e-9, "{usage:?}");
    assert_eq!(usage.cpu_percent, 0.0);
}

#[tokio::test(start_paused = true)]
async fn output_is_appended_on_schedule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, err) = (dir.path().join("web.stdout"), dir.path().join("web.stderr"));
    let mut task = host("web");
    task.stdout_path = out.to_string_lossy().into_owned();
    task.stderr_path = err.to_string_lossy().into_owned();
    let id = task.id.clone();
    let driver = MockDriver::default();
    start(
        &driver,
        task,
        json!({"run_for": "10s", "stdout_string": "hello\n", "stdout_repeat": 2,
               "stdout_repeat_duration": "1s", "stderr_string": "oops\n"}),
    )
    .await;
    driver.wait_task(&id).await.expect("wait");
    assert_eq!(
        std::fs::read_to_string(&out).expect("stdout"),
        "hello\nhello\nhello\n"
    );
    assert_eq!(std::fs::read_to_string(&err).expect("stderr"), "oops\n");
}

#[tokio::test(start_paused = true)]
async fn unwritable_output_ends_the_task_with_an_error() {
    let mut task = host("web");
    task.stdout_path = "/nonexistent-dir/web.stdout".into();
    let id = task.id.clone();
    let driver = MockDriver::default();
    start(&driver, task, json!({"stdout_string": "x"})).await;
    let e = driver.wait_task(&id).await.expect_err("cannot write");
    assert!(
        e.message.contains("/nonexistent-dir/web.stdout"),
        "{}",
        e.message
    );
}

#[tokio::test(start_paused = true)]
async fn mounts_are_accepted_and_recorded() {
    let driver = MockDriver::default();
    assert!(driver.capabilities().mounts);
    let mut task = host("vol");
    task.mounts = vec![Mount {
        task_path: "/data".into(),
        host_path: "/srv/data".into(),
        readonly: true,
    }];
    let id = task.id.clone();
    start(&driver, task.clone(), json!({})).await;
    assert_eq!(driver.task_config(&id).map(|t| t.mounts), Some(task.mounts));
}

#[tokio::test(start_paused = true)]
async fn fingerprint_follows_set_config() {
    let driver = MockDriver::default();
    let mut reports = driver.fingerprint();
    let first = reports.next().await.expect("first report");
    assert_eq!(first.health, Health::Healthy);
    assert_eq!(
        first.attributes.get("driver.mock_driver"),
        Some(&Attr::Bool(true))
    );
    let config: MockConfig =
        serde_json::from_value(json!({"fingerprint_health": "unhealthy"})).expect("decodes");
    driver
        .set_config(config, AgentInfo::default())
        .await
        .expect("set_config");
    assert_eq!(
        reports.next().await.map(|f| f.health),
        Some(Health::Unhealthy)
    );
}

#[tokio::test(start_paused = true)]
async fn plugin_exit_after_calls_the_hook() {
    let fired = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = Arc::clone(&fired);
    let driver = MockDriver::with_plugin_exit_hook(move |id| {
        record.lock().expect("lock").push(id.to_string());
    });
    let task = host("crashy");
    let id = task.id.clone();
    start(
        &driver,
        task,
        json!({"plugin_exit_after": "1s", "run_for": "2s"}),
    )
    .await;
    driver.wait_task(&id).await.expect("wait");
    assert_eq!(*fired.lock().expect("lock"), vec![id]);
}

/// A plugin crash: the old driver's loops vanish without an exit; a new
/// driver recovers the task from its handle and it ends at the original
/// deadline with the scripted code.
#[tokio::test(start_paused = true)]
async fn recovered_task_keeps_its_deadline_and_exit_code() {
    let old = Arc::new(MockDriver::default());
    let task = host("phoenix");
    let id = task.id.clone();
    let started = start(
        &old,
        task.clone(),
        json!({"run_for": "10s", "exit_code": 7}),
    )
    .await;
    let waiter = {
        let (old, id) = (Arc::clone(&old), id.clone());
        tokio::spawn(async move { old.wait_task(&id).await })
    };
    old.shutdown().await;
    let lost = waiter
        .await
        .expect("join")
        .expect_err("crash interrupts the wait");
    assert_eq!(lost.kind, ErrorKind::Unavailable);
    drop(old);

    // Pretend the crash was 4 s after the start (tokio's paused clock does
    // not move the wall clock, so move the recorded start instead).
    let mut state: DriverState =
        serde_json::from_value(started.driver_state).expect("driver_state is a DriverState");
    let four_s_ago = SystemTime::now() - secs(4);
    state.started_at_unix_ms = u64::try_from(
        four_s_ago
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("fits");
    let new = MockDriver::default();
    new.recover_task(task.clone(), state.to_json())
        .await
        .expect("recover");
    new.recover_task(task, json!("garbage"))
        .await
        .expect("second recover is a no-op");

    let status = new.inspect_task(&id).await.expect("inspect");
    assert_eq!(status.state, TaskState::Running);
    assert_eq!(
        status.attributes.get("recovered").map(String::as_str),
        Some("true")
    );
    let began = Instant::now();
    let exit = new.wait_task(&id).await.expect("wait");
    assert_eq!(exit.exit_code, 7);
    let remaining = began.elapsed();
    assert!(
        remaining > Duration::from_millis(5_900) && remaining <= secs(6),
        "{remaining:?}"
    );
    let status = new.inspect_task(&id).await.expect("inspect");
    assert_eq!(status.completed_at, Some(state.started_at() + secs(10)));
}

#[tokio::test(start_paused = true)]
async fn recovering_a_task_past_its_deadline_reports_the_scripted_exit() {
    let task = host("late");
    let id = task.id.clone();
    let long_ago = SystemTime::now() - secs(3600);
    let state = DriverState::new(long_ago, script(json!({"run_for": "1m", "exit_code": 4})));
    let driver = MockDriver::default();
    driver
        .recover_task(task, state.to_json())
        .await
        .expect("recover");
    assert_eq!(driver.wait_task(&id).await.map(|e| e.exit_code), Ok(4));
    let status = driver.inspect_task(&id).await.expect("inspect");
    assert_eq!(status.completed_at, Some(state.started_at() + secs(60)));
}

#[tokio::test(start_paused = true)]
async fn recover_rejects_a_foreign_driver_state() {
    let driver = MockDriver::default();
    let e = driver
        .recover_task(host("x"), json!({"pid": 42}))
        .await
        .expect_err("not ours");
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message.contains("alloc-1/x/0000000a"), "{}", e.message);
}
