//! Find, read, decode, merge and validate agent configuration files.
//!
//! `-config` may name files or directories; a directory contributes its `*.hcl` and
//! `*.json` files in alphabetical order, skipping sub-directories and editor temporary
//! files (Nomad's `LoadConfigDir`). Each file is decoded on its own, so unknown keys and
//! wrong types are reported against that file; all files are checked before giving up, so
//! one run reports every mistake.

use std::path::{Path, PathBuf};

use drover_hcl::{Diagnostic, Diagnostics, FieldError, Source, decode, decode_partial};
use serde_json::Value;

use super::build::build_checked;
use super::merge::{Provenance, merge};
use super::raw::RawConfig;
use super::types::AgentConfig;

/// Expand `-config` arguments into the ordered list of files to load.
pub fn config_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostics> {
    let mut files = Vec::new();
    let mut errors = Diagnostics::new();
    for p in paths {
        let name = p.display().to_string();
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => match std::fs::read_dir(p) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(Result::ok)
                        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
                        .map(|e| e.path())
                        .filter(|f| is_config_file(f))
                        .collect();
                    found.sort();
                    files.extend(found);
                }
                Err(e) => errors.push(Diagnostic::file_level(
                    name,
                    format!("cannot read directory: {e}"),
                )),
            },
            Ok(_) => files.push(p.clone()),
            Err(e) => errors.push(Diagnostic::file_level(name, format!("cannot read: {e}"))),
        }
    }
    errors.into_result(files)
}

/// `*.hcl` / `*.json`, not an emacs (`.#x`, `#x#`) or vim (`x~`) temporary file.
fn is_config_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let temporary = name.ends_with('~')
        || name.starts_with(".#")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'));
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    !temporary && (ext == "hcl" || ext == "json")
}

/// Load, merge and validate the configuration from `-config` paths (files or
/// directories), on top of `-dev` defaults when `dev` is set.
pub fn load(paths: &[PathBuf], dev: bool) -> Result<AgentConfig, Diagnostics> {
    let files = config_files(paths)?;
    let sources: Vec<Source> = files
        .iter()
        .map(|f| Source::read(f))
        .collect::<Result<_, Diagnostic>>()?;
    load_sources(&sources, dev)
}

/// [`load`] for sources already in memory (tests, stdin).
pub fn load_sources(sources: &[Source], dev: bool) -> Result<AgentConfig, Diagnostics> {
    let mut errors = Diagnostics::new();
    let mut merged = Value::Object(Default::default());
    let mut prov = Provenance::default();
    for (i, src) in sources.iter().enumerate() {
        let value = match src.to_value() {
            Ok(v) => v,
            Err(d) => {
                errors.push(d);
                continue;
            }
        };
        // Drop what is invalid, keep the rest: its semantic errors are reported too.
        let partial = decode_partial::<RawConfig>(&value);
        if partial.value.is_none() {
            errors.extend(src.field_errors(partial.errors));
            continue;
        }
        errors.extend(src.field_errors(partial.errors));
        merge(&mut merged, partial.cleaned.unwrap_or(value), i, &mut prov);
    }
    let last = sources.len().saturating_sub(1);
    let locate = |errs: Vec<FieldError>| {
        let mut out = Diagnostics::new();
        for e in errs {
            match sources.get(prov.file_of(&e.path).unwrap_or(last)) {
                Some(src) if !e.path.is_empty() => {
                    out.push(src.diagnostic(&e.path, e.target, e.message))
                }
                Some(src) if sources.len() == 1 => {
                    out.push(Diagnostic::file_level(src.name(), e.message))
                }
                _ => out.push(Diagnostic::file_level(names(sources), e.message)),
            }
        }
        out.sort();
        out
    };
    // Each file decoded alone; the merge of valid files decodes too, but stay total.
    let raw: RawConfig = match decode(&merged) {
        Ok(raw) => raw,
        Err(errs) => {
            errors.extend(locate(errs));
            return Err(errors);
        }
    };
    let (config, local, cross) = build_checked(raw, dev);
    errors.extend(locate(local));
    if errors.is_empty() {
        errors.extend(locate(cross));
    }
    errors.sort();
    errors.into_result(config)
}

fn names(sources: &[Source]) -> String {
    if sources.is_empty() {
        return "<no configuration files>".into();
    }
    sources
        .iter()
        .map(Source::name)
        .collect::<Vec<_>>()
        .join(", ")
}
