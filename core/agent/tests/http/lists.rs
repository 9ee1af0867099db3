//! The list options of `/v1/jobs`, `/v1/allocations`, `/v1/evaluations`, the nested
//! allocation and evaluation lists, and
//! `/v1/nodes`: `filter` (go-bexpr over each item's JSON), `per_page` / `next_token`
//! (with `X-Nomad-NextToken`), `reverse`, and their 400s.

use crate::support::{Server, minimal_job};
use drover_server::sim;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

const NEXT: &str = "x-nomad-nexttoken";

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|j| j["ID"].as_str().unwrap_or("").to_string())
        .collect()
}

/// `path` with `filter=<expr>` appended, encoded.
fn filtered(path: &str, expr: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!(
        "{path}{sep}filter={}",
        utf8_percent_encode(expr, NON_ALPHANUMERIC)
    )
}

/// Walks `path` in pages of `per_page`, checking that every page but the last carries
/// `X-Nomad-NextToken` = the first ID of the next page; returns the pages' IDs.
async fn walk(s: &Server, path: &str, per_page: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("{path}&per_page={per_page}");
        if let Some(t) = &token {
            url.push_str(&format!(
                "&next_token={}",
                utf8_percent_encode(t, NON_ALPHANUMERIC)
            ));
        }
        let r = s.get(&url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        let page = ids(&r.json());
        assert!(page.len() <= per_page, "{url}: {page:?}");
        if let (Some(t), Some(first)) = (&token, page.first()) {
            assert!(t.ends_with(first.as_str()), "token {t} starts at {first}");
        }
        pages.push(page);
        match r.header(NEXT) {
            Some(t) => {
                assert!(!t.is_empty(), "an empty X-Nomad-NextToken is never sent");
                token = Some(t.to_string());
            }
            None => return pages,
        }
        assert!(pages.len() < 20, "paging does not end: {pages:?}");
    }
}

#[tokio::test]
async fn jobs_and_evals_filter_and_page() {
    let s = Server::start().await;
    for (i, id) in ["j3", "j1", "j5", "j2", "j4"].iter().enumerate() {
        let mut job = minimal_job(id);
        job["Job"]["Priority"] = json!(40 + 10 * i);
        job["Job"]["Meta"] = json!({"team": if i % 2 == 0 { "core" } else { "edge" }});
        if *id == "j2" {
            job["Job"]["Datacenters"] = json!(["dc1", "dc2"]);
        }
        s.register(&job).await;
    }
    let mut prod = minimal_job("j0");
    prod["Job"]["Namespace"] = json!("prod");
    s.register(&prod).await;

    let all = ids(&s.get("/v1/jobs").await.json());
    assert_eq!(all, ["j1", "j2", "j3", "j4", "j5"]);

    // filter
    let cases = [
        (
            "/v1/jobs?meta=true",
            r#"Meta.team == "core""#,
            vec!["j3", "j4", "j5"],
        ),
        ("/v1/jobs", r#"Meta.team == "core""#, vec![]),
        ("/v1/jobs", r#""dc2" in Datacenters"#, vec!["j2"]),
        (
            "/v1/jobs",
            "Priority >= 60 and Priority < 80",
            vec!["j2", "j5"],
        ),
        (
            "/v1/jobs",
            r#"ID matches "^j[12]$" or not (Status == "pending")"#,
            vec!["j1", "j2"],
        ),
        (
            "/v1/jobs",
            "JobSummary.Summary.web.Queued == 0",
            all.iter().map(String::as_str).collect(),
        ),
        (
            "/v1/jobs?namespace=*",
            r#"Namespace != "default""#,
            vec!["j0"],
        ),
        ("/v1/jobs", "", all.iter().map(String::as_str).collect()),
    ];
    for (path, expr, want) in cases {
        let r = s.get(&filtered(path, expr)).await;
        assert_eq!(r.status, 200, "{expr}: {}", r.text());
        assert_eq!(ids(&r.json()), want, "{path} {expr}");
        assert!(r.header("x-nomad-index").is_some());
    }

    // per_page / next_token: five jobs in pages of two, tokens `<namespace>.<id>`.
    let r = s.get("/v1/jobs?per_page=2").await;
    assert_eq!(ids(&r.json()), ["j1", "j2"]);
    assert_eq!(r.header(NEXT), Some("default.j3"));
    let r = s.get("/v1/jobs?per_page=2&next_token=default.j3").await;
    assert_eq!(ids(&r.json()), ["j3", "j4"]);
    assert_eq!(r.header(NEXT), Some("default.j5"));
    let r = s.get("/v1/jobs?per_page=2&next_token=default.j5").await;
    assert_eq!((ids(&r.json()), r.header(NEXT)), (vec!["j5".into()], None));
    let pages = walk(&s, "/v1/jobs?namespace=default", 2).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    assert_eq!(pages.concat(), all);
    // Across namespaces the order is namespace, then ID.
    let pages = walk(&s, "/v1/jobs?namespace=*", 4).await;
    assert_eq!(pages.concat(), ["j1", "j2", "j3", "j4", "j5", "j0"]);
    // reverse walks backwards, and the filter applies before the page is cut.
    let pages = walk(&s, "/v1/jobs?reverse=true", 2).await;
    assert_eq!(pages.concat(), ["j5", "j4", "j3", "j2", "j1"]);
    let r = s
        .get(&filtered(
            "/v1/jobs?meta=true&per_page=2",
            r#"Meta.team == "core""#,
        ))
        .await;
    assert_eq!(
        (ids(&r.json()), r.header(NEXT)),
        (vec!["j3".into(), "j4".into()], Some("default.j5"))
    );

    // Evaluations: one per registration, by ID.
    let evals = ids(&s.get("/v1/evaluations").await.json());
    assert_eq!(evals.len(), 5);
    let mut sorted = evals.clone();
    sorted.sort();
    let pages = walk(&s, "/v1/evaluations?namespace=default", 2).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(pages.concat(), sorted);
    let pages = walk(&s, "/v1/evaluations?reverse=true", 2).await;
    sorted.reverse();
    assert_eq!(pages.concat(), sorted);
    let r = s
        .get(&filtered(
            "/v1/evaluations",
            r#"JobID == "j4" and TriggeredBy == "job-register""#,
        ))
        .await;
    let one = r.json();
    assert_eq!(
        (one.as_array().map(Vec::len), one[0]["JobID"].as_str()),
        (Some(1), Some("j4"))
    );

    // Bad values: 400 naming the parameter, or the filter's position and expectation.
    for (path, want) in [
        ("/v1/jobs?per_page=-1", r#""per_page""#),
        ("/v1/jobs?per_page=abc", r#""per_page""#),
        ("/v1/evaluations?reverse=maybe", r#""reverse""#),
        ("/v1/allocations?per_page=1.5", r#""per_page""#),
        ("/v1/nodes?reverse=2", r#""reverse""#),
    ] {
        let r = s.get(path).await;
        assert_eq!(r.status, 400, "{path}");
        assert!(r.text().contains(want), "{path}: {}", r.text());
    }
    let r = s.get(&filtered("/v1/jobs", "Status = running")).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().starts_with(
            r#"failed to read filter expression: 1:8 (7): no match found, expected: "!=""#
        ),
        "{}",
        r.text()
    );
    let r = s.get(&filtered("/v1/nodes", r#"Name matches "[""#)).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("1:14 (13): invalid regular expression"),
        "{}",
        r.text()
    );
    s.stop().await;
}

#[tokio::test]
async fn allocations_and_nodes_filter_and_page() {
    let s = Server::start_scheduling().await;
    let mut node = sim::node("4f6c1c1e-0000-4000-8000-000000000002", 4000, 8192);
    node.name = "node-1".into();
    s.add_node(node).await;
    for id in ["web", "api"] {
        s.register(&minimal_job(id)).await;
    }
    let allocs = s
        .poll("/v1/allocations", "both jobs placed", |v| {
            v.as_array().is_some_and(|a| a.len() == 2)
        })
        .await;
    let mut all = ids(&allocs);
    all.sort();

    let r = s
        .get(&filtered("/v1/allocations", r#"JobID == "api""#))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let api = r.json();
    assert_eq!(api.as_array().map(Vec::len), Some(1));
    assert_eq!(api[0]["JobID"], "api");
    let r = s
        .get(&filtered(
            "/v1/allocations",
            r#"JobID in ["x"] or (TaskGroup == "web" and ClientStatus is not empty and JobID != "api")"#,
        ))
        .await;
    assert_eq!(
        r.status,
        400,
        "lists are not values in go-bexpr: {}",
        r.text()
    );
    let r = s
        .get(&filtered(
            "/v1/allocations",
            r#"TaskGroup == "web" and ClientStatus is not empty and JobID != "api""#,
        ))
        .await;
    assert_eq!(r.json()[0]["JobID"], "web");
    assert_eq!(
        s.get(&filtered("/v1/allocations", r#"NodeID == "elsewhere""#))
            .await
            .json(),
        json!([])
    );

    let r = s.get("/v1/allocations?per_page=1").await;
    assert_eq!(ids(&r.json()), all[..1]);
    assert_eq!(r.header(NEXT), Some(all[1].as_str()));
    assert_eq!(
        walk(&s, "/v1/allocations?namespace=*", 1).await.concat(),
        all
    );
    let pages = walk(&s, "/v1/allocations?reverse=true", 1).await;
    assert_eq!(pages.concat(), [all[1].clone(), all[0].clone()]);

    // The nested lists take the same options.
    let node_allocs = "/v1/node/4f6c1c1e-0000-4000-8000-000000000002/allocations";
    let r = s.get(&filtered(node_allocs, r#"JobID == "web""#)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));
    assert_eq!(r.json()[0]["JobID"], "web");
    assert_eq!(
        walk(&s, &format!("{node_allocs}?namespace=default"), 1)
            .await
            .concat(),
        all
    );
    let r = s
        .get(&filtered("/v1/job/api/allocations", r#"JobID == "web""#))
        .await;
    assert_eq!(r.json(), json!([]));
    let r = s.get("/v1/job/web/evaluations?per_page=x").await;
    assert_eq!(r.status, 400, "{}", r.text());

    let ready = filtered("/v1/nodes", r#"Name == "node-1" and Status == "ready""#);
    let nodes = s
        .poll(&ready, "the node listed as ready", |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(ids(&nodes), ["4f6c1c1e-0000-4000-8000-000000000002"]);
    let r = s
        .get(&filtered("/v1/nodes?per_page=1", r#"Drain == true"#))
        .await;
    assert_eq!((r.json(), r.header(NEXT)), (json!([]), None));
    s.stop().await;
}
