//! File-system functions. Relative paths are relative to the job file's directory,
//! which [`BaseDir`] makes known to these `fn` pointers for the duration of one parse.
//! `fileset(path, pattern)` lists the files under `path` whose path relative to it
//! matches a glob (`*`, `**`, `?`, `[a-z]`, `{a,b}`).

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
    def(ctx, "fileset", &[P::String, P::String], None, |a| {
        let pattern = s(&a[1]);
        let globs: Vec<Vec<Vec<char>>> = expand_braces(&pattern)
            .map_err(|e| format!("argument 2 (pattern): {e}"))?
            .iter()
            .map(|p| p.split('/').map(|seg| seg.chars().collect()).collect())
            .collect();
        for g in &globs {
            for seg in g {
                check_segment(seg).map_err(|e| format!("argument 2 (pattern): {e}"))?;
            }
        }
        let root = resolve(&s(&a[0]));
        let mut files = Vec::new();
        if root.is_dir() {
            walk(&root, "", 0, &mut files)?;
        }
        let mut out: Vec<String> = files
            .into_iter()
            .filter(|f| {
                let segs: Vec<Vec<char>> = f.split('/').map(|x| x.chars().collect()).collect();
                globs.iter().any(|g| match_path(g, &segs))
            })
            .collect();
        out.sort();
        out.dedup();
        Ok(Value::Array(out.into_iter().map(Value::from).collect()))
    });
}

/// Deepest directory level `fileset` descends to.
const MAX_DEPTH: usize = 64;

/// Files under `dir` (symlinks to files included, symlinked directories not entered),
/// as `/`-separated paths relative to the walk's root.
fn walk(dir: &Path, rel: &str, depth: usize, out: &mut Vec<String>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let ty = entry
            .file_type()
            .map_err(|e| format!("cannot stat {}: {e}", entry.path().display()))?;
        if ty.is_dir() {
            walk(&entry.path(), &path, depth + 1, out)?;
        } else if ty.is_file() || (ty.is_symlink() && entry.path().is_file()) {
            out.push(path);
        }
    }
    Ok(())
}

/// `a{b,c}d` → `abd`, `acd` (nested braces too).
fn expand_braces(p: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = p.chars().collect();
    let Some(open) = chars.iter().position(|c| *c == '{') else {
        if p.contains('}') {
            return Err(format!("unbalanced }} in \"{p}\""));
        }
        return Ok(vec![p.to_string()]);
    };
    let mut depth = 0;
    let mut parts = Vec::new();
    let mut start = open + 1;
    let mut close = None;
    for (i, c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    parts.push(chars[start..i].iter().collect::<String>());
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => {
                parts.push(chars[start..i].iter().collect::<String>());
                start = i + 1;
            }
            _ => {}
        }
    }
    let close = close.ok_or_else(|| format!("unclosed {{ in \"{p}\""))?;
    let head: String = chars[..open].iter().collect();
    let tail: String = chars[close + 1..].iter().collect();
    let mut out = Vec::new();
    for part in parts {
        out.extend(expand_braces(&format!("{head}{part}{tail}"))?);
    }
    Ok(out)
}

fn check_segment(seg: &[char]) -> Result<(), String> {
    let mut i = 0;
    while i < seg.len() {
        match seg[i] {
            '\\' => i += 1,
            '[' => {
                let close = seg[i + 1..].iter().position(|c| *c == ']');
                match close {
                    Some(n) => i += n + 1,
                    None => {
                        let text: String = seg.iter().collect();
                        return Err(format!("unclosed [ in \"{text}\""));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Whether path segments match pattern segments; `**` matches any number of segments.
fn match_path(pat: &[Vec<char>], path: &[Vec<char>]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first.as_slice() == ['*', '*'] => {
            (0..=path.len()).any(|skip| match_path(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((seg, more)) => match_segment(first, seg) && match_path(rest, more),
            None => false,
        },
    }
}

/// One segment: `*` (any run), `?` (one character), `[abc]`, `[a-z]`, `[!a]`, `\x`.
fn match_segment(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') => (0..=s.len()).any(|skip| match_segment(&p[1..], &s[skip..])),
        Some('?') => !s.is_empty() && match_segment(&p[1..], &s[1..]),
        Some('[') => {
            let Some(len) = p[1..].iter().position(|c| *c == ']') else {
                return false;
            };
            let Some(c) = s.first() else { return false };
            let mut class = &p[1..1 + len];
            let negate = matches!(class.first(), Some('!' | '^'));
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= (class[i]..=class[i + 2]).contains(c);
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negate && match_segment(&p[len + 2..], &s[1..])
        }
        Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && match_segment(&p[2..], &s[1..]),
        Some(c) => s.first() == Some(c) && match_segment(&p[1..], &s[1..]),
    }
}
