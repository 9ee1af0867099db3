//! Golden tests: Nomad-API job JSON (tests/golden/NAME.json) → `Job` → canonicalize →
//! validate → JSON, compared with tests/golden/NAME.golden.json. The canonical output
//! must also read back to an equal job (round trip). `DROVER_GOLDEN_REWRITE=1`
//! rewrites the golden files.

use drover_types::{Job, JobRegisterRequest};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Accepts both `{"Job": {...}}` and a bare job.
fn parse_job(text: &str) -> Result<Job, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if v.get("Job").is_some() {
        let req: JobRegisterRequest = serde_json::from_value(v).map_err(|e| e.to_string())?;
        req.job.ok_or_else(|| "Job is null".to_owned())
    } else {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
}

#[test]
fn golden_jobs() {
    let rewrite = std::env::var_os("DROVER_GOLDEN_REWRITE").is_some_and(|v| v == "1");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("read tests/golden")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".json") && !name.ends_with(".golden.json")
        })
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 5, "golden inputs missing: {inputs:?}");

    let mut failures = Vec::new();
    for input in &inputs {
        let name = input
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_owned();
        let text = std::fs::read_to_string(input).expect("read input");
        let mut job = parse_job(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        job.canonicalize();
        if let Err(errs) = job.validate() {
            let list: Vec<String> = errs.iter().map(ToString::to_string).collect();
            failures.push(format!("{name}: invalid: {list:#?}"));
            continue;
        }
        let got = serde_json::to_string_pretty(&job).expect("serialize") + "\n";

        // Round trip: canonical JSON → Job → canonicalize → same JSON.
        let mut back: Job = serde_json::from_str(&got).expect("canonical JSON parses");
        assert_eq!(back, job, "{name}: canonical JSON reads back equal");
        back.canonicalize();
        assert_eq!(back, job, "{name}: canonicalize is idempotent");

        let golden = golden_dir().join(format!("{name}.golden.json"));
        if rewrite {
            std::fs::write(&golden, &got).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(want) if want == got => {}
            Ok(_) => failures.push(format!(
                "{name}: differs from {} (DROVER_GOLDEN_REWRITE=1 to update)",
                golden.display()
            )),
            Err(e) => failures.push(format!(
                "{name}: {}: {e} (DROVER_GOLDEN_REWRITE=1 to create)",
                golden.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn seed_bvc_values() {
    let text =
        std::fs::read_to_string(golden_dir().join("job-bvc.golden.json")).expect("golden present");
    let job: Job = serde_json::from_str(&text).expect("parse");
    let g = job.group("bvc25").expect("group");
    let port = g.networks[0].port("mysql").expect("mysql port");
    assert_eq!((port.value, port.to), (3307, 3306));
    assert_eq!(g.volumes["db"].source, "mysql");
    assert_eq!(g.volumes["hd"].source, "storage");
    let t = g.task("mysql").expect("task");
    assert_eq!(t.resources.as_ref().and_then(|r| r.cpu), Some(1500));
    assert_eq!(t.artifacts[0].relative_dest.as_deref(), Some("local/"));
    assert_eq!(t.kill_timeout, Some(drover_types::Duration::from_secs(5)));
    assert_eq!(g.restart_policy.as_ref().and_then(|r| r.attempts), Some(2));
}

#[test]
fn golden_has_no_nulls_where_canonicalization_fills() {
    let text =
        std::fs::read_to_string(golden_dir().join("minimal.golden.json")).expect("golden present");
    let v: Value = serde_json::from_str(&text).expect("parse");
    for ptr in [
        "/Region",
        "/Namespace",
        "/Priority",
        "/NodePool",
        "/Update",
        "/TaskGroups/0/RestartPolicy",
        "/TaskGroups/0/ReschedulePolicy",
        "/TaskGroups/0/Migrate",
        "/TaskGroups/0/EphemeralDisk",
        "/TaskGroups/0/Tasks/0/LogConfig",
        "/TaskGroups/0/Tasks/0/KillTimeout",
    ] {
        assert!(
            v.pointer(ptr).is_some_and(|x| !x.is_null()),
            "{ptr} is null"
        );
    }
}
