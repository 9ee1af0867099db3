//! `drover alloc status|logs|restart|signal|stop` and `node status -self` against the
//! stub agent: the requests each command sends, and its output. `alloc status` is
//! compared with `golden/alloc/status_verbose.txt`; `DROVER_GOLDEN_REWRITE=1`
//! rewrites it (review the diff).

use super::stub_agent::StubAgent;
use super::{ALLOC_ID, EVAL_ID, NODE_ID, alloc_stub_json, drover_at, repo_file, run};
use serde_json::{Value, json};

fn golden(rel: &str) -> std::path::PathBuf {
    repo_file("core/cli/tests/golden/alloc").join(rel)
}

fn alloc_json() -> Value {
    let text = std::fs::read_to_string(golden("status.json")).expect("status.json");
    serde_json::from_str(&text).expect("status.json is JSON")
}

/// A stub that knows allocation `ALLOC_ID` (job "web", group "frontend", task "server").
fn stub_with_alloc(alloc: &Value) -> StubAgent {
    let agent = StubAgent::start();
    agent.route(
        "GET /v1/allocations",
        200,
        json!([alloc_stub_json()]).to_string(),
    );
    agent.route(
        &format!("GET /v1/allocation/{ALLOC_ID}"),
        200,
        alloc.to_string(),
    );
    agent
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn alloc_status_matches_golden_and_resolves_prefixes() {
    let agent = stub_with_alloc(&alloc_json());
    let (out, text) = run(drover_at(&agent)
        .args(["alloc", "status", "-verbose", "c2e0"])
        .env("TZ", "UTC"));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        agent
            .last("GET /v1/allocations")
            .line
            .contains("prefix=c2e0"),
        "{:?}",
        agent.requests()
    );
    let got = stdout(&out);
    let want_path = golden("status_verbose.txt");
    if std::env::var_os("DROVER_GOLDEN_REWRITE").is_some() {
        std::fs::write(&want_path, &got).expect("rewrite golden");
    }
    let want = std::fs::read_to_string(&want_path).expect("golden text");
    assert_eq!(got, want, "DROVER_GOLDEN_REWRITE=1 to accept");

    // Without -verbose: short IDs and ages.
    let (out, text) = run(drover_at(&agent).args(["alloc", "status", "c2e0"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    for want in [
        format!("ID                  = {ALLOC_ID}\n"),
        "Eval ID             = 5f4c2a1e\n".into(),
        "Node ID             = 8d1b5e7a\n".into(),
        "Task \"server\" is \"running\"\n".into(),
    ] {
        assert!(text.contains(&want), "missing {want:?}:\n{text}");
    }
    let created = text
        .lines()
        .find(|l| l.starts_with("Created "))
        .unwrap_or_default();
    assert!(created.ends_with(" ago"), "{text}");

    // -json prints the allocation.
    let (out, text) = run(drover_at(&agent).args(["alloc", "status", "-json", ALLOC_ID]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["TaskStates"]["server"]["Restarts"], 1);

    // Too short, none, several.
    let (out, text) = run(drover_at(&agent).args(["alloc", "status", "c"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Identifier must contain at least two characters."),
        "{text}"
    );
    let mut other = alloc_stub_json();
    other["ID"] = json!("c2e0ffff-0000-4000-8000-000000000000");
    agent.route(
        "GET /v1/allocations",
        200,
        json!([alloc_stub_json(), other]).to_string(),
    );
    let (out, text) = run(drover_at(&agent).args(["alloc", "status", "c2e0"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Prefix matched multiple allocations\n\nID "),
        "{text}"
    );
    assert!(
        text.contains("c2e0d1f4 ") && text.contains("c2e0ffff "),
        "{text}"
    );
    agent.route("GET /v1/allocations", 200, "[]");
    let (out, text) = run(drover_at(&agent).args(["alloc", "status", "dead"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(r#"No allocation(s) with prefix or id "dead" found"#),
        "{text}"
    );
}

const LOG: &str = "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\nl11\nl12\n";

#[test]
fn alloc_logs_plain_tail_and_task_choice() {
    let agent = stub_with_alloc(&alloc_json());
    let logs = format!("GET /v1/client/fs/logs/{ALLOC_ID}");
    agent.route(&logs, 200, LOG);

    let (out, text) = run(drover_at(&agent).args(["alloc", "logs", "c2e0"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(stdout(&out), LOG);
    let line = agent.last(&logs).line;
    for q in [
        "task=server",
        "type=stdout",
        "plain=true",
        "origin=start",
        "offset=0",
    ] {
        assert!(line.contains(q), "{q} missing in {line}");
    }
    assert!(!line.contains("follow"), "{line}");

    // -tail -n 3: read ~3 lines from the end, print exactly the last 3.
    let (out, text) = run(drover_at(&agent).args(["alloc", "logs", "-tail", "-n", "3", "c2e0"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(stdout(&out), "l10\nl11\nl12\n");
    let line = agent.last(&logs).line;
    assert!(
        line.contains("origin=end") && line.contains("offset=360"),
        "{line}"
    );
    // -tail alone: 10 lines.
    let (out, _) = run(drover_at(&agent).args(["alloc", "logs", "-tail", "c2e0"]));
    assert_eq!(
        stdout(&out),
        LOG.split_inclusive('\n').skip(2).collect::<String>()
    );

    // -stderr -c: bytes from the end, of the named task, shown as sent.
    let (out, text) =
        run(drover_at(&agent).args(["alloc", "logs", "-stderr", "-c", "7", "c2e0", "server"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(stdout(&out), LOG);
    let line = agent.last(&logs).line;
    for q in ["type=stderr", "origin=end", "offset=7"] {
        assert!(line.contains(q), "{q} missing in {line}");
    }

    // -f asks to follow; the stream ends when the agent closes it.
    let (out, text) = run(drover_at(&agent).args(["alloc", "logs", "-f", "-n", "2", "c2e0"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(stdout(&out), "l11\nl12\n");
    assert!(agent.last(&logs).line.contains("follow=true"));

    // A task not in the group, and the agent's refusal, in words.
    let (out, text) = run(drover_at(&agent).args(["alloc", "logs", "c2e0", "db"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Could not find task named \"db\""), "{text}");
    agent.route(
        &logs,
        404,
        "log entry for task \"server\" and log type \"stdout\" not found",
    );
    let (out, text) = run(drover_at(&agent).args(["alloc", "logs", "c2e0"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Error reading stdout of task \"server\": Unexpected response code: 404 (log entry for task"),
        "{text}"
    );

    // Two tasks: the task must be named.
    let mut two = alloc_json();
    two["Job"]["TaskGroups"][0]["Tasks"] = json!([{"Name": "server"}, {"Name": "sidecar"}]);
    agent.route(
        &format!("GET /v1/allocation/{ALLOC_ID}"),
        200,
        two.to_string(),
    );
    let (out, text) = run(drover_at(&agent).args(["alloc", "logs", "c2e0"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Allocation \"c2e0d1f4\" is running the following tasks:\n  * server\n  * sidecar\n\nPlease specify the task."),
        "{text}"
    );
}

#[test]
fn alloc_restart_signal_stop_send_nomads_requests() {
    let agent = stub_with_alloc(&alloc_json());
    let restart = format!("POST /v1/client/allocation/{ALLOC_ID}/restart");
    let signal = format!("POST /v1/client/allocation/{ALLOC_ID}/signal");
    agent.route(&restart, 200, "{}");
    agent.route(&signal, 200, "{}");
    agent.route(
        &format!("POST /v1/allocation/{ALLOC_ID}/stop"),
        200,
        format!(r#"{{"EvalID":"{EVAL_ID}","Index":20}}"#),
    );

    let (out, text) = run(drover_at(&agent).args(["alloc", "restart", "c2e0", "server"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    let body: Value = serde_json::from_str(&agent.last(&restart).body).expect("JSON body");
    assert_eq!(body, json!({"TaskName": "server", "AllTasks": false}));
    let (out, text) = run(drover_at(&agent).args(["alloc", "restart", "-all-tasks", "c2e0"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    let body: Value = serde_json::from_str(&agent.last(&restart).body).expect("JSON body");
    assert_eq!(body, json!({"TaskName": "", "AllTasks": true}));
    let (out, text) =
        run(drover_at(&agent).args(["alloc", "restart", "-all-tasks", "c2e0", "server"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("-all-tasks option cannot be used when a task name is given"),
        "{text}"
    );

    let (out, text) =
        run(drover_at(&agent).args(["alloc", "signal", "-s", "SIGHUP", "c2e0", "server"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    let body: Value = serde_json::from_str(&agent.last(&signal).body).expect("JSON body");
    assert_eq!(body, json!({"Task": "server", "Signal": "SIGHUP"}));
    agent.route(&signal, 400, "no client on this agent");
    let (out, text) = run(drover_at(&agent).args(["alloc", "signal", "c2e0"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "Error signalling allocation: Unexpected response code: 400 (no client on this agent)"
        ),
        "{text}"
    );

    let (out, text) = run(drover_at(&agent).args(["alloc", "stop", "-detach", "c2e0"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(stdout(&out), format!("{EVAL_ID}\n"));
}

#[test]
fn node_status_self_uses_the_agents_client_node() {
    let agent = StubAgent::start();
    let case: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_file("core/cli/tests/golden/node_status.json"))
            .expect("node_status.json"),
    )
    .expect("JSON");
    agent.route(
        "GET /v1/agent/self",
        200,
        json!({"config": {}, "stats": {"client": {"node_id": NODE_ID}}}).to_string(),
    );
    agent.route(
        &format!("GET /v1/node/{NODE_ID}"),
        200,
        case["input"]["Node"].to_string(),
    );
    agent.route(&format!("GET /v1/node/{NODE_ID}/allocations"), 200, "[]");
    let (out, text) = run(drover_at(&agent).args(["node", "status", "-self"]));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with("ID            = 8d1b5e7a\nName          = client-1\n"),
        "{text}"
    );

    // A server-only agent has no client stats.
    agent.route(
        "GET /v1/agent/self",
        200,
        r#"{"config": {}, "stats": {"nomad": {}}}"#,
    );
    let (out, text) = run(drover_at(&agent).args(["node", "status", "-self"]));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("the agent runs no client"), "{text}");
}
