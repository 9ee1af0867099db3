//! The jobspec2 function library (Nomad's `jobspec2/functions.go`), as hcl-rs `FuncDef`s.
//!
//! Every function of Nomad's table is here: see [`NAMES`]. `can`, `try` and `convert`
//! need one argument left unevaluated, so the evaluator calls them itself
//! ([`super::lazy`]); the definitions registered here only serve where it cannot (a
//! call inside a template `%{for}` body): `try` returns its first argument, `can` true.
//!
//! hcl-rs functions are plain `fn` pointers, so the file functions find the job file's
//! directory through a thread-local set for the duration of one parse ([`BaseDir`]).

mod cidr;
mod collections;
mod crypto;
mod datetime;
mod encoding;
mod fs;
pub(crate) mod numeric;
mod strings;
mod yaml;

use std::cell::RefCell;
use std::path::PathBuf;

use hcl::Value;
use hcl::eval::{Context, FuncDef, ParamType, ParamType as P};

pub use fs::BaseDir;

/// Every function name registered by [`register`].
pub const NAMES: &[&str] = &[
    "abs",
    "abspath",
    "base64decode",
    "base64encode",
    "basename",
    "bcrypt",
    "can",
    "ceil",
    "chomp",
    "chunklist",
    "cidrhost",
    "cidrnetmask",
    "cidrsubnet",
    "cidrsubnets",
    "coalesce",
    "coalescelist",
    "compact",
    "concat",
    "contains",
    "convert",
    "csvdecode",
    "dirname",
    "distinct",
    "element",
    "file",
    "filebase64",
    "fileexists",
    "fileset",
    "flatten",
    "floor",
    "format",
    "formatdate",
    "formatlist",
    "indent",
    "index",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "log",
    "lookup",
    "lower",
    "max",
    "md5",
    "merge",
    "min",
    "parseint",
    "pathexpand",
    "pow",
    "range",
    "regex_replace",
    "replace",
    "reverse",
    "rsadecrypt",
    "setintersection",
    "setproduct",
    "setunion",
    "sha1",
    "sha256",
    "sha512",
    "signum",
    "slice",
    "sort",
    "split",
    "strlen",
    "strrev",
    "substr",
    "timeadd",
    "title",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "try",
    "upper",
    "urlencode",
    "uuidv4",
    "uuidv5",
    "values",
    "yamldecode",
    "yamlencode",
    "zipmap",
];

thread_local! {
    static BASE: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

pub(crate) type F = fn(hcl::eval::FuncArgs) -> Result<Value, String>;

fn def(ctx: &mut Context, name: &str, params: &[ParamType], variadic: Option<ParamType>, f: F) {
    let mut b = FuncDef::builder().params(params.iter().cloned());
    if let Some(v) = variadic {
        b = b.variadic_param(v);
    }
    ctx.declare_func(name, b.build(f));
}

/// The function table: a context with every function of [`NAMES`] and nothing else;
/// without the file-system ones (`file`, `filebase64`, `fileexists`, `abspath`,
/// `pathexpand`, …) when `allow_fs` is false, for job text from a remote caller
/// (Nomad's `AllowFS: false`).
///
/// Built once: declaring ~70 functions costs a linear search each, which
/// was a tenth of a whole parse.
pub(crate) fn table(allow_fs: bool) -> &'static Context<'static> {
    use std::sync::LazyLock;
    static WITH_FS: LazyLock<Context<'static>> = LazyLock::new(|| build(true));
    static WITHOUT_FS: LazyLock<Context<'static>> = LazyLock::new(|| build(false));
    if allow_fs { &WITH_FS } else { &WITHOUT_FS }
}

thread_local! {
    /// Contexts handed back by [`recycle`], by `allow_fs`: cloning the function table
    /// (and dropping the clone) was a twentieth of a parse.
    static POOL: std::cell::RefCell<[Option<Context<'static>>; 2]> =
        const { std::cell::RefCell::new([None, None]) };
}

/// A context with the functions of [`table`] for evaluating a job. It may come from an
/// earlier parse on this thread: the caller declares `var` and `local` (the only
/// variables ever declared on it) before evaluating anything with it.
pub(crate) fn context(allow_fs: bool) -> Context<'static> {
    POOL.with(|p| p.borrow_mut()[usize::from(allow_fs)].take())
        .unwrap_or_else(|| table(allow_fs).clone())
}

/// Give a context from [`context`] back for the next parse on this thread.
pub(crate) fn recycle(allow_fs: bool, mut ctx: Context<'static>) {
    // Keep no values of this job alive.
    ctx.declare_var("var", Value::Null);
    ctx.declare_var("local", Value::Null);
    POOL.with(|p| p.borrow_mut()[usize::from(allow_fs)] = Some(ctx));
}

fn build(allow_fs: bool) -> Context<'static> {
    let mut ctx = Context::new();
    strings::register(&mut ctx);
    collections::register(&mut ctx);
    numeric::register(&mut ctx);
    encoding::register(&mut ctx);
    cidr::register(&mut ctx);
    crypto::register(&mut ctx);
    datetime::register(&mut ctx);
    yaml::register(&mut ctx);
    fallbacks(&mut ctx);
    if allow_fs {
        fs::register(&mut ctx);
    }
    ctx
}

/// `try`, `can` and `convert` where the evaluator cannot call them lazily (inside a
/// template `%{for}` body): evaluated arguments, so nothing is left to catch.
fn fallbacks(ctx: &mut Context) {
    def(ctx, "try", &[P::Any], Some(P::Any), |a| Ok(a[0].clone()));
    def(ctx, "can", &[P::Any], None, |_| Ok(Value::Bool(true)));
    def(ctx, "convert", &[P::Any, P::Any], None, |_| {
        Err(
            "cannot be used inside a template %{for} directive: convert the value outside it"
                .to_string(),
        )
    });
}

// Small helpers shared by the function files.

pub(crate) fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) fn num(v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| "number out of range".to_string()),
        Value::String(x) => x
            .trim()
            .parse()
            .map_err(|_| format!("a number is required, found \"{x}\"")),
        other => Err(format!("a number is required, found `{other}`")),
    }
}

pub(crate) fn int(v: &Value) -> Result<i64, String> {
    let f = num(v)?;
    if f.fract() != 0.0 {
        return Err(format!("a whole number is required, found {f}"));
    }
    Ok(f as i64)
}

pub(crate) fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        hcl::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

pub(crate) fn list(v: &Value) -> Result<&Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("a list is required, found `{v}`"))
}
