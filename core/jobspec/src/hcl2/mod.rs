//! HCL2 evaluation with Nomad's jobspec2 semantics on top of hcl-rs 0.20.
//!
//! Pipeline ([`evaluate`]): parse with hcl-edit (spans kept) → split the root into
//! `variable`/`variables`/`locals`/`job` → resolve variables ([`vars`]) → locals →
//! evaluate the one `job` block into a [`tree::Body`] of plain values, expanding
//! `dynamic` blocks and keeping run-time references literal ([`refs`]). A file of plain
//! values is read straight into that tree instead ([`fast`]).

pub(crate) mod eval;
pub(crate) mod fast;
pub mod funcs;
pub(crate) mod lazy;
pub(crate) mod refs;
pub(crate) mod tree;
pub(crate) mod typecon;
pub(crate) mod vars;

use hcl::Value;
use hcl::edit::Span;
use hcl::edit::structure::Structure;

use drover_hcl::{Diagnostics, Source};

use self::eval::{Evaluator, label_str, start};
use self::refs::Scope;
use self::tree::{Block, Path};
use crate::VarInputs;

pub use self::vars::VAR_ENV_PREFIX;

/// Evaluate a job file to its `job` block, with the errors found on the way (the
/// attributes they concern are left out). `Err` when there is no job block to decode:
/// a syntax error, or no `job` at all.
pub(crate) fn evaluate(
    src: &Source,
    inputs: &VarInputs,
    allow_fs: bool,
) -> Result<(Block, Diagnostics), Diagnostics> {
    // A file of plain values needs no evaluation ([`fast`]); the variable inputs are
    // still checked as for any job without `variable`s (a `-var` it does not declare
    // is an error).
    if let Some(job) = fast::job(src.text()) {
        let mut ev = Evaluator::new(src, Scope::default());
        vars::resolve(
            &mut ev,
            Vec::new(),
            Vec::new(),
            inputs,
            funcs::table(allow_fs),
        );
        return Ok((job, ev.diags));
    }
    evaluate_full(src, inputs, allow_fs)
}

/// [`evaluate`] through hcl-edit's parser and the evaluator: every file, valid or not.
pub(crate) fn evaluate_full(
    src: &Source,
    inputs: &VarInputs,
    allow_fs: bool,
) -> Result<(Block, Diagnostics), Diagnostics> {
    let body = match hcl::edit::parser::parse_body(src.text()) {
        Ok(b) => b,
        Err(e) => {
            let msg = format!("syntax error: {}", e.message());
            return Err(src.at_offset(e.location().offset(), "", msg).into());
        }
    };
    let mut ev = Evaluator::new(src, Scope::new(["var", "local"]));
    let (mut variable, mut variables, mut locals, mut jobs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for s in body {
        match s {
            Structure::Block(b) => match b.ident.as_str() {
                "variable" => variable.push(b),
                "variables" => variables.push(b),
                "locals" => locals.push(b),
                "job" => jobs.push(b),
                other => {
                    let msg = drover_hcl::unknown_key_message(
                        other,
                        &["job", "variable", "variables", "locals"],
                    );
                    ev.error(start(b.ident.span()), &Path::root().key(other), msg);
                }
            },
            Structure::Attribute(a) => {
                let key = a.key.as_str().to_string();
                let msg = format!(
                    "unexpected attribute \"{key}\" at the top level: expected a job block"
                );
                ev.error(start(a.key.span()), &Path::root().key(&key), msg);
            }
        }
    }
    // Variables see only the functions; the job sees `var` and `local` too.
    let var = vars::resolve(&mut ev, variable, variables, inputs, funcs::table(allow_fs));
    let mut ctx = funcs::context(allow_fs);
    ctx.declare_var("var", Value::Object(var));
    vars::locals(&mut ev, locals, &mut ctx);

    let mut jobs = jobs.into_iter();
    let Some(job) = jobs.next() else {
        ev.error(
            0,
            Path::root(),
            "Missing job block: a job file needs one job \"name\" { … }",
        );
        return Err(ev.diags);
    };
    for extra in jobs {
        ev.error(
            start(extra.ident.span()),
            Path::root(),
            "Duplicate job block: a job file holds one job",
        );
    }
    let at = start(job.ident.span());
    let labels: Vec<String> = job.labels.iter().map(label_str).collect();
    let path = Path::root().block("job", &labels);
    if labels.len() != 1 {
        ev.error(
            at,
            &path,
            "a job block needs one label: the job ID, e.g. job \"web\" { … }",
        );
    }
    let body = ev.body(job.body, &ctx, &path);
    funcs::recycle(allow_fs, ctx);
    let block = Block {
        ident: "job".to_string(),
        labels,
        at,
        body,
    };
    Ok((block, ev.diags))
}
