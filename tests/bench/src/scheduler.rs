//! `drover-bench scheduler`: placements per second of the pure scheduler on one core.
//!
//! Runs (1) one service job with count 10,000 on 5,000 simulated nodes and (2) 1,000
//! jobs × 10 allocations on a fresh 5,000-node cluster, each eval processed through the
//! in-memory harness (plans applied to its state). Baseline: the same pipeline placing
//! the same number of allocations on a single node, i.e. feasibility + ranking of one
//! node repeated — the ratio shows what cluster scale costs.

use drover_scheduler::{Algorithm, Env, Harness, MemState, SeedableRng, StdRng};
use drover_types::node::DriverInfo;
use drover_types::{Evaluation, Job, NetworkResource, Node, NodeResources, NodeStatus};
use std::time::{Duration, Instant};

const NOW_NS: i64 = 1_700_000_000 * 1_000_000_000;

fn node(i: usize, cpu: i64, mem: i64, disk: i64) -> Node {
    let mut n = Node {
        id: format!("{i:08x}-0000-4000-8000-{i:012x}"),
        name: format!("node-{i}"),
        datacenter: format!("dc{}", i % 3 + 1),
        node_pool: "default".into(),
        node_class: format!("class-{}", i % 4),
        status: NodeStatus::Ready,
        ..Default::default()
    };
    for (k, v) in [
        ("kernel.name", "linux"),
        ("cpu.arch", "amd64"),
        ("os.name", "ubuntu"),
        ("os.version", "22.04"),
        ("driver.docker", "1"),
        ("nomad.version", "1.7.0"),
    ] {
        n.attributes.insert(k.into(), v.into());
    }
    n.attributes
        .insert("unique.hostname".into(), n.name.clone());
    n.meta.insert("rack".into(), format!("r{}", i % 20));
    n.drivers.insert(
        "docker".into(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        },
    );
    let mut r = NodeResources::default();
    r.cpu.cpu_shares = cpu;
    r.memory.memory_mb = mem;
    r.disk.disk_mb = disk;
    r.networks.push(NetworkResource {
        mode: "host".into(),
        ip: format!("10.{}.{}.{}", i / 65536, i / 256 % 256, i % 256),
        ..Default::default()
    });
    n.node_resources = Some(r);
    n
}

fn job(id: &str, count: usize) -> anyhow::Result<Job> {
    let mut job: Job = serde_json::from_value(serde_json::json!({
        "ID": id, "Datacenters": ["dc*"],
        "Constraints": [{"LTarget": "${attr.kernel.name}", "RTarget": "linux", "Operand": "="}],
        "TaskGroups": [{"Name": "web", "Count": count,
            "Tasks": [{"Name": "server", "Driver": "docker",
                "Config": {"image": "nginx:1.25"},
                "Resources": {"CPU": 100, "MemoryMB": 128}}]}]
    }))?;
    job.canonicalize();
    Ok(job)
}

fn eval(job: &Job, n: usize) -> Evaluation {
    Evaluation {
        id: format!("eval-{n}"),
        namespace: job.namespace().into(),
        priority: 50,
        kind: "service".into(),
        triggered_by: "job-register".into(),
        job_id: job.id().into(),
        ..Default::default()
    }
}

fn cluster(nodes: usize, cpu: i64, mem: i64, disk: i64) -> MemState {
    let mut s = MemState::new();
    for i in 0..nodes {
        s.upsert_node(node(i, cpu, mem, disk));
    }
    s
}

/// Processes one eval per job; returns (placements, time).
fn run(state: MemState, jobs: Vec<Job>, rng: &mut StdRng) -> anyhow::Result<(usize, Duration)> {
    let mut h = Harness::new(state);
    h.record = false;
    h.denormalize = false;
    let evals: Vec<Evaluation> = jobs.iter().enumerate().map(|(i, j)| eval(j, i)).collect();
    {
        let st = std::sync::Arc::make_mut(&mut h.state);
        for j in jobs {
            st.upsert_job(j);
        }
    }
    let start = Instant::now();
    for e in &evals {
        let env = Env {
            now_ns: NOW_NS,
            rng: &mut *rng,
            algorithm: Algorithm::Binpack,
        };
        h.process(e, env)?;
    }
    let took = start.elapsed();
    let placed = h.placed;
    let failed = h
        .updated_evals
        .iter()
        .filter(|e| !e.failed_tg_allocs.is_empty())
        .count();
    anyhow::ensure!(failed == 0, "{failed} evals had failed placements");
    Ok((placed, took))
}

fn rate(placed: usize, took: Duration) -> f64 {
    placed as f64 / took.as_secs_f64().max(1e-9)
}

pub fn run_bench(nodes: usize, count: usize, jobs: usize, per_job: usize) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(1);
    let (p1, t1) = run(
        cluster(nodes, 4000, 8192, 500_000),
        vec![job("big", count)?],
        &mut rng,
    )?;
    println!(
        "one job x {count} on {nodes} nodes: {p1} placements in {:.1} ms = {:.0} placements/s",
        t1.as_secs_f64() * 1e3,
        rate(p1, t1)
    );
    let many = (0..jobs)
        .map(|i| job(&format!("job-{i}"), per_job))
        .collect::<anyhow::Result<_>>()?;
    let (p2, t2) = run(cluster(nodes, 4000, 8192, 500_000), many, &mut rng)?;
    println!(
        "{jobs} jobs x {per_job} on {nodes} nodes: {p2} placements in {:.1} ms = {:.0} placements/s",
        t2.as_secs_f64() * 1e3,
        rate(p2, t2)
    );
    let total = p1 + p2;
    let (pb, tb) = run(
        cluster(1, 10_000_000, 100_000_000, 100_000_000),
        vec![job("base", total)?],
        &mut rng,
    )?;
    println!(
        "baseline: {pb} placements on 1 node in {:.1} ms = {:.0} placements/s",
        tb.as_secs_f64() * 1e3,
        rate(pb, tb)
    );
    let r = rate(total, t1 + t2);
    let b = rate(pb, tb);
    println!(
        "RESULT scheduler rate={r:.0}placements/s baseline={b:.0}placements/s ratio={:.2}",
        r / b
    );
    Ok(())
}
