//! The event stream: NDJSON lines, index replay, topic filters, heartbeats.

use crate::support::{Server, minimal_job};
use drover_agent::http::HttpOptions;
use http_body_util::BodyExt;
use hyper::Method;
use hyper::body::Incoming;
use std::time::Duration;

/// Reads NDJSON lines from a streaming body, each within a deadline.
struct Lines {
    body: Incoming,
    buf: Vec<u8>,
}

impl Lines {
    async fn next(&mut self) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return serde_json::from_slice(&line[..line.len() - 1]).unwrap_or_else(|e| {
                    panic!("bad line ({e}): {}", String::from_utf8_lossy(&line))
                });
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .expect("a line within 10 s")
                .expect("stream open")
                .expect("frame");
            if let Ok(data) = frame.into_data() {
                self.buf.extend_from_slice(&data);
            }
        }
    }
}

async fn open(s: &Server, query: &str) -> Lines {
    let resp = s
        .send(Method::GET, &format!("/v1/event/stream{query}"), Vec::new())
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    Lines {
        body: resp.into_body(),
        buf: Vec::new(),
    }
}

#[tokio::test]
async fn replays_from_an_index_and_follows() {
    let s = Server::start().await;
    let a = s.register(&minimal_job("a")).await.index();
    let b = s.register(&minimal_job("b")).await.index();

    // From a's index: both registrations, then what comes next.
    let mut all = open(&s, &format!("?index={a}")).await;
    let first = all.next().await;
    assert_eq!(first["Index"].as_u64(), Some(a));
    let topics: Vec<&str> = first["Events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["Topic"].as_str())
        .collect();
    assert!(
        topics.contains(&"Job") && topics.contains(&"Evaluation"),
        "{first}"
    );
    let job_ev = first["Events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Topic"] == "Job")
        .unwrap();
    assert_eq!(job_ev["Type"], "JobRegistered");
    assert_eq!(job_ev["Key"], "a");
    assert_eq!(job_ev["Payload"]["Job"]["ID"], "a");
    assert_eq!(all.next().await["Index"].as_u64(), Some(b));

    // From b's index, jobs only.
    let mut jobs = open(&s, &format!("?index={b}&topic=Job:*")).await;
    let line = jobs.next().await;
    assert_eq!(line["Index"].as_u64(), Some(b));
    assert!(
        line["Events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["Topic"] == "Job"),
        "{line}"
    );

    // A key filter: only events about job "c".
    let mut only_c = open(&s, "?topic=Job:c").await;
    s.register(&minimal_job("d")).await;
    let c = s.register(&minimal_job("c")).await.index();
    let line = only_c.next().await;
    assert_eq!(line["Index"].as_u64(), Some(c));
    assert_eq!(line["Events"][0]["Key"], "c");

    // The follower sees the new writes in order.
    let next = all.next().await["Index"].as_u64().unwrap();
    assert!(next > b);
    assert_eq!(all.next().await["Index"].as_u64(), Some(c));
    s.stop().await;
}

#[tokio::test]
async fn heartbeats_when_idle_and_ends_at_shutdown() {
    let opts = HttpOptions {
        event_heartbeat: Duration::from_millis(100),
        ..Default::default()
    };
    let s = Server::start_with(opts).await;
    let mut lines = open(&s, "?topic=Evaluation").await;
    assert_eq!(lines.next().await, serde_json::json!({}));
    s.register(&minimal_job("a")).await;
    // Heartbeats may come first; the eval line must arrive.
    let line = loop {
        let l = lines.next().await;
        if l != serde_json::json!({}) {
            break l;
        }
    };
    assert!(
        line["Events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["Topic"] == "Evaluation")
    );
    assert_eq!(line["Events"][0]["Payload"]["Evaluation"]["JobID"], "a");
    s.stop().await;
    // The stream ends after shutdown.
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match lines.body.frame().await {
                None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "stream still open after shutdown");
}
