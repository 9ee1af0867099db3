//! File-system functions. Relative paths are relative to the job file's directory,
//! which [`BaseDir`] makes known to these `fn` pointers for the duration of one parse.

use std::path::{Path, PathBuf};

use base64::Engine;
use hcl::Value;
use hcl::eval::{Context, ParamType as P};

use super::{BASE, def, s};

/// Sets the directory file functions resolve against; restores the previous one on drop.
pub struct BaseDir(Option<PathBuf>);

impl BaseDir {
    pub fn set(dir: Option<PathBuf>) -> BaseDir {
        BaseDir(BASE.with(|b| b.replace(dir)))
    }
}

impl Drop for BaseDir {
    fn drop(&mut self) {
        let prev = self.0.take();
        BASE.with(|b| *b.borrow_mut() = prev);
    }
}

fn resolve(p: &str) -> PathBuf {
    let p = expand(p);
    if p.is_absolute() {
        return p;
    }
    BASE.with(|b| {
        b.borrow()
            .as_ref()
            .map_or_else(|| p.clone(), |d| d.join(&p))
    })
}

fn expand(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    }
}

fn read(p: &str) -> Result<Vec<u8>, String> {
    let path = resolve(p);
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

pub(super) fn register(ctx: &mut Context) {
    def(ctx, "file", &[P::String], None, |a| {
        String::from_utf8(read(&s(&a[0]))?)
            .map(Value::from)
            .map_err(|_| format!("{} is not UTF-8 text: use filebase64", s(&a[0])))
    });
    def(ctx, "filebase64", &[P::String], None, |a| {
        Ok(Value::from(
            base64::engine::general_purpose::STANDARD.encode(read(&s(&a[0]))?),
        ))
    });
    def(ctx, "fileexists", &[P::String], None, |a| {
        Ok(Value::Bool(resolve(&s(&a[0])).is_file()))
    });
    def(ctx, "abspath", &[P::String], None, |a| {
        let p = resolve(&s(&a[0]));
        let p = if p.is_absolute() {
            p
        } else {
            std::env::current_dir().map_err(|e| e.to_string())?.join(p)
        };
        Ok(Value::from(p.display().to_string()))
    });
    def(ctx, "basename", &[P::String], None, |a| {
        let x = s(&a[0]);
        Ok(Value::from(
            Path::new(&x)
                .file_name()
                .map_or(x.clone(), |f| f.to_string_lossy().into_owned()),
        ))
    });
    def(ctx, "dirname", &[P::String], None, |a| {
        let x = s(&a[0]);
        let d = Path::new(&x)
            .parent()
            .map_or(String::new(), |p| p.display().to_string());
        Ok(Value::from(if d.is_empty() { ".".to_string() } else { d }))
    });
    def(ctx, "pathexpand", &[P::String], None, |a| {
        Ok(Value::from(expand(&s(&a[0])).display().to_string()))
    });
}
