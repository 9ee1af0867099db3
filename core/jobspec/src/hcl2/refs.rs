//! Run-time references: names that only the client knows (`NOMAD_ALLOC_ID`,
//! `node.unique.name`, `attr.kernel.name`, `meta.rack`, `env["X"]` …) stay in the
//! output as the literal text `${…}`, as Nomad's jobspec2 does with its
//! `UndefinedVariable` hook.
//!
//! hcl-rs cannot do this alone: `evaluate_in_place` leaves a whole template
//! unevaluated as soon as one interpolation fails, so `"${var.x}-${NOMAD_ALLOC_ID}"`
//! would lose `var.x`. Instead, before evaluating, [`protect`] rewrites every
//! variable or traversal whose root is not a known name (`var`, `local`, a `for`
//! or `dynamic` iterator) into the string literal `"${<reference>}"`.

use hcl::expr::{Expression, ObjectKey, TemplateExpr, TraversalOperator};
use hcl::template::{Directive, Element, Template};

/// Names that evaluate now; everything else is a run-time reference.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    names: Vec<String>,
}

impl Scope {
    pub(crate) fn new<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Self {
        Scope {
            names: names.into_iter().map(Into::into).collect(),
        }
    }

    pub(crate) fn with(&self, name: &str) -> Scope {
        let mut s = self.clone();
        s.names.push(name.to_string());
        s
    }

    fn knows(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    fn push(&mut self, name: &str) {
        self.names.push(name.to_string());
    }

    fn pop(&mut self) {
        self.names.pop();
    }
}

/// The literal that keeps `expr` for run-time interpolation.
fn literal(expr: &Expression) -> Expression {
    Expression::String(format!("${{{expr}}}"))
}

/// Rewrite run-time references in `expr` into literal strings, in place.
pub(crate) fn protect(expr: &mut Expression, scope: &mut Scope) {
    match expr {
        Expression::Variable(v) if !scope.knows(v.as_str()) => *expr = literal(expr),
        Expression::Variable(_) => {}
        Expression::Traversal(t) => {
            if let Expression::Variable(v) = &t.expr
                && !scope.knows(v.as_str())
            {
                *expr = literal(expr);
                return;
            }
            protect(&mut t.expr, scope);
            for op in &mut t.operators {
                if let TraversalOperator::Index(e) = op {
                    protect(e, scope);
                }
            }
        }
        Expression::Array(items) => items.iter_mut().for_each(|e| protect(e, scope)),
        Expression::Object(obj) => {
            // Keys cannot be borrowed mutably in place: rebuild the object.
            let old = std::mem::take(obj);
            for (mut k, mut v) in old {
                if let ObjectKey::Expression(ke) = &mut k {
                    protect(ke, scope);
                }
                protect(&mut v, scope);
                obj.insert(k, v);
            }
        }
        Expression::TemplateExpr(t) => protect_template_expr(t, scope),
        // `convert(value, type)`: the type is a type expression (`string`,
        // `list(number)`), not a reference.
        Expression::FuncCall(f)
            if f.name.namespace.is_empty() && f.name.name.as_str() == "convert" =>
        {
            if let Some(first) = f.args.first_mut() {
                protect(first, scope);
            }
        }
        Expression::FuncCall(f) => f.args.iter_mut().for_each(|e| protect(e, scope)),
        Expression::Parenthesis(e) => protect(e, scope),
        Expression::Conditional(c) => {
            protect(&mut c.cond_expr, scope);
            protect(&mut c.true_expr, scope);
            protect(&mut c.false_expr, scope);
        }
        Expression::Operation(op) => match &mut **op {
            hcl::expr::Operation::Unary(u) => protect(&mut u.expr, scope),
            hcl::expr::Operation::Binary(b) => {
                protect(&mut b.lhs_expr, scope);
                protect(&mut b.rhs_expr, scope);
                // `/` and `%` go through checked functions: the expression library
                // panics on a zero divisor.
                let name = match b.operator {
                    hcl::expr::BinaryOperator::Div => Some(super::funcs::numeric::DIVIDE),
                    hcl::expr::BinaryOperator::Mod => Some(super::funcs::numeric::MODULO),
                    _ => None,
                };
                if let Some(name) = name {
                    let lhs = std::mem::replace(&mut b.lhs_expr, Expression::Null);
                    let rhs = std::mem::replace(&mut b.rhs_expr, Expression::Null);
                    *expr = Expression::FuncCall(Box::new(
                        hcl::expr::FuncCall::builder(name).arg(lhs).arg(rhs).build(),
                    ));
                }
            }
        },
        Expression::ForExpr(f) => {
            protect(&mut f.collection_expr, scope);
            let pushed = push_vars(scope, f.key_var.as_ref().map(|k| k.as_str()), &f.value_var);
            if let Some(k) = &mut f.key_expr {
                protect(k, scope);
            }
            protect(&mut f.value_expr, scope);
            if let Some(c) = &mut f.cond_expr {
                protect(c, scope);
            }
            (0..pushed).for_each(|_| scope.pop());
        }
        _ => {}
    }
}

fn push_vars(scope: &mut Scope, key: Option<&str>, value: &hcl::Identifier) -> usize {
    let mut n = 1;
    scope.push(value.as_str());
    if let Some(k) = key {
        scope.push(k);
        n += 1;
    }
    n
}

/// Templates: only re-serialize when a run-time reference was found.
fn protect_template_expr(t: &mut TemplateExpr, scope: &mut Scope) {
    let text = match t {
        TemplateExpr::QuotedString(s) => s.as_str(),
        TemplateExpr::Heredoc(h) => h.template.as_str(),
    };
    if !text.contains("${") && !text.contains("%{") {
        return;
    }
    let Ok(mut template) = Template::from_expr(t) else {
        return; // evaluation reports the syntax error
    };
    if protect_template(&mut template, scope) {
        let rendered = template.to_string();
        match t {
            TemplateExpr::QuotedString(s) => *s = rendered,
            TemplateExpr::Heredoc(h) => h.template = rendered,
        }
    }
}

/// Returns whether anything was rewritten.
pub(crate) fn protect_template(template: &mut Template, scope: &mut Scope) -> bool {
    let mut changed = false;
    for el in template.elements_mut() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => {
                let before = i.expr.clone();
                protect(&mut i.expr, scope);
                changed |= i.expr != before;
            }
            Element::Directive(d) => match &mut **d {
                Directive::If(d) => {
                    let before = d.cond_expr.clone();
                    protect(&mut d.cond_expr, scope);
                    changed |= d.cond_expr != before;
                    changed |= protect_template(&mut d.true_template, scope);
                    if let Some(f) = &mut d.false_template {
                        changed |= protect_template(f, scope);
                    }
                }
                Directive::For(d) => {
                    let before = d.collection_expr.clone();
                    protect(&mut d.collection_expr, scope);
                    changed |= d.collection_expr != before;
                    let n = push_vars(scope, d.key_var.as_ref().map(|k| k.as_str()), &d.value_var);
                    changed |= protect_template(&mut d.template, scope);
                    (0..n).for_each(|_| scope.pop());
                }
            },
        }
    }
    changed
}
