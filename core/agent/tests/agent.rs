//! Agent configuration: the users' seed file, merge order across files and directories,
//! `-dev` defaults, located errors, and a bounded mutation test that nothing panics.

use std::path::{Path, PathBuf};
use std::time::Duration;

use drover_agent::AgentConfig;
use drover_agent::config::{LogLevel, load, load_sources};
use drover_hcl::{Diagnostics, Source};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

fn seed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seed/agent.hcl")
}

fn from(files: &[(&str, &str)]) -> Result<AgentConfig, Diagnostics> {
    let sources: Vec<Source> = files.iter().map(|(n, t)| Source::new(*n, *t)).collect();
    load_sources(&sources, false)
}

fn errors(files: &[(&str, &str)]) -> Diagnostics {
    match from(files) {
        Ok(c) => panic!("expected errors, got {c:#?}"),
        Err(e) => e,
    }
}

fn heads(d: &Diagnostics) -> Vec<String> {
    d.iter().map(|d| d.headline()).collect()
}

const BASE: &str = "data_dir = \"/var/lib/drover\"\nserver {\n  enabled = true\n}\n";

#[test]
fn seed_file_loads_with_the_users_values() {
    let c = load(&[seed_path()], false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.datacenter, "FT2000");
    assert_eq!(c.region, "smsx");
    assert_eq!(c.name, "node1");
    assert_eq!(c.data_dir.as_deref(), Some(Path::new("/opt/nomad")));
    assert!(c.disable_update_check);
    assert_eq!(c.log.rotate_bytes, 1_024_000_000);
    assert_eq!(c.log.rotate_max_files, 7);
    assert!(c.server.enabled);
    assert_eq!(c.server.bootstrap_expect, 1);
    assert!(c.client.enabled);
    assert_eq!(c.client.servers, ["10.1.41.225:4647"]);
    let vols: Vec<(&str, &Path, bool)> = c
        .client
        .host_volumes
        .iter()
        .map(|v| (v.name.as_str(), v.path.as_path(), v.read_only))
        .collect();
    assert_eq!(
        vols,
        [
            ("mysql", Path::new("/opt/docker/mysql"), false),
            ("storage", Path::new("/opt/docker/storage"), false)
        ]
    );
    let docker = c.plugin("docker").map(|p| p.config.clone());
    assert_eq!(
        docker,
        Some(json!({"volumes": {"enabled": true, "selinuxlabel": "z"}}))
    );
    // Defaults the seed does not set.
    assert_eq!(c.log.level, LogLevel::Info);
    assert_eq!(c.bind_addr, "0.0.0.0");
    assert_eq!(
        (c.ports.http, c.ports.rpc, c.ports.serf),
        (4646, 4647, 4648)
    );
    assert_eq!(c.server.heartbeat_grace, Duration::from_secs(10));
    assert_eq!(c.server.server_join.retry_interval, Duration::from_secs(30));
    assert_eq!(
        (c.client.min_dynamic_port, c.client.max_dynamic_port),
        (20000, 32000)
    );
    assert_eq!(c.client.max_kill_timeout, Duration::from_secs(30));
    assert_eq!(c.limits.http_max_conns_per_client, 100);
    assert_eq!(c.plugin_dir(), Some(PathBuf::from("/opt/nomad/plugins")));
    assert!(!c.dev_mode);
}

#[test]
fn later_files_override_earlier_and_blocks_merge_by_name() {
    let a = r#"
region = "one"
data_dir = "/a"
log_level = "warn"
server {
  enabled = true
  heartbeat_grace = "20s"
}
client {
  enabled = true
  servers = ["a:4647"]
  meta = { rack = "r1", zone = "z1" }
  host_volume "x" { path = "/x" }
}
plugin "docker" {
  args = ["-v"]
  config {
    volumes {
      enabled = true
    }
  }
}
"#;
    let b = r#"{
  "region": "two",
  "server": {"bootstrap_expect": 3},
  "client": {"servers": ["b:4647"], "meta": {"zone": "z2"},
             "host_volume": {"y": {"path": "/y", "read_only": true}}},
  "plugin": {"docker": {"config": {"allow_privileged": true}},
             "raw_exec": {"config": {"enabled": true}}}
}"#;
    let c = from(&[("a.hcl", a), ("b.json", b)]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.region, "two");
    assert_eq!(c.log.level, LogLevel::Warn);
    assert!(c.server.enabled);
    assert_eq!(c.server.bootstrap_expect, 3);
    assert_eq!(c.server.heartbeat_grace, Duration::from_secs(20));
    assert_eq!(c.client.servers, ["b:4647"], "lists are replaced");
    assert_eq!(c.client.meta.get("rack").map(String::as_str), Some("r1"));
    assert_eq!(c.client.meta.get("zone").map(String::as_str), Some("z2"));
    let names: Vec<&str> = c
        .client
        .host_volumes
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["x", "y"]);
    assert_eq!(c.client.host_volume("y").map(|v| v.read_only), Some(true));
    let docker = c
        .plugin("docker")
        .cloned()
        .unwrap_or_else(|| panic!("docker plugin"));
    assert_eq!(docker.args, ["-v"], "args kept from the first file");
    assert_eq!(
        docker.config,
        json!({"allow_privileged": true}),
        "config replaced whole"
    );
    assert_eq!(
        c.plugin("raw_exec").map(|p| p.config.clone()),
        Some(json!({"enabled": true}))
    );
}

#[test]
fn directories_load_hcl_and_json_alphabetically_skipping_the_rest() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    };
    write("10-base.hcl", BASE);
    write("20-name.json", r#"{"name": "from-json", "region": "r20"}"#);
    write("30-name.hcl", "name = \"from-hcl\"\n");
    write("30-name.hcl~", "name = \"vim backup\"\n");
    write(".#40.hcl", "name = \"emacs lock\"\n");
    write("#50.hcl#", "name = \"emacs autosave\"\n");
    write("README.md", "not config");
    std::fs::create_dir(dir.path().join("sub.hcl")).unwrap_or_else(|e| panic!("{e}"));
    let extra = dir.path().join("sub.hcl").join("x.hcl");
    std::fs::write(&extra, "region = \"from subdir\"\n").unwrap_or_else(|e| panic!("{e}"));

    let c = load(&[dir.path().to_path_buf()], false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.name, "from-hcl");
    assert_eq!(c.region, "r20");

    // A file named after the directory overrides it.
    let late = dir.path().join("late.conf");
    std::fs::write(&late, "region = \"late\"\n").unwrap_or_else(|e| panic!("{e}"));
    let c = load(&[dir.path().to_path_buf(), late], false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.region, "late");
}

#[test]
fn dev_mode_defaults() {
    let c = AgentConfig::dev();
    assert!(c.dev_mode && c.server.enabled && c.client.enabled);
    assert_eq!(c.server.bootstrap_expect, 1);
    assert_eq!(c.bind_addr, "127.0.0.1");
    assert_eq!(c.log.level, LogLevel::Debug);
    assert!(c.enable_debug);
    assert_eq!(c.data_dir, None);
    assert_eq!(
        c.plugin("raw_exec").map(|p| p.config.clone()),
        Some(json!({"enabled": true}))
    );
    assert_eq!(
        c.client
            .options
            .get("driver.raw_exec.enable")
            .map(String::as_str),
        Some("true")
    );
    assert!(c.telemetry.prometheus_metrics && c.telemetry.publish_node_metrics);
    // Files apply on top of -dev.
    let src = [Source::new(
        "d.hcl",
        "log_level = \"INFO\"\nclient { enabled = false }\n",
    )];
    let c = load_sources(&src, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (c.log.level, c.client.enabled, c.server.enabled),
        (LogLevel::Info, false, true)
    );
}

#[test]
fn unknown_key_is_located() {
    let text = "data_dir = \"/d\"\nserver {\n  enabled = true\n  bootstrap_expekt = 1\n}\n";
    let e = errors(&[("a.hcl", text)]);
    assert_eq!(
        heads(&e),
        ["a.hcl:4:3: server.bootstrap_expect: unknown key \"bootstrap_expekt\"; did you mean \"bootstrap_expect\"?"
            .replace("server.bootstrap_expect:", "server.bootstrap_expekt:")]
    );
    assert_eq!(
        e.0[0].source_line.as_deref(),
        Some("  bootstrap_expekt = 1")
    );
}

#[test]
fn wrong_type_bad_duration_and_log_level_are_located() {
    let e = errors(&[("a.hcl", &format!("{BASE}ports {{\n  http = \"80\"\n}}\n"))]);
    assert_eq!(
        heads(&e),
        ["a.hcl:6:10: ports.http: expected a number, found a string"]
    );

    let e = errors(&[(
        "a.hcl",
        &format!("{BASE}client {{\n  gc_interval = \"5 minutes\"\n}}\n"),
    )]);
    assert_eq!(e.len(), 1, "{e}");
    assert_eq!(
        (e.0[0].line, e.0[0].column, e.0[0].path.as_str()),
        (6, 17, "client.gc_interval")
    );
    assert!(
        e.0[0].message.starts_with("invalid duration \"5 minutes\""),
        "{e}"
    );

    let e = errors(&[("a.hcl", &format!("{BASE}log_level = \"verbose\"\n"))]);
    assert_eq!(
        heads(&e),
        [
            "a.hcl:5:13: log_level: invalid log level \"verbose\"; valid: TRACE, DEBUG, INFO, WARN, ERROR, OFF"
        ]
    );
}

#[test]
fn duplicate_host_volume_points_at_the_second_block() {
    let text = "data_dir = \"/d\"\nclient {\n  enabled = true\n  host_volume \"m\" {\n    path = \"/a\"\n  }\n  host_volume \"m\" {\n    path = \"/b\"\n  }\n}\n";
    let e = errors(&[("a.hcl", text)]);
    assert_eq!(e.len(), 1, "{e}");
    assert_eq!((e.0[0].line, e.0[0].column), (7, 3), "{e}");
    assert!(e.0[0].path.starts_with("client > host_volume \"m\""), "{e}");
    assert!(e.0[0].message.contains("declared more than once"), "{e}");
}

#[test]
fn several_errors_in_one_file_are_all_reported() {
    let text = r#"data_dir = "relative/dir"
log_level = "loud"
server {
  enabled = true
  heartbeat_grace = 10
}
client {
  enabled = true
  min_dynamic_port = 40000
  reserved {
    reserved_ports = "22,80-70"
  }
  host_volume "v" {
    read_only = true
  }
}
telemetry {
  colection_interval = "1s"
}
"#;
    // Type errors and rule violations together, in source order.
    let e = errors(&[("a.hcl", text)]);
    assert_eq!(
        heads(&e),
        [
            "a.hcl:1:12: data_dir: must be given as an absolute path, found \"relative/dir\"",
            "a.hcl:2:13: log_level: invalid log level \"loud\"; valid: TRACE, DEBUG, INFO, WARN, ERROR, OFF",
            "a.hcl:5:21: server.heartbeat_grace: expected a duration like \"30s\", found a number",
            "a.hcl:9:22: client.min_dynamic_port: must not exceed max_dynamic_port (32000), found 40000",
            "a.hcl:11:22: client.reserved.reserved_ports: invalid port range \"80-70\": start is after end",
            "a.hcl:13:3: client > host_volume \"v\": missing path in host_volume config",
            "a.hcl:18:3: telemetry.colection_interval: unknown key \"colection_interval\"; did you mean \"collection_interval\"?",
        ]
    );
    // A type error does not invent a "server or client" error for the key it dropped.
    let e = errors(&[(
        "b.hcl",
        "data_dir = \"/d\"\nserver {\n  enabled = \"yes\"\n}\n",
    )]);
    assert_eq!(
        heads(&e),
        ["b.hcl:3:13: server.enabled: expected a boolean, found a string"]
    );
}

#[test]
fn errors_after_merging_point_into_the_file_that_set_the_value() {
    let e = errors(&[("a.hcl", BASE), ("b.hcl", "\n\nlog_level = \"nope\"\n")]);
    assert_eq!(heads(&e)[0].split(": ").next(), Some("b.hcl:3:13"));
    let e = errors(&[
        ("a.hcl", "server {\n  enabled = true\n}\n"),
        ("b.hcl", "region = \"r\"\n"),
    ]);
    assert_eq!(
        heads(&e),
        ["a.hcl:2:13: server.enabled: data_dir is required when the server is enabled"]
    );
    let e = errors(&[("a.hcl", "region = \"r\"\n")]);
    assert!(
        heads(&e)[0].starts_with("a.hcl: must specify either server, client or dev mode"),
        "{e}"
    );
    let e = errors(&[(
        "a.json",
        "{\"ports\": {\"rpc\": 0}, \"client\": {\"enabled\": true}}",
    )]);
    assert!(
        heads(&e)
            .iter()
            .any(|h| h.starts_with("a.json:1:19: ports.rpc: must be a port")),
        "{e}"
    );
}

#[test]
fn syntax_errors_and_missing_files_are_reported_for_every_file() {
    let e = errors(&[
        ("a.hcl", "server {\n  enabled = \n"),
        ("b.json", "{\"x\": }"),
        ("c.hcl", "bogus = 1\n"),
    ]);
    let files: Vec<&str> = e.iter().map(|d| d.file.as_str()).collect();
    assert_eq!(files, ["a.hcl", "b.json", "c.hcl"], "{e}");
    assert!(e.0[0].message.starts_with("syntax error"), "{e}");
    let missing = load(&[PathBuf::from("/nonexistent/drover.hcl")], false).unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("/nonexistent/drover.hcl: cannot read"),
        "{missing}"
    );
}

/// Random edits of the seed file (deletions, duplications, swaps, inserted tokens): the
/// loader returns a config or diagnostics, never panics.
#[test]
fn mutated_seed_never_panics() {
    let seed = std::fs::read_to_string(seed_path()).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(0xa6e7_0003);
    let tokens = [
        "{",
        "}",
        "\"",
        "[",
        "]",
        "=",
        "\n",
        "-1",
        "\"5x\"",
        "true",
        "é",
        "99999999999",
        "host_volume \"mysql\" {}",
        "plugin \"p\" { config = 1 }",
    ];
    let mut ok = 0;
    for _ in 0..3000 {
        let mut text: Vec<char> = seed.chars().collect();
        for _ in 0..rng.random_range(1..5) {
            let i = rng.random_range(0..text.len().max(1));
            match rng.random_range(0..3) {
                0 if !text.is_empty() => {
                    let n = rng.random_range(1..10).min(text.len() - i);
                    text.drain(i..i + n);
                }
                1 => {
                    let t = tokens[rng.random_range(0..tokens.len())];
                    text.splice(i..i, t.chars());
                }
                _ if i + 1 < text.len() => text.swap(i, i + 1),
                _ => {}
            }
        }
        let text: String = text.into_iter().collect();
        let json = serde_json::to_string(&text).unwrap_or_default();
        let dev = rng.random_bool(0.2);
        match load_sources(
            &[Source::new("m.hcl", text), Source::new("m.json", json)],
            dev,
        ) {
            Ok(_) => ok += 1,
            Err(e) => assert!(e.iter().all(|d| !d.message.is_empty())),
        }
    }
    assert!(ok < 3000, "the mutations must produce some errors");
    assert!(started.elapsed() < Duration::from_secs(30));
}
