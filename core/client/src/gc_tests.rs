//! Table tests of the GC policy.

use super::*;

const GB: u64 = 1 << 30;

/// Name, stats, live allocations, expected collection, expected blocked reason.
type PlanCase = (
    &'static str,
    GcStats,
    usize,
    Vec<&'static str>,
    Option<&'static str>,
);
/// Name, stats, live allocations, new allocations' disk MB, expected collection.
type RoomCase = (
    &'static str,
    Option<GcStats>,
    usize,
    Vec<u64>,
    Vec<&'static str>,
);

fn cand(id: &str, at: i64, gb: u64, inodes: u64) -> GcCandidate {
    GcCandidate {
        alloc_id: id.into(),
        terminal_at: at,
        disk_bytes: gb * GB,
        inodes,
        disk_mb: 300,
    }
}

/// 100 GB disk with `avail` GB free; 1000 inodes with `free_inodes` free.
fn stats(avail: u64, free_inodes: u64) -> GcStats {
    GcStats {
        total_bytes: 100 * GB,
        available_bytes: avail * GB,
        total_inodes: 1000,
        free_inodes,
    }
}

fn ids(d: &[GcDecision]) -> Vec<&str> {
    d.iter().map(|d| d.alloc_id.as_str()).collect()
}

#[test]
fn periodic_plan_table() {
    let cfg = GcConfig {
        max_allocs: 3,
        ..Default::default()
    };
    // Deliberately out of order: c is the oldest.
    let cands = vec![
        cand("a", 20, 5, 100),
        cand("b", 30, 5, 100),
        cand("c", 10, 5, 100),
    ];
    let cases: Vec<PlanCase> = vec![
        ("all below thresholds", stats(50, 900), 3, vec![], None),
        (
            "disk 85% → oldest until ≤ 80%",
            stats(15, 900),
            3,
            vec!["c"],
            None,
        ),
        ("disk 88% → two", stats(12, 900), 3, vec!["c", "a"], None),
        ("inodes 75% → one", stats(50, 250), 3, vec!["c"], None),
        ("count 5 > 3 → two", stats(50, 900), 5, vec!["c", "a"], None),
        (
            "disk 99% and only three candidates → all, then blocked",
            stats(1, 900),
            3,
            vec!["c", "a", "b"],
            Some("disk usage of 84 is over gc threshold of 80"),
        ),
    ];
    for (name, s, live, want, blocked) in cases {
        let p = plan(&cfg, s, live, &cands);
        assert_eq!(ids(&p.collect), want, "{name}");
        assert_eq!(
            p.blocked.map(|r| r.to_string()).as_deref(),
            blocked,
            "{name}"
        );
    }
}

#[test]
fn reasons_use_nomads_words_in_nomads_order() {
    let cfg = GcConfig {
        max_allocs: 1,
        ..Default::default()
    };
    let p = plan(&cfg, stats(10, 100), 9, &[cand("x", 1, 0, 0)]);
    assert_eq!(
        p.collect[0].reason.to_string(),
        "disk usage of 90 is over gc threshold of 80"
    );
    let p = plan(&cfg, stats(50, 100), 9, &[cand("x", 1, 0, 0)]);
    assert_eq!(
        p.collect[0].reason.to_string(),
        "inode usage of 90 is over gc threshold of 70"
    );
    let p = plan(&cfg, stats(50, 900), 2, &[cand("x", 1, 0, 0)]);
    assert_eq!(
        p.collect[0].reason.to_string(),
        "number of allocations (2) is over the limit (1)"
    );
    let p = plan(&cfg, stats(50, 900), 3, &[]);
    assert!(p.collect.is_empty());
    assert_eq!(p.blocked, Some(GcReason::MaxAllocs { live: 3, max: 1 }));
    // Unknown filesystem size never triggers the disk rule.
    assert!(
        plan(&cfg, GcStats::default(), 1, &[cand("x", 1, 0, 0)])
            .collect
            .is_empty()
    );
}

#[test]
fn make_room_for_table() {
    let cfg = GcConfig {
        max_allocs: 4,
        reserved_disk_mb: 1024,
        ..Default::default()
    };
    let cands = vec![
        cand("a", 1, 2, 10),
        cand("b", 2, 2, 10),
        cand("c", 3, 2, 10),
    ];
    let gb_mb = |n: u64| n * 1024;
    let cases: Vec<RoomCase> = vec![
        ("nothing new", Some(stats(50, 900)), 9, vec![], vec![]),
        ("fits", Some(stats(50, 900)), 2, vec![300], vec![]),
        (
            "over count: 4 live + 2 new > 4",
            Some(stats(50, 900)),
            4,
            vec![300, 300],
            vec!["a", "b"],
        ),
        // 2 GB free, 1 GB reserved, 3 GB wanted: free 2 GB per removal until ≥ 3 GB free.
        (
            "disk short",
            Some(stats(2, 900)),
            1,
            vec![gb_mb(3)],
            vec!["a"],
        ),
        (
            "disk short by more",
            Some(stats(1, 900)),
            1,
            vec![gb_mb(4)],
            vec!["a", "b"],
        ),
        // Unmeasured disk: credit 300 MB per removed allocation.
        ("no stats", None, 1, vec![500], vec!["a", "b"]),
    ];
    for (name, s, live, new, want) in cases {
        assert_eq!(
            ids(&make_room_for(&cfg, s, live, &new, &cands)),
            want,
            "{name}"
        );
    }
    let d = make_room_for(&cfg, None, 1, &[500], &cands);
    assert_eq!(
        d[0].reason.to_string(),
        "freeing 300 MB for new allocations"
    );
    let d = make_room_for(&cfg, Some(stats(50, 900)), 4, &[1], &cands);
    assert_eq!(d[0].reason.to_string(), "new allocations and over max (4)");
}
