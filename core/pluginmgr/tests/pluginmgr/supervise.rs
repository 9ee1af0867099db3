//! Supervision: relaunch after kill -9, task recovery, a waiter that sees a
//! task's exit across the crash, failed relaunches, reattach, and stop.

use std::time::Duration;

use drover_pluginmgr::{Error, ManagedPlugin, PluginEvent, SupervisorOptions};
use drover_proto::v1::{AgentConfig, TaskConfig};
use serde_json::json;
use tokio::sync::broadcast;

use crate::support::{DEADLINE, Scratch, alive, gone, test_plugin};

fn options(scratch: &Scratch, mode: &str) -> SupervisorOptions {
    let state = scratch.path("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let mut launch = scratch.opts(mode);
    launch.env.push((
        "TEST_PLUGIN_MODE_FILE".into(),
        scratch.path("mode").display().to_string(),
    ));
    SupervisorOptions {
        launch,
        health_interval: Duration::from_millis(500),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        stop_grace: Duration::from_secs(2),
        agent: AgentConfig {
            state_dir: state.display().to_string(),
            agent_version: "test".into(),
        },
    }
}

fn task(id: &str) -> TaskConfig {
    TaskConfig {
        id: id.into(),
        name: "web".into(),
        config_json: "{}".into(),
        ..TaskConfig::default()
    }
}

/// The next event, within the deadline.
async fn next_event(events: &mut broadcast::Receiver<PluginEvent>) -> PluginEvent {
    tokio::time::timeout(DEADLINE, events.recv())
        .await
        .expect("an event in time")
        .expect("event channel open")
}

#[tokio::test]
async fn kill_9_relaunches_recovers_tasks_and_waiters_see_the_exit() {
    let scratch = Scratch::new();
    let plugin = ManagedPlugin::start(
        test_plugin(),
        json!({"enabled": true}),
        options(&scratch, "good"),
    )
    .await
    .expect("start");
    let driver = plugin.driver();
    let mut events = plugin.subscribe();
    assert_eq!(plugin.generation(), 0);

    let id = "a1/web/00000001";
    let started = driver.start_task(task(id)).await.expect("start task");
    assert!(started.handle.is_some());
    assert_eq!(driver.tasks().len(), 1);
    let waiter = tokio::spawn({
        let driver = driver.clone();
        async move { driver.wait_task(id).await }
    });

    let old = plugin.current();
    old.kill();
    match next_event(&mut events).await {
        PluginEvent::Died { generation, reason } => {
            assert_eq!(generation, 0);
            assert!(reason.contains("SIGKILL"), "{reason}");
        }
        other => panic!("expected Died, got {other:?}"),
    }
    match next_event(&mut events).await {
        PluginEvent::Relaunched {
            generation,
            recovered,
            failed,
        } => {
            assert_eq!(generation, 1);
            assert_eq!(recovered, vec![id.to_string()]);
            assert!(failed.is_empty(), "{failed:?}");
        }
        other => panic!("expected Relaunched, got {other:?}"),
    }
    plugin
        .wait_for_generation(1, DEADLINE)
        .await
        .expect("generation 1");
    assert_eq!(plugin.generation(), 1);
    let new = plugin.current();
    assert_ne!(new.pid(), old.pid());
    gone(old.pid()).await;
    new.check_health().await.expect("healthy");

    let inspected = driver.inspect_task(id).await.expect("inspect");
    assert_eq!(
        inspected
            .driver_attributes
            .get("recovered")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(
        inspected.driver_attributes.get("plugin_pid"),
        Some(&new.pid().to_string())
    );

    // The task ends while the new generation runs: the waiter, started on
    // generation 0, hears about it.
    let exit_file = scratch.path("state").join("a1_web_00000001.exit");
    std::fs::write(&exit_file, "7").expect("exit file");
    let exit = tokio::time::timeout(DEADLINE, waiter)
        .await
        .expect("waiter in time")
        .expect("waiter task")
        .expect("wait_task");
    assert_eq!(exit.exit_code, 7);

    driver.destroy_task(id, false).await.expect("destroy");
    assert!(driver.tasks().is_empty());
    let err = driver.inspect_task(id).await.expect_err("destroyed");
    assert!(
        err.to_string()
            .starts_with("plugin \"test\": InspectTask failed: "),
        "{err}"
    );

    plugin.stop().await.expect("stop");
    gone(new.pid()).await;
    assert!(scratch.leftover_dirs().is_empty());
}

#[tokio::test]
async fn failed_relaunches_are_retried_with_backoff() {
    let scratch = Scratch::new();
    let plugin = ManagedPlugin::start(test_plugin(), json!({}), options(&scratch, "good"))
        .await
        .expect("start");
    let mut events = plugin.subscribe();
    // The next launches exit before the handshake.
    std::fs::write(scratch.path("mode"), "exit_early").expect("mode file");
    plugin.current().kill();
    assert!(matches!(
        next_event(&mut events).await,
        PluginEvent::Died { generation: 0, .. }
    ));
    for expected in 1..=2 {
        match next_event(&mut events).await {
            PluginEvent::RelaunchFailed { attempt, error } => {
                assert_eq!(attempt, expected);
                assert!(
                    error.contains("exited before the handshake (exit status: 2)"),
                    "{error}"
                );
            }
            other => panic!("expected RelaunchFailed, got {other:?}"),
        }
    }
    std::fs::write(scratch.path("mode"), "good").expect("mode file");
    plugin
        .wait_for_generation(1, DEADLINE)
        .await
        .expect("back after failures");
    plugin.current().check_health().await.expect("healthy");
    plugin.stop().await.expect("stop");
    assert!(scratch.leftover_dirs().is_empty());
}

#[tokio::test]
async fn config_errors_fail_the_start_and_leave_nothing() {
    let scratch = Scratch::new();
    let err = ManagedPlugin::start(
        test_plugin(),
        json!({"enabled": "yes", "colour": 1}),
        options(&scratch, "good"),
    )
    .await
    .expect_err("bad config");
    assert_eq!(
        err.to_string(),
        "plugin \"test\": config.colour: unknown field; \
         config.enabled: invalid type: string \"yes\", expected a boolean"
    );
    gone(scratch.pid()).await;
    assert!(scratch.leftover_dirs().is_empty());
}

#[tokio::test]
async fn stop_ends_supervision() {
    let scratch = Scratch::new();
    let plugin = ManagedPlugin::start(test_plugin(), json!({}), options(&scratch, "good"))
        .await
        .expect("start");
    let mut events = plugin.subscribe();
    let pid = plugin.current().pid();
    plugin.stop().await.expect("stop");
    assert_eq!(next_event(&mut events).await, PluginEvent::Stopped);
    gone(pid).await;
    // Nobody waits for a generation that will not come, and calls fail fast.
    let err = plugin
        .wait_for_generation(1, DEADLINE)
        .await
        .expect_err("stopped");
    assert!(matches!(err, Error::Stopped { .. }), "{err:?}");
    let err = plugin.driver().capabilities().await.expect_err("stopped");
    assert_eq!(err.to_string(), "plugin \"test\": supervisor stopped");
    // No relaunch happened: the pid file still names the stopped process
    // (a relaunch would rewrite it within a backoff of 50 ms).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(scratch.pid(), pid);
    assert_eq!(plugin.generation(), 0);
}

#[tokio::test]
async fn detach_then_reattach_and_supervise_the_same_process() {
    let scratch = Scratch::new();
    let first = ManagedPlugin::start(test_plugin(), json!({}), options(&scratch, "good"))
        .await
        .expect("start");
    let record = first.detach().await;
    assert!(alive(record.pid), "detach leaves the plugin running");

    let second = ManagedPlugin::start_or_reattach(
        Some(record.clone()),
        test_plugin(),
        json!({}),
        options(&scratch, "good"),
    )
    .await
    .expect("reattach");
    assert_eq!(second.current().pid(), record.pid);
    assert_eq!(second.generation(), 0);
    second
        .driver()
        .capabilities()
        .await
        .expect("driver answers");

    // Death of a reattached (non-child) process is noticed too.
    let mut events = second.subscribe();
    second.current().kill();
    assert!(matches!(
        next_event(&mut events).await,
        PluginEvent::Died { generation: 0, .. }
    ));
    second
        .wait_for_generation(1, DEADLINE)
        .await
        .expect("relaunched");
    assert_ne!(second.current().pid(), record.pid);
    gone(record.pid).await;

    // A stale record falls back to a fresh launch.
    let third = ManagedPlugin::start_or_reattach(
        Some(record),
        test_plugin(),
        json!({}),
        options(&scratch, "good"),
    )
    .await
    .expect("launch instead");
    assert_ne!(third.current().pid(), second.current().pid());
    third.stop().await.expect("stop third");
    second.stop().await.expect("stop second");
    assert!(scratch.leftover_dirs().is_empty());
}

#[tokio::test]
async fn dropping_the_last_handle_ends_supervision_but_not_the_plugin() {
    let scratch = Scratch::new();
    let plugin = ManagedPlugin::start(test_plugin(), json!({}), options(&scratch, "good"))
        .await
        .expect("start");
    let driver = plugin.driver();
    let pid = plugin.current().pid();
    drop(plugin);
    driver
        .capabilities()
        .await
        .expect("a driver keeps it supervised");
    drop(driver);
    assert!(alive(pid));
    // SAFETY: our own child, still alive (checked above).
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    gone(pid).await;
    // Nothing relaunched it (a relaunch would rewrite the pid file within 50 ms).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(scratch.pid(), pid);
}
