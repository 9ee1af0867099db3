//! End-to-end tests of the `drover` command, run as a real process against
//! real plugin binaries of this workspace.
//!
//! The plugin binaries are built by `cargo test --workspace` (each driver
//! crate has integration tests, so cargo builds its binary; examples are built
//! for the SDK's tests).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
