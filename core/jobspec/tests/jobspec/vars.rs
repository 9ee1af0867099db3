//! Variable values from all four sources, in Nomad's precedence:
//! default < NOMAD_VAR_ env < -var-file < -var.

use drover_jobspec::VarInputs;
use drover_types::Job;

use crate::{fixture, parse_ok};

fn image_and_count(job: &Job) -> (String, i64) {
    let g = job.group("app").expect("group");
    let image = g.tasks[0].config["image"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (image, g.count.unwrap_or_default())
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn precedence() {
    let file = fixture("hcl2.hcl");
    let mut vars = VarInputs::default();
    assert_eq!(
        image_and_count(&parse_ok(&file, &vars)),
        ("app:latest".into(), 1)
    );

    vars.env = env(&[
        ("NOMAD_VAR_image", "app:env"),
        ("NOMAD_VAR_replicas", "2"),
        ("OTHER", "x"),
    ]);
    assert_eq!(
        image_and_count(&parse_ok(&file, &vars)),
        ("app:env".into(), 2)
    );

    vars.files = vec![fixture("hcl2.vars.hcl")];
    assert_eq!(
        image_and_count(&parse_ok(&file, &vars)),
        ("app:from-file".into(), 3)
    );

    vars.cli = env(&[("image", "app:cli"), ("replicas", "4")]);
    assert_eq!(
        image_and_count(&parse_ok(&file, &vars)),
        ("app:cli".into(), 4)
    );
}

#[test]
fn env_only_variable_and_typed_list() {
    let vars = VarInputs {
        env: env(&[("NOMAD_VAR_from_env", "set-by-env")]),
        cli: env(&[("datacenters", "[\"a\", \"b\"]")]),
        ..VarInputs::default()
    };
    let job = parse_ok(&fixture("hcl2.hcl"), &vars);
    assert_eq!(job.meta["from_env"], "set-by-env");
    assert_eq!(job.datacenters, ["a", "b"]);
}

#[test]
fn json_var_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vars.json");
    std::fs::write(&path, r#"{"image": "app:json"}"#).expect("write");
    let vars = VarInputs {
        files: vec![path],
        ..VarInputs::default()
    };
    assert_eq!(
        image_and_count(&parse_ok(&fixture("hcl2.hcl"), &vars)).0,
        "app:json"
    );
}

#[test]
fn validation_failure_is_located() {
    let vars = VarInputs {
        cli: env(&[("replicas", "20")]),
        ..VarInputs::default()
    };
    let d = drover_jobspec::parse_file(&fixture("hcl2.hcl"), &vars).expect_err("invalid");
    let e = &d.0[0];
    assert_eq!(e.message, "replicas must be between 1 and 9");
    assert_eq!(e.path, "variable \"replicas\" > validation.condition");
    assert_eq!((e.line, e.column), (18, 21));
}

#[test]
fn undeclared_and_bad_values() {
    let vars = VarInputs {
        cli: env(&[("nope", "1"), ("replicas", "many")]),
        ..VarInputs::default()
    };
    let d = drover_jobspec::parse_file(&fixture("hcl2.hcl"), &vars).expect_err("invalid");
    let text = d.to_string();
    assert!(text.contains("Undefined -var variable \"nope\""), "{text}");
    assert!(text.contains("-var replicas: invalid value"), "{text}");
}

#[test]
fn file_function_reads_relative_to_the_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("motd.txt"), "hello\n").expect("write");
    let job = dir.path().join("job.hcl");
    std::fs::write(
        &job,
        "job \"f\" {\n  meta = { motd = chomp(file(\"motd.txt\")) }\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n    }\n  }\n}\n",
    )
    .expect("write");
    assert_eq!(parse_ok(&job, &VarInputs::default()).meta["motd"], "hello");
}

#[test]
fn var_file_given_as_text() {
    let vars = VarInputs {
        texts: vec![("Variables".into(), "image = \"app:text\"\n".into())],
        ..VarInputs::default()
    };
    assert_eq!(
        image_and_count(&parse_ok(&fixture("hcl2.hcl"), &vars)).0,
        "app:text"
    );
}

#[test]
fn file_functions_are_undefined_without_fs() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("motd"), "hello").expect("write");
    let text = "job \"x\" {\n  meta { a = file(\"motd\") }\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n    }\n  }\n}\n";
    let name = dir.path().join("job.hcl").display().to_string();
    let job =
        drover_jobspec::parse_hcl(&name, text, &VarInputs::default()).expect("parses with fs");
    assert_eq!(job.meta["a"], "hello");
    let err = drover_jobspec::parse_hcl_without_fs(&name, text, &VarInputs::default())
        .expect_err("file() is refused without fs");
    assert!(err.to_string().contains("file"), "{err}");
}

/// Parses on one thread share a recycled evaluation context: a variable default
/// must never see the `var` or `local` values of the job parsed before it.
#[test]
fn no_values_leak_between_parses() {
    let first = r#"
variable "v" {
  default = "first"
}
locals {
  a = "from-first"
}
job "one" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "${local.a}-${var.v}"
      }
    }
  }
}
"#;
    let second = r#"
variable "v" {
  default = local.a
}
job "two" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = var.v
      }
    }
  }
}
"#;
    let vars = VarInputs::default();
    let fresh = drover_jobspec::parse_hcl("job.hcl", second, &vars)
        .expect_err("a default naming a local is an error")
        .to_string();
    let job = drover_jobspec::parse_hcl("job.hcl", first, &vars).expect("first job parses");
    assert_eq!(
        job.task_groups[0].tasks[0].config["command"],
        "from-first-first"
    );
    let after = drover_jobspec::parse_hcl("job.hcl", second, &vars)
        .expect_err("still an error after another job was parsed")
        .to_string();
    assert_eq!(after, fresh);
    assert!(!after.contains("from-first"), "{after}");
}
