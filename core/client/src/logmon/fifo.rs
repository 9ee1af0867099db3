//! Creating the FIFOs drivers write task output into.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use rustix::fs::{CWD, Mode, mkfifoat};

/// Creates a FIFO (mode 0600) at `path`. An existing FIFO is kept; anything else in the
/// way (e.g. a regular file left by a crash) is replaced.
pub fn create_fifo(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_fifo() => return Ok(()),
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    mkfifoat(CWD, path, Mode::from_raw_mode(0o600)).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_replaces_and_keeps() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".t.stdout.fifo");
        std::fs::write(&p, "stale").unwrap();
        create_fifo(&p).unwrap();
        assert!(std::fs::symlink_metadata(&p).unwrap().file_type().is_fifo());
        create_fifo(&p).unwrap();
        let e = create_fifo(&d.path().join("missing/x.fifo")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
