//! Evaluation of a parsed (hcl-edit, with spans) body into a [`tree::Body`] of values:
//! expressions through hcl-rs with run-time references protected ([`refs`]), and
//! `dynamic "type" { for_each, iterator, labels, content }` blocks expanded.

use hcl::Value;
use hcl::edit::Span;
use hcl::edit::expr::ObjectKey;
use hcl::edit::structure::{self as es, BlockLabel, Structure};
use hcl::edit::template::StringTemplate;
use hcl::eval::{Context, Evaluate};
use hcl::template::{Element, Template};

use drover_hcl::{Diagnostics, Source};

use super::refs::{self, Scope};
use super::tree::{Attr, Block, Body, Path};

/// Walks bodies, collecting every error rather than stopping at the first.
pub(crate) struct Evaluator<'s> {
    pub src: &'s Source,
    pub diags: Diagnostics,
    pub scope: Scope,
    /// Set while probing locals: a `try`/`can` argument naming a local not evaluated
    /// yet fails the expression instead of falling back (see [`super::lazy`]).
    pub defer_locals: bool,
}

pub(crate) fn start(span: Option<std::ops::Range<usize>>) -> usize {
    span.map_or(0, |s| s.start)
}

pub(crate) fn label_str(l: &BlockLabel) -> String {
    match l {
        BlockLabel::Ident(i) => i.as_str().to_string(),
        BlockLabel::String(s) => s.value().to_string(),
    }
}

/// hcl-rs messages name the whole expression; the diagnostic already shows the line.
pub(crate) fn eval_message(e: &hcl::eval::Error) -> String {
    e.kind().to_string()
}

impl<'s> Evaluator<'s> {
    pub(crate) fn new(src: &'s Source, scope: Scope) -> Self {
        Evaluator {
            src,
            diags: Diagnostics::new(),
            scope,
            defer_locals: false,
        }
    }

    pub(crate) fn error(&mut self, at: usize, path: &Path, msg: impl Into<String>) {
        self.diags.push(self.src.at_offset(at, &path.render(), msg));
    }

    /// Evaluate one expression; on error, report it at the expression and return None.
    pub(crate) fn expr(
        &mut self,
        expr: hcl::edit::expr::Expression,
        ctx: &Context,
        path: &Path,
    ) -> Option<Value> {
        let at = start(expr.span());
        // Most attributes are literals, and most templates only interpolate
        // references: both are evaluated straight from the parsed form, without the
        // conversion to hcl-rs expressions (which prints and re-parses templates).
        if is_literal(&expr) {
            return Some(literal(expr));
        }
        let expr = match expr {
            EditExpr::StringTemplate(t) if !self.may_call_lazy(t.span()) => {
                return match self.template(t, ctx) {
                    Ok(v) => Some(v),
                    Err(msg) => {
                        self.error(at, path, msg);
                        None
                    }
                };
            }
            other => other,
        };
        let mut e: hcl::Expression = expr.into();
        refs::protect(&mut e, &mut self.scope);
        match super::lazy::evaluate(&e, ctx, self.defer_locals) {
            Ok(v) => Some(v),
            Err(msg) => {
                self.error(at, path, msg);
                None
            }
        }
    }

    /// Whether the text at `span` may call `can`, `try` or `convert` (which need
    /// [`super::lazy`]); true when unsure.
    fn may_call_lazy(&self, span: Option<std::ops::Range<usize>>) -> bool {
        let Some(text) = span.and_then(|r| self.src.text().get(r)) else {
            return true;
        };
        text.contains("try") || text.contains("can") || text.contains("convert")
    }

    /// A quoted template without `can`/`try`/`convert` calls: run-time references
    /// protected, then evaluated, a lone interpolation keeping its value's type.
    fn template(&mut self, t: StringTemplate, ctx: &Context) -> Result<Value, String> {
        let mut template = Template::from(hcl::edit::template::Template::from(t));
        refs::protect_template(&mut template, &mut self.scope);
        let result = match template.elements() {
            [Element::Interpolation(i)] => i.expr.evaluate(ctx),
            _ => template.evaluate(ctx).map(Value::String),
        };
        result.map_err(|e| eval_message(&e))
    }

    /// Evaluate a body. Attributes that fail to evaluate are reported and left out.
    pub(crate) fn body(&mut self, body: es::Body, ctx: &Context, path: &Path) -> Body {
        let attrs = body.iter().filter(|s| s.is_attribute()).count();
        let mut out = Body {
            attrs: Vec::with_capacity(attrs),
            blocks: Vec::with_capacity(body.len() - attrs),
        };
        for s in body {
            match s {
                Structure::Attribute(a) => {
                    let key = a.key.as_str().to_string();
                    let key_at = start(a.key.span());
                    let value_at = start(a.value.span());
                    let p = path.key(&key);
                    if let Some(value) = self.expr(a.value, ctx, &p) {
                        out.attrs.push(Attr {
                            key,
                            key_at,
                            value,
                            value_at,
                        });
                    }
                }
                Structure::Block(b) if b.ident.as_str() == "dynamic" => {
                    self.dynamic(b, ctx, path, &mut out.blocks)
                }
                Structure::Block(b) => {
                    let ident = b.ident.as_str().to_string();
                    let labels: Vec<String> = b.labels.iter().map(label_str).collect();
                    let at = start(b.ident.span());
                    let p = path.block(&ident, &labels);
                    let body = self.body(b.body, ctx, &p);
                    out.blocks.push(Block {
                        ident,
                        labels,
                        at,
                        body,
                    });
                }
            }
        }
        out
    }

    /// `dynamic "type" { for_each = …, iterator = it, labels = […], content { … } }`.
    fn dynamic(&mut self, b: es::Block, ctx: &Context, path: &Path, out: &mut Vec<Block>) {
        let at = start(b.ident.span());
        let here = path.key("dynamic");
        let Some(ty) = b.labels.first().map(label_str) else {
            self.error(
                at,
                &here,
                "a dynamic block needs one label: the type of block to generate",
            );
            return;
        };
        let here = path.block("dynamic", std::slice::from_ref(&ty));
        let mut for_each = None;
        let mut iterator = ty.clone();
        let mut labels = None;
        let mut content = None;
        for s in b.body {
            match s {
                Structure::Attribute(a) => match a.key.as_str() {
                    "for_each" => for_each = Some(a.value),
                    "iterator" => match &a.value {
                        hcl::edit::expr::Expression::Variable(v) => {
                            iterator = v.as_str().to_string()
                        }
                        other => self.error(
                            start(other.span()),
                            &here.key("iterator"),
                            "expected a bare name, e.g. iterator = port",
                        ),
                    },
                    "labels" => labels = Some(a.value),
                    other => {
                        let msg = drover_hcl::unknown_key_message(
                            other,
                            &["for_each", "iterator", "labels", "content"],
                        );
                        self.error(start(a.key.span()), &here.key(other), msg)
                    }
                },
                Structure::Block(c) if c.ident.as_str() == "content" => {
                    if content.is_some() {
                        self.error(start(c.ident.span()), &here, "duplicate content block");
                    }
                    content = Some(c.body);
                }
                Structure::Block(c) => {
                    let msg = format!(
                        "unexpected block \"{}\": expected content",
                        c.ident.as_str()
                    );
                    self.error(start(c.ident.span()), &here, msg)
                }
            }
        }
        let (Some(for_each), Some(content)) = (for_each, content) else {
            self.error(
                at,
                &here,
                "a dynamic block needs for_each and a content block",
            );
            return;
        };
        let Some(collection) = self.expr(for_each, ctx, &here.key("for_each")) else {
            return;
        };
        let items: Vec<(Value, Value)> = match collection {
            Value::Array(a) => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i as u64), v))
                .collect(),
            Value::Object(o) => o.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            Value::Null => Vec::new(),
            other => {
                let msg = format!("for_each must be a list or a map, found {}", kind(&other));
                self.error(at, &here.key("for_each"), msg);
                return;
            }
        };
        for (key, value) in items {
            let mut c = ctx.clone();
            let mut it = hcl::Map::new();
            it.insert("key".to_string(), key);
            it.insert("value".to_string(), value);
            c.declare_var(iterator.as_str(), Value::Object(it));
            let saved = self.scope.clone();
            self.scope = self.scope.with(&iterator);
            let block_labels = match &labels {
                None => Vec::new(),
                Some(l) => match self.expr(l.clone(), &c, &here.key("labels")) {
                    Some(Value::Array(vs)) => vs.iter().map(value_label).collect(),
                    Some(other) => {
                        let msg =
                            format!("labels must be a list of strings, found {}", kind(&other));
                        self.error(at, &here.key("labels"), msg);
                        Vec::new()
                    }
                    None => Vec::new(),
                },
            };
            let p = path.block(&ty, &block_labels);
            let body = self.body(content.clone(), &c, &p);
            self.scope = saved;
            out.push(Block {
                ident: ty.clone(),
                labels: block_labels,
                at,
                body,
            });
        }
    }
}

type EditExpr = hcl::edit::expr::Expression;

/// A value written out: null, bool, number, plain string, or a list or `{ name = … }`
/// map of those.
fn is_literal(e: &EditExpr) -> bool {
    match e {
        EditExpr::Null(_) | EditExpr::Bool(_) | EditExpr::Number(_) | EditExpr::String(_) => true,
        EditExpr::Array(a) => a.iter().all(is_literal),
        EditExpr::Object(o) => o
            .iter()
            .all(|(k, v)| matches!(k, ObjectKey::Ident(_)) && is_literal(v.expr())),
        _ => false,
    }
}

/// The value of an expression [`is_literal`] accepts.
fn literal(e: EditExpr) -> Value {
    match e {
        EditExpr::Bool(b) => Value::Bool(b.into_value()),
        EditExpr::Number(n) => Value::Number(n.into_value()),
        EditExpr::String(s) => Value::String(s.into_value()),
        EditExpr::Array(a) => Value::Array(a.into_iter().map(literal).collect()),
        EditExpr::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (key_str(&k), literal(v.into_expr())))
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn key_str(k: &ObjectKey) -> String {
    match k {
        ObjectKey::Ident(i) => i.as_str().to_string(),
        ObjectKey::Expression(_) => String::new(), // not a literal: never asked
    }
}

fn value_label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The user's word for a value's type.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}
