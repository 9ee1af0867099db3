//! The conformance suite checked against the scriptable reference driver:
//! the mock passes every case, and each deliberate fault (plugin config
//! `faults`) makes exactly the case that guards against it fail.

use drover_plugin_sdk::testing::{Outcome, Report, Suite};
use serde_json::json;

const MOCK: &str = env!("CARGO_BIN_EXE_drover-driver-mock");

async fn run(config: serde_json::Value, only: &[&str]) -> Report {
    let report = Suite::new(MOCK)
        .config(config)
        .only(only.iter().map(|s| s.to_string()).collect())
        .run()
        .await;
    print!("{report}");
    report
}

fn failed(report: &Report, case: &str) -> bool {
    matches!(report.outcome(case), Some(Outcome::Failed(_)))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mock_passes_every_case() {
    let report = run(json!({}), &[]).await;
    assert_eq!(report.failed(), 0, "{report}");
    // Its tasks have no shell, which the interactive exec cases need; the
    // rest of exec streaming (a reply, an unknown task) it passes.
    let skipped: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Skipped(_)))
        .map(|c| c.name)
        .collect();
    assert!(
        skipped.iter().all(|n| n.starts_with("exec_stream.")),
        "{report}"
    );
    assert_eq!(
        report.outcome("exec_stream.reply"),
        Some(&Outcome::Passed),
        "{report}"
    );
    assert_eq!(
        report.outcome("exec_stream.unknown_task"),
        Some(&Outcome::Passed),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_exit_code_is_caught() {
    let report = run(json!({ "faults": ["wrong_exit_code"] }), &["start_wait"]).await;
    assert!(failed(&report, "start_wait.exit_zero"), "{report}");
    assert!(failed(&report, "start_wait.exit_nonzero"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_without_escalation_is_caught() {
    let report = run(json!({ "faults": ["no_kill_escalation"] }), &["stop."]).await;
    assert_eq!(
        report.outcome("stop.graceful"),
        Some(&Outcome::Passed),
        "{report}"
    );
    assert!(failed(&report, "stop.escalation"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_that_forgets_the_task_is_caught() {
    let report = run(json!({ "faults": ["forget_on_recover"] }), &["recover"]).await;
    assert!(failed(&report, "recover.after_sigkill"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unhealthy_fingerprint_is_caught() {
    let report = run(
        json!({ "fingerprint_health": "unhealthy" }),
        &["fingerprint"],
    )
    .await;
    assert!(failed(&report, "fingerprint.health"), "{report}");
    assert_eq!(report.failed(), 1, "{report}");
}
