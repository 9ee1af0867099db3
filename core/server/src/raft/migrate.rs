//! One-time conversion of a data dir written by the sled-based log store
//! (Drover before the WAL) into the WAL layout.
//!
//! The sled store lived in `<data_dir>/server/raft/` too, as one keyspace:
//! `e` + big-endian index → `Entry`; `m:hs`, `m:cs`, `m:snap_meta` →
//! protobuf `HardState`, `ConfState`, `SnapshotMetadata`; `m:snap_data` → the
//! snapshot image; `m:peers` → JSON peers. Steps, each safe to crash in:
//!
//! 1. rename `raft/` to `raft.sled/` (fsync `server/`): from here on the old
//!    store is only read;
//! 2. write the WAL into a fresh `raft.migrating/` (fsynced);
//! 3. rename `raft.migrating/` to `raft/` (fsync `server/`);
//! 4. delete `raft.sled/`.
//!
//! A restart redoes step 2 from scratch if `raft/` is missing, and only
//! step 4 if it exists.

use std::path::Path;

use ::raft::prelude::{ConfState, Entry, HardState, SnapshotMetadata};
use protobuf::Message as _;

use super::RaftError;
use super::wal::Wal;

const HARD_STATE: &[u8] = b"m:hs";
const CONF_STATE: &[u8] = b"m:cs";
const SNAP_META: &[u8] = b"m:snap_meta";
const SNAP_DATA: &[u8] = b"m:snap_data";
const PEERS: &[u8] = b"m:peers";

/// Entries converted per WAL write.
const CHUNK: usize = 1024;

fn err(what: &str, path: &Path, e: impl std::fmt::Display) -> RaftError {
    RaftError::Storage(format!(
        "migrating the sled raft log in {}: {what}: {e}",
        path.display()
    ))
}

/// Whether `dir` holds a sled database.
fn is_sled(dir: &Path) -> bool {
    dir.join("conf").is_file() && dir.join("db").is_file()
}

fn sync_dir(dir: &Path) -> Result<(), RaftError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| err("fsync directory", dir, e))
}

/// Converts `<server_dir>/raft` from the sled layout, if it is one (or
/// finishes a conversion a crash interrupted).
pub(crate) fn from_sled(server_dir: &Path, segment_bytes: u64) -> Result<(), RaftError> {
    let live = server_dir.join("raft");
    let old = server_dir.join("raft.sled");
    let staging = server_dir.join("raft.migrating");
    if is_sled(&live) {
        if old.exists() {
            return Err(err(
                "both the live log and an earlier copy exist",
                &old,
                "move one of them away",
            ));
        }
        std::fs::rename(&live, &old).map_err(|e| err("rename", &live, e))?;
        sync_dir(server_dir)?;
    }
    if !old.exists() {
        return Ok(());
    }
    if !live.exists() {
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| err("remove", &staging, e))?;
        }
        let entries = convert(&old, &staging, segment_bytes)?;
        sync_dir(&staging)?;
        std::fs::rename(&staging, &live).map_err(|e| err("rename", &staging, e))?;
        sync_dir(server_dir)?;
        tracing::info!(dir = %live.display(), entries, "converted the sled raft log to the WAL");
    }
    std::fs::remove_dir_all(&old).map_err(|e| err("remove", &old, e))
}

fn open_sled(path: &Path) -> Result<sled::Db, RaftError> {
    // sled releases its file lock from background threads some time after
    // the last handle is dropped; another process holding it still fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let config = sled::Config::new().path(path).flush_every_ms(None);
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => {
                return other
                    .map_err(|e| err("open (is another Drover server using it?)", path, e));
            }
        }
    }
}

fn get<M: protobuf::Message>(
    db: &sled::Db,
    key: &[u8],
    path: &Path,
) -> Result<Option<M>, RaftError> {
    let what = String::from_utf8_lossy(key);
    match db
        .get(key)
        .map_err(|e| err(&format!("read {what}"), path, e))?
    {
        Some(v) => M::parse_from_bytes(&v)
            .map(Some)
            .map_err(|e| err(&format!("decode {what}"), path, e)),
        None => Ok(None),
    }
}

/// Writes the WAL for the sled store at `old` into `new`; returns how many
/// entries it holds.
fn convert(old: &Path, new: &Path, segment_bytes: u64) -> Result<usize, RaftError> {
    let db = open_sled(old)?;
    let hs: HardState = get(&db, HARD_STATE, old)?.unwrap_or_default();
    let cs: ConfState = get(&db, CONF_STATE, old)?.unwrap_or_default();
    let meta: SnapshotMetadata = get(&db, SNAP_META, old)?.unwrap_or_default();
    let peers = match db.get(PEERS).map_err(|e| err("read m:peers", old, e))? {
        Some(v) => serde_json::from_slice(&v).map_err(|e| err("decode m:peers", old, e))?,
        None => std::collections::BTreeMap::new(),
    };
    let (mut wal, _) = Wal::open(new, segment_bytes)?;
    wal.set_hard_state(&hs);
    wal.set_conf_state(&cs);
    wal.set_peers(&peers);
    if meta.index > 0 {
        let image = db
            .get(SNAP_DATA)
            .map_err(|e| err("read m:snap_data", old, e))?
            .ok_or_else(|| err("m:snap_data", old, "snapshot metadata without data"))?;
        wal.set_snapshot(&meta, &image, true)?;
    }
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut count = 0;
    for (expected, kv) in (meta.index + 1..).zip(db.range(&b"e"[..]..&b"f"[..])) {
        let (_, v) = kv.map_err(|e| err("scan entries", old, e))?;
        let e = Entry::parse_from_bytes(&v).map_err(|e| err("decode entry", old, e))?;
        if e.index != expected {
            return Err(err(
                "entries",
                old,
                format!("expected entry {expected}, found {}", e.index),
            ));
        }
        chunk.push(e);
        if chunk.len() == CHUNK {
            count += chunk.len();
            wal.append_entries(&chunk);
            wal.write(false)?;
            chunk.clear();
        }
    }
    count += chunk.len();
    wal.append_entries(&chunk);
    wal.write(true)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ::raft::Storage as _;
    use protobuf::Message as _;

    use super::*;
    use crate::raft::RaftStorage;
    use crate::raft::storage::SnapshotData;

    fn entry(index: u64) -> Entry {
        let mut e = Entry {
            index,
            term: 2,
            ..Default::default()
        };
        e.set_data(format!("k{index}=v").into_bytes().into());
        e
    }

    /// A data dir as the sled-based store left it: snapshot at 5, entries
    /// 6..=20, hard state, conf state, peers.
    fn write_sled_layout(
        data_dir: &Path,
    ) -> (HardState, ConfState, BTreeMap<u64, String>, Vec<u8>) {
        let db = sled::open(data_dir.join("server").join("raft")).expect("open sled");
        let hs = HardState {
            term: 2,
            vote: 1,
            commit: 18,
            ..Default::default()
        };
        let cs = ConfState {
            voters: vec![1],
            ..Default::default()
        };
        let peers = BTreeMap::from([(1, "127.0.0.1:4648".to_owned())]);
        let mut meta = SnapshotMetadata {
            index: 5,
            term: 1,
            ..Default::default()
        };
        meta.set_conf_state(cs.clone());
        let image = SnapshotData {
            peers: peers.clone(),
            fsm: b"fsm image".to_vec(),
        }
        .encode();
        db.insert(HARD_STATE, hs.write_to_bytes().expect("encode"))
            .expect("put");
        db.insert(CONF_STATE, cs.write_to_bytes().expect("encode"))
            .expect("put");
        db.insert(SNAP_META, meta.write_to_bytes().expect("encode"))
            .expect("put");
        db.insert(SNAP_DATA, image.clone()).expect("put");
        db.insert(PEERS, serde_json::to_vec(&peers).expect("json"))
            .expect("put");
        for i in 6..=20u64 {
            let mut key = vec![b'e'];
            key.extend_from_slice(&i.to_be_bytes());
            db.insert(key, entry(i).write_to_bytes().expect("encode"))
                .expect("put");
        }
        db.flush().expect("flush");
        (hs, cs, peers, image)
    }

    fn check_converted(
        data_dir: &Path,
        hs: &HardState,
        cs: &ConfState,
        peers: &BTreeMap<u64, String>,
        image: &[u8],
    ) {
        let storage = RaftStorage::open(data_dir).expect("open converted");
        let state = storage.initial_state().expect("state");
        assert_eq!(&state.hard_state, hs);
        assert_eq!(&state.conf_state, cs);
        assert_eq!(storage.peers(), peers);
        assert_eq!(storage.snapshot_index(), 5);
        assert_eq!(storage.last_log_index(), 20);
        assert_eq!(storage.term(5).expect("term"), 1);
        let (snap, log) = storage.log_since_snapshot().expect("log");
        assert_eq!(snap, Some(b"fsm image".to_vec()));
        let want: Vec<_> = (6..=20)
            .map(|i| (i, format!("k{i}=v").into_bytes()))
            .collect();
        assert_eq!(log, want);
        assert_eq!(storage.snapshot(5, 1).expect("snapshot").get_data(), image);
        let server = data_dir.join("server");
        assert!(
            !server.join("raft.sled").exists(),
            "the sled copy is removed"
        );
        assert!(!server.join("raft").join("db").exists());
    }

    #[test]
    fn a_sled_data_dir_is_converted_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (hs, cs, peers, image) = write_sled_layout(dir.path());
        check_converted(dir.path(), &hs, &cs, &peers, &image);
        // Reopening the converted log changes nothing.
        check_converted(dir.path(), &hs, &cs, &peers, &image);
    }

    #[test]
    fn a_conversion_interrupted_by_a_crash_is_redone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (hs, cs, peers, image) = write_sled_layout(dir.path());
        let server = dir.path().join("server");
        // Crashed after step 1, with a half-written staging dir.
        std::fs::rename(server.join("raft"), server.join("raft.sled")).expect("rename");
        std::fs::create_dir(server.join("raft.migrating")).expect("mkdir");
        std::fs::write(
            server
                .join("raft.migrating")
                .join("00000000000000000001.wal"),
            b"DRW",
        )
        .expect("write");
        check_converted(dir.path(), &hs, &cs, &peers, &image);
    }

    #[test]
    fn a_conversion_interrupted_after_the_switch_only_cleans_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (hs, cs, peers, image) = write_sled_layout(dir.path());
        check_converted(dir.path(), &hs, &cs, &peers, &image);
        // Crashed before step 4: a stale copy of the old store is left.
        let stale = dir.path().join("server").join("raft.sled");
        std::fs::create_dir(&stale).expect("mkdir");
        std::fs::write(stale.join("db"), b"old").expect("write");
        check_converted(dir.path(), &hs, &cs, &peers, &image);
    }
}
