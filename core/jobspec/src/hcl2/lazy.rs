//! `can(expr)`, `try(expr, …)` and `convert(value, type)`: the functions hcl-rs cannot
//! call as `FuncDef`s, because one of their arguments must not be evaluated first
//! (`can`/`try` catch their arguments' errors; `convert`'s type is a type expression).
//!
//! [`evaluate`] first walks the expression and replaces each such call with the literal
//! value it produces, evaluating `can`/`try` arguments one by one and catching their
//! errors; what is left is evaluated by hcl-rs as usual.
//!
//! A `for` expression whose body holds such a call is iterated here (the iteration
//! variables must be known to evaluate the call); one inside a template `%{for}`
//! directive falls back to the eager definitions in `funcs` (`try` returns its first
//! argument, `can` true), whose arguments must then all evaluate.

use hcl::Value;
use hcl::eval::{Context, Evaluate};
use hcl::expr::{Expression, ObjectKey, TemplateExpr, TraversalOperator};
use hcl::template::{Directive, Element, Template};

use super::eval::eval_message;
use super::typecon::Ty;

/// Why a lazily evaluated argument could not produce a value.
enum Fail {
    /// An ordinary error: `try` moves on to its next argument, `can` answers false.
    Msg(String),
    /// The argument names a local not evaluated yet: the whole expression must wait for
    /// the next locals pass rather than let `try` fall back too early.
    Pending(String),
}

impl Fail {
    fn message(self) -> String {
        match self {
            Fail::Msg(m) => m,
            Fail::Pending(name) => format!("local.{name} is not known yet"),
        }
    }
}

/// Evaluate `expr`, with `can`/`try` calls catching their arguments' errors. With
/// `defer_locals`, an argument that refers to a local missing from `local` fails the
/// whole evaluation (used by the locals passes, so a later pass can see that local).
pub(crate) fn evaluate(
    expr: &Expression,
    ctx: &Context,
    defer_locals: bool,
) -> Result<Value, String> {
    eval(expr, ctx, defer_locals).map_err(Fail::message)
}

fn eval(expr: &Expression, ctx: &Context, defer: bool) -> Result<Value, Fail> {
    if !mentions_lazy(expr) {
        return expr.evaluate(ctx).map_err(|e| Fail::Msg(eval_message(&e)));
    }
    let mut e = expr.clone();
    resolve(&mut e, ctx, defer)?;
    e.evaluate(ctx).map_err(|e| Fail::Msg(eval_message(&e)))
}

fn is_lazy_name(f: &hcl::expr::FuncCall) -> Option<&'static str> {
    if !f.name.namespace.is_empty() {
        return None;
    }
    match f.name.name.as_str() {
        "try" => Some("try"),
        "can" => Some("can"),
        "convert" => Some("convert"),
        _ => None,
    }
}

/// Whether `expr` holds a `can` or `try` call anywhere (templates included).
fn mentions_lazy(expr: &Expression) -> bool {
    match expr {
        Expression::FuncCall(f) => is_lazy_name(f).is_some() || f.args.iter().any(mentions_lazy),
        Expression::Array(items) => items.iter().any(mentions_lazy),
        Expression::Object(obj) => obj.iter().any(|(k, v)| {
            matches!(k, ObjectKey::Expression(ke) if mentions_lazy(ke)) || mentions_lazy(v)
        }),
        Expression::TemplateExpr(t) => {
            let text = match &**t {
                TemplateExpr::QuotedString(s) => s.as_str(),
                TemplateExpr::Heredoc(h) => h.template.as_str(),
            };
            text.contains("${") && (text.contains("try") || text.contains("can"))
        }
        Expression::Traversal(t) => {
            mentions_lazy(&t.expr)
                || t.operators
                    .iter()
                    .any(|op| matches!(op, TraversalOperator::Index(e) if mentions_lazy(e)))
        }
        Expression::Parenthesis(e) => mentions_lazy(e),
        Expression::Conditional(c) => {
            mentions_lazy(&c.cond_expr)
                || mentions_lazy(&c.true_expr)
                || mentions_lazy(&c.false_expr)
        }
        Expression::Operation(op) => match &**op {
            hcl::expr::Operation::Unary(u) => mentions_lazy(&u.expr),
            hcl::expr::Operation::Binary(b) => {
                mentions_lazy(&b.lhs_expr) || mentions_lazy(&b.rhs_expr)
            }
        },
        Expression::ForExpr(f) => {
            mentions_lazy(&f.collection_expr)
                || f.key_expr.as_ref().is_some_and(mentions_lazy)
                || mentions_lazy(&f.value_expr)
                || f.cond_expr.as_ref().is_some_and(mentions_lazy)
        }
        _ => false,
    }
}

/// Replace every `can`/`try` call in `expr` by its value, in place.
fn resolve(expr: &mut Expression, ctx: &Context, defer: bool) -> Result<(), Fail> {
    match expr {
        Expression::FuncCall(f) => {
            if let Some(name) = is_lazy_name(f) {
                if f.expand_final {
                    return Err(Fail::Msg(format!(
                        "error calling function `{name}`: its arguments cannot be expanded with `...`"
                    )));
                }
                *expr = Expression::from(call(name, &f.args, ctx, defer)?);
                return Ok(());
            }
            for a in &mut f.args {
                resolve(a, ctx, defer)?;
            }
        }
        Expression::Array(items) => {
            for e in items {
                resolve(e, ctx, defer)?;
            }
        }
        Expression::Object(obj) => {
            let old = std::mem::take(obj);
            let mut failed = None;
            for (mut k, mut v) in old {
                if failed.is_none() {
                    if let ObjectKey::Expression(ke) = &mut k
                        && let Err(e) = resolve(ke, ctx, defer)
                    {
                        failed = Some(e);
                    } else if let Err(e) = resolve(&mut v, ctx, defer) {
                        failed = Some(e);
                    }
                }
                obj.insert(k, v);
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Expression::TemplateExpr(t) => resolve_template_expr(t, ctx, defer)?,
        Expression::Traversal(t) => {
            resolve(&mut t.expr, ctx, defer)?;
            for op in &mut t.operators {
                if let TraversalOperator::Index(e) = op {
                    resolve(e, ctx, defer)?;
                }
            }
        }
        Expression::Parenthesis(e) => resolve(e, ctx, defer)?,
        Expression::Conditional(c) => {
            resolve(&mut c.cond_expr, ctx, defer)?;
            resolve(&mut c.true_expr, ctx, defer)?;
            resolve(&mut c.false_expr, ctx, defer)?;
        }
        Expression::Operation(op) => match &mut **op {
            hcl::expr::Operation::Unary(u) => resolve(&mut u.expr, ctx, defer)?,
            hcl::expr::Operation::Binary(b) => {
                resolve(&mut b.lhs_expr, ctx, defer)?;
                resolve(&mut b.rhs_expr, ctx, defer)?;
            }
        },
        Expression::ForExpr(f) => {
            resolve(&mut f.collection_expr, ctx, defer)?;
            let body_lazy = f.key_expr.as_ref().is_some_and(mentions_lazy)
                || mentions_lazy(&f.value_expr)
                || f.cond_expr.as_ref().is_some_and(mentions_lazy);
            if body_lazy {
                *expr = Expression::from(for_expr(f, ctx, defer)?);
            }
        }
        _ => {}
    }
    Ok(())
}

/// `can(e)`, `try(e1, e2, …)` or `convert(value, type)`.
fn call(name: &str, args: &[Expression], ctx: &Context, defer: bool) -> Result<Value, Fail> {
    if name == "convert" {
        let [value, ty] = args else {
            return Err(Fail::Msg(format!(
                "error calling function `convert`: takes a value and a type, got {} arguments",
                args.len()
            )));
        };
        let ty = Ty::parse(ty).map_err(|e| {
            Fail::Msg(format!(
                "error calling function `convert`: argument 2 (type): {e}"
            ))
        })?;
        let value = eval(value, ctx, defer)?;
        return ty
            .convert(value)
            .map_err(|e| Fail::Msg(format!("error calling function `convert`: {e}")));
    }
    if defer {
        let locals = Expression::Variable(hcl::expr::Variable::unchecked("local"))
            .evaluate(ctx)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        for a in args {
            if let Some(missing) = missing_local(a, &locals) {
                return Err(Fail::Pending(missing));
            }
        }
    }
    match name {
        "can" => {
            if args.len() != 1 {
                return Err(Fail::Msg(format!(
                    "error calling function `can`: takes exactly one argument, got {}",
                    args.len()
                )));
            }
            match eval(&args[0], ctx, defer) {
                Ok(_) => Ok(Value::Bool(true)),
                Err(Fail::Msg(_)) => Ok(Value::Bool(false)),
                Err(p @ Fail::Pending(_)) => Err(p),
            }
        }
        _ => {
            if args.is_empty() {
                return Err(Fail::Msg(
                    "error calling function `try`: at least one argument is required".to_string(),
                ));
            }
            let mut errors = Vec::new();
            for a in args {
                match eval(a, ctx, defer) {
                    Ok(v) => return Ok(v),
                    Err(Fail::Msg(m)) => errors.push(m),
                    Err(p @ Fail::Pending(_)) => return Err(p),
                }
            }
            let list: Vec<String> = errors
                .iter()
                .enumerate()
                .map(|(i, m)| format!("argument {}: {m}", i + 1))
                .collect();
            Err(Fail::Msg(format!(
                "error calling function `try`: no argument succeeded ({})",
                list.join("; ")
            )))
        }
    }
}

/// The first `local.NAME` in `expr` that is not among the evaluated `locals`.
fn missing_local(expr: &Expression, locals: &hcl::Map<String, Value>) -> Option<String> {
    let mut found = None;
    visit(expr, &mut |e| {
        if found.is_some() {
            return;
        }
        if let Expression::Traversal(t) = e
            && let Expression::Variable(v) = &t.expr
            && v.as_str() == "local"
            && let Some(TraversalOperator::GetAttr(name)) = t.operators.first()
            && !locals.contains_key(name.as_str())
        {
            found = Some(name.to_string());
        }
    });
    found
}

/// Call `f` on `expr` and every expression nested in it (template interpolations too).
fn visit(expr: &Expression, f: &mut dyn FnMut(&Expression)) {
    f(expr);
    match expr {
        Expression::FuncCall(c) => c.args.iter().for_each(|a| visit(a, f)),
        Expression::Array(items) => items.iter().for_each(|e| visit(e, f)),
        Expression::Object(obj) => {
            for (k, v) in obj {
                if let ObjectKey::Expression(ke) = k {
                    visit(ke, f);
                }
                visit(v, f);
            }
        }
        Expression::TemplateExpr(t) => {
            if let Ok(tpl) = Template::from_expr(t) {
                visit_template(&tpl, f);
            }
        }
        Expression::Traversal(t) => {
            visit(&t.expr, f);
            for op in &t.operators {
                if let TraversalOperator::Index(e) = op {
                    visit(e, f);
                }
            }
        }
        Expression::Parenthesis(e) => visit(e, f),
        Expression::Conditional(c) => {
            visit(&c.cond_expr, f);
            visit(&c.true_expr, f);
            visit(&c.false_expr, f);
        }
        Expression::Operation(op) => match &**op {
            hcl::expr::Operation::Unary(u) => visit(&u.expr, f),
            hcl::expr::Operation::Binary(b) => {
                visit(&b.lhs_expr, f);
                visit(&b.rhs_expr, f);
            }
        },
        Expression::ForExpr(x) => {
            visit(&x.collection_expr, f);
            if let Some(k) = &x.key_expr {
                visit(k, f);
            }
            visit(&x.value_expr, f);
            if let Some(c) = &x.cond_expr {
                visit(c, f);
            }
        }
        _ => {}
    }
}

fn visit_template(t: &Template, f: &mut dyn FnMut(&Expression)) {
    for el in t.elements() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => visit(&i.expr, f),
            Element::Directive(d) => match &**d {
                Directive::If(d) => {
                    visit(&d.cond_expr, f);
                    visit_template(&d.true_template, f);
                    if let Some(x) = &d.false_template {
                        visit_template(x, f);
                    }
                }
                Directive::For(d) => {
                    visit(&d.collection_expr, f);
                    visit_template(&d.template, f);
                }
            },
        }
    }
}

/// A `for` expression whose body calls `can`/`try`, iterated here.
fn for_expr(f: &hcl::expr::ForExpr, ctx: &Context, defer: bool) -> Result<Value, Fail> {
    let items: Vec<(Value, Value)> = match eval(&f.collection_expr, ctx, defer)? {
        Value::Array(a) => a
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Value::from(i as u64), v))
            .collect(),
        Value::Object(o) => o.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
        other => {
            return Err(Fail::Msg(format!(
                "unexpected value `{other}`, expected an array or object"
            )));
        }
    };
    let mut list = Vec::new();
    let mut map = hcl::Map::new();
    for (k, v) in items {
        let mut c = ctx.clone();
        if let Some(kv) = &f.key_var {
            c.declare_var(kv.clone(), k);
        }
        c.declare_var(f.value_var.clone(), v);
        if let Some(cond) = &f.cond_expr {
            match eval(cond, &c, defer)? {
                Value::Bool(true) => {}
                Value::Bool(false) => continue,
                other => {
                    return Err(Fail::Msg(format!(
                        "unexpected value `{other}`, expected a boolean"
                    )));
                }
            }
        }
        let value = eval(&f.value_expr, &c, defer)?;
        match &f.key_expr {
            None => list.push(value),
            Some(ke) => {
                let key = match eval(ke, &c, defer)? {
                    Value::String(s) => s,
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    other => {
                        return Err(Fail::Msg(format!(
                            "unexpected value `{other}`, expected a string, boolean or number"
                        )));
                    }
                };
                if f.grouping {
                    if let Value::Array(a) =
                        map.entry(key).or_insert_with(|| Value::Array(Vec::new()))
                    {
                        a.push(value);
                    }
                } else if map.contains_key(&key) {
                    return Err(Fail::Msg(format!("key `{key}` already exists")));
                } else {
                    map.insert(key, value);
                }
            }
        }
    }
    Ok(match f.key_expr {
        None => Value::Array(list),
        Some(_) => Value::Object(map),
    })
}

/// Templates: resolve the calls in interpolations and `%{if}` conditions, then render
/// the template back to text.
fn resolve_template_expr(t: &mut TemplateExpr, ctx: &Context, defer: bool) -> Result<(), Fail> {
    let Ok(mut template) = Template::from_expr(t) else {
        return Ok(()); // evaluation reports the syntax error
    };
    if resolve_template(&mut template, ctx, defer)? {
        let rendered = template.to_string();
        match t {
            TemplateExpr::QuotedString(s) => *s = rendered,
            TemplateExpr::Heredoc(h) => h.template = rendered,
        }
    }
    Ok(())
}

/// Returns whether anything was replaced.
fn resolve_template(template: &mut Template, ctx: &Context, defer: bool) -> Result<bool, Fail> {
    let mut changed = false;
    for el in template.elements_mut() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => {
                if mentions_lazy(&i.expr) {
                    resolve(&mut i.expr, ctx, defer)?;
                    changed = true;
                }
            }
            Element::Directive(d) => match &mut **d {
                Directive::If(d) => {
                    if mentions_lazy(&d.cond_expr) {
                        resolve(&mut d.cond_expr, ctx, defer)?;
                        changed = true;
                    }
                    changed |= resolve_template(&mut d.true_template, ctx, defer)?;
                    if let Some(x) = &mut d.false_template {
                        changed |= resolve_template(x, ctx, defer)?;
                    }
                }
                Directive::For(d) => {
                    // The body sees the iteration variables: left to the eager fallback.
                    if mentions_lazy(&d.collection_expr) {
                        resolve(&mut d.collection_expr, ctx, defer)?;
                        changed = true;
                    }
                }
            },
        }
    }
    Ok(changed)
}
