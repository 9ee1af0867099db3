//! `drover-bench server-register`: job registrations through the `/v1/jobs` HTTP API
//! of one server on a tempdir until each job's allocation is committed through Raft
//! on disk.
//!
//! The API is the agent's own router over `ServerBackend`, served in-process on
//! 127.0.0.1:0; each client posts `{"Job": …}` JSON on a kept-alive HTTP/1.1
//! connection, as an API client would. A job counts as placed when its allocation is
//! visible in the server's state view, i.e. its `ApplyPlanResults` entry was fsynced
//! and applied. Baseline: this disk's fsync latency, measured in the same run (4 KiB
//! write + fsync).

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use drover_agent::http::{router, serve};
use drover_agent::{AgentInfo, ServerBackend};
use drover_server::{Server, ServerConfig, sim};
use drover_state::Table;
use drover_types::JobRegisterRequest;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

use crate::stats::Samples;

/// `POST /v1/jobs` with `req`; fails unless the API answers 200.
async fn post_job(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    req: &JobRegisterRequest,
) -> anyhow::Result<()> {
    let body = serde_json::to_vec(req).context("encode job")?;
    let request = hyper::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .context("build request")?;
    let resp = client.request(request).await.context("POST /v1/jobs")?;
    let status = resp.status();
    let body = resp.into_body().collect().await.context("read answer")?;
    anyhow::ensure!(
        status == 200,
        "POST /v1/jobs: {status}: {}",
        String::from_utf8_lossy(&body.to_bytes())
    );
    Ok(())
}

/// fsync latencies of 4 KiB appends in `dir`.
fn measure_fsync(dir: &std::path::Path, n: usize) -> anyhow::Result<Samples> {
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).context("create fsync probe")?;
    let block = [0u8; 4096];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        f.write_all(&block).context("write fsync probe")?;
        let t = Instant::now();
        f.sync_data().context("fsync probe")?;
        out.push(t.elapsed());
    }
    let _ = std::fs::remove_file(&path);
    Ok(Samples::new(out))
}

pub async fn run(
    nodes: usize,
    jobs: usize,
    clients: usize,
    schedulers: usize,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("tempdir")?;
    let fsync = measure_fsync(dir.path(), 200)?;
    let mut config = ServerConfig::new(dir.path());
    config.num_schedulers = schedulers;
    let shutdown = CancellationToken::new();
    let (server, done) = Server::start(config, shutdown.clone())
        .await
        .context("start server")?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !server.is_leader() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no leader within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for i in 0..nodes {
        server
            .node_register(sim::node(&format!("node-{i:05}"), 1_000_000, 1_000_000))
            .await
            .context("register node")?;
    }
    println!(
        "server-register: 1 server on {}, {nodes} simulated nodes, {jobs} service jobs \
         (count 1), {clients} concurrent clients, {schedulers} scheduler workers",
        dir.path().display()
    );
    // All clients connect at once: with tokio's default backlog of 128, the
    // connections beyond it lose their SYN and retry after 1 s, which would
    // measure the kernel's SYN retransmit timer, not Drover.
    let socket = tokio::net::TcpSocket::new_v4().context("HTTP API socket")?;
    socket
        .bind("127.0.0.1:0".parse()?)
        .context("bind the HTTP API")?;
    let listener = socket.listen(4096).context("listen on the HTTP API")?;
    let url = format!("http://{}/v1/jobs", listener.local_addr()?);
    let api = router(Arc::new(ServerBackend::new(
        server.clone(),
        AgentInfo::default(),
    )));
    let http_task = tokio::spawn(serve(listener, api, shutdown.clone()));
    println!("registrations: POST {url} (the agent's router over ServerBackend)");
    let flushes0 = server.raft_status().flushes;
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let server = Arc::new(server);
    for c in 0..clients {
        let s = server.clone();
        let url = url.clone();
        let http: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        set.spawn(async move {
            let mut lat = Vec::new();
            for i in (c..jobs).step_by(clients) {
                let id = format!("bench-{i:06}");
                let t0 = Instant::now();
                let req = JobRegisterRequest {
                    job: Some(sim::service_job(&id, 1, 10, 10)),
                    ..Default::default()
                };
                post_job(&http, &url, &req)
                    .await
                    .with_context(|| id.clone())?;
                let answered = t0.elapsed();
                let mut seen = 0;
                loop {
                    let v = s
                        .wait_for(
                            &[Table::Allocs],
                            seen,
                            tokio::time::Instant::now() + Duration::from_secs(30),
                        )
                        .await;
                    if v.allocs_by_job("default", &id).any(|a| !a.is_terminal()) {
                        break;
                    }
                    anyhow::ensure!(
                        t0.elapsed() < Duration::from_secs(60),
                        "{id} not placed in 60 s"
                    );
                    seen = v.index(Table::Allocs);
                }
                lat.push((t0.duration_since(started), answered, t0.elapsed()));
            }
            anyhow::Ok(lat)
        });
    }
    let mut all = Vec::with_capacity(jobs);
    while let Some(r) = set.join_next().await {
        all.extend(r.context("client task")??);
    }
    if std::env::var_os("BENCH_TIMELINE").is_some() {
        all.sort();
        for (start, answered, placed) in &all {
            eprintln!(
                "TL {} {} {}",
                start.as_millis(),
                answered.as_millis(),
                placed.as_millis()
            );
        }
    }
    let answered = Samples::new(all.iter().map(|l| l.1).collect());
    let all: Vec<Duration> = all.iter().map(|l| l.2).collect();
    let elapsed = started.elapsed();
    let flushes = server.raft_status().flushes - flushes0;
    shutdown.cancel();
    let _ = http_task.await;
    let _ = done.await;
    let lat = Samples::new(all);
    let rate = jobs as f64 / elapsed.as_secs_f64();
    let fsync_p50 = fsync.p50();
    println!(
        "fsync (4 KiB append): p50 {:.0}us p99 {:.0}us",
        fsync_p50.as_secs_f64() * 1e6,
        fsync.p99().as_secs_f64() * 1e6
    );
    println!(
        "register→answered (HTTP 200): p50 {:.1}ms p99 {:.1}ms",
        answered.p50().as_secs_f64() * 1e3,
        answered.p99().as_secs_f64() * 1e3
    );
    println!(
        "register→placed: p50 {:.1}ms p99 {:.1}ms; {jobs} jobs in {:.2}s = {rate:.0} jobs/s; \
         {flushes} raft fsyncs ({:.1} jobs per fsync)",
        lat.p50().as_secs_f64() * 1e3,
        lat.p99().as_secs_f64() * 1e3,
        elapsed.as_secs_f64(),
        jobs as f64 / flushes.max(1) as f64
    );
    let ratio = rate * fsync_p50.as_secs_f64();
    println!(
        "ratio = jobs/s × fsync p50 = jobs placed per fsync-time; each job needs 3 raft \
         entries (register, plan, eval update), so without group commit it would be ≤ 0.33"
    );
    println!(
        "goal: ≥ 1000 jobs/s and p99 ≤ 100 ms: {}",
        if rate >= 1000.0 && lat.p99() <= Duration::from_millis(100) {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "RESULT server-register rate={rate:.0}jobs/s baseline={:.0}us ratio={ratio:.2}",
        fsync_p50.as_secs_f64() * 1e6
    );
    Ok(())
}
