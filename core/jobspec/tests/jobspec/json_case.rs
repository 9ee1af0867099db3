//! Job JSON field names match ignoring case, as Nomad's API decodes them: lowercase and
//! mixed-case jobs equal the PascalCase one, map keys stay as written, unknown fields are
//! still ignored, and errors point at the keys as written.

use drover_jobspec::VarInputs;
use serde_json::{Value, json};

use crate::{fixture, parse_ok, seed};

/// Keys whose values are user content (kept verbatim), not structs.
const VERBATIM: &[&str] = &[
    "Meta",
    "Env",
    "Config",
    "GetterOptions",
    "GetterHeaders",
    "Connect",
];

/// Keys whose values are maps of user names to structs.
const MAPS_OF_STRUCTS: &[&str] = &["Volumes"];

/// Rename every struct field key with `f`, leaving user keys and content alone.
fn rename_fields(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = match v {
                        _ if VERBATIM.contains(&k.as_str()) => v.clone(),
                        Value::Object(m) if MAPS_OF_STRUCTS.contains(&k.as_str()) => Value::Object(
                            m.iter()
                                .map(|(mk, mv)| (mk.clone(), rename_fields(mv, f)))
                                .collect(),
                        ),
                        _ => rename_fields(v, f),
                    };
                    // `Connect` stays in `Service::extra` verbatim, its key too.
                    let k = if k == "Connect" { k.clone() } else { f(k) };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| rename_fields(x, f)).collect()),
        other => other.clone(),
    }
}

/// `TaskGroups` → `tASKgROUPS`-like alternation, so neither all-lower nor all-upper.
fn mixed(k: &str) -> String {
    k.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

#[test]
fn lowercase_and_mixed_case_jobs_equal_the_pascal_case_one() {
    for path in [
        seed("job-bvc.hcl"),
        seed("job-tetris.hcl"),
        fixture("full.hcl"),
        fixture("batch.hcl"),
        fixture("dispatch.hcl"),
    ] {
        let job = parse_ok(&path, &VarInputs::default());
        let pascal = json!({ "Job": job });
        for (name, f) in [
            (
                "lower",
                &(|k: &str| k.to_lowercase()) as &dyn Fn(&str) -> String,
            ),
            ("upper", &|k: &str| k.to_uppercase()),
            ("mixed", &mixed),
        ] {
            let renamed = rename_fields(&pascal, f);
            assert_ne!(renamed, pascal);
            let text = serde_json::to_string_pretty(&renamed).expect("json");
            let back = drover_jobspec::parse_json("job.json", &text)
                .unwrap_or_else(|d| panic!("{} ({name}): {d}", path.display()));
            assert_eq!(back, job, "{} ({name})", path.display());
        }
    }
}

#[test]
fn map_keys_stay_as_written() {
    let text = r#"{"job": {
  "id": "web", "datacenters": ["dc1"],
  "meta": {"Owner": "ops", "owner": "dev"},
  "taskgroups": [{
    "name": "g",
    "tasks": [{
      "name": "t", "driver": "raw_exec",
      "config": {"command": "/bin/true", "Args": ["x"]},
      "env": {"PATH": "/bin", "Path": "other"}
    }]
  }]
}}"#;
    let job = drover_jobspec::parse_json("job.json", text).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(job.id.as_deref(), Some("web"));
    assert_eq!(
        job.meta.keys().map(String::as_str).collect::<Vec<_>>(),
        ["Owner", "owner"]
    );
    let task = &job.task_groups[0].tasks[0];
    assert_eq!(task.env["PATH"], "/bin");
    assert_eq!(task.env["Path"], "other");
    assert!(task.config.contains_key("command") && task.config.contains_key("Args"));
}

#[test]
fn unknown_fields_are_still_ignored() {
    let text = r#"{"Job": {"ID": "a", "Datacenters": ["dc1"], "NoSuchField": 1, "nosuchfield2": {"x": 1},
      "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec", "Bogus": true}]}]}}"#;
    let job = drover_jobspec::parse_json("job.json", text).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(job.task_groups[0].tasks[0].name, "t");
}

#[test]
fn decode_errors_point_at_the_keys_as_written() {
    let text = "{\"job\": {\n  \"id\": \"a\",\n  \"taskgroups\": [{\"name\": \"g\",\n    \"count\": \"two\"}]\n}}\n";
    let d = drover_jobspec::parse_json("job.json", text).expect_err("invalid count");
    assert_eq!(d.len(), 1, "{d}");
    let e = &d.0[0];
    assert_eq!((e.line, e.column), (4, 14), "{d}");
    assert!(
        e.path.contains("taskgroups") && e.path.contains("count"),
        "{d}"
    );
    assert!(e.message.contains("invalid type: string \"two\""), "{d}");
}

#[test]
fn validation_errors_point_at_the_keys_as_written() {
    let text = "{\"job\": {\n  \"id\": \"a\",\n  \"datacenters\": [\"dc1\"],\n  \"taskgroups\": [{\"name\": \"g\",\n    \"count\": -1,\n    \"tasks\": [{\"name\": \"t\", \"driver\": \"raw_exec\"}]}]\n}}\n";
    let d = drover_jobspec::parse_json("job.json", text).expect_err("negative count");
    let e =
        d.0.iter()
            .find(|e| e.message.to_lowercase().contains("count"))
            .unwrap_or_else(|| panic!("no count error: {d}"));
    assert_eq!(e.line, 5, "{d}");
}
