//! The table-driven decoder: an evaluated HCL body plus a schema (HCL name → API JSON
//! name and kind) gives the Nomad API JSON object, and an error for every unknown key,
//! wrong type, bad duration, repeated single block or duplicate label, each located.

use hcl::Value;
use serde_json::{Map, Value as Json};

use drover_hcl::{Diagnostics, Source};

use crate::hcl2::eval::kind;
use crate::hcl2::tree::{Attr, Block, Body, Path};

/// How one HCL key decodes.
#[derive(Clone, Copy)]
pub(crate) enum K {
    Str,
    Int,
    Bool,
    /// Go duration string or integer nanoseconds → nanoseconds.
    Dur,
    StrList,
    /// `key = { … }` or `key { … }` of string values.
    StrMap,
    /// Any value or block, kept as JSON (driver `config`, `vault`, `consul` …).
    Any,
    /// One unlabeled block, decoded with a schema.
    Block(&'static [F]),
    /// Repeatable unlabeled block → JSON list.
    Blocks(&'static [F]),
    /// A block handled by the caller; known here so it is not "unknown".
    Custom,
    /// An attribute handled by the caller.
    CustomAttr,
}

/// One schema entry.
#[derive(Clone, Copy)]
pub(crate) struct F {
    pub hcl: &'static str,
    pub json: &'static str,
    pub kind: K,
}

pub(crate) const fn f(hcl: &'static str, json: &'static str, kind: K) -> F {
    F { hcl, json, kind }
}

/// Collects errors for one file.
pub(crate) struct Ctx<'s> {
    pub src: &'s Source,
    pub diags: Diagnostics,
}

impl Ctx<'_> {
    pub(crate) fn error(&mut self, at: usize, path: &Path, msg: impl Into<String>) {
        self.diags.push(self.src.at_offset(at, &path.render(), msg));
    }

    /// Decode `body` with `schema`; custom keys are left to the caller.
    pub(crate) fn body(&mut self, body: &Body, schema: &[F], path: &Path) -> Map<String, Json> {
        let mut out = Map::new();
        let names = || schema.iter().map(|f| f.hcl).collect::<Vec<_>>();
        for (i, a) in body.attrs.iter().enumerate() {
            let p = path.key(&a.key);
            if body.attrs[..i].iter().any(|b| b.key == a.key) {
                self.error(a.key_at, &p, format!("duplicate attribute \"{}\"", a.key));
                continue;
            }
            let Some(field) = schema.iter().find(|f| f.hcl == a.key) else {
                self.error(
                    a.key_at,
                    &p,
                    drover_hcl::unknown_key_message(&a.key, &names()),
                );
                continue;
            };
            if body.blocks.iter().any(|b| b.ident == a.key) {
                let msg = format!("\"{}\" is given both as an attribute and as a block", a.key);
                self.error(a.key_at, &p, msg);
                continue;
            }
            let v = match field.kind {
                K::CustomAttr => continue,
                K::Block(_) | K::Blocks(_) | K::Custom => {
                    let msg = format!("\"{}\" is a block: write {} {{ … }}", a.key, a.key);
                    self.error(a.key_at, &p, msg);
                    continue;
                }
                k => self.attr_value(a, k, &p),
            };
            if let Some(v) = v {
                out.insert(field.json.to_string(), v);
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for b in &body.blocks {
            let p = path.block(&b.ident, &b.labels);
            let Some(field) = schema.iter().find(|f| f.hcl == b.ident) else {
                self.error(
                    b.at,
                    &p,
                    drover_hcl::unknown_key_message(&b.ident, &names()),
                );
                continue;
            };
            match field.kind {
                K::Custom => {}
                K::Block(s) => {
                    if seen.contains(&field.hcl) {
                        self.error(
                            b.at,
                            &p,
                            format!("duplicate {} block: give it once", b.ident),
                        );
                        continue;
                    }
                    seen.push(field.hcl);
                    self.no_labels(b, &p);
                    let v = self.body(&b.body, s, &p);
                    out.insert(field.json.to_string(), Json::Object(v));
                }
                K::Blocks(s) => {
                    self.no_labels(b, &p);
                    let n = body
                        .blocks(&b.ident)
                        .take_while(|x| !std::ptr::eq(*x, b))
                        .count();
                    let v = self.body(&b.body, s, &path.key(&b.ident).index(n));
                    push_list(&mut out, field.json, Json::Object(v));
                }
                K::StrMap | K::Any => {
                    if seen.contains(&field.hcl) {
                        self.error(
                            b.at,
                            &p,
                            format!("duplicate {} block: give it once", b.ident),
                        );
                        continue;
                    }
                    seen.push(field.hcl);
                    self.no_labels(b, &p);
                    let v = if matches!(field.kind, K::Any) {
                        Some(body_json(&b.body))
                    } else {
                        self.str_map_block(&b.body, &p)
                    };
                    if let Some(v) = v {
                        out.insert(field.json.to_string(), v);
                    }
                }
                _ => {
                    let msg = format!("\"{}\" is an attribute: write {} = …", b.ident, b.ident);
                    self.error(b.at, &p, msg);
                }
            }
        }
        out
    }

    pub(crate) fn no_labels(&mut self, b: &Block, p: &Path) {
        if !b.labels.is_empty() {
            self.error(b.at, p, format!("a {} block takes no label", b.ident));
        }
    }

    /// Exactly one label; reports and returns None otherwise.
    pub(crate) fn one_label<'b>(&mut self, b: &'b Block, p: &Path) -> Option<&'b str> {
        match b.labels.as_slice() {
            [l] => Some(l),
            _ => {
                let msg = format!(
                    "a {0} block needs one label, e.g. {0} \"name\" {{ … }}",
                    b.ident
                );
                self.error(b.at, p, msg);
                None
            }
        }
    }

    /// Labeled blocks of one type, reporting duplicate labels.
    pub(crate) fn labeled<'b>(
        &mut self,
        body: &'b Body,
        ident: &'b str,
        path: &'b Path<'b>,
    ) -> Vec<(&'b str, &'b Block, Path<'b>)> {
        let mut out: Vec<(&str, &Block, Path)> = Vec::new();
        for b in body.blocks(ident) {
            let p = path.block(&b.ident, &b.labels);
            let Some(l) = self.one_label(b, &p) else {
                continue;
            };
            if out.iter().any(|(x, _, _)| *x == l) {
                self.error(
                    b.at,
                    &p,
                    format!("duplicate {ident} \"{l}\": labels must be unique"),
                );
                continue;
            }
            out.push((l, b, p));
        }
        out
    }

    pub(crate) fn attr_value(&mut self, a: &Attr, k: K, p: &Path) -> Option<Json> {
        match self.convert(&a.value, k) {
            Ok(v) => Some(v),
            Err(m) => {
                self.error(a.value_at, p, m);
                None
            }
        }
    }

    pub(crate) fn convert(&mut self, v: &Value, k: K) -> Result<Json, String> {
        let expected = |what: &str| format!("expected {what}, found {}", kind(v));
        match (k, v) {
            (K::Str, Value::String(s)) => Ok(Json::String(s.clone())),
            (K::Str, Value::Number(n)) => Ok(Json::String(n.to_string())),
            (K::Str, Value::Bool(b)) => Ok(Json::String(b.to_string())),
            (K::Str, _) => Err(expected("a string")),
            (K::Int, Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Json::from(i)),
                None => Err(format!("expected a whole number, found {n}")),
            },
            (K::Int, _) => Err(expected("a number")),
            (K::Bool, Value::Bool(b)) => Ok(Json::Bool(*b)),
            (K::Bool, _) => Err(expected("a bool")),
            (K::Dur, Value::String(s)) => drover_hcl::parse_duration(s)
                .map(|d| Json::from(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
                .map_err(|e| e.to_string()),
            (K::Dur, Value::Number(n)) => n
                .as_i64()
                .map(Json::from)
                .ok_or_else(|| format!("expected whole nanoseconds, found {n}")),
            (K::Dur, _) => Err(expected("a duration like \"30s\"")),
            (K::StrList, Value::Array(items)) => items
                .iter()
                .map(|x| self.convert(x, K::Str))
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array),
            (K::StrList, _) => Err(expected("a list of strings")),
            (K::StrMap, Value::Object(o)) => o
                .iter()
                .map(|(key, x)| {
                    self.convert(x, K::Str)
                        .map(|s| (key.clone(), s))
                        .map_err(|e| format!("{key}: {e}"))
                })
                .collect::<Result<Map<_, _>, _>>()
                .map(Json::Object),
            (K::StrMap, _) => Err(expected("a map of strings")),
            (K::Any, v) => Ok(value_json(v)),
            (K::Block(_) | K::Blocks(_) | K::Custom | K::CustomAttr, _) => {
                Err("unexpected value".to_string())
            }
        }
    }

    /// A block of `name = "string"` attributes (env, meta, options, headers).
    pub(crate) fn str_map_block(&mut self, body: &Body, p: &Path) -> Option<Json> {
        let mut out = Map::new();
        for a in &body.attrs {
            if let Some(v) = self.attr_value(a, K::Str, &p.key(&a.key)) {
                out.insert(a.key.clone(), v);
            }
        }
        for b in &body.blocks {
            let msg = format!(
                "unexpected block \"{}\": only name = value attributes here",
                b.ident
            );
            self.error(b.at, p, msg);
        }
        Some(Json::Object(out))
    }
}

pub(crate) fn push_list(out: &mut Map<String, Json>, key: &str, v: Json) {
    match out.get_mut(key) {
        Some(Json::Array(a)) => a.push(v),
        _ => {
            out.insert(key.to_string(), Json::Array(vec![v]));
        }
    }
}

pub(crate) fn value_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Json::from(i),
            (_, Some(u), _) => Json::from(u),
            (_, _, Some(f)) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
            _ => Json::Null,
        },
        Value::String(s) => Json::String(s.clone()),
        Value::Array(a) => Json::Array(a.iter().map(value_json).collect()),
        Value::Object(o) => {
            Json::Object(o.iter().map(|(k, v)| (k.clone(), value_json(v))).collect())
        }
    }
}

/// An opaque block as JSON: attributes as values; nested blocks keyed by type, then
/// by label; a block type given once is an object, given several times a list.
pub(crate) fn body_json(body: &Body) -> Json {
    let mut out = Map::new();
    for a in &body.attrs {
        out.insert(a.key.clone(), value_json(&a.value));
    }
    for b in &body.blocks {
        let mut v = body_json(&b.body);
        for l in b.labels.iter().rev() {
            let mut m = Map::new();
            m.insert(l.clone(), v);
            v = Json::Object(m);
        }
        match out.get_mut(&b.ident) {
            Some(Json::Array(a)) if body.blocks(&b.ident).count() > 1 => a.push(v),
            _ if body.blocks(&b.ident).count() > 1 => {
                out.insert(b.ident.clone(), Json::Array(vec![v]));
            }
            _ => {
                out.insert(b.ident.clone(), v);
            }
        }
    }
    Json::Object(out)
}
