//! Measures the disk's fsync latency and a lone Raft server's sustained
//! proposals/s and ack latency with 64 concurrent proposers.
//!
//! `cargo run --release -p drover-server --example raft_bench [seconds] [dir]`
//! prints `RESULT` lines; the data lives in a temporary directory under `dir`
//! (default: the system temp dir) and is removed afterwards.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use drover_server::raft::{KvStateMachine, RaftConfig, RaftNode, RaftStorage, Transport};
use tokio_util::sync::CancellationToken;

struct NoPeers;

impl Transport for NoPeers {
    fn send(&mut self, _: Vec<drover_server::raft::Message>) {}
    fn update_peers(&mut self, _: &std::collections::BTreeMap<u64, String>) {}
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn fsync_latency(dir: &std::path::Path, n: usize) -> std::io::Result<Vec<Duration>> {
    let mut f = std::fs::File::create(dir.join("fsync-probe"))?;
    let block = vec![0xA5u8; 4096];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f.write_all(&block)?;
        f.sync_data()?;
        out.push(t.elapsed());
    }
    out.sort();
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let base = args
        .get(2)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base)?;

    let fs = fsync_latency(dir.path(), 200)?;
    let mean = fs.iter().sum::<Duration>() / fs.len() as u32;
    println!(
        "RESULT fsync write4k+sync_data n={} mean_us={} p50_us={} p99_us={}",
        fs.len(),
        mean.as_micros(),
        percentile(&fs, 0.5).as_micros(),
        percentile(&fs, 0.99).as_micros()
    );

    let storage = RaftStorage::open(dir.path())?;
    let fsm = Arc::new(Mutex::new(KvStateMachine::default()));
    let (node, handle) = RaftNode::open(
        RaftConfig::single(1, "127.0.0.1:4648"),
        storage,
        fsm,
        Box::new(NoPeers),
    )?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(node.run(shutdown.clone()));
    handle
        .wait_for(Duration::from_secs(10), |s| s.leader_id == Some(1))
        .await
        .ok_or("no leader")?;
    let flushes_before = handle.status().flushes;

    let proposers = 64;
    let end = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..proposers {
        let h = handle.clone();
        set.spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0u64;
            while Instant::now() < end {
                let t = Instant::now();
                h.propose(format!("w{w}-{i}=some-value-of-moderate-size").into_bytes())
                    .await?;
                lat.push(t.elapsed());
                i += 1;
            }
            Ok::<_, drover_server::raft::RaftError>(lat)
        });
    }
    let mut lat = Vec::new();
    while let Some(r) = set.join_next().await {
        lat.extend(r??);
    }
    let elapsed = started.elapsed();
    lat.sort();
    let flushes = handle.status().flushes - flushes_before;
    println!(
        "RESULT raft_single proposers={proposers} proposals={} per_s={:.0} p50_ms={:.2} p99_ms={:.2} fsyncs={flushes} entries_per_fsync={:.1}",
        lat.len(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.len() as f64 / flushes.max(1) as f64,
    );
    shutdown.cancel();
    task.await??;
    Ok(())
}
