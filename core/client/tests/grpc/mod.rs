//! [`GrpcServers`] against a real `drover_server::Server` (Raft on a temp dir, the
//! cluster RPC on a real port): register, heartbeat, the blocking allocation query,
//! client status updates, failover over closed ports, and a blocked query at server
//! shutdown.

use std::sync::Arc;
use std::time::Duration;

use drover_client::grpc::GrpcServers;
use drover_client::{RpcError, ServerRpc};
use drover_server::{Server, ServerConfig, sim};
use drover_types::{ClientStatus, JobRegisterRequest, NodeStatus};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const T: Duration = Duration::from_secs(20);

struct Running {
    server: Server,
    shutdown: CancellationToken,
    done: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start() -> Running {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = ServerConfig::new(dir.path());
        c.raft_tick = Duration::from_millis(20);
        c.num_schedulers = 1;
        // Nodes in these tests heartbeat by hand, if at all.
        c.heartbeat.min_ttl = Duration::from_secs(120);
        let shutdown = CancellationToken::new();
        let (server, done) = Server::start(c, shutdown.clone())
            .await
            .expect("start server");
        let deadline = Instant::now() + T;
        while !server.is_leader() {
            assert!(Instant::now() < deadline, "leads within {T:?}");
            let _ = server.wait_for_leader(Duration::from_millis(50)).await;
        }
        Running {
            server,
            shutdown,
            done,
            _dir: dir,
        }
    }

    fn rpc(&self) -> String {
        self.server.rpc_addr().to_owned()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(T, self.done)
            .await
            .expect("server stops")
            .expect("server task joins");
    }
}

/// An address nothing listens on: a port bound, then released.
async fn closed_port() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    drop(l);
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_heartbeat_allocs_and_updates() {
    let r = Running::start().await;
    let rpc = Arc::new(GrpcServers::new(vec![r.rpc()]).expect("servers"));

    let resp = rpc
        .register(&sim::node("n1", 1000, 1024))
        .await
        .expect("register");
    assert!(resp.heartbeat_ttl > 0, "a TTL: {resp:?}");
    assert!(resp.index > 0);
    assert_eq!(rpc.servers(), [r.rpc()], "learned the one server");
    let resp = rpc
        .heartbeat("n1", NodeStatus::Ready)
        .await
        .expect("heartbeat");
    assert!(resp.heartbeat_ttl > 0);
    match rpc.heartbeat("no-such-node", NodeStatus::Ready).await {
        Err(RpcError::NodeNotFound(id)) => assert_eq!(id, "no-such-node"),
        other => panic!("expected NodeNotFound, got {other:?}"),
    }

    let first = rpc
        .get_allocs("n1", 0, Duration::from_secs(5))
        .await
        .expect("get allocs");
    assert!(first.allocs.is_empty());
    assert!(first.index > 0);

    // Blocks until the scheduler places the job's allocation on n1.
    let waiter = {
        let rpc = rpc.clone();
        tokio::spawn(async move { rpc.get_allocs("n1", first.index, T).await })
    };
    r.server
        .job_register(JobRegisterRequest {
            job: Some(sim::service_job("web", 1, 100, 128)),
            ..Default::default()
        })
        .await
        .expect("register job");
    let placed = tokio::time::timeout(T + Duration::from_secs(5), waiter)
        .await
        .expect("answers once placed")
        .expect("task joins")
        .expect("get allocs");
    assert!(placed.index > first.index);
    assert_eq!(placed.allocs.len(), 1, "{placed:?}");
    let entry = &placed.allocs[0];
    assert_eq!(entry.alloc_modify_index, placed.index);
    let alloc = entry
        .alloc
        .as_deref()
        .expect("the full allocation, new since min_index");
    assert_eq!(alloc.id, entry.id);
    assert_eq!(alloc.node_id, "n1");
    assert_eq!(
        alloc.job.as_ref().and_then(|j| j.id.as_deref()),
        Some("web")
    );

    // Unchanged since min_index: the entry only, after the wait.
    let wait = Duration::from_millis(300);
    let started = Instant::now();
    let same = rpc
        .get_allocs("n1", placed.index, wait)
        .await
        .expect("get allocs");
    assert!(started.elapsed() >= wait, "blocked {:?}", started.elapsed());
    assert_eq!(same.index, placed.index);
    assert_eq!(same.allocs.len(), 1);
    assert_eq!(same.allocs[0].alloc_modify_index, placed.index);
    assert!(same.allocs[0].alloc.is_none(), "no body when unchanged");
    // Changed after an older min_index: the body again, at once.
    let older = rpc
        .get_allocs("n1", placed.index - 1, T)
        .await
        .expect("get allocs");
    assert!(older.allocs[0].alloc.is_some());

    // The client's status report reaches the server.
    let mut update = alloc.clone();
    update.client_status = ClientStatus::Running;
    let index = rpc.update_allocs(vec![update]).await.expect("update");
    assert!(index > placed.index);
    let v = r.server.view();
    let stored = v.alloc_by_id(&entry.id).expect("alloc on the server");
    assert_eq!(stored.client_status, ClientStatus::Running);
    assert_eq!(
        stored.alloc_modify_index, placed.index,
        "a client update leaves AllocModifyIndex"
    );
    match rpc.update_allocs(vec![]).await {
        Err(RpcError::Server(m)) => assert!(m.contains("at least one"), "{m}"),
        other => panic!("expected a server error, got {other:?}"),
    }
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_past_a_dead_server() {
    let r = Running::start().await;
    let dead = closed_port().await;
    let rpc = GrpcServers::new(vec![dead.clone(), r.rpc()]).expect("servers");
    assert_eq!(rpc.servers(), [dead.clone(), r.rpc()]);

    rpc.register(&sim::node("n1", 1000, 1024))
        .await
        .expect("register through the second server");
    // The live server answered with itself; the dead one stays as a configured
    // fallback, behind it.
    assert_eq!(rpc.servers(), [r.rpc(), dead.clone()]);
    rpc.heartbeat("n1", NodeStatus::Ready)
        .await
        .expect("heartbeat");
    r.stop().await;

    // Now both are dead: Unavailable, naming both.
    match rpc.heartbeat("n1", NodeStatus::Ready).await {
        Err(RpcError::Unavailable(m)) => {
            assert!(m.contains(&dead), "names {dead}: {m}");
            assert!(m.contains(&rpc.servers()[0]), "names the other: {m}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_when_every_server_is_dead() {
    let a = closed_port().await;
    let b = closed_port().await;
    let rpc = GrpcServers::new(vec![a.clone(), b.clone()]).expect("servers");
    let started = Instant::now();
    match rpc.get_allocs("n1", 0, Duration::from_secs(1)).await {
        Err(RpcError::Unavailable(m)) => {
            assert!(m.contains(&a) && m.contains(&b), "names both: {m}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused connections fail fast: {:?}",
        started.elapsed()
    );
    assert!(matches!(
        GrpcServers::new(vec!["10.0.0.1:bad".into()]),
        Err(RpcError::Unavailable(m)) if m.contains("10.0.0.1:bad")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_query_ends_when_the_server_stops() {
    let r = Running::start().await;
    let rpc = Arc::new(GrpcServers::new(vec![r.rpc()]).expect("servers"));
    let first = rpc
        .get_allocs("n1", 0, Duration::ZERO)
        .await
        .expect("get allocs");
    let waiter = {
        let rpc = rpc.clone();
        tokio::spawn(async move {
            rpc.get_allocs("n1", first.index, Duration::from_secs(120))
                .await
        })
    };
    // Stopping does not wait for the query's two minutes: the server ends it with
    // Unavailable, and with no other server the client reports Unavailable.
    let started = Instant::now();
    r.stop().await;
    let res = tokio::time::timeout(T, waiter)
        .await
        .expect("the query ends with the server")
        .expect("task joins");
    assert!(
        matches!(res, Err(RpcError::Unavailable(_))),
        "expected Unavailable, got {res:?}"
    );
    assert!(started.elapsed() < T, "stopped in {:?}", started.elapsed());
}
