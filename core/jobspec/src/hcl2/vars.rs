//! Input variables and locals.
//!
//! `variable "name" { type, default, description, validation { condition, error_message } }`
//! and the shorthand `variables { name = default }`. Values, last wins (Nomad's order):
//! `default` < env `NOMAD_VAR_<name>` < each `-var-file` in order < each `-var k=v` in order.
//! A variable with neither default nor value is an error (`Unset variable`), so is a
//! `-var` or var-file entry for a variable the job does not declare.

use std::path::Path as FsPath;

use hcl::Value;
use hcl::edit::Span;
use hcl::edit::structure::{self as es, Structure};
use hcl::eval::{Context, Evaluate};

use drover_hcl::{Diagnostic, Source};

use super::eval::{Evaluator, eval_message, kind, label_str, start};
use super::refs::Scope;
use super::tree::Path;
use super::typecon::Ty;
use crate::VarInputs;

/// Environment variables with this prefix set job variables.
pub const VAR_ENV_PREFIX: &str = "NOMAD_VAR_";

struct Decl {
    name: String,
    at: usize,
    ty: Ty,
    value: Option<Value>,
    validations: Vec<(hcl::edit::expr::Expression, String)>,
}

/// Read the declarations, apply every input, run validations; returns the `var` object.
pub(crate) fn resolve(
    ev: &mut Evaluator,
    variable_blocks: Vec<es::Block>,
    variables_blocks: Vec<es::Block>,
    inputs: &VarInputs,
    funcs: &Context,
) -> hcl::Map<String, Value> {
    let mut decls: Vec<Decl> = Vec::new();
    for b in variable_blocks {
        if let Some(d) = declaration(ev, b, funcs) {
            if decls.iter().any(|x| x.name == d.name) {
                let msg = format!("duplicate variable \"{}\"", d.name);
                ev.error(
                    d.at,
                    &Path::root().block("variable", std::slice::from_ref(&d.name)),
                    msg,
                );
                continue;
            }
            decls.push(d);
        }
    }
    for b in variables_blocks {
        let path = Path::root().key("variables");
        for s in b.body {
            match s {
                Structure::Attribute(a) => {
                    let name = a.key.as_str().to_string();
                    let at = start(a.key.span());
                    let value = ev.expr(a.value, funcs, &path.key(&name));
                    if decls.iter().any(|x| x.name == name) {
                        ev.error(
                            at,
                            &path.key(&name),
                            format!("duplicate variable \"{name}\""),
                        );
                        continue;
                    }
                    decls.push(Decl {
                        name,
                        at,
                        ty: Ty::Any,
                        value,
                        validations: Vec::new(),
                    });
                }
                Structure::Block(inner) => {
                    let at = start(inner.ident.span());
                    ev.error(
                        at,
                        &path,
                        "variables { } holds only name = default attributes",
                    );
                }
            }
        }
    }

    // NOMAD_VAR_<name>: undeclared names are ignored (the environment is shared).
    for (k, v) in &inputs.env {
        let Some(name) = k.strip_prefix(VAR_ENV_PREFIX) else {
            continue;
        };
        if let Some(d) = decls.iter_mut().find(|d| d.name == name) {
            match raw_value(&d.ty, v) {
                Ok(val) => d.value = Some(val),
                Err(e) => ev.diags.push(Diagnostic::file_level(
                    ev.src.name(),
                    format!("{k}: invalid value for variable \"{name}\": {e}"),
                )),
            }
        }
    }
    for file in &inputs.files {
        var_file(ev, file, &mut decls);
    }
    for (name, text) in &inputs.texts {
        var_text(ev, name, text.clone(), &mut decls);
    }
    for (name, v) in &inputs.cli {
        let Some(d) = decls.iter_mut().find(|d| &d.name == name) else {
            ev.diags.push(Diagnostic::file_level(
                ev.src.name(),
                format!(
                    "Undefined -var variable \"{name}\": the job declares no variable \"{name}\""
                ),
            ));
            continue;
        };
        match raw_value(&d.ty, v) {
            Ok(val) => d.value = Some(val),
            Err(e) => ev.diags.push(Diagnostic::file_level(
                ev.src.name(),
                format!("-var {name}: invalid value: {e}"),
            )),
        }
    }

    let mut out = hcl::Map::new();
    for d in decls {
        let path = Path::root().block("variable", std::slice::from_ref(&d.name));
        let Some(value) = d.value else {
            let msg = format!(
                "Unset variable \"{0}\": give it a default, or set it with -var {0}=…, -var-file or {VAR_ENV_PREFIX}{0}",
                d.name
            );
            ev.error(d.at, &path, msg);
            continue;
        };
        let value = match d.ty.convert(value) {
            Ok(v) => v,
            Err(e) => {
                ev.error(
                    d.at,
                    &path,
                    format!("invalid value for variable \"{}\": {e}", d.name),
                );
                continue;
            }
        };
        for (cond, message) in d.validations {
            let mut ctx = funcs.clone();
            let mut one = hcl::Map::new();
            one.insert(d.name.clone(), value.clone());
            ctx.declare_var("var", Value::Object(one));
            let at = start(cond.span());
            let validation = path.key("validation");
            let vpath = validation.key("condition");
            match ev.expr(cond, &ctx, &vpath) {
                Some(Value::Bool(true)) | None => {}
                Some(Value::Bool(false)) => ev.error(at, &vpath, message),
                Some(other) => ev.error(
                    at,
                    &vpath,
                    format!("expected a bool, found {}", kind(&other)),
                ),
            }
        }
        out.insert(d.name, value);
    }
    out
}

fn declaration(ev: &mut Evaluator, b: es::Block, funcs: &Context) -> Option<Decl> {
    let at = start(b.ident.span());
    let Some(name) = b
        .labels
        .first()
        .map(label_str)
        .filter(|_| b.labels.len() == 1)
    else {
        ev.error(
            at,
            &Path::root().key("variable"),
            "a variable block needs one label: its name",
        );
        return None;
    };
    let name_label = [name.clone()];
    let path = Path::root().block("variable", &name_label);
    let mut d = Decl {
        name,
        at,
        ty: Ty::Any,
        value: None,
        validations: Vec::new(),
    };
    for s in b.body {
        match s {
            Structure::Attribute(a) => match a.key.as_str() {
                "type" => {
                    let e: hcl::Expression = a.value.clone().into();
                    match Ty::parse(&e) {
                        Ok(t) => d.ty = t,
                        Err(m) => ev.error(start(a.value.span()), &path.key("type"), m),
                    }
                }
                "default" => d.value = ev.expr(a.value, funcs, &path.key("default")),
                "description" | "sensitive" | "nullable" => {}
                other => {
                    let msg = drover_hcl::unknown_key_message(
                        other,
                        &["type", "default", "description", "sensitive", "validation"],
                    );
                    ev.error(start(a.key.span()), &path.key(other), msg);
                }
            },
            Structure::Block(v) if v.ident.as_str() == "validation" => {
                let vat = start(v.ident.span());
                let vpath = path.key("validation");
                let mut cond = None;
                let mut message = None;
                for s in v.body {
                    match s {
                        Structure::Attribute(a) if a.key.as_str() == "condition" => {
                            cond = Some(a.value)
                        }
                        Structure::Attribute(a) if a.key.as_str() == "error_message" => {
                            let p = vpath.key("error_message");
                            match ev.expr(a.value, funcs, &p) {
                                Some(Value::String(s)) if !s.trim().is_empty() => message = Some(s),
                                _ => ev.error(vat, &p, "error_message must be a non-empty string"),
                            }
                        }
                        Structure::Attribute(a) => {
                            let msg = drover_hcl::unknown_key_message(
                                a.key.as_str(),
                                &["condition", "error_message"],
                            );
                            ev.error(start(a.key.span()), &vpath.key(a.key.as_str()), msg);
                        }
                        Structure::Block(x) => {
                            ev.error(start(x.ident.span()), &vpath, "unexpected block")
                        }
                    }
                }
                match (cond, message) {
                    (Some(c), Some(m)) => d.validations.push((c, m)),
                    _ => ev.error(vat, &vpath, "validation needs condition and error_message"),
                }
            }
            Structure::Block(v) => {
                let msg = format!("unexpected block \"{}\"", v.ident.as_str());
                ev.error(start(v.ident.span()), &path, msg);
            }
        }
    }
    Some(d)
}

/// A value given as text (-var, NOMAD_VAR_): strings stay strings; other types are
/// read as an HCL expression (`[1, 2]`, `{a = 1}`, `true`).
fn raw_value(ty: &Ty, text: &str) -> Result<Value, String> {
    if ty.takes_raw_string() {
        return Ok(Value::String(text.to_string()));
    }
    if let Ty::Number | Ty::Bool = ty {
        return ty.convert(Value::String(text.to_string()));
    }
    let expr: hcl::Expression = text.parse().map_err(|e: hcl::Error| e.to_string())?;
    let v = expr
        .evaluate(&Context::new())
        .map_err(|e| eval_message(&e))?;
    ty.convert(v)
}

/// An HCL (or JSON, by extension) file of `name = value`.
fn var_file(ev: &mut Evaluator, file: &FsPath, decls: &mut [Decl]) {
    let name = file.display().to_string();
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            ev.diags.push(Diagnostic::file_level(
                &name,
                format!("cannot read var file: {e}"),
            ));
            return;
        }
    };
    var_text(ev, &name, text, decls);
}

/// Apply one var file's text; JSON when `name` ends in `.json`, else HCL.
fn var_text(ev: &mut Evaluator, name: &str, text: String, decls: &mut [Decl]) {
    let src = Source::new(name.to_string(), text);
    let mut fev = Evaluator::new(&src, Scope::default());
    let values: Vec<(String, usize, Option<Value>)> = if name.ends_with(".json") {
        match src.parse_json() {
            Ok(serde_json::Value::Object(o)) => o
                .into_iter()
                .map(|(k, v)| (k, 0, hcl::to_value(v).ok()))
                .collect(),
            Ok(_) => {
                fev.error(0, Path::root(), "a JSON var file must be an object");
                Vec::new()
            }
            Err(d) => {
                fev.diags.push(d);
                Vec::new()
            }
        }
    } else {
        match hcl::edit::parser::parse_body(src.text()) {
            Ok(body) => {
                let mut v = Vec::new();
                for s in body {
                    match s {
                        Structure::Attribute(a) => {
                            let k = a.key.as_str().to_string();
                            let at = start(a.key.span());
                            let val = fev.expr(a.value, &Context::new(), &Path::root().key(&k));
                            v.push((k, at, val));
                        }
                        Structure::Block(b) => fev.error(
                            start(b.ident.span()),
                            Path::root(),
                            "a var file holds only name = value attributes",
                        ),
                    }
                }
                v
            }
            Err(e) => {
                let msg = format!("syntax error: {}", e.message());
                fev.error(e.location().offset(), Path::root(), msg);
                Vec::new()
            }
        }
    };
    for (k, at, v) in values {
        let Some(v) = v else { continue };
        match decls.iter_mut().find(|d| d.name == k) {
            Some(d) => d.value = Some(v),
            None => fev.error(
                at,
                &Path::root().key(&k),
                format!("undefined variable \"{k}\": the job declares no variable \"{k}\""),
            ),
        }
    }
    ev.diags.extend(fev.diags);
}

/// `locals { … }` blocks, evaluated in passes so locals may refer to each other in any
/// order; what still fails after a pass without progress is reported.
pub(crate) fn locals(ev: &mut Evaluator, blocks: Vec<es::Block>, ctx: &mut Context) {
    let mut pending: Vec<(String, usize, hcl::edit::expr::Expression)> = Vec::new();
    for b in blocks {
        for s in b.body {
            match s {
                Structure::Attribute(a) => {
                    let name = a.key.as_str().to_string();
                    let at = start(a.key.span());
                    if pending.iter().any(|(n, _, _)| *n == name) {
                        let locals = Path::root().key("locals");
                        let p = locals.key(&name);
                        ev.error(at, &p, format!("duplicate local \"{name}\""));
                        continue;
                    }
                    pending.push((name, at, a.value));
                }
                Structure::Block(x) => ev.error(
                    start(x.ident.span()),
                    &Path::root().key("locals"),
                    "locals { } holds only name = value attributes",
                ),
            }
        }
    }
    let mut done = hcl::Map::new();
    ctx.declare_var("local", Value::Object(done.clone()));
    // `try`/`can` wait for the locals they name while passes make progress; once none
    // does, they may fall back (a local that never evaluates).
    let mut defer = true;
    for _pass in 0..100 {
        if pending.is_empty() {
            break;
        }
        let before = pending.len();
        let mut still = Vec::new();
        for (name, at, expr) in pending {
            let mut probe = Evaluator::new(ev.src, ev.scope.clone());
            probe.defer_locals = defer;
            let locals = Path::root().key("locals");
            let p = locals.key(&name);
            match probe.expr(expr.clone(), ctx, &p) {
                Some(v) if probe.diags.is_empty() => {
                    done.insert(name, v);
                    ctx.declare_var("local", Value::Object(done.clone()));
                }
                _ => still.push((name, at, expr)),
            }
        }
        pending = still;
        if pending.len() == before {
            if !defer {
                break;
            }
            defer = false;
        }
    }
    for (name, _, expr) in pending {
        ev.expr(expr, ctx, &Path::root().key("locals").key(&name));
    }
}
