//! `yamldecode(text)` (one YAML document to a value; scalar map keys become strings)
//! and `yamlencode(value)` (block-style YAML with sorted keys and double-quoted strings,
//! the form Terraform's and Nomad's `yamlencode` prints).

use hcl::Value;
use hcl::eval::{Context, ParamType as P};
use serde_norway::Value as Y;

use super::{def, s};

pub(super) fn register(ctx: &mut Context) {
    def(ctx, "yamldecode", &[P::String], None, |a| {
        let y: Y = serde_norway::from_str(&s(&a[0]))
            .map_err(|e| format!("argument 1 (src): invalid YAML: {e}"))?;
        from_yaml(y).map_err(|e| format!("argument 1 (src): {e}"))
    });
    def(ctx, "yamlencode", &[P::Any], None, |a| {
        let mut out = String::new();
        encode(&a[0], 0, &mut out);
        Ok(Value::from(out))
    });
}

fn from_yaml(y: Y) -> Result<Value, String> {
    Ok(match y {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                hcl::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("the number {f} has no HCL value"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(from_yaml).collect::<Result<_, _>>()?)
        }
        Y::Mapping(m) => {
            let mut out = hcl::Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    Y::Null => "null".to_string(),
                    _ => return Err("map keys must be strings, numbers or bools".to_string()),
                };
                out.insert(key, from_yaml(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => from_yaml(t.value)?,
    })
}

/// A YAML double-quoted scalar (JSON's escapes are valid YAML ones).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn scalar(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s),
        Value::Array(a) if a.is_empty() => "[]".to_string(),
        Value::Object(o) if o.is_empty() => "{}".to_string(),
        _ => return None,
    })
}

/// Append `v` as a block at `indent` columns; a scalar is one line.
fn encode(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    if let Some(text) = scalar(v) {
        out.push_str(&text);
        out.push('\n');
        return;
    }
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                // Items start on the dash's line, nested blocks two columns in.
                encode(item, indent + 2, out);
            }
        }
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(&pad);
                }
                out.push_str(&quoted(k));
                out.push(':');
                let item = &o[k.as_str()];
                match (scalar(item), item) {
                    (Some(text), _) => {
                        out.push(' ');
                        out.push_str(&text);
                        out.push('\n');
                    }
                    // A list under a key stays at the key's column.
                    (None, Value::Array(_)) => {
                        out.push('\n');
                        out.push_str(&pad);
                        encode(item, indent, out);
                    }
                    (None, _) => {
                        out.push('\n');
                        out.push_str(&" ".repeat(indent + 2));
                        encode(item, indent + 2, out);
                    }
                }
            }
        }
        _ => {}
    }
}
