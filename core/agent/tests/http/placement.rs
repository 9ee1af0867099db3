//! The seed job `bvc` against simulated nodes, end to end through the API and the
//! real schedulers: placed where its host volumes exist, blocked with Nomad's
//! explanation where they do not.

use crate::support::{Server, seed_job_json};
use drover_server::sim;
use drover_types::Node;
use drover_types::node::{ClientHostVolume, DriverInfo};

/// A ready node in `FT2000` with a healthy docker driver and the named host volumes.
fn ft2000_node(id: &str, volumes: &[&str]) -> Node {
    let mut n = sim::node(id, 4000, 8192);
    n.datacenter = "FT2000".into();
    n.drivers.insert(
        "docker".into(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        },
    );
    n.attributes.insert("driver.docker".into(), "1".into());
    for v in volumes {
        n.host_volumes.insert(
            v.to_string(),
            ClientHostVolume {
                name: v.to_string(),
                path: format!("/srv/{v}"),
                read_only: false,
            },
        );
    }
    n
}

#[tokio::test]
async fn seed_job_is_placed_on_nodes_with_its_host_volumes() {
    let s = Server::start_scheduling().await;
    s.add_node(ft2000_node("ft-1", &["mysql", "storage"])).await;
    s.add_node(ft2000_node("ft-2", &["mysql", "storage"])).await;
    let eval_id = s.register(&seed_job_json()).await.json()["EvalID"]
        .as_str()
        .expect("EvalID")
        .to_string();

    let allocs = s
        .poll("/v1/job/bvc/allocations", "bvc placed", |v| {
            v.as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    let a = &allocs[0];
    assert_eq!(a["TaskGroup"], "bvc25");
    assert_eq!(a["EvalID"], eval_id.as_str());
    assert_eq!(a["DesiredStatus"], "run");
    assert!(
        ["ft-1", "ft-2"].contains(&a["NodeID"].as_str().unwrap_or("")),
        "{a}"
    );
    let evals = s
        .poll("/v1/job/bvc/evaluations", "the eval completes", |v| {
            v.as_array()
                .is_some_and(|e| e.iter().any(|e| e["Status"] == "complete"))
        })
        .await;
    let evals = evals.as_array().unwrap();
    assert_eq!(evals.len(), 1, "no blocked eval: {evals:?}");
    assert!(
        evals[0]["FailedTGAllocs"].is_null() || evals[0]["FailedTGAllocs"] == serde_json::json!({})
    );
    // The static port went with it.
    let full = s
        .get(&format!("/v1/allocation/{}", a["ID"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(
        full["AllocatedResources"]["Shared"]["Ports"][0]["Value"], 3307,
        "{full}"
    );
    s.stop().await;
}

#[tokio::test]
async fn seed_job_is_blocked_without_its_host_volumes() {
    let s = Server::start_scheduling().await;
    s.add_node(ft2000_node("ft-1", &[])).await;
    s.add_node(ft2000_node("ft-2", &["mysql"])).await;
    s.register(&seed_job_json()).await;

    let evals = s
        .poll("/v1/job/bvc/evaluations", "a blocked eval", |v| {
            v.as_array()
                .is_some_and(|e| e.iter().any(|e| e["Status"] == "blocked"))
        })
        .await;
    let evals = evals.as_array().unwrap();
    let done = evals
        .iter()
        .find(|e| e["TriggeredBy"] == "job-register" && e["Status"] == "complete")
        .unwrap_or_else(|| panic!("the register eval completes: {evals:?}"));
    let blocked = evals
        .iter()
        .find(|e| e["Status"] == "blocked")
        .expect("blocked eval");
    assert_eq!(done["BlockedEval"], blocked["ID"]);
    let m = &done["FailedTGAllocs"]["bvc25"];
    assert_eq!(m["NodesEvaluated"], 2, "{m}");
    assert_eq!(m["NodesFiltered"], 2, "{m}");
    assert_eq!(
        m["ConstraintFiltered"]["missing compatible host volumes"], 2,
        "{m}"
    );
    assert_eq!(
        s.get("/v1/job/bvc/allocations").await.json(),
        serde_json::json!([])
    );
    let summary = s.get("/v1/job/bvc/summary").await.json();
    assert_eq!(summary["Summary"]["bvc25"]["Queued"], 1, "{summary}");
    s.stop().await;
}
