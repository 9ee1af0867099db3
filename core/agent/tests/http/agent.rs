//! Agent, status, regions, operator and metrics endpoints; headers and `?pretty`.

use crate::support::{Server, minimal_job};

#[tokio::test]
async fn cluster_information() {
    let s = Server::start().await;
    // Drover's servers are addressed by their Raft (gRPC) address.
    let addr = s.server.raft_addr().to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_eq!(s.get("/v1/status/leader").await.json(), addr.as_str());
    assert_eq!(
        s.get("/v1/status/peers").await.json(),
        serde_json::json!([addr])
    );
    assert_eq!(
        s.get("/v1/regions").await.json(),
        serde_json::json!(["global"])
    );
    let h = s.get("/v1/agent/health").await;
    assert_eq!(h.status, 200);
    assert_eq!(
        h.json(),
        serde_json::json!({"server": {"ok": true, "message": "ok"}})
    );
    let m = s.get("/v1/agent/members").await.json();
    assert_eq!(m["ServerRegion"], "global");
    assert_eq!(m["Members"][0]["Tags"]["role"], "nomad");
    assert_eq!(m["Members"][0]["Status"], "alive");
    let me = s.get("/v1/agent/self").await.json();
    assert!(me.get("config").is_some() && me.get("member").is_some() && me.get("stats").is_some());
    let raft = s.get("/v1/operator/raft/configuration").await.json();
    assert_eq!(raft["Servers"][0]["Leader"], true);
    assert_eq!(raft["Servers"][0]["Address"], addr.as_str());
    s.stop().await;
}

#[tokio::test]
async fn metrics_json_and_prometheus() {
    let s = Server::start().await;
    s.register(&minimal_job("a")).await;
    let j = s.get("/v1/metrics").await.json();
    let jobs = j["Gauges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["Name"] == "nomad.state.jobs")
        .expect("jobs gauge");
    assert_eq!(jobs["Value"], 1.0);
    let p = s.get("/v1/metrics?format=prometheus").await;
    assert_eq!(p.status, 200);
    assert!(p.header("content-type").unwrap().starts_with("text/plain"));
    assert!(
        p.text()
            .contains("# TYPE nomad_state_jobs gauge\nnomad_state_jobs 1\n"),
        "{}",
        p.text()
    );
    s.stop().await;
}

#[tokio::test]
async fn read_headers_and_pretty() {
    let s = Server::start().await;
    let w = s.register(&minimal_job("a")).await;
    assert!(w.index() > 0, "writes carry X-Nomad-Index");
    let r = s.get("/v1/jobs").await;
    assert_eq!(r.index(), w.index());
    assert_eq!(r.header("x-nomad-knownleader"), Some("true"));
    assert_eq!(r.header("x-nomad-lastcontact"), Some("0"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(!r.text().contains('\n'));
    let p = s.get("/v1/job/a?pretty").await.text();
    assert!(p.starts_with("{\n    \"Region\": \"global\",\n"), "{p}");
    assert!(p.ends_with("}\n"));
    assert!(!s.get("/v1/job/a?pretty=0").await.text().contains('\n'));
    s.stop().await;
}
