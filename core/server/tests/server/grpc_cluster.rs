//! Three servers in one process over real gRPC on 127.0.0.1.

use std::time::Duration;

use drover_server::raft::{GrpcTransport, RaftConfig, RaftError, RaftStorage, serve};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::common::{TestNode, agreed_leader, eventually, fast, peers};

const T: Duration = Duration::from_secs(15);

struct Server {
    node: TestNode,
    rpc: CancellationToken,
    rpc_task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn stop(self) {
        self.rpc.cancel();
        self.node.stop().await;
        self.rpc_task
            .await
            .expect("rpc task")
            .expect("rpc server ends cleanly");
    }
}

async fn cluster(n: u64) -> Vec<Server> {
    let mut listeners = Vec::new();
    for id in 1..=n {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr").to_string();
        listeners.push((id, addr, l));
    }
    let book = peers(
        &listeners
            .iter()
            .map(|(id, a, _)| (*id, a.clone()))
            .collect::<Vec<_>>(),
    );
    let mut servers = Vec::new();
    for (id, _, listener) in listeners {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = RaftStorage::open(dir.path()).expect("open raft log");
        let rpc = CancellationToken::new();
        let transport = GrpcTransport::new(id, rpc.clone());
        let node = TestNode::start(
            fast(RaftConfig::cluster(id, book.clone())),
            storage,
            Box::new(transport),
        );
        let rpc_task = tokio::spawn(serve(listener, node.handle.clone(), rpc.clone()));
        servers.push(Server {
            node,
            rpc,
            rpc_task,
            _dir: dir,
        });
    }
    servers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_elect_replicate_and_fail_over() {
    let mut servers = cluster(3).await;
    let handles: Vec<_> = servers.iter().map(|s| &s.node.handle).collect();
    let leader = agreed_leader(&handles, T).await;
    let lead = &servers[(leader - 1) as usize].node;

    let mut last = 0;
    for i in 0..20 {
        let (index, _) = lead
            .handle
            .propose(format!("k{i}=v{i}").into_bytes())
            .await
            .expect("propose on leader");
        last = index;
    }
    eventually("all three apply every entry", T, || {
        let ok = servers
            .iter()
            .all(|s| s.node.handle.status().applied >= last);
        async move { ok }
    })
    .await;
    let state = lead.kv().entries;
    assert_eq!(state.len(), 20);
    for s in &servers {
        assert_eq!(
            s.node.kv().entries,
            state,
            "server {} converged",
            s.node.handle.status().id
        );
    }

    // A follower refuses writes and names the leader.
    let follower = servers
        .iter()
        .find(|s| s.node.handle.status().id != leader)
        .expect("follower");
    let leader_addr = follower.node.handle.status().peers.get(&leader).cloned();
    match follower.node.handle.propose(b"x=1".to_vec()).await {
        Err(RaftError::NotLeader {
            leader_id,
            leader_addr: addr,
        }) => {
            assert_eq!(leader_id, Some(leader));
            assert_eq!(addr, leader_addr);
            assert!(addr.is_some_and(|a| a.starts_with("127.0.0.1:")));
        }
        other => panic!("follower proposal: expected NotLeader, got {other:?}"),
    }

    // The leader dies; the other two elect a new one and keep committing.
    let dead = servers.remove((leader - 1) as usize);
    dead.stop().await;
    let handles: Vec<_> = servers.iter().map(|s| &s.node.handle).collect();
    let new_leader = agreed_leader(&handles, T).await;
    assert_ne!(new_leader, leader);
    let lead = servers
        .iter()
        .find(|s| s.node.handle.status().id == new_leader)
        .expect("new leader");
    let (index, _) = lead
        .node
        .handle
        .propose(b"after=1".to_vec())
        .await
        .expect("propose after failover");
    assert!(index > last);
    eventually("survivors apply the new entry", T, || {
        let ok = servers
            .iter()
            .all(|s| s.node.kv().get("after") == Some("1"));
        async move { ok }
    })
    .await;
    for s in servers {
        s.stop().await;
    }
}
