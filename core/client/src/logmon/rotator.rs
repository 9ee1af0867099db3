//! The file rotator: appends a stream to `<dir>/<base>.<N>` files of at most `file_size`
//! bytes, keeping the newest `max_files` (Nomad's `client/logmon/logging/rotator.go`).
//!
//! * On open it resumes at the highest existing index and appends to it (a restarted
//!   logmon continues the same file), moving on at once if that file is already full.
//! * Indices only grow; files are never renamed.
//! * A write that does not fit is split at its last newline inside the room left, so a
//!   line is not cut in two when it can be helped; a chunk without a newline there is
//!   cut at the size limit.
//! * After each rotation the oldest files beyond `max_files` are deleted.
//!
//! Synchronous on purpose: each write is a small append to a local file; the async copy
//! loop in [`super::LogMon`] calls it between reads.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Appends to rotated files.
#[derive(Debug)]
pub struct FileRotator {
    dir: PathBuf,
    base: String,
    max_files: usize,
    file_size: u64,
    index: u64,
    written: u64,
    file: File,
}

/// The indices of `<dir>/<base>.<N>` files, ascending.
pub fn indices(dir: &Path, base: &str) -> io::Result<Vec<u64>> {
    let prefix = format!("{base}.");
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = name
            .strip_prefix(&prefix)
            .and_then(|s| s.parse::<u64>().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn open_append(path: &Path) -> io::Result<(File, u64)> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
    let len = file.metadata()?.len();
    Ok((file, len))
}

impl FileRotator {
    /// Opens the rotator for `<dir>/<base>.N`; `max_files ≥ 1`, `file_size ≥ 1`.
    pub fn open(
        dir: &Path,
        base: &str,
        max_files: usize,
        file_size: u64,
    ) -> io::Result<FileRotator> {
        let index = indices(dir, base)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot list {}: {e}", dir.display())))?
            .last()
            .copied()
            .unwrap_or(0);
        let path = dir.join(format!("{base}.{index}"));
        let (file, written) = open_append(&path)?;
        let mut r = FileRotator {
            dir: dir.to_owned(),
            base: base.to_owned(),
            max_files: max_files.max(1),
            file_size: file_size.max(1),
            index,
            written,
            file,
        };
        if r.written >= r.file_size {
            r.rotate()?;
        }
        Ok(r)
    }

    /// The index of the file being written.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The path of the file being written.
    pub fn current_path(&self) -> PathBuf {
        self.dir.join(format!("{}.{}", self.base, self.index))
    }

    /// Appends `buf`, rotating as needed.
    pub fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            if self.written >= self.file_size {
                self.rotate()?;
            }
            let room = usize::try_from(self.file_size - self.written).unwrap_or(usize::MAX);
            let take = if buf.len() <= room {
                buf.len()
            } else {
                // Split after the last newline that fits, if any.
                match buf[..room].iter().rposition(|b| *b == b'\n') {
                    Some(i) => i + 1,
                    None => room,
                }
            };
            self.file.write_all(&buf[..take]).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot write {}: {e}", self.current_path().display()),
                )
            })?;
            self.written += take as u64;
            buf = &buf[take..];
            if !buf.is_empty() && take < room {
                // Split at a newline: this file is done even though it has room.
                self.rotate()?;
            }
        }
        Ok(())
    }

    /// Moves to the next index and purges the oldest files.
    fn rotate(&mut self) -> io::Result<()> {
        self.index += 1;
        let (file, written) = open_append(&self.current_path())?;
        self.file = file;
        self.written = written;
        self.purge()
    }

    /// Deletes all but the newest `max_files` files.
    fn purge(&self) -> io::Result<()> {
        let all = indices(&self.dir, &self.base)?;
        let excess = all.len().saturating_sub(self.max_files);
        for n in &all[..excess] {
            let p = self.dir.join(format!("{}.{n}", self.base));
            match fs::remove_file(&p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot remove {}: {e}", p.display()),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name)).unwrap()
    }

    #[test]
    fn rotates_at_size_splitting_at_newlines_and_purges() {
        let d = tempfile::tempdir().unwrap();
        let mut r = FileRotator::open(d.path(), "web.stdout", 2, 10).unwrap();
        r.write_all(b"abc\ndefgh\nij").unwrap();
        // "abc\ndefgh\n" is exactly 10 bytes: fits, then "ij" starts file 1.
        assert_eq!(read(d.path(), "web.stdout.0"), "abc\ndefgh\n");
        assert_eq!(read(d.path(), "web.stdout.1"), "ij");
        // 8 bytes of room left in file 1; the last newline inside it is after "kl".
        r.write_all(b"kl\nmnopqrst\n").unwrap();
        assert_eq!(read(d.path(), "web.stdout.1"), "ijkl\n");
        assert_eq!(read(d.path(), "web.stdout.2"), "mnopqrst\n");
        assert_eq!(
            indices(d.path(), "web.stdout").unwrap(),
            [1, 2],
            "file 0 purged"
        );
        // No newline at all: one byte fills file 2, then cut at the limit.
        r.write_all(b"0123456789ABCDE").unwrap();
        assert_eq!(read(d.path(), "web.stdout.3"), "123456789A");
        assert_eq!(read(d.path(), "web.stdout.4"), "BCDE");
        assert_eq!(indices(d.path(), "web.stdout").unwrap(), [3, 4]);
        assert_eq!(r.index(), 4);
    }

    #[test]
    fn resumes_at_highest_index_and_appends() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("t.stderr.3"), "old\n").unwrap();
        fs::write(d.path().join("t.stderr.7"), "xy").unwrap();
        fs::write(d.path().join("t.stderr.x"), "ignored").unwrap();
        fs::write(d.path().join("t.stdout.9"), "other stream").unwrap();
        let mut r = FileRotator::open(d.path(), "t.stderr", 5, 4).unwrap();
        assert_eq!(r.index(), 7);
        r.write_all(b"z").unwrap();
        assert_eq!(read(d.path(), "t.stderr.7"), "xyz");
        // A full last file: resume at the next index.
        fs::write(d.path().join("t.stderr.8"), "full").unwrap();
        let r = FileRotator::open(d.path(), "t.stderr", 5, 4).unwrap();
        assert_eq!(r.index(), 9);
        let missing = FileRotator::open(&d.path().join("nope"), "t.stderr", 5, 4).unwrap_err();
        assert!(missing.to_string().contains("cannot list"), "{missing}");
    }
}
