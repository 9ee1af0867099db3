//! Integration tests for the state machine: golden cases (tests/golden/*.txt), replay
//! determinism, snapshot/restore, view isolation, versions, the event feed, and a
//! bounded random-command property test.
//!
//! Golden files: `# comments`, then one command per line as `@<index> <Command JSON>`,
//! a `render` line dumps the tables at that point; then a `----` line and the expected
//! output: one result line per command (with its events), the renders, and the final
//! `StateView::render()`. `DROVER_GOLDEN_REWRITE=1` rewrites the expected
//! part from the actual output.

mod support;

use drover_state::{ApplyError, ApplyResponse, Command, StateStore, Topic};
use drover_types::{Job, TaskGroup};
use std::path::Path;
use support::*;

#[test]
fn golden_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/golden exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "golden cases missing in {}",
        dir.display()
    );
    let rewrite = std::env::var("DROVER_GOLDEN_REWRITE").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read golden file");
        let case = parse_case(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let actual = run_case(&case.steps);
        if actual != case.expected {
            if rewrite {
                let out = format!("{}----\n{actual}", case.input);
                std::fs::write(f, out).expect("rewrite golden file");
            } else {
                failures.push(format!(
                    "{}:\n--- expected\n{}\n--- actual\n{}",
                    f.display(),
                    case.expected,
                    actual
                ));
            }
        }
        // Every golden log replays to byte-identical snapshots, through the byte API too.
        let (a, b) = (replay_bytes(&case.commands), replay_bytes(&case.commands));
        assert_eq!(a, b, "{}: replay is not deterministic", f.display());
        let typed = {
            let mut s = StateStore::new();
            for (i, c) in &case.commands {
                let _ = s.apply_command(*i, c);
            }
            s.snapshot()
        };
        assert_eq!(a, typed, "{}: byte and typed apply differ", f.display());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn snapshot_restore_equal_state_and_behaviour() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let text = std::fs::read_to_string(dir.join("02_plan_and_summary.txt")).unwrap();
    let case = parse_case(&text).unwrap();
    let (head, tail) = case.commands.split_at(case.commands.len() / 2);
    let mut original = StateStore::new();
    for (i, c) in head {
        let _ = original.apply_command(*i, c);
    }
    let snap = original.snapshot();
    let mut restored = StateStore::new();
    restored.restore(&snap).unwrap();
    assert_eq!(restored.render(), original.render());
    assert_eq!(restored.snapshot(), snap);
    assert_eq!(restored.applied_index(), original.applied_index());
    for (i, c) in tail {
        let a = original.apply_command(*i, c);
        let b = restored.apply_command(*i, c);
        assert_eq!(a.map(|o| o.job_modify_index), b.map(|o| o.job_modify_index));
    }
    assert_eq!(restored.snapshot(), original.snapshot());
    // Replaying entries the snapshot already holds changes nothing.
    let mut again = StateStore::new();
    again.restore(&original.snapshot()).unwrap();
    for (i, c) in &case.commands {
        assert!(again.apply_command(*i, c).unwrap().skipped);
    }
    assert_eq!(again.snapshot(), original.snapshot());
    // A bad snapshot leaves the store untouched.
    let before = again.snapshot();
    let err = again.restore(b"{\"V\":9}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported state snapshot version 9 (this server reads versions 1 and 2)"
    );
    assert!(again.restore(b"not json").is_err());
    assert_eq!(again.snapshot(), before);
}

#[test]
fn version_1_snapshots_with_inline_jobs_still_restore() {
    let mut original = StateStore::new();
    original.apply_command(1, &node("n1")).unwrap();
    original
        .apply_command(2, &register("web", 2, Some("e1")))
        .unwrap();
    let plan = place(&original, "e1", "web", &[("a1", "n1"), ("a2", "n1")]);
    original.apply_command(3, &plan).unwrap();
    let v2 = original.snapshot();
    let mut from_v2 = StateStore::new();
    from_v2.restore(&v2).unwrap();
    assert_eq!(
        from_v2.alloc_by_id("a1").and_then(|a| a.job.clone()),
        original.alloc_by_id("a1").and_then(|a| a.job.clone()),
        "restore puts the job back on the allocation"
    );
    let mut doc: serde_json::Value = serde_json::from_slice(&v2).unwrap();
    assert_eq!(doc["V"], 2);
    // Version 2 writes an allocation's job once, as a reference to its version …
    let shared = doc["AllocJobVersions"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(shared.len(), 2, "{doc}");
    // … version 1 wrote every allocation with its whole job and had no version map.
    let versions = doc["JobVersions"].as_array().cloned().unwrap();
    for a in doc["Allocs"].as_array_mut().unwrap() {
        assert!(a["Job"].is_null(), "{a}");
        let v = &shared[a["ID"].as_str().unwrap()];
        let job = versions
            .iter()
            .find(|j| j["ID"] == a["JobID"] && &j["Version"] == v)
            .expect("the job version an allocation refers to");
        a["Job"] = job.clone();
    }
    doc.as_object_mut().unwrap().remove("AllocJobVersions");
    doc["V"] = 1.into();
    let mut restored = StateStore::new();
    restored
        .restore(&serde_json::to_vec(&doc).unwrap())
        .unwrap();
    assert_eq!(restored.render(), original.render());
    assert!(
        restored
            .alloc_by_id("a1")
            .and_then(|a| a.job.clone())
            .is_some()
    );
    assert_eq!(
        restored.snapshot(),
        v2,
        "a restored V1 image writes the same V2 image"
    );
}

#[test]
fn views_are_isolated_from_later_applies() {
    let mut s = StateStore::new();
    s.apply_command(1, &register("web", 1, Some("e1"))).unwrap();
    let before = s.snapshot_view();
    s.apply_command(2, &register("web", 3, Some("e2"))).unwrap();
    s.apply_command(3, &node("n1")).unwrap();
    assert_eq!(before.job_by_id("default", "web").unwrap().version, Some(0));
    assert!(before.node_by_id("n1").is_none());
    assert_eq!(before.evals_by_job("default", "web").count(), 1);
    assert_eq!(before.index_of("jobs"), 1);
    assert_eq!(s.job_by_id("default", "web").unwrap().version, Some(1));
    assert_eq!(s.evals_by_job("default", "web").count(), 2);
    assert_eq!(
        (s.index_of("jobs"), s.index_of("nodes"), s.latest_index()),
        (2, 3, 3)
    );
    // Prefix lookups stay within their namespace/prefix.
    s.apply_command(4, &register("webby", 1, None)).unwrap();
    s.apply_command(5, &register("api", 1, None)).unwrap();
    s.apply_command(6, &node("n10")).unwrap();
    let ids: Vec<&str> = s.jobs_by_prefix("default", "web").map(|j| j.id()).collect();
    assert_eq!(ids, ["web", "webby"]);
    assert_eq!(s.jobs_by_prefix("other", "").count(), 0);
    assert_eq!(s.jobs_in("default").count(), 3);
    let nodes: Vec<&str> = s.nodes_by_prefix("n1").map(|n| n.id.as_str()).collect();
    assert_eq!(nodes, ["n1", "n10"]);
    assert_eq!(s.evals_by_prefix("e").count(), 2);
    assert_eq!(before.jobs().count(), 1);
}

#[test]
fn job_versions_are_bounded_and_newest_first() {
    let mut s = StateStore::new();
    for i in 1..=10u64 {
        let out = s
            .apply_command(i, &register("web", i as i64, None))
            .unwrap();
        assert_eq!(out.job_version, Some(i - 1));
    }
    // Same spec again: no new version, JobModifyIndex unchanged.
    let out = s.apply_command(11, &register("web", 10, None)).unwrap();
    assert_eq!((out.job_version, out.job_modify_index), (Some(9), Some(10)));
    let versions: Vec<u64> = s
        .job_versions("default", "web")
        .iter()
        .map(|j| j.version.unwrap())
        .collect();
    assert_eq!(versions, [9, 8, 7, 6, 5, 4]);
    assert_eq!(versions.len(), drover_state::MAX_JOB_VERSIONS);
    assert!(s.job_version("default", "web", 3).is_none());
    let v5 = s.job_version("default", "web", 5).unwrap();
    assert_eq!(v5.task_groups[0].count, Some(6));
}

#[test]
fn event_feed_shapes_and_replay() {
    let mut s = StateStore::with_event_capacity(6);
    let mut n = node_struct("n1");
    n.secret_id = "s3cr3t".into();
    s.apply_command(
        1,
        &Command::NodeRegister(drover_state::command::NodeRegister {
            node: n,
            evals: vec![],
        }),
    )
    .unwrap();
    s.apply_command(2, &register("web", 1, Some("e1"))).unwrap();
    let c = place(&s, "e1", "web", &[("a1", "n1")]);
    s.apply_command(3, &c).unwrap();
    let all = s.events_since(0);
    let kinds: Vec<(u64, Topic, &str, &str)> = all
        .iter()
        .flat_map(|b| {
            b.events
                .iter()
                .map(|e| (e.index, e.topic, e.kind, e.key.as_str()))
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (1, Topic::Node, "NodeRegistration", "n1"),
            (2, Topic::Job, "JobRegistered", "web"),
            (2, Topic::Evaluation, "JobRegistered", "e1"),
            (3, Topic::Evaluation, "PlanResult", "e1"),
            (3, Topic::Allocation, "PlanResult", "a1"),
            (3, Topic::Job, "PlanResult", "web"),
        ]
    );
    let line = serde_json::to_value(all[0].as_ref()).unwrap();
    assert_eq!(line["Index"], 1);
    let ev = &line["Events"][0];
    assert_eq!(ev["Topic"], "Node");
    assert_eq!(ev["Payload"]["Node"]["SecretID"], "");
    let alloc_ev = serde_json::to_value(&all[2].events[1]).unwrap();
    assert_eq!(alloc_ev["Payload"]["Allocation"]["ID"], "a1");
    assert!(alloc_ev["Payload"]["Allocation"]["Job"].is_null());
    assert_eq!(alloc_ev["FilterKeys"][0], "web");
    assert!(all[2].events[1].matches(Topic::Allocation, "web"));
    assert!(!all[2].events[1].matches(Topic::Job, "web"));
    // Capacity 6: one more event drops the oldest batch; replay starts after it.
    assert_eq!(s.buffered_events(), 6);
    s.apply_command(4, &client("a1", "running", 9)).unwrap();
    assert_eq!(s.oldest_event_index(), Some(2));
    assert_eq!(s.buffered_events(), 6);
    let idx: Vec<u64> = s.events_since(2).iter().map(|b| b.index).collect();
    assert_eq!(idx, [3, 4]);
    assert!(s.events_since(4).is_empty());
}

#[test]
fn byte_api_rejects_without_changing_state() {
    let mut s = StateStore::new();
    let ok = ApplyResponse::decode(&s.apply(1, &register("web", 1, None).encode())).unwrap();
    assert_eq!(ok.result.unwrap().job_modify_index, Some(1));
    let before = s.render();
    let r = ApplyResponse::decode(&s.apply(2, b"{\"V\":1,\"Command\":[]}")).unwrap();
    assert!(matches!(r.result, Err(ApplyError::Decode { .. })), "{r:?}");
    let r = ApplyResponse::decode(&s.apply(3, b"{\"V\":2,\"Command\":{}}")).unwrap();
    assert_eq!(r.result, Err(ApplyError::UnsupportedVersion { version: 2 }));
    let r = ApplyResponse::decode(&s.apply(4, &[])).unwrap();
    assert_eq!(r.result, Ok(Default::default()));
    assert_eq!(s.applied_index(), 4);
    assert_eq!(
        s.render().replace("applied=4", "applied=1"),
        before,
        "only the applied index moves"
    );
    // A rejected command (stop of an unknown alloc) leaves no half-applied placements.
    let mut cmd = place(&s, "e9", "web", &[("a1", "n1")]);
    if let Command::ApplyPlanResults(p) = &mut cmd {
        p.eval_id.clear();
        p.result.node_update.insert(
            "n1".into(),
            vec![drover_types::Allocation {
                id: "ghost".into(),
                ..Default::default()
            }],
        );
    }
    let err = s.apply_command(5, &cmd).unwrap_err();
    assert_eq!(err.to_string(), "alloc \"ghost\" not found");
    assert!(s.alloc_by_id("a1").is_none());
}

#[test]
fn random_command_sequences_never_panic_and_round_trip() {
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut s = StateStore::with_event_capacity(64);
        let mut replica = StateStore::new();
        let mut log = Vec::new();
        let mut applied_ok = 0;
        for i in 1..=60u64 {
            let cmd = random_command(&s, &mut rng, i);
            let bytes = cmd.encode();
            let a = s.apply(i, &bytes);
            let b = replica.apply(i, &bytes);
            assert_eq!(a, b, "seed {seed} index {i}: replicas disagree");
            if let Ok(ApplyResponse { result: Ok(_), .. }) = ApplyResponse::decode(&a) {
                applied_ok += 1;
            }
            log.push(bytes);
            if i % 15 == 0 {
                let snap = s.snapshot();
                let mut r = StateStore::new();
                r.restore(&snap)
                    .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                assert_eq!(r.snapshot(), snap, "seed {seed}: snapshot round trip");
                s = r;
            }
            check_invariants(&s, seed);
        }
        assert_eq!(s.snapshot(), replica.snapshot(), "seed {seed}");
        assert!(
            applied_ok >= 30,
            "seed {seed}: only {applied_ok}/60 commands applied"
        );
        assert!(
            s.alloc_count() + s.evals().count() > 0,
            "seed {seed}: empty state"
        );
        // Garbage never panics either.
        for j in 0..20u64 {
            let mut junk = log[(j as usize) % log.len()].clone();
            let cut = rng.below(junk.len() as u64 + 1) as usize;
            junk.truncate(cut);
            let _ = s.apply(100 + j, &junk);
            let _ = s.restore(&junk);
        }
    }
}

#[test]
fn job_register_payload_job_is_shared_not_copied() {
    // The job attached by a plan is the plan's job; later client updates keep it.
    let mut s = StateStore::new();
    s.apply_command(1, &node("n1")).unwrap();
    s.apply_command(2, &register("web", 1, Some("e1"))).unwrap();
    let c = place(&s, "e1", "web", &[("a1", "n1")]);
    s.apply_command(3, &c).unwrap();
    s.apply_command(4, &client("a1", "running", 40)).unwrap();
    let a = s.alloc_by_id("a1").unwrap();
    assert_eq!(a.job.as_ref().unwrap().id(), "web");
    assert_eq!(a.modify_time, 40);
    let live: Vec<_> = s.live_allocs_by_node("n1").map(|a| a.id.clone()).collect();
    assert_eq!(live, ["a1"]);
    assert_eq!(s.allocs_by_eval("e1").count(), 1);
    let j: Job = Job {
        id: Some("x".into()),
        task_groups: vec![TaskGroup::default()],
        ..Default::default()
    };
    assert!(s.job_by_id("default", j.id()).is_none());
}
