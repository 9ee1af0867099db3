//! Shared helpers: start/stop a node, polling.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use drover_server::raft::{
    KvStateMachine, RaftConfig, RaftError, RaftHandle, RaftNode, RaftStorage, Transport,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub type SharedKv = Arc<Mutex<KvStateMachine>>;

pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// Quick clocks for tests: 20 ms ticks, elections after 200–400 ms.
pub fn fast(mut config: RaftConfig) -> RaftConfig {
    config.tick_interval = Duration::from_millis(20);
    config.election_ticks = 10;
    config.heartbeat_ticks = 2;
    config
}

pub struct TestNode {
    pub handle: RaftHandle,
    pub fsm: SharedKv,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<Result<(), RaftError>>,
}

impl TestNode {
    pub fn start(
        config: RaftConfig,
        storage: RaftStorage,
        transport: Box<dyn Transport>,
    ) -> TestNode {
        init_tracing();
        let fsm: SharedKv = Arc::default();
        let (node, handle) =
            RaftNode::open(config, storage, fsm.clone(), transport).expect("open raft node");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(node.run(shutdown.clone()));
        TestNode {
            handle,
            fsm,
            shutdown,
            task,
        }
    }

    pub fn kv(&self) -> KvStateMachine {
        self.fsm.lock().expect("fsm lock").clone()
    }

    /// Stops the node and checks its loop ended cleanly.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("node stops within 10 s")
            .expect("node task joins");
        result.expect("node loop ends without error");
    }
}

/// Polls `cond` until it holds or `timeout` passes; panics naming `what`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if cond().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The one leader all `nodes` agree on, within `timeout`.
pub async fn agreed_leader(nodes: &[&RaftHandle], timeout: Duration) -> u64 {
    let mut leader = 0;
    eventually("one agreed leader", timeout, || {
        let statuses: Vec<_> = nodes.iter().map(|h| h.status()).collect();
        let leaders: Vec<_> = statuses
            .iter()
            .filter(|s| s.role == drover_server::raft::Role::Leader)
            .collect();
        let ok = leaders.len() == 1 && statuses.iter().all(|s| s.leader_id == Some(leaders[0].id));
        if ok {
            leader = leaders[0].id;
        }
        async move { ok }
    })
    .await;
    leader
}

pub fn peers(addrs: &[(u64, String)]) -> BTreeMap<u64, String> {
    addrs.iter().cloned().collect()
}

/// A transport for a lone server: there is no one to talk to.
pub struct NoPeers;

impl Transport for NoPeers {
    fn send(&mut self, msgs: Vec<drover_server::raft::Message>) {
        assert!(
            msgs.is_empty(),
            "a lone server sent {} raft messages",
            msgs.len()
        );
    }
    fn update_peers(&mut self, _: &BTreeMap<u64, String>) {}
}

/// An example binary of this crate (`cargo test` builds examples into
/// `target/<profile>/examples`, next to the test's `deps` dir).
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = profile_dir.join("examples").join(name);
    assert!(
        bin.exists(),
        "{} missing: run through `cargo test`, which builds examples",
        bin.display()
    );
    bin
}
