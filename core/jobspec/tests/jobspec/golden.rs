//! Each `fixtures/<name>.hcl` maps to `fixtures/<name>.golden.json`, the canonical API
//! JSON. `DROVER_GOLDEN_REWRITE=1 cargo test -p drover-jobspec` rewrites the goldens.

use drover_jobspec::VarInputs;

use crate::{fixture, parse_ok};

fn check(name: &str) {
    let job = parse_ok(&fixture(&format!("{name}.hcl")), &VarInputs::default());
    let got =
        serde_json::to_string_pretty(&serde_json::json!({ "Job": job })).expect("json") + "\n";
    let path = fixture(&format!("{name}.golden.json"));
    if std::env::var_os("DROVER_GOLDEN_REWRITE").is_some() {
        std::fs::write(&path, &got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with DROVER_GOLDEN_REWRITE=1)", path.display()));
    if got != want {
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{name}: output differs from {} at line {}:\n got: {}\nwant: {}\n(DROVER_GOLDEN_REWRITE=1 to accept)",
            path.display(),
            line + 1,
            got.lines().nth(line).unwrap_or(""),
            want.lines().nth(line).unwrap_or("")
        );
    }
}

#[test]
fn golden_full() {
    check("full");
}

#[test]
fn golden_batch() {
    check("batch");
}

#[test]
fn golden_dispatch() {
    check("dispatch");
}

#[test]
fn golden_hcl2() {
    check("hcl2");
}

/// Spot checks of what the goldens hold, so a bad rewrite cannot pass silently.
#[test]
fn hcl2_features() {
    let job = parse_ok(&fixture("hcl2.hcl"), &VarInputs::default());
    assert_eq!(job.region.as_deref(), Some("${meta.region_hint}"));
    let m = &job.meta;
    assert_eq!(m["full_name"], "APP-app:latest");
    assert_eq!(m["tags"], "port-admin,port-http");
    assert_eq!(m["fmt"], "x:007");
    assert_eq!(m["math"], "11");
    assert_eq!(m["encoded"], "aGk=");
    assert_eq!(m["looked"], "fallback");
    assert_eq!(m["replaced"], "a_b_c");
    assert_eq!(m["cond"], "one");
    assert_eq!(m["mixed"], "app:latest@${node.unique.name}");
    let g = job.group("app").expect("group");
    let mut ports: Vec<(String, i64)> = g.networks[0]
        .reserved_ports
        .iter()
        .map(|p| (p.label.clone(), p.value))
        .collect();
    ports.sort();
    assert_eq!(
        ports,
        [("admin".to_string(), 8081), ("http".to_string(), 8080)]
    );
    let t = g.task("app").expect("task");
    assert_eq!(
        t.config["args"],
        serde_json::json!([
            "--node",
            "${attr.unique.hostname}",
            "--home",
            "${env[\"HOME\"]}"
        ])
    );
    assert_eq!(t.env["ALLOC_DIR"], "${NOMAD_ALLOC_DIR}/data");
    assert_eq!(t.env["RACK"], "${meta.rack}");
    assert_eq!(
        t.templates[0].embedded_tmpl.as_deref(),
        Some("#!/bin/sh\necho \"APP-app:latest\"\n  echo {{ env \"NOMAD_ALLOC_ID\" }}\n")
    );
    assert_eq!(
        t.templates[1].embedded_tmpl.as_deref(),
        Some("keep ${NOMAD_TASK_NAME} and ${literal}\n")
    );
}

#[test]
fn task_directly_under_job_becomes_a_group() {
    let job = parse_ok(&fixture("batch.hcl"), &VarInputs::default());
    let g = job.group("backup").expect("group named after the task");
    assert_eq!(g.tasks[0].name, "backup");
    let p = job.periodic.as_ref().expect("periodic");
    assert_eq!(p.spec.as_deref(), Some("0 3 * * *"));
    assert_eq!(p.spec_type.as_deref(), Some("cron"));
    // Batch defaults: restart 3 attempts in 24h.
    let r = g.restart_policy.as_ref().expect("restart");
    assert_eq!(r.attempts, Some(3));
}
