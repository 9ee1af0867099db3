//! `Server::client_allocs` (`Node.GetClientAllocs`) on a real server: answers at once
//! for index 0, blocks until a placement on the node, ignores client status updates,
//! times out with the unchanged answer, and ends at shutdown.

use std::time::Duration;

use drover_server::{ServerError, sim};
use drover_types::{ClientStatus, NodeStatus};
use tokio::time::Instant;

use crate::scheduling::{fast_config, register, start};

/// A fast server whose nodes need no heartbeats during a test.
fn config(dir: &std::path::Path) -> drover_server::ServerConfig {
    let mut c = fast_config(dir);
    c.heartbeat.min_ttl = Duration::from_secs(120);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_until_placed_then_times_out_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = start(config(dir.path())).await;
    let s = r.server.clone();
    s.node_register(sim::node("n1", 1000, 1024))
        .await
        .expect("register node");

    let (index0, allocs) = s
        .client_allocs("n1", 0, Duration::from_secs(10))
        .await
        .expect("index 0 answers at once");
    assert!(allocs.is_empty(), "no allocations yet: {allocs:?}");
    assert!(index0 >= 1, "the index is never 0");

    let waiter = {
        let s = s.clone();
        tokio::spawn(async move { s.client_allocs("n1", index0, Duration::from_secs(20)).await })
    };
    // A write that does not touch allocations does not end the query (a down node
    // takes no placements).
    let mut n2 = sim::node("n2", 1000, 1024);
    n2.status = NodeStatus::Down;
    s.node_register(n2).await.expect("register n2");
    assert!(!waiter.is_finished(), "still blocked after a node write");
    register(&s, sim::service_job("web", 1, 100, 128)).await;
    let (index1, allocs) = tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .expect("answers once placed")
        .expect("task joins")
        .expect("client_allocs");
    assert!(index1 > index0, "index moved: {index0} -> {index1}");
    assert_eq!(allocs.len(), 1, "the one placement: {allocs:?}");
    let a = &allocs[0];
    assert_eq!(
        a.alloc_modify_index, index1,
        "index is the alloc's modify index"
    );
    assert!(a.job.is_some(), "allocation carries its job");

    // A client status update changes the alloc but not its AllocModifyIndex: the
    // query waits its full time and answers the same index.
    let mut update = a.as_ref().clone();
    update.client_status = ClientStatus::Running;
    s.alloc_client_update(vec![update]).await.expect("update");
    let wait = Duration::from_millis(400);
    let started = Instant::now();
    let (index2, allocs) = s
        .client_allocs("n1", index1, wait)
        .await
        .expect("times out");
    assert!(started.elapsed() >= wait, "waited {:?}", started.elapsed());
    assert_eq!(index2, index1);
    assert_eq!(allocs[0].client_status, ClientStatus::Running);

    assert!(matches!(
        s.client_allocs("", 0, wait).await,
        Err(ServerError::BadRequest(_))
    ));
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_a_blocked_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = start(config(dir.path())).await;
    let s = r.server.clone();
    let (index, _) = s
        .client_allocs("n1", 0, Duration::ZERO)
        .await
        .expect("answers");
    let waiter =
        tokio::spawn(async move { s.client_allocs("n1", index, Duration::from_secs(120)).await });
    let started = Instant::now();
    r.stop().await;
    let res = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("ends with the server")
        .expect("task joins");
    assert!(
        matches!(res, Err(ServerError::Unavailable(_))),
        "unavailable at shutdown: {res:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}
