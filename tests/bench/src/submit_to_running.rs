//! `drover-bench submit-to-running`: a real `drover agent -dev` (server + client, the
//! raw_exec plugin), jobs registered one after another through `/v1/jobs`, each timed
//! from the registration until the API reports its allocation `running` (observed
//! with blocking queries on `/v1/job/<id>/allocations`). Each job is stopped before
//! the next is sent. Baseline: spawning the same command directly in the same run.
//! Also prints the idle agent's and the raw_exec plugin's RSS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::stats::{Samples, result_line};

type Http = Client<HttpConnector, Full<Bytes>>;

/// The command every job runs.
const COMMAND: &str = "/bin/sleep";
const ARGS: &[&str] = &["600"];

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn call(
    http: &Http,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value, u64)> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let resp = http.request(req).await.with_context(|| url.to_owned())?;
    let status = resp.status().as_u16();
    let index = resp
        .headers()
        .get("x-nomad-index")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bytes = resp.into_body().collect().await?.to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, value, index))
}

/// `VmRSS` of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Child processes of `parent` whose executable name ends with `suffix`.
fn children_named(parent: u32, suffix: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(") ")
                .and_then(|(_, r)| r.split(' ').nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).filter(|a| !a.is_empty()).collect();
            ppid == Some(parent) && args.len() == 1 && args[0].ends_with(suffix.as_bytes())
        })
        .collect()
}

struct Agent {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Agent {
    fn drop(&mut self) {
        // SIGTERM: a dev agent stops its tasks and plugins and removes its data dir.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_agent(drover: &Path) -> anyhow::Result<(Agent, String)> {
    let dir = tempfile::tempdir()?;
    let (http, rpc, serf) = (free_port()?, free_port()?, free_port()?);
    let cfg = dir.path().join("agent.hcl");
    std::fs::write(
        &cfg,
        format!(
            "log_level = \"WARN\"\nports {{\n  http = {http}\n  rpc = {rpc}\n  serf = {serf}\n}}\n"
        ),
    )?;
    let child = Command::new(drover)
        .args(["agent", "-dev", "-bind", "127.0.0.1", "-config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("start {}", drover.display()))?;
    Ok((
        Agent { child, _dir: dir },
        format!("http://127.0.0.1:{http}"),
    ))
}

/// Waits for a ready node whose raw_exec driver is healthy.
async fn wait_for_node(http: &Http, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((200, nodes, _)) = call(http, "GET", &format!("{base}/v1/nodes"), None).await
            && let Some(n) = nodes.as_array().and_then(|a| a.first())
            && n["Status"] == "ready"
            && n["Drivers"]["raw_exec"]["Healthy"] == true
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the dev agent did not register a ready node with a healthy raw_exec driver"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn job(id: &str) -> Value {
    json!({"Job": {
        "ID": id,
        "Name": id,
        "Type": "service",
        "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "g",
            "Count": 1,
            "Tasks": [{
                "Name": "t",
                "Driver": "raw_exec",
                "Config": {"command": COMMAND, "args": ARGS},
                "Resources": {"CPU": 20, "MemoryMB": 16},
                "KillTimeout": 1_000_000_000u64,
            }],
        }],
    }})
}

/// Register → allocation running, through blocking queries.
async fn submit_and_wait(http: &Http, base: &str, id: &str) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let (status, body, _) = call(http, "PUT", &format!("{base}/v1/jobs"), Some(&job(id))).await?;
    anyhow::ensure!(status == 200, "register {id}: {status} {body}");
    let mut index = 0;
    loop {
        let url = format!("{base}/v1/job/{id}/allocations?index={index}&wait=10s");
        let (status, allocs, idx) = call(http, "GET", &url, None).await?;
        anyhow::ensure!(status == 200, "allocations of {id}: {status} {allocs}");
        let states: Vec<&str> = allocs
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["ClientStatus"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        if states.contains(&"running") {
            return Ok(t0.elapsed());
        }
        anyhow::ensure!(
            !states.iter().any(|s| *s == "failed" || *s == "complete"),
            "{id}: allocation ended before running: {allocs}"
        );
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(60),
            "{id}: not running in 60 s"
        );
        index = idx;
    }
}

/// Spawn of the same command until the process exists (then it is killed).
fn baseline(n: usize) -> anyhow::Result<Samples> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let mut c = Command::new(COMMAND)
            .args(ARGS)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawn the baseline command")?;
        out.push(t.elapsed());
        let _ = c.kill();
        let _ = c.wait();
    }
    Ok(Samples::new(out))
}

pub async fn run(drover: PathBuf, jobs: usize) -> anyhow::Result<()> {
    let base_samples = baseline(jobs)?;
    let (agent, base) = start_agent(&drover)?;
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    wait_for_node(&http, &base).await?;
    // Idle: give the agent a moment after registration, then read its memory.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let agent_pid = agent.child.id();
    let agent_rss = rss_kib(agent_pid).unwrap_or(0);
    let plugin_rss: Vec<(u32, u64)> = children_named(agent_pid, "drover-driver-raw-exec")
        .into_iter()
        .map(|p| (p, rss_kib(p).unwrap_or(0)))
        .collect();
    println!(
        "submit-to-running: a `drover agent -dev` ({}), {jobs} raw_exec service jobs \
         ({COMMAND} {}) registered one after another, each stopped before the next",
        drover.display(),
        ARGS.join(" ")
    );
    println!(
        "idle RSS: agent {:.1} MB; raw_exec plugin {}",
        agent_rss as f64 / 1024.0,
        plugin_rss
            .iter()
            .map(|(_, r)| format!("{:.1} MB", *r as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut lat = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let id = format!("s2r-{i:04}");
        lat.push(submit_and_wait(&http, &base, &id).await?);
        let (status, body, _) = call(
            &http,
            "DELETE",
            &format!("{base}/v1/job/{id}?purge=true"),
            None,
        )
        .await?;
        anyhow::ensure!(status == 200, "stop {id}: {status} {body}");
    }
    let lat = Samples::new(lat);
    println!(
        "register→running: p50 {:.1}ms p99 {:.1}ms; baseline spawn p50 {:.2}ms",
        lat.p50().as_secs_f64() * 1e3,
        lat.p99().as_secs_f64() * 1e3,
        base_samples.p50().as_secs_f64() * 1e3
    );
    println!(
        "goal: p50 ≤ 30 ms and p99 ≤ 100 ms: {}",
        if lat.p50() <= Duration::from_millis(30) && lat.p99() <= Duration::from_millis(100) {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "{}",
        result_line(
            "submit-to-running",
            "p50",
            lat.p50(),
            base_samples.p50(),
            "ms"
        )
    );
    drop(agent);
    Ok(())
}
