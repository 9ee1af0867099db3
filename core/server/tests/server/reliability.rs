//! The Reliability test: SIGKILL the server during a burst of job registrations;
//! after restart every acknowledged job and its eval is there, no allocation is
//! duplicated, and the state equals the one rebuilt by replaying the log.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn acknowledged_jobs_survive_sigkill_without_duplicate_allocs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = crate::common::example_binary("server_node");
    let mut child = Command::new(&bin)
        .args(["burst", &dir.path().display().to_string(), "100000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn server_node burst");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut acked: BTreeMap<String, String> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    // Kill mid-burst, after a few compactions (threshold 300 entries).
    while acked.len() < 600 {
        assert!(
            Instant::now() < deadline,
            "only {} acks within 120 s",
            acked.len()
        );
        let line = lines
            .next()
            .expect("burst ended early")
            .expect("read stdout");
        let (job, eval) = parse_ack(&line);
        assert!(
            acked.insert(job.clone(), eval).is_none(),
            "{job} acknowledged twice"
        );
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    for line in lines {
        let Ok(line) = line else { break };
        let (job, eval) = parse_ack(&line);
        acked.insert(job, eval);
    }

    let out = Command::new(&bin)
        .args(["dump", &dir.path().display().to_string()])
        .output()
        .expect("run server_node dump");
    assert!(
        out.status.success(),
        "dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    let mut jobs = BTreeSet::new();
    let mut evals = HashMap::new();
    let mut live_by_name: HashMap<(String, String), usize> = HashMap::new();
    let mut live_by_job: HashMap<String, usize> = HashMap::new();
    let mut matched = None;
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["JOB", _, id] => {
                jobs.insert(id.to_string());
            }
            ["EVAL", id, job] => {
                evals.insert(id.to_string(), job.to_string());
            }
            ["ALLOC", job, name, "true"] => {
                *live_by_name
                    .entry((job.to_string(), name.to_string()))
                    .or_default() += 1;
                *live_by_job.entry(job.to_string()).or_default() += 1;
            }
            ["MATCH", m] => matched = Some(*m == "true"),
            _ => {}
        }
    }
    assert!(
        text.lines().any(|l| l.starts_with("END ")),
        "dump finished:\n{text}"
    );
    assert_eq!(
        matched,
        Some(true),
        "state after restart equals the log replayed"
    );
    for (job, eval) in &acked {
        assert!(jobs.contains(job), "acknowledged {job} survives");
        assert_eq!(evals.get(eval), Some(job), "{job}'s eval {eval} survives");
    }
    for ((job, name), n) in &live_by_name {
        assert_eq!(*n, 1, "{job}: alloc {name} placed {n} times");
    }
    for (job, n) in &live_by_job {
        assert!(*n <= 2, "{job} has {n} live allocs for count 2");
    }
    assert!(
        live_by_job.len() > 10,
        "the workers placed allocations during the burst"
    );
}

fn parse_ack(line: &str) -> (String, String) {
    let parts: Vec<&str> = line.split(' ').collect();
    match parts.as_slice() {
        ["ACK", _, job, eval] => (job.to_string(), eval.to_string()),
        _ => panic!("unexpected line {line:?}"),
    }
}
