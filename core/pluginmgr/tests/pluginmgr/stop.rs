//! Stopping and reattaching: the Shutdown → SIGTERM → SIGKILL sequence, and
//! a second `PluginProcess` taking over a running plugin from its record.

use std::time::{Duration, Instant};

use drover_pluginmgr::{Error, PluginProcess, ReattachRecord};
use drover_proto::v1;

use crate::support::{DEADLINE, Scratch, alive, gone, test_plugin};

#[tokio::test]
async fn stubborn_plugin_ends_in_sigkill_and_is_reaped() {
    let scratch = Scratch::new();
    let plugin = PluginProcess::launch(&test_plugin(), &scratch.opts("stubborn"))
        .await
        .expect("launch");
    let pid = plugin.pid();
    let dir = plugin.socket().parent().expect("dir").to_path_buf();
    let grace = Duration::from_millis(300);
    let started = Instant::now();
    plugin.stop(grace).await.expect("stop");
    assert!(started.elapsed() >= grace * 2, "waited out both graces");
    let status = plugin.exit_status().expect("exited");
    assert!(status.contains("SIGKILL"), "{status}");
    let tail = plugin.stderr_tail().join("\n");
    assert!(tail.contains("ignoring Shutdown"), "{tail}");
    assert!(tail.contains("ignoring SIGTERM"), "{tail}");
    gone(pid).await;
    assert!(!dir.exists());
    // Stopping again is harmless.
    plugin.stop(grace).await.expect("second stop");
}

#[tokio::test]
async fn kill_and_exited() {
    let scratch = Scratch::new();
    let plugin = PluginProcess::launch(&test_plugin(), &scratch.opts("good"))
        .await
        .expect("launch");
    let pid = plugin.pid();
    plugin.kill();
    tokio::time::timeout(DEADLINE, plugin.exited())
        .await
        .expect("exited resolves");
    gone(pid).await;
    let err = plugin.check_health().await.expect_err("dead");
    assert!(
        err.to_string()
            .starts_with("plugin \"test\": health check failed"),
        "{err}"
    );
    plugin.stop(Duration::from_secs(1)).await.expect("cleanup");
    assert!(scratch.leftover_dirs().is_empty());
}

#[tokio::test]
async fn reattach_from_a_stored_record() {
    let scratch = Scratch::new();
    let first = PluginProcess::launch(&test_plugin(), &scratch.opts("good"))
        .await
        .expect("launch");
    let record = first.reattach_record();
    assert_eq!(record.name, "test");
    assert_eq!(record.pid, first.pid());
    assert_eq!(record.plugin_version, "0.1.0");
    let json = serde_json::to_string(&record).expect("store");
    let stored: ReattachRecord = serde_json::from_str(&json).expect("load");

    // A pid that now belongs to another process is refused.
    let mut reused = stored.clone();
    reused.start_time += 1;
    let err = PluginProcess::reattach(&reused)
        .await
        .expect_err("reused pid");
    assert!(matches!(err, Error::Reattach { .. }), "{err:?}");
    assert!(err.to_string().contains("another process"), "{err}");

    let second = PluginProcess::reattach(&stored).await.expect("reattach");
    assert_eq!(second.pid(), first.pid());
    assert_eq!(second.name(), "test");
    assert_eq!(second.reattach_record(), stored);
    second.check_health().await.expect("healthy");
    let caps = second
        .driver_client()
        .capabilities(v1::CapabilitiesRequest {})
        .await
        .expect("call through the reattached channel");
    assert!(caps.into_inner().capabilities.is_some());

    // The reattached handle sees the exit (pidfd), and stops it.
    let pid = second.pid();
    second.stop(Duration::from_secs(5)).await.expect("stop");
    tokio::time::timeout(DEADLINE, second.exited())
        .await
        .expect("reattached handle sees the exit");
    tokio::time::timeout(DEADLINE, first.exited())
        .await
        .expect("launching handle reaps it");
    gone(pid).await;
    assert!(!alive(pid));
    assert!(
        scratch.leftover_dirs().is_empty(),
        "stop removed the socket dir"
    );

    let err = PluginProcess::reattach(&stored).await.expect_err("gone");
    assert!(err.to_string().contains("is gone"), "{err}");
}
