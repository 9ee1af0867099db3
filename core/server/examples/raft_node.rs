//! A lone Raft server on its WAL, for the kill -9 durability test.
//!
//! `raft_node burst <data_dir> <count> [segment_bytes]`: proposes `key<i>=v`
//! for i in 0..count with 32 concurrent proposers and prints `ACK <index>
//! key<i>` for each acknowledged write (after fsync and apply), flushing
//! stdout each time. Small `segment_bytes` make the WAL roll and delete
//! segments during the burst.
//! `raft_node dump <data_dir>`: recovers, waits until everything committed is
//! applied, prints `KEY <key> <writes>` for each key, then `END <applied>`.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drover_server::raft::{
    DEFAULT_SEGMENT_BYTES, KvStateMachine, RaftConfig, RaftHandle, RaftNode, RaftStorage, Transport,
};
use tokio_util::sync::CancellationToken;

struct NoPeers;

impl Transport for NoPeers {
    fn send(&mut self, _: Vec<drover_server::raft::Message>) {}
    fn update_peers(&mut self, _: &std::collections::BTreeMap<u64, String>) {}
}

fn usage() -> ! {
    eprintln!(
        "usage: raft_node burst <data_dir> <count> [segment_bytes] | raft_node dump <data_dir>"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(dir)) = (args.get(1), args.get(2)) else {
        usage()
    };
    let mut config = RaftConfig::single(1, "127.0.0.1:4648");
    // Compact often so a kill can land mid-compaction too.
    config.snapshot_threshold = 200;
    let segment_bytes = match (mode.as_str(), args.get(4)) {
        ("burst", Some(s)) => s.parse().unwrap_or_else(|_| usage()),
        _ => DEFAULT_SEGMENT_BYTES,
    };
    let storage = RaftStorage::open_with(&PathBuf::from(dir), segment_bytes)?;
    let fsm = Arc::new(Mutex::new(KvStateMachine::default()));
    let (node, handle) = RaftNode::open(config, storage, fsm.clone(), Box::new(NoPeers))?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(node.run(shutdown.clone()));
    handle
        .wait_for(Duration::from_secs(10), |s| s.leader_id == Some(1))
        .await
        .ok_or("no leader within 10 s")?;
    match mode.as_str() {
        "burst" => {
            let count: usize = args
                .get(3)
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| usage());
            burst(&handle, count).await;
        }
        "dump" => {
            // The read barrier returns once everything committed is applied.
            let applied = tokio::time::timeout(Duration::from_secs(10), handle.read_index())
                .await
                .map_err(|_| format!("read barrier timed out: {:?}", handle.status()))??;
            let kv = fsm.lock().map_err(|_| "fsm lock poisoned")?.clone();
            let mut out = std::io::stdout().lock();
            for (key, (_, writes)) in &kv.entries {
                writeln!(out, "KEY {key} {writes}")?;
            }
            writeln!(out, "END {applied}")?;
        }
        _ => usage(),
    }
    shutdown.cancel();
    task.await??;
    Ok(())
}

async fn burst(handle: &RaftHandle, count: usize) {
    let workers = 32;
    let mut set = tokio::task::JoinSet::new();
    for w in 0..workers {
        let h = handle.clone();
        set.spawn(async move {
            for i in (w..count).step_by(workers) {
                match h.propose(format!("key{i}=v").into_bytes()).await {
                    Ok((index, _)) => {
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "ACK {index} key{i}");
                        let _ = out.flush();
                    }
                    Err(e) => eprintln!("key{i}: {e}"),
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}
