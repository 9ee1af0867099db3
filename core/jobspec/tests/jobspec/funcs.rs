//! The functions added to the jobspec2 library: `can`, `try`, `convert`, `bcrypt`,
//! `rsadecrypt`, `formatdate`, `timeadd`, `yamldecode`, `yamlencode`, `fileset`,
//! `cidrsubnets` and IPv6 CIDR math: values (Terraform's documented examples where there
//! are some) and error messages.

use std::path::Path;

use drover_jobspec::VarInputs;
use serde_json::{Value, json};

use crate::fixture;

/// A job whose task config holds `v = <expr>`, after `prelude` (variables, locals).
fn job_text(prelude: &str, expr: &str) -> String {
    format!(
        r#"{prelude}
job "fn" {{
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        v = {expr}
      }}
    }}
  }}
}}
"#
    )
}

fn value_of(job: &drover_types::Job) -> Value {
    job.task_groups[0].tasks[0].config["v"].clone()
}

/// Evaluate `expr` in a job file next to `dir` (so relative paths resolve there).
fn eval_in(dir: &Path, prelude: &str, expr: &str) -> Result<Value, String> {
    let path = dir.join("fn.nomad.hcl");
    std::fs::write(&path, job_text(prelude, expr)).expect("write job file");
    drover_jobspec::parse_file(&path, &VarInputs::default())
        .map(|j| value_of(&j))
        .map_err(|d| d.to_string())
}

fn eval_with(prelude: &str, expr: &str) -> Result<Value, String> {
    drover_jobspec::parse_hcl("fn.hcl", &job_text(prelude, expr), &VarInputs::default())
        .map(|j| value_of(&j))
        .map_err(|d| d.to_string())
}

fn eval(expr: &str) -> Value {
    eval_with("", expr).unwrap_or_else(|e| panic!("{expr}:\n{e}"))
}

/// The one diagnostic's message for `expr`.
fn err(expr: &str) -> String {
    match drover_jobspec::parse_hcl("fn.hcl", &job_text("", expr), &VarInputs::default()) {
        Ok(j) => panic!("{expr}: expected an error, got {}", value_of(&j)),
        Err(d) => {
            assert_eq!(d.len(), 1, "{expr}: {d}");
            d.0[0].message.clone()
        }
    }
}

#[test]
fn try_falls_back_and_catches_errors() {
    assert_eq!(eval(r#"try(5, "x")"#), json!(5));
    assert_eq!(eval(r#"try({a = 1}.b, "fallback")"#), json!("fallback"));
    assert_eq!(
        eval(r#"try(tonumber("x"), [1][3], "third")"#),
        json!("third")
    );
    // Nested, inside other calls and templates.
    assert_eq!(eval(r#"upper(try({}.x, try({}.y, "ok")))"#), json!("OK"));
    assert_eq!(eval(r#""v=${try({a = "A"}.a, "none")}""#), json!("v=A"));
    assert_eq!(eval(r#""v=${try({}.a, "none")}""#), json!("v=none"));
    // Inside a for expression, with the iteration variables.
    assert_eq!(
        eval(r#"[for m in [{a = 1}, {b = 2}] : try(m.a, 0)]"#),
        json!([1, 0])
    );
    assert_eq!(
        eval(r#"{for k, m in {x = {a = 1}, y = {}} : k => try(m.a, -1) if can(m)}"#),
        json!({"x": 1, "y": -1})
    );
    // Variables and locals, and run-time references kept literal.
    assert_eq!(
        eval_with(
            r#"variable "cfg" {
  type    = any
  default = { port = 8080 }
}"#,
            r#"[try(var.cfg.port, 80), try(var.cfg.host, "localhost")]"#
        ),
        Ok(json!([8080, "localhost"]))
    );
    assert_eq!(
        eval(r#"try(node.unique.name, "x")"#),
        json!("${node.unique.name}")
    );
    assert_eq!(
        eval(r#""a-${try(node.unique.name, "x")}-${NOMAD_ALLOC_ID}""#),
        json!("a-${node.unique.name}-${NOMAD_ALLOC_ID}")
    );
    assert_eq!(
        eval("<<EOT\nport=${try({}.port, 80)}\nEOT\n"),
        json!("port=80\n")
    );
}

#[test]
fn try_waits_for_locals_defined_later() {
    // `a` is listed first but refers to `b`: the fallback must not win in the first pass.
    let got = eval_with(
        r#"locals {
  a = try(local.b.port, 1)
  b = { port = 2 }
}"#,
        "local.a",
    );
    assert_eq!(got, Ok(json!(2)));
    let got = eval_with("locals {\n  a = try(local.missing, 3)\n}", "local.a");
    assert_eq!(got, Ok(json!(3)));
}

#[test]
fn try_errors() {
    let m = err(r#"try({}.a, [][0])"#);
    assert!(
        m.starts_with("error calling function `try`: no argument succeeded"),
        "{m}"
    );
    assert!(m.contains("argument 1: no such key: `a`"), "{m}");
    assert!(m.contains("argument 2: index out of bounds: 0"), "{m}");
    assert_eq!(
        err("try()"),
        "error calling function `try`: at least one argument is required"
    );
}

#[test]
fn can_answers_whether_an_expression_evaluates() {
    assert_eq!(eval(r#"can({a = 1}.a)"#), json!(true));
    assert_eq!(eval(r#"can({a = 1}.b)"#), json!(false));
    assert_eq!(eval(r#"can(regex_replace("a", "(", "b"))"#), json!(false));
    assert_eq!(
        eval(r#"[for x in ["1", "x"] : can(parseint(x, 10))]"#),
        json!([true, false])
    );
    assert_eq!(
        err("can(1, 2)"),
        "error calling function `can`: takes exactly one argument, got 2"
    );
}

#[test]
fn convert_to_type_constraints() {
    assert_eq!(eval(r#"convert("5", number)"#), json!(5));
    assert_eq!(eval("convert(5, string)"), json!("5"));
    assert_eq!(
        eval(r#"convert(["a", "a", "b"], set(string))"#),
        json!(["a", "b"])
    );
    assert_eq!(eval(r#"convert({a = 1}, map(string))"#), json!({"a": "1"}));
    assert_eq!(
        eval(r#"convert({a = "1", b = true}, object({a = number}))"#),
        json!({"a": 1})
    );
    assert_eq!(
        err(r#"convert("x", number)"#),
        "error calling function `convert`: a number is required, found the string \"x\""
    );
    assert_eq!(
        err(r#"convert(1, strin)"#),
        "error calling function `convert`: argument 2 (type): unknown type \"strin\""
    );
    assert_eq!(
        err("convert(1)"),
        "error calling function `convert`: takes a value and a type, got 1 arguments"
    );
}

#[test]
fn formatdate_verbs() {
    let cases = [
        (
            "DD MMM YYYY hh:mm ZZZ",
            "2018-01-02T23:12:01Z",
            "02 Jan 2018 23:12 UTC",
        ),
        (
            "EEEE, DD-MMM-YY hh:mm:ss ZZZ",
            "2018-01-02T23:12:01Z",
            "Tuesday, 02-Jan-18 23:12:01 UTC",
        ),
        (
            "EEE, DD MMM YYYY hh:mm:ss ZZZ",
            "2018-01-02T23:12:01-08:00",
            "Tue, 02 Jan 2018 23:12:01 -0800",
        ),
        ("MMM DD, YYYY", "2018-01-02T23:12:01Z", "Jan 02, 2018"),
        ("HH:mmaa", "2018-01-02T23:12:01Z", "11:12pm"),
        ("H:m:s AA", "2018-01-02T00:05:09Z", "12:5:9 AM"),
        (
            "MMMM D, YYYY",
            "2024-02-29T12:00:00+05:30",
            "February 29, 2024",
        ),
        (
            "YYYY-MM-DD'T'hh:mm:ssZ",
            "2020-06-01T10:00:00Z",
            "2020-06-01T10:00:00Z",
        ),
        (
            "Z ZZZZ ZZZZZ",
            "2020-06-01T10:00:00+05:30",
            "+05:30 +0530 +05:30",
        ),
        (
            "'It''s' h 'o''clock'",
            "2020-06-01T07:00:00.5Z",
            "It's 7 o'clock",
        ),
        ("hh:mm", "1969-12-31T23:59:59Z", "23:59"),
    ];
    for (spec, ts, want) in cases {
        assert_eq!(
            eval(&format!("formatdate({spec:?}, {ts:?})")),
            json!(want),
            "{spec} {ts}"
        );
    }
}

#[test]
fn formatdate_errors() {
    assert_eq!(
        err(r#"formatdate("YYY", "2018-01-02T23:12:01Z")"#),
        "error calling function `formatdate`: argument 1 (spec): invalid verb \"YYY\": the year is YYYY or YY; quote letters meant as text, like 'T'"
    );
    assert!(
        err(r#"formatdate("YYYY-MM-DDThh", "2018-01-02T23:12:01Z")"#)
            .contains("invalid verb \"T\": not a date format verb")
    );
    assert_eq!(
        err(r#"formatdate("'abc", "2018-01-02T23:12:01Z")"#),
        "error calling function `formatdate`: argument 1 (spec): unterminated quoted literal: a ' is missing"
    );
    let m = err(r#"formatdate("YYYY", "2018-01-02 23:12:01")"#);
    assert!(
        m.starts_with(
            "error calling function `formatdate`: argument 2 (timestamp): \"2018-01-02 23:12:01\" is not an RFC 3339 timestamp"
        ),
        "{m}"
    );
    assert_eq!(
        err(r#"formatdate("YYYY", "2018-02-30T00:00:00Z")"#),
        "error calling function `formatdate`: argument 2 (timestamp): \"2018-02-30T00:00:00Z\" is not a valid date and time"
    );
}

#[test]
fn timeadd_keeps_the_offset() {
    let cases = [
        ("2017-11-22T00:00:00Z", "10m", "2017-11-22T00:10:00Z"),
        ("2017-11-22T00:00:00Z", "-1h", "2017-11-21T23:00:00Z"),
        (
            "2017-11-22T23:30:00+01:00",
            "1h30m",
            "2017-11-23T01:00:00+01:00",
        ),
        ("2024-02-28T12:00:00Z", "24h", "2024-02-29T12:00:00Z"),
        ("2017-11-22T00:00:00.75Z", "250ms", "2017-11-22T00:00:01Z"),
        (
            "2000-01-01T00:00:00-08:00",
            "0s",
            "2000-01-01T00:00:00-08:00",
        ),
    ];
    for (ts, d, want) in cases {
        assert_eq!(
            eval(&format!("timeadd({ts:?}, {d:?})")),
            json!(want),
            "{ts} + {d}"
        );
    }
    let m = err(r#"timeadd("2017-11-22T00:00:00Z", "10 minutes")"#);
    assert!(
        m.starts_with("error calling function `timeadd`: argument 2 (duration): "),
        "{m}"
    );
    let m = err(r#"timeadd("yesterday", "1h")"#);
    assert!(
        m.starts_with("error calling function `timeadd`: argument 1 (timestamp): \"yesterday\""),
        "{m}"
    );
}

#[test]
fn yaml_decode_and_encode() {
    assert_eq!(
        eval(r#"yamldecode("hello: world")"#),
        json!({"hello": "world"})
    );
    assert_eq!(eval(r#"yamldecode("true")"#), json!(true));
    assert_eq!(
        eval(r#"yamldecode("{a: &foo [1, 2, 3], b: *foo}")"#),
        json!({"a": [1, 2, 3], "b": [1, 2, 3]})
    );
    assert_eq!(
        eval(r#"yamldecode("- 1\n- x: 2.5\n  y: null\n- 3: three")"#),
        json!([1, {"x": 2.5, "y": null}, {"3": "three"}])
    );
    let m = err(r#"yamldecode("a: [1, 2")"#);
    assert!(
        m.starts_with("error calling function `yamldecode`: argument 1 (src): invalid YAML: "),
        "{m}"
    );

    assert_eq!(
        eval(r#"yamlencode({"a" = "b", "c" = "d"})"#),
        json!("\"a\": \"b\"\n\"c\": \"d\"\n")
    );
    assert_eq!(
        eval(r#"yamlencode({"foo" = [1, 2, 3], "bar" = "baz"})"#),
        json!("\"bar\": \"baz\"\n\"foo\":\n- 1\n- 2\n- 3\n")
    );
    assert_eq!(
        eval(r#"yamlencode({"foo" = [1, {"a" = "b", "c" = "d"}, 3], "bar" = "baz"})"#),
        json!("\"bar\": \"baz\"\n\"foo\":\n- 1\n- \"a\": \"b\"\n  \"c\": \"d\"\n- 3\n")
    );
    // Round trip through both, with nesting, escapes and empty collections.
    let v = eval(
        r#"yamldecode(yamlencode({a = {b = [[1, 2], {c = "x\ny\"z"}], e = []}, f = {}, g = null, h = true}))"#,
    );
    assert_eq!(
        v,
        json!({"a": {"b": [[1, 2], {"c": "x\ny\"z"}], "e": []}, "f": {}, "g": null, "h": true})
    );
}

#[test]
fn bcrypt_hashes_verify() {
    let h = eval(r#"bcrypt("hunter2")"#);
    let h = h.as_str().expect("a string");
    assert!(h.starts_with("$2a$10$"), "{h}");
    assert!(bcrypt::verify("hunter2", h).expect("a valid hash"));
    assert!(!bcrypt::verify("hunter3", h).expect("a valid hash"));
    let h = eval(r#"bcrypt("pw", 5)"#);
    let h = h.as_str().expect("a string");
    assert!(
        h.starts_with("$2a$05$") && bcrypt::verify("pw", h).unwrap_or(false),
        "{h}"
    );

    assert_eq!(
        err(r#"bcrypt("pw", 3)"#),
        "error calling function `bcrypt`: argument 2 (cost): must be between 4 and 31, found 3"
    );
    assert_eq!(
        err(r#"bcrypt("pw", 10, 1)"#),
        "error calling function `bcrypt`: takes a password and an optional cost, got 3 arguments"
    );
    assert_eq!(
        err(&format!("bcrypt({:?})", "x".repeat(73))),
        "error calling function `bcrypt`: argument 1 (password): bcrypt takes at most 72 bytes, found 73"
    );
}

#[test]
fn rsadecrypt_with_pkcs1_and_pkcs8_keys() {
    // Ciphertext made by `openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:pkcs1`.
    let dir = fixture("funcs");
    for key in ["rsa-pkcs1.pem", "rsa-pkcs8.pem"] {
        let got = eval_in(
            &dir,
            "",
            &format!(r#"rsadecrypt(trimspace(file("rsa-ciphertext.b64")), file("{key}"))"#),
        );
        assert_eq!(got, Ok(json!("Hello, Drover!")), "{key}");
    }
    assert_eq!(
        err(r#"rsadecrypt("%%%", "key")"#),
        "error calling function `rsadecrypt`: argument 1 (ciphertext): must be base64-encoded"
    );
    assert_eq!(
        err(r#"rsadecrypt("aGVsbG8=", "not a key")"#),
        "error calling function `rsadecrypt`: argument 2 (privatekey): not an RSA private key in PEM (\"RSA PRIVATE KEY\" or \"PRIVATE KEY\")"
    );
    let got = eval_in(&dir, "", r#"rsadecrypt("aGVsbG8=", file("rsa-pkcs1.pem"))"#);
    let e = got.expect_err("bad ciphertext must fail");
    assert!(
        e.contains("error calling function `rsadecrypt`: failed to decrypt: "),
        "{e}"
    );
}

#[test]
fn fileset_globs_relative_to_the_job_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    for f in [
        "files/a.txt",
        "files/b.txt",
        "files/c.conf",
        "files/sub/d.txt",
        "files/sub/deeper/e.txt",
        "files/sub/deeper/f.tpl",
    ] {
        let p = root.join(f);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, "x").expect("write");
    }
    std::fs::create_dir_all(root.join("files/emptydir")).expect("mkdir");
    let set = |pattern: &str| {
        eval_in(root, "", &format!(r#"fileset("files", {pattern:?})"#))
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
    };
    assert_eq!(set("*.txt"), json!(["a.txt", "b.txt"]));
    assert_eq!(set("*"), json!(["a.txt", "b.txt", "c.conf"]));
    assert_eq!(
        set("**/*.txt"),
        json!(["a.txt", "b.txt", "sub/d.txt", "sub/deeper/e.txt"])
    );
    assert_eq!(
        set("sub/**"),
        json!(["sub/d.txt", "sub/deeper/e.txt", "sub/deeper/f.tpl"])
    );
    assert_eq!(set("{a,c}.*"), json!(["a.txt", "c.conf"]));
    assert_eq!(set("[ab].txt"), json!(["a.txt", "b.txt"]));
    assert_eq!(set("[!a]?txt"), json!(["b.txt"]));
    assert_eq!(set("nothing*"), json!([]));
    // An absolute path, and a directory that does not exist.
    let abs = root.join("files/sub").display().to_string();
    assert_eq!(
        eval_in(root, "", &format!(r#"fileset({abs:?}, "*.txt")"#)),
        Ok(json!(["d.txt"]))
    );
    assert_eq!(
        eval_in(root, "", r#"fileset("missing", "*")"#),
        Ok(json!([]))
    );
    let e = eval_in(root, "", r#"fileset("files", "[ab.txt")"#).expect_err("bad glob");
    assert!(
        e.contains(
            "error calling function `fileset`: argument 2 (pattern): unclosed [ in \"[ab.txt\""
        ),
        "{e}"
    );
    let e = eval_in(root, "", r#"fileset("files", "{a,b.txt")"#).expect_err("bad glob");
    assert!(e.contains("unclosed { in \"{a,b.txt\""), "{e}");
}

#[test]
fn fileset_needs_filesystem_access() {
    let text = job_text("", r#"fileset(".", "*")"#);
    let d = drover_jobspec::parse_hcl_without_fs("fn.hcl", &text, &VarInputs::default())
        .expect_err("fileset without fs access");
    assert!(
        d.to_string().contains("undefined function `fileset`"),
        "{d}"
    );
}

#[test]
fn cidr_ipv4_and_ipv6() {
    assert_eq!(
        eval(r#"cidrhost("10.12.112.0/20", 16)"#),
        json!("10.12.112.16")
    );
    assert_eq!(
        eval(r#"cidrhost("10.12.112.0/20", 268)"#),
        json!("10.12.113.12")
    );
    assert_eq!(
        eval(r#"cidrhost("10.12.112.0/20", -1)"#),
        json!("10.12.127.255")
    );
    assert_eq!(
        eval(r#"cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)"#),
        json!("fd00:fd12:3456:7890::22")
    );
    assert_eq!(
        eval(r#"cidrhost("fd00:fd12:3456:7890::/56", 16)"#),
        json!("fd00:fd12:3456:7800::10")
    );
    assert_eq!(
        eval(r#"cidrnetmask("172.16.0.0/12")"#),
        json!("255.240.0.0")
    );
    assert_eq!(
        eval(r#"cidrsubnet("172.16.0.0/12", 4, 2)"#),
        json!("172.18.0.0/16")
    );
    assert_eq!(
        eval(r#"cidrsubnet("10.1.2.0/24", 4, 15)"#),
        json!("10.1.2.240/28")
    );
    assert_eq!(
        eval(r#"cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)"#),
        json!("fd00:fd12:3456:7800:a200::/72")
    );
    assert_eq!(
        eval(r#"cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)"#),
        json!([
            "10.1.0.0/20",
            "10.1.16.0/20",
            "10.1.32.0/24",
            "10.1.48.0/20"
        ])
    );
    assert_eq!(
        eval(r#"cidrsubnets("fd00:fd12:3456:7890::/56", 16, 16, 16, 32)"#),
        json!([
            "fd00:fd12:3456:7800::/72",
            "fd00:fd12:3456:7800:100::/72",
            "fd00:fd12:3456:7800:200::/72",
            "fd00:fd12:3456:7800:300::/88"
        ])
    );
    assert_eq!(eval(r#"cidrsubnets("10.0.0.0/8")"#), json!([]));
    assert_eq!(
        eval(r#"cidrsubnets("0.0.0.0/0", 1, 1)"#),
        json!(["0.0.0.0/1", "128.0.0.0/1"])
    );
}

#[test]
fn cidr_errors() {
    assert_eq!(
        err(r#"cidrhost("10.0.0.0/30", 4)"#),
        "error calling function `cidrhost`: prefix of 30 bits cannot accommodate a host numbered 4"
    );
    assert_eq!(
        err(r#"cidrhost("10.0.0.0", 4)"#),
        "error calling function `cidrhost`: argument 1 (prefix): invalid CIDR \"10.0.0.0\": expected address/prefix"
    );
    assert_eq!(
        err(r#"cidrnetmask("fd00::/8")"#),
        "error calling function `cidrnetmask`: argument 1 (prefix): only IPv4 networks have a netmask; IPv6 uses the prefix length"
    );
    assert_eq!(
        err(r#"cidrsubnet("fd00::/120", 9, 0)"#),
        "error calling function `cidrsubnet`: insufficient address space to extend prefix of 120 by 9"
    );
    assert_eq!(
        err(r#"cidrsubnet("10.0.0.0/24", 2, 4)"#),
        "error calling function `cidrsubnet`: prefix extension of 2 does not accommodate a subnet numbered 4"
    );
    assert_eq!(
        err(r#"cidrsubnets("10.0.0.0/24", 1, 1, 1)"#),
        "error calling function `cidrsubnets`: argument 4 (newbits): not enough remaining address space for a subnet with a prefix of 25 bits"
    );
    assert_eq!(
        err(r#"cidrsubnets("10.0.0.0/24", 0)"#),
        "error calling function `cidrsubnets`: argument 2 (newbits): must extend the prefix by at least one bit"
    );
    assert_eq!(
        err(r#"cidrsubnets("10.0.0.0/24", 9)"#),
        "error calling function `cidrsubnets`: argument 2 (newbits): would extend the prefix to 33 bits, too long for an IPv4 address"
    );
}

#[test]
fn every_nomad_function_is_defined() {
    // Nomad's jobspec2 table (its FS-guarded ones included).
    let nomad = "abs abspath base64decode base64encode basename bcrypt can ceil chomp chunklist \
        cidrhost cidrnetmask cidrsubnet cidrsubnets coalesce coalescelist compact concat contains \
        convert csvdecode dirname distinct element file filebase64 fileexists fileset flatten \
        floor format formatdate formatlist indent index join jsondecode jsonencode keys length \
        log lookup lower max md5 merge min parseint pathexpand pow range regex_replace replace \
        reverse rsadecrypt setintersection setproduct setunion sha1 sha256 sha512 signum slice \
        sort split strlen strrev substr timeadd title trim trimprefix trimspace trimsuffix try \
        upper urlencode uuidv4 uuidv5 values yamldecode yamlencode zipmap";
    for name in nomad.split_whitespace() {
        assert!(
            drover_jobspec::hcl2::funcs::NAMES.contains(&name),
            "{name} is missing"
        );
    }
}

#[test]
fn division_and_modulo_by_zero_are_errors_not_panics() {
    assert_eq!(eval("10 / 4"), json!(2.5));
    assert_eq!(eval("7 % 3"), json!(1));
    assert_eq!(eval("\"${8 / 2}\""), json!(4));
    assert_eq!(eval("try(1 / 0, \"fallback\")"), json!("fallback"));
    for expr in ["1 / 0", "\"${1/0}\"", "5 % 0", "[1 % 0]"] {
        let e = err(expr);
        assert!(e.contains("by zero"), "{expr}: {e}");
    }
    let e = eval_with("variable \"zero\" {\n  default = 0\n}\n", "100 / var.zero").unwrap_err();
    assert!(e.contains("division by zero"), "{e}");
}
