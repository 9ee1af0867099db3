//! Jobs: register, read back, list, parse, validate, versions, summary, scale,
//! deregister, dispatch and periodic force.

use crate::support::{Server, minimal_job, read, repo_file, seed_job_json};
use drover_types::{Job, JobRegisterRequest};
use hyper::Method;
use serde_json::json;

/// The job as the server must store it: the request's job, canonicalized (server-set
/// fields aside).
fn canonical(body: &serde_json::Value) -> Job {
    let req: JobRegisterRequest = serde_json::from_value(body.clone()).expect("request");
    let mut job = req.job.expect("job");
    job.canonicalize();
    job
}

fn strip_server_fields(mut j: Job) -> Job {
    j.status = None;
    j.status_description = None;
    j.stable = None;
    j.version = None;
    j.submit_time = None;
    j.create_index = None;
    j.modify_index = None;
    j.job_modify_index = None;
    j
}

#[tokio::test]
async fn seed_job_registers_and_reads_back_equal() {
    let s = Server::start().await;
    let body = seed_job_json();
    let r = s.register(&body).await;
    let resp = r.json();
    let eval_id = resp["EvalID"].as_str().expect("EvalID");
    assert_eq!(eval_id.len(), 36, "{resp}");
    assert_eq!(resp["Index"].as_u64(), Some(r.index()));
    assert_eq!(resp["JobModifyIndex"].as_u64(), Some(r.index()));

    let got = s.get("/v1/job/bvc").await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.header("content-type"), Some("application/json"));
    let job: Job = serde_json::from_slice(&got.body).expect("job JSON");
    assert_eq!(job.status.as_deref(), Some("pending"));
    assert_eq!(job.version, Some(0));
    assert_eq!(job.job_modify_index, Some(r.index()));
    assert_eq!(
        strip_server_fields(job),
        strip_server_fields(canonical(&body))
    );
    // Also equal to the types crate's golden canonical form, field by field.
    let golden: serde_json::Value =
        serde_json::from_str(&read("core/types/tests/golden/job-bvc.golden.json")).unwrap();
    let golden: Job = serde_json::from_value(golden).unwrap();
    let ours = strip_server_fields(serde_json::from_slice(&got.body).unwrap());
    assert_eq!(ours, strip_server_fields(golden));

    // The register created a pending job-register eval for the job.
    let e = s.get(&format!("/v1/evaluation/{eval_id}")).await.json();
    assert_eq!(
        (
            e["TriggeredBy"].as_str(),
            e["Status"].as_str(),
            e["JobID"].as_str()
        ),
        (Some("job-register"), Some("pending"), Some("bvc"))
    );
    let evals = s.get("/v1/job/bvc/evaluations").await.json();
    assert_eq!(evals.as_array().map(Vec::len), Some(1));

    // Registering the same spec again does not make a new version.
    let again = s.register(&body).await.json();
    assert_eq!(again["JobModifyIndex"], resp["JobModifyIndex"]);
    let versions = s.get("/v1/job/bvc/versions").await.json();
    assert_eq!(versions["Versions"].as_array().map(Vec::len), Some(1));
    s.stop().await;
}

#[tokio::test]
async fn list_filters_by_prefix_and_namespace() {
    let s = Server::start().await;
    for id in ["bvc", "bvc-2", "web"] {
        s.register(&minimal_job(id)).await;
    }
    let mut other = minimal_job("bvc-other-ns");
    other["Job"]["Namespace"] = json!("prod");
    s.register(&other).await;

    let ids = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|j| j["ID"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let r = s.get("/v1/jobs?prefix=bvc").await;
    assert_eq!(r.status, 200);
    assert_eq!(ids(r.json()), ["bvc", "bvc-2"]);
    assert_eq!(ids(s.get("/v1/jobs").await.json()), ["bvc", "bvc-2", "web"]);
    assert_eq!(
        ids(s.get("/v1/jobs?namespace=prod").await.json()),
        ["bvc-other-ns"]
    );
    assert_eq!(
        ids(s.get("/v1/jobs?namespace=*&prefix=bvc").await.json()).len(),
        3
    );
    assert_eq!(ids(s.get("/v1/jobs?prefix=nothing").await.json()).len(), 0);

    let stub = &s.get("/v1/jobs?prefix=web").await.json()[0];
    assert_eq!(stub["Type"], "service");
    assert_eq!(stub["Status"], "pending");
    assert_eq!(stub["JobSummary"]["Summary"]["web"]["Queued"], 0);
    assert!(stub.get("Meta").is_none(), "Meta only with meta=true");
    assert!(
        s.get("/v1/jobs?meta=true").await.json()[0]
            .get("Meta")
            .is_some()
    );
    s.stop().await;
}

#[tokio::test]
async fn register_at_job_path_checks_the_id() {
    let s = Server::start().await;
    let r = s.post_json("/v1/job/other", &minimal_job("web")).await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (400, "Job ID does not match name")
    );
    let r = s
        .call(
            Method::PUT,
            "/v1/job/web",
            serde_json::to_vec(&minimal_job("web")).unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.get("/v1/job/web").await.json()["ID"], "web");
    s.stop().await;
}

#[tokio::test]
async fn parse_takes_the_seed_hcl_and_variables() {
    let s = Server::start().await;
    let hcl = read("tests/fixtures/seed/job-bvc.hcl");
    let r = s
        .post_json(
            "/v1/jobs/parse",
            &json!({"JobHCL": hcl, "Canonicalize": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let job: Job = serde_json::from_slice(&r.body).unwrap();
    let want = drover_jobspec::parse_hcl("job.nomad.hcl", &hcl, &Default::default()).unwrap();
    assert_eq!(job, want);
    assert_eq!(job.datacenters, ["FT2000"]);

    // Variables: the text of a var file.
    let hcl2 = read("core/jobspec/tests/fixtures/hcl2.hcl");
    let vars = read("core/jobspec/tests/fixtures/hcl2.vars.hcl");
    let r = s
        .post_json(
            "/v1/jobs/parse",
            &json!({"JobHCL": hcl2, "Variables": vars}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let inputs = drover_jobspec::VarInputs {
        files: vec![repo_file("core/jobspec/tests/fixtures/hcl2.vars.hcl")],
        ..Default::default()
    };
    let want = drover_jobspec::parse_hcl("job.nomad.hcl", &hcl2, &inputs).unwrap();
    assert_eq!(serde_json::from_slice::<Job>(&r.body).unwrap(), want);

    let r = s.post_json("/v1/jobs/parse", &json!({"JobHCL": ""})).await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (400, "Job spec is empty")
    );
    let r = s
        .post_json("/v1/jobs/parse", &json!({"JobHCL": "job \"x\" {"}))
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().starts_with("Failed to parse job: "),
        "{}",
        r.text()
    );
    let r = s
        .post_json(
            "/v1/jobs/parse",
            &json!({"JobHCL": "job \"x\" { meta { a = file(\"/etc/passwd\") } }"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("file"), "{}", r.text());
    // Only a call is refused: the same words inside a string are plain text.
    let r = s
        .post_json(
            "/v1/jobs/parse",
            &json!({"JobHCL": "job \"x\" {\n group \"g\" {\n task \"t\" {\n driver = \"raw_exec\"\n meta { a = \"see file(x)\" }\n }\n }\n}"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    s.stop().await;
}

#[tokio::test]
async fn validate_reports_rules_without_failing() {
    let s = Server::start().await;
    let r = s.post_json("/v1/validate/job", &minimal_job("ok")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Error"], "");
    let mut bad = minimal_job("bad");
    bad["Job"]["TaskGroups"][0]["Tasks"][0]["Driver"] = json!("");
    let r = s.post_json("/v1/validate/job", &bad).await.json();
    let errors = r["ValidationErrors"].as_array().expect("errors");
    assert!(!errors.is_empty());
    assert!(r["Error"].as_str().unwrap().contains("error"), "{r}");
    s.stop().await;
}

#[tokio::test]
async fn summary_scale_versions_and_deregister() {
    let s = Server::start().await;
    s.register(&minimal_job("web")).await;
    let sum = s.get("/v1/job/web/summary").await;
    assert_eq!(sum.status, 200);
    assert_eq!(sum.json()["Summary"]["web"]["Running"], 0);

    let sc = s.get("/v1/job/web/scale").await.json();
    assert_eq!(sc["TaskGroups"]["web"]["Desired"], 1);
    let r = s
        .post_json(
            "/v1/job/web/scale",
            &json!({"Count": 3, "Target": {"Job": "web", "Group": "web"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.json()["EvalID"].as_str().unwrap().is_empty());
    assert_eq!(
        s.get("/v1/job/web").await.json()["TaskGroups"][0]["Count"],
        3
    );
    assert_eq!(
        s.get("/v1/job/web/versions").await.json()["Versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = s
        .post_json(
            "/v1/job/web/scale",
            &json!({"Count": 1, "Target": {"Group": "nope"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s
        .post_json(
            "/v1/job/web/scale",
            &json!({"Count": 1, "Target": {"Job": "x", "Group": "web"}}),
        )
        .await;
    assert_eq!(r.text(), "job ID in payload did not match URL");

    let r = s.call(Method::DELETE, "/v1/job/web", Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["Index"].as_u64(), Some(r.index()));
    let job = s.get("/v1/job/web").await.json();
    assert_eq!(job["Stop"], true);
    let evals = s.get("/v1/evaluations?job=web&status=pending").await.json();
    assert!(
        evals
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["TriggeredBy"] == "job-deregister")
    );

    let r = s
        .call(Method::DELETE, "/v1/job/web?purge=true", Vec::new())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.get("/v1/job/web").await.status, 404);
    let r = s.call(Method::DELETE, "/v1/job/web", Vec::new()).await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (404, "job not found")
    );
    s.stop().await;
}

#[tokio::test]
async fn dispatch_periodic_force_and_plan() {
    let s = Server::start().await;
    let mut param = minimal_job("params");
    param["Job"]["Type"] = json!("batch");
    param["Job"]["ParameterizedJob"] = json!({"Payload": "optional"});
    let r = s.register(&param).await.json();
    assert_eq!(r["EvalID"], "", "parameterized jobs get no eval");
    let d = s
        .post_json("/v1/job/params/dispatch", &json!({"Meta": {"k": "v"}}))
        .await;
    assert_eq!(d.status, 200, "{}", d.text());
    let child = d.json()["DispatchedJobID"].as_str().unwrap().to_string();
    assert!(child.starts_with("params/dispatch-"), "{child}");
    // Child IDs contain '/': sub-resources still route by suffix.
    let j = s.get(&format!("/v1/job/{child}")).await.json();
    assert_eq!(
        (j["ParentID"].as_str(), j["Dispatched"].as_bool()),
        (Some("params"), Some(true))
    );
    assert_eq!(s.get(&format!("/v1/job/{child}/summary")).await.status, 200);
    let r = s
        .post_json(
            "/v1/job/params/dispatch",
            &json!({"Payload": "A".repeat(30_000)}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().starts_with("Payload exceeds maximum size"),
        "{}",
        r.text()
    );

    let mut cron = minimal_job("cron");
    cron["Job"]["Type"] = json!("batch");
    cron["Job"]["Periodic"] = json!({"Spec": "*/5 * * * *", "SpecType": "cron"});
    s.register(&cron).await;
    let f = s
        .call(Method::POST, "/v1/job/cron/periodic/force", Vec::new())
        .await;
    assert_eq!(f.status, 200, "{}", f.text());
    let eval_id = f.json()["EvalID"].as_str().unwrap().to_string();
    assert_eq!(
        s.get(&format!("/v1/evaluation/{eval_id}")).await.json()["TriggeredBy"],
        "periodic-job"
    );

    let p = s
        .post_json(
            "/v1/job/cron/plan",
            &json!({"Job": cron["Job"], "Diff": true}),
        )
        .await;
    // The real server plans with the scheduler: an unchanged periodic job's plan
    // against the registered version.
    assert_eq!(p.status, 200, "{}", p.text());
    let cron_index = s.get("/v1/job/cron").await.json()["JobModifyIndex"].clone();
    assert_eq!(p.json()["JobModifyIndex"], cron_index, "{}", p.text());
    let p = s
        .post_json("/v1/job/other/plan", &json!({"Job": cron["Job"]}))
        .await;
    assert_eq!(
        (p.status.as_u16(), p.text().as_str()),
        (400, "Job ID does not match")
    );
    let p = s.post_json("/v1/job/cron/plan", &json!({})).await;
    assert_eq!(
        (p.status.as_u16(), p.text().as_str()),
        (400, "Job must be specified")
    );

    let e = s
        .call(Method::POST, "/v1/job/params/evaluate", Vec::new())
        .await;
    assert_eq!(
        (e.status.as_u16(), e.text().as_str()),
        (400, "can't evaluate parameterized job")
    );
    s.stop().await;
}
