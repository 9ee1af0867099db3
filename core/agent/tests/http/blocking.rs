//! Blocking queries: `index` + `wait`, answered when the index moves, or at the
//! timeout with the same index.

use crate::support::{Server, minimal_job};
use std::time::{Duration, Instant};

#[tokio::test]
async fn returns_when_the_index_moves() {
    let s = std::sync::Arc::new(Server::start().await);
    s.register(&minimal_job("a")).await;
    let first = s.get("/v1/jobs").await;
    let index = first.index();
    assert!(index > 0);

    let s2 = s.clone();
    let mut pending = tokio::spawn(async move {
        let started = Instant::now();
        let r = s2.get(&format!("/v1/jobs?index={index}&wait=30s")).await;
        (r, started.elapsed())
    });
    // Still blocked while nothing changes (bounded check, not synchronisation).
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut pending)
            .await
            .is_err(),
        "a blocking query answered before the index moved"
    );
    let w = s.register(&minimal_job("b")).await;
    let (r, took) = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("answered within 10 s of the write")
        .expect("task");
    assert_eq!(r.status, 200);
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(r.index() > index);
    assert_eq!(r.index(), w.index());
    let body = r.json();
    let ids: Vec<&str> = body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|j| j["ID"].as_str())
        .collect();
    assert_eq!(ids, ["a", "b"]);
}

#[tokio::test]
async fn single_object_reads_wait_for_that_object() {
    let s = std::sync::Arc::new(Server::start().await);
    s.register(&minimal_job("a")).await;
    let a = s.get("/v1/job/a").await;
    let index = a.index();
    let s2 = s.clone();
    let pending =
        tokio::spawn(async move { s2.get(&format!("/v1/job/a?index={index}&wait=2s")).await });
    // Another job's write moves the table, not job "a": still blocked until the timeout.
    s.register(&minimal_job("b")).await;
    let r = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.index(), index, "job a did not change");

    // A 404 read blocks too and reports the table index.
    let missing = s.get("/v1/job/nope").await;
    assert_eq!(missing.status, 404);
    assert!(missing.index() > 0);
}

#[tokio::test]
async fn times_out_with_the_same_index() {
    let s = Server::start().await;
    s.register(&minimal_job("a")).await;
    let index = s.get("/v1/jobs").await.index();
    let started = Instant::now();
    let r = s.get(&format!("/v1/jobs?index={index}&wait=300ms")).await;
    let took = started.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(r.index(), index);
    // wait plus at most wait/16 jitter, with slack for a loaded machine.
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    s.stop().await;
}

#[tokio::test]
async fn shutdown_ends_blocked_queries() {
    let s = Server::start().await;
    let addr = s.addr;
    let mut pending = tokio::spawn(async move {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>();
        let uri = format!("http://{addr}/v1/jobs?index=1000&wait=300s");
        client.get(uri.parse().unwrap()).await.map(|r| r.status())
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut pending)
            .await
            .is_err(),
        "the query blocks until shutdown"
    );
    s.stop().await;
    let status = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("answered at shutdown")
        .expect("task")
        .expect("HTTP");
    assert_eq!(status, 200);
}
