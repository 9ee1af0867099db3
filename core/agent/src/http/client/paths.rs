//! Keeping a requested path inside an allocation directory.
//!
//! A path is relative to the allocation directory's root; a leading `/` means that
//! root too (`path=/`, `/alloc/logs`, as Nomad's CLI sends them), so an absolute path
//! never names a host path. A `..` that would climb above the root is a 400; a path
//! that resolves (through symlinks) outside the root is a 403. The check is on the
//! canonical path, so a symlink planted by a task cannot lead out.

use std::io;
use std::path::{Component, Path, PathBuf};

use axum::http::StatusCode;

use crate::http::error::{ApiError, ApiResult};

/// The clean relative form of `requested`: no empty, `.` or `..` parts.
pub fn normalize(requested: &str) -> ApiResult<PathBuf> {
    if requested.contains('\0') {
        return Err(ApiError::bad_request(format!(
            "path {requested:?} contains a NUL byte"
        )));
    }
    let mut out = PathBuf::new();
    for c in Path::new(requested).components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(ApiError::bad_request(format!(
                        "path {requested:?} escapes the allocation directory: \"..\" climbs \
                         above its root"
                    )));
                }
            }
            Component::Normal(p) => out.push(p),
        }
    }
    Ok(out)
}

/// The canonical path `requested` names under `root`, which must exist and stay
/// inside `root`.
pub fn resolve(root: &Path, requested: &str) -> ApiResult<PathBuf> {
    let rel = normalize(requested)?;
    let root = std::fs::canonicalize(root).map_err(|e| io_error(e, "allocation directory"))?;
    let target = std::fs::canonicalize(root.join(&rel)).map_err(|e| io_error(e, requested))?;
    if !target.starts_with(&root) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("path {requested:?} resolves outside the allocation directory"),
        ));
    }
    Ok(target)
}

/// `requested` as shown in answers: relative, `/`-separated.
pub fn display(requested: &str) -> String {
    normalize(requested)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// 404 for a missing file, 403 for a permission error, 500 otherwise.
pub fn io_error(e: io::Error, what: &str) -> ApiError {
    match e.kind() {
        io::ErrorKind::NotFound => ApiError::not_found(format!("file not found: {what:?}")),
        io::ErrorKind::PermissionDenied => ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{what:?}: permission denied"),
        ),
        _ => ApiError::internal(format!("{what:?}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_table() {
        for (input, want) in [
            ("", ""),
            ("/", ""),
            ("alloc/logs", "alloc/logs"),
            ("/alloc//logs/", "alloc/logs"),
            ("./web/../alloc", "alloc"),
        ] {
            assert_eq!(normalize(input).unwrap(), PathBuf::from(want), "{input}");
        }
        for bad in ["..", "../x", "alloc/../../x", "a\0b"] {
            assert_eq!(normalize(bad).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn symlinks_out_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("a1");
        std::fs::create_dir_all(root.join("alloc")).unwrap();
        std::fs::write(d.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(d.path().join("secret"), root.join("alloc/link")).unwrap();
        std::os::unix::fs::symlink("../alloc", root.join("alloc/self")).unwrap();
        let e = resolve(&root, "alloc/link").unwrap_err();
        assert_eq!(e.status, 403, "{}", e.message);
        assert!(resolve(&root, "alloc/self").is_ok());
        assert_eq!(resolve(&root, "nope").unwrap_err().status, 404);
        assert_eq!(display("/alloc/./logs"), "alloc/logs");
    }
}
