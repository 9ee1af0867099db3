//! kill -9 during a burst of writes: every acknowledged write survives, once.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn acknowledged_writes_survive_sigkill_without_duplicates() {
    burst_kill_and_check(None);
}

/// With 8 KiB segments the WAL rolls and deletes compacted segments every
/// few hundred writes, so the kill can land in a roll or a deletion too.
#[test]
fn acknowledged_writes_survive_sigkill_with_small_wal_segments() {
    let dir = burst_kill_and_check(Some(8192));
    let seqs: Vec<u64> = std::fs::read_dir(dir.path().join("server").join("raft"))
        .expect("list raft dir")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".wal")?.parse().ok()
        })
        .collect();
    // ~1500 writes of ~40 bytes span ~8 segments; compaction every 200
    // writes leaves only the newest few.
    let newest = seqs.iter().max().copied().unwrap_or(0);
    assert!(newest >= 4, "the WAL rolled: segments {seqs:?}");
    assert!(seqs.len() <= 4, "compacted segments deleted: {seqs:?}");
}

/// Bursts writes into `raft_node`, kills it with SIGKILL, then checks that
/// every acknowledged write is stored exactly once. Returns the data dir.
fn burst_kill_and_check(segment_bytes: Option<u64>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = crate::common::example_binary("raft_node");
    let mut args = vec![
        "burst".to_owned(),
        dir.path().display().to_string(),
        "1000000".to_owned(),
    ];
    args.extend(segment_bytes.map(|b| b.to_string()));
    let mut child = Command::new(&bin)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn raft_node burst");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut acked = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Kill mid-burst, after a few compactions (threshold 200).
    while acked.len() < 1500 {
        assert!(
            Instant::now() < deadline,
            "only {} acks within 60 s",
            acked.len()
        );
        let line = lines
            .next()
            .expect("burst ended early")
            .expect("read stdout");
        let (index, key) = parse_ack(&line);
        assert!(
            acked.insert(key.clone(), index).is_none(),
            "{key} acknowledged twice"
        );
    }
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on unix
    child.wait().expect("reap");
    // Lines already written before the kill are acknowledgements too.
    for line in lines {
        let Ok(line) = line else { break };
        let (index, key) = parse_ack(&line);
        acked.insert(key, index);
    }

    let out = Command::new(&bin)
        .args(["dump", &dir.path().display().to_string()])
        .output()
        .expect("run raft_node dump");
    assert!(
        out.status.success(),
        "dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    let mut stored = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.split(' ');
        if parts.next() == Some("KEY") {
            let key = parts.next().expect("key").to_owned();
            let writes: u64 = parts.next().and_then(|w| w.parse().ok()).expect("writes");
            stored.insert(key, writes);
        }
    }
    assert!(
        text.lines().any(|l| l.starts_with("END ")),
        "dump finished:\n{text}"
    );
    for (key, index) in &acked {
        assert_eq!(
            stored.get(key),
            Some(&1),
            "acknowledged {key} (index {index}) stored exactly once"
        );
    }
    assert!(stored.values().all(|w| *w == 1), "no write applied twice");
    assert!(stored.len() >= acked.len());
    dir
}

fn parse_ack(line: &str) -> (u64, String) {
    let mut parts = line.split(' ');
    assert_eq!(parts.next(), Some("ACK"), "unexpected line {line:?}");
    let index = parts.next().and_then(|i| i.parse().ok()).expect("index");
    let key = parts.next().expect("key").to_owned();
    (index, key)
}
