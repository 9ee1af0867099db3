//! End-to-end tests of the `drover` command, run as a real process against
//! real plugin binaries of this workspace and a real `drover agent -dev`.
//!
//! The plugin binaries are built by `cargo test --workspace` (each driver
//! crate has integration tests, so cargo builds its binary; examples are built
//! for the SDK's tests).

mod alloc_cmds;
mod client_e2e;
mod real_agent;
mod stub_agent;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stub_agent::StubAgent;

fn drover() -> Command {
    Command::new(env!("CARGO_BIN_EXE_drover"))
}

/// `target/<profile>`, where cargo put the workspace's binaries.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_drover"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn plugin(rel: &str) -> PathBuf {
    let path = target_dir().join(rel);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo test --workspace` (or `cargo build --workspace --bins --examples`) first",
        path.display()
    );
    path
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn run(cmd: &mut Command) -> (Output, String) {
    let out = cmd.output().expect("drover runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// The case lines of a conformance report, e.g. `PASS  info (3 ms)`.
fn case_line<'a>(report: &'a str, case: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.split_whitespace().nth(1).map(|n| n.trim_end_matches(':')) == Some(case))
        .unwrap_or_else(|| panic!("case {case} missing from the report:\n{report}"))
}

#[test]
fn conformance_passes_for_raw_exec() {
    let (out, report) = run(drover()
        .args(["plugin", "conformance", "--config"])
        .arg(repo_file("examples/plugins/raw_exec.hcl"))
        .arg(plugin("drover-driver-raw-exec")));
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains(" 0 failed, 0 skipped"),
        "raw_exec must pass every case:\n{report}"
    );
    assert!(
        case_line(&report, "recover.after_sigkill").starts_with("PASS"),
        "{report}"
    );
}

#[test]
fn conformance_passes_for_mock_driver() {
    let (out, report) = run(drover()
        .args(["plugin", "conformance"])
        .arg(plugin("drover-driver-mock")));
    assert!(out.status.success(), "{report}");
    assert!(report.contains(" 0 failed"), "{report}");
    assert!(
        case_line(&report, "recover.after_sigkill").starts_with("PASS"),
        "{report}"
    );
    assert!(case_line(&report, "exec").starts_with("PASS"), "{report}");
}

#[test]
fn conformance_passes_for_sdk_example_and_skips_what_it_does_not_declare() {
    let (out, report) = run(drover()
        .args(["plugin", "conformance"])
        .arg(plugin("examples/hello-driver")));
    assert!(out.status.success(), "{report}");
    assert!(report.contains(" 0 failed"), "{report}");
    assert!(case_line(&report, "exec").starts_with("SKIP"), "{report}");
    assert!(
        case_line(&report, "recover.after_sigkill").starts_with("SKIP"),
        "{report}"
    );
    assert!(
        case_line(&report, "stop.escalation").starts_with("PASS"),
        "{report}"
    );
}

#[test]
fn conformance_without_the_enabling_config_fails_raw_exec_health() {
    let (out, report) = run(drover()
        .args(["plugin", "conformance", "--case", "fingerprint"])
        .arg(plugin("drover-driver-raw-exec")));
    assert!(!out.status.success(), "{report}");
    let line = case_line(&report, "fingerprint.health");
    assert!(
        line.starts_with("FAIL") && line.contains("disabled"),
        "{report}"
    );
    assert!(
        report.trim_end().ends_with("1 failed, 0 skipped"),
        "{report}"
    );
}

#[test]
fn conformance_of_a_program_that_is_not_a_plugin_fails_clearly() {
    let (out, report) = run(drover().args(["plugin", "conformance", "/bin/true"]));
    assert!(!out.status.success(), "{report}");
    let line = case_line(&report, "handshake.good_cookie");
    assert!(
        line.starts_with("FAIL") && line.contains("/bin/true"),
        "{report}"
    );
}

#[test]
fn plugin_info_describes_the_http_fetcher() {
    let (out, text) = run(drover()
        .args(["plugin", "info"])
        .arg(plugin("drover-fetcher-http")));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Name              = http"), "{text}");
    assert!(text.contains("Type              = fetcher"), "{text}");
    assert!(text.contains("Schemes           = http\n"), "{text}");
    assert!(text.contains("read_timeout_seconds"), "{text}");
}

#[test]
fn plugin_info_describes_raw_exec() {
    let (out, text) = run(drover()
        .args(["plugin", "info"])
        .arg(plugin("drover-driver-raw-exec")));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Name              = raw_exec"), "{text}");
    assert!(text.contains("Health            = undetected"), "{text}");
    assert!(text.contains("command*"), "{text}");
    let (out, text) = run(drover()
        .args(["plugin", "info", "--config"])
        .arg(repo_file("examples/plugins/raw_exec.hcl"))
        .arg(plugin("drover-driver-raw-exec")));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Health            = healthy"), "{text}");
    assert!(text.contains("driver.raw_exec=true"), "{text}");
}

#[test]
fn plugin_info_reports_a_bad_config_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bad.hcl");
    std::fs::write(&cfg, "enabled = \"yes\"\n").expect("write");
    let (out, text) = run(drover()
        .args(["plugin", "info", "--config"])
        .arg(&cfg)
        .arg(plugin("drover-driver-raw-exec")));
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("raw_exec") && text.contains("enabled"),
        "{text}"
    );
}

#[test]
fn single_dash_flags_work_like_nomad() {
    let (out, text) = run(drover().args(["plugin", "conformance", "-list"]));
    assert!(out.status.success(), "{text}");
    assert!(text.lines().any(|l| l == "recover.after_sigkill"), "{text}");
}

fn seed_agent_config() -> PathBuf {
    repo_file("tests/fixtures/seed/agent.hcl")
}

#[test]
fn config_validate_accepts_the_seed_file_and_a_directory() {
    let (out, text) = run(drover()
        .args(["config", "validate"])
        .arg(seed_agent_config()));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Configuration is valid"), "{text}");

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(seed_agent_config(), dir.path().join("agent.hcl")).expect("copy seed");
    std::fs::write(dir.path().join("extra.json"), r#"{"log_level": "debug"}"#).expect("write");
    let (out, text) = run(drover().args(["config", "validate"]).arg(dir.path()));
    assert!(out.status.success(), "{text}");
}

#[test]
fn config_validate_reports_every_error_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.hcl");
    std::fs::write(
        &bad,
        "data_dir = \"/d\"\nserver {\n  enabled = \"yes\"\n  bootstrap_expekt = 1\n}\n",
    )
    .expect("write");
    let (out, text) = run(drover().args(["config", "validate"]).arg(&bad));
    assert_eq!(out.status.code(), Some(1), "{text}");
    let name = bad.display().to_string();
    assert!(
        text.contains(&format!(
            "{name}:3:13: server.enabled: expected a boolean, found a string"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{name}:4:3: server.bootstrap_expekt: unknown key \"bootstrap_expekt\""
        )),
        "{text}"
    );
    assert!(
        text.contains("Configuration is invalid: 2 errors"),
        "{text}"
    );

    let (out, text) = run(drover().args(["config", "validate", "/nonexistent/agent.hcl"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("/nonexistent/agent.hcl: cannot read"),
        "{text}"
    );
}

#[test]
fn job_validate_accepts_the_seed_jobs_and_reports_errors() {
    for seed in ["job-bvc.hcl", "job-tetris.hcl"] {
        let path = repo_file("tests/fixtures/seed").join(seed);
        let (out, text) = run(drover().args(["job", "validate"]).arg(&path));
        assert_eq!(out.status.code(), Some(0), "{seed}: {text}");
        assert!(text.contains("Job validation successful"), "{text}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.hcl");
    std::fs::write(
        &bad,
        "job \"bvc\" {\n  group \"g\" {\n    task \"mysql\" {\n      driver = \"docker\"\n      resources {\n        cpu = \"500\"\n        memroy = 5\n      }\n    }\n  }\n}\n",
    )
    .expect("write");
    let (out, text) = run(drover().args(["job", "validate"]).arg(&bad));
    assert_eq!(out.status.code(), Some(1), "{text}");
    let name = bad.display().to_string();
    assert!(
        text.contains(&format!(
            "{name}:6:15: job \"bvc\" > group \"g\" > task \"mysql\" > resources.cpu: expected a number, found a string"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("{name}:7:9: ")), "{text}");
}

#[test]
fn job_inspect_prints_api_json_with_vars() {
    let dir = tempfile::tempdir().expect("tempdir");
    let job = dir.path().join("web.hcl");
    std::fs::write(
        &job,
        "variable \"dc\" {\n  default = \"dc1\"\n}\nvariable \"n\" {\n  type = number\n  default = 1\n}\njob \"web\" {\n  datacenters = [var.dc]\n  group \"g\" {\n    count = var.n\n    task \"t\" {\n      driver = \"raw_exec\"\n      env { ID = \"${NOMAD_ALLOC_ID}\" }\n    }\n  }\n}\n",
    )
    .expect("write");
    let vars = dir.path().join("vars.hcl");
    std::fs::write(&vars, "n = 3\n").expect("write");
    let output = drover()
        .args(["job", "inspect", "-var", "dc=ft2000", "-var-file"])
        .arg(&vars)
        .arg(&job)
        .env("NOMAD_VAR_dc", "from-env")
        .output()
        .expect("drover runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(v["Job"]["Datacenters"], serde_json::json!(["ft2000"]));
    assert_eq!(v["Job"]["TaskGroups"][0]["Count"], 3);
    let task = &v["Job"]["TaskGroups"][0]["Tasks"][0];
    assert_eq!(task["Env"]["ID"], "${NOMAD_ALLOC_ID}");
    assert_eq!(task["KillTimeout"], 5_000_000_000i64);

    // The printed JSON is itself a valid job file that reads back the same.
    let json = dir.path().join("web.json");
    std::fs::write(&json, stdout.as_bytes()).expect("write");
    let (out, again) = run(drover().args(["job", "inspect"]).arg(&json));
    assert_eq!(out.status.code(), Some(0), "{again}");
    assert_eq!(again.trim(), stdout.trim());
}

const EVAL_ID: &str = "5f4c2a1e-7b3d-4c1e-8f00-1a2b3c4d5e6f";
const ALLOC_ID: &str = "c2e0d1f4-9a3b-4c1e-8f00-0a0b0c0d0e0f";
const NODE_ID: &str = "8d1b5e7a-1111-4222-8333-444455556666";

/// `drover` pointed at `agent` with -address; NOMAD_* cleared so the host's
/// environment cannot leak in.
fn drover_at(agent: &StubAgent) -> Command {
    let mut cmd = drover();
    for var in [
        "NOMAD_ADDR",
        "DROVER_ADDR",
        "NOMAD_TOKEN",
        "NOMAD_NAMESPACE",
        "NOMAD_REGION",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("DROVER_ADDR", agent.address());
    cmd
}

fn web_job_file(dir: &Path) -> PathBuf {
    let job = dir.join("web.hcl");
    std::fs::write(
        &job,
        "job \"web\" {\n  datacenters = [\"dc1\"]\n  group \"frontend\" {\n    count = 2\n    task \"server\" {\n      driver = \"raw_exec\"\n      config {\n        command = \"/bin/sleep\"\n        args    = [\"300\"]\n      }\n    }\n  }\n}\n",
    )
    .expect("write job");
    job
}

fn eval_json(id: &str, status: &str, trigger: &str, failed: serde_json::Value) -> String {
    serde_json::json!({
        "ID": id, "Namespace": "default", "Priority": 50, "Type": "service",
        "TriggeredBy": trigger, "JobID": "web", "Status": status, "StatusDescription": "",
        "FailedTGAllocs": failed, "BlockedEval": "", "NextEval": "", "Wait": 0,
        "CreateIndex": 12, "ModifyIndex": 14, "CreateTime": 1_700_000_000_000_000_000i64,
        "ModifyTime": 1_700_000_001_000_000_000i64
    })
    .to_string()
}

fn alloc_stub_json() -> serde_json::Value {
    serde_json::json!({
        "ID": ALLOC_ID, "EvalID": EVAL_ID, "Name": "web.frontend[0]", "Namespace": "default",
        "NodeID": NODE_ID, "NodeName": "client-1", "JobID": "web", "JobType": "service",
        "JobVersion": 0, "TaskGroup": "frontend", "DesiredStatus": "run",
        "ClientStatus": "running", "ClientDescription": "Tasks are running",
        "TaskStates": null, "CreateIndex": 13, "ModifyIndex": 15,
        "CreateTime": 1_700_000_000_000_000_000i64, "ModifyTime": 1_700_000_002_000_000_000i64
    })
}

/// Canned answers for a registered, running job "web".
fn stub_with_web_job() -> StubAgent {
    let agent = StubAgent::start();
    agent.route(
        "POST /v1/jobs",
        200,
        format!(r#"{{"EvalID":"{EVAL_ID}","EvalCreateIndex":12,"JobModifyIndex":12,"Warnings":"","Index":12,"LastContact":0,"KnownLeader":true}}"#),
    );
    agent.route(
        "GET /v1/jobs",
        200,
        r#"[{"ID":"web","ParentID":"","Name":"web","Namespace":"default","Type":"service","Priority":50,"Periodic":false,"ParameterizedJob":false,"Stop":false,"Status":"running","SubmitTime":1700000000000000000}]"#,
    );
    agent.route(
        "GET /v1/job/web",
        200,
        r#"{"ID":"web","Name":"web","Namespace":"default","Type":"service","Priority":50,"Datacenters":["dc1"],"NodePool":"default","Status":"running","Stop":false,"SubmitTime":1700000000000000000,"TaskGroups":[{"Name":"frontend","Count":2}],"Periodic":null,"ParameterizedJob":null,"Version":0}"#,
    );
    agent.route(
        "GET /v1/job/web/summary",
        200,
        r#"{"JobID":"web","Namespace":"default","Summary":{"frontend":{"Queued":0,"Complete":0,"Failed":0,"Running":2,"Starting":0,"Lost":0,"Unknown":0}},"Children":{"Pending":0,"Running":0,"Dead":0},"CreateIndex":12,"ModifyIndex":15}"#,
    );
    agent.route(
        "GET /v1/job/web/allocations",
        200,
        serde_json::json!([alloc_stub_json()]).to_string(),
    );
    agent.route(
        "GET /v1/job/web/evaluations",
        200,
        format!(
            "[{}]",
            eval_json(EVAL_ID, "complete", "job-register", serde_json::Value::Null)
        ),
    );
    agent
}

#[test]
fn job_run_detach_registers_the_parsed_job() {
    let agent = stub_with_web_job();
    let dir = tempfile::tempdir().expect("tempdir");
    let job = web_job_file(dir.path());
    let (out, text) = run(drover_at(&agent)
        .args(["job", "run", "-detach"])
        .arg(&job)
        .env("NOMAD_TOKEN", "s3cret"));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("Job registration successful\nEvaluation ID: {EVAL_ID}\n")
    );
    let req = agent.last("POST /v1/jobs");
    assert_eq!(req.header("x-nomad-token"), Some("s3cret"));
    let body: serde_json::Value = serde_json::from_str(&req.body).expect("JSON body");
    assert_eq!(body["Job"]["ID"], "web");
    assert_eq!(body["Job"]["TaskGroups"][0]["Count"], 2);
    assert_eq!(body["Submission"]["Format"], "hcl2");
    assert_eq!(body["EnforceIndex"], false);

    // -check-index turns on index enforcement (the real agent's refusal is checked in
    // `real_agent_end_to_end`).
    let (_, text) = run(drover_at(&agent)
        .args(["job", "run", "-detach", "-check-index", "5"])
        .arg(&job));
    let body: serde_json::Value =
        serde_json::from_str(&agent.last("POST /v1/jobs").body).expect("JSON body");
    assert_eq!(
        (body["EnforceIndex"].clone(), body["JobModifyIndex"].clone()),
        (true.into(), 5.into()),
        "{text}"
    );
}

#[test]
fn job_run_monitors_and_exits_2_on_placement_failures() {
    let agent = stub_with_web_job();
    let failed = serde_json::json!({"frontend": {
        "NodesEvaluated": 1, "NodesFiltered": 0, "NodesAvailable": {"dc1": 1},
        "NodesExhausted": 1, "DimensionExhausted": {"memory": 1}, "CoalescedFailures": 1
    }});
    agent.route(
        &format!("GET /v1/evaluation/{EVAL_ID}"),
        200,
        eval_json(EVAL_ID, "complete", "job-register", failed),
    );
    agent.route(
        &format!("GET /v1/evaluation/{EVAL_ID}/allocations"),
        200,
        serde_json::json!([alloc_stub_json()]).to_string(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, text) = run(drover_at(&agent)
        .args(["job", "run"])
        .arg(web_job_file(dir.path())));
    assert_eq!(out.status.code(), Some(2), "{text}");
    let ts = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)";
    assert!(!matches_pattern(
        "==> 2024-01-01T00:00:00Z: X",
        &format!("==> {ts}: Y")
    ));
    assert!(matches_pattern(
        "==> 2024-01-01T00:00:00+02:00: X",
        &format!("==> {ts}: X")
    ));
    assert!(text.lines().count() >= 8, "{text}");
    for (line, want) in text.lines().zip([
        format!(r#"==> {ts}: Monitoring evaluation "5f4c2a1e""#),
        format!(r#"    {ts}: Evaluation triggered by job "web""#),
        format!(r#"    {ts}: Allocation "c2e0d1f4" created: node "8d1b5e7a", group "frontend""#),
        format!(r#"    {ts}: Evaluation status changed: "pending" -> "complete""#),
        format!(r#"==> {ts}: Evaluation "5f4c2a1e" finished with status "complete" but failed to place all allocations:"#),
        format!(r#"    {ts}: Task Group "frontend" \(failed to place 2 allocations\):"#),
        r"      \* Resources exhausted on 1 nodes".to_string(),
        r#"      \* Dimension "memory" exhausted on 1 nodes"#.to_string(),
    ]) {
        assert!(matches_pattern(line, &want), "{line:?} !~ {want:?}\n{text}");
    }

    // All placed: exit 0.
    agent.route(
        &format!("GET /v1/evaluation/{EVAL_ID}"),
        200,
        eval_json(EVAL_ID, "complete", "job-register", serde_json::Value::Null),
    );
    let (out, text) = run(drover_at(&agent)
        .args(["job", "run"])
        .arg(web_job_file(dir.path())));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(r#": Evaluation "5f4c2a1e" finished with status "complete""#),
        "{text}"
    );
}

/// A tiny matcher for the monitor lines: `pattern` is a regex limited to literal text,
/// `\d`, `\*`, `\(`, `\)`, `{n}` after `\d`, and one `(Z|[+-]\d\d:\d\d)` group.
fn matches_pattern(line: &str, pattern: &str) -> bool {
    let zone = r"(Z|[+-]\d\d:\d\d)";
    let Some((head, tail)) = pattern.split_once(zone) else {
        return literal_match(line, pattern).is_some_and(str::is_empty);
    };
    let Some(rest) = literal_match(line, head) else {
        return false;
    };
    let rest = match rest.strip_prefix('Z') {
        Some(r) => Some(r),
        None => literal_match(rest, r"+\d\d:\d\d").or_else(|| literal_match(rest, r"-\d\d:\d\d")),
    };
    rest.and_then(|r| literal_match(r, tail))
        .is_some_and(str::is_empty)
}

/// Match `pat` (literals, `\d`, `\d{n}`, escaped punctuation) at the start of `s`;
/// the unmatched rest of `s`.
fn literal_match<'a>(s: &'a str, pat: &str) -> Option<&'a str> {
    let mut s = s;
    let mut p = pat.chars().peekable();
    while let Some(c) = p.next() {
        if c == '\\' {
            let e = p.next()?;
            let mut n = 1;
            if e == 'd' && p.peek() == Some(&'{') {
                p.next();
                let digits: String = p.by_ref().take_while(|c| *c != '}').collect();
                n = digits.parse().ok()?;
            }
            for _ in 0..n {
                let ch = s.chars().next()?;
                let ok = if e == 'd' {
                    ch.is_ascii_digit()
                } else {
                    ch == e
                };
                if !ok {
                    return None;
                }
                s = &s[ch.len_utf8()..];
            }
        } else {
            s = s.strip_prefix(c)?;
        }
    }
    Some(s)
}

#[test]
fn job_status_renders_the_stubbed_job() {
    let agent = stub_with_web_job();
    let (out, text) = run(drover_at(&agent).args(["job", "status", "we"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        agent.last("GET /v1/jobs").line.contains("prefix=we"),
        "{:?}",
        agent.requests()
    );
    for want in [
        "ID            = web",
        "Status        = running",
        "Node Pool     = default",
        "Task Group  Queued  Starting  Running  Failed  Complete  Lost  Unknown",
        "frontend    0       0         2        0       0         0     0",
        "ID        Node ID   Task Group  Version  Desired  Status   Created",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("c2e0d1f4  8d1b5e7a  frontend    0        run      running")),
        "{text}"
    );

    let (out, text) = run(drover_at(&agent).args(["job", "status"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with(
            "ID   Type     Priority  Status   Submit Date\nweb  service  50        running  "
        ),
        "{text}"
    );

    // Not found, the way Nomad says it.
    agent.route("GET /v1/jobs", 200, "[]");
    let (out, text) = run(drover_at(&agent).args(["job", "status", "nope"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(r#"No job(s) with prefix or ID "nope" found"#),
        "{text}"
    );
    agent.route("GET /v1/jobs", 200, r#"[{"ID":"web"}]"#);
    agent.route("GET /v1/job/web", 404, "job not found");
    let (out, text) = run(drover_at(&agent).args(["job", "status", "web"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Error querying job: Unexpected response code: 404 (job not found)"),
        "{text}"
    );
}

#[test]
fn connection_refused_names_the_address_and_exits_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let addr = format!("http://127.0.0.1:{port}");
    for args in [
        vec!["job", "status", "-address", addr.as_str()],
        vec!["node", "status", "-address", addr.as_str()],
        vec!["server", "members", "-address", addr.as_str()],
    ] {
        let (out, text) = run(drover().args(&args).env_remove("DROVER_ADDR"));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        assert!(
            text.contains(&format!("cannot reach a Drover agent at {addr}")),
            "{text}"
        );
        assert!(text.contains("drover agent -dev"), "{text}");
    }
    // NOMAD_ADDR is honoured when neither -address nor DROVER_ADDR is given.
    let (out, text) = run(drover()
        .args(["status"])
        .env_remove("DROVER_ADDR")
        .env("NOMAD_ADDR", &addr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&addr), "{text}");
}

/// `drover` pointed at a real agent through NOMAD_ADDR, the rest of the host's
/// NOMAD_*/DROVER_* environment cleared.
fn drover_nomad_addr(agent: &real_agent::RealAgent) -> Command {
    let mut cmd = drover();
    for var in [
        "DROVER_ADDR",
        "NOMAD_TOKEN",
        "NOMAD_NAMESPACE",
        "NOMAD_REGION",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NOMAD_ADDR", agent.address());
    cmd
}

/// Runs `args` until its output satisfies `ok` (the server works asynchronously),
/// within 20 s; returns the last output.
fn until_output(mut make: impl FnMut() -> Command, ok: impl Fn(&str) -> bool) -> String {
    let started = std::time::Instant::now();
    loop {
        let (out, text) = run(&mut make());
        if out.status.success() && ok(&text) {
            return text;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "never got the expected output; last:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn real_agent_end_to_end() {
    let mut agent = real_agent::RealAgent::start(Path::new(env!("CARGO_BIN_EXE_drover")));
    let leader = agent.wait_for_leader();
    assert_eq!(leader, format!("127.0.0.1:{}", agent.serf));
    assert_eq!(
        agent.banner("Bind Addrs"),
        format!(
            "HTTP: [127.0.0.1:{}]; RPC: 127.0.0.1:{}; Serf: 127.0.0.1:{}",
            agent.http, agent.rpc, agent.serf
        )
    );
    assert_eq!(agent.banner("Client"), "true");
    let data_dir = agent.banner("Data Dir");
    let data_dir = PathBuf::from(data_dir.trim_end_matches(" (temporary)"));
    assert!(data_dir.join("server").is_dir(), "{}", data_dir.display());

    // The README's example job runs on the dev agent's own client: `job run` monitors
    // it until the allocation is placed and exits 0.
    let hello = repo_file("examples/jobs/hello.hcl");
    let (out, text) = run(drover_nomad_addr(&agent).args(["job", "run"]).arg(&hello));
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", agent.output());
    assert!(text.contains("Allocation \""), "{text}");
    let status = until_output(
        || {
            let mut c = drover_nomad_addr(&agent);
            c.args(["job", "status", "hello"]);
            c
        },
        |t| t.contains("Status        = dead"),
    );
    for want in [
        "ID            = hello",
        "Type          = batch",
        "Task Group  Queued  Starting  Running  Failed  Complete  Lost  Unknown",
        "hello       0       0         0        0       1         0     0",
    ] {
        assert!(status.contains(want), "missing {want:?}:\n{status}");
    }
    // Its output, through the client's log API.
    let (code, body) = agent.get("/v1/job/hello/allocations").expect("allocations");
    assert_eq!(code, 200, "{body}");
    let allocs: serde_json::Value = serde_json::from_str(&body).expect("json");
    let alloc_id = allocs[0]["ID"].as_str().expect("an allocation").to_owned();
    assert_eq!(allocs[0]["ClientStatus"], "complete", "{body}");
    let (code, logs) = agent
        .get(&format!(
            "/v1/client/fs/logs/{alloc_id}?task=hello&type=stdout&plain=true"
        ))
        .expect("logs");
    assert_eq!(code, 200, "{logs}");
    assert_eq!(logs, "hello from drover\n");
    let (code, body) = agent
        .get(&format!("/v1/allocation/{alloc_id}"))
        .expect("alloc");
    assert_eq!(code, 200, "{body}");
    let alloc: serde_json::Value = serde_json::from_str(&body).expect("json");
    let events: Vec<&str> = alloc["TaskStates"]["hello"]["Events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["Type"].as_str())
        .collect();
    assert_eq!(
        events,
        ["Received", "Task Setup", "Started", "Terminated"],
        "{body}"
    );
    assert_eq!(alloc["TaskStates"]["hello"]["State"], "dead");
    assert_eq!(alloc["TaskStates"]["hello"]["Failed"], false);
    // The same through the CLI, with an ID prefix as users type it.
    let (out, text) = run(drover_nomad_addr(&agent).args(["alloc", "logs", &alloc_id[..8]]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from drover\n");
    let (out, text) = run(drover_nomad_addr(&agent).args(["alloc", "status", &alloc_id[..8]]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Client Status       = complete"), "{text}");
    assert!(text.contains("Task \"hello\" is \"dead\""), "{text}");
    let (out, text) = run(drover_nomad_addr(&agent).args(["node", "status", "-self"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    let node_id = alloc["NodeID"].as_str().unwrap_or("?");
    assert!(
        text.contains(&format!("ID            = {}", &node_id[..8])),
        "{text}"
    );

    // -check-index against the registered version: the server's refusal, Nomad's words.
    let (out, text) = run(drover_nomad_addr(&agent)
        .args(["job", "run", "-detach", "-check-index", "5"])
        .arg(&hello));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "Enforcing job modify index 5: job exists with conflicting job modify index: "
        ) && text.contains("\nJob not updated"),
        "{text}"
    );

    // Stop and purge, monitoring the deregister eval to completion.
    let (out, text) = run(drover_nomad_addr(&agent).args(["job", "stop", "-purge", "hello"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(r#"Evaluation triggered by job "hello""#),
        "{text}"
    );
    assert!(
        text.contains(r#"finished with status "complete""#),
        "{text}"
    );
    let (out, text) = run(drover_nomad_addr(&agent).args(["status"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.trim(), "No running jobs");
    let (out, text) = run(drover_nomad_addr(&agent).args(["job", "status", "hello"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(r#"No job(s) with prefix or ID "hello" found"#),
        "{text}"
    );

    // The cluster as the server sees it.
    let (out, text) = run(drover_nomad_addr(&agent).args(["server", "members"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    let mut rows = text.lines();
    assert_eq!(
        rows.next()
            .map(|h| h.split_whitespace().collect::<Vec<_>>().join(" ")),
        Some("Name Address Port Status Leader Raft Version Build Datacenter Region".into()),
        "{text}"
    );
    let row: Vec<&str> = rows.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        row.get(1..).map(<[&str]>::to_vec),
        Some(vec![
            "127.0.0.1",
            &agent.serf.to_string(),
            "alive",
            "true",
            "3",
            env!("CARGO_PKG_VERSION"),
            "dc1",
            "global"
        ]),
        "{text}"
    );
    let (out, text) = run(drover_nomad_addr(&agent).args(["operator", "raft", "list-peers"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.lines().nth(1).is_some_and(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(2..) == Some(&[leader.as_str(), "leader", "true", "3"][..])
        }),
        "{text}"
    );

    // SIGTERM: a prompt, clean exit that removes the dev data dir.
    let log_file = agent.log_file();
    let (status, took, output) = agent.terminate();
    assert_eq!(status.code(), Some(0), "{output}");
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
    assert!(
        output.contains("==> Caught signal: terminated\n==> Gracefully shutting down agent..."),
        "{output}"
    );
    assert!(!data_dir.exists(), "{} left behind", data_dir.display());
    let log = std::fs::read_to_string(&log_file).expect("the agent's log_file");
    assert!(log.contains("agent started"), "{log}");
    assert!(log.contains("agent stopped"), "{log}");
}

#[test]
fn agent_rejects_bad_configuration_with_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.hcl");
    std::fs::write(
        &bad,
        "server {\n  enabled = true\n  bootstrap_expekt = 1\n}\n",
    )
    .expect("write");
    let (out, text) = run(drover().args(["agent", "-dev", "-config"]).arg(&bad));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "{}:3:3: server.bootstrap_expekt: unknown key \"bootstrap_expekt\"",
            bad.display()
        )),
        "{text}"
    );
    // Flags are validated like files.
    let (out, text) = run(drover().args(["agent", "-dev", "-data-dir", "relative/dir"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("data_dir"), "{text}");
    // Neither server nor client.
    let (out, text) = run(drover().args(["agent", "-data-dir", "/tmp"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("must specify either server, client or dev mode for the agent"),
        "{text}"
    );
}
