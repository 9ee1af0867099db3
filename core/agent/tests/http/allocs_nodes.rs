//! Allocations, evaluations and nodes, over state the real server produced: a
//! simulated node registered through `Node.Register` (kept alive by heartbeats), a job
//! registered through the API and placed by the schedulers.

use crate::support::{Server, minimal_job};
use drover_server::sim;
use hyper::Method;
use serde_json::json;

const NODE: &str = "4f6c1c1e-0000-4000-8000-000000000001";

/// A ready node, a registered job `web`, and one allocation of it on the node, placed
/// by the scheduler.
async fn seeded() -> (Server, String, String) {
    let s = Server::start_scheduling().await;
    let mut node = sim::node(NODE, 4000, 8192);
    node.secret_id = "s3cr3t".into();
    node.name = "node-1".into();
    node.attributes.extend([
        ("os.name".to_string(), "ubuntu".to_string()),
        (
            "unique.network.ip-address".to_string(),
            "10.0.0.5".to_string(),
        ),
    ]);
    s.add_node(node).await;
    let eval_id = s.register(&minimal_job("web")).await.json()["EvalID"]
        .as_str()
        .unwrap()
        .to_string();
    let allocs = s
        .poll("/v1/job/web/allocations", "web placed", |v| {
            v.as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    let alloc_id = allocs[0]["ID"].as_str().unwrap().to_string();
    (s, eval_id, alloc_id)
}

#[tokio::test]
async fn allocation_reads_and_stop() {
    let (s, eval_id, alloc_id) = seeded().await;
    let list = s.get("/v1/allocations").await;
    assert_eq!(list.status, 200);
    let stubs = list.json();
    assert_eq!(stubs.as_array().unwrap().len(), 1);
    assert_eq!(stubs[0]["ID"], alloc_id.as_str());
    assert_eq!(stubs[0]["JobType"], "service");
    assert!(stubs[0]["AllocatedResources"].is_null());
    assert_eq!(
        s.get(&format!("/v1/allocations?prefix={}", &alloc_id[..4]))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A prefix no allocation has: the first hex digit changed.
    let other = if alloc_id.starts_with('f') { "e" } else { "f" };
    assert_eq!(
        s.get(&format!(
            "/v1/allocations?prefix={other}{}",
            &alloc_id[1..4]
        ))
        .await
        .json(),
        json!([])
    );

    let a = s.get(&format!("/v1/allocation/{alloc_id}")).await;
    assert_eq!(a.status, 200);
    let a = a.json();
    assert_eq!(
        (a["NodeID"].as_str(), a["Job"]["ID"].as_str()),
        (Some(NODE), Some("web"))
    );
    assert_eq!(
        s.get("/v1/job/web/allocations").await.json()[0]["ID"],
        alloc_id.as_str()
    );
    assert_eq!(
        s.get(&format!("/v1/evaluation/{eval_id}/allocations"))
            .await
            .json()[0]["ID"],
        alloc_id.as_str()
    );
    let on_node = s.get(&format!("/v1/node/{NODE}/allocations")).await.json();
    assert_eq!(
        on_node[0]["Job"]["ID"], "web",
        "node allocations are full allocations"
    );

    let stop = s
        .call(
            Method::POST,
            &format!("/v1/allocation/{alloc_id}/stop"),
            Vec::new(),
        )
        .await;
    assert_eq!(stop.status, 200, "{}", stop.text());
    let stop = stop.json();
    let e = s
        .get(&format!(
            "/v1/evaluation/{}",
            stop["EvalID"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(e["TriggeredBy"], "alloc-stop");
    let a = s.get(&format!("/v1/allocation/{alloc_id}")).await.json();
    assert_eq!(a["DesiredTransition"]["Migrate"], true);
    s.stop().await;
}

#[tokio::test]
async fn evaluation_filters() {
    let (s, eval_id, _) = seeded().await;
    s.register(&minimal_job("other")).await;
    // Both evals placed their allocation: complete, and no blocked evals.
    let all = s
        .poll("/v1/evaluations", "both evals complete", |v| {
            v.as_array()
                .is_some_and(|a| a.len() == 2 && a.iter().all(|e| e["Status"] == "complete"))
        })
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let web = s.get("/v1/evaluations?job=web").await.json();
    assert_eq!(web.as_array().unwrap().len(), 1);
    assert_eq!(web[0]["ID"], eval_id.as_str());
    assert_eq!(
        s.get("/v1/evaluations?status=pending").await.json(),
        json!([])
    );
    assert_eq!(
        s.get("/v1/evaluations?status=complete&job=other")
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let prefix = &eval_id[..4];
    assert!(
        !s.get(&format!("/v1/evaluations?prefix={prefix}"))
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    s.stop().await;
}

#[tokio::test]
async fn nodes_hide_the_secret_and_drain() {
    let (s, _, _) = seeded().await;
    let n = s.get(&format!("/v1/node/{NODE}")).await;
    assert_eq!(n.status, 200);
    assert!(!n.text().contains("s3cr3t"), "secret leaked: {}", n.text());
    let n = n.json();
    assert!(n.get("SecretID").is_none());
    assert_eq!(
        (n["Drain"].as_bool(), n["Status"].as_str()),
        (Some(false), Some("ready"))
    );

    let list = s.get("/v1/nodes?prefix=4f6c").await.json();
    assert_eq!(list[0]["Address"], "10.0.0.5");
    assert!(list[0].get("Attributes").is_none());
    assert!(!serde_json::to_string(&list).unwrap().contains("s3cr3t"));
    let os = s.get("/v1/nodes?os=true").await.json();
    assert_eq!(os[0]["Attributes"], json!({"os.name": "ubuntu"}));

    let r = s
        .post_json(
            &format!("/v1/node/{NODE}/drain"),
            &json!({"DrainSpec": {"Deadline": 3_600_000_000_000i64}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["NodeModifyIndex"].as_u64(), Some(r.index()));
    let n = s.get(&format!("/v1/node/{NODE}")).await.json();
    assert_eq!(
        (n["Drain"].as_bool(), n["SchedulingEligibility"].as_str()),
        (Some(true), Some("ineligible"))
    );
    assert_eq!(n["DrainStrategy"]["Deadline"], 3_600_000_000_000i64);

    let r = s
        .post_json(
            &format!("/v1/node/{NODE}/eligibility"),
            &json!({"Eligibility": "eligible"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s
        .post_json(
            &format!("/v1/node/{NODE}/eligibility"),
            &json!({"Eligibility": "maybe"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (400, "invalid scheduling eligibility \"maybe\"")
    );

    let r = s
        .post_json(
            &format!("/v1/node/{NODE}/drain"),
            &json!({"DrainSpec": null, "MarkEligible": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let n = s.get(&format!("/v1/node/{NODE}")).await.json();
    assert_eq!(
        (n["Drain"].as_bool(), n["SchedulingEligibility"].as_str()),
        (Some(false), Some("eligible"))
    );
    let r = s
        .post_json(
            &format!("/v1/node/{NODE}/eligibility"),
            &json!({"Eligibility": "ineligible"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        s.get(&format!("/v1/node/{NODE}")).await.json()["SchedulingEligibility"],
        "ineligible"
    );
    s.stop().await;
}
