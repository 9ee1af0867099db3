//! Allocations, evaluations and nodes, over state seeded through the backend.

use crate::support::{Server, minimal_job};
use drover_state::Command;
use drover_state::command::{ApplyPlanResults, NodeRegister};
use drover_types::{Allocation, Job, Node, NodeStatus, PlanResult};
use hyper::Method;
use serde_json::json;

const NODE: &str = "4f6c1c1e-0000-4000-8000-000000000001";

/// A ready node, a registered job `web`, and one allocation of it on the node.
async fn seeded() -> (Server, String, String) {
    let s = Server::start().await;
    let node = Node {
        id: NODE.into(),
        secret_id: "s3cr3t".into(),
        name: "node-1".into(),
        datacenter: "dc1".into(),
        status: NodeStatus::Ready,
        attributes: [
            ("os.name".to_string(), "ubuntu".to_string()),
            (
                "unique.network.ip-address".to_string(),
                "10.0.0.5".to_string(),
            ),
            ("kernel.name".to_string(), "linux".to_string()),
        ]
        .into(),
        ..Default::default()
    };
    s.backend
        .apply(Command::NodeRegister(NodeRegister {
            node,
            evals: vec![],
        }))
        .expect("node registers");
    let eval_id = s.register(&minimal_job("web")).await.json()["EvalID"]
        .as_str()
        .unwrap()
        .to_string();
    let job: Job = serde_json::from_value(s.get("/v1/job/web").await.json()).unwrap();
    let alloc = Allocation {
        id: "a1b2c3d4-0000-4000-8000-000000000001".into(),
        namespace: "default".into(),
        eval_id: eval_id.clone(),
        name: Allocation::make_name("web", "web", 0),
        node_id: NODE.into(),
        node_name: "node-1".into(),
        job_id: "web".into(),
        task_group: "web".into(),
        ..Default::default()
    };
    let result = PlanResult {
        node_allocation: [(NODE.to_string(), vec![alloc.clone()])].into(),
        ..Default::default()
    };
    s.backend
        .apply(Command::ApplyPlanResults(ApplyPlanResults {
            eval_id: eval_id.clone(),
            job: Some(job),
            result,
            evals: vec![],
            time: 1_700_000_000_000_000_000,
        }))
        .expect("plan applies");
    (s, eval_id, alloc.id)
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
        s.get("/v1/allocations?prefix=a1b2")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.get("/v1/allocations?prefix=ffff").await.json(), json!([]));

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
    let all = s.get("/v1/evaluations").await.json();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let web = s.get("/v1/evaluations?job=web").await.json();
    assert_eq!(web.as_array().unwrap().len(), 1);
    assert_eq!(web[0]["ID"], eval_id.as_str());
    assert_eq!(
        s.get("/v1/evaluations?status=complete").await.json(),
        json!([])
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
