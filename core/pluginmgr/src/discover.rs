//! Finding plugin binaries: executables named `drover-driver-*` or
//! `drover-fetcher-*` next to the `drover` executable and in `plugin_dir`.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// File name prefixes of plugin binaries.
pub const PLUGIN_PREFIXES: &[&str] = &["drover-driver-", "drover-fetcher-"];

/// The directories plugins are looked up in: the directory of the running
/// executable, then `plugin_dir` when given.
pub fn default_dirs(plugin_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        dirs.push(dir);
    }
    if let Some(dir) = plugin_dir
        && !dirs.iter().any(|d| d == dir)
    {
        dirs.push(dir.to_path_buf());
    }
    dirs
}

/// Plugin executables in `dirs`, sorted by file name. A file name found in
/// several directories is taken from the first one. Missing or unreadable
/// directories are skipped (with a debug log).
pub fn discover(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "skipping plugin directory");
                continue;
            }
        };
        let mut here: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| is_plugin(path))
            .collect();
        here.sort();
        for path in here {
            if let Some(name) = path.file_name()
                && seen.insert(name.to_os_string())
            {
                found.push(path);
            }
        }
    }
    found.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    found
}

fn is_plugin(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if !PLUGIN_PREFIXES
        .iter()
        .any(|p| name.len() > p.len() && name.starts_with(p))
    {
        return false;
    }
    // Follows symlinks: a link to an executable counts.
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    #[test]
    fn finds_executable_plugins_first_dir_wins() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let raw = touch(a.path(), "drover-driver-raw_exec", 0o755);
        touch(a.path(), "drover-driver-raw_exec.d", 0o644); // cargo dep file
        touch(a.path(), "drover-driver-", 0o755); // no name
        touch(a.path(), "drover", 0o755);
        touch(b.path(), "drover-driver-raw_exec", 0o755); // shadowed
        let http = touch(b.path(), "drover-fetcher-http", 0o700);
        std::fs::create_dir(b.path().join("drover-driver-dir")).expect("mkdir");
        let missing = a.path().join("missing");
        let found = discover(&[missing, a.path().into(), b.path().into()]);
        assert_eq!(found, vec![raw, http]);
    }

    #[test]
    fn default_dirs_include_exe_dir_and_plugin_dir() {
        let dirs = default_dirs(Some(Path::new("/var/lib/drover/plugins")));
        assert_eq!(dirs.len(), 2);
        assert_eq!(dirs[1], Path::new("/var/lib/drover/plugins"));
    }
}
