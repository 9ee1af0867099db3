//! `raw-exec-start`: StartTask of `/bin/true` through the raw_exec plugin
//! until WaitTask observes its exit, against a plain spawn + wait of
//! `/bin/true` in the same run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use drover_pluginmgr::{LaunchOptions, PluginCommand, PluginProcess};
use drover_proto::v1;

use crate::stats::{Samples, result_line};

pub async fn run(plugin_dir: Option<&PathBuf>, iterations: usize) -> anyhow::Result<()> {
    let mut spawn = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        let status = tokio::process::Command::new("/bin/true").status().await?;
        anyhow::ensure!(status.success(), "/bin/true failed: {status}");
        spawn.push(t.elapsed());
    }
    let spawn = Samples::new(spawn);

    let path = crate::plugin_path(plugin_dir, "drover-driver-raw-exec")?;
    let plugin = PluginProcess::launch(
        &PluginCommand { path, args: vec![] },
        &LaunchOptions::default(),
    )
    .await?;
    plugin
        .set_config(
            &serde_json::json!({ "enabled": true }),
            v1::AgentConfig::default(),
        )
        .await?;
    let dir = tempfile::tempdir()?;
    let mut client = plugin.driver_client();
    let mut samples = Vec::with_capacity(iterations);
    for n in 0..iterations {
        let alloc_dir = dir.path().join(format!("alloc-{n}"));
        std::fs::create_dir_all(alloc_dir.join("alloc/logs"))?;
        let task = v1::TaskConfig {
            id: format!("bench-{n}/t/{n:08x}"),
            name: "t".into(),
            config_json: r#"{"command":"/bin/true"}"#.into(),
            alloc_dir: alloc_dir.display().to_string(),
            stdout_path: alloc_dir
                .join("alloc/logs/t.stdout.0")
                .display()
                .to_string(),
            stderr_path: alloc_dir
                .join("alloc/logs/t.stderr.0")
                .display()
                .to_string(),
            ..v1::TaskConfig::default()
        };
        let id = task.id.clone();
        let t = Instant::now();
        let started = client
            .start_task(v1::StartTaskRequest { task: Some(task) })
            .await?
            .into_inner();
        anyhow::ensure!(
            started.result() == v1::StartResult::Success,
            "StartTask failed: {}",
            started.driver_error_msg
        );
        let exit = client
            .wait_task(v1::WaitTaskRequest {
                task_id: id.clone(),
            })
            .await?
            .into_inner();
        samples.push(t.elapsed());
        let code = exit.result.context("WaitTask without a result")?.exit_code;
        anyhow::ensure!(code == 0, "/bin/true exited {code} under raw_exec");
        client
            .destroy_task(v1::DestroyTaskRequest {
                task_id: id,
                force: true,
            })
            .await?;
    }
    plugin.stop(Duration::from_secs(2)).await?;
    let raw = Samples::new(samples);
    println!(
        "raw-exec-start: {iterations} tasks: p50={:?} p99={:?}; bare spawn+wait: p50={:?} p99={:?}",
        raw.p50(),
        raw.p99(),
        spawn.p50(),
        spawn.p99()
    );
    println!(
        "{}",
        result_line("raw-exec-start", "p50", raw.p50(), spawn.p50(), "ms")
    );
    Ok(())
}
