//! `plugin-rpc`: latency of a cheap RPC (`Capabilities`) to a real plugin
//! process over its unix socket, against a unix-socket echo round trip of a
//! few bytes in the same run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use drover_pluginmgr::{LaunchOptions, PluginCommand, PluginProcess};
use drover_proto::v1;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::stats::{Samples, result_line};

const WARMUP: usize = 200;

pub async fn run(plugin_dir: Option<&PathBuf>, iterations: usize) -> anyhow::Result<()> {
    let baseline = echo_round_trips(iterations).await?;
    let path = crate::plugin_path(plugin_dir, "drover-driver-mock")?;
    let plugin = PluginProcess::launch(
        &PluginCommand { path, args: vec![] },
        &LaunchOptions::default(),
    )
    .await?;
    plugin
        .set_config(&serde_json::json!({}), v1::AgentConfig::default())
        .await?;
    let mut client = plugin.driver_client();
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..WARMUP + iterations {
        let t = Instant::now();
        client.capabilities(v1::CapabilitiesRequest {}).await?;
        if i >= WARMUP {
            samples.push(t.elapsed());
        }
    }
    plugin.stop(Duration::from_secs(2)).await?;
    let rpc = Samples::new(samples);
    println!(
        "plugin-rpc: {iterations} Capabilities calls: p50={:?} p99={:?}; unix echo: p50={:?} p99={:?}",
        rpc.p50(),
        rpc.p99(),
        baseline.p50(),
        baseline.p99()
    );
    println!(
        "{}",
        result_line("plugin-rpc-p99", "p99", rpc.p99(), baseline.p99(), "us")
    );
    println!(
        "{}",
        result_line("plugin-rpc", "p50", rpc.p50(), baseline.p50(), "us")
    );
    Ok(())
}

/// Round trips of 64 bytes to an echo server on a unix socket.
async fn echo_round_trips(iterations: usize) -> anyhow::Result<Samples> {
    let dir = tempfile::tempdir()?;
    let sock = dir.path().join("echo.sock");
    let listener = UnixListener::bind(&sock)?;
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        let mut buf = [0u8; 64];
        loop {
            if s.read_exact(&mut buf).await.is_err() {
                return Ok::<_, std::io::Error>(());
            }
            s.write_all(&buf).await?;
        }
    });
    let mut client = UnixStream::connect(&sock).await?;
    let msg = [7u8; 64];
    let mut back = [0u8; 64];
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..WARMUP + iterations {
        let t = Instant::now();
        client.write_all(&msg).await?;
        client.read_exact(&mut back).await?;
        if i >= WARMUP {
            samples.push(t.elapsed());
        }
    }
    drop(client);
    server.await??;
    Ok(Samples::new(samples))
}
