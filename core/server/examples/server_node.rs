//! A lone Drover server on a data dir, for the reliability test.
//!
//! `server_node burst <data_dir> <count>`: registers 4 simulated nodes, then jobs
//! `job-<i>` (count 2) for i in 0..count with 32 concurrent clients, printing
//! `ACK <index> <job> <eval_id>` for each acknowledged registration (flushing stdout
//! each time) while the workers place them.
//!
//! `server_node dump <data_dir>`: first replays the raft log (last snapshot + the
//! entries after it) into a fresh `StateStore`, then starts the server on
//! the same dir with no scheduler workers, waits until it has applied as far, and
//! prints `JOB <ns> <id>`, `EVAL <id> <job>`, `ALLOC <job> <name> <live>` lines, then
//! `MATCH <true|false>` (whether both states are equal, ignoring the applied index)
//! and `END <applied>`.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use drover_server::raft::RaftStorage;
use drover_server::{Server, ServerConfig, sim};
use drover_state::StateStore;
use drover_types::JobRegisterRequest;
use tokio_util::sync::CancellationToken;

fn usage() -> ! {
    eprintln!("usage: server_node burst <data_dir> <count> | server_node dump <data_dir>");
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
    let dir = PathBuf::from(dir);
    let mut config = ServerConfig::new(&dir);
    // Compact often so a kill can land mid-compaction too.
    config.snapshot_threshold = 300;
    match mode.as_str() {
        "burst" => {
            let count: usize = args
                .get(3)
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| usage());
            let (server, done, shutdown) = start(config).await?;
            for i in 0..4 {
                server
                    .node_register(sim::node(&format!("node-{i}"), 100_000, 100_000))
                    .await?;
            }
            burst(&server, count).await;
            shutdown.cancel();
            done.await?;
        }
        "dump" => {
            let replayed = replay(&dir)?;
            config.enabled_schedulers.clear();
            let (server, done, shutdown) = start(config).await?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            let view = server
                .wait_index(replayed.applied_index(), deadline)
                .await
                .ok_or("server did not replay its log within 20 s")?;
            let same = strip(&server.state_snapshot())? == strip(&replayed.snapshot())?;
            let mut out = std::io::stdout().lock();
            for j in view.jobs() {
                writeln!(out, "JOB {} {}", j.namespace(), j.id())?;
            }
            for e in view.evals() {
                writeln!(out, "EVAL {} {}", e.id, e.job_id)?;
            }
            for a in view.allocs() {
                writeln!(out, "ALLOC {} {} {}", a.job_id, a.name, !a.is_terminal())?;
            }
            writeln!(out, "MATCH {same}")?;
            writeln!(out, "END {}", view.applied_index())?;
            drop(out);
            shutdown.cancel();
            done.await?;
        }
        _ => usage(),
    }
    Ok(())
}

async fn start(
    config: ServerConfig,
) -> Result<(Server, tokio::task::JoinHandle<()>, CancellationToken), Box<dyn std::error::Error>> {
    let shutdown = CancellationToken::new();
    let (server, done) = Server::start(config, shutdown.clone()).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !server.is_leader() {
        if tokio::time::Instant::now() > deadline {
            return Err("no leader within 20 s".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok((server, done, shutdown))
}

/// The state rebuilt from the log alone.
fn replay(dir: &std::path::Path) -> Result<StateStore, Box<dyn std::error::Error>> {
    let storage = RaftStorage::open(dir)?;
    let (image, entries) = storage.log_since_snapshot()?;
    let mut store = StateStore::new();
    if let Some(image) = image {
        store.restore(&image)?;
    }
    for (index, data) in entries {
        store.apply(index, &data);
    }
    Ok(store)
}

/// A snapshot document without `AppliedIndex` (a restarted leader appends a no-op).
fn strip(bytes: &[u8]) -> Result<serde_json::Value, serde_json::Error> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("AppliedIndex");
    }
    Ok(v)
}

async fn burst(server: &Server, count: usize) {
    let clients = 32;
    let mut set = tokio::task::JoinSet::new();
    for c in 0..clients {
        let s = server.clone();
        set.spawn(async move {
            for i in (c..count).step_by(clients) {
                let job = sim::service_job(&format!("job-{i}"), 2, 10, 10);
                let req = JobRegisterRequest {
                    job: Some(job),
                    ..Default::default()
                };
                match s.job_register(req).await {
                    Ok(r) => {
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "ACK {} job-{i} {}", r.index, r.eval_id);
                        let _ = out.flush();
                    }
                    Err(e) => eprintln!("job-{i}: {e}"),
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}
