//! `${…}` interpolation as Nomad's `helper/args.ReplaceEnv` does it.
//!
//! A reference is `${` + one or more of `[A-Za-z0-9_.-]` + `}`; it is looked up in each
//! map in turn and, when no map has it, left exactly as written (so a later stage, or the
//! task itself, can still see it). Drover also accepts HCL2's index form `${env["X"]}`,
//! looked up in the task's environment only; an unknown one is left as written too.

use std::collections::BTreeMap;

use serde_json::Value;

fn is_ref_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// `env["X"]` → `X`.
fn env_index(inner: &str) -> Option<&str> {
    let key = inner.strip_prefix("env[\"")?.strip_suffix("\"]")?;
    (!key.is_empty() && !key.contains('"')).then_some(key)
}

/// Replaces every `${name}` found in one of `maps` (first wins) and every `${env["X"]}`
/// found in `env`; everything else is copied unchanged.
pub fn replace(
    input: &str,
    env: &BTreeMap<String, String>,
    maps: &[&BTreeMap<String, String>],
) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find('}').and_then(|end| {
            let inner = &after[..end];
            let found = if !inner.is_empty() && inner.chars().all(is_ref_char) {
                maps.iter().find_map(|m| m.get(inner))
            } else {
                env_index(inner).and_then(|k| env.get(k))
            };
            found.map(|v| (v, end))
        });
        match value {
            Some((v, end)) => {
                out.push_str(v);
                rest = &after[end + 1..];
            }
            None => {
                // Not a (known) reference: keep the `$` and rescan from the next char, so
                // `${${X}}` still finds the inner `${X}` like the regex does.
                out.push('$');
                rest = &rest[start + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Interpolates every string inside a JSON value (a driver `config`); keys are kept.
pub fn replace_json(
    value: &Value,
    env: &BTreeMap<String, String>,
    maps: &[&BTreeMap<String, String>],
) -> Value {
    match value {
        Value::String(s) => Value::String(replace(s, env, maps)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| replace_json(v, env, maps)).collect())
        }
        Value::Object(obj) => Value::Object(
            obj.iter()
                .map(|(k, v)| (k.clone(), replace_json(v, env, maps)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Nomad's `helper.CleanEnvVar(s, '_')`: characters other than letters, `_`, `.` and
/// (after the first position) digits become `_`.
pub fn clean_env_var(s: &str) -> String {
    s.char_indices()
        .map(|(i, c)| {
            let ok =
                c == '_' || c == '.' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
            if ok { c } else { '_' }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn replace_table() {
        let env = m(&[
            ("NOMAD_ALLOC_ID", "a1"),
            ("HOME", "/root"),
            ("odd key", "x"),
        ]);
        let node = m(&[
            ("node.unique.id", "n1"),
            ("attr.kernel.name", "linux"),
            ("meta.rack", "r9"),
        ]);
        let cases = [
            ("plain", "plain"),
            ("${NOMAD_ALLOC_ID}", "a1"),
            ("id=${NOMAD_ALLOC_ID}/${node.unique.id}", "id=a1/n1"),
            ("${attr.kernel.name}-${meta.rack}", "linux-r9"),
            ("${UNKNOWN}", "${UNKNOWN}"),
            ("${attr.missing}", "${attr.missing}"),
            ("${env[\"HOME\"]}", "/root"),
            ("${env[\"odd key\"]}", "x"),
            ("${env[\"NOPE\"]}", "${env[\"NOPE\"]}"),
            ("${}", "${}"),
            ("${ NOMAD_ALLOC_ID }", "${ NOMAD_ALLOC_ID }"),
            ("$${NOMAD_ALLOC_ID}", "$a1"),
            ("${${NOMAD_ALLOC_ID}}", "${a1}"),
            (
                "unterminated ${NOMAD_ALLOC_ID",
                "unterminated ${NOMAD_ALLOC_ID",
            ),
            ("$NOMAD_ALLOC_ID", "$NOMAD_ALLOC_ID"),
            ("ünï${HOME}cödé", "ünï/rootcödé"),
        ];
        for (input, want) in cases {
            assert_eq!(replace(input, &env, &[&env, &node]), want, "{input}");
        }
    }

    #[test]
    fn first_map_wins_and_json_strings_are_replaced() {
        let a = m(&[("X", "from-a")]);
        let b = m(&[("X", "from-b"), ("Y", "y")]);
        assert_eq!(replace("${X}${Y}", &a, &[&a, &b]), "from-ay");
        assert_eq!(replace("${X}", &a, &[&b, &a]), "from-b");
        let v =
            serde_json::json!({"command": "${X}", "args": ["-p", "${Y}", 3], "n": {"k": "${Z}"}});
        assert_eq!(
            replace_json(&v, &a, &[&a, &b]),
            serde_json::json!({"command": "from-a", "args": ["-p", "y", 3], "n": {"k": "${Z}"}})
        );
    }

    #[test]
    fn clean_env_var_table() {
        for (input, want) in [
            ("NOMAD_PORT_http", "NOMAD_PORT_http"),
            ("NOMAD_PORT_my-port", "NOMAD_PORT_my_port"),
            ("NOMAD_META_a.b", "NOMAD_META_a.b"),
            ("1abc", "_abc"),
            ("NOMAD_META_ü", "NOMAD_META__"),
        ] {
            assert_eq!(clean_env_var(input), want, "{input}");
        }
    }
}
