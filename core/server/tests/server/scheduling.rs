//! A real `Server` on a tempdir (Raft on its WAL, workers, plan applier, heartbeats):
//! placements, blocked evals and unblocking, stop, node loss and replacement, drain,
//! plan, restart.

use std::time::Duration;

use drover_server::{Server, ServerConfig, sim};
use drover_state::StateView;
use drover_types::api::{DrainSpec, JobDeregisterRequest, JobPlanRequest, NodeDrainRequest};
use drover_types::{EvalStatus, JobRegisterRequest, NodeStatus};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::common::init_tracing;

const T: Duration = Duration::from_secs(20);

pub struct Running {
    pub server: Server,
    pub shutdown: CancellationToken,
    pub done: JoinHandle<()>,
}

impl Running {
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.done)
            .await
            .expect("server stops within 15 s")
            .expect("server task joins");
    }
}

pub fn fast_config(dir: &std::path::Path) -> ServerConfig {
    let mut c = ServerConfig::new(dir);
    c.raft_tick = Duration::from_millis(20);
    c.num_schedulers = 2;
    c.heartbeat.min_ttl = Duration::from_millis(400);
    c.heartbeat.grace = Duration::from_millis(200);
    c.heartbeat.failover_ttl = Duration::from_secs(2);
    c.drain_interval = Duration::from_millis(100);
    c
}

pub async fn start(config: ServerConfig) -> Running {
    init_tracing();
    let shutdown = CancellationToken::new();
    let (server, done) = Server::start(config, shutdown.clone())
        .await
        .expect("start server");
    assert!(server.wait_for_leader(T).await, "elects itself");
    let deadline = tokio::time::Instant::now() + T;
    while !server.is_leader() {
        assert!(tokio::time::Instant::now() < deadline, "leads within {T:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Running {
        server,
        shutdown,
        done,
    }
}

/// Polls the view until `cond` holds; panics naming `what` after `T`.
pub async fn until(
    server: &Server,
    what: &str,
    mut cond: impl FnMut(&StateView) -> bool,
) -> StateView {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let v = server.view();
        if cond(&v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        let _ = server
            .wait_for(
                &[],
                v.latest_index(),
                tokio::time::Instant::now() + Duration::from_millis(50),
            )
            .await;
    }
}

pub fn live(v: &StateView, job: &str) -> usize {
    v.allocs_by_job("default", job)
        .filter(|a| !a.is_terminal())
        .count()
}

pub async fn register(
    server: &Server,
    job: drover_types::Job,
) -> drover_types::JobRegisterResponse {
    server
        .job_register(JobRegisterRequest {
            job: Some(job),
            ..Default::default()
        })
        .await
        .expect("register job")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn places_blocks_unblocks_and_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = start(fast_config(dir.path())).await;
    let s = &r.server;
    for i in 0..3 {
        let resp = s
            .node_register(sim::node(&format!("node-{i}"), 1000, 1024))
            .await
            .expect("node");
        assert!(resp.heartbeat_ttl >= 400_000_000, "TTL ≥ min_heartbeat_ttl");
    }
    let resp = register(s, sim::service_job("web", 3, 200, 256)).await;
    assert!(!resp.eval_id.is_empty());
    let v = until(s, "3 allocs of web", |v| live(v, "web") == 3).await;
    let eval = until(s, "web's eval complete", |v| {
        v.eval_by_id(&resp.eval_id)
            .is_some_and(|e| e.status == EvalStatus::Complete)
    })
    .await;
    assert!(eval.eval_by_id(&resp.eval_id).is_some());
    let mut names: Vec<_> = v
        .allocs_by_job("default", "web")
        .map(|a| a.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["web.web[0]", "web.web[1]", "web.web[2]"]);

    // 2 GB per alloc fits nowhere: a blocked eval with the exact metric.
    let big = register(s, sim::service_job("big", 1, 100, 2048)).await;
    let v = until(s, "big's blocked eval", |v| {
        v.evals_by_job("default", "big")
            .any(|e| e.status == EvalStatus::Blocked)
    })
    .await;
    let done = until(s, "big's eval complete", |v| {
        v.eval_by_id(&big.eval_id)
            .is_some_and(|e| e.status == EvalStatus::Complete)
    })
    .await;
    let m = &done
        .eval_by_id(&big.eval_id)
        .expect("eval")
        .failed_tg_allocs["web"];
    assert_eq!(m.nodes_evaluated, 3, "{m:?}");
    assert_eq!(m.nodes_exhausted, 3, "{m:?}");
    assert_eq!(m.dimension_exhausted.get("memory"), Some(&3), "{m:?}");
    assert_eq!(live(&v, "big"), 0);
    let plan = s
        .job_plan(JobPlanRequest {
            job: Some(sim::service_job("big", 1, 100, 2048)),
            ..Default::default()
        })
        .await
        .expect("plan");
    assert_eq!(
        plan.failed_tg_allocs["web"]
            .dimension_exhausted
            .get("memory"),
        Some(&3)
    );

    // Planned again unchanged, web is left alone; with one more, the diff says so.
    let same = s
        .job_plan(JobPlanRequest {
            job: Some(sim::service_job("web", 3, 200, 256)),
            diff: true,
            ..Default::default()
        })
        .await
        .expect("plan");
    let d = same.diff.expect("diff");
    assert_eq!(d.kind, "None", "{d:?}");
    assert_eq!(d.task_groups[0].updates.get("ignore"), Some(&3), "{d:?}");
    let more = s
        .job_plan(JobPlanRequest {
            job: Some(sim::service_job("web", 4, 200, 256)),
            diff: true,
            ..Default::default()
        })
        .await
        .expect("plan");
    let d = more.diff.expect("diff");
    assert_eq!(d.kind, "Edited", "{d:?}");
    let count = &d.task_groups[0].fields;
    assert!(
        count
            .iter()
            .any(|f| f.name == "Count" && f.old == "3" && f.new == "4"),
        "{d:?}"
    );
    assert_eq!(d.task_groups[0].updates.get("create"), Some(&1), "{d:?}");

    // A bigger node unblocks it.
    s.node_register(sim::node("node-big", 4000, 8192))
        .await
        .expect("big node");
    let v = until(s, "big placed", |v| live(v, "big") == 1).await;
    let a = v.allocs_by_job("default", "big").next().expect("alloc");
    assert_eq!(a.node_id, "node-big");

    // Stop: every alloc of web becomes terminal.
    s.job_deregister(JobDeregisterRequest {
        namespace: "default".into(),
        job_id: "web".into(),
        ..Default::default()
    })
    .await
    .expect("stop");
    until(s, "web stopped", |v| live(v, "web") == 0).await;
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_node_allocs_are_replaced_and_state_survives_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = start(fast_config(dir.path())).await;
    let s = r.server.clone();
    s.node_register(sim::node("a", 1000, 1024))
        .await
        .expect("a");
    register(&s, sim::service_job("svc", 2, 100, 128)).await;
    until(&s, "2 allocs on a", |v| live(v, "svc") == 2).await;
    // b keeps heartbeating; a goes silent.
    s.node_register(sim::node("b", 1000, 1024))
        .await
        .expect("b");
    let hb = {
        let s = s.clone();
        let stop = r.shutdown.clone();
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                let _ = s.node_update_status("b", NodeStatus::Ready).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let v = until(&s, "a down and svc replaced on b", |v| {
        v.node_by_id("a")
            .is_some_and(|n| n.status == NodeStatus::Down)
            && v.allocs_by_job("default", "svc")
                .filter(|a| !a.is_terminal() && a.node_id == "b")
                .count()
                == 2
    })
    .await;
    let a = v.node_by_id("a").expect("a");
    assert!(
        a.events
            .iter()
            .any(|e| e.message == "Node heartbeat missed"),
        "{:?}",
        a.events
    );
    let lost = v
        .allocs_by_job("default", "svc")
        .filter(|x| x.node_id == "a" && x.client_status == drover_types::ClientStatus::Lost)
        .count();
    assert_eq!(lost, 2, "the allocs on a are lost");

    // Drain b with a deadline: its allocs are migrated (nowhere to go: blocked).
    s.node_register(sim::node("c", 1000, 1024))
        .await
        .expect("c");
    s.node_update_drain(NodeDrainRequest {
        node_id: "b".into(),
        drain_spec: Some(DrainSpec {
            deadline: 5_000_000_000,
            ignore_system_jobs: false,
        }),
        ..Default::default()
    })
    .await
    .expect("drain");
    // c must heartbeat too from now on.
    let hb2 = {
        let s = s.clone();
        let stop = r.shutdown.clone();
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                let _ = s.node_update_status("c", NodeStatus::Ready).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let drained = until(&s, "svc moved to c and b's drain complete", |v| {
        v.allocs_by_job("default", "svc")
            .filter(|a| !a.is_terminal() && a.node_id == "c")
            .count()
            == 2
            && v.node_by_id("b")
                .is_some_and(|n| n.drain_strategy.is_none())
    })
    .await;
    let b = drained.node_by_id("b").expect("b");
    assert!(
        b.events.iter().any(|e| e.message == "Node drain complete"),
        "{:?}",
        b.events
    );
    r.shutdown.cancel();
    let _ = hb.await;
    let _ = hb2.await;
    r.stop().await;
    let before = s.view();

    // Restart on the same data dir: same state.
    let r = start(fast_config(dir.path())).await;
    let after = until(&r.server, "replayed", |v| {
        v.applied_index() >= before.applied_index()
    })
    .await;
    assert_eq!(
        after
            .allocs()
            .map(|a| (a.id.clone(), a.modify_index))
            .collect::<Vec<_>>(),
        before
            .allocs()
            .map(|a| (a.id.clone(), a.modify_index))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        after.job_by_id("default", "svc"),
        before.job_by_id("default", "svc")
    );
    assert_eq!(after.node_by_id("b"), before.node_by_id("b"));
    r.stop().await;
}
