//! Every error names file, line, column and path, and all errors of a file are reported.

use drover_hcl::Diagnostic;

use crate::parse_err;

fn at(d: &Diagnostic) -> (usize, usize) {
    (d.line, d.column)
}

const TYPES: &str = r#"job "bvc" {
  datacenters = ["x"]
  group "bvc25" {
    task "mysql" {
      driver = "docker"
      resources {
        cpu    = "500"
        memroy = 5
      }
      kill_timeout = "5x"
    }
  }
}
"#;

#[test]
fn all_errors_with_positions() {
    let d = parse_err(TYPES);
    assert_eq!(d.len(), 3, "{d}");
    let cpu = &d.0[0];
    assert_eq!(cpu.file, "job.hcl");
    assert_eq!(at(cpu), (7, 18));
    assert_eq!(
        cpu.path,
        "job \"bvc\" > group \"bvc25\" > task \"mysql\" > resources.cpu"
    );
    assert_eq!(cpu.message, "expected a number, found a string");
    assert_eq!(cpu.source_line.as_deref(), Some("        cpu    = \"500\""));
    assert!(cpu.to_string().starts_with(
        "job.hcl:7:18: job \"bvc\" > group \"bvc25\" > task \"mysql\" > resources.cpu: expected a number, found a string"
    ));
    assert_eq!(at(&d.0[1]), (8, 9));
    assert_eq!(
        d.0[1].message,
        "unknown key \"memroy\"; did you mean \"memory\"?"
    );
    assert_eq!(at(&d.0[2]), (10, 22));
    assert!(
        d.0[2].message.contains("invalid duration \"5x\""),
        "{}",
        d.0[2].message
    );
}

#[test]
fn duplicate_labels_and_blocks() {
    let d = parse_err(
        "job \"a\" {\n  group \"g\" {\n    task \"t\" { driver = \"x\" }\n    task \"t\" { driver = \"y\" }\n    restart { attempts = 1 }\n    restart { attempts = 2 }\n  }\n}\n",
    );
    assert_eq!(d.len(), 2, "{d}");
    assert_eq!(at(&d.0[0]), (4, 5));
    assert_eq!(
        d.0[0].message,
        "duplicate task \"t\": labels must be unique"
    );
    assert_eq!(at(&d.0[1]), (6, 5));
    assert_eq!(d.0[1].message, "duplicate restart block: give it once");
}

#[test]
fn syntax_error_position() {
    let d = parse_err("job \"a\" {\n  datacenters = [\"dc1\"\n}\n");
    assert_eq!(d.len(), 1);
    assert_eq!(d.0[0].line, 3);
    assert!(
        d.0[0].message.starts_with("syntax error:"),
        "{}",
        d.0[0].message
    );
}

#[test]
fn missing_and_duplicate_job() {
    let d = parse_err("variable \"x\" {\n  default = 1\n}\n");
    assert!(d.0[0].message.starts_with("Missing job block"), "{d}");
    let d = parse_err("job \"a\" {}\njob \"b\" {}\n");
    assert_eq!(at(&d.0[0]), (2, 1));
    assert!(d.0[0].message.starts_with("Duplicate job block"), "{d}");
}

#[test]
fn unset_variable_and_undefined_function() {
    let d = parse_err(
        "variable \"image\" {\n  type = string\n}\njob \"a\" {\n  meta = { x = nosuch(1) }\n}\n",
    );
    assert_eq!(d.len(), 2, "{d}");
    assert_eq!(at(&d.0[0]), (1, 1));
    assert!(
        d.0[0].message.starts_with("Unset variable \"image\""),
        "{d}"
    );
    assert_eq!(at(&d.0[1]), (5, 10));
    assert_eq!(d.0[1].message, "undefined function `nosuch`");
}

#[test]
fn validation_rules_map_to_lines() {
    let d = parse_err(
        r#"job "a" {
  datacenters = ["dc1"]
  group "g" {
    count = -1
    task "t" {
      driver = "raw_exec"
      volume_mount {
        volume      = "missing"
        destination = "/x"
      }
    }
  }
}
"#,
    );
    let text = d.to_string();
    let count = d
        .iter()
        .find(|e| e.path.ends_with("count"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(at(count), (4, 13));
    assert_eq!(count.path, "job \"a\" > group \"g\" > count");
    let mount = d
        .iter()
        .find(|e| e.message.contains("missing"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(mount.line, 8, "{text}");
}

#[test]
fn wrong_block_shapes() {
    let d = parse_err(
        "job \"a\" {\n  group \"g\" {\n    network {\n      port {\n        static = 80\n      }\n    }\n    task \"t\" {\n      driver = \"x\"\n      env = [\"A=1\"]\n      resources = { cpu = 1 }\n    }\n  }\n  dynamic \"group\" {\n    for_each = 3\n    content {}\n  }\n}\n",
    );
    let msgs: Vec<String> = d
        .iter()
        .map(|e| format!("{}:{} {}", e.line, e.column, e.message))
        .collect();
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("4:7 a port block needs one label")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("10:13 expected a map of strings, found a list")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("14:3 for_each must be a list or a map")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("\"resources\"")), "{msgs:?}");
}

#[test]
fn json_errors_name_the_path_and_line() {
    let d = drover_jobspec::parse_json(
        "job.json",
        "{\"Job\": {\n  \"ID\": \"a\",\n  \"TaskGroups\": [{\"Name\": \"g\", \"Count\": \"two\"}]\n}}\n",
    )
    .expect_err("invalid");
    assert_eq!(d.0[0].line, 3, "{d}");
    assert!(d.0[0].path.contains("Count"), "{d}");
    let d =
        drover_jobspec::parse_json("job.json", "{\"Job\": {\"ID\": \"a\",}}").expect_err("syntax");
    assert!(d.0[0].message.starts_with("syntax error"), "{d}");
}
