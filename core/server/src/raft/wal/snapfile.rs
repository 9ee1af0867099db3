//! Snapshot images, one file each: `snap-<index>-<term>.snap` holding
//! `[magic 8][len u64][crc32 u32][image]`.
//!
//! Written to `<name>.tmp`, fsynced, renamed into place and the directory
//! fsynced, so a file under its final name is always complete. The WAL's
//! last snapshot record names the file that counts; others are leftovers.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::raft::RaftError;

const MAGIC: &[u8; 8] = b"DRSNAP\0\x01";
const HEADER: usize = 8 + 8 + 4;

/// The file name of the snapshot at `index`/`term`.
pub(super) fn name(index: u64, term: u64) -> String {
    format!("snap-{index:020}-{term:020}.snap")
}

/// Whether `file_name` is a snapshot file (complete or not).
pub(super) fn is_snapshot(file_name: &str) -> bool {
    file_name.starts_with("snap-") && file_name.ends_with(".snap")
}

pub(super) fn io_err(op: &str, path: &Path, e: std::io::Error) -> RaftError {
    RaftError::Storage(format!("{op} {}: {e}", path.display()))
}

/// Makes the directory entries of `dir` (creations, renames) durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), RaftError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("fsync directory", dir, e))
}

/// Writes `image` durably as `dir/name`.
pub(super) fn write(dir: &Path, name: &str, image: &[u8]) -> Result<PathBuf, RaftError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = File::create(&tmp).map_err(|e| io_err("create", &tmp, e))?;
    let mut header = [0u8; HEADER];
    header[..8].copy_from_slice(MAGIC);
    header[8..16].copy_from_slice(&(image.len() as u64).to_le_bytes());
    header[16..].copy_from_slice(&crc32fast::hash(image).to_le_bytes());
    f.write_all(&header)
        .and_then(|()| f.write_all(image))
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err("write", &tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(|e| io_err("rename into place", &path, e))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Reads and checks the image in `path`.
pub(super) fn read(path: &Path) -> Result<Vec<u8>, RaftError> {
    let bytes = std::fs::read(path).map_err(|e| io_err("read", path, e))?;
    let bad = |why: &str| RaftError::Storage(format!("snapshot {}: {why}", path.display()));
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(bad("not a Drover snapshot file (bad header)"));
    }
    let len = u64::from_le_bytes(bytes[8..16].try_into().map_err(|_| bad("header"))?);
    let crc = u32::from_le_bytes(bytes[16..20].try_into().map_err(|_| bad("header"))?);
    let image = &bytes[HEADER..];
    if image.len() as u64 != len {
        return Err(bad(&format!(
            "{} bytes of image, header says {len}",
            image.len()
        )));
    }
    if crc32fast::hash(image) != crc {
        return Err(bad("checksum mismatch"));
    }
    Ok(image.to_vec())
}
