//! Bad input gets Nomad's status code and text, never a crash.

use crate::support::{Server, minimal_job};
use drover_agent::http::HttpOptions;
use drover_types::{JobRegisterRequest, multierror_text};
use hyper::Method;
use serde_json::json;

#[tokio::test]
async fn malformed_bodies_are_400_with_the_reason() {
    let s = Server::start().await;
    let r = s
        .call(Method::POST, "/v1/jobs", "{\"Job\": {\"ID\": ")
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("line 1 column"), "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));

    let mut wrong = minimal_job("x");
    wrong["Job"]["TaskGroups"][0]["Count"] = json!("three");
    let r = s.post_json("/v1/jobs", &wrong).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("Job.TaskGroups[0].Count: invalid type: string \"three\""),
        "{}",
        r.text()
    );
    assert!(r.text().contains("column"), "{}", r.text());

    let r = s.call(Method::POST, "/v1/jobs", Vec::new()).await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (400, "Request body is empty")
    );
    let r = s
        .post_json("/v1/jobs", &json!({"Job": {"Name": "x"}}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (400, "Job ID hasn't been provided")
    );
    let r = s.post_json("/v1/jobs", &json!({})).await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (400, "Job must be specified")
    );
    let r = s.call(Method::POST, "/v1/jobs", "[1,2,3]").await;
    assert_eq!(r.status, 400);
    let deep = "[".repeat(10_000);
    let r = s.call(Method::POST, "/v1/jobs", deep).await;
    assert_eq!(
        r.status, 400,
        "deep nesting is rejected, not a stack overflow"
    );

    // Unknown fields are ignored, as Nomad does.
    let mut extra = minimal_job("extra");
    extra["Job"]["NoSuchField"] = json!({"a": 1});
    extra["Whatever"] = json!(true);
    let r = s.post_json("/v1/jobs", &extra).await;
    assert_eq!(r.status, 200, "{}", r.text());
    s.stop().await;
}

#[tokio::test]
async fn validation_failure_is_500_with_the_multierror_text() {
    let s = Server::start().await;
    let mut bad = minimal_job("bad");
    bad["Job"]["TaskGroups"][0]["Tasks"][0]["Driver"] = json!("");
    bad["Job"]["TaskGroups"][0]["Count"] = json!(-1);
    let req: JobRegisterRequest = serde_json::from_value(bad.clone()).unwrap();
    let mut job = req.job.unwrap();
    job.canonicalize();
    let errors = job.validate().expect_err("the job is invalid");
    let r = s.post_json("/v1/jobs", &bad).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), multierror_text(&errors));
    assert!(r.text().contains("errors occurred:\n\t* "), "{}", r.text());
    assert_eq!(s.get("/v1/job/bad").await.status, 404, "nothing was stored");
    s.stop().await;
}

#[tokio::test]
async fn unknown_objects_are_404_with_nomad_texts() {
    let s = Server::start().await;
    for (path, text) in [
        ("/v1/job/nope", "job not found"),
        ("/v1/job/nope/summary", "job not found"),
        ("/v1/job/nope/scale", "job not found"),
        ("/v1/job/nope/versions", "job versions not found"),
        ("/v1/allocation/nope", "alloc not found"),
        ("/v1/evaluation/nope", "eval not found"),
        ("/v1/node/nope", "node not found"),
    ] {
        let r = s.get(path).await;
        assert_eq!(
            (r.status.as_u16(), r.text().as_str()),
            (404, text),
            "{path}"
        );
        assert!(
            r.header("x-nomad-index").is_some(),
            "{path}: reads carry the index"
        );
    }
    assert_eq!(s.get("/v1/job/nope/allocations").await.json(), json!([]));
    assert_eq!(s.get("/v1/no/such/thing").await.status, 404);
    let r = s
        .call(Method::POST, "/v1/allocation/nope/stop", Vec::new())
        .await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (404, "alloc not found")
    );
    let r = s
        .post_json(
            "/v1/node/nope/eligibility",
            &json!({"Eligibility": "eligible"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (404, "node not found")
    );
    let r = s.get("/").await;
    assert_eq!(r.status, 307);
    assert_eq!(r.header("location"), Some("/ui/"));
    s.stop().await;
}

#[tokio::test]
async fn wrong_methods_are_405_invalid_method() {
    let s = Server::start().await;
    for (m, path) in [
        (Method::DELETE, "/v1/jobs"),
        (Method::PATCH, "/v1/job/web"),
        (Method::POST, "/v1/allocations"),
        (Method::GET, "/v1/jobs/parse"),
        (Method::GET, "/v1/job/web/plan"),
        (Method::DELETE, "/v1/job/web/summary"),
        (Method::PUT, "/v1/status/leader"),
        (Method::POST, "/v1/evaluation/x"),
        (Method::GET, "/v1/node/x/drain"),
    ] {
        let r = s.call(m.clone(), path, Vec::new()).await;
        assert_eq!(
            (r.status.as_u16(), r.text().as_str()),
            (405, "Invalid method"),
            "{m} {path}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn bad_query_parameters_are_400() {
    let s = Server::start().await;
    let r = s.get("/v1/jobs?wait=forever").await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (400, "Invalid wait time")
    );
    let r = s.get("/v1/jobs?index=-3").await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (400, "Invalid index")
    );
    let r = s.get("/v1/jobs?index=99999999999999999999999").await;
    assert_eq!(r.status, 400);
    let r = s.get("/v1/jobs?meta=maybe").await;
    assert_eq!(r.status, 400);
    let r = s.get("/v1/event/stream?topic=Nope:*").await;
    assert_eq!(r.status, 400);
    s.stop().await;
}

#[tokio::test]
async fn huge_bodies_are_413() {
    let opts = HttpOptions {
        max_body_bytes: 4096,
        ..Default::default()
    };
    let s = Server::start_with(opts).await;
    let mut big = minimal_job("big");
    big["Job"]["Meta"] = json!({"pad": "x".repeat(8192)});
    let r = s.post_json("/v1/jobs", &big).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("4096"), "{}", r.text());
    // The server keeps serving.
    assert_eq!(
        s.post_json("/v1/jobs", &minimal_job("small")).await.status,
        200
    );
    s.stop().await;

    // The default limit is 16 MiB.
    assert_eq!(HttpOptions::default().max_body_bytes, 16 << 20);
}

#[tokio::test]
async fn random_input_never_breaks_the_server() {
    use rand::{Rng, SeedableRng};
    let s = Server::start().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let valid = serde_json::to_vec(&minimal_job("fuzz")).unwrap();
    let paths = [
        "/v1/jobs",
        "/v1/job/fuzz",
        "/v1/job/fuzz/scale",
        "/v1/validate/job",
        "/v1/jobs/parse",
        "/v1/node/x/drain",
        "/v1/job/fuzz/dispatch",
        "/v1/job/fuzz/evaluate",
    ];
    for i in 0..200 {
        let mut body = valid.clone();
        for _ in 0..rng.random_range(1..6) {
            let at = rng.random_range(0..body.len());
            body[at] = rng.random();
        }
        let path = paths[i % paths.len()];
        let r = s.call(Method::POST, path, body).await;
        assert!(
            [200, 400, 404, 500, 501].contains(&r.status.as_u16()),
            "{path}: {} {}",
            r.status,
            r.text()
        );
        assert!(
            !r.body.is_empty() || r.status == 200,
            "{path}: errors say why"
        );
    }
    assert_eq!(s.get("/v1/status/leader").await.status, 200);
    s.stop().await;
}
