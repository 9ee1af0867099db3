//! One server on its WAL: propose/apply/ack, restart recovery, group commit.

use std::time::Duration;

use drover_server::raft::{RaftConfig, RaftError, RaftStorage};
use tokio::task::JoinSet;

use crate::common::{NoPeers, TestNode, fast};

const T: Duration = Duration::from_secs(10);

fn start(dir: &std::path::Path, threshold: u64) -> TestNode {
    let mut config = fast(RaftConfig::single(1, "127.0.0.1:4648"));
    config.snapshot_threshold = threshold;
    let storage = RaftStorage::open(dir).expect("open raft log");
    TestNode::start(config, storage, Box::new(NoPeers))
}

/// Proposes `n` distinct keys with `concurrency` proposers; returns the last
/// acknowledged index.
async fn burst(node: &TestNode, prefix: &str, n: usize, concurrency: usize) -> u64 {
    let mut set = JoinSet::new();
    for worker in 0..concurrency {
        let h = node.handle.clone();
        let prefix = prefix.to_owned();
        set.spawn(async move {
            let mut last = 0;
            for i in (worker..n).step_by(concurrency) {
                let (index, resp) = h
                    .propose(format!("{prefix}{i}=v{i}").into_bytes())
                    .await
                    .expect("propose");
                assert_eq!(resp, b"1", "first write of {prefix}{i}");
                last = last.max(index);
            }
            last
        });
    }
    let mut last = 0;
    while let Some(r) = set.join_next().await {
        last = last.max(r.expect("proposer"));
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_server_elects_itself_and_acks_after_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), 1000);
    // Elected at once: no election timeout to wait for.
    let s = node
        .handle
        .wait_for(Duration::from_secs(1), |s| s.leader_id == Some(1))
        .await;
    assert!(
        s.is_some(),
        "a lone server leads within 1 s: {:?}",
        node.handle.status()
    );
    assert!(node.handle.is_leader());

    let (i1, r1) = node
        .handle
        .propose(b"a=1".to_vec())
        .await
        .expect("propose a=1");
    let (i2, r2) = node
        .handle
        .propose(b"a=2".to_vec())
        .await
        .expect("propose a=2");
    assert_eq!((r1.as_slice(), r2.as_slice()), (&b"1"[..], &b"2"[..]));
    assert_eq!(i2, i1 + 1);
    // Acknowledged means applied: the state shows it without waiting.
    assert_eq!(node.kv().get("a"), Some("2"));
    assert!(node.handle.status().applied >= i2);
    let (_, bad) = node
        .handle
        .propose(b"no-equals".to_vec())
        .await
        .expect("committed");
    assert!(
        bad.starts_with(b"error"),
        "FSM answers a bad entry: {bad:?}"
    );

    let read = node.handle.read_index().await.expect("read barrier");
    assert!(
        read >= i2,
        "read index {read} covers acknowledged write {i2}"
    );
    assert!(matches!(
        node.handle.propose(Vec::new()).await,
        Err(RaftError::InvalidArgument(_))
    ));
    assert!(node.handle.status().voters == vec![1]);
    let handle = node.handle.clone();
    node.stop().await;
    let after = handle.propose(b"late=1".to_vec()).await;
    assert!(
        matches!(after, Err(RaftError::Stopped)),
        "after shutdown: {after:?}"
    );
}

async fn restart_recovers(threshold: u64, n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), threshold);
    node.handle
        .wait_for(T, |s| s.leader_id == Some(1))
        .await
        .expect("leader");
    let last = burst(&node, "k", n, 8).await;
    let before = node.kv();
    let status = node.handle.status();
    assert_eq!(before.entries.len(), n);
    if threshold < n as u64 {
        assert!(status.snapshot_index > 0, "log compacted: {status:?}");
    } else {
        assert_eq!(status.snapshot_index, 1, "only the bootstrap snapshot");
    }
    node.stop().await;

    let node = start(dir.path(), threshold);
    node.handle
        .wait_for(T, |s| s.leader_id == Some(1) && s.applied >= last)
        .await
        .unwrap_or_else(|| {
            panic!(
                "restarted server re-elects and re-applies to {last}: {:?}",
                node.handle.status()
            )
        });
    assert_eq!(
        node.kv().entries,
        before.entries,
        "state after restart equals state before"
    );
    let (index, _) = node
        .handle
        .propose(b"after=1".to_vec())
        .await
        .expect("propose after restart");
    assert!(index > last);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_recovers_from_log() {
    restart_recovers(100_000, 120).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_recovers_from_snapshot_and_log() {
    // 37 does not divide 250: the restart replays a snapshot plus a log tail.
    restart_recovers(37, 250).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_needs_far_fewer_fsyncs_than_proposals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = RaftStorage::open(dir.path()).expect("open raft log");
    let config = fast(RaftConfig::single(1, "127.0.0.1:4648"));
    let node = TestNode::start(config, storage, Box::new(NoPeers));
    node.handle
        .wait_for(T, |s| s.leader_id == Some(1))
        .await
        .expect("leader");
    let before = node.handle.status().flushes;
    let n = 512;
    burst(&node, "g", n, 64).await;
    let used = node.handle.status().flushes - before;
    assert!(used > 0, "proposals were flushed");
    assert!(
        used * 4 <= n as u64,
        "{n} proposals cost {used} fsyncs; expected batching"
    );
    node.stop().await;
}

#[tokio::test]
async fn bad_config_is_rejected_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = RaftConfig::single(1, "127.0.0.1:4648");
    config.snapshot_threshold = 0;
    let storage = RaftStorage::open(dir.path()).expect("open raft log");
    let err = drover_server::raft::RaftNode::open(
        config,
        storage,
        drover_server::raft::KvStateMachine::default(),
        Box::new(NoPeers),
    )
    .err()
    .expect("invalid config");
    assert!(err.to_string().contains("snapshot_threshold"), "{err}");
}
