//! drover-hcl: diagnostics, locating paths in HCL and JSON, multi-error decoding, the serde
//! helpers, durations and sizes, and a bounded mutation test that nothing panics.

use std::time::Duration;

use drover_hcl::de::{ByteSize, GoDuration};
use drover_hcl::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;

const JOB: &str = r#"job "bvc" {
  datacenters = ["FT2000"]
  group "bvc25" {
    task "mysql" {
      driver = "docker"
      config {
        ports = ["mysql"]
        volumes = ["a:/b", "c:/d"]
      }
      resources {
        cpu    = "500"
        memory = 512
      }
      volume_mount {
        volume = "mysql"
      }
      volume_mount {
        volume      = "storage"
        destination = 7
      }
    }
  }
}
"#;

fn at(src: &Source, path: &str) -> Located {
    src.locate(&FieldPath::parse(path), Target::Value)
}

#[test]
fn diagnostic_renders_headline_line_and_caret() {
    let src = Source::new("job-bvc.hcl", JOB);
    let d = src.diagnostic(
        &FieldPath::parse("job.bvc.group.bvc25.task.mysql.resources.cpu"),
        Target::Value,
        "expected a number, found a string",
    );
    assert_eq!(
        d.to_string(),
        "job-bvc.hcl:11:18: job \"bvc\" > group \"bvc25\" > task \"mysql\" > resources.cpu: \
         expected a number, found a string\n            cpu    = \"500\"\n                     ^"
    );
    assert_eq!((d.line, d.column), (11, 18));
    let all = Diagnostics(vec![d.clone(), d]);
    assert_eq!(all.to_string().matches("job-bvc.hcl:11:18").count(), 2);
    let e: &dyn std::error::Error = &all;
    assert!(!e.to_string().is_empty());
}

#[test]
fn locates_blocks_labels_indices_and_values() {
    let src = Source::new("j.hcl", JOB);
    let l = at(
        &src,
        "job.bvc.group.bvc25.task.mysql.volume_mount[1].destination",
    );
    assert_eq!((l.line, l.column, l.exact), (19, 23, true));
    assert_eq!(
        l.path,
        "job \"bvc\" > group \"bvc25\" > task \"mysql\" > volume_mount[1].destination"
    );
    let l = at(&src, "job.bvc.group.bvc25.task.mysql.config.volumes[1]");
    assert_eq!((l.line, l.column), (8, 28));
    let k = src.locate(
        &FieldPath::parse("job.bvc.group.bvc25.task.mysql.driver"),
        Target::Key,
    );
    assert_eq!((k.line, k.column), (5, 7));
    let l = at(&src, "job.bvc.datacenters[0]");
    assert_eq!((l.line, l.column), (2, 18));
}

#[test]
fn missing_paths_fall_back_to_the_nearest_ancestor() {
    let src = Source::new("j.hcl", JOB);
    let l = at(&src, "job.bvc.group.bvc25.task.nginx.driver");
    assert!(!l.exact);
    assert_eq!((l.line, l.column), (4, 5), "the task blocks");
    assert_eq!(
        l.path,
        "job \"bvc\" > group \"bvc25\" > task \"nginx\" > driver"
    );
    let l = at(&src, "job.bvc.group.bvc25.task.mysql.resources.disk");
    assert_eq!((l.line, l.exact), (10, false));
    let l = at(&src, "nothing.here");
    assert_eq!((l.line, l.column, l.exact), (1, 1, false));
}

#[test]
fn columns_count_characters_not_bytes() {
    let src = Source::new("u.hcl", "name = \"é\"\nx = \"ü\" # é\ny = 1\n");
    let l = src.locate(&FieldPath::parse("y"), Target::Value);
    assert_eq!((l.line, l.column), (3, 5));
    assert_eq!(src.position(src.text().find('#').unwrap_or(0)), (2, 9));
}

#[test]
fn syntax_errors_have_their_own_position() {
    let src = Source::new("bad.hcl", "a = 1\nb = {\n  c = \n}\n");
    let d = src.parse_hcl().unwrap_err();
    assert_eq!(d.file, "bad.hcl");
    assert!(d.message.starts_with("syntax error: "), "{d}");
    assert_eq!((d.line, d.column), (3, 7), "{d}");
    let src = Source::new("bad.json", "{\n  \"a\": 1,\n  \"b\": @\n}");
    let d = src.to_value().unwrap_err();
    assert_eq!(d.line, 3, "{d}");
    assert!(d.message.starts_with("syntax error: "), "{d}");
    assert!(!d.message.contains("at line"), "{d}");
}

#[test]
fn locates_paths_in_json() {
    let text = "{\n  \"client\": {\n    \"enabled\": true,\n    \"servers\": [\"a\", 5]\n  }\n}\n";
    let src = Source::new("c.json", text);
    let l = at(&src, "client.servers[1]");
    assert_eq!((l.line, l.column, l.exact), (4, 22, true));
    let k = src.locate(&FieldPath::parse("client.enabled"), Target::Key);
    assert_eq!((k.line, k.column), (3, 5));
    assert_eq!(k.path, "client.enabled");
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "fields exist to be decoded")]
struct Task {
    driver: String,
    #[serde(default)]
    resources: Option<Resources>,
    #[serde(default, deserialize_with = "de::one_or_many")]
    volume_mount: Vec<Mount>,
    #[serde(default)]
    kill_timeout: Option<GoDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "fields exist to be decoded")]
struct Resources {
    cpu: Option<u32>,
    memory: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "fields exist to be decoded")]
struct Mount {
    volume: String,
    destination: Option<String>,
}

fn decode_text<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T, Diagnostics> {
    let src = Source::new(name, text);
    let value = src.to_value().map_err(Diagnostics::from)?;
    decode_in(&src, &value)
}

#[test]
fn decode_reports_every_error_with_its_position() {
    let text = "driver = \"docker\"\nresources {\n  cpu = \"500\"\n  memroy = 4\n}\n\
                volume_mount {\n  volume = \"a\"\n}\nvolume_mount {\n  destination = \"/x\"\n}\n\
                kill_timeout = \"5 seconds\"\n";
    let errs = decode_text::<Task>("t.hcl", text).unwrap_err();
    let heads: Vec<String> = errs.iter().map(Diagnostic::headline).collect();
    assert_eq!(
        heads,
        [
            "t.hcl:3:9: resources.cpu: expected a number, found a string",
            "t.hcl:4:3: resources.memroy: unknown key \"memroy\"; did you mean \"memory\"?",
            "t.hcl:9:1: volume_mount[1].volume: missing required key \"volume\"",
            "t.hcl:12:16: kill_timeout: invalid duration \"5 seconds\": expected a number \
             followed by a unit (ns, us, ms, s, m, h), e.g. \"30s\" or \"1m30s\"",
        ],
        "{errs}"
    );
}

#[test]
fn decode_succeeds_and_one_or_many_accepts_both_shapes() {
    let one: Task = decode_text(
        "a.hcl",
        "driver = \"d\"\nvolume_mount {\n volume = \"v\"\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one.volume_mount.len(), 1);
    let two: Task = decode_text(
        "a.json",
        r#"{"driver": "d", "kill_timeout": "1m30s",
            "volume_mount": [{"volume": "a"}, {"volume": "b", "destination": "/b"}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(two.volume_mount[1].destination.as_deref(), Some("/b"));
    assert_eq!(two.kill_timeout, Some(GoDuration(Duration::from_secs(90))));
    assert!(two.resources.is_none());
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Client {
    #[serde(default, deserialize_with = "de::labeled")]
    host_volume: Vec<(String, Volume)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "fields exist to be decoded")]
struct Volume {
    path: String,
}

#[test]
fn labeled_blocks_keep_order_and_reject_repeated_names() {
    let ok: Client = decode_text(
        "c.json",
        r#"{"host_volume": [{"b": {"path": "/b"}}, {"a": {"path": "/a"}}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = ok.host_volume.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["b", "a"]);
    let text = "host_volume \"m\" {\n  path = \"/a\"\n}\nhost_volume \"m\" {\n  path = \"/b\"\n}\n";
    let errs = decode_text::<Client>("c.hcl", text).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs}");
    assert_eq!(errs.0[0].line, 4, "the second block: {errs}");
    assert!(
        errs.0[0].message.contains("declared more than once"),
        "{errs}"
    );
}

#[test]
fn go_durations() {
    let ok = [
        ("30s", 30_000_000_000u128),
        ("1m30s", 90_000_000_000),
        ("24h", 86_400_000_000_000),
        ("100ms", 100_000_000),
        ("1.5h", 5_400_000_000_000),
        ("2us", 2_000),
        ("3µs", 3_000),
        ("0", 0),
        ("+5s", 5_000_000_000),
        (".5s", 500_000_000),
    ];
    for (s, nanos) in ok {
        assert_eq!(parse_duration(s).map(|d| d.as_nanos()), Ok(nanos), "{s}");
    }
    for s in [
        "",
        "30",
        "5 s",
        "1x",
        "s",
        "-1s",
        "1..5s",
        "99999999999999999999h",
    ] {
        assert!(parse_duration(s).is_err(), "{s} must be rejected");
    }
    assert!(
        parse_duration("3d")
            .unwrap_err()
            .to_string()
            .contains("unknown unit \"d\"")
    );
    for (d, s) in [
        (90_000, "1m30s"),
        (86_400_000, "24h0m0s"),
        (100, "100ms"),
        (1_500, "1.5s"),
    ] {
        assert_eq!(format_duration(Duration::from_millis(d)), s);
    }
    assert_eq!(format_duration(Duration::ZERO), "0s");
}

#[test]
fn sizes() {
    let ok = [
        ("10MB", 10_000_000u64),
        ("1GiB", 1 << 30),
        ("1.5 KB", 1_500),
        ("512", 512),
        ("2k", 2_000),
        ("3mib", 3 << 20),
    ];
    for (s, n) in ok {
        assert_eq!(parse_size(s), Ok(n), "{s}");
    }
    for s in ["", "MB", "10 furlongs", "1.2.3MB", "99999999EB"] {
        assert!(parse_size(s).is_err(), "{s} must be rejected");
    }
    let v: ByteSize = serde_json::from_str("\"10MB\"").unwrap_or_default();
    assert_eq!(v, ByteSize(10_000_000));
    let v: ByteSize = serde_json::from_str("42").unwrap_or_default();
    assert_eq!(v, ByteSize(42));
}

#[test]
fn field_paths_parse_and_render() {
    let p = FieldPath::parse("job.bvc.volume_mount[1].destination");
    assert_eq!(p.segs().len(), 5);
    assert_eq!(p.segs()[3], PathSeg::Index(1));
    assert_eq!(p.to_string(), "job.bvc.volume_mount[1].destination");
    assert_eq!(p.parent().last_key(), None);
    assert_eq!(FieldPath::root().key("a").index(2).to_string(), "a[2]");
}

/// Mutate JOB at random (delete, duplicate, swap and insert characters and tokens) and
/// run everything a parser does on bad input: parse, decode, locate random paths, render.
#[test]
fn mutated_input_never_panics() {
    let started = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(0x5eed_0003);
    let tokens = [
        "{", "}", "\"", "[", "]", "=", "\n", "${", "<<EOF\n", "#", "é", "0", ",", ".",
    ];
    for _ in 0..3000 {
        let mut text: Vec<char> = JOB.chars().collect();
        for _ in 0..rng.random_range(1..6) {
            let i = rng.random_range(0..text.len().max(1));
            match rng.random_range(0..4) {
                0 if !text.is_empty() => {
                    let n = rng.random_range(1..8).min(text.len() - i);
                    text.drain(i..i + n);
                }
                1 => {
                    let t = tokens[rng.random_range(0..tokens.len())];
                    text.splice(i..i, t.chars());
                }
                2 if i + 1 < text.len() => text.swap(i, i + 1),
                _ => {
                    let j = rng.random_range(0..text.len().max(1));
                    let (a, b) = (i.min(j), i.max(j).min(text.len()));
                    let chunk: Vec<char> = text[a..b].to_vec();
                    text.splice(a..a, chunk);
                }
            }
        }
        let text: String = text.into_iter().collect();
        let src = Source::new("m.hcl", text.clone());
        if let Ok(v) = src.to_value() {
            let _ = decode_in::<serde_json::Value>(&src, &v);
            if let Err(e) = decode_in::<Task>(&src, &v) {
                let _ = e.to_string();
            }
        }
        for p in [
            "job.bvc.group.bvc25.task.mysql.volume_mount[1].destination",
            "job.x[3].y",
            "",
        ] {
            let _ = src.locate(&FieldPath::parse(p), Target::Key).path;
        }
        let _ = src.position(rng.random_range(0..text.len() + 3));
        let json = Source::new("m.json", text);
        let _ = json.locate(&FieldPath::parse("job.bvc[0].x"), Target::Value);
    }
    assert!(started.elapsed() < Duration::from_secs(30));
}
