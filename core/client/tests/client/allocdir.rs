//! Allocation directories on a real filesystem.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use drover_client::{AllocDir, LogKind};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn builds_nomads_layout_with_modes_measures_and_destroys() {
    let d = tempfile::tempdir().unwrap();
    let a = AllocDir::new(d.path(), "alloc-1").unwrap();
    a.build().unwrap();
    let t = a.build_task("web").unwrap();
    // Idempotent.
    a.build().unwrap();
    a.build_task("web").unwrap();
    let cases = [
        (a.path().to_owned(), 0o755),
        (a.shared_dir(), 0o755),
        (a.data_dir(), 0o777),
        (a.logs_dir(), 0o777),
        (a.tmp_dir(), 0o777),
        (t.dir.clone(), 0o777),
        (t.local_dir.clone(), 0o777),
        (t.tmp_dir.clone(), 0o1777),
        (t.secrets_dir.clone(), 0o700),
        (t.private_dir.clone(), 0o700),
    ];
    for (p, want) in cases {
        assert_eq!(mode(&p), want, "{}", p.display());
    }
    assert_eq!(
        a.log_path("web", LogKind::Stdout, 0),
        d.path().join("alloc-1/alloc/logs/web.stdout.0")
    );
    let before = a.disk_usage().unwrap();
    std::fs::write(t.local_dir.join("blob"), vec![7u8; 5000]).unwrap();
    let after = a.disk_usage().unwrap();
    assert_eq!(after.bytes - before.bytes, 5000);
    assert_eq!(after.inodes - before.inodes, 1);
    a.destroy().unwrap();
    assert!(!a.path().exists());
    a.destroy().unwrap();
}

#[test]
fn unwritable_data_dir_gives_an_error_naming_the_path() {
    let d = tempfile::tempdir().unwrap();
    // A file where the alloc dir should be: mkdir fails even for root.
    let blocker = d.path().join("alloc");
    std::fs::write(&blocker, "not a directory").unwrap();
    let a = AllocDir::new(&blocker, "alloc-1").unwrap();
    let e = a.build().unwrap_err().to_string();
    let want = format!("cannot create directory {}/alloc-1: ", blocker.display());
    assert!(e.starts_with(&want), "{e}");
    // A task dir whose place is taken by a file.
    let a = AllocDir::new(d.path(), "alloc-2").unwrap();
    a.build().unwrap();
    std::fs::write(a.path().join("web"), "x").unwrap();
    let e = a.build_task("web").unwrap_err().to_string();
    assert!(e.contains("alloc-2/web"), "{e}");
}
