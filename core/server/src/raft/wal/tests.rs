//! The WAL on real files: round trip, torn and corrupt tails, overwrites,
//! segment roll and deletion, snapshots; each checked again after a reopen.

use std::path::Path;

use super::*;

fn entry(index: u64, term: u64) -> Entry {
    let mut e = Entry {
        index,
        term,
        ..Default::default()
    };
    e.set_data(
        format!("entry {index} of term {term}")
            .repeat(8)
            .into_bytes()
            .into(),
    );
    e
}

fn entries(low: u64, high: u64, term: u64) -> Vec<Entry> {
    (low..high).map(|i| entry(i, term)).collect()
}

fn open(dir: &Path, segment_bytes: u64) -> (Wal, Recovered) {
    Wal::open(dir, segment_bytes).expect("open wal")
}

fn open_err(dir: &Path) -> String {
    match Wal::open(dir, DEFAULT_SEGMENT_BYTES) {
        Ok(_) => panic!("opening {} should fail", dir.display()),
        Err(e) => e.to_string(),
    }
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    out.sort();
    out
}

fn snapshot_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .collect();
    out.sort();
    out
}

fn meta(index: u64, term: u64) -> SnapshotMetadata {
    SnapshotMetadata {
        index,
        term,
        ..Default::default()
    }
}

fn all(wal: &Wal, low: u64, high: u64) -> Vec<Entry> {
    wal.read_entries(low, high, None).expect("read entries")
}

#[test]
fn round_trip_of_entries_and_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hs = HardState {
        term: 3,
        vote: 1,
        commit: 7,
        ..Default::default()
    };
    let cs = ConfState {
        voters: vec![1, 2, 3],
        ..Default::default()
    };
    let peers = BTreeMap::from([(1, "a:1".to_owned()), (2, "b:2".to_owned())]);
    {
        let (mut wal, rec) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
        assert_eq!(rec.last_index, 0);
        wal.append_entries(&entries(1, 11, 3));
        wal.set_hard_state(&hs);
        wal.set_conf_state(&cs);
        wal.set_peers(&peers);
        // Readable before the write (staged) and after it.
        assert_eq!(all(&wal, 1, 11), entries(1, 11, 3));
        assert!(wal.write(true).expect("write"));
        assert_eq!(all(&wal, 1, 11), entries(1, 11, 3));
        // Nothing new written: no second fsync.
        assert!(!wal.write(true).expect("write"));
    }
    let (wal, rec) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
    assert_eq!(rec.last_index, 10);
    assert_eq!(rec.hard_state, hs);
    assert_eq!(rec.conf_state, cs);
    assert_eq!(rec.peers, peers);
    assert_eq!(all(&wal, 1, 11), entries(1, 11, 3));
    assert_eq!(wal.term(4), Some(3));
    assert_eq!(wal.term(11), None);
    // The size limit stops after the first entry that exceeds it.
    let one = u64::from(entry(1, 3).compute_size());
    assert_eq!(
        wal.read_entries(1, 11, Some(one * 3)).expect("read").len(),
        3
    );
    assert_eq!(wal.read_entries(1, 11, Some(0)).expect("read").len(), 1);
}

#[test]
fn torn_tail_is_truncated_and_the_log_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (mut wal, _) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
        wal.append_entries(&entries(1, 6, 1));
        wal.write(true).expect("write");
    }
    let seg = segment_files(dir.path()).pop().expect("segment");
    let len = std::fs::metadata(&seg).expect("stat").len();
    // Cut the last record in half, as a crash mid-write would.
    let f = OpenOptions::new().write(true).open(&seg).expect("open");
    f.set_len(len - 20).expect("truncate");
    drop(f);
    {
        let (mut wal, rec) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
        assert_eq!(rec.last_index, 4, "entry 5 was torn");
        let cut = std::fs::metadata(&seg).expect("stat").len();
        assert!(cut < len - 20, "the torn record is gone from the file");
        wal.append_entries(&entries(5, 8, 2));
        wal.write(true).expect("write");
    }
    // Garbage (zeros of a preallocated or half-written block) at the end.
    let mut bytes = std::fs::read(&seg).expect("read");
    bytes.extend_from_slice(&[0u8; 700]);
    std::fs::write(&seg, &bytes).expect("write");
    let (wal, rec) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
    assert_eq!(rec.last_index, 7);
    assert_eq!(all(&wal, 1, 8)[4..], entries(5, 8, 2)[..]);
}

#[test]
fn corrupt_record_before_valid_ones_fails_the_open_naming_file_and_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at;
    {
        let (mut wal, _) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
        wal.append_entries(&entries(1, 11, 1));
        wal.write(true).expect("write");
        at = wal.positions[4].offset;
    }
    let seg = segment_files(dir.path()).pop().expect("segment");
    let mut bytes = std::fs::read(&seg).expect("read");
    // One flipped bit in entry 5's payload.
    bytes[at as usize + record::HEADER + 3] ^= 0x10;
    std::fs::write(&seg, &bytes).expect("write");
    let err = open_err(dir.path());
    assert!(err.contains(&seg.display().to_string()), "{err}");
    assert!(err.contains(&format!("offset {at}")), "{err}");
    assert!(err.contains("checksum mismatch"), "{err}");
    // Nothing was truncated.
    assert_eq!(std::fs::read(&seg).expect("read").len(), bytes.len());
}

#[test]
fn a_bad_tail_in_an_older_segment_is_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (mut wal, _) = open(dir.path(), 2048);
        for i in 1..40 {
            wal.append_entries(&[entry(i, 1)]);
            wal.write(true).expect("write");
        }
    }
    let segs = segment_files(dir.path());
    assert!(segs.len() >= 3, "rolled: {segs:?}");
    let first = &segs[0];
    let len = std::fs::metadata(first).expect("stat").len();
    let f = OpenOptions::new().write(true).open(first).expect("open");
    f.set_len(len - 5).expect("truncate");
    drop(f);
    let err = open_err(dir.path());
    assert!(err.contains(&first.display().to_string()), "{err}");
    assert!(err.contains("corrupt record"), "{err}");
}

#[test]
fn a_missing_segment_fails_the_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (mut wal, _) = open(dir.path(), 2048);
        for i in 1..40 {
            wal.append_entries(&[entry(i, 1)]);
            wal.write(true).expect("write");
        }
    }
    let segs = segment_files(dir.path());
    std::fs::remove_file(&segs[1]).expect("remove");
    let err = open_err(dir.path());
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn conflicting_suffix_is_replaced_across_segments_and_reopens() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (mut wal, _) = open(dir.path(), 2048);
        for i in 1..=30 {
            wal.append_entries(&[entry(i, 1)]);
            wal.write(true).expect("write");
        }
        assert!(segment_files(dir.path()).len() > 2);
        // A new leader overwrites from 12 on with a shorter log of term 2.
        wal.append_entries(&entries(12, 15, 2));
        wal.write(true).expect("write");
        assert_eq!(wal.last_index(), 14);
        assert_eq!(wal.term(12), Some(2));
        assert_eq!(wal.term(15), None);
        assert_eq!(all(&wal, 10, 15)[2..], entries(12, 15, 2)[..]);
    }
    let (mut wal, rec) = open(dir.path(), 2048);
    assert_eq!(rec.last_index, 14);
    assert_eq!(all(&wal, 1, 12), entries(1, 12, 1));
    assert_eq!(all(&wal, 12, 15), entries(12, 15, 2));
    // Overwriting the very last entry only.
    wal.append_entries(&entries(14, 16, 3));
    wal.write(true).expect("write");
    drop(wal);
    let (wal, rec) = open(dir.path(), 2048);
    assert_eq!(rec.last_index, 15);
    assert_eq!(wal.term(13), Some(2));
    assert_eq!(wal.term(14), Some(3));
}

#[test]
fn segments_roll_and_are_deleted_once_a_snapshot_covers_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hs = HardState {
        term: 1,
        commit: 100,
        ..Default::default()
    };
    {
        let (mut wal, _) = open(dir.path(), 2048);
        wal.set_hard_state(&hs);
        for i in 1..=100 {
            wal.append_entries(&[entry(i, 1)]);
            wal.write(true).expect("write");
        }
        let before = segment_files(dir.path());
        assert!(before.len() > 5, "rolled at 2 KiB: {before:?}");
        wal.set_snapshot(&meta(60, 1), b"image at 60", false)
            .expect("snapshot");
        // The record is not durable yet: nothing deleted.
        assert_eq!(segment_files(dir.path()), before);
        assert!(
            wal.write(false).expect("write"),
            "a snapshot record forces a sync"
        );
        let after = segment_files(dir.path());
        assert!(after.len() < before.len(), "{after:?}");
        assert_eq!(after.last(), before.last(), "the active segment stays");
        assert_eq!(all(&wal, 61, 101), entries(61, 101, 1));
    }
    let (wal, rec) = open(dir.path(), 2048);
    assert_eq!(rec.snap_meta, meta(60, 1));
    assert_eq!(rec.last_index, 100);
    assert_eq!(
        rec.hard_state, hs,
        "the checkpoint of a later segment kept it"
    );
    assert_eq!(all(&wal, 61, 101), entries(61, 101, 1));
    assert_eq!(
        wal.snapshot_data().expect("read"),
        Some(b"image at 60".to_vec())
    );
    assert!(wal.read_entries(60, 61, None).is_err(), "60 is compacted");
    // Compacting everything deletes every segment but the active one.
    drop(wal);
    let (mut wal, _) = open(dir.path(), 2048);
    wal.set_snapshot(&meta(100, 1), b"image at 100", false)
        .expect("snapshot");
    wal.write(true).expect("write");
    assert_eq!(segment_files(dir.path()).len(), 1);
    assert_eq!(
        snapshot_files(dir.path()).len(),
        1,
        "the old image is deleted"
    );
    drop(wal);
    let (wal, rec) = open(dir.path(), 2048);
    assert_eq!((rec.snap_meta.index, rec.last_index), (100, 100));
    assert_eq!(
        wal.snapshot_data().expect("read"),
        Some(b"image at 100".to_vec())
    );
}

#[test]
fn installed_snapshot_replaces_the_log_and_an_unrecorded_one_is_discarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (mut wal, _) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
        wal.append_entries(&entries(1, 21, 1));
        wal.set_snapshot(&meta(5, 1), b"five", false)
            .expect("snapshot");
        wal.write(true).expect("write");
        // From a leader of term 2: entries 6..=20 of term 1 are stale.
        wal.set_snapshot(&meta(12, 2), b"twelve", true)
            .expect("snapshot");
        wal.write(true).expect("write");
        assert_eq!(wal.last_index(), 12);
        wal.append_entries(&entries(13, 15, 2));
        wal.write(true).expect("write");
        // A crash after the image is written but before its record is.
        wal.set_snapshot(&meta(14, 2), b"fourteen", false)
            .expect("snapshot");
    }
    assert_eq!(snapshot_files(dir.path()).len(), 2);
    let (wal, rec) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
    assert_eq!(rec.snap_meta, meta(12, 2));
    assert_eq!(rec.last_index, 14);
    assert_eq!(all(&wal, 13, 15), entries(13, 15, 2));
    assert_eq!(wal.snapshot_data().expect("read"), Some(b"twelve".to_vec()));
    assert_eq!(
        snapshot_files(dir.path()).len(),
        1,
        "the unrecorded image is gone"
    );
}

#[test]
fn a_corrupt_snapshot_image_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (mut wal, _) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
        wal.set_snapshot(&meta(3, 1), b"image", true)
            .expect("snapshot");
        wal.write(true).expect("write");
    }
    let snap = snapshot_files(dir.path()).pop().expect("snapshot file");
    let mut bytes = std::fs::read(&snap).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&snap, &bytes).expect("write");
    let (wal, _) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
    let err = wal.snapshot_data().expect_err("corrupt image").to_string();
    assert!(
        err.contains("checksum mismatch") && err.contains(&snap.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_second_user_of_the_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_wal, _) = open(dir.path(), DEFAULT_SEGMENT_BYTES);
    let err = lock(dir.path(), Duration::from_millis(50))
        .expect_err("locked")
        .to_string();
    assert!(err.contains("another Drover server"), "{err}");
}
